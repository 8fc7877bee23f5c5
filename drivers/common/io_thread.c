// SPDX-License-Identifier: MIT
/* The shared I/O thread skeleton (io_thread.h). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "drivers/common/io_thread.h"

static int spawn(struct drv_io_thread *io, void *buffer)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t thread;
	int err;

	/* The new thread inherits the mask in force when it is created. */
	if (io->block_signals) {
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&thread, &attr, io->main, buffer);
	pthread_attr_destroy(&attr);
	if (io->block_signals)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

/* Closes the epoll set and the eventfd, if they are open. */
static void close_descriptors(struct drv_io_thread *io)
{
	if (io->epoll_fd >= 0)
		close(io->epoll_fd);
	if (io->wake_fd >= 0)
		close(io->wake_fd);
	io->epoll_fd = -1;
	io->wake_fd = -1;
}

/* Creates the epoll set, the eventfd and the thread; lock held. */
static IpczResult start_locked(struct drv_io_thread *io)
{
	struct epoll_event wake = { .events = EPOLLIN, .data.ptr = NULL };
	void *buffer = malloc(io->buffer_size);

	if (!buffer)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	io->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	io->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (io->epoll_fd >= 0 && io->wake_fd >= 0 &&
	    epoll_ctl(io->epoll_fd, EPOLL_CTL_ADD, io->wake_fd, &wake) == 0 &&
	    spawn(io, buffer) == 0) {
		io->started = true;
		return IPCZ_RESULT_OK;
	}
	close_descriptors(io);
	free(buffer);
	return IPCZ_RESULT_RESOURCE_EXHAUSTED;
}

IpczResult drv_io_start(struct drv_io_thread *io)
{
	IpczResult result = IPCZ_RESULT_OK;

	pthread_mutex_lock(&io->lock);
	if (!io->started)
		result = start_locked(io);
	pthread_mutex_unlock(&io->lock);
	return result;
}

void drv_io_kick(struct drv_io_thread *io, struct drv_transport_state *state)
{
	uint64_t one = 1;
	bool wake = false;
	int fd;

	if (io->start_on_kick && drv_io_start(io) != IPCZ_RESULT_OK)
		return;
	pthread_mutex_lock(&io->lock);
	fd = io->wake_fd;
	if (io->started && !state->kicked) {
		state->kicked = true;
		state->next_kicked = NULL;
		drv_object_ref(state->owner);
		if (io->kicked_tail)
			io->kicked_tail->next_kicked = state;
		else
			io->kicked_head = state;
		io->kicked_tail = state;
		wake = true;
	}
	pthread_mutex_unlock(&io->lock);
	/* EAGAIN means the counter is full: a wake-up is pending anyway. */
	if (wake) {
		while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
}

void drv_io_take_kicks(struct drv_io_thread *io,
		       void (*take)(struct drv_transport_state *state,
				    void *context),
		       void *context)
{
	struct drv_transport_state *state, *next;

	pthread_mutex_lock(&io->lock);
	state = io->kicked_head;
	io->kicked_head = NULL;
	io->kicked_tail = NULL;
	/*
	 * `next` is read before `take`: a kick made after this point starts
	 * a fresh queue and rewrites next_kicked.
	 */
	for (; state; state = next) {
		next = state->next_kicked;
		state->next_kicked = NULL;
		state->kicked = false;
		take(state, context);
	}
	pthread_mutex_unlock(&io->lock);
}

void drv_io_drain_wake(struct drv_io_thread *io)
{
	uint64_t count;

	while (read(io->wake_fd, &count, sizeof(count)) < 0 && errno == EINTR)
		;
}

void drv_io_lock(struct drv_io_thread *io)
{
	pthread_mutex_lock(&io->lock);
}

void drv_io_unlock(struct drv_io_thread *io)
{
	pthread_mutex_unlock(&io->lock);
}

void drv_io_reset_in_child(struct drv_io_thread *io)
{
	close_descriptors(io);
	io->started = false;
	io->kicked_head = NULL;
	io->kicked_tail = NULL;
}
