/*
 * ICE agent cost: CPU time per established agent pair and memory per agent.
 *
 * 1. Many client/gateway pairs connect in the simulator (host candidates on a
 *    public network, then again with every peer behind its own
 *    port-restricted NAT, gathering server-reflexive candidates from a STUN
 *    server): process CPU time (CLOCK_PROCESS_CPUTIME_ID) of setting up,
 *    connecting (selected pair and application data both ways) and tearing
 *    down, divided by the pairs that connected. It includes the simulator.
 * 2. Agents configured for 10,000 pairs (100 local x 100 remote candidates):
 *    bytes allocated through a counting floe_allocator, at creation and with
 *    all 10,000 pairs formed; the default configuration for comparison.
 * Usage: ice_bench [pairs per simulator, default 100] [simulators, default 10]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "floe/sim_ice.h"

#define BENCH_AGENTS 10
#define BENCH_CANDS 100

/* ------------------------------------------------------ counting allocator */

/* Live and peak bytes; each block carries its size in a 16-byte header. */
struct counter {
    size_t live, peak, allocs;
};

static void *count_malloc(size_t size, void *user)
{
    struct counter *c = user;
    unsigned char *p = malloc(size + 16);

    if (!p)
        return NULL;
    memcpy(p, &size, sizeof(size));
    c->live += size;
    c->allocs++;
    if (c->live > c->peak)
        c->peak = c->live;
    return p + 16;
}

static void count_free(void *ptr, void *user)
{
    struct counter *c = user;
    unsigned char *p = ptr;
    size_t size;

    if (!p)
        return;
    memcpy(&size, p - 16, sizeof(size));
    c->live -= size;
    free(p - 16);
}

static void *count_realloc(void *ptr, size_t size, void *user)
{
    struct counter *c = user;
    unsigned char *p = ptr ? (unsigned char *)ptr - 16 : NULL;
    size_t old = 0;

    if (p)
        memcpy(&old, p, sizeof(old));
    p = realloc(p, size + 16);
    if (!p)
        return NULL;
    memcpy(p, &size, sizeof(size));
    c->live = c->live - old + size;
    if (c->live > c->peak)
        c->peak = c->live;
    return p + 16;
}

/* ------------------------------------------------------------ CPU per pair */

static double cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "ice_bench: %s: %s\n", what, floe_strerror(rc));
    exit(1);
}

struct batch {
    struct floe_sim *sim;
    struct floe_sim_stun_server stun;
    struct floe_sim_ice_ep **ep;
    struct floe_sim_signal **sig;
    uint32_t pairs, inet;
    bool nat;
};

static struct floe_addr bench_ip(uint32_t i)
{
    return floe_addr_v4(198, (uint8_t)(18 + i / 62500), (uint8_t)(i / 250 % 250),
                        (uint8_t)(1 + i % 250), 0);
}

/* Host i: on the public network, or on its own LAN behind a port-restricted NAT. */
static uint32_t bench_host(struct batch *b, uint32_t i)
{
    struct floe_addr ext = bench_ip(i), lan_ip = floe_addr_v4(10, 0, 0, 2, 0);
    uint32_t host, lan = b->inet, nat, iface;
    int rc = floe_sim_host_add(b->sim, "h", &host);

    if (rc == 0 && b->nat)
        rc = floe_sim_net_add(b->sim, "lan", NULL, &lan);
    if (rc == 0 && b->nat)
        rc = floe_sim_nat_add(b->sim, "nat", NULL, lan, b->inet, &ext, &nat);
    if (rc == 0)
        rc = floe_sim_host_add_addr(b->sim, host, lan, b->nat ? &lan_ip : &ext, &iface);
    if (rc != 0)
        die("host", rc);
    return host;
}

static void bench_new_sim(struct batch *b, uint64_t seed)
{
    struct floe_sim_config sc;
    struct floe_addr stun_ip = floe_addr_v4(203, 0, 113, 1, 3478);
    struct floe_sim_link link = floe_sim_link_default();
    uint32_t n = 2 * b->pairs + 2, host, iface, ep;
    int rc;

    floe_sim_config_default(&sc);
    sc.seed = seed;
    sc.max_hosts = sc.max_endpoints = sc.max_networks = sc.max_nats = n;
    sc.max_packets = sc.max_actions = 16 * n + 1024;
    /* One shared network carries every pair: no queue drops, so every pair measures the same. */
    link.queue_cap = sc.max_packets;
    rc = floe_sim_new(&sc, &b->sim);
    if (rc == 0)
        rc = floe_sim_net_add(b->sim, "internet", &link, &b->inet);
    if (rc == 0)
        rc = floe_sim_host_add(b->sim, "stun", &host);
    if (rc == 0)
        rc = floe_sim_host_add_addr(b->sim, host, b->inet, &stun_ip, &iface);
    floe_sim_stun_server_init(&b->stun);
    if (rc == 0)
        rc = floe_sim_attach(b->sim, host, &stun_ip, "stun", &floe_sim_stun_server_ops, &b->stun,
                             &ep);
    if (rc != 0)
        die("simulator", rc);
}

static void bench_pair(struct batch *b, uint32_t k)
{
    struct floe_sim_ice_ep_config cfg;
    int rc = 0, s;

    for (s = 0; s < 2 && rc == 0; s++) {
        floe_sim_ice_ep_config_default(&cfg);
        cfg.name = s ? "gateway" : "client";
        cfg.id = (uint8_t)(s + 1);
        cfg.stun = floe_addr_v4(203, 0, 113, 1, 3478);
        cfg.ice.role = s ? FLOE_ICE_CONTROLLED : FLOE_ICE_CONTROLLING;
        rc = floe_sim_ice_ep_new(b->sim, bench_host(b, 2 * k + (uint32_t)s), &cfg,
                                 &b->ep[2 * k + (uint32_t)s]);
    }
    if (rc == 0)
        rc = floe_sim_signal_new(b->sim, NULL, 64, FLOE_MS(20), 0, &b->sig[k]);
    if (rc == 0)
        rc = floe_sim_ice_ep_pair(b->ep[2 * k], b->ep[2 * k + 1], b->sig[k]);
    for (s = 0; s < 2 && rc == 0; s++)
        rc = floe_sim_ice_ep_start(b->ep[2 * k + (uint32_t)s]);
    if (rc != 0)
        die("pair", rc);
}

static bool bench_all_up(struct floe_sim *sim, void *user)
{
    const struct batch *b = user;
    uint32_t i;

    (void)sim;
    for (i = 0; i < 2 * b->pairs; i++) {
        if (!floe_sim_ice_ep_is_up(b->ep[i]))
            return false;
    }
    return true;
}

/* One simulator with b->pairs pairs; returns the pairs that connected. */
static uint32_t bench_batch(struct batch *b, uint64_t seed)
{
    uint32_t k, up = 0;

    b->ep = calloc(2 * b->pairs, sizeof(*b->ep));
    b->sig = calloc(b->pairs, sizeof(*b->sig));
    if (!b->ep || !b->sig)
        die("batch", FLOE_ERR_NOMEM);
    bench_new_sim(b, seed);
    for (k = 0; k < b->pairs; k++)
        bench_pair(b, k);
    if (floe_sim_run_until_pred(b->sim, bench_all_up, b, FLOE_SEC(30)) < 0)
        die("run", FLOE_ERR_STATE);
    for (k = 0; k < b->pairs; k++) {
        up += floe_sim_ice_ep_is_up(b->ep[2 * k]) && floe_sim_ice_ep_is_up(b->ep[2 * k + 1]);
        floe_sim_ice_ep_free(b->ep[2 * k]);
        floe_sim_ice_ep_free(b->ep[2 * k + 1]);
        floe_sim_signal_free(b->sig[k]);
    }
    floe_sim_free(b->sim);
    free(b->ep);
    free(b->sig);
    return up;
}

static void bench_cpu(uint32_t pairs, uint32_t batches, bool nat)
{
    struct batch b = {.pairs = pairs, .nat = nat};
    uint32_t i, up = 0;
    double t0 = cpu_seconds(), dt;

    for (i = 0; i < batches; i++)
        up += bench_batch(&b, 1 + i);
    dt = cpu_seconds() - t0;
    printf("%-34s %6u of %6u pairs connected, %8.1f us CPU per connected pair\n",
           nat ? "behind port-restricted NATs (srflx)" : "public network (host)", up,
           pairs * batches, up ? dt * 1e6 / up : 0.0);
}

/* ------------------------------------------------------- memory per agent */

static uint64_t mem_rng_state = 88172645463325252ull;

static void mem_rng_fill(void *user, uint8_t *out, size_t len)
{
    size_t i;

    (void)user;
    for (i = 0; i < len; i++) {
        mem_rng_state ^= mem_rng_state << 13;
        mem_rng_state ^= mem_rng_state >> 7;
        mem_rng_state ^= mem_rng_state << 17;
        out[i] = (uint8_t)mem_rng_state;
    }
}

static void mem_add_cands(struct floe_ice_agent *a, size_t n, bool local)
{
    struct floe_ice_candidate c;
    size_t i;
    int rc;

    for (i = 0; i < n; i++) {
        memset(&c, 0, sizeof(c));
        c.type = FLOE_ICE_HOST;
        c.addr =
            floe_addr_v4(local ? 10 : 172, 16, (uint8_t)(i / 250), (uint8_t)(1 + i % 250), 50000);
        rc = local ? floe_ice_add_local_candidate(a, 0, &c)
                   : floe_ice_add_remote_candidate(a, 0, &c);
        if (rc != 0)
            die("candidate", rc);
    }
}

static void bench_memory(size_t max_pairs, size_t cands)
{
    struct counter cnt = {0};
    struct floe_ice_config cfg;
    struct floe_ice_agent *a[BENCH_AGENTS];
    struct floe_ice_stats st;
    size_t i, at_new;

    floe_ice_config_default(&cfg);
    cfg.alloc = (struct floe_allocator){count_malloc, count_realloc, count_free, &cnt};
    cfg.rng.fill = mem_rng_fill;
    cfg.max_pairs = max_pairs;
    cfg.max_local_candidates = cfg.max_remote_candidates = cands ? cands : 16;
    for (i = 0; i < BENCH_AGENTS; i++) {
        if (floe_ice_new(&a[i], &cfg, 0) != 0)
            die("agent", FLOE_ERR_NOMEM);
    }
    at_new = cnt.live;
    for (i = 0; i < BENCH_AGENTS && cands; i++) {
        if (floe_ice_set_remote_credentials(a[i], 0, "ufragufr", "passwordpasswordpassword") != 0)
            die("credentials", FLOE_ERR_INVALID_ARG);
        mem_add_cands(a[i], cands, true);
        mem_add_cands(a[i], cands, false);
    }
    floe_ice_get_stats(a[0], &st);
    printf("max_pairs %5zu, %3zu x %3zu candidates: %6zu pairs formed, %9.0f bytes per agent at "
           "creation, %9.0f with the pairs (peak %zu for %d agents)\n",
           max_pairs, cands, cands, st.n_pairs, (double)at_new / BENCH_AGENTS,
           (double)cnt.live / BENCH_AGENTS, cnt.peak, BENCH_AGENTS);
    for (i = 0; i < BENCH_AGENTS; i++)
        floe_ice_free(a[i]);
    if (cnt.live != 0)
        die("allocator count", FLOE_ERR_INTERNAL);
}

int main(int argc, char **argv)
{
    uint32_t pairs = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 100;
    uint32_t batches = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 10;

    if (pairs == 0 || pairs > 10000 || batches == 0) {
        fprintf(stderr, "usage: ice_bench [pairs per simulator 1..10000] [simulators]\n");
        return 2;
    }
    printf("CPU per established ICE pair (%u simulators x %u pairs, simulator included):\n",
           batches, pairs);
    bench_cpu(pairs, batches, false);
    bench_cpu(pairs, batches, true);
    printf("memory per agent (counting floe_allocator):\n");
    bench_memory(100, 0);
    bench_memory(10000, BENCH_CANDS);
    return 0;
}
