/*
 * The gunicorn command line of OMERO.web, built from config.xml exactly as
 * omero-web's `omero web start` builds it (web.py _build_run_cmd), except
 * that omero.web.wsgi_args is split with shell quoting rules (shlex) rather
 * than on every space.
 */
#ifndef OWCTL_WSGI_H
#define OWCTL_WSGI_H

#include "config/configxml.h"
#include "err.h"
#include "strv.h"

#define WSGI_APP "omeroweb.wsgi:application"

/* The settings the command line depends on, as settings.py parses them. */
struct wsgi_settings {
	char *app_server;	/* omero.web.application_server: wsgi-tcp,
				 * wsgi or development */
	char *host;		/* omero.web.application_server.host */
	long long port;		/* omero.web.application_server.port */
	long long max_requests;	/* ...application_server.max_requests */
	long long workers;	/* omero.web.wsgi_workers */
	long long timeout;	/* omero.web.wsgi_timeout */
	long long threads;	/* omero.web.wsgi_threads */
	long long worker_connections; /* omero.web.wsgi_worker_connections */
	char *worker_class;	/* omero.web.wsgi_worker_class */
	char *wsgi_args;	/* omero.web.wsgi_args, NULL when unset */
	char *prefix;		/* omero.web.prefix (or the deprecated
				 * omero.web.force_script_name), NULL when
				 * unset; becomes SCRIPT_NAME */
};

/*
 * Read the settings from profile (NULL: no config.xml, all defaults).
 * Values are parsed as settings.py does (int() for numbers; the server
 * type must be wsgi, wsgi-tcp or development); a value it would reject
 * fails with ERR_WEB_SETTINGS and a message in settings.py's words
 * ("Invalid APPLICATION_SERVER_PORT (omero.web.application_server.port =
 * 'x'). ..."). Release s afterwards, even on failure.
 */
int wsgi_settings_read(const struct xelem *profile, struct wsgi_settings *s,
		       struct err *e);
void wsgi_settings_release(struct wsgi_settings *s);

#define WSGI_DAEMON		(1u << 0) /* add "-D" (upstream's default) */
#define WSGI_SPLIT_WHITESPACE	(1u << 1) /* upstream's str.split() of the
					   * whole command (breaks quoted
					   * wsgi_args and paths with spaces) */
#define WSGI_SUPERVISED		(1u << 2) /* refuse wsgi_args that would
					   * take the process or its pid file
					   * away from owctl (--daemon, --pid) */

/*
 * Append the command to argv, starting with the word "gunicorn":
 *   gunicorn [-D] -p OMERODIR/var/django.pid --bind HOST:PORT --workers W
 *   (--threads T | --worker-connections C --worker-class gevent)
 *   --timeout TO --max-requests MR [wsgi_args...] omeroweb.wsgi:application
 * omerodir is used verbatim, like omero-web (a trailing '/' gives "//").
 * Fails with ERR_WEB_INVALID_SERVER "[ERROR] Invalid
 * omero.web.wsgi_worker_class X" for a class other than sync or gevent, and
 * with ERR_BADVALUE when wsgi_args cannot be split (unclosed quote) or,
 * with WSGI_SUPERVISED, holds --daemon or --pid. argv is unchanged on
 * failure.
 */
int wsgi_build_argv(const struct wsgi_settings *s, const char *omerodir,
		    unsigned flags, struct strv *argv, struct err *e);

/*
 * The value of the last occurrence of a gunicorn option in argv (from
 * index start): "--name V", "--name=V" or, when short is not NULL, "-s V"
 * and "-sV". NULL when absent. Borrowed from argv.
 */
const char *wsgi_argv_option(const char *const *argv, size_t start,
			     const char *name, const char *short_opt);

/*
 * Where gunicorn's HTTP listener answers a health check, from the bind
 * "HOST:PORT" of s: a URL ("http://127.0.0.1:4080/omero/" for host 0.0.0.0
 * and prefix /omero; IPv6 hosts in brackets, :: becomes ::1) with path
 * appended after the prefix (NULL: "/"). Caller frees.
 */
char *wsgi_health_url(const struct wsgi_settings *s, const char *path);

#endif
