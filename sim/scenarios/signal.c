/*
 * The simulated signalling channel: ICE credentials (offer and answer),
 * trickled candidates (RFC 8838) and their removals travel between the two ICE endpoints with a
 * delay and optional jitter; while the channel is down they are held and sent on reconnect (DESIGN
 * section 1).
 */
#include <string.h>

#include "scen_int.h"

struct sig_msg {
    bool used;
    uint8_t to;
    uint8_t kind; /* enum floe__sim_sig_kind */
    floe_time at; /* FLOE_TIME_NEVER: held while the channel is down */
    uint64_t seq;
    struct floe__sim_sig_body body;
};

struct floe_sim_signal {
    struct floe_sim *sim;
    struct floe_allocator alloc;
    struct sig_msg *msgs;
    size_t cap, n;
    floe_time delay, jitter;
    floe_time last_at[2]; /* latest arrival scheduled towards each side (FIFO) */
    bool down;
    uint64_t seq, sent;
    struct floe_sim_ice_ep *side[2];
};

int floe_sim_signal_new(struct floe_sim *sim, const struct floe_allocator *alloc, size_t cap,
                        floe_time delay, floe_time jitter, struct floe_sim_signal **out)
{
    struct floe_allocator a = {0};
    struct floe_sim_signal *s;

    if (!sim || !cap || !out)
        return FLOE_ERR_INVALID_ARG;
    if (alloc)
        a = *alloc;
    s = floe_mem_calloc(&a, 1, sizeof(*s));
    if (!s)
        return FLOE_ERR_NOMEM;
    s->msgs = floe_mem_calloc(&a, cap, sizeof(*s->msgs));
    if (!s->msgs) {
        floe_mem_free(&a, s);
        return FLOE_ERR_NOMEM;
    }
    s->sim = sim;
    s->alloc = a;
    s->cap = cap;
    s->delay = delay;
    s->jitter = jitter;
    *out = s;
    return 0;
}

void floe_sim_signal_free(struct floe_sim_signal *sig)
{
    struct floe_allocator a;

    if (!sig)
        return;
    a = sig->alloc;
    floe_mem_free(&a, sig->msgs);
    floe_mem_free(&a, sig);
}

uint64_t floe_sim_signal_sent(const struct floe_sim_signal *sig)
{
    return sig ? sig->sent : 0;
}

size_t floe_sim_signal_pending(const struct floe_sim_signal *sig)
{
    return sig ? sig->n : 0;
}

void floe__sim_signal_attach(struct floe_sim_signal *sig, struct floe_sim_ice_ep *a,
                             struct floe_sim_ice_ep *b)
{
    sig->side[0] = a;
    sig->side[1] = b;
}

/* The due message sent first, or NULL. */
static struct sig_msg *sig_next_due(struct floe_sim_signal *s, floe_time now)
{
    struct sig_msg *best = NULL;
    size_t i;

    for (i = 0; i < s->cap; i++) {
        struct sig_msg *m = &s->msgs[i];

        if (m->used && m->at <= now && (!best || m->seq < best->seq))
            best = m;
    }
    return best;
}

static void sig_deliver(struct floe_sim *sim, void *user)
{
    struct floe_sim_signal *s = user;
    struct sig_msg *m;

    while ((m = sig_next_due(s, floe_sim_now(sim))) != NULL) {
        struct sig_msg copy = *m;

        m->used = false;
        s->n--;
        floe__sim_ice_ep_signal_in(s->side[copy.to], copy.kind, &copy.body);
    }
}

/* Give m its arrival time and schedule the delivery. */
static int sig_schedule(struct floe_sim_signal *s, struct sig_msg *m)
{
    floe_time now = floe_sim_now(s->sim), extra = 0;

    if (s->jitter)
        extra = floe_sim_rand(s->sim) % (s->jitter + 1);
    m->at = floe_time_add(now, s->delay + extra);
    if (m->at < s->last_at[m->to])
        m->at = s->last_at[m->to];
    s->last_at[m->to] = m->at;
    return floe_sim_at(s->sim, m->at, sig_deliver, s);
}

int floe__sim_signal_send(struct floe_sim_signal *sig, uint8_t from_side,
                          enum floe__sim_sig_kind kind, const struct floe__sim_sig_body *body)
{
    struct sig_msg *m = NULL;
    size_t i;

    for (i = 0; i < sig->cap && !m; i++) {
        if (!sig->msgs[i].used)
            m = &sig->msgs[i];
    }
    if (!m)
        return FLOE_ERR_NOMEM;
    memset(m, 0, sizeof(*m));
    m->used = true;
    m->to = (uint8_t)(from_side ^ 1u);
    m->kind = (uint8_t)kind;
    m->seq = sig->seq++;
    m->body = *body;
    m->at = FLOE_TIME_NEVER;
    sig->n++;
    sig->sent++;
    return sig->down ? 0 : sig_schedule(sig, m);
}

void floe_sim_signal_set_down(struct floe_sim_signal *sig, bool down)
{
    size_t i;

    if (!sig || sig->down == down)
        return;
    sig->down = down;
    floe_sim_note(sig->sim, "signal", down ? "down" : "up");
    for (i = 0; !down && i < sig->cap; i++) {
        if (sig->msgs[i].used && sig->msgs[i].at == FLOE_TIME_NEVER)
            sig_schedule(sig, &sig->msgs[i]);
    }
}
