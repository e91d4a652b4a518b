/*
 * owctl web diagnostics: omero-web's diagnostics text plus owctl's
 * sections, or the JSON report, and optionally the bundle for the mailing
 * list. The work is in lib/diag; this file handles argv and output.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd-web.h"
#include "diag/bundle.h"
#include "diag/diag.h"
#include "fs.h"
#include "banned.h"

#ifndef OWCTL_VERSION
#define OWCTL_VERSION "unknown"
#endif

/* $SOURCE_DATE_EPOCH when it is a plain number, else 0 (1970-01-01). */
static long long
bundle_mtime(void)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;
	long long v;

	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	return errno || *end || v < 0 ? 0 : v;
}

int
web_diagnostics(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "no-logs", no_argument, NULL, 'L' },
		{ "json", no_argument, NULL, 'j' },
		{ "bundle", required_argument, NULL, 'b' },
		{ "force", no_argument, NULL, 'f' },
		{ "errors", required_argument, NULL, 'E' },
		{ "timeout", required_argument, NULL, 't' },
		{ "venv", required_argument, NULL, 'V' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "h", opts, ctx);
	struct diag_opts o = { 0 };
	struct diag_report r = DIAG_REPORT_INIT;
	struct diag_members m = DIAG_MEMBERS_INIT;
	struct sbuf text = SBUF_INIT, json = SBUF_INIT, tgz = SBUF_INIT;
	struct err e = ERR_INIT;
	const char *bundle = NULL;
	int c, force = 0, json_out = ctx->json, ret = -1;

	o.venv = web_venv_option();
	o.error_lines = 20;
	o.timeout = 5;
	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 'L':
			o.no_logs = 1;
			break;
		case 'j':
			json_out = 1;
			break;
		case 'b':
			bundle = optarg;
			break;
		case 'f':
			force = 1;
			break;
		case 'E': {
			char *end;
			long n;

			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || n < 1 ||
			    n > 10000)
				return cli_usage(ctx, "--errors takes a number "
						 "of lines (1-10000), not "
						 "'%s'", optarg);
			o.error_lines = (int)n;
			break;
		}
		case 't':
			o.timeout = cli_seconds(optarg);
			if (o.timeout <= 0)
				return cli_usage(ctx, "--timeout takes a "
						 "number of seconds, not '%s'",
						 optarg);
			break;
		case 'V':
			o.venv = optarg;
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	if ((c = cli_operands(ctx, argc, argv, 0, 0)) >= 0)
		return c;
	if (force && !bundle)
		return cli_usage(ctx, "--force only applies to --bundle");
	/* refuse before the (slow) collection when it cannot succeed */
	if (bundle && !*bundle)
		return cli_usage(ctx, "--bundle needs a file name");
	if (bundle && !force && fs_exists(bundle)) {
		err_set(&e, ERR_CONFIRM, "'%s' exists (use --force to replace "
			"it)", bundle);
		return cli_fail(&e);
	}

	o.omerodir = ctx->omerodir;
	o.env_profile = getenv("OMERO_CONFIG");
	o.virtual_env = getenv("VIRTUAL_ENV");
	o.path = getenv("PATH");
	o.tmpdir = getenv("TMPDIR");
	o.temp = getenv("TEMP");
	o.tmp = getenv("TMP");
	o.owctl_version = OWCTL_VERSION;
	if (diag_collect(&o, &r, &e) < 0)
		goto out;
	diag_render_text(&r, &text);
	diag_render_json(&r, &json);
	if (bundle) {
		diag_bundle_members(&r, text.buf, json.buf, &m);
		if (diag_bundle_tgz(&m, bundle_mtime(), &tgz, &e) < 0 ||
		    diag_bundle_write(bundle, &tgz, force, &e) < 0)
			goto out;
	}
	fputs(json_out ? json.buf : text.buf, stdout);
	if (bundle)
		cli_warn(ctx, "wrote '%s' (%zu files, %zu bytes)", bundle,
			 m.n, tgz.len);
	ret = 0;
out:
	diag_members_release(&m);
	diag_report_release(&r);
	sbuf_release(&text);
	sbuf_release(&json);
	sbuf_release(&tgz);
	/* like omero web diagnostics: 0 whatever the report found */
	return ret < 0 ? cli_fail(&e) : 0;
}
