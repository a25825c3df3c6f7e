/* The ICE endpoint adapter's state, shared by ice_ep.c and ice_ep_io.c. */
#ifndef FLOE_SIM_ICE_EP_INT_H
#define FLOE_SIM_ICE_EP_INT_H

#include "floe/stun.h"
#include "floe/turn.h"
#include "scen_int.h"

/* Application datagrams: magic, sender id, receiver id, sequence number, padding. */
#define ICEEP_MAGIC "FLOEDATA"
#define ICEEP_MAGIC_LEN 8
#define ICEEP_DATA_LEN 64
/* Local candidates looked at when a roam invalidates those of the old address. */
#define ICEEP_MAX_LOCALS 128

/* One server-reflexive Binding transaction from one host base. */
struct iceep_gather {
    bool active;
    bool send_due;
    struct floe_addr base;
    uint8_t txid[FLOE_STUN_TXID_LEN];
    uint32_t sends;
    floe_time rto;
    floe_time next; /* next retransmission, or the give-up time after the last send */
};

struct floe_sim_ice_ep {
    struct floe_sim *sim;
    struct floe_sim_ice_ep_config cfg;
    char name[FLOE_SIM_NAME_MAX];
    uint32_t host, ep;
    bool attached, started;
    bool local_refusal_noted, remote_refusal_noted; /* the first refusal of each is noted */
    struct floe_ice_agent *agent;
    struct floe_turn *turn; /* NULL without a TURN server */
    bool turn_error_noted;  /* the first TURN error is noted, the others counted */
    struct floe_sim_signal *sig;
    uint8_t side;
    char remote_ufrag[FLOE_ICE_UFRAG_MAX + 1]; /* the peer's credentials last set; "" none */
    /*
     * Candidates go to the peer: the offerer from its offer on, the answerer
     * once the offer has arrived (it knows of no connection before).
     */
    bool trickle;
    floe_time gather_at; /* when the delayed first gathering runs; FLOE_TIME_NEVER: done */
    struct iceep_gather g[FLOE_SIM_HOST_IFACES];
    floe_time data_next;
    uint64_t data_seq;
    struct floe_sim_ice_ep_stats st;
};

/* ice_ep.c */
void floe__iceep_note(struct floe_sim_ice_ep *ep, const char *fmt, ...) FLOE_PRINTF(2, 3);
void floe__iceep_events(struct floe_sim_ice_ep *ep);
void floe__iceep_gather_ip(struct floe_sim_ice_ep *ep, const struct floe_addr *ip);
void floe__iceep_gather_all(struct floe_sim_ice_ep *ep);
void floe__iceep_add_local(struct floe_sim_ice_ep *ep, const struct floe_ice_candidate *c);
void floe__iceep_invalidate(struct floe_sim_ice_ep *ep, const struct floe_addr *old_ip);
void floe__iceep_send_cand(struct floe_sim_ice_ep *ep, enum floe__sim_sig_kind kind,
                           const struct floe_ice_candidate *c);
void floe__iceep_send_creds(struct floe_sim_ice_ep *ep, enum floe__sim_sig_kind kind);

/* ice_ep_turn.c */
int floe__iceep_turn_new(struct floe_sim_ice_ep *ep);
void floe__iceep_turn_start(struct floe_sim_ice_ep *ep);
void floe__iceep_turn_events(struct floe_sim_ice_ep *ep);
bool floe__iceep_turn_in(struct floe_sim_ice_ep *ep, floe_time now, const struct floe_addr *from,
                         const uint8_t *bytes, size_t len);
int floe__iceep_turn_out(struct floe_sim_ice_ep *ep, floe_time now, uint8_t *buf, size_t cap,
                         size_t *len, struct floe_addr *from, struct floe_addr *to);
int floe__iceep_turn_wrap(struct floe_sim_ice_ep *ep, floe_time now,
                          const struct floe_ice_path *path, const struct floe_addr *peer,
                          uint8_t *buf, size_t cap, size_t *len, struct floe_addr *from,
                          struct floe_addr *to);
void floe__iceep_data_in(struct floe_sim_ice_ep *ep, floe_time now, const uint8_t *bytes);

/* ice_ep_io.c */
/* Feed the agent one datagram, noting when it took an authenticated response. */
void floe__iceep_agent_input(struct floe_sim_ice_ep *ep, floe_time now,
                             const struct floe_ice_path *path, const struct floe_addr *from,
                             const uint8_t *bytes, size_t len);
extern const struct floe_sim_endpoint_ops floe__iceep_ops;

#endif
