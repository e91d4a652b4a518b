/* On-demand loading of heavy shared libraries (see lazylib.h). */
#include <dlfcn.h>
#include <string.h>

#include "lazylib.h"
#include "banned.h"

#define MAX_LIBS 8

static struct {
	const char *key;	/* first soname asked for */
	void *handle;
} loaded[MAX_LIBS];

static void *
open_any(const char *const *sonames)
{
	for (size_t i = 0; i < MAX_LIBS; i++)
		if (loaded[i].key && !strcmp(loaded[i].key, sonames[0]))
			return loaded[i].handle;
	for (const char *const *s = sonames; *s; s++) {
		void *h = dlopen(*s, RTLD_NOW | RTLD_LOCAL);

		if (!h)
			continue;
		for (size_t i = 0; i < MAX_LIBS; i++)
			if (!loaded[i].key) {
				loaded[i].key = sonames[0];
				loaded[i].handle = h;
				break;
			}
		return h;
	}
	return NULL;
}

int
lazylib_bind(const char *const *sonames, const char *pkg,
	     const struct lazy_sym *syms, struct err *e)
{
	void *h = open_any(sonames);

	if (!h)
		return err_set(e, ERR_FAIL, "cannot load '%s' (install the "
			       "Debian package '%s')", sonames[0], pkg);
	for (const struct lazy_sym *s = syms; s->name; s++) {
		void *p;

		if (*s->slot)
			continue;
		dlerror();
		p = dlsym(h, s->name);
		if (!p)
			return err_set(e, ERR_FAIL, "'%s' has no symbol '%s' "
				       "(a newer version of '%s' is needed)",
				       sonames[0], s->name, pkg);
		*s->slot = p;
	}
	return 0;
}
