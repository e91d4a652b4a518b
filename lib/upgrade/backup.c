/* Upgrade backups and their restoration (see backup.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup.h"
#include "config/export.h"
#include "fs.h"
#include "proc.h"
#include "sbuf.h"
#include "xalloc.h"
#include "banned.h"

#define BACKUP_MAX (256u * 1024 * 1024)

static int
copy_in(const char *dir, const char *what, const char *path, json_t *list,
	struct err *e)
{
	struct sbuf data = SBUF_INIT, copy = SBUF_INIT;
	struct stat st;
	int ret = -1;

	if (stat(path, &st) < 0) {
		if (errno != ENOENT)
			return err_errno(e, ERR_IO, errno, "cannot stat '%s'",
					 path);
		json_array_append_new(list, json_pack("{s:s, s:s, s:b}",
			"what", what, "path", path, "absent", 1));
		return 0;
	}
	if (fs_read_file(path, BACKUP_MAX, &data, e) < 0)
		goto out;
	sbuf_addf(&copy, "%s/%s", dir, what);
	if (fs_write_atomic_mode(copy.buf, data.buf, data.len, 0600, e) < 0)
		goto out;
	json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:I}",
		"what", what, "path", path, "copy", what,
		"mode", (int)(st.st_mode & 07777), "uid", (int)st.st_uid,
		"gid", (int)st.st_gid, "size", (json_int_t)st.st_size));
	ret = 0;
out:
	sbuf_release(&data);
	sbuf_release(&copy);
	return ret;
}

static int
write_text(const char *dir, const char *name, const char *text, size_t len,
	   struct err *e)
{
	struct sbuf p = SBUF_INIT;
	int r;

	sbuf_addf(&p, "%s/%s", dir, name);
	r = fs_write_atomic_mode(p.buf, text, len, 0600, e);
	sbuf_release(&p);
	return r;
}

int
backup_take(const char *dir, const struct backup_opts *o, json_t **manifest,
	    struct err *e)
{
	json_t *files = json_array(), *m = NULL;
	struct sbuf key = SBUF_INIT, text = SBUF_INIT;
	struct cfgexp x = CFGEXP_INIT;
	char *js = NULL;
	int ret = -1;

	if (manifest)
		*manifest = NULL;
	if (copy_in(dir, "config.xml", o->config_path, files, e) < 0)
		goto out;
	if (cfgexp_load_any(o->config_path, 1, NULL, &x, e) < 0)
		goto out;
	cfgexp_write(&x, &text);
	if (write_text(dir, "config.export", text.buf, text.len, e) < 0)
		goto out;
	sbuf_addf(&key, "%s/var/django_secret_key", o->omerodir);
	if (copy_in(dir, "django_secret_key", key.buf, files, e) < 0)
		goto out;
	if (o->nginx_file &&
	    copy_in(dir, "nginx.conf", o->nginx_file, files, e) < 0)
		goto out;
	if (o->venv_record &&
	    copy_in(dir, "venv-record", o->venv_record, files, e) < 0)
		goto out;
	if (o->venv_python) {
		const char *argv[] = { o->venv_python, "-m", "pip", "freeze",
				       "--all", NULL };
		struct sbuf out = SBUF_INIT, errs = SBUF_INIT;
		struct proc_opts po = { .argv = argv, .out = &out,
					.err = &errs, .timeout = 120 };
		struct proc_result r;

		if (proc_run(&po, &r, e) < 0 || r.status != 0) {
			if (!e->msg)
				err_set(e, ERR_FAIL, "pip freeze failed: %s",
					errs.buf);
			sbuf_release(&out);
			sbuf_release(&errs);
			goto out;
		}
		ret = write_text(dir, "pip-freeze.txt", out.buf, out.len, e);
		sbuf_release(&out);
		sbuf_release(&errs);
		if (ret < 0)
			goto out;
		ret = -1;
	}
	m = json_pack("{s:s, s:O}", "schema", "owctl.backup/1", "files",
		      files);
	js = json_dumps(m, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	if (write_text(dir, "manifest.json", js, strlen(js), e) < 0)
		goto out;
	if (manifest) {
		*manifest = m;
		m = NULL;
	}
	ret = 0;
out:
	free(js);
	json_decref(m);
	json_decref(files);
	cfgexp_release(&x);
	sbuf_release(&key);
	sbuf_release(&text);
	return ret;
}

int
backup_take_files(const char *dir, const char *name, size_t n,
		  const char *const *whats, const char *const *paths,
		  struct err *e)
{
	json_t *files = json_array(), *m;
	char *js = NULL;
	int ret = -1;

	for (size_t i = 0; i < n; i++)
		if (copy_in(dir, whats[i], paths[i], files, e) < 0)
			goto out;
	m = json_pack("{s:s, s:O}", "schema", "owctl.backup/1", "files",
		      files);
	js = json_dumps(m, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(m);
	ret = write_text(dir, name, js, strlen(js), e);
out:
	free(js);
	json_decref(files);
	return ret;
}

json_t *
backup_manifest(const char *dir, struct err *e)
{
	return backup_manifest_named(dir, "manifest.json", e);
}

json_t *
backup_manifest_named(const char *dir, const char *name, struct err *e)
{
	struct sbuf p = SBUF_INIT;
	json_error_t je;
	json_t *m;

	sbuf_addf(&p, "%s/%s", dir, name);
	m = json_load_file(p.buf, 0, &je);
	if (!m)
		err_set(e, ERR_FAIL, "cannot read '%s': %s", p.buf, je.text);
	sbuf_release(&p);
	return m;
}

int
backup_restore(const char *dir, json_t *manifest, struct err *e)
{
	json_t *files = json_object_get(manifest, "files"), *f;
	struct err first = ERR_INIT;
	size_t i;

	json_array_foreach(files, i, f) {
		const char *path = json_string_value(json_object_get(f, "path"));
		const char *copy = json_string_value(json_object_get(f, "copy"));
		struct sbuf src = SBUF_INIT, data = SBUF_INIT;
		struct err one = ERR_INIT;

		if (!path)
			continue;
		if (json_is_true(json_object_get(f, "absent"))) {
			if (unlink(path) < 0 && errno != ENOENT)
				err_errno(&one, ERR_IO, errno,
					  "cannot remove '%s'", path);
		} else if (copy) {
			sbuf_addf(&src, "%s/%s", dir, copy);
			if (fs_read_file(src.buf, BACKUP_MAX, &data, &one) == 0 &&
			    fs_write_atomic_mode(path, data.buf, data.len,
				(mode_t)json_integer_value(
					json_object_get(f, "mode")), &one) == 0 &&
			    chown(path, (uid_t)json_integer_value(
					    json_object_get(f, "uid")),
				  (gid_t)json_integer_value(
					  json_object_get(f, "gid"))) < 0 &&
			    errno != EPERM)
				err_errno(&one, ERR_IO, errno,
					  "cannot restore the owner of '%s'",
					  path);
		}
		if (one.msg && !first.msg) {
			first = one;
			one.msg = NULL;
		}
		err_clear(&one);
		sbuf_release(&src);
		sbuf_release(&data);
	}
	if (first.msg) {
		err_set(e, first.code, "%s", first.msg);
		err_clear(&first);
		return -1;
	}
	return 0;
}
