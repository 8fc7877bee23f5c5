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

#include "drivers/common/io_thread.h"

struct kdrv_transport;

/* The thread itself (drivers/common/io_thread.h): start, kick. */
extern struct drv_io_thread kdrv_io;

/*
 * I/O thread only: makes epoll watch `fd` of `t` for `events` instead of
 * `old_events` (0 for none). 0 or a negative errno.
 */
int kdrv_io_watch(struct kdrv_transport *t, int fd, uint32_t old_events,
		  uint32_t events);

#endif
