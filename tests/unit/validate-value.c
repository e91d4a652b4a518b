/*
 * Helper for tests/integration/test_validate_vs_python.py (not a test):
 * reads "PARSER<TAB>VALUE" lines on stdin and prints one verdict per line.
 * With -x, VALUE is the hex of the value's UTF-8 bytes (so it may hold
 * newlines). PARSER and the verdicts:
 *   int       "ok N" (N the value), "ok big" (outside int64), "error"
 *   json      "ok" or "error"
 *   bool      "true" or "false" (parse_boolean)
 *   timezone  "ok" or "error" (omero.web.time_zone in config validate)
 *   regex     "ok" or "error" (omero.web.public.url_filter)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/validate.h"
#include "banned.h"

static int
unhex(const char *s, struct sbuf *out)
{
	size_t i, n = strlen(s);

	if (n % 2)
		return -1;
	for (i = 0; i < n; i += 2) {
		char pair[3] = { s[i], s[i + 1], '\0' };
		char *end;
		long b = strtol(pair, &end, 16);

		if (*end || b == 0)
			return -1;
		sbuf_addch(out, (int)b);
	}
	return 0;
}

static const char *
verdict_of(const char *key, const char *value)
{
	struct finding_list fl = FINDING_LIST_INIT;
	struct cfg_kv kv = { key, value };
	struct err e = ERR_INIT;
	size_t errors;

	if (cfg_validate(&kv, 1, NULL, NULL, &fl, &e) < 0) {
		err_clear(&e);
		return "fail";
	}
	errors = finding_list_count(&fl, FINDING_ERROR);
	finding_list_release(&fl);
	return errors ? "error" : "ok";
}

static void
verdict(const char *parser, const char *v, struct sbuf *out)
{
	long long n;
	int r;

	if (!strcmp(parser, "int")) {
		r = cfg_py_int(v, &n, NULL);
		if (r == 0)
			sbuf_addf(out, "ok %lld", n);
		else
			sbuf_adds(out, r > 0 ? "ok big" : "error");
	} else if (!strcmp(parser, "json")) {
		sbuf_adds(out, cfg_py_json(v, NULL) ? "error" : "ok");
	} else if (!strcmp(parser, "bool")) {
		sbuf_adds(out, cfg_py_bool(v) ? "true" : "false");
	} else if (!strcmp(parser, "timezone")) {
		sbuf_adds(out, verdict_of("omero.web.time_zone", v));
	} else if (!strcmp(parser, "regex")) {
		sbuf_adds(out, verdict_of("omero.web.public.url_filter", v));
	} else {
		sbuf_addf(out, "unknown parser '%s'", parser);
	}
}

int
main(int argc, char **argv)
{
	struct sbuf value = SBUF_INIT, out = SBUF_INIT;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int hex = argc > 1 && !strcmp(argv[1], "-x");

	while ((len = getline(&line, &cap, stdin)) >= 0) {
		char *tab;

		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		tab = strchr(line, '\t');
		if (!tab) {
			fprintf(stderr, "validate-value: no tab in line\n");
			return 2;
		}
		*tab = '\0';
		sbuf_reset(&value);
		if (!hex)
			sbuf_adds(&value, tab + 1);
		else if (unhex(tab + 1, &value) < 0) {
			fprintf(stderr, "validate-value: bad hex\n");
			return 2;
		}
		sbuf_reset(&out);
		verdict(line, value.buf, &out);
		printf("%s\n", out.buf);
	}
	free(line);
	sbuf_release(&value);
	sbuf_release(&out);
	return fflush(stdout) ? 1 : 0;
}
