/*
 * The portal client's libraries as the Windows build links them (cmake/windows.cmake:
 * OpenSSL::SSL and Jansson::Jansson), run under Wine: TLS through memory BIOs starts a
 * handshake (a ClientHello comes out), and a Phoenix-channel envelope parses and prints back
 * the same bytes (64-bit integers too).
 */
#include <string.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "test.h"

static void test_tls_client_hello(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = ctx ? SSL_new(ctx) : NULL;
    BIO *in = BIO_new(BIO_s_mem()), *out = BIO_new(BIO_s_mem());
    unsigned char rec[6];

    REQUIRE(ssl && in && out);
    SSL_set_bio(ssl, in, out);
    SSL_set_tlsext_host_name(ssl, "portal.example");
    CHECK_EQ(SSL_connect(ssl), -1);
    CHECK_EQ(SSL_get_error(ssl, -1), SSL_ERROR_WANT_READ);
    REQUIRE(BIO_read(out, rec, sizeof(rec)) == (int)sizeof(rec));
    CHECK_EQ(rec[0], 0x16); /* handshake record */
    CHECK_EQ(rec[5], 0x01); /* ClientHello */
    SSL_free(ssl);
    SSL_CTX_free(ctx);
}

static void test_json_envelope(void)
{
    const char *text = "{\"event\":\"phx_join\",\"payload\":{\"n\":9007199254740993},"
                       "\"ref\":1,\"topic\":\"client\"}";
    json_error_t err;
    json_t *v = json_loads(text, 0, &err);
    char *back;

    REQUIRE(v != NULL);
    CHECK_STR(json_string_value(json_object_get(v, "topic")), "client");
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(v, "payload"), "n")),
             9007199254740993LL);
    back = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_STR(back, text);
    free(back);
    json_decref(v);
    CHECK(json_loads("{\"topic\":", 0, &err) == NULL);
}

int main(void)
{
    FLOE_RUN(test_tls_client_hello);
    FLOE_RUN(test_json_envelope);
    return floe_test_summary();
}
