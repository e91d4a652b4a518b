/*
 * Python-exact json.loads/json.dumps/== over jansson. jansson parses; this
 * file adds what it lacks (NaN/Infinity, overflowing floats) and writes the
 * bytes Python's json module writes with default arguments.
 */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyjson.h"
#include "xalloc.h"
#include "banned.h"

#define LOAD_FLAGS (JSON_DECODE_ANY | JSON_ALLOW_NUL)

/*
 * Non-finite values: a string starting with 0xff, which jansson's parser
 * never produces (it only accepts valid UTF-8).
 */
enum { NF_NAN, NF_INF, NF_NEGINF, NF_COUNT };

static const struct {
	const char *tag;
	const char *text;	/* the literal, as parsed and as dumped */
} nonfinite_tab[NF_COUNT] = {
	{ "\xff" "NaN", "NaN" },
	{ "\xff" "Infinity", "Infinity" },
	{ "\xff" "-Infinity", "-Infinity" },
};

static json_t *
nonfinite_new(int kind)
{
	const char *tag = nonfinite_tab[kind].tag;

	return json_stringn_nocheck(tag, strlen(tag));
}

/* Which non-finite value v is, or -1. */
static int
nonfinite_kind(const json_t *v)
{
	const char *s;
	size_t len;
	int k;

	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	len = json_string_length(v);
	if (!len || (unsigned char)s[0] != 0xff)
		return -1;
	for (k = 0; k < NF_COUNT; k++)
		if (len == strlen(nonfinite_tab[k].tag) &&
		    !memcmp(s, nonfinite_tab[k].tag, len))
			return k;
	return -1;
}

json_t *
pyjson_real(double d)
{
	if (isnan(d))
		return nonfinite_new(NF_NAN);
	if (isinf(d))
		return nonfinite_new(d > 0 ? NF_INF : NF_NEGINF);
	return json_real(d);
}

int
pyjson_nonfinite(const json_t *v, double *d)
{
	static const double val[NF_COUNT] = { NAN, INFINITY, -INFINITY };
	int k = nonfinite_kind(v);

	if (k < 0)
		return 0;
	if (d)
		*d = val[k];
	return 1;
}

/*
 * strtod and printf("%e") must not follow a caller's setlocale(): the
 * decimal point is always '.' here.
 */
static locale_t
c_numeric_locale(void)
{
	static locale_t loc;

	if (!loc)
		loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	return loc ? loc : LC_GLOBAL_LOCALE;
}

/* ---- parsing ---------------------------------------------------------- */

/* A literal jansson cannot parse, at s[off..off+len). */
struct subst {
	size_t off;
	size_t len;
	int kind;
};

struct subst_list {
	struct subst *v;
	size_t n;
	size_t alloc;
};

static int
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
has_prefix(const char *s, size_t len, const char *lit)
{
	size_t n = strlen(lit);

	return len >= n && !memcmp(s, lit, n);
}

/*
 * Length of the JSON number at s (0 if none) following Python's NUMBER_RE;
 * *is_float tells whether it has a fraction or an exponent.
 */
static size_t
number_len(const char *s, size_t len, int *is_float)
{
	size_t i = 0, k;

	*is_float = 0;
	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else if (i < len && is_digit(s[i]))
		while (i < len && is_digit(s[i]))
			i++;
	else
		return 0;
	if (i + 1 < len && s[i] == '.' && is_digit(s[i + 1])) {
		i += 2;
		while (i < len && is_digit(s[i]))
			i++;
		*is_float = 1;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		k = i + 1;
		if (k < len && (s[k] == '+' || s[k] == '-'))
			k++;
		if (k < len && is_digit(s[k])) {
			i = k;
			while (i < len && is_digit(s[i]))
				i++;
			*is_float = 1;
		}
	}
	return i;
}

/* Does the float literal s[0..len) overflow to +-infinity, as in Python? */
static int
float_overflows(const char *s, size_t len, int *kind)
{
	char *buf;
	locale_t old;
	double d;

	/* DBL_MAX has 309 digits: without an exponent, shorter is finite */
	if (len < 309 && !memchr(s, 'e', len) && !memchr(s, 'E', len))
		return 0;
	buf = xstrndup(s, len);
	old = uselocale(c_numeric_locale());
	d = strtod(buf, NULL);
	uselocale(old);
	free(buf);
	if (!isinf(d))
		return 0;
	*kind = d > 0 ? NF_INF : NF_NEGINF;
	return 1;
}

static void
subst_add(struct subst_list *l, size_t off, size_t len, int kind)
{
	XGROW(l->v, l->alloc, l->n + 1);
	l->v[l->n].off = off;
	l->v[l->n].len = len;
	l->v[l->n].kind = kind;
	l->n++;
}

/*
 * Find NaN, Infinity, -Infinity and overflowing float literals where a value
 * may start (document start, after '[', ',' or ':'). Elsewhere they are
 * syntax errors for Python too, and are left for jansson to reject.
 * Strings are skipped the way jansson's lexer delimits them; past a point
 * where the two could disagree, jansson has already failed.
 */
static void
find_nonfinite(const char *s, size_t len, struct subst_list *l)
{
	size_t i = 0, n;
	int value_pos = 1, is_float, kind;

	while (i < len) {
		char c = s[i];

		if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			i++;
			value_pos = 0;
			continue;
		}
		if (is_ws(c)) {
			i++;
			continue;
		}
		if (c == '[' || c == ',' || c == ':') {
			value_pos = 1;
			i++;
			continue;
		}
		n = 1;
		if (value_pos) {
			for (kind = 0; kind < NF_COUNT; kind++)
				if (has_prefix(s + i, len - i,
					       nonfinite_tab[kind].text))
					break;
			if (kind < NF_COUNT) {
				n = strlen(nonfinite_tab[kind].text);
				subst_add(l, i, n, kind);
			} else if ((n = number_len(s + i, len - i,
						   &is_float)) &&
				   is_float &&
				   float_overflows(s + i, n, &kind)) {
				subst_add(l, i, n, kind);
			}
			if (!n)
				n = 1;
		}
		value_pos = 0;
		i += n;
	}
}

/*
 * Copy s with each substitution replaced by the integer 2 * kind + which,
 * padded with spaces to the same length, so jansson's error positions stay
 * those of the original text.
 */
static void
build_subst(struct sbuf *out, const char *s, size_t len,
	    const struct subst_list *l, int which)
{
	size_t i;

	sbuf_add(out, s, len);
	for (i = 0; i < l->n; i++) {
		memset(out->buf + l->v[i].off, ' ', l->v[i].len);
		out->buf[l->v[i].off] = (char)('0' + 2 * l->v[i].kind + which);
	}
}

/*
 * a and b were parsed from the two substituted copies: they are equal
 * except where a literal was replaced. Returns the non-finite value that
 * replaces a (new reference), or NULL when a stays (its children may have
 * been replaced in place).
 */
static json_t *
mark_nonfinite(json_t *a, json_t *b)
{
	size_t i;
	void *it;
	json_t *r;

	if (json_is_integer(a)) {
		if (json_is_integer(b) &&
		    json_integer_value(a) != json_integer_value(b))
			return nonfinite_new((int)(json_integer_value(a) / 2));
	} else if (json_is_array(a)) {
		for (i = 0; i < json_array_size(a); i++) {
			r = mark_nonfinite(json_array_get(a, i),
					   json_array_get(b, i));
			if (r)
				json_array_set_new(a, i, r);
		}
	} else if (json_is_object(a)) {
		for (it = json_object_iter(a); it;
		     it = json_object_iter_next(a, it)) {
			r = mark_nonfinite(json_object_iter_value(it),
					   json_object_getn(b,
						json_object_iter_key(it),
						json_object_iter_key_len(it)));
			if (r)
				json_object_iter_set_new(a, it, r);
		}
	}
	return NULL;
}

static json_t *
load_error(const json_error_t *je, struct err *e)
{
	err_set(e, ERR_BADVALUE, "cannot decode JSON: %s (line %d, column %d)",
		je->text, je->line, je->column);
	return NULL;
}

json_t *
pyjson_loads(const char *s, size_t len, struct err *e)
{
	struct subst_list l = { NULL, 0, 0 };
	struct sbuf ta = SBUF_INIT, tb = SBUF_INIT;
	json_t *a = NULL, *b = NULL, *r;
	json_error_t je;

	find_nonfinite(s, len, &l);
	if (!l.n) {
		a = json_loadb(s, len, LOAD_FLAGS, &je);
		if (!a)
			load_error(&je, e);
		goto out;
	}
	build_subst(&ta, s, len, &l, 0);
	build_subst(&tb, s, len, &l, 1);
	a = json_loadb(ta.buf, ta.len, LOAD_FLAGS, &je);
	if (!a) {
		load_error(&je, e);
		goto out;
	}
	b = json_loadb(tb.buf, tb.len, LOAD_FLAGS, &je);
	if (!b) {
		/* cannot happen: both copies differ only in one digit */
		json_decref(a);
		a = load_error(&je, e);
		goto out;
	}
	r = mark_nonfinite(a, b);
	if (r) {
		json_decref(a);
		a = r;
	}
out:
	json_decref(b);
	sbuf_release(&ta);
	sbuf_release(&tb);
	free(l.v);
	return a;
}

/* ---- dumping ---------------------------------------------------------- */

static void
add_u16(struct sbuf *out, unsigned int u)
{
	sbuf_addf(out, "\\u%04x", u);
}

/*
 * Decode one UTF-8 sequence at s (n > 0 bytes available); returns its length
 * and stores the code point, or returns 1 and stores 0xfffd for an invalid
 * byte (overlong forms, surrogates and values past U+10FFFF included).
 */
static size_t
utf8_decode(const unsigned char *s, size_t n, unsigned int *cp)
{
	unsigned int c = s[0], min;
	size_t need, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		need = 1, min = 0x80, c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2, min = 0x800, c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3, min = 0x10000, c &= 0x07;
	} else {
		goto bad;
	}
	if (n <= need)
		goto bad;
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		goto bad;
	*cp = c;
	return need + 1;
bad:
	*cp = 0xfffd;
	return 1;
}

/* Python's encoder/py_encode_basestring_ascii. */
static void
dump_string(const char *str, size_t len, struct sbuf *out)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n;
	unsigned int cp;

	sbuf_addch(out, '"');
	while (i < len) {
		n = utf8_decode(s + i, len - i, &cp);
		i += n;
		switch (cp) {
		case '"':
			sbuf_adds(out, "\\\"");
			continue;
		case '\\':
			sbuf_adds(out, "\\\\");
			continue;
		case '\n':
			sbuf_adds(out, "\\n");
			continue;
		case '\r':
			sbuf_adds(out, "\\r");
			continue;
		case '\t':
			sbuf_adds(out, "\\t");
			continue;
		case '\b':
			sbuf_adds(out, "\\b");
			continue;
		case '\f':
			sbuf_adds(out, "\\f");
			continue;
		}
		if (cp >= 0x20 && cp <= 0x7e) {
			sbuf_addch(out, (int)cp);
		} else if (cp < 0x10000) {
			add_u16(out, cp);
		} else {
			cp -= 0x10000;
			add_u16(out, 0xd800 | (cp >> 10));
			add_u16(out, 0xdc00 | (cp & 0x3ff));
		}
	}
	sbuf_addch(out, '"');
}

/*
 * Replace the p significant digits of "D.DDDe+XX" in buf (d > 0, which buf
 * does not round-trip to) by the neighbouring p-digit decimal on the other
 * side of d; keep it if that one round-trips. This matters at powers of two,
 * where the interval that rounds to d is narrower below d than above, and
 * the nearest p-digit decimal may miss it while the next one does not.
 */
static int
try_neighbour(char *buf, size_t size, double d)
{
	char dig[24], cand[40];
	int nd = 0, exp10, i, up;
	const char *p;

	for (p = buf; *p && *p != 'e'; p++)
		if (is_digit(*p))
			dig[nd++] = *p;
	if (*p != 'e' || !nd)
		return 0;
	exp10 = (int)strtol(p + 1, NULL, 10);
	up = strtod(buf, NULL) < d;
	if (up) {
		for (i = nd - 1; i >= 0 && dig[i] == '9'; i--)
			dig[i] = '0';
		if (i >= 0) {
			dig[i]++;
		} else {
			dig[0] = '1';
			exp10++;
		}
	} else {
		for (i = nd - 1; i >= 0 && dig[i] == '0'; i--)
			dig[i] = '9';
		if (i < 0)
			return 0;	/* all zeros: not for d > 0 */
		dig[i]--;
		if (dig[0] == '0') {
			memset(dig, '9', (size_t)nd);
			exp10--;
		}
	}
	if (nd == 1)
		snprintf(cand, sizeof(cand), "%ce%d", dig[0], exp10);
	else
		snprintf(cand, sizeof(cand), "%c.%.*se%d", dig[0], nd - 1,
			 dig + 1, exp10);
	if (strtod(cand, NULL) != d)
		return 0;
	snprintf(buf, size, "%s", cand);
	return 1;
}

/* Python's float.__repr__ for a finite d: shortest round-trip digits. */
static void
dump_double(double d, struct sbuf *out)
{
	char buf[40], dig[24] = { 0 };
	int prec, nd = 0, exp10, decpt, i;
	const char *p;
	locale_t old;

	if (d == 0) {
		sbuf_adds(out, signbit(d) ? "-0.0" : "0.0");
		return;
	}
	if (d < 0) {
		sbuf_addch(out, '-');
		d = -d;
	}
	old = uselocale(c_numeric_locale());
	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
		if (strtod(buf, NULL) == d ||
		    try_neighbour(buf, sizeof(buf), d))
			break;
	}
	if (prec == 17)
		snprintf(buf, sizeof(buf), "%.16e", d);
	uselocale(old);

	for (p = buf; *p != 'e'; p++)
		if (is_digit(*p))
			dig[nd++] = *p;
	exp10 = (int)strtol(p + 1, NULL, 10);
	while (nd > 1 && dig[nd - 1] == '0')
		nd--;
	decpt = exp10 + 1;

	/* Python's format_float_short(), mode 'r' */
	if (decpt <= -4 || decpt > 16) {
		sbuf_addch(out, dig[0]);
		if (nd > 1) {
			sbuf_addch(out, '.');
			sbuf_add(out, dig + 1, (size_t)nd - 1);
		}
		sbuf_addf(out, "e%+03d", exp10);
	} else if (decpt <= 0) {
		sbuf_adds(out, "0.");
		for (i = decpt; i < 0; i++)
			sbuf_addch(out, '0');
		sbuf_add(out, dig, (size_t)nd);
	} else if (decpt < nd) {
		sbuf_add(out, dig, (size_t)decpt);
		sbuf_addch(out, '.');
		sbuf_add(out, dig + decpt, (size_t)(nd - decpt));
	} else {
		sbuf_add(out, dig, (size_t)nd);
		for (i = nd; i < decpt; i++)
			sbuf_addch(out, '0');
		sbuf_adds(out, ".0");
	}
}

void
pyjson_dumps(const json_t *cv, struct sbuf *out)
{
	json_t *v = (json_t *)cv;	/* jansson's getters are not const */
	const char *sep = "";
	void *it;
	size_t i;
	int k;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		sbuf_addch(out, '{');
		for (it = json_object_iter(v); it;
		     it = json_object_iter_next(v, it)) {
			sbuf_adds(out, sep);
			dump_string(json_object_iter_key(it),
				    json_object_iter_key_len(it), out);
			sbuf_adds(out, ": ");
			pyjson_dumps(json_object_iter_value(it), out);
			sep = ", ";
		}
		sbuf_addch(out, '}');
		break;
	case JSON_ARRAY:
		sbuf_addch(out, '[');
		for (i = 0; i < json_array_size(v); i++) {
			sbuf_adds(out, sep);
			pyjson_dumps(json_array_get(v, i), out);
			sep = ", ";
		}
		sbuf_addch(out, ']');
		break;
	case JSON_STRING:
		k = nonfinite_kind(v);
		if (k >= 0)
			sbuf_adds(out, nonfinite_tab[k].text);
		else
			dump_string(json_string_value(v), json_string_length(v),
				    out);
		break;
	case JSON_INTEGER:
		sbuf_addf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		dump_double(json_real_value(v), out);
		break;
	case JSON_TRUE:
		sbuf_adds(out, "true");
		break;
	case JSON_FALSE:
		sbuf_adds(out, "false");
		break;
	case JSON_NULL:
		sbuf_adds(out, "null");
		break;
	}
}

/* ---- equality --------------------------------------------------------- */

/* A Python number: bool and int as an integer, float as a double. */
struct pynum {
	int is_int;
	json_int_t i;
	double d;
};

static int
as_number(const json_t *v, struct pynum *n)
{
	n->is_int = 1;
	n->i = 0;
	n->d = 0;
	if (json_is_integer(v)) {
		n->i = json_integer_value(v);
	} else if (json_is_boolean(v)) {
		n->i = json_is_true(v);
	} else if (json_is_real(v)) {
		n->is_int = 0;
		n->d = json_real_value(v);
	} else if (pyjson_nonfinite(v, &n->d)) {
		n->is_int = 0;
	} else {
		return 0;
	}
	return 1;
}

/* Python compares int with float exactly, not by converting the int. */
static int
int_equals_double(json_int_t i, double d)
{
	json_int_t t;

	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
		return 0;	/* NaN, infinities and out of range */
	t = (json_int_t)d;
	return (double)t == d && t == i;
}

static int
number_equal(const struct pynum *a, const struct pynum *b)
{
	if (a->is_int && b->is_int)
		return a->i == b->i;
	if (!a->is_int && !b->is_int)
		return a->d == b->d || (isnan(a->d) && isnan(b->d));
	if (a->is_int)
		return int_equals_double(a->i, b->d);
	return int_equals_double(b->i, a->d);
}

int
pyjson_equal(const json_t *ca, const json_t *cb)
{
	json_t *a = (json_t *)ca, *b = (json_t *)cb;
	struct pynum na, nb;
	json_t *bv;
	void *it;
	size_t i;
	int a_num = as_number(a, &na), b_num = as_number(b, &nb);

	if (a_num || b_num)
		return a_num && b_num && number_equal(&na, &nb);
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       !memcmp(json_string_value(a), json_string_value(b),
			       json_string_length(a));
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (i = 0; i < json_array_size(a); i++)
			if (!pyjson_equal(json_array_get(a, i),
					  json_array_get(b, i)))
				return 0;
		return 1;
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return 0;
		for (it = json_object_iter(a); it;
		     it = json_object_iter_next(a, it)) {
			bv = json_object_getn(b, json_object_iter_key(it),
					      json_object_iter_key_len(it));
			if (!bv ||
			    !pyjson_equal(json_object_iter_value(it), bv))
				return 0;
		}
		return 1;
	case JSON_NULL:
		return 1;
	default:
		return 0;
	}
}
