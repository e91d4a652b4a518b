/* owctl plugins: the family entry point and its table (src/cmd-plugins.c). */
#ifndef OWCTL_CMD_PLUGINS_H
#define OWCTL_CMD_PLUGINS_H

#include "cli.h"

int cmd_plugins(int argc, char **argv, struct ctx *ctx);
extern const struct command plugins_commands[];
extern const char plugins_help[];

#endif
