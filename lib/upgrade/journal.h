/*
 * The upgrade journal: one directory per upgrade under
 * $OMERODIR/var/owctl/upgrades/<id>/ (mode 0700) holding journal.jsonl,
 * an append-only list of JSON records, each written with one write(2) and
 * fsync'ed, so that `owctl upgrade resume` after a crash (even kill -9)
 * knows exactly which steps finished. A torn last line is ignored.
 */
#ifndef OWCTL_JOURNAL_H
#define OWCTL_JOURNAL_H

#include <jansson.h>

#include "err.h"

struct journal {
	int fd;			/* journal.jsonl, O_APPEND */
	char *dir;		/* the upgrade's directory */
	char *id;		/* its name: UTC timestamp YYYYmmddTHHMMSSZ */
};

#define JOURNAL_INIT { -1, NULL, NULL }

/* The directory holding every upgrade: $OMERODIR/var/owctl/upgrades. */
char *journal_root(const char *omerodir);

/* Start a new upgrade directory (id NULL: from the current UTC time). */
int journal_create(struct journal *j, const char *omerodir, const char *id,
		   struct err *e);

/* Open the most recent upgrade (by id) for appending; ERR_FAIL when none. */
int journal_open_latest(struct journal *j, const char *omerodir,
			struct err *e);

/*
 * Append {"time": ISO-8601 UTC, "step": step, "state": state, ...data}
 * (data's members merged in; data may be NULL) and fsync.
 */
int journal_append(struct journal *j, const char *step, const char *state,
		   json_t *data, struct err *e);

/* Every complete record of the journal, as a new JSON array. */
json_t *journal_records(const struct journal *j, struct err *e);

/* The state of the last record for step ("done", "failed", ...) or NULL;
 * points into records. */
const char *journal_step_state(json_t *records, const char *step);

void journal_close(struct journal *j);

#endif
