/* owctl upgrade: the family entry point and its table (src/cmd-upgrade.c). */
#ifndef OWCTL_CMD_UPGRADE_H
#define OWCTL_CMD_UPGRADE_H

#include "cli.h"

int cmd_upgrade(int argc, char **argv, struct ctx *ctx);
extern const struct command upgrade_commands[];
extern const char upgrade_help[];

#endif
