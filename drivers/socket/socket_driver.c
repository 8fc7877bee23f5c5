// SPDX-License-Identifier: MIT
/*
 * The IpczDriver table of the socket driver and its public entry points
 * (include/ipcz/socket_driver.h). Each table function checks its handles
 * through the handle table and passes the work to the object concerned.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ipcz/socket_driver.h>

#include "drivers/common/driver_table.h"
#include "drivers/socket/descriptor.h"
#include "drivers/socket/memory.h"
#include "drivers/socket/transport.h"

struct drv_handle_table sockdrv_handles = DRV_HANDLE_TABLE_INIT;

/*
 * A serialized transport, memory region or descriptor: this header, and
 * exactly one descriptor object carrying its fd.
 */
struct serialized_object {
	uint32_t magic;
	uint32_t type;		/* enum drv_type */
	uint64_t size;		/* memory regions: the region's size */
};

#define SERIALIZED_MAGIC 0x44534349u	/* "ICSD" little-endian */

/* Moves the fd out of the object behind `handle` (retired); -1 if gone. */
static int take_object_fd(IpczDriverHandle handle, enum drv_type type)
{
	struct drv_object *object;
	int fd = -1;

	if (type == DRV_DESCRIPTOR)
		return sockdrv_descriptor_take_fd(handle);
	object = drv_handle_take(&sockdrv_handles, handle, type);
	if (!object)
		return -1;
	if (type == DRV_TRANSPORT)
		fd = sockdrv_transport_release_fd(
			(struct sockdrv_transport *)object);
	else if (type == DRV_MEMORY)
		fd = sockdrv_memory_release_fd((struct drv_memory *)object);
	drv_object_unref(object);
	return fd;
}

/*
 * Checks whether `object` can be serialized now. Transports move as bare
 * sockets, which is only possible before activation and with nothing
 * queued for sending.
 */
static IpczResult check_serializable(struct drv_object *object)
{
	switch (object->type) {
	case DRV_TRANSPORT:
		if (!sockdrv_transport_can_release_fd(
			    (struct sockdrv_transport *)object))
			return IPCZ_RESULT_FAILED_PRECONDITION;
		return IPCZ_RESULT_OK;
	case DRV_MEMORY:
	case DRV_DESCRIPTOR:
		return IPCZ_RESULT_OK;
	default:
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
}

static IpczResult IPCZ_API driver_serialize(IpczDriverHandle handle,
					    IpczDriverHandle transport,
					    uint32_t flags,
					    const void *options,
					    volatile void *data,
					    size_t *num_bytes,
					    IpczDriverHandle *handles,
					    size_t *num_handles)
{
	struct serialized_object header = { .magic = SERIALIZED_MAGIC };
	struct drv_object *object;
	IpczResult result;
	int fd;

	object = drv_handle_get(&sockdrv_handles, handle, DRV_ANY);
	if (!object)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	result = check_serializable(object);
	header.type = object->type;
	if (object->type == DRV_MEMORY)
		header.size = ((struct drv_memory *)object)->size;
	drv_object_unref(object);
	if (result == IPCZ_RESULT_INVALID_ARGUMENT)
		return result;

	if (!drv_serialized_fits(sizeof(header), data, num_bytes, handles,
				 num_handles))
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	if (result != IPCZ_RESULT_OK)
		return result;

	errno = 0;
	fd = take_object_fd(handle, header.type);
	if (fd < 0)
		return errno == EMFILE || errno == ENFILE ?
			       IPCZ_RESULT_RESOURCE_EXHAUSTED :
			       IPCZ_RESULT_INVALID_ARGUMENT;
	result = sockdrv_descriptor_create(fd, &handles[0]);
	if (result != IPCZ_RESULT_OK)
		return result;
	drv_copy_to_volatile(data, &header, sizeof(header));
	return IPCZ_RESULT_OK;
}

/*
 * Checks the fd of descriptor object `handle` before taking it, so that a
 * refused object leaves the caller's handle as it was.
 */
static bool descriptor_fits(IpczDriverHandle handle,
			    const struct serialized_object *header)
{
	struct sockdrv_descriptor *d;
	bool ok = true;

	d = (struct sockdrv_descriptor *)drv_handle_get(
		&sockdrv_handles, handle, DRV_DESCRIPTOR);
	if (!d)
		return false;
	if (header->type == DRV_TRANSPORT)
		ok = sockdrv_is_transport_socket(d->fd);
	else if (header->type == DRV_MEMORY)
		ok = sockdrv_memory_fd_fits(d->fd, (size_t)header->size);
	drv_object_unref(&d->base);
	return ok;
}

static IpczResult IPCZ_API driver_deserialize(
	const volatile void *data, size_t num_bytes,
	const IpczDriverHandle *driver_handles, size_t num_driver_handles,
	IpczDriverHandle transport, uint32_t flags, const void *options,
	IpczDriverHandle *handle)
{
	struct serialized_object header;
	int fd;

	if (!drv_serialized_read_header(data, num_bytes, driver_handles,
					num_driver_handles, handle, &header,
					sizeof(header)) ||
	    header.magic != SERIALIZED_MAGIC)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (header.type == DRV_MEMORY &&
	    (!header.size || header.size > (uint64_t)INT64_MAX))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (header.type != DRV_TRANSPORT && header.type != DRV_MEMORY &&
	    header.type != DRV_DESCRIPTOR)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (!descriptor_fits(driver_handles[0], &header))
		return IPCZ_RESULT_INVALID_ARGUMENT;

	if (header.type == DRV_DESCRIPTOR) {
		/* The descriptor object is itself the result. */
		*handle = driver_handles[0];
		return IPCZ_RESULT_OK;
	}
	fd = sockdrv_descriptor_take_fd(driver_handles[0]);
	if (fd < 0)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (header.type == DRV_TRANSPORT)
		return sockdrv_transport_adopt(fd, handle);
	return sockdrv_memory_adopt(fd, (size_t)header.size, handle);
}

static const struct drv_backend backend = {
	.handles = &sockdrv_handles,
	.duplicate_read_only_flag = IPCZ_SOCKET_DUPLICATE_READ_ONLY,
	.create_transport_pair = sockdrv_transport_create_pair,
	.transport_state = sockdrv_transport_state,
	.transmit = sockdrv_transport_transmit,
	.report_bad_transport = sockdrv_transport_report_bad,
	.close_transport = sockdrv_transport_close,
	.allocate_memory = sockdrv_memory_allocate,
	.duplicate_memory = sockdrv_memory_duplicate,
	.map_memory = sockdrv_memory_map,
};

DRV_DEFINE_IPCZ_DRIVER(socket_driver, backend, driver_serialize,
		       driver_deserialize);

const struct IpczDriver *ipcz_socket_driver(void)
{
	return &socket_driver;
}

int ipcz_socket_pair(int fds[2])
{
	if (!fds)
		return -EINVAL;
	return sockdrv_socket_pair(fds);
}

IpczResult ipcz_socket_transport_from_fd(int fd, IpczDriverHandle *transport)
{
	if (fd < 0 || !transport) {
		if (fd >= 0)
			close(fd);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	return sockdrv_transport_adopt(fd, transport);
}

IpczResult ipcz_socket_descriptor_wrap(int fd, IpczDriverHandle *object)
{
	if (fd < 0 || !object) {
		if (fd >= 0)
			close(fd);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	return sockdrv_descriptor_create(fd, object);
}

IpczResult ipcz_socket_descriptor_unwrap(IpczDriverHandle object, int *fd)
{
	int taken;

	if (!fd)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	taken = sockdrv_descriptor_take_fd(object);
	if (taken < 0)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	*fd = taken;
	return IPCZ_RESULT_OK;
}
