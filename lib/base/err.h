/*
 * One way to report failure from the core: a code (mapped to an exit status
 * by the front end, in one table) and a one-line message. Core functions
 * fill a struct err and return -1 (or NULL); they never print.
 */
#ifndef OWCTL_ERR_H
#define OWCTL_ERR_H

#include <stdarg.h>

enum err_code {
	ERR_NONE = 0,
	ERR_FAIL,		/* generic failure */
	ERR_USAGE,		/* bad command line */
	ERR_IO,			/* a file or system call failed */
	ERR_BADVALUE,		/* a value owctl refuses to store */
	ERR_CONFIRM,		/* a destructive action was not confirmed */
	/* config store, statuses shared with omero-py (see cli.c) */
	ERR_CFG_LOCK,		/* 112 Could not acquire lock on ... */
	ERR_CFG_OPEN,		/* 113 parse error, permission denied, ... */
	ERR_CFG_SOURCE,		/* 124 File not found: ... */
	ERR_CFG_NO_OMERODIR,	/* 125 FATAL: OMERODIR env variable not set */
	ERR_CFG_READONLY,	/* 77 Cannot modify ... */
	ERR_CFG_DUPLICATE,	/* 246 Duplicate property: ... */
	ERR_CFG_ILLEGAL_KEY,	/* 250 Illegal property name: ... */
	ERR_CFG_NOT_JSON,	/* 254 No JSON object could be decoded */
	ERR_CFG_NOT_LIST,	/* 255 Property K is not a list */
	ERR_CFG_UNDEFINED,	/* 1 (upstream: 0) Property K is not defined */
	ERR_CFG_NOT_IN_LIST,	/* 1 V is not defined in K */
	ERR_CFG_DEFAULT_UNAVAILABLE, /* 2 Cannot retrieve default value ... */
	ERR_CFG_DEFAULT_NOT_LIST, /* 3 Property K is not a list (default) */
	ERR_CFG_EDIT,		/* 186 rc: Failed to edit tmp */
	ERR_CFG_LOAD_READ,	/* 200 Cannot read [...]: ... */
	ERR_CFG_INVALID,	/* config validate found errors */
	ERR_WEB_PORT_CONFLICT,	/* 166 Port conflict: HTTP(%s) and wsgi(%s). */
	ERR_WEB_APP_SERVER,	/* 168 ERROR: configuration mismatch. ... */
	ERR_WEB_NGINX_UNSAFE,	/* owctl refuses to write a broken nginx config */
	/* web lifecycle (owctl web start/stop/...), omero-web statuses */
	ERR_WEB_NO_OMERODIR,	/* 101 ERROR: OMERODIR not set */
	ERR_WEB_ALREADY_STARTED, /* 94 [FAILED] OMERO.web already started. ... */
	ERR_WEB_COLLECTSTATIC,	/* 95 Failed to collect static content. */
	ERR_WEB_INVALID_SERVER,	/* 97 [ERROR] Invalid omero.web.wsgi_worker_class */
	ERR_WEB_SETTINGS,	/* 170 settings (or the app) cannot be imported */
	ERR_WEB_NO_VENV,	/* 178 no OMERO.web venv / gunicorn */
	ERR_WEB_NOT_READY,	/* 1 gunicorn did not come up / answer */
	/* owctl web config / web nginx install */
	ERR_WEB_NGINX_SYSTEM,	/* 171 ERROR: --system is no longer supported */
	ERR_WEB_NGINX_CONFLICT,	/* 80 local edits conflict with the new file */
	ERR_WEB_NGINX_UNMANAGED, /* 81 the file was not written by owctl */
	ERR_WEB_NGINX_TEST,	/* 82 nginx -t failed; the old file is back */
	ERR_WEB_NGINX_RELOAD,	/* 83 nginx -s reload failed */
	/* owctl plugins */
	ERR_PLUGINS_BROKEN,	/* 84 the target omero-web would not start */
	ERR_PLUGINS_PIP,	/* 1 pip install failed (its output was shown) */
	/* owctl sessions */
	ERR_SESS_CONFIG,	/* 78 session settings owctl cannot use */
	ERR_SESS_SECRET,	/* 78 the secret key cannot be read */
	ERR_SESS_STORE,		/* 69 store unreachable (dir, Redis, database) */
	ERR_SESS_PARTIAL,	/* 1 some sessions could not be removed */
	/* owctl upgrade */
	ERR_UPGRADE_PREFLIGHT,	/* 86 the plan found errors; nothing changed */
	ERR_UPGRADE_FAILED,	/* 87 a step failed; rolled back, old version
				   answers */
	ERR_UPGRADE_ROLLBACK,	/* 88 the rollback failed too: see journal */
	ERR_UPGRADE_NONE,	/* 89 no upgrade to resume or roll back */
	ERR_CODE_MAX
};

struct err {
	enum err_code code;
	char *msg;		/* owned; NULL when code == ERR_NONE */
};

#define ERR_INIT { ERR_NONE, NULL }

/* Replace any previous error with code and a formatted message; returns -1. */
int err_set(struct err *e, enum err_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int err_vset(struct err *e, enum err_code code, const char *fmt, va_list ap);

/* Same as err_set, with ": strerror(errnum)" appended. */
int err_errno(struct err *e, enum err_code code, int errnum, const char *fmt,
	      ...) __attribute__((format(printf, 4, 5)));

/* Prefix the current message with "prefix: ". */
void err_prefix(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Forget the error (accepts an empty err). */
void err_clear(struct err *e);

#endif
