/*
 * The io_uring UDP driver (src/io/uring.c) on loopback: receives come out with the tag they
 * were armed with, and the completions of a cancelled request never come out, even when a
 * new socket reuses its fd number and is armed with the same tag (what floe-relay does when
 * a released relay port is bound again).
 */
#include "floe_io.h"
#include "test.h"

#define URT_TAG 0x02001234u

/* Wait for completions up to deadline; count data events and those carrying want. */
static void urt_collect(struct floe_io_uring *u, int fd, const char *want, floe_time deadline,
                        int *n_data, int *n_want, int *n_other)
{
    struct floe_io_uring_event ev;
    size_t i;

    while (floe_io_now() < deadline) {
        CHECK_EQ(floe_io_uring_wait(u, 50, 1, 0), 0);
        while (floe_io_uring_next(u, &ev)) {
            CHECK_EQ(ev.fd, fd);
            CHECK_EQ(ev.tag, URT_TAG);
            CHECK(!ev.ended);
            for (i = 0; i < ev.n_dg; i++) {
                (*n_data)++;
                if (ev.dg[i].len == strlen(want) && memcmp(ev.dg[i].buf, want, ev.dg[i].len) == 0)
                    (*n_want)++;
                else
                    (*n_other)++;
            }
        }
    }
}

static void test_stale_completion_after_fd_reuse(void)
{
    struct floe_addr lo = floe_addr_v4(127, 0, 0, 1, 0), la, lb;
    struct floe_io_recv_stats st;
    struct floe_io_uring *u = NULL;
    struct floe_io_uring_event ev;
    int a, b, tx, n_data = 0, n_new = 0, n_other = 0;

    REQUIRE(floe_io_uring_new(&u, 2048, 8) == 0); /* io_uring must work here: fail loudly */
    tx = floe_io_udp_open(&lo);
    a = floe_io_udp_open(&lo);
    REQUIRE(tx >= 0 && a >= 0 && floe_io_udp_local(a, &la) == 0);
    REQUIRE(floe_io_uring_recv(u, a, URT_TAG) == 0);
    CHECK_EQ(floe_io_uring_wait(u, 0, 1, 0), 0); /* armed */
    REQUIRE(floe_io_udp_send(tx, &la, (const uint8_t *)"old", 3) == 0);
    /* the datagram's completion is in the ring, not yet taken */
    CHECK_EQ(floe_io_uring_wait(u, 500, 1, 0), 0);
    /* the port is released: cancel, close; a new port gets the same fd and the same tag */
    CHECK_EQ(floe_io_uring_cancel(u, a, URT_TAG), 0);
    floe_io_close(a);
    b = floe_io_udp_open(&lo);
    REQUIRE(b == a);
    REQUIRE(floe_io_udp_local(b, &lb) == 0);
    REQUIRE(floe_io_uring_recv(u, b, URT_TAG) == 0);
    CHECK_EQ(floe_io_uring_wait(u, 0, 1, 0), 0);
    REQUIRE(floe_io_udp_send(tx, &lb, (const uint8_t *)"new", 3) == 0);
    urt_collect(u, b, "new", floe_io_now() + FLOE_MS(300), &n_data, &n_new, &n_other);
    CHECK_EQ(n_new, 1);
    CHECK_EQ(n_other, 0); /* the old socket's datagram is not handed out as b's */
    CHECK_EQ(n_data, 1);
    floe_io_uring_recv_stats(u, &st);
    CHECK(st.stale >= 1);
    CHECK_EQ(floe_io_uring_cancel(u, b, URT_TAG + 1), FLOE_ERR_NOT_FOUND); /* not its tag */
    CHECK_EQ(floe_io_uring_next(u, &ev), 0);
    floe_io_uring_free(u);
    floe_io_close(b);
    floe_io_close(tx);
}

/* A multishot receive keeps delivering; bad arguments are refused. */
static void test_recv_many_and_bad_args(void)
{
    struct floe_addr lo = floe_addr_v4(127, 0, 0, 1, 0), la;
    struct floe_io_uring *u = NULL;
    int a, tx, i, n_data = 0, n_want = 0, n_other = 0;

    REQUIRE(floe_io_uring_new(&u, 2048, 8) == 0);
    CHECK_EQ(floe_io_uring_recv(u, -1, URT_TAG), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_io_uring_cancel(u, 12345, URT_TAG), FLOE_ERR_NOT_FOUND);
    tx = floe_io_udp_open(&lo);
    a = floe_io_udp_open(&lo);
    REQUIRE(tx >= 0 && a >= 0 && floe_io_udp_local(a, &la) == 0);
    REQUIRE(floe_io_uring_recv(u, a, URT_TAG) == 0);
    CHECK_EQ(floe_io_uring_wait(u, 0, 1, 0), 0);
    for (i = 0; i < 5; i++)
        REQUIRE(floe_io_udp_send(tx, &la, (const uint8_t *)"x", 1) == 0);
    urt_collect(u, a, "x", floe_io_now() + FLOE_MS(300), &n_data, &n_want, &n_other);
    CHECK_EQ(n_want, 5);
    CHECK_EQ(n_other, 0);
    floe_io_uring_free(u);
    floe_io_close(a);
    floe_io_close(tx);
}

int main(void)
{
    FLOE_RUN(test_stale_completion_after_fd_reuse);
    FLOE_RUN(test_recv_many_and_bad_args);
    return floe_test_summary();
}
