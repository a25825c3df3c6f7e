/*
 * STUN message decoding (RFC 8489 sections 5 and 14) and the typed attribute
 * getters for RFC 8489, RFC 8656 and RFC 8445 attributes. Zero-copy: the
 * decoded message points into the caller's datagram.
 */
#include <string.h>

#include "stun/stun_int.h"

/* Comprehension-required attribute types (< 0x8000) this codec understands. */
static const uint16_t codec_known_required[] = {
    FLOE_STUN_ATTR_MAPPED_ADDRESS,
    FLOE_STUN_ATTR_USERNAME,
    FLOE_STUN_ATTR_MESSAGE_INTEGRITY,
    FLOE_STUN_ATTR_ERROR_CODE,
    FLOE_STUN_ATTR_UNKNOWN_ATTRIBUTES,
    FLOE_STUN_ATTR_CHANNEL_NUMBER,
    FLOE_STUN_ATTR_LIFETIME,
    FLOE_STUN_ATTR_XOR_PEER_ADDRESS,
    FLOE_STUN_ATTR_DATA,
    FLOE_STUN_ATTR_REALM,
    FLOE_STUN_ATTR_NONCE,
    FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS,
    FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY,
    FLOE_STUN_ATTR_EVEN_PORT,
    FLOE_STUN_ATTR_REQUESTED_TRANSPORT,
    FLOE_STUN_ATTR_DONT_FRAGMENT,
    FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256,
    FLOE_STUN_ATTR_PASSWORD_ALGORITHM,
    FLOE_STUN_ATTR_USERHASH,
    FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS,
    FLOE_STUN_ATTR_RESERVATION_TOKEN,
    FLOE_STUN_ATTR_PRIORITY,
    FLOE_STUN_ATTR_USE_CANDIDATE,
};

static bool codec_is_known_required(uint16_t type)
{
    size_t i;

    for (i = 0; i < sizeof(codec_known_required) / sizeof(codec_known_required[0]); i++) {
        if (codec_known_required[i] == type)
            return true;
    }
    return false;
}

/* Remember an unknown comprehension-required type once, while there is room. */
static void codec_note_unknown(struct floe_stun_msg *msg, uint16_t type)
{
    size_t i;

    if (type >= 0x8000 || codec_is_known_required(type))
        return;
    for (i = 0; i < msg->n_unknown; i++) {
        if (msg->unknown[i] == type)
            return;
    }
    if (msg->n_unknown < FLOE_STUN_MAX_UNKNOWN)
        msg->unknown[msg->n_unknown++] = type;
}

bool floe_stun_is_message(const uint8_t *buf, size_t len)
{
    size_t body;

    if (!buf || len < FLOE_STUN_HEADER_LEN || (buf[0] & 0xC0) != 0)
        return false;
    if (floe_load_be32(buf + 4) != FLOE_STUN_MAGIC_COOKIE)
        return false;
    body = floe_load_be16(buf + 2);
    return body % 4 == 0 && body == len - FLOE_STUN_HEADER_LEN;
}

static void codec_decode_header(struct floe_stun_msg *msg, const uint8_t *buf, size_t len)
{
    uint16_t t = floe_load_be16(buf);

    msg->method = (uint16_t)((t & 0x000F) | ((t & 0x00E0) >> 1) | ((t & 0x3E00) >> 2));
    msg->cls = (uint8_t)(((t >> 4) & 1) | ((t >> 7) & 2));
    memcpy(msg->txid, buf + 8, FLOE_STUN_TXID_LEN);
    msg->raw = buf;
    msg->raw_len = len;
    msg->n_attrs = 0;
    msg->integrity_idx = -1;
    msg->integrity_sha256_idx = -1;
    msg->fingerprint_idx = -1;
    msg->n_unknown = 0;
    msg->n_ignored = 0;
}

/* Length rules of the three attributes that decide the message's structure. */
static bool codec_length_ok(uint16_t type, uint16_t len)
{
    switch (type) {
    case FLOE_STUN_ATTR_MESSAGE_INTEGRITY:
        return len == FLOE__STUN_MI_LEN;
    case FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
        return len >= FLOE__STUN_MI256_MIN && len <= FLOE__STUN_MI256_MAX && len % 4 == 0;
    case FLOE_STUN_ATTR_FINGERPRINT:
        return len == FLOE__STUN_FP_LEN;
    default:
        return true;
    }
}

/*
 * RFC 8489 sections 14.5-14.7: after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256
 * and FINGERPRINT count, after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT.
 */
static bool codec_is_ignored(const struct floe_stun_msg *msg, uint16_t type)
{
    if (type == FLOE_STUN_ATTR_FINGERPRINT)
        return false;
    if (msg->integrity_sha256_idx >= 0)
        return true;
    return msg->integrity_idx >= 0 && type != FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256;
}

static void codec_mark(struct floe_stun_msg *msg, uint16_t type, int idx)
{
    if (type == FLOE_STUN_ATTR_MESSAGE_INTEGRITY)
        msg->integrity_idx = idx;
    else if (type == FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256)
        msg->integrity_sha256_idx = idx;
    else if (type == FLOE_STUN_ATTR_FINGERPRINT)
        msg->fingerprint_idx = idx;
    else
        codec_note_unknown(msg, type);
}

/* Account for one attribute found at off. */
static int codec_add_attr(struct floe_stun_msg *msg, uint16_t type, uint16_t len, size_t off)
{
    struct floe_stun_attr *a;

    if (msg->fingerprint_idx >= 0)
        return FLOE_ERR_STUN_ATTR_ORDER;
    if (!codec_length_ok(type, len))
        return FLOE_ERR_STUN_BAD_ATTR;
    if (codec_is_ignored(msg, type)) {
        msg->n_ignored++;
        return 0;
    }
    if (msg->n_attrs >= FLOE_STUN_MAX_ATTRS)
        return FLOE_ERR_STUN_TOO_MANY_ATTRS;
    a = &msg->attrs[msg->n_attrs];
    a->type = type;
    a->len = len;
    a->offset = (uint32_t)off;
    a->value = msg->raw + off + FLOE__STUN_ATTR_HEADER_LEN;
    codec_mark(msg, type, (int)msg->n_attrs);
    msg->n_attrs++;
    return 0;
}

int floe_stun_decode(struct floe_stun_msg *msg, const uint8_t *buf, size_t len)
{
    size_t off = FLOE_STUN_HEADER_LEN;
    size_t body;

    if (!msg || (!buf && len))
        return FLOE_ERR_INVALID_ARG;
    if (len < FLOE_STUN_HEADER_LEN || (buf[0] & 0xC0) != 0 ||
        floe_load_be32(buf + 4) != FLOE_STUN_MAGIC_COOKIE)
        return FLOE_ERR_NOT_STUN;
    body = floe_load_be16(buf + 2);
    if (body % 4 != 0 || body != len - FLOE_STUN_HEADER_LEN)
        return FLOE_ERR_STUN_BAD_LENGTH;
    codec_decode_header(msg, buf, len);
    while (off < len) {
        uint16_t type, alen;
        int rc;

        if (len - off < FLOE__STUN_ATTR_HEADER_LEN)
            return FLOE_ERR_STUN_BAD_ATTR;
        type = floe_load_be16(buf + off);
        alen = floe_load_be16(buf + off + 2);
        if (floe__stun_pad4(alen) > len - off - FLOE__STUN_ATTR_HEADER_LEN)
            return FLOE_ERR_STUN_BAD_ATTR;
        rc = codec_add_attr(msg, type, alen, off);
        if (rc < 0)
            return rc;
        off += FLOE__STUN_ATTR_HEADER_LEN + floe__stun_pad4(alen);
    }
    return 0;
}

const struct floe_stun_attr *floe_stun_find(const struct floe_stun_msg *msg, uint16_t type)
{
    size_t i;

    if (!msg)
        return NULL;
    for (i = 0; i < msg->n_attrs; i++) {
        if (msg->attrs[i].type == type)
            return &msg->attrs[i];
    }
    return NULL;
}

bool floe_stun_has(const struct floe_stun_msg *msg, uint16_t type)
{
    return floe_stun_find(msg, type) != NULL;
}

/* ------------------------------------------------------------- getters */

/* The attribute of type whose value length is in [min, max], for the getters. */
static int codec_get(const struct floe_stun_msg *msg, uint16_t type, size_t min, size_t max,
                     const struct floe_stun_attr **out)
{
    const struct floe_stun_attr *a;

    if (!msg)
        return FLOE_ERR_INVALID_ARG;
    a = floe_stun_find(msg, type);
    if (!a)
        return FLOE_ERR_NOT_FOUND;
    if (a->len < min || a->len > max)
        return FLOE_ERR_STUN_BAD_ATTR;
    *out = a;
    return 0;
}

/* RFC 8489 section 14.1: family 0x01 with 4 address bytes or 0x02 with 16. */
static int codec_parse_addr(const struct floe_stun_attr *a, struct floe_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (a->len == 8 && a->value[1] == FLOE_STUN_FAMILY_IPV4) {
        out->family = FLOE_AF_INET;
        memcpy(out->ip, a->value + 4, 4);
    } else if (a->len == 20 && a->value[1] == FLOE_STUN_FAMILY_IPV6) {
        out->family = FLOE_AF_INET6;
        memcpy(out->ip, a->value + 4, 16);
    } else {
        return FLOE_ERR_STUN_BAD_ATTR;
    }
    out->port = floe_load_be16(a->value + 2);
    return 0;
}

static int codec_parse_xor_addr(const struct floe_stun_msg *msg, const struct floe_stun_attr *a,
                                struct floe_addr *out)
{
    int rc = codec_parse_addr(a, out);

    if (rc < 0)
        return rc;
    floe__stun_xor_addr(out->ip, out->family == FLOE_AF_INET ? 4 : 16, &out->port, msg->txid);
    return 0;
}

int floe_stun_get_addr(const struct floe_stun_msg *msg, uint16_t type, struct floe_addr *out)
{
    const struct floe_stun_attr *a;
    int rc;

    if (!out)
        return FLOE_ERR_INVALID_ARG;
    rc = codec_get(msg, type, 8, 20, &a);
    return rc < 0 ? rc : codec_parse_addr(a, out);
}

int floe_stun_get_xor_addr(const struct floe_stun_msg *msg, uint16_t type, struct floe_addr *out)
{
    const struct floe_stun_attr *a;
    int rc;

    if (!out)
        return FLOE_ERR_INVALID_ARG;
    rc = codec_get(msg, type, 8, 20, &a);
    return rc < 0 ? rc : codec_parse_xor_addr(msg, a, out);
}

int floe_stun_get_xor_addrs(const struct floe_stun_msg *msg, uint16_t type, struct floe_addr *out,
                            int max)
{
    size_t i;
    int n = 0;

    if (!msg || max < 0 || (!out && max > 0))
        return FLOE_ERR_INVALID_ARG;
    for (i = 0; i < msg->n_attrs && n < max; i++) {
        int rc;

        if (msg->attrs[i].type != type)
            continue;
        rc = codec_parse_xor_addr(msg, &msg->attrs[i], &out[n]);
        if (rc < 0)
            return rc;
        n++;
    }
    return n;
}

int floe_stun_get_u32(const struct floe_stun_msg *msg, uint16_t type, uint32_t *out)
{
    const struct floe_stun_attr *a;
    int rc;

    if (!out)
        return FLOE_ERR_INVALID_ARG;
    rc = codec_get(msg, type, 4, 4, &a);
    if (rc == 0)
        *out = floe_load_be32(a->value);
    return rc;
}

int floe_stun_get_u64(const struct floe_stun_msg *msg, uint16_t type, uint64_t *out)
{
    const struct floe_stun_attr *a;
    int rc;

    if (!out)
        return FLOE_ERR_INVALID_ARG;
    rc = codec_get(msg, type, 8, 8, &a);
    if (rc == 0)
        *out = floe_load_be64(a->value);
    return rc;
}

int floe_stun_get_string(const struct floe_stun_msg *msg, uint16_t type, char *out, size_t cap)
{
    struct floe_span s;
    int rc;

    if (!out)
        return FLOE_ERR_INVALID_ARG;
    rc = floe_stun_get_span(msg, type, &s);
    if (rc != 0)
        return rc;
    if (s.len >= cap)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    memcpy(out, s.ptr, s.len);
    out[s.len] = '\0';
    return 0;
}

int floe_stun_get_span(const struct floe_stun_msg *msg, uint16_t type, struct floe_span *out)
{
    const struct floe_stun_attr *a;
    int rc;

    if (!out)
        return FLOE_ERR_INVALID_ARG;
    rc = codec_get(msg, type, 0, UINT16_MAX, &a);
    if (rc == 0)
        *out = floe_span_make(a->value, a->len);
    return rc;
}

int floe_stun_get_channel(const struct floe_stun_msg *msg, uint16_t *out)
{
    const struct floe_stun_attr *a;
    int rc;

    if (!out)
        return FLOE_ERR_INVALID_ARG;
    rc = codec_get(msg, FLOE_STUN_ATTR_CHANNEL_NUMBER, 4, 4, &a);
    if (rc == 0)
        *out = floe_load_be16(a->value);
    return rc;
}

/*
 * RFC 8489 section 14.8: class (hundreds) in the low 3 bits of byte 2, number
 * 0..99 in byte 3, then a reason of at most 763 bytes.
 */
static int codec_parse_error(const struct floe_stun_attr *a, int *code, struct floe_span *reason)
{
    unsigned cls = a->value[2] & 0x07u, number = a->value[3];

    if (cls < 3 || cls > 6 || number > 99)
        return FLOE_ERR_STUN_BAD_ATTR;
    *code = (int)(cls * 100 + number);
    *reason = floe_span_make(a->value + 4, a->len - 4u);
    return 0;
}

int floe_stun_get_error(const struct floe_stun_msg *msg, int *code, struct floe_span *reason)
{
    const struct floe_stun_attr *a;
    int rc;

    if (!code || !reason)
        return FLOE_ERR_INVALID_ARG;
    rc = codec_get(msg, FLOE_STUN_ATTR_ERROR_CODE, 4, 4 + 763, &a);
    return rc < 0 ? rc : codec_parse_error(a, code, reason);
}

/* RFC 8656 section 18.12: ERROR-CODE's layout with the family in the first byte. */
int floe_stun_get_address_error(const struct floe_stun_msg *msg, uint8_t *family, int *code,
                                struct floe_span *reason)
{
    const struct floe_stun_attr *a;
    int rc;

    if (!family || !code || !reason)
        return FLOE_ERR_INVALID_ARG;
    rc = codec_get(msg, FLOE_STUN_ATTR_ADDRESS_ERROR_CODE, 4, 4 + 763, &a);
    if (rc < 0)
        return rc;
    if (a->value[0] != FLOE_STUN_FAMILY_IPV4 && a->value[0] != FLOE_STUN_FAMILY_IPV6)
        return FLOE_ERR_STUN_BAD_ATTR;
    *family = a->value[0];
    return codec_parse_error(a, code, reason);
}

int floe_stun_get_unknown_attrs(const struct floe_stun_msg *msg, uint16_t *out, size_t max,
                                size_t *n)
{
    const struct floe_stun_attr *a;
    size_t i;
    int rc;

    if (!n || (!out && max))
        return FLOE_ERR_INVALID_ARG;
    rc = codec_get(msg, FLOE_STUN_ATTR_UNKNOWN_ATTRIBUTES, 0, UINT16_MAX, &a);
    if (rc < 0)
        return rc;
    if (a->len % 2 != 0)
        return FLOE_ERR_STUN_BAD_ATTR;
    for (i = 0; i < a->len / 2u && i < max; i++)
        out[i] = floe_load_be16(a->value + 2 * i);
    *n = i;
    return 0;
}

int floe_stun_get_requested_transport(const struct floe_stun_msg *msg, uint8_t *proto)
{
    const struct floe_stun_attr *a;
    int rc;

    if (!proto)
        return FLOE_ERR_INVALID_ARG;
    rc = codec_get(msg, FLOE_STUN_ATTR_REQUESTED_TRANSPORT, 4, 4, &a);
    if (rc == 0)
        *proto = a->value[0];
    return rc;
}

int floe_stun_get_family(const struct floe_stun_msg *msg, uint16_t type, uint8_t *family)
{
    const struct floe_stun_attr *a;
    int rc;

    if (!family)
        return FLOE_ERR_INVALID_ARG;
    rc = codec_get(msg, type, 4, 4, &a);
    if (rc < 0)
        return rc;
    if (a->value[0] != FLOE_STUN_FAMILY_IPV4 && a->value[0] != FLOE_STUN_FAMILY_IPV6)
        return FLOE_ERR_STUN_BAD_ATTR;
    *family = a->value[0];
    return 0;
}

int floe_stun_get_even_port(const struct floe_stun_msg *msg, bool *reserve)
{
    const struct floe_stun_attr *a;
    int rc;

    if (!reserve)
        return FLOE_ERR_INVALID_ARG;
    rc = codec_get(msg, FLOE_STUN_ATTR_EVEN_PORT, 1, 1, &a);
    if (rc == 0)
        *reserve = (a->value[0] & 0x80) != 0;
    return rc;
}

/* RFC 8656 section 18.13: 16 reserved bits, ICMP type, ICMP code, 32-bit error data. */
int floe_stun_get_icmp(const struct floe_stun_msg *msg, uint8_t *type, uint8_t *code,
                       uint32_t *data)
{
    const struct floe_stun_attr *a;
    int rc;

    if (!type || !code || !data)
        return FLOE_ERR_INVALID_ARG;
    rc = codec_get(msg, FLOE_STUN_ATTR_ICMP, 8, 8, &a);
    if (rc < 0)
        return rc;
    *type = a->value[2];
    *code = a->value[3];
    *data = floe_load_be32(a->value + 4);
    return 0;
}

/*
 * One algorithm entry (RFC 8489 section 18.5): algorithm, parameters length,
 * parameters padded to 4. Returns the entry's size in value[0..len) or an error.
 */
static int codec_parse_alg(const uint8_t *value, size_t len, uint16_t *alg,
                           struct floe_span *params)
{
    size_t plen, padded;

    if (len < 4)
        return FLOE_ERR_STUN_BAD_ATTR;
    plen = floe_load_be16(value + 2);
    if (plen > len - 4)
        return FLOE_ERR_STUN_BAD_ATTR;
    *alg = floe_load_be16(value);
    *params = floe_span_make(value + 4, plen);
    padded = floe__stun_pad4(plen);
    if (padded > len - 4)
        padded = len - 4; /* the last entry may leave its padding to the attribute's */
    return (int)(4 + padded);
}

int floe_stun_get_password_alg(const struct floe_stun_msg *msg, uint16_t *alg,
                               struct floe_span *params)
{
    const struct floe_stun_attr *a;
    int rc;

    if (!alg || !params)
        return FLOE_ERR_INVALID_ARG;
    rc = codec_get(msg, FLOE_STUN_ATTR_PASSWORD_ALGORITHM, 4, UINT16_MAX, &a);
    if (rc < 0)
        return rc;
    rc = codec_parse_alg(a->value, a->len, alg, params);
    if (rc < 0)
        return rc;
    return (size_t)rc == a->len ? 0 : FLOE_ERR_STUN_BAD_ATTR;
}

int floe_stun_get_password_algs(const struct floe_stun_msg *msg, uint16_t *out, size_t max,
                                size_t *n)
{
    const struct floe_stun_attr *a;
    size_t off = 0, count = 0;
    int rc;

    if (!n || (!out && max))
        return FLOE_ERR_INVALID_ARG;
    rc = codec_get(msg, FLOE_STUN_ATTR_PASSWORD_ALGORITHMS, 0, UINT16_MAX, &a);
    if (rc < 0)
        return rc;
    while (off < a->len) {
        uint16_t alg;
        struct floe_span params;

        rc = codec_parse_alg(a->value + off, a->len - off, &alg, &params);
        if (rc < 0)
            return rc;
        if (count < max)
            out[count++] = alg;
        off += (size_t)rc;
    }
    *n = count;
    return 0;
}
