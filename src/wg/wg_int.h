/* WireGuard device internals shared by the files of src/wg/. */
#ifndef FLOE_WG_INT_H
#define FLOE_WG_INT_H

#include "floe/wg.h"

#include "core/heap_int.h"

#define WG_TARGET "wg"
#define WG_NO_SLOT UINT32_MAX
#define WG_KP_NONE (-1)

/* Replay window of one receiving key (RFC 6479; counter is the greatest seen + 1). */
struct floe__wg_replay {
    uint64_t counter;
    uint64_t backtrack[FLOE_WG_COUNTER_BITS_TOTAL / 64];
};

/* One keypair: two AEAD contexts created once, used for every packet. */
struct floe__wg_keypair {
    bool used;
    bool initiator;
    struct floe_aead **aead; /* lanes sending contexts, then lanes receiving ones */
    uint32_t lanes;
    uint64_t send_counter;
    struct floe__wg_replay replay;
    floe_time birth;
    uint32_t local_index, remote_index;
};

enum floe__wg_hs_state {
    WG_HS_NONE = 0,
    WG_HS_CREATED_INITIATION,
    WG_HS_CONSUMED_INITIATION,
};

/* Noise handshake state of a peer (section 5.4). */
struct floe__wg_handshake {
    enum floe__wg_hs_state state;
    uint8_t hash[32], ck[32];
    uint8_t eph_priv[32];
    uint8_t remote_eph[32];
    uint32_t local_index, remote_index;
    bool has_index; /* local_index is in the device's table and owned by the handshake */
    uint8_t latest_timestamp[FLOE_WG_TAI64N_LEN];
    floe_time last_initiation_consumption;
    bool consumed_any;
};

/* Timers of section 6, as deadlines (FLOE_TIME_NEVER: not pending). */
struct floe__wg_timers {
    floe_time retransmit_handshake;
    floe_time send_keepalive;
    floe_time new_handshake;
    floe_time zero_key_material;
    floe_time persistent_keepalive;
    floe_time session_expiry;
    uint32_t handshake_attempts;
    bool need_another_keepalive;
    bool sent_lastminute_handshake;
    floe_time last_sent_handshake;
    bool sent_any_handshake;
};

struct floe_wg_peer {
    struct floe_wg *dev;
    uint32_t slot;
    bool used;
    uint8_t pub[32];
    uint8_t psk[32];
    uint8_t static_static[32]; /* DH(our static, their static), precomputed */
    uint8_t initial_hash[32];  /* HASH(HASH(CONSTRUCTION) || IDENTIFIER || their static) */
    uint8_t mac1_key[32];      /* HASH(LABEL_MAC1 || their static) */
    uint8_t cookie_key[32];    /* HASH(LABEL_COOKIE || their static) */
    struct floe_addr endpoint;
    uint16_t persistent_keepalive;
    void *user;

    struct floe__wg_handshake hs;
    struct floe__wg_keypair kp[3];
    int8_t cur, prev, next;

    /* Cookie received from the peer (initiator side of section 5.4.7). */
    uint8_t cookie[FLOE_WG_COOKIE_LEN];
    floe_time cookie_birth;
    bool cookie_valid;
    uint8_t last_mac1[FLOE_WG_MAC_LEN];
    bool have_last_mac1;

    struct floe__wg_timers t;

    /* Transmit state. */
    uint8_t hs_msg[FLOE_WG_INITIATION_LEN];
    size_t hs_len;
    bool want_keepalive;
    bool in_txq;
    uint8_t *queue;      /* queue_packets slots of queue_packet_max bytes, lazily */
    uint32_t *queue_len; /* length of each slot */
    uint32_t q_head, q_count;
    bool session_up; /* a SESSION_DROPPED is due when no keypair is left */

    struct floe_wg_peer_stats stats;
};

/* One source's token bucket of the handshake rate limiter (ratelimit.c). */
#define WG_RL_KEY_LEN 9
struct floe__wg_bucket {
    uint8_t key[WG_RL_KEY_LEN]; /* family, then the IPv4 address or the IPv6 /64 */
    bool used;
    floe_time last;   /* the last refill */
    floe_time tokens; /* nanoseconds of credit; one handshake costs a second / rate */
};

/* A cookie reply waiting for floe_wg_poll_transmit. */
struct floe__wg_cookie_tx {
    uint8_t msg[FLOE_WG_COOKIE_REPLY_LEN];
    struct floe_addr to;
};

struct floe_wg {
    struct floe_wg_config cfg; /* private key wiped after loading */
    struct floe_x25519_key *static_key;
    uint8_t static_pub[32];
    uint8_t initial_ck[32];   /* HASH(CONSTRUCTION) */
    uint8_t initial_hash[32]; /* HASH(initial_ck || IDENTIFIER) */
    uint8_t my_hash[32];      /* HASH(initial_hash || our static) */
    uint8_t mac1_key[32];     /* HASH(LABEL_MAC1 || our static) */
    uint8_t cookie_key[32];   /* HASH(LABEL_COOKIE || our static) */

    uint8_t cookie_secret[32];
    floe_time cookie_secret_birth;
    bool cookie_secret_set;
    bool under_load_flag;
    floe_time load_window_start, load_until;
    uint32_t load_count;
    struct floe__wg_bucket *buckets; /* cfg.ratelimit_entries */
    uint64_t rl_seed;                /* drawn at the limiter's first use */
    bool rl_seeded;

    int64_t wall_offset; /* unix_ns - now */

    struct floe_wg_peer *peers;
    uint32_t n_peers;
    uint32_t *free_slots; /* stack of unused peer slots: peer_add takes one without a scan */
    uint32_t n_free;
    uint32_t *index_keys; /* open addressing: receiver index -> peer slot */
    uint32_t *index_vals; /* WG_NO_SLOT: empty */
    uint32_t index_mask;
    uint32_t *pub_table; /* open addressing: peer slot, WG_NO_SLOT empty */
    uint32_t pub_mask;

    uint32_t *txq; /* ring of peer slots with something to send */
    uint32_t txq_head, txq_count;
    struct floe__wg_cookie_tx *cookie_tx;
    uint32_t ctx_head, ctx_count;
    struct floe_wg_event *events;
    uint32_t ev_head, ev_count;

    struct floe__wg_job *jobs; /* WG_JOBS data messages of the batch in progress */
    uint32_t n_jobs;

    struct floe__heap timers; /* timer queue: peer slots by earliest deadline (timerq.c) */

    struct floe_wg_stats stats;
    uint64_t timer_visits; /* peers looked at by handle_timeout (tests) */
};

/* The AEAD context of kp for sending / receiving on lane. */
#define WG_SEND_CTX(kp, lane) ((kp)->aead[(lane)])
#define WG_RECV_CTX(kp, lane) ((kp)->aead[(kp)->lanes + (lane)])

/* Data messages sealed or opened at once by the batch verbs (batch.c). */
#define WG_JOBS 256

/* One data message of a batch: framed and accounted on the device's thread, crypto on a lane. */
struct floe__wg_job {
    struct floe__wg_keypair *kp;
    struct floe_wg_peer *peer;
    uint8_t *buf;      /* seal: the datagram, framed and encrypted in place; open: the output */
    const uint8_t *in; /* seal: the plain packet; open: ciphertext and tag */
    size_t in_len;     /* seal: the plain packet's length */
    size_t len;        /* seal: padded plaintext length; open: ciphertext and tag length */
    uint64_t counter;
    uint32_t item;  /* the caller's item */
    uint32_t index; /* open: the receiver index, checked again before accounting */
    int8_t slot;    /* open: the keypair slot */
    bool seal;
    int rc; /* what the AEAD call returned */
};

/* device.c */
void floe__wg_drop(struct floe_wg *dev, enum floe_wg_drop reason, const struct floe_addr *from);
void floe__wg_event(struct floe_wg *dev, enum floe_wg_event_type type, struct floe_wg_peer *peer);
void floe__wg_txq_push(struct floe_wg *dev, struct floe_wg_peer *peer);
void floe__wg_update_endpoint(struct floe_wg_peer *peer, const struct floe_addr *from);
uint32_t floe__wg_rand32(struct floe_wg *dev);

/* table.c */
int floe__wg_tables_new(struct floe_wg *dev);
void floe__wg_tables_free(struct floe_wg *dev);
uint32_t floe__wg_index_new(struct floe_wg *dev, uint32_t slot);
void floe__wg_index_del(struct floe_wg *dev, uint32_t index);
struct floe_wg_peer *floe__wg_index_find(const struct floe_wg *dev, uint32_t index);
void floe__wg_pub_add(struct floe_wg *dev, uint32_t slot);
void floe__wg_pub_del(struct floe_wg *dev, uint32_t slot);
struct floe_wg_peer *floe__wg_pub_find(const struct floe_wg *dev, const uint8_t pub[32]);

/* data.c, send.c, batch.c */
long floe__wg_seal_size(size_t len, size_t cap);
void floe__wg_seal_frame(uint32_t remote_index, uint64_t counter, const uint8_t *pkt, size_t len,
                         uint8_t *out);
void floe__wg_seal_account(struct floe_wg_peer *peer, floe_time now, size_t len, size_t total);
int floe__wg_open_check(struct floe_wg *dev, floe_time now, const struct floe_addr *from,
                        const uint8_t *d, size_t len, struct floe__wg_job *job,
                        struct floe_wg_result *res);
int floe__wg_open_finish(struct floe_wg *dev, floe_time now, const struct floe_addr *from,
                         const struct floe__wg_job *job, uint8_t *out, struct floe_wg_result *res);
bool floe__wg_data_peer_ok(const struct floe_wg *dev, const struct floe_wg_peer *peer);
long floe__wg_encap_one(struct floe_wg *dev, floe_time now, struct floe_wg_peer *peer,
                        const uint8_t *pkt, size_t len, uint8_t *out, size_t cap,
                        struct floe_addr *dst, struct floe__wg_job *job);

/* replay.c */
void floe__wg_replay_init(struct floe__wg_replay *r);
bool floe__wg_replay_check(const struct floe__wg_replay *r, uint64_t counter);
bool floe__wg_replay_update(struct floe__wg_replay *r, uint64_t counter);

/* noise.c */
void floe__wg_tai64n(const struct floe_wg *dev, floe_time now, uint8_t out[12]);
int floe__wg_create_initiation(struct floe_wg *dev, struct floe_wg_peer *peer, floe_time now,
                               uint8_t msg[FLOE_WG_INITIATION_LEN]);
bool floe__wg_consume_initiation(struct floe_wg *dev, floe_time now, const uint8_t *msg,
                                 struct floe_wg_peer **out_peer, enum floe_wg_drop *why,
                                 uint8_t unknown_key[32]);
int floe__wg_create_response(struct floe_wg *dev, struct floe_wg_peer *peer, floe_time now,
                             uint8_t msg[FLOE_WG_RESPONSE_LEN]);
bool floe__wg_consume_response(struct floe_wg *dev, floe_time now, const uint8_t *msg,
                               struct floe_wg_peer **out_peer, enum floe_wg_drop *why);
void floe__wg_handshake_clear(struct floe_wg *dev, struct floe_wg_peer *peer);

/* keypair.c */
int floe__wg_keypair_derive(struct floe_wg *dev, struct floe_wg_peer *peer, floe_time now,
                            bool initiator);
bool floe__wg_keypair_confirm(struct floe_wg_peer *peer, int slot);
void floe__wg_keypairs_clear(struct floe_wg *dev, struct floe_wg_peer *peer);
struct floe__wg_keypair *floe__wg_current(struct floe_wg_peer *peer);
bool floe__wg_can_send(const struct floe__wg_keypair *kp, floe_time now);
bool floe__wg_can_recv(const struct floe__wg_keypair *kp, floe_time now);

/* cookie.c */
enum floe__wg_mac_result {
    WG_MAC_INVALID = 0,
    WG_MAC_VALID,        /* mac1 valid; not under load or mac2 valid too */
    WG_MAC_NEED_COOKIE,  /* mac1 valid, under load without a valid mac2 */
    WG_MAC_RATE_LIMITED, /* mac1 and mac2 valid under load, but the source is over its rate */
};
void floe__wg_add_macs(struct floe_wg *dev, struct floe_wg_peer *peer, floe_time now, uint8_t *msg,
                       size_t len);
enum floe__wg_mac_result floe__wg_check_macs(struct floe_wg *dev, floe_time now,
                                             const struct floe_addr *from, const uint8_t *msg,
                                             size_t len);
void floe__wg_queue_cookie_reply(struct floe_wg *dev, floe_time now, const struct floe_addr *from,
                                 const uint8_t *msg, size_t len);
bool floe__wg_consume_cookie_reply(struct floe_wg *dev, floe_time now, const uint8_t *msg,
                                   enum floe_wg_drop *why);
bool floe__wg_under_load(struct floe_wg *dev, floe_time now);
void floe__wg_load_backlog(struct floe_wg *dev, floe_time now, uint32_t handshakes);

/* ratelimit.c */
bool floe__wg_ratelimit_allow(struct floe_wg *dev, floe_time now, const struct floe_addr *from);
bool floe__wg_ratelimit_has_token(struct floe_wg *dev, floe_time now, const struct floe_addr *from);

/* timers.c: hooks named after what happened; the timer module decides. */
void floe__wg_timers_data_sent(struct floe_wg_peer *peer, floe_time now);
void floe__wg_timers_data_received(struct floe_wg_peer *peer, floe_time now);
void floe__wg_timers_any_authenticated_packet_sent(struct floe_wg_peer *peer);
void floe__wg_timers_any_authenticated_packet_received(struct floe_wg_peer *peer);
void floe__wg_timers_any_authenticated_packet_traversal(struct floe_wg_peer *peer, floe_time now);
void floe__wg_timers_handshake_initiated(struct floe_wg_peer *peer, floe_time now);
void floe__wg_timers_handshake_complete(struct floe_wg_peer *peer, floe_time now);
void floe__wg_timers_session_derived(struct floe_wg_peer *peer, floe_time now);
void floe__wg_timers_init(struct floe_wg_peer *peer);
void floe__wg_timers_expire(struct floe_wg_peer *peer, floe_time now);
floe_time floe__wg_timers_next(const struct floe_wg_peer *peer);

/* timerq.c */
void floe__wg_timers_update(struct floe_wg_peer *peer);
void floe__wg_timerq_remove(struct floe_wg_peer *peer);

/* send.c */
void floe__wg_send_initiation(struct floe_wg_peer *peer, floe_time now, bool is_retry);
void floe__wg_send_keepalive(struct floe_wg_peer *peer, floe_time now);
void floe__wg_keep_key_fresh_sent(struct floe_wg_peer *peer, floe_time now);
void floe__wg_keep_key_fresh_received(struct floe_wg_peer *peer, floe_time now);
bool floe__wg_stage(struct floe_wg_peer *peer, const uint8_t *pkt, size_t len);
void floe__wg_queue_clear(struct floe_wg_peer *peer, bool count);
void floe__wg_queue_free(struct floe_wg_peer *peer);
long floe__wg_seal(struct floe_wg_peer *peer, struct floe__wg_keypair *kp, floe_time now,
                   const uint8_t *pkt, size_t len, uint8_t *out, size_t cap);

#endif
