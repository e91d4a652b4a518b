/*
 * The upgrade's steps and its rollback, driven by the journal: every step
 * is recorded "started" then "done"/"skipped"/"failed", so `resume` knows
 * where to carry on after a crash, and each step can be run again.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "proc.h"
#include "sessions/lazycrypto.h"
#include "sessions/sfile.h"
#include "sessions/sredis.h"
#include "sessions/store.h"
#include "strv.h"
#include "upgrade/backup.h"
#include "upgrade/compat.h"
#include "upgrade/journal.h"
#include "upgrade/steps.h"
#include "venv/venv.h"
#include "web/nginxinst.h"
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

int
upgrade_http_get(const char *url, double timeout, long *status,
		 struct sbuf *body, struct err *e)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	struct sbuf host = SBUF_INIT, port = SBUF_INIT, req = SBUF_INIT;
	struct sbuf resp = SBUF_INIT;
	const char *p, *path, *hend;
	double deadline = fs_now() + timeout;
	int fd = -1, ret = -1, rc;

	if (strncmp(url, "http://", 7))
		return err_set(e, ERR_USAGE, "only http:// URLs are checked: "
			       "'%s'", url);
	p = url + 7;
	path = strchr(p, '/');
	if (!path)
		path = p + strlen(p);
	if (*p == '[') {
		hend = memchr(p, ']', (size_t)(path - p));
		if (!hend)
			return err_set(e, ERR_USAGE, "bad URL '%s'", url);
		sbuf_add(&host, p + 1, (size_t)(hend - p - 1));
		hend++;
	} else {
		hend = memchr(p, ':', (size_t)(path - p));
		if (!hend)
			hend = path;
		sbuf_add(&host, p, (size_t)(hend - p));
	}
	if (*hend == ':')
		sbuf_add(&port, hend + 1, (size_t)(path - hend - 1));
	else
		sbuf_adds(&port, "80");
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host.buf, port.buf, &hints, &ai)) != 0) {
		err_set(e, ERR_IO, "cannot resolve '%s': %s", host.buf,
			gai_strerror(rc));
		goto out;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		err_errno(e, ERR_IO, errno, "GET '%s'", url);
		goto out;
	}
	sbuf_addf(&req, "GET %s HTTP/1.0\r\nHost: %.*s\r\nUser-Agent: "
		  "owctl-upgrade\r\nConnection: close\r\n\r\n",
		  *path ? path : "/", (int)(path - p), p);
	if (write(fd, req.buf, req.len) != (ssize_t)req.len) {
		err_errno(e, ERR_IO, errno, "GET '%s'", url);
		goto out;
	}
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		double left = deadline - fs_now();
		char buf[8192];
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)(left * 1000) + 1) == 0) {
			err_set(e, ERR_IO, "GET '%s': no answer within %.0f s",
				url, timeout);
			goto out;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_errno(e, ERR_IO, errno, "GET '%s'", url);
			goto out;
		}
		if (n == 0)
			break;
		if (resp.len + (size_t)n > (1u << 20)) {
			err_set(e, ERR_IO, "GET '%s': answer too long", url);
			goto out;
		}
		sbuf_add(&resp, buf, (size_t)n);
	}
	if (strncmp(resp.buf, "HTTP/", 5) || !strchr(resp.buf, ' ')) {
		err_set(e, ERR_IO, "GET '%s': not an HTTP answer", url);
		goto out;
	}
	*status = strtol(strchr(resp.buf, ' ') + 1, NULL, 10);
	if ((p = strstr(resp.buf, "\r\n\r\n")))
		sbuf_adds(body, p + 4);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ai)
		freeaddrinfo(ai);
	sbuf_release(&host);
	sbuf_release(&port);
	sbuf_release(&req);
	sbuf_release(&resp);
	return ret;
}

/* The omero_web version /version reports at url (new string), or NULL. */
static char *
version_at(const char *url, double timeout, struct err *e)
{
	struct sbuf body = SBUF_INIT;
	json_t *j = NULL;
	char *v = NULL;
	long st = 0;

	if (upgrade_http_get(url, timeout, &st, &body, e) < 0)
		goto out;
	if (st != 200) {
		err_set(e, ERR_FAIL, "GET '%s' answered %ld", url, st);
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

static int
stop_service(struct run *r, struct web_stop_result *sr, struct err *e)
{
	struct web_site w;
	int ret;

	memset(&w, 0, sizeof(w));
	memset(sr, 0, sizeof(*sr));
	ret = web_site_open(&w, r->o.omerodir, r->o.env_profile, e);
	if (ret == 0)
		ret = web_stop(&w, 30, sr, e);
	web_site_close(&w);
	return ret;
}

/* Start (stopping first whatever runs) and wait for the health check. */
static int
start_service(struct run *r, json_t *data, struct err *e)
{
	struct web_site w;
	struct venv v = VENV_INIT;
	struct web_launch_opts lo = { 0 };
	struct web_launch_result lr;
	struct web_stop_result sr;
	int ret = -1, launched = 0;

	memset(&w, 0, sizeof(w));
	memset(&lr, 0, sizeof(lr));
	if (stop_service(r, &sr, e) < 0)
		goto out;
	web_stop_result_release(&sr);
	if (web_site_open(&w, r->o.omerodir, r->o.env_profile, e) < 0 ||
	    venv_open(pstr(r, "venv"), VENV_FROM_OPTION, &v, e) < 0)
		goto out;
	if (w.settings_err.code != ERR_NONE) {
		err_set(e, w.settings_err.code, "%s", w.settings_err.msg);
		goto out;
	}
	lo.venv = &v;
	lo.health_path = "health";
	lo.timeout = r->o.timeout > 0 ? r->o.timeout : 60;
	lo.sigfd = -1;
	launched = 1;
	if (web_launch(&w, &lo, &lr, e) < 0) {
		if (lr.log_tail && *lr.log_tail)
			err_prefix(e, "%s", lr.log_tail);
		goto out;
	}
	json_object_set_new(data, "pid", json_integer(lr.pid));
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
	int ret = -1;

	if (fs_mkdir_p(r->backup_dir, 0700, e) < 0)
		goto out;
	sbuf_addf(&cfg, "%s/etc/grid/config.xml", r->o.omerodir);
	sbuf_addf(&py, "%s/bin/python", pstr(r, "venv"));
	bo.omerodir = r->o.omerodir;
	bo.config_path = cfg.buf;
	bo.nginx_file = r->o.nginx_file;
	bo.venv_python = py.buf;
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
	sbuf_release(&cfg);
	sbuf_release(&py);
	return ret;
}

static int
step_install(struct run *r, json_t *data, struct err *e)
{
	struct strv argv = STRV_INIT;
	struct venv v = VENV_INIT;
	json_t *up = json_object_get(r->plan, "plugins_upgrade"), *x;
	size_t i;
	int ret = -1;

	strv_pushf(&argv, "%s/bin/python", pstr(r, "venv"));
	strv_push(&argv, "-m");
	strv_push(&argv, "pip");
	strv_push(&argv, "install");
	strv_push(&argv, "--upgrade");
	pip_source(&r->o, &argv);
	strv_pushf(&argv, "omero-web==%s", r->o.to);
	json_array_foreach(up, i, x)
		strv_push(&argv, json_string_value(x));
	progress(r, "install", "pip install --upgrade omero-web==%s%s%s "
		 "(%s)", r->o.to, json_array_size(up) ? " + plugins" : "", "",
		 r->o.find_links ? r->o.find_links : r->o.index_url ?
		 r->o.index_url : "pip's index");
	if (run_logged(r, &argv, "pip.log", 900, e) < 0)
		goto out;
	if (venv_open(pstr(r, "venv"), VENV_FROM_OPTION, &v, e) < 0)
		goto out;
	if (!v.omero_web_version || strcmp(v.omero_web_version, r->o.to)) {
		err_set(e, ERR_FAIL, "pip succeeded but the venv holds "
			"omero-web %s, not %s", v.omero_web_version ?
			v.omero_web_version : "(none)", r->o.to);
		goto out;
	}
	json_object_set_new(data, "installed", json_string(
		v.omero_web_version));
	ret = 0;
out:
	venv_release(&v);
	strv_release(&argv);
	return ret;
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

static int
step_nginx(struct run *r, json_t *data, struct err *e)
{
	struct strv argv = STRV_INIT;
	int ret;

	if (!r->o.nginx_file)
		return 1;
	strv_push(&argv, r->owctl);
	strv_push(&argv, "--omerodir");
	strv_push(&argv, r->o.omerodir);
	strv_push(&argv, "web");
	strv_push(&argv, "nginx");
	strv_push(&argv, "install");
	strv_push(&argv, r->o.nginx_file);
	strv_push(&argv, "--reload");
	progress(r, "nginx", "owctl web nginx install '%s' --reload",
		 r->o.nginx_file);
	ret = run_logged(r, &argv, "nginx.log", 120, e);
	if (ret == 0)
		json_object_set_new(data, "file",
				    json_string(r->o.nginx_file));
	strv_release(&argv);
	return ret;
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
	    lazycrypto_load(e) < 0)
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
	if (start_service(r, data, e) < 0)
		return -1;
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

static int
rb_files(struct run *r, json_t *data, struct err *e)
{
	json_t *m = backup_manifest(r->backup_dir, e);
	int ret;

	if (!m)
		return -1;
	ret = backup_restore(r->backup_dir, m, e);
	json_decref(m);
	if (ret < 0 || !r->o.nginx_file)
		return ret;
	/* nginx must read the file it had again. */
	{
		struct nginx_record rec;
		struct nginx_cmd nc = { 0 };
		char *sd = nginx_state_dir(r->o.omerodir);
		int found = 0;

		memset(&rec, 0, sizeof(rec));
		if (nginx_record_load(sd, r->o.nginx_file, &rec, &found,
				      e) == 0) {
			nc.conf = rec.nginx_conf;
			nc.prefix = rec.nginx_prefix;
			ret = nginx_reload(&nc, NULL, e);
			json_object_set_new(data, "nginx_reloaded",
					    json_boolean(ret == 0));
		}
		nginx_record_release(&rec);
		free(sd);
	}
	return ret;
}

static int
rb_start(struct run *r, json_t *data, struct err *e)
{
	return start_service(r, data, e);
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
	{ "install", step_install },
	{ "config", step_config },
	{ "nginx", step_nginx },
	{ "stop", step_stop },
	{ "sessions", step_sessions },
	{ "start", step_start },
	{ "verify", step_verify },
	{ NULL, NULL }
};

static const struct step rollback_steps[] = {
	{ "rollback-stop", rb_stop },
	{ "rollback-packages", rb_packages },
	{ "rollback-files", rb_files },
	{ "rollback-start", rb_start },
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

	for (const struct step *s = rollback_steps; s->name; s++)
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
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:f, s:o, s:o, "
			 "s:o, s:o}",
		"schema", UPGRADE_REPORT_SCHEMA, "id", r->j.id, "journal",
		r->j.dir, "backup", r->backup_dir, "from",
		json_object_get(r->plan, "from") ? json_incref(
		json_object_get(r->plan, "from")) : json_null(), "to", r->o.to,
		"result", result, "seconds", fs_now() - r->t0,
		"unavailable_seconds", r->unavailable >= 0 ?
		json_real(r->unavailable) : json_null(), "failed_step",
		failed ? json_string(failed) : json_null(), "error",
		error ? json_string(error) : json_null(), "steps", r->steps);
}

/* The steps from where the journal stands; rollback on failure. */
static int
drive(struct run *r, int rollback_only, json_t **report, struct err *e)
{
	const struct step *s = upgrade_steps;
	const char *failed = NULL;
	struct err je = ERR_INIT, re = ERR_INIT;
	char *why = NULL;
	int ret = -1;

	r->t0 = fs_now();
	r->steps = json_array();
	/* A stop recorded before a crash still counts for the window. */
	{
		size_t i;
		json_t *rec;

		json_array_foreach(r->records, i, rec)
			if (!strcmp(json_string_value(json_object_get(rec,
				"step")) ?: "", "stop") &&
			    json_number_value(json_object_get(rec, "at")) > 0)
				r->stop_at = json_number_value(
					json_object_get(rec, "at"));
	}
	if (!rollback_only) {
		for (; s->name; s++)
			if (do_step(r, s, e) < 0)
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
		if (s == upgrade_steps) {
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
		err_set(e, ERR_UPGRADE_ROLLBACK, "%s%s%s%srollback failed: %s; "
			"the journal is '%s', the backup '%s'",
			failed ? "upgrade failed at step '" : "",
			failed ? failed : "", failed ? "': " : "",
			why ? why : "", re.msg, r->j.dir, r->backup_dir);
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
		if (!strcmp(json_string_value(json_object_get(rec, "step")) ?:
			    "", "plan"))
			planrec = rec;
	if (!planrec)
		return err_set(e, ERR_UPGRADE_NONE, "the journal '%s' holds no "
			       "plan", r->j.dir);
	r->optsj = json_incref(json_object_get(planrec, "opts"));
	r->plan = json_incref(json_object_get(planrec, "plan"));
	upgrade_opts_from_json(r->optsj, &r->o);
	r->backup_dir = xstrdup(json_string_value(json_object_get(planrec,
		"backup")) ?: "");
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
	in_rollback = journal_step_state(r.records, "rollback-stop") != NULL;
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
		"journal", j.dir, "from", json_object_get(plan, "from") ?:
		json_null(), "to", json_object_get(plan, "to") ?: json_null(),
		"state", final ? final : "running or interrupted", "steps",
		steps);
out:
	json_decref(recs);
	journal_close(&j);
	return out;
}
