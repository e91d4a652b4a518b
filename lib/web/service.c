/*
 * OMERO.web's gunicorn as a service (see service.h): the deployment's
 * files, the pre-start steps, and start/stop/status/reload/replace built
 * on gproc (processes) and health (HTTP).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "fs.h"
#include "proc.h"
#include "web/service.h"
#include "xalloc.h"
#include "banned.h"

extern char **environ;

#define STATE_MAX (1u << 20)
#define TAIL_LINES 20
#define CHECK_TIMEOUT 300.0	/* importing the app (a slow NFS, plugins) */

static char *
path_join(const char *a, const char *b)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_addf(&sb, "%s/%s", a, b);
	return sbuf_detach(&sb, NULL);
}

static void
sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* the deployment */

int
web_site_open(struct web_site *w, const char *omerodir,
	      const char *env_profile, struct err *e)
{
	struct stat st;

	memset(w, 0, sizeof(*w));
	w->store.lock.fd = -1;
	if (!omerodir || !*omerodir)
		return err_set(e, ERR_WEB_NO_OMERODIR,
			       "ERROR: OMERODIR not set");
	w->omerodir = xstrdup(omerodir);
	w->pidfile = path_join(omerodir, "var/django.pid");
	w->statefile = path_join(omerodir, "var/owctl-web.json");
	w->logfile = path_join(omerodir, "var/log/gunicorn.log");
	w->config_path = path_join(omerodir, "etc/grid/config.xml");
	/* omero-py would create (and lock) a missing or empty file; the
	 * settings import only reads an existing one. */
	if (stat(w->config_path, &st) == 0 && st.st_size > 0) {
		struct cfg_open_opts o = { .omerodir = omerodir,
					   .env_profile = env_profile };

		if (cfg_open(&w->store, &o, e) < 0)
			return -1;
		w->have_config = 1;
		w->profile = cfg_profile(&w->store);
		w->profile_name = cfg_active(&w->store);
	} else {
		w->profile_name = env_profile && *env_profile ? env_profile :
				  "default";
	}
	if (wsgi_settings_read(w->profile, &w->set, &w->settings_err) < 0)
		wsgi_settings_release(&w->set);
	return 0;
}

void
web_site_close(struct web_site *w)
{
	if (!w)
		return;
	free(w->omerodir);
	free(w->pidfile);
	free(w->statefile);
	free(w->logfile);
	free(w->config_path);
	if (w->have_config)
		cfg_close(&w->store);
	wsgi_settings_release(&w->set);
	err_clear(&w->settings_err);
	memset(w, 0, sizeof(*w));
	w->store.lock.fd = -1;
}

int
web_validate(const struct web_site *w, const char *target,
	     struct finding_list *out, struct err *e)
{
	const struct xelem *p = w->profile;
	struct cfg_kv *kv = xcalloc(p ? p->nkids + 1 : 1, sizeof(*kv));
	size_t n = 0;
	int r;

	for (size_t i = 0; p && i < p->nkids; i++) {
		const struct xelem *k = &p->kids[i];
		const char *name = xelem_attr(k, "name");
		const char *v = xelem_attr(k, "value");

		if (strcmp(k->tag, "property") || !name)
			continue;
		kv[n].key = name;
		kv[n++].value = v ? v : "";
	}
	r = cfg_validate(kv, n, target, w->omerodir, out, e);
	free(kv);
	return r;
}

/* environment and helper programs */

static int
env_dropped(const char *kv)
{
	static const char *const drop[] = {
		"NOTIFY_SOCKET=", "LISTEN_FDS=", "LISTEN_PID=",
		"LISTEN_FDNAMES=", "GUNICORN_FD=", "GUNICORN_PID=",
		"SCRIPT_NAME=", "PYTHONSAFEPATH=", "OMERODIR=", "PYTHONPATH=",
		"PATH=", NULL
	};

	for (const char *const *d = drop; *d; d++)
		if (!strncmp(kv, *d, strlen(*d)))
			return 1;
	return 0;
}

void
web_env(const struct web_site *w, const struct venv *v, int safepath,
	const char *extra, struct strv *env)
{
	const char *pp = getenv("PYTHONPATH");
	const char *path = getenv("PATH");

	for (char **p = environ; p && *p; p++)
		if (!env_dropped(*p))
			strv_push(env, *p);
	strv_pushf(env, "OMERODIR=%s", w->omerodir);
	if (pp && *pp)
		strv_pushf(env, "PYTHONPATH=%s:%s/var/lib", pp, w->omerodir);
	else
		strv_pushf(env, "PYTHONPATH=%s/var/lib", w->omerodir);
	strv_pushf(env, "PATH=%s:%s/bin", path && *path ? path :
		   "/usr/local/bin:/usr/bin:/bin", v ? v->dir : "/nonexistent");
	if (w->set.prefix)
		strv_pushf(env, "SCRIPT_NAME=%s", w->set.prefix);
	if (safepath)
		strv_push(env, "PYTHONSAFEPATH=1");
	if (extra)
		strv_push(env, extra);
}

int
web_manage(const struct web_site *w, const struct venv *v,
	   const char *const *args, double timeout, struct sbuf *out,
	   int *status, struct err *e)
{
	struct strv argv = STRV_INIT, env = STRV_INIT;
	struct proc_opts o = { 0 };
	struct proc_result r;
	int ret;

	strv_push(&argv, v->python);
	strv_push(&argv, "manage.py");
	for (; args && *args; args++)
		strv_push(&argv, *args);
	web_env(w, v, 0, NULL, &env);
	o.argv = (const char *const *)argv.v;
	o.env = (const char *const *)env.v;
	o.cwd = v->omeroweb_dir;
	o.out = out;
	o.flags = PROC_STDERR_TO_STDOUT;
	o.timeout = timeout;
	ret = proc_run(&o, &r, e);
	if (ret == 0)
		*status = r.status;
	strv_release(&argv);
	strv_release(&env);
	return ret;
}

/* The last n lines of s (or all of it). */
static const char *
last_lines(const struct sbuf *s, int n)
{
	size_t i = s->len;

	while (i > 0 && s->buf[i - 1] == '\n')
		i--;
	while (i > 0) {
		if (s->buf[i - 1] == '\n' && --n == 0)
			break;
		i--;
	}
	return s->buf + i;
}

int
web_check_app(const struct web_site *w, const struct venv *v,
	      double timeout, struct err *e)
{
	struct strv argv = STRV_INIT, env = STRV_INIT;
	struct proc_opts o = { 0 };
	struct proc_result r;
	struct sbuf out = SBUF_INIT;
	int ret = -1;

	strv_push(&argv, v->python);
	strv_push(&argv, "-c");
	strv_push(&argv, "import omeroweb.wsgi");
	web_env(w, v, 0, NULL, &env);
	o.argv = (const char *const *)argv.v;
	o.env = (const char *const *)env.v;
	o.cwd = v->omeroweb_dir;
	o.out = &out;
	o.flags = PROC_STDERR_TO_STDOUT;
	o.max_capture = 256 * 1024;
	o.timeout = timeout;
	if (proc_run(&o, &r, e) < 0) {
		err_prefix(e, "cannot check that OMERO.web loads");
		goto out;
	}
	if (r.status != 0) {
		sbuf_rtrim(&out);
		err_set(e, ERR_WEB_SETTINGS, "OMERO.web cannot be loaded by "
			"'%s' (import omeroweb.wsgi exited with status %d):\n%s",
			v->python, r.status, last_lines(&out, 8));
		goto out;
	}
	ret = 0;
out:
	sbuf_release(&out);
	strv_release(&argv);
	strv_release(&env);
	return ret;
}

void
web_log_tail(const char *path, long offset, int max_lines, struct sbuf *out)
{
	struct sbuf sb = SBUF_INIT;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char buf[8192];
	ssize_t n;

	if (fd < 0)
		return;
	if (offset > 0)
		lseek(fd, offset, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		sbuf_add(&sb, buf, (size_t)n);
		if (sb.len > (1u << 20)) {	/* keep the end only */
			memmove(sb.buf, sb.buf + sb.len - (1u << 19), 1u << 19);
			sbuf_setlen(&sb, 1u << 19);
		}
	}
	close(fd);
	sbuf_adds(out, last_lines(&sb, max_lines));
	sbuf_release(&sb);
}

static long
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* owctl's state file */

static void
state_release(struct web_state *s)
{
	free(s->venv);
	free(s->url);
	free(s->bind);
	free(s->log);
	strv_release(&s->argv);
	memset(s, 0, sizeof(*s));
}

static char *
jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static int
state_read(const char *path, struct web_state *s)
{
	struct sbuf sb = SBUF_INIT;
	struct err e = ERR_INIT;
	json_t *j = NULL, *a;
	size_t i;
	json_t *x;
	int ret = -1;

	memset(s, 0, sizeof(*s));
	if (fs_read_file(path, STATE_MAX, &sb, &e) < 0)
		goto out;
	j = json_loadb(sb.buf, sb.len, 0, NULL);
	if (!json_is_object(j))
		goto out;
	s->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
	s->starttime = (unsigned long long)json_integer_value(
		json_object_get(j, "starttime"));
	if (json_is_string(json_object_get(j, "boot_id")))
		snprintf(s->boot_id, sizeof(s->boot_id), "%s",
			 json_string_value(json_object_get(j, "boot_id")));
	s->started = json_number_value(json_object_get(j, "started"));
	s->venv = jstr(j, "venv");
	s->url = jstr(j, "url");
	s->bind = jstr(j, "bind");
	s->log = jstr(j, "log");
	s->foreground = json_is_true(json_object_get(j, "foreground"));
	a = json_object_get(j, "argv");
	json_array_foreach(a, i, x)
		if (json_is_string(x))
			strv_push(&s->argv, json_string_value(x));
	ret = s->pid > 0 ? 0 : -1;
out:
	json_decref(j);
	err_clear(&e);
	sbuf_release(&sb);
	if (ret < 0)
		state_release(s);
	return ret;
}

static int
state_write(const char *path, const struct web_state *s, struct err *e)
{
	json_t *j = json_object(), *a = json_array();
	char *txt;
	int r;

	json_object_set_new(j, "schema", json_string("owctl.web.state/1"));
	json_object_set_new(j, "pid", json_integer(s->pid));
	json_object_set_new(j, "starttime", json_integer(
		(json_int_t)s->starttime));
	json_object_set_new(j, "boot_id", json_string(s->boot_id));
	json_object_set_new(j, "started", json_real(s->started));
	json_object_set_new(j, "venv", s->venv ? json_string(s->venv) :
			    json_null());
	json_object_set_new(j, "url", s->url ? json_string(s->url) :
			    json_null());
	json_object_set_new(j, "bind", s->bind ? json_string(s->bind) :
			    json_null());
	json_object_set_new(j, "log", s->log ? json_string(s->log) :
			    json_null());
	json_object_set_new(j, "foreground", json_boolean(s->foreground));
	for (size_t i = 0; i < s->argv.n; i++)
		json_array_append_new(a, json_string(s->argv.v[i]));
	json_object_set_new(j, "argv", a);
	txt = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	r = fs_write_atomic(path, txt, strlen(txt), 0644, e);
	free(txt);
	json_decref(j);
	return r;
}

/* Record pid as the master owctl runs now. */
static int
state_record(const struct web_site *w, pid_t pid, const struct strv *argv,
	     const char *venv, const char *url, int foreground,
	     struct err *e)
{
	struct web_state s;
	struct gproc g;
	int r;

	memset(&s, 0, sizeof(s));
	if (gproc_read(pid, &g) < 0)
		return err_set(e, ERR_FAIL, "PID %d is gone", (int)pid);
	s.pid = pid;
	s.starttime = g.starttime;
	gproc_boot_id(s.boot_id, sizeof(s.boot_id));
	s.started = g.start_epoch;
	s.venv = venv ? xstrdup(venv) : NULL;
	s.url = url ? xstrdup(url) : NULL;
	if (w->set.host) {
		struct sbuf b = SBUF_INIT;

		sbuf_addf(&b, "%s:%lld", w->set.host, w->set.port);
		s.bind = sbuf_detach(&b, NULL);
	}
	s.log = xstrdup(w->logfile);
	s.foreground = foreground;
	for (size_t i = 0; i < argv->n; i++)
		strv_push(&s.argv, argv->v[i]);
	r = state_write(w->statefile, &s, e);
	state_release(&s);
	return r;
}

void
web_forget(const struct web_site *w)
{
	unlink(w->pidfile);
	unlink(w->statefile);
}

/* the pid file */

const char *
web_pid_status_name(enum web_pid_status st)
{
	switch (st) {
	case WEB_PID_NONE:
		return "none";
	case WEB_PID_BAD:
		return "bad";
	case WEB_PID_DEAD:
		return "dead";
	case WEB_PID_FOREIGN:
		return "foreign";
	case WEB_PID_RUNNING:
		return "running";
	}
	return "?";
}

void
web_pid_release(struct web_pid *p)
{
	if (!p)
		return;
	if (p->pidfd >= 0)
		close(p->pidfd);
	free(p->why);
	state_release(&p->state);
	memset(p, 0, sizeof(*p));
	p->pidfd = -1;
}

int
web_pid_read(const struct web_site *w, const char *path, struct web_pid *p,
	     struct err *e)
{
	struct sbuf sb = SBUF_INIT, why = SBUF_INIT;
	struct gmaster_expect x = { .app = WSGI_APP, .pidfile = w->pidfile };
	struct stat st;
	char *end;
	long pid;
	char boot[64];

	memset(p, 0, sizeof(*p));
	p->pidfd = -1;
	if (fs_read_file(path, 4096, &sb, e) < 0) {
		sbuf_release(&sb);
		if (errno == ENOENT) {
			err_clear(e);
			p->st = WEB_PID_NONE;
			return 0;
		}
		return -1;
	}
	if (stat(path, &st) == 0)
		x.pidfile_mtime = st.st_mtime;
	sbuf_rtrim(&sb);
	errno = 0;
	pid = strtol(sb.buf, &end, 10);
	if (errno || end == sb.buf || *end || pid <= 0 || pid > 0x3fffffff) {
		p->st = WEB_PID_BAD;
		sbuf_addf(&why, "'%s' holds '%.40s', not a PID", path, sb.buf);
		p->why = sbuf_detach(&why, NULL);
		sbuf_release(&sb);
		return 0;
	}
	sbuf_release(&sb);
	p->pid = (pid_t)pid;
	if (state_read(w->statefile, &p->state) == 0) {
		gproc_boot_id(boot, sizeof(boot));
		if (p->state.pid == p->pid && !strcmp(boot, p->state.boot_id)) {
			p->have_state = 1;
			x.starttime = p->state.starttime;
		}
	}
	p->pidfd = gproc_pidfd(p->pid);
	switch (gmaster_check(p->pid, &x, &why)) {
	case GMASTER_RUNNING:
		p->st = WEB_PID_RUNNING;
		break;
	case GMASTER_DEAD:
		p->st = WEB_PID_DEAD;
		break;
	case GMASTER_FOREIGN:
		p->st = WEB_PID_FOREIGN;
		break;
	}
	if (p->st != WEB_PID_RUNNING) {
		if (p->pidfd >= 0)
			close(p->pidfd);
		p->pidfd = -1;
		p->why = sbuf_detach(&why, NULL);
	}
	sbuf_release(&why);
	return 0;
}

/* sockets */

/* Resolve host:port; for a wildcard host, the loopback of its family. */
static struct addrinfo *
resolve(const char *host, long long port, int passive)
{
	struct addrinfo hints, *res = NULL;
	char service[32];
	const char *h = host;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = passive ? AI_PASSIVE : 0;
	if (h[0] == '[') {
		static char buf[256];
		size_t n = strcspn(h + 1, "]");

		snprintf(buf, sizeof(buf), "%.*s", (int)n, h + 1);
		h = buf;
	}
	if (!passive && (!strcmp(h, "0.0.0.0") || !*h))
		h = "127.0.0.1";
	else if (!passive && !strcmp(h, "::"))
		h = "::1";
	snprintf(service, sizeof(service), "%lld", port);
	if (getaddrinfo(*h ? h : NULL, service, &hints, &res) != 0)
		return NULL;
	return res;
}

/* Does something accept TCP connections on host:port? */
static int
port_accepts(const char *host, long long port)
{
	struct addrinfo *res = resolve(host, port, 0);
	int ok = 0;

	for (struct addrinfo *a = res; a && !ok; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC |
				SOCK_NONBLOCK, a->ai_protocol);
		struct pollfd pf;
		int err = 0;
		socklen_t len = sizeof(err);

		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			ok = 1;
		} else if (errno == EINPROGRESS) {
			pf.fd = fd;
			pf.events = POLLOUT;
			if (poll(&pf, 1, 500) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0
			    && err == 0)
				ok = 1;
		}
		close(fd);
	}
	if (res)
		freeaddrinfo(res);
	return ok;
}

/* The PID holding a listening socket on port (from /proc/net/tcp*). */
static pid_t
port_holder(long long port)
{
	static const char *const tables[] = { "/proc/net/tcp",
					      "/proc/net/tcp6", NULL };
	unsigned long inode = 0;
	pid_t found = 0;

	for (const char *const *t = tables; *t && !inode; t++) {
		struct sbuf sb = SBUF_INIT;
		struct err e = ERR_INIT;

		if (fs_read_file(*t, 8u << 20, &sb, &e) < 0) {
			err_clear(&e);
			sbuf_release(&sb);
			continue;
		}
		for (char *line = strchr(sb.buf, '\n'); line && !inode;
		     line = strchr(line + 1, '\n')) {
			/* "sl: local rem st tx:rx tr:when retrnsmt uid
			 *  timeout inode ..." */
			char *f[10], *save = NULL, *end;
			char buf[512];
			size_t n = strcspn(line + 1, "\n"), nf = 0;
			char *colon;

			if (n >= sizeof(buf))
				continue;
			memcpy(buf, line + 1, n);
			buf[n] = '\0';
			for (char *tok = strtok_r(buf, " ", &save); tok && nf < 10;
			     tok = strtok_r(NULL, " ", &save))
				f[nf++] = tok;
			if (nf < 10 || strcmp(f[3], "0A"))
				continue;
			colon = strrchr(f[1], ':');
			if (colon && strtoll(colon + 1, &end, 16) == port)
				inode = strtoul(f[9], &end, 10);
		}
		sbuf_release(&sb);
	}
	if (inode) {
		char want[64];
		DIR *d = opendir("/proc");
		struct dirent *de;

		snprintf(want, sizeof(want), "socket:[%lu]", inode);
		while (!found && d && (de = readdir(d))) {
			char fddir[300];
			DIR *fdd;
			struct dirent *fe;

			if (de->d_name[0] < '0' || de->d_name[0] > '9')
				continue;
			snprintf(fddir, sizeof(fddir), "/proc/%s/fd",
				 de->d_name);
			fdd = opendir(fddir);
			while (!found && fdd && (fe = readdir(fdd))) {
				char link[600], target[64];
				ssize_t n;

				snprintf(link, sizeof(link), "%s/%s", fddir,
					 fe->d_name);
				n = readlink(link, target, sizeof(target) - 1);
				if (n > 0) {
					target[n] = '\0';
					if (!strcmp(target, want))
						found = (pid_t)strtol(de->d_name, NULL, 10);
				}
			}
			if (fdd)
				closedir(fdd);
		}
		if (d)
			closedir(d);
	}
	return found;
}

/* Can gunicorn bind host:port? Else why says who holds it. */
static int
port_bindable(const char *host, long long port, struct sbuf *why)
{
	struct addrinfo *res = resolve(host, port, 1);
	int ok = 1;

	if (!res)
		return 1;	/* let gunicorn report it */
	{
		int one = 1;
		int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC,
				res->ai_protocol);

		if (fd >= 0) {
			/* gunicorn sets SO_REUSEADDR too: TIME_WAIT is fine */
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				   sizeof(one));
			if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 &&
			    errno == EADDRINUSE) {
				pid_t holder = port_holder(port);

				ok = 0;
				sbuf_addf(why, "%s:%lld is already in use",
					  host, port);
				if (holder > 0) {
					struct strv argv = STRV_INIT;

					sbuf_addf(why, " by PID %d",
						  (int)holder);
					if (gproc_cmdline(holder, &argv) == 0 &&
					    argv.n)
						sbuf_addf(why, " ('%s')",
							  argv.v[0]);
					strv_release(&argv);
				}
			}
			close(fd);
		}
	}
	freeaddrinfo(res);
	return ok;
}

/* start */

int
web_command(const struct web_site *w, const struct venv *v,
	    struct strv *argv, int *safepath, struct err *e)
{
	struct strv words = STRV_INIT;

	if (w->settings_err.code != ERR_NONE)
		return err_set(e, w->settings_err.code, "%s",
			       w->settings_err.msg);
	if (!strcmp(w->set.app_server, "wsgi"))
		return err_set(e, ERR_WEB_INVALID_SERVER, "[ERROR] You are "
			       "deploying OMERO.web using Apache and "
			       "mod_wsgi. OMERO.web does not provide any "
			       "management for the daemon process which "
			       "communicates with Apache child processes "
			       "using UNIX sockets to handle a request.");
	if (!strcmp(w->set.app_server, "development"))
		return err_set(e, ERR_WEB_INVALID_SERVER, "owctl runs OMERO.web "
			       "with gunicorn only (omero.web.application_"
			       "server is 'development'): run 'manage.py "
			       "runserver' yourself, or set it to 'wsgi-tcp'");
	if (wsgi_build_argv(&w->set, w->omerodir, WSGI_SUPERVISED, &words,
			    e) < 0)
		return -1;
	venv_gunicorn_argv(v, argv, safepath);
	for (size_t i = 1; i < words.n; i++)
		strv_push(argv, words.v[i]);
	strv_release(&words);
	return 0;
}

static long
workers_in(const struct strv *argv)
{
	const char *v = argv->n ? wsgi_argv_option(
		(const char *const *)argv->v, 1, "--workers", "-w") : NULL;
	long n = v ? strtol(v, NULL, 10) : 1;

	return n > 0 ? n : 1;
}

static int
in_set(pid_t pid, const pid_t *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == pid)
			return 1;
	return 0;
}

/*
 * Wait until master runs want workers, none of them in old, all of which
 * loaded the app. -1 (why set) when master dies or the deadline passes.
 */
static int
await_workers(pid_t master, int pidfd, const pid_t *old, size_t nold,
	      long want, double deadline, size_t *got, struct sbuf *why)
{
	for (;;) {
		pid_t *kids;
		size_t n = gmaster_children(master, &kids), fresh = 0;
		size_t total, booted;
		int stale = 0, ok;

		for (size_t i = 0; i < n; i++) {
			if (in_set(kids[i], old, nold))
				stale = 1;
			else
				fresh++;
		}
		free(kids);
		ok = !stale && fresh >= (size_t)want;
		booted = 0;
		if (gmaster_heartbeats(master, &total, &booted) == 0 && ok)
			ok = total == fresh && booted == total;
		if (ok) {
			*got = fresh;
			return 0;
		}
		if (!gproc_alive(master)) {
			sbuf_addf(why, "gunicorn master %d exited",
				  (int)master);
			return -1;
		}
		if (fs_now() >= deadline) {
			sbuf_addf(why, "%zu of %ld new workers had loaded the "
				  "app when the timeout passed", booted, want);
			return -1;
		}
		if (pidfd >= 0) {
			struct pollfd pf = { pidfd, POLLIN, 0 };

			poll(&pf, 1, 50);
		} else {
			sleep_s(0.05);
		}
	}
}

void
web_launch_result_release(struct web_launch_result *r)
{
	if (!r)
		return;
	strv_release(&r->argv);
	free(r->url);
	free(r->log_tail);
	gchild_close(&r->child);
	memset(r, 0, sizeof(*r));
	r->child = (struct gchild)GCHILD_INIT;
}

/* The live children of pid, each with a pidfd opened now. */
struct kids {
	pid_t *pids;
	int *fds;
	size_t n;
};

static void
kids_collect(pid_t master, struct kids *k)
{
	k->n = gmaster_children(master, &k->pids);
	k->fds = xcalloc(k->n + 1, sizeof(*k->fds));
	for (size_t i = 0; i < k->n; i++)
		k->fds[i] = gproc_pidfd(k->pids[i]);
}

static void
kids_release(struct kids *k)
{
	for (size_t i = 0; i < k->n; i++)
		if (k->fds[i] >= 0)
			close(k->fds[i]);
	free(k->pids);
	free(k->fds);
	memset(k, 0, sizeof(*k));
}

/*
 * gunicorn 20.1 loses a SIGTERM that reaches a worker between its fork and
 * its signal set-up (the inherited arbiter handler queues it), and its
 * master then waits graceful_timeout (30 s) for it. Repeating the TERM to
 * the workers themselves, as the arbiter does, ends that wait.
 */
static void
kids_nudge(const struct kids *k, int sig)
{
	for (size_t i = 0; i < k->n; i++)
		if (gproc_alive(k->pids[i]))
			gproc_kill(k->fds[i], k->pids[i], sig);
}

/* Wait for every kid to exit; SIGKILL the rest at deadline. 1: killed. */
static int
kids_reap(struct kids *k, double deadline)
{
	int killed = 0;

	for (size_t i = 0; i < k->n; i++)
		if (!gproc_wait_gone(k->fds[i], k->pids[i], deadline)) {
			gproc_kill(k->fds[i], k->pids[i], SIGKILL);
			killed = 1;
		}
	for (size_t i = 0; i < k->n; i++)
		gproc_wait_gone(k->fds[i], k->pids[i], fs_now() + 5);
	return killed;
}

/* Stop a child master owctl started and everything it forked. */
static void
stop_child(struct gchild *c, double grace)
{
	struct kids k = { 0 };
	int sig;

	if (gchild_poll(c))
		return;
	kids_collect(c->pid, &k);
	gchild_signal(c, SIGTERM);
	if (gchild_wait(c, fs_now() + 1, 0, -1, &sig) != GCHILD_EXITED)
		kids_nudge(&k, SIGTERM);
	if (!c->reaped &&
	    gchild_wait(c, fs_now() + grace, 0, -1, &sig) != GCHILD_EXITED) {
		gchild_signal(c, SIGKILL);
		gchild_wait(c, fs_now() + 5, 0, -1, &sig);
	}
	kids_reap(&k, fs_now() + grace);
	kids_release(&k);
}

/* Remove the pid file when it names pid. */
static int
unlink_pidfile_of(const char *path, pid_t pid)
{
	struct sbuf sb = SBUF_INIT;
	struct err e = ERR_INIT;
	int removed = 0;

	if (fs_read_file(path, 4096, &sb, &e) == 0) {
		sbuf_rtrim(&sb);
		if (strtol(sb.buf, NULL, 10) == (long)pid && unlink(path) == 0)
			removed = 1;
	}
	err_clear(&e);
	sbuf_release(&sb);
	return removed;
}

/* gunicorn's own error log when wsgi_args name one (else NULL). */
static const char *
error_log_of(const struct strv *argv)
{
	const char *p = wsgi_argv_option((const char *const *)argv->v, 1,
					 "--error-logfile", NULL);
	const char *q = wsgi_argv_option((const char *const *)argv->v, 1,
					 "--log-file", NULL);

	/* both spell the same setting: the later one wins */
	for (size_t i = argv->n; i-- > 1;) {
		if (!strncmp(argv->v[i], "--log-file", 10)) {
			p = q;
			break;
		}
		if (!strncmp(argv->v[i], "--error-logfile", 15))
			break;
	}
	return p && strcmp(p, "-") ? p : NULL;
}

static void
collect_tail(const struct web_site *w, const struct strv *argv, long off,
	     const char *elog, long eoff, struct web_launch_result *r)
{
	struct sbuf t = SBUF_INIT;

	web_log_tail(w->logfile, off, TAIL_LINES, &t);
	if (elog) {
		if (t.len && t.buf[t.len - 1] != '\n')
			sbuf_addch(&t, '\n');
		web_log_tail(elog, eoff, TAIL_LINES, &t);
	}
	(void)argv;
	sbuf_rtrim(&t);
	free(r->log_tail);
	r->log_tail = sbuf_detach(&t, NULL);
}

int
web_launch(const struct web_site *w, const struct web_launch_opts *o,
	   struct web_launch_result *r, struct err *e)
{
	struct strv env = STRV_INIT;
	struct sbuf why = SBUF_INIT;
	struct gchild *c = &r->child;
	const char *elog;
	char *logdir = NULL;
	long off, eoff = 0;
	double t0, deadline;
	int safepath = 0, sig, n5xx = 0, ret = -1;

	memset(r, 0, sizeof(*r));
	r->child = (struct gchild)GCHILD_INIT;
	r->exit_status = -1;
	if (web_command(w, o->venv, &r->argv, &safepath, e) < 0)
		return -1;
	if (o->pidfile)
		for (size_t i = 1; i + 1 < r->argv.n; i++)
			if (!strcmp(r->argv.v[i], "-p")) {
				free(r->argv.v[i + 1]);
				r->argv.v[i + 1] = xstrdup(o->pidfile);
				break;
			}
	r->url = wsgi_health_url(&w->set, o->health_path);
	if (!port_bindable(w->set.host, w->set.port, &why)) {
		err_set(e, ERR_WEB_NOT_READY, "cannot start OMERO.web: %s",
			why.buf);
		goto out;
	}
	logdir = path_join(w->omerodir, "var/log");
	if (fs_mkdir_p(logdir, 0755, e) < 0)
		goto out;
	elog = error_log_of(&r->argv);
	off = file_size(w->logfile);
	if (elog)
		eoff = file_size(elog);
	if (gchild_notify_open(c, e) < 0)
		goto out;
	web_env(w, o->venv, safepath, c->notify_env, &env);
	t0 = fs_now();
	deadline = t0 + (o->timeout > 0 ? o->timeout : 60);
	if (gchild_spawn(c, (const char *const *)r->argv.v,
			 (const char *const *)env.v, o->venv->omeroweb_dir,
			 w->logfile, o->foreground ? 0 : GCHILD_SETSID, e) < 0)
		goto out;
	r->pid = c->pid;
	/* 1. gunicorn says it listens */
	for (;;) {
		enum gchild_event ev = gchild_wait(c, deadline, 1, o->sigfd,
						   &sig);

		if (ev == GCHILD_READY)
			break;
		if (ev == GCHILD_SIGNAL) {
			if (o->foreground) {
				gchild_signal(c, sig);
				continue;
			}
			err_set(e, ERR_WEB_NOT_READY, "interrupted by signal "
				"%d while gunicorn was starting", sig);
			goto fail;
		}
		if (ev == GCHILD_EXITED) {
			r->exit_status = c->status;
			err_set(e, ERR_WEB_NOT_READY, "gunicorn exited with "
				"status %d before it was ready", c->status);
			goto fail;
		}
		err_set(e, ERR_WEB_NOT_READY, "gunicorn did not report "
			"READY=1 within %.0f seconds", deadline - t0);
		goto fail;
	}
	r->ready_after = fs_now() - t0;
	/* 2. the app answers (a worker has loaded it) */
	for (;;) {
		double left = deadline - fs_now();
		int pr;

		if (gchild_poll(c)) {
			r->exit_status = c->status;
			err_set(e, ERR_WEB_NOT_READY, "gunicorn exited with "
				"status %d before the app answered", c->status);
			goto fail;
		}
		pr = http_probe(r->url, NULL, left > 5 ? 5 : left > 0.2 ? left :
				0.2, &r->probe, e);
		if (pr < 0)
			goto fail;
		if (pr == 0 && http_status_healthy(r->probe.status))
			break;
		if (pr == 0 && ++n5xx >= 3) {
			err_set(e, ERR_WEB_NOT_READY, "%s answered HTTP %ld",
				r->url, r->probe.status);
			goto fail;
		}
		if (fs_now() >= deadline) {
			err_set(e, ERR_WEB_NOT_READY, "no answer from %s within "
				"%.0f seconds (%s)", r->url, deadline - t0,
				pr == 0 ? "HTTP error" : r->probe.error);
			goto fail;
		}
		switch (gchild_wait(c, fs_now() + 0.1, 0, o->sigfd, &sig)) {
		case GCHILD_SIGNAL:
			if (o->foreground) {
				gchild_signal(c, sig);
				break;
			}
			err_set(e, ERR_WEB_NOT_READY, "interrupted by signal "
				"%d while gunicorn was starting", sig);
			goto fail;
		default:
			break;
		}
	}
	/* every worker has loaded the app, not just the one that answered
	 * (a later one would read a config.xml changed meanwhile) */
	{
		sbuf_reset(&why);
		if (await_workers(c->pid, c->pidfd, NULL, 0,
				  workers_in(&r->argv), deadline, &r->workers,
				  &why) < 0) {
			if (gchild_poll(c))
				r->exit_status = c->status;
			err_set(e, ERR_WEB_NOT_READY, "gunicorn answered but "
				"its workers did not all start: %s", why.buf);
			goto fail;
		}
	}
	r->healthy_after = fs_now() - t0;
	if (state_record(w, c->pid, &r->argv, o->venv->dir, r->url,
			 o->foreground, e) < 0)
		goto fail;
	if (!o->foreground)
		gchild_close(c);
	ret = 0;
	goto out;
fail:
	stop_child(c, 10);
	if (r->exit_status < 0 && c->reaped && c->status != 128 + SIGTERM)
		r->exit_status = c->status;
	unlink_pidfile_of(w->pidfile, c->pid);
	collect_tail(w, &r->argv, off, elog, eoff, r);
	gchild_close(c);
out:
	free(logdir);
	sbuf_release(&why);
	strv_release(&env);
	return ret;
}

int
web_supervise(const struct web_site *w, struct web_launch_result *r,
	      int sigfd, int *removed_pidfile)
{
	struct gchild *c = &r->child;
	int sig;

	*removed_pidfile = 0;
	for (;;) {
		enum gchild_event ev = gchild_wait(c, fs_now() + 3600, 0,
						   sigfd, &sig);

		if (ev == GCHILD_EXITED)
			break;
		if (ev == GCHILD_SIGNAL)
			gchild_signal(c, sig);
	}
	/* workers outlive a killed master for a moment: take them too */
	{
		struct kids k = { 0 };

		kids_collect(c->pid, &k);
		kids_reap(&k, fs_now() + 10);
		kids_release(&k);
	}
	if (unlink(w->pidfile) == 0)
		*removed_pidfile = 1;
	unlink(w->statefile);
	gchild_close(c);
	return c->status;
}

int
web_sd_notify(const char *address, const char *msg, struct err *e)
{
	struct sockaddr_un sa;
	socklen_t len;
	size_t alen = strlen(address);
	int fd, r;

	if (alen == 0 || alen >= sizeof(sa.sun_path) ||
	    (address[0] != '/' && address[0] != '@'))
		return err_set(e, ERR_FAIL, "unusable NOTIFY_SOCKET '%s'",
			       address);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, address, alen);
	if (address[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + alen);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_errno(e, ERR_IO, errno, "cannot notify systemd");
	r = (int)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
			(struct sockaddr *)&sa, len);
	close(fd);
	if (r < 0)
		return err_errno(e, ERR_IO, errno, "cannot notify systemd at "
				 "'%s'", address);
	return 0;
}

/* stop */

void
web_stop_result_release(struct web_stop_result *r)
{
	if (!r)
		return;
	free(r->why);
	memset(r, 0, sizeof(*r));
}

/* host and port the running master listens on (state, else config) */
static void
bind_of(const struct web_site *w, const struct web_pid *p, char **host,
	long long *port)
{
	const char *b = p->have_state && p->state.bind ? p->state.bind : NULL;
	const char *colon = b ? strrchr(b, ':') : NULL;

	if (colon) {
		*host = xstrndup(b, (size_t)(colon - b));
		*port = strtoll(colon + 1, NULL, 10);
	} else {
		*host = xstrdup(w->set.host ? w->set.host : "127.0.0.1");
		*port = w->set.host ? w->set.port : 4080;
	}
}

/* Stop one master (already checked, pidfd open): TERM, wait, KILL. */
static int
stop_master(pid_t pid, int pidfd, double deadline, struct kids *k,
	    int *killed)
{
	kids_collect(pid, k);
	if (gproc_kill(pidfd, pid, SIGTERM) < 0 && errno != ESRCH)
		return -1;
	if (!gproc_wait_gone(pidfd, pid, fs_now() + 1 < deadline ?
			     fs_now() + 1 : deadline))
		kids_nudge(k, SIGTERM);
	if (!gproc_wait_gone(pidfd, pid, deadline)) {
		gproc_kill(pidfd, pid, SIGKILL);
		*killed = 1;
		gproc_wait_gone(pidfd, pid, fs_now() + 5);
	}
	if (kids_reap(k, deadline))
		*killed = 1;
	return 0;
}

int
web_stop(const struct web_site *w, double timeout, struct web_stop_result *r,
	 struct err *e)
{
	struct web_pid p, p2;
	struct kids k = { 0 }, k2 = { 0 };
	char *pid2path = NULL, *host = NULL;
	long long port;
	double t0 = fs_now(), deadline = t0 + (timeout > 0 ? timeout : 40);
	int ret = -1;

	memset(r, 0, sizeof(*r));
	memset(&p2, 0, sizeof(p2));
	p2.pidfd = -1;
	if (web_pid_read(w, w->pidfile, &p, e) < 0)
		return -1;
	r->found = p.st;
	r->pid = p.pid;
	if (p.st == WEB_PID_NONE) {
		ret = 0;
		goto out;
	}
	if (p.st != WEB_PID_RUNNING) {
		r->why = p.why ? xstrdup(p.why) : NULL;
		web_forget(w);
		ret = 0;
		goto out;
	}
	bind_of(w, &p, &host, &port);
	/* a USR2 hand-over in progress: its new master goes too */
	pid2path = path_join(w->omerodir, "var/django.pid.2");
	if (web_pid_read(w, pid2path, &p2, e) < 0)
		err_clear(e);
	if (p2.st == WEB_PID_RUNNING)
		stop_master(p2.pid, p2.pidfd, deadline, &k2, &r->killed);
	if (stop_master(p.pid, p.pidfd, deadline, &k, &r->killed) < 0) {
		err_errno(e, ERR_FAIL, errno, "cannot signal PID %d",
			  (int)p.pid);
		goto out;
	}
	r->workers = k.n;
	r->seconds = fs_now() - t0;
	if (gproc_alive(p.pid)) {
		err_set(e, ERR_WEB_NOT_READY, "PID %d survived SIGKILL",
			(int)p.pid);
		goto out;
	}
	/* the listening socket closes with the last process holding it */
	while (port_accepts(host, port) && fs_now() < deadline + 2)
		sleep_s(0.05);
	r->port_free = !port_accepts(host, port);
	unlink_pidfile_of(w->pidfile, p.pid);
	if (p2.st == WEB_PID_RUNNING)
		unlink_pidfile_of(pid2path, p2.pid);
	unlink(w->statefile);
	ret = 0;
out:
	kids_release(&k);
	kids_release(&k2);
	web_pid_release(&p);
	web_pid_release(&p2);
	free(pid2path);
	free(host);
	return ret;
}

/* status */

void
web_status_release(struct web_status *st)
{
	if (!st)
		return;
	web_pid_release(&st->pid);
	free(st->workers);
	free(st->bind);
	free(st->url);
	memset(st, 0, sizeof(*st));
	st->pid.pidfd = -1;
}

int
web_status(const struct web_site *w, const char *health_path,
	   double timeout, struct web_status *st, struct err *e)
{
	char *host = NULL;
	long long port;
	struct gproc g;

	memset(st, 0, sizeof(*st));
	st->pid.pidfd = -1;
	if (web_pid_read(w, w->pidfile, &st->pid, e) < 0) {
		st->lsb = 4;
		st->state = "unknown";
		return -1;
	}
	switch (st->pid.st) {
	case WEB_PID_NONE:
		st->lsb = 3;
		st->state = "stopped";
		return 0;
	case WEB_PID_BAD:
	case WEB_PID_DEAD:
	case WEB_PID_FOREIGN:
		st->lsb = 1;
		st->state = "dead";
		return 0;
	case WEB_PID_RUNNING:
		break;
	}
	bind_of(w, &st->pid, &host, &port);
	st->bind = xmalloc(strlen(host) + 32);
	snprintf(st->bind, strlen(host) + 32, "%s:%lld", host, port);
	free(host);
	if (st->pid.have_state && st->pid.state.url && !health_path) {
		st->url = xstrdup(st->pid.state.url);
	} else if (w->set.host) {
		st->url = wsgi_health_url(&w->set, health_path);
	} else {
		struct wsgi_settings d;
		struct err ignore = ERR_INIT;

		wsgi_settings_read(NULL, &d, &ignore);
		err_clear(&ignore);
		st->url = wsgi_health_url(&d, health_path);
		wsgi_settings_release(&d);
	}
	if (gproc_read(st->pid.pid, &g) == 0)
		st->started = g.start_epoch;
	{
		pid_t *kids;
		size_t n = gmaster_children(st->pid.pid, &kids);

		st->workers = kids;
		st->nworkers = n;
	}
	st->probed = 1;
	if (http_probe(st->url, NULL, timeout > 0 ? timeout : 5, &st->probe,
		       e) < 0)
		return -1;
	if (st->probe.status && http_status_healthy(st->probe.status)) {
		st->lsb = 0;
		st->state = "running";
	} else {
		st->lsb = 4;
		st->state = "not-answering";
	}
	return 0;
}

/* reload and replace */

void
web_reload_result_release(struct web_reload_result *r)
{
	if (!r)
		return;
	free(r->note);
	free(r->log_tail);
	memset(r, 0, sizeof(*r));
}

/* An HTTP answer (2xx-4xx) from url while pid lives. */
static int
await_answer(const char *url, pid_t pid, double deadline,
	     struct http_probe *p, struct sbuf *why, struct err *e)
{
	int n5xx = 0;

	for (;;) {
		double left = deadline - fs_now();
		int r = http_probe(url, NULL, left > 5 ? 5 : left > 0.2 ? left :
				   0.2, p, e);

		if (r < 0)
			return -2;
		if (r == 0 && http_status_healthy(p->status))
			return 0;
		if (r == 0 && ++n5xx >= 3) {
			sbuf_addf(why, "%s answered HTTP %ld", url, p->status);
			return -1;
		}
		if (!gproc_alive(pid)) {
			sbuf_addf(why, "gunicorn master %d exited", (int)pid);
			return -1;
		}
		if (fs_now() >= deadline) {
			sbuf_addf(why, "no answer from %s (%s)", url,
				  r ? p->error : "HTTP error");
			return -1;
		}
		sleep_s(0.1);
	}
}

static const struct strv *
running_argv(const struct web_pid *p, struct strv *buf)
{
	if (p->have_state && p->state.argv.n)
		return &p->state.argv;
	gproc_cmdline(p->pid, buf);
	return buf;
}

static char *
argv_diff(const struct strv *a, const struct strv *b)
{
	struct sbuf d = SBUF_INIT;
	size_t n = a->n > b->n ? a->n : b->n;

	for (size_t i = 0; i < n; i++) {
		const char *x = i < a->n ? a->v[i] : "(nothing)";
		const char *y = i < b->n ? b->v[i] : "(nothing)";

		if (strcmp(x, y)) {
			sbuf_addf(&d, "'%s' is now '%s'", x, y);
			break;
		}
	}
	if (!d.len)
		return NULL;
	return sbuf_detach(&d, NULL);
}

static int
not_running(const struct web_pid *p, struct err *e)
{
	if (p->st == WEB_PID_NONE)
		return err_set(e, ERR_WEB_NOT_READY, "OMERO.web is not "
			       "running (no pid file)");
	return err_set(e, ERR_WEB_NOT_READY, "OMERO.web is not running (%s)",
		       p->why ? p->why : web_pid_status_name(p->st));
}

int
web_reload(const struct web_site *w, const struct venv *v,
	   const char *health_path, double timeout,
	   struct web_reload_result *r, struct err *e)
{
	struct web_pid p;
	struct strv cmd = STRV_INIT, now = STRV_INIT;
	struct sbuf why = SBUF_INIT;
	pid_t *old = NULL;
	size_t nold;
	char *url = NULL;
	double t0 = fs_now(), deadline;
	long off = file_size(w->logfile);
	int safepath, ret = -1, pr;

	memset(r, 0, sizeof(*r));
	if (web_pid_read(w, w->pidfile, &p, e) < 0)
		return -1;
	if (p.st != WEB_PID_RUNNING) {
		not_running(&p, e);
		goto out;
	}
	r->pid = p.pid;
	if (v && web_check_app(w, v, CHECK_TIMEOUT, e) < 0) {
		err_prefix(e, "not reloaded (the running workers are kept)");
		goto out;
	}
	r->check_s = fs_now() - t0;
	/* the timeout is for the new workers, not for the check */
	deadline = fs_now() + (timeout > 0 ? timeout : 60);
	/* settings the app reads are re-read; the command line is not */
	if (v && web_command(w, v, &cmd, &safepath, e) == 0) {
		r->note = argv_diff(running_argv(&p, &now), &cmd);
		if (r->note) {
			char *n = r->note;
			struct sbuf sb = SBUF_INIT;

			sbuf_addf(&sb, "the gunicorn command line changed (%s); "
				  "'owctl web restart' applies it", n);
			free(n);
			r->note = sbuf_detach(&sb, NULL);
		}
	}
	err_clear(e);
	nold = gmaster_children(p.pid, &old);
	if (gproc_kill(p.pidfd, p.pid, SIGHUP) < 0) {
		err_errno(e, ERR_FAIL, errno, "cannot signal PID %d",
			  (int)p.pid);
		goto out;
	}
	if (await_workers(p.pid, p.pidfd, old, nold, workers_in(
		running_argv(&p, &now)), deadline, &r->workers, &why) < 0)
		goto fail;
	r->ready_s = fs_now() - t0 - r->check_s;
	url = p.have_state && p.state.url && !health_path ?
	      xstrdup(p.state.url) : wsgi_health_url(&w->set, health_path);
	pr = await_answer(url, p.pid, deadline, &r->probe, &why, e);
	if (pr == -2)
		goto out;
	if (pr < 0)
		goto fail;
	r->seconds = fs_now() - t0;
	ret = 0;
	goto out;
fail:
	err_set(e, ERR_WEB_NOT_READY, "reload failed: %s", why.buf);
	{
		struct sbuf t = SBUF_INIT;

		web_log_tail(w->logfile, off, TAIL_LINES, &t);
		sbuf_rtrim(&t);
		r->log_tail = sbuf_detach(&t, NULL);
	}
out:
	free(old);
	free(url);
	strv_release(&cmd);
	strv_release(&now);
	sbuf_release(&why);
	web_pid_release(&p);
	return ret;
}

/* Wait for the USR2 child: the master in django.pid.2 whose parent is
 * old. Returns its PID or 0. */
static pid_t
await_new_master(const struct web_site *w, pid_t old, double deadline)
{
	char *path = path_join(w->omerodir, "var/django.pid.2");
	pid_t found = 0;

	while (!found && fs_now() < deadline && gproc_alive(old)) {
		struct web_pid p2;
		struct err e = ERR_INIT;
		struct gproc g;

		if (web_pid_read(w, path, &p2, &e) == 0 &&
		    p2.st == WEB_PID_RUNNING && gproc_read(p2.pid, &g) == 0 &&
		    g.ppid == old)
			found = p2.pid;
		err_clear(&e);
		web_pid_release(&p2);
		if (!found)
			sleep_s(0.05);
	}
	free(path);
	return found;
}

int
web_replace(const struct web_site *w, const struct venv *v,
	    const char *health_path, double timeout,
	    struct web_reload_result *r, struct err *e)
{
	struct web_pid p;
	struct strv cmd = STRV_INIT, now = STRV_INIT;
	struct sbuf why = SBUF_INIT;
	const struct strv *running;
	char *url = NULL, *diff = NULL;
	pid_t nm = 0, *before = NULL;
	size_t nbefore = 0;
	int nmfd = -1, safepath, ret = -1, pr;
	double t0 = fs_now(), deadline;
	long off = file_size(w->logfile);

	memset(r, 0, sizeof(*r));
	if (web_pid_read(w, w->pidfile, &p, e) < 0)
		return -1;
	if (p.st != WEB_PID_RUNNING) {
		not_running(&p, e);
		goto out;
	}
	r->old_pid = p.pid;
	if (web_command(w, v, &cmd, &safepath, e) < 0)
		goto out;
	if (!venv_can_reexec(v)) {
		err_set(e, ERR_FAIL, "cannot restart without downtime: '%s' "
			"has no bin/gunicorn and its Python %d.%d is older than "
			"3.11, so gunicorn's USR2 re-exec (python -m gunicorn) "
			"cannot import Django; install gunicorn into the venv or "
			"use 'owctl web restart'", v->dir, v->py_major,
			v->py_minor);
		goto out;
	}
	running = running_argv(&p, &now);
	diff = argv_diff(running, &cmd);
	if (diff) {
		err_set(e, ERR_FAIL, "cannot restart without downtime: the "
			"gunicorn command line changed (%s) and USR2 can only "
			"re-run the running one; use 'owctl web restart'",
			diff);
		goto out;
	}
	if (running->n >= 3 && !strcmp(running->v[1], "-m") && safepath) {
		char *sp = gproc_environ(p.pid, "PYTHONSAFEPATH");

		if (!sp || !*sp) {
			free(sp);
			err_set(e, ERR_FAIL, "cannot restart without downtime: "
				"the running gunicorn was started as 'python -m "
				"gunicorn' without PYTHONSAFEPATH, so its USR2 "
				"re-exec cannot import Django; use 'owctl web "
				"restart' once");
			goto out;
		}
		free(sp);
	}
	if (web_check_app(w, v, CHECK_TIMEOUT, e) < 0) {
		err_prefix(e, "not restarted (the running master is kept)");
		goto out;
	}
	r->check_s = fs_now() - t0;
	deadline = fs_now() + (timeout > 0 ? timeout : 60);
	nbefore = gmaster_children(p.pid, &before);
	if (gproc_kill(p.pidfd, p.pid, SIGUSR2) < 0) {
		err_errno(e, ERR_FAIL, errno, "cannot signal PID %d",
			  (int)p.pid);
		goto out;
	}
	/* the new master shows up within a second, even if the app is slow */
	nm = await_new_master(w, p.pid, deadline > fs_now() + 10 ? deadline :
			      fs_now() + 10);
	if (!nm) {
		sbuf_addf(&why, "no new master appeared after USR2");
		goto fail;
	}
	nmfd = gproc_pidfd(nm);
	r->pid = nm;
	if (await_workers(nm, nmfd, NULL, 0, workers_in(&cmd), deadline,
			  &r->workers, &why) < 0)
		goto fail;
	url = p.have_state && p.state.url && !health_path ?
	      xstrdup(p.state.url) : wsgi_health_url(&w->set, health_path);
	pr = await_answer(url, nm, deadline, &r->probe, &why, e);
	if (pr == -2)
		goto kill_new;
	if (pr < 0)
		goto fail;
	r->ready_s = fs_now() - t0 - r->check_s;
	/* the new generation serves: retire the old one gracefully */
	if (gproc_kill(p.pidfd, p.pid, SIGTERM) == 0 &&
	    !gproc_wait_gone(p.pidfd, p.pid, fs_now() + 60)) {
		gproc_kill(p.pidfd, p.pid, SIGKILL);
		gproc_wait_gone(p.pidfd, p.pid, fs_now() + 5);
	}
	/* the new master renames its pid file once it sees its parent gone
	 * (its main loop wakes at least every second) */
	{
		double until = fs_now() + 5;
		struct web_pid q;
		int promoted = 0;

		while (!promoted && fs_now() < until) {
			struct err ig = ERR_INIT;

			if (web_pid_read(w, w->pidfile, &q, &ig) == 0 &&
			    q.st == WEB_PID_RUNNING && q.pid == nm)
				promoted = 1;
			err_clear(&ig);
			web_pid_release(&q);
			if (!promoted)
				sleep_s(0.05);
		}
		if (!promoted) {
			char buf[32];
			int n = snprintf(buf, sizeof(buf), "%d\n", (int)nm);

			if (fs_write_atomic(w->pidfile, buf, (size_t)n, 0644,
					    e) < 0)
				goto out;
		}
	}
	if (state_record(w, nm, &cmd, v->dir, url, 0, e) < 0)
		goto out;
	r->seconds = fs_now() - t0;
	r->retire_s = r->seconds - r->check_s - r->ready_s;
	ret = 0;
	goto out;
fail:
	err_set(e, ERR_WEB_NOT_READY, "zero-downtime restart failed, the old "
		"master %d keeps serving: %s", (int)p.pid, why.buf);
kill_new:
	/* the USR2 child (found or not): any new child of the old master
	 * that is not a worker it had before */
	{
		pid_t *kids;
		size_t n = gmaster_children(p.pid, &kids);

		for (size_t i = 0; i < n; i++) {
			struct kids k = { 0 };
			int killed = 0, fd;

			/* a worker respawned meanwhile only restarts */
			if (in_set(kids[i], before, nbefore))
				continue;
			fd = kids[i] == nm ? nmfd : gproc_pidfd(kids[i]);
			stop_master(kids[i], fd, fs_now() + 10, &k, &killed);
			kids_release(&k);
			if (fd != nmfd && fd >= 0)
				close(fd);
		}
		free(kids);
	}
	{
		char *p2 = path_join(w->omerodir, "var/django.pid.2");

		if (nm)
			unlink_pidfile_of(p2, nm);
		free(p2);
	}
	{
		struct sbuf t = SBUF_INIT;

		web_log_tail(w->logfile, off, TAIL_LINES, &t);
		sbuf_rtrim(&t);
		r->log_tail = sbuf_detach(&t, NULL);
	}
out:
	if (nmfd >= 0)
		close(nmfd);
	free(before);
	free(url);
	free(diff);
	strv_release(&cmd);
	strv_release(&now);
	sbuf_release(&why);
	web_pid_release(&p);
	return ret;
}

/* systemd units */

void
web_unit_render(const struct web_site *w, const struct web_unit_opts *o,
		struct sbuf *service, struct sbuf *clean_service,
		struct sbuf *timer)
{
	const char *name = o->name ? o->name : "omero-web";
	double stop = o->stop_timeout > 0 ? o->stop_timeout : 40;

	sbuf_addf(service,
		  "# %s.service: OMERO.web (gunicorn) run by owctl.\n"
		  "# Generated by 'owctl web systemd-unit'. owctl stays the main\n"
		  "# process: it reports READY=1 only once gunicorn listens and\n"
		  "# the app answers over HTTP, and passes signals on.\n"
		  "[Unit]\n"
		  "Description=OMERO.web\n"
		  "After=network-online.target\n"
		  "Wants=network-online.target\n"
		  "\n"
		  "[Service]\n"
		  "Type=notify\n"
		  "NotifyAccess=main\n", name);
	if (o->user)
		sbuf_addf(service, "User=%s\n", o->user);
	sbuf_addf(service,
		  "Environment=OMERODIR=%s\n"
		  "# expired sessions: the clearsessions timer, not every start\n"
		  "ExecStart=%s web --venv %s start --foreground "
		  "--keep-sessions\n"
		  "ExecReload=%s web --venv %s reload\n"
		  "# TERM goes to owctl, which passes it to gunicorn (graceful\n"
		  "# stop); what is left after the timeout is killed.\n"
		  "KillMode=mixed\n"
		  "TimeoutStartSec=120\n"
		  "TimeoutStopSec=%.0f\n"
		  "Restart=on-failure\n"
		  "# File sessions live in the service's TMPDIR: no PrivateTmp,\n"
		  "# so the clean-up timer sees the same directory.\n"
		  "PrivateTmp=no\n"
		  "\n"
		  "[Install]\n"
		  "WantedBy=multi-user.target\n",
		  w->omerodir, o->owctl, o->venv, o->owctl, o->venv, stop);
	sbuf_addf(clean_service,
		  "# %s-clearsessions.service: remove expired OMERO.web\n"
		  "# sessions (what Django's clearsessions removes), run by the\n"
		  "# timer. owctl finds the running service's session directory\n"
		  "# (its TMPDIR, or its PrivateTmp through /proc).\n"
		  "[Unit]\n"
		  "Description=Remove expired OMERO.web sessions\n"
		  "\n"
		  "[Service]\n"
		  "Type=oneshot\n", name);
	if (o->user)
		sbuf_addf(clean_service, "User=%s\n", o->user);
	sbuf_addf(clean_service,
		  "Environment=OMERODIR=%s\n"
		  "ExecStart=%s web --venv %s clearsessions\n"
		  "Nice=10\n"
		  "IOSchedulingClass=idle\n",
		  w->omerodir, o->owctl, o->venv);
	sbuf_addf(timer,
		  "# %s-clearsessions.timer: nightly expired-session clean-up\n"
		  "# (instead of one at every start: owctl web start\n"
		  "# --keep-sessions).\n"
		  "[Unit]\n"
		  "Description=Nightly clean-up of expired OMERO.web sessions\n"
		  "\n"
		  "[Timer]\n"
		  "OnCalendar=*-*-* 03:30:00\n"
		  "RandomizedDelaySec=30min\n"
		  "Persistent=true\n"
		  "Unit=%s-clearsessions.service\n"
		  "\n"
		  "[Install]\n"
		  "WantedBy=timers.target\n", name, name);
}

/* venv record */

char *
web_venv_record_path(const char *omerodir)
{
	return path_join(omerodir, "var/owctl/venv");
}

char *
web_venv_recorded(const char *omerodir)
{
	struct sbuf sb = SBUF_INIT;
	struct err e = ERR_INIT;
	char *path = web_venv_record_path(omerodir), *v = NULL;

	if (fs_read_file(path, 8192, &sb, &e) == 0) {
		sbuf_rtrim(&sb);
		if (sb.len && sb.buf[0] == '/')
			v = sbuf_detach(&sb, NULL);
	}
	err_clear(&e);
	sbuf_release(&sb);
	free(path);
	return v;
}

int
web_venv_record(const char *omerodir, const char *venv, struct err *e)
{
	struct sbuf sb = SBUF_INIT;
	char *path = web_venv_record_path(omerodir), *dir;
	int ret = -1;

	dir = path_join(omerodir, "var/owctl");
	if (fs_mkdir_p(dir, 0700, e) < 0)
		goto out;
	sbuf_addf(&sb, "%s\n", venv);
	ret = fs_write_atomic(path, sb.buf, sb.len, 0644, e);
out:
	free(dir);
	free(path);
	sbuf_release(&sb);
	return ret;
}
