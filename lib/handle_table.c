// SPDX-License-Identifier: MIT
/*
 * Slots live in fixed-size chunks that never move once allocated, so that
 * growing the table only reallocates the small chunk directory. Free slots
 * form a LIFO list threaded through the slots themselves.
 */
#include "lib/handle_table.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/lock.h"

#define CHUNK_SHIFT 10
#define CHUNK_SIZE (1u << CHUNK_SHIFT)
#define NO_SLOT UINT32_MAX
#define MAX_SLOTS (UINT32_MAX - 1)

struct slot {
	struct api_object *object;	/* NULL while free */
	uint32_t generation;		/* never zero */
	uint32_t next_free;
};

static struct {
	struct ipcz_lock lock;
	struct slot **chunks;
	uint32_t num_chunks;
	uint32_t num_slots;	/* slots ever handed out */
	uint32_t free_head;
	size_t live;
} table = { .lock = IPCZ_LOCK_INIT, .free_head = NO_SLOT };

static struct slot *slot_at(uint32_t index)
{
	return &table.chunks[index >> CHUNK_SHIFT][index & (CHUNK_SIZE - 1)];
}

static IpczHandle make_handle(uint32_t index, uint32_t generation)
{
	return ((uint64_t)generation << 32) | ((uint64_t)index + 1);
}

static int grow_locked(void)
{
	struct slot **chunks;
	struct slot *chunk;

	if (table.num_slots >= MAX_SLOTS - CHUNK_SIZE)
		return -1;
	chunk = calloc(CHUNK_SIZE, sizeof(*chunk));
	if (!chunk)
		return -1;
	chunks = realloc(table.chunks,
			 (table.num_chunks + 1) * sizeof(*chunks));
	if (!chunks) {
		free(chunk);
		return -1;
	}
	chunks[table.num_chunks++] = chunk;
	table.chunks = chunks;
	return 0;
}

IpczHandle handle_table_add(struct api_object *object)
{
	struct slot *slot;
	uint32_t index;
	IpczHandle handle;

	ipcz_lock(&table.lock);
	if (table.free_head != NO_SLOT) {
		index = table.free_head;
		slot = slot_at(index);
		table.free_head = slot->next_free;
	} else {
		if (table.num_slots == table.num_chunks * CHUNK_SIZE &&
		    grow_locked() < 0) {
			ipcz_unlock(&table.lock);
			api_object_unref(object);
			return IPCZ_INVALID_HANDLE;
		}
		index = table.num_slots++;
		slot = slot_at(index);
		slot->generation = 1;
	}
	slot->object = object;
	table.live++;
	handle = make_handle(index, slot->generation);
	ipcz_unlock(&table.lock);
	return handle;
}

/* Finds the live slot named by `handle` with the right type; lock held. */
static struct slot *find_locked(IpczHandle handle, uint32_t type)
{
	uint64_t value = handle;
	uint32_t low = (uint32_t)value;
	uint32_t generation = (uint32_t)(value >> 32);
	struct slot *slot;

	if (low == 0 || low - 1 >= table.num_slots)
		return NULL;
	slot = slot_at(low - 1);
	if (slot->generation != generation || !slot->object)
		return NULL;
	if (type != API_OBJECT_ANY && slot->object->type != type)
		return NULL;
	return slot;
}

/* Puts a slot back on the free list under a new generation. */
static void free_slot_locked(struct slot *slot, IpczHandle handle)
{
	slot->object = NULL;
	if (++slot->generation == 0)
		slot->generation = 1;
	slot->next_free = table.free_head;
	table.free_head = (uint32_t)(((uint64_t)handle & 0xffffffffu) - 1);
	table.live--;
}

/*
 * Get and take differ only in what they leave behind: a reference for the
 * caller, or a free slot whose reference passes to the caller.
 */
static struct api_object *look_up(IpczHandle handle, uint32_t type,
				  bool take)
{
	struct api_object *object = NULL;
	struct slot *slot;

	ipcz_lock(&table.lock);
	slot = find_locked(handle, type);
	if (slot) {
		object = slot->object;
		if (take)
			free_slot_locked(slot, handle);
		else
			api_object_ref(object);
	}
	ipcz_unlock(&table.lock);
	return object;
}

struct api_object *handle_table_get(IpczHandle handle, uint32_t type)
{
	return look_up(handle, type, false);
}

struct api_object *handle_table_take(IpczHandle handle, uint32_t type)
{
	return look_up(handle, type, true);
}

size_t handle_table_count(void)
{
	size_t live;

	ipcz_lock(&table.lock);
	live = table.live;
	ipcz_unlock(&table.lock);
	return live;
}
