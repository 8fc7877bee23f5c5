/* SPDX-License-Identifier: MIT */
/*
 * Shared memory objects, alike in both drivers: a region is a descriptor
 * of known size (a sealed memfd, or a /dev/ipcz region) that may be
 * read-only, and a mapping is one mmap() of it. A mapping keeps its pages
 * by itself, so it outlives the region object it came from; closing its
 * handle unmaps it. How a region is created, checked and duplicated is
 * each driver's own.
 */
#ifndef IPCZ_DRIVERS_COMMON_MEMORY_H
#define IPCZ_DRIVERS_COMMON_MEMORY_H

#include <stdbool.h>
#include <stddef.h>

#include "drivers/common/object.h"

struct drv_memory {
	struct drv_object base;
	int fd;			/* -1 once moved out by Serialize() */
	size_t size;
	bool read_only;
};

struct drv_mapping {
	struct drv_object base;
	void *address;
	size_t size;
};

/* Wraps region descriptor `fd` (closed on failure) in `table`. */
IpczResult drv_memory_wrap(struct drv_handle_table *table, int fd,
			   size_t size, bool read_only,
			   IpczDriverHandle *handle);

/* Takes over the mapping at `address` (unmapped on failure). */
IpczResult drv_mapping_create(struct drv_handle_table *table, void *address,
			      size_t size, IpczDriverHandle *handle);

#endif
