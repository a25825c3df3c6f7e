/*
 * floe-relay's quotas hold per daemon, not per worker: with 4 worker threads and
 * --client-quota 1 --user-quota 1, one of 16 Allocates from one address and user
 * succeeds (the kernel's SO_REUSEPORT hash spreads them over the workers), and the
 * quota is free again once that allocation is deleted. Both quotas have non-zero defaults.
 */
#include "test.h"

#include "relayd_harness.h"

#define QT_CLIENTS 16

static void test_quota_holds_across_workers(void)
{
    static const char *const args[] = {"--threads",
                                       "4",
                                       "--user",
                                       "alice:secret",
                                       "--relay-ports",
                                       "62200-62599",
                                       "--user-quota",
                                       "1",
                                       "--client-quota",
                                       "1",
                                       NULL};
    static struct rh_daemon t;
    struct rh_client c[QT_CLIENTS], late;
    int i, ok = 0, quota = 0, winner = -1;

    REQUIRE(rh_start(&t, args) == 0);
    for (i = 0; i < QT_CLIENTS; i++) {
        int code;

        REQUIRE(rh_client_open(&c[i], &t, "alice", "secret") == 0);
        code = rh_allocate(&c[i]);
        ok += code == 0;
        quota += code == 486;
        if (code == 0)
            winner = i;
    }
    CHECK_EQ(ok, 1);
    CHECK_EQ(quota, QT_CLIENTS - 1);
    CHECK_EQ(relayd_quota_count(&t.d.quota, "alice", NULL), 1);
    CHECK_EQ(relayd_quota_count(&t.d.quota, NULL, &t.server), 1); /* 127.0.0.1 */
    /* deleting the allocation gives the quota back, whichever worker holds it */
    REQUIRE(winner >= 0);
    CHECK_EQ(rh_request(&c[winner], FLOE_STUN_REFRESH, 0), 0);
    CHECK_EQ(rh_code(&c[winner]), 0);
    CHECK_EQ(relayd_quota_count(&t.d.quota, "alice", NULL), 0);
    REQUIRE(rh_client_open(&late, &t, "alice", "secret") == 0);
    CHECK_EQ(rh_allocate(&late), 0);
    for (i = 0; i < QT_CLIENTS; i++)
        rh_client_close(&c[i]);
    rh_client_close(&late);
    rh_stop(&t);
}

/* The counters themselves, through the hooks a core calls. */
static void test_quota_counters(void)
{
    static struct relayd_quota q;
    struct floe_addr a = floe_addr_v4(192, 0, 2, 1, 1000), a2 = floe_addr_v4(192, 0, 2, 1, 2000);
    struct floe_addr b = floe_addr_v4(192, 0, 2, 2, 1000);
    struct floe_relay_quota_hooks h;

    REQUIRE(relayd_quota_init(&q) == 0);
    h = relayd_quota_hooks(&q);
    CHECK_EQ(h.acquire(h.ctx, "u1", &a, 2, 3), 0);
    CHECK_EQ(h.acquire(h.ctx, "u1", &a2, 2, 3), 0); /* same IP, other port */
    CHECK(h.acquire(h.ctx, "u1", &b, 2, 3) < 0);    /* u1 is at 2 */
    CHECK_EQ(h.acquire(h.ctx, "u2", &a, 2, 3), 0);
    CHECK(h.acquire(h.ctx, "u3", &a, 2, 3) < 0);   /* the IP is at 3 */
    CHECK_EQ(h.acquire(h.ctx, "u3", &a, 2, 0), 0); /* 0: no per-client limit */
    CHECK_EQ(relayd_quota_count(&q, "u1", NULL), 2);
    CHECK_EQ(relayd_quota_count(&q, NULL, &a2), 4);
    CHECK_EQ(relayd_quota_count(&q, NULL, &b), 0);
    h.release(h.ctx, "u1", &a);
    h.release(h.ctx, "u1", &a2);
    CHECK_EQ(relayd_quota_count(&q, "u1", NULL), 0);
    CHECK_EQ(relayd_quota_count(&q, NULL, &a), 2);
    CHECK_EQ(h.acquire(h.ctx, "u1", &b, 2, 3), 0);
    relayd_quota_deinit(&q); /* frees what is still counted (ASan checks) */
}

static void test_quota_defaults(void)
{
    static struct relayd_opts o;
    char err[128];
    char *argv[] = {"floe-relay", "--listen", "127.0.0.1:3478", "--user", "a:b"};

    REQUIRE(relayd_parse_args(5, argv, &o, err, sizeof(err)) == 0);
    CHECK_EQ(o.core.max_allocations_per_user, RELAYD_DEFAULT_USER_QUOTA);
    CHECK_EQ(o.core.max_allocations_per_client, RELAYD_DEFAULT_CLIENT_QUOTA);
    CHECK(RELAYD_DEFAULT_USER_QUOTA > 0 && RELAYD_DEFAULT_CLIENT_QUOTA > 0);
}

int main(void)
{
    FLOE_RUN(test_quota_holds_across_workers);
    FLOE_RUN(test_quota_counters);
    FLOE_RUN(test_quota_defaults);
    return floe_test_summary();
}
