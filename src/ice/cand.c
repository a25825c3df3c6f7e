/*
 * Candidates and candidate pairs: priorities (RFC 8445 section 5.1.2),
 * foundations (5.1.1.3), pair formation at any time (trickle, RFC 8838),
 * pair priority (6.1.2.3), pruning (6.1.2.4) and the bounded pair table.
 */
#include <string.h>

#include "ice/ice_int.h"

uint8_t floe_ice_type_preference(enum floe_ice_cand_type type)
{
    switch (type) {
    case FLOE_ICE_HOST:
        return FLOE_ICE_TYPE_PREF_HOST;
    case FLOE_ICE_PRFLX:
        return FLOE_ICE_TYPE_PREF_PRFLX;
    case FLOE_ICE_SRFLX:
        return FLOE_ICE_TYPE_PREF_SRFLX;
    case FLOE_ICE_RELAY:
    default:
        return FLOE_ICE_TYPE_PREF_RELAY;
    }
}

uint32_t floe_ice_candidate_priority(enum floe_ice_cand_type type, uint16_t local_pref,
                                     uint8_t component)
{
    uint32_t comp = component ? component : 1u;

    return ((uint32_t)floe_ice_type_preference(type) << 24) | ((uint32_t)local_pref << 8) |
           (256u - comp);
}

uint64_t floe_ice_pair_priority(uint32_t controlling_prio, uint32_t controlled_prio)
{
    uint64_t g = controlling_prio, d = controlled_prio;
    uint64_t lo = g < d ? g : d, hi = g < d ? d : g;

    return (lo << 32) + 2 * hi + (g > d ? 1 : 0);
}

static bool cand_addr_eq_opt(const struct floe_addr *a, const struct floe_addr *b)
{
    if (a->family == FLOE_AF_NONE || b->family == FLOE_AF_NONE)
        return a->family == b->family;
    return floe_addr_ip_eq(a, b);
}

/* Decimal digits of v into out (at least 12 bytes) after prefix char p. */
static void cand_format_foundation(char *out, char p, uint32_t v)
{
    char tmp[12];
    size_t n = 0, i = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out[i++] = p;
    while (n)
        out[i++] = tmp[--n];
    out[i] = '\0';
}

/* RFC 8445 section 5.1.1.3: same type, base IP, server IP and transport share one. */
static void cand_foundation(struct floe_ice_agent *a, const struct ice_cand *tab, size_t n,
                            struct floe_ice_candidate *c, char prefix)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const struct floe_ice_candidate *o = &tab[i].c;

        if (!tab[i].used || o == c || o->type != c->type || !floe_addr_ip_eq(&o->base, &c->base))
            continue;
        if (cand_addr_eq_opt(&o->server, &c->server)) {
            memcpy(c->foundation, o->foundation, sizeof(c->foundation));
            return;
        }
    }
    cand_format_foundation(c->foundation, prefix, ++a->foundation_seq);
}

static int cand_normalize(struct floe_ice_candidate *c, bool local)
{
    if (c->addr.family != FLOE_AF_INET && c->addr.family != FLOE_AF_INET6)
        return FLOE_ERR_INVALID_ARG;
    if ((unsigned)c->type > FLOE_ICE_RELAY)
        return FLOE_ERR_INVALID_ARG;
    if (memchr(c->foundation, '\0', sizeof(c->foundation)) == NULL)
        return FLOE_ERR_INVALID_ARG;
    if (local && c->type == FLOE_ICE_RELAY && c->server.family == FLOE_AF_NONE)
        return FLOE_ERR_INVALID_ARG;
    if (c->component == 0)
        c->component = 1;
    if (c->local_pref == 0)
        c->local_pref = FLOE_ICE_LOCAL_PREF_DEFAULT;
    if (c->priority == 0)
        c->priority = floe_ice_candidate_priority(c->type, c->local_pref, c->component);
    if (!local || c->type == FLOE_ICE_RELAY || c->base.family == FLOE_AF_NONE)
        c->base = c->addr;
    if (!local)
        memset(&c->server, 0, sizeof(c->server));
    return 0;
}

static int cand_find(const struct ice_cand *tab, size_t n, enum floe_ice_cand_type type,
                     const struct floe_addr *addr)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (tab[i].used && !tab[i].stale && tab[i].c.type == type &&
            floe_addr_eq(&tab[i].c.addr, addr))
            return (int)i;
    }
    return ICE_NONE;
}

static int cand_free_slot(const struct ice_cand *tab, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!tab[i].used)
            return (int)i;
    }
    return ICE_NONE;
}

int floe__ice_find_remote(const struct floe_ice_agent *a, const struct floe_addr *addr)
{
    size_t i;

    for (i = 0; i < a->cfg.max_remote_candidates; i++) {
        if (a->remotes[i].used && !a->remotes[i].stale && floe_addr_eq(&a->remotes[i].c.addr, addr))
            return (int)i;
    }
    return ICE_NONE;
}

static bool cand_matches_relay_path(const struct floe_ice_candidate *c,
                                    const struct floe_ice_path *p)
{
    if (c->type != FLOE_ICE_RELAY || !floe_addr_eq(&c->server, &p->relay))
        return false;
    return p->local.family == FLOE_AF_NONE || floe_addr_eq(&c->addr, &p->local);
}

int floe__ice_find_local_by_path(const struct floe_ice_agent *a, const struct floe_ice_path *p)
{
    int best = ICE_NONE;
    size_t i;

    for (i = 0; i < a->cfg.max_local_candidates; i++) {
        const struct floe_ice_candidate *c = &a->locals[i].c;

        if (!a->locals[i].used || a->locals[i].stale)
            continue;
        if (p->via_relay) {
            if (cand_matches_relay_path(c, p))
                return (int)i;
            continue;
        }
        if (c->type == FLOE_ICE_RELAY || !floe_addr_eq(&c->base, &p->local))
            continue;
        if (c->type == FLOE_ICE_HOST)
            return (int)i;
        if (best == ICE_NONE)
            best = (int)i;
    }
    return best;
}

static uint64_t cand_pair_priority(const struct floe_ice_agent *a, int local, int remote)
{
    uint32_t l = a->locals[local].c.priority, r = a->remotes[remote].c.priority;

    if (a->role == FLOE_ICE_CONTROLLING)
        return floe_ice_pair_priority(l, r);
    return floe_ice_pair_priority(r, l);
}

void floe__ice_pair_path(const struct floe_ice_agent *a, const struct ice_pair *p,
                         struct floe_ice_path *out)
{
    const struct floe_ice_candidate *c = &a->locals[p->local].c;

    memset(out, 0, sizeof(*out));
    out->local = c->base;
    if (c->type == FLOE_ICE_RELAY) {
        out->via_relay = true;
        out->relay = c->server;
    }
}

static bool cand_path_eq(const struct floe_ice_path *x, const struct floe_ice_path *y)
{
    if (x->via_relay != y->via_relay || !floe_addr_eq(&x->local, &y->local))
        return false;
    return !x->via_relay || floe_addr_eq(&x->relay, &y->relay);
}

/* A datagram that arrived over `in` came over a pair whose path is `pair`. */
bool floe__ice_path_matches(const struct floe_ice_path *pair, const struct floe_ice_path *in)
{
    if (!in->via_relay)
        return !pair->via_relay && floe_addr_eq(&pair->local, &in->local);
    if (!pair->via_relay || !floe_addr_eq(&pair->relay, &in->relay))
        return false;
    return in->local.family == FLOE_AF_NONE || floe_addr_eq(&pair->local, &in->local);
}

void floe__ice_pair_info(const struct floe_ice_agent *a, const struct ice_pair *p,
                         struct floe_ice_pair_info *out)
{
    out->local = a->locals[p->local].c;
    out->remote = a->remotes[p->remote].c;
    floe__ice_pair_path(a, p, &out->path);
    out->priority = p->priority;
    out->state = p->state;
    out->nominated = p->nominated;
}

bool floe__ice_same_foundation(const struct floe_ice_agent *a, const struct ice_pair *x,
                               const struct ice_pair *y)
{
    return strcmp(a->locals[x->local].c.foundation, a->locals[y->local].c.foundation) == 0 &&
           strcmp(a->remotes[x->remote].c.foundation, a->remotes[y->remote].c.foundation) == 0;
}

/*
 * The pair of the current generation that sends from local's base to remote's
 * address: the same pair, or one redundant with it (RFC 8445 section 6.1.2.4).
 */
int floe__ice_find_pair(const struct floe_ice_agent *a, int local, int remote)
{
    struct ice_pair probe = {.local = local, .remote = remote};
    struct floe_ice_path want, have;
    const struct floe_addr *raddr = &a->remotes[remote].c.addr;
    size_t i;

    floe__ice_pair_path(a, &probe, &want);
    for (i = 0; i < a->n_pairs; i++) {
        const struct ice_pair *p = &a->pairs[i];

        if (p->old_gen || !floe_addr_eq(&a->remotes[p->remote].c.addr, raddr))
            continue;
        floe__ice_pair_path(a, p, &have);
        if (cand_path_eq(&want, &have))
            return (int)i;
    }
    return ICE_NONE;
}

/*
 * Of two redundant pairs the one with the higher priority stays (the new one
 * replaces a pair whose check has not started); either way one is pruned.
 */
static int cand_prune(struct floe_ice_agent *a, int idx, int local, uint64_t prio)
{
    struct ice_pair *p = &a->pairs[idx];
    bool idle = p->state == FLOE_ICE_PAIR_FROZEN || p->state == FLOE_ICE_PAIR_WAITING;

    if (p->local == local)
        return idx;
    a->stats.pairs_pruned++;
    if (prio > p->priority && idle) {
        p->local = local;
        p->priority = prio;
    }
    return idx;
}

/* Index of the lowest-priority pair that may be dropped, or ICE_NONE. */
static int cand_lowest_pair(const struct floe_ice_agent *a)
{
    int low = ICE_NONE;
    size_t i;

    for (i = 0; i < a->n_pairs; i++) {
        const struct ice_pair *p = &a->pairs[i];

        if ((int)i == a->selected || p->nominated || p->old_gen ||
            p->state == FLOE_ICE_PAIR_IN_PROGRESS)
            continue;
        if (low == ICE_NONE || p->priority < a->pairs[low].priority)
            low = (int)i;
    }
    return low;
}

static bool cand_make_room(struct floe_ice_agent *a, uint64_t prio)
{
    int low;

    if (a->n_pairs < a->pairs_cap || floe__ice_grow_pairs(a))
        return true;
    low = cand_lowest_pair(a);
    a->stats.pairs_dropped++;
    if (low == ICE_NONE || a->pairs[low].priority >= prio)
        return false;
    floe__ice_remove_pair(a, (size_t)low);
    return true;
}

/* A pair of np's foundation that keeps np Frozen: a check running or due, or a better Waiting. */
static bool cand_blocks(const struct floe_ice_agent *a, const struct ice_pair *p,
                        const struct ice_pair *np)
{
    if (p->old_gen || !floe__ice_same_foundation(a, p, np))
        return false;
    if (p->state == FLOE_ICE_PAIR_IN_PROGRESS ||
        (p->state == FLOE_ICE_PAIR_WAITING && p->triggered))
        return true;
    return p->state == FLOE_ICE_PAIR_WAITING && p->priority >= np->priority;
}

/* A pair of np's foundation succeeded: its pairs are unfrozen (RFC 8445 section 7.2.5.3.3). */
static bool cand_foundation_succeeded(const struct floe_ice_agent *a, const struct ice_pair *np)
{
    size_t i;

    for (i = 0; i < a->n_pairs; i++) {
        const struct ice_pair *p = &a->pairs[i];

        if (!p->old_gen && p->state == FLOE_ICE_PAIR_SUCCEEDED &&
            floe__ice_same_foundation(a, p, np))
            return true;
    }
    return false;
}

/*
 * RFC 8445 section 6.1.2.6: of the pairs of one foundation whose checks have not
 * started, the highest-priority one is Waiting and the others Frozen, in
 * whatever order the candidates trickled in; once a pair of the foundation
 * succeeded, new pairs of it are Waiting (RFC 8838 section 10).
 */
static enum floe_ice_pair_state cand_initial_state(struct floe_ice_agent *a,
                                                   const struct ice_pair *np)
{
    size_t i;

    if (cand_foundation_succeeded(a, np))
        return FLOE_ICE_PAIR_WAITING;
    for (i = 0; i < a->n_pairs; i++) {
        if (cand_blocks(a, &a->pairs[i], np))
            return FLOE_ICE_PAIR_FROZEN;
    }
    for (i = 0; i < a->n_pairs; i++) {
        struct ice_pair *p = &a->pairs[i];

        if (!p->old_gen && p->state == FLOE_ICE_PAIR_WAITING && floe__ice_same_foundation(a, p, np))
            p->state = FLOE_ICE_PAIR_FROZEN;
    }
    return FLOE_ICE_PAIR_WAITING;
}

int floe__ice_pair_for(struct floe_ice_agent *a, floe_time now, int local, int remote)
{
    const struct floe_ice_candidate *l = &a->locals[local].c, *r = &a->remotes[remote].c;
    struct ice_pair *p;
    uint64_t prio;
    int idx;

    if (l->component != 1 || r->component != 1 || l->addr.family != r->addr.family ||
        a->locals[local].stale || a->remotes[remote].stale)
        return ICE_NONE;
    prio = cand_pair_priority(a, local, remote);
    idx = floe__ice_find_pair(a, local, remote);
    if (idx != ICE_NONE)
        return cand_prune(a, idx, local, prio);
    if (!cand_make_room(a, prio))
        return ICE_NONE;
    p = &a->pairs[a->n_pairs];
    memset(p, 0, sizeof(*p));
    p->local = local;
    p->remote = remote;
    p->priority = prio;
    p->state = cand_initial_state(a, p);
    p->last_response = FLOE_TIME_NEVER;
    p->next = now;
    a->n_pairs++;
    a->ever_paired = true;
    a->consent_lost = false;
    a->stats.pairs_formed++;
    return (int)(a->n_pairs - 1);
}

void floe__ice_reprioritize(struct floe_ice_agent *a)
{
    size_t i;

    for (i = 0; i < a->n_pairs; i++)
        a->pairs[i].priority = cand_pair_priority(a, a->pairs[i].local, a->pairs[i].remote);
}

void floe__ice_remove_pair(struct floe_ice_agent *a, size_t idx)
{
    size_t last = a->n_pairs - 1;

    if ((int)idx == a->selected)
        floe__ice_set_selected(a, ICE_NONE, 0); /* the time is unused when clearing */
    if (idx != last)
        a->pairs[idx] = a->pairs[last];
    if (a->selected == (int)last)
        a->selected = (int)idx;
    a->n_pairs--;
}

/* Remove the pairs of a slot (but the previous generation's when keep_old); true if one stays. */
static bool cand_remove_pairs_of(struct floe_ice_agent *a, bool local, int slot, bool keep_old)
{
    size_t i = a->n_pairs;
    bool kept = false;

    while (i-- > 0) {
        const struct ice_pair *p = &a->pairs[i];

        if ((local ? p->local : p->remote) != slot)
            continue;
        if (keep_old && p->old_gen)
            kept = true;
        else
            floe__ice_remove_pair(a, i);
    }
    return kept;
}

/* Forget every candidate of a table; one the previous generation's pair uses turns stale. */
static void cand_clear(struct floe_ice_agent *a, bool local)
{
    struct ice_cand *tab = local ? a->locals : a->remotes;
    size_t n = local ? a->cfg.max_local_candidates : a->cfg.max_remote_candidates, i;

    for (i = 0; i < n; i++) {
        if (!tab[i].used || tab[i].stale)
            continue;
        if (cand_remove_pairs_of(a, local, (int)i, true)) {
            tab[i].stale = true;
            a->has_stale = true;
        } else
            tab[i].used = false;
    }
}

void floe__ice_clear_remote(struct floe_ice_agent *a)
{
    cand_clear(a, false);
    a->remote_eoc = false;
}

void floe__ice_clear_local(struct floe_ice_agent *a)
{
    cand_clear(a, true);
    a->local_eoc = false;
}

/* Free the stale candidates no pair uses; true when some stay (a pair still uses them). */
static bool cand_free_unused_stale(struct ice_cand *tab, size_t n, const struct floe_ice_agent *a,
                                   bool local)
{
    bool left = false;
    size_t i, k;

    for (i = 0; i < n; i++) {
        bool used = false;

        for (k = 0; k < a->n_pairs && tab[i].stale && !used; k++)
            used = (local ? a->pairs[k].local : a->pairs[k].remote) == (int)i;
        if (tab[i].stale && !used) {
            tab[i].used = false;
            tab[i].stale = false;
        }
        left = left || tab[i].stale;
    }
    return left;
}

/* Once the previous generation's pair is no longer selected, it and its stale candidates go. */
void floe__ice_sweep_old_gen(struct floe_ice_agent *a)
{
    size_t i = a->n_pairs;
    bool left;

    if (a->old.active)
        return;
    while (i-- > 0) {
        if (a->pairs[i].old_gen)
            floe__ice_remove_pair(a, i);
    }
    if (!a->has_stale) /* every update comes here: the tables are not read for nothing */
        return;
    left = cand_free_unused_stale(a->locals, a->cfg.max_local_candidates, a, true);
    if (cand_free_unused_stale(a->remotes, a->cfg.max_remote_candidates, a, false))
        left = true;
    a->has_stale = left;
}

static void cand_pair_all(struct floe_ice_agent *a, floe_time now, bool local, int slot)
{
    size_t n = local ? a->cfg.max_remote_candidates : a->cfg.max_local_candidates;
    const struct ice_cand *other = local ? a->remotes : a->locals;
    size_t i;

    for (i = 0; i < n; i++) {
        if (!other[i].used || other[i].stale)
            continue;
        if (local)
            floe__ice_pair_for(a, now, slot, (int)i);
        else
            floe__ice_pair_for(a, now, (int)i, slot);
    }
}

static int cand_insert(struct floe_ice_agent *a, bool local, const struct floe_ice_candidate *c)
{
    struct ice_cand *tab = local ? a->locals : a->remotes;
    size_t n = local ? a->cfg.max_local_candidates : a->cfg.max_remote_candidates;
    int slot = cand_free_slot(tab, n);

    if (slot == ICE_NONE) {
        a->stats.dropped_overflow++;
        return ICE_NONE;
    }
    tab[slot].used = true;
    tab[slot].c = *c;
    if (c->foundation[0] == '\0')
        cand_foundation(a, tab, n, &tab[slot].c, local ? 'L' : 'R');
    return slot;
}

static int cand_check_args(struct floe_ice_agent *a, const struct floe_ice_candidate *cand)
{
    if (!a || !cand)
        return FLOE_ERR_INVALID_ARG;
    if (a->state == FLOE_ICE_CLOSED || a->state == FLOE_ICE_FAILED)
        return FLOE_ERR_STATE;
    return 0;
}

int floe_ice_add_local_candidate(struct floe_ice_agent *agent, floe_time now,
                                 const struct floe_ice_candidate *cand)
{
    struct floe_ice_candidate c;
    int rc = cand_check_args(agent, cand), slot;

    if (rc != 0)
        return rc;
    c = *cand;
    rc = cand_normalize(&c, true);
    if (rc != 0)
        return rc;
    if (cand_find(agent->locals, agent->cfg.max_local_candidates, c.type, &c.addr) != ICE_NONE)
        return 0;
    slot = cand_insert(agent, true, &c);
    if (slot == ICE_NONE)
        return FLOE_ERR_NOMEM;
    cand_pair_all(agent, now, true, slot);
    floe__ice_update(agent, now);
    return 0;
}

/* A signalled candidate at the address of a learned peer-reflexive one replaces it. */
static void cand_upgrade_prflx(struct floe_ice_agent *a, int slot,
                               const struct floe_ice_candidate *c)
{
    struct floe_ice_candidate *o = &a->remotes[slot].c;

    o->type = c->type;
    o->priority = c->priority;
    o->local_pref = c->local_pref;
    if (c->foundation[0] != '\0')
        memcpy(o->foundation, c->foundation, sizeof(o->foundation));
    floe__ice_reprioritize(a);
}

int floe_ice_add_remote_candidate(struct floe_ice_agent *agent, floe_time now,
                                  const struct floe_ice_candidate *cand)
{
    struct floe_ice_candidate c;
    int rc = cand_check_args(agent, cand), slot;

    if (rc != 0)
        return rc;
    c = *cand;
    rc = cand_normalize(&c, false);
    if (rc != 0)
        return rc;
    slot = floe__ice_find_remote(agent, &c.addr);
    if (slot != ICE_NONE) {
        if (agent->remotes[slot].c.type == FLOE_ICE_PRFLX && c.type != FLOE_ICE_PRFLX)
            cand_upgrade_prflx(agent, slot, &c);
        return 0;
    }
    slot = cand_insert(agent, false, &c);
    if (slot == ICE_NONE)
        return FLOE_ERR_NOMEM;
    cand_pair_all(agent, now, false, slot);
    floe__ice_update(agent, now);
    return 0;
}

static int cand_remove(struct floe_ice_agent *a, floe_time now, bool local,
                       const struct floe_ice_candidate *cand)
{
    struct ice_cand *tab;
    size_t n;
    int slot;

    if (!a || !cand)
        return FLOE_ERR_INVALID_ARG;
    tab = local ? a->locals : a->remotes;
    n = local ? a->cfg.max_local_candidates : a->cfg.max_remote_candidates;
    slot = cand_find(tab, n, cand->type, &cand->addr);
    if (slot == ICE_NONE)
        return FLOE_ERR_NOT_FOUND;
    cand_remove_pairs_of(a, local, slot, false);
    tab[slot].used = false;
    floe__ice_update(a, now);
    return 0;
}

int floe_ice_remove_local_candidate(struct floe_ice_agent *agent, floe_time now,
                                    const struct floe_ice_candidate *cand)
{
    return cand_remove(agent, now, true, cand);
}

int floe_ice_remove_remote_candidate(struct floe_ice_agent *agent, floe_time now,
                                     const struct floe_ice_candidate *cand)
{
    return cand_remove(agent, now, false, cand);
}

int floe_ice_end_of_local_candidates(struct floe_ice_agent *agent, floe_time now)
{
    if (!agent)
        return FLOE_ERR_INVALID_ARG;
    agent->local_eoc = true;
    floe__ice_update(agent, now);
    return 0;
}

int floe_ice_end_of_remote_candidates(struct floe_ice_agent *agent, floe_time now)
{
    if (!agent)
        return FLOE_ERR_INVALID_ARG;
    agent->remote_eoc = true;
    floe__ice_update(agent, now);
    return 0;
}

int floe__ice_add_remote_prflx(struct floe_ice_agent *a, const struct floe_addr *addr,
                               uint32_t priority)
{
    struct floe_ice_candidate c;
    struct floe_ice_event ev = {.type = FLOE_ICE_EV_REMOTE_PRFLX};
    int slot;

    memset(&c, 0, sizeof(c));
    c.type = FLOE_ICE_PRFLX;
    c.addr = *addr;
    c.base = *addr;
    c.priority = priority;
    c.local_pref = (uint16_t)(priority >> 8);
    c.component = 1;
    cand_format_foundation(c.foundation, 'P', ++a->foundation_seq);
    slot = cand_insert(a, false, &c);
    if (slot == ICE_NONE)
        return ICE_NONE;
    ev.u.candidate = c;
    floe__ice_push_event(a, &ev);
    return slot;
}

int floe__ice_add_local_prflx(struct floe_ice_agent *a, int base_slot,
                              const struct floe_addr *mapped)
{
    const struct floe_ice_candidate *b = &a->locals[base_slot].c;
    struct floe_ice_candidate c;
    struct floe_ice_event ev = {.type = FLOE_ICE_EV_LOCAL_PRFLX};
    int slot;

    memset(&c, 0, sizeof(c));
    c.type = FLOE_ICE_PRFLX;
    c.addr = *mapped;
    c.base = b->base;
    c.local_pref = (uint16_t)(b->priority >> 8);
    c.component = 1;
    c.priority = floe_ice_candidate_priority(FLOE_ICE_PRFLX, c.local_pref, 1);
    slot = cand_insert(a, true, &c);
    if (slot == ICE_NONE)
        return ICE_NONE;
    ev.u.candidate = a->locals[slot].c;
    floe__ice_push_event(a, &ev);
    return slot;
}

static void cand_copy_out(const struct ice_cand *tab, size_t n, struct floe_ice_candidate *out,
                          size_t max, size_t *count)
{
    size_t i;

    for (i = 0; i < n && *count < max; i++) {
        if (tab[i].used && !tab[i].stale)
            out[(*count)++] = tab[i].c;
    }
}

size_t floe_ice_get_local_candidates(const struct floe_ice_agent *agent,
                                     struct floe_ice_candidate *out, size_t max)
{
    size_t count = 0;

    if (agent && out)
        cand_copy_out(agent->locals, agent->cfg.max_local_candidates, out, max, &count);
    return count;
}

size_t floe_ice_get_remote_candidates(const struct floe_ice_agent *agent,
                                      struct floe_ice_candidate *out, size_t max)
{
    size_t count = 0;

    if (agent && out)
        cand_copy_out(agent->remotes, agent->cfg.max_remote_candidates, out, max, &count);
    return count;
}

size_t floe_ice_get_pairs(const struct floe_ice_agent *agent, struct floe_ice_pair_info *out,
                          size_t max)
{
    struct floe_ice_pair_info info;
    size_t i, n = 0, j;

    if (!agent || !out)
        return 0;
    for (i = 0; i < agent->n_pairs; i++) {
        if (agent->pairs[i].old_gen)
            continue;
        floe__ice_pair_info(agent, &agent->pairs[i], &info);
        for (j = n; j > 0 && out[j - 1].priority < info.priority; j--) {
            if (j < max)
                out[j] = out[j - 1];
        }
        if (j < max)
            out[j] = info;
        if (n < max)
            n++;
    }
    return n;
}
