/* SPDX-License-Identifier: MIT */
/*
 * Link memory: the shared pool of one NodeLink.
 *
 * The pool starts as one primary buffer, created and formatted by side A
 * and mapped by side B, and grows by whole block buffers that either side
 * creates on demand and shares with the other. This layer never calls the
 * driver: the caller maps memory (IpczDriver AllocateSharedMemory and
 * MapSharedMemory in real use; malloc or a MAP_SHARED mapping in tests) and
 * hands over base addresses and sizes.
 *
 * Primary buffer (LINK_MEMORY_PRIMARY_SIZE = 256 KiB, offsets in bytes):
 *
 *   0       header page
 *     64      next sublink id (u64, starts at LINK_MEMORY_INITIAL_SUBLINKS)
 *     128     ring control, side A to side B
 *     256     ring control, side B to side A
 *     384     free-list heads of the primary block regions, one per line
 *     1024    12 initial RouterLinkStates (64 bytes each)
 *   4096    ring data A to B (16 KiB)
 *   20480   ring data B to A (16 KiB)
 *   36864   block regions: 64 B x 512, 128 B x 128, 256 B x 64,
 *           512 B x 32, 1 KiB x 16, 2 KiB x 16, 4 KiB x 23
 *
 * Block buffer (growth): bytes 0-7 hold the free-list head; blocks of one
 * size start at max(64, min(block size, 4096)) and fill the rest. Its size
 * is link_memory_block_buffer_size(block size): a multiple of 64 KiB.
 *
 * Buffer ids: 0 is the primary buffer; each side numbers its own buffers
 * from 1, side B with bit 63 set, so ids never collide and neither side
 * depends on a shared counter the other could corrupt.
 *
 * Growth protocol: when an allocation fails, the pool records a request
 * for that block size. The link owner takes it with
 * link_memory_take_growth_request(), allocates and maps
 * link_memory_block_buffer_size() bytes, formats them with
 * link_memory_format_block_buffer(), sends the buffer and its id and block
 * size to the peer (AddBlockBuffer, a driver message carrying the memory),
 * and only then registers it with link_memory_add_block_buffer(). Every
 * message that may name the new buffer is numbered after the AddBlockBuffer
 * message, so the receiver registers the buffer before it resolves any
 * fragment in it. If the attempt fails, link_memory_growth_failed().
 *
 * Thread safety: all calls may be made concurrently, except open/close and
 * the rings: each ring end has one user at a time (the caller serialises
 * its sends on the outgoing ring, and the draining of the incoming ring).
 * Lookups and allocations take no lock; registrations serialise on a mutex.
 */
#ifndef IPCZ_LIB_LINK_MEMORY_H
#define IPCZ_LIB_LINK_MEMORY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buffer_pool.h"
#include "lib/fragment.h"
#include "lib/link_state.h"
#include "lib/message_ring.h"

#define LINK_MEMORY_PRIMARY_SIZE (256u * 1024)
#define LINK_MEMORY_PRIMARY_ID 0u
#define LINK_MEMORY_SIDE_B_ID_BIT (1ull << 63)
#define LINK_MEMORY_INITIAL_SUBLINKS 12u
#define LINK_MEMORY_INITIAL_LINK_STATES 12u
#define LINK_MEMORY_RING_SIZE (16u * 1024)
#define LINK_MEMORY_BLOCK_BUFFER_GRANULE (64u * 1024)
/* A peer's buffer larger than this is refused. */
#define LINK_MEMORY_MAX_BUFFER_SIZE (64u << 20)
/* All buffers of a link together, primary included. */
#define LINK_MEMORY_MAX_TOTAL_SIZE (1ull << 30)
/* Buffers a link may hold: the primary plus growth in every class. */
#define LINK_MEMORY_REGISTRY_CHUNK 32u
#define LINK_MEMORY_REGISTRY_CHUNKS                                   \
	((LINK_MEMORY_MAX_BUFFERS + LINK_MEMORY_REGISTRY_CHUNK - 1) / \
	 LINK_MEMORY_REGISTRY_CHUNK)
#define LINK_MEMORY_MAX_BUFFERS \
	(1 + BUFFER_POOL_NUM_CLASSES * BUFFER_POOL_MAX_ALLOCATORS)

/* Who produced a buffer being registered. */
enum link_memory_origin {
	LINK_MEMORY_LOCAL,
	LINK_MEMORY_FROM_PEER,
};

struct link_memory_buffer {
	uint64_t id;
	unsigned char *base;
	size_t size;
	uint32_t block_size; /* 0 for the primary buffer */
};

struct link_memory {
	enum node_link_side side;
	unsigned char *primary;
	struct buffer_pool pool;
	struct message_ring outgoing; /* we produce */
	struct message_ring incoming; /* we consume */
	_Atomic uint64_t next_buffer_id;
	/*
	 * Registry, in chunks allocated on demand: entry i is
	 * buffers[i / CHUNK][i % CHUNK]; entries below buffer_count are
	 * immutable once published.
	 */
	struct link_memory_buffer *buffers[LINK_MEMORY_REGISTRY_CHUNKS];
	_Atomic uint32_t buffer_count;
	uint64_t total_size; /* bytes of all registered buffers */
	pthread_mutex_t register_lock;
};

/*
 * Side A, before sharing: formats a primary buffer of @size bytes (at least
 * LINK_MEMORY_PRIMARY_SIZE, 4096-aligned). Returns 0 or -EINVAL.
 */
int link_memory_format_primary(void *base, size_t size);

/*
 * Opens @lm over a mapped primary buffer as @side. Side B calls this on
 * the buffer it received: only the size and alignment are checked (the
 * contents are untrusted and validated on every use). Returns 0, -EINVAL
 * (a buffer too small or misaligned) or -ENOMEM.
 */
int link_memory_open(struct link_memory *lm, enum node_link_side side,
		     void *primary, size_t size,
		     const struct buffer_pool_config *config);

/* Releases local resources; mappings stay the caller's to unmap. */
void link_memory_close(struct link_memory *lm);

/* Our ring (we produce) and the peer's ring (we consume). */
struct message_ring *link_memory_outgoing_ring(struct link_memory *lm);
struct message_ring *link_memory_incoming_ring(struct link_memory *lm);

/* Initial RouterLinkState @index (< 12) in the primary buffer, or NULL. */
struct shm_link_state *link_memory_initial_link_state(struct link_memory *lm,
						      uint32_t index);

/*
 * A new zeroed RouterLinkState in a 64-byte block; @out names it for the
 * peer. Returns 0 or an allocation error (see fragment_alloc); on -ENOMEM
 * a growth request is recorded even if the pool has fixed capacity.
 */
int link_memory_alloc_link_state(struct link_memory *lm, struct fragment *out);

/*
 * Resolves a RouterLinkState named by the peer: the descriptor must name
 * exactly one 64-byte block. Returns 0, -ENOENT or -EINVAL.
 */
int link_memory_resolve_link_state(struct link_memory *lm,
				   const struct fragment_desc *desc,
				   struct shm_link_state **state);

/*
 * Reserves @count consecutive sublink ids from the shared counter. The
 * counter is writable by the peer: the caller must still refuse a sublink
 * id that is already in use. Returns 0, -EINVAL or -EPROTO.
 */
int link_memory_alloc_sublinks(struct link_memory *lm, uint32_t count,
			       uint64_t *first);

/* A fresh id for a buffer this side creates. */
uint64_t link_memory_new_buffer_id(struct link_memory *lm);

/* Size of a growth buffer for @block_size, or 0 if unsupported. */
size_t link_memory_block_buffer_size(uint32_t block_size);

/* Creator only: formats a growth buffer. 0 or -EINVAL. */
int link_memory_format_block_buffer(void *base, size_t size,
				    uint32_t block_size);

/*
 * Checks whether a block buffer of @size bytes and @block_size blocks
 * with id @id could be registered, without mapping it: a receiver asks the
 * driver for the size of a peer's memory object (GetSharedMemoryInfo) and
 * checks before it maps anything. Refuses (-EINVAL) an id of the wrong
 * side, 0, all-ones or already registered, an unsupported block size, and
 * a size that is not a multiple of 8, too small for one block or above
 * LINK_MEMORY_MAX_BUFFER_SIZE; -ENOSPC when the link already holds its
 * maximum of buffers, of regions of that block size, or
 * LINK_MEMORY_MAX_TOTAL_SIZE bytes.
 */
int link_memory_check_block_buffer(struct link_memory *lm, uint64_t id,
				   size_t size, uint32_t block_size,
				   enum link_memory_origin origin);

/*
 * Registers a block buffer (created here, after the peer was told; or
 * received from the peer and mapped) and adds its blocks to the pool.
 * Runs the same checks (atomically with the registration), and refuses a
 * base that is not page-aligned. Returns 0, -EINVAL or -ENOSPC.
 */
int link_memory_add_block_buffer(struct link_memory *lm, uint64_t id,
				 void *base, size_t size, uint32_t block_size,
				 enum link_memory_origin origin);

/* Growth requests (see above). */
bool link_memory_take_growth_request(struct link_memory *lm,
				     uint32_t *block_size);
void link_memory_growth_failed(struct link_memory *lm, uint32_t block_size);

/*
 * Looks up a registered buffer. Returns 0 and fills @out, or -ENOENT.
 * Lock-free.
 */
int link_memory_find_buffer(struct link_memory *lm, uint64_t id,
			    struct link_memory_buffer *out);

/* Number of registered buffers and the @index-th one (for unmapping). */
uint32_t link_memory_buffer_count(struct link_memory *lm);
const struct link_memory_buffer *link_memory_buffer_at(struct link_memory *lm,
						       uint32_t index);

#endif /* IPCZ_LIB_LINK_MEMORY_H */
