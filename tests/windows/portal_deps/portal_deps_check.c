/*
 * The portal client's libraries as the Windows build links them (cmake/windows.cmake:
 * OpenSSL::SSL, Jansson::Jansson and, when Debian's source package could be fetched,
 * Wslay::Wslay), run under Wine: TLS through memory BIOs starts a handshake (a ClientHello
 * comes out), a Phoenix-channel envelope parses and prints back the same bytes (64-bit
 * integers too), and a WebSocket text frame comes out masked from a client context.
 */
#include <string.h>

#include <jansson.h>
#include <openssl/ssl.h>

#ifdef FLOE_TEST_HAVE_WSLAY
#include <wslay/wslay.h>
#endif

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

#ifdef FLOE_TEST_HAVE_WSLAY
static unsigned char ws_out[256];
static size_t ws_out_len;

static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    (void)ctx;
    (void)flags;
    (void)user;
    if (len > sizeof(ws_out) - ws_out_len)
        return -1;
    memcpy(ws_out + ws_out_len, data, len);
    ws_out_len += len;
    return (ssize_t)len;
}

static int ws_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
    (void)ctx;
    (void)user;
    memset(buf, 0x5a, len);
    return 0;
}

static void test_ws_frame(void)
{
    struct wslay_event_callbacks cb = {NULL, ws_send, ws_genmask, NULL, NULL, NULL, NULL};
    struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)"hi", 2};
    wslay_event_context_ptr ctx;

    REQUIRE(wslay_event_context_client_init(&ctx, &cb, NULL) == 0);
    CHECK_EQ(wslay_event_queue_msg(ctx, &msg), 0);
    CHECK_EQ(wslay_event_send(ctx), 0);
    CHECK_EQ(ws_out_len, 8);       /* 2 header bytes, 4 mask bytes, 2 payload bytes */
    CHECK_EQ(ws_out[0], 0x81);     /* FIN, text */
    CHECK_EQ(ws_out[1], 0x80 | 2); /* masked, length 2 */
    CHECK_EQ(ws_out[6], 'h' ^ 0x5a);
    wslay_event_context_free(ctx);
}
#endif

int main(void)
{
    FLOE_RUN(test_tls_client_hello);
    FLOE_RUN(test_json_envelope);
#ifdef FLOE_TEST_HAVE_WSLAY
    FLOE_RUN(test_ws_frame);
#else
    printf("wslay: not in this build (cmake/windows.cmake warned why)\n");
#endif
    return floe_test_summary();
}
