/*
 * owctl load: apply `omero load` command files (the Ansible role's and the
 * Docker image's config/NN-name.omero files), line by line as omero does, or with
 * --atomic under one lock and one write.
 */
#include <getopt.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd-config.h"
#include "fs.h"
#include "shlex.h"
#include "config/store.h"
#include "banned.h"

#define MAX_INPUT (64u * 1024 * 1024)

const char load_help[] =
	"Each line of each FILE (standard input when none) is an omero command\n"
	"such as 'config set -- KEY VALUE'; blank lines and lines starting with\n"
	"'#' are skipped. With --glob every FILE is a pattern and the matches\n"
	"are applied in sorted order. Without -k the first failing line stops\n"
	"the load with that line's exit status (earlier lines stay applied,\n"
	"as with omero); with -k failures are reported and skipped. --atomic\n"
	"applies every line to one in-memory copy under one lock and writes\n"
	"config.xml once, or not at all when a line fails.\n"
	"Only 'config' commands can be loaded.\n";

static int
is_comment_or_blank(const char *line)
{
	while (*line == ' ' || *line == '\t' || *line == '\r' || *line == '\n' ||
	       *line == '\v' || *line == '\f')
		line++;
	return !*line || *line == '#';
}

/* Run one line; returns its exit status. */
static int
run_line(const char *line, struct ctx *ctx, int atomic)
{
	struct strv av = STRV_INIT;
	struct err e = ERR_INIT;
	struct ctx sub = *ctx;
	int status;

	if (shlex_split(line, &av, &e) < 0) {
		strv_release(&av);
		return cli_fail(&e);
	}
	if (!av.n) {
		strv_release(&av);
		return 0;
	}
	if (strcmp(av.v[0], "config")) {
		fprintf(stderr, "owctl load: only 'config' commands can be "
			"loaded, not '%s'\n", av.v[0]);
		strv_release(&av);
		return 2;
	}
	if (atomic) {
		for (size_t i = 1; i < av.n; i++)
			if (!strcmp(av.v[i], "--source") ||
			    !strncmp(av.v[i], "--source=", 9) ||
			    !strcmp(av.v[i], "edit") || !strcmp(av.v[i], "lock")) {
				fprintf(stderr, "owctl load: '%s' cannot be "
					"used with --atomic\n", av.v[i]);
				strv_release(&av);
				return 2;
			}
	}
	sub.family = "config";
	sub.subcmd = NULL;
	sub.usage = "[--source FILE] [--wait SECONDS] <subcommand>";
	status = cmd_config((int)av.n, av.v, &sub);
	fflush(stdout);
	strv_release(&av);
	return status;
}

static int
collect_files(int argc, char **argv, int use_glob, struct strv *files,
	      struct ctx *ctx)
{
	for (int i = 0; i < argc; i++) {
		glob_t g;

		if (!use_glob) {
			if (strcmp(argv[i], "-") && !fs_exists(argv[i]))
				return cli_usage(ctx, "argument infile: File "
						 "does not exist: %s", argv[i]);
			strv_push(files, argv[i]);
			continue;
		}
		if (glob(argv[i], 0, NULL, &g) == 0)
			for (size_t j = 0; j < g.gl_pathc; j++)
				strv_push(files, g.gl_pathv[j]);
		globfree(&g);
	}
	if (use_glob)
		strv_sort(files);
	else if (!argc)
		strv_push(files, "-");
	return 0;
}

int
cmd_load(int argc, char **argv, struct ctx *ctx)
{
	static const struct option opts[] = {
		{ "glob", no_argument, NULL, 'g' },
		{ "keep-going", no_argument, NULL, 'k' },
		{ "atomic", no_argument, NULL, 'a' },
		{ "wait", required_argument, NULL, 'w' },
		CLI_OPT_HELP, CLI_OPT_END
	};
	struct cli_getopt g = CLI_GETOPT_INIT(argc, argv, "gkh", opts, ctx);
	struct strv files = STRV_INIT;
	struct sbuf text = SBUF_INIT, line = SBUF_INIT;
	struct cfg_store store;
	struct err e = ERR_INIT;
	int c, use_glob = 0, keep = 0, atomic = 0, status = 0, opened = 0;
	double wait = 0;

	while ((c = cli_getopt(&g)) >= 0) {
		switch (c) {
		case 'g':
			use_glob = 1;
			break;
		case 'k':
			keep = 1;
			break;
		case 'a':
			atomic = 1;
			break;
		case 'w':
			wait = cli_seconds(optarg);
			if (wait < 0)
				return cli_usage(ctx, "--wait takes a number "
						 "of seconds, not '%s'", optarg);
			break;
		}
	}
	if (c == CLI_OPT_EXIT)
		return g.status;
	status = collect_files(argc - optind, argv + optind, use_glob, &files,
			       ctx);
	if (status)
		goto out;
	if (atomic) {
		struct cfg_open_opts o = {
			.omerodir = ctx->omerodir,
			.env_profile = getenv("OMERO_CONFIG"),
			.write = 1,
			.wait = wait,
		};

		if (cfg_open(&store, &o, &e) < 0 ||
		    cfg_require_writable(&store, &e) < 0) {
			cfg_close(&store);
			status = cli_fail(&e);
			goto out;
		}
		if (store.created_dir)
			fprintf(stderr, "%s not found; creating %s\n",
				store.created_dir, store.created_dir);
		opened = 1;
		config_set_shared_store(&store);
	}
	for (size_t f = 0; f < files.n && !status; f++) {
		size_t i = 0;

		sbuf_reset(&text);
		if ((!strcmp(files.v[f], "-") ?
		     fs_read_fd(0, "<stdin>", MAX_INPUT, &text, &e) :
		     fs_read_file(files.v[f], MAX_INPUT, &text, &e)) < 0) {
			status = cli_fail(&e);
			break;
		}
		while (i < text.len && !status) {
			size_t j = i;
			int rc;

			while (j < text.len && text.buf[j] != '\n')
				j++;
			if (j < text.len)
				j++;
			sbuf_reset(&line);
			sbuf_add(&line, text.buf + i, j - i);
			i = j;
			if (is_comment_or_blank(line.buf))
				continue;
			rc = run_line(line.buf, ctx, atomic);
			if (rc && keep)
				fprintf(stderr, "Ignoring error: %s\n", line.buf);
			else if (rc)
				status = rc;
		}
	}
	if (opened) {
		config_set_shared_store(NULL);
		if (!status && cfg_save(&store, &e) < 0)
			status = cli_fail(&e);
		cfg_close(&store);
	}
out:
	strv_release(&files);
	sbuf_release(&text);
	sbuf_release(&line);
	return status;
}
