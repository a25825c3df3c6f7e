/*
 * Portal protocol client, sending: the join, messages of the role, and the hold of candidate
 * messages while not joined (docs/protocol.md section 6): merged per event and peers, an
 * invalidation removes the candidate from held "new" messages and the other way round,
 * bounded by hold_max (the oldest dropped and counted), flushed in order after a join.
 * Candidate messages written on a connection stay remembered until a reply to a later ref
 * (a heartbeat's) confirms that the portal read them; a connection lost before that holds
 * them again, so that what TCP accepted and then lost is sent after the next join.
 */
#include <stdio.h>
#include <string.h>

#include "client_int.h"

int floe__pc_write(struct floe_portal_client *c, floe_time now, const struct floe_portal_msg *m)
{
    long n = floe_portal_msg_encode(m, c->scratch, FLOE__PC_SCRATCH);
    if (n < 0)
        return (int)n;
    int rc = floe_wsconn_send_text(c->ws, now, c->scratch, (size_t)n);
    if (rc == 0)
        c->stats.messages_out++;
    return rc;
}

void floe__pc_join(struct floe_portal_client *c, floe_time now)
{
    struct floe_portal_msg *m = floe_mem_calloc(&c->cfg.alloc, 1, sizeof(*m));
    if (!m) {
        floe__pc_lost(c, now, FLOE_ERR_NOMEM, 0, "out of memory");
        return;
    }
    m->type = FLOE_PORTAL_MSG_JOIN;
    m->topic = floe__pc_topic(c);
    m->has_ref = true;
    floe__pc_new_ref(c, m->ref);
    int rc = floe__pc_write(c, now, m);
    memcpy(c->join_ref, m->ref, sizeof(c->join_ref));
    floe_mem_free(&c->cfg.alloc, m);
    if (rc) {
        floe__pc_lost(c, now, rc, 0, "cannot send phx_join");
        return;
    }
    c->state = FLOE_PORTAL_CLIENT_JOINING;
}

/* ------------------------------------------------------------------ hold */

/* The counterpart of a candidate type: new <-> invalidate; NONE for other types. */
static enum floe_portal_msg_type pc_opposite(enum floe_portal_msg_type t)
{
    switch (t) {
    case FLOE_PORTAL_MSG_NEW_GATEWAY_CANDIDATES:
        return FLOE_PORTAL_MSG_INVALIDATE_GATEWAY_CANDIDATES;
    case FLOE_PORTAL_MSG_INVALIDATE_GATEWAY_CANDIDATES:
        return FLOE_PORTAL_MSG_NEW_GATEWAY_CANDIDATES;
    case FLOE_PORTAL_MSG_BROADCAST_CANDIDATES:
        return FLOE_PORTAL_MSG_BROADCAST_INVALIDATED;
    case FLOE_PORTAL_MSG_BROADCAST_INVALIDATED:
        return FLOE_PORTAL_MSG_BROADCAST_CANDIDATES;
    default:
        return FLOE_PORTAL_MSG_NONE;
    }
}

static bool pc_same_ids(const struct floe_portal_candidates *a,
                        const struct floe_portal_candidates *b)
{
    if (a->n_ids != b->n_ids)
        return false;
    for (uint32_t i = 0; i < a->n_ids; i++) {
        if (strcmp(a->ids[i], b->ids[i]) != 0)
            return false;
    }
    return true;
}

static int pc_find_cand(const struct floe_portal_candidates *c, const char *cand)
{
    for (uint32_t i = 0; i < c->n_candidates; i++) {
        if (strcmp(c->candidates[i], cand) == 0)
            return (int)i;
    }
    return -1;
}

static struct floe__pc_held *pc_held_at(struct floe_portal_client *c, size_t i)
{
    return c->held[(c->held_head + i) % c->cfg.hold_max];
}

/* Remove held entry i (order kept). */
static void pc_held_remove(struct floe_portal_client *c, size_t i)
{
    floe_mem_free(&c->cfg.alloc, pc_held_at(c, i));
    for (; i + 1 < c->held_n; i++)
        c->held[(c->held_head + i) % c->cfg.hold_max] = pc_held_at(c, i + 1);
    c->held_n--;
}

/* Remove m's candidates from held messages of the opposite type for the same peers. */
static void pc_held_cancel(struct floe_portal_client *c, enum floe_portal_msg_type opposite,
                           const struct floe_portal_candidates *m)
{
    for (size_t i = c->held_n; i-- > 0;) {
        struct floe__pc_held *h = pc_held_at(c, i);
        if (h->type != opposite || !pc_same_ids(&h->cands, m))
            continue;
        for (uint32_t k = 0; k < m->n_candidates; k++) {
            int at = pc_find_cand(&h->cands, m->candidates[k]);
            if (at < 0)
                continue;
            h->cands.n_candidates--;
            memmove(h->cands.candidates[at], h->cands.candidates[at + 1],
                    (size_t)(h->cands.n_candidates - (uint32_t)at) * FLOE_PORTAL_CANDIDATE_MAX);
        }
        if (h->cands.n_candidates == 0)
            pc_held_remove(c, i);
    }
}

/* Add m's candidates (not there yet) to h; those over the maximum are counted. */
static void pc_held_merge(struct floe_portal_client *c, struct floe__pc_held *h,
                          const struct floe_portal_candidates *m)
{
    for (uint32_t k = 0; k < m->n_candidates; k++) {
        if (pc_find_cand(&h->cands, m->candidates[k]) >= 0)
            continue;
        if (h->cands.n_candidates == FLOE_PORTAL_CANDIDATES_MAX) {
            c->stats.drops[FLOE_PORTAL_DROP_HELD_CANDIDATES]++;
            continue;
        }
        memcpy(h->cands.candidates[h->cands.n_candidates++], m->candidates[k],
               FLOE_PORTAL_CANDIDATE_MAX);
    }
}

/* Hold candidates of type: 1 merged into a held message, 0 held anew, or FLOE_ERR_NOMEM. */
static int pc_hold_cands(struct floe_portal_client *c, enum floe_portal_msg_type type,
                         const struct floe_portal_candidates *cands)
{
    pc_held_cancel(c, pc_opposite(type), cands);
    for (size_t i = 0; i < c->held_n; i++) {
        struct floe__pc_held *h = pc_held_at(c, i);
        if (h->type == type && pc_same_ids(&h->cands, cands)) {
            pc_held_merge(c, h, cands);
            return 1;
        }
    }
    struct floe__pc_held *h = floe_mem_calloc(&c->cfg.alloc, 1, sizeof(*h));
    if (!h)
        return FLOE_ERR_NOMEM;
    h->type = type;
    h->cands = *cands;
    h->cands.n_skipped = 0;
    if (c->held_n == c->cfg.hold_max) {
        pc_held_remove(c, 0);
        c->stats.drops[FLOE_PORTAL_DROP_HELD]++;
    }
    c->held[(c->held_head + c->held_n) % c->cfg.hold_max] = h;
    c->held_n++;
    return 0;
}

static int pc_hold(struct floe_portal_client *c, const struct floe_portal_msg *m)
{
    int rc = pc_hold_cands(c, m->type, &m->u.cands);
    if (rc < 0)
        return rc;
    c->stats.held++;
    if (rc == 1)
        c->stats.held_merged++;
    return 0;
}

/* ------------------------------------------------------- unconfirmed sends */

/* Remember a candidate message just written on the connection (the oldest is forgotten when
 * cfg.hold_max are waiting: it was most likely delivered). */
static void pc_sent(struct floe_portal_client *c, enum floe_portal_msg_type type,
                    const struct floe_portal_candidates *cands)
{
    struct floe__pc_held *h = floe_mem_calloc(&c->cfg.alloc, 1, sizeof(*h));
    if (!h)
        return;
    h->type = type;
    h->cands = *cands;
    h->cands.n_skipped = 0;
    h->mark = c->next_ref;
    if (c->unconf_n == c->cfg.hold_max) {
        floe_mem_free(&c->cfg.alloc, c->unconf[0]);
        memmove(c->unconf, c->unconf + 1, (c->unconf_n - 1) * sizeof(*c->unconf));
        c->unconf_n--;
    }
    c->unconf[c->unconf_n++] = h;
}

void floe__pc_confirmed(struct floe_portal_client *c, const char *ref)
{
    uint64_t r = 0;
    size_t i, n = 0;

    for (i = 0; i < 20 && ref[i] >= '0' && ref[i] <= '9'; i++)
        r = r * 10 + (uint64_t)(ref[i] - '0');
    if (i == 0 || ref[i] != '\0')
        return; /* not one of ours */
    for (i = 0; i < c->unconf_n; i++) {
        if (c->unconf[i]->mark <= r)
            floe_mem_free(&c->cfg.alloc, c->unconf[i]);
        else
            c->unconf[n++] = c->unconf[i];
    }
    c->unconf_n = n;
}

void floe__pc_hold_unconfirmed(struct floe_portal_client *c)
{
    struct floe__pc_held **old = c->held;
    size_t i, head = c->held_head, n = c->held_n;

    if (!c->unconf_n)
        return;
    c->held = c->spare; /* the unconfirmed first, then what was held after them */
    c->spare = old;
    c->held_head = c->held_n = 0;
    for (i = 0; i < c->unconf_n; i++) {
        (void)pc_hold_cands(c, c->unconf[i]->type, &c->unconf[i]->cands);
        c->stats.held_resent++;
        floe_mem_free(&c->cfg.alloc, c->unconf[i]);
    }
    c->unconf_n = 0;
    for (i = 0; i < n; i++) {
        struct floe__pc_held *h = old[(head + i) % c->cfg.hold_max];
        (void)pc_hold_cands(c, h->type, &h->cands);
        floe_mem_free(&c->cfg.alloc, h);
    }
}

void floe__pc_clear_held(struct floe_portal_client *c)
{
    while (c->held_n)
        pc_held_remove(c, 0);
    c->held_head = 0;
    for (; c->unconf_n; c->unconf_n--)
        floe_mem_free(&c->cfg.alloc, c->unconf[c->unconf_n - 1]);
}

void floe__pc_flush_held(struct floe_portal_client *c, floe_time now)
{
    struct floe_portal_msg *m = c->held_n ? floe_mem_calloc(&c->cfg.alloc, 1, sizeof(*m)) : NULL;
    if (!m)
        return; /* nothing held, or kept for the next join */
    while (c->held_n) {
        struct floe__pc_held *h = pc_held_at(c, 0);
        m->type = h->type;
        m->topic = floe__pc_topic(c);
        m->has_ref = false;
        m->u.cands = h->cands;
        if (floe__pc_write(c, now, m) != 0)
            break; /* the send queue is full: kept for the next join */
        pc_sent(c, h->type, &h->cands);
        c->stats.held_flushed++;
        pc_held_remove(c, 0);
    }
    floe_mem_free(&c->cfg.alloc, m);
}

/* ------------------------------------------------------------------ send */

static bool pc_role_sends(const struct floe_portal_client *c, enum floe_portal_msg_type t)
{
    if (c->cfg.role == FLOE_PORTAL_ROLE_CLIENT)
        return t == FLOE_PORTAL_MSG_REQUEST_AUTHORIZATION ||
               t == FLOE_PORTAL_MSG_NEW_GATEWAY_CANDIDATES ||
               t == FLOE_PORTAL_MSG_INVALIDATE_GATEWAY_CANDIDATES;
    return t == FLOE_PORTAL_MSG_GATEWAY_AUTHORIZED || t == FLOE_PORTAL_MSG_BROADCAST_CANDIDATES ||
           t == FLOE_PORTAL_MSG_BROADCAST_INVALIDATED || t == FLOE_PORTAL_MSG_GATEWAY_CANDIDATES;
}

int floe_portal_client_send(struct floe_portal_client *c, floe_time now,
                            const struct floe_portal_msg *m, char *ref_out)
{
    if (!c || !m || !pc_role_sends(c, m->type))
        return FLOE_ERR_INVALID_ARG;
    floe__pc_reclaim(c);
    if (c->state == FLOE_PORTAL_CLIENT_FAILED)
        return FLOE_ERR_STATE;
    struct floe_portal_msg *copy = floe_mem_malloc(&c->cfg.alloc, sizeof(*copy));
    if (!copy)
        return FLOE_ERR_NOMEM;
    *copy = *m;
    copy->topic = floe__pc_topic(c);
    /* Candidates are best effort ("ref": null, no reply); requests get a ref. */
    bool candidates = pc_opposite(m->type) != FLOE_PORTAL_MSG_NONE;
    copy->has_ref = !candidates && m->type != FLOE_PORTAL_MSG_GATEWAY_CANDIDATES;
    memset(copy->ref, 0, sizeof(copy->ref));
    if (copy->has_ref)
        floe__pc_new_ref(c, copy->ref);
    /* Check the fields now, also for a message that is only held. */
    long n = floe_portal_msg_encode(copy, c->scratch, FLOE__PC_SCRATCH);
    int rc = n < 0 ? (int)n : 0;
    if (rc == 0 && c->state != FLOE_PORTAL_CLIENT_JOINED)
        rc = candidates ? pc_hold(c, copy) : FLOE_ERR_STATE;
    else if (rc == 0) {
        rc = floe__pc_write(c, now, copy);
        if (rc == 0 && candidates)
            pc_sent(c, copy->type, &copy->u.cands);
    }
    if (rc == 0 && ref_out)
        memcpy(ref_out, copy->ref, FLOE_PORTAL_REF_MAX);
    floe_mem_free(&c->cfg.alloc, copy);
    return rc;
}

static int pc_copy_str(char *out, size_t cap, const char *s)
{
    if (!s || strlen(s) >= cap)
        return FLOE_ERR_INVALID_ARG;
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

int floe_portal_client_send_candidates(struct floe_portal_client *c, floe_time now, bool invalidate,
                                       const char *const *ids, size_t n_ids,
                                       const char *const *cands, size_t n)
{
    if (!c || !ids || (!cands && n) || n_ids > FLOE_PORTAL_PEERS_MAX ||
        n > FLOE_PORTAL_CANDIDATES_MAX)
        return FLOE_ERR_INVALID_ARG;
    struct floe_portal_msg *m = floe_mem_calloc(&c->cfg.alloc, 1, sizeof(*m));
    if (!m)
        return FLOE_ERR_NOMEM;
    if (c->cfg.role == FLOE_PORTAL_ROLE_CLIENT)
        m->type = invalidate ? FLOE_PORTAL_MSG_INVALIDATE_GATEWAY_CANDIDATES
                             : FLOE_PORTAL_MSG_NEW_GATEWAY_CANDIDATES;
    else
        m->type = invalidate ? FLOE_PORTAL_MSG_BROADCAST_INVALIDATED
                             : FLOE_PORTAL_MSG_BROADCAST_CANDIDATES;
    int rc = 0;
    m->u.cands.n_ids = (uint32_t)n_ids;
    m->u.cands.n_candidates = (uint32_t)n;
    for (size_t i = 0; rc == 0 && i < n_ids; i++)
        rc = pc_copy_str(m->u.cands.ids[i], FLOE_PORTAL_ID_MAX, ids[i]);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = pc_copy_str(m->u.cands.candidates[i], FLOE_PORTAL_CANDIDATE_MAX, cands[i]);
    if (rc == 0)
        rc = floe_portal_client_send(c, now, m, NULL);
    floe_mem_free(&c->cfg.alloc, m);
    return rc;
}

int floe_portal_client_request_authorization(struct floe_portal_client *c, floe_time now,
                                             const char *resource_id, char *ref_out)
{
    if (!c)
        return FLOE_ERR_INVALID_ARG;
    struct floe_portal_msg *m = floe_mem_calloc(&c->cfg.alloc, 1, sizeof(*m));
    if (!m)
        return FLOE_ERR_NOMEM;
    m->type = FLOE_PORTAL_MSG_REQUEST_AUTHORIZATION;
    int rc = pc_copy_str(m->u.request.resource_id, FLOE_PORTAL_ID_MAX, resource_id);
    if (rc == 0)
        rc = floe_portal_client_send(c, now, m, ref_out);
    floe_mem_free(&c->cfg.alloc, m);
    return rc;
}

int floe_portal_client_authorization_created(struct floe_portal_client *c, floe_time now,
                                             const char *ref)
{
    if (!c)
        return FLOE_ERR_INVALID_ARG;
    struct floe_portal_msg *m = floe_mem_calloc(&c->cfg.alloc, 1, sizeof(*m));
    if (!m)
        return FLOE_ERR_NOMEM;
    m->type = FLOE_PORTAL_MSG_GATEWAY_AUTHORIZED;
    int rc = pc_copy_str(m->u.authorized.ref, FLOE_PORTAL_ID_MAX, ref);
    if (rc == 0)
        rc = floe_portal_client_send(c, now, m, NULL);
    floe_mem_free(&c->cfg.alloc, m);
    return rc;
}
