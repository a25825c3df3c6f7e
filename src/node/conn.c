/*
 * The node's connections: upsert, close, remove, candidates (as RFC 8839 strings), the
 * ICE agent's events, and the liveness rule (node.h): WireGuard decides, ICE chooses.
 */
#include <string.h>

#include "node/node_int.h"

struct node_conn *floe__node_conn_find(const struct floe_node *n, uint64_t cid)
{
    uint32_t slot = floe__map_get(&n->by_id, cid);

    return slot == NODE_NONE ? NULL : &n->conns[slot];
}

struct node_conn *floe__node_conn_by_ufrag(const struct floe_node *n, const char *ufrag, size_t len)
{
    uint32_t slot = floe__map_get(&n->by_ufrag, floe__map_hash(ufrag, len));
    struct node_conn *c;

    if (slot == NODE_NONE)
        return NULL;
    c = &n->conns[slot];
    if (strlen(c->ufrag) != len || memcmp(c->ufrag, ufrag, len) != 0)
        return NULL;
    return c;
}

/* RFC 8445 section 5.1.1.3: same type, base IP and server share a foundation. */
static void conn_foundation(struct floe_ice_candidate *cand)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t key[1 + 16 + 16];
    uint64_t h;
    int i;

    memset(key, 0, sizeof(key));
    key[0] = (uint8_t)cand->type;
    memcpy(key + 1, cand->base.family ? cand->base.ip : cand->addr.ip, 16);
    memcpy(key + 17, cand->server.ip, 16);
    h = floe__map_hash(key, sizeof(key));
    for (i = 0; i < 8; i++)
        cand->foundation[i] = hex[(h >> (4 * i)) & 15];
    cand->foundation[8] = '\0';
}

static void conn_candidate_event(struct floe_node *n, struct node_conn *c,
                                 enum floe_node_event_type type,
                                 const struct floe_ice_candidate *cand)
{
    struct floe_node_event *ev = floe__node_event_push(n, type, c->id);

    if (ev && floe_ice_candidate_format(cand, ev->u.candidate, sizeof(ev->u.candidate)) < 0)
        ev->u.candidate[0] = '\0';
}

void floe__node_cand_prepare(struct floe_ice_candidate *cand)
{
    conn_foundation(cand);
    cand->priority = floe_ice_candidate_priority(cand->type, FLOE_ICE_LOCAL_PREF_DEFAULT, 1);
}

void floe__node_conn_add_local(struct floe_node *n, struct node_conn *c, floe_time now,
                               const struct floe_ice_candidate *in)
{
    struct floe_ice_candidate cand = *in;

    floe__node_cand_prepare(&cand);
    if (floe_ice_add_local_candidate(c->ice, now, &cand) == 0)
        conn_candidate_event(n, c, FLOE_NODE_EV_CANDIDATE_NEW, &cand);
    floe__node_conn_after_ice(n, c, now);
}

void floe__node_conn_remove_local(struct floe_node *n, struct node_conn *c, floe_time now,
                                  const struct floe_ice_candidate *in)
{
    struct floe_ice_candidate cand = *in;

    floe__node_cand_prepare(&cand);
    if (floe_ice_remove_local_candidate(c->ice, now, &cand) == 0)
        conn_candidate_event(n, c, FLOE_NODE_EV_CANDIDATE_INVALIDATED, &cand);
    floe__node_conn_after_ice(n, c, now);
}

static void conn_ice_state(struct floe_node *n, struct node_conn *c, floe_time now,
                           enum floe_ice_state to)
{
    (void)n;
    c->st.ice_state = to;
    if (to == FLOE_ICE_DISCONNECTED) {
        if (c->grace_since == FLOE_TIME_NEVER)
            c->grace_since = now;
    } else {
        c->grace_since = FLOE_TIME_NEVER;
    }
}

static void conn_selected(struct floe_node *n, struct node_conn *c, floe_time now,
                          const struct floe_ice_pair_info *pair)
{
    struct floe_node_path p;

    c->relay_first = false; /* ICE chose: its pair wins over the first allocation */
    memset(&p, 0, sizeof(p));
    p.local = pair->path.local;
    p.remote = pair->remote.addr;
    if (pair->path.via_relay) {
        p.relay = pair->path.relay;
        p.kind = pair->remote.type == FLOE_ICE_RELAY ? FLOE_NODE_PATH_RELAY_RELAY
                                                     : FLOE_NODE_PATH_LOCAL_RELAY;
    } else {
        p.kind = pair->remote.type == FLOE_ICE_RELAY ? FLOE_NODE_PATH_REMOTE_RELAY
                                                     : FLOE_NODE_PATH_DIRECT;
    }
    floe__node_path_choose(n, c, now, &p);
}

/*
 * The path left ICE's selected pair for a relayed one (the peer's authenticated packets came
 * through a relay after a roam) while the selected pair is direct and answers checks: data
 * goes back to the selected pair, with a keepalive so the peer follows at once. Only on a
 * STUN message that came on the selected pair itself (path, from): one that came another way
 * says nothing of it, and after the peer roamed the selected pair is its old address (a check
 * through the relay moved a gateway's data back there, 100 ms before ICE chose again).
 */
void floe__node_conn_back_to_selected(struct floe_node *n, struct node_conn *c, floe_time now,
                                      const struct floe_ice_path *path,
                                      const struct floe_addr *from)
{
    struct floe_ice_pair_info sel;

    if (c->st.path.kind == FLOE_NODE_PATH_NONE || c->st.path.kind == FLOE_NODE_PATH_DIRECT ||
        path->via_relay || !floe_wg_peer_has_session(c->peer, now) ||
        floe_ice_get_selected_pair(c->ice, &sel) != 0 || sel.path.via_relay ||
        sel.local.type == FLOE_ICE_RELAY || sel.remote.type == FLOE_ICE_RELAY ||
        !floe_addr_eq(&sel.remote.addr, from) || !floe_addr_eq(&sel.path.local, &path->local))
        return;
    conn_selected(n, c, now, &sel);
    floe__node_conn_keepalive(n, c);
}

/* Drain the agent's events (selected pair, state), then queue its datagrams and re-arm. */
void floe__node_conn_after_ice(struct floe_node *n, struct node_conn *c, floe_time now)
{
    struct floe_ice_event ev;

    while (c->used && floe_ice_poll_event(c->ice, &ev) == 1) {
        if (ev.type == FLOE_ICE_EV_STATE)
            conn_ice_state(n, c, now, ev.u.state.to);
        else if (ev.type == FLOE_ICE_EV_SELECTED_PAIR && ev.u.selected.has_pair)
            conn_selected(n, c, now, &ev.u.selected.pair);
        /* No selected pair: keep the old path until another carries data. */
    }
    if (!c->used)
        return;
    floe__node_mark_dirty(n, c);
    floe__node_schedule(n, c);
}

static int conn_make_ice(struct floe_node *n, struct node_conn *c, floe_time now,
                         const struct floe_node_conn_config *cfg)
{
    struct floe_ice_config ic;
    const char *ufrag, *pwd;
    int rc;

    floe_ice_config_default(&ic);
    floe_ice_config_profile(&ic, n->cfg.role == FLOE_NODE_CLIENT ? FLOE_ICE_PROFILE_CLIENT
                                                                 : FLOE_ICE_PROFILE_GATEWAY);
    ic.alloc = n->cfg.alloc;
    ic.log = n->cfg.log;
    ic.rng = n->cfg.rng;
    ic.role = n->cfg.role == FLOE_NODE_CLIENT ? FLOE_ICE_CONTROLLING : FLOE_ICE_CONTROLLED;
    /* Sized for the node, which drains the agent's events after every call: the defaults
     * (64 events of 288 bytes, 100 pairs) took two thirds of a connection's memory. */
    ic.max_events = NODE_ICE_EVENTS;
    ic.max_pairs = NODE_ICE_PAIRS;
    /* The node owns liveness: the agent never fails by itself (node.h). */
    ic.disconnected_grace = FLOE_TIME_NEVER;
    ic.candidate_timeout = 0;
    rc = floe_ice_new(&c->ice, &ic, now);
    if (rc == 0 && cfg->local_ufrag[0])
        rc = floe_ice_set_local_credentials(c->ice, now, cfg->local_ufrag, cfg->local_pwd);
    if (rc)
        return rc;
    rc = floe_ice_set_remote_credentials(c->ice, now, c->remote_ufrag, c->remote_pwd);
    if (rc)
        return rc;
    floe_ice_get_local_credentials(c->ice, &ufrag, &pwd);
    memcpy(c->ufrag, ufrag, strlen(ufrag) + 1);
    return 0;
}

static int conn_make_peer(struct floe_node *n, struct node_conn *c,
                          const struct floe_node_conn_config *cfg)
{
    struct floe_wg_peer_config pc;
    int rc;

    memset(&pc, 0, sizeof(pc));
    memcpy(pc.public_key, cfg->public_key, FLOE_WG_KEY_LEN);
    pc.has_psk = cfg->has_psk;
    if (cfg->has_psk)
        memcpy(pc.psk, cfg->psk, FLOE_WG_KEY_LEN);
    pc.user = c;
    rc = floe_wg_peer_add(n->wg, &pc, &c->peer);
    floe_wipe(pc.psk, sizeof(pc.psk));
    return rc;
}

/* An unused slot from the stack (it goes back there when conn_create fails). */
static struct node_conn *conn_free_slot(struct floe_node *n)
{
    if (n->n_free == 0)
        return NULL;
    return &n->conns[n->free_conns[--n->n_free]];
}

static void conn_init(struct node_conn *c, uint64_t cid, floe_time now,
                      const struct floe_node_conn_config *cfg)
{
    bool dirty = c->dirty;
    uint32_t next = c->dirty_next;

    memset(c, 0, sizeof(*c));
    c->dirty = dirty; /* a freed slot may still sit in the dirty list */
    c->dirty_next = next;
    c->id = cid;
    c->created = now;
    c->first_remote = FLOE_TIME_NEVER;
    c->last_auth = now;
    c->last_app = now;
    c->grace_since = FLOE_TIME_NEVER;
    memcpy(c->public_key, cfg->public_key, FLOE_WG_KEY_LEN);
    memcpy(c->remote_ufrag, cfg->remote_ufrag, strlen(cfg->remote_ufrag) + 1);
    memcpy(c->remote_pwd, cfg->remote_pwd, strlen(cfg->remote_pwd) + 1);
}

static void conn_offer_hosts(struct floe_node *n, struct node_conn *c, floe_time now)
{
    struct floe_ice_candidate cand;
    uint32_t i;

    memset(&cand, 0, sizeof(cand));
    cand.type = FLOE_ICE_HOST;
    for (i = 0; i < n->n_hosts; i++) {
        cand.addr = n->hosts[i];
        cand.base = n->hosts[i];
        floe__node_conn_add_local(n, c, now, &cand);
    }
}

static int conn_create(struct floe_node *n, floe_time now, uint64_t cid,
                       const struct floe_node_conn_config *cfg)
{
    struct node_conn *c = conn_free_slot(n);
    int rc;

    if (!c)
        return FLOE_ERR_NOMEM;
    conn_init(c, cid, now, cfg);
    rc = conn_make_ice(n, c, now, cfg);
    if (rc == 0)
        rc = conn_make_peer(n, c, cfg);
    if (rc) {
        floe_ice_free(c->ice);
        c->ice = NULL;
        n->free_conns[n->n_free++] = (uint32_t)(c - n->conns);
        return rc;
    }
    c->used = true;
    n->n_conns++;
    floe__map_put(&n->by_id, cid, (uint32_t)(c - n->conns));
    floe__map_put(&n->by_ufrag, floe__map_hash(c->ufrag, strlen(c->ufrag)),
                  (uint32_t)(c - n->conns));
    conn_offer_hosts(n, c, now);
    floe__node_conn_pick_relays(n, c, now);
    floe__node_conn_after_ice(n, c, now);
    return 0;
}

void floe__node_conn_destroy(struct floe_node *n, struct node_conn *c)
{
    floe__node_heap_remove(n, c);
    floe__map_del(&n->by_id, c->id);
    floe__map_del(&n->by_ufrag, floe__map_hash(c->ufrag, strlen(c->ufrag)));
    floe_ice_free(c->ice);
    c->ice = NULL;
    (void)floe_wg_peer_remove(n->wg, c->peer);
    c->peer = NULL;
    c->used = false;
    n->free_conns[n->n_free++] = (uint32_t)(c - n->conns);
    n->n_conns--;
}

/* strnlen without POSIX (the node builds with mingw too). */
static size_t conn_strnlen(const char *s, size_t max)
{
    const char *z = memchr(s, '\0', max);

    return z ? (size_t)(z - s) : max;
}

static bool conn_config_ok(const struct floe_node *n, const struct floe_node_conn_config *cfg)
{
    uint8_t own[FLOE_WG_KEY_LEN];
    size_t ul = conn_strnlen(cfg->remote_ufrag, sizeof(cfg->remote_ufrag));
    size_t pl = conn_strnlen(cfg->remote_pwd, sizeof(cfg->remote_pwd));

    size_t lu = conn_strnlen(cfg->local_ufrag, sizeof(cfg->local_ufrag));
    size_t lp = conn_strnlen(cfg->local_pwd, sizeof(cfg->local_pwd));

    floe_wg_public_key(n->wg, own);
    return ul > 0 && ul <= FLOE_ICE_UFRAG_MAX && pl > 0 && pl <= FLOE_ICE_PWD_MAX &&
           lu <= FLOE_ICE_UFRAG_MAX && lp <= FLOE_ICE_PWD_MAX && (lu == 0) == (lp == 0) &&
           memcmp(own, cfg->public_key, FLOE_WG_KEY_LEN) != 0;
}

/* A local ufrag given for cid that another connection has (the demux key must be unique). */
static bool conn_ufrag_taken(const struct floe_node *n, uint64_t cid,
                             const struct floe_node_conn_config *cfg)
{
    const struct node_conn *o;

    if (!cfg->local_ufrag[0])
        return false;
    o = floe__node_conn_by_ufrag(n, cfg->local_ufrag, strlen(cfg->local_ufrag));
    return o && o->id != cid;
}

/* Re-key c in by_ufrag under the agent's current local ufrag. */
static void conn_rekey_ufrag(struct floe_node *n, struct node_conn *c)
{
    const char *ufrag, *pwd;

    floe_ice_get_local_credentials(c->ice, &ufrag, &pwd);
    floe__map_del(&n->by_ufrag, floe__map_hash(c->ufrag, strlen(c->ufrag)));
    memcpy(c->ufrag, ufrag, strlen(ufrag) + 1);
    floe__map_put(&n->by_ufrag, floe__map_hash(c->ufrag, strlen(c->ufrag)),
                  (uint32_t)(c - n->conns));
}

/*
 * New local credentials for an existing connection: set as they are while unused, else by an
 * ICE restart of this side (remote candidates dropped, the remote credentials set again; the
 * WireGuard session and the current path stay).
 */
static int conn_update_local(struct floe_node *n, struct node_conn *c, floe_time now,
                             const struct floe_node_conn_config *cfg)
{
    int rc;

    if (!cfg->local_ufrag[0])
        return 0;
    rc = floe_ice_set_local_credentials(c->ice, now, cfg->local_ufrag, cfg->local_pwd);
    if (rc == FLOE_ERR_STATE) {
        rc = floe_ice_restart(c->ice, now, true);
        if (rc == 0)
            rc = floe_ice_set_remote_credentials(c->ice, now, c->remote_ufrag, c->remote_pwd);
        if (rc == 0)
            rc = floe_ice_set_local_credentials(c->ice, now, cfg->local_ufrag, cfg->local_pwd);
    }
    conn_rekey_ufrag(n, c);
    return rc;
}

int floe_node_conn_upsert(struct floe_node *n, floe_time now, uint64_t cid,
                          const struct floe_node_conn_config *cfg)
{
    struct node_conn *c;
    int rc;

    if (!n || !cfg || !conn_config_ok(n, cfg) || conn_ufrag_taken(n, cid, cfg))
        return FLOE_ERR_INVALID_ARG;
    c = floe__node_conn_find(n, cid);
    if (c && memcmp(c->public_key, cfg->public_key, FLOE_WG_KEY_LEN) != 0) {
        floe__node_conn_destroy(n, c);
        c = NULL;
    }
    if (!c) {
        rc = conn_create(n, now, cid, cfg);
        if (rc == 0 && n->early_len)
            floe__node_early_replay(n, now, cfg->public_key);
        return rc;
    }
    rc = 0;
    if (strcmp(c->remote_ufrag, cfg->remote_ufrag) != 0 ||
        strcmp(c->remote_pwd, cfg->remote_pwd) != 0)
        rc = floe_ice_set_remote_credentials(c->ice, now, cfg->remote_ufrag, cfg->remote_pwd);
    if (rc == 0) {
        memcpy(c->remote_ufrag, cfg->remote_ufrag, strlen(cfg->remote_ufrag) + 1);
        memcpy(c->remote_pwd, cfg->remote_pwd, strlen(cfg->remote_pwd) + 1);
        rc = conn_update_local(n, c, now, cfg);
    }
    floe__node_conn_after_ice(n, c, now);
    return rc;
}

int floe_node_conn_local_credentials(const struct floe_node *n, uint64_t cid, const char **ufrag,
                                     const char **pwd)
{
    const struct node_conn *c;

    if (!n || !ufrag || !pwd)
        return FLOE_ERR_INVALID_ARG;
    c = floe__node_conn_find(n, cid);
    if (!c)
        return FLOE_ERR_NOT_FOUND;
    floe_ice_get_local_credentials(c->ice, ufrag, pwd);
    return 0;
}

/*
 * The peer withdrew a candidate: it roamed or lost a relay, so the peer-reflexive addresses
 * learned from it are likely stale too. They go with it (a live one is learned again from
 * the next check), so a selection on one of them cannot outlive the peer's move.
 */
static void conn_forget_prflx(struct node_conn *c, floe_time now)
{
    struct floe_ice_candidate rc[NODE_REMOTE_MAX];
    size_t i, k = floe_ice_get_remote_candidates(c->ice, rc, NODE_REMOTE_MAX);

    for (i = 0; i < k; i++) {
        if (rc[i].type == FLOE_ICE_PRFLX)
            (void)floe_ice_remove_remote_candidate(c->ice, now, &rc[i]);
    }
}

static int conn_remote(struct floe_node *n, floe_time now, uint64_t cid, const char *s, bool add)
{
    struct floe_ice_candidate cand;
    struct node_conn *c;
    int rc;

    if (!n || !s)
        return FLOE_ERR_INVALID_ARG;
    c = floe__node_conn_find(n, cid);
    if (!c)
        return FLOE_ERR_NOT_FOUND;
    rc = floe_ice_candidate_parse(s, &cand);
    if (rc) {
        n->st.bad_candidates++;
        return rc;
    }
    memset(&cand.base, 0, sizeof(cand.base)); /* the related address is only informative */
    if (add)
        rc = floe_ice_add_remote_candidate(c->ice, now, &cand);
    else
        rc = floe_ice_remove_remote_candidate(c->ice, now, &cand);
    if (!add) {
        conn_forget_prflx(c, now);
        c->peer_moved = now;
        c->hold_until = 0; /* the peer moved: its packets lead wherever they come from */
    } else if (rc == 0) {
        floe__node_path_probe_remote(n, c, now, &cand);
        floe__node_path_same_relay(n, c, now, &cand);
    }
    if (rc == 0 && add && c->first_remote == FLOE_TIME_NEVER)
        c->first_remote = now;
    floe__node_conn_after_ice(n, c, now);
    return rc;
}

int floe_node_conn_add_remote_candidate(struct floe_node *n, floe_time now, uint64_t cid,
                                        const char *candidate)
{
    return conn_remote(n, now, cid, candidate, true);
}

int floe_node_conn_remove_remote_candidate(struct floe_node *n, floe_time now, uint64_t cid,
                                           const char *candidate)
{
    return conn_remote(n, now, cid, candidate, false);
}

int floe_node_conn_close(struct floe_node *n, floe_time now, uint64_t cid)
{
    struct node_conn *c;

    if (!n)
        return FLOE_ERR_INVALID_ARG;
    c = floe__node_conn_find(n, cid);
    if (!c)
        return FLOE_ERR_NOT_FOUND;
    floe__node_goodbye_send(n, c, now);
    floe__node_conn_destroy(n, c);
    floe__node_event(n, FLOE_NODE_EV_CLOSED, cid);
    return 0;
}

int floe_node_conn_remove(struct floe_node *n, floe_time now, uint64_t cid)
{
    struct node_conn *c;

    (void)now;
    if (!n)
        return FLOE_ERR_INVALID_ARG;
    c = floe__node_conn_find(n, cid);
    if (!c)
        return FLOE_ERR_NOT_FOUND;
    floe__node_conn_destroy(n, c);
    return 0;
}

int floe_node_conn_stats(const struct floe_node *n, uint64_t cid, struct floe_node_conn_stats *out)
{
    const struct node_conn *c;
    struct floe_ice_stats is;

    if (!n || !out)
        return FLOE_ERR_INVALID_ARG;
    c = floe__node_conn_find(n, cid);
    if (!c)
        return FLOE_ERR_NOT_FOUND;
    *out = c->st;
    out->ice_state = floe_ice_get_state(c->ice);
    out->handshakes = floe_wg_peer_stats(c->peer).handshakes_completed;
    floe_ice_get_stats(c->ice, &is);
    out->ice_consent_sent = is.consent_sent;
    return 0;
}

/* ----------------------------------------------------------------- liveness */

static void conn_fail(struct floe_node *n, struct node_conn *c, enum floe_node_fail_reason why)
{
    struct floe_node_event *ev = floe__node_event_push(n, FLOE_NODE_EV_FAILED, c->id);

    if (ev)
        ev->u.reason = why;
    floe__node_conn_destroy(n, c);
}

/* The keepalive interval: both sides send one after this long without sending anything, so
 * each side's liveness sees an authenticated packet (WireGuard's persistent keepalive is
 * reset by received packets too, which leaves one side silent when both use it). */
static floe_time conn_keepalive_interval(const struct node_conn *c)
{
    return FLOE_SEC(c->st.idle ? FLOE_NODE_KEEPALIVE_IDLE_S : FLOE_NODE_KEEPALIVE_S);
}

/* The agent's timers for the connection's activity: the role's profile, or the idle one. */
static void conn_ice_profile(struct floe_node *n, struct node_conn *c, floe_time now)
{
    enum floe_ice_profile p =
        n->cfg.role == FLOE_NODE_CLIENT ? FLOE_ICE_PROFILE_CLIENT : FLOE_ICE_PROFILE_GATEWAY;

    (void)floe_ice_set_profile(c->ice, now, c->st.idle ? FLOE_ICE_PROFILE_IDLE : p);
}

/* Idle: no application packet for idle_after slows the keepalives and ICE (its checks and
 * consent); any packet wakes it. */
void floe__node_conn_activity(struct floe_node *n, struct node_conn *c, floe_time now)
{
    c->last_app = now;
    if (c->st.idle) {
        c->st.idle = false;
        conn_ice_profile(n, c, now);
        floe__node_conn_after_ice(n, c, now);
    }
}

/*
 * Whether a packet may go to WireGuard now: only with a path (a handshake started without
 * one would be dropped and retried only REKEY_TIMEOUT later), and on a Gateway only with a
 * session: the Client is the initiator, so two initiations never cross (each side would
 * drop the other's response and retry in lockstep).
 */
bool floe__node_conn_can_send(struct floe_node *n, const struct node_conn *c, floe_time now)
{
    if (c->st.path.kind == FLOE_NODE_PATH_NONE ||
        (n->cfg.role == FLOE_NODE_GATEWAY && !floe_wg_peer_has_session(c->peer, now))) {
        n->st.dropped_no_path++;
        return false;
    }
    return true;
}

/* Send a keepalive from the next poll_transmit (a handshake first if no session). */
void floe__node_conn_keepalive(struct floe_node *n, struct node_conn *c)
{
    c->keepalive_due = true;
    floe__node_mark_dirty(n, c);
}

int floe__node_conn_poll_keepalive(struct floe_node *n, struct node_conn *c, floe_time now,
                                   uint8_t *buf, size_t cap, struct floe_node_transmit *tr)
{
    struct floe_addr dst;
    long len;

    if (!c->keepalive_due)
        return 0;
    c->keepalive_due = false;
    if (!floe__node_conn_can_send(n, c, now))
        return 0;
    if (!floe_wg_peer_has_session(c->peer, now))
        c->hs_at = now; /* this keepalive starts a handshake: its time to complete is the RTT */
    c->last_tx = now;
    len =
        floe_wg_encapsulate(n->wg, now, c->peer, NULL, 0, buf, cap - FLOE_TURN_SEND_OVERHEAD, &dst);
    if (len <= 0)
        return 2; /* queued behind a handshake: poll_transmit gives the handshake */
    return floe__node_frame(n, c, now, buf, (size_t)len, cap, tr) > 0 ? 1 : 2;
}

static floe_time conn_liveness_from(const struct node_conn *c)
{
    return c->last_auth > c->first_remote ? c->last_auth : c->first_remote;
}

void floe__node_conn_timeout(struct floe_node *n, struct node_conn *c, floe_time now)
{
    if (floe_ice_poll_timeout(c->ice) <= now) {
        (void)floe_ice_handle_timeout(c->ice, now);
        floe__node_conn_after_ice(n, c, now);
    }
    if (c->first_remote == FLOE_TIME_NEVER &&
        now >= floe_time_add(c->created, n->cfg.candidate_timeout)) {
        conn_fail(n, c, FLOE_NODE_FAIL_NO_CANDIDATES);
        return;
    }
    if (c->first_remote != FLOE_TIME_NEVER &&
        now >= floe_time_add(conn_liveness_from(c), n->cfg.wg_liveness_timeout)) {
        conn_fail(n, c, FLOE_NODE_FAIL_WG_TIMEOUT);
        return;
    }
    if (!c->st.idle && now >= floe_time_add(c->last_app, n->cfg.idle_after)) {
        c->st.idle = true;
        conn_ice_profile(n, c, now);
        floe__node_conn_after_ice(n, c, now);
    }
    if (c->st.established && now >= floe_time_add(c->last_tx, conn_keepalive_interval(c)))
        floe__node_conn_keepalive(n, c);
    /* Two keepalive intervals of silence on a relayed path: is the allocation still there? */
    if (c->st.established && c->st.path.relay.family != FLOE_AF_NONE &&
        now >= floe_time_add(c->last_auth, 2 * conn_keepalive_interval(c)))
        floe__node_relay_silence(n, &c->st.path.relay, now, 2 * conn_keepalive_interval(c));
    if (c->grace_since != FLOE_TIME_NEVER &&
        now >= floe_time_add(c->grace_since, n->cfg.ice_grace)) {
        c->st.grace_expired++;
        c->grace_since = FLOE_TIME_NEVER; /* counted once per disconnection; never terminal */
    }
}

floe_time floe__node_conn_deadline(const struct floe_node *n, const struct node_conn *c)
{
    floe_time t = floe_ice_poll_timeout(c->ice);

    if (c->first_remote == FLOE_TIME_NEVER)
        t = floe_time_min(t, floe_time_add(c->created, n->cfg.candidate_timeout));
    else
        t = floe_time_min(t, floe_time_add(conn_liveness_from(c), n->cfg.wg_liveness_timeout));
    if (!c->st.idle)
        t = floe_time_min(t, floe_time_add(c->last_app, n->cfg.idle_after));
    if (c->grace_since != FLOE_TIME_NEVER)
        t = floe_time_min(t, floe_time_add(c->grace_since, n->cfg.ice_grace));
    if (c->st.established && !c->keepalive_due)
        t = floe_time_min(t, floe_time_add(c->last_tx, conn_keepalive_interval(c)));
    return t;
}
