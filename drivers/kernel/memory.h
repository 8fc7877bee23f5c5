/* SPDX-License-Identifier: MIT */
/*
 * Shared memory: a memory object holds one handle (descriptor) of a
 * kernel memory region; a mapping object is one mmap() of a region, which
 * keeps the region alive in the kernel by itself, so a mapping outlives
 * the memory object it came from.
 */
#ifndef IPCZ_DRIVERS_KERNEL_MEMORY_H
#define IPCZ_DRIVERS_KERNEL_MEMORY_H

#include <stdbool.h>
#include <stddef.h>

#include "drivers/common/memory.h"
#include "drivers/kernel/object.h"

IpczResult kdrv_memory_allocate(size_t num_bytes, IpczDriverHandle *handle);

/*
 * Adopts `fd`, a region handle (closed on failure): asks the module for
 * its size and access. INVALID_ARGUMENT if it is not a region.
 */
IpczResult kdrv_memory_adopt(int fd, IpczDriverHandle *handle);

IpczResult kdrv_memory_duplicate(struct drv_object *object, bool readonly,
				 IpczDriverHandle *handle);

IpczResult kdrv_memory_map(struct drv_object *object,
			   volatile void **address, IpczDriverHandle *mapping);

#endif
