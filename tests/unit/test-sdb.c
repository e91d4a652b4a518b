/*
 * The db session store: DATABASES parsing, "now" formatted the way Django
 * binds it, and scan/purge/clear on a copy of the django_session table
 * written by real Django 5.2 (../shared/vectors/sessions/db).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fs.h"
#include "pyjson.h"
#include "sessions/sdb.h"
#include "banned.h"

#define US 1000000LL

static char tmp[] = "/tmp/owctl-test-sdb-XXXXXX";
static char dbpath[128];

static const char *
shared_dir(void)
{
	const char *d = getenv("SHARED_DIR");

	return d ? d : "../shared";
}

static int
setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmp))
		return -1;
	snprintf(dbpath, sizeof(dbpath), "%s/s.sqlite3", tmp);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(dbpath);
	return rmdir(tmp);
}

static void
fresh_copy(void)
{
	struct sbuf src = SBUF_INIT, data = SBUF_INIT;
	struct err e = ERR_INIT;

	sbuf_addf(&src, "%s/vectors/sessions/db/django52_sessions.sqlite3",
		  shared_dir());
	if (fs_read_file(src.buf, 1 << 24, &data, &e) ||
	    fs_write_atomic_mode(dbpath, data.buf, data.len, 0644, &e))
		fail_msg("%s", e.msg);
	sbuf_release(&src);
	sbuf_release(&data);
}

/* Rows of the vector whose expire_date sorts before now (text order). */
static size_t
rows_before(const char *now, size_t *total)
{
	struct sbuf p = SBUF_INIT, tsv = SBUF_INIT;
	struct err e = ERR_INIT;
	size_t n = 0;

	*total = 0;
	sbuf_addf(&p, "%s/vectors/sessions/db/django_session_rows.tsv",
		  shared_dir());
	if (fs_read_file(p.buf, 1 << 20, &tsv, &e))
		fail_msg("%s", e.msg);
	for (char *line = tsv.buf, *next; *line; line = next) {
		char *tab;

		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		if (next[-1] == '\n')
			next[-1] = '\0';
		tab = strrchr(line, '\t');
		if (!tab)
			continue;
		(*total)++;
		/* SQLite compares the TEXT values bytewise, like strcmp */
		if (strcmp(tab + 1, now) < 0)
			n++;
	}
	sbuf_release(&p);
	sbuf_release(&tsv);
	return n;
}

static struct sdb_target
sqlite_target(void)
{
	struct sdb_target t;
	struct err e = ERR_INIT;
	struct sbuf j = SBUF_INIT;
	json_t *v;

	sbuf_addf(&j, "{\"default\": {\"ENGINE\": \"django.db.backends."
		  "sqlite3\", \"NAME\": \"%s\"}}", dbpath);
	v = pyjson_loads(j.buf, j.len, &e);
	assert_non_null(v);
	assert_int_equal(sdb_parse(v, &t, &e), 0);
	assert_int_equal(t.kind, SDB_SQLITE);
	json_decref(v);
	sbuf_release(&j);
	return t;
}

static void
test_sdb_django_now(void **state)
{
	char buf[64];

	(void)state;
	/* 2026-11-24T19:51:01Z, as str(datetime) */
	assert_int_equal(sdb_django_now(1795549861 * US, 1, NULL, 0, buf,
					sizeof(buf)), 0);
	assert_string_equal(buf, "2026-11-24 19:51:01");
	assert_int_equal(sdb_django_now(1795549861 * US + 5, 1, NULL, 1, buf,
					sizeof(buf)), 0);
	assert_string_equal(buf, "2026-11-24 19:51:01.000005+00:00");
	/* USE_TZ False: naive local time in TIME_ZONE (summer: UTC+1) */
	assert_int_equal(sdb_django_now(1784300000 * US, 0, "Europe/London",
					1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2026-07-17 15:53:20");
	assert_int_equal(sdb_django_now(1784300000 * US, 0, "Asia/Tokyo", 0,
					buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2026-07-17 23:53:20");
}

static void
test_sdb_parse(void **state)
{
	static const char *const bad[] = {
		"{}",
		"{\"default\": {\"NAME\": \"/x\"}}",
		"{\"default\": {\"ENGINE\": \"django.db.backends.sqlite3\", "
		"\"NAME\": \"relative.db\"}}",
		"{\"default\": {\"ENGINE\": \"django.db.backends.mysql\"}}",
	};
	const char *pg = "{\"default\": {\"ENGINE\": \"django.db.backends."
		"postgresql\", \"NAME\": \"omero\", \"USER\": \"web\", "
		"\"PASSWORD\": \"pw\", \"HOST\": \"db.example\", \"PORT\": "
		"5433, \"OPTIONS\": {\"sslmode\": \"require\", "
		"\"isolation_level\": 3, \"connect_timeout\": 5, "
		"\"host\": \"other\", \"assume_role\": \"owner\", "
		"\"pool\": true, \"server_side_binding\": true}}}";
	/* Django's settings after OPTIONS: libpq takes the last one */
	static const char *const want[][2] = {
		{ "dbname", "omero" }, { "sslmode", "require" },
		{ "connect_timeout", "5" }, { "host", "other" },
		{ "user", "web" }, { "password", "pw" },
		{ "host", "db.example" }, { "port", "5433" },
	};
	struct sdb_target t;
	struct err e = ERR_INIT;
	json_t *v;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		v = pyjson_loads(bad[i], strlen(bad[i]), &e);
		assert_int_equal(sdb_parse(v, &t, &e), -1);
		assert_int_equal(e.code, ERR_SESS_CONFIG);
		err_clear(&e);
		sdb_target_release(&t);
		json_decref(v);
	}
	v = pyjson_loads(pg, strlen(pg), &e);
	assert_int_equal(sdb_parse(v, &t, &e), 0);
	assert_int_equal(t.kind, SDB_POSTGRES);
	assert_string_equal(t.shown, "postgresql://web@db.example:5433/omero");
	assert_int_equal(t.keys.n, sizeof(want) / sizeof(*want));
	for (size_t i = 0; i < t.keys.n; i++) {
		assert_string_equal(t.keys.v[i], want[i][0]);
		assert_string_equal(t.values.v[i], want[i][1]);
	}
	assert_string_equal(t.role, "owner");
	sdb_target_release(&t);
	json_decref(v);
}

static void
test_sdb_sqlite_scan_purge_clear(void **state)
{
	struct sdb_target t;
	struct sdb_opts o = SDB_OPTS_INIT;
	struct sdb_stats st;
	struct err e = ERR_INIT;
	char now[64];
	size_t total, expect;

	(void)state;
	fresh_copy();
	t = sqlite_target();
	/* two hours after the vectors were written: some have expired */
	o.now_us = (1795549861 + 7200) * US;
	o.use_tz = 1;
	assert_int_equal(sdb_django_now(o.now_us, 1, NULL, 0, now, sizeof(now)),
			 0);
	expect = rows_before(now, &total);
	assert_true(expect > 0 && expect < total);
	assert_int_equal(sdb_run(&t, &o, NULL, NULL, &st, &e), 0);
	assert_int_equal(st.rows, total);
	assert_int_equal(st.expired, expect);
	assert_true(st.bytes > 0);

	o.act = SDB_PURGE_EXPIRED;
	o.dry_run = 1;
	assert_int_equal(sdb_run(&t, &o, NULL, NULL, &st, &e), 0);
	assert_int_equal(st.removed, expect);
	o.act = SDB_SCAN;
	o.dry_run = 0;
	assert_int_equal(sdb_run(&t, &o, NULL, NULL, &st, &e), 0);
	assert_int_equal(st.rows, total);

	o.act = SDB_PURGE_EXPIRED;
	assert_int_equal(sdb_run(&t, &o, NULL, NULL, &st, &e), 0);
	assert_int_equal(st.removed, expect);
	o.act = SDB_SCAN;
	assert_int_equal(sdb_run(&t, &o, NULL, NULL, &st, &e), 0);
	assert_int_equal(st.rows, total - expect);
	assert_int_equal(st.expired, 0);

	o.act = SDB_CLEAR;
	assert_int_equal(sdb_run(&t, &o, NULL, NULL, &st, &e), 0);
	assert_int_equal(st.removed, total - expect);
	o.act = SDB_SCAN;
	assert_int_equal(sdb_run(&t, &o, NULL, NULL, &st, &e), 0);
	assert_int_equal(st.rows, 0);
	sdb_target_release(&t);

	/* a missing file is an error, never created */
	unlink(dbpath);
	t = sqlite_target();
	assert_int_equal(sdb_run(&t, &o, NULL, NULL, &st, &e), -1);
	assert_int_equal(e.code, ERR_SESS_STORE);
	assert_int_equal(access(dbpath, F_OK), -1);
	err_clear(&e);
	sdb_target_release(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sdb_django_now),
		cmocka_unit_test(test_sdb_parse),
		cmocka_unit_test(test_sdb_sqlite_scan_purge_clear),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
