/*
 * Client access control: a list of prefixes with an action each, matched
 * longest prefix first.  Built at config time, read without locks by every
 * worker (a reload swaps the whole config).
 */
#ifndef VD_ACL_ACL_H
#define VD_ACL_ACL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define VD_ACL_MAX_RULES 256

enum vd_acl_action {
	VD_ACL_ALLOW = 0,
	VD_ACL_REFUSE = 1, /* answer REFUSED (with EDE 18 when EDNS) */
	VD_ACL_DROP = 2,   /* no answer */
};

struct vd_acl_rule {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t prefix_len;
	uint8_t action;
	uint8_t addr[16]; /* network, host bits zeroed */
};

struct vd_acl {
	struct vd_acl_rule rules[VD_ACL_MAX_RULES];
	size_t n_rules;            /* kept sorted: longest prefix first */
	uint8_t default_action;    /* for clients no rule matches */
};

void vd_acl_init(struct vd_acl *acl, enum vd_acl_action default_action);
/* Parses "PREFIX ACTION" e.g. "192.0.2.0/24 allow", "::1 refuse" (a bare
 * address is a host route).  Returns 0, -EINVAL (bad syntax, prefix length
 * over 32/128, host bits set) or -ENOSPC (full); the reason goes to err. */
int vd_acl_add_str(struct vd_acl *acl, const char *spec, char *err,
		   size_t errlen);
/* addr is 4 or 16 bytes in network order.  Re-adding a prefix replaces its
 * action.  Host bits set are refused (-EINVAL) rather than masked: 10.1.2.3/8
 * is more likely a typo for /32 than a wish to open 10/8.  A v4-mapped IPv6
 * prefix (::ffff:0:0/96 or longer) is stored as the IPv4 rule it means.
 * Returns 0, -EINVAL, -EAFNOSUPPORT or -ENOSPC. */
int vd_acl_add(struct vd_acl *acl, int family, const void *addr,
	       unsigned prefix_len, enum vd_acl_action action);
/* Longest matching prefix wins; IPv4-mapped IPv6 clients (dual-stack
 * sockets) are matched against IPv4 rules.  No locks: acl is read-only
 * once built. */
enum vd_acl_action vd_acl_match(const struct vd_acl *acl,
				const struct sockaddr *sa);

/* "allow" -> VD_ACL_ALLOW ...; -1 if unknown. */
int vd_acl_action_parse(const char *s);
const char *vd_acl_action_name(enum vd_acl_action action);
/* Writes "PREFIX/LEN ACTION" (the form vd_acl_add_str reads back).
 * Returns 0 or -ENOSPC if buf is too small. */
int vd_acl_rule_format(const struct vd_acl_rule *rule, char *buf,
		       size_t buflen);

#endif
