#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>
#include <urcu.h>

#include "config/config.h"
#include "core/addr.h"
#include "core/log.h"
#include "metrics/metrics.h"

/* A scrape is small and quick; these only bound misbehaving clients. */
#define HTTP_MAX_CONNECTIONS 32
#define HTTP_TIMEOUT_S 10
#define HTTP_POLL_MS 200

struct vd_metrics {
	struct MHD_Daemon *mhd;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	char addr[80];
};

int vd_metrics_scrape(char **text, size_t *len)
{
	struct vd_metrics_out *o = vd_metrics_out_new();
	if (!o)
		return -ENOMEM;
	vd_metrics_collect_all(o);
	int rc = vd_metrics_out_render(o, text, len);
	vd_metrics_out_free(o);
	return rc;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
			     const char *type, char *body, size_t len,
			     bool owned)
{
	struct MHD_Response *r;
	if (owned)
		r = MHD_create_response_from_buffer_with_free_callback(len, body,
								       free);
	else
		r = MHD_create_response_from_buffer(len, body,
						    MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_len, void **req_cls)
{
	static const char not_found[] = "not found: try /metrics or /\n";
	static const char bad_method[] = "only GET and HEAD\n";
	(void)cls;
	(void)version;
	(void)upload;
	(void)req_cls;
	if (*upload_len)
		return MHD_NO; /* no request bodies here */
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
			     (char *)bad_method, sizeof(bad_method) - 1, false);
	if (strcmp(url, "/metrics") == 0) {
		char *text;
		size_t len;
		if (vd_metrics_scrape(&text, &len) != 0)
			return MHD_NO;
		return reply(c, MHD_HTTP_OK,
			     "text/plain; version=0.0.4; charset=utf-8", text,
			     len, true);
	}
	if (strcmp(url, "/") == 0)
		return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8",
			     (char *)vd_metrics_status_page,
			     strlen(vd_metrics_status_page), false);
	return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", (char *)not_found,
		     sizeof(not_found) - 1, false);
}

static void *http_main(void *arg)
{
	struct vd_metrics *m = arg;
	/* Collectors read RCU-protected settings. */
	rcu_register_thread();
	while (!atomic_load(&m->stop))
		MHD_run_wait(m->mhd, HTTP_POLL_MS);
	rcu_unregister_thread();
	return NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];
	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	vd_log(VD_LOG_WARNING, "metrics http: %s", buf);
}

int vd_metrics_start(struct vd_daemon *d, const struct vd_config *cfg,
		     struct vd_metrics **out)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int rc;

	*out = NULL;
	rc = vd_metrics_register("core", vd_metrics_core_collect, d);
	if (rc != 0) {
		vd_log(VD_LOG_CRIT, "metrics: cannot register: %s", strerror(-rc));
		return rc;
	}
	/* Anchors vipdns_start_time_seconds at start, not at first scrape. */
	struct vd_metrics_out *o = vd_metrics_out_new();
	if (o) {
		vd_metrics_core_collect(d, o);
		vd_metrics_out_free(o);
	}
	if (!cfg->metrics_listen[0])
		return 0;
	if (vd_addr_parse(cfg->metrics_listen, &ss, &sslen) != 0) {
		vd_log(VD_LOG_CRIT, "metrics-listen: bad address %s",
		       cfg->metrics_listen);
		return -EINVAL;
	}
	struct vd_metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	vd_addr_format((struct sockaddr *)&ss, m->addr, sizeof(m->addr));
	unsigned flags = MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* The logger goes first so even option errors reach our log. */
	m->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, handle, m, MHD_OPTION_EXTERNAL_LOGGER,
		mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S,
		MHD_OPTION_END);
	if (!m->mhd) {
		vd_log(VD_LOG_CRIT, "metrics: cannot listen on %s", m->addr);
		rc = -EADDRNOTAVAIL;
		goto fail;
	}
	rc = -pthread_create(&m->thread, NULL, http_main, m);
	if (rc != 0) {
		vd_log(VD_LOG_CRIT, "metrics: cannot start thread: %s",
		       strerror(-rc));
		goto fail;
	}
	m->started = true;
	pthread_setname_np(m->thread, "vd-metrics");
	vd_log(VD_LOG_NOTICE, "metrics and status page on %s (/metrics, /)",
	       m->addr);
	*out = m;
	return 0;
fail:
	if (m->mhd)
		MHD_stop_daemon(m->mhd);
	free(m);
	vd_metrics_unregister("core");
	return rc;
}

void vd_metrics_stop(struct vd_metrics *m)
{
	vd_metrics_unregister("core");
	if (!m)
		return;
	atomic_store(&m->stop, true);
	if (m->started)
		pthread_join(m->thread, NULL);
	MHD_stop_daemon(m->mhd);
	free(m);
}
