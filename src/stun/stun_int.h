/* Private helpers shared by the STUN codec files (decode, build, integrity, ChannelData). */
#ifndef FLOE_STUN_INT_H
#define FLOE_STUN_INT_H

#include "floe/stun.h"

/* RFC 8489 section 14: attribute header is type (16) and length (16). */
#define FLOE__STUN_ATTR_HEADER_LEN 4
/* RFC 8489 section 14.5: MESSAGE-INTEGRITY is an HMAC-SHA1, 20 bytes. */
#define FLOE__STUN_MI_LEN 20
/* RFC 8489 section 14.6: MESSAGE-INTEGRITY-SHA256 is 16..32 bytes in steps of 4. */
#define FLOE__STUN_MI256_MIN 16
#define FLOE__STUN_MI256_MAX 32
/* RFC 8489 section 14.7 */
#define FLOE__STUN_FP_LEN 4
/* Largest header length field that is a multiple of 4. */
#define FLOE__STUN_MAX_BODY 0xFFFCu

/* Round an attribute value length up to the 4-byte boundary (RFC 8489 section 14). */
static inline size_t floe__stun_pad4(size_t len)
{
    return (len + 3u) & ~(size_t)3u;
}

/* The 16-bit message type from method and class (RFC 8489 section 5, figure 3). */
uint16_t floe__stun_type_encode(uint16_t method, uint8_t cls);

/*
 * XOR ip[0..n) and *port with the magic cookie and, for IPv6, the transaction
 * id (RFC 8489 section 14.2). Applying it twice restores the input.
 */
void floe__stun_xor_addr(uint8_t *ip, size_t n, uint16_t *port, const uint8_t *txid);

/* What computes a MAC: a kept context, or (ctx NULL) an HMAC-SHA1 key used once. */
struct floe__stun_signer {
    struct floe_hmac *ctx;
    const uint8_t *key;
    size_t key_len;
};

/*
 * HMAC of the first `prefix` bytes of the message at raw, with the header's
 * length field replaced by `length` (RFC 8489 sections 14.5 and 14.6).
 * out receives the signer's MAC length. Returns 0 or FLOE_ERR_CRYPTO.
 */
int floe__stun_mac(const struct floe__stun_signer *s, uint8_t *out, const uint8_t *raw,
                   size_t prefix, uint16_t length);

/* FINGERPRINT value over raw[0..prefix) (RFC 8489 section 14.7). */
uint32_t floe__stun_fingerprint(const uint8_t *raw, size_t prefix);

/* Record err in the builder unless an earlier error is already there (sticky). */
void floe__stun_build_fail(struct floe_stun_builder *b, int err);

/*
 * Append an attribute header for type with a len-byte value plus zero padding,
 * update the header's length field, and return the value to fill in; NULL with
 * the builder's error set when it does not fit or an error is already recorded.
 * Order rules are the caller's business.
 */
uint8_t *floe__stun_build_attr(struct floe_stun_builder *b, uint16_t type, size_t len);

#endif
