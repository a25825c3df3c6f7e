/*
 * The device's timer queue: a binary min-heap of the peers that have a pending timer, keyed
 * by each peer's earliest deadline (floe__wg_timers_next). The timer module re-keys a peer
 * after every change of its deadlines, so floe_wg_poll_timeout reads the top and
 * floe_wg_handle_timeout visits only the peers that are due: an idle wakeup costs the same
 * at 10 peers and at 10,000.
 */
#include "wg/wg_int.h"

static floe_time timerq_at(const struct floe_wg *dev, uint32_t pos)
{
    return dev->heap[pos].at;
}

static void timerq_place(struct floe_wg *dev, uint32_t pos, struct floe__wg_timer e)
{
    dev->heap[pos] = e;
    dev->peers[e.slot].heap_pos = pos;
}

static void timerq_sift_up(struct floe_wg *dev, uint32_t pos)
{
    struct floe__wg_timer e = dev->heap[pos];

    while (pos > 0 && timerq_at(dev, (pos - 1) / 2) > e.at) {
        timerq_place(dev, pos, dev->heap[(pos - 1) / 2]);
        pos = (pos - 1) / 2;
    }
    timerq_place(dev, pos, e);
}

static void timerq_sift_down(struct floe_wg *dev, uint32_t pos)
{
    struct floe__wg_timer e = dev->heap[pos];
    uint32_t child;

    for (;;) {
        child = 2 * pos + 1;
        if (child >= dev->heap_len)
            break;
        if (child + 1 < dev->heap_len && timerq_at(dev, child + 1) < timerq_at(dev, child))
            child++;
        if (timerq_at(dev, child) >= e.at)
            break;
        timerq_place(dev, pos, dev->heap[child]);
        pos = child;
    }
    timerq_place(dev, pos, e);
}

/* Take peer out of the queue (nothing when it is not queued). */
void floe__wg_timerq_remove(struct floe_wg_peer *peer)
{
    struct floe_wg *dev = peer->dev;
    uint32_t pos = peer->heap_pos;
    struct floe__wg_timer last;

    if (pos == WG_NO_SLOT)
        return;
    peer->heap_pos = WG_NO_SLOT;
    last = dev->heap[--dev->heap_len];
    if (pos == dev->heap_len)
        return;
    timerq_place(dev, pos, last);
    timerq_sift_up(dev, pos);
    timerq_sift_down(dev, dev->peers[last.slot].heap_pos);
}

/* Re-key peer after its deadlines changed: queued, moved, or taken out when none is left. */
void floe__wg_timers_update(struct floe_wg_peer *peer)
{
    struct floe_wg *dev = peer->dev;
    floe_time at = floe__wg_timers_next(peer), old = peer->heap_at;

    if (at == FLOE_TIME_NEVER) {
        floe__wg_timerq_remove(peer);
        return;
    }
    peer->heap_at = at;
    if (peer->heap_pos == WG_NO_SLOT) {
        timerq_place(dev, dev->heap_len++, (struct floe__wg_timer){at, peer->slot});
        timerq_sift_up(dev, peer->heap_pos);
    } else if (at < old) {
        dev->heap[peer->heap_pos].at = at;
        timerq_sift_up(dev, peer->heap_pos);
    } else if (at > old) {
        dev->heap[peer->heap_pos].at = at;
        timerq_sift_down(dev, peer->heap_pos);
    }
}

void floe_wg_handle_timeout(struct floe_wg *dev, floe_time now)
{
    uint32_t budget;

    if (!dev)
        return;
    /* Each due peer once: its timers fire and it is re-keyed past now (or leaves). */
    for (budget = dev->heap_len; budget && dev->heap_len && timerq_at(dev, 0) <= now; budget--) {
        dev->timer_visits++;
        floe__wg_timers_expire(&dev->peers[dev->heap[0].slot], now);
    }
}

floe_time floe_wg_poll_timeout(const struct floe_wg *dev)
{
    if (!dev || !dev->heap_len)
        return FLOE_TIME_NEVER;
    return timerq_at(dev, 0);
}
