// SPDX-License-Identifier: MIT
/*
 * Transports used by several threads at once, built with ThreadSanitizer:
 * concurrent senders on one end (each thread's messages stay in order),
 * concurrent receivers (each message is received exactly once), and a
 * peer closing while other threads wait in poll() or send.
 */
#include "kselftest_harness.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "fixture.h"

#define PAIR(fds) ASSERT_EQ(0, dev_pair(self->node, fds))

/* Concurrency: several threads sending on, or receiving from, one end. */

#define THREADS 4
#define PER_THREAD 300

struct tagged {
	uint32_t thread;
	uint32_t seq;
};

struct thread_arg {
	int fd;
	uint32_t index;
	int err;
	atomic_uint *received;		/* receivers: shared count */
	unsigned char *seen;		/* receivers: one flag per message */
};

static void *sender(void *p)
{
	struct thread_arg *a = p;
	struct tagged m = { .thread = a->index };
	int ret;

	for (m.seq = 0; m.seq < PER_THREAD;) {
		ret = dev_send(a->fd, &m, sizeof(m), NULL, 0);
		if (ret == -EAGAIN) {
			poll_events(a->fd, POLLOUT, 1000);
			continue;
		}
		if (ret) {
			a->err = ret;
			break;
		}
		m.seq++;
	}
	return NULL;
}

TEST_F(ipcz, concurrent_senders_keep_their_order)
{
	struct thread_arg args[THREADS];
	uint32_t next[THREADS] = { 0 };
	pthread_t threads[THREADS];
	struct tagged m;
	int t[2], i, n;

	PAIR(t);
	for (i = 0; i < THREADS; i++) {
		args[i] = (struct thread_arg){ .fd = t[0], .index = (uint32_t)i };
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, sender,
					    &args[i]));
	}
	/* Threads interleave, but each one's messages stay in order. */
	for (n = 0; n < THREADS * PER_THREAD;) {
		int ret = dev_recv_bytes(t[1], &m, sizeof(m));

		if (ret == -EAGAIN) {
			ASSERT_NE(0, poll_events(t[1], POLLIN, 10000) & POLLIN);
			continue;
		}
		ASSERT_EQ(sizeof(m), ret);
		ASSERT_GT(THREADS, m.thread);
		ASSERT_EQ(next[m.thread], m.seq);
		next[m.thread]++;
		n++;
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(threads[i], NULL);
		EXPECT_EQ(0, args[i].err);
	}
	ASSERT_EQ(-EAGAIN, dev_recv_any(t[1]));
}

static void *receiver(void *p)
{
	struct thread_arg *a = p;
	struct tagged m;
	int ret;

	while (atomic_load(a->received) < THREADS * PER_THREAD) {
		ret = dev_recv_bytes(a->fd, &m, sizeof(m));
		if (ret == -EAGAIN) {
			poll_events(a->fd, POLLIN, 20);
			continue;
		}
		if (ret != sizeof(m) || m.seq >= THREADS * PER_THREAD) {
			a->err = ret < 0 ? ret : -EBADMSG;
			break;
		}
		/* A message seen twice would be counted twice here. */
		a->seen[m.seq]++;
		atomic_fetch_add(a->received, 1);
	}
	return NULL;
}

TEST_F(ipcz, concurrent_receivers_get_each_message_once)
{
	static unsigned char seen[THREADS][THREADS * PER_THREAD];
	struct thread_arg args[THREADS];
	pthread_t threads[THREADS];
	atomic_uint received = 0;
	struct tagged m = { 0 };
	int t[2], i, total, ret;

	PAIR(t);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < THREADS; i++) {
		args[i] = (struct thread_arg){
			.fd = t[1], .received = &received, .seen = seen[i],
		};
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, receiver,
					    &args[i]));
	}
	for (m.seq = 0; m.seq < THREADS * PER_THREAD;) {
		ret = dev_send(t[0], &m, sizeof(m), NULL, 0);
		if (ret == -EAGAIN) {
			poll_events(t[0], POLLOUT, 1000);
			continue;
		}
		ASSERT_EQ(0, ret);
		m.seq++;
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(threads[i], NULL);
		EXPECT_EQ(0, args[i].err);
	}
	for (m.seq = 0; m.seq < THREADS * PER_THREAD; m.seq++) {
		for (total = 0, i = 0; i < THREADS; i++)
			total += seen[i][m.seq];
		ASSERT_EQ(1, total) TH_LOG("message %u", m.seq);
	}
}


struct closer_arg {
	int fd;
	int delay_ms;
};

static void *close_later(void *p)
{
	struct closer_arg *a = p;

	sleep_ms(a->delay_ms);
	close(a->fd);
	return NULL;
}

static void *poll_for_hangup(void *p)
{
	int *fd = p;

	return (void *)(intptr_t)poll_events(*fd, POLLIN, 10000);
}

TEST_F(ipcz, peer_closes_while_threads_wait)
{
	struct closer_arg closer;
	pthread_t waiters[THREADS], c;
	void *revents;
	int t[2], i;

	PAIR(t);
	for (i = 0; i < THREADS; i++)
		ASSERT_EQ(0, pthread_create(&waiters[i], NULL,
					    poll_for_hangup, &t[0]));
	closer = (struct closer_arg){ .fd = t[1], .delay_ms = 100 };
	ASSERT_EQ(0, pthread_create(&c, NULL, close_later, &closer));
	/* Every waiter wakes with the hang-up. */
	for (i = 0; i < THREADS; i++) {
		pthread_join(waiters[i], &revents);
		EXPECT_NE(0, (intptr_t)revents & POLLHUP);
	}
	pthread_join(c, NULL);
}

static void *send_until_pipe(void *p)
{
	struct thread_arg *a = p;
	struct tagged m = { .thread = a->index };
	int ret;

	for (;;) {
		ret = dev_send(a->fd, &m, sizeof(m), NULL, 0);
		if (ret == -EAGAIN) {
			poll_events(a->fd, POLLOUT, 100);
			continue;
		}
		if (ret) {
			a->err = ret;
			return NULL;
		}
		m.seq++;
	}
}

TEST_F(ipcz, peer_closes_while_threads_send)
{
	struct thread_arg args[THREADS];
	pthread_t threads[THREADS];
	int t[2], i;

	PAIR(t);
	for (i = 0; i < THREADS; i++) {
		args[i] = (struct thread_arg){ .fd = t[0], .index = (uint32_t)i };
		ASSERT_EQ(0, pthread_create(&threads[i], NULL,
					    send_until_pipe, &args[i]));
	}
	/*
	 * Drain for a while, then hang up mid-stream. Each round takes a
	 * bounded batch: the senders refill the queue as fast as it drains,
	 * so "until empty" may never come on a slow (emulated) machine.
	 */
	for (i = 0; i < 200; i++) {
		int batch = 64;

		poll_events(t[1], POLLIN, 10);
		while (batch-- > 0 && dev_recv_any(t[1]) > 0)
			;
	}
	close(t[1]);
	for (i = 0; i < THREADS; i++) {
		pthread_join(threads[i], NULL);
		EXPECT_EQ(-EPIPE, args[i].err);
	}
}

TEST_HARNESS_MAIN
