/*
 * The session settings as OMERO.web computes them from a config.xml in a
 * scratch OMERODIR: engine names and defaults, cookie name/age, serializer,
 * django_additional_settings, the secret key, the Django version of a venv,
 * and Python's tempfile.gettempdir() rules.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fs.h"
#include "sessions/store.h"
#include "banned.h"

static char root[] = "/tmp/owctl-test-sstore-XXXXXX";

static void
put(const char *rel, const char *text)
{
	struct sbuf p = SBUF_INIT, dir = SBUF_INIT;
	struct err e = ERR_INIT;
	char *slash;

	sbuf_addf(&p, "%s/%s", root, rel);
	sbuf_adds(&dir, p.buf);
	slash = strrchr(dir.buf, '/');
	*slash = '\0';
	if (fs_mkdir_p(dir.buf, 0755, &e) ||
	    fs_write_atomic(p.buf, text, strlen(text), 0644, &e))
		fail_msg("%s", e.msg);
	sbuf_release(&p);
	sbuf_release(&dir);
}

/* config.xml with the given <property> elements (already XML). */
static void
config(const char *props)
{
	struct sbuf x = SBUF_INIT;

	sbuf_addf(&x, "<icegrid><properties id=\"__ACTIVE__\"><property name="
		  "\"omero.config.profile\" value=\"default\" /></properties>"
		  "<properties id=\"default\">%s</properties></icegrid>",
		  props);
	put("od/etc/grid/config.xml", x.buf);
	sbuf_release(&x);
}

static struct sstore_opts
opts(void)
{
	static char od[64];
	struct sstore_opts o = SSTORE_INIT_OPTS;

	snprintf(od, sizeof(od), "%s/od", root);
	o.omerodir = od;
	o.path = "/nonexistent";
	o.django_version = "5.2";
	return o;
}

static int
setup(void **state)
{
	(void)state;
	if (!mkdtemp(root))
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	struct sbuf cmd = SBUF_INIT;
	int r;

	(void)state;
	sbuf_addf(&cmd, "rm -rf '%s'", root);
	r = system(cmd.buf);
	sbuf_release(&cmd);
	return r == 0 ? 0 : -1;
}

static void
test_sstore_defaults(void **state)
{
	struct sstore_opts o = opts();
	struct sstore s;
	struct err e = ERR_INIT;

	(void)state;
	config("");
	assert_int_equal(sstore_open(&s, &o, &e), 0);
	assert_int_equal(s.engine, SSTORE_FILE);
	assert_true(s.engine_default);
	assert_string_equal(s.engine_name,
			    "django.contrib.sessions.backends.file");
	assert_string_equal(s.cookie_name, "sessionid");
	assert_int_equal(s.cookie_age, 86400);
	assert_int_equal(s.serializer, DJSIGN_JSON);
	assert_string_equal(s.time_zone, "Europe/London");
	assert_string_equal(s.cache_alias, "default");
	assert_true(json_is_object(s.caches));
	assert_int_equal(s.version, DJANGO_5_2);
	assert_int_equal(s.version_from, SSTORE_VERSION_OPTION);
	assert_true(sstore_use_tz(&s));
	assert_null(s.secret_key);
	assert_int_equal(s.gunicorn_pid, 0);
	assert_non_null(strstr(s.gunicorn_note, "not running"));
	sstore_release(&s);
}

static void
test_sstore_engines_and_values(void **state)
{
	struct sstore_opts o = opts();
	struct sstore s;
	struct err e = ERR_INIT;

	(void)state;
	config("<property name=\"omero.web.session_engine\" value=\"omeroweb."
	       "filesessionstore\" /><property name=\"omero.web.session_cookie"
	       "_name\" value=\"owsid\" /><property name=\"omero.web.session_"
	       "cookie_age\" value=\" 3_600 \" /><property name=\"omero.web."
	       "session_serializer\" value=\"django.contrib.sessions."
	       "serializers.PickleSerializer\" />");
	assert_int_equal(sstore_open(&s, &o, &e), 0);
	assert_int_equal(s.engine, SSTORE_FILE);
	assert_true(s.engine_deprecated);
	assert_false(s.engine_default);
	assert_string_equal(s.cookie_name, "owsid");
	assert_int_equal(s.cookie_age, 3600); /* Python int() */
	assert_int_equal(s.serializer, DJSIGN_PICKLE);
	sstore_release(&s);

	config("<property name=\"omero.web.session_engine\" value=\"django."
	       "contrib.sessions.backends.cached_db\" />");
	assert_int_equal(sstore_open(&s, &o, &e), 0);
	assert_int_equal(s.engine, SSTORE_CACHED_DB);
	sstore_release(&s);

	config("<property name=\"omero.web.session_engine\" "
	       "value=\"redis\" />");
	assert_int_equal(sstore_open(&s, &o, &e), -1);
	assert_int_equal(e.code, ERR_SESS_CONFIG);
	assert_non_null(strstr(e.msg, "'redis'"));
	err_clear(&e);
	sstore_release(&s);

	config("<property name=\"omero.web.session_cookie_age\" "
	       "value=\"1d\" />");
	assert_int_equal(sstore_open(&s, &o, &e), -1);
	assert_int_equal(e.code, ERR_SESS_CONFIG);
	err_clear(&e);
	sstore_release(&s);

	config("<property name=\"omero.web.session_serializer\" value=\"my."
	       "Serializer\" />");
	assert_int_equal(sstore_open(&s, &o, &e), -1);
	err_clear(&e);
	sstore_release(&s);
}

static void
test_sstore_additional_settings_win(void **state)
{
	struct sstore_opts o = opts();
	struct sstore s;
	struct err e = ERR_INIT;

	(void)state;
	config("<property name=\"omero.web.session_cookie_name\" value=\"a\" />"
	       "<property name=\"omero.web.django_additional_settings\" value="
	       "\"[[&quot;SESSION_COOKIE_NAME&quot;, &quot;b&quot;], [&quot;"
	       "USE_TZ&quot;, false], [&quot;SECRET_KEY_FALLBACKS&quot;, "
	       "[&quot;old&quot;]], [&quot;SESSION_FILE_PATH&quot;, "
	       "&quot;/srv/s&quot;"
	       "], [&quot;SESSION_CACHE_ALIAS&quot;, &quot;sess&quot;], [&quot;"
	       "SESSION_ENGINE&quot;, &quot;django.contrib.sessions.backends."
	       "cache&quot;]]\" />");
	assert_int_equal(sstore_open(&s, &o, &e), 0);
	assert_string_equal(s.cookie_name, "b");
	assert_int_equal(s.use_tz, 0);
	assert_false(sstore_use_tz(&s));
	assert_int_equal(s.fallbacks.n, 1);
	assert_string_equal(s.fallbacks.v[0], "old");
	assert_string_equal(s.file_path_setting, "/srv/s");
	assert_string_equal(s.cache_alias, "sess");
	assert_int_equal(s.engine, SSTORE_CACHE);
	assert_int_equal(sstore_find_dir(&s, &o, &e), 0);
	assert_string_equal(s.dir, "/srv/s");
	assert_int_equal(s.dir_from, SSTORE_DIR_SETTING);
	sstore_release(&s);

	config("<property name=\"omero.web.django_additional_settings\" value="
	       "\"{}\" />");
	assert_int_equal(sstore_open(&s, &o, &e), -1);
	err_clear(&e);
	sstore_release(&s);
}

static void
test_sstore_secret_key(void **state)
{
	struct sstore_opts o = opts();
	struct sstore s;
	struct err e = ERR_INIT;

	(void)state;
	config("");
	assert_int_equal(sstore_open(&s, &o, &e), 0);
	assert_int_equal(sstore_load_secret(&s, &o, &e), -1);
	assert_int_equal(e.code, ERR_SESS_SECRET);
	err_clear(&e);
	put("od/var/django_secret_key", "  k3y with space\n\n");
	assert_int_equal(sstore_load_secret(&s, &o, &e), 0);
	assert_string_equal(s.secret_key, "k3y with space");
	assert_non_null(strstr(s.secret_from, "var/django_secret_key"));
	sstore_release(&s);

	config("<property name=\"omero.web.secret_key\" value=\"from-config\" "
	       "/>");
	assert_int_equal(sstore_open(&s, &o, &e), 0);
	assert_int_equal(sstore_load_secret(&s, &o, &e), 0);
	assert_string_equal(s.secret_key, "from-config");
	assert_string_equal(s.secret_from, "omero.web.secret_key");
	sstore_release(&s);
}

static void
test_sstore_version_from_venv(void **state)
{
	struct sstore_opts o = opts();
	struct sstore s;
	struct err e = ERR_INIT;
	struct sbuf venv = SBUF_INIT, py = SBUF_INIT;

	(void)state;
	config("");
	put("venv/pyvenv.cfg", "home = /usr/bin\ninclude-system-site-packages"
	    " = false\nversion = 3.11.2\n");
	put("venv/bin/python", "#!/bin/sh\n");
	put("venv/lib/python3.11/site-packages/omeroweb/__init__.py", "");
	put("venv/lib/python3.11/site-packages/Django-4.2.7.dist-info/METADATA",
	    "Metadata-Version: 2.1\nName: Django\nVersion: 4.2.7\n\n");
	put("venv/lib/python3.11/site-packages/django_redis-5.4.0.dist-info/"
	    "METADATA", "Metadata-Version: 2.1\nName: django-redis\nVersion: "
	    "5.4.0\n\n");
	sbuf_addf(&venv, "%s/venv", root);
	sbuf_addf(&py, "%s/venv/bin/python", root);
	chmod(py.buf, 0755);
	o.django_version = NULL;
	o.venv = venv.buf;
	assert_int_equal(sstore_open(&s, &o, &e), 0);
	assert_int_equal(s.version_from, SSTORE_VERSION_VENV);
	assert_int_equal(s.version, DJANGO_4_2);
	assert_string_equal(s.version_text, "4.2.7");
	assert_false(sstore_use_tz(&s));
	sstore_release(&s);

	/* no venv anywhere: 5.2 rules, said so */
	o.venv = NULL;
	assert_int_equal(sstore_open(&s, &o, &e), 0);
	assert_int_equal(s.version_from, SSTORE_VERSION_DEFAULT);
	assert_int_equal(s.version, DJANGO_5_2);
	sstore_release(&s);
	sbuf_release(&venv);
	sbuf_release(&py);
}

static void
test_sstore_tempdir_rules(void **state)
{
	struct strv c = STRV_INIT;
	struct sstore_opts o = opts();
	struct sstore s;
	struct err e = ERR_INIT;
	struct sbuf t = SBUF_INIT;
	enum django_version v;

	(void)state;
	sstore_tempdir_candidates("rel/../x//", "", "/a/./b/", "/cwd", &c);
	assert_int_equal(c.n, 6);
	assert_string_equal(c.v[0], "/cwd/x");
	assert_string_equal(c.v[1], "/a/b");
	assert_string_equal(c.v[2], "/tmp");
	assert_string_equal(c.v[3], "/var/tmp");
	assert_string_equal(c.v[4], "/usr/tmp");
	assert_string_equal(c.v[5], "/cwd");
	strv_release(&c);
	sstore_tempdir_candidates(NULL, NULL, "//srv/../t", NULL, &c);
	assert_string_equal(c.v[0], "//t"); /* POSIX keeps two slashes */
	strv_release(&c);

	/* no gunicorn: TMPDIR if usable, else the next candidate */
	config("");
	sbuf_addf(&t, "%s/mytmp", root);
	mkdir(t.buf, 0755);
	o.tmpdir = t.buf;
	assert_int_equal(sstore_open(&s, &o, &e), 0);
	assert_int_equal(sstore_find_dir(&s, &o, &e), 0);
	assert_string_equal(s.dir, t.buf);
	assert_int_equal(s.dir_from, SSTORE_DIR_PYTHON);
	o.tmpdir = "/nonexistent-dir";
	assert_int_equal(sstore_find_dir(&s, &o, &e), 0);
	assert_string_equal(s.dir, "/tmp");
	o.session_dir = "/given";
	assert_int_equal(sstore_find_dir(&s, &o, &e), 0);
	assert_string_equal(s.dir, "/given");
	assert_int_equal(s.dir_from, SSTORE_DIR_OPTION);
	sstore_release(&s);
	sbuf_release(&t);

	assert_int_equal(sstore_parse_version("3.2.25", &v), 0);
	assert_int_equal(v, DJANGO_3_2);
	assert_int_equal(sstore_parse_version("4.1", &v), 0);
	assert_int_equal(v, DJANGO_4_2);
	assert_int_equal(sstore_parse_version("6.0", &v), 0);
	assert_int_equal(v, DJANGO_5_2);
	assert_int_equal(sstore_parse_version("2.2", &v), -1);
	assert_int_equal(sstore_parse_version("x", &v), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sstore_defaults),
		cmocka_unit_test(test_sstore_engines_and_values),
		cmocka_unit_test(test_sstore_additional_settings_win),
		cmocka_unit_test(test_sstore_secret_key),
		cmocka_unit_test(test_sstore_version_from_venv),
		cmocka_unit_test(test_sstore_tempdir_rules),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
