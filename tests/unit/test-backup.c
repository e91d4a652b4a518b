/* Upgrade backups: take, damage, restore. */
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

#include "upgrade/backup.h"
#include "fs.h"
#include "sbuf.h"
#include "unit-tmpdir.h"
#include "banned.h"

UNIT_TMPDIR("backup")

static void
put(const char *rel, const char *text, mode_t mode)
{
	struct sbuf p = SBUF_INIT;
	struct err e = ERR_INIT;

	sbuf_addf(&p, "%s/%s", dir, rel);
	assert_int_equal(fs_write_atomic_mode(p.buf, text, strlen(text), mode,
					      &e), 0);
	sbuf_release(&p);
}

static void
expect(const char *rel, const char *text, mode_t mode)
{
	struct sbuf p = SBUF_INIT, got = SBUF_INIT;
	struct err e = ERR_INIT;
	struct stat st;

	sbuf_addf(&p, "%s/%s", dir, rel);
	assert_int_equal(fs_read_file(p.buf, 1 << 20, &got, &e), 0);
	assert_string_equal(got.buf, text);
	assert_int_equal(stat(p.buf, &st), 0);
	assert_int_equal(st.st_mode & 07777, mode);
	sbuf_release(&p);
	sbuf_release(&got);
}

static void
test_backup_take_and_restore(void **state)
{
	static const char xml[] = "<icegrid><properties id=\"__ACTIVE__\">"
		"<property name=\"omero.config.profile\" value=\"default\" />"
		"</properties><properties id=\"default\"><property "
		"name=\"k\" value=\"a&#10;b\" /></properties></icegrid>";
	struct sbuf cfg = SBUF_INIT, bdir = SBUF_INIT, nginx = SBUF_INIT;
	struct sbuf p = SBUF_INIT, exp = SBUF_INIT;
	struct backup_opts o = { 0 };
	struct err e = ERR_INIT;
	json_t *m = NULL, *m2;

	(void)state;
	sbuf_addf(&p, "%s/etc/grid", dir);
	assert_int_equal(fs_mkdir_p(p.buf, 0755, &e), 0);
	sbuf_reset(&p);
	sbuf_addf(&p, "%s/var/bk", dir);
	assert_int_equal(fs_mkdir_p(p.buf, 0700, &e), 0);
	put("etc/grid/config.xml", xml, 0640);
	put("var/django_secret_key", "s3cret", 0600);
	sbuf_addf(&cfg, "%s/etc/grid/config.xml", dir);
	sbuf_addf(&bdir, "%s/var/bk", dir);
	sbuf_addf(&nginx, "%s/nginx-omero.conf", dir);	/* absent for now */
	o.omerodir = dir;
	o.config_path = cfg.buf;
	o.nginx_file = nginx.buf;
	assert_int_equal(backup_take(bdir.buf, &o, &m, &e), 0);
	assert_non_null(m);
	expect("var/bk/config.xml", xml, 0600);
	expect("var/bk/django_secret_key", "s3cret", 0600);
	sbuf_addf(&exp, "%s/var/bk/config.export", dir);
	assert_true(fs_exists(exp.buf));
	/* the upgrade changes things */
	put("etc/grid/config.xml", "<icegrid />", 0644);
	put("var/django_secret_key", "rotated", 0644);
	put("nginx-omero.conf", "server {}\n", 0644);
	m2 = backup_manifest(bdir.buf, &e);
	assert_non_null(m2);
	assert_int_equal(backup_restore(bdir.buf, m2, &e), 0);
	expect("etc/grid/config.xml", xml, 0640);
	expect("var/django_secret_key", "s3cret", 0600);
	assert_false(fs_exists(nginx.buf));
	json_decref(m);
	json_decref(m2);
	sbuf_release(&cfg);
	sbuf_release(&bdir);
	sbuf_release(&nginx);
	sbuf_release(&p);
	sbuf_release(&exp);
}

/* What an upgrade step replaces: present files come back, absent ones go. */
static void
test_backup_files_and_venv_record(void **state)
{
	struct sbuf bdir = SBUF_INIT, a = SBUF_INIT, b = SBUF_INIT;
	struct sbuf cfg = SBUF_INIT, rec = SBUF_INIT;
	struct backup_opts o = { 0 };
	const char *whats[2] = { "carry-a", "carry-b" };
	const char *paths[2];
	struct err e = ERR_INIT;
	json_t *m;

	(void)state;
	sbuf_addf(&bdir, "%s/var/bk2", dir);
	assert_int_equal(fs_mkdir_p(bdir.buf, 0700, &e), 0);
	sbuf_addf(&a, "%s/a.base", dir);
	sbuf_addf(&b, "%s/b.base", dir);	/* absent */
	put("a.base", "old a\n", 0600);
	paths[0] = a.buf;
	paths[1] = b.buf;
	assert_int_equal(backup_take_files(bdir.buf, "carry.json", 2, whats,
					   paths, &e), 0);
	put("a.base", "carried a\n", 0644);
	put("b.base", "carried b\n", 0644);
	m = backup_manifest_named(bdir.buf, "carry.json", &e);
	assert_non_null(m);
	assert_int_equal(backup_restore(bdir.buf, m, &e), 0);
	json_decref(m);
	expect("a.base", "old a\n", 0600);
	assert_false(fs_exists(b.buf));
	assert_null(backup_manifest_named(bdir.buf, "nope.json", &e));
	assert_int_equal(e.code, ERR_FAIL);
	err_clear(&e);

	/* the venv record: absent before the upgrade, removed by restore */
	sbuf_addf(&cfg, "%s/etc/grid/config.xml", dir);
	sbuf_addf(&rec, "%s/var/owctl-venv", dir);
	sbuf_reset(&bdir);
	sbuf_addf(&bdir, "%s/var/bk3", dir);
	assert_int_equal(fs_mkdir_p(bdir.buf, 0700, &e), 0);
	o.omerodir = dir;
	o.config_path = cfg.buf;
	o.venv_record = rec.buf;
	assert_int_equal(backup_take(bdir.buf, &o, NULL, &e), 0);
	put("var/owctl-venv", "/opt/venv-new\n", 0644);
	m = backup_manifest(bdir.buf, &e);
	assert_non_null(m);
	assert_int_equal(backup_restore(bdir.buf, m, &e), 0);
	json_decref(m);
	assert_false(fs_exists(rec.buf));
	sbuf_release(&bdir);
	sbuf_release(&a);
	sbuf_release(&b);
	sbuf_release(&cfg);
	sbuf_release(&rec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backup_take_and_restore),
		cmocka_unit_test(test_backup_files_and_venv_record),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
