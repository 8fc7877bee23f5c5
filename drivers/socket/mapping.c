// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <sys/mman.h>

#include "drivers/socket/mapping.h"

static void destroy_mapping(struct sockdrv_object *object)
{
	struct sockdrv_mapping *mapping = (struct sockdrv_mapping *)object;

	munmap(mapping->base_address, mapping->size);
	free(mapping);
}

IpczResult sockdrv_mapping_create(void *base, size_t size,
				  IpczDriverHandle *handle)
{
	struct sockdrv_mapping *mapping = malloc(sizeof(*mapping));
	IpczResult result;

	if (!mapping) {
		munmap(base, size);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	sockdrv_object_init(&mapping->base, SOCKDRV_MAPPING, destroy_mapping);
	mapping->base_address = base;
	mapping->size = size;
	result = sockdrv_handle_add(&mapping->base, handle);
	if (result != IPCZ_RESULT_OK)
		sockdrv_object_unref(&mapping->base);
	return result;
}
