/*
 * wheel and index: wheel file names, the zip reader (on archives built here
 * with zlib, stored and deflated, plus damaged ones) and PEP 503 pages.
 * Real wheels and a real HTTP index are in tests/integration/
 * test_plugins.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "venv/index.h"
#include "venv/wheel.h"
#include "xalloc.h"
#include "banned.h"

static void
put16(struct sbuf *z, unsigned v)
{
	sbuf_addch(z, (char)(v & 0xff));
	sbuf_addch(z, (char)(v >> 8 & 0xff));
}

static void
put32(struct sbuf *z, unsigned long v)
{
	put16(z, (unsigned)(v & 0xffff));
	put16(z, (unsigned)(v >> 16 & 0xffff));
}

struct member {
	const char *name;
	const char *data;
	int deflate;
};

/* A zip archive of members (no extra fields, no comments). */
static void
build_zip(const struct member *m, size_t n, struct sbuf *z)
{
	struct sbuf cd = SBUF_INIT;
	unsigned long offsets[8];

	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(m[i].data);
		unsigned long crc = crc32(0L, (const unsigned char *)m[i].data,
					  (unsigned)len);
		unsigned char out[4096];
		size_t clen = len;
		const void *cdata = m[i].data;

		if (m[i].deflate) {
			z_stream zs;
			int zr;

			memset(&zs, 0, sizeof(zs));
			zr = deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 8,
					  Z_DEFAULT_STRATEGY);
			assert_int_equal(zr, Z_OK);
			zs.next_in = (unsigned char *)(uintptr_t)m[i].data;
			zs.avail_in = (unsigned)len;
			zs.next_out = out;
			zs.avail_out = sizeof(out);
			assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
			clen = zs.total_out;
			deflateEnd(&zs);
			cdata = out;
		}
		offsets[i] = z->len;
		put32(z, 0x04034b50);
		put16(z, 20);
		put16(z, 0);
		put16(z, m[i].deflate ? 8 : 0);
		put32(z, 0);
		put32(z, crc);
		put32(z, clen);
		put32(z, len);
		put16(z, (unsigned)strlen(m[i].name));
		put16(z, 0);
		sbuf_adds(z, m[i].name);
		sbuf_add(z, cdata, clen);

		put32(&cd, 0x02014b50);
		put16(&cd, 20);
		put16(&cd, 20);
		put16(&cd, 0);
		put16(&cd, m[i].deflate ? 8 : 0);
		put32(&cd, 0);
		put32(&cd, crc);
		put32(&cd, clen);
		put32(&cd, len);
		put16(&cd, (unsigned)strlen(m[i].name));
		put16(&cd, 0);
		put16(&cd, 0);
		put16(&cd, 0);
		put16(&cd, 0);
		put32(&cd, 0);
		put32(&cd, offsets[i]);
		sbuf_adds(&cd, m[i].name);
	}
	{
		unsigned long cdoff = z->len;

		sbuf_add(z, cd.buf, cd.len);
		put32(z, 0x06054b50);
		put16(z, 0);
		put16(z, 0);
		put16(z, (unsigned)n);
		put16(z, (unsigned)n);
		put32(z, cd.len);
		put32(z, cdoff);
		put16(z, 0);
	}
	sbuf_release(&cd);
}

static void
test_index_wheel_names(void **state)
{
	struct wheel_name w;

	(void)state;
	assert_int_equal(wheel_name_parse(&w, "omero_web-5.31.0-py3-none-any"
					  ".whl"), 0);
	assert_string_equal(w.key, "omero-web");
	assert_string_equal(w.version, "5.31.0");
	assert_true(wheel_name_pure_py3(&w));
	wheel_name_release(&w);
	assert_int_equal(wheel_name_parse(&w, "x-1.0-1b-py2.py3-none-any.whl"),
			 0);
	assert_true(wheel_name_pure_py3(&w));
	wheel_name_release(&w);
	assert_int_equal(wheel_name_parse(&w, "x-1.0-cp311-cp311-manylinux_2"
					  "_17_x86_64.whl"), 0);
	assert_false(wheel_name_pure_py3(&w));
	wheel_name_release(&w);
	assert_int_equal(wheel_name_parse(&w, "x-1.0-py2-none-any.whl"), 0);
	assert_false(wheel_name_pure_py3(&w));
	wheel_name_release(&w);
	assert_int_equal(wheel_name_parse(&w, "x-1.0.tar.gz"), -1);
	assert_int_equal(wheel_name_parse(&w, "x-1.0-py3.whl"), -1);
	assert_int_equal(wheel_name_parse(&w, "x__y-1.0-py3-none-any.whl"), -1);
}

static void
test_index_zip_reader(void **state)
{
	static const struct member m[] = {
		{ "omero_figure/__init__.py", "", 0 },
		{ "nested/x.dist-info/METADATA", "Name: wrong\n", 0 },
		{ "omero_figure-2.0.0.dist-info/METADATA",
		  "Metadata-Version: 2.1\nName: omero-figure\nVersion: 2.0.0\n"
		  "Requires-Dist: omero-web>=5.31\n", 1 },
		{ "omero_figure-2.0.0.dist-info/top_level.txt",
		  "omero_figure\n", 0 },
	};
	struct sbuf z = SBUF_INIT, meta = SBUF_INIT, top = SBUF_INIT;
	struct err e = ERR_INIT;
	struct dist d;

	(void)state;
	build_zip(m, 4, &z);
	assert_int_equal(wheel_metadata(z.buf, z.len, "t.whl", &meta, &top, &e),
			 0);
	assert_non_null(strstr(meta.buf, "Name: omero-figure"));
	assert_string_equal(top.buf, "omero_figure\n");
	assert_int_equal(dist_from_metadata(&d, meta.buf, meta.len, top.buf,
					    &e), 0);
	assert_string_equal(d.version, "2.0.0");
	assert_string_equal(d.requires.v[0], "omero-web>=5.31");
	assert_string_equal(d.top_level.v[0], "omero_figure");
	dist_release(&d);
	sbuf_reset(&meta);
	assert_int_equal(wheel_read_member(z.buf, z.len, "t.whl", "absent",
					   100, &meta, &e), 0);
	/* a member over the cap */
	assert_int_equal(wheel_read_member(z.buf, z.len, "t.whl",
		"omero_figure-2.0.0.dist-info/METADATA", 10, &meta, &e), -1);
	assert_non_null(strstr(e.msg, "larger than"));
	err_clear(&e);
	/* a flipped bit in the deflated data */
	{
		static const char name[] =
			"omero_figure-2.0.0.dist-info/METADATA";
		char *bad = xmemdup(z.buf, z.len);
		const char *at = NULL;

		for (size_t i = 0; !at && i + sizeof(name) - 1 <= z.len; i++)
			if (!memcmp(z.buf + i, name, sizeof(name) - 1))
				at = z.buf + i;

		/* the first hit is the local header; data follows the name */
		assert_non_null(at);
		bad[(size_t)(at - z.buf) + sizeof(name) - 1 + 3] ^= 0x10;
		sbuf_reset(&meta);
		assert_int_equal(wheel_metadata(bad, z.len, "t.whl", &meta,
						NULL, &e), -1);
		assert_int_equal(e.code, ERR_BADVALUE);
		err_clear(&e);
		free(bad);
	}
	/* truncated: no end record */
	assert_int_equal(wheel_metadata(z.buf, z.len - 10, "t.whl", &meta,
					NULL, &e), -1);
	assert_non_null(strstr(e.msg, "not a zip archive"));
	err_clear(&e);
	sbuf_release(&z);
	sbuf_release(&meta);
	sbuf_release(&top);
}

static void
test_index_no_metadata(void **state)
{
	static const struct member m[] = {
		{ "a/b.dist-info/METADATA", "Name: nested\n", 0 },
	};
	struct sbuf z = SBUF_INIT, meta = SBUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	build_zip(m, 1, &z);
	assert_int_equal(wheel_metadata(z.buf, z.len, "t.whl", &meta, NULL,
					&e), -1);
	assert_non_null(strstr(e.msg, "has no *.dist-info/METADATA"));
	err_clear(&e);
	sbuf_release(&z);
	sbuf_release(&meta);
}

static void
test_index_simple_page(void **state)
{
	static const char page[] =
		"<!DOCTYPE html><html><body>\n"
		"<a href=\"../../packages/omero_figure-1.0.0-py3-none-any.whl"
		"#sha256=ABCD\" data-requires-python=\"&gt;=3.10\">x</a>\n"
		"<A HREF='omero_figure-2.0.0-py3-none-any.whl' data-yanked>"
		"</A>\n"
		"<a href=\"https://files.example/omero_figure-2.1.0rc1-py3-"
		"none-any.whl\" data-core-metadata=\"sha256=1\">y</a>\n"
		"<a href=\"omero-figure-3.0.0.tar.gz\">sdist</a>\n"
		"<a href=\"omero_figure-3.0.0-cp311-cp311-linux_x86_64.whl\">"
		"</a>\n"
		"<a href=\"other-9.0-py3-none-any.whl\">other</a>\n"
		"<abbr href=\"omero_figure-9.0.0-py3-none-any.whl\"></abbr>\n"
		"<a href=\"/abs/omero_figure-0.9%2B1-py3-none-any.whl\">a</a>\n"
		"</body></html>\n";
	struct pkg_files f = PKG_FILES_INIT;

	(void)state;
	pkg_index_parse_page(page, "http://h:8080/simple/omero-figure/",
			     "Omero.Figure", &f);
	assert_int_equal(f.n, 4);
	assert_int_equal(f.skipped, 2);	/* the sdist, the cp311 wheel */
	/* oldest first */
	assert_string_equal(f.v[0].wn.version, "0.9+1");
	assert_string_equal(f.v[0].url,
			    "http://h:8080/abs/omero_figure-0.9%2B1-py3-none-"
			    "any.whl");
	assert_string_equal(f.v[1].url, "http://h:8080/packages/omero_figure-"
			    "1.0.0-py3-none-any.whl");
	assert_string_equal(f.v[1].sha256, "ABCD");
	assert_string_equal(f.v[1].requires_python, ">=3.10");
	assert_false(f.v[1].yanked);
	assert_string_equal(f.v[2].url, "http://h:8080/simple/omero-figure/"
			    "omero_figure-2.0.0-py3-none-any.whl");
	assert_true(f.v[2].yanked);
	assert_string_equal(f.v[3].wn.version, "2.1.0rc1");
	assert_true(f.v[3].core_metadata);
	pkg_files_release(&f);
}

static void
test_index_open(void **state)
{
	struct pkg_index ix;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(pkg_index_open(&ix, "ftp://x/simple", &e), -1);
	assert_int_equal(e.code, ERR_USAGE);
	err_clear(&e);
	assert_int_equal(pkg_index_open(&ix, "/nonexistent/dir", &e), -1);
	err_clear(&e);
	assert_int_equal(pkg_index_open(&ix, "https://x/simple/", &e), 0);
	assert_true(ix.is_url);
	pkg_index_close(&ix);
	assert_int_equal(pkg_index_open(&ix, "/tmp", &e), 0);
	assert_false(ix.is_url);
	pkg_index_close(&ix);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_wheel_names),
		cmocka_unit_test(test_index_zip_reader),
		cmocka_unit_test(test_index_no_metadata),
		cmocka_unit_test(test_index_simple_page),
		cmocka_unit_test(test_index_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
