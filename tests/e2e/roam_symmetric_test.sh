#!/usr/bin/env bash
# Issue 13, case 3: roam mid-download (tests/e2e/roam_test.sh) with every NAT symmetric
# (masquerade fully-random): the path must be relayed, and it survives the roams.
export TOPO_SYMMETRIC=1
exec bash "$FLOE_SOURCE_DIR/tests/e2e/roam_test.sh"
