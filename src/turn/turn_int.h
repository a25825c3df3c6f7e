/* Private state of the TURN client, shared by its source files. */
#ifndef FLOE_TURN_INT_H
#define FLOE_TURN_INT_H

#include "floe/relay.h" /* FLOE_TURN_ERR_* codes */
#include "floe/turn.h"

#include "core/heap_int.h"
#include "core/map_int.h"

#define TURN_TARGET "floe::turn"
#define TURN_MAX_PEERS_LIMIT 4096u /* channel numbers 0x4000..0x4FFF */
#define TURN_MAX_STALE 3           /* 438 retries of one request in a row */

/* One client transaction: which request it is and its retransmission state. */
struct turn_req {
    struct floe_stun_txn txn;
    uint16_t method;
    int32_t peer;      /* index into peers for CreatePermission/ChannelBind, else -1 */
    bool active;       /* a transaction is running */
    bool authed;       /* the last send carried MESSAGE-INTEGRITY */
    uint8_t stale;     /* 438 answers in a row */
    uint32_t lifetime; /* Refresh: the LIFETIME asked for */
    bool prev;         /* signed with the previous credentials: a stale allocation's deletion */
};

enum turn_lease_state {
    TURN_LEASE_NONE = 0,
    TURN_LEASE_PENDING, /* first request in flight */
    TURN_LEASE_OK,      /* confirmed (a refresh may be in flight) */
};

/* A permission or a channel binding: confirmed at `at`, checked again at `next`. */
struct turn_lease {
    enum turn_lease_state state;
    floe_time at;
    floe_time next;
    bool used; /* traffic since the last (re)confirmation */
    struct turn_req req;
};

struct turn_peer {
    struct floe_addr addr;
    uint32_t ip_next; /* the next older entry of the same IP, FLOE__MAP_NONE at the end */
    bool in_use;
    struct turn_lease perm;
    struct turn_lease chan; /* channel number: FLOE_CHANNEL_MIN + index */
    uint8_t *queued;        /* one payload waiting for the permission (queue_bytes) */
    size_t queued_len;
    bool has_queued;
    bool in_flushq; /* in the queue of peers with a payload waiting */
    bool in_reqq;   /* in the queue of peers with a request to send */
    bool keep;      /* floe_turn_permit: the permission alone, kept while the allocation stands */
};

/* A FIFO of peer indexes, each at most once (max_peers slots). */
struct turn_ring {
    uint32_t *slot;
    uint32_t head, len;
};

struct floe_turn {
    struct floe_turn_config cfg;
    char username[FLOE_TURN_USERNAME_MAX + 1];
    char password[FLOE_TURN_PASSWORD_MAX + 1];
    /* Credentials given while an allocation stood: the allocation keeps the username it was
     * made with (RFC 8656 section 7.2; a server answers 441 otherwise), the next one uses
     * these. */
    char next_username[FLOE_TURN_USERNAME_MAX + 1];
    char next_password[FLOE_TURN_PASSWORD_MAX + 1];
    bool has_next;
    /* The credentials of the last allocation made, after a switch to others: a 437 to the new
     * ones' Allocate means the server still holds that allocation on this 5-tuple, and only
     * its own username may delete it (a Refresh with LIFETIME 0 signed with prev_key). */
    char prev_username[FLOE_TURN_USERNAME_MAX + 1];
    uint8_t prev_key[FLOE_MD5_LEN];
    bool has_prev;
    bool cur_allocated; /* the current credentials made an allocation */
    char software[128];
    char realm[FLOE_TURN_REALM_MAX + 1];
    char nonce[FLOE_TURN_NONCE_MAX + 1];
    size_t realm_len, nonce_len;
    bool have_key;
    uint8_t key[FLOE_MD5_LEN];

    enum floe_turn_state state;
    bool wanted;     /* the caller asked for an allocation */
    bool v6_refused; /* the server answered 440 to ADDITIONAL-ADDRESS-FAMILY */
    /* A 437 to Allocate was answered with a deletion and the Allocate right behind it (one
     * round trip); a second 437 before an allocation deletes first, then allocates. */
    bool delete_pipelined;
    struct floe_addr relayed[2];
    uint8_t n_relayed;
    struct floe_addr reflexive; /* family FLOE_AF_NONE when unknown */
    floe_time lifetime;
    floe_time refresh_at;
    floe_time keepalive_at;
    floe_time retry_at;
    floe_time backoff; /* delay after the next failure */
    /* The server's round-trip time (RFC 6298), when cfg.rto_min is set: srtt 0 = no sample. */
    floe_time srtt, rttvar, rtt_at;

    struct turn_req alloc_req;   /* Allocate */
    struct turn_req refresh_req; /* Refresh, LIFETIME 0 when closing */
    struct turn_req bind_req;    /* keepalive Binding */
    struct turn_peer *peers;
    uint32_t n_peers;
    /* Peer lookups without a scan (a channel number is an index already): peers by address,
     * and the newest entry of each IP (then ip_next). Two keys sharing a hash (never seen, but
     * possible) set peers_unindexed, and lookups scan peers until the table is cleared. */
    struct floe__map peers_by_addr;
    struct floe__map peers_by_ip;
    bool peers_unindexed;
    /* Per-peer work without a scan (peer_sched.c): the peers with a timer in a min-heap by
     * their earliest deadline, and the peers with something to send in two FIFOs. */
    struct floe__heap peer_timers; /* peer indexes by earliest deadline */
    uint32_t *peer_due;            /* the peers due in one handle_timeout */
    struct turn_ring flushq, reqq;
    uint64_t peer_visits; /* peers looked at by the timer and transmit paths (tests) */

    struct floe_turn_event events[FLOE_TURN_EVENT_QUEUE];
    size_t ev_head, ev_len;
    struct floe_turn_stats stats;
};

/* turn.c */
void floe__turn_event(struct floe_turn *t, const struct floe_turn_event *ev);
void floe__turn_event_error(struct floe_turn *t, uint16_t method, int code, int err,
                            const char *reason, const struct floe_addr *peer);
void floe__turn_drop(struct floe_turn *t, enum floe_turn_drop why, const char *detail);
void floe__turn_lose(struct floe_turn *t, floe_time now, int code, int err);
void floe__turn_fail(struct floe_turn *t, int code);
void floe__turn_allocated(struct floe_turn *t, floe_time now, const struct floe_addr *relayed,
                          uint8_t n_relayed, const struct floe_addr *reflexive);
int floe__turn_derive_key(struct floe_turn *t);
void floe__turn_start_allocate(struct floe_turn *t, floe_time now);
void floe__turn_backoff(struct floe_turn *t, floe_time now);

/* request.c */
void floe__turn_req_start(struct floe_turn *t, struct turn_req *q, uint16_t method, int32_t peer,
                          floe_time now);
void floe__turn_req_stop(struct turn_req *q);
size_t floe__turn_req_count(const struct floe_turn *t);
struct turn_req *floe__turn_req_at(struct floe_turn *t, size_t i);
long floe__turn_req_transmit(struct floe_turn *t, floe_time now, uint8_t *buf, size_t cap);
void floe__turn_req_timeouts(struct floe_turn *t, floe_time now);
floe_time floe__turn_req_deadline(const struct floe_turn *t);
bool floe__turn_req_send_due(const struct turn_req *q);
long floe__turn_req_send(struct floe_turn *t, struct turn_req *q, floe_time now, uint8_t *buf,
                         size_t cap);
void floe__turn_req_timeout(struct floe_turn *t, floe_time now, struct turn_req *q);
int floe__turn_set_realm_nonce(struct floe_turn *t, const struct floe_stun_msg *msg);
void floe__turn_rtt_sample(struct floe_turn *t, floe_time now, floe_time rtt);

/* response.c */
int floe__turn_response(struct floe_turn *t, floe_time now, const struct floe_stun_msg *msg);

/* peer.c */
int floe__turn_peers_init(struct floe_turn *t);
void floe__turn_peers_deinit(struct floe_turn *t);
struct turn_peer *floe__turn_peer_find(struct floe_turn *t, const struct floe_addr *addr);
int floe__turn_peer_get(struct floe_turn *t, const struct floe_addr *addr, struct turn_peer **out);
void floe__turn_peers_clear(struct floe_turn *t);
void floe__turn_peer_perm_ok(struct floe_turn *t, struct turn_peer *p, floe_time now);
void floe__turn_peer_chan_ok(struct floe_turn *t, struct turn_peer *p, floe_time now);
void floe__turn_peer_failed(struct floe_turn *t, struct turn_peer *p, uint16_t method);
void floe__turn_peers_timeout(struct floe_turn *t, floe_time now);
floe_time floe__turn_peers_deadline(const struct floe_turn *t);
long floe__turn_peers_flush(struct floe_turn *t, uint8_t *buf, size_t cap);
long floe__turn_peers_transmit(struct floe_turn *t, floe_time now, uint8_t *buf, size_t cap);
int floe__turn_data_in(struct floe_turn *t, floe_time now, const uint8_t *buf, size_t len,
                       struct floe_addr *peer, struct floe_span *data);
int floe__turn_data_indication(struct floe_turn *t, floe_time now, const struct floe_stun_msg *msg,
                               struct floe_addr *peer, struct floe_span *data);

/* peer_sched.c */
int floe__turn_sched_init(struct floe_turn *t);
void floe__turn_sched_deinit(struct floe_turn *t);
void floe__turn_sched_clear(struct floe_turn *t);
void floe__turn_peer_touch(struct floe_turn *t, struct turn_peer *p);
uint32_t floe__turn_sched_take_due(struct floe_turn *t, floe_time now);
struct turn_peer *floe__turn_ring_front(struct floe_turn *t, struct turn_ring *r);
void floe__turn_ring_pop(struct floe_turn *t, struct turn_ring *r);

static inline uint16_t floe__turn_channel_of(const struct floe_turn *t, const struct turn_peer *p)
{
    return (uint16_t)(FLOE_CHANNEL_MIN + (p - t->peers));
}

#endif
