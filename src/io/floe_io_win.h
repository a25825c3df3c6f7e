/*
 * floe_io, Windows only: what a Windows client needs beyond the portable interface of
 * floe_io.h. The TUN device there is Wintun on Windows (io/windows/tun.c); here are why its
 * open failed, in words, and the network configuration of the tunnel interface: addresses,
 * routes and MTU through IP Helper (iphlpapi), and a watcher of network changes that calls
 * back, behind a table of calls (struct floe_io_win_netcfg) so that tests under Wine, which
 * cannot run the real calls, put a recording double in its place.
 */
#ifndef FLOE_IO_WIN_H
#define FLOE_IO_WIN_H

#ifdef _WIN32

#include "floe_io.h"

/*
 * Why the last floe_io_tun_open of this thread failed, as a sentence for the user (e.g. that
 * wintun.dll is not in the program's directory, naming it); "" after a successful open.
 */
const char *floe_io_tun_error(void);

/* The Wintun adapter's LUID (NET_LUID.Value): what the network calls below take. */
uint64_t floe_io_tun_luid(const struct floe_io_tun *t);

/* The running Wintun driver's version, major << 16 | minor (0x0000000E: 0.14); 0 unknown. */
uint32_t floe_io_tun_driver_version(const struct floe_io_tun *t);

/*
 * Called on a network change (an interface or a unicast address of another interface than
 * the ignored one appeared, changed or went away), from a thread of the OS: do little (set an
 * event) and let the program's loop debounce and reset the node.
 */
typedef void (*floe_io_win_changed_fn)(void *arg);

/* An interface address: ip (its port unused) with the on-link prefix length prefix_len. */
struct floe_io_win_ifaddr {
    struct floe_addr ip;
    uint8_t prefix_len; /* 0..32 or 0..128 */
};

/*
 * The network calls. Each returns 0, FLOE_ERR_INVALID_ARG (NULL, an address or prefix of a
 * bad family or length, MTU out of 576..65535) or FLOE_ERR_IO with GetLastError() the Win32
 * error; "already there" (ERROR_OBJECT_ALREADY_EXISTS) counts as done.
 */
struct floe_io_win_netcfg {
    void *ctx; /* passed to every call */
    /* CreateUnicastIpAddressEntry: the address a->ip with on-link prefix a->prefix_len. */
    int (*addr_add)(void *ctx, uint64_t luid, const struct floe_io_win_ifaddr *a);
    /* CreateIpForwardEntry2: the on-link route to dst through the interface, with metric. */
    int (*route_add)(void *ctx, uint64_t luid, const struct floe_prefix *dst, uint32_t metric);
    /* SetIpInterfaceEntry: the interface's MTU for family (FLOE_AF_INET or FLOE_AF_INET6). */
    int (*mtu_set)(void *ctx, uint64_t luid, uint8_t family, unsigned mtu);
    /*
     * NotifyIpInterfaceChange and NotifyUnicastIpAddressChange (both families): call
     * fn(arg) on every change not on interface ignore_luid (0: none). *watch gets what
     * watch_stop takes.
     */
    int (*watch_start)(void *ctx, uint64_t ignore_luid, floe_io_win_changed_fn fn, void *arg,
                       void **watch);
    /* CancelMibChangeNotify2 both; after it returns fn is not running and not called again. */
    void (*watch_stop)(void *ctx, void *watch);
};

/* Whether a is an IPv4 or IPv6 address with a prefix length that fits its family. */
bool floe_io_win_ifaddr_is_valid(const struct floe_io_win_ifaddr *a);

/* The real calls (iphlpapi). Wine lacks or aborts them: only compile-checked here. */
const struct floe_io_win_netcfg *floe_io_win_netcfg_system(void);

/*
 * Configure the tunnel interface luid: each address of addrs[0..n_addrs), then each route of
 * routes[0..n_routes) with metric, then the MTU for both families when mtu is not 0, in that
 * order, stopping at the first failure. Returns 0 or that failure's error (as the calls).
 */
int floe_io_win_netcfg_apply(const struct floe_io_win_netcfg *nc, uint64_t luid,
                             const struct floe_io_win_ifaddr *addrs, size_t n_addrs,
                             const struct floe_prefix *routes, size_t n_routes, uint32_t metric,
                             unsigned mtu);

/*
 * The change filter every watch_start shares: whether a change on interface luid is to be
 * reported when ignore_luid is ignored (0: nothing is).
 */
bool floe_io_win_change_counts(uint64_t luid, uint64_t ignore_luid);

#endif /* _WIN32 */

#endif
