/*
 * A scratch directory for a cmocka test group: UNIT_TMPDIR("name") defines
 * `dir` (/tmp/owctl-test-name-XXXXXX, created by setup()) and the group's
 * setup() and teardown(), which removes it with everything in it.
 */
#ifndef OWCTL_UNIT_TMPDIR_H
#define OWCTL_UNIT_TMPDIR_H

#include <stdlib.h>

#include "sbuf.h"

#define UNIT_TMPDIR(name)						\
	static char dir[] = "/tmp/owctl-test-" name "-XXXXXX";		\
									\
	static int							\
	setup(void **state)						\
	{								\
		(void)state;						\
		return mkdtemp(dir) ? 0 : -1;				\
	}								\
									\
	static int							\
	teardown(void **state)						\
	{								\
		struct sbuf cmd = SBUF_INIT;				\
		int r;							\
									\
		(void)state;						\
		sbuf_addf(&cmd, "rm -rf '%s'", dir);			\
		r = system(cmd.buf);					\
		sbuf_release(&cmd);					\
		return r;						\
	}

#endif
