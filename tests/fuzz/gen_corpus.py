#!/usr/bin/env python3
"""Regenerates the committed seed corpora of the dns fuzz targets.

    python3 tests/fuzz/gen_corpus.py

Writes tests/fuzz/corpus/{query,answer,snapshot}/*.bin:
well-formed seeds plus a malformed-input collection, each file named for
what it exercises.  Standard library only; the output is deterministic.
Finds from fuzzing runs that are worth keeping live next to these as
crash-*/find-* files and are left alone by this script.
"""
import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

QR, AA, TC, RD, RA, AD, CD = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080, 0x0020, 0x0010
A, NS, CNAME, SOA, PTR, MINFO, MX, TXT, AAAA, SRV = 1, 2, 5, 6, 12, 14, 15, 16, 28, 33
OPT, DS, RRSIG, NSEC, TSIG, AXFR, MAILA, ANY = 41, 43, 46, 47, 250, 252, 254, 255
IN, CH = 1, 3


def u8(v):
    return struct.pack('!B', v)


def u16(v):
    return struct.pack('!H', v)


def u32(v):
    return struct.pack('!I', v)


def labels(name, terminate=True):
    out = b''
    for lab in [x for x in name.split('.') if x]:
        lab = lab.encode()
        out += u8(len(lab)) + lab
    return out + (b'\0' if terminate else b'')


def ptr(off):
    return u16(0xC000 | off)


def hdr(id_, flags, qd, an, ns, ar):
    return u16(id_) + u16(flags) + u16(qd) + u16(an) + u16(ns) + u16(ar)


def rr(owner, type_, cls, ttl, rdata):
    return owner + u16(type_) + u16(cls) + u32(ttl) + u16(len(rdata)) + rdata


def opt(udp=1232, ext=0, ver=0, flags=0, options=b'', owner=b'\0'):
    return owner + u16(OPT) + u16(udp) + u8(ext) + u8(ver) + u16(flags) + \
        u16(len(options)) + options


def option(code, data=b''):
    return u16(code) + u16(len(data)) + data


def question(name, qtype=A, qclass=IN):
    return name + u16(qtype) + u16(qclass)


def query(name='www.example.com', qtype=A, qclass=IN, flags=RD, ar=b'',
          arcount=0, id_=0x1a2b):
    return hdr(id_, flags, 1, 0, 0, arcount) + \
        question(labels(name), qtype, qclass) + ar


def long_name(total):
    """A wire name of exactly `total` bytes (including the root)."""
    out = b''
    left = total - 1
    while left > 0:
        n = min(63, left - 1)
        out += u8(n) + b'x' * n
        left -= n + 1
    return out + b'\0'


def rrsig(covered, ttl, signer='example.com'):
    return u16(covered) + u8(13) + u8(2) + u32(ttl) + u32(2000000000) + \
        u32(1900000000) + u16(4242) + labels(signer) + b'\x5a' * 64


def soa_rdata(mname, rname, minimum):
    return mname + rname + u32(2024010101) + u32(7200) + u32(3600) + \
        u32(1209600) + u32(minimum)


def query_corpus():
    c = {}
    ecs = option(8, u16(1) + u8(24) + u8(0) + bytes([192, 0, 2]))
    cookie = option(10, bytes(range(8)))
    c['seed-a.bin'] = query()
    c['seed-0x20-mixed-case.bin'] = query('wWw.ExAmPlE.cOm')
    c['seed-root-ns.bin'] = query('.', NS)
    c['seed-any.bin'] = query('example.com', ANY)
    c['seed-edns.bin'] = query(ar=opt(), arcount=1)
    c['seed-edns-do.bin'] = query(qtype=AAAA, ar=opt(4096, flags=0x8000),
                                  arcount=1)
    c['seed-edns-nsid.bin'] = query(ar=opt(options=option(3)), arcount=1)
    c['seed-edns-cookie.bin'] = query(ar=opt(options=cookie), arcount=1)
    c['seed-edns-all-options.bin'] = query(
        ar=opt(options=option(3) + cookie + ecs + option(12, b'\0' * 20) +
               option(65001, b'x')), arcount=1)
    c['seed-edns-cd.bin'] = query(flags=RD | CD, ar=opt(flags=0x8000),
                                  arcount=1)
    c['seed-tsig-skipped.bin'] = query(
        ar=opt() + rr(labels('key.example'), TSIG, 255, 0, b'hmac' * 8),
        arcount=2)
    c['seed-max-name-255.bin'] = hdr(1, RD, 1, 0, 0, 0) + \
        question(long_name(255))
    c['seed-trailing-garbage.bin'] = query() + b'\xde\xad\xbe\xef'
    c['verdict-badvers.bin'] = query(ar=opt(ver=1, flags=0x8000), arcount=1)
    c['verdict-ch-version-bind.bin'] = query('version.bind', TXT, CH)
    c['verdict-axfr.bin'] = query('example.com', AXFR)
    c['verdict-maila.bin'] = query('example.com', MAILA)

    base = query()
    c['malformed-empty.bin'] = b''
    c['malformed-truncated-header.bin'] = base[:11]
    c['malformed-header-only.bin'] = base[:12]
    c['malformed-qr-set.bin'] = query(flags=QR | RD)
    c['malformed-opcode-notify.bin'] = query(flags=(4 << 11) | AA)
    c['malformed-opcode-update.bin'] = hdr(9, 5 << 11, 1, 0, 1, 0) + \
        question(labels('example.com'), SOA) + \
        rr(labels('a.example.com'), A, IN, 0, bytes(4))
    c['malformed-qdcount-0.bin'] = hdr(1, RD, 0, 0, 0, 0)
    c['malformed-qdcount-2.bin'] = hdr(1, RD, 2, 0, 0, 0) + \
        question(labels('a.example')) + question(labels('b.example'))
    c['malformed-compression-loop.bin'] = hdr(1, RD, 1, 0, 0, 0) + \
        ptr(12) + u16(A) + u16(IN)
    c['malformed-compressed-qname.bin'] = hdr(1, RD, 1, 0, 0, 0) + \
        labels('a', False) + ptr(12) + u16(A) + u16(IN)
    c['malformed-forward-pointer.bin'] = hdr(1, RD, 1, 0, 0, 0) + \
        ptr(14) + labels('a') + u16(A) + u16(IN)
    c['malformed-label-64.bin'] = hdr(1, RD, 1, 0, 0, 0) + \
        question(u8(64) + b'a' * 64 + b'\0')
    c['malformed-name-256.bin'] = hdr(1, RD, 1, 0, 0, 0) + \
        question(long_name(256))
    c['malformed-reserved-label-0x80.bin'] = hdr(1, RD, 1, 0, 0, 0) + \
        question(b'\x81a\0')
    c['malformed-truncated-question.bin'] = base[:len(base) - 2]
    c['malformed-truncated-qname.bin'] = base[:20]
    c['malformed-ancount-1.bin'] = hdr(1, RD, 1, 1, 0, 0) + \
        question(labels('example.com')) + \
        rr(ptr(12), A, IN, 60, bytes(4))
    c['malformed-nscount-1.bin'] = hdr(1, RD, 1, 0, 1, 0) + \
        question(labels('example.com')) + \
        rr(ptr(12), NS, IN, 60, labels('ns.example.com'))
    c['malformed-opt-in-answer.bin'] = hdr(1, RD, 1, 1, 0, 0) + \
        question(labels('example.com')) + opt()
    c['malformed-two-opt.bin'] = query(ar=opt() + opt(), arcount=2)
    c['malformed-opt-nonroot-owner.bin'] = query(
        ar=opt(owner=labels('x')), arcount=1)
    c['malformed-opt-owner-pointer.bin'] = query(ar=opt(owner=ptr(12)),
                                                 arcount=1)
    c['malformed-bad-option-len.bin'] = query(
        ar=opt(options=u16(3) + u16(10) + b'ab'), arcount=1)
    c['malformed-option-stray-bytes.bin'] = query(
        ar=opt(options=option(3) + b'\0\x0a\0'), arcount=1)
    o = opt(options=option(3))
    c['malformed-opt-rdlen-overrun.bin'] = query(
        ar=o[:-6] + u16(40) + o[-4:], arcount=1)
    c['malformed-badvers-and-bad-option.bin'] = query(
        ar=opt(ver=1, options=u16(3) + u16(9)), arcount=1)
    c['malformed-arcount-overstated.bin'] = query(ar=opt(), arcount=3)
    c['malformed-truncated-opt.bin'] = query(ar=opt()[:7], arcount=1)
    c['malformed-unknown-class.bin'] = query(qclass=4660)
    c['malformed-class-any.bin'] = query(qclass=255)
    c['malformed-additional-compression-loop.bin'] = \
        query(ar=b'', arcount=1) + ptr(33) + u16(A) + u16(IN) + u32(0) + u16(0)
    c['malformed-additional-forward-pointer.bin'] = \
        query(ar=b'', arcount=1) + ptr(60) + u16(TXT) + u16(IN) + u32(0) + \
        u16(0)
    return c


def signed_cname_response(rcode=0):
    qn = labels('www.example.com')  # 12; example.com at 16
    web_off = 12 + len(qn) + 4 + 12
    body = question(qn)
    body += rr(ptr(12), CNAME, IN, 300, labels('web', False) + ptr(16))
    body += rr(ptr(12), RRSIG, IN, 300, rrsig(CNAME, 300))
    body += rr(ptr(web_off), A, IN, 60, bytes([192, 0, 2, 1]))
    body += rr(ptr(web_off), RRSIG, IN, 60, rrsig(A, 60))
    ns_rd_off = 12 + len(body) + 12
    body += rr(ptr(16), NS, IN, 86400, labels('ns1', False) + ptr(16))
    body += rr(ptr(16), NSEC, IN, 600, labels('z.example.com') + b'\0\1\x40')
    body += rr(ptr(16), DS, IN, 600, u16(4242) + u8(13) + u8(2) + b'\1' * 32)
    body += rr(ptr(ns_rd_off), A, IN, 100000, bytes([192, 0, 2, 53]))
    body += opt(flags=0x8000)
    return hdr(0x4242, QR | RD | RA | AD | rcode, 1, 4, 3, 2) + body


def negative_response(rcode, with_soa=True, name='nx.example.com'):
    qn = labels(name)
    zone = 12 + qn.index(b'\x07example')
    body = question(qn)
    ns = 0
    if with_soa:
        body += rr(ptr(zone), SOA, IN, 3600,
                   soa_rdata(labels('ns', False) + ptr(zone),
                             labels('hostmaster', False) + ptr(zone), 300))
        body += rr(ptr(zone), RRSIG, IN, 3600, rrsig(SOA, 3600))
        body += rr(ptr(zone), NSEC, IN, 3600,
                   labels('zz.example.com') + b'\0\1\x40')
        ns = 3
    body += opt(flags=0x8000)
    return hdr(7, QR | RD | RA | rcode, 1, 0, ns, 1) + body


def answer_corpus():
    c = {}
    c['seed-cname-signed.bin'] = signed_cname_response()
    c['seed-nxdomain-soa.bin'] = negative_response(3)
    c['seed-nodata-soa.bin'] = negative_response(0)
    c['seed-nodata-no-soa.bin'] = negative_response(0, False)
    c['seed-servfail.bin'] = negative_response(2, False)
    c['seed-refused.bin'] = negative_response(5, False)
    qn = labels('example.com')
    c['seed-mx-compressed.bin'] = hdr(3, QR | RD | RA, 1, 2, 0, 0) + \
        question(qn, MX) + \
        rr(ptr(12), MX, IN, 3600, u16(10) + labels('mx1', False) + ptr(12)) + \
        rr(ptr(12), MX, IN, 3600, u16(20) + labels('mx2', False) + ptr(12))
    c['seed-minfo-ptr.bin'] = hdr(3, QR | RD | RA, 1, 2, 0, 0) + \
        question(qn, ANY) + \
        rr(ptr(12), MINFO, IN, 60, labels('a', False) + ptr(12) + ptr(12)) + \
        rr(ptr(12), PTR, IN, 60, ptr(12))
    c['seed-srv-txt-aaaa.bin'] = hdr(3, QR | RD | RA, 1, 3, 0, 0) + \
        question(qn, ANY) + \
        rr(ptr(12), SRV, IN, 60, u16(1) + u16(2) + u16(443) +
           labels('host.example.com')) + \
        rr(ptr(12), TXT, IN, 60, b'\x05hello\x00') + \
        rr(ptr(12), AAAA, IN, 60, bytes(range(16)))
    c['seed-uncompressed.bin'] = hdr(3, QR | RD | RA, 1, 1, 1, 0) + \
        question(labels('www.example.com')) + \
        rr(labels('www.example.com'), A, IN, 60, bytes(4)) + \
        rr(labels('example.com'), NS, IN, 60, labels('ns.example.com'))
    c['seed-root-dnskey-rrsig.bin'] = hdr(3, QR | RD | RA, 1, 2, 0, 0) + \
        question(b'\0', RRSIG) + \
        rr(b'\0', RRSIG, IN, 60, rrsig(48, 60, '.')) + \
        rr(b'\0', RRSIG, IN, 60, rrsig(6, 60, '.'))
    many = b''.join(rr(ptr(12), A, IN, 60, u32(i)) for i in range(300))
    c['seed-300-rrs.bin'] = hdr(3, QR | RD | RA, 1, 300, 0, 0) + \
        question(qn) + many
    c['seed-max-name-255.bin'] = hdr(3, QR | RD | RA, 1, 1, 0, 0) + \
        question(long_name(255)) + rr(ptr(12), A, IN, 60, bytes(4))
    c['seed-ttl-top-bit.bin'] = hdr(3, QR | RD | RA, 1, 1, 0, 0) + \
        question(qn) + rr(ptr(12), A, IN, 0x80000000, bytes(4))

    good = signed_cname_response()
    c['malformed-truncated-header.bin'] = good[:11]
    c['malformed-truncated-rr.bin'] = good[:len(good) - 20]
    c['malformed-truncated-question.bin'] = good[:30]
    c['malformed-qr-clear.bin'] = hdr(3, RD | RA, 1, 0, 0, 0) + question(qn)
    c['malformed-qdcount-0.bin'] = hdr(3, QR | RD | RA, 0, 0, 0, 0)
    c['malformed-qdcount-2.bin'] = hdr(3, QR | RD | RA, 2, 0, 0, 0) + \
        question(qn) + question(qn)
    c['malformed-compression-loop.bin'] = hdr(3, QR | RD | RA, 1, 1, 0, 0) + \
        question(qn) + rr(ptr(29), A, IN, 60, bytes(4))
    c['malformed-compression-loop-2.bin'] = hdr(3, QR, 1, 1, 0, 0) + \
        question(qn) + rr(labels('a', False) + ptr(29), A, IN, 60, bytes(4))
    c['malformed-forward-pointer.bin'] = hdr(3, QR | RD | RA, 1, 1, 0, 0) + \
        question(qn) + rr(ptr(60), A, IN, 60, bytes(4))
    c['malformed-pointer-into-header.bin'] = hdr(3, QR, 1, 1, 0, 0) + \
        question(qn) + rr(ptr(2), A, IN, 60, bytes(4))
    c['malformed-label-64.bin'] = hdr(3, QR, 1, 1, 0, 0) + question(qn) + \
        rr(u8(64) + b'a' * 64 + ptr(12), A, IN, 60, bytes(4))
    c['malformed-name-256.bin'] = hdr(3, QR, 1, 1, 0, 0) + \
        question(long_name(129)) + \
        rr(u8(63) + b'r' * 63 + u8(62) + b'r' * 62 + ptr(12), A, IN, 60,
           bytes(4))
    c['malformed-opt-in-answer.bin'] = hdr(3, QR, 1, 1, 0, 0) + \
        question(qn) + opt()
    c['malformed-opt-in-authority.bin'] = hdr(3, QR, 1, 0, 1, 0) + \
        question(qn) + opt()
    c['malformed-two-opt.bin'] = hdr(3, QR, 1, 0, 0, 2) + question(qn) + \
        opt() + opt()
    c['malformed-rdlen-overrun.bin'] = hdr(3, QR, 1, 1, 0, 0) + \
        question(qn) + ptr(12) + u16(A) + u16(IN) + u32(60) + u16(40) + \
        bytes(4)
    c['malformed-cname-rdata-short.bin'] = hdr(3, QR, 1, 1, 0, 0) + \
        question(qn) + rr(ptr(12), CNAME, IN, 60, labels('abc')[:3])
    c['malformed-cname-rdata-slack.bin'] = hdr(3, QR, 1, 1, 0, 0) + \
        question(qn) + rr(ptr(12), CNAME, IN, 60, ptr(12) + b'\0\0')
    c['malformed-soa-rdata-short.bin'] = hdr(3, QR, 1, 0, 1, 0) + \
        question(qn) + rr(ptr(12), SOA, IN, 60, ptr(12) + ptr(12) + u32(1))
    c['malformed-mx-forward-pointer.bin'] = hdr(3, QR, 1, 1, 0, 0) + \
        question(qn, MX) + rr(ptr(12), MX, IN, 60, u16(1) + ptr(50))
    c['malformed-ancount-overstated.bin'] = hdr(3, QR, 1, 5, 0, 0) + \
        question(qn) + rr(ptr(12), A, IN, 60, bytes(4))
    c['malformed-opcode-notify.bin'] = hdr(3, QR | (4 << 11), 1, 0, 0, 0) + \
        question(qn)
    c['malformed-reserved-label-0x40.bin'] = hdr(3, QR, 1, 1, 0, 0) + \
        question(qn) + rr(b'\x41a' + ptr(12), A, IN, 60, bytes(4))
    return c


SNAP_REAL = 1780000000 * 10**9


def snap_key(name, qtype=A, flags=0):
    return u8(flags) + u16(qtype) + u16(IN) + labels(name)


def snap_entry(key, wire, secure=False, hits=0, flags=None, reserved=0):
    f = (1 if secure else 0) if flags is None else flags
    return u16(len(key)) + u16(len(wire)) + u8(f) + u8(reserved) + \
        u32(hits) + key + wire


def stored_a(name, ttl=300, ad=False):
    return hdr(0, QR | RD | RA | (AD if ad else 0), 1, 1, 0, 0) + \
        question(labels(name)) + rr(ptr(12), A, IN, ttl, bytes([203, 0, 113, 80]))


def stored_nx(name, ttl=600):
    return hdr(0, QR | RD | RA | 3, 1, 0, 1, 0) + question(labels(name)) + \
        rr(ptr(12), SOA, IN, ttl, soa_rdata(labels('ns.lab'), labels('root.lab'), ttl))


def snapshot(entries, version=1, written=SNAP_REAL, digest=b'\x01' * 32,
             count=None, reseal=True):
    body = b'VDNSSNAP' + u32(version) + u32(0) + \
        struct.pack('!Q', written) + digest + b''.join(entries)
    body += struct.pack('!Q', len(entries) if count is None else count)
    return body + (hashlib.sha256(body).digest() if reseal else bytes(32))


def snapshot_corpus():
    a = snap_entry(snap_key('www.lab'), stored_a('www.lab'), hits=9)
    ad = snap_entry(snap_key('sig.lab', A, 1), stored_a('sig.lab', ad=True),
                    secure=True)
    nx = snap_entry(snap_key('nx.lab'), stored_nx('nx.lab'))
    fail = snap_entry(snap_key('f.lab'),
                      hdr(0, QR | RD | RA | 2, 1, 0, 0, 0) + question(labels('f.lab')))
    c = {}
    c['seed-empty.bin'] = snapshot([])
    c['seed-one.bin'] = snapshot([a])
    c['seed-three.bin'] = snapshot([a, ad, nx])
    c['seed-servfail-entry.bin'] = snapshot([a, fail])
    c['seed-old.bin'] = snapshot([a, nx], written=SNAP_REAL - 400 * 10**9)
    c['malformed-magic.bin'] = b'VDNSSNAQ' + snapshot([a])[8:]
    c['malformed-version2.bin'] = snapshot([a], version=2)
    c['malformed-future.bin'] = snapshot([a], written=SNAP_REAL + 10**13)
    c['malformed-count.bin'] = snapshot([a], count=2)
    c['malformed-bad-hash.bin'] = snapshot([a], reseal=False)
    c['malformed-truncated.bin'] = snapshot([a, nx])[:-50]
    c['malformed-header-only.bin'] = snapshot([])[:40]
    c['malformed-key-upper.bin'] = snapshot(
        [snap_entry(snap_key('WWW.lab'), stored_a('www.lab'))])
    c['malformed-key-flags.bin'] = snapshot(
        [snap_entry(snap_key('www.lab', A, 0x80), stored_a('www.lab'))])
    c['malformed-key-short.bin'] = snapshot([snap_entry(b'\0\0\1\0\1',
                                                        stored_a('www.lab'))])
    c['malformed-key-mismatch.bin'] = snapshot(
        [a, snap_entry(snap_key('other.lab'), stored_a('www.lab'))])
    c['malformed-entry-flags.bin'] = snapshot(
        [snap_entry(snap_key('www.lab'), stored_a('www.lab'), flags=0x80)])
    c['malformed-entry-reserved.bin'] = snapshot(
        [snap_entry(snap_key('www.lab'), stored_a('www.lab'), reserved=1)])
    long_len = u16(len(snap_key('www.lab'))) + u16(0xffff) + bytes(6)
    c['malformed-entry-overrun.bin'] = snapshot([long_len + snap_key('www.lab')])
    c['malformed-wire-garbage.bin'] = snapshot(
        [snap_entry(snap_key('www.lab'), bytes(40))])
    c['malformed-wire-query.bin'] = snapshot(
        [snap_entry(snap_key('www.lab'), hdr(0, RD, 1, 0, 0, 0) +
                    question(labels('www.lab')))])
    return c


def write(dirname, files):
    d = os.path.join(HERE, 'corpus', dirname)
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        if name.startswith(('seed-', 'malformed-', 'verdict-')):
            os.unlink(os.path.join(d, name))
    for name, data in sorted(files.items()):
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)
    print(f'{dirname}: {len(files)} files', file=sys.stderr)


if __name__ == '__main__':
    write('query', query_corpus())
    write('answer', answer_corpus())
    write('snapshot', snapshot_corpus())
