/* SPDX-License-Identifier: MIT */
/*
 * The driver's I/O thread: one per process, started on first need. It
 * waits in epoll (edge-triggered) on every transport that is active or has
 * output waiting, and it alone reads transports, flushes their queued
 * output once there is room, changes what epoll watches and calls the
 * activity handlers. Other threads hand it work by "kicking" a transport.
 */
#ifndef IPCZ_DRIVERS_KERNEL_IO_THREAD_H
#define IPCZ_DRIVERS_KERNEL_IO_THREAD_H

#include <stdint.h>

#include <ipcz/ipcz.h>

struct kdrv_transport;

/* Starts the thread if it is not running yet. */
IpczResult kdrv_io_start(void);

/* Asks the I/O thread to service `t` soon (it takes its own reference). */
void kdrv_io_kick(struct kdrv_transport *t);

/*
 * I/O thread only: makes epoll watch `fd` of `t` for `events` instead of
 * `old_events` (0 for none). 0 or a negative errno.
 */
int kdrv_io_watch(struct kdrv_transport *t, int fd, uint32_t old_events,
		  uint32_t events);

/* fork(): the thread's lock is held across fork(); the child has none. */
void kdrv_io_lock(void);
void kdrv_io_unlock(void);
void kdrv_io_reset_in_child(void);

#endif
