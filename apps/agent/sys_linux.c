/*
 * What the agent asks of Linux besides the loop: the machine's host addresses, the TUN's
 * tunnel addresses and link state, and floe's own sockets (marked so that policy routing
 * keeps them out of the tunnel).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_int.h"

/* A usable host address: not loopback, not link-local IPv6, not on the TUN, interface up. */
static bool sys_host_ok(const struct floe_agent *a, const struct ifaddrs *i)
{
    const struct sockaddr_in6 *s6;

    if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
        return false;
    if (strcmp(i->ifa_name, floe_io_tun_name(a->tun)) == 0)
        return false;
    if (i->ifa_addr->sa_family == AF_INET)
        return true;
    if (i->ifa_addr->sa_family != AF_INET6)
        return false;
    s6 = (const struct sockaddr_in6 *)(const void *)i->ifa_addr;
    return !IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) && !IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
}

void floe__agent_sys_hosts(struct floe_agent *a, floe_time now)
{
    struct ifaddrs *list, *i;
    struct floe_addr h, bound;

    if (getifaddrs(&list) != 0)
        return;
    for (i = list; i; i = i->ifa_next) {
        int s;

        if (!sys_host_ok(a, i))
            continue;
        s = i->ifa_addr->sa_family == AF_INET6 ? AGENT_V6 : AGENT_V4;
        if (a->udp[s] < 0 || floe_io_udp_local(a->udp[s], &bound) != 0 ||
            floe_io_addr_from_sockaddr(
                &h, i->ifa_addr, s ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) != 0)
            continue;
        h.port = bound.port;
        if (floe_node_add_host(a->node, now, &h) != 0)
            continue;
        if (a->host[s].family == FLOE_AF_NONE)
            a->host[s] = h;
    }
    freeifaddrs(list);
}

/* FNV-1a of p[0..n) continuing from h. */
static uint64_t sys_fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/*
 * The hash of the source address the kernel picks for a marked datagram to a documentation
 * address (RFC 5737 / RFC 3849: routed by the default route on any ordinary host; nothing is
 * sent, connect(2) on UDP only looks the route up). 0: no route.
 */
static const uint8_t sys_doc6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}; /* 2001:db8::1 */

static uint64_t sys_route_src(const struct floe_agent *a, int family)
{
    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons(9)};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons(9)};
    struct sockaddr_storage src;
    socklen_t len = sizeof(src);
    uint64_t h = 0;
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return 0;
    v4.sin_addr.s_addr = htonl(0xc0000201u); /* 192.0.2.1 */
    memcpy(&v6.sin6_addr, sys_doc6, sizeof(sys_doc6));
    if (a->cfg.mark)
        (void)floe_io_udp_set_mark(fd, a->cfg.mark);
    if ((family == AF_INET ? connect(fd, (struct sockaddr *)&v4, sizeof(v4))
                           : connect(fd, (struct sockaddr *)&v6, sizeof(v6))) == 0 &&
        getsockname(fd, (struct sockaddr *)&src, &len) == 0)
        h = family == AF_INET ? sys_fnv(1, &((struct sockaddr_in *)&src)->sin_addr, 4)
                              : sys_fnv(2, &((struct sockaddr_in6 *)&src)->sin6_addr, 16);
    close(fd);
    return h;
}

uint64_t floe__agent_sys_net_fp(struct floe_agent *a)
{
    uint64_t r4 = sys_route_src(a, AF_INET), r6 = sys_route_src(a, AF_INET6), hosts = 0, h;
    struct ifaddrs *list, *i;

    if ((r4 == 0 && r6 == 0) || getifaddrs(&list) != 0)
        return 0;
    for (i = list; i; i = i->ifa_next) {
        if (!sys_host_ok(a, i))
            continue;
        h = sys_fnv(0xcbf29ce484222325ull, i->ifa_addr,
                    i->ifa_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                       : sizeof(struct sockaddr_in));
        hosts += h; /* the order getifaddrs lists them in does not count */
    }
    freeifaddrs(list);
    h = sys_fnv(0xcbf29ce484222325ull, &r4, sizeof(r4));
    h = sys_fnv(h, &r6, sizeof(r6));
    h = sys_fnv(h, &hosts, sizeof(hosts));
    return h ? h : 1;
}

static void sys_addr_swap(struct floe_agent *a, const struct floe_addr *old,
                          const struct floe_addr *neu, unsigned plen)
{
    unsigned ifx = floe_io_tun_ifindex(a->tun);
    char buf[FLOE_ADDR_STRLEN];

    if (old->family && !floe_addr_ip_eq(old, neu))
        (void)floe_io_nl_addr(ifx, old, plen, false);
    if (!neu->family || (old->family && floe_addr_ip_eq(old, neu)))
        return;
    if (floe_io_nl_addr(ifx, neu, plen, true) != 0 && errno != EEXIST) {
        floe__agent_log(a, FLOE_LOG_ERROR, "tunnel address: %s", strerror(errno));
        return;
    }
    (void)floe_addr_format_ip(neu, buf, sizeof(buf));
    floe__agent_log(a, FLOE_LOG_INFO, "tunnel address %s/%u on %s", buf, plen,
                    floe_io_tun_name(a->tun));
}

int floe__agent_sys_iface(struct floe_agent *a, const struct floe_portal_interface *ifc)
{
    sys_addr_swap(a, &a->iface.ipv4, &ifc->ipv4, 32);
    sys_addr_swap(a, &a->iface.ipv6, &ifc->ipv6, 128);
    a->iface = *ifc;
    if (floe_io_nl_link_set(floe_io_tun_ifindex(a->tun), true, 0) != 0) {
        floe__agent_log(a, FLOE_LOG_ERROR, "link up: %s", strerror(errno));
        return FLOE_ERR_IO;
    }
    return 0;
}

int floe__agent_sys_udp(struct floe_agent *a, int s)
{
    struct floe_addr any = {.family = s ? FLOE_AF_INET6 : FLOE_AF_INET};
    int fd = floe_io_udp_open(&any);

    if (fd < 0) {
        floe__agent_log(a, s ? FLOE_LOG_INFO : FLOE_LOG_ERROR, "UDP socket (IPv%d): %s", s ? 6 : 4,
                        floe_strerror(fd));
        return fd;
    }
    if (s == AGENT_V6) {
        int on = 1;
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    }
    if (a->cfg.mark && floe_io_udp_set_mark(fd, a->cfg.mark) != 0)
        floe__agent_log(a, FLOE_LOG_WARN, "SO_MARK: %s", strerror(errno));
    if (floe_io_udp_set_buffers(fd, AGENT_UDP_SOCKBUF) != 0)
        floe__agent_log(a, FLOE_LOG_WARN, "UDP socket buffers: %s", strerror(errno));
    if (!a->cfg.no_offload)
        (void)floe_io_udp_set_gro(fd);
    a->udp[s] = fd;
    return 0;
}

int floe__agent_sys_tcp_connect(struct floe_agent *a, const struct floe_addr *to)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd;

    if (floe_io_addr_to_sockaddr(to, &ss, &len) != 0)
        return FLOE_ERR_ADDR_FAMILY;
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return FLOE_ERR_IO;
    if (a->cfg.mark)
        (void)floe_io_udp_set_mark(fd, a->cfg.mark);
    if (connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS) {
        close(fd);
        return FLOE_ERR_IO;
    }
    return fd;
}

int floe_agent_route(struct floe_agent *a, const struct floe_prefix *dst, uint32_t table, bool add)
{
    if (floe_io_nl_route(floe_io_tun_ifindex(a->tun), dst, table, add) == 0)
        return 0;
    if (add ? errno == EEXIST : (errno == ESRCH || errno == ENOENT))
        return 0;
    floe__agent_log(a, FLOE_LOG_ERROR, "route %s: %s", add ? "add" : "delete", strerror(errno));
    return FLOE_ERR_IO;
}

long floe__agent_sys_recv(int fd, uint8_t *buf, size_t cap)
{
    ssize_t r = recv(fd, buf, cap, 0);

    if (r > 0)
        return (long)r;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return AGENT_WOULD_BLOCK;
    return FLOE_ERR_IO;
}

long floe__agent_sys_send(int fd, const uint8_t *buf, size_t len)
{
    ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);

    if (w >= 0)
        return (long)w;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? AGENT_WOULD_BLOCK
                                                                     : FLOE_ERR_IO;
}

const char *floe__agent_sys_connect_error(int fd)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return strerror(errno);
    return err ? strerror(err) : NULL;
}

unsigned floe__agent_sys_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : (unsigned)n;
}
