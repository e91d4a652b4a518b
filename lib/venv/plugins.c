/*
 * The plugin inventory of an OMERO.web virtualenv and the check of a
 * target omero-web release against it. Versions and specifiers follow
 * pip's rules for installed distributions (pre-releases accepted, as in
 * `pip check`); candidates from an index follow pip's install rules
 * (final releases first, yanked files skipped).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "config/store.h"
#include "fs.h"
#include "pyjson.h"
#include "venv/plugins.h"
#include "xalloc.h"
#include "banned.h"

#define KEY_OMERO_WEB "omero-web"
#define KEY_OMERO_PY "omero-py"
#define KEY_DJANGO "django"
#define CFG_KEY_APPS "omero.web.apps"

/*
 * Configuration.
 */
void
plugin_config_release(struct plugin_config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->profile);
	strv_release(&c->apps);
	*c = (struct plugin_config)PLUGIN_CONFIG_INIT;
}

int
plugins_read_config(const char *omerodir, const char *env_profile,
		    struct plugin_config *c, struct err *e)
{
	struct cfg_open_opts o = { 0 };
	struct cfg_store s;
	struct sbuf path = SBUF_INIT;
	struct stat st;
	const char *v;
	json_t *j = NULL;
	int ret = -1;

	*c = (struct plugin_config)PLUGIN_CONFIG_INIT;
	if (!omerodir || !*omerodir)
		return 0;
	sbuf_addf(&path, "%s/etc/grid/config.xml", omerodir);
	/* a read of a missing or empty file would create and lock it */
	if (stat(path.buf, &st) < 0 || st.st_size == 0) {
		sbuf_release(&path);
		return 0;
	}
	o.omerodir = omerodir;
	o.env_profile = env_profile;
	if (cfg_open(&s, &o, e) < 0) {
		cfg_close(&s);
		sbuf_release(&path);
		return -1;
	}
	c->path = sbuf_detach(&path, NULL);
	c->profile = xstrdup(cfg_active(&s));
	v = profile_get(cfg_profile(&s), CFG_KEY_APPS);
	if (v) {
		size_t i;
		json_t *x;

		j = pyjson_loads(v, strlen(v), e);
		if (!j) {
			err_prefix(e, "%s in '%s'", CFG_KEY_APPS, c->path);
			goto out;
		}
		if (!json_is_array(j)) {
			err_set(e, ERR_BADVALUE, "%s in '%s' is not a JSON "
				"list", CFG_KEY_APPS, c->path);
			goto out;
		}
		json_array_foreach(j, i, x) {
			if (!json_is_string(x)) {
				err_set(e, ERR_BADVALUE, "%s in '%s' holds "
					"something other than app names",
					CFG_KEY_APPS, c->path);
				goto out;
			}
			strv_push(&c->apps, json_string_value(x));
		}
	}
	ret = 0;
out:
	json_decref(j);
	cfg_close(&s);
	if (ret < 0)
		plugin_config_release(c);
	return ret;
}

/*
 * Inventory.
 */
static void
set_env(struct plugin_inventory *inv, enum pep508_var v, const char *val)
{
	free(inv->env_store[v]);
	inv->env_store[v] = val ? xstrdup(val) : NULL;
	inv->env.values[v] = inv->env_store[v];
}

/* The marker environment of the venv's Python on this machine. */
static void
build_env(struct plugin_inventory *inv)
{
	struct utsname u;
	const struct pyvenv *pv = &inv->pv;

	set_env(inv, PEP508_PYTHON_VERSION, pv->version);
	set_env(inv, PEP508_PYTHON_FULL_VERSION, pv->full_version);
	set_env(inv, PEP508_OS_NAME, "posix");
	set_env(inv, PEP508_EXTRA, "");
	if (pv->cpython) {
		set_env(inv, PEP508_IMPLEMENTATION_NAME, "cpython");
		set_env(inv, PEP508_PLATFORM_PYTHON_IMPLEMENTATION, "CPython");
		set_env(inv, PEP508_IMPLEMENTATION_VERSION, pv->full_version);
	}
	if (uname(&u) == 0) {
		char lower[sizeof(u.sysname)];
		size_t i;

		for (i = 0; u.sysname[i] && i + 1 < sizeof(lower); i++)
			lower[i] = (char)(u.sysname[i] >= 'A' &&
					  u.sysname[i] <= 'Z' ?
					  u.sysname[i] - 'A' + 'a' :
					  u.sysname[i]);
		lower[i] = '\0';
		/* sys.platform is "linux" on Linux, "freebsd14" elsewhere:
		 * only the former is certain */
		if (!strcmp(lower, "linux"))
			set_env(inv, PEP508_SYS_PLATFORM, "linux");
		set_env(inv, PEP508_PLATFORM_SYSTEM, u.sysname);
		set_env(inv, PEP508_PLATFORM_MACHINE, u.machine);
		set_env(inv, PEP508_PLATFORM_RELEASE, u.release);
		set_env(inv, PEP508_PLATFORM_VERSION, u.version);
	}
}

int
plugins_depends_on_omero_web(const struct dist *d)
{
	for (size_t i = 0; i < d->requires.n; i++) {
		struct pep508_req r;
		int hit;

		if (pep508_parse(&r, d->requires.v[i], NULL) < 0)
			continue;
		hit = !strcmp(r.key, KEY_OMERO_WEB);
		pep508_release(&r);
		if (hit)
			return 1;
	}
	return 0;
}

static long
find_dist(const struct dist_list *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].key, key))
			return (long)i;
	return -1;
}

static long
module_provider(const struct dist_list *l, const char *module)
{
	for (size_t i = 0; i < l->n; i++)
		if (strv_find(&l->v[i].top_level, module) >= 0)
			return (long)i;
	return -1;
}

/* A module in a site dir with no distribution metadata: its path. */
static char *
module_on_disk(const struct pyvenv *pv, const char *module)
{
	for (size_t i = 0; i < pv->sites.n; i++)
		for (size_t f = 0; f < 3; f++) {
			struct sbuf sb = SBUF_INIT;

			if (f == 0)
				sbuf_addf(&sb, "%s/%s/__init__.py",
					  pv->sites.v[i], module);
			else if (f == 1)
				sbuf_addf(&sb, "%s/%s.py", pv->sites.v[i],
					  module);
			else
				sbuf_addf(&sb, "%s/%s", pv->sites.v[i],
					  module);
			if ((f < 2 && fs_exists(sb.buf)) ||
			    (f == 2 && fs_is_dir(sb.buf)))
				return sbuf_detach(&sb, NULL);
			sbuf_release(&sb);
		}
	return NULL;
}

static void
add_app(struct plugin_inventory *inv, const char *app, const char *module,
	enum plugin_app_state st, long dist, char *path)
{
	struct plugin_app *a;

	inv->apps = xrealloc(inv->apps, (inv->napps + 1) * sizeof(*inv->apps));
	a = &inv->apps[inv->napps++];
	a->app = xstrdup(app);
	a->module = xstrdup(module);
	a->state = st;
	a->dist = dist;
	a->module_path = path;
}

int
plugins_inventory(struct plugin_inventory *inv, const char *venv_dir,
		  const struct strv *apps, struct err *e)
{
	struct strv modules = STRV_INIT;

	memset(inv, 0, sizeof(*inv));
	inv->omero_web = inv->omero_py = inv->django = -1;
	inv->venv = xstrdup(venv_dir);
	if (pyvenv_open(&inv->pv, venv_dir, e) < 0)
		goto fail;
	build_env(inv);
	for (size_t s = 0; s < inv->pv.sites.n; s++) {
		struct dist_list found = DIST_LIST_INIT;

		if (dist_scan_site(inv->pv.sites.v[s], &found, &inv->warnings,
				   e) < 0)
			goto fail;
		for (size_t i = 0; i < found.n; i++) {
			struct dist *d = &found.v[i];
			long prev;

			if (!d->name || !d->version) {
				strv_pushf(&inv->warnings, "'%s' has no Name "
					   "or Version, ignoring", d->path);
				dist_release(d);
				continue;
			}
			prev = find_dist(&inv->dists, d->key);
			if (prev >= 0) {
				/* two in the venv's own site-packages: a
				 * leftover of a broken install; the venv
				 * overriding the system is normal */
				if (s == 0)
					strv_pushf(&inv->warnings, "'%s' is "
						   "shadowed by '%s', ignoring",
						   d->path,
						   inv->dists.v[prev].path);
				dist_release(d);
				continue;
			}
			XGROW(inv->dists.v, inv->dists.alloc,
			      inv->dists.n + 1);
			inv->dists.v[inv->dists.n++] = *d;
		}
		free(found.v);
	}
	inv->omero_web = find_dist(&inv->dists, KEY_OMERO_WEB);
	inv->omero_py = find_dist(&inv->dists, KEY_OMERO_PY);
	inv->django = find_dist(&inv->dists, KEY_DJANGO);

	/* enabled apps, in config order */
	for (size_t i = 0; apps && i < apps->n; i++) {
		const char *app = apps->v[i];
		size_t ml = strcspn(app, ".");
		char *module = xstrndup(app, ml);
		long d = module_provider(&inv->dists, module);
		char *path = d < 0 ? module_on_disk(&inv->pv, module) : NULL;

		add_app(inv, app, module, d >= 0 || path ? APP_ENABLED :
			APP_MISSING, d, path);
		strv_push(&modules, module);
		free(module);
	}
	/* plugins: depend on omero-web, or provide an enabled app */
	for (size_t i = 0; i < inv->dists.n; i++) {
		const struct dist *d = &inv->dists.v[i];
		int plugin = (long)i != inv->omero_web &&
			     plugins_depends_on_omero_web(d);

		for (size_t a = 0; !plugin && a < inv->napps; a++)
			plugin = inv->apps[a].dist == (long)i;
		if (!plugin)
			continue;
		inv->plugins = xrealloc(inv->plugins, (inv->nplugins + 1) *
					sizeof(*inv->plugins));
		inv->plugins[inv->nplugins++] = (long)i;
		for (size_t t = 0; t < d->top_level.n; t++)
			if (strv_find(&modules, d->top_level.v[t]) < 0) {
				add_app(inv, d->top_level.v[t],
					d->top_level.v[t], APP_INSTALLED,
					(long)i, NULL);
				strv_push(&modules, d->top_level.v[t]);
			}
	}
	strv_release(&modules);
	return 0;
fail:
	strv_release(&modules);
	plugins_inventory_release(inv);
	return -1;
}

void
plugins_inventory_release(struct plugin_inventory *inv)
{
	if (!inv)
		return;
	free(inv->venv);
	pyvenv_release(&inv->pv);
	dist_list_release(&inv->dists);
	strv_release(&inv->warnings);
	free(inv->plugins);
	for (size_t i = 0; i < inv->napps; i++) {
		free(inv->apps[i].app);
		free(inv->apps[i].module);
		free(inv->apps[i].module_path);
	}
	free(inv->apps);
	for (int v = 0; v < PEP508_NVARS; v++)
		free(inv->env_store[v]);
	memset(inv, 0, sizeof(*inv));
}

static json_t *
jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *
jstrv(const struct strv *sv)
{
	json_t *a = json_array();

	for (size_t i = 0; i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

static const char *const app_states[] = {
	[APP_ENABLED] = "enabled", [APP_INSTALLED] = "installed",
	[APP_MISSING] = "missing",
};

static json_t *
dist_version(const struct plugin_inventory *inv, long i)
{
	return i >= 0 ? json_string(inv->dists.v[i].version) : json_null();
}

json_t *
plugins_inventory_json(const struct plugin_inventory *inv,
		       const struct plugin_config *c)
{
	json_t *j = json_object(), *plugins = json_array();
	json_t *apps = json_array();

	json_object_set_new(j, "schema", json_string(PLUGINS_LIST_SCHEMA));
	json_object_set_new(j, "venv", json_string(inv->venv));
	json_object_set_new(j, "python", jstr(inv->pv.full_version ?
					      inv->pv.full_version :
					      inv->pv.version));
	json_object_set_new(j, "sites", jstrv(&inv->pv.sites));
	json_object_set_new(j, "config", c && c->path ?
			    json_pack("{s:s,s:s}", "path", c->path, "profile",
				      c->profile) : json_null());
	json_object_set_new(j, "core", json_pack("{s:o,s:o,s:o}",
		"omero-web", dist_version(inv, inv->omero_web),
		"omero-py", dist_version(inv, inv->omero_py),
		"django", dist_version(inv, inv->django)));
	for (size_t i = 0; i < inv->nplugins; i++) {
		const struct dist *d = &inv->dists.v[inv->plugins[i]];
		json_t *mods = json_array();

		for (size_t a = 0; a < inv->napps; a++)
			if (inv->apps[a].dist == inv->plugins[i])
				json_array_append_new(mods, json_string(
					inv->apps[a].app));
		json_array_append_new(plugins, json_pack(
			"{s:s,s:s,s:s,s:o,s:o,s:o,s:b,s:o}",
			"name", d->name, "version", d->version,
			"location", d->site,
			"requires_python", jstr(d->requires_python),
			"requires", jstrv(&d->requires),
			"top_level", jstrv(&d->top_level),
			"depends_on_omero_web",
			plugins_depends_on_omero_web(d), "apps", mods));
	}
	json_object_set_new(j, "plugins", plugins);
	for (size_t a = 0; a < inv->napps; a++) {
		const struct plugin_app *p = &inv->apps[a];

		json_array_append_new(apps, json_pack("{s:s,s:s,s:s,s:o,s:o}",
			"app", p->app, "module", p->module,
			"state", app_states[p->state],
			"distribution", p->dist >= 0 ?
			json_string(inv->dists.v[p->dist].name) : json_null(),
			"path", jstr(p->module_path)));
	}
	json_object_set_new(j, "apps", apps);
	json_object_set_new(j, "warnings", jstrv(&inv->warnings));
	return j;
}

/*
 * Check.
 */
const char *
plugin_severity_name(enum plugin_severity s)
{
	return s == PSEV_ERROR ? "error" : s == PSEV_WARNING ? "warning"
							      : "info";
}

static void
finding(struct plugin_report *r, enum plugin_severity sev, const char *kind,
	const char *subject, char *fix, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* Record a finding; takes fix (may be NULL). */
static void
finding(struct plugin_report *r, enum plugin_severity sev, const char *kind,
	const char *subject, char *fix, const char *fmt, ...)
{
	struct plugin_finding *f;
	struct sbuf msg = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	XGROW(r->findings, r->afindings, r->nfindings + 1);
	f = &r->findings[r->nfindings++];
	f->severity = sev;
	f->kind = xstrdup(kind);
	f->subject = xstrdup(subject);
	f->message = sbuf_detach(&msg, NULL);
	f->fix = fix;
	if (sev == PSEV_ERROR)
		r->will_start = 0;
}

static char *
fmt_dup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
fmt_dup(const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	return sbuf_detach(&sb, NULL);
}

/* The version of key in the target environment, or NULL. */
static const char *
target_version(const struct plugin_report *r, const char *key)
{
	long i = strv_find(&r->versions_keys, key);

	return i >= 0 ? r->versions.v[i] : NULL;
}

static void
set_target_version(struct plugin_report *r, const char *key,
		   const char *version)
{
	long i = strv_find(&r->versions_keys, key);

	if (i >= 0) {
		free(r->versions.v[i]);
		r->versions.v[i] = xstrdup(version);
		return;
	}
	strv_push(&r->versions_keys, key);
	strv_push(&r->versions, version);
}

/* Is version in specs (pip's installed-distribution rule: pre-releases
 * accepted)? 1, 0, -1 when either does not parse. */
static int
version_in(const char *version, const char *specs, int prereleases)
{
	struct pep440_specset ss;
	struct pep440_version v = PEP440_VERSION_INIT;
	int r = -1;

	if (pep440_specset_parse(&ss, specs, NULL) < 0)
		return -1;
	if (pep440_parse(&v, version, NULL) == 0)
		r = pep440_specset_contains(&ss, &v, prereleases, NULL);
	pep440_release(&v);
	pep440_specset_release(&ss);
	return r;
}

static const char *
python_version(const struct plugin_inventory *inv)
{
	return inv->pv.full_version ? inv->pv.full_version : inv->pv.version;
}

/*
 * Evaluate one Requires-Dist against the target environment into st.
 * Returns st->satisfied, or 2 when its marker excludes it.
 */
static int
eval_requirement(const struct plugin_inventory *inv,
		 const struct plugin_report *r, const char *req,
		 struct plugin_req_status *st)
{
	struct pep508_req pr;
	const char *tv;

	memset(st, 0, sizeof(*st));
	st->requirement = xstrdup(req);
	st->satisfied = -1;
	st->marker = 1;
	if (pep508_parse(&pr, req, NULL) < 0)
		return -1;
	st->name = xstrdup(pr.key);
	st->marker = pep508_marker_eval(&pr, &inv->env, NULL);
	if (st->marker == 0) {
		pep508_release(&pr);
		return 2;
	}
	tv = target_version(r, pr.key);
	if (!tv) {
		st->satisfied = 0;
	} else {
		struct pep440_version v = PEP440_VERSION_INIT;

		st->target = xstrdup(tv);
		if (pep440_parse(&v, tv, NULL) == 0)
			st->satisfied = pep440_specset_contains(&pr.spec, &v,
								1, NULL);
		if (st->satisfied < 0)
			st->satisfied = -1;
		pep440_release(&v);
	}
	pep508_release(&pr);
	return st->satisfied;
}

static void
req_status_release(struct plugin_req_status *st)
{
	free(st->requirement);
	free(st->name);
	free(st->target);
}

/*
 * Does dist d fit the target environment (Requires-Python and every
 * applicable Requires-Dist)? 1, 0, -1 unknown.
 */
static int
dist_fits(const struct plugin_inventory *inv, const struct plugin_report *r,
	  const struct dist *d)
{
	int fits = 1;

	if (d->requires_python && python_version(inv) &&
	    version_in(python_version(inv), d->requires_python, 1) == 0)
		return 0;
	for (size_t i = 0; i < d->requires.n; i++) {
		struct plugin_req_status st;
		int s = eval_requirement(inv, r, d->requires.v[i], &st);

		req_status_release(&st);
		if (s == 0)
			return 0;
		if (s < 0)
			fits = -1;
	}
	return fits;
}

/* Can pip pick file f for this Python (data-requires-python)? */
static int
file_python_ok(const struct plugin_inventory *inv, const struct pkg_file *f)
{
	return !f->requires_python || !python_version(inv) ||
	       version_in(python_version(inv), f->requires_python, 1) != 0;
}

/*
 * The newest file of project in the index that fits the target, as pip
 * would choose among candidates: non-yanked, final releases unless
 * allow_pre, at most max wheels read. Returns its version (caller frees),
 * or NULL. *checked counts the candidates read.
 */
static char *
newest_fitting(const struct plugin_inventory *inv,
	       const struct plugin_report *r, struct pkg_index *ix,
	       const char *project, int allow_pre, size_t max,
	       struct err *e, int *failed)
{
	struct pkg_files files = PKG_FILES_INIT;
	char *found = NULL;
	size_t read = 0;

	*failed = 0;
	if (pkg_index_files(ix, project, &files, e) < 0) {
		*failed = 1;
		return NULL;
	}
	for (size_t i = files.n; i-- > 0 && !found && read < max;) {
		const struct pkg_file *f = &files.v[i];
		struct dist d;
		struct err sub = ERR_INIT;

		if (f->yanked || (!allow_pre && pep440_is_prerelease(&f->v)) ||
		    !file_python_ok(inv, f))
			continue;
		read++;
		if (pkg_index_dist(ix, f, &d, &sub) < 0) {
			err_clear(&sub);
			continue;
		}
		if (dist_fits(inv, r, &d) == 1)
			found = xstrdup(f->wn.version);
		dist_release(&d);
	}
	pkg_files_release(&files);
	return found;
}

/* Choose the target omero-web version and load its metadata. */
static int
pick_target(const struct plugin_inventory *inv,
	    const struct plugin_check_opts *o, struct plugin_report *r,
	    struct dist *target, int *have_target, struct err *e)
{
	struct pkg_files files = PKG_FILES_INIT;
	const struct dist *installed = inv->omero_web >= 0 ?
		&inv->dists.v[inv->omero_web] : NULL;
	struct pep440_version tv = PEP440_VERSION_INIT;
	int ret = -1;

	*have_target = 0;
	if (o->index && pkg_index_files(o->index, KEY_OMERO_WEB, &files, e) < 0)
		return -1;
	if (o->target) {
		if (pep440_parse(&tv, o->target, e) < 0) {
			e->code = ERR_USAGE;
			goto out;
		}
		r->target = xstrdup(o->target);
		r->target_from = "option";
	} else {
		size_t max = o->max_candidates ? o->max_candidates : 10;

		/* pip's choice: the newest final release whose
		 * Requires-Python (index attribute, else METADATA) fits */
		for (size_t i = files.n; i-- > 0 && max > 0;) {
			const struct pkg_file *f = &files.v[i];
			const char *py = python_version(inv);

			if (f->yanked || pep440_is_prerelease(&f->v) ||
			    !file_python_ok(inv, f))
				continue;
			max--;
			if (pkg_index_dist(o->index, f, target, e) < 0)
				goto out;
			if (target->requires_python && py &&
			    version_in(py, target->requires_python, 1) == 0) {
				dist_release(target);
				continue;
			}
			*have_target = 1;
			r->target = xstrdup(f->wn.version);
			r->target_from = "index";
			break;
		}
		if (!r->target && installed) {
			r->target = xstrdup(installed->version);
			r->target_from = "installed";
		}
		if (!r->target) {
			err_set(e, ERR_USAGE, "omero-web is not installed in "
				"'%s': give --target VERSION (and --index)",
				inv->venv);
			goto out;
		}
		pep440_parse(&tv, r->target, NULL);
	}
	if (*have_target) {
		r->target_requires_python = target->requires_python ?
			xstrdup(target->requires_python) : NULL;
		for (size_t k = 0; k < target->requires.n; k++)
			strv_push(&r->target_requires, target->requires.v[k]);
		r->target_metadata = 1;
	}
	/* its metadata: the installed one if it is the target, else a wheel */
	if (installed && !r->target_metadata) {
		struct pep440_version iv = PEP440_VERSION_INIT;

		if (pep440_parse(&iv, installed->version, NULL) == 0 &&
		    tv.nrel && pep440_cmp(&iv, &tv) == 0) {
			r->target_requires_python = installed->requires_python ?
				xstrdup(installed->requires_python) : NULL;
			for (size_t i = 0; i < installed->requires.n; i++)
				strv_push(&r->target_requires,
					  installed->requires.v[i]);
			r->target_metadata = 1;
		}
		pep440_release(&iv);
	}
	for (size_t i = files.n; !r->target_metadata && i-- > 0;) {
		const struct pkg_file *f = &files.v[i];

		if (!tv.nrel || pep440_cmp(&f->v, &tv) != 0)
			continue;
		if (pkg_index_dist(o->index, f, target, e) < 0)
			goto out;
		*have_target = 1;
		r->target_requires_python = target->requires_python ?
			xstrdup(target->requires_python) : NULL;
		for (size_t k = 0; k < target->requires.n; k++)
			strv_push(&r->target_requires, target->requires.v[k]);
		r->target_metadata = 1;
	}
	ret = 0;
out:
	pep440_release(&tv);
	pkg_files_release(&files);
	return ret;
}

/* Step 1: the target itself: its Python and its own requirements. */
static int
check_target(const struct plugin_inventory *inv,
	     const struct plugin_check_opts *o, struct plugin_report *r,
	     struct err *e)
{
	const char *py = python_version(inv);

	if (!r->target_metadata) {
		if (o->index)
			finding(r, PSEV_ERROR, "target-not-in-index",
				KEY_OMERO_WEB, fmt_dup("add omero-web %s to "
				"'%s' or choose another --target", r->target,
				o->index->where), "omero-web %s is not in the "
				"index: pip could not install it", r->target);
		else
			finding(r, PSEV_WARNING, "target-unknown",
				KEY_OMERO_WEB, fmt_dup("give --index DIR|URL "
				"holding omero-web %s", r->target),
				"the requirements of omero-web %s are unknown "
				"without an index; only the plugins' own "
				"requirements were checked", r->target);
		return 0;
	}
	if (r->target_requires_python && py &&
	    version_in(py, r->target_requires_python, 1) == 0)
		finding(r, PSEV_ERROR, "python-unsupported", KEY_OMERO_WEB,
			fmt_dup("create the virtualenv with a Python that "
				"matches '%s'", r->target_requires_python),
			"omero-web %s requires Python '%s', the virtualenv "
			"has %s", r->target, r->target_requires_python, py);
	for (size_t i = 0; i < r->target_requires.n; i++) {
		const char *req = r->target_requires.v[i];
		struct plugin_req_status st;
		int s = eval_requirement(inv, r, req, &st);
		char *best;

		if (s == 1 || s == 2) {
			req_status_release(&st);
			continue;
		}
		if (s < 0) {
			finding(r, PSEV_WARNING, "requirement-unknown",
				KEY_OMERO_WEB, NULL, "cannot evaluate "
				"omero-web %s's requirement '%s'", r->target,
				req);
			req_status_release(&st);
			continue;
		}
		/* not met by what is installed: can pip upgrade it? */
		best = NULL;
		if (o->index && st.name) {
			struct pep508_req pr;

			if (pep508_parse(&pr, req, NULL) == 0) {
				struct pkg_files files = PKG_FILES_INIT;

				if (pkg_index_files(o->index, pr.key, &files,
						    e) < 0) {
					pep508_release(&pr);
					req_status_release(&st);
					return -1;
				}
				for (size_t k = files.n; !best && k-- > 0;) {
					const struct pkg_file *f = &files.v[k];

					if (!f->yanked &&
					    !pep440_is_prerelease(&f->v) &&
					    file_python_ok(inv, f) &&
					    pep440_specset_contains(&pr.spec,
						&f->v, -1, NULL) == 1)
						best = xstrdup(f->wn.version);
				}
				pkg_files_release(&files);
				pep508_release(&pr);
			}
		}
		if (best) {
			finding(r, PSEV_INFO, "dependency-upgrade", st.name,
				NULL, "omero-web %s requires '%s': pip will "
				"install %s %s (now: %s)", r->target, req,
				st.name, best, st.target ? st.target :
				"not installed");
			set_target_version(r, st.name, best);
			free(best);
		} else {
			finding(r, PSEV_ERROR, "dependency-unsatisfiable",
				st.name, fmt_dup("make a version of %s that "
				"matches '%s' available (--index)", st.name,
				req), "omero-web %s requires '%s', but %s is "
				"%s%s%s", r->target, req, st.name,
				st.target ? "installed in version " :
				"not installed",
				st.target ? st.target : "",
				o->index ? " and the index has no fitting "
				"version" : "");
		}
		req_status_release(&st);
	}
	return 0;
}

/* Step 2: every plugin. */
static int
check_plugins(const struct plugin_inventory *inv,
	      const struct plugin_check_opts *o, struct plugin_report *r,
	      struct err *e)
{
	size_t max = o->max_candidates ? o->max_candidates : 10;
	const char *py = python_version(inv);

	r->plugins = xcalloc(inv->nplugins ? inv->nplugins : 1,
			     sizeof(*r->plugins));
	for (size_t p = 0; p < inv->nplugins; p++) {
		struct plugin_status *ps = &r->plugins[r->nplugins++];
		const struct dist *d = &inv->dists.v[inv->plugins[p]];
		struct pep440_version iv = PEP440_VERSION_INIT;
		int enabled, failed = 0;
		struct sbuf broken = SBUF_INIT;

		ps->dist = inv->plugins[p];
		ps->compatible = 1;
		for (size_t a = 0; a < inv->napps; a++)
			if (inv->apps[a].dist == ps->dist &&
			    inv->apps[a].state == APP_ENABLED)
				strv_push(&ps->apps, inv->apps[a].app);
		enabled = ps->apps.n > 0;
		if (d->requires_python && py &&
		    version_in(py, d->requires_python, 1) == 0) {
			ps->compatible = 0;
			sbuf_addf(&broken, "Python %s (needs '%s')", py,
				  d->requires_python);
		}
		ps->reqs = xcalloc(d->requires.n ? d->requires.n : 1,
				   sizeof(*ps->reqs));
		for (size_t i = 0; i < d->requires.n; i++) {
			struct plugin_req_status *st = &ps->reqs[ps->nreqs++];
			int s = eval_requirement(inv, r, d->requires.v[i], st);

			if (s == 0) {
				ps->compatible = 0;
				sbuf_addf(&broken, "%s'%s' (%s %s)",
					  broken.len ? ", " : "",
					  st->requirement, st->name,
					  st->target ? st->target :
					  "not installed");
			} else if (s < 0 && ps->compatible == 1) {
				ps->compatible = -1;
			}
			if (st->marker < 0)
				finding(r, PSEV_WARNING, "marker-unknown",
					d->name, NULL, "cannot evaluate the "
					"marker of %s's requirement '%s'; it "
					"was checked as if it applied",
					d->name, st->requirement);
		}
		if (o->index) {
			pep440_parse(&iv, d->version, NULL);
			ps->fits = newest_fitting(inv, r, o->index, d->name,
						  pep440_is_prerelease(&iv),
						  max, e, &failed);
			if (failed) {
				sbuf_release(&broken);
				pep440_release(&iv);
				return -1;
			}
			if (ps->fits) {
				struct pep440_version fv =
					PEP440_VERSION_INIT;

				if (pep440_parse(&fv, ps->fits, NULL) == 0 &&
				    iv.nrel && pep440_cmp(&fv, &iv) > 0)
					ps->upgrade = 1;
				pep440_release(&fv);
			}
		}
		pep440_release(&iv);
		if (ps->compatible == 0) {
			char *fix = ps->fits && ps->upgrade ?
				fmt_dup("upgrade %s to %s (owctl plugins "
					"upgrade)", d->name, ps->fits) :
				o->index ? enabled ?
				fmt_dup("no version of %s in the index fits "
					"omero-web %s: remove %s from "
					"omero.web.apps or wait for a release",
					d->name, r->target, ps->apps.v[0]) :
				fmt_dup("no version of %s in the index fits "
					"omero-web %s", d->name, r->target) :
				fmt_dup("give --index DIR|URL to look for a "
					"version of %s that fits", d->name);

			finding(r, enabled ? PSEV_ERROR : PSEV_WARNING,
				"plugin-incompatible", d->name, fix,
				"%s %s%s does not fit omero-web %s: %s",
				d->name, d->version, enabled ?
				" (enabled in omero.web.apps)" : "",
				r->target, broken.buf);
		} else if (ps->upgrade) {
			finding(r, PSEV_INFO, "plugin-upgrade-available",
				d->name, fmt_dup("owctl plugins upgrade"),
				"%s %s fits omero-web %s; %s is available and "
				"fits too", d->name, d->version, r->target,
				ps->fits);
		}
		sbuf_release(&broken);
	}
	return 0;
}

/* Step 3: apps enabled but not installed. */
static int
check_apps(const struct plugin_inventory *inv,
	   const struct plugin_check_opts *o, struct plugin_report *r,
	   struct err *e)
{
	size_t max = o->max_candidates ? o->max_candidates : 10;

	for (size_t a = 0; a < inv->napps; a++) {
		const struct plugin_app *app = &inv->apps[a];
		char *fits = NULL, *project;
		int failed = 0;

		if (app->state == APP_ENABLED && app->dist < 0) {
			finding(r, PSEV_WARNING, "app-without-metadata",
				app->app, NULL, "app '%s' is importable from "
				"'%s' but belongs to no installed "
				"distribution; it cannot be checked",
				app->app, app->module_path);
			continue;
		}
		if (app->state != APP_MISSING)
			continue;
		/* usual naming: module omero_figure, project omero-figure */
		project = pep508_normalize_name(app->module);
		if (o->index) {
			fits = newest_fitting(inv, r, o->index, project, 0, max,
					      e, &failed);
			if (failed) {
				free(project);
				return -1;
			}
		}
		finding(r, PSEV_ERROR, "app-missing", app->app,
			fits ? fmt_dup("pip install '%s==%s' into the "
				       "virtualenv, or remove '%s' from "
				       "omero.web.apps", project, fits,
				       app->app) :
			fmt_dup("install the distribution providing '%s', or "
				"remove it from omero.web.apps", app->module),
			"app '%s' is in omero.web.apps but module '%s' is not "
			"installed: OMERO.web will not start", app->app,
			app->module);
		free(fits);
		free(project);
	}
	return 0;
}

int
plugins_check(const struct plugin_inventory *inv,
	      const struct plugin_check_opts *o, struct plugin_report *r,
	      struct err *e)
{
	struct dist target;
	int have_target = 0, ret = -1;

	memset(r, 0, sizeof(*r));
	memset(&target, 0, sizeof(target));
	r->will_start = 1;
	if (o->index)
		r->index = xstrdup(o->index->where);
	/* the target environment starts as what is installed */
	for (size_t i = 0; i < inv->dists.n; i++)
		set_target_version(r, inv->dists.v[i].key,
				   inv->dists.v[i].version);
	if (pick_target(inv, o, r, &target, &have_target, e) < 0)
		goto out;
	if (o->index && !o->target && strcmp(r->target_from, "index"))
		finding(r, PSEV_WARNING, "index-without-omero-web",
			KEY_OMERO_WEB, fmt_dup("check the index, or give "
			"--target VERSION"), "the index '%s' offers no "
			"omero-web wheel for this Python; checking the "
			"installed %s", o->index->where, r->target);
	set_target_version(r, KEY_OMERO_WEB, r->target);
	if (check_target(inv, o, r, e) < 0 || check_plugins(inv, o, r, e) < 0 ||
	    check_apps(inv, o, r, e) < 0)
		goto out;
	ret = 0;
out:
	if (have_target)
		dist_release(&target);
	return ret;
}

void
plugin_report_release(struct plugin_report *r)
{
	if (!r)
		return;
	free(r->target);
	free(r->target_requires_python);
	strv_release(&r->target_requires);
	free(r->index);
	strv_release(&r->versions_keys);
	strv_release(&r->versions);
	for (size_t p = 0; p < r->nplugins; p++) {
		struct plugin_status *ps = &r->plugins[p];

		strv_release(&ps->apps);
		for (size_t i = 0; i < ps->nreqs; i++)
			req_status_release(&ps->reqs[i]);
		free(ps->reqs);
		free(ps->fits);
	}
	free(r->plugins);
	for (size_t i = 0; i < r->nfindings; i++) {
		free(r->findings[i].kind);
		free(r->findings[i].subject);
		free(r->findings[i].message);
		free(r->findings[i].fix);
	}
	free(r->findings);
	memset(r, 0, sizeof(*r));
}

static json_t *
tri(int v)
{
	return v < 0 ? json_null() : json_boolean(v);
}

json_t *
plugin_report_json(const struct plugin_inventory *inv,
		   const struct plugin_report *r)
{
	json_t *j = json_object(), *plugins = json_array(), *fs = json_array();
	json_t *env = json_object();

	json_object_set_new(j, "schema", json_string(PLUGINS_CHECK_SCHEMA));
	json_object_set_new(j, "venv", json_string(inv->venv));
	json_object_set_new(j, "python", jstr(python_version(inv)));
	json_object_set_new(j, "installed", json_pack("{s:o,s:o,s:o}",
		"omero-web", dist_version(inv, inv->omero_web),
		"omero-py", dist_version(inv, inv->omero_py),
		"django", dist_version(inv, inv->django)));
	json_object_set_new(j, "target", json_pack("{s:s,s:s,s:b,s:o,s:o}",
		"omero-web", r->target, "from", r->target_from,
		"metadata", r->target_metadata,
		"requires_python", jstr(r->target_requires_python),
		"requires", jstrv(&r->target_requires)));
	json_object_set_new(j, "index", jstr(r->index));
	/* the versions that mattered: core ones and every name required */
	{
		struct strv keys = STRV_INIT;

		strv_push(&keys, KEY_OMERO_WEB);
		strv_push(&keys, KEY_OMERO_PY);
		strv_push(&keys, KEY_DJANGO);
		for (size_t i = 0; i < r->target_requires.n; i++) {
			struct pep508_req pr;

			if (pep508_parse(&pr, r->target_requires.v[i],
					 NULL) == 0) {
				if (strv_find(&keys, pr.key) < 0)
					strv_push(&keys, pr.key);
				pep508_release(&pr);
			}
		}
		for (size_t p = 0; p < r->nplugins; p++)
			for (size_t i = 0; i < r->plugins[p].nreqs; i++) {
				const char *k = r->plugins[p].reqs[i].name;

				if (k && strv_find(&keys, k) < 0)
					strv_push(&keys, k);
			}
		for (size_t i = 0; i < keys.n; i++) {
			const char *v = target_version(r, keys.v[i]);

			json_object_set_new(env, keys.v[i], jstr(v));
		}
		strv_release(&keys);
	}
	json_object_set_new(j, "target_versions", env);
	json_object_set_new(j, "will_start", json_boolean(r->will_start));
	for (size_t p = 0; p < r->nplugins; p++) {
		const struct plugin_status *ps = &r->plugins[p];
		const struct dist *d = &inv->dists.v[ps->dist];
		json_t *reqs = json_array();

		for (size_t i = 0; i < ps->nreqs; i++) {
			const struct plugin_req_status *st = &ps->reqs[i];

			json_array_append_new(reqs, json_pack(
				"{s:s,s:o,s:o,s:o,s:o}",
				"requirement", st->requirement,
				"name", jstr(st->name),
				"applies", tri(st->marker),
				"target", jstr(st->target),
				"satisfied", st->marker == 0 ? json_null() :
				tri(st->satisfied)));
		}
		json_array_append_new(plugins, json_pack(
			"{s:s,s:s,s:o,s:b,s:o,s:o,s:o,s:b}",
			"name", d->name, "installed", d->version,
			"apps", jstrv(&ps->apps), "enabled", ps->apps.n > 0,
			"compatible", tri(ps->compatible),
			"requirements", reqs, "fits", jstr(ps->fits),
			"upgrade", ps->upgrade));
	}
	json_object_set_new(j, "plugins", plugins);
	for (size_t i = 0; i < r->nfindings; i++) {
		const struct plugin_finding *f = &r->findings[i];

		json_array_append_new(fs, json_pack("{s:s,s:s,s:s,s:s,s:o}",
			"severity", plugin_severity_name(f->severity),
			"kind", f->kind, "subject", f->subject,
			"message", f->message, "fix", jstr(f->fix)));
	}
	json_object_set_new(j, "findings", fs);
	return j;
}

void
plugins_upgrade_names(const struct plugin_inventory *inv, struct strv *out)
{
	for (size_t i = 0; i < inv->nplugins; i++)
		strv_push(out, inv->dists.v[inv->plugins[i]].name);
}
