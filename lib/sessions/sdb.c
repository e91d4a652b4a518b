/*
 * The django_session table through libsqlite3 or libpq, both opened on
 * first use, with the SQL Django's clearsessions runs.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lazylib.h"
#include "sbuf.h"
#include "sessions/sdb.h"
#include "xalloc.h"
#include "banned.h"

#define HINT_KEY_CHARS 8
#define BUSY_TIMEOUT_MS 5000

void
sdb_target_release(struct sdb_target *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->values.n; i++)
		explicit_bzero(t->values.v[i], strlen(t->values.v[i]));
	strv_release(&t->keys);
	strv_release(&t->values);
	free(t->engine);
	free(t->shown);
	free(t->path);
	free(t->role);
	memset(t, 0, sizeof(*t));
}

static void
param(struct sdb_target *t, const char *key, const json_t *v)
{
	struct sbuf sb = SBUF_INIT;

	if (json_is_string(v) && *json_string_value(v))
		sbuf_adds(&sb, json_string_value(v));
	else if (json_is_integer(v))
		sbuf_addf(&sb, "%lld", (long long)json_integer_value(v));
	else
		return;
	strv_push(&t->keys, key);
	strv_push_nodup(&t->values, sbuf_detach(&sb, NULL));
}

/* The value libpq uses: the last one given for key. */
static const char *
value_of(const struct sdb_target *t, const char *key)
{
	for (size_t i = t->keys.n; i-- > 0;)
		if (!strcmp(t->keys.v[i], key))
			return t->values.v[i];
	return NULL;
}

int
sdb_parse(const json_t *databases, struct sdb_target *t, struct err *e)
{
	const json_t *db, *engine, *name, *opts;

	memset(t, 0, sizeof(*t));
	db = json_is_object(databases) ?
		json_object_get(databases, "default") : NULL;
	if (!json_is_object(db))
		return err_set(e, ERR_SESS_CONFIG, "the db session engines "
			       "need a 'default' database in omero.web."
			       "databases");
	engine = json_object_get(db, "ENGINE");
	if (!json_is_string(engine))
		return err_set(e, ERR_SESS_CONFIG, "the 'default' database "
			       "in omero.web.databases has no ENGINE");
	t->engine = xstrdup(json_string_value(engine));
	name = json_object_get(db, "NAME");
	if (!strcmp(t->engine, "django.db.backends.sqlite3")) {
		t->kind = SDB_SQLITE;
		if (!json_is_string(name) ||
		    json_string_value(name)[0] != '/')
			return err_set(e, ERR_SESS_CONFIG, "the SQLite NAME in "
				       "omero.web.databases must be an "
				       "absolute path (a relative one depends "
				       "on OMERO.web's working directory)");
		t->path = xstrdup(json_string_value(name));
		t->shown = xstrdup(t->path);
		return 0;
	}
	if (strcmp(t->engine, "django.db.backends.postgresql") &&
	    strcmp(t->engine, "django.db.backends.postgresql_psycopg2"))
		return err_set(e, ERR_SESS_CONFIG, "database engine '%s' is "
			       "not supported (SQLite and PostgreSQL are)",
			       t->engine);
	t->kind = SDB_POSTGRES;
	/*
	 * Django's order: {"dbname": NAME, **OPTIONS}, then USER, PASSWORD,
	 * HOST and PORT replace what OPTIONS says (for libpq the last of
	 * repeated keywords counts). psycopg passes the other OPTIONS, str()
	 * of numbers included, on to libpq; Django keeps its own.
	 */
	param(t, "dbname", name);
	opts = json_object_get(db, "OPTIONS");
	if (json_is_object(opts)) {
		const char *k;
		json_t *v;

		json_object_foreach((json_t *)opts, k, v) {
			if (!strcmp(k, "assume_role")) {
				if (json_is_string(v) && *json_string_value(v))
					t->role = xstrdup(json_string_value(v));
			} else if (strcmp(k, "isolation_level") &&
				   strcmp(k, "server_side_binding") &&
				   strcmp(k, "pool")) {
				param(t, k, v);
			}
		}
	}
	param(t, "user", json_object_get(db, "USER"));
	param(t, "password", json_object_get(db, "PASSWORD"));
	param(t, "host", json_object_get(db, "HOST"));
	param(t, "port", json_object_get(db, "PORT"));
	{
		struct sbuf sb = SBUF_INIT;
		const char *u = value_of(t, "user"), *h = value_of(t, "host");
		const char *p = value_of(t, "port"), *n = value_of(t, "dbname");

		sbuf_addf(&sb, "postgresql://%s%s%s%s%s/%s", u ? u : "",
			  u ? "@" : "", h ? h : "", p ? ":" : "", p ? p : "",
			  n ? n : "");
		t->shown = sbuf_detach(&sb, NULL);
	}
	return 0;
}

/* --- "now" as Django binds it ------------------------------------------- */

int
sdb_django_now(int64_t now_us, int use_tz, const char *time_zone, int aware,
	       char *buf, size_t size)
{
	time_t sec = (time_t)(now_us / 1000000);
	int usec = (int)(now_us % 1000000);
	struct tm tm;
	char *old = NULL;
	int n, ok;

	if (usec < 0) {
		usec += 1000000;
		sec--;
	}
	if (use_tz) {
		ok = gmtime_r(&sec, &tm) != NULL;
	} else {
		const char *cur = getenv("TZ");

		old = cur ? xstrdup(cur) : NULL;
		if (time_zone)
			setenv("TZ", time_zone, 1);
		tzset();
		ok = localtime_r(&sec, &tm) != NULL;
		if (old)
			setenv("TZ", old, 1);
		else
			unsetenv("TZ");
		tzset();
		free(old);
	}
	if (!ok)
		return -1;
	n = snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec);
	if (usec)
		n += snprintf(buf + n, size - (size_t)n, ".%06d", usec);
	if (aware && use_tz)
		n += snprintf(buf + n, size - (size_t)n, "+00:00");
	return n > 0 && (size_t)n < size ? 0 : -1;
}

static void
make_hint(const char *key, char *buf, size_t size)
{
	snprintf(buf, size, "%.*s...", HINT_KEY_CHARS, key ? key : "");
}

static void
copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* --- SQLite -------------------------------------------------------------- */

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;
#define X_SQLITE_OK 0
#define X_SQLITE_ROW 100
#define X_SQLITE_DONE 101
#define X_SQLITE_OPEN_READONLY 0x1
#define X_SQLITE_OPEN_READWRITE 0x2
#define X_SQLITE_TRANSIENT ((void (*)(void *))-1)

static struct {
	int bound;
	int (*open_v2)(const char *, sqlite3 **, int, const char *);
	int (*close)(sqlite3 *);
	int (*prepare_v2)(sqlite3 *, const char *, int, sqlite3_stmt **,
			  const char **);
	int (*bind_text)(sqlite3_stmt *, int, const char *, int,
			 void (*)(void *));
	int (*step)(sqlite3_stmt *);
	long long (*column_int64)(sqlite3_stmt *, int);
	const unsigned char *(*column_text)(sqlite3_stmt *, int);
	int (*finalize)(sqlite3_stmt *);
	const char *(*errmsg)(sqlite3 *);
	int (*changes)(sqlite3 *);
	int (*busy_timeout)(sqlite3 *, int);
} sq;

static int
sqlite_load(struct err *e)
{
	static const char *const libs[] = { "libsqlite3.so.0", NULL };
	const struct lazy_sym syms[] = {
		LAZY_SYM("sqlite3_open_v2", sq.open_v2),
		LAZY_SYM("sqlite3_close", sq.close),
		LAZY_SYM("sqlite3_prepare_v2", sq.prepare_v2),
		LAZY_SYM("sqlite3_bind_text", sq.bind_text),
		LAZY_SYM("sqlite3_step", sq.step),
		LAZY_SYM("sqlite3_column_int64", sq.column_int64),
		LAZY_SYM("sqlite3_column_text", sq.column_text),
		LAZY_SYM("sqlite3_finalize", sq.finalize),
		LAZY_SYM("sqlite3_errmsg", sq.errmsg),
		LAZY_SYM("sqlite3_changes", sq.changes),
		LAZY_SYM("sqlite3_busy_timeout", sq.busy_timeout),
		{ NULL, NULL }
	};

	if (sq.bound)
		return 0;
	if (lazylib_bind(libs, "libsqlite3-0", syms, e) < 0)
		return -1;
	sq.bound = 1;
	return 0;
}

static int
sq_fail(sqlite3 *db, const struct sdb_target *t, const char *what,
	struct err *e)
{
	return err_set(e, ERR_SESS_STORE, "%s in SQLite database '%s': %s",
		       what, t->path, db ? sq.errmsg(db) : "out of memory");
}

/* Run sql with now bound to every '?' (at most 1); rows go to row(). */
static int
sq_exec(sqlite3 *db, const struct sdb_target *t, const char *sql,
	const char *now, int (*row)(sqlite3_stmt *, void *), void *data,
	struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (sq.prepare_v2(db, sql, -1, &st, NULL) != X_SQLITE_OK)
		return sq_fail(db, t, "cannot query the session table", e);
	if (now && strchr(sql, '?'))
		sq.bind_text(st, 1, now, -1, X_SQLITE_TRANSIENT);
	while ((r = sq.step(st)) == X_SQLITE_ROW)
		if (row && row(st, data))
			break;
	if (r != X_SQLITE_ROW && r != X_SQLITE_DONE) {
		sq_fail(db, t, "cannot query the session table", e);
		sq.finalize(st);
		return -1;
	}
	sq.finalize(st);
	return 0;
}

struct sq_ctx {
	struct sdb_stats *st;
	sdb_visit_fn visit;
	void *data;
	int stop;
};

static int
sq_stats_row(sqlite3_stmt *s, void *data)
{
	struct sdb_stats *st = data;

	st->rows = (size_t)sq.column_int64(s, 0);
	st->bytes = (uint64_t)sq.column_int64(s, 1);
	st->expired = (size_t)sq.column_int64(s, 2);
	copy(st->min_expire, sizeof(st->min_expire),
	     (const char *)sq.column_text(s, 3));
	copy(st->max_expire, sizeof(st->max_expire),
	     (const char *)sq.column_text(s, 4));
	return 0;
}

static int
sq_list_row(sqlite3_stmt *s, void *data)
{
	struct sq_ctx *c = data;
	struct sdb_entry ent;
	char hint[32];

	make_hint((const char *)sq.column_text(s, 0), hint, sizeof(hint));
	ent.hint = hint;
	ent.size = sq.column_int64(s, 1);
	ent.expire_date = (const char *)sq.column_text(s, 2);
	if (!ent.expire_date)
		ent.expire_date = "";
	ent.expired = sq.column_int64(s, 3) != 0;
	if (c->visit(&ent, c->data)) {
		c->stop = 1;
		return 1;
	}
	return 0;
}

static int
sq_count_row(sqlite3_stmt *s, void *data)
{
	*(size_t *)data = (size_t)sq.column_int64(s, 0);
	return 0;
}

static int
run_sqlite(const struct sdb_target *t, const struct sdb_opts *o,
	   sdb_visit_fn visit, void *data, struct sdb_stats *st,
	   struct err *e)
{
	sqlite3 *db = NULL;
	struct sq_ctx c = { st, visit, data, 0 };
	int write = o->act != SDB_SCAN && !o->dry_run, ret = -1;

	if (sqlite_load(e) < 0)
		return -1;
	if (sq.open_v2(t->path, &db, write ? X_SQLITE_OPEN_READWRITE :
		       X_SQLITE_OPEN_READONLY, NULL) != X_SQLITE_OK) {
		sq_fail(db, t, "cannot open", e);
		goto out;
	}
	sq.busy_timeout(db, BUSY_TIMEOUT_MS);
	if (sq_exec(db, t, "SELECT count(*), coalesce(sum(length("
		    "session_data)), 0), coalesce(sum(expire_date < ?), 0), "
		    "min(expire_date), max(expire_date) FROM django_session",
		    st->now, sq_stats_row, st, e) < 0)
		goto out;
	if (visit && sq_exec(db, t, "SELECT session_key, length("
			     "session_data), expire_date, expire_date < ? "
			     "FROM django_session ORDER BY expire_date",
			     st->now, sq_list_row, &c, e) < 0)
		goto out;
	if (o->act == SDB_PURGE_EXPIRED) {
		if (o->dry_run) {
			st->removed = st->expired;
		} else {
			/* Django: DELETE ... WHERE expire_date < %s */
			if (sq_exec(db, t, "DELETE FROM django_session WHERE "
				    "expire_date < ?", st->now, NULL, NULL,
				    e) < 0)
				goto out;
			st->removed = (size_t)sq.changes(db);
		}
	} else if (o->act == SDB_CLEAR) {
		if (o->dry_run) {
			if (sq_exec(db, t, "SELECT count(*) FROM "
				    "django_session", NULL, sq_count_row,
				    &st->removed, e) < 0)
				goto out;
		} else {
			if (sq_exec(db, t, "DELETE FROM django_session", NULL,
				    NULL, NULL, e) < 0)
				goto out;
			st->removed = (size_t)sq.changes(db);
		}
	}
	ret = c.stop ? 1 : 0;
out:
	if (db)
		sq.close(db);
	return ret;
}

/* --- PostgreSQL ---------------------------------------------------------- */

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;
#define X_CONNECTION_OK 0
#define X_PGRES_COMMAND_OK 1
#define X_PGRES_TUPLES_OK 2

static struct {
	int bound;
	PGconn *(*connectdb_params)(const char *const *, const char *const *,
				    int);
	int (*status)(const PGconn *);
	char *(*error_message)(const PGconn *);
	void (*finish)(PGconn *);
	PGresult *(*exec_params)(PGconn *, const char *, int, const void *,
				 const char *const *, const int *,
				 const int *, int);
	int (*result_status)(const PGresult *);
	char *(*result_error_message)(const PGresult *);
	int (*ntuples)(const PGresult *);
	char *(*getvalue)(const PGresult *, int, int);
	char *(*cmd_tuples)(PGresult *);
	void (*clear)(PGresult *);
} pq;

static int
pq_load(struct err *e)
{
	static const char *const libs[] = { "libpq.so.5", NULL };
	const struct lazy_sym syms[] = {
		LAZY_SYM("PQconnectdbParams", pq.connectdb_params),
		LAZY_SYM("PQstatus", pq.status),
		LAZY_SYM("PQerrorMessage", pq.error_message),
		LAZY_SYM("PQfinish", pq.finish),
		LAZY_SYM("PQexecParams", pq.exec_params),
		LAZY_SYM("PQresultStatus", pq.result_status),
		LAZY_SYM("PQresultErrorMessage", pq.result_error_message),
		LAZY_SYM("PQntuples", pq.ntuples),
		LAZY_SYM("PQgetvalue", pq.getvalue),
		LAZY_SYM("PQcmdTuples", pq.cmd_tuples),
		LAZY_SYM("PQclear", pq.clear),
		{ NULL, NULL }
	};

	if (pq.bound)
		return 0;
	if (lazylib_bind(libs, "libpq5", syms, e) < 0)
		return -1;
	pq.bound = 1;
	return 0;
}

/* One statement; *res is kept for the caller when non-NULL. */
static int
pq_exec(PGconn *db, const struct sdb_target *t, const char *sql,
	const char *arg, PGresult **res, struct err *e)
{
	const char *const params[] = { arg };
	PGresult *r = pq.exec_params(db, sql, arg ? 1 : 0, NULL,
				     arg ? params : NULL, NULL, NULL, 0);
	int s = r ? pq.result_status(r) : -1;
	struct sbuf msg = SBUF_INIT;

	if (s != X_PGRES_COMMAND_OK && s != X_PGRES_TUPLES_OK) {
		sbuf_adds(&msg, r ? pq.result_error_message(r) :
			  pq.error_message(db));
		sbuf_rtrim(&msg);
		err_set(e, ERR_SESS_STORE, "cannot query the session table in "
			"'%s': %s", t->shown, msg.buf);
		sbuf_release(&msg);
		if (r)
			pq.clear(r);
		return -1;
	}
	if (res)
		*res = r;
	else
		pq.clear(r);
	return 0;
}

static int
run_postgres(const struct sdb_target *t, const struct sdb_opts *o,
	     sdb_visit_fn visit, void *data, struct sdb_stats *st,
	     struct err *e)
{
	const char **keys = xcalloc(t->keys.n + 1, sizeof(*keys));
	const char **vals = xcalloc(t->keys.n + 1, sizeof(*vals));
	const char *cast = o->use_tz ? "timestamptz" : "timestamp";
	struct sbuf sql = SBUF_INIT, msg = SBUF_INIT;
	PGconn *db = NULL;
	PGresult *r = NULL;
	int ret = -1, stop = 0;

	if (pq_load(e) < 0)
		goto out;
	for (size_t i = 0; i < t->keys.n; i++) {
		keys[i] = t->keys.v[i];
		vals[i] = t->values.v[i];
	}
	db = pq.connectdb_params(keys, vals, 0);
	if (!db || pq.status(db) != X_CONNECTION_OK) {
		sbuf_adds(&msg, db ? pq.error_message(db) : "out of memory");
		sbuf_rtrim(&msg);
		err_set(e, ERR_SESS_STORE, "cannot connect to PostgreSQL "
			"'%s': %s", t->shown, msg.buf);
		goto out;
	}
	/* Django 4.2+ runs SET ROLE assume_role on every new connection */
	if (t->role && pq_exec(db, t, "SELECT set_config('role', $1, false)",
			       t->role, NULL, e) < 0)
		goto out;
	/* Django sets the connection's time zone: UTC, or TIME_ZONE */
	if (pq_exec(db, t, "SELECT set_config('TimeZone', $1, false)",
		    o->use_tz || !o->time_zone ? "UTC" : o->time_zone, NULL,
		    e) < 0)
		goto out;
	sbuf_addf(&sql, "SELECT count(*), coalesce(sum(octet_length("
		  "session_data)), 0), count(*) FILTER (WHERE expire_date < "
		  "$1::%s), min(expire_date)::text, max(expire_date)::text "
		  "FROM django_session", cast);
	if (pq_exec(db, t, sql.buf, st->now, &r, e) < 0)
		goto out;
	st->rows = strtoull(pq.getvalue(r, 0, 0), NULL, 10);
	st->bytes = strtoull(pq.getvalue(r, 0, 1), NULL, 10);
	st->expired = strtoull(pq.getvalue(r, 0, 2), NULL, 10);
	copy(st->min_expire, sizeof(st->min_expire), pq.getvalue(r, 0, 3));
	copy(st->max_expire, sizeof(st->max_expire), pq.getvalue(r, 0, 4));
	pq.clear(r);
	r = NULL;
	if (visit) {
		sbuf_reset(&sql);
		sbuf_addf(&sql, "SELECT session_key, octet_length("
			  "session_data), expire_date::text, expire_date < "
			  "$1::%s FROM django_session ORDER BY expire_date",
			  cast);
		if (pq_exec(db, t, sql.buf, st->now, &r, e) < 0)
			goto out;
		for (int i = 0; i < pq.ntuples(r) && !stop; i++) {
			struct sdb_entry ent;
			char hint[32];

			make_hint(pq.getvalue(r, i, 0), hint, sizeof(hint));
			ent.hint = hint;
			ent.size = strtoll(pq.getvalue(r, i, 1), NULL, 10);
			ent.expire_date = pq.getvalue(r, i, 2);
			ent.expired = pq.getvalue(r, i, 3)[0] == 't';
			stop = visit(&ent, data);
		}
		pq.clear(r);
		r = NULL;
	}
	if (o->act == SDB_PURGE_EXPIRED && o->dry_run) {
		st->removed = st->expired;
	} else if (o->act == SDB_CLEAR && o->dry_run) {
		st->removed = st->rows;
	} else if (o->act != SDB_SCAN) {
		sbuf_reset(&sql);
		if (o->act == SDB_PURGE_EXPIRED)
			sbuf_addf(&sql, "DELETE FROM django_session WHERE "
				  "expire_date < $1::%s", cast);
		else
			sbuf_adds(&sql, "DELETE FROM django_session");
		if (pq_exec(db, t, sql.buf, o->act == SDB_PURGE_EXPIRED ?
			    st->now : NULL, &r, e) < 0)
			goto out;
		st->removed = strtoull(pq.cmd_tuples(r), NULL, 10);
		pq.clear(r);
		r = NULL;
	}
	ret = stop ? 1 : 0;
out:
	if (db)
		pq.finish(db);
	free(keys);
	free(vals);
	sbuf_release(&sql);
	sbuf_release(&msg);
	return ret;
}

int
sdb_run(const struct sdb_target *t, const struct sdb_opts *o,
	sdb_visit_fn visit, void *data, struct sdb_stats *st, struct err *e)
{
	struct sdb_stats dummy;

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (sdb_django_now(o->now_us, o->use_tz, o->time_zone,
			   t->kind == SDB_POSTGRES, st->now,
			   sizeof(st->now)) < 0)
		return err_set(e, ERR_SESS_CONFIG, "cannot express now in "
			       "time zone '%s'", o->time_zone ?
			       o->time_zone : "UTC");
	if (t->kind == SDB_SQLITE)
		return run_sqlite(t, o, visit, data, st, e);
	return run_postgres(t, o, visit, data, st, e);
}
