/*
 * The preflight of `owctl upgrade`: every check the upgrade guide leaves to
 * the administrator, made before anything changes, and the decisions the
 * run will follow (sessions to clear, plugins to upgrade, steps).
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "config/validate.h"
#include "sbuf.h"
#include "sessions/sfile.h"
#include "sessions/sredis.h"
#include "sessions/store.h"
#include "upgrade/compat.h"
#include "upgrade/plan.h"
#include "venv/distinfo.h"
#include "venv/index.h"
#include "venv/plugins.h"
#include "venv/venv.h"
#include "web/service.h"
#include "xalloc.h"
#include "banned.h"

/* Below this the install may not fit (wheels, compiled files, backups). */
#define MIN_FREE_BYTES (200ull << 20)

struct pl {
	json_t *plan;
	json_t *checks;
	int errors, warnings;
};

static void __attribute__((format(printf, 4, 5)))
check(struct pl *p, const char *name, const char *status, const char *fmt,
      ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	json_array_append_new(p->checks, json_pack("{s:s, s:s, s:s}", "name",
		name, "status", status, "message", sb.buf));
	if (!strcmp(status, "error"))
		p->errors++;
	else if (!strcmp(status, "warning"))
		p->warnings++;
	sbuf_release(&sb);
}

static json_t *
jstr_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static void
check_target(struct pl *p, const char *from, const char *to,
	     const struct venv *v, const struct compat_release **rto)
{
	struct err e = ERR_INIT;
	char py[32];
	int c, ok;

	*rto = compat_lookup(to, &e);
	if (!*rto) {
		check(p, "target", "warning", "%s; its requirements are not "
		      "checked", e.msg);
		json_object_set_new(p->plan, "target", json_null());
		err_clear(&e);
	} else {
		json_object_set_new(p->plan, "target", json_pack(
			"{s:s, s:s, s:s, s:o, s:o}", "requires_python",
			(*rto)->requires_python, "django", (*rto)->django,
			"omero_py", (*rto)->omero_py, "django_redis",
			jstr_or_null((*rto)->django_redis), "note",
			jstr_or_null((*rto)->note)));
	}
	if (!from) {
		check(p, "versions", "error", "no omero-web is installed in "
		      "'%s'", v->dir);
		return;
	}
	c = compat_cmp(from, to, NULL);
	if (c == 0)
		check(p, "versions", "error", "omero-web %s is already "
		      "installed", to);
	else if (c > 0)
		check(p, "versions", "error", "omero-web %s is newer than "
		      "%s: owctl upgrade does not downgrade (use 'owctl "
		      "upgrade rollback' after an upgrade)", from, to);
	else
		check(p, "versions", "ok", "omero-web %s -> %s", from, to);
	if (!*rto)
		return;
	if (!v->py_major) {
		check(p, "python", "warning", "the venv's Python version is "
		      "unknown (no version in pyvenv.cfg)");
		return;
	}
	snprintf(py, sizeof(py), "%d.%d", v->py_major, v->py_minor);
	ok = compat_python_ok(*rto, py, NULL);
	if (ok == 1)
		check(p, "python", "ok", "Python %s meets omero-web %s's "
		      "Requires-Python '%s'", py, to, (*rto)->requires_python);
	else
		check(p, "python", "error", "Python %s does not meet "
		      "omero-web %s's Requires-Python '%s': use --new-venv "
		      "with a newer Python", py, to, (*rto)->requires_python);
}

static void
check_config(struct pl *p, const struct web_site *w, const char *to)
{
	struct finding_list fl = FINDING_LIST_INIT;
	struct err e = ERR_INIT;
	size_t nerr = 0;

	if (!w->have_config) {
		check(p, "config", "warning", "no config.xml in '%s': "
		      "OMERO.web runs on defaults", w->omerodir);
		return;
	}
	if (web_validate(w, to, &fl, &e) < 0) {
		check(p, "config", "warning", "cannot validate for %s: %s", to,
		      e.msg);
		err_clear(&e);
		return;
	}
	for (size_t i = 0; i < fl.n; i++) {
		if (fl.v[i].severity != FINDING_ERROR)
			continue;
		nerr++;
		check(p, "config", "error", "'%s': %s%s%s%s", fl.v[i].key,
		      fl.v[i].message, fl.v[i].hint ? " (" : "",
		      fl.v[i].hint ? fl.v[i].hint : "",
		      fl.v[i].hint ? ")" : "");
	}
	if (!nerr)
		check(p, "config", "ok", "'%s' is valid for omero-web %s "
		      "(%zu warnings)", w->config_path, to,
		      finding_list_count(&fl, FINDING_WARNING));
	finding_list_release(&fl);
}

static void
check_plugins(struct pl *p, const struct upgrade_opts *o,
	      const struct venv *v)
{
	struct plugin_config pc = PLUGIN_CONFIG_INIT;
	struct plugin_inventory inv;
	struct plugin_report r;
	struct plugin_check_opts co = { 0 };
	struct pkg_index ix = PKG_INDEX_INIT;
	struct err e = ERR_INIT;
	json_t *up = json_array(), *inst = json_array();
	const char *where = o->find_links ? o->find_links : o->index_url;
	int have_inv = 0, have_rep = 0, bad = 0;

	memset(&inv, 0, sizeof(inv));
	memset(&r, 0, sizeof(r));
	json_object_set_new(p->plan, "plugins_upgrade", up);
	json_object_set_new(p->plan, "plugins_install", inst);
	if (plugins_read_config(o->omerodir, o->env_profile, &pc, &e) < 0)
		goto fail;
	have_inv = 1;
	if (plugins_inventory(&inv, v->dir, &pc.apps, &e) < 0)
		goto fail;
	if (where && pkg_index_open(&ix, where, &e) < 0)
		goto fail;
	co.target = o->to;
	co.index = where ? &ix : NULL;
	have_rep = 1;
	if (plugins_check(&inv, &co, &r, &e) < 0)
		goto fail;
	for (size_t i = 0; i < r.nplugins; i++) {
		const struct plugin_status *ps = &r.plugins[i];
		const struct dist *d = &inv.dists.v[ps->dist];

		if (ps->compatible == 0 && o->upgrade_plugins && ps->fits) {
			check(p, "plugins", "ok", "plugin %s %s does not fit "
			      "omero-web %s; %s will be installed", d->name,
			      d->version, o->to, ps->fits);
			json_array_append_new(up, json_string(d->name));
		} else if (ps->compatible == 0) {
			bad++;
			check(p, "plugins", "error", "plugin %s %s does not "
			      "fit omero-web %s%s%s%s", d->name, d->version,
			      o->to, ps->fits ? ": version " : "",
			      ps->fits ? ps->fits : "", ps->fits ?
			      " fits (--plugins upgrade)" : "");
		} else if (ps->upgrade && o->upgrade_plugins) {
			json_array_append_new(up, json_string(d->name));
		}
		/* A new venv gets every plugin: upgraded, or as it was. */
		if (!d->name)
			continue;
		if (ps->compatible == 0 || (ps->upgrade && o->upgrade_plugins))
			json_array_append_new(inst, json_string(d->name));
		else if (d->version)
			json_array_append_new(inst, json_sprintf("%s==%s",
				d->name, d->version));
	}
	for (size_t i = 0; i < r.nfindings; i++) {
		const struct plugin_finding *f = &r.findings[i];

		int seen = 0;

		if (f->severity != PSEV_ERROR)
			continue;
		/* Plugins judged above are not reported twice. */
		for (size_t k = 0; k < r.nplugins && !seen; k++)
			seen = r.plugins[k].compatible == 0 && f->subject &&
			       inv.dists.v[r.plugins[k].dist].name &&
			       !strcmp(f->subject,
				       inv.dists.v[r.plugins[k].dist].name);
		if (seen)
			continue;
		bad++;
		check(p, "plugins", "error", "%s: %s", f->subject, f->message);
	}
	if (!bad && !json_array_size(up))
		check(p, "plugins", "ok", "%zu plugin(s) fit omero-web %s",
		      r.nplugins, o->to);
	goto out;
fail:
	check(p, "plugins", "warning", "plugins not checked: %s", e.msg);
	err_clear(&e);
out:
	if (have_rep)
		plugin_report_release(&r);
	if (have_inv)
		plugins_inventory_release(&inv);
	pkg_index_close(&ix);
	plugin_config_release(&pc);
}

static void
check_space_perms(struct pl *p, const struct upgrade_opts *o,
		  const struct venv *v, const struct web_site *w)
{
	struct statvfs sv;
	struct sbuf var = SBUF_INIT;

	if (statvfs(v->dir, &sv) == 0) {
		unsigned long long free_b = (unsigned long long)sv.f_bavail *
					    sv.f_frsize;

		check(p, "disk", free_b < MIN_FREE_BYTES ? "error" : "ok",
		      "%llu MiB free for '%s' (%llu MiB needed)",
		      free_b >> 20, v->dir, MIN_FREE_BYTES >> 20);
	}
	sbuf_addf(&var, "%s/var", o->omerodir);
	if (access(v->site_packages, W_OK) != 0)
		check(p, "permissions", "error", "cannot write to '%s': run "
		      "as the venv's owner", v->site_packages);
	else if (access(var.buf, W_OK) != 0)
		check(p, "permissions", "error", "cannot write to '%s' "
		      "(backups and the journal go there)", var.buf);
	else if (w->have_config && access(w->config_path, W_OK) != 0)
		check(p, "permissions", "error", "cannot write to '%s'",
		      w->config_path);
	else
		check(p, "permissions", "ok", "the venv, '%s' and config.xml "
		      "are writable", var.buf);
	sbuf_release(&var);
}

static size_t
count_session_files(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += sfile_is_session_name(de->d_name, prefix) != 0;
	closedir(d);
	return n;
}

static void
check_sessions(struct pl *p, const struct upgrade_opts *o,
	       const struct venv *v)
{
	struct sstore_opts so = SSTORE_INIT_OPTS;
	struct sstore s;
	struct err e = ERR_INIT;
	json_t *js;

	memset(&s, 0, sizeof(s));
	so.omerodir = o->omerodir;
	so.env_profile = o->env_profile;
	so.venv = v->dir;
	so.tmpdir = getenv("TMPDIR");
	so.temp = getenv("TEMP");
	so.tmp = getenv("TMP");
	if (sstore_open(&s, &so, &e) < 0)
		goto fail;
	js = json_pack("{s:s, s:s, s:s}", "engine",
		       sstore_engine_str(s.engine), "prefix", s.cookie_name,
		       "serializer", s.serializer_name ? s.serializer_name :
		       "");
	json_object_set_new(p->plan, "sessions", js);
	if (s.engine == SSTORE_FILE) {
		size_t n;

		if (sstore_find_dir(&s, &so, &e) < 0)
			goto fail;
		n = count_session_files(s.dir, s.cookie_name);
		json_object_set_new(js, "dir", json_string(s.dir));
		json_object_set_new(js, "count", json_integer((json_int_t)n));
		check(p, "sessions", "ok", "file sessions in '%s' (%s): %zu",
		      s.dir_shown, s.dir_note ? s.dir_note : "", n);
	} else if (s.engine == SSTORE_CACHE) {
		struct sredis_cache c;
		struct sredis_opts ro = SREDIS_OPTS_INIT;
		struct sredis_stats st;

		memset(&c, 0, sizeof(c));
		if (sredis_parse_cache(s.caches, s.cache_alias, &c, &e) < 0 ||
		    sredis_run(&c, &ro, NULL, NULL, &st, &e) < 0) {
			sredis_cache_release(&c);
			goto fail;
		}
		json_object_set_new(js, "count", json_integer(
			(json_int_t)st.keys));
		json_object_set_new(js, "server", json_string(
			c.servers[0].shown));
		check(p, "sessions", "ok", "Redis sessions on %s: %zu",
		      c.servers[0].shown, st.keys);
		sredis_cache_release(&c);
	} else {
		check(p, "sessions", "warning", "the %s session engine: "
		      "owctl upgrade does not clear it",
		      sstore_engine_str(s.engine));
	}
	sstore_release(&s);
	return;
fail:
	check(p, "sessions", "error", "session store: %s", e.msg);
	json_object_set_new(p->plan, "sessions", json_null());
	err_clear(&e);
	sstore_release(&s);
}

static void
decide_clear(struct pl *p, const struct upgrade_opts *o, const char *from,
	     const struct compat_release *rto)
{
	const struct compat_release *rfrom = from ? compat_lookup(from, NULL) :
					     NULL;
	const char *rel = NULL;
	struct sbuf why = SBUF_INIT;
	int clear = 0;

	if (o->clear == UPGRADE_CLEAR_ALWAYS) {
		clear = 1;
		sbuf_adds(&why, "asked for (--clear-sessions always)");
	} else if (from && compat_must_clear(from, o->to, &rel, NULL) == 1) {
		clear = 1;
		sbuf_addf(&why, "omero-web %s requires it (UPGRADING.md)",
			  rel);
	} else if (rfrom && rto && compat_django_major(rfrom) !=
		   compat_django_major(rto)) {
		clear = 1;
		sbuf_addf(&why, "Django %d -> %d", compat_django_major(rfrom),
			  compat_django_major(rto));
	} else if (rfrom && rto && strcmp(rfrom->serializer,
					  rto->serializer)) {
		clear = 1;
		sbuf_adds(&why, "the default session serializer changes");
	}
	if (clear && o->clear == UPGRADE_CLEAR_NEVER) {
		check(p, "sessions-clear", "warning", "sessions would need "
		      "clearing (%s) but --clear-sessions never keeps them: "
		      "users with old sessions may see errors", why.buf);
		clear = 0;
	}
	json_object_set_new(p->plan, "clear_sessions", json_boolean(clear));
	json_object_set_new(p->plan, "clear_reason", clear ?
			    json_string(why.buf) : json_null());
	sbuf_release(&why);
}

static void
check_nginx(struct pl *p, const struct upgrade_opts *o)
{
	if (!o->nginx_file) {
		check(p, "nginx", "ok", "no installed nginx file given "
		      "(--nginx-file): nginx is not regenerated");
		return;
	}
	if (access(o->nginx_file, R_OK) != 0)
		check(p, "nginx", "error", "cannot read '%s'", o->nginx_file);
	else if (access(o->nginx_file, W_OK) != 0)
		check(p, "nginx", "error", "cannot write to '%s'",
		      o->nginx_file);
	else
		check(p, "nginx", "ok", "'%s' will be regenerated (three-way "
		      "merge, nginx -t)", o->nginx_file);
}

static void
check_service(struct pl *p, const struct web_site *w)
{
	struct web_status st;
	struct err e = ERR_INIT;

	memset(&st, 0, sizeof(st));
	if (web_status(w, "health", 5, &st, &e) < 0) {
		check(p, "service", "warning", "state unknown: %s", e.msg);
		err_clear(&e);
		web_status_release(&st);
		return;
	}
	json_object_set_new(p->plan, "service", json_pack("{s:s, s:i, s:o}",
		"state", st.state, "pid", (int)st.pid.pid, "url",
		jstr_or_null(st.url)));
	if (st.lsb == 0)
		check(p, "service", "ok", "OMERO.web is running (PID %d) and "
		      "answers", (int)st.pid.pid);
	else
		check(p, "service", "warning", "OMERO.web is %s: the upgrade "
		      "will start it", st.state);
	web_status_release(&st);
}

/*
 * --new-venv: the directory must not hold anything yet, its parent must be
 * writable, and the old venv's base interpreter (pyvenv.cfg's home) must
 * be there to create it with.
 */
static void
check_new_venv(struct pl *p, const struct upgrade_opts *o,
	       const struct venv *v)
{
	struct pyvenv pv = PYVENV_INIT;
	struct err e = ERR_INIT;
	struct sbuf py = SBUF_INIT;
	char *parent = NULL, *slash;
	DIR *d;

	json_object_set_new(p->plan, "mode", json_string(o->zero_downtime ?
		"zero-downtime" : o->new_venv ? "new-venv" : "in-place"));
	if (!o->new_venv) {
		json_object_set_new(p->plan, "new_venv", json_null());
		return;
	}
	if (pyvenv_open(&pv, v->dir, &e) == 0 && pv.home) {
		if (pv.version)
			sbuf_addf(&py, "%s/python%s", pv.home, pv.version);
		if (!py.len || access(py.buf, X_OK) != 0) {
			sbuf_reset(&py);
			sbuf_addf(&py, "%s/python3", pv.home);
		}
	}
	err_clear(&e);
	if (!py.len || access(py.buf, X_OK) != 0) {
		sbuf_reset(&py);
		sbuf_adds(&py, "/usr/bin/python3");
	}
	json_object_set_new(p->plan, "new_venv", json_pack("{s:s, s:s, s:b}",
		"dir", o->new_venv, "base_python", py.buf,
		"system_site_packages", pv.system_site));
	if (o->new_venv[0] != '/')
		check(p, "new-venv", "error", "--new-venv must be an absolute "
		      "path: '%s'", o->new_venv);
	else if (!strcmp(o->new_venv, v->dir))
		check(p, "new-venv", "error", "--new-venv is the current venv "
		      "'%s'", v->dir);
	else if ((d = opendir(o->new_venv))) {
		struct dirent *de;
		int empty = 1;

		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				empty = 0;
		closedir(d);
		if (!empty)
			check(p, "new-venv", "error", "'%s' exists and is not "
			      "empty", o->new_venv);
	}
	parent = xstrdup(o->new_venv);
	if ((slash = strrchr(parent, '/')))
		*(slash == parent ? slash + 1 : slash) = '\0';
	if (access(py.buf, X_OK) != 0)
		check(p, "new-venv", "error", "no Python to create the venv "
		      "with ('%s')", py.buf);
	else if (access(parent, W_OK) != 0)
		check(p, "new-venv", "error", "cannot create '%s': '%s' is not "
		      "writable", o->new_venv, parent);
	else
		check(p, "new-venv", "ok", "new venv '%s' from %s%s; the old "
		      "venv '%s' stays untouched for the rollback",
		      o->new_venv, py.buf, pv.system_site ? " (with system "
		      "site-packages, like the old one)" : "", v->dir);
	if (o->zero_downtime) {
		if (!o->nginx_file)
			check(p, "zero-downtime", "error", "--zero-downtime "
			      "switches nginx between two gunicorns: give the "
			      "installed nginx file (--nginx-file)");
		else
			check(p, "zero-downtime", "ok", "the new version "
			      "starts beside the old one on a spare loopback "
			      "port; nginx switches over with a tested reload");
	}
	free(parent);
	sbuf_release(&py);
	pyvenv_release(&pv);
}

/* --from-omerodir: a deployment to carry config.xml etc. from. */
static void
check_from(struct pl *p, const struct upgrade_opts *o)
{
	struct sbuf cfg = SBUF_INIT;

	if (!o->from_omerodir)
		return;
	sbuf_addf(&cfg, "%s/etc/grid/config.xml", o->from_omerodir);
	if (access(cfg.buf, R_OK) != 0)
		check(p, "from-omerodir", "error", "cannot read '%s'",
		      cfg.buf);
	else
		check(p, "from-omerodir", "ok", "config.xml, the secret key "
		      "and owctl's nginx state come from '%s'",
		      o->from_omerodir);
	sbuf_release(&cfg);
}

/* The venv a previous upgrade switched to comes before PATH. */
static int
find_venv(const struct upgrade_opts *o, struct venv *v, struct err *e)
{
	char *rec = o->venv || (o->virtual_env && *o->virtual_env) ? NULL :
		    web_venv_recorded(o->omerodir);
	int r = venv_find(rec ? rec : o->venv, o->virtual_env, o->path, v, e);

	free(rec);
	return r;
}

char *
upgrade_find_venv(const struct upgrade_opts *o, struct err *e)
{
	struct venv v = VENV_INIT;
	char *dir = NULL;

	if (find_venv(o, &v, e) == 0)
		dir = xstrdup(v.dir);
	venv_release(&v);
	return dir;
}

char *
upgrade_default_new_venv(const struct upgrade_opts *o, struct err *e)
{
	struct sbuf sb = SBUF_INIT;
	char *dir = upgrade_find_venv(o, e);

	if (!dir)
		return NULL;
	sbuf_addf(&sb, "%s-%s", dir, o->to);
	free(dir);
	return sbuf_detach(&sb, NULL);
}

json_t *
upgrade_plan_make(const struct upgrade_opts *o, struct err *e)
{
	struct venv v = VENV_INIT;
	struct web_site w;
	struct pl p = { NULL, NULL, 0, 0 };
	const struct compat_release *rto = NULL;
	json_t *steps;
	char py[32] = "";

	memset(&w, 0, sizeof(w));
	if (!o->omerodir || !*o->omerodir) {
		err_set(e, ERR_WEB_NO_OMERODIR, "ERROR: OMERODIR not set");
		goto fail;
	}
	if (!o->to || !pep440_valid(o->to)) {
		err_set(e, ERR_USAGE, "--to: not a version: '%s'",
			o->to ? o->to : "");
		goto fail;
	}
	if (find_venv(o, &v, e) < 0)
		goto fail;
	if (web_site_open(&w, o->omerodir, o->env_profile, e) < 0)
		goto fail;
	if (v.py_major)
		snprintf(py, sizeof(py), "%d.%d", v.py_major, v.py_minor);
	p.plan = json_pack("{s:s, s:s, s:o, s:s, s:s, s:o, s:s}", "schema",
		UPGRADE_PLAN_SCHEMA, "omerodir", o->omerodir, "config",
		w.have_config ? json_string(w.config_path) : json_null(),
		"venv", v.dir, "python", py, "from",
		jstr_or_null(v.omero_web_version), "to", o->to);
	p.checks = json_array();
	json_object_set_new(p.plan, "checks", p.checks);
	json_object_set_new(p.plan, "service", json_pack("{s:s, s:i, s:n}",
		"state", "unknown", "pid", 0, "url"));
	if (!o->find_links && !o->index_url)
		check(&p, "source", "warning", "neither --find-links nor "
		      "--index-url: pip uses its configured index");
	check_target(&p, v.omero_web_version, o->to, &v, &rto);
	if (o->from_omerodir) {
		/* the configuration that will serve is the one carried over */
		struct web_site fw;
		struct err fe = ERR_INIT;

		memset(&fw, 0, sizeof(fw));
		if (web_site_open(&fw, o->from_omerodir, o->env_profile,
				  &fe) == 0)
			check_config(&p, &fw, o->to);
		else
			check(&p, "config", "error", "%s", fe.msg);
		err_clear(&fe);
		web_site_close(&fw);
	} else {
		check_config(&p, &w, o->to);
	}
	check_plugins(&p, o, &v);
	check_space_perms(&p, o, &v, &w);
	check_sessions(&p, o, &v);
	decide_clear(&p, o, v.omero_web_version, rto);
	check_nginx(&p, o);
	check_service(&p, &w);
	check_new_venv(&p, o, &v);
	check_from(&p, o);
	if (o->zero_downtime)
		steps = json_pack("[s,s,s,s,s,s,s,s,s]", "backup", "install",
				  "config", "handover", "sessions", "start",
				  "nginx", "retire", "verify");
	else
		steps = json_pack("[s,s,s,s,s,s,s,s]", "backup", "install",
				  "config", "nginx", "stop", "sessions",
				  "start", "verify");
	if (o->from_omerodir)
		json_array_insert_new(steps, 1, json_string("carry"));
	json_object_set_new(p.plan, "steps", steps);
	json_object_set_new(p.plan, "errors", json_integer(p.errors));
	json_object_set_new(p.plan, "warnings", json_integer(p.warnings));
	venv_release(&v);
	web_site_close(&w);
	return p.plan;
fail:
	json_decref(p.plan);
	venv_release(&v);
	web_site_close(&w);
	return NULL;
}

#define OPT_STR(name, field) \
	json_object_set_new(j, name, jstr_or_null(o->field))

json_t *
upgrade_opts_to_json(const struct upgrade_opts *o)
{
	static const char *const clear[] = { "auto", "always", "never" };
	json_t *j = json_object();

	OPT_STR("omerodir", omerodir);
	OPT_STR("env_profile", env_profile);
	OPT_STR("to", to);
	OPT_STR("venv", venv);
	OPT_STR("find_links", find_links);
	OPT_STR("index_url", index_url);
	OPT_STR("nginx_file", nginx_file);
	OPT_STR("verify_url", verify_url);
	OPT_STR("new_venv", new_venv);
	OPT_STR("from_omerodir", from_omerodir);
	json_object_set_new(j, "zero_downtime",
			    json_boolean(o->zero_downtime));
	json_object_set_new(j, "upgrade_plugins",
			    json_boolean(o->upgrade_plugins));
	json_object_set_new(j, "clear_sessions", json_string(clear[o->clear]));
	json_object_set_new(j, "timeout", json_real(o->timeout));
	return j;
}

static const char *
jget(json_t *j, const char *k)
{
	return json_string_value(json_object_get(j, k));
}

void
upgrade_opts_from_json(json_t *j, struct upgrade_opts *o)
{
	const char *c = jget(j, "clear_sessions");

	o->omerodir = jget(j, "omerodir");
	o->env_profile = jget(j, "env_profile");
	o->to = jget(j, "to");
	o->venv = jget(j, "venv");
	o->find_links = jget(j, "find_links");
	o->index_url = jget(j, "index_url");
	o->nginx_file = jget(j, "nginx_file");
	o->verify_url = jget(j, "verify_url");
	o->new_venv = jget(j, "new_venv");
	o->from_omerodir = jget(j, "from_omerodir");
	o->zero_downtime = json_is_true(json_object_get(j, "zero_downtime"));
	o->upgrade_plugins = json_is_true(json_object_get(j,
						 "upgrade_plugins"));
	o->clear = !c || !strcmp(c, "auto") ? UPGRADE_CLEAR_AUTO :
		   !strcmp(c, "always") ? UPGRADE_CLEAR_ALWAYS :
		   UPGRADE_CLEAR_NEVER;
	o->timeout = json_number_value(json_object_get(j, "timeout"));
}
