/*
 * floe-relay's process-wide EVEN-PORT reservation registry: the core's
 * floe_relay_resv_table behind one mutex, reached by every worker's core
 * through floe_relay_resv_hooks. The kernel's SO_REUSEPORT hash sends the
 * Allocate carrying a RESERVATION-TOKEN to any worker; this is how that worker
 * finds the port another worker reserved.
 */
#include "relayd.h"

static int resv_reserve(void *ctx, uint64_t token, const struct floe_addr *relayed,
                        floe_time expires)
{
    struct relayd_resv_member *m = ctx;
    int rc;

    pthread_mutex_lock(&m->resv->lock);
    rc = floe_relay_resv_table_reserve(m->resv->table, m->idx, token, relayed, expires);
    pthread_mutex_unlock(&m->resv->lock);
    return rc;
}

static int resv_claim(void *ctx, uint64_t token, floe_time now, struct floe_addr *relayed)
{
    struct relayd_resv_member *m = ctx;
    uint32_t owner = 0;
    int rc;

    pthread_mutex_lock(&m->resv->lock);
    rc = floe_relay_resv_table_claim(m->resv->table, m->idx, token, now, relayed, &owner);
    pthread_mutex_unlock(&m->resv->lock);
    if (rc == 0 && owner != m->idx && m->resv->log) {
        struct floe_log_field f[3] = {
            FLOE_LF_A("addr", relayed),
            FLOE_LF_U("worker", m->idx),
            FLOE_LF_U("owner", owner),
        };

        floe_jsonlog_write(m->resv->log, FLOE_LOG_DEBUG, "relay",
                           "reservation claimed from another worker", f, 3);
    }
    return rc;
}

static void resv_release(void *ctx, uint64_t token)
{
    struct relayd_resv_member *m = ctx;

    pthread_mutex_lock(&m->resv->lock);
    floe_relay_resv_table_release(m->resv->table, token);
    pthread_mutex_unlock(&m->resv->lock);
}

static bool resv_settle(void *ctx, uint64_t token)
{
    struct relayd_resv_member *m = ctx;
    bool free_again;

    pthread_mutex_lock(&m->resv->lock);
    free_again = floe_relay_resv_table_settle(m->resv->table, token);
    pthread_mutex_unlock(&m->resv->lock);
    return free_again;
}

int relayd_resv_init(struct relayd_resv *r, struct floe_jsonlog *log, const struct relayd_opts *o,
                     unsigned n_workers)
{
    const struct floe_allocator plain = {0};
    /* every token keeps a distinct relay port, so the range bounds the table */
    uint32_t capacity = (uint32_t)o->port_max - o->port_min + 1u;
    unsigned i;
    int rc;

    r->log = log;
    r->table = NULL;
    rc = floe_relay_resv_table_new(&r->table, &plain, capacity);
    if (rc < 0)
        return rc;
    for (i = 0; i < n_workers && i < RELAYD_MAX_THREADS; i++) {
        r->members[i].resv = r;
        r->members[i].idx = i;
    }
    pthread_mutex_init(&r->lock, NULL);
    return 0;
}

void relayd_resv_deinit(struct relayd_resv *r)
{
    if (!r->table)
        return;
    floe_relay_resv_table_free(r->table);
    r->table = NULL;
    pthread_mutex_destroy(&r->lock);
}

struct floe_relay_resv_hooks relayd_resv_hooks(struct relayd_resv *r, unsigned idx)
{
    struct floe_relay_resv_hooks h = {
        .reserve = resv_reserve,
        .claim = resv_claim,
        .release = resv_release,
        .settle = resv_settle,
        .ctx = &r->members[idx],
    };

    return h;
}
