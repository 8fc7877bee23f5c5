// SPDX-License-Identifier: MIT
#include "lib/parcel.h"

#include <stdlib.h>
#include <string.h>

#include "lib/handle_table.h"
#include "lib/node_link.h"

struct parcel *parcel_create(size_t capacity)
{
	struct parcel *parcel = parcel_create_for_copy(capacity);

	if (parcel)
		memset(parcel->data, 0, capacity);
	return parcel;
}

struct parcel *parcel_create_for_copy(size_t capacity)
{
	struct parcel *parcel;

	if (capacity > SIZE_MAX - sizeof(*parcel))
		return NULL;
	parcel = malloc(sizeof(*parcel) + capacity);
	if (!parcel)
		return NULL;
	memset(parcel, 0, sizeof(*parcel));
	parcel->capacity = capacity;
	parcel->data = parcel->inline_data;
	return parcel;
}

void parcel_destroy(struct parcel *parcel)
{
	struct api_object **objects;
	uint32_t i;

	if (!parcel)
		return;
	objects = parcel_objects(parcel);
	for (i = 0; i < parcel->num_objects; i++) {
		api_object_close(objects[i]);
		api_object_unref(objects[i]);
	}
	free(parcel->objects);
	if (parcel->source)
		node_link_unref(parcel->source);
	free(parcel);
}

void parcel_drop(void *parcel)
{
	parcel_destroy(parcel);
}

void parcel_commit(struct parcel *parcel, size_t num_bytes)
{
	parcel->data_size = num_bytes <= parcel->capacity ? num_bytes :
							    parcel->capacity;
}

void parcel_set_objects(struct parcel *parcel, struct api_object **objects,
			uint32_t count)
{
	parcel->objects = objects;
	parcel->num_objects = count;
	parcel->first_object = 0;
}

void parcel_release_objects(struct parcel *parcel)
{
	struct api_object **objects = parcel_objects(parcel);
	uint32_t i;

	for (i = 0; i < parcel->num_objects; i++)
		api_object_unref(objects[i]);
	free(parcel->objects);
	parcel->objects = NULL;
	parcel->num_objects = 0;
	parcel->first_object = 0;
}

void parcel_consume_handles(struct parcel *parcel, IpczHandle *out,
			    size_t count)
{
	struct api_object **objects = parcel_objects(parcel);
	size_t i;

	if (count > parcel->num_objects)
		count = parcel->num_objects;
	for (i = 0; i < count; i++)
		out[i] = handle_table_add(objects[i]);
	parcel->first_object += (uint32_t)count;
	parcel->num_objects -= (uint32_t)count;
}
