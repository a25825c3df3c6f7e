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

#endif
