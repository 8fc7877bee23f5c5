// SPDX-License-Identifier: MIT
/*
 * The I/O thread. Transports reach it two ways: epoll events (each watched
 * transport's registration holds a reference, dropped when it stops being
 * watched) and kicks from other threads (each kick holds a reference until
 * the thread takes it). Either way the transport joins the thread's list
 * of work, and is serviced once per round; one with more input than its
 * budget stays on the list, and the thread polls without sleeping until
 * the list is empty.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "drivers/common/io_thread.h"
#include "drivers/kernel/io_thread.h"
#include "drivers/kernel/transport.h"

#define MAX_EVENTS 64

static void *io_main(void *buffer);

/* Edge-triggered epoll; signals are not blocked on the thread. */
struct drv_io_thread kdrv_io =
	DRV_IO_THREAD_INIT(io_main, KDRV_RECEIVE_BUFFER, false, false);

struct service_list {
	struct kdrv_transport *head;
	struct kdrv_transport *tail;
};

/* Adds `t` to `list`, which keeps the caller's reference. */
static void service_add(struct service_list *list, struct kdrv_transport *t)
{
	if (t->in_service) {
		drv_object_unref(&t->base);
		return;
	}
	t->in_service = true;
	t->next_service = NULL;
	if (list->tail)
		list->tail->next_service = t;
	else
		list->head = t;
	list->tail = t;
}

/* Moves a kicked transport to the list `context`, with its reference. */
static void take_kicked(struct drv_transport_state *life, void *context)
{
	struct kdrv_transport *t =
		DRV_CONTAINER_OF(life, struct kdrv_transport, life);

	kdrv_transport_on_events(t, 0);
	service_add(context, t);
}

static void take_kicks(struct service_list *list)
{
	drv_io_take_kicks(&kdrv_io, take_kicked, list);
}

static void take_events(struct service_list *list, int timeout)
{
	struct epoll_event events[MAX_EVENTS];
	int n = epoll_wait(kdrv_io.epoll_fd, events, MAX_EVENTS, timeout);

	for (int i = 0; i < n; i++) {
		struct kdrv_transport *t = events[i].data.ptr;

		if (!t) {
			drv_io_drain_wake(&kdrv_io);
			continue;
		}
		kdrv_transport_on_events(t, events[i].events);
		drv_object_ref(&t->base);
		service_add(list, t);
	}
}

static void *io_main(void *arg)
{
	struct service_list list = { 0 };
	uint8_t *buffer = arg;

	for (;;) {
		struct kdrv_transport *t;

		take_events(&list, list.head ? 0 : -1);
		take_kicks(&list);
		t = list.head;
		list.head = NULL;
		list.tail = NULL;
		while (t) {
			struct kdrv_transport *next = t->next_service;

			t->in_service = false;
			if (kdrv_transport_service(t, buffer))
				service_add(&list, t);
			else
				drv_object_unref(&t->base);
			t = next;
		}
	}
	return NULL;
}

int kdrv_io_watch(struct kdrv_transport *t, int fd, uint32_t old_events,
		  uint32_t events)
{
	struct epoll_event event = {
		.events = events | EPOLLET,
		.data.ptr = t,
	};
	int op;

	if (!old_events && !events)
		return 0;
	if (!old_events)
		op = EPOLL_CTL_ADD;
	else if (!events)
		op = EPOLL_CTL_DEL;
	else
		op = EPOLL_CTL_MOD;
	if (epoll_ctl(kdrv_io.epoll_fd, op, fd, &event) < 0)
		return -errno;
	/* A registration holds a reference to its transport. */
	if (op == EPOLL_CTL_ADD)
		drv_object_ref(&t->base);
	else if (op == EPOLL_CTL_DEL)
		drv_object_unref(&t->base);
	return 0;
}
