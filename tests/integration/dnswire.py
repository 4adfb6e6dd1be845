#!/usr/bin/env python3
"""Raw DNS packets for the integration tests (stdlib only).

  dnswire.py echo-case SERVER NAME [TYPE]   exit 0 iff the reply echoes NAME's
                                            exact bytes (0x20 case) in its question
  dnswire.py malformed SERVER KIND          send one malformed packet; prints
                                            "NO_ANSWER" or "RCODE=<name> QR=<0|1> ..."
  dnswire.py kinds                          list the malformed kinds

SERVER is an IPv4 or IPv6 address; port 53.
"""
import os
import socket
import struct
import sys

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
          5: "REFUSED", 9: "NOTAUTH", 16: "BADVERS"}
TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\x00"


def header(qid, flags, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def question(name, qtype=1):
    return encode_name(name) + struct.pack("!HH", qtype, 1)


def family(server):
    return socket.AF_INET6 if ":" in server else socket.AF_INET


def send_udp(server, pkt, timeout=2.0):
    s = socket.socket(family(server), socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.sendto(pkt, (server, 53))
    try:
        data, _ = s.recvfrom(65535)
        return data
    except socket.timeout:
        return None
    finally:
        s.close()


def send_tcp(server, raw, timeout=2.0):
    """raw is sent as-is (caller adds or fakes the length prefix)."""
    s = socket.socket(family(server), socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((server, 53))
        s.sendall(raw)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = s.recv(65535)
            if not chunk:
                break
            data += chunk
        return data[2:] if len(data) >= 2 else None
    except (socket.timeout, ConnectionError):
        return None
    finally:
        s.close()


def describe(resp, qid=None):
    if resp is None:
        return "NO_ANSWER"
    if len(resp) < 12:
        return "SHORT_REPLY len=%d" % len(resp)
    rid, flags = struct.unpack("!HH", resp[:4])
    rc = flags & 0xF
    return "RCODE=%s QR=%d ID=%s len=%d" % (RCODES.get(rc, str(rc)), flags >> 15,
                                            "match" if qid is None or rid == qid else "MISMATCH",
                                            len(resp))


def echo_case(server, name, qtype="A"):
    qid = struct.unpack("!H", os.urandom(2))[0]
    q = question(name, TYPES[qtype])
    pkt = header(qid, 0x0100) + q          # RD=1, no EDNS
    resp = send_udp(server, pkt, 5.0)
    if resp is None:
        print("echo-case %s: NO_ANSWER" % name)
        return 1
    print("echo-case %s: %s" % (name, describe(resp, qid)))
    sent = q[:-4]
    got = resp[12:12 + len(sent)]
    print("  sent qname bytes: %r" % sent)
    print("  got  qname bytes: %r" % got)
    rid = struct.unpack("!H", resp[:2])[0]
    if rid != qid or got != sent:
        return 1
    return 0


def malformed(kind):
    """returns (packet, transport, qid)"""
    qid = struct.unpack("!H", os.urandom(2))[0]
    rd = 0x0100
    if kind == "ptr-loop":           # qname is a compression pointer to itself
        return header(qid, rd) + b"\xc0\x0c" + struct.pack("!HH", 1, 1), "udp", qid
    if kind == "ptr-forward":        # pointer beyond the end of the packet
        return header(qid, rd) + b"\x03www\xc0\xff" + struct.pack("!HH", 1, 1), "udp", qid
    if kind == "qdcount-2":          # two questions
        return header(qid, rd, qd=2) + question("www.lab.") + question("mail.lab."), "udp", qid
    if kind == "qdcount-0":          # no question at all
        return header(qid, rd, qd=0), "udp", qid
    if kind == "qdcount-lie":        # header says 5 questions, one present
        return header(qid, rd, qd=5) + question("www.lab."), "udp", qid
    if kind == "short-header":       # 7 bytes
        return header(qid, rd)[:7], "udp", qid
    if kind == "empty":
        return b"", "udp", qid
    if kind == "truncated-question":
        return header(qid, rd) + question("www.lab.")[:6], "udp", qid
    if kind == "label-overrun":      # label length runs past the end
        return header(qid, rd) + b"\x3fwww", "udp", qid
    if kind == "qr-set":             # a response, not a query: must be ignored
        return header(qid, 0x8180) + question("www.lab."), "udp", qid
    if kind == "forged-answer":      # query carrying an answer for www.lab.: must not be cached
        rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 86400, 4) + bytes([192, 0, 2, 66])
        return header(qid, rd, an=1) + question("www.lab.") + rr, "udp", qid
    if kind == "forged-additional":  # same in the additional section
        rr = encode_name("www.lab.") + struct.pack("!HHIH", 1, 1, 86400, 4) + bytes([192, 0, 2, 66])
        return header(qid, rd, ar=1) + question("www.lab.") + rr, "udp", qid
    if kind == "bad-opt":            # OPT RR with rdlen running past the end
        opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 40) + b"\x00\x0a\x00\x08"
        return header(qid, rd, ar=1) + question("www.lab.") + opt, "udp", qid
    if kind == "two-opt":            # two OPT RRs: FORMERR per RFC 6891
        opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
        return header(qid, rd, ar=2) + question("www.lab.") + opt + opt, "udp", qid
    if kind == "long-name":          # more than 255 octets of name
        name = b"".join(bytes([63]) + b"a" * 63 for _ in range(5)) + b"\x00"
        return header(qid, rd) + name + struct.pack("!HH", 1, 1), "udp", qid
    if kind == "tcp-short-length":   # TCP length prefix promising more than sent
        return struct.pack("!H", 5000) + header(qid, rd) + question("www.lab."), "tcp", qid
    if kind == "tcp-garbage":        # a query header followed by junk (0xff: bad pointer)
        body = header(qid, rd) + b"\xff" * 28
        return struct.pack("!H", len(body)) + body, "tcp", qid
    raise SystemExit("unknown kind %s" % kind)


KINDS = ["ptr-loop", "ptr-forward", "qdcount-2", "qdcount-0", "qdcount-lie", "short-header",
         "empty", "truncated-question", "label-overrun", "qr-set", "forged-answer",
         "forged-additional", "bad-opt", "two-opt", "long-name", "tcp-short-length",
         "tcp-garbage"]


def main(argv):
    if len(argv) >= 3 and argv[1] == "echo-case":
        return echo_case(argv[2], argv[3], argv[4] if len(argv) > 4 else "A")
    if len(argv) == 4 and argv[1] == "malformed":
        pkt, transport, qid = malformed(argv[3])
        resp = send_udp(argv[2], pkt) if transport == "udp" else send_tcp(argv[2], pkt)
        print(describe(resp, qid))
        return 0
    if len(argv) == 2 and argv[1] == "kinds":
        print("\n".join(KINDS))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
