/*
 * Internals of the ICE scenarios: the signalling channel's hooks into the ICE
 * endpoint, the two-peer topology every scenario builds on, and the NAT kinds
 * with the oracle saying where a direct path exists.
 */
#ifndef FLOE_SIM_SCEN_INT_H
#define FLOE_SIM_SCEN_INT_H

#include "floe/sim_ice.h"

/* ------------------------------------------------------------ signalling */

enum floe__sim_sig_kind {
    FLOE__SIM_SIG_ADD = 0, /* a trickled candidate */
    FLOE__SIM_SIG_REMOVE,  /* a candidate invalidated by a roam */
    FLOE__SIM_SIG_OFFER,   /* ICE credentials of a connection intent (new ones: a restart) */
    FLOE__SIM_SIG_ANSWER,  /* ICE credentials answering an offer */
};

/* One signalling message: a candidate (ADD, REMOVE) or credentials (OFFER, ANSWER). */
struct floe__sim_sig_body {
    struct floe_ice_candidate cand;
    char ufrag[FLOE_ICE_UFRAG_MAX + 1];
    char pwd[FLOE_ICE_PWD_MAX + 1];
};

void floe__sim_signal_attach(struct floe_sim_signal *sig, struct floe_sim_ice_ep *a,
                             struct floe_sim_ice_ep *b);
/* Queue a message from side from_side to the other side. 0 or FLOE_ERR_NOMEM / action error. */
int floe__sim_signal_send(struct floe_sim_signal *sig, uint8_t from_side,
                          enum floe__sim_sig_kind kind, const struct floe__sim_sig_body *body);
/* A signalling message arrived at ep (called by the channel). */
void floe__sim_ice_ep_signal_in(struct floe_sim_ice_ep *ep, enum floe__sim_sig_kind kind,
                                const struct floe__sim_sig_body *body);

/* ------------------------------------------------------------- NAT kinds */

/* The NAT kinds of the matrix: RFC 4787 mapping / filtering behaviour, or none. */
enum floe__scen_nat {
    FLOE__SCEN_NAT_NONE = 0,
    FLOE__SCEN_EIM_EIF,   /* "full cone" */
    FLOE__SCEN_EIM_ADF,   /* "restricted cone" */
    FLOE__SCEN_EIM_APDF,  /* "port-restricted cone" */
    FLOE__SCEN_ADM_ADF,   /* address-dependent mapping and filtering */
    FLOE__SCEN_ADM_APDF,  /* address-dependent mapping, port-restricted */
    FLOE__SCEN_APDM_APDF, /* "symmetric" */
    FLOE__SCEN_NAT_KINDS
};

const char *floe__scen_nat_name(enum floe__scen_nat kind);
/* The simulator NAT of a kind; timeout, when not 0, is its mapping timeout. */
void floe__scen_nat_config(enum floe__scen_nat kind, floe_time timeout,
                           struct floe_sim_nat_config *c);
/*
 * Whether host, server-reflexive and peer-reflexive candidates can form a
 * working direct path between peers behind NATs of kinds a and b (each behind
 * its own NAT on the public network): RFC 4787 section 4 and 5 reasoning in
 * sc_nat.c.
 */
bool floe__scen_direct_possible(enum floe__scen_nat a, enum floe__scen_nat b);

/* -------------------------------------------------------------- topology */

#define FLOE__SCEN_CLIENT 0
#define FLOE__SCEN_GATEWAY 1

/* How to build a two-peer run; fill with floe__scen_opts_default. */
struct floe__scen_opts {
    uint64_t seed;
    floe_sim_write_fn transcript;
    void *transcript_user;
    floe_sim_check_fn check; /* invariant hook, NULL: none */
    void *check_user;
    floe_time latency; /* one-way latency of every network */
    floe_time jitter;  /* extra delay in [0, jitter] on every network */
    double reorder;    /* reordering probability of every network */
    double loss;       /* loss of the public network */
    double lan_loss;   /* loss of every other network (the LANs) */
    floe_time sig_delay, sig_jitter;
    enum floe__scen_nat nat[2];
    floe_time nat_timeout[2];     /* binding timeout of each peer's NAT */
    enum floe__scen_nat roam_nat; /* FLOE__SCEN_NAT_KINDS: no network to roam to */
    floe_time roam_nat_timeout;
    bool relay; /* a TURN relay on the public network (floe__scen_opts_relay) */
    struct floe_relay_config relay_cfg;
    struct floe_sim_ice_ep_config ep[2];
};

/* The two peers and everything around them. */
struct floe__scen_pair {
    struct floe_sim *sim;
    struct floe_sim_stun_server stun;
    struct floe_sim_relay_server *relay; /* NULL without o->relay */
    struct floe_sim_signal *sig;
    struct floe_sim_ice_ep *ep[2];
    uint32_t host[2], lan[2], inet, roam_net;
    struct floe_addr roam_ip;
};

/*
 * Client (controlling, client profile, id 1) on side 0 and Gateway
 * (controlled, gateway profile, id 2) on side 1, both with the STUN server,
 * ICE at its real timers (consent every 5 s, 30 s timeout). The network is
 * not kind (issue 10): every network 10 ms with 5 ms jitter, 1 % reordering
 * and 1 % loss; signalling 20 ms with 10 ms jitter (in order); the
 * gateway's NAT and the roam NAT drop bindings after 30 s idle (many home
 * routers), the client's after 120 s (RFC 4787 REQ-5); no NAT, no roam
 * network until set.
 */
void floe__scen_opts_default(struct floe__scen_opts *o, const struct floe_sim_scenario_opts *so);
/*
 * Put a TURN relay at 203.0.113.2:3478 on the public network (the simulator's
 * relay defaults, peer policy untouched) and give it to both endpoints.
 */
void floe__scen_opts_relay(struct floe__scen_opts *o);
/* Let timeline, lane and group of both endpoints point at v. */
void floe__scen_opts_timeline(struct floe__scen_opts *o, struct floe_sim_verdict *v, uint8_t lane,
                              uint8_t group);
/* Build the topology and both endpoints, paired and started. 0 or a negative error. */
int floe__scen_pair_setup(struct floe__scen_pair *p, const struct floe__scen_opts *o);
void floe__scen_pair_free(struct floe__scen_pair *p);
/*
 * Run until both endpoints are up (selected pair and data from the peer) or
 * until limit. Returns 1 when up, 0 when not, or a step error.
 */
int floe__scen_run_until_up(struct floe__scen_pair *p, floe_time limit);
/* Setup failure: set the verdict's reason and return rc. */
int floe__scen_setup_failed(struct floe_sim_verdict *v, const char *what, int rc);

/* ------------------------------------------------------------- scenarios */

int floe__scen_nat_matrix(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v);
int floe__scen_nat_matrix_relay(const struct floe_sim_scenario_opts *so,
                                struct floe_sim_verdict *v);
int floe__scen_relay_only(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v);
int floe__scen_roam_race(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v);
int floe__scen_consent_loss(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v);
int floe__scen_roam_mid_session(const struct floe_sim_scenario_opts *so,
                                struct floe_sim_verdict *v);
int floe__scen_role_conflict(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v);
int floe__scen_property(const struct floe_sim_scenario_opts *so, struct floe_sim_verdict *v);

#endif
