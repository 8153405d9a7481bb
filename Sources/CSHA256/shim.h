// SHA-256 from the system's libcrypto (OpenSSL), called with the context on the stack: no
// allocation per hash (ADR 0026). OpenSSL 3 marks the low-level SHA-256 functions deprecated
// in favour of EVP, whose digests allocate a context each; these ones are kept and use the
// CPU's SHA extensions where it has them.
#ifndef KIZUNA_CSHA256_SHIM_H
#define KIZUNA_CSHA256_SHIM_H
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <stddef.h>
#include <openssl/sha.h>

/// SHA-256 of `a` followed by `b` and `c` (either may be empty) into `out` (32 bytes).
static inline void kizuna_sha256_3(const void *a, size_t a_length, const void *b, size_t b_length,
                                   const void *c, size_t c_length, unsigned char *out) {
    SHA256_CTX context;
    SHA256_Init(&context);
    SHA256_Update(&context, a, a_length);
    if (b_length > 0) SHA256_Update(&context, b, b_length);
    if (c_length > 0) SHA256_Update(&context, c, c_length);
    SHA256_Final(out, &context);
}

#endif
