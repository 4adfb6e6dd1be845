#!/usr/bin/env python3
"""Continuous DNS load for the anycast scenarios.

Sends QPS queries per second to SERVER for DURATION seconds, round-robin
over SOCKETS UDP sockets (each its own source port, so the router's L4
hash spreads them over the nodes), and waits TIMEOUT seconds for the
last answers.  Prints one line of key=value pairs:

  sent=N answered=N failed=N lost=N first_loss=T last_loss=T nsid=a:n,b:n

failed = answered with an rcode other than NOERROR; lost = no answer;
first/last_loss are seconds since the start (-1 when none).  Stops early
(same output) when the file STOPFILE appears.
"""
import os
import random
import select
import socket
import struct
import sys
import time


def query(qid, name, nsid=True):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1 if nsid else 0)
    for label in name.strip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack("!HH", 1, 1)
    if nsid:  # OPT with the NSID option (RFC 5001)
        q += b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 4) + struct.pack("!HH", 3, 0)
    return q


def nsid_of(resp):
    """The NSID option's text, or '?' (walks past the question and records)."""
    try:
        qd, an, ns, ar = struct.unpack("!HHHH", resp[4:12])
        off = 12

        def skip_name(o):
            while True:
                b = resp[o]
                if b == 0:
                    return o + 1
                if b & 0xC0 == 0xC0:
                    return o + 2
                o += b + 1
        for _ in range(qd):
            off = skip_name(off) + 4
        for i in range(an + ns + ar):
            off = skip_name(off)
            t, _c, _ttl, rdl = struct.unpack("!HHIH", resp[off:off + 10])
            off += 10
            if t == 41 and i >= an + ns:
                o, end = off, off + rdl
                while o + 4 <= end:
                    code, ln = struct.unpack("!HH", resp[o:o + 4])
                    if code == 3:
                        return resp[o + 4:o + 4 + ln].decode(errors="replace")
                    o += 4 + ln
            off += rdl
    except (IndexError, struct.error):
        pass
    return "?"


def main():
    server, qps, duration = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    name = sys.argv[4] if len(sys.argv) > 4 else "www.lab."
    nsocks = int(os.environ.get("SOCKETS", "64"))
    timeout = float(os.environ.get("TIMEOUT", "2"))
    stopfile = os.environ.get("STOPFILE", "")
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    socks = []
    for _ in range(nsocks):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.setblocking(False)
        s.connect((server, 53))
        socks.append(s)
    by_fd = {s.fileno(): s for s in socks}
    pending = {}  # (fd, id) -> send time
    sent = answered = failed = 0
    losses = []
    nsids = {}
    start = time.monotonic()
    interval = 1.0 / qps
    next_send = start
    i = 0
    stop_at = start + duration
    while True:
        now = time.monotonic()
        sending = now < stop_at and not (stopfile and os.path.exists(stopfile))
        if not sending:
            stop_at = min(stop_at, now)
        if not sending and (not pending or now > stop_at + timeout):
            break
        while sending and now >= next_send:
            s = socks[i % nsocks]
            qid = random.randrange(65536)
            key = (s.fileno(), qid)
            if key not in pending:
                try:
                    s.send(query(qid, name))
                    pending[key] = now
                    sent += 1
                except OSError:
                    sent += 1
                    losses.append(now - start)
            i += 1
            next_send += interval
        wait = max(0.0, min(next_send - now, 0.01)) if sending else 0.05
        r, _, _ = select.select(socks, [], [], wait)
        for s in r:
            while True:
                try:
                    resp = s.recv(2048)
                except BlockingIOError:
                    break
                except OSError:  # ICMP unreachable on a connected socket
                    break
                if len(resp) < 12:
                    continue
                key = (s.fileno(), struct.unpack("!H", resp[:2])[0])
                if pending.pop(key, None) is None:
                    continue
                answered += 1
                if resp[3] & 0x0F != 0:
                    failed += 1
                n = nsid_of(resp)
                nsids[n] = nsids.get(n, 0) + 1
        now = time.monotonic()
        for key, t in list(pending.items()):
            if now - t > timeout:
                del pending[key]
                losses.append(t - start)
    losses.sort()
    print("sent=%d answered=%d failed=%d lost=%d first_loss=%.2f last_loss=%.2f nsid=%s" % (
        sent, answered, failed, len(losses),
        losses[0] if losses else -1, losses[-1] if losses else -1,
        ",".join("%s:%d" % kv for kv in sorted(nsids.items()))))


if __name__ == "__main__":
    main()
