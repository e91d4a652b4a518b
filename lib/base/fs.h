/*
 * Files: capped reads, atomic replacement that keeps mode and owner, and
 * advisory locks interoperable with omero-py's portalocker (flock on a
 * side file).
 */
#ifndef OWCTL_FS_H
#define OWCTL_FS_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "sbuf.h"

/*
 * Append the whole content of path to out. Fails (ERR_IO) when it cannot be
 * read or is larger than max bytes. errno is left as the failing call set
 * it (ENOENT for a missing file) so callers can word their message.
 */
int fs_read_file(const char *path, size_t max, struct sbuf *out,
		 struct err *e);
/* Same for an open descriptor (stdin); name is used in messages. */
int fs_read_fd(int fd, const char *name, size_t max, struct sbuf *out,
	       struct err *e);

/*
 * Replace path with data atomically: a temporary file in the same directory
 * is written, fsync'ed, given the old file's mode and owner (or new_mode,
 * filtered by the umask, when path does not exist yet), renamed over path,
 * and the directory is fsync'ed. On failure path is untouched and the
 * temporary file is removed.
 */
int fs_write_atomic(const char *path, const void *data, size_t len,
		    mode_t new_mode, struct err *e);

/* Like fs_write_atomic, but the file always gets exactly mode (no umask). */
int fs_write_atomic_mode(const char *path, const void *data, size_t len,
			 mode_t mode, struct err *e);

/* mkdir -p; existing directories are fine. */
int fs_mkdir_p(const char *path, mode_t mode, struct err *e);

/* Does path exist (stat succeeds)? */
int fs_exists(const char *path);
int fs_is_dir(const char *path);

/*
 * An exclusive flock(2) held on a side file (e.g. "config.xml.lock").
 * Acquiring creates the file (mode 0666 & ~umask, like Python's open "a+"),
 * takes LOCK_EX, and checks that the locked inode is still the one at path
 * (another holder may have unlinked it on release), retrying if not.
 * wait_seconds == 0 means a single non-blocking attempt; < 0 waits forever.
 * Fails with ERR_CFG_LOCK when the lock is held elsewhere, ERR_IO otherwise.
 * Releasing unlinks the side file while still holding the lock, then closes
 * it, so a waiter never ends up holding a lock on a dead inode unnoticed.
 */
struct fs_lock {
	int fd;
	char *path;
};
#define FS_LOCK_INIT { -1, NULL }

int fs_lock_acquire(struct fs_lock *l, const char *path, double wait_seconds,
		    struct err *e);
void fs_lock_release(struct fs_lock *l);

/* Monotonic time in seconds. */
double fs_now(void);

#endif
