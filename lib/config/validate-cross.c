/*
 * Checks that involve several keys of a profile: deprecated keys next to
 * their replacement, the session engine against omero.web.caches and
 * omero.web.databases, debug and public-user settings.
 */
#include <string.h>

#include "validate-int.h"
#include "banned.h"

void
vc_check_deprecated(struct vctx *c, const struct schema_prop *p)
{
	const char *rep = p->replacement;

	if (rep && vc_get(c, rep))
		vc_add(
		    c, FINDING_ERROR, p->key, "remove the deprecated key",
		    "both '%s' and its replacement '%s' are set%s", p->key, rep,
		    (p->flags & SCHEMA_F_HONOURED)
		        ? ": OMERO.web logs an error and uses the replacement"
		        : ": only the replacement counts");
	else if (rep && (p->flags & SCHEMA_F_HONOURED))
		vc_add(c, FINDING_WARNING, p->key, NULL,
		       "'%s' is deprecated: use '%s'", p->key, rep);
	else if (rep)
		vc_add(c, FINDING_WARNING, p->key, NULL,
		       "'%s' is deprecated "
		       "and has no effect: use '%s'",
		       p->key, rep);
	else
		vc_add(
		    c, FINDING_WARNING, p->key,
		    "add django.middleware."
		    "common.BrokenLinkEmailsMiddleware to omero.web.middleware "
		    "and set omero.web.admins",
		    "'%s' is deprecated and has "
		    "no effect",
		    p->key);
}

/* The value of key, or its default when unset (NULL for None). */
static const char *
value_or_default(const struct vctx *c, const char *key)
{
	const char *v = vc_get(c, key);
	const struct schema_prop *p;

	if (v)
		return v;
	p = schema_find(key);
	return p && p->default_kind == SCHEMA_DEF_VALUE ?
	       p->default_value : NULL;
}

static void
check_sessions(struct vctx *c)
{
	const char *key = "omero.web.session_engine";
	const char *engine = value_or_default(c, key);
	const char *caches = value_or_default(c, "omero.web.caches");
	const char *dbs = value_or_default(c, "omero.web.databases");
	const char *backend = NULL;
	long long workers = 5;
	json_t *j = NULL, *d;

	if (!engine)
		return;
	if (!strcmp(engine, "django.contrib.sessions.backends.db") ||
	    !strcmp(engine, "django.contrib.sessions.backends.cached_db")) {
		d = dbs ? vc_jload(dbs) : NULL;
		if (d && json_is_object(d) && !json_object_size(d))
			vc_add(c, FINDING_ERROR, key,
			       "set omero.web.databases "
			       "or use another engine",
			       "the session engine "
			       "'%s' needs a database, but omero.web.databases "
			       "is empty",
			       engine);
		json_decref(d);
	}
	if (strcmp(engine, "django.contrib.sessions.backends.cache"))
		return;
	j = caches ? vc_jload(caches) : NULL;
	d = json_object_get(j, "default");
	if (json_is_object(d))
		backend = json_string_value(json_object_get(d, "BACKEND"));
	if (!backend)
		goto out;
	if (vc_get(c, "omero.web.wsgi_workers"))
		cfg_py_int(vc_get(c, "omero.web.wsgi_workers"), &workers, NULL);
	if (strstr(backend, "DummyCache"))
		vc_add(c, FINDING_ERROR, key,
		       "configure a shared cache such as "
		       "Redis in omero.web.caches",
		       "the cache session engine "
		       "with the dummy cache stores nothing: every session is "
		       "lost at once");
	else if (strstr(backend, "LocMemCache"))
		vc_add(c, workers > 1 ? FINDING_ERROR : FINDING_WARNING, key,
		       "configure a shared cache such as Redis in "
		       "omero.web.caches",
		       "the cache session engine with the "
		       "per-process LocMemCache loses sessions at restart%s",
		       workers > 1 ? " and between gunicorn workers" : "");
	else if (!strcmp(backend, "django.core.cache.backends.redis."
			 "RedisCache") && c->have_target &&
		 vc_target_cmp(c, 5, 23, 0) < 0)
		vc_add(c, FINDING_WARNING, "omero.web.caches",
		       "use django_redis.cache.RedisCache",
		       "Django's own "
		       "RedisCache needs Django 4.0 (omero-web 5.23.0 and "
		       "later)");
out:
	json_decref(j);
}

void
vc_check_cross(struct vctx *c)
{
	const char *v;

	check_sessions(c);
	v = vc_get(c, "omero.web.debug");
	if (v && cfg_py_bool(v))
		vc_add(c, FINDING_WARNING, "omero.web.debug",
		       "set it to "
		       "'false' in production",
		       "debug mode logs sensitive "
		       "information and shows tracebacks to users");

	v = vc_get(c, "omero.web.public.enabled");
	if (v && cfg_py_bool(v) &&
	    (!vc_get(c, "omero.web.public.user") ||
	     !vc_get(c, "omero.web.public.password")))
		vc_add(
		    c, FINDING_WARNING, "omero.web.public.enabled",
		    "set omero.web.public.user and omero.web.public.password",
		    "the public user is enabled without its credentials");
}
