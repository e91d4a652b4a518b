/*
 * Django signed session payloads (django.core.signing, Django >= 3.1, and
 * the pre-3.1 "legacy" format): verify and decode them exactly as
 * SessionBase.decode() of Django 3.2, 4.2 and 5.2 does, including where it
 * gives up ({}) and where it raises.
 */
#ifndef OWCTL_DJSIGN_H
#define OWCTL_DJSIGN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "sbuf.h"

enum django_version {
	DJANGO_3_2,
	DJANGO_4_2,
	DJANGO_5_2,
};

/* SESSION_SERIALIZER */
enum djsign_serializer {
	DJSIGN_JSON,   /* ...serializers.JSONSerializer */
	DJSIGN_PICKLE, /* ...serializers.PickleSerializer (< 5.0) */
};

/* The salt of file, db, cache and cached_db stores. */
#define DJSIGN_SESSION_STORE "SessionStore"

/* Keys derived for one store class and a list of secrets; opaque. */
struct djsign;

/*
 * Open libcrypto (dlopen, see lazylib.h; it is never linked) and bind the
 * functions djsign needs. djsign_new() does it too; call this first to get
 * the reason. Returns 0, or -1 with e naming the library and its Debian
 * package (libssl3). Not thread-safe: call before starting threads.
 */
int djsign_load(struct err *e);

/*
 * Derive the signing keys for the session store class store_class (the
 * Python class name, normally DJSIGN_SESSION_STORE) from secrets[0]
 * (SECRET_KEY) and secrets[1..n-1] (SECRET_KEY_FALLBACKS, used by 4.2 and
 * later only). The secrets are not kept; derived keys are wiped by
 * djsign_free(). Returns NULL when n is 0 or libcrypto cannot be loaded
 * (see djsign_load()).
 */
struct djsign *djsign_new(const char *store_class, const char *const *secrets,
                          size_t n);
void djsign_free(struct djsign *ds);

/* What SessionBase.decode() does with a stored payload. */
enum djsign_how {
	DJSIGN_SIGNED,        /* verified signed payload, value decoded */
	DJSIGN_LEGACY,        /* verified pre-3.1 payload (3.2 only) */
	DJSIGN_BAD_SIGNATURE, /* nothing verifies: decode() returns {} */
	DJSIGN_UNDECODABLE,   /* verified, not loadable: decode() gives {} */
	DJSIGN_CRASH,         /* decode() raises (3.2 _legacy_decode) */
	DJSIGN_UNSURE,        /* cannot tell what Python would return */
};

struct djsign_result {
	enum djsign_how how;
	/*
	 * SIGNED/LEGACY with JSON: the decoded value, owned by the result
	 * (any JSON type: decode() may return a non-dict). NULL otherwise.
	 */
	json_t *value;
	/*
	 * SIGNED/LEGACY with Pickle: the payload is a pickled dict that is
	 * not decoded; mentions_expiry says whether "_session_expiry" occurs
	 * in it. mentions_expiry is also set for UNSURE.
	 */
	int opaque;
	int mentions_expiry;
	int key_index;      /* verifying secret: 0 = SECRET_KEY; else -1 */
	int sha1;           /* verified with SHA1 (3.2's transition) */
	int compressed;     /* the signed payload was zlib-compressed */
	int64_t timestamp;  /* signing time (base62 field) */
	const char *detail; /* static text on why; never holds secrets */
};

#define DJSIGN_RESULT_INIT                                                     \
	{                                                                      \
		DJSIGN_BAD_SIGNATURE, NULL, 0, 0, -1, 0, 0, 0, NULL            \
	}

/*
 * Decode data (len bytes, as read from the store) the way Django version
 * v's SessionBase.decode() does with serializer ser. Never fails; the
 * outcome is in *res, which must be released with djsign_result_release().
 */
void djsign_decode(const struct djsign *ds, enum django_version v,
                   enum djsign_serializer ser, const char *data, size_t len,
                   struct djsign_result *res);
void djsign_result_release(struct djsign_result *res);

/* Buffers and a zlib stream reused by djsign_no_expiry(); one per thread. */
struct djsign_scratch;
struct djsign_scratch *djsign_scratch_new(void);
void djsign_scratch_free(struct djsign_scratch *sc);

/*
 * Is it certain, without the key, that version v's decode() of data (len
 * bytes, as read from the store) gives {} or a dict without
 * "_session_expiry", whatever the signature check would say? Then the
 * expiry is the mtime rule. Decided from the base64-decoded (and
 * decompressed) payload alone: no HMAC, no JSON tree. 1: certain; 0: not
 * shown, decode with djsign_decode(). JSON serializer only (Pickle: 0).
 * The reasoning is written above the function in djsign.c.
 */
int djsign_no_expiry(struct djsign_scratch *sc, enum django_version v,
                     enum djsign_serializer ser, const char *data, size_t len);

/* Human-readable name of a djsign_how (static). */
const char *djsign_how_str(enum djsign_how how);

/*
 * Sign payload (serialized bytes, e.g. compact JSON) like signing.dumps()
 * with compress=True, TimestampSigner and SHA256 under secrets[0]:
 * "[.]<b64>:<b62 timestamp>:<b64 signature>" appended to out.
 */
void djsign_dumps(const struct djsign *ds, const void *payload, size_t len,
                  int64_t timestamp, struct sbuf *out);

/* Helpers with Python's exact semantics (exposed for tests). */

/* django b62_decode(): 0 and *out, or -1 where Python raises. */
int djsign_b62_decode(const char *s, size_t len, int64_t *out);
void djsign_b62_encode(int64_t v, struct sbuf *out);

/*
 * base64.b64decode(s) (urlsafe: urlsafe_b64decode) in non-validating mode:
 * characters outside the alphabet are skipped. Appends to out; -1 where
 * binascii.Error is raised.
 */
int djsign_b64_decode(const char *s, size_t len, int urlsafe, struct sbuf *out);
/* URL-safe base64 without padding. */
void djsign_b64url_encode(const void *data, size_t len, struct sbuf *out);

/*
 * zlib.decompress(data): the first zlib stream, trailing bytes ignored.
 * Returns 0, -1 where Python raises zlib.error, -2 when the output would
 * exceed max bytes.
 */
int djsign_inflate(const void *data, size_t len, size_t max, struct sbuf *out);

/* Cap on decompressed payloads; larger ones are reported UNSURE. */
#define DJSIGN_MAX_PAYLOAD (64u << 20)

#endif
