/*
 * PEP 440 as python3-packaging 23 implements it (see pep440.h). The parser
 * follows packaging's regular expressions, including the order in which
 * their optional parts are tried; the specifier logic follows
 * packaging/specifiers.py, string manipulations included.
 */
#include <stdlib.h>
#include <string.h>

#include "pep440.h"
#include "strv.h"
#include "xalloc.h"
#include "banned.h"

/* ERR_BADVALUE "what: 'text'" unless e is NULL; returns -1. */
static int
fail(struct err *e, const char *fmt, const char *text)
	__attribute__((format(printf, 2, 0)));

static int
fail(struct err *e, const char *fmt, const char *text)
{
	if (e)
		err_set(e, ERR_BADVALUE, fmt, text);
	return -1;
}

/* Python's str.isspace() for ASCII. */
static int
py_space(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_sep(int c)
{
	return c == '-' || c == '_' || c == '.';
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Does s start with the lower-case word w, in any case? */
static size_t
match_ci(const char *s, const char *w)
{
	size_t i;

	for (i = 0; w[i]; i++)
		if (lower((unsigned char)s[i]) != w[i])
			return 0;
	return i;
}

static size_t
digits(const char *s)
{
	size_t i = 0;

	while (is_digit((unsigned char)s[i]))
		i++;
	return i;
}

/* int(s[0..n)) as a string: leading zeros dropped. */
static char *
num_dup(const char *s, size_t n)
{
	while (n > 1 && *s == '0') {
		s++;
		n--;
	}
	return xstrndup(s, n);
}

static int
num_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int c;

	if (la != lb)
		return la < lb ? -1 : 1;
	c = strcmp(a, b);
	return (c > 0) - (c < 0);
}

/*
 * The version regex. Captures are byte ranges of s; len 0 with start
 * SIZE_MAX means "did not participate".
 */
#define NONE ((size_t)-1)

struct span {
	size_t at, len;
};

struct vmatch {
	const char *s;
	size_t end;		/* strlen(s) */
	struct span pre_l, pre_n, post_n1, post_l, post_n2, dev_l, dev_n, local;
	int allow_local;
};

static const struct span no_span = { NONE, 0 };

static int
st_end(struct vmatch *m, size_t i)
{
	while (i < m->end && py_space((unsigned char)m->s[i]))
		i++;
	return i == m->end;
}

static int
st_local(struct vmatch *m, size_t i)
{
	const char *s = m->s;

	if (m->allow_local && s[i] == '+' &&
	    is_alnum((unsigned char)s[i + 1])) {
		size_t j = i + 1;

		while (is_alnum((unsigned char)s[j]))
			j++;
		while (is_sep((unsigned char)s[j]) &&
		       is_alnum((unsigned char)s[j + 1])) {
			j++;
			while (is_alnum((unsigned char)s[j]))
				j++;
		}
		m->local = (struct span){ i + 1, j - i - 1 };
		if (st_end(m, j))
			return 1;
	}
	m->local = no_span;
	return st_end(m, i);
}

/*
 * "[-_.]? LABEL [-_.]? ([0-9]+)?" for each label in order, greedy
 * separators first, as the regex engine tries them; next() continues.
 */
static int
st_labelled(struct vmatch *m, size_t i, const char *const *labels,
	    struct span *lab, struct span *num,
	    int (*next)(struct vmatch *, size_t))
{
	const char *s = m->s;

	for (int sep1 = 1; sep1 >= 0; sep1--) {
		size_t j = i;

		if (sep1) {
			if (!is_sep((unsigned char)s[j]))
				continue;
			j++;
		}
		for (const char *const *l = labels; *l; l++) {
			size_t ll = match_ci(s + j, *l), k;

			if (!ll)
				continue;
			k = j + ll;
			for (int sep2 = 1; sep2 >= 0; sep2--) {
				size_t p = k, d;

				if (sep2) {
					if (!is_sep((unsigned char)s[p]))
						continue;
					p++;
				}
				/*
				 * Fewer digits than all of them can never
				 * match: nothing after may start with one.
				 */
				d = digits(s + p);
				*lab = (struct span){ j, ll };
				*num = d ? (struct span){ p, d } : no_span;
				if (next(m, p + d))
					return 1;
			}
		}
	}
	*lab = no_span;
	*num = no_span;
	return 0;
}

static const char *const dev_labels[] = { "dev", NULL };
static const char *const post_labels[] = { "post", "rev", "r", NULL };
static const char *const pre_labels[] = {
	"a", "b", "c", "rc", "alpha", "beta", "pre", "preview", NULL
};

static int
st_dev(struct vmatch *m, size_t i)
{
	if (st_labelled(m, i, dev_labels, &m->dev_l, &m->dev_n, st_local))
		return 1;
	return st_local(m, i);
}

static int
st_post(struct vmatch *m, size_t i)
{
	const char *s = m->s;

	m->post_l = no_span;
	m->post_n2 = no_span;
	if (s[i] == '-' && is_digit((unsigned char)s[i + 1])) {
		size_t d = digits(s + i + 1);

		m->post_n1 = (struct span){ i + 1, d };
		if (st_dev(m, i + 1 + d))
			return 1;
	}
	m->post_n1 = no_span;
	if (st_labelled(m, i, post_labels, &m->post_l, &m->post_n2, st_dev))
		return 1;
	return st_dev(m, i);
}

static int
st_pre(struct vmatch *m, size_t i)
{
	if (st_labelled(m, i, pre_labels, &m->pre_l, &m->pre_n, st_post))
		return 1;
	return st_post(m, i);
}

/*
 * Leading part: \s* v? (N!)? N(.N)*. Deterministic: giving back any of it
 * leaves a digit or ".digit" that nothing after can match.
 */
static int
match_head(const char *s, size_t *i, struct span *epoch, struct span *rel)
{
	size_t j = 0, d;

	while (py_space((unsigned char)s[j]))
		j++;
	if (s[j] == 'v' || s[j] == 'V')
		j++;
	*epoch = no_span;
	d = digits(s + j);
	if (d && s[j + d] == '!') {
		*epoch = (struct span){ j, d };
		j += d + 1;
		d = digits(s + j);
	}
	if (!d)
		return 0;
	rel->at = j;
	j += d;
	while (s[j] == '.' && is_digit((unsigned char)s[j + 1]))
		j += 1 + digits(s + j + 1);
	rel->len = j - rel->at;
	*i = j;
	return 1;
}

static void
push_num(char ***arr, size_t *n, size_t *alloc, const char *s, size_t len)
{
	XGROW(*arr, *alloc, *n + 1);
	(*arr)[(*n)++] = num_dup(s, len);
}

static char *
span_num(const char *s, struct span sp)
{
	return sp.at == NONE ? xstrdup("0") : num_dup(s + sp.at, sp.len);
}

/* Build v from a successful match. */
static void
fill(struct pep440_version *v, const char *s, struct span epoch,
     struct span rel, const struct vmatch *m)
{
	size_t alloc = 0, i;

	memset(v, 0, sizeof(*v));
	v->epoch = span_num(s, epoch);
	for (i = rel.at; i < rel.at + rel.len;) {
		size_t d = digits(s + i);

		push_num(&v->release, &v->nrel, &alloc, s + i, d);
		i += d + 1;
	}
	if (m->pre_l.at != NONE) {
		const char *l = s + m->pre_l.at;
		size_t n = m->pre_l.len;

		/* "a" or "alpha" */
		if ((n == 1 || n == 5) && lower((unsigned char)*l) == 'a')
			v->pre = PEP440_PRE_A;
		else if (lower((unsigned char)*l) == 'b')
			v->pre = PEP440_PRE_B;
		else
			v->pre = PEP440_PRE_RC;
		v->pre_n = span_num(s, m->pre_n);
	}
	if (m->post_n1.at != NONE)
		v->post = span_num(s, m->post_n1);
	else if (m->post_l.at != NONE)
		v->post = span_num(s, m->post_n2);
	if (m->dev_l.at != NONE)
		v->dev = span_num(s, m->dev_n);
	if (m->local.at != NONE) {
		const char *p = s + m->local.at, *end = p + m->local.len;

		alloc = 0;
		while (p < end) {
			size_t n = 0;
			int numeric = 1;
			char *seg;

			while (p + n < end && !is_sep((unsigned char)p[n])) {
				numeric &= is_digit((unsigned char)p[n]);
				n++;
			}
			if (numeric) {
				push_num(&v->local, &v->nlocal, &alloc, p, n);
			} else {
				seg = xstrndup(p, n);
				for (size_t k = 0; k < n; k++)
					seg[k] = (char)lower(
						(unsigned char)seg[k]);
				XGROW(v->local, alloc, v->nlocal + 1);
				v->local[v->nlocal++] = seg;
			}
			p += n + (p + n < end);
		}
	}
}

/* Parse s; allow_local = 0 refuses a local segment. */
static int
parse_version(struct pep440_version *v, const char *s, int allow_local)
{
	struct vmatch m = { 0 };
	struct span epoch, rel;
	size_t i;

	m.s = s;
	m.end = strlen(s);
	m.allow_local = allow_local;
	m.pre_l = m.pre_n = m.post_n1 = m.post_l = m.post_n2 = no_span;
	m.dev_l = m.dev_n = m.local = no_span;
	if (!match_head(s, &i, &epoch, &rel) || !st_pre(&m, i))
		return -1;
	if (v)
		fill(v, s, epoch, rel, &m);
	return 0;
}

int
pep440_parse(struct pep440_version *v, const char *s, struct err *e)
{
	if (parse_version(v, s, 1) < 0)
		return fail(e, "invalid version: '%s'", s);
	return 0;
}

int
pep440_valid(const char *s)
{
	return parse_version(NULL, s, 1) == 0;
}

static void
free_nums(char **a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(a[i]);
	free(a);
}

void
pep440_release(struct pep440_version *v)
{
	if (!v)
		return;
	free(v->epoch);
	free_nums(v->release, v->nrel);
	free(v->pre_n);
	free(v->post);
	free(v->dev);
	free_nums(v->local, v->nlocal);
	memset(v, 0, sizeof(*v));
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static char **
dup_nums(char *const *a, size_t n)
{
	char **r;

	if (!n)
		return NULL;
	r = xcalloc(n, sizeof(*r));
	for (size_t i = 0; i < n; i++)
		r[i] = xstrdup(a[i]);
	return r;
}

void
pep440_copy(struct pep440_version *dst, const struct pep440_version *src)
{
	dst->epoch = dup_or_null(src->epoch);
	dst->release = dup_nums(src->release, src->nrel);
	dst->nrel = src->nrel;
	dst->pre = src->pre;
	dst->pre_n = dup_or_null(src->pre_n);
	dst->post = dup_or_null(src->post);
	dst->dev = dup_or_null(src->dev);
	dst->local = dup_nums(src->local, src->nlocal);
	dst->nlocal = src->nlocal;
}

/* Sort keys for the pre, post and dev parts (packaging's _cmpkey). */
enum { K_NEGINF = -1, K_VALUE = 0, K_INF = 1 };

static int
cmp_optional(int ka, const char *a, int kb, const char *b)
{
	if (ka != kb)
		return ka < kb ? -1 : 1;
	return ka == K_VALUE ? num_cmp(a, b) : 0;
}

static int
pre_key(const struct pep440_version *v)
{
	if (v->pre == PEP440_PRE_NONE && !v->post && v->dev)
		return K_NEGINF;
	return v->pre == PEP440_PRE_NONE ? K_INF : K_VALUE;
}

/* A numeric local segment (str.isdigit()): all digits. */
static int
is_num(const char *s)
{
	return *s && digits(s) == strlen(s);
}

static int
cmp_local(const struct pep440_version *a, const struct pep440_version *b)
{
	size_t i;

	if (!a->nlocal || !b->nlocal)
		return (a->nlocal != 0) - (b->nlocal != 0);
	for (i = 0; i < a->nlocal && i < b->nlocal; i++) {
		int na = is_num(a->local[i]), nb = is_num(b->local[i]), c;

		if (na != nb)
			return na ? 1 : -1;
		c = na ? num_cmp(a->local[i], b->local[i])
		       : strcmp(a->local[i], b->local[i]);
		if (c)
			return (c > 0) - (c < 0);
	}
	return (a->nlocal > i) - (b->nlocal > i);
}

static int
cmp_release(const struct pep440_version *a, const struct pep440_version *b)
{
	size_t n = a->nrel > b->nrel ? a->nrel : b->nrel;

	/* Trailing zeros do not count: compare as if padded with zeros. */
	for (size_t i = 0; i < n; i++) {
		int c = num_cmp(i < a->nrel ? a->release[i] : "0",
				i < b->nrel ? b->release[i] : "0");

		if (c)
			return c;
	}
	return 0;
}

int
pep440_cmp_public(const struct pep440_version *a,
		  const struct pep440_version *b)
{
	int c;

	if ((c = num_cmp(a->epoch, b->epoch)))
		return c;
	if ((c = cmp_release(a, b)))
		return c;
	if (pre_key(a) != pre_key(b))
		return pre_key(a) < pre_key(b) ? -1 : 1;
	/* Both have a pre-release: the letter (a < b < rc), the number. */
	if (pre_key(a) == K_VALUE && a->pre != b->pre)
		return a->pre < b->pre ? -1 : 1;
	if (pre_key(a) == K_VALUE && (c = num_cmp(a->pre_n, b->pre_n)))
		return c;
	c = cmp_optional(a->post ? K_VALUE : K_NEGINF, a->post,
			 b->post ? K_VALUE : K_NEGINF, b->post);
	if (c)
		return c;
	return cmp_optional(a->dev ? K_VALUE : K_INF, a->dev,
			    b->dev ? K_VALUE : K_INF, b->dev);
}

int
pep440_cmp(const struct pep440_version *a, const struct pep440_version *b)
{
	int c = pep440_cmp_public(a, b);

	return c ? c : cmp_local(a, b);
}

static const char *const pre_names[] = { "", "a", "b", "rc" };

static void
add_str(const struct pep440_version *v, int strip_zero, int with_local,
	struct sbuf *out)
{
	size_t nrel = v->nrel;

	if (strcmp(v->epoch, "0"))
		sbuf_addf(out, "%s!", v->epoch);
	/* re.sub(r"(\.0)+$", "", release): a lone "0" stays */
	if (strip_zero)
		while (nrel > 1 && !strcmp(v->release[nrel - 1], "0"))
			nrel--;
	for (size_t i = 0; i < nrel; i++)
		sbuf_addf(out, "%s%s", i ? "." : "", v->release[i]);
	if (v->pre != PEP440_PRE_NONE)
		sbuf_addf(out, "%s%s", pre_names[v->pre], v->pre_n);
	if (v->post)
		sbuf_addf(out, ".post%s", v->post);
	if (v->dev)
		sbuf_addf(out, ".dev%s", v->dev);
	if (with_local && v->nlocal) {
		sbuf_addch(out, '+');
		for (size_t i = 0; i < v->nlocal; i++)
			sbuf_addf(out, "%s%s", i ? "." : "", v->local[i]);
	}
}

void
pep440_str(const struct pep440_version *v, struct sbuf *out)
{
	add_str(v, 0, 1, out);
}

void
pep440_canonical(const struct pep440_version *v, int strip_trailing_zero,
		 struct sbuf *out)
{
	add_str(v, strip_trailing_zero, 1, out);
}

int
pep440_is_prerelease(const struct pep440_version *v)
{
	return v->pre != PEP440_PRE_NONE || v->dev != NULL;
}

int
pep440_is_postrelease(const struct pep440_version *v)
{
	return v->post != NULL;
}

/* Version(a.base_version) == Version(b.base_version) */
static int
same_base(const struct pep440_version *a, const struct pep440_version *b)
{
	return !num_cmp(a->epoch, b->epoch) && !cmp_release(a, b);
}

/*
 * Specifiers.
 */
static const char *const op_names[] = {
	[PEP440_OP_COMPATIBLE] = "~=", [PEP440_OP_EQ] = "==",
	[PEP440_OP_NE] = "!=", [PEP440_OP_LE] = "<=", [PEP440_OP_GE] = ">=",
	[PEP440_OP_LT] = "<", [PEP440_OP_GT] = ">",
	[PEP440_OP_ARBITRARY] = "===",
};

const char *
pep440_op_str(enum pep440_op op)
{
	return op_names[op];
}

/* ws* v? (N!)? N(.N)* ".*" ws* -- the wildcard form of == and !=. */
static int
match_wildcard(const char *s)
{
	struct span epoch, rel;
	size_t i;

	if (!match_head(s, &i, &epoch, &rel))
		return 0;
	if (s[i] != '.' || s[i + 1] != '*')
		return 0;
	i += 2;
	while (py_space((unsigned char)s[i]))
		i++;
	return s[i] == '\0';
}

/* Python's str.strip() for ASCII, into a new string. */
static char *
strip_dup(const char *s, size_t n)
{
	while (n && py_space((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && py_space((unsigned char)s[n - 1]))
		n--;
	return xstrndup(s, n);
}

void
pep440_spec_release(struct pep440_spec *sp)
{
	if (!sp)
		return;
	free(sp->version);
	pep440_release(&sp->v);
	memset(sp, 0, sizeof(*sp));
}

int
pep440_spec_parse(struct pep440_spec *sp, const char *s, struct err *e)
{
	static const struct {
		const char *text;
		enum pep440_op op;
	} ops[] = {	/* the order of packaging's alternation */
		{ "~=", PEP440_OP_COMPATIBLE }, { "==", PEP440_OP_EQ },
		{ "!=", PEP440_OP_NE }, { "<=", PEP440_OP_LE },
		{ ">=", PEP440_OP_GE }, { "<", PEP440_OP_LT },
		{ ">", PEP440_OP_GT }, { "===", PEP440_OP_ARBITRARY },
	};
	const char *p = s, *rest;
	size_t i;

	memset(sp, 0, sizeof(*sp));
	while (py_space((unsigned char)*p))
		p++;
	/*
	 * "==" comes before "===" in the alternation, but a version cannot
	 * start with "=", so "===" is the only way such text matches.
	 */
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strncmp(p, ops[i].text, strlen(ops[i].text)) &&
		    !(ops[i].op == PEP440_OP_EQ && p[2] == '='))
			break;
	if (i == sizeof(ops) / sizeof(ops[0]))
		goto bad;
	sp->op = ops[i].op;
	rest = p + strlen(ops[i].text);

	if (sp->op == PEP440_OP_ARBITRARY) {
		const char *q = rest, *start;

		while (py_space((unsigned char)*q))
			q++;
		start = q;
		while (*q && !py_space((unsigned char)*q) && *q != ';' &&
		       *q != ')')
			q++;
		sp->version = xstrndup(start, (size_t)(q - start));
		while (py_space((unsigned char)*q))
			q++;
		if (*q)
			goto bad;
		sp->parsed = parse_version(&sp->v, sp->version, 1) == 0;
		return 0;
	}
	sp->version = strip_dup(rest, strlen(rest));
	if ((sp->op == PEP440_OP_EQ || sp->op == PEP440_OP_NE) &&
	    match_wildcard(rest)) {
		size_t n = strlen(sp->version);
		char *base = xstrndup(sp->version, n - 2);

		sp->wildcard = 1;
		parse_version(&sp->v, base, 0);
		free(base);
		sp->parsed = 1;
		return 0;
	}
	if (parse_version(&sp->v, rest, sp->op == PEP440_OP_EQ ||
			  sp->op == PEP440_OP_NE) < 0)
		goto bad;
	sp->parsed = 1;
	if (sp->op == PEP440_OP_COMPATIBLE && sp->v.nrel < 2)
		goto bad;
	return 0;
bad:
	pep440_spec_release(sp);
	return fail(e, "invalid specifier: '%s'", s);
}

/* packaging.specifiers._version_split */
static void
version_split(const char *s, struct strv *out)
{
	const char *p = s;

	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		size_t d = digits(p), l = 0;

		/* ^([0-9]+)((?:a|b|c|rc)[0-9]+)$ */
		if (d && d < n) {
			if (p[d] == 'a' || p[d] == 'b' || p[d] == 'c')
				l = 1;
			else if (p[d] == 'r' && p[d + 1] == 'c')
				l = 2;
		}
		if (l && d + l < n && digits(p + d + l) == n - d - l) {
			strv_push_nodup(out, xstrndup(p, d));
			strv_push_nodup(out, xstrndup(p + d, n - d));
		} else {
			strv_push_nodup(out, xstrndup(p, n));
		}
		if (!dot)
			break;
		p = dot + 1;
	}
}

static int
is_suffix(const char *seg)
{
	static const char *const pfx[] = { "dev", "a", "b", "rc", "post" };

	for (size_t i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++)
		if (!strncmp(seg, pfx[i], strlen(pfx[i])))
			return 1;
	return 0;
}

/* canonicalize_version(s, strip_trailing_zero) on a string. */
static void
canonical_str(const char *s, int strip, struct sbuf *out)
{
	struct pep440_version v = PEP440_VERSION_INIT;

	if (parse_version(&v, s, 1) < 0) {
		sbuf_adds(out, s);
		return;
	}
	pep440_canonical(&v, strip, out);
	pep440_release(&v);
}

/* _compare_equal for a spec ending in ".*"; prefix is the text before. */
static int
equal_prefix(const struct pep440_version *v, const char *prefix)
{
	struct sbuf np = SBUF_INIT, ns = SBUF_INIT;
	struct strv sp = STRV_INIT, ss = STRV_INIT, padded = STRV_INIT;
	size_t rel_p = 0, rel_s = 0, i;
	int eq = 0;

	add_str(v, 1, 0, &np);	/* canonicalize_version(v.public) */
	canonical_str(prefix, 0, &ns);
	version_split(np.buf, &sp);
	version_split(ns.buf, &ss);
	while (rel_p < sp.n && is_num(sp.v[rel_p]))
		rel_p++;
	while (rel_s < ss.n && is_num(ss.v[rel_s]))
		rel_s++;
	for (i = 0; i < rel_p; i++)
		strv_push(&padded, sp.v[i]);
	for (i = rel_p; i < rel_s; i++)
		strv_push(&padded, "0");
	for (i = rel_p; i < sp.n; i++)
		strv_push(&padded, sp.v[i]);
	if (padded.n >= ss.n) {
		eq = 1;
		for (i = 0; i < ss.n && eq; i++)
			eq = !strcmp(padded.v[i], ss.v[i]);
	}
	strv_release(&padded);
	strv_release(&sp);
	strv_release(&ss);
	sbuf_release(&np);
	sbuf_release(&ns);
	return eq;
}

static int
compare_equal(const struct pep440_spec *sp, const struct pep440_version *v)
{
	if (sp->wildcard) {
		char *prefix = xstrndup(sp->version, strlen(sp->version) - 2);
		int r = equal_prefix(v, prefix);

		free(prefix);
		return r;
	}
	if (!sp->v.nlocal)
		return pep440_cmp_public(v, &sp->v) == 0;
	return pep440_cmp(v, &sp->v) == 0;
}

/* _compare_compatible: >= spec and == the prefix made of spec's text. */
static int
compare_compatible(const struct pep440_spec *sp,
		   const struct pep440_version *v)
{
	struct strv parts = STRV_INIT;
	struct sbuf prefix = SBUF_INIT;
	size_t n = 0;
	int r;

	if (pep440_cmp_public(v, &sp->v) < 0)
		return 0;
	version_split(sp->version, &parts);
	while (n < parts.n && !is_suffix(parts.v[n]))
		n++;
	for (size_t i = 0; i + 1 < n; i++)
		sbuf_addf(&prefix, "%s%s", i ? "." : "", parts.v[i]);
	r = equal_prefix(v, prefix.buf);
	sbuf_release(&prefix);
	strv_release(&parts);
	return r;
}

static int
compare(const struct pep440_spec *sp, const struct pep440_version *v)
{
	struct sbuf a = SBUF_INIT;
	int r;

	switch (sp->op) {
	case PEP440_OP_COMPATIBLE:
		return compare_compatible(sp, v);
	case PEP440_OP_EQ:
		return compare_equal(sp, v);
	case PEP440_OP_NE:
		return !compare_equal(sp, v);
	case PEP440_OP_LE:
		return pep440_cmp_public(v, &sp->v) <= 0;
	case PEP440_OP_GE:
		return pep440_cmp_public(v, &sp->v) >= 0;
	case PEP440_OP_LT:
		if (pep440_cmp(v, &sp->v) >= 0)
			return 0;
		return !(!pep440_is_prerelease(&sp->v) &&
			 pep440_is_prerelease(v) && same_base(v, &sp->v));
	case PEP440_OP_GT:
		if (pep440_cmp(v, &sp->v) <= 0)
			return 0;
		if (!pep440_is_postrelease(&sp->v) &&
		    pep440_is_postrelease(v) && same_base(v, &sp->v))
			return 0;
		return !(v->nlocal && same_base(v, &sp->v));
	case PEP440_OP_ARBITRARY:
		pep440_str(v, &a);
		r = strlen(sp->version) == a.len;
		for (size_t i = 0; r && i < a.len; i++)
			r = lower((unsigned char)sp->version[i]) ==
			    lower((unsigned char)a.buf[i]);
		sbuf_release(&a);
		return r;
	}
	return 0;
}

/* Specifier.prereleases with no explicit value: 1, 0, -1 (raises). */
static int
spec_prereleases(const struct pep440_spec *sp, struct err *e)
{
	switch (sp->op) {
	case PEP440_OP_EQ:
	case PEP440_OP_GE:
	case PEP440_OP_LE:
	case PEP440_OP_COMPATIBLE:
	case PEP440_OP_ARBITRARY:
		if (!sp->parsed)
			return fail(e, "invalid version: '%s'", sp->version);
		return pep440_is_prerelease(&sp->v);
	default:
		return 0;
	}
}

int
pep440_spec_contains(const struct pep440_spec *sp,
		     const struct pep440_version *v, int prereleases,
		     struct err *e)
{
	if (prereleases < 0 && (prereleases = spec_prereleases(sp, e)) < 0)
		return -1;
	if (pep440_is_prerelease(v) && !prereleases)
		return 0;
	return compare(sp, v);
}

void
pep440_specset_release(struct pep440_specset *ss)
{
	if (!ss)
		return;
	for (size_t i = 0; i < ss->n; i++)
		pep440_spec_release(&ss->specs[i]);
	free(ss->specs);
	ss->specs = NULL;
	ss->n = 0;
}

int
pep440_specset_parse(struct pep440_specset *ss, const char *s, struct err *e)
{
	size_t alloc = 0;
	const char *p = s;

	ss->specs = NULL;
	ss->n = 0;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char *item = strip_dup(p, n);

		if (*item) {
			XGROW(ss->specs, alloc, ss->n + 1);
			if (pep440_spec_parse(&ss->specs[ss->n], item, e) < 0) {
				free(item);
				pep440_specset_release(ss);
				return -1;
			}
			ss->n++;
		}
		free(item);
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

int
pep440_specset_contains(const struct pep440_specset *ss,
			const struct pep440_version *v, int prereleases,
			struct err *e)
{
	size_t i;

	if (prereleases < 0) {
		/* None for the empty set, else any(s.prereleases) */
		prereleases = 0;
		for (i = 0; i < ss->n; i++) {
			int p = spec_prereleases(&ss->specs[i], e);

			if (p < 0)
				return -1;
			prereleases |= p;
		}
	}
	if (!prereleases && pep440_is_prerelease(v))
		return 0;
	for (i = 0; i < ss->n; i++)
		if (!compare(&ss->specs[i], v))
			return 0;
	return 1;
}

/* Specifier._canonical_spec, as one string. */
static char *
canonical_spec(const struct pep440_spec *sp)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_adds(&sb, op_names[sp->op]);
	sbuf_addch(&sb, '\0');
	canonical_str(sp->version, sp->op != PEP440_OP_COMPATIBLE, &sb);
	/* the NUL keeps "<" + "=1" apart from "<=" + "1" */
	return sbuf_detach(&sb, NULL);
}

static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
pep440_specset_str(const struct pep440_specset *ss, struct sbuf *out)
{
	struct strv keys = STRV_INIT, strs = STRV_INIT;

	for (size_t i = 0; i < ss->n; i++) {
		char *k = canonical_spec(&ss->specs[i]);
		size_t j, klen = strlen(k) + 1;

		for (j = 0; j < keys.n; j++)
			if (!memcmp(keys.v[j], k, klen) &&
			    !strcmp(keys.v[j] + klen, k + klen))
				break;
		if (j < keys.n) {
			free(k);
			continue;
		}
		strv_push_nodup(&keys, k);
		strv_pushf(&strs, "%s%s", op_names[ss->specs[i].op],
			   ss->specs[i].version);
	}
	if (strs.n > 1)
		qsort(strs.v, strs.n, sizeof(*strs.v), cmp_strp);
	for (size_t i = 0; i < strs.n; i++)
		sbuf_addf(out, "%s%s", i ? "," : "", strs.v[i]);
	strv_release(&keys);
	strv_release(&strs);
}
