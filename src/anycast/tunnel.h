/*
 * Tunnels from the node to the operator's router (docs/tunnels.md).
 *
 * In a cloud VPC the provider's gateway routes only the addresses it
 * assigned: a VIP announced over BGP from a VM is unreachable through it.
 * The node therefore runs BGP, and receives the VIP's DNS traffic, inside
 * a tunnel to the on-premises router: GRE where the cloud carries IP
 * protocol 47 (AWS, Google Cloud), IPsec where it does not (Azure).
 *
 *   tunnel = NAME gre   local ADDR remote ADDR inner ADDR/LEN [OPTION]...
 *   tunnel = NAME ipsec local ADDR remote ADDR inner ADDR/LEN
 *                       (psk-file PATH | cert PATH private-key PATH ca PATH)
 *                       [OPTION]...
 *
 * NAME is the tunnel's interface (1..15 of [a-z0-9_-], starting with a
 * letter); local/remote are the underlay addresses (this VM's, the
 * router's); inner is this node's address on the tunnel.  Options:
 *   inner6 ADDR/LEN     this node's IPv6 address on the tunnel
 *   underlay-mtu N      MTU of the path under the tunnel (default 1500)
 *   mtu N               the tunnel's MTU (default: the largest the
 *                       underlay carries without fragmenting)
 *   GRE:   ttl N (outer TTL, default 255), key N (GRE key, RFC 2890)
 *   IPsec: ike PROPOSALS, esp PROPOSALS (strongSwan syntax, checked
 *          against a list of algorithms considered safe), if-id N (XFRM
 *          interface id, default 1 + the tunnel's position), local-id ID,
 *          remote-id ID, encap (force UDP encapsulation)
 *
 * A bgp-neighbor with "tunnel NAME" runs over it (bird.conf binds the
 * session to the interface).  Everything a host needs to bring the tunnel
 * up is rendered by vd_anycast_tunnel_render_dir(): the production path
 * (kernel GRE or an XFRM interface, strongSwan's swanctl.conf, TCP MSS
 * clamping in nftables), never executed by vipdnsd itself.
 *
 * Pure parsing and arithmetic here; the renderer writes files.  No state,
 * thread safe.
 */
#ifndef VD_ANYCAST_TUNNEL_H
#define VD_ANYCAST_TUNNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

struct vd_config;

enum vd_anycast_tunnel_kind {
	VD_TUNNEL_GRE = 1,
	VD_TUNNEL_IPSEC,
};

struct vd_anycast_tunnel_prefix {
	int family; /* 0 = not set */
	uint8_t addr[16];
	unsigned plen;
	char addr_str[INET6_ADDRSTRLEN];
	char str[INET6_ADDRSTRLEN + 4]; /* "169.254.0.2/30", as configured */
};

#define VD_TUNNEL_PATH_MAX 128
#define VD_TUNNEL_PROPOSAL_MAX 128
#define VD_TUNNEL_ID_MAX 64

struct vd_anycast_tunnel {
	char name[16];
	enum vd_anycast_tunnel_kind kind;
	int underlay_family;
	char local[INET6_ADDRSTRLEN], remote[INET6_ADDRSTRLEN];
	struct vd_anycast_tunnel_prefix inner4, inner6;
	unsigned underlay_mtu;
	unsigned mtu;         /* effective: given, or max_mtu */
	unsigned max_mtu;     /* largest inner packet the underlay carries */
	bool mtu_given;
	/* GRE */
	unsigned ttl;
	uint32_t key;
	bool has_key;
	/* IPsec */
	char psk_file[VD_TUNNEL_PATH_MAX];
	char cert[VD_TUNNEL_PATH_MAX];
	char private_key[VD_TUNNEL_PATH_MAX];
	char ca[VD_TUNNEL_PATH_MAX];
	char local_id[VD_TUNNEL_ID_MAX], remote_id[VD_TUNNEL_ID_MAX];
	char ike[VD_TUNNEL_PROPOSAL_MAX], esp[VD_TUNNEL_PROPOSAL_MAX];
	uint32_t if_id; /* 0 = derived from the position in the config */
	bool encap;
};

/* Defaults when ike/esp are not given: AEAD first, then the CBC+HMAC
 * suite every cloud VPN gateway accepts; no SHA-1, no MODP-1024. */
#define VD_TUNNEL_DEFAULT_IKE \
	"aes256gcm16-prfsha384-ecp384,aes256-sha256-modp2048"
#define VD_TUNNEL_DEFAULT_ESP "aes256gcm16-ecp384,aes256-sha256-modp2048"

/* Parses one tunnel line.  0, or -EINVAL with a static reason in *why.
 * max_mtu and mtu are filled (the MTU rules are part of the syntax: an
 * mtu above what the underlay carries, or an IPv6 tunnel under 1280,
 * is refused). */
int vd_anycast_tunnel_parse(const char *s, struct vd_anycast_tunnel *out,
			    const char **why);

/* Bytes the encapsulation adds to an inner packet in the worst case of
 * the proposals (IPsec: ESP in UDP, padding to the cipher's block, the
 * largest ICV), and the largest inner packet that fits underlay_mtu. */
unsigned vd_anycast_tunnel_overhead(const struct vd_anycast_tunnel *t);

/* TCP MSS to clamp SYNs to on the tunnel: mtu - 40 (IPv4), mtu - 60. */
unsigned vd_anycast_tunnel_mss(const struct vd_anycast_tunnel *t, int family);

/* The tunnel of cfg named name (its if_id resolved), or -ENOENT. */
int vd_anycast_tunnel_find(const struct vd_config *cfg, const char *name,
			   struct vd_anycast_tunnel *out);

/* True when addr (a neighbour's) lies inside one of the tunnel's inner
 * prefixes and is not the node's own address there. */
bool vd_anycast_tunnel_covers(const struct vd_anycast_tunnel *t,
			      const char *addr);

/*
 * Checks across options (bgp-neighbor tunnel references, neighbours inside
 * the inner prefixes) and, for each tunnel, the files it names (readable
 * and non-empty, a PSK of at least 16 bytes) and whether a UDP answer of
 * edns-buffer-size bytes fits its MTU.  Errors return -EINVAL with the
 * reason in err; warnings (a fit that fails) go to warn_fn, one line each,
 * and do not fail.
 */
typedef void vd_anycast_tunnel_warn_fn(void *arg, const char *msg);
int vd_anycast_tunnel_check(const struct vd_config *cfg, bool files,
			    vd_anycast_tunnel_warn_fn *warn_fn, void *arg,
			    char *err, size_t errlen);

/*
 * Writes, into directory dir (which must exist), what brings cfg's tunnels
 * up on a production host:
 *   NAME.netdev, NAME.network   systemd-networkd (Kind=gre/ip6gre/xfrm)
 *   NAME.ip                     the same as an `ip -batch` file
 *   swanctl-NAME.conf           IPsec: strongSwan connection (route-based,
 *                               if_id on the XFRM interface) and secret,
 *                               mode 0600
 *   private/NAME.pem            IPsec with certificates: a copy of the
 *                               private key for /etc/swanctl/private/, 0600
 *   vipdns-tunnels.nft          TCP MSS clamping on every tunnel
 * Returns the number of tunnels, or a negative errno with err filled.
 */
int vd_anycast_tunnel_render_dir(const struct vd_config *cfg, const char *dir,
				 char *err, size_t errlen);

#endif
