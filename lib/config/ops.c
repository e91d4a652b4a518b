/*
 * config subcommand semantics on an open store (prefs.py, with owctl's
 * deliberate differences documented in doc/owctl-config.1).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ops.h"
#include "loadfmt.h"
#include "pyjson.h"
#include "schema.h"
#include "xalloc.h"
#include "banned.h"

static int
ends_with_ci(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	if (n < m)
		return 0;
	for (size_t i = 0; i < m; i++)
		if (tolower((unsigned char)s[n - m + i]) != suffix[i])
			return 0;
	return 1;
}

int
cfgop_is_password_key(const char *key)
{
	return ends_with_ci(key, "pass") || ends_with_ci(key, "password");
}

static int
cmp_items(const void *a, const void *b)
{
	return strcmp(((const struct cfg_item *)a)->key,
		      ((const struct cfg_item *)b)->key);
}

static int
is_internal_key(const char *k)
{
	return !strcmp(k, CFG_KEY_VERSION) || !strcmp(k, CFG_KEY_PROFILE);
}

static const struct cfg_item *
find_item(const struct cfg_item *items, size_t n, const char *key)
{
	struct cfg_item probe = { key, NULL, 0 };

	return bsearch(&probe, items, n, sizeof(*items), cmp_items);
}

void
cfgop_get(struct cfg_store *s, const struct strv *keys, int show_password,
	  struct sbuf *out)
{
	struct cfg_item *items;
	struct strv want = STRV_INIT;
	size_t n = profile_items_ex(cfg_profile(s), &items, 1);
	size_t nwant = keys->n ? keys->n : n;

	if (keys->n) {
		for (size_t i = 0; i < keys->n; i++)
			strv_push(&want, keys->v[i]);
		strv_sort(&want);
	}
	for (size_t i = 0; i < nwant; i++) {
		const char *k = keys->n ? want.v[i] : items[i].key;
		const struct cfg_item *it = keys->n ? find_item(items, n, k) :
						      &items[i];

		if (!it || (!keys->n && is_internal_key(k)))
			continue;
		if (keys->n == 1) {
			sbuf_adds(out, it->value);
		} else {
			sbuf_adds(out, k);
			sbuf_addch(out, '=');
			if (cfgop_is_password_key(k) && !show_password)
				sbuf_adds(out, *it->value ? "********" : "");
			else
				sbuf_adds(out, it->value);
		}
		sbuf_addch(out, '\n');
	}
	free(items);
	strv_release(&want);
}

void
cfgop_keys(struct cfg_store *s, struct sbuf *out)
{
	struct strv keys = STRV_INIT;

	profile_keys(cfg_profile(s), &keys);
	strv_sort(&keys);
	for (size_t i = 0; i < keys.n; i++)
		if (!is_internal_key(keys.v[i]))
			sbuf_addf(out, "%s\n", keys.v[i]);
	strv_release(&keys);
}

int
cfgop_set(struct cfg_store *s, const char *key, const char *value,
	  struct err *e)
{
	if (!value) {
		profile_del(cfg_profile(s), key);
		return 0;
	}
	if (!cfg_valid_key(key))
		return err_set(e, ERR_CFG_ILLEGAL_KEY,
			       "Illegal property name: %s", key);
	if (cfg_check_storable("the value", value, e) < 0) {
		err_prefix(e, "cannot set '%s'", key);
		return -1;
	}
	profile_set(cfg_profile_create(s), key, value);
	return 0;
}

/* prefs.py get_list_value() / get_omeroweb_default() */
static json_t *
current_list(struct cfg_store *s, const char *key, int for_remove,
	     struct err *e)
{
	const char *cur = profile_get(cfg_profile(s), key);
	json_t *v;
	struct err ignore = ERR_INIT;

	if (cur) {
		v = pyjson_loads(cur, strlen(cur), &ignore);
		err_clear(&ignore);
		if (!v) {
			err_set(e, ERR_CFG_NOT_JSON,
				"No JSON object could be decoded");
			return NULL;
		}
		if (!json_is_array(v)) {
			json_decref(v);
			err_set(e, ERR_CFG_NOT_LIST, "Property %s is not a list",
				key);
			return NULL;
		}
		return v;
	}
	if (!strncmp(key, "omero.web.", 10)) {
		if (schema_list_default(key, &v, e) < 0)
			return NULL;
		return v;
	}
	if (for_remove) {
		err_set(e, ERR_CFG_UNDEFINED, "Property %s is not defined", key);
		return NULL;
	}
	return json_array();
}

static json_t *
parse_value(const char *value, struct err *e)
{
	json_t *jv = pyjson_loads(value, strlen(value), e);

	if (!jv) {
		e->code = ERR_FAIL;
		err_prefix(e, "'%s' is not a JSON value", value);
	}
	return jv;
}

static int
store_list(struct cfg_store *s, const char *key, json_t *list,
	   struct err *e)
{
	struct sbuf text = SBUF_INIT;
	int ret;

	pyjson_dumps(list, &text);
	ret = cfg_check_storable("the new list", text.buf, e);
	if (!ret)
		profile_set(cfg_profile_create(s), key, text.buf);
	sbuf_release(&text);
	return ret;
}

static int
list_contains(const json_t *list, const json_t *v)
{
	size_t i;
	json_t *x;

	json_array_foreach(list, i, x)
		if (pyjson_equal(x, v))
			return (int)i + 1;
	return 0;
}

int
cfgop_append(struct cfg_store *s, const char *key, const char *value,
	     int set_only, int *changed, struct err *e)
{
	json_t *list, *jv = NULL;
	int ret = -1;

	*changed = 0;
	list = current_list(s, key, 0, e);
	if (!list)
		return -1;
	jv = parse_value(value, e);
	if (!jv)
		goto out;
	if (!set_only || !list_contains(list, jv)) {
		json_array_append(list, jv);
		if (store_list(s, key, list, e) < 0)
			goto out;
		*changed = 1;
	}
	ret = 0;
out:
	json_decref(jv);
	json_decref(list);
	return ret;
}

int
cfgop_remove(struct cfg_store *s, const char *key, const char *value,
	     struct err *e)
{
	json_t *list, *jv = NULL;
	int ret = -1, at;

	list = current_list(s, key, 1, e);
	if (!list)
		return -1;
	jv = parse_value(value, e);
	if (!jv)
		goto out;
	at = list_contains(list, jv);
	if (!at) {
		err_set(e, ERR_CFG_NOT_IN_LIST, "%s is not defined in %s",
			value, key);
		goto out;
	}
	json_array_remove(list, (size_t)at - 1);
	if (store_list(s, key, list, e) < 0)
		goto out;
	ret = 0;
out:
	json_decref(jv);
	json_decref(list);
	return ret;
}

const char *
cfgop_version(struct cfg_store *s)
{
	struct xelem *p = cfg_profile(s);

	if (!p)
		return NULL;
	for (size_t i = 0; i < p->nkids; i++) {
		const char *n = xelem_attr(&p->kids[i], "name");

		if (n && !strcmp(n, CFG_KEY_VERSION)) {
			const char *v = xelem_attr(&p->kids[i], "value");

			return v ? v : "";
		}
	}
	return NULL;
}
