/*
 * A TURN relay server endpoint: the real floe_relay core behind the
 * simulator's sockets, driven the way floe-relay's worker drives it. One
 * endpoint listens for clients; each allocation's relayed address gets its
 * own endpoint, attached when the core asks for the port and detached when it
 * releases it. Whatever the core answers leaves from the address it names.
 */
#include <stdio.h>
#include <string.h>

#include "floe/sim_ice.h"

/* Largest datagram the core writes (the simulator cuts at its max_datagram). */
#define RELAYSRV_DGRAM 2048

/* One socket of the server: the listening one or a relayed port. */
struct relaysrv_port {
    struct floe_sim_relay_server *srv;
    bool used;
    bool is_listen;
    uint32_t ep;
    struct floe_addr addr;
};

/* A datagram the core produced, waiting for the next drain. */
struct relaysrv_out {
    struct floe_addr from, to;
    size_t len;
    uint8_t data[RELAYSRV_DGRAM];
};

struct floe_sim_relay_server {
    struct floe_sim *sim;
    struct floe_allocator alloc;
    struct floe_relay *core;
    uint32_t host;
    struct relaysrv_port listen;
    struct relaysrv_port ports[FLOE_SIM_RELAY_PORTS];
    uint32_t n_ports;
    struct relaysrv_out q[FLOE_SIM_RELAY_QUEUE];
    uint32_t head, count;
    uint64_t dropped; /* answers lost to a full queue, binds refused for want of a slot */
};

void floe_sim_relay_config_default(struct floe_relay_config *cfg)
{
    floe_relay_config_default(cfg);
    cfg->users[0].name = FLOE_SIM_RELAY_USER;
    cfg->users[0].password = FLOE_SIM_RELAY_PASSWORD;
    cfg->n_users = 1;
    cfg->port_min = 49152;
    cfg->port_max = 49999;
}

/* The next free output slot, or NULL (counted) when the queue is full. */
static struct relaysrv_out *relaysrv_slot(struct floe_sim_relay_server *s)
{
    if (s->count == FLOE_SIM_RELAY_QUEUE) {
        s->dropped++;
        return NULL;
    }
    return &s->q[(s->head + s->count) % FLOE_SIM_RELAY_QUEUE];
}

/* Queue what the core wrote into o (n bytes, or nothing when n <= 0). */
static void relaysrv_commit(struct floe_sim_relay_server *s, struct relaysrv_out *o, long n,
                            const struct floe_relay_tx *tx)
{
    if (n <= 0)
        return;
    o->len = (size_t)n;
    o->from = tx->from;
    o->to = tx->to;
    s->count++;
}

static struct relaysrv_port *relaysrv_free_port(struct floe_sim_relay_server *s)
{
    size_t i;

    for (i = 0; i < FLOE_SIM_RELAY_PORTS; i++) {
        if (!s->ports[i].used)
            return &s->ports[i];
    }
    return NULL;
}

static const struct floe_sim_endpoint_ops relaysrv_port_ops;

/* FLOE_RELAY_EV_BIND_PORT: attach an endpoint on the relayed address and tell the core. */
static void relaysrv_bind(struct floe_sim_relay_server *s, floe_time now,
                          const struct floe_relay_event *ev)
{
    struct relaysrv_port *p = relaysrv_free_port(s);
    struct relaysrv_out *o;
    struct floe_relay_tx tx;
    char name[FLOE_SIM_NAME_MAX];
    int rc = FLOE_ERR_NOMEM;
    long n;

    if (p) {
        snprintf(name, sizeof(name), "relay:%u", (unsigned)ev->addr.port);
        p->addr = ev->addr;
        rc = floe_sim_attach(s->sim, s->host, &ev->addr, name, &relaysrv_port_ops, p, &p->ep);
    }
    if (rc == 0) {
        p->used = true;
        s->n_ports++;
    } else {
        s->dropped++;
    }
    o = relaysrv_slot(s);
    if (!o)
        return;
    n = floe_relay_port_bound(s->core, now, ev->alloc_id, rc, o->data, sizeof(o->data), &tx);
    relaysrv_commit(s, o, n, &tx);
}

/* FLOE_RELAY_EV_RELEASE_PORT: detach the endpoint of that relayed address. */
static void relaysrv_release(struct floe_sim_relay_server *s, const struct floe_addr *addr)
{
    size_t i;

    for (i = 0; i < FLOE_SIM_RELAY_PORTS; i++) {
        struct relaysrv_port *p = &s->ports[i];

        if (p->used && floe_addr_eq(&p->addr, addr)) {
            floe_sim_detach(s->sim, p->ep);
            p->used = false;
            s->n_ports--;
            return;
        }
    }
}

static void relaysrv_events(struct floe_sim_relay_server *s, floe_time now)
{
    struct floe_relay_event ev;

    while (floe_relay_poll_event(s->core, &ev) == 1) {
        if (ev.kind == FLOE_RELAY_EV_BIND_PORT)
            relaysrv_bind(s, now, &ev);
        else if (ev.kind == FLOE_RELAY_EV_RELEASE_PORT)
            relaysrv_release(s, &ev.addr);
    }
}

static void relaysrv_input(void *obj, floe_time now, const struct floe_addr *from,
                           const struct floe_addr *to, const uint8_t *bytes, size_t len)
{
    struct relaysrv_port *p = obj;
    struct floe_sim_relay_server *s = p->srv;
    struct relaysrv_out *o = relaysrv_slot(s);
    struct floe_relay_tx tx;
    long n;

    (void)to;
    if (o && p->is_listen)
        n = floe_relay_handle_client(s->core, now, &p->addr, from, bytes, len, o->data,
                                     sizeof(o->data), &tx);
    else if (o)
        n = floe_relay_handle_peer(s->core, now, &p->addr, from, bytes, len, o->data,
                                   sizeof(o->data), &tx);
    else
        n = 0;
    if (o)
        relaysrv_commit(s, o, n, &tx);
    relaysrv_events(s, now);
}

/* Every socket of the server drains the one queue: each datagram names its source. */
static int relaysrv_transmit(void *obj, floe_time now, uint8_t *buf, size_t cap, size_t *len,
                             struct floe_addr *from, struct floe_addr *to)
{
    struct relaysrv_port *p = obj;
    struct floe_sim_relay_server *s = p->srv;
    struct relaysrv_out *o;

    (void)now;
    while (s->count) {
        o = &s->q[s->head];
        s->head = (s->head + 1) % FLOE_SIM_RELAY_QUEUE;
        s->count--;
        if (o->len > cap) {
            s->dropped++;
            continue;
        }
        memcpy(buf, o->data, o->len);
        *len = o->len;
        *from = o->from;
        *to = o->to;
        return 1;
    }
    return 0;
}

static void relaysrv_timeout(void *obj, floe_time now)
{
    struct relaysrv_port *p = obj;

    floe_relay_handle_timeout(p->srv->core, now);
    relaysrv_events(p->srv, now);
}

static floe_time relaysrv_poll_timeout(void *obj)
{
    struct relaysrv_port *p = obj;

    return floe_relay_poll_timeout(p->srv->core);
}

/* The listening socket also carries the core's timer. */
static const struct floe_sim_endpoint_ops relaysrv_listen_ops = {
    .handle_input = relaysrv_input,
    .handle_timeout = relaysrv_timeout,
    .poll_transmit = relaysrv_transmit,
    .poll_timeout = relaysrv_poll_timeout,
};

static const struct floe_sim_endpoint_ops relaysrv_port_ops = {
    .handle_input = relaysrv_input,
    .poll_transmit = relaysrv_transmit,
};

int floe_sim_relay_server_new(struct floe_sim *sim, uint32_t host, const struct floe_addr *listen,
                              const struct floe_relay_config *cfg,
                              struct floe_sim_relay_server **out)
{
    struct floe_sim_relay_server *s;
    struct floe_relay_config rc;
    size_t i;
    int err;

    if (!sim || !listen || !listen->family || !listen->port || !out)
        return FLOE_ERR_INVALID_ARG;
    if (cfg)
        rc = *cfg;
    else
        floe_sim_relay_config_default(&rc);
    rc.rng = floe_sim_rng(sim);
    if (!rc.relay_v4.family && !rc.relay_v6.family && listen->family == FLOE_AF_INET)
        rc.relay_v4 = *listen;
    else if (!rc.relay_v4.family && !rc.relay_v6.family)
        rc.relay_v6 = *listen;
    s = floe_mem_calloc(&rc.alloc, 1, sizeof(*s));
    if (!s)
        return FLOE_ERR_NOMEM;
    s->sim = sim;
    s->alloc = rc.alloc;
    s->host = host;
    s->listen.srv = s;
    s->listen.is_listen = true;
    s->listen.addr = *listen;
    for (i = 0; i < FLOE_SIM_RELAY_PORTS; i++)
        s->ports[i].srv = s;
    err = floe_relay_new(&s->core, &rc);
    if (err == 0)
        err = floe_sim_attach(sim, host, listen, "relay", &relaysrv_listen_ops, &s->listen,
                              &s->listen.ep);
    if (err != 0) {
        floe_sim_relay_server_free(s);
        return err;
    }
    *out = s;
    return 0;
}

void floe_sim_relay_server_free(struct floe_sim_relay_server *s)
{
    struct floe_allocator a;

    if (!s)
        return;
    a = s->alloc;
    floe_relay_free(s->core);
    floe_mem_free(&a, s);
}

struct floe_relay *floe_sim_relay_server_core(struct floe_sim_relay_server *s)
{
    return s->core;
}

uint32_t floe_sim_relay_server_ports(const struct floe_sim_relay_server *s)
{
    return s->n_ports;
}
