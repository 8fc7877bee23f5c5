/* SPDX-License-Identifier: MIT */
/*
 * A descriptor object owns one file descriptor. It is what travels in
 * Transmit() (every transport or memory region serializes to one), what the
 * activity handler receives for each descriptor that arrives, and what an
 * application boxes to send any descriptor of its own through a portal.
 */
#ifndef IPCZ_DRIVERS_SOCKET_DESCRIPTOR_H
#define IPCZ_DRIVERS_SOCKET_DESCRIPTOR_H

#include "drivers/socket/object.h"

struct sockdrv_descriptor {
	struct drv_object base;
	int fd;		/* -1 once taken */
};

/* Wraps `fd` (owned from now on) in a new object with a handle. */
IpczResult sockdrv_descriptor_create(int fd, IpczDriverHandle *handle);

/*
 * Retires the descriptor handle and returns its fd, or -1 if the handle is
 * not a live descriptor.
 */
int sockdrv_descriptor_take_fd(IpczDriverHandle handle);

#endif
