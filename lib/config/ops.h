/*
 * What the `config` subcommands do to an open store, apart from argv and
 * printing: omero-py's prefs.py semantics, message for message.
 */
#ifndef OWCTL_OPS_H
#define OWCTL_OPS_H

#include "sbuf.h"
#include "store.h"
#include "strv.h"

/* Is key shown masked by `config get` (ends with pass/password)? */
int cfgop_is_password_key(const char *key);

/*
 * `config get`: lines for keys (all keys but the internal two when
 * keys->n == 0). One explicit key prints the raw value; otherwise
 * "key=value" lines, passwords masked unless show_password.
 */
void cfgop_get(struct cfg_store *s, const struct strv *keys,
	       int show_password, struct sbuf *out);

/* `config keys`: sorted keys of the active profile without the internal
 * two; `config all`: profile ids. One per line. */
void cfgop_keys(struct cfg_store *s, struct sbuf *out);

/*
 * `config set KEY VALUE` (value != NULL: key validated, ERR_CFG_ILLEGAL_KEY)
 * or `config set KEY` (delete every property named KEY, no validation).
 */
int cfgop_set(struct cfg_store *s, const char *key, const char *value,
	      struct err *e);

/*
 * `config append [--set] KEY VALUE`: JSON list append with omero-py's
 * errors (ERR_CFG_NOT_JSON, ERR_CFG_NOT_LIST, ERR_CFG_DEFAULT_NOT_LIST) and
 * omero.web.* defaults from the schema. *changed tells whether it
 * appended (with set_only, an equal element already present means no).
 */
int cfgop_append(struct cfg_store *s, const char *key, const char *value,
		 int set_only, int *changed, struct err *e);

/* `config remove KEY VALUE`: ERR_CFG_UNDEFINED, ERR_CFG_NOT_IN_LIST, ... */
int cfgop_remove(struct cfg_store *s, const char *key, const char *value,
		 struct err *e);

/* The active profile's omero.config.version, or NULL. */
const char *cfgop_version(struct cfg_store *s);

#endif
