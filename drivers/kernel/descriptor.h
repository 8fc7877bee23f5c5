/* SPDX-License-Identifier: MIT */
/*
 * A descriptor object: one file descriptor in the driver's keeping, with
 * the kind of object it is (enum ipcz_fd_type). Serialize() turns
 * transports and regions into descriptor objects, Transmit() sends them
 * and the I/O thread wraps every descriptor it receives in one, for
 * Deserialize() to turn back into a transport or region. Applications may
 * also wrap descriptors of their own (ipcz_kernel_descriptor_wrap()).
 */
#ifndef IPCZ_DRIVERS_KERNEL_DESCRIPTOR_H
#define IPCZ_DRIVERS_KERNEL_DESCRIPTOR_H

#include <stdatomic.h>
#include <stdint.h>

#include "drivers/kernel/object.h"

struct kdrv_descriptor {
	struct drv_object base;
	atomic_int fd;		/* -1 once taken */
	uint32_t fd_type;	/* enum ipcz_fd_type */
};

/* Wraps `fd` (owned from now on; closed on failure) in a new object. */
IpczResult kdrv_descriptor_create(int fd, uint32_t fd_type,
				  IpczDriverHandle *handle);

/* The type of the descriptor object `handle`, or -1 if it is not one. */
int kdrv_descriptor_type(IpczDriverHandle handle);

/* Retires `handle` and returns its descriptor, or -1. */
int kdrv_descriptor_take_fd(IpczDriverHandle handle);

#endif
