/* Key-by-key comparison of two configurations. */
#include <string.h>

#include "cfgdiff.h"
#include "ops.h"
#include "schema.h"
#include "strv.h"
#include "banned.h"

static const struct cfgexp_profile *
find(const struct cfgexp *x, const char *id)
{
	for (size_t i = 0; i < x->n; i++)
		if (!strcmp(x->p[i].id, id))
			return &x->p[i];
	return NULL;
}

static const char *
lookup(const struct cfgexp_profile *p, const char *key)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->kv.n; i++)
		if (!strcmp(p->kv.v[i].key, key))
			return p->kv.v[i].value;
	return NULL;
}

static void
line(struct sbuf *out, char sign, const char *k, const char *v, int mask)
{
	sbuf_addch(out, sign);
	cfgexp_escape(k, 1, out);
	sbuf_addch(out, '=');
	if (mask && *v)
		sbuf_adds(out, "********");
	else
		cfgexp_escape(v, 0, out);
	sbuf_addch(out, '\n');
}

static size_t
diff_profile(const char *id, const struct cfgexp_profile *pa,
	     const struct cfgexp_profile *pb, int show, struct sbuf *out)
{
	struct strv keys = STRV_INIT;
	size_t n = 0, mark = out->len;

	sbuf_adds(out, "@profile ");
	cfgexp_escape(id, 1, out);
	if (!pa || !pb)
		sbuf_adds(out, pa ? " (only in the first)" :
			  " (only in the second)");
	sbuf_addch(out, '\n');
	for (int side = 0; side < 2; side++) {
		const struct cfgexp_profile *p = side ? pb : pa;

		for (size_t i = 0; p && i < p->kv.n; i++)
			if (strv_find(&keys, p->kv.v[i].key) < 0)
				strv_push(&keys, p->kv.v[i].key);
	}
	strv_sort(&keys);
	for (size_t i = 0; i < keys.n; i++) {
		const char *k = keys.v[i];
		const char *va = lookup(pa, k), *vb = lookup(pb, k);
		int mask = !show && (schema_is_secret(k) ||
				     cfgop_is_password_key(k));

		if (va && vb && !strcmp(va, vb))
			continue;
		n++;
		if (va)
			line(out, '-', k, va, mask);
		if (vb)
			line(out, '+', k, vb, mask);
	}
	if (!n && pa && pb)
		sbuf_setlen(out, mark);
	if (!pa || !pb)
		n++;
	strv_release(&keys);
	return n;
}

size_t
cfgdiff(const struct cfgexp *a, const struct cfgexp *b, int show_secrets,
	struct sbuf *out)
{
	size_t n = 0;

	/* comparing two single-profile views: compare them whatever names */
	if (!a->all && !b->all && a->n == 1 && b->n == 1)
		return diff_profile(strcmp(a->p[0].id, b->p[0].id) ?
				    "(active)" : a->p[0].id, &a->p[0],
				    &b->p[0], show_secrets, out);
	for (size_t i = 0; i < a->n; i++)
		n += diff_profile(a->p[i].id, &a->p[i], find(b, a->p[i].id),
				  show_secrets, out);
	for (size_t i = 0; i < b->n; i++)
		if (!find(a, b->p[i].id))
			n += diff_profile(b->p[i].id, NULL, &b->p[i],
					  show_secrets, out);
	return n;
}
