/*
 * STUN credentials and message authentication (RFC 8489 sections 9.2, 14.5-14.7):
 * long-term keys, MESSAGE-INTEGRITY (HMAC-SHA1), MESSAGE-INTEGRITY-SHA256 and
 * FINGERPRINT, both adding them to a message and verifying them.
 */
#include "stun/stun_int.h"

int floe__stun_mac(const struct floe__stun_signer *s, uint8_t *out, const uint8_t *raw,
                   size_t prefix, uint16_t length)
{
    uint8_t len_be[2];
    struct floe_span parts[3];
    int rc;

    floe_store_be16(len_be, length);
    parts[0] = floe_span_make(raw, 2);
    parts[1] = floe_span_make(len_be, 2);
    parts[2] = floe_span_make(raw + 4, prefix - 4);
    if (s->ctx)
        rc = floe_hmac_compute(s->ctx, out, parts, 3);
    else
        rc = floe_hmac_compute_key(FLOE_HMAC_SHA1, out, s->key, s->key_len, parts, 3);
    return rc < 0 ? FLOE_ERR_CRYPTO : 0;
}

/* The signer's MAC length; 0 when it has neither a context nor a key. */
static size_t integrity_signer_len(const struct floe__stun_signer *s)
{
    if (s->ctx)
        return floe_hmac_len(s->ctx);
    return s->key || !s->key_len ? FLOE_SHA1_LEN : 0;
}

uint32_t floe__stun_fingerprint(const uint8_t *raw, size_t prefix)
{
    return floe_crc32(raw, prefix) ^ FLOE_STUN_FINGERPRINT_XOR;
}

/* ---------------------------------------------------------- credentials */

static bool integrity_span_ok(struct floe_span s)
{
    return s.ptr || !s.len;
}

/* digest(username ":" realm ":" password), RFC 8489 section 9.2.2. */
static int integrity_long_term(bool sha256, uint8_t *out, struct floe_span username,
                               struct floe_span realm, struct floe_span password)
{
    struct floe_span parts[5];

    if (!out || !integrity_span_ok(username) || !integrity_span_ok(realm) ||
        !integrity_span_ok(password))
        return FLOE_ERR_INVALID_ARG;
    parts[0] = username;
    parts[1] = floe_span_make(":", 1);
    parts[2] = realm;
    parts[3] = floe_span_make(":", 1);
    parts[4] = password;
    return sha256 ? floe_sha256(out, parts, 5) : floe_md5(out, parts, 5);
}

int floe_stun_long_term_key_md5(uint8_t out[FLOE_MD5_LEN], struct floe_span username,
                                struct floe_span realm, struct floe_span password)
{
    return integrity_long_term(false, out, username, realm, password);
}

int floe_stun_long_term_key_sha256(uint8_t out[FLOE_SHA256_LEN], struct floe_span username,
                                   struct floe_span realm, struct floe_span password)
{
    return integrity_long_term(true, out, username, realm, password);
}

/* ---------------------------------------------------------- verification */

/*
 * Recompute the MAC of the integrity attribute at idx: everything before it,
 * with the header length ending right after it, compared over its value length.
 */
static int integrity_check(const struct floe_stun_msg *msg, int idx,
                           const struct floe__stun_signer *s, size_t mac_len)
{
    uint8_t mac[FLOE_SHA256_LEN];
    const struct floe_stun_attr *a;
    size_t end;
    int rc;

    if (!msg || integrity_signer_len(s) != mac_len)
        return FLOE_ERR_INVALID_ARG;
    if (idx < 0 || (size_t)idx >= msg->n_attrs)
        return FLOE_ERR_NOT_FOUND;
    a = &msg->attrs[idx];
    end = a->offset + FLOE__STUN_ATTR_HEADER_LEN + floe__stun_pad4(a->len);
    rc = floe__stun_mac(s, mac, msg->raw, a->offset, (uint16_t)(end - FLOE_STUN_HEADER_LEN));
    if (rc < 0)
        return rc;
    return floe_ct_eq(mac, a->value, a->len) ? 0 : FLOE_ERR_INTEGRITY;
}

int floe_stun_verify_integrity(const struct floe_stun_msg *msg, struct floe_hmac *sha1_ctx)
{
    struct floe__stun_signer s = {.ctx = sha1_ctx};

    if (!sha1_ctx)
        return FLOE_ERR_INVALID_ARG;
    return integrity_check(msg, msg ? msg->integrity_idx : -1, &s, FLOE_SHA1_LEN);
}

int floe_stun_verify_integrity_sha256(const struct floe_stun_msg *msg, struct floe_hmac *sha256_ctx)
{
    struct floe__stun_signer s = {.ctx = sha256_ctx};

    if (!sha256_ctx)
        return FLOE_ERR_INVALID_ARG;
    return integrity_check(msg, msg ? msg->integrity_sha256_idx : -1, &s, FLOE_SHA256_LEN);
}

int floe_stun_verify_integrity_key(const struct floe_stun_msg *msg, const uint8_t *key,
                                   size_t key_len)
{
    struct floe__stun_signer s = {.key = key, .key_len = key_len};

    if (!msg)
        return FLOE_ERR_INVALID_ARG;
    if (msg->integrity_idx < 0)
        return FLOE_ERR_NOT_FOUND;
    return integrity_check(msg, msg->integrity_idx, &s, FLOE_SHA1_LEN);
}

int floe_stun_verify_fingerprint(const struct floe_stun_msg *msg)
{
    const struct floe_stun_attr *a;

    if (!msg)
        return FLOE_ERR_INVALID_ARG;
    if (msg->fingerprint_idx < 0 || (size_t)msg->fingerprint_idx >= msg->n_attrs)
        return FLOE_ERR_NOT_FOUND;
    a = &msg->attrs[msg->fingerprint_idx];
    if (floe__stun_fingerprint(msg->raw, a->offset) != floe_load_be32(a->value))
        return FLOE_ERR_FINGERPRINT;
    return 0;
}

/* -------------------------------------------------------------- encoding */

/* Append an integrity attribute of mac_len bytes computed with ctx. */
static void integrity_add(struct floe_stun_builder *b, uint16_t type,
                          const struct floe__stun_signer *s, size_t mac_len)
{
    uint8_t *value;
    size_t off;

    if (integrity_signer_len(s) != mac_len) {
        floe__stun_build_fail(b, FLOE_ERR_INVALID_ARG);
        return;
    }
    value = floe__stun_build_attr(b, type, mac_len);
    if (!value)
        return;
    off = (size_t)(value - b->w.buf) - FLOE__STUN_ATTR_HEADER_LEN;
    if (floe__stun_mac(s, value, b->w.buf, off, (uint16_t)(b->w.len - FLOE_STUN_HEADER_LEN)) < 0)
        floe__stun_build_fail(b, FLOE_ERR_CRYPTO);
}

/* MESSAGE-INTEGRITY with signer s. */
static void integrity_add_sha1(struct floe_stun_builder *b, const struct floe__stun_signer *s)
{
    if (!b)
        return;
    if (b->sealed || b->finished) {
        floe__stun_build_fail(b, FLOE_ERR_STUN_ATTR_ORDER);
        return;
    }
    integrity_add(b, FLOE_STUN_ATTR_MESSAGE_INTEGRITY, s, FLOE_SHA1_LEN);
    b->sealed = true;
}

void floe_stun_add_integrity(struct floe_stun_builder *b, struct floe_hmac *sha1_ctx)
{
    struct floe__stun_signer s = {.ctx = sha1_ctx};

    if (!sha1_ctx) {
        if (b)
            floe__stun_build_fail(b, FLOE_ERR_INVALID_ARG);
        return;
    }
    integrity_add_sha1(b, &s);
}

void floe_stun_add_integrity_sha256(struct floe_stun_builder *b, struct floe_hmac *sha256_ctx)
{
    struct floe__stun_signer s = {.ctx = sha256_ctx};

    if (!b)
        return;
    if (!sha256_ctx) {
        floe__stun_build_fail(b, FLOE_ERR_INVALID_ARG);
        return;
    }
    if (b->sealed_sha256 || b->finished) {
        floe__stun_build_fail(b, FLOE_ERR_STUN_ATTR_ORDER);
        return;
    }
    integrity_add(b, FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256, &s, FLOE_SHA256_LEN);
    b->sealed = true;
    b->sealed_sha256 = true;
}

void floe_stun_add_integrity_key(struct floe_stun_builder *b, const uint8_t *key, size_t key_len)
{
    struct floe__stun_signer s = {.key = key, .key_len = key_len};

    if (!b || b->err)
        return;
    integrity_add_sha1(b, &s);
}

void floe_stun_add_fingerprint(struct floe_stun_builder *b)
{
    uint8_t *value;

    if (!b)
        return;
    if (b->finished) {
        floe__stun_build_fail(b, FLOE_ERR_STUN_ATTR_ORDER);
        return;
    }
    value = floe__stun_build_attr(b, FLOE_STUN_ATTR_FINGERPRINT, FLOE__STUN_FP_LEN);
    if (!value)
        return;
    floe_store_be32(value, floe__stun_fingerprint(b->w.buf, b->w.len - 8));
    b->finished = true;
}
