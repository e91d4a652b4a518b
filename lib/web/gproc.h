/*
 * gunicorn as processes: spawning the master with a private NOTIFY_SOCKET
 * and a pidfd, waiting for READY=1 or its exit, and reading /proc to tell
 * whether a PID is really OMERO.web's master (not a stale or reused PID),
 * which workers it has and whether they have loaded the app.
 */
#ifndef OWCTL_GPROC_H
#define OWCTL_GPROC_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "err.h"
#include "sbuf.h"
#include "strv.h"

/* What /proc/PID/stat says. */
struct gproc {
	pid_t pid;
	pid_t ppid;
	char state;			/* R, S, D, Z, ... */
	unsigned long long starttime;	/* clock ticks after boot */
	double start_epoch;		/* the same as wall-clock time */
};

/* Read /proc/PID/stat: 0, or -1 when there is no such process. */
int gproc_read(pid_t pid, struct gproc *g);
/* Alive and not a zombie. */
int gproc_alive(pid_t pid);
/* /proc/PID/cmdline as words; -1 when unreadable. */
int gproc_cmdline(pid_t pid, struct strv *out);
/* Value of NAME in /proc/PID/environ (caller frees), or NULL. */
char *gproc_environ(pid_t pid, const char *name);
/* This boot's id (/proc/sys/kernel/random/boot_id), "" if unknown. */
void gproc_boot_id(char *buf, size_t size);

/* What a PID read from a pid file turned out to be. */
enum gmaster_state {
	GMASTER_RUNNING,	/* OMERO.web's gunicorn master */
	GMASTER_DEAD,		/* no such process (or a zombie) */
	GMASTER_FOREIGN,	/* alive, but not that master: another program,
				 * another deployment's gunicorn, or a process
				 * started after the pid file was written */
};

/* What the master must look like. */
struct gmaster_expect {
	const char *app;		/* "omeroweb.wsgi:application" */
	const char *pidfile;		/* our pid file: a "-p X" in its
					 * command line must name it */
	time_t pidfile_mtime;		/* 0: unknown */
	unsigned long long starttime;	/* exact, from owctl's state file;
					 * 0: unknown */
};

/*
 * Check pid against x. why (may be NULL) gets a short reason for
 * GMASTER_DEAD and GMASTER_FOREIGN ("PID 12 is 'sleep 100', not
 * gunicorn").
 */
enum gmaster_state gmaster_check(pid_t pid, const struct gmaster_expect *x,
				 struct sbuf *why);

/* PIDs of the live children of master (its workers, and a USR2 child
 * master), ascending; caller frees *pids. Returns the count. */
size_t gmaster_children(pid_t master, pid_t **pids);

/*
 * Workers that have loaded the app: the master holds one heartbeat file
 * ("wgunicorn-*", unlinked) per worker; a worker touches it from its main
 * loop only once the app is loaded (fchmod to 0 or 1 in gunicorn 20, utime
 * in later versions). Sets *total and *booted; -1 when the master's fds
 * cannot be read (permissions), so readiness must be judged otherwise.
 */
int gmaster_heartbeats(pid_t master, size_t *total, size_t *booted);

/* A child process owctl started, with its notify socket. */
struct gchild {
	pid_t pid;		/* 0 before spawn */
	int pidfd;		/* -1 when pidfd_open is unavailable */
	int notify_fd;		/* AF_UNIX datagram socket, or -1 */
	char notify_env[96];	/* "NOTIFY_SOCKET=@owctl-web-..." */
	int reaped;		/* it exited and was waited for */
	int status;		/* then: exit status, or 128 + signal */
	char notify_msg[256];	/* last message received */
};

#define GCHILD_INIT { 0, -1, -1, "", 0, 0, "" }

/* Create the notify socket (abstract address, credentials checked). */
int gchild_notify_open(struct gchild *c, struct err *e);

#define GCHILD_SETSID	(1u << 0)	/* own session: survives owctl */

/*
 * Start argv[0] (an absolute path) with envp, in cwd, stdin from
 * /dev/null, stdout and stderr appended to out_path (created 0644).
 * Signal mask and dispositions are reset. Fails with ERR_IO.
 */
int gchild_spawn(struct gchild *c, const char *const *argv,
		 const char *const *envp, const char *cwd,
		 const char *out_path, unsigned flags, struct err *e);

enum gchild_event {
	GCHILD_READY = 1,	/* READY=1 arrived from the child */
	GCHILD_EXITED,		/* it exited (reaped; see c->status) */
	GCHILD_SIGNAL,		/* a signal arrived on sigfd (*signo) */
	GCHILD_TIMEOUT,		/* deadline (fs_now() scale) passed */
};

/*
 * Wait for the next event. want_ready: report READY=1 (once is enough;
 * pass 0 afterwards to wait for exit or signals only). sigfd is a
 * signalfd or -1. Datagrams from other processes are ignored.
 */
enum gchild_event gchild_wait(struct gchild *c, double deadline,
			      int want_ready, int sigfd, int *signo);

/* Reap the child if it has exited (non-blocking); 1 when reaped. */
int gchild_poll(struct gchild *c);

/* Signal the child (pidfd when possible); 0 or -1 with errno. */
int gchild_signal(struct gchild *c, int sig);

/* Close the descriptors (the process is left alone). */
void gchild_close(struct gchild *c);

/*
 * A pidfd for pid (a process owctl did not start), or -1 when the kernel
 * has none. Open it before gmaster_check: a signal sent through it can
 * only reach the process that was checked, never a later one with the
 * same PID.
 */
int gproc_pidfd(pid_t pid);

/* Send sig through pidfd (or to pid when pidfd < 0): 0, or -1 + errno. */
int gproc_kill(int pidfd, pid_t pid, int sig);

/*
 * Wait until the process exits (poll on pidfd, else polling /proc) or
 * deadline (fs_now() scale) passes: 1 when gone, 0 on timeout.
 */
int gproc_wait_gone(int pidfd, pid_t pid, double deadline);

#endif
