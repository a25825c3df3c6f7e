/*
 * Built-in endpoints: a UDP echo and a recorder that keeps what it receives
 * and sends what the test queued, each a small sans-IO object like any other.
 */
#include <string.h>

#include "sim_int.h"

/* ----------------------------------------------------------------- echo */

void floe_sim_echo_init(struct floe_sim_echo *echo)
{
    memset(echo, 0, sizeof(*echo));
}

static void echo_handle_input(void *obj, floe_time now, const struct floe_addr *from,
                              const struct floe_addr *to, const uint8_t *bytes, size_t len)
{
    struct floe_sim_echo *e = obj;
    uint32_t slot;

    (void)now;
    e->received++;
    if (e->count == FLOE_SIM_ECHO_SLOTS) {
        e->overflow++;
        return;
    }
    slot = (e->head + e->count) % FLOE_SIM_ECHO_SLOTS;
    if (len > FLOE_SIM_ECHO_MAX)
        len = FLOE_SIM_ECHO_MAX;
    memcpy(e->data[slot], bytes, len);
    e->len[slot] = len;
    e->from[slot] = *to;
    e->to[slot] = *from;
    e->count++;
}

static int echo_poll_transmit(void *obj, floe_time now, uint8_t *buf, size_t cap, size_t *len,
                              struct floe_addr *from, struct floe_addr *to)
{
    struct floe_sim_echo *e = obj;
    uint32_t slot = e->head;

    (void)now;
    if (!e->count)
        return 0;
    *len = e->len[slot] < cap ? e->len[slot] : cap;
    memcpy(buf, e->data[slot], *len);
    *from = e->from[slot];
    *to = e->to[slot];
    e->head = (e->head + 1) % FLOE_SIM_ECHO_SLOTS;
    e->count--;
    return 1;
}

const struct floe_sim_endpoint_ops floe_sim_echo_ops = {
    .handle_input = echo_handle_input,
    .poll_transmit = echo_poll_transmit,
};

/* ------------------------------------------------------------- recorder */

int floe_sim_recorder_new(const struct floe_allocator *alloc, size_t max_records, size_t max_out,
                          size_t max_len, struct floe_sim_recorder **out)
{
    struct floe_allocator a = {0};
    struct floe_sim_recorder *r;
    size_t i;

    if (!out || !max_records || !max_out || !max_len)
        return FLOE_ERR_INVALID_ARG;
    if (alloc)
        a = *alloc;
    r = floe_mem_calloc(&a, 1, sizeof(*r));
    if (!r)
        return FLOE_ERR_NOMEM;
    r->alloc = a;
    r->max_records = max_records;
    r->max_out = max_out;
    r->max_len = max_len;
    r->records = floe_mem_calloc(&a, max_records, sizeof(*r->records));
    r->out = floe_mem_calloc(&a, max_out, sizeof(*r->out));
    for (i = 0; r->out && i < max_out; i++) {
        r->out[i].data = floe_mem_malloc(&a, max_len);
        if (!r->out[i].data)
            break;
    }
    if (!r->records || !r->out || i < max_out) {
        floe_sim_recorder_free(r);
        return FLOE_ERR_NOMEM;
    }
    *out = r;
    return 0;
}

void floe_sim_recorder_free(struct floe_sim_recorder *rec)
{
    struct floe_allocator a;
    size_t i;

    if (!rec)
        return;
    a = rec->alloc;
    for (i = 0; rec->out && i < rec->max_out; i++)
        floe_mem_free(&a, rec->out[i].data);
    floe_mem_free(&a, rec->out);
    floe_mem_free(&a, rec->records);
    floe_mem_free(&a, rec);
}

static struct floe_sim_outgoing *rec_at(struct floe_sim_recorder *r, size_t i)
{
    return &r->out[(r->out_head + i) % r->max_out];
}

int floe_sim_recorder_send(struct floe_sim_recorder *rec, floe_time at,
                           const struct floe_addr *from, const struct floe_addr *to,
                           const void *bytes, size_t len)
{
    struct floe_sim_outgoing *slot, tmp;
    size_t pos;

    if (!rec || !to || len > rec->max_len || (len && !bytes))
        return FLOE_ERR_INVALID_ARG;
    if (rec->n_out == rec->max_out)
        return FLOE_ERR_NOMEM;
    slot = rec_at(rec, rec->n_out);
    slot->at = at;
    memset(&slot->from, 0, sizeof(slot->from));
    if (from)
        slot->from = *from;
    slot->to = *to;
    slot->len = len;
    if (len)
        memcpy(slot->data, bytes, len);
    /* Swap backwards to keep time order; equal times stay in queueing order. */
    for (pos = rec->n_out; pos > 0 && rec_at(rec, pos - 1)->at > at; pos--) {
        tmp = *rec_at(rec, pos - 1);
        *rec_at(rec, pos - 1) = *rec_at(rec, pos);
        *rec_at(rec, pos) = tmp;
    }
    rec->n_out++;
    return 0;
}

static void rec_handle_input(void *obj, floe_time now, const struct floe_addr *from,
                             const struct floe_addr *to, const uint8_t *bytes, size_t len)
{
    struct floe_sim_recorder *r = obj;
    struct floe_sim_record *rr;

    r->received++;
    if (r->n_records == r->max_records)
        return;
    rr = &r->records[r->n_records++];
    rr->at = now;
    rr->from = *from;
    rr->to = *to;
    rr->len = len;
    memset(rr->head, 0, sizeof(rr->head));
    memcpy(rr->head, bytes, len < FLOE_SIM_RECORD_HEAD ? len : FLOE_SIM_RECORD_HEAD);
}

static int rec_poll_transmit(void *obj, floe_time now, uint8_t *buf, size_t cap, size_t *len,
                             struct floe_addr *from, struct floe_addr *to)
{
    struct floe_sim_recorder *r = obj;
    const struct floe_sim_outgoing *head = rec_at(r, 0);

    if (!r->n_out || head->at > now)
        return 0;
    *len = head->len < cap ? head->len : cap;
    memcpy(buf, head->data, *len);
    *from = head->from;
    *to = head->to;
    r->out_head = (r->out_head + 1) % r->max_out;
    r->n_out--;
    r->sent++;
    return 1;
}

static floe_time rec_poll_timeout(void *obj)
{
    struct floe_sim_recorder *r = obj;

    return r->n_out ? rec_at(r, 0)->at : FLOE_TIME_NEVER;
}

static void rec_on_roam(void *obj, floe_time now, const struct floe_addr *old_addr,
                        const struct floe_addr *new_addr)
{
    struct floe_sim_recorder *r = obj;

    (void)now;
    r->roams++;
    r->roam_old = *old_addr;
    r->roam_new = *new_addr;
}

const struct floe_sim_endpoint_ops floe_sim_recorder_ops = {
    .handle_input = rec_handle_input,
    .poll_transmit = rec_poll_transmit,
    .poll_timeout = rec_poll_timeout,
    .on_roam = rec_on_roam,
};
