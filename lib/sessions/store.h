/*
 * Where and how OMERO.web keeps its sessions, worked out the way its
 * settings.py and Django do: the engine, cookie name/age, serializer, time
 * zone and secret key from config.xml (with OMERO.web's defaults and
 * omero.web.django_additional_settings), the Django version whose rules
 * apply, and for the file engine the directory the service really uses.
 */
#ifndef OWCTL_SSTORE_H
#define OWCTL_SSTORE_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "djsign.h"
#include "err.h"
#include "sbuf.h"
#include "strv.h"

enum sstore_engine {
	SSTORE_FILE,	  /* ...backends.file, omeroweb.filesessionstore */
	SSTORE_CACHE,	  /* ...backends.cache */
	SSTORE_DB,	  /* ...backends.db */
	SSTORE_CACHED_DB, /* ...backends.cached_db */
};

/* Where the file engine's directory came from. */
enum sstore_dir_from {
	SSTORE_DIR_OPTION,  /* --session-dir */
	SSTORE_DIR_SETTING, /* SESSION_FILE_PATH (additional settings) */
	SSTORE_DIR_RUNNING, /* gettempdir() of the running gunicorn */
	SSTORE_DIR_PYTHON,  /* gettempdir() rules in owctl's environment */
};

/* Where the Django version (whose rules apply) came from. */
enum sstore_version_from {
	SSTORE_VERSION_OPTION,	/* --django-version */
	SSTORE_VERSION_VENV,	/* the venv's Django dist-info/egg-info */
	SSTORE_VERSION_DEFAULT, /* nothing found: 5.2 (OMERO.web 5.31) */
};

struct sstore_opts {
	const char *omerodir;	    /* $OMERODIR (required) */
	const char *env_profile;    /* $OMERO_CONFIG, or NULL */
	const char *session_dir;    /* --session-dir, or NULL */
	const char *django_version; /* --django-version "3.2"|"4.2"|"5.2" */
	const char *venv;	    /* --venv DIR, or NULL */
	const char *virtual_env;    /* $VIRTUAL_ENV, or NULL */
	const char *path;	    /* $PATH, or NULL */
	/* Python's tempfile.gettempdir() inputs for owctl's own process
	 * (used when no gunicorn runs): $TMPDIR, $TEMP, $TMP, or NULL. */
	const char *tmpdir, *temp, *tmp;
	const char *proc;	    /* "/proc" (tests may point elsewhere) */
};

struct sstore {
	char *config_path; /* config.xml read */
	char *profile;	   /* the profile in effect */

	enum sstore_engine engine;
	char *engine_name;     /* SESSION_ENGINE as configured */
	int engine_default;    /* not set: OMERO.web's default */
	int engine_deprecated; /* omeroweb.filesessionstore */

	char *cookie_name;  /* SESSION_COOKIE_NAME: the file prefix */
	int64_t cookie_age; /* SESSION_COOKIE_AGE */
	char *time_zone;    /* TIME_ZONE */
	int use_tz;	    /* USE_TZ if set, else -1 (version default) */
	enum djsign_serializer serializer;
	char *serializer_name;
	char *cache_alias;	 /* SESSION_CACHE_ALIAS ("default") */
	json_t *caches;		 /* CACHES */
	json_t *databases;	 /* DATABASES */
	struct strv fallbacks;	 /* SECRET_KEY_FALLBACKS */
	char *secret_key;	 /* SECRET_KEY once loaded (wiped) */
	char *secret_from;	 /* "omero.web.secret_key" or the file */
	char *file_path_setting; /* SESSION_FILE_PATH override, or NULL */

	enum django_version version;
	enum sstore_version_from version_from;
	char *version_text; /* "5.2.3" (venv), the option, or "5.2" */
	char *version_where; /* the dist-info found, or NULL */
	char *venv_dir;      /* the venv looked at, or NULL */

	pid_t gunicorn_pid;  /* the running master, or 0 */
	char *gunicorn_note; /* why no gunicorn is used, or NULL */

	/* The file engine's directory (set by sstore_find_dir). */
	char *dir;	 /* path owctl opens (may be /proc/PID/root/...) */
	char *dir_shown; /* the path as the service sees it */
	enum sstore_dir_from dir_from;
	char *dir_note; /* how it was chosen, one line */
	int dir_private; /* PrivateTmp: a mount only the service sees */

	struct strv warnings; /* things the caller should show */
};

#define SSTORE_INIT_OPTS                                                       \
	{ NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "/proc" }

/*
 * Read config.xml of o->omerodir (read-only, no lock) and work out the
 * engine and its settings, the Django version (option, else the venv's
 * dist-info, else 5.2) and the running gunicorn. Does not load the secret
 * key nor look for the directory. Fails with ERR_SESS_CONFIG for values
 * OMERO.web itself would refuse, or the config store's errors. s must be
 * released with sstore_release() in every case.
 */
int sstore_open(struct sstore *s, const struct sstore_opts *o,
		struct err *e);
void sstore_release(struct sstore *s);

/*
 * Load SECRET_KEY: omero.web.secret_key, else (SECRET_KEY in
 * django_additional_settings, else) $OMERODIR/var/django_secret_key read
 * and strip()ped like OMERO.web. Fails (ERR_SESS_SECRET) when missing or
 * unreadable: without it no signed payload can be checked.
 */
int sstore_load_secret(struct sstore *s, const struct sstore_opts *o,
		       struct err *e);

/*
 * Find the file engine's directory: --session-dir, else SESSION_FILE_PATH
 * from django_additional_settings, else tempfile.gettempdir() of the
 * running gunicorn (its TMPDIR/TEMP/TMP from /proc/PID/environ, then
 * /tmp, /var/tmp, /usr/tmp, then its cwd; the first that exists and that
 * the gunicorn's user can write, seen through /proc/PID/root when it has
 * its own mount namespace, e.g. systemd's PrivateTmp), else the same rules
 * in owctl's environment. Fails (ERR_SESS_STORE) when nothing fits.
 */
int sstore_find_dir(struct sstore *s, const struct sstore_opts *o,
		    struct err *e);

/* "file", "cache", "db", "cached_db". */
const char *sstore_engine_str(enum sstore_engine engine);
/* "3.2", "4.2", "5.2". */
const char *sstore_version_str(enum django_version v);
/* The USE_TZ in effect: the setting, else the version's default. */
int sstore_use_tz(const struct sstore *s);

/*
 * Python's tempfile.gettempdir() candidate order for the given
 * environment values (each may be NULL): TMPDIR, TEMP, TMP, /tmp,
 * /var/tmp, /usr/tmp, then cwd. Appended to out (exposed for tests).
 */
void sstore_tempdir_candidates(const char *tmpdir, const char *temp,
			       const char *tmp, const char *cwd,
			       struct strv *out);

/*
 * Django version (X.Y...) -> the rules owctl applies: 3.x -> 3.2,
 * 4.x -> 4.2, 5.x and later -> 5.2. -1 for anything else (2.x, garbage).
 */
int sstore_parse_version(const char *text, enum django_version *v);

#endif
