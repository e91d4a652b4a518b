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
 * Put every file of the manifest back (files recorded absent are removed
 * if they appeared since). Continues past a failure and reports the first.
 */
int backup_restore(const char *dir, json_t *manifest, struct err *e);

#endif
