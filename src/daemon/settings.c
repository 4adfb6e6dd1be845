#include "daemon/settings.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"

struct vd_settings *vd_settings_new(const struct vd_config *cfg)
{
	struct vd_settings *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = *cfg;
	const char *id = cfg->node_id;
	char host[VD_CONFIG_STR_MAX] = "";
	if (!id[0]) {
		if (gethostname(host, sizeof(host) - 1) != 0)
			host[0] = '\0';
		id = host;
	}
	size_t n = strnlen(id, sizeof(s->nsid));
	memcpy(s->nsid, id, n);
	s->nsid_len = (uint16_t)n;
	s->stale_max_ns = cfg->serve_stale
				  ? (uint64_t)cfg->stale_max_age * VD_NS_PER_SEC
				  : 0;
	s->stale_client_timeout_ns =
		(uint64_t)cfg->stale_client_timeout_ms * VD_NS_PER_MS;
	s->stale_refresh_ns = (uint64_t)cfg->stale_refresh_time * VD_NS_PER_SEC;
	s->recursion_timeout_ns =
		(uint64_t)cfg->recursion_timeout_ms * VD_NS_PER_MS;
	return s;
}

void vd_settings_free(struct vd_settings *s)
{
	free(s);
}
