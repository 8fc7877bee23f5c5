// SPDX-License-Identifier: MIT
/*
 * Dispatch on the type of an API object. The set of types is closed, so a
 * switch is clearer than a table of function pointers per object.
 */
#include "lib/api_object.h"

#include "lib/box.h"
#include "lib/node.h"
#include "lib/node_link.h"
#include "lib/parcel_wrapper.h"
#include "lib/router.h"

void api_object_unref(struct api_object *object)
{
	if (atomic_fetch_sub_explicit(&object->refs, 1,
				      memory_order_acq_rel) != 1)
		return;
	switch (object->type) {
	case API_OBJECT_NODE:
		node_destroy((struct node *)object);
		break;
	case API_OBJECT_PORTAL:
		router_destroy((struct router *)object);
		break;
	case API_OBJECT_BOX:
		box_destroy((struct box *)object);
		break;
	case API_OBJECT_PARCEL:
		parcel_wrapper_destroy((struct parcel_wrapper *)object);
		break;
	case API_OBJECT_TRANSPORT_LISTENER:
		node_link_destroy((struct node_link *)object);
		break;
	default:
		break;
	}
}

IpczResult api_object_close(struct api_object *object)
{
	switch (object->type) {
	case API_OBJECT_NODE:
		return node_close((struct node *)object);
	case API_OBJECT_PORTAL:
		return router_close((struct router *)object);
	case API_OBJECT_BOX:
		return box_close((struct box *)object);
	default:
		/* A parcel is simply released with its last reference. */
		return IPCZ_RESULT_OK;
	}
}

bool api_object_can_send_from(struct api_object *object, struct router *sender)
{
	switch (object->type) {
	case API_OBJECT_PORTAL:
		return router_can_send_from((struct router *)object, sender);
	case API_OBJECT_BOX:
		return box_can_send_from((struct box *)object, sender);
	default:
		/* Nodes and bare parcels cannot travel; box a parcel to send it. */
		return false;
	}
}
