/*
 * Django session payloads: signature check (HMAC-SHA256, 3.2's SHA1
 * transition, SECRET_KEY_FALLBACKS), base62/base64/zlib/JSON decoding with
 * Python's exact acceptance rules, the pre-3.1 legacy format, and each
 * version's decode() fallbacks, and the key-free shortcut for payloads
 * without an expiry. Secrets only live in the derived keys. libcrypto is
 * bound at run time through function pointers (djsign_load()).
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "djsign.h"
#include "lazycrypto.h"
#include "xalloc.h"
#include "banned.h"

#define SHA256_LEN 32
#define SHA1_LEN 20
/* Python raises RecursionError near 1000 nested containers. */
#define JSON_DEPTH_SURE_OK 850
#define JSON_DEPTH_SURE_FAIL 1000

struct djsign {
	size_t n;
	unsigned char (*k256)[SHA256_LEN]; /* SHA256(salt "signer" secret) */
	unsigned char k1[SHA1_LEN];        /* SHA1(salt "signer" SECRET_KEY) */
	unsigned char klegacy[SHA1_LEN];   /* SHA1(legacy salt SECRET_KEY) */
};

int
djsign_load(struct err *e)
{
	return lazycrypto_bind(e);
}

/* OPENSSL_cleanse(): a store the compiler may not drop */
static void
wipe(void *ptr, size_t len)
{
	volatile unsigned char *p = ptr;

	while (len--)
		*p++ = 0;
}

/* CRYPTO_memcmp(): constant time, 0 when equal */
static int
ct_differ(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < len; i++)
		d |= x[i] ^ y[i];
	return d != 0;
}

static const char b62_alphabet[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static void
derive(const EVP_MD *md, const char *a, const char *b, const char *secret,
       unsigned char *out)
{
	struct sbuf sb = SBUF_INIT;
	unsigned int len;

	sbuf_adds(&sb, a);
	sbuf_adds(&sb, b);
	sbuf_adds(&sb, secret);
	lazycrypto.digest(sb.buf, sb.len, out, &len, md, NULL);
	wipe(sb.buf, sb.len);
	sbuf_release(&sb);
}

struct djsign *
djsign_new(const char *store_class, const char *const *secrets, size_t n)
{
	struct djsign *ds;
	struct sbuf salt = SBUF_INIT, legacy = SBUF_INIT;
	struct err e = ERR_INIT;
	size_t i;

	if (n == 0 || djsign_load(&e) < 0) {
		err_clear(&e);
		return NULL;
	}
	ds = xcalloc(1, sizeof(*ds));
	ds->n = n;
	ds->k256 = xcalloc(n, sizeof(*ds->k256));
	/* key_salt = 'django.contrib.sessions.' + __qualname__ */
	sbuf_addf(&salt, "django.contrib.sessions.%s", store_class);
	/* _hash(): "django.contrib.sessions" + __name__ (no dot) */
	sbuf_addf(&legacy, "django.contrib.sessions%s", store_class);
	for (i = 0; i < n; i++)
		derive(lazycrypto.sha256(), salt.buf, "signer", secrets[i],
		       ds->k256[i]);
	derive(lazycrypto.sha1(), salt.buf, "signer", secrets[0], ds->k1);
	derive(lazycrypto.sha1(), legacy.buf, "", secrets[0], ds->klegacy);
	sbuf_release(&salt);
	sbuf_release(&legacy);
	return ds;
}

void
djsign_free(struct djsign *ds)
{
	if (!ds)
		return;
	wipe(ds->k256, ds->n * sizeof(*ds->k256));
	wipe(ds->k1, sizeof(ds->k1));
	wipe(ds->klegacy, sizeof(ds->klegacy));
	free(ds->k256);
	free(ds);
}

const char *
djsign_how_str(enum djsign_how how)
{
	switch (how) {
	case DJSIGN_SIGNED:
		return "signed";
	case DJSIGN_LEGACY:
		return "legacy";
	case DJSIGN_BAD_SIGNATURE:
		return "bad signature";
	case DJSIGN_UNDECODABLE:
		return "undecodable";
	case DJSIGN_CRASH:
		return "crash";
	case DJSIGN_UNSURE:
		return "unsure";
	}
	return "?";
}

void
djsign_result_release(struct djsign_result *res)
{
	if (!res)
		return;
	json_decref(res->value);
	res->value = NULL;
}

/* ---- base62, base64, zlib ---- */

int
djsign_b62_decode(const char *s, size_t len, int64_t *out)
{
	uint64_t v = 0;
	int neg = 0;
	size_t i = 0;

	if (len == 1 && s[0] == '0') {
		*out = 0;
		return 0;
	}
	if (len == 0)
		return -1; /* s[0]: IndexError */
	if (s[0] == '-') {
		neg = 1;
		i = 1;
	}
	for (; i < len; i++) {
		const char *p = s[i] ? memchr(b62_alphabet, s[i], 62) : NULL;

		if (!p)
			return -1; /* str.index: ValueError */
		/* Python has big integers; saturate, the value is informative
		 */
		if (v > (UINT64_MAX - 61) / 62)
			v = INT64_MAX;
		else
			v = v * 62 + (uint64_t)(p - b62_alphabet);
	}
	if (v > INT64_MAX)
		v = INT64_MAX;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

void
djsign_b62_encode(int64_t v, struct sbuf *out)
{
	char tmp[16];
	size_t i = sizeof(tmp);
	uint64_t u;

	if (v == 0) {
		sbuf_addch(out, '0');
		return;
	}
	if (v < 0) {
		sbuf_addch(out, '-');
		u = (uint64_t)0 - (uint64_t)v;
	} else {
		u = (uint64_t)v;
	}
	while (u > 0) {
		tmp[--i] = b62_alphabet[u % 62];
		u /= 62;
	}
	sbuf_add(out, tmp + i, sizeof(tmp) - i);
}

struct b64state {
	int quad_pos;
	unsigned char leftchar;
	int pads;
	int done;
};

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return 64;
}

/* b64_value() of every byte, after the urlsafe mapping ([1]: '-', '_') */
/* clang-format off */
static const unsigned char b64_tab[2][256] = {
	{
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 62, 64, 64, 64, 63,
	    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 64, 64, 64, 64, 64, 64,
	    64,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
	    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 64, 64, 64, 64, 64,
	    64, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 64, 64, 64, 64, 64,
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	},
	{
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 62, 64, 62, 64, 63,
	    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 64, 64, 64, 64, 64, 64,
	    64,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
	    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 64, 64, 64, 64, 63,
	    64, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 64, 64, 64, 64, 64,
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	},
};
/* clang-format on */

static int
b64_fast(char ch, int urlsafe)
{
	return b64_tab[urlsafe ? 1 : 0][(unsigned char)ch];
}

/* binascii.a2b_base64(strict_mode=False) of CPython 3.11, fed in pieces. */
static void
b64_feed(struct b64state *st, const char *s, size_t len, int urlsafe,
         struct sbuf *out)
{
	unsigned char *o;
	size_t i;

	sbuf_grow(out, len / 4 * 3 + 3);
	o = (unsigned char *)out->buf + out->len;
	for (i = 0; i < len && !st->done; i++) {
		unsigned char c = (unsigned char)s[i];
		int v;

		/* fast path: four alphabet characters at a quad boundary */
		if (st->quad_pos == 0 && st->pads == 0 && len - i >= 4) {
			int a = b64_fast(s[i], urlsafe),
			    b = b64_fast(s[i + 1], urlsafe),
			    cc = b64_fast(s[i + 2], urlsafe),
			    d = b64_fast(s[i + 3], urlsafe);

			if ((a | b | cc | d) < 64) {
				*o++ = (unsigned char)((a << 2) | (b >> 4));
				*o++ = (unsigned char)(((b & 0x0f) << 4) |
				                       (cc >> 2));
				*o++ = (unsigned char)(((cc & 0x03) << 6) | d);
				i += 3;
				continue;
			}
		}

		if (urlsafe && c == '-')
			c = '+';
		else if (urlsafe && c == '_')
			c = '/';
		if (c == '=') {
			if (st->quad_pos >= 2 && st->quad_pos + ++st->pads >= 4)
				st->done = 1;
			continue;
		}
		v = b64_value(c);
		if (v >= 64)
			continue;
		st->pads = 0;
		switch (st->quad_pos) {
		case 0:
			st->quad_pos = 1;
			st->leftchar = (unsigned char)v;
			break;
		case 1:
			st->quad_pos = 2;
			*o++ = (unsigned char)((st->leftchar << 2) | (v >> 4));
			st->leftchar = v & 0x0f;
			break;
		case 2:
			st->quad_pos = 3;
			*o++ = (unsigned char)((st->leftchar << 4) | (v >> 2));
			st->leftchar = v & 0x03;
			break;
		default:
			st->quad_pos = 0;
			*o++ = (unsigned char)((st->leftchar << 6) | v);
			st->leftchar = 0;
			break;
		}
	}
	sbuf_setlen(out, (size_t)((char *)o - out->buf));
}

static int
b64_finish(const struct b64state *st)
{
	return st->done || st->quad_pos == 0 ? 0 : -1;
}

int
djsign_b64_decode(const char *s, size_t len, int urlsafe, struct sbuf *out)
{
	struct b64state st = {0, 0, 0, 0};

	b64_feed(&st, s, len, urlsafe, out);
	return b64_finish(&st);
}

void
djsign_b64url_encode(const void *data, size_t len, struct sbuf *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
	    "vwxyz0123456789-_";
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		sbuf_addch(out, tab[p[i] >> 2]);
		sbuf_addch(out, tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)]);
		sbuf_addch(out, tab[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)]);
		sbuf_addch(out, tab[p[i + 2] & 63]);
	}
	if (len - i == 1) {
		sbuf_addch(out, tab[p[i] >> 2]);
		sbuf_addch(out, tab[(p[i] & 3) << 4]);
	} else if (len - i == 2) {
		sbuf_addch(out, tab[p[i] >> 2]);
		sbuf_addch(out, tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)]);
		sbuf_addch(out, tab[(p[i + 1] & 15) << 2]);
	}
}

/* Inflate through zs (initialised or reset by the caller). */
static int
inflate_with(z_stream *zs, const void *data, size_t len, size_t max,
             struct sbuf *out)
{
	size_t start = out->len;
	int zr, ret = -1;

	zs->next_in = (Bytef *)(uintptr_t)data;
	zs->avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
	for (;;) {
		sbuf_grow(out, 16384);
		zs->next_out = (Bytef *)out->buf + out->len;
		zs->avail_out = (uInt)(out->alloc - out->len - 1);
		zr = inflate(zs, Z_NO_FLUSH);
		sbuf_setlen(out, (size_t)((char *)zs->next_out - out->buf));
		if (out->len - start > max) {
			ret = -2;
			break;
		}
		if (zr == Z_STREAM_END) {
			ret = 0;
			break;
		}
		/* Z_BUF_ERROR with input left means "need more output room" */
		if (zr == Z_OK || (zr == Z_BUF_ERROR && zs->avail_in > 0 &&
		                   zs->avail_out == 0))
			continue;
		break; /* truncated stream, bad data, dictionary needed */
	}
	if (ret)
		sbuf_setlen(out, start);
	return ret;
}

int
djsign_inflate(const void *data, size_t len, size_t max, struct sbuf *out)
{
	z_stream zs;
	int ret;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit(&zs) != Z_OK)
		return -1;
	ret = inflate_with(&zs, data, len, max, out);
	inflateEnd(&zs);
	return ret;
}

/* ---- serializers ---- */

enum load_status {
	LOAD_OK,    /* value loaded (or an opaque pickled dict) */
	LOAD_FAIL,  /* Python's loads() raises too */
	LOAD_MAYBE, /* Python may load what we cannot */
};

struct loaded {
	enum load_status status;
	json_t *value;
	int opaque;
	int mentions_expiry;
	int object_if_loaded; /* MAYBE: Python would get a dict if at all */
};

static int
has_expiry_text(const char *s, size_t len, int json_escapes)
{
	if (memmem(s, len, "_session_expiry", 15))
		return 1;
	/* "\u005f..." spells the same key in JSON */
	return json_escapes && memmem(s, len, "\\u", 2);
}

/* Deepest container nesting outside strings. */
static size_t
json_depth(const char *s, size_t len)
{
	size_t i, depth = 0, max = 0;
	int in_str = 0;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				max = depth;
		} else if ((c == ']' || c == '}') && depth) {
			depth--;
		}
	}
	return max;
}

/*
 * Python (3.11+) refuses to convert an int literal of more than 4300
 * digits (sys.int_info.default_max_str_digits): json.loads() raises
 * ValueError. Floats (a '.' or an exponent follows) have no such limit.
 */
#define PY_INT_MAX_DIGITS 4300

static int
json_int_too_long(const char *s, size_t len)
{
	size_t i, run = 0;
	int in_str = 0, not_int = 0;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c >= '0' && c <= '9') {
			/* digits after '.', 'e', 'E', 'e-': no int part */
			if (!run)
				not_int =
				    i && (strchr(".eE", s[i - 1]) ||
				          (strchr("+-", s[i - 1]) && i > 1 &&
				           strchr("eE", s[i - 2])));
			run++;
			continue;
		}
		if (run > PY_INT_MAX_DIGITS && !not_int && !strchr(".eE", c))
			return 1;
		run = 0;
		if (c == '"')
			in_str = 1;
	}
	return run > PY_INT_MAX_DIGITS && !not_int;
}

static int
hex4(const char *s, size_t len, size_t i, unsigned *v)
{
	size_t k;

	*v = 0;
	if (i + 4 > len)
		return -1;
	for (k = i; k < i + 4; k++) {
		char c = s[k];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/*
 * Python's json accepts NaN, Infinity, -Infinity, numbers beyond double
 * range and lone surrogate escapes; jansson does not. Rewrite them into
 * stand-ins with the same meaning for an expiry decision (truthy, same
 * sign; U+FFFD for surrogates, flagged). Anything else is copied, so a
 * text jansson still rejects afterwards is rejected by Python too.
 */
#define PY_HUGE "1.7976931348623157e308"

static size_t
digits(const char *s, size_t i, size_t len)
{
	size_t j = i;

	while (j < len && s[j] >= '0' && s[j] <= '9')
		j++;
	return j - i;
}

/*
 * Is s a whole number token of Python's json grammar,
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][-+]?[0-9]+)?, whose value is beyond
 * double range (Python: float('inf'), or a big int)?
 */
static int
json_number_overflows(const char *s, size_t len)
{
	size_t i = 0, n;
	char *tok;
	double d;

	if (i < len && s[i] == '-')
		i++;
	n = digits(s, i, len);
	if (n == 0 || (n > 1 && s[i] == '0'))
		return 0;
	i += n;
	if (i < len && s[i] == '.') {
		n = digits(s, i + 1, len);
		if (n == 0)
			return 0;
		i += n + 1;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		n = digits(s, i, len);
		if (n == 0)
			return 0;
		i += n;
	}
	if (i != len)
		return 0;
	tok = xstrndup(s, len);
	d = strtod(tok, NULL);
	free(tok);
	return d == HUGE_VAL || d == -HUGE_VAL;
}

static void
py_json_rewrite(const char *s, size_t len, struct sbuf *out, int *surrogate)
{
	size_t i = 0;
	unsigned v, w;

	*surrogate = 0;
	while (i < len) {
		char c = s[i];

		if (c == '"') {
			sbuf_addch(out, c);
			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] != '\\' || i + 1 >= len) {
					sbuf_addch(out, s[i]);
					continue;
				}
				if (s[i + 1] != 'u' ||
				    hex4(s, len, i + 2, &v)) {
					sbuf_add(out, s + i, 2);
					i++;
					continue;
				}
				if (v >= 0xd800 && v <= 0xdbff && i + 7 < len &&
				    s[i + 6] == '\\' && s[i + 7] == 'u' &&
				    !hex4(s, len, i + 8, &w) && w >= 0xdc00 &&
				    w <= 0xdfff) {
					sbuf_add(out, s + i, 12);
					i += 11;
				} else if (v >= 0xd800 && v <= 0xdfff) {
					sbuf_adds(out, "\\ufffd");
					*surrogate = 1;
					i += 5;
				} else {
					sbuf_add(out, s + i, 6);
					i += 5;
				}
			}
			if (i < len)
				sbuf_addch(out, s[i++]);
			continue;
		}
		if (len - i >= 3 && !memcmp(s + i, "NaN", 3)) {
			sbuf_adds(out, PY_HUGE);
			i += 3;
		} else if (len - i >= 8 && !memcmp(s + i, "Infinity", 8)) {
			sbuf_adds(out, PY_HUGE);
			i += 8;
		} else if (len - i >= 9 && !memcmp(s + i, "-Infinity", 9)) {
			sbuf_adds(out, "-" PY_HUGE);
			i += 9;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			size_t j = i + 1;

			while (j < len && s[j] &&
			       strchr("0123456789.eE+-", s[j]))
				j++;
			if (json_number_overflows(s + i, j - i))
				sbuf_adds(out,
				          c == '-' ? "-" PY_HUGE : PY_HUGE);
			else
				sbuf_add(out, s + i, j - i);
			i = j;
		} else {
			sbuf_addch(out, c);
			i++;
		}
	}
}

/* JSONSerializer.loads: json.loads(data.decode('latin-1')) */
static void
load_json(const unsigned char *data, size_t len, struct loaded *l)
{
	struct sbuf u8 = SBUF_INIT, rw = SBUF_INIT;
	json_error_t jerr;
	size_t i, depth;
	int surrogate = 0;
	const json_t *e;

	memset(l, 0, sizeof(*l));
	{
		unsigned char *o;

		sbuf_grow(&u8, 2 * len + 1);
		o = (unsigned char *)u8.buf;
		for (i = 0; i < len; i++) {
			if (data[i] < 0x80) {
				*o++ = data[i];
			} else {
				*o++ = (unsigned char)(0xc0 | (data[i] >> 6));
				*o++ = (unsigned char)(0x80 | (data[i] & 0x3f));
			}
		}
		sbuf_setlen(&u8, (size_t)((char *)o - u8.buf));
	}
	depth = json_depth(u8.buf, u8.len);
	if (depth > JSON_DEPTH_SURE_FAIL || json_int_too_long(u8.buf, u8.len)) {
		l->status = LOAD_FAIL;
		goto out;
	}
	l->value =
	    json_loadb(u8.buf, u8.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (!l->value) {
		py_json_rewrite(u8.buf, u8.len, &rw, &surrogate);
		l->value = json_loadb(rw.buf, rw.len,
		                      JSON_DECODE_ANY | JSON_ALLOW_NUL |
		                          JSON_DECODE_INT_AS_REAL,
		                      &jerr);
	}
	if (!l->value && !strstr(jerr.text, "NUL")) {
		l->status = LOAD_FAIL; /* Python rejects it as well */
		goto out;
	}
	e = json_object_get(l->value, "_session_expiry");
	if (l->value && depth <= JSON_DEPTH_SURE_OK &&
	    !(surrogate && json_is_string(e) &&
	      strstr(json_string_value(e), "\xef\xbf\xbd"))) {
		l->status = LOAD_OK;
		goto out;
	}
	/* near Python's recursion limit, NUL in keys, surrogate expiry */
	json_decref(l->value);
	l->value = NULL;
	l->status = LOAD_MAYBE;
	l->mentions_expiry = has_expiry_text(u8.buf, u8.len, 1);
	for (i = 0; i < u8.len && strchr(" \t\n\r", u8.buf[i]) && u8.buf[i];
	     i++)
		;
	l->object_if_loaded = i < u8.len && u8.buf[i] == '{';
out:
	sbuf_release(&u8);
	sbuf_release(&rw);
}

/* PickleSerializer.loads: pickle.loads(data), recognised, not executed. */
static void
load_pickle(const unsigned char *data, size_t len, struct loaded *l)
{
	static const char opcodes[] = "().012BCFGIJKLMNPQRSTUVX]abcdeghijlopqr"
	                              "stu}";
	size_t p = 2;

	memset(l, 0, sizeof(*l));
	l->mentions_expiry = has_expiry_text((const char *)data, len, 0);
	if (len == 0 || (data[0] < 0x80 && !strchr(opcodes, data[0])) ||
	    data[0] > 0x98 || data[0] == 0) {
		l->status = LOAD_FAIL; /* EOFError / invalid load key */
		return;
	}
	/* PROTO n [FRAME len8] EMPTY_DICT ... STOP: a dict, as Django writes */
	if (len > 3 && data[0] == 0x80 && data[len - 1] == '.') {
		if (data[p] == 0x95)
			p += 9;
		if (p < len && data[p] == '}') {
			l->status = LOAD_OK;
			l->opaque = 1;
			return;
		}
	}
	l->status = LOAD_MAYBE;
	l->object_if_loaded = 0;
}

static void
load(enum djsign_serializer ser, const unsigned char *data, size_t len,
     struct loaded *l)
{
	if (ser == DJSIGN_PICKLE)
		load_pickle(data, len, l);
	else
		load_json(data, len, l);
}

/* ---- signed payloads ---- */

enum unsign_status {
	U_OK,          /* loaded: see struct loaded */
	U_BAD,         /* BadSignature */
	U_UNDECODABLE, /* verified; timestamp/base64/zlib/loads raised */
	U_TOO_LARGE,   /* verified; decompressed payload over the cap */
};

static void
hmac_b64(const EVP_MD *md, const unsigned char *key, size_t klen,
         const char *msg, size_t len, struct sbuf *out)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0;

	lazycrypto.hmac(md, key, (int)klen, (const unsigned char *)msg, len,
	                mac, &mlen);
	djsign_b64url_encode(mac, mlen, out);
}

static int
sig_equal(const char *sig, size_t slen, const struct sbuf *expected)
{
	return slen == expected->len && !ct_differ(sig, expected->buf, slen);
}

static const char *
memrchr_c(const char *s, int c, size_t len)
{
	while (len--)
		if (s[len] == c)
			return s + len;
	return NULL;
}

/* Signer.unsign(): which key (if any) verifies the value */
static int
verify(const struct djsign *ds, enum django_version v, const char *value,
       size_t vlen, const char *sig, size_t slen, struct djsign_result *res)
{
	struct sbuf exp = SBUF_INIT;
	size_t nkeys = v == DJANGO_3_2 ? 1 : ds->n;
	size_t i;
	int ok = 0;

	for (i = 0; i < nkeys && !ok; i++) {
		sbuf_reset(&exp);
		hmac_b64(lazycrypto.sha256(), ds->k256[i], SHA256_LEN, value,
		         vlen, &exp);
		if (sig_equal(sig, slen, &exp)) {
			ok = 1;
			res->key_index = (int)i;
		}
	}
	if (!ok && v == DJANGO_3_2) {
		/* Signer.legacy_algorithm = 'sha1' (3.1/3.2 transition) */
		sbuf_reset(&exp);
		hmac_b64(lazycrypto.sha1(), ds->k1, SHA1_LEN, value, vlen,
		         &exp);
		if (sig_equal(sig, slen, &exp)) {
			ok = 1;
			res->key_index = 0;
			res->sha1 = 1;
		}
	}
	sbuf_release(&exp);
	return ok;
}

static enum unsign_status
unsign(const struct djsign *ds, enum django_version v,
       enum djsign_serializer ser, const char *data, size_t len,
       struct djsign_result *res, struct loaded *l)
{
	struct sbuf raw = SBUF_INIT, z = SBUF_INIT;
	const char *colon, *b64;
	size_t vlen, blen;
	struct b64state st = {0, 0, 0, 0};
	enum unsign_status ret = U_UNDECODABLE;
	int zr;

	memset(l, 0, sizeof(*l));
	colon = memrchr_c(data, ':', len);
	if (!colon) {
		res->detail = "no ':' separator";
		return U_BAD;
	}
	vlen = (size_t)(colon - data);
	if (!verify(ds, v, data, vlen, colon + 1, len - vlen - 1, res)) {
		res->detail = "signature does not match";
		return U_BAD;
	}
	/* TimestampSigner.unsign: value, timestamp = rsplit(':', 1) */
	colon = memrchr_c(data, ':', vlen);
	if (!colon) {
		res->detail = "signed value has no timestamp";
		return U_UNDECODABLE;
	}
	if (djsign_b62_decode(colon + 1, vlen - (size_t)(colon - data) - 1,
	                      &res->timestamp)) {
		res->detail = "invalid base62 timestamp";
		return U_UNDECODABLE;
	}
	b64 = data;
	blen = (size_t)(colon - data);
	if (blen && b64[0] == '.') {
		res->compressed = 1;
		b64++;
		blen--;
	}
	/* b64_decode(): pad with '=' to a multiple of 4, urlsafe_b64decode */
	b64_feed(&st, b64, blen, 1, &raw);
	b64_feed(&st, "===", (4 - blen % 4) % 4, 1, &raw);
	if (b64_finish(&st)) {
		res->detail = "invalid base64";
		goto out;
	}
	if (res->compressed) {
		zr = djsign_inflate(raw.buf, raw.len, DJSIGN_MAX_PAYLOAD, &z);
		if (zr == -2) {
			res->detail = "decompressed payload too large";
			ret = U_TOO_LARGE;
			goto out;
		}
		if (zr) {
			res->detail = "invalid zlib data";
			goto out;
		}
		load(ser, (unsigned char *)z.buf, z.len, l);
	} else {
		load(ser, (unsigned char *)raw.buf, raw.len, l);
	}
	if (l->status == LOAD_FAIL) {
		res->detail = ser == DJSIGN_JSON ? "payload is not JSON"
		                                 : "payload is not a pickle";
		goto out;
	}
	ret = U_OK;
out:
	sbuf_release(&raw);
	sbuf_release(&z);
	return ret;
}

/* ---- pre-3.1 legacy format (Django 3.2 only) ---- */

enum legacy_status {
	L_OK,      /* verified, loaded: see struct loaded */
	L_INVALID, /* _legacy_decode returns {} */
	L_RAISES,  /* base64.b64decode (outside its try) raises */
};

static enum legacy_status
legacy_decode(const struct djsign *ds, enum djsign_serializer ser,
              const char *data, size_t len, struct loaded *l)
{
	struct sbuf raw = SBUF_INIT, hex = SBUF_INIT;
	unsigned char mac[SHA1_LEN];
	unsigned int mlen = 0;
	enum legacy_status ret = L_INVALID;
	const char *colon;
	size_t i, hlen;

	memset(l, 0, sizeof(*l));
	/* session_data.encode('ascii') raises on non-ASCII, like b64decode */
	for (i = 0; i < len; i++)
		if ((unsigned char)data[i] >= 0x80)
			return L_RAISES;
	if (djsign_b64_decode(data, len, 0, &raw)) {
		ret = L_RAISES;
		goto out;
	}
	colon = memchr(raw.buf, ':', raw.len);
	if (!colon)
		goto out;
	hlen = (size_t)(colon - raw.buf);
	lazycrypto.hmac(lazycrypto.sha1(), ds->klegacy, SHA1_LEN,
	        (const unsigned char *)colon + 1, raw.len - hlen - 1, mac,
	        &mlen);
	for (i = 0; i < mlen; i++)
		sbuf_addf(&hex, "%02x", mac[i]);
	if (hlen != hex.len || ct_differ(raw.buf, hex.buf, hlen))
		goto out;
	load(ser, (const unsigned char *)colon + 1, raw.len - hlen - 1, l);
	if (l->status != LOAD_FAIL)
		ret = L_OK;
out:
	sbuf_release(&raw);
	sbuf_release(&hex);
	return ret;
}

/* ---- deciding without the key ---- */

/*
 * Why a payload can be decided without HMAC and JSON parsing
 * (djsign_no_expiry), with JSONSerializer:
 *
 * The verdict differs from "mtime + cookie age" only when decode() returns
 * a dict whose "_session_expiry" is truthy, or a value that is not a dict
 * (.get() raises), or when decode() itself raises (3.2). A bad signature
 * gives {} on every version except through 3.2's _legacy_decode(), which
 * only verifies a base64 text decoding to 40 lowercase hex digits and ':'.
 * A good signature gives json.loads(payload) when the payload loads.
 *
 * 1. The key "_session_expiry" can only come out of json.loads() if the
 *    payload holds that text or a "\u" escape (no other JSON escape can
 *    spell its characters; latin-1 maps bytes >= 0x80 to non-ASCII
 *    characters). The text test runs on the bytes json.loads() would see:
 *    after base64 and, for '.' payloads, after zlib.
 * 2. A payload whose first non-whitespace character is '{' loads to a
 *    dict or not at all (json rejects trailing data).
 * 3. 4.2 and 5.2 turn every failure of signing.loads() into {}: with 1
 *    and 2, each outcome (bad signature, not loadable, a dict without the
 *    key) leaves the mtime rule, so the signature need not be checked.
 * 4. 3.2 sends a verified payload that does not load to _legacy_decode()
 *    outside any try, where it may raise (CRASH). So 3.2 also needs proof
 *    that json.loads() succeeds (a strict JSON reader that accepts a
 *    subset of Python's json) and that _legacy_decode() cannot verify
 *    (first ':' of the base64-decoded text not after 40 hex digits):
 *    then a bad signature gives {} and a good one a dict without the key.
 * Anything not shown this way goes through djsign_decode(): a 0 answer
 * says nothing about the outcome.
 */

struct djsign_scratch {
	struct sbuf raw; /* base64-decoded value */
	struct sbuf z;   /* inflated payload */
	z_stream zs;
	int zs_ready;
};

struct djsign_scratch *
djsign_scratch_new(void)
{
	struct djsign_scratch *sc = xcalloc(1, sizeof(*sc));

	sbuf_init(&sc->raw, 1024);
	sbuf_init(&sc->z, 4096);
	return sc;
}

void
djsign_scratch_free(struct djsign_scratch *sc)
{
	if (!sc)
		return;
	if (sc->zs_ready)
		inflateEnd(&sc->zs);
	sbuf_release(&sc->raw);
	sbuf_release(&sc->z);
	free(sc);
}

/* Python json's whitespace */
static int
json_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

#define STRICT_MAX_DEPTH 64
#define STRICT_MAX_NUMBER 64

struct strict {
	const unsigned char *s;
	size_t i, len;
};

static void
strict_ws(struct strict *r)
{
	while (r->i < r->len && json_ws(r->s[r->i]))
		r->i++;
}

/* a string at r->i == '"'; no \u (the caller rules it out) */
static int
strict_string(struct strict *r)
{
	for (r->i++; r->i < r->len;) {
		unsigned char c = r->s[r->i++];

		if (c == '"')
			return 0;
		if (c < 0x20)
			return -1; /* strict=True rejects control characters */
		if (c != '\\')
			continue;
		if (r->i >= r->len)
			return -1;
		c = r->s[r->i++];
		if (!c || !strchr("\"\\/bfnrt", c))
			return -1;
	}
	return -1;
}

static size_t
strict_digits(struct strict *r)
{
	size_t n = 0;

	while (r->i < r->len && r->s[r->i] >= '0' && r->s[r->i] <= '9') {
		r->i++;
		n++;
	}
	return n;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][-+]?[0-9]+)? like json's NUMBER_RE */
static int
strict_number(struct strict *r)
{
	size_t start = r->i, n;

	if (r->i < r->len && r->s[r->i] == '-')
		r->i++;
	if (r->i < r->len && r->s[r->i] == '0')
		r->i++;
	else if (!strict_digits(r))
		return -1;
	if (r->i < r->len && r->s[r->i] == '.') {
		r->i++;
		if (!strict_digits(r))
			return -1;
	}
	if (r->i < r->len && (r->s[r->i] == 'e' || r->s[r->i] == 'E')) {
		r->i++;
		if (r->i < r->len && (r->s[r->i] == '+' || r->s[r->i] == '-'))
			r->i++;
		n = strict_digits(r);
		if (!n)
			return -1;
	}
	/* Python refuses int literals over 4300 digits: stay far below */
	return r->i - start <= STRICT_MAX_NUMBER ? 0 : -1;
}

static int
strict_literal(struct strict *r, const char *word)
{
	size_t n = strlen(word);

	if (r->len - r->i < n || memcmp(r->s + r->i, word, n))
		return -1;
	r->i += n;
	return 0;
}

static int strict_value(struct strict *r, int depth);

/* a container at r->i ('{' or '['), with json's scanner rules */
static int
strict_container(struct strict *r, int depth)
{
	int object = r->s[r->i] == '{';
	unsigned char close = object ? '}' : ']';

	if (depth >= STRICT_MAX_DEPTH)
		return -1;
	r->i++;
	strict_ws(r);
	if (r->i < r->len && r->s[r->i] == close) {
		r->i++;
		return 0;
	}
	for (;;) {
		if (object) {
			if (r->i >= r->len || r->s[r->i] != '"' ||
			    strict_string(r))
				return -1;
			strict_ws(r);
			if (r->i >= r->len || r->s[r->i] != ':')
				return -1;
			r->i++;
			strict_ws(r);
		}
		if (strict_value(r, depth + 1))
			return -1;
		strict_ws(r);
		if (r->i >= r->len)
			return -1;
		if (r->s[r->i] == close) {
			r->i++;
			return 0;
		}
		if (r->s[r->i] != ',')
			return -1;
		r->i++;
		strict_ws(r); /* no trailing comma: a value must follow */
	}
}

static int
strict_value(struct strict *r, int depth)
{
	if (r->i >= r->len)
		return -1;
	switch (r->s[r->i]) {
	case '{':
	case '[':
		return strict_container(r, depth);
	case '"':
		return strict_string(r);
	case 't':
		return strict_literal(r, "true");
	case 'f':
		return strict_literal(r, "false");
	case 'n':
		return strict_literal(r, "null");
	default:
		return strict_number(r);
	}
}

/* Does json.loads(payload.decode('latin-1')) surely give a dict? */
static int
strict_object(const unsigned char *s, size_t len)
{
	struct strict r = {s, 0, len};

	strict_ws(&r);
	if (r.i >= r.len || s[r.i] != '{' || strict_container(&r, 0))
		return 0;
	strict_ws(&r);
	return r.i == r.len;
}

/*
 * Could 3.2's _legacy_decode(data) verify the data (L_OK)? Only if the
 * decoded text starts with 40 lowercase hex digits and ':', which the
 * first 41 decoded bytes show (whether decoding the rest would raise does
 * not matter: raising is {} in the BadSignature branch too).
 */
static int
legacy_possible(struct djsign_scratch *sc, const char *data, size_t len)
{
	struct b64state st = {0, 0, 0, 0};
	size_t i, off = 0, n;

	sbuf_reset(&sc->raw);
	while (off < len && sc->raw.len <= 2 * SHA1_LEN && !st.done) {
		n = len - off < 64 ? len - off : 64;
		b64_feed(&st, data + off, n, 0, &sc->raw);
		off += n;
	}
	if (sc->raw.len <= 2 * SHA1_LEN || sc->raw.buf[2 * SHA1_LEN] != ':')
		return 0;
	for (i = 0; i < 2 * SHA1_LEN; i++) {
		char c = sc->raw.buf[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return 1;
}

int
djsign_no_expiry(struct djsign_scratch *sc, enum django_version v,
                 enum djsign_serializer ser, const char *data, size_t len)
{
	struct b64state st = {0, 0, 0, 0};
	const char *colon, *ts, *b64;
	const unsigned char *p;
	size_t vlen, blen, plen, i;
	int64_t stamp;
	int compressed = 0;

	if (ser != DJSIGN_JSON)
		return 0;
	/* the same steps as unsign(), without verify() */
	colon = memrchr_c(data, ':', len);
	if (!colon)
		return 0;
	vlen = (size_t)(colon - data);
	ts = memrchr_c(data, ':', vlen);
	if (!ts ||
	    djsign_b62_decode(ts + 1, vlen - (size_t)(ts - data) - 1, &stamp))
		return 0;
	b64 = data;
	blen = (size_t)(ts - data);
	if (blen && b64[0] == '.') {
		compressed = 1;
		b64++;
		blen--;
	}
	sbuf_reset(&sc->raw);
	b64_feed(&st, b64, blen, 1, &sc->raw);
	b64_feed(&st, "===", (4 - blen % 4) % 4, 1, &sc->raw);
	if (b64_finish(&st))
		return 0;
	p = (const unsigned char *)sc->raw.buf;
	plen = sc->raw.len;
	if (compressed) {
		if (!sc->zs_ready) {
			memset(&sc->zs, 0, sizeof(sc->zs));
			if (inflateInit(&sc->zs) != Z_OK)
				return 0;
			sc->zs_ready = 1;
		} else if (inflateReset(&sc->zs) != Z_OK) {
			return 0;
		}
		sbuf_reset(&sc->z);
		if (inflate_with(&sc->zs, p, plen, DJSIGN_MAX_PAYLOAD, &sc->z))
			return 0;
		p = (const unsigned char *)sc->z.buf;
		plen = sc->z.len;
	}
	if (has_expiry_text((const char *)p, plen, 1))
		return 0;
	for (i = 0; i < plen && json_ws(p[i]); i++)
		;
	if (i == plen || p[i] != '{')
		return 0;
	if (v != DJANGO_3_2)
		return 1;
	return strict_object(p, plen) && !legacy_possible(sc, data, len);
}

/* ---- SessionBase.decode() per version ---- */

static void
take_loaded(struct djsign_result *res, enum djsign_how how, struct loaded *l)
{
	if (l->status == LOAD_OK) {
		res->how = how;
		res->value = l->value;
		res->opaque = l->opaque;
		res->mentions_expiry = l->mentions_expiry;
		l->value = NULL;
		return;
	}
	/*
	 * LOAD_MAYBE: Python either loads it or treats it as {}. When it
	 * would be a dict without "_session_expiry" either way, the expiry
	 * decision is the same as for {}: report an opaque dict.
	 */
	if (l->object_if_loaded && !l->mentions_expiry) {
		res->how = how;
		res->opaque = 1;
		res->mentions_expiry = 0;
		return;
	}
	res->how = DJSIGN_UNSURE;
	res->mentions_expiry = 1;
	res->detail = "payload uses JSON that Python may load differently";
}

/* 3.2: _legacy_decode() called outside any try (after a load error) */
static void
legacy_unprotected(const struct djsign *ds, enum djsign_serializer ser,
                   const char *data, size_t len, struct djsign_result *res)
{
	struct loaded l;

	switch (legacy_decode(ds, ser, data, len, &l)) {
	case L_RAISES:
		res->how = DJSIGN_CRASH;
		res->detail = "signed payload not loadable and _legacy_decode "
		              "raises binascii.Error";
		break;
	case L_INVALID:
		res->how = DJSIGN_UNDECODABLE;
		break;
	case L_OK:
		take_loaded(res, DJSIGN_LEGACY, &l);
		break;
	}
	json_decref(l.value);
}

void
djsign_decode(const struct djsign *ds, enum django_version v,
              enum djsign_serializer ser, const char *data, size_t len,
              struct djsign_result *res)
{
	struct djsign_result init = DJSIGN_RESULT_INIT;
	struct loaded l, ll;
	enum unsign_status us;

	*res = init;
	us = unsign(ds, v, ser, data, len, res, &l);
	if (us == U_TOO_LARGE) {
		res->how = DJSIGN_UNSURE;
		res->mentions_expiry = 1;
		return;
	}
	if (v != DJANGO_3_2) {
		/* 4.0+: any failure in signing.loads() gives {} */
		if (us == U_OK)
			take_loaded(res, DJSIGN_SIGNED, &l);
		else
			res->how = us == U_BAD ? DJSIGN_BAD_SIGNATURE
			                       : DJSIGN_UNDECODABLE;
		json_decref(l.value);
		return;
	}
	switch (us) {
	case U_BAD:
		/* except BadSignature: try _legacy_decode, anything -> {} */
		res->how = DJSIGN_BAD_SIGNATURE;
		if (legacy_decode(ds, ser, data, len, &ll) == L_OK) {
			res->detail = NULL;
			take_loaded(res, DJSIGN_LEGACY, &ll);
		}
		json_decref(ll.value);
		break;
	case U_UNDECODABLE:
		/* except Exception: return self._legacy_decode(session_data) */
		legacy_unprotected(ds, ser, data, len, res);
		break;
	case U_OK:
		if (l.status == LOAD_OK) {
			take_loaded(res, DJSIGN_SIGNED, &l);
			break;
		}
		/*
		 * Python may load it; if not, the unprotected legacy path
		 * runs. Only when that path ends in {} and a load would give
		 * a dict without expiry is the outcome the same either way.
		 */
		legacy_unprotected(ds, ser, data, len, res);
		if (res->how == DJSIGN_UNDECODABLE)
			take_loaded(res, DJSIGN_SIGNED, &l);
		else {
			json_decref(res->value);
			res->value = NULL;
			res->how = DJSIGN_UNSURE;
			res->mentions_expiry = 1;
			res->detail = "payload uses JSON that Python may load "
			              "differently";
		}
		break;
	case U_TOO_LARGE:
		break;
	}
	json_decref(l.value);
}

void
djsign_dumps(const struct djsign *ds, const void *payload, size_t len,
             int64_t timestamp, struct sbuf *out)
{
	size_t start = out->len;
	uLongf zlen = compressBound((uLong)len);
	unsigned char *z = xmalloc(zlen);
	struct sbuf sig = SBUF_INIT;

	/* signing.dumps(compress=True): only when it saves over one byte */
	if (compress(z, &zlen, payload, (uLong)len) == Z_OK && zlen + 1 < len) {
		sbuf_addch(out, '.');
		djsign_b64url_encode(z, zlen, out);
	} else {
		djsign_b64url_encode(payload, len, out);
	}
	free(z);
	sbuf_addch(out, ':');
	djsign_b62_encode(timestamp, out);
	hmac_b64(lazycrypto.sha256(), ds->k256[0], SHA256_LEN, out->buf + start,
	         out->len - start, &sig);
	sbuf_addch(out, ':');
	sbuf_add(out, sig.buf, sig.len);
	sbuf_release(&sig);
}
