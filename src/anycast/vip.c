#include "anycast/vip.h"

#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#define NL_TIMEOUT_MS 1000

struct req {
	struct nlmsghdr nh;
	union {
		struct ifaddrmsg ifa;
		struct ifinfomsg ifi;
	};
	char attrs[256];
};

int vd_anycast_nl_open(struct vd_anycast_nl *nl)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	nl->seq = 1;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0)
		return -errno;
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(nl->fd);
		nl->fd = -1;
		return -e;
	}
	return 0;
}

void vd_anycast_nl_close(struct vd_anycast_nl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
}

static void put_attr(struct req *r, unsigned short type, const void *data,
		     size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* Sends r and waits for its ACK.  0 or the kernel's -errno. */
static int transact(struct vd_anycast_nl *nl, struct req *r)
{
	struct sockaddr_nl to = {.nl_family = AF_NETLINK};
	r->nh.nlmsg_seq = ++nl->seq;
	r->nh.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (sendto(nl->fd, r, r->nh.nlmsg_len, 0, (struct sockaddr *)&to,
		   sizeof(to)) < 0)
		return -errno;
	for (;;) {
		union {
			char buf[8192];
			struct nlmsghdr align;
		} u;
		struct pollfd p = {.fd = nl->fd, .events = POLLIN};
		int pr = poll(&p, 1, NL_TIMEOUT_MS);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return pr < 0 ? -errno : -ETIMEDOUT;
		ssize_t n = recv(nl->fd, u.buf, sizeof(u.buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (struct nlmsghdr *h = &u.align; NLMSG_OK(h, (unsigned)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != nl->seq)
				continue; /* a late answer to an older request */
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EBADMSG;
				return e->error;
			}
		}
	}
}

int vd_anycast_nl_link_up(struct vd_anycast_nl *nl, const char *name)
{
	unsigned idx = if_nametoindex(name);
	if (idx == 0)
		return -ENODEV;
	struct req r;
	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.nh.nlmsg_type = RTM_NEWLINK;
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = (int)idx;
	r.ifi.ifi_flags = IFF_UP;
	r.ifi.ifi_change = IFF_UP;
	int rc = transact(nl, &r);
	return rc != 0 ? rc : (int)idx;
}

static void addr_msg(struct req *r, int type, int ifindex,
		     const struct vd_anycast_vip *vip)
{
	size_t alen = vip->family == AF_INET ? 4 : 16;
	memset(r, 0, sizeof(*r));
	r->nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	r->nh.nlmsg_type = (unsigned short)type;
	r->ifa.ifa_family = (unsigned char)vip->family;
	r->ifa.ifa_prefixlen = (unsigned char)vip->plen;
	r->ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	r->ifa.ifa_index = (unsigned)ifindex;
	put_attr(r, IFA_LOCAL, vip->addr, alen);
	put_attr(r, IFA_ADDRESS, vip->addr, alen);
}

int vd_anycast_vip_set(struct vd_anycast_nl *nl, int ifindex,
		       const struct vd_anycast_vip *vip, unsigned lifetime)
{
	struct req r;
	addr_msg(&r, RTM_NEWADDR, ifindex, vip);
	r.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	/* No duplicate address detection: the VIP is meant to exist on
	 * every node, and a tentative address would not answer. */
	r.ifa.ifa_flags = IFA_F_NODAD;
	uint32_t flags = IFA_F_NODAD;
	put_attr(&r, IFA_FLAGS, &flags, sizeof(flags));
	struct ifa_cacheinfo ci = {
		.ifa_prefered = lifetime ? lifetime : 0xffffffffu,
		.ifa_valid = lifetime ? lifetime : 0xffffffffu,
	};
	put_attr(&r, IFA_CACHEINFO, &ci, sizeof(ci));
	return transact(nl, &r);
}

int vd_anycast_vip_del(struct vd_anycast_nl *nl, int ifindex,
		       const struct vd_anycast_vip *vip)
{
	struct req r;
	addr_msg(&r, RTM_DELADDR, ifindex, vip);
	return transact(nl, &r);
}
