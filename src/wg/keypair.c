/*
 * Keypairs of a peer (paper section 5.4.5) and their rotation: current, previous and next,
 * as the Linux module keeps them. An initiator uses a new keypair at once; a responder
 * keeps it as "next" until the first data message under it confirms it.
 */
#include <string.h>

#include "wg/wg_int.h"

struct floe__wg_keypair *floe__wg_current(struct floe_wg_peer *peer)
{
    return peer->cur == WG_KP_NONE ? NULL : &peer->kp[peer->cur];
}

bool floe__wg_can_send(const struct floe__wg_keypair *kp, floe_time now)
{
    return kp && kp->used && now - kp->birth < FLOE_WG_REJECT_AFTER_TIME &&
           kp->send_counter < FLOE_WG_REJECT_AFTER_MESSAGES;
}

bool floe__wg_can_recv(const struct floe__wg_keypair *kp, floe_time now)
{
    return kp && kp->used && now - kp->birth < FLOE_WG_REJECT_AFTER_TIME &&
           kp->replay.counter < FLOE_WG_REJECT_AFTER_MESSAGES;
}

/* Free the AEAD contexts of kp (none allowed). */
static void keypair_contexts_free(struct floe_wg *dev, struct floe__wg_keypair *kp)
{
    uint32_t i;

    for (i = 0; kp->aead && i < 2 * kp->lanes; i++)
        floe_aead_free(kp->aead[i]);
    floe_mem_free(&dev->cfg.alloc, kp->aead);
    kp->aead = NULL;
}

/* Free the keypair in slot (WG_KP_NONE allowed): contexts, index, counters. */
static void keypair_release(struct floe_wg *dev, struct floe_wg_peer *peer, int8_t slot)
{
    struct floe__wg_keypair *kp;

    if (slot == WG_KP_NONE)
        return;
    kp = &peer->kp[slot];
    if (!kp->used)
        return;
    keypair_contexts_free(dev, kp);
    floe__wg_index_del(dev, kp->local_index);
    memset(kp, 0, sizeof(*kp));
}

void floe__wg_keypairs_clear(struct floe_wg *dev, struct floe_wg_peer *peer)
{
    keypair_release(dev, peer, peer->cur);
    keypair_release(dev, peer, peer->prev);
    keypair_release(dev, peer, peer->next);
    peer->cur = peer->prev = peer->next = WG_KP_NONE;
}

/* Make room for a new keypair as the Linux module does; returns the slot it goes to. */
static int8_t keypair_rotate(struct floe_wg *dev, struct floe_wg_peer *peer, bool initiator)
{
    int8_t slot;

    if (initiator) {
        keypair_release(dev, peer, peer->prev);
        if (peer->next != WG_KP_NONE) {
            keypair_release(dev, peer, peer->cur);
            peer->prev = peer->next;
            peer->next = WG_KP_NONE;
        } else {
            peer->prev = peer->cur;
        }
        peer->cur = WG_KP_NONE;
    } else {
        keypair_release(dev, peer, peer->next);
        keypair_release(dev, peer, peer->prev);
        peer->next = peer->prev = WG_KP_NONE;
    }
    for (slot = 0; slot < 3; slot++) {
        if (!peer->kp[slot].used)
            break;
    }
    return slot;
}

/*
 * Key the contexts of kp from the final chaining key, (T_send_i, T_recv_i) = KDF2(C, e):
 * one sending and one receiving context per lane of the device's workers.
 */
static int keypair_keys(struct floe_wg *dev, struct floe__wg_keypair *kp, const uint8_t ck[32],
                        bool initiator)
{
    uint32_t lanes = dev->cfg.parallel.lanes, i;
    uint8_t t1[32], t2[32];
    int err;

    kp->lanes = lanes;
    kp->aead = floe_mem_calloc(&dev->cfg.alloc, 2 * (size_t)lanes, sizeof(*kp->aead));
    err = kp->aead ? floe_blake2s_kdf(t1, t2, NULL, ck, NULL, 0) : FLOE_ERR_NOMEM;
    for (i = 0; !err && i < lanes; i++) {
        err = floe_aead_new(&WG_SEND_CTX(kp, i), &dev->cfg.alloc, initiator ? t1 : t2, 32);
        if (!err)
            err = floe_aead_new(&WG_RECV_CTX(kp, i), &dev->cfg.alloc, initiator ? t2 : t1, 32);
    }
    floe_wipe(t1, sizeof(t1));
    floe_wipe(t2, sizeof(t2));
    if (err)
        keypair_contexts_free(dev, kp);
    return err;
}

/*
 * Derive the session of a finished handshake into a keypair (current for the initiator,
 * next for the responder). The handshake's index moves to the keypair and the handshake
 * is cleared. On failure the handshake is cleared and nothing else changes.
 */
int floe__wg_keypair_derive(struct floe_wg *dev, struct floe_wg_peer *peer, floe_time now,
                            bool initiator)
{
    struct floe__wg_keypair fresh;
    int8_t slot;
    int err;

    memset(&fresh, 0, sizeof(fresh));
    err = keypair_keys(dev, &fresh, peer->hs.ck, initiator);
    if (err) {
        floe__wg_handshake_clear(dev, peer);
        return err;
    }
    fresh.used = true;
    fresh.initiator = initiator;
    fresh.birth = now;
    fresh.local_index = peer->hs.local_index;
    fresh.remote_index = peer->hs.remote_index;
    floe__wg_replay_init(&fresh.replay);
    /* The index now belongs to the keypair: clear without deleting it. */
    peer->hs.has_index = false;
    floe__wg_handshake_clear(dev, peer);
    slot = keypair_rotate(dev, peer, initiator);
    peer->kp[slot] = fresh;
    if (initiator)
        peer->cur = slot;
    else
        peer->next = slot;
    return 0;
}

/* A data message arrived under keypair slot: promote "next" to current. True if it did. */
bool floe__wg_keypair_confirm(struct floe_wg_peer *peer, int slot)
{
    if (slot != peer->next)
        return false;
    keypair_release(peer->dev, peer, peer->prev);
    peer->prev = peer->cur;
    peer->cur = peer->next;
    peer->next = WG_KP_NONE;
    return true;
}
