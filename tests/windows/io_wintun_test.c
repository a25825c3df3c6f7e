/*
 * The Windows TUN device (io/windows/tun.c over wintun.dll) under Wine, against the double of
 * wintun.dll (tests/windows/wintun_double/) built beside this program: the adapter opened or
 * created and its session started, injected IPv4 and IPv6 packets read through floe_io_tun_read
 * with the read-wait event, packets written and taken back, too long, malformed and refused
 * packets counted, the ring full, the adapter going away, the shared data path's queues and
 * routing around it over UDP on loopback, and (argument "nodll", run from a copy
 * of this program in a directory without the DLL) the loader's error when wintun.dll is missing.
 */
#include <windows.h>

#include <string.h>

#include "floe_io.h"
#include "floe_io_win.h"
#include "test.h"
#include "wintun_double.h"

static struct {
    FLOE_WINTUN_DOUBLE_INJECT_FUNC *inject;
    FLOE_WINTUN_DOUBLE_TAKE_FUNC *take;
    FLOE_WINTUN_DOUBLE_STATE_FUNC *state;
    FLOE_WINTUN_DOUBLE_TERMINATE_FUNC *terminate;
} dbl;

static uint8_t seg_buf[4][FLOE_IO_SEG_MAX];
static size_t seg_len[4];
static void *seg_tag[4];

static struct floe_io_segq test_segq(size_t cap)
{
    struct floe_io_segq q = {seg_buf, seg_len, seg_tag, 0, cap};

    return q;
}

/* An IPv4 (v 4) or IPv6 (v 6) packet of len bytes with a pattern after the version byte. */
static void test_packet(uint8_t *p, size_t len, int v, uint8_t fill)
{
    size_t i;

    for (i = 0; i < len; i++)
        p[i] = (uint8_t)(fill + i);
    p[0] = v == 4 ? 0x45 : 0x60;
}

static struct floe_wintun_double_state test_state(void)
{
    struct floe_wintun_double_state st;

    dbl.state(&st);
    return st;
}

static struct floe_io_tun *test_open(const char *name)
{
    struct floe_io_tun_config cfg = {.name = name, .mtu = 0, .no_offload = false};
    struct floe_io_tun *t = NULL;
    int rc = floe_io_tun_open(&t, &cfg);

    if (rc < 0)
        fprintf(stderr, "  floe_io_tun_open: %d: %s\n", rc, floe_io_tun_error());
    return t;
}

static void test_open_create(void)
{
    struct floe_wintun_double_state before = test_state(), st;
    struct floe_io_tun *t = test_open("floe-test");

    REQUIRE(t != NULL);
    st = test_state();
    CHECK_EQ(st.created, before.created + 1);
    CHECK_EQ(st.opened, before.opened); /* none was there to open */
    CHECK_EQ(st.adapters_live, 1);
    CHECK_EQ(st.sessions_live, 1);
    CHECK_EQ(st.capacity, 0x800000);
    CHECK_EQ(st.logger_set, 1);
    CHECK(wcscmp(st.name, L"floe-test") == 0);
    CHECK(wcscmp(st.tunnel_type, L"floe") == 0);
    CHECK_STR(floe_io_tun_name(t), "floe-test");
    CHECK_STR(floe_io_tun_error(), "");
    CHECK(!floe_io_tun_has_offload(t));
    CHECK_EQ(floe_io_tun_luid(t), 0x0047000000000123ull);
    CHECK_EQ(floe_io_tun_driver_version(t), 0x0000000E);
    CHECK(floe_io_tun_wait_handle(t) != 0);
    CHECK_EQ(floe_io_tun_flush(t), 0);
    floe_io_tun_free(t);
    st = test_state();
    CHECK_EQ(st.adapters_live, 0);
    CHECK_EQ(st.sessions_live, 0);
}

static void test_read(void)
{
    struct floe_io_tun *t = test_open("floe-read");
    struct floe_io_segq q = test_segq(4);
    struct floe_io_tun_stats s;
    uint8_t v4[60], v6[1280];
    HANDLE ev;

    REQUIRE(t != NULL);
    ev = (HANDLE)floe_io_tun_wait_handle(t);
    CHECK_EQ(WaitForSingleObject(ev, 0), WAIT_TIMEOUT);
    CHECK_EQ(floe_io_tun_read(t, &q), 0);
    test_packet(v4, sizeof(v4), 4, 1);
    test_packet(v6, sizeof(v6), 6, 2);
    CHECK_EQ(dbl.inject(v4, sizeof(v4)), ERROR_SUCCESS);
    CHECK_EQ(dbl.inject(v6, sizeof(v6)), ERROR_SUCCESS);
    CHECK_EQ(WaitForSingleObject(ev, 0), WAIT_OBJECT_0);
    CHECK_EQ(floe_io_tun_read(t, &q), 1);
    CHECK_EQ(floe_io_tun_read(t, &q), 1);
    REQUIRE(q.n == 2);
    CHECK_EQ(q.len[0], sizeof(v4));
    CHECK_MEM(q.seg[0], v4, sizeof(v4));
    CHECK_EQ(q.len[1], sizeof(v6));
    CHECK_MEM(q.seg[1], v6, sizeof(v6));
    CHECK_EQ(floe_io_tun_read(t, &q), 0);
    CHECK_EQ(WaitForSingleObject(ev, 0), WAIT_TIMEOUT); /* drained: the event is reset */
    CHECK_EQ(test_state().rx_held, 0);                  /* every packet released */
    floe_io_tun_stats(t, &s);
    CHECK_EQ(s.rx_packets, 2);
    CHECK_EQ(s.rx_segs, 2);
    CHECK_EQ(s.rx_bad + s.rx_too_big, 0);
    floe_io_tun_free(t);
}

static void test_read_drops(void)
{
    struct floe_io_tun *t = test_open("floe-drops");
    struct floe_io_segq q = test_segq(4);
    struct floe_io_tun_stats s;
    static uint8_t big[FLOE_IO_SEG_MAX + 1];
    uint8_t bad[40], short4[12], ok[100];

    REQUIRE(t != NULL);
    test_packet(big, sizeof(big), 4, 3);
    test_packet(bad, sizeof(bad), 4, 4);
    bad[0] = 0x50; /* version 5 */
    test_packet(short4, sizeof(short4), 4, 5);
    test_packet(ok, sizeof(ok), 6, 6);
    CHECK_EQ(dbl.inject(big, sizeof(big)), ERROR_SUCCESS);
    CHECK_EQ(dbl.inject(bad, sizeof(bad)), ERROR_SUCCESS);
    CHECK_EQ(dbl.inject(short4, sizeof(short4)), ERROR_SUCCESS);
    CHECK_EQ(dbl.inject(ok, sizeof(ok)), ERROR_SUCCESS);
    /* One call drops the three and hands out the good one after them. */
    CHECK_EQ(floe_io_tun_read(t, &q), 1);
    REQUIRE(q.n == 1);
    CHECK_EQ(q.len[0], sizeof(ok));
    CHECK_MEM(q.seg[0], ok, sizeof(ok));
    floe_io_tun_stats(t, &s);
    CHECK_EQ(s.rx_packets, 4);
    CHECK_EQ(s.rx_too_big, 1);
    CHECK_EQ(s.rx_bad, 2);
    CHECK_EQ(s.rx_segs, 1);
    CHECK_EQ(test_state().rx_held, 0);
    /* A full queue takes nothing: the packet waits in the ring. */
    q.n = q.cap;
    CHECK_EQ(dbl.inject(ok, sizeof(ok)), ERROR_SUCCESS);
    CHECK_EQ(floe_io_tun_read(t, &q), FLOE_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(test_state().rx_queued, 1);
    floe_io_tun_free(t);
}

static void test_write(void)
{
    struct floe_io_tun *t = test_open("floe-write");
    struct floe_io_tun_stats s;
    uint8_t v4[FLOE_IO_TUN_HEADROOM + 1420], v6[FLOE_IO_TUN_HEADROOM + 64], got[2048];
    DWORD len = 0;

    REQUIRE(t != NULL);
    test_packet(v4 + FLOE_IO_TUN_HEADROOM, 1420, 4, 7);
    test_packet(v6 + FLOE_IO_TUN_HEADROOM, 64, 6, 8);
    CHECK_EQ(floe_io_tun_write(t, v4 + FLOE_IO_TUN_HEADROOM, 1420), 0);
    CHECK_EQ(floe_io_tun_write(t, v6 + FLOE_IO_TUN_HEADROOM, 64), 0);
    CHECK_EQ(floe_io_tun_flush(t), 0);
    CHECK_EQ(dbl.take(got, sizeof(got), &len), ERROR_SUCCESS);
    CHECK_EQ(len, 1420);
    CHECK_MEM(got, v4 + FLOE_IO_TUN_HEADROOM, 1420);
    CHECK_EQ(dbl.take(got, sizeof(got), &len), ERROR_SUCCESS);
    CHECK_EQ(len, 64);
    CHECK_MEM(got, v6 + FLOE_IO_TUN_HEADROOM, 64);
    CHECK_EQ(dbl.take(got, sizeof(got), &len), ERROR_NO_MORE_ITEMS);
    floe_io_tun_stats(t, &s);
    CHECK_EQ(s.tx_segs, 2);
    CHECK_EQ(s.tx_writes, 2);
    CHECK_EQ(s.tx_bad + s.tx_errors, 0);
    CHECK_EQ(test_state().tx_allocated, 0);
    floe_io_tun_free(t);
}

static void test_write_refused(void)
{
    struct floe_io_tun *t = test_open("floe-refused");
    struct floe_io_tun_stats s;
    static uint8_t huge[70000];
    uint8_t junk[60];
    DWORD len = 0;

    REQUIRE(t != NULL);
    test_packet(huge, sizeof(huge), 4, 9);
    test_packet(junk, sizeof(junk), 4, 10);
    junk[0] = 0x00;
    CHECK_EQ(floe_io_tun_write(t, huge, sizeof(huge)), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_io_tun_write(t, junk, sizeof(junk)), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_io_tun_write(t, junk, 0), FLOE_ERR_INVALID_ARG);
    floe_io_tun_stats(t, &s);
    CHECK_EQ(s.tx_bad, 3);
    CHECK_EQ(s.tx_writes, 0);
    CHECK_EQ(dbl.take(junk, sizeof(junk), &len), ERROR_NO_MORE_ITEMS);
    floe_io_tun_free(t);
}

static void test_ring_full(void)
{
    struct floe_io_tun *t = test_open("floe-full");
    struct floe_io_tun_stats s;
    static uint8_t pkt[2048], got[2048];
    /* Each packet takes 2048 + 4 bytes of the 8 MiB ring. */
    const unsigned fit = 0x800000u / 2052u;
    unsigned i, ok = 0;
    DWORD len = 0;
    int rc = 0;

    REQUIRE(t != NULL);
    test_packet(pkt, sizeof(pkt), 4, 11);
    for (i = 0; i < fit + 10 && (rc = floe_io_tun_write(t, pkt, sizeof(pkt))) == 0; i++)
        ok++;
    CHECK_EQ(ok, fit);
    CHECK_EQ(rc, FLOE_ERR_IO);
    CHECK_EQ(GetLastError(), ERROR_BUFFER_OVERFLOW);
    floe_io_tun_stats(t, &s);
    CHECK_EQ(s.tx_errors, 1);
    CHECK_EQ(s.tx_writes, fit);
    /* Room again once the OS took one. */
    CHECK_EQ(dbl.take(got, sizeof(got), &len), ERROR_SUCCESS);
    CHECK_EQ(floe_io_tun_write(t, pkt, sizeof(pkt)), 0);
    floe_io_tun_free(t);
    CHECK_EQ(test_state().tx_queued, 0); /* the session's rings went with it */
}

static void test_adapter_gone(void)
{
    struct floe_io_tun *t = test_open("floe-gone");
    struct floe_io_segq q = test_segq(4);
    uint8_t pkt[40];

    REQUIRE(t != NULL);
    test_packet(pkt, sizeof(pkt), 4, 12);
    dbl.terminate();
    CHECK_EQ(floe_io_tun_read(t, &q), FLOE_ERR_IO);
    CHECK_EQ(GetLastError(), ERROR_HANDLE_EOF);
    CHECK_EQ(floe_io_tun_write(t, pkt, sizeof(pkt)), FLOE_ERR_IO);
    CHECK_EQ(GetLastError(), ERROR_HANDLE_EOF);
    floe_io_tun_free(t);
}

static void test_open_existing(void)
{
    struct floe_wintun_double_state before = test_state(), st;
    struct floe_io_tun_config cfg = {.name = "floe-twice", .mtu = 0, .no_offload = false};
    struct floe_io_tun *a = test_open("floe-twice"), *b = NULL;

    REQUIRE(a != NULL);
    /* The adapter is there now: the second open finds it, then its session is refused. */
    CHECK_EQ(floe_io_tun_open(&b, &cfg), FLOE_ERR_IO);
    CHECK(b == NULL);
    CHECK(strstr(floe_io_tun_error(), "Wintun session") != NULL);
    /* What Wintun's logger said comes with it. */
    CHECK(strstr(floe_io_tun_error(), "the adapter has a session already") != NULL);
    st = test_state();
    CHECK_EQ(st.created, before.created + 1);
    CHECK_EQ(st.opened, before.opened + 1);
    CHECK_EQ(st.adapters_live, 1); /* the failed open released its handle */
    floe_io_tun_free(a);
    CHECK_EQ(test_state().adapters_live, 0);
}

static void test_bad_config(void)
{
    struct floe_io_tun_config cfg = {.name = "", .mtu = 0, .no_offload = false};
    struct floe_io_tun *t = (struct floe_io_tun *)1;
    char long_name[200];

    CHECK_EQ(floe_io_tun_open(NULL, &cfg), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_io_tun_open(&t, NULL), FLOE_ERR_INVALID_ARG);
    CHECK(t == NULL);
    CHECK_EQ(floe_io_tun_open(&t, &cfg), FLOE_ERR_INVALID_ARG);
    CHECK(floe_io_tun_error()[0] != 0);
    cfg.name = "floe-mtu";
    cfg.mtu = 100;
    CHECK_EQ(floe_io_tun_open(&t, &cfg), FLOE_ERR_INVALID_ARG);
    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = 0;
    cfg.name = long_name;
    cfg.mtu = 0;
    CHECK_EQ(floe_io_tun_open(&t, &cfg), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(test_state().adapters_live, 0);
}

/* An IPv4 packet of len bytes from 100.64.0.src to 10.0.0.dst, pattern fill. */
static void test_v4_packet(uint8_t *p, size_t len, uint8_t src, uint8_t dst, uint8_t fill)
{
    test_packet(p, len, 4, fill);
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    memcpy(p + 12, (const uint8_t[]){100, 64, 0, src}, 4);
    memcpy(p + 16, (const uint8_t[]){10, 0, 0, dst}, 4);
}

static struct floe_prefix test_prefix4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t len)
{
    struct floe_prefix p = {.family = FLOE_AF_INET, .ip = {a, b, c, d}, .len = len};

    return p;
}

/* A UDP socket on 127.0.0.1, its address in *addr. */
static int test_udp(struct floe_addr *addr)
{
    struct floe_addr any = {.family = FLOE_AF_INET, .port = 0, .ip = {127, 0, 0, 1}};
    int fd = floe_io_udp_open(&any);

    if (fd >= 0 && floe_io_udp_local(fd, addr) < 0) {
        floe_io_close(fd);
        return -1;
    }
    return fd;
}

/* The data path's parts: two loopback sockets, the queues, routes and allowed sources. */
struct path {
    struct floe_io_tun *t;
    struct floe_io_segq q;
    struct floe_io_txq tx;
    struct floe_io_sender snd;
    struct floe_iptrie routes, allowed;
    struct floe_addr a_addr, b_addr;
    int a, b;
};

static int path_open(struct path *p)
{
    struct floe_prefix net = test_prefix4(10, 0, 0, 0, 24), src = test_prefix4(100, 64, 0, 0, 24);

    memset(p, 0, sizeof(*p));
    p->snd.wait_ms = 100;
    floe_iptrie_init(&p->routes, NULL);
    floe_iptrie_init(&p->allowed, NULL);
    p->t = test_open("floe-path");
    p->a = test_udp(&p->a_addr);
    p->b = test_udp(&p->b_addr);
    if (!p->t || p->a < 0 || p->b < 0 || floe_io_segq_init(&p->q, 8) < 0 ||
        floe_io_txq_init(&p->tx, 8) < 0)
        return -1;
    if (floe_iptrie_insert(&p->routes, &net, &p->b_addr) < 0 ||
        floe_iptrie_insert(&p->allowed, &src, &p->b_addr) < 0)
        return -1;
    return 0;
}

static void path_close(struct path *p)
{
    floe_iptrie_deinit(&p->routes);
    floe_iptrie_deinit(&p->allowed);
    floe_io_segq_deinit(&p->q);
    floe_io_txq_deinit(&p->tx);
    floe_io_close(p->a);
    floe_io_close(p->b);
    floe_io_tun_free(p->t);
}

/* Outbound: tunnel reads, each segment routed by its destination, routed ones to the txq. */
static void path_out(struct path *p)
{
    size_t k;

    while (floe_io_tun_read(p->t, &p->q) > 0) {
        for (k = 0; k < p->q.n; k++) {
            p->q.tag[k] = floe_iptrie_lookup_packet(&p->routes, p->q.seg[k], p->q.len[k], false);
            if (p->q.tag[k])
                CHECK_EQ(floe_io_txq_push(&p->tx, p->q.seg[k], p->q.len[k], p->q.tag[k]), 0);
        }
        p->q.n = 0;
    }
}

/* Inbound: n datagrams received, their sources checked, written to the tunnel. */
static void path_in(struct path *p, int n)
{
    static uint8_t buf[FLOE_IO_TUN_HEADROOM + 2048];
    uint8_t *pkt = buf + FLOE_IO_TUN_HEADROOM;
    struct floe_addr from;
    long len;

    while (n-- > 0) {
        len = floe_io_udp_recv(p->b, pkt, 2048, &from, floe_io_now() + FLOE_SEC(2));
        REQUIRE(len > 0);
        CHECK(floe_iptrie_lookup_packet(&p->allowed, pkt, (size_t)len, true) != NULL);
        CHECK_EQ(floe_io_tun_write(p->t, pkt, (size_t)len), 0);
        CHECK_EQ(floe_io_tun_flush(p->t), 0);
    }
}

/*
 * The shared data path (floe_io.h) on Windows, crypto left out: packets the OS gives the
 * tunnel (injected into the double) are read into a floe_io_segq, routed by a floe_iptrie to a
 * peer's UDP address, sent with floe_io_txq_flush, received on loopback, checked against the
 * peer's allowed sources and written back to the tunnel, where the double takes them: the
 * same bytes in the same order. A packet to no route is not sent; one from outside the
 * allowed sources does not pass the check.
 */
static void test_data_path(void)
{
    static uint8_t pkts[3][1400];
    uint8_t nowhere[60], got[2048];
    struct path p;
    size_t len[3];
    DWORD n = 0;
    int i;

    if (path_open(&p) < 0) {
        CHECK(!"data path set up");
        path_close(&p);
        return;
    }
    for (i = 0; i < 3; i++) {
        len[i] = sizeof(pkts[i]) - (size_t)i * 100;
        test_v4_packet(pkts[i], len[i], 2, (uint8_t)(5 + i), (uint8_t)(20 + i));
        CHECK_EQ(dbl.inject(pkts[i], (DWORD)len[i]), 0);
    }
    test_v4_packet(nowhere, sizeof(nowhere), 2, 0, 30);
    nowhere[16] = 192; /* to 192.0.0.0: no route */
    CHECK_EQ(dbl.inject(nowhere, sizeof(nowhere)), 0);
    path_out(&p);
    CHECK_EQ(p.tx.n, 3);
    floe_io_txq_flush(&p.tx, &p.snd, p.a);
    CHECK_EQ(p.snd.stats.sent, 3);
    path_in(&p, 3);
    for (i = 0; i < 3; i++) {
        CHECK_EQ(dbl.take(got, sizeof(got), &n), ERROR_SUCCESS);
        CHECK_EQ(n, len[i]);
        CHECK_MEM(got, pkts[i], len[i]);
    }
    pkts[0][12] = 172; /* from 172.64.0.2 */
    CHECK(floe_iptrie_lookup_packet(&p.allowed, pkts[0], len[0], true) == NULL);
    path_close(&p);
}

/* Run from a directory without wintun.dll (the working directory has one: never searched). */
static void test_no_dll(void)
{
    struct floe_io_tun_config cfg = {.name = "floe-nodll", .mtu = 0, .no_offload = false};
    struct floe_io_tun *t = (struct floe_io_tun *)1;

    CHECK_EQ(floe_io_tun_open(&t, &cfg), FLOE_ERR_UNSUPPORTED);
    CHECK(t == NULL);
    CHECK_EQ(GetLastError(), ERROR_MOD_NOT_FOUND);
    printf("error: %s\n", floe_io_tun_error());
    CHECK(strstr(floe_io_tun_error(), "cannot load wintun.dll") != NULL);
    CHECK(strstr(floe_io_tun_error(), "beside the program") != NULL);
    CHECK(GetModuleHandleW(L"wintun.dll") == NULL);
}

/* Hold the double loaded for the whole run (its state lives as long) and find its controls. */
static int test_double_load(void)
{
    HMODULE m = LoadLibraryExW(L"wintun.dll", NULL, LOAD_LIBRARY_SEARCH_APPLICATION_DIR);

    if (!m) {
        fprintf(stderr, "FAIL: the wintun.dll double is not beside this program (error %lu)\n",
                (unsigned long)GetLastError());
        return -1;
    }
    dbl.inject = (FLOE_WINTUN_DOUBLE_INJECT_FUNC *)(void (*)(void))GetProcAddress(
        m, "FloeWintunDoubleInject");
    dbl.take =
        (FLOE_WINTUN_DOUBLE_TAKE_FUNC *)(void (*)(void))GetProcAddress(m, "FloeWintunDoubleTake");
    dbl.state =
        (FLOE_WINTUN_DOUBLE_STATE_FUNC *)(void (*)(void))GetProcAddress(m, "FloeWintunDoubleState");
    dbl.terminate = (FLOE_WINTUN_DOUBLE_TERMINATE_FUNC *)(void (*)(void))GetProcAddress(
        m, "FloeWintunDoubleTerminate");
    if (!dbl.inject || !dbl.take || !dbl.state || !dbl.terminate) {
        fprintf(stderr, "FAIL: wintun.dll beside this program is not the double\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "nodll") == 0) {
        FLOE_RUN(test_no_dll);
        return floe_test_summary();
    }
    if (test_double_load() < 0)
        return 1;
    FLOE_RUN(test_open_create);
    FLOE_RUN(test_read);
    FLOE_RUN(test_read_drops);
    FLOE_RUN(test_write);
    FLOE_RUN(test_write_refused);
    FLOE_RUN(test_ring_full);
    FLOE_RUN(test_adapter_gone);
    FLOE_RUN(test_open_existing);
    FLOE_RUN(test_data_path);
    FLOE_RUN(test_bad_config);
    return floe_test_summary();
}
