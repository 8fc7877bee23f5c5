/* SPDX-License-Identifier: MIT */
/*
 * The common header of every object an IpczHandle can name: nodes, portals
 * (terminal routers), boxes and parcels. Objects are reference counted; the
 * handle table owns one reference per live handle.
 */
#ifndef IPCZ_LIB_API_OBJECT_H
#define IPCZ_LIB_API_OBJECT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ipcz/ipcz.h"

enum api_object_type {
	API_OBJECT_ANY = 0,
	API_OBJECT_NODE,
	API_OBJECT_PORTAL,
	API_OBJECT_BOX,
	API_OBJECT_PARCEL,
	API_OBJECT_TRANSPORT_LISTENER,	/* a node link, known to its driver */
};

struct api_object {
	_Atomic uint32_t refs;
	uint32_t type;
};

struct router;

static inline void api_object_init(struct api_object *object, uint32_t type)
{
	atomic_init(&object->refs, 1);
	object->type = type;
}

static inline void api_object_ref(struct api_object *object)
{
	atomic_fetch_add_explicit(&object->refs, 1, memory_order_relaxed);
}

/* Drops a reference, destroying the object with the last one. */
void api_object_unref(struct api_object *object);

/*
 * What Close() does to the object behind a handle: a portal closes its
 * route, a box releases its contents, a node shuts down.
 */
IpczResult api_object_close(struct api_object *object);

/* Whether `object` may travel in a parcel put into `sender`. */
bool api_object_can_send_from(struct api_object *object, struct router *sender);

#endif
