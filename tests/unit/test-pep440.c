/*
 * pep440: versions, ordering and specifiers on cases whose expected values
 * were taken from python3-packaging 23.0; the generated comparison is
 * tests/integration/test_pep440_vs_packaging.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pep440.h"
#include "banned.h"

static void
check_norm(const char *in, const char *want)
{
	struct pep440_version v = PEP440_VERSION_INIT;
	struct err e = ERR_INIT;
	struct sbuf sb = SBUF_INIT;

	if (pep440_parse(&v, in, &e) < 0)
		fail_msg("'%s': %s", in, e.msg);
	pep440_str(&v, &sb);
	if (strcmp(sb.buf, want))
		fail_msg("'%s' -> '%s', expected '%s'", in, sb.buf, want);
	sbuf_release(&sb);
	pep440_release(&v);
}

static void
test_pep440_normalises(void **state)
{
	(void)state;
	check_norm("1.0", "1.0");
	check_norm(" v1.0\n", "1.0");
	check_norm("0!1.0", "1.0");
	check_norm("01!002.0030", "1!2.30");
	check_norm("1.0ALPHA", "1.0a0");
	check_norm("1.0.beta.2", "1.0b2");
	check_norm("1.0c1", "1.0rc1");
	check_norm("1.0-preview_3", "1.0rc3");
	check_norm("1.0-1", "1.0.post1");
	check_norm("1.0-r", "1.0.post0");
	check_norm("1.0.rev2", "1.0.post2");
	check_norm("1.0a-1", "1.0a1");		/* greedy: pre number */
	check_norm("1.0a1-1", "1.0a1.post1");
	check_norm("1.0-dev-1", "1.0.dev1");
	/* the "-" is the post-release separator */
	check_norm("1.0post-", "1.0.post0");
	check_norm("1.0+ABC.007_x-Y", "1.0+abc.7.x.y");
	check_norm("99999999999999999999999.1", "99999999999999999999999.1");
}

static void
test_pep440_rejects(void **state)
{
	static const char *const bad[] = {
		"", " ", "v", "1.", ".1", "1..0", "1.0-", "1.0+", "1.0+a..b",
		"1.0.*", "1.0a1rc2", "1.0re", "!1", "1!", "1.0 a1",
		"1.0\xc2\xa0", "abc",
	};
	struct pep440_version v = PEP440_VERSION_INIT;
	struct err e = ERR_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (pep440_parse(&v, bad[i], &e) == 0)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(e.code, ERR_BADVALUE);
		assert_non_null(strstr(e.msg, "invalid version"));
		err_clear(&e);
		assert_false(pep440_valid(bad[i]));
	}
}

static int
cmp(const char *a, const char *b)
{
	struct pep440_version x = PEP440_VERSION_INIT, y = PEP440_VERSION_INIT;
	int c;

	assert_int_equal(pep440_parse(&x, a, NULL), 0);
	assert_int_equal(pep440_parse(&y, b, NULL), 0);
	c = pep440_cmp(&x, &y);
	pep440_release(&x);
	pep440_release(&y);
	return c < 0 ? -1 : c > 0;
}

static void
test_pep440_orders(void **state)
{
	/* PEP 440's own example, ascending */
	static const char *const order[] = {
		"1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456",
		"1.0a12", "1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456",
		"1.0b2.post345", "1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5",
		"1.0+abc.7", "1.0+5", "1.0.post456.dev34", "1.0.post456",
		"1.0.15", "1.1.dev1", "1!0.1",
	};
	size_t n = sizeof(order) / sizeof(order[0]);

	(void)state;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			if (cmp(order[i], order[j]) != (i > j) - (i < j))
				fail_msg("'%s' vs '%s'", order[i], order[j]);
	assert_int_equal(cmp("1.0", "1.0.0.0"), 0);
	assert_int_equal(cmp("5.21.0rc1", "5.21.0"), -1);  /* strverscmp: 1 */
	assert_int_equal(cmp("5.9.0", "5.21.0"), -1);
	assert_int_equal(cmp("1.0+abc", "1.0+1"), -1);
	assert_int_equal(cmp("1.0+1.0", "1.0+1"), 1);
	assert_int_equal(cmp("100000000000000000000", "99999999999999999999"),
			 1);
}

static int
contains(const char *specs, const char *version, int pre)
{
	struct pep440_specset ss = PEP440_SPECSET_INIT;
	struct pep440_version v = PEP440_VERSION_INIT;
	struct err e = ERR_INIT;
	int r;

	if (pep440_specset_parse(&ss, specs, &e) < 0)
		fail_msg("'%s': %s", specs, e.msg);
	assert_int_equal(pep440_parse(&v, version, NULL), 0);
	r = pep440_specset_contains(&ss, &v, pre, &e);
	err_clear(&e);
	pep440_release(&v);
	pep440_specset_release(&ss);
	return r;
}

static void
test_pep440_specifiers(void **state)
{
	(void)state;
	assert_int_equal(contains(">=5.30,<5.31", "5.30.1", -1), 1);
	assert_int_equal(contains(">=5.30,<5.31", "5.31.0", -1), 0);
	assert_int_equal(contains(">=5.31", "5.31.0rc1", -1), 0);
	assert_int_equal(contains(">=5.31rc1", "5.31.0rc2", -1), 1);
	assert_int_equal(contains("<5.31", "5.31.0rc1", 1), 0);
	assert_int_equal(contains("<5.31", "5.30.9rc1", 1), 1);
	assert_int_equal(contains(">5.31", "5.31.0.post1", -1), 0);
	assert_int_equal(contains(">5.31", "5.31.0+local", -1), 0);
	assert_int_equal(contains("~=2.2", "2.9", -1), 1);
	assert_int_equal(contains("~=2.2", "3.0", -1), 0);
	assert_int_equal(contains("~=2.2.1", "2.3", -1), 0);
	assert_int_equal(contains("~=1.0c1", "1.0.5", -1), 1);	/* quirk */
	assert_int_equal(contains("~=1.0c1", "1.5", 1), 0);
	assert_int_equal(contains("~=1.0rc1", "1.5", 1), 1);
	assert_int_equal(contains("==1.2.*", "1.2.9", -1), 1);
	assert_int_equal(contains("==1.2.*", "1.20", -1), 0);
	assert_int_equal(contains("!=1.2.*", "1.3", -1), 1);
	assert_int_equal(contains("==1.0", "1.0+anything", -1), 1);
	assert_int_equal(contains("==1.0+abc", "1.0", -1), 0);
	assert_int_equal(contains("===1.0", "1.0", -1), 1);
	assert_int_equal(contains("===1.0", "1.0.0", -1), 0);
	assert_int_equal(contains("===foo", "1.0", -1), -1);	/* raises */
	assert_int_equal(contains("", "1.0", -1), 1);
	assert_int_equal(contains("", "1.0a1", -1), 0);
	assert_int_equal(contains(" >= 1.0 , , < 2 ", "1.5", -1), 1);
}

static void
test_pep440_bad_specifiers(void **state)
{
	static const char *const bad[] = {
		"~=1", ">=1.0+abc", "<1.0.*", "=>1.0", "1.0", ">=1.0;",
		"==1.0)", ">=", "== =1", ">=1.0,foo",
	};
	struct pep440_specset ss = PEP440_SPECSET_INIT;
	struct err e = ERR_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (pep440_specset_parse(&ss, bad[i], &e) == 0)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(e.code, ERR_BADVALUE);
		assert_non_null(strstr(e.msg, "invalid specifier"));
		err_clear(&e);
	}
}

static void
test_pep440_specset_str(void **state)
{
	struct pep440_specset ss = PEP440_SPECSET_INIT;
	struct sbuf sb = SBUF_INIT;

	(void)state;
	assert_int_equal(pep440_specset_parse(&ss, " >=1.0 ,!=1.5, == 2.0.0,"
					      "==2,>=1.0.0", NULL), 0);
	pep440_specset_str(&ss, &sb);
	assert_string_equal(sb.buf, "!=1.5,==2.0.0,>=1.0");
	sbuf_release(&sb);
	pep440_specset_release(&ss);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pep440_normalises),
		cmocka_unit_test(test_pep440_rejects),
		cmocka_unit_test(test_pep440_orders),
		cmocka_unit_test(test_pep440_specifiers),
		cmocka_unit_test(test_pep440_bad_specifiers),
		cmocka_unit_test(test_pep440_specset_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
