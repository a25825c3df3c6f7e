/* Private state of the portal wire transport (floe_wsconn), shared by src/portal/wire*.c. */
#ifndef FLOE_PORTAL_WIRE_INT_H
#define FLOE_PORTAL_WIRE_INT_H

#include <openssl/ssl.h>

#include "floe/portal_wire.h"
#include "ws_frame.h"

#define WIRE_TARGET "floe::portal_wire"
#define WIRE_STR_MAX 1024u       /* host, path, token, user agent, server name */
#define WIRE_KEY_LEN 24u         /* base64 of the 16-byte Sec-WebSocket-Key */
#define WIRE_ACCEPT_LEN 28u      /* base64 of a SHA-1 digest */
#define WIRE_BUF_KEEP 65536u     /* a drained buffer larger than this is given back */
#define WIRE_BODY_WAIT_MAX 1024u /* a refusal's body read into the error text up to this */
#define WIRE_EARLY_MAX 65536u    /* bytes after a request held until it is answered */
#define WIRE_MESSAGE_COUNT 4096u /* messages held for poll_message before reading pauses */
#define WIRE_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 section 1.3 */

/* A growable byte buffer on the allocator hooks; bytes [off, len) are pending. */
struct wire_buf {
    uint8_t *data;
    size_t len, off, cap;
};

/* One received text message waiting for floe_wsconn_poll_message. */
struct wire_msg {
    struct wire_msg *next;
    size_t len;
    uint8_t data[];
};

struct floe_wsconn {
    struct floe_wsconn_config cfg; /* strings point at the copies below */
    char *host, *path, *token, *user_agent, *server_name;
    enum floe_wsconn_state state;
    bool started, eof;

    /* Plaintext streams: out to the peer (through TLS when on), head and ws in. */
    struct wire_buf out, head, wsin;

    /* TLS (cfg.tls): rbio carries ciphertext in, wbio ciphertext out. */
    SSL *ssl;
    BIO *rbio, *wbio;
    bool tls_up, tls_shutdown;

    /* HTTP upgrade. */
    char ws_key[WIRE_KEY_LEN + 1]; /* client: the key sent; server: the key received */
    int http_status;
    size_t body_wait; /* client: bytes of a refusal's body awaited (0: none) */
    char refusal[80]; /* client: "HTTP 401 Unauthorized" while its body is awaited */
    size_t head_scan; /* bytes of head already searched for its end */
    char *req_buf;    /* server: the request head, split in place */
    size_t req_len;
    struct floe_wsconn_header *headers;
    struct floe_wsconn_request req;
    char *req_token;    /* decoded token */
    bool upgrade_asked; /* server: the request asked for a WebSocket (Upgrade: websocket) */
    bool req_complete;  /* server: req is whole (REQUEST reported), not a refused half */

    /* WebSocket. */
    bool ws_on;            /* the upgrade is done: rx is set up and frames flow */
    struct floe__ws_rx rx; /* the frame receiver */
    bool close_sent;       /* our close frame is in out */
    bool close_received;   /* the peer's close frame was read */
    struct wire_msg *mq_head, *mq_tail, *lent;
    size_t mq_bytes, mq_count;
    bool local_close;    /* floe_wsconn_close started the close handshake */
    uint16_t close_code; /* the code of the close frame we sent or will send */
    char close_reason[FLOE_WSCONN_REASON_MAX];
    uint16_t peer_code;
    char peer_reason[FLOE_WSCONN_REASON_MAX];

    /* Timers. */
    floe_time handshake_deadline, ping_at, pong_deadline, close_deadline, last_rx;

    struct floe_wsconn_event events[FLOE_WSCONN_EVENT_QUEUE];
    size_t ev_head, ev_len;
    struct floe_wsconn_stats stats;
};

/* wire.c: buffers, events, failure and closing. */
int floe__wire_buf_append(struct floe_wsconn *c, struct wire_buf *b, const void *p, size_t n);
void floe__wire_buf_consume(struct floe_wsconn *c, struct wire_buf *b, size_t n);
size_t floe__wire_buf_pending(const struct wire_buf *b);
void floe__wire_event(struct floe_wsconn *c, const struct floe_wsconn_event *ev);
void floe__wire_fail(struct floe_wsconn *c, int err, enum floe_wsconn_closer by, uint16_t code,
                     const char *text);
void floe__wire_closed(struct floe_wsconn *c, int err, enum floe_wsconn_closer by, uint16_t code,
                       const char *reason);
void floe__wire_open(struct floe_wsconn *c, floe_time now);
void floe__wire_copy_text(char *out, size_t cap, const char *in, size_t len);

/* wire_http.c: the upgrade. */
int floe__wire_http_client_request(struct floe_wsconn *c);
void floe__wire_http_input(struct floe_wsconn *c, floe_time now, const uint8_t *p, size_t n);
void floe__wire_http_free(struct floe_wsconn *c);
void floe__wire_refusal_done(struct floe_wsconn *c, const uint8_t *body, size_t n);
int floe__wire_accept_key(char out[WIRE_ACCEPT_LEN + 1], const char *key);

/* wire_ws.c: framing with the codec of ws_frame.h. */
int floe__wire_ws_new(struct floe_wsconn *c);
void floe__wire_ws_free(struct floe_wsconn *c);
int floe__wire_ws_send_text(struct floe_wsconn *c, const char *msg, size_t len);
void floe__wire_ws_pump(struct floe_wsconn *c);
int floe__wire_ws_close(struct floe_wsconn *c, uint16_t code, const char *reason);
int floe__wire_ws_ping(struct floe_wsconn *c);
void floe__wire_frame_close(struct floe_wsconn *c, uint16_t code, const char *reason);
bool floe__wire_utf8_valid(const uint8_t *p, size_t n);

/* wire_tls.c: TLS through memory BIOs. */
int floe__wire_tls_new(struct floe_wsconn *c, const struct floe_wsconn_config *cfg);
void floe__wire_tls_free(struct floe_wsconn *c);
void floe__wire_tls_input(struct floe_wsconn *c, floe_time now, const uint8_t *p, size_t n);
void floe__wire_tls_flush(struct floe_wsconn *c);
void floe__wire_tls_start(struct floe_wsconn *c);
size_t floe__wire_tls_pending(const struct floe_wsconn *c);

#ifdef _WIN32
/* wire_tls_win.c: add the certificates of the Windows system store "ROOT" to ctx's X509_STORE;
 * *added and *skipped (optional) count those added and those OpenSSL could not parse. Returns
 * 0, FLOE_ERR_INVALID_ARG or FLOE_ERR_NOT_FOUND (the store does not open). */
int floe__wire_tls_windows_roots(SSL_CTX *ctx, unsigned *added, unsigned *skipped);
#endif

/* wire_io.c: plaintext in. */
void floe__wire_plain_input(struct floe_wsconn *c, floe_time now, const uint8_t *p, size_t n);

#endif
