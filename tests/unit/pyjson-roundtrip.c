/*
 * Test helper, not a test: for each line of stdin (one JSON document),
 * print pyjson_dumps(pyjson_loads(line)), or "ERROR" when it is refused.
 * tests/integration/test_pyjson_vs_python.py compares this with Python.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include "pyjson.h"
#include "banned.h"

int
main(void)
{
	char *line = NULL;
	size_t alloc = 0;
	ssize_t n;
	struct sbuf out = SBUF_INIT;
	struct err e = ERR_INIT;
	json_t *v;

	while ((n = getline(&line, &alloc, stdin)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			n--;
		v = pyjson_loads(line, (size_t)n, &e);
		sbuf_reset(&out);
		if (v) {
			pyjson_dumps(v, &out);
			json_decref(v);
		} else {
			sbuf_adds(&out, "ERROR");
			err_clear(&e);
		}
		sbuf_addch(&out, '\n');
		fwrite(out.buf, 1, out.len, stdout);
	}
	free(line);
	sbuf_release(&out);
	return fflush(stdout) || ferror(stdout) ? 1 : 0;
}
