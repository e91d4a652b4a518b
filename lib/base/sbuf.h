/*
 * Growable byte strings (git's strbuf invariants):
 * - buf is never NULL and always NUL-terminated (buf[len] == '\0');
 * - len counts the bytes in use, which may include NULs;
 * - sbuf_detach() is the only way to take ownership of buf.
 * An sbuf initialised with SBUF_INIT owns nothing until it grows.
 */
#ifndef OWCTL_SBUF_H
#define OWCTL_SBUF_H

#include <stdarg.h>
#include <stddef.h>

struct sbuf {
	size_t alloc;
	size_t len;
	char *buf;
};

extern char sbuf_empty[];
#define SBUF_INIT { 0, 0, sbuf_empty }

void sbuf_init(struct sbuf *sb, size_t hint);
/* Free the buffer and return to the SBUF_INIT state. Accepts NULL. */
void sbuf_release(struct sbuf *sb);
/* Return the malloc'ed buffer (caller frees) and reset sb; *len may be NULL. */
char *sbuf_detach(struct sbuf *sb, size_t *len);
/* Make room for extra more bytes. */
void sbuf_grow(struct sbuf *sb, size_t extra);
void sbuf_setlen(struct sbuf *sb, size_t len);
#define sbuf_reset(sb) sbuf_setlen((sb), 0)

void sbuf_add(struct sbuf *sb, const void *data, size_t len);
void sbuf_adds(struct sbuf *sb, const char *s);
void sbuf_addch(struct sbuf *sb, int c);
void sbuf_addf(struct sbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap);

/* Remove trailing bytes that Python's str.rstrip() removes (ASCII space,
 * \t \n \v \f \r and \x1c-\x1f). */
void sbuf_rtrim(struct sbuf *sb);

/* Does sb end with the NUL-terminated suffix? */
int sbuf_ends_with(const struct sbuf *sb, const char *suffix);

#endif
