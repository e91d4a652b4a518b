/* The built-in table of OMERO.web settings and the `config append`
 * defaults, checked against omero-py's golden vector 07_append_remove. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/schema.h"
#include "fs.h"
#include "banned.h"

static void
test_schema_find(void **state)
{
	const struct schema_prop *p;
	size_t i, custom = 0, deprecated = 0;

	(void)state;
	assert_int_equal(schema_count(), 117);
	p = schema_find("omero.web.application_server.port");
	assert_non_null(p);
	assert_int_equal(p->mapping, SCHEMA_CUSTOM);
	assert_int_equal(p->parser, SCHEMA_P_INT);
	assert_string_equal(p->django, "APPLICATION_SERVER_PORT");
	assert_int_equal(p->default_kind, SCHEMA_DEF_VALUE);
	assert_string_equal(p->default_value, "4080");
	assert_int_equal(p->flags & SCHEMA_F_WHERE_MASK,
			 SCHEMA_F_START | SCHEMA_F_NGINX);
	assert_null(schema_find("omero.web.no_such_thing"));
	assert_null(schema_find("omero.web.application_server.port "));
	assert_null(schema_find(NULL));
	assert_null(schema_at(schema_count()));
	for (i = 0; i < schema_count(); i++) {
		p = schema_at(i);
		assert_ptr_equal(schema_find(p->key), p);
		custom += p->mapping == SCHEMA_CUSTOM;
		deprecated += p->mapping == SCHEMA_DEPRECATED;
		/* every json.loads property has its re-serialised default */
		if (p->parser == SCHEMA_P_JSON)
			assert_non_null(p->default_json);
		else
			assert_null(p->default_json);
	}
	assert_int_equal(custom, 91);
	assert_int_equal(deprecated, 11);
	/* settings.py order: first and last rows */
	assert_string_equal(schema_at(0)->key, "omero.qa.feedback");
	assert_string_equal(schema_at(schema_count() - 1)->key,
			    "omero.web.wsgi_threads");
}

static void
test_schema_defaults(void **state)
{
	const struct schema_prop *p;
	char *s;

	(void)state;
	p = schema_find("omero.web.static_root");
	assert_int_equal(p->default_kind, SCHEMA_DEF_OMERODIR);
	assert_int_equal(p->parser, SCHEMA_P_NORMPATH);
	s = schema_default_string(p, "/opt/omero/web/OMERO.web", NULL);
	assert_string_equal(s, "/opt/omero/web/OMERO.web/var/static");
	free(s);
	/* os.path.join adds no second '/' (docker's OMERODIR has one) */
	s = schema_default_string(p, "/opt/omero/web/OMERO.web/", NULL);
	assert_string_equal(s, "/opt/omero/web/OMERO.web/var/static");
	free(s);
	s = schema_default_string(p, NULL, NULL);
	assert_string_equal(s, "$OMERODIR/var/static");
	free(s);
	s = schema_default_string(schema_find("omero.web.logdir"), "/o", NULL);
	assert_string_equal(s, "/o/var/log");
	free(s);

	p = schema_find("omero.web.server_list");
	assert_int_equal(p->default_kind, SCHEMA_DEF_CUSTOM_HOST);
	s = schema_default_string(p, NULL, NULL);
	assert_string_equal(s, "[[\"localhost\", 4064, \"omero\"]]");
	free(s);
	s = schema_default_string(p, NULL, "omero.example.org");
	assert_string_equal(s, "[[\"omero.example.org\", 4064, \"omero\"]]");
	free(s);

	/* None defaults, constants and arithmetic of settings.py */
	assert_null(schema_default_string(schema_find("omero.web.prefix"),
					  NULL, NULL));
	assert_int_equal(schema_find("omero.web.secret_key")->default_kind,
			 SCHEMA_DEF_UNSET);
	assert_string_equal(
		schema_find("omero.web.application_server")->default_value,
		"wsgi-tcp");
	assert_string_equal(
		schema_find("omero.web.session_engine")->default_value,
		"django.contrib.sessions.backends.file");
	assert_string_equal(
		schema_find("omero.web.public.cache.timeout")->default_value,
		"86400");
	assert_string_equal(schema_find(
		"omero.web.maximum_multifile_download_size")->default_value,
		"1073741824");
	assert_string_equal(
		schema_find("omero.web.max_table_slice_size")->default_value,
		"1000000");
	assert_string_equal(
		schema_find("omero.web.public.url_filter")->default_value,
		"(?#This regular expression matches nothing)a^");
	/* commented-out entries of the source are not part of the default */
	assert_string_equal(
		schema_find("omero.web.ui.center_plugins")->default_json, "[]");
	assert_null(strstr(
		schema_find("omero.web.ui.right_plugins")->default_json,
		"ROIs"));
	assert_non_null(strstr(
		schema_find("omero.web.ui.right_plugins")->default_json,
		"\"preview_tab\"]]"));
	assert_string_equal(schema_find("omero.web.caches")->default_json,
			    "{\"default\": {\"BACKEND\": \"django.core.cache."
			    "backends.dummy.DummyCache\"}}");
}

static void
test_schema_deprecated(void **state)
{
	const struct schema_prop *p;

	(void)state;
	p = schema_find("omero.web.force_script_name");
	assert_int_equal(p->mapping, SCHEMA_DEPRECATED);
	assert_string_equal(p->replacement, "omero.web.prefix");
	assert_true(p->flags & SCHEMA_F_HONOURED);
	p = schema_find("omero.web.email_host");
	assert_string_equal(p->replacement, "omero.mail.host");
	assert_false(p->flags & SCHEMA_F_HONOURED);
	assert_string_equal(
		schema_find("omero.web.viewer.initial_zoom_level")->replacement,
		"omero.client.viewer.initial_zoom_level");
	assert_null(
		schema_find("omero.web.send_broken_link_emails")->replacement);
	assert_null(schema_find("omero.web.prefix")->replacement);
	assert_int_equal(schema_find("omero.web.wsgi_threads")->mapping,
			 SCHEMA_DEVELOPMENT);
}

static void
test_schema_secret_and_where(void **state)
{
	struct sbuf sb = SBUF_INIT;

	(void)state;
	assert_true(schema_is_secret("omero.web.secret_key"));
	assert_true(schema_is_secret("omero.web.public.password"));
	assert_true(schema_is_secret("omero.mail.password"));
	assert_true(schema_is_secret("omero.web.email_host_password"));
	assert_false(schema_is_secret("omero.web.public.user"));
	assert_false(schema_is_secret("omero.web.public.cache.key"));
	/* plugins' keys, by name */
	assert_true(schema_is_secret("omero.web.forms.priv.password"));
	assert_true(schema_is_secret("omero.web.myapp.client_secret"));
	assert_false(schema_is_secret("omero.web.myapp.url"));

	schema_where_text(schema_find("omero.web.secret_key")->flags, &sb);
	assert_string_equal(sb.buf, "secret");
	sbuf_reset(&sb);
	schema_where_text(
		schema_find("omero.web.application_server.host")->flags, &sb);
	assert_string_equal(sb.buf, "start command, nginx");
	sbuf_reset(&sb);
	schema_where_text(schema_find("omero.web.page_size")->flags, &sb);
	assert_string_equal(sb.buf, "");
	sbuf_release(&sb);
	assert_string_equal(schema_parser_name(SCHEMA_P_BOOL),
			    "parse_boolean");
	assert_string_equal(schema_mapping_name(SCHEMA_INTERNAL), "INTERNAL");
}

static void
expect_list(const char *key, size_t n)
{
	struct err e = ERR_INIT;
	json_t *v = NULL;

	assert_int_equal(schema_list_default(key, &v, &e), 0);
	assert_true(json_is_array(v));
	assert_int_equal(json_array_size(v), n);
	json_decref(v);
}

static void
expect_error(const char *key, enum err_code code, const char *msg)
{
	struct err e = ERR_INIT;
	json_t *v = (json_t *)1;

	assert_int_equal(schema_list_default(key, &v, &e), -1);
	assert_null(v);
	assert_int_equal(e.code, code);
	assert_string_equal(e.msg, msg);
	err_clear(&e);
}

static void
test_schema_list_default(void **state)
{
	(void)state;
	expect_list("omero.web.ui.top_links", 3);
	expect_list("omero.web.middleware", 6);
	expect_list("omero.web.ui.metadata_panes", 7);
	expect_list("omero.web.ui.right_plugins", 2);
	expect_list("omero.web.open_with", 1);
	expect_list("omero.web.server_list", 1);
	expect_list("omero.web.apps", 0);
	/* not in CUSTOM_SETTINGS_MAPPINGS: start from [] */
	expect_list("omero.web.allowed_hosts", 0);
	expect_list("omero.web.system_checks", 0);
	expect_list("omero.web.wsgi_worker_class", 0);
	expect_list("omero.web.email_host", 0);
	expect_list("omero.web.figure.some_plugin_list", 0);
	/* parsed default is not a list */
	expect_error("omero.web.caches", ERR_CFG_DEFAULT_NOT_LIST,
		     "Property omero.web.caches is not a list");
	expect_error("omero.web.debug", ERR_CFG_DEFAULT_NOT_LIST,
		     "Property omero.web.debug is not a list");
	expect_error("omero.web.application_server.port",
		     ERR_CFG_DEFAULT_NOT_LIST,
		     "Property omero.web.application_server.port is not a "
		     "list");
	expect_error("omero.web.sharing.twitter", ERR_CFG_DEFAULT_NOT_LIST,
		     "Property omero.web.sharing.twitter is not a list");
	expect_error("omero.web.index_template", ERR_CFG_DEFAULT_NOT_LIST,
		     "Property omero.web.index_template is not a list");
	/* leave_none_unset(None) raises LeaveUnset, whose str() is "" */
	expect_error("omero.web.prefix", SCHEMA_ERR_DEFAULT_UNAVAILABLE,
		     "Cannot retrieve default value for property "
		     "omero.web.prefix: ");
}

static void
test_schema_list_default_custom_host(void **state)
{
	struct err e = ERR_INIT;
	json_t *v = NULL;

	(void)state;
	assert_int_equal(schema_list_default_ex("omero.web.server_list",
						"omero.example.org", &v, &e),
			 0);
	assert_string_equal(json_string_value(json_array_get(
		json_array_get(v, 0), 0)), "omero.example.org");
	assert_int_equal(json_integer_value(json_array_get(
		json_array_get(v, 0), 1)), 4064);
	json_decref(v);
}

/* ---- vector 07_append_remove ----------------------------------------- */

static json_t *
load_steps(void)
{
	const char *shared = getenv("SHARED_DIR");
	struct sbuf path = SBUF_INIT;
	json_error_t jerr;
	json_t *steps;

	sbuf_addf(&path, "%s/vectors/config-xml/scenarios/07_append_remove/"
		  "steps.json", shared ? shared : "../shared");
	steps = json_load_file(path.buf, 0, &jerr);
	if (!steps)
		fail_msg("cannot read %s: %s", path.buf, jerr.text);
	sbuf_release(&path);
	return steps;
}

/* argv of a step as "a b c" for matching */
static int
argv_is(json_t *step, const char *const *want)
{
	json_t *argv = json_object_get(step, "argv");
	size_t i;

	for (i = 0; want[i]; i++)
		if (!json_is_string(json_array_get(argv, i)) ||
		    strcmp(json_string_value(json_array_get(argv, i)),
			   want[i]))
			return 0;
	return json_array_size(argv) == i;
}

/* The value printed for key by the final `config get`. */
static char *
final_value(json_t *steps, const char *key)
{
	static const char *const get[] = { "config", "get", NULL };
	size_t i, klen = strlen(key);
	json_t *step;

	json_array_foreach(steps, i, step) {
		const char *out, *line;

		if (!argv_is(step, get))
			continue;
		out = json_string_value(json_object_get(step, "stdout"));
		for (line = out; line && *line;) {
			const char *nl = strchr(line, '\n');

			if (!strncmp(line, key, klen) && line[klen] == '=')
				return strndup(line + klen + 1,
					       nl - line - klen - 1);
			line = nl ? nl + 1 : NULL;
		}
	}
	fail_msg("no final value for %s", key);
	return NULL;
}

/* The VALUE argument of the step `config VERB [opts] KEY VALUE`. */
static json_t *
step_value(json_t *steps, const char *verb, const char *key)
{
	size_t i, n;
	json_t *step, *argv;

	json_array_foreach(steps, i, step) {
		argv = json_object_get(step, "argv");
		n = json_array_size(argv);
		if (n < 4 || strcmp(json_string_value(json_array_get(argv, 1)),
				    verb) ||
		    strcmp(json_string_value(json_array_get(argv, n - 2)), key))
			continue;
		return json_loads(json_string_value(json_array_get(argv,
								   n - 1)),
				  JSON_DECODE_ANY, NULL);
	}
	fail_msg("no %s step for %s", verb, key);
	return NULL;
}

/* default + appended value, serialised as Python's json.dumps does for
 * these ASCII values (jansson's ", " and ": " separators) */
static void
check_appended(json_t *steps, const char *key)
{
	struct err e = ERR_INIT;
	json_t *list = NULL;
	char *got, *want;

	assert_int_equal(schema_list_default(key, &list, &e), 0);
	json_array_append_new(list, step_value(steps, "append", key));
	got = json_dumps(list, JSON_ENSURE_ASCII);
	want = final_value(steps, key);
	assert_string_equal(got, want);
	free(got);
	free(want);
	json_decref(list);
}

static void
test_schema_vector_07(void **state)
{
	json_t *steps = load_steps();
	struct err e = ERR_INIT;
	json_t *list = NULL, *removed;
	char *want;

	(void)state;
	check_appended(steps, "omero.web.ui.top_links");
	check_appended(steps, "omero.web.middleware");
	check_appended(steps, "omero.web.allowed_hosts");

	/* `remove` of the only default entry of open_with leaves [] */
	assert_int_equal(schema_list_default("omero.web.open_with", &list,
					     &e), 0);
	removed = step_value(steps, "remove", "omero.web.open_with");
	assert_true(json_equal(json_array_get(list, 0), removed));
	json_array_remove(list, 0);
	want = final_value(steps, "omero.web.open_with");
	assert_string_equal(want, "[]");
	assert_int_equal(json_array_size(list), 0);
	free(want);
	json_decref(removed);
	json_decref(list);
	json_decref(steps);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_find),
		cmocka_unit_test(test_schema_defaults),
		cmocka_unit_test(test_schema_deprecated),
		cmocka_unit_test(test_schema_secret_and_where),
		cmocka_unit_test(test_schema_list_default),
		cmocka_unit_test(test_schema_list_default_custom_host),
		cmocka_unit_test(test_schema_vector_07),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
