/* SPDX-License-Identifier: MIT */
/*
 * The driver's I/O thread: one per process, started on first need. It
 * waits on an epoll set holding every transport that is active or has
 * queued output, reads and delivers incoming messages, flushes queued
 * output, and services transports that other threads "kick" after a state
 * change (activation, deactivation, queued output, a reported error).
 */
#ifndef IPCZ_DRIVERS_SOCKET_IO_THREAD_H
#define IPCZ_DRIVERS_SOCKET_IO_THREAD_H

#include <stdint.h>

#include <ipcz/ipcz.h>

#include "drivers/common/io_thread.h"

struct sockdrv_transport;

/* The thread itself (drivers/common/io_thread.h): start, kick. */
extern struct drv_io_thread sockdrv_io;

/* Has the I/O thread service `t` soon (takes a reference meanwhile). */
/*
 * I/O thread only: change the epoll interest of `t` from `old_events` to
 * `new_events` (0 meaning not watched). Watching holds a reference on `t`,
 * dropped after the current batch of events once it stops.
 */
int sockdrv_io_watch(struct sockdrv_transport *t, uint32_t old_events,
		     uint32_t new_events);

#endif
