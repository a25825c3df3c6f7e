/*
 * Client transaction retransmission (RFC 8489 section 6.2.1) for STUN over UDP.
 *
 * The schedule is a pure function of the configuration and the instants the
 * caller passes in: sends at start, start + rto, ... with the rto multiplied by
 * the backoff after every retransmission and capped at max_rto; after the last
 * send the transaction waits last_wait (or the current rto) and times out. A
 * give_up_after bound ends the transaction early; it wins over a send that
 * would fall on the same instant.
 */
#include <string.h>

#include "floe/stun.h"

/* RFC 8489 section 6.2.1: RTO 500 ms, Rc = 7, Rm = 16 (last wait 16 * RTO). */
#define TXN_RFC8489_RTO FLOE_MS(500)
#define TXN_RFC8489_RC 7u
#define TXN_RFC8489_RM 16u

/* DESIGN.md section 3, TURN request retransmit (Firezone). */
#define TXN_TURN_RTO FLOE_SEC(1)
#define TXN_TURN_BACKOFF_PERMILLE 1500u
#define TXN_TURN_GIVE_UP FLOE_SEC(8)

struct floe_stun_txn_config floe_stun_txn_config_rfc8489(void)
{
    struct floe_stun_txn_config c = {
        .initial_rto = TXN_RFC8489_RTO,
        .backoff_permille = 2000,
        .max_rto = 0,
        .max_sends = TXN_RFC8489_RC,
        .last_wait = TXN_RFC8489_RM * TXN_RFC8489_RTO,
        .give_up_after = 0,
    };
    return c;
}

struct floe_stun_txn_config floe_stun_txn_config_turn(void)
{
    struct floe_stun_txn_config c = {
        .initial_rto = TXN_TURN_RTO,
        .backoff_permille = TXN_TURN_BACKOFF_PERMILLE,
        .max_rto = 0,
        .max_sends = 0,
        .last_wait = 0,
        .give_up_after = TXN_TURN_GIVE_UP,
    };
    return c;
}

/* The rto after one more backoff step, saturating, never shrinking, capped at max_rto. */
static floe_time txn_next_rto(const struct floe_stun_txn_config *cfg, floe_time rto)
{
    uint32_t permille = cfg->backoff_permille < 1000 ? 1000 : cfg->backoff_permille;
    floe_time next;

    if (rto > FLOE_TIME_NEVER / permille)
        next = FLOE_TIME_NEVER;
    else
        next = rto * permille / 1000;
    if (cfg->max_rto && next > cfg->max_rto)
        next = cfg->max_rto;
    return next;
}

static floe_time txn_give_up_at(const struct floe_stun_txn *t)
{
    if (!t->cfg.give_up_after)
        return FLOE_TIME_NEVER;
    return floe_time_add(t->started, t->cfg.give_up_after);
}

static bool txn_is_last_send(const struct floe_stun_txn *t)
{
    return t->cfg.max_sends && t->sends >= t->cfg.max_sends;
}

void floe_stun_txn_start(struct floe_stun_txn *t, const struct floe_stun_txn_config *cfg,
                         const uint8_t *txid, floe_time now)
{
    if (!t || !txid)
        return;
    memset(t, 0, sizeof(*t));
    t->cfg = cfg ? *cfg : floe_stun_txn_config_rfc8489();
    memcpy(t->txid, txid, FLOE_STUN_TXID_LEN);
    t->state = FLOE_STUN_TXN_WAITING;
    t->send_due = true;
    t->started = now;
    t->first_sent = FLOE_TIME_NEVER;
    t->last_sent = FLOE_TIME_NEVER;
    t->next = now;
    t->rto = t->cfg.initial_rto;
    t->rtt = FLOE_TIME_NEVER;
}

int floe_stun_txn_poll_transmit(struct floe_stun_txn *t, floe_time now)
{
    floe_time wait;

    if (!t || t->state != FLOE_STUN_TXN_WAITING || !t->send_due)
        return 0;
    if (t->sends > 0)
        t->rto = txn_next_rto(&t->cfg, t->rto);
    t->send_due = false;
    t->sends++;
    if (t->sends == 1)
        t->first_sent = now;
    t->last_sent = now;
    wait = t->rto;
    if (txn_is_last_send(t) && t->cfg.last_wait) {
        wait = t->cfg.last_wait;
        t->rto = wait;
    }
    t->next = floe_time_min(floe_time_add(now, wait), txn_give_up_at(t));
    return 1;
}

floe_time floe_stun_txn_poll_timeout(const struct floe_stun_txn *t)
{
    if (!t || t->state != FLOE_STUN_TXN_WAITING)
        return FLOE_TIME_NEVER;
    return t->next;
}

void floe_stun_txn_handle_timeout(struct floe_stun_txn *t, floe_time now)
{
    if (!t || t->state != FLOE_STUN_TXN_WAITING || t->send_due || now < t->next)
        return;
    if (now >= txn_give_up_at(t) || txn_is_last_send(t)) {
        t->state = FLOE_STUN_TXN_TIMED_OUT;
        t->next = FLOE_TIME_NEVER;
        return;
    }
    t->send_due = true;
}

int floe_stun_txn_handle_response(struct floe_stun_txn *t, floe_time now,
                                  const struct floe_stun_msg *msg)
{
    if (!t || !msg || t->state != FLOE_STUN_TXN_WAITING || t->sends == 0)
        return 0;
    if (msg->cls != FLOE_STUN_SUCCESS && msg->cls != FLOE_STUN_ERROR)
        return 0;
    if (memcmp(msg->txid, t->txid, FLOE_STUN_TXID_LEN) != 0)
        return 0;
    t->state = FLOE_STUN_TXN_DONE;
    t->send_due = false;
    t->next = FLOE_TIME_NEVER;
    /* Karn's rule: a retransmitted request gives no RTT sample. */
    if (t->sends == 1)
        t->rtt = now >= t->first_sent ? now - t->first_sent : 0;
    return 1;
}

bool floe_stun_txn_is_done(const struct floe_stun_txn *t)
{
    return t && t->state == FLOE_STUN_TXN_DONE;
}

bool floe_stun_txn_is_timed_out(const struct floe_stun_txn *t)
{
    return t && t->state == FLOE_STUN_TXN_TIMED_OUT;
}
