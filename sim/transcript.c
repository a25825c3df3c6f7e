/*
 * JSON Lines transcript: one object per packet event and scenario event,
 * {"t_ns":<virtual time>,"ev":"<kind>",...}. Only names, addresses, ids and
 * counts go in, so a transcript depends on nothing but the seed and script.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sim_int.h"

static const char *const drop_names[] = {
#define SIM_DROP_NAME(name, str) str,
    FLOE_SIM_DROP_TABLE(SIM_DROP_NAME)
#undef SIM_DROP_NAME
};

const char *floe_sim_drop_name(enum floe_sim_drop reason)
{
    if ((unsigned)reason >= FLOE_SIM_DROP_COUNT)
        return "unknown";
    return drop_names[reason];
}

/* Append n bytes, keeping room for the closing "}\n". */
static void line_raw(struct sim_line *l, const char *s, size_t n)
{
    if (l->overflow || n > sizeof(l->buf) - 2 - l->len) {
        l->overflow = true;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

/* Append s as a JSON string body: quote, backslash and control bytes escaped. */
static void line_escaped(struct sim_line *l, const char *s)
{
    char esc[8];

    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            line_raw(l, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            line_raw(l, esc, 6);
        } else {
            line_raw(l, (const char *)&c, 1);
        }
    }
}

static void line_key(struct sim_line *l, const char *key)
{
    line_raw(l, ",\"", 2);
    line_escaped(l, key);
    line_raw(l, "\":", 2);
}

bool floe__sim_line_begin(struct floe_sim *sim, struct sim_line *l, const char *ev)
{
    if (!sim->cfg.transcript)
        return false;
    l->len = 0;
    l->overflow = false;
    line_raw(l, "{", 1);
    line_raw(l, "\"t_ns\":", 7);
    l->len += (size_t)snprintf(l->buf + l->len, sizeof(l->buf) - l->len, "%" PRIu64, sim->now);
    floe__sim_line_str(l, "ev", ev);
    return true;
}

void floe__sim_line_str(struct sim_line *l, const char *key, const char *val)
{
    line_key(l, key);
    line_raw(l, "\"", 1);
    line_escaped(l, val);
    line_raw(l, "\"", 1);
}

void floe__sim_line_u64(struct sim_line *l, const char *key, uint64_t val)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%" PRIu64, val);

    line_key(l, key);
    line_raw(l, num, (size_t)n);
}

void floe__sim_line_addr(struct sim_line *l, const char *key, const struct floe_addr *a)
{
    char buf[FLOE_ADDR_STRLEN];

    if (floe_addr_format(a, buf, sizeof(buf)) < 0)
        strcpy(buf, "none");
    floe__sim_line_str(l, key, buf);
}

void floe__sim_line_ip(struct sim_line *l, const char *key, const struct floe_addr *a)
{
    char buf[FLOE_ADDR_STRLEN];

    if (floe_addr_format_ip(a, buf, sizeof(buf)) < 0)
        strcpy(buf, "none");
    floe__sim_line_str(l, key, buf);
}

void floe__sim_line_bool(struct sim_line *l, const char *key, bool val)
{
    line_key(l, key);
    line_raw(l, val ? "true" : "false", val ? 4 : 5);
}

void floe__sim_line_end(struct floe_sim *sim, struct sim_line *l)
{
    /* Lines are bounded; a line that would not fit is cut to a valid marker. */
    if (l->overflow) {
        l->overflow = false;
        l->len = 0;
        line_raw(l, "{\"ev\":\"truncated\"", 17);
    }
    memcpy(l->buf + l->len, "}\n", 2);
    l->len += 2;
    sim->cfg.transcript(sim->cfg.transcript_user, l->buf, l->len);
}

void floe__sim_log_pkt(struct floe_sim *sim, const char *ev, const struct sim_pkt *pkt,
                       const char *who_key, const char *who)
{
    struct sim_line l;

    if (!floe__sim_line_begin(sim, &l, ev))
        return;
    floe__sim_line_u64(&l, "pkt", pkt->id);
    if (who_key)
        floe__sim_line_str(&l, who_key, who);
    floe__sim_line_addr(&l, "from", &pkt->src);
    floe__sim_line_addr(&l, "to", &pkt->dst);
    floe__sim_line_u64(&l, "len", pkt->len);
    floe__sim_line_end(sim, &l);
}

void floe_sim_note(struct floe_sim *sim, const char *what, const char *detail)
{
    struct sim_line l;

    if (!sim || !floe__sim_line_begin(sim, &l, "note"))
        return;
    floe__sim_line_str(&l, "what", what ? what : "");
    floe__sim_line_str(&l, "detail", detail ? detail : "");
    floe__sim_line_end(sim, &l);
}

/* Append "dropped":{"loss":n,...} with every reason, in table order. */
static void line_drops(struct sim_line *l, const struct floe_sim_counters *c)
{
    char num[24];
    int i, n;

    line_key(l, "dropped");
    line_raw(l, "{", 1);
    for (i = 0; i < FLOE_SIM_DROP_COUNT; i++) {
        line_raw(l, i ? ",\"" : "\"", i ? 2 : 1);
        line_escaped(l, drop_names[i]);
        n = snprintf(num, sizeof(num), "\":%" PRIu64, c->dropped[i]);
        line_raw(l, num, (size_t)n);
    }
    line_raw(l, "}", 1);
}

void floe_sim_write_summary(struct floe_sim *sim)
{
    const struct floe_sim_counters *c;
    struct sim_line l;

    if (!sim || !floe__sim_line_begin(sim, &l, "summary"))
        return;
    c = &sim->counters;
    floe__sim_line_u64(&l, "sent", c->sent);
    floe__sim_line_u64(&l, "delivered", c->delivered);
    line_drops(&l, c);
    floe__sim_line_u64(&l, "in_flight", floe_sim_in_flight(sim));
    floe__sim_line_u64(&l, "translated", c->translated);
    floe__sim_line_u64(&l, "hops", c->hops);
    floe__sim_line_u64(&l, "events", c->events);
    floe__sim_line_u64(&l, "timeouts", c->timeouts);
    floe__sim_line_end(sim, &l);
}
