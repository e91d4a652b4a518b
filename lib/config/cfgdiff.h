/*
 * Property-level difference between two configurations (config.xml files
 * or exports), for `owctl config diff`. Secrets are masked unless asked.
 */
#ifndef OWCTL_CFGDIFF_H
#define OWCTL_CFGDIFF_H

#include "export.h"

/*
 * Append to out, profile by profile (a's order, then profiles only in b),
 * "@profile NAME" then "-KEY=OLD" / "+KEY=NEW" lines (keys sorted), values
 * escaped as in exports. Masked values print as "********" (a changed
 * secret shows both sides masked). Returns the number of differing keys
 * plus profiles present on one side only.
 */
size_t cfgdiff(const struct cfgexp *a, const struct cfgexp *b,
	       int show_secrets, struct sbuf *out);

#endif
