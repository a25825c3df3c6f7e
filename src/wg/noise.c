/*
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s as WireGuard uses it (paper section 5.4.2-5.4.4):
 * creating and consuming handshake initiations and responses. Every step below carries
 * the paper's equation next to it. Secrets on the stack are wiped before return; a message
 * that fails any step leaves the peer's handshake state untouched.
 */
#include <string.h>

#include "wg/wg_int.h"

/* Rounding of TAI64N nanoseconds: a power of two below 1 s / INITIATIONS_PER_SECOND. */
#define NOISE_TIMESTAMP_WHITENER (UINT32_C(1) << 24)
/* TAI64 label of 1970-01-01 00:00:10 TAI (2^62 + 10). */
#define NOISE_TAI64_BASE UINT64_C(0x400000000000000a)

static void noise_mix_hash(uint8_t h[32], const uint8_t *data, size_t len)
{
    struct floe_span parts[2] = {floe_span_make(h, 32), floe_span_make(data, len)};

    floe_blake2s_hash(h, parts, 2);
}

static void noise_kdf(uint8_t *o1, uint8_t *o2, uint8_t *o3, const uint8_t ck[32],
                      const uint8_t *in, size_t in_len)
{
    if (floe_blake2s_kdf(o1, o2, o3, ck, in, in_len) != 0)
        floe_wipe(o1, 32);
}

/* AEAD(key, 0, in, h) through a context of the device's allocator, used once. */
static int noise_aead(struct floe_wg *dev, bool seal, uint8_t *out, const uint8_t *in,
                      size_t in_len, const uint8_t key[32], const uint8_t h[32])
{
    struct floe_aead *ctx;
    int err = floe_aead_new(&ctx, &dev->cfg.alloc, key, 32);

    if (err)
        return err;
    if (seal)
        err = floe_aead_encrypt_ctr(ctx, out, in, in_len, h, 32, 0);
    else
        err = floe_aead_decrypt_ctr(ctx, out, in, in_len, h, 32, 0);
    floe_aead_free(ctx);
    return err;
}

void floe__wg_tai64n(const struct floe_wg *dev, floe_time now, uint8_t out[12])
{
    uint64_t unix_ns = (uint64_t)((int64_t)now + dev->wall_offset);
    uint32_t nsec = (uint32_t)(unix_ns % 1000000000u);

    floe_store_be64(out, NOISE_TAI64_BASE + unix_ns / 1000000000u);
    floe_store_be32(out + 8, nsec & ~(NOISE_TIMESTAMP_WHITENER - 1));
}

/* Forget the handshake in progress; the replay and flood state of the peer stays. */
void floe__wg_handshake_clear(struct floe_wg *dev, struct floe_wg_peer *peer)
{
    struct floe__wg_handshake *hs = &peer->hs;

    if (hs->has_index)
        floe__wg_index_del(dev, hs->local_index);
    hs->has_index = false;
    hs->state = WG_HS_NONE;
    floe_wipe(hs->hash, sizeof(hs->hash));
    floe_wipe(hs->ck, sizeof(hs->ck));
    floe_wipe(hs->eph_priv, sizeof(hs->eph_priv));
    floe_wipe(hs->remote_eph, sizeof(hs->remote_eph));
    hs->local_index = 0;
    hs->remote_index = 0;
}

/* The encrypted parts of an initiation: msg.static and msg.timestamp. */
static int noise_initiation_body(struct floe_wg *dev, struct floe_wg_peer *peer, floe_time now,
                                 uint8_t *msg, uint8_t ck[32], uint8_t h[32],
                                 const uint8_t eph_priv[32])
{
    uint8_t key[32], dh[32], ts[FLOE_WG_TAI64N_LEN];
    int err;

    err = floe_x25519_shared(dh, eph_priv, peer->pub); /* DH(E_priv_i, S_pub_r) */
    if (err)
        goto out;
    noise_kdf(ck, key, NULL, ck, dh, 32); /* (C_i, k) := KDF2(C_i, DH(E_i, S_r)) */
    err = noise_aead(dev, true, msg + 40, dev->static_pub, 32, key, h);
    if (err)
        goto out;
    noise_mix_hash(h, msg + 40, 48);                       /* H_i := HASH(H_i || msg.static) */
    noise_kdf(ck, key, NULL, ck, peer->static_static, 32); /* KDF2(C_i, DH(S_i, S_r)) */
    floe__wg_tai64n(dev, now, ts);
    err = noise_aead(dev, true, msg + 88, ts, sizeof(ts), key, h);
    if (err)
        goto out;
    noise_mix_hash(h, msg + 88, 28); /* H_i := HASH(H_i || msg.timestamp) */
out:
    floe_wipe(key, sizeof(key));
    floe_wipe(dh, sizeof(dh));
    return err;
}

/*
 * Build an initiation (everything up to mac1; the MACs are added by the sender) and enter
 * the CREATED_INITIATION state with a fresh sender index.
 */
int floe__wg_create_initiation(struct floe_wg *dev, struct floe_wg_peer *peer, floe_time now,
                               uint8_t msg[FLOE_WG_INITIATION_LEN])
{
    struct floe__wg_handshake *hs = &peer->hs;
    uint8_t ck[32], h[32], eph_pub[32], eph_priv[32];
    uint32_t index;
    int err;

    floe__wg_handshake_clear(dev, peer);
    memcpy(ck, dev->initial_ck, 32);   /* C_i := HASH(CONSTRUCTION) */
    memcpy(h, peer->initial_hash, 32); /* H_i := HASH(HASH(C_i || IDENTIFIER) || S_pub_r) */
    index = floe__wg_index_new(dev, peer->slot);
    err = floe_x25519_keypair(eph_pub, eph_priv, &dev->cfg.rng);
    if (err)
        goto fail;
    memset(msg, 0, FLOE_WG_INITIATION_LEN);
    floe_store_le32(msg, FLOE_WG_MSG_INITIATION);
    floe_store_le32(msg + 4, index);
    memcpy(msg + 8, eph_pub, 32);
    noise_kdf(ck, NULL, NULL, ck, eph_pub, 32); /* C_i := KDF1(C_i, E_pub_i) */
    noise_mix_hash(h, eph_pub, 32);             /* H_i := HASH(H_i || msg.ephemeral) */
    err = noise_initiation_body(dev, peer, now, msg, ck, h, eph_priv);
    if (err)
        goto fail;
    hs->state = WG_HS_CREATED_INITIATION;
    hs->local_index = index;
    hs->has_index = true;
    memcpy(hs->hash, h, 32);
    memcpy(hs->ck, ck, 32);
    memcpy(hs->eph_priv, eph_priv, 32);
    goto out;
fail:
    floe__wg_index_del(dev, index);
out:
    floe_wipe(ck, sizeof(ck));
    floe_wipe(h, sizeof(h));
    floe_wipe(eph_priv, sizeof(eph_priv));
    return err;
}

/* Decrypt msg.static: the initiator's public key into spub, the state advanced. */
static bool noise_open_static(struct floe_wg *dev, const uint8_t *msg, uint8_t ck[32],
                              uint8_t h[32], uint8_t spub[32], enum floe_wg_drop *why)
{
    uint8_t key[32], dh[32];
    int err;

    noise_kdf(ck, NULL, NULL, ck, msg + 8, 32); /* C_r := KDF1(C_r, msg.ephemeral) */
    noise_mix_hash(h, msg + 8, 32);             /* H_r := HASH(H_r || msg.ephemeral) */
    err = floe_x25519_key_shared(dev->static_key, dh, msg + 8); /* DH(S_priv_r, E_pub_i) */
    if (err) {
        *why = err == FLOE_ERR_WEAK_KEY ? FLOE_WG_DROP_WEAK_KEY : FLOE_WG_DROP_CRYPTO;
        goto out;
    }
    noise_kdf(ck, key, NULL, ck, dh, 32);
    err = noise_aead(dev, false, spub, msg + 40, 48, key, h);
    if (err) {
        *why = err == FLOE_ERR_INTEGRITY ? FLOE_WG_DROP_HANDSHAKE_DECRYPT : FLOE_WG_DROP_CRYPTO;
        goto out;
    }
    noise_mix_hash(h, msg + 40, 48);
out:
    floe_wipe(key, sizeof(key));
    floe_wipe(dh, sizeof(dh));
    return err == 0;
}

/* Decrypt msg.timestamp with the peer's precomputed static-static DH. */
static bool noise_open_timestamp(struct floe_wg *dev, struct floe_wg_peer *peer, const uint8_t *msg,
                                 uint8_t ck[32], uint8_t h[32], uint8_t ts[FLOE_WG_TAI64N_LEN],
                                 enum floe_wg_drop *why)
{
    uint8_t key[32];
    int err;

    noise_kdf(ck, key, NULL, ck, peer->static_static, 32); /* KDF2(C_r, DH(S_r, S_i)) */
    err = noise_aead(dev, false, ts, msg + 88, 28, key, h);
    floe_wipe(key, sizeof(key));
    if (err) {
        *why = err == FLOE_ERR_INTEGRITY ? FLOE_WG_DROP_HANDSHAKE_DECRYPT : FLOE_WG_DROP_CRYPTO;
        return false;
    }
    noise_mix_hash(h, msg + 88, 28);
    return true;
}

/* Replay (greatest timestamp per peer) and flood (INITIATIONS_PER_SECOND) checks. */
static bool noise_initiation_fresh(const struct floe__wg_handshake *hs, floe_time now,
                                   const uint8_t ts[FLOE_WG_TAI64N_LEN], enum floe_wg_drop *why)
{
    if (memcmp(ts, hs->latest_timestamp, FLOE_WG_TAI64N_LEN) <= 0) {
        *why = FLOE_WG_DROP_TIMESTAMP_REPLAY;
        return false;
    }
    if (hs->consumed_any &&
        now < hs->last_initiation_consumption + FLOE_SEC(1) / FLOE_WG_INITIATIONS_PER_SECOND) {
        *why = FLOE_WG_DROP_INITIATION_FLOOD;
        return false;
    }
    return true;
}

/*
 * Consume an initiation (MACs already checked): find the peer by its static key, check
 * the timestamp, and enter CONSUMED_INITIATION. Returns false with *why on any failure; for
 * FLOE_WG_DROP_UNKNOWN_PEER the initiator's static key is in unknown_key.
 */
bool floe__wg_consume_initiation(struct floe_wg *dev, floe_time now, const uint8_t *msg,
                                 struct floe_wg_peer **out_peer, enum floe_wg_drop *why,
                                 uint8_t unknown_key[32])
{
    uint8_t ck[32], h[32], spub[32], ts[FLOE_WG_TAI64N_LEN];
    struct floe_wg_peer *peer = NULL;
    struct floe__wg_handshake *hs;
    bool ok = false;

    memcpy(ck, dev->initial_ck, 32);
    memcpy(h, dev->my_hash, 32);
    if (!noise_open_static(dev, msg, ck, h, spub, why))
        goto out;
    peer = floe__wg_pub_find(dev, spub);
    if (!peer) {
        *why = FLOE_WG_DROP_UNKNOWN_PEER;
        memcpy(unknown_key, spub, 32);
        goto out;
    }
    if (!noise_open_timestamp(dev, peer, msg, ck, h, ts, why))
        goto out;
    hs = &peer->hs;
    if (!noise_initiation_fresh(hs, now, ts, why))
        goto out;
    floe__wg_handshake_clear(dev, peer);
    hs->state = WG_HS_CONSUMED_INITIATION;
    hs->remote_index = floe_load_le32(msg + 4);
    memcpy(hs->remote_eph, msg + 8, 32);
    memcpy(hs->latest_timestamp, ts, sizeof(ts));
    memcpy(hs->hash, h, 32);
    memcpy(hs->ck, ck, 32);
    hs->last_initiation_consumption = now;
    hs->consumed_any = true;
    *out_peer = peer;
    ok = true;
out:
    floe_wipe(ck, sizeof(ck));
    floe_wipe(h, sizeof(h));
    return ok;
}

/*
 * The psk step shared by both sides: (C, tau, k) := KDF3(C, Q); H := HASH(H || tau).
 * key receives k.
 */
static void noise_mix_psk(const struct floe_wg_peer *peer, uint8_t ck[32], uint8_t h[32],
                          uint8_t key[32])
{
    uint8_t tau[32];

    noise_kdf(ck, tau, key, ck, peer->psk, 32);
    noise_mix_hash(h, tau, 32);
    floe_wipe(tau, sizeof(tau));
}

/* Responder DHs: C_r := KDF1(C_r, DH(E_r, E_i)); C_r := KDF1(C_r, DH(E_r, S_i)). */
static int noise_response_dhs(const struct floe_wg_peer *peer, uint8_t ck[32],
                              const uint8_t eph_priv[32])
{
    uint8_t dh[32];
    int err;

    err = floe_x25519_shared(dh, eph_priv, peer->hs.remote_eph);
    if (err)
        goto out;
    noise_kdf(ck, NULL, NULL, ck, dh, 32);
    err = floe_x25519_shared(dh, eph_priv, peer->pub);
    if (err)
        goto out;
    noise_kdf(ck, NULL, NULL, ck, dh, 32);
out:
    floe_wipe(dh, sizeof(dh));
    return err;
}

/*
 * Build the response to a consumed initiation (up to mac1), with a fresh sender index in
 * hs->local_index; the state keeps the final chaining key for the keypair derivation.
 */
int floe__wg_create_response(struct floe_wg *dev, struct floe_wg_peer *peer, floe_time now,
                             uint8_t msg[FLOE_WG_RESPONSE_LEN])
{
    struct floe__wg_handshake *hs = &peer->hs;
    uint8_t eph_pub[32], eph_priv[32], key[32];
    int err;

    (void)now;
    if (hs->state != WG_HS_CONSUMED_INITIATION)
        return FLOE_ERR_STATE;
    err = floe_x25519_keypair(eph_pub, eph_priv, &dev->cfg.rng);
    if (err)
        return err;
    memset(msg, 0, FLOE_WG_RESPONSE_LEN);
    floe_store_le32(msg, FLOE_WG_MSG_RESPONSE);
    floe_store_le32(msg + 8, hs->remote_index);
    memcpy(msg + 12, eph_pub, 32);
    noise_kdf(hs->ck, NULL, NULL, hs->ck, eph_pub, 32); /* C_r := KDF1(C_r, E_pub_r) */
    noise_mix_hash(hs->hash, eph_pub, 32);              /* H_r := HASH(H_r || msg.ephemeral) */
    err = noise_response_dhs(peer, hs->ck, eph_priv);
    if (err)
        goto out;
    noise_mix_psk(peer, hs->ck, hs->hash, key);
    err = noise_aead(dev, true, msg + 44, msg + 44, 0, key, hs->hash); /* msg.empty */
    if (err)
        goto out;
    noise_mix_hash(hs->hash, msg + 44, 16);
    hs->local_index = floe__wg_index_new(dev, peer->slot);
    hs->has_index = true;
    floe_store_le32(msg + 4, hs->local_index);
out:
    floe_wipe(eph_priv, sizeof(eph_priv));
    floe_wipe(key, sizeof(key));
    return err;
}

/* Initiator DHs: C_i := KDF1(C_i, DH(E_i, E_r)); C_i := KDF1(C_i, DH(S_i, E_r)). */
static int noise_initiator_dhs(struct floe_wg *dev, const struct floe_wg_peer *peer, uint8_t ck[32],
                               const uint8_t eph_r[32])
{
    uint8_t dh[32];
    int err;

    err = floe_x25519_shared(dh, peer->hs.eph_priv, eph_r);
    if (err)
        goto out;
    noise_kdf(ck, NULL, NULL, ck, dh, 32);
    err = floe_x25519_key_shared(dev->static_key, dh, eph_r);
    if (err)
        goto out;
    noise_kdf(ck, NULL, NULL, ck, dh, 32);
out:
    floe_wipe(dh, sizeof(dh));
    return err;
}

static struct floe_wg_peer *noise_response_peer(struct floe_wg *dev, const uint8_t *msg,
                                                enum floe_wg_drop *why)
{
    uint32_t receiver = floe_load_le32(msg + 8);
    struct floe_wg_peer *peer = floe__wg_index_find(dev, receiver);

    if (!peer) {
        *why = FLOE_WG_DROP_UNKNOWN_INDEX;
        return NULL;
    }
    if (peer->hs.state != WG_HS_CREATED_INITIATION || peer->hs.local_index != receiver) {
        *why = FLOE_WG_DROP_HANDSHAKE_STATE;
        return NULL;
    }
    return peer;
}

/*
 * Consume a response (MACs already checked) to our pending initiation. On success the
 * handshake holds the final chaining key and the peer's index, ready for the keypair.
 */
bool floe__wg_consume_response(struct floe_wg *dev, floe_time now, const uint8_t *msg,
                               struct floe_wg_peer **out_peer, enum floe_wg_drop *why)
{
    uint8_t ck[32], h[32], key[32], empty[1];
    struct floe_wg_peer *peer = noise_response_peer(dev, msg, why);
    int err;

    (void)now;
    if (!peer)
        return false;
    memcpy(ck, peer->hs.ck, 32);
    memcpy(h, peer->hs.hash, 32);
    noise_kdf(ck, NULL, NULL, ck, msg + 12, 32); /* C_i := KDF1(C_i, msg.ephemeral) */
    noise_mix_hash(h, msg + 12, 32);
    err = noise_initiator_dhs(dev, peer, ck, msg + 12);
    if (err) {
        *why = err == FLOE_ERR_WEAK_KEY ? FLOE_WG_DROP_WEAK_KEY : FLOE_WG_DROP_CRYPTO;
        goto out;
    }
    noise_mix_psk(peer, ck, h, key);
    err = noise_aead(dev, false, empty, msg + 44, 16, key, h);
    if (err) {
        *why = err == FLOE_ERR_INTEGRITY ? FLOE_WG_DROP_HANDSHAKE_DECRYPT : FLOE_WG_DROP_CRYPTO;
        goto out;
    }
    noise_mix_hash(h, msg + 44, 16);
    peer->hs.remote_index = floe_load_le32(msg + 4);
    memcpy(peer->hs.hash, h, 32);
    memcpy(peer->hs.ck, ck, 32);
    *out_peer = peer;
out:
    floe_wipe(ck, sizeof(ck));
    floe_wipe(h, sizeof(h));
    floe_wipe(key, sizeof(key));
    return err == 0;
}
