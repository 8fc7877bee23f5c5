// SPDX-License-Identifier: MIT
/*
 * Lock-free block allocator in shared memory; see block_allocator.h for the
 * layout and Documentation/shared-memory.rst for the reasoning.
 */
#include "lib/block_allocator.h"

#include <errno.h>
#include <string.h>

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
	       "64-bit atomics must be lock-free to work across processes");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2,
	       "32-bit atomics must be lock-free to work across processes");

static uint64_t make_head(uint32_t version, uint32_t first)
{
	return ((uint64_t)version << 32) | first;
}

static uint32_t head_version(uint64_t head)
{
	return (uint32_t)(head >> 32);
}

static uint32_t head_first(uint64_t head)
{
	return (uint32_t)head;
}

static _Atomic uint32_t *link_word(const struct block_allocator *ba,
				   uint32_t index)
{
	return (_Atomic uint32_t *)(ba->blocks +
				    (size_t)index * ba->block_size);
}

int block_allocator_init_view(struct block_allocator *ba, void *head,
			      void *blocks, uint32_t block_size,
			      uint32_t block_count)
{
	if (!ba || !head || !blocks)
		return -EINVAL;
	if ((uintptr_t)head % 8 || (uintptr_t)blocks % 8)
		return -EINVAL;
	if (block_size < BLOCK_ALLOCATOR_MIN_BLOCK_SIZE || block_size % 8)
		return -EINVAL;
	if (block_count == 0 || block_count > BLOCK_ALLOCATOR_MAX_BLOCKS)
		return -EINVAL;
	if ((uint64_t)block_size * block_count > SIZE_MAX / 2)
		return -EINVAL;
	ba->head = head;
	ba->blocks = blocks;
	ba->block_size = block_size;
	ba->block_count = block_count;
	return 0;
}

void block_allocator_format(const struct block_allocator *ba)
{
	uint32_t i;

	/*
	 * Relaxed stores suffice: the region is not shared yet. Whoever hands
	 * it to the peer does so through a driver message (a system call) or
	 * a release store, which orders these writes before the peer's use.
	 */
	for (i = 0; i < ba->block_count; i++)
		atomic_store_explicit(link_word(ba, i), 0,
				      memory_order_relaxed);
	atomic_store_explicit(ba->head, make_head(0, 0), memory_order_relaxed);
}

/*
 * Decodes block @index's link word into the index of the next free block.
 * The result may be anything if the peer scribbled on the word, or if the
 * block was allocated (and overwritten) by a racing thread since we read
 * the head; callers validate it.
 */
static uint32_t read_next(const struct block_allocator *ba, uint32_t index)
{
	uint32_t delta;

	/*
	 * Relaxed: the acquire load of the head that gave us @index already
	 * ordered the freeing thread's write of this word (done before its
	 * release CAS) before this read.
	 */
	delta = atomic_load_explicit(link_word(ba, index),
				     memory_order_relaxed);
	return index + 1 + delta;
}

int64_t block_allocator_alloc(const struct block_allocator *ba)
{
	uint32_t tries;
	uint64_t head, fresh;
	uint32_t first, next;

	/*
	 * Acquire: pairs with the release half of the CAS in free (and here),
	 * so that the link word written before publishing a block is visible.
	 */
	head = atomic_load_explicit(ba->head, memory_order_acquire);
	for (tries = 0; tries < BLOCK_ALLOCATOR_MAX_RETRIES; tries++) {
		first = head_first(head);
		if (first == ba->block_count)
			return -ENOMEM;
		if (first > ba->block_count)
			return -EPROTO;
		next = read_next(ba, first);
		if (next > ba->block_count) {
			/*
			 * Either a racing allocation took @first and wrote
			 * over its link word (then the head has changed since,
			 * and we retry), or the shared state is corrupt.
			 */
			uint64_t again = atomic_load_explicit(
				ba->head, memory_order_acquire);
			if (again == head)
				return -EPROTO;
			head = again;
			continue;
		}
		fresh = make_head(head_version(head) + 1, next);
		/*
		 * Success is acq_rel: acquire for the same reason as the load
		 * above; release so that a thread that later reads this head
		 * value also sees everything this thread did before (keeps the
		 * chain of head updates a single release sequence).
		 * Failure reloads with acquire, like the initial load.
		 */
		if (atomic_compare_exchange_weak_explicit(
			    ba->head, &head, fresh, memory_order_acq_rel,
			    memory_order_acquire))
			return first;
	}
	return -EBUSY;
}

int block_allocator_free(const struct block_allocator *ba, uint32_t index)
{
	uint32_t tries;
	uint64_t head, fresh;

	if (index >= ba->block_count)
		return -EINVAL;
	head = atomic_load_explicit(ba->head, memory_order_relaxed);
	for (tries = 0; tries < BLOCK_ALLOCATOR_MAX_RETRIES; tries++) {
		/*
		 * Link the block to the current first block. The head may be
		 * corrupt; we still link to whatever it says: the next
		 * allocation will validate it and report -EPROTO.
		 */
		atomic_store_explicit(link_word(ba, index),
				      head_first(head) - index - 1,
				      memory_order_relaxed);
		fresh = make_head(head_version(head) + 1, index);
		/*
		 * Release publishes the link word and all writes to the
		 * block's contents before it becomes allocatable again, so the
		 * next owner never sees our late writes land on its data.
		 */
		if (atomic_compare_exchange_weak_explicit(
			    ba->head, &head, fresh, memory_order_acq_rel,
			    memory_order_relaxed))
			return 0;
	}
	return -EBUSY;
}

void *block_allocator_block(const struct block_allocator *ba, uint32_t index)
{
	if (index >= ba->block_count)
		return NULL;
	return ba->blocks + (size_t)index * ba->block_size;
}

int64_t block_allocator_index_of(const struct block_allocator *ba,
				 const void *ptr)
{
	uintptr_t start = (uintptr_t)ba->blocks;
	uintptr_t p = (uintptr_t)ptr;
	uintptr_t off;

	if (p < start)
		return -EINVAL;
	off = p - start;
	if (off % ba->block_size)
		return -EINVAL;
	if (off / ba->block_size >= ba->block_count)
		return -EINVAL;
	return (int64_t)(off / ba->block_size);
}

int64_t block_allocator_count_free(const struct block_allocator *ba)
{
	uint32_t index, steps;

	index = head_first(
		atomic_load_explicit(ba->head, memory_order_acquire));
	for (steps = 0; steps <= ba->block_count; steps++) {
		if (index == ba->block_count)
			return steps;
		if (index > ba->block_count)
			return -EPROTO;
		index = read_next(ba, index);
	}
	/* More links than blocks: the list has a cycle. */
	return -EPROTO;
}
