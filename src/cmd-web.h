/*
 * owctl web: the family entry point and its table (src/cmd-web.c), plus the
 * handlers of rows whose code lives in other files.
 */
#ifndef OWCTL_CMD_WEB_H
#define OWCTL_CMD_WEB_H

#include "cli.h"

int cmd_web(int argc, char **argv, struct ctx *ctx);
extern const struct command web_commands[];
extern const char web_help[];

/* --venv DIR given before the subcommand (NULL if not), for handlers in
 * other files that need the OMERO.web virtualenv. */
const char *web_venv_option(void);

/*
 * Handlers of the rows `config`, `nginx`, `clearsessions`, `diagnostics`
 * are declared here by the engineers who write them (each in its own
 * src/cmd-web-*.c), e.g.:
 * int web_config(int argc, char **argv, struct ctx *ctx);
 */

/* src/cmd-web-nginx.c: `web config TYPE ...` and `web nginx install ...` */
int cmd_web_config(int argc, char **argv, struct ctx *ctx);
int cmd_web_nginx(int argc, char **argv, struct ctx *ctx);

/* src/cmd-sessions.c: `web clearsessions` (owctl's purge, upstream's
 * output) */
int web_clearsessions(int argc, char **argv, struct ctx *ctx);
/*
 * The same purge for `web start` (instead of manage.py clearsessions):
 * prints nothing on stdout, only warnings on stderr. venv is --venv or
 * NULL. Returns 0, or -1 with e set (status via cli_fail).
 */
int web_purge_sessions(struct ctx *ctx, const char *venv, struct err *e);

/* src/cmd-web-diag.c: `web diagnostics` (upstream's text, owctl's
 * sections, --json, --bundle) */
int web_diagnostics(int argc, char **argv, struct ctx *ctx);

#endif
