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

#define HEADER "# Rendered by vipdnsd --tunnel-config; do not edit, " \
	       "re-render.\n"

struct out_file {
	char tmp[4200], path[4200];
	FILE *f;
};

static int file_open(struct out_file *o, const char *dir, const char *name,
		     mode_t mode, char *err, size_t errlen)
{
	if ((size_t)snprintf(o->path, sizeof(o->path), "%s/%s", dir, name) >=
		    sizeof(o->path) ||
	    (size_t)snprintf(o->tmp, sizeof(o->tmp), "%s.tmp%ld", o->path,
			     (long)getpid()) >= sizeof(o->tmp)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	int fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || fchmod(fd, mode) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "%s: %s", o->tmp, strerror(e));
		return -e;
	}
	o->f = fdopen(fd, "w");
	if (!o->f) {
		int e = errno;
		close(fd);
		(void)unlink(o->tmp);
		snprintf(err, errlen, "%s: %s", o->tmp, strerror(e));
		return -e;
	}
	return 0;
}

static int file_close(struct out_file *o, char *err, size_t errlen)
{
	int rc = 0;
	if (fflush(o->f) != 0 || fsync(fileno(o->f)) != 0)
		rc = -errno;
	if (fclose(o->f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(o->tmp, o->path) != 0)
		rc = -errno;
	if (rc != 0) {
		(void)unlink(o->tmp);
		snprintf(err, errlen, "%s: %s", o->path, strerror(-rc));
	}
	return rc;
}

static void netdev(FILE *f, const struct vd_anycast_tunnel *t)
{
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
}

static void network(FILE *f, const struct vd_anycast_tunnel *t)
{
	fprintf(f, HEADER "[Match]\nName=%s\n\n[Network]\nAddress=%s\n",
		t->name, t->inner4.str);
	if (t->inner6.family)
		fprintf(f, "Address=%s\n", t->inner6.str);
	/* BGP runs on the configured addresses; no RAs, no DHCP, and the
	 * addresses stay while the far end is down so BIRD can reconnect. */
	fprintf(f, "LinkLocalAddressing=%s\nIPv6AcceptRA=no\n"
		   "ConfigureWithoutCarrier=yes\n\n[Link]\nMTUBytes=%u\n",
		t->inner6.family ? "ipv6" : "no", t->mtu);
}

static void ip_batch(FILE *f, const struct vd_anycast_tunnel *t)
{
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
}

static int psk_hex(const char *path, char *hex, size_t cap, char *err,
		   size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "psk-file %s: %s", path, strerror(e));
		return -e;
	}
	unsigned char buf[512];
	ssize_t n = read(fd, buf, sizeof(buf));
	int e = errno;
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "psk-file %s: %s", path, strerror(e));
		return -e;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
			 buf[n - 1] == ' '))
		n--;
	if (n == 0 || (size_t)n * 2 + 3 > cap) {
		snprintf(err, errlen, "psk-file %s: empty or over %zu bytes",
			 path, (cap - 3) / 2);
		return -EINVAL;
	}
	/* Hex, so no byte of the key can end swanctl's value early. */
	static const char digits[] = "0123456789abcdef";
	hex[0] = '0', hex[1] = 'x';
	for (ssize_t i = 0; i < n; i++) {
		hex[2 + 2 * i] = digits[buf[i] >> 4];
		hex[3 + 2 * i] = digits[buf[i] & 15];
	}
	hex[2 + 2 * n] = '\0';
	memset(buf, 0, sizeof(buf));
	return 0;
}

static int swanctl(FILE *f, const struct vd_anycast_tunnel *t, char *err,
		   size_t errlen)
{
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
	 * the renderer puts a copy there (copy_key). */
	fprintf(f, "}\n");
	return 0;
}

/* The tunnel's private key as DIR/private/NAME.pem, mode 0600, for
 * /etc/swanctl/private/ (swanctl takes keys from there, not by path). */
static int copy_key(const char *dir, const struct vd_anycast_tunnel *t,
		    char *err, size_t errlen)
{
	char sub[4200], name[64];
	if ((size_t)snprintf(sub, sizeof(sub), "%s/private", dir) >=
	    sizeof(sub)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	if (mkdir(sub, 0700) != 0 && errno != EEXIST) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", sub, strerror(e));
		return -e;
	}
	int in = open(t->private_key, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		int e = errno;
		snprintf(err, errlen, "private-key %s: %s", t->private_key,
			 strerror(e));
		return -e;
	}
	static char buf[65536];
	ssize_t n = read(in, buf, sizeof(buf));
	int e = errno;
	close(in);
	if (n <= 0 || (size_t)n == sizeof(buf)) {
		snprintf(err, errlen, "private-key %s: %s", t->private_key,
			 n < 0 ? strerror(e) : "empty or over 64 KiB");
		return n < 0 ? -e : -EINVAL;
	}
	struct out_file o;
	snprintf(name, sizeof(name), "%s.pem", t->name);
	int rc = file_open(&o, sub, name, 0600, err, errlen);
	if (rc == 0) {
		fwrite(buf, 1, (size_t)n, o.f);
		rc = file_close(&o, err, errlen);
	}
	memset(buf, 0, (size_t)n);
	return rc;
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

static void nft(FILE *f, const struct vd_anycast_tunnel *ts, size_t n)
{
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
}

int vd_anycast_tunnel_render_dir(const struct vd_config *cfg, const char *dir,
				 char *err, size_t errlen)
{
	struct vd_anycast_tunnel ts[VD_CONFIG_MAX_LIST];
	size_t n = 0;
	bool ipsec = false;
	struct out_file o;
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
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		const struct vd_anycast_tunnel *t = &ts[i];
		snprintf(name, sizeof(name), "%s.netdev", t->name);
		if ((rc = file_open(&o, dir, name, 0644, err, errlen)) != 0)
			return rc;
		netdev(o.f, t);
		if ((rc = file_close(&o, err, errlen)) != 0)
			return rc;
		snprintf(name, sizeof(name), "%s.network", t->name);
		if ((rc = file_open(&o, dir, name, 0644, err, errlen)) != 0)
			return rc;
		network(o.f, t);
		if ((rc = file_close(&o, err, errlen)) != 0)
			return rc;
		snprintf(name, sizeof(name), "%s.ip", t->name);
		if ((rc = file_open(&o, dir, name, 0644, err, errlen)) != 0)
			return rc;
		ip_batch(o.f, t);
		if ((rc = file_close(&o, err, errlen)) != 0)
			return rc;
		if (t->kind != VD_TUNNEL_IPSEC)
			continue;
		snprintf(name, sizeof(name), "swanctl-%s.conf", t->name);
		if ((rc = file_open(&o, dir, name, 0600, err, errlen)) != 0)
			return rc;
		rc = swanctl(o.f, t, err, errlen);
		if (rc != 0) {
			fclose(o.f);
			(void)unlink(o.tmp);
			return rc;
		}
		if ((rc = file_close(&o, err, errlen)) != 0)
			return rc;
		if (t->private_key[0] &&
		    (rc = copy_key(dir, t, err, errlen)) != 0)
			return rc;
	}
	if (ipsec) {
		/* Route-based: charon must not put its own routes for the
		 * 0.0.0.0/0 selectors into table 220, or every packet of the
		 * host would head for the tunnel. */
		if ((rc = file_open(&o, dir, "strongswan-vipdns.conf", 0644,
				    err, errlen)) != 0)
			return rc;
		fprintf(o.f, HEADER "# /etc/strongswan.d/charon/vipdns.conf\n"
				    "charon {\n\tinstall_routes = no\n}\n");
		if ((rc = file_close(&o, err, errlen)) != 0)
			return rc;
	}
	if (n) {
		if ((rc = file_open(&o, dir, "vipdns-tunnels.nft", 0644, err,
				    errlen)) != 0)
			return rc;
		nft(o.f, ts, n);
		if ((rc = file_close(&o, err, errlen)) != 0)
			return rc;
	}
	return (int)n;
}
