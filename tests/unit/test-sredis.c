/*
 * omero.web.caches as django-redis / Django / redis-py read it: URL forms,
 * options and their precedence, key format and matching. (Talking to a
 * real Redis is covered by tests/integration/test_sessions_cli.py.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pyjson.h"
#include "xalloc.h"
#include "sessions/sredis.h"
#include "banned.h"

static json_t *
js(const char *text)
{
	struct err e = ERR_INIT;
	json_t *v = pyjson_loads(text, strlen(text), &e);

	if (!v)
		fail_msg("%s", e.msg);
	return v;
}

/* caches is JSON written with ' for " (readable in C) */
static int
parse(const char *caches, struct sredis_cache *c, struct err *e)
{
	char *text = xstrdup(caches);
	json_t *v;

	for (char *p = text; *p; p++)
		if (*p == '\'')
			*p = '"';
	v = js(text);
	free(text);
	int r = sredis_parse_cache(v, "default", c, e);

	json_decref(v);
	return r;
}

static void
url(const char *u, struct sredis_server *srv)
{
	struct err e = ERR_INIT;

	memset(srv, 0, sizeof(*srv));
	srv->port = 6379;
	srv->tls_verify = 2;
	if (sredis_parse_url(u, srv, &e))
		fail_msg("%s: %s", u, e.msg);
}

static void
test_sredis_url_forms(void **state)
{
	struct sredis_server s;
	struct err e = ERR_INIT;

	(void)state;
	url("redis://127.0.0.1:6380/2", &s);
	assert_string_equal(s.host, "127.0.0.1");
	assert_int_equal(s.port, 6380);
	assert_int_equal(s.db, 2);
	assert_false(s.tls);
	assert_null(s.password);
	sredis_server_release(&s);

	url("rediss://user:p%40ss@Redis.Example:7000/5?db=7&ssl_cert_reqs=none",
	    &s);
	assert_true(s.tls);
	assert_string_equal(s.host, "redis.example");
	assert_string_equal(s.username, "user");
	assert_string_equal(s.password, "p@ss");
	assert_int_equal(s.db, 7); /* the query wins over the path */
	assert_int_equal(s.tls_verify, 0);
	assert_string_equal(s.shown, "rediss://user:***@Redis.Example:7000/5"
			    "?db=7&ssl_cert_reqs=none");
	sredis_server_release(&s);

	url("unix://:secret@/run/redis/redis.sock?db=3", &s);
	assert_true(s.unix_socket);
	assert_string_equal(s.path, "/run/redis/redis.sock");
	assert_string_equal(s.password, "secret");
	assert_null(s.username);
	assert_int_equal(s.db, 3);
	assert_null(strstr(s.shown, "secret"));
	sredis_server_release(&s);

	url("redis://", &s); /* redis-py defaults */
	assert_string_equal(s.host, "localhost");
	assert_int_equal(s.port, 6379);
	assert_int_equal(s.db, 0);
	sredis_server_release(&s);

	url("redis://[::1]:6390/x", &s); /* a bad db path is ignored */
	assert_string_equal(s.host, "::1");
	assert_int_equal(s.port, 6390);
	assert_int_equal(s.db, 0);
	sredis_server_release(&s);

	/* a query password is masked too; query values are unquoted twice
	 * (parse_qs, then redis-py's unquote) */
	url("redis://h/1?password=p%2541ss%2Bx&db=2#frag", &s);
	assert_string_equal(s.password, "pAss+x");
	assert_int_equal(s.db, 2);
	assert_string_equal(s.shown, "redis://h/1?password=***&db=2#frag");
	sredis_server_release(&s);

	memset(&s, 0, sizeof(s));
	/* a db redis-py would take but SELECT refuses */
	assert_int_equal(sredis_parse_url("redis://h/-1", &s, &e), -1);
	assert_int_equal(e.code, ERR_SESS_CONFIG);
	err_clear(&e);
	assert_int_equal(sredis_parse_url("redis://h/99999999999", &s, &e),
			 -1);
	err_clear(&e);
	sredis_server_release(&s);

	memset(&s, 0, sizeof(s));
	assert_int_equal(sredis_parse_url("127.0.0.1:6379", &s, &e), -1);
	assert_int_equal(e.code, ERR_SESS_CONFIG);
	err_clear(&e);
	assert_int_equal(sredis_parse_url("http://h/0", &s, &e), -1);
	err_clear(&e);
	assert_int_equal(sredis_parse_url("redis://h:99999/0", &s, &e), -1);
	err_clear(&e);
	assert_int_equal(sredis_parse_url("unix://", &s, &e), -1);
	err_clear(&e);
	sredis_server_release(&s);
}

static void
test_sredis_django_redis_options(void **state)
{
	struct sredis_cache c;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(parse("{'default': {'BACKEND': 'django_redis.cache."
			       "RedisCache', 'LOCATION': ['redis://h1:1/4', "
			       "'redis://h2:2/4'], 'KEY_PREFIX': 'om*', "
			       "'VERSION': 3, 'OPTIONS': {'PASSWORD': 'pw', "
			       "'CONNECTION_POOL_KWARGS': {'ssl_ca_certs': "
			       "'/ca.pem'}}}}", &c, &e), 0);
	assert_int_equal(c.nservers, 2);
	assert_string_equal(c.servers[0].host, "h1");
	assert_string_equal(c.servers[1].host, "h2");
	assert_string_equal(c.servers[0].password, "pw");
	assert_string_equal(c.servers[0].tls_ca_certs, "/ca.pem");
	assert_false(c.sharded);
	assert_string_equal(c.key_prefix, "om*");
	assert_string_equal(c.version, "3");
	{
		struct sbuf b = SBUF_INIT, m = SBUF_INIT;

		sredis_key_base(&c, SREDIS_KIND_CACHE, &b);
		assert_string_equal(b.buf,
				    "om*:3:django.contrib.sessions.cache");
		sredis_glob_escape(b.buf, &m);
		assert_string_equal(m.buf,
				    "om\\*:3:django.contrib.sessions.cache");
		sbuf_release(&b);
		sbuf_release(&m);
	}
	sredis_cache_release(&c);

	/* the URL's password wins over OPTIONS PASSWORD (redis-py) */
	assert_int_equal(parse("{'default': {'BACKEND': 'django_redis.cache."
			       "RedisCache', 'LOCATION': 'redis://:url@h/1,"
			       "redis://h/1', 'OPTIONS': {'PASSWORD': 'opt', "
			       "'CLIENT_CLASS': 'django_redis.client."
			       "ShardClient'}}}", &c, &e), 0);
	assert_int_equal(c.nservers, 2);
	assert_string_equal(c.servers[0].password, "url");
	assert_string_equal(c.servers[1].password, "opt");
	assert_true(c.sharded);
	assert_string_equal(c.key_prefix, "");
	assert_string_equal(c.version, "1");
	sredis_cache_release(&c);
}

static void
test_sredis_django_backend_options(void **state)
{
	struct sredis_cache c;
	struct err e = ERR_INIT;

	(void)state;
	/* Django's RedisCache: OPTIONS are redis-py keyword arguments,
	 * LOCATION may be split at ';' too */
	assert_int_equal(parse("{'sessions': {}, 'default': {'BACKEND': "
			       "'django.core.cache.backends.redis.RedisCache', "
			       "'LOCATION': 'redis://a/2;redis://b/2', "
			       "'VERSION': 'v2', 'OPTIONS': {'password': 'pw', "
			       "'db': 9, 'username': 'web'}}}", &c, &e), 0);
	assert_int_equal(c.nservers, 2);
	assert_string_equal(c.servers[0].password, "pw");
	assert_string_equal(c.servers[0].username, "web");
	assert_int_equal(c.servers[0].db, 2); /* URL path beats OPTIONS db */
	assert_string_equal(c.version, "v2");
	sredis_cache_release(&c);
}

static void
test_sredis_refuses_what_it_cannot_manage(void **state)
{
	static const char *const bad[] = {
		"{}",
		"{'default': {'BACKEND': 'django.core.cache.backends.dummy."
		"DummyCache'}}",
		"{'default': {'BACKEND': 'django.core.cache.backends.locmem."
		"LocMemCache'}}",
		"{'default': {'BACKEND': 'django.core.cache.backends.memcached."
		"PyMemcacheCache', 'LOCATION': 'h:11211'}}",
		"{'default': {'BACKEND': 'django_redis.cache.RedisCache'}}",
		"{'default': {'BACKEND': 'django_redis.cache.RedisCache', "
		"'LOCATION': 'redis://h/0', 'KEY_FUNCTION': 'x.y'}}",
		"{'default': {'BACKEND': 'django_redis.cache.RedisCache', "
		"'LOCATION': 'redis://m/0', 'OPTIONS': {'CLIENT_CLASS': "
		"'django_redis.client.SentinelClient'}}}",
	};


	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct sredis_cache c;
		struct err e = ERR_INIT;

		assert_int_equal(parse(bad[i], &c, &e), -1);
		assert_int_equal(e.code, ERR_SESS_CONFIG);
		assert_non_null(e.msg);
		err_clear(&e);
		sredis_cache_release(&c);
	}
}

static void
test_sredis_session_key_names(void **state)
{
	const char *base = ":1:django.contrib.sessions.cache";
	size_t bl = strlen(base);
	const char *ok[] = {
		":1:django.contrib.sessions.cache0123456789abcdefghij01234567",
		":1:django.contrib.sessions.cacheabcdefgh",
	};
	const char *no[] = {
		":1:django.contrib.sessions.cached_dbabcdefgh12345678",
		":1:django.contrib.sessions.cacheabcdefg",
		":1:django.contrib.sessions.cacheABCDEFGH12345678",
		":2:django.contrib.sessions.cacheabcdefgh12345678",
		"x:1:django.contrib.sessions.cacheabcdefgh12345678",
	};

	(void)state;
	for (size_t i = 0; i < 2; i++)
		assert_true(sredis_is_session_key(ok[i], strlen(ok[i]), base,
						  bl));
	for (size_t i = 0; i < 5; i++)
		assert_false(sredis_is_session_key(no[i], strlen(no[i]), base,
						   bl));
}

static void
test_sredis_redirect_replies(void **state)
{
	char *host;
	int port, ask;

	(void)state;
	assert_int_equal(sredis_parse_redirect("MOVED 3999 127.0.0.1:6381",
					       &host, &port, &ask), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 6381);
	assert_false(ask);
	free(host);
	assert_int_equal(sredis_parse_redirect("ASK 16383 [::1]:7000", &host,
					       &port, &ask), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 7000);
	assert_true(ask);
	free(host);
	assert_int_equal(sredis_parse_redirect("MOVED 0 fe80::1:7001", &host,
					       &port, &ask), 0);
	assert_string_equal(host, "fe80::1");
	free(host);
	/* Redis 7: an unknown endpoint is empty: the node asked */
	assert_int_equal(sredis_parse_redirect("MOVED 12 :7002", &host, &port,
					       &ask), 0);
	assert_null(host);
	assert_int_equal(port, 7002);
	assert_int_equal(sredis_parse_redirect("MOVED 16384 h:1", &host,
					       &port, &ask), -1);
	assert_int_equal(sredis_parse_redirect("MOVED 1 h", &host, &port,
					       &ask), -1);
	assert_int_equal(sredis_parse_redirect("MOVED 1 h:0", &host, &port,
					       &ask), -1);
	assert_int_equal(sredis_parse_redirect("CROSSSLOT Keys in request "
					       "don't hash to the same slot",
					       &host, &port, &ask), -1);
	assert_int_equal(sredis_parse_redirect("ERR x", &host, &port, &ask),
			 -1);
}

static void
test_sredis_cluster_nodes_text(void **state)
{
	/* CLUSTER NODES of Redis 7.0: three masters (one failing, one
	 * without address, one migrating a slot), two replicas */
	static const char text[] =
		"c2260c16 127.0.0.1:27110@37110 master - 0 1795610958892 2 "
		"connected 5461-10922 [5461->-18876000]\n"
		"18876000 :29391@39391 myself,master - 0 0 3 connected "
		"10923-16383 [5461-<-c2260c16]\n"
		"12a961e1 10.0.0.9:31224@41224 master,fail - 0 0 1 "
		"disconnected 0-5460\n"
		"77777777 10.0.0.8:31225@41225 master,fail - 0 0 9 "
		"disconnected\n"
		"aaaaaaaa 127.0.0.1:27111@37111 slave c2260c16 0 0 2 "
		"connected\n"
		"bbbbbbbb [::1]:27112@37112,host.example slave 18876000 0 0 3 "
		"connected\n";
	struct sredis_server seed;
	struct strv m = STRV_INIT, f = STRV_INIT;
	struct err e = ERR_INIT;

	(void)state;
	url("redis://web:pw@seed.example:29391/0", &seed);
	assert_int_equal(sredis_cluster_masters(text, &seed, &m, &f, &e), 0);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.v[0], "redis://web:***@127.0.0.1:27110");
	/* an empty ip: the address the seed was reached at */
	assert_string_equal(m.v[1], "redis://web:***@seed.example:29391");
	assert_int_equal(f.n, 1); /* the failing master without slots: none */
	assert_string_equal(f.v[0], "redis://web:***@10.0.0.9:31224");
	strv_release(&m);
	strv_release(&f);
	assert_int_equal(sredis_cluster_masters("garbage\n", &seed, &m, &f,
						&e), -1);
	assert_int_equal(e.code, ERR_SESS_STORE);
	err_clear(&e);
	assert_int_equal(sredis_cluster_masters("a 1:2@3 slave b 0 0 1 "
						"connected\n", &seed, &m, &f,
						&e), -1);
	err_clear(&e);
	strv_release(&m);
	strv_release(&f);
	sredis_server_release(&seed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sredis_url_forms),
		cmocka_unit_test(test_sredis_django_redis_options),
		cmocka_unit_test(test_sredis_django_backend_options),
		cmocka_unit_test(test_sredis_refuses_what_it_cannot_manage),
		cmocka_unit_test(test_sredis_session_key_names),
		cmocka_unit_test(test_sredis_redirect_replies),
		cmocka_unit_test(test_sredis_cluster_nodes_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
