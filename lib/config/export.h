/*
 * owctl's lossless config export format: every profile's properties,
 * escaped so that any value config.xml can hold (newlines, tabs, trailing
 * spaces, backslashes, '=' in keys) survives, one property per line so it
 * diffs well. Format (version 1):
 *
 *   # owctl config export 1
 *   @scope all|active
 *   @active NAME
 *   @profile NAME
 *   KEY=VALUE
 *
 * Lines starting with '#' and empty lines are comments. KEY, VALUE and
 * NAME are escaped: '\\' '\n' '\r' '\t', other control characters and '='
 * (in keys) as \xHH, a leading or trailing space as \x20, a leading '@' or
 * '#' of a key as \x40 / \x23. UTF-8 is written as is.
 */
#ifndef OWCTL_EXPORT_H
#define OWCTL_EXPORT_H

#include "configxml.h"
#include "loadfmt.h"
#include "store.h"

struct cfgexp_profile {
	char *id;
	struct load_list kv;	/* in profile (dict) order */
};

struct cfgexp {
	char *active;		/* the persisted active profile, or NULL */
	int all;		/* every profile (else the active one only) */
	struct cfgexp_profile *p;
	size_t n, alloc;
};

#define CFGEXP_INIT { NULL, 0, NULL, 0, 0 }

/* The profiles of d as an export: all of them, or only profile `active`.
 * persisted is recorded as @active. */
void cfgexp_from_doc(struct cfgdoc *d, const char *active,
		     const char *persisted, int all, struct cfgexp *out);

/* Serialise x in the format above. */
void cfgexp_write(const struct cfgexp *x, struct sbuf *out);

/* Parse an export (ERR_BADVALUE with the line number on bad input). */
int cfgexp_parse(const char *name, const char *text, size_t len,
		 struct cfgexp *out, struct err *e);

/*
 * Apply x to an open, writable store. Without replace, each property is set
 * in its profile (created when missing), others are kept. With replace,
 * each profile in x becomes exactly its content, the active profile becomes
 * x's, and when x holds all profiles, profiles it does not list are dropped.
 * All values are checked before anything changes.
 */
int cfgexp_apply(struct cfg_store *s, const struct cfgexp *x, int replace,
		 struct err *e);

/* Read either a config.xml or an export file into an export. */
int cfgexp_load_any(const char *path, int all, const char *env_profile,
		    struct cfgexp *out, struct err *e);

void cfgexp_release(struct cfgexp *x);

/* Escape one key or value for the format (exposed for tests). */
void cfgexp_escape(const char *s, int is_key, struct sbuf *out);

#endif
