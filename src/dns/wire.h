/*
 * Sticky-error wire cursor.  A read or write past the end sets err and
 * turns every later call into a no-op returning zeros, so a parser checks
 * once at the end instead of after every field.  Nothing here casts structs
 * onto wire bytes.
 */
#ifndef VD_DNS_WIRE_H
#define VD_DNS_WIRE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct vd_wire {
	const uint8_t *base;
	size_t len;
	size_t pos;
	int err; /* 0 or -EMSGSIZE after the first out-of-bounds access */
};

static inline void vd_wire_init(struct vd_wire *w, const uint8_t *base,
				size_t len)
{
	w->base = base;
	w->len = len;
	w->pos = 0;
	w->err = 0;
}

static inline size_t vd_wire_avail(const struct vd_wire *w)
{
	return w->err ? 0 : w->len - w->pos;
}

static inline int vd_wire_need(struct vd_wire *w, size_t n)
{
	if (w->err || n > w->len - w->pos) {
		w->err = -EMSGSIZE;
		return -1;
	}
	return 0;
}

static inline uint8_t vd_wire_u8(struct vd_wire *w)
{
	if (vd_wire_need(w, 1))
		return 0;
	return w->base[w->pos++];
}

static inline uint16_t vd_wire_u16(struct vd_wire *w)
{
	if (vd_wire_need(w, 2))
		return 0;
	uint16_t v = (uint16_t)(w->base[w->pos] << 8 | w->base[w->pos + 1]);
	w->pos += 2;
	return v;
}

static inline uint32_t vd_wire_u32(struct vd_wire *w)
{
	if (vd_wire_need(w, 4))
		return 0;
	const uint8_t *p = w->base + w->pos;
	w->pos += 4;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void vd_wire_skip(struct vd_wire *w, size_t n)
{
	if (vd_wire_need(w, n))
		return;
	w->pos += n;
}

/* Output cursor: same sticky rule for writes into a bounded buffer. */
struct vd_wbuf {
	uint8_t *base;
	size_t cap;
	size_t pos;
	int err;
};

static inline void vd_wbuf_init(struct vd_wbuf *b, uint8_t *base, size_t cap)
{
	b->base = base;
	b->cap = cap;
	b->pos = 0;
	b->err = 0;
}

static inline int vd_wbuf_need(struct vd_wbuf *b, size_t n)
{
	if (b->err || n > b->cap - b->pos) {
		b->err = -ENOSPC;
		return -1;
	}
	return 0;
}

static inline void vd_wbuf_u8(struct vd_wbuf *b, uint8_t v)
{
	if (vd_wbuf_need(b, 1))
		return;
	b->base[b->pos++] = v;
}

static inline void vd_wbuf_u16(struct vd_wbuf *b, uint16_t v)
{
	if (vd_wbuf_need(b, 2))
		return;
	b->base[b->pos++] = (uint8_t)(v >> 8);
	b->base[b->pos++] = (uint8_t)v;
}

static inline void vd_wbuf_u32(struct vd_wbuf *b, uint32_t v)
{
	if (vd_wbuf_need(b, 4))
		return;
	b->base[b->pos++] = (uint8_t)(v >> 24);
	b->base[b->pos++] = (uint8_t)(v >> 16);
	b->base[b->pos++] = (uint8_t)(v >> 8);
	b->base[b->pos++] = (uint8_t)v;
}

static inline void vd_wbuf_bytes(struct vd_wbuf *b, const void *p, size_t n)
{
	if (vd_wbuf_need(b, n))
		return;
	if (n)
		memcpy(b->base + b->pos, p, n);
	b->pos += n;
}

static inline void vd_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t vd_get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void vd_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t vd_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

#endif
