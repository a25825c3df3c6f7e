/*
 * The data path's queues, shared by every platform: plain segments waiting for an encrypt
 * batch (floe_io_segq) and encrypted datagrams waiting for one UDP send batch
 * (floe_io_txq). Heap buffers allocated once; nothing is allocated per packet.
 */
#include <stdlib.h>
#include <string.h>

#include "floe/node.h"
#include "floe/wg.h"
#include "floe_io.h"

#define QUEUE_CAP_MAX 65536

/* A slot holds the datagram of any segment, from the WireGuard device or from the node. */
_Static_assert(FLOE_IO_TX_MAX >= FLOE_IO_SEG_MAX + FLOE_NODE_OVERHEAD, "txq slot too small");
_Static_assert(FLOE_IO_TX_MAX >= FLOE_IO_SEG_MAX + 16 + FLOE_WG_DATA_OVERHEAD, "txq slot");

int floe_io_segq_init(struct floe_io_segq *q, size_t cap)
{
    if (!q)
        return FLOE_ERR_INVALID_ARG;
    memset(q, 0, sizeof(*q));
    if (cap == 0 || cap > QUEUE_CAP_MAX)
        return FLOE_ERR_INVALID_ARG;
    q->seg = malloc(cap * sizeof(*q->seg));
    q->len = calloc(cap, sizeof(*q->len));
    q->tag = calloc(cap, sizeof(*q->tag));
    if (!q->seg || !q->len || !q->tag) {
        floe_io_segq_deinit(q);
        return FLOE_ERR_NOMEM;
    }
    q->cap = cap;
    return 0;
}

void floe_io_segq_deinit(struct floe_io_segq *q)
{
    if (!q)
        return;
    free(q->seg);
    free(q->len);
    free(q->tag);
    memset(q, 0, sizeof(*q));
}

size_t floe_io_segq_room(const struct floe_io_segq *q)
{
    return q->cap - q->n;
}

int floe_io_txq_init(struct floe_io_txq *q, size_t cap)
{
    if (!q)
        return FLOE_ERR_INVALID_ARG;
    memset(q, 0, sizeof(*q));
    if (cap == 0 || cap > QUEUE_CAP_MAX)
        return FLOE_ERR_INVALID_ARG;
    q->tx = malloc(cap * sizeof(*q->tx));
    q->dg = malloc(cap * sizeof(*q->dg));
    if (!q->tx || !q->dg) {
        floe_io_txq_deinit(q);
        return FLOE_ERR_NOMEM;
    }
    q->cap = cap;
    return 0;
}

void floe_io_txq_deinit(struct floe_io_txq *q)
{
    if (!q)
        return;
    free(q->tx);
    free(q->dg);
    memset(q, 0, sizeof(*q));
}

size_t floe_io_txq_room(const struct floe_io_txq *q)
{
    return q->cap - q->n;
}

struct floe_io_tx *floe_io_txq_slot(struct floe_io_txq *q)
{
    return q->n < q->cap ? &q->tx[q->n] : NULL;
}

int floe_io_txq_push(struct floe_io_txq *q, const uint8_t *buf, size_t len,
                     const struct floe_addr *dst)
{
    struct floe_io_tx *t;

    if (!q || !dst || q->n >= q->cap || len > FLOE_IO_TX_MAX || (len && !buf))
        return FLOE_ERR_INVALID_ARG;
    t = &q->tx[q->n++];
    if (buf != t->buf && len)
        memmove(t->buf, buf, len);
    t->len = len;
    t->dst = *dst;
    return 0;
}

void floe_io_txq_flush(struct floe_io_txq *q, struct floe_io_sender *s, int fd)
{
    size_t i;

    if (fd >= 0 && q->n > 0) {
        for (i = 0; i < q->n; i++) {
            q->dg[i].buf = q->tx[i].buf;
            q->dg[i].len = q->tx[i].len;
            q->dg[i].dst = q->tx[i].dst;
        }
        floe_io_udp_send_batch(s, fd, q->dg, q->n);
    }
    q->n = 0;
}
