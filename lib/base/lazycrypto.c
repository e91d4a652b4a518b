/* libcrypto bound on first use (see lazycrypto.h). */
#include "lazycrypto.h"
#include "lazylib.h"
#include "banned.h"

struct lazycrypto lazycrypto;

int
lazycrypto_bind(struct err *e)
{
	static const char *const libs[] = { "libcrypto.so.3", NULL };
	const struct lazy_sym syms[] = {
		LAZY_SYM("EVP_Digest", lazycrypto.digest),
		LAZY_SYM("EVP_sha1", lazycrypto.sha1),
		LAZY_SYM("EVP_sha256", lazycrypto.sha256),
		LAZY_SYM("HMAC", lazycrypto.hmac),
		{ NULL, NULL }
	};

	return lazylib_bind(libs, "libssl3", syms, e);
}
