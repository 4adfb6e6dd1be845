#!/usr/bin/env python3
"""TCP clients for test_tcp.sh (RFC 7766 behaviour and abuse), stdlib only.

  tcp_clients.py pipeline SERVER N        N queries in one write, answers read back
  tcp_clients.py noread SERVER N SECONDS  N queries for a large answer, never read
  tcp_clients.py trickle SERVER SECONDS   one byte of a length prefix every 0.5 s
Each prints one line of results; exit 0 unless the connection itself failed.
"""
import socket
import struct
import sys
import time


def query(qid, name, qtype=1):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack(">HH", qtype, 1)
    return struct.pack(">H", len(q)) + q


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def pipeline(server, n):
    s = socket.create_connection((server, 53), timeout=10)
    s.sendall(b"".join(query(1000 + i, "www.lab.") for i in range(n)))
    ids = set()
    for _ in range(n):
        length = struct.unpack(">H", recv_exact(s, 2))[0]
        msg = recv_exact(s, length)
        ids.add(struct.unpack(">H", msg[:2])[0])
    s.close()
    print("answers=%d distinct_ids=%d" % (n, len(ids)))


def noread(server, n, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect((server, 53))
    s.setblocking(False)
    sent = 0
    data = b"".join(query(i & 0xFFFF, "big.lab.", 16) for i in range(n))
    deadline = time.time() + seconds
    while sent < len(data) and time.time() < deadline:
        try:
            sent += s.send(data[sent:])
        except BlockingIOError:
            time.sleep(0.05)
    print("bytes_sent=%d of %d" % (sent, len(data)))
    time.sleep(max(0, deadline - time.time()))
    s.close()


def trickle(server, seconds):
    s = socket.create_connection((server, 53), timeout=10)
    start = time.time()
    closed_after = None
    while time.time() - start < seconds:
        try:
            # 0x0101 = 257: a length prefix whose message never completes
            s.send(b"\x01")
            s.settimeout(0.5)
            if s.recv(1) == b"":
                closed_after = time.time() - start
                break
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            closed_after = time.time() - start
            break
    s.close()
    print("closed_after=%s" % ("%.1f" % closed_after if closed_after else "never"))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "pipeline":
        pipeline(sys.argv[2], int(sys.argv[3]))
    elif cmd == "noread":
        noread(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    elif cmd == "trickle":
        trickle(sys.argv[2], float(sys.argv[3]))
    else:
        sys.exit("unknown command " + cmd)
