/*
 * Running a program to completion: fork + execve with pipes, stdin fed from
 * memory, stdout and stderr captured into sbufs (size-capped), an optional
 * timeout. No shell is involved, ever.
 */
#ifndef OWCTL_PROC_H
#define OWCTL_PROC_H

#include <stddef.h>

#include "err.h"
#include "sbuf.h"

enum proc_flags {
	PROC_INHERIT_STDIN = 1 << 0,	/* the child reads owctl's stdin */
	PROC_INHERIT_STDOUT = 1 << 1,	/* it writes to owctl's stdout */
	PROC_INHERIT_STDERR = 1 << 2,	/* it writes to owctl's stderr */
	PROC_STDERR_TO_STDOUT = 1 << 3,	/* 2>&1, wherever stdout goes */
};

struct proc_opts {
	/*
	 * argv[0] is the program: run as is when it contains a '/', else
	 * looked up in PATH (env's PATH when env is given and has one, like
	 * Python's subprocess, else owctl's, else "/bin:/usr/bin").
	 */
	const char *const *argv;
	const char *const *env;	/* NULL: inherit owctl's environment */
	const char *cwd;	/* NULL: inherit */
	/*
	 * stdin: in_len bytes of in are written, then the pipe is closed.
	 * in == NULL (and no PROC_INHERIT_STDIN): /dev/null.
	 */
	const void *in;
	size_t in_len;
	/* Captured streams (appended); NULL and no inherit flag: /dev/null */
	struct sbuf *out;
	struct sbuf *err;
	size_t max_capture;	/* per stream; 0: 16 MiB; the rest is read
				   and dropped */
	double timeout;		/* seconds; <= 0: wait forever */
	unsigned flags;		/* enum proc_flags */
};

struct proc_result {
	int status;	/* exit status, or 128 + signal (shell style) */
	int signo;	/* signal that ended the child, 0 if it exited */
	int timed_out;	/* killed (SIGKILL) because the timeout passed */
	int truncated;	/* output past max_capture was dropped */
};

/*
 * Run o->argv and wait for it. Returns 0 when the program ran and ended on
 * its own, whatever its exit status (see r->status). Returns -1 when it could
 * not be started (ERR_IO, e.g. "cannot run 'nginx': No such file or
 * directory"), or when the timeout passed (ERR_FAIL; the child was killed,
 * r->timed_out is set and the output read so far is in out/err).
 * SIGPIPE is ignored while writing the child's stdin and restored afterwards;
 * the child starts with default SIGPIPE handling and an empty signal mask.
 * Descriptors other than 0-2 are not passed on (owctl opens everything
 * O_CLOEXEC). Not thread-safe (uses fork and changes SIGPIPE briefly).
 */
int proc_run(const struct proc_opts *o, struct proc_result *r,
	     struct err *e);

/*
 * Full path of the executable name found in path (a PATH-style list; NULL:
 * getenv("PATH"), else "/bin:/usr/bin"), or NULL when there is none. A name
 * with a '/' is returned as is if it is executable. Caller frees.
 */
char *proc_which(const char *name, const char *path);

#endif
