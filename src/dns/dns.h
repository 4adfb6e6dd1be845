/* DNS wire-format constants (RFC 1035, 6891, 2308, 8914). No I/O here. */
#ifndef VD_DNS_DNS_H
#define VD_DNS_DNS_H

#include <stdint.h>

#define VD_DNS_HEADER_LEN 12
#define VD_DNS_NAME_MAX 255   /* wire length, including the root label */
#define VD_DNS_LABEL_MAX 63
#define VD_DNS_UDP_MIN 512    /* RFC 1035 4.2.1; also the floor for EDNS sizes */
#define VD_DNS_EDNS_DEFAULT 1232 /* DNS Flag Day 2020 */
#define VD_DNS_MSG_MAX 65535

/* Header flag bits in the 16-bit flags word (host order). */
#define VD_DNS_F_QR 0x8000u
#define VD_DNS_F_OPCODE_MASK 0x7800u
#define VD_DNS_F_OPCODE_SHIFT 11
#define VD_DNS_F_AA 0x0400u
#define VD_DNS_F_TC 0x0200u
#define VD_DNS_F_RD 0x0100u
#define VD_DNS_F_RA 0x0080u
#define VD_DNS_F_Z 0x0040u
#define VD_DNS_F_AD 0x0020u
#define VD_DNS_F_CD 0x0010u
#define VD_DNS_F_RCODE_MASK 0x000fu

/* EDNS flags (the 16-bit field of the OPT TTL). */
#define VD_DNS_EDNS_DO 0x8000u

enum vd_dns_opcode { VD_DNS_OPCODE_QUERY = 0 };

enum vd_dns_rcode {
	VD_DNS_RCODE_NOERROR = 0,
	VD_DNS_RCODE_FORMERR = 1,
	VD_DNS_RCODE_SERVFAIL = 2,
	VD_DNS_RCODE_NXDOMAIN = 3,
	VD_DNS_RCODE_NOTIMP = 4,
	VD_DNS_RCODE_REFUSED = 5,
	VD_DNS_RCODE_BADVERS = 16, /* extended: needs OPT */
	VD_DNS_RCODE_BADCOOKIE = 23, /* RFC 7873; extended */
};

enum vd_dns_type {
	VD_DNS_T_A = 1,
	VD_DNS_T_NS = 2,
	VD_DNS_T_CNAME = 5,
	VD_DNS_T_SOA = 6,
	VD_DNS_T_PTR = 12,
	VD_DNS_T_MX = 15,
	VD_DNS_T_TXT = 16,
	VD_DNS_T_AAAA = 28,
	VD_DNS_T_SRV = 33,
	VD_DNS_T_DNAME = 39,
	VD_DNS_T_OPT = 41,
	VD_DNS_T_DS = 43,
	VD_DNS_T_RRSIG = 46,
	VD_DNS_T_NSEC = 47,
	VD_DNS_T_DNSKEY = 48,
	VD_DNS_T_NSEC3 = 50,
	VD_DNS_T_NSEC3PARAM = 51,
	VD_DNS_T_SVCB = 64,
	VD_DNS_T_HTTPS = 65,
	VD_DNS_T_IXFR = 251,
	VD_DNS_T_AXFR = 252,
	VD_DNS_T_MAILB = 253,
	VD_DNS_T_MAILA = 254,
	VD_DNS_T_ANY = 255,
};

enum vd_dns_class {
	VD_DNS_C_IN = 1,
	VD_DNS_C_CH = 3,
	VD_DNS_C_HS = 4,
	VD_DNS_C_NONE = 254,
	VD_DNS_C_ANY = 255,
};

/* EDNS option codes. */
enum vd_dns_edns_opt {
	VD_DNS_OPT_NSID = 3,    /* RFC 5001 */
	VD_DNS_OPT_ECS = 8,     /* RFC 7871 */
	VD_DNS_OPT_COOKIE = 10, /* RFC 7873 */
	VD_DNS_OPT_KEEPALIVE = 11,
	VD_DNS_OPT_PADDING = 12,
	VD_DNS_OPT_EDE = 15, /* RFC 8914 */
};

/* Extended DNS Error info codes we emit (RFC 8914). */
enum vd_dns_ede {
	VD_DNS_EDE_OTHER = 0,
	VD_DNS_EDE_STALE_ANSWER = 3,
	VD_DNS_EDE_DNSSEC_BOGUS = 6,
	VD_DNS_EDE_PROHIBITED = 18,
	VD_DNS_EDE_NO_REACHABLE_AUTHORITY = 22,
};

#endif
