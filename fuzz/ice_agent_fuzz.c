/*
 * libFuzzer target: one ICE agent driven by a scripted stream of operations
 * read from the input: raw datagrams, correctly signed requests and responses
 * with fuzzed attributes (so the fuzzer gets past MESSAGE-INTEGRITY), timeouts,
 * candidate changes, restarts and credential changes. After every operation
 * transmits and events are drained and invariants are checked: the agent has
 * a selected pair exactly when it is connected, and a deadline fired at its
 * time is followed by one in the future.
 */
#include <stdlib.h>
#include <string.h>

#include "floe/ice.h"
#include "floe/stun.h"

#define FUZZ_PEER_UFRAG "peer"
#define FUZZ_PEER_PWD "peerpasswordpeerpassword"

struct fuzz {
    const uint8_t *p;
    size_t n;
    struct floe_ice_agent *agent;
    floe_time now;
    uint8_t last_txid[FLOE_STUN_TXID_LEN];
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t fuzz_u8(struct fuzz *f)
{
    if (f->n == 0)
        return 0;
    f->n--;
    return *f->p++;
}

static uint64_t fuzz_u64(struct fuzz *f)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++)
        v = v << 8 | fuzz_u8(f);
    return v;
}

static struct floe_addr fuzz_addr(uint8_t sel)
{
    static const uint8_t last[] = {1, 2, 3, 9};

    if (sel & 4)
        return floe_addr_v4(198, 51, 100, last[sel & 3], (uint16_t)(3478 + (sel & 3)));
    return floe_addr_v4(10, 0, 0, last[sel & 3], (uint16_t)(5000 + (sel & 3)));
}

static struct floe_ice_path fuzz_path(uint8_t sel)
{
    struct floe_ice_path p;

    memset(&p, 0, sizeof(p));
    p.local = fuzz_addr(sel & 7);
    if (sel & 8) {
        p.via_relay = true;
        p.relay = floe_addr_v4(198, 51, 100, 250, 3478);
    }
    return p;
}

static struct floe_ice_candidate fuzz_cand(uint8_t sel)
{
    struct floe_ice_candidate c;

    memset(&c, 0, sizeof(c));
    c.type = (enum floe_ice_cand_type)(sel & 3);
    c.addr = fuzz_addr((uint8_t)(sel >> 2));
    c.base = fuzz_addr((uint8_t)(sel >> 5));
    c.local_pref = (uint16_t)(sel * 257u);
    if (c.type == FLOE_ICE_RELAY || c.type == FLOE_ICE_SRFLX)
        c.server = floe_addr_v4(198, 51, 100, 250, 3478);
    return c;
}

static void fuzz_request_attrs(struct fuzz *f, struct floe_stun_builder *b)
{
    uint8_t flags = fuzz_u8(f);
    const char *ufrag;
    char user[FLOE_ICE_UFRAG_MAX + 8];

    floe_ice_get_local_credentials(f->agent, &ufrag, NULL);
    strcpy(user, (flags & 1) ? ufrag : "nope");
    strcat(user, ":" FUZZ_PEER_UFRAG);
    floe_stun_add_bytes(b, FLOE_STUN_ATTR_USERNAME, user, strlen(user));
    if (flags & 2)
        floe_stun_add_u32(b, FLOE_STUN_ATTR_PRIORITY, (uint32_t)fuzz_u64(f));
    if (flags & 4)
        floe_stun_add_u64(b, FLOE_STUN_ATTR_ICE_CONTROLLING, fuzz_u64(f));
    if (flags & 8)
        floe_stun_add_u64(b, FLOE_STUN_ATTR_ICE_CONTROLLED, fuzz_u64(f));
    if (flags & 16)
        floe_stun_add_flag(b, FLOE_STUN_ATTR_USE_CANDIDATE);
}

static void fuzz_response_attrs(struct fuzz *f, struct floe_stun_builder *b, uint8_t cls)
{
    uint8_t sel = fuzz_u8(f);
    struct floe_addr mapped = fuzz_addr(sel);

    if (cls == FLOE_STUN_ERROR)
        floe_stun_add_error(b, (sel & 1) ? 487 : 400 + (sel >> 1), "x");
    else
        floe_stun_add_xor_addr(b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
}

/* A Binding message with a valid MESSAGE-INTEGRITY and FINGERPRINT. */
static void fuzz_signed(struct fuzz *f, uint8_t cls)
{
    uint8_t buf[600], txid[FLOE_STUN_TXID_LEN];
    struct floe_stun_builder b;
    struct floe_ice_path path = fuzz_path(fuzz_u8(f));
    struct floe_addr from = fuzz_addr(fuzz_u8(f));
    const char *pwd = FUZZ_PEER_PWD;
    long n;

    memcpy(txid, f->last_txid, sizeof(txid));
    if (cls == FLOE_STUN_REQUEST) {
        floe_ice_get_local_credentials(f->agent, NULL, &pwd);
        txid[0] = fuzz_u8(f);
    }
    floe_stun_build_init(&b, buf, sizeof(buf), FLOE_STUN_BINDING, cls, txid);
    if (cls == FLOE_STUN_REQUEST)
        fuzz_request_attrs(f, &b);
    else
        fuzz_response_attrs(f, &b, cls);
    floe_stun_add_integrity_key(&b, (const uint8_t *)pwd, strlen(pwd));
    floe_stun_add_fingerprint(&b);
    n = floe_stun_build_finish(&b);
    if (n > 0)
        floe_ice_handle_input(f->agent, f->now, &path, &from, buf, (size_t)n);
}

static void fuzz_raw(struct fuzz *f)
{
    uint8_t buf[256];
    size_t len = fuzz_u8(f), i;
    struct floe_ice_path path = fuzz_path(fuzz_u8(f));
    struct floe_addr from = fuzz_addr(fuzz_u8(f));

    for (i = 0; i < len; i++)
        buf[i] = fuzz_u8(f);
    floe_ice_handle_input(f->agent, f->now, &path, &from, buf, len);
}

static void fuzz_candidates(struct fuzz *f, uint8_t op)
{
    struct floe_ice_candidate c = fuzz_cand(fuzz_u8(f));

    if (op == 4)
        floe_ice_add_remote_candidate(f->agent, f->now, &c);
    else if (op == 5)
        floe_ice_add_local_candidate(f->agent, f->now, &c);
    else if (c.local_pref & 1)
        floe_ice_remove_local_candidate(f->agent, f->now, &c);
    else
        floe_ice_remove_remote_candidate(f->agent, f->now, &c);
}

static void fuzz_command(struct fuzz *f, uint8_t op)
{
    uint8_t arg = fuzz_u8(f);

    if (op == 7) {
        floe_ice_restart(f->agent, f->now, arg & 1);
    } else if (op == 8) {
        if (arg & 1)
            floe_ice_end_of_local_candidates(f->agent, f->now);
        else
            floe_ice_end_of_remote_candidates(f->agent, f->now);
    } else if (arg == 0xFF) {
        floe_ice_close(f->agent, f->now);
    } else {
        floe_ice_set_remote_credentials(f->agent, f->now, (arg & 1) ? "other" : FUZZ_PEER_UFRAG,
                                        FUZZ_PEER_PWD);
    }
}

static void fuzz_drain(struct fuzz *f)
{
    uint8_t buf[600];
    struct floe_ice_transmit tx;
    struct floe_ice_event ev;
    struct floe_stun_msg msg;
    struct floe_ice_pair_info sel;
    bool has_sel;

    while (floe_ice_poll_transmit(f->agent, f->now, buf, sizeof(buf), &tx) == 1) {
        if (floe_stun_decode(&msg, buf, tx.len) == 0 && msg.cls == FLOE_STUN_REQUEST)
            memcpy(f->last_txid, msg.txid, sizeof(f->last_txid));
    }
    while (floe_ice_poll_event(f->agent, &ev) == 1)
        ;
    has_sel = floe_ice_get_selected_pair(f->agent, &sel) == 0;
    if (has_sel != (floe_ice_get_state(f->agent) == FLOE_ICE_CONNECTED))
        abort();
}

/*
 * Advance to the next deadline (or by a fuzzed step) and fire it. Once fired
 * and drained, the next deadline lies in the future: one left in the past
 * would make a caller's timer loop spin (issue #10 item 6).
 */
static void fuzz_timeout(struct fuzz *f)
{
    floe_time t = floe_ice_poll_timeout(f->agent);

    f->now += (fuzz_u8(f) & 1) && t != FLOE_TIME_NEVER && t > f->now
                  ? t - f->now
                  : FLOE_MS((uint64_t)fuzz_u8(f) * 20);
    floe_ice_handle_timeout(f->agent, f->now);
    fuzz_drain(f);
    t = floe_ice_poll_timeout(f->agent);
    if (t != FLOE_TIME_NEVER && t <= f->now)
        abort();
}

static void fuzz_step(struct fuzz *f)
{
    uint8_t op = fuzz_u8(f) % 10;

    if (op == 0) {
        fuzz_raw(f);
    } else if (op <= 2) {
        fuzz_signed(f, op == 1            ? FLOE_STUN_REQUEST
                       : (fuzz_u8(f) & 1) ? FLOE_STUN_ERROR
                                          : FLOE_STUN_SUCCESS);
    } else if (op == 3) {
        fuzz_timeout(f);
        return;
    } else if (op <= 6) {
        fuzz_candidates(f, op);
    } else {
        fuzz_command(f, op);
    }
    fuzz_drain(f);
}

static void fuzz_rng_fill(void *user, uint8_t *out, size_t len)
{
    uint64_t *s = user;
    size_t i;

    for (i = 0; i < len; i++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        out[i] = (uint8_t)(*s >> 56);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct floe_ice_config cfg;
    struct fuzz f;
    uint64_t seed = 7;
    int steps = 0;

    memset(&f, 0, sizeof(f));
    f.p = data;
    f.n = size;
    floe_ice_config_default(&cfg);
    cfg.rng.fill = fuzz_rng_fill;
    cfg.rng.user = &seed;
    cfg.max_pairs = 6;
    cfg.max_local_candidates = 4;
    cfg.max_remote_candidates = 4;
    cfg.role = (fuzz_u8(&f) & 1) ? FLOE_ICE_CONTROLLED : FLOE_ICE_CONTROLLING;
    cfg.ta = FLOE_MS(fuzz_u8(&f) % 60);
    if (floe_ice_new(&f.agent, &cfg, 0) != 0)
        return 0;
    while (f.n > 0 && steps++ < 4096)
        fuzz_step(&f);
    floe_ice_free(f.agent);
    return 0;
}
