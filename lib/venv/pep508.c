/*
 * PEP 508 requirements and markers, following packaging 23's hand-written
 * parser (_parser.py) and its context-sensitive tokenizer (_tokenizer.py):
 * each token is a regular expression tried at the current position.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "venv/pep508.h"
#include "xalloc.h"
#include "banned.h"

static const char *const var_names[PEP508_NVARS] = {
	[PEP508_PYTHON_VERSION] = "python_version",
	[PEP508_PYTHON_FULL_VERSION] = "python_full_version",
	[PEP508_OS_NAME] = "os_name",
	[PEP508_SYS_PLATFORM] = "sys_platform",
	[PEP508_PLATFORM_RELEASE] = "platform_release",
	[PEP508_PLATFORM_SYSTEM] = "platform_system",
	[PEP508_PLATFORM_VERSION] = "platform_version",
	[PEP508_PLATFORM_MACHINE] = "platform_machine",
	[PEP508_PLATFORM_PYTHON_IMPLEMENTATION] =
		"platform_python_implementation",
	[PEP508_IMPLEMENTATION_NAME] = "implementation_name",
	[PEP508_IMPLEMENTATION_VERSION] = "implementation_version",
	[PEP508_EXTRA] = "extra",
};

const char *
pep508_var_name(enum pep508_var v)
{
	return v < PEP508_NVARS ? var_names[v] : "?";
}

/* A marker: a list of atoms joined by "and"/"or", or a comparison. */
struct pep508_marker {
	int is_list;
	/* comparison */
	int lhs_var, rhs_var;	/* the side is a variable (its name) */
	char *lhs, *rhs, *op;
	/* list: kids[0] or_[0] kids[1] ...: or_[i] is 1 when "or" joins
	 * kids[i] and kids[i + 1], 0 for "and" */
	struct pep508_marker **kids;
	int *or_;
	size_t n, alloc;
};

static void
marker_free(struct pep508_marker *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		marker_free(m->kids[i]);
	free(m->kids);
	free(m->or_);
	free(m->lhs);
	free(m->rhs);
	free(m->op);
	free(m);
}

char *
pep508_normalize_name(const char *name)
{
	struct sbuf sb = SBUF_INIT;

	for (const char *p = name; *p;) {
		if (*p == '-' || *p == '_' || *p == '.') {
			while (*p == '-' || *p == '_' || *p == '.')
				p++;
			sbuf_addch(&sb, '-');
			continue;
		}
		sbuf_addch(&sb, *p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		p++;
	}
	return sbuf_detach(&sb, NULL);
}

/* The tokenizer's state and the first error. */
struct tok {
	const char *s;
	size_t pos, len;
	const char *expected;	/* set on the first error */
	size_t err_pos;
	int depth;		/* of parentheses in a marker */
};

/* packaging stops at Python's recursion limit (about 1000 / 3 levels) */
#define MAX_MARKER_DEPTH 100

static int
fail(struct tok *t, const char *expected)
{
	if (!t->expected) {
		t->expected = expected;
		t->err_pos = t->pos;
	}
	return -1;
}

static int
is_word(unsigned char c)
{
	/* \w; non-ASCII bytes count as word characters (letters, mostly) */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

static int
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* \b at position i */
static int
boundary(const struct tok *t, size_t i)
{
	int before = i > 0 && is_word((unsigned char)t->s[i - 1]);
	int after = i < t->len && is_word((unsigned char)t->s[i]);

	return before != after;
}

static void
ws(struct tok *t)
{
	while (t->pos < t->len && (t->s[t->pos] == ' ' || t->s[t->pos] == '\t'))
		t->pos++;
}

static int
at_ws(const struct tok *t)
{
	return t->pos < t->len && (t->s[t->pos] == ' ' || t->s[t->pos] == '\t');
}

/* "$": the end, or just before a final newline */
static int
at_end(const struct tok *t)
{
	return t->pos == t->len ||
	       (t->pos + 1 == t->len && t->s[t->pos] == '\n');
}

static int
at_char(const struct tok *t, char c)
{
	return t->pos < t->len && t->s[t->pos] == c;
}

/* \bWORD\b at the current position; returns its length or 0 */
static size_t
keyword(const struct tok *t, const char *w)
{
	size_t n = strlen(w);

	if (!boundary(t, t->pos) || strncmp(t->s + t->pos, w, n) ||
	    !boundary(t, t->pos + n))
		return 0;
	return n;
}

/* IDENTIFIER: \b[a-zA-Z0-9][a-zA-Z0-9._-]*\b */
static size_t
identifier(const struct tok *t)
{
	size_t i = t->pos, end;

	if (i >= t->len || !is_alnum((unsigned char)t->s[i]) || !boundary(t, i))
		return 0;
	end = i + 1;
	while (end < t->len && (is_alnum((unsigned char)t->s[end]) ||
				t->s[end] == '.' || t->s[end] == '_' ||
				t->s[end] == '-'))
		end++;
	for (; end > i; end--)
		if (boundary(t, end))
			return end - i;
	return 0;
}

/*
 * The SPECIFIER token: packaging's specifier regex without anchors, so the
 * longest prefix its greedy alternatives give (the version text is checked
 * again by pep440_specset_parse).
 */
static int
py_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static int
sep(unsigned char c)
{
	return c == '-' || c == '_' || c == '.';
}

static size_t
ndigits(const char *s)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

static size_t
match_ci(const char *s, const char *w)
{
	size_t i;

	for (i = 0; w[i]; i++) {
		char c = s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i];

		if (c != w[i])
			return 0;
	}
	return i;
}

/* [-_.]? (label) [-_.]? [0-9]* ; 0 when it does not match */
static size_t
labelled(const char *s, const char *const *labels)
{
	for (int sep1 = 1; sep1 >= 0; sep1--) {
		size_t j = 0;

		if (sep1) {
			if (!sep((unsigned char)s[0]))
				continue;
			j = 1;
		}
		for (const char *const *l = labels; *l; l++) {
			size_t n = match_ci(s + j, *l);

			if (!n)
				continue;
			j += n;
			if (sep((unsigned char)s[j]))
				j++;
			return j + ndigits(s + j);
		}
	}
	return 0;
}

static size_t
spec_token(const char *s)
{
	static const char *const ops[] = {
		"~=", "==", "!=", "<=", ">=", "<", ">", "===", NULL
	};
	static const char *const pre[] = {
		"alpha", "beta", "preview", "pre", "a", "b", "c", "rc", NULL
	};
	static const char *const post[] = { "post", "rev", "r", NULL };
	static const char *const dev[] = { "dev", NULL };
	const char *op = NULL, *p;
	size_t i, d;

	for (i = 0; ops[i]; i++)
		if (!strncmp(s, ops[i], strlen(ops[i])) &&
		    !(i == 1 && s[2] == '='))
			break;
	if (!ops[i])
		return 0;
	op = ops[i];
	p = s + strlen(op);
	while (py_space((unsigned char)*p))
		p++;
	if (!strcmp(op, "===")) {
		while (*p && !py_space((unsigned char)*p) && *p != ';' &&
		       *p != ')')
			p++;
		return (size_t)(p - s);
	}
	if (*p == 'v' || *p == 'V')
		p++;
	d = ndigits(p);
	if (d && p[d] == '!')
		p += d + 1;
	if (!(d = ndigits(p)))
		return 0;
	p += d;
	i = 1;
	while (*p == '.' && (d = ndigits(p + 1))) {
		p += 1 + d;
		i++;
	}
	if (!strcmp(op, "~=") && i < 2)
		return 0;
	if ((!strcmp(op, "==") || !strcmp(op, "!=")) && p[0] == '.' &&
	    p[1] == '*')
		return (size_t)(p + 2 - s);
	p += labelled(p, pre);
	if (*p == '-' && (d = ndigits(p + 1)))
		p += 1 + d;
	else
		p += labelled(p, post);
	p += labelled(p, dev);
	if ((!strcmp(op, "==") || !strcmp(op, "!=")) && *p == '+' &&
	    is_alnum((unsigned char)p[1])) {
		p++;
		while (is_alnum((unsigned char)*p))
			p++;
		while (sep((unsigned char)*p) && is_alnum((unsigned char)p[1]))
			for (p++; is_alnum((unsigned char)*p); p++)
				;
	}
	return (size_t)(p - s);
}

/* version_many = (SPECIFIER (WS? COMMA WS? SPECIFIER)*)? */
static void
version_many(struct tok *t, struct sbuf *out)
{
	size_t n;

	while ((n = spec_token(t->s + t->pos))) {
		sbuf_add(out, t->s + t->pos, n);
		t->pos += n;
		ws(t);
		if (!at_char(t, ','))
			break;
		sbuf_addch(out, ',');
		t->pos++;
		ws(t);
	}
}

static const struct {
	const char *text;
	const char *name;
} marker_vars[] = {	/* the VARIABLE alternation, in order */
	{ "python_version", "python_version" },
	{ "python_full_version", "python_full_version" },
	{ "os_name", "os_name" }, { "os.name", "os_name" },
	{ "sys_platform", "sys_platform" }, { "sys.platform", "sys_platform" },
	{ "platform_release", "platform_release" },
	{ "platform_system", "platform_system" },
	{ "platform_version", "platform_version" },
	{ "platform.version", "platform_version" },
	{ "platform_machine", "platform_machine" },
	{ "platform.machine", "platform_machine" },
	{ "platform_python_implementation",
	  "platform_python_implementation" },
	{ "platform.python_implementation",
	  "platform_python_implementation" },
	{ "python_implementation", "platform_python_implementation" },
	{ "implementation_name", "implementation_name" },
	{ "implementation_version", "implementation_version" },
	{ "extra", "extra" },
};

/* marker_var = VARIABLE | QUOTED_STRING */
static int
marker_var(struct tok *t, int *is_var, char **out)
{
	char q;
	const char *end;

	for (size_t i = 0; i < sizeof(marker_vars) / sizeof(marker_vars[0]);
	     i++) {
		size_t n = keyword(t, marker_vars[i].text);

		if (n) {
			t->pos += n;
			*is_var = 1;
			*out = xstrdup(marker_vars[i].name);
			return 0;
		}
	}
	q = t->pos < t->len ? t->s[t->pos] : '\0';
	if (q != '"' && q != '\'')
		return fail(t, "a marker variable or quoted string");
	end = strchr(t->s + t->pos + 1, q);
	if (!end)
		return fail(t, "a marker variable or quoted string");
	*out = xstrndup(t->s + t->pos + 1, (size_t)(end - t->s) - t->pos - 1);
	if (strpbrk(*out, "\\\r\n")) {
		free(*out);
		*out = NULL;
		return fail(t, "a quoted string without backslashes or line "
			    "breaks");
	}
	t->pos = (size_t)(end - t->s) + 1;
	*is_var = 0;
	return 0;
}

/* marker_op = IN | NOT WS IN | OP */
static int
marker_op(struct tok *t, char **out)
{
	static const char *const ops[] = {
		"===", "==", "~=", "!=", "<=", ">=", "<", ">", NULL
	};
	size_t n;

	if ((n = keyword(t, "in"))) {
		t->pos += n;
		*out = xstrdup("in");
		return 0;
	}
	if ((n = keyword(t, "not"))) {
		t->pos += n;
		if (!at_ws(t))
			return fail(t, "whitespace after 'not'");
		ws(t);
		if (!(n = keyword(t, "in")))
			return fail(t, "'in' after 'not'");
		t->pos += n;
		*out = xstrdup("not in");
		return 0;
	}
	for (size_t i = 0; ops[i]; i++)
		if (!strncmp(t->s + t->pos, ops[i], strlen(ops[i]))) {
			t->pos += strlen(ops[i]);
			*out = xstrdup(ops[i]);
			return 0;
		}
	return fail(t, "marker operator, one of <=, <, !=, ==, >=, >, ~=, "
		    "===, in, not in");
}

static struct pep508_marker *parse_marker(struct tok *t);

/* marker_atom = WS? '(' WS? marker WS? ')' WS? | WS? marker_item WS? */
static struct pep508_marker *
parse_atom(struct tok *t)
{
	struct pep508_marker *m;

	ws(t);
	if (at_char(t, '(')) {
		if (++t->depth > MAX_MARKER_DEPTH) {
			fail(t, "at most 100 nested parentheses");
			return NULL;
		}
		t->pos++;
		ws(t);
		if (!(m = parse_marker(t)))
			return NULL;
		t->depth--;
		ws(t);
		if (!at_char(t, ')')) {
			fail(t, "closing RIGHT_PARENTHESIS");
			marker_free(m);
			return NULL;
		}
		t->pos++;
		ws(t);
		return m;
	}
	m = xcalloc(1, sizeof(*m));
	if (marker_var(t, &m->lhs_var, &m->lhs) < 0)
		goto bad;
	ws(t);
	if (marker_op(t, &m->op) < 0)
		goto bad;
	ws(t);
	if (marker_var(t, &m->rhs_var, &m->rhs) < 0)
		goto bad;
	ws(t);
	return m;
bad:
	marker_free(m);
	return NULL;
}

/* marker = marker_atom (BOOLOP marker_atom)* */
static struct pep508_marker *
parse_marker(struct tok *t)
{
	struct pep508_marker *list = xcalloc(1, sizeof(*list)), *m;
	size_t n;

	list->is_list = 1;
	for (;;) {
		if (!(m = parse_atom(t))) {
			marker_free(list);
			return NULL;
		}
		XGROW(list->kids, list->alloc, list->n + 1);
		list->or_ = xrealloc(list->or_, list->alloc *
				     sizeof(*list->or_));
		list->kids[list->n++] = m;
		if ((n = keyword(t, "or"))) {
			list->or_[list->n - 1] = 1;
		} else if ((n = keyword(t, "and"))) {
			list->or_[list->n - 1] = 0;
		} else {
			break;
		}
		t->pos += n;
	}
	return list;
}

void
pep508_release(struct pep508_req *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->key);
	strv_release(&r->extras);
	free(r->specifier);
	pep440_specset_release(&r->spec);
	free(r->url);
	free(r->marker_text);
	marker_free(r->marker);
	memset(r, 0, sizeof(*r));
}

/*
 * Requirement's URL check through urllib.parse: "file:" URLs must survive
 * urlunparse(urlparse(url)) unchanged (lower-case "file://", no tab or line
 * break, no empty query or fragment); others need a scheme and a netloc
 * once tabs and line breaks are dropped.
 */
static int
valid_url(const char *u)
{
	struct sbuf sb = SBUF_INIT;
	const char *c, *p;
	int ok = 0;

	if (!strncmp(u, "file:", 5)) {
		size_t n = strlen(u);

		return !strncmp(u, "file://", 7) && !strpbrk(u, "\t\r\n") &&
		       u[n - 1] != '?' && u[n - 1] != '#';
	}
	for (p = u; *p; p++)
		if (*p != '\t' && *p != '\r' && *p != '\n')
			sbuf_addch(&sb, *p);
	c = strchr(sb.buf, ':');
	if (c && c > sb.buf && ((sb.buf[0] >= 'a' && sb.buf[0] <= 'z') ||
				(sb.buf[0] >= 'A' && sb.buf[0] <= 'Z'))) {
		ok = 1;
		for (p = sb.buf; p < c; p++)
			if (!is_alnum((unsigned char)*p) && *p != '+' &&
			    *p != '-' && *p != '.')
				ok = 0;
		if (ok && !strncasecmp(sb.buf, "file", 4) && c - sb.buf == 4)
			ok = 0;		/* "FILE:" fails the round trip */
		ok = ok && c[1] == '/' && c[2] == '/' && c[3] &&
		     !strchr("/?#", c[3]);
	}
	sbuf_release(&sb);
	return ok;
}

/* requirement_marker = SEMICOLON marker WS? */
static int
requirement_marker(struct tok *t, struct pep508_req *r, const char *after)
{
	size_t start;

	if (!at_char(t, ';'))
		return fail(t, after);
	t->pos++;
	start = t->pos;
	if (!(r->marker = parse_marker(t)))
		return -1;
	ws(t);
	r->marker_text = xstrndup(t->s + start, t->pos - start);
	/* trim what the grammar allowed around it */
	{
		char *m = r->marker_text, *end = m + strlen(m);

		while (*m == ' ' || *m == '\t')
			m++;
		while (end > m && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		memmove(r->marker_text, m, (size_t)(end - m));
		r->marker_text[end - m] = '\0';
	}
	return 0;
}

static int
parse_req(struct tok *t, struct pep508_req *r, struct err *e)
{
	struct sbuf spec = SBUF_INIT;
	size_t n;

	ws(t);
	if (!(n = identifier(t)))
		return fail(t, "package name at the start of dependency "
			    "specifier");
	r->name = xstrndup(t->s + t->pos, n);
	r->key = pep508_normalize_name(r->name);
	t->pos += n;
	ws(t);
	if (at_char(t, '[')) {		/* extras */
		t->pos++;
		ws(t);
		if ((n = identifier(t))) {
			strv_push_nodup(&r->extras, xstrndup(t->s + t->pos, n));
			t->pos += n;
			for (;;) {
				ws(t);
				if (identifier(t))
					return fail(t, "comma between extra "
						    "names");
				if (!at_char(t, ','))
					break;
				t->pos++;
				ws(t);
				if (!(n = identifier(t)))
					return fail(t, "extra name after "
						    "comma");
				strv_push_nodup(&r->extras,
						xstrndup(t->s + t->pos, n));
				t->pos += n;
			}
		}
		ws(t);
		if (!at_char(t, ']'))
			return fail(t, "closing RIGHT_BRACKET");
		t->pos++;
	}
	ws(t);
	if (at_char(t, '@')) {
		size_t start;

		t->pos++;
		ws(t);
		start = t->pos;
		while (t->pos < t->len && t->s[t->pos] != ' ' &&
		       t->s[t->pos] != '\t')
			t->pos++;
		if (t->pos == start)
			return fail(t, "URL after @");
		r->url = xstrndup(t->s + start, t->pos - start);
		r->specifier = xstrdup("");
		if (!at_end(t)) {
			if (!at_ws(t))
				return fail(t, "whitespace after URL");
			ws(t);
			if (!at_end(t) && requirement_marker(t, r, "end or "
				"semicolon (after URL and whitespace)") < 0)
				return -1;
		}
		if (!valid_url(r->url))
			return fail(t, "a valid URL");
	} else {
		if (at_char(t, '(')) {
			t->pos++;
			ws(t);
			version_many(t, &spec);
			ws(t);
			if (!at_char(t, ')')) {
				sbuf_release(&spec);
				return fail(t, "closing RIGHT_PARENTHESIS");
			}
			t->pos++;
		} else {
			version_many(t, &spec);
		}
		r->specifier = sbuf_detach(&spec, NULL);
		ws(t);
		if (!at_end(t) &&
		    requirement_marker(t, r, *r->specifier ?
				       "end or semicolon (after version "
				       "specifier)" :
				       "end or semicolon (after name and no "
				       "valid version specifier)") < 0)
			return -1;
	}
	if (!at_end(t))
		return fail(t, "end of dependency specifier");
	if (pep440_specset_parse(&r->spec, r->specifier, e) < 0)
		return -2;
	return 0;
}

int
pep508_parse(struct pep508_req *r, const char *s, struct err *e)
{
	struct tok t = { s, 0, strlen(s), NULL, 0, 0 };
	struct err sub = ERR_INIT;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = parse_req(&t, r, &sub);
	if (rc == 0)
		return 0;
	pep508_release(r);
	if (rc == -2)
		err_set(e, ERR_BADVALUE, "invalid requirement '%s': %s", s,
			sub.msg);
	else
		err_set(e, ERR_BADVALUE, "invalid requirement '%s': expected "
			"%s at position %zu", s, t.expected, t.err_pos);
	err_clear(&sub);
	return -1;
}

/*
 * Evaluation.
 */
/* T_RAISE: packaging raises; it evaluates every comparison, so one such
 * comparison decides the whole marker */
enum { T_FALSE = 0, T_TRUE = 1, T_UNKNOWN = -1, T_RAISE = -2 };

static int
env_index(const char *name)
{
	for (int i = 0; i < PEP508_NVARS; i++)
		if (!strcmp(var_names[i], name))
			return i;
	return -1;
}

static void
note(struct sbuf *why, const char *name)
{
	const char *p;
	size_t n = strlen(name);

	if (!why)
		return;
	for (p = why->buf; (p = strstr(p, name)); p += n)
		if ((p == why->buf || p[-1] == ' ') &&
		    (p[n] == ',' || p[n] == '\0'))
			return;
	sbuf_addf(why, "%s%s", why->len ? ", " : "", name);
}

/* _eval_op: a version comparison when op+rhs is a specifier, else str ops */
static int
eval_op(const char *lhs, const char *op, const char *rhs)
{
	struct pep440_spec sp;
	struct pep440_version v = PEP440_VERSION_INIT;
	struct sbuf text = SBUF_INIT;
	int c, r;

	sbuf_addf(&text, "%s%s", op, rhs);
	r = pep440_spec_parse(&sp, text.buf, NULL);
	sbuf_release(&text);
	if (r == 0) {
		if (pep440_parse(&v, lhs, NULL) < 0) {
			r = T_RAISE;	/* packaging raises InvalidVersion */
		} else {
			r = pep440_spec_contains(&sp, &v, 1, NULL);
			if (r < 0)
				r = T_RAISE;
		}
		pep440_release(&v);
		pep440_spec_release(&sp);
		return r;
	}
	if (!strcmp(op, "in"))
		return strstr(rhs, lhs) != NULL;
	if (!strcmp(op, "not in"))
		return strstr(rhs, lhs) == NULL;
	c = strcmp(lhs, rhs);	/* UTF-8 byte order is code point order */
	if (!strcmp(op, "<"))
		return c < 0;
	if (!strcmp(op, "<="))
		return c <= 0;
	if (!strcmp(op, "=="))
		return c == 0;
	if (!strcmp(op, "!="))
		return c != 0;
	if (!strcmp(op, ">="))
		return c >= 0;
	if (!strcmp(op, ">"))
		return c > 0;
	return T_RAISE;		/* UndefinedComparison: ~= or === on text */
}

static int
eval_item(const struct pep508_marker *m, const struct pep508_env *env,
	  struct sbuf *why)
{
	const char *key, *lhs, *rhs;
	char *nl = NULL, *nr = NULL;
	int idx, r;

	if (m->lhs_var) {
		key = m->lhs;
		idx = env_index(key);
		lhs = idx >= 0 ? env->values[idx] : NULL;
		rhs = m->rhs;
	} else {
		key = m->rhs;
		idx = env_index(key);	/* a string naming no variable: */
		lhs = m->lhs;		/* packaging raises KeyError */
		rhs = idx >= 0 ? env->values[idx] : NULL;
	}
	if (idx < 0) {		/* packaging: KeyError */
		if (why) {
			struct sbuf what = SBUF_INIT;

			sbuf_addf(&what, "'%s' is not a marker variable", key);
			note(why, what.buf);
			sbuf_release(&what);
		}
		return T_RAISE;
	}
	if (m->lhs_var ? !lhs : !rhs) {
		note(why, key);
		return T_UNKNOWN;
	}
	if (idx == PEP508_EXTRA) {
		lhs = nl = pep508_normalize_name(lhs);
		rhs = nr = pep508_normalize_name(rhs);
	}
	r = eval_op(lhs, m->op, rhs);
	if (r == T_RAISE && why) {
		struct sbuf what = SBUF_INIT;

		sbuf_addf(&what, "'%s' %s '%s' is undefined", lhs, m->op, rhs);
		note(why, what.buf);
		sbuf_release(&what);
	}
	free(nl);
	free(nr);
	return r;
}

/* any(all(group) for group in groups), three-valued */
static int
eval_list(const struct pep508_marker *m, const struct pep508_env *env,
	  struct sbuf *why)
{
	int any = T_FALSE, all = T_TRUE, raised = 0;

	for (size_t i = 0; i < m->n; i++) {
		const struct pep508_marker *k = m->kids[i];
		int v = k->is_list ? eval_list(k, env, why)
				   : eval_item(k, env, why);

		if (v == T_RAISE)
			raised = 1;
		else if (v == T_FALSE || all == T_FALSE)
			all = T_FALSE;
		else if (v == T_UNKNOWN)
			all = T_UNKNOWN;
		if (i + 1 == m->n || m->or_[i]) {
			if (all == T_TRUE)
				any = T_TRUE;
			else if (all == T_UNKNOWN && any == T_FALSE)
				any = T_UNKNOWN;
			all = T_TRUE;
		}
	}
	return raised ? T_RAISE : any;
}

int
pep508_marker_eval(const struct pep508_req *r, const struct pep508_env *env,
		   struct sbuf *why)
{
	int v;

	if (!r->marker)
		return T_TRUE;
	v = eval_list(r->marker, env, why);
	return v == T_RAISE ? T_UNKNOWN : v;
}
