/* Shared by the control server's files; not for other subsystems. */
#ifndef VD_CONTROL_CTL_INTERNAL_H
#define VD_CONTROL_CTL_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "control/server.h"
#include "config/config.h"

struct event_base;
struct evconnlistener;

struct vd_ctl {
	struct vd_daemon *d;
	struct event_base *base;
	struct evconnlistener *unix_lev;
	struct evconnlistener *tls_lev;
	struct event *nta_timer;
	SSL_CTX *tls;
	pthread_t thread;
	bool started;
	char path[VD_CONFIG_STR_MAX];     /* control socket; "" = none */
	char config_path[4096];
	char cluster_listen[VD_CONFIG_STR_MAX];
	char metrics_listen[VD_CONFIG_STR_MAX];
	bool have_group;
	gid_t group;
	uint64_t start_ns;
	/* Separate budgets: unauthenticated TLS clients must never take the
	 * slots local vipdnsctl needs. */
	unsigned unix_conns;
	unsigned tls_conns;
	struct ctl_conn *tls_list; /* open TLS connections (per-source cap) */
	/* The NAMEs of cluster-peer: a TLS client's certificate must carry
	 * one (as vipdnsctl requires of a server).  Fixed at start. */
	char peer_names[VD_CONFIG_MAX_LIST][64];
	size_t n_peer_names;
};

/* Removes expired negative trust anchors (renew + flush); from the
 * control loop's once-a-second timer. */
void vd_ctl_nta_expire(struct vd_ctl *c);

/* Runs req; appends the answer text to out.  0 or -errno with err. */
int vd_ctl_run(struct vd_ctl *c, const struct vd_ctl_request *req,
	       struct evbuffer *out, char *err, size_t errlen);

#endif
