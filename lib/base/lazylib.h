/*
 * Heavy shared libraries (libcurl, libarchive, libcrypto) are opened on
 * first use with dlopen(3) instead of being linked: linking libcurl alone
 * adds ~12 ms to every owctl start (30 libraries to map and initialise),
 * which would make `owctl config get` slower than the Python it replaces.
 * Modules keep a table of function pointers filled by lazylib_bind().
 */
#ifndef OWCTL_LAZYLIB_H
#define OWCTL_LAZYLIB_H

#include <stddef.h>

#include "err.h"

struct lazy_sym {
	const char *name;	/* symbol name */
	void **slot;		/* where to store its address */
};

/*
 * Open the first loadable of sonames (a NULL-terminated list, e.g.
 * {"libcurl.so.4", NULL}) once per process and resolve every symbol in
 * syms (terminated by a NULL name) into its slot. Later calls with the
 * same first soname return at once. Fails (ERR_FAIL) naming the library
 * or symbol and the Debian package that provides it (pkg).
 */
int lazylib_bind(const char *const *sonames, const char *pkg,
		 const struct lazy_sym *syms, struct err *e);

/* Store a function pointer's address in a lazy_sym slot. */
#define LAZY_SYM(name, fp) { (name), (void **)(void *)&(fp) }

#endif
