/*
 * config.xml as omero-py's ConfigXml sees it: an <icegrid> root holding
 * <properties id="..."> blocks of <property name value/> elements. Read
 * with expat, written byte for byte as Python 3's ElementTree writes it in
 * ConfigXml.save().
 */
#ifndef OWCTL_CONFIGXML_H
#define OWCTL_CONFIGXML_H

#include <stddef.h>

#include "err.h"
#include "sbuf.h"
#include "strv.h"

#define CFG_INTERNAL "__ACTIVE__"
#define CFG_KEY_PROFILE "omero.config.profile"
#define CFG_KEY_VERSION "omero.config.version"
#define CFG_VERSION "5.1.0"

struct xattr {
	char *name;
	char *value;
};

/* An element; text and tails are never kept (save() clears them). */
struct xelem {
	char *tag;
	struct xattr *attrs;
	size_t nattrs, aattrs;
	struct xelem *kids;
	size_t nkids, akids;
	/* Parsed elements keep tag and attribute strings in one block
	 * (one allocation instead of five); strings set later are separate. */
	char *block;
	size_t blocklen;
};

/* The document: root's children are the <properties> blocks, in order. */
struct cfgdoc {
	struct xelem root;
};

/*
 * Parse config.xml text. Only <properties> children of the root are kept
 * (omero-py drops everything else on save); their subtrees are kept whole.
 * Errors (ERR_CFG_OPEN) read as Python's: "no element found: line 1,
 * column 28". The document must be released even on failure.
 */
int cfgdoc_parse(struct cfgdoc *d, const char *buf, size_t len,
		 struct err *e);

/* A new tree as ConfigXml builds for an empty file: __ACTIVE__ naming
 * profile, and profile itself, both with omero.config.version. */
void cfgdoc_init_fresh(struct cfgdoc *d, const char *profile);

void cfgdoc_release(struct cfgdoc *d);

/*
 * Serialise as ConfigXml.save(): comment with ctime_str, a regenerated
 * __ACTIVE__ (naming active, copying that profile), the other blocks in
 * document order, then <include file="templates.xml" />. No declaration,
 * no final newline.
 */
void cfgdoc_write(const struct cfgdoc *d, const char *active,
		  const char *ctime_str, struct sbuf *out);

/* First <properties id=id>, or NULL. */
struct xelem *cfgdoc_profile(struct cfgdoc *d, const char *id);
/* Append a new profile block (with omero.config.version) at the end. */
struct xelem *cfgdoc_add_profile(struct cfgdoc *d, const char *id);
/* Remove the first block with that id; -1 if there is none. */
int cfgdoc_remove_profile(struct cfgdoc *d, const char *id);
/* Ids of every block but __ACTIVE__, in document order. */
void cfgdoc_profile_ids(const struct cfgdoc *d, struct strv *out);

/* Attribute value or NULL. */
const char *xelem_attr(const struct xelem *el, const char *name);
/* Set (replace in place, or append) an attribute. */
void xelem_set_attr(struct xelem *el, const char *name, const char *value);

/*
 * A profile as a dict (ConfigXml.props_to_dict): only <property> children
 * with a name count; a later duplicate wins; a missing value reads "".
 * Returns NULL when the key is absent (or p is NULL).
 */
const char *profile_get(const struct xelem *p, const char *key);
/*
 * The profile as a dict in O(n log n): one item per key, in dict order
 * (first appearance) with the last value. Strings are borrowed from p;
 * free(*items) when done. Returns the count.
 */
struct cfg_item {
	const char *key;
	const char *value;
	size_t pos;	/* first appearance (internal) */
};
size_t profile_items(const struct xelem *p, struct cfg_item **items);
/* The same, sorted by key instead (by_key != 0), which is cheaper. */
size_t profile_items_ex(const struct xelem *p, struct cfg_item **items,
			int by_key);
/* Sort items by key (byte order = Python's str order for UTF-8). */
void cfg_items_sort_by_key(struct cfg_item *items, size_t n);
/* Keys in dict order (first appearance), without duplicates. */
void profile_keys(const struct xelem *p, struct strv *out);
/* __setitem__: replace the value of the first <property name=key>, else
 * append one. */
void profile_set(struct xelem *p, const char *key, const char *value);
/* Remove every child element of p. */
void profile_clear(struct xelem *p);
/* __delitem__: remove every child whose name is key; returns how many. */
size_t profile_del(struct xelem *p, const char *key);

/*
 * Can s be stored in config.xml and read back unchanged? Refuses invalid
 * UTF-8 and characters XML 1.0 cannot hold (most C0 controls, U+FFFE,
 * U+FFFF), which omero-py writes anyway and so bricks the file. The error
 * (ERR_BADVALUE) names what and where, with "what" as the subject.
 */
int cfg_check_storable(const char *what, const char *s, struct err *e);

#endif
