/*
 * wg_flood: a handshake flood for the netns tests. Sends WireGuard initiations that carry a
 * valid mac1 for the victim's public key (what anyone who knows the key can make) and a
 * random body, at a fixed rate, with sendmmsg from a chosen source address.
 *
 *   wg_flood SRC_IP DST_IP:PORT PUBKEY_BASE64 PACKETS_PER_SECOND SECONDS
 *
 * Exits 0 after SECONDS, printing how many initiations it sent; 2 on bad arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "floe/crypto.h"
#include "floe/wg.h"
#include "floe_io.h"

#define FLOOD_BURST 64
#define FLOOD_TICK_NS 1000000ull /* a burst every millisecond */

struct flood {
    int fd;
    struct sockaddr_storage dst;
    socklen_t dst_len;
    uint8_t mac1_key[32];
    uint8_t msg[FLOOD_BURST][FLOE_WG_INITIATION_LEN];
    uint64_t sent, counter;
};

static uint64_t flood_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A fresh initiation in slot i: new sender index and body, a valid mac1, no mac2. */
static void flood_make(struct flood *f, unsigned i)
{
    uint8_t *m = f->msg[i];
    uint64_t x = ++f->counter * 0x9e3779b97f4a7c15ull;
    unsigned k;

    for (k = 8; k < 116; k += 8) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        memcpy(m + k, &x, k + 8 <= 116 ? 8 : 116 - k);
    }
    floe_store_le32(m, FLOE_WG_MSG_INITIATION);
    floe_store_le32(m + 4, (uint32_t)f->counter);
    memset(m + 132, 0, 16);
    if (floe_blake2s_mac(m + 116, f->mac1_key, 32, m, 116) != 0)
        memset(m + 116, 0, 16);
}

/* Send n fresh initiations; false when the socket refused them (full: try next tick). */
static bool flood_burst(struct flood *f, unsigned n)
{
    struct mmsghdr mm[FLOOD_BURST];
    struct iovec iov[FLOOD_BURST];
    unsigned i;
    int r;

    memset(mm, 0, sizeof(mm));
    for (i = 0; i < n; i++) {
        flood_make(f, i);
        iov[i] = (struct iovec){.iov_base = f->msg[i], .iov_len = FLOE_WG_INITIATION_LEN};
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
        mm[i].msg_hdr.msg_name = &f->dst;
        mm[i].msg_hdr.msg_namelen = f->dst_len;
    }
    r = sendmmsg(f->fd, mm, n, 0);
    if (r <= 0)
        return false;
    f->sent += (uint64_t)r;
    return true;
}

static int flood_setup(struct flood *f, char **argv)
{
    struct floe_addr src, dst;
    struct sockaddr_storage ss;
    socklen_t len;
    uint8_t pub[32];
    struct floe_span p[2];

    if (floe_addr_parse_ip(argv[1], &src) != 0 || floe_addr_parse(argv[2], &dst) != 0 ||
        floe_base64_decode(pub, sizeof(pub), argv[3], strlen(argv[3])) != 32)
        return -1;
    p[0] = floe_span_make(FLOE_WG_LABEL_MAC1, 8);
    p[1] = floe_span_make(pub, 32);
    floe_blake2s_hash(f->mac1_key, p, 2);
    if (floe_io_addr_to_sockaddr(&dst, &f->dst, &f->dst_len) != 0 ||
        floe_io_addr_to_sockaddr(&src, &ss, &len) != 0)
        return -1;
    f->fd = socket(ss.ss_family, SOCK_DGRAM, 0);
    if (f->fd < 0 || bind(f->fd, (struct sockaddr *)&ss, len) != 0) {
        fprintf(stderr, "wg_flood: socket: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct flood f;
    struct timespec tick = {0, (long)FLOOD_TICK_NS};
    uint64_t start, elapsed, due, secs_ns;
    unsigned long pps, secs;

    if (argc != 6 || (pps = strtoul(argv[4], NULL, 10)) == 0 ||
        (secs = strtoul(argv[5], NULL, 10)) == 0 || flood_setup(&f, argv) != 0) {
        fprintf(stderr, "usage: wg_flood SRC_IP DST_IP:PORT PUBKEY_BASE64 PPS SECONDS\n");
        return 2;
    }
    start = flood_now();
    secs_ns = (uint64_t)secs * 1000000000ull;
    while ((elapsed = flood_now() - start) < secs_ns) {
        due = (uint64_t)pps * (elapsed / 1000) / 1000000; /* packets due by now */
        while (f.sent < due) {
            uint64_t n = due - f.sent;

            if (!flood_burst(&f, n > FLOOD_BURST ? FLOOD_BURST : (unsigned)n))
                break;
        }
        nanosleep(&tick, NULL);
    }
    printf("%llu\n", (unsigned long long)f.sent);
    close(f.fd);
    return 0;
}
