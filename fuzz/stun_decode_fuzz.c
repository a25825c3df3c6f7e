/*
 * libFuzzer target for everything that reads a datagram from the network: STUN
 * decode, every typed getter, MI/MI-SHA256/FINGERPRINT verification with fixed
 * keys, a rebuild of the decoded attributes through the builder, ChannelData
 * decode and the classifier. Invariant violations abort, so the fuzzer reports them.
 */
#include <stdlib.h>

#include "floe/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Call the getter for the attribute's type; the result must be one a getter may give. */
static void fuzz_get(const struct floe_stun_msg *m, uint16_t type)
{
    struct floe_addr a[4];
    struct floe_span s;
    uint16_t list[8], u16;
    uint32_t u32;
    uint64_t u64;
    uint8_t u8, u8b;
    size_t n;
    bool flag;
    int code, rc = 0;

    rc |= floe_stun_get_addr(m, type, a);
    rc |= floe_stun_get_xor_addr(m, type, a);
    if (floe_stun_get_xor_addrs(m, type, a, 4) > 4)
        abort();
    rc |= floe_stun_get_u32(m, type, &u32);
    rc |= floe_stun_get_u64(m, type, &u64);
    rc |= floe_stun_get_span(m, type, &s);
    rc |= floe_stun_get_family(m, type, &u8);
    rc |= floe_stun_get_channel(m, &u16);
    rc |= floe_stun_get_error(m, &code, &s);
    rc |= floe_stun_get_address_error(m, &u8, &code, &s);
    rc |= floe_stun_get_unknown_attrs(m, list, 8, &n);
    rc |= floe_stun_get_requested_transport(m, &u8);
    rc |= floe_stun_get_even_port(m, &flag);
    rc |= floe_stun_get_icmp(m, &u8, &u8b, &u32);
    rc |= floe_stun_get_password_alg(m, &u16, &s);
    rc |= floe_stun_get_password_algs(m, list, 8, &n);
    (void)rc;
}

/* Re-encode the decoded attributes; the result must decode with the same count. */
static void fuzz_rebuild(const struct floe_stun_msg *m, struct floe_hmac *sha1)
{
    static uint8_t out[70000];
    struct floe_stun_builder b;
    struct floe_stun_msg again;
    size_t i, kept = 0;
    bool seal;
    long len;

    floe_stun_build_init(&b, out, sizeof(out), m->method, m->cls, m->txid);
    for (i = 0; i < m->n_attrs; i++) {
        const struct floe_stun_attr *a = &m->attrs[i];

        if ((int)i == m->integrity_idx || (int)i == m->integrity_sha256_idx ||
            (int)i == m->fingerprint_idx)
            continue;
        floe_stun_add_bytes(&b, a->type, a->value, a->len);
        kept++;
    }
    /* Room for MESSAGE-INTEGRITY and FINGERPRINT in the attribute table and the length. */
    seal = kept + 2 <= FLOE_STUN_MAX_ATTRS && m->raw_len <= 0xFFFF - 40;
    if (seal) {
        floe_stun_add_integrity(&b, sha1);
        floe_stun_add_fingerprint(&b);
    }
    len = floe_stun_build_finish(&b);
    if (len < 0 || floe_stun_decode(&again, out, (size_t)len) != 0)
        abort();
    if (again.n_attrs != kept + (seal ? 2 : 0))
        abort();
    if (seal && (floe_stun_verify_integrity(&again, sha1) != 0 ||
                 floe_stun_verify_fingerprint(&again) != 0))
        abort();
}

static void fuzz_stun(const uint8_t *data, size_t size, struct floe_hmac *sha1,
                      struct floe_hmac *sha256)
{
    struct floe_stun_msg m;
    size_t i;

    if (floe_stun_decode(&m, data, size) != 0)
        return;
    if (!floe_stun_is_message(data, size) || m.n_attrs > FLOE_STUN_MAX_ATTRS)
        abort();
    for (i = 0; i < m.n_attrs; i++)
        fuzz_get(&m, m.attrs[i].type);
    if (floe_stun_verify_integrity(&m, sha1) == 0 && m.integrity_idx < 0)
        abort();
    if (floe_stun_verify_integrity_sha256(&m, sha256) == 0 && m.integrity_sha256_idx < 0)
        abort();
    if (floe_stun_verify_fingerprint(&m) == 0 && m.fingerprint_idx < 0)
        abort();
    fuzz_rebuild(&m, sha1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct floe_hmac *sha1, *sha256;
    struct floe_span payload;
    uint16_t channel;

    if (!sha1 && floe_hmac_new(&sha1, NULL, FLOE_HMAC_SHA1, (const uint8_t *)"fuzz", 4) < 0)
        abort();
    if (!sha256 && floe_hmac_new(&sha256, NULL, FLOE_HMAC_SHA256, (const uint8_t *)"fuzz", 4) < 0)
        abort();
    fuzz_stun(data, size, sha1, sha256);
    if (floe_channeldata_decode(data, size, &channel, &payload) == 0 &&
        payload.ptr + payload.len > data + size)
        abort();
    (void)floe_packet_kind_name(floe_packet_classify(data, size));
    return 0;
}
