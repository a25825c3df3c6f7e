/*
 * The WireGuard device: configuration, peers, the transmit and event queues, counters and
 * the timer queue (timerq.c). Protocol steps live in noise.c, cookie.c, keypair.c, send.c, data.c.
 */
#include <string.h>

#include "wg/wg_int.h"

static const char *const device_drop_names[] = {
#define DEVICE_DROP_NAME(name, str) str,
    FLOE_WG_DROP_TABLE(DEVICE_DROP_NAME)
#undef DEVICE_DROP_NAME
};

const char *floe_wg_drop_name(enum floe_wg_drop reason)
{
    if ((unsigned)reason >= FLOE_WG_DROP_COUNT)
        return "unknown";
    return device_drop_names[reason];
}

void floe_wg_config_default(struct floe_wg_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->max_peers = 256;
    cfg->queue_packets = 16;
    cfg->queue_packet_max = 1500;
    cfg->max_events = 256;
    cfg->max_cookie_replies = 16;
    cfg->load_handshakes_per_batch = 16;
    cfg->ratelimit_entries = 4096;
    cfg->log.min_level = FLOE_LOG_OFF;
    cfg->parallel.lanes = 1;
}

void floe__wg_drop(struct floe_wg *dev, enum floe_wg_drop reason, const struct floe_addr *from)
{
    dev->stats.drops[reason]++;
    if (floe_log_enabled(&dev->cfg.log, FLOE_LOG_DEBUG)) {
        struct floe_log_field f[2] = {FLOE_LF_S("reason", floe_wg_drop_name(reason)),
                                      FLOE_LF_A("addr", from)};

        floe_log_emit(&dev->cfg.log, FLOE_LOG_DEBUG, WG_TARGET, "dropped", f,
                      from && from->family != FLOE_AF_NONE ? 2 : 1);
    }
}

void floe__wg_event(struct floe_wg *dev, enum floe_wg_event_type type, struct floe_wg_peer *peer)
{
    struct floe_wg_event *ev;

    if (dev->ev_count == dev->cfg.max_events) {
        dev->stats.events_lost++;
        return;
    }
    ev = &dev->events[(dev->ev_head + dev->ev_count) % dev->cfg.max_events];
    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    ev->peer = peer;
    ev->endpoint = peer->endpoint;
    dev->ev_count++;
}

void floe__wg_txq_push(struct floe_wg *dev, struct floe_wg_peer *peer)
{
    if (peer->in_txq)
        return;
    peer->in_txq = true;
    dev->txq[(dev->txq_head + dev->txq_count) % dev->cfg.max_peers] = peer->slot;
    dev->txq_count++;
}

/* Roaming (paper section 2.1): the endpoint follows the latest authenticated datagram. */
void floe__wg_update_endpoint(struct floe_wg_peer *peer, const struct floe_addr *from)
{
    if (floe_addr_eq(&peer->endpoint, from))
        return;
    peer->endpoint = *from;
    floe__wg_event(peer->dev, FLOE_WG_EV_ENDPOINT_CHANGED, peer);
}

uint32_t floe__wg_rand32(struct floe_wg *dev)
{
    uint8_t b[4] = {0};

    if (floe_rng_fill(&dev->cfg.rng, b, sizeof(b)) != 0)
        return 0;
    return floe_load_le32(b);
}

static int device_check_config(const struct floe_wg_config *cfg)
{
    if (!cfg->rng.fill || !cfg->max_peers || !cfg->queue_packets || !cfg->max_events ||
        !cfg->max_cookie_replies || !cfg->ratelimit_entries || cfg->max_peers > (UINT32_MAX >> 4) ||
        cfg->parallel.lanes > FLOE_WG_MAX_LANES)
        return FLOE_ERR_INVALID_ARG;
    return 0;
}

/* The constants every handshake starts from, and this device's MAC and cookie keys. */
static void device_precompute(struct floe_wg *dev)
{
    struct floe_span p[2];

    p[0] = floe_span_make(FLOE_WG_CONSTRUCTION, sizeof(FLOE_WG_CONSTRUCTION) - 1);
    floe_blake2s_hash(dev->initial_ck, p, 1);
    p[0] = floe_span_make(dev->initial_ck, 32);
    p[1] = floe_span_make(FLOE_WG_IDENTIFIER, sizeof(FLOE_WG_IDENTIFIER) - 1);
    floe_blake2s_hash(dev->initial_hash, p, 2);
    p[0] = floe_span_make(dev->initial_hash, 32);
    p[1] = floe_span_make(dev->static_pub, 32);
    floe_blake2s_hash(dev->my_hash, p, 2);
    p[0] = floe_span_make(FLOE_WG_LABEL_MAC1, 8);
    floe_blake2s_hash(dev->mac1_key, p, 2);
    p[0] = floe_span_make(FLOE_WG_LABEL_COOKIE, 8);
    floe_blake2s_hash(dev->cookie_key, p, 2);
}

static int device_alloc(struct floe_wg *dev)
{
    const struct floe_allocator *a = &dev->cfg.alloc;

    dev->peers = floe_mem_calloc(a, dev->cfg.max_peers, sizeof(*dev->peers));
    dev->txq = floe_mem_calloc(a, dev->cfg.max_peers, sizeof(*dev->txq));
    dev->events = floe_mem_calloc(a, dev->cfg.max_events, sizeof(*dev->events));
    dev->cookie_tx = floe_mem_calloc(a, dev->cfg.max_cookie_replies, sizeof(*dev->cookie_tx));
    dev->jobs = floe_mem_calloc(a, WG_JOBS, sizeof(*dev->jobs));
    dev->free_slots = floe_mem_calloc(a, dev->cfg.max_peers, sizeof(*dev->free_slots));
    dev->buckets = floe_mem_calloc(a, dev->cfg.ratelimit_entries, sizeof(*dev->buckets));
    if (!dev->peers || !dev->txq || !dev->events || !dev->cookie_tx || !dev->jobs ||
        !dev->free_slots || !dev->buckets || floe__heap_init(&dev->timers, a, dev->cfg.max_peers))
        return FLOE_ERR_NOMEM;
    /* lowest slot on top, as the scan this replaces chose */
    for (dev->n_free = 0; dev->n_free < dev->cfg.max_peers; dev->n_free++)
        dev->free_slots[dev->n_free] = dev->cfg.max_peers - 1 - dev->n_free;
    return floe__wg_tables_new(dev);
}

int floe_wg_new(struct floe_wg **out, const struct floe_wg_config *cfg)
{
    struct floe_wg *dev;
    int err;

    if (!out || !cfg)
        return FLOE_ERR_INVALID_ARG;
    *out = NULL;
    err = device_check_config(cfg);
    if (err)
        return err;
    dev = floe_mem_calloc(&cfg->alloc, 1, sizeof(*dev));
    if (!dev)
        return FLOE_ERR_NOMEM;
    dev->cfg = *cfg;
    if (!dev->cfg.parallel.lanes)
        dev->cfg.parallel.lanes = 1;
    err = device_alloc(dev);
    if (!err)
        err = floe_x25519_key_new(&dev->static_key, &dev->cfg.alloc, cfg->private_key);
    floe_wipe(dev->cfg.private_key, sizeof(dev->cfg.private_key));
    if (!err)
        err = floe_x25519_key_public(dev->static_key, dev->static_pub);
    if (err) {
        floe_wg_free(dev);
        return err;
    }
    device_precompute(dev);
    *out = dev;
    return 0;
}

static void device_peer_wipe(struct floe_wg *dev, struct floe_wg_peer *peer)
{
    floe__wg_keypairs_clear(dev, peer);
    floe__wg_handshake_clear(dev, peer);
    floe__wg_queue_free(peer);
    floe_wipe(peer, sizeof(*peer));
}

void floe_wg_free(struct floe_wg *dev)
{
    struct floe_allocator a;
    uint32_t i;

    if (!dev)
        return;
    a = dev->cfg.alloc;
    for (i = 0; dev->peers && dev->index_vals && i < dev->cfg.max_peers; i++) {
        if (dev->peers[i].used)
            device_peer_wipe(dev, &dev->peers[i]);
    }
    floe_x25519_key_free(dev->static_key);
    floe__wg_tables_free(dev);
    floe_mem_free(&a, dev->peers);
    floe_mem_free(&a, dev->txq);
    floe_mem_free(&a, dev->events);
    floe_mem_free(&a, dev->cookie_tx);
    floe_mem_free(&a, dev->jobs);
    floe__heap_free(&dev->timers, &a);
    floe_mem_free(&a, dev->free_slots);
    floe_mem_free(&a, dev->buckets);
    floe_wipe(dev, sizeof(*dev));
    floe_mem_free(&a, dev);
}

void floe_wg_public_key(const struct floe_wg *dev, uint8_t pub[FLOE_WG_KEY_LEN])
{
    memcpy(pub, dev->static_pub, FLOE_WG_KEY_LEN);
}

void floe_wg_set_wall_clock(struct floe_wg *dev, floe_time now, uint64_t unix_ns)
{
    dev->wall_offset = (int64_t)(unix_ns - now);
}

void floe_wg_set_under_load(struct floe_wg *dev, bool under_load)
{
    dev->under_load_flag = under_load;
}

struct floe_wg_stats floe_wg_stats(const struct floe_wg *dev)
{
    return dev->stats;
}

int floe_wg_poll_event(struct floe_wg *dev, struct floe_wg_event *ev)
{
    if (!dev || !ev || !dev->ev_count)
        return 0;
    *ev = dev->events[dev->ev_head];
    dev->ev_head = (dev->ev_head + 1) % dev->cfg.max_events;
    if (--dev->ev_count == 0)
        dev->ev_head = 0; /* an emptied ring starts over: its first lines stay in cache */
    return 1;
}
