/*
 * floe WireGuard: the protocol of the WireGuard paper (Donenfeld, NDSS 2017) as a sans-IO
 * device. Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshakes (section 5.4), cookie replies
 * under load (section 5.4.7), transport data with a sliding replay window (section 5.4.6),
 * keypair rotation and the timers of section 6; byte-compatible with the Linux module and
 * wireguard-go.
 *
 * Driving pattern (DESIGN.md section 2): after floe_wg_encapsulate, floe_wg_decapsulate,
 * floe_wg_handle_timeout or any command, drain floe_wg_poll_transmit until it returns 0,
 * drain floe_wg_poll_event until it returns 0, then re-arm the timer from
 * floe_wg_poll_timeout. The device never reads a clock: `now` is the caller's monotonic
 * time, and the wall clock needed for TAI64N timestamps is given with floe_wg_set_wall_clock.
 *
 * What the device does not do: routing (allowed IPs). The caller chooses the peer a packet
 * goes to and checks the inner source address of what floe_wg_decapsulate returns against
 * the peer it names.
 *
 * Memory: everything bounded is allocated by floe_wg_new and floe_wg_peer_add through the
 * allocator hook; a handshake allocates its two AEAD contexts (created once per keypair and
 * reused for every packet); a peer's queue of packets waiting for a handshake is allocated
 * the first time it is used. floe_wg_encapsulate and floe_wg_decapsulate never allocate.
 */
#ifndef FLOE_WG_H
#define FLOE_WG_H

#include "floe/core.h"
#include "floe/crypto_wg.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * ------------------------------------------------------------- protocol constants
 * The one table of the paper's constants (section 5.4 message formats, section 6 timers),
 * with the paper's names. Times are floe_time nanoseconds.
 */
#define FLOE_WG_CONSTRUCTION "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
#define FLOE_WG_IDENTIFIER "WireGuard v1 zx2c4 Jason@zx2c4.com"
#define FLOE_WG_LABEL_MAC1 "mac1----"
#define FLOE_WG_LABEL_COOKIE "cookie--"

#define FLOE_WG_REKEY_AFTER_MESSAGES (UINT64_C(1) << 60)
#define FLOE_WG_REJECT_AFTER_MESSAGES (UINT64_MAX - (UINT64_C(1) << 13)) /* 2^64 - 2^13 - 1 */
#define FLOE_WG_REKEY_AFTER_TIME FLOE_SEC(120)
#define FLOE_WG_REJECT_AFTER_TIME FLOE_SEC(180)
#define FLOE_WG_REKEY_ATTEMPT_TIME FLOE_SEC(90)
#define FLOE_WG_REKEY_TIMEOUT FLOE_SEC(5)
#define FLOE_WG_REKEY_TIMEOUT_JITTER_MAX FLOE_MS(333)
#define FLOE_WG_KEEPALIVE_TIMEOUT FLOE_SEC(10)
#define FLOE_WG_COOKIE_REFRESH_TIME FLOE_SEC(120)
/* A received cookie is used for COOKIE_REFRESH_TIME minus this (Linux module). */
#define FLOE_WG_COOKIE_SECRET_LATENCY FLOE_SEC(5)
/* Retransmissions before giving up: REKEY_ATTEMPT_TIME / REKEY_TIMEOUT. */
#define FLOE_WG_MAX_TIMER_HANDSHAKES 18
/* Initiations consumed per peer per second at most (Linux module). */
#define FLOE_WG_INITIATIONS_PER_SECOND 50
/*
 * Under load, handshake messages with a valid mac2 from one source (an IPv4 address, an
 * IPv6 /64) pass a token bucket of this many per second with this burst (the Linux
 * module's ratelimiter.c); the rest are dropped before any Diffie-Hellman.
 */
#define FLOE_WG_HANDSHAKES_PER_SECOND_PER_SOURCE 20
#define FLOE_WG_HANDSHAKES_BURSTABLE 5
/* The device stays under load this long after the last sign of load (Linux module). */
#define FLOE_WG_UNDER_LOAD_AFTER FLOE_SEC(1)
/*
 * Replay window (RFC 6479): a ring of 8192 bits, as the Linux module and wireguard-go keep;
 * the last word is the redundant one, so 8128 counters behind the newest are still accepted.
 */
#define FLOE_WG_COUNTER_BITS_TOTAL 8192
#define FLOE_WG_COUNTER_WINDOW_SIZE (FLOE_WG_COUNTER_BITS_TOTAL - 64)

/* Message types and sizes (section 5.4.2-5.4.6). */
#define FLOE_WG_MSG_INITIATION 1
#define FLOE_WG_MSG_RESPONSE 2
#define FLOE_WG_MSG_COOKIE_REPLY 3
#define FLOE_WG_MSG_DATA 4
#define FLOE_WG_INITIATION_LEN 148
#define FLOE_WG_RESPONSE_LEN 92
#define FLOE_WG_COOKIE_REPLY_LEN 64
#define FLOE_WG_DATA_HEADER_LEN 16
/* Header plus tag: what encapsulation adds to a padded packet. */
#define FLOE_WG_DATA_OVERHEAD (FLOE_WG_DATA_HEADER_LEN + FLOE_AEAD_TAG_LEN)
#define FLOE_WG_TAI64N_LEN 12
#define FLOE_WG_COOKIE_LEN 16
#define FLOE_WG_KEY_LEN 32

/* ------------------------------------------------------------------ drops */

/* X(NAME, "name"): why the device dropped a datagram or a packet; counted per device. */
#define FLOE_WG_DROP_TABLE(X)                                                                      \
    X(TOO_SHORT, "too-short")                                                                      \
    X(BAD_TYPE, "bad-type")                                                                        \
    X(BAD_SIZE, "bad-size")                                                                        \
    X(BAD_MAC1, "bad-mac1")                                                                        \
    X(UNDER_LOAD, "under-load")                                                                    \
    X(HANDSHAKE_DECRYPT, "handshake-decrypt")                                                      \
    X(UNKNOWN_PEER, "unknown-peer")                                                                \
    X(TIMESTAMP_REPLAY, "timestamp-replay")                                                        \
    X(INITIATION_FLOOD, "initiation-flood")                                                        \
    X(WEAK_KEY, "weak-key")                                                                        \
    X(UNKNOWN_INDEX, "unknown-index")                                                              \
    X(HANDSHAKE_STATE, "handshake-state")                                                          \
    X(BAD_COOKIE, "bad-cookie")                                                                    \
    X(KEY_EXPIRED, "key-expired")                                                                  \
    X(DATA_DECRYPT, "data-decrypt")                                                                \
    X(REPLAY, "replay")                                                                            \
    X(BAD_INNER, "bad-inner-packet")                                                               \
    X(NO_ENDPOINT, "no-endpoint")                                                                  \
    X(QUEUE_FULL, "queue-full")                                                                    \
    X(TOO_LARGE, "too-large")                                                                      \
    X(HANDSHAKE_GAVE_UP, "handshake-gave-up")                                                      \
    X(NO_MEMORY, "no-memory")                                                                      \
    X(CRYPTO, "crypto")                                                                            \
    X(RATE_LIMITED, "rate-limited")

enum floe_wg_drop {
#define FLOE__WG_DROP_ENUM(name, str) FLOE_WG_DROP_##name,
    FLOE_WG_DROP_TABLE(FLOE__WG_DROP_ENUM)
#undef FLOE__WG_DROP_ENUM
        FLOE_WG_DROP_COUNT
};

/* Name of a drop reason ("replay", ...); "unknown" out of range. */
const char *floe_wg_drop_name(enum floe_wg_drop reason);

/* ------------------------------------------------------------------ config */

/*
 * Parallel crypto. The device never makes threads; the caller may lend it its own workers
 * for the batch verbs (floe_wg_encapsulate_batch, floe_wg_decapsulate_batch), which seal
 * and open the data messages of a batch in parallel while everything else (counters,
 * replay windows, timers, keypair rotation) stays on the calling thread, in order.
 *
 * run(user, n, fn, arg) must call fn(arg, i, lane) exactly once for every i in [0, n) and
 * return when all have returned. Calls may run at the same time on different threads, but
 * two calls running at the same time must have different lanes, each < lanes (a lane is a
 * worker: each keypair keeps one pair of AEAD contexts per lane). A call with lane >= lanes
 * fails its packet (counted as "crypto"). run NULL: everything inline on lane 0.
 */
#define FLOE_WG_MAX_LANES 64
typedef void floe_wg_job_fn(void *arg, uint32_t i, uint32_t lane);
struct floe_wg_parallel {
    void (*run)(void *user, uint32_t n, floe_wg_job_fn *fn, void *arg);
    void *user;
    uint32_t lanes; /* 1..FLOE_WG_MAX_LANES */
};

struct floe_wg_config {
    uint8_t private_key[FLOE_WG_KEY_LEN]; /* the interface's static private key */
    struct floe_allocator alloc;
    struct floe_log log;
    struct floe_rng rng;                /* required: ephemerals, indices, jitter, cookie secrets */
    uint32_t max_peers;                 /* peers at once */
    uint32_t queue_packets;             /* packets queued per peer behind a handshake */
    uint32_t queue_packet_max;          /* largest packet that can be queued, bytes */
    uint32_t max_events;                /* events waiting for floe_wg_poll_event */
    uint32_t max_cookie_replies;        /* cookie replies waiting for floe_wg_poll_transmit */
    uint32_t load_handshakes_per_s;     /* handshakes per second that mean "under load"; 0: off */
    uint32_t load_handshakes_per_batch; /* handshakes in one decapsulate batch: under load */
    uint32_t ratelimit_entries;         /* sources the handshake rate limiter tracks at once */
    struct floe_wg_parallel parallel;   /* the caller's workers for the batch verbs */
};

/*
 * Defaults: zero private key (set one), libc allocator, no log, no rng (set one), 256 peers,
 * 16 queued packets of up to 1500 bytes per peer, 256 events, 16 cookie replies, load
 * threshold per second off (only floe_wg_set_under_load and the batch threshold), under load
 * when one decapsulate batch holds 16 handshake messages (the handshake queue is backing up;
 * 0: off), a rate limiter of 4096 sources, no workers (parallel.lanes 1, run NULL).
 */
void floe_wg_config_default(struct floe_wg_config *cfg);

/* ------------------------------------------------------------------ device */

/* The device: one static key and its peers. Opaque; one device belongs to one thread. */
struct floe_wg;
/* A peer of a device. Opaque; valid from floe_wg_peer_add until floe_wg_peer_remove. */
struct floe_wg_peer;

/*
 * Create a device from cfg (copied; the private key is copied and the caller may wipe
 * its copy). Returns 0 and sets *out, FLOE_ERR_INVALID_ARG (NULL argument, no rng, zero
 * capacity), FLOE_ERR_NOMEM or FLOE_ERR_CRYPTO.
 */
FLOE_WARN_UNUSED int floe_wg_new(struct floe_wg **out, const struct floe_wg_config *cfg);

/* Free the device and its peers (NULL allowed); every key and secret is wiped. */
void floe_wg_free(struct floe_wg *dev);

/* The device's static public key into pub. */
void floe_wg_public_key(const struct floe_wg *dev, uint8_t pub[FLOE_WG_KEY_LEN]);

/*
 * Tell the device the wall-clock time: unix_ns nanoseconds since 1970 at monotonic time
 * now. TAI64N timestamps of later initiations are unix_ns + (their now - now). Without it
 * timestamps count from the monotonic origin, which a peer rejects after a restart of this
 * device until the new clock passes the old one.
 */
void floe_wg_set_wall_clock(struct floe_wg *dev, floe_time now, uint64_t unix_ns);

/*
 * Say whether the device is under load: while true, handshake messages without a valid
 * MAC2 are answered with a cookie reply and dropped (paper section 5.4.7), and those with
 * one pass a per-source token bucket (FLOE_WG_HANDSHAKES_PER_SECOND_PER_SOURCE, burst
 * FLOE_WG_HANDSHAKES_BURSTABLE; over it: dropped as "rate-limited"). The device is also
 * under load for FLOE_WG_UNDER_LOAD_AFTER after more than cfg.load_handshakes_per_s handshake
 * messages arrived within one second of virtual time, or after a decapsulate batch held
 * cfg.load_handshakes_per_batch of them.
 */
void floe_wg_set_under_load(struct floe_wg *dev, bool under_load);

/* ------------------------------------------------------------------- peers */

struct floe_wg_peer_config {
    uint8_t public_key[FLOE_WG_KEY_LEN];
    bool has_psk;
    uint8_t psk[FLOE_WG_KEY_LEN];  /* the preshared key Q when has_psk; zeros otherwise */
    struct floe_addr endpoint;     /* family FLOE_AF_NONE: unknown until the peer writes */
    uint16_t persistent_keepalive; /* seconds; 0: off */
    void *user;                    /* the caller's pointer, returned by floe_wg_peer_user */
};

/*
 * Add a peer (cfg copied; the psk may be wiped by the caller after). With a persistent
 * keepalive, the first one (which starts a handshake) is due at once.
 * Returns 0 and sets *out (may be NULL), FLOE_ERR_INVALID_ARG (NULL, the device's own key,
 * a key already added), FLOE_ERR_WEAK_KEY (public key of small order), FLOE_ERR_NOMEM
 * (max_peers reached) or FLOE_ERR_CRYPTO.
 */
FLOE_WARN_UNUSED int floe_wg_peer_add(struct floe_wg *dev, const struct floe_wg_peer_config *cfg,
                                      struct floe_wg_peer **out);

/*
 * Remove peer: its keys are wiped, its queued packets and pending events dropped, its
 * handle invalid after. Returns 0 or FLOE_ERR_INVALID_ARG.
 */
int floe_wg_peer_remove(struct floe_wg *dev, struct floe_wg_peer *peer);

/* The peer with public key pub, or NULL. */
struct floe_wg_peer *floe_wg_peer_find(const struct floe_wg *dev,
                                       const uint8_t pub[FLOE_WG_KEY_LEN]);

/* Set the peer's endpoint (family FLOE_AF_NONE: none). Returns 0 or FLOE_ERR_INVALID_ARG. */
int floe_wg_peer_set_endpoint(struct floe_wg *dev, struct floe_wg_peer *peer,
                              const struct floe_addr *endpoint);

/*
 * Set or clear the peer's preshared key (has_psk false: zeros). Sessions already made keep
 * their keys; the next handshake uses the new one. Returns 0 or FLOE_ERR_INVALID_ARG.
 */
int floe_wg_peer_set_psk(struct floe_wg *dev, struct floe_wg_peer *peer, bool has_psk,
                         const uint8_t psk[FLOE_WG_KEY_LEN]);

/*
 * Set the peer's persistent keepalive interval in seconds (0: off). Turning it on or
 * changing it makes a keepalive due at once, as when a peer is added with one.
 * Returns 0 or FLOE_ERR_INVALID_ARG.
 */
int floe_wg_peer_set_keepalive(struct floe_wg *dev, struct floe_wg_peer *peer, floe_time now,
                               uint16_t seconds);

/* The peer's persistent keepalive interval in seconds (0: off). */
uint16_t floe_wg_peer_keepalive(const struct floe_wg_peer *peer);

/* The peer's current endpoint (family FLOE_AF_NONE when unknown). */
struct floe_addr floe_wg_peer_endpoint(const struct floe_wg_peer *peer);

/* The peer's public key into pub. */
void floe_wg_peer_public_key(const struct floe_wg_peer *peer, uint8_t pub[FLOE_WG_KEY_LEN]);

/* The user pointer of the peer's config. */
void *floe_wg_peer_user(const struct floe_wg_peer *peer);

/* Counters of one peer since it was added. */
struct floe_wg_peer_stats {
    uint64_t rx_bytes, tx_bytes;     /* datagram bytes of authenticated traffic */
    uint64_t rx_packets, tx_packets; /* data messages, keepalives included */
    uint64_t handshakes_sent;        /* initiations sent */
    uint64_t handshakes_received;    /* valid initiations consumed */
    uint64_t handshakes_completed;   /* sessions confirmed, either role */
    floe_time last_handshake;        /* monotonic time of the last completion; 0 none */
    uint64_t last_handshake_unix_ns; /* the same in wall-clock time; 0 none */
};

/* The peer's counters (a copy). */
struct floe_wg_peer_stats floe_wg_peer_stats(const struct floe_wg_peer *peer);

/*
 * The path to the peer just changed (the caller moved its endpoint, or roamed): when an
 * initiation this side sent is still waiting for its response, it most likely went where
 * it could not arrive, so a fresh initiation is queued now instead of REKEY_TIMEOUT after
 * the last one (drain floe_wg_poll_transmit). Nothing is sent within 1 s /
 * FLOE_WG_INITIATIONS_PER_SECOND of the last handshake message, which the responder would
 * drop as a flood. The retransmission schedule and REKEY_ATTEMPT_TIME go on from it.
 * Returns 1 (queued), 0 (nothing pending, or too soon) or FLOE_ERR_INVALID_ARG.
 */
int floe_wg_peer_resend_initiation(struct floe_wg *dev, struct floe_wg_peer *peer, floe_time now);

/* True when the peer has a keypair it may send with at now. */
bool floe_wg_peer_has_session(const struct floe_wg_peer *peer, floe_time now);

/* ---------------------------------------------------------------- datapath */

/*
 * Encrypt the IP packet pkt[0..len) for peer (len 0 sends a keepalive). With a valid
 * session the data message (padded to 16 bytes) is written to out[0..cap) and *dst set to
 * the peer's endpoint. Without one (or while earlier packets wait) the packet is copied to
 * the peer's bounded queue, a handshake is started, and the caller drains
 * floe_wg_poll_transmit; a full queue drops its oldest packet (counted).
 * Returns the datagram length (> 0), 0 when queued (or dropped: counted, logged), or
 * FLOE_ERR_INVALID_ARG (NULL argument, peer of another device) or FLOE_ERR_BUFFER_TOO_SMALL
 * (cap < padded len + FLOE_WG_DATA_OVERHEAD; nothing sent).
 */
FLOE_WARN_UNUSED long floe_wg_encapsulate(struct floe_wg *dev, floe_time now,
                                          struct floe_wg_peer *peer, const uint8_t *pkt, size_t len,
                                          uint8_t *out, size_t cap, struct floe_addr *dst);

enum floe_wg_result_kind {
    FLOE_WG_RESULT_DROP = 0,  /* dropped; result.drop says why */
    FLOE_WG_RESULT_DATA,      /* out[0..result.len) is an IP packet from result.peer */
    FLOE_WG_RESULT_KEEPALIVE, /* an authenticated keepalive from result.peer */
    FLOE_WG_RESULT_HANDSHAKE, /* a handshake message or cookie consumed: drain poll_transmit */
};

/* What floe_wg_decapsulate did with a datagram. */
struct floe_wg_result {
    enum floe_wg_result_kind kind;
    struct floe_wg_peer *peer; /* the authenticated peer (NULL for drops, cookie replies) */
    size_t len;                /* FLOE_WG_RESULT_DATA: packet length in out */
    enum floe_wg_drop drop;    /* FLOE_WG_RESULT_DROP: the reason */
    /* FLOE_WG_DROP_UNKNOWN_PEER: the initiation's static key (its MACs were valid and
     * msg.static decrypted, so it was sent to this device's key); zeros otherwise. */
    uint8_t initiator_key[FLOE_WG_KEY_LEN];
};

/*
 * Process one datagram dgram[0..len) received from `from`. A data message is decrypted into
 * out[0..cap) (cap must be at least len - FLOE_WG_DATA_OVERHEAD) and trimmed to the inner
 * IPv4/IPv6 length; handshake messages and cookie replies update the state and may leave a
 * message for floe_wg_poll_transmit. A peer's endpoint follows its latest authenticated
 * datagram. Peer input never fails the call: a bad datagram is a FLOE_WG_RESULT_DROP, counted
 * and logged at debug level. dgram is borrowed for the call.
 * Returns the result kind (>= 0, also in *res) or FLOE_ERR_INVALID_ARG (NULL argument),
 * FLOE_ERR_BUFFER_TOO_SMALL (cap too small for this data message; nothing consumed).
 */
FLOE_WARN_UNUSED int floe_wg_decapsulate(struct floe_wg *dev, floe_time now,
                                         const struct floe_addr *from, const uint8_t *dgram,
                                         size_t len, uint8_t *out, size_t cap,
                                         struct floe_wg_result *res);

/* ------------------------------------------------------------------ batches */

/* One packet of floe_wg_encapsulate_batch. */
struct floe_wg_encap {
    struct floe_wg_peer *peer; /* in: the peer the packet goes to */
    const uint8_t *pkt;        /* in: the IP packet (may be out + FLOE_WG_DATA_HEADER_LEN) */
    size_t len;                /* in: its length; 0 sends a keepalive */
    uint8_t *out;              /* in: room for the datagram */
    size_t cap;                /* in: its size */
    long n;                    /* out: what floe_wg_encapsulate would return */
    struct floe_addr dst;      /* out: the peer's endpoint when n > 0 */
};

/*
 * floe_wg_encapsulate for items[0..n), in order, with the encryption of their data
 * messages spread over the workers of cfg.parallel. Nonces are given in item order, so
 * the datagrams must be sent in that order. A packet whose encryption fails gets n 0 and
 * is counted ("crypto"). pkt may overlap out only as pkt == out + FLOE_WG_DATA_HEADER_LEN.
 * Returns 0 or FLOE_ERR_INVALID_ARG (NULL device, NULL items with n > 0); an item with a
 * bad argument gets FLOE_ERR_INVALID_ARG in its n.
 */
FLOE_WARN_UNUSED int floe_wg_encapsulate_batch(struct floe_wg *dev, floe_time now,
                                               struct floe_wg_encap *items, size_t n);

/* One datagram of floe_wg_decapsulate_batch. */
struct floe_wg_decap {
    struct floe_addr from;     /* in: where it came from */
    const uint8_t *dgram;      /* in: the datagram */
    size_t len;                /* in: its length */
    uint8_t *out;              /* in: room for the plain packet; may be dgram + 16 (in place) */
    size_t cap;                /* in: its size */
    int rc;                    /* out: what floe_wg_decapsulate would return */
    struct floe_wg_result res; /* out: the result */
};

/*
 * floe_wg_decapsulate for items[0..n): data messages are authenticated and decrypted in
 * parallel over the workers of cfg.parallel, then checked against the replay window and
 * accounted in item order (a datagram repeated within the batch is a replay). Handshake
 * messages and cookie replies are processed after all the batch's data messages, in item
 * order (as the Linux module's handshake queue: data never waits behind a handshake, and a
 * keypair that a handshake retires still opens the data of the batch sent under it).
 * Garbage is dropped and counted where it stands, without splitting the crypto batch.
 * out may be dgram + FLOE_WG_DATA_HEADER_LEN (decryption in place); otherwise it must not
 * overlap the datagram. Returns 0 or FLOE_ERR_INVALID_ARG (NULL device, NULL items with
 * n > 0); each item has its own rc and res.
 */
FLOE_WARN_UNUSED int floe_wg_decapsulate_batch(struct floe_wg *dev, floe_time now,
                                               struct floe_wg_decap *items, size_t n);

/* ------------------------------------------------------------------ driving */

/* Fire every timer due at or before now (section 6). */
void floe_wg_handle_timeout(struct floe_wg *dev, floe_time now);

/* The next deadline for floe_wg_handle_timeout; FLOE_TIME_NEVER when none. */
floe_time floe_wg_poll_timeout(const struct floe_wg *dev);

/*
 * Write the next datagram to send (cookie replies, handshake messages, keepalives, queued
 * data) into buf[0..cap) and its destination into *dst; *peer (may be NULL) gets the peer
 * it belongs to (NULL for cookie replies). Returns its length (> 0), 0 when nothing is
 * pending, FLOE_ERR_INVALID_ARG or FLOE_ERR_BUFFER_TOO_SMALL (the datagram stays pending;
 * FLOE_WG_INITIATION_LEN always fits handshakes, queue_packet_max + 16 + overhead data).
 */
FLOE_WARN_UNUSED long floe_wg_poll_transmit(struct floe_wg *dev, floe_time now, uint8_t *buf,
                                            size_t cap, struct floe_addr *dst,
                                            struct floe_wg_peer **peer);

enum floe_wg_event_type {
    FLOE_WG_EV_HANDSHAKE_COMPLETE = 1, /* a new session is confirmed (either role) */
    FLOE_WG_EV_SESSION_DROPPED,        /* no session left: expired, or keys zeroed */
    FLOE_WG_EV_HANDSHAKE_FAILED,       /* gave up after REKEY_ATTEMPT_TIME */
    FLOE_WG_EV_ENDPOINT_CHANGED,       /* the peer's endpoint moved to `endpoint` */
};

/* An event, copied out by floe_wg_poll_event. */
struct floe_wg_event {
    enum floe_wg_event_type type;
    struct floe_wg_peer *peer;
    struct floe_addr endpoint; /* FLOE_WG_EV_ENDPOINT_CHANGED: the new endpoint */
};

/* Take the oldest event into *ev. Returns 1, or 0 when none is pending. */
int floe_wg_poll_event(struct floe_wg *dev, struct floe_wg_event *ev);

/* Device counters. */
struct floe_wg_stats {
    uint64_t drops[FLOE_WG_DROP_COUNT]; /* by enum floe_wg_drop */
    uint64_t cookie_replies_sent;
    uint64_t events_lost; /* events dropped because max_events were waiting */
};

/* The device's counters (a copy). */
struct floe_wg_stats floe_wg_stats(const struct floe_wg *dev);

#ifdef __cplusplus
}
#endif

#endif
