/*
 * The two datapath verbs: floe_wg_encapsulate (an IP packet to a data message, or to the
 * peer's queue behind a handshake) and floe_wg_decapsulate (a datagram to an IP packet, a
 * consumed handshake message or a counted drop). Neither allocates.
 */
#include <string.h>

#include "wg/wg_int.h"

bool floe__wg_data_peer_ok(const struct floe_wg *dev, const struct floe_wg_peer *peer)
{
    return peer >= dev->peers && peer < dev->peers + dev->cfg.max_peers && peer->used;
}

/*
 * floe_wg_encapsulate after its argument checks. With job NULL the data message is sealed
 * here; otherwise it is framed and accounted, and job says what is left to encrypt.
 */
long floe__wg_encap_one(struct floe_wg *dev, floe_time now, struct floe_wg_peer *peer,
                        const uint8_t *pkt, size_t len, uint8_t *out, size_t cap,
                        struct floe_addr *dst, struct floe__wg_job *job)
{
    struct floe__wg_keypair *kp = floe__wg_current(peer);
    long n;

    if (peer->q_count == 0 && floe__wg_can_send(kp, now)) {
        if (peer->endpoint.family == FLOE_AF_NONE) {
            floe__wg_drop(dev, FLOE_WG_DROP_NO_ENDPOINT, NULL);
            return 0;
        }
        if (!job) {
            n = floe__wg_seal(peer, kp, now, pkt, len, out, cap);
        } else if ((n = floe__wg_seal_size(len, cap)) > 0) {
            /* Framing and encryption happen on the batch's lanes; the counter is taken now. */
            job->kp = kp;
            job->peer = peer;
            job->counter = kp->send_counter++;
            job->buf = out;
            job->in = pkt;
            job->in_len = len;
            job->len = (size_t)n - FLOE_WG_DATA_OVERHEAD;
            job->seal = true;
            floe__wg_seal_account(peer, now, len, (size_t)n);
        }
        if (n > 0)
            *dst = peer->endpoint;
        return n;
    }
    if (!floe__wg_stage(peer, pkt, len))
        return 0;
    if (floe__wg_can_send(kp, now))
        floe__wg_txq_push(dev, peer);
    else
        floe__wg_send_initiation(peer, now, false);
    return 0;
}

long floe_wg_encapsulate(struct floe_wg *dev, floe_time now, struct floe_wg_peer *peer,
                         const uint8_t *pkt, size_t len, uint8_t *out, size_t cap,
                         struct floe_addr *dst)
{
    if (!dev || !peer || (!pkt && len) || !out || !dst || !floe__wg_data_peer_ok(dev, peer))
        return FLOE_ERR_INVALID_ARG;
    return floe__wg_encap_one(dev, now, peer, pkt, len, out, cap, dst, NULL);
}

static int data_drop(struct floe_wg *dev, const struct floe_addr *from, enum floe_wg_drop why,
                     struct floe_wg_result *res)
{
    floe__wg_drop(dev, why, from);
    res->kind = FLOE_WG_RESULT_DROP;
    res->drop = why;
    return FLOE_WG_RESULT_DROP;
}

static int data_handshake_done(struct floe_wg_peer *peer, struct floe_wg_result *res)
{
    res->kind = FLOE_WG_RESULT_HANDSHAKE;
    res->peer = peer;
    return FLOE_WG_RESULT_HANDSHAKE;
}

/* A session is confirmed for both sides of the handshake. */
static void data_session_confirmed(struct floe_wg_peer *peer, floe_time now)
{
    floe__wg_timers_handshake_complete(peer, now);
    peer->stats.handshakes_completed++;
    peer->session_up = true;
    floe__wg_event(peer->dev, FLOE_WG_EV_HANDSHAKE_COMPLETE, peer);
}

/* mac1 (and mac2 under load) of a handshake message; may queue a cookie reply. */
static bool data_macs_ok(struct floe_wg *dev, floe_time now, const struct floe_addr *from,
                         const uint8_t *msg, size_t len, enum floe_wg_drop *why)
{
    switch (floe__wg_check_macs(dev, now, from, msg, len)) {
    case WG_MAC_VALID:
        return true;
    case WG_MAC_NEED_COOKIE:
        floe__wg_queue_cookie_reply(dev, now, from, msg, len);
        *why = FLOE_WG_DROP_UNDER_LOAD;
        return false;
    case WG_MAC_RATE_LIMITED:
        *why = FLOE_WG_DROP_RATE_LIMITED;
        return false;
    default:
        *why = FLOE_WG_DROP_BAD_MAC1;
        return false;
    }
}

/* Build our response into the peer's handshake slot and derive the (next) keypair. */
static bool data_respond(struct floe_wg *dev, struct floe_wg_peer *peer, floe_time now)
{
    if (floe__wg_create_response(dev, peer, now, peer->hs_msg) != 0 ||
        floe__wg_keypair_derive(dev, peer, now, false) != 0) {
        floe__wg_handshake_clear(dev, peer);
        return false;
    }
    floe__wg_add_macs(dev, peer, now, peer->hs_msg, FLOE_WG_RESPONSE_LEN);
    peer->hs_len = FLOE_WG_RESPONSE_LEN;
    floe__wg_txq_push(dev, peer);
    floe__wg_timers_session_derived(peer, now);
    floe__wg_timers_any_authenticated_packet_traversal(peer, now);
    floe__wg_timers_any_authenticated_packet_sent(peer);
    peer->t.last_sent_handshake = now;
    peer->t.sent_any_handshake = true;
    return true;
}

static int data_initiation(struct floe_wg *dev, floe_time now, const struct floe_addr *from,
                           const uint8_t *msg, struct floe_wg_result *res)
{
    struct floe_wg_peer *peer = NULL;
    enum floe_wg_drop why;

    if (!data_macs_ok(dev, now, from, msg, FLOE_WG_INITIATION_LEN, &why) ||
        !floe__wg_consume_initiation(dev, now, msg, &peer, &why, res->initiator_key))
        return data_drop(dev, from, why, res);
    peer->stats.handshakes_received++;
    peer->stats.rx_bytes += FLOE_WG_INITIATION_LEN;
    floe__wg_timers_any_authenticated_packet_received(peer);
    floe__wg_timers_any_authenticated_packet_traversal(peer, now);
    floe__wg_update_endpoint(peer, from);
    if (!data_respond(dev, peer, now))
        return data_drop(dev, from, FLOE_WG_DROP_NO_MEMORY, res);
    return data_handshake_done(peer, res);
}

static int data_response(struct floe_wg *dev, floe_time now, const struct floe_addr *from,
                         const uint8_t *msg, struct floe_wg_result *res)
{
    struct floe_wg_peer *peer = NULL;
    enum floe_wg_drop why;

    if (!data_macs_ok(dev, now, from, msg, FLOE_WG_RESPONSE_LEN, &why) ||
        !floe__wg_consume_response(dev, now, msg, &peer, &why))
        return data_drop(dev, from, why, res);
    peer->stats.rx_bytes += FLOE_WG_RESPONSE_LEN;
    floe__wg_timers_any_authenticated_packet_received(peer);
    floe__wg_timers_any_authenticated_packet_traversal(peer, now);
    floe__wg_update_endpoint(peer, from);
    if (floe__wg_keypair_derive(dev, peer, now, true) != 0)
        return data_drop(dev, from, FLOE_WG_DROP_NO_MEMORY, res);
    floe__wg_timers_session_derived(peer, now);
    data_session_confirmed(peer, now);
    floe__wg_send_keepalive(peer, now);
    return data_handshake_done(peer, res);
}

static int data_cookie(struct floe_wg *dev, floe_time now, const struct floe_addr *from,
                       const uint8_t *msg, struct floe_wg_result *res)
{
    enum floe_wg_drop why;

    if (!floe__wg_consume_cookie_reply(dev, now, msg, &why))
        return data_drop(dev, from, why, res);
    return data_handshake_done(NULL, res);
}

/* The length of the IPv4 or IPv6 packet at the start of p[0..len), or 0 if malformed. */
static size_t data_inner_len(const uint8_t *p, size_t len)
{
    size_t n;

    if (len >= 20 && p[0] >> 4 == 4) {
        n = floe_load_be16(p + 2);
        return n >= 20 && n <= len ? n : 0;
    }
    if (len >= 40 && p[0] >> 4 == 6) {
        n = (size_t)floe_load_be16(p + 4) + 40;
        return n <= len ? n : 0;
    }
    return 0;
}

/* The keypair slot of peer whose local index is `index`, or WG_KP_NONE. */
static int data_keypair_slot(const struct floe_wg_peer *peer, uint32_t index)
{
    const int8_t slots[3] = {peer->cur, peer->prev, peer->next};
    int i;

    for (i = 0; i < 3; i++) {
        if (slots[i] != WG_KP_NONE && peer->kp[slots[i]].local_index == index)
            return slots[i];
    }
    return WG_KP_NONE;
}

/* After an authenticated data message under keypair slot (counters already updated). */
static void data_received(struct floe_wg_peer *peer, floe_time now, int slot,
                          const struct floe_addr *from, size_t len)
{
    if (floe__wg_keypair_confirm(peer, slot)) {
        data_session_confirmed(peer, now);
        if (peer->q_count)
            floe__wg_txq_push(peer->dev, peer);
    }
    floe__wg_keep_key_fresh_received(peer, now);
    floe__wg_timers_any_authenticated_packet_received(peer);
    floe__wg_timers_any_authenticated_packet_traversal(peer, now);
    floe__wg_update_endpoint(peer, from);
    peer->stats.rx_bytes += len;
    peer->stats.rx_packets++;
}

static int data_plain(struct floe_wg_peer *peer, floe_time now, const struct floe_addr *from,
                      uint8_t *out, size_t plen, struct floe_wg_result *res)
{
    size_t n;

    res->peer = peer;
    if (plen == 0) {
        res->kind = FLOE_WG_RESULT_KEEPALIVE;
        return FLOE_WG_RESULT_KEEPALIVE;
    }
    n = data_inner_len(out, plen);
    if (!n) {
        floe_wipe(out, plen);
        res->peer = NULL;
        return data_drop(peer->dev, from, FLOE_WG_DROP_BAD_INNER, res);
    }
    floe__wg_timers_data_received(peer, now);
    res->kind = FLOE_WG_RESULT_DATA;
    res->len = n;
    return FLOE_WG_RESULT_DATA;
}

/*
 * The checks of a data message before decryption: a known receiver index, a keypair that
 * may receive, a counter inside the replay window. Fills job (kp, peer, slot, index,
 * counter) and returns 1, or counts a drop and returns FLOE_WG_RESULT_DROP (0).
 */
int floe__wg_open_check(struct floe_wg *dev, floe_time now, const struct floe_addr *from,
                        const uint8_t *d, size_t len, struct floe__wg_job *job,
                        struct floe_wg_result *res)
{
    uint32_t index = floe_load_le32(d + 4);
    struct floe_wg_peer *peer = floe__wg_index_find(dev, index);
    int slot = peer ? data_keypair_slot(peer, index) : WG_KP_NONE;

    if (slot == WG_KP_NONE)
        return data_drop(dev, from, FLOE_WG_DROP_UNKNOWN_INDEX, res);
    job->kp = &peer->kp[slot];
    job->peer = peer;
    job->slot = (int8_t)slot;
    job->index = index;
    job->counter = floe_load_le64(d + 8);
    job->in = d + FLOE_WG_DATA_HEADER_LEN;
    job->len = len - FLOE_WG_DATA_HEADER_LEN;
    job->seal = false;
    if (!floe__wg_can_recv(job->kp, now))
        return data_drop(dev, from, FLOE_WG_DROP_KEY_EXPIRED, res);
    if (!floe__wg_replay_check(&job->kp->replay, job->counter))
        return data_drop(dev, from, FLOE_WG_DROP_REPLAY, res);
    return 1;
}

/*
 * After decryption (job->rc) into out: the replay window, the peer's timers, endpoint and
 * counters, and the inner packet. The keypair is checked again: a batch may have
 * retired it since floe__wg_open_check.
 */
int floe__wg_open_finish(struct floe_wg *dev, floe_time now, const struct floe_addr *from,
                         const struct floe__wg_job *job, uint8_t *out, struct floe_wg_result *res)
{
    struct floe__wg_keypair *kp = job->kp;
    size_t plen = job->len - FLOE_AEAD_TAG_LEN;

    if (!kp->used || kp->local_index != job->index) {
        floe_wipe(out, plen);
        return data_drop(dev, from, FLOE_WG_DROP_UNKNOWN_INDEX, res);
    }
    if (job->rc != 0)
        return data_drop(dev, from, FLOE_WG_DROP_DATA_DECRYPT, res);
    if (!floe__wg_replay_update(&kp->replay, job->counter)) {
        floe_wipe(out, plen);
        return data_drop(dev, from, FLOE_WG_DROP_REPLAY, res);
    }
    data_received(job->peer, now, job->slot, from, job->len + FLOE_WG_DATA_HEADER_LEN);
    return data_plain(job->peer, now, from, out, plen, res);
}

static int data_transport(struct floe_wg *dev, floe_time now, const struct floe_addr *from,
                          const uint8_t *d, size_t len, uint8_t *out, struct floe_wg_result *res)
{
    struct floe__wg_job job;

    if (floe__wg_open_check(dev, now, from, d, len, &job, res) != 1)
        return FLOE_WG_RESULT_DROP;
    job.rc =
        floe_aead_decrypt_ctr(WG_RECV_CTX(job.kp, 0), out, job.in, job.len, NULL, 0, job.counter);
    return floe__wg_open_finish(dev, now, from, &job, out, res);
}

/* Expected size of each message type; data messages have a minimum instead. */
static bool data_size_ok(uint32_t type, size_t len)
{
    switch (type) {
    case FLOE_WG_MSG_INITIATION:
        return len == FLOE_WG_INITIATION_LEN;
    case FLOE_WG_MSG_RESPONSE:
        return len == FLOE_WG_RESPONSE_LEN;
    case FLOE_WG_MSG_COOKIE_REPLY:
        return len == FLOE_WG_COOKIE_REPLY_LEN;
    default:
        return len >= FLOE_WG_DATA_OVERHEAD;
    }
}

int floe_wg_decapsulate(struct floe_wg *dev, floe_time now, const struct floe_addr *from,
                        const uint8_t *dgram, size_t len, uint8_t *out, size_t cap,
                        struct floe_wg_result *res)
{
    uint32_t type;

    if (!dev || !from || (!dgram && len) || !out || !res)
        return FLOE_ERR_INVALID_ARG;
    memset(res, 0, sizeof(*res));
    if (len < 4)
        return data_drop(dev, from, FLOE_WG_DROP_TOO_SHORT, res);
    type = floe_load_le32(dgram);
    if (type < FLOE_WG_MSG_INITIATION || type > FLOE_WG_MSG_DATA)
        return data_drop(dev, from, FLOE_WG_DROP_BAD_TYPE, res);
    if (!data_size_ok(type, len))
        return data_drop(dev, from, FLOE_WG_DROP_BAD_SIZE, res);
    if (type == FLOE_WG_MSG_INITIATION)
        return data_initiation(dev, now, from, dgram, res);
    if (type == FLOE_WG_MSG_RESPONSE)
        return data_response(dev, now, from, dgram, res);
    if (type == FLOE_WG_MSG_COOKIE_REPLY)
        return data_cookie(dev, now, from, dgram, res);
    if (cap < len - FLOE_WG_DATA_OVERHEAD)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    return data_transport(dev, now, from, dgram, len, out, res);
}
