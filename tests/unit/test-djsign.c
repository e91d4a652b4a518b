/*
 * Django signed session payloads: the golden files written by real Django
 * (../shared/vectors/sessions/file), plus payloads signed here to reach
 * each branch of 3.2/4.2/5.2 decode(). Python oracles noted inline.
 */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <dirent.h>

#include "fs.h"
#include "lazycrypto.h"
#include "sessions/djsign.h"
#include "banned.h"

#define SECRET "fixture-secret-key-for-omero-web-session-research-0001"
#define OTHER "a-different-secret-key-0123456789abcdef"
#define NOW 1795549861

static const char *const secrets[] = {SECRET, OTHER};

static const char *
shared_dir(void)
{
	const char *d = getenv("SHARED_DIR");

	return d ? d : "../shared";
}

/* Content of the single session file of vector case c. */
static void
vector(const char *c, const char *name, struct sbuf *out)
{
	struct sbuf path = SBUF_INIT;
	struct err e = ERR_INIT;

	sbuf_reset(out);
	sbuf_addf(&path, "%s/vectors/sessions/file/%s/%s", shared_dir(), c,
	          name);
	if (fs_read_file(path.buf, 1 << 20, out, &e))
		fail_msg("%s", e.msg);
	sbuf_release(&path);
}

/* The name column of cases.tsv for case c. */
static void
vector_file(const char *c, struct sbuf *out)
{
	struct sbuf tsv = SBUF_INIT, path = SBUF_INIT;
	struct err e = ERR_INIT;
	char *line, *tab;

	sbuf_addf(&path, "%s/vectors/sessions/file/cases.tsv", shared_dir());
	if (fs_read_file(path.buf, 1 << 20, &tsv, &e))
		fail_msg("%s", e.msg);
	for (line = tsv.buf; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		tab = strchr(line, '\t');
		if (tab && (size_t)(tab - line) == strlen(c) &&
		    !strncmp(line, c, strlen(c))) {
			char *end = strchr(tab + 1, '\t');
			struct sbuf name = SBUF_INIT;

			sbuf_add(&name, tab + 1, (size_t)(end - tab - 1));
			vector(c, name.buf, out);
			sbuf_release(&name);
			sbuf_release(&tsv);
			sbuf_release(&path);
			return;
		}
	}
	fail_msg("case '%s' not in cases.tsv", c);
}

static void
decode(enum django_version v, enum djsign_serializer ser, const char *s,
       size_t len, struct djsign_result *res)
{
	struct djsign *ds = djsign_new(DJSIGN_SESSION_STORE, secrets, 1);

	djsign_decode(ds, v, ser, s, len, res);
	djsign_free(ds);
}

static json_int_t
expiry_int(const struct djsign_result *res)
{
	json_t *e = json_object_get(res->value, "_session_expiry");

	assert_non_null(e);
	return json_integer_value(e);
}

static void
test_djsign_dumps_matches_django(void **state)
{
	struct djsign *ds = djsign_new(DJSIGN_SESSION_STORE, secrets, 1);
	struct sbuf got = SBUF_INIT, want = SBUF_INIT;

	(void)state;
	/* vector fresh_small: {"a":1} signed by Django 5.2 at NOW */
	vector_file("fresh_small", &want);
	djsign_dumps(ds, "{\"a\":1}", 7, NOW, &got);
	assert_string_equal(got.buf, want.buf);
	djsign_free(ds);
	sbuf_release(&got);
	sbuf_release(&want);
}

static void
test_djsign_decode_signed_vectors(void **state)
{
	static const char *const cases[] = {
	    "fresh",
	    "old_mtime",
	    "edge_keep",
	    "int_expiry_old_mtime",
	    "int_expiry_negative",
	    "iso_naive",
	    "iso_expiry_past_fresh",
	};
	struct sbuf data = SBUF_INIT;
	struct djsign_result res;
	size_t i;
	int v;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (v = DJANGO_3_2; v <= DJANGO_5_2; v++) {
			vector_file(cases[i], &data);
			decode(v, DJSIGN_JSON, data.buf, data.len, &res);
			assert_int_equal(res.how, DJSIGN_SIGNED);
			assert_true(json_is_object(res.value));
			assert_int_equal(res.key_index, 0);
			assert_false(res.sha1);
			/* signed within a minute of NOW */
			assert_true(res.timestamp >= NOW - 60 &&
			            res.timestamp <= NOW + 60);
			djsign_result_release(&res);
		}
	}
	vector_file("int_expiry_old_mtime", &data);
	decode(DJANGO_4_2, DJSIGN_JSON, data.buf, data.len, &res);
	assert_int_equal(expiry_int(&res), 300);
	assert_true(res.compressed);
	djsign_result_release(&res);
	vector_file("fresh_small", &data);
	decode(DJANGO_5_2, DJSIGN_JSON, data.buf, data.len, &res);
	assert_false(res.compressed);
	assert_int_equal(json_integer_value(json_object_get(res.value, "a")),
	                 1);
	djsign_result_release(&res);
	sbuf_release(&data);
}

static void
test_djsign_decode_unverified_vectors(void **state)
{
	static const char *const cases[] = {
	    "badsig_fresh", "badsig_int_expiry_old", "tampered_old",
	    "corrupt_old",  "newline_old",
	};
	struct sbuf data = SBUF_INIT;
	struct djsign_result res;
	size_t i;
	int v;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (v = DJANGO_3_2; v <= DJANGO_5_2; v++) {
			vector_file(cases[i], &data);
			decode(v, DJSIGN_JSON, data.buf, data.len, &res);
			assert_int_equal(res.how, DJSIGN_BAD_SIGNATURE);
			assert_null(res.value);
			assert_non_null(res.detail);
			assert_null(strstr(res.detail, SECRET));
			djsign_result_release(&res);
		}
	}
	sbuf_release(&data);
}

static void
test_djsign_legacy_only_on_32(void **state)
{
	struct sbuf data = SBUF_INIT;
	struct djsign_result res;

	(void)state;
	vector_file("legacy_int_expiry_old", &data);
	decode(DJANGO_3_2, DJSIGN_JSON, data.buf, data.len, &res);
	assert_int_equal(res.how, DJSIGN_LEGACY);
	assert_int_equal(expiry_int(&res), 300);
	djsign_result_release(&res);
	decode(DJANGO_4_2, DJSIGN_JSON, data.buf, data.len, &res);
	assert_int_equal(res.how, DJSIGN_BAD_SIGNATURE);
	djsign_result_release(&res);
	decode(DJANGO_5_2, DJSIGN_JSON, data.buf, data.len, &res);
	assert_int_equal(res.how, DJSIGN_BAD_SIGNATURE);
	djsign_result_release(&res);
	sbuf_release(&data);
}

static void
test_djsign_pickle_payloads(void **state)
{
	struct sbuf data = SBUF_INIT;
	struct djsign_result res;

	(void)state;
	/* JSON configured: 3.2 falls into _legacy_decode, whose b64decode
	 * raises; 4.2/5.2 give {} */
	vector_file("pickle_old", &data);
	decode(DJANGO_3_2, DJSIGN_JSON, data.buf, data.len, &res);
	assert_int_equal(res.how, DJSIGN_CRASH);
	djsign_result_release(&res);
	decode(DJANGO_4_2, DJSIGN_JSON, data.buf, data.len, &res);
	assert_int_equal(res.how, DJSIGN_UNDECODABLE);
	djsign_result_release(&res);
	/* PickleSerializer configured: an opaque dict */
	decode(DJANGO_4_2, DJSIGN_PICKLE, data.buf, data.len, &res);
	assert_int_equal(res.how, DJSIGN_SIGNED);
	assert_true(res.opaque);
	assert_false(res.mentions_expiry);
	djsign_result_release(&res);
	vector_file("pickle_datetime_expiry_past", &data);
	decode(DJANGO_3_2, DJSIGN_PICKLE, data.buf, data.len, &res);
	assert_int_equal(res.how, DJSIGN_SIGNED);
	assert_true(res.opaque);
	assert_true(res.mentions_expiry);
	djsign_result_release(&res);
	/* a JSON payload read with pickle: 'invalid load key' -> {} */
	vector_file("fresh", &data);
	decode(DJANGO_4_2, DJSIGN_PICKLE, data.buf, data.len, &res);
	assert_int_equal(res.how, DJSIGN_UNDECODABLE);
	djsign_result_release(&res);
	sbuf_release(&data);
}

static void
test_djsign_fallback_keys_from_42(void **state)
{
	const char *only_other[] = {OTHER};
	struct djsign *signer = djsign_new(DJSIGN_SESSION_STORE, only_other, 1);
	struct djsign *ds = djsign_new(DJSIGN_SESSION_STORE, secrets, 2);
	struct sbuf p = SBUF_INIT;
	struct djsign_result res;

	(void)state;
	djsign_dumps(signer, "{\"_session_expiry\":300}", 23, NOW, &p);
	djsign_decode(ds, DJANGO_4_2, DJSIGN_JSON, p.buf, p.len, &res);
	assert_int_equal(res.how, DJSIGN_SIGNED);
	assert_int_equal(res.key_index, 1);
	djsign_result_release(&res);
	djsign_decode(ds, DJANGO_3_2, DJSIGN_JSON, p.buf, p.len, &res);
	assert_int_equal(res.how, DJSIGN_BAD_SIGNATURE);
	djsign_result_release(&res);
	djsign_free(signer);
	djsign_free(ds);
	sbuf_release(&p);
}

/* A TimestampSigner(algorithm='sha1') payload, as 3.1/3.2 could write. */
static void
sha1_payload(const char *value, struct sbuf *out)
{
	struct sbuf key_in = SBUF_INIT;
	unsigned char key[20], mac[20];
	unsigned int klen = 0, mlen = 0;
	struct err e = ERR_INIT;

	assert_int_equal(lazycrypto_bind(&e), 0);
	sbuf_addf(&key_in, "django.contrib.sessions.SessionStoresigner%s",
	          SECRET);
	lazycrypto.digest(key_in.buf, key_in.len, key, &klen,
			  lazycrypto.sha1(), NULL);
	lazycrypto.hmac(lazycrypto.sha1(), key, (int)klen,
			(const unsigned char *)value, strlen(value), mac,
			&mlen);
	sbuf_reset(out);
	sbuf_addf(out, "%s:", value);
	djsign_b64url_encode(mac, mlen, out);
	sbuf_release(&key_in);
}

static void
test_djsign_sha1_transition_only_32(void **state)
{
	struct sbuf p = SBUF_INIT;
	struct djsign_result res;

	(void)state;
	/* base64url('{"_session_expiry":300}') + ':' + b62 timestamp */
	sha1_payload("eyJfc2Vzc2lvbl9leHBpcnkiOjMwMH0:1xVwXd", &p);
	decode(DJANGO_3_2, DJSIGN_JSON, p.buf, p.len, &res);
	assert_int_equal(res.how, DJSIGN_SIGNED);
	assert_true(res.sha1);
	assert_int_equal(expiry_int(&res), 300);
	djsign_result_release(&res);
	decode(DJANGO_5_2, DJSIGN_JSON, p.buf, p.len, &res);
	assert_int_equal(res.how, DJSIGN_BAD_SIGNATURE);
	djsign_result_release(&res);
	sbuf_release(&p);
}

static void
sign_json(const char *json, struct sbuf *out)
{
	struct djsign *ds = djsign_new(DJSIGN_SESSION_STORE, secrets, 1);

	sbuf_reset(out);
	djsign_dumps(ds, json, strlen(json), NOW, out);
	djsign_free(ds);
}

static void
test_djsign_python_json_extensions(void **state)
{
	struct sbuf p = SBUF_INIT;
	struct djsign_result res;
	json_t *e;

	(void)state;
	/* json.loads accepts NaN/Infinity: truthy, same sign */
	sign_json("{\"_session_expiry\":NaN}", &p);
	decode(DJANGO_5_2, DJSIGN_JSON, p.buf, p.len, &res);
	assert_int_equal(res.how, DJSIGN_SIGNED);
	e = json_object_get(res.value, "_session_expiry");
	assert_true(json_real_value(e) > 0);
	djsign_result_release(&res);
	sign_json("{\"_session_expiry\":-Infinity,\"b\":1e999}", &p);
	decode(DJANGO_3_2, DJSIGN_JSON, p.buf, p.len, &res);
	assert_int_equal(res.how, DJSIGN_SIGNED);
	e = json_object_get(res.value, "_session_expiry");
	assert_true(json_real_value(e) < 0);
	djsign_result_release(&res);
	/* big integers */
	sign_json("{\"_session_expiry\":100000000000000000000000000}", &p);
	decode(DJANGO_4_2, DJSIGN_JSON, p.buf, p.len, &res);
	assert_int_equal(res.how, DJSIGN_SIGNED);
	assert_true(json_real_value(
	                json_object_get(res.value, "_session_expiry")) > 1e25);
	djsign_result_release(&res);
	/* lone surrogates load; inside the expiry they are undecidable */
	sign_json("{\"a\":\"\\ud800\"}", &p);
	decode(DJANGO_4_2, DJSIGN_JSON, p.buf, p.len, &res);
	assert_int_equal(res.how, DJSIGN_SIGNED);
	djsign_result_release(&res);
	sign_json("{\"_session_expiry\":\"2026-01-01\\udc80\"}", &p);
	decode(DJANGO_4_2, DJSIGN_JSON, p.buf, p.len, &res);
	assert_int_equal(res.how, DJSIGN_UNSURE);
	djsign_result_release(&res);
	/* what Python rejects stays rejected: 01e400, trailing data */
	sign_json("{\"_session_expiry\":01e400}", &p);
	decode(DJANGO_4_2, DJSIGN_JSON, p.buf, p.len, &res);
	assert_int_equal(res.how, DJSIGN_UNDECODABLE);
	djsign_result_release(&res);
	sign_json("{\"a\":1} x", &p);
	decode(DJANGO_5_2, DJSIGN_JSON, p.buf, p.len, &res);
	assert_int_equal(res.how, DJSIGN_UNDECODABLE);
	djsign_result_release(&res);
	/* a non-dict is returned as is (the caller's .get() crashes) */
	sign_json("[1,2]", &p);
	decode(DJANGO_5_2, DJSIGN_JSON, p.buf, p.len, &res);
	assert_int_equal(res.how, DJSIGN_SIGNED);
	assert_true(json_is_array(res.value));
	djsign_result_release(&res);
	sbuf_release(&p);
}

/* The verdict follows the mtime rule: {} or a dict without the key. */
static int
mtime_outcome(const struct djsign_result *res)
{
	switch (res->how) {
	case DJSIGN_BAD_SIGNATURE:
	case DJSIGN_UNDECODABLE:
		return 1;
	case DJSIGN_SIGNED:
	case DJSIGN_LEGACY:
		if (res->opaque)
			return !res->mentions_expiry;
		return json_is_object(res->value) &&
		       !json_object_get(res->value, "_session_expiry");
	default:
		return 0;
	}
}

/*
 * djsign_no_expiry() for version v, checked against the full decoder
 * under the right key and under a wrong one (both signature outcomes).
 */
static int
no_expiry(enum django_version v, const char *s, size_t len)
{
	static const char *const wrong[] = {OTHER};
	struct djsign_scratch *sc = djsign_scratch_new();
	struct djsign *ds = djsign_new(DJSIGN_SESSION_STORE, secrets, 1);
	struct djsign *dw = djsign_new(DJSIGN_SESSION_STORE, wrong, 1);
	struct djsign_result res;
	int q = djsign_no_expiry(sc, v, DJSIGN_JSON, s, len);

	if (q) {
		djsign_decode(ds, v, DJSIGN_JSON, s, len, &res);
		assert_true(mtime_outcome(&res));
		djsign_result_release(&res);
		djsign_decode(dw, v, DJSIGN_JSON, s, len, &res);
		assert_true(mtime_outcome(&res));
		djsign_result_release(&res);
	}
	/* Pickle payloads are never decided this way */
	assert_false(djsign_no_expiry(sc, v, DJSIGN_PICKLE, s, len));
	djsign_free(ds);
	djsign_free(dw);
	djsign_scratch_free(sc);
	return q;
}

static void
no_expiry_all(const char *json, int want32, int want42, int want52)
{
	struct sbuf p = SBUF_INIT;

	sign_json(json, &p);
	assert_int_equal(no_expiry(DJANGO_3_2, p.buf, p.len), want32);
	assert_int_equal(no_expiry(DJANGO_4_2, p.buf, p.len), want42);
	assert_int_equal(no_expiry(DJANGO_5_2, p.buf, p.len), want52);
	sbuf_release(&p);
}

#define PAD "\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\""

static void
test_djsign_no_expiry_shortcut(void **state)
{
	struct sbuf p = SBUF_INIT, big = SBUF_INIT;
	struct djsign_result res;
	struct djsign *other;
	static const char *const wrong[] = {OTHER};
	size_t i;

	(void)state;
	/* OMERO.web's kind of session: compressed, no expiry */
	sign_json("{\"connector\":{\"server_id\":1}," PAD "}", &p);
	assert_int_equal(p.buf[0], '.');
	no_expiry_all("{\"connector\":{\"server_id\":1}," PAD "}", 1, 1, 1);
	no_expiry_all(" \t\r\n{\"a\":[1,-2.5e+3,true,false,null,\"\\/\"]}",
	              1, 1, 1);
	no_expiry_all("{}", 1, 1, 1);
	/* the key, compressed: the test runs on the inflated payload */
	sign_json("{\"_session_expiry\":-5," PAD "}", &p);
	assert_int_equal(p.buf[0], '.');
	assert_null(memmem(p.buf, p.len, "_session_expiry", 15));
	no_expiry_all("{\"_session_expiry\":-5," PAD "}", 0, 0, 0);
	/* the text as a value or a nested key: not shown, full decode */
	no_expiry_all("{\"a\":\"_session_expiry\"," PAD "}", 0, 0, 0);
	decode(DJANGO_5_2, DJSIGN_JSON, p.buf, p.len, &res);
	assert_int_equal(res.how, DJSIGN_SIGNED);
	djsign_result_release(&res);
	sign_json("{\"a\":\"_session_expiry\"," PAD "}", &p);
	decode(DJANGO_5_2, DJSIGN_JSON, p.buf, p.len, &res);
	assert_true(mtime_outcome(&res));
	djsign_result_release(&res);
	no_expiry_all("{\"a\":{\"_session_expiry\":-5}}", 0, 0, 0);
	/* the key spelled with an escape */
	no_expiry_all("{\"\\u005fsession_expiry\":-5}", 0, 0, 0);
	/* not a dict when loaded: .get() crashes with a good signature */
	no_expiry_all("[1,2]", 0, 0, 0);
	no_expiry_all("\"{\"", 0, 0, 0);
	/*
	 * Not loadable: 4.2/5.2 give {} either way; 3.2 would call
	 * _legacy_decode() unprotected, so only a surely loadable payload
	 * is decided there.
	 */
	no_expiry_all("{\"a\":", 0, 1, 1);
	no_expiry_all("{\"a\":1} x", 0, 1, 1);
	no_expiry_all("{\"a\":1,}", 0, 1, 1);
	no_expiry_all("{\"a\":\"\x01\"}", 0, 1, 1);
	no_expiry_all("{\"a\":01}", 0, 1, 1);
	/* Python loads these, the strict reader does not claim them */
	no_expiry_all("{\"a\":NaN}", 0, 1, 1);
	no_expiry_all("{\"a\":-Infinity}", 0, 1, 1);
	/* an int literal Python refuses (over 4300 digits): ValueError */
	sbuf_adds(&big, "{\"a\":1");
	for (i = 0; i < 4400; i++)
		sbuf_addch(&big, '0');
	sbuf_adds(&big, "}");
	no_expiry_all(big.buf, 0, 1, 1);
	sign_json(big.buf, &p);
	decode(DJANGO_5_2, DJSIGN_JSON, p.buf, p.len, &res);
	assert_int_equal(res.how, DJSIGN_UNDECODABLE);
	djsign_result_release(&res);
	/* ... a float of as many digits loads */
	sbuf_reset(&big);
	sbuf_adds(&big, "{\"_session_expiry\":1.");
	for (i = 0; i < 4400; i++)
		sbuf_addch(&big, '0');
	sbuf_adds(&big, "}");
	sign_json(big.buf, &p);
	decode(DJANGO_5_2, DJSIGN_JSON, p.buf, p.len, &res);
	assert_int_equal(res.how, DJSIGN_SIGNED);
	djsign_result_release(&res);
	/* deep nesting is left to the full decoder on 3.2 */
	sbuf_reset(&big);
	sbuf_adds(&big, "{\"a\":");
	for (i = 0; i < 100; i++)
		sbuf_addch(&big, '[');
	for (i = 0; i < 100; i++)
		sbuf_addch(&big, ']');
	sbuf_adds(&big, "}");
	no_expiry_all(big.buf, 0, 1, 1);
	/* signed with another key: a forged expiry is not a reason to look */
	other = djsign_new(DJSIGN_SESSION_STORE, wrong, 1);
	sbuf_reset(&p);
	djsign_dumps(other, "{\"a\":1}", 7, NOW, &p);
	assert_int_equal(no_expiry(DJANGO_5_2, p.buf, p.len), 1);
	assert_int_equal(no_expiry(DJANGO_3_2, p.buf, p.len), 1);
	sbuf_reset(&p);
	djsign_dumps(other, "{\"_session_expiry\":1}", 21, NOW, &p);
	assert_int_equal(no_expiry(DJANGO_5_2, p.buf, p.len), 0);
	djsign_free(other);
	/* framing the decoder would reject is left to it */
	assert_int_equal(no_expiry(DJANGO_5_2, "eyJhIjoxfQ", 10), 0);
	assert_int_equal(no_expiry(DJANGO_5_2, "eyJhIjoxfQ:!!:x", 15), 0);
	assert_int_equal(no_expiry(DJANGO_5_2, ".eyJhIjoxfQ:1abc:x", 18), 0);
	sbuf_release(&p);
	sbuf_release(&big);
}

/* Every golden file: whenever the shortcut decides, it agrees. */
static void
test_djsign_no_expiry_vectors_agree(void **state)
{
	struct sbuf path = SBUF_INIT, data = SBUF_INIT;
	struct err e = ERR_INIT;
	struct dirent *c, *f;
	DIR *top, *sub;
	size_t files = 0, decided = 0;
	int v;

	(void)state;
	sbuf_addf(&path, "%s/vectors/sessions/file", shared_dir());
	top = opendir(path.buf);
	assert_non_null(top);
	while ((c = readdir(top))) {
		size_t base;

		if (c->d_name[0] == '.')
			continue;
		base = path.len;
		sbuf_addf(&path, "/%s", c->d_name);
		sub = opendir(path.buf);
		while (sub && (f = readdir(sub))) {
			size_t b2 = path.len;

			if (strncmp(f->d_name, "sessionid", 9))
				continue;
			sbuf_addf(&path, "/%s", f->d_name);
			sbuf_reset(&data);
			if (fs_read_file(path.buf, 1 << 20, &data, &e) == 0) {
				files++;
				for (v = DJANGO_3_2; v <= DJANGO_5_2; v++)
					decided += (size_t)no_expiry(
					    v, data.buf, data.len);
			}
			err_clear(&e);
			sbuf_setlen(&path, b2);
		}
		if (sub)
			closedir(sub);
		sbuf_setlen(&path, base);
	}
	closedir(top);
	/* the vectors hold plain sessions: some must be decided */
	assert_true(files > 10);
	assert_true(decided > 0);
	sbuf_release(&path);
	sbuf_release(&data);
}

static void
test_djsign_32_legacy_fallback_may_crash(void **state)
{
	struct sbuf p = SBUF_INIT;
	struct djsign_result res;

	(void)state;
	/*
	 * Validly signed but not JSON: 3.2 calls _legacy_decode() outside a
	 * try. Its lenient b64decode of "eyJh:<ts>:<sig>" decides: the
	 * signature part makes the count of alphabet characters vary.
	 */
	sign_json("{\"a\":", &p);
	decode(DJANGO_4_2, DJSIGN_JSON, p.buf, p.len, &res);
	assert_int_equal(res.how, DJSIGN_UNDECODABLE);
	djsign_result_release(&res);
	decode(DJANGO_3_2, DJSIGN_JSON, p.buf, p.len, &res);
	{
		struct sbuf raw = SBUF_INIT;
		int raises = djsign_b64_decode(p.buf, p.len, 0, &raw);

		assert_int_equal(res.how,
		                 raises ? DJSIGN_CRASH : DJSIGN_UNDECODABLE);
		sbuf_release(&raw);
	}
	djsign_result_release(&res);
	sbuf_release(&p);
}

static void
test_djsign_b64_python_semantics(void **state)
{
	/* base64.b64decode / urlsafe_b64decode of CPython 3.11 */
	static const struct {
		const char *in, *std, *url; /* hex, or NULL = raises */
	} t[] = {
	    {"YWJj", "616263", "616263"},
	    {"YWI", NULL, NULL},
	    {"Y", NULL, NULL},
	    {"YW=J", NULL, NULL},
	    {"Y=WJj", "616263", "616263"},
	    {"YWJj=YWJj", "616263616263", "616263616263"},
	    {"YW==YWJj", "61", "61"},
	    {"Y!W@J#j", "616263", "616263"},
	    {"YWJ=", "6162", "6162"},
	    {"YWJjZA=", NULL, NULL},
	    {"", "", ""},
	    {"====", "", ""},
	    {"YQ==garbage", "61", "61"},
	    {"-_-_", "", "fbffbf"},
	    {"+/+/", "fbffbf", "fbffbf"},
	};
	struct sbuf out = SBUF_INIT, hex = SBUF_INIT;
	size_t i, k;
	int urlsafe;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (urlsafe = 0; urlsafe < 2; urlsafe++) {
			const char *want = urlsafe ? t[i].url : t[i].std;
			int r;

			sbuf_reset(&out);
			sbuf_reset(&hex);
			r = djsign_b64_decode(t[i].in, strlen(t[i].in), urlsafe,
			                      &out);
			if (!want) {
				assert_int_equal(r, -1);
				continue;
			}
			assert_int_equal(r, 0);
			for (k = 0; k < out.len; k++)
				sbuf_addf(&hex, "%02x",
				          (unsigned char)out.buf[k]);
			assert_string_equal(hex.buf, want);
		}
	}
	sbuf_release(&out);
	sbuf_release(&hex);
}

static void
test_djsign_b62(void **state)
{
	struct sbuf s = SBUF_INIT;
	int64_t v;

	(void)state;
	assert_int_equal(djsign_b62_decode("1xVwXd", 6, &v), 0);
	assert_int_equal(v, NOW);
	djsign_b62_encode(NOW, &s);
	assert_string_equal(s.buf, "1xVwXd");
	assert_int_equal(djsign_b62_decode("0", 1, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(djsign_b62_decode("-", 1, &v), 0); /* -0 */
	assert_int_equal(v, 0);
	assert_int_equal(djsign_b62_decode("-z", 2, &v), 0);
	assert_int_equal(v, -61);
	assert_int_equal(djsign_b62_decode("", 0, &v), -1);
	assert_int_equal(djsign_b62_decode("1-2", 3, &v), -1);
	assert_int_equal(djsign_b62_decode("!!", 2, &v), -1);
	sbuf_release(&s);
}

static void
test_djsign_inflate(void **state)
{
	struct sbuf data = SBUF_INIT, raw = SBUF_INIT, out = SBUF_INIT;
	const char *colon;

	(void)state;
	/* the compressed payload of vector fresh, then damaged */
	vector_file("fresh", &data);
	colon = strchr(data.buf, ':');
	sbuf_add(&out, data.buf + 1, (size_t)(colon - data.buf - 1));
	while (out.len % 4)
		sbuf_addch(&out, '='); /* b64_decode() pads */
	assert_int_equal(djsign_b64_decode(out.buf, out.len, 1, &raw), 0);
	sbuf_reset(&out);
	assert_int_equal(djsign_inflate(raw.buf, raw.len, 1 << 20, &out), 0);
	assert_int_equal(out.buf[0], '{');
	sbuf_reset(&out);
	sbuf_add(&raw, "trailing", 8); /* ignored, like zlib.decompress */
	assert_int_equal(djsign_inflate(raw.buf, raw.len, 1 << 20, &out), 0);
	sbuf_reset(&out);
	assert_int_equal(djsign_inflate(raw.buf, raw.len, 10, &out), -2);
	assert_int_equal(out.len, 0);
	assert_int_equal(
	    djsign_inflate(raw.buf, raw.len - 8 - 4, 1 << 20, &out), -1);
	assert_int_equal(djsign_inflate("", 0, 1 << 20, &out), -1);
	sbuf_release(&data);
	sbuf_release(&raw);
	sbuf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_djsign_dumps_matches_django),
	    cmocka_unit_test(test_djsign_decode_signed_vectors),
	    cmocka_unit_test(test_djsign_decode_unverified_vectors),
	    cmocka_unit_test(test_djsign_legacy_only_on_32),
	    cmocka_unit_test(test_djsign_pickle_payloads),
	    cmocka_unit_test(test_djsign_fallback_keys_from_42),
	    cmocka_unit_test(test_djsign_sha1_transition_only_32),
	    cmocka_unit_test(test_djsign_python_json_extensions),
	    cmocka_unit_test(test_djsign_32_legacy_fallback_may_crash),
	    cmocka_unit_test(test_djsign_b64_python_semantics),
	    cmocka_unit_test(test_djsign_b62),
	    cmocka_unit_test(test_djsign_inflate),
	    cmocka_unit_test(test_djsign_no_expiry_shortcut),
	    cmocka_unit_test(test_djsign_no_expiry_vectors_agree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
