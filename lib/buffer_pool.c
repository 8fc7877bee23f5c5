// SPDX-License-Identifier: MIT
/*
 * Block allocators of several sizes for one NodeLink; see buffer_pool.h.
 */
#include "lib/buffer_pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int buffer_pool_init(struct buffer_pool *pool,
		     const struct buffer_pool_config *config)
{
	unsigned int i;

	memset(pool, 0, sizeof(*pool));
	pool->fixed_capacity = config && config->fixed_capacity;
	pool->class_byte_limit = BUFFER_POOL_DEFAULT_CLASS_LIMIT;
	if (config && config->class_byte_limit)
		pool->class_byte_limit = config->class_byte_limit;
	for (i = 0; i < BUFFER_POOL_NUM_CLASSES; i++) {
		struct buffer_pool_class *c = &pool->classes[i];

		atomic_init(&c->count, 0);
		atomic_init(&c->hint, 0);
		atomic_init(&c->growth, BUFFER_POOL_GROWTH_IDLE);
		atomic_init(&c->bytes, 0);
		atomic_init(&c->wait_futile, false);
	}
	if (pthread_mutex_init(&pool->append_lock, NULL))
		return -ENOMEM;
	return 0;
}

void buffer_pool_destroy(struct buffer_pool *pool)
{
	unsigned int i, j;

	for (i = 0; i < BUFFER_POOL_NUM_CLASSES; i++)
		for (j = 0; j < BUFFER_POOL_MAX_ALLOCATORS / BUFFER_POOL_CHUNK;
		     j++)
			free(pool->classes[i].chunks[j]);
	pthread_mutex_destroy(&pool->append_lock);
}

/*
 * Entry @i of class @c. Callers only ask for entries below a count they
 * loaded with acquire, which orders the chunk pointer and the entry (both
 * written before the release store of the count) before this read.
 */
static struct buffer_pool_allocator *entry_at(struct buffer_pool_class *c,
					      uint32_t i)
{
	return &c->chunks[i / BUFFER_POOL_CHUNK][i % BUFFER_POOL_CHUNK];
}

int buffer_pool_class_of(size_t size)
{
	unsigned int shift = BUFFER_POOL_MIN_BLOCK_SHIFT;

	if (size == 0 || size > BUFFER_POOL_MAX_BLOCK)
		return -EINVAL;
	while (((size_t)1 << shift) < size)
		shift++;
	return (int)(shift - BUFFER_POOL_MIN_BLOCK_SHIFT);
}

uint32_t buffer_pool_class_size(unsigned int cls)
{
	return 1u << (cls + BUFFER_POOL_MIN_BLOCK_SHIFT);
}

/* Class index of an exact supported block size, or -EINVAL. */
static int class_of_block_size(uint32_t block_size)
{
	int cls = buffer_pool_class_of(block_size);

	if (cls < 0 || buffer_pool_class_size((unsigned int)cls) != block_size)
		return -EINVAL;
	return cls;
}

int buffer_pool_add_allocator(struct buffer_pool *pool, uint64_t buffer_id,
			      void *buffer_base, uint32_t offset, void *head,
			      uint32_t block_size, uint32_t block_count)
{
	struct buffer_pool_allocator entry;
	struct buffer_pool_class *c;
	uint32_t n;
	int cls, err;

	cls = class_of_block_size(block_size);
	if (cls < 0)
		return cls;
	c = &pool->classes[cls];
	/* Block offsets travel as u32 in fragment descriptors. */
	if ((uint64_t)offset + (uint64_t)block_size * block_count >
	    (uint64_t)UINT32_MAX + 1)
		return -EINVAL;
	memset(&entry, 0, sizeof(entry));
	err = block_allocator_init_view(&entry.blocks, head,
					(unsigned char *)buffer_base + offset,
					block_size, block_count);
	if (err)
		return err;
	entry.buffer_id = buffer_id;
	entry.offset = offset;

	pthread_mutex_lock(&pool->append_lock);
	n = atomic_load_explicit(&c->count, memory_order_relaxed);
	if (n == BUFFER_POOL_MAX_ALLOCATORS) {
		pthread_mutex_unlock(&pool->append_lock);
		return -ENOSPC;
	}
	if (n % BUFFER_POOL_CHUNK == 0) {
		c->chunks[n / BUFFER_POOL_CHUNK] =
			calloc(BUFFER_POOL_CHUNK, sizeof(entry));
		if (!c->chunks[n / BUFFER_POOL_CHUNK]) {
			pthread_mutex_unlock(&pool->append_lock);
			return -ENOMEM;
		}
	}
	*entry_at(c, n) = entry;
	/*
	 * Release: readers load the count with acquire and only then read
	 * the entries below it, so they see the entry fully written.
	 */
	atomic_store_explicit(&c->count, n + 1, memory_order_release);
	atomic_fetch_add_explicit(&c->bytes, (uint64_t)block_size * block_count,
				  memory_order_relaxed);
	/* New capacity answers any request; later failures may ask again. */
	atomic_store_explicit(&c->growth, BUFFER_POOL_GROWTH_IDLE,
			      memory_order_relaxed);
	pthread_mutex_unlock(&pool->append_lock);
	return 0;
}

bool buffer_pool_has_room(struct buffer_pool *pool, uint32_t block_size)
{
	int cls = class_of_block_size(block_size);

	return cls >= 0 && atomic_load_explicit(&pool->classes[cls].count,
						memory_order_relaxed) <
				   BUFFER_POOL_MAX_ALLOCATORS;
}

static void request_growth(struct buffer_pool *pool, unsigned int cls,
			   bool essential)
{
	struct buffer_pool_class *c = &pool->classes[cls];
	uint32_t idle = BUFFER_POOL_GROWTH_IDLE;
	uint64_t bytes;

	if (pool->fixed_capacity && !essential)
		return;
	bytes = atomic_load_explicit(&c->bytes, memory_order_relaxed);
	if (bytes >= pool->class_byte_limit)
		return;
	if (atomic_load_explicit(&c->count, memory_order_relaxed) >=
	    BUFFER_POOL_MAX_ALLOCATORS)
		return;
	/* Only the first failure records a request (deduplication). */
	atomic_compare_exchange_strong_explicit(&c->growth, &idle,
						BUFFER_POOL_GROWTH_WANTED,
						memory_order_relaxed,
						memory_order_relaxed);
}

static void fill_block(const struct buffer_pool_allocator *a, uint32_t index,
		       struct buffer_pool_block *out)
{
	out->buffer_id = a->buffer_id;
	out->offset = a->offset + index * a->blocks.block_size;
	out->block_size = a->blocks.block_size;
	out->data = block_allocator_block(&a->blocks, index);
}

int buffer_pool_alloc(struct buffer_pool *pool, size_t size,
		      struct buffer_pool_block *out)
{
	struct buffer_pool_class *c;
	uint32_t n, start, i;
	int cls, result = -ENOMEM;

	cls = buffer_pool_class_of(size);
	if (cls < 0)
		return cls;
	c = &pool->classes[cls];
	n = atomic_load_explicit(&c->count, memory_order_acquire);
	start = atomic_load_explicit(&c->hint, memory_order_relaxed);
	for (i = 0; i < n; i++) {
		uint32_t k = (start + i) % n;
		const struct buffer_pool_allocator *a = entry_at(c, k);
		int64_t index = block_allocator_alloc(&a->blocks);

		if (index >= 0) {
			if (k != start)
				atomic_store_explicit(&c->hint, k,
						      memory_order_relaxed);
			/* Blocks come back: waiting for one may pay again. */
			if (atomic_load_explicit(&c->wait_futile,
						 memory_order_relaxed))
				atomic_store_explicit(&c->wait_futile, false,
						      memory_order_relaxed);
			fill_block(a, (uint32_t)index, out);
			return 0;
		}
		if (index == -EPROTO)
			return -EPROTO;
		if (index == -EBUSY)
			result = -EBUSY;
	}
	if (result == -ENOMEM)
		request_growth(pool, (unsigned int)cls, false);
	return result;
}

void buffer_pool_request_essential_growth(struct buffer_pool *pool, size_t size)
{
	int cls = buffer_pool_class_of(size);

	if (cls >= 0)
		request_growth(pool, (unsigned int)cls, true);
}

static const struct buffer_pool_allocator *
find_allocator(struct buffer_pool *pool, uint64_t buffer_id, uint32_t offset,
	       size_t size, uint32_t *index)
{
	struct buffer_pool_class *c;
	uint32_t n, i;
	int cls;

	cls = buffer_pool_class_of(size);
	if (cls < 0)
		return NULL;
	c = &pool->classes[cls];
	n = atomic_load_explicit(&c->count, memory_order_acquire);
	for (i = 0; i < n; i++) {
		const struct buffer_pool_allocator *a = entry_at(c, i);
		uint64_t rel, bs = a->blocks.block_size;

		if (a->buffer_id != buffer_id || offset < a->offset)
			continue;
		rel = offset - a->offset;
		if (rel % bs || rel / bs >= a->blocks.block_count)
			continue;
		*index = (uint32_t)(rel / bs);
		return a;
	}
	return NULL;
}

int buffer_pool_find(struct buffer_pool *pool, uint64_t buffer_id,
		     uint32_t offset, size_t size,
		     struct buffer_pool_block *out)
{
	const struct buffer_pool_allocator *a;
	uint32_t index;

	a = find_allocator(pool, buffer_id, offset, size, &index);
	if (!a)
		return -EINVAL;
	fill_block(a, index, out);
	return 0;
}

int buffer_pool_free(struct buffer_pool *pool, uint64_t buffer_id,
		     uint32_t offset, size_t size)
{
	const struct buffer_pool_allocator *a;
	uint32_t index;

	a = find_allocator(pool, buffer_id, offset, size, &index);
	if (!a)
		return -EINVAL;
	return block_allocator_free(&a->blocks, index);
}

bool buffer_pool_take_growth_request(struct buffer_pool *pool,
				     uint32_t *block_size)
{
	unsigned int i;

	for (i = 0; i < BUFFER_POOL_NUM_CLASSES; i++) {
		uint32_t wanted = BUFFER_POOL_GROWTH_WANTED;

		if (atomic_compare_exchange_strong_explicit(
			    &pool->classes[i].growth, &wanted,
			    BUFFER_POOL_GROWTH_PENDING, memory_order_relaxed,
			    memory_order_relaxed)) {
			*block_size = buffer_pool_class_size(i);
			return true;
		}
	}
	return false;
}

bool buffer_pool_worth_waiting(struct buffer_pool *pool, size_t size)
{
	int cls = buffer_pool_class_of(size);
	struct buffer_pool_class *c;

	if (cls < 0)
		return false;
	c = &pool->classes[cls];
	return atomic_load_explicit(&c->count, memory_order_relaxed) > 0 &&
	       atomic_load_explicit(&c->growth, memory_order_relaxed) ==
		       BUFFER_POOL_GROWTH_IDLE &&
	       !atomic_load_explicit(&c->wait_futile, memory_order_relaxed);
}

void buffer_pool_wait_ran_out(struct buffer_pool *pool, size_t size)
{
	int cls = buffer_pool_class_of(size);

	if (cls >= 0)
		atomic_store_explicit(&pool->classes[cls].wait_futile, true,
				      memory_order_relaxed);
}

void buffer_pool_growth_failed(struct buffer_pool *pool, uint32_t block_size)
{
	uint32_t pending = BUFFER_POOL_GROWTH_PENDING;
	int cls = class_of_block_size(block_size);

	if (cls < 0)
		return;
	atomic_compare_exchange_strong_explicit(
		&pool->classes[cls].growth, &pending, BUFFER_POOL_GROWTH_IDLE,
		memory_order_relaxed, memory_order_relaxed);
}

uint64_t buffer_pool_class_bytes(struct buffer_pool *pool, unsigned int cls)
{
	if (cls >= BUFFER_POOL_NUM_CLASSES)
		return 0;
	return atomic_load_explicit(&pool->classes[cls].bytes,
				    memory_order_relaxed);
}

int64_t buffer_pool_count_free(struct buffer_pool *pool, unsigned int cls)
{
	struct buffer_pool_class *c;
	int64_t total = 0;
	uint32_t n, i;

	if (cls >= BUFFER_POOL_NUM_CLASSES)
		return -EINVAL;
	c = &pool->classes[cls];
	n = atomic_load_explicit(&c->count, memory_order_acquire);
	for (i = 0; i < n; i++) {
		int64_t free_blocks =
			block_allocator_count_free(&entry_at(c, i)->blocks);

		if (free_blocks < 0)
			return free_blocks;
		total += free_blocks;
	}
	return total;
}
