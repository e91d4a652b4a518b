/*
 * owctl upgrade: plan, run, resume, rollback and status of an OMERO.web
 * upgrade. The work is in lib/upgrade/ (plan.c, steps.c); this file parses
 * argv and prints the plan, each step as it runs and the report.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd-upgrade.h"
#include "upgrade/plan.h"
#include "upgrade/steps.h"
#include "xalloc.h"
#include "banned.h"

enum {
	OPT_TO = 256, OPT_VENV, OPT_FIND_LINKS, OPT_INDEX_URL, OPT_PLUGINS,
	OPT_CLEAR, OPT_NGINX_FILE, OPT_VERIFY_URL, OPT_TIMEOUT, OPT_YES,
	OPT_JSON, OPT_NEW_VENV, OPT_FROM, OPT_ZERO,
};

static const struct option run_opts[] = {
	{ "to", required_argument, NULL, OPT_TO },
	{ "venv", required_argument, NULL, OPT_VENV },
	{ "find-links", required_argument, NULL, OPT_FIND_LINKS },
	{ "index-url", required_argument, NULL, OPT_INDEX_URL },
	{ "plugins", required_argument, NULL, OPT_PLUGINS },
	{ "clear-sessions", required_argument, NULL, OPT_CLEAR },
	{ "nginx-file", required_argument, NULL, OPT_NGINX_FILE },
	{ "verify-url", required_argument, NULL, OPT_VERIFY_URL },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "yes", no_argument, NULL, OPT_YES },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "new-venv", required_argument, NULL, OPT_NEW_VENV },
	{ "from-omerodir", required_argument, NULL, OPT_FROM },
	{ "zero-downtime", no_argument, NULL, OPT_ZERO },
	CLI_OPT_HELP, CLI_OPT_END
};

static char self_path[PATH_MAX];
/* --new-venv made absolute, or --zero-downtime's default: kept for the
 * command's lifetime (upgrade_opts borrows it). */
static char *new_venv_path;

/* dir made absolute against the working directory (new string). */
static char *
absolute(const char *dir)
{
	char cwd[PATH_MAX];
	size_t n;
	char *p;

	if (dir[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return xstrdup(dir);
	n = strlen(cwd) + strlen(dir) + 2;
	p = xmalloc(n);
	snprintf(p, n, "%s/%s", cwd, dir);
	return p;
}

static const char *
self_exe(void)
{
	ssize_t n = readlink("/proc/self/exe", self_path,
			     sizeof(self_path) - 1);

	if (n <= 0)
		return "owctl";
	self_path[n] = '\0';
	return self_path;
}

/* Parse the options of plan and run; returns -1 when parsed, else status. */
static int
parse_run_opts(int argc, char **argv, struct ctx *ctx,
	       struct upgrade_opts *o, int *yes)
{
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "hy", run_opts, ctx);
	int c;

	memset(o, 0, sizeof(*o));
	o->omerodir = ctx->omerodir;
	o->env_profile = getenv("OMERO_CONFIG");
	o->virtual_env = getenv("VIRTUAL_ENV");
	o->path = getenv("PATH");
	o->owctl = self_exe();
	o->timeout = 60;
	*yes = 0;
	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case OPT_TO:
			o->to = optarg;
			break;
		case OPT_VENV:
			o->venv = optarg;
			break;
		case OPT_FIND_LINKS:
			o->find_links = optarg;
			break;
		case OPT_INDEX_URL:
			o->index_url = optarg;
			break;
		case OPT_PLUGINS:
			if (strcmp(optarg, "upgrade") && strcmp(optarg, "keep"))
				return cli_usage(ctx, "argument --plugins: "
						 "invalid choice: '%s' (choose "
						 "from 'upgrade', 'keep')",
						 optarg);
			o->upgrade_plugins = !strcmp(optarg, "upgrade");
			break;
		case OPT_CLEAR:
			if (!strcmp(optarg, "auto"))
				o->clear = UPGRADE_CLEAR_AUTO;
			else if (!strcmp(optarg, "always"))
				o->clear = UPGRADE_CLEAR_ALWAYS;
			else if (!strcmp(optarg, "never"))
				o->clear = UPGRADE_CLEAR_NEVER;
			else
				return cli_usage(ctx, "argument "
						 "--clear-sessions: invalid "
						 "choice: '%s' (choose from "
						 "'auto', 'always', 'never')",
						 optarg);
			break;
		case OPT_NGINX_FILE:
			o->nginx_file = optarg;
			break;
		case OPT_VERIFY_URL:
			o->verify_url = optarg;
			break;
		case OPT_TIMEOUT:
			o->timeout = cli_seconds(optarg);
			if (o->timeout <= 0)
				return cli_usage(ctx, "argument --timeout: "
						 "not a number of seconds: "
						 "'%s'", optarg);
			break;
		case 'y':
		case OPT_YES:
			*yes = 1;
			break;
		case OPT_JSON:
			ctx->json = 1;
			break;
		case OPT_NEW_VENV:
			free(new_venv_path);
			new_venv_path = absolute(optarg);
			o->new_venv = new_venv_path;
			break;
		case OPT_FROM:
			o->from_omerodir = optarg;
			break;
		case OPT_ZERO:
			o->zero_downtime = 1;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	if ((c = cli_operands(ctx, argc, argv, 0, 0)) >= 0)
		return c;
	if (!o->to)
		return cli_usage(ctx, "the following arguments are required: "
				 "--to");
	if (o->find_links && o->index_url)
		return cli_usage(ctx, "--find-links and --index-url exclude "
				 "each other");
	if (o->from_omerodir && ctx->omerodir &&
	    !strcmp(o->from_omerodir, ctx->omerodir))
		return cli_usage(ctx, "--from-omerodir is OMERODIR itself");
	if (o->zero_downtime && !o->new_venv && ctx->omerodir &&
	    *ctx->omerodir) {
		struct err e = ERR_INIT;

		/* a second gunicorn needs its own venv: VENV-VERSION */
		new_venv_path = upgrade_default_new_venv(o, &e);
		if (!new_venv_path)
			return cli_fail(&e);
		o->new_venv = new_venv_path;
	}
	return -1;
}

static void
print_json(json_t *j)
{
	char *txt = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);

	if (txt)
		puts(txt);
	free(txt);
}

static const char *
jstr(json_t *j, const char *k, const char *none)
{
	const char *s = json_string_value(json_object_get(j, k));

	return s ? s : none;
}

static void
print_plan(json_t *plan)
{
	json_t *c, *ses = json_object_get(plan, "sessions");
	size_t i;
	long long ne = json_integer_value(json_object_get(plan, "errors"));
	long long nw = json_integer_value(json_object_get(plan, "warnings"));

	printf("Upgrade plan: omero-web %s -> %s\n", jstr(plan, "from",
	       "(none)"), jstr(plan, "to", "?"));
	printf("  venv      %s (Python %s)\n", jstr(plan, "venv", "?"),
	       jstr(plan, "python", "?"));
	printf("  OMERODIR  %s\n", jstr(plan, "omerodir", "?"));
	if (json_is_object(json_object_get(plan, "new_venv")))
		printf("  new venv  %s (%s)\n", jstr(json_object_get(plan,
		       "new_venv"), "dir", "?"), jstr(plan, "mode", "?"));
	json_array_foreach(json_object_get(plan, "checks"), i, c)
		printf("  %-8s %-15s %s\n", jstr(c, "status", "?"),
		       jstr(c, "name", "?"), jstr(c, "message", ""));
	if (json_is_true(json_object_get(plan, "clear_sessions")))
		printf("Sessions: every session will be cleared (%s)%s%lld "
		       "%s session(s) now\n", jstr(plan, "clear_reason", ""),
		       ses ? ": " : "", ses ? (long long)json_integer_value(
		       json_object_get(ses, "count")) : 0LL,
		       ses ? jstr(ses, "engine", "") : "");
	else
		puts("Sessions: kept");
	fputs("Steps:", stdout);
	json_array_foreach(json_object_get(plan, "steps"), i, c)
		printf("%s%s", i ? ", " : " ", json_string_value(c));
	putchar('\n');
	printf("Preflight: %lld error(s), %lld warning(s)\n", ne, nw);
}

static void
event(void *ud, const char *step, const char *state, const char *msg)
{
	struct ctx *ctx = ud;

	if (ctx->json || ctx->verbosity < 0)
		return;
	if (!strcmp(state, "started"))
		return;
	printf("[%-17s] %s%s%s\n", step, state, msg ? ": " : "",
	       msg ? msg : "");
	fflush(stdout);
}

static void
print_report(struct ctx *ctx, json_t *rep)
{
	json_t *u;

	if (!rep)
		return;
	if (ctx->json) {
		print_json(rep);
		return;
	}
	if (ctx->verbosity < 0)
		return;
	u = json_object_get(rep, "unavailable_seconds");
	printf("Result: %s (omero-web %s -> %s) in %.1f s", jstr(rep, "result",
	       "?"), jstr(rep, "from", "?"), jstr(rep, "to", "?"),
	       json_number_value(json_object_get(rep, "seconds")));
	if (json_is_number(u))
		printf("; OMERO.web unavailable for %.2f s (stop to healthy)",
		       json_number_value(u));
	else if (!strcmp(jstr(rep, "mode", ""), "zero-downtime") &&
		 !strcmp(jstr(rep, "result", ""), "upgraded"))
		printf("; zero downtime: nginx always had a healthy "
		       "upstream");
	printf("\nJournal: %s\nBackup:  %s\n", jstr(rep, "journal", "?"),
	       jstr(rep, "backup", "?"));
	fflush(stdout);
}

static int
upgrade_plan_cmd(int argc, char **argv, struct ctx *ctx)
{
	struct upgrade_opts o;
	struct err e = ERR_INIT;
	json_t *plan;
	int yes, r;

	if ((r = parse_run_opts(argc, argv, ctx, &o, &yes)) >= 0)
		return r;
	plan = upgrade_plan_make(&o, &e);
	if (!plan)
		return cli_fail(&e);
	if (ctx->json)
		print_json(plan);
	else
		print_plan(plan);
	r = json_integer_value(json_object_get(plan, "errors")) ? 1 : 0;
	json_decref(plan);
	if (r) {
		err_set(&e, ERR_UPGRADE_PREFLIGHT, "the "
			"preflight found errors; fix them before 'owctl "
			"upgrade run'");
		return cli_fail(&e);
	}
	return 0;
}

static int
upgrade_run_cmd(int argc, char **argv, struct ctx *ctx)
{
	struct upgrade_opts o;
	struct upgrade_ui ui = { event, ctx };
	struct err e = ERR_INIT;
	json_t *plan, *rep = NULL;
	int yes, r;

	if ((r = parse_run_opts(argc, argv, ctx, &o, &yes)) >= 0)
		return r;
	plan = upgrade_plan_make(&o, &e);
	if (!plan)
		return cli_fail(&e);
	if (!ctx->json && ctx->verbosity >= 0)
		print_plan(plan);
	if (json_integer_value(json_object_get(plan, "errors"))) {
		json_decref(plan);
		err_set(&e, ERR_UPGRADE_PREFLIGHT, "the "
			"preflight found errors; nothing was changed");
		return cli_fail(&e);
	}
	if (json_is_true(json_object_get(plan, "clear_sessions")) && !yes) {
		json_decref(plan);
		err_set(&e, ERR_CONFIRM, "clearing the sessions "
			"logs every user out; run again with --yes");
		return cli_fail(&e);
	}
	fflush(stdout);
	r = upgrade_run(&o, plan, &ui, &rep, &e);
	json_decref(plan);
	print_report(ctx, rep);
	json_decref(rep);
	return r < 0 ? cli_fail(&e) : 0;
}

/* resume and rollback take only --json. */
static int
parse_simple(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "yes", no_argument, NULL, OPT_YES },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "hy", opts, ctx);
	int c;

	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case OPT_JSON:
			ctx->json = 1;
			break;
		case 'y':
		case OPT_YES:
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	return cli_operands(ctx, argc, argv, 0, 0);
}

/* resume and rollback: continue the latest journal, print its report. */
static int
journaled(int argc, char **argv, struct ctx *ctx,
	  int (*action)(const char *, const char *, const struct upgrade_ui *,
			json_t **, struct err *))
{
	struct upgrade_ui ui = { event, ctx };
	struct err e = ERR_INIT;
	json_t *rep = NULL;
	int r;

	if ((r = parse_simple(argc, argv, ctx)) >= 0)
		return r;
	r = action(ctx->omerodir, self_exe(), &ui, &rep, &e);
	print_report(ctx, rep);
	json_decref(rep);
	return r < 0 ? cli_fail(&e) : 0;
}

static int
upgrade_resume_cmd(int argc, char **argv, struct ctx *ctx)
{
	return journaled(argc, argv, ctx, upgrade_resume);
}

static int
upgrade_rollback_cmd(int argc, char **argv, struct ctx *ctx)
{
	return journaled(argc, argv, ctx, upgrade_rollback);
}

static int
upgrade_status_cmd(int argc, char **argv, struct ctx *ctx)
{
	struct err e = ERR_INIT;
	json_t *st, *s;
	size_t i;
	int r;

	if ((r = parse_simple(argc, argv, ctx)) >= 0)
		return r;
	st = upgrade_status(ctx->omerodir, &e);
	if (!st)
		return cli_fail(&e);
	if (ctx->json) {
		print_json(st);
	} else {
		printf("Upgrade %s: omero-web %s -> %s: %s\nJournal: %s\n",
		       jstr(st, "id", "?"), jstr(st, "from", "?"),
		       jstr(st, "to", "?"), jstr(st, "state", "?"),
		       jstr(st, "journal", "?"));
		json_array_foreach(json_object_get(st, "steps"), i, s)
			printf("  %s  %-17s %s\n", jstr(s, "time", ""),
			       jstr(s, "step", "?"), jstr(s, "state", "?"));
	}
	json_decref(st);
	return 0;
}

#define RUN_USAGE "--to VERSION [--venv DIR] [--new-venv DIR] " \
	"[--from-omerodir DIR] [--zero-downtime] [--find-links DIR | " \
	"--index-url URL] [--plugins upgrade|keep] [--clear-sessions " \
	"auto|always|never] [--nginx-file FILE] [--verify-url URL] " \
	"[--timeout S] [--json]"

const struct command upgrade_commands[] = {
	{ "plan", upgrade_plan_cmd, RUN_USAGE,
	  "check everything the upgrade needs and print the plan; changes "
	  "nothing" },
	{ "run", upgrade_run_cmd, RUN_USAGE " [--yes]",
	  "back up, install, validate, regenerate nginx, clear sessions, "
	  "restart, verify; roll back on failure" },
	{ "resume", upgrade_resume_cmd, "[--json]",
	  "continue the latest upgrade from its journal" },
	{ "rollback", upgrade_rollback_cmd, "[--json]",
	  "put the old version (or venv), config, secret key and nginx file "
	  "back" },
	{ "status", upgrade_status_cmd, "[--json]",
	  "show the latest upgrade's journal" },
	{ NULL, NULL, NULL, NULL }
};

const char upgrade_help[] =
	"Each step is written to a journal under\n"
	"$OMERODIR/var/owctl/upgrades/<id>/ and a backup is kept under\n"
	"$OMERODIR/var/owctl/backups/<id>/. A failing step rolls back at once;\n"
	"'resume' continues after an interruption (even kill -9).\n"
	"--new-venv DIR installs into a fresh venv and switches to it\n"
	"(recorded in $OMERODIR/var/owctl/venv); the rollback switches back\n"
	"to the untouched old venv. --zero-downtime (implies --new-venv\n"
	"VENV-VERSION) starts the new version on a spare port, switches nginx\n"
	"with a tested reload, then retires the old gunicorn; it needs\n"
	"--nginx-file. --from-omerodir DIR carries config.xml, the secret key\n"
	"and owctl's nginx state over from another OMERODIR.\n"
	"'man owctl-upgrade' has the details.\n";

int
cmd_upgrade(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = { CLI_OPT_HELP, CLI_OPT_END };
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "+h", opts, ctx);
	int c;

	g.subcommands = upgrade_commands;
	g.help = upgrade_help;
	while ((c = cli_getopt(&g)) >= 0)
		;
	if (c == CLI_OPT_EXIT)
		return g.status;
	return cli_dispatch(upgrade_commands, argc - optind, argv + optind,
			    ctx);
}
