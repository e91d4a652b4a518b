/*
 * libcrypto on first use for the session code: djsign.c calls HMAC(),
 * EVP_Digest(), EVP_sha1/sha256(), OPENSSL_cleanse() and CRYPTO_memcmp()
 * by name, and lazycrypto.c defines those names as small forwarders to a
 * dlopen'ed libcrypto.so.3, so owctl never has libcrypto in DT_NEEDED
 * (mapping it costs every command start ~2 ms; see lazylib.h).
 */
#ifndef OWCTL_LAZYCRYPTO_H
#define OWCTL_LAZYCRYPTO_H

#include "err.h"

/*
 * Open libcrypto and bind the forwarded functions. Call it before any
 * djsign function: a forwarder used without it loads the library itself
 * and aborts when that fails. Returns 0, or -1 with e naming the missing
 * library (package libssl3).
 */
int lazycrypto_load(struct err *e);

#endif
