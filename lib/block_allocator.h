/* SPDX-License-Identifier: MIT */
/*
 * Lock-free allocator of fixed-size blocks inside a shared memory region.
 *
 * Two processes map the same region and allocate from it concurrently; the
 * free list lives in the region itself. Everything read from the region is
 * untrusted: the peer may write anything at any time, so every index read
 * from shared memory is validated and every loop is bounded. A corrupt
 * region makes calls fail with -EPROTO (the caller then drops the link); it
 * never causes an out-of-bounds access.
 *
 * Shared layout:
 *
 *   head   one 64-bit word, {version:32, first:32}, anywhere 8-byte aligned
 *          (the caller chooses where, e.g. in a buffer header).
 *   blocks block_count blocks of block_size bytes, 8-byte aligned. A free
 *          block's first 32-bit word links it to the next free block.
 *
 * Links are stored as deltas so that an all-zero region is a valid, full
 * free list: the head's "first" field stores first - 0 and a block i's link
 * word stores next - (i + 1), both modulo 2^32. Thus zeroed memory reads as
 * the chain 0 -> 1 -> ... -> block_count - 1 -> block_count, where the
 * index block_count means "end of list". Memory fresh from the kernel (or
 * memfd) needs no initialisation pass, which keeps growth buffers cheap.
 *
 * The version in the head changes on every successful update, so a stale
 * compare-and-swap (the ABA problem) fails unless exactly 2^32 updates
 * happened while one thread was stalled between its load and its CAS.
 */
#ifndef IPCZ_LIB_BLOCK_ALLOCATOR_H
#define IPCZ_LIB_BLOCK_ALLOCATOR_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Smallest block: the link word needs 4 bytes, atomics want 8 alignment. */
#define BLOCK_ALLOCATOR_MIN_BLOCK_SIZE 8u
/* Keeps block_count * block_size far below SIZE_MAX and u32 overflow. */
#define BLOCK_ALLOCATOR_MAX_BLOCKS (1u << 24)

/*
 * Bound on compare-and-swap retries. Honest contention resolves in a few
 * rounds per competing operation; a peer that keeps rewriting the head can
 * only make us give up with -EBUSY, never spin forever.
 */
#define BLOCK_ALLOCATOR_MAX_RETRIES 100000u

/*
 * Process-local view of an allocator. The fields are trusted (set from
 * locally validated parameters); only *head and the blocks are shared.
 */
struct block_allocator {
	_Atomic uint64_t *head;
	unsigned char *blocks;
	uint32_t block_size;
	uint32_t block_count;
};

/*
 * Checks the geometry and fills in @ba. @head must be 8-byte aligned,
 * @blocks 8-byte aligned, @block_size a multiple of 8 and at least
 * BLOCK_ALLOCATOR_MIN_BLOCK_SIZE, @block_count in 1..MAX_BLOCKS.
 * Returns 0 or -EINVAL. Does not touch shared memory.
 */
int block_allocator_init_view(struct block_allocator *ba, void *head,
			      void *blocks, uint32_t block_size,
			      uint32_t block_count);

/*
 * Formats the shared state as a full free list (writes zeros to the head
 * and to every block's link word). Only the creator of a region calls this,
 * before sharing it; zero-filled memory needs no call at all.
 */
void block_allocator_format(const struct block_allocator *ba);

/*
 * Takes one block. Returns its index (>= 0), -ENOMEM when the free list is
 * empty, -EPROTO when shared memory is corrupt, -EBUSY when retries ran
 * out under (hostile) contention.
 */
int64_t block_allocator_alloc(const struct block_allocator *ba);

/*
 * Returns block @index to the free list. Returns 0, -EINVAL for an index
 * out of range (a caller that passes a peer's index gets this), or -EBUSY.
 */
int block_allocator_free(const struct block_allocator *ba, uint32_t index);

/* Address of block @index, or NULL if out of range. */
void *block_allocator_block(const struct block_allocator *ba, uint32_t index);

/*
 * Index of the block that starts at @ptr, or -EINVAL if @ptr is not the
 * start of one of this allocator's blocks.
 */
int64_t block_allocator_index_of(const struct block_allocator *ba,
				 const void *ptr);

/*
 * Counts the free blocks by walking the list, for statistics and tests.
 * The walk is bounded by block_count steps: a cycle or an out-of-range link
 * gives -EPROTO. Only meaningful while nobody allocates or frees: a block
 * taken and overwritten during the walk reads as corruption.
 */
int64_t block_allocator_count_free(const struct block_allocator *ba);

#endif /* IPCZ_LIB_BLOCK_ALLOCATOR_H */
