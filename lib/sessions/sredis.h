/*
 * Django's cache session store on Redis (django-redis, or Django's own
 * RedisCache): the connection and key format from omero.web.caches, and
 * SCAN ... MATCH ... COUNT with pipelined UNLINK in small batches, so the
 * server never stalls the way KEYS does. hiredis is used for its RESP
 * reader and command formatter only; TLS (rediss://) goes through OpenSSL
 * opened with lazylib on first use.
 */
#ifndef OWCTL_SREDIS_H
#define OWCTL_SREDIS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "sbuf.h"
#include "strv.h"

/* One Redis server as redis-py's from_url() would connect to it. */
struct sredis_server {
	int unix_socket; /* unix:// */
	char *host;	 /* redis://, rediss:// (default "localhost") */
	int port;	 /* default 6379 */
	char *path;	 /* unix socket path */
	int tls;	 /* rediss:// */
	char *username;	 /* AUTH username password (Redis 6 ACL) */
	char *password;
	int db;
	/* rediss://: redis-py's defaults are ssl_cert_reqs="required" and
	 * ssl_check_hostname=False */
	int tls_verify;	/* 0 = none, 1 = optional, 2 = required */
	int tls_check_hostname;
	char *tls_ca_certs, *tls_certfile, *tls_keyfile;
	double timeout; /* seconds for connect and for each reply */
	char *shown;	/* the LOCATION with the password masked */
};

/* A cache of CACHES, as far as the session store uses it. */
struct sredis_cache {
	char *alias;   /* "default" or SESSION_CACHE_ALIAS */
	char *backend; /* BACKEND */
	struct sredis_server *servers;
	size_t nservers; /* servers[0] is the primary */
	int sharded;	 /* django-redis ShardClient: keys on each server */
	char *key_prefix;
	char *version; /* str(VERSION) */
};

/*
 * Parse CACHES[alias] (a JSON object) for django_redis.cache.RedisCache or
 * django.core.cache.backends.redis.RedisCache: LOCATION (a string, split
 * at ',' — and ';' for Django's backend — or a list; the first is the
 * primary), OPTIONS (django-redis: PASSWORD, SOCKET_TIMEOUT,
 * SOCKET_CONNECT_TIMEOUT, CONNECTION_POOL_KWARGS, CLIENT_CLASS; Django:
 * redis-py keyword arguments), KEY_PREFIX and VERSION. Values in the URL
 * win over options, as in redis-py. Other backends, Sentinel and custom
 * KEY_FUNCTIONs fail with ERR_SESS_CONFIG saying why. c is released with
 * sredis_cache_release() in every case.
 */
int sredis_parse_cache(const json_t *caches, const char *alias,
		       struct sredis_cache *c, struct err *e);
void sredis_cache_release(struct sredis_cache *c);

/*
 * Parse one location like redis-py's parse_url(): redis://, rediss://,
 * unix:// with user, password, host, port, /db and the query arguments
 * db, username, password, socket_timeout, socket_connect_timeout,
 * ssl_cert_reqs, ssl_ca_certs, ssl_certfile, ssl_keyfile,
 * ssl_check_hostname. Fields already set in srv (from OPTIONS) are
 * overridden by the URL's. Fails with ERR_SESS_CONFIG.
 */
int sredis_parse_url(const char *url, struct sredis_server *srv,
		     struct err *e);
void sredis_server_release(struct sredis_server *srv);

/* The key Django writes for a session, minus the session key:
 * "<KEY_PREFIX>:<VERSION>:<kind>" (kind: SREDIS_KIND_*). */
void sredis_key_base(const struct sredis_cache *c, const char *kind,
		     struct sbuf *out);
#define SREDIS_KIND_CACHE "django.contrib.sessions.cache"
#define SREDIS_KIND_CACHED_DB "django.contrib.sessions.cached_db"

/* s with Redis glob characters (* ? [ ] \) escaped, appended to out. */
void sredis_glob_escape(const char *s, struct sbuf *out);

/* Is key "<base><session key>" with a key Django accepts (>= 8 chars of
 * [a-z0-9])? This also keeps "...cache" from matching "...cached_db". */
int sredis_is_session_key(const char *key, size_t len, const char *base,
			  size_t blen);

enum sredis_action {
	SREDIS_SCAN,  /* count (and with sizes: TTL and length) */
	SREDIS_CLEAR, /* UNLINK every session key */
};

struct sredis_opts {
	const char *kind;	/* SREDIS_KIND_CACHE or _CACHED_DB */
	enum sredis_action act;
	int dry_run;		/* CLEAR: find, never unlink */
	int with_sizes;		/* PTTL + STRLEN per key (pipelined) */
	int with_names;		/* full keys in entries: tests only */
	size_t scan_count;	/* SCAN COUNT (default 250) */
	size_t batch;		/* keys per UNLINK (default 100) */
	/* after each SCAN: session keys so far (total is 0: unknown) */
	void (*progress)(size_t done, size_t total, void *data);
	void *progress_data;
	/* each server as its scan starts (shown name; a cluster's second
	 * pass names its masters again) */
	void (*on_node)(const char *shown, void *data);
	void *node_data;
};

#define SREDIS_OPTS_INIT                                                       \
	{ SREDIS_KIND_CACHE, SREDIS_SCAN, 0, 0, 0, 250, 100, NULL, NULL,      \
	  NULL, NULL }

struct sredis_entry {
	const char *hint;   /* base + first 8 key characters + "..." */
	const char *name;   /* full key with with_names, else NULL */
	const char *server; /* the server's shown name */
	int has_size;
	int64_t pttl_ms;    /* -1: no TTL, -2: gone meanwhile */
	int64_t size;	    /* STRLEN */
	int removed;	    /* CLEAR: UNLINK removed it (or would) */
};

typedef int (*sredis_visit_fn)(const struct sredis_entry *ent, void *data);

struct sredis_stats {
	size_t keys;	     /* session keys found */
	size_t removed;	     /* CLEAR: unlinked (dry run: would be) */
	uint64_t bytes;	     /* with_sizes: sum of STRLEN */
	size_t no_ttl;	     /* keys without a TTL */
	int64_t min_ttl_ms;  /* with_sizes, keys with a TTL */
	int64_t max_ttl_ms;
	size_t dbsize;	     /* sum of DBSIZE over the servers scanned */
	size_t scans;	     /* SCAN calls */
	char server_version[32];
	int cluster;	     /* the server is a Redis Cluster node */
	size_t redirects;    /* cluster: MOVED/ASK replies followed */
	size_t passes;	     /* cluster: passes over every master (1, or
				2 when the slot map changed meanwhile) */
	size_t nodes;	     /* servers scanned (cluster: masters; replicas
				are never touched) */
};

/*
 * The masters in CLUSTER NODES text, as sredis_run() reaches them (the
 * seed's credentials, host:port from the text, an empty ip being the
 * seed's host): shown names of the usable ones appended to masters, of
 * failing ones (fail, noaddr) that serve slots to failing. Replicas are
 * left out. Fails (ERR_SESS_STORE) on a malformed line or no master.
 */
int sredis_cluster_masters(const char *text, const struct sredis_server *seed,
			   struct strv *masters, struct strv *failing,
			   struct err *e);

/*
 * A MOVED or ASK error reply: "MOVED <slot> <host>:<port>". *host is
 * allocated (NULL when the reply names no host: the node that answered);
 * *ask is 1 for ASK. -1 for any other text.
 */
int sredis_parse_redirect(const char *msg, char **host, int *port, int *ask);

/*
 * Connect to each server that holds sessions (the primary, or every
 * server when sharded), AUTH, SELECT the db, then SCAN for the session
 * keys of kind and apply act. visit (may be NULL) sees each key; a
 * non-zero return stops (returns 1).
 *
 * When the primary says cluster_enabled:1 (Redis Cluster: django-redis
 * with a cluster REDIS_CLIENT_CLASS, the LOCATION being any node), every
 * master listed by CLUSTER NODES is scanned in turn with the primary's
 * credentials and TLS settings, each key unlinked on the master that
 * listed it (one key per UNLINK: keys of different slots cannot share a
 * command); MOVED and ASK replies (slots migrating meanwhile) are followed
 * to the node they name, a few hops at most. If CLEAR (not a dry run)
 * sees the slot map change during its pass it makes a second pass.
 * Replicas are never touched. A failing master that serves slots fails
 * the run.
 *
 * st (may be NULL) is filled in every case. Fails with ERR_SESS_STORE
 * when a server cannot be reached or refuses (message names it, password
 * masked), ERR_SESS_CONFIG for a ShardClient over cluster nodes.
 */
int sredis_run(const struct sredis_cache *c, const struct sredis_opts *o,
	       sredis_visit_fn visit, void *data, struct sredis_stats *st,
	       struct err *e);

#endif
