/*
 * The few libcrypto functions owctl needs (SHA-1/SHA-256 digests and
 * HMAC for Django's signatures, SHA-256 of downloaded wheels), opened on
 * first use with lazylib: linking libcrypto costs every owctl start ~2 ms.
 * openssl/evp.h supplies the types only.
 */
#ifndef OWCTL_LAZYCRYPTO_H
#define OWCTL_LAZYCRYPTO_H

#include <stddef.h>

#include <openssl/evp.h>

#include "err.h"

struct lazycrypto {
	int (*digest)(const void *, size_t, unsigned char *, unsigned int *,
		      const EVP_MD *, ENGINE *);	/* EVP_Digest */
	const EVP_MD *(*sha1)(void);			/* EVP_sha1 */
	const EVP_MD *(*sha256)(void);			/* EVP_sha256 */
	unsigned char *(*hmac)(const EVP_MD *, const void *, int,
			       const unsigned char *, size_t,
			       unsigned char *, unsigned int *); /* HMAC */
};

/* The bound functions; valid after lazycrypto_bind() returned 0. */
extern struct lazycrypto lazycrypto;

/* Open libcrypto.so.3 once; ERR_FAIL naming the package (libssl3). */
int lazycrypto_bind(struct err *e);

#endif
