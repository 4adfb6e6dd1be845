/* Unit tests for src/anycast/parse.c and birdconf.c and the anycast keys
 * of the config table. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "anycast/birdconf.h"
#include "anycast/parse.h"
#include "config/config.h"

Test(anycast_parse, vip_forms)
{
	struct vd_anycast_vip v;
	const char *why = NULL;
	cr_assert_eq(vd_anycast_vip_parse("203.0.113.1", &v, &why), 0);
	cr_assert_eq(v.family, AF_INET);
	cr_assert_str_eq(v.prefix_str, "203.0.113.1/32");
	cr_assert_eq(vd_anycast_vip_parse("2001:db8::1", &v, &why), 0);
	cr_assert_str_eq(v.prefix_str, "2001:db8::1/128");
	cr_assert_eq(vd_anycast_vip_parse("203.0.113.65/26", &v, &why), 0);
	cr_assert_str_eq(v.prefix_str, "203.0.113.64/26");
	cr_assert_str_eq(v.addr_str, "203.0.113.65");
	cr_assert_eq(vd_anycast_vip_parse("203.0.113.1/33", &v, &why), -EINVAL);
	cr_assert_eq(vd_anycast_vip_parse("203.0.113.1/", &v, &why), -EINVAL);
	cr_assert_eq(vd_anycast_vip_parse("vip.example", &v, &why), -EINVAL);
	cr_assert_not_null(why);
}

Test(anycast_parse, neighbor_options)
{
	struct vd_anycast_neighbor n;
	const char *why = NULL;
	cr_assert_eq(vd_anycast_neighbor_parse(
			     "192.0.2.1 as 64500 multihop 2 source 192.0.2.5 "
			     "password abc hold 9 keepalive 3 bfd "
			     "next-hop6 2001:db8::5",
			     &n, &why),
		     0, "%s", why);
	cr_assert_eq(n.remote_as, 64500);
	cr_assert(n.multihop && n.multihop_ttl == 2 && n.bfd);
	cr_assert_str_eq(n.source, "192.0.2.5");
	cr_assert_str_eq(n.password, "abc");
	cr_assert(n.hold == 9 && n.keepalive == 3);
	cr_assert(n.carry4 && n.carry6);
	cr_assert_str_eq(n.next_hop6, "2001:db8::5");

	cr_assert_eq(vd_anycast_neighbor_parse("2001:db8::1 as 4200000000",
					       &n, &why), 0);
	cr_assert(!n.carry4 && n.carry6);
	cr_assert_eq(vd_anycast_neighbor_parse("192.0.2.1 as 1 next-hop6 "
					       "2001:db8::5", &n, &why), 0);
	cr_assert(n.carry4 && n.carry6);

	static const char *const bad[] = {
		"192.0.2.1",                          /* no AS */
		"192.0.2.1 as 0",                     /* AS 0 */
		"192.0.2.1 as 4294967296",            /* too large */
		"bgp.example as 1",                   /* not an address */
		"192.0.2.1 as 1 hold 2",              /* hold < 3 */
		"192.0.2.1 as 1 hold 9 keepalive 4",  /* > hold/3 */
		"192.0.2.1 as 1 password a\"b",       /* quote */
		"192.0.2.1 as 1 multihop bfd",        /* BFD multihop, no source */
		"192.0.2.1 as 1 source 2001:db8::1",  /* wrong family */
		"2001:db8::1 as 1 next-hop6 2001:db8::5", /* v6 session */
		/* IPv4-mapped next hops: routers refuse them (issue 9) */
		"192.0.2.1 as 1 extended-next-hop",
		"192.0.2.1 as 1 v6",                  /* v6 over v4, no next hop */
		"192.0.2.1 as 1 frobnicate",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		cr_assert_eq(vd_anycast_neighbor_parse(bad[i], &n, &why),
			     -EINVAL, "accepted: %s", bad[i]);
		cr_assert_not_null(why);
	}
}

Test(anycast_parse, canary)
{
	struct vd_anycast_canary c;
	const char *why = NULL;
	cr_assert_eq(vd_anycast_canary_parse("*.lab. A", &c, &why), 0);
	cr_assert(c.random_label && c.qtype == 1);
	cr_assert_eq(vd_anycast_canary_parse("www.example aaaa", &c, &why), 0);
	cr_assert(!c.random_label && c.qtype == 28);
	cr_assert_eq(vd_anycast_canary_parse(". NS", &c, &why), 0);
	cr_assert_eq(vd_anycast_canary_parse("a.*.lab", &c, &why), -EINVAL);
	cr_assert_eq(vd_anycast_canary_parse("www..lab", &c, &why), -EINVAL);
	cr_assert_eq(vd_anycast_canary_parse("www.lab PTRX", &c, &why), -EINVAL);
}

/* Names the probe cannot send must fail the config check, or every VIP
 * stays withdrawn behind a config that "vipdnsd -t" accepted. */
Test(anycast_parse, canary_rejects_what_the_probe_cannot_send)
{
	struct vd_anycast_canary c;
	const char *why = NULL;
	char name[300];

	cr_assert_eq(vd_anycast_canary_parse(".lab A", &c, &why), -EINVAL,
		     "empty first label");
	cr_assert_eq(vd_anycast_canary_parse("*..lab A", &c, &why), -EINVAL);
	/* a 64-byte label */
	memset(name, 'a', 64);
	snprintf(name + 64, sizeof(name) - 64, ".lab A");
	cr_assert_eq(vd_anycast_canary_parse(name, &c, &why), -EINVAL,
		     "label over 63");
	/* 63 is fine */
	snprintf(name + 63, sizeof(name) - 63, ".lab A");
	cr_assert_eq(vd_anycast_canary_parse(name, &c, &why), 0);

	/* 250 characters: a valid name of 252 wire bytes, but "*." plus it
	 * is probed with a 13-byte label in place of the '*': 264 bytes. */
	size_t n = 0;
	for (int i = 0; i < 5; i++) {
		memset(name + n, 'b', 49);
		n += 49;
		name[n++] = '.';
	}
	snprintf(name + n, sizeof(name) - n, "lab A");
	cr_assert_eq(vd_anycast_canary_parse(name, &c, &why), 0);
	char star[320];
	snprintf(star, sizeof(star), "*.%s", name);
	cr_assert_eq(vd_anycast_canary_parse(star, &c, &why), -EINVAL,
		     "*. name past 255 bytes as probed");
}

/* The parser encodes what the probe sends: a "*." canary carries the
 * probe's random label, eight hex digits at a fixed place. */
Test(anycast_parse, canary_wire_is_the_probe_question)
{
	struct vd_anycast_canary c;
	const char *why = NULL;
	static const uint8_t want[] = "\x0dvdhc-00000000\x03lab\x00";

	cr_assert_eq(vd_anycast_canary_parse("*.Lab. A", &c, &why), 0);
	cr_assert_eq(c.wire_len, sizeof(want) - 1);
	cr_assert_arr_eq(c.wire, want, sizeof(want) - 1);
	cr_assert_eq(c.wire[VD_ANYCAST_CANARY_RANDOM_OFF], '0');
	cr_assert_eq(c.wire[VD_ANYCAST_CANARY_RANDOM_OFF - 1], '-');
	cr_assert_eq(vd_anycast_canary_parse(". NS", &c, &why), 0);
	cr_assert_eq(c.wire_len, 1);
	cr_assert_eq(c.wire[0], 0);
}

static const char *const good_conf =
	"anycast = yes\n"
	"listen = 203.0.113.1\n"
	"vip = 203.0.113.1\n"
	"vip = 2001:db8::1/128\n"
	"bgp-router-id = 192.0.2.5\n"
	"bgp-local-as = 4200000001\n"
	"bgp-neighbor = 192.0.2.1 as 64500 bfd next-hop6 2001:db8::5\n"
	"health-canary = *.lab. A\n"
	"health-rise = 3\n"
	"drain-timeout = 5\n"
	"bird-announce-file = /run/test/announce.conf\n";

Test(anycast_config, keys_parse_and_validate)
{
	struct vd_config *cfg = malloc(sizeof(*cfg));
	char err[512];
	vd_config_defaults(cfg);
	cr_assert_eq(vd_config_parse_string(cfg, "t.conf", good_conf, err,
					    sizeof(err)), 0, "%s", err);
	cr_assert(cfg->anycast);
	cr_assert_eq(cfg->n_vips, 2);
	cr_assert_str_eq(cfg->vips[0], "203.0.113.1/32");
	cr_assert_eq(cfg->bgp_local_as, 4200000001ull);
	cr_assert_eq(cfg->health_rise, 3);
	cr_assert_eq(cfg->health_fall, 2);
	cr_assert_str_eq(cfg->vip_interface, "lo");

	vd_config_defaults(cfg);
	cr_assert_eq(vd_config_parse_string(cfg, "t.conf",
					    "anycast = yes\nvip = 203.0.113.1\n",
					    err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "t.conf:1: anycast = yes needs bgp-router-id");
	vd_config_defaults(cfg);
	cr_assert_eq(vd_config_parse_string(cfg, "t.conf",
					    "bgp-neighbor = 192.0.2.1 as 0\n",
					    err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "t.conf:1: bgp-neighbor: AS number") == err,
		  "%s", err);
	free(cfg);
}

static char *render(const struct vd_config *cfg)
{
	char *buf = NULL, err[256];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_eq(vd_anycast_bird_render(f, cfg, "t.conf", err, sizeof(err)),
		     0, "%s", err);
	fclose(f);
	return buf;
}

Test(anycast_birdconf, export_filter_bounds_to_vips)
{
	struct vd_config *cfg = malloc(sizeof(*cfg));
	char err[512];
	vd_config_defaults(cfg);
	cr_assert_eq(vd_config_parse_string(cfg, "t.conf", good_conf, err,
					    sizeof(err)), 0, "%s", err);
	char *c = render(cfg);
	cr_assert(strstr(c, "router id 192.0.2.5;"));
	cr_assert(strstr(c, "include \"/run/test/announce.conf\";"));
	cr_assert(strstr(c, "if net ~ [ 203.0.113.1/32 ] then return true;"));
	cr_assert(strstr(c, "if net ~ [ 2001:db8::1/128 ] then return true;"));
	cr_assert(strstr(c, "if proto != \"vd_vips\" then reject;"));
	cr_assert(strstr(c, "bgp_community.add((65535, 0))"));
	cr_assert(strstr(c, "import none;"));
	cr_assert(strstr(c, "next hop address 2001:db8::5;"));
	cr_assert(strstr(c, "local as 4200000001;"));
	cr_assert(strstr(c, "bfd on;"));
	free(c);
	free(cfg);
}

Test(anycast_birdconf, announce_include)
{
	struct vd_anycast_vip v[3];
	cr_assert_eq(vd_anycast_vip_parse("203.0.113.1", &v[0], NULL), 0);
	cr_assert_eq(vd_anycast_vip_parse("203.0.113.2", &v[1], NULL), 0);
	cr_assert_eq(vd_anycast_vip_parse("2001:db8::1", &v[2], NULL), 0);
	bool ann[3] = {true, false, true}, drain[3] = {true, true, false};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	bool worse[3] = {false, true, true};
	vd_anycast_bird_render_announce(f, v, 3, ann, drain, worse);
	fclose(f);
	/* announced: .1 and ::1; graceful shutdown only on .1 (.2 is not
	 * announced at all) */
	const char *dr = strstr(buf, "function vd_draining()");
	cr_assert_not_null(dr);
	const char *a = strstr(buf, "function vd_announced()");
	cr_assert(a && a < dr);
	cr_assert(strstr(a, "[ 203.0.113.1/32 ]") < dr);
	cr_assert(strstr(a, "[ 2001:db8::1/128 ]") < dr);
	cr_assert_null(strstr(buf, "203.0.113.2/32 ]"));
	cr_assert(strstr(dr, "[ 203.0.113.1/32 ]"));
	const char *dg = strstr(buf, "function vd_degraded()");
	cr_assert(dg && dr < dg);
	const char *v6 = strstr(dr, "2001:db8::1/128");
	cr_assert(v6 && v6 > dg, "::1 is not draining");
	/* degraded only where announced: ::1, not .2 */
	cr_assert(strstr(dg, "[ 2001:db8::1/128 ]"));
	cr_assert_null(strstr(dg, "203.0.113"));
	free(buf);

	/* nothing announced: no empty prefix set (BIRD rejects "[ ]") */
	bool none[3] = {false, false, false};
	f = open_memstream(&buf, &len);
	vd_anycast_bird_render_announce(f, v, 3, none, none, none);
	fclose(f);
	cr_assert_null(strstr(buf, "[ "));
	free(buf);
}
