#!/usr/bin/env python3
"""Differential corpus for the XDP fast path (stdlib only).

  xdp_diff.py run OUTFILE        send the corpus to the VIPs (v4 and v6) from
                                 here; write one line per query: label, the
                                 answer in hex with every TTL zeroed, the
                                 TTLs, and the CLOCK_MONOTONIC send time
  xdp_diff.py compare A B        exit 0 iff both runs got the same bytes
                                 and every TTL of B is A's lowered by the
                                 time between the two queries, within 1 s
  xdp_diff.py counters IFACE     sum of the XDP counters of the program on
                                 IFACE (run inside the node's namespace),
                                 as "name value" lines (needs bpftool)
  xdp_diff.py flood N PREFIX     ask N distinct names PREFIX<i>.lab. (once
                                 each, 32 in flight) at the IPv4 VIP; print
                                 how many were answered
  xdp_diff.py tx-csum-off IFACE  turn off IFACE's TX checksum offload (the
                                 ethtool ioctl; no ethtool binary needed)

The corpus crosses names (positive, CNAME chain, MX, NXDOMAIN, NODATA,
signed, too big for 512), qname casing, EDNS off/on/DO/small buffer/NSID,
and IPv4/IPv6.  IDs are fixed per query so both runs compare byte for byte.
"""
import json
import socket
import struct
import subprocess
import sys
import time

VIP4, VIP6 = "203.0.113.1", "2001:db8::1"
NAMES = [("www.lab.", 1), ("WwW.LaB.", 1), ("www.lab.", 28), ("alias.lab.", 1),
         ("mx.lab.", 15), ("MX.lab.", 15), ("nonexistent.lab.", 1),
         ("www.lab.", 16), ("www.secure.example.", 1),
         ("WWW.Secure.Example.", 28), ("big.lab.", 16), ("www.sub.lab.", 1),
         ("www.example.", 1)]
# (label, edns buffer or None, DO, options)
EDNS = [("noedns", None, False, b""), ("edns1232", 1232, False, b""),
        ("do", 1232, True, b""), ("edns512", 512, False, b""),
        ("nsid", 1232, False, b"\x00\x03\x00\x00"),
        ("do4096", 4096, True, b"")]


def name_wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def query(qid, name, qtype, edns, do, opts):
    ar = 1 if edns else 0
    p = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, ar)
    p += name_wire(name) + struct.pack("!HH", qtype, 1)
    if edns:
        p += b"\x00" + struct.pack("!HHBBHH", 41, edns, 0, 0,
                                   0x8000 if do else 0, len(opts)) + opts
    return p


def skip_name(m, i):
    while True:
        c = m[i]
        if c == 0:
            return i + 1
        if c & 0xC0 == 0xC0:
            return i + 2
        i += 1 + c


def mask_ttls(m):
    """Zeroes the TTL of every RR but OPT (whose TTL holds flags); returns
    the masked message and the TTLs it held, in order."""
    m = bytearray(m)
    ttls = []
    if len(m) < 12:
        return bytes(m), ttls
    qd, an, ns, ar = struct.unpack("!HHHH", m[4:12])
    i = 12
    for _ in range(qd):
        i = skip_name(m, i) + 4
    for _ in range(an + ns + ar):
        i = skip_name(m, i)
        rtype = struct.unpack("!H", m[i:i + 2])[0]
        rdlen = struct.unpack("!H", m[i + 8:i + 10])[0]
        if rtype != 41:
            ttls.append(struct.unpack("!I", m[i + 4:i + 8])[0])
            m[i + 4:i + 8] = b"\x00\x00\x00\x00"
        i += 10 + rdlen
    return bytes(m), ttls


def ask(server, pkt):
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        for _ in range(3):
            s.sendto(pkt, (server, 53))
            try:
                return s.recv(65535)
            except socket.timeout:
                continue
        return b""
    finally:
        s.close()


def run(outfile):
    qid = 0x1000
    with open(outfile, "w") as f:
        for server in (VIP4, VIP6):
            for name, qtype in NAMES:
                for label, edns, do, opts in EDNS:
                    qid += 1
                    t = time.monotonic()
                    r = ask(server, query(qid, name, qtype, edns, do, opts))
                    masked, ttls = mask_ttls(r)
                    f.write("%s %s %d %s %s %s %.3f\n" % (
                        server, name, qtype, label, masked.hex() or "-",
                        ",".join(map(str, ttls)) or "-", t))
    return 0


# Both answers lower the stored TTLs by the whole seconds elapsed since the
# entry was stored, so between queries dt apart they differ by floor or ceil
# of dt; XDP's coarse clock may read a tick behind.  Anything further off
# (a TTL of 0 right after an insert, a TTL never lowered) is a difference.
TTL_SLACK = 1.1


def ttls_agree(ta, tb, dt):
    if ta == "-" or tb == "-":
        return ta == tb
    a, b = [int(x) for x in ta.split(",")], [int(x) for x in tb.split(",")]
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        want = x - dt
        if abs(y - want) > TTL_SLACK and not (y == 0 and want < TTL_SLACK):
            return False
    return True


def compare(a, b):
    la, lb = open(a).read().splitlines(), open(b).read().splitlines()
    bad = 0
    for x, y in zip(la, lb):
        fx, fy = x.split(), y.split()
        if fx[:5] != fy[:5]:
            bad += 1
            print("DIFF %s\n  a: %s\n  b: %s" % (" ".join(fx[:4]), fx[4],
                                                fy[4]))
        elif not ttls_agree(fx[5], fy[5], float(fy[6]) - float(fx[6])):
            bad += 1
            print("DIFF TTLs %s (%.1f s apart)\n  a: %s\n  b: %s" % (
                " ".join(fx[:4]), float(fy[6]) - float(fx[6]), fx[5], fy[5]))
    if len(la) != len(lb):
        bad += 1
        print("DIFF number of lines %d vs %d" % (len(la), len(lb)))
    print("%d queries, %d differ" % (len(la), bad))
    return 1 if bad else 0


def counters(iface):
    net = json.loads(subprocess.check_output(["bpftool", "-j", "net", "show",
                                              "dev", iface]))
    prog = None
    for entry in net:
        for x in entry.get("xdp", []):
            prog = x.get("id")
    if prog is None:
        print("no-program 1")
        return 0
    info = json.loads(subprocess.check_output(["bpftool", "-j", "prog", "show",
                                               "id", str(prog)]))
    names = ["hit", "miss", "expired", "not-ip", "not-udp", "not-vip",
             "fragment", "ip-options", "acl", "malformed", "not-query",
             "edns-option", "edns-other", "too-long", "too-big", "nsid",
             "no-room", "error", "not-host", "martian", "bad-checksum",
             "torn"]
    for mid in info.get("map_ids", []):
        m = json.loads(subprocess.check_output(["bpftool", "-j", "map", "show",
                                                "id", str(mid)]))
        if m.get("name") != "vd_xdp_counters":
            continue
        dump = json.loads(subprocess.check_output(["bpftool", "-j", "map",
                                                   "dump", "id", str(mid)]))
        for e in dump:
            k = e["formatted"]["key"] if "formatted" in e else e["key"]
            vals = e["formatted"]["values"] if "formatted" in e else e["values"]
            total = sum(v["value"] for v in vals)
            print("%s %d" % (names[k] if k < len(names) else k, total))
    return 0


def flood(n, prefix):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    answered = 0
    for start in range(0, n, 32):
        ids = range(start, min(n, start + 32))
        for i in ids:
            s.sendto(query(i & 0xffff, "%s%d.lab." % (prefix, i), 1, None,
                           False, b""), (VIP4, 53))
        for _ in ids:
            try:
                s.recv(65535)
                answered += 1
            except socket.timeout:
                break
    s.close()
    print(answered)
    return 0


def tx_csum_off(iface):
    """A veth with TX checksum offload hands its peer CHECKSUM_PARTIAL
    packets whose UDP checksum holds only the pseudo header: the kernel
    trusts those, but XDP sees the bytes and (rightly) passes them up as
    bad-checksum.  A real NIC's wire packets carry whole checksums; so must
    the lab client's."""
    import array
    import fcntl
    SIOCETHTOOL, ETHTOOL_STXCSUM = 0x8946, 0x17
    val = array.array("B", struct.pack("II", ETHTOOL_STXCSUM, 0))
    ifr = struct.pack("16sP", iface.encode(), val.buffer_info()[0])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifr + b"\0" * 16)
    finally:
        s.close()
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "run":
        return run(argv[2])
    if len(argv) == 4 and argv[1] == "compare":
        return compare(argv[2], argv[3])
    if len(argv) == 3 and argv[1] == "counters":
        return counters(argv[2])
    if len(argv) == 4 and argv[1] == "flood":
        return flood(int(argv[2]), argv[3])
    if len(argv) == 3 and argv[1] == "tx-csum-off":
        return tx_csum_off(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
