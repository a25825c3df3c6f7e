#!/usr/bin/env bash
# relay_uclient_test.sh again with floe-relay's epoll loop (--io epoll) instead of io_uring.
set -euo pipefail
: "${FLOE_SOURCE_DIR:?FLOE_SOURCE_DIR must point at the source tree}"
FLOE_RELAY_IO=epoll exec bash "$FLOE_SOURCE_DIR/tests/interop/relay_uclient_test.sh"
