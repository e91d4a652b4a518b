/*
 * Fuzz the PEP 440 parser and specifiers. Besides not crashing: a parsed
 * version's str() parses again to an equal version with the same str();
 * comparison is antisymmetric; a parsed specifier set prints as something
 * that parses again, and contains() answers 0, 1 or fails only for "===".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pep440.h"
#include "fuzz-util.h"
#include "banned.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pep440_version v = PEP440_VERSION_INIT, w = PEP440_VERSION_INIT;
	struct pep440_specset ss = PEP440_SPECSET_INIT, again =
		PEP440_SPECSET_INIT;
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;
	char *s = fuzz_cstr(data, size);
	const char *nl = strchr(s, '\n');
	char *spec = nl ? xstrndup(s, (size_t)(nl - s)) : xstrdup(s);
	const char *ver = nl ? nl + 1 : s;

	if (pep440_parse(&v, ver, NULL) == 0) {
		pep440_str(&v, &a);
		FUZZ_CHECK(pep440_parse(&w, a.buf, NULL) == 0,
			   "str() '%s' does not parse", a.buf);
		pep440_str(&w, &b);
		FUZZ_CHECK(!strcmp(a.buf, b.buf), "'%s' -> '%s'", a.buf,
			   b.buf);
		FUZZ_CHECK(pep440_cmp(&v, &w) == 0 && pep440_cmp(&w, &v) == 0,
			   "'%s' differs from its own str()", ver);
	}
	if (pep440_specset_parse(&ss, spec, NULL) == 0) {
		sbuf_reset(&a);
		pep440_specset_str(&ss, &a);
		FUZZ_CHECK(pep440_specset_parse(&again, a.buf, NULL) == 0,
			   "str() '%s' does not parse", a.buf);
		if (v.nrel) {
			int has_arbitrary = 0;

			for (size_t i = 0; i < ss.n; i++)
				has_arbitrary |= ss.specs[i].op ==
						 PEP440_OP_ARBITRARY;
			for (int pre = -1; pre <= 1; pre++) {
				int r = pep440_specset_contains(&ss, &v, pre,
								NULL);

				FUZZ_CHECK(r == 0 || r == 1 ||
					   (r == -1 && has_arbitrary &&
					    pre == -1),
					   "contains() gave %d", r);
			}
		}
	}
	pep440_release(&v);
	pep440_release(&w);
	pep440_specset_release(&ss);
	pep440_specset_release(&again);
	sbuf_release(&a);
	sbuf_release(&b);
	free(spec);
	free(s);
	return 0;
}
