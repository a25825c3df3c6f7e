/*
 * When a network change resets the node (apps/agent/roam.c): a roam resets as soon as the new
 * network is usable (not after a quiet period), changes that leave the network as the node
 * saw it (IPv6 DAD ending, other tables' routes) reset nothing, repeated resets are spaced by
 * FLOE_AGENT_ROAM_DEBOUNCE, and a platform that cannot tell (fingerprint 0) keeps the
 * debounced reset.
 */
#include "agent_int.h"
#include "test.h"

#define T0 FLOE_SEC(100)
#define NET_WIFI 0x1111u
#define NET_CELL 0x2222u

static struct agent_roam started(uint64_t fp)
{
    struct agent_roam r = {0};

    floe__agent_roam_done(&r, T0, fp);
    return r;
}

/* The e2e roam: old link down, its address flushed, the new address, the new link up (no
 * default route yet: not usable), then the default route: a reset at that very moment. */
static void test_roam_resets_when_usable(void)
{
    struct agent_roam r = started(NET_WIFI);
    floe_time at = 0, t = T0 + FLOE_SEC(5);

    for (unsigned ev = 0; ev < 4; ev++) {
        CHECK_EQ(floe__agent_roam_decide(&r, t + FLOE_MS(ev), 0, &at), AGENT_ROAM_LATER);
        CHECK_EQ(at, t + FLOE_MS(ev) + FLOE_AGENT_ROAM_DEBOUNCE);
    }
    CHECK_EQ(floe__agent_roam_decide(&r, t + FLOE_MS(5), NET_CELL, &at), AGENT_ROAM_NOW);
    floe__agent_roam_done(&r, t + FLOE_MS(5), NET_CELL);
    /* IPv6 DAD ends on the new link-local address 1.5 s later: the same network. */
    CHECK_EQ(floe__agent_roam_decide(&r, t + FLOE_MS(1500), NET_CELL, &at), AGENT_ROAM_NONE);
}

/* A link that goes down with a replacement already routed resets at once. */
static void test_failover_resets_now(void)
{
    struct agent_roam r = started(NET_WIFI);
    floe_time at = 0;

    CHECK_EQ(floe__agent_roam_decide(&r, T0 + FLOE_SEC(3), NET_CELL, &at), AGENT_ROAM_NOW);
}

/* Nothing the node uses changed: no reset (a reset withdraws every candidate). */
static void test_same_network_no_reset(void)
{
    struct agent_roam r = started(NET_WIFI);
    floe_time at = FLOE_TIME_NEVER;

    CHECK_EQ(floe__agent_roam_decide(&r, T0 + FLOE_SEC(1), NET_WIFI, &at), AGENT_ROAM_NONE);
    CHECK_EQ(at, FLOE_TIME_NEVER);
}

/* The same network back after it was lost (a different network may give the same address):
 * a reset as soon as it is usable again. */
static void test_flap_resets_when_back(void)
{
    struct agent_roam r = started(NET_WIFI);
    floe_time at = 0;

    CHECK_EQ(floe__agent_roam_decide(&r, T0 + FLOE_SEC(2), 0, &at), AGENT_ROAM_LATER);
    CHECK_EQ(floe__agent_roam_decide(&r, T0 + FLOE_SEC(3), NET_WIFI, &at), AGENT_ROAM_NOW);
    floe__agent_roam_done(&r, T0 + FLOE_SEC(3), NET_WIFI);
    CHECK_EQ(floe__agent_roam_decide(&r, T0 + FLOE_SEC(4), NET_WIFI, &at), AGENT_ROAM_NONE);
}

/* Resets come at most once per debounce: a second network right after the first waits for
 * the end of the spacing. */
static void test_repeated_resets_spaced(void)
{
    struct agent_roam r = started(NET_WIFI);
    floe_time at = 0, t = T0 + FLOE_SEC(10);

    CHECK_EQ(floe__agent_roam_decide(&r, t, NET_CELL, &at), AGENT_ROAM_NOW);
    floe__agent_roam_done(&r, t, NET_CELL);
    CHECK_EQ(floe__agent_roam_decide(&r, t + FLOE_MS(100), NET_WIFI, &at), AGENT_ROAM_LATER);
    CHECK_EQ(at, t + FLOE_AGENT_ROAM_DEBOUNCE);
    CHECK_EQ(floe__agent_roam_decide(&r, t + FLOE_AGENT_ROAM_DEBOUNCE, NET_WIFI, &at),
             AGENT_ROAM_NOW);
}

/* A platform that does not tell (fingerprint always 0, Windows): every change pushes the
 * reset to the end of a quiet period, as before. */
static void test_untold_platform_debounces(void)
{
    struct agent_roam r = started(0);
    floe_time at = 0;

    CHECK_EQ(floe__agent_roam_decide(&r, T0 + FLOE_SEC(1), 0, &at), AGENT_ROAM_LATER);
    CHECK_EQ(at, T0 + FLOE_SEC(1) + FLOE_AGENT_ROAM_DEBOUNCE);
    CHECK_EQ(floe__agent_roam_decide(&r, T0 + FLOE_SEC(1) + FLOE_MS(200), 0, &at),
             AGENT_ROAM_LATER);
    CHECK_EQ(at, T0 + FLOE_SEC(1) + FLOE_MS(200) + FLOE_AGENT_ROAM_DEBOUNCE);
}

int main(void)
{
    FLOE_RUN(test_roam_resets_when_usable);
    FLOE_RUN(test_failover_resets_now);
    FLOE_RUN(test_same_network_no_reset);
    FLOE_RUN(test_flap_resets_when_back);
    FLOE_RUN(test_repeated_resets_spaced);
    FLOE_RUN(test_untold_platform_debounces);
    return floe_test_summary();
}
