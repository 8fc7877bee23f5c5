// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "drivers/common/io_thread.h"
#include "drivers/socket/io_thread.h"
#include "drivers/socket/transport.h"

#define MAX_EVENTS 64

static void *io_main(void *receive_buffer);

/*
 * Level-triggered epoll; the thread blocks every signal, so that
 * application handlers run on application threads.
 */
struct drv_io_thread sockdrv_io =
	DRV_IO_THREAD_INIT(io_main, SOCKDRV_RECEIVE_BUFFER, true, true);

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
	drv_io_lock(&sockdrv_io);
	drv_handles_lock(&sockdrv_handles);
}

static void fork_parent(void)
{
	drv_handles_unlock(&sockdrv_handles);
	drv_io_unlock(&sockdrv_io);
}

/*
 * The child has no I/O thread, and the epoll set it inherited is shared
 * with the parent. Objects made before fork() stay unusable in the child;
 * the next activation there starts afresh.
 */
static void fork_child(void)
{
	drv_handles_unlock(&sockdrv_handles);
	drv_io_reset_in_child(&sockdrv_io);
	unwatched_count = 0;
	drv_io_unlock(&sockdrv_io);
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
		if (epoll_ctl(sockdrv_io.epoll_fd, EPOLL_CTL_ADD, t->life.fd,
			      &event) < 0)
			return -errno;
		drv_object_ref(&t->base);
		return 0;
	}
	if (new_events)
		return epoll_ctl(sockdrv_io.epoll_fd, EPOLL_CTL_MOD, t->life.fd,
				 &event) < 0 ? -errno : 0;
	epoll_ctl(sockdrv_io.epoll_fd, EPOLL_CTL_DEL, t->life.fd, NULL);
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

/* Links a kicked transport into the batch `context` points at. */
static void take_kicked(struct drv_transport_state *life, void *context)
{
	struct sockdrv_transport ***link = context;
	struct sockdrv_transport *t =
		DRV_CONTAINER_OF(life, struct sockdrv_transport, life);

	t->next_serviced = NULL;
	**link = t;
	*link = &t->next_serviced;
}

static void service_kicked(void)
{
	struct sockdrv_transport *batch = NULL, **link = &batch, *t, *next;

	drv_io_drain_wake(&sockdrv_io);
	/*
	 * Move the kicked transports to a private list, so that kicks made
	 * while they are serviced start a fresh list of their own.
	 */
	drv_io_take_kicks(&sockdrv_io, take_kicked, &link);
	for (t = batch; t; t = next) {
		next = t->next_serviced;
		sockdrv_transport_service(t);
		drv_object_unref(&t->base);
	}
}

static void *io_main(void *receive_buffer)
{
	struct epoll_event events[MAX_EVENTS];

	for (;;) {
		int n = epoll_wait(sockdrv_io.epoll_fd, events, MAX_EVENTS, -1);

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
