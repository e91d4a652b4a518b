/*
 * Test helper, not a test: stdin holds NUL-terminated strings; for each one
 * print, NUL-separated, either the word count and the words of
 * shlex_split(), or "E" and the error message.
 * tests/integration/test_shlex_vs_python.py compares this with Python.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include "shlex.h"
#include "banned.h"

static void
put(const char *s)
{
	fputs(s, stdout);
	putchar('\0');
}

int
main(void)
{
	char *rec = NULL;
	size_t alloc = 0, i;
	struct strv words = STRV_INIT;
	struct err e = ERR_INIT;
	int n;

	while (getdelim(&rec, &alloc, '\0', stdin) >= 0) {
		n = shlex_split(rec, &words, &e);
		if (n < 0) {
			put("E");
			put(e.msg);
			err_clear(&e);
			continue;
		}
		printf("%d", n);
		putchar('\0');
		for (i = 0; i < words.n; i++)
			put(words.v[i]);
		strv_release(&words);
	}
	free(rec);
	return fflush(stdout) || ferror(stdout) ? 1 : 0;
}
