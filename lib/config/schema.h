/*
 * The built-in schema of OMERO.web's settings (omeroweb/settings.py): for
 * each property its mapping dict, Django setting, default, parser and where
 * it matters. The table is generated (scripts/gen-schema -> schema-data.c);
 * this module looks things up in it and computes `config append` defaults.
 */
#ifndef OWCTL_SCHEMA_H
#define OWCTL_SCHEMA_H

#include <stddef.h>

#include <jansson.h>

#include "err.h"
#include "sbuf.h"

/* Which dict of settings.py holds the property. */
enum schema_mapping {
	SCHEMA_INTERNAL,	/* INTERNAL_SETTINGS_MAPPING */
	SCHEMA_CUSTOM,		/* CUSTOM_SETTINGS_MAPPINGS */
	SCHEMA_DEPRECATED,	/* DEPRECATED_SETTINGS_MAPPINGS */
	SCHEMA_DEVELOPMENT,	/* DEVELOPMENT_SETTINGS_MAPPINGS */
};

/* The function settings.py applies to the config string. */
enum schema_parser {
	SCHEMA_P_STR,		/* str */
	SCHEMA_P_IDENTITY,	/* identity */
	SCHEMA_P_INT,		/* int */
	SCHEMA_P_JSON,		/* json.loads */
	SCHEMA_P_BOOL,		/* parse_boolean */
	SCHEMA_P_STR_SLASH,	/* str_slash: appends '/' to non-empty */
	SCHEMA_P_NORMPATH,	/* os.path.normpath */
	SCHEMA_P_SERVER_TYPE,	/* check_server_type */
	SCHEMA_P_SESSION_ENGINE, /* check_session_engine */
	SCHEMA_P_WORKER_CLASS,	/* check_worker_class */
	SCHEMA_P_TIMEZONE,	/* check_timezone (pytz.timezone) */
	SCHEMA_P_REGEX,		/* re.compile */
	SCHEMA_P_LEAVE_NONE_UNSET, /* leave_none_unset */
	SCHEMA_P_LEAVE_NONE_UNSET_INT, /* leave_none_unset_int */
	SCHEMA_P_COUNT
};

/* How to read schema_prop.default_value. */
enum schema_default_kind {
	SCHEMA_DEF_UNSET,	/* None: the Django setting is left unset
				 * (leave_none_unset) or None (identity) */
	SCHEMA_DEF_VALUE,	/* default_value is the config string */
	SCHEMA_DEF_OMERODIR,	/* default_value is a path relative to
				 * $OMERODIR ("var/static") */
	SCHEMA_DEF_CUSTOM_HOST,	/* default_value names host "localhost",
				 * which OMERO.web replaces by
				 * omero.master.host or Ice.Default.Host */
};

/* Where a property matters (omero-admin-behaviour.md section 3). */
#define SCHEMA_F_START		(1u << 0)  /* gunicorn command line */
#define SCHEMA_F_NGINX		(1u << 1)  /* generated nginx config */
#define SCHEMA_F_SESSIONS	(1u << 2)  /* session storage */
#define SCHEMA_F_SECRET		(1u << 3)  /* a secret: mask it */
#define SCHEMA_F_APPS		(1u << 4)  /* installed apps and plugins */
#define SCHEMA_F_PROXY		(1u << 5)  /* reverse proxy and HTTPS */
#define SCHEMA_F_LOGS		(1u << 6)  /* log location */
#define SCHEMA_F_WHERE_MASK	0x7fu
/* The default parses to a JSON list / object. */
#define SCHEMA_F_JSON_LIST	(1u << 8)
#define SCHEMA_F_JSON_OBJECT	(1u << 9)
/* Deprecated key that settings.py still reads when its replacement is
 * unset (the others have no effect at all). */
#define SCHEMA_F_HONOURED	(1u << 10)

struct schema_prop {
	const char *key;
	enum schema_mapping mapping;
	const char *django;		/* Django setting name */
	enum schema_parser parser;
	enum schema_default_kind default_kind;
	const char *default_value;	/* NULL for SCHEMA_DEF_UNSET */
	/* json.dumps(json.loads(default)) for json.loads properties */
	const char *default_json;
	const char *replacement;	/* deprecated keys; may be NULL */
	const char *note;		/* one line for `config explain` */
	unsigned int flags;		/* SCHEMA_F_* */
};

/* The property named key, or NULL when OMERO.web itself does not know it. */
const struct schema_prop *schema_find(const char *key);

/* Iteration in settings.py order: for (i = 0; i < schema_count(); i++). */
size_t schema_count(void);
const struct schema_prop *schema_at(size_t i);

/* "str", "int", "json.loads", ...: the parser's name in settings.py. */
const char *schema_parser_name(enum schema_parser p);
/* Short words for explain output: "INTERNAL", "CUSTOM", ... */
const char *schema_mapping_name(enum schema_mapping m);
/*
 * Append the names of the SCHEMA_F_WHERE_MASK bits in flags to out as
 * "start command, nginx, ..." (nothing when none is set).
 */
void schema_where_text(unsigned int flags, struct sbuf *out);

/*
 * The default config string of p (what the parser gets when the key is
 * unset), or NULL when the default is None. SCHEMA_DEF_OMERODIR defaults
 * are joined to omerodir the way os.path.join does ("$OMERODIR" when
 * omerodir is NULL); custom_host replaces "localhost" for
 * SCHEMA_DEF_CUSTOM_HOST (NULL keeps "localhost"). Caller frees.
 */
char *schema_default_string(const struct schema_prop *p, const char *omerodir,
			    const char *custom_host);

/*
 * Is the value of key a secret to mask on display? True for the schema's
 * SCHEMA_F_SECRET properties and, for keys owctl does not know (plugins),
 * names ending in "password" or "pass" or containing "secret".
 */
int schema_is_secret(const char *key);

/*
 * The list `omero config append/remove` starts from when an omero.web.*
 * key is not set (omero-py prefs.py get_omeroweb_default):
 * - key not in CUSTOM_SETTINGS_MAPPINGS (INTERNAL keys such as
 *   omero.web.allowed_hosts, deprecated, development and unknown keys):
 *   a new empty list;
 * - otherwise the parser applied to the default: a new list, or
 *   ERR_CFG_DEFAULT_NOT_LIST "Property KEY is not a list" when that is not
 *   a list (omero.web.caches, omero.web.debug, ...), or
 *   SCHEMA_ERR_DEFAULT_UNAVAILABLE "Cannot retrieve default value for
 *   property KEY: " when the parser rejects the default (leave_none_unset
 *   of None raises LeaveUnset, whose text is empty).
 * On success *out is a new reference the caller owns; returns 0.
 * schema_list_default_ex substitutes custom_host into the
 * omero.web.server_list default (see schema_default_string).
 */
int schema_list_default(const char *key, json_t **out, struct err *e);
int schema_list_default_ex(const char *key, const char *custom_host,
			   json_t **out, struct err *e);

/* omero-py exits with status 2 for "Cannot retrieve default value". */
#define SCHEMA_ERR_DEFAULT_UNAVAILABLE ERR_CFG_DEFAULT_UNAVAILABLE

/* The generated table (schema-data.c); use the functions above. */
extern const struct schema_prop schema_props[];
extern const size_t schema_nprops;

/*
 * Python 3 facts generated alongside (used by validate.c to mimic int()
 * and str.strip()): the code points str.isspace() accepts, ascending, and
 * the first code point of each run of ten decimal digits int() accepts.
 */
extern const unsigned int schema_py_spaces[];
extern const size_t schema_py_nspaces;
extern const unsigned int schema_py_digit_zeros[];
extern const size_t schema_py_ndigit_zeros;

#endif
