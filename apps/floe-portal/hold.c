/*
 * Candidates for a device that is connected nowhere (issue 12). route.c hands the candidate
 * messages it cannot deliver (ice_candidates, invalidate_ice_candidates) to portald_hold_cands:
 * each candidate becomes a row of the store's held_candidates (store_held.c), bounded per
 * (device, peer) pair and per device, expiring after PORTALD_HOLD_TTL or with the pair's
 * authorization; an invalidation of a candidate still held removes it instead. When the
 * device joins next, on this instance or another one sharing the database, portald_hold_flush
 * sends what is held right after init, in order, grouped into messages per peer.
 *
 * With PostgreSQL, a device may join another instance between the presence check that found it
 * offline and the row's insert: after holding, presence is looked at again and an instance
 * that has the device now is told to flush with the NOTIFY payload {"to":DEVICE,"held":1}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

static const struct floe_store_hold_limits portald_hold_limits = {
    .ttl = PORTALD_HOLD_TTL,
    .per_peer = PORTALD_HOLD_PER_PEER,
    .per_device = PORTALD_HOLD_PER_DEVICE,
};

/* Device to joined another instance meanwhile: that instance flushes. */
static void portald_hold_recheck(struct portald *d, int64_t to)
{
    char instance[FLOE_STORE_INSTANCE_MAX], channel[FLOE_STORE_INSTANCE_MAX + 16];
    char payload[64];

    if (floe_store_engine_of(d->store) != FLOE_STORE_POSTGRES ||
        floe_store_presence_instance(d->store, to, portald_wall(), PORTALD_PRESENCE_TTL, instance) <
            0 ||
        strcmp(instance, d->opts.instance) == 0)
        return;
    snprintf(channel, sizeof(channel), PORTALD_NOTIFY_PREFIX "%s", instance);
    snprintf(payload, sizeof(payload), "{\"to\":%lld,\"held\":1}", (long long)to);
    if (floe_store_notify(d->store, channel, payload) < 0)
        d->stats.store_errors++;
    else
        d->stats.notifies_out++;
}

void portald_hold_cands(struct portald *d, int64_t to, int64_t from, bool invalidate)
{
    portald_hold_list(d, &d->msg->u.cands, to, from, invalidate);
}

void portald_hold_list(struct portald *d, const struct floe_portal_candidates *cs, int64_t to,
                       int64_t from, bool invalidate)
{
    int64_t wall = portald_wall();
    bool any = false;

    for (uint32_t i = 0; i < cs->n_candidates; i++) {
        struct floe_store_hold_result r;

        if (floe_store_held_add(d->store, to, from, invalidate, cs->candidates[i], wall,
                                &portald_hold_limits, &r) < 0) {
            d->stats.store_errors++;
            portald_log(d, FLOE_LOG_WARN, "cannot hold a candidate for %lld: %s", (long long)to,
                        floe_store_errmsg(d->store));
            continue;
        }
        d->stats.candidates_held += r.held;
        d->stats.candidates_cancelled += r.cancelled;
        d->stats.candidates_dropped_bound += (uint64_t)r.dropped;
        any = any || r.held;
    }
    if (any)
        portald_hold_recheck(d, to);
}

/*
 * Whether c and peer still share a live authorization (it may have been revoked while c was
 * away); *last_peer and *last_live keep the answer for the next run of the same peer.
 */
static bool portald_hold_live(struct portald *d, const struct portald_conn *c, int64_t peer,
                              int64_t *last_peer, bool *last_live)
{
    bool client = c->kind == PORTALD_KIND_CLIENT;
    int64_t client_id = client ? c->dev.id : peer;

    if (*last_peer != peer) {
        *last_peer = peer;
        if (floe_store_authorizations_live(d->store, client ? peer : c->dev.id, &client_id, 1,
                                           portald_wall(), last_live) < 0) {
            d->stats.store_errors++;
            *last_live = false;
        }
    }
    if (!*last_live)
        d->stats.candidates_refused++;
    return *last_live;
}

/*
 * Send held[0..n) to c: runs of the same peer and kind as one message each, in order; those
 * of a peer c no longer shares a live authorization with are dropped and counted.
 */
static void portald_hold_send(struct portald *d, struct portald_conn *c,
                              const struct floe_store_held *held, size_t n)
{
    struct floe_portal_candidates *cs = &d->msg->u.cands;
    int64_t last_peer = 0;
    bool last_live = false;
    size_t i = 0;

    while (i < n) {
        memset(d->msg, 0, sizeof(*d->msg));
        d->msg->type = held[i].invalidate ? FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES
                                          : FLOE_PORTAL_MSG_ICE_CANDIDATES;
        d->msg->topic =
            c->kind == PORTALD_KIND_CLIENT ? FLOE_PORTAL_TOPIC_CLIENT : FLOE_PORTAL_TOPIC_GATEWAY;
        cs->n_ids = 1;
        snprintf(cs->ids[0], FLOE_PORTAL_ID_MAX, "%lld", (long long)held[i].peer_id);
        for (size_t j = i;
             j < n && cs->n_candidates < FLOE_PORTAL_CANDIDATES_MAX &&
             held[j].peer_id == held[i].peer_id && held[j].invalidate == held[i].invalidate;
             j++)
            snprintf(cs->candidates[cs->n_candidates++], FLOE_PORTAL_CANDIDATE_MAX, "%s",
                     held[j].candidate);
        if (portald_hold_live(d, c, held[i].peer_id, &last_peer, &last_live) &&
            portald_send_msg(d, c) == 0)
            d->stats.candidates_delivered_late += cs->n_candidates;
        i += cs->n_candidates;
    }
}

void portald_hold_flush(struct portald *d, struct portald_conn *c)
{
    struct floe_store_held *held;
    size_t n;
    int64_t expired = 0;

    if (!c->joined || c->dead)
        return;
    if (floe_store_held_take(d->store, c->dev.id, portald_wall(), &held, &n, &expired) < 0) {
        d->stats.store_errors++;
        return;
    }
    d->stats.candidates_expired += (uint64_t)expired;
    if (n > 0) {
        portald_hold_send(d, c, held, n);
        portald_log(d, FLOE_LOG_INFO, "%s %s: %llu held candidates taken",
                    c->kind == PORTALD_KIND_CLIENT ? "client" : "gateway", c->sid,
                    (unsigned long long)n);
    }
    free(held);
}

void portald_hold_expire(struct portald *d, int64_t wall)
{
    int64_t n = 0;

    if (floe_store_held_expire(d->store, wall, &n) < 0)
        d->stats.store_errors++;
    else
        d->stats.candidates_expired += (uint64_t)n;
}

bool portald_hold_notified(struct portald *d, int64_t to, const char *msg_json)
{
    char reason[160];
    bool invalidate;
    int64_t from;

    if (floe_portal_msg_decode(d->msg, msg_json, strlen(msg_json), reason, sizeof(reason)) < 0)
        return false;
    invalidate = d->msg->type == FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES;
    if ((!invalidate && d->msg->type != FLOE_PORTAL_MSG_ICE_CANDIDATES) ||
        d->msg->u.cands.n_ids != 1)
        return false;
    from = strtoll(d->msg->u.cands.ids[0], NULL, 10);
    if (from <= 0)
        return false;
    portald_hold_cands(d, to, from, invalidate);
    return true;
}
