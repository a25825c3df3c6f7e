/*
 * The Windows network configuration interface (floe_io_win.h) under Wine, through its
 * recording double (netcfg_double.c): floe_io_win_netcfg_apply's calls in order with their
 * values, its stop at the first failure with the Win32 error kept, the network-change watch
 * and its filter of the tunnel's own interface, and the real table's presence (its calls are
 * only compile-checked and linked here: Wine cannot run them). The exclusion of the tunnel from
 * floe's own traffic: the interface choice, and the socket options' byte order read back.
 */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <iphlpapi.h>

#include <string.h>

#include "netcfg_double.h"
#include "win_int.h"
#include "test.h"

#define TUN_LUID 0x0047000000000123ull
#define WIFI_LUID 0x0047000000000007ull

static struct floe_prefix test_v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t len)
{
    struct floe_prefix p;

    memset(&p, 0, sizeof(p));
    p.family = FLOE_AF_INET;
    p.ip[0] = a;
    p.ip[1] = b;
    p.ip[2] = c;
    p.ip[3] = d;
    p.len = len;
    return p;
}

/* fd00::last/len */
static struct floe_prefix test_v6(uint8_t last, uint8_t len)
{
    struct floe_prefix p;

    memset(&p, 0, sizeof(p));
    p.family = FLOE_AF_INET6;
    p.ip[0] = 0xfd;
    p.ip[15] = last;
    p.len = len;
    return p;
}

/* 100.64.0.last/len (v 4) or fd00::last/len (v 6) as an interface address. */
static struct floe_io_win_ifaddr test_ifaddr(int v, uint8_t last, uint8_t len)
{
    struct floe_io_win_ifaddr a;
    struct floe_prefix p = v == 4 ? test_v4(100, 64, 0, last, 0) : test_v6(last, 0);

    memset(&a, 0, sizeof(a));
    a.ip.family = p.family;
    memcpy(a.ip.ip, p.ip, 16);
    a.prefix_len = len;
    return a;
}

static bool test_same_addr(const struct floe_io_win_ifaddr *a, const struct floe_io_win_ifaddr *b)
{
    return a->ip.family == b->ip.family && a->prefix_len == b->prefix_len &&
           memcmp(a->ip.ip, b->ip.ip, 16) == 0;
}

static bool test_same_prefix(const struct floe_prefix *a, const struct floe_prefix *b)
{
    return a->family == b->family && a->len == b->len && memcmp(a->ip, b->ip, 16) == 0;
}

static void test_apply_records(void)
{
    struct netcfg_double d;
    /* An address inside a wider on-link prefix: its host bits must reach the call. */
    struct floe_io_win_ifaddr addrs[2] = {test_ifaddr(4, 2, 10), test_ifaddr(6, 2, 128)};
    struct floe_prefix routes[2] = {test_v4(10, 0, 0, 0, 8), test_v6(0, 64)};
    size_t i;

    netcfg_double_init(&d);
    CHECK_EQ(floe_io_win_netcfg_apply(&d.ops, TUN_LUID, addrs, 2, routes, 2, 5, 1280), 0);
    REQUIRE(d.n == 6);
    for (i = 0; i < 6; i++)
        CHECK_EQ(d.rec[i].luid, TUN_LUID);
    CHECK_EQ(d.rec[0].call, NETCFG_ADDR);
    CHECK(test_same_addr(&d.rec[0].addr, &addrs[0]));
    CHECK_EQ(d.rec[0].addr.ip.ip[3], 2);
    CHECK_EQ(d.rec[1].call, NETCFG_ADDR);
    CHECK(test_same_addr(&d.rec[1].addr, &addrs[1]));
    CHECK_EQ(d.rec[2].call, NETCFG_ROUTE);
    CHECK(test_same_prefix(&d.rec[2].prefix, &routes[0]));
    CHECK_EQ(d.rec[2].metric, 5);
    CHECK_EQ(d.rec[3].call, NETCFG_ROUTE);
    CHECK(test_same_prefix(&d.rec[3].prefix, &routes[1]));
    CHECK_EQ(d.rec[4].call, NETCFG_MTU);
    CHECK_EQ(d.rec[4].family, FLOE_AF_INET);
    CHECK_EQ(d.rec[4].mtu, 1280);
    CHECK_EQ(d.rec[5].call, NETCFG_MTU);
    CHECK_EQ(d.rec[5].family, FLOE_AF_INET6);
}

static void test_apply_no_mtu(void)
{
    struct netcfg_double d;
    struct floe_io_win_ifaddr addr = test_ifaddr(4, 3, 32);

    netcfg_double_init(&d);
    CHECK_EQ(floe_io_win_netcfg_apply(&d.ops, TUN_LUID, &addr, 1, NULL, 0, 0, 0), 0);
    CHECK_EQ(d.n, 1);
    CHECK_EQ(d.rec[0].call, NETCFG_ADDR);
}

static void test_apply_stops_at_failure(void)
{
    struct netcfg_double d;
    struct floe_io_win_ifaddr addrs[2] = {test_ifaddr(4, 2, 32), test_ifaddr(6, 2, 128)};
    struct floe_prefix route = test_v4(10, 0, 0, 0, 8);

    netcfg_double_init(&d);
    d.fail_at = 1;
    d.fail_code = ERROR_ACCESS_DENIED;
    CHECK_EQ(floe_io_win_netcfg_apply(&d.ops, TUN_LUID, addrs, 2, &route, 1, 0, 1420), FLOE_ERR_IO);
    CHECK_EQ(GetLastError(), ERROR_ACCESS_DENIED);
    CHECK_EQ(d.n, 2); /* nothing after the failed call */
}

static void test_apply_bad_args(void)
{
    struct netcfg_double d;

    netcfg_double_init(&d);
    CHECK_EQ(floe_io_win_netcfg_apply(NULL, TUN_LUID, NULL, 0, NULL, 0, 0, 0),
             FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_io_win_netcfg_apply(&d.ops, TUN_LUID, NULL, 1, NULL, 0, 0, 0),
             FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_io_win_netcfg_apply(&d.ops, TUN_LUID, NULL, 0, NULL, 2, 0, 0),
             FLOE_ERR_INVALID_ARG);
    CHECK_EQ(d.n, 0);
}

static void test_ifaddr_valid(void)
{
    struct floe_io_win_ifaddr a = test_ifaddr(4, 1, 32), b = test_ifaddr(6, 1, 128);
    struct floe_io_win_ifaddr c = test_ifaddr(4, 1, 33), d = test_ifaddr(6, 1, 129);
    struct floe_io_win_ifaddr none;

    memset(&none, 0, sizeof(none));
    CHECK(floe_io_win_ifaddr_is_valid(&a));
    CHECK(floe_io_win_ifaddr_is_valid(&b));
    CHECK(!floe_io_win_ifaddr_is_valid(&c));
    CHECK(!floe_io_win_ifaddr_is_valid(&d));
    CHECK(!floe_io_win_ifaddr_is_valid(&none));
    CHECK(!floe_io_win_ifaddr_is_valid(NULL));
}

static void test_changed(void *arg)
{
    (*(int *)arg)++;
}

static void test_watch(void)
{
    struct netcfg_double d;
    void *watch = NULL;
    int changes = 0;

    netcfg_double_init(&d);
    REQUIRE(d.ops.watch_start(d.ops.ctx, TUN_LUID, test_changed, &changes, &watch) == 0);
    CHECK_EQ(d.rec[0].call, NETCFG_WATCH);
    CHECK_EQ(d.rec[0].luid, TUN_LUID);
    netcfg_double_fire(&d, TUN_LUID); /* the tunnel's own address: not a network change */
    CHECK_EQ(changes, 0);
    netcfg_double_fire(&d, WIFI_LUID);
    netcfg_double_fire(&d, 0);
    CHECK_EQ(changes, 2);
    d.ops.watch_stop(d.ops.ctx, watch);
    CHECK_EQ(d.rec[1].call, NETCFG_UNWATCH);
    netcfg_double_fire(&d, WIFI_LUID);
    CHECK_EQ(changes, 2);
}

static void test_change_filter(void)
{
    CHECK(floe_io_win_change_counts(WIFI_LUID, 0));
    CHECK(floe_io_win_change_counts(WIFI_LUID, TUN_LUID));
    CHECK(!floe_io_win_change_counts(TUN_LUID, TUN_LUID));
}

static void test_system_table(void)
{
    const struct floe_io_win_netcfg *nc = floe_io_win_netcfg_system();
    struct floe_prefix bad = test_v4(10, 0, 0, 0, 33);
    struct floe_io_win_ifaddr bad_addr = test_ifaddr(4, 1, 33);

    REQUIRE(nc != NULL);
    CHECK(nc->addr_add && nc->route_add && nc->mtu_set && nc->watch_start && nc->watch_stop);
    CHECK(nc->addr_del && nc->route_del && nc->hosts && nc->route_best && nc->sock_iface);
    /* Argument checks run before any IP Helper call, so they are safe under Wine. */
    CHECK_EQ(nc->addr_add(nc->ctx, TUN_LUID, &bad_addr), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(nc->route_add(nc->ctx, TUN_LUID, &bad, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(nc->route_add(nc->ctx, TUN_LUID, NULL, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(nc->route_del(nc->ctx, TUN_LUID, &bad), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(nc->addr_del(nc->ctx, TUN_LUID, &bad_addr), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(nc->mtu_set(nc->ctx, TUN_LUID, FLOE_AF_INET, 100), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(nc->watch_start(nc->ctx, 0, NULL, NULL, NULL), FLOE_ERR_INVALID_ARG);
}

/*
 * GetAdaptersAddresses runs under Wine: the machine's addresses, never loopback or IPv6
 * link-local, and a full buffer cuts the list rather than overflowing.
 */
static void test_system_hosts(void)
{
    const struct floe_io_win_netcfg *nc = floe_io_win_netcfg_system();
    struct floe_addr h[16];
    int n = nc->hosts(nc->ctx, 0, h, 16);

    REQUIRE(n >= 0);
    for (int i = 0; i < n; i++) {
        CHECK(h[i].family == FLOE_AF_INET || h[i].family == FLOE_AF_INET6);
        CHECK(!(h[i].family == FLOE_AF_INET && h[i].ip[0] == 127));
        CHECK(!(h[i].family == FLOE_AF_INET6 && h[i].ip[0] == 0xfe && (h[i].ip[1] & 0xc0) == 0x80));
    }
    CHECK_EQ(nc->hosts(nc->ctx, 0, h, 0), 0);
    if (n > 1)
        CHECK_EQ(nc->hosts(nc->ctx, 0, h, 1), 1);
    CHECK_EQ(nc->hosts(nc->ctx, 0, NULL, 4), FLOE_ERR_INVALID_ARG);
}

/*
 * The interface choice: the lowest metric wins, except the tunnel's (a 0.0.0.0/0 resource makes
 * it the best) and an interface without an index; nothing left is FLOE_ERR_NOT_FOUND.
 */
static void test_route_pick(void)
{
    struct floe_io_win_route c[4] = {
        {.luid = TUN_LUID, .ifindex = 41, .metric = 0},
        {.luid = WIFI_LUID, .ifindex = 7, .metric = 55},
        {.luid = 0x0006000000000003ull, .ifindex = 3, .metric = 25},
        {.luid = 0x0006000000000009ull, .ifindex = 0, .metric = 1},
    };
    struct floe_io_win_route out;

    CHECK_EQ(floe_io_win_route_pick(c, 4, TUN_LUID, &out), 0);
    CHECK_EQ(out.ifindex, 3);
    CHECK_EQ(floe_io_win_route_pick(c, 4, 0, &out), 0); /* nothing skipped: the tunnel */
    CHECK_EQ(out.ifindex, 41);
    c[1].metric = 25; /* equals: the first */
    CHECK_EQ(floe_io_win_route_pick(c, 4, TUN_LUID, &out), 0);
    CHECK_EQ(out.ifindex, 7);
    CHECK_EQ(floe_io_win_route_pick(c, 1, TUN_LUID, &out), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_io_win_route_pick(NULL, 0, TUN_LUID, &out), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(floe_io_win_route_pick(c, 4, TUN_LUID, NULL), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_io_win_route_pick(NULL, 2, TUN_LUID, &out), FLOE_ERR_INVALID_ARG);
}

/* The index of the loopback interface for family af as Windows (Wine) lists it, or 0. */
static uint32_t test_loopback_index(ULONG af)
{
    static unsigned char buf[65536];
    IP_ADAPTER_ADDRESSES *list = (IP_ADAPTER_ADDRESSES *)(void *)buf;
    ULONG size = sizeof(buf);

    if (GetAdaptersAddresses(af, 0, NULL, list, &size) != NO_ERROR)
        return 0;
    for (const IP_ADAPTER_ADDRESSES *ad = list; ad; ad = ad->Next)
        if (ad->IfType == IF_TYPE_SOFTWARE_LOOPBACK)
            return af == AF_INET ? (uint32_t)ad->IfIndex : (uint32_t)ad->Ipv6IfIndex;
    return 0;
}

/* What the recording setsockopt saw last. */
static struct {
    int level, name, len;
    unsigned char val[8];
} test_opt;

static int WSAAPI test_setsockopt(SOCKET s, int level, int name, const char *val, int len)
{
    (void)s;
    test_opt.level = level;
    test_opt.name = name;
    test_opt.len = len;
    memcpy(test_opt.val, val, len > 0 && len <= 8 ? (size_t)len : 0);
    return 0;
}

/*
 * The options' bytes as Windows wants them, through a recording setsockopt: IP_UNICAST_IF
 * (31 at IPPROTO_IP) takes the index in network byte order, IPV6_UNICAST_IF (31 at
 * IPPROTO_IPV6) in host byte order, both as a DWORD.
 */
static void test_unicast_if_bytes(void)
{
    const unsigned char v4[4] = {0, 0, 0x01, 0x07}, v6[4] = {0x07, 0x01, 0, 0};

    floe__win_setsockopt = test_setsockopt;
    CHECK_EQ(floe_io_win_sock_unicast_if(5, FLOE_AF_INET, 0x107), 0);
    CHECK_EQ(test_opt.level, IPPROTO_IP);
    CHECK_EQ(test_opt.name, 31);
    CHECK_EQ(test_opt.len, 4);
    CHECK(memcmp(test_opt.val, v4, 4) == 0);
    CHECK_EQ(floe_io_win_sock_unicast_if(5, FLOE_AF_INET6, 0x107), 0);
    CHECK_EQ(test_opt.level, IPPROTO_IPV6);
    CHECK_EQ(test_opt.name, 31);
    CHECK_EQ(test_opt.len, 4);
    CHECK(memcmp(test_opt.val, v6, 4) == 0); /* x86-64 is little-endian */
    floe__win_setsockopt = setsockopt;
}

/*
 * IP_UNICAST_IF for real under Wine, which hands it to Linux's option of the same meaning and
 * byte order: the index read back as set, and an index that does not exist refused (as a
 * byte-swapped one would be). IPv6 cannot be checked so: Wine passes the host-order index to
 * Linux's IPV6_UNICAST_IF, which reads network byte order (test_unicast_if_bytes covers it).
 */
static void test_unicast_if_wine(void)
{
    const struct floe_io_win_netcfg *nc = floe_io_win_netcfg_system();
    struct floe_addr any4 = {.family = FLOE_AF_INET};
    uint32_t lo4 = test_loopback_index(AF_INET);
    int fd4 = floe_io_udp_open(&any4), len = sizeof(DWORD);
    DWORD v = 0;

    REQUIRE(lo4 != 0 && fd4 >= 0);
    CHECK_EQ(nc->sock_iface(nc->ctx, fd4, FLOE_AF_INET, lo4), 0);
    CHECK_EQ(getsockopt((SOCKET)fd4, IPPROTO_IP, IP_UNICAST_IF, (char *)&v, &len), 0);
    CHECK_EQ(v, htonl(lo4));
    CHECK_EQ(floe_io_win_sock_unicast_if(fd4, FLOE_AF_INET, 0), 0); /* the routes again */
    CHECK_EQ(floe_io_win_sock_unicast_if(fd4, FLOE_AF_INET, 0x7ffffu), FLOE_ERR_IO);
    CHECK_EQ(floe_io_win_sock_unicast_if(fd4, FLOE_AF_NONE, lo4), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_io_win_sock_unicast_if(-1, FLOE_AF_INET, lo4), FLOE_ERR_INVALID_ARG);
    floe_io_close(fd4);
}

/*
 * The real route_best under Wine (GetBestInterfaceEx runs, GetBestRoute2 is a stub there): an
 * answer is an interface with an index, and skipping that interface never answers it again.
 */
static void test_system_route_best(void)
{
    const struct floe_io_win_netcfg *nc = floe_io_win_netcfg_system();
    struct floe_addr dst = {.family = FLOE_AF_INET, .ip = {192, 0, 2, 1}};
    struct floe_io_win_route r, r2;
    int rc = nc->route_best(nc->ctx, 0, &dst, &r);

    CHECK(rc == 0 || rc == FLOE_ERR_NOT_FOUND);
    if (rc == 0) {
        CHECK(r.ifindex != 0 && r.luid != 0);
        rc = nc->route_best(nc->ctx, r.luid, &dst, &r2);
        CHECK(rc == FLOE_ERR_NOT_FOUND || (rc == 0 && r2.luid != r.luid));
    }
    CHECK_EQ(nc->route_best(nc->ctx, 0, NULL, &r), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(nc->route_best(nc->ctx, 0, &dst, NULL), FLOE_ERR_INVALID_ARG);
}

int main(void)
{
    FLOE_RUN(test_apply_records);
    FLOE_RUN(test_apply_no_mtu);
    FLOE_RUN(test_apply_stops_at_failure);
    FLOE_RUN(test_apply_bad_args);
    FLOE_RUN(test_ifaddr_valid);
    FLOE_RUN(test_watch);
    FLOE_RUN(test_change_filter);
    FLOE_RUN(test_system_table);
    FLOE_RUN(test_system_hosts);
    FLOE_RUN(test_route_pick);
    FLOE_RUN(test_unicast_if_bytes);
    FLOE_RUN(test_unicast_if_wine);
    FLOE_RUN(test_system_route_best);
    return floe_test_summary();
}
