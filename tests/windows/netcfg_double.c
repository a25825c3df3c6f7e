/* The recording double of the Windows network calls (netcfg_double.h). */
#include <windows.h>

#include <stdint.h>
#include <string.h>

#include "netcfg_double.h"

/* Record one call; its result: 0, or FLOE_ERR_IO with the chosen error when it is the one. */
static int dbl_record(struct netcfg_double *d, const struct netcfg_record *r)
{
    size_t i = d->n;

    if (i < NETCFG_DOUBLE_MAX)
        d->rec[d->n++] = *r;
    if (i == d->fail_at) {
        SetLastError((DWORD)d->fail_code);
        return FLOE_ERR_IO;
    }
    return 0;
}

static int dbl_addr_add(void *ctx, uint64_t luid, const struct floe_io_win_ifaddr *a)
{
    struct netcfg_record r = {.call = NETCFG_ADDR, .luid = luid};

    if (!floe_io_win_ifaddr_is_valid(a))
        return FLOE_ERR_INVALID_ARG; /* as the real table: checked before any call */
    r.addr = *a;
    return dbl_record(ctx, &r);
}

static int dbl_route_add(void *ctx, uint64_t luid, const struct floe_prefix *dst, uint32_t metric)
{
    struct netcfg_record r = {.call = NETCFG_ROUTE, .luid = luid, .prefix = *dst};

    r.metric = metric;
    return dbl_record(ctx, &r);
}

static int dbl_addr_del(void *ctx, uint64_t luid, const struct floe_io_win_ifaddr *a)
{
    struct netcfg_record r = {.call = NETCFG_ADDR_DEL, .luid = luid};

    if (!floe_io_win_ifaddr_is_valid(a))
        return FLOE_ERR_INVALID_ARG;
    r.addr = *a;
    return dbl_record(ctx, &r);
}

static int dbl_route_del(void *ctx, uint64_t luid, const struct floe_prefix *dst)
{
    struct netcfg_record r = {.call = NETCFG_ROUTE_DEL, .luid = luid, .prefix = *dst};

    return dbl_record(ctx, &r);
}

static int dbl_hosts(void *ctx, uint64_t skip_luid, struct floe_addr *out, size_t cap)
{
    struct netcfg_double *d = ctx;
    size_t n = d->n_hosts < cap ? d->n_hosts : cap;

    (void)skip_luid;
    memcpy(out, d->hosts, n * sizeof(*out));
    return (int)n;
}

static int dbl_mtu_set(void *ctx, uint64_t luid, uint8_t family, unsigned mtu)
{
    struct netcfg_record r = {.call = NETCFG_MTU, .luid = luid, .family = family, .mtu = mtu};

    return dbl_record(ctx, &r);
}

static int dbl_watch_start(void *ctx, uint64_t ignore_luid, floe_io_win_changed_fn fn, void *arg,
                           void **watch)
{
    struct netcfg_double *d = ctx;
    struct netcfg_record r = {.call = NETCFG_WATCH, .luid = ignore_luid};
    int rc = dbl_record(d, &r);

    if (rc == 0) {
        d->watching = true;
        d->ignore_luid = ignore_luid;
        d->fn = fn;
        d->arg = arg;
        *watch = d;
    }
    return rc;
}

static void dbl_watch_stop(void *ctx, void *watch)
{
    struct netcfg_double *d = ctx;
    struct netcfg_record r = {.call = NETCFG_UNWATCH};

    if (watch != d)
        return;
    dbl_record(d, &r);
    d->watching = false;
}

static int dbl_route_best(void *ctx, uint64_t skip_luid, const struct floe_addr *dst,
                          struct floe_io_win_route *out)
{
    struct netcfg_double *d = ctx;

    if (!dst || !out)
        return FLOE_ERR_INVALID_ARG;
    return floe_io_win_route_pick(d->routes, d->n_routes, skip_luid, out);
}

static int dbl_sock_iface(void *ctx, int fd, uint8_t family, uint32_t ifindex)
{
    struct netcfg_double *d = ctx;
    struct netcfg_record r = {.call = NETCFG_SOCK_IFACE, .family = family, .fd = fd};
    int rc;

    r.ifindex = ifindex;
    rc = dbl_record(d, &r);
    if (rc == 0 && d->sock_real)
        rc = floe_io_win_sock_unicast_if(fd, family, ifindex);
    return rc;
}

void netcfg_double_init(struct netcfg_double *d)
{
    memset(d, 0, sizeof(*d));
    d->ops.ctx = d;
    d->ops.addr_add = dbl_addr_add;
    d->ops.addr_del = dbl_addr_del;
    d->ops.route_add = dbl_route_add;
    d->ops.route_del = dbl_route_del;
    d->ops.hosts = dbl_hosts;
    d->ops.mtu_set = dbl_mtu_set;
    d->ops.watch_start = dbl_watch_start;
    d->ops.watch_stop = dbl_watch_stop;
    d->ops.route_best = dbl_route_best;
    d->ops.sock_iface = dbl_sock_iface;
    d->fail_at = SIZE_MAX;
}

void netcfg_double_fire(struct netcfg_double *d, uint64_t luid)
{
    if (d->watching && floe_io_win_change_counts(luid, d->ignore_luid))
        d->fn(d->arg);
}
