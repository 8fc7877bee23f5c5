// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <unistd.h>

#include "drivers/kernel/descriptor.h"

static void destroy_descriptor(struct drv_object *object)
{
	struct kdrv_descriptor *d = (struct kdrv_descriptor *)object;
	int fd = atomic_exchange(&d->fd, -1);

	if (fd >= 0)
		close(fd);
	free(d);
}

IpczResult kdrv_descriptor_create(int fd, uint32_t fd_type,
				  IpczDriverHandle *handle)
{
	struct kdrv_descriptor *d = calloc(1, sizeof(*d));

	if (!d) {
		close(fd);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	drv_object_init(&d->base, DRV_DESCRIPTOR, destroy_descriptor);
	atomic_init(&d->fd, fd);
	d->fd_type = fd_type;
	return drv_handle_add(&kdrv_handles, &d->base, handle);
}

int kdrv_descriptor_type(IpczDriverHandle handle)
{
	struct kdrv_descriptor *d;
	int type;

	d = (struct kdrv_descriptor *)drv_handle_get(&kdrv_handles, handle,
						     DRV_DESCRIPTOR);
	if (!d)
		return -1;
	type = (int)d->fd_type;
	drv_object_unref(&d->base);
	return type;
}

int kdrv_descriptor_take_fd(IpczDriverHandle handle)
{
	struct kdrv_descriptor *d;
	int fd;

	d = (struct kdrv_descriptor *)drv_handle_take(&kdrv_handles, handle,
						      DRV_DESCRIPTOR);
	if (!d)
		return -1;
	fd = atomic_exchange(&d->fd, -1);
	drv_object_unref(&d->base);
	return fd;
}
