/*
 * Early initiations (include/floe/node.h): a Client's WireGuard initiation that reaches this
 * node before the signalling layer added the Client as a connection is kept for a moment and
 * processed again right after floe_node_conn_upsert adds a connection with that key, instead
 * of the Client waiting REKEY_TIMEOUT (5 s) for its retry. Fixed storage, newest over oldest;
 * only initiations whose MACs WireGuard accepted (mac1, and mac2 under load) get here.
 */
#include <string.h>

#include "node/node_int.h"

static void early_free(struct floe_node *n, struct node_early *e)
{
    floe_wipe(e, sizeof(*e));
    n->early_len--;
}

/* Forget the kept initiations older than NODE_EARLY_KEEP (all of them with `all`). */
void floe__node_early_sweep(struct floe_node *n, floe_time now, bool all)
{
    uint32_t i;

    for (i = 0; i < NODE_EARLY_SLOTS && n->early_len; i++) {
        struct node_early *e = &n->early[i];

        if (e->used && (all || now - e->at > NODE_EARLY_KEEP)) {
            early_free(n, e);
            n->st.early_expired++;
        }
    }
}

/*
 * WireGuard dropped msg (from `from` over path) as an initiation from an unknown static key:
 * keep it in the next slot (the oldest one out). Returns true when kept.
 */
bool floe__node_early_keep(struct floe_node *n, floe_time now, const struct floe_ice_path *path,
                           const struct floe_addr *from, struct floe_span msg,
                           const struct floe_wg_result *res)
{
    struct node_early *e;

    if (res->drop != FLOE_WG_DROP_UNKNOWN_PEER || msg.len != FLOE_WG_INITIATION_LEN)
        return false;
    floe__node_early_sweep(n, now, false);
    e = &n->early[n->early_next];
    n->early_next = (n->early_next + 1) % NODE_EARLY_SLOTS;
    if (e->used) {
        early_free(n, e);
        n->st.early_evicted++;
    }
    e->used = true;
    e->at = now;
    e->path = *path;
    e->from = *from;
    memcpy(e->key, res->initiator_key, FLOE_WG_KEY_LEN);
    memcpy(e->msg, msg.ptr, FLOE_WG_INITIATION_LEN);
    n->early_len++;
    n->st.early_kept++;
    return true;
}

/* A relayed path is still usable: its relay is there with the same relayed address. */
static bool early_path_ok(struct floe_node *n, const struct floe_ice_path *path,
                          const struct floe_addr *from)
{
    struct floe_addr relayed;
    struct node_relay *r;

    if (!path->via_relay)
        return true;
    r = floe__node_relay_by_server(n, &path->relay);
    return r && floe_turn_get_relayed(r->turn, from->family, &relayed) == 0 &&
           floe_addr_eq(&relayed, &path->local);
}

/*
 * A connection with key was just added: feed its kept initiations to WireGuard again, newest
 * first. The newest is consumed; an older one then carries an older or equal timestamp and
 * WireGuard drops it as a replay (the Client waits for the answer to its newest only).
 */
void floe__node_early_replay(struct floe_node *n, floe_time now, const uint8_t key[FLOE_WG_KEY_LEN])
{
    uint8_t out[FLOE_WG_INITIATION_LEN];
    struct node_early e;
    uint64_t cid;
    size_t out_len;
    uint32_t i, k;

    floe__node_early_sweep(n, now, false);
    for (i = 1; i <= NODE_EARLY_SLOTS && n->early_len; i++) {
        k = (n->early_next + NODE_EARLY_SLOTS - i) % NODE_EARLY_SLOTS;
        if (!n->early[k].used || memcmp(n->early[k].key, key, FLOE_WG_KEY_LEN) != 0)
            continue;
        e = n->early[k];
        early_free(n, &n->early[k]);
        if (!early_path_ok(n, &e.path, &e.from)) {
            n->st.early_expired++;
            continue;
        }
        n->st.early_replayed++;
        (void)floe__node_data_inner(n, now, &e.path, &e.from, e.msg, sizeof(e.msg), out,
                                    sizeof(out), &cid, &out_len);
    }
    floe_wipe(&e, sizeof(e));
}
