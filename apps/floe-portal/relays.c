/*
 * The relays' health checks: a STUN Binding request (RFC 8489 section 6) to each relay every
 * interval, through libfloe's codec; the daemon owns the socket and the clock.
 */
#include <string.h>

#include "floe/stun.h"
#include "portald.h"

void portald_relays_init(struct portald_relays *rs, floe_time interval)
{
    memset(rs, 0, sizeof(*rs));
    rs->interval = interval;
}

static const struct portald_relay *portald_relays_find(const struct portald_relays *rs,
                                                       const char *id, const struct floe_addr *addr)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->r[i].id, id) == 0 && floe_addr_eq(&rs->r[i].addr, addr))
            return &rs->r[i];
    return NULL;
}

int portald_relays_set(struct portald_relays *rs, const char (*ids)[PORTALD_ID_MAX],
                       const struct floe_addr *addrs, size_t n)
{
    struct portald_relay next[PORTALD_MAX_RELAYS];

    if (n > PORTALD_MAX_RELAYS || (n && (!ids || !addrs)))
        return FLOE_ERR_INVALID_ARG;
    memset(next, 0, sizeof(next));
    for (size_t i = 0; i < n; i++) {
        const struct portald_relay *old = portald_relays_find(rs, ids[i], &addrs[i]);

        if (old) {
            next[i] = *old;
            continue;
        }
        memcpy(next[i].id, ids[i], PORTALD_ID_MAX);
        next[i].id[PORTALD_ID_MAX - 1] = '\0';
        next[i].addr = addrs[i];
        next[i].up = true;
        rs->changed = true;
    }
    if (n != rs->n)
        rs->changed = true;
    memcpy(rs->r, next, sizeof(next));
    rs->n = n;
    rs->next_check = 0; /* check the new set at once */
    return 0;
}

/* A new round: the previous round's unanswered checks count as misses. */
static void portald_relays_round(struct portald_relays *rs, floe_time now)
{
    for (size_t i = 0; i < rs->n; i++) {
        struct portald_relay *r = &rs->r[i];

        if (r->pending) {
            r->misses++;
            r->checked = true;
            if (r->up && r->misses >= PORTALD_RELAY_DOWN_MISSES) {
                r->up = false;
                rs->changed = true;
            }
        }
        r->pending = false;
        r->due = true;
    }
    rs->next_check = now + rs->interval;
}

long portald_relays_poll_transmit(struct portald_relays *rs, floe_time now,
                                  const struct floe_rng *rng, uint8_t *buf, size_t cap,
                                  struct floe_addr *to)
{
    struct floe_stun_builder b;
    long len;

    if (now >= rs->next_check)
        portald_relays_round(rs, now);
    for (size_t i = 0; i < rs->n; i++) {
        struct portald_relay *r = &rs->r[i];

        if (!r->due)
            continue;
        r->due = false;
        if (floe_rng_fill(rng, r->txid, sizeof(r->txid)) < 0)
            return FLOE_ERR_INVALID_ARG;
        floe_stun_build_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, r->txid);
        floe_stun_add_fingerprint(&b);
        len = floe_stun_build_finish(&b);
        if (len < 0)
            return len;
        r->pending = true;
        r->sent = now;
        *to = r->addr;
        rs->sent++;
        return len;
    }
    return 0;
}

void portald_relays_handle_input(struct portald_relays *rs, floe_time now,
                                 const struct floe_addr *from, const uint8_t *buf, size_t len)
{
    struct floe_stun_msg msg;

    if (floe_stun_decode(&msg, buf, len) < 0) {
        rs->malformed++;
        return;
    }
    for (size_t i = 0; i < rs->n; i++) {
        struct portald_relay *r = &rs->r[i];

        if (!r->pending || !floe_addr_eq(&r->addr, from) ||
            memcmp(r->txid, msg.txid, sizeof(r->txid)) != 0)
            continue;
        if (msg.method != FLOE_STUN_BINDING || msg.cls != FLOE_STUN_SUCCESS)
            break;
        r->pending = false;
        r->checked = true;
        r->misses = 0;
        r->rtt = now - r->sent;
        r->answers++;
        rs->answers++;
        if (!r->up) {
            r->up = true;
            rs->changed = true;
        }
        return;
    }
    rs->stray++;
}

floe_time portald_relays_poll_timeout(const struct portald_relays *rs)
{
    return rs->n ? rs->next_check : FLOE_TIME_NEVER;
}
