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
#include <sys/eventfd.h>
#include <unistd.h>

#include "drivers/kernel/io_thread.h"
#include "drivers/kernel/transport.h"

#define MAX_EVENTS 64

static pthread_mutex_t io_lock = PTHREAD_MUTEX_INITIALIZER;
static bool io_started;
static int epoll_fd = -1;
static int wake_fd = -1;
static struct kdrv_transport *kicked_head;
static struct kdrv_transport *kicked_tail;

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

/* Moves every kicked transport to `list`, with its kick's reference. */
static void take_kicks(struct service_list *list)
{
	struct kdrv_transport *t;

	pthread_mutex_lock(&io_lock);
	t = kicked_head;
	kicked_head = NULL;
	kicked_tail = NULL;
	while (t) {
		struct kdrv_transport *next = t->next_kicked;

		t->kicked = false;
		kdrv_transport_on_events(t, 0);
		service_add(list, t);
		t = next;
	}
	pthread_mutex_unlock(&io_lock);
}

static void drain_wake_fd(void)
{
	uint64_t count;

	while (read(wake_fd, &count, sizeof(count)) < 0 && errno == EINTR)
		;
}

static void take_events(struct service_list *list, int timeout)
{
	struct epoll_event events[MAX_EVENTS];
	int n = epoll_wait(epoll_fd, events, MAX_EVENTS, timeout);

	for (int i = 0; i < n; i++) {
		struct kdrv_transport *t = events[i].data.ptr;

		if (!t) {
			drain_wake_fd();
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

static int start_locked(void)
{
	struct epoll_event wake = { .events = EPOLLIN, .data.ptr = NULL };
	pthread_attr_t attr;
	pthread_t thread;
	uint8_t *buffer;
	int err;

	buffer = malloc(KDRV_RECEIVE_BUFFER);
	if (!buffer)
		return -ENOMEM;
	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (epoll_fd < 0 || wake_fd < 0 ||
	    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &wake) < 0) {
		err = -errno;
		goto fail;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = -pthread_create(&thread, &attr, io_main, buffer);
	pthread_attr_destroy(&attr);
	if (err)
		goto fail;
	io_started = true;
	return 0;
fail:
	if (epoll_fd >= 0)
		close(epoll_fd);
	if (wake_fd >= 0)
		close(wake_fd);
	epoll_fd = -1;
	wake_fd = -1;
	free(buffer);
	return err;
}

IpczResult kdrv_io_start(void)
{
	int err = 0;

	pthread_mutex_lock(&io_lock);
	if (!io_started)
		err = start_locked();
	pthread_mutex_unlock(&io_lock);
	return err ? IPCZ_RESULT_RESOURCE_EXHAUSTED : IPCZ_RESULT_OK;
}

void kdrv_io_kick(struct kdrv_transport *t)
{
	uint64_t one = 1;
	bool wake = false;
	int fd;

	pthread_mutex_lock(&io_lock);
	fd = wake_fd;
	if (io_started && !t->kicked) {
		t->kicked = true;
		t->next_kicked = NULL;
		drv_object_ref(&t->base);
		if (kicked_tail)
			kicked_tail->next_kicked = t;
		else
			kicked_head = t;
		kicked_tail = t;
		wake = true;
	}
	pthread_mutex_unlock(&io_lock);
	if (wake) {
		while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
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
	if (epoll_ctl(epoll_fd, op, fd, &event) < 0)
		return -errno;
	/* A registration holds a reference to its transport. */
	if (op == EPOLL_CTL_ADD)
		drv_object_ref(&t->base);
	else if (op == EPOLL_CTL_DEL)
		drv_object_unref(&t->base);
	return 0;
}

void kdrv_io_lock(void)
{
	pthread_mutex_lock(&io_lock);
}

void kdrv_io_unlock(void)
{
	pthread_mutex_unlock(&io_lock);
}

/*
 * The child has no I/O thread, and the parent's epoll instance must not
 * be touched from here (it is shared with the parent): forget both.
 * Transports of the parent are unusable in the child anyway.
 */
void kdrv_io_reset_in_child(void)
{
	if (epoll_fd >= 0)
		close(epoll_fd);
	if (wake_fd >= 0)
		close(wake_fd);
	epoll_fd = -1;
	wake_fd = -1;
	io_started = false;
	kicked_head = NULL;
	kicked_tail = NULL;
}
