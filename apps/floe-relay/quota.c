/*
 * floe-relay's process-wide quota counters: allocations per user and per client IP,
 * counted across every worker's core under one mutex, like the reservation registry.
 * Only Allocates and ended allocations take the lock, never the data path.
 */
#include <stdlib.h>
#include <string.h>

#include "floe/crypto.h"
#include "relayd.h"

struct relayd_quota_entry {
    struct relayd_quota_entry *next;
    uint32_t count;
    bool is_user;
    struct floe_addr ip; /* client IP (port 0) when !is_user */
    char user[];         /* the username when is_user */
};

/* SipHash would do too; a keyed FNV-1a is enough behind a per-process random key. */
static uint32_t quota_hash(const struct relayd_quota *q, const void *p, size_t len, bool is_user)
{
    const uint8_t *b = p;
    uint64_t h = q->key ^ (is_user ? 0x9e3779b97f4a7c15u : 0);
    size_t i;

    for (i = 0; i < len; i++)
        h = (h ^ b[i]) * 0x100000001b3u;
    h ^= h >> 29;
    return (uint32_t)(h ^ (h >> 32)) & (RELAYD_QUOTA_BUCKETS - 1);
}

/* The bucket and entry for a user (is_user) or a client IP; *found NULL when not counted. */
static struct relayd_quota_entry **quota_find(struct relayd_quota *q, const char *user,
                                              const struct floe_addr *ip,
                                              struct relayd_quota_entry **found)
{
    struct relayd_quota_entry **pp, *e;
    struct floe_addr key;

    if (user) {
        pp = &q->buckets[quota_hash(q, user, strlen(user), true)];
    } else {
        memset(&key, 0, sizeof(key));
        key.family = ip->family;
        memcpy(key.ip, ip->ip, sizeof(key.ip));
        pp = &q->buckets[quota_hash(q, &key, sizeof(key), false)];
    }
    for (; (e = *pp) != NULL; pp = &e->next) {
        if (user ? e->is_user && strcmp(e->user, user) == 0
                 : !e->is_user && floe_addr_ip_eq(&e->ip, ip))
            break;
    }
    *found = e;
    return pp;
}

/* Count one more for user or ip. 0, or FLOE_ERR_NOMEM. */
static int quota_add(struct relayd_quota *q, const char *user, const struct floe_addr *ip)
{
    struct relayd_quota_entry *e, **pp = quota_find(q, user, ip, &e);
    size_t ulen = user ? strlen(user) + 1 : 0;

    if (e) {
        e->count++;
        return 0;
    }
    e = calloc(1, sizeof(*e) + ulen);
    if (!e)
        return FLOE_ERR_NOMEM;
    e->count = 1;
    e->is_user = user != NULL;
    if (user)
        memcpy(e->user, user, ulen);
    else
        e->ip = *ip;
    e->ip.port = 0;
    *pp = e;
    return 0;
}

/* Count one less for user or ip; the entry goes at zero. */
static void quota_sub(struct relayd_quota *q, const char *user, const struct floe_addr *ip)
{
    struct relayd_quota_entry *e, **pp = quota_find(q, user, ip, &e);

    if (!e)
        return;
    if (--e->count == 0) {
        *pp = e->next;
        free(e);
    }
}

uint32_t relayd_quota_count(struct relayd_quota *q, const char *user, const struct floe_addr *ip)
{
    struct relayd_quota_entry *e;
    uint32_t n;

    pthread_mutex_lock(&q->lock);
    (void)quota_find(q, user, ip, &e);
    n = e ? e->count : 0;
    pthread_mutex_unlock(&q->lock);
    return n;
}

/* Whether user's or ip's count is below max (0: no limit). */
static bool quota_room(struct relayd_quota *q, const char *user, const struct floe_addr *ip,
                       uint32_t max)
{
    struct relayd_quota_entry *e;

    if (!max)
        return true;
    (void)quota_find(q, user, ip, &e);
    return !e || e->count < max;
}

static int quota_acquire(void *ctx, const char *user, const struct floe_addr *client,
                         uint32_t max_per_user, uint32_t max_per_client)
{
    struct relayd_quota *q = ctx;
    int rc = FLOE_ERR_NOT_FOUND;

    pthread_mutex_lock(&q->lock);
    if (quota_room(q, user, NULL, max_per_user) && quota_room(q, NULL, client, max_per_client)) {
        rc = quota_add(q, user, NULL);
        if (rc == 0 && quota_add(q, NULL, client) < 0) {
            quota_sub(q, user, NULL);
            rc = FLOE_ERR_NOMEM;
        }
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

static void quota_release(void *ctx, const char *user, const struct floe_addr *client)
{
    struct relayd_quota *q = ctx;

    pthread_mutex_lock(&q->lock);
    quota_sub(q, user, NULL);
    quota_sub(q, NULL, client);
    pthread_mutex_unlock(&q->lock);
}

int relayd_quota_init(struct relayd_quota *q)
{
    struct floe_rng rng = floe_crypto_rng();
    uint8_t k[8];

    memset(q, 0, sizeof(*q));
    if (floe_rng_fill(&rng, k, sizeof(k)) < 0)
        return FLOE_ERR_CRYPTO;
    q->key = floe_load_be64(k);
    pthread_mutex_init(&q->lock, NULL);
    q->ready = true;
    return 0;
}

void relayd_quota_deinit(struct relayd_quota *q)
{
    size_t i;

    if (!q->ready)
        return;
    for (i = 0; i < RELAYD_QUOTA_BUCKETS; i++) {
        while (q->buckets[i]) {
            struct relayd_quota_entry *e = q->buckets[i];

            q->buckets[i] = e->next;
            free(e);
        }
    }
    pthread_mutex_destroy(&q->lock);
    q->ready = false;
}

struct floe_relay_quota_hooks relayd_quota_hooks(struct relayd_quota *q)
{
    struct floe_relay_quota_hooks h = {
        .acquire = quota_acquire,
        .release = quota_release,
        .ctx = q,
    };

    return h;
}
