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
#include "dataplane/socket/socket.h"
#include "resolve/resolve.h"

/* A stopping worker answers what it already took for at most this long. */
#define WORKER_DRAIN_MS 2000

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
	const struct vd_config *cfg = &st->cfg;
	for (size_t i = 0; i < cfg->n_listen; i++) {
		if (w->n_udp >= VD_WORKER_MAX_SOCKETS) {
			snprintf(err, errlen, "too many listen addresses");
			goto fail;
		}
		int fd = vd_sock_open_udp(&cfg->listen[i], cfg, err, errlen);
		if (fd < 0)
			goto fail;
		w->udp[w->n_udp] = vd_udp_attach(w, fd);
		if (!w->udp[w->n_udp]) {
			close(fd);
			snprintf(err, errlen, "cannot watch a UDP socket");
			goto fail;
		}
		w->n_udp++;
		fd = vd_sock_open_tcp(&cfg->listen[i], cfg, err, errlen);
		if (fd < 0)
			goto fail;
		w->tcp[w->n_tcp] = vd_tcp_attach(w, fd);
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
	event_base_dispatch(w->base);
	vd_udp_thread_fini();
	rcu_unregister_thread();
	return NULL;
}

int vd_worker_start(struct vd_worker *w)
{
	/*
	 * started must be true before the thread can run: set after
	 * pthread_create(), a renew seeing false would run on the caller's
	 * thread while the new thread already runs the same loop.  The lock
	 * keeps a renew that saw false from still being inline meanwhile.
	 */
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

struct renew_call {
	pthread_mutex_t lock;
	pthread_cond_t done;
	unsigned left;
	int rc;
};

struct renew_arg {
	struct vd_worker *w;
	struct renew_call *call;
};

static void renew_in_loop(evutil_socket_t fd, short what, void *argp)
{
	struct renew_arg *arg = argp;
	struct vd_worker *w = arg->w;
	struct renew_call *call = arg->call;
	(void)fd;
	(void)what;
	char err[512] = "";
	rcu_read_lock();
	int rc = vd_res_renew(w->res, vd_worker_settings(w), err, sizeof(err));
	rcu_read_unlock();
	if (rc != 0)
		vd_log(VD_LOG_ERR, "worker %u: cannot renew recursion: %s", w->id,
		       err);
	free(arg);
	pthread_mutex_lock(&call->lock);
	if (rc != 0)
		call->rc = rc;
	call->left--;
	pthread_cond_signal(&call->done);
	pthread_mutex_unlock(&call->lock);
}

int vd_workers_renew_resolvers(struct vd_worker *const *ws, unsigned n)
{
	struct renew_call *call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	pthread_mutex_init(&call->lock, NULL);
	pthread_cond_init(&call->done, NULL);
	struct timeval now = {0, 0};
	for (unsigned i = 0; i < n; i++) {
		struct renew_arg *arg = malloc(sizeof(*arg));
		if (!arg) {
			call->rc = -ENOMEM;
			continue;
		}
		arg->w = ws[i];
		arg->call = call;
		pthread_mutex_lock(&call->lock);
		call->left++;
		pthread_mutex_unlock(&call->lock);
		pthread_mutex_lock(&ws[i]->run_lock);
		if (!atomic_load(&ws[i]->started)) {
			/* Not running, and cannot start under the lock:
			 * nobody else touches its loop. */
			renew_in_loop(-1, 0, arg);
		} else if (event_base_once(ws[i]->base, -1, EV_TIMEOUT,
					   renew_in_loop, arg, &now) != 0) {
			free(arg);
			pthread_mutex_lock(&call->lock);
			call->left--;
			call->rc = -EIO;
			pthread_mutex_unlock(&call->lock);
		}
		pthread_mutex_unlock(&ws[i]->run_lock);
	}
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	pthread_mutex_lock(&call->lock);
	while (call->left > 0)
		if (pthread_cond_timedwait(&call->done, &call->lock, &deadline) ==
		    ETIMEDOUT)
			break;
	int rc = call->left > 0 ? -ETIMEDOUT : call->rc;
	bool abandoned = call->left > 0;
	pthread_mutex_unlock(&call->lock);
	/* A worker that never ran the request still holds call: leak it
	 * rather than free memory a late callback would write. */
	if (!abandoned) {
		pthread_mutex_destroy(&call->lock);
		pthread_cond_destroy(&call->done);
		free(call);
	}
	return rc;
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
	if (w->base)
		event_base_free(w->base);
	pthread_mutex_destroy(&w->run_lock);
	free(w);
}
