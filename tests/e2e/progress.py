#!/usr/bin/env python3
"""Progress sampler of the end-to-end tests (issue 13): polls the size of a file being
downloaded every millisecond and appends "EPOCH_SECONDS SIZE RX GAP_MS" to LOG whenever either
changes, until the file's size reaches TOTAL or PID is gone. EPOCH_SECONDS is read after the
poll; GAP_MS is the time since the previous poll began: the change happened within GAP_MS
before EPOCH_SECONDS, so an outage ending at this sample is measured at most GAP_MS too long
(a sampler starved of CPU shows here as a large GAP_MS). RX is the rx_bytes of the
interface given with --rx in this process's network namespace (/proc/net/dev; the client's
TUN: what came out of the tunnel, which a rate-limited reader's socket buffer does not hide),
0 without it. With --show it also prints
a progress line (MiB done, rate) on stderr about twice a second, for the demo.

usage: progress.py FILE LOG TOTAL PID [--show] [--rx IFNAME]
"""
import os
import sys
import time


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def read_rx(ifname):
    """rx_bytes of IFNAME in this process's network namespace (/proc/net/dev), 0 if absent."""
    if not ifname:
        return 0
    try:
        with open("/proc/net/dev") as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name.strip() == ifname and rest:
                    return int(rest.split()[0])
    except (OSError, ValueError):
        pass
    return 0


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    path, log, total, pid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    show = "--show" in sys.argv[5:]
    rx_if = sys.argv[sys.argv.index("--rx") + 1] if "--rx" in sys.argv[5:-1] else None
    last, shown, shown_size = None, 0.0, 0
    prev = time.time()
    with open(log, "a", buffering=1) as out:
        while True:
            begin = time.time()
            try:
                size = os.stat(path).st_size
            except FileNotFoundError:
                size = 0
            rx = read_rx(rx_if)
            now = time.time()
            if (size, rx) != last:
                out.write("%.6f %d %d %.3f\n" % (now, size, rx, (now - prev) * 1000))
                last = (size, rx)
            prev = begin
            if show and now - shown >= 0.5:
                rate = (size - shown_size) / (now - shown) / 1e6 if shown else 0.0
                sys.stderr.write("\r  download: %7.1f / %.0f MiB  %7.1f MB/s   "
                                 % (size / 1048576, total / 1048576, rate))
                shown, shown_size = now, size
            if size >= total or not alive(pid):
                break
            time.sleep(0.001)
    if show:
        sys.stderr.write("\n")


if __name__ == "__main__":
    main()
