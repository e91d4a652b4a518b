/*
 * The `omero config load` file format (prefs.py, not Java .properties):
 * full-line '#' comments, '\' continuations, KEY=VALUE split on the first
 * '=', no escapes. Parsing and applying are separate so that a whole load
 * (several files) is checked before anything changes.
 */
#ifndef OWCTL_LOADFMT_H
#define OWCTL_LOADFMT_H

#include <stddef.h>

#include "configxml.h"
#include "err.h"

struct load_entry {
	char *key;
	char *value;
};

struct load_list {
	struct load_entry *v;
	size_t n, alloc;
};

#define LOAD_LIST_INIT { NULL, 0, 0 }

/*
 * Append the entries of one file's text (name is for messages). Newlines
 * are universal (\r\n, \r); a continuation dangling at the end is dropped,
 * as omero-py does. Invalid UTF-8 fails with ERR_CFG_LOAD_READ.
 */
int loadfmt_parse(const char *name, const char *text, size_t len,
		  struct load_list *out, struct err *e);

void load_list_release(struct load_list *l);

/* omero-py's key rule: only [A-Za-z0-9._-] (the empty key passes). */
int cfg_valid_key(const char *key);

/*
 * Apply entries to profile p (created by the caller) with `config load`
 * semantics: a key new to the profile must be valid (ERR_CFG_ILLEGAL_KEY
 * "Illegal property name: K"); unless quiet, a key that existed before and
 * gets a different value fails (ERR_CFG_DUPLICATE "Duplicate property: K
 * ('old' => 'new')"). All entries are checked before p changes.
 */
int loadfmt_apply(struct xelem *p, const struct load_list *l, int quiet,
		  struct err *e);

#endif
