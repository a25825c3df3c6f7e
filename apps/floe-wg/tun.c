/*
 * The TUN device and the rtnetlink socket that watches it. With offloads the device is
 * opened with IFF_VNET_HDR and TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6): reads
 * start with a virtio-net header and may be TCP super-packets (cut in gso.c), writes start
 * with a header saying "nothing to do".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wgd.h"

#define VNET_HDR_LEN 10
/* TUN reads per wakeup before the other sockets get a turn. */
#define TUN_MAX_READS 64

static int tun_set_mtu(const char *ifname, int mtu)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

    if (fd < 0)
        fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    ifr.ifr_mtu = mtu;
    rc = ioctl(fd, SIOCSIFMTU, &ifr) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

/* Ask for checksum and TCP segmentation offload; false when the kernel refuses. */
static bool tun_offload(int fd)
{
    unsigned flags = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    int hdr = VNET_HDR_LEN;

    return ioctl(fd, TUNSETVNETHDRSZ, &hdr) == 0 && ioctl(fd, TUNSETOFFLOAD, flags) == 0;
}

int wgd_tun_open(struct wgd *d)
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC), rc;

    if (fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->opts.ifname);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (d->opts.no_offload ? 0 : IFF_VNET_HDR);
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    d->vnet = !d->opts.no_offload;
    if (d->vnet && !tun_offload(fd))
        floe_jsonlog_warn(&d->log, "tun", "TUN offloads refused; packets go one by one");
    rc = tun_set_mtu(d->opts.ifname, WGD_DEFAULT_MTU);
    if (rc != 0)
        floe_jsonlog_warn(&d->log, "tun", "cannot set MTU %d: %s", WGD_DEFAULT_MTU, strerror(-rc));
    d->ifindex = (int)if_nametoindex(d->opts.ifname);
    d->tun_fd = fd;
    return 0;
}

void wgd_tun_write(struct wgd *d, uint8_t *pkt, size_t len)
{
    ssize_t n;

    if (d->vnet) {
        memset(pkt - VNET_HDR_LEN, 0, VNET_HDR_LEN);
        pkt -= VNET_HDR_LEN;
        len += VNET_HDR_LEN;
    }
    n = write(d->tun_fd, pkt, len);
    if (n != (ssize_t)len)
        d->stats.tun_errors++;
}

/* One packet read from TUN: cut it if needed; the pieces wait to be encrypted together. */
static void tun_packet(struct wgd *d, size_t len, floe_time now)
{
    struct wgd_vnet_hdr h;
    int n, total, first;

    if (!d->vnet) {
        if (len > WGD_SEG_MAX) {
            d->stats.too_big++;
            return;
        }
        memcpy(d->segs[d->n_seg], d->pkt, len);
        d->seg_len[d->n_seg] = len;
        wgd_send_segments(d, 1);
        return;
    }
    if (len < VNET_HDR_LEN)
        return;
    wgd_vnet_hdr_load(&h, d->pkt);
    total = wgd_gso_count(&h, d->pkt + VNET_HDR_LEN, len - VNET_HDR_LEN);
    if (total < 0) {
        d->stats.gso_bad++;
        return;
    }
    /* More segments than a batch holds (a small MSS): cut and encrypt it in runs. */
    for (first = 0; first < total; first += n) {
        if (d->n_seg + WGD_MAX_SEGS > WGD_SEGS)
            wgd_send_flush(d, now);
        n = wgd_gso_split_from(&h, d->pkt + VNET_HDR_LEN, len - VNET_HDR_LEN, (unsigned)first,
                               d->segs + d->n_seg, d->seg_len + d->n_seg, WGD_MAX_SEGS);
        if (n < 0) {
            d->stats.gso_bad++;
            return;
        }
        wgd_send_segments(d, (unsigned)n);
    }
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
    ssize_t n;
    int i;

    for (i = 0; i < TUN_MAX_READS; i++) {
        if (d->n_seg + WGD_MAX_SEGS > WGD_SEGS) /* keep room for a whole super-packet */
            wgd_send_flush(d, now);
        n = read(d->tun_fd, d->pkt, WGD_PKT_MAX);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                tun_read_failed(d);
            break;
        }
        tun_packet(d, (size_t)n, now);
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
