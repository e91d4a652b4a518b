/*
 * nginx config rendering: every golden vector of omero-web's
 * `omero web config`, the refusals owctl adds, and nginx_check_conf()
 * against a stand-in nginx that records what it was given.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "fs.h"
#include "strv.h"
#include "xalloc.h"
#include "web/nginx.h"
#include "banned.h"

/* ---- helpers ---- */

static const char *
json_lookup(void *ud, const char *key)
{
	json_t *v = json_object_get((json_t *)ud, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* props: NULL-terminated key, value, key, value, ... */
static const char *
pairs_lookup(void *ud, const char *key)
{
	const char *const *kv = ud;

	for (; kv && kv[0]; kv += 2)
		if (!strcmp(kv[0], key))
			return kv[1];
	return NULL;
}

static int
render(enum nginx_type type, const char *const *props, unsigned flags,
       struct sbuf *out, struct err *e)
{
	struct nginx_opts o = { .type = type, .omerodir = "/srv/omero",
				.flags = flags | NGINX_NO_FILE_CHECKS };

	sbuf_reset(out);
	return nginx_render(&o, pairs_lookup, (void *)props, out, e);
}

/* Render, expecting ERR_WEB_NGINX_UNSAFE with a message holding needle. */
static void
assert_refused(enum nginx_type type, const char *const *props,
	       const char *needle)
{
	struct sbuf out = SBUF_INIT;
	struct err e = ERR_INIT;

	if (render(type, props, 0, &out, &e) == 0)
		fail_msg("rendered instead of refusing (%s)", needle);
	assert_int_equal(e.code, ERR_WEB_NGINX_UNSAFE);
	if (!strstr(e.msg, needle))
		fail_msg("message '%s' lacks '%s'", e.msg, needle);
	assert_null(strchr(e.msg, '\n'));
	assert_int_equal(out.len, 0);
	err_clear(&e);
	sbuf_release(&out);
}

static void
assert_renders_with(enum nginx_type type, const char *const *props,
		    unsigned flags, const char *needle)
{
	struct sbuf out = SBUF_INIT;
	struct err e = ERR_INIT;

	if (render(type, props, flags, &out, &e) < 0)
		fail_msg("refused: %s", e.msg);
	if (!strstr(out.buf, needle))
		fail_msg("output lacks '%s':\n%s", needle, out.buf);
	sbuf_release(&out);
}

static const char *
shared_dir(void)
{
	const char *d = getenv("SHARED_DIR");

	return d && *d ? d : "../shared";
}

static int
status_of(enum err_code code)
{
	return code == ERR_WEB_PORT_CONFLICT ? 166 :
	       code == ERR_WEB_APP_SERVER ? 168 : -1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- golden vectors ---- */

static void
run_vector(const char *dir, const char *name, int *seen_types, int *n_conf,
	   int *n_err)
{
	struct sbuf path = SBUF_INIT, want = SBUF_INIT, out = SBUF_INIT;
	struct sbuf again = SBUF_INIT;
	struct nginx_opts o = { 0 };
	struct err e = ERR_INIT;
	json_error_t je;
	json_t *in, *v;
	size_t stem = strlen(name) - strlen(".input.json");
	int rc;

	sbuf_addf(&path, "%s/%s", dir, name);
	in = json_load_file(path.buf, 0, &je);
	if (!in)
		fail_msg("%s: %s", path.buf, je.text);
	v = json_object_get(in, "type");
	assert_true(json_is_string(v));
	assert_int_equal(nginx_type_parse(json_string_value(v), &o.type), 0);
	o.omerodir = json_string_value(json_object_get(in, "OMERODIR"));
	v = json_object_get(in, "http");
	o.http_port = json_is_integer(v) ? (long)json_integer_value(v) : 0;
	o.servername = json_string_value(json_object_get(in, "servername"));
	o.max_body_size =
		json_string_value(json_object_get(in, "max_body_size"));
	/* the vectors' OMERODIR is not on this machine */
	o.flags = NGINX_NO_FILE_CHECKS;
	v = json_object_get(in, "props");

	rc = nginx_render(&o, json_lookup, v, &out, &e);

	sbuf_reset(&path);
	sbuf_addf(&path, "%s/%.*s.conf", dir, (int)stem, name);
	if (fs_exists(path.buf)) {
		if (rc < 0)
			fail_msg("%s: refused: %s", name, e.msg);
		assert_int_equal(fs_read_file(path.buf, 1 << 20, &want, &e),
				 0);
		if (out.len != want.len || memcmp(out.buf, want.buf, out.len))
			fail_msg("%s: output differs:\n%s", name, out.buf);
		/* owctl's checks pass the vectors without changing a byte */
		o.flags |= NGINX_ALLOW_UNSAFE;
		assert_int_equal(nginx_render(&o, json_lookup, v, &again, &e),
				 0);
		assert_int_equal(again.len, out.len);
		assert_memory_equal(again.buf, out.buf, out.len);
		seen_types[o.type] = 1;
		(*n_conf)++;
	} else {
		sbuf_reset(&path);
		sbuf_addf(&path, "%s/%.*s.stderr", dir, (int)stem, name);
		assert_int_equal(fs_read_file(path.buf, 1 << 20, &want, &e),
				 0);
		if (rc == 0)
			fail_msg("%s: rendered, expected an error", name);
		sbuf_rtrim(&want);
		if (strcmp(e.msg, want.buf))
			fail_msg("%s: message '%s', expected '%s'", name,
				 e.msg, want.buf);
		v = json_object_get(in, "exit_status");
		assert_true(json_is_integer(v));
		assert_int_equal(status_of(e.code), json_integer_value(v));
		assert_int_equal(out.len, 0);
		(*n_err)++;
	}
	err_clear(&e);
	json_decref(in);
	sbuf_release(&path);
	sbuf_release(&want);
	sbuf_release(&out);
	sbuf_release(&again);
}

static void
test_nginx_vectors(void **state)
{
	struct sbuf dir = SBUF_INIT;
	struct strv names = STRV_INIT;
	struct dirent *de;
	int seen_types[3] = { 0 }, n_conf = 0, n_err = 0;
	size_t i, n;
	DIR *d;

	(void)state;
	sbuf_addf(&dir, "%s/vectors/nginx", shared_dir());
	d = opendir(dir.buf);
	if (!d)
		fail_msg("cannot open '%s' (set SHARED_DIR)", dir.buf);
	while ((de = readdir(d))) {
		n = strlen(de->d_name);
		if (n > 11 && !strcmp(de->d_name + n - 11, ".input.json"))
			strv_push(&names, de->d_name);
	}
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof(*names.v), cmp_str);
	for (i = 0; i < names.n; i++)
		run_vector(dir.buf, names.v[i], seen_types, &n_conf, &n_err);
	assert_true(names.n >= 10);
	assert_int_equal(n_conf + n_err, names.n);
	assert_true(n_conf > 0 && n_err > 0);
	for (i = 0; i < 3; i++)
		assert_true(seen_types[i]);
	strv_release(&names);
	sbuf_release(&dir);
}

/* ---- API and upstream semantics ---- */

static void
test_nginx_type_names(void **state)
{
	enum nginx_type t = NGINX_SERVER;
	int i;

	(void)state;
	for (i = NGINX_SERVER; i <= NGINX_LOCATION; i++) {
		assert_int_equal(nginx_type_parse(nginx_type_name(i), &t), 0);
		assert_int_equal(t, i);
	}
	assert_string_equal(nginx_type_name(NGINX_DEVELOPMENT),
			    "nginx-development");
	assert_int_equal(nginx_type_parse("nginx-dev", &t), -1);
	assert_int_equal(nginx_type_parse("NGINX", &t), -1);
	assert_int_equal(nginx_type_parse("apache", &t), -1);
}

static void
test_nginx_default_http_ports(void **state)
{
	const char *const app80[] = {
		"omero.web.application_server.port", "80", NULL };
	struct sbuf out = SBUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	assert_renders_with(NGINX_SERVER, NULL, 0, "    listen 80;\n");
	assert_renders_with(NGINX_DEVELOPMENT, NULL, 0,
			    "        listen 8080;\n");
	/* nginx-location has no listen, yet upstream still checks port 80 */
	assert_int_equal(render(NGINX_LOCATION, app80, 0, &out, &e), -1);
	assert_int_equal(e.code, ERR_WEB_PORT_CONFLICT);
	assert_string_equal(e.msg, "Port conflict: HTTP(80) and wsgi(80).");
	/* the app port is compared as a Python int */
	{
		const char *const odd[] = {
			"omero.web.application_server.port", " 0_4080 ",
			NULL };
		struct nginx_opts o = { .type = NGINX_SERVER,
					.omerodir = "/x", .http_port = 4080 };

		assert_int_equal(nginx_render(&o, pairs_lookup, (void *)odd,
					      &out, &e), -1);
		assert_string_equal(e.msg, "Port conflict: HTTP(4080) and "
					   "wsgi(4080).");
		assert_renders_with(NGINX_LOCATION, odd, 0,
				    "proxy_pass http://127.0.0.1:4080;\n");
	}
	err_clear(&e);
	sbuf_release(&out);
}

static void
test_nginx_app_server_mismatch(void **state)
{
	const char *const dev[] = {
		"omero.web.application_server", "development", NULL };
	const char *const tcp[] = {
		"omero.web.application_server", "wsgi-tcp", NULL };
	struct sbuf out = SBUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(render(NGINX_LOCATION, dev, NGINX_ALLOW_UNSAFE,
				&out, &e), -1);
	assert_int_equal(e.code, ERR_WEB_APP_SERVER);
	assert_string_equal(e.msg, "ERROR: configuration mismatch. "
			    "omero.web.application_server=development cannot "
			    "be used with 'omero web config nginx-location'.");
	assert_renders_with(NGINX_SERVER, tcp, 0, "upstream omeroweb {");
	err_clear(&e);
	sbuf_release(&out);
}

static void
test_nginx_deprecated_force_script_name(void **state)
{
	const char *const old[] = {
		"omero.web.force_script_name", "/omero", NULL };
	const char *const new[] = { "omero.web.prefix", "/omero", NULL };
	const char *const both[] = {
		"omero.web.prefix", "/new", "omero.web.force_script_name",
		"/old", NULL };
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(render(NGINX_SERVER, old, 0, &a, &e), 0);
	assert_int_equal(render(NGINX_SERVER, new, 0, &b, &e), 0);
	assert_string_equal(a.buf, b.buf);
	assert_non_null(strstr(a.buf, "    location /omero {\n"));
	assert_non_null(strstr(a.buf, "upstream omeroweb_omero {"));
	assert_int_equal(render(NGINX_SERVER, both, 0, &a, &e), 0);
	assert_non_null(strstr(a.buf, "location /new {"));
	assert_null(strstr(a.buf, "old"));
	/* refusals name the key the value came from */
	{
		const char *const bad[] = {
			"omero.web.force_script_name", "/", NULL };

		assert_refused(NGINX_SERVER, bad,
			       "omero.web.force_script_name '/'");
	}
	sbuf_release(&a);
	sbuf_release(&b);
}

static void
test_nginx_prefix_names(void **state)
{
	const char *const dotted[] = { "omero.web.prefix", "/a.b_c-d/", NULL };
	const char *const cyr[] = { "omero.web.prefix", "/омеро/", NULL };

	(void)state;
	/* values from Python: "_" + re.sub(r"\W+", "", p.rstrip("/")) */
	assert_renders_with(NGINX_SERVER, dotted, 0,
			    "upstream omeroweb_ab_cd {");
	assert_renders_with(NGINX_SERVER, dotted, 0, "location /a.b_c-d {");
	assert_renders_with(NGINX_LOCATION, cyr, 0,
			    "location @proxy_to_app_омеро {");
}

static void
test_nginx_static_root_normpath(void **state)
{
	/* expected values from Python's posixpath.normpath */
	static const char *const cases[][2] = {
		{ "/a/b/../c/", "/a/c" },
		{ "//srv/static/", "//srv/static" },
		{ "///srv//./static/", "/srv/static" },
		{ "/../x", "/x" },
		{ "a/../../b", "../b" },
		{ "../../a", "../../a" },
		{ "a/..", "." },
		{ "", "." },
		{ "/a/./b/.", "/a/b" },
	};
	struct sbuf want = SBUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const props[] = {
			"omero.web.static_root", cases[i][0], NULL };

		sbuf_reset(&want);
		sbuf_addf(&want, "alias %s;\n", cases[i][1]);
		assert_renders_with(NGINX_LOCATION, props, NGINX_ALLOW_UNSAFE,
				    want.buf);
	}
	sbuf_release(&want);
}

static void
test_nginx_omerodir_verbatim(void **state)
{
	struct nginx_opts o = { .type = NGINX_SERVER, .omerodir = "/opt/x/" };
	struct sbuf out = SBUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	/* ROOT is not normalised, STATIC_ROOT is (reference 2.1, 2.3) */
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), 0);
	assert_non_null(strstr(out.buf, "root /opt/x//etc/templates/error;"));
	assert_non_null(strstr(out.buf, "alias /opt/x/var/static;"));
	sbuf_release(&out);
}

static void
test_nginx_extra_config(void **state)
{
	const char *const two[] = { "omero.web.nginx_server_extra_config",
				    "[\"a on;\", \"b off;\"]", NULL };
	const char *const empty[] = { "omero.web.nginx_server_extra_config",
				      "[]", NULL };
	const char *const null[] = { "omero.web.nginx_server_extra_config",
				     "null", NULL };
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	assert_renders_with(NGINX_DEVELOPMENT, two, 0,
			    "client_max_body_size 0;\n\n"
			    "# <<<<< omero.web.nginx_server_extra_config\n"
			    "a on;\nb off;\n"
			    "# omero.web.nginx_server_extra_config >>>>>\n\n"
			    "        # maintenance");
	/* nginx-location's template has no place for it */
	assert_int_equal(render(NGINX_LOCATION, two, 0, &a, &e), 0);
	assert_null(strstr(a.buf, "<<<<<"));
	assert_int_equal(render(NGINX_SERVER, empty, 0, &a, &e), 0);
	assert_int_equal(render(NGINX_SERVER, NULL, 0, &b, &e), 0);
	assert_string_equal(a.buf, b.buf);
	/* upstream: `if settings.NGINX_SERVER_EXTRA_CONFIG` skips null */
	assert_int_equal(render(NGINX_SERVER, null, NGINX_ALLOW_UNSAFE, &a,
				&e), 0);
	assert_string_equal(a.buf, b.buf);
	assert_refused(NGINX_SERVER, null, "is not a JSON list of lines");
	sbuf_release(&a);
	sbuf_release(&b);
}

static void
test_nginx_extra_config_invalid(void **state)
{
	static const char *const bad[] = {
		"[", "{\"listen\": 443}", "\"listen 443;\"", "[1]",
		"[\"ok;\", null]", "listen 443;",
	};
	struct sbuf out = SBUF_INIT;
	struct err e = ERR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *const props[] = {
			"omero.web.nginx_server_extra_config", bad[i], NULL };

		assert_refused(NGINX_SERVER, props,
			       "omero.web.nginx_server_extra_config");
		/* upstream fails on these too: no way around it */
		assert_int_equal(render(NGINX_SERVER, props,
					NGINX_ALLOW_UNSAFE, &out, &e), -1);
		err_clear(&e);
	}
	sbuf_release(&out);
}

/* ---- owctl's refusals ---- */

static void
test_nginx_refuses_root_prefix(void **state)
{
	const char *const root[] = { "omero.web.prefix", "/", NULL };
	const char *const empty[] = { "omero.web.prefix", "", NULL };

	(void)state;
	assert_refused(NGINX_SERVER, root, "omero.web.prefix '/' would make "
		       "an empty nginx location");
	assert_refused(NGINX_LOCATION, empty, "omero.web.prefix ''");
	/* what upstream writes (reference 2.3): broken, but byte-exact */
	assert_renders_with(NGINX_SERVER, root, NGINX_ALLOW_UNSAFE,
			    "    location  {\n");
	assert_renders_with(NGINX_SERVER, root, NGINX_ALLOW_UNSAFE,
			    "upstream omeroweb_ {");
}

static void
test_nginx_refuses_relative_prefix(void **state)
{
	const char *const rel[] = { "omero.web.prefix", "omero/", NULL };
	const char *const space[] = { "omero.web.prefix", "/om ero", NULL };

	(void)state;
	assert_refused(NGINX_SERVER, rel, "does not start with '/'; use "
		       "'/omero'");
	assert_refused(NGINX_DEVELOPMENT, space, "omero.web.prefix '/om ero'");
}

static void
test_nginx_refuses_absolute_static_url(void **state)
{
	const char *const abs[] = { "omero.web.static_url",
				    "https://static.example.org/omero/", NULL };
	const char *const proto[] = { "omero.web.static_url",
				      "//cdn.example.org/s/", NULL };

	(void)state;
	assert_refused(NGINX_SERVER, abs, "is an absolute URL");
	assert_refused(NGINX_LOCATION, proto, "is an absolute URL");
	assert_renders_with(NGINX_SERVER, abs, NGINX_ALLOW_UNSAFE,
			    "location https://static.example.org/omero {");
}

static void
test_nginx_static_url_forms(void **state)
{
	const char *const noslash[] = { "omero.web.static_url", "/s", NULL };
	const char *const slashes[] = { "omero.web.static_url", "/s///",
					NULL };
	const char *const rel[] = { "omero.web.static_url", "static/", NULL };
	const char *const root[] = { "omero.web.static_url", "/", NULL };
	const char *const dup[] = { "omero.web.static_url", "/omero/",
				    "omero.web.prefix", "/omero", NULL };

	(void)state;
	assert_renders_with(NGINX_SERVER, noslash, 0, "location /s {\n");
	assert_renders_with(NGINX_SERVER, slashes, 0, "location /s {\n");
	assert_refused(NGINX_SERVER, rel, "does not start with '/'");
	assert_refused(NGINX_SERVER, root,
		       "would make an empty nginx location");
	assert_refused(NGINX_SERVER, dup, "the same nginx location twice");
}

static void
test_nginx_refuses_bad_port(void **state)
{
	static const char *const not_int[] = {
		"abc", "", "4080.0", "4__080", "_4080", "0x10",
	};
	static const char *const out_of_range[] = { "0", "65536", "-1" };
	const char *const neg[] = { "omero.web.application_server.port", "-1",
				    NULL };
	struct sbuf out = SBUF_INIT;
	struct err e = ERR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(not_int) / sizeof(not_int[0]); i++) {
		const char *const props[] = {
			"omero.web.application_server.port", not_int[i],
			NULL };

		assert_refused(NGINX_SERVER, props, "is not a port number");
		/* upstream's int() raises: no override */
		assert_int_equal(render(NGINX_SERVER, props,
					NGINX_ALLOW_UNSAFE, &out, &e), -1);
		err_clear(&e);
	}
	for (i = 0; i < sizeof(out_of_range) / sizeof(out_of_range[0]); i++) {
		const char *const props[] = {
			"omero.web.application_server.port", out_of_range[i],
			NULL };

		assert_refused(NGINX_LOCATION, props, "out of range 1-65535");
	}
	assert_renders_with(NGINX_LOCATION, neg, NGINX_ALLOW_UNSAFE,
			    "proxy_pass http://127.0.0.1:-1;");
	sbuf_release(&out);
}

static void
test_nginx_refuses_bad_values(void **state)
{
	const char *const host_sp[] = {
		"omero.web.application_server.host", "a b", NULL };
	const char *const host_v6[] = {
		"omero.web.application_server.host", "::1", NULL };
	const char *const host_v6b[] = {
		"omero.web.application_server.host", "[::1]", NULL };
	const char *const app_bad[] = {
		"omero.web.application_server", "gunicorn", NULL };
	const char *const root_rel[] = {
		"omero.web.static_root", "var/static", NULL };

	(void)state;
	assert_refused(NGINX_SERVER, host_sp, "host 'a b'");
	assert_refused(NGINX_SERVER, host_v6, "use '[::1]'");
	assert_renders_with(NGINX_SERVER, host_v6b, 0,
			    "server [::1]:4080 fail_timeout=0;");
	assert_refused(NGINX_SERVER, app_bad,
		       "omero.web.application_server 'gunicorn'");
	assert_refused(NGINX_SERVER, root_rel,
		       "omero.web.static_root 'var/static' is not an absolute");
}

static void
test_nginx_refuses_bad_options(void **state)
{
	struct nginx_opts o = { .type = NGINX_SERVER, .omerodir = "/x" };
	struct sbuf out = SBUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	o.servername = "a;b";
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), -1);
	assert_int_equal(e.code, ERR_WEB_NGINX_UNSAFE);
	o.servername = "";	/* upstream: NameError */
	o.flags = NGINX_ALLOW_UNSAFE;
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), -1);
	o.flags = 0;
	o.servername = "example.org www.example.org";
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), 0);
	assert_non_null(strstr(out.buf,
			       "server_name example.org www.example.org;"));
	o.servername = NULL;
	o.max_body_size = "10 m";
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), -1);
	assert_non_null(strstr(e.msg, "'10 m'"));
	o.max_body_size = "1x";
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), -1);
	o.max_body_size = "512K";
	sbuf_reset(&out);
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), 0);
	assert_non_null(strstr(out.buf, "client_max_body_size 512K;"));
	o.http_port = 70000;
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), -1);
	assert_non_null(strstr(e.msg, "HTTP port 70000"));
	o.http_port = 0;
	o.omerodir = "relative/dir";
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), -1);
	assert_non_null(strstr(e.msg, "OMERODIR 'relative/dir'"));
	o.omerodir = "/opt/$x";
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), -1);
	o.omerodir = "";
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), -1);
	assert_int_equal(e.code, ERR_FAIL);
	err_clear(&e);
	sbuf_release(&out);
}

/*
 * Every substituted value, against what nginx's tokenizer reads there:
 * the fuzz findings of fuzz/RESULTS.md (nginx #1, #2) and their families
 * are refused with the property, the character and a hint; the same bytes
 * in the middle of a word, where nginx takes them as they are, are not.
 */
static void
test_nginx_token_rules_per_field(void **state)
{
	static const struct {
		enum nginx_type type;
		const char *key, *value, *needle;
	} refused[] = {
		{ NGINX_SERVER, "omero.web.application_server.host", "#x",
		  "omero.web.application_server.host '#x' starts a word with "
		  "'#', which begins an nginx comment; use a host name" },
		{ NGINX_LOCATION, "omero.web.application_server.host", "a\"b",
		  "is not a host name or address (it holds '\"')" },
		{ NGINX_SERVER, "omero.web.application_server.host", "[::1",
		  "is not an IPv6 address in brackets" },
		{ NGINX_SERVER, "omero.web.application_server.host", "a\nb",
		  "'a\\nb' holds '\\n', which ends a word in nginx" },
		{ NGINX_SERVER, "omero.web.prefix", "/a;b",
		  "omero.web.prefix '/a;b' holds ';', which ends an nginx "
		  "directive; use a URL path without it" },
		{ NGINX_LOCATION, "omero.web.prefix", "/a{b",
		  "holds '{', which opens an nginx block" },
		{ NGINX_SERVER, "omero.web.prefix", "/a\\",
		  "holds '\\', which escapes the next character in nginx" },
		{ NGINX_SERVER, "omero.web.force_script_name", "/a\tb",
		  "omero.web.force_script_name '/a\\tb' holds '\\t'" },
		{ NGINX_SERVER, "omero.web.static_url", "/s\x01",
		  "holds '\\x01', a control character" },
		{ NGINX_DEVELOPMENT, "omero.web.static_url", "/s t/",
		  "omero.web.static_url '/s t/' holds ' '" },
		{ NGINX_SERVER, "omero.web.static_root", "/srv/$x",
		  "omero.web.static_root '/srv/$x' holds '$', which begins a "
		  "variable in nginx's root and alias; use a path without it" },
		{ NGINX_LOCATION, "omero.web.static_root", "/srv/a b",
		  "holds ' ', which ends a word in nginx" },
	};
	static const struct {
		enum nginx_type type;
		const char *key, *value, *needle;
	} taken[] = {
		/* '#', quotes and '}' are plain bytes inside a word */
		{ NGINX_SERVER, "omero.web.prefix", "/a#b\"c'd}e",
		  "    location /a#b\"c'd}e {\n" },
		{ NGINX_SERVER, "omero.web.prefix", "/a#b\"c'd}e",
		  "upstream omeroweb_abcde {" },
		{ NGINX_LOCATION, "omero.web.static_url", "/s$x/",
		  "location /s$x {\n" },
		{ NGINX_LOCATION, "omero.web.static_root", "/srv/a#b}'\"",
		  "    alias /srv/a#b}'\";\n" },
		{ NGINX_SERVER, "omero.web.application_server.host",
		  "omero-web_1.example.org",
		  "server omero-web_1.example.org:4080 fail_timeout=0;" },
		{ NGINX_LOCATION, "omero.web.application_server.host",
		  "[fe80::1.2.3.4]",
		  "proxy_pass http://[fe80::1.2.3.4]:4080;" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const char *const props[] = { refused[i].key, refused[i].value,
					      NULL };

		assert_refused(refused[i].type, props, refused[i].needle);
		/* --unsafe: what omero-web writes */
		assert_renders_with(refused[i].type, props, NGINX_ALLOW_UNSAFE,
				    "location");
	}
	for (i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
		const char *const props[] = { taken[i].key, taken[i].value,
					      NULL };

		assert_renders_with(taken[i].type, props, 0, taken[i].needle);
	}
}

/* OMERODIR goes to root, pid, logs, and (development) include. */
static void
test_nginx_token_rules_omerodir(void **state)
{
	struct nginx_opts o = { .type = NGINX_SERVER,
				.flags = NGINX_NO_FILE_CHECKS };
	struct sbuf out = SBUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	o.omerodir = "/srv/a#b}c'd\"e";
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), 0);
	assert_non_null(strstr(out.buf,
			       "root /srv/a#b}c'd\"e/etc/templates/error;"));
	o.omerodir = "/srv/o[1]";
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), 0);
	/* include would read it as a glob and silently match nothing */
	o.type = NGINX_DEVELOPMENT;
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), -1);
	assert_string_equal(e.msg, "OMERODIR '/srv/o[1]' holds '[', which is "
			    "a wildcard in nginx's include; use a path without "
			    "it (a symbolic link will do)");
	o.omerodir = "/srv/x;y";
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), -1);
	assert_non_null(strstr(e.msg, "OMERODIR '/srv/x;y' holds ';'"));
	o.omerodir = "/srv/x\ny";
	o.type = NGINX_LOCATION;
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), -1);
	assert_non_null(strstr(e.msg, "OMERODIR '/srv/x\\ny' holds '\\n'"));
	assert_null(strchr(e.msg, '\n'));
	err_clear(&e);
	sbuf_release(&out);
}

static void
test_nginx_server_names(void **state)
{
	static const char *const refused[][2] = {
		/* fuzz findings nginx #1 and #2 */
		{ "#proxy_", "starts a word with '#', which begins an nginx "
		  "comment; give host names separated by spaces" },
		{ "'#proxy_'", "starts a word with ''', which begins an nginx "
		  "quoted string" },
		{ "a\\", "--servername 'a\\' holds '\\', which escapes the "
		  "next character in nginx" },
		{ "\"x", "starts a word with '\"'" },
		{ "a #b", "starts a word with '#'" },
		{ "a }",
		  "starts a word with '}', which closes an nginx block" },
		{ "a\nb", "holds '\\n', which ends a word in nginx" },
		{ " \t ", "--servername ' \\t ' holds no name" },
		{ "a*b",
		  "holds the name 'a*b', a wildcard nginx does not take" },
		{ "*.a.*", "a wildcard nginx does not take" },
		{ "*.", "a wildcard nginx does not take" },
		{ "a..b", "holds the name 'a..b', an empty label" },
		{ ".", "not a domain after its leading '.'" },
		{ "$host",
		  "a variable, but nginx expands only $hostname there" },
		{ "~^a$", "a regular expression, which owctl does not check" },
		{ "https://a/", "a URL path" },
	};
	static const char *const taken[] = {
		"omero.example.org www.example.org", "*.example.org",
		"example.*", ".example.org", "$hostname", "$HOSTNAME", "_",
		"a#b a}b a\"b a'b", "\tlocalhost ", "éxample.org",
	};
	struct nginx_opts o = { .type = NGINX_SERVER, .omerodir = "/x" };
	struct sbuf out = SBUF_INIT, want = SBUF_INIT;
	struct err e = ERR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		o.servername = refused[i][0];
		o.flags = 0;
		if (nginx_render(&o, pairs_lookup, NULL, &out, &e) == 0)
			fail_msg("took --servername '%s'", refused[i][0]);
		assert_int_equal(e.code, ERR_WEB_NGINX_UNSAFE);
		if (!strstr(e.msg, refused[i][1]))
			fail_msg("message '%s' lacks '%s'", e.msg,
				 refused[i][1]);
		assert_true(!strncmp(e.msg, "--servername '", 14));
		assert_null(strchr(e.msg, '\n'));
		o.flags = NGINX_ALLOW_UNSAFE;
		sbuf_reset(&out);
		assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e),
				 0);
		sbuf_reset(&want);
		sbuf_addf(&want, "    server_name %s;\n", refused[i][0]);
		assert_non_null(strstr(out.buf, want.buf));
	}
	o.flags = 0;
	for (i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
		o.servername = taken[i];
		sbuf_reset(&out);
		if (nginx_render(&o, pairs_lookup, NULL, &out, &e) < 0)
			fail_msg("refused --servername '%s': %s", taken[i],
				 e.msg);
	}
	/* nginx-development has server_name _: no --servername there */
	o.type = NGINX_DEVELOPMENT;
	o.flags = NGINX_NO_FILE_CHECKS;
	o.servername = "#x";
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), 0);
	err_clear(&e);
	sbuf_release(&out);
	sbuf_release(&want);
}

/* ngx_parse_offset: at most NGX_MAX_OFF_T_VALUE (2^63-1) bytes. */
static void
test_nginx_max_body_size_limits(void **state)
{
	static const char *const taken[] = {
		"0", "9223372036854775807", "9007199254740991k",
		"8796093022207M", "8589934591g", "0001m",
	};
	static const char *const too_big[][2] = {
		{ "9223372036854775808", "9223372036854775807" },
		{ "9007199254740992k", "9007199254740991" },
		{ "8796093022208m", "8796093022207" },
		{ "8589934592G", "8589934591" },
		{ "99999999999999999999999", "9223372036854775807" },
	};
	static const char *const not_size[] = {
		"", "k", "1 m", "1kb", "-1", "1.5m", "1t", "#1",
	};
	struct nginx_opts o = { .type = NGINX_DEVELOPMENT, .omerodir = "/x",
				.flags = NGINX_NO_FILE_CHECKS };
	struct sbuf out = SBUF_INIT, want = SBUF_INIT;
	struct err e = ERR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
		o.max_body_size = taken[i];
		if (nginx_render(&o, pairs_lookup, NULL, &out, &e) < 0)
			fail_msg("refused '%s': %s", taken[i], e.msg);
	}
	for (i = 0; i < sizeof(too_big) / sizeof(too_big[0]); i++) {
		o.max_body_size = too_big[i][0];
		assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out,
					      &e), -1);
		sbuf_reset(&want);
		sbuf_addf(&want, "--max-body-size '%s' is more than nginx can "
			  "store (at most %s with that unit)", too_big[i][0],
			  too_big[i][1]);
		assert_string_equal(e.msg, want.buf);
	}
	for (i = 0; i < sizeof(not_size) / sizeof(not_size[0]); i++) {
		o.max_body_size = not_size[i];
		assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out,
					      &e), -1);
		assert_non_null(strstr(e.msg, "is not an nginx size"));
	}
	err_clear(&e);
	sbuf_release(&out);
	sbuf_release(&want);
}

/* The extra lines must read alone, or they eat the template's lines. */
static void
test_nginx_extra_config_shape(void **state)
{
	static const char *const refused[][2] = {
		{ "[\"gzip on\"]", "line 1 ends without ';'" },
		{ "[\"gzip on;\", \"location /x {\"]",
		  "line 2 opens a block it does not close" },
		{ "[\"}\"]", "line 1 closes a block it did not open" },
		{ "[\"add_header X \\\"a;\"]",
		  "line 1 leaves a quoted string open" },
		{ "[\"a on; \\\\\"]", "line 1 ends without ';'" },
		{ "[\"a \\\"b\\\"c;\"]",
		  "line 1 has a character right after a quoted string" },
		{ "[\";\"]", "line 1 has an unexpected ';'" },
		{ "[\"location /a {\", \"}\", \"}\"]",
		  "line 3 closes a block it did not open" },
	};
	static const char *const taken[] = {
		"[\"gzip on;\", \"location /x {\", \"  return 204;\", \"}\"]",
		"[\"# a comment ; { } \\\" '\", \"gzip on; # trailing\"]",
		"[\"add_header X \\\"a; b { }\\\";\"]",
		"[\"set $a ${b}c;\", \"return 200 \\\\;;\"]",
		"[\"listen 443 ssl;\", \"ssl_certificate /a.pem;\"]",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const char *const props[] = {
			"omero.web.nginx_server_extra_config", refused[i][0],
			NULL };

		assert_refused(NGINX_SERVER, props, refused[i][1]);
		assert_refused(NGINX_DEVELOPMENT, props,
			       "omero.web.nginx_server_extra_config: line");
		/* not in nginx-location's template: no concern there */
		assert_renders_with(NGINX_LOCATION, props, 0, "location");
		assert_renders_with(NGINX_SERVER, props, NGINX_ALLOW_UNSAFE,
				    "# <<<<< omero.web.nginx_server_extra_"
				    "config\n");
	}
	for (i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
		const char *const props[] = {
			"omero.web.nginx_server_extra_config", taken[i], NULL };

		assert_renders_with(NGINX_SERVER, props, 0,
				    "# omero.web.nginx_server_extra_config "
				    ">>>>>\n");
	}
}

static void
test_nginx_mime_types_check(void **state)
{
	char dir[] = "/tmp/owctl-test-nginx-XXXXXX";
	struct nginx_opts o = { .type = NGINX_DEVELOPMENT, .omerodir = dir };
	struct sbuf path = SBUF_INIT, out = SBUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), -1);
	assert_int_equal(e.code, ERR_WEB_NGINX_UNSAFE);
	sbuf_addf(&path, "'%s/etc/mime.types' does not exist", dir);
	assert_non_null(strstr(e.msg, path.buf));
	assert_non_null(strstr(e.msg, "/etc/nginx/mime.types"));
	assert_int_equal(out.len, 0);
	/* not a concern of the other types, nor with NO_FILE_CHECKS */
	o.type = NGINX_SERVER;
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), 0);
	o.type = NGINX_DEVELOPMENT;
	o.flags = NGINX_NO_FILE_CHECKS;
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), 0);
	o.flags = 0;
	sbuf_reset(&path);
	sbuf_addf(&path, "%s/etc", dir);
	assert_int_equal(fs_mkdir_p(path.buf, 0755, &e), 0);
	sbuf_adds(&path, "/mime.types");
	assert_int_equal(fs_write_atomic(path.buf, "types {}\n", 9, 0644, &e),
			 0);
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), 0);
	unlink(path.buf);
	sbuf_setlen(&path, path.len - strlen("/mime.types"));
	rmdir(path.buf);
	rmdir(dir);
	err_clear(&e);
	sbuf_release(&path);
	sbuf_release(&out);
}

static void
test_nginx_out_untouched_on_error(void **state)
{
	const char *const root[] = { "omero.web.prefix", "/", NULL };
	struct nginx_opts o = { .type = NGINX_SERVER, .omerodir = "/x" };
	struct sbuf out = SBUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	sbuf_adds(&out, "kept");
	assert_int_equal(nginx_render(&o, pairs_lookup, (void *)root, &out,
				      &e), -1);
	assert_string_equal(out.buf, "kept");
	o.http_port = 4080;
	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), -1);
	assert_string_equal(out.buf, "kept");
	err_clear(&e);
	sbuf_release(&out);
}

/* ---- nginx_check_conf against a stand-in nginx ---- */

/*
 * The stand-in copies the directory it was pointed at into $SPY, records
 * its arguments, and fails like nginx does about line 13 of the snippet;
 * with OWCTL_FAKE_NO_E it rejects -e like nginx < 1.19.5.
 */
static const char fake_nginx[] =
	"#!/bin/sh\n"
	"for a; do\n"
	"  if [ \"$a\" = -e ] && [ -n \"$OWCTL_FAKE_NO_E\" ]; then\n"
	"    echo 'nginx: invalid option: \"e\"' >&2; exit 1\n"
	"  fi\n"
	"  conf=$a\n"
	"done\n"
	"dir=${conf%/nginx.conf}\n"
	"printf '%s\\n' \"$*\" >> \"$SPY.args\"\n"
	"rm -rf \"$SPY\"; cp -R \"$dir\" \"$SPY\"\n"
	"if [ -n \"$OWCTL_FAKE_OK\" ]; then\n"
	"  echo \"nginx: configuration file $conf test is successful\" >&2\n"
	"  exit 0\n"
	"fi\n"
	"echo \"nginx: [warn] something harmless in $dir/nginx.conf:1\" >&2\n"
	"echo \"nginx: [emerg] unknown directive \\\"bogus\\\" in "
	"$dir/omero-web.conf:13\" >&2\n"
	"echo \"nginx: configuration file $conf test failed\" >&2\n"
	"exit 1\n";

struct fake {
	char dir[64];
	struct sbuf nginx, spy, args;
};

static int
fake_setup(void **state)
{
	struct fake *f = xcalloc(1, sizeof(*f));
	struct err e = ERR_INIT;

	snprintf(f->dir, sizeof(f->dir), "/tmp/owctl-test-nginx-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	sbuf_addf(&f->nginx, "%s/nginx", f->dir);
	sbuf_addf(&f->spy, "%s/spy", f->dir);
	sbuf_addf(&f->args, "%s/spy.args", f->dir);
	if (fs_write_atomic_mode(f->nginx.buf, fake_nginx,
				 sizeof(fake_nginx) - 1, 0755, &e) < 0)
		return -1;
	setenv("SPY", f->spy.buf, 1);
	/* temp dirs go here, so leftovers can be seen */
	setenv("TMPDIR", f->dir, 1);
	*state = f;
	return 0;
}

static int
fake_teardown(void **state)
{
	struct fake *f = *state;
	struct sbuf cmd = SBUF_INIT;
	int r;

	sbuf_addf(&cmd, "rm -rf '%s'", f->dir);
	r = system(cmd.buf);
	sbuf_release(&cmd);
	sbuf_release(&f->nginx);
	sbuf_release(&f->spy);
	sbuf_release(&f->args);
	free(f);
	unsetenv("TMPDIR");
	unsetenv("OWCTL_FAKE_NO_E");
	unsetenv("OWCTL_FAKE_OK");
	return r;
}

static void
read_spy(struct fake *f, const char *name, struct sbuf *out)
{
	struct sbuf p = SBUF_INIT;
	struct err e = ERR_INIT;

	sbuf_reset(out);
	sbuf_addf(&p, "%s/%s", f->spy.buf, name);
	if (fs_read_file(p.buf, 1 << 20, out, &e) < 0)
		fail_msg("%s", e.msg);
	sbuf_release(&p);
}

/* Only spy, spy.args and nginx may remain in f->dir. */
static void
assert_no_leftovers(struct fake *f)
{
	struct dirent *de;
	DIR *d = opendir(f->dir);

	assert_non_null(d);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "owctl-nginx-", 12))
			fail_msg("left behind: %s", de->d_name);
	closedir(d);
}

static void
test_nginx_check_reports_nginx_message(void **state)
{
	struct fake *f = *state;
	struct nginx_check_opts co = { .nginx = f->nginx.buf,
				       .name = "/etc/nginx/conf.d/omero.conf" };
	struct sbuf conf = SBUF_INIT, got = SBUF_INIT;
	struct err e = ERR_INIT;

	sbuf_adds(&conf, "server {\n    listen 80;\n}\n");
	assert_int_equal(nginx_check_conf(NGINX_SERVER, conf.buf, conf.len,
					  &co, &e), -1);
	assert_int_equal(e.code, ERR_WEB_NGINX_UNSAFE);
	assert_string_equal(e.msg, "nginx -t failed: [emerg] unknown "
			    "directive \"bogus\" in "
			    "/etc/nginx/conf.d/omero.conf:13");
	assert_no_leftovers(f);
	/* nginx saw the snippet unchanged, included inside http {} */
	read_spy(f, "omero-web.conf", &got);
	assert_string_equal(got.buf, conf.buf);
	read_spy(f, "nginx.conf", &got);
	assert_non_null(strstr(got.buf, "\nhttp {\n"));
	assert_non_null(strstr(got.buf, "/omero-web.conf\";\n}\n"));
	assert_non_null(strstr(got.buf, " scgi_temp_path \""));
	assert_null(strstr(got.buf, "server {"));
	/* -p and -e point into the throwaway directory */
	sbuf_reset(&got);
	assert_int_equal(fs_read_file(f->args.buf, 4096, &got, &e), 0);
	assert_non_null(strstr(got.buf, "-t -p "));
	assert_non_null(strstr(got.buf, "/error.log -c "));
	err_clear(&e);
	sbuf_release(&conf);
	sbuf_release(&got);
}

static void
test_nginx_check_location_gets_server(void **state)
{
	struct fake *f = *state;
	struct nginx_check_opts co = { .nginx = f->nginx.buf };
	struct sbuf log = SBUF_INIT, got = SBUF_INIT;
	struct err e = ERR_INIT;
	const char conf[] = "location / {\n}\n";

	co.log = &log;
	setenv("OWCTL_FAKE_OK", "1", 1);
	assert_int_equal(nginx_check_conf(NGINX_LOCATION, conf,
					  sizeof(conf) - 1, &co, &e), 0);
	unsetenv("OWCTL_FAKE_OK");
	/* the log names files relative to the throwaway directory */
	assert_string_equal(log.buf, "nginx: configuration file nginx.conf "
				     "test is successful\n");
	read_spy(f, "nginx.conf", &got);
	assert_non_null(strstr(got.buf, "server {\nlisten \"unix:"));
	assert_non_null(strstr(got.buf, "/omero-web.conf\";\n}\n}\n"));
	assert_no_leftovers(f);
	sbuf_release(&log);
	sbuf_release(&got);
}

static void
test_nginx_check_redirects_writes(void **state)
{
	struct fake *f = *state;
	struct nginx_check_opts co = { .nginx = f->nginx.buf };
	struct sbuf out = SBUF_INIT, got = SBUF_INIT;
	struct err e = ERR_INIT;
	struct nginx_opts o = { .type = NGINX_DEVELOPMENT,
				.omerodir = "/srv/omero",
				.flags = NGINX_NO_FILE_CHECKS };
	const char *p;
	size_t lines_in = 0, lines_out = 0;

	assert_int_equal(nginx_render(&o, pairs_lookup, NULL, &out, &e), 0);
	setenv("OWCTL_FAKE_OK", "1", 1);
	assert_int_equal(nginx_check_conf(NGINX_DEVELOPMENT, out.buf, out.len,
					  &co, &e), 0);
	unsetenv("OWCTL_FAKE_OK");
	read_spy(f, "omero-web.conf", &got);
	/* nothing nginx -t writes stays under OMERODIR ... */
	assert_non_null(strstr(out.buf, "/srv/omero/var/pid.nginx"));
	assert_null(strstr(got.buf, "/srv/omero/var/pid.nginx"));
	assert_null(strstr(got.buf, "/srv/omero/var/log/"));
	assert_null(strstr(got.buf, "/srv/omero/var/nginx_tmp"));
	assert_non_null(strstr(got.buf, "pid \""));
	assert_non_null(strstr(got.buf, "    access_log    \""));
	assert_non_null(strstr(got.buf, "client_body_temp_path \""));
	assert_non_null(strstr(got.buf, "http { fastcgi_temp_path \""));
	/* ... what it only reads does ... */
	assert_non_null(strstr(got.buf, "include       "
				       "/srv/omero/etc/mime.types;"));
	/* ... and line numbers are kept */
	for (p = out.buf; *p; p++)
		lines_in += *p == '\n';
	for (p = got.buf; *p; p++)
		lines_out += *p == '\n';
	assert_int_equal(lines_in, lines_out);
	read_spy(f, "nginx.conf", &got);
	assert_null(strstr(got.buf, "http"));
	assert_non_null(strstr(got.buf, "include \""));
	sbuf_release(&out);
	sbuf_release(&got);
}

static void
test_nginx_check_old_nginx_without_e(void **state)
{
	struct fake *f = *state;
	struct nginx_check_opts co = { .nginx = f->nginx.buf };
	struct sbuf got = SBUF_INIT;
	struct err e = ERR_INIT;
	const char conf[] = "server {\n}\n";

	unlink(f->args.buf);
	setenv("OWCTL_FAKE_NO_E", "1", 1);
	assert_int_equal(nginx_check_conf(NGINX_SERVER, conf,
					  sizeof(conf) - 1, &co, &e), -1);
	unsetenv("OWCTL_FAKE_NO_E");
	/* the retry without -e reached the config and its real error */
	assert_non_null(strstr(e.msg, "unknown directive"));
	assert_non_null(strstr(e.msg, "in omero-web.conf:13"));
	assert_int_equal(fs_read_file(f->args.buf, 4096, &got, &e), 0);
	assert_null(strstr(got.buf, " -e "));
	assert_no_leftovers(f);
	err_clear(&e);
	sbuf_release(&got);
}

static void
test_nginx_check_missing_nginx(void **state)
{
	struct nginx_check_opts co = { .nginx = "/owctl/no/nginx" };
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(nginx_check_conf(NGINX_SERVER, "", 0, &co, &e), -1);
	assert_int_equal(e.code, ERR_IO);
	assert_non_null(strstr(e.msg, "cannot run '/owctl/no/nginx'"));
	assert_no_leftovers(*state);
	err_clear(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nginx_vectors),
		cmocka_unit_test(test_nginx_type_names),
		cmocka_unit_test(test_nginx_default_http_ports),
		cmocka_unit_test(test_nginx_app_server_mismatch),
		cmocka_unit_test(test_nginx_deprecated_force_script_name),
		cmocka_unit_test(test_nginx_prefix_names),
		cmocka_unit_test(test_nginx_static_root_normpath),
		cmocka_unit_test(test_nginx_omerodir_verbatim),
		cmocka_unit_test(test_nginx_extra_config),
		cmocka_unit_test(test_nginx_extra_config_invalid),
		cmocka_unit_test(test_nginx_refuses_root_prefix),
		cmocka_unit_test(test_nginx_refuses_relative_prefix),
		cmocka_unit_test(test_nginx_refuses_absolute_static_url),
		cmocka_unit_test(test_nginx_static_url_forms),
		cmocka_unit_test(test_nginx_refuses_bad_port),
		cmocka_unit_test(test_nginx_refuses_bad_values),
		cmocka_unit_test(test_nginx_refuses_bad_options),
		cmocka_unit_test(test_nginx_token_rules_per_field),
		cmocka_unit_test(test_nginx_token_rules_omerodir),
		cmocka_unit_test(test_nginx_server_names),
		cmocka_unit_test(test_nginx_max_body_size_limits),
		cmocka_unit_test(test_nginx_extra_config_shape),
		cmocka_unit_test(test_nginx_mime_types_check),
		cmocka_unit_test(test_nginx_out_untouched_on_error),
		cmocka_unit_test_setup_teardown(
			test_nginx_check_reports_nginx_message, fake_setup,
			fake_teardown),
		cmocka_unit_test_setup_teardown(
			test_nginx_check_location_gets_server, fake_setup,
			fake_teardown),
		cmocka_unit_test_setup_teardown(
			test_nginx_check_redirects_writes, fake_setup,
			fake_teardown),
		cmocka_unit_test_setup_teardown(
			test_nginx_check_old_nginx_without_e, fake_setup,
			fake_teardown),
		cmocka_unit_test_setup_teardown(test_nginx_check_missing_nginx,
						fake_setup, fake_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
