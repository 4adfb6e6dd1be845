/* Unit tests for src/anycast/tunnel.c, tunnel_render.c and links.c: the
 * tunnel line, its MTU arithmetic, the checks across options, the files
 * rendered for a host, the BGP sessions bound to tunnels, and the BFD and
 * tunnel state read back from BIRD and the kernel. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "anycast/birdconf.h"
#include "anycast/links.h"
#include "anycast/tunnel.h"
#include "config/config.h"

static struct vd_anycast_tunnel parse_ok(const char *s)
{
	struct vd_anycast_tunnel t;
	const char *why = NULL;
	int rc = vd_anycast_tunnel_parse(s, &t, &why);
	cr_assert_eq(rc, 0, "%s: %s", s, why ? why : "?");
	return t;
}

Test(tunnel_parse, gre_mtu_from_the_underlay)
{
	struct vd_anycast_tunnel t = parse_ok(
		"gcp1 gre local 198.51.100.10 remote 192.0.2.1 inner "
		"203.0.113.66/30 inner6 2001:db8:7e:1::2/64");
	cr_assert_eq(t.kind, VD_TUNNEL_GRE);
	cr_assert_str_eq(t.name, "gcp1");
	cr_assert_str_eq(t.inner4.addr_str, "203.0.113.66");
	cr_assert_eq(t.inner4.plen, 30);
	cr_assert_str_eq(t.inner6.str, "2001:db8:7e:1::2/64");
	/* 1500 - 20 (outer IPv4) - 4 (GRE) */
	cr_assert_eq(t.mtu, 1476);
	cr_assert_eq(t.ttl, 255);
	cr_assert_eq(vd_anycast_tunnel_mss(&t, AF_INET), 1436);
	cr_assert_eq(vd_anycast_tunnel_mss(&t, AF_INET6), 1416);

	t = parse_ok("g2 gre local 198.51.100.10 remote 192.0.2.1 inner "
		     "203.0.113.66/30 key 7");
	cr_assert_eq(t.mtu, 1472); /* the key adds 4 */
	t = parse_ok("g3 gre local 2001:db8:1::10 remote 2001:db8:2::1 inner "
		     "203.0.113.66/30 underlay-mtu 9001");
	cr_assert_eq(t.mtu, 9001 - 40 - 4);
	t = parse_ok("g4 gre local 198.51.100.10 remote 192.0.2.1 inner "
		     "203.0.113.66/30 mtu 1400");
	cr_assert(t.mtu_given && t.mtu == 1400 && t.max_mtu == 1476);
}

Test(tunnel_parse, ipsec_mtu_from_the_proposals)
{
	/* AES-GCM-16: 1500 - 20 IP - 8 UDP - 8 ESP - 8 IV - 16 ICV = 1440
	 * for payload and the 2 trailer bytes, a multiple of 4. */
	struct vd_anycast_tunnel t = parse_ok(
		"az1 ipsec local 198.51.100.10 remote 192.0.2.2 inner "
		"203.0.113.70/30 psk-file /etc/vipdns/az1.psk esp aes256gcm16");
	cr_assert_eq(t.kind, VD_TUNNEL_IPSEC);
	cr_assert_eq(t.mtu, 1438);
	cr_assert_str_eq(t.ike, VD_TUNNEL_DEFAULT_IKE);
	/* AES-CBC + SHA-256 (16-byte IV, ICV and block): 1500 - 20 - 8 - 8
	 * - 16 - 16 = 1432, down to 1424 for the block, less 2. */
	t = parse_ok("az2 ipsec local 198.51.100.10 remote 192.0.2.2 inner "
		     "203.0.113.70/30 psk-file /p esp aes256-sha256");
	cr_assert_eq(t.mtu, 1422);
	/* The defaults list a CBC suite too: the worst case rules. */
	t = parse_ok("az3 ipsec local 198.51.100.10 remote 192.0.2.2 inner "
		     "203.0.113.70/30 psk-file /p");
	cr_assert_eq(t.mtu, 1422);
	cr_assert_str_eq(t.esp, VD_TUNNEL_DEFAULT_ESP);
	/* Every framing it claims fits: inner + overhead <= underlay. */
	cr_assert_leq(t.mtu + vd_anycast_tunnel_overhead(&t), 1500 + 15);
	t = parse_ok("az4 ipsec local 198.51.100.10 remote 192.0.2.2 inner "
		     "203.0.113.70/30 cert /c private-key /k ca /ca remote-id "
		     "router.example ike aes128gcm16-prfsha256-curve25519 "
		     "esp chacha20poly1305 if-id 42 encap local-id node1.example");
	cr_assert_eq(t.if_id, 42);
	cr_assert(t.encap);
	cr_assert_str_eq(t.remote_id, "router.example");
	cr_assert_str_eq(t.local_id, "node1.example");
}

Test(tunnel_parse, refused)
{
	static const char *const bad[] = {
		"",
		"gcp1",
		"Gcp1 gre local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30",
		"averyveryverylongname gre local 192.0.2.5 remote 192.0.2.1 "
		"inner 203.0.113.66/30",
		"g gre local 192.0.2.5 remote 192.0.2.1",        /* no inner */
		"g gre remote 192.0.2.1 inner 203.0.113.66/30",  /* no local */
		"g gre local 192.0.2.5 remote 2001:db8::1 inner 203.0.113.66/30",
		"g gre local 192.0.2.5 remote 192.0.2.5 inner 203.0.113.66/30",
		"g gre local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/32",
		"g gre local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66",
		"g gre local 192.0.2.5 remote 192.0.2.1 inner 2001:db8::2/64",
		"g gre local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30 "
		"mtu 1477",                                      /* > 1476 */
		"g gre local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30 "
		"inner6 2001:db8::2/64 underlay-mtu 1300",       /* v6 < 1280 */
		"g gre local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30 "
		"ttl 0",
		"g gre local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30 "
		"psk-file /p",                                   /* ipsec only */
		"g vxlan local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30",
		/* IPsec: authentication and proposals */
		"a ipsec local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30",
		"a ipsec local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30 "
		"psk-file relative/path",
		"a ipsec local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30 "
		"psk-file /p cert /c private-key /k ca /ca remote-id r",
		"a ipsec local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30 "
		"cert /c private-key /k ca /ca",                 /* no remote-id */
		"a ipsec local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30 "
		"cert /c remote-id r",                           /* no key, ca */
		"a ipsec local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30 "
		"psk-file /p esp 3des-md5",                      /* weak */
		"a ipsec local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30 "
		"psk-file /p esp aes128-sha1",                   /* SHA-1 */
		"a ipsec local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30 "
		"psk-file /p ike aes256-sha256-modp1024",        /* MODP-1024 */
		"a ipsec local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30 "
		"psk-file /p ike aes256-sha256",                 /* IKE, no DH */
		"a ipsec local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30 "
		"psk-file /p esp aes256",                        /* no integrity */
		"a ipsec local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30 "
		"psk-file /p esp aes256gcm16-sha256",            /* AEAD + integ */
		"a ipsec local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30 "
		"psk-file /p esp aes256gcm16,",                  /* trailing , */
		"a ipsec local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30 "
		"psk-file /p esp aes256gcm16-prfsha256",         /* prf in ESP */
		"a ipsec local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30 "
		"psk-file /p remote-id a\"b",
		"a ipsec local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30 "
		"psk-file /p if-id 0",
		"a ipsec local 192.0.2.5 remote 192.0.2.1 inner 203.0.113.66/30 "
		"psk-file /p key 5",                             /* gre only */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vd_anycast_tunnel t;
		const char *why = NULL;
		cr_assert_eq(vd_anycast_tunnel_parse(bad[i], &t, &why), -EINVAL,
			     "accepted: %s", bad[i]);
		cr_assert(why && *why, "no reason for %s", bad[i]);
	}
}

static char tmpdir[64];

static void mkdir_tmp(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vd-tunnel-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void rm_tmp(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

static char *slurp(const char *dir, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s missing", path);
	static char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int load(struct vd_config *cfg, const char *text, char *err,
		size_t errlen)
{
	return vd_config_parse_string(cfg, "t.conf", text, err, errlen);
}

#define BASE                                                                  \
	"anycast = yes\nvip = 203.0.113.1\nvip = 2001:db8::1\n"                \
	"bgp-router-id = 198.51.100.10\nbgp-local-as = 65001\n"                \
	"bird-announce-file = /tmp/a.conf\n"

static void collect_warning(void *arg, const char *msg)
{
	snprintf(arg, 512, "%s", msg);
}

Test(tunnel_check, references_and_fit, .init = mkdir_tmp, .fini = rm_tmp)
{
	static struct vd_config cfg;
	char err[512], warn[512] = "";
	cr_assert_eq(load(&cfg, BASE
			  "tunnel = g1 gre local 198.51.100.10 remote 192.0.2.1 "
			  "inner 203.0.113.66/30 inner6 2001:db8:7e::2/64\n"
			  "bgp-neighbor = 203.0.113.65 as 64500 tunnel g1 bfd dual\n",
			  err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(vd_anycast_tunnel_check(&cfg, true, collect_warning, warn,
					     err, sizeof(err)),
		     0, "%s", err);
	cr_assert_str_empty(warn);

	/* Each of these is a config error naming the neighbour. */
	static const char *const bad[] = {
		/* not on the tunnel's prefix */
		"bgp-neighbor = 203.0.113.77 as 64500 tunnel g1\n",
		/* the node's own address */
		"bgp-neighbor = 203.0.113.66 as 64500 tunnel g1\n",
		/* no such tunnel */
		"bgp-neighbor = 203.0.113.65 as 64500 tunnel g2\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[1024];
		snprintf(text, sizeof(text),
			 BASE "tunnel = g1 gre local 198.51.100.10 remote "
			      "192.0.2.1 inner 203.0.113.66/30\n%s",
			 bad[i]);
		cr_assert_neq(load(&cfg, text, err, sizeof(err)), 0,
			      "accepted %s", bad[i]);
		cr_assert(strstr(err, "bgp-neighbor"), "%s", err);
	}
	/* IPv6 over an IPv4 session on a tunnel without inner6 */
	cr_assert_neq(load(&cfg, BASE
			   "tunnel = g1 gre local 198.51.100.10 remote 192.0.2.1 "
			   "inner 203.0.113.66/30\n"
			   "bgp-neighbor = 203.0.113.65 as 64500 tunnel g1 dual\n",
			   err, sizeof(err)),
		      0);
	cr_assert(strstr(err, "inner6"), "%s", err);
	/* the same name twice */
	cr_assert_neq(load(&cfg, BASE
			   "tunnel = g1 gre local 198.51.100.10 remote 192.0.2.1 "
			   "inner 203.0.113.66/30\n"
			   "tunnel = g1 gre local 198.51.100.10 remote 192.0.2.9 "
			   "inner 203.0.113.70/30\n"
			   "bgp-neighbor = 203.0.113.65 as 64500 tunnel g1\n",
			   err, sizeof(err)),
		      0);
	cr_assert(strstr(err, "twice"), "%s", err);

	/* A tunnel too small for a full answer: a warning, not an error. */
	cr_assert_eq(load(&cfg, BASE
			  "tunnel = g1 gre local 198.51.100.10 remote 192.0.2.1 "
			  "inner 203.0.113.66/30 underlay-mtu 1270\n"
			  "bgp-neighbor = 203.0.113.65 as 64500 tunnel g1\n",
			  err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(vd_anycast_tunnel_check(&cfg, true, collect_warning, warn,
					     err, sizeof(err)),
		     0);
	cr_assert(strstr(warn, "1260-byte packet, above the tunnel MTU 1246"),
		  "%s", warn);
	cr_assert(strstr(warn, "lower edns-buffer-size to 1218"), "%s", warn);
	warn[0] = '\0';
	cr_assert_eq(load(&cfg, BASE "edns-buffer-size = 1218\n"
				     "tunnel = g1 gre local 198.51.100.10 remote "
				     "192.0.2.1 inner 203.0.113.66/30 "
				     "underlay-mtu 1270\n"
				     "bgp-neighbor = 203.0.113.65 as 64500 tunnel g1\n",
			  err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(vd_anycast_tunnel_check(&cfg, true, collect_warning, warn,
					     err, sizeof(err)),
		     0);
	cr_assert_str_empty(warn, "1218 fits exactly, yet: %s", warn);

	/* The PSK must exist and be long enough (checked with files). */
	char psk[128], text[1024];
	snprintf(psk, sizeof(psk), "%s/short.psk", tmpdir);
	FILE *f = fopen(psk, "w");
	cr_assert_not_null(f);
	fputs("tooshort\n", f);
	fclose(f);
	snprintf(text, sizeof(text),
		 BASE "tunnel = a1 ipsec local 198.51.100.10 remote 192.0.2.2 "
		      "inner 203.0.113.70/30 psk-file %s\n"
		      "bgp-neighbor = 203.0.113.69 as 64500 tunnel a1\n",
		 psk);
	cr_assert_eq(load(&cfg, text, err, sizeof(err)), 0, "%s", err);
	cr_assert_neq(vd_anycast_tunnel_check(&cfg, true, NULL, NULL, err,
					      sizeof(err)),
		      0);
	cr_assert(strstr(err, "at least 16"), "%s", err);
	/* without files (the daemon's own pass) it is not read */
	cr_assert_eq(vd_anycast_tunnel_check(&cfg, false, NULL, NULL, err,
					     sizeof(err)),
		     0);
}

/* Certificate tunnels name three files: their lines are longer than the
 * config's ordinary 255-byte values and must still load. */
Test(tunnel_check, long_certificate_lines)
{
	static struct vd_config cfg;
	char err[512], text[2048];
	const char *dir = "/etc/vipdns/tunnels/azure-westeurope-1/pki/";
	snprintf(text, sizeof(text),
		 BASE "tunnel = az2 ipsec local 198.51.100.10 remote 192.0.2.3 "
		      "inner 203.0.113.74/30 inner6 2001:db8:7e:9::2/64 cert "
		      "%snode.pem private-key %snode.key ca %sca.pem remote-id "
		      "router.westeurope.example esp aes256gcm16 ike "
		      "aes256gcm16-prfsha384-ecp384\n"
		      "bgp-neighbor = 203.0.113.73 as 65515 tunnel az2 bfd\n",
		 dir, dir, dir);
	cr_assert_eq(load(&cfg, text, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.n_tunnels, 1);
	cr_assert_gt(strlen(cfg.tunnels[0]), 255);
	struct vd_anycast_tunnel t;
	cr_assert_eq(vd_anycast_tunnel_find(&cfg, "az2", &t), 0);
	cr_assert_str_eq(t.ca, "/etc/vipdns/tunnels/azure-westeurope-1/pki/ca.pem");
}

Test(tunnel_render, host_files, .init = mkdir_tmp, .fini = rm_tmp)
{
	static struct vd_config cfg;
	char err[512], psk[128], text[2048];
	snprintf(psk, sizeof(psk), "%s/az1.psk", tmpdir);
	FILE *f = fopen(psk, "w");
	cr_assert_not_null(f);
	fputs("0123456789abcdef\"}{x\n", f); /* swanctl syntax inside */
	fclose(f);
	snprintf(text, sizeof(text),
		 BASE "tunnel = g1 gre local 198.51.100.10 remote 192.0.2.1 "
		      "inner 203.0.113.66/30 inner6 2001:db8:7e::2/64 key 9\n"
		      "tunnel = az1 ipsec local 198.51.100.10 remote 192.0.2.2 "
		      "inner 203.0.113.70/30 psk-file %s esp aes256gcm16\n"
		      "bgp-neighbor = 203.0.113.65 as 64500 tunnel g1 bfd dual\n"
		      "bgp-neighbor = 203.0.113.69 as 64500 tunnel az1 bfd\n",
		 psk);
	cr_assert_eq(load(&cfg, text, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(vd_anycast_tunnel_render_dir(&cfg, tmpdir, err,
						  sizeof(err)),
		     2, "%s", err);

	char *s = slurp(tmpdir, "g1.netdev");
	cr_assert(strstr(s, "Kind=gre\n") && strstr(s, "MTUBytes=1472\n") &&
		  strstr(s, "Local=198.51.100.10\n") &&
		  strstr(s, "Remote=192.0.2.1\n") && strstr(s, "Key=9\n"),
		  "%s", s);
	s = slurp(tmpdir, "g1.network");
	cr_assert(strstr(s, "Address=203.0.113.66/30\n") &&
		  strstr(s, "Address=2001:db8:7e::2/64\n"), "%s", s);
	s = slurp(tmpdir, "g1.ip");
	cr_assert(strstr(s, "link add g1 type gre local 198.51.100.10 remote "
			    "192.0.2.1 ttl 255 key 9\n") &&
		  strstr(s, "link set g1 mtu 1472 up\n"), "%s", s);
	s = slurp(tmpdir, "az1.netdev");
	cr_assert(strstr(s, "Kind=xfrm\n") && strstr(s, "InterfaceId=2\n") &&
		  strstr(s, "MTUBytes=1438\n"), "%s", s);
	s = slurp(tmpdir, "swanctl-az1.conf");
	cr_assert(strstr(s, "if_id_in = 2\n") && strstr(s, "if_id_out = 2\n"),
		  "%s", s);
	cr_assert(strstr(s, "esp_proposals = aes256gcm16\n"), "%s", s);
	/* the key in hex: its quote and braces cannot break the file */
	cr_assert(strstr(s, "secret = 0x30313233343536373839616263646566227d7b78\n"),
		  "%s", s);
	struct stat st;
	char path[256];
	snprintf(path, sizeof(path), "%s/swanctl-az1.conf", tmpdir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "secret file mode %o",
		     st.st_mode & 0777);
	s = slurp(tmpdir, "strongswan-vipdns.conf");
	cr_assert(strstr(s, "install_routes = no"), "%s", s);
	s = slurp(tmpdir, "vipdns-tunnels.nft");
	cr_assert(strstr(s, "oifname \"g1\" meta nfproto ipv4 tcp flags & (syn "
			    "| rst) == syn tcp option maxseg size > 1432 tcp "
			    "option maxseg size set 1432\n"),
		  "%s", s);
	cr_assert(strstr(s, "iifname \"g1\" meta nfproto ipv6") &&
		  strstr(s, "oifname \"az1\" meta nfproto ipv4") &&
		  !strstr(s, "\"az1\" meta nfproto ipv6"), "%s", s);

	/* bird.conf: the sessions bound to their tunnels; IPv6 over the
	 * IPv4 session with the tunnel's inner6 as next hop. */
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	cr_assert_eq(vd_anycast_bird_render(m, &cfg, "t.conf", err,
					    sizeof(err)),
		     0, "%s", err);
	fclose(m);
	cr_assert(strstr(buf, "local 203.0.113.66 as 65001;\n"
			      "\tneighbor 203.0.113.65 as 64500;\n"
			      "\tinterface \"g1\";"),
		  "%s", buf);
	cr_assert(strstr(buf, "next hop address 2001:db8:7e::2;"), "%s", buf);
	cr_assert(strstr(buf, "\tinterface \"az1\";"), "%s", buf);
	free(buf);

	/* A certificate tunnel: its key copied where swanctl looks, 0600. */
	char pem[128], text2[2048];
	static const char *const pki[] = {"c.pem", "k.pem", "ca.pem"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(pem, sizeof(pem), "%s/%s", tmpdir, pki[i]);
		f = fopen(pem, "w");
		cr_assert_not_null(f);
		fprintf(f, "-----BEGIN %s-----\n", pki[i]);
		fclose(f);
	}
	snprintf(text2, sizeof(text2),
		 BASE "tunnel = az3 ipsec local 198.51.100.10 remote 192.0.2.4 "
		      "inner 203.0.113.74/30 cert %s/c.pem private-key %s/k.pem "
		      "ca %s/ca.pem remote-id r.example\n"
		      "bgp-neighbor = 203.0.113.73 as 64500 tunnel az3\n",
		 tmpdir, tmpdir, tmpdir);
	static struct vd_config cfg2;
	cr_assert_eq(load(&cfg2, text2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(vd_anycast_tunnel_render_dir(&cfg2, tmpdir, err,
						  sizeof(err)),
		     1, "%s", err);
	s = slurp(tmpdir, "private/az3.pem");
	cr_assert_str_eq(s, "-----BEGIN k.pem-----\n");
	snprintf(path, sizeof(path), "%s/private/az3.pem", tmpdir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	s = slurp(tmpdir, "swanctl-az3.conf");
	cr_assert(strstr(s, "auth = pubkey") && !strstr(s, "\t\t\tid = 198") &&
		  strstr(s, "id = r.example\n"), "%s", s);

	/* A missing PSK stops the render with the reason. */
	cr_assert_eq(unlink(psk), 0);
	cr_assert_lt(vd_anycast_tunnel_render_dir(&cfg, tmpdir, err,
						  sizeof(err)),
		     0);
	cr_assert(strstr(err, "psk-file"), "%s", err);
}

Test(links, bfd_sessions_and_tunnel_state)
{
	static struct vd_config cfg;
	char err[512];
	cr_assert_eq(load(&cfg, BASE
			  "tunnel = g1 gre local 198.51.100.10 remote 192.0.2.1 "
			  "inner 203.0.113.66/30\n"
			  "tunnel = lo gre local 198.51.100.10 remote 192.0.2.9 "
			  "inner 203.0.113.90/30\n"
			  "vip-interface = dummy0\n"
			  "bgp-neighbor = 203.0.113.65 as 64500 tunnel g1 bfd\n"
			  "bgp-neighbor = 203.0.113.89 as 64500 tunnel lo bfd\n"
			  "bgp-neighbor = 192.0.2.77 as 64500\n",
			  err, sizeof(err)),
		     0, "%s", err);
	struct vd_anycast_links l;
	vd_anycast_links_init(&l, &cfg);
	cr_assert_eq(l.n_tunnels, 2);
	cr_assert_str_eq(vd_anycast_links_bfd_state(&l, "203.0.113.65"),
			 "unknown");
	cr_assert_null(vd_anycast_links_bfd_state(&l, "192.0.2.77"));

	char text[] = "vd_bfd:\n"
		      "IP address                Interface  State      Since   "
		      "      Interval  Timeout\n"
		      "203.0.113.65              g1         Up         "
		      "09:41:22.301    0.100    0.300\n"
		      "203.0.113.89              lo         Down       "
		      "2026-12-01 09:41:22    1.000    0.000\n";
	vd_anycast_links_parse_bfd(&l, text);
	cr_assert_eq(l.n_bfd, 2);
	cr_assert_str_eq(vd_anycast_links_bfd_state(&l, "203.0.113.65"), "Up");
	cr_assert_str_eq(vd_anycast_links_bfd_state(&l, "203.0.113.89"),
			 "Down");
	vd_anycast_links_update(&l);
	/* "g1" does not exist here; "lo" does and is up, but its BFD is
	 * Down, so the tunnel is not up either. */
	cr_assert(!l.tunnels[0].exists && !l.tunnels[0].up);
	cr_assert(l.tunnels[1].exists && l.tunnels[1].admin_up);
	cr_assert(!l.tunnels[1].up);
	cr_assert_eq(l.tunnels[1].bfd_total, 1);

	struct evbuffer *out = evbuffer_new();
	vd_anycast_links_status(&l, out);
	evbuffer_add(out, "", 1);
	const char *s = (const char *)evbuffer_pullup(out, -1);
	cr_assert(strstr(s, "tunnel g1: DOWN (gre, mtu 1476, interface "
			    "missing, BFD 1 of 1 up)\n"), "%s", s);
	cr_assert(strstr(s, "tunnel lo: DOWN (gre, mtu 1476, interface up, "
			    "BFD 0 of 1 up)\n"), "%s", s);
	cr_assert(strstr(s, "bfd 203.0.113.65: Up (interface g1, since "
			    "09:41:22.301)\n"), "%s", s);
	cr_assert(strstr(s, "bfd 203.0.113.89: Down"), "%s", s);
	evbuffer_free(out);

	char sum[96];
	vd_anycast_links_summary(&l, sum, sizeof(sum));
	cr_assert_str_eq(sum, "tunnels 0 of 2 up, BFD 1 of 2 up");

	/* BIRD gone: the sessions are unknown, not "none". */
	vd_anycast_links_parse_bfd(&l, NULL);
	cr_assert_str_eq(vd_anycast_links_bfd_state(&l, "203.0.113.65"),
			 "unknown");
	char none[] = "vd_bfd:\nIP address Interface State Since Interval "
		      "Timeout\n";
	vd_anycast_links_parse_bfd(&l, none);
	cr_assert_str_eq(vd_anycast_links_bfd_state(&l, "203.0.113.65"),
			 "none");
}
