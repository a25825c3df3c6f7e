/*
 * MACs and cookies (paper section 5.4.4 and 5.4.7). Every handshake message carries
 * mac1 = MAC(HASH(LABEL_MAC1 || S_pub_receiver), msg[0..len-32)); under load, a receiver
 * also wants mac2 = MAC(cookie, msg[0..len-16)) and answers a message without a valid one
 * with a cookie reply: the cookie MAC(R_m, source IP || source port) encrypted with
 * XChaCha20-Poly1305 under HASH(LABEL_COOKIE || S_pub_receiver), the message's mac1 as
 * associated data. The secret R_m changes every COOKIE_REFRESH_TIME. Cookie replies, and
 * messages with a valid mac2, take a token of their source's bucket in the rate limiter
 * (ratelimit.c): a flood from one source gets 20 answers a second, not one per message.
 */
#include <string.h>

#include "wg/wg_int.h"

#define COOKIE_LOAD_WINDOW FLOE_SEC(1)

/* Count one handshake message for the load threshold. */
static void cookie_count_load(struct floe_wg *dev, floe_time now)
{
    if (!dev->cfg.load_handshakes_per_s)
        return;
    if (now - dev->load_window_start >= COOKIE_LOAD_WINDOW) {
        dev->load_window_start = now;
        dev->load_count = 0;
    }
    if (++dev->load_count > dev->cfg.load_handshakes_per_s)
        dev->load_until = now + FLOE_WG_UNDER_LOAD_AFTER;
}

/* A batch brought `handshakes` handshake messages at once: the queue is backing up. */
void floe__wg_load_backlog(struct floe_wg *dev, floe_time now, uint32_t handshakes)
{
    if (dev->cfg.load_handshakes_per_batch && handshakes >= dev->cfg.load_handshakes_per_batch)
        dev->load_until = now + FLOE_WG_UNDER_LOAD_AFTER;
}

bool floe__wg_under_load(struct floe_wg *dev, floe_time now)
{
    return dev->under_load_flag || now < dev->load_until;
}

/* The cookie of a source address: MAC(R_m, IP || port), R_m renewed when too old. */
static void cookie_make(struct floe_wg *dev, floe_time now, const struct floe_addr *from,
                        uint8_t cookie[FLOE_WG_COOKIE_LEN])
{
    uint8_t in[18];
    size_t ip_len = from->family == FLOE_AF_INET6 ? 16 : 4;

    if (!dev->cookie_secret_set || now - dev->cookie_secret_birth >= FLOE_WG_COOKIE_REFRESH_TIME) {
        if (floe_rng_fill(&dev->cfg.rng, dev->cookie_secret, 32) != 0)
            memset(dev->cookie_secret, 0, 32);
        dev->cookie_secret_birth = now;
        dev->cookie_secret_set = true;
    }
    memcpy(in, from->ip, ip_len);
    floe_store_be16(in + ip_len, from->port);
    if (floe_blake2s_mac(cookie, dev->cookie_secret, 32, in, ip_len + 2) != 0)
        memset(cookie, 0, FLOE_WG_COOKIE_LEN);
}

static void cookie_mac(uint8_t out[FLOE_WG_MAC_LEN], const uint8_t *key, size_t key_len,
                       const uint8_t *in, size_t len)
{
    if (floe_blake2s_mac(out, key, key_len, in, len) != 0)
        memset(out, 0, FLOE_WG_MAC_LEN);
}

/* Fill mac1 and mac2 of a handshake message to peer; remember mac1 for a cookie reply. */
void floe__wg_add_macs(struct floe_wg *dev, struct floe_wg_peer *peer, floe_time now, uint8_t *msg,
                       size_t len)
{
    uint8_t *mac1 = msg + len - 2 * FLOE_WG_MAC_LEN, *mac2 = msg + len - FLOE_WG_MAC_LEN;

    (void)dev;
    cookie_mac(mac1, peer->mac1_key, 32, msg, len - 2 * FLOE_WG_MAC_LEN);
    memcpy(peer->last_mac1, mac1, FLOE_WG_MAC_LEN);
    peer->have_last_mac1 = true;
    if (peer->cookie_valid &&
        now - peer->cookie_birth < FLOE_WG_COOKIE_REFRESH_TIME - FLOE_WG_COOKIE_SECRET_LATENCY)
        cookie_mac(mac2, peer->cookie, FLOE_WG_COOKIE_LEN, msg, len - FLOE_WG_MAC_LEN);
    else
        memset(mac2, 0, FLOE_WG_MAC_LEN);
}

/* Check mac1 and, under load, mac2 of a handshake message received from `from`. */
enum floe__wg_mac_result floe__wg_check_macs(struct floe_wg *dev, floe_time now,
                                             const struct floe_addr *from, const uint8_t *msg,
                                             size_t len)
{
    uint8_t mac[FLOE_WG_MAC_LEN], cookie[FLOE_WG_COOKIE_LEN];
    bool ok, under_load;

    cookie_count_load(dev, now);
    under_load = floe__wg_under_load(dev, now);
    /*
     * Under load, a source out of tokens gets neither a cookie reply nor a handshake: it is
     * dropped before any MAC (only messages with a valid mac1 ever take its tokens).
     */
    if (under_load && !floe__wg_ratelimit_has_token(dev, now, from))
        return WG_MAC_RATE_LIMITED;
    cookie_mac(mac, dev->mac1_key, 32, msg, len - 2 * FLOE_WG_MAC_LEN);
    if (!floe_blake2s_mac_verify(mac, msg + len - 2 * FLOE_WG_MAC_LEN))
        return WG_MAC_INVALID;
    if (!under_load)
        return WG_MAC_VALID;
    cookie_make(dev, now, from, cookie);
    cookie_mac(mac, cookie, sizeof(cookie), msg, len - FLOE_WG_MAC_LEN);
    ok = floe_blake2s_mac_verify(mac, msg + len - FLOE_WG_MAC_LEN);
    floe_wipe(cookie, sizeof(cookie));
    if (!ok)
        return WG_MAC_NEED_COOKIE;
    return floe__wg_ratelimit_allow(dev, now, from) ? WG_MAC_VALID : WG_MAC_RATE_LIMITED;
}

/* Answer the handshake message msg from `from` with a cookie reply (queued for transmit). */
void floe__wg_queue_cookie_reply(struct floe_wg *dev, floe_time now, const struct floe_addr *from,
                                 const uint8_t *msg, size_t len)
{
    struct floe__wg_cookie_tx *tx;
    uint8_t cookie[FLOE_WG_COOKIE_LEN];
    uint8_t *out;

    if (dev->ctx_count == dev->cfg.max_cookie_replies) {
        floe__wg_drop(dev, FLOE_WG_DROP_QUEUE_FULL, from);
        return;
    }
    if (!floe__wg_ratelimit_allow(dev, now, from)) { /* no reply storm toward one source */
        floe__wg_drop(dev, FLOE_WG_DROP_RATE_LIMITED, from);
        return;
    }
    tx = &dev->cookie_tx[(dev->ctx_head + dev->ctx_count) % dev->cfg.max_cookie_replies];
    out = tx->msg;
    memset(out, 0, FLOE_WG_COOKIE_REPLY_LEN);
    floe_store_le32(out, FLOE_WG_MSG_COOKIE_REPLY);
    memcpy(out + 4, msg + 4, 4); /* receiver := the message's sender index */
    if (floe_rng_fill(&dev->cfg.rng, out + 8, FLOE_XAEAD_NONCE_LEN) != 0)
        return;
    cookie_make(dev, now, from, cookie);
    if (floe_xaead_encrypt(out + 32, cookie, sizeof(cookie), msg + len - 2 * FLOE_WG_MAC_LEN,
                           FLOE_WG_MAC_LEN, out + 8, dev->cookie_key) == 0) {
        tx->to = *from;
        dev->ctx_count++;
    }
    floe_wipe(cookie, sizeof(cookie));
}

/* Take the cookie of a cookie reply to one of our handshake messages. */
bool floe__wg_consume_cookie_reply(struct floe_wg *dev, floe_time now, const uint8_t *msg,
                                   enum floe_wg_drop *why)
{
    struct floe_wg_peer *peer = floe__wg_index_find(dev, floe_load_le32(msg + 4));
    uint8_t cookie[FLOE_WG_COOKIE_LEN];

    if (!peer) {
        *why = FLOE_WG_DROP_UNKNOWN_INDEX;
        return false;
    }
    if (!peer->have_last_mac1) {
        *why = FLOE_WG_DROP_HANDSHAKE_STATE;
        return false;
    }
    if (floe_xaead_decrypt(cookie, msg + 32, 32, peer->last_mac1, FLOE_WG_MAC_LEN, msg + 8,
                           peer->cookie_key) != 0) {
        *why = FLOE_WG_DROP_BAD_COOKIE;
        return false;
    }
    memcpy(peer->cookie, cookie, sizeof(cookie));
    floe_wipe(cookie, sizeof(cookie));
    peer->cookie_birth = now;
    peer->cookie_valid = true;
    peer->have_last_mac1 = false;
    return true;
}
