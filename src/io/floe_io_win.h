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

/* A route toward a destination through one interface (route_best's answer). */
struct floe_io_win_route {
    uint64_t luid;        /* the interface's LUID */
    uint32_t ifindex;     /* its index for the destination's family (IP_UNICAST_IF takes it) */
    uint32_t metric;      /* route metric plus interface metric: the lowest wins */
    struct floe_addr src; /* the source address Windows would use (FLOE_AF_NONE: not known) */
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
    /* DeleteUnicastIpAddressEntry: remove that address ("not there" counts as done). */
    int (*addr_del)(void *ctx, uint64_t luid, const struct floe_io_win_ifaddr *a);
    /* CreateIpForwardEntry2: the on-link route to dst through the interface, with metric. */
    int (*route_add)(void *ctx, uint64_t luid, const struct floe_prefix *dst, uint32_t metric);
    /* DeleteIpForwardEntry2: remove that on-link route ("not there" counts as done). */
    int (*route_del)(void *ctx, uint64_t luid, const struct floe_prefix *dst);
    /*
     * GetAdaptersAddresses: the unicast addresses of the interfaces that are up, other than
     * loopback, IPv6 link-local and interface skip_luid (the tunnel's), into out[0..cap)
     * (ports 0). Returns how many were written (more are left out), or FLOE_ERR_IO.
     */
    int (*hosts)(void *ctx, uint64_t skip_luid, struct floe_addr *out, size_t cap);
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
    /*
     * The best route toward dst's address (its port unused) through an interface that is up,
     * other than loopback and interface skip_luid (the tunnel's), into *out. Windows' own
     * choice (GetBestInterfaceEx) when it is not skip_luid; else, per interface, the best
     * route of that interface (GetBestRoute2 with its LUID: route metric plus interface
     * metric) and, where Windows cannot tell (Wine), an interface with a default gateway of
     * that family, picked by floe_io_win_route_pick. Returns 0, FLOE_ERR_NOT_FOUND (no such
     * interface), FLOE_ERR_INVALID_ARG, FLOE_ERR_NOMEM or FLOE_ERR_IO.
     */
    int (*route_best)(void *ctx, uint64_t skip_luid, const struct floe_addr *dst,
                      struct floe_io_win_route *out);
    /* floe_io_win_sock_unicast_if(fd, family, ifindex): socket fd leaves through ifindex. */
    int (*sock_iface)(void *ctx, int fd, uint8_t family, uint32_t ifindex);
};

/* Whether a is an IPv4 or IPv6 address with a prefix length that fits its family. */
bool floe_io_win_ifaddr_is_valid(const struct floe_io_win_ifaddr *a);

/*
 * The real calls (iphlpapi). Wine lacks or aborts those that change the configuration and the
 * notifications: those are only compile-checked here; hosts, route_best (with Wine's stub of
 * GetBestRoute2, so through its fallback) and sock_iface for IPv4 run under Wine.
 */
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
 * Of the routes c[0..n), the one of lowest metric (the first of equals) whose interface is not
 * skip_luid (0: none skipped) and has an index, into *out: what keeps floe's own traffic out of
 * the tunnel when a resource's route (0.0.0.0/0, or a prefix covering a relay, a gateway or the
 * portal) makes the tunnel the system's best route. Returns 0, FLOE_ERR_NOT_FOUND (none left)
 * or FLOE_ERR_INVALID_ARG.
 */
int floe_io_win_route_pick(const struct floe_io_win_route *c, size_t n, uint64_t skip_luid,
                           struct floe_io_win_route *out);

/*
 * Send socket fd's unicast traffic (datagrams, a connection) out of interface ifindex, whatever
 * the routing table prefers: IP_UNICAST_IF for family FLOE_AF_INET (the index in network byte
 * order, as Windows wants it) or IPV6_UNICAST_IF for FLOE_AF_INET6 (host byte order); ifindex 0
 * lets the routes decide again. For a connection, call it before connect. Returns 0,
 * FLOE_ERR_INVALID_ARG or FLOE_ERR_IO (WSAGetLastError()).
 */
int floe_io_win_sock_unicast_if(int fd, uint8_t family, uint32_t ifindex);

/*
 * The change filter every watch_start shares: whether a change on interface luid is to be
 * reported when ignore_luid is ignored (0: nothing is).
 */
bool floe_io_win_change_counts(uint64_t luid, uint64_t ignore_luid);

/* ================================================================ the event loop's wait
 *
 * What an agent's loop waits on, in one WaitForMultipleObjects: sockets (each through its own
 * WSAEventSelect event), event HANDLEs (the Wintun read-wait event), the deadline of the next
 * timer (the wait's timeout) and two flags other threads raise: "the network changed" (the
 * callback of a netcfg watch_start, floe_io_win_wait_changed) and "wake up" (a console control
 * handler, floe_io_win_wait_wake). A source is named by the caller's tag. One thread waits;
 * the flags may be raised from any thread.
 */
struct floe_io_win_wait;

/* Sources one wait holds at most (WaitForMultipleObjects takes 64 handles, one is its own). */
#define FLOE_IO_WIN_WAIT_MAX 32
/* The tags floe_io_win_wait_run reports for the flags (callers' tags must differ). */
#define FLOE_IO_WIN_WAIT_CHANGED 0xFFFFFFFEu
#define FLOE_IO_WIN_WAIT_WOKEN 0xFFFFFFFDu

/* One ready source of floe_io_win_wait_run. */
struct floe_io_win_ready {
    uint32_t tag;
    bool readable; /* data, a connection to accept, the peer closed, or a HANDLE signalled */
    bool writable; /* a connect finished or room to send again (sockets watched with out) */
    int error;     /* the Winsock error a socket event came with (a failed connect), else 0 */
};

/* A wait with no source. Returns 0 and sets *out, FLOE_ERR_INVALID_ARG, FLOE_ERR_NOMEM or
 * FLOE_ERR_IO (GetLastError()). */
int floe_io_win_wait_new(struct floe_io_win_wait **out);
/* Stop watching every socket and free w (NULL allowed); the sockets stay open. */
void floe_io_win_wait_free(struct floe_io_win_wait *w);
/*
 * Watch socket fd under tag (added, or its events changed when tag is there): readability,
 * and with out also a finished connect and room to send. WSAEventSelect makes fd non-blocking.
 * Watch a socket before connect is called on it: events that came before are not reported.
 * Asking again for the same events changes nothing (the events already recorded stay).
 * Returns 0, FLOE_ERR_INVALID_ARG (fd < 0, a reserved tag), FLOE_ERR_NOMEM (full) or
 * FLOE_ERR_IO.
 */
int floe_io_win_wait_socket(struct floe_io_win_wait *w, int fd, uint32_t tag, bool out);
/* Watch the event HANDLE h (borrowed, not reset here) under tag. Returns as wait_socket. */
int floe_io_win_wait_handle(struct floe_io_win_wait *w, intptr_t h, uint32_t tag);
/* Stop watching tag (a socket's event selection is cleared). 0 or FLOE_ERR_NOT_FOUND. */
int floe_io_win_wait_remove(struct floe_io_win_wait *w, uint32_t tag);
/* Raise "the network changed" and wake the wait; w is a struct floe_io_win_wait * (this is a
 * floe_io_win_changed_fn: give it to watch_start). Any thread. */
void floe_io_win_wait_changed(void *w);
/* Raise "wake up" (to stop, say). Any thread. */
void floe_io_win_wait_wake(struct floe_io_win_wait *w);
/*
 * Wait until a source is ready, a flag is raised or deadline passes (floe_io_now() base;
 * FLOE_TIME_NEVER: no limit), then report into ready[0..cap) every source ready now and each
 * raised flag (cleared by the report) once. Returns the number reported (0: the deadline
 * passed), FLOE_ERR_INVALID_ARG or FLOE_ERR_IO (GetLastError()).
 */
int floe_io_win_wait_run(struct floe_io_win_wait *w, floe_time deadline,
                         struct floe_io_win_ready *ready, size_t cap);

#endif /* _WIN32 */

#endif
