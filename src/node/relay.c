/*
 * The node's relays: one floe_turn client per TURN server, their candidates handed to the
 * connections that use them, re-allocation on reset, and the "no relays" event.
 */
#include <string.h>

#include "node/node_int.h"

/* The key of a server address in n->by_server: its family, port and significant bytes. */
static uint64_t relay_key(const struct floe_addr *a)
{
    uint8_t k[3 + 16];
    size_t ip = a->family == FLOE_AF_INET ? 4 : 16;

    k[0] = a->family;
    k[1] = (uint8_t)(a->port >> 8);
    k[2] = (uint8_t)a->port;
    memcpy(k + 3, a->ip, ip);
    return floe__map_hash(k, 3 + ip);
}

/* The port filter of the relays in by_server, after one came or went. */
static void relay_ports_update(struct floe_node *n)
{
    uint32_t i;

    n->relay_ports = 0;
    for (i = 0; i < FLOE_NODE_MAX_RELAYS_LIMIT; i++) {
        if (n->relays[i].used)
            n->relay_ports |= 1ull << (n->relays[i].server.port & 63);
    }
}

/* The relay serving from a, by hash: every datagram asks, so no slot is compared in turn, and
 * a datagram from a port no relay has (a peer's WireGuard, mostly) is not even hashed. */
struct node_relay *floe__node_relay_by_server(struct floe_node *n, const struct floe_addr *a)
{
    uint32_t slot;
    struct node_relay *r;

    if (!((n->relay_ports >> (a->port & 63)) & 1))
        return NULL;
    slot = floe__map_get(&n->by_server, relay_key(a));
    if (slot == NODE_NONE)
        return NULL;
    r = &n->relays[slot];
    return r->used && floe_addr_eq(&r->server, a) ? r : NULL;
}

static bool relay_any_allocated(const struct floe_node *n)
{
    uint32_t i;

    for (i = 0; i < FLOE_NODE_MAX_RELAYS_LIMIT; i++) {
        if (n->relays[i].used && n->relays[i].relayed.family != FLOE_AF_NONE)
            return true;
    }
    return false;
}

/* Say once that no relay is usable, after a loss or a removal left none. */
static void relay_check_none(struct floe_node *n)
{
    if (relay_any_allocated(n)) {
        n->no_relays_told = false;
        return;
    }
    if (!n->no_relays_told) {
        n->no_relays_told = true;
        floe__node_event(n, FLOE_NODE_EV_NO_RELAYS, 0);
    }
}

static void relay_candidate_event(struct floe_node *n, struct node_relay *r, floe_time now,
                                  const struct floe_turn_event *ev, bool add)
{
    struct floe_ice_candidate cand;

    memset(&cand, 0, sizeof(cand));
    cand.addr = ev->addr;
    cand.server = r->server;
    if (ev->cand == FLOE_TURN_CAND_RELAYED) {
        cand.type = FLOE_ICE_RELAY;
        cand.base = ev->addr;
        r->relayed = add ? ev->addr : (struct floe_addr){0};
        r->self_refused = false;
        if (add && r->rtt == 0)
            r->rtt = now > r->started ? now - r->started : 1;
        /* A peer allocated on this relay (its relayed IP is ours) reaches us from its first
         * datagram, before we learn its candidates (floe__node_path_same_relay). */
        if (add)
            (void)floe_turn_permit(r->turn, now, &ev->addr);
    } else {
        cand.type = FLOE_ICE_SRFLX;
        cand.base = r->local;
        r->reflexive = add ? ev->addr : (struct floe_addr){0};
    }
    floe__node_relay_candidate(n, r, now, &cand, add);
}

/*
 * A TURN client that had its credentials refused waits for its caller (FLOE_TURN_FAILED). The
 * node never gives a relay up: a relay restarted with its secret not yet in place, or
 * credentials about to be replaced, get another Allocate after a doubling wait (or at once
 * when floe_node_relay_add brings new credentials); "no relays" is an event, not an end.
 */
static void relay_retry_arm(struct node_relay *r, floe_time now)
{
    enum floe_turn_state st = floe_turn_get_state(r->turn);

    if (st == FLOE_TURN_ALLOCATED)
        r->retry_wait = 0;
    if (st != FLOE_TURN_FAILED || !r->used) {
        r->retry_at = 0;
        return;
    }
    if (r->retry_at)
        return;
    r->retry_wait = r->retry_wait ? floe_time_min(r->retry_wait * 2, NODE_RELAY_RETRY_MAX)
                                  : NODE_RELAY_RETRY_MIN;
    r->retry_at = floe_time_add(now, r->retry_wait);
}

/* Allocate again on r now (its retry is due, or new credentials came). */
static void relay_retry(struct floe_node *n, struct node_relay *r, floe_time now)
{
    r->retry_at = 0;
    r->started = now;
    r->rtt = 0;
    if (floe_turn_allocate(r->turn, now) == 0)
        floe__node_relay_events(n, r, now);
}

void floe__node_relay_events(struct floe_node *n, struct node_relay *r, floe_time now)
{
    struct floe_turn_event ev;
    bool lost = false;

    while (floe_turn_poll_event(r->turn, &ev) == 1) {
        if (!r->used)
            continue;
        if (ev.kind == FLOE_TURN_EV_CANDIDATE_NEW)
            relay_candidate_event(n, r, now, &ev, true);
        else if (ev.kind == FLOE_TURN_EV_CANDIDATE_INVALIDATED)
            relay_candidate_event(n, r, now, &ev, false);
        else if (ev.kind == FLOE_TURN_EV_ALLOCATION_LOST)
            lost = true;
        else if (ev.kind == FLOE_TURN_EV_ERROR && ev.method == FLOE_STUN_CREATE_PERMISSION &&
                 r->relayed.family != FLOE_AF_NONE && floe_addr_ip_eq(&ev.addr, &r->relayed))
            r->self_refused = true; /* no relaying between its allocations: ICE's paths */
    }
    if (lost || r->relayed.family != FLOE_AF_NONE)
        relay_check_none(n);
    relay_retry_arm(r, now);
}

static int relay_start(struct floe_node *n, struct node_relay *r, floe_time now,
                       const char *username, const char *password)
{
    struct floe_turn_config tc;
    int rc;

    floe_turn_config_default(&tc);
    tc.alloc = n->cfg.alloc;
    tc.log = n->cfg.log;
    tc.rng = n->cfg.rng;
    tc.server = r->server;
    tc.username = username;
    tc.password = password;
    tc.software = "floe";
    tc.max_peers = n->cfg.max_connections * 4u > 4096u ? 4096u : n->cfg.max_connections * 4u;
    /* A roam wants the relay back within the recovery budget: a lost request costs relay_rto,
     * and a refused Allocate (437 after a return to a network whose NAT gives the same
     * mapping: the stale allocation is deleted first) is tried again after relay_rto. */
    tc.txn.initial_rto = n->cfg.relay_rto;
    tc.backoff_min = n->cfg.relay_rto;
    /* Once the relay answered, its measured RTT sets the RTO (bounded by relay_rto). */
    tc.rto_min = floe_time_min(FLOE_NODE_RELAY_RTO_MIN, n->cfg.relay_rto);
    rc = floe_turn_new(&r->turn, &tc);
    if (rc)
        return rc;
    r->started = now;
    rc = floe_turn_allocate(r->turn, now);
    floe__node_relay_events(n, r, now);
    return rc;
}

static const struct floe_addr *node_socket_for(const struct floe_node *n, uint8_t family)
{
    uint32_t i;

    for (i = 0; i < n->n_hosts; i++) {
        if (n->hosts[i].family == family)
            return &n->hosts[i];
    }
    return NULL;
}

static struct node_relay *relay_free_slot(struct floe_node *n)
{
    uint32_t i, used = 0;

    for (i = 0; i < FLOE_NODE_MAX_RELAYS_LIMIT; i++)
        used += n->relays[i].used ? 1u : 0u;
    if (used >= n->cfg.max_relays)
        return NULL;
    for (i = 0; i < FLOE_NODE_MAX_RELAYS_LIMIT; i++) {
        if (!n->relays[i].used && !n->relays[i].turn) {
            if (n->relay_end < i + 1) /* the per-wakeup loops stop at the last slot used */
                n->relay_end = i + 1;
            return &n->relays[i];
        }
    }
    return NULL;
}

int floe_node_relay_add(struct floe_node *n, floe_time now, const struct floe_addr *server,
                        const char *username, const char *password)
{
    const struct floe_addr *sock;
    struct node_relay *r;
    int rc;

    if (!n || !server || server->family == FLOE_AF_NONE || !username || !password || !*username ||
        !*password)
        return FLOE_ERR_INVALID_ARG;
    r = floe__node_relay_by_server(n, server);
    if (r) {
        rc = floe_turn_set_credentials(r->turn, username, password);
        if (rc == 0 && floe_turn_get_state(r->turn) == FLOE_TURN_FAILED)
            relay_retry(n, r, now);
        return rc;
    }
    sock = node_socket_for(n, server->family);
    if (!sock)
        return FLOE_ERR_ADDR_FAMILY;
    r = relay_free_slot(n);
    if (!r)
        return FLOE_ERR_NOMEM;
    memset(r, 0, sizeof(*r));
    r->server = *server;
    r->local = *sock;
    r->used = true;
    rc = relay_start(n, r, now, username, password);
    if (rc) {
        floe_turn_free(r->turn);
        memset(r, 0, sizeof(*r));
        return rc;
    }
    floe__map_put(&n->by_server, relay_key(server), (uint32_t)(r - n->relays));
    relay_ports_update(n);
    return 0;
}

/* Withdraw r's candidates from every connection using it; they pick another relay. */
static void relay_withdraw(struct floe_node *n, struct node_relay *r, floe_time now)
{
    struct floe_turn_event ev;

    memset(&ev, 0, sizeof(ev));
    if (r->relayed.family != FLOE_AF_NONE) {
        ev.cand = FLOE_TURN_CAND_RELAYED;
        ev.addr = r->relayed;
        relay_candidate_event(n, r, now, &ev, false);
    }
    if (r->reflexive.family != FLOE_AF_NONE) {
        ev.cand = FLOE_TURN_CAND_SERVER_REFLEXIVE;
        ev.addr = r->reflexive;
        relay_candidate_event(n, r, now, &ev, false);
    }
}

int floe_node_relay_remove(struct floe_node *n, floe_time now, const struct floe_addr *server)
{
    struct node_relay *r;
    uint32_t i, bit;

    if (!n || !server)
        return FLOE_ERR_INVALID_ARG;
    r = floe__node_relay_by_server(n, server);
    if (!r)
        return FLOE_ERR_NOT_FOUND;
    relay_withdraw(n, r, now);
    r->used = false; /* the client stays until its deallocation is answered or times out */
    floe__map_del(&n->by_server, relay_key(server));
    relay_ports_update(n);
    bit = 1u << (uint32_t)(r - n->relays);
    if (floe_turn_close(r->turn, now) != 0 || floe_turn_get_state(r->turn) == FLOE_TURN_IDLE) {
        floe_turn_free(r->turn);
        r->turn = NULL;
    }
    for (i = 0; i < n->cfg.max_connections; i++) {
        struct node_conn *c = &n->conns[i];

        if (c->used && (c->relay_mask & bit)) {
            c->relay_mask &= ~bit;
            floe__node_conn_pick_relays(n, c, now);
        }
    }
    relay_check_none(n);
    return 0;
}

int floe__node_relays_poll(struct floe_node *n, floe_time now, uint8_t *buf, size_t cap,
                           struct floe_node_transmit *tr)
{
    uint32_t i;

    for (i = 0; i < n->relay_end; i++) {
        struct node_relay *r = &n->relays[i];
        long len;

        if (!r->turn)
            continue;
        len = floe_turn_poll_transmit(r->turn, now, buf, cap, &tr->to);
        if (len > 0) {
            tr->local = r->local;
            tr->len = (size_t)len;
            return 1;
        }
    }
    return 0;
}

void floe__node_relays_timeout(struct floe_node *n, floe_time now)
{
    uint32_t i;

    for (i = 0; i < n->relay_end; i++) {
        struct node_relay *r = &n->relays[i];

        if (r->turn && r->retry_at && now >= r->retry_at)
            relay_retry(n, r, now);
        if (!r->turn || floe_turn_poll_timeout(r->turn) > now)
            continue;
        floe_turn_handle_timeout(r->turn, now);
        floe__node_relay_events(n, r, now);
        if (!r->used && floe_turn_get_state(r->turn) == FLOE_TURN_IDLE) {
            floe_turn_free(r->turn);
            r->turn = NULL;
        }
    }
}

/*
 * A relay that lost our allocation (it restarted) says nothing: ChannelData and Send
 * indications to it vanish, and the next request that would meet its 437 (a permission or
 * allocation refresh) may be minutes away, past the WireGuard liveness limit. A connection
 * whose relayed path heard nothing authenticated for a while asks with a Refresh, at most
 * once per interval per relay: a live relay answers it, a restarted one answers 437 and the
 * allocation is made again at once.
 */
void floe__node_relay_silence(struct floe_node *n, const struct floe_addr *server, floe_time now,
                              floe_time interval)
{
    struct node_relay *r = floe__node_relay_by_server(n, server);

    if (!r || !r->turn || now < r->probe_at)
        return;
    r->probe_at = floe_time_add(now, interval);
    if (floe_turn_refresh(r->turn, now) == 0)
        floe__node_relay_events(n, r, now);
}

/* A new socket address after a reset: relays of its family are reached from it now. */
void floe__node_relays_rebind(struct floe_node *n, const struct floe_addr *local)
{
    uint32_t i;

    for (i = 0; i < FLOE_NODE_MAX_RELAYS_LIMIT; i++) {
        struct node_relay *r = &n->relays[i];

        if (r->used && r->server.family == local->family &&
            node_socket_for(n, local->family) == &n->hosts[n->n_hosts - 1])
            r->local = *local;
    }
}

floe_time floe__node_relays_deadline(const struct floe_node *n)
{
    floe_time t = FLOE_TIME_NEVER;
    uint32_t i;

    for (i = 0; i < n->relay_end; i++) {
        if (n->relays[i].turn)
            t = floe_time_min(t, floe_turn_poll_timeout(n->relays[i].turn));
        if (n->relays[i].retry_at)
            t = floe_time_min(t, n->relays[i].retry_at);
    }
    return t;
}

/* r's current candidates into out[0..2): server-reflexive, relayed (those it has). */
static size_t relay_cands(const struct node_relay *r, struct floe_ice_candidate out[2])
{
    size_t k = 0;

    memset(out, 0, 2 * sizeof(*out));
    if (r->reflexive.family != FLOE_AF_NONE) {
        out[k].type = FLOE_ICE_SRFLX;
        out[k].addr = r->reflexive;
        out[k].base = r->local;
        out[k++].server = r->server;
    }
    if (r->relayed.family != FLOE_AF_NONE) {
        out[k].type = FLOE_ICE_RELAY;
        out[k].addr = out[k].base = r->relayed;
        out[k++].server = r->server;
    }
    return k;
}

/* Give c r's current candidates. */
static void relay_offer(struct floe_node *n, struct node_relay *r, struct node_conn *c,
                        floe_time now)
{
    struct floe_ice_candidate cand[2];
    size_t i, k = relay_cands(r, cand);

    for (i = 0; i < k; i++)
        floe__node_conn_add_local(n, c, now, &cand[i]);
    if (r->relayed.family != FLOE_AF_NONE && c->used)
        floe__node_path_relay_first(n, c, now, r);
}

static uint32_t popcount32(uint32_t v)
{
    uint32_t c = 0;

    for (; v; v &= v - 1)
        c++;
    return c;
}

/* The allocated relay outside mask with the lowest RTT: index, or -1. */
static int relay_best(const struct floe_node *n, uint32_t mask)
{
    int best = -1;
    uint32_t i;

    for (i = 0; i < FLOE_NODE_MAX_RELAYS_LIMIT; i++) {
        const struct node_relay *r = &n->relays[i];

        if (!r->used || (mask & (1u << i)) || r->relayed.family == FLOE_AF_NONE)
            continue;
        if (best < 0 || r->rtt < n->relays[best].rtt)
            best = (int)i;
    }
    return best;
}

/* Fill c's relay set up to relays_per_connection, allocated relays by RTT first. */
void floe__node_conn_pick_relays(struct floe_node *n, struct node_conn *c, floe_time now)
{
    while (popcount32(c->relay_mask) < n->cfg.relays_per_connection) {
        int best = relay_best(n, c->relay_mask);

        if (best < 0)
            return;
        c->relay_mask |= 1u << (uint32_t)best;
        relay_offer(n, &n->relays[best], c, now);
    }
}

/* Format cand (a local candidate of the node) into out[*k] when there is room. */
static void relay_list_one(struct floe_ice_candidate *cand, char (*out)[FLOE_ICE_CANDIDATE_STR_MAX],
                           size_t max, size_t *k)
{
    floe__node_cand_prepare(cand);
    if (*k < max && floe_ice_candidate_format(cand, out[*k], FLOE_ICE_CANDIDATE_STR_MAX) >= 0)
        (*k)++;
}

size_t floe_node_local_candidates(const struct floe_node *n,
                                  char (*out)[FLOE_ICE_CANDIDATE_STR_MAX], size_t max)
{
    struct floe_ice_candidate cand;
    uint32_t mask = 0, i;
    size_t k = 0;
    int best;

    if (!n || !out)
        return 0;
    for (i = 0; i < n->n_hosts; i++) {
        memset(&cand, 0, sizeof(cand));
        cand.type = FLOE_ICE_HOST;
        cand.addr = cand.base = n->hosts[i];
        relay_list_one(&cand, out, max, &k);
    }
    for (i = 0; i < n->cfg.relays_per_connection && (best = relay_best(n, mask)) >= 0; i++) {
        struct floe_ice_candidate rc[2];
        size_t j, m = relay_cands(&n->relays[best], rc);

        mask |= 1u << (uint32_t)best;
        for (j = 0; j < m; j++)
            relay_list_one(&rc[j], out, max, &k);
    }
    return k;
}

uint64_t floe_node_local_candidates_version(const struct floe_node *n)
{
    return n ? n->cands_version : 0;
}

void floe__node_relay_candidate(struct floe_node *n, struct node_relay *r, floe_time now,
                                const struct floe_ice_candidate *cand, bool add)
{
    uint32_t bit = 1u << (uint32_t)(r - n->relays), i;

    n->cands_version++;
    for (i = 0; i < n->cfg.max_connections; i++) {
        struct node_conn *c = &n->conns[i];

        if (!c->used)
            continue;
        if (!add) {
            if (c->relay_mask & bit)
                floe__node_conn_remove_local(n, c, now, cand);
            continue;
        }
        if (!(c->relay_mask & bit) && popcount32(c->relay_mask) < n->cfg.relays_per_connection)
            c->relay_mask |= bit;
        if (!(c->relay_mask & bit))
            continue;
        floe__node_conn_add_local(n, c, now, cand);
        if (c->used && cand->type == FLOE_ICE_RELAY) {
            floe__node_path_relay_first(n, c, now, r);
            floe__node_path_same_relay_any(n, c, now);
        }
    }
}

/*
 * The local peer-reflexive candidates ICE learned from check responses are derived from
 * the old addresses: they go too, or a pair on one of them stays selected after a reset
 * (sending from a gone address until consent fails 30 s later) and no new pair is ever
 * nominated.
 */
static void relay_forget_local_prflx(struct floe_node *n, struct node_conn *c, floe_time now)
{
    struct floe_ice_candidate lc[NODE_REMOTE_MAX];
    size_t i, k = floe_ice_get_local_candidates(c->ice, lc, NODE_REMOTE_MAX);

    for (i = 0; i < k; i++) {
        if (lc[i].type == FLOE_ICE_PRFLX)
            (void)floe_ice_remove_local_candidate(c->ice, now, &lc[i]);
    }
    floe__node_conn_after_ice(n, c, now);
}

int floe_node_reset(struct floe_node *n, floe_time now)
{
    struct floe_ice_candidate cand;
    uint32_t i, h;

    if (!n)
        return FLOE_ERR_INVALID_ARG;
    for (i = 0; i < FLOE_NODE_MAX_RELAYS_LIMIT; i++) {
        struct node_relay *r = &n->relays[i];

        if (!r->used)
            continue;
        relay_withdraw(n, r, now);
        (void)floe_turn_reset(r->turn, now);
        floe__node_relay_events(n, r, now);
        r->started = now;
        r->rtt = 0;
    }
    memset(&cand, 0, sizeof(cand));
    cand.type = FLOE_ICE_HOST;
    for (h = 0; h < n->n_hosts; h++) {
        cand.addr = n->hosts[h];
        cand.base = n->hosts[h];
        for (i = 0; i < n->cfg.max_connections; i++) {
            if (n->conns[i].used)
                floe__node_conn_remove_local(n, &n->conns[i], now, &cand);
        }
    }
    for (i = 0; i < n->cfg.max_connections; i++) {
        if (n->conns[i].used)
            relay_forget_local_prflx(n, &n->conns[i], now);
        n->conns[i].reset_at = now;
        n->conns[i].relay_first = n->conns[i].used;
    }
    n->n_hosts = 0;
    n->cands_version++;
    floe__node_early_sweep(n, now, true); /* the ways they came may be gone */
    return 0;
}
