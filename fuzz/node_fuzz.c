/*
 * libFuzzer target: two nodes (a client and a gateway) on a small network, driven by a
 * scripted stream of operations read from the input: deliver, drop, corrupt or duplicate a
 * datagram in flight, advance time, inject raw datagrams, add candidate strings (valid and
 * fuzzed), send packets either way, roam the client (reset), restart the connection.
 * Invariants after every operation: every decapsulate result is one of the three kinds,
 * data arrives only at the connection of the peer that sent it and carries that peer's
 * marker, and the node's poll_timeout never lies in the past after handle_timeout.
 */
#include <stdlib.h>
#include <string.h>

#include "floe/node.h"

#define FZ_QUEUE 64
#define FZ_OPS 400

struct fz_pkt {
    int to;
    struct floe_addr from, dst;
    size_t len;
    uint8_t buf[FLOE_NODE_TRANSMIT_MAX];
};

struct fz {
    const uint8_t *p;
    size_t n;
    struct floe_node *node[2];
    struct floe_xoshiro x[2];
    struct floe_addr host[2];
    floe_time now;
    struct fz_pkt *q;
    size_t nq;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t fz_u8(struct fz *f)
{
    if (f->n == 0)
        return 0;
    f->n--;
    return *f->p++;
}

static uint64_t fz_cid(int side)
{
    return side ? 7 : 9; /* each side's id for its peer */
}

static void fz_push(struct fz *f, int to, const struct floe_addr *from, const struct floe_addr *dst,
                    const uint8_t *buf, size_t len)
{
    struct fz_pkt *p;

    if (f->nq == FZ_QUEUE || len > FLOE_NODE_TRANSMIT_MAX)
        return;
    p = &f->q[f->nq++];
    p->to = to;
    p->from = *from;
    p->dst = *dst;
    p->len = len;
    memcpy(p->buf, buf, len);
}

static int fz_owner(const struct fz *f, const struct floe_addr *a)
{
    return floe_addr_eq(a, &f->host[0]) ? 0 : floe_addr_eq(a, &f->host[1]) ? 1 : -1;
}

static void fz_drain(struct fz *f, int i)
{
    uint8_t buf[FLOE_NODE_TRANSMIT_MAX];
    struct floe_node_transmit tr;
    struct floe_node_event ev;
    int k = 0;

    while (k++ < 256 && floe_node_poll_transmit(f->node[i], f->now, buf, sizeof(buf), &tr) == 1) {
        if (fz_owner(f, &tr.to) >= 0)
            fz_push(f, fz_owner(f, &tr.to), &tr.local, &tr.to, buf, tr.len);
    }
    while (floe_node_poll_event(f->node[i], &ev) == 1) {
        if (ev.type == FLOE_NODE_EV_CANDIDATE_NEW)
            (void)floe_node_conn_add_remote_candidate(f->node[1 - i], f->now, fz_cid(1 - i),
                                                      ev.u.candidate);
        if (ev.type == FLOE_NODE_EV_CANDIDATE_NEW && ev.cid != fz_cid(i))
            abort();
    }
}

static void fz_deliver(struct fz *f, const struct fz_pkt *p)
{
    uint8_t out[FLOE_NODE_TRANSMIT_MAX];
    uint64_t cid = 0;
    size_t olen = 0;
    int rc;

    rc = floe_node_decapsulate(f->node[p->to], f->now, &p->dst, &p->from, p->buf, p->len, out,
                               sizeof(out), &cid, &olen);
    if (rc < 0 || rc > FLOE_NODE_INPUT_DROPPED)
        abort();
    /* Data comes only from the other node, to the connection naming it, with its marker. */
    if (rc == FLOE_NODE_INPUT_DATA && (cid != fz_cid(p->to) || olen < 21 || out[20] != 1 - p->to))
        abort();
    fz_drain(f, p->to);
}

static void fz_send(struct fz *f, int i)
{
    uint8_t pkt[60], out[60 + FLOE_NODE_OVERHEAD];
    struct floe_node_transmit tr;
    long n;

    memset(pkt, 0, sizeof(pkt));
    pkt[0] = 0x45;
    floe_store_be16(pkt + 2, sizeof(pkt));
    pkt[20] = (uint8_t)i;
    n = floe_node_encapsulate(f->node[i], f->now, fz_cid(i), pkt, sizeof(pkt), out, sizeof(out),
                              &tr);
    if (n > 0 && fz_owner(f, &tr.to) >= 0)
        fz_push(f, fz_owner(f, &tr.to), &tr.local, &tr.to, out, (size_t)n);
    fz_drain(f, i);
}

static void fz_tick(struct fz *f, floe_time step)
{
    int i;

    f->now += step;
    for (i = 0; i < 2; i++) {
        if (floe_node_poll_timeout(f->node[i]) <= f->now) {
            floe_node_handle_timeout(f->node[i], f->now);
            if (floe_node_poll_timeout(f->node[i]) <= f->now)
                abort();
        }
        fz_drain(f, i);
    }
}

static void fz_inject(struct fz *f)
{
    uint8_t buf[256], out[256];
    struct floe_addr from = floe_addr_v4(10, 0, 0, fz_u8(f) & 3, 5000);
    size_t len = fz_u8(f), k;
    uint64_t cid;
    size_t olen;
    int to = fz_u8(f) & 1;

    for (k = 0; k < len; k++)
        buf[k] = fz_u8(f);
    if (floe_node_decapsulate(f->node[to], f->now, &f->host[to], &from, buf, len, out, sizeof(out),
                              &cid, &olen) < 0)
        abort();
    fz_drain(f, to);
}

static void fz_candidate(struct fz *f)
{
    char s[96];
    size_t len = fz_u8(f) % (sizeof(s) - 1), k;
    int to = fz_u8(f) & 1;

    for (k = 0; k < len; k++)
        s[k] = (char)fz_u8(f);
    s[len] = '\0';
    (void)floe_node_conn_add_remote_candidate(f->node[to], f->now, fz_cid(to), s);
    fz_drain(f, to);
}

static void fz_roam(struct fz *f)
{
    f->host[0].ip[2] = (uint8_t)(f->host[0].ip[2] + 1);
    (void)floe_node_reset(f->node[0], f->now);
    (void)floe_node_add_host(f->node[0], f->now, &f->host[0]);
    fz_drain(f, 0);
}

static int fz_connect(struct fz *f)
{
    struct floe_node_conn_config cc[2];
    const char *uf, *pw;
    int i, k;

    memset(cc, 0, sizeof(cc));
    for (i = 0; i < 2; i++)
        floe_node_public_key(f->node[1 - i], cc[i].public_key);
    strcpy(cc[0].remote_ufrag, "none");
    strcpy(cc[0].remote_pwd, "none-yet-000000000000000");
    for (k = 0; k < 3; k++) {
        i = k == 1;
        if (floe_node_conn_upsert(f->node[i], f->now, fz_cid(i), &cc[i]) != 0 ||
            floe_node_conn_local_credentials(f->node[i], fz_cid(i), &uf, &pw) != 0)
            return -1;
        strcpy(cc[1 - i].remote_ufrag, uf);
        strcpy(cc[1 - i].remote_pwd, pw);
    }
    fz_drain(f, 0);
    fz_drain(f, 1);
    return 0;
}

static int fz_setup(struct fz *f)
{
    int i;

    for (i = 0; i < 2; i++) {
        struct floe_node_config cfg;

        floe_node_config_default(&cfg);
        floe_xoshiro_seed(&f->x[i], (uint64_t)i + 1);
        cfg.rng = floe_xoshiro_rng(&f->x[i]);
        cfg.role = i ? FLOE_NODE_GATEWAY : FLOE_NODE_CLIENT;
        cfg.max_connections = 4;
        memset(cfg.private_key, 0x21 + i, sizeof(cfg.private_key));
        f->host[i] = floe_addr_v4(10, (uint8_t)(i + 1), 0, 1, 5000);
        if (floe_node_new(&f->node[i], &cfg, 0) != 0 ||
            floe_node_add_host(f->node[i], 0, &f->host[i]) != 0)
            return -1;
    }
    return fz_connect(f);
}

/* One operation of the script. */
static void fz_op(struct fz *f, uint8_t op)
{
    size_t at = f->nq ? fz_u8(f) % f->nq : 0;

    switch (op % 10) {
    case 0:
    case 1:
    case 2:
        if (f->nq) {
            struct fz_pkt p = f->q[at];

            f->q[at] = f->q[--f->nq];
            if (op % 10 == 2 && p.len)
                p.buf[fz_u8(f) % p.len] ^= (uint8_t)(1 + fz_u8(f) % 255);
            fz_deliver(f, &p);
        }
        break;
    case 3:
        fz_tick(f, FLOE_MS(fz_u8(f)) * 10);
        break;
    case 4:
        fz_inject(f);
        break;
    case 5:
        fz_candidate(f);
        break;
    case 6:
        fz_send(f, fz_u8(f) & 1);
        break;
    case 7:
        fz_roam(f);
        break;
    case 8:
        if (f->nq) /* duplicate */
            fz_push(f, f->q[at].to, &f->q[at].from, &f->q[at].dst, f->q[at].buf, f->q[at].len);
        break;
    default:
        if (f->nq)
            f->q[at] = f->q[--f->nq];
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f;
    int ops = 0;

    memset(&f, 0, sizeof(f));
    f.p = data;
    f.n = size;
    f.q = calloc(FZ_QUEUE, sizeof(*f.q));
    if (f.q && fz_setup(&f) == 0) {
        while (f.n && ops++ < FZ_OPS)
            fz_op(&f, fz_u8(&f));
    }
    floe_node_free(f.node[0]);
    floe_node_free(f.node[1]);
    free(f.q);
    return 0;
}
