#include "control/proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Channels: LOCAL only, or both (see struct vd_ctl_cmd_info). */
#define LOCAL VD_CTL_CH_LOCAL
#define ANY (VD_CTL_CH_LOCAL | VD_CTL_CH_CLUSTER)

const struct vd_ctl_cmd_info vd_ctl_commands[] = {
	{"status", 0, 0, "", "version, uptime, listeners, cache size", ANY},
	{"stats", 0, 0, "", "every counter as name=value", ANY},
	{"flush", 1, 2, "NAME [TYPE]",
	 "remove NAME (one TYPE or all) from the cache", ANY},
	{"flush-zone", 1, 1, "NAME", "remove NAME and every name below it",
	 ANY},
	{"flush-negative", 1, 1, "ZONE",
	 "remove NXDOMAIN/NODATA answers at or below ZONE", ANY},
	{"flush-all", 0, 0, "", "empty the cache", ANY},
	{"dump-cache", 0, 0, "",
	 "list entries: name type class flags ttl rcode kind size hits", LOCAL},
	{"cache-save", 0, 1, "[FILE]",
	 "write the cache to FILE (absolute; default cache-snapshot)", LOCAL},
	{"cache-load", 0, 1, "[FILE]",
	 "add a snapshot's still-valid answers to the cache", LOCAL},
	{"cache-export", 1, 1, "N",
	 "the hottest N answers as a snapshot (binary; for warming a peer)",
	 ANY},
	{"reload", 0, 0, "",
	 "reread the configuration file (answers of changed zones are "
	 "flushed, the rest of the cache is kept)",
	 ANY},
	{"cookie-secret", 1, 2, "add HEX|new | activate | drop | list",
	 "DNS cookie secrets: stage one (new = made by vipdnsctl, the same "
	 "for every node), make cookies with it, drop the old ones",
	 ANY},
	{"nta", 1, 3, "add NAME [SECONDS] | remove NAME | list",
	 "negative trust anchors: stop validating NAME (default 3600 s, "
	 "at most a week)",
	 ANY},
	{"health", 0, 0, "", "what works: workers, listeners, recursion",
	 ANY},
	{"drain", 0, 0, "", "withdraw the anycast routes, keep answering",
	 LOCAL},
	{"undrain", 0, 0, "", "announce the anycast routes again", LOCAL},
	{"bird", 0, 0, "", "BIRD's view of the BGP sessions and routes", LOCAL},
	{NULL, 0, 0, NULL, NULL, 0},
};

#undef LOCAL
#undef ANY

bool vd_ctl_cmd_allowed(const struct vd_ctl_cmd_info *cmd,
			enum vd_ctl_channel ch)
{
	return cmd && (cmd->channels & (unsigned)ch) != 0;
}

const struct vd_ctl_cmd_info *vd_ctl_find_command(const char *name)
{
	for (const struct vd_ctl_cmd_info *c = vd_ctl_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

void vd_ctl_sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

int vd_ctl_parse_request(const char *line, size_t len,
			 struct vd_ctl_request *req, char *err, size_t errlen)
{
	char first[VD_CTL_TOKEN_MAX + 1] = "";
	unsigned ntok = 0;
	size_t i = 0;

	memset(req, 0, sizeof(*req));
	if (len == 0) {
		snprintf(err, errlen, "empty request");
		return -EINVAL;
	}
	if (len >= VD_CTL_REQ_MAX) {
		snprintf(err, errlen, "request too long (max %d bytes)",
			 VD_CTL_REQ_MAX - 1);
		return -EINVAL;
	}
	while (i < len) {
		size_t start = i;
		while (i < len && line[i] != ' ') {
			unsigned char c = (unsigned char)line[i];
			if (c < 0x21 || c > 0x7e) {
				snprintf(err, errlen,
					 "byte 0x%02x at offset %zu: requests "
					 "are printable ASCII", c, i);
				return -EINVAL;
			}
			i++;
		}
		size_t tlen = i - start;
		if (tlen == 0) {
			snprintf(err, errlen, "empty token at offset %zu "
				 "(one space between words)", start);
			return -EINVAL;
		}
		if (tlen > VD_CTL_TOKEN_MAX) {
			snprintf(err, errlen, "token at offset %zu too long "
				 "(max %d bytes)", start, VD_CTL_TOKEN_MAX);
			return -EINVAL;
		}
		if (ntok > VD_CTL_MAX_ARGS) {
			snprintf(err, errlen, "too many arguments (max %d)",
				 VD_CTL_MAX_ARGS);
			return -EINVAL;
		}
		char *dst = ntok == 0 ? first : req->argv[ntok - 1];
		memcpy(dst, line + start, tlen);
		dst[tlen] = '\0';
		ntok++;
		if (i < len) {
			i++; /* the space */
			if (i == len) {
				snprintf(err, errlen, "trailing space");
				return -EINVAL;
			}
		}
	}
	req->cmd = vd_ctl_find_command(first);
	if (!req->cmd) {
		vd_ctl_sanitize(first);
		snprintf(err, errlen, "unknown command \"%.64s\"", first);
		return -EINVAL;
	}
	req->argc = ntok - 1;
	if (req->argc < req->cmd->min_args || req->argc > req->cmd->max_args) {
		if (req->cmd->max_args == 0)
			snprintf(err, errlen, "%s: takes no arguments",
				 req->cmd->name);
		else
			snprintf(err, errlen, "%s: expected %s", req->cmd->name,
				 req->cmd->usage);
		req->cmd = NULL;
		return -EINVAL;
	}
	return 0;
}

int vd_ctl_format_request(unsigned argc, char *const *argv, char *out,
			  size_t cap, char *err, size_t errlen)
{
	size_t n = 0;
	struct vd_ctl_request req;
	if (argc == 0) {
		snprintf(err, errlen, "no command");
		return -EINVAL;
	}
	for (unsigned i = 0; i < argc; i++) {
		size_t l = strlen(argv[i]);
		/* Joined by spaces, "a b" would silently become two words. */
		if (l == 0 || strchr(argv[i], ' ')) {
			snprintf(err, errlen, "argument %u is empty or has a "
				 "space", i);
			return -EINVAL;
		}
		if (n + l + 2 > cap || n + l + 2 > VD_CTL_REQ_MAX) {
			snprintf(err, errlen, "request too long (max %d bytes)",
				 VD_CTL_REQ_MAX - 1);
			return -EINVAL;
		}
		if (i)
			out[n++] = ' ';
		memcpy(out + n, argv[i], l);
		n += l;
	}
	if (vd_ctl_parse_request(out, n, &req, err, errlen) != 0)
		return -EINVAL;
	out[n++] = '\n';
	out[n] = '\0';
	return (int)n;
}

int vd_ctl_parse_response(const char *line, size_t len, size_t *body_len,
			  char *msg, size_t msglen)
{
	if (len >= 4 && memcmp(line, "ERR ", 4) == 0) {
		size_t m = len - 4;
		if (m >= msglen)
			m = msglen - 1;
		memcpy(msg, line + 4, m);
		msg[m] = '\0';
		vd_ctl_sanitize(msg);
		return 1;
	}
	if (len < 4 || len > 14 || memcmp(line, "OK ", 3) != 0)
		return -EBADMSG;
	unsigned long long v = 0;
	for (size_t i = 3; i < len; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -EBADMSG;
		v = v * 10 + (unsigned)(line[i] - '0');
	}
	if (v > VD_CTL_BODY_MAX)
		return -EBADMSG;
	*body_len = (size_t)v;
	return 0;
}

static const struct {
	const char *name;
	unsigned value;
} qtypes[] = {
	{"A", 1},      {"NS", 2},     {"CNAME", 5},  {"SOA", 6},
	{"PTR", 12},   {"MX", 15},    {"TXT", 16},   {"AAAA", 28},
	{"SRV", 33},   {"NAPTR", 35}, {"DS", 43},    {"RRSIG", 46},
	{"NSEC", 47},  {"DNSKEY", 48}, {"NSEC3", 50}, {"TLSA", 52},
	{"SVCB", 64},  {"HTTPS", 65}, {"CAA", 257},  {"ANY", 255},
};

int vd_ctl_qtype_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(qtypes) / sizeof(qtypes[0]); i++)
		if (strcasecmp(s, qtypes[i].name) == 0)
			return (int)qtypes[i].value;
	if (strncasecmp(s, "TYPE", 4) == 0)
		s += 4;
	if (!*s || strlen(s) > 5 || strspn(s, "0123456789") != strlen(s))
		return -EINVAL;
	unsigned long v = strtoul(s, NULL, 10);
	return v <= 65535 ? (int)v : -EINVAL;
}

const char *vd_ctl_qtype_name(unsigned qtype, char *buf, size_t cap)
{
	for (size_t i = 0; i < sizeof(qtypes) / sizeof(qtypes[0]); i++)
		if (qtypes[i].value == qtype) {
			snprintf(buf, cap, "%s", qtypes[i].name);
			return buf;
		}
	snprintf(buf, cap, "TYPE%u", qtype);
	return buf;
}
