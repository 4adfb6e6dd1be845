/* mirror.c: the slots of the XDP mirror (admission, replacement, expiry,
 * the seqlock's write side), on plain memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "dataplane/xdp/xdp.h"

#define N_SLOTS 64 /* 16 sets of 4 */
#define NOW 1000000000000ULL

static struct vd_xdp_entry mem[N_SLOTS];
static struct vd_xdp_slots t;

static void setup(void)
{
	memset(mem, 0, sizeof(mem));
	cr_assert_eq(vd_xdp_slots_init(&t, mem, N_SLOTS), 0);
}

/* An entry of name number n whose hash falls into set `set`. */
static struct vd_xdp_entry entry(unsigned n, unsigned set, uint64_t stored,
				 uint64_t expire)
{
	struct vd_xdp_entry v;
	memset(&v, 0, sizeof(v));
	v.khash = (uint64_t)set | (uint64_t)(n + 1) << 32;
	v.qkey.name_len = 4;
	v.qkey.name[0] = 2;
	v.qkey.name[1] = (uint8_t)('a' + n % 26);
	v.qkey.name[2] = (uint8_t)('a' + n / 26);
	v.stored_ns = stored;
	v.expire_ns = expire;
	return v;
}

TestSuite(mirror, .init = setup);

Test(mirror, sizes)
{
	struct vd_xdp_slots x;
	cr_expect_eq(vd_xdp_slots_init(&x, mem, 48), -EINVAL);
	cr_expect_eq(vd_xdp_slots_init(&x, mem, 2), -EINVAL);
	cr_expect_eq(vd_xdp_slots_for(1024), 1024u);
	cr_expect_eq(vd_xdp_slots_for(1025), 2048u);
	cr_expect_eq(vd_xdp_slots_for(1), (uint32_t)VD_XDP_WAYS);
}

Test(mirror, put_del_and_the_seqlock_count)
{
	struct vd_xdp_entry v = entry(0, 3, NOW, NOW + 300);
	int i = vd_xdp_slots_put(&t, &v, NOW);
	cr_assert(i >= 12 && i < 16, "slot %d is in set 3", i);
	cr_expect_eq(mem[i].seq, 2u, "one write: odd, then even again");
	cr_expect_eq(mem[i].khash, v.khash);
	cr_expect_eq(vd_xdp_slots_used(&t, NOW), 1u);
	cr_expect_eq(vd_xdp_slots_del(&t, &v.qkey, v.khash), 0);
	cr_expect_eq(mem[i].seq, 4u);
	cr_expect_eq(mem[i].khash, 0u);
	cr_expect_eq(vd_xdp_slots_del(&t, &v.qkey, v.khash), -ENOENT);
	cr_expect_eq(vd_xdp_slots_put(&t, &(struct vd_xdp_entry){0}, NOW), -EINVAL);
}

Test(mirror, a_collision_is_not_the_same_key)
{
	struct vd_xdp_entry a = entry(0, 1, NOW, NOW + 300);
	struct vd_xdp_entry b = entry(1, 1, NOW, NOW + 300);
	b.khash = a.khash; /* same hash, other name */
	int ia = vd_xdp_slots_put(&t, &a, NOW);
	int ib = vd_xdp_slots_put(&t, &b, NOW);
	cr_expect_neq(ia, ib, "b does not overwrite a");
	cr_expect_eq(vd_xdp_slots_del(&t, &b.qkey, b.khash), 0);
	cr_expect_eq(mem[ia].khash, a.khash, "deleting b leaves a");
}

Test(mirror, refresh_in_place_keeps_half_the_hits)
{
	struct vd_xdp_entry v = entry(0, 2, NOW, NOW + 300);
	int i = vd_xdp_slots_put(&t, &v, NOW);
	mem[i].hits = 40; /* the program's count */
	v.stored_ns = NOW + 5;
	v.expire_ns = NOW + 600;
	cr_expect_eq(vd_xdp_slots_put(&t, &v, NOW + 5), i);
	cr_expect_eq(mem[i].hits, 20u);
	cr_expect_eq(mem[i].expire_ns, NOW + 600);
	cr_expect_eq(vd_xdp_slots_used(&t, NOW + 5), 1u);
}

Test(mirror, served_names_are_not_pushed_out)
{
	int idx[VD_XDP_WAYS];
	for (unsigned w = 0; w < VD_XDP_WAYS; w++) {
		struct vd_xdp_entry v = entry(w, 5, NOW + w, NOW + 300);
		idx[w] = vd_xdp_slots_put(&t, &v, NOW);
		cr_assert(idx[w] >= 0);
		mem[idx[w]].hits = 1;
	}
	/* a flood of new names finds no room */
	for (unsigned n = 10; n < 200; n++) {
		struct vd_xdp_entry v = entry(n, 5, NOW + n, NOW + 300);
		cr_expect_eq(vd_xdp_slots_put(&t, &v, NOW), -ENOSPC);
	}
	for (unsigned w = 0; w < VD_XDP_WAYS; w++)
		cr_expect_eq(mem[idx[w]].khash, entry(w, 5, 0, 0).khash);
	/* one of them never served: the oldest such goes first */
	mem[idx[2]].hits = 0;
	mem[idx[1]].hits = 0;
	struct vd_xdp_entry v = entry(300, 5, NOW + 300, NOW + 300);
	cr_expect_eq(vd_xdp_slots_put(&t, &v, NOW), idx[1]);
	struct vd_xdp_entry v2 = entry(301, 5, NOW + 301, NOW + 300);
	cr_expect_eq(vd_xdp_slots_put(&t, &v2, NOW), idx[2]);
}

Test(mirror, expired_slots_are_free_and_swept)
{
	for (unsigned w = 0; w < VD_XDP_WAYS; w++) {
		struct vd_xdp_entry v = entry(w, 7, NOW, NOW + 100 + w);
		int i = vd_xdp_slots_put(&t, &v, NOW);
		cr_assert(i >= 0);
		mem[i].hits = 9; /* even served ones */
	}
	/* past the first one's expiry, a new name takes its slot */
	struct vd_xdp_entry v = entry(50, 7, NOW + 100, NOW + 900);
	int i = vd_xdp_slots_put(&t, &v, NOW + 100);
	cr_expect_eq(mem[i].khash, v.khash);
	cr_expect_eq(mem[i].hits, 0u);
	cr_expect_eq(vd_xdp_slots_used(&t, NOW + 100), 4u);
	/* the sweep empties expired ones, a budget at a time */
	size_t gone = 0;
	for (int round = 0; round < N_SLOTS; round++)
		gone += vd_xdp_slots_sweep(&t, NOW + 103, 1);
	cr_expect_eq(gone, 3u);
	cr_expect_eq(vd_xdp_slots_used(&t, 0), 1u, "only the new name left");
	cr_expect_eq(vd_xdp_slots_sweep(&t, NOW + 103, N_SLOTS), 0u);
}
