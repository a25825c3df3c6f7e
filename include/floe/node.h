/*
 * floe node: the connection manager that a Client and a Gateway each own one of (DESIGN.md
 * section 2, "node"). It turns "IP packets in, datagrams out" into connections that survive
 * what the network does: a set of TURN relays (one floe_turn client each), connections keyed
 * by the caller's id (one floe_ice agent and one WireGuard peer each, on one floe_wg device),
 * and one UDP socket per address family, demultiplexed without a scan per packet.
 *
 * Driving pattern (DESIGN.md section 2): after floe_node_decapsulate, floe_node_encapsulate,
 * floe_node_handle_timeout or any command, drain floe_node_poll_transmit until it returns 0
 * (send each datagram from the socket of transmit.local to transmit.to), drain
 * floe_node_poll_event until it returns 0 (forward candidates to the peer through the
 * signalling channel), then re-arm the timer from floe_node_poll_timeout. The node never
 * opens a socket, never reads a clock and draws randomness from the rng hook only.
 *
 * Liveness (the one rule): the WireGuard session is the single authority; ICE only chooses
 * the path. A connection is established when a WireGuard handshake completes on a path;
 * ICE "disconnected" starts the grace period and never fails a connection by itself. A
 * connection fails only when (a) no remote candidate arrived within candidate_timeout of its
 * creation and no authenticated WireGuard packet either (a peer reached through a
 * peer-reflexive address alone is not failed), or (b) no authenticated WireGuard packet
 * arrived for wg_liveness_timeout while it had remote candidates to try. Both limits are in
 * the table below. Both sides send a WireGuard keepalive after FLOE_NODE_KEEPALIVE_S without
 * sending anything, so each side's liveness sees the other's packets. Only the Client
 * initiates handshakes (as soon as it has a path); a Gateway hands nothing to WireGuard
 * before a session exists, so two initiations never cross.
 *
 * Setup. A new connection of the Client does not wait for ICE to check and nominate a pair: as
 * soon as the peer announces a relayed address on a relay this connection uses (the same
 * relayed IP as ours), its path is relay-relay through that relay and the handshake initiation
 * goes at once (every node holds a permission for its relay's own relayed IP from the
 * allocation on, so a peer on the same relay reaches it from the first datagram; the
 * initiation does not wait for the relay's answer to that permission: it follows the
 * CreatePermission on the same 5-tuple, and only a relay that refused the permission is left
 * out). A relayed address the peer announced before this side's relay was allocated counts
 * once it is. Until the handshake is answered, a newer relayed address of the peer on the same
 * relay replaces the first (the first came from the portal's copy of the peer's candidates,
 * floe_node_local_candidates, and the peer allocated again since). Without a relay in common,
 * the path is the way the peer's first authenticated ICE check came. Either way the answer
 * is back one round trip later, and ICE's selected pair replaces that path when it comes (a
 * direct one is the usual upgrade).
 *
 * Early initiations. The signalling layer may tell the Client about a connection before the
 * Gateway (an optimistic portal answer), so the Client's handshake initiation can arrive before
 * the Gateway added the Client with floe_node_conn_upsert; WireGuard knows no such static key.
 * Any node keeps such an initiation (FLOE_NODE_EARLY_SLOTS of them, fixed storage, the oldest
 * out; each with the socket or relay it came through; at most FLOE_NODE_EARLY_KEEP) and, when
 * floe_node_conn_upsert creates a connection with that key, processes it again at once, newest
 * first: the answer goes out right after the upsert instead of after the Client's retry
 * REKEY_TIMEOUT (5 s) later. Only initiations whose MACs WireGuard accepted are kept (mac1, and
 * under load mac2, else a cookie reply as always), and the replay goes through every WireGuard
 * check again (cookie, rate limit, timestamp: a kept initiation replayed twice, or an older one
 * of the same key, is a timestamp replay and dropped). A kept initiation costs a copy on top of
 * what WireGuard already spent on it; a flood of them only pushes older ones out. A relayed one
 * whose relay or relayed address changed, and all of them at floe_node_reset, are forgotten.
 * Counted in floe_node_stats (early_*); a kept initiation is not counted as dropped.
 *
 * Paths. Data goes on the pair ICE nominated; an authenticated WireGuard packet that arrives
 * on another path moves the sending path there (WireGuard roaming: the peer follows the
 * sender), so a peer that roamed is followed at once without waiting for ICE; a path that
 * followed the peer onto a relay goes back to ICE's selected pair when that pair is direct and
 * answers a check (with a keepalive, so the peer follows too). Only the newest packet the peer
 * sent moves the path (a data message's counter above all received in its session; handshake
 * messages always): one sent before the peer moved, late on the slower path, does not. When
 * this node moves onto ICE's selected pair, the peer's data on other paths is not followed for
 * 1 s or until the peer's data arrives on that pair (it followed); a handshake message, a
 * withdrawn remote candidate or a reset of this node end that hold. So a working nominated
 * path is kept: it does not flap between direct and relayed. Relayed paths
 * go through this node's relays (TURN Send/ChannelData) or to the peer's relayed address.
 * When the peer withdraws a candidate (it roamed), the peer-reflexive candidates learned
 * from it are dropped too, so ICE cannot stay on a stale selection. When a direct pair's checks
 * succeed after a relayed pair was selected, ICE nominates the direct pair (floe's re-selection
 * rule, ice.h) and both sides move their data to it; what is in flight on the relayed path still
 * arrives, so nothing is lost in the switch. Direct pairs whose checks all failed are not given
 * up while the connection is relayed: ICE re-checks them on both sides, 5 s after the relayed
 * selection and then at a wait doubling to 60 s (ice.h, recheck_*), so a direct path that
 * starts working later (UDP between the peers blocked for a while) carries the data within
 * about one such wait, without an ICE restart. A relayed path that heard
 * nothing authenticated for two keepalive intervals sends its relay a Refresh (at most once
 * per such interval): a relay that restarted and lost the allocation answers 437 and the
 * allocation is made again, instead of data vanishing until a refresh minutes later.
 *
 * Roaming: floe_node_reset keeps every WireGuard session and key, invalidates the local
 * candidates (events; the local peer-reflexive ones ICE learned go silently), re-allocates on every
 * relay with the same credentials and forgets the host addresses (the caller adds the new ones with
 * floe_node_add_host). A direct path whose local address is gone sends from the new address as soon
 * as it is added (with a keepalive, so the peer follows at once); otherwise the old path is used
 * until a new one carries an authenticated packet (make-before-break). The first relay allocation
 * after a reset carries data at once: unless an authenticated packet arrived since the reset or ICE
 * chose a pair, a WireGuard keepalive goes through it to each of the peer's candidates (the peer
 * follows the first that arrives and answers on that path; this side follows the answer), without
 * waiting for ICE checks. TURN requests retransmit after relay_rto, or after the RTO of the
 * relay's measured RTT once it answered (FLOE_NODE_RELAY_RTO_MIN). When the path changes while
 * the Client's handshake initiation waits for its answer, a fresh initiation goes on the new path
 * at once (floe_wg_peer_resend_initiation), not REKEY_TIMEOUT (5 s) after the lost one. The side
 * that did not roam: once the peer withdrew a candidate and until an authenticated packet comes
 * from it again, each candidate the peer announces gets a WireGuard keepalive from the socket at
 * once (the peer follows it), without waiting for ICE to reach that pair.
 */
#ifndef FLOE_NODE_H
#define FLOE_NODE_H

#include "floe/core.h"
#include "floe/ice.h"
#include "floe/ice_sdp.h"
#include "floe/turn.h"
#include "floe/wg.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * ------------------------------------------------------------- liveness and timer table
 * name                              default  source
 * FLOE_NODE_CANDIDATE_TIMEOUT       10 s     Firezone: no remote candidate after start fails
 * FLOE_NODE_WG_LIVENESS_TIMEOUT     90 s     WireGuard paper REKEY_ATTEMPT_TIME: no
 *                                            authenticated packet while every path was tried
 * FLOE_NODE_ICE_GRACE               2 s      Firezone #9793: ICE disconnected grace period;
 *                                            its end is counted (grace_expired), never fatal
 * FLOE_NODE_IDLE_AFTER              20 s     Firezone: no application packet makes it idle:
 *                                            slower keepalives and ICE (FLOE_ICE_PROFILE_IDLE:
 *                                            consent every 15 s, slower checks) until a packet
 * FLOE_NODE_KEEPALIVE_S             5 s      keepalive after this long without sending, both
 *                                            sides (liveness has authenticated packets to see)
 * FLOE_NODE_KEEPALIVE_IDLE_S        25 s     the same while idle (NAT bindings of 30 s
 *                                            survive; Firezone's idle profile)
 * FLOE_NODE_RELAY_RTO               250 ms   first retransmission of a TURN request (x1.5,
 *                                            given up after 8 s as in DESIGN.md): after a
 *                                            reset one lost Allocate costs 250 ms, not 1 s
 * FLOE_NODE_RELAY_RTO_MIN           50 ms    once the relay answered, the RTO follows its
 *                                            measured RTT (SRTT + 4 RTTVAR, RFC 8489 6.2.1)
 *                                            between this and relay_rto: a request lost
 *                                            after a roam costs about one RTT more
 */
#define FLOE_NODE_CANDIDATE_TIMEOUT FLOE_SEC(10)
#define FLOE_NODE_WG_LIVENESS_TIMEOUT FLOE_WG_REKEY_ATTEMPT_TIME
#define FLOE_NODE_ICE_GRACE FLOE_SEC(2)
#define FLOE_NODE_IDLE_AFTER FLOE_SEC(20)
#define FLOE_NODE_KEEPALIVE_S 5
#define FLOE_NODE_KEEPALIVE_IDLE_S 25
#define FLOE_NODE_RELAY_RTO FLOE_MS(250)
#define FLOE_NODE_RELAY_RTO_MIN FLOE_MS(50)
/* Early initiations (see above): how many are kept and for how long. */
#define FLOE_NODE_EARLY_SLOTS 8
#define FLOE_NODE_EARLY_KEEP FLOE_SEC(2)

/* Capacities and their bounds (floe_node_new refuses values outside). */
#define FLOE_NODE_MAX_CONNECTIONS_LIMIT 65536
#define FLOE_NODE_MAX_RELAYS_LIMIT 32
#define FLOE_NODE_MAX_HOSTS 8
#define FLOE_NODE_MAX_EVENTS_LIMIT 65536
/* A buffer of this size fits every datagram floe_node_poll_transmit writes. */
#define FLOE_NODE_TRANSMIT_MAX 2400

/* The node's role: Client (ICE controlling, WireGuard initiator) or Gateway (controlled). */
enum floe_node_role {
    FLOE_NODE_CLIENT = 0,
    FLOE_NODE_GATEWAY = 1,
};

struct floe_node_config {
    enum floe_node_role role;
    uint8_t private_key[FLOE_WG_KEY_LEN]; /* the node's WireGuard static key; copied */
    struct floe_allocator alloc;
    struct floe_log log;
    struct floe_rng rng;              /* required: ICE credentials, WireGuard, TURN txids */
    struct floe_wg_parallel parallel; /* the caller's workers for the batch verbs */
    uint32_t max_connections;         /* 1..FLOE_NODE_MAX_CONNECTIONS_LIMIT (default 1024) */
    uint32_t max_relays;              /* 1..FLOE_NODE_MAX_RELAYS_LIMIT (default 8) */
    uint32_t relays_per_connection;   /* relays whose candidates a connection gets (2) */
    uint32_t max_events; /* events queued (older kept, newer counted); 0: 16 per connection */
    floe_time candidate_timeout;   /* liveness (a); >= 1 s */
    floe_time wg_liveness_timeout; /* liveness (b); >= 10 s */
    floe_time ice_grace;           /* ICE disconnected grace; > 0 */
    floe_time idle_after;          /* idle profile after this long without packets; > 0 */
    floe_time relay_rto; /* first TURN retransmission and re-allocation delay; 10 ms..1 s */
};

/* Fill cfg with the defaults above (client, no key, no rng). */
void floe_node_config_default(struct floe_node_config *cfg);

/* The node. Opaque; one node belongs to one thread. */
struct floe_node;

/*
 * Create a node from cfg (copied; the private key may be wiped by the caller after).
 * Returns 0 and sets *out, FLOE_ERR_INVALID_ARG (NULL, no rng, a capacity or timer out of
 * its bounds), FLOE_ERR_NOMEM or FLOE_ERR_CRYPTO.
 */
FLOE_WARN_UNUSED int floe_node_new(struct floe_node **out, const struct floe_node_config *cfg,
                                   floe_time now);
/* Free the node, its relays and connections (NULL allowed); keys are wiped. Sends nothing. */
void floe_node_free(struct floe_node *node);
/* The node's WireGuard public key into pub. */
void floe_node_public_key(const struct floe_node *node, uint8_t pub[FLOE_WG_KEY_LEN]);

/* ------------------------------------------------------------------ local addresses */

/*
 * Add a local socket address (the address a socket of the caller is bound to, as seen on
 * the interface): a host candidate for every connection, and the socket relays of its
 * family are reached from. The first address of a family is that family's socket.
 * Returns 0 (also when already present), FLOE_ERR_INVALID_ARG (NULL, no family, port 0) or
 * FLOE_ERR_NOMEM (FLOE_NODE_MAX_HOSTS reached).
 */
int floe_node_add_host(struct floe_node *node, floe_time now, const struct floe_addr *local);

/* --------------------------------------------------------------------------- relays */

/*
 * Add a TURN relay with its REST credentials (strings copied), or replace the credentials
 * of the relay at that server address. An allocation starts at once; its server-reflexive
 * and relayed addresses become candidates of the connections that use the relay. New
 * credentials for a relay with a live allocation are kept for its next allocation (that one
 * goes on under the username it was made with: floe_turn_set_credentials). A relay is never
 * given up: a lost allocation is made again with backoff, and one whose credentials were
 * refused is asked again after 1 s, doubling up to 60 s, or at once when new credentials come
 * (FLOE_NODE_EV_NO_RELAYS meanwhile when no relay is left).
 * Returns 0, FLOE_ERR_INVALID_ARG (NULL, no family, credentials empty or too long),
 * FLOE_ERR_ADDR_FAMILY (no host address of the server's family yet) or FLOE_ERR_NOMEM
 * (max_relays reached).
 */
int floe_node_relay_add(struct floe_node *node, floe_time now, const struct floe_addr *server,
                        const char *username, const char *password);
/*
 * Remove the relay at server: its candidates are invalidated on every connection (events)
 * and its allocation deleted; connections move to other paths without losing the session.
 * FLOE_NODE_EV_NO_RELAYS follows when no relay is left. Returns 0, FLOE_ERR_INVALID_ARG or
 * FLOE_ERR_NOT_FOUND.
 */
int floe_node_relay_remove(struct floe_node *node, floe_time now, const struct floe_addr *server);

/*
 * The node's own candidates as a new connection would get them now (RFC 8839 strings with
 * the same foundations and priorities): its host addresses, then the server-reflexive and
 * relayed addresses of the relays_per_connection allocated relays with the lowest RTT.
 * Writes at most max into out; returns how many. A gateway announces them to its portal
 * (docs/protocol.md, gateway_ice_candidates), which hands them to a client with its answer,
 * so the client's handshake can leave before the gateway's per-connection candidates come.
 */
size_t floe_node_local_candidates(const struct floe_node *node,
                                  char (*out)[FLOE_ICE_CANDIDATE_STR_MAX], size_t max);
/* A number that changes whenever floe_node_local_candidates may answer differently. */
uint64_t floe_node_local_candidates_version(const struct floe_node *node);

/* ---------------------------------------------------------------------- connections */

/* What the signalling layer tells both sides about a connection. */
struct floe_node_conn_config {
    uint8_t public_key[FLOE_WG_KEY_LEN]; /* the peer's WireGuard static key */
    bool has_psk;
    uint8_t psk[FLOE_WG_KEY_LEN];              /* the preshared key when has_psk */
    char remote_ufrag[FLOE_ICE_UFRAG_MAX + 1]; /* the peer's ICE credentials (NUL-terminated) */
    char remote_pwd[FLOE_ICE_PWD_MAX + 1];
    /* This side's ICE credentials as the signalling layer gave them (ufrag 4..64 and pwd
     * 22..64 ice-chars, unique per node); both empty: the agent makes its own. */
    char local_ufrag[FLOE_ICE_UFRAG_MAX + 1];
    char local_pwd[FLOE_ICE_PWD_MAX + 1];
};

/*
 * Create connection cid to a peer, or update it. The local ICE credentials are cfg's
 * local_ufrag and local_pwd when given (the portal hands both sides both sides'
 * credentials), else the agent's own (floe_node_conn_local_credentials), sent to the peer
 * by the caller. On an existing connection: the same key and credentials change nothing;
 * new remote ICE credentials mean the peer restarted ICE (remote candidates dropped, the
 * session kept); new local ones restart ICE on this side once they were used (remote
 * candidates dropped, the session kept); a new public key replaces the connection (closed
 * without a goodbye, then created afresh).
 * The node's host and relay candidates are offered at once (FLOE_NODE_EV_CANDIDATE_NEW).
 * Returns 0, FLOE_ERR_INVALID_ARG (NULL, empty or over-long remote credentials, local ones
 * given but not ice-chars of RFC 8445 lengths or one given without the other, a local ufrag
 * another connection has, the node's own key), FLOE_ERR_WEAK_KEY, FLOE_ERR_NOMEM
 * (max_connections reached) or FLOE_ERR_CRYPTO.
 */
int floe_node_conn_upsert(struct floe_node *node, floe_time now, uint64_t cid,
                          const struct floe_node_conn_config *cfg);
/*
 * The local ICE credentials of cid; owned by the node, valid until the connection is
 * removed or upserted with a new key. Returns 0, FLOE_ERR_INVALID_ARG or FLOE_ERR_NOT_FOUND.
 */
int floe_node_conn_local_credentials(const struct floe_node *node, uint64_t cid, const char **ufrag,
                                     const char **pwd);
/*
 * Add a remote candidate from signalling as an RFC 8839 `candidate:` string.
 * Returns 0, FLOE_ERR_INVALID_ARG, FLOE_ERR_NOT_FOUND (no such connection), the parser's
 * errors (floe_ice_candidate_parse; the string is dropped and counted) or FLOE_ERR_NOMEM.
 */
int floe_node_conn_add_remote_candidate(struct floe_node *node, floe_time now, uint64_t cid,
                                        const char *candidate);
/* Invalidate a remote candidate the peer withdrew. Returns as above, or FLOE_ERR_NOT_FOUND. */
int floe_node_conn_remove_remote_candidate(struct floe_node *node, floe_time now, uint64_t cid,
                                           const char *candidate);
/*
 * Close cid with a goodbye: an authenticated STUN Binding indication (the connectivity
 * checks' USERNAME and MESSAGE-INTEGRITY, plus floe's GOODBYE attribute 0xC0F1) goes out on
 * the connection's path, the connection is removed and FLOE_NODE_EV_CLOSED follows; the
 * peer's node verifies the goodbye and closes its side at once (FLOE_NODE_EV_CLOSED there).
 * Returns 0, FLOE_ERR_INVALID_ARG or FLOE_ERR_NOT_FOUND.
 */
int floe_node_conn_close(struct floe_node *node, floe_time now, uint64_t cid);
/* Forget cid at once: no goodbye, no event. Returns 0, INVALID_ARG or NOT_FOUND. */
int floe_node_conn_remove(struct floe_node *node, floe_time now, uint64_t cid);

/* ------------------------------------------------------------------------- roaming */

/*
 * The network changed: keep every WireGuard session and key, invalidate every local
 * candidate (events), forget the host addresses (add the new ones with floe_node_add_host),
 * re-allocate on every relay with the same credentials. Connections keep their old path
 * until a new one carries data. Returns 0 or FLOE_ERR_INVALID_ARG.
 */
int floe_node_reset(struct floe_node *node, floe_time now);

/* ------------------------------------------------------------------------ data path */

/* Where a datagram goes: from the socket bound to `local`, to `to`. */
struct floe_node_transmit {
    struct floe_addr local;
    struct floe_addr to;
    size_t len;
};

/* Bytes floe_node_encapsulate may add to an IP packet: padding, WireGuard, TURN framing. */
#define FLOE_NODE_OVERHEAD (15 + FLOE_WG_DATA_OVERHEAD + FLOE_TURN_SEND_OVERHEAD)

/*
 * Encrypt the IP packet pkt[0..len) for connection cid into out[0..cap) (cap at least
 * len + FLOE_NODE_OVERHEAD). *tr gets the socket and destination:
 * directly to the peer, or framed for one of this node's relays.
 * Returns the datagram length (> 0); 0 when the packet was queued behind a handshake or a
 * TURN permission, or dropped and counted (no path yet); FLOE_ERR_INVALID_ARG;
 * FLOE_ERR_NOT_FOUND (no such connection); FLOE_ERR_BUFFER_TOO_SMALL.
 */
FLOE_WARN_UNUSED long floe_node_encapsulate(struct floe_node *node, floe_time now, uint64_t cid,
                                            const uint8_t *pkt, size_t len, uint8_t *out,
                                            size_t cap, struct floe_node_transmit *tr);

enum floe_node_input {
    FLOE_NODE_INPUT_CONSUMED = 0, /* STUN, TURN, ICE check, handshake: nothing for the caller */
    FLOE_NODE_INPUT_DATA = 1,     /* out[0..*len) is an IP packet from connection *cid */
    FLOE_NODE_INPUT_DROPPED = 2,  /* not for anything here, or bad: dropped and counted */
};

/*
 * Process one datagram that arrived at socket `local` from `from`. STUN from relays, TURN
 * ChannelData and Data indications (whose payload is an ICE check or WireGuard), direct
 * ICE checks (found by ufrag, responses by transaction id) and WireGuard (by receiver index,
 * initiations by public key) are told apart without a scan. out needs len bytes.
 * Returns an enum floe_node_input value (DATA sets *cid and *out_len), FLOE_ERR_INVALID_ARG
 * or FLOE_ERR_BUFFER_TOO_SMALL (nothing consumed).
 */
FLOE_WARN_UNUSED int floe_node_decapsulate(struct floe_node *node, floe_time now,
                                           const struct floe_addr *local,
                                           const struct floe_addr *from, const uint8_t *dgram,
                                           size_t len, uint8_t *out, size_t cap, uint64_t *cid,
                                           size_t *out_len);

/* One packet of floe_node_encapsulate_batch: in cid, pkt, len, out, cap; out n, tr. */
struct floe_node_encap {
    uint64_t cid;
    const uint8_t *pkt;
    size_t len;
    uint8_t *out;
    size_t cap;
    long n; /* what floe_node_encapsulate returns */
    struct floe_node_transmit tr;
};

/*
 * floe_node_encapsulate for items[0..n), with the encryption spread over cfg.parallel's
 * workers (floe_wg_encapsulate_batch); send the datagrams in item order. cap must be at
 * least len + FLOE_NODE_OVERHEAD; pkt must not overlap out. The datagram of an item is
 * written at item.out (TURN framing moves it in place), never past cap.
 * Returns 0 or FLOE_ERR_INVALID_ARG (NULL node, NULL items with n > 0).
 */
FLOE_WARN_UNUSED int floe_node_encapsulate_batch(struct floe_node *node, floe_time now,
                                                 struct floe_node_encap *items, size_t n);

/* One datagram of floe_node_decapsulate_batch: in local, from, dgram, len, out, cap. */
struct floe_node_decap {
    struct floe_addr local;
    struct floe_addr from;
    const uint8_t *dgram;
    size_t len;
    uint8_t *out;
    size_t cap;
    int rc;         /* what floe_node_decapsulate returns */
    uint64_t cid;   /* FLOE_NODE_INPUT_DATA: the connection */
    size_t out_len; /* FLOE_NODE_INPUT_DATA: the packet's length */
};

/*
 * floe_node_decapsulate for items[0..n): WireGuard data messages are decrypted in parallel
 * (floe_wg_decapsulate_batch), everything else one by one in item order.
 * Returns 0 or FLOE_ERR_INVALID_ARG.
 */
FLOE_WARN_UNUSED int floe_node_decapsulate_batch(struct floe_node *node, floe_time now,
                                                 struct floe_node_decap *items, size_t n);

/* --------------------------------------------------------------------------- driving */

/* Fire what is due at or before now (relays, ICE, WireGuard, liveness). */
void floe_node_handle_timeout(struct floe_node *node, floe_time now);
/* The next deadline for floe_node_handle_timeout; FLOE_TIME_NEVER when none. */
floe_time floe_node_poll_timeout(const struct floe_node *node);
/*
 * Write the next datagram to send into buf[0..cap) and where it goes into *tr.
 * Returns 1, 0 (nothing to send), FLOE_ERR_INVALID_ARG or FLOE_ERR_BUFFER_TOO_SMALL (the
 * datagram stays due; FLOE_NODE_TRANSMIT_MAX always suffices).
 */
int floe_node_poll_transmit(struct floe_node *node, floe_time now, uint8_t *buf, size_t cap,
                            struct floe_node_transmit *tr);

/* ---------------------------------------------------------------------------- events */

/* How the connection's data travels. "Client" and "gateway" read as this side and the peer. */
enum floe_node_path_kind {
    FLOE_NODE_PATH_NONE = 0,     /* no path: nothing can be sent */
    FLOE_NODE_PATH_DIRECT,       /* socket to socket (host or server-reflexive) */
    FLOE_NODE_PATH_LOCAL_RELAY,  /* through this node's relay to the peer's own address */
    FLOE_NODE_PATH_REMOTE_RELAY, /* from this node's socket to the peer's relayed address */
    FLOE_NODE_PATH_RELAY_RELAY,  /* through this node's relay to the peer's relayed address */
};

/* Why a connection failed. */
enum floe_node_fail_reason {
    FLOE_NODE_FAIL_NO_CANDIDATES = 1, /* liveness (a) */
    FLOE_NODE_FAIL_WG_TIMEOUT,        /* liveness (b) */
};

enum floe_node_event_type {
    FLOE_NODE_EV_CANDIDATE_NEW = 1,     /* u.candidate: a local candidate to signal */
    FLOE_NODE_EV_CANDIDATE_INVALIDATED, /* u.candidate: a local candidate withdrawn */
    FLOE_NODE_EV_ESTABLISHED,           /* WireGuard session up on a path (once) */
    FLOE_NODE_EV_PATH_CHANGED,          /* u.path: the path data is sent on changed */
    FLOE_NODE_EV_FAILED,                /* u.reason; the connection is removed */
    FLOE_NODE_EV_CLOSED,                /* closed here, or the peer said goodbye; removed */
    FLOE_NODE_EV_NO_RELAYS,             /* no relay has an allocation (cid 0) */
};

/* A path: from local (a socket, or a relayed address when via_relay) to remote. */
struct floe_node_path {
    enum floe_node_path_kind kind;
    struct floe_addr local;
    struct floe_addr remote;
    struct floe_addr relay; /* this node's relay server when via a local relay */
};

/* An event, copied out by floe_node_poll_event. */
struct floe_node_event {
    enum floe_node_event_type type;
    uint64_t cid;
    union {
        char candidate[FLOE_ICE_CANDIDATE_STR_MAX];
        struct floe_node_path path;
        enum floe_node_fail_reason reason;
    } u;
};

/* Take the oldest event into *ev. Returns 1, 0 when none, FLOE_ERR_INVALID_ARG. */
int floe_node_poll_event(struct floe_node *node, struct floe_node_event *ev);
/* "candidate_new", ... ; "unknown" outside the enum. */
const char *floe_node_event_name(enum floe_node_event_type type);
/* "none", "direct", "local-relay", "remote-relay", "relay-relay"; "unknown" otherwise. */
const char *floe_node_path_kind_name(enum floe_node_path_kind kind);

/* ------------------------------------------------------------------------- counters */

struct floe_node_conn_stats {
    uint64_t tx_packets, tx_bytes; /* IP packets encapsulated and their bytes */
    uint64_t rx_packets, rx_bytes; /* IP packets decapsulated and their bytes */
    uint64_t path_changes;
    uint64_t grace_expired; /* ICE disconnected grace periods that ran out (never fatal) */
    bool established;
    bool idle;
    enum floe_ice_state ice_state;
    struct floe_node_path path; /* the current path */
    floe_time rtt;       /* RTT of the last handshake this side started (Client); 0 unknown */
    uint64_t handshakes; /* WireGuard handshakes completed (1 while the first session lives) */
    uint64_t ice_consent_sent; /* ICE consent requests sent (every 15 s while idle, not 5 s) */
};

/* The counters of cid into *out. Returns 0, FLOE_ERR_INVALID_ARG or FLOE_ERR_NOT_FOUND. */
int floe_node_conn_stats(const struct floe_node *node, uint64_t cid,
                         struct floe_node_conn_stats *out);

struct floe_node_stats {
    uint64_t dropped;           /* datagrams dropped, every reason */
    uint64_t dropped_malformed; /* neither STUN, ChannelData nor WireGuard, or undecodable */
    uint64_t dropped_unknown;   /* STUN for no known ufrag or transaction */
    uint64_t dropped_no_path;   /* packets and datagrams with no path to send on */
    uint64_t bad_candidates;    /* remote candidate strings that did not parse */
    uint64_t events_lost;       /* events over max_events */
    uint64_t early_kept;        /* initiations from an unknown key kept (early initiations) */
    uint64_t early_replayed;    /* kept ones processed again after their connection's upsert */
    uint64_t early_expired;     /* kept ones forgotten: too old, path gone, floe_node_reset */
    uint64_t early_evicted;     /* kept ones pushed out by a newer one (all slots in use) */
    uint32_t n_connections;
    uint32_t n_relays;
};

/* The node's counters into *out (both non-NULL). */
void floe_node_stats(const struct floe_node *node, struct floe_node_stats *out);

/*
 * Say whether the node is under load (floe_wg_set_under_load): handshake messages without
 * a valid MAC2 are answered with a cookie reply and dropped. A cookie reply goes back the
 * way the handshake message came, through the relay for a relayed peer. NULL is ignored.
 */
void floe_node_set_under_load(struct floe_node *node, bool under_load);

#ifdef __cplusplus
}
#endif

#endif
