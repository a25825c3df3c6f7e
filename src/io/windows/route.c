/*
 * floe's own traffic out of the tunnel on Windows. There is no fwmark: a resource's route on
 * the Wintun interface (0.0.0.0/0, or a prefix covering a relay, a gateway or the portal) makes
 * the tunnel the best route for floe's own datagrams and its portal connection, a loop. Each
 * socket is bound instead to the best interface other than the tunnel toward where it talks
 * (IP_UNICAST_IF / IPV6_UNICAST_IF), chosen here through IP Helper: Windows' own choice
 * (GetBestInterfaceEx) when it is not the tunnel, else the best route of each other interface
 * (GetBestRoute2 with that interface's LUID), as Firezone's Windows client chooses.
 */
#include <stdlib.h>
#include <string.h>

#include "win_int.h"

#include <ws2ipdef.h>
#include <iphlpapi.h>

/* The candidates route_best weighs at most (interfaces that are up). */
#define ROUTE_CANDS_MAX 32
/* The metric of an interface only known to have a default gateway (GetBestRoute2 failed). */
#define ROUTE_METRIC_GATEWAY 0x40000000u

int floe_io_win_route_pick(const struct floe_io_win_route *c, size_t n, uint64_t skip_luid,
                           struct floe_io_win_route *out)
{
    const struct floe_io_win_route *best = NULL;

    if ((n && !c) || !out)
        return FLOE_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        if ((skip_luid != 0 && c[i].luid == skip_luid) || c[i].ifindex == 0)
            continue;
        if (!best || c[i].metric < best->metric)
            best = &c[i];
    }
    if (!best)
        return FLOE_ERR_NOT_FOUND;
    *out = *best;
    return 0;
}

floe__win_setsockopt_fn floe__win_setsockopt = setsockopt;

int floe_io_win_sock_unicast_if(int fd, uint8_t family, uint32_t ifindex)
{
    /* IPv4 takes the index in network byte order, IPv6 in host byte order (ws2ipdef.h). */
    DWORD v4 = htonl(ifindex), v6 = ifindex;
    int rc;

    if (fd < 0)
        return FLOE_ERR_INVALID_ARG;
    if (family == FLOE_AF_INET)
        rc = floe__win_setsockopt((SOCKET)fd, IPPROTO_IP, IP_UNICAST_IF, (const char *)&v4,
                                  sizeof(v4));
    else if (family == FLOE_AF_INET6)
        rc = floe__win_setsockopt((SOCKET)fd, IPPROTO_IPV6, IPV6_UNICAST_IF, (const char *)&v6,
                                  sizeof(v6));
    else
        return FLOE_ERR_INVALID_ARG;
    return rc == 0 ? 0 : FLOE_ERR_IO;
}

int floe__win_sock_iface(void *ctx, int fd, uint8_t family, uint32_t ifindex)
{
    (void)ctx;
    return floe_io_win_sock_unicast_if(fd, family, ifindex);
}

/* The first unicast address of family af of adapter ad into *out (family NONE: none). */
static void route_adapter_src(const IP_ADAPTER_ADDRESSES *ad, int af, struct floe_addr *out)
{
    memset(out, 0, sizeof(*out));
    for (const IP_ADAPTER_UNICAST_ADDRESS *u = ad->FirstUnicastAddress; u; u = u->Next)
        if (u->Address.lpSockaddr->sa_family == af &&
            floe_io_addr_from_sockaddr(out, u->Address.lpSockaddr,
                                       (socklen_t)u->Address.iSockaddrLength) == 0)
            return;
}

/* Whether adapter ad has a gateway of family af (a default route there, as Windows lists it). */
static bool route_adapter_has_gateway(const IP_ADAPTER_ADDRESSES *ad, int af)
{
    for (const IP_ADAPTER_GATEWAY_ADDRESS_LH *g = ad->FirstGatewayAddress; g; g = g->Next)
        if (g->Address.lpSockaddr && g->Address.lpSockaddr->sa_family == af)
            return true;
    return false;
}

/*
 * Adapter ad as a candidate toward dst (family af), or false: metric 0 when it is Windows'
 * own choice best_if, else its best route's metric plus its interface metric, else a high
 * metric when it has a default gateway of that family.
 */
static bool route_candidate(const IP_ADAPTER_ADDRESSES *ad, const SOCKADDR_INET *dst, int af,
                            DWORD best_if, struct floe_io_win_route *c)
{
    MIB_IPFORWARD_ROW2 row;
    SOCKADDR_INET src;
    NET_LUID luid = ad->Luid;
    uint32_t if_metric = af == AF_INET ? (uint32_t)ad->Ipv4Metric : (uint32_t)ad->Ipv6Metric;

    if (ad->OperStatus != IfOperStatusUp || ad->IfType == IF_TYPE_SOFTWARE_LOOPBACK)
        return false;
    c->luid = ad->Luid.Value;
    c->ifindex = af == AF_INET ? (uint32_t)ad->IfIndex : (uint32_t)ad->Ipv6IfIndex;
    route_adapter_src(ad, af, &c->src);
    if (c->ifindex != 0 && c->ifindex == best_if) {
        c->metric = 0;
        return true;
    }
    memset(&row, 0, sizeof(row));
    memset(&src, 0, sizeof(src));
    if (GetBestRoute2(&luid, 0, NULL, dst, 0, &row, &src) == NO_ERROR) {
        c->metric = row.Metric + if_metric;
        (void)floe_io_addr_from_sockaddr(&c->src, (const struct sockaddr *)&src,
                                         af == AF_INET ? sizeof(SOCKADDR_IN)
                                                       : sizeof(SOCKADDR_IN6));
        return true;
    }
    c->metric = ROUTE_METRIC_GATEWAY + if_metric;
    return route_adapter_has_gateway(ad, af);
}

/* GetAdaptersAddresses of family af with gateways; NULL (and *st) on failure. Caller frees. */
static IP_ADAPTER_ADDRESSES *route_adapters(int af, ULONG *st)
{
    ULONG flags = GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST | GAA_FLAG_SKIP_DNS_SERVER |
                  GAA_FLAG_INCLUDE_GATEWAYS;
    ULONG size = 16384;
    IP_ADAPTER_ADDRESSES *list = NULL;

    *st = ERROR_NOT_ENOUGH_MEMORY;
    for (int tries = 0; tries < 3; tries++) {
        free(list);
        list = malloc(size);
        if (!list)
            return NULL;
        *st = GetAdaptersAddresses((ULONG)af, flags, NULL, list, &size);
        if (*st != ERROR_BUFFER_OVERFLOW)
            break;
    }
    if (*st == NO_ERROR)
        return list;
    free(list);
    return NULL;
}

int floe__win_route_best(void *ctx, uint64_t skip_luid, const struct floe_addr *dst,
                         struct floe_io_win_route *out)
{
    struct floe_io_win_route c[ROUTE_CANDS_MAX];
    struct sockaddr_storage ss;
    SOCKADDR_INET sa;
    socklen_t len;
    DWORD best_if = 0;
    size_t n = 0;
    ULONG st;
    IP_ADAPTER_ADDRESSES *list;

    (void)ctx;
    if (!dst || !out || floe_io_addr_to_sockaddr(dst, &ss, &len) != 0)
        return FLOE_ERR_INVALID_ARG;
    memset(&sa, 0, sizeof(sa));
    memcpy(&sa, &ss, (size_t)len < sizeof(sa) ? (size_t)len : sizeof(sa));
    if (GetBestInterfaceEx((struct sockaddr *)&ss, &best_if) != NO_ERROR)
        best_if = 0;
    list = route_adapters(ss.ss_family, &st);
    if (!list && st == ERROR_NOT_ENOUGH_MEMORY)
        return FLOE_ERR_NOMEM;
    if (!list) {
        SetLastError(st);
        return FLOE_ERR_IO;
    }
    for (const IP_ADAPTER_ADDRESSES *ad = list; ad && n < ROUTE_CANDS_MAX; ad = ad->Next)
        if (route_candidate(ad, &sa, ss.ss_family, best_if, &c[n]))
            n++;
    free(list);
    return floe_io_win_route_pick(c, n, skip_luid, out);
}
