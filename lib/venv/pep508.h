/*
 * PEP 508 dependency specifiers ("Django (>=3.2); python_version < '4'"),
 * parsed like packaging.requirements.Requirement 23 and their environment
 * markers evaluated like packaging.markers, with one difference on purpose:
 * a value owctl does not know makes the result "unknown", not an error.
 */
#ifndef OWCTL_PEP508_H
#define OWCTL_PEP508_H

#include "err.h"
#include "pep440.h"
#include "sbuf.h"
#include "strv.h"

enum pep508_var {
	PEP508_PYTHON_VERSION,
	PEP508_PYTHON_FULL_VERSION,
	PEP508_OS_NAME,
	PEP508_SYS_PLATFORM,
	PEP508_PLATFORM_RELEASE,
	PEP508_PLATFORM_SYSTEM,
	PEP508_PLATFORM_VERSION,
	PEP508_PLATFORM_MACHINE,
	PEP508_PLATFORM_PYTHON_IMPLEMENTATION,
	PEP508_IMPLEMENTATION_NAME,
	PEP508_IMPLEMENTATION_VERSION,
	PEP508_EXTRA,
	PEP508_NVARS
};

/* The marker environment: values[v] == NULL means "not known". */
struct pep508_env {
	const char *values[PEP508_NVARS];
};

/* The variable's name as written in markers ("python_version"). */
const char *pep508_var_name(enum pep508_var v);

struct pep508_marker;	/* parsed marker expression (opaque) */

struct pep508_req {
	char *name;		/* as written */
	char *key;		/* PEP 503 normalised name ("omero-web") */
	struct strv extras;	/* as written */
	char *specifier;	/* the specifier text, "" when none */
	struct pep440_specset spec;
	char *url;		/* "name @ url", else NULL */
	char *marker_text;	/* the text after ';', trimmed, or NULL */
	struct pep508_marker *marker;	/* NULL when there is none */
};

#define PEP508_REQ_INIT { NULL, NULL, STRV_INIT, NULL, PEP440_SPECSET_INIT, \
			  NULL, NULL, NULL }

/*
 * Parse one requirement. Returns 0, or -1 with ERR_BADVALUE
 * "invalid requirement 'S': what was expected". Marker strings with
 * backslashes or line breaks are refused (packaging runs them through
 * ast.literal_eval).
 */
int pep508_parse(struct pep508_req *r, const char *s, struct err *e);
void pep508_release(struct pep508_req *r);

/*
 * Evaluate r's marker (true when there is none): 1 true, 0 false, -1
 * unknown. A variable with no value in env makes its comparison unknown,
 * combined like SQL's three-valued and/or ("x or True" is true). A
 * comparison packaging raises on (a version operator on a value that is
 * not a version, ~= on text, a string naming no variable) makes the whole
 * marker unknown, as packaging evaluates every comparison. When why is not
 * NULL, the missing variables and undefined comparisons are appended to it
 * (comma-separated, each once).
 */
int pep508_marker_eval(const struct pep508_req *r,
		       const struct pep508_env *env, struct sbuf *why);

/* PEP 503 normalisation: runs of "-_." become "-", lower case. Caller
 * frees. */
char *pep508_normalize_name(const char *name);

#endif
