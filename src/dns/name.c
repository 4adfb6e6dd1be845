/*
 * Domain names: wire <-> presentation, zone membership, and reading
 * (possibly compressed) names out of untrusted packets.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dns/name_wire.h"
#include "dns/query.h"

void vd_dns_name_lower(uint8_t *dst, const uint8_t *src, size_t len)
{
	/* Label length bytes are <= 63, below 'A', so lowering the whole
	 * buffer byte by byte never touches them. */
	for (size_t i = 0; i < len; i++)
		dst[i] = vd_dns_lower_byte(src[i]);
}

static bool mem_eq_nocase(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (vd_dns_lower_byte(a[i]) != vd_dns_lower_byte(b[i]))
			return false;
	return true;
}

bool vd_dns_name_eq(const uint8_t *a, size_t a_len, const uint8_t *b,
		    size_t b_len)
{
	return a_len == b_len && mem_eq_nocase(a, b, a_len);
}

bool vd_dns_name_valid(const uint8_t *name, size_t len)
{
	size_t pos = 0;

	if (len == 0 || len > VD_DNS_NAME_MAX)
		return false;
	while (pos < len) {
		uint8_t l = name[pos];
		if (l == 0)
			return pos + 1 == len;
		if (l > VD_DNS_LABEL_MAX || l >= len - pos - 1)
			return false;
		pos += 1u + l;
	}
	return false;
}

int vd_dns_name_unpack(struct vd_wire *w, uint8_t out[VD_DNS_NAME_MAX],
		       bool allow_ptr)
{
	const uint8_t *pkt = w->base;
	size_t len = w->len;
	size_t pos = w->pos;
	size_t resume = 0;      /* where w continues: after the first pointer */
	size_t last_target = 0; /* valid once jumped */
	bool jumped = false;
	size_t n = 0;
	int rc;

	if (w->err)
		return w->err;
	for (;;) {
		if (pos >= len) {
			rc = -EMSGSIZE;
			goto fail;
		}
		uint8_t c = pkt[pos];
		if ((c & 0xc0) == 0xc0) {
			if (!allow_ptr) {
				rc = -EBADMSG;
				goto fail;
			}
			if (len - pos < 2) {
				rc = -EMSGSIZE;
				goto fail;
			}
			size_t target = (size_t)(c & 0x3f) << 8 | pkt[pos + 1];
			/* Strictly backwards: below the pointer itself and
			 * below every earlier target.  The targets form a
			 * decreasing sequence, so the walk must end. */
			size_t bound = jumped ? last_target : pos;
			if (target >= bound || target < VD_DNS_HEADER_LEN) {
				rc = -EBADMSG;
				goto fail;
			}
			if (!jumped)
				resume = pos + 2;
			jumped = true;
			last_target = target;
			pos = target;
			continue;
		}
		if (c & 0xc0) {
			/* 0x40 (extended labels, RFC 6891 obsoleted them)
			 * and 0x80 are reserved. */
			rc = -EBADMSG;
			goto fail;
		}
		if (n + 1u + c > VD_DNS_NAME_MAX) {
			rc = -EBADMSG;
			goto fail;
		}
		if (len - pos < 1u + c) {
			rc = -EMSGSIZE;
			goto fail;
		}
		memcpy(out + n, pkt + pos, 1u + c);
		n += 1u + c;
		pos += 1u + c;
		if (c == 0)
			break;
	}
	w->pos = jumped ? resume : pos;
	return (int)n;
fail:
	w->err = rc;
	return rc;
}

/* Reads one presentation character, resolving \X and \DDD escapes. */
static int read_char(const char **pp, uint8_t *c)
{
	const char *p = *pp;

	if (*p != '\\') {
		*c = (uint8_t)*p;
		*pp = p + 1;
		return 0;
	}
	p++;
	if (*p >= '0' && *p <= '9') {
		unsigned v = 0;
		for (int i = 0; i < 3; i++) {
			if (p[i] < '0' || p[i] > '9')
				return -EINVAL;
			v = v * 10 + (unsigned)(p[i] - '0');
		}
		if (v > 255)
			return -EINVAL;
		*c = (uint8_t)v;
		*pp = p + 3;
		return 0;
	}
	if (*p == '\0')
		return -EINVAL;
	*c = (uint8_t)*p;
	*pp = p + 1;
	return 0;
}

int vd_dns_name_from_str(const char *str, uint8_t *out, size_t cap)
{
	uint8_t buf[VD_DNS_NAME_MAX];
	const char *p = str;
	size_t n = 0;

	if (!str || !*str)
		return -EINVAL;
	if (strcmp(str, ".") != 0) {
		while (*p) {
			size_t lab = n;
			/* Room for this label's length byte, one character
			 * and the root label. */
			if (n + 3 > VD_DNS_NAME_MAX)
				return -EINVAL;
			n++;
			while (*p && *p != '.') {
				uint8_t c;
				if (read_char(&p, &c) != 0)
					return -EINVAL;
				if (n - lab - 1 >= VD_DNS_LABEL_MAX ||
				    n + 2 > VD_DNS_NAME_MAX)
					return -EINVAL;
				buf[n++] = vd_dns_lower_byte(c);
			}
			size_t l = n - lab - 1;
			if (l == 0)
				return -EINVAL; /* empty label: "a..b", ".a" */
			buf[lab] = (uint8_t)l;
			if (*p == '.')
				p++; /* a trailing dot ends the loop here */
		}
	}
	buf[n++] = 0;
	if (n > cap)
		return -EINVAL;
	memcpy(out, buf, n);
	return (int)n;
}

/* Appends k bytes, keeping room for the terminating NUL. */
static int put(char *out, size_t cap, size_t *o, const char *s, size_t k)
{
	if (cap == 0 || k > cap - 1 - *o)
		return -ENOSPC;
	memcpy(out + *o, s, k);
	*o += k;
	return 0;
}

int vd_dns_name_to_str(const uint8_t *name, size_t len, char *out, size_t cap)
{
	size_t o = 0;
	size_t pos = 0;

	if (!vd_dns_name_valid(name, len))
		return -EINVAL;
	while (name[pos] != 0) {
		uint8_t l = name[pos++];
		for (size_t i = 0; i < l; i++) {
			uint8_t c = name[pos + i];
			char tmp[5];
			size_t k;
			if (c < 0x21 || c > 0x7e) {
				snprintf(tmp, sizeof(tmp), "\\%03u", c);
				k = 4;
			} else if (strchr(".\\\"();@$", c)) {
				tmp[0] = '\\';
				tmp[1] = (char)c;
				k = 2;
			} else {
				tmp[0] = (char)c;
				k = 1;
			}
			if (put(out, cap, &o, tmp, k))
				return -ENOSPC;
		}
		pos += l;
		if (put(out, cap, &o, ".", 1))
			return -ENOSPC;
	}
	if (o == 0 && put(out, cap, &o, ".", 1))
		return -ENOSPC;
	out[o] = '\0';
	return (int)o;
}

bool vd_dns_name_in_zone(const uint8_t *name, size_t name_len,
			 const uint8_t *zone, size_t zone_len)
{
	size_t pos = 0;

	if (zone_len == 0 || zone_len > name_len)
		return false;
	/* Only compare at label starts: "xexample.com" is not in
	 * "example.com" although its bytes end the same way. */
	while (pos < name_len) {
		if (name_len - pos == zone_len &&
		    mem_eq_nocase(name + pos, zone, zone_len))
			return true;
		uint8_t l = name[pos];
		if (l == 0 || l > VD_DNS_LABEL_MAX)
			break;
		pos += 1u + l;
	}
	return false;
}
