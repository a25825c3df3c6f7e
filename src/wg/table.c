/*
 * The device's two lookups, open addressing with linear probing and backward-shift
 * deletion (no tombstones): receiver index to peer (every data message, responses and
 * cookie replies) and static public key to peer (initiations). Tables are sized at
 * floe_wg_new for max_peers so they stay at most half full.
 */
#include <string.h>

#include "wg/wg_int.h"

/* Indices a peer can own at once: its handshake and three keypairs. */
#define TABLE_INDICES_PER_PEER 4

static uint32_t table_pow2(uint64_t n)
{
    uint32_t p = 16;

    while (p < n)
        p <<= 1;
    return p;
}

static uint32_t table_hash_index(uint32_t index)
{
    return (uint32_t)(((uint64_t)index * UINT64_C(0x9E3779B97F4A7C15)) >> 32);
}

static uint32_t table_hash_pub(const uint8_t pub[32])
{
    return (uint32_t)((floe_load_le64(pub) * UINT64_C(0x9E3779B97F4A7C15)) >> 32);
}

int floe__wg_tables_new(struct floe_wg *dev)
{
    uint32_t n_index = table_pow2((uint64_t)dev->cfg.max_peers * TABLE_INDICES_PER_PEER * 2);
    uint32_t n_pub = table_pow2((uint64_t)dev->cfg.max_peers * 2);
    uint32_t i;

    dev->index_keys = floe_mem_calloc(&dev->cfg.alloc, n_index, sizeof(uint32_t));
    dev->index_vals = floe_mem_calloc(&dev->cfg.alloc, n_index, sizeof(uint32_t));
    dev->pub_table = floe_mem_calloc(&dev->cfg.alloc, n_pub, sizeof(uint32_t));
    if (!dev->index_keys || !dev->index_vals || !dev->pub_table)
        return FLOE_ERR_NOMEM;
    for (i = 0; i < n_index; i++)
        dev->index_vals[i] = WG_NO_SLOT;
    for (i = 0; i < n_pub; i++)
        dev->pub_table[i] = WG_NO_SLOT;
    dev->index_mask = n_index - 1;
    dev->pub_mask = n_pub - 1;
    return 0;
}

void floe__wg_tables_free(struct floe_wg *dev)
{
    floe_mem_free(&dev->cfg.alloc, dev->index_keys);
    floe_mem_free(&dev->cfg.alloc, dev->index_vals);
    floe_mem_free(&dev->cfg.alloc, dev->pub_table);
}

static uint32_t table_index_pos(const struct floe_wg *dev, uint32_t index)
{
    uint32_t pos = table_hash_index(index) & dev->index_mask;

    while (dev->index_vals[pos] != WG_NO_SLOT && dev->index_keys[pos] != index)
        pos = (pos + 1) & dev->index_mask;
    return pos;
}

/* A fresh random receiver index for the peer in slot, entered in the table. */
uint32_t floe__wg_index_new(struct floe_wg *dev, uint32_t slot)
{
    uint32_t index, pos;

    do {
        index = floe__wg_rand32(dev);
        pos = table_index_pos(dev, index);
    } while (dev->index_vals[pos] != WG_NO_SLOT);
    dev->index_keys[pos] = index;
    dev->index_vals[pos] = slot;
    return index;
}

void floe__wg_index_del(struct floe_wg *dev, uint32_t index)
{
    uint32_t pos = table_index_pos(dev, index), next, home;

    if (dev->index_vals[pos] == WG_NO_SLOT)
        return;
    dev->index_vals[pos] = WG_NO_SLOT;
    next = (pos + 1) & dev->index_mask;
    while (dev->index_vals[next] != WG_NO_SLOT) {
        home = table_hash_index(dev->index_keys[next]) & dev->index_mask;
        /* Move the entry back when its home is not in (pos, next]. */
        if (((next - home) & dev->index_mask) >= ((next - pos) & dev->index_mask)) {
            dev->index_keys[pos] = dev->index_keys[next];
            dev->index_vals[pos] = dev->index_vals[next];
            dev->index_vals[next] = WG_NO_SLOT;
            pos = next;
        }
        next = (next + 1) & dev->index_mask;
    }
}

struct floe_wg_peer *floe__wg_index_find(const struct floe_wg *dev, uint32_t index)
{
    uint32_t pos = table_index_pos(dev, index);

    if (dev->index_vals[pos] == WG_NO_SLOT)
        return NULL;
    return &dev->peers[dev->index_vals[pos]];
}

static uint32_t table_pub_pos(const struct floe_wg *dev, const uint8_t pub[32])
{
    uint32_t pos = table_hash_pub(pub) & dev->pub_mask;
    uint32_t slot;

    while ((slot = dev->pub_table[pos]) != WG_NO_SLOT) {
        if (memcmp(dev->peers[slot].pub, pub, 32) == 0)
            break;
        pos = (pos + 1) & dev->pub_mask;
    }
    return pos;
}

void floe__wg_pub_add(struct floe_wg *dev, uint32_t slot)
{
    dev->pub_table[table_pub_pos(dev, dev->peers[slot].pub)] = slot;
}

void floe__wg_pub_del(struct floe_wg *dev, uint32_t slot)
{
    uint32_t pos = table_pub_pos(dev, dev->peers[slot].pub), next, home;

    if (dev->pub_table[pos] == WG_NO_SLOT)
        return;
    dev->pub_table[pos] = WG_NO_SLOT;
    next = (pos + 1) & dev->pub_mask;
    while (dev->pub_table[next] != WG_NO_SLOT) {
        home = table_hash_pub(dev->peers[dev->pub_table[next]].pub) & dev->pub_mask;
        if (((next - home) & dev->pub_mask) >= ((next - pos) & dev->pub_mask)) {
            dev->pub_table[pos] = dev->pub_table[next];
            dev->pub_table[next] = WG_NO_SLOT;
            pos = next;
        }
        next = (next + 1) & dev->pub_mask;
    }
}

struct floe_wg_peer *floe__wg_pub_find(const struct floe_wg *dev, const uint8_t pub[32])
{
    uint32_t slot = dev->pub_table[table_pub_pos(dev, pub)];

    return slot == WG_NO_SLOT ? NULL : &dev->peers[slot];
}
