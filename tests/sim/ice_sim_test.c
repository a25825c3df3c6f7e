/*
 * The ICE simulator scenarios as tests. `ice_sim_test run NAME` runs one
 * scenario (seed 1, or FLOE_TEST_SEED) and requires its verdict to hold;
 * `ice_sim_test meta` checks the scenario table against the ctest list, the
 * determinism of transcripts and the building blocks (STUN server, signalling
 * outage) directly.
 */
#include <inttypes.h>

#include "floe/sim_ice.h"
#include "floe/stun.h"
#include "test.h"

static uint64_t test_seed(void)
{
    const char *s = getenv("FLOE_TEST_SEED");

    return s ? strtoull(s, NULL, 10) : 1;
}

static void print_verdict(const struct floe_sim_verdict *v)
{
    size_t i;

    for (i = 0; i < v->n_tl; i++)
        printf("  [%u/%u] %10.3f ms  %s\n", v->tl[i].group, v->tl[i].lane,
               (double)v->tl[i].at / 1e6, v->tl[i].text);
    printf("verdict: %s: %s\n", v->pass ? "PASS" : "FAIL", v->reason);
}

static int run_one(const char *name)
{
    const struct floe_sim_scenario *sc = floe_sim_scenario_find(name);
    struct floe_sim_scenario_opts o = {.seed = test_seed()};
    static struct floe_sim_verdict v;
    int rc;

    if (!sc) {
        fprintf(stderr, "no scenario '%s'\n", name);
        return 1;
    }
    printf("scenario %s, seed %" PRIu64 "\n", name, o.seed);
    floe_sim_verdict_init(&v);
    rc = sc->run(&o, &v);
    print_verdict(&v);
    CHECK_EQ(rc, 0);
    CHECK(v.pass);
    CHECK(v.n_tl > 0);
    return floe_test_failures_in_current ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "run") == 0)
        return run_one(argv[2]);
    fprintf(stderr, "usage: ice_sim_test run NAME | meta\n");
    return 2;
}
