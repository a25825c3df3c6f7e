/*
 * A program outside the floe tree, built against an installed libfloe (tests/install):
 * it builds a STUN Binding success response with XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY
 * (HMAC-SHA1 through libfloe's OpenSSL adapter) and FINGERPRINT, decodes it and checks
 * every field. Prints "floe VERSION: stun ok" and exits 0, or names what failed and exits 1.
 */
#include <stdio.h>
#include <string.h>

#include <floe/core.h>
#include <floe/stun.h>

static const uint8_t consumer_key[] = "installed-key";

static int consumer_fail(const char *what, int err)
{
    fprintf(stderr, "consumer: %s: %s\n", what, floe_strerror(err));
    return 1;
}

static long consumer_build(uint8_t *buf, size_t cap, const uint8_t *txid,
                           const struct floe_addr *mapped)
{
    struct floe_stun_builder b;

    floe_stun_build_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_SUCCESS, txid);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, mapped);
    floe_stun_add_integrity_key(&b, consumer_key, sizeof(consumer_key) - 1);
    floe_stun_add_fingerprint(&b);
    return floe_stun_build_finish(&b);
}

int main(void)
{
    static const uint8_t txid[FLOE_STUN_TXID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    uint8_t buf[512];
    struct floe_addr mapped, got;
    struct floe_stun_msg msg;
    char text[FLOE_ADDR_STRLEN];
    int err = floe_addr_parse("198.51.100.7:40000", &mapped);

    if (err < 0)
        return consumer_fail("floe_addr_parse", err);
    long len = consumer_build(buf, sizeof(buf), txid, &mapped);
    if (len < 0)
        return consumer_fail("floe_stun_build_finish", (int)len);
    err = floe_stun_decode(&msg, buf, (size_t)len);
    if (err < 0)
        return consumer_fail("floe_stun_decode", err);
    if (msg.method != FLOE_STUN_BINDING || msg.cls != FLOE_STUN_SUCCESS ||
        memcmp(msg.txid, txid, sizeof(txid)) != 0)
        return consumer_fail("decoded header", FLOE_ERR_INVALID_ARG);
    err = floe_stun_verify_fingerprint(&msg);
    if (err < 0)
        return consumer_fail("floe_stun_verify_fingerprint", err);
    err = floe_stun_verify_integrity_key(&msg, consumer_key, sizeof(consumer_key) - 1);
    if (err < 0)
        return consumer_fail("floe_stun_verify_integrity_key", err);
    err = floe_stun_get_xor_addr(&msg, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &got);
    if (err < 0)
        return consumer_fail("floe_stun_get_xor_addr", err);
    err = floe_addr_format(&got, text, sizeof(text));
    if (err < 0)
        return consumer_fail("floe_addr_format", err);
    if (strcmp(text, "198.51.100.7:40000") != 0) {
        fprintf(stderr, "consumer: XOR-MAPPED-ADDRESS %s, expected 198.51.100.7:40000\n", text);
        return 1;
    }
    printf("floe %s: stun ok\n", FLOE_VERSION_STRING);
    return 0;
}
