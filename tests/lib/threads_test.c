// SPDX-License-Identifier: MIT
/*
 * Threads: traps fire on the thread that changes a portal (without
 * WITHIN_API_CALL only for driver notifications, so here always within),
 * closure seen from another thread, and a stress of many threads putting,
 * getting, passing portals and closing on many portal pairs at once.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "lib_test.h"

struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int fired;
	IpczTrapConditionFlags flags;
	pthread_t thread;
};

static void wake(const struct IpczTrapEvent *event)
{
	struct waiter *w = (struct waiter *)event->context;

	pthread_mutex_lock(&w->lock);
	w->fired++;
	w->flags = event->condition_flags;
	w->thread = pthread_self();
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void wait_fired(struct waiter *w, int count)
{
	pthread_mutex_lock(&w->lock);
	while (w->fired < count)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

static void *put_later(void *arg)
{
	IpczHandle portal = *(IpczHandle *)arg;

	put_str(portal, "from another thread");
	return NULL;
}

TEST(trap_fires_on_the_putting_thread)
{
	IpczHandle node = test_node(), a, b;
	struct waiter w = { .lock = PTHREAD_MUTEX_INITIALIZER,
			     .cond = PTHREAD_COND_INITIALIZER };
	const struct IpczTrapConditions c = {
		.size = sizeof(c),
		.flags = IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS,
	};
	pthread_t thread;
	char buf[32];

	test_portals(node, &a, &b);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Trap(b, &c, wake, (uintptr_t)&w, 0, NULL, NULL, NULL));
	ASSERT_EQ(0, pthread_create(&thread, NULL, put_later, &a));
	wait_fired(&w, 1);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	ASSERT_TRUE(pthread_equal(thread, w.thread));
	ASSERT_EQ(IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS | IPCZ_TRAP_WITHIN_API_CALL,
		  w.flags);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(b, buf, sizeof(buf)));
	ASSERT_STREQ("from another thread", buf);
	close_handle(a);
	close_handle(b);
	close_handle(node);
}

static void *close_later(void *arg)
{
	close_handle(*(IpczHandle *)arg);
	return NULL;
}

TEST(peer_closed_from_another_thread)
{
	IpczHandle node = test_node(), a, b;
	struct waiter w = { .lock = PTHREAD_MUTEX_INITIALIZER,
			     .cond = PTHREAD_COND_INITIALIZER };
	const struct IpczTrapConditions c = {
		.size = sizeof(c),
		.flags = IPCZ_TRAP_PEER_CLOSED | IPCZ_TRAP_DEAD,
	};
	pthread_t thread;

	test_portals(node, &a, &b);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Trap(b, &c, wake, (uintptr_t)&w, 0, NULL, NULL, NULL));
	ASSERT_EQ(0, pthread_create(&thread, NULL, close_later, &a));
	wait_fired(&w, 1);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	ASSERT_EQ(IPCZ_TRAP_PEER_CLOSED | IPCZ_TRAP_DEAD |
			  IPCZ_TRAP_WITHIN_API_CALL,
		  w.flags);
	close_handle(b);
	close_handle(node);
}

/*
 * The stress: PAIRS portal pairs; each thread owns one end of several
 * pairs and streams numbered parcels both ways, checking order, while
 * also sending freshly opened portals through them and closing those.
 */
enum { THREADS = 8, PAIRS_PER_THREAD = 4, PARCELS = 400 };

struct stress {
	IpczHandle node;
	IpczHandle ends[THREADS][PAIRS_PER_THREAD];
	_Atomic int failures;
};

struct worker {
	struct stress *stress;
	int index;
};

/* Ends of pair p: thread p % THREADS owns side 0, (p + 1) % THREADS side 1. */
static void *work(void *arg)
{
	struct worker *worker = arg;
	struct stress *s = worker->stress;
	int sent[PAIRS_PER_THREAD] = { 0 }, next[PAIRS_PER_THREAD] = { 0 };
	int k, done = 0;

	while (!done) {
		done = 1;
		for (k = 0; k < PAIRS_PER_THREAD; k++) {
			IpczHandle portal = s->ends[worker->index][k];
			IpczHandle extra[2] = { 0 }, got = 0;
			char buf[16];
			size_t n = sizeof(buf), h = 1;
			IpczResult r;

			if (sent[k] < PARCELS) {
				done = 0;
				snprintf(buf, sizeof(buf), "%d", sent[k]);
				if (sent[k] % 16 == 0)
					test_portals(s->node, &extra[0],
						     &extra[1]);
				r = ipcz.Put(portal, buf, strlen(buf),
					     extra[0] ? &extra[0] : NULL,
					     extra[0] ? 1 : 0, 0, NULL);
				if (r != IPCZ_RESULT_OK)
					atomic_fetch_add(&s->failures, 1);
				if (extra[1])
					close_handle(extra[1]);
				sent[k]++;
			}
			if (next[k] < PARCELS) {
				done = 0;
				r = ipcz.Get(portal, 0, NULL, buf, &n, &got,
					     &h, NULL);
				if (r == IPCZ_RESULT_OK) {
					buf[n] = '\0';
					if (atoi(buf) != next[k]++)
						atomic_fetch_add(&s->failures,
								 1);
					if (h)
						close_handle(got);
				} else if (r != IPCZ_RESULT_UNAVAILABLE) {
					atomic_fetch_add(&s->failures, 1);
				}
			}
		}
		sched_yield();
	}
	return NULL;
}

TEST(many_threads_many_portals)
{
	static struct stress s;
	struct worker workers[THREADS];
	pthread_t threads[THREADS];
	int t, k;

	s.node = test_node();
	atomic_init(&s.failures, 0);
	/* Pair (t, k) joins thread t's slot k with thread t+1's slot k. */
	for (t = 0; t < THREADS; t++) {
		for (k = 0; k < PAIRS_PER_THREAD; k += 2) {
			IpczHandle x, y;

			test_portals(s.node, &x, &y);
			s.ends[t][k] = x;
			s.ends[(t + 1) % THREADS][k + 1] = y;
		}
	}
	for (t = 0; t < THREADS; t++) {
		workers[t].stress = &s;
		workers[t].index = t;
		ASSERT_EQ(0, pthread_create(&threads[t], NULL, work,
					    &workers[t]));
	}
	for (t = 0; t < THREADS; t++)
		ASSERT_EQ(0, pthread_join(threads[t], NULL));
	ASSERT_EQ(0, atomic_load(&s.failures));
	for (t = 0; t < THREADS; t++)
		for (k = 0; k < PAIRS_PER_THREAD; k++)
			close_handle(s.ends[t][k]);
	close_handle(s.node);
	ASSERT_EQ(0, leaks_found());
}

/* Both ends closing at once, from two threads, many times. */
TEST(concurrent_closes)
{
	IpczHandle node = test_node();
	int i;

	for (i = 0; i < 500; i++) {
		IpczHandle p[2];
		pthread_t thread;

		test_portals(node, &p[0], &p[1]);
		put_str(p[0], "x");
		put_str(p[1], "y");
		ASSERT_EQ(0, pthread_create(&thread, NULL, close_later, &p[0]));
		close_handle(p[1]);
		ASSERT_EQ(0, pthread_join(thread, NULL));
	}
	close_handle(node);
	ASSERT_EQ(0, leaks_found());
}

/* A trap installed from one thread while another puts and gets. */
static void *getter(void *arg)
{
	IpczHandle portal = *(IpczHandle *)arg;
	int got = 0;

	while (got < 1000) {
		char buf[8];

		if (get_str(portal, buf, sizeof(buf)) == IPCZ_RESULT_OK)
			got++;
		else
			sched_yield();
	}
	return NULL;
}

static void count_event(const struct IpczTrapEvent *event)
{
	atomic_fetch_add((_Atomic int *)event->context, 1);
}

TEST(traps_race_with_traffic)
{
	IpczHandle node = test_node(), a, b;
	_Atomic int events = 0;
	const struct IpczTrapConditions c = {
		.size = sizeof(c),
		.flags = IPCZ_TRAP_NEW_LOCAL_PARCEL,
	};
	pthread_t thread;
	int i, installed = 0;

	test_portals(node, &a, &b);
	ASSERT_EQ(0, pthread_create(&thread, NULL, getter, &b));
	for (i = 0; i < 1000; i++) {
		if (ipcz.Trap(b, &c, count_event, (uintptr_t)&events, 0, NULL,
			      NULL, NULL) == IPCZ_RESULT_OK)
			installed++;
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(a, "p"));
	}
	ASSERT_EQ(0, pthread_join(thread, NULL));
	close_handle(b);
	/* Every installed trap fired once: a parcel or its removal. */
	ASSERT_EQ(installed, atomic_load(&events));
	close_handle(a);
	close_handle(node);
}

TEST_HARNESS_MAIN
