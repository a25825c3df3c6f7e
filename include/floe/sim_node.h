/*
 * The node's whole-system property test (the `node-prop` scenario) as a function of bytes,
 * for a libFuzzer target: the input chooses the topology (NAT kinds, latency, jitter, loss)
 * and the transitions (roams with their dead windows, signalling outages, idle periods),
 * and the same reference model judges the run.
 */
#ifndef FLOE_SIM_NODE_H
#define FLOE_SIM_NODE_H

#include "floe/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Run one node-prop run drawn from data[0..len) (two bytes per choice; past the end every
 * byte reads as zero). Returns 0 when every invariant held, 1 when one broke (why gets
 * which, NUL-terminated, cut to cap), or a negative FLOE_ERR_* when the run could not be
 * set up.
 */
int floe_sim_node_prop_bytes(const uint8_t *data, size_t len, char *why, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
