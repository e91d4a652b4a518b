/*
 * config.xml reader (expat) and writer (ElementTree-exact, as used by
 * omero-py's ConfigXml.save()).
 */
#include <expat.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "configxml.h"
#include "xalloc.h"
#include "banned.h"

/* Free s unless it lives in el's block. */
static void
free_str(struct xelem *el, char *s)
{
	/* as integers: s may point into another object, block may be NULL */
	uintptr_t p = (uintptr_t)s, b = (uintptr_t)el->block;

	if (!el->block || p < b || p >= b + el->blocklen)
		free(s);
}

static void
xelem_release(struct xelem *el)
{
	for (size_t i = 0; i < el->nattrs; i++) {
		free_str(el, el->attrs[i].name);
		free_str(el, el->attrs[i].value);
	}
	free(el->attrs);
	for (size_t i = 0; i < el->nkids; i++)
		xelem_release(&el->kids[i]);
	free(el->kids);
	free_str(el, el->tag);
	free(el->block);
	memset(el, 0, sizeof(*el));
}

void
cfgdoc_release(struct cfgdoc *d)
{
	if (d)
		xelem_release(&d->root);
}

static struct xelem *
new_kid(struct xelem *parent)
{
	struct xelem *kid;

	XGROW(parent->kids, parent->akids, parent->nkids + 1);
	kid = &parent->kids[parent->nkids++];
	memset(kid, 0, sizeof(*kid));
	return kid;
}

static struct xelem *
xelem_add_kid(struct xelem *parent, const char *tag)
{
	struct xelem *kid = new_kid(parent);

	kid->tag = xstrdup(tag);
	return kid;
}

static void
xelem_add_attr(struct xelem *el, const char *name, const char *value)
{
	XGROW(el->attrs, el->aattrs, el->nattrs + 1);
	el->attrs[el->nattrs].name = xstrdup(name);
	el->attrs[el->nattrs].value = xstrdup(value);
	el->nattrs++;
}

const char *
xelem_attr(const struct xelem *el, const char *name)
{
	for (size_t i = 0; i < el->nattrs; i++)
		if (!strcmp(el->attrs[i].name, name))
			return el->attrs[i].value;
	return NULL;
}

void
xelem_set_attr(struct xelem *el, const char *name, const char *value)
{
	for (size_t i = 0; i < el->nattrs; i++)
		if (!strcmp(el->attrs[i].name, name)) {
			free_str(el, el->attrs[i].value);
			el->attrs[i].value = xstrdup(value);
			return;
		}
	xelem_add_attr(el, name, value);
}

/* Parsing */

#define MAX_DEPTH 256

struct parse_state {
	struct cfgdoc *doc;
	struct xelem *stack[MAX_DEPTH];
	int depth;		/* elements open */
	int skip;		/* depth at which a dropped subtree started */
	int too_deep;
};

static void XMLCALL
on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct parse_state *st = ud;
	struct xelem *el;

	st->depth++;
	if (st->skip)
		return;
	if (st->depth == 1) {
		st->doc->root.tag = xstrdup(name);
		st->stack[0] = &st->doc->root;
		return;
	}
	if (st->depth == 2 && strcmp(name, "properties")) {
		st->skip = st->depth;
		return;
	}
	if (st->depth > MAX_DEPTH) {
		st->too_deep = 1;
		st->skip = st->depth;
		return;
	}
	el = new_kid(st->stack[st->depth - 2]);
	{
		size_t need = strlen(name) + 1, n = 0;
		char *p;

		for (int i = 0; atts[i]; i += 2, n++)
			need += strlen(atts[i]) + strlen(atts[i + 1]) + 2;
		el->block = p = xmalloc(need);
		el->blocklen = need;
		el->tag = p;
		p = stpcpy(p, name) + 1;
		if (n) {
			el->attrs = xmalloc(n * sizeof(*el->attrs));
			el->aattrs = el->nattrs = n;
		}
		for (size_t i = 0; i < n; i++) {
			el->attrs[i].name = p;
			p = stpcpy(p, atts[2 * i]) + 1;
			el->attrs[i].value = p;
			p = stpcpy(p, atts[2 * i + 1]) + 1;
		}
	}
	st->stack[st->depth - 1] = el;
}

static void XMLCALL
on_end(void *ud, const XML_Char *name)
{
	struct parse_state *st = ud;

	(void)name;
	if (st->skip == st->depth)
		st->skip = 0;
	st->depth--;
}

int
cfgdoc_parse(struct cfgdoc *d, const char *buf, size_t len, struct err *e)
{
	struct parse_state st = { .doc = d };
	XML_Parser p = XML_ParserCreate("UTF-8");
	int ret = -1;

	memset(d, 0, sizeof(*d));
	if (!p)
		return err_set(e, ERR_CFG_OPEN, "cannot create an XML parser");
	XML_SetUserData(p, &st);
	XML_SetElementHandler(p, on_start, on_end);
	if (len > (size_t)0x7fffffff) {
		err_set(e, ERR_CFG_OPEN, "config.xml is too large");
		goto out;
	}
	if (XML_Parse(p, buf, (int)len, 1) == XML_STATUS_ERROR) {
		err_set(e, ERR_CFG_OPEN, "%s: line %lu, column %lu",
			XML_ErrorString(XML_GetErrorCode(p)),
			(unsigned long)XML_GetCurrentLineNumber(p),
			(unsigned long)XML_GetCurrentColumnNumber(p));
		goto out;
	}
	if (st.too_deep) {
		err_set(e, ERR_CFG_OPEN, "config.xml nests elements deeper "
			"than %d levels", MAX_DEPTH);
		goto out;
	}
	for (size_t i = 0; i < d->root.nkids; i++)
		if (!xelem_attr(&d->root.kids[i], "id")) {
			err_set(e, ERR_CFG_OPEN, "config.xml has a <properties> "
				"block without an id attribute");
			goto out;
		}
	ret = 0;
out:
	XML_ParserFree(p);
	return ret;
}

void
cfgdoc_init_fresh(struct cfgdoc *d, const char *profile)
{
	struct xelem *p, *q;

	memset(d, 0, sizeof(*d));
	d->root.tag = xstrdup("icegrid");
	p = xelem_add_kid(&d->root, "properties");
	xelem_add_attr(p, "id", CFG_INTERNAL);
	q = xelem_add_kid(p, "property");
	xelem_add_attr(q, "name", CFG_KEY_PROFILE);
	xelem_add_attr(q, "value", profile);
	q = xelem_add_kid(p, "property");
	xelem_add_attr(q, "name", CFG_KEY_VERSION);
	xelem_add_attr(q, "value", CFG_VERSION);
	cfgdoc_add_profile(d, profile);
}

/* Profiles */

struct xelem *
cfgdoc_profile(struct cfgdoc *d, const char *id)
{
	for (size_t i = 0; i < d->root.nkids; i++) {
		const char *v = xelem_attr(&d->root.kids[i], "id");

		if (v && !strcmp(v, id))
			return &d->root.kids[i];
	}
	return NULL;
}

struct xelem *
cfgdoc_add_profile(struct cfgdoc *d, const char *id)
{
	struct xelem *p, *q;

	if (!d->root.tag)
		d->root.tag = xstrdup("icegrid");
	p = xelem_add_kid(&d->root, "properties");
	xelem_add_attr(p, "id", id);
	q = xelem_add_kid(p, "property");
	xelem_add_attr(q, "name", CFG_KEY_VERSION);
	xelem_add_attr(q, "value", CFG_VERSION);
	return p;
}

static void
remove_kid(struct xelem *parent, size_t i)
{
	xelem_release(&parent->kids[i]);
	memmove(&parent->kids[i], &parent->kids[i + 1],
		(parent->nkids - i - 1) * sizeof(*parent->kids));
	parent->nkids--;
}

int
cfgdoc_remove_profile(struct cfgdoc *d, const char *id)
{
	for (size_t i = 0; i < d->root.nkids; i++) {
		const char *v = xelem_attr(&d->root.kids[i], "id");

		if (v && !strcmp(v, id)) {
			remove_kid(&d->root, i);
			return 0;
		}
	}
	return -1;
}

void
cfgdoc_profile_ids(const struct cfgdoc *d, struct strv *out)
{
	for (size_t i = 0; i < d->root.nkids; i++) {
		const char *v = xelem_attr(&d->root.kids[i], "id");

		if (v && strcmp(v, CFG_INTERNAL))
			strv_push(out, v);
	}
}

static int
is_named_property(const struct xelem *el)
{
	return !strcmp(el->tag, "property") && xelem_attr(el, "name");
}

const char *
profile_get(const struct xelem *p, const char *key)
{
	const char *found = NULL;

	if (!p)
		return NULL;
	for (size_t i = 0; i < p->nkids; i++) {
		const struct xelem *k = &p->kids[i];

		if (is_named_property(k) && !strcmp(xelem_attr(k, "name"), key)) {
			const char *v = xelem_attr(k, "value");

			found = v ? v : "";
		}
	}
	return found;
}

static int
cmp_key_pos(const void *a, const void *b)
{
	const struct cfg_item *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int
cmp_pos(const void *a, const void *b)
{
	const struct cfg_item *x = a, *y = b;

	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct cfg_item *)a)->key,
		      ((const struct cfg_item *)b)->key);
}

void
cfg_items_sort_by_key(struct cfg_item *items, size_t n)
{
	if (n > 1)
		qsort(items, n, sizeof(*items), cmp_key);
}

size_t
profile_items(const struct xelem *p, struct cfg_item **items)
{
	return profile_items_ex(p, items, 0);
}

size_t
profile_items_ex(const struct xelem *p, struct cfg_item **items, int by_key)
{
	struct cfg_item *v;
	size_t n = 0, m = 0;

	*items = v = xcalloc(p ? p->nkids + 1 : 1, sizeof(*v));
	for (size_t i = 0; p && i < p->nkids; i++) {
		const struct xelem *k = &p->kids[i];
		const char *val;

		if (!is_named_property(k))
			continue;
		val = xelem_attr(k, "value");
		v[n].key = xelem_attr(k, "name");
		v[n].value = val ? val : "";
		v[n].pos = i;
		n++;
	}
	if (n < 2)
		return n;
	/* group equal keys, in document order within a group */
	qsort(v, n, sizeof(*v), cmp_key_pos);
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && !strcmp(v[j + 1].key, v[i].key))
			j++;
		v[m].key = v[i].key;
		v[m].pos = v[i].pos;	/* dict order: first appearance */
		v[m].value = v[j].value;	/* dict value: the last one */
		m++;
		i = j + 1;
	}
	if (!by_key)
		qsort(v, m, sizeof(*v), cmp_pos);
	return m;
}

void
profile_keys(const struct xelem *p, struct strv *out)
{
	struct cfg_item *items;
	size_t n = profile_items(p, &items);

	for (size_t i = 0; i < n; i++)
		strv_push(out, items[i].key);
	free(items);
}

void
profile_set(struct xelem *p, const char *key, const char *value)
{
	struct xelem *k;

	for (size_t i = 0; i < p->nkids; i++) {
		k = &p->kids[i];
		if (is_named_property(k) && !strcmp(xelem_attr(k, "name"), key)) {
			xelem_set_attr(k, "value", value);
			return;
		}
	}
	k = xelem_add_kid(p, "property");
	xelem_add_attr(k, "name", key);
	xelem_add_attr(k, "value", value);
}

void
profile_clear(struct xelem *p)
{
	while (p->nkids)
		remove_kid(p, p->nkids - 1);
}

size_t
profile_del(struct xelem *p, const char *key)
{
	size_t n = 0;

	if (!p)
		return 0;
	for (size_t i = 0; i < p->nkids;) {
		const char *name = xelem_attr(&p->kids[i], "name");

		if (name && !strcmp(name, key)) {
			remove_kid(p, i);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

/* Writing */

/* CPython 3.11 xml.etree.ElementTree._escape_attrib */
static void
escape_attrib(struct sbuf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			sbuf_adds(out, "&amp;");
			break;
		case '<':
			sbuf_adds(out, "&lt;");
			break;
		case '>':
			sbuf_adds(out, "&gt;");
			break;
		case '"':
			sbuf_adds(out, "&quot;");
			break;
		case '\r':
			sbuf_adds(out, "&#13;");
			break;
		case '\n':
			sbuf_adds(out, "&#10;");
			break;
		case '\t':
			sbuf_adds(out, "&#09;");
			break;
		default:
			sbuf_addch(out, *s);
		}
	}
}

static void
write_attrs(struct sbuf *out, const struct xelem *el)
{
	for (size_t i = 0; i < el->nattrs; i++) {
		sbuf_addf(out, " %s=\"", el->attrs[i].name);
		escape_attrib(out, el->attrs[i].value);
		sbuf_addch(out, '"');
	}
}

static void
write_elem(struct sbuf *out, const struct xelem *el)
{
	sbuf_addf(out, "<%s", el->tag);
	write_attrs(out, el);
	if (!el->nkids) {
		sbuf_adds(out, " />");
		return;
	}
	sbuf_addch(out, '>');
	for (size_t i = 0; i < el->nkids; i++)
		write_elem(out, &el->kids[i]);
	sbuf_addf(out, "</%s>", el->tag);
}

static void
write_property(struct sbuf *out, const char *name, const char *value)
{
	sbuf_adds(out, "<property name=\"");
	escape_attrib(out, name);
	sbuf_adds(out, "\" value=\"");
	escape_attrib(out, value);
	sbuf_adds(out, "\" />");
}

void
cfgdoc_write(const struct cfgdoc *d, const char *active,
	     const char *ctime_str, struct sbuf *out)
{
	const struct xelem *copy = NULL;

	for (size_t i = 0; i < d->root.nkids && !copy; i++) {
		const char *id = xelem_attr(&d->root.kids[i], "id");

		if (id && !strcmp(id, active))
			copy = &d->root.kids[i];
	}
	sbuf_addf(out, "<icegrid><!--\n\n\tThis file was generated at %s "
		  "by the OmeroConfig system.\n\tDo not edit directly but see "
		  "`omero config` for details.\n\tThis file may be included "
		  "into your IceGrid application.\n\n-->", ctime_str);
	sbuf_adds(out, "<properties id=\"" CFG_INTERNAL "\">");
	write_property(out, CFG_KEY_PROFILE, active);
	write_property(out, CFG_KEY_VERSION, CFG_VERSION);
	if (copy) {
		for (size_t i = 0; i < copy->nkids; i++) {
			const struct xelem *k = &copy->kids[i];
			const char *name = xelem_attr(k, "name");

			if (name && (!strcmp(name, CFG_KEY_PROFILE) ||
				     !strcmp(name, CFG_KEY_VERSION)))
				continue;
			sbuf_adds(out, "<property");
			write_attrs(out, k);
			sbuf_adds(out, " />");
		}
	}
	sbuf_adds(out, "</properties>");
	if (!copy) {
		sbuf_adds(out, "<properties id=\"");
		escape_attrib(out, active);
		sbuf_adds(out, "\">");
		write_property(out, CFG_KEY_VERSION, CFG_VERSION);
		sbuf_adds(out, "</properties>");
	}
	for (size_t i = 0; i < d->root.nkids; i++) {
		const char *id = xelem_attr(&d->root.kids[i], "id");

		if (id && !strcmp(id, CFG_INTERNAL))
			continue;
		write_elem(out, &d->root.kids[i]);
	}
	sbuf_adds(out, "<include file=\"templates.xml\" /></icegrid>");
}

/* Storable values */

/* Decode one UTF-8 sequence strictly; returns its length or 0. */
static size_t
utf8_decode(const unsigned char *s, unsigned long *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		if ((s[1] & 0xc0) != 0x80)
			return 0;
		*cp = ((s[0] & 0x1fUL) << 6) | (s[1] & 0x3fUL);
		return 2;
	}
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		*cp = ((s[0] & 0x0fUL) << 12) | ((s[1] & 0x3fUL) << 6) |
		      (s[2] & 0x3fUL);
		if (*cp < 0x800 || (*cp >= 0xd800 && *cp <= 0xdfff))
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		*cp = ((s[0] & 0x07UL) << 18) | ((s[1] & 0x3fUL) << 12) |
		      ((s[2] & 0x3fUL) << 6) | (s[3] & 0x3fUL);
		if (*cp < 0x10000 || *cp > 0x10ffff)
			return 0;
		return 4;
	}
	return 0;
}

int
cfg_check_storable(const char *what, const char *s, struct err *e)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t off = 0;

	while (p[off]) {
		unsigned long cp;
		size_t n = utf8_decode(p + off, &cp);

		if (!n)
			return err_set(e, ERR_BADVALUE,
				       "%s is not valid UTF-8 (byte 0x%02x at "
				       "offset %zu); nothing was changed",
				       what, p[off], off);
		if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
		    cp == 0xfffe || cp == 0xffff)
			return err_set(e, ERR_BADVALUE,
				       "%s contains the character U+%04lX at "
				       "offset %zu, which config.xml cannot "
				       "store; nothing was changed",
				       what, cp, off);
		off += n;
	}
	return 0;
}
