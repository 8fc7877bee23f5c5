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
	return drv_memory_wrap(&kdrv_handles, args.fd, (size_t)args.length,
			       false, handle);
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
	return drv_memory_wrap(&kdrv_handles, fd, (size_t)info.length,
			       info.flags & IPCZ_REGION_READONLY, handle);
}

IpczResult kdrv_memory_duplicate(struct drv_object *object, bool readonly,
				 IpczDriverHandle *handle)
{
	struct drv_memory *memory = (struct drv_memory *)object;
	struct ipcz_region_dup args = { .size = sizeof(args) };
	int err;

	if (memory->fd < 0)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	readonly = readonly || memory->read_only;
	args.flags = IPCZ_CLOEXEC | (readonly ? IPCZ_REGION_READONLY : 0);
	err = kdrv_ioctl(memory->fd, IPCZ_IOC_REGION_DUP, &args);
	if (err)
		return kdrv_result_from_errno(err);
	return drv_memory_wrap(&kdrv_handles, args.fd, memory->size, readonly,
			       handle);
}

IpczResult kdrv_memory_map(struct drv_object *object,
			   volatile void **address, IpczDriverHandle *handle)
{
	struct drv_memory *memory = (struct drv_memory *)object;
	int prot = PROT_READ | (memory->read_only ? 0 : PROT_WRITE);
	IpczResult result;
	void *where;

	if (memory->fd < 0)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	where = mmap(NULL, memory->size, prot, MAP_SHARED, memory->fd, 0);
	if (where == MAP_FAILED)
		return kdrv_result_from_errno(-errno);
	result = drv_mapping_create(&kdrv_handles, where, memory->size, handle);
	if (result == IPCZ_RESULT_OK)
		*address = where;
	return result;
}
