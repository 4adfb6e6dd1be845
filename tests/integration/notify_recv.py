#!/usr/bin/env python3
"""A stand-in for systemd's notification socket (sd_notify(3)).

    notify_recv.py SOCKET_PATH LOG DNS_ADDR

Binds a unix datagram socket at SOCKET_PATH and appends every message to
LOG, one line per KEY=VALUE with the seconds since start.  When READY=1
arrives it asks DNS_ADDR:53 (UDP) for "localhost. A" at once and logs
"ANSWERED_AT_READY=1" or "=0": a daemon that says ready must already be
answering.  Runs until killed.
"""
import os
import socket
import struct
import sys
import time

path, log, dns = sys.argv[1], sys.argv[2], sys.argv[3]


def ask(addr):
    q = struct.pack(">HHHHHH", 0x5151, 0x0100, 1, 0, 0, 0)
    q += b"\x09localhost\x00" + struct.pack(">HH", 1, 1)
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(1.0)
        try:
            s.sendto(q, (addr, 53))
            a = s.recv(512)
        except OSError:
            return False
    return len(a) >= 12 and a[:2] == q[:2] and a[2] & 0x80


try:
    os.unlink(path)
except FileNotFoundError:
    pass
srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
srv.bind(path)
t0 = time.monotonic()
with open(log, "a", buffering=1) as out:
    while True:
        msg = srv.recv(4096).decode("utf-8", "replace")
        now = time.monotonic() - t0
        for line in msg.splitlines():
            out.write("%.3f %s\n" % (now, line))
            if line == "READY=1":
                out.write("%.3f ANSWERED_AT_READY=%d\n"
                          % (time.monotonic() - t0, 1 if ask(dns) else 0))
