/* STUN client transaction retransmission schedule (RFC 8489 section 6.2.1). */
#include "floe/stun.h"
#include "test.h"

#define T0 FLOE_SEC(1000)
#define MAX_SENDS 64

static const uint8_t txid_a[FLOE_STUN_TXID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

/* What happened when a transaction was driven to its end with no response. */
struct schedule {
    floe_time sends[MAX_SENDS];
    size_t n_sends;
    floe_time timed_out_at;
};

/* Drive t at exactly its deadlines, recording sends relative to T0. */
static void drive(struct floe_stun_txn *t, struct schedule *s)
{
    floe_time now = T0;
    int steps;

    memset(s, 0, sizeof(*s));
    s->timed_out_at = FLOE_TIME_NEVER;
    for (steps = 0; steps < 1000 && !floe_stun_txn_is_timed_out(t); steps++) {
        floe_stun_txn_handle_timeout(t, now);
        while (floe_stun_txn_poll_transmit(t, now) && s->n_sends < MAX_SENDS)
            s->sends[s->n_sends++] = now - T0;
        if (floe_stun_txn_is_timed_out(t)) {
            s->timed_out_at = now - T0;
            break;
        }
        now = floe_stun_txn_poll_timeout(t);
        if (now == FLOE_TIME_NEVER)
            break;
    }
}

static void check_sends(const struct schedule *s, const floe_time *expect, size_t n)
{
    size_t i;

    CHECK_EQ(s->n_sends, n);
    for (i = 0; i < n && i < s->n_sends; i++) {
        if (s->sends[i] != expect[i])
            fprintf(stderr, "  send %zu at %llu ns, expected %llu\n", i,
                    (unsigned long long)s->sends[i], (unsigned long long)expect[i]);
        CHECK_EQ(s->sends[i], expect[i]);
    }
}

static void test_rfc8489_schedule(void)
{
    static const floe_time expect[] = {
        0, FLOE_MS(500), FLOE_MS(1500), FLOE_MS(3500), FLOE_MS(7500), FLOE_MS(15500),
        FLOE_MS(31500),
    };
    struct floe_stun_txn_config cfg = floe_stun_txn_config_rfc8489();
    struct floe_stun_txn t;
    struct schedule s;

    CHECK_EQ(cfg.initial_rto, FLOE_MS(500));
    CHECK_EQ(cfg.max_sends, 7);
    floe_stun_txn_start(&t, &cfg, txid_a, T0);
    drive(&t, &s);
    check_sends(&s, expect, sizeof(expect) / sizeof(expect[0]));
    CHECK_EQ(s.timed_out_at, FLOE_MS(39500));
    CHECK(floe_stun_txn_is_timed_out(&t));
    CHECK(!floe_stun_txn_is_done(&t));
    CHECK_EQ(floe_stun_txn_poll_timeout(&t), FLOE_TIME_NEVER);
}

static void test_turn_schedule(void)
{
    static const floe_time expect[] = {0, FLOE_MS(1000), FLOE_MS(2500), FLOE_MS(4750)};
    struct floe_stun_txn_config cfg = floe_stun_txn_config_turn();
    struct floe_stun_txn t;
    struct schedule s;

    CHECK_EQ(cfg.give_up_after, FLOE_SEC(8));
    floe_stun_txn_start(&t, &cfg, txid_a, T0);
    drive(&t, &s);
    check_sends(&s, expect, sizeof(expect) / sizeof(expect[0]));
    /* 4.75 s + 3.375 s would be 8.125 s: the 8 s bound comes first. */
    CHECK_EQ(s.timed_out_at, FLOE_SEC(8));
}

static void test_give_up_after_bounds_rfc_profile(void)
{
    static const floe_time expect[] = {0, FLOE_MS(500), FLOE_MS(1500)};
    struct floe_stun_txn_config cfg = floe_stun_txn_config_rfc8489();
    struct floe_stun_txn t;
    struct schedule s;

    cfg.give_up_after = FLOE_MS(2000);
    floe_stun_txn_start(&t, &cfg, txid_a, T0);
    drive(&t, &s);
    check_sends(&s, expect, 3);
    CHECK_EQ(s.timed_out_at, FLOE_MS(2000));
}

static void test_give_up_wins_over_send_at_same_instant(void)
{
    static const floe_time expect[] = {0, FLOE_MS(500)};
    struct floe_stun_txn_config cfg = floe_stun_txn_config_rfc8489();
    struct floe_stun_txn t;
    struct schedule s;

    cfg.give_up_after = FLOE_MS(1500);
    floe_stun_txn_start(&t, &cfg, txid_a, T0);
    drive(&t, &s);
    check_sends(&s, expect, 2);
    CHECK_EQ(s.timed_out_at, FLOE_MS(1500));
}

static void test_max_rto_cap(void)
{
    static const floe_time expect[] = {
        0, FLOE_MS(100), FLOE_MS(300), FLOE_MS(600), FLOE_MS(900), FLOE_MS(1200),
    };
    struct floe_stun_txn_config cfg = {
        .initial_rto = FLOE_MS(100),
        .backoff_permille = 2000,
        .max_rto = FLOE_MS(300),
        .max_sends = 6,
        .last_wait = 0,
        .give_up_after = 0,
    };
    struct floe_stun_txn t;
    struct schedule s;

    floe_stun_txn_start(&t, &cfg, txid_a, T0);
    drive(&t, &s);
    check_sends(&s, expect, 6);
    /* No last_wait: wait the capped rto after the last send. */
    CHECK_EQ(s.timed_out_at, FLOE_MS(1500));
    CHECK_EQ(t.rto, FLOE_MS(300));
}

static void test_poll_timeout_values(void)
{
    struct floe_stun_txn_config cfg = floe_stun_txn_config_rfc8489();
    struct floe_stun_txn t;

    memset(&t, 0, sizeof(t));
    CHECK_EQ(floe_stun_txn_poll_timeout(&t), FLOE_TIME_NEVER);
    CHECK_EQ(floe_stun_txn_poll_timeout(NULL), FLOE_TIME_NEVER);
    floe_stun_txn_start(&t, &cfg, txid_a, T0);
    CHECK_EQ(floe_stun_txn_poll_timeout(&t), T0);
    CHECK_EQ(floe_stun_txn_poll_transmit(&t, T0), 1);
    CHECK_EQ(floe_stun_txn_poll_transmit(&t, T0), 0);
    CHECK_EQ(floe_stun_txn_poll_timeout(&t), T0 + FLOE_MS(500));
    /* Sending late shifts the schedule: the wait counts from the real send. */
    floe_stun_txn_handle_timeout(&t, T0 + FLOE_MS(520));
    CHECK_EQ(floe_stun_txn_poll_transmit(&t, T0 + FLOE_MS(530)), 1);
    CHECK_EQ(floe_stun_txn_poll_timeout(&t), T0 + FLOE_MS(1530));
    CHECK_EQ(t.sends, 2);
}

static void test_handle_timeout_early_is_noop(void)
{
    struct floe_stun_txn_config cfg = floe_stun_txn_config_rfc8489();
    struct floe_stun_txn t;

    floe_stun_txn_start(&t, &cfg, txid_a, T0);
    CHECK_EQ(floe_stun_txn_poll_transmit(&t, T0), 1);
    floe_stun_txn_handle_timeout(&t, T0 + FLOE_MS(499));
    CHECK_EQ(floe_stun_txn_poll_transmit(&t, T0 + FLOE_MS(499)), 0);
    CHECK_EQ(floe_stun_txn_poll_timeout(&t), T0 + FLOE_MS(500));
    /* Repeated calls at the deadline schedule one send, not several. */
    floe_stun_txn_handle_timeout(&t, T0 + FLOE_MS(500));
    floe_stun_txn_handle_timeout(&t, T0 + FLOE_MS(500));
    floe_stun_txn_handle_timeout(&t, T0 + FLOE_MS(501));
    CHECK_EQ(floe_stun_txn_poll_transmit(&t, T0 + FLOE_MS(501)), 1);
    CHECK_EQ(floe_stun_txn_poll_transmit(&t, T0 + FLOE_MS(501)), 0);
    CHECK_EQ(t.sends, 2);
    CHECK_EQ(t.state, FLOE_STUN_TXN_WAITING);
}

static void test_idle_and_finished_ignore_everything(void)
{
    struct floe_stun_txn_config cfg = floe_stun_txn_config_turn();
    struct floe_stun_txn t;
    struct schedule s;

    memset(&t, 0, sizeof(t));
    floe_stun_txn_handle_timeout(&t, T0);
    CHECK_EQ(floe_stun_txn_poll_transmit(&t, T0), 0);
    CHECK_EQ(t.state, FLOE_STUN_TXN_IDLE);
    floe_stun_txn_start(&t, &cfg, txid_a, T0);
    drive(&t, &s);
    REQUIRE(floe_stun_txn_is_timed_out(&t));
    floe_stun_txn_handle_timeout(&t, T0 + FLOE_SEC(100));
    CHECK_EQ(floe_stun_txn_poll_transmit(&t, T0 + FLOE_SEC(100)), 0);
    CHECK(floe_stun_txn_is_timed_out(&t));
}

static void make_response(struct floe_stun_msg *m, uint8_t cls, const uint8_t *txid)
{
    memset(m, 0, sizeof(*m));
    m->method = FLOE_STUN_BINDING;
    m->cls = cls;
    memcpy(m->txid, txid, FLOE_STUN_TXID_LEN);
    m->integrity_idx = -1;
    m->integrity_sha256_idx = -1;
    m->fingerprint_idx = -1;
}

static void test_response_rtt_single_send(void)
{
    struct floe_stun_txn_config cfg = floe_stun_txn_config_rfc8489();
    struct floe_stun_txn t;
    struct floe_stun_msg m;

    floe_stun_txn_start(&t, &cfg, txid_a, T0);
    make_response(&m, FLOE_STUN_SUCCESS, txid_a);
    /* Nothing sent yet: nothing can answer. */
    CHECK_EQ(floe_stun_txn_handle_response(&t, T0, &m), 0);
    CHECK_EQ(floe_stun_txn_poll_transmit(&t, T0 + FLOE_MS(1)), 1);
    CHECK_EQ(floe_stun_txn_handle_response(&t, T0 + FLOE_MS(43), &m), 1);
    CHECK(floe_stun_txn_is_done(&t));
    CHECK_EQ(t.rtt, FLOE_MS(42));
    CHECK_EQ(floe_stun_txn_poll_timeout(&t), FLOE_TIME_NEVER);
    /* A duplicate response is not accepted twice. */
    CHECK_EQ(floe_stun_txn_handle_response(&t, T0 + FLOE_MS(50), &m), 0);
    CHECK_EQ(t.rtt, FLOE_MS(42));
    floe_stun_txn_handle_timeout(&t, T0 + FLOE_SEC(60));
    CHECK(floe_stun_txn_is_done(&t));
}

static void test_response_karn_rule(void)
{
    struct floe_stun_txn_config cfg = floe_stun_txn_config_rfc8489();
    struct floe_stun_txn t;
    struct floe_stun_msg m;

    floe_stun_txn_start(&t, &cfg, txid_a, T0);
    CHECK_EQ(floe_stun_txn_poll_transmit(&t, T0), 1);
    floe_stun_txn_handle_timeout(&t, T0 + FLOE_MS(500));
    CHECK_EQ(floe_stun_txn_poll_transmit(&t, T0 + FLOE_MS(500)), 1);
    make_response(&m, FLOE_STUN_ERROR, txid_a);
    CHECK_EQ(floe_stun_txn_handle_response(&t, T0 + FLOE_MS(510), &m), 1);
    CHECK(floe_stun_txn_is_done(&t));
    CHECK_EQ(t.rtt, FLOE_TIME_NEVER);
}

static void test_response_rejects_wrong_txid_and_class(void)
{
    struct floe_stun_txn_config cfg = floe_stun_txn_config_rfc8489();
    uint8_t other[FLOE_STUN_TXID_LEN];
    struct floe_stun_txn t;
    struct floe_stun_msg m;

    floe_stun_txn_start(&t, &cfg, txid_a, T0);
    CHECK_EQ(floe_stun_txn_poll_transmit(&t, T0), 1);
    memcpy(other, txid_a, sizeof(other));
    other[11] ^= 0x80;
    make_response(&m, FLOE_STUN_SUCCESS, other);
    CHECK_EQ(floe_stun_txn_handle_response(&t, T0 + 1, &m), 0);
    make_response(&m, FLOE_STUN_REQUEST, txid_a);
    CHECK_EQ(floe_stun_txn_handle_response(&t, T0 + 1, &m), 0);
    make_response(&m, FLOE_STUN_INDICATION, txid_a);
    CHECK_EQ(floe_stun_txn_handle_response(&t, T0 + 1, &m), 0);
    CHECK_EQ(floe_stun_txn_handle_response(&t, T0 + 1, NULL), 0);
    CHECK_EQ(t.state, FLOE_STUN_TXN_WAITING);
    CHECK_EQ(floe_stun_txn_poll_timeout(&t), T0 + FLOE_MS(500));
    make_response(&m, FLOE_STUN_SUCCESS, txid_a);
    CHECK_EQ(floe_stun_txn_handle_response(&t, T0 + 2, &m), 1);
}

static void test_response_after_timeout_rejected(void)
{
    struct floe_stun_txn_config cfg = floe_stun_txn_config_turn();
    struct floe_stun_txn t;
    struct floe_stun_msg m;
    struct schedule s;

    floe_stun_txn_start(&t, &cfg, txid_a, T0);
    drive(&t, &s);
    make_response(&m, FLOE_STUN_SUCCESS, txid_a);
    CHECK_EQ(floe_stun_txn_handle_response(&t, T0 + FLOE_SEC(9), &m), 0);
    CHECK(floe_stun_txn_is_timed_out(&t));
}

static void test_backoff_saturates(void)
{
    struct floe_stun_txn_config cfg = {
        .initial_rto = FLOE_TIME_NEVER / 2,
        .backoff_permille = 4000,
        .max_rto = 0,
        .max_sends = 3,
        .last_wait = 0,
        .give_up_after = 0,
    };
    struct floe_stun_txn t;

    floe_stun_txn_start(&t, &cfg, txid_a, 0);
    CHECK_EQ(floe_stun_txn_poll_transmit(&t, 0), 1);
    floe_stun_txn_handle_timeout(&t, FLOE_TIME_NEVER / 2);
    CHECK_EQ(floe_stun_txn_poll_transmit(&t, FLOE_TIME_NEVER / 2), 1);
    CHECK_EQ(t.rto, FLOE_TIME_NEVER);
    CHECK_EQ(floe_stun_txn_poll_timeout(&t), FLOE_TIME_NEVER);
}

int main(void)
{
    FLOE_RUN(test_rfc8489_schedule);
    FLOE_RUN(test_turn_schedule);
    FLOE_RUN(test_give_up_after_bounds_rfc_profile);
    FLOE_RUN(test_give_up_wins_over_send_at_same_instant);
    FLOE_RUN(test_max_rto_cap);
    FLOE_RUN(test_poll_timeout_values);
    FLOE_RUN(test_handle_timeout_early_is_noop);
    FLOE_RUN(test_idle_and_finished_ignore_everything);
    FLOE_RUN(test_response_rtt_single_send);
    FLOE_RUN(test_response_karn_rule);
    FLOE_RUN(test_response_rejects_wrong_txid_and_class);
    FLOE_RUN(test_response_after_timeout_rejected);
    FLOE_RUN(test_backoff_saturates);
    return floe_test_summary();
}
