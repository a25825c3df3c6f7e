/*
 * rtnetlink through libmnl: addresses, routes, policy rules and link state (each call one
 * request on its own socket, answered by the kernel's acknowledgement), and the watcher of
 * network changes (a socket subscribed to the link, address and route groups).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "floe_io.h"

#define NL_BUF 8192

static int nl_af(uint8_t family)
{
    return family == FLOE_AF_INET ? AF_INET : family == FLOE_AF_INET6 ? AF_INET6 : -1;
}

static size_t nl_ip_len(uint8_t family)
{
    return family == FLOE_AF_INET ? 4 : 16;
}

/* Send the request in buf and wait for its acknowledgement. 0 or FLOE_ERR_IO (errno). */
static int nl_talk(struct nlmsghdr *nlh, uint8_t *buf)
{
    struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    unsigned portid;
    ssize_t n;
    int rc = -1, e;

    if (!nl)
        return FLOE_ERR_IO;
    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = (unsigned)time(NULL);
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) == 0 &&
        mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) >= 0) {
        portid = mnl_socket_get_portid(nl);
        n = mnl_socket_recvfrom(nl, buf, NL_BUF);
        if (n >= 0)
            rc = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, NULL, NULL);
    }
    e = errno;
    mnl_socket_close(nl);
    errno = e;
    return rc < 0 ? FLOE_ERR_IO : 0;
}

int floe_io_nl_addr(unsigned ifindex, const struct floe_addr *ip, unsigned prefix_len, bool add)
{
    uint8_t buf[NL_BUF] __attribute__((aligned(4)));
    struct nlmsghdr *nlh;
    struct ifaddrmsg *ifa;
    int af = ip ? nl_af(ip->family) : -1;

    if (af < 0 || ifindex == 0 || prefix_len > nl_ip_len(ip->family) * 8)
        return FLOE_ERR_INVALID_ARG;
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
    nlh->nlmsg_flags = add ? NLM_F_CREATE | NLM_F_EXCL : 0;
    ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
    ifa->ifa_family = (uint8_t)af;
    ifa->ifa_prefixlen = (uint8_t)prefix_len;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = ifindex;
    mnl_attr_put(nlh, IFA_LOCAL, nl_ip_len(ip->family), ip->ip);
    mnl_attr_put(nlh, IFA_ADDRESS, nl_ip_len(ip->family), ip->ip);
    return nl_talk(nlh, buf);
}

int floe_io_nl_route(unsigned ifindex, const struct floe_prefix *dst, uint32_t table, bool add)
{
    uint8_t buf[NL_BUF] __attribute__((aligned(4)));
    struct nlmsghdr *nlh;
    struct rtmsg *rtm;
    int af = dst ? nl_af(dst->family) : -1;

    if (af < 0 || ifindex == 0 || dst->len > nl_ip_len(dst->family) * 8 || table == 0)
        return FLOE_ERR_INVALID_ARG;
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
    nlh->nlmsg_flags = add ? NLM_F_CREATE | NLM_F_REPLACE : 0;
    rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
    rtm->rtm_family = (uint8_t)af;
    rtm->rtm_dst_len = dst->len;
    rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
    rtm->rtm_protocol = RTPROT_BOOT;
    rtm->rtm_scope = add ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
    rtm->rtm_type = RTN_UNICAST;
    if (dst->len)
        mnl_attr_put(nlh, RTA_DST, nl_ip_len(dst->family), dst->ip);
    mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
    mnl_attr_put_u32(nlh, RTA_TABLE, table);
    return nl_talk(nlh, buf);
}

int floe_io_nl_rule(uint8_t family, uint32_t mark, uint32_t table, uint32_t priority, bool add)
{
    uint8_t buf[NL_BUF] __attribute__((aligned(4)));
    struct nlmsghdr *nlh;
    struct fib_rule_hdr *frh;
    int af = nl_af(family);

    if (af < 0 || table == 0)
        return FLOE_ERR_INVALID_ARG;
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = add ? RTM_NEWRULE : RTM_DELRULE;
    nlh->nlmsg_flags = add ? NLM_F_CREATE | NLM_F_EXCL : 0;
    frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
    frh->family = (uint8_t)af;
    frh->action = FR_ACT_TO_TBL;
    frh->table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
    frh->flags = FIB_RULE_INVERT; /* "not fwmark" */
    mnl_attr_put_u32(nlh, FRA_FWMARK, mark);
    mnl_attr_put_u32(nlh, FRA_TABLE, table);
    if (priority)
        mnl_attr_put_u32(nlh, FRA_PRIORITY, priority);
    return nl_talk(nlh, buf);
}

int floe_io_nl_link_set(unsigned ifindex, bool up, unsigned mtu)
{
    uint8_t buf[NL_BUF] __attribute__((aligned(4)));
    struct nlmsghdr *nlh;
    struct ifinfomsg *ifi;

    if (ifindex == 0 || ifindex > INT32_MAX)
        return FLOE_ERR_INVALID_ARG;
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWLINK;
    ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = (int)ifindex;
    ifi->ifi_flags = up ? IFF_UP : 0;
    ifi->ifi_change = IFF_UP;
    if (mtu)
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    return nl_talk(nlh, buf);
}

/* --------------------------------------------------------------- watcher */

struct floe_io_netwatch {
    struct mnl_socket *nl;
    unsigned ignore;
};

int floe_io_netwatch_open(struct floe_io_netwatch **out, unsigned ignore_ifindex)
{
    unsigned groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE |
                      RTMGRP_IPV6_ROUTE;
    struct floe_io_netwatch *w;
    int e;

    if (!out)
        return FLOE_ERR_INVALID_ARG;
    *out = NULL;
    w = calloc(1, sizeof(*w));
    if (!w)
        return FLOE_ERR_NOMEM;
    w->ignore = ignore_ifindex;
    w->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (!w->nl || mnl_socket_bind(w->nl, groups, MNL_SOCKET_AUTOPID) != 0) {
        e = errno;
        floe_io_netwatch_free(w);
        errno = e;
        return FLOE_ERR_IO;
    }
    *out = w;
    return 0;
}

void floe_io_netwatch_free(struct floe_io_netwatch *w)
{
    if (!w)
        return;
    if (w->nl)
        mnl_socket_close(w->nl);
    free(w);
}

int floe_io_netwatch_fd(const struct floe_io_netwatch *w)
{
    return mnl_socket_get_fd(w->nl);
}

void floe_io_netwatch_ignore(struct floe_io_netwatch *w, unsigned ignore_ifindex)
{
    w->ignore = ignore_ifindex;
}

/* The output interface of a route message (0: none given). */
static unsigned watch_route_oif(const struct nlmsghdr *nlh)
{
    const struct nlattr *a = mnl_nlmsg_get_payload_offset(nlh, sizeof(struct rtmsg));
    int left = (int)((const char *)mnl_nlmsg_get_payload_tail(nlh) - (const char *)a);

    for (; mnl_attr_ok(a, left); a = mnl_attr_next(a)) {
        left -= (int)MNL_ALIGN(a->nla_len);
        if (mnl_attr_get_type(a) == RTA_OIF && mnl_attr_get_payload_len(a) >= 4)
            return mnl_attr_get_u32(a);
    }
    return 0;
}

/* The interface a message is about, or -1 when it is not a change we watch. */
static long watch_ifindex(const struct nlmsghdr *nlh)
{
    switch (nlh->nlmsg_type) {
    case RTM_NEWLINK:
    case RTM_DELLINK:
        if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
            return -1;
        return ((const struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_index;
    case RTM_NEWADDR:
    case RTM_DELADDR:
        if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
            return -1;
        return (long)((const struct ifaddrmsg *)mnl_nlmsg_get_payload(nlh))->ifa_index;
    case RTM_NEWROUTE:
    case RTM_DELROUTE:
        if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
            return -1;
        return (long)watch_route_oif(nlh);
    default:
        return -1;
    }
}

/* Whether the messages in buf[0..len) hold a change not on the ignored interface. */
static bool watch_batch(const struct floe_io_netwatch *w, const uint8_t *buf, size_t len)
{
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
    int left = len > INT32_MAX ? INT32_MAX : (int)len;
    bool changed = false;
    long idx;

    for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
        idx = watch_ifindex(nlh);
        if (idx >= 0 && (w->ignore == 0 || (unsigned long)idx != w->ignore))
            changed = true;
    }
    return changed;
}

int floe_io_netwatch_read(struct floe_io_netwatch *w)
{
    uint8_t buf[NL_BUF] __attribute__((aligned(4)));
    bool changed = false;
    ssize_t n;

    if (!w)
        return FLOE_ERR_INVALID_ARG;
    for (;;) {
        n = recv(mnl_socket_get_fd(w->nl), buf, sizeof(buf), 0);
        if (n > 0) {
            changed |= watch_batch(w, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == ENOBUFS) {
            changed = true; /* messages lost: assume a change */
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return FLOE_ERR_IO;
        if (n < 0 && errno == EINTR)
            continue;
        return changed ? 1 : 0;
    }
}
