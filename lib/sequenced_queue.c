// SPDX-License-Identifier: MIT
/*
 * The queue is a ring indexed by offset from the current sequence number.
 * It grows by doubling when an element lands beyond its capacity, and gives
 * its storage back whenever it empties, so that an idle portal (the common
 * case among a million) holds no ring at all; the allocator's fast path
 * makes the churn cheap next to the parcel's own allocation.
 */
#include "lib/sequenced_queue.h"

#include <stdlib.h>
#include <string.h>

#define MIN_CAPACITY 4u

void seq_queue_init(struct sequenced_queue *q, uint64_t base)
{
	memset(q, 0, sizeof(*q));
	q->base = base;
	q->final_length = SEQ_NONE;
}

static struct seq_entry *entry_at(const struct sequenced_queue *q,
				  uint32_t offset)
{
	return &q->ring->entries[(q->ring->head + offset) &
				 (q->ring->capacity - 1)];
}

void seq_queue_destroy(struct sequenced_queue *q, void (*drop)(void *))
{
	uint32_t i;

	for (i = 0; i < q->extent; i++) {
		struct seq_entry *entry = entry_at(q, i);

		if (entry->element && drop)
			drop(entry->element);
	}
	free(q->ring);
	q->ring = NULL;
	q->avail = q->extent = 0;
	q->avail_bytes = 0;
}

static bool ensure_capacity(struct sequenced_queue *q, uint64_t needed)
{
	uint32_t old_capacity = q->ring ? q->ring->capacity : 0;
	uint32_t capacity = old_capacity ? old_capacity : MIN_CAPACITY;
	struct seq_ring *ring;
	uint32_t i;

	if (needed <= old_capacity)
		return true;
	while (capacity < needed)
		capacity *= 2;
	ring = calloc(1, sizeof(*ring) + capacity * sizeof(ring->entries[0]));
	if (!ring)
		return false;
	ring->capacity = capacity;
	for (i = 0; i < q->extent; i++)
		ring->entries[i] = *entry_at(q, i);
	free(q->ring);
	q->ring = ring;
	return true;
}

/* Extends the contiguous run over elements that are now adjacent to it. */
static void extend_run(struct sequenced_queue *q)
{
	while (q->avail < q->extent) {
		struct seq_entry *entry = entry_at(q, q->avail);

		if (!entry->element)
			break;
		q->avail++;
		q->avail_bytes += entry->size;
	}
}

bool seq_queue_push(struct sequenced_queue *q, uint64_t n, void *element,
		    size_t size)
{
	uint64_t gap;
	struct seq_entry *entry;

	if (!element || n < q->base)
		return false;
	if (q->final_length != SEQ_NONE && n >= q->final_length)
		return false;
	gap = n - q->base;
	if (gap > SEQ_MAX_GAP)
		return false;
	if (!ensure_capacity(q, gap + 1))
		return false;
	entry = entry_at(q, (uint32_t)gap);
	if (gap < q->extent && entry->element)
		return false;
	entry->element = element;
	entry->size = size;
	if (gap >= q->extent)
		q->extent = (uint32_t)gap + 1;
	if (gap == q->avail)
		extend_run(q);
	return true;
}

static void release_if_idle(struct sequenced_queue *q)
{
	if (q->extent == 0 && q->ring) {
		free(q->ring);
		q->ring = NULL;
	}
}

void *seq_queue_peek(const struct sequenced_queue *q)
{
	return q->avail ? entry_at(q, 0)->element : NULL;
}

void *seq_queue_pop(struct sequenced_queue *q)
{
	struct seq_entry *entry;
	void *element;

	if (!q->avail)
		return NULL;
	entry = entry_at(q, 0);
	element = entry->element;
	q->avail--;
	q->avail_bytes -= entry->size;
	entry->element = NULL;
	entry->size = 0;
	q->ring->head = (q->ring->head + 1) & (q->ring->capacity - 1);
	q->extent--;
	q->base++;
	release_if_idle(q);
	return element;
}

bool seq_queue_skip(struct sequenced_queue *q, uint64_t n)
{
	if (n != q->base || q->avail)
		return false;
	if (q->final_length != SEQ_NONE && n >= q->final_length)
		return false;
	if (q->extent) {
		/* The slot for `n` is empty; everything behind it shifts. */
		q->ring->head = (q->ring->head + 1) & (q->ring->capacity - 1);
		q->extent--;
	}
	q->base++;
	extend_run(q);
	return true;
}

bool seq_queue_set_final_length(struct sequenced_queue *q, uint64_t length)
{
	if (q->final_length != SEQ_NONE || length < q->base)
		return false;
	if (length - q->base < q->extent || length - q->base > SEQ_MAX_GAP)
		return false;
	q->final_length = length;
	return true;
}

void seq_queue_force_terminate(struct sequenced_queue *q, void (*drop)(void *))
{
	uint32_t i;

	for (i = q->avail; i < q->extent; i++) {
		struct seq_entry *entry = entry_at(q, i);

		if (entry->element && drop)
			drop(entry->element);
		entry->element = NULL;
		entry->size = 0;
	}
	q->extent = q->avail;
	q->final_length = seq_queue_length(q);
	release_if_idle(q);
}
