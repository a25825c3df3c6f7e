/* Private state of the relay core, shared by its source files. */
#ifndef FLOE_RELAY_INT_H
#define FLOE_RELAY_INT_H

#include "floe/relay.h"

#define RELAY_USERNAME_MAX 128
#define RELAY_NONCE_LEN 32
#define RELAY_PORT_SLOTS 65536
#define RELAY_SPECIAL_MAX 24

#define RELAY_LENT_RECHECK FLOE_SEC(5) /* how often to ask whether a lent port is back */
/* A PENDING allocation whose ports the caller never answered for is swept after this. */
#define RELAY_PENDING_TIMEOUT FLOE_SEC(10)
#define RELAY_LIMIT_WAYS 4 /* entries per set of the source table (limit.c) */

/* One source's unauthenticated answers in one second (limit.c). */
struct relay_source {
    uint8_t key[16]; /* the IPv4 address, or the /64 of the IPv6 address */
    uint8_t family;  /* 0: free */
    uint32_t second; /* the second counted */
    uint32_t count;
};

/*
 * A port kept for a later Allocate with RESERVATION-TOKEN (RFC 8656 section 7.2).
 * With shared reservations an expired one whose port another core claimed stays
 * (lent) until the registry says the port is released.
 */
struct relay_reservation {
    uint64_t token;
    struct floe_addr addr;
    floe_time expires; /* lent: when to ask the registry again */
    bool lent;
};

/* What an Allocate asks for. */
struct relay_alloc_spec {
    uint8_t families; /* bit set: 1 << FLOE_AF_INET | 1 << FLOE_AF_INET6 */
    bool even;        /* EVEN-PORT */
    bool reserve;     /* EVEN-PORT with R: keep the next port */
    bool has_token;   /* RESERVATION-TOKEN: use the port kept under token */
    uint64_t token;
    uint8_t af_error;   /* an additional family left out (ADDRESS-ERROR-CODE), STUN value */
    bool dont_fragment; /* DONT-FRAGMENT */
};

struct relay_perm {
    struct floe_addr ip;
    floe_time expires;
};

struct relay_chan {
    uint16_t number;
    struct floe_addr peer;
    floe_time expires;
};

enum relay_alloc_state {
    RELAY_ALLOC_PENDING, /* waiting for the caller to bind its ports */
    RELAY_ALLOC_LIVE,
};

struct relay_alloc {
    uint32_t id;
    enum relay_alloc_state state;
    struct floe_addr client;
    struct floe_addr local;
    struct floe_addr relayed[2];
    uint8_t n_relayed;
    uint8_t pending_binds;
    uint8_t bind_head;  /* bind_q: indexes of relayed[] awaiting the caller's bind, */
    uint8_t bind_q[2];  /* in the order of their BIND_PORT events */
    uint32_t probes[2]; /* ports tried for relayed[i], the first included */
    bool even;          /* EVEN-PORT: another port must be even too */
    bool fixed;         /* relayed[0] is a reserved port: no other will do */
    bool bind_failed;
    bool fingerprint;   /* the Allocate request carried FINGERPRINT */
    bool has_token;     /* a port was reserved: answer with RESERVATION-TOKEN */
    bool borrowed;      /* relayed[0] was claimed from another core's reservation */
    bool quota_held;    /* counted by the shared quota hooks: release when it ends */
    bool dont_fragment; /* DONT-FRAGMENT: the relayed sockets send with DF set */
    uint8_t af_error;   /* the family left out of a dual allocation (STUN value), 0: none */
    uint64_t token;     /* the reservation made (has_token) or claimed (borrowed) */
    char username[RELAY_USERNAME_MAX];
    uint8_t key[FLOE_MD5_LEN];
    uint8_t txid[FLOE_STUN_TXID_LEN]; /* of the Allocate, for retransmissions */
    floe_time lifetime;
    floe_time expires; /* LIVE: end of lifetime; PENDING: when it is swept unanswered */
    struct relay_perm *perms;
    uint32_t n_perms;
    struct relay_chan *chans;
    uint32_t n_chans;
    struct relay_alloc *next_client; /* hash chain by 5-tuple */
};

struct floe_relay {
    struct floe_relay_config cfg;
    struct floe_hmac *nonce_mac;
    struct relay_alloc **by_client; /* buckets */
    uint32_t n_buckets;
    uint64_t hash_key[2];          /* random SipHash key of the 5-tuple index, drawn at creation */
    struct relay_alloc **ports_v4; /* indexed by relayed port */
    struct relay_alloc **ports_v6;
    struct relay_alloc **allocs; /* dense list of every allocation */
    uint32_t n_allocs;
    uint32_t next_id;
    int64_t unix_now;
    floe_time next_sweep;
    /* unauthenticated answers: a token bucket refilled every second, and per source */
    floe_time bucket_at;
    uint32_t bucket_tokens;
    struct relay_source *sources;
    uint32_t n_sources; /* a power of two, 0 without a per-source limit */
    uint64_t source_seed;
    struct floe_relay_event *events;
    size_t ev_head, ev_len, ev_cap;
    struct floe_relay_stats stats;
    struct relay_reservation *reservations;
    uint32_t n_reservations, n_lent, reservations_cap;
    bool shared_resv;                            /* cfg.reservations hooks are set */
    struct relay_alloc reserved_marker;          /* port slot value of a reserved port */
    struct floe_cidr special[RELAY_SPECIAL_MAX]; /* refused peers: special ranges */
    size_t n_special;
    uint16_t range_min, range_max; /* relayed ports of the whole relay (relay-to-relay peers) */
    uint8_t user_keys[FLOE_RELAY_MAX_USERS][FLOE_MD5_LEN];
    /* credentials set by floe_relay_set_credentials: cfg.auth_secret and cfg.users point here */
    char secret[FLOE_RELAY_SECRET_MAX];
    char user_names[FLOE_RELAY_MAX_USERS][RELAY_USERNAME_MAX];
    char prev_secret[FLOE_RELAY_SECRET_MAX]; /* the one before, accepted until prev_until */
    floe_time prev_until;                    /* 0: no previous secret */
};

/* What a request handler needs to answer. */
struct relay_req {
    const struct floe_stun_msg *msg;
    const struct floe_addr *local;
    const struct floe_addr *from;
    uint8_t *out;
    size_t cap;
    struct floe_relay_tx *tx;
    const uint8_t *key; /* long-term key once authenticated, else NULL */
    char username[RELAY_USERNAME_MAX];
};

/* auth.c */
int floe__relay_auth_init(struct floe_relay *r);
long floe__relay_authenticate(struct floe_relay *r, floe_time now, struct relay_req *q,
                              uint8_t key[FLOE_MD5_LEN]);
int floe__relay_rest_key(struct floe_relay *r, const char *secret, const char *user,
                         uint8_t key[FLOE_MD5_LEN]);

/* creds.c */
bool floe__relay_previous_secret_ok(struct floe_relay *r, floe_time now, const struct relay_req *q,
                                    uint8_t key[FLOE_MD5_LEN]);

/* limit.c */
int floe__relay_limit_init(struct floe_relay *r);
/* Whether an answer to the unauthenticated source from may go out now (counted if so). */
bool floe__relay_take_unauth_token(struct floe_relay *r, floe_time now,
                                   const struct floe_addr *from);

/* alloc.c */
struct relay_alloc *floe__relay_find_client(const struct floe_relay *r,
                                            const struct floe_addr *client,
                                            const struct floe_addr *local);
struct relay_alloc *floe__relay_find_port(const struct floe_relay *r,
                                          const struct floe_addr *relayed);
struct floe_addr floe__relay_advertised(const struct floe_relay *r,
                                        const struct floe_addr *relayed);
int floe__relay_alloc_create(struct floe_relay *r, floe_time now, const struct relay_req *q,
                             const struct relay_alloc_spec *spec, struct relay_alloc **out);
void floe__relay_alloc_destroy(struct floe_relay *r, struct relay_alloc *a);
int floe__relay_alloc_rebind(struct floe_relay *r, struct relay_alloc *a, uint8_t idx);
bool floe__relay_has_permission(const struct relay_alloc *a, floe_time now,
                                const struct floe_addr *peer);
int floe__relay_add_permission(struct floe_relay *r, struct relay_alloc *a, floe_time now,
                               const struct floe_addr *peer);
struct relay_chan *floe__relay_chan_by_number(struct relay_alloc *a, floe_time now,
                                              uint16_t number);
struct relay_chan *floe__relay_chan_by_peer(struct relay_alloc *a, floe_time now,
                                            const struct floe_addr *peer);
void floe__relay_sweep(struct floe_relay *r, floe_time now);
void floe__relay_drop_reservations(struct floe_relay *r);
int floe__relay_push_event(struct floe_relay *r, enum floe_relay_event_kind kind,
                           const struct relay_alloc *a, const struct floe_addr *addr);

/* policy.c */
int floe__relay_policy_init(struct floe_relay *r);
bool floe__relay_peer_allowed(const struct floe_relay *r, const struct floe_addr *peer);

/* answer.c */
long floe__relay_answer_error(struct floe_relay *r, const struct relay_req *q, int code,
                              const char *reason);
long floe__relay_answer_unauth_error(struct floe_relay *r, floe_time now, const struct relay_req *q,
                                     int code, const char *reason);
void floe__relay_answer_start(struct floe_stun_builder *b, const struct relay_req *q, uint8_t cls);
long floe__relay_answer_finish(struct floe_relay *r, struct floe_stun_builder *b,
                               const struct relay_req *q, const uint8_t *key, bool fingerprint);

/* methods.c */
long floe__relay_request(struct floe_relay *r, floe_time now, struct relay_req *q);
long floe__relay_allocate_done(struct floe_relay *r, floe_time now, struct relay_alloc *a,
                               struct relay_req *q);

/* datapath.c */
long floe__relay_channeldata_in(struct floe_relay *r, floe_time now, const struct floe_addr *local,
                                const struct floe_addr *from, const uint8_t *buf, size_t len,
                                uint8_t *out, size_t cap, struct floe_relay_tx *tx);
long floe__relay_send_indication(struct floe_relay *r, floe_time now, const struct relay_req *q);

#endif
