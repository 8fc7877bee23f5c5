// SPDX-License-Identifier: MIT
/*
 * The shared IpczDriver table functions (driver_table.h). Each looks the
 * handle up in the driver's own table, so that a stale, forged or
 * wrong-type handle is refused with IPCZ_RESULT_INVALID_ARGUMENT before
 * any driver code runs, and holds a reference across the backend call so
 * that a concurrent Close() cannot free the object under it.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

#include "drivers/common/driver_table.h"
#include "drivers/common/memory.h"

IpczResult drv_table_close(const struct drv_backend *backend,
			   IpczDriverHandle handle)
{
	struct drv_object *object = drv_handle_take(backend->handles, handle,
						    DRV_ANY);

	if (!object)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	/* A transport may still be active: it must stop before it goes. */
	if (object->type == DRV_TRANSPORT)
		backend->close_transport(object);
	else
		drv_object_unref(object);
	return IPCZ_RESULT_OK;
}

IpczResult drv_table_create_transports(const struct drv_backend *backend,
				       IpczDriverHandle *new_transport0,
				       IpczDriverHandle *new_transport1)
{
	if (!new_transport0 || !new_transport1)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	return backend->create_transport_pair(new_transport0, new_transport1);
}

IpczResult drv_table_activate_transport(const struct drv_backend *backend,
					IpczDriverHandle transport,
					IpczHandle listener,
					IpczTransportActivityHandler handler)
{
	struct drv_object *t = drv_handle_get(backend->handles, transport,
					      DRV_TRANSPORT);
	IpczResult result = IPCZ_RESULT_INVALID_ARGUMENT;

	if (!t)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (handler)
		result = drv_transport_activate(
			backend->transport_state(t), listener, handler);
	drv_object_unref(t);
	return result;
}

IpczResult drv_table_deactivate_transport(const struct drv_backend *backend,
					  IpczDriverHandle transport)
{
	struct drv_object *t = drv_handle_get(backend->handles, transport,
					      DRV_TRANSPORT);
	IpczResult result;

	if (!t)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	result = drv_transport_deactivate(backend->transport_state(t));
	drv_object_unref(t);
	return result;
}

IpczResult drv_table_transmit(const struct drv_backend *backend,
			      IpczDriverHandle transport, const void *data,
			      size_t num_bytes,
			      const IpczDriverHandle *handles,
			      size_t num_handles)
{
	struct drv_object *t = drv_handle_get(backend->handles, transport,
					      DRV_TRANSPORT);
	IpczResult result;

	if (!t)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	result = backend->transmit(t, data, num_bytes, handles, num_handles);
	drv_object_unref(t);
	return result;
}

IpczResult drv_table_report_bad_transport(const struct drv_backend *backend,
					  IpczDriverHandle transport)
{
	struct drv_object *t = drv_handle_get(backend->handles, transport,
					      DRV_TRANSPORT);

	if (!t)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	backend->report_bad_transport(t);
	drv_object_unref(t);
	return IPCZ_RESULT_OK;
}

IpczResult drv_table_allocate_shared_memory(const struct drv_backend *backend,
					    size_t num_bytes,
					    IpczDriverHandle *memory)
{
	if (!memory)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	return backend->allocate_memory(num_bytes, memory);
}

IpczResult drv_table_get_shared_memory_info(const struct drv_backend *backend,
					    IpczDriverHandle memory,
					    struct IpczSharedMemoryInfo *info)
{
	struct drv_object *m;

	/* `size` lets a caller with an older, smaller struct be refused. */
	if (!info || info->size < sizeof(*info))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	m = drv_handle_get(backend->handles, memory, DRV_MEMORY);
	if (!m)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	info->region_num_bytes = ((struct drv_memory *)m)->size;
	drv_object_unref(m);
	return IPCZ_RESULT_OK;
}

IpczResult drv_table_duplicate_shared_memory(const struct drv_backend *backend,
					     IpczDriverHandle memory,
					     uint32_t flags,
					     IpczDriverHandle *new_memory)
{
	uint32_t read_only = backend->duplicate_read_only_flag;
	struct drv_object *m;
	IpczResult result;

	if (!new_memory || (flags & ~read_only))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	m = drv_handle_get(backend->handles, memory, DRV_MEMORY);
	if (!m)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	result = backend->duplicate_memory(m, flags & read_only, new_memory);
	drv_object_unref(m);
	return result;
}

IpczResult drv_table_map_shared_memory(const struct drv_backend *backend,
				       IpczDriverHandle memory,
				       volatile void **address,
				       IpczDriverHandle *mapping)
{
	struct drv_object *m;
	IpczResult result;

	if (!address || !mapping)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	m = drv_handle_get(backend->handles, memory, DRV_MEMORY);
	if (!m)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	result = backend->map_memory(m, address, mapping);
	drv_object_unref(m);
	return result;
}

void drv_copy_to_volatile(volatile void *to, const void *from, size_t size)
{
	volatile uint8_t *out = to;
	const uint8_t *in = from;

	for (size_t i = 0; i < size; i++)
		out[i] = in[i];
}

void drv_copy_from_volatile(void *to, const volatile void *from, size_t size)
{
	const volatile uint8_t *in = from;
	uint8_t *out = to;

	for (size_t i = 0; i < size; i++)
		out[i] = in[i];
}

bool drv_serialized_fits(size_t header_size, volatile void *data,
			 size_t *num_bytes, IpczDriverHandle *handles,
			 size_t *num_handles)
{
	size_t byte_capacity = num_bytes ? *num_bytes : 0;
	size_t handle_capacity = num_handles ? *num_handles : 0;

	if (num_bytes)
		*num_bytes = header_size;
	if (num_handles)
		*num_handles = 1;
	return byte_capacity >= header_size && handle_capacity >= 1 && data &&
	       handles;
}

bool drv_serialized_read_header(const volatile void *data, size_t num_bytes,
				const IpczDriverHandle *driver_handles,
				size_t num_driver_handles,
				const IpczDriverHandle *handle, void *header,
				size_t header_size)
{
	if (num_bytes != header_size || num_driver_handles != 1 || !data ||
	    !driver_handles || !handle)
		return false;
	drv_copy_from_volatile(header, data, header_size);
	return true;
}

IpczResult IPCZ_API drv_generate_random_bytes(size_t num_bytes,
					      uint32_t flags,
					      const void *options,
					      void *buffer)
{
	uint8_t *out = buffer;

	if (num_bytes && !buffer)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	/* getrandom() may return less than asked, or be interrupted. */
	while (num_bytes) {
		ssize_t n = getrandom(out, num_bytes, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return IPCZ_RESULT_UNAVAILABLE;
		}
		out += n;
		num_bytes -= (size_t)n;
	}
	return IPCZ_RESULT_OK;
}
