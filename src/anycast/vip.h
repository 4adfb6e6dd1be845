/*
 * The VIP addresses on the VIP interface, over rtnetlink (no library: four
 * message kinds do not need one).
 *
 * Every address is added with a finite lifetime (IFA_CACHEINFO valid and
 * preferred = vip-lifetime seconds) and IFA_F_NODAD, and refreshed well
 * before it runs out (NLM_F_REPLACE updates the lifetime in place, no
 * flap).  If vipdnsd dies, nothing refreshes: the kernel deletes the
 * address, BIRD's direct protocol sees it go and withdraws the route.
 *
 * Not thread safe: one struct per thread.  Needs CAP_NET_ADMIN at each
 * call (the kernel checks the sender, not only the socket's opener).
 */
#ifndef VD_ANYCAST_VIP_H
#define VD_ANYCAST_VIP_H

#include <stdbool.h>

#include "anycast/parse.h"

struct vd_anycast_nl {
	int fd;
	unsigned seq;
};

/* 0 or -errno. */
int vd_anycast_nl_open(struct vd_anycast_nl *nl);
void vd_anycast_nl_close(struct vd_anycast_nl *nl); /* safe when not open */

/* Interface index of name, brought up if it is down.  >0 or -errno. */
int vd_anycast_nl_link_up(struct vd_anycast_nl *nl, const char *name);

/* Adds or refreshes the VIP with lifetime seconds (0 = permanent).
 * 0 or -errno. */
int vd_anycast_vip_set(struct vd_anycast_nl *nl, int ifindex,
		       const struct vd_anycast_vip *vip, unsigned lifetime);
/* Removes it; -EADDRNOTAVAIL when it was not there. */
int vd_anycast_vip_del(struct vd_anycast_nl *nl, int ifindex,
		       const struct vd_anycast_vip *vip);

#endif
