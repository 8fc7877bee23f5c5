/* SPDX-License-Identifier: MIT */
/*
 * A shared memory region: a sealed memfd whose size can never change, so a
 * mapping of it can never fault past its end.
 */
#ifndef IPCZ_DRIVERS_SOCKET_MEMORY_H
#define IPCZ_DRIVERS_SOCKET_MEMORY_H

#include <stddef.h>

#include "drivers/common/memory.h"
#include "drivers/socket/object.h"

IpczResult sockdrv_memory_allocate(size_t size, IpczDriverHandle *handle);

/*
 * Adopts a region's fd received from elsewhere (owned from now on, closed
 * on failure) after checking that it is a size-sealed memfd of exactly
 * `size` bytes.
 */
bool sockdrv_memory_fd_fits(int fd, size_t size);
IpczResult sockdrv_memory_adopt(int fd, size_t size, IpczDriverHandle *handle);

IpczResult sockdrv_memory_duplicate(struct drv_object *object,
				    bool read_only, IpczDriverHandle *handle);

IpczResult sockdrv_memory_map(struct drv_object *object,
			      volatile void **address,
			      IpczDriverHandle *mapping);

/* Moves the fd out of an object no longer reachable through a handle. */
int sockdrv_memory_release_fd(struct drv_memory *memory);

#endif
