/*
 * libFuzzer target for the portal protocol client (struct floe_portal_client), driven by a
 * script: the input is a sequence of operations against a portal played by the transport's
 * server role (which accepts the upgrade, answers joins and heartbeats): raw text messages
 * from the portal, valid messages, replies, time passing, TCP drops, reconnects, candidates
 * and requests from the device. Invariants checked after every step abort on violation:
 * reconnect times within the cap, nothing after a fatal event, the hold within its bound.
 */
#include <stdlib.h>
#include <string.h>

#include "floe/portal.h"
#include "floe/portal_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
    struct floe_portal_client *pc;
    struct floe_wsconn *srv;
    struct floe_xoshiro x, sx;
    floe_time now;
    bool fatal;
    char last_ref[FLOE_PORTAL_REF_MAX];
    enum floe_portal_topic topic;
};

static struct floe_portal_msg fz_msg;
static char fz_json[65536];
static uint8_t fz_buf[65536];

static void fz_srv_send(struct fz *f, const struct floe_portal_msg *m)
{
    long n = floe_portal_msg_encode(m, fz_json, sizeof(fz_json));
    if (n > 0 && f->srv)
        (void)floe_wsconn_send_text(f->srv, f->now, fz_json, (size_t)n);
}

static void fz_srv_reply(struct fz *f, enum floe_portal_topic topic, const char *ref, bool ok)
{
    memset(&fz_msg, 0, sizeof(fz_msg));
    fz_msg.type = FLOE_PORTAL_MSG_REPLY;
    fz_msg.topic = topic;
    fz_msg.has_ref = true;
    memcpy(fz_msg.ref, ref, FLOE_PORTAL_REF_MAX);
    fz_msg.u.reply.ok = ok;
    fz_srv_send(f, &fz_msg);
}

static void fz_srv_message(struct fz *f, struct floe_span text)
{
    if (floe_portal_msg_decode(&fz_msg, (const char *)text.ptr, text.len, NULL, 0) != 0)
        abort(); /* the client sends only what the codec encodes */
    if (!fz_msg.has_ref)
        return;
    memcpy(f->last_ref, fz_msg.ref, sizeof(f->last_ref));
    if (fz_msg.type == FLOE_PORTAL_MSG_HEARTBEAT || fz_msg.type == FLOE_PORTAL_MSG_JOIN)
        fz_srv_reply(f, fz_msg.topic, f->last_ref, true);
}

static void fz_check_event(struct fz *f, const struct floe_portal_client_event *ev)
{
    if (f->fatal)
        abort(); /* nothing after FATAL */
    if (ev->kind == FLOE_PORTAL_EV_FATAL)
        f->fatal = true;
    if (ev->kind == FLOE_PORTAL_EV_RECONNECT_AT &&
        (ev->at < f->now || ev->at > f->now + FLOE_PORTAL_BACKOFF_MAX))
        abort();
    if ((ev->kind == FLOE_PORTAL_EV_JOINED || ev->kind == FLOE_PORTAL_EV_MESSAGE) && !ev->msg)
        abort();
    if (ev->kind == FLOE_PORTAL_EV_JOINED && ev->msg->type != FLOE_PORTAL_MSG_INIT)
        abort();
}

static bool fz_client_reads(const struct fz *f)
{
    enum floe_portal_client_state s = floe_portal_client_get_state(f->pc);
    return s == FLOE_PORTAL_CLIENT_CONNECTING || s == FLOE_PORTAL_CLIENT_JOINING ||
           s == FLOE_PORTAL_CLIENT_JOINED;
}

static void fz_pump(struct fz *f)
{
    struct floe_portal_client_event ev;
    struct floe_wsconn_event wev;
    struct floe_span text;
    for (int round = 0; round < 64; round++) {
        bool moved = false;
        long n;
        while ((n = floe_portal_client_poll_transmit(f->pc, f->now, fz_buf, sizeof(fz_buf))) > 0) {
            moved = true;
            if (f->srv)
                (void)floe_wsconn_handle_input(f->srv, f->now, fz_buf, (size_t)n);
        }
        while (f->srv && floe_wsconn_poll_event(f->srv, &wev) == 1) {
            if (wev.kind == FLOE_WSCONN_EV_REQUEST)
                (void)floe_wsconn_accept(f->srv, f->now);
        }
        while (f->srv && floe_wsconn_poll_message(f->srv, &text) == 1)
            fz_srv_message(f, text);
        while (f->srv && floe_wsconn_want_write(f->srv) &&
               (n = floe_wsconn_poll_transmit(f->srv, f->now, fz_buf, sizeof(fz_buf))) > 0) {
            moved = true;
            if (fz_client_reads(f))
                (void)floe_portal_client_handle_input(f->pc, f->now, fz_buf, (size_t)n);
        }
        while (floe_portal_client_poll_event(f->pc, &ev) == 1)
            fz_check_event(f, &ev);
        if (floe_portal_client_held(f->pc) > FLOE_PORTAL_HOLD_MAX)
            abort();
        if (!moved)
            return;
    }
}

static void fz_connect(struct fz *f)
{
    struct floe_wsconn_config cfg;
    floe_wsconn_config_default(&cfg);
    cfg.role = FLOE_WSCONN_SERVER;
    cfg.rng = floe_xoshiro_rng(&f->sx);
    floe_wsconn_free(f->srv);
    f->srv = NULL;
    if (floe_portal_client_connect(f->pc, f->now) != 0)
        return;
    if (floe_wsconn_new(&f->srv, &cfg) != 0 || floe_wsconn_start(f->srv, f->now) != 0)
        abort();
}

static void fz_drop(struct fz *f)
{
    floe_wsconn_free(f->srv);
    f->srv = NULL;
    (void)floe_portal_client_disconnected(f->pc, f->now);
}

static const char *const fz_cands[] = {
    "candidate:1 1 UDP 2130706431 192.168.1.20 51820 typ host",
    "candidate:2 1 UDP 1694498815 203.0.113.9 40001 typ srflx raddr 192.168.1.20 rport 51820",
    "candidate:3 1 UDP 16777215 198.51.100.7 50000 typ relay raddr 0.0.0.0 rport 0",
};

static void fz_candidates(struct fz *f, uint8_t arg)
{
    const char *ids[] = {(arg & 2) ? "peer-b" : "peer-a"};
    (void)floe_portal_client_send_candidates(f->pc, f->now, arg & 1, ids, 1, &fz_cands[arg % 2],
                                             1 + (arg >> 6) % 2);
}

/* A valid message from the portal, chosen by arg. */
static void fz_portal_push(struct fz *f, uint8_t arg)
{
    memset(&fz_msg, 0, sizeof(fz_msg));
    fz_msg.topic = f->topic;
    switch (arg % 4) {
    case 0:
        fz_msg.type = FLOE_PORTAL_MSG_INIT;
        floe_addr_parse_ip("100.64.0.5", &fz_msg.u.init.interface.ipv4);
        floe_addr_parse_ip("fd00:2021:1111::5", &fz_msg.u.init.interface.ipv6);
        break;
    case 1:
        fz_msg.type = FLOE_PORTAL_MSG_ICE_CANDIDATES;
        fz_msg.u.cands.n_ids = 1;
        strcpy(fz_msg.u.cands.ids[0], "peer-a");
        fz_msg.u.cands.n_candidates = 1;
        strcpy(fz_msg.u.cands.candidates[0], fz_cands[0]);
        break;
    case 2:
        fz_msg.type = (arg & 4) ? FLOE_PORTAL_MSG_CHANNEL_ERROR : FLOE_PORTAL_MSG_RESOURCE_DELETED;
        strcpy(fz_msg.u.id, "res-1");
        break;
    default:
        fz_srv_reply(f, f->topic, f->last_ref[0] ? f->last_ref : "1", arg & 8);
        return;
    }
    fz_srv_send(f, &fz_msg);
}

static size_t fz_step(struct fz *f, const uint8_t *d, size_t left)
{
    uint8_t op = d[0], arg = left > 1 ? d[1] : 0;
    size_t used = left > 1 ? 2 : 1;
    switch (op % 8) {
    case 0: /* raw text from the portal: arg bytes */
        used = 2 + (size_t)arg < left ? 2 + (size_t)arg : left;
        if (f->srv && used > 2)
            (void)floe_wsconn_send_text(f->srv, f->now, (const char *)d + 2, used - 2);
        break;
    case 1:
        f->now += FLOE_MS(100) * arg;
        floe_portal_client_handle_timeout(f->pc, f->now);
        if (f->srv)
            floe_wsconn_handle_timeout(f->srv, f->now);
        break;
    case 2:
        fz_drop(f);
        break;
    case 3:
        fz_connect(f);
        break;
    case 4:
        fz_candidates(f, arg);
        break;
    case 5:
        fz_portal_push(f, arg);
        break;
    case 6:
        (void)floe_portal_client_request_authorization(f->pc, f->now, "res-1", NULL);
        break;
    default:
        (void)floe_portal_client_authorization_created(f->pc, f->now, "auth-1");
        break;
    }
    fz_pump(f);
    return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f;
    memset(&f, 0, sizeof(f));
    floe_xoshiro_seed(&f.x, 7);
    floe_xoshiro_seed(&f.sx, 11);
    f.now = FLOE_SEC(100);
    struct floe_portal_client_config cfg;
    floe_portal_client_config_default(&cfg);
    cfg.rng = floe_xoshiro_rng(&f.x);
    cfg.role = size && (data[0] & 1) ? FLOE_PORTAL_ROLE_GATEWAY : FLOE_PORTAL_ROLE_CLIENT;
    f.topic =
        cfg.role == FLOE_PORTAL_ROLE_CLIENT ? FLOE_PORTAL_TOPIC_CLIENT : FLOE_PORTAL_TOPIC_GATEWAY;
    cfg.host = "portal.test";
    cfg.token = "token";
    cfg.tls = false;
    if (floe_portal_client_new(&f.pc, &cfg) != 0)
        abort();
    fz_connect(&f);
    fz_pump(&f);
    for (size_t off = size ? 1 : 0; off < size;)
        off += fz_step(&f, data + off, size - off);
    floe_portal_client_free(f.pc);
    floe_wsconn_free(f.srv);
    return 0;
}
