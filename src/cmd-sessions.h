/*
 * owctl sessions: the family entry point and its table
 * (src/cmd-sessions.c). `owctl web clearsessions` is declared in cmd-web.h.
 */
#ifndef OWCTL_CMD_SESSIONS_H
#define OWCTL_CMD_SESSIONS_H

#include "cli.h"

int cmd_sessions(int argc, char **argv, struct ctx *ctx);
extern const struct command sessions_commands[];
extern const char sessions_help[];

#endif
