// SPDX-License-Identifier: MIT
#include "lib/parcel_wrapper.h"

#include <stdlib.h>
#include <string.h>

#include "lib/handle_table.h"
#include "lib/node_link.h"

IpczHandle parcel_wrapper_wrap(struct parcel *parcel)
{
	struct parcel_wrapper *wrapper = calloc(1, sizeof(*wrapper));

	if (!wrapper) {
		parcel_destroy(parcel);
		return IPCZ_INVALID_HANDLE;
	}
	api_object_init(&wrapper->object, API_OBJECT_PARCEL);
	wrapper->parcel = parcel;
	return handle_table_add(&wrapper->object);
}

/*
 * Every handle the application receives is its own reference: a parcel
 * handed out again (by a Get() or EndGet() on the parcel) gets a second
 * handle, and each must be closed, as with upstream's references.
 */
IpczHandle parcel_wrapper_new_handle(struct parcel_wrapper *wrapper)
{
	api_object_ref(&wrapper->object);
	return handle_table_add(&wrapper->object);
}

void parcel_wrapper_destroy(struct parcel_wrapper *wrapper)
{
	parcel_destroy(wrapper->parcel);
	free(wrapper);
}

bool parcel_wrapper_can_send_from(struct parcel_wrapper *wrapper,
				  struct router *sender)
{
	struct api_object **objects;
	bool ok = true;
	uint32_t i;

	ipcz_lock(&wrapper->lock);
	objects = parcel_objects(wrapper->parcel);
	for (i = 0; ok && i < wrapper->parcel->num_objects; i++)
		ok = api_object_can_send_from(objects[i], sender);
	ipcz_unlock(&wrapper->lock);
	return ok;
}

IpczResult parcel_wrapper_get(struct parcel_wrapper *wrapper,
			      IpczGetFlags flags, void *data,
			      size_t *num_bytes, IpczHandle *handles,
			      size_t *num_handles, IpczHandle *parcel_out)
{
	const bool partial = (flags & IPCZ_GET_PARTIAL) != 0;
	const size_t data_capacity = num_bytes ? *num_bytes : 0;
	const size_t handle_capacity = num_handles ? *num_handles : 0;
	struct parcel *parcel = wrapper->parcel;
	size_t data_size, handle_count;

	ipcz_lock(&wrapper->lock);
	if (wrapper->in_get) {
		ipcz_unlock(&wrapper->lock);
		return IPCZ_RESULT_ALREADY_EXISTS;
	}
	if ((data_capacity && !data) || (handle_capacity && !handles)) {
		ipcz_unlock(&wrapper->lock);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	data_size = parcel->data_size;
	handle_count = parcel->num_objects;
	if (partial) {
		if (data_size > data_capacity)
			data_size = data_capacity;
		if (handle_count > handle_capacity)
			handle_count = handle_capacity;
	}
	if (num_bytes)
		*num_bytes = data_size;
	if (num_handles)
		*num_handles = handle_count;
	if (!partial &&
	    (data_size > data_capacity || handle_count > handle_capacity)) {
		ipcz_unlock(&wrapper->lock);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	if (data_size)
		memcpy(data, parcel->data, data_size);
	parcel_consume_handles(parcel, handles, handle_count);
	ipcz_unlock(&wrapper->lock);
	if (parcel_out)
		*parcel_out = parcel_wrapper_new_handle(wrapper);
	return IPCZ_RESULT_OK;
}

IpczResult parcel_wrapper_begin_get(struct parcel_wrapper *wrapper,
				    IpczBeginGetFlags flags,
				    const volatile void **data,
				    size_t *num_bytes, IpczHandle *handles,
				    size_t *num_handles,
				    IpczTransaction *transaction)
{
	const size_t handle_capacity = num_handles ? *num_handles : 0;
	struct parcel *parcel = wrapper->parcel;
	size_t handle_count;

	if (flags & IPCZ_BEGIN_GET_OVERLAPPED)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (handle_capacity && !handles)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	ipcz_lock(&wrapper->lock);
	if (wrapper->in_get) {
		ipcz_unlock(&wrapper->lock);
		return IPCZ_RESULT_ALREADY_EXISTS;
	}
	if (data)
		*data = parcel->data_size ? parcel->data : NULL;
	if (num_bytes)
		*num_bytes = parcel->data_size;
	handle_count = parcel->num_objects;
	if (handle_count > handle_capacity) {
		if (!(flags & IPCZ_BEGIN_GET_PARTIAL)) {
			if (num_handles)
				*num_handles = handle_count;
			ipcz_unlock(&wrapper->lock);
			return IPCZ_RESULT_RESOURCE_EXHAUSTED;
		}
		handle_count = handle_capacity;
	}
	if (num_handles)
		*num_handles = handle_count;
	parcel_consume_handles(parcel, handles, handle_count);
	wrapper->in_get = true;
	*transaction = (IpczTransaction)(uintptr_t)parcel;
	ipcz_unlock(&wrapper->lock);
	return IPCZ_RESULT_OK;
}

IpczResult parcel_wrapper_end_get(struct parcel_wrapper *wrapper,
				  IpczTransaction transaction,
				  IpczEndGetFlags flags, IpczHandle *parcel_out)
{
	ipcz_lock(&wrapper->lock);
	if (!wrapper->in_get ||
	    transaction != (IpczTransaction)(uintptr_t)wrapper->parcel) {
		ipcz_unlock(&wrapper->lock);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	wrapper->in_get = false;
	ipcz_unlock(&wrapper->lock);
	if (parcel_out)
		*parcel_out = parcel_wrapper_new_handle(wrapper);
	return IPCZ_RESULT_OK;
}

IpczResult parcel_wrapper_reject(struct parcel_wrapper *wrapper,
				 uintptr_t context)
{
	/*
	 * Only a parcel that came from another node can be blamed on the
	 * transport it came over.
	 */
	if (!wrapper->parcel->source)
		return IPCZ_RESULT_FAILED_PRECONDITION;
	return node_link_report_bad_activity(wrapper->parcel->source, context);
}
