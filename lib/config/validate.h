/*
 * `owctl config validate` and `config explain`: check a profile's
 * properties the way OMERO.web's settings.py (and gunicorn, nginx, Django)
 * will read them, before a restart finds out. Results are data (findings,
 * text, JSON); nothing here prints.
 */
#ifndef OWCTL_VALIDATE_H
#define OWCTL_VALIDATE_H

#include <stddef.h>

#include <jansson.h>

#include "err.h"
#include "sbuf.h"

/* One property of the active profile, in document order. */
struct cfg_kv {
	const char *key;
	const char *value;
};

enum finding_severity {
	FINDING_ERROR,		/* OMERO.web, gunicorn or nginx fails */
	FINDING_WARNING,	/* accepted, but probably not what was meant */
	FINDING_INFO,		/* worth knowing; nothing wrong */
};

struct finding {
	enum finding_severity severity;
	char *key;		/* the property concerned (owned) */
	char *message;		/* what is wrong (owned) */
	char *hint;		/* what to do; may be NULL (owned) */
};

struct finding_list {
	struct finding *v;
	size_t n;
	size_t alloc;
};

#define FINDING_LIST_INIT { NULL, 0, 0 }

/* Free every finding and return to FINDING_LIST_INIT. Accepts NULL. */
void finding_list_release(struct finding_list *l);
/* How many findings have severity s. */
size_t finding_list_count(const struct finding_list *l,
			  enum finding_severity s);
/* "error", "warning", "info". */
const char *finding_severity_name(enum finding_severity s);

/*
 * Check the n properties in kv (a profile, document order; when a key
 * repeats, the last value counts, as in omero-py's as_map()).
 * target is the omero-web version the configuration is meant for
 * ("5.31.0"; only its release numbers are compared) or NULL when unknown;
 * omerodir is used to spell defaults in messages and may be NULL.
 * Findings are appended to out in document order, then checks that
 * involve several keys. Values of secret properties never appear in
 * messages.
 * Returns 0 (whatever was found), or -1 with ERR_BADVALUE when target is
 * not a version number.
 */
int cfg_validate(const struct cfg_kv *kv, size_t n, const char *target,
		 const char *omerodir, struct finding_list *out,
		 struct err *e);

/*
 * The findings as a new JSON object (caller owns the reference):
 * {"findings": [{"severity": "error", "key": K, "message": M,
 *   "hint": H or null}, ...], "errors": N, "warnings": N, "infos": N}
 */
json_t *finding_list_to_json(const struct finding_list *l);

#define CFG_EXPLAIN_SHOW_SECRETS 1u	/* print secret values unmasked */

/*
 * Append to out a short description of key: its parser and type, default,
 * current value (or "not set"; secrets masked as "********" unless
 * CFG_EXPLAIN_SHOW_SECRETS), where it matters, deprecation, a note, and
 * the verdict on the current value. Keys outside the schema get a short
 * text saying so. omerodir spells $OMERODIR defaults (may be NULL).
 * Always returns 0.
 */
int cfg_explain(const char *key, const char *current, const char *omerodir,
		unsigned int flags, struct sbuf *out);

/*
 * What Python makes of one config string (exposed for tests and the
 * validate-value tool):
 * cfg_py_int: int(s). 0 = accepted and *out set, 1 = accepted but outside
 *   long long (*out saturated), -1 = ValueError (why gets the reason).
 * cfg_py_json: json.loads(s). 0 = accepted, -1 = error (why set).
 * cfg_py_bool: parse_boolean(s): 1 for true, 0 for false.
 * cfg_looks_true: 1 when s reads as false although it looks like "yes"
 *   (yes, y, on, enabled, enable, ...).
 * why may be NULL.
 */
int cfg_py_int(const char *s, long long *out, struct sbuf *why);
int cfg_py_json(const char *s, struct sbuf *why);
int cfg_py_bool(const char *s);
int cfg_looks_true(const char *s);

#endif
