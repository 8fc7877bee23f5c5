/* SPDX-License-Identifier: MIT */
/*
 * The IpczDriver table functions that the socket and the kernel driver
 * share. Both check a handle against their own handle table, take a
 * reference to the object, call the object's code and drop the reference:
 * only that last call differs, so a driver describes it in a backend (ops
 * struct) and DRV_DEFINE_IPCZ_DRIVER() builds the table around it.
 *
 * How an object becomes bytes and descriptors differs completely (the
 * socket driver moves its own descriptors, the kernel driver trusts the
 * types the module reports), so Serialize() and Deserialize() stay with
 * each driver and are passed to the macro as they are.
 */
#ifndef IPCZ_DRIVERS_COMMON_DRIVER_TABLE_H
#define IPCZ_DRIVERS_COMMON_DRIVER_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include <ipcz/ipcz.h>

#include "drivers/common/object.h"
#include "drivers/common/transport_state.h"

/*
 * What one driver does with its objects. Object arguments are live objects
 * of the right type (DRV_TRANSPORT or DRV_MEMORY), on which the caller holds
 * a reference for the duration of the call.
 */
struct drv_backend {
	struct drv_handle_table *handles;
	/* The DuplicateSharedMemory() flag asking for a read-only copy. */
	uint32_t duplicate_read_only_flag;

	IpczResult (*create_transport_pair)(IpczDriverHandle *first,
					    IpczDriverHandle *second);
	/* What activation and deactivation change (transport_state.h). */
	struct drv_transport_state *(*transport_state)(
		struct drv_object *transport);
	IpczResult (*transmit)(struct drv_object *transport, const void *data,
			       size_t num_bytes,
			       const IpczDriverHandle *handles,
			       size_t num_handles);
	void (*report_bad_transport)(struct drv_object *transport);
	/* After its handle was retired: stop it and drop that reference. */
	void (*close_transport)(struct drv_object *transport);

	IpczResult (*allocate_memory)(size_t num_bytes,
				      IpczDriverHandle *handle);
	IpczResult (*duplicate_memory)(struct drv_object *memory,
				       bool read_only,
				       IpczDriverHandle *handle);
	IpczResult (*map_memory)(struct drv_object *memory,
				 volatile void **address,
				 IpczDriverHandle *mapping);
};

IpczResult drv_table_close(const struct drv_backend *backend,
			   IpczDriverHandle handle);
IpczResult drv_table_create_transports(const struct drv_backend *backend,
				       IpczDriverHandle *new_transport0,
				       IpczDriverHandle *new_transport1);
IpczResult drv_table_activate_transport(const struct drv_backend *backend,
					IpczDriverHandle transport,
					IpczHandle listener,
					IpczTransportActivityHandler handler);
IpczResult drv_table_deactivate_transport(const struct drv_backend *backend,
					  IpczDriverHandle transport);
IpczResult drv_table_transmit(const struct drv_backend *backend,
			      IpczDriverHandle transport, const void *data,
			      size_t num_bytes,
			      const IpczDriverHandle *handles,
			      size_t num_handles);
IpczResult drv_table_report_bad_transport(const struct drv_backend *backend,
					  IpczDriverHandle transport);
IpczResult drv_table_allocate_shared_memory(const struct drv_backend *backend,
					    size_t num_bytes,
					    IpczDriverHandle *memory);
IpczResult drv_table_get_shared_memory_info(const struct drv_backend *backend,
					    IpczDriverHandle memory,
					    struct IpczSharedMemoryInfo *info);
IpczResult drv_table_duplicate_shared_memory(const struct drv_backend *backend,
					     IpczDriverHandle memory,
					     uint32_t flags,
					     IpczDriverHandle *new_memory);
IpczResult drv_table_map_shared_memory(const struct drv_backend *backend,
				       IpczDriverHandle memory,
				       volatile void **address,
				       IpczDriverHandle *mapping);

/*
 * Serialize() writes into, and Deserialize() reads from, buffers that may
 * be shared memory another process can change at any time: copy them
 * byte by byte through volatile pointers, once, before checking anything.
 */
void drv_copy_to_volatile(volatile void *to, const void *from, size_t size);
void drv_copy_from_volatile(void *to, const volatile void *from,
			    size_t size);

/*
 * Both drivers serialize an object as a header of `header_size` bytes and
 * one descriptor object. Serialize(): stores those needs in the non-null
 * `*num_bytes` and `*num_handles`; true if the capacities given on input
 * (and the buffers) hold them.
 */
bool drv_serialized_fits(size_t header_size, volatile void *data,
			 size_t *num_bytes, IpczDriverHandle *handles,
			 size_t *num_handles);

/*
 * Deserialize()'s first step: checks that there is exactly a header of
 * `header_size` bytes and one driver handle, with somewhere to put the
 * result, and copies the header out of `data` into `header`.
 */
bool drv_serialized_read_header(const volatile void *data, size_t num_bytes,
				const IpczDriverHandle *driver_handles,
				size_t num_driver_handles,
				const IpczDriverHandle *handle, void *header,
				size_t header_size);

/* GenerateRandomBytes(): getrandom(), the same for every driver. */
IpczResult IPCZ_API drv_generate_random_bytes(size_t num_bytes,
					      uint32_t flags,
					      const void *options,
					      void *buffer);

/*
 * Defines `static const struct IpczDriver name`. IpczDriver functions get
 * no context argument, so each driver needs functions of its own that
 * name its backend: this macro writes those one-line forwarders, once for
 * both drivers, instead of each driver spelling them out.
 */
#define DRV_DEFINE_IPCZ_DRIVER(name, backend, serialize, deserialize)	\
static IpczResult IPCZ_API name##_close(IpczDriverHandle handle,	\
					uint32_t flags,			\
					const void *options)		\
{									\
	return drv_table_close(&(backend), handle);			\
}									\
static IpczResult IPCZ_API name##_create_transports(			\
	IpczDriverHandle transport0, IpczDriverHandle transport1,	\
	uint32_t flags, const void *options,				\
	IpczDriverHandle *new_transport0,				\
	IpczDriverHandle *new_transport1)				\
{									\
	return drv_table_create_transports(&(backend), new_transport0,	\
					   new_transport1);		\
}									\
static IpczResult IPCZ_API name##_activate_transport(			\
	IpczDriverHandle transport, IpczHandle listener,		\
	IpczTransportActivityHandler handler, uint32_t flags,		\
	const void *options)						\
{									\
	return drv_table_activate_transport(&(backend), transport,	\
					    listener, handler);		\
}									\
static IpczResult IPCZ_API name##_deactivate_transport(		\
	IpczDriverHandle transport, uint32_t flags, const void *options) \
{									\
	return drv_table_deactivate_transport(&(backend), transport);	\
}									\
static IpczResult IPCZ_API name##_transmit(				\
	IpczDriverHandle transport, const void *data, size_t num_bytes,	\
	const IpczDriverHandle *handles, size_t num_handles,		\
	uint32_t flags, const void *options)				\
{									\
	return drv_table_transmit(&(backend), transport, data,		\
				  num_bytes, handles, num_handles);	\
}									\
static IpczResult IPCZ_API name##_report_bad_transport_activity(	\
	IpczDriverHandle transport, uintptr_t context, uint32_t flags,	\
	const void *options)						\
{									\
	return drv_table_report_bad_transport(&(backend), transport);	\
}									\
static IpczResult IPCZ_API name##_allocate_shared_memory(		\
	size_t num_bytes, uint32_t flags, const void *options,		\
	IpczDriverHandle *memory)					\
{									\
	return drv_table_allocate_shared_memory(&(backend), num_bytes,	\
						memory);		\
}									\
static IpczResult IPCZ_API name##_get_shared_memory_info(		\
	IpczDriverHandle memory, uint32_t flags, const void *options,	\
	struct IpczSharedMemoryInfo *info)				\
{									\
	return drv_table_get_shared_memory_info(&(backend), memory,	\
						info);			\
}									\
static IpczResult IPCZ_API name##_duplicate_shared_memory(		\
	IpczDriverHandle memory, uint32_t flags, const void *options,	\
	IpczDriverHandle *new_memory)					\
{									\
	return drv_table_duplicate_shared_memory(&(backend), memory,	\
						 flags, new_memory);	\
}									\
static IpczResult IPCZ_API name##_map_shared_memory(			\
	IpczDriverHandle memory, uint32_t flags, const void *options,	\
	volatile void **address, IpczDriverHandle *mapping)		\
{									\
	return drv_table_map_shared_memory(&(backend), memory, address,	\
					   mapping);			\
}									\
static const struct IpczDriver name = {					\
	.size = sizeof(struct IpczDriver),				\
	.Close = name##_close,						\
	.Serialize = serialize,						\
	.Deserialize = deserialize,					\
	.CreateTransports = name##_create_transports,			\
	.ActivateTransport = name##_activate_transport,			\
	.DeactivateTransport = name##_deactivate_transport,		\
	.Transmit = name##_transmit,					\
	.ReportBadTransportActivity =					\
		name##_report_bad_transport_activity,			\
	.AllocateSharedMemory = name##_allocate_shared_memory,		\
	.GetSharedMemoryInfo = name##_get_shared_memory_info,		\
	.DuplicateSharedMemory = name##_duplicate_shared_memory,	\
	.MapSharedMemory = name##_map_shared_memory,			\
	.GenerateRandomBytes = drv_generate_random_bytes,		\
}

#endif
