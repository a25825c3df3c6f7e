#!/usr/bin/env bash
# The main job of floe, shown to a person (the first part of `make demo`, issue 13): the
# topology of tests/e2e/topo.sh in network namespaces (an internet, a TLS portal, a relay,
# a site behind a NAT with a gateway and a web server, a laptop with wifi and cellular each
# behind its own NAT); floe-portal, floe-relay, floe-gateway and floe-client start; a
# download of a DEMO_FILE_MB (default 1024) MiB file with a progress line; the laptop roams
# from wifi to cellular in the middle; the data outage measured; the path before and after
# (floe-client status). Everything is removed at the end, also on failure or Ctrl-C.
# Usage: bash scripts/demo_e2e.sh BUILD_DIR   (as root)
set -euo pipefail
BUILD=${1:?usage: bash scripts/demo_e2e.sh BUILD_DIR}
FLOE_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
FLOE_BIN_DIR=$(cd "$BUILD" && pwd)/bin
export FLOE_SOURCE_DIR FLOE_BIN_DIR
TMP=$(mktemp -d /tmp/floe-demo-e2e.XXXXXX)
# shellcheck source=../tests/e2e/e2e_lib.sh
. "$FLOE_SOURCE_DIR/tests/e2e/e2e_lib.sh"
trap 'exit 130' INT TERM
trap 'rc=$?; [ $rc = 0 ] || { echo "--- floe-client log"; tail -n 15 "$TMP/client.log"; echo "--- floe-gateway log"; tail -n 15 "$TMP/gw1.log"; } >&2 2>/dev/null; topo_down; rm -rf "$TMP"' EXIT
e2e_need

heading() {
    printf '\n=== %s ===\n' "$1"
}

heading "the network: 10 namespaces (internet, portal, relay, site NAT, 2 gateways, web server, 2 access NATs, laptop)"
topo_up
echo "portal $PORTAL_IP ($PORTAL_NAME, TLS with a test CA), relay $RELAY_IP:$RELAY_PORT"
echo "site behind NAT $SITE_PUBLIC: gateway 10.10.0.2, web server $RES_IP:$HTTP_PORT"
echo "laptop: wifi behind NAT $WIFI_PUBLIC, cellular behind NAT $CELL_PUBLIC"
echo "access links: ${TOPO_NETEM_MS} ms each way (the topology's delay line)"

heading "floe-portal admin: site, gateway token, resources, user, client token, group, policy, relay"
topo_enroll
topo_admin resources list
topo_admin relays list

heading "starting floe-relay, floe-portal (wss://$PORTAL_NAME), a ${DEMO_FILE_MB:-1024} MiB file on the web server"
topo_relay
topo_portal
topo_http "${DEMO_FILE_MB:-1024}"
echo "sha256 $(cat "$TMP/file.sha256")"

heading "starting floe-gateway (site hq) and floe-client (alice's laptop)"
topo_gateway 1
topo_client
topo_wait "floe-client did not join the portal" 150 e2e_portal_joined
e2e_first_ping
topo_status

heading "download over one TCP connection; the laptop roams from wifi to cellular in the middle"
E2E_SHOW=1 e2e_download_roam 1 "${DEMO_ROAM_AFTER:-4}"
echo "sha256 matches: the same TCP connection finished the download"
echo "data outage (cellular usable -> first new data): $(cat "$TMP/outages") ms"

heading "floe-client status after the roam"
topo_status
echo "done"
