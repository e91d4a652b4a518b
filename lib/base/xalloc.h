/*
 * Allocation that cannot fail: out of memory aborts. A short-lived CLI gains
 * nothing from OOM recovery paths.
 */
#ifndef OWCTL_XALLOC_H
#define OWCTL_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
/* Grow *array (of *alloc elements of size elsize) to hold at least need. */
void xgrow(void **array, size_t *alloc, size_t need, size_t elsize);

#define XGROW(arr, alloc, need) \
	xgrow((void **)&(arr), &(alloc), (need), sizeof(*(arr)))

#endif
