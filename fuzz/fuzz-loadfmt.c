/*
 * Fuzz the `config load` format (loadfmt_parse) and applying it: entries
 * hold no NUL, and whatever loadfmt_apply accepts and cfg_check_storable
 * passes is written to config.xml and read back with the same values
 * (last value wins, as in omero-py's dict).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/configxml.h"
#include "config/loadfmt.h"
#include "fuzz-util.h"
#include "banned.h"

#define CTIME "Thu Jan  1 00:00:00 2026"

/* Can every key and value be stored in config.xml? */
static int
all_storable(const struct load_list *l)
{
	struct err e = ERR_INIT;

	for (size_t i = 0; i < l->n; i++)
		if (cfg_check_storable("a key", l->v[i].key, &e) < 0 ||
		    cfg_check_storable("a value", l->v[i].value, &e) < 0) {
			err_clear(&e);
			return 0;
		}
	return 1;
}

/* Write d, parse it again, and check profile "default" holds l. */
static void
check_written(struct cfgdoc *d, const struct load_list *l)
{
	struct cfgdoc back;
	struct sbuf xml = SBUF_INIT;
	struct err e = ERR_INIT;
	struct xelem *p;

	cfgdoc_write(d, "default", CTIME, &xml);
	FUZZ_CHECK(cfgdoc_parse(&back, xml.buf, xml.len, &e) == 0,
		   "loaded values give a config.xml that does not parse: %s",
		   e.msg);
	p = cfgdoc_profile(&back, "default");
	FUZZ_CHECK(p, "profile 'default' is lost");
	for (size_t i = 0; i < l->n; i++) {
		const char *want = NULL, *got;

		/* the last entry of a key wins */
		for (size_t k = i; k < l->n; k++)
			if (!strcmp(l->v[k].key, l->v[i].key))
				want = l->v[k].value;
		got = profile_get(p, l->v[i].key);
		FUZZ_CHECK(got && !strcmp(got, want), "key '%s': loaded '%s', "
			   "read back '%s'", l->v[i].key, want,
			   got ? got : "(unset)");
	}
	cfgdoc_release(&back);
	sbuf_release(&xml);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct load_list l = LOAD_LIST_INIT;
	struct err e = ERR_INIT;
	struct cfgdoc d;
	size_t before;

	if (loadfmt_parse("fuzz", (const char *)data, size, &l, &e) < 0) {
		FUZZ_CHECK(e.code == ERR_CFG_LOAD_READ && e.msg, "bad error");
		err_clear(&e);
		load_list_release(&l);
		return 0;
	}
	for (size_t i = 0; i < l.n; i++) {
		FUZZ_CHECK(l.v[i].key && l.v[i].value, "NULL entry");
		FUZZ_CHECK(*l.v[i].key, "empty key (omero-py skips '=v')");
		FUZZ_CHECK(!strchr(l.v[i].key, '='), "'=' in key '%s'",
			   l.v[i].key);
	}
	cfgdoc_init_fresh(&d, "default");
	before = cfgdoc_profile(&d, "default")->nkids;
	if (loadfmt_apply(cfgdoc_profile(&d, "default"), &l, 0, &e) < 0) {
		FUZZ_CHECK(e.code == ERR_CFG_ILLEGAL_KEY ||
			   e.code == ERR_CFG_DUPLICATE, "bad error %d: %s",
			   (int)e.code, e.msg);
		FUZZ_CHECK(cfgdoc_profile(&d, "default")->nkids == before,
			   "a failed load changed the profile");
		err_clear(&e);
	} else if (all_storable(&l)) {
		check_written(&d, &l);
	}
	cfgdoc_release(&d);
	load_list_release(&l);
	return 0;
}
