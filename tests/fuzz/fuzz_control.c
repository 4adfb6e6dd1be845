/*
 * libFuzzer target for the control protocol: any bytes as a request line
 * and as a response header.  Whatever the parser accepts must be a known
 * command with arguments inside the table's bounds, and formatting it
 * again must give back the same line; a query type read from an
 * argument must print and read back as itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vd_ctl_request req;
	char err[256], msg[128], again[VD_CTL_REQ_MAX + 1];
	size_t body_len;
	/* Exact-size copy so ASan sees any over-read. */
	char *line = malloc(size ? size : 1);
	if (!line)
		return 0;
	memcpy(line, data, size);

	if (vd_ctl_parse_request(line, size, &req, err, sizeof(err)) == 0) {
		if (!req.cmd || req.argc < req.cmd->min_args ||
		    req.argc > req.cmd->max_args || size >= VD_CTL_REQ_MAX)
			abort();
		char *argv[VD_CTL_MAX_ARGS + 1];
		argv[0] = (char *)req.cmd->name;
		for (unsigned i = 0; i < req.argc; i++)
			argv[i + 1] = req.argv[i];
		int n = vd_ctl_format_request(req.argc + 1, argv, again,
					      sizeof(again), err, sizeof(err));
		if (n != (int)size + 1 || memcmp(again, line, size) != 0)
			abort();
		/* commands.c reads a query type from an argument: a type
		 * it accepts must print as a name that reads back as it. */
		for (unsigned i = 0; i < req.argc; i++) {
			char name[16];
			int t = vd_ctl_qtype_parse(req.argv[i]);
			if (t < 0)
				continue;
			if (t > 65535 ||
			    vd_ctl_qtype_parse(vd_ctl_qtype_name(
				    (unsigned)t, name, sizeof(name))) != t)
				abort();
		}
	} else if (strlen(err) == 0 || strlen(err) >= sizeof(err)) {
		abort();
	}
	if (vd_ctl_parse_response(line, size, &body_len, msg, sizeof(msg)) == 0 &&
	    body_len > VD_CTL_BODY_MAX)
		abort();
	free(line);
	return 0;
}
