/*
 * floe-wg's own parts: the command line, the UDP send path over loopback through the
 * library's datagram queue (order kept across GSO runs, a refused datagram dropped alone)
 * and the fwmark. The trie and the segmentation offload are tested in iptrie_test and
 * offload_test.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "wgd.h"

/* ------------------------------------------------------------- arguments */

static int parse(struct wgd_opts *o, char *err, int argc, const char **argv)
{
    return wgd_parse_args(argc, (char **)argv, o, err, 256);
}

static void test_args(void)
{
    struct wgd_opts o;
    char err[256];
    const char *ok[] = {"floe-wg", "-f", "--log-level", "debug", "--no-offload", "wg7"};
    const char *bad_level[] = {"floe-wg", "--log-level", "loud", "wg0"};
    const char *two[] = {"floe-wg", "wg0", "wg1"};
    const char *none[] = {"floe-wg"};
    const char *long_name[] = {"floe-wg", "sixteen-chars-xx"};

    unsetenv("WG_PROCESS_FOREGROUND");
    REQUIRE(parse(&o, err, 6, ok) == 0);
    CHECK_STR(o.ifname, "wg7");
    CHECK(o.foreground && o.no_offload);
    CHECK_EQ(o.log_level, FLOE_LOG_DEBUG);
    CHECK_EQ(parse(&o, err, 4, bad_level), -1);
    CHECK(strstr(err, "loud") != NULL);
    CHECK_EQ(parse(&o, err, 3, two), -1);
    CHECK(strstr(err, "wg1") != NULL);
    CHECK_EQ(parse(&o, err, 1, none), -1);
    CHECK_EQ(parse(&o, err, 2, long_name), -1);
    setenv("WG_PROCESS_FOREGROUND", "1", 1);
    REQUIRE(parse(&o, err, 2, two) == 0);
    CHECK(o.foreground);
    unsetenv("WG_PROCESS_FOREGROUND");
    REQUIRE(parse(&o, err, 2, two) == 0);
    CHECK(!o.foreground);
    CHECK_EQ(o.clock_rate, 1u);
    setenv("FLOE_WG_TEST_CLOCK_RATE", "20", 1);
    REQUIRE(parse(&o, err, 2, two) == 0);
    CHECK_EQ(o.clock_rate, 20u);
    setenv("FLOE_WG_TEST_CLOCK_RATE", "0", 1);
    CHECK_EQ(parse(&o, err, 2, two), -1);
    CHECK(strstr(err, "FLOE_WG_TEST_CLOCK_RATE") != NULL);
    setenv("FLOE_WG_TEST_CLOCK_RATE", "5x", 1);
    CHECK_EQ(parse(&o, err, 2, two), -1);
    unsetenv("FLOE_WG_TEST_CLOCK_RATE");
}

/* ---------------------------------------------------------------- UDP send */

/* A UDP socket on 127.0.0.1; *port gets its port. */
static int udp_receiver(uint16_t *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), buf = 1 << 20;

    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        abort();
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Queue a datagram of len bytes numbered seq (its first two bytes) to dst. */
static void tx_add(struct wgd *d, const char *ip, uint16_t port, uint16_t seq, size_t len)
{
    struct floe_io_tx *t = floe_io_txq_slot(&d->txq);
    struct floe_addr dst;

    if (!t || floe_addr_parse_ip(ip, &dst) != 0)
        abort();
    dst.port = port;
    memset(t->buf, 0, len);
    floe_store_be16(t->buf, seq);
    if (floe_io_txq_push(&d->txq, t->buf, len, &dst) != 0)
        abort();
}

static void test_udp_flush_keeps_order_and_drops_only_refused(void)
{
    static struct wgd d;
    uint8_t buf[FLOE_IO_TX_MAX];
    uint16_t port, i, want = 0;
    int rx = udp_receiver(&port);
    ssize_t n;

    d.udp_fd = d.ep_fd = -1;
    REQUIRE(floe_jsonlog_open(&d.log, NULL, FLOE_LOG_OFF) == 0);
    REQUIRE(floe_io_txq_init(&d.txq, WGD_TX_SLOTS) == 0);
    REQUIRE(wgd_udp_open(&d, 0) == 0);
    /* GSO runs of 120-byte datagrams cut by shorter ones; #70 goes where the kernel refuses. */
    for (i = 0; i < WGD_TX_SLOTS; i++)
        tx_add(&d, i == 70 ? "255.255.255.255" : "127.0.0.1", port, i, i % 40 == 39 ? 50 : 120);
    wgd_udp_flush(&d);
    CHECK_EQ(d.txq.n, 0u);
    CHECK_EQ(d.udp_tx.stats.errors, 1u);
    CHECK_EQ(d.udp_tx.stats.full, 0u);
    while ((n = recv(rx, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
        if (want == 70)
            want++;
        CHECK_EQ(floe_load_be16(buf), want);
        CHECK_EQ((size_t)n, want % 40 == 39 ? 50u : 120u);
        want++;
    }
    CHECK_EQ(want, WGD_TX_SLOTS);
    close(rx);
    close(d.udp_fd);
    floe_io_txq_deinit(&d.txq);
    floe_jsonlog_close(&d.log);
}

/* The socket's SO_MARK (-1 when it cannot be read). */
static long sock_mark(int fd)
{
    uint32_t mark = 0;
    socklen_t len = sizeof(mark);

    return getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &len) == 0 ? (long)mark : -1;
}

/* Run one UAPI request (lines separated by \n, ending in an empty line) into resp. */
static void uapi_request(struct wgd *d, const char *req, char *resp, size_t cap)
{
    struct wgd_conn c;
    char line[256];
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    const char *p = req, *nl;

    REQUIRE(out != NULL);
    memset(&c, 0, sizeof(c));
    while ((nl = strchr(p, '\n'))) {
        snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
        (void)wgd_uapi_line(d, &c, line, out, FLOE_SEC(1));
        p = nl + 1;
    }
    fclose(out);
    snprintf(resp, cap, "%s", text ? text : "");
    free(text);
}

/* `wg set wg0 fwmark off` sends fwmark=0: the socket's old mark must go, and get says so. */
static void test_fwmark_off_clears_the_mark(void)
{
    static struct wgd d;
    char resp[4096];

    d.udp_fd = d.ep_fd = -1;
    REQUIRE(floe_jsonlog_open(&d.log, NULL, FLOE_LOG_OFF) == 0);
    REQUIRE(wgd_udp_open(&d, 0) == 0);
    uapi_request(&d, "set=1\nfwmark=51820\n\n", resp, sizeof(resp));
    CHECK_STR(resp, "errno=0\n\n");
    CHECK_EQ(sock_mark(d.udp_fd), 51820);
    uapi_request(&d, "get=1\n\n", resp, sizeof(resp));
    CHECK(strstr(resp, "fwmark=51820\n") != NULL);
    uapi_request(&d, "set=1\nfwmark=0\n\n", resp, sizeof(resp));
    CHECK_STR(resp, "errno=0\n\n");
    CHECK_EQ(sock_mark(d.udp_fd), 0);
    uapi_request(&d, "get=1\n\n", resp, sizeof(resp));
    CHECK(strstr(resp, "fwmark=") == NULL);
    CHECK(strstr(resp, "errno=0\n") != NULL);
    close(d.udp_fd);
    floe_jsonlog_close(&d.log);
}

int main(void)
{
    FLOE_RUN(test_args);
    FLOE_RUN(test_udp_flush_keeps_order_and_drops_only_refused);
    FLOE_RUN(test_fwmark_off_clears_the_mark);
    return floe_test_summary();
}
