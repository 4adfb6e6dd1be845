#!/usr/bin/env python3
"""TCP clients for test_tcp.sh (RFC 7766 behaviour and abuse), stdlib only.

  tcp_clients.py pipeline SERVER N        N queries in one write, answers read back
  tcp_clients.py noread SERVER N SECONDS  N queries for a large answer, never read
  tcp_clients.py trickle SERVER SECONDS   one byte of a length prefix every 0.5 s
  tcp_clients.py hold SERVER N SECONDS READY
                                          open N connections and keep them busy
                                          (a query each every 0.5 s); READY is
                                          written once every connect has ended
  tcp_clients.py querying SOURCE SERVER SECONDS
                                          one connection from SOURCE, a query
                                          every 0.2 s: when was it closed?
  tcp_clients.py silent SERVER PORT SOURCE N SECONDS READY
                                          keep N connections from SOURCE that
                                          send nothing (reopen the closed ones)
  tcp_clients.py silent-one SERVER PORT SOURCE
                                          one silent connection: when closed?
  tcp_clients.py idle SERVER SOURCE N SECONDS READY
                                          N connections from SOURCE, one query
                                          each in order (READY once answered),
                                          then idle; prints "closed I" as the
                                          server closes connection I
Each prints one line of results; exit 0 unless the connection itself failed.
"""
import os
import resource
import selectors
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


def hold(server, n, seconds, ready):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    sel = selectors.DefaultSelector()
    pending = set()
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((server, 53))
        sel.register(s, selectors.EVENT_WRITE)
        pending.add(s)
    conns = set()
    deadline = time.time() + 10
    while pending and time.time() < deadline:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            pending.discard(s)
            sel.unregister(s)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                conns.add(s)
            else:
                s.close()
    for s in pending:
        sel.unregister(s)
        s.close()
    connected = len(conns)
    for s in conns:
        sel.register(s, selectors.EVENT_READ)

    def drop(s):
        sel.unregister(s)
        conns.discard(s)
        s.close()

    def keepalive(qid):
        for s in list(conns):
            try:
                s.send(query(qid & 0xFFFF, "www.lab."))
            except OSError:
                drop(s)

    def read_all(timeout):
        for key, _ in sel.select(timeout=timeout):
            try:
                if not key.fileobj.recv(65536):
                    drop(key.fileobj)
            except OSError:
                drop(key.fileobj)

    # Two rounds first, so that connections the server refuses once it
    # has read from them are gone before READY.
    keepalive(1)
    read_all(0.5)
    keepalive(2)
    read_all(0.5)
    with open(ready, "w") as f:
        f.write("connected=%d open=%d\n" % (connected, len(conns)))
    end = time.time() + seconds
    qid, tick = 3, time.time()
    while time.time() < end:
        if time.time() - tick >= 0.5:
            keepalive(qid)
            qid, tick = qid + 1, time.time()
        read_all(0.1)
    print("connected=%d held=%d" % (connected, len(conns)))


def querying(source, server, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(5)
    s.connect((server, 53))
    start = time.time()
    closed_after = None
    qid = 0
    while time.time() - start < seconds:
        try:
            s.send(query(qid, "www.lab."))
            qid += 1
            s.settimeout(0.2)
            if s.recv(65536) == b"":
                closed_after = time.time() - start
                break
        except socket.timeout:
            continue
        except OSError:
            closed_after = time.time() - start
            break
    s.close()
    print("closed_after=%s" % ("%.1f" % closed_after if closed_after is not None else "never"))


def silent(server, port, source, n, seconds, ready):
    """READY is written once each of the first N connects has ended
    (established or refused), so the server has seen all of them."""
    def dial():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((source, 0))
        s.setblocking(False)
        s.connect_ex((server, port))
        sel.register(s, selectors.EVENT_WRITE)

    sel = selectors.DefaultSelector()
    for _ in range(n):
        dial()
    opened, resolved, most = n, 0, 0
    established = set()
    start = time.time()
    while time.time() - start < seconds:
        closed = 0
        for key, events in sel.select(timeout=0.2):
            s = key.fileobj
            if events & selectors.EVENT_WRITE:
                resolved += 1
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    sel.modify(s, selectors.EVENT_READ)
                    established.add(s)
                    continue
            else:
                try:
                    if s.recv(4096):
                        continue
                except BlockingIOError:
                    continue
                except OSError:
                    pass
            sel.unregister(s)
            established.discard(s)
            s.close()
            closed += 1
        most = max(most, len(established))
        if resolved >= n and not os.path.exists(ready):
            with open(ready, "w") as f:
                f.write("opened=%d open=%d\n" % (opened, len(established)))
        if closed:
            time.sleep(0.2)  # reopen at a modest pace, not a busy loop
            for _ in range(closed):
                dial()
                opened += 1
    print("opened=%d most_open=%d" % (opened, most))


def idle(server, source, n, seconds, ready):
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    conns = []
    for i in range(n):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.bind((source, 0))
        s.settimeout(5)
        s.connect((server, 53))
        # one answered query: the server has this connection, and its
        # last use is now (connections are used in index order)
        s.sendall(query(i, "www.lab."))
        length = struct.unpack(">H", recv_exact(s, 2))[0]
        recv_exact(s, length)
        conns.append(s)
    with open(ready, "w") as f:
        f.write("open=%d\n" % len(conns))
    sel = selectors.DefaultSelector()
    for i, s in enumerate(conns):
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
    end = time.time() + seconds
    while time.time() < end:
        for key, _ in sel.select(timeout=0.2):
            try:
                if key.fileobj.recv(4096):
                    continue
            except BlockingIOError:
                continue
            except OSError:
                pass
            sel.unregister(key.fileobj)
            print("closed %d" % key.data, flush=True)
    print("done", flush=True)


def silent_one(server, port, source):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(15)
    s.connect((server, port))
    start = time.time()
    try:
        while s.recv(4096):
            pass
    except socket.timeout:
        print("closed_after=never")
        return
    except OSError:
        pass
    print("closed_after=%.1f" % (time.time() - start))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "pipeline":
        pipeline(sys.argv[2], int(sys.argv[3]))
    elif cmd == "noread":
        noread(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    elif cmd == "trickle":
        trickle(sys.argv[2], float(sys.argv[3]))
    elif cmd == "hold":
        hold(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
    elif cmd == "idle":
        idle(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]),
             sys.argv[6])
    elif cmd == "silent":
        silent(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]),
               float(sys.argv[6]), sys.argv[7])
    elif cmd == "silent-one":
        silent_one(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif cmd == "querying":
        querying(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        sys.exit("unknown command " + cmd)
