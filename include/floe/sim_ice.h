/*
 * ICE in the simulator: a STUN Binding server endpoint, a signalling channel,
 * an endpoint adapter that drives a floe_ice agent the way the connection
 * manager will, and the table of named ICE scenarios with their verdicts.
 *
 * Everything here runs in the simulator's virtual time and draws randomness
 * only from the simulator's RNG, so a scenario with the same seed writes the
 * same transcript byte for byte.
 */
#ifndef FLOE_SIM_ICE_H
#define FLOE_SIM_ICE_H

#include "floe/ice.h"
#include "floe/relay.h"
#include "floe/sim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ timeline */

/* Timeline entries kept per verdict; later ones are counted in tl_dropped. */
#define FLOE_SIM_TL_MAX 512
#define FLOE_SIM_TL_TEXT 112
/* Lanes of a timeline shown side by side (roam-race: with and without the grace period). */
#define FLOE_SIM_LANES 2
#define FLOE_SIM_LANE_NAME 64
/* Data outages a verdict keeps (one per roam the scenario measures). */
#define FLOE_SIM_OUTAGES 16

/* One line of a scenario's timeline. */
struct floe_sim_tl_entry {
    floe_time at;  /* virtual time of the run it belongs to */
    uint8_t lane;  /* 0..n_lanes-1 */
    uint8_t group; /* run (variant) number within the scenario */
    char text[FLOE_SIM_TL_TEXT];
};

/* What a scenario concluded, and how it got there. */
struct floe_sim_verdict {
    bool pass;
    char reason[256]; /* one line: why it passed or failed */
    uint8_t n_lanes;  /* 1, or 2 for side-by-side timelines */
    char lanes[FLOE_SIM_LANES][FLOE_SIM_LANE_NAME];
    struct floe_sim_tl_entry tl[FLOE_SIM_TL_MAX];
    size_t n_tl;
    uint64_t tl_dropped;
    /*
     * Roaming scenarios: the data outage of each roam they measure (the
     * longest time either end went without an application datagram across
     * the roam); n_outages 0 for the others. Later ones are not kept.
     */
    floe_time outages[FLOE_SIM_OUTAGES];
    size_t n_outages;
};

/* Empty verdict, failing until a scenario says otherwise, one lane. */
void floe_sim_verdict_init(struct floe_sim_verdict *v);

/* Append a timeline line (printf format; cut to FLOE_SIM_TL_TEXT). v NULL: no-op. */
void floe_sim_verdict_add(struct floe_sim_verdict *v, floe_time at, uint8_t lane, uint8_t group,
                          const char *fmt, ...) FLOE_PRINTF(5, 6);

/* Order the timeline by run (group), then time; entries at equal times keep their order. */
void floe_sim_verdict_sort(struct floe_sim_verdict *v);

/* Record one data outage (see struct floe_sim_verdict); past FLOE_SIM_OUTAGES it is not kept. */
void floe_sim_verdict_outage(struct floe_sim_verdict *v, floe_time outage);

/* Set pass and the reason (printf format). */
void floe_sim_verdict_set(struct floe_sim_verdict *v, bool pass, const char *fmt, ...)
    FLOE_PRINTF(3, 4);

/* ---------------------------------------------------------- STUN server */

#define FLOE_SIM_STUN_QUEUE 32

/*
 * A STUN Binding server (RFC 8489 section 6.3): every Binding request gets a
 * success response with XOR-MAPPED-ADDRESS set to the request's source and a
 * FINGERPRINT; anything else is dropped and counted. Caller-allocated.
 */
struct floe_sim_stun_server {
    struct {
        struct floe_addr to, from;
        uint8_t txid[12];
    } q[FLOE_SIM_STUN_QUEUE];
    uint32_t head, count;
    uint64_t requests, answered, dropped;
};

void floe_sim_stun_server_init(struct floe_sim_stun_server *s);

/* Ops for struct floe_sim_stun_server (obj = the server). */
extern const struct floe_sim_endpoint_ops floe_sim_stun_server_ops;

/* --------------------------------------------------------- relay server */

/* The static long-term user of the simulated relay (--user alice:secret). */
#define FLOE_SIM_RELAY_USER "alice"
#define FLOE_SIM_RELAY_PASSWORD "secret"
/* Relayed ports bound at once (one per live or pending allocation). */
#define FLOE_SIM_RELAY_PORTS 32
/* Datagrams the relay may have to send after one input (an answer, a relayed packet). */
#define FLOE_SIM_RELAY_QUEUE 8

struct floe_sim_relay_server;

/*
 * The simulator's defaults for a relay core: floe_relay_config_default with
 * the user FLOE_SIM_RELAY_USER / FLOE_SIM_RELAY_PASSWORD and relayed ports
 * 49152-49999. The relayed address is left for floe_sim_relay_server_new.
 */
void floe_sim_relay_config_default(struct floe_relay_config *cfg);

/*
 * A TURN server endpoint wrapping a floe_relay core: it listens at `listen`
 * (an IP of `host` and a port), answers FLOE_RELAY_EV_BIND_PORT by attaching
 * one endpoint on the relayed address (floe_relay_port_bound reports whether
 * the attach worked) and detaches it on FLOE_RELAY_EV_RELEASE_PORT; datagrams
 * on the listening port go to floe_relay_handle_client, those on a relayed
 * port to floe_relay_handle_peer, and every answer leaves from the address
 * the core names (tx.from). cfg NULL: floe_sim_relay_config_default(); the
 * config is copied, its rng replaced by the simulator's and, when no relayed
 * address is set, relay_v4 set to listen's IP. Strings in cfg are borrowed.
 * Allocated through cfg->alloc; free it after the last run of the simulator.
 * Returns 0, FLOE_ERR_INVALID_ARG, FLOE_ERR_NOMEM, or the core's or attach's error.
 */
int floe_sim_relay_server_new(struct floe_sim *sim, uint32_t host, const struct floe_addr *listen,
                              const struct floe_relay_config *cfg,
                              struct floe_sim_relay_server **out);
/* Free the server and its core (NULL allowed); detach it first if the simulator runs on. */
void floe_sim_relay_server_free(struct floe_sim_relay_server *s);
/* The relay core, for its counters (floe_relay_get_stats). */
struct floe_relay *floe_sim_relay_server_core(struct floe_sim_relay_server *s);
/* Relayed ports bound now. */
uint32_t floe_sim_relay_server_ports(const struct floe_sim_relay_server *s);

/* ------------------------------------------------------------ signalling */

struct floe_sim_signal;
struct floe_sim_ice_ep;

/*
 * A signalling channel between two ICE endpoints (sides 0 and 1): each
 * message arrives after `delay` plus a uniform draw in [0, jitter], in the
 * order sent per direction (a WebSocket through the portal): jitter delays a
 * message, never lets a later one overtake it. While the channel is down, messages
 * are held and are sent when it comes back up (DESIGN section 1).
 * Holds up to `cap` messages in flight. Returns 0, FLOE_ERR_INVALID_ARG or
 * FLOE_ERR_NOMEM; the channel is allocated through the simulator's config
 * allocator and must be freed before the simulator.
 */
int floe_sim_signal_new(struct floe_sim *sim, const struct floe_allocator *alloc, size_t cap,
                        floe_time delay, floe_time jitter, struct floe_sim_signal **out);
void floe_sim_signal_free(struct floe_sim_signal *sig);
/* Take the channel down (hold messages) or bring it up (send what was held). */
void floe_sim_signal_set_down(struct floe_sim_signal *sig, bool down);
/* Messages sent so far and messages held or in flight now. */
uint64_t floe_sim_signal_sent(const struct floe_sim_signal *sig);
size_t floe_sim_signal_pending(const struct floe_sim_signal *sig);

/* ----------------------------------------------------------- ICE endpoint */

/* Configuration of one ICE endpoint; fill with floe_sim_ice_ep_config_default. */
struct floe_sim_ice_ep_config {
    const char *name;           /* in the transcript and timeline */
    struct floe_ice_config ice; /* rng is set by the adapter (the simulator's RNG) */
    uint16_t port;              /* one UDP port bound on every interface */
    struct floe_addr stun;      /* STUN server; family FLOE_AF_NONE: host candidates only */
    /*
     * TURN server (a floe_sim_relay_server); family FLOE_AF_NONE: no relayed
     * candidates. Its allocation gives a relayed candidate (base: the relayed
     * address, server: this address) and a server-reflexive one, trickled
     * like the others; relayed checks and data go through floe_turn.
     */
    struct floe_addr relay;
    const char *relay_user, *relay_password; /* long-term credentials, borrowed */
    bool relay_only;        /* gather relayed candidates only: no host, no server-reflexive */
    floe_time gather_delay; /* local candidates are added this long after start */
    floe_time stun_rto;     /* Binding retransmission: rto doubling, stun_max_sends */
    uint32_t stun_max_sends;
    floe_time data_interval; /* application datagram every interval on the selected pair */
    uint32_t decoys;         /* extra host candidates on interfaces that lead nowhere */
    /*
     * On a roam, reset as the connection manager does after a network change:
     * a new agent (new credentials, no candidate, no pair) offered over
     * signalling, and no gathering until floe_sim_ice_ep_gather (the relays
     * answering). false: invalidate the old address's candidates and gather
     * on the new one at once, keeping the agent.
     */
    bool reset_on_roam;
    uint8_t id;                        /* this peer's id in application datagrams */
    struct floe_sim_verdict *timeline; /* NULL: events are counted but not written */
    uint8_t lane, group;
};

/*
 * Defaults: the ICE client profile, port 50000, no STUN server, no TURN
 * server (credentials FLOE_SIM_RELAY_USER / FLOE_SIM_RELAY_PASSWORD when one
 * is set), no gather delay, STUN RTO 250 ms with 7 sends, data every 100 ms,
 * no decoys, id 0.
 */
void floe_sim_ice_ep_config_default(struct floe_sim_ice_ep_config *cfg);

/* What one ICE endpoint saw; counters since creation. */
struct floe_sim_ice_ep_stats {
    enum floe_ice_state state;
    floe_time connected_at;     /* first connected, FLOE_TIME_NEVER if never */
    floe_time failed_at;        /* first failed, FLOE_TIME_NEVER if never */
    floe_time disconnected_at;  /* most recent disconnected */
    floe_time disconnected_end; /* when the most recent disconnected state ended, or NEVER */
    floe_time selected_at;      /* most recent selected-pair change to a pair */
    uint64_t state_changes, selected_changes, role_switches;
    bool has_selected;
    struct floe_ice_pair_info selected;
    uint64_t gathered;          /* local candidates added */
    uint64_t removed;           /* local candidates invalidated on roams */
    uint64_t remote_added;      /* remote candidates accepted */
    uint64_t remote_rejected;   /* remote candidates the agent refused */
    uint64_t data_sent;         /* application datagrams sent */
    uint64_t data_received;     /* application datagrams for this peer */
    uint64_t data_misdelivered; /* application datagrams meant for another peer */
    floe_time data_first_at;    /* first application datagram received */
    floe_time data_last_at;     /* latest application datagram received */
    floe_time data_gap_max;     /* longest time between two application datagrams received */
    floe_time response_last_at; /* latest authenticated check or consent response, or NEVER */
    uint64_t stun_answers;      /* server-reflexive answers received */
    floe_time stun_first_at;    /* the first of them, FLOE_TIME_NEVER if none */
    floe_time relayed_at;       /* relayed candidate gathered, FLOE_TIME_NEVER if never */
    uint64_t relay_out;         /* datagrams (checks, data) handed to the TURN client */
    uint64_t relay_in;          /* datagrams from peers through the relay */
    uint64_t relay_refused;     /* relayed sends refused (no allocation, other relay, errors) */
    uint64_t relay_errors;      /* TURN error events (refused permissions included) */
    uint32_t roams;
    uint32_t resets; /* roams handled by a reset (reset_on_roam) */
};

/*
 * Create an ICE endpoint on `host` of sim (port cfg->port, every interface),
 * with a new agent made at the current time. It gathers after
 * cfg->gather_delay once floe_sim_ice_ep_start is called.
 * Returns 0, FLOE_ERR_INVALID_ARG, FLOE_ERR_NOMEM or the agent's error.
 */
int floe_sim_ice_ep_new(struct floe_sim *sim, uint32_t host,
                        const struct floe_sim_ice_ep_config *cfg, struct floe_sim_ice_ep **out);
void floe_sim_ice_ep_free(struct floe_sim_ice_ep *ep);

/*
 * Join two endpoints through sig (a is side 0, b side 1): a's credentials go
 * to b as an offer (the connection intent), b answers with its own, each
 * after the channel's delay. An offer with new credentials later (a reset)
 * makes the receiver restart, answer and trickle its candidates again.
 * 0 or FLOE_ERR_INVALID_ARG.
 */
int floe_sim_ice_ep_pair(struct floe_sim_ice_ep *a, struct floe_sim_ice_ep *b,
                         struct floe_sim_signal *sig);

/* Start gathering (after the configured delay) and sending data once connected. */
int floe_sim_ice_ep_start(struct floe_sim_ice_ep *ep);
/*
 * Gather every local candidate now (host, server-reflexive, relayed) and
 * trickle them, as when the relays answer after a reset. 0 or
 * FLOE_ERR_INVALID_ARG (NULL, not started).
 */
int floe_sim_ice_ep_gather(struct floe_sim_ice_ep *ep);

const struct floe_sim_ice_ep_stats *floe_sim_ice_ep_stats(const struct floe_sim_ice_ep *ep);
struct floe_ice_agent *floe_sim_ice_ep_agent(struct floe_sim_ice_ep *ep);
/* Whether the agent has a selected pair and has received application data from the peer. */
bool floe_sim_ice_ep_is_up(const struct floe_sim_ice_ep *ep);
/*
 * The longest time ep went without application data up to now: the longest
 * gap between two datagrams, or the time since the last one if longer.
 * FLOE_TIME_NEVER before the first datagram.
 */
floe_time floe_sim_ice_ep_outage(const struct floe_sim_ice_ep *ep);

/* ------------------------------------------------------------ scenarios */

/* How to run a scenario. */
struct floe_sim_scenario_opts {
    uint64_t seed;                /* the simulator seed (each run derives its own from it) */
    floe_sim_write_fn transcript; /* NULL: none; every run of the scenario writes to it */
    void *transcript_user;
    uint32_t runs; /* runs of a property scenario (node-prop); 0: its default */
};

struct floe_sim_scenario {
    const char *name;        /* "roam-race" */
    const char *description; /* one line */
    /*
     * Run the scenario into v (initialised by the caller). Returns 0 when it
     * ran (v->pass says whether the verdict holds) or a negative FLOE_ERR_*
     * when it could not be set up (v->reason says why).
     */
    int (*run)(const struct floe_sim_scenario_opts *opts, struct floe_sim_verdict *v);
    /*
     * The scenario runs many random cases itself (opts->runs of them): `floe sim
     * NAME --seeds N` asks it for N runs in one verdict instead of N seeded verdicts.
     */
    bool runs_many;
};

/* The table of scenarios, in listing order; *n set to its length. */
const struct floe_sim_scenario *floe_sim_scenarios(size_t *n);
/* The scenario called name, or NULL. */
const struct floe_sim_scenario *floe_sim_scenario_find(const char *name);

#ifdef __cplusplus
}
#endif

#endif
