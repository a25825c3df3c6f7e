/*
 * The node's private types: relays, connections, the hashed indexes, the timer heap and
 * the event ring (include/floe/node.h is the contract).
 */
#ifndef FLOE_NODE_INT_H
#define FLOE_NODE_INT_H

#include <string.h>

#include "floe/node.h"
#include "floe/stun.h"
#include "floe/turn.h"

#include "core/heap_int.h"
#include "core/map_int.h"

#define NODE_NONE UINT32_MAX
/* A cache line: connections start on one (the table is aligned to it, the struct padded). */
#define NODE_LINE 64
/* A relay that refused the credentials is asked again after 1 s, doubling up to 60 s. */
#define NODE_RELAY_RETRY_MIN FLOE_SEC(1)
#define NODE_RELAY_RETRY_MAX FLOE_SEC(60)
/* Recent ICE check transaction ids remembered to route responses (direct-mapped): 64 per
 * connection, between 256 and 16384 slots. */
#define NODE_TXID_MIN 256
#define NODE_TXID_MAX 16384
/*
 * A connection's ICE agent: events held between two drains (one call's worth is a handful;
 * a reset's removal of learned candidates a few per candidate), and pairs (a host or two, two
 * relays and their reflexive addresses on each side form a few dozen).
 */
#define NODE_ICE_EVENTS 32
#define NODE_ICE_PAIRS 64
/* After this node moves onto ICE's selected pair, the peer's packets on other paths are not
 * followed until one comes on that pair (the peer followed) or this long has passed (it cannot
 * reach us there). Its packets sent before it followed arrive after the move, the relayed ones
 * last, and would move this side back to the path it just left. */
#define NODE_PATH_HOLD FLOE_SEC(1)
/* Remote candidates read back from an agent to classify a path. */
#define NODE_REMOTE_MAX 32
/* One-off datagrams (goodbyes) waiting for poll_transmit. */
#define NODE_OUT_SLOTS 16
#define NODE_OUT_MAX 512
/*
 * The goodbye (floe_node_conn_close): a STUN Binding indication on the connection's path
 * with the connectivity checks' USERNAME and MESSAGE-INTEGRITY (the peer's ICE password)
 * and this comprehension-optional attribute (floe's own, from the private range).
 */
#define NODE_ATTR_GOODBYE 0xC0F1

struct node_out {
    struct floe_node_transmit tr;
    uint8_t buf[NODE_OUT_MAX];
};

/*
 * Handshake messages that came through a relay, newest over oldest: WireGuard names no peer
 * for a cookie reply, so its destination is looked up here and the reply goes back through
 * that relay (sent from the socket, the relay's peer would never see it).
 */
#define NODE_COOKIE_ROUTES 16
struct node_cookie_route {
    struct floe_addr peer; /* the sender as the relay saw it (the WireGuard `from`) */
    uint32_t relay;        /* index in relays */
    bool used;
};

/*
 * Early initiations (node.h): WireGuard initiations from a static key no connection has yet,
 * newest over oldest, each with the way it came, kept this long for the connection that the
 * signalling layer is about to add.
 */
#define NODE_EARLY_SLOTS FLOE_NODE_EARLY_SLOTS
#define NODE_EARLY_KEEP FLOE_NODE_EARLY_KEEP
struct node_early {
    bool used;
    floe_time at;              /* when it arrived */
    struct floe_ice_path path; /* the socket, or the relay it came through */
    struct floe_addr from;
    uint8_t key[FLOE_WG_KEY_LEN]; /* the initiator's static key */
    uint8_t msg[FLOE_WG_INITIATION_LEN];
};

/* Packets of a batch handed to the WireGuard batch verbs at once. */
#define NODE_BATCH 64

struct node_relay {
    bool used;
    struct floe_addr server;
    struct floe_addr local; /* the socket that talks to the server */
    struct floe_turn *turn;
    struct floe_addr relayed;   /* current relayed address; family NONE without one */
    struct floe_addr reflexive; /* current server-reflexive address */
    floe_time started;          /* when the allocation was asked for */
    floe_time rtt;              /* time the allocation took; 0 not measured */
    floe_time probe_at;         /* no silence-driven Refresh before this */
    floe_time retry_at;         /* credentials refused: Allocate again then; 0 none */
    floe_time retry_wait;       /* the last such wait (doubles, NODE_RELAY_RETRY_MIN..MAX) */
    bool self_refused; /* the relay refused a permission for its own relayed IP (this alloc) */
};

/*
 * A connection. The fields every timer wakeup of the connection reads (floe__node_conn_deadline,
 * floe__node_conn_timeout, the dirty list) come first, in the struct's first line, then what
 * the data path reads (id, peer, the packet counters), then established and idle: a wakeup
 * among 10,000 cold connections misses on two lines of this struct, not on one per field.
 */
struct node_conn {
    _Alignas(NODE_LINE) bool used;
    bool dirty;
    bool keepalive_due; /* a keepalive goes out from poll_transmit */
    uint32_t dirty_next;
    struct floe_ice_agent *ice;
    floe_time created;
    floe_time first_remote; /* first remote candidate; NEVER none yet */
    floe_time last_auth;    /* last authenticated WireGuard packet */
    floe_time last_app;     /* last application packet either way */
    floe_time grace_since;  /* ICE disconnected since; NEVER otherwise */
    floe_time last_tx;      /* last WireGuard datagram sent */
    uint64_t id;            /* with peer and the packet counters: what the data path reads */
    struct floe_wg_peer *peer;
    struct floe_node_conn_stats st;
    uint32_t relay_mask;  /* relays whose candidates this connection has */
    uint32_t rx_index;    /* receiver index of the newest data message from the peer */
    uint64_t rx_newest;   /* its counter: older messages (late on a slower path) lead nowhere */
    floe_time hs_at;      /* a handshake this node started (RTT); 0 none */
    floe_time reset_at;   /* the last floe_node_reset */
    floe_time peer_moved; /* the peer last withdrew a candidate (it reset); 0 never */
    floe_time hold_until; /* the path is ICE's choice: kept until then (NODE_PATH_HOLD) */
    bool relay_first;     /* since it, no path chosen: the first allocation carries data */
    uint8_t public_key[FLOE_WG_KEY_LEN];
    char ufrag[FLOE_ICE_UFRAG_MAX + 1]; /* the local ufrag, key of by_ufrag */
    char remote_ufrag[FLOE_ICE_UFRAG_MAX + 1];
    char remote_pwd[FLOE_ICE_PWD_MAX + 1];
};

struct node_txid {
    uint8_t txid[FLOE_STUN_TXID_LEN];
    uint64_t cid;
    bool used;
};

struct floe_node {
    struct floe_node_config cfg;
    struct floe_wg *wg;
    struct floe_addr hosts[FLOE_NODE_MAX_HOSTS];
    uint32_t n_hosts;
    struct node_relay relays[FLOE_NODE_MAX_RELAYS_LIMIT];
    uint32_t relay_end; /* 1 + the highest relay slot ever used */
    bool no_relays_told;
    uint64_t cands_version;  /* changes with the node's own candidates (floe_node_local_...) */
    struct node_conn *conns; /* in conns_mem, aligned to NODE_LINE */
    void *conns_mem;
    uint32_t n_conns;
    uint32_t *free_conns; /* stack of unused connection slots: no scan to create one */
    uint32_t n_free;
    struct floe__map by_id;
    struct floe__map by_ufrag;
    struct floe__map by_server; /* relays[] index by their server address (relay.c) */
    struct node_txid *txids;
    uint32_t txid_mask;
    struct floe__heap timers;        /* connections by deadline (slot indexes), keys inline */
    uint32_t dirty_head, dirty_tail; /* connections whose agent may have datagrams */
    struct node_cookie_route cookie_routes[NODE_COOKIE_ROUTES];
    uint32_t cookie_next;
    struct node_early early[NODE_EARLY_SLOTS];
    uint32_t early_next, early_len; /* the slot taken next; slots used */
    struct node_out out[NODE_OUT_SLOTS];
    uint32_t out_head, out_len;
    struct floe_node_event *events;
    uint32_t ev_head, ev_len;
    struct floe_node_stats st;
    struct floe_wg_encap *batch_enc;
    uint64_t *batch_cid;
    uint64_t conn_visits; /* connections looked at by handle_timeout and poll_transmit (tests) */
    uint64_t relay_ports; /* bit (port & 63) of every relay server: most datagrams skip by_server */
    uint32_t hot_slot;    /* the connection encapsulate found last (checked by id), or NODE_NONE */
};

/* floe_addr_eq without the call: it runs on every datagram. */
static inline bool floe__node_addr_eq(const struct floe_addr *a, const struct floe_addr *b)
{
    return a->port == b->port && a->family == b->family &&
           memcmp(a->ip, b->ip, a->family == FLOE_AF_INET ? 4 : 16) == 0;
}

/* node.c */
void floe__node_event(struct floe_node *n, enum floe_node_event_type type, uint64_t cid);
struct floe_node_event *floe__node_event_push(struct floe_node *n, enum floe_node_event_type type,
                                              uint64_t cid);
void floe__node_schedule(struct floe_node *n, struct node_conn *c);
void floe__node_heap_remove(struct floe_node *n, struct node_conn *c);
void floe__node_mark_dirty(struct floe_node *n, struct node_conn *c);

/* relay.c */
struct node_relay *floe__node_relay_by_server(struct floe_node *n, const struct floe_addr *a);
void floe__node_relay_events(struct floe_node *n, struct node_relay *r, floe_time now);
int floe__node_relays_poll(struct floe_node *n, floe_time now, uint8_t *buf, size_t cap,
                           struct floe_node_transmit *tr);
void floe__node_relays_timeout(struct floe_node *n, floe_time now);
void floe__node_relays_rebind(struct floe_node *n, const struct floe_addr *local);
floe_time floe__node_relays_deadline(const struct floe_node *n);
void floe__node_conn_pick_relays(struct floe_node *n, struct node_conn *c, floe_time now);
void floe__node_relay_silence(struct floe_node *n, const struct floe_addr *server, floe_time now,
                              floe_time interval);

/* conn.c */
struct node_conn *floe__node_conn_find(const struct floe_node *n, uint64_t cid);
struct node_conn *floe__node_conn_by_ufrag(const struct floe_node *n, const char *ufrag,
                                           size_t len);
/* cand's foundation and priority, as every local candidate of a connection gets them. */
void floe__node_cand_prepare(struct floe_ice_candidate *cand);
void floe__node_conn_add_local(struct floe_node *n, struct node_conn *c, floe_time now,
                               const struct floe_ice_candidate *cand);
void floe__node_conn_remove_local(struct floe_node *n, struct node_conn *c, floe_time now,
                                  const struct floe_ice_candidate *cand);
void floe__node_conn_after_ice(struct floe_node *n, struct node_conn *c, floe_time now);
void floe__node_conn_back_to_selected(struct floe_node *n, struct node_conn *c, floe_time now,
                                      const struct floe_ice_path *path,
                                      const struct floe_addr *from);
void floe__node_conn_timeout(struct floe_node *n, struct node_conn *c, floe_time now);
void floe__node_conn_activity(struct floe_node *n, struct node_conn *c, floe_time now);
void floe__node_conn_keepalive(struct floe_node *n, struct node_conn *c);
bool floe__node_conn_can_send(struct floe_node *n, const struct node_conn *c, floe_time now);
int floe__node_conn_poll_keepalive(struct floe_node *n, struct node_conn *c, floe_time now,
                                   uint8_t *buf, size_t cap, struct floe_node_transmit *tr);
floe_time floe__node_conn_deadline(const struct floe_node *n, const struct node_conn *c);
void floe__node_conn_destroy(struct floe_node *n, struct node_conn *c);
void floe__node_relay_candidate(struct floe_node *n, struct node_relay *r, floe_time now,
                                const struct floe_ice_candidate *cand, bool add);

/* data.c */
int floe__node_data_inner(struct floe_node *n, floe_time now, const struct floe_ice_path *path,
                          const struct floe_addr *from, const uint8_t *buf, size_t len,
                          uint8_t *out, size_t cap, uint64_t *cid, size_t *out_len);

/* early.c */
bool floe__node_early_keep(struct floe_node *n, floe_time now, const struct floe_ice_path *path,
                           const struct floe_addr *from, struct floe_span msg,
                           const struct floe_wg_result *res);
void floe__node_early_replay(struct floe_node *n, floe_time now,
                             const uint8_t key[FLOE_WG_KEY_LEN]);
void floe__node_early_sweep(struct floe_node *n, floe_time now, bool all);

/* goodbye.c */
void floe__node_goodbye_send(struct floe_node *n, struct node_conn *c, floe_time now);
bool floe__node_goodbye_input(struct floe_node *n, struct node_conn *c,
                              const struct floe_stun_msg *msg);
int floe__node_out_poll(struct floe_node *n, uint8_t *buf, size_t cap,
                        struct floe_node_transmit *tr);

/* path.c */
void floe__node_path_follow(struct floe_node *n, struct node_conn *c, floe_time now,
                            const struct floe_ice_path *path, const struct floe_addr *from,
                            const uint8_t *dgram, size_t len);
void floe__node_path_rebind(struct floe_node *n, struct node_conn *c, floe_time now,
                            const struct floe_addr *local);
void floe__node_path_relay_first(struct floe_node *n, struct node_conn *c, floe_time now,
                                 const struct node_relay *r);
void floe__node_path_probe_remote(struct floe_node *n, struct node_conn *c, floe_time now,
                                  const struct floe_ice_candidate *cand);
void floe__node_path_checked(struct floe_node *n, struct node_conn *c, floe_time now,
                             const struct floe_ice_path *ip, const struct floe_addr *from);
/* floe__node_path_same_relay for each relayed candidate c's peer announced so far. */
void floe__node_path_same_relay_any(struct floe_node *n, struct node_conn *c, floe_time now);
void floe__node_path_same_relay(struct floe_node *n, struct node_conn *c, floe_time now,
                                const struct floe_ice_candidate *cand);
void floe__node_path_set(struct floe_node *n, struct node_conn *c, floe_time now,
                         const struct floe_node_path *p);
void floe__node_path_choose(struct floe_node *n, struct node_conn *c, floe_time now,
                            const struct floe_node_path *p);
void floe__node_wg_events(struct floe_node *n, floe_time now);
long floe__node_frame(struct floe_node *n, struct node_conn *c, floe_time now, uint8_t *buf,
                      size_t len, size_t cap, struct floe_node_transmit *tr);
void floe__node_txid_remember(struct floe_node *n, const uint8_t *dgram, size_t len, uint64_t cid);
struct node_conn *floe__node_txid_find(const struct floe_node *n, const uint8_t *txid);

#endif
