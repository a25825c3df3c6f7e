/*
 * floe relay core: the TURN server of RFC 8656 (UDP), sans-IO.
 *
 * The core owns allocations, permissions, channels, credentials and nonces; the
 * daemon (or the simulator) owns the sockets. Every input produces at most one
 * datagram to send at once (an answer to a request, a relayed packet), written
 * into the caller's buffer and described by a floe_relay_tx; anything else the
 * caller must act on (bind a relay port, release one) is an event.
 *
 * Relay ports are chosen by the core inside the configured range and bound by
 * the caller: an Allocate yields FLOE_RELAY_EV_BIND_PORT, and the answer to the
 * client is produced by floe_relay_port_bound once the caller knows whether the
 * bind worked.
 */
#ifndef FLOE_RELAY_H
#define FLOE_RELAY_H

#include "floe/core.h"
#include "floe/stun.h"

#ifdef __cplusplus
extern "C" {
#endif

/* RFC 8656 error codes (section 19) and RFC 8489 section 14.8 */
#define FLOE_TURN_ERR_BAD_REQUEST 400
#define FLOE_TURN_ERR_UNAUTHORIZED 401
#define FLOE_TURN_ERR_FORBIDDEN 403
#define FLOE_TURN_ERR_UNKNOWN_ATTRIBUTE 420
#define FLOE_TURN_ERR_ALLOCATION_MISMATCH 437
#define FLOE_TURN_ERR_STALE_NONCE 438
#define FLOE_TURN_ERR_ADDRESS_FAMILY 440
#define FLOE_TURN_ERR_WRONG_CREDENTIALS 441
#define FLOE_TURN_ERR_UNSUPPORTED_TRANSPORT 442
#define FLOE_TURN_ERR_PEER_FAMILY_MISMATCH 443
#define FLOE_TURN_ERR_QUOTA 486
#define FLOE_TURN_ERR_SERVER_ERROR 500
#define FLOE_TURN_ERR_INSUFFICIENT_CAPACITY 508

/* A CIDR block for the peer policy. */
struct floe_cidr {
    struct floe_addr addr; /* port ignored */
    uint8_t prefix;
};

/* Parse "10.0.0.0/8", "fd00::/8" or a bare address (full length). 0 or FLOE_ERR_ADDR_PARSE. */
int floe_cidr_parse(const char *s, struct floe_cidr *out);
/* True if a's IP is inside c. */
bool floe_cidr_contains(const struct floe_cidr *c, const struct floe_addr *a);

/* A static long-term user (--user name:password). */
struct floe_relay_user {
    const char *name;
    const char *password;
};

#define FLOE_RELAY_MAX_USERS 64
#define FLOE_RELAY_MAX_CIDRS 32
#define FLOE_RELAY_MAX_LISTEN 8
#define FLOE_RELAY_MAX_OWN 32
/* Unclaimed EVEN-PORT reservations one core keeps at a time (RFC 8656 section 7.2). */
#define FLOE_RELAY_MAX_RESERVATIONS 256
/* How long a reservation waits for the Allocate carrying its RESERVATION-TOKEN. */
#define FLOE_RELAY_RESERVATION_LIFETIME FLOE_SEC(30)

/*
 * EVEN-PORT reservations shared between cores. A daemon running several cores
 * behind one listening address (one per thread, SO_REUSEPORT) does not choose
 * the core that gets the Allocate carrying a RESERVATION-TOKEN, so its cores
 * share one registry of tokens through these hooks; each core gets its own ctx,
 * which tells the registry which core calls. The hooks are called from inside
 * floe_relay_handle_client, floe_relay_port_bound, floe_relay_handle_timeout and
 * floe_relay_free, like the allocator and RNG hooks, and only for authenticated
 * Allocates and expiries, never on the data path; they must not call back into
 * a core. With every hook NULL a core keeps its reservations to itself.
 *
 * The reserved port stays in the range of the core that reserved it (the
 * owner). Another core that claims the token binds the port for its own
 * allocation (the port is lent) and releases it when that allocation ends; the
 * owner asks the registry about its expired reservations and only reuses a
 * lent port once it is released.
 */
struct floe_relay_resv_hooks {
    /* Record token for relayed, claimable until expires. 0, or a negative error
     * (registry full, token already known): the Allocate asking for it gets 508. */
    int (*reserve)(void *ctx, uint64_t token, const struct floe_addr *relayed, floe_time expires);
    /* Take the live, unclaimed reservation under token: 0 and *relayed, else
     * FLOE_ERR_NOT_FOUND (unknown, expired or already claimed). A claim by the
     * owner forgets the token at once. */
    int (*claim)(void *ctx, uint64_t token, floe_time now, struct floe_addr *relayed);
    /* The allocation that claimed token from another core ended: the port is free. */
    void (*release)(void *ctx, uint64_t token);
    /* The owner's reservation under token expired. true (the token is forgotten)
     * when its port is free again: never claimed, or claimed and released; false
     * while another core still holds it (the owner asks again later). */
    bool (*settle)(void *ctx, uint64_t token);
    void *ctx;
};

/*
 * Allocation quotas shared between cores. A daemon running several cores (one per
 * thread) counts allocations per user and per client IP across all of them through
 * these hooks, so that a quota holds per daemon and not per core. They are called
 * from inside floe_relay_handle_client (authenticated Allocates), floe_relay_port_bound,
 * floe_relay_handle_timeout and floe_relay_free, never on the data path, and must not
 * call back into a core. With both NULL (the default) a core counts its own allocations.
 */
struct floe_relay_quota_hooks {
    /* Count one more allocation for user and client's IP: 0, or a negative error when
     * either count is already at its limit (0: no limit); the Allocate then gets 486. */
    int (*acquire)(void *ctx, const char *user, const struct floe_addr *client,
                   uint32_t max_per_user, uint32_t max_per_client);
    /* The allocation counted by acquire ended. */
    void (*release)(void *ctx, const char *user, const struct floe_addr *client);
    void *ctx;
};

struct floe_relay_config {
    struct floe_allocator alloc;
    struct floe_log log;
    struct floe_rng rng;  /* required: nonce key, port choice */
    const char *realm;    /* default "floe" */
    const char *software; /* SOFTWARE in answers; NULL for none */
    /* coturn use-auth-secret: username "expiry:id", password base64(HMAC-SHA1(secret, username)) */
    const char *auth_secret;
    struct floe_relay_user users[FLOE_RELAY_MAX_USERS];
    size_t n_users;
    /* Relayed addresses (port ignored); at least one family must be set. */
    struct floe_addr relay_v4;
    struct floe_addr relay_v6;
    /* Behind a 1:1 NAT: the public IPs that XOR-RELAYED-ADDRESS advertises instead of
     * relay_v4's and relay_v6's (which the sockets bind); port ignored, family 0 for none.
     * Peers on them are refused like the relay's own addresses. */
    struct floe_addr external_v4;
    struct floe_addr external_v6;
    uint16_t port_min, port_max;         /* default 49152-65535 */
    floe_time default_lifetime;          /* 600 s */
    floe_time max_lifetime;              /* 3600 s */
    floe_time permission_lifetime;       /* 300 s */
    floe_time channel_lifetime;          /* 600 s */
    floe_time nonce_lifetime;            /* 600 s */
    uint32_t max_allocations;            /* 10000 */
    uint32_t max_allocations_per_user;   /* 0: unlimited */
    uint32_t max_allocations_per_client; /* per client IP; 0: unlimited */
    uint32_t max_permissions;            /* per allocation, 64 */
    uint32_t max_channels;               /* per allocation, 64 */
    /*
     * Answers to unauthenticated sources (Binding, 401, 438, 400 and 420 before
     * authentication): unauth_rate per second in all (10000; 0: unlimited), and
     * unauth_source_rate per second to one source, an IPv4 address or an IPv6 /64 (100;
     * 0: no per-source limit), tracked in a table of unauth_sources entries (4096).
     */
    uint32_t unauth_rate;
    uint32_t unauth_source_rate;
    uint32_t unauth_sources;
    /*
     * Peer policy: loopback, private, shared, link-local, unspecified, multicast, Teredo
     * and the relay's own addresses are refused unless allowed; deny wins over allow. An
     * IPv6 address embedding an IPv4 one (IPv4-mapped, IPv4-translated, IPv4-compatible,
     * NAT64 64:ff9b::/96, 6to4) is judged as that IPv4 address. An allow entry re-opens
     * loopback only when it lies inside loopback (127.0.0.0/8, ::1) and one of the relay's
     * own addresses only when it names it alone (/32, /128); allow_loopback_peers opens
     * loopback. The relay's own relayed addresses (relay_v4, relay_v6) are peers on the
     * relayed port range (relay to relay, two allocations of one relay); a listening port
     * on an own address never is.
     */
    bool allow_loopback_peers;
    struct floe_cidr allow[FLOE_RELAY_MAX_CIDRS];
    size_t n_allow;
    struct floe_cidr deny[FLOE_RELAY_MAX_CIDRS];
    size_t n_deny;
    /* The relay's listening addresses: their IPs are its own, their ports never peers
     * (a wildcard IP: that port on every own address). */
    struct floe_addr listen[FLOE_RELAY_MAX_LISTEN];
    size_t n_listen;
    /* Further addresses of the relay's host (port ignored), e.g. every interface address
     * behind a wildcard listen address: the relay's own too. */
    struct floe_addr own[FLOE_RELAY_MAX_OWN];
    size_t n_own;
    /* The relayed port range of the whole relay (every core of it), where relay-to-relay
     * peers may be; 0-0: port_min-port_max. */
    uint16_t relay_range_min, relay_range_max;
    /* Shared EVEN-PORT reservations; all four hooks or none (the default). */
    struct floe_relay_resv_hooks reservations;
    /* Shared quota counters; both hooks or none (the default). */
    struct floe_relay_quota_hooks quotas;
};

/* Fill cfg with the defaults above (no users, no secret, no relay address). */
void floe_relay_config_default(struct floe_relay_config *cfg);

struct floe_relay;

/*
 * Create a relay core. The config is copied (strings are borrowed and must
 * outlive the relay). Returns 0, FLOE_ERR_INVALID_ARG (no rng, no relay
 * address, no credentials, bad port range), FLOE_ERR_NOMEM, FLOE_ERR_CRYPTO.
 */
FLOE_WARN_UNUSED int floe_relay_new(struct floe_relay **out, const struct floe_relay_config *cfg);
void floe_relay_free(struct floe_relay *r);

/* Longest REST secret floe_relay_set_credentials takes, in bytes. */
#define FLOE_RELAY_SECRET_MAX 512

/*
 * Replace the credentials of a running core (a daemon re-reading its secret files): the
 * REST secret (NULL for none) and the static users. Everything is copied (passwords only
 * into keys). When the secret changes, the previous one is still accepted until now + grace,
 * so clients holding credentials made with it keep refreshing their allocations while they
 * fetch new ones; live allocations are never dropped by a change. Returns 0,
 * FLOE_ERR_INVALID_ARG (neither a secret nor users, more than FLOE_RELAY_MAX_USERS, a secret
 * of FLOE_RELAY_SECRET_MAX bytes or more, an empty one, a name of 128 bytes or more) with
 * nothing changed, or FLOE_ERR_CRYPTO.
 */
FLOE_WARN_UNUSED int floe_relay_set_credentials(struct floe_relay *r, floe_time now,
                                                const char *auth_secret,
                                                const struct floe_relay_user *users, size_t n_users,
                                                floe_time grace);

/* Wall clock in Unix seconds, for time-limited credentials; call as time passes. */
void floe_relay_set_unix_time(struct floe_relay *r, int64_t unix_seconds);

/* Where a datagram produced by the core goes. */
struct floe_relay_tx {
    struct floe_addr from; /* the relay's socket: a listen address or a relayed address */
    struct floe_addr to;
};

/*
 * A datagram from a client arrived on the listening socket `local` from `from`.
 * Returns the length of a datagram written to out to send at once (tx says
 * where), 0 when there is nothing to send, or a negative error for API misuse
 * (FLOE_ERR_INVALID_ARG). Malformed or unauthorised input is dropped, counted
 * and never an error.
 */
long floe_relay_handle_client(struct floe_relay *r, floe_time now, const struct floe_addr *local,
                              const struct floe_addr *from, const uint8_t *buf, size_t len,
                              uint8_t *out, size_t cap, struct floe_relay_tx *tx);

/*
 * A datagram from a peer arrived on the relayed address `relayed`. Same returns
 * as floe_relay_handle_client; the datagram is a ChannelData or Data indication
 * for the client when a permission exists, else dropped and counted.
 */
long floe_relay_handle_peer(struct floe_relay *r, floe_time now, const struct floe_addr *relayed,
                            const struct floe_addr *from, const uint8_t *buf, size_t len,
                            uint8_t *out, size_t cap, struct floe_relay_tx *tx);

/*
 * The caller's answer to FLOE_RELAY_EV_BIND_PORT, in the order of those events: err 0
 * when the port is bound, negative when it could not be (another process holds it: the
 * relay range may overlap the kernel's ephemeral ports). After a failure the core
 * moves the allocation to the next free port of its range and queues another
 * BIND_PORT (0 is returned, the answer waits; an EVEN-PORT R reservation moves along);
 * it answers 508 only once every port of the range was tried, or at once for the port
 * a RESERVATION-TOKEN names.
 * Writes the Allocate answer (success or 508) into out once every port is settled;
 * same returns as floe_relay_handle_client.
 */
long floe_relay_port_bound(struct floe_relay *r, floe_time now, uint32_t alloc_id, int err,
                           uint8_t *out, size_t cap, struct floe_relay_tx *tx);

/* Expire allocations, permissions, channels. */
void floe_relay_handle_timeout(struct floe_relay *r, floe_time now);
/* Next expiry, FLOE_TIME_NEVER when there is nothing to expire. */
floe_time floe_relay_poll_timeout(const struct floe_relay *r);

enum floe_relay_event_kind {
    FLOE_RELAY_EV_BIND_PORT,    /* bind addr (relayed address) and call floe_relay_port_bound */
    FLOE_RELAY_EV_RELEASE_PORT, /* close the socket of addr */
    FLOE_RELAY_EV_ALLOCATED,    /* an allocation is live */
    FLOE_RELAY_EV_EXPIRED,      /* an allocation ended (lifetime, refresh 0, failed bind) */
};

struct floe_relay_event {
    enum floe_relay_event_kind kind;
    uint32_t alloc_id;
    struct floe_addr addr;   /* relayed address */
    struct floe_addr client; /* the client's transport address */
    /* BIND_PORT: the Allocate carried DONT-FRAGMENT; the socket must send with the DF bit
     * set (IP_MTU_DISCOVER IP_PMTUDISC_DO, IPV6_DONTFRAG) or the bind counts as failed */
    bool dont_fragment;
};

/* 1 and fills ev when an event is queued, 0 otherwise. */
int floe_relay_poll_event(struct floe_relay *r, struct floe_relay_event *ev);

/* Counters; drop reasons are named for the metrics endpoint. */
#define FLOE_RELAY_DROP_TABLE(X)                                                                   \
    X(MALFORMED, "malformed")                                                                      \
    X(NO_ALLOCATION, "no_allocation")                                                              \
    X(NO_PERMISSION, "no_permission")                                                              \
    X(NO_CHANNEL, "no_channel")                                                                    \
    X(RATE_LIMITED, "rate_limited")                                                                \
    X(UNEXPECTED, "unexpected")                                                                    \
    X(TOO_BIG, "too_big")                                                                          \
    X(UNKNOWN_ATTRIBUTE, "unknown_attribute")                                                      \
    X(FORBIDDEN_PEER, "forbidden_peer")

enum floe_relay_drop {
#define FLOE__RELAY_DROP_ENUM(name, str) FLOE_RELAY_DROP_##name,
    FLOE_RELAY_DROP_TABLE(FLOE__RELAY_DROP_ENUM)
#undef FLOE__RELAY_DROP_ENUM
        FLOE_RELAY_DROP_COUNT
};

const char *floe_relay_drop_name(enum floe_relay_drop d);

struct floe_relay_stats {
    uint64_t allocations;       /* live now */
    uint64_t allocations_total; /* created since start */
    uint64_t permissions;       /* live now */
    uint64_t channels;          /* live now */
    uint64_t requests;
    uint64_t auth_failures;
    uint64_t error_responses;
    uint64_t packets_to_peers, bytes_to_peers;
    uint64_t packets_to_clients, bytes_to_clients;
    uint64_t drops[FLOE_RELAY_DROP_COUNT];
};

void floe_relay_get_stats(const struct floe_relay *r, struct floe_relay_stats *out);

/*
 * A registry of EVEN-PORT reservations for several cores: the data structure
 * behind floe_relay_resv_hooks, without any locking (the caller serialises the
 * calls, e.g. under a mutex when the cores run on several threads). Cores are
 * told apart by a caller-chosen id. It holds at most `capacity` tokens; every
 * token holds a distinct relay port, so the size of the port range is enough.
 */
struct floe_relay_resv_table;

/* Returns 0, FLOE_ERR_INVALID_ARG (capacity 0 or above 2^24), FLOE_ERR_NOMEM. */
FLOE_WARN_UNUSED int floe_relay_resv_table_new(struct floe_relay_resv_table **out,
                                               const struct floe_allocator *alloc,
                                               uint32_t capacity);
void floe_relay_resv_table_free(struct floe_relay_resv_table *t);
/* The reserve hook for core owner: 0, FLOE_ERR_NOMEM (full) or FLOE_ERR_STATE (known token). */
int floe_relay_resv_table_reserve(struct floe_relay_resv_table *t, uint32_t owner, uint64_t token,
                                  const struct floe_addr *relayed, floe_time expires);
/*
 * The claim hook for core claimer: 0 and *relayed, or FLOE_ERR_NOT_FOUND. When
 * owner is not NULL it receives the id of the core that reserved the port.
 */
int floe_relay_resv_table_claim(struct floe_relay_resv_table *t, uint32_t claimer, uint64_t token,
                                floe_time now, struct floe_addr *relayed, uint32_t *owner);
/* The release hook. Unknown or unclaimed tokens are ignored. */
void floe_relay_resv_table_release(struct floe_relay_resv_table *t, uint64_t token);
/* The settle hook. */
bool floe_relay_resv_table_settle(struct floe_relay_resv_table *t, uint64_t token);
/* Tokens held now (reserved, lent or released but not yet settled). */
uint32_t floe_relay_resv_table_count(const struct floe_relay_resv_table *t);

/*
 * coturn REST credentials: for username (e.g. "1700000000:alice") the password
 * base64(HMAC-SHA1(secret, username)) into out. Returns its length or an error.
 */
int floe_turn_rest_password(char *out, size_t cap, const char *secret, const char *username);

#ifdef __cplusplus
}
#endif

#endif
