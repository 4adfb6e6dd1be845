/*
 * src/resolve/zones.c: the zone and policy options are checked and
 * normalised line by line, rendered as the Unbound config text libunbound
 * reads, and a change between two configs names exactly the subtrees
 * whose cached answers must go.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "config/config.h"
#include "dns/query.h"
#include "resolve/zones.h"

static char out[VD_CONFIG_LONG_MAX];

static void ok(const char *(*fn)(const char *, char *, size_t), const char *in,
	       const char *want)
{
	memset(out, 0, sizeof(out));
	const char *why = fn(in, out, sizeof(out));
	cr_assert_null(why, "\"%s\": %s", in, why);
	cr_assert_str_eq(out, want, "\"%s\"", in);
}

static void bad(const char *(*fn)(const char *, char *, size_t), const char *in)
{
	cr_assert_not_null(fn(in, out, sizeof(out)), "\"%s\" accepted", in);
}

Test(zones, forward_and_stub_lines)
{
	ok(vd_zones_check_forward, "VPC.Internal 192.0.2.53 2001:db8::53@5353",
	   "vpc.internal. 192.0.2.53@53 2001:db8::53@5353");
	ok(vd_zones_check_forward, "corp. 192.0.2.1 first tls dns.corp",
	   "corp. 192.0.2.1@853 first tls dns.corp.");
	ok(vd_zones_check_forward, ". 192.0.2.1", ". 192.0.2.1@53");
	ok(vd_zones_check_stub, "corp. 2001:DB8:0::8 first",
	   "corp. 2001:db8::8@53 first");
	bad(vd_zones_check_forward, "corp.");                  /* no server */
	bad(vd_zones_check_forward, "corp. ns.corp.");         /* a name */
	bad(vd_zones_check_forward, "corp. 192.0.2.1@0");
	bad(vd_zones_check_forward, "corp. 192.0.2.1@65536");
	bad(vd_zones_check_forward, "corp. 192.0.2.1 tls");    /* no name */
	bad(vd_zones_check_forward, "corp. 192.0.2.1 first first");
	bad(vd_zones_check_forward, "co\"rp. 192.0.2.1");
	bad(vd_zones_check_forward, "a..b 192.0.2.1");
	bad(vd_zones_check_stub, "corp. 192.0.2.1 tls x.corp"); /* stub: no tls */
	char many[VD_CONFIG_LONG_MAX] = "corp.";
	for (int i = 0; i < 17; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 " 192.0.2.%d", i + 1);
	bad(vd_zones_check_forward, many);
}

Test(zones, local_zone_and_data_lines)
{
	ok(vd_zones_check_local_zone, "Test. NODEFAULT", "test. nodefault");
	ok(vd_zones_check_local_zone, "ads.example always_nxdomain",
	   "ads.example. always_nxdomain");
	bad(vd_zones_check_local_zone, "test.");
	bad(vd_zones_check_local_zone, "test. nosuchtype");
	bad(vd_zones_check_local_zone, "test. static extra");

	ok(vd_zones_check_local_data, "www.home.arpa. 300 IN A 192.0.2.80",
	   "www.home.arpa. 300 IN A 192.0.2.80");
	ok(vd_zones_check_local_data, "t.home.arpa. TXT \"a b\" \"c\"",
	   "t.home.arpa. TXT \"a b\" \"c\"");
	ok(vd_zones_check_local_data, "x.home.arpa. 1h IN TYPE65280 \\# 0",
	   "x.home.arpa. 1h IN TYPE65280 \\# 0");
	/* libunbound reads the TTL before the class only */
	bad(vd_zones_check_local_data, "x.home.arpa. IN 300 A 192.0.2.1");
	ok(vd_zones_check_local_data, "m.home.arpa. MX 10 mail.home.arpa.",
	   "m.home.arpa. MX 10 mail.home.arpa.");
	bad(vd_zones_check_local_data, "www.home.arpa. A");          /* no data */
	bad(vd_zones_check_local_data, "www.home.arpa. A 2001:db8::1");
	bad(vd_zones_check_local_data, "www.home.arpa. AAAA 192.0.2.1");
	bad(vd_zones_check_local_data, "www.home.arpa. A 192.0.2.1 192.0.2.2");
	bad(vd_zones_check_local_data, "www.home.arpa. 300 IN BOGUS 1");
	bad(vd_zones_check_local_data, "www.home.arpa. TYPE41 \\# 0"); /* OPT */
	bad(vd_zones_check_local_data, "c.home.arpa. CNAME a b");
	bad(vd_zones_check_local_data, "m.home.arpa. MX mail.home.arpa.");
	bad(vd_zones_check_local_data, "t.home.arpa. TXT \"it's\"");
	bad(vd_zones_check_local_data, "@ A 192.0.2.1");
	/* would escape the closing quote of the rendered line */
	bad(vd_zones_check_local_data, "t.home.arpa. TXT x\\");

	ok(vd_zones_check_local_data_ptr, "2001:DB8::80 www.home.arpa",
	   "2001:db8::80 www.home.arpa.");
	bad(vd_zones_check_local_data_ptr, "www.home.arpa. 192.0.2.1");
	bad(vd_zones_check_local_data_ptr, "192.0.2.1");
}

Test(zones, prefixes_and_dns64)
{
	ok(vd_zones_check_prefix, "192.168.1.7/16", "192.168.0.0/16");
	ok(vd_zones_check_prefix, "fd00::1/8", "fd00::/8");
	ok(vd_zones_check_prefix, "10.1.2.3", "10.1.2.3/32");
	bad(vd_zones_check_prefix, "10.0.0.0/33");
	bad(vd_zones_check_prefix, "10.0.0/8");
	ok(vd_zones_check_dns64_prefix, "64:ff9b::/96", "64:ff9b::/96");
	ok(vd_zones_check_dns64_prefix, "2001:db8:64::/48", "2001:db8:64::/48");
	ok(vd_zones_check_dns64_prefix, "", "");
	bad(vd_zones_check_dns64_prefix, "64:ff9b::/95"); /* not RFC 6052 */
	bad(vd_zones_check_dns64_prefix, "192.0.2.0/24");
	bad(vd_zones_check_dns64_prefix, "64:ff9b::");
}

static struct vd_config *load(const char *text)
{
	struct vd_config *cfg = malloc(sizeof(*cfg));
	cr_assert_not_null(cfg);
	vd_config_defaults(cfg);
	char err[512] = "";
	cr_assert_eq(vd_config_parse_string(cfg, "t.conf", text, err,
					    sizeof(err)),
		     0, "%s", err);
	return cfg;
}

Test(zones, rendered_for_libunbounds_reader)
{
	struct vd_config *cfg = load(
		"forward-zone = vpc.internal 192.0.2.53 192.0.2.54@5353 first\n"
		"forward-zone = dot.example 192.0.2.9 tls dns.example\n"
		"stub-zone = corp. 198.51.100.8\n"
		"domain-insecure = corp.\n"
		"local-zone = test. nodefault\n"
		"local-data = \"t.home.arpa. TXT \\\"hi\\\"\"\n"
		"local-data-ptr = \"192.0.2.80 www.home.arpa.\"\n"
		"private-address = 10.0.0.0/8\n"
		"private-domain = corp.\n"
		"dns64-prefix = 64:ff9b::/96\n");
	cr_assert(vd_zones_any(cfg));
	size_t cap = vd_zones_render_max();
	char *text = malloc(cap);
	int n = vd_zones_render(cfg, text, cap);
	cr_assert_gt(n, 0);
	const char *want[] = {
		"server:\n",
		"\tdomain-insecure: \"corp.\"\n",
		"\tlocal-zone: \"test.\" nodefault\n",
		/* the TXT string's quotes survive inside single quotes */
		"\tlocal-data: 't.home.arpa. TXT \"hi\"'\n",
		"\tlocal-data-ptr: \"192.0.2.80 www.home.arpa.\"\n",
		"\tprivate-address: 10.0.0.0/8\n",
		"\tprivate-domain: \"corp.\"\n",
		"\tdns64-prefix: 64:ff9b::/96\n",
		("forward-zone:\n\tname: \"vpc.internal.\"\n"
		 "\tforward-addr: 192.0.2.53@53\n\tforward-addr: 192.0.2.54@5353\n"
		 "\tforward-first: yes\n"),
		/* the certificate name without the root dot */
		("\tforward-addr: 192.0.2.9@853#dns.example\n"
		 "\tforward-tls-upstream: yes\n"),
		"stub-zone:\n\tname: \"corp.\"\n\tstub-addr: 198.51.100.8@53\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_not_null(strstr(text, want[i]), "missing %s in:\n%s",
				   want[i], text);
	/* Too small a buffer is an error, never a silently cut config. */
	cr_assert_eq(vd_zones_render(cfg, text, 40), -ENOSPC);
	free(text);
	free(cfg);
}

struct names {
	char seen[16][VD_DNS_NAME_MAX * 4];
	size_t n;
};

static void collect(const uint8_t *name, size_t len, void *arg)
{
	struct names *ns = arg;
	cr_assert_lt(ns->n, 16);
	cr_assert_geq(vd_dns_name_to_str(name, len, ns->seen[ns->n++],
					 sizeof(ns->seen[0])),
		      0);
}

static bool saw(const struct names *ns, const char *name)
{
	for (size_t i = 0; i < ns->n; i++)
		if (!strcmp(ns->seen[i], name))
			return true;
	return false;
}

Test(zones, a_change_names_what_to_flush)
{
	struct vd_config *a = load("local-zone = ads.example. always_nxdomain\n"
				   "local-data = \"www.home.arpa. A 192.0.2.80\"\n"
				   "forward-zone = vpc.internal 192.0.2.53\n"
				   "local-data-ptr = \"192.0.2.80 www.home.arpa.\"\n");
	struct vd_config *b = load("local-zone = ads.example. always_nxdomain\n"
				   "local-data = \"www.home.arpa. A 192.0.2.81\"\n"
				   "forward-zone = vpc.internal 192.0.2.54\n"
				   "stub-zone = corp. 198.51.100.8\n");
	struct names ns = {0};
	cr_assert_not(vd_zones_diff(a, a, collect, &ns));
	cr_assert_eq(ns.n, 0, "an unchanged config flushes nothing");
	cr_assert_not(vd_zones_changed(a, a));

	cr_assert_not(vd_zones_diff(a, b, collect, &ns), "no global change");
	cr_assert(vd_zones_changed(a, b));
	cr_assert(saw(&ns, "www.home.arpa."));
	cr_assert(saw(&ns, "vpc.internal."));
	cr_assert(saw(&ns, "corp."));
	cr_assert(saw(&ns, "80.2.0.192.in-addr.arpa."), "the removed PTR");
	cr_assert_not(saw(&ns, "ads.example."), "unchanged lines stay cached");

	/* Rebinding protection or DNS64 changes answers for any name. */
	struct vd_config *c = load("private-address = 10.0.0.0/8\n");
	struct vd_config *d = load("dns64-prefix = 64:ff9b::/96\n");
	struct names none = {0};
	cr_assert(vd_zones_diff(a, c, collect, &none));
	cr_assert(vd_zones_diff(a, d, collect, &none));
	free(a);
	free(b);
	free(c);
	free(d);
}

Test(zones, bad_lines_name_file_and_line)
{
	struct vd_config *cfg = malloc(sizeof(*cfg));
	vd_config_defaults(cfg);
	const struct {
		const char *text, *want;
	} cases[] = {
		{"threads = 1\nforward-zone = corp. ns.corp.\n", "t.conf:2: forward-zone:"},
		{"stub-zone = corp.\n", "t.conf:1: stub-zone:"},
		{"\n\nlocal-zone = test. bogus\n", "t.conf:3: local-zone:"},
		{"local-data = \"x. A 2001:db8::1\"\n", "t.conf:1: local-data:"},
		{"local-data-ptr = \"x. 192.0.2.1\"\n", "t.conf:1: local-data-ptr:"},
		{"private-address = 10.0.0.0/40\n", "t.conf:1: private-address:"},
		{"private-domain = a..b\n", "t.conf:1: private-domain:"},
		{"domain-insecure = a..b\n", "t.conf:1: domain-insecure:"},
		{"dns64-prefix = 64:ff9b::/33\n", "t.conf:1: dns64-prefix:"},
		{"dns64-ignore-aaaa = a..b\n", "t.conf:1: dns64-ignore-aaaa:"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = "";
		vd_config_defaults(cfg);
		cr_assert_neq(vd_config_parse_string(cfg, "t.conf", cases[i].text,
						     err, sizeof(err)),
			      0, "%s accepted", cases[i].text);
		cr_assert_not_null(strstr(err, cases[i].want), "got \"%s\"",
				   err);
	}
	free(cfg);
}
