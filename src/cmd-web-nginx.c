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
#include "banned.h"

#define MAX_CONFIG_XML (64u << 20)
#define MAX_MERGED (16u << 20)

/* ---- config.xml, read the way omeroweb.settings reads it ---- */

/*
 * The active profile of $OMERODIR/etc/grid/config.xml, read-only: no lock,
 * nothing created (settings.py opens it with read_only=True and uses
 * defaults when it is missing). *profile is NULL when there is no file or
 * no such profile. Release doc afterwards, even on failure.
 */
static int
load_profile(const char *omerodir, struct cfgdoc *doc,
	     const struct xelem **profile, struct err *e)
{
	struct sbuf path = SBUF_INIT, text = SBUF_INIT;
	const char *env = getenv("OMERO_CONFIG"), *name;
	int ret = -1;

	*profile = NULL;
	sbuf_addf(&path, "%s/etc/grid/config.xml", omerodir);
	if (fs_read_file(path.buf, MAX_CONFIG_XML, &text, e) < 0) {
		if (errno == ENOENT) {
			err_clear(e);
			ret = 0;
		} else {
			e->code = ERR_WEB_SETTINGS;
		}
		goto out;
	}
	if (!text.len) {
		ret = 0;
		goto out;
	}
	if (cfgdoc_parse(doc, text.buf, text.len, e) < 0) {
		e->code = ERR_WEB_SETTINGS;
		err_prefix(e, "cannot read '%s'", path.buf);
		goto out;
	}
	if (env && *env)
		name = env;
	else if (!(name = profile_get(cfgdoc_profile(doc, CFG_INTERNAL),
				      CFG_KEY_PROFILE)))
		name = "default";
	*profile = cfgdoc_profile(doc, name);
	ret = 0;
out:
	sbuf_release(&path);
	sbuf_release(&text);
	return ret;
}

static const char *
profile_lookup(void *ud, const char *key)
{
	return profile_get(ud, key);
}

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

/*
 * Render type for omerodir: the active profile of config.xml, then
 * nginx_render. Errors are omero-web's where it has one (101, 170, 166,
 * 168), else owctl's refusals.
 */
static int
generate(const char *omerodir, enum nginx_type type,
	 const struct gen_opts *g, unsigned flags, struct sbuf *out,
	 struct err *e)
{
	struct cfgdoc doc = { 0 };
	const struct xelem *profile;
	struct nginx_opts o = { 0 };
	int ret = -1;

	if (!omerodir || !*omerodir)
		return err_set(e, ERR_WEB_NO_OMERODIR,
			       "ERROR: OMERODIR not set");
	if (load_profile(omerodir, &doc, &profile, e) < 0)
		goto out;
	o.type = type;
	o.http_port = g->http;
	o.servername = g->servername;
	o.max_body_size = g->max_body_size;
	o.omerodir = omerodir;
	o.flags = flags;
	ret = nginx_render(&o, profile_lookup, (void *)profile, out, e);
out:
	cfgdoc_release(&doc);
	return ret;
}

/* ---- owctl web config ---- */

#define HELP_OPT { "help", no_argument, NULL, 'h' }

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
		HELP_OPT, { NULL, 0, NULL, 0 }
	};
	struct gen_opts g = { 0 };
	struct err e = ERR_INIT;
	struct sbuf out = SBUF_INIT;
	enum nginx_type type;
	enum maint_page_state mp;
	unsigned flags = 0;
	int c, system = 0, check = 0, install = 0, ret;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
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
		case 'h':
			return cli_help_sub(ctx);
		default:
			return cli_usage(ctx, "unrecognized option '%s'",
					 argv[optind - 1]);
		}
	}
	if (argc - optind < 1)
		return cli_usage(ctx, "the following arguments are required: "
				 "type");
	if (nginx_type_parse(argv[optind], &type) < 0)
		return cli_usage(ctx, "argument type: invalid choice: '%s' "
				 "(choose from 'nginx', 'nginx-development', "
				 "'nginx-location')", argv[optind]);
	if (argc - optind > 1)
		return cli_usage(ctx, "unrecognized arguments: %s",
				 argv[optind + 1]);

	/* upstream: @config_required (101, 170), then --system (683) */
	if (!ctx->omerodir || !*ctx->omerodir) {
		err_set(&e, ERR_WEB_NO_OMERODIR, "ERROR: OMERODIR not set");
		return cli_fail(&e);
	}
	if (system) {
		struct cfgdoc doc = { 0 };
		const struct xelem *profile;

		ret = load_profile(ctx->omerodir, &doc, &profile, &e);
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
		HELP_OPT, { NULL, 0, NULL, 0 }
	};
	struct gen_opts g = { 0 };
	struct nginx_record rec = { 0 }, saved = { 0 };
	struct nginx_install_opts io = { 0 };
	struct nginx_install_result r = NGINX_INSTALL_RESULT_INIT;
	struct err e = ERR_INIT;
	struct sbuf gen = SBUF_INIT, merged = SBUF_INIT;
	const char *type_name = NULL, *merged_file = NULL, *path;
	const char *nginx_conf = NULL, *nginx_prefix = NULL;
	char *state_dir = NULL, *conf_abs = NULL, *prefix_abs = NULL;
	enum nginx_type type = NGINX_SERVER;
	enum maint_page_state mp = MAINT_PAGE_SAME;
	unsigned flags = 0;
	int c, reload = 0, found, status = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
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
		case 'h':
			return cli_help_sub(ctx);
		default:
			return cli_usage(ctx, "unrecognized option '%s'",
					 argv[optind - 1]);
		}
	}
	if (argc - optind < 1)
		return cli_usage(ctx, "the following arguments are required: "
				 "PATH");
	if (argc - optind > 1)
		return cli_usage(ctx, "unrecognized arguments: %s",
				 argv[optind + 1]);
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

	/* What is not given on the command line comes from the last run. */
	state_dir = nginx_state_dir(ctx->omerodir);
	if (nginx_record_load(state_dir, path, &rec, &found, &e) < 0)
		goto fail;
	if (!type_name && rec.type && nginx_type_parse(rec.type, &type) == 0 &&
	    type == NGINX_DEVELOPMENT)
		type = NGINX_SERVER;
	if (!g.http_given)
		g.http = rec.http;
	if (!g.servername)
		g.servername = rec.servername;
	if (!g.max_body_size)
		g.max_body_size = rec.max_body_size;
	if (!nginx_conf)
		nginx_conf = rec.nginx_conf;
	if (!nginx_prefix)
		nginx_prefix = rec.nginx_prefix;

	if (generate(ctx->omerodir, type, &g, 0, &gen, &e) < 0)
		goto fail;
	if (merged_file && fs_read_file(merged_file, MAX_MERGED, &merged,
					&e) < 0)
		goto fail;

	saved.type = (char *)nginx_type_name(type);
	saved.http = g.http;
	saved.servername = (char *)g.servername;
	saved.max_body_size = (char *)g.max_body_size;
	saved.nginx_conf = (char *)nginx_conf;
	saved.nginx_prefix = (char *)nginx_prefix;
	io.path = path;
	io.state_dir = state_dir;
	io.generated = gen.buf;
	io.generated_len = gen.len;
	if (merged_file) {
		io.resolved = merged.buf;
		io.resolved_len = merged.len;
	}
	io.record = &saved;
	io.nginx.conf = nginx_conf;
	io.nginx.prefix = nginx_prefix;
	io.flags = flags;
	if (nginx_install(&io, &r, &e) < 0) {
		print_diff(&r);
		goto fail;
	}
	print_diff(&r);
	if (r.action == NGINX_INST_UNCHANGED) {
		printf("Unchanged: %s\n", r.target);
	} else {
		printf("Changed: %s %s%s\n", action_verbs[r.action], r.target,
		       flags & NGINX_INST_DRY_RUN ? " (dry run: nothing "
		       "written)" : "");
	}
	if (!(flags & NGINX_INST_DRY_RUN) &&
	    maint_page_install(ctx->omerodir, &mp, &e) < 0)
		goto fail;
	if (mp == MAINT_PAGE_CREATED) {
		char *page = maint_page_path(ctx->omerodir);

		printf("Changed: Installed the maintenance page %s\n", page);
		free(page);
	}
	if (r.action != NGINX_INST_UNCHANGED)
		hint_maintenance(ctx, type, gen.buf);
	if (r.saved_local)
		cli_warn(ctx, "your previous version is kept in '%s'",
			 r.saved_local);
	if (r.tested && !r.included)
		cli_warn(ctx, "warning: nginx's %sconfiguration%s%s%s does "
			 "not include '%s', so nginx does not use it",
			 nginx_conf ? "" : "default ", nginx_conf ? " '" : "",
			 nginx_conf ? nginx_conf : "", nginx_conf ? "'" : "",
			 r.target);
	if (reload && r.action != NGINX_INST_UNCHANGED &&
	    !(flags & NGINX_INST_DRY_RUN)) {
		fflush(stdout);
		if (nginx_reload(&io.nginx, NULL, &e) < 0)
			goto fail;
		printf("Changed: Reloaded nginx\n");
	}
	goto out;
fail:
	status = cli_fail(&e);
out:
	nginx_install_result_release(&r);
	nginx_record_release(&rec);
	sbuf_release(&gen);
	sbuf_release(&merged);
	free(state_dir);
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

int
cmd_web_nginx(int argc, char **argv, struct ctx *ctx)
{
	const char *family = ctx->family;
	int ret;

	if (argc > 1 && (!strcmp(argv[1], "-h") ||
			 !strcmp(argv[1], "--help"))) {
		printf("usage: owctl web nginx <subcommand> ...\n\n"
		       "subcommands:\n");
		for (const struct command *c = nginx_commands; c->name; c++)
			printf("  %s %s\n      %s\n", c->name, c->usage,
			       c->summary);
		return 0;
	}
	ctx->family = "web nginx";
	ret = cli_dispatch(nginx_commands, argc - 1, argv + 1, ctx);
	ctx->family = family;
	return ret;
}
