/* SPDX-License-Identifier: MIT */
/*
 * A parcel: one unit put into a portal, with its data bytes, attached
 * objects (portals, boxes, parcels) and its sequence number on the route.
 * Within a node, objects travel by reference; nothing is serialized.
 */
#ifndef IPCZ_LIB_PARCEL_H
#define IPCZ_LIB_PARCEL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/api_object.h"

struct parcel {
	uint64_t seq;
	size_t data_size;	/* committed bytes */
	size_t capacity;	/* bytes writable at `data` */
	uint8_t *data;
	struct api_object **objects;	/* references owned by the parcel */
	uint32_t num_objects;		/* remaining, from objects[first] */
	uint32_t first_object;
	/*
	 * The node link the parcel arrived on (a reference), or NULL if it was
	 * put on this node: Reject() reports only parcels from other nodes.
	 */
	struct node_link *source;
	uint8_t inline_data[];
};

/* A parcel with room for `capacity` bytes of data; NULL without memory. */
struct parcel *parcel_create(size_t capacity);

/*
 * The same with the data left unwritten, for a caller that fills all
 * `capacity` bytes before anyone reads them (Put()'s copy, a received
 * parcel): zeroing a large parcel costs as much as copying it. Never for
 * BeginPut(), whose caller may commit bytes it did not write.
 */
struct parcel *parcel_create_for_copy(size_t capacity);

/* Frees the parcel, closing every object still attached to it. */
void parcel_destroy(struct parcel *parcel);

/* The same, with the signature a sequenced queue's drop callback needs. */
void parcel_drop(void *parcel);

/* Sets the committed data length (at most the capacity). */
void parcel_commit(struct parcel *parcel, size_t num_bytes);

/* Attaches `count` objects, adopting one reference to each. */
void parcel_set_objects(struct parcel *parcel, struct api_object **objects,
			uint32_t count);

/* The objects not yet consumed. */
static inline struct api_object **parcel_objects(const struct parcel *parcel)
{
	return parcel->objects ? parcel->objects + parcel->first_object : NULL;
}

/*
 * Drops the parcel's references to its objects without closing them: they
 * travelled on (were encoded for another node).
 */
void parcel_release_objects(struct parcel *parcel);

/*
 * Moves the first `count` remaining objects out as new handles in `out`;
 * they no longer belong to the parcel.
 */
void parcel_consume_handles(struct parcel *parcel, IpczHandle *out,
			    size_t count);

#endif
