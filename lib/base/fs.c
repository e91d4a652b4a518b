/* File helpers: capped reads, atomic writes, side-file locks. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "xalloc.h"
#include "banned.h"

int
fs_read_fd(int fd, const char *name, size_t max, struct sbuf *out,
	   struct err *e)
{
	size_t start = out->len;

	for (;;) {
		ssize_t n;

		sbuf_grow(out, 65536);
		n = read(fd, out->buf + out->len, out->alloc - out->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_errno(e, ERR_IO, errno, "cannot read '%s'",
					 name);
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->buf[out->len] = '\0';
		if (out->len - start > max) {
			sbuf_setlen(out, start);
			return err_set(e, ERR_IO,
				       "'%s' is larger than %zu bytes", name,
				       max);
		}
	}
	return 0;
}

int
fs_read_file(const char *path, size_t max, struct sbuf *out, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret, saved;

	if (fd < 0)
		return err_errno(e, ERR_IO, errno, "cannot open '%s'", path);
	ret = fs_read_fd(fd, path, max, out, e);
	saved = errno;
	close(fd);
	errno = saved;
	return ret;
}

static char *
dir_of(const char *path)
{
	char *copy = xstrdup(path);
	char *d = xstrdup(dirname(copy));

	free(copy);
	return d;
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -1;
	ret = fsync(fd);
	/* Some filesystems refuse fsync on a directory; that is not a loss. */
	if (ret < 0 && (errno == EINVAL || errno == EROFS))
		ret = 0;
	close(fd);
	return ret;
}

static int
write_atomic(const char *path, const void *data, size_t len, mode_t mode,
	     int exact_mode, struct err *e)
{
	struct sbuf tmp = SBUF_INIT;
	struct stat st;
	char *dir = dir_of(path);
	int fd = -1, have_old, ret = -1;

	have_old = stat(path, &st) == 0;
	if (!have_old && errno != ENOENT) {
		err_errno(e, ERR_IO, errno, "cannot stat '%s'", path);
		goto out;
	}
	sbuf_addf(&tmp, "%s.owctl-XXXXXX", path);
	fd = mkostemp(tmp.buf, O_CLOEXEC);
	if (fd < 0) {
		err_errno(e, ERR_IO, errno, "cannot create a temporary file "
			  "next to '%s'", path);
		sbuf_reset(&tmp);
		goto out;
	}
	if (write_all(fd, data, len) < 0) {
		err_errno(e, ERR_IO, errno, "cannot write '%s'", tmp.buf);
		goto out;
	}
	if (have_old && !exact_mode) {
		if (fchmod(fd, st.st_mode & 07777) < 0) {
			err_errno(e, ERR_IO, errno, "cannot set mode of '%s'",
				  tmp.buf);
			goto out;
		}
		/* Only root can give a file away; others keep what they can. */
		if ((st.st_uid != geteuid() || st.st_gid != getegid()) &&
		    fchown(fd, st.st_uid, st.st_gid) < 0 && errno != EPERM) {
			err_errno(e, ERR_IO, errno, "cannot set owner of '%s'",
				  tmp.buf);
			goto out;
		}
	} else {
		mode_t m = mode;

		if (!exact_mode) {
			mode_t um = umask(0);

			umask(um);
			m &= ~um;
		}
		if (fchmod(fd, m & 07777) < 0) {
			err_errno(e, ERR_IO, errno, "cannot set mode of '%s'",
				  tmp.buf);
			goto out;
		}
		if (have_old && (st.st_uid != geteuid() ||
				 st.st_gid != getegid()))
			(void)!fchown(fd, st.st_uid, st.st_gid);
	}
	if (fsync(fd) < 0) {
		err_errno(e, ERR_IO, errno, "cannot sync '%s'", tmp.buf);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		err_errno(e, ERR_IO, errno, "cannot write '%s'", tmp.buf);
		goto out;
	}
	fd = -1;
	if (rename(tmp.buf, path) < 0) {
		err_errno(e, ERR_IO, errno, "cannot replace '%s'", path);
		goto out;
	}
	sbuf_reset(&tmp);
	if (sync_dir(dir) < 0) {
		err_errno(e, ERR_IO, errno, "cannot sync directory '%s'", dir);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp.len)
		unlink(tmp.buf);
	sbuf_release(&tmp);
	free(dir);
	return ret;
}

int
fs_write_atomic(const char *path, const void *data, size_t len,
		mode_t new_mode, struct err *e)
{
	return write_atomic(path, data, len, new_mode, 0, e);
}

int
fs_write_atomic_mode(const char *path, const void *data, size_t len,
		     mode_t mode, struct err *e)
{
	return write_atomic(path, data, len, mode, 1, e);
}

int
fs_mkdir_p(const char *path, mode_t mode, struct err *e)
{
	char *p = xstrdup(path);
	int ret = -1;

	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			err_errno(e, ERR_IO, errno, "cannot create '%s'", p);
			goto out;
		}
		*s = c;
		if (!c)
			break;
	}
	if (!fs_is_dir(path)) {
		err_set(e, ERR_IO, "'%s' is not a directory", path);
		goto out;
	}
	ret = 0;
out:
	free(p);
	return ret;
}

int
fs_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

int
fs_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

double
fs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
fs_lock_acquire(struct fs_lock *l, const char *path, double wait_seconds,
		struct err *e)
{
	double deadline = fs_now() + wait_seconds;

	l->fd = -1;
	for (;;) {
		struct stat fst, pst;
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			      0666);

		if (fd < 0)
			return err_errno(e, ERR_IO, errno, "cannot open '%s'",
					 path);
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int saved = errno;

			close(fd);
			if (saved != EWOULDBLOCK)
				return err_errno(e, ERR_IO, saved,
						 "cannot lock '%s'", path);
			if (wait_seconds >= 0 && fs_now() >= deadline)
				return err_set(e, ERR_CFG_LOCK,
					       "could not acquire lock on '%s'",
					       path);
			struct timespec ts = { 0, 20 * 1000 * 1000 };

			nanosleep(&ts, NULL);
			continue;
		}
		/* The previous holder may have unlinked the file we opened. */
		if (fstat(fd, &fst) == 0 && stat(path, &pst) == 0 &&
		    fst.st_ino == pst.st_ino && fst.st_dev == pst.st_dev) {
			l->fd = fd;
			l->path = xstrdup(path);
			return 0;
		}
		close(fd);
	}
}

void
fs_lock_release(struct fs_lock *l)
{
	if (!l || l->fd < 0)
		return;
	unlink(l->path);
	close(l->fd);
	free(l->path);
	l->fd = -1;
	l->path = NULL;
}
