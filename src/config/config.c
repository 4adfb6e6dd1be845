#include "config/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "anycast/parse.h"
#include "anycast/tunnel.h"
#include "core/addr.h"
#include "core/compiler.h"
#include "core/log.h"
#include "dns/query.h"
#include "resolve/zones.h"

#define MAX_LINE 4096
/* Far beyond any real config (64 listen + 256 acl lines is ~10 KiB); the cap
 * only stops a wrong path (a log file, /dev/zero) from eating memory. */
#define MAX_FILE (1u << 20)

enum opt_type {
	OPT_BOOL,
	OPT_UINT,
	OPT_SIZE,    /* bytes, optional K/M/G suffix (1024-based) */
	OPT_STRING,  /* max = longest accepted length */
	OPT_ENUM,
	OPT_MODE,    /* octal file mode */
	OPT_LISTEN,  /* list of struct vd_listen */
	OPT_ACL,     /* rules added to struct vd_acl; defaults kept */
	OPT_STRLIST, /* list of char[size / max]: VD_CONFIG_STR_MAX, or
		      * VD_CONFIG_LONG_MAX for values that name files */
};

struct opt_enum {
	const char *name;
	int value;
};

/*
 * Checks (and may rewrite into out, outlen bytes) one string value.
 * Returns NULL when fine, else a reason naming what was expected.
 */
typedef const char *opt_check_fn(const char *in, char *out, size_t outlen);

struct opt {
	const char *name;
	enum opt_type type;
	size_t offset;       /* of the field in struct vd_config */
	size_t size;         /* of that field: integers are stored by width */
	size_t count_offset; /* lists: the size_t item count */
	const char *def;     /* as written in a file; lists: ", "-separated */
	uint64_t min, max;   /* integers: range; strings: max length */
	const struct opt_enum *enums; /* NULL-name terminated */
	opt_check_fn *check;
	const char *doc;
};

static const struct opt_enum log_levels[] = {
	{"crit", VD_LOG_CRIT},     {"err", VD_LOG_ERR},   {"warning", VD_LOG_WARNING},
	{"notice", VD_LOG_NOTICE}, {"info", VD_LOG_INFO}, {"debug", VD_LOG_DEBUG},
	{NULL, 0},
};

static const struct opt_enum log_targets[] = {
	{"stderr", VD_LOG_STDERR},
	{"syslog", VD_LOG_SYSLOG},
	{NULL, 0},
};

static const struct opt_enum xdp_modes[] = {
	{"auto", VD_CONFIG_XDP_AUTO},
	{"native", VD_CONFIG_XDP_NATIVE},
	{"generic", VD_CONFIG_XDP_GENERIC},
	{NULL, 0},
};

static const struct opt_enum acl_actions[] = {
	{"allow", VD_ACL_ALLOW},
	{"refuse", VD_ACL_REFUSE},
	{"drop", VD_ACL_DROP},
	{NULL, 0},
};

static opt_check_fn check_unbound_option;
static opt_check_fn check_ifname;
static opt_check_fn check_endpoint;
static opt_check_fn check_cluster_peer;
static opt_check_fn check_vip;
static opt_check_fn check_bgp_neighbor;
static opt_check_fn check_tunnel;
static opt_check_fn check_canary;
static opt_check_fn check_ipv4;
static opt_check_fn check_degrade;
static opt_check_fn check_neg_zone;

#define FIELD(f)                                                               \
	.offset = offsetof(struct vd_config, f),                               \
	.size = sizeof(((struct vd_config *)0)->f)
#define LIST(f, n) FIELD(f), .count_offset = offsetof(struct vd_config, n)
#define STR_LEN (VD_CONFIG_STR_MAX - 1)
#define K 1024ull
#define M (1024ull * K)
#define G (1024ull * M)

/* The one place an option is declared.  Order is the order of --help-config,
 * the README table and the dump. */
static const struct opt options[] = {
	/* listeners and data planes */
	{.name = "listen", .type = OPT_LISTEN, LIST(listen, n_listen),
	 .def = "127.0.0.1, ::1", .max = VD_CONFIG_MAX_LISTEN,
	 .doc = "Address to answer on, ADDR or ADDR@PORT (port 53 if omitted). "
		"Repeat for more; the first line replaces the defaults."},
	{.name = "threads", .type = OPT_UINT, FIELD(threads), .def = "0",
	 .min = 0, .max = 64,
	 .doc = "Worker threads; 0 = one per CPU."},
	{.name = "edns-buffer-size", .type = OPT_UINT, FIELD(edns_buffer_size),
	 .def = "1232", .min = 512, .max = 4096,
	 .doc = "EDNS UDP payload size advertised and the largest UDP answer "
		"sent (1232 avoids IP fragmentation)."},
	{.name = "tcp-idle-timeout", .type = OPT_UINT, FIELD(tcp_idle_timeout_ms),
	 .def = "10000", .min = 100, .max = 600000,
	 .doc = "Milliseconds an idle TCP client connection is kept open."},
	{.name = "tcp-max-connections", .type = OPT_UINT,
	 FIELD(tcp_max_connections), .def = "1024", .min = 1, .max = 100000,
	 .doc = "Open TCP client connections per worker; the process's "
		"file descriptor limit is raised at start to fit them."},
	{.name = "tcp-max-connections-per-client", .type = OPT_UINT,
	 FIELD(tcp_max_connections_per_client), .def = "32", .min = 0,
	 .max = 100000,
	 .doc = "Open TCP connections one client may hold over all workers, "
		"counted per /32 (IPv4) or /56 (IPv6); 0 = no limit."},
	{.name = "so-rcvbuf", .type = OPT_SIZE, FIELD(so_rcvbuf), .def = "0",
	 .min = 0, .max = 256 * M,
	 .doc = "SO_RCVBUF for the UDP sockets; 0 = kernel default."},
	{.name = "so-sndbuf", .type = OPT_SIZE, FIELD(so_sndbuf), .def = "0",
	 .min = 0, .max = 256 * M,
	 .doc = "SO_SNDBUF for the UDP sockets; 0 = kernel default."},
	{.name = "xdp-interface", .type = OPT_STRLIST,
	 LIST(xdp_interfaces, n_xdp_interfaces), .def = "",
	 .max = VD_CONFIG_MAX_LIST,
	 .check = check_ifname,
	 .doc = "Interface the XDP fast path answers cache hits on; "
		"repeatable. None = XDP off. A reload may change the list."},
	{.name = "xdp-mode", .type = OPT_ENUM, FIELD(xdp_mode), .def = "auto",
	 .enums = xdp_modes,
	 .doc = "auto: native (driver) XDP, else generic with a warning; "
		"native: driver mode or fail; generic: skb mode."},
	{.name = "xdp-vip", .type = OPT_LISTEN, LIST(xdp_vips, n_xdp_vips),
	 .def = "", .max = VD_CONFIG_MAX_LISTEN,
	 .doc = "ADDR or ADDR@PORT the XDP program answers; repeatable. None "
		"= the listen addresses. A reload may change the list."},
	{.name = "xdp-max-answer", .type = OPT_UINT, FIELD(xdp_max_answer),
	 .def = "1232", .min = 512, .max = 1232,
	 .doc = "Largest stored answer (bytes, without OPT) the XDP program "
		"serves; larger ones stay on the socket path."},
	{.name = "xdp-map-entries", .type = OPT_UINT, FIELD(xdp_map_entries),
	 .def = "65536", .min = 1024, .max = 4194304,
	 .doc = "Answers the XDP mirror holds, rounded up to a power of two "
		"(about 1.7 KiB each, all taken at load); names XDP serves "
		"keep their slots, the rest stay on the socket path."},

	/* cache */
	{.name = "cache-size", .type = OPT_SIZE, FIELD(cache_size), .def = "64M",
	 .min = 1 * M, .max = 64 * G,
	 .doc = "Memory for the answer cache."},
	{.name = "cache-min-ttl", .type = OPT_UINT, FIELD(cache_min_ttl),
	 .def = "0", .min = 0, .max = 3600,
	 .doc = "Seconds; shorter TTLs are raised to this. Keep low: it "
		"overrides the zone owner."},
	{.name = "cache-max-ttl", .type = OPT_UINT, FIELD(cache_max_ttl),
	 .def = "86400", .min = 1, .max = 604800,
	 .doc = "Seconds; longer TTLs are capped to this."},
	{.name = "cache-max-negative-ttl", .type = OPT_UINT,
	 FIELD(cache_max_negative_ttl), .def = "3600", .min = 0, .max = 86400,
	 .doc = "Seconds; cap on NXDOMAIN/NODATA caching."},
	{.name = "cache-max-negative-ttl-zone", .type = OPT_STRLIST,
	 LIST(neg_ttl_zones, n_neg_ttl_zones), .def = "",
	 .max = VD_CONFIG_MAX_LIST, .check = check_neg_zone,
	 .doc = "\"ZONE SECONDS\": cap on NXDOMAIN/NODATA caching for ZONE "
		"and below (the most specific zone wins); repeatable.  Bounds "
		"how long a TLD's bad NXDOMAIN outlives its repair."},
	{.name = "servfail-ttl", .type = OPT_UINT, FIELD(servfail_ttl),
	 .def = "5", .min = 1, .max = 300,
	 .doc = "Seconds a resolution failure is cached (RFC 9520)."},
	{.name = "serve-stale", .type = OPT_BOOL, FIELD(serve_stale), .def = "yes",
	 .doc = "Answer from expired cache entries when the authorities fail "
		"or are slow (RFC 8767)."},
	{.name = "stale-max-age", .type = OPT_UINT, FIELD(stale_max_age),
	 .def = "86400", .min = 0, .max = 604800,
	 .doc = "Seconds past expiry an entry may still be served stale."},
	{.name = "stale-answer-ttl", .type = OPT_UINT, FIELD(stale_answer_ttl),
	 .def = "30", .min = 1, .max = 3600,
	 .doc = "TTL put on stale answers (RFC 8767 suggests 30)."},
	{.name = "stale-client-timeout", .type = OPT_UINT,
	 FIELD(stale_client_timeout_ms), .def = "1800", .min = 0, .max = 30000,
	 .doc = "Milliseconds before a stale answer is sent while resolution "
		"continues; 0 = serve stale only on failure."},
	{.name = "stale-refresh-time", .type = OPT_UINT,
	 FIELD(stale_refresh_time), .def = "30", .min = 0, .max = 3600,
	 .doc = "Seconds after a failed (or too slow) refresh of a stale "
		"name during which it is answered stale at once, without "
		"asking the authorities again (RFC 8767 failure recheck "
		"timer; BIND's option), +-25% per name so recovering "
		"authorities see no herd; 0 = every query retries."},
	{.name = "cache-snapshot", .type = OPT_STRING, FIELD(cache_snapshot),
	 .def = "/var/lib/vipdns/cache.snapshot", .max = STR_LEN,
	 .doc = "Warm restarts: the answer cache is written here on stop "
		"and what is still valid is loaded on start, before the "
		"node announces; empty = start cold."},
	{.name = "cache-warm-entries", .type = OPT_UINT,
	 FIELD(cache_warm_entries), .def = "0", .min = 0, .max = 1000000,
	 .doc = "A node starting without a snapshot asks a healthy "
		"cluster-peer for its hottest this many answers before it "
		"announces; 0 = off."},
	{.name = "prefetch", .type = OPT_BOOL, FIELD(prefetch), .def = "yes",
	 .doc = "Refresh popular entries shortly before they expire."},
	{.name = "prefetch-percent", .type = OPT_UINT, FIELD(prefetch_percent),
	 .def = "10", .min = 1, .max = 50,
	 .doc = "Prefetch when this percentage of the original TTL remains."},
	{.name = "prefetch-min-hits", .type = OPT_UINT, FIELD(prefetch_min_hits),
	 .def = "2", .min = 0, .max = 1000000,
	 .doc = "Prefetch only entries hit at least this often."},

	/* recursion */
	{.name = "max-recursions", .type = OPT_UINT, FIELD(max_recursions),
	 .def = "2048", .min = 1, .max = 1000000,
	 .doc = "Outstanding recursive resolutions per worker."},
	{.name = "recursion-timeout", .type = OPT_UINT,
	 FIELD(recursion_timeout_ms), .def = "10000", .min = 100, .max = 120000,
	 .doc = "Milliseconds before a resolution is answered SERVFAIL (or "
		"stale)."},
	{.name = "dnssec", .type = OPT_BOOL, FIELD(dnssec), .def = "yes",
	 .doc = "Validate DNSSEC; bogus answers become SERVFAIL."},
	{.name = "qname-minimisation", .type = OPT_BOOL,
	 FIELD(qname_minimisation), .def = "yes",
	 .doc = "Send authorities only the labels they need (RFC 9156)."},
	{.name = "aggressive-nsec", .type = OPT_BOOL, FIELD(aggressive_nsec),
	 .def = "yes",
	 .doc = "Synthesise negative answers from cached NSEC/NSEC3 (RFC 8198)."},
	{.name = "use-caps-for-id", .type = OPT_BOOL, FIELD(use_caps_for_id),
	 .def = "yes",
	 .doc = "Randomise query name case (0x20) against spoofing."},
	{.name = "root-hints", .type = OPT_STRING, FIELD(root_hints), .def = "",
	 .max = STR_LEN,
	 .doc = "Root hints file; empty = built-in."},
	{.name = "trust-anchor-file", .type = OPT_STRLIST,
	 LIST(trust_anchor_files, n_trust_anchor_files), .def = "",
	 .max = VD_CONFIG_MAX_LIST,
	 .doc = "DNSSEC trust anchor file; repeatable. None = built-in root "
		"anchor."},
	{.name = "unbound-option", .type = OPT_STRLIST,
	 LIST(unbound_options, n_unbound_options), .def = "",
	 .max = VD_CONFIG_MAX_LIST, .check = check_unbound_option,
	 .doc = "\"name: value\" passed to libunbound's ub_ctx_set_option; "
		"repeatable."},

	/* zones and answer policy (src/resolve/zones.h) */
	{.name = "forward-zone", .type = OPT_STRLIST,
	 LIST(forward_zones, n_forward_zones), .def = "",
	 .max = VD_CONFIG_MAX_LIST, .check = vd_zones_check_forward,
	 .doc = "\"NAME ADDR[@PORT]... [first] [tls AUTH-NAME]\": send "
		"queries for NAME and below to these recursive servers (a "
		"VPC's resolver endpoint, a corporate resolver) instead of "
		"resolving them; first = resolve normally when they fail; tls = "
		"DNS over TLS (port 853 unless given) checking AUTH-NAME in "
		"their certificate. Repeatable; Unbound's forward-zone."},
	{.name = "stub-zone", .type = OPT_STRLIST,
	 LIST(stub_zones, n_stub_zones), .def = "",
	 .max = VD_CONFIG_MAX_LIST, .check = vd_zones_check_stub,
	 .doc = "\"NAME ADDR[@PORT]... [first]\": authoritative servers for "
		"NAME (an internal zone the public tree does not delegate); "
		"first = fall back to the public delegation. Repeatable; "
		"Unbound's stub-zone."},
	{.name = "domain-insecure", .type = OPT_STRLIST,
	 LIST(domain_insecure, n_domain_insecure), .def = "",
	 .max = VD_CONFIG_MAX_LIST, .check = vd_zones_check_name,
	 .doc = "NAME: no DNSSEC validation at and below NAME (an unsigned "
		"internal zone under a signed parent). Repeatable. At run time "
		"use vipdnsctl nta."},
	{.name = "local-zone", .type = OPT_STRLIST,
	 LIST(local_zones, n_local_zones), .def = "",
	 .max = VD_CONFIG_MAX_LOCAL, .check = vd_zones_check_local_zone,
	 .doc = "\"NAME TYPE\": answer NAME and below locally; TYPE as in "
		"Unbound: static, transparent, typetransparent, redirect, "
		"refuse, deny, always_nxdomain, always_refuse, always_nodata, "
		"always_null, inform, ..., or nodefault to remove one of "
		"libunbound's default local zones (test., invalid., "
		"10.in-addr.arpa., ...) so the name is resolved. Repeatable."},
	{.name = "local-data", .type = OPT_STRLIST,
	 LIST(local_data, n_local_data), .def = "",
	 .max = VD_CONFIG_MAX_LOCAL, .check = vd_zones_check_local_data,
	 .doc = "\"OWNER [TTL] [CLASS] TYPE RDATA\": a record answered "
		"locally (inside its local-zone, or a transparent zone made "
		"for it). Quote the value; write a TXT string as \\\"text\\\". "
		"Repeatable."},
	{.name = "local-data-ptr", .type = OPT_STRLIST,
	 LIST(local_data_ptr, n_local_data_ptr), .def = "",
	 .max = VD_CONFIG_MAX_LOCAL, .check = vd_zones_check_local_data_ptr,
	 .doc = "\"ADDR NAME\": a PTR record for ADDR's reverse name. "
		"Repeatable."},
	{.name = "private-address", .type = OPT_STRLIST,
	 LIST(private_addresses, n_private_addresses), .def = "",
	 .max = VD_CONFIG_MAX_LIST, .check = vd_zones_check_prefix,
	 .doc = "ADDR[/LEN]: strip these addresses from public answers (DNS "
		"rebinding protection; list RFC 1918, RFC 4193, link-local, "
		"...). Repeatable."},
	{.name = "private-domain", .type = OPT_STRLIST,
	 LIST(private_domains, n_private_domains), .def = "",
	 .max = VD_CONFIG_MAX_LIST, .check = vd_zones_check_name,
	 .doc = "NAME: answers at and below NAME may hold private-address "
		"addresses. Repeatable."},
	{.name = "dns64-prefix", .type = OPT_STRING, FIELD(dns64_prefix),
	 .def = "", .max = STR_LEN, .check = vd_zones_check_dns64_prefix,
	 .doc = "IPv6 prefix (RFC 6052 length, e.g. 64:ff9b::/96) for "
		"DNS64 (RFC 6147): AAAA answers synthesised from A records for "
		"names without AAAA; \"\" = off."},
	{.name = "dns64-synthall", .type = OPT_BOOL, FIELD(dns64_synthall),
	 .def = "no",
	 .doc = "DNS64: synthesise AAAA even for names that have AAAA."},
	{.name = "dns64-ignore-aaaa", .type = OPT_STRLIST,
	 LIST(dns64_ignore_aaaa, n_dns64_ignore_aaaa), .def = "",
	 .max = VD_CONFIG_MAX_LIST, .check = vd_zones_check_name,
	 .doc = "NAME: DNS64 synthesises AAAA for NAME even when it has AAAA "
		"(their IPv6 is broken). Repeatable."},
	{.name = "tls-cert-bundle", .type = OPT_STRING, FIELD(tls_cert_bundle),
	 .def = "/etc/ssl/certs/ca-certificates.crt", .max = STR_LEN,
	 .doc = "CA certificates (PEM) that forward-zone tls servers are "
		"checked against."},
	{.name = "nta-file", .type = OPT_STRING, FIELD(nta_file),
	 .def = "/var/lib/vipdns/nta", .max = STR_LEN,
	 .doc = "Where negative trust anchors added with vipdnsctl nta are "
		"kept across restarts (RFC 7646); \"\" = in memory only."},
	{.name = "tls-service-key", .type = OPT_STRING, FIELD(tls_service_key),
	 .def = "", .max = STR_LEN,
	 .doc = "DNS over TLS (RFC 7858): the private key (PEM); with "
		"tls-service-pem, every listen address on tls-port answers "
		"DoT instead of plain DNS. Reread on reload (keep it readable "
		"by user). Unbound's option."},
	{.name = "tls-service-pem", .type = OPT_STRING, FIELD(tls_service_pem),
	 .def = "", .max = STR_LEN,
	 .doc = "DoT: the certificate chain (PEM), leaf first."},
	{.name = "tls-port", .type = OPT_UINT, FIELD(tls_port), .def = "853",
	 .min = 1, .max = 65535,
	 .doc = "DoT: listen addresses with this port (listen = ADDR@853) speak "
		"TLS, TCP only."},
	{.name = "tls-session-ticket-keys", .type = OPT_STRLIST,
	 LIST(tls_ticket_keys, n_tls_ticket_keys), .def = "",
	 .max = VD_CONFIG_MAX_LIST,
	 .doc = "DoT: files of 80 random bytes (head -c 80 /dev/urandom); the "
		"first encrypts session tickets, all decrypt. The same files "
		"on every node let a client resume on any node behind the VIP. "
		"Repeatable; none = per-process keys."},
	{.name = "pad-responses", .type = OPT_BOOL, FIELD(pad_responses),
	 .def = "yes",
	 .doc = "DoT: pad answers to queries that carry EDNS padding to a "
		"multiple of 468 bytes (RFC 7830, RFC 8467). Unbound's option."},
	{.name = "answer-cookie", .type = OPT_BOOL, FIELD(answer_cookie),
	 .def = "yes",
	 .doc = "Answer DNS cookies (RFC 7873) with RFC 9018 server cookies, "
		"so every node sharing the secret validates every other "
		"node's; a UDP query with a server cookie none of the secrets "
		"made gets BADCOOKIE and a good one. Unbound's option."},
	{.name = "cookie-secret-file", .type = OPT_STRING,
	 FIELD(cookie_secret_file), .def = "/var/lib/vipdns/cookie-secrets",
	 .max = STR_LEN,
	 .doc = "Cookie secrets, one of 32 hex digits per line, the first "
		"makes cookies, all are accepted; set and rolled over with "
		"vipdnsctl --cluster cookie-secret. Made (random, this node "
		"only) when missing; \"\" = in memory only."},

	/* access control */
	{.name = "acl", .type = OPT_ACL, FIELD(acl),
	 .def = "127.0.0.0/8 allow, ::1/128 allow", .max = VD_ACL_MAX_RULES,
	 .doc = "PREFIX ACTION, action allow, refuse or drop; repeatable, "
		"longest prefix wins. Adds to the loopback defaults; a rule for "
		"the same prefix overrides one."},
	{.name = "acl-default", .type = OPT_ENUM, FIELD(acl.default_action),
	 .def = "refuse", .enums = acl_actions,
	 .doc = "Action for clients no acl rule matches."},

	/* identity, process */
	{.name = "node-id", .type = OPT_STRING, FIELD(node_id), .def = "",
	 .max = STR_LEN,
	 .doc = "Identity sent as NSID; empty = hostname."},
	{.name = "user", .type = OPT_STRING, FIELD(user), .def = "",
	 .max = STR_LEN,
	 .doc = "Drop privileges to this user after binding; empty = stay."},
	{.name = "pidfile", .type = OPT_STRING, FIELD(pidfile), .def = "",
	 .max = STR_LEN,
	 .doc = "Write the process id here; empty = none."},
	{.name = "log-level", .type = OPT_ENUM, FIELD(log_level),
	 .def = "notice", .enums = log_levels,
	 .doc = "Least severe message logged."},
	{.name = "log-target", .type = OPT_ENUM, FIELD(log_target),
	 .def = "stderr", .enums = log_targets,
	 .doc = "Where log messages go."},

	/* control */
	{.name = "control-socket", .type = OPT_STRING, FIELD(control_socket),
	 .def = "/run/vipdns/control.sock",
	 /* must fit sun_path with its NUL */
	 .max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1,
	 .doc = "Unix socket for vipdnsctl; empty = no control socket."},
	{.name = "control-socket-mode", .type = OPT_MODE,
	 FIELD(control_socket_mode), .def = "0660", .min = 0, .max = 0777,
	 .doc = "Permissions of the control socket."},
	{.name = "control-socket-group", .type = OPT_STRING,
	 FIELD(control_socket_group), .def = "", .max = STR_LEN,
	 .doc = "Group owning the control socket; its members (and root) may "
		"use vipdnsctl. Empty = the daemon's own group."},

	/* metrics */
	{.name = "metrics-listen", .type = OPT_STRING, FIELD(metrics_listen),
	 .def = "", .max = STR_LEN, .check = check_endpoint,
	 .doc = "ADDR@PORT for Prometheus /metrics and the status page /, "
		"e.g. 127.0.0.1@9153; empty = off."},

	/* cluster */
	{.name = "cluster-listen", .type = OPT_STRING, FIELD(cluster_listen),
	 .def = "", .max = STR_LEN, .check = check_endpoint,
	 .doc = "ADDR@PORT where other nodes' vipdnsctl --cluster reach this "
		"node over mutual TLS; empty = off."},
	{.name = "cluster-peer", .type = OPT_STRLIST,
	 LIST(cluster_peers, n_cluster_peers), .def = "",
	 .max = VD_CONFIG_MAX_LIST, .check = check_cluster_peer,
	 .doc = "NAME=ADDR@PORT of a node vipdnsctl --cluster reaches (list "
		"every node, this one included); repeatable. NAME must match "
		"the node's certificate; cluster-listen accepts only "
		"certificates naming one of these."},
	{.name = "cluster-cert", .type = OPT_STRING, FIELD(cluster_cert),
	 .def = "", .max = STR_LEN,
	 .doc = "PEM certificate this node (and vipdnsctl --cluster) presents."},
	{.name = "cluster-key", .type = OPT_STRING, FIELD(cluster_key),
	 .def = "", .max = STR_LEN,
	 .doc = "PEM private key of cluster-cert."},
	{.name = "cluster-ca", .type = OPT_STRING, FIELD(cluster_ca),
	 .def = "", .max = STR_LEN,
	 .doc = "PEM CA certificate that signs every node's certificate; "
		"peers must present one it signed."},

	/* anycast (src/anycast/, docs/anycast.md) */
	{.name = "anycast", .type = OPT_BOOL, FIELD(anycast), .def = "no",
	 .doc = "Manage the VIPs and announce them through BIRD by health."},
	{.name = "vip", .type = OPT_STRLIST, LIST(vips, n_vips), .def = "",
	 .max = VD_CONFIG_MAX_LIST, .check = check_vip,
	 .doc = "Anycast address, ADDR[/LEN] (default /32 or /128); "
		"repeatable. vipdnsd puts it on vip-interface and BIRD "
		"announces its prefix while it is healthy."},
	{.name = "vip-interface", .type = OPT_STRING, FIELD(vip_interface),
	 .def = "lo", .max = 15, .check = check_ifname,
	 .doc = "Interface holding the VIPs: lo, or a dummy (ifb in "
		"labs) device that exists."},
	{.name = "vip-lifetime", .type = OPT_UINT, FIELD(vip_lifetime),
	 .def = "2", .min = 2, .max = 3600,
	 .doc = "Seconds a VIP address lives on the interface unless "
		"vipdnsd refreshes it (twice a second): a dead vipdnsd "
		"loses its VIPs, and BIRD its routes, this fast."},
	{.name = "bgp-router-id", .type = OPT_STRING, FIELD(bgp_router_id),
	 .def = "", .max = STR_LEN, .check = check_ipv4,
	 .doc = "BIRD router id (an IPv4 address, unique per node)."},
	{.name = "bgp-local-as", .type = OPT_UINT, FIELD(bgp_local_as),
	 .def = "65000", .min = 1, .max = 4294967295ull,
	 .doc = "This node's AS number."},
	{.name = "bgp-neighbor", .type = OPT_STRLIST,
	 LIST(bgp_neighbors, n_bgp_neighbors), .def = "",
	 .max = VD_CONFIG_MAX_LIST, .check = check_bgp_neighbor,
	 .doc = "ADDR as ASN [multihop [TTL]] [source ADDR] [password S] "
		"[hold S] [keepalive S] [bfd] [next-hop6 ADDR] [tunnel NAME] "
		"[v4|v6|dual]; repeatable. IPv6 VIPs over an IPv4 session need "
		"next-hop6 (over a tunnel: its inner6 by default)."},
	{.name = "tunnel", .type = OPT_STRLIST, LIST(tunnels, n_tunnels),
	 .def = "", .max = VD_CONFIG_MAX_LIST, .check = check_tunnel,
	 .doc = "NAME gre|ipsec local ADDR remote ADDR inner ADDR/LEN "
		"[inner6 ADDR/LEN] [mtu N] [underlay-mtu N] ...: a tunnel to "
		"the router that BGP and the VIPs' traffic run through (cloud "
		"VPCs, docs/tunnels.md); repeatable. vipdnsd --tunnel-config DIR "
		"renders the networkd, ip, strongSwan and nftables files."},
	{.name = "bird-socket", .type = OPT_STRING, FIELD(bird_socket),
	 .def = "/run/bird/bird.ctl",
	 .max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1,
	 .doc = "BIRD's control socket (birdc protocol)."},
	{.name = "bird-config", .type = OPT_STRING, FIELD(bird_config),
	 .def = "", .max = STR_LEN,
	 .doc = "bird.conf vipdnsd writes from this file at start and "
		"reload (then asks BIRD to reconfigure); empty = written by "
		"hand or vipdnsd --bird-config."},
	{.name = "bird-announce-file", .type = OPT_STRING,
	 FIELD(bird_announce_file), .def = "/run/vipdns/bird-announce.conf",
	 .max = STR_LEN,
	 .doc = "Filter include vipdnsd rewrites on every announce, "
		"withdraw and drain; bird.conf includes it."},
	{.name = "health-interval", .type = OPT_UINT,
	 FIELD(health_interval_ms), .def = "1000", .min = 100, .max = 60000,
	 .doc = "Milliseconds between health checks."},
	{.name = "health-timeout", .type = OPT_UINT, FIELD(health_timeout_ms),
	 .def = "1000", .min = 50, .max = 30000,
	 .doc = "Milliseconds a canary query may take."},
	{.name = "health-rise", .type = OPT_UINT, FIELD(health_rise),
	 .def = "2", .min = 1, .max = 100,
	 .doc = "Consecutive passing checks before a VIP is announced."},
	{.name = "health-fall", .type = OPT_UINT, FIELD(health_fall),
	 .def = "2", .min = 1, .max = 100,
	 .doc = "Consecutive failing checks before a VIP is withdrawn."},
	{.name = "health-degrade", .type = OPT_STRING, FIELD(health_degrade),
	 .def = "", .max = STR_LEN, .check = check_degrade,
	 .doc = "med N | prepend N: an unhealthy VIP stays announced with "
		"MED N or the AS path prepended N times (1..8), so routers "
		"use the node only when no healthy one is left; empty = "
		"withdraw it."},
	{.name = "health-canary", .type = OPT_STRLIST,
	 LIST(health_canaries, n_health_canaries), .def = "",
	 .max = VD_CONFIG_MAX_LIST, .check = check_canary,
	 .doc = "NAME [TYPE] resolved through each VIP every check; a "
		"leading *. asks a fresh random label (proves recursion, not "
		"the cache). Repeatable: the check passes when any canary "
		"resolves (give names in independent zones); none = \". NS\"."},
	{.name = "drain-timeout", .type = OPT_UINT, FIELD(drain_timeout),
	 .def = "30", .min = 1, .max = 3600,
	 .doc = "Seconds a drain waits for traffic to stop before SIGTERM "
		"exits anyway."},
	{.name = "drain-quiet", .type = OPT_UINT, FIELD(drain_quiet_ms),
	 .def = "2000", .min = 100, .max = 60000,
	 .doc = "Milliseconds without a query on a VIP that count as "
		"traffic stopped."},
	{.name = "drain-gshut-time", .type = OPT_UINT, FIELD(drain_gshut_ms),
	 .def = "1000", .min = 0, .max = 60000,
	 .doc = "Milliseconds the VIPs stay announced with the "
		"GRACEFUL_SHUTDOWN community (RFC 8326) before the withdraw."},
};

#define N_OPTS VD_ARRAY_SIZE(options)

size_t vd_config_option_count(void)
{
	return N_OPTS;
}

const char *vd_config_option_name(size_t i)
{
	return i < N_OPTS ? options[i].name : NULL;
}

/* State of one parse, for error messages and once-only checks. */
struct parse {
	struct vd_config *cfg;
	const char *name;       /* file name for messages */
	unsigned line;          /* 0 = not about one line */
	unsigned seen[N_OPTS];  /* line an option was first given on */
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct parse *ps,
						      const char *fmt, ...)
{
	if (!ps->err || ps->errlen == 0)
		return -EINVAL;
	int n;
	if (ps->line)
		n = snprintf(ps->err, ps->errlen, "%s:%u: ", ps->name, ps->line);
	else
		n = snprintf(ps->err, ps->errlen, "%s: ", ps->name);
	if (n >= 0 && (size_t)n < ps->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/*
 * A value as it may appear in a message: bounded, and with non-printable
 * bytes replaced so a hostile file cannot put escape sequences in logs.
 */
#define SHOW_MAX 48
struct shown {
	char s[SHOW_MAX + 4];
};

static struct shown show(const char *v)
{
	struct shown out;
	size_t i = 0;
	for (; v[i] && i < SHOW_MAX; i++) {
		unsigned char c = (unsigned char)v[i];
		out.s[i] = (c < 0x20 || c == 0x7f || c == '"') ? '?' : (char)c;
	}
	if (v[i]) {
		memcpy(out.s + i, "...", 3);
		i += 3;
	}
	out.s[i] = '\0';
	return out;
}

static void *field(const struct vd_config *cfg, const struct opt *o)
{
	return (char *)cfg + o->offset;
}

static size_t *list_count(const struct vd_config *cfg, const struct opt *o)
{
	return (size_t *)((char *)cfg + o->count_offset);
}

/*
 * Integers are stored by field width.  Fields declared int (so_rcvbuf,
 * log_level) only ever get values up to INT32_MAX, where the unsigned and
 * signed representations agree; vd_config_defaults() checks the table.
 */
static void store_uint(void *p, size_t size, uint64_t v)
{
	switch (size) {
	case 1: {
		uint8_t x = (uint8_t)v;
		memcpy(p, &x, 1);
		break;
	}
	case 2: {
		uint16_t x = (uint16_t)v;
		memcpy(p, &x, 2);
		break;
	}
	case 4: {
		uint32_t x = (uint32_t)v;
		memcpy(p, &x, 4);
		break;
	}
	case 8:
		memcpy(p, &v, 8);
		break;
	default:
		vd_require(!"integer option of unsupported width");
	}
}

static uint64_t load_uint(const void *p, size_t size)
{
	switch (size) {
	case 1: {
		uint8_t x;
		memcpy(&x, p, 1);
		return x;
	}
	case 2: {
		uint16_t x;
		memcpy(&x, p, 2);
		return x;
	}
	case 4: {
		uint32_t x;
		memcpy(&x, p, 4);
		return x;
	}
	default: {
		uint64_t x;
		memcpy(&x, p, 8);
		return x;
	}
	}
}

/* Decimal digits only (no sign, no spaces).  Returns 0, -EINVAL for
 * anything but digits, -ERANGE past UINT64_MAX; *end gets the first
 * non-digit when end is given (then trailing text is the caller's). */
static int parse_u64(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0;
	const char *p = s;
	bool range = false;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			range = true;
		else
			v = v * 10 + d;
	}
	if (end)
		*end = p;
	else if (*p)
		return -EINVAL;
	if (range)
		return -ERANGE;
	*out = v;
	return 0;
}

static void fmt_size(char *buf, size_t n, uint64_t v)
{
	static const char units[] = "KMG";
	int u = -1;
	while (v && v % 1024 == 0 && u < 2) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, n, "%" PRIu64, v);
	else
		snprintf(buf, n, "%" PRIu64 "%c", v, units[u]);
}

static int parse_size(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t v, mult = 1;
	int rc = parse_u64(s, &v, &end);
	if (rc == -EINVAL)
		return rc;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		mult = K;
		end++;
		break;
	case 'm': case 'M':
		mult = M;
		end++;
		break;
	case 'g': case 'G':
		mult = G;
		end++;
		break;
	default:
		return -EINVAL;
	}
	if (*end)
		return -EINVAL;
	if (rc == -ERANGE || v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

static const char *enum_name(const struct opt_enum *e, int value)
{
	for (; e->name; e++)
		if (e->value == value)
			return e->name;
	return "?";
}

static void enum_list(const struct opt_enum *e, const char *sep, char *buf,
		      size_t n)
{
	size_t used = 0;
	buf[0] = '\0';
	for (const struct opt_enum *i = e; i->name && used < n; i++) {
		int w = snprintf(buf + used, n - used, "%s%s",
				 i == e ? "" : sep, i->name);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

static const char *check_unbound_option(const char *in, char *out,
					size_t outlen)
{
	static const char *const why =
		"expected \"name: value\" like \"do-not-query-localhost: no\"";
	/* libunbound option names are lowercase words joined by '-'. */
	size_t n = strspn(in, "abcdefghijklmnopqrstuvwxyz0123456789-");
	if (n == 0 || in[n] != ':' || (in[n + 1] != ' ' && in[n + 1] != '\t'))
		return why;
	const char *v = in + n + 1;
	v += strspn(v, " \t");
	if (*v == '\0')
		return why;
	/* Normalised to exactly one space so consumers split at ": ". */
	if ((size_t)snprintf(out, outlen, "%.*s: %s", (int)n, in, v) >= outlen)
		return "too long";
	return NULL;
}

/* A network interface name (IFNAMSIZ 16 with its NUL). */
static const char *check_ifname(const char *in, char *out, size_t outlen)
{
	size_t n = strlen(in);
	if (n == 0 || n > 15 || strspn(in, "abcdefghijklmnopqrstuvwxyz"
					   "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					   "0123456789-_.@:") != n)
		return "expected an interface name (at most 15 characters)";
	snprintf(out, outlen, "%s", in);
	return NULL;
}

/* ADDR@PORT, or empty for "off". */
static const char *check_endpoint(const char *in, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (in[0] && vd_addr_parse(in, &ss, &len) != 0)
		return "expected ADDR@PORT like 127.0.0.1@9153 or ::1@9153";
	if ((size_t)snprintf(out, outlen, "%s", in) >= outlen)
		return "too long";
	return NULL;
}

int vd_config_neg_zone_parse(const char *in, uint8_t *zone, size_t *zone_len,
			     uint32_t *ttl)
{
	char name[VD_CONFIG_STR_MAX];
	const char *sp = strchr(in, ' ');
	if (!sp || (size_t)(sp - in) >= sizeof(name))
		return -EINVAL;
	memcpy(name, in, (size_t)(sp - in));
	name[sp - in] = '\0';
	int n = vd_dns_name_from_str(name, zone, VD_DNS_NAME_MAX);
	if (n < 0)
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long v = strtoul(sp + 1, &end, 10);
	if (errno || end == sp + 1 || *end || sp[1] == '-' || v > 86400)
		return -EINVAL;
	*zone_len = (size_t)n;
	*ttl = (uint32_t)v;
	return 0;
}

static const char *check_neg_zone(const char *in, char *out, size_t outlen)
{
	uint8_t zone[VD_DNS_NAME_MAX];
	size_t len;
	uint32_t ttl;
	if (vd_config_neg_zone_parse(in, zone, &len, &ttl) != 0)
		return "expected \"ZONE SECONDS\" (0..86400) like \"io. 60\"";
	if ((size_t)snprintf(out, outlen, "%s", in) >= outlen)
		return "too long";
	return NULL;
}

/* NAME=ADDR@PORT; NAME is what the peer's certificate must carry. */
static const char *check_cluster_peer(const char *in, char *out,
				      size_t outlen)
{
	static const char *const why =
		"expected NAME=ADDR@PORT like node1=192.0.2.11@8953";
	struct sockaddr_storage ss;
	socklen_t len;
	size_t n = strspn(in, "abcdefghijklmnopqrstuvwxyz"
			      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");
	if (n == 0 || n > 63 || in[n] != '=' ||
	    vd_addr_parse(in + n + 1, &ss, &len) != 0)
		return why;
	if ((size_t)snprintf(out, outlen, "%s", in) >= outlen)
		return "too long";
	return NULL;
}

/* Anycast values: stored as written (normalised for vip), parsed again
 * by src/anycast with the same functions. */
static const char *check_vip(const char *in, char *out, size_t outlen)
{
	struct vd_anycast_vip v;
	const char *why = NULL;
	if (vd_anycast_vip_parse(in, &v, &why) != 0)
		return why;
	snprintf(out, outlen, "%s/%u", v.addr_str, v.plen);
	return NULL;
}

static const char *check_bgp_neighbor(const char *in, char *out,
				      size_t outlen)
{
	struct vd_anycast_neighbor nb;
	const char *why = NULL;
	if (vd_anycast_neighbor_parse(in, &nb, &why) != 0)
		return why;
	snprintf(out, outlen, "%s", in);
	return NULL;
}

static const char *check_tunnel(const char *in, char *out, size_t outlen)
{
	struct vd_anycast_tunnel t;
	const char *why = NULL;
	if (vd_anycast_tunnel_parse(in, &t, &why) != 0)
		return why;
	snprintf(out, outlen, "%s", in);
	return NULL;
}

static const char *check_canary(const char *in, char *out, size_t outlen)
{
	struct vd_anycast_canary c;
	const char *why = NULL;
	if (vd_anycast_canary_parse(in, &c, &why) != 0)
		return why;
	snprintf(out, outlen, "%s", in);
	return NULL;
}

static const char *check_degrade(const char *in, char *out, size_t outlen)
{
	struct vd_anycast_degrade dg;
	const char *why = NULL;
	if (vd_anycast_degrade_parse(in, &dg, &why) != 0)
		return why;
	snprintf(out, outlen, "%s", in);
	return NULL;
}

static const char *check_ipv4(const char *in, char *out, size_t outlen)
{
	struct in_addr a;
	if (in[0] && inet_pton(AF_INET, in, &a) != 1)
		return "expected an IPv4 address";
	snprintf(out, outlen, "%s", in);
	return NULL;
}

int vd_config_unbound_option_split(const char *raw, char *name,
				   size_t namelen, const char **value)
{
	const char *sep = strstr(raw, ": ");
	if (!sep || sep == raw)
		return -EINVAL;
	size_t n = (size_t)(sep - raw) + 1; /* keep the ':' */
	if (n >= namelen)
		return -ENOSPC;
	memcpy(name, raw, n);
	name[n] = '\0';
	*value = sep + 2;
	return 0;
}

static int set_listen(struct parse *ps, const struct opt *o, const char *v)
{
	struct vd_config *cfg = ps->cfg;
	char addr[INET6_ADDRSTRLEN];
	const char *at = strrchr(v, '@');
	size_t alen = at ? (size_t)(at - v) : strlen(v);
	uint64_t port = 53;
	struct vd_listen l;

	memset(&l, 0, sizeof(l));
	if (alen == 0 || alen >= sizeof(addr))
		goto bad;
	memcpy(addr, v, alen);
	addr[alen] = '\0';
	if (at && (parse_u64(at + 1, &port, NULL) != 0 || port == 0 ||
		   port > 65535))
		return fail(ps, "%s: expected a port from 1 to 65535 after '@', "
				"got \"%s\"", o->name, show(v).s);
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l.addr;
		if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
			goto bad;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		l.addr_len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&l.addr;
		if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
			goto bad;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		l.addr_len = sizeof(*sin);
	}
	/*
	 * A wildcard socket would answer a query sent to a VIP from
	 * whatever address the route picks (we do not carry IP_PKTINFO
	 * through recvmmsg/sendmmsg), and clients drop such answers: every
	 * service address is named.
	 */
	if (!strcmp(o->name, "listen") &&
	    ((l.addr.ss_family == AF_INET &&
	      ((struct sockaddr_in *)&l.addr)->sin_addr.s_addr == INADDR_ANY) ||
	     (l.addr.ss_family == AF_INET6 &&
	      IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&l.addr)->sin6_addr))))
		return fail(ps, "%s: \"%s\" is a wildcard; name each service "
				"address (answers from a wildcard socket leave "
				"from the wrong source address)", o->name,
			    show(v).s);
	/* Caught here, with a line number, instead of as EADDRINUSE later. */
	for (size_t i = 0; i < cfg->n_listen; i++)
		if (cfg->listen[i].addr_len == l.addr_len &&
		    memcmp(&cfg->listen[i].addr, &l.addr, l.addr_len) == 0)
			return fail(ps, "%s: \"%s\" given twice", o->name,
				    show(v).s);
	if (cfg->n_listen >= VD_CONFIG_MAX_LISTEN)
		return fail(ps, "%s: too many entries (max %d)", o->name,
			    VD_CONFIG_MAX_LISTEN);
	cfg->listen[cfg->n_listen++] = l;
	return 0;
bad:
	return fail(ps, "%s: expected an address like 192.0.2.1 or "
			"2001:db8::1@5353, got \"%s\"", o->name, show(v).s);
}

static int set_value(struct parse *ps, const struct opt *o, const char *v)
{
	char why[128];
	void *p = field(ps->cfg, o);
	uint64_t u;
	int rc;

	switch (o->type) {
	case OPT_BOOL:
		if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on"))
			*(bool *)p = true;
		else if (!strcmp(v, "no") || !strcmp(v, "false") ||
			 !strcmp(v, "off"))
			*(bool *)p = false;
		else
			return fail(ps, "%s: expected yes or no, got \"%s\"",
				    o->name, show(v).s);
		return 0;
	case OPT_UINT:
		rc = parse_u64(v, &u, NULL);
		if (rc == -EINVAL)
			return fail(ps, "%s: expected an integer from %" PRIu64
					" to %" PRIu64 ", got \"%s\"",
				    o->name, o->min, o->max, show(v).s);
		if (rc == -ERANGE || u < o->min || u > o->max)
			return fail(ps, "%s: %s is out of range (%" PRIu64
					"..%" PRIu64 ")",
				    o->name, show(v).s, o->min, o->max);
		store_uint(p, o->size, u);
		return 0;
	case OPT_SIZE:
		rc = parse_size(v, &u);
		if (rc == -EINVAL)
			return fail(ps, "%s: expected a size like 64M, got \"%s\"",
				    o->name, show(v).s);
		if (rc == -ERANGE || u < o->min || u > o->max) {
			char lo[32], hi[32];
			fmt_size(lo, sizeof(lo), o->min);
			fmt_size(hi, sizeof(hi), o->max);
			return fail(ps, "%s: %s is out of range (%s..%s)",
				    o->name, show(v).s, lo, hi);
		}
		store_uint(p, o->size, u);
		return 0;
	case OPT_MODE: {
		size_t n = strspn(v, "01234567");
		if (n == 0 || n > 4 || v[n] != '\0')
			return fail(ps, "%s: expected an octal mode like 0660, "
					"got \"%s\"", o->name, show(v).s);
		u = strtoull(v, NULL, 8);
		if (u > o->max)
			return fail(ps, "%s: %s is out of range (at most %04" PRIo64
					")", o->name, show(v).s, o->max);
		store_uint(p, o->size, u);
		return 0;
	}
	case OPT_ENUM:
		for (const struct opt_enum *e = o->enums; e->name; e++) {
			if (strcmp(e->name, v) == 0) {
				store_uint(p, o->size, (uint64_t)e->value);
				return 0;
			}
		}
		enum_list(o->enums, ", ", why, sizeof(why));
		return fail(ps, "%s: expected one of %s, got \"%s\"", o->name,
			    why, show(v).s);
	case OPT_STRING: {
		size_t n = strlen(v);
		if (n > o->max)
			return fail(ps, "%s: too long (%zu bytes, max %" PRIu64
					")", o->name, n, o->max);
		if (o->check) {
			char buf[VD_CONFIG_STR_MAX];
			const char *reason = o->check(v, buf, sizeof(buf));
			if (reason)
				return fail(ps, "%s: %s, got \"%s\"", o->name,
					    reason, show(v).s);
		}
		/* Zero the rest so equal configs compare equal bytewise. */
		memset(p, 0, o->size);
		memcpy(p, v, n);
		return 0;
	}
	case OPT_STRLIST: {
		size_t *count = list_count(ps->cfg, o);
		size_t item = o->size / o->max;
		char *items = p;
		char buf[VD_CONFIG_LONG_MAX];
		size_t n = strlen(v);
		if (n == 0)
			return fail(ps, "%s: expected a value", o->name);
		if (n >= item)
			return fail(ps, "%s: too long (%zu bytes, max %zu)",
				    o->name, n, item - 1);
		/* Zeroed first: the stored item (tail included) must depend only
		 * on the value, so equal configs compare equal bytewise. */
		memset(buf, 0, item);
		if (o->check) {
			const char *reason = o->check(v, buf, item);
			if (reason)
				return fail(ps, "%s: %s, got \"%s\"", o->name,
					    reason, show(v).s);
		} else {
			memcpy(buf, v, n);
		}
		if (*count >= o->max)
			return fail(ps, "%s: too many entries (max %" PRIu64 ")",
				    o->name, o->max);
		memcpy(items + item * (*count)++, buf, item);
		return 0;
	}
	case OPT_LISTEN:
		return set_listen(ps, o, v);
	case OPT_ACL:
		if (vd_acl_add_str(p, v, why, sizeof(why)) != 0)
			return fail(ps, "%s: %s", o->name, why);
		return 0;
	}
	return fail(ps, "%s: internal error: unknown option type", o->name);
}

static void clear_list(struct vd_config *cfg, const struct opt *o)
{
	size_t *count = list_count(cfg, o);
	memset(field(cfg, o), 0, o->size);
	*count = 0;
}

static const struct opt *find_option(const char *key)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (strcmp(options[i].name, key) == 0)
			return &options[i];
	return NULL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* One line, NUL-terminated and writable (quoted values unescape in place). */
static int parse_line(struct parse *ps, char *line)
{
	size_t len = strlen(line);
	/* Tolerate files saved with CRLF line ends. */
	if (len && line[len - 1] == '\r')
		line[--len] = '\0';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(ps, "control character 0x%02x in line", c);
	}

	char *p = line;
	while (is_blank(*p))
		p++;
	if (*p == '\0' || *p == '#')
		return 0;

	char *key = p;
	while (*p && !is_blank(*p) && *p != '=' && *p != '#')
		p++;
	char after_key = *p;
	*p = '\0';
	if (after_key && after_key != '=') {
		p++;
		while (is_blank(*p))
			p++;
		after_key = *p;
	}
	if (after_key != '=') {
		if (*key == '\0' || !find_option(key))
			return fail(ps, "expected \"option = value\", got \"%s\"",
				    show(key).s);
		return fail(ps, "%s: missing \"=\" after the option name", key);
	}
	if (*key == '\0')
		return fail(ps, "missing option name before \"=\"");
	const struct opt *o = find_option(key);
	if (!o)
		return fail(ps, "unknown option \"%s\"", show(key).s);
	p++;
	while (is_blank(*p))
		p++;

	char *value = p;
	if (*p == '"') {
		char *w = value;
		for (p++;; p++) {
			if (*p == '\0')
				return fail(ps, "%s: unterminated quoted value",
					    o->name);
			if (*p == '"')
				break;
			if (*p == '\\') {
				p++;
				if (*p != '"' && *p != '\\')
					return fail(ps, "%s: only \\\" and \\\\ "
							"may be escaped in a "
							"quoted value",
						    o->name);
			}
			*w++ = *p;
		}
		p++;
		*w = '\0';
		while (is_blank(*p))
			p++;
		if (*p != '\0' && *p != '#')
			return fail(ps, "%s: unexpected text after the quoted "
					"value", o->name);
	} else {
		while (*p && *p != '#') {
			if (*p == '"')
				return fail(ps, "%s: stray quote (quote the "
						"whole value)", o->name);
			p++;
		}
		while (p > value && is_blank(p[-1]))
			p--;
		*p = '\0';
	}

	size_t idx = (size_t)(o - options);
	bool list = o->type == OPT_LISTEN || o->type == OPT_STRLIST ||
		    o->type == OPT_ACL;
	if (!list && ps->seen[idx]) {
		return fail(ps, "%s: already set on line %u", o->name,
			    ps->seen[idx]);
	}
	/*
	 * The first listen (or other list) line replaces the built-in entries:
	 * listing 192.0.2.53 means "answer there", not "there and loopback".
	 * ACL rules are the exception: the loopback allows stay so local
	 * health checks keep working; a rule for the same prefix overrides.
	 */
	if (!ps->seen[idx] && (o->type == OPT_LISTEN || o->type == OPT_STRLIST))
		clear_list(ps->cfg, o);
	if (!ps->seen[idx])
		ps->seen[idx] = ps->line;
	/* The daemon runs from /, and a relative name would land wherever
	 * that is after a chdir nobody sees. */
	if ((!strcmp(o->name, "cache-snapshot") || !strcmp(o->name, "nta-file") ||
	     !strcmp(o->name, "cookie-secret-file")) &&
	    value[0] && value[0] != '/')
		return fail(ps, "%s: \"%s\" is not an absolute path", o->name,
			    value);
	return set_value(ps, o, value);
}

/* The line an option was (first) set on, 0 when it was not: cross-option
 * errors point at the later of the lines involved. */
static unsigned line_of(const struct parse *ps, const char *name)
{
	const struct opt *o = find_option(name);
	return o ? ps->seen[o - options] : 0;
}

static unsigned later_of(const struct parse *ps, const char *a, const char *b)
{
	return VD_MAX(line_of(ps, a), line_of(ps, b));
}

static int validate(struct parse *ps)
{
	const struct vd_config *cfg = ps->cfg;
	ps->line = 0;
	if (cfg->n_listen == 0)
		return fail(ps, "no listen address");
	ps->line = later_of(ps, "cache-min-ttl", "cache-max-ttl");
	if (cfg->cache_min_ttl > cfg->cache_max_ttl)
		return fail(ps, "cache-min-ttl (%" PRIu32 ") is above "
				"cache-max-ttl (%" PRIu32 ")",
			    cfg->cache_min_ttl, cfg->cache_max_ttl);
	/* A stale answer must come before the SERVFAIL it is meant to
	 * replace, or the timeout silently means "only on failure". */
	ps->line = later_of(ps, "stale-client-timeout", "recursion-timeout");
	if (cfg->serve_stale && cfg->stale_client_timeout_ms &&
	    cfg->stale_client_timeout_ms >= cfg->recursion_timeout_ms)
		return fail(ps, "stale-client-timeout (%u ms) is not below "
				"recursion-timeout (%u ms); lower it or set 0 "
				"to serve stale only on failure",
			    cfg->stale_client_timeout_ms,
			    cfg->recursion_timeout_ms);
	ps->line = later_of(ps, "tls-service-key", "tls-service-pem");
	if (!cfg->tls_service_key[0] != !cfg->tls_service_pem[0])
		return fail(ps, "tls-service-key and tls-service-pem go together "
				"(DoT needs both)");
	ps->line = line_of(ps, "anycast");
	if (cfg->anycast) {
		if (cfg->n_vips == 0)
			return fail(ps, "anycast = yes needs at least one vip");
		if (!cfg->bgp_router_id[0])
			return fail(ps, "anycast = yes needs bgp-router-id");
		if (cfg->n_bgp_neighbors == 0)
			return fail(ps, "anycast = yes needs a bgp-neighbor");
	}
	/* Tunnel references and the neighbours' place on them; the files
	 * and the MTU fit are checked by vipdnsd -t (they are I/O and
	 * warnings). */
	char terr[256];
	ps->line = 0; /* the message names the tunnel or neighbour */
	if (vd_anycast_tunnel_check(cfg, false, NULL, NULL, terr,
				    sizeof(terr)) != 0)
		return fail(ps, "%s", terr);
	return 0;
}

static int parse_text(struct vd_config *cfg, const char *name,
		      const char *text, size_t len, char *err, size_t errlen)
{
	char line[MAX_LINE + 2];
	struct parse ps = {.cfg = cfg, .name = name, .err = err,
			   .errlen = errlen};
	size_t pos = 0;
	int rc;

	vd_config_defaults(cfg);
	if (err && errlen)
		err[0] = '\0';
	while (pos < len) {
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;
		ps.line++;
		if (n > MAX_LINE)
			return fail(&ps, "line too long (max %d bytes)", MAX_LINE);
		if (memchr(start, '\0', n))
			return fail(&ps, "NUL byte in line");
		memcpy(line, start, n);
		line[n] = '\0';
		rc = parse_line(&ps, line);
		if (rc < 0)
			return rc;
		pos += n + 1;
	}
	return validate(&ps);
}

int vd_config_parse_string(struct vd_config *cfg, const char *name,
			   const char *text, char *err, size_t errlen)
{
	return parse_text(cfg, name, text, strlen(text), err, errlen);
}

int vd_config_load(struct vd_config *cfg, const char *path, char *err,
		   size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	bool parsed = false;
	int rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	buf = malloc(MAX_FILE + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + len, MAX_FILE + 1 - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > MAX_FILE) {
			rc = -EFBIG;
			goto out;
		}
	}
	rc = parse_text(cfg, path, buf, len, err, errlen);
	parsed = true;
out:
	/* parse_text() wrote its own "path:line: reason". */
	if (rc < 0 && !parsed && err && errlen)
		snprintf(err, errlen, "%s: %s", path,
			 rc == -EFBIG ? "too large for a config file (max 1 MiB)"
				      : strerror(-rc));
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Table sanity: a bad entry is a programming error, caught by the first
 * defaults() any test or daemon start makes. */
static void check_option(const struct opt *o)
{
	switch (o->type) {
	case OPT_UINT:
	case OPT_SIZE:
	case OPT_MODE:
	case OPT_ENUM:
		vd_require(o->size == 1 || o->size == 2 || o->size == 4 ||
			   o->size == 8);
		vd_require(o->size == 8 || o->max <= (1ull << (8 * o->size - 1)) - 1);
		vd_require(o->min <= o->max);
		break;
	case OPT_BOOL:
		vd_require(o->size == sizeof(bool));
		break;
	case OPT_STRING:
		vd_require(o->max < o->size);
		break;
	case OPT_STRLIST:
		vd_require(o->max * VD_CONFIG_STR_MAX == o->size ||
			   o->max * VD_CONFIG_LONG_MAX == o->size);
		break;
	case OPT_LISTEN:
		vd_require(o->max * sizeof(struct vd_listen) == o->size);
		break;
	case OPT_ACL:
		break;
	}
	if (o->type == OPT_ENUM) {
		vd_require(o->enums != NULL);
		for (const struct opt_enum *e = o->enums; e->name; e++)
			vd_require(e->value >= 0 &&
				   (o->size == 8 ||
				    (uint64_t)e->value <
					    (1ull << (8 * o->size - 1))));
	}
}

void vd_config_defaults(struct vd_config *cfg)
{
	struct parse ps = {.cfg = cfg, .name = "built-in defaults"};
	char err[256] = "";
	ps.err = err;
	ps.errlen = sizeof(err);

	memset(cfg, 0, sizeof(*cfg));
	vd_acl_init(&cfg->acl, VD_ACL_REFUSE);
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt *o = &options[i];
		bool list = o->type == OPT_LISTEN || o->type == OPT_STRLIST ||
			    o->type == OPT_ACL;
		check_option(o);
		if (!list) {
			if (set_value(&ps, o, o->def) != 0)
				vd_log(VD_LOG_CRIT, "%s", err);
			vd_require(err[0] == '\0');
			continue;
		}
		/* List defaults are written "a, b". */
		const char *d = o->def;
		while (*d) {
			char item[VD_CONFIG_STR_MAX];
			size_t n = strcspn(d, ",");
			vd_require(n < sizeof(item));
			memcpy(item, d, n);
			item[n] = '\0';
			if (set_value(&ps, o, item) != 0)
				vd_log(VD_LOG_CRIT, "%s", err);
			vd_require(err[0] == '\0');
			d += n;
			d += strspn(d, ", ");
		}
	}
}

static void put_quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void describe(const struct opt *o, char *buf, size_t n)
{
	char lo[32], hi[32], names[128];
	switch (o->type) {
	case OPT_BOOL:
		snprintf(buf, n, "yes or no");
		break;
	case OPT_UINT:
		snprintf(buf, n, "integer %" PRIu64 "..%" PRIu64, o->min, o->max);
		break;
	case OPT_SIZE:
		fmt_size(lo, sizeof(lo), o->min);
		fmt_size(hi, sizeof(hi), o->max);
		snprintf(buf, n, "size %s..%s (K, M, G suffixes)", lo, hi);
		break;
	case OPT_STRING:
		snprintf(buf, n, "string, max %" PRIu64 " bytes", o->max);
		break;
	case OPT_ENUM:
		enum_list(o->enums, ", ", names, sizeof(names));
		snprintf(buf, n, "one of %s", names);
		break;
	case OPT_MODE:
		snprintf(buf, n, "octal mode, max %04" PRIo64, o->max);
		break;
	case OPT_LISTEN:
		snprintf(buf, n, "ADDR[@PORT], repeatable, max %" PRIu64, o->max);
		break;
	case OPT_ACL:
		snprintf(buf, n, "PREFIX[/LEN] ACTION, repeatable, max %" PRIu64,
			 o->max);
		break;
	case OPT_STRLIST:
		snprintf(buf, n, "string, repeatable, max %" PRIu64, o->max);
		break;
	}
}

static void put_md(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', out);
		fputc(*s, out);
	}
}

void vd_config_print_reference(FILE *out, bool markdown)
{
	char type[160];
	if (markdown) {
		fputs("| Option | Value | Default | Description |\n"
		      "|---|---|---|---|\n", out);
	} else {
		fputs("Configuration file: one \"option = value\" per line, '#' "
		      "starts a comment,\nvalues may be double-quoted (\\\" and "
		      "\\\\ escape inside quotes).\n", out);
	}
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt *o = &options[i];
		bool is_str = o->type == OPT_STRING;
		describe(o, type, sizeof(type));
		if (markdown) {
			fprintf(out, "| `%s` | ", o->name);
			put_md(out, type);
			fputs(" | ", out);
			if (o->def[0])
				fprintf(out, "`%s`", o->def);
			else
				fputs(is_str ? "`\"\"`" : "(none)", out);
			fputs(" | ", out);
			put_md(out, o->doc);
			fputs(" |\n", out);
		} else {
			fprintf(out, "\n%s = %s%s%s\n    %s\n    %s\n", o->name,
				is_str ? "\"" : "", o->def, is_str ? "\"" : "",
				type, o->doc);
		}
	}
}

void vd_config_dump(FILE *out, const struct vd_config *cfg)
{
	char buf[128];
	fputs("# vipdns effective configuration\n", out);
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt *o = &options[i];
		const void *p = field(cfg, o);
		switch (o->type) {
		case OPT_BOOL:
			fprintf(out, "%s = %s\n", o->name,
				*(const bool *)p ? "yes" : "no");
			break;
		case OPT_UINT:
			fprintf(out, "%s = %" PRIu64 "\n", o->name,
				load_uint(p, o->size));
			break;
		case OPT_SIZE:
			fmt_size(buf, sizeof(buf), load_uint(p, o->size));
			fprintf(out, "%s = %s\n", o->name, buf);
			break;
		case OPT_MODE:
			fprintf(out, "%s = %04" PRIo64 "\n", o->name,
				load_uint(p, o->size));
			break;
		case OPT_ENUM:
			fprintf(out, "%s = %s\n", o->name,
				enum_name(o->enums, (int)load_uint(p, o->size)));
			break;
		case OPT_STRING:
			fprintf(out, "%s = ", o->name);
			put_quoted(out, p);
			fputc('\n', out);
			break;
		case OPT_STRLIST: {
			const char *items = p;
			size_t item = o->size / o->max;
			size_t n = *list_count(cfg, o);
			if (n == 0)
				fprintf(out, "# %s: none\n", o->name);
			for (size_t j = 0; j < n; j++) {
				fprintf(out, "%s = ", o->name);
				put_quoted(out, items + item * j);
				fputc('\n', out);
			}
			break;
		}
		case OPT_LISTEN: {
			/* Any OPT_LISTEN field (listen, xdp-vip), not just
			 * listen; an empty list must stay empty. */
			const struct vd_listen *items = p;
			size_t n = *list_count(cfg, o);
			if (n == 0)
				fprintf(out, "# %s: none\n", o->name);
			for (size_t j = 0; j < n; j++) {
				const struct sockaddr_storage *ss = &items[j].addr;
				const void *a;
				uint16_t port;
				if (ss->ss_family == AF_INET6) {
					const struct sockaddr_in6 *s6 =
						(const void *)ss;
					a = &s6->sin6_addr;
					port = ntohs(s6->sin6_port);
				} else {
					const struct sockaddr_in *s4 =
						(const void *)ss;
					a = &s4->sin_addr;
					port = ntohs(s4->sin_port);
				}
				if (!inet_ntop(ss->ss_family, a, buf, sizeof(buf)))
					continue;
				fprintf(out, "%s = %s@%u\n", o->name, buf,
					(unsigned)port);
			}
			break;
		}
		case OPT_ACL: {
			const struct vd_acl *acl = p;
			for (size_t j = 0; j < acl->n_rules; j++)
				if (vd_acl_rule_format(&acl->rules[j], buf,
						       sizeof(buf)) == 0)
					fprintf(out, "%s = %s\n", o->name, buf);
			break;
		}
		}
	}
}
