/*
 * The data path: TUN -> role.route -> floe_node_encapsulate_batch (crypto lanes) -> UDP
 * queues (GSO); UDP (GRO split) -> floe_node_decapsulate_batch -> role.accept -> TUN
 * (coalesced). Everything goes through floe_io's shared queues and TUN driver.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "agent_int.h"

int floe__agent_data_init(struct floe_agent *a)
{
    struct floe_io_tun_config tc = {.name = a->cfg.interface,
                                    .mtu = FLOE_AGENT_TUN_MTU,
                                    .no_offload = a->cfg.no_offload,
                                    .netcfg = a->cfg.netcfg};
    int rc;

    a->plain = calloc(AGENT_BATCH, sizeof(*a->plain));
    if (!a->plain)
        return FLOE_ERR_NOMEM;
    for (int s = 0; s < 2; s++) {
        if ((rc = floe_io_txq_init(&a->txq[s], 2 * AGENT_BATCH)) != 0)
            return rc;
        a->snd[s] = (struct floe_io_sender){.gso = !a->cfg.no_offload, .wait_ms = 2};
    }
    if ((rc = floe_io_segq_init(&a->segq, AGENT_BATCH)) != 0 ||
        (rc = floe_io_receiver_init(&a->rcv, AGENT_BATCH)) != 0)
        return rc;
    rc = floe_io_tun_open(&a->tun, &tc);
    if (rc != 0) {
        floe__agent_log(a, FLOE_LOG_ERROR, "TUN %s: %s", a->cfg.interface, floe_strerror(rc));
        return rc;
    }
    return 0;
}

void floe__agent_data_free(struct floe_agent *a)
{
    floe_io_tun_free(a->tun);
    a->tun = NULL;
    floe_io_receiver_deinit(&a->rcv);
    floe_io_segq_deinit(&a->segq);
    for (int s = 0; s < 2; s++)
        floe_io_txq_deinit(&a->txq[s]);
    free(a->plain);
    a->plain = NULL;
}

void floe__agent_udp_flush(struct floe_agent *a)
{
    for (int s = 0; s < 2; s++)
        if (a->txq[s].n)
            floe_io_txq_flush(&a->txq[s], &a->snd[s], a->udp[s]);
}

struct floe_io_tx *floe__agent_tx_slot(struct floe_agent *a, const struct floe_addr *local, int *s)
{
    struct floe_io_tx *t;

    *s = local && local->family == FLOE_AF_INET6 ? AGENT_V6 : AGENT_V4;
    t = floe_io_txq_slot(&a->txq[*s]);
    if (t)
        return t;
    floe__agent_udp_flush(a);
    return floe_io_txq_slot(&a->txq[*s]);
}

/* Queue the datagram of an encapsulated item (written in txq[0]'s free slots). */
static void data_push(struct floe_agent *a, const uint8_t *buf, size_t len,
                      const struct floe_node_transmit *tr)
{
    int s = tr->local.family == FLOE_AF_INET6 ? AGENT_V6 : AGENT_V4;

    if (s == AGENT_V6 && floe_io_txq_room(&a->txq[s]) == 0)
        floe_io_txq_flush(&a->txq[s], &a->snd[s], a->udp[s]);
    (void)floe_io_txq_push(&a->txq[s], buf, len, &tr->to);
}

/* Encrypt the segments in segq (tags: connection ids) and queue their datagrams. */
static void data_encrypt(struct floe_agent *a, floe_time now)
{
    struct floe_io_segq *q = &a->segq;
    size_t n = q->n, base;

    q->n = 0;
    if (!n)
        return;
    if (floe_io_txq_room(&a->txq[AGENT_V4]) < n)
        floe__agent_udp_flush(a);
    base = a->txq[AGENT_V4].n;
    for (size_t i = 0; i < n; i++)
        a->encap[i] = (struct floe_node_encap){.cid = (uint64_t)(uintptr_t)q->tag[i],
                                               .pkt = q->seg[i],
                                               .len = q->len[i],
                                               .out = a->txq[AGENT_V4].tx[base + i].buf,
                                               .cap = FLOE_IO_TX_MAX};
    if (floe_node_encapsulate_batch(a->node, now, a->encap, n) != 0)
        return;
    for (size_t i = 0; i < n; i++) {
        struct floe_node_encap *e = &a->encap[i];

        if (e->n <= 0) {
            a->ctr.encap_fail += e->n < 0;
            continue;
        }
        data_push(a, e->out, (size_t)e->n, &e->tr);
    }
}

void floe__agent_tun_readable(struct floe_agent *a, floe_time now)
{
    struct floe_io_segq *q = &a->segq;

    for (int turn = 0; turn < 16; turn++) {
        size_t first = q->n;
        int r = floe_io_tun_read(a->tun, q);
        uint64_t cid;

        if (r == FLOE_ERR_BUFFER_TOO_SMALL) {
            data_encrypt(a, now);
            continue;
        }
        if (r <= 0)
            break;
        cid = a->role.route ? a->role.route(a->role.user, a, q->seg[first], q->len[first]) : 0;
        if (!cid) {
            a->ctr.no_route += (uint64_t)r;
            q->n = first;
            continue;
        }
        for (size_t i = first; i < q->n; i++)
            q->tag[i] = (void *)(uintptr_t)cid;
    }
    data_encrypt(a, now);
    floe__agent_drain(a, now);
}

int floe_agent_send(struct floe_agent *a, uint64_t cid, const uint8_t *pkt, size_t len)
{
    struct floe_node_transmit tr;
    int s;
    struct floe_io_tx *t = floe__agent_tx_slot(a, NULL, &s);
    long n;

    if (!t)
        return FLOE_ERR_NOMEM;
    n = floe_node_encapsulate(a->node, floe_io_now(), cid, pkt, len, t->buf, sizeof(t->buf), &tr);
    if (n <= 0)
        return n < 0 ? (int)n : 0;
    data_push(a, t->buf, (size_t)n, &tr);
    return 1;
}

/* Decrypt items[0..n) and write the packets the role accepts to the TUN. */
static void data_decrypt(struct floe_agent *a, floe_time now, size_t n)
{
    if (!n || floe_node_decapsulate_batch(a->node, now, a->decap, n) != 0)
        return;
    for (size_t i = 0; i < n; i++) {
        struct floe_node_decap *d = &a->decap[i];

        if (d->rc == FLOE_ERR_BUFFER_TOO_SMALL)
            a->ctr.decap_big++;
        if (d->rc != FLOE_NODE_INPUT_DATA)
            continue;
        if (a->role.accept && !a->role.accept(a->role.user, a, d->cid, d->out, d->out_len)) {
            a->ctr.rejected++;
            continue;
        }
        (void)floe_io_tun_write(a->tun, d->out, d->out_len);
    }
    (void)floe_io_tun_flush(a->tun);
}

void floe__agent_udp_readable(struct floe_agent *a, int s, floe_time now)
{
    for (int turn = 0; turn < 16; turn++) {
        int r = floe_io_udp_recv_batch(&a->rcv, a->udp[s]);
        size_t k = 0;

        if (r <= 0)
            break;
        for (size_t i = 0; i < a->rcv.n_dg; i++) {
            const struct floe_io_rx_dgram *g = &a->rcv.dg[i];

            a->decap[k] = (struct floe_node_decap){.local = a->host[s],
                                                   .from = g->from,
                                                   .dgram = g->buf,
                                                   .len = g->len,
                                                   .out = a->plain[k] + FLOE_IO_TUN_HEADROOM,
                                                   .cap = AGENT_PLAIN_MAX};
            if (++k == AGENT_BATCH) {
                data_decrypt(a, now, k);
                k = 0;
            }
        }
        data_decrypt(a, now, k);
        if ((size_t)r < a->rcv.batch)
            break;
    }
    floe__agent_drain(a, now);
}
