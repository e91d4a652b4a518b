/*
 * The session store's settings as OMERO.web's settings.py computes them
 * (config.xml, defaults, django_additional_settings), the Django version
 * in effect, the running gunicorn, and the file engine's directory as that
 * gunicorn's tempfile.gettempdir() finds it.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "config/schema.h"
#include "config/store.h"
#include "config/validate.h"
#include "fs.h"
#include "pyjson.h"
#include "sessions/store.h"
#include "venv/distinfo.h"
#include "venv/venv.h"
#include "web/gproc.h"
#include "xalloc.h"
#include "banned.h"

#define ENGINE_PREFIX "django.contrib.sessions.backends."
#define DEPRECATED_ENGINE "omeroweb.filesessionstore"
#define JSON_SERIALIZER "django.contrib.sessions.serializers.JSONSerializer"
#define PICKLE_SERIALIZER \
	"django.contrib.sessions.serializers.PickleSerializer"
#define SIGNING_JSON_SERIALIZER "django.core.signing.JSONSerializer"
#define SECRET_MAX 65536
#define WSGI_APP "omeroweb.wsgi:application"

const char *
sstore_engine_str(enum sstore_engine engine)
{
	switch (engine) {
	case SSTORE_FILE:
		return "file";
	case SSTORE_CACHE:
		return "cache";
	case SSTORE_DB:
		return "db";
	case SSTORE_CACHED_DB:
		return "cached_db";
	}
	return "?";
}

const char *
sstore_version_str(enum django_version v)
{
	switch (v) {
	case DJANGO_3_2:
		return "3.2";
	case DJANGO_4_2:
		return "4.2";
	case DJANGO_5_2:
		return "5.2";
	}
	return "?";
}

int
sstore_use_tz(const struct sstore *s)
{
	if (s->use_tz >= 0)
		return s->use_tz;
	return s->version == DJANGO_5_2;
}

int
sstore_parse_version(const char *text, enum django_version *v)
{
	char *end;
	long major;

	if (!text || !isdigit((unsigned char)*text))
		return -1;
	errno = 0;
	major = strtol(text, &end, 10);
	if (errno || (*end && *end != '.'))
		return -1;
	if (major == 3)
		*v = DJANGO_3_2;
	else if (major == 4)
		*v = DJANGO_4_2;
	else if (major >= 5)
		*v = DJANGO_5_2;
	else
		return -1;
	return 0;
}

void
sstore_release(struct sstore *s)
{
	if (!s)
		return;
	free(s->config_path);
	free(s->profile);
	free(s->engine_name);
	free(s->cookie_name);
	free(s->time_zone);
	free(s->serializer_name);
	free(s->cache_alias);
	json_decref(s->caches);
	json_decref(s->databases);
	for (size_t i = 0; i < s->fallbacks.n; i++)
		explicit_bzero(s->fallbacks.v[i], strlen(s->fallbacks.v[i]));
	strv_release(&s->fallbacks);
	if (s->secret_key)
		explicit_bzero(s->secret_key, strlen(s->secret_key));
	free(s->secret_key);
	free(s->secret_from);
	free(s->file_path_setting);
	free(s->version_text);
	free(s->version_where);
	free(s->venv_dir);
	free(s->gunicorn_note);
	free(s->dir);
	free(s->dir_shown);
	free(s->dir_note);
	strv_release(&s->warnings);
	memset(s, 0, sizeof(*s));
}

/* --- settings ------------------------------------------------------------ */

/* The config string of key: the profile's value, else the default. */
static const char *
setting(const struct xelem *profile, const char *key, int *is_default)
{
	const char *v = profile ? profile_get(profile, key) : NULL;
	const struct schema_prop *p;

	*is_default = v == NULL;
	if (v)
		return v;
	p = schema_find(key);
	return p && p->default_kind == SCHEMA_DEF_VALUE ? p->default_value
							: NULL;
}

static int
set_engine(struct sstore *s, const char *name, struct err *e)
{
	static const struct {
		const char *suffix;
		enum sstore_engine engine;
	} engines[] = {
		{ "file", SSTORE_FILE },
		{ "cache", SSTORE_CACHE },
		{ "db", SSTORE_DB },
		{ "cached_db", SSTORE_CACHED_DB },
	};

	free(s->engine_name);
	s->engine_name = xstrdup(name);
	s->engine_deprecated = 0;
	if (!strcmp(name, DEPRECATED_ENGINE)) {
		s->engine = SSTORE_FILE;
		s->engine_deprecated = 1;
		return 0;
	}
	if (!strncmp(name, ENGINE_PREFIX, strlen(ENGINE_PREFIX)))
		for (size_t i = 0; i < sizeof(engines) / sizeof(*engines);
		     i++)
			if (!strcmp(name + strlen(ENGINE_PREFIX),
				    engines[i].suffix)) {
				s->engine = engines[i].engine;
				return 0;
			}
	if (!strcmp(name, ENGINE_PREFIX "signed_cookies"))
		return err_set(e, ERR_SESS_CONFIG, "session engine '%s' keeps "
			       "sessions in the browser's cookies: there is "
			       "no store to manage", name);
	return err_set(e, ERR_SESS_CONFIG, "unknown session engine '%s' "
		       "(OMERO.web accepts %s, %sfile, %scache, %sdb and "
		       "%scached_db)", name, DEPRECATED_ENGINE, ENGINE_PREFIX,
		       ENGINE_PREFIX, ENGINE_PREFIX, ENGINE_PREFIX);
}

static int
set_serializer(struct sstore *s, const char *name, struct err *e)
{
	free(s->serializer_name);
	s->serializer_name = xstrdup(name);
	if (!strcmp(name, JSON_SERIALIZER) ||
	    !strcmp(name, SIGNING_JSON_SERIALIZER)) {
		s->serializer = DJSIGN_JSON;
		return 0;
	}
	if (!strcmp(name, PICKLE_SERIALIZER)) {
		s->serializer = DJSIGN_PICKLE;
		return 0;
	}
	return err_set(e, ERR_SESS_CONFIG, "session serializer '%s' is not "
		       "supported (only Django's JSONSerializer and "
		       "PickleSerializer)", name);
}

static int
parse_json_setting(const char *key, const char *text, json_t **out,
		   struct err *e)
{
	json_t *v = pyjson_loads(text, strlen(text), e);

	if (!v) {
		err_prefix(e, "%s is not valid JSON", key);
		e->code = ERR_SESS_CONFIG;
		return -1;
	}
	json_decref(*out);
	*out = v;
	return 0;
}

static int
string_list(const json_t *v, struct strv *out)
{
	size_t i;
	json_t *it;

	if (!json_is_array(v))
		return -1;
	json_array_foreach(v, i, it)
		if (!json_is_string(it))
			return -1;
	json_array_foreach(v, i, it)
		strv_push(out, json_string_value(it));
	return 0;
}

/*
 * omero.web.django_additional_settings: [[NAME, value], ...] set onto the
 * settings module after everything else (settings.py), so they win.
 */
static int
apply_additional(struct sstore *s, const char *text, struct err *e)
{
	json_t *list = NULL, *item;
	size_t i;
	int ret = -1;

	if (parse_json_setting("omero.web.django_additional_settings", text,
			       &list, e) < 0)
		return -1;
	if (!json_is_array(list)) {
		err_set(e, ERR_SESS_CONFIG, "omero.web.django_additional_"
			"settings is not a list of [NAME, value] pairs");
		goto out;
	}
	json_array_foreach(list, i, item) {
		const char *name;
		json_t *v;

		if (!json_is_array(item) || json_array_size(item) != 2 ||
		    !json_is_string(json_array_get(item, 0))) {
			err_set(e, ERR_SESS_CONFIG, "omero.web.django_"
				"additional_settings item %zu is not a "
				"[NAME, value] pair", i);
			goto out;
		}
		name = json_string_value(json_array_get(item, 0));
		v = json_array_get(item, 1);
		if (!strcmp(name, "SESSION_ENGINE") && json_is_string(v)) {
			if (set_engine(s, json_string_value(v), e) < 0)
				goto out;
			s->engine_default = 0;
		} else if (!strcmp(name, "SESSION_COOKIE_NAME") &&
			   json_is_string(v)) {
			free(s->cookie_name);
			s->cookie_name = xstrdup(json_string_value(v));
		} else if (!strcmp(name, "SESSION_COOKIE_AGE") &&
			   json_is_integer(v)) {
			s->cookie_age = json_integer_value(v);
		} else if (!strcmp(name, "SESSION_SERIALIZER") &&
			   json_is_string(v)) {
			if (set_serializer(s, json_string_value(v), e) < 0)
				goto out;
		} else if (!strcmp(name, "SESSION_CACHE_ALIAS") &&
			   json_is_string(v)) {
			free(s->cache_alias);
			s->cache_alias = xstrdup(json_string_value(v));
		} else if (!strcmp(name, "SESSION_FILE_PATH") &&
			   (json_is_string(v) || json_is_null(v))) {
			free(s->file_path_setting);
			s->file_path_setting = json_is_string(v) ?
				xstrdup(json_string_value(v)) : NULL;
		} else if (!strcmp(name, "TIME_ZONE") && json_is_string(v)) {
			free(s->time_zone);
			s->time_zone = xstrdup(json_string_value(v));
		} else if (!strcmp(name, "USE_TZ") && json_is_boolean(v)) {
			s->use_tz = json_is_true(v);
		} else if (!strcmp(name, "SECRET_KEY") && json_is_string(v)) {
			free(s->secret_from);
			s->secret_from = xstrdup("SECRET_KEY in omero.web."
						 "django_additional_settings");
			if (s->secret_key)
				explicit_bzero(s->secret_key,
					       strlen(s->secret_key));
			free(s->secret_key);
			s->secret_key = xstrdup(json_string_value(v));
		} else if (!strcmp(name, "SECRET_KEY_FALLBACKS")) {
			strv_release(&s->fallbacks);
			if (string_list(v, &s->fallbacks) < 0) {
				err_set(e, ERR_SESS_CONFIG, "SECRET_KEY_"
					"FALLBACKS in omero.web.django_"
					"additional_settings is not a list of "
					"strings");
				goto out;
			}
		} else if (!strcmp(name, "CACHES")) {
			json_decref(s->caches);
			s->caches = json_incref(v);
		} else if (!strcmp(name, "DATABASES")) {
			json_decref(s->databases);
			s->databases = json_incref(v);
		} else if (!strncmp(name, "SESSION_", 8) ||
			   !strcmp(name, "TIME_ZONE") ||
			   !strcmp(name, "USE_TZ") ||
			   !strcmp(name, "SECRET_KEY")) {
			strv_pushf(&s->warnings, "%s in omero.web.django_"
				   "additional_settings has a value owctl "
				   "does not understand, ignoring", name);
		}
	}
	ret = 0;
out:
	json_decref(list);
	return ret;
}

static int
read_settings(struct sstore *s, const struct sstore_opts *o, struct err *e)
{
	struct cfg_open_opts co = { 0 };
	struct cfg_store cs;
	struct xelem *profile = NULL;
	struct sbuf why = SBUF_INIT;
	struct stat st;
	const char *v;
	int dflt, opened = 0, ret = -1;
	long long age;

	if (!o->omerodir || !*o->omerodir)
		return err_set(e, ERR_CFG_NO_OMERODIR,
			       "FATAL: OMERODIR env variable not set");
	sbuf_addf(&why, "%s/etc/grid/config.xml", o->omerodir);
	s->config_path = xstrdup(why.buf);
	sbuf_reset(&why);
	/* Read only: never create config.xml or its lock like omero-py. */
	if (stat(s->config_path, &st) == 0 && st.st_size > 0) {
		co.source = s->config_path;
		co.env_profile = o->env_profile;
		if (cfg_open(&cs, &co, e) < 0) {
			cfg_close(&cs);
			goto out;
		}
		opened = 1;
		s->profile = xstrdup(cfg_active(&cs));
		profile = cfg_profile(&cs);
	} else {
		s->profile = xstrdup(o->env_profile && *o->env_profile ?
				     o->env_profile : "default");
	}

	v = setting(profile, "omero.web.session_engine", &dflt);
	if (set_engine(s, v, e) < 0)
		goto out;
	s->engine_default = dflt;
	v = setting(profile, "omero.web.session_cookie_name", &dflt);
	s->cookie_name = xstrdup(v ? v : "sessionid");
	v = setting(profile, "omero.web.session_cookie_age", &dflt);
	if (cfg_py_int(v, &age, &why) != 0) {
		err_set(e, ERR_SESS_CONFIG, "invalid omero.web.session_"
			"cookie_age '%s' (OMERO.web refuses it: %s)", v,
			why.buf);
		goto out;
	}
	s->cookie_age = age;
	v = setting(profile, "omero.web.session_serializer", &dflt);
	if (set_serializer(s, v, e) < 0)
		goto out;
	v = setting(profile, "omero.web.time_zone", &dflt);
	s->time_zone = xstrdup(v);
	v = setting(profile, "omero.web.caches", &dflt);
	if (parse_json_setting("omero.web.caches", v, &s->caches, e) < 0)
		goto out;
	v = setting(profile, "omero.web.databases", &dflt);
	if (parse_json_setting("omero.web.databases", v, &s->databases,
			       e) < 0)
		goto out;
	v = profile ? profile_get(profile, "omero.web.secret_key") : NULL;
	if (v) {
		s->secret_key = xstrdup(v);
		s->secret_from = xstrdup("omero.web.secret_key");
	}
	s->cache_alias = xstrdup("default");
	s->use_tz = -1;
	v = setting(profile, "omero.web.django_additional_settings", &dflt);
	if (v && apply_additional(s, v, e) < 0)
		goto out;
	ret = 0;
out:
	if (opened)
		cfg_close(&cs);
	sbuf_release(&why);
	return ret;
}

/* --- the running gunicorn ------------------------------------------------ */

static pid_t
find_gunicorn(struct sstore *s, const struct sstore_opts *o)
{
	struct gmaster_expect x = { 0 };
	struct sbuf path = SBUF_INIT, text = SBUF_INIT, why = SBUF_INIT;
	struct err e = ERR_INIT;
	struct stat st;
	char *end;
	long pid = 0;

	sbuf_addf(&path, "%s/var/django.pid", o->omerodir);
	if (fs_read_file(path.buf, 64, &text, &e) < 0) {
		if (errno != ENOENT)
			sbuf_addf(&why, "cannot read '%s': %s", path.buf,
				  e.msg);
		else
			sbuf_addf(&why, "OMERO.web is not running (no '%s')",
				  path.buf);
		goto out;
	}
	errno = 0;
	pid = strtol(text.buf, &end, 10);
	while (*end == ' ' || *end == '\n' || *end == '\t')
		end++;
	if (errno || pid <= 0 || *end) {
		sbuf_addf(&why, "'%s' does not hold a PID", path.buf);
		pid = 0;
		goto out;
	}
	x.app = WSGI_APP;
	x.pidfile = path.buf;
	if (stat(path.buf, &st) == 0)
		x.pidfile_mtime = st.st_mtime;
	if (gmaster_check((pid_t)pid, &x, &why) != GMASTER_RUNNING) {
		sbuf_addf(&why, " (pid file '%s')", path.buf);
		pid = 0;
	}
out:
	if (!pid)
		s->gunicorn_note = sbuf_detach(&why, NULL);
	err_clear(&e);
	sbuf_release(&path);
	sbuf_release(&text);
	sbuf_release(&why);
	return (pid_t)pid;
}

/* --- the Django version -------------------------------------------------- */

/* "Django-5.2.3.dist-info", "django-3.2.25.egg-info": name is Django. */
static int
is_django_dist(const char *name)
{
	size_t len = strlen(name);

	if (strncasecmp(name, "django-", 7) || !isdigit((unsigned char)name[7]))
		return 0;
	return (len > 10 && !strcasecmp(name + len - 10, ".dist-info")) ||
	       (len > 9 && !strcasecmp(name + len - 9, ".egg-info"));
}

/* The first Django distribution in the venv's sys.path order. */
static int
django_in_venv(struct sstore *s, const char *venv_dir)
{
	struct pyvenv pv = PYVENV_INIT;
	struct err e = ERR_INIT;
	int found = 0;

	if (pyvenv_open(&pv, venv_dir, &e) < 0)
		goto out;
	for (size_t i = 0; i < pv.sites.n && !found; i++) {
		struct strv names = STRV_INIT;
		DIR *d = opendir(pv.sites.v[i]);
		struct dirent *de;

		if (!d)
			continue;
		while ((de = readdir(d)))
			if (is_django_dist(de->d_name))
				strv_push(&names, de->d_name);
		closedir(d);
		strv_sort(&names);
		for (size_t j = 0; j < names.n && !found; j++) {
			struct dist dist;
			struct sbuf p = SBUF_INIT;
			enum django_version v;

			memset(&dist, 0, sizeof(dist));
			sbuf_addf(&p, "%s/%s", pv.sites.v[i], names.v[j]);
			if (dist_load(&dist, p.buf, pv.sites.v[i], &e) == 0 &&
			    dist.key && !strcmp(dist.key, "django") &&
			    dist.version &&
			    sstore_parse_version(dist.version, &v) == 0) {
				s->version = v;
				s->version_text = xstrdup(dist.version);
				s->version_where = sbuf_detach(&p, NULL);
				found = 1;
			}
			err_clear(&e);
			dist_release(&dist);
			sbuf_release(&p);
		}
		strv_release(&names);
	}
out:
	err_clear(&e);
	pyvenv_release(&pv);
	return found;
}

/* The venv of the running gunicorn: its python's directory, or the
 * VIRTUAL_ENV of its environment. */
static char *
gunicorn_venv(pid_t pid)
{
	struct strv argv = STRV_INIT;
	struct sbuf p = SBUF_INIT;
	char *dir = NULL, *slash;

	if (gproc_cmdline(pid, &argv) == 0 && argv.n && argv.v[0][0] == '/') {
		sbuf_adds(&p, argv.v[0]);
		/* VENV/bin/python -> VENV */
		for (int up = 0; up < 2; up++) {
			slash = strrchr(p.buf, '/');
			if (!slash || slash == p.buf)
				break;
			sbuf_setlen(&p, (size_t)(slash - p.buf));
		}
		sbuf_adds(&p, "/pyvenv.cfg");
		if (fs_exists(p.buf)) {
			sbuf_setlen(&p, p.len - strlen("/pyvenv.cfg"));
			dir = sbuf_detach(&p, NULL);
		}
	}
	if (!dir)
		dir = gproc_environ(pid, "VIRTUAL_ENV");
	strv_release(&argv);
	sbuf_release(&p);
	return dir;
}

static int
find_version(struct sstore *s, const struct sstore_opts *o, struct err *e)
{
	struct venv v = VENV_INIT;
	struct err ve = ERR_INIT;
	char *dir = NULL;

	if (o->django_version) {
		if (strcmp(o->django_version, "3.2") &&
		    strcmp(o->django_version, "4.2") &&
		    strcmp(o->django_version, "5.2"))
			return err_set(e, ERR_USAGE, "--django-version must "
				       "be 3.2, 4.2 or 5.2, not '%s'",
				       o->django_version);
		sstore_parse_version(o->django_version, &s->version);
		s->version_from = SSTORE_VERSION_OPTION;
		s->version_text = xstrdup(o->django_version);
		return 0;
	}
	if (o->venv && *o->venv) {
		if (venv_find(o->venv, NULL, NULL, &v, e) < 0) {
			venv_release(&v);
			return -1;
		}
		dir = xstrdup(v.dir);
	} else if (s->gunicorn_pid) {
		dir = gunicorn_venv(s->gunicorn_pid);
	}
	if (!dir && venv_find(NULL, o->virtual_env, o->path, &v, &ve) == 0)
		dir = xstrdup(v.dir);
	err_clear(&ve);
	venv_release(&v);
	if (dir && django_in_venv(s, dir)) {
		s->version_from = SSTORE_VERSION_VENV;
		s->venv_dir = dir;
		return 0;
	}
	s->venv_dir = dir;
	s->version = DJANGO_5_2;
	s->version_from = SSTORE_VERSION_DEFAULT;
	s->version_text = xstrdup("5.2");
	return 0;
}

int
sstore_open(struct sstore *s, const struct sstore_opts *o, struct err *e)
{
	memset(s, 0, sizeof(*s));
	s->use_tz = -1;
	if (read_settings(s, o, e) < 0)
		return -1;
	s->gunicorn_pid = find_gunicorn(s, o);
	return find_version(s, o, e);
}

/* --- the secret key ------------------------------------------------------ */

/* Python's str.strip() for the ASCII whitespace a key file can hold. */
static void
strip(struct sbuf *sb)
{
	size_t start = 0;

	while (sb->len && strchr(" \t\n\r\v\f\x1c\x1d\x1e\x1f",
				 sb->buf[sb->len - 1]) && sb->buf[sb->len - 1])
		sbuf_setlen(sb, sb->len - 1);
	while (start < sb->len && sb->buf[start] &&
	       strchr(" \t\n\r\v\f\x1c\x1d\x1e\x1f", sb->buf[start]))
		start++;
	if (start) {
		memmove(sb->buf, sb->buf + start, sb->len - start);
		sbuf_setlen(sb, sb->len - start);
	}
}

int
sstore_load_secret(struct sstore *s, const struct sstore_opts *o,
		   struct err *e)
{
	struct sbuf path = SBUF_INIT, text = SBUF_INIT;
	int ret = -1;

	if (s->secret_key) {
		if (!*s->secret_key)
			return err_set(e, ERR_SESS_SECRET, "the secret key "
				       "(%s) is empty", s->secret_from);
		return 0;
	}
	sbuf_addf(&path, "%s/var/django_secret_key", o->omerodir);
	if (fs_read_file(path.buf, SECRET_MAX, &text, e) < 0) {
		err_set(e, ERR_SESS_SECRET, "cannot read the secret key '%s' "
			"(omero.web.secret_key is not set): %s", path.buf,
			strerror(errno));
		goto out;
	}
	strip(&text);
	if (!text.len || memchr(text.buf, '\0', text.len)) {
		err_set(e, ERR_SESS_SECRET, "the secret key file '%s' is "
			"empty or not text", path.buf);
		goto out;
	}
	s->secret_key = xstrdup(text.buf);
	free(s->secret_from);
	s->secret_from = sbuf_detach(&path, NULL);
	ret = 0;
out:
	explicit_bzero(text.buf, text.len);
	sbuf_release(&text);
	sbuf_release(&path);
	return ret;
}

/* --- the file engine's directory ---------------------------------------- */

/* os.path.abspath(): join to cwd, then posixpath.normpath(). */
static char *
py_abspath(const char *p, const char *cwd)
{
	struct sbuf in = SBUF_INIT, out = SBUF_INIT;
	struct strv parts = STRV_INIT;
	int initial;
	char *tok, *save = NULL;

	if (p[0] != '/' && cwd)
		sbuf_addf(&in, "%s/%s", cwd, p);
	else
		sbuf_adds(&in, p);
	/* POSIX keeps exactly two leading slashes, collapses three+ */
	initial = in.buf[0] == '/' ?
		(in.buf[1] == '/' && in.buf[2] != '/' ? 2 : 1) : 0;
	for (tok = strtok_r(in.buf, "/", &save); tok;
	     tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			if (parts.n && strcmp(parts.v[parts.n - 1], "..")) {
				free(parts.v[--parts.n]);
				parts.v[parts.n] = NULL;
				continue;
			}
			if (initial)
				continue;
		}
		strv_push(&parts, tok);
	}
	sbuf_add(&out, "//", (size_t)initial);
	for (size_t i = 0; i < parts.n; i++)
		sbuf_addf(&out, "%s%s", i ? "/" : "", parts.v[i]);
	if (!out.len)
		sbuf_addch(&out, '.');
	strv_release(&parts);
	sbuf_release(&in);
	return sbuf_detach(&out, NULL);
}

void
sstore_tempdir_candidates(const char *tmpdir, const char *temp,
			  const char *tmp, const char *cwd, struct strv *out)
{
	const char *env[] = { tmpdir, temp, tmp };

	for (size_t i = 0; i < 3; i++)
		if (env[i] && *env[i])
			strv_push_nodup(out, py_abspath(env[i], cwd));
	strv_push(out, "/tmp");
	strv_push(out, "/var/tmp");
	strv_push(out, "/usr/tmp");
	if (cwd)
		strv_push(out, cwd);
}

/* Who the gunicorn is, for the writability test Python would make. */
struct creds {
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	size_t ngroups;
};


/* The fourth of "  real effective saved fs" ids in a /proc status line. */
static int
last_id(const char *p, unsigned long *out)
{
	char *end;

	for (int i = 0; i < 4; i++) {
		errno = 0;
		*out = strtoul(p, &end, 10);
		if (errno || end == p)
			return 0;
		p = end;
	}
	return 1;
}

static int
read_creds(const char *proc, pid_t pid, struct creds *c)
{
	struct sbuf path = SBUF_INIT;
	char line[1024];
	FILE *f;
	int got = 0;

	sbuf_addf(&path, "%s/%d/status", proc, (int)pid);
	f = fopen(path.buf, "re");
	sbuf_release(&path);
	if (!f)
		return -1;
	c->ngroups = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long fsid;

		if (!strncmp(line, "Uid:", 4) && last_id(line + 4, &fsid)) {
			c->uid = (uid_t)fsid;
			got |= 1;
		} else if (!strncmp(line, "Gid:", 4) &&
			   last_id(line + 4, &fsid)) {
			c->gid = (gid_t)fsid;
			got |= 2;
		} else if (!strncmp(line, "Groups:", 7)) {
			char *p = line + 7, *end;

			for (;;) {
				unsigned long g = strtoul(p, &end, 10);

				if (end == p || c->ngroups >= 64)
					break;
				c->groups[c->ngroups++] = (gid_t)g;
				p = end;
			}
		}
	}
	fclose(f);
	return got == 3 ? 0 : -1;
}

/* Could that user create a file in dir (a directory, resolved)? */
static int
writable_by(const char *dir, const struct creds *c)
{
	struct stat st;
	struct statvfs vfs;
	int in_group;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return 0;
	if (statvfs(dir, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
		return 0;
	if (c->uid == 0)
		return 1;
	if (st.st_uid == c->uid)
		return (st.st_mode & S_IWUSR) && (st.st_mode & S_IXUSR);
	in_group = st.st_gid == c->gid;
	for (size_t i = 0; i < c->ngroups && !in_group; i++)
		in_group = st.st_gid == c->groups[i];
	if (in_group)
		return (st.st_mode & S_IWGRP) && (st.st_mode & S_IXGRP);
	return (st.st_mode & S_IWOTH) && (st.st_mode & S_IXOTH);
}

/* Does the process see another mount namespace or root than ours? */
static int
other_root(const char *proc, pid_t pid)
{
	char a[128], b[128];
	struct sbuf p = SBUF_INIT;
	ssize_t na, nb;
	int other = 0;

	sbuf_addf(&p, "%s/%d/ns/mnt", proc, (int)pid);
	na = readlink(p.buf, a, sizeof(a) - 1);
	sbuf_reset(&p);
	sbuf_addf(&p, "%s/self/ns/mnt", proc);
	nb = readlink(p.buf, b, sizeof(b) - 1);
	if (na > 0 && nb > 0 && (na != nb || memcmp(a, b, (size_t)na)))
		other = 1;
	sbuf_reset(&p);
	sbuf_addf(&p, "%s/%d/root", proc, (int)pid);
	na = readlink(p.buf, a, sizeof(a) - 1);
	if (na > 0 && !(na == 1 && a[0] == '/'))
		other = 1;
	sbuf_release(&p);
	return other;
}

static char *
proc_cwd(const char *proc, pid_t pid)
{
	char buf[PATH_MAX];
	struct sbuf p = SBUF_INIT;
	ssize_t n;

	sbuf_addf(&p, "%s/%d/cwd", proc, (int)pid);
	n = readlink(p.buf, buf, sizeof(buf) - 1);
	sbuf_release(&p);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

static int
dir_of_gunicorn(struct sstore *s, const struct sstore_opts *o)
{
	const char *names[] = { "TMPDIR", "TEMP", "TMP" };
	char *env[3] = { NULL, NULL, NULL };
	struct strv cands = STRV_INIT;
	struct sbuf path = SBUF_INIT, note = SBUF_INIT;
	struct creds cr = { 0, 0, { 0 }, 0 };
	pid_t pid = s->gunicorn_pid;
	char *cwd = NULL;
	int other, ret = -1;
	size_t nenv = 0;

	sbuf_addf(&path, "%s/%d/environ", o->proc, (int)pid);
	if (access(path.buf, R_OK) < 0 || read_creds(o->proc, pid, &cr) < 0) {
		strv_pushf(&s->warnings, "cannot read the environment of the "
			   "running OMERO.web (PID %d; run owctl as its user "
			   "or root): using owctl's own temporary directory, "
			   "which may not be the one it uses", (int)pid);
		goto out;
	}
	for (size_t i = 0; i < 3; i++)
		env[i] = gproc_environ(pid, names[i]);
	other = other_root(o->proc, pid);
	cwd = proc_cwd(o->proc, pid);
	for (size_t i = 0; i < 3; i++)
		nenv += env[i] && *env[i];
	sstore_tempdir_candidates(env[0], env[1], env[2], cwd, &cands);
	for (size_t i = 0; i < cands.n; i++) {
		sbuf_reset(&path);
		if (other)
			sbuf_addf(&path, "%s/%d/root", o->proc, (int)pid);
		sbuf_adds(&path, cands.v[i]);
		if (!writable_by(path.buf, &cr))
			continue;
		s->dir = sbuf_detach(&path, NULL);
		s->dir_shown = xstrdup(cands.v[i]);
		s->dir_from = SSTORE_DIR_RUNNING;
		s->dir_private = other;
		if (i < nenv)
			sbuf_addf(&note, "the %s of the running OMERO.web "
				  "(PID %d)", env[0] && *env[0] ? "TMPDIR" :
				  "TEMP/TMP", (int)pid);
		else
			sbuf_addf(&note, "tempfile.gettempdir() of the running "
				  "OMERO.web (PID %d)", (int)pid);
		if (other)
			sbuf_addf(&note, ", its private mount seen through "
				  "%s/%d/root", o->proc, (int)pid);
		s->dir_note = sbuf_detach(&note, NULL);
		ret = 0;
		break;
	}
out:
	for (size_t i = 0; i < 3; i++)
		free(env[i]);
	free(cwd);
	strv_release(&cands);
	sbuf_release(&path);
	sbuf_release(&note);
	return ret;
}

int
sstore_find_dir(struct sstore *s, const struct sstore_opts *o,
		struct err *e)
{
	struct strv cands = STRV_INIT;
	char cwd[PATH_MAX];
	int ret = -1;

	free(s->dir);
	free(s->dir_shown);
	free(s->dir_note);
	s->dir = s->dir_shown = s->dir_note = NULL;
	s->dir_private = 0;
	if (o->session_dir) {
		s->dir = xstrdup(o->session_dir);
		s->dir_shown = xstrdup(o->session_dir);
		s->dir_from = SSTORE_DIR_OPTION;
		s->dir_note = xstrdup("--session-dir");
		return 0;
	}
	if (s->file_path_setting) {
		s->dir = xstrdup(s->file_path_setting);
		s->dir_shown = xstrdup(s->file_path_setting);
		s->dir_from = SSTORE_DIR_SETTING;
		s->dir_note = xstrdup("SESSION_FILE_PATH in omero.web."
				      "django_additional_settings");
		return 0;
	}
	if (s->gunicorn_pid && dir_of_gunicorn(s, o) == 0)
		return 0;
	sstore_tempdir_candidates(o->tmpdir, o->temp, o->tmp,
				  getcwd(cwd, sizeof(cwd)) ? cwd : NULL,
				  &cands);
	for (size_t i = 0; i < cands.n; i++) {
		if (!fs_is_dir(cands.v[i]) ||
		    access(cands.v[i], W_OK | X_OK) < 0)
			continue;
		s->dir = xstrdup(cands.v[i]);
		s->dir_shown = xstrdup(cands.v[i]);
		s->dir_from = SSTORE_DIR_PYTHON;
		if (s->gunicorn_pid) {
			s->dir_note = xstrdup("tempfile.gettempdir() in "
					      "owctl's environment");
		} else {
			struct sbuf note = SBUF_INIT;

			sbuf_addf(&note, "tempfile.gettempdir() in owctl's "
				  "environment; %s", s->gunicorn_note ?
				  s->gunicorn_note :
				  "OMERO.web is not running");
			s->dir_note = sbuf_detach(&note, NULL);
		}
		ret = 0;
		break;
	}
	if (ret < 0)
		err_set(e, ERR_SESS_STORE, "no usable temporary directory "
			"(TMPDIR, TEMP, TMP, /tmp, /var/tmp, /usr/tmp, the "
			"working directory): give --session-dir");
	strv_release(&cands);
	return ret;
}
