/*
 * The node's lifecycle, event ring, timer heap and driving verbs (handle_timeout,
 * poll_timeout); relays live in relay.c, connections in conn.c, the data path in data.c.
 */
#include <string.h>

#include "node/node_int.h"

void floe_node_config_default(struct floe_node_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->role = FLOE_NODE_CLIENT;
    cfg->log.min_level = FLOE_LOG_OFF;
    cfg->parallel.lanes = 1;
    cfg->max_connections = 1024;
    cfg->max_relays = 8;
    cfg->relays_per_connection = 2;
    cfg->max_events = 0;
    cfg->candidate_timeout = FLOE_NODE_CANDIDATE_TIMEOUT;
    cfg->wg_liveness_timeout = FLOE_NODE_WG_LIVENESS_TIMEOUT;
    cfg->ice_grace = FLOE_NODE_ICE_GRACE;
    cfg->idle_after = FLOE_NODE_IDLE_AFTER;
    cfg->relay_rto = FLOE_NODE_RELAY_RTO;
}

static bool node_config_ok(const struct floe_node_config *c)
{
    return c->rng.fill && (c->role == FLOE_NODE_CLIENT || c->role == FLOE_NODE_GATEWAY) &&
           c->max_connections >= 1 && c->max_connections <= FLOE_NODE_MAX_CONNECTIONS_LIMIT &&
           c->max_relays >= 1 && c->max_relays <= FLOE_NODE_MAX_RELAYS_LIMIT &&
           c->relays_per_connection >= 1 && (c->max_events == 0 || c->max_events >= 16) &&
           c->max_events <= FLOE_NODE_MAX_EVENTS_LIMIT && c->candidate_timeout >= FLOE_SEC(1) &&
           c->wg_liveness_timeout >= FLOE_SEC(10) && c->ice_grace > 0 && c->idle_after > 0 &&
           c->relay_rto >= FLOE_MS(10) && c->relay_rto <= FLOE_SEC(1);
}

static int node_make_wg(struct floe_node *n)
{
    struct floe_wg_config wc;
    int rc;

    floe_wg_config_default(&wc);
    memcpy(wc.private_key, n->cfg.private_key, FLOE_WG_KEY_LEN);
    wc.alloc = n->cfg.alloc;
    wc.log = n->cfg.log;
    wc.rng = n->cfg.rng;
    wc.max_peers = n->cfg.max_connections;
    wc.max_events = n->cfg.max_connections * 4u + 64u;
    wc.parallel = n->cfg.parallel;
    rc = floe_wg_new(&n->wg, &wc);
    floe_wipe(wc.private_key, sizeof(wc.private_key));
    return rc;
}

/* The connection table in mem (NODE_LINE bytes more than the table): its first line start. */
static struct node_conn *node_conns_aligned(void *mem)
{
    if (!mem)
        return NULL;
    return (void *)((uint8_t *)mem + (NODE_LINE - (uintptr_t)mem % NODE_LINE));
}

static int node_alloc(struct floe_node *n)
{
    const struct floe_allocator *a = &n->cfg.alloc;
    uint32_t max = n->cfg.max_connections;

    n->conns_mem = floe_mem_calloc(a, 1, (size_t)max * sizeof(*n->conns) + NODE_LINE);
    n->conns = node_conns_aligned(n->conns_mem);
    n->free_conns = floe_mem_calloc(a, max, sizeof(*n->free_conns));
    n->events = floe_mem_calloc(a, n->cfg.max_events, sizeof(*n->events));
    n->txid_mask = NODE_TXID_MIN;
    while (n->txid_mask < NODE_TXID_MAX && n->txid_mask < max * 64u)
        n->txid_mask <<= 1;
    n->txids = floe_mem_calloc(a, n->txid_mask, sizeof(*n->txids));
    n->txid_mask--;
    n->batch_enc = floe_mem_calloc(a, NODE_BATCH, sizeof(*n->batch_enc));
    n->batch_cid = floe_mem_calloc(a, NODE_BATCH, sizeof(*n->batch_cid));
    if (!n->conns || !n->free_conns || !n->events || !n->txids || !n->batch_enc || !n->batch_cid)
        return FLOE_ERR_NOMEM;
    for (n->n_free = 0; n->n_free < max; n->n_free++) /* lowest slot on top */
        n->free_conns[n->n_free] = max - 1 - n->n_free;
    if (floe__heap_init(&n->timers, a, max) || floe__map_init(&n->by_id, a, max) ||
        floe__map_init(&n->by_ufrag, a, max) ||
        floe__map_init(&n->by_server, a, FLOE_NODE_MAX_RELAYS_LIMIT))
        return FLOE_ERR_NOMEM;
    return 0;
}

int floe_node_new(struct floe_node **out, const struct floe_node_config *cfg, floe_time now)
{
    struct floe_node *n;
    int rc;

    (void)now;
    if (!out || !cfg || !node_config_ok(cfg))
        return FLOE_ERR_INVALID_ARG;
    *out = NULL;
    n = floe_mem_calloc(&cfg->alloc, 1, sizeof(*n));
    if (!n)
        return FLOE_ERR_NOMEM;
    n->cfg = *cfg;
    if (n->cfg.max_events == 0) /* a reset: every connection's candidates out and in */
        n->cfg.max_events = n->cfg.max_connections > (FLOE_NODE_MAX_EVENTS_LIMIT - 64) / 16
                                ? FLOE_NODE_MAX_EVENTS_LIMIT
                                : n->cfg.max_connections * 16 + 64;
    n->dirty_head = n->dirty_tail = NODE_NONE;
    n->hot_slot = NODE_NONE;
    rc = node_alloc(n);
    if (rc == 0)
        rc = node_make_wg(n);
    floe_wipe(n->cfg.private_key, sizeof(n->cfg.private_key));
    if (rc) {
        floe_node_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

void floe_node_free(struct floe_node *n)
{
    struct floe_allocator a;
    uint32_t i;

    if (!n)
        return;
    a = n->cfg.alloc;
    for (i = 0; n->conns && i < n->cfg.max_connections; i++) {
        if (n->conns[i].used)
            floe_ice_free(n->conns[i].ice);
    }
    for (i = 0; i < FLOE_NODE_MAX_RELAYS_LIMIT; i++)
        floe_turn_free(n->relays[i].turn);
    floe_wg_free(n->wg);
    floe__map_free(&n->by_id, &a);
    floe__map_free(&n->by_ufrag, &a);
    floe__map_free(&n->by_server, &a);
    floe_mem_free(&a, n->conns_mem);
    floe__heap_free(&n->timers, &a);
    floe_mem_free(&a, n->free_conns);
    floe_mem_free(&a, n->events);
    floe_mem_free(&a, n->txids);
    floe_mem_free(&a, n->batch_enc);
    floe_mem_free(&a, n->batch_cid);
    floe_wipe(n, sizeof(*n));
    floe_mem_free(&a, n);
}

void floe_node_public_key(const struct floe_node *n, uint8_t pub[FLOE_WG_KEY_LEN])
{
    if (n && pub)
        floe_wg_public_key(n->wg, pub);
}

/* ------------------------------------------------------------------ events */

struct floe_node_event *floe__node_event_push(struct floe_node *n, enum floe_node_event_type type,
                                              uint64_t cid)
{
    struct floe_node_event *ev;

    if (n->ev_len == n->cfg.max_events) {
        n->st.events_lost++;
        return NULL;
    }
    ev = &n->events[(n->ev_head + n->ev_len) % n->cfg.max_events];
    n->ev_len++;
    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    ev->cid = cid;
    return ev;
}

void floe__node_event(struct floe_node *n, enum floe_node_event_type type, uint64_t cid)
{
    (void)floe__node_event_push(n, type, cid);
}

int floe_node_poll_event(struct floe_node *n, struct floe_node_event *ev)
{
    if (!n || !ev)
        return FLOE_ERR_INVALID_ARG;
    if (n->ev_len == 0)
        return 0;
    *ev = n->events[n->ev_head];
    n->ev_head = (n->ev_head + 1) % n->cfg.max_events;
    /* An emptied ring starts over: events land in its first lines, warm in the cache, instead
     * of walking a ring of up to FLOE_NODE_MAX_EVENTS_LIMIT events line by cold line. */
    if (--n->ev_len == 0)
        n->ev_head = 0;
    return 1;
}

const char *floe_node_event_name(enum floe_node_event_type type)
{
    static const char *const names[] = {
        "",       "candidate_new", "candidate_invalidated", "established", "path_changed", "failed",
        "closed", "no_relays"};

    if ((int)type < FLOE_NODE_EV_CANDIDATE_NEW || type > FLOE_NODE_EV_NO_RELAYS)
        return "unknown";
    return names[type];
}

const char *floe_node_path_kind_name(enum floe_node_path_kind kind)
{
    static const char *const names[] = {"none", "direct", "local-relay", "remote-relay",
                                        "relay-relay"};

    if ((int)kind < 0 || kind > FLOE_NODE_PATH_RELAY_RELAY)
        return "unknown";
    return names[kind];
}

/* -------------------------------------------------------------- timer heap */

/*
 * The connections by deadline (core/heap_int.h): the keys sit in the heap itself, so sifting
 * through 10,000 connections touches a few cache lines of the heap, not a connection per level.
 */

/* Recompute c's deadline and place it in the heap (nothing moves when it did not change). */
void floe__node_schedule(struct floe_node *n, struct node_conn *c)
{
    floe__heap_set(&n->timers, (uint32_t)(c - n->conns), floe__node_conn_deadline(n, c));
}

void floe__node_heap_remove(struct floe_node *n, struct node_conn *c)
{
    floe__heap_remove(&n->timers, (uint32_t)(c - n->conns));
}

/* ------------------------------------------------------------------ driving */

void floe__node_mark_dirty(struct floe_node *n, struct node_conn *c)
{
    uint32_t slot = (uint32_t)(c - n->conns);

    if (c->dirty)
        return;
    c->dirty = true;
    c->dirty_next = NODE_NONE;
    if (n->dirty_tail == NODE_NONE)
        n->dirty_head = slot;
    else
        n->conns[n->dirty_tail].dirty_next = slot;
    n->dirty_tail = slot;
}

floe_time floe_node_poll_timeout(const struct floe_node *n)
{
    floe_time t;

    if (!n)
        return FLOE_TIME_NEVER;
    t = floe_time_min(floe_wg_poll_timeout(n->wg), floe__node_relays_deadline(n));
    return floe_time_min(t, floe__heap_top_at(&n->timers));
}

void floe_node_handle_timeout(struct floe_node *n, floe_time now)
{
    uint32_t guard;

    if (!n)
        return;
    floe__node_relays_timeout(n, now);
    if (n->early_len)
        floe__node_early_sweep(n, now, false);
    if (floe_wg_poll_timeout(n->wg) <= now) {
        floe_wg_handle_timeout(n->wg, now);
        floe__node_wg_events(n, now);
    }
    /* Each connection's timeout moves its deadline past now; the guard bounds a stuck one. */
    for (guard = n->timers.len * 2u + 1u; guard && n->timers.len; guard--) {
        struct node_conn *c = &n->conns[floe__heap_top(&n->timers)];

        if (floe__heap_top_at(&n->timers) > now)
            break;
        n->conn_visits++;
        floe__node_conn_timeout(n, c, now);
        if (c->used)
            floe__node_schedule(n, c);
    }
}

void floe_node_set_under_load(struct floe_node *n, bool under_load)
{
    if (n)
        floe_wg_set_under_load(n->wg, under_load);
}

void floe_node_stats(const struct floe_node *n, struct floe_node_stats *out)
{
    uint32_t i;

    if (!n || !out)
        return;
    *out = n->st;
    out->n_relays = 0;
    for (i = 0; i < FLOE_NODE_MAX_RELAYS_LIMIT; i++)
        out->n_relays += n->relays[i].used ? 1u : 0u;
    out->n_connections = n->n_conns;
}

/* ------------------------------------------------------------------- hosts */

int floe_node_add_host(struct floe_node *n, floe_time now, const struct floe_addr *local)
{
    struct floe_ice_candidate cand;
    uint32_t i;

    if (!n || !local || local->family == FLOE_AF_NONE || local->port == 0)
        return FLOE_ERR_INVALID_ARG;
    for (i = 0; i < n->n_hosts; i++) {
        if (floe_addr_eq(&n->hosts[i], local))
            return 0;
    }
    if (n->n_hosts == FLOE_NODE_MAX_HOSTS)
        return FLOE_ERR_NOMEM;
    n->hosts[n->n_hosts++] = *local;
    n->cands_version++;
    floe__node_relays_rebind(n, local);
    for (i = 0; i < n->cfg.max_connections; i++) {
        if (n->conns[i].used)
            floe__node_path_rebind(n, &n->conns[i], now, local);
    }
    memset(&cand, 0, sizeof(cand));
    cand.type = FLOE_ICE_HOST;
    cand.addr = *local;
    cand.base = *local;
    for (i = 0; i < n->cfg.max_connections; i++) {
        if (n->conns[i].used)
            floe__node_conn_add_local(n, &n->conns[i], now, &cand);
    }
    return 0;
}
