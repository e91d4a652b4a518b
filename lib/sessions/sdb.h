/*
 * Django's database session store (db and cached_db engines): the
 * django_session table in DATABASES['default'] (SQLite or PostgreSQL),
 * counted, listed, purged with Django's own condition (expire_date < now,
 * now as Django computes and adapts it) or cleared. libsqlite3 and libpq
 * are opened with lazylib on first use.
 */
#ifndef OWCTL_SDB_H
#define OWCTL_SDB_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "strv.h"

enum sdb_kind {
	SDB_SQLITE,
	SDB_POSTGRES,
};

struct sdb_target {
	enum sdb_kind kind;
	char *engine;	     /* ENGINE as configured */
	char *shown;	     /* the file, or "user@host:port/name" */
	char *path;	     /* SQLite NAME */
	char *role;	     /* OPTIONS assume_role (SET ROLE), or NULL */
	struct strv keys;    /* libpq keywords ... */
	struct strv values;  /* ... and their values (password wiped) */
};

/*
 * DATABASES['default'] (a JSON object, DATABASES as a whole): SQLite
 * (NAME must be an absolute path) or PostgreSQL: NAME, OPTIONS (strings
 * and integers; not Django's own isolation_level, server_side_binding,
 * pool; assume_role goes to t->role), then USER, PASSWORD, HOST and PORT
 * become libpq parameters in that order, so that Django's settings win
 * over OPTIONS as in Django. Other engines, or no default database, fail
 * with ERR_SESS_CONFIG. t must be released with sdb_target_release() in
 * every case.
 */
int sdb_parse(const json_t *databases, struct sdb_target *t, struct err *e);
void sdb_target_release(struct sdb_target *t);

enum sdb_action {
	SDB_SCAN,	   /* count (and list through visit) */
	SDB_PURGE_EXPIRED, /* DELETE ... WHERE expire_date < now */
	SDB_CLEAR,	   /* DELETE every row */
};

struct sdb_opts {
	enum sdb_action act;
	int dry_run;	       /* count what would be deleted */
	int use_tz;	       /* USE_TZ in effect */
	const char *time_zone; /* TIME_ZONE (USE_TZ False) */
	int64_t now_us;	       /* now, UTC epoch microseconds */
};

#define SDB_OPTS_INIT { SDB_SCAN, 0, 1, NULL, 0 }

struct sdb_entry {
	const char *hint;	 /* first 8 characters of the key + "..." */
	int64_t size;		 /* length of session_data */
	const char *expire_date; /* as the database returns it */
	int expired;		 /* expire_date < now */
};

typedef int (*sdb_visit_fn)(const struct sdb_entry *ent, void *data);

struct sdb_stats {
	size_t rows, expired, removed;
	uint64_t bytes;
	char min_expire[64], max_expire[64];
	char now[64]; /* the "now" compared with, as bound */
};

/*
 * Open the database (read-only for SDB_SCAN and dry runs), read the
 * statistics, call visit (may be NULL) for each row ordered by
 * expire_date, then apply act. Fails with ERR_SESS_STORE when the
 * database cannot be opened or queried (no table: Django's migrations
 * have not run), with the library's message.
 */
int sdb_run(const struct sdb_target *t, const struct sdb_opts *o,
	    sdb_visit_fn visit, void *data, struct sdb_stats *st,
	    struct err *e);

/*
 * "now" as Django binds it for this comparison: str() of the naive UTC
 * datetime (USE_TZ) or of the naive local time in time_zone, without
 * ".ffffff" when the microseconds are 0 (Python's str(datetime)); with
 * aware set, "+00:00" is appended (PostgreSQL). Exposed for tests.
 */
int sdb_django_now(int64_t now_us, int use_tz, const char *time_zone,
		   int aware, char *buf, size_t size);

#endif
