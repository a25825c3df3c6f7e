#!/usr/bin/env bash
# iperf_json.sh LABEL FILE: one benchmark row from iperf3's JSON report FILE (iperf3 -J, the
# client's), for bench/e2e.sh:
#   TCP: LABEL, Gbit/s received, the sender's retransmissions (the loss on the path);
#   UDP: LABEL, Gbit/s received, the datagrams lost (%, and how many of how many).
# A report that measured nothing is not a row: an empty or non-JSON file, iperf3's own error,
# no receiver summary in .end (bench/e2e.sh printed such a report as "0.00 Gbit/s" with an
# empty retransmission count) or no byte received; the reason goes to stderr and the exit
# status is 1. Exit 2: a bad command line.
set -euo pipefail
[ $# = 2 ] || { echo "usage: iperf_json.sh LABEL FILE" >&2 && exit 2; }
label=$1 file=$2
[ -s "$file" ] || { echo "$label: iperf3 wrote no report" >&2 && exit 1; }
# One line: "ERR reason", or "TCP bps retransmits", or "UDP bps lost% lost packets".
if ! row=$(jq -r '
    (.end.sum_received // {}) as $r
    | if type != "object" then "ERR not an iperf3 report"
    elif (.error // "") != "" then "ERR iperf3: \(.error)"
    elif ($r | has("bytes")) | not then
        "ERR no receiver summary: the transfer never ended (a stalled path?)"
    elif ($r.bytes // 0) <= 0 then "ERR no data received"
    elif .start.test_start.protocol == "UDP" then
        "UDP \($r.bits_per_second) \($r.lost_percent // 0) \($r.lost_packets // 0)"
        + " \($r.packets // 0)"
    else "TCP \($r.bits_per_second) \(.end.sum_sent.retransmits // "n/a")"
    end' "$file" 2>/dev/null); then
    echo "$label: the report is not JSON: $(head -c 200 "$file")" >&2
    exit 1
fi
case "$row" in
ERR*) echo "$label: ${row#ERR }" >&2 && exit 1 ;;
TCP*)
    awk -v l="$label" '{ printf "%-70s %6.2f Gbit/s  retransmits %s\n", substr(l, 1, 70),
        $2 / 1e9, $3 }' <<<"$row"
    ;;
UDP*)
    awk -v l="$label" '{ printf "%-70s %6.2f Gbit/s  lost %.2f %% (%d of %d)\n",
        substr(l, 1, 70), $2 / 1e9, $3, $4, $5 }' <<<"$row"
    ;;
*) echo "$label: unreadable report" >&2 && exit 1 ;;
esac
