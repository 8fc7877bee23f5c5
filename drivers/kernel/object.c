// SPDX-License-Identifier: MIT
/*
 * The kernel driver's handle table. Slots live in one array that grows by
 * doubling; freed slots are reused from a free list. A handle packs the
 * slot index (plus one, so that no handle is zero) in the low 32 bits and
 * the slot's generation, bumped on every retirement, in the high ones.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "drivers/kernel/object.h"

struct slot {
	struct kdrv_object *object;
	uint32_t generation;
	uint32_t next_free;	/* index + 1 of the next free slot, or 0 */
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot *slots;
static uint32_t slot_count;
static uint32_t first_free;	/* index + 1, or 0 when none is free */

void kdrv_object_init(struct kdrv_object *object, enum kdrv_type type,
		      void (*destroy)(struct kdrv_object *object))
{
	atomic_init(&object->refs, 1);
	object->type = type;
	object->destroy = destroy;
}

void kdrv_object_ref(struct kdrv_object *object)
{
	atomic_fetch_add_explicit(&object->refs, 1, memory_order_relaxed);
}

void kdrv_object_unref(struct kdrv_object *object)
{
	if (atomic_fetch_sub_explicit(&object->refs, 1,
				      memory_order_acq_rel) == 1)
		object->destroy(object);
}

static bool grow_table(void)
{
	uint32_t count = slot_count ? slot_count * 2 : 64;
	struct slot *grown;

	if (count > UINT32_MAX / 2)
		return false;
	grown = realloc(slots, count * sizeof(*grown));
	if (!grown)
		return false;
	for (uint32_t i = slot_count; i < count; i++) {
		grown[i].object = NULL;
		grown[i].generation = 1;
		grown[i].next_free = i + 1 < count ? i + 2 : first_free;
	}
	first_free = slot_count + 1;
	slots = grown;
	slot_count = count;
	return true;
}

IpczResult kdrv_handle_add(struct kdrv_object *object,
			   IpczDriverHandle *handle)
{
	uint32_t index;

	pthread_mutex_lock(&table_lock);
	if (!first_free && !grow_table()) {
		pthread_mutex_unlock(&table_lock);
		kdrv_object_unref(object);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	index = first_free - 1;
	first_free = slots[index].next_free;
	slots[index].object = object;
	*handle = (IpczDriverHandle)(((uint64_t)slots[index].generation << 32) |
				     (index + 1));
	pthread_mutex_unlock(&table_lock);
	return IPCZ_RESULT_OK;
}

/* The slot named by `handle` if it is live and of `type`; lock held. */
static struct slot *find_slot(IpczDriverHandle handle, enum kdrv_type type)
{
	uint64_t value = (uint64_t)handle;
	uint32_t index = (uint32_t)value;
	struct slot *slot;

	if (!index || index > slot_count)
		return NULL;
	slot = &slots[index - 1];
	if (!slot->object || slot->generation != (uint32_t)(value >> 32))
		return NULL;
	if (type != KDRV_ANY && slot->object->type != type)
		return NULL;
	return slot;
}

struct kdrv_object *kdrv_handle_get(IpczDriverHandle handle,
				    enum kdrv_type type)
{
	struct kdrv_object *object = NULL;
	struct slot *slot;

	pthread_mutex_lock(&table_lock);
	slot = find_slot(handle, type);
	if (slot) {
		object = slot->object;
		kdrv_object_ref(object);
	}
	pthread_mutex_unlock(&table_lock);
	return object;
}

struct kdrv_object *kdrv_handle_take(IpczDriverHandle handle,
				     enum kdrv_type type)
{
	struct kdrv_object *object = NULL;
	struct slot *slot;

	pthread_mutex_lock(&table_lock);
	slot = find_slot(handle, type);
	if (slot) {
		object = slot->object;
		slot->object = NULL;
		/* Generation 0 is never issued, so skip it on wrap. */
		if (!++slot->generation)
			slot->generation = 1;
		slot->next_free = first_free;
		first_free = (uint32_t)(slot - slots) + 1;
	}
	pthread_mutex_unlock(&table_lock);
	return object;
}

bool kdrv_handle_is_live(IpczDriverHandle handle, enum kdrv_type type)
{
	bool live;

	pthread_mutex_lock(&table_lock);
	live = find_slot(handle, type) != NULL;
	pthread_mutex_unlock(&table_lock);
	return live;
}

void kdrv_handles_lock(void)
{
	pthread_mutex_lock(&table_lock);
}

void kdrv_handles_unlock(void)
{
	pthread_mutex_unlock(&table_lock);
}
