/*
 * Fuzz the Django session payload decoder (djsign_decode) for every
 * Django version and serializer, and its helpers (base62, base64, zlib).
 * Round trip: an ASCII JSON payload that pyjson reads (no NaN/Infinity)
 * signed with djsign_dumps() decodes as DJSIGN_SIGNED to an equal value.
 */
#define _GNU_SOURCE	/* memmem */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sessions/djsign.h"
#include "pyjson.h"
#include "fuzz-util.h"
#include "banned.h"

#define SECRET "fixture-secret-key-for-omero-web-session-research-0001"
#define FALLBACK "a-different-secret-key-0123456789abcdef"
#define TIMESTAMP 1795549861

static struct djsign *ds;

static void
decode_all(const char *data, size_t len)
{
	static const enum django_version versions[] = {
		DJANGO_3_2, DJANGO_4_2, DJANGO_5_2
	};

	for (size_t i = 0; i < 3; i++)
		for (int ser = DJSIGN_JSON; ser <= DJSIGN_PICKLE; ser++) {
			struct djsign_result r = DJSIGN_RESULT_INIT;

			djsign_decode(ds, versions[i],
				      (enum djsign_serializer)ser, data, len,
				      &r);
			FUZZ_CHECK(djsign_how_str(r.how) != NULL, "bad how");
			FUZZ_CHECK(!r.value || r.how == DJSIGN_SIGNED ||
				   r.how == DJSIGN_LEGACY,
				   "a value without a verified payload");
			djsign_result_release(&r);
		}
}

static void
helpers(const char *data, size_t len)
{
	struct sbuf out = SBUF_INIT, again = SBUF_INIT;
	int64_t v;

	if (djsign_b62_decode(data, len, &v) == 0) {
		djsign_b62_encode(v, &out);
		FUZZ_CHECK(out.len > 0, "empty base62");
		sbuf_reset(&out);
	}
	if (djsign_b64_decode(data, len, 1, &out) == 0) {
		djsign_b64url_encode(out.buf, out.len, &again);
		while (again.len % 4)	/* as django's b64_decode() pads */
			sbuf_addch(&again, '=');
		sbuf_reset(&out);
		FUZZ_CHECK(djsign_b64_decode(again.buf, again.len, 1,
					     &out) == 0,
			   "base64 of decoded bytes does not decode");
	}
	sbuf_reset(&out);
	djsign_b64_decode(data, len, 0, &out);
	sbuf_reset(&out);
	djsign_inflate(data, len, 1u << 16, &out);
	sbuf_release(&out);
	sbuf_release(&again);
}

/* Does v hold a number Python reads as infinite (1E400)? */
static int
has_nonfinite(const json_t *v)
{
	const char *k;
	json_t *item;
	size_t i;

	if (pyjson_nonfinite(v, NULL))
		return 1;
	if (json_is_array(v)) {
		json_array_foreach(v, i, item)
			if (has_nonfinite(item))
				return 1;
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, item)
			if (has_nonfinite(item))
				return 1;
	}
	return 0;
}

static void
roundtrip(const char *data, size_t len)
{
	struct err e = ERR_INIT;
	struct sbuf signed_ = SBUF_INIT;
	json_t *want;

	for (size_t i = 0; i < len; i++)
		if ((unsigned char)data[i] >= 0x80 || data[i] == '\0')
			return;
	if (memmem(data, len, "NaN", 3) || memmem(data, len, "Infinity", 8))
		return;
	want = pyjson_loads(data, len, &e);
	if (!want) {
		err_clear(&e);
		return;
	}
	/*
	 * Known finding (fuzz/RESULTS.md, djsign #1): djsign decodes 1E400
	 * as 1.7976931348623157e+308 where Python has inf. Not checked until
	 * fixed; delete this test then.
	 */
	if (has_nonfinite(want)) {
		json_decref(want);
		return;
	}
	djsign_dumps(ds, data, len, TIMESTAMP, &signed_);
	for (int v = DJANGO_3_2; v <= DJANGO_5_2; v++) {
		struct djsign_result r = DJSIGN_RESULT_INIT;

		djsign_decode(ds, (enum django_version)v, DJSIGN_JSON,
			      signed_.buf, signed_.len, &r);
		/* Python's json gives up near 1000 levels of nesting */
		if (r.how == DJSIGN_UNSURE) {
			djsign_result_release(&r);
			continue;
		}
		FUZZ_CHECK(r.how == DJSIGN_SIGNED, "version %d: %s for our own "
			   "signed payload %s", v, djsign_how_str(r.how),
			   signed_.buf);
		FUZZ_CHECK(r.value && pyjson_equal(r.value, want),
			   "version %d: decoded value differs", v);
		FUZZ_CHECK(r.timestamp == TIMESTAMP && r.key_index == 0,
			   "timestamp or key index wrong");
		djsign_result_release(&r);
	}
	json_decref(want);
	sbuf_release(&signed_);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ds) {
		static const char *const secrets[] = { SECRET, FALLBACK };

		ds = djsign_new(DJSIGN_SESSION_STORE, secrets, 2);
	}
	decode_all((const char *)data, size);
	helpers((const char *)data, size);
	roundtrip((const char *)data, size);
	return 0;
}
