/*
 * Fuzz shlex_split (Python's shlex.split). Besides not crashing: the count
 * returned is the number of words added, a failure adds nothing, and
 * quoting every word as shlex.quote() does and splitting the joined line
 * gives the same words back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "shlex.h"
#include "strv.h"
#include "fuzz-util.h"
#include "banned.h"

/* Python's shlex.quote(). */
static void
quote(const char *s, struct sbuf *out)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyz"
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789@%+=:,./-_";

	if (!*s) {
		sbuf_adds(out, "''");
		return;
	}
	if (strspn(s, safe) == strlen(s)) {
		sbuf_adds(out, s);
		return;
	}
	sbuf_addch(out, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			sbuf_adds(out, "'\"'\"'");
		else
			sbuf_addch(out, *s);
	}
	sbuf_addch(out, '\'');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strv words = STRV_INIT, again = STRV_INIT;
	struct sbuf line = SBUF_INIT;
	struct err e = ERR_INIT;
	char *s = fuzz_cstr(data, size);
	int n;

	strv_push(&words, "sentinel");
	n = shlex_split(s, &words, &e);
	if (n < 0) {
		FUZZ_CHECK(e.code == ERR_BADVALUE && e.msg &&
			   (!strcmp(e.msg, "No closing quotation") ||
			    !strcmp(e.msg, "No escaped character")),
			   "bad error '%s'", e.msg ? e.msg : "(null)");
		FUZZ_CHECK(words.n == 1, "a failed split added words");
		goto out;
	}
	FUZZ_CHECK((size_t)n == words.n - 1, "returned %d, added %zu", n,
		   words.n - 1);
	for (size_t i = 1; i < words.n; i++) {
		if (i > 1)
			sbuf_addch(&line, ' ');
		quote(words.v[i], &line);
	}
	FUZZ_CHECK(shlex_split(line.buf, &again, &e) == n,
		   "splitting the quoted words fails or differs: %s",
		   line.buf);
	for (size_t i = 0; i < again.n; i++)
		FUZZ_CHECK(!strcmp(again.v[i], words.v[i + 1]),
			   "word '%s' came back as '%s'", words.v[i + 1],
			   again.v[i]);
out:
	err_clear(&e);
	strv_release(&words);
	strv_release(&again);
	sbuf_release(&line);
	free(s);
	return 0;
}
