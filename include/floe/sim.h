/*
 * floe deterministic network simulator (the `sim` layer).
 *
 * Everything runs in virtual time (floe_time nanoseconds) from one seeded
 * xoshiro256** generator, so a run with the same seed and the same script is
 * identical byte for byte: no clock reads, no pointers in any output, no
 * hash-order dependence.
 *
 * Model:
 * - A network is one link (latency, jitter, loss, reordering, rate, bounded
 *   queue, blackhole switch). A packet crossing a network is one hop.
 * - A network is either a root (public; all roots are joined by a core, so a
 *   packet from one root to another crosses both) or the inside network of
 *   exactly one NAT whose external address sits on another network. NATs chain.
 * - Hosts own up to FLOE_SIM_HOST_IFACES interfaces, each one IPv4 or IPv6
 *   address on one network. Hosts can roam an interface to another network.
 * - Endpoints are sans-IO objects bound to a host port, driven through
 *   struct floe_sim_endpoint_ops exactly as a daemon drives them (DESIGN 2):
 *   after every delivery, timeout or command the simulator drains
 *   poll_transmit, then re-arms the timer from poll_timeout.
 *
 * Ids (networks, hosts, NATs, endpoints) are small integers handed out in
 * creation order starting at 0. One simulator belongs to one thread.
 */
#ifndef FLOE_SIM_H
#define FLOE_SIM_H

#include <stdio.h>

#include "floe/core.h"

#ifdef __cplusplus
extern "C" {
#endif

struct floe_sim;

/* Interfaces per host. */
#define FLOE_SIM_HOST_IFACES 4
/* Longest object name kept (longer names are cut), including NUL. */
#define FLOE_SIM_NAME_MAX 32

/* --------------------------------------------------------- drop reasons */

/* X(NAME, "transcript-name"): why a packet was dropped. */
#define FLOE_SIM_DROP_TABLE(X)                                                                     \
    X(LOSS, "loss")                                                                                \
    X(BLACKHOLE, "blackhole")                                                                      \
    X(NAT_FILTER, "nat-filter")                                                                    \
    X(NO_MAPPING, "no-mapping")                                                                    \
    X(QUEUE, "queue")                                                                              \
    X(ROAM_DEAD, "roam-dead")                                                                      \
    X(NO_ROUTE, "no-route")                                                                        \
    X(NO_ENDPOINT, "no-endpoint")                                                                  \
    X(HAIRPIN, "hairpin")                                                                          \
    X(NAT_FULL, "nat-full")                                                                        \
    X(BAD_SOURCE, "bad-source")

enum floe_sim_drop {
#define FLOE__SIM_DROP_ENUM(name, str) FLOE_SIM_DROP_##name,
    FLOE_SIM_DROP_TABLE(FLOE__SIM_DROP_ENUM)
#undef FLOE__SIM_DROP_ENUM
        FLOE_SIM_DROP_COUNT
};

/* Transcript name of a drop reason ("loss", ...); "unknown" out of range. */
const char *floe_sim_drop_name(enum floe_sim_drop reason);

/* Totals since floe_sim_new. sent == delivered + sum(dropped) + in flight. */
struct floe_sim_counters {
    uint64_t sent;      /* datagrams emitted by endpoints */
    uint64_t delivered; /* datagrams handed to an endpoint */
    uint64_t dropped[FLOE_SIM_DROP_COUNT];
    uint64_t translated; /* NAT translations (one per NAT traversal) */
    uint64_t hops;       /* network traversals started */
    uint64_t events;     /* events processed by floe_sim_step */
    uint64_t timeouts;   /* handle_timeout calls */
};

/* ------------------------------------------------------------- networks */

/* Link behaviour of one network. */
struct floe_sim_link {
    floe_time latency;  /* one-way base delay */
    floe_time jitter;   /* extra delay drawn uniformly from [0, jitter] */
    double loss;        /* probability in [0, 1] that a packet is lost */
    double reorder;     /* probability in [0, 1] that a packet is held back */
    uint64_t rate_bps;  /* serialisation rate in bit/s; 0 = unlimited */
    uint32_t queue_cap; /* packets on this network at once (queued or in flight) */
};

/*
 * Defaults: 5 ms latency, no jitter, loss or reordering, unlimited rate,
 * queue of 256 packets. Without reordering a network is FIFO: jitter never
 * lets a later packet overtake an earlier one. A held-back packet gets an
 * extra delay in [1 ns, latency + jitter + 1 ns] and may be overtaken.
 */
struct floe_sim_link floe_sim_link_default(void);

/* ------------------------------------------------------------------ NAT */

/* RFC 4787 section 4.1 mapping and section 5 filtering behaviours. */
enum floe_sim_nat_kind {
    FLOE_SIM_NAT_ENDPOINT_INDEPENDENT = 0,
    FLOE_SIM_NAT_ADDRESS_DEPENDENT = 1,
    FLOE_SIM_NAT_ADDRESS_PORT_DEPENDENT = 2,
};

struct floe_sim_nat_config {
    enum floe_sim_nat_kind mapping;   /* which destinations share one mapping */
    enum floe_sim_nat_kind filtering; /* which sources may come back in, per mapping */
    bool hairpin;                     /* RFC 4787 section 6: inside to own external address */
    bool port_preservation;           /* try the internal port first (RFC 4787 4.2.1) */
    bool inbound_refresh;             /* inbound packets refresh too (RFC 4787 REQ-6 MAY) */
    floe_time mapping_timeout;        /* idle time after which a mapping expires */
    uint16_t port_min, port_max;      /* external port range, inclusive */
    uint32_t max_mappings;            /* bound on live mappings */
    uint32_t max_sessions;            /* bound on (internal, remote) filter entries */
};

/*
 * Defaults: endpoint-independent mapping, address-and-port-dependent
 * filtering, hairpinning on, no port preservation, outbound-only refresh,
 * 120 s timeout (RFC 4787 REQ-5 minimum), ports 1024-65535, 256 mappings,
 * 1024 sessions.
 */
void floe_sim_nat_config_default(struct floe_sim_nat_config *cfg);

/* ------------------------------------------------------------ endpoints */

/*
 * How the simulator drives one sans-IO object (DESIGN section 2). All
 * pointers passed in are valid for the call only. `handle_input`,
 * `poll_transmit` are required; the others may be NULL.
 *
 * poll_transmit writes at most `cap` bytes into buf, sets *len and *to, and
 * may set *from: it comes in with family FLOE_AF_NONE, meaning "the default"
 * (the bound IP, or for an endpoint bound to every interface the host's first
 * interface of the destination's family); an object with several local bases
 * sets it to one of its host's addresses (port 0 means the bound port).
 * Returns 1 for a datagram, 0 for none; a negative value stops the drain.
 *
 * poll_timeout returns the next deadline or FLOE_TIME_NEVER; a deadline in the
 * past fires at the current time.
 *
 * on_roam is called once the roamed interface is usable again, with the old
 * and new local transport addresses (bound port kept); the simulator drains
 * transmits and re-arms the timer after it, so the object may reset and
 * start sending at once.
 */
struct floe_sim_endpoint_ops {
    void (*handle_input)(void *obj, floe_time now, const struct floe_addr *from,
                         const struct floe_addr *to, const uint8_t *bytes, size_t len);
    void (*handle_timeout)(void *obj, floe_time now);
    int (*poll_transmit)(void *obj, floe_time now, uint8_t *buf, size_t cap, size_t *len,
                         struct floe_addr *from, struct floe_addr *to);
    floe_time (*poll_timeout)(void *obj);
    void (*on_roam)(void *obj, floe_time now, const struct floe_addr *old_addr,
                    const struct floe_addr *new_addr);
};

/* ------------------------------------------------------------ simulator */

/*
 * Transcript sink: called with one complete JSON line (ending in '\n', not
 * NUL-terminated in len) per packet and scenario event. Return value ignored.
 */
typedef void (*floe_sim_write_fn)(void *user, const char *line, size_t len);

/* Invariant hook: called after every step; non-zero stops the step with that error. */
typedef int (*floe_sim_check_fn)(struct floe_sim *sim, void *user);

struct floe_sim_config {
    struct floe_allocator alloc; /* every allocation of the simulator */
    uint64_t seed;               /* seeds the one RNG */
    uint32_t max_hosts, max_networks, max_nats, max_endpoints;
    uint32_t max_packets;             /* packets alive at once, across all networks */
    uint32_t max_actions;             /* scheduled callbacks and pending roams */
    uint32_t max_datagram;            /* largest datagram, bytes */
    uint32_t max_transmits_per_drive; /* cap on one poll_transmit drain */
    floe_sim_write_fn transcript;     /* NULL: no transcript */
    void *transcript_user;
    floe_sim_check_fn check; /* NULL: no invariant hook */
    void *check_user;
};

/*
 * Defaults: libc allocator, seed 1, 64 hosts, 32 networks, 16 NATs, 128
 * endpoints, 4096 packets, 256 actions, 1500-byte datagrams, 1024 transmits
 * per drain, no transcript, no hook.
 */
void floe_sim_config_default(struct floe_sim_config *cfg);

/*
 * Point cfg's transcript at a FILE the caller keeps open for the simulator's
 * lifetime (lines are written with fwrite).
 */
void floe_sim_config_transcript_file(struct floe_sim_config *cfg, FILE *f);

/*
 * Create a simulator at virtual time 0. cfg is copied. All bounded storage is
 * allocated here through cfg->alloc (NAT tables when the NAT is added).
 * Returns 0 and *out, FLOE_ERR_INVALID_ARG for NULL or zero capacities,
 * FLOE_ERR_NOMEM.
 */
FLOE_WARN_UNUSED int floe_sim_new(const struct floe_sim_config *cfg, struct floe_sim **out);

/* Free the simulator and all it allocated; endpoint objects stay the caller's. NULL is a no-op. */
void floe_sim_free(struct floe_sim *sim);

/* Current virtual time. */
floe_time floe_sim_now(const struct floe_sim *sim);

/* Counters since creation; valid until floe_sim_free. */
const struct floe_sim_counters *floe_sim_counters(const struct floe_sim *sim);

/* Packets currently alive (queued or in flight). */
uint32_t floe_sim_in_flight(const struct floe_sim *sim);

/*
 * The simulator's one RNG as a floe_rng hook, for objects under test, so the
 * whole run stays reproducible from the seed. Valid until floe_sim_free.
 */
struct floe_rng floe_sim_rng(struct floe_sim *sim);

/* Next raw 64-bit draw from the simulator's RNG (for scripted scenarios). */
uint64_t floe_sim_rand(struct floe_sim *sim);

/* ------------------------------------------------------------- topology */

/*
 * Add a network named `name` with `link` (NULL: floe_sim_link_default()).
 * It is a root until a NAT takes it as inside network.
 * Returns 0 and *out_net, FLOE_ERR_INVALID_ARG, FLOE_ERR_NOMEM when
 * max_networks are in use.
 */
int floe_sim_net_add(struct floe_sim *sim, const char *name, const struct floe_sim_link *link,
                     uint32_t *out_net);

/* Change a network's link at runtime (affects packets sent from now on). 0 or INVALID_ARG. */
int floe_sim_net_set_link(struct floe_sim *sim, uint32_t net, const struct floe_sim_link *link);

/*
 * Switch blackholing of a network on or off: while on, every packet sent on
 * it or arriving through it is dropped ("blackhole"). Writes a transcript
 * event. 0 or FLOE_ERR_INVALID_ARG.
 */
int floe_sim_net_set_blackhole(struct floe_sim *sim, uint32_t net, bool on);

/* IP pairs floe_sim_block can hold at once. */
#define FLOE_SIM_BLOCKS 4

/*
 * Block (on) or unblock every packet between IP addresses a and b, both ways, ports ignored,
 * on every network (a firewall between two sites: UDP between two NATs' external addresses
 * while both still reach a relay). Blocked packets are dropped as "blackhole". Writes a
 * transcript event. 0, FLOE_ERR_INVALID_ARG, or FLOE_ERR_NOMEM (FLOE_SIM_BLOCKS pairs already
 * blocked); unblocking a pair that is not blocked changes nothing.
 */
int floe_sim_block(struct floe_sim *sim, const struct floe_addr *a, const struct floe_addr *b,
                   bool on);

/* Add a host with no interfaces. Returns 0 and *out_host, INVALID_ARG, NOMEM when full. */
int floe_sim_host_add(struct floe_sim *sim, const char *name, uint32_t *out_host);

/*
 * Give host an interface with IP `ip` (port ignored) on `net`. The IP must be
 * unique on that network and not a NAT's external IP there.
 * Returns 0 and *out_iface (index within the host), FLOE_ERR_INVALID_ARG,
 * FLOE_ERR_NOMEM when the host has FLOE_SIM_HOST_IFACES.
 */
int floe_sim_host_add_addr(struct floe_sim *sim, uint32_t host, uint32_t net,
                           const struct floe_addr *ip, uint32_t *out_iface);

/* Current IP of a host interface (port 0). 0 or FLOE_ERR_INVALID_ARG. */
int floe_sim_host_addr(const struct floe_sim *sim, uint32_t host, uint32_t iface,
                       struct floe_addr *out);

/*
 * Add a NAT translating `inside` (which becomes its inside network; it must
 * be a root without a NAT) to `external_ip` (port ignored) on `outside`. The
 * outside network must not be `inside` nor below it (no loops).
 * cfg NULL: floe_sim_nat_config_default(). The NAT's tables are allocated here.
 * Returns 0 and *out_nat, FLOE_ERR_INVALID_ARG, FLOE_ERR_NOMEM.
 */
int floe_sim_nat_add(struct floe_sim *sim, const char *name, const struct floe_sim_nat_config *cfg,
                     uint32_t inside, uint32_t outside, const struct floe_addr *external_ip,
                     uint32_t *out_nat);

/* Mappings of a NAT alive at the current time, or 0 for a bad id. */
uint32_t floe_sim_nat_mapping_count(const struct floe_sim *sim, uint32_t nat);

/*
 * Roam interface `iface` of `host` to `new_ip` on `new_net` after a dead
 * period: from now until now + dead, packets from or to the interface are
 * dropped ("roam-dead"); then the interface has its new address, endpoints
 * bound to the old IP are rebound to the new one (same port), and each
 * endpoint of the host gets on_roam and is driven. Writes roam-start and
 * roam-end transcript events. Returns 0, FLOE_ERR_INVALID_ARG (bad ids,
 * address in use, interface already roaming), FLOE_ERR_NOMEM (no action slot).
 */
int floe_sim_host_roam(struct floe_sim *sim, uint32_t host, uint32_t iface, uint32_t new_net,
                       const struct floe_addr *new_ip, floe_time dead);

/* ------------------------------------------------------------ endpoints */

/*
 * Attach a sans-IO object to `host` at `bind`: a port with the IP of one of
 * the host's interfaces, or with family FLOE_AF_NONE to receive on every
 * interface. ops and obj are borrowed until floe_sim_free or
 * floe_sim_detach. `name` appears in the transcript. The object is driven
 * once (drain and arm) before this returns.
 * Returns 0 and *out_ep, FLOE_ERR_INVALID_ARG (bad host, port 0, IP not on
 * the host, port already bound), FLOE_ERR_NOMEM when max_endpoints are used.
 */
int floe_sim_attach(struct floe_sim *sim, uint32_t host, const struct floe_addr *bind,
                    const char *name, const struct floe_sim_endpoint_ops *ops, void *obj,
                    uint32_t *out_ep);

/* Stop driving an endpoint; its id is not reused. 0 or FLOE_ERR_INVALID_ARG. */
int floe_sim_detach(struct floe_sim *sim, uint32_t ep);

/*
 * Drain the endpoint's transmits and re-arm its timer, as a daemon does after
 * issuing a command to an object. Call it after changing an attached
 * object from outside the simulator. 0 or FLOE_ERR_INVALID_ARG.
 */
int floe_sim_endpoint_drive(struct floe_sim *sim, uint32_t ep);

/* ------------------------------------------------------------- scenario */

typedef void (*floe_sim_action_fn)(struct floe_sim *sim, void *user);

/*
 * Call fn(sim, user) at virtual time `at` (clamped to now), in order with
 * other events at that time. fn may use any function here except the run
 * functions. Returns 0, FLOE_ERR_INVALID_ARG, FLOE_ERR_NOMEM (max_actions).
 */
int floe_sim_at(struct floe_sim *sim, floe_time at, floe_sim_action_fn fn, void *user);

/* Write a scenario line {"ev":"note","what":..,"detail":..}; strings are escaped. */
void floe_sim_note(struct floe_sim *sim, const char *what, const char *detail);

/*
 * Write the counters as one transcript line: {"ev":"summary","sent":..,
 * "delivered":..,"dropped":{"loss":..,...},"in_flight":..,"translated":..,
 * "hops":..,"events":..,"timeouts":..}. No-op without a transcript.
 */
void floe_sim_write_summary(struct floe_sim *sim);

/* -------------------------------------------------------------- running */

/* Time of the next event, FLOE_TIME_NEVER if none. */
floe_time floe_sim_next_time(const struct floe_sim *sim);

/*
 * Process the next event (ordered by time, then by scheduling order).
 * Returns 1 if an event ran, 0 if none was pending, or a negative error: the
 * invariant hook's value (FLOE_ERR_STATE if it returned a positive one) or
 * FLOE_ERR_STATE when an endpoint's timer fires more than 100000 times
 * without time advancing.
 */
int floe_sim_step(struct floe_sim *sim);

/* Run every event at or before t, then set the time to t. 0 or a step error. */
int floe_sim_run_until(struct floe_sim *sim, floe_time t);

/*
 * Run until no event is pending or the next one is after `limit`.
 * Returns 1 if idle, 0 if stopped at the limit (time then = limit), or a step error.
 */
int floe_sim_run_until_idle(struct floe_sim *sim, floe_time limit);

/*
 * Run until pred(sim, user) is true (checked before each step), the queue is
 * empty, or the next event is after `limit`. Returns 1 if pred became true,
 * 0 otherwise, or a step error.
 */
int floe_sim_run_until_pred(struct floe_sim *sim, bool (*pred)(struct floe_sim *, void *),
                            void *user, floe_time limit);

/* ---------------------------------------------------- built-in endpoints */

#define FLOE_SIM_ECHO_SLOTS 16
#define FLOE_SIM_ECHO_MAX 1500

/*
 * UDP echo: every datagram received is sent back to its source from the
 * address it arrived on. Caller-allocated; up to FLOE_SIM_ECHO_SLOTS replies
 * wait between drains, more are counted in `overflow`; datagrams longer than
 * FLOE_SIM_ECHO_MAX are cut.
 */
struct floe_sim_echo {
    uint8_t data[FLOE_SIM_ECHO_SLOTS][FLOE_SIM_ECHO_MAX];
    size_t len[FLOE_SIM_ECHO_SLOTS];
    struct floe_addr from[FLOE_SIM_ECHO_SLOTS], to[FLOE_SIM_ECHO_SLOTS];
    uint32_t head, count;
    uint64_t received, overflow;
};

/* Reset an echo endpoint. */
void floe_sim_echo_init(struct floe_sim_echo *echo);

/* Ops for struct floe_sim_echo (obj = the echo). */
extern const struct floe_sim_endpoint_ops floe_sim_echo_ops;

/* Bytes of each received datagram the recorder keeps. */
#define FLOE_SIM_RECORD_HEAD 32

/* One datagram a recorder received. */
struct floe_sim_record {
    floe_time at;
    struct floe_addr from, to;
    size_t len;
    uint8_t head[FLOE_SIM_RECORD_HEAD]; /* first min(len, FLOE_SIM_RECORD_HEAD) bytes */
};

/* A datagram queued for sending at a time. */
struct floe_sim_outgoing {
    floe_time at;
    struct floe_addr from, to; /* from family FLOE_AF_NONE: default address */
    size_t len;
    uint8_t *data;
};

/*
 * Recorder: keeps every received datagram (the first max_records; `received`
 * counts all) and sends datagrams queued with floe_sim_recorder_send at
 * their times (through its timer). Fields are read-only for the caller.
 */
struct floe_sim_recorder {
    struct floe_allocator alloc;
    struct floe_sim_record *records;
    size_t n_records, max_records;
    struct floe_sim_outgoing *out; /* ring of n_out from out_head, in time order */
    size_t out_head, n_out, max_out, max_len;
    uint64_t received, sent;
    uint32_t roams;                      /* on_roam calls */
    struct floe_addr roam_old, roam_new; /* arguments of the last on_roam */
};

/*
 * Create a recorder keeping up to max_records datagrams and queueing up to
 * max_out outgoing datagrams of at most max_len bytes each, allocated through
 * alloc (NULL: libc). Returns 0 and *out, FLOE_ERR_INVALID_ARG, FLOE_ERR_NOMEM.
 */
int floe_sim_recorder_new(const struct floe_allocator *alloc, size_t max_records, size_t max_out,
                          size_t max_len, struct floe_sim_recorder **out);

/* Free a recorder. NULL is a no-op. */
void floe_sim_recorder_free(struct floe_sim_recorder *rec);

/*
 * Queue `len` bytes (copied) for `to` at time `at`, from `from` (NULL: the
 * endpoint's default address). If the recorder is attached, call
 * floe_sim_endpoint_drive afterwards so its timer is re-armed.
 * Returns 0, FLOE_ERR_INVALID_ARG (len > max_len, NULL to),
 * FLOE_ERR_NOMEM (queue full).
 */
int floe_sim_recorder_send(struct floe_sim_recorder *rec, floe_time at,
                           const struct floe_addr *from, const struct floe_addr *to,
                           const void *bytes, size_t len);

/* Ops for struct floe_sim_recorder (obj = the recorder). */
extern const struct floe_sim_endpoint_ops floe_sim_recorder_ops;

#ifdef __cplusplus
}
#endif

#endif
