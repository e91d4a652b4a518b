/*
 * Running programs: fork + execve with pipes, captured output and a timeout
 * (see proc.h). The child only makes async-signal-safe calls between fork
 * and exec; exec failures travel back through a close-on-exec pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "proc.h"
#include "xalloc.h"
#include "banned.h"

extern char **environ;

#define DEFAULT_CAPTURE ((size_t)16 << 20)
#define DEFAULT_PATH "/bin:/usr/bin"

/* What the child reports when it cannot get as far as exec. */
struct child_failure {
	int stage;	/* CHILD_* */
	int errnum;
};

enum { CHILD_CHDIR = 1, CHILD_EXEC, CHILD_FDS };

static int
is_executable_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

char *
proc_which(const char *name, const char *path)
{
	struct sbuf sb = SBUF_INIT;
	const char *p, *colon;
	char *found = NULL;
	size_t n;

	if (!name || !*name)
		return NULL;
	if (strchr(name, '/'))
		return is_executable_file(name) ? xstrdup(name) : NULL;
	if (!path)
		path = getenv("PATH");
	if (!path)
		path = DEFAULT_PATH;
	for (p = path;; p = colon + 1) {
		colon = strchr(p, ':');
		sbuf_reset(&sb);
		n = colon ? (size_t)(colon - p) : strlen(p);
		if (n == 0)
			sbuf_adds(&sb, ".");	/* POSIX: "" is the cwd */
		else
			sbuf_add(&sb, p, n);
		sbuf_addf(&sb, "/%s", name);
		if (is_executable_file(sb.buf)) {
			found = sbuf_detach(&sb, NULL);
			break;
		}
		if (!colon)
			break;
	}
	sbuf_release(&sb);
	return found;
}

static const char *
env_path(const char *const *env)
{
	size_t i;

	if (!env)
		return NULL;
	for (i = 0; env[i]; i++)
		if (!strncmp(env[i], "PATH=", 5))
			return env[i] + 5;
	return NULL;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void
close_pipe(int p[2])
{
	close_fd(&p[0]);
	close_fd(&p[1]);
}

static int
make_pipe(int p[2], struct err *e)
{
	/* pipe2() is not POSIX; owctl is single-threaded, so no race. */
	if (pipe(p) < 0) {
		p[0] = p[1] = -1;
		return err_errno(e, ERR_IO, errno, "cannot create a pipe");
	}
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	return 0;
}

static void
child_fail(int fd, int stage, int errnum)
{
	struct child_failure f = { stage, errnum };
	ssize_t n;

	n = write(fd, &f, sizeof(f));
	(void)n;
	_exit(127);
}

/*
 * In the child: src[i] (or -1 to leave fd i alone) becomes fd i. Sources are
 * first moved above 2 so that no dup2 clobbers a source still needed.
 */
static void
child_exec(const char *file, char *const argv[], char *const envp[],
	   const char *cwd, const int src[3], int report)
{
	struct sigaction sa;
	sigset_t none;
	int moved[3];
	int i;

	for (i = 0; i < 3; i++) {
		moved[i] = -1;
		if (src[i] >= 0) {
			moved[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3);
			if (moved[i] < 0 && errno != EBADF)
				child_fail(report, CHILD_FDS, errno);
		}
	}
	for (i = 0; i < 3; i++)
		if (moved[i] >= 0 && dup2(moved[i], i) < 0)
			child_fail(report, CHILD_FDS, errno);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	if (cwd && chdir(cwd) < 0)
		child_fail(report, CHILD_CHDIR, errno);
	execve(file, argv, envp);
	child_fail(report, CHILD_EXEC, errno);
}

static void
capture(struct sbuf *sb, const char *buf, size_t n, size_t cap,
	size_t *count, int *truncated)
{
	size_t room = *count < cap ? cap - *count : 0;

	if (n > room) {
		*truncated = 1;
		n = room;
	}
	sbuf_add(sb, buf, n);
	*count += n;
}

static int
wait_child(pid_t pid, int *wstatus, double deadline)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	pid_t got;

	for (;;) {
		got = waitpid(pid, wstatus, deadline > 0 ? WNOHANG : 0);
		if (got == pid)
			return 0;
		if (got < 0 && errno != EINTR)
			return -1;
		if (got == 0) {
			if (fs_now() >= deadline)
				return 1;
			nanosleep(&pause, NULL);
		}
	}
}

int
proc_run(const struct proc_opts *o, struct proc_result *r, struct err *e)
{
	int in_pipe[2] = { -1, -1 }, out_pipe[2] = { -1, -1 };
	int err_pipe[2] = { -1, -1 }, report[2] = { -1, -1 };
	int devnull = -1, src[3] = { -1, -1, -1 };
	size_t cap = o->max_capture ? o->max_capture : DEFAULT_CAPTURE;
	size_t out_count = 0, err_count = 0, in_off = 0;
	double deadline = o->timeout > 0 ? fs_now() + o->timeout : 0;
	struct sigaction ign, old_pipe;
	int pipe_ignored = 0, wstatus = 0, ret = -1, waited = 0;
	struct child_failure f;
	char *file = NULL;
	const unsigned err_elsewhere = PROC_INHERIT_STDERR |
				       PROC_STDERR_TO_STDOUT;
	pid_t pid = -1;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	if (!o->argv || !o->argv[0])
		return err_set(e, ERR_FAIL, "no program to run");
	file = proc_which(o->argv[0], o->env ? env_path(o->env) : NULL);
	if (!file)
		return err_set(e, ERR_IO, "cannot run '%s': %s", o->argv[0],
			       strerror(ENOENT));

	if (!(o->flags & PROC_INHERIT_STDIN) && !o->in) {
		devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (devnull < 0) {
			err_errno(e, ERR_IO, errno, "cannot open '/dev/null'");
			goto out;
		}
	} else if (!(o->flags & PROC_INHERIT_STDIN)) {
		if (make_pipe(in_pipe, e) < 0)
			goto out;
	}
	if (devnull < 0 && ((!o->out && !(o->flags & PROC_INHERIT_STDOUT)) ||
			    (!o->err && !(o->flags & err_elsewhere)))) {
		devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (devnull < 0) {
			err_errno(e, ERR_IO, errno, "cannot open '/dev/null'");
			goto out;
		}
	}
	if (o->out && !(o->flags & PROC_INHERIT_STDOUT) &&
	    make_pipe(out_pipe, e) < 0)
		goto out;
	if (o->err && !(o->flags & err_elsewhere) &&
	    make_pipe(err_pipe, e) < 0)
		goto out;
	if (make_pipe(report, e) < 0)
		goto out;

	src[0] = o->flags & PROC_INHERIT_STDIN ? 0 :
		 in_pipe[0] >= 0 ? in_pipe[0] : devnull;
	src[1] = o->flags & PROC_INHERIT_STDOUT ? 1 :
		 out_pipe[1] >= 0 ? out_pipe[1] : devnull;
	if (o->flags & PROC_STDERR_TO_STDOUT)
		src[2] = src[1];
	else
		src[2] = o->flags & PROC_INHERIT_STDERR ? 2 :
			 err_pipe[1] >= 0 ? err_pipe[1] : devnull;

	pid = fork();
	if (pid < 0) {
		err_errno(e, ERR_IO, errno, "cannot run '%s'", o->argv[0]);
		goto out;
	}
	if (pid == 0)
		child_exec(file, (char *const *)o->argv,
			   o->env ? (char *const *)o->env : environ, o->cwd,
			   src, report[1]);

	close_fd(&in_pipe[0]);
	close_fd(&out_pipe[1]);
	close_fd(&err_pipe[1]);
	close_fd(&report[1]);
	close_fd(&devnull);

	do
		n = read(report[0], &f, sizeof(f));
	while (n < 0 && errno == EINTR);
	close_fd(&report[0]);
	if (n == (ssize_t)sizeof(f)) {
		wait_child(pid, &wstatus, 0);
		waited = 1;
		if (f.stage == CHILD_CHDIR)
			err_set(e, ERR_IO,
				"cannot run '%s': cannot enter '%s': %s",
				o->argv[0], o->cwd, strerror(f.errnum));
		else
			err_set(e, ERR_IO, "cannot run '%s': %s", o->argv[0],
				strerror(f.errnum));
		goto out;
	}

	if (in_pipe[1] >= 0) {
		fcntl(in_pipe[1], F_SETFL,
		      fcntl(in_pipe[1], F_GETFL) | O_NONBLOCK);
		memset(&ign, 0, sizeof(ign));
		ign.sa_handler = SIG_IGN;
		sigemptyset(&ign.sa_mask);
		sigaction(SIGPIPE, &ign, &old_pipe);
		pipe_ignored = 1;
		if (o->in_len == 0)
			close_fd(&in_pipe[1]);
	}

	while (in_pipe[1] >= 0 || out_pipe[0] >= 0 || err_pipe[0] >= 0) {
		struct pollfd pfd[3];
		int npfd = 0, ms = -1, i;
		char buf[65536];

		if (deadline > 0) {
			double left = deadline - fs_now();

			if (left <= 0)
				goto timed_out;
			ms = (int)(left * 1000) + 1;
		}
		if (in_pipe[1] >= 0)
			pfd[npfd++] = (struct pollfd){ in_pipe[1], POLLOUT, 0 };
		if (out_pipe[0] >= 0)
			pfd[npfd++] = (struct pollfd){ out_pipe[0], POLLIN, 0 };
		if (err_pipe[0] >= 0)
			pfd[npfd++] = (struct pollfd){ err_pipe[0], POLLIN, 0 };
		if (poll(pfd, npfd, ms) < 0) {
			if (errno == EINTR)
				continue;
			err_errno(e, ERR_IO, errno, "cannot wait for '%s'",
				  o->argv[0]);
			kill(pid, SIGKILL);
			goto out;
		}
		for (i = 0; i < npfd; i++) {
			if (!pfd[i].revents)
				continue;
			if (pfd[i].fd == in_pipe[1]) {
				n = write(in_pipe[1],
					  (const char *)o->in + in_off,
					  o->in_len - in_off);
				if (n > 0)
					in_off += n;
				/* EPIPE: the child does not want the rest. */
				if ((n < 0 && errno != EAGAIN &&
				     errno != EINTR) || in_off == o->in_len)
					close_fd(&in_pipe[1]);
				continue;
			}
			n = read(pfd[i].fd, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				if (pfd[i].fd == out_pipe[0])
					close_fd(&out_pipe[0]);
				else
					close_fd(&err_pipe[0]);
				continue;
			}
			if (pfd[i].fd == out_pipe[0])
				capture(o->out, buf, n, cap, &out_count,
					&r->truncated);
			else
				capture(o->err, buf, n, cap, &err_count,
					&r->truncated);
		}
	}

	switch (wait_child(pid, &wstatus, deadline)) {
	case 0:
		waited = 1;
		break;
	case 1:
		goto timed_out;
	default:
		err_errno(e, ERR_IO, errno, "cannot wait for '%s'", o->argv[0]);
		goto out;
	}
	if (WIFSIGNALED(wstatus)) {
		r->signo = WTERMSIG(wstatus);
		r->status = 128 + r->signo;
	} else {
		r->status = WEXITSTATUS(wstatus);
	}
	ret = 0;
	goto out;

timed_out:
	kill(pid, SIGKILL);
	wait_child(pid, &wstatus, 0);
	waited = 1;
	r->timed_out = 1;
	r->signo = SIGKILL;
	r->status = 128 + SIGKILL;
	err_set(e, ERR_FAIL, "'%s' did not finish within %g seconds",
		o->argv[0], o->timeout);
out:
	if (pid > 0 && !waited) {
		kill(pid, SIGKILL);
		wait_child(pid, &wstatus, 0);
	}
	if (pipe_ignored)
		sigaction(SIGPIPE, &old_pipe, NULL);
	close_pipe(in_pipe);
	close_pipe(out_pipe);
	close_pipe(err_pipe);
	close_pipe(report);
	close_fd(&devnull);
	free(file);
	return ret;
}
