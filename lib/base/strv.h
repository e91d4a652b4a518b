/*
 * NULL-terminated vectors of owned strings (argv-like).
 * v is never NULL after strv_push; v[n] == NULL.
 */
#ifndef OWCTL_STRV_H
#define OWCTL_STRV_H

#include <stddef.h>

struct strv {
	char **v;
	size_t n;
	size_t alloc;
};

#define STRV_INIT { NULL, 0, 0 }

/* Append a copy of s. */
void strv_push(struct strv *sv, const char *s);
/* Append s, taking ownership. */
void strv_push_nodup(struct strv *sv, char *s);
void strv_pushf(struct strv *sv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Sort by byte value (Python's str order for valid UTF-8). */
void strv_sort(struct strv *sv);
/* Index of s, or -1. */
long strv_find(const struct strv *sv, const char *s);
void strv_release(struct strv *sv);

#endif
