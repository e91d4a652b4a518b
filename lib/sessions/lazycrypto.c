/*
 * Forwarders with OpenSSL's own names and prototypes (see lazycrypto.h).
 * The static link resolves djsign.o's references here, inside libowcore.a,
 * so the linker (--as-needed) drops libcrypto.so from the binary.
 */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lazycrypto.h"
#include "lazylib.h"
#include "banned.h"

static struct {
	int bound;
	int (*digest)(const void *, size_t, unsigned char *, unsigned int *,
		      const EVP_MD *, ENGINE *);
	const EVP_MD *(*sha1)(void);
	const EVP_MD *(*sha256)(void);
	unsigned char *(*hmac)(const EVP_MD *, const void *, int,
			       const unsigned char *, size_t, unsigned char *,
			       unsigned int *);
} lc;

int
lazycrypto_load(struct err *e)
{
	static const char *const libs[] = { "libcrypto.so.3", NULL };
	const struct lazy_sym syms[] = {
		LAZY_SYM("EVP_Digest", lc.digest),
		LAZY_SYM("EVP_sha1", lc.sha1),
		LAZY_SYM("EVP_sha256", lc.sha256),
		LAZY_SYM("HMAC", lc.hmac),
		{ NULL, NULL }
	};

	if (lc.bound)
		return 0;
	if (lazylib_bind(libs, "libssl3", syms, e) < 0)
		return -1;
	lc.bound = 1;
	return 0;
}

/* A forwarder called before lazycrypto_load() succeeded. */
static void
need(void)
{
	struct err e = ERR_INIT;

	if (lc.bound || lazycrypto_load(&e) == 0)
		return;
	/* Same policy as xmalloc: a programming error, not a user error. */
	abort();
}

int
EVP_Digest(const void *data, size_t count, unsigned char *md,
	   unsigned int *size, const EVP_MD *type, ENGINE *impl)
{
	need();
	return lc.digest(data, count, md, size, type, impl);
}

const EVP_MD *
EVP_sha1(void)
{
	need();
	return lc.sha1();
}

const EVP_MD *
EVP_sha256(void)
{
	need();
	return lc.sha256();
}

unsigned char *
HMAC(const EVP_MD *evp_md, const void *key, int key_len,
     const unsigned char *data, size_t data_len, unsigned char *md,
     unsigned int *md_len)
{
	need();
	return lc.hmac(evp_md, key, key_len, data, data_len, md, md_len);
}

/* These two need no library: written here, as OpenSSL defines them. */
void
OPENSSL_cleanse(void *ptr, size_t len)
{
	volatile unsigned char *p = ptr;

	while (len--)
		*p++ = 0;
}

int
CRYPTO_memcmp(const void *in_a, const void *in_b, size_t len)
{
	const volatile unsigned char *a = in_a, *b = in_b;
	unsigned char x = 0;
	size_t i;

	for (i = 0; i < len; i++)
		x |= a[i] ^ b[i];
	return x;
}
