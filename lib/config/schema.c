/*
 * Look-ups in the generated table of OMERO.web settings, and the default
 * list `config append/remove` starts from (omero-py prefs.py
 * get_omeroweb_default, omero-admin-behaviour.md section 1.7).
 */
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "sbuf.h"
#include "xalloc.h"
#include "banned.h"

static const char *const parser_names[SCHEMA_P_COUNT] = {
	[SCHEMA_P_STR] = "str",
	[SCHEMA_P_IDENTITY] = "identity",
	[SCHEMA_P_INT] = "int",
	[SCHEMA_P_JSON] = "json.loads",
	[SCHEMA_P_BOOL] = "parse_boolean",
	[SCHEMA_P_STR_SLASH] = "str_slash",
	[SCHEMA_P_NORMPATH] = "os.path.normpath",
	[SCHEMA_P_SERVER_TYPE] = "check_server_type",
	[SCHEMA_P_SESSION_ENGINE] = "check_session_engine",
	[SCHEMA_P_WORKER_CLASS] = "check_worker_class",
	[SCHEMA_P_TIMEZONE] = "check_timezone",
	[SCHEMA_P_REGEX] = "re.compile",
	[SCHEMA_P_LEAVE_NONE_UNSET] = "leave_none_unset",
	[SCHEMA_P_LEAVE_NONE_UNSET_INT] = "leave_none_unset_int",
};

static const struct {
	unsigned int flag;
	const char *text;
} where_names[] = {
	{ SCHEMA_F_START, "start command" },
	{ SCHEMA_F_NGINX, "nginx" },
	{ SCHEMA_F_SESSIONS, "sessions" },
	{ SCHEMA_F_SECRET, "secret" },
	{ SCHEMA_F_APPS, "apps" },
	{ SCHEMA_F_PROXY, "proxy" },
	{ SCHEMA_F_LOGS, "logs" },
};

const struct schema_prop *
schema_find(const char *key)
{
	size_t i;

	if (!key)
		return NULL;
	for (i = 0; i < schema_nprops; i++)
		if (!strcmp(schema_props[i].key, key))
			return &schema_props[i];
	return NULL;
}

size_t
schema_count(void)
{
	return schema_nprops;
}

const struct schema_prop *
schema_at(size_t i)
{
	return i < schema_nprops ? &schema_props[i] : NULL;
}

const char *
schema_parser_name(enum schema_parser p)
{
	if ((unsigned int)p >= SCHEMA_P_COUNT)
		return "?";
	return parser_names[p];
}

const char *
schema_mapping_name(enum schema_mapping m)
{
	switch (m) {
	case SCHEMA_INTERNAL:
		return "INTERNAL";
	case SCHEMA_CUSTOM:
		return "CUSTOM";
	case SCHEMA_DEPRECATED:
		return "DEPRECATED";
	case SCHEMA_DEVELOPMENT:
		return "DEVELOPMENT";
	}
	return "?";
}

void
schema_where_text(unsigned int flags, struct sbuf *out)
{
	size_t i;
	int first = 1;

	for (i = 0; i < sizeof(where_names) / sizeof(where_names[0]); i++) {
		if (!(flags & where_names[i].flag))
			continue;
		if (!first)
			sbuf_adds(out, ", ");
		sbuf_adds(out, where_names[i].text);
		first = 0;
	}
}

/* Replace the first "localhost" of text by host, as '...' % CUSTOM_HOST
 * did with "%s" (raw text, no JSON escaping). */
static char *
with_host(const char *text, const char *host)
{
	struct sbuf sb = SBUF_INIT;
	const char *at = strstr(text, "localhost");

	if (!at || !host)
		return xstrdup(text);
	sbuf_add(&sb, text, at - text);
	sbuf_adds(&sb, host);
	sbuf_adds(&sb, at + strlen("localhost"));
	return sbuf_detach(&sb, NULL);
}

char *
schema_default_string(const struct schema_prop *p, const char *omerodir,
		      const char *custom_host)
{
	struct sbuf sb = SBUF_INIT;
	size_t len;

	switch (p->default_kind) {
	case SCHEMA_DEF_UNSET:
		return NULL;
	case SCHEMA_DEF_VALUE:
		return xstrdup(p->default_value);
	case SCHEMA_DEF_CUSTOM_HOST:
		return with_host(p->default_value, custom_host);
	case SCHEMA_DEF_OMERODIR:
		/* os.path.join: no separator after an empty or '/'-ended
		 * head */
		if (!omerodir)
			omerodir = "$OMERODIR";
		sbuf_adds(&sb, omerodir);
		len = strlen(omerodir);
		if (len && omerodir[len - 1] != '/')
			sbuf_addch(&sb, '/');
		sbuf_adds(&sb, p->default_value);
		return sbuf_detach(&sb, NULL);
	}
	return NULL;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

int
schema_is_secret(const char *key)
{
	const struct schema_prop *p = schema_find(key);

	if (p)
		return !!(p->flags & SCHEMA_F_SECRET);
	return ends_with(key, "password") || ends_with(key, "pass") ||
	       strstr(key, "secret") != NULL;
}

int
schema_list_default_ex(const char *key, const char *custom_host,
		       json_t **out, struct err *e)
{
	const struct schema_prop *p = schema_find(key);
	json_error_t jerr;
	json_t *v;
	char *text;

	*out = NULL;
	if (!p || p->mapping != SCHEMA_CUSTOM) {
		*out = json_array();
		return 0;
	}
	/* settings.py's parser applied to the default value */
	if (p->parser == SCHEMA_P_LEAVE_NONE_UNSET &&
	    p->default_kind == SCHEMA_DEF_UNSET)
		return err_set(e, SCHEMA_ERR_DEFAULT_UNAVAILABLE,
			       "Cannot retrieve default value for property "
			       "%s: ", key);
	if (p->parser != SCHEMA_P_JSON)
		return err_set(e, ERR_CFG_DEFAULT_NOT_LIST,
			       "Property %s is not a list", key);
	text = with_host(p->default_value, custom_host);
	v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	free(text);
	if (!v)
		return err_set(e, SCHEMA_ERR_DEFAULT_UNAVAILABLE,
			       "Cannot retrieve default value for property "
			       "%s: %s", key, jerr.text);
	if (!json_is_array(v)) {
		json_decref(v);
		return err_set(e, ERR_CFG_DEFAULT_NOT_LIST,
			       "Property %s is not a list", key);
	}
	*out = v;
	return 0;
}

int
schema_list_default(const char *key, json_t **out, struct err *e)
{
	return schema_list_default_ex(key, NULL, out, e);
}
