/*
 * What an upgrade keeps to undo itself: copies of config.xml, a lossless
 * export of every profile, the Django secret key file, the installed nginx
 * file and the venv's `pip freeze`, in the upgrade's directory (0600 files
 * in a 0700 directory), described by manifest.json. Restoring puts each
 * file back atomically with its original mode and owner.
 */
#ifndef OWCTL_BACKUP_H
#define OWCTL_BACKUP_H

#include <jansson.h>

#include "err.h"

struct backup_opts {
	const char *omerodir;
	const char *config_path;	/* config.xml (required) */
	const char *nginx_file;		/* installed nginx file, or NULL */
	const char *venv_python;	/* VENV/bin/python for pip freeze, or NULL */
	const char *venv_record;	/* $OMERODIR/var/owctl/venv, or NULL */
};

/*
 * Copy everything into dir and write dir/manifest.json. *manifest (new
 * reference, may be NULL) describes each file: {"what", "path", "copy",
 * "mode", "uid", "gid", "size"}; missing optional files are recorded as
 * {"what", "path", "absent": true}.
 */
int backup_take(const char *dir, const struct backup_opts *o,
		json_t **manifest, struct err *e);

/* Read dir/manifest.json. */
json_t *backup_manifest(const char *dir, struct err *e);

/*
 * Copy the n files paths[i] into dir as whats[i] (names without '/'),
 * recording absent ones, and write the list to dir/name (a manifest like
 * manifest.json's, for backup_restore). For files an upgrade step is
 * about to replace or create.
 */
int backup_take_files(const char *dir, const char *name, size_t n,
		      const char *const *whats, const char *const *paths,
		      struct err *e);

/* Read dir/name (NULL with ERR_FAIL when missing or bad). */
json_t *backup_manifest_named(const char *dir, const char *name,
			      struct err *e);

/*
 * Put every file of the manifest back (files recorded absent are removed
 * if they appeared since). Continues past a failure and reports the first.
 */
int backup_restore(const char *dir, json_t *manifest, struct err *e);

#endif
