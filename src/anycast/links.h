/*
 * What carries the node's BGP sessions: BFD sessions as BIRD reports them
 * and the configured tunnels' state.  An operator must see at a glance a
 * BFD session stuck Down (BGP then runs unprotected: a dead router is
 * noticed after the hold time, not in 300 ms) and a tunnel whose interface
 * is gone.
 *
 * A tunnel is up when its interface exists, is administratively up and
 * has carrier, and every BFD session of a neighbour over it is Up.
 *
 * The struct is plain data: the anycast thread fills a fresh one from
 * `birdc show bfd sessions` and the interfaces, then copies it under its
 * lock; readers take the same lock.
 */
#ifndef VD_ANYCAST_LINKS_H
#define VD_ANYCAST_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>

struct vd_config;
struct evbuffer;
struct vd_metrics_out;

#define VD_LINKS_MAX 32

struct vd_anycast_bfd_session {
	char addr[INET6_ADDRSTRLEN];
	char ifname[16];
	char state[12]; /* "Up", "Down", "Init", "AdminDown" */
	char since[32];
};

struct vd_anycast_tunnel_state {
	char name[16];
	const char *kind; /* "gre" or "ipsec" (static) */
	unsigned mtu;
	bool exists, admin_up, carrier;
	unsigned bfd_total, bfd_up; /* BFD sessions of neighbours over it */
	bool up;
};

struct vd_anycast_links {
	/* from the config */
	struct {
		char addr[INET6_ADDRSTRLEN];
		char tunnel[16];
		bool bfd;
	} nbs[VD_LINKS_MAX];
	size_t n_nbs;
	struct vd_anycast_tunnel_state tunnels[VD_LINKS_MAX];
	size_t n_tunnels;
	/* from BIRD */
	struct vd_anycast_bfd_session bfd[VD_LINKS_MAX];
	size_t n_bfd;
	bool bfd_known; /* the last `show bfd sessions` answered */
};

/* Fills the configured part; nothing is known yet. */
void vd_anycast_links_init(struct vd_anycast_links *l,
			   const struct vd_config *cfg);
/* Reads the reply text of `show bfd sessions` (code prefixes removed,
 * as vd_anycast_birdc returns it; modified in place).  text NULL: BIRD
 * did not answer, the sessions are unknown. */
void vd_anycast_links_parse_bfd(struct vd_anycast_links *l, char *text);
/* Reads the tunnels' interface flags and derives each tunnel's state. */
void vd_anycast_links_update(struct vd_anycast_links *l);
/* The BFD state of neighbour addr: "Up", "Down", ..., "none" (no session
 * in BIRD), or NULL when the neighbour has no BFD. */
const char *vd_anycast_links_bfd_state(const struct vd_anycast_links *l,
				       const char *addr);

/* Lines for `vipdnsctl status`: "tunnel NAME: up (gre, mtu 1476, ...)",
 * "bfd ADDR: Up (interface X, since ...)". */
void vd_anycast_links_status(const struct vd_anycast_links *l,
			     struct evbuffer *out);
/* vipdns_tunnel_up{tunnel=}, vipdns_anycast_bfd_session_up{neighbor=}. */
void vd_anycast_links_collect(const struct vd_anycast_links *l,
			      struct vd_metrics_out *o);
/* "tunnels 1 of 2 up, BFD 2 of 2 up" or "" when there is neither. */
void vd_anycast_links_summary(const struct vd_anycast_links *l, char *out,
			      size_t cap);

#endif
