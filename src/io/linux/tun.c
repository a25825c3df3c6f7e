/*
 * The Linux TUN driver of struct floe_io_tun. With offloads the device is opened with
 * IFF_VNET_HDR and TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6): reads start with a
 * virtio-net header and may be TCP super-packets, cut by floe_offload_split; writes start
 * with a virtio-net header, "nothing to do" for a lone packet or a TCP GSO description for
 * segments coalesced by floe_offload_gro. The virtio-net format stays in this file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "floe_io.h"

/* include/uapi/linux/virtio_net.h */
#define VNET_HDR_LEN 10
#define VNET_F_NEEDS_CSUM 1
#define VNET_GSO_NONE 0
#define VNET_GSO_TCPV4 1
#define VNET_GSO_TCPV6 4
#define VNET_GSO_ECN 0x80

/* One read: a virtio-net header and a super-packet of up to 64 KiB. */
#define TUN_PKT_MAX (VNET_HDR_LEN + 65535 + 64)

struct floe_io_tun {
    int fd;
    char name[IFNAMSIZ];
    unsigned ifindex;
    bool vnet;    /* reads and writes carry a virtio-net header */
    bool offload; /* and the kernel took TSO/checksum offload */
    uint8_t *pkt; /* the last packet read, virtio-net header first */
    size_t pkt_len;
    struct floe_offload pend;       /* its description */
    unsigned pend_next, pend_total; /* its segments handed out so far, in all */
    struct floe_offload_gro gro;
    struct floe_io_tun_stats st;
};

/* ------------------------------------------------------------- the header */

static void vnet_load(struct floe_offload *o, const uint8_t *p)
{
    uint8_t type = (uint8_t)(p[1] & ~VNET_GSO_ECN);

    memset(o, 0, sizeof(*o));
    o->kind = type == VNET_GSO_NONE    ? FLOE_OFFLOAD_NONE
              : type == VNET_GSO_TCPV4 ? FLOE_OFFLOAD_TCPV4
              : type == VNET_GSO_TCPV6 ? FLOE_OFFLOAD_TCPV6
                                       : FLOE_OFFLOAD_OTHER;
    o->needs_csum = p[0] & VNET_F_NEEDS_CSUM;
    o->ecn = p[1] & VNET_GSO_ECN;
    o->hdr_len = floe_load_le16(p + 2);
    o->seg_size = floe_load_le16(p + 4);
    o->csum_start = floe_load_le16(p + 6);
    o->csum_offset = floe_load_le16(p + 8);
}

static void vnet_store(uint8_t *p, const struct floe_offload *o)
{
    memset(p, 0, VNET_HDR_LEN);
    if (o->kind != FLOE_OFFLOAD_TCPV4 && o->kind != FLOE_OFFLOAD_TCPV6)
        return;
    p[0] = o->needs_csum ? VNET_F_NEEDS_CSUM : 0;
    p[1] = o->kind == FLOE_OFFLOAD_TCPV6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4;
    floe_store_le16(p + 2, o->hdr_len);
    floe_store_le16(p + 4, o->seg_size);
    floe_store_le16(p + 6, o->csum_start);
    floe_store_le16(p + 8, o->csum_offset);
}

/* ------------------------------------------------------------------ open */

static int tun_ifreq_mtu(const char *name, unsigned mtu)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

    if (fd < 0)
        fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return FLOE_ERR_IO;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    ifr.ifr_mtu = (int)mtu;
    rc = ioctl(fd, SIOCSIFMTU, &ifr) == 0 ? 0 : FLOE_ERR_IO;
    if (rc != 0) {
        int e = errno;

        close(fd);
        errno = e;
        return rc;
    }
    close(fd);
    return 0;
}

/* Ask for checksum and TCP segmentation offload; false when the kernel refuses. */
static bool tun_offload(int fd)
{
    unsigned flags = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    int hdr = VNET_HDR_LEN;

    return ioctl(fd, TUNSETVNETHDRSZ, &hdr) == 0 && ioctl(fd, TUNSETOFFLOAD, flags) == 0;
}

/* Attach fd to the interface t->name (created if missing). */
static int tun_attach(struct floe_io_tun *t, bool vnet)
{
    struct ifreq ifr;

    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->name);
    ifr.ifr_flags = (short)(IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0));
    if (ioctl(t->fd, TUNSETIFF, &ifr) != 0)
        return FLOE_ERR_IO;
    snprintf(t->name, sizeof(t->name), "%s", ifr.ifr_name);
    t->vnet = vnet;
    t->offload = vnet && tun_offload(t->fd);
    t->ifindex = if_nametoindex(t->name);
    return 0;
}

static bool tun_config_ok(const struct floe_io_tun_config *cfg)
{
    return cfg && cfg->name && cfg->name[0] && strlen(cfg->name) < IFNAMSIZ &&
           (cfg->mtu == 0 || (cfg->mtu >= 576 && cfg->mtu <= 65535));
}

int floe_io_tun_open(struct floe_io_tun **out, const struct floe_io_tun_config *cfg)
{
    struct floe_io_tun *t;
    int rc, e;

    if (!out)
        return FLOE_ERR_INVALID_ARG;
    *out = NULL;
    if (!tun_config_ok(cfg))
        return FLOE_ERR_INVALID_ARG;
    t = calloc(1, sizeof(*t));
    if (!t || !(t->pkt = malloc(TUN_PKT_MAX))) {
        free(t);
        return FLOE_ERR_NOMEM;
    }
    snprintf(t->name, sizeof(t->name), "%s", cfg->name);
    t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (t->fd < 0) {
        rc = errno == ENOENT || errno == ENODEV ? FLOE_ERR_UNSUPPORTED : FLOE_ERR_IO;
        goto fail;
    }
    rc = tun_attach(t, !cfg->no_offload);
    if (rc == 0 && cfg->mtu)
        rc = tun_ifreq_mtu(t->name, cfg->mtu);
    if (rc != 0)
        goto fail;
    *out = t;
    return 0;
fail:
    e = errno;
    floe_io_tun_free(t);
    errno = e;
    return rc;
}

void floe_io_tun_free(struct floe_io_tun *t)
{
    if (!t)
        return;
    if (t->fd >= 0)
        close(t->fd);
    free(t->pkt);
    free(t);
}

const char *floe_io_tun_name(const struct floe_io_tun *t)
{
    return t->name;
}

unsigned floe_io_tun_ifindex(const struct floe_io_tun *t)
{
    return t->ifindex;
}

bool floe_io_tun_has_offload(const struct floe_io_tun *t)
{
    return t->offload;
}

intptr_t floe_io_tun_wait_handle(const struct floe_io_tun *t)
{
    return t->fd;
}

int floe_io_tun_set_mtu(struct floe_io_tun *t, unsigned mtu)
{
    if (!t || mtu < 576 || mtu > 65535)
        return FLOE_ERR_INVALID_ARG;
    return tun_ifreq_mtu(t->name, mtu);
}

void floe_io_tun_stats(const struct floe_io_tun *t, struct floe_io_tun_stats *out)
{
    *out = t->st;
}

/* ------------------------------------------------------------------ read */

/* Take the packet just read (n bytes at t->pkt): its description and segment count. */
static void tun_take(struct floe_io_tun *t, size_t n)
{
    size_t hdr = t->vnet ? VNET_HDR_LEN : 0;
    int total;

    t->st.rx_packets++;
    t->pend_next = t->pend_total = 0;
    if (n < hdr) {
        t->st.rx_bad++;
        return;
    }
    if (t->vnet)
        vnet_load(&t->pend, t->pkt);
    else
        memset(&t->pend, 0, sizeof(t->pend));
    t->pkt_len = n;
    total = floe_offload_count(&t->pend, t->pkt + hdr, n - hdr);
    if (total > 0) {
        t->pend_total = (unsigned)total;
        return;
    }
    if (t->pend.kind == FLOE_OFFLOAD_NONE && n - hdr > FLOE_IO_SEG_MAX)
        t->st.rx_too_big++;
    else
        t->st.rx_bad++;
}

/* Cut the next run of the pending packet into q. Returns the count, 0 when it was bad. */
static int tun_cut(struct floe_io_tun *t, struct floe_io_segq *q)
{
    size_t hdr = t->vnet ? VNET_HDR_LEN : 0, room = q->cap - q->n;
    int n;

    n = floe_offload_split(&t->pend, t->pkt + hdr, t->pkt_len - hdr, t->pend_next, q->seg + q->n,
                           q->len + q->n, room > INT32_MAX ? INT32_MAX : (int)room);
    if (n <= 0) {
        t->st.rx_bad++; /* a checksum offset only the split sees */
        t->pend_next = t->pend_total = 0;
        return 0;
    }
    t->pend_next += (unsigned)n;
    if (t->pend_next >= t->pend_total)
        t->pend_next = t->pend_total = 0;
    q->n += (size_t)n;
    t->st.rx_segs += (uint64_t)n;
    return n;
}

int floe_io_tun_read(struct floe_io_tun *t, struct floe_io_segq *q)
{
    ssize_t n;
    int got;

    if (!t || !q)
        return FLOE_ERR_INVALID_ARG;
    if (q->n >= q->cap)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    for (;;) {
        if (t->pend_total) {
            got = tun_cut(t, q);
            if (got > 0)
                return got;
            continue;
        }
        n = read(t->fd, t->pkt, TUN_PKT_MAX);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : FLOE_ERR_IO;
        tun_take(t, (size_t)n);
    }
}

/* ----------------------------------------------------------------- write */

/* Write the coalesced packet, if any. */
static int tun_write_gro(struct floe_io_tun *t)
{
    struct iovec iov[FLOE_OFFLOAD_GRO_MAX_SEGS + 1];
    struct floe_offload o;
    uint8_t vnet[VNET_HDR_LEN];
    unsigned segs = t->gro.n;
    int parts = floe_offload_gro_finish(&t->gro, &o), i;
    size_t want = VNET_HDR_LEN;

    if (parts == 0)
        return 0;
    vnet_store(vnet, &o);
    iov[0] = (struct iovec){.iov_base = vnet, .iov_len = VNET_HDR_LEN};
    for (i = 0; i < parts; i++) {
        iov[i + 1] = (struct iovec){.iov_base = (void *)(uintptr_t)t->gro.part[i].ptr,
                                    .iov_len = t->gro.part[i].len};
        want += t->gro.part[i].len;
    }
    t->st.tx_writes++;
    if (writev(t->fd, iov, parts + 1) != (ssize_t)want) {
        t->st.tx_errors++;
        return FLOE_ERR_IO;
    }
    if (segs > 1) {
        t->st.gro_writes++;
        t->st.gro_segs += segs;
    }
    return 0;
}

/* Write one packet alone (a "nothing to do" header in the headroom when there is one). */
static int tun_write_one(struct floe_io_tun *t, uint8_t *pkt, size_t len)
{
    if (t->vnet) {
        pkt -= VNET_HDR_LEN;
        len += VNET_HDR_LEN;
        memset(pkt, 0, VNET_HDR_LEN);
    }
    t->st.tx_writes++;
    if (write(t->fd, pkt, len) != (ssize_t)len) {
        t->st.tx_errors++;
        return FLOE_ERR_IO;
    }
    return 0;
}

int floe_io_tun_write(struct floe_io_tun *t, uint8_t *pkt, size_t len)
{
    int rc;

    if (!t || !pkt)
        return FLOE_ERR_INVALID_ARG;
    t->st.tx_segs++;
    if (len == 0 || len > 65535 || (pkt[0] >> 4 != 4 && pkt[0] >> 4 != 6)) {
        t->st.tx_bad++;
        return FLOE_ERR_INVALID_ARG;
    }
    if (!t->vnet)
        return tun_write_one(t, pkt, len);
    if (floe_offload_gro_add(&t->gro, pkt, len))
        return 0;
    rc = tun_write_gro(t);
    if (floe_offload_gro_add(&t->gro, pkt, len))
        return rc;
    return tun_write_one(t, pkt, len) ? FLOE_ERR_IO : rc;
}

int floe_io_tun_flush(struct floe_io_tun *t)
{
    if (!t)
        return FLOE_ERR_INVALID_ARG;
    return tun_write_gro(t);
}
