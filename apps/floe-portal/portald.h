/*
 * floe-portal's serving side (issue 12): the daemon that Clients and Gateways hold a
 * WebSocket to. One thread, one epoll set: the listening socket, every TCP connection (one
 * floe_wsconn each), a UDP socket for the relays' health checks, a timerfd, a signalfd and,
 * with PostgreSQL, the store's LISTEN socket.
 *
 * The pieces here that do not touch the OS (arguments, credentials, the relay health table,
 * rate limits, metrics text) are plain functions so that tests/unit/portal_daemon_*_test.c can
 * drive them without a server.
 */
#ifndef FLOE_PORTALD_H
#define FLOE_PORTALD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/core.h"

#define PORTALD_DEFAULT_LISTEN "127.0.0.1:8443"
#define PORTALD_DEFAULT_DATABASE "sqlite:/var/lib/floe-portal/portal.db"
#define PORTALD_DEFAULT_MAX_CONNECTIONS 16384
#define PORTALD_DEFAULT_MAX_FRAME (1024 * 1024) /* bytes of one WebSocket message */
#define PORTALD_DEFAULT_TOKEN_RATE 50           /* messages per second per token */
#define PORTALD_DEFAULT_TOKEN_BURST 200
#define PORTALD_DEFAULT_ADDR_RATE 20 /* new connections per second per address */
#define PORTALD_DEFAULT_ADDR_BURST 100
#define PORTALD_DEFAULT_RELAY_CHECK_MS 10000       /* a STUN Binding to each relay every 10 s */
#define PORTALD_RELAY_DOWN_MISSES 2                /* unanswered checks in a row: relay down */
#define PORTALD_DEFAULT_CREDENTIAL_TTL (24 * 3600) /* seconds a TURN REST credential lasts */
#define PORTALD_DEFAULT_AUTHZ_TTL (8 * 3600)       /* seconds an authorization lasts */
#define PORTALD_DEFAULT_PEER_CACHE 30              /* seconds a candidate check is cached */
#define PORTALD_DEFAULT_HANDSHAKE_MS 10000         /* HTTP/TLS upgrade must finish this fast */
#define PORTALD_DEFAULT_IDLE_MS 60000              /* nothing heard this long: close */
#define PORTALD_SHUTDOWN_GRACE_MS 2000             /* SIGTERM: wait this long for close frames */
#define PORTALD_PATH_MAX 4096
#define PORTALD_ID_MAX 64

/* Exit codes (documented in --help and the README). */
enum portald_exit {
    PORTALD_EXIT_OK = 0,    /* stopped by SIGTERM/SIGINT after closing connections */
    PORTALD_EXIT_START = 1, /* cannot start: listen, TLS files, database, log file */
    PORTALD_EXIT_USAGE = 2, /* bad flags */
};

/* The serving options: floe-portal [--listen ADDR:PORT] [--database URL] ... */
struct portald_opts {
    struct floe_addr listen;
    char database[PORTALD_PATH_MAX];
    const char *tls_cert; /* PEM certificate chain; NULL with --insecure */
    const char *tls_key;  /* PEM private key */
    bool insecure;        /* plain ws:// and http:// (loopback addresses only) */
    uint32_t max_connections;
    uint32_t max_frame;
    uint32_t token_rate, token_burst; /* messages per second per device token */
    uint32_t addr_rate, addr_burst;   /* new connections per second per source address */
    uint32_t relay_check_ms;          /* interval of the relays' STUN health checks */
    uint32_t credential_ttl;          /* seconds of a TURN REST credential */
    uint32_t authz_ttl;               /* seconds of an authorization */
    uint32_t peer_cache;              /* seconds a live authorization is cached (peers.c) */
    uint32_t handshake_ms;
    uint32_t idle_ms;              /* a connection silent this long is closed with 1008 "idle" */
    char instance[PORTALD_ID_MAX]; /* this instance's id (presence rows, NOTIFY routing) */
    const char *log_file;
    enum floe_log_level log_level;
};

/*
 * Parse the serving command line (argv[0] is the program) into o, defaults first. On a
 * usage error writes a one-line message into err and returns FLOE_ERR_INVALID_ARG; returns 1
 * when --help or --version was printed to stdout, 0 to run.
 */
int portald_parse_args(int argc, char **argv, struct portald_opts *o, char *err, size_t cap);
/* The --help text. */
const char *portald_usage(void);

/* ------------------------------------------------------------- credentials */

#define PORTALD_REST_USER_MAX 96
#define PORTALD_REST_PASS_MAX 64 /* base64 of a 20-byte HMAC-SHA1: 28 characters */
#define PORTALD_KEY_B64_LEN 44   /* base64 of 32 bytes, padded */
#define PORTALD_UFRAG_LEN 8      /* RFC 8445 section 5.3: at least 4 characters */
#define PORTALD_ICE_PWD_LEN 32   /* RFC 8445 section 5.3: at least 22 characters */

/* TURN REST credentials for one relay, as floe-relay's --auth-secret (and coturn) check. */
struct portald_rest_cred {
    char username[PORTALD_REST_USER_MAX]; /* "EXPIRY:ID" */
    char password[PORTALD_REST_PASS_MAX]; /* base64(HMAC-SHA1(secret, username)) */
    uint64_t expires_at;                  /* unix seconds */
};

/*
 * Make the credentials of device id for a relay with REST secret, valid until expires_at
 * (unix seconds). Returns 0, FLOE_ERR_INVALID_ARG (NULL, empty secret or id, id with ':') or
 * FLOE_ERR_CRYPTO.
 */
int portald_rest_cred_make(struct portald_rest_cred *out, const char *secret, const char *id,
                           uint64_t expires_at);

/* ICE credentials of one side of a connection (RFC 8445 section 5.3 ice-chars). */
struct portald_ice_cred {
    char username[PORTALD_UFRAG_LEN + 1];
    char password[PORTALD_ICE_PWD_LEN + 1];
};

/*
 * Everything the portal makes for one authorization, from the OS RNG (or rng, for tests):
 * a WireGuard preshared key (base64 of 32 bytes) and both sides' ICE credentials.
 */
struct portald_authz_secrets {
    char preshared_key[PORTALD_KEY_B64_LEN + 1];
    struct portald_ice_cred client;
    struct portald_ice_cred gateway;
};

/*
 * Fill s from rng (floe_crypto_rng() in the daemon). The two sides' ufrags always differ.
 * Returns 0 or FLOE_ERR_INVALID_ARG.
 */
int portald_authz_secrets_make(struct portald_authz_secrets *s, const struct floe_rng *rng);

/* ----------------------------------------------------------- rate limits */

#define PORTALD_RATE_SLOTS 4096 /* keys tracked at once per limiter */
#define PORTALD_RATE_PROBE 8

struct portald_rate_slot {
    uint64_t key; /* 0: free */
    double tokens;
    floe_time last;
};

/*
 * Token buckets keyed by a 64-bit hash of a token or an address: rate per second, up to
 * burst. A full table evicts the slot refilled longest ago among the probed ones.
 */
struct portald_rate {
    struct portald_rate_slot slot[PORTALD_RATE_SLOTS];
    uint64_t hash_key; /* per-process random key of the hash */
    uint32_t rate, burst;
    uint64_t evicted;
};

/* Set up a limiter (rate 0: unlimited). */
void portald_rate_init(struct portald_rate *r, uint32_t rate, uint32_t burst, uint64_t hash_key);
/* Take one token for key[0..len) at now: true when allowed. */
bool portald_rate_allow(struct portald_rate *r, const void *key, size_t len, floe_time now);

/* ----------------------------------------------------------- relay health */

#define PORTALD_MAX_RELAYS 64

/* One relay as the health checker sees it. */
struct portald_relay {
    char id[PORTALD_ID_MAX];
    struct floe_addr addr; /* its STUN/TURN UDP address */
    bool up;               /* answered one of the last PORTALD_RELAY_DOWN_MISSES checks */
    bool checked;          /* at least one check finished (answered or missed) */
    bool pending;          /* a Binding is out */
    bool due;              /* a Binding is to be sent this round */
    uint8_t txid[12];
    unsigned misses;  /* checks in a row without an answer */
    floe_time sent;   /* when the pending Binding went out */
    floe_time rtt;    /* last round trip, ns */
    uint64_t answers; /* Binding success responses matched */
};

/*
 * The relays' health table: a STUN Binding request to each relay every interval; an answer
 * before the next check marks it up, PORTALD_RELAY_DOWN_MISSES unanswered checks in a row mark
 * it down. A change of any relay sets `changed` (the daemon pushes relays_presence and clears
 * it). Sans-IO: the daemon owns the UDP socket and the clock.
 */
struct portald_relays {
    struct portald_relay r[PORTALD_MAX_RELAYS];
    size_t n;
    floe_time interval;
    floe_time next_check;
    bool changed;
    uint64_t sent, answers, stray, malformed;
};

/* Empty table checking every interval (ns). */
void portald_relays_init(struct portald_relays *rs, floe_time interval);
/*
 * Replace the set with the given relays (ids and addresses), keeping the state of relays
 * whose id and address are unchanged; new relays start as up until their checks say
 * otherwise (a fresh relay is offered at once). Returns 0 or FLOE_ERR_INVALID_ARG (n too big).
 */
int portald_relays_set(struct portald_relays *rs, const char (*ids)[PORTALD_ID_MAX],
                       const struct floe_addr *addrs, size_t n);
/*
 * The next Binding request due at now: writes it into buf and its destination into *to and
 * returns its length; 0 when none is due. txid bytes come from rng.
 */
long portald_relays_poll_transmit(struct portald_relays *rs, floe_time now,
                                  const struct floe_rng *rng, uint8_t *buf, size_t cap,
                                  struct floe_addr *to);
/* A datagram received on the check socket: a matching Binding success marks its relay up. */
void portald_relays_handle_input(struct portald_relays *rs, floe_time now,
                                 const struct floe_addr *from, const uint8_t *buf, size_t len);
/* When the next check is due (the daemon's timer). */
floe_time portald_relays_poll_timeout(const struct portald_relays *rs);

/* ------------------------------------------------------------------ metrics */

/* The daemon's counters, rendered as Prometheus text at /metrics. */
struct portald_stats {
    uint64_t connections_accepted;
    uint64_t connections_refused_limit; /* --max-connections reached */
    uint64_t connections_refused_rate;  /* per-address rate limit */
    uint64_t connections_open;          /* gauge */
    uint64_t http_requests;             /* plain HTTP requests (/metrics, /healthz, others) */
    uint64_t http_bad;                  /* malformed HTTP, unknown paths */
    uint64_t upgrades;
    uint64_t auth_failures; /* wrong or missing token: 401 */
    uint64_t handshake_timeouts;
    uint64_t tls_failures;
    uint64_t ws_errors; /* WebSocket protocol errors and oversized frames */
    uint64_t messages_in, messages_out;
    uint64_t messages_bad;     /* malformed JSON, unknown events, ill-typed payloads */
    uint64_t messages_limited; /* dropped by the per-token rate limit */
    uint64_t joins;
    uint64_t clients_online, gateways_online; /* gauges */
    uint64_t authorizations_requested, authorizations_created, authorizations_failed;
    uint64_t authorizations_early, gateway_announces;
    uint64_t candidates_looked_up; /* recipients checked in the database (not in the cache) */
    uint64_t authorizations_renewed, authorizations_revoked; /* expiry_updated, reject_access */
    uint64_t candidates_relayed, invalidations_relayed;
    uint64_t candidates_refused; /* candidate messages to a device with no live authorization */
    uint64_t undeliverable;      /* a message for a device that is not connected anywhere */
    /* candidates (one per candidate string) for a device connected nowhere (hold.c) */
    uint64_t candidates_held;           /* kept in the store for the device's next join */
    uint64_t candidates_delivered_late; /* sent after the device's join */
    uint64_t candidates_expired;        /* held past their expiry, not delivered */
    uint64_t candidates_dropped_bound;  /* held, deleted to keep the per-peer/device bound */
    uint64_t candidates_cancelled;      /* held, removed by an invalidation of the same one */
    uint64_t notifies_in, notifies_out;
    uint64_t changes_applied;
    uint64_t relays_up, relays_down; /* gauges */
    uint64_t relay_checks_sent, relay_checks_answered;
    uint64_t store_errors;
};

/*
 * Render st as Prometheus text exposition (version 0.0.4) into buf. Returns the length, or
 * FLOE_ERR_BUFFER_TOO_SMALL.
 */
long portald_metrics_render(const struct portald_stats *st, char *buf, size_t cap);

#endif
