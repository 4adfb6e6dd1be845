/*
 * Shared by the dns fuzz targets: an independent well-formedness check of
 * a message we produced, so a target can abort() on anything that would
 * go out on the wire broken.
 */
#ifndef VD_FUZZ_CHECK_H
#define VD_FUZZ_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "dns/name_wire.h"

#define FUZZ_MAX_RRS 512

struct fuzz_msg {
	uint16_t id, flags, qd, an, ns, ar;
	uint8_t qname[VD_DNS_NAME_MAX];
	int qname_len;
	uint16_t qtype, qclass;
	unsigned n_rr;
	uint16_t ttl_off[FUZZ_MAX_RRS];
	int opts;             /* OPT records seen */
	uint32_t opt_ttl;
	uint16_t opt_class;
};

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

/* Returns true when b is one complete, well-formed message with at most
 * one question and OPT (root owner, additional section) at most once. */
static inline bool fuzz_check_msg(const uint8_t *b, size_t len,
				  struct fuzz_msg *m)
{
	struct vd_wire w;
	uint8_t name[VD_DNS_NAME_MAX];

	vd_wire_init(&w, b, len);
	m->id = vd_wire_u16(&w);
	m->flags = vd_wire_u16(&w);
	m->qd = vd_wire_u16(&w);
	m->an = vd_wire_u16(&w);
	m->ns = vd_wire_u16(&w);
	m->ar = vd_wire_u16(&w);
	m->n_rr = 0;
	m->opts = 0;
	m->qname_len = 0;
	if (w.err || m->qd > 1)
		return false;
	if (m->qd) {
		m->qname_len = vd_dns_name_unpack(&w, m->qname, true);
		m->qtype = vd_wire_u16(&w);
		m->qclass = vd_wire_u16(&w);
		if (m->qname_len < 0 || w.err)
			return false;
	}
	unsigned cnt[3] = { m->an, m->ns, m->ar };
	for (unsigned s = 0; s < 3; s++) {
		for (unsigned i = 0; i < cnt[s]; i++) {
			int n = vd_dns_name_unpack(&w, name, true);
			uint16_t type = vd_wire_u16(&w);
			uint16_t cls = vd_wire_u16(&w);
			size_t ttl_off = w.pos;
			uint32_t ttl = vd_wire_u32(&w);
			uint16_t rdlen = vd_wire_u16(&w);
			vd_wire_skip(&w, rdlen);
			if (n < 0 || w.err || m->n_rr >= FUZZ_MAX_RRS)
				return false;
			if (type == VD_DNS_T_OPT) {
				if (s != 2 || n != 1 || m->opts++)
					return false;
				m->opt_ttl = ttl;
				m->opt_class = cls;
				continue;
			}
			m->ttl_off[m->n_rr++] = (uint16_t)ttl_off;
		}
	}
	return w.pos == len;
}

#endif
