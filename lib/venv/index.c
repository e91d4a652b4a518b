/*
 * Package indexes: a wheelhouse directory or a PEP 503 simple index. The
 * HTML of a project page is read for <a href> only, like pip's parser;
 * libcurl is opened on first use (see lazycurl.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "fs.h"
#include "lazycrypto.h"
#include "lazycurl.h"
#include "venv/index.h"
#include "venv/pep508.h"
#include "xalloc.h"
#include "banned.h"

int
index_http_get(const char *url, size_t max, double timeout,
	       struct sbuf *out, long *status, struct err *e)
{
	struct lazycurl_sink sink = { out, max, 0 };
	CURL *c;
	CURLcode rc;

	if (lazycurl_bind(e) < 0)
		return -1;
	if (!(c = lazycurl.easy_init()))
		return err_set(e, ERR_IO, "cannot initialise libcurl");
	lazycurl.easy_setopt(c, CURLOPT_URL, url);
	lazycurl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	lazycurl.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR,
			     "http,https");
	lazycurl.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	lazycurl.easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	lazycurl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	lazycurl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			     (long)(timeout * 1000));
	lazycurl.easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
	lazycurl.easy_setopt(c, CURLOPT_USERAGENT, "owctl/" OWCTL_VERSION);
	lazycurl.easy_setopt(c, CURLOPT_WRITEFUNCTION,
			     lazycurl_keep);
	lazycurl.easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	rc = lazycurl.easy_perform(c);
	*status = 0;
	lazycurl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	lazycurl.easy_cleanup(c);
	if (sink.too_long)
		return err_set(e, ERR_IO, "'%s' is larger than %zu bytes",
			       url, max);
	if (rc != CURLE_OK)
		return err_set(e, ERR_IO, "cannot fetch '%s': %s", url,
			       lazycurl.easy_strerror(rc));
	return 0;
}

void
pkg_files_release(struct pkg_files *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		struct pkg_file *p = &f->v[i];

		free(p->filename);
		free(p->url);
		free(p->sha256);
		wheel_name_release(&p->wn);
		pep440_release(&p->v);
		free(p->requires_python);
	}
	free(f->v);
	memset(f, 0, sizeof(*f));
}

int
pkg_index_open(struct pkg_index *ix, const char *where, struct err *e)
{
	*ix = (struct pkg_index)PKG_INDEX_INIT;
	if (!strncasecmp(where, "http://", 7) ||
	    !strncasecmp(where, "https://", 8)) {
		ix->is_url = 1;
	} else if (strstr(where, "://")) {
		return err_set(e, ERR_USAGE, "index '%s': only http:// and "
			       "https:// URLs or a directory are supported",
			       where);
	} else if (!fs_is_dir(where)) {
		return err_set(e, ERR_USAGE, "index '%s' is not a directory",
			       where);
	}
	ix->where = xstrdup(where);
	return 0;
}

void
pkg_index_close(struct pkg_index *ix)
{
	if (!ix)
		return;
	free(ix->where);
	strv_release(&ix->entries);
	*ix = (struct pkg_index)PKG_INDEX_INIT;
}

/* Add filename (with its url) when it is a usable wheel of project. */
static void
add_file(struct pkg_files *out, const char *project, const char *filename,
	 const char *url, const char *sha256, const char *requires_python,
	 int yanked, int core_metadata)
{
	struct pkg_file f = { 0 };
	char *key = pep508_normalize_name(project);

	if (wheel_name_parse(&f.wn, filename) < 0) {
		/* sdists of the project count as skipped */
		size_t kl = strlen(key);
		char *fk = pep508_normalize_name(filename);

		if (!strncmp(fk, key, kl) && fk[kl] == '-')
			out->skipped++;
		free(fk);
		free(key);
		return;
	}
	if (strcmp(f.wn.key, key)) {
		wheel_name_release(&f.wn);
		free(key);
		return;
	}
	free(key);
	if (!wheel_name_pure_py3(&f.wn) ||
	    pep440_parse(&f.v, f.wn.version, NULL) < 0) {
		wheel_name_release(&f.wn);
		pep440_release(&f.v);
		out->skipped++;
		return;
	}
	f.filename = xstrdup(filename);
	f.url = xstrdup(url);
	f.sha256 = sha256 ? xstrdup(sha256) : NULL;
	f.requires_python = requires_python ? xstrdup(requires_python) : NULL;
	f.yanked = yanked;
	f.core_metadata = core_metadata;
	XGROW(out->v, out->alloc, out->n + 1);
	out->v[out->n++] = f;
}

static int
cmp_files(const void *a, const void *b)
{
	const struct pkg_file *x = a, *y = b;
	int c = pep440_cmp(&x->v, &y->v);

	return c ? c : strcmp(x->filename, y->filename);
}

/* HTML character references in attribute values. */
static void
html_unescape(const char *s, size_t n, struct sbuf *out)
{
	static const struct {
		const char *name;
		char c;
	} named[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' },
		{ "quot;", '"' }, { "apos;", '\'' },
	};

	for (size_t i = 0; i < n; i++) {
		size_t k;

		if (s[i] != '&') {
			sbuf_addch(out, s[i]);
			continue;
		}
		for (k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
			size_t l = strlen(named[k].name);

			if (i + 1 + l <= n && !strncmp(s + i + 1, named[k].name,
						      l)) {
				sbuf_addch(out, named[k].c);
				i += l;
				break;
			}
		}
		if (k < sizeof(named) / sizeof(named[0]))
			continue;
		if (i + 2 < n && s[i + 1] == '#') {
			char *end;
			int hex = s[i + 2] == 'x' || s[i + 2] == 'X';
			long v = strtol(s + i + 2 + hex, &end, hex ? 16 : 10);

			if (end > s + i + 2 + hex && end < s + n &&
			    *end == ';' &&
			    v > 0 && v < 0x80) {
				sbuf_addch(out, (char)v);
				i = (size_t)(end - s);
				continue;
			}
		}
		sbuf_addch(out, '&');
	}
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
percent_decode(const char *s, size_t n, struct sbuf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			sbuf_addch(out, (char)(hexval(s[i + 1]) * 16 +
					       hexval(s[i + 2])));
			i += 2;
		} else {
			sbuf_addch(out, s[i]);
		}
	}
}

/* Remove "." and ".." segments from an absolute path (RFC 3986 5.2.4). */
static void
remove_dots(const char *path, struct sbuf *out)
{
	struct strv segs = STRV_INIT;
	const char *p = path + (*path == '/');
	int dir = 0;

	for (;;) {
		size_t n = strcspn(p, "/");
		int last = p[n] == '\0';

		if ((n == 1 && p[0] == '.') || n == 0) {
			dir = last;
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (segs.n)
				free(segs.v[--segs.n]);
			dir = last;
		} else {
			strv_push_nodup(&segs, xstrndup(p, n));
			dir = 0;
		}
		if (last)
			break;
		p += n + 1;
	}
	for (size_t i = 0; i < segs.n; i++)
		sbuf_addf(out, "/%s", segs.v[i]);
	if (dir || !segs.n)
		sbuf_addch(out, '/');
	strv_release(&segs);
}

/* Resolve ref against the absolute URL base (no fragment in result). */
static char *
resolve_url(const char *base, const char *ref)
{
	struct sbuf sb = SBUF_INIT, path = SBUF_INIT;
	const char *colon = strchr(ref, ':'), *p, *auth_end;
	size_t schemelen = (size_t)(strchr(base, ':') - base);
	int has_scheme = colon && colon > ref;

	for (p = ref; has_scheme && p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (p > ref && ((*p >= '0' && *p <= '9') || *p == '+' ||
				   *p == '-' || *p == '.'))))
			has_scheme = 0;
	if (has_scheme) {
		sbuf_adds(&sb, ref);
	} else if (ref[0] == '/' && ref[1] == '/') {
		sbuf_add(&sb, base, schemelen + 1);
		sbuf_adds(&sb, ref);
	} else {
		/* scheme://authority */
		auth_end = base + schemelen + 3;
		auth_end += strcspn(auth_end, "/?#");
		sbuf_add(&sb, base, (size_t)(auth_end - base));
		if (ref[0] == '/') {
			sbuf_adds(&path, ref);
		} else {
			size_t dir = strcspn(auth_end, "?#");
			const char *last;

			sbuf_add(&path, auth_end, dir);
			last = strrchr(path.buf, '/');
			sbuf_setlen(&path, last ? (size_t)(last - path.buf) + 1
					       : 0);
			if (!path.len)
				sbuf_addch(&path, '/');
			sbuf_adds(&path, ref);
		}
		{
			size_t q = strcspn(path.buf, "?#");
			char *rest = xstrdup(path.buf + q);

			sbuf_setlen(&path, q);
			remove_dots(path.buf, &sb);
			sbuf_adds(&sb, rest);
			free(rest);
		}
	}
	sbuf_release(&path);
	/* drop the fragment */
	sbuf_setlen(&sb, strcspn(sb.buf, "#"));
	return sbuf_detach(&sb, NULL);
}

/* Value of attribute name in the tag text [s, end), or NULL. */
static char *
attr(const char *s, const char *end, const char *name, int *present)
{
	size_t nl = strlen(name);
	const char *p = s;

	*present = 0;
	while (p < end) {
		const char *n0;
		size_t n;

		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
				   *p == '\r' || *p == '\f' || *p == '/'))
			p++;
		n0 = p;
		while (p < end && *p != '=' && *p != ' ' && *p != '\t' &&
		       *p != '\n' && *p != '\r' && *p != '\f' && *p != '/')
			p++;
		n = (size_t)(p - n0);
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
				   *p == '\r'))
			p++;
		if (p < end && *p == '=') {
			const char *v0, *v1;
			struct sbuf val = SBUF_INIT;

			p++;
			while (p < end && (*p == ' ' || *p == '\t' ||
					   *p == '\n' || *p == '\r'))
				p++;
			if (p < end && (*p == '"' || *p == '\'')) {
				char q = *p++;

				v0 = p;
				while (p < end && *p != q)
					p++;
				v1 = p;
				if (p < end)
					p++;
			} else {
				v0 = p;
				while (p < end && *p != ' ' && *p != '\t' &&
				       *p != '\n' && *p != '\r')
					p++;
				v1 = p;
			}
			if (n == nl && !strncasecmp(n0, name, nl)) {
				*present = 1;
				html_unescape(v0, (size_t)(v1 - v0), &val);
				return sbuf_detach(&val, NULL);
			}
		} else if (n == nl && !strncasecmp(n0, name, nl)) {
			*present = 1;
			return NULL;
		} else if (!n) {
			p++;
		}
	}
	return NULL;
}

void
pkg_index_parse_page(const char *html, const char *page_url,
		     const char *project, struct pkg_files *out)
{
	const char *p = html;

	while ((p = strchr(p, '<'))) {
		const char *tag = p + 1, *end;
		char *href, *rp, *core, *dim, *url, *frag;
		struct sbuf fname = SBUF_INIT;
		int present, yanked, has_core, has_dim;
		size_t plen;

		p++;
		if (strncasecmp(tag, "a", 1) || !strchr(" \t\n\r\f>", tag[1]))
			continue;
		end = strchr(tag, '>');
		if (!end)
			break;
		href = attr(tag + 1, end, "href", &present);
		rp = attr(tag + 1, end, "data-requires-python", &present);
		free(attr(tag + 1, end, "data-yanked", &yanked));
		core = attr(tag + 1, end, "data-core-metadata", &has_core);
		dim = attr(tag + 1, end, "data-dist-info-metadata", &has_dim);
		p = end + 1;
		if (!href) {
			free(rp);
			free(core);
			free(dim);
			continue;
		}
		frag = strchr(href, '#');
		plen = strcspn(href, "?#");
		{
			const char *slash = href + plen;

			while (slash > href && slash[-1] != '/')
				slash--;
			percent_decode(slash, (size_t)(href + plen - slash),
				       &fname);
		}
		url = resolve_url(page_url, href);
		add_file(out, project, fname.buf, url,
			 frag && !strncmp(frag, "#sha256=", 8) ? frag + 8
								   : NULL,
			 rp, yanked,
			 (has_core && (!core || strcmp(core, "false"))) ||
			 (has_dim && (!dim || strcmp(dim, "false"))));
		free(url);
		free(href);
		free(rp);
		free(core);
		free(dim);
		sbuf_release(&fname);
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_files);
}

static int
list_dir(struct pkg_index *ix, struct err *e)
{
	struct dirent *de;
	DIR *d;

	if (ix->listed)
		return 0;
	d = opendir(ix->where);
	if (!d)
		return err_errno(e, ERR_IO, errno, "cannot list '%s'",
				 ix->where);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			strv_push(&ix->entries, de->d_name);
	closedir(d);
	strv_sort(&ix->entries);
	ix->listed = 1;
	return 0;
}

int
pkg_index_files(struct pkg_index *ix, const char *project,
		struct pkg_files *out, struct err *e)
{
	struct sbuf url = SBUF_INIT, page = SBUF_INIT;
	char *key;
	long status = 0;
	int ret = -1;

	if (!ix->is_url) {
		if (list_dir(ix, e) < 0)
			return -1;
		for (size_t i = 0; i < ix->entries.n; i++) {
			struct sbuf path = SBUF_INIT;

			sbuf_addf(&path, "%s/%s", ix->where, ix->entries.v[i]);
			add_file(out, project, ix->entries.v[i], path.buf,
				 NULL, NULL, 0, 0);
			sbuf_release(&path);
		}
		if (out->n > 1)
			qsort(out->v, out->n, sizeof(*out->v), cmp_files);
		return 0;
	}
	key = pep508_normalize_name(project);
	sbuf_adds(&url, ix->where);
	while (url.len && url.buf[url.len - 1] == '/')
		sbuf_setlen(&url, url.len - 1);
	sbuf_addf(&url, "/%s/", key);
	if (index_http_get(url.buf, INDEX_MAX_PAGE, ix->timeout, &page, &status,
			   e) < 0)
		goto out;
	if (status == 404) {
		ret = 0;
		goto out;
	}
	if (status < 200 || status > 299) {
		err_set(e, ERR_IO, "cannot fetch '%s': HTTP status %ld",
			url.buf, status);
		goto out;
	}
	if (memchr(page.buf, '\0', page.len)) {
		err_set(e, ERR_IO, "'%s' is not an HTML page", url.buf);
		goto out;
	}
	pkg_index_parse_page(page.buf, url.buf, project, out);
	ret = 0;
out:
	free(key);
	sbuf_release(&url);
	sbuf_release(&page);
	return ret;
}

static int
check_sha256(const struct pkg_file *f, const struct sbuf *data,
	     struct err *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (!f->sha256)
		return 0;
	if (lazycrypto_bind(e) < 0)
		return -1;
	if (!lazycrypto.digest(data->buf, data->len, md, &mdlen,
			       lazycrypto.sha256(), NULL))
		return err_set(e, ERR_FAIL, "cannot compute SHA-256");
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (strcasecmp(hex, f->sha256))
		return err_set(e, ERR_IO, "'%s' does not match its sha256 "
			       "'%s' from the index", f->url, f->sha256);
	return 0;
}

static int
fetch(struct pkg_index *ix, const char *url, size_t max, struct sbuf *out,
      struct err *e)
{
	long status = 0;

	if (index_http_get(url, max, ix->timeout, out, &status, e) < 0)
		return -1;
	if (status < 200 || status > 299)
		return err_set(e, ERR_IO, "cannot fetch '%s': HTTP status %ld",
			       url, status);
	return 0;
}

int
pkg_index_dist(struct pkg_index *ix, const struct pkg_file *f,
	       struct dist *d, struct err *e)
{
	struct sbuf data = SBUF_INIT, meta = SBUF_INIT, top = SBUF_INIT;
	int ret = -1;

	if (ix->is_url && f->core_metadata) {
		struct sbuf url = SBUF_INIT;

		sbuf_addf(&url, "%s.metadata", f->url);
		ret = fetch(ix, url.buf, 8u << 20, &meta, e);
		sbuf_release(&url);
		if (ret == 0)
			ret = dist_from_metadata(d, meta.buf, meta.len, NULL,
						 e);
		goto out;
	}
	if (ix->is_url) {
		if (fetch(ix, f->url, INDEX_MAX_WHEEL, &data, e) < 0 ||
		    check_sha256(f, &data, e) < 0)
			goto out;
	} else if (fs_read_file(f->url, INDEX_MAX_WHEEL, &data, e) < 0) {
		goto out;
	}
	if (wheel_metadata(data.buf, data.len, f->filename, &meta, &top, e) < 0)
		goto out;
	ret = dist_from_metadata(d, meta.buf, meta.len, top.len ? top.buf :
				 NULL, e);
out:
	sbuf_release(&data);
	sbuf_release(&meta);
	sbuf_release(&top);
	return ret;
}
