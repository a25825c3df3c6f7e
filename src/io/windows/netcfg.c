/*
 * The tunnel interface's network configuration through IP Helper (iphlpapi): addresses
 * (CreateUnicastIpAddressEntry), routes (CreateIpForwardEntry2), MTU (SetIpInterfaceEntry) and
 * network changes (NotifyIpInterfaceChange, NotifyUnicastIpAddressChange), as the table of
 * floe_io_win_netcfg_system(). Wine cannot run these: tests use a recording double of the
 * table (tests/windows/netcfg_double.c); the table's users (floe_io_win_netcfg_apply, the
 * change filter) are tested through it.
 */
#include <stdlib.h>
#include <string.h>

#include <winsock2.h>
#include <ws2ipdef.h>
#include <iphlpapi.h>

#include "win_int.h"

bool floe_io_win_change_counts(uint64_t luid, uint64_t ignore_luid)
{
    return ignore_luid == 0 || luid != ignore_luid;
}

/* Whether a prefix length len fits family (IPv4 or IPv6). */
static bool netcfg_len_ok(uint8_t family, unsigned len)
{
    if (family == FLOE_AF_INET)
        return len <= 32;
    return family == FLOE_AF_INET6 && len <= 128;
}

bool floe_io_win_ifaddr_is_valid(const struct floe_io_win_ifaddr *a)
{
    return a && netcfg_len_ok(a->ip.family, a->prefix_len);
}

/* Whether p is an IPv4 or IPv6 prefix of a valid length. */
static bool netcfg_prefix_ok(const struct floe_prefix *p)
{
    return p && netcfg_len_ok(p->family, p->len);
}

/* The address ip[0..4 or 16) of family as a SOCKADDR_INET (port 0). */
static void netcfg_sockaddr(SOCKADDR_INET *sa, uint8_t family, const uint8_t *ip)
{
    memset(sa, 0, sizeof(*sa));
    if (family == FLOE_AF_INET) {
        sa->Ipv4.sin_family = AF_INET;
        memcpy(&sa->Ipv4.sin_addr, ip, 4);
    } else {
        sa->Ipv6.sin6_family = AF_INET6;
        memcpy(&sa->Ipv6.sin6_addr, ip, 16);
    }
}

/* A NETIO_STATUS as floe's result: done (or already there) is 0. */
static int netcfg_status(NETIO_STATUS st)
{
    if (st == NO_ERROR || st == ERROR_OBJECT_ALREADY_EXISTS)
        return 0;
    SetLastError(st);
    return FLOE_ERR_IO;
}

static int sys_addr_add(void *ctx, uint64_t luid, const struct floe_io_win_ifaddr *a)
{
    MIB_UNICASTIPADDRESS_ROW row;

    (void)ctx;
    if (!floe_io_win_ifaddr_is_valid(a))
        return FLOE_ERR_INVALID_ARG;
    InitializeUnicastIpAddressEntry(&row);
    row.InterfaceLuid.Value = luid;
    netcfg_sockaddr(&row.Address, a->ip.family, a->ip.ip);
    row.OnLinkPrefixLength = a->prefix_len;
    row.DadState = IpDadStatePreferred;
    return netcfg_status(CreateUnicastIpAddressEntry(&row));
}

/* A NETIO_STATUS of a removal: done, or not there, is 0. */
static int netcfg_del_status(NETIO_STATUS st)
{
    return st == ERROR_NOT_FOUND || st == ERROR_FILE_NOT_FOUND ? 0 : netcfg_status(st);
}

static int sys_addr_del(void *ctx, uint64_t luid, const struct floe_io_win_ifaddr *a)
{
    MIB_UNICASTIPADDRESS_ROW row;

    (void)ctx;
    if (!floe_io_win_ifaddr_is_valid(a))
        return FLOE_ERR_INVALID_ARG;
    InitializeUnicastIpAddressEntry(&row);
    row.InterfaceLuid.Value = luid;
    netcfg_sockaddr(&row.Address, a->ip.family, a->ip.ip);
    row.OnLinkPrefixLength = a->prefix_len;
    return netcfg_del_status(DeleteUnicastIpAddressEntry(&row));
}

/* The on-link route row to dst through interface luid. */
static void netcfg_route_row(MIB_IPFORWARD_ROW2 *row, uint64_t luid, const struct floe_prefix *dst)
{
    InitializeIpForwardEntry(row);
    row->InterfaceLuid.Value = luid;
    netcfg_sockaddr(&row->DestinationPrefix.Prefix, dst->family, dst->ip);
    row->DestinationPrefix.PrefixLength = dst->len;
    /* The next hop stays unspecified (zero) of the same family: an on-link route. */
    row->NextHop.si_family = row->DestinationPrefix.Prefix.si_family;
}

static int sys_route_del(void *ctx, uint64_t luid, const struct floe_prefix *dst)
{
    MIB_IPFORWARD_ROW2 row;

    (void)ctx;
    if (!netcfg_prefix_ok(dst))
        return FLOE_ERR_INVALID_ARG;
    netcfg_route_row(&row, luid, dst);
    return netcfg_del_status(DeleteIpForwardEntry2(&row));
}

static int sys_route_add(void *ctx, uint64_t luid, const struct floe_prefix *dst, uint32_t metric)
{
    MIB_IPFORWARD_ROW2 row;

    (void)ctx;
    if (!netcfg_prefix_ok(dst))
        return FLOE_ERR_INVALID_ARG;
    netcfg_route_row(&row, luid, dst);
    row.Metric = metric;
    row.Protocol = MIB_IPPROTO_NETMGMT;
    return netcfg_status(CreateIpForwardEntry2(&row));
}

static int sys_mtu_set(void *ctx, uint64_t luid, uint8_t family, unsigned mtu)
{
    MIB_IPINTERFACE_ROW row;
    NETIO_STATUS st;

    (void)ctx;
    if ((family != FLOE_AF_INET && family != FLOE_AF_INET6) || mtu < 576 || mtu > 65535)
        return FLOE_ERR_INVALID_ARG;
    InitializeIpInterfaceEntry(&row);
    row.Family = family == FLOE_AF_INET ? AF_INET : AF_INET6;
    row.InterfaceLuid.Value = luid;
    st = GetIpInterfaceEntry(&row);
    if (st != NO_ERROR)
        return netcfg_status(st);
    row.NlMtu = mtu;
    /* SetIpInterfaceEntry refuses the row as GetIpInterfaceEntry returns it for IPv4. */
    if (row.Family == AF_INET)
        row.SitePrefixLength = 0;
    return netcfg_status(SetIpInterfaceEntry(&row));
}

/* Whether one unicast address of an interface that is up is a usable host address. */
static bool netcfg_host_ok(const SOCKET_ADDRESS *sa)
{
    const struct sockaddr_in6 *s6;

    if (sa->lpSockaddr->sa_family == AF_INET)
        return ((const struct sockaddr_in *)(const void *)sa->lpSockaddr)->sin_addr.s_addr !=
               htonl(INADDR_LOOPBACK);
    if (sa->lpSockaddr->sa_family != AF_INET6)
        return false;
    s6 = (const struct sockaddr_in6 *)(const void *)sa->lpSockaddr;
    return !IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) && !IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
}

/* The host addresses of one adapter into out[*n..cap). */
static void netcfg_adapter_hosts(const IP_ADAPTER_ADDRESSES *ad, struct floe_addr *out, size_t cap,
                                 size_t *n)
{
    for (const IP_ADAPTER_UNICAST_ADDRESS *u = ad->FirstUnicastAddress; u && *n < cap;
         u = u->Next) {
        if (!netcfg_host_ok(&u->Address))
            continue;
        if (floe_io_addr_from_sockaddr(&out[*n], u->Address.lpSockaddr,
                                       (socklen_t)u->Address.iSockaddrLength) == 0)
            (*n)++;
    }
}

static int sys_hosts(void *ctx, uint64_t skip_luid, struct floe_addr *out, size_t cap)
{
    ULONG flags = GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST | GAA_FLAG_SKIP_DNS_SERVER;
    ULONG size = 16384, st;
    IP_ADAPTER_ADDRESSES *list = NULL;
    size_t n = 0;

    (void)ctx;
    if (!out && cap)
        return FLOE_ERR_INVALID_ARG;
    for (int tries = 0; tries < 3; tries++) {
        free(list);
        list = malloc(size);
        if (!list)
            return FLOE_ERR_NOMEM;
        st = GetAdaptersAddresses(AF_UNSPEC, flags, NULL, list, &size);
        if (st != ERROR_BUFFER_OVERFLOW)
            break;
    }
    if (st != NO_ERROR) {
        free(list);
        return netcfg_status(st);
    }
    for (const IP_ADAPTER_ADDRESSES *ad = list; ad && n < cap; ad = ad->Next)
        if (ad->OperStatus == IfOperStatusUp && ad->IfType != IF_TYPE_SOFTWARE_LOOPBACK &&
            (skip_luid == 0 || ad->Luid.Value != skip_luid))
            netcfg_adapter_hosts(ad, out, cap, &n);
    free(list);
    return (int)n;
}

/* One watch: both notification handles and what to call. */
struct netcfg_watch {
    HANDLE iface, addr;
    uint64_t ignore_luid;
    floe_io_win_changed_fn fn;
    void *arg;
};

static VOID NETIOAPI_API_ sys_iface_changed(PVOID ctx, PMIB_IPINTERFACE_ROW row,
                                            MIB_NOTIFICATION_TYPE type)
{
    struct netcfg_watch *w = ctx;

    if (type != MibInitialNotification &&
        floe_io_win_change_counts(row ? row->InterfaceLuid.Value : 0, w->ignore_luid))
        w->fn(w->arg);
}

static VOID NETIOAPI_API_ sys_addr_changed(PVOID ctx, PMIB_UNICASTIPADDRESS_ROW row,
                                           MIB_NOTIFICATION_TYPE type)
{
    struct netcfg_watch *w = ctx;

    if (type != MibInitialNotification &&
        floe_io_win_change_counts(row ? row->InterfaceLuid.Value : 0, w->ignore_luid))
        w->fn(w->arg);
}

static void sys_watch_stop(void *ctx, void *watch)
{
    struct netcfg_watch *w = watch;

    (void)ctx;
    if (!w)
        return;
    /* CancelMibChangeNotify2 waits for a callback that is running to return. */
    if (w->iface)
        CancelMibChangeNotify2(w->iface);
    if (w->addr)
        CancelMibChangeNotify2(w->addr);
    free(w);
}

static int sys_watch_start(void *ctx, uint64_t ignore_luid, floe_io_win_changed_fn fn, void *arg,
                           void **watch)
{
    struct netcfg_watch *w;
    NETIO_STATUS st;

    if (!fn || !watch)
        return FLOE_ERR_INVALID_ARG;
    w = calloc(1, sizeof(*w));
    if (!w)
        return FLOE_ERR_NOMEM;
    w->ignore_luid = ignore_luid;
    w->fn = fn;
    w->arg = arg;
    st = NotifyIpInterfaceChange(AF_UNSPEC, sys_iface_changed, w, FALSE, &w->iface);
    if (st == NO_ERROR)
        st = NotifyUnicastIpAddressChange(AF_UNSPEC, sys_addr_changed, w, FALSE, &w->addr);
    if (st != NO_ERROR) {
        sys_watch_stop(ctx, w);
        SetLastError(st);
        return FLOE_ERR_IO;
    }
    *watch = w;
    return 0;
}

static const struct floe_io_win_netcfg netcfg_system = {
    .ctx = NULL,
    .addr_add = sys_addr_add,
    .addr_del = sys_addr_del,
    .route_add = sys_route_add,
    .route_del = sys_route_del,
    .hosts = sys_hosts,
    .mtu_set = sys_mtu_set,
    .watch_start = sys_watch_start,
    .watch_stop = sys_watch_stop,
    .route_best = floe__win_route_best,
    .sock_iface = floe__win_sock_iface,
};

const struct floe_io_win_netcfg *floe_io_win_netcfg_system(void)
{
    return &netcfg_system;
}

int floe_io_win_netcfg_apply(const struct floe_io_win_netcfg *nc, uint64_t luid,
                             const struct floe_io_win_ifaddr *addrs, size_t n_addrs,
                             const struct floe_prefix *routes, size_t n_routes, uint32_t metric,
                             unsigned mtu)
{
    size_t i;
    int rc = 0;

    if (!nc || (n_addrs && !addrs) || (n_routes && !routes))
        return FLOE_ERR_INVALID_ARG;
    for (i = 0; rc == 0 && i < n_addrs; i++)
        rc = nc->addr_add(nc->ctx, luid, &addrs[i]);
    for (i = 0; rc == 0 && i < n_routes; i++)
        rc = nc->route_add(nc->ctx, luid, &routes[i], metric);
    if (rc == 0 && mtu != 0)
        rc = nc->mtu_set(nc->ctx, luid, FLOE_AF_INET, mtu);
    if (rc == 0 && mtu != 0)
        rc = nc->mtu_set(nc->ctx, luid, FLOE_AF_INET6, mtu);
    return rc;
}
