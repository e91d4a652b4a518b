/* libcurl bound on first use, and body sinks (see lazycurl.h). */
#include "lazycurl.h"
#include "lazylib.h"
#include "banned.h"

struct lazycurl lazycurl;

int
lazycurl_bind(struct err *e)
{
	static const char *const libs[] = { "libcurl.so.4",
					    "libcurl-gnutls.so.4", NULL };
	const struct lazy_sym syms[] = {
		LAZY_SYM("curl_easy_init", lazycurl.easy_init),
		LAZY_SYM("curl_easy_setopt", lazycurl.easy_setopt),
		LAZY_SYM("curl_easy_perform", lazycurl.easy_perform),
		LAZY_SYM("curl_easy_getinfo", lazycurl.easy_getinfo),
		LAZY_SYM("curl_easy_cleanup", lazycurl.easy_cleanup),
		LAZY_SYM("curl_easy_strerror", lazycurl.easy_strerror),
		{ NULL, NULL }
	};

	return lazylib_bind(libs, "libcurl4", syms, e);
}

size_t
lazycurl_keep(char *ptr, size_t size, size_t nmemb, void *sink)
{
	struct lazycurl_sink *k = sink;
	size_t n = size * nmemb;

	if (k->body->len + n > k->max) {
		k->too_long = 1;
		return 0;	/* curl stops with CURLE_WRITE_ERROR */
	}
	sbuf_add(k->body, ptr, n);
	return n;
}

size_t
lazycurl_discard(char *ptr, size_t size, size_t nmemb, void *unused)
{
	(void)ptr;
	(void)unused;
	return size * nmemb;
}
