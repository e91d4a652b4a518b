/*
 * One HTTP request to a running OMERO.web, to prove it answers: libcurl,
 * opened on first use (lazylib), no proxy, no redirects followed.
 */
#ifndef OWCTL_HEALTH_H
#define OWCTL_HEALTH_H

#include <stddef.h>

#include "err.h"
#include "sbuf.h"

struct http_probe {
	long status;		/* HTTP status; 0 when nothing answered */
	double seconds;		/* how long the request took */
	char error[256];	/* why nothing answered ("" otherwise) */
};

/*
 * GET url once, waiting at most timeout seconds. With unix_socket (may be
 * NULL) the connection goes to that socket; url then only names the path
 * and Host. Returns 0 when an HTTP answer came back (any status), 1 when
 * none did (p->error says why, e.g. "Couldn't connect to server"), -1
 * when libcurl cannot be loaded (e says which package to install).
 */
int http_probe(const char *url, const char *unix_socket, double timeout,
	       struct http_probe *p, struct err *e);

/*
 * Like http_probe, and the answer's body appended to body, at most max
 * bytes (0: 1 MiB); a longer body counts as no answer ("answer longer
 * than N bytes").
 */
int http_get(const char *url, const char *unix_socket, double timeout,
	     size_t max, struct http_probe *p, struct sbuf *body,
	     struct err *e);

/* Is status an answer from the application itself (2xx-4xx)? A 5xx means
 * the app (or gunicorn) failed. */
int http_status_healthy(long status);

#endif
