/*
 * Fuzz the config.xml reader (cfgdoc_parse). Whatever it accepts must be
 * writable and read back: write(parse(x)) parses again and writing that is
 * a fixed point; every profile survives the trip unchanged (as a dict), and
 * the export of the document parses back to the same profiles.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/configxml.h"
#include "config/export.h"
#include "fuzz-util.h"
#include "banned.h"

#define CTIME "Thu Jan  1 00:00:00 2026"

/* The active profile as the store sees it: __ACTIVE__'s, else "default". */
static const char *
active_of(struct cfgdoc *d)
{
	const char *a = profile_get(cfgdoc_profile(d, CFG_INTERNAL),
				    CFG_KEY_PROFILE);

	return a ? a : "default";
}

/* Same keys with the same values (a profile as omero-py's dict). */
static void
check_same_profile(const struct xelem *a, const struct xelem *b,
		   const char *id)
{
	struct cfg_item *ia = NULL, *ib = NULL;
	size_t na = profile_items_ex(a, &ia, 1), nb = profile_items_ex(b, &ib,
								       1);

	FUZZ_CHECK(na == nb, "profile '%s': %zu keys, then %zu", id, na, nb);
	for (size_t i = 0; i < na; i++) {
		FUZZ_CHECK(!strcmp(ia[i].key, ib[i].key), "profile '%s': key "
			   "'%s' became '%s'", id, ia[i].key, ib[i].key);
		FUZZ_CHECK(!strcmp(ia[i].value, ib[i].value), "profile '%s' "
			   "key '%s': '%s' became '%s'", id, ia[i].key,
			   ia[i].value, ib[i].value);
	}
	free(ia);
	free(ib);
}

/* Export every profile of d, parse the text back, compare with d. */
static void
check_export(struct cfgdoc *d, const char *active)
{
	struct cfgexp x = CFGEXP_INIT, y = CFGEXP_INIT;
	struct sbuf text = SBUF_INIT;
	struct err e = ERR_INIT;

	cfgexp_from_doc(d, active, active, 1, &x);
	cfgexp_write(&x, &text);
	FUZZ_CHECK(cfgexp_parse("export", text.buf, text.len, &y, &e) == 0,
		   "the export of a parsed config.xml does not parse: %s\n%s",
		   e.msg, text.buf);
	FUZZ_CHECK(y.all == 1 && y.active && !strcmp(y.active, active),
		   "export header changed");
	FUZZ_CHECK(x.n == y.n, "%zu profiles exported, %zu read back", x.n,
		   y.n);
	for (size_t i = 0; i < x.n; i++) {
		const struct load_list *a = &x.p[i].kv, *b = &y.p[i].kv;

		FUZZ_CHECK(!strcmp(x.p[i].id, y.p[i].id), "profile '%s' "
			   "became '%s'", x.p[i].id, y.p[i].id);
		FUZZ_CHECK(a->n == b->n, "profile '%s': %zu keys, then %zu",
			   x.p[i].id, a->n, b->n);
		for (size_t k = 0; k < a->n; k++)
			FUZZ_CHECK(!strcmp(a->v[k].key, b->v[k].key) &&
				   !strcmp(a->v[k].value, b->v[k].value),
				   "profile '%s': '%s'='%s' became '%s'='%s'",
				   x.p[i].id, a->v[k].key, a->v[k].value,
				   b->v[k].key, b->v[k].value);
	}
	cfgexp_release(&x);
	cfgexp_release(&y);
	sbuf_release(&text);
	err_clear(&e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfgdoc d1, d2;
	struct sbuf w1 = SBUF_INIT, w2 = SBUF_INIT;
	struct strv ids = STRV_INIT;
	struct err e = ERR_INIT;
	const char *active;

	if (cfgdoc_parse(&d1, (const char *)data, size, &e) < 0) {
		FUZZ_CHECK(e.code == ERR_CFG_OPEN && e.msg, "bad error");
		cfgdoc_release(&d1);
		err_clear(&e);
		return 0;
	}
	active = active_of(&d1);
	cfgdoc_write(&d1, active, CTIME, &w1);
	FUZZ_CHECK(cfgdoc_parse(&d2, w1.buf, w1.len, &e) == 0,
		   "written config.xml does not parse: %s\n%s", e.msg, w1.buf);
	FUZZ_CHECK(!strcmp(active_of(&d2), active), "active profile '%s' "
		   "became '%s'", active, active_of(&d2));
	cfgdoc_write(&d2, active_of(&d2), CTIME, &w2);
	FUZZ_CHECK(w1.len == w2.len && !memcmp(w1.buf, w2.buf, w1.len),
		   "write(parse(write(parse(x)))) differs:\n%s\n----\n%s",
		   w1.buf, w2.buf);

	/* Every profile (the first block of each id) reads back the same. */
	cfgdoc_profile_ids(&d1, &ids);
	for (size_t i = 0; i < ids.n; i++)
		check_same_profile(cfgdoc_profile(&d1, ids.v[i]),
				   cfgdoc_profile(&d2, ids.v[i]), ids.v[i]);
	check_export(&d1, active);

	strv_release(&ids);
	sbuf_release(&w1);
	sbuf_release(&w2);
	cfgdoc_release(&d1);
	cfgdoc_release(&d2);
	return 0;
}
