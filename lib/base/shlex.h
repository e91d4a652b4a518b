/*
 * Python's shlex.split(s) (posix=True, comments=False), for "omero load"
 * command lines and omero.web.wsgi_args.
 */
#ifndef OWCTL_SHLEX_H
#define OWCTL_SHLEX_H

#include "err.h"
#include "strv.h"

/*
 * Split s into words and append them to out, exactly as Python's
 * shlex.split(s): words are separated by ' ', '\t', '\r' and '\n' (not by
 * '\v' or '\f'); single quotes keep everything literally; inside double
 * quotes a backslash escapes only '"' and '\\' and is otherwise kept;
 * outside quotes a backslash makes the next character literal (a newline
 * too); quotes may join parts of one word (a"b"'c' is abc) and '' or ""
 * makes an empty word. No comments, no variable expansion. Bytes are
 * handled one by one, which gives Python's result for UTF-8 text.
 *
 * Returns the number of words appended, or -1 with ERR_BADVALUE and
 * Python's message ("No closing quotation" or "No escaped character");
 * on error out is left as it was.
 */
int shlex_split(const char *s, struct strv *out, struct err *e);

#endif
