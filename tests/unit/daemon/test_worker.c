/*
 * src/daemon/worker.c: a worker's started flag is true before its thread
 * runs anything.  Other threads (status, health) decide on it whether the
 * worker's loop runs, so a thread that runs while it still reads false
 * is reported stopped while it serves.
 *
 * pthread_create is wrapped at link time (-Wl,--wrap): the wrapper
 * creates the thread, then waits until the worker's loop has run its
 * first event, which notes the flag as the worker thread sees it.  That
 * pins the interleaving the old code lost to, without timing.
 */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <time.h>
#include <urcu.h>

#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/settings.h"
#include "daemon/worker.h"

int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg);

static struct vd_worker *g_worker;
static sem_t g_first_event;
static _Atomic int g_seen_started = -1;

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg)
{
	int rc = __real_pthread_create(t, attr, fn, arg);
	if (rc != 0 || arg != g_worker)
		return rc;
	/* The new thread runs before vd_worker_start() goes on. */
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 30;
	cr_assert_eq(sem_timedwait(&g_first_event, &deadline), 0,
		     "the worker loop never ran");
	return rc;
}

static void first_event(evutil_socket_t fd, short what, void *arg)
{
	struct vd_worker *w = arg;
	(void)fd;
	(void)what;
	atomic_store(&g_seen_started, atomic_load(&w->started) ? 1 : 0);
	event_base_loopexit(w->base, NULL);
	sem_post(&g_first_event);
}

Test(worker, started_before_the_thread_runs)
{
	rcu_register_thread();
	cr_assert_eq(sem_init(&g_first_event, 0, 0), 0);
	struct vd_config cfg;
	vd_config_defaults(&cfg);
	cfg.n_listen = 0; /* no sockets: the loop only runs our event */
	struct vd_daemon d = {0};
	d.settings = vd_settings_new(&cfg);
	cr_assert_not_null(d.settings);
	char err[256] = "";
	struct vd_worker *w = vd_worker_new(&d, 0, d.settings, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	g_worker = w;
	struct timeval now = {0, 0};
	cr_assert_eq(event_base_once(w->base, -1, EV_TIMEOUT, first_event, w,
				     &now),
		     0);

	cr_assert_eq(vd_worker_start(w), 0);
	cr_assert_eq(atomic_load(&g_seen_started), 1,
		     "the worker thread ran while started was still false");
	vd_worker_join(w);
	cr_assert_not(atomic_load(&w->started), "joined: not started");
	vd_worker_free(w);
	vd_settings_free(d.settings);
	sem_destroy(&g_first_event);
	rcu_unregister_thread();
}
