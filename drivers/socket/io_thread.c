// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "drivers/socket/io_thread.h"
#include "drivers/socket/transport.h"

#define MAX_EVENTS 64

static struct {
	pthread_mutex_t lock;
	bool started;
	int epoll_fd;
	int event_fd;
	struct sockdrv_transport *kicked_head;
	struct sockdrv_transport *kicked_tail;
} io = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.epoll_fd = -1,
	.event_fd = -1,
};

/*
 * References to drop once the current batch of epoll events is handled,
 * since a later event of the same batch may still name the transport.
 * Touched by the I/O thread only.
 */
static struct sockdrv_transport **unwatched;
static size_t unwatched_count;
static size_t unwatched_capacity;

static void fork_prepare(void)
{
	pthread_mutex_lock(&io.lock);
	drv_handles_lock(&sockdrv_handles);
}

static void fork_parent(void)
{
	drv_handles_unlock(&sockdrv_handles);
	pthread_mutex_unlock(&io.lock);
}

/*
 * The child has no I/O thread, and the epoll set it inherited is shared
 * with the parent. Objects made before fork() stay unusable in the child;
 * the next activation there starts afresh.
 */
static void fork_child(void)
{
	drv_handles_unlock(&sockdrv_handles);
	if (io.started) {
		close(io.epoll_fd);
		close(io.event_fd);
	}
	io.epoll_fd = -1;
	io.event_fd = -1;
	io.started = false;
	io.kicked_head = NULL;
	io.kicked_tail = NULL;
	unwatched_count = 0;
	pthread_mutex_unlock(&io.lock);
}

/*
 * Installed at load time rather than on first use: the handle table's
 * lock must be held across every fork() once any thread may be using it.
 */
__attribute__((constructor)) static void install_fork_handlers(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

int sockdrv_io_watch(struct sockdrv_transport *t, uint32_t old_events,
		     uint32_t new_events)
{
	struct epoll_event event = { .events = new_events, .data.ptr = t };
	struct sockdrv_transport **bigger;

	if (!old_events) {
		if (epoll_ctl(io.epoll_fd, EPOLL_CTL_ADD, t->life.fd,
			      &event) < 0)
			return -errno;
		drv_object_ref(&t->base);
		return 0;
	}
	if (new_events)
		return epoll_ctl(io.epoll_fd, EPOLL_CTL_MOD, t->life.fd,
				 &event) < 0 ? -errno : 0;
	epoll_ctl(io.epoll_fd, EPOLL_CTL_DEL, t->life.fd, NULL);
	if (unwatched_count == unwatched_capacity) {
		size_t capacity = unwatched_capacity ? unwatched_capacity * 2 :
						       16;

		bigger = realloc(unwatched, capacity * sizeof(*unwatched));
		if (!bigger) {
			/* Keeping the reference leaks less than a crash. */
			return 0;
		}
		unwatched = bigger;
		unwatched_capacity = capacity;
	}
	unwatched[unwatched_count++] = t;
	return 0;
}

static void drop_unwatched(void)
{
	for (size_t i = 0; i < unwatched_count; i++)
		drv_object_unref(&unwatched[i]->base);
	unwatched_count = 0;
}

static void service_kicked(void)
{
	struct sockdrv_transport *batch = NULL, **link = &batch, *t, *next;
	uint64_t count;

	if (read(io.event_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;

	/*
	 * Move the kicked transports to a private list, so that kicks made
	 * while they are serviced start a fresh list of their own.
	 */
	pthread_mutex_lock(&io.lock);
	for (t = io.kicked_head; t; t = next) {
		next = t->next_kicked;
		t->next_kicked = NULL;
		t->kicked = false;
		t->next_serviced = NULL;
		*link = t;
		link = &t->next_serviced;
	}
	io.kicked_head = NULL;
	io.kicked_tail = NULL;
	pthread_mutex_unlock(&io.lock);

	for (t = batch; t; t = next) {
		next = t->next_serviced;
		sockdrv_transport_service(t);
		drv_object_unref(&t->base);
	}
}

static void *io_main(void *unused)
{
	static uint8_t receive_buffer[SOCKDRV_RECEIVE_BUFFER];
	struct epoll_event events[MAX_EVENTS];

	for (;;) {
		int n = epoll_wait(io.epoll_fd, events, MAX_EVENTS, -1);

		if (n < 0 && errno != EINTR)
			abort();
		for (int i = 0; i < n; i++) {
			if (!events[i].data.ptr)
				service_kicked();
			else
				sockdrv_transport_on_events(events[i].data.ptr,
							    events[i].events,
							    receive_buffer);
		}
		drop_unwatched();
	}
	return NULL;
}

/* Creates the epoll set and the thread; io.lock held. */
static IpczResult start_locked(void)
{
	struct epoll_event wake = { .events = EPOLLIN, .data.ptr = NULL };
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t thread;
	int err;

	io.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	io.event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (io.epoll_fd < 0 || io.event_fd < 0 ||
	    epoll_ctl(io.epoll_fd, EPOLL_CTL_ADD, io.event_fd, &wake) < 0)
		goto fail;

	/* Application signals are for application threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&thread, &attr, io_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		goto fail;
	io.started = true;
	return IPCZ_RESULT_OK;

fail:
	if (io.epoll_fd >= 0)
		close(io.epoll_fd);
	if (io.event_fd >= 0)
		close(io.event_fd);
	io.epoll_fd = -1;
	io.event_fd = -1;
	return IPCZ_RESULT_RESOURCE_EXHAUSTED;
}

IpczResult sockdrv_io_start(void)
{
	IpczResult result = IPCZ_RESULT_OK;

	pthread_mutex_lock(&io.lock);
	if (!io.started)
		result = start_locked();
	pthread_mutex_unlock(&io.lock);
	return result;
}

void sockdrv_io_kick(struct sockdrv_transport *t)
{
	uint64_t one = 1;
	bool wake = false;

	if (sockdrv_io_start() != IPCZ_RESULT_OK)
		return;
	pthread_mutex_lock(&io.lock);
	if (!t->kicked) {
		t->kicked = true;
		drv_object_ref(&t->base);
		if (io.kicked_tail)
			io.kicked_tail->next_kicked = t;
		else
			io.kicked_head = t;
		io.kicked_tail = t;
		wake = true;
	}
	pthread_mutex_unlock(&io.lock);
	/* A failed write means the counter is full: a wakeup is pending. */
	if (wake)
		(void)!write(io.event_fd, &one, sizeof(one));
}
