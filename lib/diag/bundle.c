/*
 * The diagnostics bundle: members gathered from the report, written as a
 * reproducible .tar.gz through libarchive, which is opened with lazylib
 * on first use (archive.h is used for its types and constants only).
 */
#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "diag/bundle.h"
#include "fs.h"
#include "lazylib.h"
#include "web/service.h"
#include "xalloc.h"
#include "banned.h"

#define MEMBER_MAX (16u << 20)	/* a file bigger than this is cut */

void
diag_members_add(struct diag_members *m, const char *name, const void *data,
		 size_t len)
{
	struct diag_member *d;

	xgrow((void **)&m->v, &m->alloc, m->n + 1, sizeof(*m->v));
	d = &m->v[m->n++];
	d->name = xstrdup(name);
	sbuf_init(&d->data, len);
	sbuf_add(&d->data, data, len);
}

void
diag_members_release(struct diag_members *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].name);
		sbuf_release(&m->v[i].data);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static void
add_scrubbed(const struct diag_report *r, struct diag_members *m,
	     const char *name, struct sbuf *data)
{
	diag_scrub(&r->secrets, data);
	diag_members_add(m, name, data->buf, data->len);
}

/* "etc/nginx/conf.d/x.conf" for "/etc/nginx/conf.d/x.conf", without
 * "." and ".." components (the name must not escape on extraction). */
static void
relative_name(const char *path, struct sbuf *out)
{
	const char *s = path, *q;

	while (*s) {
		while (*s == '/')
			s++;
		q = strchr(s, '/');
		if (!q)
			q = s + strlen(s);
		if (q > s && !(q - s == 1 && *s == '.') &&
		    !(q - s == 2 && s[0] == '.' && s[1] == '.')) {
			if (out->len && out->buf[out->len - 1] != '/')
				sbuf_addch(out, '/');
			sbuf_add(out, s, (size_t)(q - s));
		}
		s = q;
	}
}

void
diag_bundle_members(const struct diag_report *r, const char *text,
		    const char *json, struct diag_members *out)
{
	struct sbuf sb = SBUF_INIT, name = SBUF_INIT;
	struct err e = ERR_INIT;
	const json_t *logs = json_object_get(r->doc, "logs"), *f;
	size_t i;

	sbuf_adds(&sb, text);
	add_scrubbed(r, out, "report.txt", &sb);
	sbuf_reset(&sb);
	sbuf_adds(&sb, json);
	add_scrubbed(r, out, "report.json", &sb);
	sbuf_reset(&sb);
	if (r->config_export) {
		sbuf_adds(&sb, r->config_export);
		add_scrubbed(r, out, "config.export", &sb);
		sbuf_reset(&sb);
	}
	for (i = 0; i < r->freeze.n; i++)
		sbuf_addf(&sb, "%s\n", r->freeze.v[i]);
	add_scrubbed(r, out, "pip-freeze.txt", &sb);
	for (i = 0; i < r->nginx_files.n; i++) {
		sbuf_reset(&sb);
		if (fs_read_file(r->nginx_files.v[i], MEMBER_MAX, &sb,
				 &e) < 0) {
			err_clear(&e);
			continue;
		}
		sbuf_reset(&name);
		sbuf_adds(&name, "nginx/");
		relative_name(r->nginx_files.v[i], &name);
		add_scrubbed(r, out, name.buf, &sb);
	}
	if (json_is_object(logs) && r->logdir) {
		json_array_foreach(json_object_get(logs, "files"), i, f) {
			const char *n = json_string_value(
				json_object_get(f, "name"));
			const char *st = json_string_value(
				json_object_get(f, "state"));

			if (!n || !st || strcmp(st, "ok") || strchr(n, '/'))
				continue;
			sbuf_reset(&sb);
			sbuf_reset(&name);
			sbuf_addf(&name, "%s/%s", r->logdir, n);
			web_log_tail(name.buf, 0, DIAG_BUNDLE_TAIL_LINES, &sb);
			sbuf_reset(&name);
			sbuf_addf(&name, "logs/%s", n);
			add_scrubbed(r, out, name.buf, &sb);
		}
	}
	for (i = 0; i < r->journals.n; i++) {
		const char *p = r->journals.v[i], *id_end, *id;

		sbuf_reset(&sb);
		if (fs_read_file(p, MEMBER_MAX, &sb, &e) < 0) {
			err_clear(&e);
			continue;
		}
		/* .../upgrades/<id>/journal.jsonl */
		id_end = strrchr(p, '/');
		for (id = id_end; id > p && id[-1] != '/'; id--)
			;
		sbuf_reset(&name);
		sbuf_addf(&name, "upgrades/%.*s/journal.jsonl",
			  (int)(id_end - id), id);
		add_scrubbed(r, out, name.buf, &sb);
	}
	sbuf_release(&sb);
	sbuf_release(&name);
}

/* ---- libarchive ---- */

static struct {
	struct archive *(*write_new)(void);
	int (*set_format_pax_restricted)(struct archive *);
	int (*add_filter_gzip)(struct archive *);
	int (*set_filter_option)(struct archive *, const char *, const char *,
				 const char *);
	int (*set_bytes_in_last_block)(struct archive *, int);
	int (*write_open)(struct archive *, void *, archive_open_callback *,
			  archive_write_callback *, archive_close_callback *);
	int (*write_header)(struct archive *, struct archive_entry *);
	la_ssize_t (*write_data)(struct archive *, const void *, size_t);
	int (*write_close)(struct archive *);
	int (*write_free)(struct archive *);
	const char *(*error_string)(struct archive *);
	struct archive_entry *(*entry_new)(void);
	void (*entry_free)(struct archive_entry *);
	void (*entry_set_pathname)(struct archive_entry *, const char *);
	void (*entry_set_size)(struct archive_entry *, la_int64_t);
	void (*entry_set_filetype)(struct archive_entry *, unsigned int);
	void (*entry_set_perm)(struct archive_entry *, __LA_MODE_T);
	void (*entry_set_mtime)(struct archive_entry *, time_t, long);
	void (*entry_set_uid)(struct archive_entry *, la_int64_t);
	void (*entry_set_gid)(struct archive_entry *, la_int64_t);
	void (*entry_set_uname)(struct archive_entry *, const char *);
	void (*entry_set_gname)(struct archive_entry *, const char *);
} ar;

static int
bind_archive(struct err *e)
{
	static const char *const libs[] = { "libarchive.so.13", NULL };
	const struct lazy_sym syms[] = {
		LAZY_SYM("archive_write_new", ar.write_new),
		LAZY_SYM("archive_write_set_format_pax_restricted",
			 ar.set_format_pax_restricted),
		LAZY_SYM("archive_write_add_filter_gzip", ar.add_filter_gzip),
		LAZY_SYM("archive_write_set_filter_option",
			 ar.set_filter_option),
		LAZY_SYM("archive_write_set_bytes_in_last_block",
			 ar.set_bytes_in_last_block),
		LAZY_SYM("archive_write_open", ar.write_open),
		LAZY_SYM("archive_write_header", ar.write_header),
		LAZY_SYM("archive_write_data", ar.write_data),
		LAZY_SYM("archive_write_close", ar.write_close),
		LAZY_SYM("archive_write_free", ar.write_free),
		LAZY_SYM("archive_error_string", ar.error_string),
		LAZY_SYM("archive_entry_new", ar.entry_new),
		LAZY_SYM("archive_entry_free", ar.entry_free),
		LAZY_SYM("archive_entry_set_pathname", ar.entry_set_pathname),
		LAZY_SYM("archive_entry_set_size", ar.entry_set_size),
		LAZY_SYM("archive_entry_set_filetype", ar.entry_set_filetype),
		LAZY_SYM("archive_entry_set_perm", ar.entry_set_perm),
		LAZY_SYM("archive_entry_set_mtime", ar.entry_set_mtime),
		LAZY_SYM("archive_entry_set_uid", ar.entry_set_uid),
		LAZY_SYM("archive_entry_set_gid", ar.entry_set_gid),
		LAZY_SYM("archive_entry_set_uname", ar.entry_set_uname),
		LAZY_SYM("archive_entry_set_gname", ar.entry_set_gname),
		{ NULL, NULL }
	};

	return lazylib_bind(libs, "libarchive13", syms, e);
}

static la_ssize_t
to_sbuf(struct archive *a, void *data, const void *buf, size_t len)
{
	(void)a;
	sbuf_add(data, buf, len);
	return (la_ssize_t)len;
}

static int
cmp_members(const void *a, const void *b)
{
	return strcmp(((const struct diag_member *)a)->name,
		      ((const struct diag_member *)b)->name);
}

static int
archive_fail(struct archive *a, const char *what, struct err *e)
{
	const char *msg = ar.error_string(a);

	return err_set(e, ERR_FAIL, "cannot write the bundle: %s%s%s", what,
		       msg ? ": " : "", msg ? msg : "");
}

int
diag_bundle_tgz(const struct diag_members *m, long long mtime,
		struct sbuf *out, struct err *e)
{
	struct diag_member *sorted;
	struct archive *a;
	struct archive_entry *ent = NULL;
	struct sbuf name = SBUF_INIT;
	char *old_locale;
	const char *cur;
	int ret = -1;

	if (bind_archive(e) < 0)
		return -1;
	/* non-ASCII member names need a UTF-8 locale (dependencies.md §5) */
	cur = setlocale(LC_CTYPE, NULL);
	old_locale = xstrdup(cur ? cur : "C");
	setlocale(LC_CTYPE, "C.UTF-8");
	sorted = xmalloc((m->n ? m->n : 1) * sizeof(*sorted));
	if (m->n)
		memcpy(sorted, m->v, m->n * sizeof(*sorted));
	qsort(sorted, m->n, sizeof(*sorted), cmp_members);
	a = ar.write_new();
	if (!a) {
		err_set(e, ERR_FAIL, "cannot write the bundle: out of memory");
		goto out;
	}
	if (ar.set_format_pax_restricted(a) != ARCHIVE_OK ||
	    ar.add_filter_gzip(a) != ARCHIVE_OK ||
	    /* no time stamp in the gzip header */
	    ar.set_filter_option(a, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
	    ar.set_bytes_in_last_block(a, 1) != ARCHIVE_OK) {
		archive_fail(a, "setting up", e);
		goto out;
	}
	if (ar.write_open(a, out, NULL, to_sbuf, NULL) != ARCHIVE_OK) {
		archive_fail(a, "opening", e);
		goto out;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct diag_member *d = &sorted[i];

		ent = ar.entry_new();
		sbuf_reset(&name);
		sbuf_addf(&name, "%s/%s", DIAG_BUNDLE_TOP, d->name);
		ar.entry_set_pathname(ent, name.buf);
		ar.entry_set_filetype(ent, AE_IFREG);
		ar.entry_set_perm(ent, 0600);
		ar.entry_set_size(ent, (la_int64_t)d->data.len);
		ar.entry_set_mtime(ent, (time_t)mtime, 0);
		ar.entry_set_uid(ent, 0);
		ar.entry_set_gid(ent, 0);
		ar.entry_set_uname(ent, "root");
		ar.entry_set_gname(ent, "root");
		if (ar.write_header(a, ent) != ARCHIVE_OK) {
			archive_fail(a, name.buf, e);
			goto out;
		}
		if (d->data.len && ar.write_data(a, d->data.buf,
						 d->data.len) !=
		    (la_ssize_t)d->data.len) {
			archive_fail(a, name.buf, e);
			goto out;
		}
		ar.entry_free(ent);
		ent = NULL;
	}
	if (ar.write_close(a) != ARCHIVE_OK) {
		archive_fail(a, "closing", e);
		goto out;
	}
	ret = 0;
out:
	if (ent)
		ar.entry_free(ent);
	if (a)
		ar.write_free(a);
	setlocale(LC_CTYPE, old_locale);
	free(old_locale);
	free(sorted);
	sbuf_release(&name);
	return ret;
}

int
diag_bundle_write(const char *path, const struct sbuf *data, int force,
		  struct err *e)
{
	struct stat st;

	if (!*path)
		return err_set(e, ERR_USAGE, "the bundle path is empty");
	if (lstat(path, &st) == 0) {
		if (!force)
			return err_set(e, ERR_CONFIRM, "'%s' exists (use "
				       "--force to replace it)", path);
		if (!S_ISREG(st.st_mode))
			return err_set(e, ERR_IO, "'%s' is not a regular "
				       "file", path);
	} else if (errno != ENOENT) {
		return err_errno(e, ERR_IO, errno, "cannot look at '%s'",
				 path);
	}
	return fs_write_atomic_mode(path, data->buf, data->len, 0600, e);
}
