/*
 * A recording double of struct floe_io_win_netcfg (floe_io_win.h) for tests under Wine, which
 * cannot run IP Helper's address, route and notification calls: every call is recorded in
 * order and answered with 0, or with FLOE_ERR_IO and a chosen Win32 error at a chosen call;
 * a watch is kept so that the test can play a network change (netcfg_double_fire); hosts
 * answers the test's list, route_best picks from the test's routes; sock_iface is recorded
 * (and made for real when the test asks). Calls may come from another thread than the test's (an
 * agent's loop): the test reads the records once that thread has stopped.
 */
#ifndef FLOE_NETCFG_DOUBLE_H
#define FLOE_NETCFG_DOUBLE_H

#include "floe_io_win.h"

enum netcfg_call {
    NETCFG_ADDR,
    NETCFG_ROUTE,
    NETCFG_MTU,
    NETCFG_WATCH,
    NETCFG_UNWATCH,
    NETCFG_ADDR_DEL,
    NETCFG_ROUTE_DEL,
    NETCFG_SOCK_IFACE,
};

struct netcfg_record {
    enum netcfg_call call;
    uint64_t luid;
    struct floe_io_win_ifaddr addr; /* addr, addr_del */
    struct floe_prefix prefix;      /* route, route_del */
    uint32_t metric;                /* route */
    uint8_t family;                 /* mtu, sock_iface */
    unsigned mtu;                   /* mtu */
    int fd;                         /* sock_iface */
    uint32_t ifindex;               /* sock_iface */
};

#define NETCFG_DOUBLE_MAX 64

struct netcfg_double {
    struct floe_io_win_netcfg ops; /* ops.ctx is this double */
    struct netcfg_record rec[NETCFG_DOUBLE_MAX];
    size_t n;
    size_t fail_at; /* index of the call that fails (SIZE_MAX: none) */
    unsigned long fail_code;
    bool watching;
    uint64_t ignore_luid;
    floe_io_win_changed_fn fn;
    void *arg;
    struct floe_addr hosts[8]; /* what hosts answers (not recorded: it changes nothing) */
    size_t n_hosts;
    /* What route_best picks from (floe_io_win_route_pick; not recorded: it changes nothing). */
    struct floe_io_win_route routes[8];
    size_t n_routes;
    bool sock_real; /* sock_iface also makes the real call (recorded with its result) */
};

/* Reset d to record from scratch, with no failure set. */
void netcfg_double_init(struct netcfg_double *d);
/* Play a change on interface luid: the watch's callback runs if the shared filter says so. */
void netcfg_double_fire(struct netcfg_double *d, uint64_t luid);

#endif
