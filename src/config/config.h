/*
 * vipdnsd configuration.  Every option is declared once, in the option
 * table in config.c (name, type, default, validator, doc line); the parser,
 * `vipdnsd --help-config`, the defaults dump and the README reference all
 * come from that table.
 *
 * File format: one `key = value` per line, `#` starts a comment, keys that
 * take lists (listen, acl, trust-anchor-file, unbound-option) repeat.
 */
#ifndef VD_CONFIG_CONFIG_H
#define VD_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "acl/acl.h"

#define VD_CONFIG_DEFAULT_PATH "/etc/vipdns/vipdns.conf"
#define VD_CONFIG_MAX_LISTEN 64
#define VD_CONFIG_MAX_LIST 64
#define VD_CONFIG_STR_MAX 256
/* List items that carry file paths (tunnel: three certificate files). */
#define VD_CONFIG_LONG_MAX 1024
/* local-zone, local-data, local-data-ptr lines. */
#define VD_CONFIG_MAX_LOCAL 512

struct vd_listen {
	struct sockaddr_storage addr; /* port filled in (default 53) */
	socklen_t addr_len;
};

/* xdp-mode; same order as enum vd_xdp_mode (dataplane/xdp/xdp.h). */
enum vd_config_xdp_mode {
	VD_CONFIG_XDP_AUTO = 0,
	VD_CONFIG_XDP_NATIVE,
	VD_CONFIG_XDP_GENERIC,
};

struct vd_config {
	/* listeners and data planes */
	struct vd_listen listen[VD_CONFIG_MAX_LISTEN];
	size_t n_listen;
	unsigned threads;          /* worker threads; 0 in the file = one per CPU */
	uint16_t edns_buffer_size; /* advertised and upper bound for UDP answers */
	unsigned tcp_idle_timeout_ms;
	unsigned tcp_max_connections; /* per worker */
	unsigned tcp_max_connections_per_client; /* per /32 or /56, all workers */
	int so_rcvbuf, so_sndbuf;     /* bytes; 0 = kernel default */

	/* XDP fast path (src/dataplane/xdp/) */
	char xdp_interfaces[VD_CONFIG_MAX_LIST][VD_CONFIG_STR_MAX];
	size_t n_xdp_interfaces;      /* 0 = XDP off */
	int xdp_mode;                 /* enum vd_config_xdp_mode */
	struct vd_listen xdp_vips[VD_CONFIG_MAX_LISTEN];
	size_t n_xdp_vips;            /* 0 = the listen addresses */
	unsigned xdp_max_answer;      /* bytes; larger answers stay in user space */
	unsigned xdp_map_entries;

	/* cache */
	size_t cache_size;            /* bytes */
	uint32_t cache_min_ttl, cache_max_ttl, cache_max_negative_ttl;
	char neg_ttl_zones[VD_CONFIG_MAX_LIST][VD_CONFIG_STR_MAX]; /* "ZONE SECONDS" */
	size_t n_neg_ttl_zones;
	uint32_t servfail_ttl;        /* RFC 9520 */
	bool serve_stale;             /* RFC 8767 */
	uint32_t stale_max_age;       /* seconds past expiry an answer may be served */
	uint32_t stale_answer_ttl;    /* TTL on stale answers */
	unsigned stale_client_timeout_ms; /* answer stale after this long; 0 = only on failure */
	uint32_t stale_refresh_time;  /* seconds answered stale at once after a failed refresh */
	char cache_snapshot[VD_CONFIG_STR_MAX]; /* "" = no warm restart */
	unsigned cache_warm_entries;  /* from a peer at start; 0 = off */
	bool prefetch;
	unsigned prefetch_percent;    /* refresh when this % of TTL remains */
	unsigned prefetch_min_hits;   /* ...and the entry had at least this many hits */

	/* recursion */
	unsigned max_recursions;      /* outstanding per worker */
	bool dnssec;
	bool qname_minimisation;
	bool aggressive_nsec;
	bool use_caps_for_id;         /* 0x20 */
	char root_hints[VD_CONFIG_STR_MAX];       /* "" = built-in */
	char trust_anchor_files[VD_CONFIG_MAX_LIST][VD_CONFIG_STR_MAX];
	size_t n_trust_anchor_files;  /* 0 = built-in root anchor */
	char unbound_options[VD_CONFIG_MAX_LIST][VD_CONFIG_STR_MAX]; /* "name: value" */
	size_t n_unbound_options;
	unsigned recursion_timeout_ms; /* answer SERVFAIL (or stale) after this long */

	/* zones and answer policy, Unbound's options (src/resolve/zones.h);
	 * items are stored normalised */
	char forward_zones[VD_CONFIG_MAX_LIST][VD_CONFIG_LONG_MAX];
	size_t n_forward_zones;
	char stub_zones[VD_CONFIG_MAX_LIST][VD_CONFIG_LONG_MAX];
	size_t n_stub_zones;
	char domain_insecure[VD_CONFIG_MAX_LIST][VD_CONFIG_STR_MAX];
	size_t n_domain_insecure;
	char local_zones[VD_CONFIG_MAX_LOCAL][VD_CONFIG_STR_MAX]; /* NAME TYPE */
	size_t n_local_zones;
	char local_data[VD_CONFIG_MAX_LOCAL][VD_CONFIG_LONG_MAX];  /* one RR */
	size_t n_local_data;
	char local_data_ptr[VD_CONFIG_MAX_LOCAL][VD_CONFIG_STR_MAX]; /* ADDR NAME */
	size_t n_local_data_ptr;
	char private_addresses[VD_CONFIG_MAX_LIST][VD_CONFIG_STR_MAX];
	size_t n_private_addresses;
	char private_domains[VD_CONFIG_MAX_LIST][VD_CONFIG_STR_MAX];
	size_t n_private_domains;
	char dns64_prefix[VD_CONFIG_STR_MAX];   /* "" = DNS64 off */
	bool dns64_synthall;
	char dns64_ignore_aaaa[VD_CONFIG_MAX_LIST][VD_CONFIG_STR_MAX];
	size_t n_dns64_ignore_aaaa;
	char tls_cert_bundle[VD_CONFIG_STR_MAX]; /* CAs for forward-zone tls */
	char nta_file[VD_CONFIG_STR_MAX]; /* negative trust anchors; "" = memory */

	/* DNS over TLS (RFC 7858; src/dataplane/socket/dot.h) */
	char tls_service_key[VD_CONFIG_STR_MAX]; /* PEM private key; "" = off */
	char tls_service_pem[VD_CONFIG_STR_MAX]; /* PEM certificate chain */
	unsigned tls_port;                       /* listen entries on it are DoT */
	char tls_ticket_keys[VD_CONFIG_MAX_LIST][VD_CONFIG_STR_MAX];
	size_t n_tls_ticket_keys;
	bool pad_responses;                      /* RFC 7830/8467 over TLS */

	/* DNS cookies (RFC 7873, RFC 9018; src/daemon/cookies.h) */
	bool answer_cookie;
	char cookie_secret_file[VD_CONFIG_STR_MAX];

	/* access control */
	struct vd_acl acl;

	/* identity, process */
	char node_id[VD_CONFIG_STR_MAX]; /* NSID; "" = hostname */
	char user[VD_CONFIG_STR_MAX];    /* drop privileges to; "" = stay */
	char pidfile[VD_CONFIG_STR_MAX];
	int log_level;                   /* enum vd_log_level */
	int log_target;                  /* enum vd_log_target */

	/* control */
	char control_socket[VD_CONFIG_STR_MAX];
	unsigned control_socket_mode;    /* octal in the file, e.g. 0660 */
	char control_socket_group[VD_CONFIG_STR_MAX]; /* "" = the daemon's group */

	/* metrics and status page (src/metrics) */
	char metrics_listen[VD_CONFIG_STR_MAX]; /* ADDR@PORT; "" = off */

	/* cluster-wide control over TLS (src/control) */
	char cluster_listen[VD_CONFIG_STR_MAX]; /* ADDR@PORT; "" = off */
	char cluster_peers[VD_CONFIG_MAX_LIST][VD_CONFIG_STR_MAX]; /* NAME=ADDR@PORT */
	size_t n_cluster_peers;
	char cluster_cert[VD_CONFIG_STR_MAX]; /* PEM: this node's certificate */
	char cluster_key[VD_CONFIG_STR_MAX];  /* PEM: its private key */
	char cluster_ca[VD_CONFIG_STR_MAX];   /* PEM: CA that signs every node */

	/* anycast: VIPs, health, BIRD (src/anycast/) */
	bool anycast;
	char vips[VD_CONFIG_MAX_LIST][VD_CONFIG_STR_MAX]; /* ADDR/LEN, normalised */
	size_t n_vips;
	char vip_interface[VD_CONFIG_STR_MAX];
	unsigned vip_lifetime;           /* seconds; the address expires unless refreshed */
	char bgp_router_id[VD_CONFIG_STR_MAX];
	uint64_t bgp_local_as;          /* 1..4294967295 */
	char bgp_neighbors[VD_CONFIG_MAX_LIST][VD_CONFIG_STR_MAX]; /* see anycast/parse.h */
	size_t n_bgp_neighbors;
	char tunnels[VD_CONFIG_MAX_LIST][VD_CONFIG_LONG_MAX]; /* see anycast/tunnel.h */
	size_t n_tunnels;
	char bird_socket[VD_CONFIG_STR_MAX];
	char bird_config[VD_CONFIG_STR_MAX];        /* "" = not written by vipdnsd */
	char bird_announce_file[VD_CONFIG_STR_MAX];
	unsigned health_interval_ms, health_timeout_ms;
	unsigned health_rise, health_fall;
	char health_degrade[VD_CONFIG_STR_MAX]; /* "", "med N", "prepend N" */
	char health_canaries[VD_CONFIG_MAX_LIST][VD_CONFIG_STR_MAX]; /* NAME [TYPE] */
	size_t n_health_canaries;
	unsigned drain_timeout;          /* seconds */
	unsigned drain_quiet_ms;         /* no queries this long = traffic stopped */
	unsigned drain_gshut_ms;         /* GRACEFUL_SHUTDOWN before the withdraw */
};

/* Fills cfg with built-in defaults (zero-config start: 127.0.0.1 and ::1
 * port 53, built-in root hints and trust anchor, loopback-only ACL). */
void vd_config_defaults(struct vd_config *cfg);

/*
 * Parses path over the defaults.  On error writes "path:line: reason" into
 * err (errlen bytes) and returns -EINVAL (or -errno when the file cannot be
 * read).  cfg is left unspecified on error: parse into a scratch struct.
 */
int vd_config_load(struct vd_config *cfg, const char *path, char *err,
		   size_t errlen);

/* Same, from a string (tests, fuzzing); name is used in messages. */
int vd_config_parse_string(struct vd_config *cfg, const char *name,
			   const char *text, char *err, size_t errlen);

/* Prints every option with type, default and doc line (--help-config);
 * markdown=true prints the README reference table. */
void vd_config_print_reference(FILE *out, bool markdown);

/* Prints the effective configuration in file syntax; parsing the output
 * gives back an equal configuration. */
void vd_config_dump(FILE *out, const struct vd_config *cfg);

/* The option table, for tests and tools: names in table order. */
size_t vd_config_option_count(void);
const char *vd_config_option_name(size_t i); /* NULL past the end */

/*
 * Entries of cfg->unbound_options are stored normalised as "name: value"
 * (one space).  Splits one for ub_ctx_set_option(): name gets "name:" (the
 * colon is what libunbound expects), *value points into raw.  Returns 0,
 * -EINVAL if raw has no ": ", -ENOSPC if name is too small.
 */
int vd_config_unbound_option_split(const char *raw, char *name,
				   size_t namelen, const char **value);

/* One cache-max-negative-ttl-zone value: the zone as lower-cased wire
 * (VD_DNS_NAME_MAX bytes) and its cap.  0 or -EINVAL. */
int vd_config_neg_zone_parse(const char *in, uint8_t *zone, size_t *zone_len,
			     uint32_t *ttl);

#endif
