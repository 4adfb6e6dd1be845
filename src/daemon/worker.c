#include "daemon/worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <urcu.h>

#include "core/clock.h"
#include "core/log.h"
#include "daemon/daemon.h"
#include "dataplane/socket/dot.h"
#include "dataplane/socket/socket.h"
#include "resolve/resolve.h"

/* A stopping worker answers what it already took for at most this long. */
#define WORKER_DRAIN_MS 2000

/* The loop notes it runs this often (vd_worker_alive()). */
#define WORKER_ALIVE_MS 250

static void alive_tick(evutil_socket_t fd, short what, void *arg)
{
	struct vd_worker *w = arg;
	(void)fd;
	(void)what;
	atomic_store_explicit(&w->alive_ns, vd_now_ns(), memory_order_relaxed);
}

bool vd_worker_alive(const struct vd_worker *w, uint64_t now_ns,
		     uint64_t max_age_ns)
{
	uint64_t t = atomic_load_explicit(&w->alive_ns, memory_order_relaxed);
	return atomic_load(&w->started) && t && now_ns - t <= max_age_ns;
}

const struct vd_settings *vd_worker_settings(const struct vd_worker *w)
{
	return rcu_dereference(w->daemon->settings);
}

struct vd_worker *vd_worker_new(struct vd_daemon *d, unsigned id,
				const struct vd_settings *st, char *err,
				size_t errlen)
{
	struct vd_worker *w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&w->run_lock, NULL);
	w->id = id;
	w->daemon = d;
	w->base = event_base_new();
	if (!w->base) {
		snprintf(err, errlen, "cannot create an event loop");
		goto fail;
	}
	w->res = vd_res_create(w, st, err, errlen);
	if (!w->res)
		goto fail;
	w->alive_timer = event_new(w->base, -1, EV_PERSIST, alive_tick, w);
	struct timeval every = {.tv_sec = 0,
				.tv_usec = WORKER_ALIVE_MS * 1000};
	if (!w->alive_timer || event_add(w->alive_timer, &every) != 0) {
		snprintf(err, errlen, "cannot arm the liveness timer");
		goto fail;
	}
	const struct vd_config *cfg = &st->cfg;
	for (size_t i = 0; i < cfg->n_listen; i++) {
		if (w->n_udp >= VD_WORKER_MAX_SOCKETS) {
			snprintf(err, errlen, "too many listen addresses");
			goto fail;
		}
		/* DoT listeners (tls-port) are TCP only. */
		bool tls = vd_dot_listener(cfg, &cfg->listen[i]);
		int fd;
		if (tls)
			goto tcp;
		fd = vd_sock_open_udp(&cfg->listen[i], cfg, err, errlen);
		if (fd < 0)
			goto fail;
		w->udp[w->n_udp] = vd_udp_attach(w, fd);
		if (!w->udp[w->n_udp]) {
			close(fd);
			snprintf(err, errlen, "cannot watch a UDP socket");
			goto fail;
		}
		w->n_udp++;
	tcp:
		fd = vd_sock_open_tcp(&cfg->listen[i], cfg, err, errlen);
		if (fd < 0)
			goto fail;
		w->tcp[w->n_tcp] = vd_tcp_attach(w, fd, tls);
		if (!w->tcp[w->n_tcp]) {
			close(fd);
			snprintf(err, errlen, "cannot watch a TCP socket");
			goto fail;
		}
		w->n_tcp++;
	}
	return w;
fail:
	vd_worker_free(w);
	return NULL;
}

static void *worker_main(void *arg)
{
	struct vd_worker *w = arg;
	rcu_register_thread();
	atomic_store(&w->alive_ns, vd_now_ns());
	event_base_dispatch(w->base);
	vd_udp_thread_fini();
	rcu_unregister_thread();
	return NULL;
}

int vd_worker_start(struct vd_worker *w)
{
	/* started is true before the thread can run, so the status and
	 * health readers never see a running loop as stopped. */
	pthread_mutex_lock(&w->run_lock);
	atomic_store(&w->started, true);
	int rc = pthread_create(&w->thread, NULL, worker_main, w);
	if (rc != 0)
		atomic_store(&w->started, false);
	pthread_mutex_unlock(&w->run_lock);
	if (rc != 0)
		return -rc;
	char name[16];
	snprintf(name, sizeof(name), "vd-worker-%u", w->id);
	pthread_setname_np(w->thread, name);
	return 0;
}

static void drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct vd_worker *w = arg;
	(void)fd;
	(void)what;
	if (vd_res_outstanding(w->res) == 0 ||
	    vd_now_ns() >= w->stop_deadline_ns)
		event_base_loopexit(w->base, NULL);
}

static void stop_in_loop(evutil_socket_t fd, short what, void *arg)
{
	struct vd_worker *w = arg;
	(void)fd;
	(void)what;
	if (w->stopping)
		return;
	w->stopping = true;
	for (unsigned i = 0; i < w->n_udp; i++)
		vd_udp_pause(w->udp[i]);
	for (unsigned i = 0; i < w->n_tcp; i++)
		vd_tcp_listener_pause(w->tcp[i]);
	/* Queries already taken get their answers before the loop ends. */
	w->stop_deadline_ns = vd_now_ns() + WORKER_DRAIN_MS * VD_NS_PER_MS;
	struct timeval tick = {.tv_sec = 0, .tv_usec = 20 * 1000};
	w->stop_timer = event_new(w->base, -1, EV_PERSIST, drain_tick, w);
	if (!w->stop_timer || event_add(w->stop_timer, &tick) != 0)
		event_base_loopexit(w->base, NULL);
}

void vd_worker_request_stop(struct vd_worker *w)
{
	struct timeval now = {0, 0};
	/* Runs stop_in_loop on the worker's own thread; the base is
	 * notifiable because evthread_use_pthreads() ran first. */
	if (event_base_once(w->base, -1, EV_TIMEOUT, stop_in_loop, w, &now) != 0)
		event_base_loopexit(w->base, NULL);
}

void vd_worker_join(struct vd_worker *w)
{
	/* Start and join run on one thread: started is ours to read. */
	if (!atomic_load(&w->started))
		return;
	pthread_join(w->thread, NULL);
	pthread_mutex_lock(&w->run_lock);
	atomic_store(&w->started, false);
	pthread_mutex_unlock(&w->run_lock);
}

void vd_worker_free(struct vd_worker *w)
{
	if (!w)
		return;
	vd_worker_join(w);
	/* Waiters hold TCP connection references: release them first. */
	vd_res_destroy(w->res);
	vd_tcp_close_all(w);
	for (unsigned i = 0; i < w->n_udp; i++)
		vd_udp_free(w->udp[i]);
	for (unsigned i = 0; i < w->n_tcp; i++)
		vd_tcp_listener_free(w->tcp[i]);
	if (w->stop_timer)
		event_free(w->stop_timer);
	if (w->alive_timer)
		event_free(w->alive_timer);
	if (w->base)
		event_base_free(w->base);
	pthread_mutex_destroy(&w->run_lock);
	free(w);
}
