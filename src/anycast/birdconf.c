#include "anycast/birdconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "anycast/tunnel.h"
#include "core/atomic_file.h"
#include "config/config.h"

/* BFD timers: 3 x 100 ms detects a dead peer in 300 ms, well inside the
 * 3 s the operators ask for, and is cheap at a few sessions per node. */
#define BFD_INTERVAL_MS 100
#define BFD_MULTIPLIER 3

/* "if net ~ [ a, b ] then return true;" for one family, nothing when the
 * family has no member (BIRD has no empty prefix set). */
static void set_test(FILE *out, const char *indent,
		     const struct vd_anycast_vip *vips, size_t n,
		     const bool *member, int family)
{
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		if (vips[i].family != family || (member && !member[i]))
			continue;
		if (!any)
			fprintf(out, "%sif net.type = %s then { if net ~ [ ", indent,
				family == AF_INET ? "NET_IP4" : "NET_IP6");
		else
			fprintf(out, ", ");
		fprintf(out, "%s", vips[i].prefix_str);
		any = true;
	}
	if (any)
		fprintf(out, " ] then return true; }\n");
}

void vd_anycast_bird_render_announce(FILE *out,
				     const struct vd_anycast_vip *vips,
				     size_t n, const bool *announce,
				     const bool *drain, const bool *degraded)
{
	bool gshut[VD_CONFIG_MAX_LIST], worse[VD_CONFIG_MAX_LIST];
	for (size_t i = 0; i < n && i < VD_CONFIG_MAX_LIST; i++) {
		gshut[i] = announce[i] && drain[i];
		worse[i] = announce[i] && degraded[i];
	}
	fprintf(out, "# Written by vipdnsd on every announce, withdraw and "
		     "drain; do not edit.\n"
		     "# Announced:");
	size_t shown = 0;
	for (size_t i = 0; i < n; i++)
		if (announce[i]) {
			fprintf(out, " %s%s%s", vips[i].prefix_str,
				drain[i] ? " (graceful shutdown)" : "",
				worse[i] ? " (degraded)" : "");
			shown++;
		}
	fprintf(out, "%s\nfunction vd_announced()\n{\n", shown ? "" : " none");
	set_test(out, "\t", vips, n, announce, AF_INET);
	set_test(out, "\t", vips, n, announce, AF_INET6);
	fprintf(out, "\treturn false;\n}\n\nfunction vd_draining()\n{\n");
	set_test(out, "\t", vips, n, gshut, AF_INET);
	set_test(out, "\t", vips, n, gshut, AF_INET6);
	fprintf(out, "\treturn false;\n}\n\nfunction vd_degraded()\n{\n");
	set_test(out, "\t", vips, n, worse, AF_INET);
	set_test(out, "\t", vips, n, worse, AF_INET6);
	fprintf(out, "\treturn false;\n}\n");
}

static void render_neighbor(FILE *out, size_t idx,
			    const struct vd_anycast_neighbor *nb,
			    const struct vd_anycast_tunnel *tun,
			    const struct vd_config *cfg)
{
	/* Over a tunnel: bound to its interface, from the node's inner
	 * address of the session's family, and IPv6 over IPv4 with the
	 * tunnel's inner6 as next hop (a real address the router's kernel
	 * installs, never an IPv4-mapped one). */
	const char *source = nb->source;
	const char *nh6 = nb->next_hop6;
	if (tun) {
		if (!source[0])
			source = nb->family == AF_INET ? tun->inner4.addr_str
						       : tun->inner6.addr_str;
		if (!nh6[0] && nb->family == AF_INET && tun->inner6.family)
			nh6 = tun->inner6.addr_str;
	}
	fprintf(out,
		"protocol bgp vd_peer%zu {\n"
		"\tdescription \"%s AS%u\";\n"
		"\tlocal%s%s as %u;\n"
		"\tneighbor %s as %u;\n",
		idx + 1, nb->addr, nb->remote_as, source[0] ? " " : "", source,
		(unsigned)cfg->bgp_local_as, nb->addr, nb->remote_as);
	if (tun)
		fprintf(out, "\tinterface \"%s\";\t# tunnel %s, mtu %u\n",
			tun->name, tun->kind == VD_TUNNEL_GRE ? "gre" : "ipsec",
			tun->mtu);
	if (nb->multihop) {
		if (nb->multihop_ttl)
			fprintf(out, "\tmultihop %u;\n", nb->multihop_ttl);
		else
			fprintf(out, "\tmultihop;\n");
	} else {
		fprintf(out, "\tdirect;\n");
	}
	if (nb->password[0])
		fprintf(out, "\tpassword \"%s\";\n", nb->password);
	if (nb->hold)
		fprintf(out, "\thold time %u;\n", nb->hold);
	if (nb->keepalive)
		fprintf(out, "\tkeepalive time %u;\n", nb->keepalive);
	if (nb->bfd)
		fprintf(out, "\tbfd on;\n");
	/* Never learn anything: import none.  Reconnect quickly after a
	 * BIRD or peer restart. */
	fprintf(out, "\tconnect retry time 2;\n"
		     "\terror wait time 1, 10;\n");
	if (nb->carry4)
		fprintf(out, "\tipv4 {\n\t\timport none;\n"
			     "\t\texport filter vd_export;\n"
			     "\t\tnext hop self;\n\t};\n");
	if (nb->carry6) {
		fprintf(out, "\tipv6 {\n\t\timport none;\n"
			     "\t\texport filter vd_export;\n");
		if (nh6[0])
			fprintf(out, "\t\tnext hop address %s;\n", nh6);
		else
			fprintf(out, "\t\tnext hop self;\n");
		fprintf(out, "\t};\n");
	}
	fprintf(out, "}\n\n");
}

int vd_anycast_bird_render(FILE *out, const struct vd_config *cfg,
			   const char *source, char *err, size_t errlen)
{
	struct vd_anycast_vip vips[VD_CONFIG_MAX_LIST];
	struct vd_anycast_neighbor nbs[VD_CONFIG_MAX_LIST];
	bool have4 = false, have6 = false, bfd = false, bfd_multihop = false;
	const char *why = NULL;

	for (size_t i = 0; i < cfg->n_vips; i++) {
		if (vd_anycast_vip_parse(cfg->vips[i], &vips[i], &why) != 0) {
			snprintf(err, errlen, "vip %s: %s", cfg->vips[i], why);
			return -EINVAL;
		}
		have4 |= vips[i].family == AF_INET;
		have6 |= vips[i].family == AF_INET6;
	}
	for (size_t i = 0; i < cfg->n_bgp_neighbors; i++) {
		if (vd_anycast_neighbor_parse(cfg->bgp_neighbors[i], &nbs[i],
					      &why) != 0) {
			snprintf(err, errlen, "bgp-neighbor %s: %s",
				 cfg->bgp_neighbors[i], why);
			return -EINVAL;
		}
		bfd |= nbs[i].bfd;
		bfd_multihop |= nbs[i].bfd && nbs[i].multihop;
	}
	if (!cfg->bgp_router_id[0]) {
		snprintf(err, errlen, "bgp-router-id is not set");
		return -EINVAL;
	}
	struct vd_anycast_degrade dg;
	if (vd_anycast_degrade_parse(cfg->health_degrade, &dg, &why) != 0) {
		snprintf(err, errlen, "health-degrade %s: %s",
			 cfg->health_degrade, why);
		return -EINVAL;
	}

	fprintf(out,
		"# BIRD 2 configuration generated by vipdnsd from %s.\n"
		"# Regenerate (vipdnsd --bird-config) instead of editing: "
		"vipdnsd\n# rewrites it at start and reload when bird-config "
		"is set.\n\n"
		"log stderr all;\n"
		"router id %s;\n\n"
		"# vd_announced(), vd_draining(), vd_degraded(): rewritten by "
		"vipdnsd.\n"
		"include \"%s\";\n\n",
		source, cfg->bgp_router_id, cfg->bird_announce_file);

	fprintf(out,
		"# The only prefixes this node may ever send; checked before "
		"the\n# include's answer, so no other route can leak.\n"
		"function vd_vip()\n{\n");
	set_test(out, "\t", vips, cfg->n_vips, NULL, AF_INET);
	set_test(out, "\t", vips, cfg->n_vips, NULL, AF_INET6);
	fprintf(out, "\treturn false;\n}\n\n");

	fprintf(out,
		"filter vd_export\n{\n"
		"\tif proto != \"vd_vips\" then reject;\n"
		"\tif !vd_vip() then reject;\n"
		"\tif !vd_announced() then reject;\n"
		"\t# RFC 8326 GRACEFUL_SHUTDOWN: peers lower the preference,\n"
		"\t# traffic moves away before the withdraw.\n"
		"\tif vd_draining() then bgp_community.add((65535, 0));\n");
	/* health-degrade: the sick VIP stays, but loses every tie. */
	if (dg.kind == VD_ANYCAST_DEGRADE_MED)
		fprintf(out, "\t# health-degrade: announced while unhealthy, "
			     "with a worse MED\n"
			     "\tif vd_degraded() then bgp_med = %u;\n",
			(unsigned)dg.value);
	else if (dg.kind == VD_ANYCAST_DEGRADE_PREPEND) {
		fprintf(out, "\t# health-degrade: announced while unhealthy, "
			     "with a longer AS path\n"
			     "\tif vd_degraded() then {\n");
		for (uint32_t k = 0; k < dg.value; k++)
			fprintf(out, "\t\tbgp_path.prepend(%u);\n",
				(unsigned)cfg->bgp_local_as);
		fprintf(out, "\t}\n");
	}
	fprintf(out, "\taccept;\n}\n\n");

	fprintf(out,
		"protocol device {\n\tscan time 10;\n}\n\n"
		"# A VIP route exists while its address is on %s: vipdnsd "
		"keeps it\n# there with a %u s lifetime it refreshes, so the "
		"route dies with vipdnsd.\n"
		"protocol direct vd_vips {\n",
		cfg->vip_interface, cfg->vip_lifetime);
	if (have4)
		fprintf(out, "\tipv4 { import where vd_vip(); };\n");
	if (have6)
		fprintf(out, "\tipv6 { import where vd_vip(); };\n");
	fprintf(out, "\tinterface \"%s\";\n}\n\n", cfg->vip_interface);

	if (bfd) {
		fprintf(out, "protocol bfd vd_bfd {\n"
			     "\tinterface \"*\" {\n"
			     "\t\tmin rx interval %u ms;\n"
			     "\t\tmin tx interval %u ms;\n"
			     "\t\tmultiplier %u;\n\t};\n",
			BFD_INTERVAL_MS, BFD_INTERVAL_MS, BFD_MULTIPLIER);
		if (bfd_multihop)
			fprintf(out, "\tmultihop {\n"
				     "\t\tmin rx interval %u ms;\n"
				     "\t\tmin tx interval %u ms;\n"
				     "\t\tmultiplier %u;\n\t};\n",
				BFD_INTERVAL_MS * 2, BFD_INTERVAL_MS * 2,
				BFD_MULTIPLIER);
		fprintf(out, "}\n\n");
	}
	for (size_t i = 0; i < cfg->n_bgp_neighbors; i++) {
		struct vd_anycast_tunnel tun;
		bool over = nbs[i].tunnel[0] &&
			    vd_anycast_tunnel_find(cfg, nbs[i].tunnel, &tun) == 0;
		render_neighbor(out, i, &nbs[i], over ? &tun : NULL, cfg);
	}
	return 0;
}

int vd_anycast_bird_write_announce(const char *path,
				   const struct vd_anycast_vip *vips, size_t n,
				   const bool *announce, const bool *drain,
				   const bool *degraded)
{
	struct vd_atomic_file af;
	int rc = vd_atomic_open(&af, path, 0640);
	if (rc != 0)
		return rc;
	vd_anycast_bird_render_announce(af.f, vips, n, announce, drain,
					degraded);
	return vd_atomic_commit(&af);
}

int vd_anycast_bird_write_config(const char *path, const struct vd_config *cfg,
				 const char *source, char *err, size_t errlen)
{
	struct vd_atomic_file af;
	int rc = vd_atomic_open(&af, path, 0640);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = vd_anycast_bird_render(af.f, cfg, source, err, errlen);
	if (rc != 0) {
		vd_atomic_abort(&af);
		return rc;
	}
	rc = vd_atomic_commit(&af);
	if (rc != 0)
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	return rc;
}
