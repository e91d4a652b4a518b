/*
 * Dispatch, usage errors and the error sink. The exit-status table is here
 * and nowhere else.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "banned.h"

static const struct {
	int status;
	int raw;	/* message printed as is (omero-py compatible text) */
} err_table[ERR_CODE_MAX] = {
	[ERR_NONE] = { 0, 1 },
	[ERR_FAIL] = { 1, 0 },
	[ERR_USAGE] = { 2, 0 },
	[ERR_IO] = { 74, 0 },
	[ERR_BADVALUE] = { 65, 0 },
	[ERR_CONFIRM] = { 1, 0 },
	[ERR_CFG_LOCK] = { 112, 1 },
	[ERR_CFG_OPEN] = { 113, 1 },
	[ERR_CFG_SOURCE] = { 124, 1 },
	[ERR_CFG_NO_OMERODIR] = { 125, 1 },
	[ERR_CFG_READONLY] = { 77, 1 },
	[ERR_CFG_DUPLICATE] = { 246, 1 },
	[ERR_CFG_ILLEGAL_KEY] = { 250, 1 },
	[ERR_CFG_NOT_JSON] = { 254, 1 },
	[ERR_CFG_NOT_LIST] = { 255, 1 },
	[ERR_CFG_UNDEFINED] = { 1, 1 },
	[ERR_CFG_NOT_IN_LIST] = { 1, 1 },
	[ERR_CFG_DEFAULT_UNAVAILABLE] = { 2, 1 },
	[ERR_CFG_DEFAULT_NOT_LIST] = { 3, 1 },
	[ERR_CFG_EDIT] = { 186, 1 },
	[ERR_CFG_LOAD_READ] = { 200, 1 },
	[ERR_CFG_INVALID] = { 1, 0 },
	[ERR_WEB_PORT_CONFLICT] = { 166, 1 },
	[ERR_WEB_APP_SERVER] = { 168, 1 },
	[ERR_WEB_NGINX_UNSAFE] = { 65, 0 },
	[ERR_WEB_NO_OMERODIR] = { 101, 1 },
	[ERR_WEB_ALREADY_STARTED] = { 94, 1 },
	[ERR_WEB_COLLECTSTATIC] = { 95, 0 },
	[ERR_WEB_INVALID_SERVER] = { 97, 1 },
	[ERR_WEB_SETTINGS] = { 170, 0 },
	[ERR_WEB_NO_VENV] = { 178, 0 },
	[ERR_WEB_NOT_READY] = { 1, 0 },
	[ERR_WEB_NGINX_SYSTEM] = { 171, 1 },
	[ERR_WEB_NGINX_CONFLICT] = { 80, 0 },
	[ERR_WEB_NGINX_UNMANAGED] = { 81, 0 },
	[ERR_WEB_NGINX_TEST] = { 82, 0 },
	[ERR_WEB_NGINX_RELOAD] = { 83, 0 },
	[ERR_PLUGINS_BROKEN] = { 84, 0 },
	[ERR_PLUGINS_PIP] = { 1, 0 },
	[ERR_SESS_CONFIG] = { 78, 0 },
	[ERR_SESS_SECRET] = { 78, 0 },
	[ERR_SESS_STORE] = { 69, 0 },
	[ERR_SESS_PARTIAL] = { 1, 0 },
	[ERR_UPGRADE_PREFLIGHT] = { 86, 0 },
	[ERR_UPGRADE_FAILED] = { 87, 0 },
	[ERR_UPGRADE_ROLLBACK] = { 88, 0 },
	[ERR_UPGRADE_NONE] = { 89, 0 },
};

int
cli_status(enum err_code code)
{
	if (code <= ERR_NONE || code >= ERR_CODE_MAX)
		return 1;
	return err_table[code].status;
}

int
cli_fail(struct err *e)
{
	int status = cli_status(e->code);
	const char *msg = e->msg ? e->msg : "unknown error";

	fflush(stdout);
	if (err_table[e->code < ERR_CODE_MAX ? e->code : ERR_FAIL].raw)
		fprintf(stderr, "%s\n", msg);
	else
		fprintf(stderr, "owctl: %s\n", msg);
	err_clear(e);
	return status;
}

static void
print_usage_line(FILE *f, struct ctx *ctx)
{
	fprintf(f, "usage: owctl %s%s%s%s%s\n", ctx->family ? ctx->family : "",
		ctx->subcmd ? " " : "", ctx->subcmd ? ctx->subcmd : "",
		ctx->usage && *ctx->usage ? " " : "",
		ctx->usage ? ctx->usage : "");
}

int
cli_usage(struct ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "owctl %s%s%s: ", ctx->family ? ctx->family : "",
		ctx->subcmd ? " " : "", ctx->subcmd ? ctx->subcmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	print_usage_line(stderr, ctx);
	return 2;
}

int
cli_help_sub(struct ctx *ctx)
{
	print_usage_line(stdout, ctx);
	return 0;
}

int
cli_dispatch(const struct command *table, int argc, char **argv,
	     struct ctx *ctx)
{
	const struct command *c;

	if (argc < 1) {
		ctx->usage = "<subcommand> ...";
		return cli_usage(ctx, "a subcommand is required "
				 "(see 'owctl help %s')", ctx->family);
	}
	for (c = table; c->name; c++)
		if (!strcmp(c->name, argv[0]))
			break;
	if (!c->name) {
		char names[512] = "";
		size_t n = 0;

		for (c = table; c->name && n < sizeof(names) - 40; c++)
			n += (size_t)snprintf(names + n, sizeof(names) - n,
					      "%s%s", n ? ", " : "", c->name);
		ctx->usage = "<subcommand> ...";
		return cli_usage(ctx, "argument <subcommand>: invalid choice: "
				 "'%s' (choose from %s)", argv[0], names);
	}
	ctx->subcmd = c->name;
	ctx->usage = c->usage;
	return c->fn(argc, argv, ctx);
}

void
cli_out(const char *s)
{
	fputs(s, stdout);
	fputc('\n', stdout);
}

void
cli_err(const char *s)
{
	fflush(stdout);
	fputs(s, stderr);
	fputc('\n', stderr);
}

void
cli_warn(struct ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx->verbosity < 0)
		return;
	fflush(stdout);
	fputs("owctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

double
cli_seconds(const char *s)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || *end || d < 0 || d > 86400.0 * 365)
		return -1;
	return d;
}

int
cli_bad_option(struct ctx *ctx, char **argv)
{
	return cli_usage(ctx, "unrecognized option '%s'", argv[optind - 1]);
}

void
cli_print_commands(FILE *f, const struct command *table)
{
	for (const struct command *c = table; c->name; c++)
		fprintf(f, "  %s %s\n      %s\n", c->name, c->usage,
			c->summary);
}

/*
 * Is the option getopt just rejected -q/--quiet or -v/--verbose (and the
 * table has no option of its own with that letter)? Then set verbosity.
 */
static int
verbosity_opt(struct cli_getopt *g)
{
	const char *w = g->argv[optind - 1];
	int v = 0;

	if (optopt == 'q' || optopt == 'v') {
		if (strchr(g->shortopts, optopt))
			return 0;	/* its own -q/-v without argument */
		for (const struct option *o = g->longopts; o->name; o++)
			if (o->val == optopt)
				return 0;	/* --NAME with no argument */
		v = optopt == 'q' ? -1 : 1;
	} else if (!optopt && !strcmp(w, "--quiet")) {
		v = -1;
	} else if (!optopt && !strcmp(w, "--verbose")) {
		v = 1;
	}
	if (v)
		g->ctx->verbosity = v;
	return v != 0;
}

int
cli_getopt(struct cli_getopt *g)
{
	int c;

	if (!g->started) {
		optind = 0;	/* 0, not 1: glibc re-initialises its state */
		g->started = 1;
	}
	do
		c = getopt_long(g->argc, g->argv, g->shortopts, g->longopts,
				NULL);
	while (c == '?' && verbosity_opt(g));
	if (c == 'h') {
		print_usage_line(stdout, g->ctx);
		if (g->subcommands) {
			putchar('\n');
			cli_print_commands(stdout, g->subcommands);
		}
		if (g->help)
			printf("\n%s", g->help);
		g->status = 0;
		return CLI_OPT_EXIT;
	}
	if (c == '?' || c == ':') {
		g->status = cli_bad_option(g->ctx, g->argv);
		return CLI_OPT_EXIT;
	}
	return c;
}

int
cli_operands(struct ctx *ctx, int argc, char **argv, int min, int max)
{
	if (argc - optind < min)
		return cli_usage(ctx, "too few arguments");
	if (max >= 0 && argc - optind > max)
		return cli_usage(ctx, "unrecognized arguments: %s",
				 argv[optind + max]);
	return -1;
}
