/* owctl web diagnostics: masking, scrubbing, omero-py's log line rules and
 * size text, and the reproducible bundle. */
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
#include <zlib.h>

#include "diag/bundle.h"
#include "diag/diag.h"
#include "fs.h"
#include "unit-tmpdir.h"
#include "banned.h"

UNIT_TMPDIR("diag")

static void
mask(const char *key, const char *value, const char *want,
     struct strv *secrets)
{
	struct sbuf out = SBUF_INIT;

	diag_mask_value(key, value, &out, secrets);
	assert_string_equal(out.buf, want);
	sbuf_release(&out);
}

static void
test_diag_mask_secret_properties(void **state)
{
	struct strv sec = STRV_INIT;

	(void)state;
	mask("omero.web.secret_key", "k3y-value", "********", &sec);
	mask("omero.web.public.password", "pub-pass", "********", &sec);
	mask("omero.web.email_host_password", "", "", &sec);
	/* a plugin's key owctl does not know, named like a password */
	mask("omero.web.myplugin.db_password", "plug-pw", "********", &sec);
	mask("omero.web.prefix", "/omero", "/omero", &sec);
	assert_int_equal(sec.n, 3);
	assert_true(strv_find(&sec, "k3y-value") >= 0);
	assert_true(strv_find(&sec, "pub-pass") >= 0);
	assert_true(strv_find(&sec, "plug-pw") >= 0);
	strv_release(&sec);
}

static void
test_diag_mask_json_values(void **state)
{
	struct strv sec = STRV_INIT;

	(void)state;
	/* Redis URL in omero.web.caches: only the password goes */
	mask("omero.web.caches",
	     "{\"default\": {\"BACKEND\": \"django_redis.cache.RedisCache\", "
	     "\"LOCATION\": \"redis://:r3dis-pw@127.0.0.1:6379/0\"}}",
	     "{\"default\": {\"BACKEND\": \"django_redis.cache.RedisCache\", "
	     "\"LOCATION\": \"redis://:********@127.0.0.1:6379/0\"}}", &sec);
	/* DATABASES PASSWORD, and OPTIONS keys named like secrets */
	mask("omero.web.databases",
	     "{\"default\": {\"ENGINE\": \"django.db.backends.postgresql\", "
	     "\"NAME\": \"omero\", \"PASSWORD\": \"db-pw-1\", \"OPTIONS\": "
	     "{\"sslpassword\": \"ssl-pw\", \"connect_timeout\": 3}}}",
	     "{\"default\": {\"ENGINE\": \"django.db.backends.postgresql\", "
	     "\"NAME\": \"omero\", \"PASSWORD\": \"********\", \"OPTIONS\": "
	     "{\"sslpassword\": \"********\", \"connect_timeout\": 3}}}",
	     &sec);
	/* django_additional_settings pairs */
	mask("omero.web.django_additional_settings",
	     "[[\"SECRET_KEY_FALLBACKS\", [\"old-key\"]], [\"SECRET_KEY\", "
	     "\"add-key\"], [\"DEBUG\", true]]",
	     "[[\"SECRET_KEY_FALLBACKS\", [\"********\"]], [\"SECRET_KEY\", "
	     "\"********\"], [\"DEBUG\", true]]", &sec);
	/* user and password in a URL outside JSON */
	mask("omero.web.some_url", "postgres://u:p%40ss@db:5432/x",
	     "postgres://u:********@db:5432/x", &sec);
	/* nothing secret: the text is kept byte for byte */
	mask("omero.web.apps", "[\"omero_figure\",  \"x\"]",
	     "[\"omero_figure\",  \"x\"]", &sec);
	assert_true(strv_find(&sec, "r3dis-pw") >= 0);
	assert_true(strv_find(&sec, "db-pw-1") >= 0);
	assert_true(strv_find(&sec, "ssl-pw") >= 0);
	assert_true(strv_find(&sec, "add-key") >= 0);
	assert_true(strv_find(&sec, "old-key") >= 0);
	assert_true(strv_find(&sec, "p%40ss") >= 0);
	assert_int_equal(sec.n, 6);
	strv_release(&sec);
}

static void
test_diag_scrub(void **state)
{
	struct strv sec = STRV_INIT;
	struct sbuf b = SBUF_INIT;

	(void)state;
	strv_push(&sec, "longsecret");
	strv_push(&sec, "abc");		/* too short to search for */
	sbuf_adds(&b, "x longsecret abc longsecretlongsecret");
	diag_scrub(&sec, &b);
	assert_string_equal(b.buf, "x ******** abc ****************");
	sbuf_release(&b);
	strv_release(&sec);
}

/* Expected values from Python's re with omero-py's regexes. */
static void
test_diag_log_class(void **state)
{
	static const struct {
		const char *line;
		int cls;
	} cases[] = {
		{ "2020-01-01 10:00:00,000 ERROR x\n", 2 },
		{ "2020-01-01 10:00:00,000 WARNI [x] y\n", 1 },
		{ "2020-01-01 10:00:00,000 WARNING [x] y\n", 0 },
		{ "!! 01/02/2020 10:00:00.1 error: x\n", 2 },
		{ "plain line\n", 0 },
		{ "2020-01-01 10:00:00,000 django.request: error x\n", 2 },
		{ "-! 2020-01-01 10:00:00,000 warning: x\n", 1 },
		{ "2020-01-01 10:00:00,000 ERROR\n", 2 },
		{ "2020-01-01 10:00:00,000 ERROR", 0 },
		{ " 2020-01-01 10:00:00,000 ERROR x\n", 0 },
		{ "2020-01-01 10:00:00,000 errors x\n", 0 },
		{ "2020-01-01 10:00:00,000 warn x\n", 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = diag_log_class(cases[i].line,
					 strlen(cases[i].line));

		if (got != cases[i].cls)
			fail_msg("'%s': %d, want %d", cases[i].line, got,
				 cases[i].cls);
	}
}

static void
size_is(unsigned long long n, const char *want)
{
	struct sbuf b = SBUF_INIT;

	diag_size_text(n, &b);
	assert_string_equal(b.buf, want);
	sbuf_release(&b);
}

/* Expected values from omero-py's _sz_str under Python 3. */
static void
test_diag_size_text(void **state)
{
	(void)state;
	size_is(0, "0 B");
	size_is(999, "999 B");
	size_is(1000, "1.0 KB");
	size_is(1050, "1.1 KB");
	size_is(999949, "999.9 KB");
	size_is(999950, "1000.0 KB");
	size_is(1234567, "1.2 MB");
	size_is(5000000000000ULL, "5000.0 GB");
}

static void
members(struct diag_members *m, int reversed)
{
	static const char *const names[] = { "report.txt", "logs/a.log",
					     "nginx/etc/ünï名.conf" };

	for (int i = 0; i < 3; i++) {
		int k = reversed ? 2 - i : i;

		diag_members_add(m, names[k], names[k], strlen(names[k]));
	}
}

/* gunzip in into out (zlib: owcore links it) */
static void
gunzip(const struct sbuf *in, struct sbuf *out)
{
	z_stream z;
	char buf[4096];
	int r;

	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
	z.next_in = (unsigned char *)in->buf;
	z.avail_in = (unsigned)in->len;
	do {
		z.next_out = (unsigned char *)buf;
		z.avail_out = sizeof(buf);
		r = inflate(&z, Z_NO_FLUSH);
		assert_true(r == Z_OK || r == Z_STREAM_END);
		sbuf_add(out, buf, sizeof(buf) - z.avail_out);
	} while (r != Z_STREAM_END);
	inflateEnd(&z);
}

static void
test_diag_bundle_reproducible(void **state)
{
	struct diag_members a = DIAG_MEMBERS_INIT, b = DIAG_MEMBERS_INIT;
	struct sbuf ta = SBUF_INIT, tb = SBUF_INIT, tar = SBUF_INIT;
	struct err e = ERR_INIT;
	const unsigned char *g;

	(void)state;
	members(&a, 0);
	members(&b, 1);
	assert_int_equal(diag_bundle_tgz(&a, 0, &ta, &e), 0);
	assert_int_equal(diag_bundle_tgz(&b, 0, &tb, &e), 0);
	/* the order members were added in does not matter */
	assert_int_equal(ta.len, tb.len);
	assert_memory_equal(ta.buf, tb.buf, ta.len);
	/* gzip header: magic, deflate, no time stamp */
	g = (const unsigned char *)ta.buf;
	assert_int_equal(g[0], 0x1f);
	assert_int_equal(g[1], 0x8b);
	assert_int_equal(g[4] | g[5] | g[6] | g[7], 0);
	gunzip(&ta, &tar);
	/* a header and a data block per member, a pax header (2 blocks)
	 * for the non-ASCII name, two end blocks, no padding to 10240 */
	assert_int_equal(tar.len, 10 * 512);
	/* sorted, below the top directory, mode 0600, 0:0 root */
	assert_string_equal(tar.buf, "owctl-diagnostics/logs/a.log");
	assert_non_null(strstr(tar.buf + 1536, " path=owctl-diagnostics/"
			       "nginx/etc/ünï名.conf\n"));
	assert_string_equal(tar.buf + 2048,
			    "owctl-diagnostics/nginx/etc/ünï名.conf");
	assert_string_equal(tar.buf + 3072, "owctl-diagnostics/report.txt");
	assert_memory_equal(tar.buf + 100, "000600 ", 7);
	assert_memory_equal(tar.buf + 108, "000000 ", 7);
	assert_memory_equal(tar.buf + 136, "00000000000 ", 12); /* mtime */
	assert_string_equal(tar.buf + 265, "root");
	/* another mtime gives other bytes */
	sbuf_reset(&tb);
	assert_int_equal(diag_bundle_tgz(&a, 1700000000, &tb, &e), 0);
	assert_false(ta.len == tb.len && !memcmp(ta.buf, tb.buf, ta.len));
	diag_members_release(&a);
	diag_members_release(&b);
	sbuf_release(&ta);
	sbuf_release(&tb);
	sbuf_release(&tar);
}

static void
test_diag_bundle_write(void **state)
{
	struct sbuf p = SBUF_INIT, data = SBUF_INIT, got = SBUF_INIT;
	struct sbuf bad = SBUF_INIT, cmd = SBUF_INIT;
	struct err e = ERR_INIT;
	struct stat st;
	mode_t old = umask(0);

	(void)state;
	sbuf_addf(&p, "%s/b.tar.gz", dir);
	sbuf_adds(&data, "first");
	assert_int_equal(diag_bundle_write(p.buf, &data, 0, &e), 0);
	assert_int_equal(stat(p.buf, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);	/* whatever umask */
	/* an existing file is refused without force, and kept */
	sbuf_reset(&data);
	sbuf_adds(&data, "second");
	assert_int_equal(diag_bundle_write(p.buf, &data, 0, &e), -1);
	assert_int_equal(e.code, ERR_CONFIRM);
	assert_non_null(strstr(e.msg, "exists"));
	err_clear(&e);
	assert_int_equal(fs_read_file(p.buf, 100, &got, &e), 0);
	assert_string_equal(got.buf, "first");
	/* force replaces it, still 0600 */
	assert_int_equal(diag_bundle_write(p.buf, &data, 1, &e), 0);
	sbuf_reset(&got);
	assert_int_equal(fs_read_file(p.buf, 100, &got, &e), 0);
	assert_string_equal(got.buf, "second");
	assert_int_equal(stat(p.buf, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* a directory that does not exist: ERR_IO, nothing left */
	sbuf_addf(&bad, "%s/missing/b.tar.gz", dir);
	assert_int_equal(diag_bundle_write(bad.buf, &data, 0, &e), -1);
	assert_int_equal(e.code, ERR_IO);
	err_clear(&e);
	sbuf_addf(&cmd, "test $(ls -A '%s' | wc -l) -eq 1", dir);
	assert_int_equal(system(cmd.buf), 0);
	umask(old);
	sbuf_release(&p);
	sbuf_release(&data);
	sbuf_release(&got);
	sbuf_release(&bad);
	sbuf_release(&cmd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diag_mask_secret_properties),
		cmocka_unit_test(test_diag_mask_json_values),
		cmocka_unit_test(test_diag_scrub),
		cmocka_unit_test(test_diag_log_class),
		cmocka_unit_test(test_diag_size_text),
		cmocka_unit_test(test_diag_bundle_reproducible),
		cmocka_unit_test(test_diag_bundle_write),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
