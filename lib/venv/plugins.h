/*
 * OMERO.web plugins: what a virtualenv holds (omero-web, omero-py, Django,
 * every distribution that depends on omero-web or provides an app named in
 * omero.web.apps) and whether a target omero-web release would still start
 * with them, judged from their Requires-Dist without running Python.
 */
#ifndef OWCTL_PLUGINS_H
#define OWCTL_PLUGINS_H

#include <jansson.h>

#include "err.h"
#include "pep440.h"
#include "strv.h"
#include "venv/distinfo.h"
#include "venv/index.h"
#include "venv/pep508.h"

/* The JSON schemas (see doc/owctl-plugins.1, JSON OUTPUT). */
#define PLUGINS_LIST_SCHEMA "owctl.plugins.list/1"
#define PLUGINS_CHECK_SCHEMA "owctl.plugins.check/1"

/* omero.web.apps of the active profile. */
struct plugin_config {
	char *path;		/* config.xml read, or NULL when none exists */
	char *profile;		/* the active profile */
	struct strv apps;	/* omero.web.apps (unset: empty) */
};

#define PLUGIN_CONFIG_INIT { NULL, NULL, STRV_INIT }

/*
 * Read omero.web.apps from OMERODIR/etc/grid/config.xml (profile as
 * `omero config` picks it, env_profile being $OMERO_CONFIG), read-only and
 * without creating anything. No OMERODIR or no config.xml: no apps and
 * path NULL. A value that is not a JSON list of strings: ERR_BADVALUE.
 */
int plugins_read_config(const char *omerodir, const char *env_profile,
			struct plugin_config *c, struct err *e);
void plugin_config_release(struct plugin_config *c);

enum plugin_app_state {
	APP_ENABLED,		/* in omero.web.apps and installed */
	APP_INSTALLED,		/* a plugin's module, not in omero.web.apps */
	APP_MISSING,		/* in omero.web.apps, not installed */
};

struct plugin_app {
	char *app;		/* as in omero.web.apps, or the module name */
	char *module;		/* its top-level module */
	enum plugin_app_state state;
	long dist;		/* index in inv->dists providing it, or -1 */
	char *module_path;	/* the module found in a site dir without
				   metadata (dist == -1), or NULL */
};

struct plugin_inventory {
	char *venv;		/* the virtualenv's directory */
	struct pyvenv pv;
	struct pep508_env env;	/* the venv's marker environment */
	struct dist_list dists;	/* every distribution, sys.path order,
				   shadowed duplicates dropped */
	struct strv warnings;	/* unreadable distributions, duplicates in
				   the venv's own site-packages */
	long omero_web, omero_py, django;	/* indexes, or -1 */
	long *plugins;		/* indexes of plugin distributions */
	size_t nplugins;
	struct plugin_app *apps;	/* enabled apps first, config order */
	size_t napps;
	/* storage for env strings */
	char *env_store[PEP508_NVARS];
};

/*
 * Build the inventory of the virtualenv at venv_dir; apps is omero.web.apps
 * (may be empty). The marker environment is the venv's Python (version
 * from pyvenv.cfg) on this machine (uname).
 */
int plugins_inventory(struct plugin_inventory *inv, const char *venv_dir,
		      const struct strv *apps, struct err *e);
void plugins_inventory_release(struct plugin_inventory *inv);

/* Does dist d require omero-web (any Requires-Dist naming it, extras and
 * markers aside)? */
int plugins_depends_on_omero_web(const struct dist *d);

/*
 * plugins list --json: { "schema": PLUGINS_LIST_SCHEMA, "venv", "python",
 * "sites", "config": {path, profile} | null, "core": {omero-web,
 * omero-py, django: version | null}, "plugins": [...], "apps": [...],
 * "warnings": [...] } (new reference).
 */
json_t *plugins_inventory_json(const struct plugin_inventory *inv,
			       const struct plugin_config *c);

enum plugin_severity { PSEV_ERROR, PSEV_WARNING, PSEV_INFO };

struct plugin_finding {
	enum plugin_severity severity;
	char *kind;		/* a stable word, see the man page */
	char *subject;		/* distribution or app */
	char *message;
	char *fix;		/* what to do, or NULL */
};

struct plugin_req_status {
	char *requirement;	/* as written */
	char *name;		/* normalised */
	char *target;		/* version it meets in the target, or NULL */
	int satisfied;		/* 1, 0, -1 unknown */
	int marker;		/* marker result: 1, 0, -1 */
};

struct plugin_status {
	long dist;		/* index in inv->dists */
	struct strv apps;	/* enabled apps it provides */
	int compatible;		/* 1, 0, -1 unknown */
	struct plugin_req_status *reqs;
	size_t nreqs;
	char *fits;		/* newest index version fitting the target */
	int upgrade;		/* fits is newer than the installed version */
};

struct plugin_report {
	char *target;		/* target omero-web version */
	const char *target_from;	/* "option", "index", "installed" */
	char *target_requires_python;
	struct strv target_requires;	/* the target omero-web's, or empty */
	int target_metadata;	/* its metadata was found */
	char *index;		/* the index used, or NULL */
	struct strv versions_keys, versions;	/* target environment */
	struct plugin_status *plugins;
	size_t nplugins;
	struct plugin_finding *findings;
	size_t nfindings, afindings;
	int will_start;
};

struct plugin_check_opts {
	const char *target;	/* omero-web version, or NULL */
	struct pkg_index *index;	/* or NULL */
	size_t max_candidates;	/* wheels read per plugin (0: 10) */
};

/*
 * Check the inventory against the target omero-web: its Requires-Python
 * and Requires-Dist (from the installed one when versions match, else its
 * wheel in the index), each plugin's Requires-Dist and Requires-Python,
 * and every enabled app. The target is o->target, else the newest final
 * omero-web in the index that accepts the venv's Python, else the installed
 * one. Fills r (release it even on failure); r->will_start is 0 when an
 * error finding was made. Fails only when nothing can be judged (a bad
 * --target is ERR_USAGE, an index that cannot be read ERR_IO).
 */
int plugins_check(const struct plugin_inventory *inv,
		  const struct plugin_check_opts *o, struct plugin_report *r,
		  struct err *e);
void plugin_report_release(struct plugin_report *r);

const char *plugin_severity_name(enum plugin_severity s);

/* plugins check --json (new reference); see the man page. */
json_t *plugin_report_json(const struct plugin_inventory *inv,
			   const struct plugin_report *r);

/*
 * The distributions `plugins upgrade` asks pip for: every plugin, by its
 * Name, appended to out. (A missing app is not guessed into a name: that
 * could install an unrelated project from a public index.)
 */
void plugins_upgrade_names(const struct plugin_inventory *inv,
			   struct strv *out);

#endif
