// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <unistd.h>

#include "drivers/socket/descriptor.h"

static void destroy_descriptor(struct sockdrv_object *object)
{
	struct sockdrv_descriptor *d = (struct sockdrv_descriptor *)object;

	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

IpczResult sockdrv_descriptor_create(int fd, IpczDriverHandle *handle)
{
	struct sockdrv_descriptor *d = malloc(sizeof(*d));
	IpczResult result;

	if (!d) {
		close(fd);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	sockdrv_object_init(&d->base, SOCKDRV_DESCRIPTOR, destroy_descriptor);
	d->fd = fd;
	result = sockdrv_handle_add(&d->base, handle);
	if (result != IPCZ_RESULT_OK)
		sockdrv_object_unref(&d->base);
	return result;
}

int sockdrv_descriptor_take_fd(IpczDriverHandle handle)
{
	struct sockdrv_object *object;
	struct sockdrv_descriptor *d;
	int fd;

	object = sockdrv_handle_take(handle, SOCKDRV_DESCRIPTOR);
	if (!object)
		return -1;
	d = (struct sockdrv_descriptor *)object;
	fd = d->fd;
	d->fd = -1;
	sockdrv_object_unref(object);
	return fd;
}
