/* Atomic writes and side-file locks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fs.h"
#include "unit-tmpdir.h"
#include "banned.h"

UNIT_TMPDIR("fs")

static void
path_in(struct sbuf *p, const char *name)
{
	sbuf_reset(p);
	sbuf_addf(p, "%s/%s", dir, name);
}

static void
test_fs_atomic_write_keeps_mode(void **state)
{
	struct sbuf p = SBUF_INIT, got = SBUF_INIT;
	struct err e = ERR_INIT;
	struct stat st;

	(void)state;
	path_in(&p, "f");
	assert_int_equal(fs_write_atomic(p.buf, "one", 3, 0666, &e), 0);
	assert_int_equal(chmod(p.buf, 0600), 0);
	assert_int_equal(fs_write_atomic(p.buf, "two!", 4, 0666, &e), 0);
	assert_int_equal(stat(p.buf, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(fs_read_file(p.buf, 100, &got, &e), 0);
	assert_string_equal(got.buf, "two!");
	assert_int_equal(fs_write_atomic_mode(p.buf, "x", 1, 0640, &e), 0);
	assert_int_equal(stat(p.buf, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	sbuf_release(&p);
	sbuf_release(&got);
}

static void
test_fs_atomic_write_fails_cleanly(void **state)
{
	struct sbuf p = SBUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	path_in(&p, "missing-dir/f");
	assert_int_equal(fs_write_atomic(p.buf, "x", 1, 0666, &e), -1);
	assert_int_equal(e.code, ERR_IO);
	assert_non_null(strstr(e.msg, "temporary"));
	err_clear(&e);
	sbuf_release(&p);
}

static void
test_fs_read_file_cap(void **state)
{
	struct sbuf p = SBUF_INIT, got = SBUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	path_in(&p, "big");
	assert_int_equal(fs_write_atomic(p.buf, "0123456789", 10, 0666, &e),
			 0);
	assert_int_equal(fs_read_file(p.buf, 5, &got, &e), -1);
	assert_int_equal(got.len, 0);
	err_clear(&e);
	sbuf_release(&p);
	sbuf_release(&got);
}

static void
test_fs_lock_excludes_and_cleans_up(void **state)
{
	struct fs_lock a = FS_LOCK_INIT, b = FS_LOCK_INIT;
	struct sbuf p = SBUF_INIT;
	struct err e = ERR_INIT;
	double t0;

	(void)state;
	path_in(&p, "cfg.lock");
	assert_int_equal(fs_lock_acquire(&a, p.buf, 0, &e), 0);
	assert_int_equal(fs_lock_acquire(&b, p.buf, 0, &e), -1);
	assert_int_equal(e.code, ERR_CFG_LOCK);
	t0 = fs_now();
	assert_int_equal(fs_lock_acquire(&b, p.buf, 0.2, &e), -1);
	assert_true(fs_now() - t0 >= 0.19);
	fs_lock_release(&a);
	assert_false(fs_exists(p.buf));
	assert_int_equal(fs_lock_acquire(&b, p.buf, 0, &e), 0);
	assert_true(fs_exists(p.buf));
	fs_lock_release(&b);
	err_clear(&e);
	sbuf_release(&p);
}

static void
test_fs_mkdir_p(void **state)
{
	struct sbuf p = SBUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	path_in(&p, "a/b/c");
	assert_int_equal(fs_mkdir_p(p.buf, 0755, &e), 0);
	assert_true(fs_is_dir(p.buf));
	assert_int_equal(fs_mkdir_p(p.buf, 0755, &e), 0);
	sbuf_release(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fs_atomic_write_keeps_mode),
		cmocka_unit_test(test_fs_atomic_write_fails_cleanly),
		cmocka_unit_test(test_fs_read_file_cap),
		cmocka_unit_test(test_fs_lock_excludes_and_cleans_up),
		cmocka_unit_test(test_fs_mkdir_p),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
