#include "anycast/links.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "anycast/parse.h"
#include "anycast/tunnel.h"
#include "config/config.h"
#include "metrics/registry.h"

void vd_anycast_links_init(struct vd_anycast_links *l,
			   const struct vd_config *cfg)
{
	memset(l, 0, sizeof(*l));
	for (size_t i = 0; i < cfg->n_bgp_neighbors && l->n_nbs < VD_LINKS_MAX;
	     i++) {
		struct vd_anycast_neighbor nb;
		if (vd_anycast_neighbor_parse(cfg->bgp_neighbors[i], &nb,
					      NULL) != 0)
			continue;
		snprintf(l->nbs[l->n_nbs].addr, sizeof(l->nbs[0].addr), "%s",
			 nb.addr);
		snprintf(l->nbs[l->n_nbs].tunnel, sizeof(l->nbs[0].tunnel),
			 "%s", nb.tunnel);
		l->nbs[l->n_nbs].bfd = nb.bfd;
		l->n_nbs++;
	}
	for (size_t i = 0; i < cfg->n_tunnels && l->n_tunnels < VD_LINKS_MAX;
	     i++) {
		struct vd_anycast_tunnel t;
		if (vd_anycast_tunnel_parse(cfg->tunnels[i], &t, NULL) != 0)
			continue;
		struct vd_anycast_tunnel_state *s = &l->tunnels[l->n_tunnels++];
		snprintf(s->name, sizeof(s->name), "%s", t.name);
		s->kind = t.kind == VD_TUNNEL_GRE ? "gre" : "ipsec";
		s->mtu = t.mtu;
	}
}

/* Two spellings of one address compare equal. */
static bool same_addr(const char *a, const char *b)
{
	uint8_t x[16], y[16];
	int fa = strchr(a, ':') ? AF_INET6 : AF_INET;
	int fb = strchr(b, ':') ? AF_INET6 : AF_INET;
	if (fa != fb || inet_pton(fa, a, x) != 1 || inet_pton(fb, b, y) != 1)
		return false;
	return memcmp(x, y, fa == AF_INET ? 4 : 16) == 0;
}

/*
 * BIRD 2 prints, per BFD protocol:
 *   vd_bfd:
 *   IP address                Interface  State      Since         Interval  Timeout
 *   192.0.2.1                 eth0       Up         10:21:07.551    0.100    0.300
 * "Since" may be a date and a time; only the first word is kept.  Any
 * line whose first word is not an address is not a session.
 */
void vd_anycast_links_parse_bfd(struct vd_anycast_links *l, char *text)
{
	l->n_bfd = 0;
	l->bfd_known = text != NULL;
	if (!text)
		return;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char addr[64], ifname[32], state[32], since[48] = "";
		uint8_t bin[16];
		if (sscanf(line, "%63s %31s %31s %47s", addr, ifname, state,
			   since) < 3)
			continue;
		if (inet_pton(AF_INET, addr, bin) != 1 &&
		    inet_pton(AF_INET6, addr, bin) != 1)
			continue;
		if (l->n_bfd == VD_LINKS_MAX)
			break;
		struct vd_anycast_bfd_session *s = &l->bfd[l->n_bfd++];
		snprintf(s->addr, sizeof(s->addr), "%.45s", addr);
		snprintf(s->ifname, sizeof(s->ifname), "%.15s", ifname);
		snprintf(s->state, sizeof(s->state), "%.11s", state);
		snprintf(s->since, sizeof(s->since), "%.31s", since);
	}
}

const char *vd_anycast_links_bfd_state(const struct vd_anycast_links *l,
				       const char *addr)
{
	bool bfd = false;
	for (size_t i = 0; i < l->n_nbs; i++)
		if (same_addr(l->nbs[i].addr, addr))
			bfd |= l->nbs[i].bfd;
	if (!bfd)
		return NULL;
	for (size_t i = 0; i < l->n_bfd; i++)
		if (same_addr(l->bfd[i].addr, addr))
			return l->bfd[i].state;
	return l->bfd_known ? "none" : "unknown";
}

static void if_flags(struct vd_anycast_tunnel_state *s)
{
	s->exists = s->admin_up = s->carrier = false;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", s->name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		s->exists = true;
		s->admin_up = (ifr.ifr_flags & IFF_UP) != 0;
		s->carrier = (ifr.ifr_flags & IFF_RUNNING) != 0;
	}
	close(fd);
}

void vd_anycast_links_update(struct vd_anycast_links *l)
{
	for (size_t i = 0; i < l->n_tunnels; i++) {
		struct vd_anycast_tunnel_state *s = &l->tunnels[i];
		if_flags(s);
		s->bfd_total = s->bfd_up = 0;
		for (size_t j = 0; j < l->n_nbs; j++) {
			if (!l->nbs[j].bfd || strcmp(l->nbs[j].tunnel, s->name))
				continue;
			s->bfd_total++;
			const char *st =
				vd_anycast_links_bfd_state(l, l->nbs[j].addr);
			s->bfd_up += st && !strcmp(st, "Up");
		}
		s->up = s->exists && s->admin_up && s->carrier &&
			s->bfd_up == s->bfd_total;
	}
}

void vd_anycast_links_status(const struct vd_anycast_links *l,
			     struct evbuffer *out)
{
	for (size_t i = 0; i < l->n_tunnels; i++) {
		const struct vd_anycast_tunnel_state *s = &l->tunnels[i];
		evbuffer_add_printf(
			out, "tunnel %s: %s (%s, mtu %u, interface %s", s->name,
			s->up ? "up" : "DOWN", s->kind, s->mtu,
			!s->exists     ? "missing"
			: !s->admin_up ? "admin down"
			: !s->carrier  ? "no carrier"
				       : "up");
		if (s->bfd_total)
			evbuffer_add_printf(out, ", BFD %u of %u up",
					    s->bfd_up, s->bfd_total);
		evbuffer_add_printf(out, ")\n");
	}
	for (size_t i = 0; i < l->n_nbs; i++) {
		if (!l->nbs[i].bfd)
			continue;
		const char *st = vd_anycast_links_bfd_state(l, l->nbs[i].addr);
		const struct vd_anycast_bfd_session *s = NULL;
		for (size_t j = 0; j < l->n_bfd; j++)
			if (same_addr(l->bfd[j].addr, l->nbs[i].addr))
				s = &l->bfd[j];
		if (s)
			evbuffer_add_printf(out,
					    "bfd %s: %s (interface %s, since "
					    "%s)\n",
					    l->nbs[i].addr, s->state, s->ifname,
					    s->since);
		else
			evbuffer_add_printf(out,
					    "bfd %s: %s (BIRD %s)\n",
					    l->nbs[i].addr, st,
					    l->bfd_known ? "has no session; "
							   "is its protocol "
							   "bfd running?"
							 : "not answering");
	}
}

void vd_anycast_links_collect(const struct vd_anycast_links *l,
			      struct vd_metrics_out *o)
{
	if (l->n_tunnels) {
		struct vd_metrics_family *tu = vd_metrics_family(
			o, "vipdns_tunnel_up", VD_METRICS_GAUGE,
			"1 while the tunnel's interface is up with carrier and "
			"every BFD session over it is Up.");
		struct vd_metrics_family *mtu = vd_metrics_family(
			o, "vipdns_tunnel_mtu_bytes", VD_METRICS_GAUGE,
			"The tunnel's configured (or derived) MTU.");
		for (size_t i = 0; i < l->n_tunnels; i++) {
			struct vd_metrics_label lb[2] = {
				{"tunnel", l->tunnels[i].name},
				{"type", l->tunnels[i].kind}};
			vd_metrics_sample(tu, lb, 2, l->tunnels[i].up);
			vd_metrics_sample(mtu, lb, 2, l->tunnels[i].mtu);
		}
	}
	struct vd_metrics_family *bf = NULL;
	for (size_t i = 0; i < l->n_nbs; i++) {
		const char *st = vd_anycast_links_bfd_state(l, l->nbs[i].addr);
		if (!st)
			continue;
		if (!bf)
			bf = vd_metrics_family(
				o, "vipdns_anycast_bfd_session_up",
				VD_METRICS_GAUGE,
				"1 while BIRD's BFD session to the BGP neighbour "
				"is Up (0: Down, Init, or no session at all).");
		struct vd_metrics_label lb = {"neighbor", l->nbs[i].addr};
		vd_metrics_sample(bf, &lb, 1, !strcmp(st, "Up"));
	}
}

void vd_anycast_links_summary(const struct vd_anycast_links *l, char *out,
			      size_t cap)
{
	unsigned tup = 0, bt = 0, bu = 0;
	for (size_t i = 0; i < l->n_tunnels; i++)
		tup += l->tunnels[i].up;
	for (size_t i = 0; i < l->n_nbs; i++) {
		const char *st = vd_anycast_links_bfd_state(l, l->nbs[i].addr);
		if (!st)
			continue;
		bt++;
		bu += !strcmp(st, "Up");
	}
	out[0] = '\0';
	size_t n = 0;
	if (l->n_tunnels)
		n = (size_t)snprintf(out, cap, "tunnels %u of %zu up", tup,
				     l->n_tunnels);
	if (bt && n < cap)
		snprintf(out + n, cap - n, "%sBFD %u of %u up", n ? ", " : "",
			 bu, bt);
}
