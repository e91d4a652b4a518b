/*
 * Test helper, not a test: prints what lib/venv reads, one JSON object per
 * line, for tests/integration/test_metadata_vs_python.py and
 * test_plugins.py to compare with importlib.metadata and packaging.
 *   distinfo-dump dist PATH...   distributions (or {"error": ...})
 *   distinfo-dump meta           NUL-terminated METADATA texts on stdin
 *   distinfo-dump req ENVJSON    NUL-terminated requirements on stdin,
 *                                markers evaluated in ENVJSON
 *   distinfo-dump venv ROOT      pyvenv_open()
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <jansson.h>

#include "venv/distinfo.h"
#include "venv/pep508.h"
#include "banned.h"

static json_t *
strv_json(const struct strv *sv)
{
	json_t *a = json_array();

	for (size_t i = 0; i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

static json_t *
str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static void
emit(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII |
			     JSON_PRESERVE_ORDER);

	puts(s);
	free(s);
	json_decref(j);
}

static json_t *
error_json(struct err *e)
{
	json_t *j = json_pack("{s:s}", "error", e->msg ? e->msg : "?");

	err_clear(e);
	return j;
}

static void
do_dist(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		struct dist d;
		struct err e = ERR_INIT;

		if (dist_load(&d, argv[i], NULL, &e) < 0) {
			emit(error_json(&e));
			continue;
		}
		emit(json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}",
			       "name", str_or_null(d.name),
			       "version", str_or_null(d.version),
			       "requires_python",
			       str_or_null(d.requires_python),
			       "requires", strv_json(&d.requires),
			       "extras", strv_json(&d.extras),
			       "top_level", strv_json(&d.top_level)));
		dist_release(&d);
	}
}

static void
do_meta(void)
{
	char *buf = NULL;
	size_t alloc = 0;
	ssize_t n;

	while ((n = getdelim(&buf, &alloc, '\0', stdin)) > 0) {
		struct dist_meta m = DIST_META_INIT;
		struct err e = ERR_INIT;
		json_t *h;

		if (dist_meta_parse(&m, buf, (size_t)n - 1, &e) < 0) {
			emit(error_json(&e));
			continue;
		}
		h = json_array();
		for (size_t i = 0; i < m.names.n; i++)
			json_array_append_new(h, json_pack("[s,s]",
							   m.names.v[i],
							   m.values.v[i]));
		emit(h);
		dist_meta_release(&m);
	}
	free(buf);
}

static void
do_req(const char *envjson)
{
	struct pep508_env env = { { NULL } };
	json_error_t jerr;
	json_t *ej = json_loads(envjson, 0, &jerr);
	char *buf = NULL;
	size_t alloc = 0;

	for (int v = 0; v < PEP508_NVARS; v++) {
		json_t *x = json_object_get(ej, pep508_var_name(v));

		env.values[v] = json_is_string(x) ? json_string_value(x) : NULL;
	}
	while (getdelim(&buf, &alloc, '\0', stdin) > 0) {
		struct pep508_req r;
		struct err e = ERR_INIT;
		struct sbuf spec = SBUF_INIT, why = SBUF_INIT;
		int ev;

		if (pep508_parse(&r, buf, &e) < 0) {
			emit(error_json(&e));
			continue;
		}
		pep440_specset_str(&r.spec, &spec);
		ev = pep508_marker_eval(&r, &env, &why);
		emit(json_pack("{s:s,s:s,s:o,s:s,s:o,s:o,s:i,s:s}",
			       "name", r.name, "key", r.key,
			       "extras", strv_json(&r.extras),
			       "specifier", spec.buf,
			       "url", str_or_null(r.url),
			       "marker", str_or_null(r.marker_text),
			       "eval", ev, "unknown", why.buf));
		sbuf_release(&spec);
		sbuf_release(&why);
		pep508_release(&r);
	}
	free(buf);
	json_decref(ej);
}

static void
do_venv(const char *root)
{
	struct pyvenv pv;
	struct err e = ERR_INIT;

	if (pyvenv_open(&pv, root, &e) < 0) {
		emit(error_json(&e));
		return;
	}
	emit(json_pack("{s:s,s:o,s:o,s:b,s:b,s:o}", "python", pv.python,
		       "version", str_or_null(pv.version),
		       "full_version", str_or_null(pv.full_version),
		       "system_site", pv.system_site, "cpython", pv.cpython,
		       "sites", strv_json(&pv.sites)));
	pyvenv_release(&pv);
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "dist"))
		do_dist(argc - 2, argv + 2);
	else if (argc == 2 && !strcmp(argv[1], "meta"))
		do_meta();
	else if (argc == 3 && !strcmp(argv[1], "req"))
		do_req(argv[2]);
	else if (argc == 3 && !strcmp(argv[1], "venv"))
		do_venv(argv[2]);
	else {
		fputs("usage: distinfo-dump dist PATH... | meta | req ENVJSON "
		      "| venv ROOT\n", stderr);
		return 2;
	}
	return fflush(stdout) || ferror(stdout) ? 1 : 0;
}
