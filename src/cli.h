/*
 * The front end's shared pieces: the context every command gets, command
 * tables, dispatch, the one error sink (err code -> exit status) and usage
 * errors.
 */
#ifndef OWCTL_CLI_H
#define OWCTL_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "err.h"

struct ctx {
	const char *omerodir;	/* --omerodir, else $OMERODIR, else NULL */
	int json;		/* --json */
	int verbosity;		/* -1 with -q, 1 with -v */
	const char *family;	/* "config", "web", ... while dispatching */
	const char *subcmd;	/* subcommand name while running */
	const char *usage;	/* its usage string */
};

struct command {
	const char *name;
	int (*fn)(int argc, char **argv, struct ctx *ctx);
	const char *usage;	/* arguments after "owctl <family> <name>" */
	const char *summary;	/* one line for help */
};

struct family {
	const char *name;
	int (*fn)(int argc, char **argv, struct ctx *ctx);
	const char *usage;
	const char *summary;
	const struct command *subcommands;	/* NULL for leaf commands */
	const char *help;	/* longer text for "owctl help NAME" */
};

extern const struct family cli_families[];

/*
 * Run the subcommand named argv[0] from table. An unknown or missing name is
 * a usage error. Returns the exit status.
 */
int cli_dispatch(const struct command *table, int argc, char **argv,
		 struct ctx *ctx);

/* Print "owctl <family> <sub>: msg" and the one usage line; returns 2. */
int cli_usage(struct ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print the usage line and summary to stdout for -h; returns 0. */
int cli_help_sub(struct ctx *ctx);

/* The error sink: print e->msg to stderr, return the exit status for
 * e->code, and clear e. */
int cli_fail(struct err *e);

/* Exit status for an error code (the one table). */
int cli_status(enum err_code code);

/* Write a line to stdout (text + "\n"), like omero-py's ctx.out. */
void cli_out(const char *s);
/* Write a line to stderr, like omero-py's ctx.err. */
void cli_err(const char *s);
/* Formatted warning/info to stderr, prefixed "owctl: " unless quiet. */
void cli_warn(struct ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Parse a non-negative number of seconds; -1 on error. */
double cli_seconds(const char *s);

/* The rows that end every option table: --help, then the terminator. */
#define CLI_OPT_HELP { "help", no_argument, NULL, 'h' }
#define CLI_OPT_END { NULL, 0, NULL, 0 }

/* cli_getopt's value when the command must return cli_getopt.status now. */
#define CLI_OPT_EXIT (-2)

/*
 * The getopt_long loop of a command or family: argv[0] is its name, the
 * options follow. Set it up with CLI_GETOPT_INIT; for a family, also set
 * subcommands and help so that -h lists them.
 */
struct cli_getopt {
	int argc;
	char **argv;
	const char *shortopts;		/* "h", "+h" (stop at the subcommand) */
	const struct option *longopts;	/* ends with CLI_OPT_HELP, CLI_OPT_END */
	struct ctx *ctx;
	const struct command *subcommands;	/* family: -h lists these */
	const char *help;			/* ... then prints this */
	int status;	/* exit status after CLI_OPT_EXIT */
	int started;
};

#define CLI_GETOPT_INIT(argc, argv, shortopts, longopts, ctx) \
	{ (argc), (argv), (shortopts), (longopts), (ctx), NULL, NULL, 0, 0 }

/*
 * The next option: its val (optarg set as getopt_long sets it), or -1 after
 * the last one (optind is then the first operand). The first call starts
 * getopt over. -q/--quiet and -v/--verbose, the global options, are taken
 * here too (ctx->verbosity) unless the table has its own -q/-v. -h/--help
 * prints the usage line to stdout (a family's: the line, its subcommands
 * and help) with status 0, and an unknown option or a missing argument is
 * a usage error (status 2); both return CLI_OPT_EXIT with the status in
 * g->status.
 */
int cli_getopt(struct cli_getopt *g);

/* Usage error for the option getopt just rejected; returns 2. */
int cli_bad_option(struct ctx *ctx, char **argv);

/*
 * Check the operands argv[optind..argc) number between min and max (max -1:
 * no limit): returns -1 when they do, else prints "too few arguments" or
 * "unrecognized arguments: FIRST-EXTRA" as a usage error and returns 2.
 */
int cli_operands(struct ctx *ctx, int argc, char **argv, int min, int max);

/* Print a command table as help does: "  name usage\n      summary\n". */
void cli_print_commands(FILE *f, const struct command *table);

/* Families, each in its own src/cmd-<family>.c. */
int cmd_config(int argc, char **argv, struct ctx *ctx);
int cmd_load(int argc, char **argv, struct ctx *ctx);
extern const struct command config_commands[];
extern const char config_help[];
extern const char load_help[];

#endif
