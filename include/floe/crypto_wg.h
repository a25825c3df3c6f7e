/*
 * floe WireGuard crypto: the primitives of the WireGuard paper (section 5.4) and
 * of its cookie replies, without any protocol state.
 *
 *   X25519                 OpenSSL EVP_PKEY; an all-zero shared secret is refused. A key
 *                          object keeps a private key loaded for repeated DHs.
 *   ChaCha20-Poly1305      OpenSSL EVP (RFC 8439); one context per key, reused for every
 *                          packet: per packet only the nonce is set.
 *   XChaCha20-Poly1305     HChaCha20 in portable C (OpenSSL has none), then the above with
 *                          the derived subkey (draft-irtf-cfrg-xchacha-03).
 *   BLAKE2s                portable C (RFC 7693): HASH, keyed MAC, HMAC-BLAKE2s and the
 *                          KDF1/KDF2/KDF3 of the paper.
 *
 * Why BLAKE2s is not OpenSSL's: OpenSSL 3.0 offers BLAKE2S-256 (fixed 32-byte output) and
 * BLAKE2SMAC behind EVP_MD/EVP_MAC_CTX objects that must be fetched, allocated and can fail.
 * WireGuard hashes and MACs inputs of 32-200 bytes, where that set-up weighs. Measured with
 * bench/aead_bench.c (Release, one core, several runs): HASH of 64 bytes about 185-210 ns
 * here against 210-310 ns for EVP_Digest (x1.1-1.4); the 16-byte keyed MAC 300 ns against
 * 290 ns for a reused BLAKE2SMAC context (x0.93-1.07; both compress the key block and the
 * data block, and this code also wipes its state). Equal speed or better, then, and the
 * portable code takes any key and output length directly, allocates nothing and cannot
 * fail, so it was kept.
 *
 * Sizes are fixed by the protocol, so keys, nonces and public values are fixed-size arrays;
 * lengths that vary (messages, associated data, BLAKE2s keys and outputs) are checked and
 * a bad one is FLOE_ERR_INVALID_ARG. Secrets on the stack are wiped with floe_wipe before
 * return; OpenSSL contexts clear their key material when freed.
 */
#ifndef FLOE_CRYPTO_WG_H
#define FLOE_CRYPTO_WG_H

#include "floe/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ X25519 */

#define FLOE_X25519_KEY_LEN 32

/*
 * Clamp a 32-byte random string into an X25519 private key in place (RFC 7748 section 5:
 * clear bits 0-2 and 255, set bit 254), as WireGuard stores its private keys.
 */
void floe_x25519_clamp(uint8_t priv[FLOE_X25519_KEY_LEN]);

/*
 * Make a key pair from 32 bytes drawn from rng: priv is the clamped random string, pub
 * its public key. rng is borrowed for the call. On failure priv and pub are zeroed.
 * Returns 0, FLOE_ERR_INVALID_ARG (NULL argument or no rng hook) or FLOE_ERR_CRYPTO.
 */
FLOE_WARN_UNUSED int floe_x25519_keypair(uint8_t pub[FLOE_X25519_KEY_LEN],
                                         uint8_t priv[FLOE_X25519_KEY_LEN],
                                         const struct floe_rng *rng);

/*
 * Public key of priv: X25519(priv, 9). priv need not be clamped (X25519 clamps a copy).
 * Returns 0, FLOE_ERR_INVALID_ARG (NULL argument) or FLOE_ERR_CRYPTO.
 */
FLOE_WARN_UNUSED int floe_x25519_public(uint8_t pub[FLOE_X25519_KEY_LEN],
                                        const uint8_t priv[FLOE_X25519_KEY_LEN]);

/*
 * Shared secret X25519(priv, peer_pub) into shared. A peer public key of small order gives
 * the all-zero secret, which WireGuard must refuse: that is FLOE_ERR_WEAK_KEY, with shared
 * zeroed. A one-shot: the private key is loaded and dropped inside (see floe_x25519_key
 * for keys used more than once). Returns 0, FLOE_ERR_INVALID_ARG (NULL argument),
 * FLOE_ERR_WEAK_KEY, FLOE_ERR_NOMEM or FLOE_ERR_CRYPTO.
 */
FLOE_WARN_UNUSED int floe_x25519_shared(uint8_t shared[FLOE_X25519_KEY_LEN],
                                        const uint8_t priv[FLOE_X25519_KEY_LEN],
                                        const uint8_t peer_pub[FLOE_X25519_KEY_LEN]);

/*
 * An X25519 private key loaded once into OpenSSL, for keys used in more than one DH: the
 * static key of an interface (every handshake) and an ephemeral key (two DHs per
 * handshake). Importing a private key costs OpenSSL a base-point multiplication and object
 * set-up, so this halves the cost of each DH against floe_x25519_shared. Opaque.
 */
struct floe_x25519_key;

/*
 * Load priv (need not be clamped) into a new key object. OpenSSL copies the key; the
 * caller may wipe its copy. alloc may be NULL and, if not, must outlive the object. The
 * object belongs to one thread.
 * Returns 0 and sets *out, FLOE_ERR_INVALID_ARG, FLOE_ERR_NOMEM or FLOE_ERR_CRYPTO.
 */
FLOE_WARN_UNUSED int floe_x25519_key_new(struct floe_x25519_key **out,
                                         const struct floe_allocator *alloc,
                                         const uint8_t priv[FLOE_X25519_KEY_LEN]);

/* Free key (NULL allowed); OpenSSL clears the private key. */
void floe_x25519_key_free(struct floe_x25519_key *key);

/* Public key of key into pub. Returns 0, FLOE_ERR_INVALID_ARG or FLOE_ERR_CRYPTO. */
FLOE_WARN_UNUSED int floe_x25519_key_public(const struct floe_x25519_key *key,
                                            uint8_t pub[FLOE_X25519_KEY_LEN]);

/*
 * Shared secret of key and peer_pub into shared, with the checks and returns of
 * floe_x25519_shared (FLOE_ERR_WEAK_KEY with shared zeroed for a small-order peer key).
 */
FLOE_WARN_UNUSED int floe_x25519_key_shared(struct floe_x25519_key *key,
                                            uint8_t shared[FLOE_X25519_KEY_LEN],
                                            const uint8_t peer_pub[FLOE_X25519_KEY_LEN]);

/* ------------------------------------------------------- ChaCha20-Poly1305 */

#define FLOE_AEAD_KEY_LEN 32
#define FLOE_AEAD_NONCE_LEN 12
#define FLOE_AEAD_TAG_LEN 16
/* Largest plaintext accepted in one call (OpenSSL takes int lengths). */
#define FLOE_AEAD_MAX_LEN ((size_t)0x7fffffff - FLOE_AEAD_TAG_LEN)

/* A ChaCha20-Poly1305 context keyed once, for any number of messages. Opaque. */
struct floe_aead;

/*
 * Create a context keyed with key[0..key_len); key_len must be FLOE_AEAD_KEY_LEN. The key
 * is copied into OpenSSL's contexts; the caller may wipe its copy. alloc may be NULL and,
 * if not, must outlive the context. The context belongs to one thread.
 * Returns 0 and sets *out, FLOE_ERR_INVALID_ARG, FLOE_ERR_NOMEM or FLOE_ERR_CRYPTO.
 */
FLOE_WARN_UNUSED int floe_aead_new(struct floe_aead **out, const struct floe_allocator *alloc,
                                   const uint8_t *key, size_t key_len);

/* Free ctx (NULL allowed); OpenSSL clears the key material. */
void floe_aead_free(struct floe_aead *ctx);

/*
 * Encrypt m[0..m_len) with associated data ad[0..ad_len) under the 12-byte nonce: writes
 * the ciphertext followed by the 16-byte tag, m_len + FLOE_AEAD_TAG_LEN bytes, to c. c may
 * equal m (in place) but must not otherwise overlap it. ad may be NULL when ad_len is 0.
 * Returns 0, FLOE_ERR_INVALID_ARG (NULL argument, m_len > FLOE_AEAD_MAX_LEN) or
 * FLOE_ERR_CRYPTO.
 */
FLOE_WARN_UNUSED int floe_aead_encrypt(struct floe_aead *ctx, uint8_t *c, const uint8_t *m,
                                       size_t m_len, const uint8_t *ad, size_t ad_len,
                                       const uint8_t nonce[FLOE_AEAD_NONCE_LEN]);

/*
 * Verify and decrypt c[0..c_len) (ciphertext followed by the tag) with associated data
 * ad[0..ad_len) under the 12-byte nonce: writes c_len - FLOE_AEAD_TAG_LEN plaintext bytes
 * to m, which may equal c. The tag is compared in constant time (by OpenSSL). When the
 * arguments are valid but decryption fails, m[0..c_len - 16) is zeroed, so nothing
 * unauthenticated is ever left in it (in place, the ciphertext is gone too).
 * Returns 0, FLOE_ERR_INVALID_ARG (NULL argument, c_len < FLOE_AEAD_TAG_LEN or too long),
 * FLOE_ERR_INTEGRITY (tag mismatch) or FLOE_ERR_CRYPTO.
 */
FLOE_WARN_UNUSED int floe_aead_decrypt(struct floe_aead *ctx, uint8_t *m, const uint8_t *c,
                                       size_t c_len, const uint8_t *ad, size_t ad_len,
                                       const uint8_t nonce[FLOE_AEAD_NONCE_LEN]);

/*
 * WireGuard's nonce: 4 zero bytes followed by counter as 64-bit little-endian. Writes the
 * 12-byte nonce to out.
 */
void floe_aead_nonce_from_counter(uint8_t out[FLOE_AEAD_NONCE_LEN], uint64_t counter);

/* floe_aead_encrypt with the nonce floe_aead_nonce_from_counter(counter). Same returns. */
FLOE_WARN_UNUSED int floe_aead_encrypt_ctr(struct floe_aead *ctx, uint8_t *c, const uint8_t *m,
                                           size_t m_len, const uint8_t *ad, size_t ad_len,
                                           uint64_t counter);

/* floe_aead_decrypt with the nonce floe_aead_nonce_from_counter(counter). Same returns. */
FLOE_WARN_UNUSED int floe_aead_decrypt_ctr(struct floe_aead *ctx, uint8_t *m, const uint8_t *c,
                                           size_t c_len, const uint8_t *ad, size_t ad_len,
                                           uint64_t counter);

/*
 * One-shot encryption for keys used once (the handshake's AEAD(k, 0, ...)): a context is
 * built and freed inside, with the default allocator. Arguments and returns as
 * floe_aead_encrypt_ctr, plus FLOE_ERR_NOMEM.
 */
FLOE_WARN_UNUSED int floe_aead_encrypt_oneshot(uint8_t *c, const uint8_t *m, size_t m_len,
                                               const uint8_t *ad, size_t ad_len, uint64_t counter,
                                               const uint8_t key[FLOE_AEAD_KEY_LEN]);

/*
 * One-shot decryption, the counterpart of floe_aead_encrypt_oneshot. Same returns as
 * floe_aead_decrypt_ctr, plus FLOE_ERR_NOMEM.
 */
FLOE_WARN_UNUSED int floe_aead_decrypt_oneshot(uint8_t *m, const uint8_t *c, size_t c_len,
                                               const uint8_t *ad, size_t ad_len, uint64_t counter,
                                               const uint8_t key[FLOE_AEAD_KEY_LEN]);

/* ------------------------------------------------------ XChaCha20-Poly1305 */

#define FLOE_HCHACHA20_NONCE_LEN 16
#define FLOE_XAEAD_NONCE_LEN 24

/*
 * HChaCha20 (draft-irtf-cfrg-xchacha-03 section 2.2): the 32-byte subkey of key and a
 * 16-byte nonce, written to out. Pure computation; cannot fail.
 */
void floe_hchacha20(uint8_t out[FLOE_AEAD_KEY_LEN], const uint8_t key[FLOE_AEAD_KEY_LEN],
                    const uint8_t nonce[FLOE_HCHACHA20_NONCE_LEN]);

/*
 * XChaCha20-Poly1305 encryption (WireGuard cookie replies): ChaCha20-Poly1305 under
 * HChaCha20(key, nonce[0..16)) with the nonce 4 zero bytes || nonce[16..24). Output layout,
 * in-place rule and returns as floe_aead_encrypt, plus FLOE_ERR_NOMEM.
 */
FLOE_WARN_UNUSED int floe_xaead_encrypt(uint8_t *c, const uint8_t *m, size_t m_len,
                                        const uint8_t *ad, size_t ad_len,
                                        const uint8_t nonce[FLOE_XAEAD_NONCE_LEN],
                                        const uint8_t key[FLOE_AEAD_KEY_LEN]);

/*
 * XChaCha20-Poly1305 decryption, the counterpart of floe_xaead_encrypt. Output, zeroing on
 * failure and returns as floe_aead_decrypt, plus FLOE_ERR_NOMEM.
 */
FLOE_WARN_UNUSED int floe_xaead_decrypt(uint8_t *m, const uint8_t *c, size_t c_len,
                                        const uint8_t *ad, size_t ad_len,
                                        const uint8_t nonce[FLOE_XAEAD_NONCE_LEN],
                                        const uint8_t key[FLOE_AEAD_KEY_LEN]);

/* ----------------------------------------------------------------- BLAKE2s */

#define FLOE_BLAKE2S_BLOCK_LEN 64
#define FLOE_BLAKE2S_OUT_MAX 32
#define FLOE_BLAKE2S_KEY_MAX 32
/* WireGuard's HASH output and its MAC (mac1, mac2) output. */
#define FLOE_WG_HASH_LEN 32
#define FLOE_WG_MAC_LEN 16

/* Incremental BLAKE2s state, caller-allocated. Fields are private to the implementation. */
struct floe_blake2s {
    uint32_t h[8];
    uint32_t t[2];
    uint8_t buf[FLOE_BLAKE2S_BLOCK_LEN];
    size_t buf_len;
    size_t out_len;
};

/*
 * Start a BLAKE2s computation with out_len output bytes (1..32), keyed with
 * key[0..key_len) if key_len > 0 (at most 32 bytes; key may be NULL when key_len is 0).
 * Returns 0 or FLOE_ERR_INVALID_ARG; on error the state is unusable.
 */
FLOE_WARN_UNUSED int floe_blake2s_init(struct floe_blake2s *s, size_t out_len, const uint8_t *key,
                                       size_t key_len);

/* Absorb in[0..len) (in may be NULL when len is 0). */
void floe_blake2s_update(struct floe_blake2s *s, const uint8_t *in, size_t len);

/* Write the s->out_len output bytes to out and wipe the state. */
void floe_blake2s_final(struct floe_blake2s *s, uint8_t *out);

/*
 * One-shot BLAKE2s of in[0..in_len) with out_len output bytes and an optional key, as
 * floe_blake2s_init. Returns 0 or FLOE_ERR_INVALID_ARG.
 */
FLOE_WARN_UNUSED int floe_blake2s(uint8_t *out, size_t out_len, const uint8_t *in, size_t in_len,
                                  const uint8_t *key, size_t key_len);

/* WireGuard HASH: unkeyed BLAKE2s-256 over the concatenation of n_parts spans. */
void floe_blake2s_hash(uint8_t out[FLOE_WG_HASH_LEN], const struct floe_span *parts,
                       size_t n_parts);

/*
 * WireGuard MAC: keyed BLAKE2s with a 16-byte output over in[0..in_len) (mac1 is keyed with
 * HASH(LABEL_MAC1 || pub), mac2 with the cookie). key_len 1..32.
 * Returns 0 or FLOE_ERR_INVALID_ARG.
 */
FLOE_WARN_UNUSED int floe_blake2s_mac(uint8_t out[FLOE_WG_MAC_LEN], const uint8_t *key,
                                      size_t key_len, const uint8_t *in, size_t in_len);

/*
 * Compare a received 16-byte MAC with the expected one in constant time.
 * Returns true if they are equal.
 */
FLOE_WARN_UNUSED bool floe_blake2s_mac_verify(const uint8_t expected[FLOE_WG_MAC_LEN],
                                              const uint8_t received[FLOE_WG_MAC_LEN]);

/*
 * WireGuard HMAC: HMAC (RFC 2104) over BLAKE2s-256, block size 64, of in[0..in_len) with
 * key[0..key_len) (a key longer than 64 bytes is hashed first). key and in may be NULL when
 * their length is 0. Writes 32 bytes to out. Cannot fail.
 */
void floe_blake2s_hmac(uint8_t out[FLOE_WG_HASH_LEN], const uint8_t *key, size_t key_len,
                       const uint8_t *in, size_t in_len);

/*
 * WireGuard KDF_n (paper section 5.4) with the 32-byte chaining key ck and input
 * in[0..in_len): t0 = HMAC(ck, in), t1 = HMAC(t0, 0x1), t2 = HMAC(t0, t1 || 0x2),
 * t3 = HMAC(t0, t2 || 0x3). out1 gets t1 and is required; out2 and out3 get t2 and t3 when
 * not NULL (KDF1: both NULL, KDF2: out3 NULL, KDF3: none NULL). Outputs may alias ck.
 * Returns 0 or FLOE_ERR_INVALID_ARG (out1 or ck NULL, out3 without out2, NULL in with
 * in_len > 0).
 */
FLOE_WARN_UNUSED int floe_blake2s_kdf(uint8_t out1[FLOE_WG_HASH_LEN],
                                      uint8_t out2[FLOE_WG_HASH_LEN],
                                      uint8_t out3[FLOE_WG_HASH_LEN],
                                      const uint8_t ck[FLOE_WG_HASH_LEN], const uint8_t *in,
                                      size_t in_len);

#ifdef __cplusplus
}
#endif

#endif
