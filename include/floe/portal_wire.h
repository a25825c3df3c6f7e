/*
 * floe portal wire transport: one WebSocket connection (RFC 6455) over
 * HTTP/1.1 upgrade, optionally inside TLS, for either role, sans-IO.
 *
 * The object sits between a byte stream (a TCP socket the caller owns) and
 * text messages. It never opens a socket, never reads a clock and draws its
 * own randomness (Sec-WebSocket-Key, frame masking keys) from the rng hook.
 * TLS runs through OpenSSL with two memory BIOs: the ciphertext the caller
 * feeds and drains is the only I/O (OpenSSL draws the TLS randomness itself).
 *
 * Driving pattern (DESIGN.md section 2, for a stream): call floe_wsconn_start
 * once the transport is connected (client) or accepted (server); then after
 * floe_wsconn_handle_input, floe_wsconn_handle_timeout or any command, drain
 * floe_wsconn_poll_transmit (write the bytes to the socket in order), drain
 * floe_wsconn_poll_event and floe_wsconn_poll_message, then re-arm the timer
 * from floe_wsconn_poll_timeout. When the socket reports end of file, call
 * floe_wsconn_handle_eof. After FLOE_WSCONN_EV_CLOSED, drain
 * floe_wsconn_poll_transmit one last time (the close frame, the HTTP
 * response, a TLS alert or close_notify) and close the socket.
 *
 * One object serves one transport connection: to reconnect, free it and make
 * a new one.
 *
 * States: HANDSHAKE (TLS and the HTTP upgrade) -> OPEN -> CLOSING -> CLOSED.
 * A server connection stops in REQUEST once a complete HTTP request is read
 * (FLOE_WSCONN_EV_REQUEST): the caller looks at floe_wsconn_request and
 * either upgrades (floe_wsconn_accept) or answers it as plain HTTP
 * (floe_wsconn_respond, e.g. 401 for a bad token, or /metrics and /healthz),
 * after which the connection closes.
 *
 * Peer input never aborts: malformed HTTP (the server answers 400, 426, 431
 * or 505 by itself), a refused upgrade, TLS failures, WebSocket protocol errors (close
 * 1002), oversized messages (close 1009), invalid UTF-8 (close 1007) are
 * counted in the stats, reported as FLOE_WSCONN_EV_ERROR with a readable
 * reason, and end in FLOE_WSCONN_EV_CLOSED.
 *
 * Memory: the object, its buffers and the frame codec (src/portal/ws_frame.h)
 * use the allocator hooks; OpenSSL allocates with its own allocator.
 */
#ifndef FLOE_PORTAL_WIRE_H
#define FLOE_PORTAL_WIRE_H

#include "floe/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* OpenSSL's SSL_CTX, without including OpenSSL here. */
struct ssl_ctx_st;

/* Longest HTTP request or response head (request line and headers) accepted. */
#define FLOE_WSCONN_HEAD_MAX 8192
/* Most header lines in one HTTP head. */
#define FLOE_WSCONN_HEADERS_MAX 64
/* Longest close reason (RFC 6455 section 5.5: 125 bytes of payload less the code) + NUL. */
#define FLOE_WSCONN_REASON_MAX 124
/* Longest error text in an event, NUL included. */
#define FLOE_WSCONN_TEXT_MAX 256
/* Default bound of a received message (FLOE_WSCONN_MESSAGE_MAX bytes, 1 MiB). */
#define FLOE_WSCONN_MESSAGE_MAX (1024u * 1024u)
/* Events queued before the oldest unread ones are dropped (and counted); a connection makes
 * at most four (REQUEST, OPEN, ERROR, CLOSED). */
#define FLOE_WSCONN_EVENT_QUEUE 8

/* RFC 6455 section 7.4.1 close codes used here. */
#define FLOE_WS_CLOSE_NORMAL 1000
#define FLOE_WS_CLOSE_GOING_AWAY 1001
#define FLOE_WS_CLOSE_PROTOCOL_ERROR 1002
#define FLOE_WS_CLOSE_NO_STATUS 1005
#define FLOE_WS_CLOSE_ABNORMAL 1006
#define FLOE_WS_CLOSE_INVALID_PAYLOAD 1007
#define FLOE_WS_CLOSE_POLICY 1008
#define FLOE_WS_CLOSE_TOO_BIG 1009

enum floe_wsconn_role {
    FLOE_WSCONN_CLIENT = 0, /* sends the upgrade request, masks its frames */
    FLOE_WSCONN_SERVER = 1, /* reads the request, lets the caller accept or respond */
};

struct floe_wsconn_config {
    struct floe_allocator alloc;
    struct floe_log log;
    struct floe_rng rng; /* required for a client: Sec-WebSocket-Key and masking keys */
    enum floe_wsconn_role role;
    bool tls; /* TLS inside the stream (wss://); false: plain ws:// */

    /* Client. Strings are copied; token is wiped by floe_wsconn_free. */
    const char *host;        /* Host header, "portal.example:8443" (required for a client) */
    const char *path;        /* request target with any query string (default "/") */
    const char *token;       /* Authorization: Bearer <token>; NULL or "" for none */
    const char *user_agent;  /* User-Agent (default "floe/" FLOE_VERSION_STRING) */
    const char *server_name; /* TLS: SNI and the name verified (default: host without port) */
    const char *ca_file;     /* TLS: PEM CA certificates to trust; NULL: the system store */

    /* TLS context for either role (borrowed and up-referenced; the caller may free its own
     * reference after floe_wsconn_new). A server with TLS needs it or cert_file/key_file;
     * a client without it builds one from ca_file. See floe_wsconn_tls_server_ctx. */
    struct ssl_ctx_st *tls_ctx;
    const char *cert_file; /* server TLS without tls_ctx: PEM certificate chain */
    const char *key_file;  /* server TLS without tls_ctx: PEM private key */

    /* Limits and timers. */
    size_t max_message;          /* largest message received; larger: close 1009 (1 MiB) */
    size_t max_queued;           /* received bytes held for poll_message before reading
                                    pauses (4 MiB, >= max_message) */
    size_t max_send_queue;       /* bytes queued by send_text and not yet framed (4 MiB) */
    floe_time handshake_timeout; /* TLS + upgrade from floe_wsconn_start (10 s) */
    floe_time ping_interval;     /* ping after this long without input; 0: never (default 0) */
    floe_time pong_timeout;      /* no input this long after a ping: fail with
                                    FLOE_ERR_TIMEOUT, close 1001 (10 s) */
    floe_time close_timeout;     /* wait for the peer's close frame after ours (5 s) */
};

/* Fill cfg with the defaults above (client role, no TLS, no host, no rng). */
void floe_wsconn_config_default(struct floe_wsconn_config *cfg);

struct floe_wsconn;

/*
 * Create a connection. The config is copied (strings included); nothing is
 * sent before floe_wsconn_start. With TLS, the SSL object is made here: a
 * server from cfg->tls_ctx or by loading cert_file/key_file; a client from
 * cfg->tls_ctx or a new context trusting ca_file (or the system store),
 * verifying the chain and the name server_name (or host without its port)
 * whatever the context says about verification.
 * Returns 0 and sets *out; FLOE_ERR_INVALID_ARG (NULL, a client without host
 * or rng, a path not starting with '/', a host/path/token/server name with
 * spaces or control characters or longer than 1024 bytes, max_message 0 or
 * over 2 GiB, max_queued < max_message, max_send_queue 0, server TLS without
 * a context or files); FLOE_ERR_CRYPTO (OpenSSL refused the files or
 * context: the log hook says why); FLOE_ERR_NOMEM.
 */
FLOE_WARN_UNUSED int floe_wsconn_new(struct floe_wsconn **out,
                                     const struct floe_wsconn_config *cfg);
/* Free c (NULL allowed), its SSL object and its buffers; wipe the token. Sends nothing. */
void floe_wsconn_free(struct floe_wsconn *c);

/*
 * Build a TLS server context from PEM files, to share between many server
 * connections (cfg.tls_ctx); the caller frees it with SSL_CTX_free. On failure
 * err (if not NULL) gets a readable reason. Returns 0, FLOE_ERR_INVALID_ARG or
 * FLOE_ERR_CRYPTO.
 */
int floe_wsconn_tls_server_ctx(struct ssl_ctx_st **out, const char *cert_file, const char *key_file,
                               char *err, size_t err_cap);
/*
 * Build a TLS client context trusting ca_file (NULL: the system store, which is
 * OpenSSL's default CA paths on Linux and, on Windows, the certificates of the
 * current user's "ROOT" system store copied in: one OpenSSL cannot parse is
 * skipped; none usable is FLOE_ERR_CRYPTO) with peer verification on, to share
 * between client connections (cfg.tls_ctx). Same returns as
 * floe_wsconn_tls_server_ctx.
 */
int floe_wsconn_tls_client_ctx(struct ssl_ctx_st **out, const char *ca_file, char *err,
                               size_t err_cap);

/* ------------------------------------------------------------- commands */

/*
 * The transport is connected: a client starts the TLS handshake or writes the
 * upgrade request; both roles arm the handshake timeout. Returns 0,
 * FLOE_ERR_INVALID_ARG, or FLOE_ERR_STATE (started already).
 */
int floe_wsconn_start(struct floe_wsconn *c, floe_time now);

/*
 * Queue the text message msg[0..len) (copied) for sending. Returns 0;
 * FLOE_ERR_INVALID_ARG (NULL, or not valid UTF-8); FLOE_ERR_STATE (not OPEN);
 * FLOE_ERR_BUFFER_TOO_SMALL (max_send_queue would be exceeded: drain
 * poll_transmit and try again); FLOE_ERR_NOMEM.
 */
int floe_wsconn_send_text(struct floe_wsconn *c, floe_time now, const char *msg, size_t len);

/*
 * Start the close handshake with code (1000-1003, 1007-1011, 3000-4999) and a
 * reason (NULL, or UTF-8 cut to 123 bytes on a character boundary). OPEN: a close frame goes out
 * and the state is CLOSING until the peer answers or close_timeout passes.
 * Before OPEN the connection is dropped at once (CLOSED, code 1006, err 0; a
 * server that has a request should rather floe_wsconn_respond). Returns 0, FLOE_ERR_INVALID_ARG
 * (bad code, reason not UTF-8) or FLOE_ERR_STATE (CLOSING or CLOSED already).
 */
int floe_wsconn_close(struct floe_wsconn *c, floe_time now, uint16_t code, const char *reason);

/* ------------------------------------------------------------- server */

/* One header line of a request, NUL-terminated, borrowed from the connection. */
struct floe_wsconn_header {
    const char *name;  /* as sent (compare without case) */
    const char *value; /* leading and trailing blanks removed */
};

/* A parsed HTTP request (server role), valid until the connection is freed. */
struct floe_wsconn_request {
    const char *method; /* "GET", ... */
    const char *target; /* the request target as sent: "/socket?token=x" */
    const char *path;   /* target before '?', percent-escapes kept: "/socket" */
    const char *query;  /* target after '?', "" when none */
    /* The bearer token: "Authorization: Bearer X", else the query's token=X
     * (percent-decoded), else "". */
    const char *token;
    const char *host;       /* Host header, "" when none */
    const char *user_agent; /* User-Agent header, "" when none */
    bool websocket;         /* a valid WebSocket upgrade (Upgrade, Connection, version 13, key) */
    size_t n_headers;
    const struct floe_wsconn_header *headers;
};

/*
 * The request read by a server connection, once FLOE_WSCONN_EV_REQUEST has
 * been reported (state REQUEST and after), or NULL: client role, no complete
 * request yet, or a request the server refused by itself (400, 426, 431, 505).
 */
const struct floe_wsconn_request *floe_wsconn_request(const struct floe_wsconn *c);

/*
 * Value of the request's header name (any case), or NULL. Server role only.
 */
const char *floe_wsconn_request_header(const struct floe_wsconn *c, const char *name);

/*
 * Accept the WebSocket upgrade of the request: 101 Switching Protocols goes
 * out and the state is OPEN (FLOE_WSCONN_EV_OPEN follows). Returns 0,
 * FLOE_ERR_INVALID_ARG, or FLOE_ERR_STATE (not in REQUEST, or the request is
 * not a WebSocket upgrade).
 */
int floe_wsconn_accept(struct floe_wsconn *c, floe_time now);

/*
 * Answer the request with a plain HTTP response: status (100-599 but 101),
 * Content-Type content_type (NULL: "text/plain; charset=utf-8"; no control
 * characters), the body body[0..len) (copied; NULL for none) and Connection:
 * close; a 401 also says WWW-Authenticate: Bearer. The connection is CLOSED
 * at once (FLOE_WSCONN_EV_CLOSED, by LOCAL, err 0, http_status status): drain
 * poll_transmit, then close the socket. Returns 0, FLOE_ERR_INVALID_ARG,
 * FLOE_ERR_STATE (not in REQUEST) or FLOE_ERR_NOMEM.
 */
int floe_wsconn_respond(struct floe_wsconn *c, floe_time now, int status, const char *content_type,
                        const uint8_t *body, size_t len);

/* ------------------------------------------------------------- driving */

/*
 * Feed bytes read from the transport (ciphertext with TLS), in order, in any
 * pieces (one byte at a time works). The bytes are consumed whole: they are
 * parsed, or held until more arrive, or (CLOSED) dropped and counted.
 * A server holds at most 64 KiB behind a request until it is answered (a
 * client must wait for the 101); more fails the connection. Returns 0 or
 * FLOE_ERR_INVALID_ARG (NULL c, or NULL buf with len > 0); a buffer that
 * cannot grow fails the connection (ERROR with FLOE_ERR_NOMEM).
 */
int floe_wsconn_handle_input(struct floe_wsconn *c, floe_time now, const uint8_t *buf, size_t len);

/*
 * The transport reached end of file (or failed). A connection not CLOSED yet
 * closes: normally in CLOSING, else abnormally (code 1006, an ERROR event
 * first).
 */
void floe_wsconn_handle_eof(struct floe_wsconn *c, floe_time now);

/* Fire what is due at now: handshake timeout, keepalive ping, pong and close timeouts. */
void floe_wsconn_handle_timeout(struct floe_wsconn *c, floe_time now);

/*
 * Copy up to cap bytes due on the transport into buf. Returns the count (a
 * stream: any split is fine), 0 when nothing is due, or FLOE_ERR_INVALID_ARG.
 */
long floe_wsconn_poll_transmit(struct floe_wsconn *c, floe_time now, uint8_t *buf, size_t cap);

/* True when floe_wsconn_poll_transmit has bytes to give. */
bool floe_wsconn_want_write(const struct floe_wsconn *c);

/* The next instant handle_timeout has work; FLOE_TIME_NEVER when none. */
floe_time floe_wsconn_poll_timeout(const struct floe_wsconn *c);

/*
 * The next complete text message received, in order: 1 and *msg set (borrowed
 * until the next floe_wsconn_poll_message or floe_wsconn_free; not
 * NUL-terminated), or 0 when none. Binary messages are dropped and counted.
 * Messages received before the close are still given after EV_CLOSED.
 */
int floe_wsconn_poll_message(struct floe_wsconn *c, struct floe_span *msg);

/* --------------------------------------------------------------- events */

enum floe_wsconn_state {
    FLOE_WSCONN_IDLE,      /* created, floe_wsconn_start not called yet */
    FLOE_WSCONN_HANDSHAKE, /* TLS handshake and/or the HTTP upgrade in progress */
    FLOE_WSCONN_REQUEST,   /* server: a request is read; the caller must accept or respond */
    FLOE_WSCONN_OPEN,      /* messages flow both ways */
    FLOE_WSCONN_CLOSING,   /* our close frame is sent; the peer's is awaited */
    FLOE_WSCONN_CLOSED,    /* done: only the last bytes to transmit remain */
};

/* The current state. */
enum floe_wsconn_state floe_wsconn_state(const struct floe_wsconn *c);
/* "idle", "handshake", "request", "open", "closing", "closed". */
const char *floe_wsconn_state_name(enum floe_wsconn_state s);

enum floe_wsconn_event_kind {
    FLOE_WSCONN_EV_REQUEST, /* server: a request is read (floe_wsconn_request) */
    FLOE_WSCONN_EV_OPEN,    /* the upgrade is complete: send_text works */
    FLOE_WSCONN_EV_ERROR,   /* the connection failed: err, http_status, text; CLOSED follows */
    FLOE_WSCONN_EV_CLOSED,  /* the end: code, text (the close reason), by */
};

enum floe_wsconn_closer {
    FLOE_WSCONN_BY_LOCAL = 0, /* this side: floe_wsconn_close, respond, or a failure seen here */
    FLOE_WSCONN_BY_PEER = 1,  /* the peer: its close frame, its refusal, or end of file */
};

struct floe_wsconn_event {
    enum floe_wsconn_event_kind kind;
    /* ERROR: FLOE_ERR_PROTOCOL (HTTP or WebSocket rules broken, upgrade refused),
     * FLOE_ERR_CRYPTO (TLS), FLOE_ERR_TIMEOUT, FLOE_ERR_IO (end of file), FLOE_ERR_NOMEM.
     * CLOSED: 0 after a clean close handshake or response, else the same as the ERROR. */
    int err;
    /* ERROR and CLOSED on a client: the server's HTTP status when it was not 101 (401 when
     * the token was refused); on a server: the status it answered (respond, or
     * 400/426/431/505 by itself). */
    int http_status;
    /* CLOSED: the close code (sent by the closer; 1005 when the frame had none, 1006 when
     * no close frame was exchanged). */
    uint16_t code;
    enum floe_wsconn_closer by; /* CLOSED and ERROR */
    /* ERROR: a readable reason ("HTTP 401 Unauthorized", followed by ": " and the answer's
     * body when it has one of up to 1 KiB, "TLS: certificate verify failed: hostname
     * mismatch", "WebSocket: message over 1048576 bytes"); CLOSED: the close reason, or the
     * error's text. Printable ASCII: '?' stands for other bytes. */
    char text[FLOE_WSCONN_TEXT_MAX];
};

/* The next event: 1 and *ev filled, or 0 when none. */
int floe_wsconn_poll_event(struct floe_wsconn *c, struct floe_wsconn_event *ev);

/* The HTTP status the client read (101 on success), or the server sent; 0 before. */
int floe_wsconn_http_status(const struct floe_wsconn *c);

/* ---------------------------------------------------------------- stats */

enum floe_wsconn_drop {
    FLOE_WSCONN_DROP_HTTP_MALFORMED, /* HTTP head not parseable (bad line, bad header) */
    FLOE_WSCONN_DROP_HTTP_TOO_LARGE, /* head over 8 KiB or over 64 headers */
    FLOE_WSCONN_DROP_HANDSHAKE,      /* upgrade rules broken (key, version, accept, status) */
    FLOE_WSCONN_DROP_TLS,            /* TLS handshake or record failure */
    FLOE_WSCONN_DROP_WS_PROTOCOL,    /* bad opcode, rsv, masking, control frame: close 1002 */
    FLOE_WSCONN_DROP_WS_TOO_BIG,     /* message over max_message: close 1009 */
    FLOE_WSCONN_DROP_WS_UTF8,        /* text or close reason not UTF-8: close 1007 */
    FLOE_WSCONN_DROP_BINARY,         /* a binary message (this transport carries text) */
    FLOE_WSCONN_DROP_AFTER_CLOSE,    /* bytes received once CLOSED */
    FLOE_WSCONN_DROP_EVENTS,         /* events dropped: the queue was full */
    FLOE_WSCONN_DROP_COUNT
};

/* Counters, monotonically increasing for the life of the object. */
struct floe_wsconn_stats {
    uint64_t bytes_in, bytes_out;       /* transport bytes (ciphertext with TLS) */
    uint64_t frames_in, frames_out;     /* WebSocket frames, control frames included */
    uint64_t messages_in, messages_out; /* text messages */
    uint64_t pings_sent, pongs_received, pings_received;
    uint64_t drops[FLOE_WSCONN_DROP_COUNT];
};

/* The counters of c. */
const struct floe_wsconn_stats *floe_wsconn_stats(const struct floe_wsconn *c);
/* Metric-friendly name of a drop reason ("http_malformed", ...); "unknown" out of range. */
const char *floe_wsconn_drop_name(enum floe_wsconn_drop d);

#ifdef __cplusplus
}
#endif

#endif
