/*
 * owctl entry point: global options, the top-level command table, help and
 * the final stdout check.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd-plugins.h"
#include "cmd-upgrade.h"
#include "cmd-sessions.h"
#include "cmd-web.h"
#include "banned.h"

const struct family cli_families[] = {
	{ "config", cmd_config, "[--source FILE] [--wait SECONDS] <subcommand>",
	  "read and change OMERO's config.xml (drop-in for 'omero config')",
	  config_commands, config_help },
	{ "load", cmd_load, "[--glob] [-k] [--atomic] [FILE...]",
	  "apply 'omero load' command files (Ansible/Docker conf.d style)",
	  NULL, load_help },
	{ "web", cmd_web, "[--venv DIR] <subcommand>",
	  "run OMERO.web's gunicorn: start, stop, restart, reload, status",
	  web_commands, web_help },
	{ "plugins", cmd_plugins, "[--venv DIR] <subcommand>",
	  "OMERO.web plugins: list, check against a release, upgrade",
	  plugins_commands, plugins_help },
	{ "upgrade", cmd_upgrade, "<subcommand> --to VERSION [options]",
	  "upgrade OMERO.web: plan, run, resume, rollback, status",
	  upgrade_commands, upgrade_help },
	{ "sessions", cmd_sessions, "<subcommand>",
	  "OMERO.web's session store: info, purge-expired, clear, list",
	  sessions_commands, sessions_help },
	{ NULL, NULL, NULL, NULL, NULL, NULL }
};

static const char main_usage[] =
	"usage: owctl [--omerodir DIR] [--json] [-q|-v] <command> "
	"<subcommand> ...\n";

static void
print_overview(FILE *f)
{
	fputs(main_usage, f);
	fputs("\nowctl runs and upgrades OMERO.web deployments.\n\n"
	      "commands:\n", f);
	for (const struct family *fam = cli_families; fam->name; fam++)
		fprintf(f, "  %-10s %s\n", fam->name, fam->summary);
	fputs("\n'owctl help COMMAND' describes a command; "
	      "'man owctl' has the details.\n", f);
}

static int
print_family_help(const struct family *fam)
{
	printf("usage: owctl %s %s\n\n%s\n", fam->name, fam->usage,
	       fam->summary);
	if (fam->subcommands) {
		puts("\nsubcommands:");
		cli_print_commands(stdout, fam->subcommands);
	}
	if (fam->help && *fam->help)
		printf("\n%s", fam->help);
	return 0;
}

static const struct family *
find_family(const char *name)
{
	for (const struct family *fam = cli_families; fam->name; fam++)
		if (!strcmp(fam->name, name))
			return fam;
	return NULL;
}

static int
cmd_help(int argc, char **argv)
{
	const struct family *fam;

	if (argc < 2) {
		print_overview(stdout);
		return 0;
	}
	fam = find_family(argv[1]);
	if (!fam) {
		fprintf(stderr, "owctl help: unknown command '%s'\n%s",
			argv[1], main_usage);
		return 2;
	}
	if (argc > 2 && fam->subcommands) {
		for (const struct command *c = fam->subcommands; c->name; c++)
			if (!strcmp(c->name, argv[2])) {
				printf("usage: owctl %s %s %s\n\n%s\n",
				       fam->name, c->name, c->usage,
				       c->summary);
				return 0;
			}
		fprintf(stderr, "owctl help: unknown subcommand '%s %s'\n",
			argv[1], argv[2]);
		return 2;
	}
	return print_family_help(fam);
}

static int
finish(int status)
{
	/* omero-py swallows EPIPE ("omero config get | head -1" is silent). */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno == EPIPE)
			return status;
		fprintf(stderr, "owctl: cannot write to standard output: %s\n",
			strerror(errno));
		return status ? status : 74;
	}
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "omerodir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctx ctx = { 0 };
	const struct family *fam;
	int c;

	signal(SIGPIPE, SIG_IGN);
	ctx.omerodir = getenv("OMERODIR");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+qvh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			ctx.omerodir = optarg;
			break;
		case 'j':
			ctx.json = 1;
			break;
		case 'q':
			ctx.verbosity = -1;
			break;
		case 'v':
			ctx.verbosity = 1;
			break;
		case 'V':
			printf("owctl %s\n", OWCTL_VERSION);
			return finish(0);
		case 'h':
			print_overview(stdout);
			return finish(0);
		default:
			fprintf(stderr, "owctl: unknown option '%s'\n%s",
				argv[optind - 1], main_usage);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		fprintf(stderr, "owctl: a command is required\n%s", main_usage);
		return 2;
	}
	if (!strcmp(argv[0], "help"))
		return finish(cmd_help(argc, argv));
	fam = find_family(argv[0]);
	if (!fam) {
		fprintf(stderr, "owctl: unknown command '%s' (see 'owctl "
			"help')\n%s", argv[0], main_usage);
		return 2;
	}
	ctx.family = fam->name;
	ctx.usage = fam->usage;
	optind = 0;
	return finish(fam->fn(argc, argv, &ctx));
}
