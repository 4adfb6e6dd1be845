#include "anycast/tunnel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "anycast/parse.h"
#include "config/config.h"

#define MAX_TOKENS 40
/* RFC 8200: every IPv6 link carries 1280 bytes. */
#define IPV6_MIN_MTU 1280
/* The smallest tunnel worth running: a 576-byte IPv4 datagram. */
#define IPV4_MIN_MTU 576
#define MIN_PSK_BYTES 16

static int fail(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -EINVAL;
}

static int parse_prefix(const char *s, int family,
			struct vd_anycast_tunnel_prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 8];
	unsigned long l;
	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	unsigned bits = family == AF_INET ? 32 : 128;
	if (vd_anycast_addr_family(buf, p->addr) != family ||
	    vd_anycast_parse_uint(slash + 1, 1, bits, &l) != 0)
		return -EINVAL;
	/* A point-to-point tunnel has two ends: the prefix must hold at
	 * least the node and the router. */
	if (l > bits - 1)
		return -EINVAL;
	p->family = family;
	p->plen = (unsigned)l;
	inet_ntop(family, p->addr, p->addr_str, sizeof(p->addr_str));
	snprintf(p->str, sizeof(p->str), "%s/%u", p->addr_str, p->plen);
	return 0;
}

static bool in_prefix(const struct vd_anycast_tunnel_prefix *p,
		      const uint8_t *a)
{
	for (unsigned b = 0; b < p->plen; b++) {
		uint8_t m = (uint8_t)(0x80u >> (b % 8));
		if ((p->addr[b / 8] & m) != (a[b / 8] & m))
			return false;
	}
	return true;
}

/* Interface names: what the kernel, networkd, BIRD and swanctl all take
 * unquoted, and short enough for IFNAMSIZ. */
static bool good_ifname(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 15 || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static bool good_path(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= VD_TUNNEL_PATH_MAX || s[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' ||
		    c == '{' || c == '}' || c == '#')
			return false;
	}
	return true;
}

/* IKE identities: an address, a FQDN or user@FQDN; swanctl takes them
 * unquoted. */
static bool good_id(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n < VD_TUNNEL_ID_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789.-_@:") == n;
}

/*
 * strongSwan proposal keywords this node agrees to speak.  Weak ones
 * (3DES, MD5, SHA-1, MODP-1024 and below) are absent on purpose: they are
 * refused with a reason instead of silently negotiated.
 */
enum alg_kind { ALG_ENC, ALG_AEAD, ALG_INTEG, ALG_PRF, ALG_DH };
static const struct alg {
	const char *name;
	enum alg_kind kind;
	unsigned iv, block, icv; /* ESP framing, bytes */
} algs[] = {
	{"aes128", ALG_ENC, 16, 16, 0},
	{"aes192", ALG_ENC, 16, 16, 0},
	{"aes256", ALG_ENC, 16, 16, 0},
	{"aes128gcm16", ALG_AEAD, 8, 4, 16},
	{"aes256gcm16", ALG_AEAD, 8, 4, 16},
	{"aes128gcm12", ALG_AEAD, 8, 4, 12},
	{"aes256gcm12", ALG_AEAD, 8, 4, 12},
	{"chacha20poly1305", ALG_AEAD, 8, 4, 16},
	{"sha256", ALG_INTEG, 0, 0, 16},
	{"sha384", ALG_INTEG, 0, 0, 24},
	{"sha512", ALG_INTEG, 0, 0, 32},
	{"prfsha256", ALG_PRF, 0, 0, 0},
	{"prfsha384", ALG_PRF, 0, 0, 0},
	{"prfsha512", ALG_PRF, 0, 0, 0},
	{"modp2048", ALG_DH, 0, 0, 0},
	{"modp3072", ALG_DH, 0, 0, 0},
	{"modp4096", ALG_DH, 0, 0, 0},
	{"ecp256", ALG_DH, 0, 0, 0},
	{"ecp384", ALG_DH, 0, 0, 0},
	{"ecp521", ALG_DH, 0, 0, 0},
	{"curve25519", ALG_DH, 0, 0, 0},
};

static const struct alg *alg_find(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strlen(algs[i].name) == n && !strncmp(algs[i].name, s, n))
			return &algs[i];
	return NULL;
}

/*
 * One comma-separated list of proposals, each a dash-separated list of
 * keywords with exactly one cipher; IKE needs a DH group (and, with a
 * CBC cipher, an integrity algorithm); ESP takes DH as PFS.  When esp is
 * true, the worst framing over the list: *worst_ivicv the largest IV +
 * ICV, *worst_block the largest cipher block (padding aligns to it).
 */
static const char *check_proposals(const char *list, bool esp,
				   unsigned *worst_ivicv, unsigned *worst_block)
{
	if (!*list || strlen(list) >= VD_TUNNEL_PROPOSAL_MAX)
		return "proposals: 1..127 characters";
	const char *p = list;
	while (*p) {
		size_t plen = strcspn(p, ",");
		if (plen == 0)
			return "proposals: empty proposal";
		unsigned enc = 0, aead = 0, integ = 0, dh = 0, prf = 0;
		unsigned iv = 0, block = 1, icv = 0;
		const char *q = p, *end = p + plen;
		while (q < end) {
			size_t n = strcspn(q, "-,");
			if ((size_t)(end - q) < n)
				n = (size_t)(end - q);
			const struct alg *a = alg_find(q, n);
			if (!a)
				return "proposals: unknown or weak algorithm "
				       "(allowed: aes128/192/256, "
				       "aes128gcm16/aes256gcm16 (12), "
				       "chacha20poly1305, sha256/384/512, "
				       "prfsha256/384/512, modp2048/3072/4096, "
				       "ecp256/384/521, curve25519)";
			switch (a->kind) {
			case ALG_ENC:
				enc++, iv = a->iv, block = a->block;
				break;
			case ALG_AEAD:
				aead++, iv = a->iv, block = a->block,
					icv = a->icv;
				break;
			case ALG_INTEG:
				integ++;
				if (!aead)
					icv = a->icv;
				break;
			case ALG_PRF:
				prf++;
				break;
			case ALG_DH:
				dh++;
				break;
			}
			q += n;
			if (q < end && *q == '-')
				q++;
		}
		if (enc + aead != 1)
			return "proposals: each needs exactly one cipher";
		if (enc && integ == 0)
			return "proposals: a CBC cipher needs an integrity "
			       "algorithm (sha256, sha384, sha512)";
		if (aead && integ)
			return "proposals: an AEAD cipher (gcm, chacha20poly1305) "
			       "takes no integrity algorithm";
		if (esp && prf)
			return "proposals: prf applies to IKE, not ESP";
		if (!esp && dh == 0)
			return "proposals: IKE needs a DH group (ecp384, "
			       "modp2048, curve25519, ...)";
		if (esp) {
			if (iv + icv > *worst_ivicv)
				*worst_ivicv = iv + icv;
			if (block > *worst_block)
				*worst_block = block;
		}
		p += plen;
		if (*p == ',') {
			p++;
			if (!*p)
				return "proposals: trailing comma";
		}
	}
	return NULL;
}

/* Bytes in front of the inner packet and after it, padding aside: the
 * outer IP header, and for ESP the UDP encapsulation (counted always:
 * clouds put NAT in the path and user-space ESP always encapsulates), the
 * 8-byte ESP header (SPI, sequence), IV and ICV. */
static unsigned framing(const struct vd_anycast_tunnel *t, unsigned *block)
{
	unsigned ip = t->underlay_family == AF_INET6 ? 40 : 20;
	*block = 1;
	if (t->kind == VD_TUNNEL_GRE)
		return ip + 4 + (t->has_key ? 4 : 0);
	unsigned ivicv = 0;
	(void)check_proposals(t->esp, true, &ivicv, block);
	return ip + 8 + 8 + ivicv;
}

unsigned vd_anycast_tunnel_overhead(const struct vd_anycast_tunnel *t)
{
	unsigned block;
	unsigned f = framing(t, &block);
	/* ESP: up to block - 1 bytes of padding and the 2-byte trailer. */
	return t->kind == VD_TUNNEL_GRE ? f : f + (block - 1) + 2;
}

/* The largest inner packet: for ESP, the payload plus its 2 trailer bytes
 * must fill whole cipher blocks, so the room rounds down to the block. */
static unsigned max_inner(const struct vd_anycast_tunnel *t)
{
	unsigned block;
	unsigned f = framing(t, &block);
	if (t->underlay_mtu <= f + 2)
		return 0;
	unsigned room = t->underlay_mtu - f;
	if (t->kind == VD_TUNNEL_GRE)
		return room;
	room -= room % block;
	return room > 2 ? room - 2 : 0;
}

unsigned vd_anycast_tunnel_mss(const struct vd_anycast_tunnel *t, int family)
{
	unsigned h = family == AF_INET6 ? 60 : 40;
	return t->mtu > h ? t->mtu - h : 0;
}

int vd_anycast_tunnel_parse(const char *s, struct vd_anycast_tunnel *out,
			    const char **why)
{
	char buf[1024];
	char *tok[MAX_TOKENS];
	size_t n = 0;
	unsigned long v;

	if (strlen(s) >= sizeof(buf))
		return fail(why, "too long");
	memset(out, 0, sizeof(*out));
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t;
	     t = strtok_r(NULL, " \t", &save)) {
		if (n == MAX_TOKENS)
			return fail(why, "too many words");
		tok[n++] = t;
	}
	if (n < 2)
		return fail(why, "expected NAME gre|ipsec local ADDR remote "
				 "ADDR inner ADDR/LEN [OPTION]...");
	if (!good_ifname(tok[0]))
		return fail(why, "NAME: 1..15 of a-z 0-9 _ -, starting with a "
				 "letter (it is the interface name)");
	snprintf(out->name, sizeof(out->name), "%s", tok[0]);
	if (!strcmp(tok[1], "gre"))
		out->kind = VD_TUNNEL_GRE;
	else if (!strcmp(tok[1], "ipsec"))
		out->kind = VD_TUNNEL_IPSEC;
	else
		return fail(why, "tunnel type must be gre or ipsec");
	out->underlay_mtu = 1500;
	out->ttl = 255;
	bool gre = out->kind == VD_TUNNEL_GRE;

	for (size_t i = 2; i < n; i++) {
		const char *k = tok[i];
		const char *arg = i + 1 < n ? tok[i + 1] : NULL;
		bool takes = true;
		if (!strcmp(k, "local") || !strcmp(k, "remote")) {
			char *dst = k[0] == 'l' ? out->local : out->remote;
			int f = arg ? vd_anycast_addr_family(arg, NULL) : 0;
			if (!f)
				return fail(why, "local/remote need an IP "
						 "address");
			snprintf(dst, INET6_ADDRSTRLEN, "%s", arg);
		} else if (!strcmp(k, "inner")) {
			if (parse_prefix(arg, AF_INET, &out->inner4) != 0)
				return fail(why, "inner needs this node's IPv4 "
						 "ADDR/LEN on the tunnel (LEN "
						 "1..31)");
		} else if (!strcmp(k, "inner6")) {
			if (parse_prefix(arg, AF_INET6, &out->inner6) != 0)
				return fail(why, "inner6 needs this node's IPv6 "
						 "ADDR/LEN on the tunnel (LEN "
						 "1..127)");
		} else if (!strcmp(k, "underlay-mtu")) {
			if (vd_anycast_parse_uint(arg, 576, 65535, &v) != 0)
				return fail(why, "underlay-mtu: 576..65535");
			out->underlay_mtu = (unsigned)v;
		} else if (!strcmp(k, "mtu")) {
			if (vd_anycast_parse_uint(arg, IPV4_MIN_MTU, 65535, &v) != 0)
				return fail(why, "mtu: 576..65535");
			out->mtu = (unsigned)v;
			out->mtu_given = true;
		} else if (gre && !strcmp(k, "ttl")) {
			if (vd_anycast_parse_uint(arg, 1, 255, &v) != 0)
				return fail(why, "ttl: 1..255");
			out->ttl = (unsigned)v;
		} else if (gre && !strcmp(k, "key")) {
			if (vd_anycast_parse_uint(arg, 0, 4294967295ul, &v) != 0)
				return fail(why, "key: 0..4294967295");
			out->key = (uint32_t)v;
			out->has_key = true;
		} else if (!gre && (!strcmp(k, "psk-file") ||
				    !strcmp(k, "cert") ||
				    !strcmp(k, "private-key") ||
				    !strcmp(k, "ca"))) {
			char *dst = k[0] == 'p' && k[1] == 's' ? out->psk_file
				    : k[0] == 'c' && k[1] == 'e' ? out->cert
				    : k[0] == 'p'		 ? out->private_key
								 : out->ca;
			if (!arg || !good_path(arg))
				return fail(why, "psk-file/cert/private-key/ca "
						 "need an absolute path (no "
						 "spaces, quotes, braces or #)");
			snprintf(dst, VD_TUNNEL_PATH_MAX, "%s", arg);
		} else if (!gre && (!strcmp(k, "local-id") ||
				    !strcmp(k, "remote-id"))) {
			if (!arg || !good_id(arg))
				return fail(why, "local-id/remote-id: an "
						 "address, FQDN or user@FQDN");
			snprintf(k[0] == 'l' ? out->local_id : out->remote_id,
				 VD_TUNNEL_ID_MAX, "%s", arg);
		} else if (!gre && (!strcmp(k, "ike") || !strcmp(k, "esp"))) {
			unsigned f = 0, b = 0;
			if (!arg)
				return fail(why, "ike/esp need a proposal list");
			const char *r = check_proposals(arg, k[0] == 'e', &f, &b);
			if (r)
				return fail(why, r);
			snprintf(k[0] == 'i' ? out->ike : out->esp,
				 VD_TUNNEL_PROPOSAL_MAX, "%s", arg);
		} else if (!gre && !strcmp(k, "if-id")) {
			if (vd_anycast_parse_uint(arg, 1, 4294967294ul, &v) != 0)
				return fail(why, "if-id: 1..4294967294");
			out->if_id = (uint32_t)v;
		} else if (!gre && !strcmp(k, "encap")) {
			out->encap = true;
			takes = false;
		} else {
			return fail(why, gre ? "unknown gre tunnel option "
					       "(local remote inner inner6 mtu "
					       "underlay-mtu ttl key)"
					     : "unknown ipsec tunnel option "
					       "(local remote inner inner6 mtu "
					       "underlay-mtu psk-file cert "
					       "private-key ca local-id "
					       "remote-id ike esp if-id encap)");
		}
		if (takes)
			i++;
	}
	if (!out->local[0] || !out->remote[0])
		return fail(why, "local ADDR and remote ADDR (the underlay "
				 "ends) are required");
	out->underlay_family = vd_anycast_addr_family(out->local, NULL);
	if (vd_anycast_addr_family(out->remote, NULL) != out->underlay_family)
		return fail(why, "local and remote must be of one family");
	if (!strcmp(out->local, out->remote))
		return fail(why, "local and remote are the same address");
	if (!out->inner4.family)
		return fail(why, "inner ADDR/LEN (this node's IPv4 address on "
				 "the tunnel) is required: BGP runs over it");
	if (!gre) {
		bool psk = out->psk_file[0] != '\0';
		bool pki = out->cert[0] || out->private_key[0] || out->ca[0];
		if (psk == pki)
			return fail(why, "ipsec needs psk-file PATH, or cert "
					 "PATH private-key PATH ca PATH (not "
					 "both)");
		if (pki && !(out->cert[0] && out->private_key[0] && out->ca[0]))
			return fail(why, "certificate authentication needs "
					 "cert, private-key and ca");
		if (pki && !out->remote_id[0])
			return fail(why, "certificate authentication needs "
					 "remote-id (the identity the peer's "
					 "certificate must carry)");
		if (!out->ike[0])
			snprintf(out->ike, sizeof(out->ike), "%s",
				 VD_TUNNEL_DEFAULT_IKE);
		if (!out->esp[0])
			snprintf(out->esp, sizeof(out->esp), "%s",
				 VD_TUNNEL_DEFAULT_ESP);
	}
	out->max_mtu = max_inner(out);
	if (!out->mtu_given)
		out->mtu = out->max_mtu;
	if (out->mtu > out->max_mtu)
		return fail(why, "mtu is above what underlay-mtu carries after "
				 "the tunnel's overhead (it would fragment "
				 "every full-size packet)");
	if (out->mtu < IPV4_MIN_MTU)
		return fail(why, "underlay-mtu leaves under 576 bytes inside "
				 "the tunnel");
	if (out->inner6.family && out->mtu < IPV6_MIN_MTU)
		return fail(why, "inner6 needs a tunnel MTU of at least 1280 "
				 "(RFC 8200); raise underlay-mtu or mtu");
	return 0;
}

int vd_anycast_tunnel_find(const struct vd_config *cfg, const char *name,
			   struct vd_anycast_tunnel *out)
{
	for (size_t i = 0; i < cfg->n_tunnels; i++) {
		if (vd_anycast_tunnel_parse(cfg->tunnels[i], out, NULL) != 0)
			continue;
		if (strcmp(out->name, name) != 0)
			continue;
		if (out->kind == VD_TUNNEL_IPSEC && !out->if_id)
			out->if_id = (uint32_t)i + 1;
		return 0;
	}
	return -ENOENT;
}

bool vd_anycast_tunnel_covers(const struct vd_anycast_tunnel *t,
			      const char *addr)
{
	uint8_t a[16];
	int f = vd_anycast_addr_family(addr, a);
	const struct vd_anycast_tunnel_prefix *p =
		f == AF_INET ? &t->inner4 : f == AF_INET6 ? &t->inner6 : NULL;
	if (!p || !p->family)
		return false;
	return in_prefix(p, a) &&
	       memcmp(a, p->addr, f == AF_INET ? 4 : 16) != 0;
}

static int errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Bytes of a secret file, trailing newlines and spaces not counted; a
 * negative errno when it cannot be read. */
static long secret_len(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char buf[1024];
	ssize_t n = read(fd, buf, sizeof(buf));
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
			 buf[n - 1] == ' '))
		n--;
	return n;
}

static int check_file(const char *tname, const char *what, const char *path,
		      char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return errf(err, errlen, "tunnel %s: %s %s: %s", tname, what,
			    path, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size == 0)
		return errf(err, errlen, "tunnel %s: %s %s: not a non-empty "
			    "regular file", tname, what, path);
	if (access(path, R_OK) != 0)
		return errf(err, errlen, "tunnel %s: %s %s: %s", tname, what,
			    path, strerror(errno));
	return 0;
}

int vd_anycast_tunnel_check(const struct vd_config *cfg, bool files,
			    vd_anycast_tunnel_warn_fn *warn_fn, void *arg,
			    char *err, size_t errlen)
{
	struct vd_anycast_tunnel t, u;
	const char *why = NULL;
	char msg[512];

	for (size_t i = 0; i < cfg->n_tunnels; i++) {
		if (vd_anycast_tunnel_parse(cfg->tunnels[i], &t, &why) != 0)
			return errf(err, errlen, "tunnel %s: %s",
				    cfg->tunnels[i], why);
		for (size_t j = 0; j < i; j++) {
			if (vd_anycast_tunnel_parse(cfg->tunnels[j], &u,
						    NULL) == 0 &&
			    !strcmp(u.name, t.name))
				return errf(err, errlen, "tunnel %s is "
					    "defined twice", t.name);
		}
		if (!strcmp(t.name, cfg->vip_interface))
			return errf(err, errlen, "tunnel %s: the name is "
				    "vip-interface's", t.name);
		if (files && t.kind == VD_TUNNEL_IPSEC) {
			int rc;
			if (t.psk_file[0]) {
				long len = secret_len(t.psk_file);
				if (len < 0)
					return errf(err, errlen,
						    "tunnel %s: psk-file %s: %s",
						    t.name, t.psk_file,
						    strerror((int)-len));
				if (len < MIN_PSK_BYTES)
					return errf(err, errlen,
						    "tunnel %s: psk-file %s: "
						    "key of %ld bytes, at "
						    "least %d needed",
						    t.name, t.psk_file, len,
						    MIN_PSK_BYTES);
			} else if ((rc = check_file(t.name, "cert", t.cert, err,
						    errlen)) != 0 ||
				   (rc = check_file(t.name, "private-key",
						    t.private_key, err,
						    errlen)) != 0 ||
				   (rc = check_file(t.name, "ca", t.ca, err,
						    errlen)) != 0) {
				return rc;
			}
		}
		/* The largest UDP answer the node sends, in an IP packet,
		 * against the tunnel's MTU: above it, every large answer
		 * through the tunnel fragments (and clouds drop fragments). */
		unsigned payload = cfg->edns_buffer_size + 8;
		for (int f = 0; f < 2; f++) {
			int fam = f ? AF_INET6 : AF_INET;
			if (fam == AF_INET6 && !t.inner6.family)
				continue;
			unsigned need = payload + (fam == AF_INET6 ? 40 : 20);
			if (need <= t.mtu || !warn_fn)
				continue;
			snprintf(msg, sizeof(msg),
				 "tunnel %s: an answer of edns-buffer-size "
				 "(%u) bytes over IPv%c is a %u-byte packet, "
				 "above the tunnel MTU %u (underlay %u minus "
				 "%u of %s): it would fragment; lower "
				 "edns-buffer-size to %u or raise underlay-mtu",
				 t.name, (unsigned)cfg->edns_buffer_size,
				 fam == AF_INET6 ? '6' : '4', need, t.mtu,
				 t.underlay_mtu, vd_anycast_tunnel_overhead(&t),
				 t.kind == VD_TUNNEL_GRE ? "GRE" : "ESP in UDP",
				 t.mtu - 8 - (fam == AF_INET6 ? 40 : 20));
			warn_fn(arg, msg);
		}
	}

	for (size_t i = 0; i < cfg->n_bgp_neighbors; i++) {
		struct vd_anycast_neighbor nb;
		if (vd_anycast_neighbor_parse(cfg->bgp_neighbors[i], &nb,
					      &why) != 0)
			return errf(err, errlen, "bgp-neighbor %s: %s",
				    cfg->bgp_neighbors[i], why);
		if (!nb.tunnel[0])
			continue;
		if (vd_anycast_tunnel_find(cfg, nb.tunnel, &t) != 0)
			return errf(err, errlen, "bgp-neighbor %s: no tunnel "
				    "named %s", nb.addr, nb.tunnel);
		if (!vd_anycast_tunnel_covers(&t, nb.addr))
			return errf(err, errlen, "bgp-neighbor %s: not the "
				    "router's end of tunnel %s (inner %s%s%s)",
				    nb.addr, t.name, t.inner4.str,
				    t.inner6.family ? ", inner6 " : "",
				    t.inner6.family ? t.inner6.str : "");
		if (nb.carry6 && nb.family == AF_INET && !nb.next_hop6[0] &&
		    !t.inner6.family)
			return errf(err, errlen, "bgp-neighbor %s: carries IPv6 "
				    "over an IPv4 session, and tunnel %s has no "
				    "inner6 for the next hop", nb.addr, t.name);
	}
	return 0;
}
