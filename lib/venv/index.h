/*
 * Where new versions come from: a wheelhouse directory (pip's
 * --find-links DIR) or a PEP 503 "simple" index over HTTP(S) (pip's
 * --index-url URL), read with libcurl (loaded on first use). Only
 * pure-Python 3 wheels are considered; sdists would need building.
 */
#ifndef OWCTL_INDEX_H
#define OWCTL_INDEX_H

#include "err.h"
#include "pep440.h"
#include "sbuf.h"
#include "strv.h"
#include "venv/distinfo.h"
#include "venv/wheel.h"

/* Caps on what is downloaded (bytes). */
#define INDEX_MAX_PAGE (16u << 20)
#define INDEX_MAX_WHEEL (256u << 20)

struct pkg_file {
	char *filename;
	char *url;		/* absolute URL without fragment, or a path */
	char *sha256;		/* from "#sha256=" (lower-case hex), or NULL */
	struct wheel_name wn;
	struct pep440_version v;
	char *requires_python;	/* data-requires-python, or NULL */
	int yanked;		/* data-yanked */
	int core_metadata;	/* PEP 658: URL + ".metadata" exists */
};

struct pkg_files {
	struct pkg_file *v;	/* sorted by version, oldest first */
	size_t n, alloc;
	size_t skipped;		/* files of the project that were not
				   pure-Python 3 wheels with a valid version */
};

#define PKG_FILES_INIT { NULL, 0, 0, 0 }

void pkg_files_release(struct pkg_files *f);

struct pkg_index {
	char *where;		/* the directory or the index URL */
	int is_url;
	double timeout;		/* seconds per HTTP transfer */
	struct strv entries;	/* directory listing, read once */
	int listed;
};

#define PKG_INDEX_INIT { NULL, 0, 60.0, STRV_INIT, 0 }

/*
 * where is a directory or an http:// or https:// URL (ERR_USAGE
 * otherwise). Nothing is read yet.
 */
int pkg_index_open(struct pkg_index *ix, const char *where, struct err *e);
void pkg_index_close(struct pkg_index *ix);

/*
 * The project's usable files (out must be empty). A project the index
 * does not know gives none (an HTTP 404 is not an error); other HTTP or
 * I/O failures are ERR_IO.
 */
int pkg_index_files(struct pkg_index *ix, const char *project,
		    struct pkg_files *out, struct err *e);

/*
 * The distribution a file would install, from its METADATA (PEP 658 file
 * when the index offers one, else the wheel, checked against its sha256
 * when the index gives one); top_level is filled only from a wheel.
 */
int pkg_index_dist(struct pkg_index *ix, const struct pkg_file *f,
		   struct dist *d, struct err *e);

/*
 * Parse a PEP 503 project page found at page_url: every <a href> whose
 * file is a wheel of project (normalised comparison). Exposed for tests.
 */
void pkg_index_parse_page(const char *html, const char *page_url,
			  const char *project, struct pkg_files *out);

/*
 * GET url into out (at most max bytes) with libcurl: redirects within
 * http/https, timeout seconds in all. *status gets the HTTP status.
 * Returns 0 when a response came (any status), -1 with ERR_IO otherwise.
 */
int index_http_get(const char *url, size_t max, double timeout,
		   struct sbuf *out, long *status, struct err *e);

#endif
