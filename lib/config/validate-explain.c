/*
 * `config explain`: what a property is (parser, type, default, Django
 * setting, deprecation) and the verdict of the value checks on its
 * current value.
 */
#include <stdlib.h>
#include <string.h>

#include "validate-int.h"
#include "banned.h"

static const char *
type_text(const struct schema_prop *p)
{
	switch (p->parser) {
	case SCHEMA_P_STR:
		return "string";
	case SCHEMA_P_IDENTITY:
		return "string, used as is";
	case SCHEMA_P_INT:
		return "integer";
	case SCHEMA_P_JSON:
		if (p->flags & SCHEMA_F_JSON_LIST)
			return "JSON list";
		if (p->flags & SCHEMA_F_JSON_OBJECT)
			return "JSON object";
		return "JSON";
	case SCHEMA_P_BOOL:
		return "boolean: true, 1 or t (any case); anything else is "
		       "false";
	case SCHEMA_P_STR_SLASH:
		return "URL path; a '/' is appended";
	case SCHEMA_P_NORMPATH:
		return "directory path, normalised";
	case SCHEMA_P_SERVER_TYPE:
		return "one of wsgi-tcp, wsgi, development";
	case SCHEMA_P_SESSION_ENGINE:
		return "Django session engine: django.contrib.sessions."
		       "backends.{file,cache,db,cached_db}";
	case SCHEMA_P_WORKER_CLASS:
		return "gunicorn worker class: sync or gevent";
	case SCHEMA_P_TIMEZONE:
		return "time zone name (tz database)";
	case SCHEMA_P_REGEX:
		return "Python regular expression";
	case SCHEMA_P_LEAVE_NONE_UNSET:
		return "string; unset leaves Django's default";
	case SCHEMA_P_LEAVE_NONE_UNSET_INT:
		return "integer; unset leaves Django's default";
	case SCHEMA_P_COUNT:
		break;
	}
	return "?";
}

int
cfg_explain(const char *key, const char *current, const char *omerodir,
	    unsigned int flags, struct sbuf *out)
{
	const struct schema_prop *p = schema_find(key);
	struct finding_list fl = FINDING_LIST_INIT;
	struct cfg_kv kv = { key, current };
	struct vctx c = { &kv, 1, 0, { 0, 0, 0 }, omerodir, &fl, 1 };
	char *def;
	size_t i;

	sbuf_addf(out, "%s\n", key);
	if (!p) {
		sbuf_addf(out, "  not a setting of OMERO.web itself%s\n",
			  strncmp(key, "omero.web.", 10) ? "" :
			  " (an app in omero.web.apps may read it)");
	} else {
		sbuf_addf(out, "  type: %s (%s)\n", type_text(p),
			  schema_parser_name(p->parser));
		def = schema_default_string(p, omerodir, NULL);
		if (def)
			sbuf_addf(out, "  default: %s\n", def);
		else
			sbuf_addf(out, "  default: none (%s)\n",
				  p->parser == SCHEMA_P_IDENTITY ?
				  "Django gets None" :
				  "the Django setting is left unset");
		free(def);
		sbuf_addf(out, "  Django setting: %s (%s)\n", p->django,
			  schema_mapping_name(p->mapping));
	}
	if (!current)
		sbuf_adds(out, "  current: not set\n");
	else if (schema_is_secret(key) && !(flags & CFG_EXPLAIN_SHOW_SECRETS))
		sbuf_adds(out, "  current: ******** (secret)\n");
	else
		sbuf_addf(out, "  current: %s\n", current);
	if (p && (p->flags & SCHEMA_F_WHERE_MASK)) {
		sbuf_adds(out, "  matters for: ");
		schema_where_text(p->flags, out);
		sbuf_addch(out, '\n');
	}
	if (p && p->mapping == SCHEMA_DEPRECATED) {
		if (p->replacement)
			sbuf_addf(out, "  deprecated: use %s%s\n",
				  p->replacement,
				  (p->flags & SCHEMA_F_HONOURED) ?
				  " (still read while that is unset)" :
				  " (this key has no effect)");
		else
			sbuf_adds(out, "  deprecated: no effect\n");
	}
	if (p && p->note)
		sbuf_addf(out, "  note: %s\n", p->note);
	if (current && p) {
		vc_validate_all(&c);
		for (i = 0; i < fl.n; i++)
			sbuf_addf(out, "  %s: %s\n",
				  finding_severity_name(fl.v[i].severity),
				  fl.v[i].message);
		if (!finding_list_count(&fl, FINDING_ERROR))
			sbuf_adds(out, "  value: accepted by OMERO.web\n");
	}
	finding_list_release(&fl);
	return 0;
}
