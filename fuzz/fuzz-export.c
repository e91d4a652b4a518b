/*
 * Fuzz owctl's export format both ways. The input is parsed as an export
 * (cfgexp_parse): what it accepts writes back to text that parses to the
 * same content, and writing that is a fixed point. The input is also cut
 * into NUL-separated fields that become profile names, keys and values of
 * an export built directly: the format must carry any of them unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/export.h"
#include "fuzz-util.h"
#include "banned.h"

static int
same_str(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcmp(a, b);
}

static void
check_equal(const struct cfgexp *x, const struct cfgexp *y,
	    const char *text)
{
	FUZZ_CHECK(x->all == y->all, "scope changed\n%s", text);
	FUZZ_CHECK(same_str(x->active, y->active), "active '%s' became '%s'"
		   "\n%s", x->active ? x->active : "(none)",
		   y->active ? y->active : "(none)", text);
	FUZZ_CHECK(x->n == y->n, "%zu profiles became %zu\n%s", x->n, y->n,
		   text);
	for (size_t i = 0; i < x->n; i++) {
		const struct load_list *a = &x->p[i].kv, *b = &y->p[i].kv;

		FUZZ_CHECK(!strcmp(x->p[i].id, y->p[i].id), "profile '%s' "
			   "became '%s'\n%s", x->p[i].id, y->p[i].id, text);
		FUZZ_CHECK(a->n == b->n, "profile '%s': %zu keys became %zu"
			   "\n%s", x->p[i].id, a->n, b->n, text);
		for (size_t k = 0; k < a->n; k++)
			FUZZ_CHECK(!strcmp(a->v[k].key, b->v[k].key) &&
				   !strcmp(a->v[k].value, b->v[k].value),
				   "'%s'='%s' became '%s'='%s'\n%s",
				   a->v[k].key, a->v[k].value, b->v[k].key,
				   b->v[k].value, text);
	}
}

/* write(x) parses back to x, and writing that again gives the same text. */
static void
check_roundtrip(const struct cfgexp *x)
{
	struct cfgexp y = CFGEXP_INIT;
	struct sbuf t1 = SBUF_INIT, t2 = SBUF_INIT;
	struct err e = ERR_INIT;

	cfgexp_write(x, &t1);
	FUZZ_CHECK(cfgexp_parse("fuzz", t1.buf, t1.len, &y, &e) == 0,
		   "a written export does not parse: %s\n%s", e.msg, t1.buf);
	check_equal(x, &y, t1.buf);
	cfgexp_write(&y, &t2);
	FUZZ_CHECK(t1.len == t2.len && !memcmp(t1.buf, t2.buf, t1.len),
		   "write(parse(write(x))) differs:\n%s\n----\n%s", t1.buf,
		   t2.buf);
	cfgexp_release(&y);
	sbuf_release(&t1);
	sbuf_release(&t2);
}

/* Fields: all-flag byte, active (empty: none), then per profile its name
 * and key/value pairs, a lone "\x01" field starting the next profile. */
static void
build_from_fields(const uint8_t *data, size_t size, struct cfgexp *x)
{
	size_t pos = 1;
	char *f;
	struct cfgexp_profile *p = NULL;
	char *key = NULL;

	if (!size)
		return;
	x->all = data[0] & 1;
	f = fuzz_field(data, size, &pos, '\0');
	if (f && (data[0] & 2))
		x->active = f;
	else
		free(f);
	while ((f = fuzz_field(data, size, &pos, '\0'))) {
		if (!p || !strcmp(f, "\x01")) {
			XGROW(x->p, x->alloc, x->n + 1);
			p = &x->p[x->n++];
			memset(p, 0, sizeof(*p));
			if (!strcmp(f, "\x01")) {
				free(f);
				f = fuzz_field(data, size, &pos, '\0');
				if (!f)
					f = xstrdup("p");
			}
			p->id = f;
			continue;
		}
		if (!key) {
			key = f;
			continue;
		}
		XGROW(p->kv.v, p->kv.alloc, p->kv.n + 1);
		p->kv.v[p->kv.n].key = key;
		p->kv.v[p->kv.n].value = f;
		p->kv.n++;
		key = NULL;
	}
	free(key);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfgexp x = CFGEXP_INIT, z = CFGEXP_INIT;
	struct err e = ERR_INIT;

	if (cfgexp_parse("fuzz", (const char *)data, size, &x, &e) == 0)
		check_roundtrip(&x);
	else
		FUZZ_CHECK(e.code == ERR_BADVALUE && e.msg, "bad error");
	err_clear(&e);
	cfgexp_release(&x);

	build_from_fields(data, size, &z);
	check_roundtrip(&z);
	cfgexp_release(&z);
	return 0;
}
