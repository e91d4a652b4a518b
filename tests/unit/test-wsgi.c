/*
 * gunicorn argv of OMERO.web: every case of
 * $SHARED_DIR/reference/gunicorn-argv.json (made with omero-web's own
 * code), the shell-quoting difference owctl makes on purpose, settings
 * parsing errors and the health URL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "config/configxml.h"
#include "strv.h"
#include "web/wsgi.h"
#include "xalloc.h"
#include "banned.h"

#define OMERODIR "/opt/omero/web/OMERO.web"
#define QUOTED_ARGS "--log-level=DEBUG --error-logfile='/var/log/my dir/err.log'"

/* Inputs of each case of gunicorn-argv.json (named after them). */
static const struct vcase {
	const char *name;
	int foreground;
	const char *const props[16];	/* key, value, ..., NULL */
} cases[] = {
	{ "defaults", 0, { NULL } },
	{ "foreground", 1, { NULL } },
	{ "gevent", 0, { "omero.web.wsgi_worker_class", "gevent", NULL } },
	{ "wsgi_args_quoted", 0, { "omero.web.wsgi_args", QUOTED_ARGS,
				   NULL } },
	{ "threads_host_port", 0, {
		"omero.web.application_server.host", "0.0.0.0",
		"omero.web.application_server.port", "12345",
		"omero.web.wsgi_workers", "9",
		"omero.web.wsgi_threads", "4",
		"omero.web.wsgi_timeout", "120",
		"omero.web.application_server.max_requests", "500", NULL } },
	{ "bad_worker_class", 0, { "omero.web.wsgi_worker_class", "eventlet",
				   NULL } },
};

static json_t *
load_vectors(void)
{
	const char *shared = getenv("SHARED_DIR");
	char path[4096];
	json_error_t je;
	json_t *j;

	snprintf(path, sizeof(path), "%s/reference/gunicorn-argv.json",
		 shared ? shared : "../shared");
	j = json_load_file(path, 0, &je);
	if (!j)
		fail_msg("cannot load %s: %s", path, je.text);
	return j;
}

/* A document with one "default" profile holding props. */
static void
make_doc(struct cfgdoc *d, const char *const *props)
{
	struct err e = ERR_INIT;
	struct xelem *p;

	assert_int_equal(cfgdoc_parse(d, "<icegrid><properties id=\"default\">"
				      "</properties></icegrid>", 57, &e), 0);
	p = cfgdoc_profile(d, "default");
	assert_non_null(p);
	for (; props && props[0]; props += 2)
		profile_set(p, props[0], props[1]);
}

static int
build(const char *const *props, const char *omerodir, unsigned flags,
      struct strv *argv, struct err *e)
{
	struct cfgdoc d;
	struct wsgi_settings s;
	int r;

	make_doc(&d, props);
	r = wsgi_settings_read(cfgdoc_profile(&d, "default"), &s, e);
	if (r == 0)
		r = wsgi_build_argv(&s, omerodir, flags, argv, e);
	wsgi_settings_release(&s);
	cfgdoc_release(&d);
	return r;
}

static void
assert_argv_equals_json(const struct strv *argv, json_t *want)
{
	size_t i;
	json_t *w;

	json_array_foreach(want, i, w) {
		assert_true(i < argv->n);
		assert_string_equal(argv->v[i], json_string_value(w));
	}
	assert_int_equal(argv->n, json_array_size(want));
}

static const struct vcase *
find_case(const char *name)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!strcmp(cases[i].name, name))
			return &cases[i];
	return NULL;
}

/* Every case, built the upstream way (whitespace split), is identical. */
static void
test_wsgi_argv_matches_omero_web(void **state)
{
	json_t *vectors = load_vectors();
	const char *name;
	json_t *v;
	size_t seen = 0;

	(void)state;
	json_object_foreach(vectors, name, v) {
		const struct vcase *c = find_case(name);
		long long status = json_integer_value(json_array_get(v, 0));
		json_t *want = json_array_get(v, 1);
		struct strv argv = STRV_INIT;
		struct err e = ERR_INIT;
		unsigned flags = WSGI_SPLIT_WHITESPACE |
				 (c && c->foreground ? 0 : WSGI_DAEMON);
		int r;

		if (!c)
			fail_msg("case '%s' has no inputs in test-wsgi.c", name);
		r = build(c->props, OMERODIR, flags, &argv, &e);
		if (status == 0) {
			if (r != 0)
				fail_msg("%s: %s", name, e.msg);
			assert_argv_equals_json(&argv, want);
		} else {
			assert_int_equal(r, -1);
			assert_int_equal(status, 609);
			assert_int_equal(e.code, ERR_WEB_INVALID_SERVER);
			assert_string_equal(e.msg, json_string_value(want));
			assert_int_equal(argv.n, 0);
		}
		err_clear(&e);
		strv_release(&argv);
		seen++;
	}
	assert_int_equal(seen, sizeof(cases) / sizeof(cases[0]));
	json_decref(vectors);
}

/*
 * owctl's own split (shlex) gives the same argv wherever the values hold
 * no quotes; the quoted wsgi_args keep the path with a space as one word.
 */
static void
test_wsgi_argv_shell_split(void **state)
{
	json_t *vectors = load_vectors();
	const char *name;
	json_t *v;

	(void)state;
	json_object_foreach(vectors, name, v) {
		const struct vcase *c = find_case(name);
		json_t *want = json_array_get(v, 1);
		struct strv argv = STRV_INIT;
		struct err e = ERR_INIT;
		unsigned flags = c->foreground ? 0 : WSGI_DAEMON;
		int r = build(c->props, OMERODIR, flags, &argv, &e);

		if (json_integer_value(json_array_get(v, 0)) != 0) {
			assert_int_equal(r, -1);
			assert_string_equal(e.msg, json_string_value(want));
		} else if (!strcmp(name, "wsgi_args_quoted")) {
			size_t n = json_array_size(want);

			assert_int_equal(r, 0);
			/* upstream: "--error-logfile='/var/log/my" "dir/err.log'" */
			assert_int_equal(argv.n, n - 1);
			assert_string_equal(argv.v[n - 4], "--log-level=DEBUG");
			assert_string_equal(argv.v[n - 3],
				"--error-logfile=/var/log/my dir/err.log");
			assert_string_equal(argv.v[n - 2], WSGI_APP);
			for (size_t i = 0; i < n - 4; i++)
				assert_string_equal(argv.v[i], json_string_value(
					json_array_get(want, i)));
		} else {
			assert_int_equal(r, 0);
			assert_argv_equals_json(&argv, want);
		}
		err_clear(&e);
		strv_release(&argv);
	}
	json_decref(vectors);
}

static void
test_wsgi_omerodir_verbatim(void **state)
{
	struct strv argv = STRV_INIT;
	struct err e = ERR_INIT;
	const char *const none[] = { NULL };

	(void)state;
	/* A trailing '/' leaks into the pid path, as in omero-web. */
	assert_int_equal(build(none, "/srv/OMERO.web/", 0, &argv, &e), 0);
	assert_string_equal(argv.v[1], "-p");
	assert_string_equal(argv.v[2], "/srv/OMERO.web//var/django.pid");
	strv_release(&argv);
	/* A space stays inside the word with owctl's split ... */
	assert_int_equal(build(none, "/srv/my omero", 0, &argv, &e), 0);
	assert_string_equal(argv.v[2], "/srv/my omero/var/django.pid");
	strv_release(&argv);
	/* ... and breaks it with upstream's. */
	assert_int_equal(build(none, "/srv/my omero", WSGI_SPLIT_WHITESPACE,
			       &argv, &e), 0);
	assert_string_equal(argv.v[2], "/srv/my");
	assert_string_equal(argv.v[3], "omero/var/django.pid");
	strv_release(&argv);
}

static void
test_wsgi_settings_errors(void **state)
{
	struct strv argv = STRV_INIT;
	struct err e = ERR_INIT;
	const char *const port[] = { "omero.web.application_server.port",
				     "eighty", NULL };
	const char *const server[] = { "omero.web.application_server",
				       "fastcgi", NULL };
	const char *const quote[] = { "omero.web.wsgi_args", "--name 'x",
				      NULL };
	const char *const daemon[] = { "omero.web.wsgi_args",
				       "--log-level debug --daemon", NULL };
	const char *const pid[] = { "omero.web.wsgi_args", "-p /tmp/x.pid",
				    NULL };
	const char *const spaces[] = { "omero.web.wsgi_workers", " 7 ",
				       NULL };

	(void)state;
	assert_int_equal(build(port, OMERODIR, 0, &argv, &e), -1);
	assert_int_equal(e.code, ERR_WEB_SETTINGS);
	assert_non_null(strstr(e.msg, "Invalid APPLICATION_SERVER_PORT "
			       "(omero.web.application_server.port = "
			       "'eighty')"));
	err_clear(&e);
	assert_int_equal(build(server, OMERODIR, 0, &argv, &e), -1);
	assert_int_equal(e.code, ERR_WEB_SETTINGS);
	err_clear(&e);
	assert_int_equal(build(quote, OMERODIR, 0, &argv, &e), -1);
	assert_int_equal(e.code, ERR_BADVALUE);
	assert_non_null(strstr(e.msg, "No closing quotation"));
	err_clear(&e);
	/* --daemon is harmless upstream but would hide gunicorn from owctl */
	assert_int_equal(build(daemon, OMERODIR, 0, &argv, &e), 0);
	strv_release(&argv);
	assert_int_equal(build(daemon, OMERODIR, WSGI_SUPERVISED, &argv, &e),
			 -1);
	assert_non_null(strstr(e.msg, "--daemon"));
	err_clear(&e);
	assert_int_equal(build(pid, OMERODIR, WSGI_SUPERVISED, &argv, &e), -1);
	assert_non_null(strstr(e.msg, "-p"));
	err_clear(&e);
	assert_int_equal(argv.n, 0);
	/* int() strips spaces */
	assert_int_equal(build(spaces, OMERODIR, 0, &argv, &e), 0);
	assert_string_equal(wsgi_argv_option((const char *const *)argv.v, 1,
					     "--workers", "-w"), "7");
	strv_release(&argv);
}

static void
test_wsgi_prefix_and_health_url(void **state)
{
	struct cfgdoc d;
	struct wsgi_settings s;
	struct err e = ERR_INIT;
	const char *const dep[] = { "omero.web.force_script_name", "/old",
				    "omero.web.application_server.host",
				    "0.0.0.0", NULL };
	const char *const both[] = { "omero.web.force_script_name", "/old",
				     "omero.web.prefix", "/omero/",
				     "omero.web.application_server.host", "::",
				     "omero.web.application_server.port",
				     "8080", NULL };
	char *url;

	(void)state;
	make_doc(&d, dep);
	assert_int_equal(wsgi_settings_read(cfgdoc_profile(&d, "default"), &s,
					    &e), 0);
	assert_string_equal(s.prefix, "/old");
	url = wsgi_health_url(&s, NULL);
	assert_string_equal(url, "http://127.0.0.1:4080/old/");
	free(url);
	wsgi_settings_release(&s);
	cfgdoc_release(&d);

	make_doc(&d, both);
	assert_int_equal(wsgi_settings_read(cfgdoc_profile(&d, "default"), &s,
					    &e), 0);
	assert_string_equal(s.prefix, "/omero/");
	url = wsgi_health_url(&s, "/health");
	assert_string_equal(url, "http://[::1]:8080/omero/health");
	free(url);
	wsgi_settings_release(&s);
	cfgdoc_release(&d);

	assert_int_equal(wsgi_settings_read(NULL, &s, &e), 0);
	assert_null(s.prefix);
	assert_null(s.wsgi_args);
	url = wsgi_health_url(&s, "webclient/");
	assert_string_equal(url, "http://127.0.0.1:4080/webclient/");
	free(url);
	wsgi_settings_release(&s);
}

static void
test_wsgi_argv_option(void **state)
{
	const char *const a[] = { "gunicorn", "--workers", "3", "-w5",
				  "--error-logfile=/x/err.log", "--bind",
				  "unix:/s", "-w", NULL };
	const char *const b[] = { "gunicorn", "--log-file", "-", NULL };

	(void)state;
	/* last one wins; a dangling option has no value */
	assert_string_equal(wsgi_argv_option(a, 1, "--workers", "-w"), "5");
	assert_string_equal(wsgi_argv_option(a, 1, "--error-logfile", NULL),
			    "/x/err.log");
	assert_string_equal(wsgi_argv_option(a, 1, "--bind", "-b"), "unix:/s");
	assert_null(wsgi_argv_option(a, 1, "--log-file", NULL));
	assert_string_equal(wsgi_argv_option(b, 1, "--log-file", NULL), "-");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wsgi_argv_matches_omero_web),
		cmocka_unit_test(test_wsgi_argv_shell_split),
		cmocka_unit_test(test_wsgi_omerodir_verbatim),
		cmocka_unit_test(test_wsgi_settings_errors),
		cmocka_unit_test(test_wsgi_prefix_and_health_url),
		cmocka_unit_test(test_wsgi_argv_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
