/*
 * STUN message builder (RFC 8489 section 5 and 14): writes a message into the
 * caller's buffer attribute by attribute, keeping the header length field
 * current so that integrity and fingerprint can be computed in place.
 */
#include <string.h>

#include "stun/stun_int.h"

uint16_t floe__stun_type_encode(uint16_t method, uint8_t cls)
{
    unsigned m = method, c = cls;

    return (uint16_t)((m & 0x000Fu) | ((c & 1u) << 4) | ((m & 0x0070u) << 1) | ((c & 2u) << 7) |
                      ((m & 0x0F80u) << 2));
}

void floe__stun_xor_addr(uint8_t *ip, size_t n, uint16_t *port, const uint8_t *txid)
{
    uint8_t key[4 + FLOE_STUN_TXID_LEN];
    size_t i;

    floe_store_be32(key, FLOE_STUN_MAGIC_COOKIE);
    memcpy(key + 4, txid, FLOE_STUN_TXID_LEN);
    *port ^= (uint16_t)(FLOE_STUN_MAGIC_COOKIE >> 16);
    for (i = 0; i < n && i < sizeof(key); i++)
        ip[i] ^= key[i];
}

void floe__stun_build_fail(struct floe_stun_builder *b, int err)
{
    if (!b->err)
        b->err = err;
}

void floe_stun_build_init(struct floe_stun_builder *b, uint8_t *buf, size_t cap,
                          uint16_t method, uint8_t cls, const uint8_t *txid)
{
    static const uint8_t zero_txid[FLOE_STUN_TXID_LEN];

    if (!b)
        return;
    floe_writer_init(&b->w, buf, cap);
    b->err = 0;
    b->sealed = false;
    b->sealed_sha256 = false;
    b->finished = false;
    if (method > 0x0FFF || cls > FLOE_STUN_ERROR || !txid)
        floe__stun_build_fail(b, FLOE_ERR_INVALID_ARG);
    floe_writer_be16(&b->w, floe__stun_type_encode(method, cls));
    floe_writer_be16(&b->w, 0);
    floe_writer_be32(&b->w, FLOE_STUN_MAGIC_COOKIE);
    floe_writer_bytes(&b->w, txid ? txid : zero_txid, FLOE_STUN_TXID_LEN);
    if (b->w.overflow)
        floe__stun_build_fail(b, FLOE_ERR_BUFFER_TOO_SMALL);
}

uint8_t *floe__stun_build_attr(struct floe_stun_builder *b, uint16_t type, size_t len)
{
    size_t padded = floe__stun_pad4(len);
    uint8_t *p;

    if (b->err)
        return NULL;
    if (len > UINT16_MAX || b->w.len - FLOE_STUN_HEADER_LEN + FLOE__STUN_ATTR_HEADER_LEN +
                                    padded > FLOE__STUN_MAX_BODY) {
        floe__stun_build_fail(b, FLOE_ERR_INVALID_ARG);
        return NULL;
    }
    p = floe_writer_reserve(&b->w, FLOE__STUN_ATTR_HEADER_LEN + padded);
    if (!p) {
        floe__stun_build_fail(b, FLOE_ERR_BUFFER_TOO_SMALL);
        return NULL;
    }
    floe_store_be16(p, type);
    floe_store_be16(p + 2, (uint16_t)len);
    memset(p + FLOE__STUN_ATTR_HEADER_LEN + len, 0, padded - len);
    floe_store_be16(b->w.buf + 2, (uint16_t)(b->w.len - FLOE_STUN_HEADER_LEN));
    return p + FLOE__STUN_ATTR_HEADER_LEN;
}

/* Start an ordinary attribute: refused once integrity or fingerprint is in. */
static uint8_t *build_plain(struct floe_stun_builder *b, uint16_t type, size_t len)
{
    if (!b)
        return NULL;
    if (b->sealed || b->finished) {
        floe__stun_build_fail(b, FLOE_ERR_STUN_ATTR_ORDER);
        return NULL;
    }
    return floe__stun_build_attr(b, type, len);
}

void floe_stun_add_bytes(struct floe_stun_builder *b, uint16_t type, const void *value,
                         size_t len)
{
    uint8_t *p;

    if (!b)
        return;
    if ((!value && len) || type == FLOE_STUN_ATTR_MESSAGE_INTEGRITY ||
        type == FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256 || type == FLOE_STUN_ATTR_FINGERPRINT) {
        floe__stun_build_fail(b, FLOE_ERR_INVALID_ARG);
        return;
    }
    p = build_plain(b, type, len);
    if (p && len)
        memcpy(p, value, len);
}

void floe_stun_add_flag(struct floe_stun_builder *b, uint16_t type)
{
    floe_stun_add_bytes(b, type, NULL, 0);
}

void floe_stun_add_u32(struct floe_stun_builder *b, uint16_t type, uint32_t v)
{
    uint8_t value[4];

    floe_store_be32(value, v);
    floe_stun_add_bytes(b, type, value, sizeof(value));
}

void floe_stun_add_u64(struct floe_stun_builder *b, uint16_t type, uint64_t v)
{
    uint8_t value[8];

    floe_store_be64(value, v);
    floe_stun_add_bytes(b, type, value, sizeof(value));
}

/* RFC 8489 section 14.1 value: reserved, family, port, address; 0 or an error. */
static size_t build_addr_value(uint8_t value[20], const struct floe_addr *a)
{
    size_t n;

    if (!a || (a->family != FLOE_AF_INET && a->family != FLOE_AF_INET6))
        return 0;
    n = a->family == FLOE_AF_INET ? 4 : 16;
    value[0] = 0;
    value[1] = a->family == FLOE_AF_INET ? FLOE_STUN_FAMILY_IPV4 : FLOE_STUN_FAMILY_IPV6;
    floe_store_be16(value + 2, a->port);
    memcpy(value + 4, a->ip, n);
    return 4 + n;
}

void floe_stun_add_addr(struct floe_stun_builder *b, uint16_t type, const struct floe_addr *a)
{
    uint8_t value[20];
    size_t len = build_addr_value(value, a);

    if (b && !len)
        floe__stun_build_fail(b, FLOE_ERR_INVALID_ARG);
    else
        floe_stun_add_bytes(b, type, value, len);
}

void floe_stun_add_xor_addr(struct floe_stun_builder *b, uint16_t type,
                            const struct floe_addr *a)
{
    uint8_t value[20];
    size_t len = build_addr_value(value, a);
    uint16_t port;

    if (!b)
        return;
    if (!len || b->w.len < FLOE_STUN_HEADER_LEN) {
        floe__stun_build_fail(b, FLOE_ERR_INVALID_ARG);
        return;
    }
    port = floe_load_be16(value + 2);
    floe__stun_xor_addr(value + 4, len - 4, &port, b->w.buf + 8);
    floe_store_be16(value + 2, port);
    floe_stun_add_bytes(b, type, value, len);
}

/* RFC 8489 section 14.8: reason phrase of at most 763 bytes. */
#define BUILD_REASON_MAX 763

/* ERROR-CODE layout with first_byte in front (0 for ERROR-CODE, the family for RFC 8656). */
static void build_error(struct floe_stun_builder *b, uint16_t type, uint8_t first_byte,
                        int code, const char *reason)
{
    size_t rlen;
    uint8_t *p;

    if (!b)
        return;
    rlen = reason ? strnlen(reason, BUILD_REASON_MAX + 1) : 0;
    if (!reason || rlen > BUILD_REASON_MAX || code < 300 || code > 699) {
        floe__stun_build_fail(b, FLOE_ERR_INVALID_ARG);
        return;
    }
    p = build_plain(b, type, 4 + rlen);
    if (!p)
        return;
    p[0] = first_byte;
    p[1] = 0;
    p[2] = (uint8_t)(code / 100);
    p[3] = (uint8_t)(code % 100);
    memcpy(p + 4, reason, rlen);
}

void floe_stun_add_error(struct floe_stun_builder *b, int code, const char *reason)
{
    build_error(b, FLOE_STUN_ATTR_ERROR_CODE, 0, code, reason);
}

void floe_stun_add_address_error(struct floe_stun_builder *b, uint8_t family, int code,
                                 const char *reason)
{
    if (b && family != FLOE_STUN_FAMILY_IPV4 && family != FLOE_STUN_FAMILY_IPV6)
        floe__stun_build_fail(b, FLOE_ERR_INVALID_ARG);
    else
        build_error(b, FLOE_STUN_ATTR_ADDRESS_ERROR_CODE, family, code, reason);
}

void floe_stun_add_unknown_attrs(struct floe_stun_builder *b, const uint16_t *types, size_t n)
{
    uint8_t *p;
    size_t i;

    if (!b)
        return;
    if ((!types && n) || n > UINT16_MAX / 2) {
        floe__stun_build_fail(b, FLOE_ERR_INVALID_ARG);
        return;
    }
    p = build_plain(b, FLOE_STUN_ATTR_UNKNOWN_ATTRIBUTES, 2 * n);
    for (i = 0; p && i < n; i++)
        floe_store_be16(p + 2 * i, types[i]);
}

/* A 4-byte value: a 16-bit or 8-bit field at the front, the rest zero (RFFU). */
static void build_word(struct floe_stun_builder *b, uint16_t type, uint8_t b0, uint8_t b1)
{
    uint8_t value[4] = {b0, b1, 0, 0};

    floe_stun_add_bytes(b, type, value, sizeof(value));
}

void floe_stun_add_channel(struct floe_stun_builder *b, uint16_t channel)
{
    if (b && (channel < FLOE_CHANNEL_MIN || channel > FLOE_CHANNEL_MAX))
        floe__stun_build_fail(b, FLOE_ERR_INVALID_ARG);
    else
        build_word(b, FLOE_STUN_ATTR_CHANNEL_NUMBER, (uint8_t)(channel >> 8), (uint8_t)channel);
}

void floe_stun_add_requested_transport(struct floe_stun_builder *b, uint8_t proto)
{
    build_word(b, FLOE_STUN_ATTR_REQUESTED_TRANSPORT, proto, 0);
}

void floe_stun_add_family(struct floe_stun_builder *b, uint16_t type, uint8_t family)
{
    if (b && family != FLOE_STUN_FAMILY_IPV4 && family != FLOE_STUN_FAMILY_IPV6)
        floe__stun_build_fail(b, FLOE_ERR_INVALID_ARG);
    else
        build_word(b, type, family, 0);
}

void floe_stun_add_even_port(struct floe_stun_builder *b, bool reserve)
{
    uint8_t value = reserve ? 0x80 : 0x00;

    floe_stun_add_bytes(b, FLOE_STUN_ATTR_EVEN_PORT, &value, 1);
}

void floe_stun_add_icmp(struct floe_stun_builder *b, uint8_t type, uint8_t code, uint32_t data)
{
    uint8_t value[8] = {0, 0, type, code};

    floe_store_be32(value + 4, data);
    floe_stun_add_bytes(b, FLOE_STUN_ATTR_ICMP, value, sizeof(value));
}

long floe_stun_build_finish(struct floe_stun_builder *b)
{
    if (!b)
        return FLOE_ERR_INVALID_ARG;
    if (b->err)
        return b->err;
    return floe_writer_finish(&b->w);
}
