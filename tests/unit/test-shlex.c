/*
 * shlex_split: cases whose expected words were taken from Python 3.11's
 * shlex.split(); the random comparison is tests/integration/
 * test_shlex_vs_python.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shlex.h"
#include "banned.h"

#define MAXW 4

struct split_case {
	const char *in;
	const char *words[MAXW + 1];	/* NULL-terminated */
};

static void
check_cases(const struct split_case *c, size_t n)
{
	struct strv sv = STRV_INIT;
	struct err e = ERR_INIT;
	size_t i, w;
	int got;

	for (i = 0; i < n; i++) {
		for (w = 0; c[i].words[w]; w++)
			;
		got = shlex_split(c[i].in, &sv, &e);
		if (got != (int)w)
			fail_msg("'%s': %d words, expected %zu", c[i].in, got,
				 w);
		assert_int_equal(sv.n, w);
		for (w = 0; c[i].words[w]; w++)
			assert_string_equal(sv.v[w], c[i].words[w]);
		assert_int_equal(e.code, ERR_NONE);
		strv_release(&sv);
	}
}

static void
test_shlex_whitespace(void **state)
{
	static const struct split_case c[] = {
		{ "a b  c", { "a", "b", "c" } },
		{ " \t lead and trail \r\n", { "lead", "and", "trail" } },
		{ "", { NULL } },
		{ "   ", { NULL } },
		/* \v and \f are not shlex whitespace */
		{ "a\vb\fc", { "a\vb\fc" } },
		{ "caf\xc3\xa9 \xf0\x9f\x98\x80", { "caf\xc3\xa9",
						  "\xf0\x9f\x98\x80" } },
		/* no comments, no expansion */
		{ "#x y#", { "#x", "y#" } },
		{ "$HOME ~ *", { "$HOME", "~", "*" } },
	};

	(void)state;
	check_cases(c, sizeof(c) / sizeof(c[0]));
}

static void
test_shlex_quotes(void **state)
{
	static const struct split_case c[] = {
		{ "'single  quoted'", { "single  quoted" } },
		{ "\"double  quoted\"", { "double  quoted" } },
		{ "a\"b\"'c'd", { "abcd" } },
		{ "a\"b c\"d e", { "ab cd", "e" } },
		{ "\"a'b\"", { "a'b" } },
		{ "'a\"b'", { "a\"b" } },
		{ "'it'\\''s'", { "it's" } },
		{ "--forwarded-allow-ips='*' --log-level=debug",
		  { "--forwarded-allow-ips=*", "--log-level=debug" } },
	};

	(void)state;
	check_cases(c, sizeof(c) / sizeof(c[0]));
}

static void
test_shlex_empty_words(void **state)
{
	static const struct split_case c[] = {
		{ "''", { "" } },
		{ "\"\"", { "" } },
		{ "a '' b", { "a", "", "b" } },
		{ "x''", { "x" } },
		{ "'' \"\"", { "", "" } },
	};

	(void)state;
	check_cases(c, sizeof(c) / sizeof(c[0]));
}

static void
test_shlex_backslash(void **state)
{
	static const struct split_case c[] = {
		{ "a\\ b", { "a b" } },
		{ "a\\\\b", { "a\\b" } },
		{ "\\n\\t", { "nt" } },
		{ "a\\\nb", { "a\nb" } },
		{ "\\'", { "'" } },
		/* in "...", only \" and \\ are escapes */
		{ "\"a\\\"b\"", { "a\"b" } },
		{ "\"a\\\\b\"", { "a\\b" } },
		{ "\"a\\$b\\`c\\nd\\'e\"", { "a\\$b\\`c\\nd\\'e" } },
		/* in '...', none */
		{ "'a\\b\\'", { "a\\b\\" } },
	};

	(void)state;
	check_cases(c, sizeof(c) / sizeof(c[0]));
}

static void
test_shlex_errors(void **state)
{
	static const struct {
		const char *in;
		const char *msg;
	} c[] = {
		{ "\"unterminated", "No closing quotation" },
		{ "'unterminated", "No closing quotation" },
		{ "ok \"a\\\"", "No closing quotation" },
		{ "trailing\\", "No escaped character" },
		{ "\"a\\", "No escaped character" },
	};
	struct strv sv = STRV_INIT;
	struct err e = ERR_INIT;
	size_t i;

	(void)state;
	strv_push(&sv, "kept");
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		assert_int_equal(shlex_split(c[i].in, &sv, &e), -1);
		assert_int_equal(e.code, ERR_BADVALUE);
		assert_string_equal(e.msg, c[i].msg);
		/* out is left as it was */
		assert_int_equal(sv.n, 1);
		assert_string_equal(sv.v[0], "kept");
		err_clear(&e);
	}
	strv_release(&sv);
}

static void
test_shlex_appends(void **state)
{
	struct strv sv = STRV_INIT;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(shlex_split("a 'b c'", &sv, &e), 2);
	assert_int_equal(shlex_split("", &sv, &e), 0);
	assert_int_equal(shlex_split("d", &sv, &e), 1);
	assert_int_equal(sv.n, 3);
	assert_string_equal(sv.v[0], "a");
	assert_string_equal(sv.v[1], "b c");
	assert_string_equal(sv.v[2], "d");
	assert_null(sv.v[3]);
	strv_release(&sv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shlex_whitespace),
		cmocka_unit_test(test_shlex_quotes),
		cmocka_unit_test(test_shlex_empty_words),
		cmocka_unit_test(test_shlex_backslash),
		cmocka_unit_test(test_shlex_errors),
		cmocka_unit_test(test_shlex_appends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
