/*
 * Lossless export/import of config.xml profiles (format in export.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "fs.h"
#include "strv.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_EXPORT (64u * 1024 * 1024)

void
cfgexp_escape(const char *s, int is_key, struct sbuf *out)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\')
			sbuf_adds(out, "\\\\");
		else if (c == '\n')
			sbuf_adds(out, "\\n");
		else if (c == '\r')
			sbuf_adds(out, "\\r");
		else if (c == '\t')
			sbuf_adds(out, "\\t");
		else if (c < 0x20 || c == 0x7f || (is_key && c == '=') ||
			 (c == ' ' && (i == 0 || i == n - 1)) ||
			 (is_key && i == 0 && (c == '@' || c == '#')))
			sbuf_addf(out, "\\x%02x", c);
		else
			sbuf_addch(out, (char)c);
	}
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Unescape [b, e) into out; -1 on a bad escape. */
static int
unescape(const char *b, const char *e, struct sbuf *out)
{
	while (b < e) {
		if (*b != '\\') {
			sbuf_addch(out, *b++);
			continue;
		}
		if (b + 1 >= e)
			return -1;
		switch (b[1]) {
		case '\\':
			sbuf_addch(out, '\\');
			break;
		case 'n':
			sbuf_addch(out, '\n');
			break;
		case 'r':
			sbuf_addch(out, '\r');
			break;
		case 't':
			sbuf_addch(out, '\t');
			break;
		case 'x': {
			int h, l;

			if (e - b < 4)
				return -1;
			h = hexval(b[2]);
			l = hexval(b[3]);
			if (h < 0 || l < 0 || (h == 0 && l == 0))
				return -1;
			sbuf_addch(out, h * 16 + l);
			b += 2;
			break;
		}
		default:
			return -1;
		}
		b += 2;
	}
	return 0;
}

static struct cfgexp_profile *
add_profile(struct cfgexp *x, const char *id)
{
	struct cfgexp_profile *p;

	XGROW(x->p, x->alloc, x->n + 1);
	p = &x->p[x->n++];
	p->id = xstrdup(id);
	p->kv.v = NULL;
	p->kv.n = p->kv.alloc = 0;
	return p;
}

static void
add_kv(struct load_list *l, const char *k, const char *v)
{
	XGROW(l->v, l->alloc, l->n + 1);
	l->v[l->n].key = xstrdup(k);
	l->v[l->n].value = xstrdup(v);
	l->n++;
}

void
cfgexp_from_doc(struct cfgdoc *d, const char *active, const char *persisted,
		int all, struct cfgexp *out)
{
	struct strv ids = STRV_INIT;

	out->all = all;
	out->active = persisted ? xstrdup(persisted) : NULL;
	if (all)
		cfgdoc_profile_ids(d, &ids);
	else
		strv_push(&ids, active);
	for (size_t i = 0; i < ids.n; i++) {
		struct xelem *blk = cfgdoc_profile(d, ids.v[i]);
		struct strv keys = STRV_INIT;
		struct cfgexp_profile *p;

		/* a repeated id: omero-py only ever sees the first block */
		if (all && strv_find(&ids, ids.v[i]) != (long)i)
			continue;
		p = add_profile(out, ids.v[i]);
		profile_keys(blk, &keys);
		for (size_t k = 0; k < keys.n; k++)
			add_kv(&p->kv, keys.v[k], profile_get(blk, keys.v[k]));
		strv_release(&keys);
	}
	strv_release(&ids);
}

void
cfgexp_write(const struct cfgexp *x, struct sbuf *out)
{
	sbuf_adds(out, "# owctl config export 1\n"
		  "# Import with: owctl config import [--replace] FILE\n");
	sbuf_addf(out, "@scope %s\n", x->all ? "all" : "active");
	if (x->active) {
		sbuf_adds(out, "@active ");
		cfgexp_escape(x->active, 1, out);
		sbuf_addch(out, '\n');
	}
	for (size_t i = 0; i < x->n; i++) {
		sbuf_adds(out, "@profile ");
		cfgexp_escape(x->p[i].id, 1, out);
		sbuf_addch(out, '\n');
		for (size_t k = 0; k < x->p[i].kv.n; k++) {
			cfgexp_escape(x->p[i].kv.v[k].key, 1, out);
			sbuf_addch(out, '=');
			cfgexp_escape(x->p[i].kv.v[k].value, 0, out);
			sbuf_addch(out, '\n');
		}
	}
}

static int
bad_line(struct err *e, const char *name, size_t lineno, const char *why)
{
	return err_set(e, ERR_BADVALUE, "'%s' line %zu: %s", name, lineno,
		       why);
}

int
cfgexp_parse(const char *name, const char *text, size_t len,
	     struct cfgexp *out, struct err *e)
{
	struct cfgexp_profile *cur = NULL;
	struct sbuf k = SBUF_INIT, v = SBUF_INIT;
	size_t i = 0, lineno = 0;
	int ret = -1, seen_header = 0;

	while (i < len) {
		const char *b = text + i, *eol = memchr(b, '\n', len - i);
		const char *e2 = eol ? eol : text + len;

		i = (size_t)(e2 - text) + (eol ? 1 : 0);
		lineno++;
		if (e2 > b && e2[-1] == '\r')
			e2--;
		if (lineno == 1) {
			if ((size_t)(e2 - b) < 23 ||
			    memcmp(b, "# owctl config export ", 22)) {
				bad_line(e, name, lineno, "not an owctl config "
					 "export (first line must be '# owctl "
					 "config export 1')");
				goto out;
			}
			if (e2 - b != 23 || b[22] != '1') {
				bad_line(e, name, lineno, "unsupported export "
					 "format version");
				goto out;
			}
			seen_header = 1;
			continue;
		}
		if (b == e2 || *b == '#')
			continue;
		sbuf_reset(&k);
		sbuf_reset(&v);
		if (*b == '@') {
			const char *sp = memchr(b, ' ', (size_t)(e2 - b));

			/* an empty NAME is a valid (if odd) profile name */
			if (!sp || unescape(sp + 1, e2, &v) < 0) {
				bad_line(e, name, lineno, "malformed directive");
				goto out;
			}
			if (sp - b == 6 && !memcmp(b, "@scope", 6)) {
				if (!strcmp(v.buf, "all"))
					out->all = 1;
				else if (strcmp(v.buf, "active")) {
					bad_line(e, name, lineno, "@scope is "
						 "'all' or 'active'");
					goto out;
				}
			} else if (sp - b == 7 && !memcmp(b, "@active", 7)) {
				free(out->active);
				out->active = xstrdup(v.buf);
			} else if (sp - b == 8 && !memcmp(b, "@profile", 8)) {
				cur = add_profile(out, v.buf);
			} else {
				bad_line(e, name, lineno, "unknown directive");
				goto out;
			}
			continue;
		}
		{
			const char *eq = memchr(b, '=', (size_t)(e2 - b));

			if (!cur) {
				bad_line(e, name, lineno, "a property before "
					 "any @profile line");
				goto out;
			}
			if (!eq || unescape(b, eq, &k) < 0 ||
			    unescape(eq + 1, e2, &v) < 0) {
				bad_line(e, name, lineno, "malformed property "
					 "line");
				goto out;
			}
			if (memchr(k.buf, '\0', k.len) ||
			    memchr(v.buf, '\0', v.len)) {
				bad_line(e, name, lineno, "NUL character");
				goto out;
			}
			add_kv(&cur->kv, k.buf, v.buf);
		}
	}
	if (!seen_header) {
		err_set(e, ERR_BADVALUE, "'%s' is empty, not an owctl config "
			"export", name);
		goto out;
	}
	ret = 0;
out:
	sbuf_release(&k);
	sbuf_release(&v);
	return ret;
}

static int
check_all(const struct cfgexp *x, struct err *e)
{
	for (size_t i = 0; i < x->n; i++) {
		if (cfg_check_storable("a profile name", x->p[i].id, e) < 0)
			return -1;
		for (size_t k = 0; k < x->p[i].kv.n; k++) {
			const struct load_entry *kv = &x->p[i].kv.v[k];

			if (cfg_check_storable("a key", kv->key, e) < 0 ||
			    cfg_check_storable("a value", kv->value, e) < 0) {
				err_prefix(e, "cannot import '%s'", kv->key);
				return -1;
			}
		}
	}
	if (x->active && cfg_check_storable("the active profile", x->active,
					    e) < 0)
		return -1;
	return 0;
}

static int
listed(const struct cfgexp *x, const char *id)
{
	for (size_t i = 0; i < x->n; i++)
		if (!strcmp(x->p[i].id, id))
			return 1;
	return 0;
}

int
cfgexp_apply(struct cfg_store *s, const struct cfgexp *x, int replace,
	     struct err *e)
{
	if (cfg_require_writable(s, e) < 0 || check_all(x, e) < 0)
		return -1;
	if (replace && x->all) {
		struct strv ids = STRV_INIT;

		cfgdoc_profile_ids(&s->doc, &ids);
		for (size_t i = 0; i < ids.n; i++)
			if (!listed(x, ids.v[i]))
				while (cfgdoc_remove_profile(&s->doc,
							     ids.v[i]) == 0)
					;
		strv_release(&ids);
	}
	for (size_t i = 0; i < x->n; i++) {
		struct xelem *p = cfgdoc_profile(&s->doc, x->p[i].id);

		if (!p) {
			p = cfgdoc_add_profile(&s->doc, x->p[i].id);
			if (replace)
				profile_del(p, CFG_KEY_VERSION);
		} else if (replace) {
			profile_clear(p);	/* keeps its place and id */
		}
		for (size_t k = 0; k < x->p[i].kv.n; k++)
			profile_set(p, x->p[i].kv.v[k].key,
				    x->p[i].kv.v[k].value);
	}
	if (replace && x->active)
		cfg_set_user_profile(s, x->active);
	return 0;
}

int
cfgexp_load_any(const char *path, int all, const char *env_profile,
		struct cfgexp *out, struct err *e)
{
	struct sbuf text = SBUF_INIT;
	int ret = -1;

	if (fs_read_file(path, MAX_EXPORT, &text, e) < 0)
		goto out;
	if (text.len && text.buf[0] == '#') {
		ret = cfgexp_parse(path, text.buf, text.len, out, e);
	} else {
		struct cfgdoc d;
		const char *persisted, *active;

		if (cfgdoc_parse(&d, text.buf, text.len, e) < 0) {
			cfgdoc_release(&d);
			err_prefix(e, "'%s'", path);
			goto out;
		}
		persisted = profile_get(cfgdoc_profile(&d, CFG_INTERNAL),
					CFG_KEY_PROFILE);
		if (!persisted)
			persisted = "default";
		active = env_profile && *env_profile ? env_profile : persisted;
		cfgexp_from_doc(&d, active, persisted, all, out);
		cfgdoc_release(&d);
		ret = 0;
	}
out:
	sbuf_release(&text);
	return ret;
}

void
cfgexp_release(struct cfgexp *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n; i++) {
		free(x->p[i].id);
		load_list_release(&x->p[i].kv);
	}
	free(x->p);
	free(x->active);
	memset(x, 0, sizeof(*x));
}
