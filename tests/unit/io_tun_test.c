/*
 * The Linux data path drivers against the real kernel, in a network namespace of the test's
 * own (unshare(CLONE_NEWNET): it disappears with the process, whatever happens): the TUN
 * device (a UDP datagram routed into it comes out of floe_io_tun_read, a packet written is
 * delivered to a local socket, TCP segments written coalesced are taken by the kernel as one
 * GSO write, a TCP SYN's partial checksum is completed), rtnetlink (an address, a route in
 * a table of its own, the "not fwmark" rule and the MTU, each read back with `ip`), the
 * network watcher (an address added on a veth is reported, one on the ignored interface is
 * not) and SO_MARK. Needs root (CAP_NET_ADMIN): without it the test fails, loudly.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "floe_io.h"
#include "test.h"

#define TUN_NAME "floetest0"

static struct floe_io_tun *tun;
static unsigned tun_index;

/* Run cmd and keep its output in out[0..cap). Returns its exit status. */
static int sh_out(const char *cmd, char *out, size_t cap)
{
    FILE *f = popen(cmd, "r");
    size_t n = 0, got;

    out[0] = '\0';
    if (!f)
        return -1;
    while (n + 1 < cap && (got = fread(out + n, 1, cap - 1 - n, f)) > 0)
        n += got;
    out[n] = '\0';
    return pclose(f);
}

static bool wait_readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    return poll(&p, 1, ms) == 1;
}

/* The Internet checksum of p[0..len) added to sum (host order words), folded. */
static uint16_t ref_sum(uint32_t sum, const uint8_t *p, size_t len)
{
    size_t i;

    for (i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* Fill the IPv4 header at p (src, dst, proto, total length) with its checksum. */
static void ip4_header(uint8_t *p, const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
                       size_t len, uint16_t id)
{
    memset(p, 0, 20);
    p[0] = 0x45;
    floe_store_be16(p + 2, (uint16_t)len);
    floe_store_be16(p + 4, id);
    p[6] = 0x40; /* DF */
    p[8] = 64;
    p[9] = proto;
    memcpy(p + 12, src, 4);
    memcpy(p + 16, dst, 4);
    floe_store_be16(p + 10, (uint16_t)~ref_sum(0, p, 20));
}

/* The L4 checksum of an IPv4 packet's payload with its pseudo-header. */
static uint16_t l4_csum(const uint8_t *p, size_t len)
{
    uint32_t sum = ref_sum(0, p + 12, 8);

    sum += p[9] + (uint32_t)(len - 20);
    return (uint16_t)~ref_sum(sum, p + 20, len - 20);
}

static const uint8_t ip_local[4] = {10, 77, 0, 1}, ip_peer[4] = {10, 77, 0, 2};

static void test_setup_namespace_and_tun(void)
{
    struct floe_io_tun_config cfg = {.name = TUN_NAME, .mtu = 1420};
    struct floe_addr a = {.family = FLOE_AF_INET};
    char out[4096];

    if (unshare(CLONE_NEWNET) != 0) {
        fprintf(stderr, "  unshare(CLONE_NEWNET): %s: this test needs root\n", strerror(errno));
        REQUIRE(!"a network namespace of the test's own");
    }
    REQUIRE(floe_io_tun_open(&tun, &cfg) == 0);
    CHECK_STR(floe_io_tun_name(tun), TUN_NAME);
    CHECK(floe_io_tun_has_offload(tun));
    tun_index = floe_io_tun_ifindex(tun);
    REQUIRE(tun_index > 0);
    CHECK_EQ(floe_io_nl_link_set(tun_index, true, 0), 0);
    memcpy(a.ip, ip_local, 4);
    CHECK_EQ(floe_io_nl_addr(tun_index, &a, 24, true), 0);
    CHECK_EQ(floe_io_nl_addr(tun_index, &a, 24, true), FLOE_ERR_IO); /* already there */
    CHECK_EQ(errno, EEXIST);
    CHECK_EQ(sh_out("ip -4 addr show dev " TUN_NAME, out, sizeof(out)), 0);
    CHECK(strstr(out, "inet 10.77.0.1/24") != NULL);
    CHECK(strstr(out, "mtu 1420") != NULL);
    CHECK(strstr(out, ",UP") != NULL);
}

/*
 * Read from the TUN device until an IPv4 packet of protocol proto comes (IPv6 noise
 * skipped); for TCP, one with all of tcp_flags set.
 */
static int read_ipv4(struct floe_io_segq *q, uint8_t proto, uint8_t tcp_flags)
{
    int tries, n;

    for (tries = 0; tries < 50; tries++) {
        q->n = 0;
        n = floe_io_tun_read(tun, q);
        if (n == 0 && !wait_readable((int)floe_io_tun_wait_handle(tun), 100))
            continue;
        if (n > 0 && q->seg[0][0] == 0x45 && q->seg[0][9] == proto &&
            (q->seg[0][33] & tcp_flags) == tcp_flags)
            return n;
    }
    return -1;
}

static void test_tun_read_and_write_udp(void)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9999)};
    struct sockaddr_in me = {.sin_family = AF_INET};
    socklen_t me_len = sizeof(me);
    struct floe_io_segq q;
    static uint8_t pkt[FLOE_IO_TUN_HEADROOM + 64];
    uint8_t *p = pkt + FLOE_IO_TUN_HEADROOM, got[64];
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    REQUIRE(fd >= 0 && floe_io_segq_init(&q, 4) == 0);
    memcpy(&me.sin_addr, ip_local, 4);
    REQUIRE(bind(fd, (struct sockaddr *)&me, sizeof(me)) == 0);
    REQUIRE(getsockname(fd, (struct sockaddr *)&me, &me_len) == 0);
    memcpy(&to.sin_addr, ip_peer, 4);
    REQUIRE(sendto(fd, "hello", 5, 0, (struct sockaddr *)&to, sizeof(to)) == 5);
    REQUIRE(read_ipv4(&q, 17, 0) == 1);
    CHECK_EQ(q.len[0], 20u + 8u + 5u);
    CHECK_MEM(q.seg[0] + 16, ip_peer, 4);
    CHECK_MEM(q.seg[0] + 28, "hello", 5);
    CHECK(floe_load_be16(q.seg[0] + 26) == 0 || l4_csum(q.seg[0], q.len[0]) == 0);
    /* The answer written to the device reaches the socket. */
    ip4_header(p, ip_peer, ip_local, 17, 20 + 8 + 3, 1);
    floe_store_be16(p + 20, 9999);
    memcpy(p + 22, &me.sin_port, 2);
    floe_store_be16(p + 24, 8 + 3);
    memcpy(p + 28, "abc", 3);
    floe_store_be16(p + 26, l4_csum(p, 31));
    CHECK_EQ(floe_io_tun_write(tun, p, 31), 0);
    CHECK_EQ(floe_io_tun_flush(tun), 0);
    REQUIRE(wait_readable(fd, 2000));
    CHECK_EQ(recv(fd, got, sizeof(got), MSG_DONTWAIT), 3);
    CHECK_MEM(got, "abc", 3);
    CHECK_EQ(floe_io_tun_write(tun, p, 0), FLOE_ERR_INVALID_ARG); /* refused and counted */
    close(fd);
    floe_io_segq_deinit(&q);
}

/* A TCP segment from the peer's port 80 to port 40000, seq, payload bytes of value seq. */
static void tcp_segment(uint8_t *p, uint32_t seq, size_t payload)
{
    size_t len = 40 + payload;

    ip4_header(p, ip_peer, ip_local, 6, len, 7); /* DF with a fixed ID */
    memset(p + 20, 0, 20);
    floe_store_be16(p + 20, 80);
    floe_store_be16(p + 22, 40000);
    floe_store_be32(p + 24, seq);
    floe_store_be32(p + 28, 1);
    p[32] = 5 << 4;
    p[33] = 0x10; /* ACK */
    floe_store_be16(p + 34, 65535);
    memset(p + 40, (int)(seq & 0xff), payload);
    floe_store_be16(p + 36, l4_csum(p, len));
}

static void test_tun_coalesces_tcp_writes_and_completes_checksums(void)
{
    static uint8_t segs[3][FLOE_IO_TUN_HEADROOM + 1500];
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(80)};
    struct floe_io_tun_stats st;
    struct floe_io_segq q;
    int i, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    for (i = 0; i < 3; i++)
        tcp_segment(segs[i] + FLOE_IO_TUN_HEADROOM, 1000 + (uint32_t)i * 1300, 1300);
    for (i = 0; i < 3; i++)
        CHECK_EQ(floe_io_tun_write(tun, segs[i] + FLOE_IO_TUN_HEADROOM, 1340), 0);
    CHECK_EQ(floe_io_tun_flush(tun), 0);
    floe_io_tun_stats(tun, &st);
    CHECK_EQ(st.gro_writes, 1u); /* the kernel took one GSO write of three segments */
    CHECK_EQ(st.gro_segs, 3u);
    CHECK_EQ(st.tx_errors, 0u);
    CHECK_EQ(st.tx_bad, 1u);
    /* A SYN leaves with a partial checksum (TUN_F_CSUM): completed by the read. */
    REQUIRE(fd >= 0 && floe_io_segq_init(&q, 4) == 0);
    memcpy(&to.sin_addr, ip_peer, 4);
    CHECK(connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0 && errno == EINPROGRESS);
    REQUIRE(read_ipv4(&q, 6, 0x02) == 1);
    CHECK_EQ(q.seg[0][33] & 0x02, 0x02);
    CHECK_EQ(l4_csum(q.seg[0], q.len[0]), 0);
    close(fd);
    floe_io_segq_deinit(&q);
}

/* A SYN-ACK from the peer's port 80 answering syn (the kernel's SYN), MSS 1400. */
static size_t tcp_syn_ack(uint8_t *p, const uint8_t *syn)
{
    ip4_header(p, ip_peer, ip_local, 6, 44, 9);
    memset(p + 20, 0, 24);
    memcpy(p + 20, syn + 22, 2); /* their destination port is our source */
    memcpy(p + 22, syn + 20, 2);
    floe_store_be32(p + 24, 5000);                         /* our ISN */
    floe_store_be32(p + 28, floe_load_be32(syn + 24) + 1); /* their ISN + 1 */
    p[32] = 6 << 4;
    p[33] = 0x12; /* SYN ACK */
    floe_store_be16(p + 34, 65535);
    p[40] = 2; /* MSS 1400 */
    p[41] = 4;
    floe_store_be16(p + 42, 1400);
    floe_store_be16(p + 36, l4_csum(p, 44));
    return 44;
}

/*
 * A TCP sender's super-packet (TSO through TUN_F_TSO4) read into a queue of 4: it comes in
 * runs of at most 4 segments, each a whole TCP/IPv4 packet of at most MSS payload with
 * valid checksums, the sequence numbers following each other across the runs.
 */
static void test_tun_super_packet_read_in_runs(void)
{
    static uint8_t synack[FLOE_IO_TUN_HEADROOM + 64], data[14000];
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(80)};
    struct floe_io_tun_stats st;
    struct floe_io_segq q;
    uint32_t next = 0, payload_total = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), n, tries, i;

    REQUIRE(fd >= 0 && floe_io_segq_init(&q, 4) == 0);
    memcpy(&to.sin_addr, ip_peer, 4);
    CHECK(connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0 && errno == EINPROGRESS);
    REQUIRE(read_ipv4(&q, 6, 0x02) == 1);
    next = floe_load_be32(q.seg[0] + 24) + 1;
    CHECK_EQ(floe_io_tun_write(tun, synack + FLOE_IO_TUN_HEADROOM,
                               tcp_syn_ack(synack + FLOE_IO_TUN_HEADROOM, q.seg[0])),
             0);
    REQUIRE(wait_readable(fd, 2000) || true);
    usleep(100 * 1000);
    memset(data, 'x', sizeof(data));
    REQUIRE(send(fd, data, sizeof(data), 0) > 0);
    for (tries = 0; tries < 40 && payload_total < 5600; tries++) {
        q.n = 0;
        n = floe_io_tun_read(tun, &q);
        if (n == 0) {
            (void)wait_readable((int)floe_io_tun_wait_handle(tun), 100);
            continue;
        }
        REQUIRE(n > 0 && n <= 4);
        for (i = 0; i < n; i++) {
            size_t plen = q.len[i] - 40;

            if (q.seg[i][9] != 6 || plen == 0)
                continue; /* the handshake's ACK */
            CHECK(plen <= 1400);
            CHECK_EQ(floe_load_be32(q.seg[i] + 24), next);
            CHECK_EQ(l4_csum(q.seg[i], q.len[i]), 0);
            CHECK_EQ(ref_sum(0, q.seg[i], 20), 0xffff);
            next += (uint32_t)plen;
            payload_total += (uint32_t)plen;
        }
    }
    CHECK(payload_total >= 5600); /* more than one run of 4 */
    floe_io_tun_stats(tun, &st);
    CHECK(st.rx_segs > st.rx_packets); /* super-packets were cut */
    close(fd);
    floe_io_segq_deinit(&q);
}

static void test_routes_rules_and_mtu(void)
{
    struct floe_prefix r4, r6;
    char out[4096];

    REQUIRE(floe_prefix_parse("10.88.0.0/16", &r4) == 0 &&
            floe_prefix_parse("fd88::/48", &r6) == 0);
    CHECK_EQ(floe_io_nl_route(tun_index, &r4, 51820, true), 0);
    CHECK_EQ(floe_io_nl_route(tun_index, &r6, 51820, true), 0);
    CHECK_EQ(floe_io_nl_rule(FLOE_AF_INET, 0xca6c, 51820, 31000, true), 0);
    CHECK_EQ(floe_io_nl_rule(FLOE_AF_INET6, 0xca6c, 51820, 31000, true), 0);
    CHECK_EQ(floe_io_nl_rule(FLOE_AF_INET, 0xca6c, 51820, 31000, true), FLOE_ERR_IO);
    CHECK_EQ(errno, EEXIST);
    CHECK_EQ(floe_io_nl_link_set(tun_index, true, 1380), 0);
    CHECK_EQ(sh_out("ip -4 route show table 51820", out, sizeof(out)), 0);
    CHECK(strstr(out, "10.88.0.0/16 dev " TUN_NAME) != NULL);
    CHECK_EQ(sh_out("ip -6 route show table 51820", out, sizeof(out)), 0);
    CHECK(strstr(out, "fd88::/48 dev " TUN_NAME) != NULL);
    CHECK_EQ(sh_out("ip -4 rule show; ip -6 rule show", out, sizeof(out)), 0);
    CHECK(strstr(out, "not from all fwmark 0xca6c lookup 51820") != NULL);
    CHECK(strstr(strstr(out, "fwmark 0xca6c") + 1, "not from all fwmark 0xca6c lookup 51820"));
    CHECK_EQ(sh_out("ip link show dev " TUN_NAME, out, sizeof(out)), 0);
    CHECK(strstr(out, "mtu 1380") != NULL);
    CHECK_EQ(floe_io_nl_route(tun_index, &r4, 51820, false), 0);
    CHECK_EQ(floe_io_nl_rule(FLOE_AF_INET, 0xca6c, 51820, 31000, false), 0);
    CHECK_EQ(sh_out("ip -4 route show table 51820; ip -4 rule show", out, sizeof(out)), 0);
    CHECK(strstr(out, "10.88.0.0/16") == NULL && strstr(out, "0xca6c") == NULL);
    CHECK_EQ(floe_io_nl_route(tun_index, &r4, 51820, false), FLOE_ERR_IO); /* gone */
    CHECK_EQ(floe_io_nl_route(0, &r4, 51820, true), FLOE_ERR_INVALID_ARG);
}

/* Wait up to ms for the watcher, then read it. */
static int watch_after(struct floe_io_netwatch *w, int ms)
{
    (void)wait_readable(floe_io_netwatch_fd(w), ms);
    usleep(50 * 1000); /* the rest of a burst */
    return floe_io_netwatch_read(w);
}

static void test_watcher_ignores_its_interface(void)
{
    struct floe_io_netwatch *w;
    struct floe_addr a = {.family = FLOE_AF_INET, .ip = {10, 77, 1, 1}};
    char out[256];

    REQUIRE(floe_io_netwatch_open(&w, tun_index) == 0);
    CHECK_EQ(floe_io_netwatch_read(w), 0);
    CHECK_EQ(floe_io_nl_addr(tun_index, &a, 24, true), 0); /* on the ignored interface */
    CHECK_EQ(watch_after(w, 300), 0);
    REQUIRE(sh_out("ip link add fwtest0 type veth peer name fwtest1 2>&1", out, sizeof(out)) == 0);
    CHECK_EQ(watch_after(w, 1000), 1); /* links appeared */
    CHECK_EQ(floe_io_netwatch_read(w), 0);
    REQUIRE(sh_out("ip addr add 192.0.2.10/24 dev fwtest0 2>&1", out, sizeof(out)) == 0);
    CHECK_EQ(watch_after(w, 1000), 1); /* an address on another interface */
    floe_io_netwatch_ignore(w, 0);
    CHECK_EQ(floe_io_nl_addr(tun_index, &a, 24, false), 0);
    CHECK_EQ(watch_after(w, 1000), 1); /* nothing ignored any more */
    floe_io_netwatch_free(w);
}

static void test_udp_mark(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    uint32_t mark = 0;
    socklen_t len = sizeof(mark);

    REQUIRE(fd >= 0);
    CHECK_EQ(floe_io_udp_set_mark(fd, 0xca6c), 0);
    CHECK_EQ(getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &len), 0);
    CHECK_EQ(mark, 0xca6cu);
    CHECK_EQ(floe_io_udp_set_mark(-1, 1), FLOE_ERR_INVALID_ARG);
    close(fd);
}

int main(void)
{
    FLOE_RUN(test_setup_namespace_and_tun);
    if (!tun)
        return floe_test_summary();
    FLOE_RUN(test_tun_read_and_write_udp);
    FLOE_RUN(test_tun_coalesces_tcp_writes_and_completes_checksums);
    FLOE_RUN(test_tun_super_packet_read_in_runs);
    FLOE_RUN(test_routes_rules_and_mtu);
    FLOE_RUN(test_watcher_ignores_its_interface);
    FLOE_RUN(test_udp_mark);
    floe_io_tun_free(tun);
    return floe_test_summary();
}
