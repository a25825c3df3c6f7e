/* floe_agent: creation, connections, node events, deadlines and the status. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_int.h"
#include "floe/crypto.h"
#include "floe/crypto_wg.h"

void floe__agent_log(struct floe_agent *a, enum floe_log_level lv, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    floe_jsonlog_vlogf(a->log, lv, a->role.name, NULL, 0, fmt, ap);
    va_end(ap);
}

static void agent_rng_fill(void *user, uint8_t *out, size_t len)
{
    (void)user;
    if (floe_io_random(out, len) != 0)
        abort(); /* no randomness: nothing safe to do */
}

struct floe_rng floe__agent_rng(void)
{
    return (struct floe_rng){.fill = agent_rng_fill};
}

static void agent_pool_run(void *user, uint32_t n, floe_wg_job_fn *fn, void *arg)
{
    floe_io_pool_run(user, n, fn, arg);
}

static unsigned agent_lanes(const struct floe_agent_config *cfg)
{
    unsigned cpus;

    if (cfg->lanes)
        return cfg->lanes;
    cpus = floe__agent_sys_cpus();
    return cpus > 8 ? 8 : cpus;
}

static int agent_node_new(struct floe_agent *a, uint8_t pub[FLOE_WG_KEY_LEN])
{
    struct floe_node_config nc;
    struct floe_rng rng = {.fill = agent_rng_fill};
    unsigned lanes = agent_lanes(&a->cfg);
    int rc;

    floe_node_config_default(&nc);
    nc.role = a->role.node_role;
    nc.rng = rng;
    nc.log = floe_jsonlog_hook(a->log);
    nc.max_connections = FLOE_AGENT_MAX_CONNS;
    if (floe_x25519_keypair(pub, nc.private_key, &rng) != 0)
        return FLOE_ERR_CRYPTO;
    if (lanes > 1 && floe_io_pool_new(&a->pool, lanes) == 0)
        nc.parallel =
            (struct floe_wg_parallel){.run = agent_pool_run, .user = a->pool, .lanes = lanes};
    rc = floe_node_new(&a->node, &nc, floe_io_now());
    floe_wipe(nc.private_key, sizeof(nc.private_key));
    return rc;
}

static int agent_setup(struct floe_agent *a)
{
    uint8_t pub[FLOE_WG_KEY_LEN];
    int rc;

    a->conns = calloc(FLOE_AGENT_MAX_CONNS, sizeof(*a->conns));
    if (!a->conns)
        return FLOE_ERR_NOMEM;
    if ((rc = floe__agent_loop_new(a)) != 0) /* signals blocked before the crypto lanes start */
        return rc;
    rc = agent_node_new(a, pub);
    if (rc != 0) {
        floe__agent_log(a, FLOE_LOG_ERROR, "node: %s", floe_strerror(rc));
        return rc;
    }
    if ((rc = floe__agent_data_init(a)) != 0 || (rc = floe__agent_loop_open(a)) != 0)
        return rc;
    for (int s = 0; s < 2; s++)
        if (floe__agent_sys_udp(a, s) != 0 && s == AGENT_V4)
            return FLOE_ERR_IO;
    floe__agent_sys_hosts(a, floe_io_now());
    floe__agent_roam_done(&a->roam, floe_io_now(), floe__agent_sys_net_fp(a));
    (void)pub;
    return floe__agent_portal_init(a);
}

int floe_agent_new(struct floe_agent **out, const struct floe_agent_config *cfg)
{
    struct floe_agent *a;
    int rc;

    if (!out || !cfg || !cfg->portal_url || !cfg->token || !cfg->interface || !cfg->log)
        return FLOE_ERR_INVALID_ARG;
    *out = NULL;
    a = calloc(1, sizeof(*a));
    if (!a)
        return FLOE_ERR_NOMEM;
    a->cfg = *cfg;
    a->log = cfg->log;
    a->role = cfg->role;
    a->udp[0] = a->udp[1] = a->portal.fd = -1;
    a->reset_at = FLOE_TIME_NEVER;
    snprintf(a->token, sizeof(a->token), "%s", cfg->token);
    a->cfg.token = a->token;
    rc = agent_setup(a);
    if (rc == 0 && a->role.start && a->role.start(a->role.user, a) != 0)
        rc = FLOE_ERR_IO;
    if (rc != 0) {
        floe_agent_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void floe_agent_free(struct floe_agent *a)
{
    if (!a)
        return;
    if (a->role.stop)
        a->role.stop(a->role.user, a);
    floe__agent_portal_free(a);
    floe__agent_loop_free(a);
    floe__agent_data_free(a);
    for (int s = 0; s < 2; s++)
        floe_io_close(a->udp[s]);
    floe_node_free(a->node);
    floe_io_pool_free(a->pool);
    free(a->conns);
    floe_wipe(a->token, sizeof(a->token));
    free(a);
}

/*
 * Before exiting, a goodbye to every peer (floe_node_conn_close): their sides close at once
 * instead of waiting for liveness to fail, so that the clients of a gateway that stops ask the
 * portal for another one with their next packet.
 */
static void agent_farewell(struct floe_agent *a)
{
    for (size_t i = 0; i < FLOE_AGENT_MAX_CONNS; i++)
        if (a->conns[i].used)
            (void)floe_agent_conn_close(a, a->conns[i].cid);
}

int floe_agent_run(struct floe_agent *a)
{
    int rc;

    floe__agent_log(a, FLOE_LOG_INFO, "started on %s, portal %s", floe_io_tun_name(a->tun),
                    a->cfg.portal_url);
    rc = floe__agent_loop_run(a);
    agent_farewell(a);
    return rc;
}

void floe_agent_stop(struct floe_agent *a, int code)
{
    a->stop = true;
    a->exit_code = code;
}

floe_time floe_agent_now(const struct floe_agent *a)
{
    (void)a;
    return floe_io_now();
}

struct floe_jsonlog *floe_agent_log(struct floe_agent *a)
{
    return a->log;
}

struct floe_portal_client *floe_agent_portal(struct floe_agent *a)
{
    return a->portal.pc;
}

struct floe_node *floe_agent_node(struct floe_agent *a)
{
    return a->node;
}

unsigned floe_agent_ifindex(const struct floe_agent *a)
{
    return a->tun ? floe_io_tun_ifindex(a->tun) : 0;
}

uint32_t floe_agent_mark(const struct floe_agent *a)
{
    return a->cfg.mark;
}

static void agent_node_drain(struct floe_agent *a, floe_time now);

/* ------------------------------------------------------------ connections */

static struct agent_conn *agent_conn_find(const struct floe_agent *a, uint64_t cid)
{
    for (size_t i = 0; i < FLOE_AGENT_MAX_CONNS; i++)
        if (a->conns[i].used && a->conns[i].cid == cid)
            return &a->conns[i];
    return NULL;
}

int floe_agent_conn_upsert(struct floe_agent *a, uint64_t cid, const char *peer_id,
                           const struct floe_node_conn_config *cfg)
{
    struct agent_conn *c = agent_conn_find(a, cid);
    floe_time now = floe_io_now();
    int rc;

    if (cid == 0 || !peer_id)
        return FLOE_ERR_INVALID_ARG;
    for (size_t i = 0; !c && i < FLOE_AGENT_MAX_CONNS; i++)
        if (!a->conns[i].used)
            c = &a->conns[i];
    if (!c)
        return FLOE_ERR_NOMEM;
    rc = floe_node_conn_upsert(a->node, now, cid, cfg);
    if (rc != 0) {
        floe__agent_log(a, FLOE_LOG_WARN, "connection to %s: %s", peer_id, floe_strerror(rc));
        return rc;
    }
    c->used = true;
    c->cid = cid;
    snprintf(c->peer, sizeof(c->peer), "%s", peer_id);
    floe__agent_early_apply(a, now, cid, peer_id);
    agent_node_drain(a, now); /* not the portal's events: the caller may hold one */
    floe__agent_udp_flush(a);
    return 0;
}

int floe_agent_conn_close(struct floe_agent *a, uint64_t cid)
{
    struct agent_conn *c = agent_conn_find(a, cid);
    floe_time now = floe_io_now();

    if (!c)
        return FLOE_ERR_NOT_FOUND;
    (void)floe_node_conn_close(a->node, now, cid);
    agent_node_drain(a, now);
    floe__agent_udp_flush(a);
    c = agent_conn_find(a, cid); /* the closed event forgets it */
    if (c)
        memset(c, 0, sizeof(*c));
    return 0;
}

uint64_t floe_agent_conn_by_peer(const struct floe_agent *a, const char *peer_id)
{
    for (size_t i = 0; i < FLOE_AGENT_MAX_CONNS; i++)
        if (a->conns[i].used && strcmp(a->conns[i].peer, peer_id) == 0)
            return a->conns[i].cid;
    return 0;
}

const char *floe_agent_conn_peer(const struct floe_agent *a, uint64_t cid)
{
    const struct agent_conn *c = agent_conn_find(a, cid);

    return c ? c->peer : NULL;
}

/* ------------------------------------------------------------ node drain */

static void agent_candidate(struct floe_agent *a, floe_time now, const struct floe_node_event *ev)
{
    const struct agent_conn *c = agent_conn_find(a, ev->cid);
    const char *ids[1], *cands[1];
    int rc;

    if (!c)
        return;
    ids[0] = c->peer;
    cands[0] = ev->u.candidate;
    rc = floe_portal_client_send_candidates(
        a->portal.pc, now, ev->type == FLOE_NODE_EV_CANDIDATE_INVALIDATED, ids, 1, cands, 1);
    if (rc != 0)
        floe__agent_log(a, FLOE_LOG_DEBUG, "candidate for %s not sent: %s", c->peer,
                        floe_strerror(rc));
}

static void agent_node_event(struct floe_agent *a, floe_time now, const struct floe_node_event *ev)
{
    struct agent_conn *c = agent_conn_find(a, ev->cid);
    struct floe_log_field f[3] = {
        FLOE_LF_S("event", floe_node_event_name(ev->type)),
        FLOE_LF_S("peer", c ? c->peer : ""),
        FLOE_LF_S("path", floe_node_path_kind_name(ev->u.path.kind)),
    };

    if (ev->type == FLOE_NODE_EV_CANDIDATE_NEW || ev->type == FLOE_NODE_EV_CANDIDATE_INVALIDATED) {
        agent_candidate(a, now, ev);
        return;
    }
    floe_jsonlog_write(a->log, FLOE_LOG_INFO, a->role.name, "connection event", f,
                       ev->type == FLOE_NODE_EV_PATH_CHANGED ? 3 : 2);
    if (a->role.conn_event && ev->cid)
        a->role.conn_event(a->role.user, a, ev);
    if ((ev->type == FLOE_NODE_EV_FAILED || ev->type == FLOE_NODE_EV_CLOSED) && c)
        memset(c, 0, sizeof(*c));
}

static void agent_node_drain(struct floe_agent *a, floe_time now)
{
    struct floe_node_event ev;
    struct floe_node_transmit tr;
    int s;

    while (floe_node_poll_transmit(a->node, now, a->txbuf, sizeof(a->txbuf), &tr) == 1) {
        s = tr.local.family == FLOE_AF_INET6 ? AGENT_V6 : AGENT_V4;
        if (floe_io_txq_room(&a->txq[s]) == 0)
            floe__agent_udp_flush(a);
        if (floe_io_txq_push(&a->txq[s], a->txbuf, tr.len, &tr.to) != 0)
            a->ctr.encap_fail++; /* longer than a queue slot: cannot happen with a 1280 MTU */
    }
    while (floe_node_poll_event(a->node, &ev) == 1)
        agent_node_event(a, now, &ev);
}

void floe__agent_drain(struct floe_agent *a, floe_time now)
{
    for (int round = 0; round < 4; round++) {
        agent_node_drain(a, now);
        floe__agent_portal_drain(a, now);
    }
    floe__agent_udp_flush(a);
}

floe_time floe__agent_next_deadline(const struct floe_agent *a)
{
    floe_time t = floe_node_poll_timeout(a->node);
    floe_time p = floe__agent_portal_deadline(a);

    t = p < t ? p : t;
    return a->reset_at < t ? a->reset_at : t;
}

void floe__agent_timeout(struct floe_agent *a, floe_time now)
{
    if (a->reset_at <= now) {
        a->reset_at = FLOE_TIME_NEVER;
        floe__agent_reset(a, now);
    }
    floe_node_handle_timeout(a->node, now);
    floe__agent_portal_tick(a, now);
    floe__agent_drain(a, now);
}

void floe__agent_net_changed(struct floe_agent *a, floe_time now)
{
    floe_time at = FLOE_TIME_NEVER;

    a->ctr.net_changes++;
    switch (floe__agent_roam_decide(&a->roam, now, floe__agent_sys_net_fp(a), &at)) {
    case AGENT_ROAM_NOW:
        floe__agent_reset(a, now);
        break;
    case AGENT_ROAM_LATER:
        a->reset_at = at;
        break;
    case AGENT_ROAM_NONE:
        break;
    }
}

void floe__agent_reset(struct floe_agent *a, floe_time now)
{
    a->ctr.resets++;
    a->reset_at = FLOE_TIME_NEVER;
    floe__agent_roam_done(&a->roam, now, floe__agent_sys_net_fp(a));
    floe__agent_log(a, FLOE_LOG_INFO, "network changed: node reset");
    floe__agent_portal_renew(a, now); /* first: the reset's candidates wait for the new join */
    (void)floe_node_reset(a->node, now);
    memset(a->host, 0, sizeof(a->host));
    floe__agent_sys_hosts(a, now);
    floe__agent_drain(a, now);
}

int floe_agent_read_token(const char *prog, const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f) {
        fprintf(stderr, "%s: token file %s: %s\n", prog, path, strerror(errno));
        return -1;
    }
    if (!fgets(out, (int)cap, f))
        out[0] = '\0';
    fclose(f);
    n = strcspn(out, "\r\n");
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
        n--;
    out[n] = '\0';
    if (n == 0) {
        fprintf(stderr, "%s: token file %s is empty\n", prog, path);
        return -1;
    }
    return 0;
}
