/*
 * HTTP health probe over libcurl (see health.h). curl.h is used for its
 * types and constants only; the functions come from lazylib_bind, so
 * owctl does not link libcurl (and its ~30 libraries) for every command.
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "fs.h"
#include "lazylib.h"
#include "web/health.h"
#include "banned.h"

static struct {
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
} cu;

static int
bind_curl(struct err *e)
{
	static const char *const libs[] = { "libcurl.so.4",
					    "libcurl-gnutls.so.4", NULL };
	const struct lazy_sym syms[] = {
		LAZY_SYM("curl_easy_init", cu.easy_init),
		LAZY_SYM("curl_easy_setopt", cu.easy_setopt),
		LAZY_SYM("curl_easy_perform", cu.easy_perform),
		LAZY_SYM("curl_easy_getinfo", cu.easy_getinfo),
		LAZY_SYM("curl_easy_cleanup", cu.easy_cleanup),
		LAZY_SYM("curl_easy_strerror", cu.easy_strerror),
		{ NULL, NULL }
	};

	return lazylib_bind(libs, "libcurl4", syms, e);
}

/* The body is not needed, only that it arrived. */
static size_t
discard(char *ptr, size_t size, size_t nmemb, void *data)
{
	(void)ptr;
	(void)data;
	return size * nmemb;
}

struct sink {
	struct sbuf *body;
	size_t max;
	int too_long;
};

static size_t
keep(char *ptr, size_t size, size_t nmemb, void *data)
{
	struct sink *k = data;
	size_t n = size * nmemb;

	if (k->body->len + n > k->max) {
		k->too_long = 1;
		return 0;	/* aborts the transfer */
	}
	sbuf_add(k->body, ptr, n);
	return n;
}

static int
request(const char *url, const char *unix_socket, double timeout,
	struct sink *k, struct http_probe *p, struct err *e)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	long ms = timeout > 0 ? (long)(timeout * 1000) : 1000;
	double t0;
	CURLcode rc;
	CURL *c;

	memset(p, 0, sizeof(*p));
	if (bind_curl(e) < 0)
		return -1;
	c = cu.easy_init();
	if (!c)
		return err_set(e, ERR_FAIL, "curl_easy_init failed");
	if (ms < 1)
		ms = 1;
	cu.easy_setopt(c, CURLOPT_URL, url);
	cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
	cu.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
	cu.easy_setopt(c, CURLOPT_NOPROXY, "*");
	cu.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	cu.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (k) {
		cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
		cu.easy_setopt(c, CURLOPT_WRITEDATA, k);
	} else {
		cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	}
	cu.easy_setopt(c, CURLOPT_USERAGENT, "owctl-health/1");
	cu.easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	cu.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	if (unix_socket)
		cu.easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, unix_socket);
	t0 = fs_now();
	rc = cu.easy_perform(c);
	p->seconds = fs_now() - t0;
	if (rc == CURLE_OK) {
		cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &p->status);
	} else if (k && k->too_long) {
		snprintf(p->error, sizeof(p->error), "answer longer than %zu "
			 "bytes", k->max);
	} else {
		snprintf(p->error, sizeof(p->error), "%s", *errbuf ? errbuf :
			 cu.easy_strerror(rc));
	}
	cu.easy_cleanup(c);
	return rc == CURLE_OK ? 0 : 1;
}

int
http_probe(const char *url, const char *unix_socket, double timeout,
	   struct http_probe *p, struct err *e)
{
	return request(url, unix_socket, timeout, NULL, p, e);
}

int
http_get(const char *url, const char *unix_socket, double timeout,
	 size_t max, struct http_probe *p, struct sbuf *body, struct err *e)
{
	struct sink k = { body, max ? max : 1u << 20, 0 };

	return request(url, unix_socket, timeout, &k, p, e);
}

int
http_status_healthy(long status)
{
	return status >= 200 && status < 500;
}
