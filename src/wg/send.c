/*
 * The sending side: handshake initiations (rate limited to one per REKEY_TIMEOUT), the
 * peer's bounded queue of packets waiting for a session, keepalives, data messages and
 * the key freshness checks of the paper's section 6.2.
 */
#include <string.h>

#include "wg/wg_int.h"

/*
 * Start a handshake (is_retry: a retransmission, which keeps the attempt count). Nothing
 * happens within REKEY_TIMEOUT of the last handshake message sent.
 */
void floe__wg_send_initiation(struct floe_wg_peer *peer, floe_time now, bool is_retry)
{
    struct floe_wg *dev = peer->dev;

    if (!is_retry)
        peer->t.handshake_attempts = 0;
    if (peer->t.sent_any_handshake && now - peer->t.last_sent_handshake < FLOE_WG_REKEY_TIMEOUT)
        return;
    if (floe__wg_create_initiation(dev, peer, now, peer->hs_msg) != 0) {
        floe__wg_drop(dev, FLOE_WG_DROP_NO_MEMORY, &peer->endpoint);
        return;
    }
    floe__wg_add_macs(dev, peer, now, peer->hs_msg, FLOE_WG_INITIATION_LEN);
    peer->hs_len = FLOE_WG_INITIATION_LEN;
    peer->t.last_sent_handshake = now;
    peer->t.sent_any_handshake = true;
    peer->stats.handshakes_sent++;
    floe__wg_txq_push(dev, peer);
    floe__wg_timers_any_authenticated_packet_traversal(peer, now);
    floe__wg_timers_any_authenticated_packet_sent(peer);
    floe__wg_timers_handshake_initiated(peer, now);
}

int floe_wg_peer_resend_initiation(struct floe_wg *dev, struct floe_wg_peer *peer, floe_time now)
{
    uint64_t before;

    if (!dev || !peer || peer->dev != dev)
        return FLOE_ERR_INVALID_ARG;
    if (peer->t.retransmit_handshake == FLOE_TIME_NEVER)
        return 0; /* no initiation of ours waits for its response */
    if (now - peer->t.last_sent_handshake < FLOE_SEC(1) / FLOE_WG_INITIATIONS_PER_SECOND)
        return 0; /* the responder would drop it as a flood */
    before = peer->stats.handshakes_sent;
    peer->t.sent_any_handshake = false; /* lift the REKEY_TIMEOUT limit for this one */
    floe__wg_send_initiation(peer, now, true);
    if (peer->stats.handshakes_sent == before) {
        peer->t.sent_any_handshake = true;
        return 0;
    }
    return 1;
}

static int send_queue_alloc(struct floe_wg_peer *peer)
{
    const struct floe_wg_config *cfg = &peer->dev->cfg;

    if (peer->queue)
        return 0;
    peer->queue = floe_mem_calloc(&cfg->alloc, cfg->queue_packets, cfg->queue_packet_max);
    peer->queue_len = floe_mem_calloc(&cfg->alloc, cfg->queue_packets, sizeof(uint32_t));
    if (peer->queue && peer->queue_len)
        return 0;
    floe__wg_queue_free(peer);
    return FLOE_ERR_NOMEM;
}

void floe__wg_queue_free(struct floe_wg_peer *peer)
{
    const struct floe_wg_config *cfg = &peer->dev->cfg;

    if (peer->queue)
        floe_wipe(peer->queue, (size_t)cfg->queue_packets * cfg->queue_packet_max);
    floe_mem_free(&cfg->alloc, peer->queue);
    floe_mem_free(&cfg->alloc, peer->queue_len);
    peer->queue = NULL;
    peer->queue_len = NULL;
    peer->q_head = peer->q_count = 0;
}

/* Drop every queued packet; count them as given up when count is set. */
void floe__wg_queue_clear(struct floe_wg_peer *peer, bool count)
{
    if (count)
        peer->dev->stats.drops[FLOE_WG_DROP_HANDSHAKE_GAVE_UP] += peer->q_count;
    peer->q_head = peer->q_count = 0;
}

/* Copy a packet to the tail of the queue; a full queue loses its oldest packet. */
bool floe__wg_stage(struct floe_wg_peer *peer, const uint8_t *pkt, size_t len)
{
    struct floe_wg *dev = peer->dev;
    uint32_t slot;

    if (len > dev->cfg.queue_packet_max) {
        floe__wg_drop(dev, FLOE_WG_DROP_TOO_LARGE, &peer->endpoint);
        return false;
    }
    if (send_queue_alloc(peer) != 0) {
        floe__wg_drop(dev, FLOE_WG_DROP_NO_MEMORY, &peer->endpoint);
        return false;
    }
    if (peer->q_count == dev->cfg.queue_packets) {
        floe__wg_drop(dev, FLOE_WG_DROP_QUEUE_FULL, &peer->endpoint);
        peer->q_head = (peer->q_head + 1) % dev->cfg.queue_packets;
        peer->q_count--;
    }
    slot = (peer->q_head + peer->q_count) % dev->cfg.queue_packets;
    if (len)
        memcpy(peer->queue + (size_t)slot * dev->cfg.queue_packet_max, pkt, len);
    peer->queue_len[slot] = (uint32_t)len;
    peer->q_count++;
    return true;
}

/* Queued packets go out with the current keypair, or wait for a handshake started here. */
static void send_staged(struct floe_wg_peer *peer, floe_time now)
{
    if (floe__wg_can_send(floe__wg_current(peer), now))
        floe__wg_txq_push(peer->dev, peer);
    else
        floe__wg_send_initiation(peer, now, false);
}

/* Send a keepalive (an empty data message), behind anything already queued. */
void floe__wg_send_keepalive(struct floe_wg_peer *peer, floe_time now)
{
    if (peer->q_count == 0 && !floe__wg_stage(peer, NULL, 0))
        return;
    send_staged(peer, now);
}

/* After sending: rekey after REKEY_AFTER_MESSAGES, or REKEY_AFTER_TIME as initiator. */
void floe__wg_keep_key_fresh_sent(struct floe_wg_peer *peer, floe_time now)
{
    struct floe__wg_keypair *kp = floe__wg_current(peer);

    if (!floe__wg_can_send(kp, now))
        return;
    if (kp->send_counter > FLOE_WG_REKEY_AFTER_MESSAGES ||
        (kp->initiator && now - kp->birth >= FLOE_WG_REKEY_AFTER_TIME))
        floe__wg_send_initiation(peer, now, false);
}

/*
 * After receiving: an initiator whose keypair is near REJECT_AFTER_TIME (less
 * KEEPALIVE_TIMEOUT and REKEY_TIMEOUT) starts one last-minute handshake.
 */
void floe__wg_keep_key_fresh_received(struct floe_wg_peer *peer, floe_time now)
{
    struct floe__wg_keypair *kp = floe__wg_current(peer);

    if (peer->t.sent_lastminute_handshake || !floe__wg_can_send(kp, now) || !kp->initiator)
        return;
    if (now - kp->birth >=
        FLOE_WG_REJECT_AFTER_TIME - FLOE_WG_KEEPALIVE_TIMEOUT - FLOE_WG_REKEY_TIMEOUT) {
        peer->t.sent_lastminute_handshake = true;
        floe__wg_send_initiation(peer, now, false);
    }
}

/* The datagram length of a data message carrying len bytes, or FLOE_ERR_BUFFER_TOO_SMALL. */
long floe__wg_seal_size(size_t len, size_t cap)
{
    size_t padded = (len + 15) & ~(size_t)15;
    size_t total = padded + FLOE_WG_DATA_OVERHEAD;

    if (cap < total || padded > FLOE_AEAD_MAX_LEN)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    return (long)total;
}

/*
 * Frame pkt[0..len) in out as a data message to remote_index under counter: header, then
 * the packet padded with zeros to a multiple of 16, ready to be encrypted in place. pkt may
 * overlap out. The caller checked the room (floe__wg_seal_size).
 */
void floe__wg_seal_frame(uint32_t remote_index, uint64_t counter, const uint8_t *pkt, size_t len,
                         uint8_t *out)
{
    size_t padded = (len + 15) & ~(size_t)15;

    if (len)
        memmove(out + FLOE_WG_DATA_HEADER_LEN, pkt, len);
    memset(out + FLOE_WG_DATA_HEADER_LEN + len, 0, padded - len);
    floe_store_le32(out, FLOE_WG_MSG_DATA);
    floe_store_le32(out + 4, remote_index);
    floe_store_le64(out + 8, counter);
}

/* Count a data message of len plain bytes (total on the wire) as sent: stats and timers. */
void floe__wg_seal_account(struct floe_wg_peer *peer, floe_time now, size_t len, size_t total)
{
    peer->stats.tx_bytes += total;
    peer->stats.tx_packets++;
    floe__wg_timers_any_authenticated_packet_traversal(peer, now);
    floe__wg_timers_any_authenticated_packet_sent(peer);
    if (len)
        floe__wg_timers_data_sent(peer, now);
    floe__wg_keep_key_fresh_sent(peer, now);
}

/*
 * Encrypt pkt[0..len) under kp into out as a data message (floe__wg_seal_frame with the
 * keypair's next counter, then the AEAD on lane 0). Returns the datagram length or
 * FLOE_ERR_BUFFER_TOO_SMALL / FLOE_ERR_CRYPTO.
 */
long floe__wg_seal(struct floe_wg_peer *peer, struct floe__wg_keypair *kp, floe_time now,
                   const uint8_t *pkt, size_t len, uint8_t *out, size_t cap)
{
    long total = floe__wg_seal_size(len, cap);
    uint64_t counter;

    if (total < 0)
        return total;
    counter = kp->send_counter++;
    floe__wg_seal_frame(kp->remote_index, counter, pkt, len, out);
    if (floe_aead_encrypt_ctr(WG_SEND_CTX(kp, 0), out + FLOE_WG_DATA_HEADER_LEN,
                              out + FLOE_WG_DATA_HEADER_LEN, (size_t)total - FLOE_WG_DATA_OVERHEAD,
                              NULL, 0, counter) != 0)
        return FLOE_ERR_CRYPTO;
    floe__wg_seal_account(peer, now, len, (size_t)total);
    return total;
}

/* The peer's next datagram: a handshake message, then queued data. 0: nothing now. */
static long send_peer_next(struct floe_wg_peer *peer, floe_time now, uint8_t *buf, size_t cap)
{
    struct floe__wg_keypair *kp = floe__wg_current(peer);
    const uint8_t *pkt;
    long n;

    if (peer->hs_len) {
        if (cap < peer->hs_len)
            return FLOE_ERR_BUFFER_TOO_SMALL;
        memcpy(buf, peer->hs_msg, peer->hs_len);
        n = (long)peer->hs_len;
        peer->hs_len = 0;
        peer->stats.tx_bytes += (uint64_t)n;
        return n;
    }
    if (!peer->q_count || !floe__wg_can_send(kp, now))
        return 0;
    pkt = peer->queue + (size_t)peer->q_head * peer->dev->cfg.queue_packet_max;
    n = floe__wg_seal(peer, kp, now, pkt, peer->queue_len[peer->q_head], buf, cap);
    if (n < 0 && n != FLOE_ERR_CRYPTO)
        return n;
    peer->q_head = (peer->q_head + 1) % peer->dev->cfg.queue_packets;
    peer->q_count--;
    return n < 0 ? 0 : n;
}

static long send_cookie_reply(struct floe_wg *dev, uint8_t *buf, size_t cap, struct floe_addr *dst)
{
    struct floe__wg_cookie_tx *tx = &dev->cookie_tx[dev->ctx_head];

    if (cap < FLOE_WG_COOKIE_REPLY_LEN)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    memcpy(buf, tx->msg, FLOE_WG_COOKIE_REPLY_LEN);
    *dst = tx->to;
    dev->ctx_head = (dev->ctx_head + 1) % dev->cfg.max_cookie_replies;
    dev->ctx_count--;
    dev->stats.cookie_replies_sent++;
    return FLOE_WG_COOKIE_REPLY_LEN;
}

/* A peer without an endpoint cannot send: drop what it has. */
static void send_drop_unroutable(struct floe_wg_peer *peer)
{
    struct floe_wg *dev = peer->dev;

    if (peer->hs_len)
        floe__wg_drop(dev, FLOE_WG_DROP_NO_ENDPOINT, NULL);
    dev->stats.drops[FLOE_WG_DROP_NO_ENDPOINT] += peer->q_count;
    peer->hs_len = 0;
    peer->q_head = peer->q_count = 0;
}

long floe_wg_poll_transmit(struct floe_wg *dev, floe_time now, uint8_t *buf, size_t cap,
                           struct floe_addr *dst, struct floe_wg_peer **out_peer)
{
    struct floe_wg_peer *peer;
    long n;

    if (!dev || !buf || !dst)
        return FLOE_ERR_INVALID_ARG;
    if (out_peer)
        *out_peer = NULL;
    if (dev->ctx_count)
        return send_cookie_reply(dev, buf, cap, dst);
    while (dev->txq_count) {
        peer = &dev->peers[dev->txq[dev->txq_head]];
        if (peer->endpoint.family == FLOE_AF_NONE)
            send_drop_unroutable(peer);
        n = send_peer_next(peer, now, buf, cap);
        if (n != 0) {
            *dst = peer->endpoint;
            if (out_peer)
                *out_peer = peer;
            return n;
        }
        peer->in_txq = false;
        dev->txq_head = (dev->txq_head + 1) % dev->cfg.max_peers;
        if (--dev->txq_count == 0)
            dev->txq_head = 0; /* an emptied queue starts over at its (cached) first line */
    }
    return 0;
}
