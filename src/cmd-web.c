/*
 * owctl web: run OMERO.web's gunicorn (start, stop, restart, reload,
 * status, systemd-unit). Output and statuses follow `omero web` where it
 * has them; differences are listed in owctl-web(1).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd-web.h"
#include "fs.h"
#include "venv/venv.h"
#include "web/service.h"
#include "xalloc.h"
#include "banned.h"

#define DEFAULT_START_TIMEOUT 60.0
#define DEFAULT_STOP_TIMEOUT 40.0
#define MANAGE_TIMEOUT 3600.0

static struct {
	const char *venv;	/* --venv DIR (family or subcommand level) */
} wenv;

const char *
web_venv_option(void)
{
	return wenv.venv;
}

static int
seconds_opt(struct ctx *ctx, const char *name, const char *arg, double *out)
{
	*out = cli_seconds(arg);
	if (*out <= 0)
		return cli_usage(ctx, "%s takes a number of seconds, not '%s'",
				 name, arg);
	return -1;
}

static int
open_site(struct ctx *ctx, struct web_site *w, struct err *e)
{
	return web_site_open(w, ctx->omerodir, getenv("OMERO_CONFIG"), e);
}

static void
out_flush(void)
{
	fflush(stdout);
}

static void
print_tail(const char *what, const char *tail)
{
	if (!tail || !*tail)
		return;
	out_flush();
	fprintf(stderr, "--- last lines of %s ---\n%s\n---\n", what, tail);
}

/*
 * Find the venv: --venv, $VIRTUAL_ENV, omero/gunicorn on PATH and, when
 * running_venv is given (reload, restart), the one the running OMERO.web
 * uses.
 */
static int
find_venv(struct ctx *ctx, const char *running_venv, struct venv *v,
	  struct err *e)
{
	const char *ve = getenv("VIRTUAL_ENV");
	char *rec = NULL;

	/*
	 * The venv `owctl upgrade --new-venv` switched to comes after --venv
	 * and $VIRTUAL_ENV but before the venv of a command on PATH.
	 */
	if (!wenv.venv && !(ve && *ve) && ctx->omerodir && *ctx->omerodir)
		rec = web_venv_recorded(ctx->omerodir);
	if (rec) {
		int r = venv_open(rec, VENV_FROM_RECORD, v, e);

		free(rec);
		if (r < 0)
			return -1;
		goto found;
	}
	if (venv_find(wenv.venv, ve, getenv("PATH"), v, e) == 0)
		goto found;
	if (!running_venv || wenv.venv || getenv("VIRTUAL_ENV"))
		return -1;
	err_clear(e);
	venv_release(v);
	if (venv_open(running_venv, VENV_FROM_RUNNING, v, e) < 0)
		return -1;
found:
	if (ctx->verbosity >= 0) {
		printf("OMERO.web virtualenv: %s (from %s", v->dir,
		       venv_source_text(v->source));
		if (v->found_via)
			printf(" '%s'", v->found_via);
		printf("), omero-web %s\n", v->omero_web_version ?
		       v->omero_web_version : "(version unknown)");
	}
	return 0;
}

/* Refuse to start on configuration errors (owctl config validate). */
static int
check_config(struct ctx *ctx, const struct web_site *w, const struct venv *v,
	     struct err *e)
{
	struct finding_list fl = FINDING_LIST_INIT;
	size_t nerr;

	if (web_validate(w, v->omero_web_version, &fl, e) < 0) {
		/* an unusual version string: validate without a target */
		err_clear(e);
		finding_list_release(&fl);
		if (web_validate(w, NULL, &fl, e) < 0)
			return -1;
	}
	nerr = finding_list_count(&fl, FINDING_ERROR);
	for (size_t i = 0; i < fl.n; i++) {
		if (fl.v[i].severity != FINDING_ERROR &&
		    (fl.v[i].severity != FINDING_WARNING ||
		     ctx->verbosity < 1))
			continue;
		out_flush();
		fprintf(stderr, "%s: %s: %s\n",
			finding_severity_name(fl.v[i].severity), fl.v[i].key,
			fl.v[i].message);
	}
	finding_list_release(&fl);
	if (nerr)
		return err_set(e, ERR_CFG_INVALID, "refusing to start: profile "
			       "'%s' of '%s' has %zu error(s) (see 'owctl "
			       "config validate')", w->profile_name,
			       w->config_path, nerr);
	return 0;
}

/* Python's shlex.quote, for --dry-run. */
static void
print_quoted(const char *s)
{
	int safe = *s != '\0';

	for (const char *p = s; *p; p++)
		if (!strchr("@%+=:,./-_", *p) &&
		    !(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9'))
			safe = 0;
	if (safe) {
		fputs(s, stdout);
		return;
	}
	putchar('\'');
	for (const char *p = s; *p; p++)
		if (*p == '\'')
			fputs("'\"'\"'", stdout);
		else
			putchar(*p);
	putchar('\'');
}

/* Block the signals a start must handle and return a signalfd for them. */
static int
signals_take(int foreground, sigset_t *old)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (foreground) {
		sigaddset(&set, SIGQUIT);
		sigaddset(&set, SIGUSR1);
		sigaddset(&set, SIGUSR2);
		sigaddset(&set, SIGTTIN);
		sigaddset(&set, SIGTTOU);
		sigaddset(&set, SIGWINCH);
	}
	sigprocmask(SIG_BLOCK, &set, old);
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	return fd;
}

static void
signals_give_back(int fd, const sigset_t *old)
{
	if (fd >= 0)
		close(fd);
	sigprocmask(SIG_SETMASK, old, NULL);
}

struct start_opts {
	int prestart_done;	/* restart ran them before stopping */
	int foreground;
	int keep_sessions;
	int dry_run;
	double timeout;
	const char *health_path;
};

/* The last n lines of s. */
static const char *
last_lines(const char *s, int n)
{
	size_t i = strlen(s);

	while (i > 0) {
		if (s[i - 1] == '\n' && --n == 0)
			break;
		i--;
	}
	return s + i;
}

/* collectstatic, then clearsessions (unless kept), like omero web start */
static int
prestart(struct ctx *ctx, const struct web_site *w, const struct venv *v,
	 int keep_sessions, struct err *e)
{
	static const char *const collect[] = { "collectstatic", "--noinput",
					       NULL };
	struct sbuf out = SBUF_INIT;
	int status = 0, ret = -1;

	if (web_manage(w, v, collect, MANAGE_TIMEOUT, &out, &status, e) < 0)
		goto out;
	if (status != 0) {
		sbuf_rtrim(&out);
		err_set(e, ERR_WEB_COLLECTSTATIC, "Failed to collect static "
			"content: manage.py collectstatic exited with status "
			"%d:\n%s", status, last_lines(out.buf, 8));
		goto out;
	}
	if (ctx->verbosity >= 0) {
		const char *p = out.buf;

		while (*p == '\n')	/* Django starts with a blank line */
			p++;
		fputs(p, stdout);
	}
	sbuf_reset(&out);
	if (!keep_sessions) {
		/*
		 * owctl's own purge (src/cmd-sessions.c, lib/sessions): removes
		 * exactly what Django's clearsessions removes, without Python,
		 * and prints omero-web's "Clearing expired sessions..." line.
		 */
		char *cs_argv[] = { "clearsessions", NULL };
		struct ctx text = *ctx;	/* start has no --json document */
		int st;

		text.json = 0;
		st = web_clearsessions(1, cs_argv, &text);

		if (st != 0) {
			err_set(e, ERR_FAIL, "clearing "
				"expired sessions failed (see above); "
				"--keep-sessions starts without it");
			goto out;
		}
	}
	ret = 0;
out:
	sbuf_release(&out);
	return ret;
}

/* The pid file before a start: 606 when running, stale ones removed. */
static int
check_not_running(const struct web_site *w, struct err *e)
{
	struct web_pid p;
	int ret = 0;

	if (web_pid_read(w, w->pidfile, &p, e) < 0)
		return -1;
	if (p.st == WEB_PID_RUNNING) {
		ret = err_set(e, ERR_WEB_ALREADY_STARTED, "[FAILED] OMERO.web "
			      "already started. %s exists (PID: %d)! Use 'web "
			      "stop or restart' first.", w->pidfile,
			      (int)p.pid);
	} else if (p.st != WEB_PID_NONE) {
		web_forget(w);
		out_flush();
		fprintf(stderr, "WARNING: Removed stale %s (%s)\n", w->pidfile,
			p.why ? p.why : web_pid_status_name(p.st));
	}
	web_pid_release(&p);
	return ret;
}

static int
do_start(struct ctx *ctx, const struct start_opts *so, struct web_site *w,
	 struct venv *v, struct err *e)
{
	struct web_launch_opts lo = { 0 };
	struct web_launch_result r;
	sigset_t oldmask;
	int sigfd, status = 0;

	if (so->dry_run) {
		struct strv argv = STRV_INIT, env = STRV_INIT;
		int safepath;

		if (web_command(w, v, &argv, &safepath, e) < 0)
			return -1;
		printf("cd ");
		print_quoted(v->omeroweb_dir);
		printf(" &&\n");
		web_env(w, v, safepath, NULL, &env);
		for (size_t i = 0; i < env.n; i++)
			if (!strncmp(env.v[i], "OMERODIR=", 9) ||
			    !strncmp(env.v[i], "PYTHONPATH=", 11) ||
			    !strncmp(env.v[i], "SCRIPT_NAME=", 12) ||
			    !strncmp(env.v[i], "PYTHONSAFEPATH=", 15)) {
				print_quoted(env.v[i]);
				putchar(' ');
			}
		for (size_t i = 0; i < argv.n; i++) {
			if (i)
				putchar(' ');
			print_quoted(argv.v[i]);
		}
		putchar('\n');
		strv_release(&argv);
		strv_release(&env);
		return 0;
	}
	if (!so->prestart_done && prestart(ctx, w, v, so->keep_sessions,
					   e) < 0)
		return -1;
	if (ctx->verbosity >= 0) {
		fputs("Starting OMERO.web... ", stdout);
		out_flush();
	}
	sigfd = signals_take(so->foreground, &oldmask);
	lo.venv = v;
	lo.health_path = so->health_path;
	lo.timeout = so->timeout;
	lo.foreground = so->foreground;
	lo.sigfd = sigfd;
	if (web_launch(w, &lo, &r, e) < 0) {
		if (ctx->verbosity >= 0)
			puts("[FAILED]");
		print_tail(w->logfile, r.log_tail);
		web_launch_result_release(&r);
		signals_give_back(sigfd, &oldmask);
		return -1;
	}
	if (ctx->verbosity >= 0) {
		puts("[OK]");
		printf("gunicorn PID %d listening on %s:%lld after %.2f s, "
		       "%zu worker(s) up after %.2f s; GET %s answered %ld\n",
		       (int)r.pid, w->set.host, w->set.port, r.ready_after,
		       r.workers, r.healthy_after, r.url, r.probe.status);
	}
	if (so->foreground) {
		const char *ns = getenv("NOTIFY_SOCKET");
		int removed;
		char msg[128];

		out_flush();
		if (ns && *ns) {
			snprintf(msg, sizeof(msg), "READY=1\nSTATUS=OMERO.web "
				 "answering, gunicorn PID %d", (int)r.pid);
			if (web_sd_notify(ns, msg, e) < 0) {
				cli_warn(ctx, "%s, ignoring", e->msg);
				err_clear(e);
			}
		}
		status = web_supervise(w, &r, sigfd, &removed);
		if (removed && ctx->verbosity >= 0)
			printf("Removed stale %s\n", w->pidfile);
		/* gunicorn ends with 0 on TERM/INT: a clean stop */
	}
	web_launch_result_release(&r);
	signals_give_back(sigfd, &oldmask);
	return status;
}

static int
parse_start_opts(int argc, char **argv, struct ctx *ctx,
		 struct start_opts *so, int *zero_downtime)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "keep-sessions", no_argument, NULL, 'k' },
		{ "timeout", required_argument, NULL, 't' },
		{ "health-path", required_argument, NULL, 'H' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "venv", required_argument, NULL, 'V' },
		{ "zero-downtime", no_argument, NULL, 'z' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "h", opts, ctx);
	int c, r;

	memset(so, 0, sizeof(*so));
	so->timeout = DEFAULT_START_TIMEOUT;
	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 'f':
			so->foreground = 1;
			break;
		case 'k':
			so->keep_sessions = 1;
			break;
		case 't':
			if ((r = seconds_opt(ctx, "--timeout", optarg,
					     &so->timeout)) >= 0)
				return r;
			break;
		case 'H':
			so->health_path = optarg;
			break;
		case 'n':
			so->dry_run = 1;
			break;
		case 'V':
			wenv.venv = optarg;
			break;
		case 'z':
			if (!zero_downtime)
				return cli_bad_option(ctx, argv);
			*zero_downtime = 1;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	return cli_operands(ctx, argc, argv, 0, 0);
}

static int
web_start(int argc, char **argv, struct ctx *ctx)
{
	struct start_opts so;
	struct web_site w;
	struct venv v = VENV_INIT;
	struct err e = ERR_INIT;
	int r;

	if ((r = parse_start_opts(argc, argv, ctx, &so, NULL)) >= 0)
		return r;
	if (open_site(ctx, &w, &e) < 0 || find_venv(ctx, NULL, &v, &e) < 0 ||
	    check_config(ctx, &w, &v, &e) < 0 ||
	    (!so.dry_run && check_not_running(&w, &e) < 0))
		goto fail;
	{
		/* refuse a bad command line before any pre-start step */
		struct strv argv0 = STRV_INIT;
		int safepath;

		r = web_command(&w, &v, &argv0, &safepath, &e);
		strv_release(&argv0);
		if (r < 0)
			goto fail;
	}
	r = do_start(ctx, &so, &w, &v, &e);
	if (r < 0)
		goto fail;
	venv_release(&v);
	web_site_close(&w);
	return r;
fail:
	venv_release(&v);
	web_site_close(&w);
	return cli_fail(&e);
}

/* stop */

static int
stop_and_report(struct ctx *ctx, const struct web_site *w, double timeout,
		struct err *e)
{
	struct web_stop_result r;
	int ret;

	if (ctx->verbosity >= 0) {
		fputs("Stopping OMERO.web... ", stdout);
		out_flush();
	}
	ret = web_stop(w, timeout, &r, e);
	if (ret < 0) {
		if (ctx->verbosity >= 0)
			puts("[FAILED]");
		web_stop_result_release(&r);
		return -1;
	}
	switch (r.found) {
	case WEB_PID_NONE:
		if (ctx->verbosity >= 0)
			puts("[NOT STARTED]");
		break;
	case WEB_PID_BAD:
	case WEB_PID_DEAD:
	case WEB_PID_FOREIGN:
		if (ctx->verbosity >= 0)
			puts("[NOT STARTED]");
		out_flush();
		fprintf(stderr, "WARNING: Removed stale %s (%s%s)\n",
			w->pidfile, r.why ? r.why : "",
			r.found == WEB_PID_FOREIGN ? "; not signalled" : "");
		break;
	case WEB_PID_RUNNING:
		if (ctx->verbosity >= 0) {
			puts("[OK]");
			printf("OMERO.web WSGI workers (PID %d) killed.\n",
			       (int)r.pid);
			printf("gunicorn and %zu worker(s) exited after %.2f s"
			       "%s; port %s\n", r.workers, r.seconds,
			       r.killed ? " (SIGKILL was needed)" : "",
			       r.port_free ? "free" : "STILL ANSWERING");
		}
		break;
	}
	web_stop_result_release(&r);
	return 0;
}

static int
web_stop_cmd(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "h", opts, ctx);
	struct web_site w;
	struct err e = ERR_INIT;
	double timeout = DEFAULT_STOP_TIMEOUT;
	int c, r;

	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 't':
			if ((r = seconds_opt(ctx, "--timeout", optarg,
					     &timeout)) >= 0)
				return r;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	if ((r = cli_operands(ctx, argc, argv, 0, 0)) >= 0)
		return r;
	if (open_site(ctx, &w, &e) < 0 || stop_and_report(ctx, &w, timeout,
							  &e) < 0) {
		web_site_close(&w);
		return cli_fail(&e);
	}
	web_site_close(&w);
	return 0;
}

/* the venv the running master uses, from owctl's state file */
static char *
running_venv(const struct web_site *w)
{
	struct web_pid p;
	struct err e = ERR_INIT;
	char *v = NULL;

	if (web_pid_read(w, w->pidfile, &p, &e) == 0 && p.have_state &&
	    p.state.venv)
		v = xstrdup(p.state.venv);
	err_clear(&e);
	web_pid_release(&p);
	return v;
}

static int
web_restart(int argc, char **argv, struct ctx *ctx)
{
	struct start_opts so;
	struct web_site w;
	struct venv v = VENV_INIT;
	struct err e = ERR_INIT;
	struct web_pid p;
	char *rv = NULL;
	int zero = 0, r;

	if ((r = parse_start_opts(argc, argv, ctx, &so, &zero)) >= 0)
		return r;
	if (zero && so.foreground)
		return cli_usage(ctx, "--zero-downtime cannot be combined with "
				 "--foreground");
	if (open_site(ctx, &w, &e) < 0)
		goto fail;
	rv = running_venv(&w);
	if (find_venv(ctx, rv, &v, &e) < 0 || check_config(ctx, &w, &v, &e) < 0)
		goto fail;
	{
		struct strv argv0 = STRV_INIT;
		int safepath;

		r = web_command(&w, &v, &argv0, &safepath, &e);
		strv_release(&argv0);
		if (r < 0)
			goto fail;
	}
	if (so.dry_run) {
		r = do_start(ctx, &so, &w, &v, &e);
		if (r < 0)
			goto fail;
		goto done;
	}
	if (web_pid_read(&w, w.pidfile, &p, &e) < 0)
		goto fail;
	if (zero && p.st == WEB_PID_RUNNING) {
		struct web_reload_result rr;

		web_pid_release(&p);
		if (prestart(ctx, &w, &v, so.keep_sessions, &e) < 0)
			goto fail;
		if (ctx->verbosity >= 0) {
			fputs("Restarting OMERO.web without downtime... ",
			      stdout);
			out_flush();
		}
		if (web_replace(&w, &v, so.health_path, so.timeout, &rr,
				&e) < 0) {
			if (ctx->verbosity >= 0)
				puts("[FAILED]");
			print_tail(w.logfile, rr.log_tail);
			web_reload_result_release(&rr);
			goto fail;
		}
		if (ctx->verbosity >= 0) {
			puts("[OK]");
			printf("gunicorn PID %d replaced PID %d in %.2f s with "
			       "%zu new worker(s); GET answered %ld\n",
			       (int)rr.pid, (int)rr.old_pid, rr.seconds,
			       rr.workers, rr.probe.status);
			if (ctx->verbosity > 0)
				printf("app check %.2f s, new master and "
				       "workers ready %.2f s, old master "
				       "retired %.2f s\n", rr.check_s,
				       rr.ready_s, rr.retire_s);
		}
		web_reload_result_release(&rr);
		r = 0;
		goto done;
	}
	web_pid_release(&p);
	/* the pre-start steps run while the old one still serves */
	if (prestart(ctx, &w, &v, so.keep_sessions, &e) < 0)
		goto fail;
	so.prestart_done = 1;
	if (stop_and_report(ctx, &w, DEFAULT_STOP_TIMEOUT, &e) < 0)
		goto fail;
	r = do_start(ctx, &so, &w, &v, &e);
	if (r < 0)
		goto fail;
done:
	free(rv);
	venv_release(&v);
	web_site_close(&w);
	return r;
fail:
	free(rv);
	venv_release(&v);
	web_site_close(&w);
	return cli_fail(&e);
}

static int
web_reload_cmd(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "health-path", required_argument, NULL, 'H' },
		{ "venv", required_argument, NULL, 'V' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "h", opts, ctx);
	struct web_site w;
	struct venv v = VENV_INIT;
	struct err e = ERR_INIT;
	struct web_reload_result rr;
	const char *health = NULL;
	double timeout = DEFAULT_START_TIMEOUT;
	char *rv = NULL;
	int c, r, have_venv;

	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 't':
			if ((r = seconds_opt(ctx, "--timeout", optarg,
					     &timeout)) >= 0)
				return r;
			break;
		case 'H':
			health = optarg;
			break;
		case 'V':
			wenv.venv = optarg;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	if ((r = cli_operands(ctx, argc, argv, 0, 0)) >= 0)
		return r;
	if (open_site(ctx, &w, &e) < 0)
		goto fail;
	rv = running_venv(&w);
	have_venv = find_venv(ctx, rv, &v, &e) == 0;
	if (!have_venv) {
		cli_warn(ctx, "%s; reloading without checking that the app "
			 "loads first", e.msg);
		err_clear(&e);
	}
	if (ctx->verbosity >= 0) {
		fputs("Reloading OMERO.web... ", stdout);
		out_flush();
	}
	if (web_reload(&w, have_venv ? &v : NULL, health, timeout, &rr,
		       &e) < 0) {
		if (ctx->verbosity >= 0)
			puts("[FAILED]");
		print_tail(w.logfile, rr.log_tail);
		web_reload_result_release(&rr);
		goto fail;
	}
	if (ctx->verbosity >= 0) {
		puts("[OK]");
		printf("gunicorn PID %d runs %zu new worker(s) after %.2f s; "
		       "GET answered %ld\n", (int)rr.pid, rr.workers,
		       rr.seconds, rr.probe.status);
		if (ctx->verbosity > 0)
			printf("app check %.2f s, new workers ready %.2f s\n",
			       rr.check_s, rr.ready_s);
	}
	if (rr.note)
		cli_warn(ctx, "%s", rr.note);
	web_reload_result_release(&rr);
	free(rv);
	venv_release(&v);
	web_site_close(&w);
	return 0;
fail:
	free(rv);
	venv_release(&v);
	web_site_close(&w);
	return cli_fail(&e);
}

/* status */

static void
status_json(const struct web_site *w, const struct web_status *st)
{
	json_t *j = json_object(), *h, *wk = json_array();
	char *txt;

	json_object_set_new(j, "schema", json_string("owctl.web.status/1"));
	json_object_set_new(j, "state", json_string(st->state));
	json_object_set_new(j, "lsb_status", json_integer(st->lsb));
	json_object_set_new(j, "pidfile", json_string(w->pidfile));
	json_object_set_new(j, "pid", st->pid.pid ?
			    json_integer(st->pid.pid) : json_null());
	json_object_set_new(j, "reason", st->pid.why ?
			    json_string(st->pid.why) : json_null());
	for (size_t i = 0; i < st->nworkers; i++)
		json_array_append_new(wk, json_integer(st->workers[i]));
	json_object_set_new(j, "workers", wk);
	json_object_set_new(j, "bind", st->bind ? json_string(st->bind) :
			    json_null());
	json_object_set_new(j, "started", st->started > 0 ?
			    json_real(st->started) : json_null());
	json_object_set_new(j, "uptime", st->started > 0 ?
			    json_real((double)time(NULL) - st->started) :
			    json_null());
	json_object_set_new(j, "venv", st->pid.have_state &&
			    st->pid.state.venv ?
			    json_string(st->pid.state.venv) : json_null());
	json_object_set_new(j, "started_by_owctl",
			    json_boolean(st->pid.have_state));
	if (st->probed) {
		h = json_object();
		json_object_set_new(h, "url", json_string(st->url));
		json_object_set_new(h, "http_status", st->probe.status ?
				    json_integer(st->probe.status) :
				    json_null());
		json_object_set_new(h, "latency_ms",
				    json_real(st->probe.seconds * 1000));
		json_object_set_new(h, "error", *st->probe.error ?
				    json_string(st->probe.error) :
				    json_null());
		json_object_set_new(j, "health", h);
	} else {
		json_object_set_new(j, "health", json_null());
	}
	txt = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	puts(txt);
	free(txt);
	json_decref(j);
}

static void
status_text(const struct web_site *w, const struct web_status *st)
{
	fputs("OMERO.web status... ", stdout);
	switch (st->lsb) {
	case 0:
	case 4: {
		double up = st->started > 0 ? (double)time(NULL) -
			    st->started : 0;

		printf("%s (PID %d) %zu worker(s), %s, up %.0f s, ",
		       st->lsb ? "[NOT ANSWERING]" : "[RUNNING]",
		       (int)st->pid.pid, st->nworkers, st->bind, up);
		if (st->probe.status)
			printf("GET %s answered %ld in %.0f ms\n", st->url,
			       st->probe.status, st->probe.seconds * 1000);
		else
			printf("GET %s: %s\n", st->url, st->probe.error);
		break;
	}
	case 1:
		puts("[DEAD]");
		out_flush();
		fprintf(stderr, "%s exists but %s\n", w->pidfile,
			st->pid.why ? st->pid.why : "names no live gunicorn");
		break;
	default:
		puts("");
		out_flush();
		fputs("[NOT STARTED]\n", stderr);
		break;
	}
}

static int
web_status_cmd(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "health-path", required_argument, NULL, 'H' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "h", opts, ctx);
	struct web_site w;
	struct web_status st;
	struct err e = ERR_INIT;
	const char *health = NULL;
	double timeout = 5;
	int c, r;

	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 'j':
			ctx->json = 1;
			break;
		case 't':
			if ((r = seconds_opt(ctx, "--timeout", optarg,
					     &timeout)) >= 0)
				return r;
			break;
		case 'H':
			health = optarg;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	if ((r = cli_operands(ctx, argc, argv, 0, 0)) >= 0)
		return r;
	/* LSB: 4 when the status cannot be known */
	if (open_site(ctx, &w, &e) < 0) {
		web_site_close(&w);
		cli_fail(&e);
		return 4;
	}
	if (web_status(&w, health, timeout, &st, &e) < 0) {
		web_status_release(&st);
		web_site_close(&w);
		cli_fail(&e);
		return 4;
	}
	if (ctx->json)
		status_json(&w, &st);
	else
		status_text(&w, &st);
	r = st.lsb;
	web_status_release(&st);
	web_site_close(&w);
	return r;
}

/* systemd-unit */

static int
write_unit(const char *dir, const char *name, const struct sbuf *text,
	   struct err *e)
{
	struct sbuf path = SBUF_INIT;
	int r;

	sbuf_addf(&path, "%s/%s", dir, name);
	r = fs_write_atomic(path.buf, text->buf, text->len, 0644, e);
	if (r == 0)
		printf("wrote %s\n", path.buf);
	sbuf_release(&path);
	return r;
}

static int
web_systemd_unit(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "name", required_argument, NULL, 'N' },
		{ "output-dir", required_argument, NULL, 'o' },
		{ "venv", required_argument, NULL, 'V' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "h", opts, ctx);
	struct web_unit_opts uo = { 0 };
	struct web_site w;
	struct venv v = VENV_INIT;
	struct err e = ERR_INIT;
	struct sbuf svc = SBUF_INIT, clean = SBUF_INIT, timer = SBUF_INIT;
	const char *outdir = NULL;
	char self[PATH_MAX];
	ssize_t n;
	int c, r, ret = -1;

	uo.name = "omero-web";
	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 'u':
			uo.user = optarg;
			break;
		case 'N':
			uo.name = optarg;
			break;
		case 'o':
			outdir = optarg;
			break;
		case 'V':
			wenv.venv = optarg;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	if ((r = cli_operands(ctx, argc, argv, 0, 0)) >= 0)
		return r;
	if (!uo.user) {
		struct passwd *pw = getpwuid(getuid());

		if (pw && getuid() != 0)
			uo.user = pw->pw_name;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		err_errno(&e, ERR_IO, errno, "cannot find owctl's own path");
		goto out;
	}
	self[n] = '\0';
	if (open_site(ctx, &w, &e) < 0)
		goto out;
	{
		int verb = ctx->verbosity;

		/* stdout is the unit: say which venv on stderr only */
		ctx->verbosity = -1;
		r = find_venv(ctx, NULL, &v, &e);
		ctx->verbosity = verb;
		if (r < 0)
			goto out;
	}
	uo.owctl = self;
	uo.venv = v.dir;
	uo.stop_timeout = DEFAULT_STOP_TIMEOUT;
	web_unit_render(&w, &uo, &svc, &clean, &timer);
	if (outdir) {
		struct sbuf name = SBUF_INIT;

		sbuf_addf(&name, "%s.service", uo.name);
		r = write_unit(outdir, name.buf, &svc, &e);
		sbuf_reset(&name);
		sbuf_addf(&name, "%s-clearsessions.service", uo.name);
		if (r == 0)
			r = write_unit(outdir, name.buf, &clean, &e);
		sbuf_reset(&name);
		sbuf_addf(&name, "%s-clearsessions.timer", uo.name);
		if (r == 0)
			r = write_unit(outdir, name.buf, &timer, &e);
		sbuf_release(&name);
		if (r < 0)
			goto out;
	} else {
		fputs(svc.buf, stdout);
		printf("\n# ---- %s-clearsessions.service ----\n%s",
		       uo.name, clean.buf);
		printf("\n# ---- %s-clearsessions.timer ----\n%s", uo.name,
		       timer.buf);
	}
	ret = 0;
out:
	sbuf_release(&svc);
	sbuf_release(&clean);
	sbuf_release(&timer);
	venv_release(&v);
	web_site_close(&w);
	return ret < 0 ? cli_fail(&e) : 0;
}

/* The table */

const struct command web_commands[] = {
	{ "start", web_start,
	  "[--foreground] [--keep-sessions] [--timeout S] [--health-path P] "
	  "[--dry-run] [--venv DIR]",
	  "collectstatic, clear expired sessions, start gunicorn; [OK] only "
	  "once it listens and the app answers" },
	{ "stop", web_stop_cmd, "[--timeout S]",
	  "SIGTERM, wait for the exit and a free port, SIGKILL after S "
	  "(default 40); never signals a stale or reused PID" },
	{ "restart", web_restart,
	  "[--zero-downtime] [--keep-sessions] [--timeout S] "
	  "[--health-path P] [--venv DIR]",
	  "stop then start; --zero-downtime: new master beside the old "
	  "(USR2), old retired once the new answers" },
	{ "reload", web_reload_cmd, "[--timeout S] [--health-path P] "
	  "[--venv DIR]",
	  "graceful HUP: new workers re-read the settings, waits until "
	  "they all loaded the app" },
	{ "status", web_status_cmd, "[--json] [--timeout S] "
	  "[--health-path P]",
	  "LSB status: 0 running and answering, 1 dead with pid file, "
	  "3 not running, 4 not answering/unknown" },
	{ "systemd-unit", web_systemd_unit,
	  "[--user USER] [--name NAME] [--output-dir DIR] [--venv DIR]",
	  "print a Type=notify unit running 'start --foreground' and a "
	  "nightly session clean-up timer" },
	/*
	 * Rows written by other engineers go here, their handlers declared
	 * in src/cmd-web.h and defined in their own files:
	 * { "clearsessions", web_clearsessions, ... },	C session purge
	 * { "diagnostics", web_diagnostics, ... },
	 */
	{ "diagnostics", web_diagnostics,
	  "[--no-logs] [--json] [--bundle FILE.tar.gz [--force]] "
	  "[--errors N] [--timeout S] [--venv DIR]",
	  "omero-web's diagnostics plus versions, service, sessions, nginx, "
	  "config findings, recent errors; secrets masked" },
	{ "clearsessions", web_clearsessions, "[--no-wait] [--json]",
	  "remove the sessions Django's clearsessions would remove (owctl's "
	  "engine, no Python; see owctl-sessions(1))" },
	{ "config", cmd_web_config,
	  "nginx|nginx-development|nginx-location [--http PORT] "
	  "[--servername NAME] [--max-body-size SIZE] [--check] [--unsafe] "
	  "[--no-file-checks] [--install]",
	  "print the nginx configuration omero-web prints (refusing broken "
	  "ones); --check runs nginx -t on it" },
	{ "nginx", cmd_web_nginx,
	  "install PATH [--type nginx|nginx-location] [options]",
	  "write the nginx file into nginx's configuration; later runs "
	  "merge local edits (diff3), nginx -t, roll back" },
	{ NULL, NULL, NULL, NULL }
};

const char web_help[] =
	"$OMERODIR (or --omerodir) names the deployment; the pid file is\n"
	"$OMERODIR/var/django.pid and gunicorn's output goes to\n"
	"$OMERODIR/var/log/gunicorn.log. The virtualenv is --venv DIR, else\n"
	"$VIRTUAL_ENV, else the one owctl upgrade recorded in\n"
	"$OMERODIR/var/owctl/venv, else the venv of an 'omero' or 'gunicorn'\n"
	"on PATH.\n"
	"See owctl-web(1).\n";

int
cmd_web(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "venv", required_argument, NULL, 'V' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "+h", opts, ctx);
	int c;

	g.subcommands = web_commands;
	g.help = web_help;
	wenv.venv = NULL;
	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 'V':
			wenv.venv = optarg;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	return cli_dispatch(web_commands, argc - optind, argv + optind, ctx);
}
