/*
 * `owctl web diagnostics`: everything worth knowing about one OMERO.web
 * deployment, collected into one JSON document (schema
 * owctl.web.diagnostics/1, see doc/README-diagnostics.md) and rendered as
 * omero-web's diagnostics text plus owctl's sections. Every part degrades
 * to a note ("not installed", "not running"); secrets never leave.
 */
#ifndef OWCTL_DIAG_H
#define OWCTL_DIAG_H

#include <stddef.h>

#include <jansson.h>

#include "err.h"
#include "sbuf.h"
#include "strv.h"

#define DIAG_SCHEMA "owctl.web.diagnostics/1"
#define DIAG_MASK "********"
/* Known secrets shorter than this are masked where they are configured
 * but not searched for in free text (logs), where they would hide
 * unrelated words. */
#define DIAG_MIN_SCRUB 4

struct diag_opts {
	const char *omerodir;		/* $OMERODIR / --omerodir, or NULL */
	const char *env_profile;	/* $OMERO_CONFIG, or NULL */
	const char *venv;		/* --venv DIR, or NULL */
	const char *virtual_env;	/* $VIRTUAL_ENV, or NULL */
	const char *path;		/* $PATH, or NULL */
	const char *tmpdir, *temp, *tmp; /* $TMPDIR, $TEMP, $TMP */
	const char *nginx;		/* nginx binary; NULL: PATH, sbin */
	const char *owctl_version;	/* recorded in the report */
	int no_logs;			/* skip log files and recent errors */
	int error_lines;		/* recent error lines kept per log file
					 * (<= 0: 20) */
	double timeout;			/* health probe, nginx, Redis (<= 0:
					 * 5 s) */
};

struct diag_report {
	json_t *doc;		/* the report (owned) */
	struct strv secrets;	/* every secret value met, longest first,
				 * wiped on release */
	char *omerodir;		/* as given, or NULL */
	char *logdir;		/* OMERODIR/var/log, absolute, or NULL */
	char *config_path;	/* config.xml, or NULL */
	char *config_export;	/* masked export of every profile, or NULL
				 * (no config.xml) */
	struct strv freeze;	/* "name==version" of the venv, sorted */
	struct strv nginx_files; /* installed nginx files (paths) */
	struct strv journals;	/* upgrade journal files (paths) */
};

#define DIAG_REPORT_INIT { NULL, STRV_INIT, NULL, NULL, NULL, NULL, \
			   STRV_INIT, STRV_INIT, STRV_INIT }

/*
 * Collect the report. Nothing here is fatal to the report: a part that
 * cannot be looked at is described in it. Returns 0; release r with
 * diag_report_release in every case.
 */
int diag_collect(const struct diag_opts *o, struct diag_report *r,
		 struct err *e);
void diag_report_release(struct diag_report *r);

/* The report as text: omero-web's banner and lines, then owctl's
 * sections. Appended to out, secrets scrubbed. */
void diag_render_text(const struct diag_report *r, struct sbuf *out);

/* The report as JSON (indented, key order kept, trailing newline),
 * appended to out, secrets scrubbed. */
void diag_render_json(const struct diag_report *r, struct sbuf *out);

/*
 * The value of config property key as diagnostics show it: "********"
 * for secret properties (schema_is_secret or a password key; empty stays
 * empty), and inside other values, JSON members named like a password,
 * secret or token and the password of URLs (scheme://user:PASS@host)
 * replaced by "********". Appended to out. Each secret found is pushed
 * to secrets when not NULL.
 */
void diag_mask_value(const char *key, const char *value, struct sbuf *out,
		     struct strv *secrets);

/* Replace every occurrence in buf of the secrets (DIAG_MIN_SCRUB bytes
 * or longer) by "********". */
void diag_scrub(const struct strv *secrets, struct sbuf *buf);

/*
 * omero-web's log line classification (omero-py cli.py _exists): 1 for a
 * warning, 2 for an error, 0 for neither. line is one line as Python's
 * path.lines() gives it (with its line end).
 */
int diag_log_class(const char *line, size_t len);

/* omero-py's _sz_str: "532 B", "12.3 KB", "1.0 MB", "2.5 GB". */
void diag_size_text(unsigned long long n, struct sbuf *out);

#endif
