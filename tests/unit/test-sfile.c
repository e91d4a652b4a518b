/*
 * The file session store against the golden vectors (materialized with
 * their own materialize.sh at the recorded NOW): every entry must get each
 * Django version's verdict from cases.tsv; then purge, clear, dry runs,
 * symlinks, special files, naive local time across DST, and key hiding.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fs.h"
#include "xalloc.h"
#include "sessions/sfile.h"
#include "banned.h"

#define SECRET "fixture-secret-key-for-omero-web-session-research-0001"
#define NOW 1795549861LL
#define US 1000000LL

static char tmp[] = "/tmp/owctl-test-sfile-XXXXXX";
static const char *const secrets[] = {SECRET};

struct vcase {
	char *name;
	char *verdict[3]; /* dj3.2, dj4.2, dj5.2 column */
};

static struct vcase cases[64];
static size_t ncases;

static const char *
shared_dir(void)
{
	const char *d = getenv("SHARED_DIR");

	return d ? d : "../shared";
}

static void
load_cases(void)
{
	struct sbuf tsv = SBUF_INIT, path = SBUF_INIT;
	struct err e = ERR_INIT;
	char *line, *next;

	sbuf_addf(&path, "%s/vectors/sessions/file/cases.tsv", shared_dir());
	if (fs_read_file(path.buf, 1 << 20, &tsv, &e))
		fail_msg("%s", e.msg);
	line = strchr(tsv.buf, '\n') + 1; /* header */
	for (; *line; line = next) {
		char *f[10];
		size_t n = 0;

		next = strchr(line, '\n');
		*next++ = '\0';
		f[n++] = line;
		while (n < 10 && (f[n] = strchr(f[n - 1], '\t')))
			*f[n++]++ = '\0';
		assert_true(n >= 9);
		assert_true(ncases < sizeof(cases) / sizeof(cases[0]));
		cases[ncases].name = xstrdup(f[1]);
		cases[ncases].verdict[0] = xstrdup(f[6]);
		cases[ncases].verdict[1] = xstrdup(f[7]);
		cases[ncases].verdict[2] = xstrdup(f[8]);
		ncases++;
	}
	sbuf_release(&tsv);
	sbuf_release(&path);
}

static int
run(const char *cmd)
{
	int r = system(cmd);

	return r == 0 ? 0 : -1;
}

/* Fresh copy of the vector directory in <tmp>/<sub>. */
static void
materialize(const char *sub, struct sbuf *dir)
{
	struct sbuf cmd = SBUF_INIT;

	sbuf_reset(dir);
	sbuf_addf(dir, "%s/%s", tmp, sub);
	sbuf_addf(&cmd,
	          "rm -rf '%s' '%s.symlink_target' && "
	          "bash '%s/vectors/sessions/file/materialize.sh' "
	          "'%s' %lld >/dev/null",
	          dir->buf, dir->buf, shared_dir(), dir->buf, NOW);
	assert_int_equal(run(cmd.buf), 0);
	sbuf_release(&cmd);
}

static int
setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmp))
		return -1;
	load_cases();
	return ncases >= 30 ? 0 : -1;
}

static int
teardown(void **state)
{
	struct sbuf cmd = SBUF_INIT;
	size_t i;
	int r;

	(void)state;
	sbuf_addf(&cmd, "rm -rf '%s'", tmp);
	r = run(cmd.buf);
	sbuf_release(&cmd);
	for (i = 0; i < ncases; i++) {
		free(cases[i].name);
		free(cases[i].verdict[0]);
		free(cases[i].verdict[1]);
		free(cases[i].verdict[2]);
	}
	return r;
}

static struct sfile_opts
vector_opts(enum django_version v)
{
	struct sfile_opts o = SFILE_OPTS_INIT;

	o.prefix = "sessionid";
	o.secrets = secrets;
	o.nsecrets = 1;
	o.cookie_age = 86400;
	o.version = v;
	o.time_zone = "Europe/London";
	o.now_us = NOW * US;
	o.with_names = 1;
	return o;
}

struct seen_entry {
	char *name;
	enum sfile_verdict verdict;
	enum sfile_reason reason;
	enum sfile_outcome outcome;
	char *hint;
};

struct collected {
	struct seen_entry e[256];
	size_t n;
};

static int
collect(const struct sfile_entry *ent, void *data)
{
	struct collected *c = data;
	struct seen_entry *s = &c->e[c->n++];

	assert_true(c->n <= 256);
	s->name = ent->name ? xstrdup(ent->name) : NULL;
	s->verdict = ent->verdict;
	s->reason = ent->reason;
	s->outcome = ent->outcome;
	s->hint = xstrdup(ent->hint);
	return 0;
}

static void
collected_release(struct collected *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->e[i].name);
		free(c->e[i].hint);
	}
	c->n = 0;
}

static const struct seen_entry *
find(const struct collected *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (!strcmp(c->e[i].name, name))
			return &c->e[i];
	fail_msg("entry '%s' not reported", name);
	return NULL;
}

/* Does our verdict agree with a cases.tsv column? */
static int
agrees(const struct seen_entry *s, const char *want)
{
	if (!strcmp(want, "REMOVED"))
		return s->verdict == SFILE_EXPIRED;
	if (!strcmp(want, "CRASH"))
		return s->verdict == SFILE_CRASH;
	if (!strcmp(want, "untouched"))
		return s->verdict == SFILE_NOT_SESSION &&
		       s->reason == SFILE_R_PREFIX;
	if (!strcmp(want, "kept"))
		return s->verdict == SFILE_LIVE ||
		       (s->verdict == SFILE_NOT_SESSION &&
		        s->reason != SFILE_R_PREFIX);
	fail_msg("unknown verdict '%s' in cases.tsv", want);
	return 0;
}

static void
test_sfile_vectors_every_version(void **state)
{
	static const char *const vname[] = {"3.2", "4.2", "5.2"};
	struct sbuf dir = SBUF_INIT;
	struct collected c = {.n = 0};
	struct sfile_stats st;
	struct err e = ERR_INIT;
	size_t i, bad = 0;
	int v;

	(void)state;
	materialize("vec", &dir);
	for (v = DJANGO_3_2; v <= DJANGO_5_2; v++) {
		struct sfile_opts o = vector_opts(v);

		assert_int_equal(
		    sfile_run(dir.buf, &o, SFILE_SCAN, collect, &c, &st, &e),
		    0);
		assert_int_equal(c.n, ncases);
		assert_int_equal(st.entries, ncases);
		for (i = 0; i < ncases; i++) {
			const struct seen_entry *s = find(&c, cases[i].name);

			if (!agrees(s, cases[i].verdict[v])) {
				print_error("django %s: %s: want %s, got %s "
				            "(%s)\n",
				            vname[v], cases[i].name,
				            cases[i].verdict[v],
				            sfile_verdict_str(s->verdict),
				            sfile_reason_str(s->reason));
				bad++;
			}
			assert_int_equal(s->outcome, SFILE_KEPT);
		}
		collected_release(&c);
	}
	assert_int_equal(bad, 0);
	sbuf_release(&dir);
}

static size_t
count_column(int v, const char *want)
{
	size_t i, n = 0;

	for (i = 0; i < ncases; i++)
		n += !strcmp(cases[i].verdict[v], want);
	return n;
}

static void
test_sfile_purge_removes_exactly_expired(void **state)
{
	struct sbuf dir = SBUF_INIT, path = SBUF_INIT;
	struct collected c = {.n = 0};
	struct sfile_opts o = vector_opts(DJANGO_5_2);
	struct sfile_stats st;
	struct err e = ERR_INIT;
	size_t i;

	(void)state;
	materialize("purge", &dir);
	o.dry_run = 1;
	assert_int_equal(
	    sfile_run(dir.buf, &o, SFILE_PURGE_EXPIRED, collect, &c, &st, &e),
	    0);
	assert_int_equal(st.removed, count_column(DJANGO_5_2, "REMOVED"));
	for (i = 0; i < ncases; i++) {
		struct stat sb;

		sbuf_reset(&path);
		sbuf_addf(&path, "%s/%s", dir.buf, cases[i].name);
		assert_int_equal(lstat(path.buf, &sb), 0); /* all there */
	}
	collected_release(&c);

	o.dry_run = 0;
	assert_int_equal(
	    sfile_run(dir.buf, &o, SFILE_PURGE_EXPIRED, collect, &c, &st, &e),
	    0);
	assert_int_equal(st.removed, count_column(DJANGO_5_2, "REMOVED"));
	assert_int_equal(st.changed + st.failed, 0);
	for (i = 0; i < ncases; i++) {
		struct stat sb;
		int gone;

		sbuf_reset(&path);
		sbuf_addf(&path, "%s/%s", dir.buf, cases[i].name);
		gone = lstat(path.buf, &sb) != 0;
		assert_int_equal(gone, !strcmp(cases[i].verdict[2], "REMOVED"));
		assert_int_equal(find(&c, cases[i].name)->outcome,
		                 gone ? SFILE_REMOVED : SFILE_KEPT);
	}
	/* the link went, its target outside the directory stays */
	sbuf_reset(&path);
	sbuf_addf(&path, "%s.symlink_target", dir.buf);
	assert_true(fs_exists(path.buf));
	collected_release(&c);
	sbuf_release(&dir);
	sbuf_release(&path);
}

static void
test_sfile_clear_removes_only_session_files(void **state)
{
	struct sbuf dir = SBUF_INIT, path = SBUF_INIT;
	struct collected c = {.n = 0};
	struct sfile_opts o = vector_opts(DJANGO_3_2);
	struct sfile_stats st;
	struct err e = ERR_INIT;
	size_t i, removed = 0;

	(void)state;
	materialize("clear", &dir);
	assert_int_equal(
	    sfile_run(dir.buf, &o, SFILE_CLEAR, collect, &c, &st, &e), 0);
	for (i = 0; i < ncases; i++) {
		const struct seen_entry *s = find(&c, cases[i].name);
		struct stat sb;
		int gone, session_file;

		sbuf_reset(&path);
		sbuf_addf(&path, "%s/%s", dir.buf, cases[i].name);
		gone = lstat(path.buf, &sb) != 0;
		/* a session name leading to a regular file */
		session_file =
		    sfile_is_session_name(cases[i].name, "sessionid") &&
		    s->reason != SFILE_R_DIRECTORY;
		assert_int_equal(gone, session_file);
		removed += gone;
	}
	assert_int_equal(st.removed, removed);
	/* crash and empty entries are session files too */
	assert_true(
	    find(&c, "sessionid1l5w2o4b63c6v0g41y87pjsyla9wp6ve")->outcome ==
	    SFILE_REMOVED);
	assert_true(
	    find(&c, "sessionid18shai0l7d9460i6aoa9cd48va5nvasl")->outcome ==
	    SFILE_REMOVED);
	assert_true(removed >= 25);
	collected_release(&c);
	sbuf_release(&dir);
	sbuf_release(&path);
}

static void
test_sfile_hint_never_shows_key(void **state)
{
	struct sbuf dir = SBUF_INIT;
	struct collected c = {.n = 0};
	struct sfile_opts o = vector_opts(DJANGO_4_2);
	struct err e = ERR_INIT;
	size_t i;

	(void)state;
	materialize("hint", &dir);
	o.with_names = 0;
	assert_int_equal(
	    sfile_run(dir.buf, &o, SFILE_SCAN, collect, &c, NULL, &e), 0);
	assert_int_equal(c.n, ncases);
	for (i = 0; i < c.n; i++) {
		size_t k;

		assert_null(c.e[i].name);
		for (k = 0; k < ncases; k++) {
			const char *n = cases[k].name;

			/* the key part of prefixed names, else the name */
			if (!strncmp(n, "sessionid", 9)) {
				if (strlen(n) == 9)
					continue;
				n += 9;
			}
			assert_null(strstr(c.e[i].hint, n));
		}
	}
	collected_release(&c);
	sbuf_release(&dir);
}

static void
test_sfile_no_follow_refuses_symlink(void **state)
{
	struct sbuf dir = SBUF_INIT;
	struct collected c = {.n = 0};
	struct sfile_opts o = vector_opts(DJANGO_5_2);
	struct err e = ERR_INIT;
	const struct seen_entry *s;

	(void)state;
	materialize("nofollow", &dir);
	o.no_follow = 1;
	assert_int_equal(
	    sfile_run(dir.buf, &o, SFILE_PURGE_EXPIRED, collect, &c, NULL, &e),
	    0);
	s = find(&c, "sessioniduyuunkdye2ot1sgtov29ahl83q4t1hcz");
	assert_int_equal(s->verdict, SFILE_NOT_SESSION);
	assert_int_equal(s->reason, SFILE_R_SYMLINK);
	assert_int_equal(s->outcome, SFILE_KEPT);
	collected_release(&c);
	sbuf_release(&dir);
}

static void
write_at(const char *dir, const char *name, const char *content,
         long long mtime)
{
	struct sbuf p = SBUF_INIT;
	struct err e = ERR_INIT;
	struct timespec ts[2];

	sbuf_addf(&p, "%s/%s", dir, name);
	assert_int_equal(
	    fs_write_atomic(p.buf, content, strlen(content), 0600, &e), 0);
	ts[0].tv_sec = ts[1].tv_sec = mtime;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, p.buf, ts, 0), 0);
	sbuf_release(&p);
}

static enum sfile_verdict
verdict_of(const char *dir, struct sfile_opts *o, const char *name,
           enum sfile_reason *reason)
{
	struct collected c = {.n = 0};
	struct err e = ERR_INIT;
	const struct seen_entry *s;
	enum sfile_verdict v;

	assert_int_equal(sfile_run(dir, o, SFILE_SCAN, collect, &c, NULL, &e),
	                 0);
	s = find(&c, name);
	v = s->verdict;
	if (reason)
		*reason = s->reason;
	collected_release(&c);
	return v;
}

static void
test_sfile_naive_local_time_across_dst(void **state)
{
	/*
	 * mtime 2026-03-28 12:00Z, age 1 day, now 2026-03-29 11:30Z.
	 * London moves to BST on the 29th: naive local arithmetic (USE_TZ
	 * False) gives 12:00 - 12:30 = -1800 s (real Django 3.2 in Python
	 * agrees), epoch arithmetic would give +1800 s.
	 */
	struct sbuf dir = SBUF_INIT;
	struct sfile_opts o = vector_opts(DJANGO_4_2);
	const char *old_tz = getenv("TZ");

	(void)state;
	sbuf_addf(&dir, "%s/dst", tmp);
	assert_int_equal(mkdir(dir.buf, 0700), 0);
	write_at(dir.buf, "sessionidaaaaaaaabbbbbbbbccccccccdddddddd", "x",
	         1774699200LL);
	o.now_us = 1774783800LL * US;
	assert_int_equal(verdict_of(dir.buf, &o,
	                            "sessionidaaaaaaaabbbbbbbbccccccccdddddddd",
	                            NULL),
	                 SFILE_EXPIRED);
	o.use_tz = 1;
	assert_int_equal(verdict_of(dir.buf, &o,
	                            "sessionidaaaaaaaabbbbbbbbccccccccdddddddd",
	                            NULL),
	                 SFILE_LIVE);
	o.use_tz = 0;
	o.time_zone = "UTC";
	assert_int_equal(verdict_of(dir.buf, &o,
	                            "sessionidaaaaaaaabbbbbbbbccccccccdddddddd",
	                            NULL),
	                 SFILE_LIVE);
	/* TZ is restored */
	if (old_tz)
		assert_string_equal(getenv("TZ"), old_tz);
	else
		assert_null(getenv("TZ"));
	sbuf_release(&dir);
}

static void
test_sfile_iso_expiry_rules(void **state)
{
	static const struct {
		const char *json;
		enum sfile_verdict v32, v42, v52;
	} t[] = {
	    /* aware, past: 5.2 removes, 4.2 (USE_TZ False) TypeError */
	    {"{\"_session_expiry\":\"2020-01-01T00:00:00+00:00\"}", SFILE_CRASH,
	     SFILE_CRASH, SFILE_EXPIRED},
	    /* naive, future: 4.2 keeps, 5.2 TypeError */
	    {"{\"_session_expiry\":\"2099-01-01T00:00:00\"}", SFILE_CRASH,
	     SFILE_LIVE, SFILE_CRASH},
	    /* week date, 'Z', comma fraction (Python 3.11 syntax) */
	    {"{\"_session_expiry\":\"2099-W10-3T10:00:00,5Z\"}", SFILE_CRASH,
	     SFILE_CRASH, SFILE_LIVE},
	    {"{\"_session_expiry\":\"2000-02-30\"}", SFILE_CRASH, SFILE_CRASH,
	     SFILE_CRASH},
	    {"{\"_session_expiry\":\"\"}", /* falsy: mtime rule */
	     SFILE_EXPIRED, SFILE_EXPIRED, SFILE_EXPIRED},
	    {"{\"_session_expiry\":[1]}", SFILE_CRASH, SFILE_CRASH,
	     SFILE_CRASH},
	    {"{\"_session_expiry\":true}", SFILE_LIVE, SFILE_LIVE, SFILE_LIVE},
	    {"{\"_session_expiry\":-0.5}", SFILE_EXPIRED, SFILE_EXPIRED,
	     SFILE_EXPIRED},
	    {"[\"_session_expiry\"]", SFILE_CRASH, SFILE_CRASH, SFILE_CRASH},
	};
	struct sbuf dir = SBUF_INIT, payload = SBUF_INIT, name = SBUF_INIT;
	struct djsign *ds = djsign_new(DJSIGN_SESSION_STORE, secrets, 1);
	size_t i;

	(void)state;
	sbuf_addf(&dir, "%s/iso", tmp);
	assert_int_equal(mkdir(dir.buf, 0700), 0);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		sbuf_reset(&payload);
		sbuf_reset(&name);
		djsign_dumps(ds, t[i].json, strlen(t[i].json), NOW, &payload);
		sbuf_addf(&name, "sessionid%032zu", i);
		write_at(dir.buf, name.buf, payload.buf, NOW - 100000);
	}
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sfile_opts o = vector_opts(DJANGO_3_2);

		sbuf_reset(&name);
		sbuf_addf(&name, "sessionid%032zu", i);
		assert_int_equal(verdict_of(dir.buf, &o, name.buf, NULL),
		                 t[i].v32);
		o.version = DJANGO_4_2;
		assert_int_equal(verdict_of(dir.buf, &o, name.buf, NULL),
		                 t[i].v42);
		o.version = DJANGO_5_2;
		assert_int_equal(verdict_of(dir.buf, &o, name.buf, NULL),
		                 t[i].v52);
	}
	djsign_free(ds);
	sbuf_release(&dir);
	sbuf_release(&payload);
	sbuf_release(&name);
}

static void
test_sfile_fifo_is_unsure_not_blocking(void **state)
{
	struct sbuf dir = SBUF_INIT, p = SBUF_INIT;
	struct sfile_opts o = vector_opts(DJANGO_5_2);
	enum sfile_reason r;

	(void)state;
	sbuf_addf(&dir, "%s/fifo", tmp);
	assert_int_equal(mkdir(dir.buf, 0700), 0);
	sbuf_addf(&p, "%s/sessionidffffffffffffffffffffffffffffffff", dir.buf);
	assert_int_equal(mkfifo(p.buf, 0600), 0);
	assert_int_equal(verdict_of(dir.buf, &o,
	                            "sessionidffffffffffffffffffffffffffffffff",
	                            &r),
	                 SFILE_UNSURE);
	assert_int_equal(r, SFILE_R_SPECIAL);
	sbuf_release(&dir);
	sbuf_release(&p);
}

static void
test_sfile_errors(void **state)
{
	struct sfile_opts o = vector_opts(DJANGO_5_2);
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(sfile_run("/nonexistent/owctl", &o, SFILE_SCAN, NULL,
	                           NULL, NULL, &e),
	                 -1);
	assert_int_equal(e.code, ERR_IO);
	assert_non_null(strstr(e.msg, "/nonexistent/owctl"));
	err_clear(&e);
	o.nsecrets = 0;
	assert_int_equal(sfile_run(tmp, &o, SFILE_SCAN, NULL, NULL, NULL, &e),
	                 -1);
	assert_null(strstr(e.msg, SECRET));
	err_clear(&e);
	o.nsecrets = 1;
	o.version = DJANGO_3_2;
	o.time_zone = "Nowhere/Atlantis";
	assert_int_equal(sfile_run(tmp, &o, SFILE_SCAN, NULL, NULL, NULL, &e),
	                 -1);
	assert_int_equal(e.code, ERR_BADVALUE);
	err_clear(&e);
}

static void
test_sfile_stats_add_up(void **state)
{
	struct sbuf dir = SBUF_INIT;
	struct sfile_opts o = vector_opts(DJANGO_4_2);
	struct sfile_stats st;
	struct err e = ERR_INIT;
	size_t i, sum = 0;

	(void)state;
	materialize("stats", &dir);
	assert_int_equal(
	    sfile_run(dir.buf, &o, SFILE_SCAN, NULL, NULL, &st, &e), 0);
	for (i = 0; i < SFILE_VERDICT_COUNT; i++)
		sum += st.verdicts[i];
	assert_int_equal(sum, st.entries);
	assert_int_equal(st.verdicts[SFILE_EXPIRED],
	                 count_column(DJANGO_4_2, "REMOVED"));
	assert_int_equal(st.verdicts[SFILE_CRASH],
	                 count_column(DJANGO_4_2, "CRASH"));
	assert_int_equal(st.reasons[SFILE_R_PREFIX],
	                 count_column(DJANGO_4_2, "untouched"));
	/* oldest: NOW - 90000 (the vectors' old files); newest NOW + 86400 */
	assert_true(st.oldest_us >= (NOW - 90001) * US &&
	            st.oldest_us <= (NOW - 90000) * US);
	assert_true(st.newest_us >= (NOW + 86400) * US &&
	            st.newest_us < (NOW + 86401) * US);
	assert_int_equal(st.removed, 0);
	sbuf_release(&dir);
}

/* Visit order and early stop with enough entries for the worker threads. */
#define MANY 5000
#define STOP_AT 1500

struct order {
	char **names;
	size_t n, stop_at;
	size_t expired;
};

static int
record(const struct sfile_entry *ent, void *data)
{
	struct order *o = data;

	if (ent->verdict == SFILE_NOT_SESSION)
		return 0;
	o->names[o->n++] = xstrdup(ent->name);
	o->expired += ent->verdict == SFILE_EXPIRED;
	if (ent->outcome == SFILE_REMOVED)
		assert_int_equal(ent->verdict, SFILE_EXPIRED);
	return o->stop_at && o->n == o->stop_at;
}

static void
order_release(struct order *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		free(o->names[i]);
	o->n = 0;
	o->expired = 0;
}

/* i-th file: every 3rd is old; every 7th carries _session_expiry 300. */
static int
many_expired(size_t i)
{
	return i % 3 == 0 && i % 7 != 0;
}

static void
test_sfile_many_entries_in_order(void **state)
{
	struct sbuf dir = SBUF_INIT, path = SBUF_INIT, p = SBUF_INIT;
	struct sbuf q = SBUF_INIT;
	struct sfile_opts o = vector_opts(DJANGO_5_2);
	struct sfile_stats st;
	struct err e = ERR_INIT;
	struct order ord = {NULL, 0, 0, 0};
	struct djsign *ds = djsign_new(DJSIGN_SESSION_STORE, secrets, 1);
	struct timespec ts[2];
	struct rlimit lim, low;
	char **listed = xcalloc(MANY, sizeof(*listed));
	size_t i, n = 0, want_expired = 0, left;
	DIR *d;
	struct dirent *de;

	(void)state;
	ord.names = xcalloc(MANY, sizeof(*ord.names));
	sbuf_addf(&dir, "%s/many", tmp);
	assert_int_equal(mkdir(dir.buf, 0700), 0);
	djsign_dumps(ds, "{\"a\":1}", 7, NOW, &p);
	djsign_dumps(ds, "{\"_session_expiry\":300}", 23, NOW, &q);
	for (i = 0; i < MANY; i++) {
		int fd;

		sbuf_reset(&path);
		sbuf_addf(&path, "%s/sessionid%032zx", dir.buf, i * 2654435761u);
		fd = open(path.buf, O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		if (i % 7 == 0)
			assert_int_equal(write(fd, q.buf, q.len), (ssize_t)q.len);
		else
			assert_int_equal(write(fd, p.buf, p.len), (ssize_t)p.len);
		close(fd);
		ts[0].tv_sec = ts[1].tv_sec =
		    i % 3 == 0 ? NOW - 2 * 86400 : NOW - 60;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		assert_int_equal(utimensat(AT_FDCWD, path.buf, ts, 0), 0);
		want_expired += (size_t)many_expired(i);
	}
	/* the directory's own order, as sfile_run lists it */
	d = opendir(dir.buf);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "sessionid", 9))
			listed[n++] = xstrdup(de->d_name);
	closedir(d);
	assert_int_equal(n, MANY);

	assert_int_equal(sfile_run(dir.buf, &o, SFILE_SCAN, record, &ord, &st,
	                           &e),
	                 0);
	assert_int_equal(ord.n, MANY);
	for (i = 0; i < MANY; i++)
		assert_string_equal(ord.names[i], listed[i]);
	assert_int_equal(ord.expired, want_expired);
	assert_int_equal(st.verdicts[SFILE_EXPIRED], want_expired);
	order_release(&ord);

	/* few descriptors allowed: read files are closed early, not lost */
	getrlimit(RLIMIT_NOFILE, &lim);
	low = lim;
	low.rlim_cur = 24;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	assert_int_equal(sfile_run(dir.buf, &o, SFILE_SCAN, record, &ord, &st,
	                           &e),
	                 0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	assert_int_equal(st.reasons[SFILE_R_UNREADABLE], 0);
	assert_int_equal(st.verdicts[SFILE_EXPIRED], want_expired);
	order_release(&ord);

	/* stop: nothing after the stopping entry is acted on */
	ord.stop_at = STOP_AT;
	assert_int_equal(sfile_run(dir.buf, &o, SFILE_PURGE_EXPIRED, record,
	                           &ord, &st, &e),
	                 1);
	assert_int_equal(ord.n, STOP_AT);
	assert_int_equal(st.removed, ord.expired);
	for (i = 0; i < MANY; i++) {
		sbuf_reset(&path);
		sbuf_addf(&path, "%s/%s", dir.buf, listed[i]);
		if (i >= STOP_AT)
			assert_int_equal(access(path.buf, F_OK), 0);
	}
	order_release(&ord);

	ord.stop_at = 0;
	assert_int_equal(sfile_run(dir.buf, &o, SFILE_PURGE_EXPIRED, record,
	                           &ord, &st, &e),
	                 0);
	d = opendir(dir.buf);
	left = 0;
	while ((de = readdir(d)))
		left += !strncmp(de->d_name, "sessionid", 9);
	closedir(d);
	assert_int_equal(left, MANY - want_expired);
	order_release(&ord);
	for (i = 0; i < n; i++)
		free(listed[i]);
	free(listed);
	free(ord.names);
	djsign_free(ds);
	sbuf_release(&dir);
	sbuf_release(&path);
	sbuf_release(&p);
	sbuf_release(&q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sfile_vectors_every_version),
	    cmocka_unit_test(test_sfile_purge_removes_exactly_expired),
	    cmocka_unit_test(test_sfile_clear_removes_only_session_files),
	    cmocka_unit_test(test_sfile_hint_never_shows_key),
	    cmocka_unit_test(test_sfile_no_follow_refuses_symlink),
	    cmocka_unit_test(test_sfile_naive_local_time_across_dst),
	    cmocka_unit_test(test_sfile_iso_expiry_rules),
	    cmocka_unit_test(test_sfile_fifo_is_unsure_not_blocking),
	    cmocka_unit_test(test_sfile_errors),
	    cmocka_unit_test(test_sfile_stats_add_up),
	    cmocka_unit_test(test_sfile_many_entries_in_order),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
