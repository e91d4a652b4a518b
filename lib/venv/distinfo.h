/*
 * Installed Python distributions, read from site-packages without starting
 * Python: *.dist-info / *.egg-info metadata as importlib.metadata (Python
 * 3.11) reads it, the importable top-level names of each distribution, and
 * the virtualenv's own facts (Python version, site directories).
 */
#ifndef OWCTL_DISTINFO_H
#define OWCTL_DISTINFO_H

#include <stddef.h>

#include "err.h"
#include "sbuf.h"
#include "strv.h"

/* Size caps for files read from a distribution (bytes). */
#define DIST_MAX_METADATA (8u << 20)
#define DIST_MAX_RECORD (16u << 20)
#define DIST_MAX_SMALL (1u << 20)	/* top_level.txt, requires.txt */

/*
 * Headers of a METADATA / PKG-INFO text, in file order, parsed like
 * email.message_from_string() (compat32) and then importlib.metadata's
 * RFC 822 re-indentation of multi-line values.
 */
struct dist_meta {
	struct strv names;
	struct strv values;	/* values.v[i] belongs to names.v[i] */
};

#define DIST_META_INIT { STRV_INIT, STRV_INIT }

/*
 * Parse text[0..len). Line ends are translated as Python's text mode does
 * (\r\n and \r become \n). Fails (ERR_BADVALUE) only when text is not
 * valid UTF-8, as importlib.metadata's read_text() would.
 */
int dist_meta_parse(struct dist_meta *m, const char *text, size_t len,
		    struct err *e);
void dist_meta_release(struct dist_meta *m);
/* msg[name]: the first header so named (ASCII case-insensitive), or NULL. */
const char *dist_meta_get(const struct dist_meta *m, const char *name);
/* msg.get_all(name) appended to out; returns how many. */
size_t dist_meta_get_all(const struct dist_meta *m, const char *name,
			 struct strv *out);

/*
 * One installed distribution.
 */
struct dist {
	char *path;		/* the .dist-info/.egg-info directory or file */
	char *site;		/* the directory it was found in */
	char *name;		/* Name, as written; NULL if missing */
	char *key;		/* PEP 503 normalised name ("" if no Name) */
	char *version;		/* Version, or NULL */
	char *requires_python;	/* Requires-Python, or NULL */
	struct strv requires;	/* Distribution.requires: Requires-Dist, or
				   egg-info requires.txt with its sections
				   turned into markers */
	struct strv extras;	/* Provides-Extra */
	struct strv top_level;	/* importable names: top_level.txt, else
				   inferred from RECORD (sorted, unique) */
	int egg_info;
};

/*
 * Read the distribution at path (a *.dist-info or *.egg-info directory, or
 * an *.egg-info file). Metadata comes from METADATA, else PKG-INFO (an
 * empty file counts as missing, as in importlib; with neither, all fields
 * are empty and d->name is NULL). Files that cannot be read count as
 * missing; a file over its cap or not UTF-8 fails.
 */
int dist_load(struct dist *d, const char *path, const char *site,
	      struct err *e);
void dist_release(struct dist *d);

/*
 * The distribution described by a METADATA text alone (for wheels and
 * indexes): name, version, Requires-Python, Requires-Dist, Provides-Extra;
 * top_level from a top_level.txt text when given (may be NULL).
 */
int dist_from_metadata(struct dist *d, const char *metadata, size_t len,
		       const char *top_level, struct err *e);

struct dist_list {
	struct dist *v;
	size_t n, alloc;
};

#define DIST_LIST_INIT { NULL, 0, 0 }

/*
 * Append every distribution found in the site directory (entries ending in
 * .dist-info or .egg-info, any case, sorted by entry name). A distribution
 * that cannot be read is skipped and described in warnings. A missing
 * directory adds nothing.
 */
int dist_scan_site(const char *site, struct dist_list *out,
		   struct strv *warnings, struct err *e);
void dist_list_release(struct dist_list *l);
/* First distribution whose normalised name is name's, or NULL. */
const struct dist *dist_list_find(const struct dist_list *l,
				  const char *name);

/*
 * A virtualenv: its pyvenv.cfg and site directories.
 */
struct pyvenv {
	char *root;
	char *python;		/* ROOT/bin/python */
	char *version;		/* "3.11", from pyvenv.cfg or lib/pythonX.Y */
	char *full_version;	/* "3.11.2" when pyvenv.cfg says, else NULL */
	char *home;		/* pyvenv.cfg home, or NULL */
	int system_site;	/* include-system-site-packages = true */
	int cpython;		/* lib/pythonX.Y layout */
	struct strv sites;	/* site dirs in sys.path order: the venv's,
				   then (system_site) the base Python's */
};

#define PYVENV_INIT { NULL, NULL, NULL, NULL, NULL, 0, 0, STRV_INIT }

/*
 * Inspect the virtualenv at root: ERR_IO when root has neither pyvenv.cfg
 * nor lib/python3.* ("'ROOT' is not a virtualenv: ..."). The base
 * Python's site directories are derived from home (Debian's layout:
 * PREFIX/local/lib/pythonX.Y/dist-packages, PREFIX/lib/python3/
 * dist-packages, PREFIX/lib/pythonX.Y/dist-packages, plus the upstream
 * PREFIX/lib/pythonX.Y/site-packages), keeping those that exist.
 */
int pyvenv_open(struct pyvenv *pv, const char *root, struct err *e);
void pyvenv_release(struct pyvenv *pv);

/* Python's str.splitlines() for the ASCII and common Unicode breaks. */
void dist_splitlines(const char *text, struct strv *out);

#endif
