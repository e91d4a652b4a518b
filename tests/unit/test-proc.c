/* Running programs: capture, stdin, exit statuses, signals, timeouts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fs.h"
#include "proc.h"
#include "xalloc.h"
#include "banned.h"

static void
test_proc_captures_both_streams_and_status(void **state)
{
	const char *argv[] = { "sh", "-c",
			       "printf 'to out'; printf 'to err' >&2; exit 3",
			       NULL };
	struct sbuf out = SBUF_INIT, err = SBUF_INIT;
	struct proc_opts o = { .argv = argv, .out = &out, .err = &err };
	struct proc_result r;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(proc_run(&o, &r, &e), 0);
	assert_string_equal(out.buf, "to out");
	assert_string_equal(err.buf, "to err");
	assert_int_equal(r.status, 3);
	assert_int_equal(r.signo, 0);
	assert_int_equal(r.timed_out, 0);
	sbuf_release(&out);
	sbuf_release(&err);
}

/* 4 MiB through cat: both pipes must be served at once or this hangs. */
static void
test_proc_stdin_large_roundtrip(void **state)
{
	const char *argv[] = { "cat", NULL };
	size_t n = 4 << 20, i;
	char *in = xmalloc(n);
	struct sbuf out = SBUF_INIT;
	struct proc_opts o = { .argv = argv, .in = in, .in_len = n,
			       .out = &out, .timeout = 30 };
	struct proc_result r;
	struct err e = ERR_INIT;

	(void)state;
	for (i = 0; i < n; i++)
		in[i] = (char)(i * 7 + i / 251);
	assert_int_equal(proc_run(&o, &r, &e), 0);
	assert_int_equal(r.status, 0);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.buf, in, n);
	free(in);
	sbuf_release(&out);
}

/* A child that stops reading must not kill us with SIGPIPE. */
static void
test_proc_child_ignoring_stdin(void **state)
{
	const char *argv[] = { "sh", "-c", "head -c 3 >/dev/null; exit 5",
			       NULL };
	size_t n = 1 << 20;
	char *in = xcalloc(n, 1);
	struct proc_opts o = { .argv = argv, .in = in, .in_len = n,
			       .timeout = 30 };
	struct proc_result r;
	struct err e = ERR_INIT;
	struct sigaction before, after;

	(void)state;
	sigaction(SIGPIPE, NULL, &before);
	assert_int_equal(proc_run(&o, &r, &e), 0);
	assert_int_equal(r.status, 5);
	sigaction(SIGPIPE, NULL, &after);
	assert_true(before.sa_handler == after.sa_handler);
	free(in);
}

static void
test_proc_no_stdin_is_dev_null(void **state)
{
	const char *argv[] = { "wc", "-c", NULL };
	struct sbuf out = SBUF_INIT;
	struct proc_opts o = { .argv = argv, .out = &out };
	struct proc_result r;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(proc_run(&o, &r, &e), 0);
	assert_int_equal(strtol(out.buf, NULL, 10), 0);
	sbuf_release(&out);
}

static void
test_proc_timeout_kills(void **state)
{
	const char *argv[] = { "sh", "-c", "echo started; exec sleep 30",
			       NULL };
	struct sbuf out = SBUF_INIT;
	struct proc_opts o = { .argv = argv, .out = &out, .timeout = 0.3 };
	struct proc_result r;
	struct err e = ERR_INIT;
	double t0 = fs_now();

	(void)state;
	assert_int_equal(proc_run(&o, &r, &e), -1);
	assert_true(fs_now() - t0 < 5);
	assert_int_equal(r.timed_out, 1);
	assert_int_equal(r.signo, SIGKILL);
	assert_int_equal(e.code, ERR_FAIL);
	assert_non_null(strstr(e.msg, "did not finish"));
	assert_string_equal(out.buf, "started\n");
	err_clear(&e);
	sbuf_release(&out);
}

static void
test_proc_signal_status(void **state)
{
	const char *argv[] = { "sh", "-c", "kill -TERM $$", NULL };
	struct proc_opts o = { .argv = argv };
	struct proc_result r;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(proc_run(&o, &r, &e), 0);
	assert_int_equal(r.signo, SIGTERM);
	assert_int_equal(r.status, 128 + SIGTERM);
}

static void
test_proc_missing_program(void **state)
{
	const char *argv[] = { "owctl-no-such-program", NULL };
	struct proc_opts o = { .argv = argv };
	struct proc_result r;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(proc_run(&o, &r, &e), -1);
	assert_int_equal(e.code, ERR_IO);
	assert_string_equal(e.msg, "cannot run 'owctl-no-such-program': "
				   "No such file or directory");
	err_clear(&e);
}

/* exec itself fails (not executable as a program): reported, not lost. */
static void
test_proc_exec_failure_reported(void **state)
{
	char path[] = "/tmp/owctl-test-proc-XXXXXX";
	const char *argv[] = { path, NULL };
	struct proc_opts o = { .argv = argv };
	struct proc_result r;
	struct err e = ERR_INIT;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\x7f" "ELF garbage", 12), 12);
	close(fd);
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(proc_run(&o, &r, &e), -1);
	assert_int_equal(e.code, ERR_IO);
	assert_non_null(strstr(e.msg, "cannot run '"));
	assert_non_null(strstr(e.msg, "Exec format error"));
	err_clear(&e);
	unlink(path);
}

static void
test_proc_env_and_cwd(void **state)
{
	const char *argv[] = { "sh", "-c", "echo \"$OWCTL_X\"; pwd", NULL };
	const char *env[] = { "PATH=/usr/bin:/bin", "OWCTL_X=from env",
			      NULL };
	struct sbuf out = SBUF_INIT;
	struct proc_opts o = { .argv = argv, .env = env, .cwd = "/",
			       .out = &out };
	struct proc_result r;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(proc_run(&o, &r, &e), 0);
	assert_string_equal(out.buf, "from env\n/\n");
	sbuf_release(&out);
}

static void
test_proc_bad_cwd(void **state)
{
	const char *argv[] = { "true", NULL };
	struct proc_opts o = { .argv = argv, .cwd = "/owctl/no/such/dir" };
	struct proc_result r;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(proc_run(&o, &r, &e), -1);
	assert_string_equal(e.msg, "cannot run 'true': cannot enter "
				   "'/owctl/no/such/dir': No such file or "
				   "directory");
	err_clear(&e);
}

static void
test_proc_capture_cap(void **state)
{
	const char *argv[] = { "sh", "-c",
			       "head -c 300000 /dev/zero; echo tail >&2",
			       NULL };
	struct sbuf out = SBUF_INIT, err = SBUF_INIT;
	struct proc_opts o = { .argv = argv, .out = &out, .err = &err,
			       .max_capture = 1000 };
	struct proc_result r;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(proc_run(&o, &r, &e), 0);
	assert_int_equal(r.status, 0);
	assert_int_equal(out.len, 1000);
	assert_int_equal(r.truncated, 1);
	assert_string_equal(err.buf, "tail\n");
	sbuf_release(&out);
	sbuf_release(&err);
}

static void
test_proc_stderr_to_stdout(void **state)
{
	const char *argv[] = { "sh", "-c", "echo a; echo b >&2; echo c",
			       NULL };
	struct sbuf out = SBUF_INIT;
	struct proc_opts o = { .argv = argv, .out = &out,
			       .flags = PROC_STDERR_TO_STDOUT };
	struct proc_result r;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(proc_run(&o, &r, &e), 0);
	assert_string_equal(out.buf, "a\nb\nc\n");
	sbuf_release(&out);
}

static void
test_proc_which(void **state)
{
	char *p;

	(void)state;
	p = proc_which("sh", "/owctl/none::/bin");
	assert_non_null(p);
	assert_string_equal(p, "/bin/sh");
	free(p);
	assert_null(proc_which("sh", "/owctl/none"));
	assert_null(proc_which("owctl-no-such-program", NULL));
	/* directories are not programs */
	assert_null(proc_which("bin", "/"));
	p = proc_which("/bin/sh", "/owctl/none");
	assert_string_equal(p, "/bin/sh");
	free(p);
}

/* A PATH in env is the one searched, like Python's subprocess. */
static void
test_proc_env_path_used_for_lookup(void **state)
{
	const char *argv[] = { "sh", "-c", "true", NULL };
	const char *env[] = { "PATH=/owctl/none", NULL };
	struct proc_opts o = { .argv = argv, .env = env };
	struct proc_result r;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(proc_run(&o, &r, &e), -1);
	assert_int_equal(e.code, ERR_IO);
	err_clear(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_captures_both_streams_and_status),
		cmocka_unit_test(test_proc_stdin_large_roundtrip),
		cmocka_unit_test(test_proc_child_ignoring_stdin),
		cmocka_unit_test(test_proc_no_stdin_is_dev_null),
		cmocka_unit_test(test_proc_timeout_kills),
		cmocka_unit_test(test_proc_signal_status),
		cmocka_unit_test(test_proc_missing_program),
		cmocka_unit_test(test_proc_exec_failure_reported),
		cmocka_unit_test(test_proc_env_and_cwd),
		cmocka_unit_test(test_proc_bad_cwd),
		cmocka_unit_test(test_proc_capture_cap),
		cmocka_unit_test(test_proc_stderr_to_stdout),
		cmocka_unit_test(test_proc_which),
		cmocka_unit_test(test_proc_env_path_used_for_lookup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
