/*
 * The timers of the paper's section 6, after the Linux module's timers.c: the rest of the
 * device reports what happened (data sent, data received, a handshake initiated or
 * complete, a session derived, any authenticated packet) and this module alone decides
 * which timer to arm or stop. Timers are deadlines in virtual time, fired by
 * floe_wg_handle_timeout.
 *
 *   retransmit_handshake  REKEY_TIMEOUT + jitter after an initiation: send another, up to
 *                         MAX_TIMER_HANDSHAKES + 2 attempts (REKEY_ATTEMPT_TIME), then give
 *                         up and drop the queued packets
 *   send_keepalive        KEEPALIVE_TIMEOUT after data was received with nothing sent back
 *   new_handshake         KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter after data was sent with
 *                         nothing received back: start a new handshake
 *   zero_key_material     REJECT_AFTER_TIME * 3 after the last session: wipe every key
 *   persistent_keepalive  the peer's interval after any authenticated packet
 *   session_expiry        REJECT_AFTER_TIME after the last session: report it dropped
 */
#include "wg/wg_int.h"

static floe_time timers_jitter(struct floe_wg_peer *peer)
{
    return floe__wg_rand32(peer->dev) % FLOE_WG_REKEY_TIMEOUT_JITTER_MAX;
}

static bool timers_pending(floe_time deadline)
{
    return deadline != FLOE_TIME_NEVER;
}

void floe__wg_timers_init(struct floe_wg_peer *peer)
{
    struct floe__wg_timers *t = &peer->t;

    t->retransmit_handshake = FLOE_TIME_NEVER;
    t->send_keepalive = FLOE_TIME_NEVER;
    t->new_handshake = FLOE_TIME_NEVER;
    t->zero_key_material = FLOE_TIME_NEVER;
    t->persistent_keepalive = peer->persistent_keepalive ? 0 : FLOE_TIME_NEVER;
    t->session_expiry = FLOE_TIME_NEVER;
    floe__wg_timers_update(peer);
}

/* A data message (not a keepalive) was sent. */
void floe__wg_timers_data_sent(struct floe_wg_peer *peer, floe_time now)
{
    if (!timers_pending(peer->t.new_handshake))
        peer->t.new_handshake =
            now + FLOE_WG_KEEPALIVE_TIMEOUT + FLOE_WG_REKEY_TIMEOUT + timers_jitter(peer);
    floe__wg_timers_update(peer);
}

/* A data message (not a keepalive) was received. */
void floe__wg_timers_data_received(struct floe_wg_peer *peer, floe_time now)
{
    if (!timers_pending(peer->t.send_keepalive))
        peer->t.send_keepalive = now + FLOE_WG_KEEPALIVE_TIMEOUT;
    else
        peer->t.need_another_keepalive = true;
    floe__wg_timers_update(peer);
}

/* Any authenticated packet (handshake, data, keepalive) was sent. */
void floe__wg_timers_any_authenticated_packet_sent(struct floe_wg_peer *peer)
{
    peer->t.send_keepalive = FLOE_TIME_NEVER;
    floe__wg_timers_update(peer);
}

/* Any authenticated packet (handshake, data, keepalive) was received. */
void floe__wg_timers_any_authenticated_packet_received(struct floe_wg_peer *peer)
{
    peer->t.new_handshake = FLOE_TIME_NEVER;
    floe__wg_timers_update(peer);
}

/* Any authenticated packet went either way. */
void floe__wg_timers_any_authenticated_packet_traversal(struct floe_wg_peer *peer, floe_time now)
{
    if (peer->persistent_keepalive)
        peer->t.persistent_keepalive = now + FLOE_SEC(peer->persistent_keepalive);
    floe__wg_timers_update(peer);
}

/* A handshake initiation was sent. */
void floe__wg_timers_handshake_initiated(struct floe_wg_peer *peer, floe_time now)
{
    peer->t.retransmit_handshake = now + FLOE_WG_REKEY_TIMEOUT + timers_jitter(peer);
    floe__wg_timers_update(peer);
}

/* A handshake completed: the initiator got the response, or the responder the first data. */
void floe__wg_timers_handshake_complete(struct floe_wg_peer *peer, floe_time now)
{
    peer->t.retransmit_handshake = FLOE_TIME_NEVER;
    peer->t.handshake_attempts = 0;
    peer->t.sent_lastminute_handshake = false;
    peer->stats.last_handshake = now;
    peer->stats.last_handshake_unix_ns = (uint64_t)((int64_t)now + peer->dev->wall_offset);
    floe__wg_timers_update(peer);
}

/* New transport keys were derived from a handshake. */
void floe__wg_timers_session_derived(struct floe_wg_peer *peer, floe_time now)
{
    peer->t.zero_key_material = now + FLOE_WG_REJECT_AFTER_TIME * 3;
    peer->t.session_expiry = now + FLOE_WG_REJECT_AFTER_TIME;
    floe__wg_timers_update(peer);
}

static void timers_expired_retransmit_handshake(struct floe_wg_peer *peer, floe_time now)
{
    if (peer->t.handshake_attempts > FLOE_WG_MAX_TIMER_HANDSHAKES) {
        floe_log_emit(&peer->dev->cfg.log, FLOE_LOG_DEBUG, WG_TARGET,
                      "handshake did not complete, giving up", NULL, 0);
        peer->t.send_keepalive = FLOE_TIME_NEVER;
        floe__wg_queue_clear(peer, true);
        floe__wg_event(peer->dev, FLOE_WG_EV_HANDSHAKE_FAILED, peer);
        if (!timers_pending(peer->t.zero_key_material))
            peer->t.zero_key_material = now + FLOE_WG_REJECT_AFTER_TIME * 3;
        return;
    }
    peer->t.handshake_attempts++;
    floe__wg_send_initiation(peer, now, true);
}

static void timers_expired_send_keepalive(struct floe_wg_peer *peer, floe_time now)
{
    floe__wg_send_keepalive(peer, now);
    if (peer->t.need_another_keepalive) {
        peer->t.need_another_keepalive = false;
        peer->t.send_keepalive = now + FLOE_WG_KEEPALIVE_TIMEOUT;
    }
}

static void timers_session_gone(struct floe_wg_peer *peer)
{
    if (!peer->session_up)
        return;
    peer->session_up = false;
    floe__wg_event(peer->dev, FLOE_WG_EV_SESSION_DROPPED, peer);
}

static void timers_expired_zero_key_material(struct floe_wg_peer *peer)
{
    floe__wg_keypairs_clear(peer->dev, peer);
    floe__wg_handshake_clear(peer->dev, peer);
    timers_session_gone(peer);
}

static void timers_expired_session(struct floe_wg_peer *peer, floe_time now)
{
    if (!floe__wg_can_send(floe__wg_current(peer), now))
        timers_session_gone(peer);
}

/* Fire the peer's timers due at or before now. */
void floe__wg_timers_expire(struct floe_wg_peer *peer, floe_time now)
{
    struct floe__wg_timers *t = &peer->t;

    if (t->retransmit_handshake <= now) {
        t->retransmit_handshake = FLOE_TIME_NEVER;
        timers_expired_retransmit_handshake(peer, now);
    }
    if (t->send_keepalive <= now) {
        t->send_keepalive = FLOE_TIME_NEVER;
        timers_expired_send_keepalive(peer, now);
    }
    if (t->new_handshake <= now) {
        t->new_handshake = FLOE_TIME_NEVER;
        floe__wg_send_initiation(peer, now, false);
    }
    if (t->zero_key_material <= now) {
        t->zero_key_material = FLOE_TIME_NEVER;
        timers_expired_zero_key_material(peer);
    }
    if (t->persistent_keepalive <= now) {
        t->persistent_keepalive = FLOE_TIME_NEVER;
        floe__wg_send_keepalive(peer, now);
    }
    if (t->session_expiry <= now) {
        t->session_expiry = FLOE_TIME_NEVER;
        timers_expired_session(peer, now);
    }
    floe__wg_timers_update(peer);
}

floe_time floe__wg_timers_next(const struct floe_wg_peer *peer)
{
    const struct floe__wg_timers *t = &peer->t;
    floe_time next = floe_time_min(t->retransmit_handshake, t->send_keepalive);

    next = floe_time_min(next, t->new_handshake);
    next = floe_time_min(next, t->zero_key_material);
    next = floe_time_min(next, t->persistent_keepalive);
    return floe_time_min(next, t->session_expiry);
}
