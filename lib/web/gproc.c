/*
 * gunicorn processes (see gproc.h): posix_spawn + pidfd + a NOTIFY_SOCKET
 * datagram socket for the master owctl starts, /proc for the ones it
 * finds through the pid file.
 */
#define _GNU_SOURCE	/* POSIX_SPAWN_SETSID, addchdir_np, SCM_CREDENTIALS */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "web/gproc.h"
#include "xalloc.h"
#include "banned.h"

#define PROC_READ_MAX (1u << 20)

static int
read_proc(pid_t pid, const char *what, struct sbuf *out)
{
	char path[64];
	struct err e = ERR_INIT;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	r = fs_read_file(path, PROC_READ_MAX, out, &e);
	err_clear(&e);
	return r;
}

static double
boot_epoch(void)
{
	static double btime = -1;
	struct sbuf sb = SBUF_INIT;
	struct err e = ERR_INIT;

	if (btime >= 0)
		return btime;
	btime = 0;
	if (fs_read_file("/proc/stat", PROC_READ_MAX, &sb, &e) == 0) {
		const char *p = strstr(sb.buf, "\nbtime ");

		if (p)
			btime = strtod(p + 7, NULL);
	}
	err_clear(&e);
	sbuf_release(&sb);
	return btime;
}

int
gproc_read(pid_t pid, struct gproc *g)
{
	struct sbuf sb = SBUF_INIT;
	char *p, *end;
	int field;
	long tck = sysconf(_SC_CLK_TCK);

	memset(g, 0, sizeof(*g));
	if (pid <= 0 || read_proc(pid, "stat", &sb) < 0) {
		sbuf_release(&sb);
		return -1;
	}
	/* "pid (comm) S ppid ...": comm may hold ')' and spaces. */
	p = strrchr(sb.buf, ')');
	if (!p || p[1] != ' ') {
		sbuf_release(&sb);
		return -1;
	}
	g->pid = pid;
	g->state = p[2];
	p += 3;
	for (field = 4; *p && field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (field == 4)
			g->ppid = (pid_t)strtol(p, &end, 10);
		else if (field == 22)
			g->starttime = strtoull(p, &end, 10);
		else
			end = p + strcspn(p, " ");
		p = end;
	}
	g->start_epoch = boot_epoch() + (double)g->starttime /
			 (double)(tck > 0 ? tck : 100);
	sbuf_release(&sb);
	return field > 22 ? 0 : -1;
}

int
gproc_alive(pid_t pid)
{
	struct gproc g;

	return gproc_read(pid, &g) == 0 && g.state != 'Z' && g.state != 'X';
}

int
gproc_cmdline(pid_t pid, struct strv *out)
{
	struct sbuf sb = SBUF_INIT;

	if (read_proc(pid, "cmdline", &sb) < 0) {
		sbuf_release(&sb);
		return -1;
	}
	for (size_t i = 0; i < sb.len; i += strlen(sb.buf + i) + 1)
		strv_push(out, sb.buf + i);
	sbuf_release(&sb);
	return 0;
}

char *
gproc_environ(pid_t pid, const char *name)
{
	struct sbuf sb = SBUF_INIT;
	size_t nlen = strlen(name);
	char *v = NULL;

	if (read_proc(pid, "environ", &sb) == 0)
		for (size_t i = 0; i < sb.len; i += strlen(sb.buf + i) + 1)
			if (!strncmp(sb.buf + i, name, nlen) &&
			    sb.buf[i + nlen] == '=')
				v = xstrdup(sb.buf + i + nlen + 1);
	sbuf_release(&sb);
	return v;
}

void
gproc_boot_id(char *buf, size_t size)
{
	struct sbuf sb = SBUF_INIT;
	struct err e = ERR_INIT;

	buf[0] = '\0';
	if (fs_read_file("/proc/sys/kernel/random/boot_id", 256, &sb, &e) == 0)
	{
		sbuf_rtrim(&sb);
		snprintf(buf, size, "%s", sb.buf);
	}
	err_clear(&e);
	sbuf_release(&sb);
}

/* Same file: by inode when both exist, else by path with '//' folded. */
static int
same_path(const char *a, const char *b)
{
	struct stat sa, sb;
	struct sbuf na = SBUF_INIT, nb = SBUF_INIT;
	int same;

	if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	for (const char *p = a; *p; p++)
		if (!(*p == '/' && p[1] == '/'))
			sbuf_addch(&na, *p);
	for (const char *p = b; *p; p++)
		if (!(*p == '/' && p[1] == '/'))
			sbuf_addch(&nb, *p);
	same = !strcmp(na.buf, nb.buf);
	sbuf_release(&na);
	sbuf_release(&nb);
	return same;
}

static void
describe(struct sbuf *why, pid_t pid, const struct strv *argv)
{
	sbuf_addf(why, "PID %d is '", (int)pid);
	for (size_t i = 0; i < argv->n && why->len < 200; i++)
		sbuf_addf(why, "%s%s", i ? " " : "", argv->v[i]);
	if (why->len >= 200)
		sbuf_adds(why, "...");
	sbuf_addch(why, '\'');
}

enum gmaster_state
gmaster_check(pid_t pid, const struct gmaster_expect *x, struct sbuf *why)
{
	struct sbuf dummy = SBUF_INIT;
	struct strv argv = STRV_INIT;
	struct gproc g;
	enum gmaster_state st = GMASTER_FOREIGN;
	int has_gunicorn = 0, has_app = 0;
	const char *pidarg = NULL;

	if (!why)
		why = &dummy;
	if (gproc_read(pid, &g) < 0 || g.state == 'Z' || g.state == 'X') {
		sbuf_addf(why, "no process has PID %d", (int)pid);
		st = GMASTER_DEAD;
		goto out;
	}
	if (gproc_cmdline(pid, &argv) < 0) {
		sbuf_addf(why, "the command line of PID %d cannot be read",
			  (int)pid);
		goto out;
	}
	for (size_t i = 0; i < argv.n; i++) {
		if (strstr(argv.v[i], "gunicorn"))
			has_gunicorn = 1;
		if (strstr(argv.v[i], x->app))
			has_app = 1;
		if (!strcmp(argv.v[i], "-p") && i + 1 < argv.n)
			pidarg = argv.v[i + 1];
		else if (!strncmp(argv.v[i], "--pid=", 6))
			pidarg = argv.v[i] + 6;
	}
	if (!has_gunicorn || !has_app) {
		describe(why, pid, &argv);
		sbuf_addf(why, ", not the gunicorn of %s", x->app);
		goto out;
	}
	if (pidarg && x->pidfile && !same_path(pidarg, x->pidfile)) {
		describe(why, pid, &argv);
		sbuf_addf(why, ", the gunicorn of another deployment "
			  "(pid file '%s')", pidarg);
		goto out;
	}
	if (x->starttime && g.starttime != x->starttime) {
		sbuf_addf(why, "PID %d started at another time than the "
			  "gunicorn owctl started (PID reused)", (int)pid);
		goto out;
	}
	/* The master writes its pid file after it starts: a process that
	 * started later only got the same PID (reuse after a crash or a
	 * reboot). One second of slack for btime's precision. */
	if (x->pidfile_mtime && g.start_epoch > (double)x->pidfile_mtime + 2) {
		describe(why, pid, &argv);
		sbuf_addf(why, ", started after the pid file was written "
			  "(PID reused)");
		goto out;
	}
	st = GMASTER_RUNNING;
out:
	strv_release(&argv);
	sbuf_release(&dummy);
	return st;
}

static int
cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

size_t
gmaster_children(pid_t master, pid_t **pids)
{
	size_t n = 0, alloc = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;

	*pids = NULL;
	while (d && (de = readdir(d))) {
		struct gproc g;
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		if (gproc_read((pid_t)pid, &g) < 0 || g.ppid != master ||
		    g.state == 'Z' || g.state == 'X')
			continue;
		XGROW(*pids, alloc, n + 1);
		(*pids)[n++] = (pid_t)pid;
	}
	if (d)
		closedir(d);
	if (n)
		qsort(*pids, n, sizeof(**pids), cmp_pid);
	return n;
}

int
gmaster_heartbeats(pid_t master, size_t *total, size_t *booted)
{
	char dir[64];
	DIR *d;
	struct dirent *de;

	*total = *booted = 0;
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)master);
	d = opendir(dir);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char path[384], target[4096];
		struct stat st;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strstr(target, "/wgunicorn-") || stat(path, &st) < 0)
			continue;
		(*total)++;
		/* created 0600; gunicorn 20 toggles the mode 0/1, later
		 * versions set the times (mtime from a monotonic clock) */
		if ((st.st_mode & 0777) <= 1 ||
		    st.st_mtime < st.st_ctime - 1 || st.st_mtime > st.st_ctime + 1)
			(*booted)++;
	}
	closedir(d);
	return 0;
}

/* child side */

int
gchild_notify_open(struct gchild *c, struct err *e)
{
	struct sockaddr_un sa;
	socklen_t len;
	int one = 1;
	char name[64];
	unsigned rnd;

	c->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC |
			      SOCK_NONBLOCK, 0);
	if (c->notify_fd < 0)
		return err_errno(e, ERR_IO, errno, "cannot create the notify "
				 "socket");
	if (setsockopt(c->notify_fd, SOL_SOCKET, SO_PASSCRED, &one,
		       sizeof(one)) < 0)
		goto fail;
	for (int attempt = 0; attempt < 8; attempt++) {
		rnd = (unsigned)(fs_now() * 1e6) ^ ((unsigned)getpid() << 8) ^
		      (unsigned)attempt * 2654435761u;
		snprintf(name, sizeof(name), "owctl-web-%d-%08x",
			 (int)getpid(), rnd);
		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		/* abstract address: sun_path[0] == '\0' */
		memcpy(sa.sun_path + 1, name, strlen(name));
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				  strlen(name));
		if (bind(c->notify_fd, (struct sockaddr *)&sa, len) == 0) {
			snprintf(c->notify_env, sizeof(c->notify_env),
				 "NOTIFY_SOCKET=@%s", name);
			return 0;
		}
		if (errno != EADDRINUSE)
			break;
	}
fail:
	err_errno(e, ERR_IO, errno, "cannot set up the notify socket");
	close(c->notify_fd);
	c->notify_fd = -1;
	return -1;
}

int
gchild_spawn(struct gchild *c, const char *const *argv,
	     const char *const *envp, const char *cwd, const char *out_path,
	     unsigned flags, struct err *e)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	short sflags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	pid_t pid;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY |
					 O_APPEND | O_CREAT, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (cwd)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	if (flags & GCHILD_SETSID)
		sflags |= POSIX_SPAWN_SETSID;
	posix_spawnattr_setflags(&at, sflags);
	rc = posix_spawn(&pid, argv[0], &fa, &at, (char *const *)argv,
			 (char *const *)envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc != 0)
		return err_errno(e, ERR_IO, rc, "cannot run '%s'", argv[0]);
	c->pid = pid;
	c->reaped = 0;
	/* Race-free for a child: its PID cannot be reused before we reap. */
	c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (c->pidfd >= 0)
		fcntl(c->pidfd, F_SETFD, FD_CLOEXEC);
	return 0;
}

int
gchild_poll(struct gchild *c)
{
	int ws;
	pid_t r;

	if (c->reaped)
		return 1;
	if (c->pid <= 0)
		return 0;
	do
		r = waitpid(c->pid, &ws, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r != c->pid)
		return 0;
	c->reaped = 1;
	c->status = WIFEXITED(ws) ? WEXITSTATUS(ws) :
		    WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : 1;
	return 1;
}

/* Read pending datagrams; 1 when one from the child says READY=1. */
static int
read_notify(struct gchild *c)
{
	int ready = 0;

	for (;;) {
		char buf[4096];
		union {
			struct cmsghdr h;
			char space[CMSG_SPACE(sizeof(struct ucred))];
		} ctl;
		struct iovec iov = { buf, sizeof(buf) - 1 };
		struct msghdr mh = { 0 };
		struct cmsghdr *cm;
		struct ucred cred = { 0, 0, 0 };
		ssize_t n;

		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.space;
		mh.msg_controllen = sizeof(ctl.space);
		n = recvmsg(c->notify_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		buf[n] = '\0';
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_CREDENTIALS)
				memcpy(&cred, CMSG_DATA(cm), sizeof(cred));
		if (cred.pid != c->pid)
			continue;
		n = n < (ssize_t)sizeof(c->notify_msg) ? n :
		    (ssize_t)sizeof(c->notify_msg) - 1;
		memcpy(c->notify_msg, buf, (size_t)n);
		c->notify_msg[n] = '\0';
		for (char *line = buf; line; ) {
			char *nl = strchr(line, '\n');

			if (nl)
				*nl = '\0';
			if (!strcmp(line, "READY=1"))
				ready = 1;
			line = nl ? nl + 1 : NULL;
		}
	}
	return ready;
}

enum gchild_event
gchild_wait(struct gchild *c, double deadline, int want_ready, int sigfd,
	    int *signo)
{
	for (;;) {
		struct pollfd pf[3];
		nfds_t n = 0;
		int ipid = -1, inot = -1, isig = -1;
		double left = deadline - fs_now();
		int ms;

		if (gchild_poll(c))
			return GCHILD_EXITED;
		if (left <= 0)
			return GCHILD_TIMEOUT;
		ms = left > 3600 ? 3600000 : (int)(left * 1000) + 1;
		if (c->pidfd >= 0) {
			ipid = (int)n;
			pf[n++] = (struct pollfd){ c->pidfd, POLLIN, 0 };
		} else if (ms > 50) {
			ms = 50;	/* no pidfd: poll waitpid */
		}
		if (want_ready && c->notify_fd >= 0) {
			inot = (int)n;
			pf[n++] = (struct pollfd){ c->notify_fd, POLLIN, 0 };
		}
		if (sigfd >= 0) {
			isig = (int)n;
			pf[n++] = (struct pollfd){ sigfd, POLLIN, 0 };
		}
		if (poll(pf, n, ms) < 0) {
			if (errno == EINTR)
				continue;
			return GCHILD_TIMEOUT;
		}
		if (isig >= 0 && (pf[isig].revents & POLLIN)) {
			struct signalfd_siginfo si;

			if (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				*signo = (int)si.ssi_signo;
				return GCHILD_SIGNAL;
			}
		}
		if (inot >= 0 && (pf[inot].revents & POLLIN) && read_notify(c))
			return GCHILD_READY;
		if (ipid >= 0 && (pf[ipid].revents & POLLIN)) {
			/* exited: give waitpid a moment to see it */
			for (int i = 0; i < 100 && !gchild_poll(c); i++)
				usleep(1000);
			if (c->reaped)
				return GCHILD_EXITED;
		}
	}
}

int
gchild_signal(struct gchild *c, int sig)
{
	if (c->reaped) {
		errno = ESRCH;
		return -1;
	}
	return gproc_kill(c->pidfd, c->pid, sig);
}

void
gchild_close(struct gchild *c)
{
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->notify_fd >= 0)
		close(c->notify_fd);
	c->pidfd = c->notify_fd = -1;
}

int
gproc_pidfd(pid_t pid)
{
	int fd;

	if (pid <= 0)
		return -1;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

int
gproc_kill(int pidfd, pid_t pid, int sig)
{
	if (pidfd >= 0) {
		if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) == 0)
			return 0;
		if (errno != ENOSYS)
			return -1;
	}
	return kill(pid, sig);
}

int
gproc_wait_gone(int pidfd, pid_t pid, double deadline)
{
	for (;;) {
		double left = deadline - fs_now();

		if (!gproc_alive(pid))
			return 1;
		if (left <= 0)
			return 0;
		if (pidfd >= 0) {
			struct pollfd pf = { pidfd, POLLIN, 0 };
			int ms = left > 1 ? 1000 : (int)(left * 1000) + 1;

			if (poll(&pf, 1, ms) > 0)
				return 1;
		} else {
			usleep(20000);
		}
	}
}
