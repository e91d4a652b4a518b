/* Growable byte strings; see sbuf.h for the invariants. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "xalloc.h"
#include "banned.h"

char sbuf_empty[1];

void
sbuf_init(struct sbuf *sb, size_t hint)
{
	sb->alloc = 0;
	sb->len = 0;
	sb->buf = sbuf_empty;
	if (hint)
		sbuf_grow(sb, hint);
}

void
sbuf_release(struct sbuf *sb)
{
	if (!sb)
		return;
	if (sb->alloc)
		free(sb->buf);
	sbuf_init(sb, 0);
}

char *
sbuf_detach(struct sbuf *sb, size_t *len)
{
	char *p;

	if (!sb->alloc)
		sbuf_grow(sb, 0);
	p = sb->buf;
	if (len)
		*len = sb->len;
	sbuf_init(sb, 0);
	return p;
}

void
sbuf_grow(struct sbuf *sb, size_t extra)
{
	int fresh = !sb->alloc;

	if (sb->len + extra + 1 < sb->len)
		abort();
	if (fresh)
		sb->buf = NULL;
	XGROW(sb->buf, sb->alloc, sb->len + extra + 1);
	if (fresh)
		sb->buf[0] = '\0';
}

void
sbuf_setlen(struct sbuf *sb, size_t len)
{
	if (!sb->alloc) {
		if (len == 0)
			return;
		abort();
	}
	if (len > sb->alloc - 1)
		abort();
	sb->len = len;
	sb->buf[len] = '\0';
}

void
sbuf_add(struct sbuf *sb, const void *data, size_t len)
{
	if (!len)
		return;
	sbuf_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void
sbuf_adds(struct sbuf *sb, const char *s)
{
	sbuf_add(sb, s, strlen(s));
}

void
sbuf_addch(struct sbuf *sb, int c)
{
	sbuf_grow(sb, 1);
	sb->buf[sb->len++] = (char)c;
	sb->buf[sb->len] = '\0';
}

void
sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	if (!fmt)	/* also tells gcc -O2 -fsanitize=undefined it cannot be */
		abort();
	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		abort();
	sbuf_grow(sb, (size_t)n);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
}

void
sbuf_addf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

void
sbuf_rtrim(struct sbuf *sb)
{
	while (sb->len) {
		unsigned char c = (unsigned char)sb->buf[sb->len - 1];

		if (c == ' ' || (c >= '\t' && c <= '\r') ||
		    (c >= 0x1c && c <= 0x1f))
			sb->len--;
		else
			break;
	}
	if (sb->alloc)
		sb->buf[sb->len] = '\0';
}

int
sbuf_ends_with(const struct sbuf *sb, const char *suffix)
{
	size_t n = strlen(suffix);

	return sb->len >= n && !memcmp(sb->buf + sb->len - n, suffix, n);
}
