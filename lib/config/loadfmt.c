/*
 * `omero config load` grammar and semantics (prefs.py handle_line / load),
 * including its quirks: whitespace is Python's str.strip(), a '#' after a
 * continuation is not a comment, and whitespace around '=' is part of the key.
 */
#include <stdlib.h>
#include <string.h>

#include "loadfmt.h"
#include "sbuf.h"
#include "strv.h"
#include "xalloc.h"
#include "banned.h"

/* Length of the UTF-8 character at s if Python's str.isspace() holds. */
static size_t
py_space_at(const unsigned char *s, size_t n)
{
	if (n >= 1 && (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r') ||
		       (s[0] >= 0x1c && s[0] <= 0x1f)))
		return 1;
	if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
		return 2;
	if (n >= 3 && s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80)
		return 3;	/* U+1680 */
	if (n >= 3 && s[0] == 0xe2 && s[1] == 0x80 &&
	    ((s[2] >= 0x80 && s[2] <= 0x8a) || s[2] == 0xa8 || s[2] == 0xa9 ||
	     s[2] == 0xaf))
		return 3;	/* U+2000-200A, 2028, 2029, 202F */
	if (n >= 3 && s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f)
		return 3;	/* U+205F */
	if (n >= 3 && s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80)
		return 3;	/* U+3000 */
	return 0;
}

/* Python str.strip() on [*b, *e) (UTF-8). */
static void
py_strip(const char **b, const char **e)
{
	const unsigned char *s = (const unsigned char *)*b;
	const unsigned char *end = (const unsigned char *)*e;
	size_t k;

	while (s < end && (k = py_space_at(s, (size_t)(end - s))))
		s += k;
	while (end > s) {
		/* step back one UTF-8 character */
		const unsigned char *c = end - 1;

		while (c > s && (*c & 0xc0) == 0x80)
			c--;
		if (py_space_at(c, (size_t)(end - c)) == (size_t)(end - c))
			end = c;
		else
			break;
	}
	*b = (const char *)s;
	*e = (const char *)end;
}

int
cfg_valid_key(const char *key)
{
	for (const char *p = key; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		      *p == '-'))
			return 0;
	return 1;
}

/*
 * Would Python's strict UTF-8 decoder accept s[0..n)? (No overlong forms,
 * surrogates or code points above U+10FFFF.) Looks at n bytes only.
 */
static int
valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;
		unsigned long cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3;
		else
			return 0;
		cp = c & (0x3fUL >> k);
		if (n - i - 1 < k)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3fUL);
		}
		if (k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
			return 0;	/* overlong or surrogate */
		if (k == 3 && (cp < 0x10000 || cp > 0x10ffff))
			return 0;
		i += k + 1;
	}
	return 1;
}

static void
push_entry(struct load_list *l, const char *k, size_t klen, const char *v,
	   size_t vlen)
{
	XGROW(l->v, l->alloc, l->n + 1);
	l->v[l->n].key = xstrndup(k, klen);
	l->v[l->n].value = xstrndup(v, vlen);
	l->n++;
}

/* handle_line(): returns 1 and leaves the continuation in prev, else 0. */
static int
handle_line(struct sbuf *line, struct sbuf *prev, struct load_list *out)
{
	const char *b = line->buf, *e = line->buf + line->len;
	const char *eq;

	py_strip(&b, &e);
	if (b == e || *b == '#')
		return 0;
	if (e[-1] == '\\') {
		sbuf_reset(prev);
		sbuf_add(prev, b, (size_t)(e - b - 1));
		return 1;
	}
	eq = memchr(b, '=', (size_t)(e - b));
	if (eq == b)
		return 0;
	if (eq)
		push_entry(out, b, (size_t)(eq - b), eq + 1,
			   (size_t)(e - eq - 1));
	else
		push_entry(out, b, (size_t)(e - b), "", 0);
	return 0;
}

int
loadfmt_parse(const char *name, const char *text, size_t len,
	      struct load_list *out, struct err *e)
{
	struct sbuf line = SBUF_INIT, prev = SBUF_INIT;
	size_t i = 0, lineno = 1;
	int have_prev = 0, ret = -1;

	if (memchr(text, '\0', len)) {
		err_set(e, ERR_CFG_LOAD_READ, "Cannot read %s: it contains a "
			"NUL byte", name);
		goto out;
	}
	if (!valid_utf8((const unsigned char *)text, len)) {
		err_set(e, ERR_CFG_LOAD_READ, "Cannot read %s: it is not valid "
			"UTF-8", name);
		goto out;
	}
	while (i < len) {
		size_t j = i;

		while (j < len && text[j] != '\n' && text[j] != '\r')
			j++;
		sbuf_reset(&line);
		if (have_prev)
			sbuf_add(&line, prev.buf, prev.len);
		sbuf_add(&line, text + i, j - i);
		if (j < len) {
			sbuf_addch(&line, '\n');
			if (text[j] == '\r' && j + 1 < len && text[j + 1] == '\n')
				j++;
			j++;
		}
		i = j;
		lineno++;
		have_prev = handle_line(&line, &prev, out);
	}
	ret = 0;
out:
	sbuf_release(&line);
	sbuf_release(&prev);
	return ret;
}

void
load_list_release(struct load_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}

int
loadfmt_apply(struct xelem *p, const struct load_list *l, int quiet,
	      struct err *e)
{
	struct strv before = STRV_INIT, keys = STRV_INIT, vals = STRV_INIT;
	int ret = -1;

	/* new = dict(config): keys in dict order with their values */
	profile_keys(p, &keys);
	for (size_t i = 0; i < keys.n; i++)
		strv_push(&vals, profile_get(p, keys.v[i]));
	if (!quiet)
		profile_keys(p, &before);
	for (size_t i = 0; i < l->n; i++) {
		const char *k = l->v[i].key, *v = l->v[i].value;
		long at = strv_find(&keys, k);
		/* keys and vals are parallel: at indexes both */
		char **slot = at >= 0 && (size_t)at < vals.n ? &vals.v[at]
							     : NULL;
		const char *old = slot ? *slot : NULL;

		if (!slot && !cfg_valid_key(k)) {
			err_set(e, ERR_CFG_ILLEGAL_KEY,
				"Illegal property name: %s", k);
			goto out;
		}
		if (before.n && strv_find(&before, k) >= 0 &&
		    (!old || strcmp(old, v))) {
			err_set(e, ERR_CFG_DUPLICATE,
				"Duplicate property: %s ('%s' => '%s')", k,
				old ? old : "None", v);
			goto out;
		}
		if (slot) {
			free(*slot);
			*slot = xstrdup(v);
		} else {
			strv_push(&keys, k);
			strv_push(&vals, v);
		}
	}
	for (size_t i = 0; i < keys.n; i++)
		profile_set(p, keys.v[i], vals.v[i]);
	ret = 0;
out:
	strv_release(&before);
	strv_release(&keys);
	strv_release(&vals);
	return ret;
}
