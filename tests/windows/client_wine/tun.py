#!/usr/bin/env python3
"""The test's side of the wintun.dll double's UDP bridge (FLOE_WINTUN_DOUBLE_UDP), and the
Windows agent's status listener, for client_wine_test.sh.

  tun.py ping PORT SRC DST COUNT SECONDS   ICMP echo requests from SRC to DST injected into the
      double's receive ring (one datagram to 127.0.0.1:PORT each, every 0.2 s); exit 0 once
      COUNT matching echo replies came back out of the send ring within SECONDS, else 1
  tun.py silent PORT SRC DST SECONDS       the same requests for SECONDS; exit 0 when no reply
      came back, 1 when one did
  tun.py status PORT                       print the agent's status (TCP 127.0.0.1:PORT)

A reply matches when it is a well-formed IPv4 packet (header checksum right) from DST to SRC
carrying an ICMP echo reply (checksum right) with the request's identifier, sequence number and
payload. Anything else that comes out of the ring is counted and shown at the end.
"""
import os
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def echo_request(src, dst, ident, seq, payload):
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), seq, 0x4000, 64, 1, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + icmp


def parse_reply(pkt, src, dst, ident):
    """(seq, payload, ttl) of an echo reply from dst to src with identifier ident, or why not."""
    if len(pkt) < 28 or pkt[0] != 0x45:
        return "not IPv4 without options (%d bytes, first byte 0x%02x)" % (len(pkt), pkt[0])
    if checksum(pkt[:20]) != 0:
        return "bad IPv4 header checksum"
    total = struct.unpack("!H", pkt[2:4])[0]
    if total != len(pkt):
        return "IPv4 length %d, datagram %d" % (total, len(pkt))
    if pkt[9] != 1 or pkt[12:16] != socket.inet_aton(dst) or pkt[16:20] != socket.inet_aton(src):
        return "protocol %d from %s to %s" % (pkt[9], socket.inet_ntoa(pkt[12:16]),
                                              socket.inet_ntoa(pkt[16:20]))
    icmp = pkt[20:]
    if checksum(icmp) != 0:
        return "bad ICMP checksum"
    typ, code, _, rid, seq = struct.unpack("!BBHHH", icmp[:8])
    if typ != 0 or code != 0 or rid != ident:
        return "ICMP type %d code %d id %d" % (typ, code, rid)
    return (seq, icmp[8:], pkt[8])


def exchange(port, src, dst, seconds, want):
    """Requests every 0.2 s for up to seconds; stops after want replies (0: never)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    ident = os.getpid() & 0xFFFF
    sent, got, other = {}, 0, {}
    end = time.monotonic() + seconds
    next_send = 0.0
    seq = 0
    while time.monotonic() < end and (want == 0 or got < want):
        now = time.monotonic()
        if now >= next_send:
            seq += 1
            payload = b"floe-wine-%05d" % seq + bytes(range(32))
            sock.sendto(echo_request(src, dst, ident, seq, payload), ("127.0.0.1", port))
            sent[seq] = (now, payload)
            next_send = now + 0.2
        sock.settimeout(max(0.01, min(next_send, end) - time.monotonic()))
        try:
            pkt = sock.recv(65535)
        except socket.timeout:
            continue
        r = parse_reply(pkt, src, dst, ident)
        if isinstance(r, tuple) and r[0] in sent and sent[r[0]][1] == r[1]:
            got += 1
            rtt = (time.monotonic() - sent[r[0]][0]) * 1000
            print("reply seq=%d from %s ttl=%d rtt=%.1f ms" % (r[0], dst, r[2], rtt))
        else:
            why = r if isinstance(r, str) else "a reply to no request (seq %d)" % r[0]
            other[why] = other.get(why, 0) + 1
    print("%d requests, %d replies" % (seq, got))
    for why, n in other.items():
        print("  also out of the ring: %d x %s" % (n, why))
    return got


def status(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"status\n")
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    sys.stdout.write(out.decode())
    return 0 if out else 1


def main(argv):
    if len(argv) == 7 and argv[1] == "ping":
        want = int(argv[5])
        return 0 if exchange(int(argv[2]), argv[3], argv[4], float(argv[6]), want) >= want else 1
    if len(argv) == 6 and argv[1] == "silent":
        return 0 if exchange(int(argv[2]), argv[3], argv[4], float(argv[5]), 0) == 0 else 1
    if len(argv) == 3 and argv[1] == "status":
        return status(int(argv[2]))
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
