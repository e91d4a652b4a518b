/*
 * owctl sessions: inspect, purge and clear OMERO.web's session store
 * (file, cache on Redis, db, cached_db) the way Django would, plus
 * `owctl web clearsessions` with upstream's output.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "cmd-sessions.h"
#include "cmd-web.h"
#include "pyjson.h"
#include "sessions/sdb.h"
#include "sessions/sfile.h"
#include "sessions/sredis.h"
#include "sessions/store.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_REPORTED 10

/* What a subcommand accepts. */
#define O_JSON (1u << 0)
#define O_DRY_RUN (1u << 1)
#define O_YES (1u << 2)
#define O_NO_WAIT (1u << 3)

struct sopts {
	const char *session_dir;
	const char *django_version;
	const char *venv;
	int json, dry_run, yes, no_wait;
	int have_now;
	int64_t now_us;
};

/* Everything a run needs, released by run_release(). */
struct run {
	struct ctx *ctx;
	const char *schema; /* of the --json document, "owctl.sessions.X/1" */
	struct sopts so;
	struct sstore_opts o;
	struct sstore s;
	int progress; /* show progress on stderr (a terminal) */
	int progress_shown;
	/* reports collected while visiting entries */
	struct strv kept;     /* "hint: why" for crash/unsure */
	size_t nkept;
	struct strv links;    /* symlinks left alone */
	size_t nlinks;
	struct strv failed;
	size_t nfailed;
	struct strv others; /* other users' files the kernel protected */
	size_t nothers;
	enum sfile_action act;
	/* clear: symlinks with a session name are unlinked by us */
	int dfd;
	size_t links_removed;
	json_t *list; /* list --json */
	json_t *merged; /* cached_db clear --json: db and cache in one */
	struct strv nodes; /* Redis servers scanned (cluster: masters) */
};

static int
parse_opts(struct ctx *ctx, int argc, char **argv, unsigned allowed,
	   struct sopts *so)
{
	static const struct option opts[] = {
		{ "session-dir", required_argument, NULL, 'd' },
		{ "django-version", required_argument, NULL, 'D' },
		{ "venv", required_argument, NULL, 'V' },
		{ "json", no_argument, NULL, 'j' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "yes", no_argument, NULL, 'y' },
		{ "no-wait", no_argument, NULL, 'W' },
		{ "now", required_argument, NULL, 'N' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "+hy", opts, ctx);
	int c;

	memset(so, 0, sizeof(*so));
	so->json = ctx->json;
	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 'd':
			so->session_dir = optarg;
			break;
		case 'D':
			if (strcmp(optarg, "3.2") && strcmp(optarg, "4.2") &&
			    strcmp(optarg, "5.2"))
				return cli_usage(ctx, "--django-version must "
						 "be 3.2, 4.2 or 5.2, not "
						 "'%s'", optarg);
			so->django_version = optarg;
			break;
		case 'V':
			so->venv = optarg;
			break;
		case 'j':
			if (!(allowed & O_JSON))
				return cli_bad_option(ctx, argv);
			so->json = 1;
			break;
		case 'n':
			if (!(allowed & O_DRY_RUN))
				return cli_bad_option(ctx, argv);
			so->dry_run = 1;
			break;
		case 'y':
			if (!(allowed & O_YES))
				return cli_bad_option(ctx, argv);
			so->yes = 1;
			break;
		case 'W':
			if (!(allowed & O_NO_WAIT))
				return cli_bad_option(ctx, argv);
			so->no_wait = 1;
			break;
		case 'N': {
			char *end;
			double d = strtod(optarg, &end);

			if (end == optarg || *end)
				return cli_usage(ctx, "--now takes a Unix time,"
						 " not '%s'", optarg);
			so->have_now = 1;
			so->now_us = (int64_t)(d * 1e6 + (d >= 0 ? 0.5 : -0.5));
			break;
		}
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	return cli_operands(ctx, argc, argv, 0, 0);
}

static int64_t
now_us(const struct sopts *so)
{
	struct timespec ts;

	if (so->have_now)
		return so->now_us;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
run_release(struct run *r)
{
	sstore_release(&r->s);
	strv_release(&r->kept);
	strv_release(&r->links);
	strv_release(&r->failed);
	strv_release(&r->others);
	if (r->dfd >= 0)
		close(r->dfd);
	json_decref(r->list);
	json_decref(r->merged);
	strv_release(&r->nodes);
}

static int
run_open(struct run *r, struct ctx *ctx, const struct sopts *so,
	 const char *venv, struct err *e)
{
	memset(r, 0, sizeof(*r));
	r->dfd = -1;
	r->ctx = ctx;
	r->so = *so;
	r->o = (struct sstore_opts)SSTORE_INIT_OPTS;
	r->o.omerodir = ctx->omerodir;
	r->o.env_profile = getenv("OMERO_CONFIG");
	r->o.session_dir = so->session_dir;
	r->o.django_version = so->django_version;
	r->o.venv = so->venv ? so->venv : venv;
	r->o.virtual_env = getenv("VIRTUAL_ENV");
	r->o.path = getenv("PATH");
	r->o.tmpdir = getenv("TMPDIR");
	r->o.temp = getenv("TEMP");
	r->o.tmp = getenv("TMP");
	r->progress = !so->json && ctx->verbosity >= 0 && isatty(2);
	if (sstore_open(&r->s, &r->o, e) < 0)
		return -1;
	for (size_t i = 0; i < r->s.warnings.n; i++)
		cli_warn(ctx, "%s", r->s.warnings.v[i]);
	return 0;
}

/* --- formatting ---------------------------------------------------------- */

/* "532 B", "54.1 kB", "1.2 MB" (powers of 1000, like omero web) */
static void
human_bytes(uint64_t n, struct sbuf *out)
{
	static const char *const units[] = { "kB", "MB", "GB", "TB" };
	double d = (double)n / 1000;
	int u = 0;

	if (n < 1000) {
		sbuf_addf(out, "%" PRIu64 " B", n);
		return;
	}
	while (d >= 1000 && u < 3) {
		d /= 1000;
		u++;
	}
	sbuf_addf(out, "%.1f %s", d, units[u]);
}

static void
human_seconds(int64_t s, struct sbuf *out)
{
	if (s < 0) {
		sbuf_adds(out, "-");
		s = -s;
	}
	if (s >= 86400)
		sbuf_addf(out, "%" PRId64 "d %" PRId64 "h", s / 86400,
			  s % 86400 / 3600);
	else if (s >= 3600)
		sbuf_addf(out, "%" PRId64 "h %" PRId64 "m", s / 3600,
			  s % 3600 / 60);
	else if (s >= 60)
		sbuf_addf(out, "%" PRId64 "m %" PRId64 "s", s / 60, s % 60);
	else
		sbuf_addf(out, "%" PRId64 "s", s);
}

static void
utc_time(int64_t us, struct sbuf *out, int iso)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	char buf[64];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), iso ? "%Y-%m-%dT%H:%M:%SZ" :
		 "%Y-%m-%d %H:%M:%S UTC", &tm);
	sbuf_adds(out, buf);
}

static void
field(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
field(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%-12s ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void
print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);

	if (s) {
		puts(s);
		free(s);
	}
}

/* A --json document: "schema" first, as in every owctl document. */
static json_t *
doc_new(const struct run *r)
{
	json_t *j = json_object();

	json_object_set_new(j, "schema", json_string(r->schema));
	return j;
}

static void
progress_cb(size_t done, size_t total, void *data)
{
	struct run *r = data;

	if (!r->progress)
		return;
	if (total)
		fprintf(stderr, "\rowctl: %zu/%zu (%d%%)", done, total,
			(int)(done * 100 / (total ? total : 1)));
	else
		fprintf(stderr, "\rowctl: %zu", done);
	r->progress_shown = 1;
}

static void
progress_end(struct run *r)
{
	if (r->progress_shown)
		fputs("\r\033[K", stderr);
	r->progress_shown = 0;
}

static const char *
engine_setting_text(const struct sstore *s)
{
	if (s->engine_default)
		return "OMERO.web's default";
	if (s->engine_deprecated)
		return "deprecated alias of django.contrib.sessions.backends."
		       "file";
	return "omero.web.session_engine";
}

static void
engine_json(const struct sstore *s, json_t *j)
{
	json_object_set_new(j, "engine", json_string(
		sstore_engine_str(s->engine)));
	json_object_set_new(j, "session_engine", json_string(
		s->engine_name));
	json_object_set_new(j, "engine_default", json_boolean(
		s->engine_default));
	json_object_set_new(j, "profile", json_string(s->profile));
}

static void
print_engine(const struct sstore *s)
{
	field("engine", "%s (%s, %s)", sstore_engine_str(s->engine),
	      s->engine_name, engine_setting_text(s));
}

static void
django_json(const struct sstore *s, json_t *j)
{
	static const char *const from[] = { "option", "venv", "default" };
	json_t *d = json_object();

	json_object_set_new(d, "rules", json_string(
		sstore_version_str(s->version)));
	json_object_set_new(d, "version", json_string(s->version_text));
	json_object_set_new(d, "from", json_string(from[s->version_from]));
	if (s->version_where)
		json_object_set_new(d, "where", json_string(s->version_where));
	json_object_set_new(d, "use_tz", json_boolean(sstore_use_tz(s)));
	json_object_set_new(j, "django", d);
}

static void
print_django(const struct sstore *s)
{
	switch (s->version_from) {
	case SSTORE_VERSION_OPTION:
		field("rules", "Django %s (--django-version)",
		      sstore_version_str(s->version));
		break;
	case SSTORE_VERSION_VENV:
		field("rules", "Django %s (Django %s in '%s')",
		      sstore_version_str(s->version), s->version_text,
		      s->version_where);
		break;
	case SSTORE_VERSION_DEFAULT:
		field("rules", "Django 5.2 (no Django found%s%s%s; "
		      "--django-version to choose)",
		      s->venv_dir ? " in '" : "", s->venv_dir ? s->venv_dir :
		      "", s->venv_dir ? "'" : "");
		break;
	}
}

/* --- the file engine ----------------------------------------------------- */

static int
file_prepare(struct run *r, struct sfile_opts *fo, struct err *e)
{
	if (sstore_find_dir(&r->s, &r->o, e) < 0 ||
	    sstore_load_secret(&r->s, &r->o, e) < 0 ||
	    djsign_load(e) < 0)
		return -1;
	*fo = (struct sfile_opts)SFILE_OPTS_INIT;
	fo->prefix = r->s.cookie_name;
	fo->cookie_age = r->s.cookie_age;
	fo->version = r->s.version;
	fo->serializer = r->s.serializer;
	fo->use_tz = r->s.use_tz;
	fo->time_zone = r->s.time_zone;
	fo->now_us = now_us(&r->so);
	fo->no_follow = 1; /* never open through a symlink */
	fo->dry_run = r->so.dry_run;
	fo->with_names = 1; /* in memory only: never printed */
	fo->progress = progress_cb;
	fo->progress_data = r;
	return 0;
}

/* The secrets vector sfile wants: SECRET_KEY then the fallbacks. */
static void
file_secrets(struct run *r, struct strv *sv, struct sfile_opts *fo)
{
	strv_push(sv, r->s.secret_key);
	for (size_t i = 0; i < r->s.fallbacks.n; i++)
		strv_push(sv, r->s.fallbacks.v[i]);
	fo->secrets = (const char *const *)sv->v;
	fo->nsecrets = sv->n;
}

static void
wipe_secrets(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		explicit_bzero(sv->v[i], strlen(sv->v[i]));
	strv_release(sv);
}

/*
 * As root, act with the file-system identity of the running OMERO.web's
 * user: in a sticky directory such as /tmp, files of other owners are then
 * neither read nor removed, as if owctl ran as that user.
 */
struct fsid {
	int changed;
	uid_t uid;
	gid_t gid;
};

static void
fsid_enter(struct run *r, struct fsid *f)
{
	struct sbuf p = SBUF_INIT;
	struct stat st;

	f->changed = 0;
	if (geteuid() != 0 || !r->s.gunicorn_pid)
		return;
	sbuf_addf(&p, "/proc/%d", (int)r->s.gunicorn_pid);
	if (stat(p.buf, &st) == 0 && st.st_uid != 0) {
		f->uid = st.st_uid;
		f->gid = st.st_gid;
		setfsgid(f->gid);
		setfsuid(f->uid);
		f->changed = 1;
	}
	sbuf_release(&p);
}

static void
fsid_leave(struct fsid *f)
{
	if (!f->changed)
		return;
	setfsuid(0);
	setfsgid(0);
}

static void
report(struct strv *sv, size_t *n, const char *hint, const char *why)
{
	if (++*n <= MAX_REPORTED)
		strv_pushf(sv, "'%s' (%s)", hint, why);
}

static int
file_visit(const struct sfile_entry *ent, void *data)
{
	struct run *r = data;

	if (ent->reason == SFILE_R_SYMLINK &&
	    sfile_is_session_name(ent->name, r->s.cookie_name)) {
		if (r->dfd >= 0) {
			/* clear: the link itself goes, never its target */
			if (r->so.dry_run || unlinkat(r->dfd, ent->name,
						      0) == 0)
				r->links_removed++;
			else
				report(&r->failed, &r->nfailed, ent->hint,
				       strerror(errno));
		} else {
			report(&r->links, &r->nlinks, ent->hint,
			       "symlink, not followed");
		}
		return 0;
	}
	if (r->act == SFILE_PURGE_EXPIRED &&
	    (ent->verdict == SFILE_CRASH || ent->verdict == SFILE_UNSURE))
		report(&r->kept, &r->nkept, ent->hint,
		       sfile_reason_str(ent->reason));
	if (ent->outcome == SFILE_FAILED &&
	    (ent->err == EPERM || ent->err == EACCES))
		report(&r->others, &r->nothers, ent->hint,
		       "another user's file");
	else if (ent->outcome == SFILE_FAILED)
		report(&r->failed, &r->nfailed, ent->hint,
		       strerror(ent->err));
	return 0;
}

static void
warn_list(struct ctx *ctx, const char *what, const struct strv *sv,
	  size_t n)
{
	for (size_t i = 0; i < sv->n; i++)
		cli_warn(ctx, "%s %s", what, sv->v[i]);
	if (n > sv->n)
		cli_warn(ctx, "... and %zu more", n - sv->n);
}

static void
dir_json(const struct sstore *s, json_t *j)
{
	json_t *d = json_object();

	json_object_set_new(d, "path", json_string(s->dir_shown));
	json_object_set_new(d, "opened", json_string(s->dir));
	json_object_set_new(d, "how", json_string(s->dir_note));
	json_object_set_new(d, "private_tmp", json_boolean(s->dir_private));
	json_object_set_new(j, "directory", d);
	json_object_set_new(j, "prefix", json_string(s->cookie_name));
}

static int
run_file(struct run *r, enum sfile_action act, struct sfile_stats *st,
	 struct err *e)
{
	struct sfile_opts fo;
	struct strv secrets = STRV_INIT;
	struct fsid fs;
	int ret;

	if (file_prepare(r, &fo, e) < 0)
		return -1;
	file_secrets(r, &secrets, &fo);
	fo.no_follow = 1;
	if (act == SFILE_CLEAR) {
		r->dfd = open(r->s.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r->dfd < 0) {
			wipe_secrets(&secrets);
			return err_errno(e, ERR_SESS_STORE, errno, "cannot "
					 "open session directory '%s'",
					 r->s.dir);
		}
	}
	r->act = act;
	fsid_enter(r, &fs);
	ret = sfile_run(r->s.dir, &fo, act, file_visit, r, st, e);
	fsid_leave(&fs);
	progress_end(r);
	wipe_secrets(&secrets);
	if (ret < 0 && e->code == ERR_IO)
		e->code = ERR_SESS_STORE;
	return ret < 0 ? -1 : 0;
}

static void
reasons_text(const struct sfile_stats *st, struct sbuf *out)
{
	for (int i = SFILE_R_PREFIX; i <= SFILE_R_SYMLINK; i++) {
		if (!st->reasons[i])
			continue;
		sbuf_addf(out, "%s%zu %s", out->len ? ", " : "",
			  st->reasons[i], sfile_reason_str(i));
	}
}

static int
file_info(struct run *r, struct err *e)
{
	struct sfile_stats st;
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;
	size_t sessions;

	if (run_file(r, SFILE_SCAN, &st, e) < 0)
		return -1;
	sessions = st.verdicts[SFILE_LIVE] + st.verdicts[SFILE_EXPIRED] +
		   st.verdicts[SFILE_CRASH] + st.verdicts[SFILE_UNSURE];
	if (r->so.json) {
		json_t *j = doc_new(r), *nots = json_object();

		engine_json(&r->s, j);
		dir_json(&r->s, j);
		django_json(&r->s, j);
		json_object_set_new(j, "cookie_age", json_integer(
			r->s.cookie_age));
		json_object_set_new(j, "sessions", json_integer(
			(json_int_t)sessions));
		{
			uint64_t total = (uint64_t)st.bytes[SFILE_LIVE] +
				st.bytes[SFILE_EXPIRED] +
				st.bytes[SFILE_CRASH] + st.bytes[SFILE_UNSURE];

			json_object_set_new(j, "bytes",
					    json_integer((json_int_t)total));
		}
		json_object_set_new(j, "expired", json_integer(
			(json_int_t)st.verdicts[SFILE_EXPIRED]));
		json_object_set_new(j, "expired_bytes", json_integer(
			(json_int_t)st.bytes[SFILE_EXPIRED]));
		json_object_set_new(j, "live", json_integer(
			(json_int_t)st.verdicts[SFILE_LIVE]));
		json_object_set_new(j, "crash", json_integer(
			(json_int_t)st.verdicts[SFILE_CRASH]));
		json_object_set_new(j, "unsure", json_integer(
			(json_int_t)st.verdicts[SFILE_UNSURE]));
		if (st.sessions) {
			utc_time(st.oldest_us, &a, 1);
			utc_time(st.newest_us, &b, 1);
			json_object_set_new(j, "oldest", json_string(a.buf));
			json_object_set_new(j, "newest", json_string(b.buf));
		}
		for (int i = SFILE_R_PREFIX; i <= SFILE_R_SYMLINK; i++)
			if (st.reasons[i])
				json_object_set_new(nots, sfile_reason_str(i),
					json_integer((json_int_t)
						     st.reasons[i]));
		json_object_set_new(j, "not_sessions", nots);
		print_json(j);
		json_decref(j);
	} else {
		print_engine(&r->s);
		field("directory", "%s (%s)", r->s.dir_shown, r->s.dir_note);
		field("prefix", "%s", r->s.cookie_name);
		print_django(&r->s);
		field("cookie age", "%" PRId64 " s", r->s.cookie_age);
		human_bytes(st.bytes[SFILE_LIVE] + st.bytes[SFILE_EXPIRED] +
			    st.bytes[SFILE_CRASH] + st.bytes[SFILE_UNSURE],
			    &a);
		field("sessions", "%zu (%s)", sessions, a.buf);
		sbuf_reset(&a);
		human_bytes(st.bytes[SFILE_EXPIRED], &a);
		field("expired", "%zu (%s): what clearsessions removes",
		      st.verdicts[SFILE_EXPIRED], a.buf);
		field("live", "%zu", st.verdicts[SFILE_LIVE]);
		if (st.verdicts[SFILE_CRASH])
			field("crash", "%zu on which Django's clearsessions "
			      "would stop (owctl keeps them)",
			      st.verdicts[SFILE_CRASH]);
		if (st.verdicts[SFILE_UNSURE])
			field("undecided", "%zu (kept)",
			      st.verdicts[SFILE_UNSURE]);
		if (st.sessions) {
			sbuf_reset(&a);
			utc_time(st.oldest_us, &a, 0);
			field("oldest", "%s", a.buf);
			sbuf_reset(&a);
			utc_time(st.newest_us, &a, 0);
			field("newest", "%s", a.buf);
		}
		sbuf_reset(&a);
		reasons_text(&st, &a);
		if (a.len)
			field("other", "%zu entries are not sessions: %s",
			      st.verdicts[SFILE_NOT_SESSION], a.buf);
	}
	sbuf_release(&a);
	sbuf_release(&b);
	return 0;
}

/* Shared by purge-expired, clear and web clearsessions. */
static int
file_remove(struct run *r, enum sfile_action act, int quiet_ok,
	    struct err *e)
{
	struct sfile_stats st;
	struct sbuf a = SBUF_INIT;
	size_t removed;
	int ret = -1;

	if (run_file(r, act, &st, e) < 0)
		goto out;
	removed = st.removed + r->links_removed;
	if (r->so.json) {
		json_t *j = doc_new(r);

		engine_json(&r->s, j);
		dir_json(&r->s, j);
		django_json(&r->s, j);
		json_object_set_new(j, "dry_run", json_boolean(r->so.dry_run));
		json_object_set_new(j, "removed", json_integer(
			(json_int_t)removed));
		json_object_set_new(j, "removed_bytes", json_integer(
			(json_int_t)st.removed_bytes));
		json_object_set_new(j, "kept_crash", json_integer(
			(json_int_t)st.verdicts[SFILE_CRASH]));
		json_object_set_new(j, "kept_unsure", json_integer(
			(json_int_t)st.verdicts[SFILE_UNSURE]));
		json_object_set_new(j, "symlinks", json_integer(
			(json_int_t)st.reasons[SFILE_R_SYMLINK]));
		json_object_set_new(j, "changed", json_integer(
			(json_int_t)st.changed));
		json_object_set_new(j, "other_users", json_integer(
			(json_int_t)r->nothers));
		json_object_set_new(j, "failed", json_integer(
			(json_int_t)r->nfailed));
		print_json(j);
		json_decref(j);
	} else if (!quiet_ok && r->ctx->verbosity >= 0) {
		human_bytes(st.removed_bytes, &a);
		printf("%s %zu %ssession%s (%s) in '%s'\n", r->so.dry_run ?
		       "would remove" : "removed", removed,
		       act == SFILE_PURGE_EXPIRED ? "expired " : "",
		       removed == 1 ? "" : "s", a.buf, r->s.dir_shown);
	}
	warn_list(r->ctx, "kept", &r->kept, r->nkept);
	if (r->nkept && act == SFILE_PURGE_EXPIRED)
		cli_warn(r->ctx, "Django's own clearsessions would have "
			 "stopped at the first of these (see 'owctl "
			 "sessions list')");
	warn_list(r->ctx, "left alone:", &r->links, r->nlinks);
	if (r->nlinks)
		cli_warn(r->ctx, "'owctl sessions clear' removes such links");
	if (st.changed)
		cli_warn(r->ctx, "%zu session%s changed while being read, "
			 "left alone", st.changed, st.changed == 1 ? "" : "s");
	warn_list(r->ctx, "left alone:", &r->others, r->nothers);
	if (r->nothers)
		cli_warn(r->ctx, "run owctl as the user OMERO.web runs as to "
			 "manage its sessions");
	warn_list(r->ctx, "cannot remove", &r->failed, r->nfailed);
	if (r->nfailed) {
		err_set(e, ERR_SESS_PARTIAL, "%zu session file%s could not be "
			"removed", r->nfailed, r->nfailed == 1 ? "" : "s");
		goto out;
	}
	ret = 0;
out:
	sbuf_release(&a);
	return ret;
}

static int
list_visit(const struct sfile_entry *ent, void *data)
{
	struct run *r = data;
	struct sbuf t = SBUF_INIT, age = SBUF_INIT;
	char size[32] = "-";
	int link = ent->reason == SFILE_R_SYMLINK &&
		   sfile_is_session_name(ent->name, r->s.cookie_name);

	if (ent->verdict == SFILE_NOT_SESSION && !link)
		return 0;
	if (ent->has_stat)
		utc_time(ent->mtime_us, &t, 1);
	if (r->list) {
		json_t *o = json_object();

		json_object_set_new(o, "key", json_string(ent->hint));
		json_object_set_new(o, "state", json_string(link ? "symlink" :
			sfile_verdict_str(ent->verdict)));
		json_object_set_new(o, "why", json_string(
			sfile_reason_str(ent->reason)));
		json_object_set_new(o, "size", ent->has_stat ?
			json_integer(ent->size) : json_null());
		json_object_set_new(o, "modified", ent->has_stat ?
			json_string(t.buf) : json_null());
		json_object_set_new(o, "expires_in", ent->has_age ?
			json_integer(ent->age) : json_null());
		json_array_append_new(r->list, o);
	} else {
		if (ent->has_age)
			human_seconds(ent->age, &age);
		if (ent->has_stat)
			snprintf(size, sizeof(size), "%" PRId64, ent->size);
		printf("%-22s %-9s %7s %-20s %-10s %s\n", ent->hint,
		       link ? "symlink" : sfile_verdict_str(ent->verdict),
		       size, ent->has_stat ? t.buf : "-",
		       ent->has_age ? age.buf : "-",
		       sfile_reason_str(ent->reason));
	}
	sbuf_release(&t);
	sbuf_release(&age);
	return 0;
}

/* --- the cache engine ---------------------------------------------------- */

static int
cache_open(struct run *r, struct sredis_cache *c, struct err *e)
{
	return sredis_parse_cache(r->s.caches, r->s.cache_alias, c, e);
}

static void
node_cb(const char *shown, void *data)
{
	struct run *r = data;

	if (strv_find(&r->nodes, shown) < 0)
		strv_push(&r->nodes, shown);
}

static void
cluster_json(const struct run *r, const struct sredis_stats *st, json_t *j)
{
	json_t *o, *m;

	if (!st->cluster)
		return;
	o = json_object();
	m = json_array();
	for (size_t i = 0; i < r->nodes.n; i++)
		json_array_append_new(m, json_string(r->nodes.v[i]));
	json_object_set_new(o, "masters", m);
	json_object_set_new(o, "redirects", json_integer(
		(json_int_t)st->redirects));
	json_object_set_new(o, "passes", json_integer((json_int_t)st->passes));
	json_object_set_new(j, "cluster", o);
}

static void
print_cluster(const struct run *r, const struct sredis_stats *st)
{
	if (!st->cluster)
		return;
	field("cluster", "Redis Cluster, %zu master%s (replicas not touched)",
	      r->nodes.n, r->nodes.n == 1 ? "" : "s");
	for (size_t i = 0; i < r->nodes.n; i++)
		field("", "%s", r->nodes.v[i]);
}

static void
cache_json(const struct sredis_cache *c, const char *kind, json_t *j)
{
	json_t *o = json_object(), *servers = json_array();
	struct sbuf base = SBUF_INIT;

	for (size_t i = 0; i < c->nservers; i++)
		json_array_append_new(servers, json_string(
			c->servers[i].shown));
	json_object_set_new(o, "alias", json_string(c->alias));
	json_object_set_new(o, "backend", json_string(c->backend));
	json_object_set_new(o, "locations", servers);
	json_object_set_new(o, "db", json_integer(c->servers[0].db));
	sredis_key_base(c, kind, &base);
	sbuf_addch(&base, '*');
	json_object_set_new(o, "keys", json_string(base.buf));
	json_object_set_new(j, "cache", o);
	sbuf_release(&base);
}

static void
print_cache(const struct sredis_cache *c, const char *kind,
	    const struct sredis_stats *st)
{
	struct sbuf base = SBUF_INIT;

	field("store", "%s (cache '%s', %s%s%s%s)", c->servers[0].shown,
	      c->alias, c->backend, st->server_version[0] ? ", Redis " : "",
	      st->server_version, c->sharded ? ", sharded" : "");
	for (size_t i = 1; i < c->nservers; i++)
		field("", "%s (%s)", c->servers[i].shown, c->sharded ?
		      "shard" : st->cluster ? "another node of the cluster" :
		      "replica, not touched");
	sredis_key_base(c, kind, &base);
	field("keys", "'%s*' in db %d", base.buf, c->servers[0].db);
	sbuf_release(&base);
}

static int
cache_info(struct run *r, const char *kind, struct err *e)
{
	struct sredis_cache c;
	struct sredis_opts ro = SREDIS_OPTS_INIT;
	struct sredis_stats st;
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;
	int ret = -1;

	if (cache_open(r, &c, e) < 0)
		goto out;
	ro.kind = kind;
	ro.with_sizes = 1;
	ro.progress = progress_cb;
	ro.progress_data = r;
	ro.on_node = node_cb;
	ro.node_data = r;
	if (sredis_run(&c, &ro, NULL, NULL, &st, e) < 0)
		goto out;
	progress_end(r);
	if (r->so.json) {
		json_t *j = doc_new(r);

		engine_json(&r->s, j);
		cache_json(&c, kind, j);
		cluster_json(r, &st, j);
		json_object_set_new(j, "redis_version",
				    json_string(st.server_version));
		json_object_set_new(j, "sessions", json_integer(
			(json_int_t)st.keys));
		json_object_set_new(j, "bytes", json_integer(
			(json_int_t)st.bytes));
		json_object_set_new(j, "expired", json_integer(0));
		json_object_set_new(j, "without_ttl", json_integer(
			(json_int_t)st.no_ttl));
		if (st.keys > st.no_ttl) {
			json_object_set_new(j, "soonest_expiry_s", json_integer(
				st.min_ttl_ms / 1000));
			json_object_set_new(j, "latest_expiry_s", json_integer(
				st.max_ttl_ms / 1000));
		}
		json_object_set_new(j, "db_keys", json_integer(
			(json_int_t)st.dbsize));
		print_json(j);
		json_decref(j);
	} else {
		print_engine(&r->s);
		print_cache(&c, kind, &st);
		print_cluster(r, &st);
		human_bytes(st.bytes, &a);
		field("sessions", "%zu (%s) among %zu keys in the db", st.keys,
		      a.buf, st.dbsize);
		field("expired", "0 (Redis deletes expired keys itself)");
		if (st.keys > st.no_ttl) {
			sbuf_reset(&a);
			human_seconds(st.min_ttl_ms / 1000, &a);
			human_seconds(st.max_ttl_ms / 1000, &b);
			field("expiry", "soonest in %s, latest in %s", a.buf,
			      b.buf);
		}
		if (st.no_ttl)
			field("no TTL", "%zu keys never expire (not written "
			      "by Django)", st.no_ttl);
	}
	ret = 0;
out:
	sbuf_release(&a);
	sbuf_release(&b);
	sredis_cache_release(&c);
	return ret;
}

static int
cache_clear(struct run *r, const char *kind, struct err *e)
{
	struct sredis_cache c;
	struct sredis_opts ro = SREDIS_OPTS_INIT;
	struct sredis_stats st;
	struct sbuf base = SBUF_INIT;
	int ret = -1;

	if (cache_open(r, &c, e) < 0)
		goto out;
	ro.kind = kind;
	ro.act = SREDIS_CLEAR;
	ro.dry_run = r->so.dry_run;
	ro.progress = progress_cb;
	ro.progress_data = r;
	ro.on_node = node_cb;
	ro.node_data = r;
	if (sredis_run(&c, &ro, NULL, NULL, &st, e) < 0) {
		progress_end(r);
		goto out;
	}
	progress_end(r);
	sredis_key_base(&c, kind, &base);
	if (r->so.json) {
		json_t *j = r->merged ? json_object() : doc_new(r);

		if (!r->merged)
			engine_json(&r->s, j);
		cache_json(&c, kind, j);
		cluster_json(r, &st, j);
		json_object_set_new(j, "dry_run", json_boolean(r->so.dry_run));
		json_object_set_new(j, "found", json_integer(
			(json_int_t)st.keys));
		json_object_set_new(j, "removed", json_integer(
			(json_int_t)st.removed));
		if (r->merged)
			json_object_set(r->merged, "cache_keys", j);
		else
			print_json(j);
		json_decref(j);
	} else if (r->ctx->verbosity >= 0) {
		printf("%s %zu session key%s '%s*' in %s", r->so.dry_run ?
		       "would remove" : "removed", st.removed,
		       st.removed == 1 ? "" : "s", base.buf,
		       c.servers[0].shown);
		if (st.cluster)
			printf(" (Redis Cluster: %zu master%s)", r->nodes.n,
			       r->nodes.n == 1 ? "" : "s");
		putchar('\n');
	}
	ret = 0;
out:
	sbuf_release(&base);
	sredis_cache_release(&c);
	return ret;
}

static int
redis_list_visit(const struct sredis_entry *ent, void *data)
{
	struct run *r = data;
	struct sbuf t = SBUF_INIT;

	if (r->list) {
		json_t *o = json_object();

		json_object_set_new(o, "key", json_string(ent->hint));
		json_object_set_new(o, "server", json_string(ent->server));
		json_object_set_new(o, "size", ent->has_size ?
			json_integer(ent->size) : json_null());
		json_object_set_new(o, "expires_in", ent->has_size &&
			ent->pttl_ms >= 0 ? json_integer(ent->pttl_ms / 1000) :
			json_null());
		json_array_append_new(r->list, o);
	} else {
		if (ent->has_size && ent->pttl_ms >= 0)
			human_seconds(ent->pttl_ms / 1000, &t);
		printf("%-48s %7" PRId64 " %s\n", ent->hint,
		       ent->has_size ? ent->size : 0,
		       t.len ? t.buf : "no TTL");
	}
	sbuf_release(&t);
	return 0;
}

static int
cache_list(struct run *r, const char *kind, struct err *e)
{
	struct sredis_cache c;
	struct sredis_opts ro = SREDIS_OPTS_INIT;
	int ret = -1;

	if (cache_open(r, &c, e) < 0)
		goto out;
	ro.kind = kind;
	ro.with_sizes = 1;
	if (!r->list)
		printf("%-48s %7s %s\n", "KEY", "SIZE", "EXPIRES IN");
	if (sredis_run(&c, &ro, redis_list_visit, r, NULL, e) < 0)
		goto out;
	ret = 0;
out:
	sredis_cache_release(&c);
	return ret;
}

/* --- the db engines ------------------------------------------------------ */

static int
db_open(struct run *r, struct sdb_target *t, struct err *e)
{
	return sdb_parse(r->s.databases, t, e);
}

static int
db_visit(const struct sdb_entry *ent, void *data)
{
	struct run *r = data;

	if (r->list) {
		json_t *o = json_object();

		json_object_set_new(o, "key", json_string(ent->hint));
		json_object_set_new(o, "size", json_integer(ent->size));
		json_object_set_new(o, "expire_date", json_string(
			ent->expire_date));
		json_object_set_new(o, "state", json_string(ent->expired ?
			"expired" : "live"));
		json_array_append_new(r->list, o);
	} else {
		printf("%-22s %-8s %7" PRId64 " %s\n", ent->hint,
		       ent->expired ? "expired" : "live", ent->size,
		       ent->expire_date);
	}
	return 0;
}

static void
db_opts(struct run *r, struct sdb_opts *dbo, enum sdb_action act)
{
	*dbo = (struct sdb_opts)SDB_OPTS_INIT;
	dbo->act = act;
	dbo->dry_run = r->so.dry_run;
	dbo->use_tz = sstore_use_tz(&r->s);
	dbo->time_zone = r->s.time_zone;
	dbo->now_us = now_us(&r->so);
}

static int
db_run(struct run *r, enum sdb_action act, int list, struct err *e)
{
	struct sdb_target t;
	struct sdb_opts dbo;
	struct sdb_stats st;
	struct sbuf a = SBUF_INIT;
	int ret = -1;

	if (db_open(r, &t, e) < 0)
		goto out;
	db_opts(r, &dbo, act);
	if (list && !r->list)
		printf("%-22s %-8s %7s %s\n", "KEY", "STATE", "SIZE",
		       "EXPIRE DATE");
	if (sdb_run(&t, &dbo, list ? db_visit : NULL, r, &st, e) < 0)
		goto out;
	if (list) {
		ret = 0;
		goto out;
	}
	if (r->so.json) {
		json_t *j = doc_new(r), *d = json_object();

		engine_json(&r->s, j);
		django_json(&r->s, j);
		json_object_set_new(d, "engine", json_string(t.engine));
		json_object_set_new(d, "name", json_string(t.shown));
		json_object_set_new(j, "database", d);
		json_object_set_new(j, "sessions", json_integer(
			(json_int_t)st.rows));
		json_object_set_new(j, "bytes", json_integer(
			(json_int_t)st.bytes));
		json_object_set_new(j, "expired", json_integer(
			(json_int_t)st.expired));
		if (act != SDB_SCAN) {
			json_object_set_new(j, "dry_run", json_boolean(
				r->so.dry_run));
			json_object_set_new(j, "removed", json_integer(
				(json_int_t)st.removed));
		}
		if (st.rows) {
			json_object_set_new(j, "oldest_expiry", json_string(
				st.min_expire));
			json_object_set_new(j, "newest_expiry", json_string(
				st.max_expire));
		}
		if (r->merged)
			json_object_update(r->merged, j);
		else
			print_json(j);
		json_decref(j);
	} else if (act == SDB_SCAN) {
		print_engine(&r->s);
		field("database", "%s (%s), table django_session", t.shown,
		      t.engine);
		print_django(&r->s);
		human_bytes(st.bytes, &a);
		field("sessions", "%zu (%s)", st.rows, a.buf);
		field("expired", "%zu: what clearsessions removes",
		      st.expired);
		if (st.rows) {
			field("expiring", "first %s, last %s", st.min_expire,
			      st.max_expire);
		}
	} else if (r->ctx->verbosity >= 0) {
		printf("%s %zu %ssession%s from %s\n", r->so.dry_run ?
		       "would remove" : "removed", st.removed,
		       act == SDB_PURGE_EXPIRED ? "expired " : "",
		       st.removed == 1 ? "" : "s", t.shown);
	}
	ret = 0;
out:
	sbuf_release(&a);
	sdb_target_release(&t);
	return ret;
}

/* --- subcommands --------------------------------------------------------- */

static int
finish(struct run *r, int ret, struct err *e)
{
	progress_end(r);
	run_release(r);
	return ret < 0 ? cli_fail(e) : 0;
}

static int
sessions_info(int argc, char **argv, struct ctx *ctx)
{
	struct sopts so;
	struct run r;
	struct err e = ERR_INIT;
	int ret, st = parse_opts(ctx, argc, argv, O_JSON, &so);

	if (st >= 0)
		return st;
	ret = run_open(&r, ctx, &so, NULL, &e);
	r.schema = "owctl.sessions.info/1";
	if (ret == 0) {
		switch (r.s.engine) {
		case SSTORE_FILE:
			ret = file_info(&r, &e);
			break;
		case SSTORE_CACHE:
			ret = cache_info(&r, SREDIS_KIND_CACHE, &e);
			break;
		case SSTORE_DB:
		case SSTORE_CACHED_DB:
			ret = db_run(&r, SDB_SCAN, 0, &e);
			break;
		}
	}
	return finish(&r, ret, &e);
}

static int
purge(struct run *r, int quiet_ok, struct err *e)
{
	switch (r->s.engine) {
	case SSTORE_FILE:
		return file_remove(r, SFILE_PURGE_EXPIRED, quiet_ok, e);
	case SSTORE_CACHE:
		if (r->so.json) {
			json_t *j = doc_new(r);

			engine_json(&r->s, j);
			json_object_set_new(j, "removed", json_integer(0));
			json_object_set_new(j, "note", json_string(
				"Redis deletes expired session keys itself"));
			print_json(j);
			json_decref(j);
		} else if (!quiet_ok && r->ctx->verbosity >= 0) {
			puts("nothing to do: every session key has a TTL and "
			     "Redis deletes expired keys itself (Django's "
			     "clearsessions does nothing for the cache "
			     "engine either)");
		}
		return 0;
	case SSTORE_DB:
	case SSTORE_CACHED_DB:
		/* cached_db: its cache entries expire with their TTL */
		if (quiet_ok && !r->so.json) {
			int v = r->ctx->verbosity;
			int ret;

			r->ctx->verbosity = -1;
			ret = db_run(r, SDB_PURGE_EXPIRED, 0, e);
			r->ctx->verbosity = v;
			return ret;
		}
		return db_run(r, SDB_PURGE_EXPIRED, 0, e);
	}
	return 0;
}

static int
sessions_purge(int argc, char **argv, struct ctx *ctx)
{
	struct sopts so;
	struct run r;
	struct err e = ERR_INIT;
	int ret, st = parse_opts(ctx, argc, argv, O_JSON | O_DRY_RUN, &so);

	if (st >= 0)
		return st;
	ret = run_open(&r, ctx, &so, NULL, &e);
	r.schema = "owctl.sessions.purge/1";
	if (ret == 0)
		ret = purge(&r, 0, &e);
	return finish(&r, ret, &e);
}

/* Ask on the terminal; refuse when stdin is not one. */
static int
confirm(struct run *r, const char *where, struct err *e)
{
	char line[64];

	if (r->so.yes || r->so.dry_run)
		return 0;
	if (!isatty(0))
		return err_set(e, ERR_CONFIRM, "refusing to remove every "
			       "session without --yes (standard input is not "
			       "a terminal)");
	fprintf(stderr, "Remove every OMERO.web session in %s? Everyone "
		"will have to log in again. [y/N] ", where);
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin) ||
	    (strcmp(line, "y\n") && strcmp(line, "yes\n") &&
	     strcmp(line, "Y\n")))
		return err_set(e, ERR_CONFIRM, "nothing removed (not "
			       "confirmed)");
	return 0;
}

static int
clear_cache_too(struct run *r, struct err *e)
{
	struct sredis_cache c;
	struct err ce = ERR_INIT;
	int ok;

	/* cached_db: the rows are gone; drop their cache copies as well */
	if (r->s.engine != SSTORE_CACHED_DB)
		return 0;
	ok = cache_open(r, &c, &ce) == 0;
	sredis_cache_release(&c);
	if (!ok) {
		cli_warn(r->ctx, "cached_db: the cache copies of the sessions "
			 "were not removed (%s)", ce.msg);
		err_clear(&ce);
		return 0;
	}
	return cache_clear(r, SREDIS_KIND_CACHED_DB, e);
}

static int
sessions_clear(int argc, char **argv, struct ctx *ctx)
{
	struct sopts so;
	struct run r;
	struct err e = ERR_INIT;
	struct sbuf where = SBUF_INIT;
	int ret, st = parse_opts(ctx, argc, argv, O_JSON | O_DRY_RUN | O_YES,
				 &so);

	if (st >= 0)
		return st;
	ret = run_open(&r, ctx, &so, NULL, &e);
	r.schema = "owctl.sessions.clear/1";
	if (ret < 0)
		goto out;
	switch (r.s.engine) {
	case SSTORE_FILE:
		ret = sstore_find_dir(&r.s, &r.o, &e);
		if (ret == 0)
			sbuf_addf(&where, "'%s'", r.s.dir_shown);
		break;
	case SSTORE_CACHE:
		sbuf_addf(&where, "the Redis cache '%s'", r.s.cache_alias);
		break;
	case SSTORE_DB:
	case SSTORE_CACHED_DB:
		sbuf_adds(&where, "the django_session table");
		break;
	}
	if (ret == 0)
		ret = confirm(&r, where.buf, &e);
	if (ret < 0)
		goto out;
	switch (r.s.engine) {
	case SSTORE_FILE:
		ret = file_remove(&r, SFILE_CLEAR, 0, &e);
		break;
	case SSTORE_CACHE:
		ret = cache_clear(&r, SREDIS_KIND_CACHE, &e);
		break;
	case SSTORE_DB:
	case SSTORE_CACHED_DB:
		/* cached_db --json: the table's and the cache's counts in
		 * one object */
		if (so.json && r.s.engine == SSTORE_CACHED_DB)
			r.merged = doc_new(&r);
		ret = db_run(&r, SDB_CLEAR, 0, &e);
		if (ret == 0)
			ret = clear_cache_too(&r, &e);
		if (ret == 0 && r.merged)
			print_json(r.merged);
		break;
	}
out:
	sbuf_release(&where);
	return finish(&r, ret, &e);
}

static int
sessions_list(int argc, char **argv, struct ctx *ctx)
{
	struct sopts so;
	struct run r;
	struct err e = ERR_INIT;
	struct sfile_stats fst;
	int ret, st = parse_opts(ctx, argc, argv, O_JSON, &so);

	if (st >= 0)
		return st;
	ret = run_open(&r, ctx, &so, NULL, &e);
	r.schema = "owctl.sessions.list/1";
	if (ret < 0)
		return finish(&r, ret, &e);
	if (so.json)
		r.list = json_array();
	r.progress = 0;
	switch (r.s.engine) {
	case SSTORE_FILE: {
		struct sfile_opts fo;
		struct strv secrets = STRV_INIT;
		struct fsid fs;

		ret = file_prepare(&r, &fo, &e);
		if (ret < 0)
			break;
		file_secrets(&r, &secrets, &fo);
		fo.progress = NULL;
		if (!so.json)
			printf("%-22s %-9s %7s %-20s %-10s %s\n", "KEY",
			       "STATE", "SIZE", "MODIFIED", "EXPIRES IN",
			       "WHY");
		fsid_enter(&r, &fs);
		ret = sfile_run(r.s.dir, &fo, SFILE_SCAN, list_visit, &r,
				&fst, &e);
		fsid_leave(&fs);
		wipe_secrets(&secrets);
		if (ret > 0)
			ret = 0;
		break;
	}
	case SSTORE_CACHE:
		ret = cache_list(&r, SREDIS_KIND_CACHE, &e);
		break;
	case SSTORE_DB:
	case SSTORE_CACHED_DB:
		ret = db_run(&r, SDB_SCAN, 1, &e);
		break;
	}
	if (ret == 0 && r.list) {
		json_t *j = doc_new(&r);

		json_object_set(j, "sessions", r.list);
		print_json(j);
		json_decref(j);
	}
	return finish(&r, ret, &e);
}

/* owctl web clearsessions: upstream's words, owctl's purge. */
int
web_clearsessions(int argc, char **argv, struct ctx *ctx)
{
	struct sopts so;
	struct run r;
	struct err e = ERR_INIT;
	int ret, text, st;

	st = parse_opts(ctx, argc, argv, O_NO_WAIT | O_JSON, &so);
	if (st >= 0)
		return st;
	if (!ctx->omerodir || !*ctx->omerodir) {
		err_set(&e, ERR_WEB_NO_OMERODIR, "ERROR: OMERODIR not set");
		return cli_fail(&e);
	}
	ret = run_open(&r, ctx, &so, web_venv_option(), &e);
	r.schema = "owctl.sessions.purge/1";
	if (ret < 0)
		return finish(&r, ret, &e);
	r.progress = 0;
	/* --json: the purge-expired document alone on stdout */
	text = ctx->verbosity >= 0 && !so.json;
	if (text) {
		fputs("Clearing expired sessions. This may take some time... ",
		      stdout);
		fflush(stdout);
	}
	ret = purge(&r, 1, &e);
	if (ret == 0 && text && !so.no_wait)
		puts("[OK]");
	else if (ret < 0 && text)
		puts("[FAILED]");
	return finish(&r, ret, &e);
}

int
web_purge_sessions(struct ctx *ctx, const char *venv, struct err *e)
{
	struct sopts so;
	struct run r;
	int ret;

	memset(&so, 0, sizeof(so));
	ret = run_open(&r, ctx, &so, venv, e);
	if (ret == 0) {
		r.progress = 0;
		ret = purge(&r, 1, e);
	}
	progress_end(&r);
	run_release(&r);
	return ret;
}

#define VERSION_OPTS "[--django-version 3.2|4.2|5.2] [--venv DIR]"

const struct command sessions_commands[] = {
	{ "info", sessions_info,
	  "[--json] [--session-dir DIR] " VERSION_OPTS,
	  "the session engine in effect, where its store is, how many "
	  "sessions, how many expired, oldest/newest, bytes" },
	{ "purge-expired", sessions_purge,
	  "[--dry-run] [--json] [--session-dir DIR] " VERSION_OPTS,
	  "remove exactly the sessions Django's clearsessions would remove" },
	{ "clear", sessions_clear,
	  "[--dry-run] [--yes] [--json] [--session-dir DIR]",
	  "remove every session (everyone logs in again); asks on a "
	  "terminal unless --yes" },
	{ "list", sessions_list,
	  "[--json] [--session-dir DIR] " VERSION_OPTS,
	  "one line per session: key prefix only, state, size, expiry" },
	{ NULL, NULL, NULL, NULL }
};

const char sessions_help[] =
	"The engine comes from omero.web.session_engine (default: file).\n"
	"File sessions live in the temporary directory of the running\n"
	"OMERO.web (its TMPDIR, or its private /tmp under systemd's\n"
	"PrivateTmp, read through /proc/PID/root), else in owctl's own;\n"
	"--session-dir DIR overrides. Expiry follows the deployment's Django\n"
	"(3.2, 4.2 and 5.2 differ): --django-version, else the venv's\n"
	"Django, else 5.2. Redis (cache engine) is cleared with SCAN and\n"
	"pipelined UNLINK, never KEYS. See owctl-sessions(1).\n";

int
cmd_sessions(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = { CLI_OPT_HELP, CLI_OPT_END };
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "+h", opts, ctx);
	int c;

	g.subcommands = sessions_commands;
	g.help = sessions_help;
	while ((c = cli_getopt(&g)) >= 0)
		;
	if (c == CLI_OPT_EXIT)
		return g.status;
	return cli_dispatch(sessions_commands, argc - optind, argv + optind,
			    ctx);
}
