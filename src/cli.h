/*
 * The front end's shared pieces: the context every command gets, command
 * tables, dispatch, the one error sink (err code -> exit status) and usage
 * errors.
 */
#ifndef OWCTL_CLI_H
#define OWCTL_CLI_H

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

/* Families, each in its own src/cmd-<family>.c. */
int cmd_config(int argc, char **argv, struct ctx *ctx);
int cmd_load(int argc, char **argv, struct ctx *ctx);
extern const struct command config_commands[];
extern const char config_help[];
extern const char load_help[];

#endif
