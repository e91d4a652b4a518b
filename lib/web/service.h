/*
 * OMERO.web's gunicorn as a service: start (proved up by READY=1 and an
 * HTTP answer), stop (waits for the exit and a free port), status, reload
 * (HUP, new workers), zero-downtime replacement (USR2) and the steps
 * omero-web runs before a start (collectstatic, clearsessions). The front
 * end runs the steps in order and prints; nothing here prints.
 */
#ifndef OWCTL_SERVICE_H
#define OWCTL_SERVICE_H

#include <sys/types.h>

#include "config/store.h"
#include "config/validate.h"
#include "err.h"
#include "sbuf.h"
#include "strv.h"
#include "venv/venv.h"
#include "web/gproc.h"
#include "web/health.h"
#include "web/wsgi.h"

/* One deployment: $OMERODIR, its config and its files. */
struct web_site {
	char *omerodir;		/* verbatim, like omero-web */
	char *pidfile;		/* OMERODIR/var/django.pid */
	char *statefile;	/* OMERODIR/var/owctl-web.json */
	char *logfile;		/* OMERODIR/var/log/gunicorn.log: gunicorn's
				 * stdout and stderr */
	char *config_path;	/* OMERODIR/etc/grid/config.xml */
	int have_config;	/* config.xml exists (else all defaults) */
	struct cfg_store store;	/* opened read-only when have_config */
	struct xelem *profile;	/* the active profile, or NULL */
	const char *profile_name;
	struct wsgi_settings set;
	struct err settings_err; /* why set could not be read (ERR_NONE
				  * when it could): start refuses, stop and
				  * status do not need it */
};

/*
 * Open the deployment. omerodir NULL or "" fails with ERR_WEB_NO_OMERODIR
 * ("ERROR: OMERODIR not set"); env_profile is $OMERO_CONFIG. config.xml is
 * read without a lock and never written. Release with web_site_close even
 * on failure.
 */
int web_site_open(struct web_site *w, const char *omerodir,
		  const char *env_profile, struct err *e);
void web_site_close(struct web_site *w);

/* `config validate` of the active profile, for target (may be NULL). */
int web_validate(const struct web_site *w, const char *target,
		 struct finding_list *out, struct err *e);

/*
 * The environment gunicorn and manage.py get, like omero-web's
 * ctx._env(): owctl's, with OMERODIR, PYTHONPATH += :OMERODIR/var/lib,
 * PATH += :VENV/bin, SCRIPT_NAME = the prefix when set, PYTHONSAFEPATH=1
 * when safepath, extra (e.g. NOTIFY_SOCKET=...) when not NULL; inherited
 * systemd and gunicorn hand-over variables are dropped.
 */
void web_env(const struct web_site *w, const struct venv *v, int safepath,
	     const char *extra, struct strv *env);

/*
 * Run VENV/bin/python manage.py ARGS in the omeroweb package directory
 * (collectstatic --noinput, clearsessions), output (stdout and stderr
 * merged) appended to out. Returns 0 when it ran (its exit status in
 * *status), -1 when it could not be run or timed out.
 */
int web_manage(const struct web_site *w, const struct venv *v,
	       const char *const *args, double timeout, struct sbuf *out,
	       int *status, struct err *e);

/*
 * Import the WSGI application the way a gunicorn worker does (settings,
 * apps, urls), in the venv's Python. Fails with ERR_WEB_SETTINGS and the
 * end of Python's error output when it cannot be imported.
 */
int web_check_app(const struct web_site *w, const struct venv *v,
		  double timeout, struct err *e);

/* What owctl recorded about the master it started. */
struct web_state {
	pid_t pid;
	unsigned long long starttime;	/* /proc ticks, exact */
	char boot_id[64];
	double started;			/* epoch seconds */
	char *venv;
	char *url;			/* health URL */
	char *bind;			/* HOST:PORT */
	char *log;			/* gunicorn's output */
	int foreground;
	struct strv argv;		/* the command run */
};

enum web_pid_status {
	WEB_PID_NONE,		/* no pid file */
	WEB_PID_BAD,		/* it does not hold a PID */
	WEB_PID_DEAD,		/* nothing runs with that PID */
	WEB_PID_FOREIGN,	/* the PID is another process (reused) */
	WEB_PID_RUNNING,	/* OMERO.web's gunicorn master */
};

struct web_pid {
	enum web_pid_status st;
	pid_t pid;
	int pidfd;		/* RUNNING: opened before the check, or -1 */
	char *why;		/* BAD, DEAD, FOREIGN: what was found */
	int have_state;		/* state describes this master */
	struct web_state state;
};

/*
 * Read path (the pid file, or its ".2" during a USR2 hand-over) and check
 * the PID: the process must exist, be gunicorn serving omeroweb's app for
 * this pid file, have started before the pid file was written and, when
 * owctl's state file knows it, at the exact recorded time on this boot.
 * Fails only when the file exists but cannot be read (ERR_IO).
 */
int web_pid_read(const struct web_site *w, const char *path,
		 struct web_pid *p, struct err *e);
void web_pid_release(struct web_pid *p);
const char *web_pid_status_name(enum web_pid_status st);

/* Remove the pid file and owctl's state file (missing is fine). */
void web_forget(const struct web_site *w);

struct web_launch_opts {
	const struct venv *venv;
	const char *health_path;	/* after the prefix; NULL: "/" */
	double timeout;			/* for READY=1 and the HTTP answer */
	int foreground;			/* owctl stays gunicorn's parent */
	int sigfd;			/* signalfd (INT, TERM, ...) or -1:
					 * a signal aborts the start, or in
					 * the foreground is passed on */
	/*
	 * NULL: gunicorn's -p is omero-web's OMERODIR/var/django.pid. Else
	 * the -p given to gunicorn instead, for a second master beside the
	 * first (an upgrade's hand-over); w->pidfile and w->statefile must
	 * then name that master's files too.
	 */
	const char *pidfile;
};

struct web_launch_result {
	struct strv argv;		/* the command run */
	char *url;			/* the health URL */
	pid_t pid;
	double ready_after;		/* READY=1, seconds after spawn */
	double healthy_after;		/* HTTP answer and every worker up,
					 * seconds after spawn */
	size_t workers;			/* workers that loaded the app */
	struct http_probe probe;	/* the answer that proved it up */
	int exit_status;		/* gunicorn's, when it exited; else -1 */
	char *log_tail;			/* failure: its last lines of output */
	struct gchild child;		/* foreground: for web_supervise */
};

/*
 * Start gunicorn with omero-web's command line (without -D: owctl
 * detaches it itself, so it can watch it and keep its output in
 * w->logfile) and wait until it is proved up: READY=1 on the notify
 * socket, then an HTTP answer from the app (2xx-4xx) at the health URL.
 * On failure everything started is stopped, r->log_tail holds gunicorn's
 * last output lines, and ERR_WEB_NOT_READY says what happened (port taken,
 * exited with status N, answered 500, timeout). Does not look at an
 * existing pid file: check it first. Writes owctl's state file on success.
 * Release r with web_launch_result_release.
 */
int web_launch(const struct web_site *w, const struct web_launch_opts *o,
	       struct web_launch_result *r, struct err *e);
void web_launch_result_release(struct web_launch_result *r);

/*
 * Foreground: after web_launch, pass signals from sigfd on to gunicorn
 * until it exits; then remove its pid and state files. Returns gunicorn's
 * exit status (128 + signal when killed); *removed_pidfile is set when
 * the pid file was still there.
 */
int web_supervise(const struct web_site *w, struct web_launch_result *r,
		  int sigfd, int *removed_pidfile);

/* Send msg ("READY=1\n...") to a systemd notify socket address ("/path"
 * or "@abstract"); 0, or -1 with e. */
int web_sd_notify(const char *address, const char *msg, struct err *e);

struct web_stop_result {
	enum web_pid_status found;
	pid_t pid;
	char *why;			/* for BAD, DEAD, FOREIGN */
	int killed;			/* SIGKILL was needed */
	double seconds;			/* from SIGTERM to exit */
	int port_free;			/* the port no longer accepts */
	size_t workers;			/* workers it had */
};

/*
 * Stop the master in the pid file: SIGTERM (gunicorn's graceful stop),
 * wait until it and its workers exited and the port is free, SIGKILL
 * after timeout. A stale pid file (dead, garbage or reused PID) is
 * removed and nothing is signalled. Fails with ERR_WEB_NOT_READY when the
 * processes survive SIGKILL.
 */
int web_stop(const struct web_site *w, double timeout,
	     struct web_stop_result *r, struct err *e);
void web_stop_result_release(struct web_stop_result *r);

struct web_status {
	int lsb;			/* 0 running and answering, 1 dead
					 * with pid file, 3 not running,
					 * 4 running but not answering */
	const char *state;		/* "running", "not-answering",
					 * "dead", "stopped" */
	struct web_pid pid;
	pid_t *workers;
	size_t nworkers;
	char *bind;
	char *url;
	double started;			/* epoch; 0 unknown */
	int probed;
	struct http_probe probe;
};

/* Fill st (always released with web_status_release). Fails only when
 * the pid file cannot be read. */
int web_status(const struct web_site *w, const char *health_path,
	       double timeout, struct web_status *st, struct err *e);
void web_status_release(struct web_status *st);

struct web_reload_result {
	pid_t pid;			/* master (reload) or new master */
	pid_t old_pid;			/* replace: the retired master */
	size_t workers;			/* new workers, all booted */
	double seconds;
	double check_s;			/* importing the app first */
	double ready_s;			/* signal to all new workers ready */
	double retire_s;		/* replace: old master gone */
	struct http_probe probe;
	char *note;			/* e.g. the command line changed */
	char *log_tail;			/* on failure */
};

/*
 * Graceful reload: check the app imports (when v is given), send HUP, and
 * wait until the master runs only new workers, all of which loaded the app
 * (re-reading config.xml), then an HTTP answer; timeout counts from the
 * HUP. Fails with
 * ERR_WEB_NOT_READY when OMERO.web is not running, the master died or the
 * timeout passed (r->log_tail then says why).
 */
int web_reload(const struct web_site *w, const struct venv *v,
	       const char *health_path, double timeout,
	       struct web_reload_result *r, struct err *e);

/*
 * Zero-downtime replacement: USR2 makes the master start a new master
 * (same command line, same listening socket, code loaded afresh) beside
 * itself; once the new master's workers have loaded the app and the app
 * answers, the old master is stopped gracefully and the new one takes over
 * the pid file. No request fails. If the new master fails, it is stopped
 * and the old one keeps serving. Refused when the command line built from
 * the config (or the venv) differs from the running one, since USR2 can
 * only re-run the old one.
 */
int web_replace(const struct web_site *w, const struct venv *v,
		const char *health_path, double timeout,
		struct web_reload_result *r, struct err *e);
void web_reload_result_release(struct web_reload_result *r);

/*
 * The gunicorn command for this deployment and venv (omero-web's words,
 * the venv's gunicorn instead of "gunicorn", no -D), and whether it needs
 * PYTHONSAFEPATH=1 for USR2.
 */
int web_command(const struct web_site *w, const struct venv *v,
		struct strv *argv, int *safepath, struct err *e);

/* The last max_lines lines of path from byte offset on, appended to out. */
void web_log_tail(const char *path, long offset, int max_lines,
		  struct sbuf *out);

/*
 * The venv owctl upgrade switched the deployment to, kept in
 * $OMERODIR/var/owctl/venv (one line: the absolute path). `owctl web`
 * uses it when neither --venv nor $VIRTUAL_ENV is given, before looking
 * on PATH. web_venv_recorded returns the path (caller frees) or NULL when
 * there is none; web_venv_record writes it atomically (0644).
 */
char *web_venv_record_path(const char *omerodir);
char *web_venv_recorded(const char *omerodir);
int web_venv_record(const char *omerodir, const char *venv, struct err *e);

struct web_unit_opts {
	const char *owctl;	/* absolute path of owctl */
	const char *user;	/* User= (NULL: none) */
	const char *venv;	/* --venv for ExecStart */
	const char *name;	/* unit name without .service: "omero-web" */
	double stop_timeout;
};

/*
 * A systemd service running `owctl web start --foreground` (Type=notify)
 * and, for the nightly expired-session clean-up, a oneshot service running
 * `owctl web clearsessions` and its timer, for w.
 */
void web_unit_render(const struct web_site *w, const struct web_unit_opts *o,
		     struct sbuf *service, struct sbuf *clean_service,
		     struct sbuf *timer);

#endif
