/* SPDX-License-Identifier: MIT */
/*
 * Block allocators of several block sizes over the buffers of one NodeLink.
 *
 * Block sizes are the powers of two from BUFFER_POOL_MIN_BLOCK (64 B) to
 * BUFFER_POOL_MAX_BLOCK (16 MiB, so that parcels of up to 16 MiB minus a
 * fragment header travel in shared memory rather than through the driver);
 * a request is served from the class of its size rounded up to a power of
 * two. Each class holds a list of allocators
 * (one per region: a few in the primary buffer, one per growth buffer).
 *
 * The pool itself is process-local: each side of a link keeps its own pool
 * object describing the same shared regions. Allocators are appended while
 * other threads allocate (the list is published with release/acquire and
 * never shrinks), so allocation and freeing take no lock.
 *
 * When a class is exhausted the pool records a growth request for it (once,
 * until a buffer is added or the attempt is abandoned), unless the pool has
 * fixed capacity (except for essential allocations) or the class already
 * reached its byte limit. The owner
 * (link_memory) polls requests with buffer_pool_take_growth_request() and
 * answers with buffer_pool_add_allocator() or buffer_pool_growth_failed().
 */
#ifndef IPCZ_LIB_BUFFER_POOL_H
#define IPCZ_LIB_BUFFER_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/block_allocator.h"

#define BUFFER_POOL_MIN_BLOCK_SHIFT 6u
#define BUFFER_POOL_MAX_BLOCK_SHIFT 24u
#define BUFFER_POOL_MIN_BLOCK (1u << BUFFER_POOL_MIN_BLOCK_SHIFT)
#define BUFFER_POOL_MAX_BLOCK (1u << BUFFER_POOL_MAX_BLOCK_SHIFT)
#define BUFFER_POOL_NUM_CLASSES \
	(BUFFER_POOL_MAX_BLOCK_SHIFT - BUFFER_POOL_MIN_BLOCK_SHIFT + 1)
/* Regions per class; bounds the per-link memory a peer can make us track. */
#define BUFFER_POOL_MAX_ALLOCATORS 64u
/* Regions are tracked in chunks allocated on demand: a pool stays small. */
#define BUFFER_POOL_CHUNK 8u
/* Default growth limit per class. */
#define BUFFER_POOL_DEFAULT_CLASS_LIMIT (16u << 20)

struct buffer_pool_config {
	/* No growth requests at all (IPCZ_MEMORY_FIXED_PARCEL_CAPACITY). */
	bool fixed_capacity;
	/* Growth stops once a class holds this many bytes (0: default). */
	uint64_t class_byte_limit;
};

/* One region of blocks of a class, in buffer @buffer_id at @offset. */
struct buffer_pool_allocator {
	struct block_allocator blocks;
	uint64_t buffer_id;
	uint32_t offset;
};

enum buffer_pool_growth {
	BUFFER_POOL_GROWTH_IDLE,
	BUFFER_POOL_GROWTH_WANTED,
	BUFFER_POOL_GROWTH_PENDING,
};

struct buffer_pool_class {
	/* Entry i is chunks[i / CHUNK][i % CHUNK]. */
	struct buffer_pool_allocator
		*chunks[BUFFER_POOL_MAX_ALLOCATORS / BUFFER_POOL_CHUNK];
	_Atomic uint32_t count; /* published entries */
	_Atomic uint32_t hint; /* where the last success was */
	_Atomic uint32_t growth; /* enum buffer_pool_growth */
	_Atomic uint64_t bytes; /* capacity of all regions */
	/*
	 * The last wait for a free block of this class ran out: do not wait
	 * again until an allocation succeeds at once (buffer_pool_alloc).
	 */
	_Atomic bool wait_futile;
};

struct buffer_pool {
	struct buffer_pool_class classes[BUFFER_POOL_NUM_CLASSES];
	bool fixed_capacity;
	uint64_t class_byte_limit;
	pthread_mutex_t append_lock; /* serialises writers of the lists */
};

/* A block handed out by buffer_pool_alloc(). */
struct buffer_pool_block {
	uint64_t buffer_id;
	uint32_t offset; /* of the block within its buffer */
	uint32_t block_size;
	void *data;
};

/* @config may be NULL for defaults. Returns 0 or -errno. */
int buffer_pool_init(struct buffer_pool *pool,
		     const struct buffer_pool_config *config);
void buffer_pool_destroy(struct buffer_pool *pool);

/* Class index for @size bytes (rounded up), or -EINVAL (0, > 16 MiB). */
int buffer_pool_class_of(size_t size);
/* Block size of class @cls. */
uint32_t buffer_pool_class_size(unsigned int cls);

/*
 * Adds the region of @block_count blocks of @block_size bytes found at
 * @buffer_base + @offset, whose free-list head is at @head, as an allocator
 * of buffer @buffer_id. The region must already be formatted (or zeroed).
 * Clears a pending growth request of the class. Returns 0, -EINVAL (bad
 * geometry, block size not a supported power of two) or -ENOSPC.
 */
int buffer_pool_add_allocator(struct buffer_pool *pool, uint64_t buffer_id,
			      void *buffer_base, uint32_t offset, void *head,
			      uint32_t block_size, uint32_t block_count);

/*
 * Whether class @block_size can take one more region (false for an
 * unsupported block size). Exact only while no one else adds regions.
 */
bool buffer_pool_has_room(struct buffer_pool *pool, uint32_t block_size);

/*
 * Takes a block of at least @size bytes. Returns 0, -EINVAL for a size out
 * of range, -ENOMEM when the class is exhausted (a growth request may have
 * been recorded), -EPROTO when a region is corrupt, -EBUSY under hostile
 * contention.
 */
int buffer_pool_alloc(struct buffer_pool *pool, size_t size,
		      struct buffer_pool_block *out);

/*
 * Records a growth request for the class of @size even when the pool has
 * fixed capacity (still within the class limit): for allocations the
 * routing protocol cannot do without, such as RouterLinkStates, whereas
 * fixed capacity only means that parcel data is never given more room.
 */
void buffer_pool_request_essential_growth(struct buffer_pool *pool,
					  size_t size);

/*
 * Frees the block at @offset of buffer @buffer_id that was allocated for
 * @size bytes. Everything is validated (the peer may name the block): the
 * block must be the start of a block of the class of @size in a region of
 * that buffer. Returns 0, -EINVAL (no such block) or -EBUSY.
 */
int buffer_pool_free(struct buffer_pool *pool, uint64_t buffer_id,
		     uint32_t offset, size_t size);

/*
 * Finds the block of class @size at @offset of @buffer_id without freeing
 * it. Returns 0 and fills @out, or -EINVAL.
 */
int buffer_pool_find(struct buffer_pool *pool, uint64_t buffer_id,
		     uint32_t offset, size_t size,
		     struct buffer_pool_block *out);

/*
 * Claims one recorded growth request: returns true and its block size in
 * @block_size, moving it to pending, or false if none is wanted.
 */
bool buffer_pool_take_growth_request(struct buffer_pool *pool,
				     uint32_t *block_size);

/*
 * Whether it is worth waiting for a block of @size bytes after an
 * allocation failed with -ENOMEM: the class has blocks (so one may be
 * freed), no growth is wanted or under way for it (fixed capacity, class
 * limit, or region limit reached), and the last wait for it did not run
 * out since an allocation of it last succeeded.
 */
bool buffer_pool_worth_waiting(struct buffer_pool *pool, size_t size);

/* Records that a wait for a block of @size bytes ran out. */
void buffer_pool_wait_ran_out(struct buffer_pool *pool, size_t size);

/* Abandons a pending request so that a later failure may ask again. */
void buffer_pool_growth_failed(struct buffer_pool *pool, uint32_t block_size);

/* Total bytes of blocks in class @cls, and the limit for growth. */
uint64_t buffer_pool_class_bytes(struct buffer_pool *pool, unsigned int cls);

/* Free blocks of class @cls when quiescent (see block_allocator_count_free). */
int64_t buffer_pool_count_free(struct buffer_pool *pool, unsigned int cls);

#endif /* IPCZ_LIB_BUFFER_POOL_H */
