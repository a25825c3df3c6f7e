/*
 * The data path's queues (portable: also built and run for Windows): capacities, the
 * datagram queue's slots and commits (a datagram written in its own slot is not copied,
 * one from elsewhere is), a full queue refusing more, a flush without a socket emptying it.
 */
#include <string.h>

#include "floe_io.h"
#include "test.h"

static void test_segq(void)
{
    struct floe_io_segq q;

    CHECK_EQ(floe_io_segq_init(&q, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_io_segq_init(&q, 65537), FLOE_ERR_INVALID_ARG);
    floe_io_segq_deinit(&q); /* safe after a failed init */
    REQUIRE(floe_io_segq_init(&q, 3) == 0);
    CHECK_EQ(floe_io_segq_room(&q), 3u);
    memset(q.seg[2], 0xab, FLOE_IO_SEG_MAX); /* every slot is a whole segment */
    q.n = 2;
    CHECK_EQ(floe_io_segq_room(&q), 1u);
    floe_io_segq_deinit(&q);
    CHECK(q.seg == NULL && q.cap == 0);
}

static void test_txq(void)
{
    struct floe_io_txq q;
    struct floe_io_sender s = {0};
    struct floe_addr dst = floe_addr_v4(127, 0, 0, 1, 9);
    struct floe_io_tx *t;
    uint8_t other[40];

    REQUIRE(floe_io_txq_init(&q, 2) == 0);
    t = floe_io_txq_slot(&q);
    REQUIRE(t == &q.tx[0]);
    memset(t->buf, 1, 10);
    CHECK_EQ(floe_io_txq_push(&q, t->buf, 10, &dst), 0); /* written in place */
    CHECK_EQ(q.tx[0].len, 10u);
    CHECK(q.tx[0].buf[9] == 1 && floe_addr_eq(&q.tx[0].dst, &dst));
    memset(other, 2, sizeof(other));
    CHECK_EQ(floe_io_txq_push(&q, other, sizeof(other), &dst), 0); /* copied */
    CHECK_EQ(q.tx[1].len, 40u);
    CHECK(q.tx[1].buf[39] == 2);
    CHECK(floe_io_txq_slot(&q) == NULL);
    CHECK_EQ(floe_io_txq_room(&q), 0u);
    CHECK_EQ(floe_io_txq_push(&q, other, 1, &dst), FLOE_ERR_INVALID_ARG); /* full */
    floe_io_txq_flush(&q, &s, -1); /* no socket: dropped, emptied */
    CHECK_EQ(q.n, 0u);
    CHECK_EQ(floe_io_txq_push(&q, other, FLOE_IO_TX_MAX + 1, &dst), FLOE_ERR_INVALID_ARG);
    floe_io_txq_deinit(&q);
}

int main(void)
{
    FLOE_RUN(test_segq);
    FLOE_RUN(test_txq);
    return floe_test_summary();
}
