/*
 * The platform-independent part of the batched UDP drivers: destination addresses (with
 * IPv4-mapped IPv6 for dual-stack sockets), GSO runs, and splitting a coalesced (GRO/URO)
 * message back into its datagrams. Shared by io/linux/ and io/windows/.
 */
#include <string.h>

#include "io_int.h"

void floe__io_sockaddr(const struct floe_io_sender *s, const struct floe_addr *a,
                       struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

    if (!s->v4mapped || a->family != FLOE_AF_INET) {
        if (floe_io_addr_to_sockaddr(a, ss, len) < 0)
            *len = 0;
        return;
    }
    memset(s6, 0, sizeof(*s6));
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(a->port);
    s6->sin6_addr.s6_addr[10] = s6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&s6->sin6_addr.s6_addr[12], a->ip, 4);
    *len = sizeof(*s6);
}

size_t floe__io_gso_run(const struct floe_io_sender *s, const struct floe_io_dgram *d, size_t i,
                        size_t left)
{
    size_t j = i + 1, bytes = d[i].len;

    if (!s->gso)
        return 1;
    while (j < i + left && j - i < FLOE_IO_GSO_SEGS && bytes + d[j].len <= FLOE_IO_GSO_BYTES &&
           d[j].len <= d[i].len && floe_addr_eq(&d[j].dst, &d[i].dst)) {
        bytes += d[j].len;
        j++;
        if (d[j - 1].len < d[i].len)
            break; /* a shorter datagram ends a run */
    }
    return j - i;
}

void floe__io_split(struct floe_io_recv_stats *st, struct floe_io_rx_dgram *dg, size_t *n,
                    size_t cap, uint8_t *p, size_t len, size_t seg, const struct floe_addr *from)
{
    size_t off = 0;

    if (seg == 0 || seg >= len)
        seg = len;
    st->coalesced += seg < len;
    do {
        struct floe_io_rx_dgram *d;

        if (*n == cap) {
            st->truncated++; /* more segments than GRO ever coalesces */
            return;
        }
        d = &dg[(*n)++];
        d->buf = p + off;
        d->len = len - off < seg ? len - off : seg;
        d->from = *from;
        memset(&d->local, 0, sizeof(d->local));
        off += d->len;
        st->received++;
    } while (off < len);
}
