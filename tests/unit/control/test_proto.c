/* Unit tests for src/control/proto.c: request parsing and formatting,
 * response headers, query type names. */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "control/proto.h"

static int parse(const char *s, struct vd_ctl_request *req, char *err)
{
	return vd_ctl_parse_request(s, strlen(s), req, err, 256);
}

Test(proto, simple_commands)
{
	struct vd_ctl_request req;
	char err[256];
	cr_assert_eq(parse("status", &req, err), 0);
	cr_assert_str_eq(req.cmd->name, "status");
	cr_assert_eq(req.argc, 0);
	cr_assert_eq(parse("flush www.example.com AAAA", &req, err), 0);
	cr_assert_str_eq(req.cmd->name, "flush");
	cr_assert_eq(req.argc, 2);
	cr_assert_str_eq(req.argv[0], "www.example.com");
	cr_assert_str_eq(req.argv[1], "AAAA");
	cr_assert_eq(parse("flush-zone example.", &req, err), 0);
	cr_assert_eq(req.argc, 1);
}

Test(proto, arity)
{
	struct vd_ctl_request req;
	char err[256];
	cr_assert_eq(parse("flush", &req, err), -EINVAL);
	cr_assert(strstr(err, "expected NAME [TYPE]"), "%s", err);
	cr_assert_eq(parse("flush a b c", &req, err), -EINVAL);
	cr_assert_eq(parse("status now", &req, err), -EINVAL);
	cr_assert(strstr(err, "takes no arguments"), "%s", err);
	cr_assert_null(req.cmd);
}

Test(proto, rejects_malformed)
{
	struct vd_ctl_request req;
	char err[256];
	const char *bad[] = {"", " status", "status ", "flush  a", "sta\ttus",
			     "nope", "flush a\x01", "flush \xc3\xa9"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse(bad[i], &req, err), -EINVAL, "[%zu] %s", i,
			     bad[i]);
		cr_assert(err[0]);
		for (const char *p = err; *p; p++)
			cr_assert((unsigned char)*p >= 0x20 &&
				  (unsigned char)*p < 0x7f);
	}
	/* an embedded NUL is a byte like any other: not printable */
	cr_assert_eq(vd_ctl_parse_request("status\0x", 8, &req, err, 256),
		     -EINVAL);
}

Test(proto, limits)
{
	struct vd_ctl_request req;
	char err[256];
	char line[VD_CTL_REQ_MAX + 16];
	/* a token of exactly the maximum is fine, one more is not */
	memset(line, 'a', sizeof(line));
	memcpy(line, "flush ", 6);
	line[6 + VD_CTL_TOKEN_MAX] = '\0';
	cr_assert_eq(parse(line, &req, err), 0, "%s", err);
	line[6 + VD_CTL_TOKEN_MAX] = 'a';
	line[6 + VD_CTL_TOKEN_MAX + 1] = '\0';
	cr_assert_eq(parse(line, &req, err), -EINVAL);
	/* too many arguments */
	cr_assert_eq(parse("flush a b c d e f g h i", &req, err), -EINVAL);
	cr_assert(strstr(err, "too many"), "%s", err);
	/* overall length */
	memset(line, 'a', sizeof(line));
	cr_assert_eq(vd_ctl_parse_request(line, VD_CTL_REQ_MAX, &req, err, 256),
		     -EINVAL);
	cr_assert(strstr(err, "too long"), "%s", err);
}

Test(proto, format_request)
{
	char out[VD_CTL_REQ_MAX + 1], err[256];
	char *ok[] = {"flush", "example.com", "A"};
	cr_assert_eq(vd_ctl_format_request(3, ok, out, sizeof(out), err,
					   sizeof(err)),
		     (int)strlen("flush example.com A\n"));
	cr_assert_str_eq(out, "flush example.com A\n");
	char *bad[] = {"flush", "two words"};
	cr_assert_lt(vd_ctl_format_request(2, bad, out, sizeof(out), err,
					   sizeof(err)), 0);
	char *unknown[] = {"explode"};
	cr_assert_lt(vd_ctl_format_request(1, unknown, out, sizeof(out), err,
					   sizeof(err)), 0);
	cr_assert(strstr(err, "unknown command"));
}

Test(proto, responses)
{
	size_t len = 99;
	char msg[64];
	cr_assert_eq(vd_ctl_parse_response("OK 0", 4, &len, msg, sizeof(msg)), 0);
	cr_assert_eq(len, 0);
	cr_assert_eq(vd_ctl_parse_response("OK 1234", 7, &len, msg, sizeof(msg)),
		     0);
	cr_assert_eq(len, 1234);
	cr_assert_eq(vd_ctl_parse_response("ERR no such\x01thing", 18, &len, msg,
					   sizeof(msg)), 1);
	cr_assert_str_eq(msg, "no such?thing");
	const char *bad[] = {"OK", "OK ", "OK -1", "OK 12x", "ok 1", "HTTP/1.1",
			     "OK 99999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(vd_ctl_parse_response(bad[i], strlen(bad[i]), &len,
						   msg, sizeof(msg)),
			     -EBADMSG, "%s", bad[i]);
}

Test(proto, qtypes)
{
	char buf[16];
	cr_assert_eq(vd_ctl_qtype_parse("AAAA"), 28);
	cr_assert_eq(vd_ctl_qtype_parse("aaaa"), 28);
	cr_assert_eq(vd_ctl_qtype_parse("TYPE65"), 65);
	cr_assert_eq(vd_ctl_qtype_parse("15"), 15);
	cr_assert_lt(vd_ctl_qtype_parse("TYPE70000"), 0);
	cr_assert_lt(vd_ctl_qtype_parse("BOGUS"), 0);
	cr_assert_lt(vd_ctl_qtype_parse(""), 0);
	cr_assert_str_eq(vd_ctl_qtype_name(1, buf, sizeof(buf)), "A");
	cr_assert_str_eq(vd_ctl_qtype_name(999, buf, sizeof(buf)), "TYPE999");
}

/* The cluster channel's allow-list: what keeps nodes in agreement and
 * read-only summaries; never drain/undrain/bird or the cache contents. */
Test(proto, cluster_allow_list)
{
	static const char *const cluster_ok[] = {
		"status", "stats", "flush", "flush-zone", "flush-all", "reload",
		"health", "cache-export", "flush-negative", "nta", "cookie-secret"};
	/* cache-save/-load name files on this host: never from a peer */
	static const char *const local_only[] = {"dump-cache", "cache-save",
						 "cache-load", "drain",
						 "undrain", "bird"};
	for (size_t i = 0; i < sizeof(cluster_ok) / sizeof(cluster_ok[0]); i++) {
		const struct vd_ctl_cmd_info *c = vd_ctl_find_command(cluster_ok[i]);
		cr_assert_not_null(c, "%s", cluster_ok[i]);
		cr_assert(vd_ctl_cmd_allowed(c, VD_CTL_CH_CLUSTER), "%s", c->name);
		cr_assert(vd_ctl_cmd_allowed(c, VD_CTL_CH_LOCAL), "%s", c->name);
	}
	for (size_t i = 0; i < sizeof(local_only) / sizeof(local_only[0]); i++) {
		const struct vd_ctl_cmd_info *c = vd_ctl_find_command(local_only[i]);
		cr_assert_not_null(c, "%s", local_only[i]);
		cr_assert_not(vd_ctl_cmd_allowed(c, VD_CTL_CH_CLUSTER), "%s",
			      c->name);
		cr_assert(vd_ctl_cmd_allowed(c, VD_CTL_CH_LOCAL), "%s", c->name);
	}
	/* Every command is in exactly one of the two lists above: a new
	 * one must be placed deliberately. */
	size_t n = 0;
	for (const struct vd_ctl_cmd_info *c = vd_ctl_commands; c->name; c++)
		n++;
	cr_assert_eq(n, sizeof(cluster_ok) / sizeof(cluster_ok[0]) +
				sizeof(local_only) / sizeof(local_only[0]));
	cr_assert_not(vd_ctl_cmd_allowed(NULL, VD_CTL_CH_LOCAL));
}
