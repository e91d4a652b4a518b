/* struct err helpers: the core's only way to describe a failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "sbuf.h"
#include "banned.h"

int
err_vset(struct err *e, enum err_code code, const char *fmt, va_list ap)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_vaddf(&sb, fmt, ap);
	free(e->msg);
	e->msg = sbuf_detach(&sb, NULL);
	e->code = code;
	return -1;
}

int
err_set(struct err *e, enum err_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(e, code, fmt, ap);
	va_end(ap);
	return -1;
}

int
err_errno(struct err *e, enum err_code code, int errnum, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	sbuf_addf(&sb, ": %s", strerror(errnum));
	free(e->msg);
	e->msg = sbuf_detach(&sb, NULL);
	e->code = code;
	return -1;
}

void
err_prefix(struct err *e, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	sbuf_addf(&sb, ": %s", e->msg ? e->msg : "unknown error");
	free(e->msg);
	e->msg = sbuf_detach(&sb, NULL);
}

void
err_clear(struct err *e)
{
	if (!e)
		return;
	free(e->msg);
	e->msg = NULL;
	e->code = ERR_NONE;
}
