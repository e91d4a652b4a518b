/*
 * The maintenance page the generated nginx configs point at
 * ($OMERODIR/etc/templates/error/maintainance.html, sic), which omero-web
 * references but pip installs do not contain (ome/omero-web#112).
 */
#ifndef OWCTL_WEB_MAINTPAGE_H
#define OWCTL_WEB_MAINTPAGE_H

#include "err.h"

/* The page owctl ships: self-contained HTML5, no external resources. */
extern const char maint_page_html[];

enum maint_page_state {
	MAINT_PAGE_CREATED,	/* written now */
	MAINT_PAGE_SAME,	/* already there, identical to ours */
	MAINT_PAGE_KEPT,	/* already there with other content: kept */
};

/*
 * Path of the page for omerodir, as the templates spell it
 * ("%s/etc/templates/error/maintainance.html"). Caller frees.
 */
char *maint_page_path(const char *omerodir);

/*
 * Install the page unless a file is already there (an administrator's own
 * page is never replaced): missing directories are created 0755, the file
 * is written atomically with mode 0644 so that nginx workers can read it.
 * *state says what happened. ERR_IO on failure.
 */
int maint_page_install(const char *omerodir, enum maint_page_state *state,
		       struct err *e);

#endif
