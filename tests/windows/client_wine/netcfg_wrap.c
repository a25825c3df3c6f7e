/*
 * floe-client.exe as client_wine_test.sh runs it under Wine: the program's own main.c and
 * libraries, linked with --wrap=floe_io_win_netcfg_system so that the agent's network calls
 * (addresses, routes, MTU, change notifications) go to the recording double (netcfg_double.c)
 * instead of IP Helper, which aborts under Wine. The host addresses are the system's
 * (GetAdaptersAddresses runs under Wine), and so are the choice of the interface floe's own
 * sockets are bound to and the socket option (route_best, sock_iface). Every call is also appended
 * as one line to the file that FLOE_NETCFG_DOUBLE_LOG names, for the test to read: "mtu 4 1280",
 * "watch", "addr 100.64.0.2/32", "route 10.10.0.10/32 0", "route_del ...", "addr_del ...",
 * "unwatch", "route_best 192.0.2.1 3", "sock_iface 4 3".
 */
#include <winsock2.h>
#include <windows.h>
#include <iphlpapi.h>

#include <stdio.h>
#include <stdlib.h>

#include "floe/iptrie.h"
#include "netcfg_double.h"

const struct floe_io_win_netcfg *__real_floe_io_win_netcfg_system(void);
const struct floe_io_win_netcfg *__wrap_floe_io_win_netcfg_system(void);

static struct netcfg_double wrap_nd;
static struct floe_io_win_netcfg wrap_ops;
static INIT_ONCE wrap_once = INIT_ONCE_STATIC_INIT;
static SRWLOCK wrap_lock = SRWLOCK_INIT;

/* One line to FLOE_NETCFG_DOUBLE_LOG: what was called and its result. */
static int wrap_log(int rc, const char *call, const char *what)
{
    const char *path = getenv("FLOE_NETCFG_DOUBLE_LOG");
    FILE *f = path ? fopen(path, "ab") : NULL; /* binary: "\n", not "\r\n" */

    if (f) {
        fprintf(f, "%s %s rc=%d\n", call, what, rc);
        fclose(f);
    }
    return rc;
}

static const char *wrap_ifaddr(const struct floe_io_win_ifaddr *a, char *buf, size_t cap)
{
    char ip[FLOE_ADDR_STRLEN] = "?";

    (void)floe_addr_format_ip(&a->ip, ip, sizeof(ip));
    snprintf(buf, cap, "%s/%u", ip, (unsigned)a->prefix_len);
    return buf;
}

static const char *wrap_prefix(const struct floe_prefix *p, char *buf, size_t cap)
{
    if (floe_prefix_format(p, buf, cap) < 0)
        snprintf(buf, cap, "?");
    return buf;
}

static int wrap_addr_add(void *ctx, uint64_t luid, const struct floe_io_win_ifaddr *a)
{
    char buf[64];
    int rc;

    AcquireSRWLockExclusive(&wrap_lock);
    rc = wrap_log(wrap_nd.ops.addr_add(ctx, luid, a), "addr", wrap_ifaddr(a, buf, sizeof(buf)));
    ReleaseSRWLockExclusive(&wrap_lock);
    return rc;
}

static int wrap_addr_del(void *ctx, uint64_t luid, const struct floe_io_win_ifaddr *a)
{
    char buf[64];
    int rc;

    AcquireSRWLockExclusive(&wrap_lock);
    rc = wrap_log(wrap_nd.ops.addr_del(ctx, luid, a), "addr_del", wrap_ifaddr(a, buf, sizeof(buf)));
    ReleaseSRWLockExclusive(&wrap_lock);
    return rc;
}

static int wrap_route_add(void *ctx, uint64_t luid, const struct floe_prefix *dst, uint32_t metric)
{
    char buf[64];
    int rc;

    AcquireSRWLockExclusive(&wrap_lock);
    rc = wrap_log(wrap_nd.ops.route_add(ctx, luid, dst, metric), "route",
                  wrap_prefix(dst, buf, sizeof(buf)));
    ReleaseSRWLockExclusive(&wrap_lock);
    return rc;
}

static int wrap_route_del(void *ctx, uint64_t luid, const struct floe_prefix *dst)
{
    char buf[64];
    int rc;

    AcquireSRWLockExclusive(&wrap_lock);
    rc = wrap_log(wrap_nd.ops.route_del(ctx, luid, dst), "route_del",
                  wrap_prefix(dst, buf, sizeof(buf)));
    ReleaseSRWLockExclusive(&wrap_lock);
    return rc;
}

static int wrap_hosts(void *ctx, uint64_t skip_luid, struct floe_addr *out, size_t cap)
{
    const struct floe_io_win_netcfg *sys = __real_floe_io_win_netcfg_system();

    (void)ctx;
    return sys->hosts(sys->ctx, skip_luid, out, cap);
}

static int wrap_mtu_set(void *ctx, uint64_t luid, uint8_t family, unsigned mtu)
{
    char buf[32];
    int rc;

    snprintf(buf, sizeof(buf), "%u %u", family == FLOE_AF_INET6 ? 6u : 4u, mtu);
    AcquireSRWLockExclusive(&wrap_lock);
    rc = wrap_log(wrap_nd.ops.mtu_set(ctx, luid, family, mtu), "mtu", buf);
    ReleaseSRWLockExclusive(&wrap_lock);
    return rc;
}

static int wrap_watch_start(void *ctx, uint64_t ignore_luid, floe_io_win_changed_fn fn, void *arg,
                            void **watch)
{
    int rc;

    AcquireSRWLockExclusive(&wrap_lock);
    rc = wrap_log(wrap_nd.ops.watch_start(ctx, ignore_luid, fn, arg, watch), "watch", "-");
    ReleaseSRWLockExclusive(&wrap_lock);
    return rc;
}

static void wrap_watch_stop(void *ctx, void *watch)
{
    AcquireSRWLockExclusive(&wrap_lock);
    wrap_nd.ops.watch_stop(ctx, watch);
    (void)wrap_log(0, "unwatch", "-");
    ReleaseSRWLockExclusive(&wrap_lock);
}

/*
 * The real route_best (IP Helper runs it under Wine), skipping the interface whose index
 * FLOE_NETCFG_DOUBLE_TUNNEL_IFINDEX names (the test's stand-in for the tunnel: the double's
 * adapter is no interface of the system) as well as the given one: "route_best IP IFINDEX".
 */
static int wrap_route_best(void *ctx, uint64_t skip_luid, const struct floe_addr *dst,
                           struct floe_io_win_route *out)
{
    const struct floe_io_win_netcfg *sys = __real_floe_io_win_netcfg_system();
    const char *tun = getenv("FLOE_NETCFG_DOUBLE_TUNNEL_IFINDEX");
    char buf[80], ip[FLOE_ADDR_STRLEN] = "?";
    NET_LUID luid;
    int rc;

    (void)ctx;
    if (tun && ConvertInterfaceIndexToLuid((NET_IFINDEX)strtoul(tun, NULL, 10), &luid) == NO_ERROR)
        skip_luid = luid.Value;
    rc = sys->route_best(sys->ctx, skip_luid, dst, out);
    (void)floe_addr_format_ip(dst, ip, sizeof(ip));
    snprintf(buf, sizeof(buf), "%s %lu", ip, rc == 0 ? (unsigned long)out->ifindex : 0ul);
    AcquireSRWLockExclusive(&wrap_lock);
    (void)wrap_log(rc, "route_best", buf);
    ReleaseSRWLockExclusive(&wrap_lock);
    return rc;
}

/* The real socket option (Wine hands it to Linux): "sock_iface 4 IFINDEX". */
static int wrap_sock_iface(void *ctx, int fd, uint8_t family, uint32_t ifindex)
{
    const struct floe_io_win_netcfg *sys = __real_floe_io_win_netcfg_system();
    char buf[32];
    int rc;

    (void)ctx;
    rc = sys->sock_iface(sys->ctx, fd, family, ifindex);
    snprintf(buf, sizeof(buf), "%u %lu", family == FLOE_AF_INET6 ? 6u : 4u, (unsigned long)ifindex);
    AcquireSRWLockExclusive(&wrap_lock);
    (void)wrap_log(rc, "sock_iface", buf);
    ReleaseSRWLockExclusive(&wrap_lock);
    return rc;
}

static BOOL CALLBACK wrap_init(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    (void)once;
    (void)param;
    (void)ctx;
    netcfg_double_init(&wrap_nd);
    wrap_ops = (struct floe_io_win_netcfg){
        .ctx = &wrap_nd,
        .addr_add = wrap_addr_add,
        .addr_del = wrap_addr_del,
        .route_add = wrap_route_add,
        .route_del = wrap_route_del,
        .hosts = wrap_hosts,
        .mtu_set = wrap_mtu_set,
        .watch_start = wrap_watch_start,
        .watch_stop = wrap_watch_stop,
        .route_best = wrap_route_best,
        .sock_iface = wrap_sock_iface,
    };
    return TRUE;
}

/* What the agent takes for IP Helper's table: the double's, through the logging calls. */
const struct floe_io_win_netcfg *__wrap_floe_io_win_netcfg_system(void)
{
    InitOnceExecuteOnce(&wrap_once, wrap_init, NULL, NULL);
    return &wrap_ops;
}
