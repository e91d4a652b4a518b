/* Append-only, fsync'ed upgrade journal (see journal.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "fs.h"
#include "sbuf.h"
#include "strv.h"
#include "xalloc.h"
#include "banned.h"

#define JOURNAL_MAX (16u * 1024 * 1024)

char *
journal_root(const char *omerodir)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_adds(&sb, omerodir);
	if (sb.len && sb.buf[sb.len - 1] == '/')
		sbuf_setlen(&sb, sb.len - 1);
	sbuf_adds(&sb, "/var/owctl/upgrades");
	return sbuf_detach(&sb, NULL);
}

static int
open_in(struct journal *j, const char *root, const char *id, int create,
	struct err *e)
{
	struct sbuf path = SBUF_INIT;
	int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW;

	j->id = xstrdup(id);
	sbuf_addf(&path, "%s/%s", root, id);
	j->dir = xstrdup(path.buf);
	if (create) {
		if (mkdir(path.buf, 0700) < 0) {
			err_errno(e, ERR_IO, errno, "cannot create '%s'",
				  path.buf);
			goto fail;
		}
		flags |= O_CREAT | O_EXCL;
	}
	sbuf_adds(&path, "/journal.jsonl");
	j->fd = open(path.buf, flags, 0600);
	if (j->fd < 0) {
		err_errno(e, ERR_IO, errno, "cannot open '%s'", path.buf);
		goto fail;
	}
	sbuf_release(&path);
	return 0;
fail:
	sbuf_release(&path);
	journal_close(j);
	return -1;
}

int
journal_create(struct journal *j, const char *omerodir, const char *id,
	       struct err *e)
{
	char *root = journal_root(omerodir);
	char stamp[32];
	int ret;

	if (!id) {
		time_t t = time(NULL);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
		id = stamp;
	}
	if (fs_mkdir_p(root, 0700, e) < 0) {
		free(root);
		return -1;
	}
	ret = open_in(j, root, id, 1, e);
	free(root);
	return ret;
}

int
journal_open_latest(struct journal *j, const char *omerodir, struct err *e)
{
	char *root = journal_root(omerodir);
	struct strv ids = STRV_INIT;
	struct dirent *de;
	DIR *d = opendir(root);
	int ret = -1;

	if (!d) {
		err_set(e, ERR_FAIL, "no upgrade has been started here ('%s' "
			"does not exist)", root);
		goto out;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			strv_push(&ids, de->d_name);
	closedir(d);
	if (!ids.n) {
		err_set(e, ERR_FAIL, "no upgrade has been started here");
		goto out;
	}
	strv_sort(&ids);
	ret = open_in(j, root, ids.v[ids.n - 1], 0, e);
out:
	strv_release(&ids);
	free(root);
	return ret;
}

int
journal_append(struct journal *j, const char *step, const char *state,
	       json_t *data, struct err *e)
{
	json_t *rec = json_object();
	char stamp[32], *line;
	time_t t = time(NULL);
	struct tm tm;
	struct sbuf sb = SBUF_INIT;
	int ret = -1;

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(rec, "time", json_string(stamp));
	json_object_set_new(rec, "step", json_string(step));
	json_object_set_new(rec, "state", json_string(state));
	if (data)
		json_object_update(rec, data);
	line = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(rec);
	if (!line)
		return err_set(e, ERR_FAIL, "cannot encode a journal record");
	sbuf_adds(&sb, line);
	sbuf_addch(&sb, '\n');
	free(line);
	/* one write: a record is either whole or a torn, ignored tail */
	if (write(j->fd, sb.buf, sb.len) != (ssize_t)sb.len || fsync(j->fd) < 0) {
		err_errno(e, ERR_IO, errno, "cannot write the journal in '%s'",
			  j->dir);
		goto out;
	}
	ret = 0;
out:
	sbuf_release(&sb);
	return ret;
}

json_t *
journal_records(const struct journal *j, struct err *e)
{
	struct sbuf path = SBUF_INIT, text = SBUF_INIT;
	json_t *arr = NULL;
	size_t i = 0;

	sbuf_addf(&path, "%s/journal.jsonl", j->dir);
	if (fs_read_file(path.buf, JOURNAL_MAX, &text, e) < 0)
		goto out;
	arr = json_array();
	while (i < text.len) {
		char *nl = memchr(text.buf + i, '\n', text.len - i);
		json_t *rec;

		if (!nl)
			break;	/* torn last record */
		rec = json_loadb(text.buf + i, (size_t)(nl - text.buf) - i, 0,
				 NULL);
		if (rec && json_is_object(rec))
			json_array_append_new(arr, rec);
		else
			json_decref(rec);
		i = (size_t)(nl - text.buf) + 1;
	}
out:
	sbuf_release(&path);
	sbuf_release(&text);
	return arr;
}

const char *
journal_step_state(json_t *records, const char *step)
{
	const char *state = NULL;
	size_t i;
	json_t *rec;

	json_array_foreach(records, i, rec) {
		const char *s = json_string_value(json_object_get(rec, "step"));

		if (s && !strcmp(s, step))
			state = json_string_value(json_object_get(rec,
								  "state"));
	}
	return state;
}

void
journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j->dir);
	free(j->id);
	j->fd = -1;
	j->dir = j->id = NULL;
}
