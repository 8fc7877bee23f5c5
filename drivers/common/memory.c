// SPDX-License-Identifier: MIT
/* Shared memory region and mapping objects (memory.h). */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "drivers/common/memory.h"

static void destroy_memory(struct drv_object *object)
{
	struct drv_memory *memory = (struct drv_memory *)object;

	if (memory->fd >= 0)
		close(memory->fd);
	free(memory);
}

IpczResult drv_memory_wrap(struct drv_handle_table *table, int fd,
			   size_t size, bool read_only,
			   IpczDriverHandle *handle)
{
	struct drv_memory *memory = malloc(sizeof(*memory));

	if (!memory) {
		close(fd);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	drv_object_init(&memory->base, DRV_MEMORY, destroy_memory);
	memory->fd = fd;
	memory->size = size;
	memory->read_only = read_only;
	return drv_handle_add(table, &memory->base, handle);
}

static void destroy_mapping(struct drv_object *object)
{
	struct drv_mapping *mapping = (struct drv_mapping *)object;

	munmap(mapping->address, mapping->size);
	free(mapping);
}

IpczResult drv_mapping_create(struct drv_handle_table *table, void *address,
			      size_t size, IpczDriverHandle *handle)
{
	struct drv_mapping *mapping = malloc(sizeof(*mapping));

	if (!mapping) {
		munmap(address, size);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	drv_object_init(&mapping->base, DRV_MAPPING, destroy_mapping);
	mapping->address = address;
	mapping->size = size;
	return drv_handle_add(table, &mapping->base, handle);
}
