/*
 * libFuzzer target: the node's whole-system property test (node-prop) driven from bytes:
 * the input picks the NAT kinds, latency, jitter and loss, then the transitions (client and
 * gateway roams with dead windows of 0.1-10 s, signalling outages, idle periods). A broken
 * invariant of the reference model (a false failure, a packet twice or at the wrong peer, no
 * data after a roam) aborts with the reason.
 */
#include <stdio.h>
#include <stdlib.h>

#include "floe/sim_node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[128];

    if (size > 64) /* a run draws at most 30 choices: longer inputs add nothing */
        size = 64;
    if (floe_sim_node_prop_bytes(data, size, why, sizeof(why)) == 1) {
        fprintf(stderr, "node-prop invariant broken: %s\n", why);
        abort();
    }
    return 0;
}
