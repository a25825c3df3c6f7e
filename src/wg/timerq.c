/*
 * The device's timer queue: a binary min-heap of the peers that have a pending timer, keyed
 * by each peer's earliest deadline (floe__wg_timers_next). The timer module re-keys a peer
 * after every change of its deadlines, so floe_wg_poll_timeout reads the top and
 * floe_wg_handle_timeout visits only the peers that are due: an idle wakeup costs the same
 * at 10 peers and at 10,000.
 */
#include "wg/wg_int.h"

/* Take peer out of the queue (nothing when it is not queued). */
void floe__wg_timerq_remove(struct floe_wg_peer *peer)
{
    floe__heap_remove(&peer->dev->timers, peer->slot);
}

/* Re-key peer after its deadlines changed: queued, moved, or taken out when none is left. */
void floe__wg_timers_update(struct floe_wg_peer *peer)
{
    floe_time at = floe__wg_timers_next(peer);

    if (at == FLOE_TIME_NEVER)
        floe__heap_remove(&peer->dev->timers, peer->slot);
    else
        floe__heap_set(&peer->dev->timers, peer->slot, at);
}

void floe_wg_handle_timeout(struct floe_wg *dev, floe_time now)
{
    uint32_t budget;

    if (!dev)
        return;
    /* Each due peer once: its timers fire and it is re-keyed past now (or leaves). */
    for (budget = dev->timers.len;
         budget && dev->timers.len && floe__heap_top_at(&dev->timers) <= now; budget--) {
        dev->timer_visits++;
        floe__wg_timers_expire(&dev->peers[floe__heap_top(&dev->timers)], now);
    }
}

floe_time floe_wg_poll_timeout(const struct floe_wg *dev)
{
    return dev ? floe__heap_top_at(&dev->timers) : FLOE_TIME_NEVER;
}
