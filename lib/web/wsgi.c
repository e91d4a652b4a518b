/*
 * gunicorn argv of OMERO.web (see wsgi.h). Kept in step with omero-web's
 * web.py (_build_run_cmd, start) and settings.py (parsers, defaults).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/schema.h"
#include "config/validate.h"
#include "sbuf.h"
#include "shlex.h"
#include "web/wsgi.h"
#include "xalloc.h"
#include "banned.h"

void
wsgi_settings_release(struct wsgi_settings *s)
{
	if (!s)
		return;
	free(s->app_server);
	free(s->host);
	free(s->worker_class);
	free(s->wsgi_args);
	free(s->prefix);
	memset(s, 0, sizeof(*s));
}

/* The config string settings.py parses: the value, else the default. */
static const char *
raw_value(const struct xelem *profile, const char *key, const char *dflt)
{
	const char *v = profile_get(profile, key);

	return v ? v : dflt;
}

static int
read_int(const struct xelem *profile, const char *key, const char *django,
	 const char *dflt, long long *out, struct err *e)
{
	const char *v = raw_value(profile, key, dflt);
	struct sbuf why = SBUF_INIT;

	if (cfg_py_int(v, out, &why) < 0) {
		err_set(e, ERR_WEB_SETTINGS, "Invalid %s (%s = '%s'). %s.",
			django, key, v, why.buf);
		sbuf_release(&why);
		return -1;
	}
	sbuf_release(&why);
	return 0;
}

int
wsgi_settings_read(const struct xelem *profile, struct wsgi_settings *s,
		   struct err *e)
{
	static const struct {
		const char *key, *django, *dflt;
		size_t off;
	} ints[] = {
		{ "omero.web.application_server.port",
		  "APPLICATION_SERVER_PORT", "4080",
		  offsetof(struct wsgi_settings, port) },
		{ "omero.web.application_server.max_requests",
		  "APPLICATION_SERVER_MAX_REQUESTS", "0",
		  offsetof(struct wsgi_settings, max_requests) },
		{ "omero.web.wsgi_workers", "WSGI_WORKERS", "5",
		  offsetof(struct wsgi_settings, workers) },
		{ "omero.web.wsgi_timeout", "WSGI_TIMEOUT", "60",
		  offsetof(struct wsgi_settings, timeout) },
		{ "omero.web.wsgi_threads", "WSGI_THREADS", "1",
		  offsetof(struct wsgi_settings, threads) },
		{ "omero.web.wsgi_worker_connections",
		  "WSGI_WORKER_CONNECTIONS", "1000",
		  offsetof(struct wsgi_settings, worker_connections) },
	};
	const char *v;

	memset(s, 0, sizeof(*s));
	v = raw_value(profile, "omero.web.application_server", "wsgi-tcp");
	if (strcmp(v, "wsgi") && strcmp(v, "wsgi-tcp") &&
	    strcmp(v, "development"))
		return err_set(e, ERR_WEB_SETTINGS, "Invalid APPLICATION_SERVER "
			       "(omero.web.application_server = '%s'). Invalid "
			       "server type: '%s'. Must be one of wsgi, "
			       "wsgi-tcp, development.", v, v);
	s->app_server = xstrdup(v);
	s->host = xstrdup(raw_value(profile,
				    "omero.web.application_server.host",
				    "127.0.0.1"));
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		if (read_int(profile, ints[i].key, ints[i].django,
			     ints[i].dflt, (long long *)(void *)((char *)s +
			     ints[i].off), e) < 0)
			return -1;
	s->worker_class = xstrdup(raw_value(profile,
					    "omero.web.wsgi_worker_class",
					    "sync"));
	v = profile_get(profile, "omero.web.wsgi_args");
	s->wsgi_args = v ? xstrdup(v) : NULL;
	/* DEPRECATED_SETTINGS_MAPPINGS: read only when the new key is unset */
	v = profile_get(profile, "omero.web.prefix");
	if (!v)
		v = profile_get(profile, "omero.web.force_script_name");
	s->prefix = v ? xstrdup(v) : NULL;
	return 0;
}

/* Python's str.isspace() for one code point (schema_py_spaces). */
static int
py_space(unsigned int cp)
{
	for (size_t i = 0; i < schema_py_nspaces; i++)
		if (schema_py_spaces[i] == cp)
			return 1;
	return 0;
}

/* Decode one UTF-8 sequence at *p (invalid bytes decode as themselves,
 * which are never spaces); *len gets its length. */
static unsigned int
utf8_at(const unsigned char *p, size_t *len)
{
	unsigned int c = p[0];
	size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 :
		   (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
	unsigned int cp = n == 1 ? c : c & (0x7fu >> n);

	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*len = 1;
			return c;
		}
		cp = (cp << 6) | (p[i] & 0x3fu);
	}
	*len = n;
	return cp;
}

/* str.split() with no argument: runs of whitespace separate words. */
static void
py_split(const char *s, struct strv *out)
{
	const unsigned char *p = (const unsigned char *)s;
	struct sbuf word = SBUF_INIT;
	int in_word = 0;

	while (*p) {
		size_t len;
		unsigned int cp = utf8_at(p, &len);

		if (py_space(cp)) {
			if (in_word)
				strv_push(out, word.buf);
			sbuf_reset(&word);
			in_word = 0;
		} else {
			sbuf_add(&word, p, len);
			in_word = 1;
		}
		p += len;
	}
	if (in_word)
		strv_push(out, word.buf);
	sbuf_release(&word);
}

/* Is w (up to '=') an abbreviation argparse accepts for long (>= min)? */
static int
abbrev_of(const char *w, const char *longopt, size_t min)
{
	size_t n = strcspn(w, "=");

	return n >= min && n <= strlen(longopt) && !strncmp(w, longopt, n);
}

static int
check_supervised(const struct strv *words, struct err *e)
{
	for (size_t i = 0; i < words->n; i++) {
		const char *w = words->v[i];

		if (!strcmp(w, "-D") || abbrev_of(w, "--daemon", 4))
			return err_set(e, ERR_BADVALUE, "omero.web.wsgi_args "
				       "holds '%s': owctl supervises gunicorn "
				       "itself, remove it", w);
		if (!strncmp(w, "-p", 2) || abbrev_of(w, "--pid", 4))
			return err_set(e, ERR_BADVALUE, "omero.web.wsgi_args "
				       "holds '%s': the pid file is always "
				       "$OMERODIR/var/django.pid, remove it",
				       w);
	}
	return 0;
}

int
wsgi_build_argv(const struct wsgi_settings *s, const char *omerodir,
		unsigned flags, struct strv *argv, struct err *e)
{
	struct sbuf cmd = SBUF_INIT;
	struct strv words = STRV_INIT;
	int gevent = !strcmp(s->worker_class, "gevent");
	int ret = -1;

	if (!gevent && strcmp(s->worker_class, "sync"))
		return err_set(e, ERR_WEB_INVALID_SERVER, "[ERROR] Invalid "
			       "omero.web.wsgi_worker_class %s",
			       s->worker_class);
	if (flags & WSGI_SPLIT_WHITESPACE) {
		/* web.py: one format string, then .split() */
		sbuf_addf(&cmd, "gunicorn %s -p %s/var/django.pid",
			  flags & WSGI_DAEMON ? "-D" : "", omerodir);
		sbuf_addf(&cmd, " --bind %s:%lld", s->host, s->port);
		sbuf_addf(&cmd, " --workers %lld ", s->workers);
		if (gevent)
			sbuf_addf(&cmd, " --worker-connections %lld"
				  " --worker-class %s ", s->worker_connections,
				  s->worker_class);
		else
			sbuf_addf(&cmd, " --threads %lld", s->threads);
		sbuf_addf(&cmd, " --timeout %lld", s->timeout);
		sbuf_addf(&cmd, " --max-requests %lld", s->max_requests);
		sbuf_addf(&cmd, " %s", s->wsgi_args ? s->wsgi_args : "");
		sbuf_adds(&cmd, " " WSGI_APP);
		py_split(cmd.buf, &words);
		if ((flags & WSGI_SUPERVISED) &&
		    check_supervised(&words, e) < 0)
			goto out;
	} else {
		struct strv extra = STRV_INIT;

		if (s->wsgi_args && shlex_split(s->wsgi_args, &extra, e) < 0) {
			err_prefix(e, "cannot split omero.web.wsgi_args");
			goto out;
		}
		if ((flags & WSGI_SUPERVISED) &&
		    check_supervised(&extra, e) < 0) {
			strv_release(&extra);
			goto out;
		}
		strv_push(&words, "gunicorn");
		if (flags & WSGI_DAEMON)
			strv_push(&words, "-D");
		strv_push(&words, "-p");
		strv_pushf(&words, "%s/var/django.pid", omerodir);
		strv_push(&words, "--bind");
		strv_pushf(&words, "%s:%lld", s->host, s->port);
		strv_push(&words, "--workers");
		strv_pushf(&words, "%lld", s->workers);
		if (gevent) {
			strv_push(&words, "--worker-connections");
			strv_pushf(&words, "%lld", s->worker_connections);
			strv_push(&words, "--worker-class");
			strv_push(&words, "gevent");
		} else {
			strv_push(&words, "--threads");
			strv_pushf(&words, "%lld", s->threads);
		}
		strv_push(&words, "--timeout");
		strv_pushf(&words, "%lld", s->timeout);
		strv_push(&words, "--max-requests");
		strv_pushf(&words, "%lld", s->max_requests);
		for (size_t i = 0; i < extra.n; i++)
			strv_push(&words, extra.v[i]);
		strv_release(&extra);
		strv_push(&words, WSGI_APP);
	}
	for (size_t i = 0; i < words.n; i++)
		strv_push(argv, words.v[i]);
	ret = 0;
out:
	strv_release(&words);
	sbuf_release(&cmd);
	return ret;
}

const char *
wsgi_argv_option(const char *const *argv, size_t start, const char *name,
		 const char *short_opt)
{
	const char *found = NULL;
	size_t nlen = strlen(name);
	size_t slen = short_opt ? strlen(short_opt) : 0;

	for (size_t i = start; argv[i]; i++) {
		const char *w = argv[i];

		if (!strncmp(w, name, nlen) && w[nlen] == '=') {
			found = w + nlen + 1;
		} else if (!strcmp(w, name) ||
			   (short_opt && !strcmp(w, short_opt))) {
			if (argv[i + 1])
				found = argv[++i];
		} else if (short_opt && !strncmp(w, short_opt, slen) &&
			   w[slen]) {
			found = w + slen;
		}
	}
	return found;
}

char *
wsgi_health_url(const struct wsgi_settings *s, const char *path)
{
	struct sbuf url = SBUF_INIT;
	const char *h = s->host;
	const char *prefix = s->prefix ? s->prefix : "";
	size_t plen = strlen(prefix);

	if (!*h || !strcmp(h, "0.0.0.0"))
		h = "127.0.0.1";
	else if (!strcmp(h, "::") || !strcmp(h, "[::]"))
		h = "[::1]";
	if (strchr(h, ':') && h[0] != '[')
		sbuf_addf(&url, "http://[%s]:%lld", h, s->port);
	else
		sbuf_addf(&url, "http://%s:%lld", h, s->port);
	while (plen && prefix[plen - 1] == '/')
		plen--;
	if (plen && prefix[0] != '/')
		sbuf_addch(&url, '/');
	sbuf_add(&url, prefix, plen);
	if (!path || !*path)
		path = "/";
	if (path[0] != '/')
		sbuf_addch(&url, '/');
	sbuf_adds(&url, path);
	return sbuf_detach(&url, NULL);
}
