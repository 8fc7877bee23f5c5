// SPDX-License-Identifier: MIT
/*
 * The shared pool of a NodeLink: primary buffer layout, buffer registry,
 * growth; see link_memory.h.
 */
#include "lib/link_memory.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_SUBLINK_OFFSET 64u
#define HEADER_RING_AB_OFFSET 128u
#define HEADER_RING_BA_OFFSET 256u
#define HEADER_HEADS_OFFSET 384u
#define HEADER_LINK_STATES_OFFSET 1024u
#define HEADER_SIZE 4096u
#define RING_AB_DATA_OFFSET HEADER_SIZE
#define RING_BA_DATA_OFFSET (RING_AB_DATA_OFFSET + LINK_MEMORY_RING_SIZE)
#define BLOCKS_OFFSET (RING_BA_DATA_OFFSET + LINK_MEMORY_RING_SIZE)
#define BLOCK_BUFFER_HEAD_OFFSET 0u

struct primary_region {
	uint32_t block_size;
	uint32_t block_count;
};

/* Block regions of the primary buffer, laid out in this order. */
static const struct primary_region primary_regions[] = {
	{ 64, 512 },  { 128, 128 }, { 256, 64 },  { 512, 32 },
	{ 1024, 16 }, { 2048, 16 }, { 4096, 23 },
};

#define NUM_PRIMARY_REGIONS \
	(sizeof(primary_regions) / sizeof(primary_regions[0]))

_Static_assert(HEADER_HEADS_OFFSET + 64 * NUM_PRIMARY_REGIONS <=
		       HEADER_LINK_STATES_OFFSET,
	       "allocator heads fit below the link states");
_Static_assert(HEADER_LINK_STATES_OFFSET +
			       LINK_STATE_SIZE *
				       LINK_MEMORY_INITIAL_LINK_STATES <=
		       HEADER_SIZE,
	       "initial link states fit in the header page");
_Static_assert(BLOCKS_OFFSET + 64 * 512 + 128 * 128 + 256 * 64 + 512 * 32 +
			       1024 * 16 + 2048 * 16 + 4096 * 23 ==
		       LINK_MEMORY_PRIMARY_SIZE,
	       "block regions fill the primary buffer exactly");

static void *head_of_region(unsigned char *primary, unsigned int region)
{
	return primary + HEADER_HEADS_OFFSET + 64 * region;
}

static _Atomic uint64_t *sublink_counter(unsigned char *primary)
{
	return (_Atomic uint64_t *)(primary + HEADER_SUBLINK_OFFSET);
}

/* Calls @fn for each primary region with its offset. */
static int for_each_primary_region(unsigned char *primary,
				   int (*fn)(void *ctx, unsigned char *primary,
					     unsigned int region,
					     uint32_t offset),
				   void *ctx)
{
	uint32_t offset = BLOCKS_OFFSET;
	unsigned int i;
	int err;

	for (i = 0; i < NUM_PRIMARY_REGIONS; i++) {
		err = fn(ctx, primary, i, offset);
		if (err)
			return err;
		offset += primary_regions[i].block_size *
			  primary_regions[i].block_count;
	}
	return 0;
}

static int format_region(void *ctx, unsigned char *primary, unsigned int region,
			 uint32_t offset)
{
	struct block_allocator ba;
	int err;

	(void)ctx;
	err = block_allocator_init_view(&ba, head_of_region(primary, region),
					primary + offset,
					primary_regions[region].block_size,
					primary_regions[region].block_count);
	if (err)
		return err;
	block_allocator_format(&ba);
	return 0;
}

int link_memory_format_primary(void *base, size_t size)
{
	unsigned char *primary = base;
	unsigned int i;

	if (!base || (uintptr_t)base % 4096 || size < LINK_MEMORY_PRIMARY_SIZE)
		return -EINVAL;
	memset(primary, 0, HEADER_SIZE);
	atomic_store_explicit(sublink_counter(primary),
			      LINK_MEMORY_INITIAL_SUBLINKS,
			      memory_order_relaxed);
	message_ring_format((void *)(primary + HEADER_RING_AB_OFFSET));
	message_ring_format((void *)(primary + HEADER_RING_BA_OFFSET));
	for (i = 0; i < LINK_MEMORY_INITIAL_LINK_STATES; i++)
		shm_link_state_init((void *)(primary +
					     HEADER_LINK_STATES_OFFSET +
					     LINK_STATE_SIZE * i));
	/*
	 * Relaxed stores everywhere: the buffer reaches side B through a
	 * driver message, which orders all of this before B's first access.
	 */
	return for_each_primary_region(primary, format_region, NULL);
}

static int add_primary_region(void *ctx, unsigned char *primary,
			      unsigned int region, uint32_t offset)
{
	struct link_memory *lm = ctx;

	return buffer_pool_add_allocator(&lm->pool, LINK_MEMORY_PRIMARY_ID,
					 primary, offset,
					 head_of_region(primary, region),
					 primary_regions[region].block_size,
					 primary_regions[region].block_count);
}

/*
 * Registry entry @i; only called for entries below a count loaded with
 * acquire (or under register_lock), which orders the chunk pointer and the
 * entry, written before the count's release store, before this read.
 */
static struct link_memory_buffer *buffer_at(struct link_memory *lm, uint32_t i)
{
	return &lm->buffers[i / LINK_MEMORY_REGISTRY_CHUNK]
			   [i % LINK_MEMORY_REGISTRY_CHUNK];
}

/* Appends a registry entry. Caller holds register_lock. */
static int publish_buffer(struct link_memory *lm,
			  const struct link_memory_buffer *entry)
{
	uint32_t n =
		atomic_load_explicit(&lm->buffer_count, memory_order_relaxed);

	struct link_memory_buffer **chunk =
		&lm->buffers[n / LINK_MEMORY_REGISTRY_CHUNK];

	if (n == LINK_MEMORY_MAX_BUFFERS)
		return -ENOSPC;
	if (n % LINK_MEMORY_REGISTRY_CHUNK == 0) {
		*chunk = calloc(LINK_MEMORY_REGISTRY_CHUNK, sizeof(*entry));
		if (!*chunk)
			return -ENOMEM;
	}
	*buffer_at(lm, n) = *entry;
	/* Release: lookups load the count with acquire, then read entries. */
	atomic_store_explicit(&lm->buffer_count, n + 1, memory_order_release);
	return 0;
}

static int open_rings(struct link_memory *lm)
{
	unsigned char *p = lm->primary;
	struct message_ring_ctl *ab = (void *)(p + HEADER_RING_AB_OFFSET);
	struct message_ring_ctl *ba = (void *)(p + HEADER_RING_BA_OFFSET);
	void *ab_data = p + RING_AB_DATA_OFFSET;
	void *ba_data = p + RING_BA_DATA_OFFSET;
	bool a = lm->side == NODE_LINK_SIDE_A;
	int err;

	err = message_ring_open(&lm->outgoing, a ? ab : ba,
				a ? ab_data : ba_data, LINK_MEMORY_RING_SIZE);
	if (err)
		return err;
	return message_ring_open(&lm->incoming, a ? ba : ab,
				 a ? ba_data : ab_data, LINK_MEMORY_RING_SIZE);
}

int link_memory_open(struct link_memory *lm, enum node_link_side side,
		     void *primary, size_t size,
		     const struct buffer_pool_config *config)
{
	struct link_memory_buffer entry = {
		.id = LINK_MEMORY_PRIMARY_ID,
		.base = primary,
		.size = size,
	};
	int err;

	if (!lm || !primary || (uintptr_t)primary % 4096 ||
	    size < LINK_MEMORY_PRIMARY_SIZE ||
	    size > LINK_MEMORY_MAX_BUFFER_SIZE ||
	    (side != NODE_LINK_SIDE_A && side != NODE_LINK_SIDE_B))
		return -EINVAL;
	memset(lm->buffers, 0, sizeof(lm->buffers));
	lm->side = side;
	lm->primary = primary;
	atomic_init(&lm->next_buffer_id, 1);
	atomic_init(&lm->buffer_count, 0);
	lm->total_size = size;
	err = buffer_pool_init(&lm->pool, config);
	if (err)
		return err;
	if (pthread_mutex_init(&lm->register_lock, NULL)) {
		buffer_pool_destroy(&lm->pool);
		return -ENOMEM;
	}
	err = open_rings(lm);
	if (!err)
		err = for_each_primary_region(lm->primary, add_primary_region,
					      lm);
	if (!err)
		err = publish_buffer(lm, &entry);
	if (err) {
		link_memory_close(lm);
		return err;
	}
	return 0;
}

void link_memory_close(struct link_memory *lm)
{
	unsigned int i;

	for (i = 0; i < LINK_MEMORY_REGISTRY_CHUNKS; i++) {
		free(lm->buffers[i]);
		lm->buffers[i] = NULL;
	}
	pthread_mutex_destroy(&lm->register_lock);
	buffer_pool_destroy(&lm->pool);
}

struct message_ring *link_memory_outgoing_ring(struct link_memory *lm)
{
	return &lm->outgoing;
}

struct message_ring *link_memory_incoming_ring(struct link_memory *lm)
{
	return &lm->incoming;
}

struct shm_link_state *link_memory_initial_link_state(struct link_memory *lm,
						      uint32_t index)
{
	if (index >= LINK_MEMORY_INITIAL_LINK_STATES)
		return NULL;
	return (struct shm_link_state *)(lm->primary +
					 HEADER_LINK_STATES_OFFSET +
					 LINK_STATE_SIZE * index);
}

int link_memory_alloc_link_state(struct link_memory *lm, struct fragment *out)
{
	int err = fragment_alloc(lm, LINK_STATE_SIZE, out);

	/* Routing needs link states: grow for them even at fixed capacity. */
	if (err == -ENOMEM)
		buffer_pool_request_essential_growth(&lm->pool,
						     LINK_STATE_SIZE);
	if (err)
		return err;
	shm_link_state_init((struct shm_link_state *)out->data);
	return 0;
}

int link_memory_resolve_link_state(struct link_memory *lm,
				   const struct fragment_desc *desc,
				   struct shm_link_state **state)
{
	struct buffer_pool_block block;
	struct fragment frag;
	int err;

	/* Resolution copies the descriptor once; only the copy is used. */
	err = fragment_resolve(lm, desc, &frag);
	if (err)
		return err;
	if (frag.desc.size != LINK_STATE_SIZE)
		return -EINVAL;
	/* Exactly one 64-byte block: aligned, and not straddling two. */
	err = buffer_pool_find(&lm->pool, frag.desc.buffer_id, frag.desc.offset,
			       frag.desc.size, &block);
	if (err || block.block_size != LINK_STATE_SIZE)
		return -EINVAL;
	*state = (struct shm_link_state *)frag.data;
	return 0;
}

int link_memory_alloc_sublinks(struct link_memory *lm, uint32_t count,
			       uint64_t *first)
{
	uint64_t got;

	if (count == 0)
		return -EINVAL;
	/*
	 * Relaxed: the id only has to be unique; whatever it names is
	 * published by the message that carries it.
	 */
	got = atomic_fetch_add_explicit(sublink_counter(lm->primary), count,
					memory_order_relaxed);
	if (got < LINK_MEMORY_INITIAL_SUBLINKS || got + count < got)
		return -EPROTO;
	*first = got;
	return 0;
}

uint64_t link_memory_new_buffer_id(struct link_memory *lm)
{
	uint64_t n = atomic_fetch_add_explicit(&lm->next_buffer_id, 1,
					       memory_order_relaxed);

	return lm->side == NODE_LINK_SIDE_B ? n | LINK_MEMORY_SIDE_B_ID_BIT : n;
}

static uint32_t block_buffer_data_offset(uint32_t block_size)
{
	if (block_size < 64)
		return 64;
	return block_size < 4096 ? block_size : 4096;
}

static bool supported_block_size(uint32_t block_size)
{
	int cls = buffer_pool_class_of(block_size);

	return cls >= 0 &&
	       buffer_pool_class_size((unsigned int)cls) == block_size;
}

size_t link_memory_block_buffer_size(uint32_t block_size)
{
	uint64_t min_blocks, bytes, granule = LINK_MEMORY_BLOCK_BUFFER_GRANULE;

	if (!supported_block_size(block_size))
		return 0;
	/* At least 8 blocks of small sizes, 2 of the largest ones. */
	min_blocks = block_size >= (256u << 10) ? 2 : 8;
	bytes = block_buffer_data_offset(block_size) + min_blocks * block_size;
	return (size_t)((bytes + granule - 1) / granule * granule);
}

/* Validates a block buffer's geometry; returns its block count or 0. */
static uint32_t block_buffer_count(size_t size, uint32_t block_size)
{
	uint32_t data_offset;
	uint64_t count;

	if (!supported_block_size(block_size))
		return 0;
	if (size % 8 || size > LINK_MEMORY_MAX_BUFFER_SIZE)
		return 0;
	data_offset = block_buffer_data_offset(block_size);
	if (size < (uint64_t)data_offset + block_size)
		return 0;
	count = (size - data_offset) / block_size;
	if (count > BLOCK_ALLOCATOR_MAX_BLOCKS)
		return 0;
	return (uint32_t)count;
}

int link_memory_format_block_buffer(void *base, size_t size,
				    uint32_t block_size)
{
	uint32_t count = block_buffer_count(size, block_size);
	unsigned char *p = base;
	struct block_allocator ba;
	int err;

	if (!count || !base || (uintptr_t)base % 4096)
		return -EINVAL;
	err = block_allocator_init_view(
		&ba, p + BLOCK_BUFFER_HEAD_OFFSET,
		p + block_buffer_data_offset(block_size), block_size, count);
	if (err)
		return err;
	block_allocator_format(&ba);
	return 0;
}

static bool id_acceptable(const struct link_memory *lm, uint64_t id,
			  enum link_memory_origin origin)
{
	bool side_b_id = id & LINK_MEMORY_SIDE_B_ID_BIT;
	enum node_link_side creator;

	if (id == LINK_MEMORY_PRIMARY_ID || id == FRAGMENT_INVALID_BUFFER)
		return false;
	creator = origin == LINK_MEMORY_LOCAL ? lm->side :
						node_link_side_other(lm->side);
	return side_b_id == (creator == NODE_LINK_SIDE_B);
}

static bool registered(struct link_memory *lm, uint64_t id)
{
	struct link_memory_buffer unused;

	return link_memory_find_buffer(lm, id, &unused) == 0;
}

/* Everything but the mapping; caller holds register_lock. */
static int check_block_buffer(struct link_memory *lm, uint64_t id, size_t size,
			      uint32_t block_size,
			      enum link_memory_origin origin)
{
	if (!block_buffer_count(size, block_size) ||
	    !id_acceptable(lm, id, origin) || registered(lm, id))
		return -EINVAL;
	if (atomic_load_explicit(&lm->buffer_count, memory_order_relaxed) ==
		    LINK_MEMORY_MAX_BUFFERS ||
	    !buffer_pool_has_room(&lm->pool, block_size) ||
	    lm->total_size + size > LINK_MEMORY_MAX_TOTAL_SIZE)
		return -ENOSPC;
	return 0;
}

int link_memory_check_block_buffer(struct link_memory *lm, uint64_t id,
				   size_t size, uint32_t block_size,
				   enum link_memory_origin origin)
{
	int err;

	pthread_mutex_lock(&lm->register_lock);
	err = check_block_buffer(lm, id, size, block_size, origin);
	pthread_mutex_unlock(&lm->register_lock);
	return err;
}

int link_memory_add_block_buffer(struct link_memory *lm, uint64_t id,
				 void *base, size_t size, uint32_t block_size,
				 enum link_memory_origin origin)
{
	struct link_memory_buffer entry = {
		.id = id,
		.base = base,
		.size = size,
		.block_size = block_size,
	};
	unsigned char *p = base;
	int err;

	if (!base || (uintptr_t)base % 4096)
		return -EINVAL;
	pthread_mutex_lock(&lm->register_lock);
	err = check_block_buffer(lm, id, size, block_size, origin);
	if (err)
		goto out;
	/*
	 * Registry first, pool second: once a block of the buffer can be
	 * allocated, fragments naming it must resolve. Neither step can fail
	 * after the checks above (adders are serialised by the lock).
	 */
	err = publish_buffer(lm, &entry);
	if (!err)
		err = buffer_pool_add_allocator(
			&lm->pool, id, p, block_buffer_data_offset(block_size),
			p + BLOCK_BUFFER_HEAD_OFFSET, block_size,
			block_buffer_count(size, block_size));
	if (!err)
		lm->total_size += size;
out:
	pthread_mutex_unlock(&lm->register_lock);
	return err;
}

bool link_memory_take_growth_request(struct link_memory *lm,
				     uint32_t *block_size)
{
	return buffer_pool_take_growth_request(&lm->pool, block_size);
}

void link_memory_growth_failed(struct link_memory *lm, uint32_t block_size)
{
	buffer_pool_growth_failed(&lm->pool, block_size);
}

int link_memory_find_buffer(struct link_memory *lm, uint64_t id,
			    struct link_memory_buffer *out)
{
	uint32_t n =
		atomic_load_explicit(&lm->buffer_count, memory_order_acquire);
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (buffer_at(lm, i)->id == id) {
			*out = *buffer_at(lm, i);
			return 0;
		}
	}
	return -ENOENT;
}

uint32_t link_memory_buffer_count(struct link_memory *lm)
{
	return atomic_load_explicit(&lm->buffer_count, memory_order_acquire);
}

const struct link_memory_buffer *link_memory_buffer_at(struct link_memory *lm,
						       uint32_t index)
{
	if (index >= link_memory_buffer_count(lm))
		return NULL;
	return buffer_at(lm, index);
}
