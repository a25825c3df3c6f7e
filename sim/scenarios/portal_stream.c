/*
 * The simulator's reliable byte stream (portal_sim.h): in order, go-back-N retransmission,
 * broken by a reset, a refused or unanswered SYN, or data unacknowledged for PSTREAM_BREAK.
 */
#include <string.h>

#include "portal_sim.h"

void pstream_reset(struct pstream *s)
{
    uint8_t *buf = s->sbuf;
    bool server = s->server;

    memset(s, 0, sizeof(*s));
    s->sbuf = buf;
    s->server = server;
    s->rto = PSTREAM_RTO;
    s->rto_at = s->progress_at = FLOE_TIME_NEVER;
}

int pstream_open(struct pstream *s, uint32_t id, const struct floe_addr *peer, floe_time now)
{
    if (!s->sbuf)
        return FLOE_ERR_INVALID_ARG;
    pstream_reset(s);
    s->state = PSTREAM_SYN_SENT;
    s->id = id;
    s->peer = *peer;
    s->syn_due = true;
    s->syn_tries = 1;
    s->rto_at = now + FLOE_SEC(1);
    return 0;
}

static void ps_break(struct pstream *s, const char *why)
{
    s->state = PSTREAM_BROKEN;
    s->why = why;
    s->rto_at = s->progress_at = FLOE_TIME_NEVER;
}

/* The peer acknowledged everything before ack. */
static void ps_acked(struct pstream *s, floe_time now, uint32_t ack)
{
    uint32_t n;

    if (ack <= s->snd_una || ack > s->snd_una + (uint32_t)s->slen)
        return;
    n = ack - s->snd_una;
    memmove(s->sbuf, s->sbuf + n, s->slen - n);
    s->slen -= n;
    s->snd_una = ack;
    if (s->snd_nxt < s->snd_una)
        s->snd_nxt = s->snd_una;
    s->rto = PSTREAM_RTO;
    s->progress_at = s->slen ? now : FLOE_TIME_NEVER;
    s->rto_at = s->snd_nxt > s->snd_una ? now + s->rto : FLOE_TIME_NEVER;
}

/* SYN and SYN|ACK: the server opens, the client's connect completes. */
static void ps_syn(struct pstream *s, floe_time now, uint8_t flags)
{
    if (s->server && !(flags & PSTREAM_ACK)) {
        s->state = PSTREAM_OPEN;
        s->syn_due = true; /* SYN|ACK, again for a retransmitted SYN */
        return;
    }
    if (!s->server && (flags & PSTREAM_ACK) && s->state == PSTREAM_SYN_SENT) {
        s->state = PSTREAM_OPEN;
        s->ack_due = true;
        s->rto = PSTREAM_RTO;
        s->progress_at = s->slen ? now : FLOE_TIME_NEVER;
        s->rto_at = s->slen ? now + s->rto : FLOE_TIME_NEVER;
    }
}

void pstream_input(struct pstream *s, floe_time now, const uint8_t *seg, size_t n,
                   const uint8_t **data, size_t *len)
{
    uint8_t flags;

    *data = NULL;
    *len = 0;
    if (n < PSTREAM_HDR || floe_load_be32(seg + 1) != s->id || s->state == PSTREAM_BROKEN)
        return;
    flags = seg[0];
    if (flags & PSTREAM_RST) {
        ps_break(s, s->state == PSTREAM_SYN_SENT ? "refused" : "reset");
        return;
    }
    if (flags & PSTREAM_SYN) {
        ps_syn(s, now, flags);
        return;
    }
    if (s->state != PSTREAM_OPEN)
        return;
    if (flags & PSTREAM_ACK)
        ps_acked(s, now, floe_load_be32(seg + 9));
    if (n == PSTREAM_HDR)
        return;
    s->ack_due = true;
    if (floe_load_be32(seg + 5) != s->rcv_nxt)
        return; /* out of order or again: dropped, acknowledged */
    *data = seg + PSTREAM_HDR;
    *len = n - PSTREAM_HDR;
    s->rcv_nxt += (uint32_t)*len;
}

int pstream_write(struct pstream *s, floe_time now, const uint8_t *b, size_t n)
{
    if (s->state != PSTREAM_SYN_SENT && s->state != PSTREAM_OPEN)
        return FLOE_ERR_STATE;
    if (n > PSTREAM_BUF - s->slen)
        return FLOE_ERR_BUFFER_TOO_SMALL;
    memcpy(s->sbuf + s->slen, b, n);
    if (!s->slen && s->state == PSTREAM_OPEN) {
        s->progress_at = now;
        s->rto_at = now + s->rto;
    }
    s->slen += n;
    return 0;
}

void pstream_timeout(struct pstream *s, floe_time now)
{
    if (s->state == PSTREAM_SYN_SENT && now >= s->rto_at) {
        if (s->syn_tries >= PSTREAM_SYN_TRIES) {
            ps_break(s, "timeout");
            return;
        }
        s->syn_tries++;
        s->syn_due = true;
        s->rto_at = now + FLOE_SEC(1);
        return;
    }
    if (s->state != PSTREAM_OPEN || !s->slen)
        return;
    if (now >= s->progress_at + PSTREAM_BREAK) {
        ps_break(s, "timeout");
        return;
    }
    if (now >= s->rto_at) {
        s->snd_nxt = s->snd_una; /* go back: resend from the first unacknowledged byte */
        s->rto = s->rto * 2 > PSTREAM_RTO_MAX ? PSTREAM_RTO_MAX : s->rto * 2;
        s->rto_at = now + s->rto;
    }
}

floe_time pstream_next(const struct pstream *s)
{
    if (s->state == PSTREAM_SYN_SENT)
        return s->rto_at;
    if (s->state != PSTREAM_OPEN || !s->slen)
        return FLOE_TIME_NEVER;
    return floe_time_min(s->rto_at, s->progress_at + PSTREAM_BREAK);
}

static size_t ps_header(const struct pstream *s, uint8_t *buf, uint8_t flags, uint32_t seq)
{
    buf[0] = flags;
    floe_store_be32(buf + 1, s->id);
    floe_store_be32(buf + 5, seq);
    floe_store_be32(buf + 9, s->rcv_nxt);
    return PSTREAM_HDR;
}

size_t pstream_output(struct pstream *s, uint8_t *buf, size_t cap)
{
    size_t off, n;

    if (cap < PSTREAM_HDR + PSTREAM_MSS)
        return 0;
    if (s->syn_due) {
        s->syn_due = false;
        return ps_header(s, buf, s->server ? PSTREAM_SYN | PSTREAM_ACK : PSTREAM_SYN, 0);
    }
    if (s->state != PSTREAM_OPEN)
        return 0;
    off = s->snd_nxt - s->snd_una;
    if (off < s->slen && off < (size_t)PSTREAM_BURST * PSTREAM_MSS) {
        n = s->slen - off < PSTREAM_MSS ? s->slen - off : PSTREAM_MSS;
        ps_header(s, buf, PSTREAM_ACK, s->snd_nxt);
        memcpy(buf + PSTREAM_HDR, s->sbuf + off, n);
        s->snd_nxt += (uint32_t)n;
        s->ack_due = false;
        return PSTREAM_HDR + n;
    }
    if (!s->ack_due)
        return 0;
    s->ack_due = false;
    return ps_header(s, buf, PSTREAM_ACK, s->snd_nxt);
}

size_t pstream_rst(uint8_t *buf, uint32_t id)
{
    memset(buf, 0, PSTREAM_HDR);
    buf[0] = PSTREAM_RST;
    floe_store_be32(buf + 1, id);
    return PSTREAM_HDR;
}

uint32_t pstream_seg_id(const uint8_t *seg, size_t n, uint8_t *flags)
{
    if (n < PSTREAM_HDR)
        return 0;
    *flags = seg[0];
    return floe_load_be32(seg + 1);
}
