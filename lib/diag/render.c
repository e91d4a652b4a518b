/*
 * `owctl web diagnostics` output: the report (diag.c) as omero-web's text
 * followed by owctl's sections, and as JSON; both scrubbed of secrets.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag/diag.h"
#include "banned.h"

static const char *
jget(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void
rule(struct sbuf *out, int c)
{
	for (int i = 0; i < 80; i++)
		sbuf_addch(out, c);
	sbuf_addch(out, '\n');
}

/* omero-py's _item: "%-12s" % (cat + ":") then "%-30s " % msg */
static void
item(struct sbuf *out, const char *cat, const char *msg)
{
	struct sbuf c = SBUF_INIT;

	sbuf_addf(&c, "%s:", cat);
	sbuf_addf(out, "%-12s%-30s ", c.buf, msg);
	sbuf_release(&c);
}

static void
kv(struct sbuf *out, const char *k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
kv(struct sbuf *out, const char *k, const char *fmt, ...)
{
	va_list ap;

	sbuf_addf(out, "  %-11s ", k);
	va_start(ap, fmt);
	sbuf_vaddf(out, fmt, ap);
	va_end(ap);
	sbuf_addch(out, '\n');
}

static const char *
or_text(const json_t *o, const char *k, const char *dflt)
{
	const char *s = jget(o, k);

	return s ? s : dflt;
}

static json_int_t
jint(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void
render_logs(const json_t *doc, struct sbuf *out)
{
	const json_t *logs = json_object_get(doc, "logs"), *f;
	size_t i;

	sbuf_addch(out, '\n');
	item(out, "Log dir", or_text(logs, "dir", "var/log"));
	if (!json_is_true(json_object_get(logs, "exists"))) {
		sbuf_adds(out, "\nNo logs available\n");
		return;
	}
	sbuf_adds(out, "exists\n");
	json_array_foreach(json_object_get(logs, "files"), i, f) {
		const char *state = jget(f, "state");
		struct sbuf sz = SBUF_INIT, msg = SBUF_INIT;

		item(out, "Log file ", or_text(f, "name", "?"));
		if (strcmp(state, "ok")) {
			sbuf_addf(out, "%s\n", state);
			continue;
		}
		diag_size_text((unsigned long long)jint(f, "size"), &sz);
		if (jint(f, "errors") || jint(f, "warnings"))
			sbuf_addf(&msg, " errors=%-4lld warnings=%-4lld",
				  (long long)jint(f, "errors"),
				  (long long)jint(f, "warnings"));
		sbuf_addf(out, "%-12s %s\n", sz.buf, msg.buf);
		sbuf_release(&sz);
		sbuf_release(&msg);
	}
}

static void
render_status(const json_t *st, struct sbuf *out)
{
	const json_t *h = json_object_get(st, "health");
	const char *state = or_text(st, "state", "unknown");

	if (!strcmp(state, "running") || !strcmp(state, "not-answering")) {
		kv(out, "state", "%s, PID %lld, %lld worker(s), bind %s, up "
		   "%lld s", state, (long long)jint(st, "pid"),
		   (long long)jint(st, "workers"), or_text(st, "bind", "?"),
		   (long long)jint(st, "uptime_s"));
	} else if (!strcmp(state, "dead")) {
		kv(out, "state", "not running (stale pid file: %s)",
		   or_text(st, "reason", "no live gunicorn"));
	} else if (!strcmp(state, "stopped")) {
		kv(out, "state", "not running");
	} else {
		kv(out, "state", "unknown: %s", or_text(st, "error", "?"));
	}
	if (json_is_object(h)) {
		if (jint(h, "http_status"))
			kv(out, "health", "GET %s answered %lld in %lld ms",
			   or_text(h, "url", "?"),
			   (long long)jint(h, "http_status"),
			   (long long)jint(h, "latency_ms"));
		else
			kv(out, "health", "GET %s: %s", or_text(h, "url", "?"),
			   or_text(h, "error", "no answer"));
	}
	if (jget(st, "error") && strcmp(state, "unknown"))
		kv(out, "settings", "%s", jget(st, "error"));
}

static void
render_owctl(const json_t *doc, struct sbuf *out)
{
	const json_t *v = json_object_get(doc, "versions");
	const json_t *venv = json_object_get(doc, "venv");
	const json_t *cfg = json_object_get(doc, "config");
	const json_t *val = json_object_get(doc, "validate");
	const json_t *ss = json_object_get(doc, "sessions");
	const json_t *ng = json_object_get(doc, "nginx");
	const json_t *x;
	size_t i;
	static const char *const vers[][2] = {
		{ "python", "Python" }, { "omero_web", "omero-web" },
		{ "omero_py", "omero-py" }, { "django", "Django" },
		{ "gunicorn", "gunicorn" },
	};

	sbuf_addch(out, '\n');
	rule(out, '-');
	sbuf_addf(out, "owctl %s (%s)\n", or_text(doc, "owctl_version", "?"),
		  DIAG_SCHEMA);
	rule(out, '-');
	kv(out, "OMERODIR", "%s", or_text(doc, "omerodir", "not set"));
	if (jget(cfg, "error"))
		kv(out, "config", "cannot be read: %s", jget(cfg, "error"));
	else if (json_is_true(json_object_get(cfg, "exists")))
		kv(out, "config", "%s (profile '%s')", jget(cfg, "path"),
		   or_text(cfg, "profile", "default"));
	else
		kv(out, "config", "none (OMERO.web's defaults)");
	if (jget(venv, "error"))
		kv(out, "virtualenv", "not found: %s", jget(venv, "error"));
	else
		kv(out, "virtualenv", "%s (from %s)", jget(venv, "path"),
		   or_text(venv, "from", "?"));

	sbuf_adds(out, "\nVersions\n");
	for (i = 0; i < sizeof(vers) / sizeof(vers[0]); i++)
		kv(out, vers[i][1], "%s", or_text(v, vers[i][0], jget(venv,
			"error") ? "unknown (no virtualenv)" :
			"not installed"));
	kv(out, "nginx", "%s", or_text(v, "nginx", jget(ng, "error") ?
				       jget(ng, "error") : "unknown"));
	if (jget(v, "redis"))
		kv(out, "Redis", "%s", jget(v, "redis"));
	else if (jget(ss, "engine") && !strcmp(jget(ss, "engine"), "cache"))
		kv(out, "Redis", "unknown (%s)",
		   or_text(ss, "error", "not reached"));
	else
		kv(out, "Redis", "not used by the session store");

	sbuf_adds(out, "\nService\n");
	render_status(json_object_get(doc, "status"), out);

	sbuf_adds(out, "\nConfiguration\n");
	if (jget(val, "error")) {
		kv(out, "validate", "not run: %s", jget(val, "error"));
	} else {
		kv(out, "validate", "%lld error(s), %lld warning(s), %lld "
		   "info(s)", (long long)jint(val, "errors"),
		   (long long)jint(val, "warnings"),
		   (long long)jint(val, "infos"));
		json_array_foreach(json_object_get(val, "findings"), i, x)
			kv(out, or_text(x, "severity", "?"), "%s: %s",
			   or_text(x, "key", "?"), or_text(x, "message", ""));
	}

	sbuf_adds(out, "\nSessions\n");
	if (jget(ss, "engine"))
		kv(out, "engine", "%s (%s%s)", jget(ss, "engine"),
		   or_text(ss, "session_engine", "?"),
		   json_is_true(json_object_get(ss, "engine_default")) ?
		   ", OMERO.web's default" : "");
	if (jget(ss, "store"))
		kv(out, "store", "%s (%s)", jget(ss, "store"),
		   or_text(ss, "store_note", ""));
	if (json_is_integer(json_object_get(ss, "sessions"))) {
		struct sbuf sz = SBUF_INIT;

		diag_size_text((unsigned long long)jint(ss, "bytes"), &sz);
		kv(out, "sessions", "%lld (%s)",
		   (long long)jint(ss, "sessions"), sz.buf);
		sbuf_release(&sz);
	}
	if (jget(ss, "error"))
		kv(out, "error", "%s", jget(ss, "error"));

	sbuf_adds(out, "\nnginx\n");
	if (!json_array_size(json_object_get(ng, "files")))
		kv(out, "files", "none installed by owctl ('owctl web nginx "
		   "install')");
	json_array_foreach(json_object_get(ng, "files"), i, x) {
		const char *t = or_text(x, "test", "?");

		kv(out, "file", "%s%s", jget(x, "path"),
		   json_is_true(json_object_get(x, "exists")) ? "" :
		   " (missing)");
		if (!strcmp(t, "ok"))
			kv(out, "nginx -t", "ok%s",
			   json_is_true(json_object_get(x, "included")) ?
			   ", nginx reads the file" :
			   ", but nginx does not read the file");
		else
			kv(out, "nginx -t", "%s: %s", t,
			   or_text(x, "message", ""));
	}

	sbuf_adds(out, "\nUpgrades\n");
	if (!json_array_size(json_object_get(doc, "upgrades")))
		kv(out, "journals", "none");
	json_array_foreach(json_object_get(doc, "upgrades"), i, x)
		kv(out, jget(x, "id"), "%lld record(s), last: %s %s",
		   (long long)jint(x, "records"),
		   or_text(x, "last_step", "-"), or_text(x, "last_state", ""));

	if (json_is_array(json_object_get(doc, "recent_errors"))) {
		const json_t *logs = json_object_get(doc, "logs");

		sbuf_addf(out, "\nRecent errors (last %lld per log file)\n",
			  (long long)jint(logs, "recent_errors_per_file"));
		if (!json_array_size(json_object_get(doc, "recent_errors")))
			sbuf_adds(out, "  none\n");
		json_array_foreach(json_object_get(doc, "recent_errors"), i,
				   x)
			sbuf_addf(out, "  %s: %s\n", jget(x, "file"),
				  jget(x, "line"));
	}
}

void
diag_render_text(const struct diag_report *r, struct sbuf *out)
{
	const json_t *doc = r->doc, *v = json_object_get(doc, "versions");
	struct sbuf t = SBUF_INIT;

	/* omero-py's _diagnostics_banner("web") */
	sbuf_addch(&t, '\n');
	rule(&t, '=');
	sbuf_adds(&t, "OMERO Diagnostics (web)\n");
	rule(&t, '=');
	sbuf_adds(&t, "        \n");
	sbuf_addf(&t, "%s\n", or_text(json_object_get(doc, "status"), "line",
				      "OMERO.web not installed!"));
	if (jget(v, "django"))
		sbuf_addf(&t, "Django version: %s\n", jget(v, "django"));
	else
		sbuf_adds(&t, "Django not installed!\n");
	if (json_is_object(json_object_get(doc, "logs")))
		render_logs(doc, &t);
	render_owctl(doc, &t);
	diag_scrub(&r->secrets, &t);
	sbuf_add(out, t.buf, t.len);
	sbuf_release(&t);
}

void
diag_render_json(const struct diag_report *r, struct sbuf *out)
{
	char *s = json_dumps(r->doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	struct sbuf t = SBUF_INIT;

	if (s) {
		sbuf_adds(&t, s);
		sbuf_addch(&t, '\n');
		free(s);
	}
	diag_scrub(&r->secrets, &t);
	sbuf_add(out, t.buf, t.len);
	sbuf_release(&t);
}
