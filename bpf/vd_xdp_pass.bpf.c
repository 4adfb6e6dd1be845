// SPDX-License-Identifier: BSD-2-Clause
/*
 * A program that passes everything.  On veth, XDP_TX frames from one end
 * are only delivered when the peer end has an XDP program too (see
 * tests/README.md): the lab attaches this on the client side.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int vd_xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
