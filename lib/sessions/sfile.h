/*
 * Django's file session store (django.contrib.sessions.backends.file, also
 * omeroweb.filesessionstore): classify every entry of the session directory
 * exactly as Django 3.2 / 4.2 / 5.2 clearsessions would treat it, and
 * remove the expired ones (purge) or every session file (clear).
 */
#ifndef OWCTL_SFILE_H
#define OWCTL_SFILE_H

#include <stddef.h>
#include <stdint.h>

#include "djsign.h"
#include "err.h"

enum sfile_verdict {
	SFILE_NOT_SESSION, /* clearsessions skips it (see reason) */
	SFILE_LIVE,        /* a session clearsessions keeps */
	SFILE_EXPIRED,     /* clearsessions would unlink it */
	SFILE_CRASH,       /* clearsessions would raise here and abort */
	SFILE_UNSURE,      /* cannot be decided exactly; never removed */
	SFILE_VERDICT_COUNT
};

enum sfile_reason {
	SFILE_R_NONE,
	/* SFILE_NOT_SESSION */
	SFILE_R_PREFIX,     /* name does not start with the prefix */
	SFILE_R_SHORT_KEY,  /* key shorter than 8 characters */
	SFILE_R_TEMPFILE,   /* Django's temporary "<prefix><key>_out_..." */
	SFILE_R_BAD_CHARS,  /* key has characters outside [a-z0-9] */
	SFILE_R_DIRECTORY,  /* open() gives IsADirectoryError */
	SFILE_R_UNREADABLE, /* open/read/localtime fails (errno in err) */
	SFILE_R_SYMLINK,    /* a symlink, refused with no_follow */
	/* SFILE_LIVE, SFILE_EXPIRED */
	SFILE_R_EMPTY, /* empty placeholder: never expires */
	SFILE_R_MTIME, /* expiry = mtime + cookie age */
	SFILE_R_AGE,   /* number _session_expiry is the age itself */
	SFILE_R_DATE,  /* ISO date _session_expiry (4.2, 5.2) */
	/* SFILE_CRASH */
	SFILE_R_NON_ASCII,   /* UnicodeDecodeError reading the file */
	SFILE_R_DECODE,      /* decode() raises (3.2 _legacy_decode) */
	SFILE_R_NOT_DICT,    /* payload is not a dict: .get() fails */
	SFILE_R_EXPIRY_TYPE, /* _session_expiry not comparable with 0 */
	SFILE_R_BAD_DATE,    /* fromisoformat() raises ValueError */
	SFILE_R_TZ_MISMATCH, /* naive and aware datetimes subtracted */
	SFILE_R_DATE_RANGE,  /* datetime out of range (Overflow/ValueError) */
	/* SFILE_UNSURE */
	SFILE_R_SPECIAL,   /* fifo or device: Django would block or read it */
	SFILE_R_TOO_LARGE, /* larger than SFILE_MAX_READ */
	SFILE_R_PAYLOAD,   /* payload Python may decode differently */
	SFILE_R_OPAQUE_EXPIRY, /* pickled session with a _session_expiry */
	SFILE_REASON_COUNT
};

#define SFILE_MAX_READ (16u << 20)

enum sfile_action {
	SFILE_SCAN,          /* classify only (info, list) */
	SFILE_PURGE_EXPIRED, /* unlink exactly the SFILE_EXPIRED entries */
	SFILE_CLEAR,         /* unlink every session file (valid key name,
	                      * regular file), nothing else */
};

/* What happened to an entry the action wanted to remove. */
enum sfile_outcome {
	SFILE_KEPT,    /* not a target of the action */
	SFILE_REMOVED, /* unlinked (or would be, with dry_run) */
	SFILE_CHANGED, /* replaced/modified/removed since it was read:
	                * left alone */
	SFILE_FAILED,  /* unlinkat() failed (errno in err) */
};

struct sfile_opts {
	const char *prefix;         /* SESSION_COOKIE_NAME, e.g. "sessionid" */
	const char *const *secrets; /* SECRET_KEY, then SECRET_KEY_FALLBACKS */
	size_t nsecrets;            /* at least 1 */
	int64_t cookie_age;         /* SESSION_COOKIE_AGE in seconds */
	enum django_version version;
	enum djsign_serializer serializer;
	int use_tz;            /* USE_TZ; -1: the version's default
	                        * (False for 3.2 and 4.2, True for 5.2) */
	const char *time_zone; /* TIME_ZONE for USE_TZ = False (Django
	                        * sets TZ to it); NULL: process TZ */
	int64_t now_us;        /* "now", UTC epoch microseconds */
	int no_follow;         /* refuse symlinks (Django follows them) */
	int dry_run;           /* decide and re-check, never unlink */
	int with_names;        /* put the full name in entries: for
	                        * tests only, it reveals session keys */
	/* Called with entries processed so far and the total; optional. */
	void (*progress)(size_t done, size_t total, void *data);
	void *progress_data;
};

#define SFILE_OPTS_INIT                                                        \
	{                                                                      \
		"sessionid", NULL, 0, 86400, DJANGO_5_2, DJSIGN_JSON, -1,      \
		    NULL, 0, 0, 0, 0, NULL, NULL                               \
	}

/* One directory entry, valid only during the visit callback. */
struct sfile_entry {
	const char *hint; /* prefix + first few key characters + "..."
	                   * (never the whole key) */
	const char *name; /* full name with opts.with_names, else NULL */
	enum sfile_verdict verdict;
	enum sfile_reason reason;
	enum djsign_how how; /* payload decoding (when it was decoded) */
	int decoded;         /* how is meaningful (0 also when the verdict
	                      * was proven without the key: mtime rule) */
	int symlink;         /* the entry is a symlink (followed) */
	int has_stat;        /* size and mtime_us are known */
	int64_t size;
	int64_t mtime_us; /* UTC epoch microseconds */
	int has_age;      /* age is known */
	int64_t age;      /* Django's get_expiry_age() at now (s) */
	enum sfile_outcome outcome;
	int err; /* errno for UNREADABLE and FAILED */
};

struct sfile_stats {
	size_t entries; /* every directory entry */
	size_t verdicts[SFILE_VERDICT_COUNT];
	size_t reasons[SFILE_REASON_COUNT];
	uint64_t bytes[SFILE_VERDICT_COUNT]; /* sizes of stat'ed entries */
	size_t sessions;                     /* files with a session name */
	int64_t oldest_us, newest_us;        /* their mtimes (sessions > 0) */
	size_t removed, changed, failed;     /* outcomes of the action */
	uint64_t removed_bytes;
};

/* A visit callback; non-zero stops the run (sfile_run returns 1). */
typedef int (*sfile_visit_fn)(const struct sfile_entry *ent, void *data);

/*
 * Classify every entry of dir (one readdir pass, one open + fstat + read
 * per candidate, through a directory descriptor) and apply act. visit (may
 * be NULL) sees each entry once, after the action. st (may be NULL) is
 * filled. Per-entry problems are verdicts and outcomes, not errors.
 * Candidates are read and decided by up to two threads (as many as the
 * process may run on); the action, visit, progress and st updates happen
 * one entry at a time in directory order, never concurrently, possibly
 * from the second thread. When visit stops the run, no later entry is
 * acted on or visited (some may have been read).
 * Returns 0, 1 when visit stopped the run, or -1 with e set (directory
 * cannot be read, bad options, unknown time zone, libcrypto missing).
 * With time_zone set and USE_TZ False, TZ is changed during the call and
 * restored afterwards.
 */
int sfile_run(const char *dir, const struct sfile_opts *o,
              enum sfile_action act, sfile_visit_fn visit, void *data,
              struct sfile_stats *st, struct err *e);

/* Static names for verdicts, reasons and outcomes. */
const char *sfile_verdict_str(enum sfile_verdict v);
const char *sfile_reason_str(enum sfile_reason r);
const char *sfile_outcome_str(enum sfile_outcome o);

/* Is name a session file name for prefix (what Django would load)? */
int sfile_is_session_name(const char *name, const char *prefix);

#endif
