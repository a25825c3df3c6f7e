/*
 * floe_io: the Linux helpers, the only library code that touches the OS
 * (DESIGN.md section 2, layer "io"). Programs include "floe_io.h"; the header
 * lives in src/io because it exposes sockaddr types the core never sees, and
 * the floe_io CMake target puts this directory on its users' include path.
 *
 * Errors are negative FLOE_ERR_* values; after FLOE_ERR_IO, errno tells why.
 */
#ifndef FLOE_IO_H
#define FLOE_IO_H

#include <sys/socket.h>

#include "floe/core.h"

/* Suspend-aware monotonic time: CLOCK_BOOTTIME in nanoseconds. */
floe_time floe_io_now(void);

/*
 * floe_addr -> sockaddr_in or sockaddr_in6 in *ss, its length in *len.
 * Returns 0, FLOE_ERR_INVALID_ARG or FLOE_ERR_ADDR_FAMILY.
 */
int floe_io_addr_to_sockaddr(const struct floe_addr *a, struct sockaddr_storage *ss,
                             socklen_t *len);
/*
 * sockaddr_in or sockaddr_in6 (len bytes at sa) -> floe_addr. IPv6 scope ids
 * are dropped. Returns 0, FLOE_ERR_INVALID_ARG or FLOE_ERR_ADDR_FAMILY.
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
 * bind_addr (port 0: any port). Returns the descriptor, FLOE_ERR_INVALID_ARG,
 * FLOE_ERR_ADDR_FAMILY or FLOE_ERR_IO.
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
};

/*
 * Send d[0..n) on the non-blocking UDP socket fd, in order: sendmmsg batches, runs of
 * equal-sized datagrams to one destination as one UDP GSO send (a run's last datagram may
 * be shorter), a partial send resumed, a full socket waited for within s->wait_ms and then
 * the rest dropped, a refused datagram dropped alone. Every datagram is counted in s->stats.
 */
void floe_io_udp_send_batch(struct floe_io_sender *s, int fd, const struct floe_io_dgram *d,
                            size_t n);

/*
 * A pool of worker threads for one calling thread's "parallel for" (the run hook of
 * floe_wg_parallel): the caller runs on lane 0 and lanes - 1 workers on lanes 1.., each
 * taking the next index until none is left. Idle workers sleep on a futex; a run of fewer
 * than 8 items wakes none (the caller does it, with any worker still awake). One thread
 * calls floe_io_pool_run at a time.
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

#endif
