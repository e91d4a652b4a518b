/*
 * owctl web config (omero-web's `omero web config`, same output, messages
 * and statuses, with refusals, --check and --install) and owctl web nginx
 * install (write the file into nginx's configuration and regenerate it
 * later, merging the administrator's edits).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd-web.h"
#include "fs.h"
#include "xalloc.h"
#include "config/configxml.h"
#include "web/maintpage.h"
#include "web/nginx.h"
#include "web/nginxinst.h"
#include "web/regen.h"
#include "banned.h"

#define MAX_MERGED (16u << 20)

/* argparse's type=int: Python's int() of a decimal string. */
static int
parse_port(struct ctx *ctx, const char *s, long *out)
{
	const char *p = s;
	char *end;
	long v;

	while (*p == ' ' || *p == '\t')
		p++;
	errno = 0;
	v = strtol(p, &end, 10);
	while (end != p && (*end == ' ' || *end == '\t' || *end == '\n'))
		end++;
	if (end == p || *end || errno || (*p != '+' && *p != '-' &&
					  (*p < '0' || *p > '9'))) {
		cli_usage(ctx, "argument --http: invalid int value: '%s'", s);
		return -1;
	}
	*out = v;
	return 0;
}

/* Options shared by `web config` and `web nginx install`. */
struct gen_opts {
	long http;		/* 0: default */
	int http_given;
	const char *servername;
	const char *max_body_size;
};

/* Render type for omerodir (regen.h). */
static int
generate(const char *omerodir, enum nginx_type type,
	 const struct gen_opts *g, unsigned flags, struct sbuf *out,
	 struct err *e)
{
	struct nginx_gen ng = { 0 };

	ng.omerodir = omerodir;
	ng.env_profile = getenv("OMERO_CONFIG");
	ng.type = type;
	ng.http = g->http;
	ng.servername = g->servername;
	ng.max_body_size = g->max_body_size;
	ng.flags = flags;
	return nginx_generate(&ng, out, e);
}

/* ---- owctl web config ---- */

enum {
	OPT_HTTP = 256,
	OPT_SERVERNAME,
	OPT_MAX_BODY,
	OPT_SYSTEM,
	OPT_CHECK,
	OPT_UNSAFE,
	OPT_NO_FILE_CHECKS,
	OPT_INSTALL,
	OPT_TYPE,
	OPT_DRY_RUN,
	OPT_RELOAD,
	OPT_FORCE,
	OPT_MERGED,
	OPT_NGINX_CONF,
	OPT_NGINX_PREFIX,
	OPT_NO_TEST,
};

static void
report_maint_page(struct ctx *ctx, const char *omerodir,
		  enum maint_page_state st)
{
	char *path = maint_page_path(omerodir);

	if (st == MAINT_PAGE_CREATED)
		cli_warn(ctx, "installed the maintenance page '%s'", path);
	else if (st == MAINT_PAGE_KEPT)
		cli_warn(ctx, "kept the existing maintenance page '%s'", path);
	free(path);
}

int
cmd_web_config(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "http", required_argument, NULL, OPT_HTTP },
		{ "servername", required_argument, NULL, OPT_SERVERNAME },
		{ "max-body-size", required_argument, NULL, OPT_MAX_BODY },
		{ "system", no_argument, NULL, OPT_SYSTEM },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "unsafe", no_argument, NULL, OPT_UNSAFE },
		{ "no-file-checks", no_argument, NULL, OPT_NO_FILE_CHECKS },
		{ "install", no_argument, NULL, OPT_INSTALL },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt go = CLI_GETOPT_INIT(argc, argv, "h", opts, ctx);
	struct gen_opts g = { 0 };
	struct err e = ERR_INIT;
	struct sbuf out = SBUF_INIT;
	enum nginx_type type;
	enum maint_page_state mp;
	unsigned flags = 0;
	int c, system = 0, check = 0, install = 0, ret;

	while ((c = cli_getopt(&go)) >= 0) {
		switch (c) {
		case OPT_HTTP:
			if (parse_port(ctx, optarg, &g.http) < 0)
				return 2;
			g.http_given = 1;
			break;
		case OPT_SERVERNAME:
			g.servername = optarg;
			break;
		case OPT_MAX_BODY:
			g.max_body_size = optarg;
			break;
		case OPT_SYSTEM:
			system = 1;
			break;
		case OPT_CHECK:
			check = 1;
			break;
		case OPT_UNSAFE:
			flags |= NGINX_ALLOW_UNSAFE;
			break;
		case OPT_NO_FILE_CHECKS:
			flags |= NGINX_NO_FILE_CHECKS;
			break;
		case OPT_INSTALL:
			install = 1;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return go.status;
	if (argc - optind < 1)
		return cli_usage(ctx, "the following arguments are required: "
				 "type");
	if (nginx_type_parse(argv[optind], &type) < 0)
		return cli_usage(ctx, "argument type: invalid choice: '%s' "
				 "(choose from 'nginx', 'nginx-development', "
				 "'nginx-location')", argv[optind]);
	if ((ret = cli_operands(ctx, argc, argv, 1, 1)) >= 0)
		return ret;

	/* upstream: @config_required (101, 170), then --system (683) */
	if (!ctx->omerodir || !*ctx->omerodir) {
		err_set(&e, ERR_WEB_NO_OMERODIR, "ERROR: OMERODIR not set");
		return cli_fail(&e);
	}
	if (system) {
		struct cfgdoc doc = { 0 };
		const struct xelem *profile;

		ret = nginx_profile_load(ctx->omerodir, getenv("OMERO_CONFIG"),
					 &doc, &profile, &e);
		cfgdoc_release(&doc);
		if (ret < 0)
			return cli_fail(&e);
		err_set(&e, ERR_WEB_NGINX_SYSTEM,
			"ERROR: --system is no longer supported, see --help");
		return cli_fail(&e);
	}
	if (generate(ctx->omerodir, type, &g, flags, &out, &e) < 0)
		goto fail;
	if (check) {
		struct nginx_check_opts co = { 0 };

		if (nginx_check_conf(type, out.buf, out.len, &co, &e) < 0)
			goto fail;
	}
	if (install) {
		if (maint_page_install(ctx->omerodir, &mp, &e) < 0)
			goto fail;
		report_maint_page(ctx, ctx->omerodir, mp);
	}
	fwrite(out.buf, 1, out.len, stdout);
	sbuf_release(&out);
	return 0;
fail:
	sbuf_release(&out);
	return cli_fail(&e);
}

/* ---- owctl web nginx install ---- */

#define EXTRA_BEGIN "# <<<<< omero.web.nginx_server_extra_config"
#define EXTRA_END "# omero.web.nginx_server_extra_config >>>>>"

/*
 * omero-web's templates put `error_page 502 @maintenance...` in
 * `location /` only, but the 502 of a stopped app arises in the named
 * location the request was handed to by try_files, which does not inherit
 * it: nginx shows its own 502 page, never the maintenance page. The fix
 * that keeps the file identical to omero-web's is a server-level
 * error_page in omero.web.nginx_server_extra_config; say so when the
 * generated file lacks it.
 */
static void
hint_maintenance(struct ctx *ctx, enum nginx_type type, const char *text)
{
	const char *loc = strstr(text, "location @maintenance");
	const char *begin = strstr(text, EXTRA_BEGIN), *end, *p;
	char *name;
	size_t n;

	if (!loc)
		return;
	end = begin ? strstr(begin, EXTRA_END) : NULL;
	if (end) {
		char *block = xstrndup(begin, end - begin);
		int has = (p = strstr(block, "error_page")) &&
			  strstr(p, "@maintenance");

		free(block);
		if (has)
			return;
	}
	loc += strlen("location ");
	n = strcspn(loc, " {\n");
	name = xstrndup(loc, n);
	if (type == NGINX_LOCATION)
		cli_warn(ctx, "note: nginx shows the maintenance page only if "
			 "your server block has 'error_page 502 %s;' (the "
			 "one in 'location' does not cover proxied requests)",
			 name);
	else
		cli_warn(ctx, "note: nginx shows the maintenance page only "
			 "with a server-level error_page (omero-web's, in "
			 "'location', does not cover proxied requests): owctl "
			 "config append omero.web.nginx_server_extra_config "
			 "'\"error_page 502 %s;\"'", name);
	free(name);
}

static const char *const action_verbs[] = {
	[NGINX_INST_UNCHANGED] = "Unchanged",
	[NGINX_INST_CREATED] = "Installed",
	[NGINX_INST_UPDATED] = "Updated",
	[NGINX_INST_MERGED] = "Merged local edits into",
	[NGINX_INST_REPLACED] = "Replaced local edits in",
	[NGINX_INST_RESOLVED] = "Installed the merged",
};

static void
print_diff(const struct nginx_install_result *r)
{
	fwrite(r->diff.buf, 1, r->diff.len, stdout);
	if (r->diff.len && r->diff.buf[r->diff.len - 1] != '\n')
		putchar('\n');
}

/* What nginx_regen did, as `owctl web nginx install` prints it. */
static void
report(struct ctx *ctx, const struct nginx_regen_result *r, unsigned flags)
{
	const char *conf = r->nginx.conf;

	if (r->inst.action == NGINX_INST_UNCHANGED)
		printf("Unchanged: %s\n", r->inst.target);
	else
		printf("Changed: %s %s%s\n", action_verbs[r->inst.action],
		       r->inst.target, flags & NGINX_INST_DRY_RUN ? " (dry "
		       "run: nothing written)" : "");
	if (r->maint == MAINT_PAGE_CREATED) {
		char *page = maint_page_path(ctx->omerodir);

		printf("Changed: Installed the maintenance page %s\n", page);
		free(page);
	}
	if (r->inst.action != NGINX_INST_UNCHANGED)
		hint_maintenance(ctx, r->type, r->generated.buf);
	if (r->inst.saved_local)
		cli_warn(ctx, "your previous version is kept in '%s'",
			 r->inst.saved_local);
	if (r->inst.tested && !r->inst.included)
		cli_warn(ctx, "warning: nginx's %sconfiguration%s%s%s does "
			 "not include '%s', so nginx does not use it",
			 conf ? "" : "default ", conf ? " '" : "",
			 conf ? conf : "", conf ? "'" : "", r->inst.target);
	fflush(stdout);
}

static int
nginx_install_cmd(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "http", required_argument, NULL, OPT_HTTP },
		{ "servername", required_argument, NULL, OPT_SERVERNAME },
		{ "max-body-size", required_argument, NULL, OPT_MAX_BODY },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "reload", no_argument, NULL, OPT_RELOAD },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "merged", required_argument, NULL, OPT_MERGED },
		{ "nginx-conf", required_argument, NULL, OPT_NGINX_CONF },
		{ "nginx-prefix", required_argument, NULL, OPT_NGINX_PREFIX },
		{ "no-test", no_argument, NULL, OPT_NO_TEST },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt go = CLI_GETOPT_INIT(argc, argv, "h", opts, ctx);
	struct gen_opts g = { 0 };
	struct nginx_regen_opts ro = { 0 };
	struct nginx_regen_result r = NGINX_REGEN_RESULT_INIT;
	struct err e = ERR_INIT;
	struct sbuf merged = SBUF_INIT;
	const char *type_name = NULL, *merged_file = NULL, *path;
	const char *nginx_conf = NULL, *nginx_prefix = NULL;
	char *conf_abs = NULL, *prefix_abs = NULL;
	enum nginx_type type = NGINX_SERVER;
	unsigned flags = 0;
	int c, reload = 0, status = 0;

	while ((c = cli_getopt(&go)) >= 0) {
		switch (c) {
		case OPT_TYPE:
			type_name = optarg;
			break;
		case OPT_HTTP:
			if (parse_port(ctx, optarg, &g.http) < 0)
				return 2;
			g.http_given = 1;
			break;
		case OPT_SERVERNAME:
			g.servername = optarg;
			break;
		case OPT_MAX_BODY:
			g.max_body_size = optarg;
			break;
		case OPT_DRY_RUN:
			flags |= NGINX_INST_DRY_RUN;
			break;
		case OPT_RELOAD:
			reload = 1;
			break;
		case OPT_FORCE:
			flags |= NGINX_INST_FORCE;
			break;
		case OPT_MERGED:
			merged_file = optarg;
			break;
		case OPT_NGINX_CONF:
			nginx_conf = optarg;
			break;
		case OPT_NGINX_PREFIX:
			nginx_prefix = optarg;
			break;
		case OPT_NO_TEST:
			flags |= NGINX_INST_NO_TEST;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return go.status;
	if (argc - optind < 1)
		return cli_usage(ctx, "the following arguments are required: "
				 "PATH");
	if ((c = cli_operands(ctx, argc, argv, 1, 1)) >= 0)
		return c;
	path = argv[optind];
	if (type_name && (nginx_type_parse(type_name, &type) < 0 ||
			  type == NGINX_DEVELOPMENT))
		return cli_usage(ctx, "argument --type: invalid choice: '%s' "
				 "(choose from 'nginx', 'nginx-location')",
				 type_name);
	if (reload && (flags & NGINX_INST_NO_TEST))
		return cli_usage(ctx, "--reload needs the nginx test that "
				 "--no-test skips");
	if (merged_file && (flags & NGINX_INST_FORCE))
		return cli_usage(ctx, "--merged and --force exclude each "
				 "other");
	if (!ctx->omerodir || !*ctx->omerodir) {
		err_set(&e, ERR_WEB_NO_OMERODIR, "ERROR: OMERODIR not set");
		return cli_fail(&e);
	}

	/* Recorded for later runs from anywhere: make them absolute. */
	if (nginx_conf && (conf_abs = realpath(nginx_conf, NULL)))
		nginx_conf = conf_abs;
	if (nginx_prefix && (prefix_abs = realpath(nginx_prefix, NULL)))
		nginx_prefix = prefix_abs;

	if (merged_file && fs_read_file(merged_file, MAX_MERGED, &merged,
					&e) < 0)
		goto fail;
	ro.omerodir = ctx->omerodir;
	ro.env_profile = getenv("OMERO_CONFIG");
	ro.path = path;
	ro.type_given = type_name != NULL;
	ro.type = type;
	ro.http_given = g.http_given;
	ro.http = g.http;
	ro.servername = g.servername;
	ro.max_body_size = g.max_body_size;
	ro.nginx_conf = nginx_conf;
	ro.nginx_prefix = nginx_prefix;
	if (merged_file) {
		ro.resolved = merged.buf;
		ro.resolved_len = merged.len;
	}
	ro.flags = flags;
	ro.reload = reload;
	if (nginx_regen(&ro, &r, &e) < 0) {
		print_diff(&r.inst);
		/* the file is in place: say so before the error */
		if (r.installed)
			report(ctx, &r, flags);
		goto fail;
	}
	print_diff(&r.inst);
	report(ctx, &r, flags);
	if (r.reloaded)
		printf("Changed: Reloaded nginx\n");
	goto out;
fail:
	status = cli_fail(&e);
out:
	nginx_regen_result_release(&r);
	sbuf_release(&merged);
	free(conf_abs);
	free(prefix_abs);
	return status;
}

static const struct command nginx_commands[] = {
	{ "install", nginx_install_cmd,
	  "PATH [--type nginx|nginx-location] [--http PORT] "
	  "[--servername NAME] [--max-body-size SIZE] [--dry-run] [--reload] "
	  "[--force | --merged FILE] [--nginx-conf FILE] [--nginx-prefix DIR] "
	  "[--no-test]",
	  "write the nginx file, merging local edits on later runs" },
	{ NULL, NULL, NULL, NULL }
};

/*
 * "web nginx" is a family inside "web": its name becomes ctx->family (not
 * "web" plus the subcommand "nginx") while its options are parsed and its
 * subcommand runs. -h keeps the "subcommands:" heading 'owctl help' has.
 */
int
cmd_web_nginx(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = { CLI_OPT_HELP, CLI_OPT_END };
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "+h", opts, ctx);
	struct ctx saved = *ctx;
	int c, ret;

	ctx->family = "web nginx";
	ctx->subcmd = NULL;
	ctx->usage = "<subcommand> ...";
	while ((c = cli_getopt(&g)) >= 0)
		;
	if (c == CLI_OPT_EXIT) {
		if (g.status == 0) {
			puts("\nsubcommands:");
			cli_print_commands(stdout, nginx_commands);
		}
		ret = g.status;
	} else {
		ret = cli_dispatch(nginx_commands, argc - optind,
				   argv + optind, ctx);
	}
	ctx->family = saved.family;
	ctx->subcmd = saved.subcmd;
	ctx->usage = saved.usage;
	return ret;
}
