/*
 * PEP 440 versions and version specifiers, parsed, normalised and compared
 * exactly as python3-packaging 23 does (packaging.version.Version,
 * packaging.specifiers.Specifier and SpecifierSet), including its quirks.
 * Numbers are kept as decimal strings, so no version is too long to compare.
 * Every struct err *e here may be NULL when the message is not wanted.
 */
#ifndef OWCTL_PEP440_H
#define OWCTL_PEP440_H

#include <stddef.h>

#include "err.h"
#include "sbuf.h"

enum pep440_pre {
	PEP440_PRE_NONE = 0,
	PEP440_PRE_A,		/* a, alpha */
	PEP440_PRE_B,		/* b, beta */
	PEP440_PRE_RC,		/* rc, c, pre, preview */
};

/*
 * A parsed version. Every number is a string of ASCII digits without
 * leading zeros ("0" for zero). Owned; release with pep440_release().
 */
struct pep440_version {
	char *epoch;		/* "0" when absent */
	char **release;		/* nrel >= 1 numbers, as written (1.0.0) */
	size_t nrel;
	enum pep440_pre pre;
	char *pre_n;		/* NULL when pre == PEP440_PRE_NONE */
	char *post;		/* NULL: not a post-release */
	char *dev;		/* NULL: not a development release */
	char **local;		/* lower-case segments; numeric ones without
				   leading zeros; nlocal == 0: none */
	size_t nlocal;
};

#define PEP440_VERSION_INIT { NULL, NULL, 0, PEP440_PRE_NONE, NULL, NULL, \
			      NULL, NULL, 0 }

/*
 * Parse s like packaging.version.Version(s): surrounding whitespace, a "v"
 * prefix, any letter case, alternative spellings (alpha, c, pre, preview,
 * rev, r, "1.0-1") and separators are accepted. Only ASCII is accepted
 * (packaging also takes Unicode whitespace and case-folding look-alikes).
 * Returns 0, or -1 with ERR_BADVALUE "invalid version: 'S'" (v is then
 * left empty). v must be empty (PEP440_VERSION_INIT or released).
 */
int pep440_parse(struct pep440_version *v, const char *s, struct err *e);

/* Is s a valid version? */
int pep440_valid(const char *s);

/* Free what v owns and reset it to PEP440_VERSION_INIT. Accepts NULL. */
void pep440_release(struct pep440_version *v);

/* Deep copy of src into dst (dst must be empty). */
void pep440_copy(struct pep440_version *dst, const struct pep440_version *src);

/*
 * Compare like packaging's Version ordering (<0, 0, >0): 1.0 == 1.0.0,
 * 1.0.dev0 < 1.0a0 < 1.0 < 1.0.post0, 1.0 < 1.0+local, local segments
 * numerically/lexically (numbers after strings).
 */
int pep440_cmp(const struct pep440_version *a, const struct pep440_version *b);

/* Compare ignoring the local segments (Version(v.public)). */
int pep440_cmp_public(const struct pep440_version *a,
		      const struct pep440_version *b);

/* Append str(Version): "1!2.0rc1.post2.dev3+abc.5". */
void pep440_str(const struct pep440_version *v, struct sbuf *out);

/*
 * Append packaging.utils.canonicalize_version(v): like pep440_str, but
 * trailing ".0" release components removed when strip_trailing_zero.
 */
void pep440_canonical(const struct pep440_version *v, int strip_trailing_zero,
		      struct sbuf *out);

/* Version.is_prerelease (a pre or dev segment) and is_postrelease. */
int pep440_is_prerelease(const struct pep440_version *v);
int pep440_is_postrelease(const struct pep440_version *v);

/*
 * Specifiers.
 */
enum pep440_op {
	PEP440_OP_COMPATIBLE,	/* ~= */
	PEP440_OP_EQ,		/* == */
	PEP440_OP_NE,		/* != */
	PEP440_OP_LE,		/* <= */
	PEP440_OP_GE,		/* >= */
	PEP440_OP_LT,		/* < */
	PEP440_OP_GT,		/* > */
	PEP440_OP_ARBITRARY,	/* === */
};

struct pep440_spec {
	enum pep440_op op;
	char *version;		/* as written, whitespace stripped ("1.2.*") */
	int wildcard;		/* == or != ending in ".*" */
	int parsed;		/* v holds version (without ".*"); 0 only for
				   === with something that is not a version */
	struct pep440_version v;
};

struct pep440_specset {
	struct pep440_spec *specs;	/* in the order written */
	size_t n;
};

#define PEP440_SPECSET_INIT { NULL, 0 }

/*
 * Parse one specifier like packaging.specifiers.Specifier(s): "~=" needs
 * two release components, "==" and "!=" allow ".*" and local versions,
 * "===" takes any text without whitespace, ';' or ')'. Returns 0, or -1
 * with ERR_BADVALUE "invalid specifier: 'S'".
 */
int pep440_spec_parse(struct pep440_spec *sp, const char *s, struct err *e);
void pep440_spec_release(struct pep440_spec *sp);

/* The operator's text ("~=", "==", ...). */
const char *pep440_op_str(enum pep440_op op);

/*
 * Specifier.contains(v, prereleases): prereleases is 1, 0, or -1 for the
 * default (the specifier's own rule: ==, >=, <=, ~=, === naming a
 * pre-release allow pre-releases). Returns 1 or 0, or -1 with
 * ERR_BADVALUE when packaging would raise (=== with a non-version and
 * prereleases == -1).
 */
int pep440_spec_contains(const struct pep440_spec *sp,
			 const struct pep440_version *v, int prereleases,
			 struct err *e);

/*
 * Parse a comma-separated list like SpecifierSet(s) (empty items are
 * skipped; "" is the empty set, which contains every final release).
 * Returns 0, or -1 with ERR_BADVALUE naming the bad item (ss is empty).
 */
int pep440_specset_parse(struct pep440_specset *ss, const char *s,
			 struct err *e);
void pep440_specset_release(struct pep440_specset *ss);

/*
 * SpecifierSet.contains(v, prereleases) with prereleases 1, 0 or -1 (the
 * default: allowed when any specifier allows them; never for the empty
 * set). Returns 1, 0, or -1 with e set (see pep440_spec_contains).
 */
int pep440_specset_contains(const struct pep440_specset *ss,
			    const struct pep440_version *v, int prereleases,
			    struct err *e);

/*
 * Append str(SpecifierSet): the specifiers (duplicates by canonical form
 * dropped, the first kept) sorted and joined with ",".
 */
void pep440_specset_str(const struct pep440_specset *ss, struct sbuf *out);

#endif
