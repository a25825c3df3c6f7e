/*
 * The TUN device (the library's floe_io_tun: offloads, super-packets cut into segments,
 * decrypted TCP segments coalesced) and the rtnetlink socket that watches it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <unistd.h>

#include "wgd.h"

/* TUN reads per wakeup before the other sockets get a turn. */
#define TUN_MAX_READS 64

int wgd_tun_open(struct wgd *d)
{
    struct floe_io_tun_config cfg = {
        .name = d->opts.ifname, .mtu = 0, .no_offload = d->opts.no_offload};
    int rc = floe_io_tun_open(&d->tun, &cfg);

    if (rc != 0)
        return rc == FLOE_ERR_IO ? -errno : -EINVAL;
    if (!d->opts.no_offload && !floe_io_tun_has_offload(d->tun))
        floe_jsonlog_warn(&d->log, "tun", "TUN offloads refused; packets go one by one");
    rc = floe_io_tun_set_mtu(d->tun, WGD_DEFAULT_MTU);
    if (rc != 0)
        floe_jsonlog_warn(&d->log, "tun", "cannot set MTU %d: %s", WGD_DEFAULT_MTU,
                          strerror(errno));
    d->ifindex = (int)floe_io_tun_ifindex(d->tun);
    return 0;
}

/* The device went away (EBADFD: deleted under us) or broke: stop either way. */
static void tun_read_failed(struct wgd *d)
{
    if (errno == EBADFD)
        floe_jsonlog_info(&d->log, "tun", "interface %s deleted", d->opts.ifname);
    else
        floe_jsonlog_error(&d->log, "tun", "TUN read failed: %s", strerror(errno));
    d->stop = true;
}

void wgd_tun_input(struct wgd *d, floe_time now)
{
    int i, n;

    for (i = 0; i < TUN_MAX_READS; i++) {
        if (floe_io_segq_room(&d->segq) < WGD_MAX_SEGS) /* room for a whole super-packet */
            wgd_send_flush(d, now);
        n = floe_io_tun_read(d->tun, &d->segq);
        if (n < 0)
            tun_read_failed(d);
        if (n <= 0)
            break;
        wgd_send_segments(d, (unsigned)n);
    }
    wgd_send_flush(d, now);
    if (d->dev)
        wgd_dev_drain(d, now);
    wgd_udp_flush(d);
}

int wgd_netlink_open(void)
{
    struct sockaddr_nl sa;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE), rc;

    if (fd < 0)
        return -errno;
    memset(&sa, 0, sizeof(sa));
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_LINK;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

void wgd_netlink_input(struct wgd *d)
{
    char buf[8192] __attribute__((aligned(4)));
    const struct nlmsghdr *h;
    ssize_t n;

    while ((n = recv(d->nl_fd, buf, sizeof(buf), 0)) > 0) {
        for (h = (const struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            const struct ifinfomsg *ifi = NLMSG_DATA(h);

            if (h->nlmsg_type != RTM_DELLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
                continue;
            if (ifi->ifi_index == d->ifindex) {
                floe_jsonlog_info(&d->log, "tun", "interface %s deleted", d->opts.ifname);
                d->stop = true;
            }
        }
    }
}
