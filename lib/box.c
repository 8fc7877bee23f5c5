// SPDX-License-Identifier: MIT
#include "lib/box.h"

#include <stdlib.h>

#include "lib/driver.h"
#include "lib/handle_table.h"
#include "lib/node.h"
#include "lib/parcel_wrapper.h"

IpczResult box_create(struct node *node, const struct IpczBoxContents *contents,
		      struct box **out)
{
	struct box *box;

	switch (contents->type) {
	case IPCZ_BOX_TYPE_DRIVER_OBJECT:
		if (contents->object.driver_object == IPCZ_INVALID_DRIVER_HANDLE)
			return IPCZ_RESULT_INVALID_ARGUMENT;
		break;
	case IPCZ_BOX_TYPE_APPLICATION_OBJECT:
		break;
	default:
		/*
		 * As upstream: subparcel boxes are made only by ipcz (for an
		 * application object that crossed nodes), and no other type
		 * exists.
		 */
		return IPCZ_RESULT_UNIMPLEMENTED;
	}
	box = calloc(1, sizeof(*box));
	if (!box)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	api_object_init(&box->object, API_OBJECT_BOX);
	box->type = contents->type;
	if (contents->type == IPCZ_BOX_TYPE_DRIVER_OBJECT) {
		node_ref(node);
		box->u.driver_object.node = node;
		box->u.driver_object.handle = contents->object.driver_object;
	} else {
		box->u.application_object.value =
			contents->object.application_object;
		box->u.application_object.serializer = contents->serializer;
		box->u.application_object.destructor = contents->destructor;
	}
	*out = box;
	return IPCZ_RESULT_OK;
}

struct box *box_wrap_subparcel(struct parcel_wrapper *wrapper)
{
	struct box *box = calloc(1, sizeof(*box));

	if (!box) {
		api_object_unref(&wrapper->object);
		return NULL;
	}
	api_object_init(&box->object, API_OBJECT_BOX);
	box->type = IPCZ_BOX_TYPE_SUBPARCEL;
	box->u.subparcel.wrapper = wrapper;
	return box;
}

/* Forgets a handle given out by a peek, if it still names our parcel. */
static void retire_peek_handle(struct parcel_wrapper *wrapper,
			       IpczHandle peek_handle)
{
	struct api_object *object;

	if (peek_handle == IPCZ_INVALID_HANDLE)
		return;
	object = handle_table_get(peek_handle, API_OBJECT_PARCEL);
	if (object == &wrapper->object) {
		struct api_object *taken =
			handle_table_take(peek_handle, API_OBJECT_PARCEL);

		if (taken)
			api_object_unref(taken);
	}
	if (object)
		api_object_unref(object);
}

/*
 * Releases what a box held, from a copy taken under its lock: a driver
 * Close() or an application destructor may call back into ipcz.
 */
static void release_contents(const struct box *copy)
{
	switch (copy->type) {
	case IPCZ_BOX_TYPE_DRIVER_OBJECT:
		driver_close_object(&copy->u.driver_object.node->driver,
				    copy->u.driver_object.handle);
		node_unref(copy->u.driver_object.node);
		break;
	case IPCZ_BOX_TYPE_APPLICATION_OBJECT:
		if (copy->u.application_object.destructor)
			copy->u.application_object.destructor(
				copy->u.application_object.value,
				IPCZ_NO_FLAGS, NULL);
		break;
	default:
		retire_peek_handle(copy->u.subparcel.wrapper,
				   copy->u.subparcel.peek_handle);
		api_object_unref(&copy->u.subparcel.wrapper->object);
		break;
	}
}

void box_destroy(struct box *box)
{
	if (!box->empty)
		release_contents(box);
	free(box);
}

IpczResult box_close(struct box *box)
{
	struct box copy = { .empty = true };
	bool had_contents;

	ipcz_lock(&box->lock);
	had_contents = !box->empty;
	box->empty = true;
	copy.type = box->type;
	copy.u = box->u;
	ipcz_unlock(&box->lock);
	if (had_contents)
		release_contents(&copy);
	return IPCZ_RESULT_OK;
}

bool box_can_send_from(struct box *box, struct router *sender)
{
	bool ok;

	ipcz_lock(&box->lock);
	if (box->empty)
		ok = false;
	else if (box->type == IPCZ_BOX_TYPE_DRIVER_OBJECT)
		ok = driver_object_is_serializable(
			&box->u.driver_object.node->driver,
			box->u.driver_object.handle);
	else if (box->type == IPCZ_BOX_TYPE_APPLICATION_OBJECT)
		ok = true;
	else
		ok = parcel_wrapper_can_send_from(box->u.subparcel.wrapper,
						  sender);
	ipcz_unlock(&box->lock);
	return ok;
}

/* A handle for the boxed parcel; a peek's handle is reused. */
static IpczHandle subparcel_handle(struct box *box, bool peek)
{
	struct api_object *wrapper = &box->u.subparcel.wrapper->object;
	IpczHandle handle = box->u.subparcel.peek_handle;
	struct api_object *named = NULL;

	if (handle != IPCZ_INVALID_HANDLE)
		named = handle_table_get(handle, API_OBJECT_PARCEL);
	if (named)
		api_object_unref(named);
	if (named != wrapper) {
		api_object_ref(wrapper);
		handle = handle_table_add(wrapper);
	}
	if (peek) {
		box->u.subparcel.peek_handle = handle;
	} else {
		/* The box's reference goes with the handle. */
		box->u.subparcel.peek_handle = IPCZ_INVALID_HANDLE;
		api_object_unref(wrapper);
	}
	return handle;
}

IpczResult box_extract(struct box *box, bool peek,
		       struct IpczBoxContents *contents)
{
	ipcz_lock(&box->lock);
	if (box->empty) {
		ipcz_unlock(&box->lock);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	contents->type = box->type;
	switch (box->type) {
	case IPCZ_BOX_TYPE_DRIVER_OBJECT:
		contents->object.driver_object = box->u.driver_object.handle;
		if (!peek)
			node_unref(box->u.driver_object.node);
		break;
	case IPCZ_BOX_TYPE_APPLICATION_OBJECT:
		contents->object.application_object =
			box->u.application_object.value;
		contents->serializer = box->u.application_object.serializer;
		contents->destructor = box->u.application_object.destructor;
		break;
	default:
		contents->object.subparcel = subparcel_handle(box, peek);
		break;
	}
	if (!peek)
		box->empty = true;
	ipcz_unlock(&box->lock);
	return IPCZ_RESULT_OK;
}

bool box_take_contents(struct box *box, IpczBoxType *type,
		       union box_contents *contents)
{
	bool had_contents;

	ipcz_lock(&box->lock);
	had_contents = !box->empty;
	box->empty = true;
	*type = box->type;
	*contents = box->u;
	ipcz_unlock(&box->lock);
	if (had_contents && *type == IPCZ_BOX_TYPE_SUBPARCEL) {
		/* A peeked handle must not outlive the box's ownership. */
		retire_peek_handle(contents->subparcel.wrapper,
				   contents->subparcel.peek_handle);
		contents->subparcel.peek_handle = IPCZ_INVALID_HANDLE;
	}
	return had_contents;
}

struct box *box_create_empty(void)
{
	struct box *box = calloc(1, sizeof(*box));

	if (box) {
		api_object_init(&box->object, API_OBJECT_BOX);
		box->empty = true;
	}
	return box;
}

struct box *box_wrap_driver_object(struct node *node, IpczDriverHandle handle)
{
	struct box *box = calloc(1, sizeof(*box));

	if (!box) {
		driver_close_object(&node->driver, handle);
		return NULL;
	}
	api_object_init(&box->object, API_OBJECT_BOX);
	box->type = IPCZ_BOX_TYPE_DRIVER_OBJECT;
	node_ref(node);
	box->u.driver_object.node = node;
	box->u.driver_object.handle = handle;
	return box;
}
