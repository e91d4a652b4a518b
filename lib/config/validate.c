/*
 * `config validate`: the findings list, the validation context shared by
 * the validate-*.c checks, and the driver that runs the value checks in
 * document order, then the checks across keys.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "validate-int.h"
#include "xalloc.h"
#include "banned.h"

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

void
vc_add(struct vctx *c, enum finding_severity sev, const char *key,
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
const char *
vc_get(const struct vctx *c, const char *key)
{
	size_t i;

	for (i = c->n; i-- > 0;)
		if (!strcmp(c->kv[i].key, key))
			return c->kv[i].value;
	return NULL;
}

/* A printable, bounded rendering of a value for messages, in buf. */
const char *
vc_shown_into(char *buf, const char *key, const char *v)
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

/* -1, 0, 1 as the target release compares with maj.min.mic. */
int
vc_target_cmp(const struct vctx *c, unsigned long maj, unsigned long min,
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

json_t *
vc_jload(const char *v)
{
	if (cfg_py_json(v, NULL) < 0)
		return NULL;
	/* jansson refuses some texts Python takes (NaN, lone surrogates,
	 * huge numbers): shape checks are then skipped */
	return json_loads(v, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

int
vc_all_strings(const json_t *a)
{
	size_t i;
	json_t *x;

	json_array_foreach(a, i, x)
		if (!json_is_string(x))
			return 0;
	return 1;
}

/* ---- the driver ------------------------------------------------------- */

void
vc_validate_all(struct vctx *c)
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
			vc_add(c, FINDING_WARNING, key, NULL,
			       "'%s' is set %zu "
			       "times: the last value counts",
			       key, times);
		p = schema_find(key);
		if (!p) {
			if (!strncmp(key, "omero.web.", 10))
				vc_add(c, FINDING_WARNING, key,
				       "check the "
				       "spelling, or the app in omero.web.apps "
				       "that reads it",
				       "'%s' is not an OMERO.web "
				       "setting (it may be a plugin's)",
				       key);
			continue;
		}
		vc_check_value(c, p, vc_get(c, key));
		if (p->mapping == SCHEMA_DEPRECATED && !c->value_only)
			vc_check_deprecated(c, p);
	}
	if (!c->value_only)
		vc_check_cross(c);
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
	vc_validate_all(&c);
	return 0;
}
