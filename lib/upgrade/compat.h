/*
 * What each omero-web release demands, as data: Requires-Python, the
 * Django, omero-py and django-redis pins (from omero-web's setup.py at each
 * tag) and the releases whose UPGRADING.md notes say every session must be
 * cleared. Versions are compared with PEP 440 rules (pep440.h).
 */
#ifndef OWCTL_COMPAT_H
#define OWCTL_COMPAT_H

#include "err.h"

/* One row: every release from first to last (inclusive) shares it. */
struct compat_release {
	const char *first;
	const char *last;
	const char *requires_python;	/* PEP 440 specifier set */
	const char *django;		/* Django specifier set */
	const char *omero_py;
	const char *django_redis;	/* NULL: not required */
	const char *serializer;		/* default SESSION_SERIALIZER */
	const char *note;		/* UPGRADING.md, one line, or NULL */
};

/* The table, ends with a row whose first is NULL. */
extern const struct compat_release compat_releases[];

/* Releases crossing which requires clearing every session (NULL-ended). */
extern const char *const compat_clear_sessions_at[];

/*
 * The row for version ("5.31.0"), or NULL when it is not a version or
 * outside the table (e is then set: ERR_BADVALUE, may be NULL).
 */
const struct compat_release *compat_lookup(const char *version,
					   struct err *e);

/*
 * Compare two versions (<0, 0, >0); -2 with ERR_BADVALUE when either is
 * not a PEP 440 version.
 */
int compat_cmp(const char *a, const char *b, struct err *e);

/*
 * Does an upgrade from -> to cross a must-clear release R (from < R <= to;
 * for a downgrade, to < R <= from)? Returns 1 and sets *release (static
 * string) to the first such R, 0 when none, -1 with e for a bad version.
 */
int compat_must_clear(const char *from, const char *to,
		      const char **release, struct err *e);

/*
 * The lowest Django major version the release's pin admits (e.g. 5 for
 * ">=5.2.9,<5.3"), or 0 when unknown.
 */
int compat_django_major(const struct compat_release *r);

/*
 * Does the Python version "X.Y" (or X.Y.Z) meet the release's
 * Requires-Python? 1, 0, or -1 with e for a bad version.
 */
int compat_python_ok(const struct compat_release *r, const char *python,
		     struct err *e);

#endif
