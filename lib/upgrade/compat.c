/*
 * omero-web release facts as a table (../shared/reference/omero-admin-
 * behaviour.md §4.2, from setup.py and UPGRADING.md at each tag), and the
 * few questions the upgrade asks of it.
 */
#include <stdlib.h>
#include <string.h>

#include "pep440.h"
#include "upgrade/compat.h"
#include "banned.h"

#define JSON_SER "django.contrib.sessions.serializers.JSONSerializer"
#define PICKLE_SER "django.contrib.sessions.serializers.PickleSerializer"

const struct compat_release compat_releases[] = {
	{ "5.8.1", "5.13.0", ">=3", ">=1.11,<2.0", ">=5.7.0", NULL,
	  PICKLE_SER, NULL },
	{ "5.14.0", "5.17.0", ">=3", ">=3.2,<4.0", ">=5.7.0", "==5.0.0",
	  PICKLE_SER, "Django 3.2; plugins must be upgraded" },
	{ "5.18.0", "5.19.0", ">=3", ">=3.2.18,<4.0", ">=5.7.0", "==5.0.0",
	  PICKLE_SER, "Connector stored in the session as JSON: "
	  "clear sessions" },
	{ "5.20.0", "5.21.0", ">=3", ">=3.2.19,<4.0", ">=5.7.0", "==5.0.0",
	  PICKLE_SER, NULL },
	{ "5.22.0", "5.22.1", ">=3", ">=3.2.19,<4.3", ">=5.7.0", "==5.3.0",
	  PICKLE_SER, "supports Django 3.2 to 4.2" },
	{ "5.23.0", "5.24.0", ">=3.8", ">=4.2.3,<4.3", ">=5.7.0", "==5.3.0",
	  PICKLE_SER, "Django 4.2 required" },
	{ "5.25.0", "5.29.3", ">=3.8", ">=4.2.3,<4.3", ">=5.19.0", "==5.3.0",
	  PICKLE_SER, NULL },
	{ "5.30.0", "5.30.1", ">=3.10,<3.13", ">=4.2.25,<5.3", ">=5.19.0",
	  "==5.3.0", JSON_SER, "default serializer Pickle -> JSON: clear "
	  "sessions; remove a PickleSerializer setting" },
	{ "5.31.0", "5.31.0", ">=3.10,<3.13", ">=5.2.9,<5.3", ">=5.19.0",
	  ">=6", JSON_SER, "Django 5.2 required: clear sessions" },
	{ NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL }
};

const char *const compat_clear_sessions_at[] = {
	"5.18.0", "5.30.0", "5.31.0", NULL
};

int
compat_cmp(const char *a, const char *b, struct err *e)
{
	struct pep440_version va = PEP440_VERSION_INIT;
	struct pep440_version vb = PEP440_VERSION_INIT;
	int r = -2;

	if (pep440_parse(&va, a, e) < 0 || pep440_parse(&vb, b, e) < 0)
		goto out;
	r = pep440_cmp(&va, &vb);
	r = r < 0 ? -1 : r > 0;
out:
	pep440_release(&va);
	pep440_release(&vb);
	return r;
}

const struct compat_release *
compat_lookup(const char *version, struct err *e)
{
	for (const struct compat_release *r = compat_releases; r->first;
	     r++) {
		int lo = compat_cmp(version, r->first, e);

		if (lo == -2)
			return NULL;
		if (lo >= 0 && compat_cmp(version, r->last, e) <= 0)
			return r;
	}
	if (e)
		err_set(e, ERR_BADVALUE, "omero-web '%s' is not in owctl's "
			"release table (%s to %s)", version,
			compat_releases[0].first,
			compat_releases[sizeof(compat_releases) /
			sizeof(compat_releases[0]) - 2].last);
	return NULL;
}

int
compat_must_clear(const char *from, const char *to, const char **release,
		  struct err *e)
{
	const char *lo = from, *hi = to;
	int c = compat_cmp(from, to, e);

	if (c == -2)
		return -1;
	if (c > 0) {
		lo = to;
		hi = from;
	}
	*release = NULL;
	for (const char *const *r = compat_clear_sessions_at; *r; r++)
		if (compat_cmp(lo, *r, NULL) < 0 &&
		    compat_cmp(*r, hi, NULL) <= 0) {
			*release = *r;
			return 1;
		}
	return 0;
}

int
compat_django_major(const struct compat_release *r)
{
	struct pep440_specset ss = PEP440_SPECSET_INIT;
	int major = 0;

	if (!r || pep440_specset_parse(&ss, r->django, NULL) < 0)
		return 0;
	for (size_t i = 0; i < ss.n; i++) {
		const struct pep440_spec *sp = &ss.specs[i];

		if ((sp->op == PEP440_OP_GE || sp->op == PEP440_OP_EQ ||
		     sp->op == PEP440_OP_COMPATIBLE) && sp->parsed &&
		    strlen(sp->v.release[0]) < 4)
			major = (int)strtol(sp->v.release[0], NULL, 10);
	}
	pep440_specset_release(&ss);
	return major;
}

int
compat_python_ok(const struct compat_release *r, const char *python,
		 struct err *e)
{
	struct pep440_specset ss = PEP440_SPECSET_INIT;
	struct pep440_version v = PEP440_VERSION_INIT;
	int ok = -1;

	if (pep440_specset_parse(&ss, r->requires_python, e) < 0 ||
	    pep440_parse(&v, python, e) < 0)
		goto out;
	ok = pep440_specset_contains(&ss, &v, 1, e);
out:
	pep440_specset_release(&ss);
	pep440_release(&v);
	return ok;
}
