/*
 * floe crypto adapter: the one place that talks to OpenSSL libcrypto 3.
 *
 * Keyed contexts are created once per key and reused for every message; the
 * one-shot helpers are for keys used once (long-term key derivation, tests).
 */
#ifndef FLOE_CRYPTO_H
#define FLOE_CRYPTO_H

#include "floe/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_SHA1_LEN 20
#define FLOE_SHA256_LEN 32
#define FLOE_MD5_LEN 16

enum floe_hmac_alg {
    FLOE_HMAC_SHA1,
    FLOE_HMAC_SHA256,
};

/* A keyed HMAC context, reusable for any number of messages. Opaque. */
struct floe_hmac;

/*
 * Create an HMAC context for alg keyed with key[0..key_len): the digest states after the
 * padded key, so a message costs its own blocks and one more, with no allocation (plain
 * OpenSSL SHA_CTX/SHA256_CTX copies). The caller may wipe its copy of the key. alloc may be
 * NULL.
 * Returns 0 and sets *out, FLOE_ERR_INVALID_ARG, FLOE_ERR_NOMEM or FLOE_ERR_CRYPTO.
 */
FLOE_WARN_UNUSED int floe_hmac_new(struct floe_hmac **out, const struct floe_allocator *alloc,
                                   enum floe_hmac_alg alg, const uint8_t *key, size_t key_len);
/* Free ctx (NULL allowed); the key-derived states are wiped. */
void floe_hmac_free(struct floe_hmac *ctx);
/* Output length in bytes: 20 for SHA-1, 32 for SHA-256. */
size_t floe_hmac_len(const struct floe_hmac *ctx);

/*
 * MAC over the concatenation of n_parts spans into out (floe_hmac_len bytes).
 * Returns 0 or FLOE_ERR_CRYPTO.
 */
FLOE_WARN_UNUSED int floe_hmac_compute(struct floe_hmac *ctx, uint8_t *out,
                                       const struct floe_span *parts, size_t n_parts);

/*
 * HMAC under a key used once, over the concatenation of n_parts spans, into out (20 or 32
 * bytes): the padded key's states are built on the stack, nothing is allocated (two more
 * blocks than floe_hmac_compute with a kept context).
 * Returns 0, FLOE_ERR_INVALID_ARG or FLOE_ERR_CRYPTO.
 */
FLOE_WARN_UNUSED int floe_hmac_compute_key(enum floe_hmac_alg alg, uint8_t *out, const uint8_t *key,
                                           size_t key_len, const struct floe_span *parts,
                                           size_t n_parts);

/* One-shot HMAC of msg (floe_hmac_compute_key of one part). Returns as above. */
FLOE_WARN_UNUSED int floe_hmac_oneshot(enum floe_hmac_alg alg, uint8_t *out, const uint8_t *key,
                                       size_t key_len, const uint8_t *msg, size_t msg_len);

/* MD5 and SHA-256 over the concatenation of parts. Return 0 or FLOE_ERR_CRYPTO. */
FLOE_WARN_UNUSED int floe_md5(uint8_t out[FLOE_MD5_LEN], const struct floe_span *parts,
                              size_t n_parts);
FLOE_WARN_UNUSED int floe_sha256(uint8_t out[FLOE_SHA256_LEN], const struct floe_span *parts,
                                 size_t n_parts);

/* CRC-32 (ISO-HDLC, as used by STUN FINGERPRINT) of buf[0..len). */
uint32_t floe_crc32(const uint8_t *buf, size_t len);

/*
 * Cryptographically secure random bytes from the operating system via OpenSSL,
 * for daemons and key generation. Returns 0 or FLOE_ERR_CRYPTO.
 */
FLOE_WARN_UNUSED int floe_crypto_random(uint8_t *out, size_t len);
/* A floe_rng hook drawing from floe_crypto_random (aborts the process if it fails). */
struct floe_rng floe_crypto_rng(void);

/* Standard base64 (RFC 4648, padded). Returns the length written or FLOE_ERR_BUFFER_TOO_SMALL. */
int floe_base64_encode(char *out, size_t cap, const uint8_t *in, size_t len);
/*
 * Decode standard padded base64 into out. Returns the length written,
 * FLOE_ERR_MALFORMED or FLOE_ERR_BUFFER_TOO_SMALL.
 */
int floe_base64_decode(uint8_t *out, size_t cap, const char *in, size_t len);

#ifdef __cplusplus
}
#endif

#endif
