/*
 * Allocations (RFC 8656 section 6): the 5-tuple and relayed-port indexes,
 * permissions (section 9), channels (section 11) and their expiry.
 */
#include <string.h>

#include "relay_int.h"

#define ALLOC_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void alloc_sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = ALLOC_ROTL(v[1], 13) ^ v[0];
    v[0] = ALLOC_ROTL(v[0], 32);
    v[2] += v[3];
    v[3] = ALLOC_ROTL(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = ALLOC_ROTL(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = ALLOC_ROTL(v[1], 17) ^ v[2];
    v[2] = ALLOC_ROTL(v[2], 32);
}

/* SipHash-1-3 of n 64-bit words under key k, so a client cannot aim at one bucket. */
static uint64_t alloc_siphash(const uint64_t k[2], const uint64_t *m, size_t n)
{
    uint64_t v[4] = {k[0] ^ 0x736f6d6570736575u, k[1] ^ 0x646f72616e646f6du,
                     k[0] ^ 0x6c7967656e657261u, k[1] ^ 0x7465646279746573u};
    size_t i;

    for (i = 0; i < n; i++) {
        v[3] ^= m[i];
        alloc_sip_round(v);
        v[0] ^= m[i];
    }
    v[3] ^= (uint64_t)(n * 8) << 56;
    alloc_sip_round(v);
    v[0] ^= (uint64_t)(n * 8) << 56;
    v[2] ^= 0xff;
    for (i = 0; i < 3; i++)
        alloc_sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* The 5-tuple's hash (the transport is always UDP) under the core's random key. */
static uint32_t alloc_hash(const struct floe_relay *r, const struct floe_addr *client,
                           const struct floe_addr *local)
{
    uint64_t m[5];

    m[0] = floe_load_le64(client->ip);
    m[1] = floe_load_le64(client->ip + 8);
    m[2] = floe_load_le64(local->ip);
    m[3] = floe_load_le64(local->ip + 8);
    m[4] = (uint64_t)client->port << 32 | (uint64_t)local->port << 16 | client->family;
    return (uint32_t)alloc_siphash(r->hash_key, m, 5);
}

static struct relay_alloc **alloc_bucket(const struct floe_relay *r, const struct floe_addr *client,
                                         const struct floe_addr *local)
{
    return &r->by_client[alloc_hash(r, client, local) & (r->n_buckets - 1)];
}

struct relay_alloc *floe__relay_find_client(const struct floe_relay *r,
                                            const struct floe_addr *client,
                                            const struct floe_addr *local)
{
    struct relay_alloc *a = *alloc_bucket(r, client, local);

    while (a && !(floe_addr_eq(&a->client, client) && floe_addr_eq(&a->local, local)))
        a = a->next_client;
    return a;
}

static struct relay_alloc **alloc_port_slot(const struct floe_relay *r,
                                            const struct floe_addr *relayed)
{
    if (relayed->family == FLOE_AF_INET)
        return &r->ports_v4[relayed->port];
    return &r->ports_v6[relayed->port];
}

struct relay_alloc *floe__relay_find_port(const struct floe_relay *r,
                                          const struct floe_addr *relayed)
{
    struct relay_alloc *a;

    if (relayed->family != FLOE_AF_INET && relayed->family != FLOE_AF_INET6)
        return NULL;
    a = *alloc_port_slot(r, relayed);
    return (a && a != &r->reserved_marker && a->state == RELAY_ALLOC_LIVE) ? a : NULL;
}

/* The relayed address as clients see it: the external IP when one is set (1:1 NAT). */
struct floe_addr floe__relay_advertised(const struct floe_relay *r, const struct floe_addr *relayed)
{
    const struct floe_addr *ext =
        relayed->family == FLOE_AF_INET ? &r->cfg.external_v4 : &r->cfg.external_v6;
    struct floe_addr out = *relayed;

    if (ext->family == relayed->family)
        memcpy(out.ip, ext->ip, sizeof(out.ip));
    return out;
}

static bool alloc_port_free(struct floe_relay *r, const struct floe_addr *base, uint32_t port)
{
    struct floe_addr probe = *base;

    if (port > r->cfg.port_max)
        return false;
    probe.port = (uint16_t)port;
    return *alloc_port_slot(r, &probe) == NULL;
}

/* A free port in the range from a random start; even (and with a free successor) on request. */
static int alloc_pick_port(struct floe_relay *r, const struct floe_addr *base, bool even, bool pair,
                           uint16_t *port)
{
    uint32_t span = (uint32_t)r->cfg.port_max - r->cfg.port_min + 1u, i, p;
    uint8_t rnd[4];

    if (floe_rng_fill(&r->cfg.rng, rnd, sizeof(rnd)) < 0)
        return FLOE_ERR_INVALID_ARG;
    for (i = 0; i < span; i++) {
        p = r->cfg.port_min + (floe_load_be32(rnd) + i) % span;
        if ((even && (p & 1u)) || !alloc_port_free(r, base, p))
            continue;
        if (pair && !alloc_port_free(r, base, p + 1))
            continue;
        *port = (uint16_t)p;
        return 0;
    }
    return FLOE_ERR_NOT_FOUND;
}

static void alloc_forget_reservation(struct floe_relay *r, struct relay_reservation *res)
{
    struct relay_alloc **slot = alloc_port_slot(r, &res->addr);

    if (*slot == &r->reserved_marker)
        *slot = NULL;
    r->n_lent -= res->lent;
    *res = r->reservations[--r->n_reservations];
}

/* Keep the port after relayed for FLOE_RELAY_RESERVATION_LIFETIME under a fresh token. */
static int alloc_reserve_next(struct floe_relay *r, floe_time now, struct relay_alloc *a,
                              const struct floe_addr *relayed)
{
    const struct floe_relay_resv_hooks *h = &r->cfg.reservations;
    struct relay_reservation *res;
    uint8_t rnd[8];

    if (r->n_reservations - r->n_lent >= FLOE_RELAY_MAX_RESERVATIONS ||
        r->n_reservations >= r->reservations_cap ||
        floe_rng_fill(&r->cfg.rng, rnd, sizeof(rnd)) < 0)
        return FLOE_ERR_NOT_FOUND;
    res = &r->reservations[r->n_reservations++];
    res->token = floe_load_be64(rnd);
    res->addr = *relayed;
    res->addr.port = (uint16_t)(relayed->port + 1);
    res->expires = floe_time_add(now, FLOE_RELAY_RESERVATION_LIFETIME);
    res->lent = false;
    *alloc_port_slot(r, &res->addr) = &r->reserved_marker;
    if (r->shared_resv && h->reserve(h->ctx, res->token, &res->addr, res->expires) < 0) {
        alloc_forget_reservation(r, res);
        return FLOE_ERR_NOT_FOUND;
    }
    a->token = res->token;
    a->has_token = true;
    return 0;
}

static struct relay_reservation *alloc_find_reservation(struct floe_relay *r, uint64_t token)
{
    uint32_t i;

    for (i = 0; i < r->n_reservations; i++) {
        if (r->reservations[i].token == token && !r->reservations[i].lent)
            return &r->reservations[i];
    }
    return NULL;
}

/* Give the port of this core's reservation res to a. */
static void alloc_take_reservation(struct floe_relay *r, struct relay_alloc *a,
                                   struct relay_reservation *res)
{
    a->relayed[a->n_relayed++] = res->addr;
    *alloc_port_slot(r, &res->addr) = a;
    a->fixed = true;
    *res = r->reservations[--r->n_reservations];
}

/* Take the reservation under token from this core into a; FLOE_ERR_NOT_FOUND if none is live. */
static int alloc_claim_local(struct floe_relay *r, floe_time now, struct relay_alloc *a,
                             uint64_t token)
{
    struct relay_reservation *res = alloc_find_reservation(r, token);

    if (!res || res->expires <= now)
        return FLOE_ERR_NOT_FOUND;
    alloc_take_reservation(r, a, res);
    return 0;
}

/*
 * Take the reservation under token through the shared registry: this core's own
 * (its port goes to a) or another core's (a borrows the port until it ends).
 */
static int alloc_claim_shared(struct floe_relay *r, floe_time now, struct relay_alloc *a,
                              uint64_t token)
{
    const struct floe_relay_resv_hooks *h = &r->cfg.reservations;
    struct relay_reservation *res;
    struct floe_addr relayed;

    if (h->claim(h->ctx, token, now, &relayed) < 0)
        return FLOE_ERR_NOT_FOUND;
    res = alloc_find_reservation(r, token);
    if (res) {
        alloc_take_reservation(r, a, res);
        return 0;
    }
    /* another core's port: outside this core's range, so its slot must be free here */
    if ((relayed.family != FLOE_AF_INET && relayed.family != FLOE_AF_INET6) ||
        (relayed.family == FLOE_AF_INET ? !r->ports_v4 : !r->ports_v6) ||
        *alloc_port_slot(r, &relayed) != NULL) {
        h->release(h->ctx, token);
        return FLOE_ERR_NOT_FOUND;
    }
    a->relayed[a->n_relayed++] = relayed;
    *alloc_port_slot(r, &relayed) = a;
    a->fixed = true;
    a->borrowed = true;
    a->token = token;
    return 0;
}

static uint32_t alloc_count_matching(const struct floe_relay *r, const struct relay_req *q,
                                     bool by_user)
{
    uint32_t i, n = 0;

    for (i = 0; i < r->n_allocs; i++) {
        const struct relay_alloc *a = r->allocs[i];

        if (by_user ? strcmp(a->username, q->username) == 0 : floe_addr_ip_eq(&a->client, q->from))
            n++;
    }
    return n;
}

/* Whether quotas allow one more allocation for q; with shared hooks it is counted there. */
static bool alloc_quota_ok(const struct floe_relay *r, const struct relay_req *q)
{
    const struct floe_relay_quota_hooks *h = &r->cfg.quotas;

    if (h->acquire)
        return h->acquire(h->ctx, q->username, q->from, r->cfg.max_allocations_per_user,
                          r->cfg.max_allocations_per_client) == 0;
    if (r->cfg.max_allocations_per_user &&
        alloc_count_matching(r, q, true) >= r->cfg.max_allocations_per_user)
        return false;
    return !(r->cfg.max_allocations_per_client &&
             alloc_count_matching(r, q, false) >= r->cfg.max_allocations_per_client);
}

static struct relay_alloc *alloc_new(struct floe_relay *r, const struct relay_req *q)
{
    struct relay_alloc *a = floe_mem_calloc(&r->cfg.alloc, 1, sizeof(*a));

    if (!a)
        return NULL;
    a->perms = floe_mem_calloc(&r->cfg.alloc, r->cfg.max_permissions, sizeof(*a->perms));
    a->chans = floe_mem_calloc(&r->cfg.alloc, r->cfg.max_channels, sizeof(*a->chans));
    if (!a->perms || !a->chans) {
        floe_mem_free(&r->cfg.alloc, a->perms);
        floe_mem_free(&r->cfg.alloc, a->chans);
        floe_mem_free(&r->cfg.alloc, a);
        return NULL;
    }
    a->id = ++r->next_id;
    a->client = *q->from;
    a->local = *q->local;
    memcpy(a->username, q->username, sizeof(a->username));
    memcpy(a->txid, q->msg->txid, sizeof(a->txid));
    a->fingerprint = q->msg->fingerprint_idx >= 0;
    return a;
}

static int alloc_add_relayed(struct floe_relay *r, floe_time now, struct relay_alloc *a,
                             uint8_t family, const struct relay_alloc_spec *spec)
{
    const struct floe_addr *base = family == FLOE_AF_INET ? &r->cfg.relay_v4 : &r->cfg.relay_v6;
    struct floe_addr relayed = *base;
    bool first = a->n_relayed == 0;
    int rc = alloc_pick_port(r, base, first && spec->even, first && spec->reserve, &relayed.port);

    if (rc < 0)
        return rc;
    a->relayed[a->n_relayed++] = relayed;
    *alloc_port_slot(r, &relayed) = a;
    if (first && spec->reserve)
        return alloc_reserve_next(r, now, a, &relayed);
    return 0;
}

static int alloc_add_all(struct floe_relay *r, floe_time now, struct relay_alloc *a,
                         const struct relay_alloc_spec *spec)
{
    if (spec->has_token && r->shared_resv)
        return alloc_claim_shared(r, now, a, spec->token);
    if (spec->has_token)
        return alloc_claim_local(r, now, a, spec->token);
    if (((spec->families >> FLOE_AF_INET) & 1u) &&
        alloc_add_relayed(r, now, a, FLOE_AF_INET, spec) < 0)
        return FLOE_ERR_NOT_FOUND;
    if (((spec->families >> FLOE_AF_INET6) & 1u) &&
        alloc_add_relayed(r, now, a, FLOE_AF_INET6, spec) < 0)
        return FLOE_ERR_NOT_FOUND;
    return 0;
}

/*
 * Create a pending allocation for q as spec asks and queue BIND_PORT events.
 * Returns 0, FLOE_TURN_ERR_QUOTA or FLOE_TURN_ERR_INSUFFICIENT_CAPACITY.
 */
int floe__relay_alloc_create(struct floe_relay *r, floe_time now, const struct relay_req *q,
                             const struct relay_alloc_spec *spec, struct relay_alloc **out)
{
    struct relay_alloc *a;
    uint8_t i;

    if (r->n_allocs >= r->cfg.max_allocations)
        return FLOE_TURN_ERR_INSUFFICIENT_CAPACITY;
    if (!alloc_quota_ok(r, q))
        return FLOE_TURN_ERR_QUOTA;
    a = alloc_new(r, q);
    if (!a) {
        if (r->cfg.quotas.release)
            r->cfg.quotas.release(r->cfg.quotas.ctx, q->username, q->from);
        return FLOE_TURN_ERR_INSUFFICIENT_CAPACITY;
    }
    a->quota_held = r->cfg.quotas.release != NULL;
    a->expires = floe_time_add(now, RELAY_PENDING_TIMEOUT);
    r->allocs[r->n_allocs++] = a;
    a->dont_fragment = spec->dont_fragment;
    a->af_error = spec->af_error;
    a->even = spec->even;
    a->next_client = *alloc_bucket(r, q->from, q->local);
    *alloc_bucket(r, q->from, q->local) = a;
    if (alloc_add_all(r, now, a, spec) < 0)
        goto no_capacity;
    for (i = 0; i < a->n_relayed; i++) {
        if (floe__relay_push_event(r, FLOE_RELAY_EV_BIND_PORT, a, &a->relayed[i]) < 0)
            goto no_capacity;
        a->bind_q[i] = i;
        a->probes[i] = 1;
        a->pending_binds++;
    }
    r->stats.allocations_total++;
    *out = a;
    return 0;
no_capacity:
    floe__relay_alloc_destroy(r, a);
    return FLOE_TURN_ERR_INSUFFICIENT_CAPACITY;
}

/*
 * The reservation a made (EVEN-PORT R) follows a's even port to even + 1, before its
 * token is answered; the shared registry forgets the old address and records the new.
 */
static int alloc_move_reservation(struct floe_relay *r, struct relay_alloc *a, uint32_t even)
{
    const struct floe_relay_resv_hooks *h = &r->cfg.reservations;
    struct relay_reservation *res = alloc_find_reservation(r, a->token);

    if (!res)
        return FLOE_ERR_NOT_FOUND;
    *alloc_port_slot(r, &res->addr) = NULL;
    res->addr.port = (uint16_t)(even + 1u);
    *alloc_port_slot(r, &res->addr) = &r->reserved_marker;
    if (r->shared_resv && (!h->settle(h->ctx, res->token) ||
                           h->reserve(h->ctx, res->token, &res->addr, res->expires) < 0)) {
        alloc_forget_reservation(r, res);
        a->has_token = false;
        return FLOE_ERR_NOT_FOUND;
    }
    return 0;
}

/*
 * The caller could not bind relayed[idx] (another process holds the port): move it to
 * the next free port of the range (even for EVEN-PORT, with the reserved port after it
 * for R) and queue BIND_PORT for it. FLOE_ERR_NOT_FOUND once every port was tried, or
 * for a port claimed with RESERVATION-TOKEN (the token names it).
 */
int floe__relay_alloc_rebind(struct floe_relay *r, struct relay_alloc *a, uint8_t idx)
{
    struct floe_addr *rel = &a->relayed[idx];
    const struct floe_addr *base =
        rel->family == FLOE_AF_INET ? &r->cfg.relay_v4 : &r->cfg.relay_v6;
    uint32_t span = (uint32_t)r->cfg.port_max - r->cfg.port_min + 1u, p = rel->port;
    bool even = idx == 0 && a->even, pair = idx == 0 && a->has_token;

    if (idx == 0 && a->fixed)
        return FLOE_ERR_NOT_FOUND;
    while (a->probes[idx] < span) {
        a->probes[idx]++;
        p = p >= r->cfg.port_max ? r->cfg.port_min : p + 1;
        if ((even && (p & 1u)) || !alloc_port_free(r, base, p) ||
            (pair && !alloc_port_free(r, base, p + 1)))
            continue;
        *alloc_port_slot(r, rel) = NULL;
        rel->port = (uint16_t)p;
        *alloc_port_slot(r, rel) = a;
        if (pair && alloc_move_reservation(r, a, p) < 0)
            return FLOE_ERR_NOT_FOUND;
        return floe__relay_push_event(r, FLOE_RELAY_EV_BIND_PORT, a, rel);
    }
    return FLOE_ERR_NOT_FOUND;
}

static void alloc_unlink(struct floe_relay *r, struct relay_alloc *a)
{
    struct relay_alloc **pp = alloc_bucket(r, &a->client, &a->local);
    uint32_t i;

    while (*pp && *pp != a)
        pp = &(*pp)->next_client;
    if (*pp)
        *pp = a->next_client;
    for (i = 0; i < r->n_allocs; i++) {
        if (r->allocs[i] == a) {
            r->allocs[i] = r->allocs[--r->n_allocs];
            break;
        }
    }
}

/* Remove a from every index, queue RELEASE_PORT for bound ports, free it. */
void floe__relay_alloc_destroy(struct floe_relay *r, struct relay_alloc *a)
{
    uint8_t i;

    alloc_unlink(r, a);
    for (i = 0; i < a->n_relayed; i++) {
        *alloc_port_slot(r, &a->relayed[i]) = NULL;
        floe__relay_push_event(r, FLOE_RELAY_EV_RELEASE_PORT, a, &a->relayed[i]);
    }
    if (a->borrowed) /* the owner may hand the port out again */
        r->cfg.reservations.release(r->cfg.reservations.ctx, a->token);
    if (a->quota_held)
        r->cfg.quotas.release(r->cfg.quotas.ctx, a->username, &a->client);
    if (a->state == RELAY_ALLOC_LIVE) {
        floe__relay_push_event(r, FLOE_RELAY_EV_EXPIRED, a, &a->relayed[0]);
        r->stats.allocations--;
        r->stats.permissions -= a->n_perms;
        r->stats.channels -= a->n_chans;
    }
    floe_mem_free(&r->cfg.alloc, a->perms);
    floe_mem_free(&r->cfg.alloc, a->chans);
    floe_mem_free(&r->cfg.alloc, a);
}

bool floe__relay_has_permission(const struct relay_alloc *a, floe_time now,
                                const struct floe_addr *peer)
{
    uint32_t i;

    for (i = 0; i < a->n_perms; i++) {
        if (floe_addr_ip_eq(&a->perms[i].ip, peer))
            return a->perms[i].expires > now;
    }
    return false;
}

/* Install or refresh a permission. Returns 0 or FLOE_TURN_ERR_INSUFFICIENT_CAPACITY. */
int floe__relay_add_permission(struct floe_relay *r, struct relay_alloc *a, floe_time now,
                               const struct floe_addr *peer)
{
    floe_time expires = floe_time_add(now, r->cfg.permission_lifetime);
    uint32_t i;

    for (i = 0; i < a->n_perms; i++) {
        if (floe_addr_ip_eq(&a->perms[i].ip, peer)) {
            a->perms[i].expires = expires;
            return 0;
        }
    }
    if (a->n_perms >= r->cfg.max_permissions)
        return FLOE_TURN_ERR_INSUFFICIENT_CAPACITY;
    a->perms[a->n_perms].ip = *peer;
    a->perms[a->n_perms].ip.port = 0;
    a->perms[a->n_perms].expires = expires;
    a->n_perms++;
    r->stats.permissions++;
    return 0;
}

struct relay_chan *floe__relay_chan_by_number(struct relay_alloc *a, floe_time now, uint16_t number)
{
    uint32_t i;

    for (i = 0; i < a->n_chans; i++) {
        if (a->chans[i].number == number)
            return a->chans[i].expires > now ? &a->chans[i] : NULL;
    }
    return NULL;
}

struct relay_chan *floe__relay_chan_by_peer(struct relay_alloc *a, floe_time now,
                                            const struct floe_addr *peer)
{
    uint32_t i;

    for (i = 0; i < a->n_chans; i++) {
        if (floe_addr_eq(&a->chans[i].peer, peer))
            return a->chans[i].expires > now ? &a->chans[i] : NULL;
    }
    return NULL;
}

static void alloc_sweep_one(struct floe_relay *r, struct relay_alloc *a, floe_time now)
{
    uint32_t i = 0;

    while (i < a->n_perms) {
        if (a->perms[i].expires <= now) {
            a->perms[i] = a->perms[--a->n_perms];
            r->stats.permissions--;
        } else {
            i++;
        }
    }
    i = 0;
    while (i < a->n_chans) {
        if (a->chans[i].expires <= now) {
            a->chans[i] = a->chans[--a->n_chans];
            r->stats.channels--;
        } else {
            i++;
        }
    }
}

/* An expired reservation: forget it, unless another core still holds its port. */
static void alloc_expire_reservation(struct floe_relay *r, floe_time now,
                                     struct relay_reservation *res)
{
    const struct floe_relay_resv_hooks *h = &r->cfg.reservations;

    if (r->shared_resv && !h->settle(h->ctx, res->token)) {
        r->n_lent += !res->lent;
        res->lent = true;
        res->expires = floe_time_add(now, RELAY_LENT_RECHECK);
        return;
    }
    alloc_forget_reservation(r, res);
}

static void alloc_sweep_reservations(struct floe_relay *r, floe_time now)
{
    uint32_t i = 0;

    while (i < r->n_reservations) {
        struct relay_reservation *res = &r->reservations[i];
        uint32_t before = r->n_reservations;

        if (res->expires <= now)
            alloc_expire_reservation(r, now, res);
        if (r->n_reservations == before)
            i++; /* else the last one moved into slot i */
    }
}

/* Forget every reservation (the core is going away); lent ports stay with their holders. */
void floe__relay_drop_reservations(struct floe_relay *r)
{
    const struct floe_relay_resv_hooks *h = &r->cfg.reservations;

    while (r->n_reservations) {
        if (r->shared_resv)
            (void)h->settle(h->ctx, r->reservations[0].token);
        alloc_forget_reservation(r, &r->reservations[0]);
    }
}

/* Expire what is due; called from handle_timeout about once a second. */
void floe__relay_sweep(struct floe_relay *r, floe_time now)
{
    uint32_t i = 0;

    alloc_sweep_reservations(r, now);
    while (i < r->n_allocs) {
        struct relay_alloc *a = r->allocs[i];

        if (a->expires <= now) {             /* LIVE and expired, or PENDING and never answered */
            floe__relay_alloc_destroy(r, a); /* moves the last one into slot i */
            continue;
        }
        alloc_sweep_one(r, a, now);
        i++;
    }
}

int floe__relay_push_event(struct floe_relay *r, enum floe_relay_event_kind kind,
                           const struct relay_alloc *a, const struct floe_addr *addr)
{
    struct floe_relay_event *ev;

    if (r->ev_len == r->ev_cap) {
        size_t cap = r->ev_cap ? r->ev_cap * 2 : 64, i;
        struct floe_relay_event *n = floe_mem_calloc(&r->cfg.alloc, cap, sizeof(*n));

        if (!n)
            return FLOE_ERR_NOMEM;
        for (i = 0; i < r->ev_len; i++)
            n[i] = r->events[(r->ev_head + i) % r->ev_cap];
        floe_mem_free(&r->cfg.alloc, r->events);
        r->events = n;
        r->ev_cap = cap;
        r->ev_head = 0;
    }
    ev = &r->events[(r->ev_head + r->ev_len) % r->ev_cap];
    ev->kind = kind;
    ev->alloc_id = a->id;
    ev->addr = *addr;
    ev->client = a->client;
    ev->dont_fragment = a->dont_fragment;
    r->ev_len++;
    return 0;
}
