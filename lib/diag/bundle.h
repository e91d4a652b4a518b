/*
 * The diagnostics bundle (`owctl web diagnostics --bundle FILE.tar.gz`):
 * the report and the files behind it in one reproducible, secret-free
 * .tar.gz, written with libarchive opened on first use (never linked).
 */
#ifndef OWCTL_DIAG_BUNDLE_H
#define OWCTL_DIAG_BUNDLE_H

#include <stddef.h>

#include "diag/diag.h"
#include "err.h"
#include "sbuf.h"

#define DIAG_BUNDLE_TOP "owctl-diagnostics"	/* members live below */
#define DIAG_BUNDLE_TAIL_LINES 200		/* lines of each log */

/* One member: name below DIAG_BUNDLE_TOP and its bytes (owned). */
struct diag_member {
	char *name;
	struct sbuf data;
};

struct diag_members {
	struct diag_member *v;
	size_t n, alloc;
};

#define DIAG_MEMBERS_INIT { NULL, 0, 0 }

/* Append a member (name and data are copied). */
void diag_members_add(struct diag_members *m, const char *name,
		      const void *data, size_t len);
void diag_members_release(struct diag_members *m);

/*
 * The members of the bundle for report r: report.txt and report.json
 * (text and json as printed), config.export (masked, every profile),
 * pip-freeze.txt, nginx/<file> for each installed nginx file, logs/<file>
 * (the last DIAG_BUNDLE_TAIL_LINES lines, unless the report was made with
 * --no-logs) and upgrades/<id>/journal.jsonl. Every member is scrubbed of
 * the report's secrets.
 */
void diag_bundle_members(const struct diag_report *r, const char *text,
			 const char *json, struct diag_members *out);

/*
 * Write members as a gzip'ed tar (pax restricted: plain ustar unless a
 * name needs more) into out: entries sorted by name, each a regular file
 * DIAG_BUNDLE_TOP/NAME with mode 0600, owner 0:0 "root", mtime mtime, no
 * gzip time stamp, no padding past the last block: the same members give
 * the same bytes. Fails (ERR_FAIL) when libarchive cannot be loaded
 * (naming the package) or reports an error.
 */
int diag_bundle_tgz(const struct diag_members *m, long long mtime,
		    struct sbuf *out, struct err *e);

/*
 * Write data to path: a new file, mode 0600, created atomically (a
 * temporary file renamed into place; nothing is left behind on failure).
 * An existing path is refused (ERR_CONFIRM "'PATH' exists ...") unless
 * force, which replaces it atomically.
 */
int diag_bundle_write(const char *path, const struct sbuf *data, int force,
		      struct err *e);

#endif
