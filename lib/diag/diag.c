/*
 * `owctl web diagnostics`: collect the report (diag.h) from the libraries
 * that own each part (config, venv, service, sessions, nginx, upgrade
 * journals), with omero-web's log line rules. Every secret met on the way
 * is masked, remembered and scrubbed from the report (render.c prints it).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/export.h"
#include "config/ops.h"
#include "config/schema.h"
#include "diag/diag.h"
#include "fs.h"
#include "proc.h"
#include "pyjson.h"
#include "sessions/sdb.h"
#include "sessions/sfile.h"
#include "sessions/sredis.h"
#include "sessions/store.h"
#include "upgrade/journal.h"
#include "venv/distinfo.h"
#include "venv/venv.h"
#include "web/nginxinst.h"
#include "web/service.h"
#include "xalloc.h"
#include "banned.h"

#define LOG_LINE_MAX 500	/* bytes of an error line kept */
#define LOG_CLASSIFY_MAX 4096	/* bytes of a line the regexes see */
#define NGINX_STATE_MAX (1u << 20)

static const char apache_mod_wsgi_err[] =
	"[ERROR] You are deploying OMERO.web using Apache and mod_wsgi. "
	"OMERO.web does not provide any management for the daemon process "
	"which communicates with Apache child processes using UNIX sockets to "
	"handle a request.";

/* ---- small helpers ---- */

static json_t *
jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static void
set(json_t *o, const char *k, json_t *v)
{
	json_object_set_new(o, k, v ? v : json_null());
}

static const char *
jget(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* os.path.abspath: absolute against the cwd, then normpath. */
static char *
abspath(const char *p)
{
	struct sbuf in = SBUF_INIT, out = SBUF_INIT;
	struct strv parts = STRV_INIT;
	char cwd[4096];
	const char *s, *q;
	int lead2;

	if (*p != '/' && getcwd(cwd, sizeof(cwd)))
		sbuf_addf(&in, "%s/", cwd);
	sbuf_adds(&in, p);
	/* posixpath.normpath keeps exactly two leading slashes */
	lead2 = in.len >= 2 && in.buf[0] == '/' && in.buf[1] == '/' &&
		(in.len == 2 || in.buf[2] != '/');
	for (s = in.buf; *s; s = *q ? q + 1 : q) {
		q = strchr(s, '/');
		if (!q)
			q = s + strlen(s);
		if (q == s || (q - s == 1 && *s == '.'))
			continue;
		if (q - s == 2 && s[0] == '.' && s[1] == '.') {
			if (parts.n) {
				free(parts.v[--parts.n]);
				parts.v[parts.n] = NULL;
			}
			continue;
		}
		strv_push_nodup(&parts, xstrndup(s, (size_t)(q - s)));
	}
	sbuf_adds(&out, lead2 ? "//" : "/");
	for (size_t i = 0; i < parts.n; i++)
		sbuf_addf(&out, "%s%s", i ? "/" : "", parts.v[i]);
	strv_release(&parts);
	sbuf_release(&in);
	return sbuf_detach(&out, NULL);
}

static char *
join(const char *dir, const char *name)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_adds(&sb, dir);
	if (sb.len && sb.buf[sb.len - 1] != '/')
		sbuf_addch(&sb, '/');
	sbuf_adds(&sb, name);
	return sbuf_detach(&sb, NULL);
}

/* Regular files in dir, sorted (none when dir cannot be read). */
static void
list_dir(const char *dir, const char *suffix, int want_dirs,
	 struct strv *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t sl = suffix ? strlen(suffix) : 0;

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;
		char *p;
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		if (sl && (n < sl || strcmp(de->d_name + n - sl, suffix)))
			continue;
		p = join(dir, de->d_name);
		if (lstat(p, &st) == 0 &&
		    (want_dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode)))
			strv_push(out, de->d_name);
		free(p);
	}
	closedir(d);
	strv_sort(out);
}

/* ---- secrets ---- */

static void
add_secret(struct strv *secrets, const char *s, size_t len)
{
	char *v;

	if (!secrets || !len)
		return;
	v = xstrndup(s, len);
	if (strv_find(secrets, v) >= 0) {
		explicit_bzero(v, len);
		free(v);
		return;
	}
	strv_push_nodup(secrets, v);
}

/* Does a JSON member (or settings pair) name hold a secret? */
static int
secret_name(const char *name)
{
	char low[128];
	size_t n = strlen(name), i;

	if (n >= sizeof(low))
		n = sizeof(low) - 1;
	for (i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	low[n] = '\0';
	return strstr(low, "password") || strstr(low, "passwd") ||
	       strstr(low, "secret") || strstr(low, "token") ||
	       !strcmp(low, "pass") || (n > 4 && !strcmp(low + n - 4, "_key")
					&& strcmp(low, "cache_key"));
}

/*
 * Mask the password of every URL in s ("scheme://user:PASS@host"):
 * appended to out; returns how many were masked.
 */
static int
mask_urls(const char *s, struct sbuf *out, struct strv *secrets)
{
	const char *p = s, *sch;
	int n = 0;

	while ((sch = strstr(p, "://"))) {
		const char *auth = sch + 3, *end = auth, *colon, *at;

		while (*end && !strchr("/?#", *end) &&
		       !isspace((unsigned char)*end) && *end != '"')
			end++;
		at = NULL;
		for (const char *q = auth; q < end; q++)
			if (*q == '@')
				at = q;		/* the last '@' ends userinfo */
		colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon && at > colon + 1) {
			sbuf_add(out, p, (size_t)(colon + 1 - p));
			sbuf_adds(out, DIAG_MASK);
			add_secret(secrets, colon + 1,
				   (size_t)(at - colon - 1));
			p = at;
			n++;
		} else {
			sbuf_add(out, p, (size_t)(auth - p));
			p = auth;
		}
	}
	sbuf_adds(out, p);
	return n;
}

/* Mask every non-empty string in v (the value of a secret's name). */
static int
mask_all(json_t *v, struct strv *secrets)
{
	const char *k;
	size_t i;
	json_t *m;
	int changed = 0;

	if (json_is_string(v) && json_string_length(v)) {
		add_secret(secrets, json_string_value(v),
			   json_string_length(v));
		json_string_set(v, DIAG_MASK);
		return 1;
	}
	if (json_is_object(v))
		json_object_foreach(v, k, m)
			changed |= mask_all(m, secrets);
	else if (json_is_array(v))
		json_array_foreach(v, i, m)
			changed |= mask_all(m, secrets);
	return changed;
}

/* Mask inside a JSON value; returns whether anything changed. */
static int
mask_json(json_t *v, struct strv *secrets)
{
	int changed = 0;

	if (json_is_object(v)) {
		const char *k;
		json_t *m;

		json_object_foreach(v, k, m) {
			if (secret_name(k))
				changed |= mask_all(m, secrets);
			else
				changed |= mask_json(m, secrets);
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *m;

		/* django_additional_settings: [["SECRET_KEY", "..."], ...] */
		if (json_array_size(v) == 2 &&
		    json_is_string(json_array_get(v, 0)) &&
		    secret_name(json_string_value(json_array_get(v, 0))))
			return mask_all(json_array_get(v, 1), secrets);
		json_array_foreach(v, i, m)
			changed |= mask_json(m, secrets);
	} else if (json_is_string(v)) {
		struct sbuf sb = SBUF_INIT;

		if (mask_urls(json_string_value(v), &sb, secrets)) {
			json_string_set(v, sb.buf);
			changed = 1;
		}
		sbuf_release(&sb);
	}
	return changed;
}

void
diag_mask_value(const char *key, const char *value, struct sbuf *out,
		struct strv *secrets)
{
	struct err e = ERR_INIT;
	json_t *j;

	if (schema_is_secret(key) || cfgop_is_password_key(key)) {
		add_secret(secrets, value, strlen(value));
		sbuf_adds(out, *value ? DIAG_MASK : "");
		return;
	}
	j = pyjson_loads(value, strlen(value), &e);
	err_clear(&e);
	if (j && (json_is_object(j) || json_is_array(j))) {
		if (mask_json(j, secrets))
			pyjson_dumps(j, out);
		else
			sbuf_adds(out, value);
	} else {
		mask_urls(value, out, secrets);
	}
	json_decref(j);
}

static size_t
replace_all(const struct strv *secrets, const char *in, size_t len,
	    struct sbuf *out)
{
	size_t hits = 0, i = 0;

	while (i < len) {
		size_t best = 0;

		for (size_t k = 0; k < secrets->n; k++) {
			size_t n = strlen(secrets->v[k]);

			if (n >= DIAG_MIN_SCRUB && n <= len - i && n > best &&
			    !memcmp(in + i, secrets->v[k], n))
				best = n;
		}
		if (best) {
			sbuf_adds(out, DIAG_MASK);
			i += best;
			hits++;
		} else {
			sbuf_addch(out, in[i++]);
		}
	}
	return hits;
}

void
diag_scrub(const struct strv *secrets, struct sbuf *buf)
{
	struct sbuf out = SBUF_INIT;

	if (!secrets->n)
		return;
	sbuf_grow(&out, buf->len);
	if (replace_all(secrets, buf->buf, buf->len, &out)) {
		struct sbuf tmp = *buf;

		*buf = out;
		out = tmp;
	}
	sbuf_release(&out);
}

static void
scrub_json(const struct strv *secrets, json_t *v)
{
	const char *k;
	size_t i;
	json_t *m;

	if (json_is_object(v)) {
		json_object_foreach(v, k, m)
			scrub_json(secrets, m);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			scrub_json(secrets, m);
	} else if (json_is_string(v)) {
		struct sbuf out = SBUF_INIT;

		if (replace_all(secrets, json_string_value(v),
				json_string_length(v), &out))
			json_string_setn(v, out.buf, out.len);
		sbuf_release(&out);
	}
}

/* ---- logs ---- */

int
diag_log_class(const char *line, size_t len)
{
	/* omero-py cli.py, applied to line.lower() with re.match */
	static const char warn_re[] =
		"^(-! )?[0-9/-]+[[:space:]]+[0-9:,.]+[[:space:]]+"
		"([[:alnum:]_.]+:[[:space:]]+)?warn(i(ng:)?)?[[:space:]]";
	static const char err_re[] =
		"^(!! )?[0-9/-]+[[:space:]]+[0-9:,.]+[[:space:]]+"
		"([[:alnum:]_.]+:[[:space:]]+)?error:?[[:space:]]";
	static regex_t rw, re;
	static int ready;
	char low[LOG_CLASSIFY_MAX + 1];
	size_t n = len < LOG_CLASSIFY_MAX ? len : LOG_CLASSIFY_MAX;
	int cls = 0;

	if (!ready) {
		if (regcomp(&rw, warn_re, REG_EXTENDED | REG_NOSUB) ||
		    regcomp(&re, err_re, REG_EXTENDED | REG_NOSUB))
			return 0;
		ready = 1;
	}
	for (size_t i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)line[i]);
	low[n] = '\0';
	if (regexec(&rw, low, 0, NULL, 0) == 0)
		cls = 1;
	else if (regexec(&re, low, 0, NULL, 0) == 0)
		cls = 2;
	return cls;
}

/* gunicorn's own format: "[date] [pid] [ERROR] text" */
static int
gunicorn_error(const char *line, size_t len)
{
	size_t n = len < LOG_CLASSIFY_MAX ? len : LOG_CLASSIFY_MAX;
	char buf[LOG_CLASSIFY_MAX + 1];

	memcpy(buf, line, n);
	buf[n] = '\0';
	return line[0] == '[' && (strstr(buf, "] [ERROR] ") ||
				  strstr(buf, "] [CRITICAL] "));
}

void
diag_size_text(unsigned long long n, struct sbuf *out)
{
	static const char *const units[] = { "KB", "MB", "GB" };
	double d = (double)n;
	int u;

	if (n < 1000) {
		sbuf_addf(out, "%llu B", n);
		return;
	}
	for (u = 0; u < 3; u++) {
		d /= 1000;
		if (d < 1000)
			break;
	}
	if (u == 3)
		u = 2;
	sbuf_addf(out, "%.1f %s", d, units[u]);
}

struct log_scan {
	size_t warnings, errors;
	struct strv recent;	/* ring of the last max error lines */
	size_t next, max;
};

static void
log_line(struct log_scan *ls, const char *line, size_t len)
{
	int cls = diag_log_class(line, len);
	size_t body = len;

	if (cls == 1)
		ls->warnings++;
	else if (cls == 2)
		ls->errors++;
	if (cls != 2 && !gunicorn_error(line, len))
		return;
	while (body && (line[body - 1] == '\n' || line[body - 1] == '\r'))
		body--;
	if (body > LOG_LINE_MAX)
		body = LOG_LINE_MAX;
	if (ls->recent.n < ls->max) {
		strv_push_nodup(&ls->recent, xstrndup(line, body));
	} else {
		free(ls->recent.v[ls->next]);
		ls->recent.v[ls->next] = xstrndup(line, body);
	}
	ls->next = (ls->next + 1) % ls->max;
}

/* Read path line by line as Python's universal newlines split it. */
static int
log_scan_file(const char *path, struct log_scan *ls)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct sbuf cur = SBUF_INIT;
	char buf[65536];
	ssize_t n;
	int cr = 0;

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			char c = buf[i];

			if (cr) {
				cr = 0;
				if (c == '\n')
					continue;	/* "\r\n" is one end */
			}
			if (cur.len < LOG_CLASSIFY_MAX)
				sbuf_addch(&cur, c == '\r' ? '\n' : c);
			if (c == '\n' || c == '\r') {
				if (cur.buf[cur.len - 1] != '\n')
					sbuf_addch(&cur, '\n');
				log_line(ls, cur.buf, cur.len);
				sbuf_reset(&cur);
				cr = c == '\r';
			}
		}
	}
	if (cur.len)
		log_line(ls, cur.buf, cur.len);
	close(fd);
	sbuf_release(&cur);
	return 0;
}

static json_t *
log_file_json(const char *dir, const char *name, int max, json_t *recent)
{
	json_t *f = json_object();
	char *p = join(dir, name);
	struct log_scan ls = { 0, 0, STRV_INIT, 0, (size_t)max };
	struct stat st;

	set(f, "name", json_string(name));
	if (stat(p, &st) < 0) {
		set(f, "state", json_string("n/a"));
		set(f, "size", NULL);
		goto out;
	}
	set(f, "size", json_integer((json_int_t)st.st_size));
	if (!st.st_size) {
		set(f, "state", json_string("empty"));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || log_scan_file(p, &ls) < 0) {
		set(f, "state", json_string("unreadable"));
		goto out;
	}
	set(f, "state", json_string("ok"));
	set(f, "errors", json_integer((json_int_t)ls.errors));
	set(f, "warnings", json_integer((json_int_t)ls.warnings));
	for (size_t i = 0; i < ls.recent.n; i++) {
		size_t k = ls.recent.n < ls.max ? i :
			   (ls.next + i) % ls.recent.n;
		json_t *o = json_object();
		json_t *line = json_string(ls.recent.v[k]);

		set(o, "file", json_string(name));
		if (!line) {
			/* keep the report valid UTF-8 */
			struct sbuf clean = SBUF_INIT;

			for (const char *c = ls.recent.v[k]; *c; c++)
				sbuf_addch(&clean, (unsigned char)*c < 0x80 ?
					   *c : '?');
			line = json_string(clean.buf);
			sbuf_release(&clean);
		}
		set(o, "line", line);
		json_array_append_new(recent, o);
	}
out:
	strv_release(&ls.recent);
	free(p);
	return f;
}

static void
collect_logs(const struct diag_opts *o, struct diag_report *r, json_t *doc)
{
	json_t *logs = json_object(), *files = json_array();
	json_t *recent = json_array();
	struct strv names = STRV_INIT;
	char *dir;
	struct stat st;
	int max = o->error_lines > 0 ? o->error_lines : 20;

	if (!r->omerodir) {
		set(logs, "dir", NULL);
		set(logs, "exists", json_false());
		goto out;
	}
	dir = join(r->omerodir, "var/log");
	r->logdir = abspath(dir);
	free(dir);
	set(logs, "dir", json_string(r->logdir));
	if (stat(r->logdir, &st) < 0) {
		set(logs, "exists", json_false());
		goto out;
	}
	set(logs, "exists", json_true());
	/* omero-web's line first, whether the file exists or not */
	json_array_append_new(files, log_file_json(r->logdir, "OMEROweb.log",
						   max, recent));
	list_dir(r->logdir, NULL, 0, &names);
	for (size_t i = 0; i < names.n; i++)
		if (strcmp(names.v[i], "OMEROweb.log"))
			json_array_append_new(files, log_file_json(
				r->logdir, names.v[i], max, recent));
out:
	set(logs, "files", files);
	set(logs, "recent_errors_per_file", json_integer(max));
	set(doc, "logs", logs);
	set(doc, "recent_errors", recent);
	strv_release(&names);
}

/* ---- versions from the venv ---- */

static const char *
dist_version(const struct dist_list *l, const char *name)
{
	const struct dist *d = dist_list_find(l, name);

	return d ? (d->version ? d->version : "unknown") : NULL;
}

static int
cmp_freeze(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

static void
collect_venv(const struct diag_opts *o, struct diag_report *r,
	     const char *running_venv, json_t *doc, json_t *versions)
{
	json_t *jv = json_object();
	struct venv v = VENV_INIT;
	struct pyvenv pv = PYVENV_INIT;
	struct dist_list dl = DIST_LIST_INIT;
	struct strv warn = STRV_INIT, seen = STRV_INIT;
	struct err e = ERR_INIT;
	static const char *const names[][2] = {
		{ "omero_web", "omero-web" }, { "omero_py", "omero-py" },
		{ "django", "django" }, { "gunicorn", "gunicorn" },
	};

	if (venv_find(o->venv, o->virtual_env, o->path, &v, &e) < 0) {
		if (!running_venv || o->venv || o->virtual_env) {
			set(jv, "path", NULL);
			set(jv, "error", json_string(e.msg));
			goto versions;
		}
		err_clear(&e);
		venv_release(&v);
		if (venv_open(running_venv, VENV_FROM_RUNNING, &v, &e) < 0) {
			set(jv, "path", json_string(running_venv));
			set(jv, "error", json_string(e.msg));
			goto versions;
		}
	}
	set(jv, "path", json_string(v.dir));
	set(jv, "from", json_string(venv_source_text(v.source)));
	if (pyvenv_open(&pv, v.dir, &e) < 0) {
		set(jv, "error", json_string(e.msg));
		goto versions;
	}
	for (size_t i = 0; i < pv.sites.n; i++)
		if (dist_scan_site(pv.sites.v[i], &dl, &warn, &e) < 0)
			err_clear(&e);
	set(jv, "error", NULL);
	set(versions, "python", jstr(pv.full_version ? pv.full_version :
				     pv.version));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		set(versions, names[i][0], jstr(dist_version(&dl,
							     names[i][1])));
	/* pip freeze: the first of each name in sys.path order */
	for (size_t i = 0; i < dl.n; i++) {
		const struct dist *d = &dl.v[i];

		if (!d->name || strv_find(&seen, d->key) >= 0)
			continue;
		strv_push(&seen, d->key);
		strv_pushf(&r->freeze, "%s==%s", d->name,
			   d->version ? d->version : "");
	}
	if (r->freeze.n)
		qsort(r->freeze.v, r->freeze.n, sizeof(char *), cmp_freeze);
	set(jv, "distributions", json_integer((json_int_t)r->freeze.n));
	goto out;
versions:
	set(versions, "python", NULL);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		set(versions, names[i][0], NULL);
out:
	set(doc, "venv", jv);
	err_clear(&e);
	dist_list_release(&dl);
	strv_release(&warn);
	strv_release(&seen);
	pyvenv_release(&pv);
	venv_release(&v);
}

/* ---- nginx ---- */

static char *
find_nginx(const struct diag_opts *o)
{
	char *p;

	if (o->nginx)
		return xstrdup(o->nginx);
	if ((p = proc_which("nginx", o->path)))
		return p;
	return proc_which("nginx", "/usr/sbin:/usr/local/sbin:/sbin");
}

static void
nginx_version(const struct diag_opts *o, json_t *versions, json_t *ng)
{
	char *bin = find_nginx(o);
	const char *argv[] = { bin, "-v", NULL };
	struct sbuf out = SBUF_INIT;
	struct proc_opts po = { 0 };
	struct proc_result pr;
	struct err e = ERR_INIT;
	const char *v;

	set(ng, "binary", jstr(bin));
	if (!bin) {
		set(versions, "nginx", NULL);
		set(ng, "error", json_string("not installed"));
		return;
	}
	po.argv = argv;
	po.out = &out;
	po.flags = PROC_STDERR_TO_STDOUT;
	po.timeout = o->timeout > 0 ? o->timeout : 5;
	if (proc_run(&po, &pr, &e) < 0) {
		set(versions, "nginx", NULL);
		set(ng, "error", json_string(e.msg));
	} else if ((v = strstr(out.buf, "nginx/"))) {
		size_t n = strcspn(v + 6, " \r\n");

		set(versions, "nginx", json_stringn(v + 6, n));
	} else {
		sbuf_rtrim(&out);
		set(versions, "nginx", NULL);
		set(ng, "error", json_string(out.buf));
	}
	err_clear(&e);
	sbuf_release(&out);
	free(bin);
}

static void
nginx_files(const struct diag_opts *o, struct diag_report *r, json_t *ng)
{
	json_t *files = json_array();
	struct strv recs = STRV_INIT;
	char *state;

	set(ng, "files", files);
	if (!r->omerodir)
		return;
	state = nginx_state_dir(r->omerodir);
	set(ng, "state_dir", json_string(state));
	list_dir(state, ".json", 0, &recs);
	for (size_t i = 0; i < recs.n; i++) {
		char *p = join(state, recs.v[i]);
		json_t *rec = json_load_file(p, 0, NULL), *f;
		struct nginx_cmd c = { 0 };
		struct sbuf log = SBUF_INIT;
		struct err e = ERR_INIT;
		int included = 0;
		const char *path = rec ? jget(rec, "path") : NULL;

		free(p);
		if (!path) {
			json_decref(rec);
			continue;
		}
		f = json_object();
		set(f, "path", json_string(path));
		set(f, "nginx_conf", jstr(jget(rec, "nginx_conf")));
		set(f, "exists", json_boolean(fs_exists(path)));
		strv_push(&r->nginx_files, path);
		c.nginx = o->nginx;
		c.conf = jget(rec, "nginx_conf");
		c.prefix = jget(rec, "nginx_prefix");
		c.timeout = o->timeout > 0 ? o->timeout * 6 : 30;
		if (!fs_exists(path)) {
			set(f, "test", json_string("not run"));
			set(f, "message", json_string("the file is missing"));
		} else if (nginx_test_whole(&c, path, &included, &log,
					    &e) == 0) {
			set(f, "test", json_string("ok"));
			set(f, "included", json_boolean(included));
			set(f, "message", NULL);
		} else {
			set(f, "test", json_string(e.code == ERR_IO ?
						   "not run" : "failed"));
			set(f, "message", json_string(e.msg));
		}
		json_array_append_new(files, f);
		err_clear(&e);
		sbuf_release(&log);
		json_decref(rec);
	}
	strv_release(&recs);
	free(state);
}

/* ---- sessions ---- */

static void
sessions_file(struct sstore *s, const struct sstore_opts *so, json_t *js,
	      struct strv *secrets)
{
	struct sfile_opts fo = SFILE_OPTS_INIT;
	struct sfile_stats st;
	struct strv keys = STRV_INIT;
	struct err e = ERR_INIT;
	uint64_t bytes = 0;
	size_t n;

	if (sstore_find_dir(s, so, &e) < 0)
		goto fail;
	set(js, "store", json_string(s->dir_shown));
	set(js, "store_note", jstr(s->dir_note));
	if (sstore_load_secret(s, so, &e) < 0 || djsign_load(&e) < 0)
		goto fail;
	strv_push(&keys, s->secret_key);
	for (size_t i = 0; i < s->fallbacks.n; i++)
		strv_push(&keys, s->fallbacks.v[i]);
	for (size_t i = 0; i < keys.n; i++)
		add_secret(secrets, keys.v[i], strlen(keys.v[i]));
	fo.prefix = s->cookie_name;
	fo.cookie_age = s->cookie_age;
	fo.version = s->version;
	fo.serializer = s->serializer;
	fo.use_tz = s->use_tz;
	fo.time_zone = s->time_zone;
	fo.now_us = (int64_t)time(NULL) * 1000000;
	fo.no_follow = 1;
	fo.secrets = (const char *const *)keys.v;
	fo.nsecrets = keys.n;
	if (sfile_run(s->dir, &fo, SFILE_SCAN, NULL, NULL, &st, &e) < 0)
		goto fail;
	n = st.verdicts[SFILE_LIVE] + st.verdicts[SFILE_EXPIRED] +
	    st.verdicts[SFILE_CRASH] + st.verdicts[SFILE_UNSURE];
	for (int v = SFILE_LIVE; v < SFILE_VERDICT_COUNT; v++)
		bytes += st.bytes[v];
	set(js, "sessions", json_integer((json_int_t)n));
	set(js, "bytes", json_integer((json_int_t)bytes));
	set(js, "expired", json_integer(
		(json_int_t)st.verdicts[SFILE_EXPIRED]));
	goto out;
fail:
	set(js, "error", json_string(e.msg));
out:
	for (size_t i = 0; i < keys.n; i++)
		explicit_bzero(keys.v[i], strlen(keys.v[i]));
	strv_release(&keys);
	err_clear(&e);
}

static void
sessions_cache(struct sstore *s, const char *kind, json_t *js,
	       json_t *versions, struct strv *secrets)
{
	struct sredis_cache c;
	struct sredis_opts ro = SREDIS_OPTS_INIT;
	struct sredis_stats st;
	struct err e = ERR_INIT;

	memset(&c, 0, sizeof(c));
	memset(&st, 0, sizeof(st));
	if (sredis_parse_cache(s->caches, s->cache_alias, &c, &e) < 0) {
		set(js, "error", json_string(e.msg));
		goto out;
	}
	for (size_t i = 0; i < c.nservers; i++)
		if (c.servers[i].password)
			add_secret(secrets, c.servers[i].password,
				   strlen(c.servers[i].password));
	set(js, "store", json_string(c.servers[0].shown));
	set(js, "store_note", json_string(c.backend));
	ro.kind = kind;
	ro.with_sizes = 1;
	if (sredis_run(&c, &ro, NULL, NULL, &st, &e) < 0) {
		set(js, "error", json_string(e.msg));
		goto out;
	}
	set(versions, "redis", json_string(st.server_version));
	if (!strcmp(kind, SREDIS_KIND_CACHE)) {
		set(js, "sessions", json_integer((json_int_t)st.keys));
		set(js, "bytes", json_integer((json_int_t)st.bytes));
	}
out:
	err_clear(&e);
	sredis_cache_release(&c);
}

static void
sessions_db(struct sstore *s, json_t *js)
{
	struct sdb_target t;
	struct sdb_opts dbo = SDB_OPTS_INIT;
	struct sdb_stats st;
	struct err e = ERR_INIT;

	memset(&t, 0, sizeof(t));
	if (sdb_parse(s->databases, &t, &e) < 0) {
		set(js, "error", json_string(e.msg));
		goto out;
	}
	set(js, "store", json_string(t.shown));
	set(js, "store_note", json_string(t.engine));
	dbo.use_tz = sstore_use_tz(s);
	dbo.time_zone = s->time_zone;
	dbo.now_us = (int64_t)time(NULL) * 1000000;
	if (sdb_run(&t, &dbo, NULL, NULL, &st, &e) < 0) {
		set(js, "error", json_string(e.msg));
		goto out;
	}
	set(js, "sessions", json_integer((json_int_t)st.rows));
	set(js, "bytes", json_integer((json_int_t)st.bytes));
	set(js, "expired", json_integer((json_int_t)st.expired));
out:
	err_clear(&e);
	sdb_target_release(&t);
}

static void
collect_sessions(const struct diag_opts *o, struct diag_report *r,
		 json_t *doc, json_t *versions)
{
	struct sstore_opts so = SSTORE_INIT_OPTS;
	struct sstore s;
	struct err e = ERR_INIT;
	json_t *js = json_object();

	memset(&s, 0, sizeof(s));
	set(doc, "sessions", js);
	if (!r->omerodir) {
		set(js, "error", json_string("OMERODIR not set"));
		return;
	}
	so.omerodir = r->omerodir;
	so.env_profile = o->env_profile;
	so.venv = o->venv;
	so.virtual_env = o->virtual_env;
	so.path = o->path;
	so.tmpdir = o->tmpdir;
	so.temp = o->temp;
	so.tmp = o->tmp;
	if (sstore_open(&s, &so, &e) < 0) {
		set(js, "error", json_string(e.msg));
		goto out;
	}
	set(js, "engine", json_string(sstore_engine_str(s.engine)));
	set(js, "session_engine", jstr(s.engine_name));
	set(js, "engine_default", json_boolean(s.engine_default));
	switch (s.engine) {
	case SSTORE_FILE:
		sessions_file(&s, &so, js, &r->secrets);
		break;
	case SSTORE_CACHE:
		sessions_cache(&s, SREDIS_KIND_CACHE, js, versions,
			       &r->secrets);
		break;
	case SSTORE_CACHED_DB:	/* the database holds every session */
	case SSTORE_DB:
		sessions_db(&s, js);
		break;
	}
	if (s.secret_key)
		add_secret(&r->secrets, s.secret_key, strlen(s.secret_key));
out:
	if (!json_object_get(js, "error"))
		set(js, "error", NULL);
	err_clear(&e);
	sstore_release(&s);
}

/* ---- config, service ---- */

static void
collect_config(struct diag_report *r, struct web_site *w, json_t *doc)
{
	json_t *jc = json_object();
	struct cfgexp x = CFGEXP_INIT;
	struct sbuf out = SBUF_INIT, v = SBUF_INIT;

	set(doc, "config", jc);
	set(jc, "path", jstr(w->config_path));
	if (w->config_path)
		r->config_path = xstrdup(w->config_path);
	set(jc, "exists", json_boolean(w->have_config));
	set(jc, "profile", jstr(w->profile_name));
	if (!w->have_config)
		return;
	cfgexp_from_doc(&w->store.doc, cfg_active(&w->store),
			cfg_active_for_save(&w->store), 1, &x);
	/* every profile: a secret of another profile is a secret too */
	for (size_t i = 0; i < x.n; i++) {
		for (size_t k = 0; k < x.p[i].kv.n; k++) {
			struct load_entry *le = &x.p[i].kv.v[k];

			sbuf_reset(&v);
			diag_mask_value(le->key, le->value, &v, &r->secrets);
			explicit_bzero(le->value, strlen(le->value));
			free(le->value);
			le->value = xstrdup(v.buf);
		}
	}
	cfgexp_write(&x, &out);
	if (out.len && out.buf[out.len - 1] != '\n')
		sbuf_addch(&out, '\n');
	r->config_export = sbuf_detach(&out, NULL);
	cfgexp_release(&x);
	sbuf_release(&v);
}

static void
collect_validate(struct web_site *w, const char *target, json_t *doc)
{
	struct finding_list fl = FINDING_LIST_INIT;
	struct err e = ERR_INIT;
	json_t *j;

	if (web_validate(w, target, &fl, &e) < 0) {
		err_clear(&e);
		finding_list_release(&fl);
		if (web_validate(w, NULL, &fl, &e) < 0) {
			j = json_object();
			set(j, "error", json_string(e.msg));
			set(doc, "validate", j);
			err_clear(&e);
			return;
		}
	}
	j = finding_list_to_json(&fl);
	set(j, "error", NULL);
	set(doc, "validate", j);
	finding_list_release(&fl);
}

static void
collect_status(const struct diag_opts *o, struct web_site *w, int site_ok,
	       const char *site_err, json_t *doc, char **running_venv)
{
	json_t *js = json_object(), *h;
	struct web_status st;
	struct err e = ERR_INIT;
	struct sbuf line = SBUF_INIT;
	const char *app = w->set.app_server;

	memset(&st, 0, sizeof(st));
	set(doc, "status", js);
	sbuf_adds(&line, "OMERO.web status... ");
	if (!site_ok) {
		sbuf_reset(&line);
		sbuf_adds(&line, "OMERO.web not installed!");
		set(js, "state", json_string("unknown"));
		set(js, "error", json_string(site_err));
		goto out;
	}
	if (app && !strcmp(app, "wsgi")) {
		sbuf_adds(&line, apache_mod_wsgi_err);
	} else if (app && !strcmp(app, "development")) {
		sbuf_adds(&line, "DEVELOPMENT: You will have to kill processes "
			  "by hand!");
	}
	if (web_status(w, NULL, o->timeout > 0 ? o->timeout : 5, &st,
		       &e) < 0) {
		set(js, "state", json_string("unknown"));
		set(js, "error", json_string(e.msg));
		if (!app || !strcmp(app, "wsgi-tcp"))
			sbuf_adds(&line, "[NOT STARTED]");
		goto out;
	}
	if (!app || !strcmp(app, "wsgi-tcp")) {
		if (st.lsb == 0 || st.lsb == 4)
			sbuf_addf(&line, "[RUNNING] (PID %d)",
				  (int)st.pid.pid);
		else
			sbuf_adds(&line, "[NOT STARTED]");
	}
	set(js, "state", json_string(st.state));
	set(js, "lsb_status", json_integer(st.lsb));
	set(js, "pidfile", json_string(w->pidfile));
	set(js, "pid", st.pid.pid ? json_integer(st.pid.pid) : NULL);
	set(js, "reason", jstr(st.pid.why));
	set(js, "workers", json_integer((json_int_t)st.nworkers));
	set(js, "bind", jstr(st.bind));
	set(js, "uptime_s", st.started > 0 ?
	    json_integer((json_int_t)(time(NULL) - (time_t)st.started)) :
	    NULL);
	set(js, "started_by_owctl", json_boolean(st.pid.have_state));
	if (st.probed) {
		h = json_object();
		set(h, "url", jstr(st.url));
		set(h, "http_status", st.probe.status ?
		    json_integer(st.probe.status) : NULL);
		set(h, "latency_ms", json_integer(
			(json_int_t)(st.probe.seconds * 1000 + 0.5)));
		set(h, "error", *st.probe.error ?
		    json_string(st.probe.error) : NULL);
		set(js, "health", h);
	} else {
		set(js, "health", NULL);
	}
	if (st.pid.have_state && st.pid.state.venv)
		*running_venv = xstrdup(st.pid.state.venv);
	set(js, "error", w->settings_err.code ?
	    json_string(w->settings_err.msg) : NULL);
out:
	set(js, "line", json_string(line.buf));
	sbuf_release(&line);
	err_clear(&e);
	web_status_release(&st);
}

static void
collect_upgrades(struct diag_report *r, json_t *doc)
{
	json_t *ups = json_array();
	struct strv ids = STRV_INIT;
	char *root;

	set(doc, "upgrades", ups);
	if (!r->omerodir)
		return;
	root = journal_root(r->omerodir);
	list_dir(root, NULL, 1, &ids);
	for (size_t i = 0; i < ids.n; i++) {
		char *dir = join(root, ids.v[i]);
		char *p = join(dir, "journal.jsonl");
		struct sbuf text = SBUF_INIT, last = SBUF_INIT;
		struct err e = ERR_INIT;
		json_t *u = json_object(), *rec;
		size_t nrec = 0;
		char *save = NULL;

		set(u, "id", json_string(ids.v[i]));
		if (fs_read_file(p, 16u << 20, &text, &e) == 0) {
			strv_push(&r->journals, p);
			for (char *l = strtok_r(text.buf, "\n", &save); l;
			     l = strtok_r(NULL, "\n", &save)) {
				nrec++;
				sbuf_reset(&last);
				sbuf_adds(&last, l);
			}
		}
		set(u, "records", json_integer((json_int_t)nrec));
		rec = last.len ? json_loads(last.buf, 0, NULL) : NULL;
		set(u, "last_step", jstr(rec ? jget(rec, "step") : NULL));
		set(u, "last_state", jstr(rec ? jget(rec, "state") : NULL));
		set(u, "last_time", jstr(rec ? jget(rec, "time") : NULL));
		json_decref(rec);
		json_array_append_new(ups, u);
		err_clear(&e);
		sbuf_release(&text);
		sbuf_release(&last);
		free(p);
		free(dir);
	}
	strv_release(&ids);
	free(root);
}

static int
longest_first(const void *a, const void *b)
{
	size_t x = strlen(*(char *const *)a), y = strlen(*(char *const *)b);

	return x < y ? 1 : x > y ? -1 : strcmp(*(char *const *)a,
					       *(char *const *)b);
}

/* var/django_secret_key, as stored and strip()ped */
static void
file_secret(struct diag_report *r)
{
	struct sbuf sb = SBUF_INIT;
	struct err e = ERR_INIT;
	char *p;
	size_t b = 0, n;

	if (!r->omerodir)
		return;
	p = join(r->omerodir, "var/django_secret_key");
	if (fs_read_file(p, 1u << 16, &sb, &e) == 0) {
		add_secret(&r->secrets, sb.buf, sb.len);
		n = sb.len;
		while (b < n && isspace((unsigned char)sb.buf[b]))
			b++;
		while (n > b && isspace((unsigned char)sb.buf[n - 1]))
			n--;
		add_secret(&r->secrets, sb.buf + b, n - b);
		explicit_bzero(sb.buf, sb.len);
	}
	err_clear(&e);
	sbuf_release(&sb);
	free(p);
}

int
diag_collect(const struct diag_opts *o, struct diag_report *r,
	     struct err *e)
{
	json_t *doc = json_object(), *versions = json_object();
	json_t *ng = json_object(), *jo = json_object();
	struct web_site w;
	struct err se = ERR_INIT;
	char *running_venv = NULL;
	int site_ok;

	(void)e;
	memset(&w, 0, sizeof(w));
	r->doc = doc;
	if (o->omerodir && *o->omerodir)
		r->omerodir = xstrdup(o->omerodir);
	set(doc, "schema", json_string(DIAG_SCHEMA));
	set(doc, "owctl_version", jstr(o->owctl_version));
	set(doc, "omerodir", jstr(r->omerodir));
	site_ok = web_site_open(&w, r->omerodir, o->env_profile, &se) == 0;
	collect_status(o, &w, site_ok, se.msg, doc, &running_venv);
	if (site_ok) {
		collect_config(r, &w, doc);
	} else {
		set(doc, "config", jo);
		set(jo, "path", jstr(w.config_path));
		set(jo, "error", json_string(se.msg));
		jo = NULL;
	}
	set(doc, "versions", versions);
	collect_venv(o, r, running_venv, doc, versions);
	set(versions, "nginx", NULL);	/* filled below, in this order */
	set(versions, "redis", NULL);
	if (site_ok) {
		collect_validate(&w, jget(versions, "omero_web"), doc);
	} else {
		json_t *j = json_object();

		set(j, "error", json_string(se.msg));
		set(doc, "validate", j);
	}
	collect_sessions(o, r, doc, versions);
	set(doc, "nginx", ng);
	nginx_version(o, versions, ng);
	if (!json_object_get(ng, "error"))
		set(ng, "error", NULL);
	nginx_files(o, r, ng);
	collect_upgrades(r, doc);
	if (o->no_logs) {
		set(doc, "logs", NULL);
		set(doc, "recent_errors", NULL);
	} else {
		collect_logs(o, r, doc);
	}
	file_secret(r);
	if (r->secrets.n)
		qsort(r->secrets.v, r->secrets.n, sizeof(char *),
		      longest_first);
	scrub_json(&r->secrets, doc);
	json_decref(jo);
	free(running_venv);
	err_clear(&se);
	web_site_close(&w);
	return 0;
}

void
diag_report_release(struct diag_report *r)
{
	if (!r)
		return;
	json_decref(r->doc);
	for (size_t i = 0; i < r->secrets.n; i++)
		explicit_bzero(r->secrets.v[i], strlen(r->secrets.v[i]));
	strv_release(&r->secrets);
	free(r->omerodir);
	free(r->logdir);
	free(r->config_path);
	free(r->config_export);
	strv_release(&r->freeze);
	strv_release(&r->nginx_files);
	strv_release(&r->journals);
	memset(r, 0, sizeof(*r));
}
