/* SPDX-License-Identifier: MIT */
/*
 * The skeleton of a driver's I/O thread, shared by the socket and the
 * kernel driver: one thread per process per driver, started on first
 * need, waiting on an epoll set whose one NULL-tagged member is an eventfd
 * that other threads write to "kick" a transport (have the thread look at
 * a change they made under the transport's lock).
 *
 * What the thread does with epoll events and kicked transports is each
 * driver's own (level- or edge-triggered epoll, how input is budgeted), so
 * the driver supplies the thread's main function and reads `epoll_fd`.
 */
#ifndef IPCZ_DRIVERS_COMMON_IO_THREAD_H
#define IPCZ_DRIVERS_COMMON_IO_THREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <ipcz/ipcz.h>

#include "drivers/common/transport_state.h"

struct drv_io_thread {
	/* Guards everything below and every transport's kick fields. */
	pthread_mutex_t lock;
	bool started;
	int epoll_fd;
	int wake_fd;		/* the eventfd, in the epoll set as NULL */
	struct drv_transport_state *kicked_head;
	struct drv_transport_state *kicked_tail;

	/* Set by the driver. */
	/* The thread: runs forever with a buffer of `buffer_size` bytes. */
	void *(*main)(void *buffer);
	size_t buffer_size;
	/*
	 * Whether the thread blocks every signal. The socket driver always
	 * has, so that application handlers run on application threads; the
	 * kernel driver never did. Kept as it was rather than changed here.
	 */
	bool block_signals;
	/*
	 * Whether a kick starts the thread. The socket driver's does, since
	 * output queued before activation needs the thread to drain it; the
	 * kernel driver's thread starts only with activation or a full queue.
	 */
	bool start_on_kick;
};

#define DRV_IO_THREAD_INIT(main_fn, size, block, kick_starts)		\
	{								\
		.lock = PTHREAD_MUTEX_INITIALIZER,			\
		.epoll_fd = -1,						\
		.wake_fd = -1,						\
		.main = (main_fn),					\
		.buffer_size = (size),					\
		.block_signals = (block),				\
		.start_on_kick = (kick_starts),				\
	}

/* Starts the thread unless it runs; RESOURCE_EXHAUSTED if it cannot. */
IpczResult drv_io_start(struct drv_io_thread *io);

/*
 * Queues `state`'s transport for the thread, with a reference to it, and
 * wakes the thread; nothing if the thread is not running (and does not
 * start on kicks) or the transport is already queued.
 */
void drv_io_kick(struct drv_io_thread *io, struct drv_transport_state *state);

/*
 * Thread: empties the kick queue, calling `take` for each transport under
 * the lock, in kick order. `take` gets the kick's reference.
 */
void drv_io_take_kicks(struct drv_io_thread *io,
		       void (*take)(struct drv_transport_state *state,
				    void *context),
		       void *context);

/* Thread: consumes the eventfd's count, after it woke epoll. */
void drv_io_drain_wake(struct drv_io_thread *io);

/*
 * fork(): the lock is held across it. The child has no thread, and the
 * epoll set it inherited is shared with the parent: forget both (the
 * lock still held); transports made before the fork stay unusable there.
 */
void drv_io_lock(struct drv_io_thread *io);
void drv_io_unlock(struct drv_io_thread *io);
void drv_io_reset_in_child(struct drv_io_thread *io);

#endif
