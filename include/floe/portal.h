/*
 * floe portal protocol: the JSON messages a Client and a Gateway exchange with floe-portal
 * (docs/protocol.md), and the sans-IO protocol client that speaks them.
 *
 * Part 1, the message codec. Every message travels in a Phoenix-channel envelope
 *
 *   {"topic": "client"|"gateway"|"phoenix", "event": NAME, "payload": {...}, "ref": "7"|null}
 *
 * and (topic, event) names the payload's shape: the same event name may carry a different
 * payload on the other topic (authorization_created is the portal's answer on "client" and the
 * gateway's acknowledgement on "gateway"). One codec serves both ends: floe-portal decodes
 * what a device encodes and the other way round. The decoder is bounded (see the limits
 * below), accepts unknown payload fields (forward compatibility), skips candidate strings it
 * cannot parse (counted in n_skipped) and refuses everything else that does not fit, with a
 * reason. It never crashes on any input (fuzz/portal_msg_fuzz.c).
 *
 * Part 2, struct floe_portal_client: the device side of the protocol above the WebSocket
 * transport of floe/portal_wire.h (HTTP upgrade, frames, TLS through memory BIOs). See the
 * comment before floe_portal_client_config.
 *
 * Memory: the codec writes into caller-owned structs and buffers. jansson allocates its parse
 * tree with the C library's malloc during floe_portal_msg_decode and frees it before
 * returning; nothing else here touches the C library allocator.
 */
#ifndef FLOE_PORTAL_H
#define FLOE_PORTAL_H

#include "floe/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- limits */

/* Ids (resources, gateways, clients, relays, sites): 1..63 of [A-Za-z0-9._:-], NUL included. */
#define FLOE_PORTAL_ID_MAX 64
/* Phoenix refs: 1..31 printable ASCII characters, NUL included. */
#define FLOE_PORTAL_REF_MAX 32
/* Display names: up to 127 bytes of UTF-8, no control characters, NUL included. */
#define FLOE_PORTAL_NAME_MAX 128
/* One RFC 8839 candidate string, NUL included. */
#define FLOE_PORTAL_CANDIDATE_MAX 256
/* Candidates in one message. */
#define FLOE_PORTAL_CANDIDATES_MAX 32
/* Peer ids in one message (broadcast client_ids, connected_gateway_ids, disconnected_ids). */
#define FLOE_PORTAL_PEERS_MAX 32
/* Resources in init. */
#define FLOE_PORTAL_RESOURCES_MAX 256
/* Relays in init or relays_presence. */
#define FLOE_PORTAL_RELAYS_MAX 16
/* Port/protocol filters of one resource. */
#define FLOE_PORTAL_FILTERS_MAX 16
/* ICE username fragment (RFC 8445 section 5.3: 4..256 characters; floe: 4..64), NUL included. */
#define FLOE_PORTAL_UFRAG_MAX 65
/* ICE password (RFC 8445: 22..256 characters; floe: 22..128), NUL included. */
#define FLOE_PORTAL_ICE_PWD_MAX 129
/* TURN REST username ("expiry:id") and password, NUL included. */
#define FLOE_PORTAL_TURN_USER_MAX 128
#define FLOE_PORTAL_TURN_PASS_MAX 128
/* Reasons (phx_reply errors, authorization_creation_failed), NUL included. */
#define FLOE_PORTAL_REASON_MAX 128
/* Longest JSON text decoded or encoded (one WebSocket message). */
#define FLOE_PORTAL_JSON_MAX (1024 * 1024)
/* JSON nesting depth accepted by the decoder. */
#define FLOE_PORTAL_DEPTH_MAX 8
/* WireGuard keys (public and preshared): 32 bytes, standard padded base64 on the wire. */
#define FLOE_PORTAL_KEY_LEN 32

/* ---------------------------------------------------------- the types */

enum floe_portal_topic {
    FLOE_PORTAL_TOPIC_CLIENT = 1,  /* "client": a Client's channel */
    FLOE_PORTAL_TOPIC_GATEWAY = 2, /* "gateway": a Gateway's channel */
    FLOE_PORTAL_TOPIC_PHOENIX = 3, /* "phoenix": heartbeats and their replies */
};

/* The role of a device: which topic it joins. */
enum floe_portal_role {
    FLOE_PORTAL_ROLE_CLIENT = 1,
    FLOE_PORTAL_ROLE_GATEWAY = 2,
};

/* An IPv4 or IPv6 network: addr (port 0, host bits zero) and prefix length. */
struct floe_portal_cidr {
    struct floe_addr addr;
    uint8_t prefix; /* 0..32 for IPv4, 0..128 for IPv6 */
};

enum floe_portal_proto {
    FLOE_PORTAL_PROTO_TCP = 6,
    FLOE_PORTAL_PROTO_UDP = 17,
    FLOE_PORTAL_PROTO_ICMP = 1, /* ICMP and ICMPv6 echo; no ports */
};

/* One allowed protocol and, for TCP/UDP, port range (0..65535 when the JSON omits it; 0..0 for
 * ICMP). */
struct floe_portal_filter {
    uint8_t protocol; /* enum floe_portal_proto */
    uint16_t port_start, port_end;
};

/* A resource: one CIDR, optional filters (none: everything allowed). */
struct floe_portal_resource {
    char id[FLOE_PORTAL_ID_MAX];
    char name[FLOE_PORTAL_NAME_MAX];
    struct floe_portal_cidr address;
    uint32_t n_filters;
    struct floe_portal_filter filters[FLOE_PORTAL_FILTERS_MAX];
};

/* A TURN relay with REST credentials (coturn use-auth-secret) valid until expires_at. */
struct floe_portal_relay {
    char id[FLOE_PORTAL_ID_MAX];
    struct floe_addr addr; /* the relay's IPv4 or IPv6 transport address */
    char username[FLOE_PORTAL_TURN_USER_MAX];
    char password[FLOE_PORTAL_TURN_PASS_MAX];
    uint64_t expires_at; /* Unix seconds */
};

/* A device's tunnel addresses (port 0). */
struct floe_portal_interface {
    struct floe_addr ipv4;
    struct floe_addr ipv6;
};

/* ICE credentials of one side of one connection. */
struct floe_portal_ice_creds {
    char username[FLOE_PORTAL_UFRAG_MAX];
    char password[FLOE_PORTAL_ICE_PWD_MAX];
};

/* ------------------------------------------------------- the payloads */

/* phx_reply: status "ok" or "error"; reason is response.reason when it is a string. */
struct floe_portal_reply {
    bool ok;
    char reason[FLOE_PORTAL_REASON_MAX];
};

/* init (both topics; a gateway's has no resources). */
struct floe_portal_init {
    struct floe_portal_interface interface;
    uint32_t n_resources;
    struct floe_portal_resource resources[FLOE_PORTAL_RESOURCES_MAX];
    uint32_t n_relays;
    struct floe_portal_relay relays[FLOE_PORTAL_RELAYS_MAX];
};

/* relays_presence: relays gone and relays (re)connected with fresh credentials. */
struct floe_portal_relays_presence {
    uint32_t n_disconnected;
    char disconnected_ids[FLOE_PORTAL_PEERS_MAX][FLOE_PORTAL_ID_MAX];
    uint32_t n_connected;
    struct floe_portal_relay connected[FLOE_PORTAL_RELAYS_MAX];
};

/* request_authorization (client -> portal). */
struct floe_portal_request_authorization {
    char resource_id[FLOE_PORTAL_ID_MAX];
    uint32_t n_gateways; /* connected_gateway_ids: gateways the client already has a tunnel to */
    char gateway_ids[FLOE_PORTAL_PEERS_MAX][FLOE_PORTAL_ID_MAX];
};

/* The client as create_authorization shows it to the gateway. */
struct floe_portal_peer_client {
    char id[FLOE_PORTAL_ID_MAX];
    uint8_t public_key[FLOE_PORTAL_KEY_LEN];
    uint8_t preshared_key[FLOE_PORTAL_KEY_LEN];
    struct floe_addr ipv4, ipv6; /* its tunnel addresses */
};

/* create_authorization (portal -> gateway). */
struct floe_portal_create_authorization {
    char ref[FLOE_PORTAL_ID_MAX]; /* echoed in the gateway's authorization_created */
    struct floe_portal_resource resource;
    struct floe_portal_peer_client client;
    struct floe_portal_ice_creds client_ice;  /* client_ice_credentials */
    struct floe_portal_ice_creds gateway_ice; /* gateway_ice_credentials */
    uint64_t expires_at;                      /* Unix seconds; 0: never */
};

/* authorization_created (gateway -> portal): the gateway accepted the ref. */
struct floe_portal_gateway_authorized {
    char ref[FLOE_PORTAL_ID_MAX];
};

/* authorization_created (portal -> client). */
struct floe_portal_authorization_created {
    char resource_id[FLOE_PORTAL_ID_MAX];
    char gateway_id[FLOE_PORTAL_ID_MAX];
    uint8_t gateway_public_key[FLOE_PORTAL_KEY_LEN];
    struct floe_addr gateway_ipv4, gateway_ipv6;
    uint8_t preshared_key[FLOE_PORTAL_KEY_LEN];
    struct floe_portal_ice_creds client_ice;
    struct floe_portal_ice_creds gateway_ice;
};

/* authorization_creation_failed (portal -> client). reason: not_found, offline, forbidden... */
struct floe_portal_authorization_failed {
    char resource_id[FLOE_PORTAL_ID_MAX];
    char reason[FLOE_PORTAL_REASON_MAX];
};

/* reject_access and access_authorization_expiry_updated (portal -> gateway). */
struct floe_portal_access {
    char client_id[FLOE_PORTAL_ID_MAX];
    char resource_id[FLOE_PORTAL_ID_MAX];
    uint64_t expires_at; /* expiry_updated only: Unix seconds */
};

/*
 * Every candidate message. ids: one peer (gateway_id or client_id) except the gateway's
 * broadcasts (client_ids, 1..FLOE_PORTAL_PEERS_MAX). candidates: RFC 8839 strings; on decode,
 * those floe_ice_candidate_parse refuses are skipped and counted in n_skipped.
 */
struct floe_portal_candidates {
    uint32_t n_ids;
    char ids[FLOE_PORTAL_PEERS_MAX][FLOE_PORTAL_ID_MAX];
    uint32_t n_candidates;
    char candidates[FLOE_PORTAL_CANDIDATES_MAX][FLOE_PORTAL_CANDIDATE_MAX];
    uint32_t n_skipped;
};

/* ------------------------------------------------------- the messages */

/*
 * Message types: (topic, event) pairs. "dir" says who sends it: D->P a device to the portal,
 * P->D the portal to a device, C client, G gateway.
 */
#define FLOE_PORTAL_MSG_TABLE(X)                                                                   \
    X(JOIN, "phx_join")                                /* D->P on client/gateway: payload {} */    \
    X(REPLY, "phx_reply")                              /* P->D any topic: u.reply */               \
    X(HEARTBEAT, "heartbeat")                          /* D->P on phoenix: payload {} */           \
    X(CHANNEL_ERROR, "phx_error")                      /* P->D: the channel failed, rejoin */      \
    X(CHANNEL_CLOSE, "phx_close")                      /* P->D: the channel was closed */          \
    X(INIT, "init")                                    /* P->C, P->G: u.init */                    \
    X(RELAYS_PRESENCE, "relays_presence")              /* P->C, P->G: u.relays */                  \
    X(RESOURCE_UPDATED, "resource_created_or_updated") /* P->C, P->G: u.resource */                \
    X(RESOURCE_DELETED, "resource_deleted") /* P->C, P->G: u.id (payload: the id string) */        \
    X(CONFIG_CHANGED, "config_changed")     /* P->C, P->G: u.interface */                          \
    X(REQUEST_AUTHORIZATION, "request_authorization")        /* C->P: u.request */                 \
    X(CREATE_AUTHORIZATION, "create_authorization")          /* P->G: u.create */                  \
    X(GATEWAY_AUTHORIZED, "authorization_created")           /* G->P on gateway: u.authorized */   \
    X(AUTHORIZATION_CREATED, "authorization_created")        /* P->C on client: u.created */       \
    X(AUTHORIZATION_FAILED, "authorization_creation_failed") /* P->C: u.failed */                  \
    X(REJECT_ACCESS, "reject_access")                        /* P->G: u.access */                  \
    X(EXPIRY_UPDATED, "access_authorization_expiry_updated") /* P->G: u.access */                  \
    X(NEW_GATEWAY_CANDIDATES, "new_gateway_ice_candidates")  /* C->P: u.cands, gateway_id */       \
    X(INVALIDATE_GATEWAY_CANDIDATES, "invalidate_gateway_ice_candidates") /* C->P: u.cands */      \
    X(BROADCAST_CANDIDATES, "broadcast_ice_candidates") /* G->P: u.cands, client_ids */            \
    X(BROADCAST_INVALIDATED, "broadcast_invalidated_ice_candidates") /* G->P: u.cands */           \
    X(ICE_CANDIDATES, "ice_candidates")                   /* P->C gateway_id, P->G client_id */    \
    X(INVALIDATE_CANDIDATES, "invalidate_ice_candidates") /* P->C, P->G: u.cands */                \
    X(GATEWAY_CANDIDATES, "gateway_ice_candidates")       /* G->P: u.cands (no ids): all its own */

enum floe_portal_msg_type {
    FLOE_PORTAL_MSG_NONE = 0,
#define FLOE__PORTAL_MSG_ENUM(name, event) FLOE_PORTAL_MSG_##name,
    FLOE_PORTAL_MSG_TABLE(FLOE__PORTAL_MSG_ENUM)
#undef FLOE__PORTAL_MSG_ENUM
        FLOE_PORTAL_MSG_COUNT
};

/*
 * One message: the envelope (topic, ref) and the payload of its type. Large (about 85 KiB
 * because of init's resources): allocate it, do not put it on a small stack.
 */
struct floe_portal_msg {
    enum floe_portal_msg_type type;
    enum floe_portal_topic topic;
    bool has_ref; /* false: "ref": null */
    char ref[FLOE_PORTAL_REF_MAX];
    union {
        struct floe_portal_reply reply;
        struct floe_portal_init init;
        struct floe_portal_relays_presence relays;
        struct floe_portal_resource resource;
        char id[FLOE_PORTAL_ID_MAX];
        struct floe_portal_interface interface;
        struct floe_portal_request_authorization request;
        struct floe_portal_create_authorization create;
        struct floe_portal_gateway_authorized authorized;
        struct floe_portal_authorization_created created;
        struct floe_portal_authorization_failed failed;
        struct floe_portal_access access;
        struct floe_portal_candidates cands;
    } u;
};

/* The wire event name of type ("phx_join", "init", ...); "unknown" outside the enum. */
const char *floe_portal_msg_event(enum floe_portal_msg_type type);
/* The wire name of topic ("client", "gateway", "phoenix"); "unknown" outside the enum. */
const char *floe_portal_topic_name(enum floe_portal_topic topic);
/*
 * True when type may travel on topic (heartbeat only on phoenix, create_authorization only on
 * gateway, ...): the decoder refuses other pairs and the encoder does not write them.
 */
bool floe_portal_msg_is_valid_on(enum floe_portal_msg_type type, enum floe_portal_topic topic);

/*
 * Decode the JSON text json[0..len) (not necessarily NUL-terminated) into *out, which is
 * overwritten (zeroed first). On failure a NUL-terminated reason ("payload.resource.address:
 * not a CIDR", "unknown event 'x'") is written into reason[0..reason_cap) when reason is not
 * NULL. Returns 0, FLOE_ERR_INVALID_ARG (NULL out or json), FLOE_ERR_MALFORMED (not JSON,
 * over FLOE_PORTAL_JSON_MAX or FLOE_PORTAL_DEPTH_MAX, a missing or ill-typed envelope or
 * payload field, a value out of its limits), FLOE_ERR_UNSUPPORTED (an unknown topic or
 * event, or an event not valid on its topic) or FLOE_ERR_NOMEM (jansson could not allocate).
 */
FLOE_WARN_UNUSED int floe_portal_msg_decode(struct floe_portal_msg *out, const char *json,
                                            size_t len, char *reason, size_t reason_cap);

/*
 * Encode m as compact JSON into out[0..cap), NUL-terminated. Every string and count is
 * checked against the limits the decoder applies, so what this writes decodes to m again.
 * Returns the length (without NUL), FLOE_ERR_INVALID_ARG (NULL, a type not valid on its topic,
 * a field out of its limits: empty or over-long id, count over the maximum, bad address
 * family) or FLOE_ERR_BUFFER_TOO_SMALL (nothing usable written).
 */
FLOE_WARN_UNUSED long floe_portal_msg_encode(const struct floe_portal_msg *m, char *out,
                                             size_t cap);

/* --------------------------------------------------- the protocol client */

/*
 * struct floe_portal_client: one device's session with the portal, sans-IO. It owns the
 * WebSocket connection object of floe/portal_wire.h (HTTP upgrade with the bearer token, TLS,
 * frames) and speaks the protocol of docs/protocol.md above it: phx_join on the role's topic,
 * a heartbeat every heartbeat_interval, 3 missed heartbeats (heartbeat_misses) end the
 * connection, reconnect delays with exponential backoff and jitter capped at backoff_max, a
 * 401 is final, and candidate messages sent while not joined are held and flushed right after
 * the next successful join (docs/protocol.md section 6); so are those written on a connection
 * that was lost before a reply to a later message (a heartbeat's) confirmed them.
 *
 * The program owns the TCP connection:
 *   1. open a TCP connection to the portal, call floe_portal_client_connect(now);
 *   2. after every call below, write what floe_portal_client_poll_transmit gives to the TCP
 *      connection, drain floe_portal_client_poll_event, re-arm the timer from
 *      floe_portal_client_poll_timeout;
 *   3. bytes read from TCP go to floe_portal_client_handle_input, the timer to
 *      floe_portal_client_handle_timeout; when TCP closes or fails, call
 *      floe_portal_client_disconnected;
 *   4. on FLOE_PORTAL_EV_DISCONNECTED drain floe_portal_client_poll_transmit one last time
 *      (a close frame when the client gave up on a live connection) and close the TCP
 *      connection; input is not read any more (handle_input returns FLOE_ERR_STATE);
 *      on FLOE_PORTAL_EV_RECONNECT_AT open a new one at ev.at and go to 1;
 *      on FLOE_PORTAL_EV_FATAL stop (a refused token: say so, exit).
 *
 * States: IDLE (never connected) -> CONNECTING (transport handshake) -> JOINING (phx_join
 * sent) -> JOINED (ok received) -> WAITING (lost; reconnect at the announced time) ->
 * CONNECTING ... ; FAILED (401, final).
 */

/* Defaults (docs/protocol.md sections 3, 4, 6). */
#define FLOE_PORTAL_HEARTBEAT_INTERVAL FLOE_SEC(10)
#define FLOE_PORTAL_HEARTBEAT_MISSES 3
#define FLOE_PORTAL_BACKOFF_INITIAL FLOE_SEC(1)
#define FLOE_PORTAL_BACKOFF_MAX FLOE_SEC(60)
#define FLOE_PORTAL_HOLD_MAX 64
/* Events queued before the oldest unread ones are dropped (and counted). */
#define FLOE_PORTAL_CLIENT_EVENTS 64

struct floe_portal_client_config {
    struct floe_allocator alloc;
    struct floe_log log;
    struct floe_rng rng;        /* required: backoff jitter, WebSocket key and masks */
    enum floe_portal_role role; /* required: which topic to join */
    /* The transport (floe/portal_wire.h); strings are copied. */
    const char *host;  /* required: Host header and, with TLS, the name verified */
    const char *path;  /* default "/client/websocket" or "/gateway/websocket" */
    const char *token; /* required: Authorization: Bearer */
    /* Who the device is, appended to the path's query string (docs/protocol.md section 1):
     * public_key=<base64> when public_key is set (32 bytes), name=<name> when name is set,
     * both percent-encoded. NULL: not sent (e.g. a path that carries them already). */
    const uint8_t *public_key;
    const char *name;
    const char *user_agent;       /* default "floe/<version>" */
    bool tls;                     /* wss:// (default true) */
    const char *ca_file;          /* PEM CA bundle; NULL: the system store */
    const char *server_name;      /* name to verify in the certificate; NULL: host */
    size_t max_message;           /* largest message accepted (default FLOE_PORTAL_JSON_MAX) */
    floe_time heartbeat_interval; /* FLOE_PORTAL_HEARTBEAT_INTERVAL */
    uint32_t heartbeat_misses;    /* FLOE_PORTAL_HEARTBEAT_MISSES (1..100) */
    floe_time backoff_initial;    /* FLOE_PORTAL_BACKOFF_INITIAL */
    floe_time backoff_max;        /* FLOE_PORTAL_BACKOFF_MAX (>= backoff_initial) */
    uint32_t hold_max;            /* FLOE_PORTAL_HOLD_MAX held messages (1..4096) */
};

/* Fill cfg with the defaults above (no role, host, token or rng). */
void floe_portal_client_config_default(struct floe_portal_client_config *cfg);

struct floe_portal_client;

/*
 * Create a client. The config is copied, strings included; the token is wiped by
 * floe_portal_client_free. Nothing happens until floe_portal_client_connect.
 * Returns 0 and sets *out; FLOE_ERR_INVALID_ARG (NULL, no rng, no role, no host or token,
 * a value out of its range); FLOE_ERR_NOMEM.
 */
FLOE_WARN_UNUSED int floe_portal_client_new(struct floe_portal_client **out,
                                            const struct floe_portal_client_config *cfg);
/* Free c (NULL allowed), its connection, held messages and queued events. */
void floe_portal_client_free(struct floe_portal_client *c);

/* ------------------------------------------------------------- commands */

/*
 * A new TCP connection to the portal is open: start the HTTP upgrade (and TLS) on it. Valid
 * in IDLE and WAITING (also before the announced reconnect time). Returns 0,
 * FLOE_ERR_INVALID_ARG, FLOE_ERR_STATE (connected already, or FAILED), FLOE_ERR_NOMEM or
 * the transport's error (e.g. FLOE_ERR_CRYPTO: the CA file cannot be loaded).
 */
int floe_portal_client_connect(struct floe_portal_client *c, floe_time now);

/*
 * The program's TCP connection closed or failed: FLOE_PORTAL_EV_DISCONNECTED and
 * FLOE_PORTAL_EV_RECONNECT_AT follow. Returns 0, FLOE_ERR_INVALID_ARG or FLOE_ERR_STATE
 * (not connected).
 */
int floe_portal_client_disconnected(struct floe_portal_client *c, floe_time now);

/*
 * Send m on the role's topic (m->topic and m->ref are set here; *m is not changed: it is
 * copied). Candidate messages of the role (client: new_/invalidate_gateway_ice_candidates;
 * gateway: broadcast_ice_candidates, broadcast_invalidated_ice_candidates) are held while
 * not JOINED and sent after the next join (return 0 then). Other messages need JOINED.
 * When ref_out is not NULL the envelope's ref (FLOE_PORTAL_REF_MAX bytes) is written to it:
 * the portal's phx_reply to the message comes as a FLOE_PORTAL_EV_MESSAGE with that ref.
 * Candidate messages are best effort: they carry no ref (ref_out gets "") and get no reply.
 * Returns 0; FLOE_ERR_INVALID_ARG (NULL, a type the role does not send, a field out of its
 * limits); FLOE_ERR_STATE (not joined, or FAILED); FLOE_ERR_NOMEM.
 */
int floe_portal_client_send(struct floe_portal_client *c, floe_time now,
                            const struct floe_portal_msg *m, char *ref_out);

/*
 * Convenience for floe_portal_client_send: candidates (invalidate false) or invalidations
 * (true) for peers ids[0..n_ids) (a client: exactly one gateway id; a gateway: 1..32 client
 * ids), candidates cands[0..n) (RFC 8839 strings, at most FLOE_PORTAL_CANDIDATES_MAX).
 * Same returns as floe_portal_client_send.
 */
int floe_portal_client_send_candidates(struct floe_portal_client *c, floe_time now, bool invalidate,
                                       const char *const *ids, size_t n_ids,
                                       const char *const *cands, size_t n);

/*
 * Convenience: a client's request_authorization for resource_id (no preferred gateways).
 * The ref of the request goes to ref_out when not NULL. Same returns as
 * floe_portal_client_send.
 */
int floe_portal_client_request_authorization(struct floe_portal_client *c, floe_time now,
                                             const char *resource_id, char *ref_out);

/*
 * Convenience: a gateway's authorization_created for the ref of a create_authorization.
 * Same returns as floe_portal_client_send.
 */
int floe_portal_client_authorization_created(struct floe_portal_client *c, floe_time now,
                                             const char *ref);

/* ------------------------------------------------------------- driving */

/*
 * Feed bytes read from the TCP connection (any split). Malformed messages, unknown events and
 * messages not meant for this role are dropped and counted (never an error); transport
 * failures end the connection (events). Returns 0, FLOE_ERR_INVALID_ARG or FLOE_ERR_STATE
 * (not connected: the bytes are ignored).
 */
int floe_portal_client_handle_input(struct floe_portal_client *c, floe_time now,
                                    const uint8_t *data, size_t len);

/* Fire what is due at now: heartbeats, missed-heartbeat disconnects, transport timers. */
void floe_portal_client_handle_timeout(struct floe_portal_client *c, floe_time now);

/*
 * Write the next bytes to send on the TCP connection into buf[0..cap). Returns their length,
 * 0 when there is nothing to send, or FLOE_ERR_INVALID_ARG.
 */
long floe_portal_client_poll_transmit(struct floe_portal_client *c, floe_time now, uint8_t *buf,
                                      size_t cap);

/* The next instant handle_timeout has work; FLOE_TIME_NEVER when none. */
floe_time floe_portal_client_poll_timeout(const struct floe_portal_client *c);

/* --------------------------------------------------------------- events */

enum floe_portal_client_event_kind {
    FLOE_PORTAL_EV_JOINED,       /* msg: the init that follows a successful join */
    FLOE_PORTAL_EV_MESSAGE,      /* msg: any other message from the portal (replies too) */
    FLOE_PORTAL_EV_DISCONNECTED, /* reason, err, status (HTTP status when the upgrade failed) */
    FLOE_PORTAL_EV_RECONNECT_AT, /* at: when to open the next TCP connection; attempt */
    FLOE_PORTAL_EV_FATAL,        /* status (401), reason: the token was refused; stop */
};

struct floe_portal_client_event {
    enum floe_portal_client_event_kind kind;
    /* Borrowed: valid until the next call on the client. */
    const struct floe_portal_msg *msg;
    floe_time at;
    uint32_t attempt; /* consecutive reconnects since the last join, 1 for the first */
    int status;       /* HTTP status of a refused upgrade, 0 otherwise */
    int err;          /* FLOE_ERR_IO, FLOE_ERR_TIMEOUT, FLOE_ERR_PROTOCOL, ... or 0 */
    char reason[FLOE_PORTAL_REASON_MAX];
};

/* 1 and fills ev when an event is queued, 0 when none, FLOE_ERR_INVALID_ARG. */
int floe_portal_client_poll_event(struct floe_portal_client *c,
                                  struct floe_portal_client_event *ev);
/* "joined", "message", ...; "unknown" outside the enum. */
const char *floe_portal_client_event_name(enum floe_portal_client_event_kind kind);

/* --------------------------------------------------------------- state */

enum floe_portal_client_state {
    FLOE_PORTAL_CLIENT_IDLE = 0,
    FLOE_PORTAL_CLIENT_CONNECTING, /* TCP open, HTTP upgrade / TLS in progress */
    FLOE_PORTAL_CLIENT_JOINING,    /* WebSocket open, phx_join sent */
    FLOE_PORTAL_CLIENT_JOINED,
    FLOE_PORTAL_CLIENT_WAITING, /* connection lost, reconnect announced */
    FLOE_PORTAL_CLIENT_FAILED,  /* 401: final */
};

/* The state; FLOE_PORTAL_CLIENT_IDLE for NULL. */
enum floe_portal_client_state floe_portal_client_get_state(const struct floe_portal_client *c);
/* "idle", "connecting", ...; "unknown" outside the enum. */
const char *floe_portal_client_state_name(enum floe_portal_client_state s);

#define FLOE_PORTAL_DROP_TABLE(X)                                                                  \
    X(MALFORMED, "malformed")   /* not JSON, or a field missing, ill-typed, out of limits */       \
    X(UNKNOWN, "unknown")       /* unknown topic or event */                                       \
    X(UNEXPECTED, "unexpected") /* valid, but not for this role or state (other topic) */          \
    X(HELD, "held")             /* a held message dropped: hold_max reached */                     \
    X(HELD_CANDIDATES, "held_candidates") /* candidates over FLOE_PORTAL_CANDIDATES_MAX */         \
    X(EVENTS, "events")                   /* an event dropped: queue full */

enum floe_portal_drop {
#define FLOE__PORTAL_DROP_ENUM(name, str) FLOE_PORTAL_DROP_##name,
    FLOE_PORTAL_DROP_TABLE(FLOE__PORTAL_DROP_ENUM)
#undef FLOE__PORTAL_DROP_ENUM
        FLOE_PORTAL_DROP_COUNT
};

/* "malformed", "unknown", ...; "unknown" outside the enum. */
const char *floe_portal_drop_name(enum floe_portal_drop d);

struct floe_portal_client_stats {
    uint64_t connects;    /* floe_portal_client_connect calls that started a connection */
    uint64_t joins;       /* joins answered ok */
    uint64_t disconnects; /* connections lost (any reason) */
    uint64_t heartbeats_sent;
    uint64_t heartbeats_missed; /* heartbeat ticks with the previous one unanswered */
    uint64_t messages_in;       /* decoded messages from the portal */
    uint64_t messages_out;      /* messages sent (held ones when flushed) */
    uint64_t held;              /* candidate messages held while not joined */
    uint64_t held_merged;       /* held messages merged into an earlier one */
    uint64_t held_flushed;      /* held messages sent after a join */
    uint64_t held_resent;       /* sent messages held again: the connection was lost before a
                                   reply to a later ref confirmed that the portal read them */
    uint64_t drops[FLOE_PORTAL_DROP_COUNT];
};

/* Copy the counters into *out (both non-NULL). */
void floe_portal_client_get_stats(const struct floe_portal_client *c,
                                  struct floe_portal_client_stats *out);
/* Held messages now (not yet sent). */
size_t floe_portal_client_held(const struct floe_portal_client *c);

#ifdef __cplusplus
}
#endif

#endif
