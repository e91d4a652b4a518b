/*
 * libcurl's easy interface, opened on first use with lazylib (linking it
 * would cost every owctl start ~12 ms), and a bounded in-memory body sink.
 * curl.h supplies the types and constants only.
 */
#ifndef OWCTL_LAZYCURL_H
#define OWCTL_LAZYCURL_H

#include <stddef.h>

#include <curl/curl.h>

#include "err.h"
#include "sbuf.h"

struct lazycurl {
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
};

/* The bound functions; valid after lazycurl_bind() returned 0. */
extern struct lazycurl lazycurl;

/* Open libcurl (Debian's libcurl4) once; ERR_FAIL naming the package. */
int lazycurl_bind(struct err *e);

/*
 * A CURLOPT_WRITEFUNCTION that appends to body (CURLOPT_WRITEDATA is a
 * struct lazycurl_sink) and aborts the transfer, setting too_long, once
 * the body would exceed max bytes.
 */
struct lazycurl_sink {
	struct sbuf *body;
	size_t max;
	int too_long;
};
size_t lazycurl_keep(char *ptr, size_t size, size_t nmemb, void *sink);

/* A CURLOPT_WRITEFUNCTION that throws the body away. */
size_t lazycurl_discard(char *ptr, size_t size, size_t nmemb, void *unused);

#endif
