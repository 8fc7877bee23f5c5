/* SPDX-License-Identifier: MIT */
/*
 * A box wraps something that is not an ipcz object so that it can travel
 * in parcels: a driver object (closed through the driver), an application
 * object (with its serializer and destructor) or a subparcel (a parcel
 * handle). Within a node a box travels by reference.
 */
#ifndef IPCZ_LIB_BOX_H
#define IPCZ_LIB_BOX_H

#include <stdbool.h>

#include "lib/api_object.h"
#include "lib/lock.h"

struct node;
struct parcel_wrapper;

struct box {
	struct api_object object;
	struct ipcz_lock lock;
	IpczBoxType type;
	bool empty;		/* the contents were taken or released */
	union box_contents {
		struct {
			struct node *node;	/* whose driver owns it */
			IpczDriverHandle handle;
		} driver_object;
		struct {
			uintptr_t value;
			IpczApplicationObjectSerializer serializer;
			IpczApplicationObjectDestructor destructor;
		} application_object;
		struct {
			struct parcel_wrapper *wrapper;
			IpczHandle peek_handle;	/* handed out by a peek */
		} subparcel;
	} u;
};

/*
 * Boxes a driver or application object for `node`, as Box() does:
 * INVALID_ARGUMENT for a missing driver object, UNIMPLEMENTED for the
 * types only ipcz itself boxes (subparcels) and unknown types.
 */
IpczResult box_create(struct node *node, const struct IpczBoxContents *contents,
		      struct box **out);

/*
 * Boxes a parcel as a subparcel, adopting the caller's reference to it:
 * what an application object that crossed nodes becomes. NULL without
 * memory (the parcel is then released).
 */
struct box *box_wrap_subparcel(struct parcel_wrapper *wrapper);

void box_destroy(struct box *box);

/* Releases the contents (driver Close(), the application's destructor). */
IpczResult box_close(struct box *box);

bool box_can_send_from(struct box *box, struct router *sender);

/*
 * Describes the contents in `contents`; unless `peek`, they now belong to
 * the caller and the box is empty.
 */
IpczResult box_extract(struct box *box, bool peek,
		       struct IpczBoxContents *contents);

/*
 * Takes everything out of the box for sending to another node; the caller
 * now owns what it holds (the node reference of a driver object, the
 * parcel reference of a subparcel). False if the box was empty.
 */
bool box_take_contents(struct box *box, IpczBoxType *type,
		       union box_contents *contents);

/* An empty box: what arrives in place of contents that could not travel. */
struct box *box_create_empty(void);

/* Boxes a driver object that arrived from another node. */
struct box *box_wrap_driver_object(struct node *node, IpczDriverHandle handle);

#endif
