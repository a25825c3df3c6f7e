/*
 * floe-wg: a userspace WireGuard interface. One thread runs one epoll loop over the TUN
 * device, the UDP socket, the UAPI socket (the cross-platform configuration protocol that
 * `wg` speaks), a timerfd for the sans-IO device and an rtnetlink socket that tells when
 * the TUN device goes away.
 *
 * The configuration (private key, port, peers, allowed IPs) lives here; the floe_wg device
 * is built from it and rebuilt when the private key changes. Allowed IPs are a floe_iptrie:
 * longest prefix match of the inner destination picks the peer of an outgoing packet, and
 * the inner source of a decrypted packet must map back to the peer it came from. The TUN
 * device, its offloads and the packet queues are the library's shared data path (floe_io.h).
 */
#ifndef FLOE_WGD_H
#define FLOE_WGD_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "floe/wg.h"
#include "floe_io.h"
#include "jsonlog.h"

#define WGD_SOCK_DIR "/var/run/wireguard"
#define WGD_DEFAULT_MTU 1420
#define WGD_MAX_PEERS 1024
/* Batches: datagrams per recvmmsg/sendmmsg, TUN reads per wakeup. */
#define WGD_BATCH 64
/* One datagram (a handshake or a data message too short to decrypt in place). */
#define WGD_PKT_MAX 65600
/* The largest plain packet sent or queued (larger ones are dropped). */
#define WGD_SEG_MAX FLOE_IO_SEG_MAX
/* Segments of one TUN super-packet encrypted at once (a longer one goes in several runs). */
#define WGD_MAX_SEGS 128
/* Plain segments waiting to be encrypted together (at least two super-packets). */
#define WGD_SEGS 256
/* Pending outgoing datagrams: every waiting segment can become one. */
#define WGD_TX_SLOTS WGD_SEGS
/* Received datagrams decrypted together. */
#define WGD_RX_ITEMS 512
/* Handshake messages a second above which the device is under load (cookie replies). */
#define WGD_LOAD_HANDSHAKES_PER_S 200
/* Cookie replies waiting at once (one receive batch's worth from many sources). */
#define WGD_COOKIE_REPLIES 128
/* Crypto lanes at most (floe-wg --threads). */
#define WGD_MAX_THREADS FLOE_WG_MAX_LANES
#define WGD_UAPI_LINE_MAX 4096
#define WGD_UAPI_MAX_CONNS 16

/* ------------------------------------------------------------------ options */

struct wgd_opts {
    char ifname[IFNAMSIZ];
    bool foreground;
    const char *log_file; /* NULL: stderr */
    enum floe_log_level log_level;
    bool no_offload;     /* plain TUN: no IFF_VNET_HDR, no UDP GSO/GRO */
    unsigned threads;    /* crypto lanes, the loop's thread included; 0: one per online CPU */
    unsigned clock_rate; /* FLOE_WG_TEST_CLOCK_RATE (tests only): device time runs N times */
};

/* The largest FLOE_WG_TEST_CLOCK_RATE. */
#define WGD_MAX_CLOCK_RATE 1000

/*
 * Parse argv (and WG_PROCESS_FOREGROUND, FLOE_WG_TEST_CLOCK_RATE) into o. Returns 0, 1 after
 * --help/--version (printed) or -1 with a message in err[0..cap).
 */
int wgd_parse_args(int argc, char **argv, struct wgd_opts *o, char *err, size_t cap);

struct wgd_peer;

/* ------------------------------------------------------------------- state */

struct wgd_peer {
    struct wgd_peer *next;
    uint8_t pub[FLOE_WG_KEY_LEN];
    bool has_psk;
    uint8_t psk[FLOE_WG_KEY_LEN];
    struct floe_addr endpoint; /* configured; the device's view wins once it exists */
    uint16_t keepalive;
    struct floe_wg_peer *wp; /* the device's peer; NULL while there is no private key */
};

/* A UAPI client connection: a line buffer and the state of the operation in progress. */
struct wgd_conn {
    int fd;
    char line[WGD_UAPI_LINE_MAX];
    size_t len;
    int op;                /* 0 none, 'g' get (waiting for the blank line), 's' set */
    int err;               /* set: the first error (positive errno) */
    struct wgd_peer *peer; /* set: the peer section in progress */
    bool peer_created, peer_skip;
};

/* Packets dropped, per reason; logged on SIGUSR1 and at exit. */
struct wgd_stats {
    uint64_t no_route;   /* TUN packet: no peer (or no session key) for its destination */
    uint64_t encap_fail; /* the device refused to encrypt (no room, no peer endpoint) */
    uint64_t bad_source; /* decrypted packet whose source is not its peer's */
};

struct wgd {
    struct wgd_opts opts;
    struct floe_jsonlog log;
    int ifindex;
    struct floe_io_tun *tun; /* the TUN device: offloads, GSO split, GRO coalescing */
    int udp_fd, uapi_fd, ep_fd, timer_fd, nl_fd, sig_fd;
    struct floe_io_sender udp_tx; /* UDP GSO, v4-mapped destinations, send counters */
    bool udp_v6;                  /* the socket is a dual-stack IPv6 one */
    bool stop;
    int exit_code;

    /* Configuration. */
    bool has_key;
    uint8_t priv[FLOE_WG_KEY_LEN], pub[FLOE_WG_KEY_LEN];
    uint16_t listen_port; /* the bound port */
    uint32_t fwmark;
    struct wgd_peer *peers;
    unsigned n_peers;
    struct floe_iptrie aip; /* allowed IPs: prefix -> struct wgd_peer */
    struct floe_wg *dev;
    floe_time timer_at;
    floe_time clock_base; /* wgd_now: where a sped-up test clock starts */

    struct wgd_conn *conns[WGD_UAPI_MAX_CONNS];
    struct floe_io_pool *pool; /* the crypto workers, lent to the device */

    /* Datapath buffers. */
    struct floe_io_receiver udp_rx; /* WGD_BATCH messages (UDP GRO split) per read */
    uint8_t *plain;                 /* scratch for the device (after FLOE_IO_TUN_HEADROOM) */
    struct floe_io_segq segq;       /* WGD_SEGS plain segments to encrypt, tagged with their peer */
    struct floe_wg_encap *encap;    /* WGD_SEGS items of the encryption batch */
    struct floe_wg_decap *decap;    /* WGD_RX_ITEMS items of the decryption batch */
    unsigned n_decap;
    struct floe_io_txq txq; /* WGD_TX_SLOTS pending datagrams */
    struct wgd_stats stats;
};

/* ------------------------------------------------------------ device (dev.c) */

/* (Re)build the floe_wg device from the configuration. Returns 0 or a FLOE_ERR_*. */
int wgd_dev_rebuild(struct wgd *d, floe_time now);
/* Add a configured peer to the device (when there is one). Returns 0 or a FLOE_ERR_*. */
int wgd_dev_add_peer(struct wgd *d, struct wgd_peer *p, floe_time now);
/* A new peer with public key pub, or NULL (out of memory, too many). */
struct wgd_peer *wgd_peer_new(struct wgd *d, const uint8_t pub[FLOE_WG_KEY_LEN]);
/* The configured peer with public key pub, or NULL. */
struct wgd_peer *wgd_peer_find(const struct wgd *d, const uint8_t pub[FLOE_WG_KEY_LEN]);
/* Remove a peer: its allowed IPs, its device peer, its memory. */
void wgd_peer_remove(struct wgd *d, struct wgd_peer *p);
/* Remove every peer. */
void wgd_peers_clear(struct wgd *d);
/* The peer's current endpoint. */
struct floe_addr wgd_peer_endpoint(const struct wgd_peer *p);

/* ----------------------------------------------------------- UAPI (uapi.c) */

/*
 * Feed one line (without its newline) of a UAPI client to the protocol. A complete get or
 * set writes its answer to out. Returns 0, or -1 when the connection must be closed (an
 * unknown operation; its errno answer is written).
 */
int wgd_uapi_line(struct wgd *d, struct wgd_conn *c, const char *line, FILE *out, floe_time now);
/* Open the UAPI socket WGD_SOCK_DIR/IFNAME.sock. Returns the fd or -errno. */
int wgd_uapi_listen(const char *ifname);
/* Remove the socket file. */
void wgd_uapi_unlink(const char *ifname);

/* ------------------------------------------------------------ sockets (net.c) */

/* Open the UDP socket on port (0: any), with fwmark; d->listen_port gets the bound port. */
int wgd_udp_open(struct wgd *d, uint16_t port);
/* Send every pending datagram in d->tx (GSO when possible); empties it. */
void wgd_udp_flush(struct wgd *d);
/* Read and process datagrams until the socket is empty (or a fairness bound). */
void wgd_udp_input(struct wgd *d, floe_time now);

/* ------------------------------------------------------------------ TUN (tun.c) */

/* Open the TUN device (offloads unless no_offload) with WGD_DEFAULT_MTU. */
int wgd_tun_open(struct wgd *d);
/* Read and process packets from the TUN device until it is empty (or a fairness bound). */
void wgd_tun_input(struct wgd *d, floe_time now);
/* Open an rtnetlink socket for link events. Returns the fd or -errno. */
int wgd_netlink_open(void);
/* Read link events; set d->stop when our device was deleted. */
void wgd_netlink_input(struct wgd *d);

/* ---------------------------------------------------------- datapath (loop.c) */

/* epoll tags: what a ready descriptor is. */
enum wgd_tag {
    WGD_TAG_TUN = 1,
    WGD_TAG_UDP,
    WGD_TAG_UAPI,
    WGD_TAG_TIMER,
    WGD_TAG_NETLINK,
    WGD_TAG_SIGNAL,
    WGD_TAG_CONN, /* + the connection's slot */
};

/* Watch fd for input under tag. Returns 0 or -1. */
int wgd_epoll_add(struct wgd *d, int fd, uint32_t tag);
/*
 * Queue datagram p[0..len) from `from` for decryption (in place: p is the receive buffer).
 * Decrypted in batches by wgd_recv_flush, which must run before the buffer is reused.
 */
void wgd_recv_datagram(struct wgd *d, const struct floe_addr *from, uint8_t *p, size_t len,
                       floe_time now);
/* Decrypt the queued datagrams; deliver each packet whose source belongs to its peer. */
void wgd_recv_flush(struct wgd *d, floe_time now);
/*
 * Route the n segments just appended to d->segq (one packet, or a run of one super-packet:
 * one destination) to their peer; segments without one are dropped (no_route).
 */
void wgd_send_segments(struct wgd *d, unsigned n);
/* Encrypt the waiting segments (in parallel on the pool) into pending datagrams. */
void wgd_send_flush(struct wgd *d, floe_time now);
/* Drain the device: transmits, events; re-arm the timer. */
void wgd_dev_drain(struct wgd *d, floe_time now);
/* Log the drop counters at info level. */
void wgd_stats_log(struct wgd *d);
/* Run the epoll loop until stopped. Returns the exit code. */
int wgd_run(struct wgd *d);
/*
 * The device's time: the suspend-aware clock, or with FLOE_WG_TEST_CLOCK_RATE N, a clock
 * that runs N times as fast from the first call on (tests reach REKEY_AFTER_TIME sooner).
 */
floe_time wgd_now(struct wgd *d);

#endif
