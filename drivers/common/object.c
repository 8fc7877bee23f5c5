// SPDX-License-Identifier: MIT
/*
 * The handle table of drivers/common/object.h: a growable array of slots,
 * each with a generation counter bumped whenever the slot is retired. A
 * handle is (generation << 32) | (index + 1), so zero is never a valid
 * handle. Retired slots are reused first, from a free list.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/common/object.h"

struct drv_handle_slot {
	uint32_t generation;
	uint32_t next_free;	/* index + 1 of the next free slot, or 0 */
	struct drv_object *object;
};

void drv_object_init(struct drv_object *object, enum drv_type type,
		     void (*destroy)(struct drv_object *object))
{
	atomic_init(&object->refs, 1);
	object->type = type;
	object->destroy = destroy;
}

void drv_object_ref(struct drv_object *object)
{
	atomic_fetch_add_explicit(&object->refs, 1, memory_order_relaxed);
}

void drv_object_unref(struct drv_object *object)
{
	if (atomic_fetch_sub_explicit(&object->refs, 1,
				      memory_order_acq_rel) == 1)
		object->destroy(object);
}

static bool grow_table(struct drv_handle_table *table)
{
	uint32_t capacity = table->slot_capacity ?
				    table->slot_capacity * 2 : 64;
	struct drv_handle_slot *bigger;

	if (capacity > UINT32_MAX / 2)
		return false;
	bigger = realloc(table->slots, capacity * sizeof(*bigger));
	if (!bigger)
		return false;
	table->slots = bigger;
	table->slot_capacity = capacity;
	return true;
}

/* A slot for a new handle, or NULL when memory runs out; lock held. */
static struct drv_handle_slot *free_slot(struct drv_handle_table *table)
{
	struct drv_handle_slot *slot;

	if (table->first_free) {
		slot = &table->slots[table->first_free - 1];
		table->first_free = slot->next_free;
		return slot;
	}
	if (table->slot_count == table->slot_capacity && !grow_table(table))
		return NULL;
	slot = &table->slots[table->slot_count++];
	slot->generation = 1;
	return slot;
}

IpczResult drv_handle_add(struct drv_handle_table *table,
			  struct drv_object *object, IpczDriverHandle *handle)
{
	struct drv_handle_slot *slot;
	uint32_t index;

	pthread_mutex_lock(&table->lock);
	slot = free_slot(table);
	if (!slot) {
		pthread_mutex_unlock(&table->lock);
		drv_object_unref(object);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	index = (uint32_t)(slot - table->slots);
	slot->object = object;
	slot->next_free = 0;
	*handle = (IpczDriverHandle)(((uint64_t)slot->generation << 32) |
				     (index + 1));
	pthread_mutex_unlock(&table->lock);
	return IPCZ_RESULT_OK;
}

/* The slot named by `handle` if it is live and of `type`; lock held. */
static struct drv_handle_slot *find_slot(struct drv_handle_table *table,
					 IpczDriverHandle handle,
					 enum drv_type type)
{
	uint64_t value = (uint64_t)handle;
	uint32_t index_plus_one = (uint32_t)value;
	struct drv_handle_slot *slot;

	if (!index_plus_one || index_plus_one > table->slot_count)
		return NULL;
	slot = &table->slots[index_plus_one - 1];
	if (!slot->object || slot->generation != (uint32_t)(value >> 32))
		return NULL;
	if (type != DRV_ANY && slot->object->type != type)
		return NULL;
	return slot;
}

/* Retires `slot`'s handle and puts the slot on the free list; lock held. */
static void retire_slot(struct drv_handle_table *table,
			struct drv_handle_slot *slot)
{
	slot->object = NULL;
	/* Generation 0 is never issued, so skip it on wrap. */
	if (!++slot->generation)
		slot->generation = 1;
	slot->next_free = table->first_free;
	table->first_free = (uint32_t)(slot - table->slots) + 1;
}

/*
 * The object behind `handle` if it is of `type`: with a new reference for
 * the caller, or, if `take`, with the table's reference, the handle being
 * retired.
 */
static struct drv_object *look_up(struct drv_handle_table *table,
				  IpczDriverHandle handle, enum drv_type type,
				  bool take)
{
	struct drv_object *object = NULL;
	struct drv_handle_slot *slot;

	pthread_mutex_lock(&table->lock);
	slot = find_slot(table, handle, type);
	if (slot) {
		object = slot->object;
		if (take)
			retire_slot(table, slot);
		else
			drv_object_ref(object);
	}
	pthread_mutex_unlock(&table->lock);
	return object;
}

struct drv_object *drv_handle_get(struct drv_handle_table *table,
				  IpczDriverHandle handle, enum drv_type type)
{
	return look_up(table, handle, type, false);
}

struct drv_object *drv_handle_take(struct drv_handle_table *table,
				   IpczDriverHandle handle, enum drv_type type)
{
	return look_up(table, handle, type, true);
}

void drv_handles_release(struct drv_handle_table *table,
			 const IpczDriverHandle *handles, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct drv_object *object;

		object = drv_handle_take(table, handles[i], DRV_ANY);
		if (object)
			drv_object_unref(object);
	}
}

bool drv_handle_is_live(struct drv_handle_table *table,
			IpczDriverHandle handle, enum drv_type type)
{
	bool live;

	pthread_mutex_lock(&table->lock);
	live = find_slot(table, handle, type) != NULL;
	pthread_mutex_unlock(&table->lock);
	return live;
}

void drv_handles_lock(struct drv_handle_table *table)
{
	pthread_mutex_lock(&table->lock);
}

void drv_handles_unlock(struct drv_handle_table *table)
{
	pthread_mutex_unlock(&table->lock);
}

/* Up to this many handles a quadratic scan beats sorting a copy. */
#define SMALL_HANDLE_COUNT 16

static int compare_handles(const void *a, const void *b)
{
	IpczDriverHandle x = *(const IpczDriverHandle *)a;
	IpczDriverHandle y = *(const IpczDriverHandle *)b;

	return (x > y) - (x < y);
}

bool drv_handles_have_duplicates(const IpczDriverHandle *handles,
				 size_t count)
{
	IpczDriverHandle *sorted;
	bool found = false;

	if (count <= SMALL_HANDLE_COUNT) {
		for (size_t i = 0; i < count; i++) {
			for (size_t k = i + 1; k < count; k++) {
				if (handles[i] == handles[k])
					return true;
			}
		}
		return false;
	}
	sorted = malloc(count * sizeof(*sorted));
	if (!sorted)
		return true;	/* refuse rather than risk it */
	memcpy(sorted, handles, count * sizeof(*sorted));
	qsort(sorted, count, sizeof(*sorted), compare_handles);
	for (size_t i = 1; i < count && !found; i++)
		found = sorted[i] == sorted[i - 1];
	free(sorted);
	return found;
}

IpczResult drv_handles_take_descriptors(struct drv_handle_table *table,
					const IpczDriverHandle *handles,
					size_t count, int *fds,
					int (*take_fd)(IpczDriverHandle))
{
	for (size_t i = 0; i < count; i++) {
		if (!drv_handle_is_live(table, handles[i], DRV_DESCRIPTOR))
			return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	if (drv_handles_have_duplicates(handles, count))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	for (size_t i = 0; i < count; i++) {
		fds[i] = take_fd(handles[i]);
		if (fds[i] < 0) {
			/* Lost a race with another thread closing it. */
			while (i--)
				close(fds[i]);
			return IPCZ_RESULT_INVALID_ARGUMENT;
		}
	}
	return IPCZ_RESULT_OK;
}
