/*
 * Loading, attaching and feeding the XDP program (see xdp.h for the
 * lifecycle and crash policy).
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "core/clock.h"
#include "core/log.h"
#include "dataplane/xdp/xdp.h"
#include "vd_xdp.skel.h"

struct xdp_iface {
	char name[VD_XDP_IFNAME_MAX];
	int ifindex;
	int link_fd;
	bool native;
};

struct vd_xdp {
	struct vd_xdp_bpf *skel;
	struct vd_cache *cache;
	struct ring_buffer *rb;
	int mirror_fd;
	uint32_t active; /* the half of ACL and settings in use (maps.h) */
	/* The mirror's slots, mapped (vd_xdp_slots_*; written under lock). */
	void *slots_mem;
	size_t slots_len;
	struct vd_xdp_slots slots;
	uint64_t seed; /* of the mirror's key hash, = rodata vd_hash_seed */
	unsigned max_answer;
	/* load-time settings the running program was built with */
	uint16_t edns_size;
	uint8_t nsid[VD_XDP_NSID_MAX + 1];
	uint32_t nsid_len;
	unsigned map_entries;
	struct xdp_iface ifaces[VD_XDP_MAX_IFACES];
	size_t n_ifaces;
	/* Serialises the slot writers: observer calls, the fill (per entry)
	 * and the expiry sweep. */
	pthread_mutex_t lock;
	bool needs_fill;     /* started, vd_xdp_fill not run yet */
	uint64_t *fill_seen; /* while filling: keys the observer handled */
	struct vd_xdp_entry scratch; /* mirror_put's value, under lock */
	_Atomic uint64_t mirrored, skipped, removed, failures;
	/* prefetch drain */
	vd_xdp_prefetch_fn pf_fn;
	void *pf_arg;
	size_t pf_count;
};

static const char *const counter_names[] = {
#define VD_XDP_CTR_NAME(id, name) name,
	VD_XDP_COUNTERS(VD_XDP_CTR_NAME)
#undef VD_XDP_CTR_NAME
};

const char *vd_xdp_counter_name(unsigned i)
{
	return i < VD_XDP_CTR_MAX ? counter_names[i] : NULL;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_WARN) {
		char buf[512];
		vsnprintf(buf, sizeof(buf), fmt, ap);
		buf[strcspn(buf, "\n")] = '\0';
		vd_log(VD_LOG_WARNING, "libbpf: %s", buf);
	}
	return 0;
}

/* ---- the mirror ------------------------------------------------------- */

/* Memory writes only (the slots are mapped): no syscall per entry. */
static void mirror_put(struct vd_xdp *x, const struct vd_cache_entry *e)
{
	uint64_t k;
	struct vd_xdp_entry *v = &x->scratch;
	int rc = vd_xdp_entry_build(e->key, e->key_len, e->wire, &e->meta,
				    e->ttl_offs, e->stored_ns, e->expire_ns,
				    x->max_answer, x->seed, &k, v);
	if (rc != 0) {
		/* A replacement may have made a mirrored key unfit
		 * (SERVFAIL over an answer): the old value must go. */
		atomic_fetch_add(&x->skipped, 1);
		struct vd_xdp_qkey qk;
		if (vd_xdp_qkey_from_key(e->key, e->key_len, &qk) == 0)
			(void)vd_xdp_slots_del(&x->slots, &qk,
					       vd_xdp_qkey_hash(&qk, x->seed));
		return;
	}
	if (vd_xdp_slots_put(&x->slots, v, vd_now_ns()) < 0) {
		/* Its set is full of names XDP serves: this one stays on the
		 * socket path (mirror.c, admission). */
		atomic_fetch_add(&x->failures, 1);
		return;
	}
	atomic_fetch_add(&x->mirrored, 1);
}

/* The full key is compared: a hash collision never removes another
 * name's slot. */
static void mirror_del(struct vd_xdp *x, const struct vd_cache_entry *e)
{
	struct vd_xdp_qkey qk;
	if (vd_xdp_qkey_from_key(e->key, e->key_len, &qk) != 0)
		return;
	if (vd_xdp_slots_del(&x->slots, &qk, vd_xdp_qkey_hash(&qk, x->seed)) == 0)
		atomic_fetch_add(&x->removed, 1);
}

/*
 * The initial fill (vd_xdp_fill) walks the cache while the observer is
 * already installed and takes x->lock per entry, not for the walk: the
 * observer runs under the cache's writer mutex, so a lock held for the
 * whole walk (O(entries)) stalled every worker storing an answer.  The
 * price is ordering: the walk may hold an entry the observer has since
 * replaced or removed (a flush) and must not write it back.  So while the
 * fill runs, the observer marks each key it handles in a bitmap (by key
 * hash; a false positive only leaves a name to its next insert), and the
 * walk skips marked keys: whatever the observer did for them is newer.
 * Keys not marked when the walk writes them (under x->lock) have had no
 * event since the observer was installed, so the walk's entry is current.
 */
#define FILL_BITS (1u << 20)

static bool fill_mark(struct vd_xdp *x, const struct vd_cache_entry *e,
		      bool set)
{
	if (!x->fill_seen)
		return false;
	uint32_t b = (uint32_t)e->hash & (FILL_BITS - 1);
	uint64_t bit = 1ull << (b & 63);
	bool was = (x->fill_seen[b / 64] & bit) != 0;
	if (set)
		x->fill_seen[b / 64] |= bit;
	return was;
}

static void observe(void *arg, enum vd_cache_event ev,
		    const struct vd_cache_entry *e)
{
	struct vd_xdp *x = arg;
	pthread_mutex_lock(&x->lock);
	(void)fill_mark(x, e, true);
	if (ev == VD_CACHE_EV_INSERT)
		mirror_put(x, e);
	else
		mirror_del(x, e);
	pthread_mutex_unlock(&x->lock);
}

static int fill_one(void *arg, const struct vd_cache_entry *e)
{
	struct vd_xdp *x = arg;
	pthread_mutex_lock(&x->lock);
	if (!fill_mark(x, e, false))
		mirror_put(x, e);
	pthread_mutex_unlock(&x->lock);
	return 0;
}

uint64_t vd_xdp_key_hits(struct vd_xdp *x, const uint8_t *key,
			 size_t key_len)
{
	struct vd_xdp_qkey qk;
	if (!x || vd_xdp_qkey_from_key(key, key_len, &qk) != 0)
		return 0;
	pthread_mutex_lock(&x->lock);
	uint64_t h = vd_xdp_slots_hits(&x->slots, &qk,
				       vd_xdp_qkey_hash(&qk, x->seed));
	pthread_mutex_unlock(&x->lock);
	return h;
}

int vd_xdp_fill(struct vd_xdp *x)
{
	if (!x || !x->needs_fill)
		return 0;
	uint64_t *seen = calloc(FILL_BITS / 64, sizeof(uint64_t));
	if (!seen)
		return -ENOMEM;
	pthread_mutex_lock(&x->lock);
	x->fill_seen = seen;
	x->needs_fill = false;
	pthread_mutex_unlock(&x->lock);
	vd_cache_foreach(x->cache, fill_one, x);
	pthread_mutex_lock(&x->lock);
	x->fill_seen = NULL;
	pthread_mutex_unlock(&x->lock);
	free(seen);
	return 0;
}

/* ---- run-time maps ------------------------------------------------------ */

/* Deletes every key of fd that keep() refuses.  Keys are collected first:
 * deleting while walking restarts the walk on hash maps. */
static void prune_map(int fd, size_t key_size, size_t max,
		      bool (*keep)(const void *key, const void *arg),
		      const void *arg)
{
	uint8_t *keys = calloc(max, key_size);
	uint8_t cur[64];
	size_t n = 0;
	if (!keys || key_size > sizeof(cur)) {
		free(keys);
		return;
	}
	void *prev = NULL;
	while (n < max && bpf_map_get_next_key(fd, prev, keys + n * key_size) == 0) {
		memcpy(cur, keys + n * key_size, key_size);
		prev = cur;
		n++;
	}
	for (size_t i = 0; i < n; i++)
		if (!keep(keys + i * key_size, arg))
			(void)bpf_map_delete_elem(fd, keys + i * key_size);
	free(keys);
}

struct key_set {
	const void *keys;
	size_t n;
	size_t size;
};

static bool in_set(const void *key, const void *arg)
{
	const struct key_set *ks = arg;
	for (size_t i = 0; i < ks->n; i++)
		if (memcmp((const uint8_t *)ks->keys + i * ks->size, key,
			   ks->size) == 0)
			return true;
	return false;
}

static int set_vips(struct vd_xdp *x, const struct vd_xdp_opts *o)
{
	struct vd_xdp_vip vips[VD_XDP_MAX_VIPS];
	size_t n = 0;
	uint32_t one = 1;
	int fd = bpf_map__fd(x->skel->maps.vd_xdp_vips);
	for (size_t i = 0; i < o->n_vips && n < VD_XDP_MAX_VIPS; i++) {
		if (vd_xdp_vip_from_sa(&o->vips[i], &vips[n]) != 0)
			continue;
		if (bpf_map_update_elem(fd, &vips[n], &one, BPF_ANY) != 0)
			return -errno;
		n++;
	}
	struct key_set ks = {vips, n, sizeof(vips[0])};
	prune_map(fd, sizeof(struct vd_xdp_vip), VD_XDP_MAX_VIPS * 2, in_set, &ks);
	return 0;
}

/* Fills the trie of the given half (the inactive one: see vd_xdp_maps.h). */
static int set_acl(struct vd_xdp *x, const struct vd_xdp_opts *o, uint32_t half)
{
	static struct vd_xdp_acl_key keys[VD_XDP_MAX_ACL];
	size_t n = 0;
	int fd = bpf_map__fd(half ? x->skel->maps.vd_xdp_acl1
				  : x->skel->maps.vd_xdp_acl0);
	const struct vd_acl *acl = o->acl;
	/* The default action is the /0 of each family. */
	for (int fam = 0; fam < 2; fam++) {
		struct vd_xdp_acl_key *k = &keys[n++];
		memset(k, 0, sizeof(*k));
		k->prefixlen = 8;
		k->family = fam ? 6 : 4;
		uint32_t act = acl ? acl->default_action : VD_ACL_ALLOW;
		if (bpf_map_update_elem(fd, k, &act, BPF_ANY) != 0)
			return -errno;
	}
	for (size_t i = 0; acl && i < acl->n_rules && n < VD_XDP_MAX_ACL; i++) {
		const struct vd_acl_rule *r = &acl->rules[i];
		struct vd_xdp_acl_key *k = &keys[n];
		memset(k, 0, sizeof(*k));
		k->family = r->family == AF_INET ? 4 : 6;
		k->prefixlen = 8u + r->prefix_len;
		memcpy(k->addr, r->addr, r->family == AF_INET ? 4 : 16);
		uint32_t act = r->action;
		if (bpf_map_update_elem(fd, k, &act, BPF_ANY) != 0)
			return -errno;
		n++;
	}
	struct key_set ks = {keys, n, sizeof(keys[0])};
	prune_map(fd, sizeof(struct vd_xdp_acl_key), VD_XDP_MAX_ACL * 2, in_set,
		  &ks);
	return 0;
}

static int set_conf(struct vd_xdp *x, const struct vd_xdp_opts *o,
		    uint32_t half)
{
	struct vd_xdp_conf c;
	vd_xdp_conf_build(o, &c);
	if (bpf_map_update_elem(bpf_map__fd(x->skel->maps.vd_xdp_config),
				&half, &c, BPF_ANY) != 0)
		return -errno;
	return 0;
}

/*
 * The run-time tables.  The VIP map is filled first (a superset of what
 * either half's settings use while it changes).  The ACL trie and the
 * settings go into the inactive half, complete, and one write of
 * vd_xdp_active switches the program to them: no packet sees old and new
 * rules mixed.  On failure the active half stays as it was.
 */
static int set_tables(struct vd_xdp *x, const struct vd_xdp_opts *o)
{
	uint32_t zero = 0;
	uint32_t half = x->active ^ 1;
	int rc;
	if ((rc = set_vips(x, o)) != 0 || (rc = set_acl(x, o, half)) != 0 ||
	    (rc = set_conf(x, o, half)) != 0)
		return rc;
	if (bpf_map_update_elem(bpf_map__fd(x->skel->maps.vd_xdp_active),
				&zero, &half, BPF_ANY) != 0)
		return -errno;
	x->active = half;
	return 0;
}

/* ---- attach ------------------------------------------------------------- */

/* Records the interface's MAC for the program, which answers only frames
 * addressed to it (vd_xdp_ifmac).  Read once at attach: a MAC changed
 * later (rare on a VIP's uplink) makes the program pass everything there
 * until the next attach, never answer for another host. */
static int set_ifmac(struct vd_xdp *x, const struct xdp_iface *ifc)
{
	struct ifreq ifr;
	struct vd_xdp_ifmac m;
	int rc = 0;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifc->name);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
		rc = -errno;
		goto out;
	}
	memset(&m, 0, sizeof(m));
	memcpy(m.mac, ifr.ifr_hwaddr.sa_data, sizeof(m.mac));
	uint32_t idx = (uint32_t)ifc->ifindex;
	if (bpf_map_update_elem(bpf_map__fd(x->skel->maps.vd_xdp_ifmacs), &idx,
				&m, BPF_ANY) != 0)
		rc = -errno;
out:
	close(fd);
	return rc;
}

static int attach_one(struct vd_xdp *x, struct xdp_iface *ifc,
		      enum vd_xdp_mode mode)
{
	int prog_fd = bpf_program__fd(x->skel->progs.vd_xdp_main);
	ifc->ifindex = (int)if_nametoindex(ifc->name);
	if (ifc->ifindex == 0) {
		int e = errno;
		vd_log(VD_LOG_ERR, "xdp: interface %s: %s", ifc->name, strerror(e));
		return -e;
	}
	int rc = set_ifmac(x, ifc);
	if (rc != 0) {
		vd_log(VD_LOG_ERR, "xdp: cannot read the MAC of %s: %s",
		       ifc->name, strerror(-rc));
		return rc;
	}
	LIBBPF_OPTS(bpf_link_create_opts, lo);
	lo.flags = mode == VD_XDP_MODE_GENERIC ? XDP_FLAGS_SKB_MODE
					       : XDP_FLAGS_DRV_MODE;
	int fd = bpf_link_create(prog_fd, ifc->ifindex, BPF_XDP, &lo);
	if (fd < 0 && mode == VD_XDP_MODE_AUTO) {
		vd_log(VD_LOG_WARNING,
		       "xdp: %s has no native XDP (%s): using generic mode, "
		       "which is much slower",
		       ifc->name, strerror(errno));
		lo.flags = XDP_FLAGS_SKB_MODE;
		fd = bpf_link_create(prog_fd, ifc->ifindex, BPF_XDP, &lo);
	}
	if (fd < 0) {
		int e = errno;
		vd_log(VD_LOG_ERR, "xdp: cannot attach to %s: %s", ifc->name,
		       strerror(e));
		uint32_t idx = (uint32_t)ifc->ifindex;
		(void)bpf_map_delete_elem(
			bpf_map__fd(x->skel->maps.vd_xdp_ifmacs), &idx);
		return -e;
	}
	ifc->link_fd = fd;
	ifc->native = lo.flags == XDP_FLAGS_DRV_MODE;
	vd_log(VD_LOG_NOTICE, "xdp: attached to %s (%s mode)", ifc->name,
	       ifc->native ? "native" : "generic");
	return 0;
}

static void detach_one(struct vd_xdp *x, struct xdp_iface *ifc)
{
	if (ifc->link_fd >= 0) {
		close(ifc->link_fd);
		vd_log(VD_LOG_NOTICE, "xdp: detached from %s", ifc->name);
		uint32_t idx = (uint32_t)ifc->ifindex;
		(void)bpf_map_delete_elem(
			bpf_map__fd(x->skel->maps.vd_xdp_ifmacs), &idx);
	}
	ifc->link_fd = -1;
}

static bool wants_iface(const struct vd_xdp_opts *o, const char *name)
{
	for (size_t i = 0; i < o->n_ifaces; i++)
		if (strcmp(o->ifaces[i], name) == 0)
			return true;
	return false;
}

/* Attaches to the interfaces of o the program is not on yet, detaches
 * from the others.  A failing interface is logged and skipped. */
static void set_ifaces(struct vd_xdp *x, const struct vd_xdp_opts *o)
{
	size_t kept = 0;
	for (size_t i = 0; i < x->n_ifaces; i++) {
		if (wants_iface(o, x->ifaces[i].name))
			x->ifaces[kept++] = x->ifaces[i];
		else
			detach_one(x, &x->ifaces[i]);
	}
	x->n_ifaces = kept;
	for (size_t i = 0; i < o->n_ifaces && x->n_ifaces < VD_XDP_MAX_IFACES;
	     i++) {
		bool have = false;
		for (size_t j = 0; j < x->n_ifaces; j++)
			have |= strcmp(x->ifaces[j].name, o->ifaces[i]) == 0;
		if (have)
			continue;
		struct xdp_iface *ifc = &x->ifaces[x->n_ifaces];
		memset(ifc, 0, sizeof(*ifc));
		ifc->link_fd = -1;
		snprintf(ifc->name, sizeof(ifc->name), "%s", o->ifaces[i]);
		if (attach_one(x, ifc, o->mode) == 0)
			x->n_ifaces++;
	}
}

/* ---- start / stop ------------------------------------------------------- */

static void nsid_of(const struct vd_xdp_opts *o, uint8_t *buf, uint32_t *len)
{
	memset(buf, 0, VD_XDP_NSID_MAX + 1);
	if (!o->nsid || o->nsid_len == 0) {
		*len = 0;
	} else if (o->nsid_len > VD_XDP_NSID_MAX) {
		*len = VD_XDP_NSID_MAX + 1; /* the program passes NSID queries */
	} else {
		memcpy(buf, o->nsid, o->nsid_len);
		*len = o->nsid_len;
	}
}

static bool load_time_changed(const struct vd_xdp *x,
			      const struct vd_xdp_opts *o)
{
	uint8_t nsid[VD_XDP_NSID_MAX + 1];
	uint32_t nsid_len;
	nsid_of(o, nsid, &nsid_len);
	return x->edns_size != o->edns_size || x->nsid_len != nsid_len ||
	       memcmp(x->nsid, nsid, sizeof(nsid)) != 0 ||
	       x->map_entries != o->map_entries || x->max_answer != o->max_answer;
}

void vd_xdp_stop(struct vd_xdp *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n_ifaces; i++)
		detach_one(x, &x->ifaces[i]);
	x->n_ifaces = 0;
	/* After this returns no observer call runs or will run. */
	if (x->cache)
		vd_cache_set_observer(x->cache, NULL, NULL);
	ring_buffer__free(x->rb);
	if (x->slots_mem)
		munmap(x->slots_mem, x->slots_len);
	vd_xdp_bpf__destroy(x->skel);
	pthread_mutex_destroy(&x->lock);
	free(x);
}

static int prefetch_event(void *ctx, void *data, size_t size)
{
	struct vd_xdp *x = ctx;
	const struct vd_xdp_prefetch_req *r = data;
	if (size < sizeof(*r) || !x->pf_fn)
		return 0;
	uint8_t key[VD_XDP_KEY_SIZE];
	size_t len = vd_xdp_key_from_qkey(&r->key, key);
	if (len == 0)
		return 0;
	x->pf_fn(x->pf_arg, key, len);
	x->pf_count++;
	return 0;
}

static int start(struct vd_xdp **xp, const struct vd_xdp_opts *o,
		 struct vd_cache *cache)
{
	int rc;
	struct vd_xdp *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	pthread_mutex_init(&x->lock, NULL);
	libbpf_set_print(libbpf_quiet);

	x->skel = vd_xdp_bpf__open();
	if (!x->skel) {
		rc = -errno;
		vd_log(VD_LOG_ERR, "xdp: cannot open the program: %s",
		       strerror(-rc));
		goto fail;
	}
	x->edns_size = o->edns_size;
	x->map_entries = o->map_entries ? o->map_entries : VD_XDP_MIRROR_ENTRIES;
	x->max_answer = o->max_answer;
	nsid_of(o, x->nsid, &x->nsid_len);
	if (getrandom(&x->seed, sizeof(x->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(x->seed))
		x->seed = (uint64_t)vd_now_ns() ^ (uint64_t)getpid() << 32;
	x->skel->rodata->vd_hash_seed = x->seed;
	x->skel->rodata->vd_edns_size = o->edns_size;
	x->skel->rodata->vd_nsid_len = x->nsid_len;
	memcpy((void *)x->skel->rodata->vd_nsid, x->nsid, VD_XDP_NSID_MAX);
	x->skel->rodata->vd_nsid_csum =
		vd_xdp_csum16(x->nsid, x->nsid_len > VD_XDP_NSID_MAX
					       ? 0
					       : x->nsid_len);
	uint32_t n_slots = vd_xdp_slots_for(x->map_entries);
	x->skel->rodata->vd_set_mask = n_slots / VD_XDP_WAYS - 1;
	bpf_map__set_max_entries(x->skel->maps.vd_xdp_mirror, n_slots);
	rc = vd_xdp_bpf__load(x->skel);
	if (rc != 0) {
		vd_log(VD_LOG_ERR, "xdp: the kernel refused the program: %s",
		       strerror(-rc));
		goto fail;
	}
	x->mirror_fd = bpf_map__fd(x->skel->maps.vd_xdp_mirror);
	long page = sysconf(_SC_PAGESIZE);
	x->slots_len = ((size_t)n_slots * sizeof(struct vd_xdp_entry) +
			(size_t)page - 1) & ~((size_t)page - 1);
	void *mem = mmap(NULL, x->slots_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 x->mirror_fd, 0);
	if (mem == MAP_FAILED) {
		rc = -errno;
		vd_log(VD_LOG_ERR, "xdp: cannot map the mirror: %s",
		       strerror(-rc));
		goto fail;
	}
	x->slots_mem = mem;
	(void)vd_xdp_slots_init(&x->slots, mem, n_slots);
	x->rb = ring_buffer__new(bpf_map__fd(x->skel->maps.vd_xdp_prefetch),
				 prefetch_event, x, NULL);
	if (!x->rb) {
		rc = -errno;
		goto fail;
	}
	if ((rc = set_tables(x, o)) != 0) {
		vd_log(VD_LOG_ERR, "xdp: cannot fill the maps: %s", strerror(-rc));
		goto fail;
	}
	/* Observer now; the walk of what the cache holds already is
	 * vd_xdp_fill's, which the caller runs outside its own locks. */
	x->cache = cache;
	x->needs_fill = true;
	vd_cache_set_observer(cache, observe, x);
	set_ifaces(x, o);
	if (x->n_ifaces == 0) {
		rc = -ENODEV;
		vd_log(VD_LOG_ERR, "xdp: attached to no interface");
		goto fail;
	}
	*xp = x;
	return 0;
fail:
	vd_xdp_stop(x);
	return rc;
}

int vd_xdp_apply(struct vd_xdp **xp, const struct vd_xdp_opts *o,
		 struct vd_cache *cache)
{
	struct vd_xdp *x = *xp;
	if (o->n_ifaces == 0) {
		vd_xdp_stop(x);
		*xp = NULL;
		return 0;
	}
	if (x && load_time_changed(x, o)) {
		vd_log(VD_LOG_NOTICE, "xdp: load-time settings changed: "
				      "reloading the program");
		vd_xdp_stop(x);
		*xp = x = NULL;
	}
	if (!x)
		return start(xp, o, cache);
	int rc;
	if ((rc = set_tables(x, o)) != 0) {
		vd_log(VD_LOG_ERR, "xdp: cannot update the maps: %s; stopping",
		       strerror(-rc));
		vd_xdp_stop(x);
		*xp = NULL;
		return rc;
	}
	set_ifaces(x, o);
	return 0;
}

size_t vd_xdp_drain_prefetch(struct vd_xdp *x, vd_xdp_prefetch_fn fn,
			     void *arg)
{
	if (!x)
		return 0;
	x->pf_fn = fn;
	x->pf_arg = arg;
	x->pf_count = 0;
	(void)ring_buffer__consume(x->rb);
	/* Expired slots go at expiry, not when the cache drops the entry
	 * (expiry + stale window): a share of the slots per tick. */
	pthread_mutex_lock(&x->lock);
	x->removed += vd_xdp_slots_sweep(&x->slots, vd_now_ns(),
					 x->slots.n_slots / 8 + 1);
	pthread_mutex_unlock(&x->lock);
	return x->pf_count;
}

int vd_xdp_get_counters(struct vd_xdp *x, uint64_t out[VD_XDP_CTR_MAX])
{
	memset(out, 0, sizeof(uint64_t) * VD_XDP_CTR_MAX);
	if (!x)
		return -ENODEV;
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return -EINVAL;
	uint64_t *vals = calloc((size_t)ncpu, sizeof(uint64_t));
	if (!vals)
		return -ENOMEM;
	int fd = bpf_map__fd(x->skel->maps.vd_xdp_counters);
	for (uint32_t i = 0; i < VD_XDP_CTR_MAX; i++) {
		if (bpf_map_lookup_elem(fd, &i, vals) != 0)
			continue;
		for (int c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	free(vals);
	return 0;
}

void vd_xdp_get_mirror_stats(struct vd_xdp *x, struct vd_xdp_mirror_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!x)
		return;
	st->mirrored = atomic_load(&x->mirrored);
	st->skipped = atomic_load(&x->skipped);
	st->removed = atomic_load(&x->removed);
	st->failures = atomic_load(&x->failures);
}

size_t vd_xdp_attached(const struct vd_xdp *x)
{
	return x ? x->n_ifaces : 0;
}
