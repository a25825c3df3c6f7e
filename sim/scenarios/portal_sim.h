/*
 * The portal protocol in the simulator (issue #12): the real sans-IO protocol client
 * (floe/portal.h) on the Client and the Gateway of a node pair, a simulated portal that
 * speaks the server side with the same code (floe_wsconn in the server role and the message
 * codec of floe/portal.h), and between them a small reliable byte stream over the simulated
 * network, standing in for TCP:
 *
 *   - segments are datagrams [flags u8][stream id u32][seq u32][ack u32][payload]; SYN,
 *     SYN|ACK, data with ACK, RST; go-back-N retransmission with a doubling RTO;
 *   - a SYN answered by RST is a refused connection; a SYN unanswered after
 *     PSTREAM_SYN_TRIES tries, or data unacknowledged for PSTREAM_BREAK, breaks the stream;
 *   - a roam of the host breaks the streams bound to the old address (as an OS drops the
 *     sockets of an address that went away).
 *
 * Plain ws:// (no TLS): OpenSSL draws the TLS randomness itself, which would make the
 * transcript differ from run to run.
 */
#ifndef FLOE_SIM_PORTAL_SIM_H
#define FLOE_SIM_PORTAL_SIM_H

#include "floe/portal.h"
#include "floe/portal_wire.h"
#include "node_ep.h"

#define PSTREAM_HDR 13
#define PSTREAM_MSS 1200
#define PSTREAM_BUF (256 * 1024)
#define PSTREAM_RTO FLOE_MS(200)
#define PSTREAM_RTO_MAX FLOE_SEC(2)
#define PSTREAM_BREAK FLOE_SEC(5)
#define PSTREAM_SYN_TRIES 3
#define PSTREAM_BURST 8 /* segments sent before waiting for an acknowledgement */

#define PSTREAM_SYN 0x01
#define PSTREAM_ACK 0x02
#define PSTREAM_RST 0x04

#define PORTAL_SIM_PORT 8080
#define PORTAL_SIM_DEV_PORT 40000
#define PORTAL_SIM_CONNS 16
#define PORTAL_SIM_RST_MAX 32
#define PORTAL_SIM_LOG 256
/*
 * Candidates held for a device that is not connected: floe-portal's policy (apps/floe-portal
 * hold.c, the PORTALD_HOLD_* limits of serve.h, docs/protocol.md section 6). With one peer per
 * device the per-device bound (1024) is never the one that binds.
 */
#define PORTAL_SIM_HOLD_TTL FLOE_SEC(120) /* PORTALD_HOLD_TTL */
#define PORTAL_SIM_HOLD_PER_PEER 64       /* PORTALD_HOLD_PER_PEER */
#define PORTAL_SIM_HELD_MAX (2 * PORTAL_SIM_HOLD_PER_PEER)

enum pstream_state {
    PSTREAM_CLOSED = 0,
    PSTREAM_SYN_SENT,
    PSTREAM_OPEN,
    PSTREAM_BROKEN, /* refused, timed out or reset: the owner reports it once */
};

/* One end of a stream. The send buffer holds the bytes from snd_una on. */
struct pstream {
    enum pstream_state state;
    bool server;
    uint32_t id;
    struct floe_addr peer;
    uint32_t snd_una, snd_nxt, rcv_nxt;
    uint8_t *sbuf; /* PSTREAM_BUF bytes */
    size_t slen;
    floe_time rto, rto_at, progress_at;
    uint32_t syn_tries;
    bool syn_due, ack_due, rst_due;
    const char *why; /* BROKEN: "refused", "timeout", "reset", "roam" */
};

/* One device connection on the simulated portal. */
struct portal_sim_conn {
    bool used, joined;
    enum floe_portal_role role;
    struct pstream st;
    struct floe_wsconn *ws;
};

/* One candidate (or invalidation) held for a device that is not connected (hold_offline). */
struct portal_sim_held {
    enum floe_portal_role to;
    bool invalidate;
    floe_time expires_at;
    char cand[FLOE_PORTAL_CANDIDATE_MAX];
};

/*
 * The simulated portal: one host, one port, the two devices it knows. With hold_offline it
 * holds the candidates for a device that is not connected as floe-portal does (one record per
 * candidate, the newest PORTAL_SIM_HOLD_PER_PEER per device, for PORTAL_SIM_HOLD_TTL; an
 * invalidation of a held candidate is held in its place; kept across the portal's outage as
 * floe-portal's database keeps them) and delivers them in order right after that device's
 * next join; without it they are dropped (counted).
 */
struct portal_sim {
    struct floe_sim *sim;
    uint32_t host, ep;
    struct floe_addr addr;
    bool down;   /* connections broken, new ones refused */
    bool silent; /* while down nothing answers (the host is gone): no resets, no refusals */
    bool hold_offline;
    struct portal_sim_held held[PORTAL_SIM_HELD_MAX]; /* oldest first */
    uint32_t n_held;
    struct floe_xoshiro rng;
    struct portal_sim_conn conns[PORTAL_SIM_CONNS];
    struct {
        uint32_t id;
        struct floe_addr to;
    } rst[PORTAL_SIM_RST_MAX]; /* pending resets: refused, unknown or dropped streams */
    uint32_t n_rst;
    struct floe_portal_msg *msg;         /* scratch */
    char *json;                          /* FLOE_PORTAL_JSON_MAX scratch */
    uint8_t key[2][FLOE_PORTAL_KEY_LEN]; /* the devices' public keys: client, gateway */
    uint8_t psk[FLOE_PORTAL_KEY_LEN];
    struct floe_portal_ice_creds ice[2];
    char create_ref[FLOE_PORTAL_ID_MAX];
    uint64_t relayed, dropped_offline, held_offline, refused, joins;
    uint64_t held_late, held_expired, held_dropped_bound, held_cancelled; /* as floe-portal's */
    struct floe_sim_verdict *v;
    uint8_t lane, group;
};

/* One candidate message as a node emitted it or as the peer's device received it. */
struct portal_sim_rec {
    floe_time at;
    bool invalidate;
    bool held; /* sent: the protocol client was not joined (it held the message) */
    char cand[FLOE_PORTAL_CANDIDATE_MAX];
};

/* A device: the node endpoint of a pair side, its protocol client and its stream. */
struct portal_sim_dev {
    struct node_pair *pair;
    struct portal_sim *portal;
    int side; /* 0 client, 1 gateway */
    struct node_ep *ne;
    struct floe_portal_client *pc;
    struct floe_xoshiro rng;
    struct pstream st;
    uint32_t ep, next_id;
    bool connected; /* floe_portal_client_connect called on the current stream */
    bool authorized;
    floe_time reconnect_at;
    floe_time authorize_at; /* client: request_authorization (again) then */
    uint32_t max_attempt, refused;
    floe_time outage_at, rejoined_at; /* the scenario's outage; the first join after it */
    uint32_t n_sent, n_recv;
    struct portal_sim_rec sent[PORTAL_SIM_LOG]; /* what the node emitted, in order */
    struct portal_sim_rec recv[PORTAL_SIM_LOG]; /* what arrived from the peer, in order */
};

/* The stream: start (client), segment input, timers, output. */
void pstream_reset(struct pstream *s);
int pstream_open(struct pstream *s, uint32_t id, const struct floe_addr *peer, floe_time now);
/* Feed one segment; new in-order payload goes to data and len (borrowed from seg). */
void pstream_input(struct pstream *s, floe_time now, const uint8_t *seg, size_t n,
                   const uint8_t **data, size_t *len);
/* Queue bytes; FLOE_ERR_BUFFER_TOO_SMALL when the buffer is full. */
int pstream_write(struct pstream *s, floe_time now, const uint8_t *b, size_t n);
void pstream_timeout(struct pstream *s, floe_time now);
floe_time pstream_next(const struct pstream *s);
/* Next segment into buf: its length, 0 when none. */
size_t pstream_output(struct pstream *s, uint8_t *buf, size_t cap);
/* A bare RST for stream id into buf (PSTREAM_HDR bytes). */
size_t pstream_rst(uint8_t *buf, uint32_t id);
/* The stream id of a segment (0 when too short). */
uint32_t pstream_seg_id(const uint8_t *seg, size_t n, uint8_t *flags);

/* The portal on host `host` at addr (port PORTAL_SIM_PORT). */
int portal_sim_start(struct portal_sim *ps, struct floe_sim *sim, uint32_t host,
                     const struct floe_addr *addr, uint64_t seed);
void portal_sim_free(struct portal_sim *ps);
/*
 * Candidates cs (invalidate: their invalidation) for the device of role `to`, which is not
 * connected: held (hold_offline) at the simulator's now, or dropped. The portal does this
 * itself; tests call it to check the policy.
 */
void portal_sim_hold(struct portal_sim *ps, enum floe_portal_role to, bool invalidate,
                     const struct floe_portal_candidates *cs);
/* Down: every connection reset, new ones refused; up: accepted again. */
void portal_sim_set_down(struct portal_sim *ps, bool down);

/* The device of pair side `side`, connecting to portal at once. */
int portal_sim_dev_start(struct portal_sim_dev *d, struct node_pair *p, struct portal_sim *portal,
                         int side, uint64_t seed);
void portal_sim_dev_free(struct portal_sim_dev *d);

/* Scenarios. */
int floe__scen_node_portal_outage(const struct floe_sim_scenario_opts *so,
                                  struct floe_sim_verdict *v);

#endif
