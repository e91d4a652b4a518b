/*
 * Fuzz the METADATA reader and the PEP 508 parser. Besides not crashing:
 * every header found has a name and a value, get() returns the first of
 * get_all(), and every Requires-Dist either fails to parse with a message
 * or parses and evaluates to 1, 0 or -1 in an empty environment.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "venv/distinfo.h"
#include "venv/pep508.h"
#include "fuzz-util.h"
#include "banned.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dist_meta m = DIST_META_INIT;
	struct pep508_env env = { { NULL } };
	struct err e = ERR_INIT;

	if (dist_meta_parse(&m, (const char *)data, size, &e) < 0) {
		FUZZ_CHECK(e.code == ERR_BADVALUE && e.msg, "bad error");
		err_clear(&e);
		return 0;
	}
	FUZZ_CHECK(m.names.n == m.values.n, "names and values differ");
	for (size_t i = 0; i < m.names.n; i++) {
		struct strv all = STRV_INIT;
		struct pep508_req r;
		struct sbuf why = SBUF_INIT;
		int v;

		FUZZ_CHECK(dist_meta_get_all(&m, m.names.v[i], &all) >= 1 &&
			   !strcmp(all.v[0], dist_meta_get(&m, m.names.v[i])),
			   "get() is not the first of get_all()");
		strv_release(&all);
		if (pep508_parse(&r, m.values.v[i], &e) < 0) {
			FUZZ_CHECK(e.code == ERR_BADVALUE && e.msg,
				   "bad error");
			err_clear(&e);
			continue;
		}
		FUZZ_CHECK(*r.key || !*r.name, "empty key");
		v = pep508_marker_eval(&r, &env, &why);
		FUZZ_CHECK(v >= -1 && v <= 1, "eval gave %d", v);
		FUZZ_CHECK(v != -1 || !r.marker || why.len,
			   "unknown without a reason");
		sbuf_release(&why);
		pep508_release(&r);
	}
	dist_meta_release(&m);
	return 0;
}
