/*
 * Fuzz target for the negative trust anchor file (src/resolve/nta.c), read
 * at every start from a path an operator (or a disk error) may have
 * garbled.  Whatever it accepts must be bounded, unexpired, capped to a
 * week, and made of names that print and parse back to themselves.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/query.h"
#include "resolve/nta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1780000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vd_nta t[VD_NTA_MAX];
	unsigned bad = 0;
	int n = vd_nta_parse((const char *)data, size, NOW, t, VD_NTA_MAX, &bad);
	if (n < 0) {
		if (bad == 0)
			abort(); /* a refusal names its line */
		return 0;
	}
	if (n > VD_NTA_MAX)
		abort();
	for (int i = 0; i < n; i++) {
		if (t[i].expires <= NOW ||
		    t[i].expires > NOW + (int64_t)VD_NTA_MAX_SECONDS)
			abort();
		if (t[i].name_len == 0 || t[i].name_len > VD_DNS_NAME_MAX)
			abort();
		char text[VD_DNS_NAME_MAX * 4 + 2];
		uint8_t again[VD_DNS_NAME_MAX];
		if (vd_dns_name_to_str(t[i].name, t[i].name_len, text,
				       sizeof(text)) < 0)
			abort();
		int m = vd_dns_name_from_str(text, again, sizeof(again));
		if (m != (int)t[i].name_len ||
		    memcmp(again, t[i].name, t[i].name_len) != 0)
			abort();
	}
	return 0;
}
