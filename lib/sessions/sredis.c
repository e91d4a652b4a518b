/*
 * Redis session keys: omero.web.caches parsed like django-redis/Django
 * and redis-py, a small pipelining connection (plain socket or OpenSSL
 * loaded on first use, hiredis' reader and formatter), SCAN + UNLINK.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "lazylib.h"
#include "sessions/sredis.h"
#include "strv.h"
#include "xalloc.h"
#include "banned.h"

#define DEFAULT_TIMEOUT 10.0
#define HINT_KEY_CHARS 8
#define KEY_MIN 8
#define READ_CHUNK 65536
#define MAX_DB 1000000 /* far above any databases setting */

/* --- configuration ------------------------------------------------------- */

void
sredis_server_release(struct sredis_server *srv)
{
	if (!srv)
		return;
	free(srv->host);
	free(srv->path);
	free(srv->username);
	if (srv->password)
		explicit_bzero(srv->password, strlen(srv->password));
	free(srv->password);
	free(srv->tls_ca_certs);
	free(srv->tls_certfile);
	free(srv->tls_keyfile);
	free(srv->shown);
	memset(srv, 0, sizeof(*srv));
}

void
sredis_cache_release(struct sredis_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nservers; i++)
		sredis_server_release(&c->servers[i]);
	free(c->servers);
	free(c->alias);
	free(c->backend);
	free(c->key_prefix);
	free(c->version);
	memset(c, 0, sizeof(*c));
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* urllib.parse.unquote (plus: unquote_plus) of s[0..len) */
static char *
unquote(const char *s, size_t len, int plus)
{
	struct sbuf out = SBUF_INIT;

	for (size_t i = 0; i < len; i++) {
		int h, l;

		if (s[i] == '%' && i + 2 < len &&
		    (h = hexval(s[i + 1])) >= 0 &&
		    (l = hexval(s[i + 2])) >= 0) {
			sbuf_addch(&out, h * 16 + l);
			i += 2;
		} else if (plus && s[i] == '+') {
			sbuf_addch(&out, ' ');
		} else {
			sbuf_addch(&out, s[i]);
		}
	}
	return sbuf_detach(&out, NULL);
}

static void
set_str(char **slot, char *v)
{
	free(*slot);
	*slot = v;
}

/* Python int() of a short config string, strict. */
static int
parse_int(const char *s, long *out)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	errno = 0;
	*out = strtol(s, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	return errno || end == s || *end ? -1 : 0;
}

static int
parse_float(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || !isfinite(*out) ? -1 : 0;
}

/* SSLConnection's ssl_cert_reqs: None/"none", "optional", "required" */
static int
cert_reqs(const char *v, int *out)
{
	if (!v || !strcasecmp(v, "none"))
		*out = 0;
	else if (!strcasecmp(v, "optional"))
		*out = 1;
	else if (!strcasecmp(v, "required"))
		*out = 2;
	else
		return -1;
	return 0;
}

static int
truthy(const char *v)
{
	return !strcasecmp(v, "true") || !strcmp(v, "1") ||
	       !strcasecmp(v, "yes");
}

/* One redis-py keyword argument (from a URL query or OPTIONS). */
static int
set_kwarg(struct sredis_server *srv, const char *name, const char *value,
	  struct err *e)
{
	long n;
	double d;

	if (!strcmp(name, "db")) {
		if (parse_int(value, &n) < 0 || n < 0 || n > MAX_DB)
			return err_set(e, ERR_SESS_CONFIG, "invalid Redis db "
				       "'%s'", value);
		srv->db = (int)n;
	} else if (!strcmp(name, "username")) {
		set_str(&srv->username, xstrdup(value));
	} else if (!strcmp(name, "password")) {
		set_str(&srv->password, xstrdup(value));
	} else if (!strcmp(name, "socket_timeout") ||
		   !strcmp(name, "socket_connect_timeout")) {
		if (parse_float(value, &d) < 0 || d <= 0)
			return err_set(e, ERR_SESS_CONFIG, "invalid Redis %s "
				       "'%s'", name, value);
		if (d > srv->timeout)
			srv->timeout = d;
	} else if (!strcmp(name, "ssl_cert_reqs")) {
		if (cert_reqs(value, &srv->tls_verify) < 0)
			return err_set(e, ERR_SESS_CONFIG, "invalid Redis "
				       "ssl_cert_reqs '%s'", value);
	} else if (!strcmp(name, "ssl_ca_certs")) {
		set_str(&srv->tls_ca_certs, xstrdup(value));
	} else if (!strcmp(name, "ssl_certfile")) {
		set_str(&srv->tls_certfile, xstrdup(value));
	} else if (!strcmp(name, "ssl_keyfile")) {
		set_str(&srv->tls_keyfile, xstrdup(value));
	} else if (!strcmp(name, "ssl_check_hostname")) {
		srv->tls_check_hostname = truthy(value);
	}
	/* anything else (pool sizes, health checks...) does not matter */
	return 0;
}

static void
init_server(struct sredis_server *srv)
{
	memset(srv, 0, sizeof(*srv));
	srv->port = 6379;
	srv->tls_verify = 2;
	srv->timeout = DEFAULT_TIMEOUT;
}

/* The value of each "password" query argument replaced by "***". */
static void
mask_query(const char *q, struct sbuf *sb)
{
	while (*q) {
		size_t len = strcspn(q, "&#");
		const char *eq = memchr(q, '=', len);
		char *name = eq ? unquote(q, (size_t)(eq - q), 1) : NULL;

		if (name && !strcmp(name, "password") &&
		    eq + 1 < q + len) {
			sbuf_add(sb, q, (size_t)(eq + 1 - q));
			sbuf_adds(sb, "***");
		} else {
			sbuf_add(sb, q, len);
		}
		free(name);
		q += len;
		if (*q == '#') {
			sbuf_adds(sb, q);
			return;
		}
		if (*q)
			sbuf_addch(sb, *q++);
	}
}

/* The URL with its passwords (user info, query) replaced by "***". */
static char *
masked(const char *url)
{
	struct sbuf sb = SBUF_INIT;
	const char *net = strstr(url, "://"), *end, *at, *colon, *query;

	if (!net)
		return xstrdup(url);
	net += 3;
	end = net + strcspn(net, "/?#");
	at = NULL;
	for (const char *p = net; p < end; p++)
		if (*p == '@')
			at = p;
	colon = at ? memchr(net, ':', (size_t)(at - net)) : NULL;
	if (colon) {
		sbuf_add(&sb, url, (size_t)(colon + 1 - url));
		sbuf_adds(&sb, "***");
		sbuf_add(&sb, at, (size_t)(end - at));
	} else {
		sbuf_add(&sb, url, (size_t)(end - url));
	}
	query = end + strcspn(end, "?#");
	sbuf_add(&sb, end, (size_t)(query - end));
	if (*query == '?') {
		sbuf_addch(&sb, '?');
		mask_query(query + 1, &sb);
	} else {
		sbuf_adds(&sb, query);
	}
	return sbuf_detach(&sb, NULL);
}

int
sredis_parse_url(const char *url, struct sredis_server *srv, struct err *e)
{
	const char *sep = strstr(url, "://"), *net, *netend, *path, *pathend;
	const char *query, *at = NULL;
	char *scheme = NULL;
	int ret = -1, has_db = 0;

	if (!sep)
		return err_set(e, ERR_SESS_CONFIG, "Redis location '%s' is not "
			       "a redis://, rediss:// or unix:// URL", url);
	scheme = xstrndup(url, (size_t)(sep - url));
	for (char *p = scheme; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (strcmp(scheme, "redis") && strcmp(scheme, "rediss") &&
	    strcmp(scheme, "unix")) {
		err_set(e, ERR_SESS_CONFIG, "Redis location '%s' is not a "
			"redis://, rediss:// or unix:// URL", url);
		goto out;
	}
	net = sep + 3;
	netend = net + strcspn(net, "/?#");
	path = netend;
	pathend = path + strcspn(path, "?#");
	query = *pathend == '?' ? pathend + 1 : NULL;
	for (const char *p = net; p < netend; p++)
		if (*p == '@')
			at = p;
	/* the query first: redis-py lets ?db= win over the path */
	if (query) {
		const char *q = query, *qend = query + strcspn(query, "#");

		while (q < qend) {
			const char *amp = memchr(q, '&', (size_t)(qend - q));
			const char *itemend = amp ? amp : qend;
			const char *eq = memchr(q, '=', (size_t)(itemend - q));

			if (eq && eq + 1 < itemend) {
				/* parse_qs() decodes, then redis-py's
				 * parse_url() unquote()s the value again */
				char *n = unquote(q, (size_t)(eq - q), 1);
				char *v1 = unquote(eq + 1, (size_t)(itemend -
								    eq - 1), 1);
				char *v = unquote(v1, strlen(v1), 0);
				int r;

				explicit_bzero(v1, strlen(v1));
				free(v1);
				r = set_kwarg(srv, n, v, e);

				if (!strcmp(n, "db"))
					has_db = 1;
				free(n);
				explicit_bzero(v, strlen(v));
				free(v);
				if (r < 0)
					goto out;
			}
			q = itemend + (amp ? 1 : 0);
		}
	}
	if (at) {
		const char *colon = memchr(net, ':', (size_t)(at - net));
		const char *uend = colon ? colon : at;

		if (uend > net)
			set_str(&srv->username,
				unquote(net, (size_t)(uend - net), 0));
		if (colon && at > colon + 1)
			set_str(&srv->password,
				unquote(colon + 1,
					(size_t)(at - colon - 1), 0));
		net = at + 1;
	}
	if (!strcmp(scheme, "unix")) {
		srv->unix_socket = 1;
		if (pathend > path)
			set_str(&srv->path,
				unquote(path, (size_t)(pathend - path), 0));
		if (!srv->path || !*srv->path) {
			err_set(e, ERR_SESS_CONFIG, "Redis location '%s' names "
				"no socket", url);
			goto out;
		}
	} else {
		const char *hend = netend, *pcolon = NULL;

		srv->tls = !strcmp(scheme, "rediss");
		if (*net == '[') {
			const char *rb = memchr(net, ']', (size_t)(netend -
								  net));

			if (!rb) {
				err_set(e, ERR_SESS_CONFIG, "invalid IPv6 host "
					"in Redis location '%s'", url);
				goto out;
			}
			if (rb > net + 1)
				set_str(&srv->host, xstrndup(net + 1,
					(size_t)(rb - net - 1)));
			if (rb + 1 < netend && rb[1] == ':')
				pcolon = rb + 1;
		} else {
			pcolon = memchr(net, ':', (size_t)(netend - net));
			if (pcolon)
				hend = pcolon;
			if (hend > net)
				set_str(&srv->host, unquote(net,
					(size_t)(hend - net), 0));
		}
		if (srv->host)
			for (char *p = srv->host; *p; p++)
				*p = (char)tolower((unsigned char)*p);
		if (pcolon && pcolon + 1 < netend) {
			char *ps = xstrndup(pcolon + 1,
					    (size_t)(netend - pcolon - 1));
			long port;

			if (parse_int(ps, &port) < 0 || port < 0 ||
			    port > 65535) {
				err_set(e, ERR_SESS_CONFIG, "invalid port in "
					"Redis location '%s'", url);
				free(ps);
				goto out;
			}
			free(ps);
			if (port)
				srv->port = (int)port;
		}
		if (!has_db && pathend > path) {
			/* int(unquote(path).replace("/", "")), or nothing */
			struct sbuf d = SBUF_INIT;
			char *u = unquote(path, (size_t)(pathend - path), 0);
			long db;

			for (char *p = u; *p; p++)
				if (*p != '/')
					sbuf_addch(&d, *p);
			if (parse_int(d.buf, &db) == 0 &&
			    (db < 0 || db > MAX_DB)) {
				/* redis-py takes it; SELECT would fail */
				char *m = masked(url);

				err_set(e, ERR_SESS_CONFIG, "invalid Redis db "
					"'%s' in Redis location '%s'", d.buf,
					m);
				free(m);
				free(u);
				sbuf_release(&d);
				goto out;
			}
			if (parse_int(d.buf, &db) == 0)
				srv->db = (int)db;
			free(u);
			sbuf_release(&d);
		}
		if (!srv->host)
			srv->host = xstrdup("localhost");
	}
	set_str(&srv->shown, masked(url));
	ret = 0;
out:
	free(scheme);
	return ret;
}

static int
json_str(const json_t *o, const char *key, const char **out)
{
	json_t *v = json_object_get(o, key);

	*out = v && json_is_string(v) ? json_string_value(v) : NULL;
	return v && !json_is_string(v) && !json_is_null(v) ? -1 : 0;
}

/* A JSON scalar as Python's str() would print it for a kwarg value. */
static char *
scalar_str(const json_t *v)
{
	struct sbuf sb = SBUF_INIT;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return xstrdup(json_string_value(v));
	case JSON_INTEGER:
		sbuf_addf(&sb, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		sbuf_addf(&sb, "%.17g", json_real_value(v));
		break;
	case JSON_TRUE:
		sbuf_adds(&sb, "True");
		break;
	case JSON_FALSE:
		sbuf_adds(&sb, "False");
		break;
	case JSON_NULL:
		sbuf_adds(&sb, "none");
		break;
	default:
		sbuf_release(&sb);
		return NULL;
	}
	return sbuf_detach(&sb, NULL);
}

/* kwargs from a JSON object (CONNECTION_POOL_KWARGS or Django OPTIONS) */
static int
apply_kwargs(struct sredis_server *srv, const json_t *obj, struct err *e)
{
	const char *k;
	json_t *v;

	if (!obj)
		return 0;
	if (!json_is_object(obj))
		return err_set(e, ERR_SESS_CONFIG, "Redis options are not a "
			       "JSON object");
	json_object_foreach((json_t *)obj, k, v) {
		char *s;
		int r;

		if (json_is_null(v) && strcmp(k, "ssl_cert_reqs"))
			continue;
		s = scalar_str(v);
		if (!s)
			continue;
		r = set_kwarg(srv, k, s, e);
		explicit_bzero(s, strlen(s));
		free(s);
		if (r < 0)
			return -1;
	}
	return 0;
}

static void
split_locations(const json_t *loc, const char *seps, struct strv *out)
{
	size_t i;
	json_t *it;

	if (json_is_string(loc)) {
		const char *s = json_string_value(loc);

		while (*s) {
			size_t n = strcspn(s, seps);

			strv_push_nodup(out, xstrndup(s, n));
			s += n;
			if (*s)
				s++;
		}
		return;
	}
	json_array_foreach(loc, i, it)
		if (json_is_string(it))
			strv_push(out, json_string_value(it));
}

int
sredis_parse_cache(const json_t *caches, const char *alias,
		   struct sredis_cache *c, struct err *e)
{
	const json_t *conf, *opts, *loc, *ver;
	const char *backend, *prefix, *client = NULL;
	struct strv locs = STRV_INIT;
	int django_redis, ret = -1;

	memset(c, 0, sizeof(*c));
	c->alias = xstrdup(alias);
	if (!json_is_object(caches) ||
	    !json_is_object(conf = json_object_get(caches, alias)))
		return err_set(e, ERR_SESS_CONFIG, "omero.web.caches has no "
			       "cache '%s', which the cache session engine "
			       "uses", alias);
	if (json_str(conf, "BACKEND", &backend) < 0 || !backend)
		return err_set(e, ERR_SESS_CONFIG, "cache '%s' in omero.web."
			       "caches has no BACKEND", alias);
	c->backend = xstrdup(backend);
	django_redis = !strcmp(backend, "django_redis.cache.RedisCache");
	if (!django_redis &&
	    strcmp(backend, "django.core.cache.backends.redis.RedisCache")) {
		const char *why = "owctl manages Redis caches only";

		if (strstr(backend, "locmem"))
			why = "it keeps sessions in each gunicorn worker's "
			      "memory, where no tool can reach them";
		else if (strstr(backend, "dummy"))
			why = "it stores nothing: with it the cache session "
			      "engine keeps no session at all";
		else if (strstr(backend, "emcache"))
			why = "Memcached has no way to list keys";
		return err_set(e, ERR_SESS_CONFIG, "cache '%s' uses %s: %s",
			       alias, backend, why);
	}
	if (json_object_get(conf, "KEY_FUNCTION"))
		return err_set(e, ERR_SESS_CONFIG, "cache '%s' has a custom "
			       "KEY_FUNCTION: owctl cannot know its keys",
			       alias);
	if (json_str(conf, "KEY_PREFIX", &prefix) < 0)
		return err_set(e, ERR_SESS_CONFIG, "KEY_PREFIX of cache '%s' "
			       "is not a string", alias);
	c->key_prefix = xstrdup(prefix ? prefix : "");
	ver = json_object_get(conf, "VERSION");
	c->version = ver ? scalar_str(ver) : xstrdup("1");
	if (!c->version || json_is_null(ver))
		return err_set(e, ERR_SESS_CONFIG, "VERSION of cache '%s' is "
			       "not a number or string", alias);
	opts = json_object_get(conf, "OPTIONS");
	if (opts && !json_is_object(opts))
		return err_set(e, ERR_SESS_CONFIG, "OPTIONS of cache '%s' is "
			       "not an object", alias);
	if (django_redis && opts &&
	    json_str(opts, "CLIENT_CLASS", &client) == 0 && client) {
		if (strstr(client, "Sentinel"))
			return err_set(e, ERR_SESS_CONFIG, "cache '%s' uses "
				       "Redis Sentinel (%s), which owctl does "
				       "not support", alias, client);
		c->sharded = strstr(client, "ShardClient") != NULL;
	}
	loc = json_object_get(conf, "LOCATION");
	if (!loc || !(json_is_string(loc) || json_is_array(loc)))
		return err_set(e, ERR_SESS_CONFIG, "cache '%s' has no "
			       "LOCATION", alias);
	split_locations(loc, django_redis ? "," : ",;", &locs);
	if (!locs.n)
		return err_set(e, ERR_SESS_CONFIG, "cache '%s' has an empty "
			       "LOCATION", alias);
	c->servers = xcalloc(locs.n, sizeof(*c->servers));
	for (size_t i = 0; i < locs.n; i++) {
		struct sredis_server *srv = &c->servers[i];
		const char *pw;
		json_t *t;

		init_server(srv);
		c->nservers++;
		if (django_redis && opts) {
			if (json_str(opts, "PASSWORD", &pw) == 0 && pw && *pw)
				srv->password = xstrdup(pw);
			if ((t = json_object_get(opts, "SOCKET_TIMEOUT")) &&
			    json_is_number(t))
				srv->timeout = fmax(srv->timeout,
						    json_number_value(t));
			if ((t = json_object_get(opts,
						 "SOCKET_CONNECT_TIMEOUT")) &&
			    json_is_number(t))
				srv->timeout = fmax(srv->timeout,
						    json_number_value(t));
			if (apply_kwargs(srv, json_object_get(opts,
				"CONNECTION_POOL_KWARGS"), e) < 0)
				goto out;
		} else if (opts) {
			if (apply_kwargs(srv, opts, e) < 0)
				goto out;
		}
		if (sredis_parse_url(locs.v[i], srv, e) < 0)
			goto out;
	}
	ret = 0;
out:
	strv_release(&locs);
	return ret;
}

void
sredis_key_base(const struct sredis_cache *c, const char *kind,
		struct sbuf *out)
{
	sbuf_addf(out, "%s:%s:%s", c->key_prefix, c->version, kind);
}

void
sredis_glob_escape(const char *s, struct sbuf *out)
{
	for (; *s; s++) {
		if (strchr("*?[]\\", *s))
			sbuf_addch(out, '\\');
		sbuf_addch(out, *s);
	}
}

int
sredis_is_session_key(const char *key, size_t len, const char *base,
		      size_t blen)
{
	if (len < blen + KEY_MIN || memcmp(key, base, blen))
		return 0;
	for (size_t i = blen; i < len; i++)
		if (!((key[i] >= 'a' && key[i] <= 'z') ||
		      (key[i] >= '0' && key[i] <= '9')))
			return 0;
	return 1;
}

/* --- TLS through OpenSSL, loaded on first use --------------------------- */

/* The few OpenSSL types and constants used; the functions are bound. */
typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_method_st SSL_METHOD;
#define X_SSL_VERIFY_NONE 0
#define X_SSL_VERIFY_PEER 1
#define X_SSL_FILETYPE_PEM 1
#define X_SSL_ERROR_WANT_READ 2
#define X_SSL_ERROR_WANT_WRITE 3
#define X_SSL_ERROR_ZERO_RETURN 6
#define X_SSL_CTRL_SET_TLSEXT_HOSTNAME 55
#define X_TLSEXT_NAMETYPE_host_name 0
#define X_X509_V_OK 0

static struct {
	int bound;
	const SSL_METHOD *(*client_method)(void);
	SSL_CTX *(*ctx_new)(const SSL_METHOD *);
	void (*ctx_free)(SSL_CTX *);
	void (*ctx_set_verify)(SSL_CTX *, int, void *);
	int (*ctx_load_verify_locations)(SSL_CTX *, const char *,
					 const char *);
	int (*ctx_set_default_verify_paths)(SSL_CTX *);
	int (*ctx_use_certificate_chain_file)(SSL_CTX *, const char *);
	int (*ctx_use_privatekey_file)(SSL_CTX *, const char *, int);
	SSL *(*ssl_new)(SSL_CTX *);
	void (*ssl_free)(SSL *);
	int (*set_fd)(SSL *, int);
	long (*ctrl)(SSL *, int, long, void *);
	int (*set1_host)(SSL *, const char *);
	int (*connect)(SSL *);
	int (*read)(SSL *, void *, int);
	int (*write)(SSL *, const void *, int);
	int (*get_error)(const SSL *, int);
	int (*shutdown)(SSL *);
	long (*get_verify_result)(const SSL *);
	unsigned long (*err_get_error)(void);
	void (*err_error_string_n)(unsigned long, char *, size_t);
	const char *(*verify_error_string)(long);
} ossl;

static int
tls_load(struct err *e)
{
	static const char *const ssl_libs[] = { "libssl.so.3", NULL };
	static const char *const crypto_libs[] = { "libcrypto.so.3", NULL };
	const struct lazy_sym ssl_syms[] = {
		LAZY_SYM("TLS_client_method", ossl.client_method),
		LAZY_SYM("SSL_CTX_new", ossl.ctx_new),
		LAZY_SYM("SSL_CTX_free", ossl.ctx_free),
		LAZY_SYM("SSL_CTX_set_verify", ossl.ctx_set_verify),
		LAZY_SYM("SSL_CTX_load_verify_locations",
			 ossl.ctx_load_verify_locations),
		LAZY_SYM("SSL_CTX_set_default_verify_paths",
			 ossl.ctx_set_default_verify_paths),
		LAZY_SYM("SSL_CTX_use_certificate_chain_file",
			 ossl.ctx_use_certificate_chain_file),
		LAZY_SYM("SSL_CTX_use_PrivateKey_file",
			 ossl.ctx_use_privatekey_file),
		LAZY_SYM("SSL_new", ossl.ssl_new),
		LAZY_SYM("SSL_free", ossl.ssl_free),
		LAZY_SYM("SSL_set_fd", ossl.set_fd),
		LAZY_SYM("SSL_ctrl", ossl.ctrl),
		LAZY_SYM("SSL_set1_host", ossl.set1_host),
		LAZY_SYM("SSL_connect", ossl.connect),
		LAZY_SYM("SSL_read", ossl.read),
		LAZY_SYM("SSL_write", ossl.write),
		LAZY_SYM("SSL_get_error", ossl.get_error),
		LAZY_SYM("SSL_shutdown", ossl.shutdown),
		LAZY_SYM("SSL_get_verify_result", ossl.get_verify_result),
		{ NULL, NULL }
	};
	const struct lazy_sym crypto_syms[] = {
		LAZY_SYM("ERR_get_error", ossl.err_get_error),
		LAZY_SYM("ERR_error_string_n", ossl.err_error_string_n),
		LAZY_SYM("X509_verify_cert_error_string",
			 ossl.verify_error_string),
		{ NULL, NULL }
	};

	if (ossl.bound)
		return 0;
	if (lazylib_bind(ssl_libs, "libssl3", ssl_syms, e) < 0 ||
	    lazylib_bind(crypto_libs, "libssl3", crypto_syms, e) < 0)
		return -1;
	ossl.bound = 1;
	return 0;
}

static const char *
tls_error(char *buf, size_t size)
{
	unsigned long code = ossl.err_get_error();

	if (!code)
		return "connection closed";
	ossl.err_error_string_n(code, buf, size);
	while (ossl.err_get_error())
		;
	return buf;
}

/* --- a pipelining connection -------------------------------------------- */

struct rconn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	redisReader *rd;
	struct sbuf out;
	const struct sredis_server *srv;
	size_t pending; /* replies expected */
};

static void
rc_close(struct rconn *c)
{
	if (c->ssl) {
		ossl.shutdown(c->ssl);
		ossl.ssl_free(c->ssl);
	}
	if (c->ctx)
		ossl.ctx_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	if (c->rd)
		redisReaderFree(c->rd);
	sbuf_release(&c->out);
	c->fd = -1;
	c->ssl = NULL;
	c->ctx = NULL;
	c->rd = NULL;
}

/* "<what> Redis '<server>': <detail>" */
static int
where(const struct sredis_server *srv, struct err *e, const char *what,
      const char *detail)
{
	err_set(e, ERR_SESS_STORE, "%s Redis '%s': %s", what, srv->shown,
		detail);
	return -1;
}

static void
set_timeouts(int fd, double seconds)
{
	struct timeval tv;

	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* connect() with a timeout, then a blocking socket with I/O timeouts */
static int
connect_fd(int fd, const struct sockaddr *sa, socklen_t len, double timeout)
{
	int flags = fcntl(fd, F_GETFL), r, soerr = 0;
	socklen_t sl = sizeof(soerr);
	struct pollfd p = { fd, POLLOUT, 0 };

	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	r = connect(fd, sa, len);
	if (r < 0 && errno == EINPROGRESS) {
		do
			r = poll(&p, 1, (int)(timeout * 1000));
		while (r < 0 && errno == EINTR);
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
					&sl) < 0)
			return -1;
		if (soerr) {
			errno = soerr;
			return -1;
		}
		r = 0;
	}
	fcntl(fd, F_SETFL, flags);
	set_timeouts(fd, timeout);
	return r;
}

static int
open_socket(struct rconn *c, struct err *e)
{
	const struct sredis_server *srv = c->srv;
	struct addrinfo hints, *res = NULL, *ai;
	char port[16];
	int r, saved = 0;

	if (srv->unix_socket) {
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(srv->path) >= sizeof(sun.sun_path))
			return where(srv, e, "cannot connect to",
				     "socket path too long");
		memcpy(sun.sun_path, srv->path, strlen(srv->path));
		c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0 || connect_fd(c->fd, (struct sockaddr *)&sun,
					    sizeof(sun), srv->timeout) < 0)
			return where(srv, e, "cannot connect to",
				     strerror(errno));
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", srv->port);
	r = getaddrinfo(srv->host, port, &hints, &res);
	if (r)
		return where(srv, e, "cannot connect to",
			     gai_strerror(r));
	for (ai = res; ai; ai = ai->ai_next) {
		int one = 1;

		c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			       ai->ai_protocol);
		if (c->fd < 0) {
			saved = errno;
			continue;
		}
		if (connect_fd(c->fd, ai->ai_addr, ai->ai_addrlen,
			       srv->timeout) == 0) {
			setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
			break;
		}
		saved = errno;
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	if (c->fd < 0)
		return where(srv, e, "cannot connect to",
			     strerror(saved ? saved : ECONNREFUSED));
	return 0;
}

static int
start_tls(struct rconn *c, struct err *e)
{
	const struct sredis_server *srv = c->srv;
	char buf[256];
	long vr;

	if (tls_load(e) < 0) {
		err_prefix(e, "rediss:// needs OpenSSL");
		return -1;
	}
	c->ctx = ossl.ctx_new(ossl.client_method());
	if (!c->ctx)
		return where(srv, e, "TLS setup failed for",
			     tls_error(buf, sizeof(buf)));
	ossl.ctx_set_verify(c->ctx, srv->tls_verify ? X_SSL_VERIFY_PEER :
			    X_SSL_VERIFY_NONE, NULL);
	if (srv->tls_ca_certs ?
	    ossl.ctx_load_verify_locations(c->ctx, srv->tls_ca_certs,
					   NULL) != 1 :
	    ossl.ctx_set_default_verify_paths(c->ctx) != 1)
		return where(srv, e, "cannot load the CA certificates for",
			     tls_error(buf, sizeof(buf)));
	if (srv->tls_certfile &&
	    (ossl.ctx_use_certificate_chain_file(c->ctx,
						 srv->tls_certfile) != 1 ||
	     ossl.ctx_use_privatekey_file(c->ctx, srv->tls_keyfile ?
					  srv->tls_keyfile : srv->tls_certfile,
					  X_SSL_FILETYPE_PEM) != 1))
		return where(srv, e, "cannot load the client certificate "
			     "for", tls_error(buf, sizeof(buf)));
	c->ssl = ossl.ssl_new(c->ctx);
	if (!c->ssl || ossl.set_fd(c->ssl, c->fd) != 1)
		return where(srv, e, "TLS setup failed for",
			     tls_error(buf, sizeof(buf)));
	ossl.ctrl(c->ssl, X_SSL_CTRL_SET_TLSEXT_HOSTNAME,
		  X_TLSEXT_NAMETYPE_host_name, srv->host);
	if (srv->tls_check_hostname && srv->tls_verify &&
	    ossl.set1_host(c->ssl, srv->host) != 1)
		return where(srv, e, "TLS setup failed for",
			     tls_error(buf, sizeof(buf)));
	if (ossl.connect(c->ssl) != 1) {
		vr = ossl.get_verify_result(c->ssl);
		if (vr != X_X509_V_OK && srv->tls_verify)
			return err_set(e, ERR_SESS_STORE, "TLS handshake "
				       "failed with Redis '%s': certificate "
				       "verify failed (%s)", srv->shown,
				       ossl.verify_error_string(vr));
		return where(srv, e, "TLS handshake failed with",
			     tls_error(buf, sizeof(buf)));
	}
	return 0;
}

static int
rc_write_all(struct rconn *c, struct err *e)
{
	size_t off = 0;
	char buf[256];

	while (off < c->out.len) {
		ssize_t n;
		size_t left = c->out.len - off;

		if (c->ssl) {
			n = ossl.write(c->ssl, c->out.buf + off,
				       left > INT32_MAX ? INT32_MAX :
				       (int)left);
			if (n <= 0)
				return where(c->srv, e, "cannot write to",
					     tls_error(buf, sizeof(buf)));
		} else {
			n = send(c->fd, c->out.buf + off, left, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return where(c->srv, e, "cannot write to",
					     errno == EAGAIN ? "timed out" :
					     strerror(errno));
		}
		off += (size_t)n;
	}
	sbuf_reset(&c->out);
	return 0;
}

static void
rc_append(struct rconn *c, int argc, const char **argv, const size_t *lens)
{
	char *cmd = NULL;
	int len = redisFormatCommandArgv(&cmd, argc, argv, lens);

	if (len < 0 || !cmd)
		abort(); /* only out of memory */
	sbuf_add(&c->out, cmd, (size_t)len);
	redisFreeCommand(cmd);
	c->pending++;
}

static void
rc_cmd(struct rconn *c, int argc, const char **argv)
{
	rc_append(c, argc, argv, NULL);
}

/* The next reply (flushing what is buffered first); caller frees. */
static redisReply *
rc_reply(struct rconn *c, struct err *e)
{
	void *reply = NULL;
	char buf[READ_CHUNK];

	if (c->out.len && rc_write_all(c, e) < 0)
		return NULL;
	for (;;) {
		ssize_t n;

		if (redisReaderGetReply(c->rd, &reply) != REDIS_OK) {
			where(c->srv, e, "unreadable reply from",
			      c->rd->errstr);
			return NULL;
		}
		if (reply) {
			c->pending--;
			return reply;
		}
		if (c->ssl) {
			n = ossl.read(c->ssl, buf, sizeof(buf));
			if (n <= 0) {
				char eb[256];

				where(c->srv, e, "cannot read from",
				      tls_error(eb, sizeof(eb)));
				return NULL;
			}
		} else {
			n = recv(c->fd, buf, sizeof(buf), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				where(c->srv, e, "cannot read from", n == 0 ?
				      "connection closed" : errno == EAGAIN ?
				      "timed out" : strerror(errno));
				return NULL;
			}
		}
		if (redisReaderFeed(c->rd, buf, (size_t)n) != REDIS_OK) {
			where(c->srv, e, "unreadable reply from",
			      c->rd->errstr);
			return NULL;
		}
	}
}

/* A reply that must not be an error; err names the command. */
static redisReply *
rc_expect(struct rconn *c, const char *what, struct err *e)
{
	redisReply *r = rc_reply(c, e);

	if (r && r->type == REDIS_REPLY_ERROR) {
		err_set(e, ERR_SESS_STORE, "Redis '%s' refused %s: %s",
			c->srv->shown, what, r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

static int
rc_open(struct rconn *c, const struct sredis_server *srv, struct err *e)
{
	redisReply *r;
	char db[16];

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->srv = srv;
	sbuf_init(&c->out, 4096);
	c->rd = redisReaderCreate();
	if (!c->rd)
		abort();
	if (open_socket(c, e) < 0)
		return -1;
	if (srv->tls && start_tls(c, e) < 0)
		return -1;
	if (srv->password) {
		const char *argv[] = { "AUTH", srv->username, srv->password };

		if (srv->username)
			rc_cmd(c, 3, argv);
		else {
			argv[1] = srv->password;
			rc_cmd(c, 2, argv);
		}
		r = rc_reply(c, e);
		if (!r)
			return -1;
		if (r->type == REDIS_REPLY_ERROR) {
			err_set(e, ERR_SESS_STORE, "Redis '%s' refused the "
				"password: %s", srv->shown, r->str);
			freeReplyObject(r);
			return -1;
		}
		freeReplyObject(r);
	}
	if (srv->db) {
		const char *argv[] = { "SELECT", db };

		snprintf(db, sizeof(db), "%d", srv->db);
		rc_cmd(c, 2, argv);
		r = rc_expect(c, "SELECT", e);
		if (!r)
			return -1;
		freeReplyObject(r);
	}
	return 0;
}

/* --- scanning ------------------------------------------------------------ */

/* INFO: version and cluster mode; DBSIZE (added to st->dbsize). */
static int
server_facts(struct rconn *c, struct sredis_stats *st, int *cluster,
	     struct err *e)
{
	const char *info[] = { "INFO", "server" };
	const char *cl[] = { "INFO", "cluster" };
	const char *dbsize[] = { "DBSIZE" };
	redisReply *r;

	rc_cmd(c, 2, info);
	rc_cmd(c, 2, cl);
	rc_cmd(c, 1, dbsize);
	r = rc_expect(c, "INFO", e);
	if (!r)
		return -1;
	if (r->type == REDIS_REPLY_STRING) {
		const char *v = strstr(r->str, "redis_version:");

		if (v) {
			v += strlen("redis_version:");
			snprintf(st->server_version, sizeof(st->server_version),
				 "%.*s", (int)strcspn(v, "\r\n"), v);
		}
	}
	freeReplyObject(r);
	r = rc_reply(c, e);
	if (!r)
		return -1;
	*cluster = r->type == REDIS_REPLY_STRING &&
		   strstr(r->str, "cluster_enabled:1") != NULL;
	freeReplyObject(r);
	r = rc_expect(c, "DBSIZE", e);
	if (!r)
		return -1;
	if (r->type == REDIS_REPLY_INTEGER && r->integer > 0)
		st->dbsize += (size_t)r->integer;
	freeReplyObject(r);
	return 0;
}

/* A key whose UNLINK was answered MOVED or ASK (cluster). */
struct redirect {
	char *key;
	size_t len;
	char *host; /* NULL: the host of the node that answered */
	int port;
	int ask;
};

struct scan {
	const struct sredis_opts *o;
	struct rconn *c;
	struct sredis_stats *st;
	sredis_visit_fn visit;
	void *data;
	struct sbuf base, hint;
	int use_del;	/* Redis < 4.0 has no UNLINK: DEL */
	int cluster;	/* one key per UNLINK, MOVED/ASK followed */
	size_t batch;	/* keys per UNLINK */
	const struct sredis_server *seed; /* credentials for other nodes */
	struct redirect *redir;
	size_t nredir, redir_alloc;
};

static void
make_hint(struct scan *s, const char *key, size_t len)
{
	size_t keep = len - s->base.len;

	if (keep > HINT_KEY_CHARS)
		keep = HINT_KEY_CHARS;
	sbuf_reset(&s->hint);
	sbuf_add(&s->hint, key, s->base.len + keep);
	sbuf_adds(&s->hint, "...");
}

/* Pipelined UNLINKs of keys[from..to): one command per batch. */
static void
queue_unlink(struct scan *s, redisReply **keys, size_t n, size_t *ncmds)
{
	const char **argv = xmalloc((s->batch + 1) * sizeof(*argv));
	size_t *lens = xmalloc((s->batch + 1) * sizeof(*lens));

	for (size_t i = 0; i < n;) {
		size_t k = 1;

		argv[0] = s->use_del ? "DEL" : "UNLINK";
		lens[0] = strlen(argv[0]);
		for (; i < n && k <= s->batch; i++, k++) {
			argv[k] = keys[i]->str;
			lens[k] = keys[i]->len;
		}
		rc_append(s->c, (int)k, argv, lens);
		(*ncmds)++;
	}
	free(argv);
	free(lens);
}

/* The session keys among a SCAN reply's keys (borrowed pointers). */
static size_t
filter_keys(const struct scan *s, redisReply **all, size_t nall,
	    redisReply **keys)
{
	size_t n = 0;

	for (size_t i = 0; i < nall; i++)
		if (all[i]->type == REDIS_REPLY_STRING &&
		    sredis_is_session_key(all[i]->str, all[i]->len,
					  s->base.buf, s->base.len))
			keys[n++] = all[i];
	return n;
}

/* Queue PTTL + STRLEN (with sizes) and the UNLINK batches for keys. */
static size_t
queue_keys(struct scan *s, redisReply **keys, size_t n)
{
	size_t ncmds = 0;

	if (s->o->with_sizes)
		for (size_t i = 0; i < n; i++) {
			const char *a[] = { "PTTL", keys[i]->str };
			const char *b[] = { "STRLEN", keys[i]->str };
			size_t l[] = { 4, keys[i]->len };
			size_t m[] = { 6, keys[i]->len };

			rc_append(s->c, 2, a, l);
			rc_append(s->c, 2, b, m);
		}
	if (n && s->o->act == SREDIS_CLEAR && !s->o->dry_run)
		queue_unlink(s, keys, n, &ncmds);
	return ncmds;
}

/*
 * Parse "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>" (an
 * empty host means the node that answered). -1 for anything else.
 */
int
sredis_parse_redirect(const char *msg, char **host, int *port, int *ask)
{
	const char *p, *addr, *colon;
	char *end;
	long n;

	*ask = !strncmp(msg, "ASK ", 4);
	if (*ask)
		p = msg + 4;
	else if (!strncmp(msg, "MOVED ", 6))
		p = msg + 6;
	else
		return -1;
	errno = 0;
	n = strtol(p, &end, 10);
	if (errno || end == p || *end != ' ' || n < 0 || n > 16383)
		return -1;
	addr = end + 1;
	colon = strrchr(addr, ':');
	if (!colon || strchr(addr, ' '))
		return -1;
	errno = 0;
	n = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || n <= 0 || n > 65535)
		return -1;
	*port = (int)n;
	*host = NULL;
	if (colon > addr) {
		/* "[::1]:7000" as well as "::1:7000" */
		if (*addr == '[' && colon[-1] == ']')
			*host = xstrndup(addr + 1, (size_t)(colon - addr - 2));
		else
			*host = xstrndup(addr, (size_t)(colon - addr));
	}
	return 0;
}

static int
add_redirect(struct scan *s, const char *msg, const char *key, size_t len)
{
	struct redirect *rd;
	char *host;
	int port, ask;

	if (sredis_parse_redirect(msg, &host, &port, &ask) < 0)
		return -1;
	XGROW(s->redir, s->redir_alloc, s->nredir + 1);
	rd = &s->redir[s->nredir++];
	rd->key = xmalloc(len + 1);
	memcpy(rd->key, key, len);
	rd->key[len] = '\0';
	rd->len = len;
	rd->host = host;
	rd->port = port;
	rd->ask = ask;
	return 0;
}

/* Read the replies queue_keys() asked for, count, visit. */
static int
collect_keys(struct scan *s, redisReply **keys, size_t n, size_t ncmds,
	     int *stop, struct err *e)
{
	size_t removed = 0;
	int ret = -1;

	for (size_t i = 0; i < n; i++) {
		struct sredis_entry ent;

		memset(&ent, 0, sizeof(ent));
		ent.pttl_ms = -1;
		if (s->o->with_sizes) {
			redisReply *t = rc_reply(s->c, e), *z;

			if (!t)
				goto out;
			z = rc_reply(s->c, e);
			if (!z) {
				freeReplyObject(t);
				goto out;
			}
			ent.has_size = t->type == REDIS_REPLY_INTEGER &&
				       z->type == REDIS_REPLY_INTEGER;
			if (ent.has_size) {
				ent.pttl_ms = t->integer;
				ent.size = z->integer;
			}
			freeReplyObject(t);
			freeReplyObject(z);
		}
		s->st->keys++;
		if (ent.has_size && ent.pttl_ms >= 0) {
			if (s->st->keys == 1 + s->st->no_ttl ||
			    ent.pttl_ms < s->st->min_ttl_ms)
				s->st->min_ttl_ms = ent.pttl_ms;
			if (ent.pttl_ms > s->st->max_ttl_ms)
				s->st->max_ttl_ms = ent.pttl_ms;
			s->st->bytes += (uint64_t)ent.size;
		} else if (ent.has_size && ent.pttl_ms == -1) {
			s->st->no_ttl++;
			s->st->bytes += (uint64_t)ent.size;
		}
		if (s->o->act == SREDIS_CLEAR && s->o->dry_run) {
			ent.removed = 1;
			s->st->removed++;
		}
		if (s->visit && !*stop) {
			make_hint(s, keys[i]->str, keys[i]->len);
			ent.hint = s->hint.buf;
			ent.name = s->o->with_names ? keys[i]->str : NULL;
			ent.server = s->c->srv->shown;
			if (s->visit(&ent, s->data))
				*stop = 1;
		}
	}
	for (size_t i = 0; i < ncmds; i++) {
		redisReply *r = rc_reply(s->c, e);

		if (!r)
			goto out;
		/* cluster: one key per UNLINK, so reply i is keys[i]'s */
		if (r->type == REDIS_REPLY_ERROR && s->cluster && i < n &&
		    add_redirect(s, r->str, keys[i]->str, keys[i]->len) == 0) {
			freeReplyObject(r);
			continue;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			err_set(e, ERR_SESS_STORE, "Redis '%s' refused "
				"%s: %s", s->c->srv->shown, s->use_del ?
				"DEL" : "UNLINK", r->str);
			freeReplyObject(r);
			goto out;
		}
		if (r->type == REDIS_REPLY_INTEGER)
			removed += (size_t)r->integer;
		freeReplyObject(r);
	}
	s->st->removed += removed;
	ret = 0;
out:
	return ret;
}

/* The major version of "7.0.15" (0 when unknown). */
static long
atoi_prefix(const char *v)
{
	return strtol(v, NULL, 10);
}

/*
 * SCAN rounds. The next SCAN is pipelined behind the current round's
 * UNLINKs, so each round costs one round trip, and the server runs at most
 * one SCAN (COUNT keys) and a few 100-key UNLINKs before serving others.
 */
static int
scan_server(struct scan *s, struct err *e)
{
	struct sbuf match = SBUF_INIT;
	char cursor[32] = "0", count[32];
	const char *argv[] = { "SCAN", cursor, "MATCH", NULL, "COUNT", count };
	redisReply **keys = NULL;
	size_t keys_alloc = 0;
	int stop = 0, pending_scan, ret = -1;

	sredis_glob_escape(s->base.buf, &match);
	sbuf_addch(&match, '*');
	argv[3] = match.buf;
	snprintf(count, sizeof(count), "%zu", s->o->scan_count);
	rc_cmd(s->c, 6, argv);
	pending_scan = 1;
	while (pending_scan) {
		redisReply *r, *cur, *all;
		size_t n, ncmds;

		r = rc_expect(s->c, "SCAN", e);
		pending_scan = 0;
		if (!r)
			goto out;
		s->st->scans++;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    (cur = r->element[0])->type != REDIS_REPLY_STRING ||
		    (all = r->element[1])->type != REDIS_REPLY_ARRAY ||
		    cur->len >= sizeof(cursor)) {
			err_set(e, ERR_SESS_STORE, "Redis '%s' sent an "
				"unexpected SCAN reply", s->c->srv->shown);
			freeReplyObject(r);
			goto out;
		}
		memcpy(cursor, cur->str, cur->len + 1);
		XGROW(keys, keys_alloc, all->elements + 1);
		n = filter_keys(s, all->element, all->elements, keys);
		ncmds = queue_keys(s, keys, n);
		if (strcmp(cursor, "0") && !stop) {
			rc_cmd(s->c, 6, argv);
			pending_scan = 1;
		}
		if (collect_keys(s, keys, n, ncmds, &stop, e) < 0) {
			freeReplyObject(r);
			goto out;
		}
		freeReplyObject(r);
		if (s->o->progress)
			s->o->progress(s->st->keys, 0, s->o->progress_data);
		if (stop && pending_scan) {
			/* visit stopped: drop the SCAN already asked for */
			redisReply *x = rc_reply(s->c, e);

			if (!x)
				goto out;
			freeReplyObject(x);
			pending_scan = 0;
		}
	}
	ret = stop ? 1 : 0;
out:
	free(keys);
	sbuf_release(&match);
	return ret;
}

/* --- Redis Cluster ------------------------------------------------------- */

/* An IPv6 literal is written in brackets. */
static void
add_hostport(struct sbuf *sb, const char *host, int port)
{
	if (strchr(host, ':'))
		sbuf_addf(sb, "[%s]:%d", host, port);
	else
		sbuf_addf(sb, "%s:%d", host, port);
}

/* A cluster node reached with the seed's credentials and TLS settings. */
static void
node_server(const struct sredis_server *seed, const char *host, int port,
	    struct sredis_server *out)
{
	struct sbuf sb = SBUF_INIT;

	memset(out, 0, sizeof(*out));
	out->host = xstrdup(host);
	out->port = port;
	out->tls = seed->tls;
	if (seed->username)
		out->username = xstrdup(seed->username);
	if (seed->password)
		out->password = xstrdup(seed->password);
	out->db = seed->db;
	out->tls_verify = seed->tls_verify;
	out->tls_check_hostname = seed->tls_check_hostname;
	if (seed->tls_ca_certs)
		out->tls_ca_certs = xstrdup(seed->tls_ca_certs);
	if (seed->tls_certfile)
		out->tls_certfile = xstrdup(seed->tls_certfile);
	if (seed->tls_keyfile)
		out->tls_keyfile = xstrdup(seed->tls_keyfile);
	out->timeout = seed->timeout;
	sbuf_adds(&sb, seed->tls ? "rediss://" : "redis://");
	if (seed->password)
		sbuf_addf(&sb, "%s:***@", seed->username ? seed->username : "");
	add_hostport(&sb, host, port);
	out->shown = sbuf_detach(&sb, NULL);
}

struct cnode {
	char *id;
	struct sredis_server srv;
	int failing; /* fail or noaddr: cannot be reached */
	int slots;   /* serves at least one slot */
};

struct cmap {
	struct cnode *v;
	size_t n, alloc;
	struct strv sig; /* "id slots..." of each master, sorted */
};

static void
cmap_release(struct cmap *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].id);
		sredis_server_release(&m->v[i].srv);
	}
	free(m->v);
	strv_release(&m->sig);
	memset(m, 0, sizeof(*m));
}

static int
has_flag(const char *flags, const char *flag)
{
	size_t n = strlen(flag);

	for (const char *p = flags; *p;) {
		size_t len = strcspn(p, ",");

		if (len == n && !memcmp(p, flag, n))
			return 1;
		p += len;
		if (*p)
			p++;
	}
	return 0;
}

/*
 * The masters of CLUSTER NODES text: "<id> <ip:port@cport[,host]>
 * <flags> <master> <ping> <pong> <epoch> <link> <slot>...". An empty ip
 * (a node that has not learnt its address) is the seed's host.
 */
static int
parse_nodes(const char *text, const struct sredis_server *seed,
	    struct cmap *m, struct err *e)
{
	struct strv lines = STRV_INIT;
	int ret = -1;

	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\r\n");

		if (len)
			strv_push_nodup(&lines, xstrndup(p, len));
		p += len;
		while (*p == '\r' || *p == '\n')
			p++;
	}
	for (size_t i = 0; i < lines.n; i++) {
		char *f[8], *save = NULL, *tok, *at, *colon, *host;
		struct sbuf sig = SBUF_INIT;
		struct cnode *cn;
		size_t nf = 0;
		long port;

		/* the 8 fixed fields; strtok_r is not called past them */
		while (nf < 8 && (tok = strtok_r(nf ? NULL : lines.v[i], " ",
						  &save)))
			f[nf++] = tok;
		if (nf < 8) {
			err_set(e, ERR_SESS_STORE, "Redis '%s' sent an "
				"unexpected CLUSTER NODES line", seed->shown);
			goto out;
		}
		if (!has_flag(f[2], "master"))
			continue;
		at = strchr(f[1], '@');
		if (at)
			*at = '\0';
		colon = strrchr(f[1], ':');
		if (!colon || parse_int(colon + 1, &port) < 0 || port < 0 ||
		    port > 65535) {
			err_set(e, ERR_SESS_STORE, "Redis '%s' sent an "
				"unexpected CLUSTER NODES address '%s'",
				seed->shown, f[1]);
			goto out;
		}
		*colon = '\0';
		host = f[1];
		if (*host == '[' && colon[-1] == ']') {
			colon[-1] = '\0';
			host++;
		}
		XGROW(m->v, m->alloc, m->n + 1);
		cn = &m->v[m->n++];
		memset(cn, 0, sizeof(*cn));
		cn->id = xstrdup(f[0]);
		cn->failing = has_flag(f[2], "fail") ||
			      has_flag(f[2], "noaddr") || port == 0;
		node_server(seed, *host ? host : seed->unix_socket ?
			    "127.0.0.1" : seed->host, (int)port, &cn->srv);
		sbuf_adds(&sig, f[0]);
		/* the slots, and [slot->-id] / [slot-<-id] migrations */
		for (tok = strtok_r(NULL, " ", &save); tok;
		     tok = strtok_r(NULL, " ", &save)) {
			if (*tok != '[')
				cn->slots = 1;
			sbuf_addf(&sig, " %s", tok);
		}
		strv_push_nodup(&m->sig, sbuf_detach(&sig, NULL));
	}
	strv_sort(&m->sig);
	if (!m->n) {
		err_set(e, ERR_SESS_STORE, "Redis Cluster node '%s' lists no "
			"master", seed->shown);
		goto out;
	}
	ret = 0;
out:
	strv_release(&lines);
	return ret;
}

/* CLUSTER NODES through c, parsed. */
static int
read_nodes(struct rconn *c, const struct sredis_server *seed,
	   struct cmap *m, struct err *e)
{
	const char *argv[] = { "CLUSTER", "NODES" };
	redisReply *r;
	int ret;

	rc_cmd(c, 2, argv);
	r = rc_expect(c, "CLUSTER NODES", e);
	if (!r)
		return -1;
	if (r->type != REDIS_REPLY_STRING) {
		freeReplyObject(r);
		return err_set(e, ERR_SESS_STORE, "Redis '%s' sent an "
			       "unexpected CLUSTER NODES reply", seed->shown);
	}
	ret = parse_nodes(r->str, seed, m, e);
	freeReplyObject(r);
	return ret;
}

static int
same_map(const struct cmap *a, const struct cmap *b)
{
	if (a->sig.n != b->sig.n)
		return 0;
	for (size_t i = 0; i < a->sig.n; i++)
		if (strcmp(a->sig.v[i], b->sig.v[i]))
			return 0;
	return 1;
}

#define MAX_HOPS 5

/*
 * One UNLINK of a redirected key on host:port (after ASKING for ASK).
 * Returns 0 when done (counted), 1 with host, port and ask updated when
 * redirected again, -1 on errors.
 */
static int
unlink_at(struct scan *s, const struct redirect *rd, char **host, int *port,
	  int *ask, struct err *e)
{
	const char *asking[] = { "ASKING" };
	const char *argv[] = { s->use_del ? "DEL" : "UNLINK", rd->key };
	size_t lens[] = { strlen(argv[0]), rd->len };
	struct sredis_server srv;
	struct rconn c;
	redisReply *r = NULL;
	char *nhost;
	int ret = -1;

	s->st->redirects++;
	node_server(s->seed, *host, *port, &srv);
	if (rc_open(&c, &srv, e) < 0)
		goto out;
	if (*ask) {
		rc_cmd(&c, 1, asking);
		rc_append(&c, 2, argv, lens);
		r = rc_expect(&c, "ASKING", e);
		if (!r)
			goto out;
		freeReplyObject(r);
	} else {
		rc_append(&c, 2, argv, lens);
	}
	r = rc_reply(&c, e);
	if (!r)
		goto out;
	if (r->type == REDIS_REPLY_INTEGER) {
		s->st->removed += (size_t)r->integer;
		ret = 0;
	} else if (r->type == REDIS_REPLY_ERROR &&
		   sredis_parse_redirect(r->str, &nhost, port, ask) == 0) {
		if (nhost) {
			free(*host);
			*host = nhost;
		}
		ret = 1;
	} else {
		err_set(e, ERR_SESS_STORE, "Redis '%s' refused %s: %s",
			srv.shown, argv[0], r->type == REDIS_REPLY_ERROR ?
			r->str : "unexpected reply");
	}
	freeReplyObject(r);
out:
	rc_close(&c);
	sredis_server_release(&srv);
	return ret;
}

#define MAX_HOPS 5

/* UNLINK one redirected key where MOVED/ASK send it, a few hops deep. */
static int
follow_redirect(struct scan *s, const struct redirect *rd,
		const char *from_host, struct err *e)
{
	char *host = xstrdup(rd->host ? rd->host : from_host);
	int port = rd->port, ask = rd->ask, r = 1;

	for (int hop = 0; hop < MAX_HOPS && r == 1; hop++)
		r = unlink_at(s, rd, &host, &port, &ask, e);
	free(host);
	if (r == 1)
		return err_set(e, ERR_SESS_STORE, "Redis Cluster kept "
			       "redirecting a session key after %d hops (slots "
			       "migrating?)", MAX_HOPS);
	return r;
}

static void
drop_redirects(struct scan *s)
{
	for (size_t i = 0; i < s->nredir; i++) {
		free(s->redir[i].key);
		free(s->redir[i].host);
	}
	s->nredir = 0;
}

/* Scan one server (opened on srv); *cluster says what INFO said. */
static int
scan_one(struct scan *s, const struct sredis_server *srv, int *cluster,
	 struct cmap *nodes, struct err *e)
{
	struct rconn conn;
	int ret = -1, cl = 0;

	s->c = &conn;
	if (rc_open(&conn, srv, e) < 0 ||
	    server_facts(&conn, s->st, &cl, e) < 0)
		goto out;
	s->use_del = atoi_prefix(s->st->server_version) < 4;
	if (cluster && cl) {
		/* the seed of a cluster: only its map is wanted */
		*cluster = 1;
		ret = read_nodes(&conn, srv, nodes, e);
		goto out;
	}
	s->st->nodes++;
	if (s->o->on_node)
		s->o->on_node(srv->shown, s->o->node_data);
	ret = scan_server(s, e);
	for (size_t i = 0; ret == 0 && i < s->nredir; i++)
		if (follow_redirect(s, &s->redir[i], srv->host ? srv->host :
				    "127.0.0.1", e) < 0)
			ret = -1;
	drop_redirects(s);
out:
	rc_close(&conn);
	s->c = NULL;
	return ret;
}

/* Every master of the cluster that seed belongs to; nodes is its map. */
static int
run_cluster(struct scan *s, const struct sredis_server *seed,
	    struct cmap *nodes, struct err *e)
{
	struct cmap again = { NULL, 0, 0, STRV_INIT };
	int ret = 0;

	s->cluster = 1;
	s->batch = 1;
	s->seed = seed;
	s->st->cluster = 1;
	for (int pass = 0; pass < 2 && ret == 0; pass++) {
		struct cmap *m = pass ? &again : nodes;

		s->st->passes++;
		s->st->dbsize = 0;
		s->st->nodes = 0;
		for (size_t i = 0; i < m->n && ret == 0; i++) {
			if (m->v[i].failing && !m->v[i].slots)
				continue;
			if (m->v[i].failing) {
				ret = err_set(e, ERR_SESS_STORE, "Redis "
					      "Cluster master '%s' is failing: "
					      "the sessions it holds cannot be "
					      "reached", m->v[i].srv.shown);
				break;
			}
			ret = scan_one(s, &m->v[i].srv, NULL, NULL, e);
		}
		if (ret != 0 || pass || s->o->act != SREDIS_CLEAR ||
		    s->o->dry_run)
			break;
		/* keys that moved during the pass may have been missed */
		{
			struct rconn c;
			int r2 = -1;

			if (rc_open(&c, seed, e) == 0)
				r2 = read_nodes(&c, seed, &again, e);
			rc_close(&c);
			if (r2 < 0)
				ret = -1;
			else if (same_map(nodes, &again))
				break;
		}
	}
	cmap_release(&again);
	return ret;
}

int
sredis_cluster_masters(const char *text, const struct sredis_server *seed,
		       struct strv *masters, struct strv *failing,
		       struct err *e)
{
	struct cmap m = { NULL, 0, 0, STRV_INIT };
	char *copy = xstrdup(text);
	int ret = parse_nodes(copy, seed, &m, e);

	for (size_t i = 0; ret == 0 && i < m.n; i++)
		if (!m.v[i].failing)
			strv_push(masters, m.v[i].srv.shown);
		else if (m.v[i].slots)
			strv_push(failing, m.v[i].srv.shown);
	cmap_release(&m);
	free(copy);
	return ret;
}

int
sredis_run(const struct sredis_cache *c, const struct sredis_opts *o,
	   sredis_visit_fn visit, void *data, struct sredis_stats *st,
	   struct err *e)
{
	struct sredis_stats dummy;
	struct scan s;
	size_t n = c->sharded ? c->nservers : 1;
	int ret = 0;

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	memset(&s, 0, sizeof(s));
	s.o = o;
	s.st = st;
	s.visit = visit;
	s.data = data;
	s.batch = o->batch ? o->batch : 1;
	sredis_key_base(c, o->kind, &s.base);
	for (size_t i = 0; i < n && ret == 0; i++) {
		struct cmap nodes = { NULL, 0, 0, STRV_INIT };
		int cluster = 0;

		ret = scan_one(&s, &c->servers[i], &cluster, &nodes, e);
		if (ret == 0 && cluster && c->sharded)
			ret = err_set(e, ERR_SESS_CONFIG, "Redis '%s' is a "
				      "Redis Cluster node: a ShardClient over "
				      "cluster nodes is not supported",
				      c->servers[i].shown);
		else if (ret == 0 && cluster)
			ret = run_cluster(&s, &c->servers[i], &nodes, e);
		cmap_release(&nodes);
		if (cluster)
			break;
	}
	drop_redirects(&s);
	free(s.redir);
	sbuf_release(&s.base);
	sbuf_release(&s.hint);
	return ret;
}
