/* The relay core object: creation, input dispatch, timers, events, counters. */
#include <string.h>

#include "relay_int.h"

void floe_relay_config_default(struct floe_relay_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->realm = "floe";
    cfg->port_min = 49152;
    cfg->port_max = 65535;
    cfg->default_lifetime = FLOE_SEC(600);
    cfg->max_lifetime = FLOE_SEC(3600);
    cfg->permission_lifetime = FLOE_SEC(300);
    cfg->channel_lifetime = FLOE_SEC(600);
    cfg->nonce_lifetime = FLOE_SEC(600);
    cfg->max_allocations = 10000;
    cfg->max_permissions = 64;
    cfg->max_channels = 64;
    cfg->unauth_rate = 10000;
    cfg->unauth_source_rate = 100;
    cfg->unauth_sources = 4096;
}

/* All four reservation hooks, or none. */
static int relay_check_resv_hooks(const struct floe_relay_resv_hooks *h)
{
    int n = !!h->reserve + !!h->claim + !!h->release + !!h->settle;

    return n == 0 || n == 4 ? 0 : FLOE_ERR_INVALID_ARG;
}

static int relay_check_config(const struct floe_relay_config *cfg)
{
    if (!cfg->rng.fill || !cfg->realm || (!cfg->relay_v4.family && !cfg->relay_v6.family))
        return FLOE_ERR_INVALID_ARG;
    if (cfg->n_users > FLOE_RELAY_MAX_USERS || cfg->n_allow > FLOE_RELAY_MAX_CIDRS ||
        cfg->n_deny > FLOE_RELAY_MAX_CIDRS || cfg->n_listen > FLOE_RELAY_MAX_LISTEN ||
        cfg->n_own > FLOE_RELAY_MAX_OWN || (!cfg->n_users && !cfg->auth_secret))
        return FLOE_ERR_INVALID_ARG;
    if (cfg->relay_range_min > cfg->relay_range_max)
        return FLOE_ERR_INVALID_ARG;
    if (cfg->port_min == 0 || cfg->port_min > cfg->port_max || !cfg->max_allocations ||
        !cfg->max_permissions || !cfg->max_channels)
        return FLOE_ERR_INVALID_ARG;
    if (!cfg->quotas.acquire != !cfg->quotas.release)
        return FLOE_ERR_INVALID_ARG;
    if ((cfg->external_v4.family &&
         (cfg->external_v4.family != FLOE_AF_INET || !cfg->relay_v4.family)) ||
        (cfg->external_v6.family &&
         (cfg->external_v6.family != FLOE_AF_INET6 || !cfg->relay_v6.family)))
        return FLOE_ERR_INVALID_ARG;
    return relay_check_resv_hooks(&cfg->reservations);
}

/*
 * Room for the unclaimed reservations and, when shared, for those whose port
 * another core holds; each one keeps an odd port of this core's range.
 */
static uint32_t relay_reservations_cap(const struct floe_relay_config *cfg)
{
    uint32_t odd_ports = ((uint32_t)cfg->port_max - cfg->port_min) / 2u + 1u;
    uint32_t cap = FLOE_RELAY_MAX_RESERVATIONS;

    if (cfg->reservations.claim)
        cap += cfg->max_allocations;
    return cap < odd_ports ? cap : odd_ports;
}

static int relay_alloc_tables(struct floe_relay *r)
{
    const struct floe_allocator *al = &r->cfg.alloc;

    uint8_t k[16];

    if (floe_rng_fill(&r->cfg.rng, k, sizeof(k)) < 0)
        return FLOE_ERR_CRYPTO;
    r->hash_key[0] = floe_load_le64(k);
    r->hash_key[1] = floe_load_le64(k + 8);
    r->n_buckets = 64;
    while (r->n_buckets < r->cfg.max_allocations * 2u && r->n_buckets < (1u << 24))
        r->n_buckets <<= 1;
    r->by_client = floe_mem_calloc(al, r->n_buckets, sizeof(*r->by_client));
    r->allocs = floe_mem_calloc(al, r->cfg.max_allocations, sizeof(*r->allocs));
    if (r->cfg.relay_v4.family)
        r->ports_v4 = floe_mem_calloc(al, RELAY_PORT_SLOTS, sizeof(*r->ports_v4));
    if (r->cfg.relay_v6.family)
        r->ports_v6 = floe_mem_calloc(al, RELAY_PORT_SLOTS, sizeof(*r->ports_v6));
    r->reservations_cap = relay_reservations_cap(&r->cfg);
    r->reservations = floe_mem_calloc(al, r->reservations_cap, sizeof(*r->reservations));
    if (!r->by_client || !r->allocs || (r->cfg.relay_v4.family && !r->ports_v4) ||
        (r->cfg.relay_v6.family && !r->ports_v6) || !r->reservations)
        return FLOE_ERR_NOMEM;
    return 0;
}

int floe_relay_new(struct floe_relay **out, const struct floe_relay_config *cfg)
{
    struct floe_relay *r;
    int rc;

    if (!out || !cfg)
        return FLOE_ERR_INVALID_ARG;
    rc = relay_check_config(cfg);
    if (rc < 0)
        return rc;
    r = floe_mem_calloc(&cfg->alloc, 1, sizeof(*r));
    if (!r)
        return FLOE_ERR_NOMEM;
    r->cfg = *cfg;
    r->shared_resv = cfg->reservations.claim != NULL;
    r->next_sweep = FLOE_TIME_NEVER;
    rc = relay_alloc_tables(r);
    if (rc == 0)
        rc = floe__relay_policy_init(r);
    if (rc == 0)
        rc = floe__relay_auth_init(r);
    if (rc == 0)
        rc = floe__relay_limit_init(r);
    if (rc < 0) {
        floe_relay_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void floe_relay_free(struct floe_relay *r)
{
    const struct floe_allocator *al;

    if (!r)
        return;
    al = &r->cfg.alloc;
    while (r->n_allocs)
        floe__relay_alloc_destroy(r, r->allocs[0]);
    if (r->reservations)
        floe__relay_drop_reservations(r);
    floe_mem_free(al, r->reservations);
    floe_hmac_free(r->nonce_mac);
    floe_mem_free(al, r->by_client);
    floe_mem_free(al, r->allocs);
    floe_mem_free(al, r->ports_v4);
    floe_mem_free(al, r->ports_v6);
    floe_mem_free(al, r->events);
    floe_mem_free(al, r->sources);
    floe_wipe(r->user_keys, sizeof(r->user_keys));
    floe_mem_free(al, r);
}

void floe_relay_set_unix_time(struct floe_relay *r, int64_t unix_seconds)
{
    r->unix_now = unix_seconds;
}

static long relay_stun_in(struct floe_relay *r, floe_time now, const struct floe_addr *local,
                          const struct floe_addr *from, const uint8_t *buf, size_t len,
                          uint8_t *out, size_t cap, struct floe_relay_tx *tx)
{
    struct floe_stun_msg msg;
    struct relay_req q;

    if (floe_stun_decode(&msg, buf, len) < 0 ||
        (msg.fingerprint_idx >= 0 && floe_stun_verify_fingerprint(&msg) != 0)) {
        r->stats.drops[FLOE_RELAY_DROP_MALFORMED]++;
        return 0;
    }
    memset(&q, 0, sizeof(q));
    q.msg = &msg;
    q.local = local;
    q.from = from;
    q.out = out;
    q.cap = cap;
    q.tx = tx;
    if (msg.cls == FLOE_STUN_REQUEST)
        return floe__relay_request(r, now, &q);
    if (msg.cls == FLOE_STUN_INDICATION && msg.method == FLOE_STUN_SEND)
        return floe__relay_send_indication(r, now, &q);
    r->stats.drops[FLOE_RELAY_DROP_UNEXPECTED]++;
    return 0;
}

long floe_relay_handle_client(struct floe_relay *r, floe_time now, const struct floe_addr *local,
                              const struct floe_addr *from, const uint8_t *buf, size_t len,
                              uint8_t *out, size_t cap, struct floe_relay_tx *tx)
{
    if (!r || !local || !from || (!buf && len) || !out || !tx)
        return FLOE_ERR_INVALID_ARG;
    if (r->next_sweep == FLOE_TIME_NEVER)
        r->next_sweep = floe_time_add(now, FLOE_SEC(1));
    switch (floe_packet_classify(buf, len)) {
    case FLOE_PACKET_CHANNELDATA:
        return floe__relay_channeldata_in(r, now, local, from, buf, len, out, cap, tx);
    case FLOE_PACKET_STUN:
        return relay_stun_in(r, now, local, from, buf, len, out, cap, tx);
    default:
        r->stats.drops[FLOE_RELAY_DROP_MALFORMED]++;
        return 0;
    }
}

static struct relay_alloc *relay_find_id(const struct floe_relay *r, uint32_t id)
{
    uint32_t i;

    for (i = 0; i < r->n_allocs; i++) {
        if (r->allocs[i]->id == id)
            return r->allocs[i];
    }
    return NULL;
}

long floe_relay_port_bound(struct floe_relay *r, floe_time now, uint32_t alloc_id, int err,
                           uint8_t *out, size_t cap, struct floe_relay_tx *tx)
{
    struct relay_alloc *a;
    struct floe_stun_msg msg;
    struct relay_req q;
    uint8_t idx;

    if (!r || !out || !tx)
        return FLOE_ERR_INVALID_ARG;
    a = relay_find_id(r, alloc_id);
    if (!a || a->state != RELAY_ALLOC_PENDING || a->pending_binds == 0)
        return FLOE_ERR_STATE;
    idx = a->bind_q[a->bind_head];
    a->bind_head = (uint8_t)((a->bind_head + 1u) % 2u);
    a->pending_binds--;
    if (err < 0 && !a->bind_failed && floe__relay_alloc_rebind(r, a, idx) == 0) {
        a->bind_q[(a->bind_head + a->pending_binds) % 2u] = idx; /* answered once bound */
        a->pending_binds++;
        return 0;
    }
    a->bind_failed |= err < 0;
    if (a->pending_binds)
        return 0;
    memset(&msg, 0, sizeof(msg));
    msg.method = FLOE_STUN_ALLOCATE;
    msg.cls = FLOE_STUN_REQUEST;
    memcpy(msg.txid, a->txid, sizeof(msg.txid));
    msg.integrity_idx = msg.integrity_sha256_idx = -1;
    msg.fingerprint_idx = a->fingerprint ? 0 : -1;
    memset(&q, 0, sizeof(q));
    q.msg = &msg;
    q.local = &a->local;
    q.from = &a->client;
    q.out = out;
    q.cap = cap;
    q.tx = tx;
    q.key = a->key;
    return floe__relay_allocate_done(r, now, a, &q);
}

/* Allocations and reservations expire; nothing else needs the timer. */
static bool relay_has_timers(const struct floe_relay *r)
{
    return r->n_allocs || r->n_reservations;
}

void floe_relay_handle_timeout(struct floe_relay *r, floe_time now)
{
    if (now < r->next_sweep)
        return;
    floe__relay_sweep(r, now);
    r->next_sweep = relay_has_timers(r) ? floe_time_add(now, FLOE_SEC(1)) : FLOE_TIME_NEVER;
}

floe_time floe_relay_poll_timeout(const struct floe_relay *r)
{
    return relay_has_timers(r) ? r->next_sweep : FLOE_TIME_NEVER;
}

int floe_relay_poll_event(struct floe_relay *r, struct floe_relay_event *ev)
{
    if (!r->ev_len)
        return 0;
    *ev = r->events[r->ev_head];
    r->ev_head = (r->ev_head + 1) % r->ev_cap;
    r->ev_len--;
    return 1;
}

const char *floe_relay_drop_name(enum floe_relay_drop d)
{
    static const char *const names[] = {
#define FLOE__RELAY_DROP_STR(name, str) str,
        FLOE_RELAY_DROP_TABLE(FLOE__RELAY_DROP_STR)
#undef FLOE__RELAY_DROP_STR
    };

    return (unsigned)d < FLOE_RELAY_DROP_COUNT ? names[d] : "unknown";
}

void floe_relay_get_stats(const struct floe_relay *r, struct floe_relay_stats *out)
{
    *out = r->stats;
}
