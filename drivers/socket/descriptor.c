// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <unistd.h>

#include "drivers/socket/descriptor.h"

static void destroy_descriptor(struct drv_object *object)
{
	struct sockdrv_descriptor *d = (struct sockdrv_descriptor *)object;

	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

IpczResult sockdrv_descriptor_create(int fd, IpczDriverHandle *handle)
{
	struct sockdrv_descriptor *d = malloc(sizeof(*d));

	if (!d) {
		close(fd);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	drv_object_init(&d->base, DRV_DESCRIPTOR, destroy_descriptor);
	d->fd = fd;
	return drv_handle_add(&sockdrv_handles, &d->base, handle);
}

int sockdrv_descriptor_take_fd(IpczDriverHandle handle)
{
	struct drv_object *object;
	struct sockdrv_descriptor *d;
	int fd;

	object = drv_handle_take(&sockdrv_handles, handle, DRV_DESCRIPTOR);
	if (!object)
		return -1;
	d = (struct sockdrv_descriptor *)object;
	fd = d->fd;
	d->fd = -1;
	drv_object_unref(object);
	return fd;
}
