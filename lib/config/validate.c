/*
 * Checks of omero.web.* values as settings.py's parsers, gunicorn, nginx
 * and Django will see them (config validate), and the text of config
 * explain. Python's int(), json.loads() and parse_boolean() are mimicked
 * exactly; re.compile() only in part (see check_regex).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fs.h"
#include "schema.h"
#include "validate.h"
#include "xalloc.h"
#include "banned.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo"
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

/* ---- findings --------------------------------------------------------- */

void
finding_list_release(struct finding_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].message);
		free(l->v[i].hint);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}

size_t
finding_list_count(const struct finding_list *l, enum finding_severity s)
{
	size_t i, n = 0;

	for (i = 0; i < l->n; i++)
		n += l->v[i].severity == s;
	return n;
}

const char *
finding_severity_name(enum finding_severity s)
{
	switch (s) {
	case FINDING_ERROR:
		return "error";
	case FINDING_WARNING:
		return "warning";
	case FINDING_INFO:
		return "info";
	}
	return "?";
}

json_t *
finding_list_to_json(const struct finding_list *l)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < l->n; i++) {
		const struct finding *f = &l->v[i];

		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o}",
			"severity", finding_severity_name(f->severity),
			"key", f->key, "message", f->message,
			"hint", f->hint ? json_string(f->hint) : json_null()));
	}
	return json_pack("{s:o, s:I, s:I, s:I}", "findings", arr,
			 "errors",
			 (json_int_t)finding_list_count(l, FINDING_ERROR),
			 "warnings",
			 (json_int_t)finding_list_count(l, FINDING_WARNING),
			 "infos",
			 (json_int_t)finding_list_count(l, FINDING_INFO));
}

/* ---- validation context ----------------------------------------------- */

struct vctx {
	const struct cfg_kv *kv;
	size_t n;
	int have_target;
	unsigned long target[3];
	const char *omerodir;
	struct finding_list *out;
	int value_only;		/* explain: no cross-key checks */
};

static void
add(struct vctx *c, enum finding_severity sev, const char *key,
    const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void
add(struct vctx *c, enum finding_severity sev, const char *key,
    const char *hint, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	struct finding *f;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	XGROW(c->out->v, c->out->alloc, c->out->n + 1);
	f = &c->out->v[c->out->n++];
	f->severity = sev;
	f->key = xstrdup(key);
	f->message = sbuf_detach(&sb, NULL);
	f->hint = hint ? xstrdup(hint) : NULL;
}

/* The value of key (the last one when repeated), or NULL. */
static const char *
get(const struct vctx *c, const char *key)
{
	size_t i;

	for (i = c->n; i-- > 0;)
		if (!strcmp(c->kv[i].key, key))
			return c->kv[i].value;
	return NULL;
}

/* A printable, bounded rendering of a value for messages, in buf. */
#define SHOWN_MAX 64
static const char *
shown_into(char *buf, const char *key, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t n = 0;

	if (schema_is_secret(key))
		return "********";
	for (; *p && n < SHOWN_MAX; p++)
		buf[n++] = *p < 0x20 ? '?' : (char)*p;
	if (*p) {
		/* do not cut a UTF-8 sequence */
		while (n && ((unsigned char)buf[n - 1] & 0xc0) == 0x80)
			n--;
		if (n && ((unsigned char)buf[n - 1] & 0xc0) == 0xc0)
			n--;
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}
/* The buffer lives until the end of the enclosing block. */
#define shown(key, v) shown_into((char[SHOWN_MAX + 4]){ 0 }, (key), (v))

/* -1, 0, 1 as the target release compares with maj.min.mic. */
static int
target_cmp(const struct vctx *c, unsigned long maj, unsigned long min,
	   unsigned long mic)
{
	unsigned long want[3] = { maj, min, mic };
	int i;

	for (i = 0; i < 3; i++)
		if (c->target[i] != want[i])
			return c->target[i] < want[i] ? -1 : 1;
	return 0;
}

/* Release numbers only ("5.31.0", "5.30", "5.30.0rc1" as 5.30.0). */
static int
parse_target(const char *s, unsigned long v[3])
{
	const char *p = s;
	int i;

	v[0] = v[1] = v[2] = 0;
	if (*p == 'v')
		p++;
	for (i = 0; i < 3; i++) {
		char *end;

		if (!isdigit((unsigned char)*p))
			return -1;
		errno = 0;
		v[i] = strtoul(p, &end, 10);
		if (errno)
			return -1;
		p = end;
		if (*p != '.')
			break;
		p++;
	}
	/* further release numbers or pre/post/dev suffixes are ignored */
	return 0;
}

static json_t *
jload(const char *v)
{
	if (cfg_py_json(v, NULL) < 0)
		return NULL;
	/* jansson refuses some texts Python takes (NaN, lone surrogates,
	 * huge numbers): shape checks are then skipped */
	return json_loads(v, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

static int
all_strings(const json_t *a)
{
	size_t i;
	json_t *x;

	json_array_foreach(a, i, x)
		if (!json_is_string(x))
			return 0;
	return 1;
}

/* ---- per-parser checks ------------------------------------------------ */

/*
 * Python's re syntax, in part: unbalanced groups, unterminated sets, a
 * trailing backslash, unknown ASCII-letter escapes and a quantifier with
 * nothing to repeat are errors re.compile() reports too; anything subtler
 * (bad group names, look-behind widths, ...) is not checked.
 */
static const char *
check_regex(const char *re)
{
	static const char outside[] = "AbBdDsSwWZafnrtvxuUN0123456789";
	static const char inside[] = "dDsSwWbafnrtvxuUN01234567";
	int depth = 0;
	const char *p = re;
	int can_repeat = 0;

	while (*p) {
		if (*p == '\\') {
			if (!p[1])
				return "bad escape (end of pattern)";
			if (isalpha((unsigned char)p[1]) &&
			    !strchr(outside, p[1]))
				return "bad escape";
			/* anchors cannot be repeated */
			can_repeat = !strchr("AZbB", p[1]);
			p += 2;
		} else if (*p == '[') {
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p && *p != ']') {
				if (*p == '\\') {
					if (!p[1])
						return "unterminated character "
						       "set";
					if (isalpha((unsigned char)p[1]) &&
					    !strchr(inside, p[1]))
						return "bad escape";
					p++;
				}
				p++;
			}
			if (!*p)
				return "unterminated character set";
			p++;
			can_repeat = 1;
		} else if (*p == '(' && !strncmp(p, "(?#", 3)) {
			p = strchr(p, ')');
			if (!p)
				return "missing ), unterminated comment";
			p++;
		} else if (*p == '(') {
			depth++;
			p++;
			can_repeat = 0;
		} else if (*p == ')') {
			if (--depth < 0)
				return "unbalanced parenthesis";
			p++;
			can_repeat = 1;
		} else if (*p == '|' || *p == '^' || *p == '$') {
			p++;
			can_repeat = 0;
		} else if (*p == '*' || *p == '+' || *p == '?') {
			/* a '?' right after '(' starts an extension */
			if (*p == '?' && p > re && p[-1] == '(') {
				p++;
				continue;
			}
			if (!can_repeat)
				return "nothing to repeat";
			p++;
			/* lazy or possessive suffix */
			if (*p == '?' || *p == '+')
				p++;
			can_repeat = 0;
		} else {
			p++;
			can_repeat = 1;
		}
	}
	if (depth > 0)
		return "missing ), unterminated subpattern";
	return NULL;
}

/* Case-insensitive path lookup under dir, as pytz matches zone names. */
static int
zone_exists(const char *dir, const char *name)
{
	struct sbuf path = SBUF_INIT;
	const char *p = name;
	int ret = 0;

	/* pytz knows only the zone names: not the posix/ and right/
	 * copies of the tree, nor the few other TZif files there */
	if (!*name || name[strlen(name) - 1] == '/' ||
	    !strncasecmp(name, "posix/", 6) ||
	    !strncasecmp(name, "right/", 6) || !strcasecmp(name, "Factory") ||
	    !strcasecmp(name, "localtime") || !strcasecmp(name, "posixrules"))
		return 0;
	sbuf_adds(&path, dir);
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		struct dirent *de;
		DIR *d;
		int found = 0;

		if (!len || (len <= 2 && !strncmp(p, "..", len)))
			goto out;
		d = opendir(path.buf);
		if (!d)
			goto out;
		while ((de = readdir(d))) {
			if (strlen(de->d_name) == len &&
			    !strncasecmp(de->d_name, p, len)) {
				sbuf_addch(&path, '/');
				sbuf_adds(&path, de->d_name);
				found = 1;
				break;
			}
		}
		closedir(d);
		if (!found)
			goto out;
		p += len;
		if (*p == '/')
			p++;
	}
	{
		char magic[4];
		int fd = open(path.buf, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			ret = read(fd, magic, 4) == 4 &&
			      !memcmp(magic, "TZif", 4);
			close(fd);
		}
	}
out:
	sbuf_release(&path);
	return ret;
}

static void
check_timezone(struct vctx *c, const char *key, const char *v)
{
	struct sbuf name = SBUF_INIT;
	const char *p;

	if (!strcasecmp(v, "UTC"))
		return;
	if (!fs_is_dir(ZONEINFO_DIR)) {
		add(c, FINDING_INFO, key, NULL, "cannot check time zone '%s': "
		    "'%s' is missing", shown(key, v), ZONEINFO_DIR);
		return;
	}
	/* pytz's _unmunge_zone */
	for (p = v; *p;) {
		if (!strncmp(p, "_plus_", 6)) {
			sbuf_addch(&name, '+');
			p += 6;
		} else if (!strncmp(p, "_minus_", 7)) {
			sbuf_addch(&name, '-');
			p += 7;
		} else {
			sbuf_addch(&name, *p++);
		}
	}
	if (name.buf[0] == '/' || !zone_exists(ZONEINFO_DIR, name.buf))
		add(c, FINDING_ERROR, key, "use a tz database name such as "
		    "'Europe/London' or 'UTC'",
		    "unknown time zone '%s': OMERO.web will not start",
		    shown(key, v));
	sbuf_release(&name);
}

static const char *const server_types[] = {
	"wsgi", "wsgi-tcp", "development", NULL
};
static const char *const session_engines[] = {
	"omeroweb.filesessionstore",
	"django.contrib.sessions.backends.db",
	"django.contrib.sessions.backends.file",
	"django.contrib.sessions.backends.cache",
	"django.contrib.sessions.backends.cached_db",
	NULL
};

static int
in_list(const char *v, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(v, *list))
			return 1;
	return 0;
}

static int
is_gunicorn_int(const char *key)
{
	static const char *const keys[] = {
		"omero.web.application_server.max_requests",
		"omero.web.wsgi_workers", "omero.web.wsgi_timeout",
		"omero.web.wsgi_threads", "omero.web.wsgi_worker_connections",
		NULL
	};

	return in_list(key, keys);
}

static void
check_int(struct vctx *c, const struct schema_prop *p, const char *v)
{
	struct sbuf why = SBUF_INIT;
	long long n = 0;
	int r = cfg_py_int(v, &n, &why);

	if (r < 0) {
		add(c, FINDING_ERROR, p->key, "use a whole number",
		    "'%s' is not an integer (%s): OMERO.web will not start",
		    shown(p->key, v), why.buf);
		goto out;
	}
	if (!strcmp(p->key, "omero.web.application_server.port")) {
		if (r || n < 1 || n > 65535)
			add(c, FINDING_ERROR, p->key, NULL,
			    "port %s is outside 1..65535", shown(p->key, v));
	} else if (is_gunicorn_int(p->key)) {
		if (n < 0)
			add(c, FINDING_ERROR, p->key, NULL,
			    "gunicorn rejects the negative value %lld", n);
		else if (n == 0 && !strcmp(p->key, "omero.web.wsgi_workers"))
			add(c, FINDING_ERROR, p->key, "use at least 1",
			    "with 0 workers gunicorn serves no request");
	}
out:
	sbuf_release(&why);
}

static void
check_bool(struct vctx *c, const struct schema_prop *p, const char *v)
{
	if (cfg_looks_true(v))
		add(c, FINDING_WARNING, p->key, "use 'true' or 'false'",
		    "'%s' is read as false: parse_boolean accepts only "
		    "true, 1 and t (any case)", shown(p->key, v));
}

static void
expect_list_of_strings(struct vctx *c, const char *key, const json_t *j,
		       enum finding_severity sev)
{
	if (!json_is_array(j) || !all_strings(j))
		add(c, sev, key, NULL, "expected a JSON list of strings");
}

static void
check_apps(struct vctx *c, const char *key, const json_t *j)
{
	size_t i, k;
	json_t *x;

	if (!json_is_array(j) || !all_strings(j)) {
		add(c, FINDING_ERROR, key, "e.g. '[\"omero_figure\"]'",
		    "expected a JSON list of app names (strings): OMERO.web "
		    "will not start");
		return;
	}
	json_array_foreach(j, i, x) {
		const char *s = json_string_value(x);
		const char *q;
		int ok = *s != '\0' && *s != '.';

		for (q = s; *q && ok; q++)
			ok = isalnum((unsigned char)*q) || *q == '_' ||
			     (*q == '.' && q[1] && q[1] != '.');
		if (!ok || isdigit((unsigned char)*s))
			add(c, FINDING_ERROR, key, NULL,
			    "'%s' is not a Python module name",
			    shown(key, s));
		for (k = 0; k < i; k++)
			if (!strcmp(s, json_string_value(
					json_array_get(j, k)))) {
				add(c, FINDING_WARNING, key, NULL,
				    "app '%s' is listed more than once",
				    shown(key, s));
				break;
			}
	}
}

static void
check_middleware(struct vctx *c, const char *key, const json_t *j)
{
	size_t i;
	json_t *x;
	int session = 0;

	if (!json_is_array(j)) {
		add(c, FINDING_ERROR, key, NULL, "expected a JSON list of "
		    "{\"index\": N, \"class\": NAME} objects");
		return;
	}
	json_array_foreach(j, i, x) {
		json_t *cls = json_object_get(x, "class");
		json_t *idx = json_object_get(x, "index");

		if (!json_is_object(x) || !json_is_string(cls) ||
		    !json_is_number(idx)) {
			add(c, FINDING_ERROR, key, "e.g. {\"index\": 7, "
			    "\"class\": \"whitenoise.middleware."
			    "WhiteNoiseMiddleware\"}",
			    "entry %zu needs a string \"class\" and a number "
			    "\"index\": OMERO.web will not start", i + 1);
			continue;
		}
		if (!strcmp(json_string_value(cls), "django.contrib.sessions."
			    "middleware.SessionMiddleware"))
			session = 1;
	}
	if (!session)
		add(c, FINDING_WARNING, key, "keep {\"index\": 3, \"class\": "
		    "\"django.contrib.sessions.middleware.SessionMiddleware\"}",
		    "django.contrib.sessions.middleware.SessionMiddleware is "
		    "missing: nobody can log in");
}

static void
check_server_list(struct vctx *c, const char *key, const json_t *j)
{
	size_t i;
	json_t *x;

	if (!json_is_array(j) || !json_array_size(j)) {
		add(c, FINDING_ERROR, key, "e.g. '[[\"localhost\", 4064, "
		    "\"omero\"]]'", "expected a non-empty JSON list of "
		    "[host, port, name] entries");
		return;
	}
	json_array_foreach(j, i, x) {
		json_t *host = json_array_get(x, 0);
		json_t *port = json_array_get(x, 1);
		size_t len = json_array_size(x);

		if (!json_is_array(x) || len < 2 || len > 3 ||
		    !json_is_string(host) || !*json_string_value(host) ||
		    (len == 3 && !json_is_string(json_array_get(x, 2)))) {
			add(c, FINDING_ERROR, key, "e.g. [\"omero.example."
			    "org\", 4064, \"omero\"]", "entry %zu is not "
			    "[host, port, name]", i + 1);
			continue;
		}
		if (!json_is_integer(port) || json_integer_value(port) < 1 ||
		    json_integer_value(port) > 65535)
			add(c, FINDING_ERROR, key, NULL, "entry %zu: the port "
			    "must be an integer in 1..65535", i + 1);
	}
}

static void
check_caches_shape(struct vctx *c, const char *key, const json_t *j)
{
	json_t *def = json_object_get(j, "default");

	if (!json_is_object(j)) {
		add(c, FINDING_ERROR, key, NULL, "expected a JSON object "
		    "of cache aliases");
		return;
	}
	if (!json_is_object(def) ||
	    !json_is_string(json_object_get(def, "BACKEND")))
		add(c, FINDING_ERROR, key, "e.g. '{\"default\": {\"BACKEND\": "
		    "\"django_redis.cache.RedisCache\", \"LOCATION\": "
		    "\"redis://127.0.0.1:6379/0\"}}'",
		    "Django needs a \"default\" cache with a \"BACKEND\"");
}

static void
check_csrf_origins(struct vctx *c, const char *key, const json_t *j)
{
	size_t i;
	json_t *x;

	if (!json_is_array(j) || !all_strings(j)) {
		add(c, FINDING_ERROR, key, NULL,
		    "expected a JSON list of origins (strings)");
		return;
	}
	json_array_foreach(j, i, x) {
		const char *s = json_string_value(x);

		if (strstr(s, "://"))
			continue;
		/* Django 4.0 wants a scheme (check 4_0.E001); omero-web
		 * requires Django 4.2 from 5.23.0 */
		if (!c->have_target)
			add(c, FINDING_WARNING, key, "write "
			    "'https://host' instead",
			    "origin '%s' has no scheme: Django 4.0 and later "
			    "(omero-web 5.23.0 and later) refuse to start",
			    shown(key, s));
		else if (target_cmp(c, 5, 23, 0) >= 0)
			add(c, FINDING_ERROR, key, "write 'https://host' "
			    "instead", "origin '%s' has no scheme: the "
			    "Django of this omero-web refuses to start",
			    shown(key, s));
	}
}

static void
check_json(struct vctx *c, const struct schema_prop *p, const char *v)
{
	struct sbuf why = SBUF_INIT;
	const char *key = p->key;
	json_t *j;

	if (cfg_py_json(v, &why) < 0) {
		add(c, FINDING_ERROR, key, "check quotes: JSON strings use "
		    "double quotes", "value is not valid JSON: %s: OMERO.web "
		    "will not start", why.buf);
		sbuf_release(&why);
		return;
	}
	sbuf_release(&why);
	j = jload(v);
	if (!j)
		return;
	if (!strcmp(key, "omero.web.apps")) {
		check_apps(c, key, j);
	} else if (!strcmp(key, "omero.web.middleware")) {
		check_middleware(c, key, j);
	} else if (!strcmp(key, "omero.web.server_list")) {
		check_server_list(c, key, j);
	} else if (!strcmp(key, "omero.web.caches")) {
		check_caches_shape(c, key, j);
	} else if (!strcmp(key, "omero.web.csrf_trusted_origins")) {
		check_csrf_origins(c, key, j);
	} else if (!strcmp(key, "omero.web.allowed_hosts") ||
		   !strcmp(key, "omero.web.nginx_server_extra_config")) {
		expect_list_of_strings(c, key, j, FINDING_ERROR);
	} else if (!strcmp(key, "omero.web.secure_proxy_ssl_header")) {
		if (!json_is_array(j) || !all_strings(j) ||
		    (json_array_size(j) != 0 && json_array_size(j) != 2))
			add(c, FINDING_ERROR, key, "e.g. '[\"HTTP_X_FORWARDED_"
			    "PROTO\", \"https\"]'", "expected [] or a list of "
			    "two strings [HEADER, VALUE]");
		else if (json_array_size(j) == 2 &&
			 strncmp(json_string_value(json_array_get(j, 0)),
				 "HTTP_", 5))
			add(c, FINDING_WARNING, key, NULL, "Django sees "
			    "request headers as HTTP_NAME: '%s' never matches",
			    shown(key, json_string_value(json_array_get(j,
								       0))));
	} else if (!strcmp(key, "omero.web.django_additional_settings")) {
		size_t i;
		json_t *x;
		int ok = json_is_array(j);

		json_array_foreach(j, i, x)
			ok = ok && json_is_array(x) &&
			     json_array_size(x) == 2 &&
			     json_is_string(json_array_get(x, 0));
		if (!ok)
			add(c, FINDING_ERROR, key, "e.g. '[[\"NAME\", "
			    "\"value\"]]'", "expected a JSON list of "
			    "[NAME, value] pairs: OMERO.web will not start");
	} else if (!strcmp(key, "omero.web.databases")) {
		if (!json_is_object(j))
			add(c, FINDING_ERROR, key, NULL,
			    "expected a JSON object (Django DATABASES)");
	} else if ((p->flags & SCHEMA_F_JSON_LIST) && !json_is_array(j)) {
		add(c, FINDING_WARNING, key, NULL, "expected a JSON list");
	} else if ((p->flags & SCHEMA_F_JSON_OBJECT) && !json_is_object(j)) {
		add(c, FINDING_WARNING, key, NULL, "expected a JSON object");
	}
	json_decref(j);
}

/* The nginx location omero web config derives from a URL path. */
static void
check_url_path(struct vctx *c, const char *key, const char *v,
	       const char *what)
{
	size_t len = strlen(v);

	while (len && v[len - 1] == '/')
		len--;
	if (strstr(v, "://") || !strncmp(v, "//", 2))
		add(c, FINDING_ERROR, key, "serve static files from another "
		    "host without the generated nginx config, or use a path "
		    "such as '/static/'", "%s '%s' is an absolute URL: "
		    "'omero web config nginx' writes an invalid location",
		    what, shown(key, v));
	else if (!len)
		add(c, FINDING_ERROR, key, "use a path such as '/omero'",
		    "%s '%s' leaves an empty nginx location: the generated "
		    "config is broken", what, shown(key, v));
	else if (v[0] != '/')
		add(c, FINDING_ERROR, key, "start it with '/'",
		    "%s '%s' does not start with '/': the nginx location "
		    "never matches", what, shown(key, v));
}

static void
check_samesite(struct vctx *c, const char *key, const char *v)
{
	static const char *const ok[] = { "lax", "strict", "none", NULL };
	size_t i;

	for (i = 0; ok[i]; i++)
		if (!strcasecmp(v, ok[i]))
			return;
	add(c, FINDING_ERROR, key, "use 'Lax', 'Strict' or 'None'",
	    "Django refuses SameSite '%s' when it sets the cookie",
	    shown(key, v));
}

static void
check_serializer(struct vctx *c, const char *key, const char *v)
{
	if (!strstr(v, "PickleSerializer")) {
		if (!strchr(v, '.'))
			add(c, FINDING_ERROR, key, NULL, "'%s' is not a "
			    "dotted path to a serializer class", shown(key, v));
		return;
	}
	if (!c->have_target)
		add(c, FINDING_WARNING, key, "remove the setting (JSON is the "
		    "default since omero-web 5.30.0) and clear the sessions",
		    "PickleSerializer was removed in Django 5.0: omero-web "
		    "5.30.0 and later fail to start with it "
		    "(ome/omero-web#625)");
	else if (target_cmp(c, 5, 30, 0) >= 0)
		add(c, FINDING_ERROR, key, "remove the setting (JSON is the "
		    "default) and clear the sessions",
		    "PickleSerializer is gone from the Django this omero-web "
		    "uses: OMERO.web will not start (ome/omero-web#625)");
	else
		add(c, FINDING_INFO, key, "remove it before upgrading",
		    "PickleSerializer must go when upgrading to omero-web "
		    "5.30.0 or later (ome/omero-web#625)");
}

/* Checks of one value on its own. */
static void
check_value(struct vctx *c, const struct schema_prop *p, const char *v)
{
	const char *key = p->key;
	const char *why;

	switch (p->parser) {
	case SCHEMA_P_INT:
	case SCHEMA_P_LEAVE_NONE_UNSET_INT:
		check_int(c, p, v);
		break;
	case SCHEMA_P_BOOL:
		check_bool(c, p, v);
		break;
	case SCHEMA_P_JSON:
		check_json(c, p, v);
		break;
	case SCHEMA_P_SERVER_TYPE:
		if (!in_list(v, server_types))
			add(c, FINDING_ERROR, key, "use 'wsgi-tcp'",
			    "unknown server type '%s' (wsgi-tcp, wsgi or "
			    "development): OMERO.web will not start",
			    shown(key, v));
		else if (!strcmp(v, "wsgi"))
			add(c, FINDING_WARNING, key, NULL, "'wsgi' means "
			    "Apache mod_wsgi: 'omero web start' and owctl "
			    "do not run OMERO.web then");
		else if (!strcmp(v, "development"))
			add(c, FINDING_WARNING, key, NULL, "'development' "
			    "runs Django's development server: not for "
			    "production, no nginx config");
		break;
	case SCHEMA_P_SESSION_ENGINE:
		if (!in_list(v, session_engines))
			add(c, FINDING_ERROR, key, "e.g. 'django.contrib."
			    "sessions.backends.file'", "unknown session "
			    "engine '%s': OMERO.web will not start",
			    shown(key, v));
		else if (!strcmp(v, "omeroweb.filesessionstore"))
			add(c, FINDING_WARNING, key, "use 'django.contrib."
			    "sessions.backends.file'",
			    "omeroweb.filesessionstore is deprecated "
			    "(ome/omero-web#486)");
		break;
	case SCHEMA_P_WORKER_CLASS:
		if (!strcmp(v, "gevent"))
			add(c, FINDING_INFO, key, NULL, "gevent workers need "
			    "the gevent package in OMERO.web's virtualenv");
		else if (strcmp(v, "sync"))
			add(c, FINDING_ERROR, key, "use 'sync' or 'gevent'",
			    "worker class '%s': 'omero web start' accepts only "
			    "sync and gevent", shown(key, v));
		break;
	case SCHEMA_P_TIMEZONE:
		check_timezone(c, key, v);
		break;
	case SCHEMA_P_REGEX:
		why = check_regex(v);
		if (why)
			add(c, FINDING_ERROR, key, NULL, "'%s' is not a Python "
			    "regular expression (%s): OMERO.web will not start",
			    shown(key, v), why);
		break;
	case SCHEMA_P_NORMPATH:
		if (v[0] != '/')
			add(c, FINDING_WARNING, key, "use an absolute path",
			    "'%s' is relative: collectstatic resolves it from "
			    "the omeroweb package directory", shown(key, v));
		break;
	case SCHEMA_P_STR_SLASH:
		check_url_path(c, key, v, "static URL");
		break;
	case SCHEMA_P_STR:
	case SCHEMA_P_IDENTITY:
	case SCHEMA_P_LEAVE_NONE_UNSET:
	case SCHEMA_P_COUNT:
		break;
	}

	if (!strcmp(key, "omero.web.prefix") ||
	    !strcmp(key, "omero.web.force_script_name"))
		check_url_path(c, key, v, "prefix");
	else if (!strcmp(key, "omero.web.logdir") && v[0] != '/')
		add(c, FINDING_WARNING, key, "use an absolute path",
		    "'%s' is relative to the omeroweb package directory",
		    shown(key, v));
	else if (!strcmp(key, "omero.web.session_serializer"))
		check_serializer(c, key, v);
	else if (!strcmp(key, "omero.web.csrf_cookie_samesite") ||
		 !strcmp(key, "omero.web.session_cookie_samesite"))
		check_samesite(c, key, v);
	else if (!strcmp(key, "omero.web.secret_key")) {
		if (!*v)
			add(c, FINDING_ERROR, key, "remove it to use "
			    "$OMERODIR/var/django_secret_key",
			    "an empty secret key: Django refuses to start");
		else
			add(c, FINDING_INFO, key, NULL, "the secret key is "
			    "kept in config.xml in clear text and shown by "
			    "'omero config get'");
	} else if (!strcmp(key, "omero.web.wsgi_args")) {
		if (strpbrk(v, "\"'\\"))
			add(c, FINDING_WARNING, key, NULL, "the arguments are "
			    "split on whitespace without shell quoting: "
			    "quotes reach gunicorn as is");
	} else if (!strcmp(key, "omero.web.x_frame_options") &&
		   strcasecmp(v, "DENY") && strcasecmp(v, "SAMEORIGIN")) {
		add(c, FINDING_WARNING, key, "use 'SAMEORIGIN' or 'DENY'",
		    "browsers ignore X-Frame-Options '%s'", shown(key, v));
	}
}

/* ---- checks across keys ----------------------------------------------- */

static void
check_deprecated(struct vctx *c, const struct schema_prop *p)
{
	const char *rep = p->replacement;

	if (rep && get(c, rep))
		add(c, FINDING_ERROR, p->key, "remove the deprecated key",
		    "both '%s' and its replacement '%s' are set%s",
		    p->key, rep, (p->flags & SCHEMA_F_HONOURED) ?
		    ": OMERO.web logs an error and uses the replacement" :
		    ": only the replacement counts");
	else if (rep && (p->flags & SCHEMA_F_HONOURED))
		add(c, FINDING_WARNING, p->key, NULL,
		    "'%s' is deprecated: use '%s'", p->key, rep);
	else if (rep)
		add(c, FINDING_WARNING, p->key, NULL, "'%s' is deprecated "
		    "and has no effect: use '%s'", p->key, rep);
	else
		add(c, FINDING_WARNING, p->key, "add django.middleware."
		    "common.BrokenLinkEmailsMiddleware to omero.web.middleware "
		    "and set omero.web.admins", "'%s' is deprecated and has "
		    "no effect", p->key);
}

/* The value of key, or its default when unset (NULL for None). */
static const char *
value_or_default(const struct vctx *c, const char *key)
{
	const char *v = get(c, key);
	const struct schema_prop *p;

	if (v)
		return v;
	p = schema_find(key);
	return p && p->default_kind == SCHEMA_DEF_VALUE ?
	       p->default_value : NULL;
}

static void
check_sessions(struct vctx *c)
{
	const char *key = "omero.web.session_engine";
	const char *engine = value_or_default(c, key);
	const char *caches = value_or_default(c, "omero.web.caches");
	const char *dbs = value_or_default(c, "omero.web.databases");
	const char *backend = NULL;
	long long workers = 5;
	json_t *j = NULL, *d;

	if (!engine)
		return;
	if (!strcmp(engine, "django.contrib.sessions.backends.db") ||
	    !strcmp(engine, "django.contrib.sessions.backends.cached_db")) {
		d = dbs ? jload(dbs) : NULL;
		if (d && json_is_object(d) && !json_object_size(d))
			add(c, FINDING_ERROR, key, "set omero.web.databases "
			    "or use another engine", "the session engine "
			    "'%s' needs a database, but omero.web.databases "
			    "is empty", engine);
		json_decref(d);
	}
	if (strcmp(engine, "django.contrib.sessions.backends.cache"))
		return;
	j = caches ? jload(caches) : NULL;
	d = json_object_get(j, "default");
	if (json_is_object(d))
		backend = json_string_value(json_object_get(d, "BACKEND"));
	if (!backend)
		goto out;
	if (get(c, "omero.web.wsgi_workers"))
		cfg_py_int(get(c, "omero.web.wsgi_workers"), &workers, NULL);
	if (strstr(backend, "DummyCache"))
		add(c, FINDING_ERROR, key, "configure a shared cache such as "
		    "Redis in omero.web.caches", "the cache session engine "
		    "with the dummy cache stores nothing: every session is "
		    "lost at once");
	else if (strstr(backend, "LocMemCache"))
		add(c, workers > 1 ? FINDING_ERROR : FINDING_WARNING, key,
		    "configure a shared cache such as Redis in "
		    "omero.web.caches", "the cache session engine with the "
		    "per-process LocMemCache loses sessions at restart%s",
		    workers > 1 ? " and between gunicorn workers" : "");
	else if (!strcmp(backend, "django.core.cache.backends.redis."
			 "RedisCache") && c->have_target &&
		 target_cmp(c, 5, 23, 0) < 0)
		add(c, FINDING_WARNING, "omero.web.caches",
		    "use django_redis.cache.RedisCache", "Django's own "
		    "RedisCache needs Django 4.0 (omero-web 5.23.0 and "
		    "later)");
out:
	json_decref(j);
}

static void
check_cross(struct vctx *c)
{
	const char *v;

	check_sessions(c);
	v = get(c, "omero.web.debug");
	if (v && cfg_py_bool(v))
		add(c, FINDING_WARNING, "omero.web.debug", "set it to "
		    "'false' in production", "debug mode logs sensitive "
		    "information and shows tracebacks to users");

	v = get(c, "omero.web.public.enabled");
	if (v && cfg_py_bool(v) && (!get(c, "omero.web.public.user") ||
				    !get(c, "omero.web.public.password")))
		add(c, FINDING_WARNING, "omero.web.public.enabled",
		    "set omero.web.public.user and omero.web.public.password",
		    "the public user is enabled without its credentials");
}

static void
validate_all(struct vctx *c)
{
	const struct cfg_kv *kv = c->kv;
	size_t n = c->n, i, k;

	for (i = 0; i < n; i++) {
		const char *key = kv[i].key;
		const struct schema_prop *p;
		size_t times = 1;
		int later = 0;

		for (k = 0; k < n; k++) {
			if (k == i || strcmp(kv[k].key, key))
				continue;
			if (k < i)
				break;
			times++;
			later = 1;
		}
		if (k < n && k < i)
			continue;	/* reported at the first one */
		if (later)
			add(c, FINDING_WARNING, key, NULL, "'%s' is set %zu "
			    "times: the last value counts", key, times);
		p = schema_find(key);
		if (!p) {
			if (!strncmp(key, "omero.web.", 10))
				add(c, FINDING_WARNING, key, "check the "
				    "spelling, or the app in omero.web.apps "
				    "that reads it", "'%s' is not an OMERO.web "
				    "setting (it may be a plugin's)", key);
			continue;
		}
		check_value(c, p, get(c, key));
		if (p->mapping == SCHEMA_DEPRECATED && !c->value_only)
			check_deprecated(c, p);
	}
	if (!c->value_only)
		check_cross(c);
}

int
cfg_validate(const struct cfg_kv *kv, size_t n, const char *target,
	     const char *omerodir, struct finding_list *out, struct err *e)
{
	struct vctx c = { kv, n, 0, { 0, 0, 0 }, omerodir, out, 0 };

	if (target) {
		if (parse_target(target, c.target) < 0)
			return err_set(e, ERR_BADVALUE, "invalid target "
				       "version '%s'", target);
		c.have_target = 1;
	}
	validate_all(&c);
	return 0;
}

/* ---- explain ---------------------------------------------------------- */

static const char *
type_text(const struct schema_prop *p)
{
	switch (p->parser) {
	case SCHEMA_P_STR:
		return "string";
	case SCHEMA_P_IDENTITY:
		return "string, used as is";
	case SCHEMA_P_INT:
		return "integer";
	case SCHEMA_P_JSON:
		if (p->flags & SCHEMA_F_JSON_LIST)
			return "JSON list";
		if (p->flags & SCHEMA_F_JSON_OBJECT)
			return "JSON object";
		return "JSON";
	case SCHEMA_P_BOOL:
		return "boolean: true, 1 or t (any case); anything else is "
		       "false";
	case SCHEMA_P_STR_SLASH:
		return "URL path; a '/' is appended";
	case SCHEMA_P_NORMPATH:
		return "directory path, normalised";
	case SCHEMA_P_SERVER_TYPE:
		return "one of wsgi-tcp, wsgi, development";
	case SCHEMA_P_SESSION_ENGINE:
		return "Django session engine: django.contrib.sessions."
		       "backends.{file,cache,db,cached_db}";
	case SCHEMA_P_WORKER_CLASS:
		return "gunicorn worker class: sync or gevent";
	case SCHEMA_P_TIMEZONE:
		return "time zone name (tz database)";
	case SCHEMA_P_REGEX:
		return "Python regular expression";
	case SCHEMA_P_LEAVE_NONE_UNSET:
		return "string; unset leaves Django's default";
	case SCHEMA_P_LEAVE_NONE_UNSET_INT:
		return "integer; unset leaves Django's default";
	case SCHEMA_P_COUNT:
		break;
	}
	return "?";
}

int
cfg_explain(const char *key, const char *current, const char *omerodir,
	    unsigned int flags, struct sbuf *out)
{
	const struct schema_prop *p = schema_find(key);
	struct finding_list fl = FINDING_LIST_INIT;
	struct cfg_kv kv = { key, current };
	struct vctx c = { &kv, 1, 0, { 0, 0, 0 }, omerodir, &fl, 1 };
	char *def;
	size_t i;

	sbuf_addf(out, "%s\n", key);
	if (!p) {
		sbuf_addf(out, "  not a setting of OMERO.web itself%s\n",
			  strncmp(key, "omero.web.", 10) ? "" :
			  " (an app in omero.web.apps may read it)");
	} else {
		sbuf_addf(out, "  type: %s (%s)\n", type_text(p),
			  schema_parser_name(p->parser));
		def = schema_default_string(p, omerodir, NULL);
		if (def)
			sbuf_addf(out, "  default: %s\n", def);
		else
			sbuf_addf(out, "  default: none (%s)\n",
				  p->parser == SCHEMA_P_IDENTITY ?
				  "Django gets None" :
				  "the Django setting is left unset");
		free(def);
		sbuf_addf(out, "  Django setting: %s (%s)\n", p->django,
			  schema_mapping_name(p->mapping));
	}
	if (!current)
		sbuf_adds(out, "  current: not set\n");
	else if (schema_is_secret(key) && !(flags & CFG_EXPLAIN_SHOW_SECRETS))
		sbuf_adds(out, "  current: ******** (secret)\n");
	else
		sbuf_addf(out, "  current: %s\n", current);
	if (p && (p->flags & SCHEMA_F_WHERE_MASK)) {
		sbuf_adds(out, "  matters for: ");
		schema_where_text(p->flags, out);
		sbuf_addch(out, '\n');
	}
	if (p && p->mapping == SCHEMA_DEPRECATED) {
		if (p->replacement)
			sbuf_addf(out, "  deprecated: use %s%s\n",
				  p->replacement,
				  (p->flags & SCHEMA_F_HONOURED) ?
				  " (still read while that is unset)" :
				  " (this key has no effect)");
		else
			sbuf_adds(out, "  deprecated: no effect\n");
	}
	if (p && p->note)
		sbuf_addf(out, "  note: %s\n", p->note);
	if (current && p) {
		validate_all(&c);
		for (i = 0; i < fl.n; i++)
			sbuf_addf(out, "  %s: %s\n",
				  finding_severity_name(fl.v[i].severity),
				  fl.v[i].message);
		if (!finding_list_count(&fl, FINDING_ERROR))
			sbuf_adds(out, "  value: accepted by OMERO.web\n");
	}
	finding_list_release(&fl);
	return 0;
}
