/*
 * The files that bring a node's tunnels up on a production host
 * (tunnel.h, docs/tunnels.md).  vipdnsd never runs them: the host's
 * network configuration owns interfaces, and a resolver that rewrote the
 * host's links at start would be one more way to lose the node.
 */
#include "anycast/tunnel.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "core/atomic_file.h"

#define HEADER "# Rendered by vipdnsd --tunnel-config; do not edit, " \
	       "re-render.\n"

/* Writes DIR/NAME with mode through fn(arg), atomically. */
typedef int render_fn(FILE *f, const void *arg, char *err, size_t errlen);

static int write_file(const char *dir, const char *name, mode_t mode,
		      render_fn *fn, const void *arg, char *err, size_t errlen)
{
	char path[4096];
	struct vd_atomic_file af;
	int rc;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		rc = -ENAMETOOLONG;
	else
		rc = vd_atomic_open(&af, path, mode);
	if (rc != 0) {
		snprintf(err, errlen, "%s/%s: %s", dir, name, strerror(-rc));
		return rc;
	}
	rc = fn(af.f, arg, err, errlen);
	if (rc != 0) {
		vd_atomic_abort(&af);
		return rc;
	}
	rc = vd_atomic_commit(&af);
	if (rc != 0)
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	return rc;
}

static int netdev(FILE *f, const void *arg, char *err, size_t errlen)
{
	const struct vd_anycast_tunnel *t = arg;
	(void)err, (void)errlen;
	fprintf(f, HEADER "[NetDev]\nName=%s\n", t->name);
	if (t->kind == VD_TUNNEL_GRE) {
		fprintf(f, "Kind=%s\nMTUBytes=%u\n\n[Tunnel]\nLocal=%s\n"
			   "Remote=%s\nTTL=%u\n",
			t->underlay_family == AF_INET6 ? "ip6gre" : "gre", t->mtu,
			t->local, t->remote, t->ttl);
		if (t->has_key)
			fprintf(f, "Key=%u\n", (unsigned)t->key);
		/* Not tied to an underlay .network: the cloud's interface
		 * is configured by the image, not by us. */
		fprintf(f, "Independent=yes\n");
	} else {
		fprintf(f, "Kind=xfrm\nMTUBytes=%u\n\n[Xfrm]\nInterfaceId=%u\n"
			   "Independent=yes\n",
			t->mtu, (unsigned)t->if_id);
	}
	return 0;
}

static int network(FILE *f, const void *arg, char *err, size_t errlen)
{
	const struct vd_anycast_tunnel *t = arg;
	(void)err, (void)errlen;
	fprintf(f, HEADER "[Match]\nName=%s\n\n[Network]\nAddress=%s\n",
		t->name, t->inner4.str);
	if (t->inner6.family)
		fprintf(f, "Address=%s\n", t->inner6.str);
	/* BGP runs on the configured addresses; no RAs, no DHCP, and the
	 * addresses stay while the far end is down so BIRD can reconnect. */
	fprintf(f, "LinkLocalAddressing=%s\nIPv6AcceptRA=no\n"
		   "ConfigureWithoutCarrier=yes\n\n[Link]\nMTUBytes=%u\n",
		t->inner6.family ? "ipv6" : "no", t->mtu);
	return 0;
}

static int ip_batch(FILE *f, const void *arg, char *err, size_t errlen)
{
	const struct vd_anycast_tunnel *t = arg;
	(void)err, (void)errlen;
	fprintf(f, HEADER "# Apply with: ip -batch %s.ip\n", t->name);
	if (t->kind == VD_TUNNEL_GRE) {
		fprintf(f, "link add %s type %s local %s remote %s ttl %u",
			t->name,
			t->underlay_family == AF_INET6 ? "ip6gre" : "gre",
			t->local, t->remote, t->ttl);
		if (t->has_key)
			fprintf(f, " key %u", (unsigned)t->key);
		fprintf(f, "\n");
	} else {
		fprintf(f, "link add %s type xfrm if_id %u\n", t->name,
			(unsigned)t->if_id);
	}
	fprintf(f, "link set %s mtu %u up\naddr add %s dev %s\n", t->name,
		t->mtu, t->inner4.str, t->name);
	if (t->inner6.family)
		fprintf(f, "addr add %s dev %s nodad\n", t->inner6.str, t->name);
	return 0;
}

/* The bytes of a secret file (at most cap - 1), into buf; the caller
 * wipes buf.  Length, or a negative errno with err filled. */
static ssize_t read_secret(const char *what, const char *path, char *buf,
			   size_t cap, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, cap);
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(e));
		return -e;
	}
	if (n == 0 || (size_t)n == cap) {
		snprintf(err, errlen, "%s %s: empty or over %zu bytes", what,
			 path, cap - 1);
		return -EINVAL;
	}
	return n;
}

/* The PSK as 0x-hex, trailing newlines and spaces dropped, so no byte of
 * the key can end swanctl's value early. */
static int psk_hex(const char *path, char *hex, size_t cap, char *err,
		   size_t errlen)
{
	char buf[512];
	ssize_t n = read_secret("psk-file", path, buf, sizeof(buf), err, errlen);
	if (n < 0)
		return (int)n;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
			 buf[n - 1] == ' '))
		n--;
	int rc = 0;
	if (n == 0 || (size_t)n * 2 + 3 > cap) {
		snprintf(err, errlen, "psk-file %s: empty or too long", path);
		rc = -EINVAL;
	} else {
		static const char digits[] = "0123456789abcdef";
		hex[0] = '0', hex[1] = 'x';
		for (ssize_t i = 0; i < n; i++) {
			hex[2 + 2 * i] = digits[(unsigned char)buf[i] >> 4];
			hex[3 + 2 * i] = digits[(unsigned char)buf[i] & 15];
		}
		hex[2 + 2 * n] = '\0';
	}
	memset(buf, 0, sizeof(buf));
	return rc;
}

static int swanctl(FILE *f, const void *arg, char *err, size_t errlen)
{
	const struct vd_anycast_tunnel *t = arg;
	bool psk = t->psk_file[0] != '\0';
	const char *lid = t->local_id[0] ? t->local_id : t->local;
	const char *rid = t->remote_id[0] ? t->remote_id : t->remote;
	fprintf(f,
		HEADER
		"# Route-based IPsec: the SAs carry whatever is routed into\n"
		"# XFRM interface %s (if_id %u); routes, not traffic\n"
		"# selectors, decide what goes through the tunnel.\n"
		"connections {\n"
		"\t%s {\n"
		"\t\tversion = 2\n"
		"\t\tlocal_addrs = %s\n"
		"\t\tremote_addrs = %s\n"
		"\t\tproposals = %s\n"
		"\t\tencap = %s\n"
		"\t\tmobike = no\n"
		"\t\tdpd_delay = 10s\n"
		"\t\trekey_time = 4h\n"
		"\t\tkeyingtries = 0\n"
		"\t\tif_id_in = %u\n"
		"\t\tif_id_out = %u\n"
		"\t\tlocal {\n"
		"\t\t\tauth = %s\n",
		t->name, (unsigned)t->if_id, t->name, t->local, t->remote,
		t->ike, t->encap ? "yes" : "no", (unsigned)t->if_id,
		(unsigned)t->if_id, psk ? "psk" : "pubkey");
	/* With a certificate and no local-id, swanctl takes the identity
	 * from the certificate's subject, which is what the peer checks. */
	if (psk || t->local_id[0])
		fprintf(f, "\t\t\tid = %s\n", lid);
	if (!psk)
		fprintf(f, "\t\t\tcerts = %s\n", t->cert);
	fprintf(f, "\t\t}\n\t\tremote {\n\t\t\tauth = %s\n\t\t\tid = %s\n",
		psk ? "psk" : "pubkey", rid);
	if (!psk)
		fprintf(f, "\t\t\tcacerts = %s\n", t->ca);
	fprintf(f,
		"\t\t}\n"
		"\t\tchildren {\n"
		"\t\t\t%s {\n"
		"\t\t\t\tmode = tunnel\n"
		"\t\t\t\tlocal_ts = 0.0.0.0/0,::/0\n"
		"\t\t\t\tremote_ts = 0.0.0.0/0,::/0\n"
		"\t\t\t\tesp_proposals = %s\n"
		"\t\t\t\trekey_time = 1h\n"
		"\t\t\t\tstart_action = start\n"
		"\t\t\t\tdpd_action = restart\n"
		"\t\t\t\tclose_action = start\n"
		"\t\t\t}\n"
		"\t\t}\n"
		"\t}\n"
		"}\n"
		"secrets {\n",
		t->name, t->esp);
	if (psk) {
		char hex[1100];
		int rc = psk_hex(t->psk_file, hex, sizeof(hex), err, errlen);
		if (rc != 0)
			return rc;
		fprintf(f, "\tike-%s {\n\t\tid-local = %s\n\t\tid-remote = %s\n"
			   "\t\tsecret = %s\n\t}\n",
			t->name, lid, rid, hex);
		memset(hex, 0, sizeof(hex));
	}
	/* swanctl loads private keys only from its private/ directory:
	 * the renderer puts a copy there (private_key). */
	fprintf(f, "}\n");
	return 0;
}

/* The tunnel's private key, copied for /etc/swanctl/private/ (swanctl
 * takes keys from there, not by path). */
static int private_key(FILE *f, const void *arg, char *err, size_t errlen)
{
	const struct vd_anycast_tunnel *t = arg;
	static char buf[65536];
	ssize_t n = read_secret("private-key", t->private_key, buf,
				sizeof(buf), err, errlen);
	if (n < 0)
		return (int)n;
	size_t w = fwrite(buf, 1, (size_t)n, f);
	memset(buf, 0, (size_t)n);
	return w == (size_t)n ? 0 : -EIO;
}

static void nft_rules(FILE *f, const struct vd_anycast_tunnel *ts, size_t n,
		      bool in)
{
	for (size_t i = 0; i < n; i++) {
		const struct vd_anycast_tunnel *t = &ts[i];
		for (int fam = 0; fam < 2; fam++) {
			if (fam && !t->inner6.family)
				continue;
			unsigned mss = vd_anycast_tunnel_mss(
				t, fam ? AF_INET6 : AF_INET);
			fprintf(f,
				"\t\t%sifname \"%s\" meta nfproto %s tcp flags & "
				"(syn | rst) == syn tcp option maxseg size > %u "
				"tcp option maxseg size set %u\n",
				in ? "i" : "o", t->name, fam ? "ipv6" : "ipv4",
				mss, mss);
		}
	}
}

struct tunnel_set {
	const struct vd_anycast_tunnel *ts;
	size_t n;
};

static int nft(FILE *f, const void *arg, char *err, size_t errlen)
{
	const struct vd_anycast_tunnel *ts = ((const struct tunnel_set *)arg)->ts;
	size_t n = ((const struct tunnel_set *)arg)->n;
	(void)err, (void)errlen;
	fprintf(f,
		"#!/usr/sbin/nft -f\n" HEADER
		"# TCP MSS clamping on the tunnels: a SYN's MSS is lowered to\n"
		"# what the tunnel carries in one packet, both ways, so TCP DNS\n"
		"# and BGP never send segments the underlay would fragment.\n"
		"table inet vipdns_tunnels\n"
		"delete table inet vipdns_tunnels\n"
		"table inet vipdns_tunnels {\n"
		"\tchain clamp_in {\n"
		"\t\ttype filter hook prerouting priority mangle; policy "
		"accept;\n");
	nft_rules(f, ts, n, true);
	fprintf(f, "\t}\n\tchain clamp_out {\n"
		   "\t\ttype filter hook output priority mangle; policy "
		   "accept;\n");
	nft_rules(f, ts, n, false);
	fprintf(f, "\t}\n\tchain clamp_fwd {\n"
		   "\t\ttype filter hook forward priority mangle; policy "
		   "accept;\n");
	nft_rules(f, ts, n, false);
	fprintf(f, "\t}\n}\n");
	return 0;
}

/* Route-based: charon must not put its own routes for the 0.0.0.0/0
 * selectors into table 220, or every packet of the host would head for
 * the tunnel. */
static int charon_conf(FILE *f, const void *arg, char *err, size_t errlen)
{
	(void)arg, (void)err, (void)errlen;
	fprintf(f, HEADER "# /etc/strongswan.d/charon/vipdns.conf\n"
			  "charon {\n\tinstall_routes = no\n}\n");
	return 0;
}

int vd_anycast_tunnel_render_dir(const struct vd_config *cfg, const char *dir,
				 char *err, size_t errlen)
{
	static const struct {
		const char *fmt; /* %s: the tunnel's name */
		mode_t mode;
		render_fn *fn;
		bool ipsec_only, pki_only;
	} per_tunnel[] = {
		{"%s.netdev", 0644, netdev, false, false},
		{"%s.network", 0644, network, false, false},
		{"%s.ip", 0644, ip_batch, false, false},
		{"swanctl-%s.conf", 0600, swanctl, true, false},
		{"private/%s.pem", 0600, private_key, true, true},
	};
	struct vd_anycast_tunnel ts[VD_CONFIG_MAX_LIST];
	size_t n = 0;
	bool ipsec = false, pki = false;
	char name[64];
	int rc = vd_anycast_tunnel_check(cfg, true, NULL, NULL, err, errlen);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < cfg->n_tunnels; i++) {
		struct vd_anycast_tunnel t;
		const char *why = NULL;
		if (vd_anycast_tunnel_parse(cfg->tunnels[i], &t, &why) != 0 ||
		    vd_anycast_tunnel_find(cfg, t.name, &ts[n]) != 0) {
			snprintf(err, errlen, "tunnel %s: %s", cfg->tunnels[i],
				 why ? why : "unparsable");
			return -EINVAL;
		}
		ipsec |= ts[n].kind == VD_TUNNEL_IPSEC;
		pki |= ts[n].private_key[0] != '\0';
		n++;
	}
	if (pki) {
		char sub[4200];
		snprintf(sub, sizeof(sub), "%s/private", dir);
		if (mkdir(sub, 0700) != 0 && errno != EEXIST) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s", sub, strerror(-rc));
			return rc;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct vd_anycast_tunnel *t = &ts[i];
		for (size_t k = 0; k < sizeof(per_tunnel) / sizeof(per_tunnel[0]);
		     k++) {
			if ((per_tunnel[k].ipsec_only &&
			     t->kind != VD_TUNNEL_IPSEC) ||
			    (per_tunnel[k].pki_only && !t->private_key[0]))
				continue;
			snprintf(name, sizeof(name), per_tunnel[k].fmt, t->name);
			rc = write_file(dir, name, per_tunnel[k].mode,
					per_tunnel[k].fn, t, err, errlen);
			if (rc != 0)
				return rc;
		}
	}
	if (ipsec && (rc = write_file(dir, "strongswan-vipdns.conf", 0644,
				      charon_conf, NULL, err, errlen)) != 0)
		return rc;
	struct tunnel_set set = {ts, n};
	if (n && (rc = write_file(dir, "vipdns-tunnels.nft", 0644, nft, &set,
				  err, errlen)) != 0)
		return rc;
	return (int)n;
}
