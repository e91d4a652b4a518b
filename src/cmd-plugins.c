/*
 * owctl plugins: list the OMERO.web plugins of a virtualenv, check them
 * against a target omero-web release, and upgrade them with the venv's pip.
 * The work is in lib/venv/plugins.c; this file parses argv and prints.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd-plugins.h"
#include "proc.h"
#include "venv/plugins.h"
#include "venv/venv.h"
#include "xalloc.h"
#include "banned.h"

static struct {
	const char *venv;	/* --venv DIR before the subcommand */
} penv;

/* Everything a subcommand needs: the venv, omero.web.apps, the inventory. */
struct pstate {
	struct venv v;
	struct plugin_config cfg;
	struct plugin_inventory inv;
};

static void
pstate_release(struct pstate *s)
{
	venv_release(&s->v);
	plugin_config_release(&s->cfg);
	plugins_inventory_release(&s->inv);
}

static int
pstate_load(struct pstate *s, struct ctx *ctx, const char *venv_opt,
	    struct err *e)
{
	memset(s, 0, sizeof(*s));
	s->v = (struct venv)VENV_INIT;
	s->cfg = (struct plugin_config)PLUGIN_CONFIG_INIT;
	if (venv_find(venv_opt ? venv_opt : penv.venv, getenv("VIRTUAL_ENV"),
		      getenv("PATH"), &s->v, e) < 0)
		return -1;
	if (plugins_read_config(ctx->omerodir, getenv("OMERO_CONFIG"), &s->cfg,
				e) < 0)
		return -1;
	if (!ctx->omerodir)
		cli_warn(ctx, "OMERODIR is not set: omero.web.apps is not "
			 "known, only installed plugins are shown");
	if (plugins_inventory(&s->inv, s->v.dir, &s->cfg.apps, e) < 0)
		return -1;
	for (size_t i = 0; i < s->inv.warnings.n; i++)
		cli_warn(ctx, "%s", s->inv.warnings.v[i]);
	return 0;
}

static void
print_json(json_t *j)
{
	char *txt = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);

	puts(txt);
	free(txt);
	json_decref(j);
}

static const char *
version_or(const struct plugin_inventory *inv, long i, const char *none)
{
	return i >= 0 ? inv->dists.v[i].version : none;
}

static void
print_inventory(const struct plugin_inventory *inv,
		const struct plugin_config *cfg)
{
	static const char *const state[] = {
		[APP_ENABLED] = "enabled", [APP_INSTALLED] = "installed",
		[APP_MISSING] = "MISSING",
	};

	printf("virtualenv: %s (Python %s)\n", inv->venv,
	       inv->pv.full_version ? inv->pv.full_version :
	       inv->pv.version ? inv->pv.version : "unknown");
	if (cfg->path)
		printf("config: %s (profile '%s')\n", cfg->path, cfg->profile);
	printf("omero-web: %s\nomero-py: %s\nDjango: %s\n",
	       version_or(inv, inv->omero_web, "not installed"),
	       version_or(inv, inv->omero_py, "not installed"),
	       version_or(inv, inv->django, "not installed"));
	printf("\nplugins:%s\n", inv->nplugins ? "" : " none");
	for (size_t i = 0; i < inv->nplugins; i++) {
		const struct dist *d = &inv->dists.v[inv->plugins[i]];

		printf("  %s %s\n", d->name, d->version);
		for (size_t r = 0; r < d->requires.n; r++)
			printf("      requires %s\n", d->requires.v[r]);
		if (d->requires_python)
			printf("      requires Python %s\n",
			       d->requires_python);
	}
	printf("\napps:%s\n", inv->napps ? "" : " none");
	for (size_t a = 0; a < inv->napps; a++) {
		const struct plugin_app *p = &inv->apps[a];

		printf("  %-24s %-9s %s%s%s\n", p->app, state[p->state],
		       p->dist >= 0 ? inv->dists.v[p->dist].name :
		       p->module_path ? p->module_path : "not installed",
		       p->dist >= 0 ? " " : "",
		       p->dist >= 0 ? inv->dists.v[p->dist].version : "");
	}
}

static int
plugins_list(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "venv", required_argument, NULL, 'V' },
		{ "json", no_argument, NULL, 'j' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "h", opts, ctx);
	const char *venv = NULL;
	struct pstate s;
	struct err e = ERR_INIT;
	int c;

	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 'V':
			venv = optarg;
			break;
		case 'j':
			ctx->json = 1;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	if ((c = cli_operands(ctx, argc, argv, 0, 0)) >= 0)
		return c;
	if (pstate_load(&s, ctx, venv, &e) < 0) {
		pstate_release(&s);
		return cli_fail(&e);
	}
	if (ctx->json)
		print_json(plugins_inventory_json(&s.inv, &s.cfg));
	else
		print_inventory(&s.inv, &s.cfg);
	pstate_release(&s);
	return 0;
}

static void
print_report(const struct plugin_inventory *inv, const struct plugin_report *r)
{
	size_t nerr = 0, nwarn = 0;

	printf("target: omero-web %s (%s), installed: %s, Python %s\n",
	       r->target, !strcmp(r->target_from, "option") ? "--target" :
	       !strcmp(r->target_from, "index") ? "newest in the index" :
	       "the installed version",
	       version_or(inv, inv->omero_web, "none"),
	       inv->pv.full_version ? inv->pv.full_version :
	       inv->pv.version ? inv->pv.version : "unknown");
	if (r->index)
		printf("index: %s\n", r->index);
	for (size_t p = 0; p < r->nplugins; p++) {
		const struct plugin_status *ps = &r->plugins[p];
		const struct dist *d = &inv->dists.v[ps->dist];

		if (!p)
			puts("\nplugins:");
		printf("  %-20s %-10s %s", d->name, d->version,
		       ps->compatible == 1 ? "fits" :
		       ps->compatible == 0 ? "BREAKS" : "unknown");
		if (ps->fits && ps->upgrade)
			printf(", %s %s", ps->compatible == 0 ?
			       "upgrade to" : "newer:", ps->fits);
		if (ps->apps.n)
			printf(" (enabled)");
		putchar('\n');
	}
	if (r->nfindings)
		putchar('\n');
	for (size_t i = 0; i < r->nfindings; i++) {
		const struct plugin_finding *f = &r->findings[i];

		nerr += f->severity == PSEV_ERROR;
		nwarn += f->severity == PSEV_WARNING;
		printf("%s: %s: %s\n", plugin_severity_name(f->severity),
		       f->subject, f->message);
		if (f->fix)
			printf("  fix: %s\n", f->fix);
	}
	printf("\n%s: %zu error(s), %zu warning(s)\n", r->will_start ?
	       "OMERO.web should start" : "OMERO.web would NOT start",
	       nerr, nwarn);
}

static int
plugins_check_cmd(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "venv", required_argument, NULL, 'V' },
		{ "target", required_argument, NULL, 't' },
		{ "index", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "h", opts, ctx);
	const char *venv = NULL, *index = NULL;
	struct plugin_check_opts o = { 0 };
	struct pkg_index ix = PKG_INDEX_INIT;
	struct plugin_report r;
	struct pstate s;
	struct err e = ERR_INIT;
	int c, ret;

	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 'V':
			venv = optarg;
			break;
		case 't':
			o.target = optarg;
			break;
		case 'i':
			index = optarg;
			break;
		case 'j':
			ctx->json = 1;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	if ((c = cli_operands(ctx, argc, argv, 0, 0)) >= 0)
		return c;
	if (o.target && !pep440_valid(o.target))
		return cli_usage(ctx, "--target: invalid version '%s'",
				 o.target);
	if (index) {
		if (pkg_index_open(&ix, index, &e) < 0) {
			ret = cli_usage(ctx, "%s", e.msg);
			err_clear(&e);
			return ret;
		}
		o.index = &ix;
	}
	if (pstate_load(&s, ctx, venv, &e) < 0) {
		pstate_release(&s);
		pkg_index_close(&ix);
		return cli_fail(&e);
	}
	if (plugins_check(&s.inv, &o, &r, &e) < 0) {
		plugin_report_release(&r);
		pstate_release(&s);
		pkg_index_close(&ix);
		return cli_fail(&e);
	}
	if (ctx->json)
		print_json(plugin_report_json(&s.inv, &r));
	else
		print_report(&s.inv, &r);
	ret = 0;
	if (!r.will_start) {
		err_set(&e, ERR_PLUGINS_BROKEN, "omero-web %s would not start "
			"with the plugins of '%s'", r.target, s.inv.venv);
		ret = cli_fail(&e);
	}
	plugin_report_release(&r);
	pstate_release(&s);
	pkg_index_close(&ix);
	return ret;
}

static void
print_argv(FILE *f, const struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++) {
		const char *a = sv->v[i];
		int quote = !*a || strpbrk(a, " \t\n'\"\\$`*?[]{}()<>|&;#~");

		if (quote) {
			fputc('\'', f);
			for (; *a; a++)
				if (*a == '\'')
					fputs("'\\''", f);
				else
					fputc(*a, f);
			fputc('\'', f);
		} else {
			fputs(a, f);
		}
		fputc(i + 1 < sv->n ? ' ' : '\n', f);
	}
}

/* One line of what pip changed, or one element of "changes" with --json. */
static void
report_change(json_t *changes, const char *action, const char *name,
	      const char *from, const char *to)
{
	if (!changes) {
		if (from && to)
			printf("%s: %s %s -> %s\n", action, name, from, to);
		else
			printf("%s: %s %s\n", action, name, from ? from : to);
		return;
	}
	json_array_append_new(changes, json_pack("{s:s, s:s, s:o, s:o}",
		"action", action, "name", name,
		"from", from ? json_string(from) : json_null(),
		"to", to ? json_string(to) : json_null()));
}

static int
plugins_upgrade(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "venv", required_argument, NULL, 'V' },
		{ "find-links", required_argument, NULL, 'f' },
		{ "index-url", required_argument, NULL, 'i' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "h", opts, ctx);
	const char *venv = NULL, *links = NULL, *url = NULL;
	struct strv args = STRV_INIT, names = STRV_INIT;
	struct pstate s;
	struct plugin_inventory after;
	struct proc_opts po = { 0 };
	struct proc_result pr;
	struct err e = ERR_INIT;
	struct sbuf pipout = SBUF_INIT;
	json_t *changes = NULL;
	int c, r, dry = 0, ret = 0;

	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 'V':
			venv = optarg;
			break;
		case 'f':
			links = optarg;
			break;
		case 'i':
			url = optarg;
			break;
		case 'n':
			dry = 1;
			break;
		case 'j':
			ctx->json = 1;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	if ((c = cli_operands(ctx, argc, argv, 0, 0)) >= 0)
		return c;
	if (pstate_load(&s, ctx, venv, &e) < 0) {
		pstate_release(&s);
		return cli_fail(&e);
	}
	if (ctx->json)
		changes = json_array();
	plugins_upgrade_names(&s.inv, &names);
	if (!names.n) {
		if (!changes)
			printf("no plugins to upgrade in %s\n", s.inv.venv);
		goto out;
	}
	strv_push(&args, s.inv.pv.python);
	strv_push(&args, "-m");
	strv_push(&args, "pip");
	strv_push(&args, "install");
	strv_push(&args, "--upgrade");
	if (links && !url)
		strv_push(&args, "--no-index");
	if (url) {
		strv_push(&args, "--index-url");
		strv_push(&args, url);
	}
	if (links) {
		strv_push(&args, "--find-links");
		strv_push(&args, links);
	}
	if (dry)
		strv_push(&args, "--dry-run");
	for (size_t i = 0; i < names.n; i++)
		strv_push(&args, names.v[i]);
	/* with --json, stdout is the document: pip's output goes to stderr */
	fflush(stdout);
	fprintf(changes ? stderr : stdout, "%s ", dry ?
		"would run (pip --dry-run):" : "running:");
	print_argv(changes ? stderr : stdout, &args);
	fflush(stdout);
	po.argv = (const char *const *)args.v;
	po.flags = PROC_INHERIT_STDERR;
	if (changes)
		po.out = &pipout;
	else
		po.flags |= PROC_INHERIT_STDOUT;
	r = proc_run(&po, &pr, &e);
	fwrite(pipout.buf, 1, pipout.len, stderr);
	if (r < 0) {
		ret = cli_fail(&e);
		goto out;
	}
	if (pr.status != 0) {
		err_set(&e, ERR_PLUGINS_PIP, "pip failed with status %d",
			pr.status);
		ret = cli_fail(&e);
		goto out;
	}
	if (dry)
		goto out;
	/* what changed */
	if (plugins_inventory(&after, s.inv.venv, &s.cfg.apps, &e) < 0) {
		ret = cli_fail(&e);
		goto out;
	}
	for (size_t i = 0; i < s.inv.dists.n; i++) {
		const struct dist *b = &s.inv.dists.v[i];
		const struct dist *a = dist_list_find(&after.dists, b->key);

		if (!a)
			report_change(changes, "removed", b->name, b->version,
				      NULL);
		else if (strcmp(a->version, b->version))
			report_change(changes, "upgraded", b->name, b->version,
				      a->version);
	}
	for (size_t i = 0; i < after.dists.n; i++)
		if (!dist_list_find(&s.inv.dists, after.dists.v[i].key))
			report_change(changes, "installed",
				      after.dists.v[i].name, NULL,
				      after.dists.v[i].version);
	plugins_inventory_release(&after);
out:
	if (changes && !ret) {
		json_t *j = json_pack("{s:s, s:s, s:b, s:o, s:O}", "schema",
				      "owctl.plugins.upgrade/1", "venv",
				      s.inv.venv ? s.inv.venv : "", "dry_run",
				      dry, "plugins", json_array(), "changes",
				      changes);

		for (size_t i = 0; j && i < names.n; i++)
			json_array_append_new(json_object_get(j, "plugins"),
					      json_string(names.v[i]));
		if (j)
			print_json(j);
	}
	json_decref(changes);
	sbuf_release(&pipout);
	strv_release(&args);
	strv_release(&names);
	pstate_release(&s);
	return ret;
}

const struct command plugins_commands[] = {
	{ "list", plugins_list, "[--venv DIR] [--json]",
	  "omero-web, omero-py, Django, the plugins and omero.web.apps" },
	{ "check", plugins_check_cmd,
	  "[--venv DIR] [--target VERSION] [--index DIR|URL] [--json]",
	  "would the plugins work with omero-web VERSION? (status 84: no)" },
	{ "upgrade", plugins_upgrade,
	  "[--venv DIR] [--find-links DIR] [--index-url URL] [--dry-run] "
	  "[--json]",
	  "upgrade every plugin with the virtualenv's pip" },
	{ NULL, NULL, NULL, NULL }
};

const char plugins_help[] =
	"The virtualenv is --venv DIR, else $VIRTUAL_ENV, else the venv of an\n"
	"'omero' or 'gunicorn' on PATH. omero.web.apps is read from\n"
	"$OMERODIR/etc/grid/config.xml (active profile). A plugin is a\n"
	"distribution that requires omero-web or provides an app listed in\n"
	"omero.web.apps. --index takes a wheelhouse directory or a PEP 503\n"
	"simple index URL. 'man owctl-plugins' has the details.\n";

int
cmd_plugins(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "venv", required_argument, NULL, 'V' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "+h", opts, ctx);
	int c;

	g.subcommands = plugins_commands;
	g.help = plugins_help;
	penv.venv = NULL;
	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 'V':
			penv.venv = optarg;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	return cli_dispatch(plugins_commands, argc - optind, argv + optind,
			    ctx);
}
