/*
 * `owctl upgrade plan`: the preflight of an OMERO.web upgrade. Looks at the
 * venv, the target release's requirements, the plugins, the configuration
 * validated against the target, disk space, permissions, the session store,
 * nginx and the service, and decides what the upgrade will do. Changes
 * nothing.
 */
#ifndef OWCTL_UPGRADE_PLAN_H
#define OWCTL_UPGRADE_PLAN_H

#include <jansson.h>

#include "err.h"

#define UPGRADE_PLAN_SCHEMA "owctl.upgrade.plan/1"

enum upgrade_clear {
	UPGRADE_CLEAR_AUTO,	/* when a release or Django needs it */
	UPGRADE_CLEAR_ALWAYS,
	UPGRADE_CLEAR_NEVER,
};

/* What the command line asked for. Strings are borrowed. */
struct upgrade_opts {
	const char *omerodir;		/* required */
	const char *env_profile;	/* $OMERO_CONFIG, or NULL */
	const char *to;			/* target omero-web version */
	const char *venv;		/* --venv, or NULL: venv_find rules */
	const char *virtual_env;	/* $VIRTUAL_ENV, or NULL */
	const char *path;		/* $PATH, or NULL */
	const char *find_links;		/* wheelhouse (offline), or NULL */
	const char *index_url;		/* private index, or NULL */
	int upgrade_plugins;		/* --plugins upgrade */
	enum upgrade_clear clear;
	const char *nginx_file;		/* installed nginx file, or NULL */
	const char *verify_url;		/* the /version URL through nginx */
	const char *owctl;		/* owctl's own path (kept in the
					   journal; no step runs it now) */
	double timeout;			/* start and health check; <=0: 60 */
	const char *new_venv;		/* --new-venv DIR (absolute), or NULL:
					   upgrade the venv in place */
	const char *from_omerodir;	/* --from-omerodir DIR, or NULL */
	int zero_downtime;		/* --zero-downtime (needs new_venv
					   and nginx_file) */
};

/*
 * Run the preflight. Returns a new JSON object (never NULL on success):
 *   { "schema", "omerodir", "config", "venv", "python", "from", "to",
 *     "target": {requires_python, django, omero_py, django_redis, note}
 *               | null,
 *     "checks": [{"name", "status": "ok"|"warning"|"error", "message"}],
 *     "errors": N, "warnings": N,
 *     "clear_sessions": bool, "clear_reason": text | null,
 *     "sessions": {"engine", "dir", "prefix", "count"} | null,
 *     "service": {"state", "pid", "url"}, "plugins_upgrade": [names],
 *     "plugins_install": [requirements for a new venv: the upgraded
 *                         plugins by name, the others pinned],
 *     "new_venv": {"dir", "base_python", "system_site_packages"} | null,
 *     "mode": "in-place" | "new-venv" | "zero-downtime",
 *     "steps": [names of the steps run will take] }
 * Fails only when nothing can be judged (no OMERODIR, no venv, a bad
 * target version): ERR_USAGE, ERR_WEB_NO_VENV, ERR_BADVALUE.
 */
json_t *upgrade_plan_make(const struct upgrade_opts *o, struct err *e);

/*
 * The venv the upgrade starts from, found as upgrade_plan_make finds it
 * (--venv, $VIRTUAL_ENV, the venv a previous upgrade switched to, PATH);
 * new string, or NULL with ERR_WEB_NO_VENV.
 */
char *upgrade_find_venv(const struct upgrade_opts *o, struct err *e);

/*
 * --zero-downtime without --new-venv: the old venv's path with "-VERSION"
 * appended (/opt/omero/web/venv -> /opt/omero/web/venv-5.31.0); new
 * string, or NULL as upgrade_find_venv.
 */
char *upgrade_default_new_venv(const struct upgrade_opts *o, struct err *e);

/* The opts as JSON (kept in the journal so `resume` can carry on). */
json_t *upgrade_opts_to_json(const struct upgrade_opts *o);

/* Back from JSON; strings point into j, which must outlive o. */
void upgrade_opts_from_json(json_t *j, struct upgrade_opts *o);

#endif
