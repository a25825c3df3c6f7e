/*
 * Internals of the simulator shared by its source files. Internal non-static
 * names carry a double underscore (floe__sim_*).
 */
#ifndef FLOE_SIM_INT_H
#define FLOE_SIM_INT_H

#include "floe/sim.h"

#define SIM_NONE UINT32_MAX
/* Timer firings at one instant before an endpoint is declared busy-looping. */
#define SIM_MAX_FIRES_AT_ONCE 100000u
/* Hops before a packet is declared looping (cannot happen on a valid topology). */
#define SIM_MAX_HOPS 32u

enum sim_ev_kind {
    SIM_EV_ARRIVE, /* idx = packet slot */
    SIM_EV_TIMER,  /* idx = endpoint */
    SIM_EV_ACTION, /* idx = action slot */
};

/* Where an arriving packet lands at the end of its hop. */
enum sim_target {
    SIM_TO_HOST,    /* to_idx = host, to_iface = interface */
    SIM_TO_NAT_IN,  /* to_idx = NAT, packet came from its inside network */
    SIM_TO_NAT_OUT, /* to_idx = NAT, packet came from its outside network */
    SIM_TO_CORE,    /* to_idx = destination root network */
};

struct sim_event {
    floe_time at;
    uint64_t seq;
    uint32_t idx;
    uint8_t kind;
};

struct sim_iface {
    struct floe_addr ip; /* port 0 */
    uint32_t net;
    bool dead; /* roaming: no traffic until the roam completes */
};

struct sim_host {
    char name[FLOE_SIM_NAME_MAX];
    struct sim_iface ifaces[FLOE_SIM_HOST_IFACES];
    uint32_t n_ifaces;
};

struct sim_net {
    char name[FLOE_SIM_NAME_MAX];
    struct floe_sim_link link;
    bool blackhole;
    uint32_t nat;         /* NAT whose inside this is, SIM_NONE for a root */
    uint32_t in_flight;   /* packets on this network now */
    floe_time busy_until; /* end of the last serialisation (rate_bps) */
    floe_time fifo_tail;  /* latest in-order arrival scheduled */
};

struct sim_mapping {
    struct floe_addr internal; /* X:x */
    struct floe_addr remote;   /* destination that created it (key for AD/APD) */
    struct floe_addr external; /* NAT IP : allocated port */
    floe_time expiry;          /* 0: free slot */
};

/* Outbound contact of an internal endpoint, the state filtering looks at. */
/* A contact of one mapping (RFC 4787 section 5 filters per mapping). */
struct sim_session {
    struct floe_addr internal, external, remote;
    floe_time expiry; /* 0: free slot */
};

struct sim_nat {
    char name[FLOE_SIM_NAME_MAX];
    struct floe_sim_nat_config cfg;
    uint32_t inside, outside;
    struct floe_addr ext_ip; /* port 0 */
    struct sim_mapping *maps;
    struct sim_session *sessions;
};

struct sim_ep {
    char name[FLOE_SIM_NAME_MAX];
    const struct floe_sim_endpoint_ops *ops;
    void *obj;
    uint32_t host;
    struct floe_addr bind; /* family NONE: every interface */
    bool active;
    floe_time timer_at;
    uint32_t heap_pos; /* SIM_NONE when no timer is armed */
    floe_time fires_time;
    uint32_t fires_count;
};

struct sim_pkt {
    uint64_t id;
    struct floe_addr src, dst; /* as they are on the current hop */
    uint32_t len, net, hops;
    uint32_t to_idx, to_iface;
    uint8_t to_kind; /* enum sim_target */
    uint8_t *data;   /* max_datagram bytes in the pool */
};

enum sim_action_kind {
    SIM_ACT_FREE,
    SIM_ACT_CALL,
    SIM_ACT_ROAM,
};

struct sim_action {
    uint8_t kind;
    floe_sim_action_fn fn;
    void *user;
    uint32_t host, iface, net;
    struct floe_addr ip;
};

struct floe_sim {
    struct floe_sim_config cfg;
    struct floe_xoshiro rng;
    floe_time now;
    uint64_t seq, next_pkt_id;
    struct floe_sim_counters counters;

    struct sim_host *hosts;
    uint32_t n_hosts;
    struct sim_net *nets;
    uint32_t n_nets;
    struct sim_nat *nats;
    uint32_t n_nats;
    struct sim_ep *eps;
    uint32_t n_eps;

    struct sim_pkt *pkts;
    uint8_t *pkt_data;
    uint32_t *pkt_free; /* stack of free packet slots */
    uint32_t n_pkt_free;

    struct sim_action *actions;

    struct sim_event *heap;
    uint32_t heap_len, heap_cap;

    uint8_t *txbuf; /* max_datagram bytes for poll_transmit */

    struct floe_addr blocks[FLOE_SIM_BLOCKS][2]; /* floe_sim_block: ip pairs, port 0 */
    uint32_t n_blocks;
};

/* sim.c: event queue */
int floe__sim_push(struct floe_sim *sim, floe_time at, uint8_t kind, uint32_t idx);
void floe__sim_ep_arm(struct floe_sim *sim, uint32_t ep, floe_time at);
uint64_t floe__sim_rand(struct floe_sim *sim);
uint64_t floe__sim_rand_below(struct floe_sim *sim, uint64_t n);
bool floe__sim_chance(struct floe_sim *sim, double p);
void floe__sim_name(char dst[FLOE_SIM_NAME_MAX], const char *src);

/* net.c: packets, links, routing, hosts */
struct sim_pkt *floe__sim_pkt_alloc(struct floe_sim *sim);
void floe__sim_pkt_free(struct floe_sim *sim, struct sim_pkt *pkt);
void floe__sim_drop(struct floe_sim *sim, struct sim_pkt *pkt, enum floe_sim_drop reason);
void floe__sim_send(struct floe_sim *sim, struct sim_pkt *pkt, uint32_t net);
void floe__sim_send_local(struct floe_sim *sim, struct sim_pkt *pkt, uint32_t net, uint32_t host,
                          uint32_t iface);
int floe__sim_arrive(struct floe_sim *sim, uint32_t slot);
int floe__sim_roam_finish(struct floe_sim *sim, struct sim_action *act);
bool floe__sim_ip_in_use(const struct floe_sim *sim, uint32_t net, const struct floe_addr *ip);

/* nat.c */
void floe__sim_nat_from_inside(struct floe_sim *sim, struct sim_pkt *pkt);
void floe__sim_nat_from_outside(struct floe_sim *sim, struct sim_pkt *pkt);

/* endpoint.c */
int floe__sim_drive(struct floe_sim *sim, uint32_t ep);
void floe__sim_deliver(struct floe_sim *sim, struct sim_pkt *pkt, uint32_t host);
int floe__sim_timer_fire(struct floe_sim *sim, uint32_t ep);
void floe__sim_host_roamed(struct floe_sim *sim, uint32_t host, const struct floe_addr *old_ip,
                           const struct floe_addr *new_ip);

/* transcript.c: one JSON line built field by field */
struct sim_line {
    char buf[640];
    size_t len;
    bool overflow;
};

bool floe__sim_line_begin(struct floe_sim *sim, struct sim_line *l, const char *ev);
void floe__sim_line_str(struct sim_line *l, const char *key, const char *val);
void floe__sim_line_u64(struct sim_line *l, const char *key, uint64_t val);
void floe__sim_line_addr(struct sim_line *l, const char *key, const struct floe_addr *a);
void floe__sim_line_ip(struct sim_line *l, const char *key, const struct floe_addr *a);
void floe__sim_line_bool(struct sim_line *l, const char *key, bool val);
void floe__sim_line_end(struct floe_sim *sim, struct sim_line *l);
void floe__sim_log_pkt(struct floe_sim *sim, const char *ev, const struct sim_pkt *pkt,
                       const char *who_key, const char *who);

#endif
