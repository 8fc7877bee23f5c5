// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "drivers/kernel/device.h"
#include "drivers/kernel/memory.h"
#include "uapi/linux/ipcz.h"

static void destroy_memory(struct drv_object *object)
{
	struct kdrv_memory *memory = (struct kdrv_memory *)object;

	if (memory->fd >= 0)
		close(memory->fd);
	free(memory);
}

static void destroy_mapping(struct drv_object *object)
{
	struct kdrv_mapping *mapping = (struct kdrv_mapping *)object;

	munmap(mapping->address, mapping->size);
	free(mapping);
}

/* Wraps a region descriptor (closed on failure) of known size. */
static IpczResult wrap_region(int fd, size_t size, bool readonly,
			      IpczDriverHandle *handle)
{
	struct kdrv_memory *memory = calloc(1, sizeof(*memory));

	if (!memory) {
		close(fd);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	drv_object_init(&memory->base, DRV_MEMORY, destroy_memory);
	memory->fd = fd;
	memory->size = size;
	memory->readonly = readonly;
	return drv_handle_add(&kdrv_handles, &memory->base, handle);
}

IpczResult kdrv_memory_allocate(size_t num_bytes, IpczDriverHandle *handle)
{
	struct ipcz_region_create args = {
		.size = sizeof(args),
		.flags = IPCZ_CLOEXEC,
		.length = num_bytes,
	};
	int node = kdrv_device_fd();
	int err;

	if (node < 0)
		return IPCZ_RESULT_UNAVAILABLE;
	if (!num_bytes || num_bytes > (size_t)INT64_MAX)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	err = kdrv_ioctl(node, IPCZ_IOC_REGION_CREATE, &args);
	if (err)
		return kdrv_result_from_errno(err);
	if (args.length > SIZE_MAX) {
		close(args.fd);
		return IPCZ_RESULT_OUT_OF_RANGE;
	}
	return wrap_region(args.fd, (size_t)args.length, false, handle);
}

IpczResult kdrv_memory_adopt(int fd, IpczDriverHandle *handle)
{
	struct ipcz_region_info info = { .size = sizeof(info) };
	int err = kdrv_ioctl(fd, IPCZ_IOC_REGION_INFO, &info);

	if (err || !info.length || info.length > SIZE_MAX) {
		close(fd);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		close(fd);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	return wrap_region(fd, (size_t)info.length,
			   info.flags & IPCZ_REGION_READONLY, handle);
}

IpczResult kdrv_memory_duplicate(struct drv_object *object, bool readonly,
				 IpczDriverHandle *handle)
{
	struct kdrv_memory *memory = (struct kdrv_memory *)object;
	struct ipcz_region_dup args = { .size = sizeof(args) };
	int err;

	if (memory->fd < 0)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	readonly = readonly || memory->readonly;
	args.flags = IPCZ_CLOEXEC | (readonly ? IPCZ_REGION_READONLY : 0);
	err = kdrv_ioctl(memory->fd, IPCZ_IOC_REGION_DUP, &args);
	if (err)
		return kdrv_result_from_errno(err);
	return wrap_region(args.fd, memory->size, readonly, handle);
}

IpczResult kdrv_memory_map(struct drv_object *object,
			   volatile void **address, IpczDriverHandle *handle)
{
	struct kdrv_memory *memory = (struct kdrv_memory *)object;
	int prot = PROT_READ | (memory->readonly ? 0 : PROT_WRITE);
	struct kdrv_mapping *mapping;
	IpczResult result;
	void *where;

	if (memory->fd < 0)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	mapping = calloc(1, sizeof(*mapping));
	if (!mapping)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	where = mmap(NULL, memory->size, prot, MAP_SHARED, memory->fd, 0);
	if (where == MAP_FAILED) {
		free(mapping);
		return kdrv_result_from_errno(-errno);
	}
	drv_object_init(&mapping->base, DRV_MAPPING, destroy_mapping);
	mapping->address = where;
	mapping->size = memory->size;
	result = drv_handle_add(&kdrv_handles, &mapping->base, handle);
	if (result == IPCZ_RESULT_OK)
		*address = where;
	return result;
}
