/*
 * nginx configuration for OMERO.web: the three templates of omero-web's
 * `omero web config nginx|nginx-development|nginx-location`, rendered byte
 * for byte like upstream, with refusals where upstream would silently write
 * a broken file; and a check of the result with the real `nginx -t`.
 */
#ifndef OWCTL_WEB_NGINX_H
#define OWCTL_WEB_NGINX_H

#include <stddef.h>

#include "err.h"
#include "sbuf.h"

enum nginx_type {
	NGINX_SERVER,		/* "nginx": upstream + server block */
	NGINX_DEVELOPMENT,	/* "nginx-development": a whole nginx.conf */
	NGINX_LOCATION,		/* "nginx-location": location blocks */
};

/* "nginx", "nginx-development", "nginx-location". */
const char *nginx_type_name(enum nginx_type type);
/* Exact name to type; returns -1 (and leaves *type) for any other name. */
int nginx_type_parse(const char *name, enum nginx_type *type);

enum nginx_flags {
	/*
	 * Do not look at the file system (the $OMERODIR/etc/mime.types check
	 * of nginx-development), e.g. when rendering for another host.
	 */
	NGINX_NO_FILE_CHECKS = 1 << 0,
	/*
	 * Skip every owctl-only refusal (ERR_WEB_NGINX_UNSAFE) and write what
	 * omero-web writes, broken or not. Upstream's own errors remain.
	 */
	NGINX_ALLOW_UNSAFE = 1 << 1,
};

struct nginx_opts {
	enum nginx_type type;
	/*
	 * --http; 0: not given, i.e. 8080 for nginx-development, else 80
	 * (upstream tests `if args.http`, so --http 0 means the default too).
	 */
	long http_port;
	const char *servername;	/* --servername; NULL: "$hostname" */
	const char *max_body_size; /* --max-body-size; NULL: "0" */
	const char *omerodir;	/* $OMERODIR verbatim; required */
	unsigned flags;			/* enum nginx_flags */
};

/*
 * Value of config property key in the active profile, or NULL when it is
 * not set (an empty string is a set value, as in omero-web). The string
 * must stay valid until nginx_render returns.
 */
typedef const char *(*nginx_lookup_fn)(void *ud, const char *key);

/*
 * Append to out exactly what `omero web config TYPE` prints on stdout
 * (template % dict, plus the final newline). Reads omero.web.prefix (else
 * the deprecated omero.web.force_script_name), static_url, static_root,
 * application_server{,.host,.port} and nginx_server_extra_config through get.
 * On failure out is untouched and e says why:
 *   ERR_WEB_APP_SERVER    "ERROR: configuration mismatch. ..." (upstream)
 *   ERR_WEB_PORT_CONFLICT "Port conflict: HTTP(%s) and wsgi(%s)." (upstream)
 *   ERR_WEB_NGINX_UNSAFE  a value omero-web's settings would reject (not an
 *                         integer port, unknown application server, extra
 *                         config not a JSON list of strings, empty
 *                         --servername) or, unless NGINX_ALLOW_UNSAFE, one
 *                         that would make the file broken: prefix '/' or
 *                         not starting with '/', absolute or empty
 *                         static_url, port out of 1-65535, relative paths,
 *                         any substituted value nginx's tokenizer would not
 *                         read as written where the template puts it (a
 *                         '#', quote or '}' starting a word; ';', '{', '\',
 *                         blanks or control characters; '$' in root/alias
 *                         paths; '*?[' in the OMERODIR of an include), a
 *                         host that is not a host name or address, server
 *                         names nginx's server_name rejects, a
 *                         --max-body-size that is not an nginx size or too
 *                         big, extra config lines that do not read alone,
 *                         nginx-development without $OMERODIR/etc/mime.types
 *                         (unless NGINX_NO_FILE_CHECKS). The message is one
 *                         line: "NAME 'VALUE' " what is wrong, then a hint.
 *   ERR_FAIL              no OMERODIR
 */
int nginx_render(const struct nginx_opts *o, nginx_lookup_fn get, void *ud,
		 struct sbuf *out, struct err *e);

struct nginx_check_opts {
	const char *nginx;	/* NULL: "nginx" in PATH, else in /usr/sbin,
				   /usr/local/sbin or /sbin */
	const char *name;	/* the config's name in messages; NULL:
				   "omero-web.conf" */
	double timeout;		/* seconds; <= 0: 30 */
	struct sbuf *log;	/* NULL, or receives nginx's whole stderr */
};

/*
 * Test conf (len bytes, as rendered for type) with the real `nginx -t`,
 * without root and without touching anything outside a temporary
 * directory (removed afterwards): nginx runs with -p and -e in that
 * directory; a server or location snippet is included from a minimal main
 * config there (inside http {}, or inside a server {} listening on a Unix
 * socket there, for nginx-location); the first argument of pid, error_log,
 * access_log, lock_file and *_temp_path directives (the first directive on
 * each line) is redirected into the directory, since nginx -t creates those
 * files. Listening sockets are still bound briefly, as by any nginx -t.
 * Fails with ERR_WEB_NGINX_UNSAFE and nginx's own message (temporary paths
 * shown as o->name) when nginx rejects the config, ERR_IO when nginx cannot
 * be run, ERR_FAIL on timeout.
 */
int nginx_check_conf(enum nginx_type type, const char *conf, size_t len,
		     const struct nginx_check_opts *o, struct err *e);

#endif
