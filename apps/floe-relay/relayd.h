/*
 * floe-relay: the TURN relay daemon around the sans-IO relay core.
 *
 * Threads: each worker owns one relay core, one epoll set, its own
 * SO_REUSEPORT listening sockets and the relayed sockets of its allocations,
 * so the data path takes no lock. The kernel's REUSEPORT hash keeps a client's
 * 5-tuple on one worker. Workers split the relay port range between them and
 * share only the EVEN-PORT reservation registry (struct relayd_resv), the quota
 * counters (struct relayd_quota), both locked off the data path, and credentials
 * re-read on SIGHUP (taken by each worker at its next wake-up).
 * The main thread handles signals; an optional thread serves metrics from its own
 * event loop.
 */
#ifndef FLOE_RELAYD_H
#define FLOE_RELAYD_H

#include <pthread.h>
#include <stdatomic.h>

#include "floe/relay.h"
#include "floe_io.h"
#include "jsonlog.h"

#define RELAYD_MAX_LISTEN 8
#define RELAYD_SECRET_ENV "FLOE_RELAY_AUTH_SECRET"
#define RELAYD_DEFAULT_SECRET_GRACE 3600 /* --secret-grace, seconds */

/* A set of credentials: the REST secret and the static users, with their storage. */
struct relayd_creds {
    char secret[FLOE_RELAY_SECRET_MAX];
    bool has_secret;
    char user_buf[FLOE_RELAY_MAX_USERS][256];
    struct floe_relay_user users[FLOE_RELAY_MAX_USERS];
    size_t n_users;
};
#define RELAYD_MAX_THREADS 64

enum relayd_io {
    RELAYD_IO_AUTO = 0, /* io_uring when the kernel allows it, else epoll */
    RELAYD_IO_EPOLL,
    RELAYD_IO_URING,
};

struct relayd_opts {
    struct floe_addr listen[RELAYD_MAX_LISTEN];
    size_t n_listen;
    struct floe_addr relay_ip;  /* IPv4 relayed address (port ignored), family 0 if none */
    struct floe_addr relay_ip6; /* IPv6 relayed address */
    struct floe_addr external_private[2]; /* --external-ip's PRIVATE by family [v4, v6] */
    uint16_t port_min, port_max;
    unsigned threads;
    bool gro;           /* UDP GRO on the listening and relayed sockets (--no-gro clears it) */
    enum relayd_io io;  /* --io; main resolves RELAYD_IO_AUTO before the workers start */
    uint32_t linger_us; /* io_uring: a busy worker waits this long for a batch (--linger-us) */
    struct floe_addr metrics;
    bool have_metrics;
    const char *log_file;
    enum floe_log_level log_level;
    struct floe_relay_config core;            /* realm, users, secret, quotas, policy */
    char user_buf[FLOE_RELAY_MAX_USERS][256]; /* storage behind core.users */
    char secret_buf[FLOE_RELAY_SECRET_MAX];   /* storage behind core.auth_secret */
    size_t n_cli_users;      /* core.users[0..n) came from --user, the rest from --users-file */
    const char *secret_file; /* --auth-secret-file, re-read on SIGHUP */
    const char *users_file;  /* --users-file, re-read on SIGHUP */
    uint32_t secret_grace;   /* --secret-grace: seconds the previous secret still works */
};

/*
 * Parse argv into o (defaults first). On a usage error writes a one-line
 * message into err and returns FLOE_ERR_INVALID_ARG; returns 1 when --help or
 * --version was printed to stdout, 0 to run.
 */
int relayd_parse_args(int argc, char **argv, struct relayd_opts *o, char *err, size_t cap);

/* Where Linux keeps the ephemeral port range ("32768\t60999\n"). */
#define RELAYD_LOCAL_RANGE_PATH "/proc/sys/net/ipv4/ip_local_port_range"

/* Parse an ip_local_port_range text into lo and hi. 0 or FLOE_ERR_INVALID_ARG. */
int relayd_parse_local_range(const char *text, uint16_t *lo, uint16_t *hi);
/*
 * Log a warning into log when o's --relay-ports overlaps the range in the file at path
 * (RELAYD_LOCAL_RANGE_PATH). True when it warned; an unreadable file is no overlap.
 */
bool relayd_warn_ephemeral(struct floe_jsonlog *log, const struct relayd_opts *o, const char *path);

/*
 * With a wildcard --listen address, add the host's addresses of that family to the
 * core's own addresses (o->core.own, up to FLOE_RELAY_MAX_OWN), which the peer policy
 * refuses like the relay's other addresses. 0, or FLOE_ERR_IO (getifaddrs failed).
 */
int relayd_add_host_addresses(struct relayd_opts *o);

struct relayd_worker;
struct relayd_resv;

/* One worker's view of the reservation registry: the ctx of its core's hooks. */
struct relayd_resv_member {
    struct relayd_resv *resv;
    unsigned idx;
};

/*
 * EVEN-PORT reservations shared by every worker (RFC 8656 section 7.2): a
 * floe_relay_resv_table under a mutex, taken only by Allocates with EVEN-PORT R
 * or RESERVATION-TOKEN and by the once-a-second sweep of expired reservations,
 * never on the data path.
 */
struct relayd_resv {
    pthread_mutex_t lock;
    struct floe_relay_resv_table *table;
    struct floe_jsonlog *log; /* debug lines for claims across workers; may be NULL */
    struct relayd_resv_member members[RELAYD_MAX_THREADS];
};

/* Make the registry for n_workers workers of o's port range. 0 or FLOE_ERR_NOMEM. */
int relayd_resv_init(struct relayd_resv *r, struct floe_jsonlog *log, const struct relayd_opts *o,
                     unsigned n_workers);
/* Free it, after every core that used it. */
void relayd_resv_deinit(struct relayd_resv *r);
/* The hooks worker idx's core uses (config field `reservations`). */
struct floe_relay_resv_hooks relayd_resv_hooks(struct relayd_resv *r, unsigned idx);

#define RELAYD_QUOTA_BUCKETS 4096
#define RELAYD_DEFAULT_USER_QUOTA 128   /* --user-quota: allocations per user */
#define RELAYD_DEFAULT_CLIENT_QUOTA 256 /* --client-quota: allocations per client IP */

struct relayd_quota_entry;
struct relayd_metrics;

/*
 * Allocations per user and per client IP, counted across every worker (the cores'
 * floe_relay_quota_hooks) under one mutex, so --user-quota and --client-quota hold per
 * daemon. Taken only by Allocates and ended allocations, never on the data path.
 */
struct relayd_quota {
    pthread_mutex_t lock;
    uint64_t key; /* per-process random hash key */
    bool ready;
    struct relayd_quota_entry *buckets[RELAYD_QUOTA_BUCKETS];
};

/* Make the counters. 0 or FLOE_ERR_CRYPTO (no randomness for the key). */
int relayd_quota_init(struct relayd_quota *q);
/* Free them, after every core that used them. */
void relayd_quota_deinit(struct relayd_quota *q);
/* The hooks every worker's core uses (config field `quotas`). */
struct floe_relay_quota_hooks relayd_quota_hooks(struct relayd_quota *q);
/* Live allocations counted for user (ip NULL) or for ip's address (user NULL). */
uint32_t relayd_quota_count(struct relayd_quota *q, const char *user, const struct floe_addr *ip);

/* Read a secret file (trailing blanks and newline dropped). 0, or <0 with err set. */
int relayd_read_secret_file(const char *path, char *out, size_t cap, char *err, size_t errcap);
/* Append the NAME:PASSWORD lines of a users file (# comments) to c. 0, or <0 with err set. */
int relayd_read_users_file(const char *path, struct relayd_creds *c, char *err, size_t errcap);
/*
 * The credentials o stands for now: its --user users, --users-file and --auth-secret-file
 * read again, else its --auth-secret or FLOE_RELAY_AUTH_SECRET. 0, or <0 with err set.
 */
int relayd_creds_load(const struct relayd_opts *o, struct relayd_creds *c, char *err, size_t cap);
/*
 * Wipe the secrets of argv (--auth-secret's value, --user's passwords) and of
 * FLOE_RELAY_AUTH_SECRET in place, once relayd_parse_args has copied them: ps shows none.
 */
void relayd_scrub_argv(int argc, char **argv);

/* The shared state of a running daemon. */
struct relayd {
    struct relayd_opts opts;
    struct floe_jsonlog log;
    atomic_bool stop;
    unsigned n_workers;
    struct relayd_worker *workers[RELAYD_MAX_THREADS];
    pthread_t threads[RELAYD_MAX_THREADS];
    unsigned n_started; /* worker threads running */
    pthread_mutex_t stats_lock;
    struct relayd_resv resv;
    struct relayd_quota quota;      /* used by the workers once quota.ready */
    struct relayd_metrics *metrics; /* the metrics endpoint, NULL without --metrics */
    /* credentials re-read on SIGHUP (relayd_reload); each worker applies a new generation */
    pthread_mutex_t creds_lock;
    struct relayd_creds creds;
    atomic_uint creds_gen;
};

/*
 * Re-read the credential files and hand them to every worker (SIGHUP). 0, or <0 with err
 * set and nothing changed. The workers keep the previous secret for opts.secret_grace.
 */
int relayd_reload(struct relayd *d, char *err, size_t cap);

/*
 * Start a daemon whose opts and log are set: the registries, every worker and its thread.
 * Returns 0, or a FLOE_ERR_* after printing why to stderr; call relayd_stop either way.
 */
int relayd_start(struct relayd *d);
/* Stop the worker threads, free the workers and the registries. */
void relayd_stop(struct relayd *d);

/*
 * Resolve opts.io: RELAYD_IO_AUTO becomes io_uring when a ring can be made here, else
 * epoll. Returns 0, or FLOE_ERR_UNSUPPORTED/FLOE_ERR_IO when --io uring was asked for and
 * cannot be had (errno set after FLOE_ERR_IO).
 */
int relayd_resolve_io(struct relayd_opts *o);

/* Create worker index i (sockets bound, core made). Returns 0 or a FLOE_ERR_*. */
int relayd_worker_new(struct relayd *d, unsigned i, struct relayd_worker **out);
/* The worker's thread body: runs until d->stop. */
void *relayd_worker_run(void *arg);
/* Wake the worker so it notices d->stop. */
void relayd_worker_wake(struct relayd_worker *w);
void relayd_worker_free(struct relayd_worker *w);
/* Add the worker's last published counters into sum (under d->stats_lock). */
void relayd_worker_add_stats(struct relayd_worker *w, struct floe_relay_stats *sum);
/* Add the worker's last published send counters (datagrams sent, dropped) into sum. */
void relayd_worker_add_send_stats(struct relayd_worker *w, struct floe_io_send_stats *sum);
/* Add the worker's last published receive counters (datagrams, GRO messages, drops) into sum. */
void relayd_worker_add_recv_stats(struct relayd_worker *w, struct floe_io_recv_stats *sum);

#define RELAYD_METRICS_MAX_CONNS 16     /* open metrics connections; a new one evicts the oldest */
#define RELAYD_METRICS_MAX_REQUEST 4096 /* bytes of request head; 431 beyond */
#define RELAYD_METRICS_TIMEOUT FLOE_SEC(5) /* a whole metrics exchange */

/*
 * Bind and listen on opts.metrics (non-blocking). 0, FLOE_ERR_ADDR_FAMILY, FLOE_ERR_NOMEM
 * or FLOE_ERR_IO (errno set). Then run relayd_metrics_run on a thread of its own.
 */
int relayd_metrics_open(struct relayd *d);
/*
 * The metrics thread's event loop until d->stop (noticed within 100 ms): serves every
 * connection at once, each bounded in size and time (RELAYD_METRICS_*); frees what
 * relayd_metrics_open made.
 */
void *relayd_metrics_run(void *arg);
/* Render the metrics text into buf; returns its length. */
size_t relayd_metrics_render(struct relayd *d, char *buf, size_t cap);

#endif
