/*
 * The upgrade's steps and its rollback, driven by the journal: every step
 * is recorded "started" then "done"/"skipped"/"failed", so `resume` knows
 * where to carry on after a crash, and each step can be run again.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "proc.h"
#include "sessions/sfile.h"
#include "sessions/sredis.h"
#include "sessions/store.h"
#include "strv.h"
#include "config/export.h"
#include "config/store.h"
#include "upgrade/backup.h"
#include "upgrade/compat.h"
#include "upgrade/journal.h"
#include "upgrade/steps.h"
#include "venv/venv.h"
#include "web/health.h"
#include "web/nginxinst.h"
#include "web/regen.h"
#include "web/service.h"
#include "xalloc.h"
#include "banned.h"

extern char **environ;

struct run {
	struct upgrade_opts o;
	json_t *optsj;		/* o's strings live here */
	json_t *plan;
	struct journal j;
	json_t *records;	/* what the journal held when we started */
	char *backup_dir;
	const char *owctl;
	const struct upgrade_ui *ui;
	json_t *steps;		/* report entries */
	double t0;
	double stop_at;		/* wall clock when the service was stopped */
	double unavailable;	/* -1: unknown */
	long spare_port;	/* zero-downtime: the second gunicorn's */
	int nginx_as_before;	/* rollback: nginx file was not changed */
	struct fs_lock lock;
};

typedef int (*step_fn)(struct run *r, json_t *data, struct err *e);

static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *
pstr(const struct run *r, const char *k)
{
	return json_string_value(json_object_get(r->plan, k));
}

/* The venv serving after the upgrade: the new one, or the old in place. */
static const char *
target_venv(const struct run *r)
{
	return r->o.new_venv ? r->o.new_venv : pstr(r, "venv");
}

/* json_string_value, "" for anything else (no GNU "?:"). */
static const char *
jstr0(json_t *j, const char *k)
{
	const char *v = json_string_value(json_object_get(j, k));

	return v ? v : "";
}

static void
ui(const struct run *r, const char *step, const char *state,
   const char *msg)
{
	if (r->ui && r->ui->event)
		r->ui->event(r->ui->ud, step, state, msg);
}

static void __attribute__((format(printf, 3, 4)))
progress(const struct run *r, const char *step, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	ui(r, step, "progress", sb.buf);
	sbuf_release(&sb);
}

/* --- processes ------------------------------------------------------------ */

/* owctl's environment for pip: no venv or pip overrides leak in. */
static void
pip_env(struct strv *env)
{
	for (char **p = environ; *p; p++)
		if (strncmp(*p, "PIP_", 4) && strncmp(*p, "VIRTUAL_ENV=", 12) &&
		    strncmp(*p, "PYTHONPATH=", 11) &&
		    strncmp(*p, "PYTHONHOME=", 11))
			strv_push(env, *p);
	strv_push(env, "PIP_DISABLE_PIP_VERSION_CHECK=1");
}

static void
pip_source(const struct upgrade_opts *o, struct strv *argv)
{
	if (o->find_links) {
		strv_push(argv, "--no-index");
		strv_push(argv, "--find-links");
		strv_push(argv, o->find_links);
	} else if (o->index_url) {
		strv_push(argv, "--index-url");
		strv_push(argv, o->index_url);
	}
}

/*
 * Run argv, its output (stdout and stderr) appended to the upgrade's
 * log file name. Fails with the last lines of output when it exits non-0.
 */
static int
run_logged(struct run *r, struct strv *argv, const char *name, double tmo,
	   struct err *e)
{
	struct strv env = STRV_INIT;
	struct sbuf out = SBUF_INIT, path = SBUF_INIT, old = SBUF_INIT;
	struct proc_opts po = { 0 };
	struct proc_result pr;
	struct err le = ERR_INIT;
	int ret = -1;

	pip_env(&env);
	po.argv = (const char *const *)argv->v;
	po.env = (const char *const *)env.v;
	po.out = &out;
	po.flags = PROC_STDERR_TO_STDOUT;
	po.timeout = tmo;
	if (proc_run(&po, &pr, e) < 0)
		goto out;
	sbuf_addf(&path, "%s/%s", r->j.dir, name);
	if (fs_exists(path.buf))
		(void)fs_read_file(path.buf, 64u << 20, &old, &le);
	sbuf_addf(&old, "$ %s (exit %d)\n", argv->v[0], pr.status);
	sbuf_add(&old, out.buf, out.len);
	(void)fs_write_atomic(path.buf, old.buf, old.len, 0600, &le);
	err_clear(&le);
	if (pr.status != 0) {
		const char *tail = out.buf + out.len;
		int lines = 0;

		while (tail > out.buf && lines < 4)
			if (*--tail == '\n' && tail + 1 < out.buf + out.len)
				lines++;
		err_set(e, ERR_FAIL, "'%s %s' failed with status %d (log: "
			"'%s'): %s", argv->v[0], argv->n > 3 ? argv->v[3] :
			"", pr.status, path.buf, tail);
		goto out;
	}
	ret = 0;
out:
	strv_release(&env);
	sbuf_release(&out);
	sbuf_release(&path);
	sbuf_release(&old);
	return ret;
}

/* --- http ----------------------------------------------------------------- */

/* The omero_web version /version reports at url (new string), or NULL. */
static char *
version_at(const char *url, double timeout, struct err *e)
{
	struct sbuf body = SBUF_INIT;
	struct http_probe hp;
	json_t *j = NULL;
	char *v = NULL;
	int rc;

	rc = http_get(url, NULL, timeout, 1u << 20, &hp, &body, e);
	if (rc < 0)
		goto out;
	if (rc > 0) {
		err_set(e, ERR_IO, "GET '%s': %s", url, hp.error);
		goto out;
	}
	if (hp.status != 200) {
		err_set(e, ERR_FAIL, "GET '%s' answered %ld", url, hp.status);
		goto out;
	}
	j = json_loads(body.buf, 0, NULL);
	if (!json_is_string(json_object_get(j, "omero_web"))) {
		err_set(e, ERR_FAIL, "GET '%s': no omero_web version in the "
			"answer", url);
		goto out;
	}
	v = xstrdup(json_string_value(json_object_get(j, "omero_web")));
out:
	json_decref(j);
	sbuf_release(&body);
	return v;
}

/* --- the service ---------------------------------------------------------- */

/* Files of the second (spare) gunicorn of a zero-downtime hand-over. */
static void
spare_paths(const char *omerodir, char **pidfile, char **statefile)
{
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;

	sbuf_addf(&a, "%s/var/owctl/spare.pid", omerodir);
	sbuf_addf(&b, "%s/var/owctl/spare-web.json", omerodir);
	*pidfile = sbuf_detach(&a, NULL);
	*statefile = sbuf_detach(&b, NULL);
}

/*
 * Open the deployment; spare: as the spare gunicorn on port (its own pid
 * and state files, the same config.xml otherwise).
 */
static int
site_open(struct run *r, struct web_site *w, int spare, long port,
	  struct err *e)
{
	memset(w, 0, sizeof(*w));
	if (web_site_open(w, r->o.omerodir, r->o.env_profile, e) < 0)
		return -1;
	if (spare) {
		free(w->pidfile);
		free(w->statefile);
		spare_paths(r->o.omerodir, &w->pidfile, &w->statefile);
		if (port > 0)
			w->set.port = port;
	}
	return 0;
}

static int
stop_site(struct run *r, int spare, struct web_stop_result *sr,
	  struct err *e)
{
	struct web_site w;
	int ret;

	memset(sr, 0, sizeof(*sr));
	ret = site_open(r, &w, spare, r->spare_port, e);
	if (ret == 0)
		ret = web_stop(&w, 30, sr, e);
	web_site_close(&w);
	return ret;
}

static int
stop_service(struct run *r, struct web_stop_result *sr, struct err *e)
{
	return stop_site(r, 0, sr, e);
}

/*
 * Launch gunicorn from venv (the canonical one, or the spare on port) and
 * wait for the health check. Nothing is stopped first.
 */
static int
launch(struct run *r, const char *venv, int spare, long port, json_t *data,
       struct err *e)
{
	struct web_site w;
	struct venv v = VENV_INIT;
	struct web_launch_opts lo = { 0 };
	struct web_launch_result lr;
	int ret = -1, launched = 0;

	memset(&lr, 0, sizeof(lr));
	if (site_open(r, &w, spare, port, e) < 0 ||
	    venv_open(venv, VENV_FROM_OPTION, &v, e) < 0)
		goto out;
	if (w.settings_err.code != ERR_NONE) {
		err_set(e, w.settings_err.code, "%s", w.settings_err.msg);
		goto out;
	}
	lo.venv = &v;
	lo.health_path = "health";
	lo.timeout = r->o.timeout > 0 ? r->o.timeout : 60;
	lo.sigfd = -1;
	lo.pidfile = spare ? w.pidfile : NULL;
	launched = 1;
	if (web_launch(&w, &lo, &lr, e) < 0) {
		if (lr.log_tail && *lr.log_tail)
			err_prefix(e, "%s", lr.log_tail);
		goto out;
	}
	json_object_set_new(data, "pid", json_integer(lr.pid));
	json_object_set_new(data, "venv", json_string(v.dir));
	json_object_set_new(data, "healthy_after",
			    json_real(lr.healthy_after));
	ret = 0;
out:
	if (launched)
		web_launch_result_release(&lr);
	venv_release(&v);
	web_site_close(&w);
	return ret;
}

/* Start from venv (stopping first whatever runs) and wait for health. */
static int
start_service(struct run *r, const char *venv, json_t *data, struct err *e)
{
	struct web_stop_result sr;

	if (stop_service(r, &sr, e) < 0)
		return -1;
	web_stop_result_release(&sr);
	return launch(r, venv, 0, 0, data, e);
}

/*
 * The venv of the canonical master when it runs and answers (new string),
 * else NULL.
 */
static char *
serving_venv(struct run *r)
{
	struct web_site w;
	struct web_status st;
	struct err le = ERR_INIT;
	char *v = NULL;

	memset(&st, 0, sizeof(st));
	if (site_open(r, &w, 0, 0, &le) == 0 &&
	    web_status(&w, "health", 5, &st, &le) == 0 && st.lsb == 0 &&
	    st.pid.have_state && st.pid.state.venv)
		v = xstrdup(st.pid.state.venv);
	web_status_release(&st);
	web_site_close(&w);
	err_clear(&le);
	return v;
}

static char *
health_url(struct run *r, const char *path, struct err *e)
{
	struct web_site w;
	char *url = NULL;

	memset(&w, 0, sizeof(w));
	if (web_site_open(&w, r->o.omerodir, r->o.env_profile, e) == 0)
		url = wsgi_health_url(&w.set, path);
	web_site_close(&w);
	return url;
}

/* Does want answer, directly and (when given) through nginx? */
static int
verify_version(struct run *r, const char *want, json_t *data,
	       struct err *e)
{
	char *url = health_url(r, "version", e), *got = NULL;
	int ret = -1;

	if (!url)
		return -1;
	got = version_at(url, 10, e);
	if (!got)
		goto out;
	if (strcmp(got, want)) {
		err_set(e, ERR_FAIL, "'%s' reports omero-web %s, not %s", url,
			got, want);
		goto out;
	}
	json_object_set_new(data, "url", json_string(url));
	json_object_set_new(data, "version", json_string(got));
	free(got);
	got = NULL;
	if (r->o.verify_url) {
		got = version_at(r->o.verify_url, 10, e);
		if (!got) {
			err_prefix(e, "through nginx");
			goto out;
		}
		if (strcmp(got, want)) {
			err_set(e, ERR_FAIL, "'%s' (through nginx) reports "
				"omero-web %s, not %s", r->o.verify_url, got,
				want);
			goto out;
		}
		json_object_set_new(data, "nginx_url",
				    json_string(r->o.verify_url));
	}
	ret = 0;
out:
	free(got);
	free(url);
	return ret;
}

/* --- the steps ------------------------------------------------------------ */

static int
step_backup(struct run *r, json_t *data, struct err *e)
{
	struct backup_opts bo = { 0 };
	struct sbuf cfg = SBUF_INIT, py = SBUF_INIT;
	json_t *manifest = NULL;
	char *rec = web_venv_record_path(r->o.omerodir);
	int ret = -1;

	if (fs_mkdir_p(r->backup_dir, 0700, e) < 0)
		goto out;
	sbuf_addf(&cfg, "%s/etc/grid/config.xml", r->o.omerodir);
	sbuf_addf(&py, "%s/bin/python", pstr(r, "venv"));
	bo.omerodir = r->o.omerodir;
	bo.config_path = cfg.buf;
	bo.nginx_file = r->o.nginx_file;
	bo.venv_python = py.buf;
	bo.venv_record = rec;
	progress(r, "backup", "config.xml, export, secret key, %spip freeze "
		 "-> '%s'", r->o.nginx_file ? "nginx file, " : "",
		 r->backup_dir);
	if (backup_take(r->backup_dir, &bo, &manifest, e) < 0)
		goto out;
	json_object_set_new(data, "dir", json_string(r->backup_dir));
	json_object_set_new(data, "files", json_integer((json_int_t)
		json_array_size(json_object_get(manifest, "files"))));
	ret = 0;
out:
	json_decref(manifest);
	free(rec);
	sbuf_release(&cfg);
	sbuf_release(&py);
	return ret;
}

/*
 * --from-omerodir: config.xml (every profile, through the lossless
 * export), the Django secret key and owctl's nginx state (base copies and
 * records) come from another OMERODIR. What they replace is copied to the
 * backup first (carry.json), so the rollback puts it back.
 */
static int carry(struct run *r, json_t *data, struct err *e);

static int
step_carry(struct run *r, json_t *data, struct err *e)
{
	if (!r->o.from_omerodir)
		return 1;
	return carry(r, data, e);
}

static int
carry(struct run *r, json_t *data, struct err *e)
{
	const char *from = r->o.from_omerodir;
	struct strv whats = STRV_INIT, dst = STRV_INIT, src = STRV_INIT;
	struct sbuf p = SBUF_INIT, q = SBUF_INIT, txt = SBUF_INIT;
	struct cfg_open_opts co = { 0 };
	struct cfg_store cs;
	struct cfgexp x = CFGEXP_INIT;
	char *nfrom = nginx_state_dir(from), *nto = NULL;
	int opened = 0, ret = -1;
	DIR *d;

	memset(&cs, 0, sizeof(cs));
	sbuf_addf(&p, "%s/var/django_secret_key", from);
	if (fs_exists(p.buf)) {
		strv_push(&whats, "carry-secret-key");
		strv_push(&src, p.buf);
		strv_pushf(&dst, "%s/var/django_secret_key", r->o.omerodir);
	}
	nto = nginx_state_dir(r->o.omerodir);
	if ((d = opendir(nfrom))) {
		struct dirent *de;

		while ((de = readdir(d))) {
			if (de->d_name[0] == '.' || strstr(de->d_name, ".lock"))
				continue;
			strv_pushf(&whats, "carry-nginx-%zu", whats.n);
			strv_pushf(&src, "%s/%s", nfrom, de->d_name);
			strv_pushf(&dst, "%s/%s", nto, de->d_name);
		}
		closedir(d);
	}
	/* the journal's backup of what is replaced, before replacing it */
	if (backup_take_files(r->backup_dir, "carry.json", dst.n,
			      (const char *const *)whats.v,
			      (const char *const *)dst.v, e) < 0)
		goto out;
	sbuf_addf(&q, "%s/etc/grid/config.xml", from);
	progress(r, "carry", "config.xml, secret key, nginx state from '%s'",
		 from);
	if (cfgexp_load_any(q.buf, 1, NULL, &x, e) < 0)
		goto out;
	co.omerodir = r->o.omerodir;
	co.env_profile = r->o.env_profile;
	co.write = 1;
	co.wait = 10;
	if (cfg_open(&cs, &co, e) < 0)
		goto out;
	opened = 1;
	if (cfg_require_writable(&cs, e) < 0 || cfgexp_apply(&cs, &x, 1, e) < 0
	    || cfg_save(&cs, e) < 0)
		goto out;
	if (dst.n && fs_mkdir_p(nto, 0700, e) < 0)
		goto out;
	for (size_t i = 0; i < dst.n; i++) {
		sbuf_reset(&txt);
		if (fs_read_file(src.v[i], 64u << 20, &txt, e) < 0 ||
		    fs_write_atomic_mode(dst.v[i], txt.buf, txt.len, 0600,
					 e) < 0)
			goto out;
	}
	json_object_set_new(data, "from", json_string(from));
	json_object_set_new(data, "files", json_integer((json_int_t)dst.n +
							 1));
	ret = 0;
out:
	if (opened)
		cfg_close(&cs);
	cfgexp_release(&x);
	strv_release(&whats);
	strv_release(&dst);
	strv_release(&src);
	sbuf_release(&p);
	sbuf_release(&q);
	sbuf_release(&txt);
	free(nfrom);
	free(nto);
	return ret;
}

/* pip install the target (and plugins) into venv; checks the result. */
static int
pip_install(struct run *r, const char *venv, int upgrade, json_t *extra,
	    json_t *data, struct err *e)
{
	struct strv argv = STRV_INIT;
	struct venv v = VENV_INIT;
	json_t *x;
	size_t i;
	int ret = -1;

	strv_pushf(&argv, "%s/bin/python", venv);
	strv_push(&argv, "-m");
	strv_push(&argv, "pip");
	strv_push(&argv, "install");
	if (upgrade)
		strv_push(&argv, "--upgrade");
	pip_source(&r->o, &argv);
	strv_pushf(&argv, "omero-web==%s", r->o.to);
	json_array_foreach(extra, i, x)
		strv_push(&argv, json_string_value(x));
	progress(r, "install", "pip install %somero-web==%s%s into '%s' (%s)",
		 upgrade ? "--upgrade " : "", r->o.to, json_array_size(extra) ?
		 " + plugins" : "", venv, r->o.find_links ? r->o.find_links :
		 r->o.index_url ? r->o.index_url : "pip's index");
	if (run_logged(r, &argv, "pip.log", 900, e) < 0)
		goto out;
	if (venv_open(venv, VENV_FROM_OPTION, &v, e) < 0)
		goto out;
	if (!v.omero_web_version || strcmp(v.omero_web_version, r->o.to)) {
		err_set(e, ERR_FAIL, "pip succeeded but the venv holds "
			"omero-web %s, not %s", v.omero_web_version ?
			v.omero_web_version : "(none)", r->o.to);
		goto out;
	}
	json_object_set_new(data, "installed", json_string(
		v.omero_web_version));
	json_object_set_new(data, "venv", json_string(v.dir));
	ret = 0;
out:
	venv_release(&v);
	strv_release(&argv);
	return ret;
}

#define NEW_VENV_MARK ".owctl-upgrade"

/*
 * --new-venv: `BASE_PYTHON -m venv [--system-site-packages] --without-pip
 * DIR` (like the old venv), a pip from ensurepip only when the venv has
 * none (Debian's pip shows through system site-packages), then the target
 * and every plugin of the old venv. DIR is marked as ours, so a resumed
 * install may clear it (venv --clear) and start again.
 */
static int
install_new_venv(struct run *r, json_t *data, struct err *e)
{
	json_t *nv = json_object_get(r->plan, "new_venv");
	const char *dir = r->o.new_venv;
	struct strv argv = STRV_INIT;
	struct sbuf mark = SBUF_INIT, txt = SBUF_INIT;
	struct proc_opts po = { 0 };
	struct proc_result pr;
	struct err le = ERR_INIT;
	const char *pipv[5];
	int ret = -1, ours;

	sbuf_addf(&mark, "%s/%s", dir, NEW_VENV_MARK);
	ours = fs_read_file(mark.buf, 256, &txt, &le) == 0 &&
	       !strcmp(txt.buf, r->j.id);
	err_clear(&le);
	strv_push(&argv, jstr0(nv, "base_python"));
	strv_push(&argv, "-m");
	strv_push(&argv, "venv");
	if (json_is_true(json_object_get(nv, "system_site_packages")))
		strv_push(&argv, "--system-site-packages");
	strv_push(&argv, "--without-pip");
	if (ours)
		strv_push(&argv, "--clear");
	strv_push(&argv, dir);
	progress(r, "install", "%s -m venv%s '%s'", argv.v[0], ours ?
		 " --clear" : "", dir);
	if (run_logged(r, &argv, "venv.log", 300, e) < 0)
		goto out;
	if (fs_write_atomic(mark.buf, r->j.id, strlen(r->j.id), 0644, e) < 0)
		goto out;
	strv_release(&argv);
	strv_pushf(&argv, "%s/bin/python", dir);
	pipv[0] = argv.v[0];
	pipv[1] = "-m";
	pipv[2] = "pip";
	pipv[3] = "--version";
	pipv[4] = NULL;
	po.argv = pipv;
	po.timeout = 60;
	if (proc_run(&po, &pr, e) < 0)
		goto out;
	if (pr.status != 0) {
		strv_push(&argv, "-m");
		strv_push(&argv, "ensurepip");
		strv_push(&argv, "--default-pip");
		progress(r, "install", "no pip in the new venv: ensurepip");
		if (run_logged(r, &argv, "venv.log", 300, e) < 0)
			goto out;
	}
	if (pip_install(r, dir, 0, json_object_get(r->plan,
		"plugins_install"), data, e) < 0)
		goto out;
	json_object_set_new(data, "new_venv", json_string(dir));
	ret = 0;
out:
	strv_release(&argv);
	sbuf_release(&mark);
	sbuf_release(&txt);
	return ret;
}

static int
step_install(struct run *r, json_t *data, struct err *e)
{
	if (r->o.new_venv)
		return install_new_venv(r, data, e);
	return pip_install(r, pstr(r, "venv"), 1, json_object_get(r->plan,
		"plugins_upgrade"), data, e);
}

static int
step_config(struct run *r, json_t *data, struct err *e)
{
	struct web_site w;
	struct finding_list fl = FINDING_LIST_INIT;
	int ret = -1;

	memset(&w, 0, sizeof(w));
	if (web_site_open(&w, r->o.omerodir, r->o.env_profile, e) < 0 ||
	    web_validate(&w, r->o.to, &fl, e) < 0)
		goto out;
	for (size_t i = 0; i < fl.n; i++)
		if (fl.v[i].severity == FINDING_ERROR) {
			err_set(e, ERR_CFG_INVALID, "configuration not valid "
				"for omero-web %s: '%s': %s", r->o.to,
				fl.v[i].key, fl.v[i].message);
			goto out;
		}
	json_object_set_new(data, "warnings", json_integer((json_int_t)
		finding_list_count(&fl, FINDING_WARNING)));
	ret = 0;
out:
	finding_list_release(&fl);
	web_site_close(&w);
	return ret;
}

/*
 * Regenerate the installed nginx file in-process (regen.h), reload nginx
 * and wait until its old workers are gone; port > 0 renders the
 * application server's port as port (the hand-over to the spare).
 */
static int
regen_nginx(struct run *r, const char *step, long port, json_t *data,
	    struct err *e)
{
	struct nginx_regen_opts ro = { 0 };
	struct nginx_regen_result rr = NGINX_REGEN_RESULT_INIT;
	int ret;

	ro.omerodir = r->o.omerodir;
	ro.env_profile = r->o.env_profile;
	ro.path = r->o.nginx_file;
	ro.app_port = port;
	ro.reload = 1;
	ro.drain_timeout = 60;
	progress(r, step, "regenerating '%s'%s (three-way merge, nginx "
		 "-t, reload)", r->o.nginx_file, port > 0 ?
		 " with the spare port" : "");
	ret = nginx_regen(&ro, &rr, e);
	if (rr.installed) {
		json_object_set_new(data, "file", json_string(
			r->o.nginx_file));
		json_object_set_new(data, "action", json_string(
			nginx_install_action_name(rr.inst.action)));
		json_object_set_new(data, "reloaded",
				    json_boolean(rr.reloaded));
		json_object_set_new(data, "drained_seconds",
				    json_real(rr.drained));
	}
	if (ret < 0 && rr.inst.conflict_file)
		err_prefix(e, "the merge with conflicts is in '%s'",
			   rr.inst.conflict_file);
	nginx_regen_result_release(&rr);
	return ret;
}

static int
step_nginx(struct run *r, json_t *data, struct err *e)
{
	if (!r->o.nginx_file)
		return 1;
	return regen_nginx(r, "nginx", 0, data, e);
}

/* A free TCP port on host (the spare gunicorn's), or -1. */
static long
free_port(const char *host, struct err *e)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	long port = -1;
	int fd = -1, rc;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((rc = getaddrinfo(host, "0", &hints, &ai)) != 0) {
		err_set(e, ERR_IO, "cannot resolve '%s': %s", host,
			gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		err_errno(e, ERR_IO, errno, "no free port on '%s'", host);
		goto out;
	}
	if (ss.ss_family == AF_INET)
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return port;
}

/* Does the spare gunicorn of an earlier, interrupted hand-over answer? */
static int
spare_serving(struct run *r)
{
	struct web_site w;
	struct web_status st;
	struct err le = ERR_INIT;
	int ok = 0;

	memset(&w, 0, sizeof(w));
	memset(&st, 0, sizeof(st));
	if (r->spare_port > 0 && site_open(r, &w, 1, r->spare_port, &le) == 0 &&
	    web_status(&w, "health", 5, &st, &le) == 0)
		ok = st.lsb == 0;
	web_status_release(&st);
	web_site_close(&w);
	err_clear(&le);
	return ok;
}

/*
 * The hand-over is run again after an interruption: when the old gunicorn
 * was already retired and the spare serves, nginx is pointed at the spare
 * (unchanged if it already is) and the step is complete (1). Otherwise
 * nginx goes back to the old gunicorn, which still serves, before the
 * spare stops, and the hand-over starts afresh (0).
 */
static int
resume_handover(struct run *r, json_t *data, struct err *e)
{
	struct web_stop_result sr;
	char *old;
	int spare, ret = 0;

	if (!journal_step_state(r->records, "handover"))
		return 0;	/* a first run: nothing to pick up */
	old = serving_venv(r);
	spare = spare_serving(r);
	if (spare && !old) {
		json_object_set_new(data, "resumed", json_true());
		json_object_set_new(data, "spare_port",
				    json_integer(r->spare_port));
		ret = regen_nginx(r, "handover", r->spare_port, data, e) < 0 ?
		      -1 : 1;
		goto out;
	}
	if (old && r->o.nginx_file &&
	    regen_nginx(r, "handover", 0, data, e) < 0) {
		ret = -1;
		goto out;
	}
	if (stop_site(r, 1, &sr, e) < 0)
		ret = -1;
	else
		web_stop_result_release(&sr);
out:
	free(old);
	return ret;
}

/*
 * Zero-downtime hand-over: the new venv's gunicorn starts beside the old
 * one on a spare port with the same config.xml; once it answers, nginx's
 * upstream is switched to it (regenerated, tested, reloaded, old nginx
 * workers drained), the new version is checked through nginx, and only
 * then is the old master stopped gracefully (SIGTERM: its workers finish
 * what they serve). At no time does nginx point at a port nobody serves.
 */
static int
step_handover(struct run *r, json_t *data, struct err *e)
{
	struct web_site w;
	struct web_stop_result sr;
	json_t *sub;
	char *got = NULL;
	long port;
	int ret = -1;

	/* after kill -9 and resume, nginx must never lose its upstream */
	switch (resume_handover(r, data, e)) {
	case -1:
		return -1;
	case 1:
		return 0;	/* it had completed but for the journal */
	default:
		break;
	}
	if (site_open(r, &w, 0, 0, e) < 0) {
		web_site_close(&w);
		return -1;
	}
	port = free_port(w.set.host ? w.set.host : "127.0.0.1", e);
	web_site_close(&w);
	if (port < 0)
		return -1;
	r->spare_port = port;
	json_object_set_new(data, "spare_port", json_integer(port));
	{
		/* journaled now: a resume must find this spare again */
		json_t *rec = json_pack("{s:i}", "spare_port", (int)port);
		int jr = journal_append(&r->j, "handover", "progress", rec, e);

		json_decref(rec);
		if (jr < 0)
			return -1;
	}
	progress(r, "handover", "starting omero-web %s from '%s' on spare "
		 "port %ld", r->o.to, target_venv(r), port);
	sub = json_object();
	json_object_set_new(data, "spare", sub);
	if (launch(r, target_venv(r), 1, port, sub, e) < 0)
		return -1;
	sub = json_object();
	json_object_set_new(data, "nginx", sub);
	if (regen_nginx(r, "handover", port, sub, e) < 0)
		goto out;
	if (r->o.verify_url) {
		if (!(got = version_at(r->o.verify_url, 10, e)))
			goto out;
		if (strcmp(got, r->o.to)) {
			err_set(e, ERR_FAIL, "'%s' (through nginx) reports "
				"omero-web %s, not %s, after the switch",
				r->o.verify_url, got, r->o.to);
			goto out;
		}
	}
	progress(r, "handover", "nginx serves omero-web %s; retiring the old "
		 "gunicorn", r->o.to);
	if (stop_service(r, &sr, e) < 0)
		goto out;
	json_object_set_new(data, "retired_pid", json_integer(sr.pid));
	json_object_set_new(data, "retire_seconds", json_real(sr.seconds));
	web_stop_result_release(&sr);
	ret = 0;
out:
	free(got);
	return ret;
}

/* Zero-downtime: the spare, no longer in nginx's upstream, stops. */
static int
step_retire(struct run *r, json_t *data, struct err *e)
{
	struct web_stop_result sr;

	if (stop_site(r, 1, &sr, e) < 0)
		return -1;
	json_object_set_new(data, "pid", json_integer(sr.pid));
	json_object_set_new(data, "seconds", json_real(sr.seconds));
	web_stop_result_release(&sr);
	return 0;
}

static int
step_stop(struct run *r, json_t *data, struct err *e)
{
	struct web_stop_result sr;

	r->stop_at = wall_now();
	if (stop_service(r, &sr, e) < 0)
		return -1;
	json_object_set_new(data, "at", json_real(r->stop_at));
	json_object_set_new(data, "pid", json_integer(sr.pid));
	json_object_set_new(data, "seconds", json_real(sr.seconds));
	web_stop_result_release(&sr);
	return 0;
}

static int
clear_file(struct sstore *s, struct sstore_opts *so, json_t *data,
	   struct err *e)
{
	struct sfile_opts fo = SFILE_OPTS_INIT;
	struct sfile_stats st;
	struct strv secrets = STRV_INIT;
	int ret = -1;

	if (sstore_find_dir(s, so, e) < 0 || sstore_load_secret(s, so, e) < 0 ||
	    djsign_load(e) < 0)
		goto out;
	strv_push(&secrets, s->secret_key);
	for (size_t i = 0; i < s->fallbacks.n; i++)
		strv_push(&secrets, s->fallbacks.v[i]);
	fo.prefix = s->cookie_name;
	fo.secrets = (const char *const *)secrets.v;
	fo.nsecrets = secrets.n;
	fo.cookie_age = s->cookie_age;
	fo.version = s->version;
	fo.serializer = s->serializer;
	fo.use_tz = s->use_tz;
	fo.time_zone = s->time_zone;
	fo.now_us = (int64_t)(wall_now() * 1e6);
	fo.no_follow = 1;
	if (sfile_run(s->dir, &fo, SFILE_CLEAR, NULL, NULL, &st, e) < 0)
		goto out;
	json_object_set_new(data, "dir", json_string(s->dir_shown));
	json_object_set_new(data, "removed", json_integer(
		(json_int_t)st.removed));
	if (st.failed) {
		err_set(e, ERR_SESS_PARTIAL, "%zu session files in '%s' could "
			"not be removed", st.failed, s->dir_shown);
		goto out;
	}
	ret = 0;
out:
	for (size_t i = 0; i < secrets.n; i++)
		explicit_bzero(secrets.v[i], strlen(secrets.v[i]));
	strv_release(&secrets);
	return ret;
}

static int
step_sessions(struct run *r, json_t *data, struct err *e)
{
	struct sstore_opts so = SSTORE_INIT_OPTS;
	struct sstore s;
	json_t *ps = json_object_get(r->plan, "sessions");
	int ret = -1;

	if (!json_is_true(json_object_get(r->plan, "clear_sessions")))
		return 1;
	memset(&s, 0, sizeof(s));
	so.omerodir = r->o.omerodir;
	so.env_profile = r->o.env_profile;
	so.venv = pstr(r, "venv");
	/* Where the old service kept them, found while it ran. */
	so.session_dir = json_string_value(json_object_get(ps, "dir"));
	so.tmpdir = getenv("TMPDIR");
	so.temp = getenv("TEMP");
	so.tmp = getenv("TMP");
	progress(r, "sessions", "clearing every session (%s)",
		 pstr(r, "clear_reason"));
	if (sstore_open(&s, &so, e) < 0)
		goto out;
	json_object_set_new(data, "engine", json_string(
		sstore_engine_str(s.engine)));
	if (s.engine == SSTORE_FILE) {
		ret = clear_file(&s, &so, data, e);
	} else if (s.engine == SSTORE_CACHE) {
		struct sredis_cache c;
		struct sredis_opts ro = SREDIS_OPTS_INIT;
		struct sredis_stats st;

		memset(&c, 0, sizeof(c));
		ro.act = SREDIS_CLEAR;
		if (sredis_parse_cache(s.caches, s.cache_alias, &c, e) == 0 &&
		    sredis_run(&c, &ro, NULL, NULL, &st, e) == 0) {
			json_object_set_new(data, "removed", json_integer(
				(json_int_t)st.removed));
			ret = 0;
		}
		sredis_cache_release(&c);
	} else {
		err_set(e, ERR_SESS_CONFIG, "owctl upgrade cannot clear the "
			"%s session engine: clear it, then 'owctl upgrade "
			"resume'", sstore_engine_str(s.engine));
	}
out:
	sstore_release(&s);
	return ret;
}

static int
step_start(struct run *r, json_t *data, struct err *e)
{
	if (start_service(r, target_venv(r), data, e) < 0)
		return -1;
	/* the switch: `owctl web` and later upgrades use the new venv */
	if (r->o.new_venv) {
		char *rec = web_venv_record_path(r->o.omerodir);

		if (web_venv_record(r->o.omerodir, r->o.new_venv, e) < 0) {
			free(rec);
			return -1;
		}
		json_object_set_new(data, "venv_record", json_string(rec));
		free(rec);
	}
	if (r->stop_at > 0) {
		r->unavailable = wall_now() - r->stop_at;
		json_object_set_new(data, "unavailable_seconds",
				    json_real(r->unavailable));
	}
	return 0;
}

static int
step_verify(struct run *r, json_t *data, struct err *e)
{
	return verify_version(r, r->o.to, data, e);
}

/* --- rollback ------------------------------------------------------------- */

/* name==version lines of a pip freeze, as parallel lists (keys lower). */
static void
freeze_parse(const char *text, struct strv *names, struct strv *vers)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n'), *eq;
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, len);

		eq = strstr(line, "==");
		if (eq && line[0] != '#' && line[0] != '-') {
			char *n = xstrndup(line, (size_t)(eq - line));

			for (char *c = n; *c; c++)
				*c = *c == '_' || *c == '.' ? '-' :
				     (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 :
					    *c);
			strv_push_nodup(names, n);
			strv_push(vers, eq + 2);
		}
		free(line);
		p += len + (nl != NULL);
	}
}

static int
rb_packages(struct run *r, json_t *data, struct err *e)
{
	struct strv on = STRV_INIT, ov = STRV_INIT, nn = STRV_INIT,
		    nv = STRV_INIT, inst = STRV_INIT, rm = STRV_INIT;
	struct sbuf old = SBUF_INIT, now = SBUF_INIT, path = SBUF_INIT;
	struct proc_opts po = { 0 };
	struct proc_result pr;
	const char *venv = pstr(r, "venv");
	char py[4096];
	const char *fargv[] = { py, "-m", "pip", "freeze", "--all", NULL };
	int ret = -1;

	if (r->o.new_venv) {
		json_object_set_new(data, "untouched", json_string(venv));
		return 1;	/* the old venv was never changed */
	}

	snprintf(py, sizeof(py), "%s/bin/python", venv);
	sbuf_addf(&path, "%s/pip-freeze.txt", r->backup_dir);
	if (fs_read_file(path.buf, 16u << 20, &old, e) < 0)
		goto out;
	po.argv = fargv;
	po.out = &now;
	po.timeout = 120;
	if (proc_run(&po, &pr, e) < 0)
		goto out;
	if (pr.status) {
		err_set(e, ERR_FAIL, "pip freeze failed with status %d",
			pr.status);
		goto out;
	}
	freeze_parse(old.buf, &on, &ov);
	freeze_parse(now.buf, &nn, &nv);
	for (size_t i = 0; i < on.n; i++) {
		long k = strv_find(&nn, on.v[i]);

		if (k < 0 || strcmp(nv.v[k], ov.v[i]))
			strv_pushf(&inst, "%s==%s", on.v[i], ov.v[i]);
	}
	for (size_t i = 0; i < nn.n; i++)
		if (strv_find(&on, nn.v[i]) < 0)
			strv_push(&rm, nn.v[i]);
	json_object_set_new(data, "reinstalled", json_array());
	for (size_t i = 0; i < inst.n; i++)
		json_array_append_new(json_object_get(data, "reinstalled"),
				      json_string(inst.v[i]));
	if (rm.n) {
		struct strv argv = STRV_INIT;

		strv_push(&argv, py);
		strv_push(&argv, "-m");
		strv_push(&argv, "pip");
		strv_push(&argv, "uninstall");
		strv_push(&argv, "-y");
		for (size_t i = 0; i < rm.n; i++)
			strv_push(&argv, rm.v[i]);
		ret = run_logged(r, &argv, "pip.log", 300, e);
		strv_release(&argv);
		if (ret < 0)
			goto out;
	}
	if (inst.n) {
		struct strv argv = STRV_INIT;

		strv_push(&argv, py);
		strv_push(&argv, "-m");
		strv_push(&argv, "pip");
		strv_push(&argv, "install");
		strv_push(&argv, "--no-deps");
		pip_source(&r->o, &argv);
		for (size_t i = 0; i < inst.n; i++)
			strv_push(&argv, inst.v[i]);
		progress(r, "rollback-packages", "pip install --no-deps %s%s",
			 inst.v[0], inst.n > 1 ? " ..." : "");
		ret = run_logged(r, &argv, "pip.log", 900, e);
		strv_release(&argv);
		if (ret < 0)
			goto out;
	}
	ret = inst.n || rm.n ? 0 : 1;
out:
	strv_release(&on);
	strv_release(&ov);
	strv_release(&nn);
	strv_release(&nv);
	strv_release(&inst);
	strv_release(&rm);
	sbuf_release(&old);
	sbuf_release(&now);
	sbuf_release(&path);
	return ret;
}

static int
rb_stop(struct run *r, json_t *data, struct err *e)
{
	struct web_stop_result sr;

	(void)data;
	if (stop_service(r, &sr, e) < 0)
		return -1;
	web_stop_result_release(&sr);
	return 0;
}

/* nginx reads its file again (the one restored); drain: wait for the
 * old workers. */
static int
reload_nginx(struct run *r, int drain, json_t *data, struct err *e)
{
	struct nginx_record rec;
	struct nginx_cmd nc = { 0 };
	char *sd = nginx_state_dir(r->o.omerodir);
	int found = 0, ret;

	memset(&rec, 0, sizeof(rec));
	ret = nginx_record_load(sd, r->o.nginx_file, &rec, &found, e);
	if (ret == 0) {
		nc.conf = rec.nginx_conf;
		nc.prefix = rec.nginx_prefix;
		ret = drain ? nginx_reload_wait(&nc, 60, NULL, NULL, e) :
		      nginx_reload(&nc, NULL, e);
		json_object_set_new(data, "nginx_reloaded",
				    json_boolean(ret == 0));
	}
	nginx_record_release(&rec);
	free(sd);
	return ret;
}

/*
 * Is the installed nginx file byte-identical to its backup copy? Then
 * nginx already runs it: an nginx step that failed put it back itself and
 * did not reload. Unreadable counts as different.
 */
static int
nginx_file_as_before(struct run *r)
{
	struct sbuf now = SBUF_INIT, was = SBUF_INIT, copy = SBUF_INIT;
	struct err le = ERR_INIT;
	int same;

	sbuf_addf(&copy, "%s/nginx.conf", r->backup_dir);
	same = fs_read_file(r->o.nginx_file, 16u << 20, &now, &le) == 0 &&
	       fs_read_file(copy.buf, 16u << 20, &was, &le) == 0 &&
	       now.len == was.len && !memcmp(now.buf, was.buf, now.len);
	err_clear(&le);
	sbuf_release(&now);
	sbuf_release(&was);
	sbuf_release(&copy);
	return same;
}

/*
 * Put config.xml, the secret key, the nginx file and the venv record back
 * (and what --from-omerodir replaced). nginx reloads later (rb_nginx),
 * once the old version serves again.
 */
static int
rb_files(struct run *r, json_t *data, struct err *e)
{
	json_t *m = backup_manifest(r->backup_dir, e);
	struct sbuf carry = SBUF_INIT;
	int ret;

	if (!m)
		return -1;
	/* a restore begun before an interruption may have written it */
	if (r->o.nginx_file) {
		r->nginx_as_before = !journal_step_state(r->records,
							 "rollback-files") &&
				     nginx_file_as_before(r);
		json_object_set_new(data, "nginx_file_changed",
				    json_boolean(!r->nginx_as_before));
	}
	ret = backup_restore(r->backup_dir, m, e);
	json_decref(m);
	sbuf_addf(&carry, "%s/carry.json", r->backup_dir);
	if (ret == 0 && fs_exists(carry.buf)) {
		m = backup_manifest_named(r->backup_dir, "carry.json", e);
		ret = m ? backup_restore(r->backup_dir, m, e) : -1;
		json_decref(m);
	}
	sbuf_release(&carry);
	return ret;
}

/*
 * In place: start the old version. With a new venv, the old venv was
 * never touched: when its gunicorn still serves (the failure came before
 * the switch) nothing is stopped at all; otherwise whatever serves is
 * stopped and the old venv started.
 */
static int
rb_start(struct run *r, json_t *data, struct err *e)
{
	char *sv;
	double t;

	if (!r->o.new_venv)
		return start_service(r, pstr(r, "venv"), data, e);
	sv = serving_venv(r);
	if (sv && !strcmp(sv, pstr(r, "venv"))) {
		json_object_set_new(data, "kept", json_string(sv));
		free(sv);
		return 1;
	}
	free(sv);
	/* the new venv's gunicorn (if any) stops: that is a window */
	t = wall_now();
	if (start_service(r, pstr(r, "venv"), data, e) < 0)
		return -1;
	r->unavailable = wall_now() - t;
	json_object_set_new(data, "unavailable_seconds",
			    json_real(r->unavailable));
	return 0;
}

/*
 * nginx back to the restored file, once the old version serves; with a
 * new venv, wait until nginx's old workers are gone. Not when the file
 * never changed (nginx runs it already, and an nginx configuration broken
 * elsewhere would fail the reload); after a resume that is not known, so
 * nginx reloads.
 */
static int
rb_nginx(struct run *r, json_t *data, struct err *e)
{
	if (!r->o.nginx_file)
		return 1;
	if (r->nginx_as_before) {
		json_object_set_new(data, "nginx_file", json_string(
			"unchanged"));
		return 1;
	}
	return reload_nginx(r, r->o.new_venv != NULL, data, e);
}

/* New venv: the spare of a zero-downtime hand-over, if any, stops. */
static int
rb_spare(struct run *r, json_t *data, struct err *e)
{
	struct web_stop_result sr;
	int found;

	if (stop_site(r, 1, &sr, e) < 0)
		return -1;
	found = sr.found == WEB_PID_RUNNING;
	if (found)
		json_object_set_new(data, "pid", json_integer(sr.pid));
	web_stop_result_release(&sr);
	return found ? 0 : 1;
}

static int
rb_verify(struct run *r, json_t *data, struct err *e)
{
	return verify_version(r, pstr(r, "from"), data, e);
}

/* --- the driver ----------------------------------------------------------- */

struct step {
	const char *name;
	step_fn fn;
};

static const struct step upgrade_steps[] = {
	{ "backup", step_backup },
	{ "carry", step_carry },
	{ "install", step_install },
	{ "config", step_config },
	{ "nginx", step_nginx },
	{ "stop", step_stop },
	{ "sessions", step_sessions },
	{ "start", step_start },
	{ "verify", step_verify },
	{ NULL, NULL }
};

/* --zero-downtime: the new gunicorn serves before the old one stops. */
static const struct step zero_downtime_steps[] = {
	{ "backup", step_backup },
	{ "carry", step_carry },
	{ "install", step_install },
	{ "config", step_config },
	{ "handover", step_handover },
	{ "sessions", step_sessions },
	{ "start", step_start },
	{ "nginx", step_nginx },
	{ "retire", step_retire },
	{ "verify", step_verify },
	{ NULL, NULL }
};

/* --new-venv: the old venv is only switched back to. */
static const struct step new_venv_rollback_steps[] = {
	{ "rollback-files", rb_files },
	{ "rollback-start", rb_start },
	{ "rollback-nginx", rb_nginx },
	{ "rollback-spare", rb_spare },
	{ "rollback-verify", rb_verify },
	{ NULL, NULL }
};

static const struct step rollback_steps[] = {
	{ "rollback-stop", rb_stop },
	{ "rollback-packages", rb_packages },
	{ "rollback-files", rb_files },
	{ "rollback-start", rb_start },
	{ "rollback-nginx", rb_nginx },
	{ "rollback-verify", rb_verify },
	{ NULL, NULL }
};

/* Run one step unless the journal says it is finished; 0 or -1. */
static int
do_step(struct run *r, const struct step *s, struct err *e)
{
	const char *prev = journal_step_state(r->records, s->name);
	json_t *data;
	struct err je = ERR_INIT;
	double t = fs_now();
	int rc;

	if (prev && (!strcmp(prev, "done") || !strcmp(prev, "skipped"))) {
		ui(r, s->name, "skipped", "done before the interruption");
		return 0;
	}
	if (journal_append(&r->j, s->name, "started", NULL, e) < 0)
		return -1;
	ui(r, s->name, "started", NULL);
	data = json_object();
	rc = s->fn(r, data, e);
	json_object_set_new(data, "seconds", json_real(fs_now() - t));
	if (rc < 0) {
		json_object_set_new(data, "error", json_string(e->msg ?
							       e->msg : ""));
		(void)journal_append(&r->j, s->name, "failed", data, &je);
		ui(r, s->name, "failed", e->msg);
	} else {
		char took[32];

		(void)journal_append(&r->j, s->name, rc ? "skipped" : "done",
				     data, &je);
		snprintf(took, sizeof(took), "%.2f s", fs_now() - t);
		ui(r, s->name, rc ? "skipped" : "done", took);
	}
	json_array_append_new(r->steps, json_pack("{s:s, s:s, s:f, s:o}",
		"step", s->name, "state", rc < 0 ? "failed" : rc ? "skipped" :
		"done", "seconds", fs_now() - t, "data", data));
	err_clear(&je);
	return rc < 0 ? -1 : 0;
}

static int
do_rollback(struct run *r, struct err *e)
{
	struct err je = ERR_INIT;
	const struct step *s = r->o.new_venv ? new_venv_rollback_steps :
			       rollback_steps;

	for (; s->name; s++)
		if (do_step(r, s, e) < 0) {
			(void)journal_append(&r->j, "upgrade",
					     "rollback-failed", NULL, &je);
			err_clear(&je);
			return -1;
		}
	(void)journal_append(&r->j, "upgrade", "rolled-back", NULL, &je);
	err_clear(&je);
	return 0;
}

static json_t *
make_report(struct run *r, const char *result, const char *failed,
	    const char *error)
{
	json_t *from = json_object_get(r->plan, "from");
	const char *mode = r->o.zero_downtime ? "zero-downtime" :
			   r->o.new_venv ? "new-venv" : "in-place";

	return json_pack("{s:s, s:s, s:s, s:s, s:O, s:s, s:s, s:s, s:s, s:o, "
			 "s:f, s:o, s:o, s:o, s:o}",
		"schema", UPGRADE_REPORT_SCHEMA, "id", r->j.id, "journal",
		r->j.dir, "backup", r->backup_dir, "from", from ? from :
		json_null(), "to", r->o.to, "mode", mode, "venv",
		pstr(r, "venv") ? pstr(r, "venv") : "", "result", result,
		"new_venv", r->o.new_venv ? json_string(r->o.new_venv) :
		json_null(), "seconds", fs_now() - r->t0,
		"unavailable_seconds", r->unavailable >= 0 ?
		json_real(r->unavailable) : json_null(), "failed_step",
		failed ? json_string(failed) : json_null(), "error",
		error ? json_string(error) : json_null(), "steps",
		r->steps);
}

/* Does the plan list the step? (Steps of other modes are not run.) */
static int
planned(const struct run *r, const char *name)
{
	json_t *x;
	size_t i;

	json_array_foreach(json_object_get(r->plan, "steps"), i, x)
		if (!strcmp(json_string_value(x) ? json_string_value(x) : "",
			    name))
			return 1;
	return 0;
}

/* The steps from where the journal stands; rollback on failure. */
static int
drive(struct run *r, int rollback_only, json_t **report, struct err *e)
{
	const struct step *first = r->o.zero_downtime ? zero_downtime_steps :
				   upgrade_steps;
	const struct step *s = first;
	const char *failed = NULL;
	struct err je = ERR_INIT, re = ERR_INIT;
	char *why = NULL;
	int ret = -1;

	r->t0 = fs_now();
	r->steps = json_array();
	/*
	 * A stop recorded before a crash still counts for the window; a
	 * spare started before it must be found again.
	 */
	{
		size_t i;
		json_t *rec;

		json_array_foreach(r->records, i, rec) {
			const char *st = jstr0(rec, "step");

			if (!strcmp(st, "stop") && json_number_value(
				json_object_get(rec, "at")) > 0)
				r->stop_at = json_number_value(
					json_object_get(rec, "at"));
			if (!strcmp(st, "handover") && json_integer_value(
				json_object_get(rec, "spare_port")) > 0)
				r->spare_port = (long)json_integer_value(
					json_object_get(rec, "spare_port"));
		}
	}
	if (!rollback_only) {
		for (; s->name; s++)
			if (planned(r, s->name) && do_step(r, s, e) < 0)
				break;
		if (!s->name) {
			(void)journal_append(&r->j, "upgrade", "done", NULL,
					     &je);
			err_clear(&je);
			*report = make_report(r, "upgraded", NULL, NULL);
			return 0;
		}
		failed = s->name;
		why = xstrdup(e->msg ? e->msg : "failed");
		if (s == first) {
			/* Nothing changed before the backup existed. */
			(void)journal_append(&r->j, "upgrade", "failed",
					     NULL, &je);
			err_clear(&je);
			*report = make_report(r, "failed", failed, why);
			err_prefix(e, "upgrade failed at step '%s'", failed);
			free(why);
			return -1;
		}
		err_clear(e);
	}
	if (do_rollback(r, &re) < 0) {
		*report = make_report(r, "rollback-failed", failed, why);
		err_set(e, ERR_UPGRADE_ROLLBACK, "%s%s%s%s%srollback failed: "
			"%s; the journal is '%s', the backup '%s'",
			failed ? "upgrade failed at step '" : "",
			failed ? failed : "", failed ? "': " : "",
			why ? why : "", failed ? "; " : "", re.msg, r->j.dir,
			r->backup_dir);
	} else if (failed) {
		*report = make_report(r, "rolled-back", failed, why);
		err_set(e, ERR_UPGRADE_FAILED, "upgrade failed at step '%s': "
			"%s; rolled back: omero-web %s answers again",
			failed, why, pstr(r, "from"));
	} else {
		*report = make_report(r, "rolled-back", NULL, NULL);
		ret = 0;
	}
	err_clear(&re);
	free(why);
	return ret;
}

static void
run_release(struct run *r)
{
	journal_close(&r->j);
	json_decref(r->records);
	json_decref(r->plan);
	json_decref(r->optsj);
	free(r->backup_dir);
	fs_lock_release(&r->lock);
}

static int
take_lock(struct run *r, const char *omerodir, struct err *e)
{
	struct sbuf p = SBUF_INIT;
	int ret;

	sbuf_addf(&p, "%s/var/owctl", omerodir);
	ret = fs_mkdir_p(p.buf, 0700, e);
	sbuf_adds(&p, "/upgrade.lock");
	if (ret == 0 && fs_lock_acquire(&r->lock, p.buf, 0, e) < 0) {
		err_set(e, ERR_CFG_LOCK, "another owctl upgrade is running "
			"for '%s' (lock '%s')", omerodir, p.buf);
		ret = -1;
	}
	sbuf_release(&p);
	return ret;
}

static char *
backup_dir_for(const char *omerodir, const char *id)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_addf(&sb, "%s/var/owctl/backups/%s", omerodir, id);
	return sbuf_detach(&sb, NULL);
}

int
upgrade_run(const struct upgrade_opts *o, json_t *plan,
	    const struct upgrade_ui *u, json_t **report, struct err *e)
{
	struct run r;
	int ret = -1;

	memset(&r, 0, sizeof(r));
	r.j = (struct journal)JOURNAL_INIT;
	r.lock = (struct fs_lock)FS_LOCK_INIT;
	r.unavailable = -1;
	r.ui = u;
	r.owctl = o->owctl;
	*report = NULL;
	if (take_lock(&r, o->omerodir, e) < 0)
		goto out;
	r.optsj = upgrade_opts_to_json(o);
	upgrade_opts_from_json(r.optsj, &r.o);
	r.plan = json_incref(plan);
	if (journal_create(&r.j, o->omerodir, NULL, e) < 0)
		goto out;
	r.backup_dir = backup_dir_for(o->omerodir, r.j.id);
	{
		json_t *rec = json_pack("{s:O, s:O, s:s}", "opts", r.optsj,
					"plan", plan, "backup", r.backup_dir);
		int jr = journal_append(&r.j, "plan", "done", rec, e);

		json_decref(rec);	/* journal_append borrows it */
		if (jr < 0)
			goto out;
	}
	r.records = json_array();
	ret = drive(&r, 0, report, e);
out:
	run_release(&r);
	return ret;
}

/* Open the latest journal and rebuild the run from its plan record. */
static int
reopen(struct run *r, const char *omerodir, const char *owctl,
       const struct upgrade_ui *u, const char **final, struct err *e)
{
	size_t i;
	json_t *rec, *planrec = NULL;

	memset(r, 0, sizeof(*r));
	r->j = (struct journal)JOURNAL_INIT;
	r->lock = (struct fs_lock)FS_LOCK_INIT;
	r->unavailable = -1;
	r->ui = u;
	r->owctl = owctl;
	*final = NULL;
	if (!omerodir || !*omerodir)
		return err_set(e, ERR_WEB_NO_OMERODIR,
			       "ERROR: OMERODIR not set");
	if (take_lock(r, omerodir, e) < 0)
		return -1;
	if (journal_open_latest(&r->j, omerodir, e) < 0) {
		e->code = ERR_UPGRADE_NONE;
		return -1;
	}
	if (!(r->records = journal_records(&r->j, e)))
		return -1;
	json_array_foreach(r->records, i, rec)
		if (!strcmp(jstr0(rec, "step"), "plan"))
			planrec = rec;
	if (!planrec)
		return err_set(e, ERR_UPGRADE_NONE, "the journal '%s' holds no "
			       "plan", r->j.dir);
	r->optsj = json_incref(json_object_get(planrec, "opts"));
	r->plan = json_incref(json_object_get(planrec, "plan"));
	upgrade_opts_from_json(r->optsj, &r->o);
	r->backup_dir = xstrdup(jstr0(planrec, "backup"));
	*final = journal_step_state(r->records, "upgrade");
	return 0;
}

int
upgrade_resume(const char *omerodir, const char *owctl,
	       const struct upgrade_ui *u, json_t **report, struct err *e)
{
	struct run r;
	const char *final;
	int ret = -1, in_rollback;

	*report = NULL;
	if (reopen(&r, omerodir, owctl, u, &final, e) < 0)
		goto out;
	if (final) {
		err_set(e, ERR_UPGRADE_NONE, "the latest upgrade ('%s') "
			"already ended: %s", r.j.id, final);
		goto out;
	}
	in_rollback = 0;
	{
		size_t i;
		json_t *rec;

		json_array_foreach(r.records, i, rec)
			if (!strncmp(jstr0(rec, "step"), "rollback-", 9))
				in_rollback = 1;
	}
	ret = drive(&r, in_rollback, report, e);
out:
	run_release(&r);
	return ret;
}

int
upgrade_rollback(const char *omerodir, const char *owctl,
		 const struct upgrade_ui *u, json_t **report, struct err *e)
{
	struct run r;
	const char *final;
	int ret = -1;

	*report = NULL;
	if (reopen(&r, omerodir, owctl, u, &final, e) < 0)
		goto out;
	if (final && strcmp(final, "done")) {
		err_set(e, ERR_UPGRADE_NONE, "nothing to roll back: the "
			"latest upgrade ('%s') ended %s", r.j.id, final);
		goto out;
	}
	if (!journal_step_state(r.records, "backup") ||
	    strcmp(journal_step_state(r.records, "backup"), "done")) {
		err_set(e, ERR_UPGRADE_NONE, "nothing to roll back: the "
			"latest upgrade ('%s') has no backup", r.j.id);
		goto out;
	}
	if (final) {
		/* A finished upgrade: a new rollback, not a resumed one. */
		json_decref(r.records);
		r.records = json_array();
	}
	ret = drive(&r, 1, report, e);
	if (ret < 0 && e->code == ERR_UPGRADE_FAILED)
		e->code = ERR_UPGRADE_ROLLBACK;
out:
	run_release(&r);
	return ret;
}

json_t *
upgrade_status(const char *omerodir, struct err *e)
{
	struct journal j = JOURNAL_INIT;
	json_t *recs = NULL, *out = NULL, *steps, *rec, *plan = NULL;
	const char *final;
	size_t i;

	if (journal_open_latest(&j, omerodir, e) < 0) {
		e->code = ERR_UPGRADE_NONE;
		return NULL;
	}
	if (!(recs = journal_records(&j, e)))
		goto out;
	steps = json_array();
	json_array_foreach(recs, i, rec) {
		const char *st = json_string_value(json_object_get(rec,
								   "step"));

		if (st && !strcmp(st, "plan"))
			plan = json_object_get(rec, "plan");
		json_array_append_new(steps, json_pack("{s:O, s:O, s:O}",
			"step", json_object_get(rec, "step"), "state",
			json_object_get(rec, "state"), "time",
			json_object_get(rec, "time")));
	}
	final = journal_step_state(recs, "upgrade");
	out = json_pack("{s:s, s:s, s:O, s:O, s:s, s:o}", "id", j.id,
		"journal", j.dir, "from", json_object_get(plan, "from") ?
		json_object_get(plan, "from") : json_null(), "to",
		json_object_get(plan, "to") ? json_object_get(plan, "to") :
		json_null(), "state", final ? final : "running or interrupted",
		"steps", steps);
out:
	json_decref(recs);
	journal_close(&j);
	return out;
}
