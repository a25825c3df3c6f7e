/*
 * Simulator object, RNG, event queue and the run loop.
 *
 * The event queue is a binary heap ordered by (time, sequence number): the
 * sequence number is the scheduling order, so events at one instant run in
 * the order they were scheduled and a run never depends on heap layout.
 * Endpoint timers are heap entries whose position the endpoint remembers, so
 * re-arming moves the one entry instead of leaving stale ones behind.
 */
#include <string.h>

#include "sim_int.h"

void floe_sim_config_default(struct floe_sim_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->seed = 1;
    cfg->max_hosts = 64;
    cfg->max_networks = 32;
    cfg->max_nats = 16;
    cfg->max_endpoints = 128;
    cfg->max_packets = 4096;
    cfg->max_actions = 256;
    cfg->max_datagram = 1500;
    cfg->max_transmits_per_drive = 1024;
}

static void sim_file_write(void *user, const char *line, size_t len)
{
    fwrite(line, 1, len, (FILE *)user);
}

void floe_sim_config_transcript_file(struct floe_sim_config *cfg, FILE *f)
{
    cfg->transcript = f ? sim_file_write : NULL;
    cfg->transcript_user = f;
}

void floe__sim_name(char dst[FLOE_SIM_NAME_MAX], const char *src)
{
    size_t n = src ? strnlen(src, FLOE_SIM_NAME_MAX - 1) : 0;

    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ------------------------------------------------------------------ RNG */

uint64_t floe__sim_rand(struct floe_sim *sim)
{
    return floe_xoshiro_next(&sim->rng);
}

/* Uniform in [0, n) by multiply-shift; n == 0 gives 0. */
uint64_t floe__sim_rand_below(struct floe_sim *sim, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)floe__sim_rand(sim) * n) >> 64);
}

/* True with probability p; draws nothing when p <= 0 or p >= 1. */
bool floe__sim_chance(struct floe_sim *sim, double p)
{
    double u;

    if (p <= 0.0)
        return false;
    if (p >= 1.0)
        return true;
    u = (double)(floe__sim_rand(sim) >> 11) * 0x1.0p-53;
    return u < p;
}

static void sim_rng_fill(void *user, uint8_t *out, size_t len)
{
    struct floe_sim *sim = user;
    uint64_t r = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        if (i % 8 == 0)
            r = floe__sim_rand(sim);
        out[i] = (uint8_t)(r >> (8 * (i % 8)));
    }
}

struct floe_rng floe_sim_rng(struct floe_sim *sim)
{
    struct floe_rng r = {sim_rng_fill, sim};

    return r;
}

uint64_t floe_sim_rand(struct floe_sim *sim)
{
    return floe__sim_rand(sim);
}

/* ------------------------------------------------------------ lifecycle */

static bool sim_config_ok(const struct floe_sim_config *c)
{
    return c->max_hosts && c->max_networks && c->max_endpoints && c->max_packets &&
           c->max_actions && c->max_datagram && c->max_transmits_per_drive &&
           c->max_datagram <= 65535;
}

static int sim_alloc_tables(struct floe_sim *sim)
{
    const struct floe_sim_config *c = &sim->cfg;
    const struct floe_allocator *a = &sim->cfg.alloc;
    uint32_t i;

    sim->heap_cap = c->max_packets + c->max_endpoints + c->max_actions;
    sim->hosts = floe_mem_calloc(a, c->max_hosts, sizeof(*sim->hosts));
    sim->nets = floe_mem_calloc(a, c->max_networks, sizeof(*sim->nets));
    sim->nats = floe_mem_calloc(a, c->max_nats ? c->max_nats : 1, sizeof(*sim->nats));
    sim->eps = floe_mem_calloc(a, c->max_endpoints, sizeof(*sim->eps));
    sim->pkts = floe_mem_calloc(a, c->max_packets, sizeof(*sim->pkts));
    sim->pkt_data = floe_mem_calloc(a, c->max_packets, c->max_datagram);
    sim->pkt_free = floe_mem_calloc(a, c->max_packets, sizeof(*sim->pkt_free));
    sim->actions = floe_mem_calloc(a, c->max_actions, sizeof(*sim->actions));
    sim->heap = floe_mem_calloc(a, sim->heap_cap, sizeof(*sim->heap));
    sim->txbuf = floe_mem_malloc(a, c->max_datagram);
    if (!sim->hosts || !sim->nets || !sim->nats || !sim->eps || !sim->pkts || !sim->pkt_data ||
        !sim->pkt_free || !sim->actions || !sim->heap || !sim->txbuf)
        return FLOE_ERR_NOMEM;
    for (i = 0; i < c->max_packets; i++) {
        sim->pkts[i].data = sim->pkt_data + (size_t)i * c->max_datagram;
        sim->pkt_free[i] = c->max_packets - 1 - i;
    }
    sim->n_pkt_free = c->max_packets;
    return 0;
}

int floe_sim_new(const struct floe_sim_config *cfg, struct floe_sim **out)
{
    struct floe_sim *sim;

    if (!cfg || !out || !sim_config_ok(cfg))
        return FLOE_ERR_INVALID_ARG;
    sim = floe_mem_calloc(&cfg->alloc, 1, sizeof(*sim));
    if (!sim)
        return FLOE_ERR_NOMEM;
    sim->cfg = *cfg;
    floe_xoshiro_seed(&sim->rng, cfg->seed);
    if (sim_alloc_tables(sim) < 0) {
        floe_sim_free(sim);
        return FLOE_ERR_NOMEM;
    }
    *out = sim;
    return 0;
}

void floe_sim_free(struct floe_sim *sim)
{
    struct floe_allocator a;
    uint32_t i;

    if (!sim)
        return;
    a = sim->cfg.alloc;
    for (i = 0; i < sim->n_nats; i++) {
        floe_mem_free(&a, sim->nats[i].maps);
        floe_mem_free(&a, sim->nats[i].sessions);
    }
    floe_mem_free(&a, sim->hosts);
    floe_mem_free(&a, sim->nets);
    floe_mem_free(&a, sim->nats);
    floe_mem_free(&a, sim->eps);
    floe_mem_free(&a, sim->pkts);
    floe_mem_free(&a, sim->pkt_data);
    floe_mem_free(&a, sim->pkt_free);
    floe_mem_free(&a, sim->actions);
    floe_mem_free(&a, sim->heap);
    floe_mem_free(&a, sim->txbuf);
    floe_mem_free(&a, sim);
}

floe_time floe_sim_now(const struct floe_sim *sim)
{
    return sim->now;
}

const struct floe_sim_counters *floe_sim_counters(const struct floe_sim *sim)
{
    return &sim->counters;
}

uint32_t floe_sim_in_flight(const struct floe_sim *sim)
{
    return sim->cfg.max_packets - sim->n_pkt_free;
}

/* ----------------------------------------------------------- event heap */

static bool heap_before(const struct sim_event *a, const struct sim_event *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

/* Store ev at pos, keeping a timer's back-pointer in its endpoint. */
static void heap_set(struct floe_sim *sim, uint32_t pos, struct sim_event ev)
{
    sim->heap[pos] = ev;
    if (ev.kind == SIM_EV_TIMER)
        sim->eps[ev.idx].heap_pos = pos;
}

static void heap_up(struct floe_sim *sim, uint32_t pos)
{
    struct sim_event ev = sim->heap[pos];

    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;

        if (!heap_before(&ev, &sim->heap[parent]))
            break;
        heap_set(sim, pos, sim->heap[parent]);
        pos = parent;
    }
    heap_set(sim, pos, ev);
}

static void heap_down(struct floe_sim *sim, uint32_t pos)
{
    struct sim_event ev = sim->heap[pos];

    for (;;) {
        uint32_t child = 2 * pos + 1;

        if (child >= sim->heap_len)
            break;
        if (child + 1 < sim->heap_len && heap_before(&sim->heap[child + 1], &sim->heap[child]))
            child++;
        if (!heap_before(&sim->heap[child], &ev))
            break;
        heap_set(sim, pos, sim->heap[child]);
        pos = child;
    }
    heap_set(sim, pos, ev);
}

/* Remove the entry at pos; a removed timer's endpoint forgets its position. */
static struct sim_event heap_remove(struct floe_sim *sim, uint32_t pos)
{
    struct sim_event ev = sim->heap[pos];

    if (ev.kind == SIM_EV_TIMER)
        sim->eps[ev.idx].heap_pos = SIM_NONE;
    sim->heap_len--;
    if (pos < sim->heap_len) {
        heap_set(sim, pos, sim->heap[sim->heap_len]);
        heap_down(sim, pos);
        heap_up(sim, pos);
    }
    return ev;
}

int floe__sim_push(struct floe_sim *sim, floe_time at, uint8_t kind, uint32_t idx)
{
    struct sim_event ev;

    if (sim->heap_len >= sim->heap_cap)
        return FLOE_ERR_NOMEM;
    ev.at = at < sim->now ? sim->now : at;
    ev.seq = sim->seq++;
    ev.kind = kind;
    ev.idx = idx;
    sim->heap_len++;
    heap_set(sim, sim->heap_len - 1, ev);
    heap_up(sim, sim->heap_len - 1);
    return 0;
}

/*
 * Arm (or disarm with FLOE_TIME_NEVER) an endpoint's single timer. The heap
 * always has room: capacity counts one timer per endpoint.
 */
void floe__sim_ep_arm(struct floe_sim *sim, uint32_t ep, floe_time at)
{
    struct sim_ep *e = &sim->eps[ep];

    if (e->heap_pos != SIM_NONE) {
        if (e->timer_at == at)
            return;
        heap_remove(sim, e->heap_pos);
    }
    e->timer_at = at;
    if (at != FLOE_TIME_NEVER)
        floe__sim_push(sim, at, SIM_EV_TIMER, ep);
}

floe_time floe_sim_next_time(const struct floe_sim *sim)
{
    return sim->heap_len ? sim->heap[0].at : FLOE_TIME_NEVER;
}

/* -------------------------------------------------------------- actions */

int floe_sim_at(struct floe_sim *sim, floe_time at, floe_sim_action_fn fn, void *user)
{
    uint32_t i;

    if (!sim || !fn)
        return FLOE_ERR_INVALID_ARG;
    for (i = 0; i < sim->cfg.max_actions; i++) {
        if (sim->actions[i].kind == SIM_ACT_FREE)
            break;
    }
    if (i == sim->cfg.max_actions)
        return FLOE_ERR_NOMEM;
    sim->actions[i].kind = SIM_ACT_CALL;
    sim->actions[i].fn = fn;
    sim->actions[i].user = user;
    return floe__sim_push(sim, at, SIM_EV_ACTION, i);
}

static int sim_action_run(struct floe_sim *sim, uint32_t slot)
{
    struct sim_action act = sim->actions[slot];

    /* Free the slot first: the callback may schedule new actions. */
    sim->actions[slot].kind = SIM_ACT_FREE;
    if (act.kind == SIM_ACT_CALL) {
        act.fn(sim, act.user);
        return 0;
    }
    return floe__sim_roam_finish(sim, &act);
}

/* -------------------------------------------------------------- running */

static int sim_dispatch(struct floe_sim *sim, const struct sim_event *ev)
{
    switch (ev->kind) {
    case SIM_EV_ARRIVE:
        return floe__sim_arrive(sim, ev->idx);
    case SIM_EV_TIMER:
        return floe__sim_timer_fire(sim, ev->idx);
    case SIM_EV_ACTION:
        return sim_action_run(sim, ev->idx);
    default:
        return FLOE_ERR_INTERNAL;
    }
}

int floe_sim_step(struct floe_sim *sim)
{
    struct sim_event ev;
    int rc;

    if (!sim->heap_len)
        return 0;
    ev = heap_remove(sim, 0);
    sim->now = ev.at;
    sim->counters.events++;
    rc = sim_dispatch(sim, &ev);
    if (rc < 0)
        return rc;
    if (sim->cfg.check) {
        rc = sim->cfg.check(sim, sim->cfg.check_user);
        if (rc)
            return rc < 0 ? rc : FLOE_ERR_STATE;
    }
    return 1;
}

int floe_sim_run_until(struct floe_sim *sim, floe_time t)
{
    while (sim->heap_len && sim->heap[0].at <= t) {
        int rc = floe_sim_step(sim);

        if (rc < 0)
            return rc;
    }
    if (t > sim->now)
        sim->now = t;
    return 0;
}

int floe_sim_run_until_idle(struct floe_sim *sim, floe_time limit)
{
    int rc = floe_sim_run_until(sim, limit);

    if (rc < 0)
        return rc;
    return sim->heap_len ? 0 : 1;
}

int floe_sim_run_until_pred(struct floe_sim *sim, bool (*pred)(struct floe_sim *, void *),
                            void *user, floe_time limit)
{
    for (;;) {
        int rc;

        if (pred(sim, user))
            return 1;
        if (!sim->heap_len || sim->heap[0].at > limit)
            return 0;
        rc = floe_sim_step(sim);
        if (rc < 0)
            return rc;
    }
}
