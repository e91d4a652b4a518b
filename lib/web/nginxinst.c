/*
 * owctl web nginx install: the live file, its base copy in
 * $OMERODIR/var/owctl/nginx, a diff3 merge between them and the freshly
 * generated text, the whole-configuration test with roll-back, and reload.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "fs.h"
#include "proc.h"
#include "xalloc.h"
#include "web/gproc.h"
#include "web/merge.h"
#include "web/nginxinst.h"
#include "banned.h"

#define MAX_CONF (16u << 20)
#define LOCK_WAIT 30.0

/* ---- running nginx ---- */

static char *
find_nginx(const struct nginx_cmd *c)
{
	char *p;

	if (c->nginx)
		return xstrdup(c->nginx);
	if ((p = proc_which("nginx", NULL)))
		return p;
	if ((p = proc_which("nginx", "/usr/sbin:/usr/local/sbin:/sbin")))
		return p;
	return xstrdup("nginx");	/* proc_run words the error */
}

/*
 * Append line, turning nginx's error log format ("2026/01/02 03:04:05
 * [emerg] 123#123: text", what it writes when its log is stderr) into
 * "[emerg] text", the form it uses for its own stderr messages.
 */
static void
add_without_log_stamp(struct sbuf *msg, const char *line, size_t len)
{
	const char *p = line, *end = line + len, *level, *q;
	size_t i;

	static const char stamp[] = "dddd/dd/dd dd:dd:dd [";

	for (i = 0; i < sizeof(stamp) - 1; i++, p++)
		if (p >= end || (stamp[i] == 'd' ? *p < '0' || *p > '9'
						 : *p != stamp[i]))
			break;
	if (i < sizeof(stamp) - 1) {
		sbuf_add(msg, line, len);
		return;
	}
	level = p - 1;
	q = memchr(p, ']', end - p);
	if (!q) {
		sbuf_add(msg, line, len);
		return;
	}
	sbuf_add(msg, level, q + 1 - level);
	p = q + 1;
	/* " 123#456: " */
	q = p;
	if (q < end && *q == ' ')
		q++;
	while (q < end && ((*q >= '0' && *q <= '9') || *q == '#'))
		q++;
	if (q + 1 < end && q[0] == ':' && q[1] == ' ' && q > p + 1)
		p = q + 1;
	sbuf_add(msg, p, end - p);
}

void
nginx_problem_line(const char *log, int status, struct sbuf *msg)
{
	static const char *const levels[] = {
		"[emerg]", "[alert]", "[crit]", "[error]", NULL,
	};
	const char *p, *eol, *best = NULL, *last = NULL;
	size_t i, best_len = 0, last_len = 0;

	for (p = log; *p && !best; p = *eol ? eol + 1 : eol) {
		for (eol = p; *eol && *eol != '\n'; eol++)
			;
		if (eol == p)
			continue;
		last = p;
		last_len = eol - p;
		for (i = 0; levels[i]; i++) {
			const char *hit = strstr(p, levels[i]);

			if (hit && hit < eol) {
				best = p;
				best_len = eol - p;
				break;
			}
		}
	}
	if (!best) {
		best = last;
		best_len = last_len;
	}
	if (!best) {
		sbuf_addf(msg, "nginx exited with status %d", status);
		return;
	}
	if (best_len > 7 && !memcmp(best, "nginx: ", 7)) {
		best += 7;
		best_len -= 7;
	}
	add_without_log_stamp(msg, best, best_len);
}

/*
 * Run nginx with the action arguments (e.g. "-T", or "-s", "reload") and
 * c's -p/-c; "-e stderr" is added where nginx knows it (1.19.5+), so that
 * messages from before the configuration is read come back to us.
 */
static int
run_nginx(const struct nginx_cmd *c, const char *const *action,
	  struct sbuf *out, struct sbuf *log, struct proc_result *r,
	  struct err *e)
{
	char *nginx = find_nginx(c);
	const char *argv[12];
	struct proc_opts po = { 0 };
	int use_e = 1, ret = -1, n, i;

	for (;;) {
		n = 0;
		argv[n++] = nginx;
		for (i = 0; action[i] && n < 4; i++)
			argv[n++] = action[i];
		if (c->prefix) {
			argv[n++] = "-p";
			argv[n++] = c->prefix;
		}
		if (c->conf) {
			argv[n++] = "-c";
			argv[n++] = c->conf;
		}
		if (use_e) {
			argv[n++] = "-e";
			argv[n++] = "stderr";
		}
		argv[n] = NULL;
		po.argv = argv;
		po.out = out;
		po.err = log;
		po.max_capture = 64u << 20;
		po.timeout = c->timeout > 0 ? c->timeout : 60;
		if (out)
			sbuf_reset(out);
		sbuf_reset(log);
		if (proc_run(&po, r, e) < 0)
			goto out;
		if (r->status && use_e &&
		    strstr(log->buf, "invalid option: \"e\"")) {
			use_e = 0;
			continue;
		}
		break;
	}
	ret = 0;
out:
	free(nginx);
	return ret;
}

/* Is one of the "# configuration file X:" lines of dump the file real? */
static int
dump_includes(const char *dump, const char *real)
{
	static const char head[] = "# configuration file ";
	const char *p = dump, *eol;
	size_t n = sizeof(head) - 1;
	int found = 0;

	for (; *p && !found; p = *eol ? eol + 1 : eol) {
		char *name, *rp;

		eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		if ((size_t)(eol - p) <= n + 1 || memcmp(p, head, n) ||
		    eol[-1] != ':')
			continue;
		name = xstrndup(p + n, eol - 1 - (p + n));
		rp = realpath(name, NULL);
		found = !strcmp(rp ? rp : name, real);
		free(rp);
		free(name);
	}
	return found;
}

int
nginx_test_whole(const struct nginx_cmd *c, const char *must_include,
		 int *included, struct sbuf *log, struct err *e)
{
	static const char *const action[] = { "-T", NULL };
	struct sbuf dump = SBUF_INIT, own = SBUF_INIT, msg = SBUF_INIT;
	struct sbuf *l = log ? log : &own;
	struct proc_result r;
	int ret = -1;

	if (included)
		*included = 0;
	if (run_nginx(c, action, &dump, l, &r, e) < 0) {
		err_prefix(e, "cannot test the nginx configuration");
		goto out;
	}
	if (r.status) {
		nginx_problem_line(l->buf, r.status, &msg);
		err_set(e, ERR_WEB_NGINX_TEST, "nginx -t failed: %s", msg.buf);
		goto out;
	}
	if (must_include && included) {
		char *rp = realpath(must_include, NULL);

		*included = dump_includes(dump.buf, rp ? rp : must_include);
		free(rp);
	}
	ret = 0;
out:
	sbuf_release(&dump);
	sbuf_release(&own);
	sbuf_release(&msg);
	return ret;
}

int
nginx_reload(const struct nginx_cmd *c, struct sbuf *log, struct err *e)
{
	static const char *const action[] = { "-s", "reload", NULL };
	struct sbuf own = SBUF_INIT, msg = SBUF_INIT;
	struct sbuf *l = log ? log : &own;
	struct proc_result r;
	int ret = -1;

	if (run_nginx(c, action, NULL, l, &r, e) < 0) {
		err_prefix(e, "cannot reload nginx");
		goto out;
	}
	if (r.status) {
		nginx_problem_line(l->buf, r.status, &msg);
		err_set(e, ERR_WEB_NGINX_RELOAD, "nginx -s reload failed: %s",
			msg.buf);
		goto out;
	}
	ret = 0;
out:
	sbuf_release(&own);
	sbuf_release(&msg);
	return ret;
}

/* The value of the first "pid X;" directive of an nginx -T dump. */
static char *
dump_pid_path(const char *dump)
{
	const char *p = dump;

	while (*p) {
		const char *eol = strchr(p, '\n'), *v, *end;

		if (!eol)
			eol = p + strlen(p);
		while (p < eol && (*p == ' ' || *p == '\t'))
			p++;
		if (eol - p > 4 && !strncmp(p, "pid", 3) &&
		    (p[3] == ' ' || p[3] == '\t')) {
			v = p + 4;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			end = memchr(v, ';', (size_t)(eol - v));
			if (end && end > v)
				return xstrndup(v, (size_t)(end - v));
		}
		p = *eol ? eol + 1 : eol;
	}
	return NULL;
}

int
nginx_master_pid(const struct nginx_cmd *c, pid_t *pid, struct err *e)
{
	static const char *const dump_a[] = { "-T", NULL };
	static const char *const ver_a[] = { "-V", NULL };
	struct sbuf out = SBUF_INIT, log = SBUF_INIT, path = SBUF_INIT;
	struct sbuf txt = SBUF_INIT;
	struct proc_result r;
	char *pp = NULL, *end;
	long v;
	int ret = -1;

	*pid = 0;
	if (run_nginx(c, dump_a, &out, &log, &r, e) < 0)
		goto out;
	if (r.status == 0)
		pp = dump_pid_path(out.buf);
	if (!pp && run_nginx(c, ver_a, NULL, &log, &r, e) == 0) {
		const char *q = strstr(log.buf, "--pid-path=");

		if (q) {
			q += strlen("--pid-path=");
			pp = xstrndup(q, strcspn(q, " \n"));
		}
	}
	if (!pp) {
		err_set(e, ERR_WEB_NGINX_RELOAD, "cannot tell where nginx "
			"keeps its PID");
		goto out;
	}
	if (*pp != '/' && c->prefix)
		sbuf_addf(&path, "%s/%s", c->prefix, pp);
	else
		sbuf_adds(&path, pp);
	if (fs_read_file(path.buf, 64, &txt, e) < 0) {
		e->code = ERR_WEB_NGINX_RELOAD;
		err_prefix(e, "nginx is not running");
		goto out;
	}
	v = strtol(txt.buf, &end, 10);
	if (v <= 0 || !gproc_alive((pid_t)v)) {
		err_set(e, ERR_WEB_NGINX_RELOAD, "nginx is not running (no "
			"process %ld, from '%s')", v, path.buf);
		goto out;
	}
	*pid = (pid_t)v;
	ret = 0;
out:
	free(pp);
	sbuf_release(&out);
	sbuf_release(&log);
	sbuf_release(&path);
	sbuf_release(&txt);
	return ret;
}

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
nginx_reload_wait(const struct nginx_cmd *c, double timeout, double *waited,
		  struct sbuf *log, struct err *e)
{
	pid_t master, *old = NULL;
	size_t nold, left = 0;
	double t0, deadline;
	int ret = -1;

	if (waited)
		*waited = 0;
	if (nginx_master_pid(c, &master, e) < 0)
		return -1;
	nold = gmaster_children(master, &old);
	if (nginx_reload(c, log, e) < 0)
		goto out;
	t0 = mono_now();
	deadline = t0 + (timeout > 0 ? timeout : 60);
	for (;;) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		left = 0;
		for (size_t i = 0; i < nold; i++)
			if (gproc_alive(old[i]))
				left++;
		if (!left || mono_now() >= deadline)
			break;
		nanosleep(&ts, NULL);
	}
	if (waited)
		*waited = mono_now() - t0;
	if (left) {
		err_set(e, ERR_WEB_NGINX_RELOAD, "%zu nginx worker(s) of the "
			"old configuration still run %.0f s after the reload",
			left, timeout);
		goto out;
	}
	ret = 0;
out:
	free(old);
	return ret;
}

/* ---- state: base copies and records ---- */

char *
nginx_state_dir(const char *omerodir)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_adds(&sb, omerodir);
	while (sb.len > 1 && sb.buf[sb.len - 1] == '/')
		sbuf_setlen(&sb, sb.len - 1);
	sbuf_adds(&sb, "/var/owctl/nginx");
	return sbuf_detach(&sb, NULL);
}

/*
 * The file a write to path really replaces: symbolic links are followed
 * (so sites-enabled/x -> ../sites-available/x keeps its link), the
 * directory is made canonical. Caller frees.
 */
static char *
resolve_target(const char *path, struct err *e)
{
	struct stat st;
	struct sbuf sb = SBUF_INIT;
	const char *slash, *base;
	char *dir, *rdir, *rp;

	if (!*path) {
		err_set(e, ERR_USAGE, "the nginx file path is empty");
		return NULL;
	}
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode) || S_ISREG(st.st_mode)) {
			rp = realpath(path, NULL);
			if (!rp)
				err_errno(e, ERR_IO, errno, "cannot resolve "
					  "'%s'", path);
			else if (stat(rp, &st) == 0 && !S_ISREG(st.st_mode)) {
				err_set(e, ERR_IO, "'%s' is not a regular "
					"file", path);
				free(rp);
				rp = NULL;
			}
			return rp;
		}
		err_set(e, ERR_IO, "'%s' is not a regular file", path);
		return NULL;
	}
	if (errno != ENOENT) {
		err_errno(e, ERR_IO, errno, "cannot look at '%s'", path);
		return NULL;
	}
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	if (!*base) {
		err_set(e, ERR_IO, "'%s' names a directory, not a file", path);
		return NULL;
	}
	dir = slash ? (slash == path ? xstrdup("/")
				     : xstrndup(path, slash - path))
		    : xstrdup(".");
	rdir = realpath(dir, NULL);
	if (!rdir) {
		err_errno(e, ERR_IO, errno, "cannot use directory '%s'", dir);
		free(dir);
		return NULL;
	}
	sbuf_adds(&sb, rdir);
	if (sb.len > 1)
		sbuf_addch(&sb, '/');
	sbuf_adds(&sb, base);
	free(dir);
	free(rdir);
	return sbuf_detach(&sb, NULL);
}

/* state_dir/<target with '%' and '/' escaped>.suffix */
static char *
state_file(const char *state_dir, const char *target, const char *suffix)
{
	struct sbuf sb = SBUF_INIT;
	const char *p = target;

	sbuf_addf(&sb, "%s/", state_dir);
	if (*p == '/')
		p++;
	for (; *p; p++) {
		if (*p == '/')
			sbuf_adds(&sb, "%2F");
		else if (*p == '%')
			sbuf_adds(&sb, "%25");
		else
			sbuf_addch(&sb, *p);
	}
	sbuf_adds(&sb, suffix);
	return sbuf_detach(&sb, NULL);
}

/* "a/b/c" -> "a/b"; NULL when path has no parent to name. */
static char *
dir_of(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash && slash != path ? xstrndup(path, slash - path) : NULL;
}

/*
 * Create the state directory (0700). When $OMERODIR/var is missing it is
 * created 0755 and, when we are root, given to the owner of $OMERODIR, so
 * that a first owctl run as root does not leave a var/ that OMERO.web's
 * own user cannot write to.
 */
static int
make_state_dir(const char *state_dir, struct err *e)
{
	char *owctl = dir_of(state_dir), *var = dir_of(owctl);
	char *root = dir_of(var);
	struct stat st;
	int ret = -1;

	if (var && root && stat(var, &st) < 0 && errno == ENOENT &&
	    stat(root, &st) == 0) {
		if (mkdir(var, 0755) < 0 && errno != EEXIST) {
			err_errno(e, ERR_IO, errno, "cannot create '%s'", var);
			goto out;
		}
		if (chmod(var, 0755) < 0 ||	/* whatever the umask */
		    (geteuid() == 0 && chown(var, st.st_uid, st.st_gid) < 0)) {
			err_errno(e, ERR_IO, errno, "cannot set the mode and "
				  "owner of '%s'", var);
			goto out;
		}
	}
	if (fs_mkdir_p(state_dir, 0700, e) < 0)
		goto out;
	ret = 0;
out:
	free(owctl);
	free(var);
	free(root);
	return ret;
}

/* Read path into out; *exists = 0 for a missing file. */
static int
read_optional(const char *path, struct sbuf *out, int *exists,
	      struct err *e)
{
	*exists = 0;
	if (fs_read_file(path, MAX_CONF, out, e) < 0) {
		if (errno != ENOENT)
			return -1;
		err_clear(e);
		sbuf_reset(out);
		return 0;
	}
	*exists = 1;
	return 0;
}

static char *
json_str_dup(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

int
nginx_record_load(const char *state_dir, const char *path,
		  struct nginx_record *r, int *found, struct err *e)
{
	struct sbuf text = SBUF_INIT;
	char *target = NULL, *file = NULL;
	json_error_t je;
	json_t *j = NULL, *v;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	*found = 0;
	if (!(target = resolve_target(path, e)))
		goto out;
	file = state_file(state_dir, target, ".json");
	if (read_optional(file, &text, found, e) < 0)
		goto out;
	if (!*found) {
		ret = 0;
		goto out;
	}
	j = json_loadb(text.buf, text.len, 0, &je);
	if (!j || !json_is_object(j)) {
		err_set(e, ERR_IO, "'%s' is not a JSON object: %s", file,
			j ? "wrong type" : je.text);
		*found = 0;
		goto out;
	}
	r->type = json_str_dup(j, "type");
	v = json_object_get(j, "http");
	r->http = json_is_integer(v) ? (long)json_integer_value(v) : 0;
	r->servername = json_str_dup(j, "servername");
	r->max_body_size = json_str_dup(j, "max_body_size");
	r->nginx_conf = json_str_dup(j, "nginx_conf");
	r->nginx_prefix = json_str_dup(j, "nginx_prefix");
	ret = 0;
out:
	json_decref(j);
	sbuf_release(&text);
	free(target);
	free(file);
	return ret;
}

void
nginx_record_release(struct nginx_record *r)
{
	if (!r)
		return;
	free(r->type);
	free(r->servername);
	free(r->max_body_size);
	free(r->nginx_conf);
	free(r->nginx_prefix);
	memset(r, 0, sizeof(*r));
}

static int
record_save(const char *file, const char *target,
	    const struct nginx_record *r, struct err *e)
{
	json_t *j = json_object();
	char *text;
	int ret;

	json_object_set_new(j, "path", json_string(target));
	if (r->type)
		json_object_set_new(j, "type", json_string(r->type));
	if (r->http)
		json_object_set_new(j, "http", json_integer(r->http));
	if (r->servername)
		json_object_set_new(j, "servername",
				    json_string(r->servername));
	if (r->max_body_size)
		json_object_set_new(j, "max_body_size",
				    json_string(r->max_body_size));
	if (r->nginx_conf)
		json_object_set_new(j, "nginx_conf",
				    json_string(r->nginx_conf));
	if (r->nginx_prefix)
		json_object_set_new(j, "nginx_prefix",
				    json_string(r->nginx_prefix));
	text = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(j);
	if (!text)
		return err_set(e, ERR_IO, "cannot encode '%s'", file);
	{
		struct sbuf sb = SBUF_INIT;

		sbuf_adds(&sb, text);
		sbuf_addch(&sb, '\n');
		ret = fs_write_atomic_mode(file, sb.buf, sb.len, 0600, e);
		sbuf_release(&sb);
	}
	free(text);
	return ret;
}

/* ---- install ---- */

const char *
nginx_install_action_name(enum nginx_install_action a)
{
	static const char *const names[] = {
		[NGINX_INST_UNCHANGED] = "unchanged",
		[NGINX_INST_CREATED] = "created",
		[NGINX_INST_UPDATED] = "updated",
		[NGINX_INST_MERGED] = "merged",
		[NGINX_INST_REPLACED] = "replaced",
		[NGINX_INST_RESOLVED] = "resolved",
	};

	return (size_t)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

void
nginx_install_result_release(struct nginx_install_result *r)
{
	if (!r)
		return;
	free(r->target);
	free(r->conflict_file);
	free(r->saved_local);
	sbuf_release(&r->diff);
	sbuf_release(&r->nginx_log);
	r->target = r->conflict_file = r->saved_local = NULL;
}

static int
same(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && !memcmp(a, b, alen);
}

/* The live file's contents, the base copy, and where they live. */
struct inst {
	const struct nginx_install_opts *o;
	struct nginx_install_result *r;
	char *base_file, *record_file, *conflict_file, *replaced_file;
	struct sbuf local, base, target, merged;
	int local_exists, base_exists;
};

/* Decide what the file should hold (st->target) and the action. */
static int
plan(struct inst *st, struct err *e)
{
	const struct nginx_install_opts *o = st->o;
	struct nginx_install_result *r = st->r;
	const char *gen = o->generated;
	size_t gen_len = o->generated_len, line;
	int conflicts = 0;

	if (o->resolved) {
		line = merge_find_marker(o->resolved, o->resolved_len);
		if (line)
			return err_set(e, ERR_WEB_NGINX_CONFLICT, "the merged "
				       "file still holds a conflict marker at "
				       "line %zu", line);
		sbuf_add(&st->target, o->resolved, o->resolved_len);
		r->action = NGINX_INST_RESOLVED;
		return 0;
	}
	if (!st->local_exists) {
		sbuf_add(&st->target, gen, gen_len);
		r->action = NGINX_INST_CREATED;
		r->base_missing = st->base_exists;
		return 0;
	}
	if (same(st->local.buf, st->local.len, gen, gen_len)) {
		sbuf_add(&st->target, gen, gen_len);
		r->action = NGINX_INST_UNCHANGED;
		return 0;
	}
	if (!st->base_exists) {
		if (o->flags & NGINX_INST_FORCE) {
			sbuf_add(&st->target, gen, gen_len);
			r->action = NGINX_INST_REPLACED;
			return 0;
		}
		return -2;	/* unmanaged */
	}
	if (same(st->local.buf, st->local.len, st->base.buf, st->base.len)) {
		sbuf_add(&st->target, gen, gen_len);
		r->action = NGINX_INST_UPDATED;
		return 0;
	}
	if (same(gen, gen_len, st->base.buf, st->base.len)) {
		sbuf_add(&st->target, st->local.buf, st->local.len);
		r->action = NGINX_INST_UNCHANGED;
		return 0;
	}
	{
		struct merge_text l = { st->local.buf, st->local.len, NULL };
		struct merge_text b = { st->base.buf, st->base.len,
					"base (last generated by owctl)" };
		struct merge_text n = { gen, gen_len, "new (generated now)" };
		struct sbuf label = SBUF_INIT;
		int ret;

		sbuf_addf(&label, "%s (local edits)", r->target);
		l.label = label.buf;
		ret = merge3(&l, &b, &n, &st->merged, &conflicts, e);
		sbuf_release(&label);
		if (ret < 0)
			return -1;
	}
	if (conflicts) {
		if (o->flags & NGINX_INST_FORCE) {
			sbuf_add(&st->target, gen, gen_len);
			r->action = NGINX_INST_REPLACED;
			return 0;
		}
		return -3;	/* conflict */
	}
	sbuf_add(&st->target, st->merged.buf, st->merged.len);
	r->action = same(st->target.buf, st->target.len, st->local.buf,
			 st->local.len) ? NGINX_INST_UNCHANGED
					: NGINX_INST_MERGED;
	return 0;
}

/* Unified diff from the live file (or nothing) to text. */
static int
show_diff(struct inst *st, const char *text, size_t len, const char *what,
	  struct err *e)
{
	struct sbuf la = SBUF_INIT, lb = SBUF_INIT;
	struct merge_text a = { st->local.buf, st->local.len, NULL };
	struct merge_text b = { text, len, NULL };
	int ret;

	if (st->local_exists)
		sbuf_addf(&la, "%s\tinstalled", st->r->target);
	else
		sbuf_adds(&la, "/dev/null");
	sbuf_addf(&lb, "%s\t%s", st->r->target, what);
	a.label = la.buf;
	b.label = lb.buf;
	ret = diff_unified(&a, &b, &st->r->diff, e);
	sbuf_release(&la);
	sbuf_release(&lb);
	return ret;
}

/* Put the previous file back (or remove the new one). */
static int
roll_back(struct inst *st, struct err *e)
{
	const char *target = st->r->target;

	if (!st->local_exists) {
		if (unlink(target) < 0 && errno != ENOENT)
			return err_errno(e, ERR_IO, errno, "cannot remove '%s'",
					 target);
		return 0;
	}
	return fs_write_atomic(target, st->local.buf, st->local.len, 0644, e);
}

/* Write the file, test nginx, roll back on failure. */
static int
write_and_test(struct inst *st, struct err *e)
{
	const struct nginx_install_opts *o = st->o;
	struct nginx_install_result *r = st->r;
	struct err e2 = ERR_INIT;
	struct sbuf log = SBUF_INIT, msg = SBUF_INIT;

	if (fs_write_atomic(r->target, st->target.buf, st->target.len, 0644,
			    e) < 0)
		return -1;
	if (o->flags & NGINX_INST_NO_TEST)
		return 0;
	if (nginx_test_whole(&o->nginx, r->target, &r->included,
			     &r->nginx_log, e) == 0) {
		r->tested = 1;
		return 0;
	}
	if (roll_back(st, &e2) < 0) {
		sbuf_addf(&msg, "%s; putting the previous '%s' back failed "
			  "too: %s", e->msg, r->target, e2.msg);
	} else {
		sbuf_addf(&msg, "%s; '%s' %s", e->msg, r->target,
			  st->local_exists ? "was put back as it was"
					   : "was removed again");
	}
	/* Was it broken already, without our file? */
	if (!e2.msg && e->code == ERR_WEB_NGINX_TEST &&
	    nginx_test_whole(&o->nginx, NULL, NULL, &log, &e2) < 0 &&
	    e2.code == ERR_WEB_NGINX_TEST)
		sbuf_addf(&msg, ", but the nginx configuration fails without "
			  "the new file too: %s", e2.msg);
	err_set(e, e->code, "%s", msg.buf);
	sbuf_release(&msg);
	err_clear(&e2);
	sbuf_release(&log);
	return -1;
}

int
nginx_install(const struct nginx_install_opts *o,
	      struct nginx_install_result *r, struct err *e)
{
	struct inst st = { .o = o, .r = r };
	struct fs_lock lock = FS_LOCK_INIT;
	char *lock_file = NULL;
	int dry = o->flags & NGINX_INST_DRY_RUN, ret = -1, p;

	sbuf_init(&st.local, 0);
	sbuf_init(&st.base, 0);
	sbuf_init(&st.target, 0);
	sbuf_init(&st.merged, 0);
	if (!(r->target = resolve_target(o->path, e)))
		goto out;
	st.base_file = state_file(o->state_dir, r->target, ".base");
	st.record_file = state_file(o->state_dir, r->target, ".json");
	st.conflict_file = state_file(o->state_dir, r->target, ".conflict");
	st.replaced_file = state_file(o->state_dir, r->target, ".replaced");
	if (!dry) {
		if (make_state_dir(o->state_dir, e) < 0)
			goto out;
		lock_file = state_file(o->state_dir, r->target, ".lock");
		if (fs_lock_acquire(&lock, lock_file, LOCK_WAIT, e) < 0) {
			err_prefix(e, "another owctl is installing '%s'",
				   r->target);
			goto out;
		}
	}
	if (read_optional(r->target, &st.local, &st.local_exists, e) < 0 ||
	    read_optional(st.base_file, &st.base, &st.base_exists, e) < 0)
		goto out;

	p = plan(&st, e);
	if (p == -2) {
		if (show_diff(&st, o->generated, o->generated_len,
			      "generated", e) < 0)
			goto out;
		err_set(e, ERR_WEB_NGINX_UNMANAGED, "'%s' exists and was not "
			"installed by owctl (no base copy in '%s'), so its "
			"local edits cannot be told apart; review the diff, "
			"then run again with --force to replace it",
			r->target, o->state_dir);
		goto out;
	}
	if (p == -3) {
		if (show_diff(&st, st.merged.buf, st.merged.len, "conflict",
			      e) < 0)
			goto out;
		if (!dry) {
			if (fs_write_atomic_mode(st.conflict_file,
						 st.merged.buf, st.merged.len,
						 0600, e) < 0)
				goto out;
			r->conflict_file = xstrdup(st.conflict_file);
		}
		err_set(e, ERR_WEB_NGINX_CONFLICT, "local edits of '%s' "
			"conflict with the newly generated file; nothing was "
			"written. Resolve the conflict blocks in %s%s%s and "
			"install it with --merged FILE, or replace your edits "
			"with --force", r->target, dry ? "" : "'",
			dry ? "the merge shown" : st.conflict_file,
			dry ? "" : "'");
		goto out;
	}
	if (p < 0)
		goto out;
	if (show_diff(&st, st.target.buf, st.target.len, "new", e) < 0)
		goto out;
	if (dry) {
		ret = 0;
		goto out;
	}
	if (r->action != NGINX_INST_UNCHANGED &&
	    write_and_test(&st, e) < 0)
		goto out;
	if (r->action == NGINX_INST_REPLACED && st.local_exists) {
		if (fs_write_atomic_mode(st.replaced_file, st.local.buf,
					 st.local.len, 0600, e) < 0)
			goto out;
		r->saved_local = xstrdup(st.replaced_file);
	}
	if (!st.base_exists || !same(st.base.buf, st.base.len, o->generated,
				     o->generated_len)) {
		if (fs_write_atomic_mode(st.base_file, o->generated,
					 o->generated_len, 0600, e) < 0)
			goto out;
	}
	if (o->record && record_save(st.record_file, r->target, o->record,
				     e) < 0)
		goto out;
	if (unlink(st.conflict_file) < 0 && errno != ENOENT) {
		err_errno(e, ERR_IO, errno, "cannot remove '%s'",
			  st.conflict_file);
		goto out;
	}
	ret = 0;
out:
	fs_lock_release(&lock);
	free(lock_file);
	free(st.base_file);
	free(st.record_file);
	free(st.conflict_file);
	free(st.replaced_file);
	sbuf_release(&st.local);
	sbuf_release(&st.base);
	sbuf_release(&st.target);
	sbuf_release(&st.merged);
	return ret;
}
