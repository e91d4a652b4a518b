/* Release facts: the table agrees with the reference, version questions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs.h"
#include "sbuf.h"
#include "upgrade/compat.h"
#include "banned.h"

static void
test_compat_lookup(void **state)
{
	struct err e = ERR_INIT;
	const struct compat_release *r;

	(void)state;
	r = compat_lookup("5.31.0", NULL);
	assert_non_null(r);
	assert_string_equal(r->django, ">=5.2.9,<5.3");
	r = compat_lookup("5.29.1", NULL);
	assert_non_null(r);
	assert_string_equal(r->first, "5.25.0");
	r = compat_lookup("5.30.1", NULL);
	assert_string_equal(r->requires_python, ">=3.10,<3.13");
	assert_null(compat_lookup("5.32.0", &e));
	assert_int_equal(e.code, ERR_BADVALUE);
	err_clear(&e);
	assert_null(compat_lookup("not a version", &e));
	assert_int_equal(e.code, ERR_BADVALUE);
	err_clear(&e);
}

static void
test_compat_must_clear(void **state)
{
	const char *rel;

	(void)state;
	assert_int_equal(compat_must_clear("5.30.1", "5.31.0", &rel, NULL), 1);
	assert_string_equal(rel, "5.31.0");
	assert_int_equal(compat_must_clear("5.29.3", "5.30.1", &rel, NULL), 1);
	assert_string_equal(rel, "5.30.0");
	assert_int_equal(compat_must_clear("5.17.0", "5.18.0", &rel, NULL), 1);
	assert_string_equal(rel, "5.18.0");
	assert_int_equal(compat_must_clear("5.30.0", "5.30.1", &rel, NULL), 0);
	assert_int_equal(compat_must_clear("5.18.0", "5.29.3", &rel, NULL), 0);
	/* a downgrade across 5.31.0 needs it too */
	assert_int_equal(compat_must_clear("5.31.0", "5.30.1", &rel, NULL), 1);
	/* 5.30.0rc1 < 5.30.0: crossing to the final release counts */
	assert_int_equal(compat_must_clear("5.30.0rc1", "5.30.0", &rel, NULL),
			 1);
	assert_int_equal(compat_must_clear("x", "5.30.0", &rel, NULL), -1);
}

static void
test_compat_python_and_django(void **state)
{
	const struct compat_release *r = compat_lookup("5.31.0", NULL);

	(void)state;
	assert_int_equal(compat_python_ok(r, "3.11", NULL), 1);
	assert_int_equal(compat_python_ok(r, "3.9", NULL), 0);
	assert_int_equal(compat_python_ok(r, "3.13", NULL), 0);
	assert_int_equal(compat_django_major(r), 5);
	assert_int_equal(compat_django_major(compat_lookup("5.30.1", NULL)), 4);
	assert_int_equal(compat_django_major(compat_lookup("5.20.0", NULL)), 3);
	assert_int_equal(compat_django_major(compat_lookup("5.9.0", NULL)), 1);
}

/* Each row of the reference's §4.2 table matches ours. */
static void
test_compat_matches_reference(void **state)
{
	struct sbuf path = SBUF_INIT, text = SBUF_INIT;
	struct err e = ERR_INIT;
	const char *shared = getenv("SHARED_DIR");
	const char *p;
	size_t rows = 0;

	(void)state;
	sbuf_addf(&path, "%s/reference/omero-admin-behaviour.md",
		  shared ? shared : "../shared");
	assert_int_equal(fs_read_file(path.buf, 4u << 20, &text, &e), 0);
	p = strstr(text.buf, "### 4.2");
	assert_non_null(p);
	while ((p = strstr(p, "\n| 5.")) != NULL) {
		char first[32], last[32], py[64], dj[64], opy[64], dr[64];
		const struct compat_release *r;

		p += 3;
		/* "5.8.1–5.13.0 | >=3 | ..." (an en dash between) */
		if (sscanf(p, "%31[0-9.]", first) != 1)
			break;
		if (!strncmp(p + strlen(first), "\xe2\x80\x93", 3)) {
			assert_int_equal(sscanf(p + strlen(first) + 3,
				"%31[0-9.] | %63s | %63s | %63s | %63s",
				last, py, dj, opy, dr), 5);
		} else {
			snprintf(last, sizeof(last), "%s", first);
			assert_int_equal(sscanf(p + strlen(first),
				" | %63s | %63s | %63s | %63s", py, dj, opy,
				dr), 4);
		}
		r = compat_lookup(first, NULL);
		assert_non_null(r);
		assert_string_equal(r->first, first);
		assert_string_equal(r->last, last);
		assert_string_equal(r->requires_python, py);
		assert_string_equal(r->django, dj);
		assert_string_equal(r->omero_py, opy);
		if (!strncmp(dr, "\xe2\x80\x93", 3))
			assert_null(r->django_redis);
		else
			assert_string_equal(r->django_redis, dr);
		rows++;
	}
	assert_int_equal(rows, 9);
	sbuf_release(&path);
	sbuf_release(&text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compat_lookup),
		cmocka_unit_test(test_compat_must_clear),
		cmocka_unit_test(test_compat_python_and_django),
		cmocka_unit_test(test_compat_matches_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
