// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <sys/mman.h>

#include "drivers/socket/mapping.h"

static void destroy_mapping(struct drv_object *object)
{
	struct sockdrv_mapping *mapping = (struct sockdrv_mapping *)object;

	munmap(mapping->base_address, mapping->size);
	free(mapping);
}

IpczResult sockdrv_mapping_create(void *base, size_t size,
				  IpczDriverHandle *handle)
{
	struct sockdrv_mapping *mapping = malloc(sizeof(*mapping));

	if (!mapping) {
		munmap(base, size);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	drv_object_init(&mapping->base, DRV_MAPPING, destroy_mapping);
	mapping->base_address = base;
	mapping->size = size;
	return drv_handle_add(&sockdrv_handles, &mapping->base, handle);
}
