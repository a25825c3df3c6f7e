/*
 * floe TURN client (RFC 8656, UDP): one object per relay server, sans-IO.
 *
 * The object owns one allocation on one server: the Allocate with the 401
 * challenge (REALM, NONCE) and long-term credentials (MD5 key), the 438 stale
 * nonce retry, Refresh at half-life, CreatePermission and ChannelBind for the
 * peers it sends to, their refreshes, a keepalive Binding, and re-allocation
 * with a bounded backoff when the allocation is lost (an Allocate refused with 437,
 * the server still holding this 5-tuple's old allocation, deletes it and asks
 * again as soon as the deletion is answered, once). It never opens a socket,
 * never reads a clock and draws randomness (transaction ids) from the rng hook.
 *
 * Driving pattern (DESIGN.md section 2): after floe_turn_handle_input,
 * floe_turn_handle_timeout or any command, drain floe_turn_poll_transmit (send
 * each datagram to the address it names: always the server), drain
 * floe_turn_poll_event, then re-arm the timer from floe_turn_poll_timeout.
 *
 * Data path. floe_turn_encapsulate frames an application payload for a peer:
 * ChannelData once a channel to the peer is bound, a Send indication while only
 * the permission is confirmed. Before the permission is confirmed, the payload
 * is queued inside the object (one per peer, the latest wins) and sent from
 * floe_turn_poll_transmit right behind the CreatePermission's first send
 * (config.optimistic_send: the server installs the permission before it relays the
 * data that follows it on the same 5-tuple, so the data needs no round trip; one
 * reordered or a lost request costs that payload, as any UDP loss would) or, without
 * optimistic_send, once the CreatePermission succeeds. The first send to
 * a peer starts the CreatePermission and, once it is confirmed, a ChannelBind
 * (config.auto_channel). floe_turn_handle_input returns a peer's payload
 * borrowing the caller's datagram (no copy).
 *
 * Timers (DESIGN.md section 3): requests retransmit on the TURN profile (1 s,
 * x1.5, give up after 8 s); the allocation is refreshed at half of the granted
 * lifetime; a permission (300 s on the server) is refreshed 240 s after it was
 * confirmed when the peer was used since, and otherwise left to expire; a
 * channel (600 s) is rebound 300 s after it was bound when it was used since,
 * and otherwise left to expire; a Binding goes to the server every 25 s.
 */
#ifndef FLOE_TURN_H
#define FLOE_TURN_H

#include "floe/core.h"
#include "floe/stun.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest USERNAME (RFC 8489 section 14.3), password, REALM and NONCE values accepted. */
#define FLOE_TURN_USERNAME_MAX 513
#define FLOE_TURN_PASSWORD_MAX 256
#define FLOE_TURN_REALM_MAX 763
#define FLOE_TURN_NONCE_MAX 763
/* Buffer size for floe_turn_poll_transmit that fits every request this client builds. */
#define FLOE_TURN_TRANSMIT_MAX 2400
/* Bytes a Send indication adds in front of the payload (IPv6 peer): encapsulation overhead. */
#define FLOE_TURN_SEND_OVERHEAD 48
/* Events queued before the oldest unread ones are dropped (and counted). */
#define FLOE_TURN_EVENT_QUEUE 64

struct floe_turn_config {
    struct floe_allocator alloc;
    struct floe_log log;
    struct floe_rng rng;     /* required: transaction ids */
    struct floe_addr server; /* the relay's transport address (required) */
    /* Long-term credentials; copied. For coturn REST credentials the caller passes
     * the username "expiry:id" and floe_turn_rest_password's result. */
    const char *username;
    const char *password;
    const char *software; /* SOFTWARE in requests; copied; NULL for none */
    bool want_ipv6;       /* ADDITIONAL-ADDRESS-FAMILY IPv6: ask for a second relayed address */
    bool auto_channel;    /* bind a channel after a peer's permission (default true) */
    /* Data to a peer whose CreatePermission is on the wire but not answered yet goes right
     * behind it instead of waiting a round trip for the answer (default true) */
    bool optimistic_send;
    uint32_t lifetime_s; /* LIFETIME asked for in Allocate and Refresh (default 600) */
    uint32_t max_peers;  /* peers (permissions and channels) at once (default 64, <= 4096) */
    size_t queue_bytes;  /* largest payload queued before a permission (default 1500) */
    floe_time permission_refresh;    /* refresh a used permission this long after it (240 s) */
    floe_time permission_lifetime;   /* the server's permission lifetime (300 s) */
    floe_time channel_rebind;        /* rebind a used channel this long after binding (300 s) */
    floe_time channel_lifetime;      /* the server's channel lifetime (600 s) */
    floe_time keepalive;             /* Binding to the server (25 s) */
    floe_time backoff_min;           /* first delay before re-allocating after a failure (1 s) */
    floe_time backoff_max;           /* bound of the doubling delay (60 s) */
    struct floe_stun_txn_config txn; /* retransmission (floe_stun_txn_config_turn) */
    /*
     * RFC 8489 section 6.2.1: the RTO of a request follows the server's measured round-trip
     * time (RFC 6298's SRTT + 4 RTTVAR from answers to requests sent once, Karn's rule; to the
     * nanosecond, not rounded up to a second), between rto_min and txn.initial_rto, and is
     * forgotten after 10 minutes without an answer. 0 (the default): every request starts at
     * txn.initial_rto.
     */
    floe_time rto_min;
};

/* Fill cfg with the defaults above (no server, no credentials, no rng). */
void floe_turn_config_default(struct floe_turn_config *cfg);

struct floe_turn;

/*
 * Create a client for cfg->server. Nothing is sent until floe_turn_allocate.
 * The config is copied, strings included; the password is kept (to derive the
 * key once the server names its realm) and wiped by floe_turn_free.
 * Returns 0 and sets *out; FLOE_ERR_INVALID_ARG (NULL, no rng, no server, no or
 * too long credentials, max_peers 0 or over 4096); FLOE_ERR_NOMEM.
 */
FLOE_WARN_UNUSED int floe_turn_new(struct floe_turn **out, const struct floe_turn_config *cfg);
/* Free t (NULL allowed) and wipe its credentials. Sends nothing: call floe_turn_close first. */
void floe_turn_free(struct floe_turn *t);

/*
 * Replace the credentials (e.g. new REST credentials before the old expire). Strings are
 * copied. Without an allocation they are used from the next request on. An allocation that
 * stands (or is being deleted) keeps the username it was made with, since its requests must
 * carry it (RFC 8656 section 7.2: a server answers 441 otherwise), and an Allocate in flight
 * goes on with the credentials it was sent with; the new ones wait for the next Allocate (after
 * a loss, a reset or a close). A 401 or 441 while they wait (the old credentials expired) loses
 * the allocation and allocates again with them at once. A stale allocation the server holds on
 * the same 5-tuple (437) is deleted with the credentials that made it. The same username with
 * another password is used at once.
 * Returns 0 or FLOE_ERR_INVALID_ARG (NULL or too long).
 */
int floe_turn_set_credentials(struct floe_turn *t, const char *username, const char *password);

/* ------------------------------------------------------------- commands */

/*
 * Start allocating (the first Allocate is due at once). After a failure that
 * needs the caller (wrong credentials) it starts again. Returns 0,
 * FLOE_ERR_INVALID_ARG, or FLOE_ERR_STATE when an allocation exists or is in
 * progress.
 */
int floe_turn_allocate(struct floe_turn *t, floe_time now);

/*
 * Bind a channel to peer now (the data path does it by itself with
 * auto_channel), creating the peer entry when needed. The ChannelBind also
 * installs the permission. Returns 0; FLOE_ERR_INVALID_ARG; FLOE_ERR_STATE (no
 * allocation); FLOE_ERR_ADDR_FAMILY (no relayed address of the peer's family);
 * FLOE_ERR_NOMEM (max_peers reached).
 */
int floe_turn_bind_channel(struct floe_turn *t, floe_time now, const struct floe_addr *peer);
/*
 * Ask the server for a permission for peer's IP address (RFC 8656 section 9) with no data to
 * send yet and no channel, and keep it refreshed for as long as the allocation stands: peers
 * at that IP (every port) reach the allocation from their first datagram. The node permits
 * its relay's own relayed IP, so that a peer allocated on the same relay reaches it at once.
 * The permission is gone with the allocation (ask again after a new one). Returns 0;
 * FLOE_ERR_INVALID_ARG; FLOE_ERR_STATE (no allocation); FLOE_ERR_ADDR_FAMILY (no relayed
 * address of the peer's family); FLOE_ERR_NOMEM (max_peers reached).
 */
int floe_turn_permit(struct floe_turn *t, floe_time now, const struct floe_addr *peer);

/*
 * Refresh the allocation now instead of at half-life. Returns 0,
 * FLOE_ERR_INVALID_ARG or FLOE_ERR_STATE (no allocation).
 */
int floe_turn_refresh(struct floe_turn *t, floe_time now);

/*
 * Delete the allocation: a Refresh with LIFETIME 0; the candidates are
 * invalidated and the peers dropped at once; the state is CLOSING until the
 * server answers or the request times out, then IDLE. While allocating,
 * backing off or failed, the work is dropped, nothing is sent and the state is
 * IDLE at once. Returns 0, FLOE_ERR_INVALID_ARG, or FLOE_ERR_STATE when idle or
 * closing already.
 */
int floe_turn_close(struct floe_turn *t, floe_time now);

/*
 * Forget the allocation after a network change (roaming): candidates are
 * invalidated, peers and pending requests dropped, and when an allocation was
 * wanted a new Allocate is due at once (same credentials; realm and nonce are
 * kept and renewed by the 438 dance). Nothing is sent for the old allocation.
 * Returns 0 or FLOE_ERR_INVALID_ARG.
 */
int floe_turn_reset(struct floe_turn *t, floe_time now);

/* ------------------------------------------------------------- driving */

enum floe_turn_input {
    FLOE_TURN_INPUT_IGNORED = 0,  /* not for this client: another component should look at it */
    FLOE_TURN_INPUT_CONSUMED = 1, /* a control message handled, or dropped and counted */
    FLOE_TURN_INPUT_DATA = 2,     /* a peer's payload: *peer and *data are set */
};

/*
 * Feed one datagram received from `from`. Datagrams not from the server, and
 * STUN responses of other transactions, are IGNORED. From the server: STUN
 * responses to this client's requests and indications are CONSUMED; Data
 * indications and ChannelData of a known peer are DATA with data borrowing
 * buf (valid as long as buf). Malformed input, failed integrity or fingerprint
 * checks and data from peers without a permission are dropped, counted in
 * the stats and logged at debug level; they are CONSUMED, never an error.
 * Returns an enum floe_turn_input value or FLOE_ERR_INVALID_ARG.
 */
int floe_turn_handle_input(struct floe_turn *t, floe_time now, const struct floe_addr *from,
                           const uint8_t *buf, size_t len, struct floe_addr *peer,
                           struct floe_span *data);

/* Fire what is due at now: retransmissions, give-ups, refreshes, keepalives, re-allocation. */
void floe_turn_handle_timeout(struct floe_turn *t, floe_time now);

/*
 * Write the next datagram to send into buf and its destination (the server)
 * into *to. Returns its length, 0 when there is nothing to send,
 * FLOE_ERR_INVALID_ARG, or FLOE_ERR_BUFFER_TOO_SMALL (the datagram stays due;
 * FLOE_TURN_TRANSMIT_MAX always fits a request).
 */
long floe_turn_poll_transmit(struct floe_turn *t, floe_time now, uint8_t *buf, size_t cap,
                             struct floe_addr *to);

/* The next instant handle_timeout has work; FLOE_TIME_NEVER when none. */
floe_time floe_turn_poll_timeout(const struct floe_turn *t);

/*
 * Frame data[0..len) for peer into out[0..cap), to send to the server: ChannelData
 * when a channel is bound, else a Send indication. data may overlap out. Before
 * the permission is confirmed (for this peer, or for another port of its IP: the
 * server's permissions are per IP address) and, with optimistic_send, before its
 * CreatePermission went out, the payload is queued (see the file comment;
 * payloads over config.queue_bytes are dropped and counted) and 0 returned; the
 * permission is requested as needed, so drain floe_turn_poll_transmit after it.
 * Returns the datagram's length, 0 (queued), FLOE_ERR_INVALID_ARG,
 * FLOE_ERR_STATE (no allocation), FLOE_ERR_ADDR_FAMILY (no relayed address of
 * the peer's family), FLOE_ERR_NOMEM (max_peers reached) or
 * FLOE_ERR_BUFFER_TOO_SMALL (nothing written).
 */
long floe_turn_encapsulate(struct floe_turn *t, floe_time now, const struct floe_addr *peer,
                           const uint8_t *data, size_t len, uint8_t *out, size_t cap);

/* --------------------------------------------------------------- events */

enum floe_turn_event_kind {
    FLOE_TURN_EV_CANDIDATE_NEW,          /* cand, addr, server */
    FLOE_TURN_EV_CANDIDATE_INVALIDATED,  /* cand, addr, server */
    FLOE_TURN_EV_ALLOCATION_LOST,        /* addr (the old relayed address), code or err */
    FLOE_TURN_EV_ERROR,                  /* method, code or err, reason; addr: peer if any */
    FLOE_TURN_EV_PERMISSION_ESTABLISHED, /* addr: the peer */
    FLOE_TURN_EV_CHANNEL_ESTABLISHED,    /* addr: the peer, channel */
};

enum floe_turn_cand_kind {
    FLOE_TURN_CAND_SERVER_REFLEXIVE,
    FLOE_TURN_CAND_RELAYED,
};

struct floe_turn_event {
    enum floe_turn_event_kind kind;
    enum floe_turn_cand_kind cand;
    struct floe_addr addr;
    struct floe_addr server; /* the relay server this client talks to */
    uint16_t method;         /* request method of an ERROR (enum floe_stun_method) */
    uint16_t channel;
    int code;         /* STUN error code 300..699, 0 when err says what happened */
    int err;          /* FLOE_ERR_TIMEOUT (server gone), FLOE_ERR_PROTOCOL, or 0 */
    char reason[128]; /* the server's reason phrase (sanitised) or a description */
};

/* 1 and fills ev when an event is queued, 0 when none, FLOE_ERR_INVALID_ARG. */
int floe_turn_poll_event(struct floe_turn *t, struct floe_turn_event *ev);
/* "candidate_new", "allocation_lost", ...; "unknown" outside the enum. */
const char *floe_turn_event_name(enum floe_turn_event_kind kind);

/* --------------------------------------------------------------- state */

enum floe_turn_state {
    FLOE_TURN_IDLE = 0,   /* nothing asked, or closed */
    FLOE_TURN_ALLOCATING, /* Allocate in flight (401/438 dance included) */
    FLOE_TURN_ALLOCATED,
    FLOE_TURN_BACKOFF, /* waiting to allocate again after a failure or loss */
    FLOE_TURN_CLOSING, /* Refresh with LIFETIME 0 in flight */
    FLOE_TURN_FAILED,  /* credentials refused: waits for the caller */
};

/* The allocation's state; FLOE_TURN_IDLE for NULL. */
enum floe_turn_state floe_turn_get_state(const struct floe_turn *t);
/* "idle", "allocating", ...; "unknown" outside the enum. */
const char *floe_turn_state_name(enum floe_turn_state s);

/*
 * The relayed address of family (FLOE_AF_INET / FLOE_AF_INET6) of the current
 * allocation into *out. Returns 0 or FLOE_ERR_NOT_FOUND (no allocation, no such
 * address, NULL arguments).
 */
int floe_turn_get_relayed(const struct floe_turn *t, enum floe_af family, struct floe_addr *out);
/* The server-reflexive address of the current allocation; same returns as get_relayed. */
int floe_turn_get_reflexive(const struct floe_turn *t, struct floe_addr *out);
/* True when a channel to peer is bound (ChannelData is used for it). */
bool floe_turn_has_channel(const struct floe_turn *t, const struct floe_addr *peer);
/* True when the permission for peer is confirmed. */
bool floe_turn_has_permission(const struct floe_turn *t, const struct floe_addr *peer);

#define FLOE_TURN_DROP_TABLE(X)                                                                    \
    X(MALFORMED, "malformed")                                                                      \
    X(INTEGRITY, "integrity")                                                                      \
    X(UNEXPECTED, "unexpected")                                                                    \
    X(NO_PERMISSION, "no_permission")                                                              \
    X(NO_CHANNEL, "no_channel")                                                                    \
    X(QUEUE, "queue")                                                                              \
    X(EVENTS, "events")

enum floe_turn_drop {
#define FLOE__TURN_DROP_ENUM(name, str) FLOE_TURN_DROP_##name,
    FLOE_TURN_DROP_TABLE(FLOE__TURN_DROP_ENUM)
#undef FLOE__TURN_DROP_ENUM
        FLOE_TURN_DROP_COUNT
};

/* "malformed", "integrity", ...; "unknown" outside the enum. */
const char *floe_turn_drop_name(enum floe_turn_drop d);

struct floe_turn_stats {
    uint64_t requests; /* requests sent, first sends */
    uint64_t retransmits;
    uint64_t responses;              /* responses matched to a request */
    uint64_t allocations;            /* successful Allocates */
    uint64_t losses;                 /* allocations lost */
    uint64_t ignored;                /* datagrams returned IGNORED */
    uint64_t packets_out, bytes_out; /* payloads framed for peers */
    uint64_t packets_in, bytes_in;   /* payloads from peers */
    uint64_t drops[FLOE_TURN_DROP_COUNT];
};

/* Copy the counters into *out (both non-NULL). */
void floe_turn_get_stats(const struct floe_turn *t, struct floe_turn_stats *out);

#ifdef __cplusplus
}
#endif

#endif
