/*
 * The goodbye of floe_node_conn_close: the closing side sends an authenticated STUN Binding
 * indication on the connection's path (the checks' USERNAME and MESSAGE-INTEGRITY with the
 * peer's ICE password, plus NODE_ATTR_GOODBYE); the peer verifies it with its own password
 * and closes at once instead of waiting for liveness to fail.
 */
#include <string.h>

#include "node/node_int.h"

/* Queue buf[0..len) for poll_transmit (dropped and counted when the ring is full). */
static void goodbye_queue(struct floe_node *n, const uint8_t *buf, size_t len,
                          const struct floe_node_transmit *tr)
{
    struct node_out *o;

    if (n->out_len == NODE_OUT_SLOTS || len > NODE_OUT_MAX) {
        n->st.dropped_no_path++;
        return;
    }
    o = &n->out[(n->out_head + n->out_len++) % NODE_OUT_SLOTS];
    memcpy(o->buf, buf, len);
    o->tr = *tr;
    o->tr.len = len;
}

static long goodbye_build(struct floe_node *n, const struct node_conn *c, uint8_t *buf, size_t cap)
{
    struct floe_stun_builder b;
    uint8_t txid[FLOE_STUN_TXID_LEN], user[2 * FLOE_ICE_UFRAG_MAX + 2];
    size_t ul = strlen(c->remote_ufrag), ll = strlen(c->ufrag);

    if (floe_rng_fill(&n->cfg.rng, txid, sizeof(txid)) != 0)
        return FLOE_ERR_CRYPTO;
    memcpy(user, c->remote_ufrag, ul);
    user[ul] = ':';
    memcpy(user + ul + 1, c->ufrag, ll);
    floe_stun_build_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_INDICATION, txid);
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_USERNAME, user, ul + 1 + ll);
    floe_stun_add_flag(&b, NODE_ATTR_GOODBYE);
    floe_stun_add_integrity_key(&b, (const uint8_t *)c->remote_pwd, strlen(c->remote_pwd));
    floe_stun_add_fingerprint(&b);
    return floe_stun_build_finish(&b);
}

void floe__node_goodbye_send(struct floe_node *n, struct node_conn *c, floe_time now)
{
    uint8_t buf[NODE_OUT_MAX];
    struct floe_node_transmit tr;
    const struct floe_node_path *p = &c->st.path;
    struct node_relay *r = NULL;
    long len;

    if (p->kind == FLOE_NODE_PATH_NONE)
        return;
    len = goodbye_build(n, c, buf, sizeof(buf) - FLOE_TURN_SEND_OVERHEAD);
    if (len <= 0)
        return;
    tr.local = p->local;
    tr.to = p->remote;
    if (p->relay.family != FLOE_AF_NONE) {
        r = floe__node_relay_by_server(n, &p->relay);
        len =
            r ? floe_turn_encapsulate(r->turn, now, &p->remote, buf, (size_t)len, buf, sizeof(buf))
              : -1;
        if (len <= 0)
            return; /* queued behind a permission, or no relay: the peer's liveness decides */
        tr.local = r->local;
        tr.to = r->server;
    }
    goodbye_queue(n, buf, (size_t)len, &tr);
}

/* A goodbye for c with a valid MESSAGE-INTEGRITY (c's own password)? */
bool floe__node_goodbye_input(struct floe_node *n, struct node_conn *c,
                              const struct floe_stun_msg *msg)
{
    const char *ufrag, *pwd;

    (void)n;
    if (msg->cls != FLOE_STUN_INDICATION || msg->method != FLOE_STUN_BINDING ||
        !floe_stun_has(msg, NODE_ATTR_GOODBYE))
        return false;
    floe_ice_get_local_credentials(c->ice, &ufrag, &pwd);
    return floe_stun_verify_integrity_key(msg, (const uint8_t *)pwd, strlen(pwd)) == 0;
}

int floe__node_out_poll(struct floe_node *n, uint8_t *buf, size_t cap,
                        struct floe_node_transmit *tr)
{
    struct node_out *o;

    if (n->out_len == 0)
        return 0;
    o = &n->out[n->out_head];
    if (o->tr.len > cap)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    memcpy(buf, o->buf, o->tr.len);
    *tr = o->tr;
    n->out_head = (n->out_head + 1) % NODE_OUT_SLOTS;
    n->out_len--;
    return 1;
}
