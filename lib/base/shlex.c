/*
 * shlex.split() as Python's shlex.read_token() does it in posix mode with
 * whitespace_split=True and no commenters: a small state machine over the
 * bytes of the string.
 */
#include <stdlib.h>
#include <string.h>

#include "shlex.h"
#include "sbuf.h"
#include "xalloc.h"
#include "banned.h"

enum state {
	ST_SPACE,	/* between words */
	ST_WORD,	/* in a word, outside quotes */
	ST_SQUOTE,	/* inside '...' */
	ST_DQUOTE,	/* inside "..." */
	ST_ESCAPE,	/* after a backslash; back to esc_from afterwards */
};

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
shlex_split(const char *s, struct strv *out, struct err *e)
{
	struct sbuf word = SBUF_INIT;
	struct strv words = STRV_INIT;
	enum state st = ST_SPACE, esc_from = ST_WORD;
	int ret = -1;
	size_t i;
	char c;

	for (;; s++) {
		c = *s;
		switch (st) {
		case ST_SPACE:
		case ST_WORD:
			if (!c || is_space(c)) {
				if (st == ST_WORD)
					strv_push_nodup(&words,
						sbuf_detach(&word, NULL));
				st = ST_SPACE;
			} else if (c == '\\') {
				esc_from = ST_WORD;
				st = ST_ESCAPE;
			} else if (c == '\'') {
				st = ST_SQUOTE;
			} else if (c == '"') {
				st = ST_DQUOTE;
			} else {
				sbuf_addch(&word, c);
				st = ST_WORD;
			}
			break;
		case ST_SQUOTE:
		case ST_DQUOTE:
			if (!c) {
				err_set(e, ERR_BADVALUE,
					"No closing quotation");
				goto out;
			}
			if (c == (st == ST_SQUOTE ? '\'' : '"')) {
				/* makes a word, even an empty one */
				st = ST_WORD;
			} else if (c == '\\' && st == ST_DQUOTE) {
				esc_from = ST_DQUOTE;
				st = ST_ESCAPE;
			} else {
				sbuf_addch(&word, c);
			}
			break;
		case ST_ESCAPE:
			if (!c) {
				err_set(e, ERR_BADVALUE,
					"No escaped character");
				goto out;
			}
			if (esc_from == ST_DQUOTE && c != '"' && c != '\\')
				sbuf_addch(&word, '\\');
			sbuf_addch(&word, c);
			st = esc_from;
			break;
		}
		if (!c)
			break;
	}
	for (i = 0; i < words.n; i++)
		strv_push_nodup(out, words.v[i]);
	ret = (int)words.n;
	free(words.v);
	words.v = NULL;
	words.n = 0;
out:
	strv_release(&words);
	sbuf_release(&word);
	return ret;
}
