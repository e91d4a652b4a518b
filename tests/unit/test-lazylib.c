/* On-demand library loading. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lazylib.h"
#include "banned.h"

static const char *(*zver)(void);
static int (*znope)(void);

static void
test_lazylib_binds_and_caches(void **state)
{
	static const char *const libs[] = { "libz.so.1", NULL };
	const struct lazy_sym syms[] = { LAZY_SYM("zlibVersion", zver),
					 { NULL, NULL } };
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(lazylib_bind(libs, "zlib1g", syms, &e), 0);
	assert_non_null(zver);
	assert_true(strlen(zver()) > 0);
	assert_int_equal(lazylib_bind(libs, "zlib1g", syms, &e), 0);
}

static void
test_lazylib_reports_missing(void **state)
{
	static const char *const none[] = { "libowctl-no-such.so.9", NULL };
	static const char *const libs[] = { "libz.so.1", NULL };
	const struct lazy_sym syms[] = { LAZY_SYM("zlibVersion", zver),
					 { NULL, NULL } };
	const struct lazy_sym bad[] = { LAZY_SYM("no_such_symbol", znope),
					{ NULL, NULL } };
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(lazylib_bind(none, "nopkg", syms, &e), -1);
	assert_non_null(strstr(e.msg, "install the Debian package 'nopkg'"));
	assert_int_equal(lazylib_bind(libs, "zlib1g", bad, &e), -1);
	assert_non_null(strstr(e.msg, "no_such_symbol"));
	assert_null(znope);
	err_clear(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lazylib_binds_and_caches),
		cmocka_unit_test(test_lazylib_reports_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
