/*
 * Shared bits of the libFuzzer targets (fuzz/fuzz-<name>.c): the entry
 * point's prototype, a check that aborts with a message (libFuzzer then
 * saves the input as a crash), and helpers to cut an input into fields.
 */
#ifndef OWCTL_FUZZ_UTIL_H
#define OWCTL_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the code under test promises; on failure libFuzzer keeps the
 * input in crash-<sha1>. */
#define FUZZ_CHECK(cond, ...)                                           \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "fuzz check failed: %s (%s:%d): ", \
				#cond, __FILE__, __LINE__);             \
			fprintf(stderr, __VA_ARGS__);                   \
			fputc('\n', stderr);                            \
			abort();                                        \
		}                                                       \
	} while (0)

/* A NUL-terminated copy of the input (cut at its first NUL). */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	return xstrndup((const char *)data, size);
}

/*
 * The next field of the input: bytes up to the next sep (or the end).
 * Returns a malloc'ed NUL-terminated string, or NULL when the input is
 * used up; *pos moves past the separator.
 */
static inline char *
fuzz_field(const uint8_t *data, size_t size, size_t *pos, int sep)
{
	const uint8_t *b, *e;
	char *s;

	if (*pos > size)
		return NULL;
	b = data + *pos;
	e = memchr(b, sep, size - *pos);
	if (!e)
		e = data + size;
	s = xstrndup((const char *)b, (size_t)(e - b));
	*pos = (size_t)(e - data) + 1;
	return s;
}

#endif
