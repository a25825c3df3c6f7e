/*
 * The configured peers and the floe_wg device built from them. The device needs the private
 * key at creation, so a new key means a new device: the peers are added again with the
 * endpoints they had (sessions start over, as in wireguard-go).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "floe/crypto.h"
#include "wgd.h"

struct wgd_peer *wgd_peer_find(const struct wgd *d, const uint8_t pub[FLOE_WG_KEY_LEN])
{
    struct wgd_peer *p;

    for (p = d->peers; p; p = p->next) {
        if (memcmp(p->pub, pub, FLOE_WG_KEY_LEN) == 0)
            return p;
    }
    return NULL;
}

struct wgd_peer *wgd_peer_new(struct wgd *d, const uint8_t pub[FLOE_WG_KEY_LEN])
{
    struct wgd_peer *p, **tail;

    if (d->n_peers >= WGD_MAX_PEERS)
        return NULL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    memcpy(p->pub, pub, FLOE_WG_KEY_LEN);
    /* Appended: `wg show` lists peers in the order they were added. */
    for (tail = &d->peers; *tail; tail = &(*tail)->next)
        ;
    *tail = p;
    d->n_peers++;
    return p;
}

struct floe_addr wgd_peer_endpoint(const struct wgd_peer *p)
{
    return p->wp ? floe_wg_peer_endpoint(p->wp) : p->endpoint;
}

void wgd_peer_remove(struct wgd *d, struct wgd_peer *p)
{
    struct wgd_peer **pp;
    int i;

    for (pp = &d->peers; *pp && *pp != p; pp = &(*pp)->next)
        ;
    if (!*pp)
        return;
    *pp = p->next;
    d->n_peers--;
    (void)floe_iptrie_remove_value(&d->aip, p);
    if (p->wp)
        (void)floe_wg_peer_remove(d->dev, p->wp);
    for (i = 0; i < WGD_UAPI_MAX_CONNS; i++) {
        if (d->conns[i] && d->conns[i]->peer == p)
            d->conns[i]->peer = NULL;
    }
    floe_wipe(p, sizeof(*p));
    free(p);
}

void wgd_peers_clear(struct wgd *d)
{
    while (d->peers)
        wgd_peer_remove(d, d->peers);
}

int wgd_dev_add_peer(struct wgd *d, struct wgd_peer *p, floe_time now)
{
    struct floe_wg_peer_config pc;
    int rc;

    if (!d->dev || p->wp)
        return 0;
    memset(&pc, 0, sizeof(pc));
    memcpy(pc.public_key, p->pub, FLOE_WG_KEY_LEN);
    pc.has_psk = p->has_psk;
    memcpy(pc.psk, p->psk, FLOE_WG_KEY_LEN);
    pc.endpoint = p->endpoint;
    pc.persistent_keepalive = p->keepalive;
    pc.user = p;
    rc = floe_wg_peer_add(d->dev, &pc, &p->wp);
    floe_wipe(pc.psk, sizeof(pc.psk));
    if (rc == 0)
        wgd_dev_drain(d, now);
    return rc;
}

/* Detach every peer from the old device, remembering where each one is. */
static void dev_detach_peers(struct wgd *d)
{
    struct wgd_peer *p;

    for (p = d->peers; p; p = p->next) {
        p->endpoint = wgd_peer_endpoint(p);
        p->wp = NULL;
    }
    floe_wg_free(d->dev);
    d->dev = NULL;
}

static uint64_t dev_unix_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int wgd_dev_rebuild(struct wgd *d, floe_time now)
{
    struct floe_wg_config cfg;
    struct wgd_peer *p;
    int rc;

    dev_detach_peers(d);
    if (!d->has_key)
        return 0;
    floe_wg_config_default(&cfg);
    memcpy(cfg.private_key, d->priv, FLOE_WG_KEY_LEN);
    cfg.rng = floe_crypto_rng();
    cfg.log = floe_jsonlog_hook(&d->log);
    cfg.max_peers = WGD_MAX_PEERS;
    cfg.queue_packet_max = WGD_SEG_MAX;
    /* Under load (cookies, per-source rate limit) past this many handshakes a second. */
    cfg.load_handshakes_per_s = WGD_LOAD_HANDSHAKES_PER_S;
    /* Cookie replies of one receive batch (each source also has its own rate limit). */
    cfg.max_cookie_replies = WGD_COOKIE_REPLIES;
    if (d->pool) {
        cfg.parallel.run = floe_io_pool_run;
        cfg.parallel.user = d->pool;
        cfg.parallel.lanes = floe_io_pool_lanes(d->pool);
    }
    rc = floe_wg_new(&d->dev, &cfg);
    floe_wipe(cfg.private_key, sizeof(cfg.private_key));
    if (rc != 0)
        return rc;
    floe_wg_set_wall_clock(d->dev, now, dev_unix_ns());
    for (p = d->peers; p; p = p->next) {
        /* The device refuses our own key as a peer; wireguard-go keeps it but inactive. */
        if (wgd_dev_add_peer(d, p, now) != 0)
            p->wp = NULL;
    }
    return 0;
}
