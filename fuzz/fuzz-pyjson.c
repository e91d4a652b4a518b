/*
 * Fuzz pyjson, the json.loads/json.dumps twin: for every input loads()
 * accepts, dumps() gives text that loads() reads back to an equal value
 * (pyjson_equal, Python's ==), and dumps() of that is the same text: the
 * emitter is a fixed point, as Python's is. The text is printable ASCII.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pyjson.h"
#include "fuzz-util.h"
#include "banned.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbuf t1 = SBUF_INIT, t2 = SBUF_INIT;
	struct err e = ERR_INIT;
	json_t *v1, *v2;

	v1 = pyjson_loads((const char *)data, size, &e);
	if (!v1) {
		FUZZ_CHECK(e.code == ERR_BADVALUE && e.msg, "bad error");
		err_clear(&e);
		return 0;
	}
	pyjson_dumps(v1, &t1);
	for (size_t i = 0; i < t1.len; i++)
		FUZZ_CHECK(t1.buf[i] >= 0x20 && t1.buf[i] < 0x7f,
			   "dumps() wrote byte 0x%02x (ensure_ascii)",
			   (unsigned char)t1.buf[i]);
	v2 = pyjson_loads(t1.buf, t1.len, &e);
	FUZZ_CHECK(v2, "loads(dumps(v)) fails: %s\n%s", e.msg, t1.buf);
	FUZZ_CHECK(pyjson_equal(v1, v2), "loads(dumps(v)) != v\n%s", t1.buf);
	FUZZ_CHECK(pyjson_equal(v2, v1), "== is not symmetric\n%s", t1.buf);
	pyjson_dumps(v2, &t2);
	FUZZ_CHECK(t1.len == t2.len && !memcmp(t1.buf, t2.buf, t1.len),
		   "dumps(loads(dumps(v))) != dumps(v):\n%s\n%s", t1.buf,
		   t2.buf);
	json_decref(v1);
	json_decref(v2);
	sbuf_release(&t1);
	sbuf_release(&t2);
	return 0;
}
