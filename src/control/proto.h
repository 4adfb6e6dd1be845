/*
 * The control protocol, spoken by vipdnsctl and vipdnsd over the unix
 * control socket and (for --cluster) over mutual TLS.  docs/control.md
 * describes it for operators; the rules in short:
 *
 *   request:  one line, "COMMAND[ ARG]...\n", at most VD_CTL_REQ_MAX bytes
 *             with the newline; printable ASCII, tokens separated by one
 *             space, at most VD_CTL_MAX_ARGS arguments of at most
 *             VD_CTL_TOKEN_MAX bytes.  One request per connection.
 *   response: "OK <length>\n" and exactly <length> bytes of text (at most
 *             VD_CTL_BODY_MAX), or "ERR <message>\n"; then the server
 *             closes.  The length lets the client tell a complete answer
 *             from a daemon that died half-way.
 *
 * The command table lives here so client and server check arguments the
 * same way.  No I/O in this file.
 */
#ifndef VD_CONTROL_PROTO_H
#define VD_CONTROL_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#define VD_CTL_REQ_MAX 1024
#define VD_CTL_MAX_ARGS 8
#define VD_CTL_TOKEN_MAX 255
#define VD_CTL_HEADER_MAX 600 /* response header line, newline included */
#define VD_CTL_BODY_MAX (256u << 20)

/* The channels a request can arrive on. */
enum vd_ctl_channel {
	VD_CTL_CH_LOCAL = 1u << 0,   /* the unix socket, peer credentials checked */
	VD_CTL_CH_CLUSTER = 1u << 1, /* mutual TLS from a named cluster-peer */
};

struct vd_ctl_cmd_info {
	const char *name;
	unsigned min_args, max_args;
	const char *usage; /* arguments, for messages */
	const char *help;
	/*
	 * The allow-list: the channels (enum vd_ctl_channel) that accept it.
	 * The server enforces it, vipdnsctl only checks it early.  The
	 * cluster channel takes what keeps the nodes in agreement (flushes,
	 * reload) and read-only summaries; never what changes one node's
	 * part in the fleet (drain, undrain, bird) or hands out its data
	 * (dump-cache): a stolen node key must not withdraw the fleet.
	 */
	unsigned channels;
};

struct vd_ctl_request {
	const struct vd_ctl_cmd_info *cmd;
	unsigned argc;
	char argv[VD_CTL_MAX_ARGS][VD_CTL_TOKEN_MAX + 1];
};

/* The command table, NULL-name terminated. */
extern const struct vd_ctl_cmd_info vd_ctl_commands[];
const struct vd_ctl_cmd_info *vd_ctl_find_command(const char *name);
/* Whether cmd may be run when it arrives on channel ch. */
bool vd_ctl_cmd_allowed(const struct vd_ctl_cmd_info *cmd,
			enum vd_ctl_channel ch);

/*
 * Parses one request line of len bytes (the newline already removed; a
 * '\n' or NUL inside is an error).  Returns 0, or -EINVAL with a reason
 * in err fit to send back ("unknown command \"x\"", "flush: expected NAME
 * [TYPE]"...).  Never reads past len.
 */
int vd_ctl_parse_request(const char *line, size_t len,
			 struct vd_ctl_request *req, char *err, size_t errlen);

/*
 * Builds the request line (with its newline) for argv[0..argc) into out.
 * Returns its length, or -EINVAL with a reason in err (the same checks
 * the server makes, so a bad call fails before connecting).
 */
int vd_ctl_format_request(unsigned argc, char *const *argv, char *out,
			  size_t cap, char *err, size_t errlen);

/*
 * Parses a response header line (newline removed).  Returns 0 for OK with
 * *body_len set, 1 for ERR with the message in msg, -EBADMSG for anything
 * else (including a length above VD_CTL_BODY_MAX).
 */
int vd_ctl_parse_response(const char *line, size_t len, size_t *body_len,
			  char *msg, size_t msglen);

/* Error messages are one printable line: other bytes become '?'. */
void vd_ctl_sanitize(char *s);

/* Query type by name ("AAAA", "TYPE65", "65").  Returns it or -EINVAL. */
int vd_ctl_qtype_parse(const char *s);
/* Name of a query type ("AAAA", else "TYPE<n>") into buf. */
const char *vd_ctl_qtype_name(unsigned qtype, char *buf, size_t cap);

#endif
