/*
 * A reload switches the XDP program's ACL at once (review 15): the real
 * loader (vd_xdp_apply) runs in a private network namespace, attached to
 * its loopback in generic mode, and goes from ACL A to ACL B and back.
 * This file interposes libbpf's bpf_map_update_elem/bpf_map_delete_elem
 * (it defines them; the loader's calls bind to these), performs each map
 * write for real, and after every single write asks the attached program,
 * through BPF_PROG_TEST_RUN, about two clients:
 *
 *   c1 192.0.2.10     A: allowed   B: refused
 *   c2 198.51.100.7   A: refused   B: allowed
 *
 * Every moment must be all A or all B; a moment where both (or neither)
 * are allowed is a mixed table, the defect.  Both ACLs have more rules
 * than the program's small table, so the LPM trie is in use.
 *
 * Needs root (unshare, CAP_BPF, CAP_NET_ADMIN); exits 77 (skip) without.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <urcu.h>

#include "acl/acl.h"
#include "cache/cache.h"
#include "dataplane/xdp/xdp.h"

/* ---- the probe ------------------------------------------------------------ */

static int prog_fd = -1, ctr_fd = -1;
static bool observing;
static int steps, mixed;
static int state_a[2] = {1, 0}, state_b[2] = {0, 1};

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t s)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* A query for probe.test A from src to 203.0.113.1:53, to lo's MAC (all
 * zero), checksums right. */
static size_t probe_frame(uint8_t *f, const char *src)
{
	static const uint8_t dns[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0,
				      0, 0, 5, 'p', 'r', 'o', 'b', 'e', 4, 't',
				      'e', 's', 't', 0, 0, 1, 0, 1};
	size_t dl = sizeof(dns);
	memset(f, 0, 14);
	f[6] = 2; /* source MAC 02:00:00:00:00:01 */
	f[11] = 1;
	f[12] = 0x08;
	uint8_t *ip = f + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + 8 + dl) >> 8);
	ip[3] = (uint8_t)(20 + 8 + dl);
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 17;
	inet_pton(AF_INET, src, ip + 12);
	inet_pton(AF_INET, "203.0.113.1", ip + 16);
	uint16_t c = (uint16_t)~fold(sum16(ip, 20, 0));
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	uint8_t *u = ip + 20;
	u[0] = 40000 >> 8;
	u[1] = 40000 & 0xff;
	u[2] = 0;
	u[3] = 53;
	u[4] = (uint8_t)((8 + dl) >> 8);
	u[5] = (uint8_t)(8 + dl);
	u[6] = u[7] = 0;
	memcpy(u + 8, dns, dl);
	uint32_t s = sum16(ip + 12, 8, 0) + 17 + (uint32_t)(8 + dl);
	c = (uint16_t)~fold(sum16(u, 8 + dl, s));
	u[6] = (uint8_t)(c >> 8);
	u[7] = (uint8_t)c;
	return 14 + 20 + 8 + dl;
}

static uint64_t acl_count(void)
{
	static uint64_t vals[1024];
	uint32_t k = VD_XDP_CTR_ACL;
	uint64_t n = 0;
	int ncpu = libbpf_num_possible_cpus();
	/* a plain lookup: not interposed */
	if (bpf_map_lookup_elem(ctr_fd, &k, vals) != 0)
		return 0;
	for (int c = 0; c < ncpu && c < 1024; c++)
		n += vals[c];
	return n;
}

/* 1 when the program lets src past the ACL (a miss), 0 when it refuses. */
static int allowed(const char *src)
{
	uint8_t in[128], out[256];
	size_t len = probe_frame(in, src);
	uint64_t before = acl_count();
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in,
		    .data_size_in = (uint32_t)len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);
	if (bpf_prog_test_run_opts(prog_fd, &o) != 0) {
		perror("test run");
		exit(1);
	}
	return acl_count() == before;
}

static void observe(void)
{
	int st[2] = {allowed("192.0.2.10"), allowed("198.51.100.7")};
	steps++;
	if (memcmp(st, state_a, sizeof(st)) != 0 &&
	    memcmp(st, state_b, sizeof(st)) != 0) {
		mixed++;
		printf("  mixed after map write %d: c1 %s, c2 %s\n", steps,
		       st[0] ? "allowed" : "refused", st[1] ? "allowed" : "refused");
	}
}

/* ---- interposed libbpf calls ------------------------------------------- */

int bpf_map_update_elem(int fd, const void *key, const void *value,
			__u64 flags)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_fd = (__u32)fd;
	a.key = (__u64)(unsigned long)key;
	a.value = (__u64)(unsigned long)value;
	a.flags = flags;
	if (syscall(__NR_bpf, BPF_MAP_UPDATE_ELEM, &a, sizeof(a)) != 0)
		return -errno;
	if (observing)
		observe();
	return 0;
}

int bpf_map_delete_elem(int fd, const void *key)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_fd = (__u32)fd;
	a.key = (__u64)(unsigned long)key;
	if (syscall(__NR_bpf, BPF_MAP_DELETE_ELEM, &a, sizeof(a)) != 0)
		return -errno;
	if (observing)
		observe();
	return 0;
}

/* ---- setup --------------------------------------------------------------- */

/* ACL with default refuse, allow NET/24, and 10 unrelated rules (more
 * than VD_XDP_FAST_ACL: the trie is used). */
static void make_acl(struct vd_acl *acl, const char *net)
{
	char spec[64], err[128];
	vd_acl_init(acl, VD_ACL_REFUSE);
	snprintf(spec, sizeof(spec), "%s/24 allow", net);
	if (vd_acl_add_str(acl, spec, err, sizeof(err)) != 0)
		abort();
	for (int i = 0; i < 10; i++) {
		snprintf(spec, sizeof(spec), "10.%d.0.0/16 drop", i);
		if (vd_acl_add_str(acl, spec, err, sizeof(err)) != 0)
			abort();
	}
}

static int find_program(void)
{
	int ifindex = (int)if_nametoindex("lo");
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	if (bpf_xdp_query(ifindex, 0, &q) != 0)
		return -1;
	__u32 id = q.skb_prog_id ? q.skb_prog_id : q.prog_id;
	prog_fd = bpf_prog_get_fd_by_id(id);
	if (prog_fd < 0)
		return -1;
	__u32 ids[64];
	struct bpf_prog_info info;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = 64;
	info.map_ids = (__u64)(unsigned long)ids;
	__u32 len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0)
		return -1;
	for (__u32 i = 0; i < info.nr_map_ids && i < 64; i++) {
		int fd = bpf_map_get_fd_by_id(ids[i]);
		struct bpf_map_info mi;
		__u32 ml = sizeof(mi);
		memset(&mi, 0, sizeof(mi));
		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &mi, &ml) == 0 &&
		    strcmp(mi.name, "vd_xdp_counters") == 0) {
			ctr_fd = fd;
			return 0;
		}
		if (fd >= 0)
			close(fd);
	}
	return -1;
}

int main(void)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
		printf("needs root (unshare a network namespace): skipped\n");
		return 77;
	}
	/* lo up in the private namespace */
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
	if (s < 0 || ioctl(s, SIOCSIFFLAGS, &ifr) != 0) {
		perror("lo up");
		return 1;
	}
	close(s);
	rcu_register_thread();
	struct vd_cache_opts co = {.max_bytes = 1 << 20};
	struct vd_cache *cache = vd_cache_create(&co);
	static struct vd_acl a, b;
	make_acl(&a, "192.0.2.0");
	make_acl(&b, "198.51.100.0");

	static struct vd_xdp_opts o;
	memset(&o, 0, sizeof(o));
	snprintf(o.ifaces[0], sizeof(o.ifaces[0]), "lo");
	o.n_ifaces = 1;
	o.mode = VD_XDP_MODE_GENERIC;
	struct sockaddr_in *v = (struct sockaddr_in *)&o.vips[0];
	v->sin_family = AF_INET;
	v->sin_port = htons(53);
	inet_pton(AF_INET, "203.0.113.1", &v->sin_addr);
	o.n_vips = 1;
	o.acl = &a;
	o.edns_size = 1232;
	o.max_answer = 1232;
	o.map_entries = 1024;

	struct vd_xdp *x = NULL;
	int passed = 0, failed = 0;
	if (!cache || vd_xdp_apply(&x, &o, cache) != 0 || find_program() != 0) {
		printf("cannot start the fast path on lo\n0 passed, 1 failed\n");
		return 1;
	}
	int st[2] = {allowed("192.0.2.10"), allowed("198.51.100.7")};
	bool ok = memcmp(st, state_a, sizeof(st)) == 0;
	printf("%s ACL A in force after start\n", ok ? "ok  " : "FAIL");
	ok ? passed++ : failed++;

	const struct vd_acl *seq[] = {&b, &a, &b};
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		const int *want = seq[i] == &a ? state_a : state_b;
		o.acl = seq[i];
		steps = mixed = 0;
		observing = true;
		int rc = vd_xdp_apply(&x, &o, cache);
		observing = false;
		st[0] = allowed("192.0.2.10");
		st[1] = allowed("198.51.100.7");
		/* steps > 0: the interposition saw the loader's writes (else
		 * this test would prove nothing) */
		ok = rc == 0 && x && steps > 0 && mixed == 0 &&
		     memcmp(st, want, sizeof(st)) == 0;
		printf("%s reload to ACL %s: %d map writes, each moment all old "
		       "or all new (%d mixed)\n", ok ? "ok  " : "FAIL",
		       seq[i] == &a ? "A" : "B", steps, mixed);
		ok ? passed++ : failed++;
	}
	vd_xdp_stop(x);
	vd_cache_destroy(cache);
	rcu_unregister_thread();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
