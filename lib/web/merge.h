/*
 * Text merging and diffing with GNU diffutils: a three-way merge with
 * `diff3 -m` and unified diffs with `diff -u`, run through proc_run on
 * private temporary files. No shell, no files left behind.
 */
#ifndef OWCTL_WEB_MERGE_H
#define OWCTL_WEB_MERGE_H

#include <stddef.h>

#include "err.h"
#include "sbuf.h"

/* A text to merge or compare: len bytes of buf, and its name in output. */
struct merge_text {
	const char *buf;
	size_t len;
	const char *label;	/* NULL: "-" */
};

/*
 * Three-way merge (`diff3 -m -E -a -L ... LOCAL BASE OTHER`): the changes
 * from base to other applied to local; the same change made on both sides
 * is taken once. The result is appended to out; where both sides changed
 * the same lines differently it holds conflict blocks of diff3's default
 * mode ("<<<<<<< local label", "||||||| base label", "=======",
 * ">>>>>>> other label"; identical changes next to them are bracketed
 * too) and *conflicts is set to 1, else 0.
 * Returns -1 (ERR_IO) when diff3 cannot be run or reports trouble.
 */
int merge3(const struct merge_text *local, const struct merge_text *base,
	   const struct merge_text *other, struct sbuf *out, int *conflicts,
	   struct err *e);

/*
 * Append the unified diff (`diff -u -a`, 3 lines of context) from a to b,
 * with headers "--- a->label" and "+++ b->label"; nothing when the texts
 * are equal. Returns -1 (ERR_IO) when diff cannot be run.
 */
int diff_unified(const struct merge_text *a, const struct merge_text *b,
		 struct sbuf *out, struct err *e);

/*
 * Does text hold a line starting with a conflict marker ("<<<<<<< ",
 * "=======" alone, ">>>>>>> ")? Returns its 1-based line number, or 0.
 */
size_t merge_find_marker(const char *text, size_t len);

#endif
