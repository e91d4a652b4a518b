/*
 * Wheels (PEP 427): the file name's parts, and members read out of the
 * zip archive with a small bounds-checked reader on zlib (stored and
 * deflated members; no zip64, no encryption).
 */
#ifndef OWCTL_WHEEL_H
#define OWCTL_WHEEL_H

#include <stddef.h>

#include "err.h"
#include "sbuf.h"

/* The parts of "name-version(-build)?-python-abi-platform.whl". */
struct wheel_name {
	char *name;		/* as written ("omero_web") */
	char *key;		/* PEP 503 normalised ("omero-web") */
	char *version;		/* as written */
	char *python, *abi, *platform;	/* compressed tag sets */
};

/*
 * Split a wheel file name (no directory part). Returns 0, or -1 when it is
 * not one (wrong suffix or number of dashes); w is then empty.
 */
int wheel_name_parse(struct wheel_name *w, const char *filename);
void wheel_name_release(struct wheel_name *w);
/* A pure-Python wheel for Python 3: abi "none", platform "any", and a
 * python tag "py3", "py3N" or "py2.py3"-style set holding one. */
int wheel_name_pure_py3(const struct wheel_name *w);

/*
 * Append the uncompressed content of the member whose path is exactly name
 * to out. Returns 1, 0 when there is no such member, or -1 with ERR_BADVALUE
 * for a damaged, unsupported or over-max member ("what" names the archive
 * in messages).
 */
int wheel_read_member(const void *zip, size_t len, const char *what,
		      const char *name, size_t max, struct sbuf *out,
		      struct err *e);

/*
 * The wheel's METADATA (required: -1 without one) and top_level.txt (left
 * empty when absent), from its top-level "*.dist-info/" directory.
 */
int wheel_metadata(const void *zip, size_t len, const char *what,
		   struct sbuf *metadata, struct sbuf *top_level,
		   struct err *e);

#endif
