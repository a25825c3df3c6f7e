/*
 * floe_io: the I/O layer, the only library code that touches the OS (DESIGN.md section 2,
 * layer "io"). One interface, one implementation per platform: io/linux/ (epoll, recvmmsg,
 * GSO/GRO, io_uring) and io/windows/ (Winsock 2: WSARecvMsg/WSASendMsg, USO/URO); the files
 * directly in io/ are shared. Programs include "floe_io.h"; the header lives in src/io because it
 * exposes sockaddr types the core never sees, and the floe_io CMake target puts this directory on
 * its users' include path.
 *
 * Sockets are ints on both platforms (a Windows SOCKET handle fits in 32 bits; -1 is none).
 * Errors are negative FLOE_ERR_* values; after FLOE_ERR_IO, errno (Linux) or
 * WSAGetLastError() (Windows) tells why. Linux only: io_uring.
 */
#ifndef FLOE_IO_H
#define FLOE_IO_H

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#endif

#include "floe/core.h"
#include "floe/iptrie.h"
#include "floe/offload.h"

/* UDP segmentation offload socket options (linux/udp.h), for libcs that lack them. */
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

/*
 * Suspend-aware monotonic time in nanoseconds: CLOCK_BOOTTIME on Linux; on Windows the
 * interrupt time (QueryInterruptTimePrecise, Windows 10), or QueryPerformanceCounter where
 * the OS lacks it (Wine).
 */
floe_time floe_io_now(void);

/*
 * Fill out[0..len) with random bytes from the OS (getrandom on Linux, BCryptGenRandom on
 * Windows). Returns 0, FLOE_ERR_INVALID_ARG (out NULL with len > 0) or FLOE_ERR_IO.
 */
int floe_io_random(uint8_t *out, size_t len);

/*
 * floe_addr -> sockaddr_in or sockaddr_in6 in *ss, its length in *len.
 * Returns 0, FLOE_ERR_INVALID_ARG or FLOE_ERR_ADDR_FAMILY.
 */
int floe_io_addr_to_sockaddr(const struct floe_addr *a, struct sockaddr_storage *ss,
                             socklen_t *len);
/*
 * sockaddr_in or sockaddr_in6 (len bytes at sa) -> floe_addr. IPv6 scope ids
 * are dropped; an IPv4-mapped IPv6 address (::ffff:a.b.c.d, the IPv4 peer of a dual-stack
 * socket) comes out as the IPv4 address. Returns 0, FLOE_ERR_INVALID_ARG or
 * FLOE_ERR_ADDR_FAMILY.
 */
int floe_io_addr_from_sockaddr(struct floe_addr *out, const struct sockaddr *sa, socklen_t len);

/*
 * Split "HOST:PORT" or "[V6]:PORT" into host (brackets removed, NUL-terminated
 * in host[0..host_cap)) and the port (decimal 0..65535). A bare IPv6 address
 * without brackets is ambiguous and rejected.
 * Returns 0, FLOE_ERR_INVALID_ARG (NULL) or FLOE_ERR_ADDR_PARSE.
 */
int floe_io_split_hostport(const char *s, char *host, size_t host_cap, uint16_t *port);

/*
 * Resolve "HOST:PORT", "[V6]:PORT" or "IPv4:PORT" to one address. Literals are
 * parsed without the resolver; names go to getaddrinfo and the first result of
 * the wanted family is used (family FLOE_AF_NONE: any, in the resolver's order).
 * Returns 0, FLOE_ERR_INVALID_ARG, FLOE_ERR_ADDR_PARSE (syntax: bad port,
 * empty host, bad literal, bad characters) or FLOE_ERR_RESOLVE (no such name,
 * no address of that family, resolver failure).
 */
int floe_io_resolve(const char *hostport, enum floe_af family, struct floe_addr *out);

/*
 * Open a non-blocking, close-on-exec UDP socket of bind_addr's family bound to
 * bind_addr (port 0: any port). On Windows also: ICMP resets off (SIO_UDP_CONNRESET) and
 * the local address of received datagrams on (IP_PKTINFO / IPV6_PKTINFO). Returns the descriptor,
 * FLOE_ERR_INVALID_ARG, FLOE_ERR_ADDR_FAMILY or FLOE_ERR_IO.
 */
int floe_io_udp_open(const struct floe_addr *bind_addr);
/* The address fd is bound to. Returns 0 or FLOE_ERR_IO. */
int floe_io_udp_local(int fd, struct floe_addr *out);
/*
 * Send buf[0..len) to `to` as one datagram. Returns 0, FLOE_ERR_INVALID_ARG,
 * FLOE_ERR_ADDR_FAMILY or FLOE_ERR_IO (including a short send).
 */
int floe_io_udp_send(int fd, const struct floe_addr *to, const uint8_t *buf, size_t len);
/*
 * Wait until deadline (floe_io_now() time base) for one datagram and read it
 * into buf (a longer datagram is cut to cap); *from gets its source. Returns
 * the length read, FLOE_ERR_TIMEOUT when the deadline passes first,
 * FLOE_ERR_INVALID_ARG or FLOE_ERR_IO.
 */
long floe_io_udp_recv(int fd, uint8_t *buf, size_t cap, struct floe_addr *from, floe_time deadline);
/* Close fd if it is >= 0. */
void floe_io_close(int fd);

/* One datagram for floe_io_udp_send_batch; buf is borrowed for the call. */
struct floe_io_dgram {
    const uint8_t *buf;
    size_t len;
    struct floe_addr dst;
};

struct floe_io_send_stats {
    uint64_t sent;        /* datagrams the kernel took */
    uint64_t full;        /* dropped: no room in the socket or device queue within wait_ms */
    uint64_t errors;      /* dropped: refused by the kernel (unreachable, too big, ...) */
    uint64_t partial;     /* sendmmsg calls that took only part of a batch (the rest resent) */
    uint64_t waits;       /* times a full socket or device queue was waited for */
    uint64_t gso_refused; /* times the kernel refused UDP GSO (gso is then off) */
};

/* Per-socket settings and counters of floe_io_udp_send_batch; one thread at a time. */
struct floe_io_sender {
    bool gso;      /* send equal-sized runs as UDP GSO; cleared when the kernel refuses it */
    bool v4mapped; /* a dual-stack IPv6 socket: IPv4 destinations go as ::ffff:a.b.c.d */
    int wait_ms;   /* longest one call waits for room before dropping the rest; 0: never */
    struct floe_io_send_stats stats;
#ifdef _WIN32
    bool uso_checked; /* whether the socket was asked once if it takes USO (start false) */
#endif
};

/*
 * Send d[0..n) on the non-blocking UDP socket fd, in order: sendmmsg batches, runs of
 * equal-sized datagrams to one destination as one UDP GSO send (a run's last datagram may
 * be shorter), a partial send resumed, a full socket waited for within s->wait_ms and then
 * the rest dropped, a refused datagram dropped alone. Every datagram is counted in s->stats.
 * Windows: one WSASendMsg per message, a GSO run as USO (UDP_SEND_MSG_SIZE) when the socket
 * takes it, else gso is cleared and gso_refused counted once.
 */
void floe_io_udp_send_batch(struct floe_io_sender *s, int fd, const struct floe_io_dgram *d,
                            size_t n);

/*
 * A pool of worker threads for one calling thread's "parallel for" (the run hook of
 * floe_wg_parallel): the caller runs on lane 0 and lanes - 1 workers on lanes 1.., each
 * taking the next index until none is left. Idle workers sleep on a futex (Windows:
 * WaitOnAddress); a run of fewer than 8 items wakes none (the caller does it, with any
 * worker still awake). One thread calls floe_io_pool_run at a time.
 */
struct floe_io_pool;

/* Start lanes - 1 workers (lanes 1..64). Returns 0 and sets *out, -EINVAL or -errno. */
int floe_io_pool_new(struct floe_io_pool **out, unsigned lanes);
/* Stop and join the workers, free the pool (NULL allowed). */
void floe_io_pool_free(struct floe_io_pool *p);
/* The pool's lanes: workers plus the caller. */
unsigned floe_io_pool_lanes(const struct floe_io_pool *p);
/* Items each lane ran since the pool started (lane < lanes). */
uint64_t floe_io_pool_lane_items(const struct floe_io_pool *p, unsigned lane);
/*
 * Call fn(arg, i, lane) once for every i in [0, n) on the pool's lanes and return when
 * every call has returned. pool is a struct floe_io_pool * (void * to fit the hook).
 */
void floe_io_pool_run(void *pool, uint32_t n, void (*fn)(void *arg, uint32_t i, uint32_t lane),
                      void *arg);
/*
 * One received datagram of floe_io_udp_recv_batch; buf points into the receiver's buffers,
 * which the caller may change in place (decrypt, say) until the next receive.
 */
struct floe_io_rx_dgram {
    uint8_t *buf;
    size_t len;
    struct floe_addr from;
    struct floe_addr local; /* its local address, port 0 (Windows: PKTINFO); else family NONE */
};

struct floe_io_recv_stats {
    uint64_t calls;      /* recvmmsg calls that returned datagrams */
    uint64_t received;   /* datagrams handed out (GRO messages counted per segment) */
    uint64_t coalesced;  /* GRO messages that carried more than one datagram */
    uint64_t truncated;  /* dropped: longer than the buffer (MSG_TRUNC), or too many segments */
    uint64_t bad_source; /* dropped: source address of an unknown family */
    uint64_t stale;      /* io_uring: completions of a cancelled or re-armed request, dropped */
};

/*
 * Batched UDP receives: recvmmsg (Windows: WSARecvMsg per message) into `batch` buffers; with UDP
 * GRO on the socket (floe_io_udp_set_gro) a message can carry several datagrams of one flow, all of
 * the cmsg's segment size but the last, which are split again here. Buffers are
 * big enough for a whole GRO message (64 KiB). One thread at a time.
 */
struct floe_io_receiver {
    size_t batch;
#ifdef _WIN32
    void *msg;           /* WSAMSG[batch] */
    void *iov;           /* WSABUF[batch] */
    unsigned long *n_rx; /* bytes received per message */
#else
    struct mmsghdr *msg;
    struct iovec *iov;
#endif
    struct sockaddr_storage *addr;
    uint8_t *ctrl;               /* batch * FLOE_IO_RX_CTRL bytes */
    uint8_t *buf;                /* batch buffers of FLOE_IO_RX_BUF bytes */
    struct floe_io_rx_dgram *dg; /* the datagrams of the last call */
    size_t n_dg, cap_dg;
    struct floe_io_recv_stats stats;
};

#define FLOE_IO_RX_BUF 65536
#define FLOE_IO_RX_CTRL 64

/*
 * Allocate r's buffers for batch (1..1024) messages. Returns 0, FLOE_ERR_INVALID_ARG or
 * FLOE_ERR_NOMEM (r is then deinit-safe).
 */
int floe_io_receiver_init(struct floe_io_receiver *r, size_t batch);
/* Free r's buffers; safe on a zeroed or failed receiver. */
void floe_io_receiver_deinit(struct floe_io_receiver *r);

/*
 * One recvmmsg (non-blocking) on fd into r; r->dg[0..r->n_dg) are then the datagrams in
 * arrival order, valid until the next call. Returns the messages read (r->batch: there
 * may be more waiting), 0 when none was waiting, or FLOE_ERR_IO (errno set). Truncated
 * messages and unknown source families are dropped and counted.
 */
int floe_io_udp_recv_batch(struct floe_io_receiver *r, int fd);

/*
 * Turn on UDP GRO (UDP_GRO socket option; Windows: URO, UDP_RECV_MAX_COALESCED_SIZE) on fd:
 * the kernel may then hand over several datagrams of one flow as one message, which
 * floe_io_udp_recv_batch splits. Returns 0 or FLOE_ERR_IO (an older kernel, or Wine;
 * nothing changed).
 */
int floe_io_udp_set_gro(int fd);

/*
 * Give fd a receive and a send buffer of `bytes` each (the kernel books twice that): on
 * Linux SO_RCVBUFFORCE/SO_SNDBUFFORCE (CAP_NET_ADMIN), else SO_RCVBUF/SO_SNDBUF, which the
 * kernel caps at net.core.rmem_max/wmem_max; on Windows SO_RCVBUF/SO_SNDBUF. A data path's
 * socket needs room for a whole round trip's bursts: the default (about 200 KiB) overflows
 * under one UDP GRO/GSO burst and drops tunnel packets (nstat UdpRcvbufErrors). Returns 0
 * when both were set, FLOE_ERR_INVALID_ARG (fd < 0, bytes <= 0) or FLOE_ERR_IO.
 */
int floe_io_udp_set_buffers(int fd, int bytes);
/*
 * Datagrams the kernel dropped on fd's way in so far (its receive queue full: the socket's
 * share of nstat UdpRcvbufErrors), read with SO_MEMINFO. Returns the count (>= 0),
 * FLOE_ERR_INVALID_ARG (fd < 0), FLOE_ERR_IO or FLOE_ERR_UNSUPPORTED (Windows: no such count).
 */
long floe_io_udp_drops(int fd);

/*
 * io_uring UDP driver (io/uring.c; the real one when floe_io was built with liburing,
 * FLOE_IO_HAVE_URING, else every call fails with FLOE_ERR_UNSUPPORTED). Receives are
 * multishot recvmsg requests into a ring of provided buffers (one completion per datagram
 * or UDP GRO message, split like floe_io_udp_recv_batch); sends are sendmsg requests, UDP
 * GSO runs like floe_io_udp_send_batch, for any number of sockets in one io_uring_enter.
 * One thread only: the thread that calls floe_io_uring_new must make every other call.
 */
struct floe_io_uring;

/*
 * One completion of a receive or poll request, from floe_io_uring_next. Only completions of
 * the request armed last on an fd come out: those of a request that was cancelled or armed
 * again since (a released port whose fd number was reused) are dropped and counted (stale).
 */
struct floe_io_uring_event {
    uint32_t tag; /* the caller's tag given when the request was armed */
    int fd;
    bool poll;  /* a floe_io_uring_poll completion (fd readable), else a receive */
    bool ended; /* the multishot request stopped; arm it again if fd is still wanted */
    int err;    /* 0, or the negative errno the request ended with */
    const struct floe_io_rx_dgram *dg; /* the datagrams received, valid until the next call */
    size_t n_dg;
};

/*
 * Two rings (receives, sends) and n_bufs (a power of two, 8..4096) provided buffers of
 * payload bytes each (65536 for UDP GRO). Returns 0, FLOE_ERR_INVALID_ARG,
 * FLOE_ERR_NOMEM, FLOE_ERR_UNSUPPORTED (built without liburing) or FLOE_ERR_IO (the
 * kernel refused io_uring; errno tells why). *out is NULL on failure.
 */
int floe_io_uring_new(struct floe_io_uring **out, size_t payload, unsigned n_bufs);
void floe_io_uring_free(struct floe_io_uring *u);
/*
 * Queue a multishot receive on fd (submitted by the next wait); it replaces any request
 * armed on fd before, whose completions are dropped from now on. 0, FLOE_ERR_INVALID_ARG
 * (fd negative or above 2^31), FLOE_ERR_NOMEM, FLOE_ERR_IO.
 */
int floe_io_uring_recv(struct floe_io_uring *u, int fd, uint32_t tag);
/* Queue a multishot POLLIN on fd (an eventfd to wake the loop). Same returns as recv. */
int floe_io_uring_poll(struct floe_io_uring *u, int fd, uint32_t tag);
/*
 * Cancel the receive armed on fd with tag, now: once this returns the request holds no
 * reference to fd, so closing fd releases its port. Its completions still in the ring are
 * dropped (stale). 0, FLOE_ERR_NOT_FOUND (no request with tag on fd), FLOE_ERR_IO.
 */
int floe_io_uring_cancel(struct floe_io_uring *u, int fd, uint32_t tag);
/*
 * Submit what is queued and wait until a completion is ready or timeout_ms passes
 * (-1: no limit). With batch > 1 and linger > 0 (nanoseconds) it first waits for batch
 * completions for at most linger, so that a busy loop wakes once per batch rather than
 * once per datagram; what came within linger is returned then. Returns 0 or FLOE_ERR_IO.
 */
int floe_io_uring_wait(struct floe_io_uring *u, int timeout_ms, unsigned batch, floe_time linger);
/* The next completion into *ev without waiting: 1, or 0 when none is ready. */
int floe_io_uring_next(struct floe_io_uring *u, struct floe_io_uring_event *ev);
/*
 * Queue d[0..n) for fd as sendmsg requests (equal-sized runs to one destination as one
 * UDP GSO message when s->gso). d[].buf must stay valid until floe_io_uring_flush returns.
 * Results are counted in s->stats by the flush; a full socket drops (s->wait_ms is not
 * used), a refused GSO message drops its datagrams and turns s->gso off.
 */
void floe_io_uring_send_batch(struct floe_io_uring *u, struct floe_io_sender *s, int fd,
                              const struct floe_io_dgram *d, size_t n);
/* Submit the queued sends in one call and wait for all their completions. */
void floe_io_uring_flush(struct floe_io_uring *u);
/* The receive counters (as floe_io_udp_recv_batch keeps them). */
void floe_io_uring_recv_stats(const struct floe_io_uring *u, struct floe_io_recv_stats *out);

/* ================================================================ the shared data path
 *
 * floe-wg, floe-client and floe-gateway move packets the same way:
 *   out: floe_io_tun_read -> segments in a floe_io_segq, each tagged with its route (a
 *        floe_iptrie lookup) -> the caller's encrypt batch (floe_wg_encapsulate_batch or
 *        floe_node_encapsulate_batch) into floe_io_txq slots -> floe_io_txq_flush (UDP GSO);
 *   in:  floe_io_udp_recv_batch (UDP GRO split) -> the caller's decrypt batch, in place ->
 *        allowed-source check -> floe_io_tun_write (TCP segments coalesced) ->
 *        floe_io_tun_flush before the receive buffers are reused.
 * The queues and the TUN calls are the same on every platform; only the driver behind
 * struct floe_io_tun differs (io/linux/tun.c; io/windows/tun.c, Wintun).
 */

/* The largest plain packet read from or written to a TUN device (larger: dropped). */
#define FLOE_IO_SEG_MAX FLOE_OFFLOAD_SEG_MAX
/*
 * Room for one datagram made of a FLOE_IO_SEG_MAX packet: padding, WireGuard, TURN framing
 * (FLOE_NODE_OVERHEAD; checked at compile time in io/queue.c).
 */
#define FLOE_IO_TX_MAX (FLOE_IO_SEG_MAX + 128)
/* Writable bytes a caller leaves before every packet given to floe_io_tun_write. */
#define FLOE_IO_TUN_HEADROOM 16

/*
 * Plain segments waiting to be encrypted together: seg[i][0..len[i]) for i < n, each with
 * the caller's route tag[i] (a peer, a connection). Filled by floe_io_tun_read, emptied by
 * the caller (n = 0) once its encrypt batch has run. One thread at a time.
 */
struct floe_io_segq {
    uint8_t (*seg)[FLOE_IO_SEG_MAX];
    size_t *len;
    void **tag;
    size_t n, cap;
};

/* Allocate q for cap (1..65536) segments. Returns 0, FLOE_ERR_INVALID_ARG or FLOE_ERR_NOMEM. */
int floe_io_segq_init(struct floe_io_segq *q, size_t cap);
/* Free q's buffers; safe on a zeroed or failed queue. */
void floe_io_segq_deinit(struct floe_io_segq *q);
/* Free slots left in q. */
size_t floe_io_segq_room(const struct floe_io_segq *q);

/* One outgoing datagram of a floe_io_txq. */
struct floe_io_tx {
    uint8_t buf[FLOE_IO_TX_MAX];
    size_t len;
    struct floe_addr dst;
};

/*
 * Outgoing datagrams sent in order by one floe_io_udp_send_batch: tx[0..n). A producer
 * writes into floe_io_txq_slot()'s buffer and commits it with floe_io_txq_push; an encrypt
 * batch may write into tx[n..cap) directly and then push them in order. One thread at a time.
 */
struct floe_io_txq {
    struct floe_io_tx *tx;
    struct floe_io_dgram *dg; /* scratch for the send */
    size_t n, cap;
};

/* Allocate q for cap (1..65536) datagrams. Returns 0, FLOE_ERR_INVALID_ARG or FLOE_ERR_NOMEM. */
int floe_io_txq_init(struct floe_io_txq *q, size_t cap);
/* Free q's buffers; safe on a zeroed or failed queue. */
void floe_io_txq_deinit(struct floe_io_txq *q);
/* Free slots left in q. */
size_t floe_io_txq_room(const struct floe_io_txq *q);
/* The next free slot, or NULL when q is full (flush first). */
struct floe_io_tx *floe_io_txq_slot(struct floe_io_txq *q);
/*
 * Commit the next slot (q->tx[q->n]) as a datagram of len bytes to dst; its bytes are
 * copied from buf unless buf is the slot's own buffer. Returns 0, FLOE_ERR_INVALID_ARG
 * (q full, len over FLOE_IO_TX_MAX).
 */
int floe_io_txq_push(struct floe_io_txq *q, const uint8_t *buf, size_t len,
                     const struct floe_addr *dst);
/*
 * Send tx[0..n) on the UDP socket fd with floe_io_udp_send_batch (GSO runs, bounded waits,
 * counted in s->stats) and empty q. fd < 0: the datagrams are dropped (q emptied).
 */
void floe_io_txq_flush(struct floe_io_txq *q, struct floe_io_sender *s, int fd);

/* ------------------------------------------------------------------- TUN device
 *
 * A layer-3 tunnel interface (Linux: /dev/net/tun, io/linux/tun.c; Windows: Wintun,
 * io/windows/tun.c). Packets are plain IPv4/IPv6 packets without any link header. With
 * offloads (Linux: IFF_VNET_HDR, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) a read may bring a TCP
 * super-packet, which floe_io_tun_read cuts into segments (floe_offload_split), and writes
 * coalesce TCP segments of one flow into one super-packet (floe_offload_gro); the driver's
 * header format never leaves the driver. A driver without offloads reads and writes one
 * packet per call through the same calls. One thread at a time per device.
 */
struct floe_io_tun;

struct floe_io_tun_config {
    const char *name; /* the interface name (Linux: at most 15 bytes; created if missing) */
    unsigned mtu;     /* MTU to set (576..65535); 0: leave the OS's */
    bool no_offload;  /* plain packets only: no segmentation or checksum offloads */
    /* Windows: the network calls that set the MTU (const struct floe_io_win_netcfg *,
     * floe_io_win.h; a test's double), NULL: IP Helper's. Ignored on Linux. Borrowed: it
     * outlives the device. */
    const void *netcfg;
};

/* Counters of one device since it was opened. */
struct floe_io_tun_stats {
    uint64_t rx_packets; /* packets read (a super-packet counts once) */
    uint64_t rx_segs;    /* plain segments handed out by floe_io_tun_read */
    uint64_t rx_bad;     /* dropped: a malformed offload header or headers to split */
    uint64_t rx_too_big; /* dropped: a plain packet over FLOE_IO_SEG_MAX */
    uint64_t tx_segs;    /* packets given to floe_io_tun_write */
    uint64_t tx_writes;  /* writes to the device */
    uint64_t tx_errors;  /* writes that failed or were short (their packets are lost) */
    uint64_t tx_bad;     /* refused by floe_io_tun_write: too long, no IP header */
    uint64_t gro_writes; /* writes of more than one coalesced segment */
    uint64_t gro_segs;   /* segments in them */
};

/*
 * Open (creating it when missing) the TUN interface cfg->name, non-blocking, with offloads
 * unless cfg->no_offload (when the OS refuses them the device works without: see
 * floe_io_tun_has_offload), and set its MTU when cfg->mtu is not 0. The interface is not
 * brought up (floe_io_link_set, or the caller's tool). Returns 0 and sets *out,
 * FLOE_ERR_INVALID_ARG (NULL, an empty or too long name, a bad MTU), FLOE_ERR_NOMEM,
 * FLOE_ERR_UNSUPPORTED (no TUN driver on this system) or FLOE_ERR_IO (the OS refused: errno
 * / GetLastError() tells why, EPERM without CAP_NET_ADMIN). *out is NULL on failure.
 */
int floe_io_tun_open(struct floe_io_tun **out, const struct floe_io_tun_config *cfg);
/* Close the device (the OS removes a non-persistent interface) and free t (NULL allowed). */
void floe_io_tun_free(struct floe_io_tun *t);
/* The interface's name. */
const char *floe_io_tun_name(const struct floe_io_tun *t);
/* The interface's index (Linux ifindex, Windows interface index; 0 unknown). */
unsigned floe_io_tun_ifindex(const struct floe_io_tun *t);
/*
 * Whether the OS took segmentation offload: reads may bring super-packets. (Writes coalesce
 * whenever offloads were asked for: the OS takes super-packets written to it either way.)
 */
bool floe_io_tun_has_offload(const struct floe_io_tun *t);
/*
 * What to wait on for readability: Linux the device's file descriptor (epoll, poll),
 * Windows the Wintun read-wait event HANDLE (WaitForMultipleObjects), as an intptr_t.
 */
intptr_t floe_io_tun_wait_handle(const struct floe_io_tun *t);
/* Set the MTU (576..65535). Returns 0, FLOE_ERR_INVALID_ARG or FLOE_ERR_IO. */
int floe_io_tun_set_mtu(struct floe_io_tun *t, unsigned mtu);

/*
 * Read at most one packet and append its plain IP segments to q (q->seg[q->n..]), as many
 * as q has room for: the rest of a super-packet stays in t and comes first on the next
 * call (IP IDs and sequence numbers continuing), before any new packet is read. The
 * segments appended by one call belong to one packet (one destination: route them once);
 * their tags are left for the caller to set. Malformed and too long packets are dropped,
 * counted, and the next packet read instead. Returns the number appended (>= 1), 0 when no
 * packet is waiting, FLOE_ERR_BUFFER_TOO_SMALL when q is full, or FLOE_ERR_IO (the device
 * failed or went away: Linux errno EBADFD when the interface was deleted; stop using t).
 */
int floe_io_tun_read(struct floe_io_tun *t, struct floe_io_segq *q);

/*
 * Give the device the IP packet pkt[0..len) (len <= 65535). With offloads a TCP segment
 * that continues the packet being coalesced joins it, else the coalesced packet is
 * written and pkt starts the next one or is written alone. pkt is borrowed until
 * floe_io_tun_flush returns: its bytes and the FLOE_IO_TUN_HEADROOM bytes before it
 * (scratch for the driver's header) must stay the caller's and untouched until then.
 * Returns 0, FLOE_ERR_INVALID_ARG (refused: counted in tx_bad) or FLOE_ERR_IO (a write
 * failed: counted; the device may be gone).
 */
int floe_io_tun_write(struct floe_io_tun *t, uint8_t *pkt, size_t len);
/*
 * Write the packet being coalesced, if any; after it no borrowed packet is referenced.
 * Returns 0 or FLOE_ERR_IO (counted).
 */
int floe_io_tun_flush(struct floe_io_tun *t);
/* Copy the device's counters into *out. */
void floe_io_tun_stats(const struct floe_io_tun *t, struct floe_io_tun_stats *out);

/*
 * Set the fwmark (Linux SO_MARK) of socket fd, so that policy routing can keep the
 * tunnel's own datagrams out of the tunnel; 0 clears it. Returns 0, FLOE_ERR_IO (errno:
 * EPERM without CAP_NET_ADMIN) or FLOE_ERR_UNSUPPORTED (Windows: no such thing).
 */
int floe_io_udp_set_mark(int fd, uint32_t mark);

/* ================================================ Linux only: rtnetlink (io/linux/netlink.c)
 *
 * Interface addresses, routes, policy rules and link state as `ip` sets them, and a
 * watcher of network changes. Declared only on Linux (__linux__); a Windows client has its
 * own equivalents (IP Helper) behind its own declarations. Every call opens its own
 * rtnetlink socket, sends one request and waits for the kernel's answer. Errors: 0,
 * FLOE_ERR_INVALID_ARG (NULL, bad family/length, ifindex 0) or FLOE_ERR_IO with errno the
 * kernel's answer (EEXIST: already there; ESRCH/ENOENT/EADDRNOTAVAIL: not there; EPERM).
 */
#ifdef __linux__

/* Add (add true) or delete the address ip (its port unused) with prefix_len on ifindex. */
int floe_io_nl_addr(unsigned ifindex, const struct floe_addr *ip, unsigned prefix_len, bool add);
/*
 * Add (add true, replacing a route to the same prefix) or delete the route to dst through
 * interface ifindex in routing table `table` (RT_TABLE_MAIN is 254).
 */
int floe_io_nl_route(unsigned ifindex, const struct floe_prefix *dst, uint32_t table, bool add);
/*
 * Add or delete the policy rule "not fwmark `mark` lookup `table`" of family
 * (FLOE_AF_INET or FLOE_AF_INET6) at priority `priority` (0: the kernel picks one, and then
 * cannot tell a duplicate: give one to get EEXIST for a rule already there), as
 * wg-quick does: packets of sockets marked with `mark` (floe_io_udp_set_mark) skip the
 * tunnel's table and keep the normal routes.
 */
int floe_io_nl_rule(uint8_t family, uint32_t mark, uint32_t table, uint32_t priority, bool add);
/* Set interface ifindex up or down and, when mtu is not 0, its MTU. */
int floe_io_nl_link_set(unsigned ifindex, bool up, unsigned mtu);

/*
 * A watcher of network changes: links, addresses and routes (IPv4 and IPv6) appearing,
 * changing or going away, except those of one ignored interface (the tunnel's own). It
 * says only "something changed": the caller debounces with its own timer and then
 * re-reads what it needs (floe: the node's reset after ~0.5 s of quiet).
 */
struct floe_io_netwatch;

/*
 * Open a watcher ignoring interface ignore_ifindex (0: none). Returns 0 and sets *out,
 * FLOE_ERR_INVALID_ARG, FLOE_ERR_NOMEM or FLOE_ERR_IO.
 */
int floe_io_netwatch_open(struct floe_io_netwatch **out, unsigned ignore_ifindex);
/* Close and free w (NULL allowed). */
void floe_io_netwatch_free(struct floe_io_netwatch *w);
/* Its file descriptor, readable when messages wait (for epoll). */
int floe_io_netwatch_fd(const struct floe_io_netwatch *w);
/* Change the ignored interface (the tunnel re-created). */
void floe_io_netwatch_ignore(struct floe_io_netwatch *w, unsigned ignore_ifindex);
/*
 * Read every waiting message without blocking. Returns 1 when at least one was a change
 * of a link, address or route not on the ignored interface (or messages were lost to a
 * full socket: assume a change), 0 when none was, FLOE_ERR_IO when the socket failed.
 */
int floe_io_netwatch_read(struct floe_io_netwatch *w);

#endif /* __linux__ */

#endif
