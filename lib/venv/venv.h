/*
 * Finding the OMERO.web virtualenv the way an admin expects: --venv DIR,
 * then $VIRTUAL_ENV, then the venv of an `omero` or `gunicorn` found on
 * PATH. Only what running OMERO.web needs is read here (paths, the Python
 * version, the installed omero-web version, how to run gunicorn).
 */
#ifndef OWCTL_VENV_H
#define OWCTL_VENV_H

#include "err.h"
#include "strv.h"

enum venv_source {
	VENV_FROM_OPTION,	/* --venv DIR */
	VENV_FROM_VIRTUAL_ENV,	/* $VIRTUAL_ENV */
	VENV_FROM_OMERO,	/* the venv of an `omero` on PATH */
	VENV_FROM_GUNICORN,	/* the venv of a `gunicorn` on PATH */
	VENV_FROM_RUNNING,	/* the venv the running OMERO.web uses */
	VENV_FROM_RECORD,	/* $OMERODIR/var/owctl/venv (owctl upgrade) */
};

struct venv {
	char *dir;		/* the venv, absolute, no trailing '/' */
	char *python;		/* dir/bin/python */
	enum venv_source source;
	char *found_via;	/* the program on PATH that led here, or NULL */
	int py_major, py_minor;	/* from pyvenv.cfg; 0 when unknown */
	char *site_packages;	/* dir/lib/pythonX.Y/site-packages */
	char *omeroweb_dir;	/* site_packages/omeroweb */
	char *omero_web_version; /* from omero_web-V.dist-info, or NULL */
	char *gunicorn;		/* dir/bin/gunicorn when executable, or NULL */
};

#define VENV_INIT { NULL, NULL, VENV_FROM_OPTION, NULL, 0, 0, NULL, NULL, \
		    NULL, NULL }

/*
 * Find the venv. option is --venv DIR (or NULL), virtual_env the value of
 * $VIRTUAL_ENV (or NULL), path a PATH-style list (NULL: "/bin:/usr/bin").
 * The first candidate given explicitly (option, then $VIRTUAL_ENV) must be
 * a venv (pyvenv.cfg and bin/python) with the omeroweb package installed,
 * else the call fails naming what is missing. Candidates found on PATH
 * that are not such a venv are skipped. Fails with ERR_WEB_NO_VENV when
 * nothing fits, listing what was looked at. v is filled on success and
 * must be released with venv_release (also after a failure).
 */
int venv_find(const char *option, const char *virtual_env, const char *path,
	      struct venv *v, struct err *e);

/* Inspect DIR as a venv (used by venv_find): 0, or -1 with e saying why. */
int venv_open(const char *dir, enum venv_source source, struct venv *v,
	      struct err *e);

void venv_release(struct venv *v);

/* "--venv", "$VIRTUAL_ENV", "omero on PATH", "gunicorn on PATH",
 * "the running OMERO.web". */
const char *venv_source_text(enum venv_source s);

/*
 * The program words that run gunicorn from this venv, appended to out:
 * dir/bin/gunicorn when the venv has it, else python -m gunicorn.
 * *needs_safepath is set when the second form is used: gunicorn's USR2
 * re-exec then runs gunicorn/__main__.py as a script, whose directory
 * (holding gunicorn's "http" package) would shadow the standard library
 * unless PYTHONSAFEPATH=1 (Python >= 3.11) is in the environment.
 */
void venv_gunicorn_argv(const struct venv *v, struct strv *out,
			int *needs_safepath);

/*
 * Can the gunicorn re-exec (USR2) of this venv's gunicorn work? True with
 * bin/gunicorn, or with Python >= 3.11 (PYTHONSAFEPATH).
 */
int venv_can_reexec(const struct venv *v);

#endif
