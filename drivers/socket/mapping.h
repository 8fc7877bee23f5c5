/* SPDX-License-Identifier: MIT */
/* A mapping of a shared memory region; closing its handle unmaps it. */
#ifndef IPCZ_DRIVERS_SOCKET_MAPPING_H
#define IPCZ_DRIVERS_SOCKET_MAPPING_H

#include <stddef.h>

#include "drivers/socket/object.h"

struct sockdrv_mapping {
	struct drv_object base;
	void *base_address;
	size_t size;
};

/* Takes over the mapping at `base` (unmapped on failure). */
IpczResult sockdrv_mapping_create(void *base, size_t size,
				  IpczDriverHandle *handle);

#endif
