/*
 * HTTP health probe over libcurl (see health.h), opened on first use
 * (lazycurl.h), so owctl does not link libcurl for every command.
 */
#include <stdio.h>
#include <string.h>

#include "fs.h"
#include "lazycurl.h"
#include "web/health.h"
#include "banned.h"

static int
request(const char *url, const char *unix_socket, double timeout,
	struct lazycurl_sink *k, struct http_probe *p, struct err *e)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	long ms = timeout > 0 ? (long)(timeout * 1000) : 1000;
	double t0;
	CURLcode rc;
	CURL *c;

	memset(p, 0, sizeof(*p));
	if (lazycurl_bind(e) < 0)
		return -1;
	c = lazycurl.easy_init();
	if (!c)
		return err_set(e, ERR_FAIL, "curl_easy_init failed");
	if (ms < 1)
		ms = 1;
	lazycurl.easy_setopt(c, CURLOPT_URL, url);
	lazycurl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	lazycurl.easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
	lazycurl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
	lazycurl.easy_setopt(c, CURLOPT_NOPROXY, "*");
	lazycurl.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	lazycurl.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (k) {
		lazycurl.easy_setopt(c, CURLOPT_WRITEFUNCTION, lazycurl_keep);
		lazycurl.easy_setopt(c, CURLOPT_WRITEDATA, k);
	} else {
		lazycurl.easy_setopt(c, CURLOPT_WRITEFUNCTION,
				     lazycurl_discard);
	}
	lazycurl.easy_setopt(c, CURLOPT_USERAGENT, "owctl-health/1");
	lazycurl.easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	lazycurl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	if (unix_socket)
		lazycurl.easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, unix_socket);
	t0 = fs_now();
	rc = lazycurl.easy_perform(c);
	p->seconds = fs_now() - t0;
	if (rc == CURLE_OK) {
		lazycurl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &p->status);
	} else if (k && k->too_long) {
		snprintf(p->error, sizeof(p->error), "answer longer than %zu "
			 "bytes", k->max);
	} else {
		snprintf(p->error, sizeof(p->error), "%s", *errbuf ? errbuf :
			 lazycurl.easy_strerror(rc));
	}
	lazycurl.easy_cleanup(c);
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
	struct lazycurl_sink k = { body, max ? max : 1u << 20, 0 };

	return request(url, unix_socket, timeout, &k, p, e);
}

int
http_status_healthy(long status)
{
	return status >= 200 && status < 500;
}
