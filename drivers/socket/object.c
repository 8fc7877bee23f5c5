// SPDX-License-Identifier: MIT
/*
 * The socket driver's handle table: a growable array of slots, each with a
 * generation counter bumped whenever the slot is retired. A handle is
 * (generation << 32) | (index + 1), so zero is never a valid handle.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "drivers/socket/object.h"

struct slot {
	uint32_t generation;
	uint32_t next_free;	/* index + 1 of the next free slot, or 0 */
	struct sockdrv_object *object;
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot *slots;
static uint32_t slot_count;
static uint32_t slot_capacity;
static uint32_t first_free;	/* index + 1, or 0 when none is free */

void sockdrv_object_init(struct sockdrv_object *object, enum sockdrv_type type,
			 void (*destroy)(struct sockdrv_object *object))
{
	atomic_init(&object->refs, 1);
	object->type = type;
	object->destroy = destroy;
}

void sockdrv_object_ref(struct sockdrv_object *object)
{
	atomic_fetch_add_explicit(&object->refs, 1, memory_order_relaxed);
}

void sockdrv_object_unref(struct sockdrv_object *object)
{
	if (atomic_fetch_sub_explicit(&object->refs, 1,
				      memory_order_acq_rel) == 1)
		object->destroy(object);
}

static bool grow_table(void)
{
	uint32_t capacity = slot_capacity ? slot_capacity * 2 : 64;
	struct slot *bigger;

	if (capacity > UINT32_MAX / 2)
		return false;
	bigger = realloc(slots, capacity * sizeof(*slots));
	if (!bigger)
		return false;
	slots = bigger;
	slot_capacity = capacity;
	return true;
}

IpczResult sockdrv_handle_add(struct sockdrv_object *object,
			      IpczDriverHandle *handle)
{
	uint32_t index;
	struct slot *slot;

	pthread_mutex_lock(&table_lock);
	if (first_free) {
		index = first_free - 1;
		first_free = slots[index].next_free;
	} else {
		if (slot_count == slot_capacity && !grow_table()) {
			pthread_mutex_unlock(&table_lock);
			return IPCZ_RESULT_RESOURCE_EXHAUSTED;
		}
		index = slot_count++;
		slots[index].generation = 1;
	}
	slot = &slots[index];
	slot->object = object;
	slot->next_free = 0;
	*handle = ((IpczDriverHandle)slot->generation << 32) | (index + 1);
	pthread_mutex_unlock(&table_lock);
	return IPCZ_RESULT_OK;
}

/* The slot `handle` names if it is live and of `type`; table lock held. */
static struct slot *find_slot(IpczDriverHandle handle, enum sockdrv_type type)
{
	uint64_t index_plus_one = handle & 0xffffffffu;
	uint32_t generation = (uint32_t)((uint64_t)handle >> 32);
	struct slot *slot;

	if (!index_plus_one || index_plus_one > slot_count)
		return NULL;
	slot = &slots[index_plus_one - 1];
	if (!slot->object || slot->generation != generation)
		return NULL;
	if (type != SOCKDRV_ANY && slot->object->type != type)
		return NULL;
	return slot;
}

struct sockdrv_object *sockdrv_handle_get(IpczDriverHandle handle,
					  enum sockdrv_type type)
{
	struct sockdrv_object *object = NULL;
	struct slot *slot;

	pthread_mutex_lock(&table_lock);
	slot = find_slot(handle, type);
	if (slot) {
		object = slot->object;
		sockdrv_object_ref(object);
	}
	pthread_mutex_unlock(&table_lock);
	return object;
}

struct sockdrv_object *sockdrv_handle_take(IpczDriverHandle handle,
					   enum sockdrv_type type)
{
	struct sockdrv_object *object = NULL;
	struct slot *slot;

	pthread_mutex_lock(&table_lock);
	slot = find_slot(handle, type);
	if (slot) {
		object = slot->object;
		slot->object = NULL;
		slot->generation++;
		if (!slot->generation)
			slot->generation = 1;
		slot->next_free = first_free;
		first_free = (uint32_t)(slot - slots) + 1;
	}
	pthread_mutex_unlock(&table_lock);
	return object;
}

bool sockdrv_handle_is_live(IpczDriverHandle handle, enum sockdrv_type type)
{
	bool live;

	pthread_mutex_lock(&table_lock);
	live = find_slot(handle, type) != NULL;
	pthread_mutex_unlock(&table_lock);
	return live;
}

void sockdrv_handles_lock_for_fork(void)
{
	pthread_mutex_lock(&table_lock);
}

void sockdrv_handles_unlock_after_fork(void)
{
	pthread_mutex_unlock(&table_lock);
}
