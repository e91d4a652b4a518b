/*
 * The config store's life cycle, as omero-py's ConfigXml and `omero config`
 * run it: locate config.xml, lock, read, change in memory, save atomically.
 * Differences from omero-py, on purpose: reads take no lock and never
 * rewrite an existing file; writes wait for the lock when asked, fsync, and
 * keep the file's mode and owner.
 */
#ifndef OWCTL_STORE_H
#define OWCTL_STORE_H

#include "configxml.h"
#include "fs.h"

struct cfg_open_opts {
	const char *source;	/* --source FILE, or NULL */
	const char *omerodir;	/* $OMERODIR / --omerodir, or NULL */
	const char *env_profile; /* $OMERO_CONFIG, or NULL */
	int write;		/* the command will change the file */
	double wait;		/* seconds to wait for the lock (0: none) */
};

struct cfg_store {
	char *path;		/* config.xml as opened (verbatim, like omero) */
	struct cfgdoc doc;
	struct fs_lock lock;
	int locked;		/* we hold the lock and may save */
	int readonly;		/* the file exists but is not writable */
	int fresh;		/* the file was missing or empty */
	char *user_profile;	/* chosen with `config def NAME` */
	char *env_profile;	/* $OMERO_CONFIG */
	char *created_dir;	/* etc/grid created by cfg_locate, or NULL */
};

/*
 * Resolve the path of config.xml: --source (must exist: ERR_CFG_SOURCE
 * "File not found: X"), else $OMERODIR/etc/grid/config.xml (ERR_CFG_NO_OMERODIR
 * when OMERODIR is unset), creating etc/grid when missing; *created is then
 * set to the directory created (caller frees), else NULL.
 */
int cfg_locate(const struct cfg_open_opts *o, char **path, char **created,
	       struct err *e);

/*
 * Open the store. A write open (or a read of a missing/empty file, which
 * omero-py creates) takes the lock; a read of an existing file does not.
 * A file that exists but is not writable opens read-only (s->readonly),
 * unless a non-default profile was requested (ERR_CFG_OPEN "Non-default
 * OMERO_CONFIG on read-only: X").
 */
int cfg_open(struct cfg_store *s, const struct cfg_open_opts *o,
	     struct err *e);

/* ERR_CFG_READONLY "Cannot modify PATH" unless the store may be saved. */
int cfg_require_writable(struct cfg_store *s, struct err *e);

/* The profile reads and writes go to: def NAME, $OMERO_CONFIG, the
 * persisted __ACTIVE__ choice, "default". */
const char *cfg_active(struct cfg_store *s);
/* The profile persisted on save: def NAME, else the persisted choice. */
const char *cfg_active_for_save(struct cfg_store *s);
/* The active profile block, or NULL. */
struct xelem *cfg_profile(struct cfg_store *s);
/* The active profile block, created (at the end) when missing. */
struct xelem *cfg_profile_create(struct cfg_store *s);

/* Choose the profile (`config def NAME`). */
void cfg_set_user_profile(struct cfg_store *s, const char *name);

/*
 * Serialise and replace config.xml atomically (keeping mode and owner).
 * Every name and value is checked first (cfg_check_storable); nothing is
 * written when one fails. Requires the lock.
 */
int cfg_save(struct cfg_store *s, struct err *e);

/* Release the lock (removing the lock file) and free everything. */
void cfg_close(struct cfg_store *s);

/* ctime() of now, or of $SOURCE_DATE_EPOCH when set, without newline. */
void cfg_ctime(char *buf, size_t size);

#endif
