/* Pieces of cmd-config.c that `owctl load` shares. */
#ifndef OWCTL_CMD_CONFIG_H
#define OWCTL_CMD_CONFIG_H

#include "config/store.h"

/* Make every config subcommand work on s (NULL: each opens its own). */
void config_set_shared_store(struct cfg_store *s);

#endif
