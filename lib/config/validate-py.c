/*
 * What Python makes of a config string: int(), json.loads() and
 * settings.py's parse_boolean(), mimicked exactly (Unicode spaces and
 * digits included), for config validate and the validate-value tool.
 */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "schema.h"
#include "validate.h"
#include "banned.h"

#define PY_INT_MAX_DIGITS 4300	/* sys.get_int_max_str_digits() default */
/* C-level recursion json.loads survives inside OMERO.web's settings
 * import (recursion limit 1000 minus the frames already in use); an
 * approximation. */
#define PY_JSON_MAX_DEPTH 900

/* ---- Python string facts ---------------------------------------------- */

/* Decode one UTF-8 sequence; invalid bytes come back as U+FFFD, one at a
 * time (config.xml values are valid UTF-8 anyway). */
static unsigned int
utf8_next(const unsigned char **pp)
{
	const unsigned char *p = *pp;
	unsigned int cp;
	int n, i;

	if (p[0] < 0x80) {
		*pp = p + 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0) {
		cp = p[0] & 0x1f;
		n = 1;
	} else if ((p[0] & 0xf0) == 0xe0) {
		cp = p[0] & 0x0f;
		n = 2;
	} else if ((p[0] & 0xf8) == 0xf0) {
		cp = p[0] & 0x07;
		n = 3;
	} else {
		*pp = p + 1;
		return 0xfffd;
	}
	for (i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*pp = p + 1;
			return 0xfffd;
		}
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	*pp = p + n + 1;
	return cp;
}

static int
py_isspace(unsigned int cp)
{
	size_t lo = 0, hi = schema_py_nspaces;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (schema_py_spaces[mid] == cp)
			return 1;
		if (schema_py_spaces[mid] < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* The decimal value int() gives cp, or -1. */
static int
py_decimal(unsigned int cp)
{
	size_t lo = 0, hi = schema_py_ndigit_zeros;

	/* find the last run starting at or before cp */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (schema_py_digit_zeros[mid] <= cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || cp - schema_py_digit_zeros[lo - 1] > 9)
		return -1;
	return (int)(cp - schema_py_digit_zeros[lo - 1]);
}

static void
why_set(struct sbuf *why, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
why_set(struct sbuf *why, const char *fmt, ...)
{
	va_list ap;

	if (!why)
		return;
	sbuf_reset(why);
	va_start(ap, fmt);
	sbuf_vaddf(why, fmt, ap);
	va_end(ap);
}

/* Python's Py_ISSPACE (ASCII only). */
static int
py_ascii_space(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

int
cfg_py_int(const char *s, long long *out, struct sbuf *why)
{
	struct sbuf a = SBUF_INIT;
	const unsigned char *p = (const unsigned char *)s;
	const char *q;
	size_t digits = 0;
	int neg = 0, overflow = 0, prev = 0, ret = -1;
	unsigned long long acc = 0;
	unsigned long long lim = (unsigned long long)LLONG_MAX;

	/* _PyUnicode_TransformDecimalAndSpaceToASCII */
	while (*p) {
		unsigned int cp = utf8_next(&p);
		int d;

		if (cp < 127) {
			sbuf_addch(&a, (int)cp);
		} else if (py_isspace(cp)) {
			sbuf_addch(&a, ' ');
		} else if ((d = py_decimal(cp)) >= 0) {
			sbuf_addch(&a, '0' + d);
		} else {
			sbuf_addch(&a, '?');
			break;
		}
	}
	/* PyLong_FromString(a, base 10) */
	q = a.buf;
	while (py_ascii_space(*q))
		q++;
	if (*q == '+' || *q == '-')
		neg = *q++ == '-';
	if (neg)
		lim += 1;
	if (*q == '_')
		goto bad;
	while (isdigit((unsigned char)*q) || *q == '_') {
		if (*q == '_') {
			if (prev == '_')
				goto bad;
		} else {
			unsigned int d = (unsigned int)(*q - '0');

			digits++;
			if (acc > (lim - d) / 10)
				overflow = 1;
			else
				acc = acc * 10 + d;
		}
		prev = (unsigned char)*q++;
	}
	if (prev == '_' || !digits)
		goto bad;
	if (digits > PY_INT_MAX_DIGITS) {
		why_set(why, "exceeds the limit (%d digits) for integer string "
			"conversion", PY_INT_MAX_DIGITS);
		goto out;
	}
	while (py_ascii_space(*q))
		q++;
	if (*q)
		goto bad;
	if (out) {
		if (overflow)
			*out = neg ? LLONG_MIN : LLONG_MAX;
		else if (neg)
			*out = acc == (unsigned long long)LLONG_MAX + 1 ?
			       LLONG_MIN : -(long long)acc;
		else
			*out = (long long)acc;
	}
	ret = overflow;
	goto out;
bad:
	why_set(why, "invalid literal for int() with base 10");
out:
	sbuf_release(&a);
	return ret;
}

/* ---- json.loads ------------------------------------------------------- */

struct jscan {
	const char *s;
	size_t i;
	int depth;
	const char *err;
};

static int
js_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void
js_skip(struct jscan *j)
{
	while (js_ws(j->s[j->i]))
		j->i++;
}

static int
js_fail(struct jscan *j, const char *msg)
{
	if (!j->err)
		j->err = msg;
	return -1;
}

static int
js_lit(struct jscan *j, const char *word)
{
	size_t n = strlen(word);

	if (strncmp(j->s + j->i, word, n))
		return 0;
	j->i += n;
	return 1;
}

static int
js_string(struct jscan *j)
{
	const char *s = j->s;
	int k;

	j->i++;	/* opening quote */
	for (;;) {
		unsigned char c = (unsigned char)s[j->i];

		if (!c)
			return js_fail(j, "Unterminated string");
		if (c == '"') {
			j->i++;
			return 0;
		}
		if (c < 0x20)
			return js_fail(j, "Invalid control character");
		if (c != '\\') {
			j->i++;
			continue;
		}
		c = (unsigned char)s[++j->i];
		if (!c)
			return js_fail(j, "Unterminated string");
		if (c == 'u') {
			for (k = 1; k <= 4; k++)
				if (!isxdigit((unsigned char)s[j->i + k]))
					return js_fail(j,
						"Invalid \\uXXXX escape");
			j->i += 5;
		} else if (strchr("\"\\/bfnrt", c)) {
			j->i++;
		} else {
			return js_fail(j, "Invalid \\escape");
		}
	}
}

static int
js_number(struct jscan *j)
{
	const char *s = j->s;
	size_t i = j->i, start, e;
	size_t digits = 0;
	int is_float = 0;

	if (s[i] == '-')
		i++;
	start = i;
	if (s[i] >= '1' && s[i] <= '9') {
		while (isdigit((unsigned char)s[i]))
			i++;
	} else if (s[i] == '0') {
		i++;
	} else {
		return js_fail(j, "Expecting value");
	}
	digits = i - start;
	if (s[i] == '.' && isdigit((unsigned char)s[i + 1])) {
		is_float = 1;
		i += 2;
		while (isdigit((unsigned char)s[i]))
			i++;
	}
	if (s[i] == 'e' || s[i] == 'E') {
		e = i++;
		if (s[i] == '+' || s[i] == '-')
			i++;
		if (isdigit((unsigned char)s[i])) {
			is_float = 1;
			while (isdigit((unsigned char)s[i]))
				i++;
		} else {
			i = e;
		}
	}
	/* integers go through int(): same digit limit */
	if (!is_float && digits > PY_INT_MAX_DIGITS)
		return js_fail(j, "Exceeds the limit (4300 digits) for "
			       "integer string conversion");
	j->i = i;
	return 0;
}

static int js_value(struct jscan *j);

static int
js_container(struct jscan *j, int close)
{
	if (++j->depth > PY_JSON_MAX_DEPTH)
		return js_fail(j, "maximum recursion depth exceeded");
	j->i++;
	js_skip(j);
	if (j->s[j->i] == close) {
		j->i++;
		j->depth--;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (j->s[j->i] != '"')
				return js_fail(j, "Expecting property name "
					       "enclosed in double quotes");
			if (js_string(j) < 0)
				return -1;
			js_skip(j);
			if (j->s[j->i] != ':')
				return js_fail(j, "Expecting ':' delimiter");
			j->i++;
			js_skip(j);
		}
		if (js_value(j) < 0)
			return -1;
		js_skip(j);
		if (j->s[j->i] == close) {
			j->i++;
			j->depth--;
			return 0;
		}
		if (j->s[j->i] != ',')
			return js_fail(j, "Expecting ',' delimiter");
		j->i++;
		js_skip(j);
	}
}

static int
js_value(struct jscan *j)
{
	switch (j->s[j->i]) {
	case '"':
		return js_string(j);
	case '{':
		return js_container(j, '}');
	case '[':
		return js_container(j, ']');
	case 'n':
		return js_lit(j, "null") ? 0 : js_fail(j, "Expecting value");
	case 't':
		return js_lit(j, "true") ? 0 : js_fail(j, "Expecting value");
	case 'f':
		return js_lit(j, "false") ? 0 : js_fail(j, "Expecting value");
	case 'N':
		return js_lit(j, "NaN") ? 0 : js_fail(j, "Expecting value");
	case 'I':
		return js_lit(j, "Infinity") ? 0 :
		       js_fail(j, "Expecting value");
	case '-':
		if (js_lit(j, "-Infinity"))
			return 0;
		return js_number(j);
	default:
		return js_number(j);
	}
}

int
cfg_py_json(const char *s, struct sbuf *why)
{
	struct jscan j = { s, 0, 0, NULL };

	js_skip(&j);
	if (js_value(&j) == 0) {
		js_skip(&j);
		if (!s[j.i])
			return 0;
		j.err = "Extra data";
	}
	why_set(why, "%s (char %zu)", j.err, j.i);
	return -1;
}

/* ---- parse_boolean ---------------------------------------------------- */

/* s.strip() by Python's rules: the bounds of the stripped text. */
static void
py_strip(const char *s, const char **b, const char **e)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *first = NULL, *end = p;

	while (*p) {
		const unsigned char *at = p;
		unsigned int cp = utf8_next(&p);

		if (!py_isspace(cp)) {
			if (!first)
				first = at;
			end = p;
		}
	}
	*b = first ? (const char *)first : s;
	*e = first ? (const char *)end : s;
}

static int
stripped_is(const char *s, const char *const *words)
{
	const char *b, *e;
	size_t n;

	py_strip(s, &b, &e);
	n = (size_t)(e - b);
	for (; *words; words++)
		if (strlen(*words) == n && !strncasecmp(b, *words, n))
			return 1;
	return 0;
}

int
cfg_py_bool(const char *s)
{
	static const char *const yes[] = { "true", "1", "t", NULL };

	/* only ASCII letters lower-case to the ASCII of these words */
	return stripped_is(s, yes);
}

int
cfg_looks_true(const char *s)
{
	static const char *const words[] = {
		"yes", "y", "on", "enabled", "enable", "active", "ok", NULL
	};

	return stripped_is(s, words);
}
