// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <unistd.h>

#include "drivers/kernel/descriptor.h"

static void destroy_descriptor(struct kdrv_object *object)
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
	kdrv_object_init(&d->base, KDRV_DESCRIPTOR, destroy_descriptor);
	atomic_init(&d->fd, fd);
	d->fd_type = fd_type;
	return kdrv_handle_add(&d->base, handle);
}

int kdrv_descriptor_type(IpczDriverHandle handle)
{
	struct kdrv_descriptor *d;
	int type;

	d = (struct kdrv_descriptor *)kdrv_handle_get(handle, KDRV_DESCRIPTOR);
	if (!d)
		return -1;
	type = (int)d->fd_type;
	kdrv_object_unref(&d->base);
	return type;
}

int kdrv_descriptor_take_fd(IpczDriverHandle handle)
{
	struct kdrv_descriptor *d;
	int fd;

	d = (struct kdrv_descriptor *)kdrv_handle_take(handle,
						       KDRV_DESCRIPTOR);
	if (!d)
		return -1;
	fd = atomic_exchange(&d->fd, -1);
	kdrv_object_unref(&d->base);
	return fd;
}
