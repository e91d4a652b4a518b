/* config.xml reader and writer against the samples written by omero-py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/configxml.h"
#include "fs.h"
#include "banned.h"

#define PINNED "Thu Jan  1 00:00:00 2026"

static void
read_shared(const char *rel, struct sbuf *out)
{
	struct sbuf path = SBUF_INIT;
	struct err e = ERR_INIT;
	const char *shared = getenv("SHARED_DIR");

	sbuf_addf(&path, "%s/vectors/config-xml/%s", shared ? shared :
		  "../shared", rel);
	if (fs_read_file(path.buf, 1 << 20, out, &e) < 0)
		fail_msg("%s", e.msg);
	sbuf_release(&path);
}

static void
roundtrip(const char *in, const char *expect, const char *active)
{
	struct sbuf text = SBUF_INIT, want = SBUF_INIT, got = SBUF_INIT;
	struct cfgdoc d;
	struct err e = ERR_INIT;

	read_shared(in, &text);
	read_shared(expect, &want);
	if (cfgdoc_parse(&d, text.buf, text.len, &e) < 0)
		fail_msg("%s: %s", in, e.msg);
	if (!active)	/* what __ACTIVE__ records */
		active = profile_get(cfgdoc_profile(&d, CFG_INTERNAL),
				     CFG_KEY_PROFILE);
	cfgdoc_write(&d, active, PINNED, &got);
	if (got.len != want.len || memcmp(got.buf, want.buf, want.len))
		fail_msg("%s: written differently:\n%s", in, got.buf);
	cfgdoc_release(&d);
	sbuf_release(&text);
	sbuf_release(&want);
	sbuf_release(&got);
}

static void
test_configxml_samples_rewrite_identically(void **state)
{
	static const char *names[] = { "empty", "json_lists", "markup",
				       "quotes", "unicode", "whitespace",
				       "multi_profile_active_default" };
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		sbuf_reset(&a);
		sbuf_addf(&a, "samples/%s.xml", names[i]);
		roundtrip(a.buf, a.buf, NULL);
	}
	roundtrip("samples/multi_profile_active_web2.xml",
		  "samples/multi_profile_active_web2.xml", NULL);
	sbuf_release(&a);
	sbuf_release(&b);
}

static void
test_configxml_hand_edited_becomes_what_omero_writes(void **state)
{
	(void)state;
	roundtrip("samples/hand_edited_roundtrip.xml.in",
		  "samples/hand_edited_roundtrip.xml", "default");
}

static void
test_configxml_values_decoded(void **state)
{
	struct sbuf text = SBUF_INIT;
	struct cfgdoc d;
	struct err e = ERR_INIT;
	struct xelem *p;

	(void)state;
	read_shared("samples/whitespace.xml", &text);
	assert_int_equal(cfgdoc_parse(&d, text.buf, text.len, &e), 0);
	p = cfgdoc_profile(&d, "default");
	assert_non_null(p);
	assert_string_equal(profile_get(p, "w.crlf"), "a\r\nb");
	assert_string_equal(profile_get(p, "w.tab"), "a\tb");
	assert_string_equal(profile_get(p, "w.lead_trail"), "  x  ");
	assert_string_equal(profile_get(p, "w.empty"), "");
	assert_null(profile_get(p, "absent"));
	cfgdoc_release(&d);
	sbuf_release(&text);
}

static void
test_configxml_parse_error_reads_like_python(void **state)
{
	static const char bad[] = "<icegrid><properties id='x'>";
	struct cfgdoc d;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(cfgdoc_parse(&d, bad, strlen(bad), &e), -1);
	assert_int_equal(e.code, ERR_CFG_OPEN);
	assert_string_equal(e.msg, "no element found: line 1, column 28");
	cfgdoc_release(&d);
	err_clear(&e);
}

static void
test_configxml_profile_set_del_dict_semantics(void **state)
{
	static const char dup[] = "<icegrid><properties id=\"default\">"
		"<property name=\"a\" value=\"1\"/><x name=\"a\"/>"
		"<property name=\"a\" value=\"2\"/></properties></icegrid>";
	struct cfgdoc d;
	struct err e = ERR_INIT;
	struct strv keys = STRV_INIT;
	struct xelem *p;

	(void)state;
	assert_int_equal(cfgdoc_parse(&d, dup, strlen(dup), &e), 0);
	p = cfgdoc_profile(&d, "default");
	assert_string_equal(profile_get(p, "a"), "2");	/* last wins */
	profile_keys(p, &keys);
	assert_int_equal(keys.n, 1);
	profile_set(p, "a", "3");	/* first one replaced */
	assert_string_equal(xelem_attr(&p->kids[0], "value"), "3");
	assert_string_equal(profile_get(p, "a"), "2");
	assert_int_equal(profile_del(p, "a"), 3);	/* any tag */
	assert_int_equal(p->nkids, 0);
	strv_release(&keys);
	cfgdoc_release(&d);
}

static void
test_configxml_storable(void **state)
{
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(cfg_check_storable("v", "tab\tnl\ncr\r ok é 😀", &e),
			 0);
	assert_int_equal(cfg_check_storable("v", "bell\a", &e), -1);
	assert_int_equal(e.code, ERR_BADVALUE);
	assert_non_null(strstr(e.msg, "U+0007"));
	assert_int_equal(cfg_check_storable("v", "caf\xe9", &e), -1);
	assert_non_null(strstr(e.msg, "UTF-8"));
	assert_int_equal(cfg_check_storable("v", "\xed\xa0\x80", &e), -1);
	assert_int_equal(cfg_check_storable("v", "\xef\xbf\xbe", &e), -1);
	assert_int_equal(cfg_check_storable("v", "\xc0\xaf", &e), -1);
	err_clear(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_configxml_samples_rewrite_identically),
		cmocka_unit_test(test_configxml_hand_edited_becomes_what_omero_writes),
		cmocka_unit_test(test_configxml_values_decoded),
		cmocka_unit_test(test_configxml_parse_error_reads_like_python),
		cmocka_unit_test(test_configxml_profile_set_del_dict_semantics),
		cmocka_unit_test(test_configxml_storable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
