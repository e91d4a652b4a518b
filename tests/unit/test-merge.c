/*
 * merge3() and diff_unified() against the real GNU diff3 and diff: clean
 * merges, conflicts with their labels, texts without a final newline, and
 * nothing left in $TMPDIR.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "sbuf.h"
#include "xalloc.h"
#include "web/merge.h"
#include "banned.h"

static char tmpdir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/owctl-test-merge-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	setenv("TMPDIR", tmpdir, 1);
	return 0;
}

/* Every run cleans up after itself: $TMPDIR must be empty. */
static int
teardown(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	int left = 0;

	(void)state;
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			left++;
	if (d)
		closedir(d);
	rmdir(tmpdir);
	unsetenv("TMPDIR");
	return left ? -1 : 0;
}

#define TEXT(s, l) { (s), sizeof(s) - 1, (l) }

static const char base[] =
	"server {\n"
	"    listen 80;\n"
	"    server_name $hostname;\n"
	"\n"
	"    sendfile on;\n"
	"    client_max_body_size 0;\n"
	"\n"
	"    location / {\n"
	"        proxy_pass http://omeroweb;\n"
	"    }\n"
	"}\n";

static void
test_merge_clean_keeps_local_edit(void **state)
{
	static const char local[] =
		"server {\n"
		"    listen 80;\n"
		"    server_name $hostname;\n"
		"    add_header X-Site \"lab\";\n"
		"\n"
		"    sendfile on;\n"
		"    client_max_body_size 0;\n"
		"\n"
		"    location / {\n"
		"        proxy_pass http://omeroweb;\n"
		"    }\n"
		"}\n";
	static const char other[] =
		"server {\n"
		"    listen 80;\n"
		"    server_name $hostname;\n"
		"\n"
		"    sendfile on;\n"
		"    client_max_body_size 0;\n"
		"\n"
		"    location /omero {\n"
		"        proxy_pass http://omeroweb_omero;\n"
		"    }\n"
		"}\n";
	static const char want[] =
		"server {\n"
		"    listen 80;\n"
		"    server_name $hostname;\n"
		"    add_header X-Site \"lab\";\n"
		"\n"
		"    sendfile on;\n"
		"    client_max_body_size 0;\n"
		"\n"
		"    location /omero {\n"
		"        proxy_pass http://omeroweb_omero;\n"
		"    }\n"
		"}\n";
	struct merge_text l = TEXT(local, "local"), b = TEXT(base, "base"),
			  o = TEXT(other, "new");
	struct sbuf out = SBUF_INIT;
	struct err e = ERR_INIT;
	int conflicts = -1;

	(void)state;
	assert_int_equal(merge3(&l, &b, &o, &out, &conflicts, &e), 0);
	assert_int_equal(conflicts, 0);
	assert_string_equal(out.buf, want);
	/* same change on both sides: no conflict, taken once */
	sbuf_reset(&out);
	assert_int_equal(merge3(&o, &b, &o, &out, &conflicts, &e), 0);
	assert_int_equal(conflicts, 0);
	assert_string_equal(out.buf, other);
	/* no local edit: the result is the new text */
	sbuf_reset(&out);
	assert_int_equal(merge3(&b, &b, &o, &out, &conflicts, &e), 0);
	assert_string_equal(out.buf, other);
	sbuf_release(&out);
}

static void
test_merge_conflict_is_marked(void **state)
{
	static const char local[] =
		"server {\n"
		"    listen 80;\n"
		"    server_name $hostname;\n"
		"\n"
		"    sendfile off;\n"
		"    client_max_body_size 0;\n"
		"\n"
		"    location / {\n"
		"        proxy_pass http://omeroweb;\n"
		"    }\n"
		"}\n";
	static const char other[] =
		"server {\n"
		"    listen 80;\n"
		"    server_name $hostname;\n"
		"\n"
		"    sendfile on;\n"
		"    client_max_body_size 5m;\n"
		"\n"
		"    location / {\n"
		"        proxy_pass http://omeroweb;\n"
		"    }\n"
		"}\n";
	static const char want[] =
		"server {\n"
		"    listen 80;\n"
		"    server_name $hostname;\n"
		"\n"
		"<<<<<<< mine\n"
		"    sendfile off;\n"
		"    client_max_body_size 0;\n"
		"||||||| old\n"
		"    sendfile on;\n"
		"    client_max_body_size 0;\n"
		"=======\n"
		"    sendfile on;\n"
		"    client_max_body_size 5m;\n"
		">>>>>>> theirs\n"
		"\n"
		"    location / {\n"
		"        proxy_pass http://omeroweb;\n"
		"    }\n"
		"}\n";
	struct merge_text l = TEXT(local, "mine"), b = TEXT(base, "old"),
			  o = TEXT(other, "theirs");
	struct sbuf out = SBUF_INIT;
	struct err e = ERR_INIT;
	int conflicts = 0;

	(void)state;
	assert_int_equal(merge3(&l, &b, &o, &out, &conflicts, &e), 0);
	assert_int_equal(conflicts, 1);
	assert_string_equal(out.buf, want);
	assert_int_equal(merge_find_marker(out.buf, out.len), 5);
	sbuf_release(&out);
}

static void
test_merge_without_final_newline(void **state)
{
	static const char local[] = "a\nb\nc";	/* the admin's editor */
	static const char b0[] = "a\nb\nc\n";
	static const char other[] = "A\nb\nc\n";
	struct merge_text l = TEXT(local, "l"), b = TEXT(b0, "b"),
			  o = TEXT(other, "o");
	struct sbuf out = SBUF_INIT;
	struct err e = ERR_INIT;
	int conflicts = -1;

	(void)state;
	assert_int_equal(merge3(&l, &b, &o, &out, &conflicts, &e), 0);
	assert_int_equal(conflicts, 0);
	assert_string_equal(out.buf, "A\nb\nc");
	sbuf_release(&out);
}

static void
test_merge_diff_unified(void **state)
{
	static const char a[] = "one\ntwo\nthree\n";
	static const char b[] = "one\n2\nthree\n";
	struct merge_text ta = TEXT(a, "x.conf\tinstalled"),
			  tb = TEXT(b, "x.conf\tnew");
	struct sbuf out = SBUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(diff_unified(&ta, &tb, &out, &e), 0);
	assert_string_equal(out.buf, "--- x.conf\tinstalled\n"
			    "+++ x.conf\tnew\n"
			    "@@ -1,3 +1,3 @@\n"
			    " one\n"
			    "-two\n"
			    "+2\n"
			    " three\n");
	/* equal texts: nothing at all */
	sbuf_reset(&out);
	assert_int_equal(diff_unified(&ta, &ta, &out, &e), 0);
	assert_int_equal(out.len, 0);
	/* from nothing; a missing final newline is said in C locale words */
	{
		struct merge_text none = { "", 0, "/dev/null" };
		struct merge_text c = { "x", 1, "new" };

		setenv("LC_ALL", "de_DE.UTF-8", 1);
		assert_int_equal(diff_unified(&none, &c, &out, &e), 0);
		unsetenv("LC_ALL");
		assert_string_equal(out.buf, "--- /dev/null\n+++ new\n"
				    "@@ -0,0 +1 @@\n+x\n"
				    "\\ No newline at end of file\n");
	}
	sbuf_release(&out);
}

static void
test_merge_find_marker(void **state)
{
	static const char ok[] = "a\n====== not a marker\n<<<<<<<x\nb\n";
	static const char eq[] = "a\n=======\nb\n";
	static const char tail[] = "a\n>>>>>>> new";

	(void)state;
	assert_int_equal(merge_find_marker(ok, sizeof(ok) - 1), 0);
	assert_int_equal(merge_find_marker(eq, sizeof(eq) - 1), 2);
	assert_int_equal(merge_find_marker(tail, sizeof(tail) - 1), 2);
	assert_int_equal(merge_find_marker("", 0), 0);
}

/* diff3 reporting trouble (status 2) is an error with its message. */
static void
test_merge_tool_trouble(void **state)
{
	static const char fake[] =
		"#!/bin/sh\necho 'diff3: something is wrong' >&2\nexit 2\n";
	struct merge_text a = TEXT("a\n", "a"), b = TEXT("b\n", "b");
	struct sbuf out = SBUF_INIT, bin = SBUF_INIT, tool = SBUF_INIT;
	struct err e = ERR_INIT;
	char *path = xstrdup(getenv("PATH") ? getenv("PATH") : "/usr/bin");
	int conflicts;
	FILE *f;

	(void)state;
	sbuf_addf(&bin, "%s/bin", tmpdir);
	sbuf_addf(&tool, "%s/diff3", bin.buf);
	assert_int_equal(mkdir(bin.buf, 0700), 0);
	f = fopen(tool.buf, "w");
	assert_non_null(f);
	fputs(fake, f);
	fclose(f);
	assert_int_equal(chmod(tool.buf, 0700), 0);
	setenv("PATH", bin.buf, 1);
	assert_int_equal(merge3(&a, &a, &b, &out, &conflicts, &e), -1);
	setenv("PATH", path, 1);
	assert_int_equal(e.code, ERR_IO);
	assert_non_null(strstr(e.msg, "cannot merge: "));
	assert_non_null(strstr(e.msg, "failed (status 2): diff3: something "
			       "is wrong"));
	assert_int_equal(out.len, 0);
	unlink(tool.buf);
	rmdir(bin.buf);
	free(path);
	err_clear(&e);
	sbuf_release(&out);
	sbuf_release(&bin);
	sbuf_release(&tool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_clean_keeps_local_edit),
		cmocka_unit_test(test_merge_conflict_is_marked),
		cmocka_unit_test(test_merge_without_final_newline),
		cmocka_unit_test(test_merge_diff_unified),
		cmocka_unit_test(test_merge_find_marker),
		cmocka_unit_test(test_merge_tool_trouble),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
