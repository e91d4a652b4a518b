/*
 * Virtualenv discovery (see venv.h): a venv is a directory with pyvenv.cfg
 * and bin/python; an OMERO.web venv also has the omeroweb package in its
 * own site-packages.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fs.h"
#include "proc.h"
#include "sbuf.h"
#include "venv/venv.h"
#include "xalloc.h"
#include "banned.h"

const char *
venv_source_text(enum venv_source s)
{
	switch (s) {
	case VENV_FROM_OPTION:
		return "--venv";
	case VENV_FROM_VIRTUAL_ENV:
		return "$VIRTUAL_ENV";
	case VENV_FROM_OMERO:
		return "omero on PATH";
	case VENV_FROM_GUNICORN:
		return "gunicorn on PATH";
	case VENV_FROM_RUNNING:
		return "the running OMERO.web";
	case VENV_FROM_RECORD:
		return "owctl upgrade's record";
	}
	return "?";
}

void
venv_release(struct venv *v)
{
	if (!v)
		return;
	free(v->dir);
	free(v->python);
	free(v->found_via);
	free(v->site_packages);
	free(v->omeroweb_dir);
	free(v->omero_web_version);
	free(v->gunicorn);
	memset(v, 0, sizeof(*v));	/* == VENV_INIT */
}

static char *
join(const char *a, const char *b)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_addf(&sb, "%s/%s", a, b);
	return sbuf_detach(&sb, NULL);
}

/* " 3.11.2" -> 3, 11 */
static int
parse_version(const char *s, int *major, int *minor)
{
	char *end;
	long a, b;

	while (*s == ' ' || *s == '\t')
		s++;
	a = strtol(s, &end, 10);
	if (end == s || *end != '.')
		return -1;
	s = end + 1;
	b = strtol(s, &end, 10);
	if (end == s || a < 0 || a > 99 || b < 0 || b > 999)
		return -1;
	*major = (int)a;
	*minor = (int)b;
	return 0;
}

/* "version = 3.11.2" (or version_info) from pyvenv.cfg. */
static void
read_pyvenv_version(const char *dir, int *major, int *minor)
{
	char *cfg = join(dir, "pyvenv.cfg");
	struct sbuf sb = SBUF_INIT;
	struct err e = ERR_INIT;

	*major = *minor = 0;
	if (fs_read_file(cfg, 64 * 1024, &sb, &e) == 0) {
		char *line = sb.buf;

		while (line && *line) {
			char *nl = strchr(line, '\n');
			char *p = line;
			size_t klen;

			while (*p == ' ' || *p == '\t')
				p++;
			klen = strcspn(p, " \t=");
			if ((klen == 7 && !strncmp(p, "version", 7)) ||
			    (klen == 12 && !strncmp(p, "version_info", 12))) {
				char *eq = strchr(p, '=');

				if (eq && (!nl || eq < nl) &&
				    parse_version(eq + 1, major, minor) == 0)
					break;
				*major = *minor = 0;
			}
			line = nl ? nl + 1 : NULL;
		}
	}
	err_clear(&e);
	sbuf_release(&sb);
	free(cfg);
}

/* The venv's own site-packages: lib/python3.X/site-packages. */
static char *
find_site_packages(const char *dir, int major, int minor)
{
	char *lib = join(dir, "lib");
	char *found = NULL;
	DIR *d;
	struct dirent *de;

	if (major) {
		struct sbuf sb = SBUF_INIT;

		sbuf_addf(&sb, "%s/python%d.%d/site-packages", lib, major,
			  minor);
		if (fs_is_dir(sb.buf)) {
			free(lib);
			return sbuf_detach(&sb, NULL);
		}
		sbuf_release(&sb);
	}
	d = opendir(lib);
	while (!found && d && (de = readdir(d))) {
		struct sbuf sb = SBUF_INIT;

		if (strncmp(de->d_name, "python", 6))
			continue;
		sbuf_addf(&sb, "%s/%s/site-packages", lib, de->d_name);
		if (fs_is_dir(sb.buf))
			found = sbuf_detach(&sb, NULL);
		sbuf_release(&sb);
	}
	if (d)
		closedir(d);
	free(lib);
	return found;
}

/* Version from the omero_web-V.dist-info directory name. */
static char *
omero_web_version(const char *site_packages)
{
	DIR *d = opendir(site_packages);
	struct dirent *de;
	char *v = NULL;

	while (d && (de = readdir(d))) {
		const char *n = de->d_name;
		size_t len = strlen(n);

		if (len <= 10 + 10 || strcmp(n + len - 10, ".dist-info"))
			continue;
		/* Names are normalised to omero_web by pip; accept others. */
		if (strncasecmp(n, "omero_web-", 10) &&
		    strncasecmp(n, "omero-web-", 10) &&
		    strncasecmp(n, "omero.web-", 10))
			continue;
		free(v);
		v = xstrndup(n + 10, len - 10 - 10);
	}
	if (d)
		closedir(d);
	return v;
}

static int
is_executable(const char *path)
{
	return access(path, X_OK) == 0 && !fs_is_dir(path);
}

int
venv_open(const char *dir, enum venv_source source, struct venv *v,
	  struct err *e)
{
	char real[PATH_MAX];
	char *cfg = NULL, *omeroweb_init = NULL;
	int ret = -1;

	*v = (struct venv)VENV_INIT;
	if (!realpath(dir, real))
		return err_errno(e, ERR_WEB_NO_VENV, errno,
				 "cannot use '%s' (%s) as the OMERO.web "
				 "virtualenv", dir, venv_source_text(source));
	v->dir = xstrdup(real);
	v->source = source;
	cfg = join(v->dir, "pyvenv.cfg");
	v->python = join(v->dir, "bin/python");
	if (!fs_exists(cfg) || !is_executable(v->python)) {
		err_set(e, ERR_WEB_NO_VENV, "'%s' (%s) is not a virtualenv "
			"(no pyvenv.cfg or bin/python)", v->dir,
			venv_source_text(source));
		goto out;
	}
	read_pyvenv_version(v->dir, &v->py_major, &v->py_minor);
	v->site_packages = find_site_packages(v->dir, v->py_major,
					      v->py_minor);
	if (!v->site_packages) {
		err_set(e, ERR_WEB_NO_VENV, "virtualenv '%s' (%s) has no "
			"lib/python3.*/site-packages", v->dir,
			venv_source_text(source));
		goto out;
	}
	v->omeroweb_dir = join(v->site_packages, "omeroweb");
	omeroweb_init = join(v->omeroweb_dir, "__init__.py");
	if (!fs_exists(omeroweb_init)) {
		err_set(e, ERR_WEB_NO_VENV, "OMERO.web is not installed in "
			"virtualenv '%s' (%s): no '%s'", v->dir,
			venv_source_text(source), omeroweb_init);
		goto out;
	}
	v->omero_web_version = omero_web_version(v->site_packages);
	{
		char *g = join(v->dir, "bin/gunicorn");

		if (is_executable(g))
			v->gunicorn = g;
		else
			free(g);
	}
	ret = 0;
out:
	free(cfg);
	free(omeroweb_init);
	return ret;
}

/*
 * The venv a program on PATH belongs to: the directory above its bin/
 * (after resolving symlinks), else the venv of its #! interpreter.
 */
static char *
venv_of_program(const char *prog)
{
	char real[PATH_MAX];
	char *slash, *cand, *cfg;
	struct sbuf sb = SBUF_INIT;
	struct err e = ERR_INIT;

	if (realpath(prog, real)) {
		slash = strrchr(real, '/');
		if (slash && slash > real) {
			*slash = '\0';
			slash = strrchr(real, '/');
			if (slash && !strcmp(slash, "/bin")) {
				cand = xstrndup(real, (size_t)(slash - real));
				cfg = join(cand, "pyvenv.cfg");
				if (fs_exists(cfg)) {
					free(cfg);
					return cand;
				}
				free(cfg);
				free(cand);
			}
		}
	}
	/* A script whose #! names a venv's python (e.g. copied elsewhere). */
	if (fs_read_file(prog, 64 * 1024, &sb, &e) < 0) {
		err_clear(&e);
		sbuf_release(&sb);
		return NULL;
	}
	err_clear(&e);
	cand = NULL;
	if (sb.len > 2 && sb.buf[0] == '#' && sb.buf[1] == '!') {
		size_t n = strcspn(sb.buf + 2, " \t\n");
		char *interp = xstrndup(sb.buf + 2, n);
		char *b = strstr(interp, "/bin/");

		if (b && b > interp) {
			cand = xstrndup(interp, (size_t)(b - interp));
			cfg = join(cand, "pyvenv.cfg");
			if (!fs_exists(cfg)) {
				free(cand);
				cand = NULL;
			}
			free(cfg);
		}
		free(interp);
	}
	sbuf_release(&sb);
	return cand;
}

int
venv_find(const char *option, const char *virtual_env, const char *path,
	  struct venv *v, struct err *e)
{
	static const struct {
		const char *name;
		enum venv_source source;
	} progs[] = {
		{ "omero", VENV_FROM_OMERO },
		{ "gunicorn", VENV_FROM_GUNICORN },
	};
	struct sbuf looked = SBUF_INIT;

	*v = (struct venv)VENV_INIT;
	if (option && *option)
		return venv_open(option, VENV_FROM_OPTION, v, e);
	if (virtual_env && *virtual_env)
		return venv_open(virtual_env, VENV_FROM_VIRTUAL_ENV, v, e);
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		char *prog = proc_which(progs[i].name, path ? path :
					"/bin:/usr/bin");
		char *dir;

		if (!prog) {
			sbuf_addf(&looked, "%sno %s on PATH",
				  looked.len ? "; " : "", progs[i].name);
			continue;
		}
		dir = venv_of_program(prog);
		if (!dir) {
			sbuf_addf(&looked, "%s'%s' is not in a virtualenv",
				  looked.len ? "; " : "", prog);
			free(prog);
			continue;
		}
		if (venv_open(dir, progs[i].source, v, e) == 0) {
			v->found_via = prog;
			free(dir);
			sbuf_release(&looked);
			return 0;
		}
		sbuf_addf(&looked, "%s%s", looked.len ? "; " : "", e->msg);
		err_clear(e);
		venv_release(v);
		free(prog);
		free(dir);
	}
	err_set(e, ERR_WEB_NO_VENV, "no OMERO.web virtualenv found (%s): "
		"give --venv DIR, activate the venv ($VIRTUAL_ENV) or put its "
		"bin/ on PATH", looked.buf);
	sbuf_release(&looked);
	return -1;
}

void
venv_gunicorn_argv(const struct venv *v, struct strv *out,
		   int *needs_safepath)
{
	if (v->gunicorn) {
		strv_push(out, v->gunicorn);
		*needs_safepath = 0;
		return;
	}
	strv_push(out, v->python);
	strv_push(out, "-m");
	strv_push(out, "gunicorn");
	*needs_safepath = 1;
}

int
venv_can_reexec(const struct venv *v)
{
	if (v->gunicorn)
		return 1;
	return v->py_major > 3 || (v->py_major == 3 && v->py_minor >= 11);
}
