/*
 * Opening, locking and saving config.xml. See store.h for the deliberate
 * differences from omero-py.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "xalloc.h"
#include "banned.h"

#define CFG_MAX_SIZE (64u * 1024 * 1024)

/* os.path.join(a, b) for a relative b */
static char *
path_join(const char *a, const char *b)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_adds(&sb, a);
	if (sb.len && sb.buf[sb.len - 1] != '/')
		sbuf_addch(&sb, '/');
	sbuf_adds(&sb, b);
	return sbuf_detach(&sb, NULL);
}

/* Python's str(OSError): "[Errno 13] Permission denied: 'path'" */
static int
py_oserror(struct err *e, int errnum, const char *path)
{
	return err_set(e, ERR_CFG_OPEN, "[Errno %d] %s: '%s'", errnum,
		       strerror(errnum), path);
}

int
cfg_locate(const struct cfg_open_opts *o, char **path, char **created,
	   struct err *e)
{
	char *etc, *grid;

	*path = NULL;
	*created = NULL;
	if (o->source) {
		if (!fs_exists(o->source))
			return err_set(e, ERR_CFG_SOURCE, "File not found: %s",
				       o->source);
		*path = xstrdup(o->source);
		return 0;
	}
	if (!o->omerodir || !*o->omerodir)
		return err_set(e, ERR_CFG_NO_OMERODIR,
			       "FATAL: OMERODIR env variable not set");
	etc = path_join(o->omerodir, "etc");
	grid = path_join(etc, "grid");
	free(etc);
	if (!fs_is_dir(grid)) {
		if (fs_mkdir_p(grid, 0777, e) < 0) {
			free(grid);
			return -1;
		}
		*created = xstrdup(grid);
	}
	*path = path_join(grid, "config.xml");
	free(grid);
	return 0;
}

static int
read_and_parse(struct cfg_store *s, struct err *e)
{
	struct sbuf text = SBUF_INIT;
	int ret = -1;

	if (fs_read_file(s->path, CFG_MAX_SIZE, &text, e) < 0) {
		if (errno == ENOENT) {
			err_clear(e);
			s->fresh = 1;
		} else if (errno == EACCES || errno == EPERM) {
			py_oserror(e, errno, s->path);
			goto out;
		} else {
			e->code = ERR_CFG_OPEN;
			goto out;
		}
	}
	if (!text.len)
		s->fresh = 1;
	if (s->fresh) {
		cfgdoc_init_fresh(&s->doc, cfg_active(s));
	} else if (cfgdoc_parse(&s->doc, text.buf, text.len, e) < 0) {
		goto out;
	}
	ret = 0;
out:
	sbuf_release(&text);
	return ret;
}

static int
take_lock(struct cfg_store *s, double wait, struct err *e)
{
	struct sbuf lockpath = SBUF_INIT;
	int ret;

	sbuf_addf(&lockpath, "%s.lock", s->path);
	ret = fs_lock_acquire(&s->lock, lockpath.buf, wait, e);
	if (ret < 0) {
		if (e->code == ERR_CFG_LOCK)
			err_set(e, ERR_CFG_LOCK, "Could not acquire lock on %s",
				s->path);
		else if (errno == EACCES || errno == EPERM || errno == EROFS)
			py_oserror(e, errno, lockpath.buf);
		else
			e->code = ERR_CFG_OPEN;
	} else {
		s->locked = 1;
	}
	sbuf_release(&lockpath);
	return ret;
}

int
cfg_open(struct cfg_store *s, const struct cfg_open_opts *o, struct err *e)
{
	struct stat st;
	int exists, nonempty;

	memset(s, 0, sizeof(*s));
	s->lock.fd = -1;
	if (o->env_profile && *o->env_profile)
		s->env_profile = xstrdup(o->env_profile);
	if (cfg_locate(o, &s->path, &s->created_dir, e) < 0)
		return -1;
	/* cfg_locate() sets path when it returns 0; the analyzer cannot
	 * see that err_set() returns -1. */
	/* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
	exists = stat(s->path, &st) == 0;
	nonempty = exists && st.st_size > 0;
	if (exists && access(s->path, W_OK) < 0) {
		if (s->env_profile)
			return err_set(e, ERR_CFG_OPEN,
				       "Non-default OMERO_CONFIG on "
				       "read-only: %s", s->env_profile);
		s->readonly = 1;
	} else if (!exists && access(s->path, F_OK) < 0 && errno != ENOENT) {
		return py_oserror(e, errno, s->path);
	}
	/* omero-py creates a missing or empty file on every command. */
	if (!s->readonly && (o->write || !nonempty)) {
		if (!exists) {
			int fd = open(s->path, O_WRONLY | O_CREAT | O_CLOEXEC,
				      0666);

			if (fd < 0)
				return py_oserror(e, errno, s->path);
			close(fd);
		}
		if (take_lock(s, o->wait, e) < 0)
			return -1;
	}
	return read_and_parse(s, e);
}

int
cfg_require_writable(struct cfg_store *s, struct err *e)
{
	if (s->readonly || !s->locked)
		return err_set(e, ERR_CFG_READONLY, "Cannot modify %s",
			       s->path);
	return 0;
}

static const char *
internal_profile(struct cfg_store *s)
{
	const char *v = profile_get(cfgdoc_profile(&s->doc, CFG_INTERNAL),
				    CFG_KEY_PROFILE);

	return v ? v : "default";
}

const char *
cfg_active(struct cfg_store *s)
{
	if (s->user_profile && *s->user_profile)
		return s->user_profile;
	if (s->env_profile && *s->env_profile)
		return s->env_profile;
	if (!s->doc.root.tag)	/* not parsed yet: a fresh file */
		return "default";
	return internal_profile(s);
}

const char *
cfg_active_for_save(struct cfg_store *s)
{
	if (s->user_profile && *s->user_profile)
		return s->user_profile;
	return internal_profile(s);
}

struct xelem *
cfg_profile(struct cfg_store *s)
{
	return cfgdoc_profile(&s->doc, cfg_active(s));
}

struct xelem *
cfg_profile_create(struct cfg_store *s)
{
	struct xelem *p = cfg_profile(s);

	return p ? p : cfgdoc_add_profile(&s->doc, cfg_active(s));
}

void
cfg_set_user_profile(struct cfg_store *s, const char *name)
{
	free(s->user_profile);
	s->user_profile = xstrdup(name);
}

static int
check_elem(const struct xelem *el, struct err *e)
{
	for (size_t i = 0; i < el->nattrs; i++) {
		const char *name = xelem_attr(el, "name");
		struct sbuf what = SBUF_INIT;
		int r;

		if (name && el->attrs[i].value != name)
			sbuf_addf(&what, "the value of '%s'", name);
		else
			sbuf_addf(&what, "the %s '%s'", el->attrs[i].name,
				  el->attrs[i].value);
		r = cfg_check_storable(what.buf, el->attrs[i].value, e);
		if (!r)
			r = cfg_check_storable("an attribute name",
					       el->attrs[i].name, e);
		sbuf_release(&what);
		if (r < 0)
			return -1;
	}
	for (size_t i = 0; i < el->nkids; i++)
		if (check_elem(&el->kids[i], e) < 0)
			return -1;
	return 0;
}

void
cfg_ctime(char *buf, size_t size)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	time_t t = time(NULL);
	struct tm tm;
	char tmp[64];
	size_t n;

	if (sde && *sde) {
		char *end;
		long long v = strtoll(sde, &end, 10);

		if (!*end && v >= 0)
			t = (time_t)v;
	}
	localtime_r(&t, &tm);
	if (!asctime_r(&tm, tmp))
		tmp[0] = '\0';
	n = strcspn(tmp, "\n");
	tmp[n] = '\0';
	snprintf(buf, size, "%s", tmp);
}

int
cfg_save(struct cfg_store *s, struct err *e)
{
	struct sbuf out = SBUF_INIT;
	const char *active = cfg_active_for_save(s);
	char when[64];
	int ret = -1;

	if (cfg_require_writable(s, e) < 0)
		return -1;
	if (check_elem(&s->doc.root, e) < 0 ||
	    cfg_check_storable("the profile name", active, e) < 0)
		return -1;
	cfg_ctime(when, sizeof(when));
	cfgdoc_write(&s->doc, active, when, &out);
	if (fs_write_atomic(s->path, out.buf, out.len, 0666, e) < 0)
		goto out;
	ret = 0;
out:
	sbuf_release(&out);
	return ret;
}

void
cfg_close(struct cfg_store *s)
{
	if (!s)
		return;
	fs_lock_release(&s->lock);
	cfgdoc_release(&s->doc);
	free(s->path);
	free(s->user_profile);
	free(s->env_profile);
	free(s->created_dir);
	memset(s, 0, sizeof(*s));
	s->lock.fd = -1;
}
