/* config validate / explain: good and bad values for every check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/schema.h"
#include "config/validate.h"
#include "banned.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct finding_list fl = FINDING_LIST_INIT;

static int
teardown(void **state)
{
	(void)state;
	finding_list_release(&fl);
	return 0;
}

static void
run(const struct cfg_kv *kv, size_t n, const char *target)
{
	struct err e = ERR_INIT;

	finding_list_release(&fl);
	assert_int_equal(cfg_validate(kv, n, target, "/opt/omero/web/OMERO.web",
				      &fl, &e), 0);
}

/* Validate the single property key=value. */
static void
run1(const char *key, const char *value, const char *target)
{
	struct cfg_kv kv = { key, value };

	run(&kv, 1, target);
}

/* Number of findings of severity sev about key whose message holds part
 * (NULL: any message). */
static size_t
count(enum finding_severity sev, const char *key, const char *part)
{
	size_t i, n = 0;

	for (i = 0; i < fl.n; i++)
		if (fl.v[i].severity == sev && !strcmp(fl.v[i].key, key) &&
		    (!part || strstr(fl.v[i].message, part)))
			n++;
	return n;
}

static void
dump(void)
{
	size_t i;

	for (i = 0; i < fl.n; i++)
		print_message("  %s %s: %s\n",
			      finding_severity_name(fl.v[i].severity),
			      fl.v[i].key, fl.v[i].message);
}

/* key=value gives no finding at all. */
static void
clean(const char *key, const char *value)
{
	run1(key, value, "5.31.0");
	if (fl.n) {
		print_message("unexpected for %s=%s:\n", key, value);
		dump();
	}
	assert_int_equal(fl.n, 0);
}

static void
expect(const char *key, const char *value, enum finding_severity sev,
       const char *part)
{
	run1(key, value, "5.31.0");
	if (count(sev, key, part) != 1) {
		print_message("expected %s '%s' for %s=%s, got:\n",
			      finding_severity_name(sev), part, key, value);
		dump();
	}
	assert_int_equal(count(sev, key, part), 1);
}

static void
test_validate_py_int(void **state)
{
	static const char *const good[] = {
		"4080", " 4080 ", "\t4080\n", "+5", "-5", "4_080", "0_0",
		"007", "1_000_000",
		"\xd9\xa4\xd9\xa0\xd9\xa8\xd9\xa0",	/* Arabic-Indic 4080 */
		"\xc2\xa0" "12" "\xe3\x80\x80",	/* NBSP, ideographic space */
	};
	static const char *const bad[] = {
		"", " ", "4080x", "40 80", "1__0", "_1", "1_", "+", "-",
		"+-1", "- 1", "0x10", "1.0", "1e3", "\xd9\xa4" "x", "\xd9\xa1_",
		"5\x1c",	/* \x1c is str.isspace() but not Py_ISSPACE */
		"\x7f" "1",
	};
	long long v = 0;
	size_t i;
	struct sbuf big = SBUF_INIT;

	(void)state;
	for (i = 0; i < N(good); i++) {
		if (cfg_py_int(good[i], &v, NULL) != 0)
			fail_msg("int('%s') should be accepted", good[i]);
	}
	for (i = 0; i < N(bad); i++) {
		if (cfg_py_int(bad[i], &v, NULL) != -1)
			fail_msg("int('%s') should fail", bad[i]);
	}
	assert_int_equal(cfg_py_int(" 4_080 ", &v, NULL), 0);
	assert_int_equal(v, 4080);
	assert_int_equal(cfg_py_int("\xd9\xa4\xd9\xa0\xd9\xa8\xd9\xa0", &v,
				    NULL), 0);
	assert_int_equal(v, 4080);
	assert_int_equal(cfg_py_int("-9223372036854775808", &v, NULL), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(cfg_py_int("9223372036854775808", &v, NULL), 1);
	assert_true(v == INT64_MAX);
	/* sys.int_info.default_max_str_digits */
	for (i = 0; i < 4300; i++)
		sbuf_addch(&big, '7');
	assert_int_equal(cfg_py_int(big.buf, &v, NULL), 1);
	sbuf_addch(&big, '7');
	assert_int_equal(cfg_py_int(big.buf, &v, NULL), -1);
	sbuf_release(&big);
}

static void
test_validate_py_json(void **state)
{
	static const char *const good[] = {
		"[]", " {} ", "\t[1, 2.5, -0, 1e400, -1E-7]\r\n", "NaN",
		"-Infinity", "[Infinity]", "\"\\ud800\"", "\"\\u00e9\\/\"",
		"{\"a\": {\"a\": [null, true, false]}, \"a\": 1}", "0",
		"\"\xc3\xa9\x7f\"", "123456789012345678901234567890",
	};
	static const char *const bad[] = {
		"", " ", "[1,]", "{'a': 1}", "{\"a\" 1}", "[1 2]", "[] x",
		"01", "1.", ".5", "-", "+1", "nan", "inf", "\"a\tb\"",
		"\"\\x41\"", "\"\\u12\"", "\"abc", "[", "{\"a\":}", "True",
		"\xef\xbb\xbf[]", "[1,,2]", "{,}", "1e", "--1",
	};
	struct sbuf why = SBUF_INIT, big = SBUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < N(good); i++) {
		if (cfg_py_json(good[i], &why) != 0)
			fail_msg("json.loads('%s') should be accepted: %s",
				 good[i], why.buf);
	}
	for (i = 0; i < N(bad); i++) {
		if (cfg_py_json(bad[i], NULL) != -1)
			fail_msg("json.loads('%s') should fail", bad[i]);
	}
	assert_int_equal(cfg_py_json("[1 2]", &why), -1);
	assert_string_equal(why.buf, "Expecting ',' delimiter (char 3)");
	for (i = 0; i < 4301; i++)
		sbuf_addch(&big, '9');
	assert_int_equal(cfg_py_json(big.buf, NULL), -1);
	sbuf_reset(&big);
	sbuf_adds(&big, "0.");
	for (i = 0; i < 5000; i++)
		sbuf_addch(&big, '9');
	assert_int_equal(cfg_py_json(big.buf, NULL), 0);
	sbuf_release(&why);
	sbuf_release(&big);
}

static void
test_validate_py_bool(void **state)
{
	(void)state;
	assert_true(cfg_py_bool("true"));
	assert_true(cfg_py_bool(" TRUE\n"));
	assert_true(cfg_py_bool("t"));
	assert_true(cfg_py_bool("1"));
	assert_true(cfg_py_bool("\xe3\x80\x80True\xc2\x85"));
	assert_false(cfg_py_bool("yes"));
	assert_false(cfg_py_bool("on"));
	assert_false(cfg_py_bool("truee"));
	assert_false(cfg_py_bool("t r u e"));
	assert_false(cfg_py_bool(""));
	assert_true(cfg_looks_true(" Yes"));
	assert_true(cfg_looks_true("Y"));
	assert_true(cfg_looks_true("enabled"));
	assert_false(cfg_looks_true("no"));
	assert_false(cfg_looks_true("true"));
}

static void
test_validate_int(void **state)
{
	(void)state;
	clean("omero.web.application_server.port", "4080");
	clean("omero.web.application_server.port", " 4_081 ");
	expect("omero.web.application_server.port", "4080x",
	       FINDING_ERROR, "not an integer");
	expect("omero.web.application_server.port", "0", FINDING_ERROR,
	       "outside 1..65535");
	expect("omero.web.application_server.port", "65536", FINDING_ERROR,
	       "outside");
	expect("omero.web.application_server.port", "99999999999999999999",
	       FINDING_ERROR, "outside");
	clean("omero.web.wsgi_workers", "9");
	expect("omero.web.wsgi_workers", "0", FINDING_ERROR, "0 workers");
	expect("omero.web.wsgi_timeout", "-1", FINDING_ERROR, "negative");
	expect("omero.web.page_size", "2OO", FINDING_ERROR, "not an integer");
	clean("omero.web.page_size", "-5");
}

static void
test_validate_bool(void **state)
{
	(void)state;
	clean("omero.web.secure", "True");
	clean("omero.web.secure", "false");
	clean("omero.web.secure", "no");
	expect("omero.web.secure", "yes", FINDING_WARNING, "read as false");
	expect("omero.web.secure", "on", FINDING_WARNING, "read as false");
	expect("omero.web.secure", "Y", FINDING_WARNING, "read as false");
	expect("omero.web.public.enabled", "enabled", FINDING_WARNING,
	       "read as false");
	expect("omero.mail.smtp.starttls.enable", "yes", FINDING_WARNING,
	       "read as false");
}

static void
test_validate_json(void **state)
{
	(void)state;
	clean("omero.web.ui.top_links", "[]");
	expect("omero.web.ui.top_links", "['a']", FINDING_ERROR,
	       "not valid JSON");
	expect("omero.web.ui.top_links", "{}", FINDING_WARNING,
	       "expected a JSON list");
	expect("omero.web.login_redirect", "[]", FINDING_WARNING,
	       "expected a JSON object");
	clean("omero.web.allowed_hosts", "[\"omero.example.org\"]");
	expect("omero.web.allowed_hosts", "\"*\"", FINDING_ERROR,
	       "list of strings");
	clean("omero.web.nginx_server_extra_config",
	      "[\"client_max_body_size 0;\"]");
	expect("omero.web.nginx_server_extra_config", "[1]", FINDING_ERROR,
	       "list of strings");
	clean("omero.web.secure_proxy_ssl_header",
	      "[\"HTTP_X_FORWARDED_PROTO\", \"https\"]");
	expect("omero.web.secure_proxy_ssl_header", "[\"a\"]",
	       FINDING_ERROR, "two strings");
	expect("omero.web.secure_proxy_ssl_header",
	       "[\"X_FORWARDED_PROTO\", \"https\"]", FINDING_WARNING,
	       "never matches");
	clean("omero.web.django_additional_settings",
	      "[[\"DATA_UPLOAD_MAX_MEMORY_SIZE\", 1000]]");
	expect("omero.web.django_additional_settings", "[\"A\", 1]",
	       FINDING_ERROR, "pairs");
	expect("omero.web.databases", "[]", FINDING_ERROR, "JSON object");
	/* NaN is JSON to Python: no error, shape not checked by jansson */
	clean("omero.web.ui.top_links", "[NaN]");
}

static void
test_validate_apps_middleware(void **state)
{
	const struct schema_prop *mw = schema_find("omero.web.middleware");

	(void)state;
	clean("omero.web.apps", "[\"omero_figure\", \"omero_iviewer\"]");
	expect("omero.web.apps", "\"omero_figure\"", FINDING_ERROR,
	       "list of app names");
	expect("omero.web.apps", "[\"omero-figure\"]", FINDING_ERROR,
	       "not a Python module name");
	expect("omero.web.apps", "[\"a\", \"a\"]", FINDING_WARNING,
	       "more than once");
	clean("omero.web.middleware", mw->default_json);
	expect("omero.web.middleware", "[{\"class\": \"django.contrib."
	       "sessions.middleware.SessionMiddleware\"}]", FINDING_ERROR,
	       "\"index\"");
	expect("omero.web.middleware", "[{\"index\": 1, \"class\": \"x.Y\"}]",
	       FINDING_WARNING, "SessionMiddleware is missing");
	expect("omero.web.middleware", "{}", FINDING_ERROR, "JSON list");
}

static void
test_validate_server_list(void **state)
{
	(void)state;
	clean("omero.web.server_list", "[[\"localhost\", 4064, \"omero\"]]");
	clean("omero.web.server_list", "[[\"a\", 4064], [\"b\", 4064, \"b\"]]");
	expect("omero.web.server_list", "[]", FINDING_ERROR, "non-empty");
	expect("omero.web.server_list", "[[\"a\"]]", FINDING_ERROR,
	       "entry 1 is not");
	expect("omero.web.server_list", "[[\"a\", \"4064\", \"omero\"]]",
	       FINDING_ERROR, "port");
	expect("omero.web.server_list", "[[\"a\", 0, \"omero\"]]",
	       FINDING_ERROR, "port");
}

static void
test_validate_enums(void **state)
{
	(void)state;
	clean("omero.web.application_server", "wsgi-tcp");
	expect("omero.web.application_server", "gunicorn", FINDING_ERROR,
	       "unknown server type");
	expect("omero.web.application_server", "wsgi", FINDING_WARNING,
	       "mod_wsgi");
	expect("omero.web.application_server", "development",
	       FINDING_WARNING, "development server");
	clean("omero.web.session_engine",
	      "django.contrib.sessions.backends.file");
	expect("omero.web.session_engine", "redis", FINDING_ERROR,
	       "unknown session engine");
	expect("omero.web.session_engine", "omeroweb.filesessionstore",
	       FINDING_WARNING, "deprecated");
	clean("omero.web.wsgi_worker_class", "sync");
	expect("omero.web.wsgi_worker_class", "gevent", FINDING_INFO,
	       "gevent package");
	expect("omero.web.wsgi_worker_class", "eventlet", FINDING_ERROR,
	       "only sync and gevent");
	clean("omero.web.csrf_cookie_samesite", "Strict");
	expect("omero.web.session_cookie_samesite", "Relaxed", FINDING_ERROR,
	       "SameSite");
}

static void
test_validate_timezone(void **state)
{
	(void)state;
	clean("omero.web.time_zone", "Europe/London");
	clean("omero.web.time_zone", "europe/london");	/* pytz: any case */
	clean("omero.web.time_zone", "UTC");
	clean("omero.web.time_zone", "America/Argentina/Buenos_Aires");
	clean("omero.web.time_zone", "Etc/GMT_plus_5");	/* _unmunge_zone */
	expect("omero.web.time_zone", "Mars/Olympus_Mons", FINDING_ERROR,
	       "unknown time zone");
	expect("omero.web.time_zone", "../../../etc/passwd", FINDING_ERROR,
	       "unknown time zone");
	expect("omero.web.time_zone", "/usr/share/zoneinfo/UTC",
	       FINDING_ERROR, "unknown time zone");
	expect("omero.web.time_zone", "Europe", FINDING_ERROR,
	       "unknown time zone");
	expect("omero.web.time_zone", "", FINDING_ERROR, "unknown time zone");
}

static void
test_validate_regex(void **state)
{
	static const char *const good[] = {
		"(?#This regular expression matches nothing)a^",
		"^/webgateway/(render_image|render_thumbnail)/\\d+",
		"(?P<id>[0-9]+)+?", "[]a]", "[^\\]]*", "a|b", "(?:x)*",
		"\\.", "a*+",
	};
	static const char *const bad[] = {
		"(a", "a)", "[a", "a\\", "*a", "a**", "\\q", "(|*)",
		"[\\q]", "(?#open", "^*", "x\\b+", "$?",
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(good); i++)
		clean("omero.web.public.url_filter", good[i]);
	for (i = 0; i < N(bad); i++)
		expect("omero.web.public.url_filter", bad[i], FINDING_ERROR,
		       "not a Python regular expression");
}

static void
test_validate_nginx_paths(void **state)
{
	(void)state;
	clean("omero.web.static_url", "/static/");
	clean("omero.web.static_url", "/omero/static");
	expect("omero.web.static_url", "/", FINDING_ERROR, "empty nginx");
	expect("omero.web.static_url", "", FINDING_ERROR, "empty nginx");
	expect("omero.web.static_url", "static/", FINDING_ERROR,
	       "does not start with '/'");
	expect("omero.web.static_url", "https://cdn.example.org/static/",
	       FINDING_ERROR, "absolute URL");
	clean("omero.web.prefix", "/omero");
	clean("omero.web.prefix", "/omero-web/");
	expect("omero.web.prefix", "/", FINDING_ERROR, "empty nginx");
	expect("omero.web.prefix", "omero", FINDING_ERROR,
	       "does not start");
	clean("omero.web.static_root", "/srv/static");
	expect("omero.web.static_root", "static", FINDING_WARNING,
	       "relative");
	expect("omero.web.logdir", "log", FINDING_WARNING, "relative");
}

static void
test_validate_deprecated(void **state)
{
	const struct cfg_kv both[] = {
		{ "omero.web.force_script_name", "/old" },
		{ "omero.web.prefix", "/new" },
	};

	(void)state;
	expect("omero.web.force_script_name", "/omero", FINDING_WARNING,
	       "use 'omero.web.prefix'");
	run(both, N(both), NULL);
	assert_int_equal(count(FINDING_ERROR, "omero.web.force_script_name",
			       "both"), 1);
	assert_int_equal(fl.n, 1);
	expect("omero.web.email_host", "smtp.example.org", FINDING_WARNING,
	       "has no effect: use 'omero.mail.host'");
	expect("omero.web.send_broken_link_emails", "true", FINDING_WARNING,
	       "no effect");
	/* the int parser still applies to the deprecated zoom level */
	expect("omero.web.viewer.initial_zoom_level", "x", FINDING_ERROR,
	       "not an integer");
}

static void
test_validate_unknown_and_repeated(void **state)
{
	const struct cfg_kv kv[] = {
		{ "omero.web.figure.version", "1" },
		{ "omero.data.dir", "/OMERO" },
		{ "omero.web.page_size", "x" },
		{ "omero.web.page_size", "300" },
	};

	(void)state;
	run(kv, N(kv), NULL);
	assert_int_equal(count(FINDING_WARNING, "omero.web.figure.version",
			       "not an OMERO.web setting"), 1);
	assert_int_equal(count(FINDING_WARNING, "omero.web.page_size",
			       "set 2 times"), 1);
	/* the last value counts: no integer error */
	assert_int_equal(fl.n, 2);
}

static void
test_validate_serializer(void **state)
{
	const char *pickle =
		"django.contrib.sessions.serializers.PickleSerializer";
	const char *key = "omero.web.session_serializer";

	(void)state;
	run1(key, pickle, "5.31.0");
	assert_int_equal(count(FINDING_ERROR, key, "625"), 1);
	run1(key, pickle, "5.30");
	assert_int_equal(count(FINDING_ERROR, key, "625"), 1);
	run1(key, pickle, "5.29.3");
	assert_int_equal(count(FINDING_INFO, key, "5.30.0"), 1);
	assert_int_equal(finding_list_count(&fl, FINDING_ERROR), 0);
	run1(key, pickle, NULL);
	assert_int_equal(count(FINDING_WARNING, key, "625"), 1);
	run1(key, "django.contrib.sessions.serializers.JSONSerializer",
	     "5.31.0");
	assert_int_equal(fl.n, 0);
}

static void
test_validate_target(void **state)
{
	struct cfg_kv kv = { "omero.web.debug", "false" };
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(cfg_validate(&kv, 1, "latest", NULL, &fl, &e), -1);
	assert_int_equal(e.code, ERR_BADVALUE);
	assert_string_equal(e.msg, "invalid target version 'latest'");
	err_clear(&e);
	assert_int_equal(cfg_validate(&kv, 1, "5.31.0.dev1", NULL, &fl, &e),
			 0);
}

static void
test_validate_sessions(void **state)
{
	const char *cache = "django.contrib.sessions.backends.cache";
	const struct cfg_kv dummy[] = {
		{ "omero.web.session_engine", cache },
	};
	const struct cfg_kv locmem[] = {
		{ "omero.web.session_engine", cache },
		{ "omero.web.caches", "{\"default\": {\"BACKEND\": \"django."
		  "core.cache.backends.locmem.LocMemCache\"}}" },
		{ "omero.web.wsgi_workers", "1" },
	};
	const struct cfg_kv redis[] = {
		{ "omero.web.session_engine", cache },
		{ "omero.web.caches", "{\"default\": {\"BACKEND\": \"django_"
		  "redis.cache.RedisCache\", \"LOCATION\": \"redis://127.0.0."
		  "1:6379/0\"}}" },
	};
	const struct cfg_kv db[] = {
		{ "omero.web.session_engine",
		  "django.contrib.sessions.backends.cached_db" },
	};
	const char *key = "omero.web.session_engine";

	(void)state;
	run(dummy, N(dummy), NULL);
	assert_int_equal(count(FINDING_ERROR, key, "dummy cache"), 1);
	run(locmem, N(locmem), NULL);
	assert_int_equal(count(FINDING_WARNING, key, "LocMemCache"), 1);
	run(locmem, 2, NULL);	/* default 5 workers */
	assert_int_equal(count(FINDING_ERROR, key, "between gunicorn"), 1);
	run(redis, N(redis), "5.31.0");
	assert_int_equal(fl.n, 0);
	run(db, N(db), NULL);
	assert_int_equal(count(FINDING_ERROR, key, "needs a database"), 1);
	expect("omero.web.caches", "[]", FINDING_ERROR, "JSON object");
	expect("omero.web.caches", "{\"x\": {\"BACKEND\": \"a\"}}",
	       FINDING_ERROR, "\"default\" cache");
}

static void
test_validate_csrf_origins(void **state)
{
	const char *key = "omero.web.csrf_trusted_origins";

	(void)state;
	clean(key, "[\"https://omero.example.org\"]");
	expect(key, "[\"omero.example.org\"]", FINDING_ERROR, "no scheme");
	run1(key, "[\"omero.example.org\"]", "5.22.1");
	assert_int_equal(fl.n, 0);
	run1(key, "[\"omero.example.org\"]", NULL);
	assert_int_equal(count(FINDING_WARNING, key, "no scheme"), 1);
}

static void
test_validate_secrets(void **state)
{
	const struct cfg_kv kv[] = {
		{ "omero.web.secret_key", "hunter2-secret" },
		{ "omero.web.public.password", "hunter2-secret" },
		{ "omero.web.public.enabled", "yes" },
		{ "omero.web.forms.priv.password", "hunter2-secret" },
	};
	size_t i;

	(void)state;
	run(kv, N(kv), NULL);
	assert_int_equal(count(FINDING_INFO, "omero.web.secret_key",
			       "clear text"), 1);
	for (i = 0; i < fl.n; i++) {
		assert_null(strstr(fl.v[i].message, "hunter2"));
		assert_true(!fl.v[i].hint || !strstr(fl.v[i].hint, "hunter2"));
	}
	expect("omero.web.secret_key", "", FINDING_ERROR, "empty secret");
	expect("omero.web.debug", "true", FINDING_WARNING, "debug mode");
	run1("omero.web.public.enabled", "true", NULL);
	assert_int_equal(count(FINDING_WARNING, "omero.web.public.enabled",
			       "credentials"), 1);
}

static void
test_validate_json_output(void **state)
{
	const struct cfg_kv kv[] = {
		{ "omero.web.application_server.port", "x" },
		{ "omero.web.secure", "yes" },
		{ "omero.web.wsgi_worker_class", "gevent" },
	};
	json_t *j, *f;

	(void)state;
	run(kv, N(kv), NULL);
	j = finding_list_to_json(&fl);
	assert_int_equal(json_integer_value(json_object_get(j, "errors")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "warnings")),
			 1);
	assert_int_equal(json_integer_value(json_object_get(j, "infos")), 1);
	f = json_array_get(json_object_get(j, "findings"), 0);
	assert_string_equal(json_string_value(json_object_get(f, "severity")),
			    "error");
	assert_string_equal(json_string_value(json_object_get(f, "key")),
			    "omero.web.application_server.port");
	assert_true(json_is_string(json_object_get(f, "hint")));
	f = json_array_get(json_object_get(j, "findings"), 2);
	assert_true(json_is_null(json_object_get(f, "hint")));
	json_decref(j);
}

static void
test_validate_explain(void **state)
{
	struct sbuf sb = SBUF_INIT;

	(void)state;
	cfg_explain("omero.web.application_server.port", "4081", NULL, 0, &sb);
	assert_non_null(strstr(sb.buf, "type: integer (int)\n"));
	assert_non_null(strstr(sb.buf, "default: 4080\n"));
	assert_non_null(strstr(sb.buf, "current: 4081\n"));
	assert_non_null(strstr(sb.buf, "matters for: start command, nginx\n"));
	assert_non_null(strstr(sb.buf, "accepted by OMERO.web"));
	sbuf_reset(&sb);

	cfg_explain("omero.web.application_server.port", "x", NULL, 0, &sb);
	assert_non_null(strstr(sb.buf, "error: 'x' is not an integer"));
	assert_null(strstr(sb.buf, "accepted"));
	sbuf_reset(&sb);

	cfg_explain("omero.web.public.password", "hunter2", NULL, 0, &sb);
	assert_null(strstr(sb.buf, "hunter2"));
	assert_non_null(strstr(sb.buf, "current: ******** (secret)"));
	sbuf_reset(&sb);
	cfg_explain("omero.web.public.password", "hunter2", NULL,
		    CFG_EXPLAIN_SHOW_SECRETS, &sb);
	assert_non_null(strstr(sb.buf, "current: hunter2\n"));
	sbuf_reset(&sb);

	cfg_explain("omero.web.static_root", NULL, "/srv/OMERO.web", 0, &sb);
	assert_non_null(strstr(sb.buf, "default: /srv/OMERO.web/var/static"));
	assert_non_null(strstr(sb.buf, "current: not set"));
	sbuf_reset(&sb);

	cfg_explain("omero.web.force_script_name", "/omero", NULL, 0, &sb);
	assert_non_null(strstr(sb.buf, "deprecated: use omero.web.prefix "
			       "(still read while that is unset)"));
	sbuf_reset(&sb);

	cfg_explain("omero.web.session_serializer", NULL, NULL, 0, &sb);
	assert_non_null(strstr(sb.buf, "PickleSerializer"));
	sbuf_reset(&sb);

	cfg_explain("omero.web.figure.version", "1", NULL, 0, &sb);
	assert_non_null(strstr(sb.buf, "not a setting of OMERO.web itself"));
	sbuf_release(&sb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate_py_int),
		cmocka_unit_test(test_validate_py_json),
		cmocka_unit_test(test_validate_py_bool),
		cmocka_unit_test(test_validate_int),
		cmocka_unit_test(test_validate_bool),
		cmocka_unit_test(test_validate_json),
		cmocka_unit_test(test_validate_apps_middleware),
		cmocka_unit_test(test_validate_server_list),
		cmocka_unit_test(test_validate_enums),
		cmocka_unit_test(test_validate_timezone),
		cmocka_unit_test(test_validate_regex),
		cmocka_unit_test(test_validate_nginx_paths),
		cmocka_unit_test(test_validate_deprecated),
		cmocka_unit_test(test_validate_unknown_and_repeated),
		cmocka_unit_test(test_validate_serializer),
		cmocka_unit_test(test_validate_target),
		cmocka_unit_test(test_validate_sessions),
		cmocka_unit_test(test_validate_csrf_origins),
		cmocka_unit_test(test_validate_secrets),
		cmocka_unit_test(test_validate_json_output),
		cmocka_unit_test(test_validate_explain),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
