/*
 * Packet builder for the dns unit tests: hand-assembles wire bytes so
 * each test shows exactly what goes on the wire.  Deliberately does not
 * use the code under test (names are spelled out label by label).
 */
#ifndef VD_TEST_DNS_PKT_H
#define VD_TEST_DNS_PKT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct pkt {
	uint8_t b[8192];
	size_t len;
};

static inline void p_u8(struct pkt *p, unsigned v)
{
	p->b[p->len++] = (uint8_t)v;
}

static inline void p_u16(struct pkt *p, unsigned v)
{
	p_u8(p, v >> 8);
	p_u8(p, v);
}

static inline void p_u32(struct pkt *p, uint32_t v)
{
	p_u16(p, v >> 16);
	p_u16(p, v & 0xffff);
}

static inline void p_bytes(struct pkt *p, const void *d, size_t n)
{
	memcpy(p->b + p->len, d, n);
	p->len += n;
}

/* "www.example.com" -> labels, no escapes; "" or "." is the root.  With
 * terminate false the root label is left off (a pointer follows). */
static inline void p_labels(struct pkt *p, const char *s, int terminate)
{
	while (*s && strcmp(s, ".") != 0) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		p_u8(p, (unsigned)l);
		p_bytes(p, s, l);
		s += l;
		if (*s == '.')
			s++;
	}
	if (terminate)
		p_u8(p, 0);
}

static inline void p_name(struct pkt *p, const char *s)
{
	p_labels(p, s, 1);
}

static inline void p_ptr(struct pkt *p, unsigned off)
{
	p_u16(p, 0xc000u | off);
}

static inline void p_hdr(struct pkt *p, unsigned id, unsigned flags,
			 unsigned qd, unsigned an, unsigned ns, unsigned ar)
{
	p->len = 0;
	p_u16(p, id);
	p_u16(p, flags);
	p_u16(p, qd);
	p_u16(p, an);
	p_u16(p, ns);
	p_u16(p, ar);
}

static inline void p_set_u16(struct pkt *p, size_t off, unsigned v)
{
	p->b[off] = (uint8_t)(v >> 8);
	p->b[off + 1] = (uint8_t)v;
}

/* RR fixed part after the owner name. */
static inline void p_rr(struct pkt *p, unsigned type, unsigned cls,
			uint32_t ttl, unsigned rdlen)
{
	p_u16(p, type);
	p_u16(p, cls);
	p_u32(p, ttl);
	p_u16(p, rdlen);
}

/* Root-owned OPT with the given option bytes. */
static inline void p_opt(struct pkt *p, unsigned udp, unsigned ext,
			 unsigned ver, unsigned flags, const void *rd,
			 size_t rdlen)
{
	p_u8(p, 0);
	p_u16(p, 41);
	p_u16(p, udp);
	p_u8(p, ext);
	p_u8(p, ver);
	p_u16(p, flags);
	p_u16(p, (unsigned)rdlen);
	if (rdlen)
		p_bytes(p, rd, rdlen);
}

static inline uint16_t g_u16(const uint8_t *b, size_t off)
{
	return (uint16_t)(b[off] << 8 | b[off + 1]);
}

static inline uint32_t g_u32(const uint8_t *b, size_t off)
{
	return (uint32_t)g_u16(b, off) << 16 | g_u16(b, off + 2);
}

#endif
