/*
 * Fuzz the omero.web.caches / Redis URL parser (lib/sessions/sredis) and
 * the Redis Cluster reply parsers. The first byte picks the mode: a raw
 * URL, CACHES as JSON, a URL built from fuzzed parts (whose fields must
 * come back, and whose password must never show), or CLUSTER NODES text
 * and MOVED/ASK replies.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pyjson.h"
#include "sessions/sredis.h"
#include "fuzz-util.h"
#include "banned.h"

#define MAX_DB 1000000

static void
init_server(struct sredis_server *srv)
{
	memset(srv, 0, sizeof(*srv));
	srv->port = 6379;
	srv->tls_verify = 2;
	srv->timeout = 10.0;
}

/* No "password" query argument's value shows (parse_qs's items). */
static void
check_shown(const char *shown, const char *what)
{
	const char *q = shown + strcspn(shown, "?#"), *end;

	if (*q != '?')	/* no query: a '?' after '#' is the fragment's */
		return;
	end = q + strcspn(q, "#");
	for (const char *p = q + 1; p < end;) {
		size_t len = strcspn(p, "&#");

		if (len > 9 && !strncmp(p, "password=", 9))
			FUZZ_CHECK(len == 12 && !strncmp(p + 9, "***", 3),
				   "%s: password shown in '%s'", what, shown);
		p += len + 1;
	}
}

/* What holds for every server the parser accepts. */
static void
check_server(const struct sredis_server *srv, const char *what)
{
	FUZZ_CHECK(srv->shown != NULL, "%s: no shown name", what);
	FUZZ_CHECK(srv->db >= 0 && srv->db <= MAX_DB, "%s: db %d", what,
		   srv->db);
	FUZZ_CHECK(srv->tls_verify >= 0 && srv->tls_verify <= 2,
		   "%s: tls_verify %d", what, srv->tls_verify);
	FUZZ_CHECK(srv->timeout > 0, "%s: timeout", what);
	if (srv->unix_socket) {
		FUZZ_CHECK(srv->path && *srv->path, "%s: no socket", what);
	} else {
		FUZZ_CHECK(srv->host != NULL, "%s: no host", what);
		FUZZ_CHECK(srv->port > 0 && srv->port <= 65535,
			   "%s: port %d", what, srv->port);
	}
	check_shown(srv->shown, what);
}

static void
raw_url(const uint8_t *data, size_t size)
{
	struct sredis_server srv;
	struct err e = ERR_INIT;
	char *url = fuzz_cstr(data, size);

	init_server(&srv);
	if (sredis_parse_url(url, &srv, &e) == 0)
		check_server(&srv, url);
	else
		FUZZ_CHECK(e.code == ERR_SESS_CONFIG && e.msg, "%s", url);
	err_clear(&e);
	sredis_server_release(&srv);
	free(url);
}

/* Keys built from the cache are matched by its own SCAN pattern. */
static void
check_keys(const struct sredis_cache *c)
{
	struct sbuf base = SBUF_INIT, glob = SBUF_INIT, key = SBUF_INIT;
	const char *kinds[] = { SREDIS_KIND_CACHE, SREDIS_KIND_CACHED_DB };

	for (size_t k = 0; k < 2; k++) {
		sbuf_reset(&base);
		sbuf_reset(&glob);
		sbuf_reset(&key);
		sredis_key_base(c, kinds[k], &base);
		FUZZ_CHECK(!strncmp(base.buf, c->key_prefix,
				    strlen(c->key_prefix)), "prefix");
		sbuf_addf(&key, "%s%s", base.buf, "abcdefgh0123");
		FUZZ_CHECK(sredis_is_session_key(key.buf, key.len, base.buf,
						 base.len), "own key refused");
		sbuf_addch(&key, 'X');
		FUZZ_CHECK(!sredis_is_session_key(key.buf, key.len, base.buf,
						  base.len), "bad key taken");
		/* unescaping the glob gives the base back */
		sredis_glob_escape(base.buf, &glob);
		sbuf_reset(&key);
		for (const char *p = glob.buf; *p; p++) {
			if (*p == '\\') {
				p++;
				FUZZ_CHECK(*p && strchr("*?[]\\", *p),
					   "stray escape in '%s'", glob.buf);
			} else {
				FUZZ_CHECK(!strchr("*?[]", *p),
					   "unescaped glob in '%s'", glob.buf);
			}
			sbuf_addch(&key, *p);
		}
		FUZZ_CHECK(!strcmp(key.buf, base.buf), "glob round trip");
	}
	sbuf_release(&base);
	sbuf_release(&glob);
	sbuf_release(&key);
}

static void
caches_json(const uint8_t *data, size_t size)
{
	struct err e = ERR_INIT;
	struct sredis_cache c;
	json_t *v = pyjson_loads((const char *)data, size, &e);

	if (!v) {
		err_clear(&e);
		return;
	}
	if (sredis_parse_cache(v, "default", &c, &e) == 0) {
		FUZZ_CHECK(c.nservers >= 1, "no server");
		FUZZ_CHECK(c.key_prefix && c.version, "prefix/version");
		for (size_t i = 0; i < c.nservers; i++)
			check_server(&c.servers[i], "caches");
		check_keys(&c);
	} else {
		FUZZ_CHECK(e.msg != NULL, "error without a message");
	}
	err_clear(&e);
	sredis_cache_release(&c);
	json_decref(v);
}

static void
make_url(struct sbuf *url, unsigned flags, const char *pw, const char *host,
	 unsigned port, uint32_t db)
{
	sbuf_adds(url, flags & 1 ? "rediss://" : "redis://");
	if (flags & 2)
		sbuf_adds(url, "web");
	if (!(flags & 4) && *pw)
		sbuf_addf(url, ":%s", pw);
	if ((flags & 2) || (!(flags & 4) && *pw))
		sbuf_addch(url, '@');
	sbuf_adds(url, host);
	if (port)
		sbuf_addf(url, ":%u", port);
	if (flags & 8)
		sbuf_addf(url, "/?db=%u", (unsigned)db);
	else
		sbuf_addf(url, "/%u", (unsigned)db);
	if ((flags & 4) && *pw)
		sbuf_addf(url, "%cpassword=%s", flags & 8 ? '&' : '?', pw);
}

/*
 * A URL from parts: b[0..1] port, b[2..5] db, b[6] flags (1 rediss, 2 a
 * user, 4 the password in the query, 8 the db in the query), then the
 * password (any bytes but NUL, every byte %-encoded; twice in the
 * query, which redis-py decodes twice), '\n', the host
 * (kept: [a-z0-9.-]).
 */
static void
built_url(const uint8_t *data, size_t size)
{
	struct sbuf url = SBUF_INIT, enc = SBUF_INIT, pw = SBUF_INIT;
	struct sbuf host = SBUF_INIT, want = SBUF_INIT;
	struct sredis_server srv;
	struct err e = ERR_INIT;
	unsigned port, flags;
	uint32_t db;
	size_t i;
	int r;

	if (size < 7)
		return;
	port = (unsigned)data[0] << 8 | data[1];
	db = (uint32_t)data[2] << 24 | (uint32_t)data[3] << 16 |
	     (uint32_t)data[4] << 8 | data[5];
	db %= 2 * MAX_DB;
	flags = data[6];
	for (i = 7; i < size && data[i] != '\n'; i++)
		if (data[i])
			sbuf_addch(&pw, (char)data[i]);
	for (i++; i < size; i++)
		if ((data[i] >= 'a' && data[i] <= 'z') ||
		    (data[i] >= '0' && data[i] <= '9') || data[i] == '.' ||
		    data[i] == '-')
			sbuf_addch(&host, (char)data[i]);
	/* the query is decoded twice (parse_qs, then unquote): its
	 * password is encoded twice */
	for (i = 0; i < pw.len; i++)
		sbuf_addf(&enc, (flags & 4) ? "%%25%02X" : "%%%02X",
			  (unsigned char)pw.buf[i]);
	make_url(&url, flags, pw.len ? enc.buf : "", host.buf, port, db);
	make_url(&want, flags, pw.len ? "***" : "", host.buf, port, db);
	init_server(&srv);
	r = sredis_parse_url(url.buf, &srv, &e);
	if (db > MAX_DB) {
		FUZZ_CHECK(r == -1, "db %u taken in %s", (unsigned)db,
			   url.buf);
		goto out;
	}
	FUZZ_CHECK(r == 0, "%s: %s", url.buf, e.msg);
	check_server(&srv, url.buf);
	/* shown is the URL with "***" for the password, wherever it is */
	FUZZ_CHECK(!strcmp(srv.shown, want.buf), "shown '%s' for '%s'",
		   srv.shown, url.buf);
	FUZZ_CHECK(srv.db == (int)db, "db %d, not %u", srv.db,
		   (unsigned)db);
	FUZZ_CHECK(srv.port == (port ? (int)port : 6379), "port %d",
		   srv.port);
	FUZZ_CHECK(srv.tls == (flags & 1), "tls");
	FUZZ_CHECK(!strcmp(srv.host, host.len ? host.buf : "localhost"),
		   "host '%s' in %s", srv.host, url.buf);
	FUZZ_CHECK((flags & 2) ? srv.username &&
		   !strcmp(srv.username, "web") : !srv.username, "user");
	if (pw.len) {
		FUZZ_CHECK(srv.password && !strcmp(srv.password, pw.buf),
			   "password does not come back from %s", url.buf);
	} else {
		FUZZ_CHECK(!srv.password, "a password from nowhere");
	}
out:
	err_clear(&e);
	sredis_server_release(&srv);
	sbuf_release(&url);
	sbuf_release(&want);
	sbuf_release(&enc);
	sbuf_release(&pw);
	sbuf_release(&host);
}

static void
cluster_text(const uint8_t *data, size_t size)
{
	struct sredis_server seed;
	struct strv m = STRV_INIT, f = STRV_INIT;
	struct err e = ERR_INIT;
	char *text = fuzz_cstr(data, size), *host;
	int port, ask;

	if (sredis_parse_redirect(text, &host, &port, &ask) == 0) {
		FUZZ_CHECK(port > 0 && port <= 65535, "redirect port %d", port);
		FUZZ_CHECK(ask == 0 || ask == 1, "ask");
		FUZZ_CHECK(!strncmp(text, ask ? "ASK " : "MOVED ",
				    ask ? 4 : 6), "not a redirect");
		free(host);
	}
	init_server(&seed);
	seed.host = xstrdup("seed.example");
	seed.password = xstrdup("pw");
	seed.shown = xstrdup("redis://:***@seed.example:7000/0");
	if (sredis_cluster_masters(text, &seed, &m, &f, &e) == 0) {
		FUZZ_CHECK(m.n + f.n >= 1 || strstr(text, "master"),
			   "masters from nowhere");
		for (size_t i = 0; i < m.n; i++)
			FUZZ_CHECK(!strncmp(m.v[i], "redis://:***@", 13),
				   "master '%s'", m.v[i]);
	} else {
		FUZZ_CHECK(e.code == ERR_SESS_STORE && e.msg, "error");
	}
	err_clear(&e);
	strv_release(&m);
	strv_release(&f);
	sredis_server_release(&seed);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	switch (data[0] & 3) {
	case 0:
		raw_url(data + 1, size - 1);
		break;
	case 1:
		caches_json(data + 1, size - 1);
		break;
	case 2:
		built_url(data + 1, size - 1);
		break;
	default:
		cluster_text(data + 1, size - 1);
		break;
	}
	return 0;
}
