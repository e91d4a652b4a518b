/*
 * distinfo and pep508: METADATA headers, egg-info requires.txt, top-level
 * names, pyvenv.cfg, requirements and markers. Expected values come from
 * Python 3.11's importlib.metadata and packaging 23; the generated
 * comparisons are tests/integration/test_metadata_vs_python.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fs.h"
#include "venv/distinfo.h"
#include "venv/pep508.h"
#include "banned.h"

static void
test_distinfo_headers(void **state)
{
	static const char text[] =
		"Metadata-Version: 2.1\r\n"
		"Name: omero-figure\r\n"
		"name: second\n"
		"Version:\t2.0.0  \n"
		"Requires-Dist: omero-web>=5.31\n"
		"Requires-Dist: Django (>=3.2)\n"
		"Summary: a\n  b\n\tc\n"
		":no name\n"
		"   orphan continuation\n"
		"\n"
		"Requires-Dist: in-the-body\n";
	struct dist_meta m = DIST_META_INIT;
	struct strv all = STRV_INIT;

	(void)state;
	assert_int_equal(dist_meta_parse(&m, text, sizeof(text) - 1, NULL), 0);
	assert_string_equal(dist_meta_get(&m, "NAME"), "omero-figure");
	assert_string_equal(dist_meta_get(&m, "version"), "2.0.0  ");
	assert_int_equal(dist_meta_get_all(&m, "Requires-Dist", &all), 2);
	assert_string_equal(all.v[1], "Django (>=3.2)");
	/* textwrap.dedent("        a\n  b\n\tc"): no common margin */
	assert_string_equal(dist_meta_get(&m, "Summary"),
			    "        a\n  b\n\tc");
	assert_null(dist_meta_get(&m, "Description"));
	strv_release(&all);
	dist_meta_release(&m);
}

static void
test_distinfo_rejects_bad_utf8(void **state)
{
	struct dist_meta m = DIST_META_INIT;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(dist_meta_parse(&m, "Name: \xed\xa0\x80\n", 11, &e),
			 -1);	/* a surrogate */
	assert_int_equal(e.code, ERR_BADVALUE);
	err_clear(&e);
	assert_int_equal(dist_meta_parse(&m, "Name: \xc0\xaf\n", 9, &e), -1);
	err_clear(&e);
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_distinfo_egg_info(void **state)
{
	char tmpl[] = "/tmp/owctl-distinfo-XXXXXX";
	char *root = mkdtemp(tmpl);
	char dir[256];
	struct dist d;
	struct err e = ERR_INIT;

	(void)state;
	assert_non_null(root);
	snprintf(dir, sizeof(dir), "%s/pkg-1.0.egg-info", root);
	assert_int_equal(mkdir(dir, 0700), 0);
	write_file(dir, "PKG-INFO", "Name: Pkg\nVersion: 1.0\n");
	write_file(dir, "requires.txt", "Django>=3.2\n\n[redis]\n"
		   "django-redis>=5\n[:python_version < \"3.8\"]\nold\n"
		   "[test:sys_platform == 'linux']\nx @ https://x.org/x.whl\n");
	write_file(dir, "SOURCES.txt", "setup.py\npkg/__init__.py\nmod.py\n");
	assert_int_equal(dist_load(&d, dir, root, &e), 0);
	assert_string_equal(d.name, "Pkg");
	assert_string_equal(d.key, "pkg");
	assert_int_equal(d.egg_info, 1);
	assert_int_equal(d.requires.n, 4);
	assert_string_equal(d.requires.v[0], "Django>=3.2");
	assert_string_equal(d.requires.v[1],
			    "django-redis>=5; extra == \"redis\"");
	assert_string_equal(d.requires.v[2],
			    "old; python_version < \"3.8\"");
	assert_string_equal(d.requires.v[3], "x @ https://x.org/x.whl ; "
			    "(sys_platform == 'linux') and extra == \"test\"");
	/* inferred from SOURCES.txt: setup, pkg, mod */
	assert_int_equal(d.top_level.n, 3);
	assert_string_equal(d.top_level.v[0], "mod");
	assert_string_equal(d.top_level.v[1], "pkg");
	assert_string_equal(d.top_level.v[2], "setup");
	dist_release(&d);

	/* top_level.txt wins over RECORD */
	snprintf(dir, sizeof(dir), "%s/w-2.0.dist-info", root);
	assert_int_equal(mkdir(dir, 0700), 0);
	write_file(dir, "METADATA", "Name: w\nVersion: 2.0\n"
		   "Requires-Dist: omero-web>=5.31\n");
	write_file(dir, "RECORD", "w_mod/__init__.py,,\nother.py,,\n");
	assert_int_equal(dist_load(&d, dir, root, &e), 0);
	assert_int_equal(d.top_level.n, 2);
	assert_string_equal(d.top_level.v[0], "other");
	assert_string_equal(d.top_level.v[1], "w_mod");
	dist_release(&d);
	write_file(dir, "top_level.txt", "declared\n");
	assert_int_equal(dist_load(&d, dir, root, &e), 0);
	assert_int_equal(d.top_level.n, 1);
	assert_string_equal(d.top_level.v[0], "declared");
	dist_release(&d);

	/* a site scan finds both, sorted by entry name */
	{
		struct dist_list l = DIST_LIST_INIT;
		struct strv warn = STRV_INIT;

		assert_int_equal(dist_scan_site(root, &l, &warn, &e), 0);
		assert_int_equal(l.n, 2);
		assert_string_equal(l.v[0].name, "Pkg");
		assert_non_null(dist_list_find(&l, "W"));
		assert_null(dist_list_find(&l, "absent"));
		dist_list_release(&l);
		strv_release(&warn);
	}
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		assert_int_equal(system(cmd), 0);
	}
}

static void
test_distinfo_pyvenv(void **state)
{
	char tmpl[] = "/tmp/owctl-pyvenv-XXXXXX";
	char *root = mkdtemp(tmpl);
	char path[300];
	struct pyvenv pv;
	struct err e = ERR_INIT;

	(void)state;
	assert_non_null(root);
	assert_int_equal(pyvenv_open(&pv, root, &e), -1);
	assert_int_equal(e.code, ERR_IO);
	assert_non_null(strstr(e.msg, "is not a virtualenv"));
	err_clear(&e);
	snprintf(path, sizeof(path), "%s/lib/python3.11/site-packages", root);
	assert_int_equal(fs_mkdir_p(path, 0700, &e), 0);
	write_file(root, "pyvenv.cfg", "home = /usr/bin\n"
		   "Include-System-Site-Packages = TRUE\nversion = 3.11.2\n");
	assert_int_equal(pyvenv_open(&pv, root, &e), 0);
	assert_string_equal(pv.version, "3.11");
	assert_string_equal(pv.full_version, "3.11.2");
	assert_true(pv.system_site);
	assert_true(pv.cpython);
	assert_string_equal(pv.sites.v[0], path);
	pyvenv_release(&pv);
	/* no version line: the lib/pythonX.Y name */
	write_file(root, "pyvenv.cfg", "home = /usr/bin\n");
	assert_int_equal(pyvenv_open(&pv, root, &e), 0);
	assert_string_equal(pv.version, "3.11");
	assert_null(pv.full_version);
	assert_false(pv.system_site);
	assert_int_equal(pv.sites.n, 1);
	pyvenv_release(&pv);
	snprintf(path, sizeof(path), "rm -rf '%s'", root);
	assert_int_equal(system(path), 0);
}

static void
test_distinfo_requirements(void **state)
{
	struct pep508_env env = { { NULL } };
	struct pep508_req r;
	struct err e = ERR_INIT;
	struct sbuf why = SBUF_INIT;

	(void)state;
	env.values[PEP508_PYTHON_VERSION] = "3.11";
	env.values[PEP508_EXTRA] = "";
	env.values[PEP508_SYS_PLATFORM] = "linux";

	assert_int_equal(pep508_parse(&r, "Django (>=3.2)", &e), 0);
	assert_string_equal(r.key, "django");
	assert_string_equal(r.specifier, ">=3.2");
	assert_int_equal(pep508_marker_eval(&r, &env, NULL), 1);
	pep508_release(&r);

	assert_int_equal(pep508_parse(&r, "Omero_Web[redis] >=5.30,<5.31 ; "
				      "extra == 'Redis'", &e), 0);
	assert_string_equal(r.key, "omero-web");
	assert_string_equal(r.extras.v[0], "redis");
	assert_int_equal(pep508_marker_eval(&r, &env, NULL), 0);
	env.values[PEP508_EXTRA] = "redis";
	assert_int_equal(pep508_marker_eval(&r, &env, NULL), 1);
	env.values[PEP508_EXTRA] = "";
	pep508_release(&r);

	/* unknown values: three-valued logic, reported */
	assert_int_equal(pep508_parse(&r, "x; platform_machine == 'arm64' or "
				      "sys_platform == 'linux'", &e), 0);
	assert_int_equal(pep508_marker_eval(&r, &env, &why), 1);
	pep508_release(&r);
	assert_int_equal(pep508_parse(&r, "x; platform_machine == 'arm64' and "
				      "sys_platform == 'linux'", &e), 0);
	assert_int_equal(pep508_marker_eval(&r, &env, &why), -1);
	assert_string_equal(why.buf, "platform_machine");
	pep508_release(&r);

	/* packaging raises: the whole marker is unknown */
	sbuf_reset(&why);
	assert_int_equal(pep508_parse(&r, "x; sys_platform ~= 'linux' or "
				      "python_version >= '3'", &e), 0);
	assert_int_equal(pep508_marker_eval(&r, &env, &why), -1);
	assert_non_null(strstr(why.buf, "undefined"));
	pep508_release(&r);
	sbuf_release(&why);

	assert_int_equal(pep508_parse(&r, "bad name", &e), -1);
	assert_int_equal(e.code, ERR_BADVALUE);
	assert_non_null(strstr(e.msg, "invalid requirement 'bad name'"));
	err_clear(&e);
	assert_int_equal(pep508_parse(&r, "x; os_name == 'a\\n'", &e), -1);
	err_clear(&e);
	/* nesting is bounded (the parser recurses) */
	{
		struct sbuf deep = SBUF_INIT;

		sbuf_adds(&deep, "x; ");
		for (int i = 0; i < 150; i++)
			sbuf_addch(&deep, '(');
		sbuf_adds(&deep, "os_name == 'posix'");
		for (int i = 0; i < 150; i++)
			sbuf_addch(&deep, ')');
		assert_int_equal(pep508_parse(&r, deep.buf, &e), -1);
		assert_non_null(strstr(e.msg, "nested parentheses"));
		err_clear(&e);
		sbuf_release(&deep);
	}
}

static void
test_distinfo_normalize(void **state)
{
	char *n;

	(void)state;
	n = pep508_normalize_name("Omero__Web.-x");
	assert_string_equal(n, "omero-web-x");
	free(n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distinfo_headers),
		cmocka_unit_test(test_distinfo_rejects_bad_utf8),
		cmocka_unit_test(test_distinfo_egg_info),
		cmocka_unit_test(test_distinfo_pyvenv),
		cmocka_unit_test(test_distinfo_requirements),
		cmocka_unit_test(test_distinfo_normalize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
