/* Peers of a device: adding (with the precomputations of section 5.4), removing, lookup. */
#include <string.h>

#include "wg/wg_int.h"

static void peer_hash2(uint8_t out[32], const void *a, size_t a_len, const uint8_t b[32])
{
    struct floe_span p[2] = {floe_span_make(a, a_len), floe_span_make(b, 32)};

    floe_blake2s_hash(out, p, 2);
}

static int peer_check(const struct floe_wg *dev, const struct floe_wg_peer_config *cfg)
{
    if (memcmp(cfg->public_key, dev->static_pub, 32) == 0)
        return FLOE_ERR_INVALID_ARG;
    if (floe__wg_pub_find(dev, cfg->public_key))
        return FLOE_ERR_INVALID_ARG;
    if (dev->n_peers == dev->cfg.max_peers)
        return FLOE_ERR_NOMEM;
    return 0;
}

/* An unused slot, from the stack (peer_check made sure there is one). */
static uint32_t peer_free_slot(struct floe_wg *dev)
{
    return dev->free_slots[--dev->n_free];
}

int floe_wg_peer_add(struct floe_wg *dev, const struct floe_wg_peer_config *cfg,
                     struct floe_wg_peer **out)
{
    struct floe_wg_peer *peer;
    uint32_t slot;
    int err;

    if (!dev || !cfg)
        return FLOE_ERR_INVALID_ARG;
    err = peer_check(dev, cfg);
    if (err)
        return err;
    slot = peer_free_slot(dev);
    peer = &dev->peers[slot];
    memset(peer, 0, sizeof(*peer));
    err = floe_x25519_key_shared(dev->static_key, peer->static_static, cfg->public_key);
    if (err) {
        floe_wipe(peer, sizeof(*peer));
        dev->free_slots[dev->n_free++] = slot;
        return err;
    }
    peer->dev = dev;
    peer->slot = slot;
    peer->used = true;
    memcpy(peer->pub, cfg->public_key, 32);
    if (cfg->has_psk)
        memcpy(peer->psk, cfg->psk, 32);
    peer_hash2(peer->initial_hash, dev->initial_hash, 32, peer->pub);
    peer_hash2(peer->mac1_key, FLOE_WG_LABEL_MAC1, 8, peer->pub);
    peer_hash2(peer->cookie_key, FLOE_WG_LABEL_COOKIE, 8, peer->pub);
    peer->endpoint = cfg->endpoint;
    peer->persistent_keepalive = cfg->persistent_keepalive;
    peer->user = cfg->user;
    peer->cur = peer->prev = peer->next = WG_KP_NONE;
    floe__wg_timers_init(peer);
    floe__wg_pub_add(dev, slot);
    dev->n_peers++;
    if (out)
        *out = peer;
    return 0;
}

static bool peer_is_ours(const struct floe_wg *dev, const struct floe_wg_peer *peer)
{
    return dev && peer && peer >= dev->peers && peer < dev->peers + dev->cfg.max_peers &&
           peer->used;
}

/* Remove every queued reference to the peer in slot from the transmit and event rings. */
static void peer_purge_queues(struct floe_wg *dev, struct floe_wg_peer *peer)
{
    uint32_t i, n = 0, cap = dev->cfg.max_peers, ecap = dev->cfg.max_events;

    for (i = 0; i < dev->txq_count; i++) {
        uint32_t s = dev->txq[(dev->txq_head + i) % cap];

        if (s != peer->slot)
            dev->txq[(dev->txq_head + n++) % cap] = s;
    }
    dev->txq_count = n;
    if (n == 0)
        dev->txq_head = 0;
    n = 0;
    for (i = 0; i < dev->ev_count; i++) {
        struct floe_wg_event ev = dev->events[(dev->ev_head + i) % ecap];

        if (ev.peer != peer)
            dev->events[(dev->ev_head + n++) % ecap] = ev;
    }
    dev->ev_count = n;
    if (n == 0)
        dev->ev_head = 0;
}

int floe_wg_peer_remove(struct floe_wg *dev, struct floe_wg_peer *peer)
{
    uint32_t slot;

    if (!peer_is_ours(dev, peer))
        return FLOE_ERR_INVALID_ARG;
    peer_purge_queues(dev, peer);
    floe__wg_timerq_remove(peer);
    floe__wg_pub_del(dev, peer->slot);
    floe__wg_keypairs_clear(dev, peer);
    floe__wg_handshake_clear(dev, peer);
    floe__wg_queue_free(peer);
    slot = peer->slot;
    floe_wipe(peer, sizeof(*peer));
    dev->free_slots[dev->n_free++] = slot;
    dev->n_peers--;
    return 0;
}

struct floe_wg_peer *floe_wg_peer_find(const struct floe_wg *dev,
                                       const uint8_t pub[FLOE_WG_KEY_LEN])
{
    if (!dev || !pub)
        return NULL;
    return floe__wg_pub_find(dev, pub);
}

int floe_wg_peer_set_endpoint(struct floe_wg *dev, struct floe_wg_peer *peer,
                              const struct floe_addr *endpoint)
{
    if (!peer_is_ours(dev, peer) || !endpoint)
        return FLOE_ERR_INVALID_ARG;
    peer->endpoint = *endpoint;
    return 0;
}

int floe_wg_peer_set_psk(struct floe_wg *dev, struct floe_wg_peer *peer, bool has_psk,
                         const uint8_t psk[FLOE_WG_KEY_LEN])
{
    if (!peer_is_ours(dev, peer) || (has_psk && !psk))
        return FLOE_ERR_INVALID_ARG;
    if (has_psk)
        memcpy(peer->psk, psk, 32);
    else
        floe_wipe(peer->psk, 32);
    return 0;
}

int floe_wg_peer_set_keepalive(struct floe_wg *dev, struct floe_wg_peer *peer, floe_time now,
                               uint16_t seconds)
{
    if (!peer_is_ours(dev, peer))
        return FLOE_ERR_INVALID_ARG;
    if (seconds == peer->persistent_keepalive)
        return 0;
    peer->persistent_keepalive = seconds;
    peer->t.persistent_keepalive = seconds ? now : FLOE_TIME_NEVER;
    floe__wg_timers_update(peer);
    return 0;
}

uint16_t floe_wg_peer_keepalive(const struct floe_wg_peer *peer)
{
    return peer->persistent_keepalive;
}

struct floe_addr floe_wg_peer_endpoint(const struct floe_wg_peer *peer)
{
    return peer->endpoint;
}

void floe_wg_peer_public_key(const struct floe_wg_peer *peer, uint8_t pub[FLOE_WG_KEY_LEN])
{
    memcpy(pub, peer->pub, FLOE_WG_KEY_LEN);
}

void *floe_wg_peer_user(const struct floe_wg_peer *peer)
{
    return peer->user;
}

struct floe_wg_peer_stats floe_wg_peer_stats(const struct floe_wg_peer *peer)
{
    return peer->stats;
}

bool floe_wg_peer_has_session(const struct floe_wg_peer *peer, floe_time now)
{
    return peer->cur != WG_KP_NONE && floe__wg_can_send(&peer->kp[peer->cur], now);
}
