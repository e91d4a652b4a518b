/*
 * Fuzz the zip reader (wheel METADATA) and the PEP 503 page parser on the
 * same bytes. Besides not crashing or reading out of bounds: a failure has
 * a message, and every file taken from a page is a wheel of the project
 * with a parsed version and an absolute http URL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "venv/index.h"
#include "venv/wheel.h"
#include "fuzz-util.h"
#include "banned.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbuf meta = SBUF_INIT, top = SBUF_INIT;
	struct pkg_files f = PKG_FILES_INIT;
	struct err e = ERR_INIT;
	char *html;

	if (wheel_metadata(data, size, "fuzz.whl", &meta, &top, &e) < 0) {
		FUZZ_CHECK(e.msg != NULL, "failure without a message");
		err_clear(&e);
	}
	html = fuzz_cstr(data, size);
	pkg_index_parse_page(html, "http://h/simple/p/", "p", &f);
	for (size_t i = 0; i < f.n; i++) {
		FUZZ_CHECK(!strcmp(f.v[i].wn.key, "p"), "wrong project");
		FUZZ_CHECK(f.v[i].v.nrel > 0, "no version");
		FUZZ_CHECK(!strncmp(f.v[i].url, "http", 4) ||
			   strstr(f.v[i].url, ":"), "relative URL '%s'",
			   f.v[i].url);
	}
	pkg_files_release(&f);
	sbuf_release(&meta);
	sbuf_release(&top);
	free(html);
	return 0;
}
