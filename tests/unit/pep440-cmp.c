/*
 * Test helper, not a test: reads NUL-terminated fields from stdin and
 * answers with NUL-terminated fields, for tests/integration/
 * test_pep440_vs_packaging.py to compare with python3-packaging.
 *   "V" VERSION          -> "ok"|"err", str, canonical, canonical(no strip),
 *                           is_prerelease, is_postrelease
 *   "C" A B              -> "-1" | "0" | "1" | "err"
 *   "S" SPECS V PRE      -> "1"|"0"|"badspec"|"badversion"|"raise",
 *                           str(SpecifierSet) (PRE: "-1" default, "0", "1")
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "pep440.h"
#include "banned.h"

static void
put(const char *s)
{
	fputs(s, stdout);
	putchar('\0');
}

static char *
field(char **buf, size_t *alloc)
{
	if (getdelim(buf, alloc, '\0', stdin) < 0)
		return NULL;
	return strdup(*buf);
}

static void
do_version(const char *s)
{
	struct pep440_version v = PEP440_VERSION_INIT;
	struct err e = ERR_INIT;
	struct sbuf a = SBUF_INIT, b = SBUF_INIT, c = SBUF_INIT;

	if (pep440_parse(&v, s, &e) < 0) {
		err_clear(&e);
		put("err"), put(""), put(""), put(""), put(""), put("");
		return;
	}
	pep440_str(&v, &a);
	pep440_canonical(&v, 1, &b);
	pep440_canonical(&v, 0, &c);
	put("ok"), put(a.buf), put(b.buf), put(c.buf);
	put(pep440_is_prerelease(&v) ? "1" : "0");
	put(pep440_is_postrelease(&v) ? "1" : "0");
	sbuf_release(&a);
	sbuf_release(&b);
	sbuf_release(&c);
	pep440_release(&v);
}

static void
do_cmp(const char *x, const char *y)
{
	struct pep440_version a = PEP440_VERSION_INIT, b = PEP440_VERSION_INIT;
	int c;

	if (pep440_parse(&a, x, NULL) < 0 || pep440_parse(&b, y, NULL) < 0) {
		put("err");
	} else {
		c = pep440_cmp(&a, &b);
		put(c < 0 ? "-1" : c > 0 ? "1" : "0");
	}
	pep440_release(&a);
	pep440_release(&b);
}

static void
do_spec(const char *specs, const char *ver, const char *pre)
{
	struct pep440_specset ss = PEP440_SPECSET_INIT;
	struct pep440_version v = PEP440_VERSION_INIT;
	struct err e = ERR_INIT;
	struct sbuf str = SBUF_INIT;
	int r;

	if (pep440_specset_parse(&ss, specs, &e) < 0) {
		err_clear(&e);
		put("badspec"), put("");
		return;
	}
	pep440_specset_str(&ss, &str);
	if (pep440_parse(&v, ver, &e) < 0) {
		err_clear(&e);
		put("badversion");
	} else {
		r = pep440_specset_contains(&ss, &v, (int)strtol(pre, NULL, 10),
					    &e);
		put(r < 0 ? "raise" : r ? "1" : "0");
		err_clear(&e);
	}
	put(str.buf);
	sbuf_release(&str);
	pep440_release(&v);
	pep440_specset_release(&ss);
}

int
main(void)
{
	char *buf = NULL, *cmd, *f[3];
	size_t alloc = 0;
	int n;

	while ((cmd = field(&buf, &alloc))) {
		n = cmd[0] == 'V' ? 1 : cmd[0] == 'C' ? 2 : 3;
		for (int i = 0; i < n; i++)
			if (!(f[i] = field(&buf, &alloc)))
				return 2;
		if (cmd[0] == 'V')
			do_version(f[0]);
		else if (cmd[0] == 'C')
			do_cmp(f[0], f[1]);
		else
			do_spec(f[0], f[1], f[2]);
		for (int i = 0; i < n; i++)
			free(f[i]);
		free(cmd);
	}
	free(buf);
	return fflush(stdout) || ferror(stdout) ? 1 : 0;
}
