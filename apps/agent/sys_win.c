/*
 * What the agent asks of Windows besides the loop: the machine's host addresses, the tunnel
 * addresses and the resources' routes on the Wintun interface (all through the netcfg table:
 * IP Helper, or a test's double), floe's own sockets and the portal's TCP connection. Windows
 * has no fwmark: floe's own sockets are bound to the best interface other than the tunnel
 * (IP_UNICAST_IF / IPV6_UNICAST_IF through the netcfg table's route_best and sock_iface), so
 * that a resource covering a relay, a gateway or the portal (0.0.0.0/0 say) cannot route floe's
 * own traffic into the tunnel: the UDP sockets at the start and again at every node reset (a
 * network change), the portal's connection at each connect.
 */
#include <stdio.h>
#include <string.h>

#include "agent_win.h"

#define SYS_HOSTS_MAX 16

/*
 * Where the UDP sockets are bound toward: past the default route (documentation addresses,
 * RFC 5737 and RFC 3849), as relays and peers are reached through it; one interface a socket.
 */
static const struct floe_addr sys_probe[2] = {
    [AGENT_V4] = {.family = FLOE_AF_INET, .ip = {192, 0, 2, 1}},
    [AGENT_V6] = {.family = FLOE_AF_INET6, .ip = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}},
};
/* A failed binding is logged once a process (one agent a process). */
static bool sys_bind_warned;

/*
 * Bind socket fd (of toward's family) to the best interface other than the tunnel toward
 * toward. With no such interface it stays as it is until the next network change; when
 * Windows refuses, it goes on unbound (the routes decide) and says so once.
 */
static void sys_bind_iface(struct floe_agent *a, int fd, const struct floe_addr *toward,
                           const char *what)
{
    const struct floe_io_win_netcfg *nc = floe__agent_win_netcfg(a);
    struct floe_io_win_route r;
    int rc = nc->route_best(nc->ctx, a->tun ? floe_io_tun_luid(a->tun) : 0, toward, &r);

    if (rc == FLOE_ERR_NOT_FOUND) { /* offline, or no IPv6 here: chosen again at the next change */
        floe__agent_log(a, FLOE_LOG_DEBUG, "%s: no interface but the tunnel", what);
        return;
    }
    if (rc == 0 && (rc = nc->sock_iface(nc->ctx, fd, toward->family, r.ifindex)) == 0) {
        floe__agent_log(a, FLOE_LOG_DEBUG, "%s bound to interface %lu, out of the tunnel", what,
                        (unsigned long)r.ifindex);
        return;
    }
    if (sys_bind_warned)
        return;
    sys_bind_warned = true;
    floe__agent_log(a, FLOE_LOG_WARN,
                    "%s not bound out of the tunnel (%s, Windows error %lu): a resource covering "
                    "a relay, a gateway or the portal would loop (logged once)",
                    what, floe_strerror(rc),
                    (unsigned long)(rc == FLOE_ERR_IO ? WSAGetLastError() : 0));
}

uint64_t floe__agent_sys_net_fp(struct floe_agent *a)
{
    (void)a;
    return 0; /* not told: every change of the network resets after the debounce */
}

void floe__agent_sys_hosts(struct floe_agent *a, floe_time now)
{
    const struct floe_io_win_netcfg *nc = floe__agent_win_netcfg(a);
    struct floe_addr hosts[SYS_HOSTS_MAX], bound;
    int n;

    /* At the start and at every reset (a network change): the interfaces are chosen again. */
    for (int s = 0; s < 2; s++)
        if (a->udp[s] >= 0)
            sys_bind_iface(a, a->udp[s], &sys_probe[s], s ? "UDP socket (IPv6)" : "UDP socket");
    n = nc->hosts(nc->ctx, floe_io_tun_luid(a->tun), hosts, SYS_HOSTS_MAX);
    for (int i = 0; i < n; i++) {
        struct floe_addr h = hosts[i];
        int s = h.family == FLOE_AF_INET6 ? AGENT_V6 : AGENT_V4;

        if (a->udp[s] < 0 || floe_io_udp_local(a->udp[s], &bound) != 0)
            continue;
        h.port = bound.port;
        if (floe_node_add_host(a->node, now, &h) != 0)
            continue;
        if (a->host[s].family == FLOE_AF_NONE)
            a->host[s] = h;
    }
}

static void sys_addr_swap(struct floe_agent *a, const struct floe_addr *old,
                          const struct floe_addr *neu, uint8_t plen)
{
    const struct floe_io_win_netcfg *nc = floe__agent_win_netcfg(a);
    uint64_t luid = floe_io_tun_luid(a->tun);
    struct floe_io_win_ifaddr ia = {.prefix_len = plen};
    char buf[FLOE_ADDR_STRLEN];

    if (old->family && !floe_addr_ip_eq(old, neu)) {
        ia.ip = *old;
        (void)nc->addr_del(nc->ctx, luid, &ia);
    }
    if (!neu->family || (old->family && floe_addr_ip_eq(old, neu)))
        return;
    ia.ip = *neu;
    ia.ip.port = 0;
    if (nc->addr_add(nc->ctx, luid, &ia) != 0) {
        floe__agent_log(a, FLOE_LOG_ERROR, "tunnel address: Windows error %lu",
                        (unsigned long)GetLastError());
        return;
    }
    (void)floe_addr_format_ip(neu, buf, sizeof(buf));
    floe__agent_log(a, FLOE_LOG_INFO, "tunnel address %s/%u on %s", buf, plen,
                    floe_io_tun_name(a->tun));
}

int floe__agent_sys_iface(struct floe_agent *a, const struct floe_portal_interface *ifc)
{
    /* A Wintun adapter is up while its session runs: nothing to bring up. */
    sys_addr_swap(a, &a->iface.ipv4, &ifc->ipv4, 32);
    sys_addr_swap(a, &a->iface.ipv6, &ifc->ipv6, 128);
    a->iface = *ifc;
    return 0;
}

int floe_agent_route(struct floe_agent *a, const struct floe_prefix *dst, uint32_t table, bool add)
{
    const struct floe_io_win_netcfg *nc = floe__agent_win_netcfg(a);
    uint64_t luid = floe_io_tun_luid(a->tun);
    int rc;

    (void)table;
    rc = add ? nc->route_add(nc->ctx, luid, dst, 0) : nc->route_del(nc->ctx, luid, dst);
    if (rc != 0)
        floe__agent_log(a, FLOE_LOG_ERROR, "route %s: Windows error %lu", add ? "add" : "delete",
                        (unsigned long)GetLastError());
    return rc == 0 ? 0 : FLOE_ERR_IO;
}

int floe__agent_sys_udp(struct floe_agent *a, int s)
{
    struct floe_addr any = {.family = s ? FLOE_AF_INET6 : FLOE_AF_INET};
    int fd = floe_io_udp_open(&any);
    DWORD on = 1;

    if (fd < 0) {
        floe__agent_log(a, s ? FLOE_LOG_INFO : FLOE_LOG_ERROR, "UDP socket (IPv%d): %s", s ? 6 : 4,
                        floe_strerror(fd));
        return fd;
    }
    if (s == AGENT_V6)
        (void)setsockopt((SOCKET)fd, IPPROTO_IPV6, IPV6_V6ONLY, (const char *)&on, sizeof(on));
    if (floe_io_udp_set_buffers(fd, AGENT_UDP_SOCKBUF) != 0) /* Windows' default: 64 KiB */
        floe__agent_log(a, FLOE_LOG_WARN, "UDP socket buffers: Windows error %lu",
                        (unsigned long)WSAGetLastError());
    if (!a->cfg.no_offload)
        (void)floe_io_udp_set_gro(fd); /* URO where Windows has it; Wine refuses */
    a->udp[s] = fd;
    return 0;
}

int floe__agent_sys_tcp_connect(struct floe_agent *a, const struct floe_addr *to)
{
    struct sockaddr_storage ss;
    socklen_t len;
    SOCKET s;

    if (floe_io_addr_to_sockaddr(to, &ss, &len) != 0)
        return FLOE_ERR_ADDR_FAMILY;
    s = socket(ss.ss_family, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET)
        return FLOE_ERR_IO;
    sys_bind_iface(a, (int)s, to, "portal connection");
    /* Watched (and so non-blocking) before connect: its completion is an event to report. */
    if (floe_io_win_wait_socket(floe__agent_win_wait(a), (int)s, AGENT_TAG_PORTAL, true) != 0 ||
        (connect(s, (struct sockaddr *)&ss, len) != 0 && WSAGetLastError() != WSAEWOULDBLOCK)) {
        (void)floe_io_win_wait_remove(floe__agent_win_wait(a), AGENT_TAG_PORTAL);
        closesocket(s);
        return FLOE_ERR_IO;
    }
    return (int)s;
}

long floe__agent_sys_recv(int fd, uint8_t *buf, size_t cap)
{
    int r = recv((SOCKET)fd, (char *)buf, cap > INT_MAX ? INT_MAX : (int)cap, 0);

    if (r > 0)
        return r;
    if (r < 0 && WSAGetLastError() == WSAEWOULDBLOCK)
        return AGENT_WOULD_BLOCK;
    return FLOE_ERR_IO;
}

long floe__agent_sys_send(int fd, const uint8_t *buf, size_t len)
{
    int w = send((SOCKET)fd, (const char *)buf, len > INT_MAX ? INT_MAX : (int)len, 0);

    if (w >= 0)
        return w;
    return WSAGetLastError() == WSAEWOULDBLOCK ? AGENT_WOULD_BLOCK : FLOE_ERR_IO;
}

const char *floe__agent_sys_connect_error(int fd)
{
    static char why[64];
    int err = 0, len = sizeof(err);

    if (getsockopt((SOCKET)fd, SOL_SOCKET, SO_ERROR, (char *)&err, &len) != 0)
        err = WSAGetLastError();
    if (err == 0)
        return NULL;
    snprintf(why, sizeof(why), "connect failed: Winsock error %d", err);
    return why;
}

unsigned floe__agent_sys_cpus(void)
{
    SYSTEM_INFO si;

    GetSystemInfo(&si);
    return si.dwNumberOfProcessors ? (unsigned)si.dwNumberOfProcessors : 1;
}
