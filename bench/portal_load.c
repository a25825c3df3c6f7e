/*
 * portal_load: many simulated devices held connected to floe-portal over loopback, then
 * candidate messages relayed between them (issue 12's benchmark). Each device is a protocol
 * client of libfloe (struct floe_portal_client) on its own TCP socket, all driven by one epoll
 * loop. bench/portal_load.sh starts the portal(s) and their database (SQLite, then PostgreSQL
 * with two instances) and runs this program; see README.md, "Benchmark: floe-portal".
 *
 *   portal_load --portal ADDR:PORT [--portal ADDR:PORT] [--pid PID]... --client-token T
 *               --gateway-token T --resource ID [--devices N] [--gateways G] [--seconds S]
 *               [--rate R] [--sources K]
 *
 * Prints the time to join every device, the portals' resident memory before and after divided
 * by the devices (memory per connection), the time to authorize every client, and candidate
 * messages relayed per second with p50/p99 delivery latency (a client's
 * new_gateway_ice_candidates until its gateway's ice_candidates). Exit 1 when a device cannot
 * join or too few messages arrive; 2 on bad arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "floe/crypto.h"
#include "floe/portal.h"
#include "floe/portal_wire.h"
#include "floe_io.h"
#include "../tests/portal/portal_flush.h"

#define LOAD_PORTALS_MAX 2
#define LOAD_INFLIGHT 256            /* connections or authorizations under way at once */
#define LOAD_PER_SOURCE 16000        /* devices per source address by default */
#define LOAD_TIMER_SLACK FLOE_MS(50) /* timers scanned at most this often (heartbeats) */

struct dev {
    int fd;
    unsigned portal;
    bool gateway, joined, lost, authz_sent, authorized;
    struct floe_portal_client *pc;
    char peer[FLOE_PORTAL_ID_MAX]; /* a client's gateway id once authorized */
};

struct load {
    const char *portal[LOAD_PORTALS_MAX];
    long pid[LOAD_PORTALS_MAX];
    unsigned n_portals, n_pids, sources;
    const char *client_token, *gateway_token, *resource;
    unsigned n, gateways, seconds, rate;
    struct dev *devs;
    int ep;
    unsigned joined, lost, authorized, authz_failed;
    floe_time *sent_at; /* by sequence number */
    uint64_t n_sent, n_got, cap_seq;
    double *lat_ms;
    floe_time next_timer; /* the earliest protocol client deadline (not before) */
    floe_time last_scan;  /* when the devices' timers were last scanned */
};

static struct load L;

#define DIE(...)                                                                                   \
    do {                                                                                           \
        fprintf(stderr, "portal_load: " __VA_ARGS__);                                              \
        fputc('\n', stderr);                                                                       \
        exit(1);                                                                                   \
    } while (0)

static double secs(floe_time t)
{
    return (double)t / 1e9;
}

/* VmRSS of pid in KiB (0 if unknown). */
static long rss_kib(long pid)
{
    char path[64], line[256];
    long kib = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* CPU time (user + system) of pid in seconds (0 if unknown): /proc/PID/stat fields 14, 15. */
static double cpu_secs(long pid)
{
    char path[64], line[1024], *p;
    unsigned long long ut = 0, st = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    p = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
    fclose(f);
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The portals' CPU seconds, and this program's own. */
static double cpu_portals(void)
{
    double sum = 0;

    for (unsigned i = 0; i < L.n_pids; i++)
        sum += cpu_secs(L.pid[i]);
    return sum;
}

static double cpu_self(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) < 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long rss_total(void)
{
    long sum = 0;

    for (unsigned i = 0; i < L.n_pids; i++)
        sum += rss_kib(L.pid[i]);
    return sum;
}

/* ------------------------------------------------------------ one device's I/O */

static void dev_flush(struct dev *d)
{
    portal_flush_fd(d->pc, d->fd);
    if (d->pc)
        L.next_timer = floe_time_min(L.next_timer, floe_portal_client_poll_timeout(d->pc));
}

static void dev_close(struct dev *d)
{
    if (d->fd < 0)
        return;
    (void)epoll_ctl(L.ep, EPOLL_CTL_DEL, d->fd, NULL);
    close(d->fd);
    d->fd = -1;
}

/* The foundation of a candidate string is the message's sequence number. */
static void got_candidates(const struct floe_portal_candidates *c, floe_time now)
{
    for (uint32_t i = 0; i < c->n_candidates; i++) {
        unsigned long long seq;

        if (sscanf(c->candidates[i], "candidate:%llu", &seq) != 1 || seq >= L.n_sent ||
            !L.sent_at[seq])
            continue;
        L.lat_ms[L.n_got++] = (double)(now - L.sent_at[seq]) / 1e6;
        L.sent_at[seq] = 0;
    }
}

static void dev_message(struct dev *d, const struct floe_portal_msg *m)
{
    switch (m->type) {
    case FLOE_PORTAL_MSG_CREATE_AUTHORIZATION:
        (void)floe_portal_client_authorization_created(d->pc, floe_io_now(), m->u.create.ref);
        break;
    case FLOE_PORTAL_MSG_AUTHORIZATION_CREATED:
        snprintf(d->peer, sizeof(d->peer), "%s", m->u.created.gateway_id);
        d->authorized = true;
        L.authorized++;
        break;
    case FLOE_PORTAL_MSG_AUTHORIZATION_FAILED:
        if (!d->authorized)
            L.authz_failed++;
        d->authz_sent = false;
        break;
    case FLOE_PORTAL_MSG_ICE_CANDIDATES:
        if (d->gateway)
            got_candidates(&m->u.cands, floe_io_now());
        break;
    default:
        break;
    }
}

static void dev_events(struct dev *d)
{
    struct floe_portal_client_event ev;

    while (floe_portal_client_poll_event(d->pc, &ev) == 1) {
        if (ev.kind == FLOE_PORTAL_EV_JOINED && !d->joined) {
            d->joined = true;
            L.joined++;
        } else if (ev.kind == FLOE_PORTAL_EV_MESSAGE) {
            dev_message(d, ev.msg);
        } else if (ev.kind == FLOE_PORTAL_EV_DISCONNECTED || ev.kind == FLOE_PORTAL_EV_FATAL) {
            if (!d->lost)
                fprintf(stderr, "portal_load: device %u lost: %s (HTTP %d)\n",
                        (unsigned)(d - L.devs), ev.reason, ev.status);
            d->lost = true;
            L.lost++;
            dev_close(d);
        }
    }
    dev_flush(d);
}

static void dev_read(struct dev *d)
{
    uint8_t buf[16384];
    ssize_t r;

    while ((r = recv(d->fd, buf, sizeof(buf), 0)) > 0)
        (void)floe_portal_client_handle_input(d->pc, floe_io_now(), buf, (size_t)r);
    if (r == 0 || (r < 0 && errno != EAGAIN)) {
        (void)floe_portal_client_disconnected(d->pc, floe_io_now());
        dev_close(d);
    }
    dev_events(d);
}

/*
 * Wait for socket input up to ms and handle it; then the due timers. The devices are scanned
 * only when the earliest deadline (kept in L.next_timer by dev_flush) has come, and at most
 * every LOAD_TIMER_SLACK (10,000 heartbeat deadlines spread over 10 s come 1,000 times a
 * second): scanning 10,000 protocol clients that often was the load generator's bottleneck.
 */
static void pump(int ms)
{
    struct epoll_event evs[1024];
    int n = epoll_wait(L.ep, evs, 1024, ms);
    floe_time now = floe_io_now();

    for (int i = 0; i < n; i++)
        if (L.devs[evs[i].data.u32].fd >= 0)
            dev_read(&L.devs[evs[i].data.u32]);
    if (now < L.next_timer || now < L.last_scan + LOAD_TIMER_SLACK)
        return;
    L.last_scan = now;
    L.next_timer = FLOE_TIME_NEVER;
    for (unsigned i = 0; i < L.n; i++) {
        struct dev *d = &L.devs[i];

        if (!d->pc || d->fd < 0)
            continue;
        if (floe_portal_client_poll_timeout(d->pc) <= now) {
            floe_portal_client_handle_timeout(d->pc, now);
            dev_events(d); /* flushes: L.next_timer */
        } else {
            L.next_timer = floe_time_min(L.next_timer, floe_portal_client_poll_timeout(d->pc));
        }
    }
}

/* ------------------------------------------------------------ connecting */

static int tcp_connect(unsigned i)
{
    struct floe_addr a;
    struct sockaddr_storage ss;
    struct sockaddr_in src = {.sin_family = AF_INET};
    socklen_t len;
    int fd, one = 1;

    if (floe_addr_parse(L.portal[L.devs[i].portal], &a) < 0 ||
        floe_io_addr_to_sockaddr(&a, &ss, &len) < 0)
        DIE("bad portal address %s", L.portal[L.devs[i].portal]);
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        DIE("socket: %s (raise the open files limit)", strerror(errno));
    if (ss.ss_family == AF_INET && L.sources > 1) {
        /* 127.0.0.1..K: more source ports than one address has */
        src.sin_addr.s_addr = htonl(0x7f000001u + i % L.sources);
        (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0)
            DIE("bind 127.0.0.%u: %s", 1 + i % L.sources, strerror(errno));
    }
    if (connect(fd, (struct sockaddr *)&ss, len) < 0)
        DIE("connect %s: %s", L.portal[L.devs[i].portal], strerror(errno));
    (void)setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void dev_start(unsigned i)
{
    struct dev *d = &L.devs[i];
    struct floe_portal_client_config cfg;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
    uint8_t key[32];

    floe_portal_client_config_default(&cfg);
    if (floe_crypto_random(key, sizeof(key)) < 0)
        DIE("no randomness");
    cfg.rng = floe_crypto_rng();
    cfg.role = d->gateway ? FLOE_PORTAL_ROLE_GATEWAY : FLOE_PORTAL_ROLE_CLIENT;
    cfg.host = L.portal[d->portal];
    cfg.token = d->gateway ? L.gateway_token : L.client_token;
    cfg.public_key = key;
    cfg.name = d->gateway ? "load-gw" : "load-client";
    cfg.tls = false;
    if (floe_portal_client_new(&d->pc, &cfg) < 0)
        DIE("cannot make protocol client %u", i);
    d->fd = tcp_connect(i);
    if (epoll_ctl(L.ep, EPOLL_CTL_ADD, d->fd, &ev) < 0)
        DIE("epoll_ctl: %s", strerror(errno));
    if (floe_portal_client_connect(d->pc, floe_io_now()) < 0)
        DIE("floe_portal_client_connect refused");
    dev_flush(d);
}

/* Gateways first (clients need one online), LOAD_INFLIGHT joins under way at once. */
static void connect_all(void)
{
    floe_time t0 = floe_io_now(), limit = FLOE_SEC(60) + (floe_time)L.n * FLOE_MS(20);
    long before = rss_total();
    double cpu0 = cpu_portals();
    unsigned next = 0;

    while (L.joined + L.lost < L.n) {
        while (next < L.n && next - L.joined - L.lost < LOAD_INFLIGHT &&
               (next < L.gateways || L.joined >= L.gateways))
            dev_start(next++);
        pump(10);
        if (L.lost)
            DIE("%u devices lost while joining", L.lost);
        if (floe_io_now() - t0 > limit)
            DIE("only %u of %u devices joined within %.0f s", L.joined, L.n, secs(limit));
    }
    printf("joined: %u devices (%u clients, %u gateways) on %u instance(s) in %.2f s (portal CPU "
           "%.0f us per join)\n",
           L.joined, L.n - L.gateways, L.gateways, L.n_portals, secs(floe_io_now() - t0),
           (cpu_portals() - cpu0) * 1e6 / L.n);
    if (L.n_pids) {
        long after;

        pump(500); /* let the portals settle */
        after = rss_total();
        printf("portal memory: %ld KiB before, %ld KiB after: %.1f KiB per connection\n", before,
               after, (double)(after - before) / L.n);
    }
}

/* Every client asks for the resource; LOAD_INFLIGHT requests under way at once. */
static void authorize_all(void)
{
    floe_time t0 = floe_io_now(), limit = FLOE_SEC(60) + (floe_time)L.n * FLOE_MS(20);
    unsigned clients = L.n - L.gateways, sent = 0, next = L.gateways;
    double cpu0 = cpu_portals();

    while (L.authorized + L.authz_failed < clients) {
        /* a refused request is asked again on the next pass over the clients */
        for (unsigned k = 0; k < clients && sent - L.authorized - L.authz_failed < LOAD_INFLIGHT;
             k++) {
            struct dev *d = &L.devs[next];

            next = next + 1 < L.n ? next + 1 : L.gateways;
            if (d->authz_sent || d->authorized)
                continue;
            if (floe_portal_client_request_authorization(d->pc, floe_io_now(), L.resource, NULL) <
                0)
                DIE("request_authorization refused by the protocol client");
            d->authz_sent = true;
            sent++;
            dev_flush(d);
        }
        pump(10);
        if (floe_io_now() - t0 > limit)
            DIE("only %u of %u clients authorized within %.0f s", L.authorized, clients,
                secs(limit));
    }
    printf("authorized: %u clients in %.2f s (%u refused; portal CPU %.0f us per client)\n",
           L.authorized, secs(floe_io_now() - t0), L.authz_failed,
           (cpu_portals() - cpu0) * 1e6 / clients);
    if (!L.authorized)
        DIE("no client was authorized for resource %s", L.resource);
}

/* ------------------------------------------------------------ candidates */

static void send_one(struct dev *d)
{
    char cand[FLOE_PORTAL_CANDIDATE_MAX];
    const char *cands[1] = {cand}, *ids[1] = {d->peer};
    uint64_t seq = L.n_sent;

    snprintf(cand, sizeof(cand), "candidate:%llu 1 udp 2130706431 127.0.0.1 %u typ host",
             (unsigned long long)seq, 10000u + (unsigned)(seq % 50000));
    L.sent_at[seq] = floe_io_now();
    L.n_sent++;
    if (floe_portal_client_send_candidates(d->pc, L.sent_at[seq], false, ids, 1, cands, 1) < 0)
        DIE("the protocol client refused candidates");
    dev_flush(d);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Open loop at L.rate messages per second for L.seconds, round robin over the clients. */
static void candidates_run(void)
{
    floe_time t0 = floe_io_now(), dur = FLOE_SEC(L.seconds), end;
    unsigned next = L.gateways;
    double portal_cpu = cpu_portals(), self_cpu = cpu_self();

    while (floe_io_now() - t0 < dur) {
        uint64_t due = (uint64_t)(secs(floe_io_now() - t0) * L.rate);

        while (L.n_sent < due && L.n_sent < L.cap_seq) {
            while (!L.devs[next].authorized)
                next = next + 1 < L.n ? next + 1 : L.gateways;
            send_one(&L.devs[next]);
            next = next + 1 < L.n ? next + 1 : L.gateways;
        }
        pump(1);
    }
    end = floe_io_now();
    while (L.n_got < L.n_sent && floe_io_now() - end < FLOE_SEC(5))
        pump(10);
    qsort(L.lat_ms, L.n_got, sizeof(*L.lat_ms), cmp_double);
    printf("candidates: %llu sent, %llu delivered: %.0f msg/s relayed, latency p50 %.2f ms, "
           "p99 %.2f ms\n",
           (unsigned long long)L.n_sent, (unsigned long long)L.n_got,
           (double)L.n_got / secs(end - t0), L.n_got ? L.lat_ms[L.n_got / 2] : 0.0,
           L.n_got ? L.lat_ms[(L.n_got * 99) / 100] : 0.0);
    /* CPU per message: what the machine's load does not change (the rates above it does) */
    if (L.n_got && L.n_pids)
        printf("cpu: portals %.1f us per message relayed (%.0f msg/s per core), portal_load "
               "%.1f us\n",
               (cpu_portals() - portal_cpu) * 1e6 / (double)L.n_got,
               cpu_portals() > portal_cpu ? (double)L.n_got / (cpu_portals() - portal_cpu) : 0.0,
               (cpu_self() - self_cpu) * 1e6 / (double)L.n_got);
    if (L.n_got * 100 < L.n_sent * 99)
        DIE("%llu of %llu candidate messages were not delivered",
            (unsigned long long)(L.n_sent - L.n_got), (unsigned long long)L.n_sent);
}

/* ------------------------------------------------------------ arguments */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: portal_load --portal ADDR:PORT [--portal ADDR:PORT] [--pid PID]...\n"
            "                   --client-token T --gateway-token T --resource ID [options]\n"
            "  --portal ADDR:PORT   a floe-portal instance (plain ws://, --insecure); with two,\n"
            "                       devices alternate between them\n"
            "  --pid PID            a portal's process id, for its memory (VmRSS)\n"
            "  --client-token T     a client token; --gateway-token T: a site's gateway token\n"
            "  --resource ID        a resource of that site the token's user may reach\n"
            "  --devices N          devices held connected (default 10000)\n"
            "  --gateways G         of which gateways (default N/2)\n"
            "  --seconds S          candidate load duration (default 10)\n"
            "  --rate R             candidate messages per second sent (default 5000)\n"
            "  --sources K          source addresses 127.0.0.1..K (default 4, or one per\n"
            "                       16,000 devices when more: ports per address and portal)\n");
}

static unsigned parse_u(const char *v, unsigned lo, unsigned hi, const char *what)
{
    char *end;
    unsigned long x = strtoul(v, &end, 10);

    if (!*v || *end || x < lo || x > hi) {
        fprintf(stderr, "portal_load: %s: expected %u-%u, got '%s'\n", what, lo, hi, v);
        exit(2);
    }
    return (unsigned)x;
}

static void parse_args(int argc, char **argv)
{
    static const struct option opts[] = {
        {"portal", 1, NULL, 'p'},        {"pid", 1, NULL, 'P'},      {"client-token", 1, NULL, 'c'},
        {"gateway-token", 1, NULL, 'g'}, {"resource", 1, NULL, 'r'}, {"devices", 1, NULL, 'n'},
        {"gateways", 1, NULL, 'G'},      {"seconds", 1, NULL, 's'},  {"rate", 1, NULL, 'R'},
        {"sources", 1, NULL, 'S'},       {"help", 0, NULL, 'h'},     {NULL, 0, NULL, 0}};
    int o;

    L.n = 10000;
    L.seconds = 10;
    L.rate = 5000;
    L.sources = 0;
    L.gateways = 0;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'h') {
            usage(stdout);
            exit(0);
        } else if (o == 'p' && L.n_portals < LOAD_PORTALS_MAX) {
            L.portal[L.n_portals++] = optarg;
        } else if (o == 'P' && L.n_pids < LOAD_PORTALS_MAX) {
            L.pid[L.n_pids++] = (long)parse_u(optarg, 1, 0x7fffffff, "--pid");
        } else if (o == 'c' || o == 'g' || o == 'r') {
            *(o == 'c' ? &L.client_token : o == 'g' ? &L.gateway_token : &L.resource) = optarg;
        } else if (o == 'n' || o == 'G' || o == 's' || o == 'R' || o == 'S') {
            unsigned *dst = o == 'n'   ? &L.n
                            : o == 'G' ? &L.gateways
                            : o == 's' ? &L.seconds
                            : o == 'R' ? &L.rate
                                       : &L.sources;
            *dst = parse_u(optarg,
                           o == 'G'   ? 1
                           : o == 'S' ? 1
                                      : 2,
                           o == 'S' ? 254 : 1000000, argv[optind - 1]);
        } else {
            usage(stderr);
            exit(2);
        }
    }
    if (!L.n_portals || !L.client_token || !L.gateway_token || !L.resource) {
        fprintf(stderr, "portal_load: --portal, --client-token, --gateway-token and --resource "
                        "are required (bench/portal_load.sh sets them up)\n");
        exit(2);
    }
    if (!L.gateways)
        L.gateways = L.n / 2;
    if (!L.sources) /* about 28,000 ephemeral ports per source address and destination */
        L.sources = L.n / LOAD_PER_SOURCE + 1 > 4 ? L.n / LOAD_PER_SOURCE + 1 : 4;
    if (L.sources > 254) {
        fprintf(stderr, "portal_load: %u devices need more than 254 source addresses\n", L.n);
        exit(2);
    }
    if (L.gateways >= L.n) {
        fprintf(stderr, "portal_load: --gateways must be fewer than --devices\n");
        exit(2);
    }
}

static void setup(void)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)L.n + 256;

    /* the protocol client allocates a message (over 128 KiB) per event: from the heap, not a
     * fresh mmap each time (page faults and zeroed pages were a tenth of this program's CPU) */
    (void)mallopt(M_MMAP_THRESHOLD, 64 << 20);
    (void)mallopt(M_TRIM_THRESHOLD, 256 << 20);

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
        rl.rlim_cur = want > rl.rlim_max ? rl.rlim_max : want;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < want)
            DIE("open files limit %llu < %llu needed", (unsigned long long)rl.rlim_cur,
                (unsigned long long)want);
    }
    L.cap_seq = (uint64_t)L.rate * L.seconds + 1;
    L.devs = calloc(L.n, sizeof(*L.devs));
    L.sent_at = calloc(L.cap_seq, sizeof(*L.sent_at));
    L.lat_ms = calloc(L.cap_seq, sizeof(*L.lat_ms));
    L.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!L.devs || !L.sent_at || !L.lat_ms || L.ep < 0)
        DIE("out of memory");
    for (unsigned i = 0; i < L.n; i++) {
        L.devs[i].fd = -1;
        L.devs[i].gateway = i < L.gateways;
        /* devices alternate between the instances: about half the messages cross */
        L.devs[i].portal = (i + (L.devs[i].gateway ? 0 : 1)) % L.n_portals;
    }
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    setup();
    connect_all();
    authorize_all();
    candidates_run();
    for (unsigned i = 0; i < L.n; i++) {
        dev_close(&L.devs[i]);
        floe_portal_client_free(L.devs[i].pc);
    }
    free(L.devs);
    free(L.sent_at);
    free(L.lat_ms);
    close(L.ep);
    return 0;
}
