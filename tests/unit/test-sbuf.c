/* sbuf invariants and helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sbuf.h"
#include "strv.h"
#include "banned.h"

static void
test_sbuf_init_is_empty_string(void **state)
{
	struct sbuf sb = SBUF_INIT;

	(void)state;
	assert_non_null(sb.buf);
	assert_string_equal(sb.buf, "");
	sbuf_release(&sb);
	assert_int_equal(sb.len, 0);
}

static void
test_sbuf_add_grows_and_terminates(void **state)
{
	struct sbuf sb = SBUF_INIT;
	char *p;
	size_t len;

	(void)state;
	for (int i = 0; i < 1000; i++)
		sbuf_addf(&sb, "%d,", i);
	assert_int_equal(sb.buf[sb.len], '\0');
	assert_memory_equal(sb.buf, "0,1,2,", 6);
	sbuf_add(&sb, "a\0b", 3);
	assert_int_equal(sb.buf[sb.len - 2], '\0');
	p = sbuf_detach(&sb, &len);
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.buf, "");
	assert_int_equal(p[len], '\0');
	free(p);
}

static void
test_sbuf_rtrim_like_python(void **state)
{
	struct sbuf sb = SBUF_INIT;

	(void)state;
	sbuf_adds(&sb, "multi\nline value \t\n\r\x0b\x0c\x1c\n");
	sbuf_rtrim(&sb);
	assert_string_equal(sb.buf, "multi\nline value");
	sbuf_reset(&sb);
	sbuf_rtrim(&sb);
	assert_int_equal(sb.len, 0);
	sbuf_release(&sb);
}

static void
test_sbuf_strv_sort_is_codepoint_order(void **state)
{
	struct strv sv = STRV_INIT;

	(void)state;
	strv_push(&sv, "ok_key");
	strv_push(&sv, "a.passwd");
	strv_push(&sv, "X.PASSWORD");
	strv_push(&sv, "-dash.ok");
	strv_push(&sv, "\xc3\xa9");
	strv_sort(&sv);
	assert_string_equal(sv.v[0], "-dash.ok");
	assert_string_equal(sv.v[1], "X.PASSWORD");
	assert_string_equal(sv.v[2], "a.passwd");
	assert_string_equal(sv.v[3], "ok_key");
	assert_string_equal(sv.v[4], "\xc3\xa9");
	assert_null(sv.v[5]);
	assert_int_equal(strv_find(&sv, "ok_key"), 3);
	assert_int_equal(strv_find(&sv, "nope"), -1);
	strv_release(&sv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sbuf_init_is_empty_string),
		cmocka_unit_test(test_sbuf_add_grows_and_terminates),
		cmocka_unit_test(test_sbuf_rtrim_like_python),
		cmocka_unit_test(test_sbuf_strv_sort_is_codepoint_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
