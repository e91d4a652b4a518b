/*
 * Regenerating an installed nginx file in-process: read config.xml's
 * active profile, render omero-web's template, install it with the
 * three-way merge and the whole-configuration test (nginxinst.h), install
 * the maintenance page and reload nginx. `owctl web nginx install` and
 * `owctl upgrade` both use it.
 */
#ifndef OWCTL_WEB_REGEN_H
#define OWCTL_WEB_REGEN_H

#include "config/configxml.h"
#include "err.h"
#include "sbuf.h"
#include "web/maintpage.h"
#include "web/nginx.h"
#include "web/nginxinst.h"

/*
 * The active profile of $OMERODIR/etc/grid/config.xml, read the way
 * omeroweb.settings reads it: read-only, no lock, nothing created.
 * env_profile is $OMERO_CONFIG (NULL or "": the profile config.xml names,
 * else "default"). *profile is NULL when there is no file or no such
 * profile. ERR_WEB_SETTINGS when the file cannot be read or parsed.
 * Release doc afterwards, even on failure.
 */
int nginx_profile_load(const char *omerodir, const char *env_profile,
		       struct cfgdoc *doc, const struct xelem **profile,
		       struct err *e);

/* What to render. Strings are borrowed. */
struct nginx_gen {
	const char *omerodir;
	const char *env_profile;
	enum nginx_type type;
	long http;			/* 0: default */
	const char *servername;		/* NULL: default */
	const char *max_body_size;	/* NULL: default */
	unsigned flags;			/* enum nginx_flags */
	/*
	 * > 0: render with this omero.web.application_server.port instead
	 * of config.xml's (an upgrade's hand-over to a second gunicorn).
	 */
	long app_port;
};

/*
 * Render g (nginx_render over the active profile) into out. Errors are
 * nginx_render's and nginx_profile_load's; ERR_WEB_NO_OMERODIR
 * ("ERROR: OMERODIR not set") without an OMERODIR.
 */
int nginx_generate(const struct nginx_gen *g, struct sbuf *out,
		   struct err *e);

/* `owctl web nginx install PATH`'s work. Strings are borrowed. */
struct nginx_regen_opts {
	const char *omerodir;
	const char *env_profile;
	const char *path;		/* the installed file */
	/* Not given (type_given 0, http_given 0, NULL): the last run's. */
	int type_given;
	enum nginx_type type;		/* NGINX_SERVER or NGINX_LOCATION */
	int http_given;
	long http;
	const char *servername;
	const char *max_body_size;
	const char *nginx_conf;		/* absolute, or NULL */
	const char *nginx_prefix;	/* absolute, or NULL */
	const char *resolved;		/* --merged text, or NULL */
	size_t resolved_len;
	long app_port;			/* see struct nginx_gen */
	unsigned flags;			/* enum nginx_install_flags */
	int reload;			/* reload nginx when the file changed
					   (needs the test) */
	/*
	 * With reload: wait at most this long for the workers of the old
	 * configuration to exit (nginx_reload_wait); 0: do not wait.
	 */
	double drain_timeout;
};

struct nginx_regen_result {
	enum nginx_type type;		/* what was rendered */
	struct sbuf generated;		/* the rendered text */
	struct nginx_install_result inst;
	struct nginx_cmd nginx;		/* the nginx used (strings point
					   into rec or the options) */
	struct nginx_record rec;	/* the last run's record */
	int installed;			/* nginx_install succeeded */
	enum maint_page_state maint;	/* the maintenance page */
	int reloaded;			/* nginx was reloaded */
	double drained;			/* seconds the old workers took */
};

#define NGINX_REGEN_RESULT_INIT { NGINX_SERVER, SBUF_INIT, \
	NGINX_INSTALL_RESULT_INIT, { NULL, NULL, NULL, 0 }, \
	{ NULL, 0, NULL, NULL, NULL, NULL }, 0, MAINT_PAGE_SAME, 0, 0 }

/*
 * Regenerate o->path: options not given come from the record of the last
 * successful install of that file; render; nginx_install (merge, test,
 * put back on failure); unless DRY_RUN, install the maintenance page;
 * with o->reload and a changed file, reload nginx (and wait for the old
 * workers when drain_timeout > 0). r is filled as far as the run got;
 * release it with nginx_regen_result_release. Errors: nginx_generate's,
 * nginx_install's, ERR_WEB_NGINX_RELOAD.
 */
int nginx_regen(const struct nginx_regen_opts *o,
		struct nginx_regen_result *r, struct err *e);
void nginx_regen_result_release(struct nginx_regen_result *r);

#endif
