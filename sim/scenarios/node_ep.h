/*
 * The node endpoint of the simulator: a floe_node attached to a host port and driven as a
 * daemon drives it, with an IP traffic generator (numbered packets both ways), a signalling
 * channel that carries `candidate:` strings between two nodes, and a two-node topology
 * (client and gateway behind NATs of the matrix, a TURN relay on the public network, a
 * network for the client to roam to) for the node-* scenarios.
 */
#ifndef FLOE_SIM_NODE_EP_H
#define FLOE_SIM_NODE_EP_H

#include "floe/node.h"
#include "scen_int.h"

#define NODE_EP_QUEUE 64
#define NODE_EP_SIG_POOL 512
#define NODE_EP_PKT 100 /* bytes of a generated IP packet */
#define NODE_EP_SEQ_MAX (1u << 17)

struct node_ep;

/* A candidate in flight on the signalling channel. */
struct node_sig_msg {
    struct node_ep *to;
    uint64_t cid; /* the connection at `to` */
    bool used, remove;
    char cand[FLOE_ICE_CANDIDATE_STR_MAX];
};

/* The signalling channel of a pair: a delay, a down switch (messages held), a pool. */
struct node_sig {
    struct floe_sim *sim;
    floe_time delay;
    bool down;
    struct node_sig_msg *pool; /* pool_n messages, allocated by node_sig_init */
    struct node_sig_msg **held;
    uint32_t n_held, pool_n, next;
    uint64_t sent, lost;
};

struct node_ep_out {
    uint8_t buf[NODE_EP_PKT + FLOE_NODE_OVERHEAD];
    size_t len;
    struct floe_addr from, to;
};

struct node_ep {
    const char *name;
    struct floe_sim *sim;
    uint32_t host, ep;
    struct floe_node *node;
    struct floe_xoshiro rng;
    uint64_t cid;
    struct node_ep *peer;
    uint64_t peer_cid; /* the peer's id for this connection */
    struct node_sig *sig;
    /* When set, candidate events go here instead of the signalling channel (the portal
     * protocol client of portal_sim.c carries them). */
    void (*cand_hook)(struct node_ep *e, floe_time now, bool invalidate, const char *cand);
    void *hook_user;
    /* A gateway of many clients: connection k (1..n_fanout) is fanout[k - 1]; echo mode
     * sends every packet back to its connection. */
    struct node_ep *fanout;
    uint32_t n_fanout;
    bool echo;
    bool quiet_paths; /* path changes counted, not written to the timeline */
    /* Traffic generator: a packet every gen_every in [gen_from, gen_until). */
    floe_time gen_every, gen_next, gen_until;
    uint32_t seq_tx;
    uint64_t rx_packets, rx_dups, rx_wrong;
    uint8_t rx_seen[NODE_EP_SEQ_MAX / 8]; /* sequence numbers received (exactly once) */
    floe_time last_rx_at;
    /* What happened (first times; NEVER when not yet). */
    floe_time established_at, failed_at;
    enum floe_node_fail_reason fail_reason;
    uint32_t established, path_changes;
    /* Path changes from settle_at on (NEVER: not counted) and the last one's kind: once a
     * roam has settled the path stays where it is while it works (a flapping path costs
     * packets), but for one move from a relayed path to the direct one. */
    floe_time settle_at;
    uint32_t late_path_changes;
    enum floe_node_path_kind late_path_kind;
    /* Recovery after a roam: first packet received after mark_at that the peer sent after
     * the mark was set (its sequence number over mark_seq: not one in flight before). */
    floe_time mark_at, recovered_at;
    uint32_t mark_seq;
    /* Its relay after the mark (node-prop's slow roams): Allocates sent, 437 answers, the
     * first success (NEVER none). */
    uint32_t allocs_tx, allocs_437;
    floe_time alloc_ok_at;
    struct node_ep_out q[NODE_EP_QUEUE];
    uint32_t q_head, q_len;
    struct floe_sim_verdict *v;
    uint8_t lane, group;
};

/* How to build a node pair. */
struct node_pair_opts {
    uint64_t seed;
    floe_sim_write_fn transcript;
    void *transcript_user;
    enum floe__scen_nat nat[2];      /* client, gateway */
    enum floe__scen_nat roam_nat;    /* the network the client roams to */
    enum floe__scen_nat gw_roam_nat; /* the gateway's; FLOE__SCEN_NAT_KINDS: none */
    floe_time latency;               /* one way host to core: 25 ms */
    floe_time jitter;                /* 5 ms */
    double loss;                     /* 1 % */
    floe_time sig_delay;             /* signalling one way */
    bool relay;                      /* a TURN relay on the public network */
    bool late_client_hosts;          /* the client's addresses and relays come later (race) */
    bool no_connect;                 /* no connection upserted: the caller's portal does it */
    floe_time nat_timeout;           /* the NATs' mapping timeout; 0: 120 s (the default) */
    struct floe_sim_verdict *v;
    uint8_t lane, group;
};

struct node_pair {
    struct floe_sim *sim;
    struct floe_sim_relay_server *relay;
    uint32_t relay_host;
    struct node_sig sig;
    struct node_ep ep[2];
    uint32_t inet, roam_net, gw_roam_net;
    uint32_t home_net[2]; /* where each host started */
    struct floe_addr home_ip[2];
    struct floe_addr relay_addr, roam_ip, gw_roam_ip;
    floe_time nat_timeout; /* node_pair_opts.nat_timeout */
};

/* The signalling channel with room for n messages in flight. 0 or FLOE_ERR_NOMEM. */
int node_sig_init(struct node_sig *s, struct floe_sim *sim, floe_time delay, uint32_t n);
void node_sig_free(struct node_sig *s);
/*
 * Start endpoint e (name, cid, peer or fanout set by the caller): a node from cfg on a new
 * host at ip on net, bound to the node port, with that address as its host candidate.
 */
int node_ep_start(struct node_ep *e, struct floe_sim *sim, struct node_sig *sig, uint32_t net,
                  const struct floe_addr *ip, const struct floe_node_config *cfg);
/* Drain e's events (candidates to the signalling channel). */
void node_ep_events(struct node_ep *e, floe_time now);

/* Latency 25 ms, jitter 5 ms, loss 1 %, signalling 50 ms, a relay, client EIM/APDF NAT,
 * gateway EIM/ADF NAT, roam network behind an EIM/APDF NAT. */
void node_pair_opts_default(struct node_pair_opts *o, const struct floe_sim_scenario_opts *so);
/* Build the topology and both nodes; the connection is upserted on both sides. */
int node_pair_setup(struct node_pair *p, const struct node_pair_opts *o);
void node_pair_free(struct node_pair *p);
/* Give the client its addresses and relays now (after late_client_hosts). */
int node_pair_client_hosts(struct node_pair *p);
/* Both endpoints send a packet every `every` from now until `until`. */
void node_pair_traffic(struct node_pair *p, floe_time every, floe_time until);
/* Restart the relay: its state (allocations, permissions, channels) is lost; same address. */
int node_pair_relay_restart(struct node_pair *p);
/* Signalling down (candidates held) or up again (held ones flushed in order). */
void node_pair_signal(struct node_pair *p, bool down);
/* Both established (once) and data arrived both ways. */
bool node_pair_up(const struct node_pair *p);

/* Scenarios. */
int floe__scen_node_roam_race(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v);
int floe__scen_node_roam(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v);
int floe__scen_node_gateway_roam(const struct floe_sim_scenario_opts *so,
                                 struct floe_sim_verdict *v);
int floe__scen_node_both_roam(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v);
int floe__scen_node_relayed_symmetric(const struct floe_sim_scenario_opts *so,
                                      struct floe_sim_verdict *v);
int floe__scen_node_loss(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v);
int floe__scen_node_idle_roam(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v);
int floe__scen_node_relay_restart(const struct floe_sim_scenario_opts *so,
                                  struct floe_sim_verdict *v);
int floe__scen_node_scale(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v);
int floe__scen_node_prop(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v);
int floe__scen_node_prop_links(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v);
int floe__scen_node_setup(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v);
int floe__scen_node_signal_outage(const struct floe_sim_scenario_opts *so,
                                  struct floe_sim_verdict *v);
int floe__scen_node_recheck(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v);

#endif
