/*
 * The file session store, decided entry by entry the way Django's
 * SessionStore.clear_expired() + load() do (file.py is the same in 3.2,
 * 4.2 and 5.2; decode() and get_expiry_age() differ), then purged or
 * cleared through a directory descriptor with a re-check before unlinkat.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pydt.h"
#include "sfile.h"
#include "xalloc.h"
#include "banned.h"

#define KEY_MIN 8
#define HINT_KEY_CHARS 8
#define PROGRESS_EVERY 1024
#define FD_HOLD 64

struct ctx {
	const struct sfile_opts *o;
	struct djsign *ds;
	struct djsign_scratch *sc;
	int dfd;
	int use_tz;
	int no_noatime; /* O_NOATIME refused once: stop asking */
	size_t plen;
	int64_t now_us;   /* aware UTC now */
	int64_t now_wall; /* naive local now (USE_TZ False) */
	struct sbuf buf;  /* file content */
	struct sbuf hint;
	enum sfile_action act;
	struct sfile_stats *st;
	int held[FD_HOLD]; /* files read, closed together (release_fds) */
	size_t nheld;
};

/* What was seen of an entry, to re-check it before unlinking. */
struct seen {
	int is_link;
	int opened;
	dev_t link_dev; /* lstat of the entry when is_link */
	ino_t link_ino;
	dev_t dev; /* fstat of the opened file */
	ino_t ino;
	off_t size;
	struct timespec mtim;
};

const char *
sfile_verdict_str(enum sfile_verdict v)
{
	static const char *const names[] = {"not-session", "live", "expired",
	                                    "crash", "unsure"};

	return (unsigned)v < SFILE_VERDICT_COUNT ? names[v] : "?";
}

const char *
sfile_reason_str(enum sfile_reason r)
{
	static const char *const names[] = {
	    [SFILE_R_NONE] = "",
	    [SFILE_R_PREFIX] = "other prefix",
	    [SFILE_R_SHORT_KEY] = "key shorter than 8 characters",
	    [SFILE_R_TEMPFILE] = "temporary file",
	    [SFILE_R_BAD_CHARS] = "key has characters outside [a-z0-9]",
	    [SFILE_R_DIRECTORY] = "directory",
	    [SFILE_R_UNREADABLE] = "unreadable",
	    [SFILE_R_SYMLINK] = "symlink (not followed)",
	    [SFILE_R_EMPTY] = "empty placeholder",
	    [SFILE_R_MTIME] = "mtime + cookie age",
	    [SFILE_R_AGE] = "_session_expiry seconds",
	    [SFILE_R_DATE] = "_session_expiry date",
	    [SFILE_R_NON_ASCII] = "non-ASCII content",
	    [SFILE_R_DECODE] = "decode() raises",
	    [SFILE_R_NOT_DICT] = "payload is not a dict",
	    [SFILE_R_EXPIRY_TYPE] = "_session_expiry of an unusable type",
	    [SFILE_R_BAD_DATE] = "_session_expiry is not an ISO date",
	    [SFILE_R_TZ_MISMATCH] = "naive/aware datetime mismatch",
	    [SFILE_R_DATE_RANGE] = "date out of range",
	    [SFILE_R_SPECIAL] = "fifo or device",
	    [SFILE_R_TOO_LARGE] = "too large",
	    [SFILE_R_PAYLOAD] = "payload not decodable exactly",
	    [SFILE_R_OPAQUE_EXPIRY] = "pickled _session_expiry",
	};

	return (unsigned)r < SFILE_REASON_COUNT ? names[r] : "?";
}

const char *
sfile_outcome_str(enum sfile_outcome o)
{
	switch (o) {
	case SFILE_KEPT:
		return "kept";
	case SFILE_REMOVED:
		return "removed";
	case SFILE_CHANGED:
		return "changed";
	case SFILE_FAILED:
		return "failed";
	}
	return "?";
}

static int
key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* The name rules of clear_expired() and _key_to_file(). */
static enum sfile_reason
name_reason(const char *name, const char *prefix, size_t plen)
{
	const char *key = name + plen;
	size_t i, klen;

	if (strncmp(name, prefix, plen))
		return SFILE_R_PREFIX;
	klen = strlen(key);
	/* _validate_session_key(): a short key becomes None */
	if (klen < KEY_MIN)
		return SFILE_R_SHORT_KEY;
	for (i = 0; i < klen; i++)
		if (!key_char(key[i]))
			return strstr(key, "_out_") ? SFILE_R_TEMPFILE
			                            : SFILE_R_BAD_CHARS;
	return SFILE_R_NONE;
}

int
sfile_is_session_name(const char *name, const char *prefix)
{
	return name_reason(name, prefix, strlen(prefix)) == SFILE_R_NONE;
}

static void
make_hint(struct sbuf *hint, const char *name, size_t plen)
{
	size_t len = strlen(name), keep;

	if (plen > len)
		plen = 0;
	keep = (len - plen) / 2;
	if (keep > HINT_KEY_CHARS)
		keep = HINT_KEY_CHARS;
	sbuf_reset(hint);
	sbuf_add(hint, name, plen + keep);
	if (plen + keep < len)
		sbuf_adds(hint, "...");
}

/*
 * Read the whole file: one read() of st_size + 1 bytes normally suffices
 * (a short read of a regular file that reached st_size is its end, so no
 * second read() to see EOF); more only if the file changed size since
 * fstat() or a read came back short before st_size.
 */
static int
read_all(int fd, size_t expect, struct sbuf *out)
{
	size_t want = expect + 1;

	sbuf_reset(out);
	for (;;) {
		ssize_t n;

		if (out->alloc - out->len < want + 1)
			sbuf_grow(out, want);
		n = read(fd, out->buf + out->len, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		sbuf_setlen(out, out->len + (size_t)n);
		if (out->len > SFILE_MAX_READ) {
			errno = EFBIG;
			return -1;
		}
		if (n == 0 || ((size_t)n < want && out->len >= expect))
			return 0;
		if ((size_t)n == want)
			want = 65536;
		else
			want -= (size_t)n;
	}
}

static int
all_ascii(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] >= 0x80)
			return 0;
	return 1;
}

/* floor((a - b) / 1s) without overflow surprises */
static int64_t
age_of(int64_t expiry, int64_t now)
{
	return pydt_floor_seconds(expiry - now);
}

/* Expiry from the file's mtime: _last_modification() + cookie age. */
static void
mtime_rule(struct ctx *c, const struct stat *sb, struct sfile_entry *ent)
{
	int64_t sec, wall, add, exp;
	int usec;

	pydt_stat_time(&sb->st_mtim, &sec, &usec);
	if (c->use_tz) {
		if (sec > INT64_MAX / PYDT_US - 1 ||
		    sec < INT64_MIN / PYDT_US + 1) {
			ent->verdict = SFILE_CRASH;
			ent->reason = SFILE_R_DATE_RANGE;
			return;
		}
		wall = sec * PYDT_US + usec;
	} else if (pydt_local(sec, usec, &wall)) {
		/* localtime() failing is an OSError: load() keeps it */
		ent->verdict = SFILE_NOT_SESSION;
		ent->reason = SFILE_R_UNREADABLE;
		ent->err = EOVERFLOW;
		return;
	}
	if (!pydt_in_range(wall) ||
	    __builtin_mul_overflow(c->o->cookie_age, PYDT_US, &add) ||
	    __builtin_add_overflow(wall, add, &exp) || !pydt_in_range(exp)) {
		ent->verdict = SFILE_CRASH;
		ent->reason = SFILE_R_DATE_RANGE;
		return;
	}
	ent->has_age = 1;
	ent->age = age_of(exp, c->use_tz ? c->now_us : c->now_wall);
	ent->reason = SFILE_R_MTIME;
	ent->verdict = ent->age <= 0 ? SFILE_EXPIRED : SFILE_LIVE;
}

static int
json_falsy(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return 1;
	case JSON_INTEGER:
		return json_integer_value(v) == 0;
	case JSON_REAL:
		return json_real_value(v) == 0.0;
	case JSON_STRING:
		return json_string_length(v) == 0;
	case JSON_ARRAY:
		return json_array_size(v) == 0;
	case JSON_OBJECT:
		return json_object_size(v) == 0;
	default:
		return 0;
	}
}

/* get_expiry_age(expiry=_expiry_date(session_data)) and the <= 0 test */
static void
expiry_rule(struct ctx *c, const json_t *data, const struct stat *sb,
            struct sfile_entry *ent)
{
	const json_t *e = json_object_get(data, "_session_expiry");
	struct pydt d;
	double r;

	if (!e || json_falsy(e)) {
		mtime_rule(c, sb, ent);
		return;
	}
	ent->reason = SFILE_R_AGE;
	switch (json_typeof(e)) {
	case JSON_TRUE:
		ent->has_age = 1;
		ent->age = 1;
		ent->verdict = SFILE_LIVE;
		return;
	case JSON_INTEGER:
		ent->has_age = 1;
		ent->age = json_integer_value(e);
		ent->verdict = ent->age <= 0 ? SFILE_EXPIRED : SFILE_LIVE;
		return;
	case JSON_REAL:
		r = json_real_value(e);
		ent->has_age = 1;
		ent->age = r >= 9.2e18    ? INT64_MAX
		           : r <= -9.2e18 ? INT64_MIN
		                          : (int64_t)floor(r);
		ent->verdict = r <= 0 ? SFILE_EXPIRED : SFILE_LIVE;
		return;
	case JSON_STRING:
		break;
	default:
		/* [1] <= 0, {"a": 1} <= 0: TypeError */
		ent->verdict = SFILE_CRASH;
		ent->reason = SFILE_R_EXPIRY_TYPE;
		return;
	}
	if (c->o->version == DJANGO_3_2) {
		/* 3.2 returns the str itself: '<=' between str and int */
		ent->verdict = SFILE_CRASH;
		ent->reason = SFILE_R_EXPIRY_TYPE;
		return;
	}
	if (pydt_fromisoformat(json_string_value(e), json_string_length(e),
	                       &d)) {
		ent->verdict = SFILE_CRASH;
		ent->reason = SFILE_R_BAD_DATE;
		return;
	}
	if (d.aware != c->use_tz) {
		ent->verdict = SFILE_CRASH;
		ent->reason = SFILE_R_TZ_MISMATCH;
		return;
	}
	ent->reason = SFILE_R_DATE;
	ent->has_age = 1;
	ent->age = d.aware ? age_of(d.us - d.offset_us, c->now_us)
	                   : age_of(d.us, c->now_wall);
	ent->verdict = ent->age <= 0 ? SFILE_EXPIRED : SFILE_LIVE;
}

/* load(): decode the content and decide. */
static void
decide_content(struct ctx *c, const struct stat *sb, struct sfile_entry *ent)
{
	struct djsign_result res;

	if (!all_ascii(c->buf.buf, c->buf.len)) {
		ent->verdict = SFILE_CRASH;
		ent->reason = SFILE_R_NON_ASCII;
		return;
	}
	if (c->buf.len == 0) {
		/* "if file_data:" skips decoding and the expiry check */
		ent->verdict = SFILE_LIVE;
		ent->reason = SFILE_R_EMPTY;
		return;
	}
	/*
	 * Most files are decided here without the key: decode() gives {} or
	 * a dict without "_session_expiry" whatever the signature says (the
	 * proof is in djsign.c). Text with '\r' is left to the full decoder:
	 * Python's universal newlines change its length, hence base64's
	 * padding.
	 */
	if (!memchr(c->buf.buf, '\r', c->buf.len) &&
	    djsign_no_expiry(c->sc, c->o->version, c->o->serializer, c->buf.buf,
	                     c->buf.len)) {
		mtime_rule(c, sb, ent);
		return;
	}
	/*
	 * Python reads in text mode (universal newlines); a '\r' can only
	 * sit where it already breaks the signature or is skipped by
	 * base64, so the raw bytes decide the same way.
	 */
	djsign_decode(c->ds, c->o->version, c->o->serializer, c->buf.buf,
	              c->buf.len, &res);
	ent->decoded = 1;
	ent->how = res.how;
	switch (res.how) {
	case DJSIGN_CRASH:
		ent->verdict = SFILE_CRASH;
		ent->reason = SFILE_R_DECODE;
		break;
	case DJSIGN_UNSURE:
		ent->verdict = SFILE_UNSURE;
		ent->reason = SFILE_R_PAYLOAD;
		break;
	case DJSIGN_BAD_SIGNATURE:
	case DJSIGN_UNDECODABLE:
		mtime_rule(c, sb, ent);
		break;
	case DJSIGN_SIGNED:
	case DJSIGN_LEGACY:
		if (res.opaque) {
			if (res.mentions_expiry) {
				ent->verdict = SFILE_UNSURE;
				ent->reason = SFILE_R_OPAQUE_EXPIRY;
			} else {
				mtime_rule(c, sb, ent);
			}
		} else if (!json_is_object(res.value)) {
			ent->verdict = SFILE_CRASH;
			ent->reason = SFILE_R_NOT_DICT;
		} else {
			expiry_rule(c, res.value, sb, ent);
		}
		break;
	}
	djsign_result_release(&res);
}

static void
set_stat(struct sfile_entry *ent, const struct stat *sb)
{
	ent->has_stat = 1;
	ent->size = (int64_t)sb->st_size;
	ent->mtime_us =
	    (int64_t)sb->st_mtim.tv_sec * PYDT_US + sb->st_mtim.tv_nsec / 1000;
}

/*
 * Close the descriptors of files already read: one close_range() per run
 * of consecutive numbers (a run made only of our descriptors holds nothing
 * else). It saves most of a system call per file, a large part of the
 * cost on tmpfs; a worker thread has its own descriptor table (work_side)
 * so that its numbers stay consecutive.
 */
static void
release_fds(struct ctx *c)
{
	size_t i, j, k;

	for (i = 1; i < c->nheld; i++) { /* mostly ascending already */
		int fd = c->held[i];

		for (j = i; j > 0 && c->held[j - 1] > fd; j--)
			c->held[j] = c->held[j - 1];
		c->held[j] = fd;
	}
	for (i = 0; i < c->nheld; i = j) {
		for (j = i + 1;
		     j < c->nheld && c->held[j] == c->held[j - 1] + 1; j++)
			;
		if (j - i > 1 && close_range((unsigned)c->held[i],
		                             (unsigned)c->held[j - 1], 0) == 0)
			continue;
		for (k = i; k < j; k++)
			close(c->held[k]);
	}
	c->nheld = 0;
}

static void
hold_fd(struct ctx *c, int fd)
{
	if (c->nheld == FD_HOLD)
		release_fds(c);
	c->held[c->nheld++] = fd;
}

static int
open_entry(struct ctx *c, const char *name, int flags)
{
	int fd, retried = 0;

again:
	fd = -1;
	/*
	 * Reading must not dirty 100,000 inodes with atime updates; only
	 * the owner (or CAP_FOWNER) may ask, so fall back when refused.
	 */
	if (!c->no_noatime) {
		fd = openat(c->dfd, name, flags | O_NOATIME);
		if (fd < 0 && errno == EPERM)
			c->no_noatime = 1;
	}
	if (fd < 0 && (c->no_noatime || errno == EPERM))
		fd = openat(c->dfd, name, flags);
	if (fd < 0 && errno == EMFILE && c->nheld && !retried) {
		release_fds(c); /* held descriptors must not cost a verdict */
		retried = 1;
		goto again;
	}
	return fd;
}

static void
classify(struct ctx *c, const char *name, unsigned char dtype,
         struct sfile_entry *ent, struct seen *seen)
{
	int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	struct stat lst, tst;
	int fd;

	ent->reason = name_reason(name, c->o->prefix, c->plen);
	if (ent->reason != SFILE_R_NONE) {
		ent->verdict = SFILE_NOT_SESSION;
		return;
	}
	if (dtype == DT_UNKNOWN || dtype == DT_LNK) {
		if (fstatat(c->dfd, name, &lst, AT_SYMLINK_NOFOLLOW)) {
			ent->verdict = SFILE_NOT_SESSION;
			ent->reason = SFILE_R_UNREADABLE;
			ent->err = errno;
			return;
		}
		seen->is_link = S_ISLNK(lst.st_mode);
		seen->link_dev = lst.st_dev;
		seen->link_ino = lst.st_ino;
		if (!seen->is_link)
			dtype = DT_REG; /* decided by fstat below */
	}
	ent->symlink = seen->is_link;
	if (seen->is_link && c->o->no_follow) {
		ent->verdict = SFILE_NOT_SESSION;
		ent->reason = SFILE_R_SYMLINK;
		return;
	}
	switch (dtype) {
	case DT_DIR:
		ent->verdict = SFILE_NOT_SESSION;
		ent->reason = SFILE_R_DIRECTORY;
		return;
	case DT_SOCK:
		ent->verdict = SFILE_NOT_SESSION;
		ent->reason = SFILE_R_UNREADABLE;
		ent->err = ENXIO;
		return;
	case DT_FIFO:
	case DT_CHR:
	case DT_BLK:
		ent->verdict = SFILE_UNSURE;
		ent->reason = SFILE_R_SPECIAL;
		return;
	}
	if (c->o->no_follow)
		flags |= O_NOFOLLOW;
	fd = open_entry(c, name, flags);
	if (fd < 0) {
		ent->verdict = SFILE_NOT_SESSION;
		ent->reason = errno == ELOOP && c->o->no_follow
		                  ? SFILE_R_SYMLINK
		                  : SFILE_R_UNREADABLE;
		ent->err = errno;
		return;
	}
	if (fstat(fd, &tst)) {
		ent->verdict = SFILE_NOT_SESSION;
		ent->reason = SFILE_R_UNREADABLE;
		ent->err = errno;
		goto out;
	}
	seen->opened = 1;
	seen->dev = tst.st_dev;
	seen->ino = tst.st_ino;
	seen->size = tst.st_size;
	seen->mtim = tst.st_mtim;
	if (S_ISDIR(tst.st_mode)) {
		ent->verdict = SFILE_NOT_SESSION;
		ent->reason = SFILE_R_DIRECTORY;
		goto out;
	}
	if (!S_ISREG(tst.st_mode)) {
		ent->verdict = SFILE_UNSURE;
		ent->reason = SFILE_R_SPECIAL;
		goto out;
	}
	set_stat(ent, &tst);
	if ((uint64_t)tst.st_size > SFILE_MAX_READ) {
		ent->verdict = SFILE_UNSURE;
		ent->reason = SFILE_R_TOO_LARGE;
		goto out;
	}
	if (read_all(fd, (size_t)tst.st_size, &c->buf)) {
		if (errno == EFBIG) {
			ent->verdict = SFILE_UNSURE;
			ent->reason = SFILE_R_TOO_LARGE;
		} else {
			ent->verdict = SFILE_NOT_SESSION;
			ent->reason = SFILE_R_UNREADABLE;
			ent->err = errno;
		}
		goto out;
	}
	decide_content(c, &tst, ent);
out:
	hold_fd(c, fd);
}

static int
same_file(const struct stat *a, const struct seen *b)
{
	return a->st_dev == b->dev && a->st_ino == b->ino &&
	       a->st_size == b->size && a->st_mtim.tv_sec == b->mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->mtim.tv_nsec;
}

/* Is the entry still what was read? (Django writes by rename.) */
static int
unchanged(struct ctx *c, const char *name, const struct seen *seen)
{
	struct stat now;

	if (fstatat(c->dfd, name, &now, AT_SYMLINK_NOFOLLOW))
		return 0;
	if (seen->is_link) {
		if (!S_ISLNK(now.st_mode) || now.st_ino != seen->link_ino ||
		    now.st_dev != seen->link_dev)
			return 0;
		if (fstatat(c->dfd, name, &now, 0))
			return 0;
	} else if (!S_ISREG(now.st_mode)) {
		return 0;
	}
	return same_file(&now, seen);
}

static int
wanted(const struct ctx *c, const struct sfile_entry *ent)
{
	switch (c->act) {
	case SFILE_PURGE_EXPIRED:
		return ent->verdict == SFILE_EXPIRED;
	case SFILE_CLEAR:
		/* every regular file with a session name */
		return ent->verdict != SFILE_NOT_SESSION && ent->has_stat;
	default:
		return 0;
	}
}

static void
act_on(struct ctx *c, const char *name, const struct seen *seen,
       struct sfile_entry *ent)
{
	if (!wanted(c, ent))
		return;
	if (!seen->opened || !unchanged(c, name, seen)) {
		ent->outcome = SFILE_CHANGED;
		return;
	}
	if (!c->o->dry_run && unlinkat(c->dfd, name, 0)) {
		ent->err = errno;
		ent->outcome = errno == ENOENT ? SFILE_CHANGED : SFILE_FAILED;
		return;
	}
	ent->outcome = SFILE_REMOVED;
}

static void
count(struct ctx *c, const struct sfile_entry *ent)
{
	struct sfile_stats *st = c->st;

	if (!st)
		return;
	st->entries++;
	st->verdicts[ent->verdict]++;
	st->reasons[ent->reason]++;
	if (ent->has_stat)
		st->bytes[ent->verdict] += (uint64_t)ent->size;
	if (ent->verdict != SFILE_NOT_SESSION && ent->has_stat) {
		if (!st->sessions || ent->mtime_us < st->oldest_us)
			st->oldest_us = ent->mtime_us;
		if (!st->sessions || ent->mtime_us > st->newest_us)
			st->newest_us = ent->mtime_us;
		st->sessions++;
	}
	switch (ent->outcome) {
	case SFILE_REMOVED:
		st->removed++;
		st->removed_bytes += (uint64_t)ent->size;
		break;
	case SFILE_CHANGED:
		st->changed++;
		break;
	case SFILE_FAILED:
		st->failed++;
		break;
	case SFILE_KEPT:
		break;
	}
}

struct name_list {
	char *arena;
	size_t len, alloc;
	size_t *offs; /* name offsets; type byte precedes a name */
	size_t n, nalloc;
};

static void
list_add(struct name_list *l, const char *name, unsigned char type)
{
	size_t nlen = strlen(name) + 2;

	XGROW(l->arena, l->alloc, l->len + nlen);
	XGROW(l->offs, l->nalloc, l->n + 1);
	l->arena[l->len] = (char)type;
	memcpy(l->arena + l->len + 1, name, nlen - 1);
	l->offs[l->n++] = l->len + 1;
	l->len += nlen;
}

/* After classify(): act, then report the entry (in directory order). */
static int
commit(struct ctx *c, const char *name, struct sfile_entry *ent,
       const struct seen *seen, sfile_visit_fn visit, void *data)
{
	act_on(c, name, seen, ent);
	make_hint(&c->hint, name, ent->reason == SFILE_R_PREFIX ? 0 : c->plen);
	ent->hint = c->hint.buf;
	ent->name = c->o->with_names ? name : NULL;
	count(c, ent);
	return visit ? visit(ent, data) : 0;
}

static int
process(struct ctx *c, const char *name, unsigned char dtype,
        sfile_visit_fn visit, void *data)
{
	struct sfile_entry ent;
	struct seen seen;

	memset(&ent, 0, sizeof(ent));
	memset(&seen, 0, sizeof(seen));
	classify(c, name, dtype, &ent, &seen);
	return commit(c, name, &ent, &seen, visit, data);
}

/*
 * Session files are classified by up to MAX_WORKERS threads (open, fstat,
 * read and decode dominate, and they are independent), in batches claimed
 * in order. Acting on them, counting and visiting stay strictly in
 * directory order, on the calling thread only (so callbacks never run
 * elsewhere): between its own batches it commits every batch that is
 * ready. Workers stay at most WINDOW batches ahead of the commits, so
 * memory does not grow with the directory. When visit stops the run, no
 * later entry is acted on or visited (a few may have been read).
 */
#define MAX_WORKERS 2
#define BATCH 256
#define WINDOW 16

struct rec {
	struct sfile_entry ent;
	struct seen seen;
};

struct pool {
	struct ctx *c; /* the committing side (hint, stats, action) */
	const struct name_list *names;
	sfile_visit_fn visit;
	void *data;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t nbatches;
	size_t claimed;       /* batches handed to a worker */
	size_t committed;     /* batches acted on and visited */
	size_t ready[WINDOW]; /* batch + 1 once classified, else 0 */
	int stop;             /* no more batches: done, or visit stopped */
	int stopped;          /* visit asked to stop */
	struct rec *slots;    /* WINDOW * BATCH */
};

static const char *
list_name(const struct name_list *l, size_t i)
{
	return l->arena + l->offs[i];
}

static void
classify_batch(struct pool *p, struct ctx *w, size_t b)
{
	struct rec *r = p->slots + (b % WINDOW) * BATCH;
	size_t i, end = (b + 1) * BATCH;

	if (end > p->names->n)
		end = p->names->n;
	for (i = b * BATCH; i < end; i++, r++) {
		const char *name = list_name(p->names, i);

		memset(r, 0, sizeof(*r));
		classify(w, name, (unsigned char)name[-1], &r->ent, &r->seen);
	}
}

/* Returns 1 when visit stopped the run. */
static int
commit_batch(struct pool *p, size_t b)
{
	const struct sfile_opts *o = p->c->o;
	struct rec *r = p->slots + (b % WINDOW) * BATCH;
	size_t i, end = (b + 1) * BATCH, n = p->names->n;

	if (end > n)
		end = n;
	for (i = b * BATCH; i < end; i++, r++) {
		if (commit(p->c, list_name(p->names, i), &r->ent, &r->seen,
		           p->visit, p->data))
			return 1;
		if (o->progress && (i + 1) % PROGRESS_EVERY == 0)
			o->progress(i + 1, n, o->progress_data);
	}
	return 0;
}

/* The calling thread: classify batches and commit the ready ones. */
static void
work_main(struct pool *p, struct ctx *c)
{
	size_t b;
	int stop;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->committed < p->nbatches &&
		       p->ready[p->committed % WINDOW] == p->committed + 1) {
			b = p->committed;
			pthread_mutex_unlock(&p->mu);
			stop = commit_batch(p, b);
			pthread_mutex_lock(&p->mu);
			p->ready[b % WINDOW] = 0;
			p->committed++;
			if (stop)
				p->stop = p->stopped = 1;
			pthread_cond_broadcast(&p->cv);
		}
		if (p->stop || p->committed >= p->nbatches)
			break;
		if (p->claimed < p->nbatches &&
		    p->claimed < p->committed + WINDOW) {
			b = p->claimed++;
			pthread_mutex_unlock(&p->mu);
			classify_batch(p, c, b);
			pthread_mutex_lock(&p->mu);
			p->ready[b % WINDOW] = b + 1;
			continue;
		}
		/* the next batch to commit is a worker's: wait for it */
		pthread_cond_wait(&p->cv, &p->mu);
	}
	p->stop = 1; /* wakes and ends the workers (all is claimed anyway) */
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	release_fds(c);
}

/* Another thread: classify batches only. */
static void
work_side(struct pool *p, struct ctx *w)
{
	size_t b;

	/*
	 * A descriptor table of its own keeps the numbers it opens
	 * consecutive (release_fds). Only files it reads live there; no
	 * callback runs on this thread. (ThreadSanitizer does not model
	 * per-thread tables: it reports races between this thread's close()
	 * and the caller's use of the same numbers, which are other files.)
	 */
	(void)unshare(CLONE_FILES);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->claimed < p->nbatches &&
		       p->claimed >= p->committed + WINDOW)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop || p->claimed >= p->nbatches)
			break;
		b = p->claimed++;
		pthread_mutex_unlock(&p->mu);
		classify_batch(p, w, b);
		pthread_mutex_lock(&p->mu);
		p->ready[b % WINDOW] = b + 1;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	release_fds(w);
}

struct worker {
	struct pool *p;
	struct ctx w;
	pthread_t tid;
};

static void *
worker_main(void *arg)
{
	struct worker *wk = arg;

	work_side(wk->p, &wk->w);
	return NULL;
}

/* A worker's own read buffer and decoder scratch; the rest is shared. */
static void
worker_ctx(struct ctx *w, const struct ctx *c)
{
	*w = *c;
	sbuf_init(&w->buf, 4096);
	sbuf_init(&w->hint, 0);
	w->sc = djsign_scratch_new();
	w->nheld = 0;
}

static void
worker_ctx_release(struct ctx *w)
{
	sbuf_release(&w->buf);
	sbuf_release(&w->hint);
	djsign_scratch_free(w->sc);
}

/* Classify and commit every listed name; 1 when visit stopped the run. */
static int
run_names(struct ctx *c, const struct name_list *names, sfile_visit_fn visit,
          void *data)
{
	struct pool p;
	struct worker wk[MAX_WORKERS - 1];
	size_t nthreads = 0, i;
	cpu_set_t cpus;
	long ncpu = 1;

	memset(&p, 0, sizeof(p));
	p.c = c;
	p.names = names;
	p.visit = visit;
	p.data = data;
	p.nbatches = (names->n + BATCH - 1) / BATCH;
	p.slots = xcalloc(WINDOW * BATCH, sizeof(*p.slots));
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	/* the CPUs this process may use (taskset, cgroups), not all online */
	if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0)
		ncpu = CPU_COUNT(&cpus);
	for (i = 0;
	     i + 1 < MAX_WORKERS && (long)i + 1 < ncpu && i + 1 < p.nbatches;
	     i++) {
		wk[i].p = &p;
		worker_ctx(&wk[i].w, c);
		if (pthread_create(&wk[i].tid, NULL, worker_main, &wk[i])) {
			worker_ctx_release(&wk[i].w);
			break; /* fewer threads: same result */
		}
		nthreads++;
	}
	work_main(&p, c);
	for (i = 0; i < nthreads; i++) {
		pthread_join(wk[i].tid, NULL);
		worker_ctx_release(&wk[i].w);
	}
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.cv);
	free(p.slots);
	return p.stopped;
}

struct tz_saved {
	int changed;
	char *old; /* previous TZ, NULL when unset */
};

static int
tz_enter(const char *tz, struct tz_saved *sv, struct err *e)
{
	struct sbuf path = SBUF_INIT;
	const char *old;
	int ok;

	sv->changed = 0;
	sv->old = NULL;
	if (!tz)
		return 0;
	/* Django refuses a TIME_ZONE without a zoneinfo file */
	sbuf_addf(&path, "/usr/share/zoneinfo/%s", tz);
	ok = *tz && tz[0] != '/' && !strstr(tz, "..") &&
	     access(path.buf, R_OK) == 0;
	sbuf_release(&path);
	if (!ok)
		return err_set(e, ERR_BADVALUE, "unknown time zone '%s'", tz);
	old = getenv("TZ");
	sv->old = old ? xstrdup(old) : NULL;
	sv->changed = 1;
	setenv("TZ", tz, 1);
	tzset();
	return 0;
}

static void
tz_leave(struct tz_saved *sv)
{
	if (!sv->changed)
		return;
	if (sv->old)
		setenv("TZ", sv->old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(sv->old);
}

int
sfile_run(const char *dir, const struct sfile_opts *o, enum sfile_action act,
          sfile_visit_fn visit, void *data, struct sfile_stats *st,
          struct err *e)
{
	struct ctx c;
	struct name_list names = {NULL, 0, 0, NULL, 0, 0};
	struct tz_saved tzs = {0, NULL};
	DIR *d = NULL;
	struct dirent *de;
	int64_t now_sec;
	int now_usec, ret = -1, stop = 0;

	memset(&c, 0, sizeof(c));
	c.dfd = -1;
	sbuf_init(&c.buf, 4096);
	sbuf_init(&c.hint, 64);
	if (st)
		memset(st, 0, sizeof(*st));
	if (!o->prefix || !o->secrets || o->nsecrets == 0) {
		err_set(e, ERR_USAGE,
		        "session scan needs a prefix and a "
		        "secret key");
		goto out;
	}
	c.o = o;
	c.act = act;
	c.st = st;
	c.plen = strlen(o->prefix);
	c.use_tz = o->use_tz >= 0 ? !!o->use_tz : o->version == DJANGO_5_2;
	c.now_us = o->now_us;
	if (!c.use_tz) {
		if (tz_enter(o->time_zone, &tzs, e))
			goto out;
		/* datetime.now(): floor to microseconds, then localtime */
		now_sec = pydt_floor_seconds(o->now_us);
		now_usec = (int)(o->now_us - now_sec * PYDT_US);
		if (pydt_local(now_sec, now_usec, &c.now_wall)) {
			err_set(e, ERR_BADVALUE,
			        "cannot convert now to local "
			        "time");
			goto out;
		}
	}
	if (djsign_load(e) < 0)
		goto out;
	c.ds = djsign_new(DJSIGN_SESSION_STORE, o->secrets, o->nsecrets);
	c.sc = djsign_scratch_new();
	c.dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c.dfd < 0) {
		err_errno(e, ERR_IO, errno,
		          "cannot open session directory "
		          "'%s'",
		          dir);
		goto out;
	}
	d = fdopendir(dup(c.dfd));
	if (!d) {
		err_errno(e, ERR_IO, errno,
		          "cannot read session directory "
		          "'%s'",
		          dir);
		goto out;
	}
	/*
	 * List first (like os.listdir) so that unlinking never disturbs
	 * readdir; names without the prefix are reported right away.
	 */
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (strncmp(de->d_name, o->prefix, c.plen)) {
			if (!stop &&
			    process(&c, de->d_name, de->d_type, visit, data))
				stop = 1;
			continue;
		}
		list_add(&names, de->d_name, de->d_type);
	}
	if (errno) {
		err_errno(e, ERR_IO, errno,
		          "cannot read session directory "
		          "'%s'",
		          dir);
		goto out;
	}
	if (!stop && run_names(&c, &names, visit, data))
		stop = 1;
	if (o->progress && !stop)
		o->progress(names.n, names.n, o->progress_data);
	ret = stop ? 1 : 0;
out:
	if (d)
		closedir(d);
	if (c.dfd >= 0)
		close(c.dfd);
	tz_leave(&tzs);
	djsign_free(c.ds);
	djsign_scratch_free(c.sc);
	sbuf_release(&c.buf);
	sbuf_release(&c.hint);
	free(names.arena);
	free(names.offs);
	return ret;
}
