/*
 * pyjson: hand-picked cases from ../shared/reference (dependencies.md §2,
 * omero-admin-behaviour.md §1.7 and vector 07_append_remove), each checked
 * against Python 3.11's json.dumps(json.loads(...)) when written down.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pyjson.h"
#include "banned.h"

/* pyjson_dumps(pyjson_loads(in)), or NULL when refused (message in *msg). */
static char *
roundtrip_msg(const char *in, size_t len, char **msg)
{
	struct err e = ERR_INIT;
	struct sbuf out = SBUF_INIT;
	json_t *v = pyjson_loads(in, len, &e);

	if (!v) {
		assert_int_equal(e.code, ERR_BADVALUE);
		assert_non_null(e.msg);
		if (msg)
			*msg = e.msg;
		else
			free(e.msg);
		return NULL;
	}
	assert_int_equal(e.code, ERR_NONE);
	pyjson_dumps(v, &out);
	json_decref(v);
	return sbuf_detach(&out, NULL);
}

static void
check(const char *in, const char *expect)
{
	char *got = roundtrip_msg(in, strlen(in), NULL);

	assert_non_null(got);
	assert_string_equal(got, expect);
	free(got);
}

/* The input is refused and the message mentions what. */
static void
check_refused(const char *in, const char *msg_part)
{
	char *msg = NULL;

	assert_null(roundtrip_msg(in, strlen(in), &msg));
	assert_non_null(strstr(msg, msg_part));
	free(msg);
}

static json_t *
load(const char *in)
{
	struct err e = ERR_INIT;
	json_t *v = pyjson_loads(in, strlen(in), &e);

	assert_non_null(v);
	return v;
}

static int
equal(const char *a, const char *b)
{
	json_t *va = load(a), *vb = load(b);
	int r = pyjson_equal(va, vb), r2 = pyjson_equal(vb, va);

	assert_int_equal(r, r2);
	json_decref(va);
	json_decref(vb);
	return r;
}

static void
test_pyjson_separators_and_order(void **state)
{
	(void)state;
	check("[\"a\",\"b\"]", "[\"a\", \"b\"]");
	check("{\"b\":1,\"a\":\"\xc3\xa9\"}", "{\"b\": 1, \"a\": \"\\u00e9\"}");
	check("[[\"Data\",\"webindex\",{\"title\":\"Browse Data via "
	      "Projects, Tags etc\"}],[\"Help\",\"https://help.openmicroscopy"
	      ".org/\",{\"title\":\"Open OMERO user guide in a new tab\","
	      "\"target\":\"new\"}]]",
	      "[[\"Data\", \"webindex\", {\"title\": \"Browse Data via "
	      "Projects, Tags etc\"}], [\"Help\", \"https://help.openmicroscopy"
	      ".org/\", {\"title\": \"Open OMERO user guide in a new tab\", "
	      "\"target\": \"new\"}]]");
	check(" \t\r\n[ ] ", "[]");
	check("{ }", "{}");
	check("[{},[],[[]],{\"\":{}}]", "[{}, [], [[]], {\"\": {}}]");
	check("[true,false,null]", "[true, false, null]");
	check("\"top\"", "\"top\"");
	check("null", "null");
}

static void
test_pyjson_duplicate_keys(void **state)
{
	(void)state;
	/* Python: last value wins, in the first key's place */
	check("{\"a\":1,\"b\":2,\"a\":3}", "{\"a\": 3, \"b\": 2}");
	check("{\"a\":{\"x\":1},\"a\":[NaN]}", "{\"a\": [NaN]}");
}

static void
test_pyjson_string_escapes(void **state)
{
	char *got;
	static const char nul_in[] = "\"nul\\u0000byte\"";

	(void)state;
	check("\"caf\\u00e9 \\ud83d\\ude00 \xe4\xb8\xad\xe6\x96\x87\"",
	      "\"caf\\u00e9 \\ud83d\\ude00 \\u4e2d\\u6587\"");
	check("\"caf\xc3\xa9 \xf0\x9f\x98\x80\"",
	      "\"caf\\u00e9 \\ud83d\\ude00\"");
	check("\"\\u007f\\u0080\\u00ff\\uFFFF\\uDBFF\\uDFFF\"",
	      "\"\\u007f\\u0080\\u00ff\\uffff\\udbff\\udfff\"");
	check("\"\\\" \\\\ \\/ / \\n \\r \\t \\b \\f\"",
	      "\"\\\" \\\\ / / \\n \\r \\t \\b \\f\"");
	check("\"\\u0001\\u0007\\u000b\\u001b\\u001f ~\"",
	      "\"\\u0001\\u0007\\u000b\\u001b\\u001f ~\"");
	check("{\"k\\u00e9\\n\":\"\\u2028\"}",
	      "{\"k\\u00e9\\n\": \"\\u2028\"}");
	/* NUL inside a string value is kept */
	got = roundtrip_msg(nul_in, sizeof(nul_in) - 1, NULL);
	assert_string_equal(got, "\"nul\\u0000byte\"");
	free(got);
}

static void
test_pyjson_floats(void **state)
{
	(void)state;
	check("[0.1, 1.0, 1e100, 1.5e-7, -0.0, 1e16]",
	      "[0.1, 1.0, 1e+100, 1.5e-07, -0.0, 1e+16]");
	check("1.50", "1.5");
	check("[0.0, 0e0, -0e5, 100.0, 1E2, 1e+2, 2.5E-3]",
	      "[0.0, 0.0, -0.0, 100.0, 100.0, 100.0, 0.0025]");
	/* the fixed/exponent switch of repr(): decpt <= -4 or > 16 */
	check("[0.0001, 0.00001, 1e15, 1234567890123456.7, "
	      "12345678901234567.0]",
	      "[0.0001, 1e-05, 1000000000000000.0, 1234567890123456.8, "
	      "1.2345678901234568e+16]");
	check("[5e-324, 2.2250738585072014e-308, 1.7976931348623157e308]",
	      "[5e-324, 2.2250738585072014e-308, 1.7976931348623157e+308]");
	check("[1e-400, -1e-400, 0.30000000000000004, 3.141592653589793]",
	      "[0.0, -0.0, 0.30000000000000004, 3.141592653589793]");
	check("[123.456e-150, 9007199254740993.0, 1e22, 1e21, 1e-7]",
	      "[1.23456e-148, 9007199254740992.0, 1e+22, 1e+21, 1e-07]");
	/*
	 * 2**-1017 and 2**-1007: the nearest 16-digit decimal is outside the
	 * (asymmetric) rounding interval, the one above is inside.
	 */
	check("[7.120236347223045e-307, 7.291122019556398e-304]",
	      "[7.120236347223045e-307, 7.291122019556398e-304]");
}

static void
test_pyjson_integers(void **state)
{
	(void)state;
	check("[9223372036854775807, -9223372036854775808, -0, 0, 42]",
	      "[9223372036854775807, -9223372036854775808, 0, 0, 42]");
	check("1" "0000000000", "10000000000");
	check_refused("[9223372036854775808]", "too big integer");
	check_refused("-9223372036854775809", "too big negative integer");
	check_refused("123456789012345678901234567890", "too big integer");
}

static void
test_pyjson_nonfinite(void **state)
{
	struct sbuf in = SBUF_INIT;
	int i;

	(void)state;
	check("[NaN, Infinity, -Infinity]", "[NaN, Infinity, -Infinity]");
	check("NaN", "NaN");
	check(" -Infinity ", "-Infinity");
	check("{\"a\":NaN,\"b\":[Infinity,{\"c\":-Infinity}]}",
	      "{\"a\": NaN, \"b\": [Infinity, {\"c\": -Infinity}]}");
	/* Python's float() overflows to infinity */
	check("[1E400, -1e999, 1.5e309, 1e308]",
	      "[Infinity, -Infinity, Infinity, 1e+308]");
	/* DBL_MAX has 309 digits, so does the first overflow without 'e' */
	sbuf_addch(&in, '[');
	for (i = 0; i < 308; i++)
		sbuf_addch(&in, '9');
	sbuf_adds(&in, ".5, -");
	for (i = 0; i < 309; i++)
		sbuf_addch(&in, '9');
	sbuf_adds(&in, ".0]");
	check(in.buf, "[1e+308, -Infinity]");
	sbuf_release(&in);
	/* strings and keys that spell the literals stay strings */
	check("{\"NaN\":\"Infinity\",\"x\":\"[NaN, 1E400]\"}",
	      "{\"NaN\": \"Infinity\", \"x\": \"[NaN, 1E400]\"}");
	check("[\"\\\"NaN\", NaN]", "[\"\\\"NaN\", NaN]");
	/* the integers used internally as stand-ins are ordinary values */
	check("[0, NaN, 1, 2, Infinity, 3, 4, -Infinity, 5]",
	      "[0, NaN, 1, 2, Infinity, 3, 4, -Infinity, 5]");
	/* only where a value may start, like Python */
	check_refused("[1NaN]", "");
	check_refused("[-NaN]", "");
	check_refused("[NaNa]", "");
	check_refused("{NaN: 1}", "");
	check_refused("[nan]", "");
	check_refused("[infinity]", "");
	check_refused("[Infinity1]", "");
	check_refused("[1E400 1]", "");
	/* error positions are those of the original text */
	check_refused("[NaN, Infinity, }", "column 17");
}

static void
test_pyjson_refused(void **state)
{
	char *msg = NULL;
	static const char nul_key[] = "{\"a\\u0000b\": 1}";

	(void)state;
	/* things Python keeps that jansson cannot hold */
	check_refused("\"\\ud800\"", "invalid Unicode");
	check_refused("[\"\\ude00\\ud83d\"]", "invalid Unicode");
	assert_null(roundtrip_msg(nul_key, sizeof(nul_key) - 1, &msg));
	assert_non_null(strstr(msg, "NUL byte in object key"));
	free(msg);
	/* invalid for Python too */
	check_refused("[1,2,]", "line 1");
	check_refused("", "");
	check_refused("   ", "");
	check_refused("not json", "");
	check_refused("[1] x", "");
	check_refused("\"\xff\"", "");
	check_refused("\"\xff" "NaN\"", "");
	check_refused("\"a\tb\"", "");
	check_refused("[01]", "");
	check_refused("[.5]", "");
	check_refused("[1.]", "");
	check_refused("[+1]", "");
	check_refused("'x'", "");
	check_refused("{\"a\" 1}", "");
}

static void
test_pyjson_equal_numbers(void **state)
{
	(void)state;
	assert_true(equal("1", "1.0"));
	assert_true(equal("1", "true"));
	assert_true(equal("1.0", "true"));
	assert_true(equal("0", "false"));
	assert_true(equal("-0.0", "false"));
	assert_true(equal("0.0", "-0.0"));
	assert_true(equal("1e2", "100"));
	assert_true(equal("9007199254740992", "9007199254740992.0"));
	assert_false(equal("9007199254740993", "9007199254740992.0"));
	assert_true(equal("-9223372036854775808", "-9.223372036854775808e18"));
	assert_false(equal("9223372036854775807", "9.223372036854775808e18"));
	assert_false(equal("2", "true"));
	assert_false(equal("1.5", "1"));
	assert_false(equal("true", "false"));
	assert_false(equal("1", "\"1\""));
	assert_false(equal("0", "null"));
	assert_false(equal("false", "null"));
	assert_false(equal("0", "[]"));
	assert_true(equal("null", "null"));
	/* json.loads shares one NaN object; "in" compares identity first */
	assert_true(equal("NaN", "NaN"));
	assert_true(equal("[NaN]", "[NaN]"));
	assert_true(equal("Infinity", "1E400"));
	assert_true(equal("-Infinity", "-1E400"));
	assert_false(equal("Infinity", "-Infinity"));
	assert_false(equal("NaN", "Infinity"));
	assert_false(equal("NaN", "0"));
	assert_false(equal("Infinity", "9223372036854775807"));
	assert_false(equal("Infinity", "1.7976931348623157e308"));
	assert_false(equal("NaN", "\"NaN\""));
}

static void
test_pyjson_equal_containers(void **state)
{
	(void)state;
	assert_true(equal("\"omero_figure\"", "\"omero_figure\""));
	assert_false(equal("\"omero_figure\"", "\"omero_figure \""));
	assert_true(equal("\"\\u00e9\"", "\"\xc3\xa9\""));
	assert_false(equal("\"a\\u0000b\"", "\"a\\u0000c\""));
	assert_false(equal("\"a\"", "\"a\\u0000\""));
	assert_true(equal("[1, 2]", "[true, 2.0]"));
	assert_false(equal("[1, 2]", "[2, 1]"));
	assert_false(equal("[1, 2]", "[1, 2, 3]"));
	assert_false(equal("[]", "{}"));
	assert_true(equal("{\"a\": 1, \"b\": [2]}",
			  "{\"b\": [2.0], \"a\": true}"));
	assert_false(equal("{\"a\": 1, \"b\": 2}", "{\"a\": 1, \"c\": 2}"));
	assert_false(equal("{\"a\": 1}", "{\"a\": 1, \"b\": 2}"));
	assert_false(equal("{\"a\": 1}", "{\"a\": 2}"));
	assert_true(equal("{\"a\": 1, \"a\": 2}", "{\"a\": 2}"));
	assert_true(equal("[\"Figure\", \"figure_index\", {\"title\": \"Open "
			  "Figure in new tab\", \"target\": \"_blank\"}]",
			  "[\"Figure\",\"figure_index\",{\"target\":\"_blank\","
			  "\"title\":\"Open Figure in new tab\"}]"));
	assert_false(equal("[\"Figure\", {\"target\": \"_blank\"}]",
			   "[\"Figure\", {\"target\": \"_top\"}]"));
}

static void
test_pyjson_real_api(void **state)
{
	struct sbuf out = SBUF_INIT;
	json_t *v;
	double d = 0;

	(void)state;
	v = pyjson_real(NAN);
	assert_true(pyjson_nonfinite(v, &d));
	assert_true(isnan(d));
	pyjson_dumps(v, &out);
	json_decref(v);
	v = pyjson_real(-INFINITY);
	assert_true(pyjson_nonfinite(v, NULL));
	sbuf_addch(&out, ' ');
	pyjson_dumps(v, &out);
	json_decref(v);
	v = pyjson_real(0.5);
	assert_true(json_is_real(v));
	assert_false(pyjson_nonfinite(v, &d));
	sbuf_addch(&out, ' ');
	pyjson_dumps(v, &out);
	json_decref(v);
	assert_string_equal(out.buf, "NaN -Infinity 0.5");
	sbuf_release(&out);

	v = load("[Infinity, \"Infinity\"]");
	assert_true(pyjson_nonfinite(json_array_get(v, 0), &d));
	assert_true(isinf(d) && d > 0);
	assert_false(pyjson_nonfinite(json_array_get(v, 1), &d));
	assert_true(json_is_string(json_array_get(v, 1)));
	json_decref(v);
}

static void
test_pyjson_dumps_appends(void **state)
{
	struct sbuf out = SBUF_INIT;
	json_t *v = load("[1]");

	(void)state;
	sbuf_adds(&out, "k=");
	pyjson_dumps(v, &out);
	pyjson_dumps(v, &out);
	assert_string_equal(out.buf, "k=[1][1]");
	json_decref(v);
	sbuf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pyjson_separators_and_order),
		cmocka_unit_test(test_pyjson_duplicate_keys),
		cmocka_unit_test(test_pyjson_string_escapes),
		cmocka_unit_test(test_pyjson_floats),
		cmocka_unit_test(test_pyjson_integers),
		cmocka_unit_test(test_pyjson_nonfinite),
		cmocka_unit_test(test_pyjson_refused),
		cmocka_unit_test(test_pyjson_equal_numbers),
		cmocka_unit_test(test_pyjson_equal_containers),
		cmocka_unit_test(test_pyjson_real_api),
		cmocka_unit_test(test_pyjson_dumps_appends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
