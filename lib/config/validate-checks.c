/*
 * Checks of one omero.web.* value on its own, by its settings.py parser
 * (int, bool, JSON shapes, time zone, regex, paths) and by key (prefix,
 * serializer, SameSite, secret key, ...). re.compile() is mimicked only
 * in part (see check_regex).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fs.h"
#include "validate-int.h"
#include "xalloc.h"
#include "banned.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo"

/*
 * Python's re syntax, in part: unbalanced groups, unterminated sets, a
 * trailing backslash, unknown ASCII-letter escapes and a quantifier with
 * nothing to repeat are errors re.compile() reports too; anything subtler
 * (bad group names, look-behind widths, ...) is not checked.
 */
static const char *
check_regex(const char *re)
{
	static const char outside[] = "AbBdDsSwWZafnrtvxuUN0123456789";
	static const char inside[] = "dDsSwWbafnrtvxuUN01234567";
	int depth = 0;
	const char *p = re;
	int can_repeat = 0;

	while (*p) {
		if (*p == '\\') {
			if (!p[1])
				return "bad escape (end of pattern)";
			if (isalpha((unsigned char)p[1]) &&
			    !strchr(outside, p[1]))
				return "bad escape";
			/* anchors cannot be repeated */
			can_repeat = !strchr("AZbB", p[1]);
			p += 2;
		} else if (*p == '[') {
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p && *p != ']') {
				if (*p == '\\') {
					if (!p[1])
						return "unterminated character "
						       "set";
					if (isalpha((unsigned char)p[1]) &&
					    !strchr(inside, p[1]))
						return "bad escape";
					p++;
				}
				p++;
			}
			if (!*p)
				return "unterminated character set";
			p++;
			can_repeat = 1;
		} else if (*p == '(' && !strncmp(p, "(?#", 3)) {
			p = strchr(p, ')');
			if (!p)
				return "missing ), unterminated comment";
			p++;
		} else if (*p == '(') {
			depth++;
			p++;
			can_repeat = 0;
		} else if (*p == ')') {
			if (--depth < 0)
				return "unbalanced parenthesis";
			p++;
			can_repeat = 1;
		} else if (*p == '|' || *p == '^' || *p == '$') {
			p++;
			can_repeat = 0;
		} else if (*p == '*' || *p == '+' || *p == '?') {
			/* a '?' right after '(' starts an extension */
			if (*p == '?' && p > re && p[-1] == '(') {
				p++;
				continue;
			}
			if (!can_repeat)
				return "nothing to repeat";
			p++;
			/* lazy or possessive suffix */
			if (*p == '?' || *p == '+')
				p++;
			can_repeat = 0;
		} else {
			p++;
			can_repeat = 1;
		}
	}
	if (depth > 0)
		return "missing ), unterminated subpattern";
	return NULL;
}

/* Case-insensitive path lookup under dir, as pytz matches zone names. */
static int
zone_exists(const char *dir, const char *name)
{
	struct sbuf path = SBUF_INIT;
	const char *p = name;
	int ret = 0;

	/* pytz knows only the zone names: not the posix/ and right/
	 * copies of the tree, nor the few other TZif files there */
	if (!*name || name[strlen(name) - 1] == '/' ||
	    !strncasecmp(name, "posix/", 6) ||
	    !strncasecmp(name, "right/", 6) || !strcasecmp(name, "Factory") ||
	    !strcasecmp(name, "localtime") || !strcasecmp(name, "posixrules"))
		return 0;
	sbuf_adds(&path, dir);
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		struct dirent *de;
		DIR *d;
		int found = 0;

		if (!len || (len <= 2 && !strncmp(p, "..", len)))
			goto out;
		d = opendir(path.buf);
		if (!d)
			goto out;
		while ((de = readdir(d))) {
			if (strlen(de->d_name) == len &&
			    !strncasecmp(de->d_name, p, len)) {
				sbuf_addch(&path, '/');
				sbuf_adds(&path, de->d_name);
				found = 1;
				break;
			}
		}
		closedir(d);
		if (!found)
			goto out;
		p += len;
		if (*p == '/')
			p++;
	}
	{
		char magic[4];
		int fd = open(path.buf, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			ret = read(fd, magic, 4) == 4 &&
			      !memcmp(magic, "TZif", 4);
			close(fd);
		}
	}
out:
	sbuf_release(&path);
	return ret;
}

static void
check_timezone(struct vctx *c, const char *key, const char *v)
{
	struct sbuf name = SBUF_INIT;
	const char *p;

	if (!strcasecmp(v, "UTC"))
		return;
	if (!fs_is_dir(ZONEINFO_DIR)) {
		vc_add(c, FINDING_INFO, key, NULL,
		       "cannot check time zone '%s': "
		       "'%s' is missing",
		       shown(key, v), ZONEINFO_DIR);
		return;
	}
	/* pytz's _unmunge_zone */
	for (p = v; *p;) {
		if (!strncmp(p, "_plus_", 6)) {
			sbuf_addch(&name, '+');
			p += 6;
		} else if (!strncmp(p, "_minus_", 7)) {
			sbuf_addch(&name, '-');
			p += 7;
		} else {
			sbuf_addch(&name, *p++);
		}
	}
	if (name.buf[0] == '/' || !zone_exists(ZONEINFO_DIR, name.buf))
		vc_add(c, FINDING_ERROR, key,
		       "use a tz database name such as "
		       "'Europe/London' or 'UTC'",
		       "unknown time zone '%s': OMERO.web will not start",
		       shown(key, v));
	sbuf_release(&name);
}

static const char *const server_types[] = {
	"wsgi", "wsgi-tcp", "development", NULL
};
static const char *const session_engines[] = {
	"omeroweb.filesessionstore",
	"django.contrib.sessions.backends.db",
	"django.contrib.sessions.backends.file",
	"django.contrib.sessions.backends.cache",
	"django.contrib.sessions.backends.cached_db",
	NULL
};

static int
in_list(const char *v, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(v, *list))
			return 1;
	return 0;
}

static int
is_gunicorn_int(const char *key)
{
	static const char *const keys[] = {
		"omero.web.application_server.max_requests",
		"omero.web.wsgi_workers", "omero.web.wsgi_timeout",
		"omero.web.wsgi_threads", "omero.web.wsgi_worker_connections",
		NULL
	};

	return in_list(key, keys);
}

static void
check_int(struct vctx *c, const struct schema_prop *p, const char *v)
{
	struct sbuf why = SBUF_INIT;
	long long n = 0;
	int r = cfg_py_int(v, &n, &why);

	if (r < 0) {
		vc_add(c, FINDING_ERROR, p->key, "use a whole number",
		       "'%s' is not an integer (%s): OMERO.web will not start",
		       shown(p->key, v), why.buf);
		goto out;
	}
	if (!strcmp(p->key, "omero.web.application_server.port")) {
		if (r || n < 1 || n > 65535)
			vc_add(c, FINDING_ERROR, p->key, NULL,
			       "port %s is outside 1..65535", shown(p->key, v));
	} else if (is_gunicorn_int(p->key)) {
		if (n < 0)
			vc_add(c, FINDING_ERROR, p->key, NULL,
			       "gunicorn rejects the negative value %lld", n);
		else if (n == 0 && !strcmp(p->key, "omero.web.wsgi_workers"))
			vc_add(c, FINDING_ERROR, p->key, "use at least 1",
			       "with 0 workers gunicorn serves no request");
	}
out:
	sbuf_release(&why);
}

static void
check_bool(struct vctx *c, const struct schema_prop *p, const char *v)
{
	if (cfg_looks_true(v))
		vc_add(c, FINDING_WARNING, p->key, "use 'true' or 'false'",
		       "'%s' is read as false: parse_boolean accepts only "
		       "true, 1 and t (any case)",
		       shown(p->key, v));
}

static void
expect_list_of_strings(struct vctx *c, const char *key, const json_t *j,
		       enum finding_severity sev)
{
	if (!json_is_array(j) || !vc_all_strings(j))
		vc_add(c, sev, key, NULL, "expected a JSON list of strings");
}

static void
check_apps(struct vctx *c, const char *key, const json_t *j)
{
	size_t i, k;
	json_t *x;

	if (!json_is_array(j) || !vc_all_strings(j)) {
		vc_add(c, FINDING_ERROR, key, "e.g. '[\"omero_figure\"]'",
		       "expected a JSON list of app names (strings): OMERO.web "
		       "will not start");
		return;
	}
	json_array_foreach(j, i, x) {
		const char *s = json_string_value(x);
		const char *q;
		int ok = *s != '\0' && *s != '.';

		for (q = s; *q && ok; q++)
			ok = isalnum((unsigned char)*q) || *q == '_' ||
			     (*q == '.' && q[1] && q[1] != '.');
		if (!ok || isdigit((unsigned char)*s))
			vc_add(c, FINDING_ERROR, key, NULL,
			       "'%s' is not a Python module name",
			       shown(key, s));
		for (k = 0; k < i; k++)
			if (!strcmp(s, json_string_value(
					json_array_get(j, k)))) {
				vc_add(c, FINDING_WARNING, key, NULL,
				       "app '%s' is listed more than once",
				       shown(key, s));
				break;
			}
	}
}

static void
check_middleware(struct vctx *c, const char *key, const json_t *j)
{
	size_t i;
	json_t *x;
	int session = 0;

	if (!json_is_array(j)) {
		vc_add(c, FINDING_ERROR, key, NULL,
		       "expected a JSON list of "
		       "{\"index\": N, \"class\": NAME} objects");
		return;
	}
	json_array_foreach(j, i, x) {
		json_t *cls = json_object_get(x, "class");
		json_t *idx = json_object_get(x, "index");

		if (!json_is_object(x) || !json_is_string(cls) ||
		    !json_is_number(idx)) {
			vc_add(
			    c, FINDING_ERROR, key,
			    "e.g. {\"index\": 7, "
			    "\"class\": \"whitenoise.middleware."
			    "WhiteNoiseMiddleware\"}",
			    "entry %zu needs a string \"class\" and a number "
			    "\"index\": OMERO.web will not start",
			    i + 1);
			continue;
		}
		if (!strcmp(json_string_value(cls), "django.contrib.sessions."
			    "middleware.SessionMiddleware"))
			session = 1;
	}
	if (!session)
		vc_add(
		    c, FINDING_WARNING, key,
		    "keep {\"index\": 3, \"class\": "
		    "\"django.contrib.sessions.middleware.SessionMiddleware\"}",
		    "django.contrib.sessions.middleware.SessionMiddleware is "
		    "missing: nobody can log in");
}

static void
check_server_list(struct vctx *c, const char *key, const json_t *j)
{
	size_t i;
	json_t *x;

	if (!json_is_array(j) || !json_array_size(j)) {
		vc_add(c, FINDING_ERROR, key,
		       "e.g. '[[\"localhost\", 4064, "
		       "\"omero\"]]'",
		       "expected a non-empty JSON list of "
		       "[host, port, name] entries");
		return;
	}
	json_array_foreach(j, i, x) {
		json_t *host = json_array_get(x, 0);
		json_t *port = json_array_get(x, 1);
		size_t len = json_array_size(x);

		if (!json_is_array(x) || len < 2 || len > 3 ||
		    !json_is_string(host) || !*json_string_value(host) ||
		    (len == 3 && !json_is_string(json_array_get(x, 2)))) {
			vc_add(c, FINDING_ERROR, key,
			       "e.g. [\"omero.example."
			       "org\", 4064, \"omero\"]",
			       "entry %zu is not "
			       "[host, port, name]",
			       i + 1);
			continue;
		}
		if (!json_is_integer(port) || json_integer_value(port) < 1 ||
		    json_integer_value(port) > 65535)
			vc_add(c, FINDING_ERROR, key, NULL,
			       "entry %zu: the port "
			       "must be an integer in 1..65535",
			       i + 1);
	}
}

static void
check_caches_shape(struct vctx *c, const char *key, const json_t *j)
{
	json_t *def = json_object_get(j, "default");

	if (!json_is_object(j)) {
		vc_add(c, FINDING_ERROR, key, NULL,
		       "expected a JSON object "
		       "of cache aliases");
		return;
	}
	if (!json_is_object(def) ||
	    !json_is_string(json_object_get(def, "BACKEND")))
		vc_add(c, FINDING_ERROR, key,
		       "e.g. '{\"default\": {\"BACKEND\": "
		       "\"django_redis.cache.RedisCache\", \"LOCATION\": "
		       "\"redis://127.0.0.1:6379/0\"}}'",
		       "Django needs a \"default\" cache with a \"BACKEND\"");
}

static void
check_csrf_origins(struct vctx *c, const char *key, const json_t *j)
{
	size_t i;
	json_t *x;

	if (!json_is_array(j) || !vc_all_strings(j)) {
		vc_add(c, FINDING_ERROR, key, NULL,
		       "expected a JSON list of origins (strings)");
		return;
	}
	json_array_foreach(j, i, x) {
		const char *s = json_string_value(x);

		if (strstr(s, "://"))
			continue;
		/* Django 4.0 wants a scheme (check 4_0.E001); omero-web
		 * requires Django 4.2 from 5.23.0 */
		if (!c->have_target)
			vc_add(
			    c, FINDING_WARNING, key,
			    "write "
			    "'https://host' instead",
			    "origin '%s' has no scheme: Django 4.0 and later "
			    "(omero-web 5.23.0 and later) refuse to start",
			    shown(key, s));
		else if (vc_target_cmp(c, 5, 23, 0) >= 0)
			vc_add(c, FINDING_ERROR, key,
			       "write 'https://host' "
			       "instead",
			       "origin '%s' has no scheme: the "
			       "Django of this omero-web refuses to start",
			       shown(key, s));
	}
}

static void
check_json(struct vctx *c, const struct schema_prop *p, const char *v)
{
	struct sbuf why = SBUF_INIT;
	const char *key = p->key;
	json_t *j;

	if (cfg_py_json(v, &why) < 0) {
		vc_add(c, FINDING_ERROR, key,
		       "check quotes: JSON strings use "
		       "double quotes",
		       "value is not valid JSON: %s: OMERO.web "
		       "will not start",
		       why.buf);
		sbuf_release(&why);
		return;
	}
	sbuf_release(&why);
	j = vc_jload(v);
	if (!j)
		return;
	if (!strcmp(key, "omero.web.apps")) {
		check_apps(c, key, j);
	} else if (!strcmp(key, "omero.web.middleware")) {
		check_middleware(c, key, j);
	} else if (!strcmp(key, "omero.web.server_list")) {
		check_server_list(c, key, j);
	} else if (!strcmp(key, "omero.web.caches")) {
		check_caches_shape(c, key, j);
	} else if (!strcmp(key, "omero.web.csrf_trusted_origins")) {
		check_csrf_origins(c, key, j);
	} else if (!strcmp(key, "omero.web.allowed_hosts") ||
		   !strcmp(key, "omero.web.nginx_server_extra_config")) {
		expect_list_of_strings(c, key, j, FINDING_ERROR);
	} else if (!strcmp(key, "omero.web.secure_proxy_ssl_header")) {
		if (!json_is_array(j) || !vc_all_strings(j) ||
		    (json_array_size(j) != 0 && json_array_size(j) != 2))
			vc_add(c, FINDING_ERROR, key,
			       "e.g. '[\"HTTP_X_FORWARDED_"
			       "PROTO\", \"https\"]'",
			       "expected [] or a list of "
			       "two strings [HEADER, VALUE]");
		else if (json_array_size(j) == 2 &&
			 strncmp(json_string_value(json_array_get(j, 0)),
				 "HTTP_", 5))
			vc_add(
			    c, FINDING_WARNING, key, NULL,
			    "Django sees "
			    "request headers as HTTP_NAME: '%s' never matches",
			    shown(key,
			          json_string_value(json_array_get(j, 0))));
	} else if (!strcmp(key, "omero.web.django_additional_settings")) {
		size_t i;
		json_t *x;
		int ok = json_is_array(j);

		json_array_foreach(j, i, x)
			ok = ok && json_is_array(x) &&
			     json_array_size(x) == 2 &&
			     json_is_string(json_array_get(x, 0));
		if (!ok)
			vc_add(c, FINDING_ERROR, key,
			       "e.g. '[[\"NAME\", "
			       "\"value\"]]'",
			       "expected a JSON list of "
			       "[NAME, value] pairs: OMERO.web will not start");
	} else if (!strcmp(key, "omero.web.databases")) {
		if (!json_is_object(j))
			vc_add(c, FINDING_ERROR, key, NULL,
			       "expected a JSON object (Django DATABASES)");
	} else if ((p->flags & SCHEMA_F_JSON_LIST) && !json_is_array(j)) {
		vc_add(c, FINDING_WARNING, key, NULL, "expected a JSON list");
	} else if ((p->flags & SCHEMA_F_JSON_OBJECT) && !json_is_object(j)) {
		vc_add(c, FINDING_WARNING, key, NULL, "expected a JSON object");
	}
	json_decref(j);
}

/* The nginx location omero web config derives from a URL path. */
static void
check_url_path(struct vctx *c, const char *key, const char *v,
	       const char *what)
{
	size_t len = strlen(v);

	while (len && v[len - 1] == '/')
		len--;
	if (strstr(v, "://") || !strncmp(v, "//", 2))
		vc_add(c, FINDING_ERROR, key,
		       "serve static files from another "
		       "host without the generated nginx config, or use a path "
		       "such as '/static/'",
		       "%s '%s' is an absolute URL: "
		       "'omero web config nginx' writes an invalid location",
		       what, shown(key, v));
	else if (!len)
		vc_add(c, FINDING_ERROR, key, "use a path such as '/omero'",
		       "%s '%s' leaves an empty nginx location: the generated "
		       "config is broken",
		       what, shown(key, v));
	else if (v[0] != '/')
		vc_add(c, FINDING_ERROR, key, "start it with '/'",
		       "%s '%s' does not start with '/': the nginx location "
		       "never matches",
		       what, shown(key, v));
}

static void
check_samesite(struct vctx *c, const char *key, const char *v)
{
	static const char *const ok[] = { "lax", "strict", "none", NULL };
	size_t i;

	for (i = 0; ok[i]; i++)
		if (!strcasecmp(v, ok[i]))
			return;
	vc_add(c, FINDING_ERROR, key, "use 'Lax', 'Strict' or 'None'",
	       "Django refuses SameSite '%s' when it sets the cookie",
	       shown(key, v));
}

static void
check_serializer(struct vctx *c, const char *key, const char *v)
{
	if (!strstr(v, "PickleSerializer")) {
		if (!strchr(v, '.'))
			vc_add(c, FINDING_ERROR, key, NULL,
			       "'%s' is not a "
			       "dotted path to a serializer class",
			       shown(key, v));
		return;
	}
	if (!c->have_target)
		vc_add(c, FINDING_WARNING, key,
		       "remove the setting (JSON is the "
		       "default since omero-web 5.30.0) and clear the sessions",
		       "PickleSerializer was removed in Django 5.0: omero-web "
		       "5.30.0 and later fail to start with it "
		       "(ome/omero-web#625)");
	else if (vc_target_cmp(c, 5, 30, 0) >= 0)
		vc_add(
		    c, FINDING_ERROR, key,
		    "remove the setting (JSON is the "
		    "default) and clear the sessions",
		    "PickleSerializer is gone from the Django this omero-web "
		    "uses: OMERO.web will not start (ome/omero-web#625)");
	else
		vc_add(c, FINDING_INFO, key, "remove it before upgrading",
		       "PickleSerializer must go when upgrading to omero-web "
		       "5.30.0 or later (ome/omero-web#625)");
}

/* Checks of one value on its own. */
void
vc_check_value(struct vctx *c, const struct schema_prop *p, const char *v)
{
	const char *key = p->key;
	const char *why;

	switch (p->parser) {
	case SCHEMA_P_INT:
	case SCHEMA_P_LEAVE_NONE_UNSET_INT:
		check_int(c, p, v);
		break;
	case SCHEMA_P_BOOL:
		check_bool(c, p, v);
		break;
	case SCHEMA_P_JSON:
		check_json(c, p, v);
		break;
	case SCHEMA_P_SERVER_TYPE:
		if (!in_list(v, server_types))
			vc_add(c, FINDING_ERROR, key, "use 'wsgi-tcp'",
			       "unknown server type '%s' (wsgi-tcp, wsgi or "
			       "development): OMERO.web will not start",
			       shown(key, v));
		else if (!strcmp(v, "wsgi"))
			vc_add(c, FINDING_WARNING, key, NULL,
			       "'wsgi' means "
			       "Apache mod_wsgi: 'omero web start' and owctl "
			       "do not run OMERO.web then");
		else if (!strcmp(v, "development"))
			vc_add(c, FINDING_WARNING, key, NULL,
			       "'development' "
			       "runs Django's development server: not for "
			       "production, no nginx config");
		break;
	case SCHEMA_P_SESSION_ENGINE:
		if (!in_list(v, session_engines))
			vc_add(c, FINDING_ERROR, key,
			       "e.g. 'django.contrib."
			       "sessions.backends.file'",
			       "unknown session "
			       "engine '%s': OMERO.web will not start",
			       shown(key, v));
		else if (!strcmp(v, "omeroweb.filesessionstore"))
			vc_add(c, FINDING_WARNING, key,
			       "use 'django.contrib."
			       "sessions.backends.file'",
			       "omeroweb.filesessionstore is deprecated "
			       "(ome/omero-web#486)");
		break;
	case SCHEMA_P_WORKER_CLASS:
		if (!strcmp(v, "gevent"))
			vc_add(c, FINDING_INFO, key, NULL,
			       "gevent workers need "
			       "the gevent package in OMERO.web's virtualenv");
		else if (strcmp(v, "sync"))
			vc_add(
			    c, FINDING_ERROR, key, "use 'sync' or 'gevent'",
			    "worker class '%s': 'omero web start' accepts only "
			    "sync and gevent",
			    shown(key, v));
		break;
	case SCHEMA_P_TIMEZONE:
		check_timezone(c, key, v);
		break;
	case SCHEMA_P_REGEX:
		why = check_regex(v);
		if (why)
			vc_add(
			    c, FINDING_ERROR, key, NULL,
			    "'%s' is not a Python "
			    "regular expression (%s): OMERO.web will not start",
			    shown(key, v), why);
		break;
	case SCHEMA_P_NORMPATH:
		if (v[0] != '/')
			vc_add(
			    c, FINDING_WARNING, key, "use an absolute path",
			    "'%s' is relative: collectstatic resolves it from "
			    "the omeroweb package directory",
			    shown(key, v));
		break;
	case SCHEMA_P_STR_SLASH:
		check_url_path(c, key, v, "static URL");
		break;
	case SCHEMA_P_STR:
	case SCHEMA_P_IDENTITY:
	case SCHEMA_P_LEAVE_NONE_UNSET:
	case SCHEMA_P_COUNT:
		break;
	}

	if (!strcmp(key, "omero.web.prefix") ||
	    !strcmp(key, "omero.web.force_script_name"))
		check_url_path(c, key, v, "prefix");
	else if (!strcmp(key, "omero.web.logdir") && v[0] != '/')
		vc_add(c, FINDING_WARNING, key, "use an absolute path",
		       "'%s' is relative to the omeroweb package directory",
		       shown(key, v));
	else if (!strcmp(key, "omero.web.session_serializer"))
		check_serializer(c, key, v);
	else if (!strcmp(key, "omero.web.csrf_cookie_samesite") ||
		 !strcmp(key, "omero.web.session_cookie_samesite"))
		check_samesite(c, key, v);
	else if (!strcmp(key, "omero.web.secret_key")) {
		if (!*v)
			vc_add(c, FINDING_ERROR, key,
			       "remove it to use "
			       "$OMERODIR/var/django_secret_key",
			       "an empty secret key: Django refuses to start");
		else
			vc_add(c, FINDING_INFO, key, NULL,
			       "the secret key is "
			       "kept in config.xml in clear text and shown by "
			       "'omero config get'");
	} else if (!strcmp(key, "omero.web.wsgi_args")) {
		if (strpbrk(v, "\"'\\"))
			vc_add(c, FINDING_WARNING, key, NULL,
			       "the arguments are "
			       "split on whitespace without shell quoting: "
			       "quotes reach gunicorn as is");
	} else if (!strcmp(key, "omero.web.x_frame_options") &&
		   strcasecmp(v, "DENY") && strcasecmp(v, "SAMEORIGIN")) {
		vc_add(c, FINDING_WARNING, key, "use 'SAMEORIGIN' or 'DENY'",
		       "browsers ignore X-Frame-Options '%s'", shown(key, v));
	}
}
