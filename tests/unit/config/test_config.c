/* Unit tests for src/config/config.c: the option table, every value type,
 * each error with its exact "name:line: reason", and dump round trips. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/log.h"

static char err[512];

static int parse(struct vd_config *cfg, const char *text)
{
	err[0] = '\0';
	return vd_config_parse_string(cfg, "t.conf", text, err, sizeof(err));
}

static void parse_ok(struct vd_config *cfg, const char *text)
{
	int rc = parse(cfg, text);
	cr_assert_eq(rc, 0, "rejected: %s", err);
}

static void parse_fails(const char *text, const char *expect)
{
	struct vd_config *cfg = malloc(sizeof(*cfg));
	cr_assert_eq(parse(cfg, text), -EINVAL, "accepted: %s", text);
	cr_assert_str_eq(err, expect, "input: %s", text);
	free(cfg);
}

/* "ADDR@PORT" of a listener, for compact assertions. */
static const char *listen_str(const struct vd_listen *l)
{
	static char buf[80];
	char a[64];
	const struct sockaddr_storage *ss = &l->addr;
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, sizeof(buf), "%s@%u", a, ntohs(s6->sin6_port));
		cr_assert_eq(l->addr_len, sizeof(*s6));
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;
		cr_assert_eq(ss->ss_family, AF_INET);
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, sizeof(buf), "%s@%u", a, ntohs(s4->sin_port));
		cr_assert_eq(l->addr_len, sizeof(*s4));
	}
	return buf;
}

static enum vd_acl_action acl_match(const struct vd_config *cfg,
				    const char *addr)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		inet_pton(AF_INET, addr, &s4->sin_addr);
	}
	return vd_acl_match(&cfg->acl, (struct sockaddr *)&ss);
}

Test(config, defaults_are_a_usable_zero_config)
{
	struct vd_config *c = malloc(sizeof(*c));
	vd_config_defaults(c);
	cr_assert_eq(c->n_listen, 2);
	cr_assert_str_eq(listen_str(&c->listen[0]), "127.0.0.1@53");
	cr_assert_str_eq(listen_str(&c->listen[1]), "::1@53");
	cr_assert_eq(c->threads, 0);
	cr_assert_eq(c->edns_buffer_size, 1232);
	cr_assert_eq(c->tcp_idle_timeout_ms, 10000);
	cr_assert_eq(c->tcp_max_connections, 1024);
	cr_assert_eq(c->so_rcvbuf, 0);
	cr_assert_eq(c->so_sndbuf, 0);
	cr_assert_eq(c->cache_size, 64u << 20);
	cr_assert_eq(c->cache_min_ttl, 0);
	cr_assert_eq(c->cache_max_ttl, 86400);
	cr_assert_eq(c->cache_max_negative_ttl, 3600);
	cr_assert_eq(c->servfail_ttl, 5);
	cr_assert(c->serve_stale);
	cr_assert_eq(c->stale_max_age, 86400);
	cr_assert_eq(c->stale_answer_ttl, 30);
	cr_assert_eq(c->stale_client_timeout_ms, 1800);
	cr_assert(c->prefetch);
	cr_assert_eq(c->prefetch_percent, 10);
	cr_assert_eq(c->prefetch_min_hits, 2);
	cr_assert_eq(c->max_recursions, 2048);
	cr_assert_eq(c->recursion_timeout_ms, 10000);
	cr_assert(c->dnssec && c->qname_minimisation && c->aggressive_nsec &&
		  c->use_caps_for_id);
	cr_assert_str_eq(c->root_hints, "");
	cr_assert_eq(c->n_trust_anchor_files, 0);
	cr_assert_eq(c->n_unbound_options, 0);
	cr_assert_eq(c->acl.n_rules, 2);
	cr_assert_eq(c->acl.default_action, VD_ACL_REFUSE);
	cr_assert_eq(acl_match(c, "127.0.0.1"), VD_ACL_ALLOW);
	cr_assert_eq(acl_match(c, "::1"), VD_ACL_ALLOW);
	cr_assert_eq(acl_match(c, "::ffff:127.1.2.3"), VD_ACL_ALLOW);
	cr_assert_eq(acl_match(c, "192.0.2.1"), VD_ACL_REFUSE);
	cr_assert_str_eq(c->node_id, "");
	cr_assert_str_eq(c->user, "");
	cr_assert_str_eq(c->pidfile, "");
	cr_assert_eq(c->log_level, VD_LOG_NOTICE);
	cr_assert_eq(c->log_target, VD_LOG_STDERR);
	cr_assert_str_eq(c->control_socket, "/run/vipdns/control.sock");
	cr_assert_eq(c->control_socket_mode, 0660);

	/* An empty file is the defaults. */
	struct vd_config *e = malloc(sizeof(*e));
	parse_ok(e, "");
	cr_assert_eq(memcmp(c, e, sizeof(*c)), 0);
	parse_ok(e, "# only a comment\n\n   \n\t# another\n");
	cr_assert_eq(memcmp(c, e, sizeof(*c)), 0);
	free(c);
	free(e);
}

Test(config, every_type_parses)
{
	struct vd_config *c = malloc(sizeof(*c));
	parse_ok(c, "threads = 8\n"
		    "edns-buffer-size = 4096\n"
		    "so-rcvbuf = 4M\n"
		    "so-sndbuf = 512k\n"
		    "cache-size = 2G\n"
		    "cache-min-ttl = 60\n"
		    "serve-stale = no\n"
		    "prefetch = off\n"
		    "dnssec = false\n"
		    "qname-minimisation = on\n"
		    "aggressive-nsec = true\n"
		    "use-caps-for-id = yes\n"
		    "root-hints = /etc/vipdns/root.hints\n"
		    "log-level = debug\n"
		    "log-target = syslog\n"
		    "acl-default = drop\n"
		    "control-socket-mode = 600\n"
		    "pidfile = \"/run/vipdns.pid\"\n");
	cr_assert_eq(c->threads, 8);
	cr_assert_eq(c->edns_buffer_size, 4096);
	cr_assert_eq(c->so_rcvbuf, 4 << 20);
	cr_assert_eq(c->so_sndbuf, 512 << 10);
	cr_assert_eq(c->cache_size, (size_t)2 << 30);
	cr_assert_eq(c->cache_min_ttl, 60);
	cr_assert(!c->serve_stale && !c->prefetch && !c->dnssec);
	cr_assert(c->qname_minimisation && c->aggressive_nsec &&
		  c->use_caps_for_id);
	cr_assert_str_eq(c->root_hints, "/etc/vipdns/root.hints");
	cr_assert_eq(c->log_level, VD_LOG_DEBUG);
	cr_assert_eq(c->log_target, VD_LOG_SYSLOG);
	cr_assert_eq(c->acl.default_action, VD_ACL_DROP);
	cr_assert_eq(c->control_socket_mode, 0600);
	cr_assert_str_eq(c->pidfile, "/run/vipdns.pid");

	parse_ok(c, "cache-size = 1048576\ncontrol-socket-mode = 0\n"
		    "log-level = crit\nuser =\n");
	cr_assert_eq(c->cache_size, 1u << 20);
	cr_assert_eq(c->control_socket_mode, 0);
	cr_assert_eq(c->log_level, VD_LOG_CRIT);
	cr_assert_str_eq(c->user, "");
	free(c);
}

Test(config, range_edges_accepted)
{
	struct vd_config *c = malloc(sizeof(*c));
	parse_ok(c, "threads = 64\nedns-buffer-size = 512\n"
		    "cache-size = 64G\nso-rcvbuf = 256M\n"
		    "tcp-idle-timeout = 600000\ncontrol-socket-mode = 0777\n"
		    "cache-max-ttl = 604800\ncache-min-ttl = 3600\n");
	cr_assert_eq(c->cache_size, (size_t)64 << 30);
	cr_assert_eq(c->so_rcvbuf, 256 << 20);
	cr_assert_eq(c->control_socket_mode, 0777);
	free(c);
}

Test(config, listen_first_line_replaces_defaults)
{
	struct vd_config *c = malloc(sizeof(*c));
	parse_ok(c, "listen = 192.0.2.53\n"
		    "threads = 2\n"
		    "listen = 2001:db8::53@5353\n"
		    "listen = 192.0.2.53@853\n");
	cr_assert_eq(c->n_listen, 3);
	cr_assert_str_eq(listen_str(&c->listen[0]), "192.0.2.53@53");
	cr_assert_str_eq(listen_str(&c->listen[1]), "2001:db8::53@5353");
	cr_assert_str_eq(listen_str(&c->listen[2]), "192.0.2.53@853");
	/* Re-listing a default is not a duplicate once defaults are gone. */
	parse_ok(c, "listen = 127.0.0.1\nlisten = ::1@53\n");
	cr_assert_eq(c->n_listen, 2);
	free(c);
}

Test(config, acl_defaults_kept_and_overridable)
{
	struct vd_config *c = malloc(sizeof(*c));
	parse_ok(c, "acl = 192.0.2.0/24 allow\n"
		    "acl = \"2001:db8::/32 drop\"\n"
		    "acl-default = drop\n");
	cr_assert_eq(c->acl.n_rules, 4);
	cr_assert_eq(acl_match(c, "127.0.0.1"), VD_ACL_ALLOW);
	cr_assert_eq(acl_match(c, "::1"), VD_ACL_ALLOW);
	cr_assert_eq(acl_match(c, "192.0.2.1"), VD_ACL_ALLOW);
	cr_assert_eq(acl_match(c, "::ffff:192.0.2.1"), VD_ACL_ALLOW);
	cr_assert_eq(acl_match(c, "2001:db8::1"), VD_ACL_DROP);
	cr_assert_eq(acl_match(c, "198.51.100.1"), VD_ACL_DROP);

	parse_ok(c, "acl = 127.0.0.0/8 refuse\n");
	cr_assert_eq(c->acl.n_rules, 2);
	cr_assert_eq(acl_match(c, "127.0.0.1"), VD_ACL_REFUSE);
	free(c);
}

Test(config, string_lists_and_unbound_options)
{
	struct vd_config *c = malloc(sizeof(*c));
	char name[64];
	const char *value;
	parse_ok(c, "trust-anchor-file = /etc/vipdns/root.key\n"
		    "trust-anchor-file = \"/etc/vipdns/extra key.ds\"\n"
		    "unbound-option = do-not-query-localhost: no\n"
		    "unbound-option = \"outgoing-interface:   2001:db8::1 \"\n"
		    "unbound-option = val-log-level:\t2\n");
	cr_assert_eq(c->n_trust_anchor_files, 2);
	cr_assert_str_eq(c->trust_anchor_files[1], "/etc/vipdns/extra key.ds");
	cr_assert_eq(c->n_unbound_options, 3);
	cr_assert_str_eq(c->unbound_options[0], "do-not-query-localhost: no");
	/* Normalised: one space after the colon, value kept as written. */
	cr_assert_str_eq(c->unbound_options[1],
			 "outgoing-interface: 2001:db8::1 ");
	cr_assert_str_eq(c->unbound_options[2], "val-log-level: 2");
	cr_assert_eq(vd_config_unbound_option_split(c->unbound_options[1], name,
						    sizeof(name), &value),
		     0);
	cr_assert_str_eq(name, "outgoing-interface:");
	cr_assert_str_eq(value, "2001:db8::1 ");
	cr_assert_eq(vd_config_unbound_option_split("nocolon", name,
						    sizeof(name), &value),
		     -EINVAL);
	cr_assert_eq(vd_config_unbound_option_split("long-name: x", name, 4,
						    &value),
		     -ENOSPC);
	free(c);
}

Test(config, quoting_and_comments)
{
	struct vd_config *c = malloc(sizeof(*c));
	parse_ok(c, "  node-id   =   \"anycast # 7\"   # trailing comment\n"
		    "user=\"dns\\\\ops \\\"x\\\"\"\n"
		    "pidfile = /run/a b.pid # spaces inside an unquoted value\n"
		    "root-hints = \"  padded  \"\n"
		    "\tthreads\t=\t3\t\r\n"
		    "control-socket = \"\"\n");
	cr_assert_str_eq(c->node_id, "anycast # 7");
	cr_assert_str_eq(c->user, "dns\\ops \"x\"");
	cr_assert_str_eq(c->pidfile, "/run/a b.pid");
	cr_assert_str_eq(c->root_hints, "  padded  ");
	cr_assert_eq(c->threads, 3);
	cr_assert_str_eq(c->control_socket, "");
	/* No trailing newline on the last line. */
	parse_ok(c, "threads = 5");
	cr_assert_eq(c->threads, 5);
	free(c);
}

Test(config, errors_name_file_line_and_reason)
{
	static const struct {
		const char *text, *expect;
	} cases[] = {
		{"bogus = 1\n", "t.conf:1: unknown option \"bogus\""},
		{"# c\n\nthreads 4\n",
		 "t.conf:3: threads: missing \"=\" after the option name"},
		{"\n\n\njust words\n",
		 "t.conf:4: expected \"option = value\", got \"just\""},
		{"= 4\n", "t.conf:1: missing option name before \"=\""},
		{"cache-size = lots\n",
		 "t.conf:1: cache-size: expected a size like 64M, got \"lots\""},
		{"cache-size = 512K\n",
		 "t.conf:1: cache-size: 512K is out of range (1M..64G)"},
		{"cache-size = 65G\n",
		 "t.conf:1: cache-size: 65G is out of range (1M..64G)"},
		{"cache-size = 99999999999999999999G\n",
		 "t.conf:1: cache-size: 99999999999999999999G is out of range "
		 "(1M..64G)"},
		{"cache-size = 16777216T\n",
		 "t.conf:1: cache-size: expected a size like 64M, got "
		 "\"16777216T\""},
		{"so-rcvbuf = -1\n",
		 "t.conf:1: so-rcvbuf: expected a size like 64M, got \"-1\""},
		{"threads = 65\n", "t.conf:1: threads: 65 is out of range (0..64)"},
		{"threads = 184467440737095516160\n",
		 "t.conf:1: threads: 184467440737095516160 is out of range "
		 "(0..64)"},
		{"threads = four\n",
		 "t.conf:1: threads: expected an integer from 0 to 64, got "
		 "\"four\""},
		{"threads = 4x\n",
		 "t.conf:1: threads: expected an integer from 0 to 64, got \"4x\""},
		{"threads =\n",
		 "t.conf:1: threads: expected an integer from 0 to 64, got \"\""},
		{"threads = +4\n",
		 "t.conf:1: threads: expected an integer from 0 to 64, got \"+4\""},
		{"edns-buffer-size = 511\n",
		 "t.conf:1: edns-buffer-size: 511 is out of range (512..4096)"},
		{"dnssec = maybe\n",
		 "t.conf:1: dnssec: expected yes or no, got \"maybe\""},
		{"log-level = verbose\n",
		 "t.conf:1: log-level: expected one of crit, err, warning, "
		 "notice, info, debug, got \"verbose\""},
		{"acl-default = deny\n",
		 "t.conf:1: acl-default: expected one of allow, refuse, drop, "
		 "got \"deny\""},
		{"control-socket-mode = 0888\n",
		 "t.conf:1: control-socket-mode: expected an octal mode like "
		 "0660, got \"0888\""},
		{"control-socket-mode = 1777\n",
		 "t.conf:1: control-socket-mode: 1777 is out of range (at most "
		 "0777)"},
		{"listen = localhost\n",
		 "t.conf:1: listen: expected an address like 192.0.2.1 or "
		 "2001:db8::1@5353, got \"localhost\""},
		{"listen = 192.0.2.1@0\n",
		 "t.conf:1: listen: expected a port from 1 to 65535 after '@', "
		 "got \"192.0.2.1@0\""},
		{"listen = 192.0.2.1@65536\n",
		 "t.conf:1: listen: expected a port from 1 to 65535 after '@', "
		 "got \"192.0.2.1@65536\""},
		{"listen = [::1]:53\n",
		 "t.conf:1: listen: expected an address like 192.0.2.1 or "
		 "2001:db8::1@5353, got \"[::1]:53\""},
		{"listen = ::1\nlisten = ::1@53\n",
		 "t.conf:2: listen: \"::1@53\" given twice"},
		{"acl = 192.0.2.0/24 permit\n",
		 "t.conf:1: acl: expected action allow, refuse or drop in "
		 "\"192.0.2.0/24 permit\""},
		{"acl = 192.0.2.1/24 allow\n",
		 "t.conf:1: acl: host bits set in \"192.0.2.1/24 allow\" (write "
		 "the network address)"},
		{"unbound-option = verbosity 2\n",
		 "t.conf:1: unbound-option: expected \"name: value\" like "
		 "\"do-not-query-localhost: no\", got \"verbosity 2\""},
		{"unbound-option = verbosity:2\n",
		 "t.conf:1: unbound-option: expected \"name: value\" like "
		 "\"do-not-query-localhost: no\", got \"verbosity:2\""},
		{"unbound-option = \"verbosity: \"\n",
		 "t.conf:1: unbound-option: expected \"name: value\" like "
		 "\"do-not-query-localhost: no\", got \"verbosity: \""},
		{"trust-anchor-file =\n",
		 "t.conf:1: trust-anchor-file: expected a value"},
		{"user = \"dns\n", "t.conf:1: user: unterminated quoted value"},
		{"user = \"d\\ns\"\n",
		 "t.conf:1: user: only \\\" and \\\\ may be escaped in a quoted "
		 "value"},
		{"user = \"dns\" extra\n",
		 "t.conf:1: user: unexpected text after the quoted value"},
		{"user = d\"ns\n",
		 "t.conf:1: user: stray quote (quote the whole value)"},
		{"user = a\x01z\n", "t.conf:1: control character 0x01 in line"},
		{"threads = 2\n# again\nthreads = 3\n",
		 "t.conf:3: threads: already set on line 1"},
		/* Cross-option errors name the later of the lines involved. */
		{"cache-min-ttl = 600\ncache-max-ttl = 300\n",
		 "t.conf:2: cache-min-ttl (600) is above cache-max-ttl (300)"},
		{"threads = 1\ntls-service-pem = /x.pem\n",
		 "t.conf:2: tls-service-key and tls-service-pem go together (DoT "
		 "needs both)"},
		{"\nanycast = yes\n",
		 "t.conf:2: anycast = yes needs at least one vip"},
		{"recursion-timeout = 1000\n",
		 "t.conf:1: stale-client-timeout (1800 ms) is not below "
		 "recursion-timeout (1000 ms); lower it or set 0 to serve stale "
		 "only on failure"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		parse_fails(cases[i].text, cases[i].expect);
}

Test(config, cross_field_ok_variants)
{
	struct vd_config *c = malloc(sizeof(*c));
	/* Equal TTLs, and the stale timeout check only applies when used. */
	parse_ok(c, "cache-min-ttl = 300\ncache-max-ttl = 300\n");
	parse_ok(c, "recursion-timeout = 1000\nstale-client-timeout = 0\n");
	parse_ok(c, "recursion-timeout = 1000\nserve-stale = no\n");
	free(c);
}

Test(config, overlong_values_and_lines)
{
	static char text[8192];
	char expect[128];

	/* 255 bytes fit, 256 do not. */
	memcpy(text, "node-id = ", 10);
	memset(text + 10, 'n', 255);
	text[265] = '\0';
	struct vd_config *c = malloc(sizeof(*c));
	parse_ok(c, text);
	cr_assert_eq(strlen(c->node_id), 255);
	memcpy(text, "\nnode-id = ", 11);
	memset(text + 11, 'n', 256);
	text[267] = '\0';
	parse_fails(text, "t.conf:2: node-id: too long (256 bytes, max 255)");

	memcpy(text, "control-socket = /", 18);
	memset(text + 18, 's', 107);
	text[125] = '\0';
	parse_fails(text, "t.conf:1: control-socket: too long (108 bytes, max "
			  "107)");

	memcpy(text, "trust-anchor-file = /", 21);
	memset(text + 21, 'k', 255);
	text[276] = '\0';
	parse_fails(text, "t.conf:1: trust-anchor-file: too long (256 bytes, "
			  "max 255)");

	/* A 4096-byte line is fine, 4097 is not (even a comment). */
	memset(text, '#', 4096);
	text[4096] = '\0';
	parse_ok(c, text);
	memcpy(text, "threads = 1\n", 12);
	memset(text + 12, '#', 4097);
	text[12 + 4097] = '\0';
	snprintf(expect, sizeof(expect),
		 "t.conf:2: line too long (max 4096 bytes)");
	parse_fails(text, expect);
	free(c);
}

Test(config, too_many_list_items)
{
	char *text = malloc(65536);
	size_t n = 0;
	for (unsigned i = 0; i <= VD_CONFIG_MAX_LISTEN; i++)
		n += (size_t)snprintf(text + n, 65536 - n,
				      "listen = 192.0.2.%u\n", i + 1);
	parse_fails(text, "t.conf:65: listen: too many entries (max 64)");

	n = 0;
	for (unsigned i = 0; i <= VD_CONFIG_MAX_LIST; i++)
		n += (size_t)snprintf(text + n, 65536 - n,
				      "unbound-option = verbosity: %u\n", i);
	parse_fails(text, "t.conf:65: unbound-option: too many entries (max "
			  "64)");

	/* Two rules are the defaults, so the 254th file rule fills it. */
	n = 0;
	for (unsigned i = 0; i < VD_ACL_MAX_RULES - 2; i++)
		n += (size_t)snprintf(text + n, 65536 - n,
				      "acl = 10.%u.%u.0/24 allow\n", i / 256,
				      i % 256);
	struct vd_config *c = malloc(sizeof(*c));
	parse_ok(c, text);
	cr_assert_eq(c->acl.n_rules, VD_ACL_MAX_RULES);
	snprintf(text + n, 65536 - n, "acl = 192.0.2.0/24 allow\n");
	parse_fails(text, "t.conf:255: acl: too many rules (max 256)");
	free(c);
	free(text);
}

static char *reference(bool markdown)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	vd_config_print_reference(f, markdown);
	fclose(f);
	return buf;
}

Test(config, reference_lists_every_option)
{
	char *plain = reference(false), *md = reference(true);
	char needle[80];
	cr_assert_gt(vd_config_option_count(), 30);
	cr_assert_null(vd_config_option_name(vd_config_option_count()));
	for (size_t i = 0; i < vd_config_option_count(); i++) {
		const char *name = vd_config_option_name(i);
		snprintf(needle, sizeof(needle), "\n%s = ", name);
		cr_assert(strstr(plain, needle) || strncmp(plain, needle + 1,
							    strlen(needle + 1)) == 0,
			  "%s missing from plain reference", name);
		snprintf(needle, sizeof(needle), "\n| `%s` |", name);
		cr_assert(strstr(md, needle), "%s missing from markdown", name);
	}
	/* Markdown rows: header + separator + one per option, 4 columns. */
	size_t rows = 0;
	for (const char *p = md; (p = strchr(p, '\n')); p++)
		rows++;
	cr_assert_eq(rows, vd_config_option_count() + 2);
	cr_assert(strstr(md, "| `cache-size` | size 1M..64G (K, M, G "
			     "suffixes) | `64M` |"));
	cr_assert(strstr(md, "one of crit, err, warning, notice, info, debug"));
	free(plain);
	free(md);
}

static void dump_round_trip(const char *text)
{
	struct vd_config *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	char *buf = NULL;
	size_t len = 0;
	parse_ok(a, text);
	FILE *f = open_memstream(&buf, &len);
	vd_config_dump(f, a);
	fclose(f);
	int rc = parse(b, buf);
	cr_assert_eq(rc, 0, "dump rejected: %s\n%s", err, buf);
	/* Both start from zeroed defaults and every setter zero-fills, so
	 * equal configurations are equal bytewise. */
	cr_assert_eq(memcmp(a, b, sizeof(*a)), 0, "differs after:\n%s", buf);
	free(buf);
	free(a);
	free(b);
}

Test(config, dump_parses_back_to_the_same_config)
{
	dump_round_trip("");
	dump_round_trip("listen = 192.0.2.53@5353\n"
			"listen = 2001:db8::53\n"
			"threads = 12\n"
			"so-rcvbuf = 1536K\n"
			"so-sndbuf = 1000\n"
			"cache-size = 3G\n"
			"cache-min-ttl = 10\n"
			"serve-stale = off\n"
			"stale-client-timeout = 0\n"
			"prefetch-min-hits = 0\n"
			"trust-anchor-file = /etc/a.key\n"
			"trust-anchor-file = \"/etc/b \\\"q\\\" \\\\.key\"\n"
			"unbound-option = outgoing-interface: 192.0.2.1\n"
			/* normalising shrinks it: found by fuzz_config */
			"unbound-option = verbosity:\t\t 0\t\t x\n"
			"acl = 192.0.2.0/24 allow\n"
			"acl = 0.0.0.0/0 drop\n"
			"acl = 2001:db8::/32 refuse\n"
			"acl = ::ffff:198.51.100.0/120 allow\n"
			"acl = 127.0.0.0/8 drop\n"
			"acl-default = allow\n"
			"node-id = \"pop1 # edge\"\n"
			"user = vipdns\n"
			"pidfile = \"\ttab\"\n"
			"log-level = info\n"
			"log-target = syslog\n"
			"control-socket-mode = 0600\n");
}

static void check_case(const char *dir, const char *file)
{
	char path[1024], first[256], expect[1400];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	cr_assert_not_null(fgets(first, sizeof(first), f));
	fclose(f);
	/* Each case states its own expected error on its first line:
	 * "# expect: :LINE: reason" (appended to the path). */
	cr_assert_eq(strncmp(first, "# expect: ", 10), 0, "%s: no expect line",
		     path);
	first[strcspn(first, "\r\n")] = '\0';
	snprintf(expect, sizeof(expect), "%s%s", path, first + 10);

	struct vd_config *c = malloc(sizeof(*c));
	err[0] = '\0';
	cr_assert_eq(vd_config_load(c, path, err, sizeof(err)), -EINVAL,
		     "%s accepted", path);
	cr_assert_str_eq(err, expect);
	free(c);
}

Test(config, bad_files_in_cases_dir)
{
	DIR *d = opendir(VD_TEST_CASES_DIR);
	cr_assert_not_null(d);
	unsigned n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		check_case(VD_TEST_CASES_DIR, de->d_name);
		n++;
	}
	closedir(d);
	cr_assert_geq(n, 5);
}

Test(config, load_good_file_and_missing_file)
{
	char path[] = "/tmp/vd_test_config_XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	FILE *f = fdopen(fd, "w");
	fputs("threads = 3\nlisten = 192.0.2.1\n", f);
	fclose(f);
	struct vd_config *c = malloc(sizeof(*c));
	cr_assert_eq(vd_config_load(c, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c->threads, 3);
	cr_assert_eq(c->n_listen, 1);

	/* Embedded NUL: caught by load (a string parse cannot see one). */
	f = fopen(path, "wb");
	fwrite("threads = 3\nuser = a\0b\n", 1, 23, f);
	fclose(f);
	char expect[128];
	snprintf(expect, sizeof(expect), "%s:2: NUL byte in line", path);
	cr_assert_eq(vd_config_load(c, path, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, expect);
	unlink(path);

	cr_assert_eq(vd_config_load(c, path, err, sizeof(err)), -ENOENT);
	snprintf(expect, sizeof(expect), "%s: No such file or directory", path);
	cr_assert_str_eq(err, expect);

	cr_assert_eq(vd_config_load(c, "/", err, sizeof(err)), -EISDIR);
	cr_assert_str_eq(err, "/: Is a directory");
	free(c);
}

Test(config, small_error_buffer_is_safe)
{
	struct vd_config *c = malloc(sizeof(*c));
	char small[8];
	cr_assert_eq(vd_config_parse_string(c, "t.conf", "bogus = 1", small,
					    sizeof(small)),
		     -EINVAL);
	cr_assert_str_eq(small, "t.conf:");
	cr_assert_eq(vd_config_parse_string(c, "t.conf", "bogus = 1", NULL, 0),
		     -EINVAL);
	free(c);
}

Test(config, messages_do_not_echo_control_bytes_or_huge_values)
{
	char text[300];
	memset(text, 0, sizeof(text));
	memcpy(text, "threads = ", 10);
	memset(text + 10, '9', 200);
	parse_fails(text, "t.conf:1: threads: "
			  "999999999999999999999999999999999999999999999999..."
			  " is out of range (0..64)");
	parse_fails("user = \"a\tb\" x\n",
		    "t.conf:1: user: unexpected text after the quoted value");
	parse_fails("threads = \"\t\"\n", "t.conf:1: threads: expected an "
					 "integer from 0 to 64, got \"?\"");
}

Test(config, warm_restart_and_negative_zone_options)
{
	struct vd_config *c = malloc(sizeof(*c));
	parse_ok(c, "cache-snapshot = /var/lib/x/c.snap\n"
		    "cache-warm-entries = 5000\n"
		    "stale-refresh-time = 0\n"
		    "cache-max-negative-ttl-zone = io. 60\n"
		    "cache-max-negative-ttl-zone = \"example.com 0\"\n");
	cr_assert_str_eq(c->cache_snapshot, "/var/lib/x/c.snap");
	cr_assert_eq(c->cache_warm_entries, 5000);
	cr_assert_eq(c->stale_refresh_time, 0);
	cr_assert_eq(c->n_neg_ttl_zones, 2);
	parse_ok(c, "cache-snapshot = \"\"\n");
	cr_assert_str_eq(c->cache_snapshot, "");
	free(c);
	parse_fails("cache-snapshot = relative.snap\n",
		    "t.conf:1: cache-snapshot: \"relative.snap\" is not an "
		    "absolute path");
	parse_fails("cache-max-negative-ttl-zone = io.\n",
		    "t.conf:1: cache-max-negative-ttl-zone: expected \"ZONE "
		    "SECONDS\" (0..86400) like \"io. 60\", got \"io.\"");
	parse_fails("cache-max-negative-ttl-zone = io. 86401\n",
		    "t.conf:1: cache-max-negative-ttl-zone: expected \"ZONE "
		    "SECONDS\" (0..86400) like \"io. 60\", got \"io. 86401\"");
	parse_fails("cache-max-negative-ttl-zone = io. -1\n",
		    "t.conf:1: cache-max-negative-ttl-zone: expected \"ZONE "
		    "SECONDS\" (0..86400) like \"io. 60\", got \"io. -1\"");
}
