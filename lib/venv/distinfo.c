/*
 * Distribution metadata without Python. The METADATA reader follows
 * email.feedparser (compat32) and importlib.metadata 3.11 (_adapters.Message
 * re-indentation, Distribution.requires, packages_distributions) so that
 * owctl and pip see the same names, versions and requirements.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "venv/distinfo.h"
#include "venv/pep508.h"
#include "xalloc.h"
#include "banned.h"

/*
 * Python's strict UTF-8 decoder: no overlong forms, no surrogates, nothing
 * above U+10FFFF. NUL is refused too (C strings cannot carry it).
 */
static int
utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n;
		unsigned cp;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += n + 1;
	}
	return 1;
}

/* Text-mode reading: \r\n and lone \r become \n. */
static void
translate_newlines(const char *s, size_t len, struct sbuf *out)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r') {
			sbuf_addch(out, '\n');
			if (i + 1 < len && s[i + 1] == '\n')
				i++;
		} else {
			sbuf_addch(out, s[i]);
		}
	}
}

/* feedparser's headerRE: ^(From |[\041-\071\073-\176]*:|[\t ]) */
static int
header_line(const char *l)
{
	const char *p = l;

	if (!strncmp(l, "From ", 5) || *l == '\t' || *l == ' ')
		return 1;
	while ((*p >= 0x21 && *p <= 0x39) || (*p >= 0x3b && *p <= 0x7e))
		p++;
	return *p == ':';
}

static int
blank_or_tab_line(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

/*
 * textwrap.dedent(' ' * 8 + value), as importlib.metadata's redent() does
 * for values that span lines.
 */
static char *
redent(const char *value)
{
	struct sbuf raw = SBUF_INIT, text = SBUF_INIT, out = SBUF_INIT;
	const char *margin = NULL, *p;
	size_t mlen = 0;

	if (!*value || !strchr(value, '\n'))
		return xstrdup(value);
	sbuf_addf(&raw, "        %s", value);
	/* lines made only of spaces and tabs become empty */
	for (p = raw.buf;;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (!blank_or_tab_line(p, n))
			sbuf_add(&text, p, n);
		if (!nl)
			break;
		sbuf_addch(&text, '\n');
		p = nl + 1;
	}
	sbuf_release(&raw);
	/* the common leading [ \t]* of the lines that have something else */
	for (p = text.buf;;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p), ind = 0;

		while (ind < n && (p[ind] == ' ' || p[ind] == '\t'))
			ind++;
		if (ind < n) {
			if (!margin) {
				margin = p;
				mlen = ind;
			} else {
				size_t k = 0;

				while (k < mlen && k < ind && margin[k] == p[k])
					k++;
				mlen = k;
			}
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	for (p = text.buf;;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (margin && mlen && n >= mlen && !strncmp(p, margin, mlen)) {
			p += mlen;
			n -= mlen;
		}
		sbuf_add(&out, p, n);
		if (!nl)
			break;
		sbuf_addch(&out, '\n');
		p = nl + 1;
	}
	sbuf_release(&text);
	return sbuf_detach(&out, NULL);
}

/* compat32 header_source_parse() + importlib's redent(), then store */
static void
flush_header(struct dist_meta *m, struct strv *lines)
{
	const char *first = lines->v[0], *colon = strchr(first, ':');
	struct sbuf v = SBUF_INIT;
	const char *rest = colon + 1;

	while (*rest == ' ' || *rest == '\t')
		rest++;
	sbuf_adds(&v, rest);
	for (size_t i = 1; i < lines->n; i++)
		sbuf_adds(&v, lines->v[i]);
	while (v.len && (v.buf[v.len - 1] == '\n' || v.buf[v.len - 1] == '\r'))
		sbuf_setlen(&v, v.len - 1);
	strv_push_nodup(&m->names, xstrndup(first, (size_t)(colon - first)));
	strv_push_nodup(&m->values, redent(v.buf));
	sbuf_release(&v);
	strv_release(lines);
}

int
dist_meta_parse(struct dist_meta *m, const char *text, size_t len,
		struct err *e)
{
	struct sbuf t = SBUF_INIT;
	struct strv headers = STRV_INIT, cur = STRV_INIT;
	const char *p;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (!utf8_valid((const unsigned char *)text, len))
		return err_set(e, ERR_BADVALUE, "metadata is not valid UTF-8");
	translate_newlines(text, len, &t);
	/* the header block: lines up to one that is not a header line */
	for (p = t.buf; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);

		if (!header_line(p))
			break;
		strv_push_nodup(&headers, xstrndup(p, n));
		p += n;
	}
	/* _parse_headers */
	for (i = 0; i < headers.n; i++) {
		const char *l = headers.v[i];

		if (*l == ' ' || *l == '\t') {
			if (cur.n)
				strv_push(&cur, l);
			continue;	/* else: a defect, ignored */
		}
		if (cur.n)
			flush_header(m, &cur);
		if (!strncmp(l, "From ", 5)) {
			/* unix-from line: ignored wherever it is */
			continue;
		}
		if (*l == ':')
			continue;	/* missing header name: ignored */
		strv_push(&cur, l);
	}
	if (cur.n)
		flush_header(m, &cur);
	strv_release(&headers);
	sbuf_release(&t);
	return 0;
}

void
dist_meta_release(struct dist_meta *m)
{
	if (!m)
		return;
	strv_release(&m->names);
	strv_release(&m->values);
}

const char *
dist_meta_get(const struct dist_meta *m, const char *name)
{
	for (size_t i = 0; i < m->names.n; i++)
		if (!strcasecmp(m->names.v[i], name))
			return m->values.v[i];
	return NULL;
}

size_t
dist_meta_get_all(const struct dist_meta *m, const char *name,
		  struct strv *out)
{
	size_t n = 0;

	for (size_t i = 0; i < m->names.n; i++)
		if (!strcasecmp(m->names.v[i], name)) {
			strv_push(out, m->values.v[i]);
			n++;
		}
	return n;
}

/*
 * Reading files the way PathDistribution.read_text() does: a missing file,
 * a directory, a path through a file or a permission problem mean "no such
 * file" (returns 0); other failures, files over max and text that is not
 * UTF-8 are errors (-1). Returns 1 with the text (newlines translated).
 */
static int
read_text(const char *dir, const char *name, size_t max, struct sbuf *out,
	  struct err *e)
{
	struct sbuf path = SBUF_INIT, raw = SBUF_INIT;
	struct stat st;
	int fd, ret = -1;

	sbuf_adds(&path, dir);
	if (*name)
		sbuf_addf(&path, "/%s", name);
	fd = open(path.buf, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == EACCES ||
		    errno == EPERM || errno == EISDIR)
			ret = 0;
		else
			err_errno(e, ERR_IO, errno, "cannot open '%s'",
				  path.buf);
		goto out;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		ret = 0;
		goto out;
	}
	ret = fs_read_fd(fd, path.buf, max, &raw, e);
	close(fd);
	if (ret < 0)
		goto out;
	if (!utf8_valid((const unsigned char *)raw.buf, raw.len)) {
		ret = err_set(e, ERR_BADVALUE, "'%s' is not valid UTF-8",
			      path.buf);
		goto out;
	}
	translate_newlines(raw.buf, raw.len, out);
	ret = 1;
out:
	sbuf_release(&raw);
	sbuf_release(&path);
	return ret;
}

static int
py_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

void
dist_splitlines(const char *text, struct strv *out)
{
	const unsigned char *p = (const unsigned char *)text, *start = p;

	while (*p) {
		size_t brk = 0;

		if (*p == '\n' || *p == '\v' || *p == '\f' ||
		    (*p >= 0x1c && *p <= 0x1e))
			brk = 1;
		else if (*p == '\r')
			brk = p[1] == '\n' ? 2 : 1;
		else if (p[0] == 0xc2 && p[1] == 0x85)
			brk = 2;
		else if (p[0] == 0xe2 && p[1] == 0x80 &&
			 (p[2] == 0xa8 || p[2] == 0xa9))
			brk = 3;
		if (!brk) {
			p++;
			continue;
		}
		strv_push_nodup(out, xstrndup((const char *)start,
					      (size_t)(p - start)));
		p += brk;
		start = p;
	}
	if (p > start)
		strv_push_nodup(out, xstrndup((const char *)start,
					      (size_t)(p - start)));
}

/* str.strip() for ASCII whitespace, in place */
static char *
strip(char *s)
{
	char *end = s + strlen(s);

	while (py_space((unsigned char)*s))
		s++;
	while (end > s && py_space((unsigned char)end[-1]))
		end--;
	*end = '\0';
	return s;
}

/*
 * Distribution._convert_egg_info_reqs_to_simple_reqs(Sectioned.read(text)):
 * "[extra:marker]" sections become '; (marker) and extra == "extra"'.
 */
static void
egg_requires(const char *text, struct strv *out)
{
	struct strv lines = STRV_INIT;
	char *section = NULL;

	dist_splitlines(text, &lines);
	for (size_t i = 0; i < lines.n; i++) {
		char *l = strip(lines.v[i]);
		size_t n = strlen(l);
		struct sbuf req = SBUF_INIT;
		char *extra, *colon, *markers;

		if (!n)
			continue;
		if (l[0] == '[' && l[n - 1] == ']') {
			while (*l == '[' || *l == ']')
				l++;
			n = strlen(l);
			while (n && (l[n - 1] == '[' || l[n - 1] == ']'))
				n--;
			free(section);
			section = xstrndup(l, n);
			continue;
		}
		sbuf_adds(&req, l);
		if (strchr(l, '@'))
			sbuf_addch(&req, ' ');
		extra = xstrdup(section ? section : "");
		colon = strchr(extra, ':');
		markers = colon ? colon + 1 : extra + strlen(extra);
		if (colon)
			*colon = '\0';
		if (*markers || *extra) {
			sbuf_adds(&req, "; ");
			if (*markers)
				sbuf_addf(&req, *extra ? "(%s)" : "%s",
					  markers);
			if (*markers && *extra)
				sbuf_adds(&req, " and ");
			if (*extra)
				sbuf_addf(&req, "extra == \"%s\"", extra);
		}
		free(extra);
		strv_push_nodup(out, sbuf_detach(&req, NULL));
	}
	free(section);
	strv_release(&lines);
}

static void
sort_unique(struct strv *sv)
{
	size_t j = 0;

	strv_sort(sv);
	for (size_t i = 0; i < sv->n; i++) {
		if (j && !strcmp(sv->v[j - 1], sv->v[i])) {
			free(sv->v[i]);
			continue;
		}
		sv->v[j++] = sv->v[i];
	}
	sv->n = j;
	if (sv->v)
		sv->v[j] = NULL;
}

/* The first field of each csv.reader() row (excel dialect). */
static void
csv_first_fields(const struct strv *lines, struct strv *out)
{
	size_t i = 0;

	while (i < lines->n) {
		struct sbuf f = SBUF_INIT;
		enum { START, FIELD, QUOTED, QUOTE_IN } st = START;
		int done = 0;

		if (!*lines->v[i]) {	/* an empty row: no fields */
			i++;
			continue;
		}
		for (; i < lines->n && !done; i++) {
			for (const char *p = lines->v[i]; *p && !done; p++) {
				switch (st) {
				case START:
					if (*p == '"')
						st = QUOTED;
					else if (*p == ',')
						done = 1;
					else {
						sbuf_addch(&f, *p);
						st = FIELD;
					}
					break;
				case FIELD:
					if (*p == ',')
						done = 1;
					else
						sbuf_addch(&f, *p);
					break;
				case QUOTED:
					if (*p == '"')
						st = QUOTE_IN;
					else
						sbuf_addch(&f, *p);
					break;
				case QUOTE_IN:
					if (*p == '"') {
						sbuf_addch(&f, '"');
						st = QUOTED;
					} else if (*p == ',') {
						done = 1;
					} else {
						sbuf_addch(&f, *p);
						st = FIELD;
					}
					break;
				}
			}
			if (st == QUOTED && !done)
				sbuf_addch(&f, '\n');	/* field goes on */
			else
				done = 1;
		}
		if (st == QUOTED && i == lines->n && f.len)
			sbuf_setlen(&f, f.len - 1);	/* no next line */
		strv_push_nodup(out, sbuf_detach(&f, NULL));
	}
}

/*
 * _top_level_inferred: for each listed file whose PurePosixPath suffix is
 * ".py", its first part, or its stem when it has a single part.
 */
static void
infer_top_level(const struct strv *files, struct strv *out)
{
	for (size_t i = 0; i < files->n; i++) {
		const char *f = files->v[i], *p, *name;
		struct strv parts = STRV_INIT;
		const char *dot;
		size_t nlen;

		if (f[0] == '/')	/* the root is a part of its own */
			strv_push(&parts, f[1] == '/' && f[2] != '/' ? "//"
				  : "/");
		for (p = f; *p;) {
			const char *sl = strchr(p, '/');
			size_t n = sl ? (size_t)(sl - p) : strlen(p);

			if (n && !(n == 1 && p[0] == '.'))
				strv_push_nodup(&parts, xstrndup(p, n));
			p += n + (sl != NULL);
		}
		if (!parts.n || parts.v[parts.n - 1][0] == '/') {
			strv_release(&parts);
			continue;
		}
		name = parts.v[parts.n - 1];
		nlen = strlen(name);
		dot = strrchr(name, '.');
		if (dot && dot != name && (size_t)(dot - name) < nlen - 1 &&
		    !strcmp(dot, ".py")) {
			if (parts.n > 1)
				strv_push(out, parts.v[0]);
			else
				strv_push_nodup(out, xstrndup(name, (size_t)
							      (dot - name)));
		}
		strv_release(&parts);
	}
}

static void
split_words(const char *text, struct strv *out)
{
	const char *p = text;

	for (;;) {
		const char *start;

		while (*p && py_space((unsigned char)*p))
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && !py_space((unsigned char)*p))
			p++;
		strv_push_nodup(out, xstrndup(start, (size_t)(p - start)));
	}
}

static int
ends_with_ci(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcasecmp(s + n - k, suffix);
}

static void
fill_from_meta(struct dist *d, const struct dist_meta *m)
{
	const char *v;

	if ((v = dist_meta_get(m, "Name")))
		d->name = xstrdup(v);
	d->key = pep508_normalize_name(d->name ? d->name : "");
	if ((v = dist_meta_get(m, "Version")))
		d->version = xstrdup(v);
	if ((v = dist_meta_get(m, "Requires-Python")))
		d->requires_python = xstrdup(v);
	dist_meta_get_all(m, "Requires-Dist", &d->requires);
	dist_meta_get_all(m, "Provides-Extra", &d->extras);
}

int
dist_from_metadata(struct dist *d, const char *metadata, size_t len,
		   const char *top_level, struct err *e)
{
	struct dist_meta m = DIST_META_INIT;

	memset(d, 0, sizeof(*d));
	if (dist_meta_parse(&m, metadata, len, e) < 0)
		return -1;
	fill_from_meta(d, &m);
	dist_meta_release(&m);
	if (top_level) {
		split_words(top_level, &d->top_level);
		sort_unique(&d->top_level);
	}
	return 0;
}

int
dist_load(struct dist *d, const char *path, const char *site, struct err *e)
{
	static const char *const meta_files[] = { "METADATA", "PKG-INFO", "" };
	struct sbuf text = SBUF_INIT;
	struct dist_meta m = DIST_META_INIT;
	int r = 0, ret = -1;

	memset(d, 0, sizeof(*d));
	d->path = xstrdup(path);
	d->site = xstrdup(site ? site : "");
	d->egg_info = ends_with_ci(path, ".egg-info");
	for (size_t i = 0; i < 3; i++) {
		sbuf_reset(&text);
		r = read_text(path, meta_files[i], DIST_MAX_METADATA, &text, e);
		if (r < 0)
			goto out;
		if (r > 0 && text.len)
			break;
	}
	/* no text at all: importlib parses StringIO(None), an empty text */
	if (r == 0)
		sbuf_reset(&text);
	if (dist_meta_parse(&m, text.buf, text.len, e) < 0)
		goto out;
	fill_from_meta(d, &m);
	if (!d->requires.n) {
		sbuf_reset(&text);
		r = read_text(path, "requires.txt", DIST_MAX_SMALL, &text, e);
		if (r < 0)
			goto out;
		if (r > 0)
			egg_requires(text.buf, &d->requires);
	}
	sbuf_reset(&text);
	r = read_text(path, "top_level.txt", DIST_MAX_SMALL, &text, e);
	if (r < 0)
		goto out;
	if (r > 0)
		split_words(text.buf, &d->top_level);
	if (!d->top_level.n) {
		struct strv lines = STRV_INIT, files = STRV_INIT;

		sbuf_reset(&text);
		r = read_text(path, "RECORD", DIST_MAX_RECORD, &text, e);
		if (r < 0)
			goto out;
		if (r > 0)
			dist_splitlines(text.buf, &lines);
		if (!lines.n) {
			/* egg-info: each SOURCES.txt line wrapped in quotes */
			struct strv raw = STRV_INIT;

			sbuf_reset(&text);
			r = read_text(path, "SOURCES.txt", DIST_MAX_RECORD,
				      &text, e);
			if (r < 0) {
				strv_release(&lines);
				goto out;
			}
			if (r > 0)
				dist_splitlines(text.buf, &raw);
			for (size_t i = 0; i < raw.n; i++)
				strv_pushf(&lines, "\"%s\"", raw.v[i]);
			strv_release(&raw);
		}
		csv_first_fields(&lines, &files);
		infer_top_level(&files, &d->top_level);
		strv_release(&lines);
		strv_release(&files);
	}
	sort_unique(&d->top_level);
	ret = 0;
out:
	dist_meta_release(&m);
	sbuf_release(&text);
	if (ret < 0) {
		err_prefix(e, "cannot read distribution '%s'", path);
		dist_release(d);
	}
	return ret;
}

void
dist_release(struct dist *d)
{
	if (!d)
		return;
	free(d->path);
	free(d->site);
	free(d->name);
	free(d->key);
	free(d->version);
	free(d->requires_python);
	strv_release(&d->requires);
	strv_release(&d->extras);
	strv_release(&d->top_level);
	memset(d, 0, sizeof(*d));
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
dist_scan_site(const char *site, struct dist_list *out, struct strv *warnings,
	       struct err *e)
{
	struct strv names = STRV_INIT;
	struct dirent *de;
	DIR *dir = opendir(site);

	if (!dir) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return err_errno(e, ERR_IO, errno, "cannot list '%s'", site);
	}
	while ((de = readdir(dir)))
		if (ends_with_ci(de->d_name, ".dist-info") ||
		    ends_with_ci(de->d_name, ".egg-info"))
			strv_push(&names, de->d_name);
	closedir(dir);
	if (names.n > 1)
		qsort(names.v, names.n, sizeof(*names.v), cmp_names);
	for (size_t i = 0; i < names.n; i++) {
		struct sbuf path = SBUF_INIT;
		struct err sub = ERR_INIT;
		struct dist d;

		sbuf_addf(&path, "%s/%s", site, names.v[i]);
		if (dist_load(&d, path.buf, site, &sub) < 0) {
			if (warnings)
				strv_push(warnings, sub.msg);
			err_clear(&sub);
		} else {
			XGROW(out->v, out->alloc, out->n + 1);
			out->v[out->n++] = d;
		}
		sbuf_release(&path);
	}
	strv_release(&names);
	return 0;
}

void
dist_list_release(struct dist_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		dist_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

const struct dist *
dist_list_find(const struct dist_list *l, const char *name)
{
	char *key = pep508_normalize_name(name);
	const struct dist *found = NULL;

	for (size_t i = 0; i < l->n && !found; i++)
		if (!strcmp(l->v[i].key, key))
			found = &l->v[i];
	free(key);
	return found;
}

/*
 * pyvenv.cfg, parsed like site.py: "key = value" lines, key lower-cased
 * and both sides stripped.
 */
static void
cfg_value(const char *text, const char *key, char **out)
{
	struct strv lines = STRV_INIT;

	dist_splitlines(text, &lines);
	for (size_t i = 0; i < lines.n; i++) {
		char *eq = strchr(lines.v[i], '='), *k;

		if (!eq)
			continue;
		*eq = '\0';
		k = strip(lines.v[i]);
		for (char *c = k; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		if (!strcmp(k, key)) {
			free(*out);
			*out = xstrdup(strip(eq + 1));
		}
	}
	strv_release(&lines);
}

/* "3.11.2" / "3.11.2.final.0" -> X.Y and X.Y.Z */
static int
split_version(const char *v, char **xy, char **full)
{
	size_t a = 0, b, c;

	while (v[a] >= '0' && v[a] <= '9')
		a++;
	if (!a || v[a] != '.')
		return -1;
	b = a + 1;
	while (v[b] >= '0' && v[b] <= '9')
		b++;
	if (b == a + 1)
		return -1;
	*xy = xstrndup(v, b);
	if (v[b] == '.') {
		c = b + 1;
		while (v[c] >= '0' && v[c] <= '9')
			c++;
		if (c > b + 1)
			*full = xstrndup(v, c);
	}
	return 0;
}

/* The lib/pythonX.Y directory's X.Y (the first, sorted), or NULL. */
static char *
lib_python_version(const char *root)
{
	struct sbuf lib = SBUF_INIT;
	struct strv found = STRV_INIT;
	struct dirent *de;
	DIR *dir;
	char *ret = NULL;

	sbuf_addf(&lib, "%s/lib", root);
	dir = opendir(lib.buf);
	sbuf_release(&lib);
	if (!dir)
		return NULL;
	while ((de = readdir(dir))) {
		char *xy = NULL, *full = NULL;

		if (!strncmp(de->d_name, "python", 6) &&
		    split_version(de->d_name + 6, &xy, &full) == 0 &&
		    !strcmp(xy, de->d_name + 6))
			strv_push(&found, xy);
		free(xy);
		free(full);
	}
	closedir(dir);
	strv_sort(&found);
	if (found.n)
		ret = xstrdup(found.v[0]);
	strv_release(&found);
	return ret;
}

/* PREFIX/LIBpythonVER/LEAF, when it is a directory */
static void
add_site(struct pyvenv *pv, const char *prefix, const char *lib,
	 const char *ver, const char *leaf)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_addf(&sb, "%s/%spython%s/%s", prefix, lib, ver, leaf);
	if (fs_is_dir(sb.buf) && strv_find(&pv->sites, sb.buf) < 0)
		strv_push(&pv->sites, sb.buf);
	sbuf_release(&sb);
}

int
pyvenv_open(struct pyvenv *pv, const char *root, struct err *e)
{
	struct sbuf text = SBUF_INIT, path = SBUF_INIT;
	char *version = NULL, *vinfo = NULL, *sys_site = NULL, *impl = NULL;
	char *libver;
	int r, ret = -1;

	memset(pv, 0, sizeof(*pv));
	pv->root = xstrdup(root);
	sbuf_addf(&path, "%s/bin/python", root);
	pv->python = sbuf_detach(&path, NULL);
	r = read_text(root, "pyvenv.cfg", 64 * 1024, &text, e);
	if (r < 0)
		goto out;
	if (r > 0) {
		cfg_value(text.buf, "home", &pv->home);
		cfg_value(text.buf, "version", &version);
		cfg_value(text.buf, "version_info", &vinfo);
		cfg_value(text.buf, "include-system-site-packages", &sys_site);
		cfg_value(text.buf, "implementation", &impl);
	}
	pv->system_site = sys_site && !strcasecmp(sys_site, "true");
	if (version)
		split_version(version, &pv->version, &pv->full_version);
	if (!pv->version && vinfo)
		split_version(vinfo, &pv->version, &pv->full_version);
	libver = lib_python_version(root);
	if (!pv->version && libver)
		pv->version = xstrdup(libver);
	pv->cpython = libver != NULL &&
		      (!impl || !strcasecmp(impl, "cpython"));
	free(libver);
	if (r == 0 && !pv->version) {
		err_set(e, ERR_IO, "'%s' is not a virtualenv: it has no "
			"pyvenv.cfg and no lib/python3.*", root);
		goto out;
	}
	if (pv->version) {
		add_site(pv, root, "lib/", pv->version, "site-packages");
		if (pv->system_site && pv->home && *pv->home) {
			char *prefix = xstrdup(pv->home), *sl;

			/* home is PREFIX/bin */
			while ((sl = strrchr(prefix, '/')) && sl[1] == '\0')
				*sl = '\0';
			sl = strrchr(prefix, '/');
			if (sl)
				*sl = '\0';
			add_site(pv, prefix, "local/lib/", pv->version,
				 "dist-packages");
			add_site(pv, prefix, "lib/", "3", "dist-packages");
			add_site(pv, prefix, "lib/", pv->version,
				 "dist-packages");
			add_site(pv, prefix, "lib/", pv->version,
				 "site-packages");
			free(prefix);
		}
	}
	ret = 0;
out:
	free(version);
	free(vinfo);
	free(sys_site);
	free(impl);
	sbuf_release(&text);
	if (ret < 0)
		pyvenv_release(pv);
	return ret;
}

void
pyvenv_release(struct pyvenv *pv)
{
	if (!pv)
		return;
	free(pv->root);
	free(pv->python);
	free(pv->version);
	free(pv->full_version);
	free(pv->home);
	strv_release(&pv->sites);
	memset(pv, 0, sizeof(*pv));
}
