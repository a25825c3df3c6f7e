/*
 * A STUN Binding server endpoint (RFC 8489 section 6.3): answers every
 * Binding request with XOR-MAPPED-ADDRESS, the request's source as the server
 * saw it, so clients behind the simulator's NATs learn their mapped address.
 */
#include <string.h>

#include "floe/sim_ice.h"
#include "floe/stun.h"

void floe_sim_stun_server_init(struct floe_sim_stun_server *s)
{
    memset(s, 0, sizeof(*s));
}

static void stunsrv_handle_input(void *obj, floe_time now, const struct floe_addr *from,
                                 const struct floe_addr *to, const uint8_t *bytes, size_t len)
{
    struct floe_sim_stun_server *s = obj;
    struct floe_stun_msg msg;
    uint32_t slot;

    (void)now;
    if (floe_stun_decode(&msg, bytes, len) != 0 || msg.method != FLOE_STUN_BINDING ||
        msg.cls != FLOE_STUN_REQUEST || s->count == FLOE_SIM_STUN_QUEUE) {
        s->dropped++;
        return;
    }
    s->requests++;
    slot = (s->head + s->count) % FLOE_SIM_STUN_QUEUE;
    s->q[slot].to = *from;
    s->q[slot].from = *to;
    memcpy(s->q[slot].txid, msg.txid, FLOE_STUN_TXID_LEN);
    s->count++;
}

static int stunsrv_poll_transmit(void *obj, floe_time now, uint8_t *buf, size_t cap, size_t *len,
                                 struct floe_addr *from, struct floe_addr *to)
{
    struct floe_sim_stun_server *s = obj;
    struct floe_stun_builder b;
    uint32_t slot = s->head;
    long n;

    (void)now;
    if (!s->count)
        return 0;
    s->head = (s->head + 1) % FLOE_SIM_STUN_QUEUE;
    s->count--;
    floe_stun_build_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_SUCCESS, s->q[slot].txid);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &s->q[slot].to);
    floe_stun_add_fingerprint(&b);
    n = floe_stun_build_finish(&b);
    if (n < 0) {
        s->dropped++;
        return 0;
    }
    *len = (size_t)n;
    *from = s->q[slot].from;
    *to = s->q[slot].to;
    s->answered++;
    return 1;
}

const struct floe_sim_endpoint_ops floe_sim_stun_server_ops = {
    .handle_input = stunsrv_handle_input,
    .poll_transmit = stunsrv_poll_transmit,
};
