// SHA-256 from the system's libcrypto (OpenSSL): `Hash` calls SHA256_Init, SHA256_Update and
// SHA256_Final with the context on the stack, so a hash allocates nothing (ADR 0026). OpenSSL 3
// marks these low-level functions deprecated in favour of EVP, whose digests allocate a context
// each; they remain, and use the CPU's SHA extensions where it has them.
#ifndef KIZUNA_CSHA256_SHIM_H
#define KIZUNA_CSHA256_SHIM_H
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#endif
