/* Unit tests for src/dns/name.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "dns/name_wire.h"
#include "dns/query.h"
#include "pkt.h"

static const uint8_t www_example_com[] = "\3www\7example\3com";
#define WWW_LEN 17

Test(name_from_str, basic_trailing_dot_optional_and_lowered)
{
	uint8_t out[VD_DNS_NAME_MAX];
	cr_assert_eq(vd_dns_name_from_str("www.Example.COM.", out, sizeof(out)),
		     WWW_LEN);
	cr_assert_arr_eq(out, www_example_com, WWW_LEN);
	memset(out, 0xee, sizeof(out));
	cr_assert_eq(vd_dns_name_from_str("WWW.example.com", out, sizeof(out)),
		     WWW_LEN);
	cr_assert_arr_eq(out, www_example_com, WWW_LEN);
}

Test(name_from_str, root)
{
	uint8_t out[4] = { 0xff };
	cr_assert_eq(vd_dns_name_from_str(".", out, sizeof(out)), 1);
	cr_assert_eq(out[0], 0);
}

Test(name_from_str, escapes)
{
	uint8_t out[VD_DNS_NAME_MAX];
	/* "a\.b" is one label of three bytes; \065 is 'A', lowered. */
	cr_assert_eq(vd_dns_name_from_str("a\\.b.\\065\\000x", out, sizeof(out)),
		     1 + 3 + 1 + 3 + 1);
	const uint8_t want[] = { 3, 'a', '.', 'b', 3, 'a', 0, 'x', 0 };
	cr_assert_arr_eq(out, want, sizeof(want));
	cr_assert_eq(vd_dns_name_from_str("\\256", out, sizeof(out)), -EINVAL);
	cr_assert_eq(vd_dns_name_from_str("\\12", out, sizeof(out)), -EINVAL);
	cr_assert_eq(vd_dns_name_from_str("a\\", out, sizeof(out)), -EINVAL);
}

Test(name_from_str, rejects_empty_labels)
{
	uint8_t out[VD_DNS_NAME_MAX];
	cr_assert_eq(vd_dns_name_from_str("", out, sizeof(out)), -EINVAL);
	cr_assert_eq(vd_dns_name_from_str("a..b", out, sizeof(out)), -EINVAL);
	cr_assert_eq(vd_dns_name_from_str(".a", out, sizeof(out)), -EINVAL);
	cr_assert_eq(vd_dns_name_from_str("a..", out, sizeof(out)), -EINVAL);
}

Test(name_from_str, label_and_name_limits)
{
	uint8_t out[VD_DNS_NAME_MAX];
	char s[400];
	memset(s, 'a', 63);
	s[63] = '\0';
	cr_assert_eq(vd_dns_name_from_str(s, out, sizeof(out)), 65);
	memset(s, 'a', 64);
	s[64] = '\0';
	cr_assert_eq(vd_dns_name_from_str(s, out, sizeof(out)), -EINVAL);

	/* 4 x 63-byte labels = 4*64 + 1 = 257 > 255. */
	size_t o = 0;
	for (int i = 0; i < 4; i++) {
		memset(s + o, 'b', 63);
		o += 63;
		s[o++] = '.';
	}
	s[o] = '\0';
	cr_assert_eq(vd_dns_name_from_str(s, out, sizeof(out)), -EINVAL);
	/* 3 x 63 + one 61-byte label = 192 + 62 + 1 = 255: the maximum. */
	o = 3 * 64;
	memset(s + o, 'c', 61);
	s[o + 61] = '\0';
	cr_assert_eq(vd_dns_name_from_str(s, out, sizeof(out)), 255);
	/* One more byte makes it 256. */
	s[o + 61] = 'c';
	s[o + 62] = '\0';
	cr_assert_eq(vd_dns_name_from_str(s, out, sizeof(out)), -EINVAL);
}

Test(name_from_str, cap_too_small)
{
	uint8_t out[5];
	cr_assert_eq(vd_dns_name_from_str("example.com", out, sizeof(out)),
		     -EINVAL);
}

Test(name_to_str, round_trip_and_escapes)
{
	char s[1024];
	cr_assert_eq(vd_dns_name_to_str(www_example_com, WWW_LEN, s, sizeof(s)),
		     16);
	cr_assert_str_eq(s, "www.example.com.");
	const uint8_t odd[] = { 4, 'a', '.', ' ', 0xff, 1, '\\', 0 };
	cr_assert_gt(vd_dns_name_to_str(odd, sizeof(odd), s, sizeof(s)), 0);
	cr_assert_str_eq(s, "a\\.\\032\\255.\\\\.");
	uint8_t back[VD_DNS_NAME_MAX];
	cr_assert_eq(vd_dns_name_from_str(s, back, sizeof(back)),
		     (int)sizeof(odd));
	cr_assert_arr_eq(back, odd, sizeof(odd));
}

Test(name_to_str, root_and_space)
{
	char s[16];
	const uint8_t root[] = { 0 };
	cr_assert_eq(vd_dns_name_to_str(root, 1, s, sizeof(s)), 1);
	cr_assert_str_eq(s, ".");
	/* "www.example.com." needs 17 bytes with the NUL. */
	char small[16];
	cr_assert_eq(vd_dns_name_to_str(www_example_com, WWW_LEN, small,
					sizeof(small)),
		     -ENOSPC);
	char exact[17];
	cr_assert_eq(vd_dns_name_to_str(www_example_com, WWW_LEN, exact,
					sizeof(exact)),
		     16);
}

Test(name_to_str, rejects_malformed_wire)
{
	char s[64];
	const uint8_t overrun[] = { 5, 'a', 'b', 0 };
	cr_assert_lt(vd_dns_name_to_str(overrun, sizeof(overrun), s, sizeof(s)),
		     0);
	const uint8_t noroot[] = { 1, 'a' };
	cr_assert_lt(vd_dns_name_to_str(noroot, sizeof(noroot), s, sizeof(s)),
		     0);
}

Test(name_lower, ascii_only)
{
	const uint8_t in[] = { 3, 'W', 0xc1, 'z', 1, '[', 0 };
	uint8_t out[sizeof(in)];
	vd_dns_name_lower(out, in, sizeof(in));
	const uint8_t want[] = { 3, 'w', 0xc1, 'z', 1, '[', 0 };
	cr_assert_arr_eq(out, want, sizeof(want));
}

Test(name_in_zone, label_boundaries)
{
	const uint8_t zone[] = "\7example\3com";
	const uint8_t xzone[] = "\10xexample\3com";
	const uint8_t root[] = { 0 };
	const uint8_t com[] = "\3com";
	cr_assert(vd_dns_name_in_zone(www_example_com, WWW_LEN, zone, 13));
	cr_assert(vd_dns_name_in_zone(zone, 13, zone, 13));
	cr_assert(vd_dns_name_in_zone(www_example_com, WWW_LEN, root, 1));
	cr_assert(vd_dns_name_in_zone(www_example_com, WWW_LEN, com, 5));
	cr_assert_not(vd_dns_name_in_zone(xzone, 14, zone, 13));
	cr_assert_not(vd_dns_name_in_zone(zone, 13, www_example_com, WWW_LEN));
	cr_assert_not(vd_dns_name_in_zone(com, 5, zone, 13));
	/* "ample.com" is a byte suffix of "example.com" but not a zone cut. */
	const uint8_t tricky[] = "\2ex\5ample\3com";
	const uint8_t ample[] = "\5ample\3com";
	cr_assert(vd_dns_name_in_zone(tricky, 14, ample, 11));
	cr_assert_not(vd_dns_name_in_zone(zone, 13, ample, 11));
}

/* --- unpack --------------------------------------------------------- */

static int unpack_at(const struct pkt *p, size_t pos, uint8_t *out,
		     bool allow, size_t *end)
{
	struct vd_wire w;
	vd_wire_init(&w, p->b, p->len);
	w.pos = pos;
	int n = vd_dns_name_unpack(&w, out, allow);
	if (end)
		*end = w.pos;
	if (n < 0)
		cr_assert_neq(w.err, 0, "failure must make the cursor sticky");
	return n;
}

Test(name_unpack, plain_and_compressed)
{
	struct pkt p;
	uint8_t out[VD_DNS_NAME_MAX];
	size_t end;
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	p_name(&p, "www.example.com"); /* at 12 */
	size_t second = p.len;
	p_labels(&p, "mail", 0);
	p_ptr(&p, 16); /* -> example.com */
	size_t third = p.len;
	p_labels(&p, "a", 0);
	p_ptr(&p, (unsigned)second); /* -> mail.example.com, then -> 16 */
	p_u8(&p, 0x99);

	cr_assert_eq(unpack_at(&p, 12, out, true, &end), WWW_LEN);
	cr_assert_arr_eq(out, www_example_com, WWW_LEN);
	cr_assert_eq(end, 12 + WWW_LEN);

	cr_assert_eq(unpack_at(&p, second, out, true, &end), 18);
	cr_assert_arr_eq(out, "\4mail\7example\3com", 18);
	cr_assert_eq(end, third);

	cr_assert_eq(unpack_at(&p, third, out, true, &end), 20);
	cr_assert_arr_eq(out, "\1a\4mail\7example\3com", 20);
	cr_assert_eq(end, p.len - 1, "resume after the first pointer");

	/* Same bytes with compression forbidden. */
	cr_assert_eq(unpack_at(&p, second, out, false, NULL), -EBADMSG);
}

Test(name_unpack, pointer_to_itself)
{
	struct pkt p;
	uint8_t out[VD_DNS_NAME_MAX];
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	p_name(&p, "x");
	p_ptr(&p, (unsigned)p.len);
	cr_assert_eq(unpack_at(&p, 15, out, true, NULL), -EBADMSG);
}

Test(name_unpack, forward_pointer)
{
	struct pkt p;
	uint8_t out[VD_DNS_NAME_MAX];
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	p_ptr(&p, 14);
	p_name(&p, "x");
	cr_assert_eq(unpack_at(&p, 12, out, true, NULL), -EBADMSG);
}

Test(name_unpack, loop_via_earlier_label)
{
	/* 12: "a" then pointer at 14 back to 12: every jump goes back, yet
	 * following it would loop; the second jump to 12 is not below the
	 * earlier target 12. */
	struct pkt p;
	uint8_t out[VD_DNS_NAME_MAX];
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	p_labels(&p, "a", 0);
	p_ptr(&p, 12);
	p_ptr(&p, 14);
	cr_assert_eq(unpack_at(&p, 16, out, true, NULL), -EBADMSG);
	cr_assert_eq(unpack_at(&p, 12, out, true, NULL), -EBADMSG);
}

Test(name_unpack, two_pointer_loop)
{
	/* 12 -> 14 is forward; 14 -> 12 backward then 12 -> 14 again. */
	struct pkt p;
	uint8_t out[VD_DNS_NAME_MAX];
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	p_ptr(&p, 14);
	p_ptr(&p, 12);
	cr_assert_eq(unpack_at(&p, 14, out, true, NULL), -EBADMSG);
}

Test(name_unpack, pointer_into_header)
{
	struct pkt p;
	uint8_t out[VD_DNS_NAME_MAX];
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	p_ptr(&p, 4);
	cr_assert_eq(unpack_at(&p, 12, out, true, NULL), -EBADMSG);
}

static void p_label_n(struct pkt *p, size_t n, char c)
{
	p_u8(p, (unsigned)n);
	for (size_t i = 0; i < n; i++)
		p_u8(p, (unsigned)c);
}

Test(name_unpack, label_64_and_name_256)
{
	struct pkt p;
	uint8_t out[VD_DNS_NAME_MAX];
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	p_label_n(&p, 64, 'a'); /* 0x40: a reserved label type as well */
	p_u8(&p, 0);
	cr_assert_eq(unpack_at(&p, 12, out, true, NULL), -EBADMSG);

	/* 3 x 63-byte labels + a 62-byte one = 192 + 63 + 1 = 256. */
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	for (int i = 0; i < 3; i++)
		p_label_n(&p, 63, 'a');
	p_label_n(&p, 62, 'a');
	p_u8(&p, 0);
	cr_assert_eq(unpack_at(&p, 12, out, true, NULL), -EBADMSG);
	/* 61 instead of 62: exactly 255, the maximum. */
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	for (int i = 0; i < 3; i++)
		p_label_n(&p, 63, 'a');
	p_label_n(&p, 61, 'a');
	p_u8(&p, 0);
	cr_assert_eq(unpack_at(&p, 12, out, true, NULL), 255);
}

Test(name_unpack, name_256_through_pointers)
{
	/* The length limit counts decompressed bytes: 12 holds a 129-byte
	 * name; 63+1 + 62+1 + 129 = 256 is refused, 255 accepted. */
	struct pkt p;
	uint8_t out[VD_DNS_NAME_MAX];
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	p_label_n(&p, 63, 'q');
	p_label_n(&p, 63, 'q');
	p_u8(&p, 0);
	size_t s = p.len;
	p_label_n(&p, 63, 'r');
	p_label_n(&p, 62, 'r');
	p_ptr(&p, 12);
	cr_assert_eq(unpack_at(&p, s, out, true, NULL), -EBADMSG);
	p.len = s;
	p_label_n(&p, 63, 'r');
	p_label_n(&p, 61, 'r');
	p_ptr(&p, 12);
	cr_assert_eq(unpack_at(&p, s, out, true, NULL), 255);
}

Test(name_unpack, reserved_0x80_and_truncation)
{
	struct pkt p;
	uint8_t out[VD_DNS_NAME_MAX];
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	p_u8(&p, 0x81);
	p_u8(&p, 'a');
	p_u8(&p, 0);
	cr_assert_eq(unpack_at(&p, 12, out, true, NULL), -EBADMSG);

	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	p_labels(&p, "abc", 0); /* no root label */
	cr_assert_eq(unpack_at(&p, 12, out, true, NULL), -EMSGSIZE);
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	p_u8(&p, 5);
	p_u8(&p, 'a');
	cr_assert_eq(unpack_at(&p, 12, out, true, NULL), -EMSGSIZE);
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	p_u8(&p, 0xc0); /* half a pointer */
	cr_assert_eq(unpack_at(&p, 12, out, true, NULL), -EMSGSIZE);
}

Test(name_misc, valid_and_eq)
{
	cr_assert(vd_dns_name_valid(www_example_com, WWW_LEN));
	cr_assert_not(vd_dns_name_valid(www_example_com, WWW_LEN - 1));
	cr_assert_not(vd_dns_name_valid(www_example_com, 0));
	cr_assert(vd_dns_name_eq((const uint8_t *)"\3WwW\0", 5,
				 (const uint8_t *)"\3www\0", 5));
	cr_assert_not(vd_dns_name_eq((const uint8_t *)"\3wwx\0", 5,
				     (const uint8_t *)"\3www\0", 5));
}
