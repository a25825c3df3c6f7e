/*
 * Simulator throughput: datagrams simulated per second of wall time.
 *
 * Clients behind a NAT ping-pong with an echo server on the internet, each
 * keeping a window of datagrams in flight, until every client has sent its
 * share. Three runs: direct (no NAT), through a NAT with jitter and
 * reordering, and the NAT run again writing a transcript to a counting sink.
 * Usage: sim_bench [datagrams per client, default 200000]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "floe/sim.h"

#define BENCH_CLIENTS 8
#define BENCH_WINDOW 16
#define BENCH_PAYLOAD 100

/* Sends a new datagram for every reply, keeping `window` in flight. */
struct pinger {
    struct floe_addr to;
    uint64_t limit, sent, received;
    uint32_t pending;
};

static void pinger_input(void *obj, floe_time now, const struct floe_addr *from,
                         const struct floe_addr *to, const uint8_t *bytes, size_t len)
{
    struct pinger *p = obj;

    (void)now, (void)from, (void)to, (void)bytes, (void)len;
    p->received++;
    if (p->sent + p->pending < p->limit)
        p->pending++;
}

static int pinger_transmit(void *obj, floe_time now, uint8_t *buf, size_t cap, size_t *len,
                           struct floe_addr *from, struct floe_addr *to)
{
    struct pinger *p = obj;

    (void)now, (void)from;
    if (!p->pending || cap < BENCH_PAYLOAD)
        return 0;
    memset(buf, 0x5a, BENCH_PAYLOAD);
    floe_store_be64(buf, p->sent);
    *len = BENCH_PAYLOAD;
    *to = p->to;
    p->pending--;
    p->sent++;
    return 1;
}

static const struct floe_sim_endpoint_ops pinger_ops = {
    .handle_input = pinger_input,
    .poll_transmit = pinger_transmit,
};

static void count_bytes(void *user, const char *line, size_t len)
{
    (void)line;
    *(uint64_t *)user += len;
}

static double wall_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "sim_bench: %s: %s\n", what, floe_strerror(rc));
    exit(1);
}

/* The server with its echo; clients on a NAT'd LAN (or on the internet when !nat). */
static void bench_build(struct floe_sim *sim, bool nat, struct floe_sim_echo *echo,
                        struct pinger *pingers)
{
    struct floe_sim_link l = floe_sim_link_default();
    struct floe_addr ip, any = {0};
    uint32_t inet, lan, id, iface, h, i;
    int rc;

    l.jitter = nat ? FLOE_MS(2) : 0;
    l.reorder = nat ? 0.01 : 0.0;
    if ((rc = floe_sim_net_add(sim, "inet", &l, &inet)) < 0 ||
        (rc = floe_sim_net_add(sim, "lan", &l, &lan)) < 0)
        die("net", rc);
    ip = floe_addr_v4(203, 0, 113, 1, 0);
    if (nat && (rc = floe_sim_nat_add(sim, "nat", NULL, lan, inet, &ip, &id)) < 0)
        die("nat", rc);
    ip = floe_addr_v4(198, 51, 100, 1, 0);
    any.port = 7;
    if ((rc = floe_sim_host_add(sim, "server", &h)) < 0 ||
        (rc = floe_sim_host_add_addr(sim, h, inet, &ip, &iface)) < 0 ||
        (rc = floe_sim_attach(sim, h, &any, "echo", &floe_sim_echo_ops, echo, &id)) < 0)
        die("server", rc);
    for (i = 0; i < BENCH_CLIENTS; i++) {
        ip = floe_addr_v4(10, 0, 0, (uint8_t)(i + 2), 0);
        any.port = 5000;
        if ((rc = floe_sim_host_add(sim, "client", &h)) < 0 ||
            (rc = floe_sim_host_add_addr(sim, h, nat ? lan : inet, &ip, &iface)) < 0 ||
            (rc = floe_sim_attach(sim, h, &any, "client", &pinger_ops, &pingers[i], &id)) < 0)
            die("client", rc);
    }
}

static void bench_run(const char *name, bool nat, bool transcript, uint64_t per_client)
{
    static struct floe_sim_echo echo;
    struct pinger pingers[BENCH_CLIENTS];
    struct floe_sim_config cfg;
    struct floe_sim *sim = NULL;
    const struct floe_sim_counters *c;
    uint64_t bytes = 0;
    double t0, dt;
    int rc, i;

    floe_sim_config_default(&cfg);
    cfg.seed = 42;
    if (transcript) {
        cfg.transcript = count_bytes;
        cfg.transcript_user = &bytes;
    }
    if ((rc = floe_sim_new(&cfg, &sim)) < 0)
        die("new", rc);
    floe_sim_echo_init(&echo);
    memset(pingers, 0, sizeof(pingers));
    for (i = 0; i < BENCH_CLIENTS; i++) {
        pingers[i].to = floe_addr_v4(198, 51, 100, 1, 7);
        pingers[i].limit = per_client;
        pingers[i].pending = BENCH_WINDOW;
    }
    t0 = wall_seconds();
    bench_build(sim, nat, &echo, pingers);
    if ((rc = floe_sim_run_until_idle(sim, FLOE_TIME_NEVER - 1)) < 0)
        die("run", rc);
    dt = wall_seconds() - t0;
    c = floe_sim_counters(sim);
    printf("%-22s %10" PRIu64 " datagrams %10" PRIu64 " events %7.3f s  %6.2f M datagrams/s"
           "  %6.2f M events/s  transcript %" PRIu64 " MB\n",
           name, c->sent, c->events, dt, (double)c->sent / dt / 1e6, (double)c->events / dt / 1e6,
           bytes >> 20);
    floe_sim_free(sim);
}

int main(int argc, char **argv)
{
    uint64_t per_client = argc > 1 ? strtoull(argv[1], NULL, 0) : 200000;

    bench_run("direct", false, false, per_client);
    bench_run("nat+jitter+reorder", true, false, per_client);
    bench_run("nat+transcript", true, true, per_client / 4);
    return 0;
}
