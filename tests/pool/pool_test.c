// SPDX-License-Identifier: MIT
/*
 * Tests of the buffer pool and the link memory: size classes, the primary
 * buffer seen from both sides, exhaustion and growth by block buffers,
 * validation of buffers offered by the peer, ids, sublinks, link states,
 * and allocation from two processes at once.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "lib/link_memory.h"
#include "tests/pool/pool_test_util.h"

TEST(size_classes)
{
	EXPECT_EQ(-EINVAL, buffer_pool_class_of(0));
	EXPECT_EQ(0, buffer_pool_class_of(1));
	EXPECT_EQ(0, buffer_pool_class_of(64));
	EXPECT_EQ(1, buffer_pool_class_of(65));
	EXPECT_EQ(6, buffer_pool_class_of(4096));
	EXPECT_EQ(7, buffer_pool_class_of(4097));
	EXPECT_EQ(BUFFER_POOL_NUM_CLASSES - 1,
		  buffer_pool_class_of(BUFFER_POOL_MAX_BLOCK));
	EXPECT_EQ(-EINVAL, buffer_pool_class_of(BUFFER_POOL_MAX_BLOCK + 1));
	EXPECT_EQ(64, buffer_pool_class_size(0));
	EXPECT_EQ(BUFFER_POOL_MAX_BLOCK,
		  buffer_pool_class_size(BUFFER_POOL_NUM_CLASSES - 1));
}

TEST(primary_too_small_or_misaligned_refused)
{
	struct link_memory *lm = calloc(1, sizeof(*lm));
	void *mem = shared_map(2 * LINK_MEMORY_PRIMARY_SIZE);

	ASSERT_NE(NULL, lm);
	ASSERT_NE(NULL, mem);
	EXPECT_EQ(-EINVAL, link_memory_format_primary(
				   mem, LINK_MEMORY_PRIMARY_SIZE - 1));
	EXPECT_EQ(-EINVAL, link_memory_format_primary(
				   (char *)mem + 64, LINK_MEMORY_PRIMARY_SIZE));
	EXPECT_EQ(-EINVAL,
		  link_memory_open(lm, NODE_LINK_SIDE_B, mem,
				   LINK_MEMORY_PRIMARY_SIZE - 4096, NULL));
	EXPECT_EQ(-EINVAL,
		  link_memory_open(lm, NODE_LINK_SIDE_B, (char *)mem + 8,
				   LINK_MEMORY_PRIMARY_SIZE, NULL));
	EXPECT_EQ(-EINVAL, link_memory_open(lm, (enum node_link_side)7, mem,
					    LINK_MEMORY_PRIMARY_SIZE, NULL));
	shared_unmap(mem, 2 * LINK_MEMORY_PRIMARY_SIZE);
	free(lm);
}

FIXTURE(link)
{
	void *primary;
	struct link_memory *a, *b;
	void *extra[80];
	size_t extra_size[80];
	int nr_extra;
};

FIXTURE_SETUP(link)
{
	self->primary = shared_map(LINK_MEMORY_PRIMARY_SIZE);
	ASSERT_NE(NULL, self->primary);
	self->a = calloc(1, sizeof(*self->a));
	self->b = calloc(1, sizeof(*self->b));
	ASSERT_NE(NULL, self->a);
	ASSERT_NE(NULL, self->b);
	self->nr_extra = 0;
	ASSERT_EQ(0, link_memory_format_primary(self->primary,
						LINK_MEMORY_PRIMARY_SIZE));
	ASSERT_EQ(0, link_memory_open(self->a, NODE_LINK_SIDE_A, self->primary,
				      LINK_MEMORY_PRIMARY_SIZE, NULL));
	ASSERT_EQ(0, link_memory_open(self->b, NODE_LINK_SIDE_B, self->primary,
				      LINK_MEMORY_PRIMARY_SIZE, NULL));
}

FIXTURE_TEARDOWN(link)
{
	int i;

	link_memory_close(self->a);
	link_memory_close(self->b);
	for (i = 0; i < self->nr_extra; i++)
		shared_unmap(self->extra[i], self->extra_size[i]);
	shared_unmap(self->primary, LINK_MEMORY_PRIMARY_SIZE);
	free(self->a);
	free(self->b);
}

/* Maps a growth buffer for @block_size (zeroed, so already formatted). */
static void *map_block_buffer(FIXTURE_DATA(link) * self, uint32_t block_size,
			      size_t *size)
{
	void *mem;

	*size = link_memory_block_buffer_size(block_size);
	if (!*size)
		return NULL;
	mem = shared_map(*size);
	if (!mem)
		return NULL;
	self->extra[self->nr_extra] = mem;
	self->extra_size[self->nr_extra++] = *size;
	return mem;
}

TEST_F(link, both_sides_share_blocks)
{
	struct fragment fa, fb;

	ASSERT_EQ(0, fragment_alloc(self->a, 100, &fa));
	EXPECT_EQ(LINK_MEMORY_PRIMARY_ID, fa.desc.buffer_id);
	EXPECT_EQ(100, fa.desc.size);
	memset(fa.data, 0x5a, 100);
	/* B resolves A's descriptor to the same bytes and frees it. */
	ASSERT_EQ(0, fragment_resolve(self->b, &fa.desc, &fb));
	EXPECT_EQ(0x5a, fb.data[99]);
	EXPECT_EQ(0, memcmp(fa.data, fb.data, 100));
	EXPECT_EQ(0, fragment_free(self->b, &fa.desc));
	/* The 128-byte class is LIFO: A gets the same block back. */
	ASSERT_EQ(0, fragment_alloc(self->a, 128, &fb));
	EXPECT_EQ(fa.desc.offset, fb.desc.offset);
}

TEST_F(link, buffer_ids_per_side)
{
	EXPECT_EQ(1, link_memory_new_buffer_id(self->a));
	EXPECT_EQ(2, link_memory_new_buffer_id(self->a));
	EXPECT_EQ(LINK_MEMORY_SIDE_B_ID_BIT | 1,
		  link_memory_new_buffer_id(self->b));
}

TEST_F(link, exhaustion_requests_growth_once)
{
	struct fragment f;
	uint32_t block_size;
	int n = 0;

	EXPECT_FALSE(link_memory_take_growth_request(self->a, &block_size));
	while (fragment_alloc(self->a, 1024, &f) == 0)
		n++;
	EXPECT_EQ(16, n);
	EXPECT_EQ(-ENOMEM, fragment_alloc(self->a, 1000, &f));
	EXPECT_EQ(-ENOMEM, fragment_alloc(self->b, 600, &f));
	ASSERT_TRUE(link_memory_take_growth_request(self->a, &block_size));
	EXPECT_EQ(1024, block_size);
	EXPECT_FALSE(link_memory_take_growth_request(self->a, &block_size));
	/* Pending: more failures do not ask again. */
	EXPECT_EQ(-ENOMEM, fragment_alloc(self->a, 1000, &f));
	EXPECT_FALSE(link_memory_take_growth_request(self->a, &block_size));
	/* Abandoned: the next failure asks again. */
	link_memory_growth_failed(self->a, 1024);
	EXPECT_EQ(-ENOMEM, fragment_alloc(self->a, 1000, &f));
	EXPECT_TRUE(link_memory_take_growth_request(self->a, &block_size));
	/* The peer's own pool object records its own request. */
	EXPECT_TRUE(link_memory_take_growth_request(self->b, &block_size));
}

TEST_F(link, growth_by_block_buffer)
{
	struct fragment f, g;
	uint32_t block_size;
	uint64_t id;
	size_t size;
	void *mem;
	int n = 0;

	while (fragment_alloc(self->a, 3000, &f) == 0)
		;
	ASSERT_TRUE(link_memory_take_growth_request(self->a, &block_size));
	ASSERT_EQ(4096, block_size);
	mem = map_block_buffer(self, block_size, &size);
	ASSERT_NE(NULL, mem);
	EXPECT_EQ(0, size % LINK_MEMORY_BLOCK_BUFFER_GRANULE);
	ASSERT_EQ(0, link_memory_format_block_buffer(mem, size, block_size));
	id = link_memory_new_buffer_id(self->a);
	/* The peer registers it first (AddBlockBuffer), then the creator. */
	ASSERT_EQ(0, link_memory_add_block_buffer(self->b, id, mem, size,
						  block_size,
						  LINK_MEMORY_FROM_PEER));
	ASSERT_EQ(0,
		  link_memory_add_block_buffer(self->a, id, mem, size,
					       block_size, LINK_MEMORY_LOCAL));
	EXPECT_EQ(2, link_memory_buffer_count(self->a));
	ASSERT_EQ(0, fragment_alloc(self->a, 3000, &f));
	EXPECT_EQ(id, f.desc.buffer_id);
	memset(f.data, 7, 3000);
	ASSERT_EQ(0, fragment_resolve(self->b, &f.desc, &g));
	EXPECT_EQ(7, g.data[2999]);
	EXPECT_EQ(0, fragment_free(self->b, &f.desc));
	/* Both sides allocate from the new buffer until it runs out. */
	while (fragment_alloc(n % 2 ? self->a : self->b, 4096, &f) == 0)
		n++;
	EXPECT_EQ((size - 4096) / 4096, n);
}

TEST_F(link, peer_buffers_validated)
{
	size_t size = link_memory_block_buffer_size(256);
	uint64_t b_id = LINK_MEMORY_SIDE_B_ID_BIT | 1;
	char *mem;

	ASSERT_EQ(64 * 1024, size);
	mem = map_block_buffer(self, 256, &size);
	ASSERT_NE(NULL, mem);
	/* A receives from B: ids must carry B's bit. */
	EXPECT_EQ(-EINVAL,
		  link_memory_add_block_buffer(self->a, 1, mem, size, 256,
					       LINK_MEMORY_FROM_PEER));
	EXPECT_EQ(-EINVAL,
		  link_memory_add_block_buffer(self->a, 0, mem, size, 256,
					       LINK_MEMORY_FROM_PEER));
	EXPECT_EQ(-EINVAL, link_memory_add_block_buffer(
				   self->a, FRAGMENT_INVALID_BUFFER, mem, size,
				   256, LINK_MEMORY_FROM_PEER));
	/* Block sizes: only supported powers of two. */
	EXPECT_EQ(-EINVAL,
		  link_memory_add_block_buffer(self->a, b_id, mem, size, 24,
					       LINK_MEMORY_FROM_PEER));
	EXPECT_EQ(-EINVAL,
		  link_memory_add_block_buffer(self->a, b_id, mem, size, 8,
					       LINK_MEMORY_FROM_PEER));
	EXPECT_EQ(-EINVAL,
		  link_memory_add_block_buffer(self->a, b_id, mem, size, 0,
					       LINK_MEMORY_FROM_PEER));
	EXPECT_EQ(-EINVAL, link_memory_add_block_buffer(self->a, b_id, mem,
							size, BUFFER_POOL_MAX_BLOCK * 2,
							LINK_MEMORY_FROM_PEER));
	/* Sizes: too small for one block, not a multiple of 8, too big. */
	EXPECT_EQ(-EINVAL,
		  link_memory_add_block_buffer(self->a, b_id, mem, 300, 256,
					       LINK_MEMORY_FROM_PEER));
	EXPECT_EQ(-EINVAL,
		  link_memory_add_block_buffer(self->a, b_id, mem, size - 3,
					       256, LINK_MEMORY_FROM_PEER));
	EXPECT_EQ(-EINVAL, link_memory_add_block_buffer(
				   self->a, b_id, mem,
				   LINK_MEMORY_MAX_BUFFER_SIZE + 4096, 256,
				   LINK_MEMORY_FROM_PEER));
	EXPECT_EQ(-EINVAL, link_memory_add_block_buffer(self->a, b_id, mem + 64,
							size - 4096, 256,
							LINK_MEMORY_FROM_PEER));
	EXPECT_EQ(1, link_memory_buffer_count(self->a));
	/* A good one, then the same id again. */
	EXPECT_EQ(0, link_memory_add_block_buffer(self->a, b_id, mem, size, 256,
						  LINK_MEMORY_FROM_PEER));
	EXPECT_EQ(-EINVAL,
		  link_memory_add_block_buffer(self->a, b_id, mem, size, 256,
					       LINK_MEMORY_FROM_PEER));
	EXPECT_EQ(2, link_memory_buffer_count(self->a));
}

TEST_F(link, peer_buffers_checked_before_mapping)
{
	uint64_t b_id = LINK_MEMORY_SIDE_B_ID_BIT | 7;
	size_t size = link_memory_block_buffer_size(4096);

	EXPECT_EQ(0, link_memory_check_block_buffer(self->a, b_id, size, 4096,
						    LINK_MEMORY_FROM_PEER));
	EXPECT_EQ(-EINVAL,
		  link_memory_check_block_buffer(self->a, 7, size, 4096,
						 LINK_MEMORY_FROM_PEER));
	EXPECT_EQ(0, link_memory_check_block_buffer(self->a, 7, size, 4096,
						    LINK_MEMORY_LOCAL));
	EXPECT_EQ(-EINVAL,
		  link_memory_check_block_buffer(self->a, b_id, 4096, 4096,
						 LINK_MEMORY_FROM_PEER));
	EXPECT_EQ(-EINVAL,
		  link_memory_check_block_buffer(self->a, b_id, size, 4000,
						 LINK_MEMORY_FROM_PEER));
	/* Checking registers nothing. */
	EXPECT_EQ(1, link_memory_buffer_count(self->a));
}

TEST_F(link, total_size_bounded)
{
	size_t big = LINK_MEMORY_MAX_BUFFER_SIZE;
	void *mem = mmap(NULL, big, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint64_t n, err = 0;

	ASSERT_NE(MAP_FAILED, mem);
	/* The same mapping under many ids: only sizes matter here. */
	for (n = 1; n < 64 && !err; n++)
		err = (uint64_t)-link_memory_add_block_buffer(
			self->a, LINK_MEMORY_SIDE_B_ID_BIT | n, mem, big,
			1u << 20, LINK_MEMORY_FROM_PEER);
	EXPECT_EQ(ENOSPC, err);
	/* 15 x 64 MiB fit in 1 GiB next to the primary; the 16th does not. */
	EXPECT_EQ(17, n);
	EXPECT_EQ(16, link_memory_buffer_count(self->a));
	munmap(mem, big);
}

TEST_F(link, fixed_capacity_never_grows)
{
	struct buffer_pool_config config = { .fixed_capacity = true };
	struct link_memory *fixed = calloc(1, sizeof(*fixed));
	struct fragment f;
	uint32_t block_size;

	ASSERT_NE(NULL, fixed);
	ASSERT_EQ(0, link_memory_open(fixed, NODE_LINK_SIDE_A, self->primary,
				      LINK_MEMORY_PRIMARY_SIZE, &config));
	while (fragment_alloc(fixed, 2048, &f) == 0)
		;
	EXPECT_EQ(-ENOMEM, fragment_alloc(fixed, 2048, &f));
	EXPECT_FALSE(link_memory_take_growth_request(fixed, &block_size));
	/* Link states are essential: they still ask for room. */
	while (fragment_alloc(fixed, 64, &f) == 0)
		;
	EXPECT_FALSE(link_memory_take_growth_request(fixed, &block_size));
	EXPECT_EQ(-ENOMEM, link_memory_alloc_link_state(fixed, &f));
	ASSERT_TRUE(link_memory_take_growth_request(fixed, &block_size));
	EXPECT_EQ(64, block_size);
	link_memory_close(fixed);
	free(fixed);
}

TEST_F(link, class_limit_stops_growth)
{
	struct buffer_pool_config config = { .class_byte_limit = 128 * 1024 };
	struct link_memory *lm = calloc(1, sizeof(*lm));
	struct fragment f;
	uint32_t block_size;
	size_t size;
	int grown = 0;

	ASSERT_NE(NULL, lm);
	ASSERT_EQ(0, link_memory_open(lm, NODE_LINK_SIDE_A, self->primary,
				      LINK_MEMORY_PRIMARY_SIZE, &config));
	for (;;) {
		while (fragment_alloc(lm, 8192, &f) == 0)
			;
		if (!link_memory_take_growth_request(lm, &block_size))
			break;
		ASSERT_EQ(8192, block_size);
		void *mem = map_block_buffer(self, block_size, &size);

		ASSERT_NE(NULL, mem);
		ASSERT_EQ(0, link_memory_add_block_buffer(
				     lm, link_memory_new_buffer_id(lm), mem,
				     size, block_size, LINK_MEMORY_LOCAL));
		grown++;
		ASSERT_LT(grown, 10);
	}
	/* The 8 KiB class starts empty; a buffer adds 15 blocks (120 KiB). */
	EXPECT_EQ(2, grown);
	link_memory_close(lm);
	free(lm);
}

TEST_F(link, allocators_per_class_bounded)
{
	size_t size = link_memory_block_buffer_size(64);
	int i, err = 0;

	for (i = 0; i < (int)BUFFER_POOL_MAX_ALLOCATORS + 1 && !err; i++) {
		void *mem = map_block_buffer(self, 64, &size);

		ASSERT_NE(NULL, mem);
		err = link_memory_add_block_buffer(
			self->a, link_memory_new_buffer_id(self->a), mem, size,
			64, LINK_MEMORY_LOCAL);
	}
	/* The primary region is the class's first allocator. */
	EXPECT_EQ(-ENOSPC, err);
	EXPECT_EQ(BUFFER_POOL_MAX_ALLOCATORS, i);
}

TEST_F(link, sublinks_from_shared_counter)
{
	_Atomic uint64_t *counter = (void *)((char *)self->primary + 64);
	uint64_t first;

	ASSERT_EQ(0, link_memory_alloc_sublinks(self->a, 2, &first));
	EXPECT_EQ(LINK_MEMORY_INITIAL_SUBLINKS, first);
	ASSERT_EQ(0, link_memory_alloc_sublinks(self->b, 1, &first));
	EXPECT_EQ(LINK_MEMORY_INITIAL_SUBLINKS + 2, first);
	EXPECT_EQ(-EINVAL, link_memory_alloc_sublinks(self->a, 0, &first));
	/* A peer rewinding the counter into the fixed range is refused. */
	atomic_store(counter, 3);
	EXPECT_EQ(-EPROTO, link_memory_alloc_sublinks(self->a, 1, &first));
	atomic_store(counter, UINT64_MAX - 1);
	EXPECT_EQ(-EPROTO, link_memory_alloc_sublinks(self->a, 4, &first));
}

TEST_F(link, link_states)
{
	struct shm_link_state *s0 = link_memory_initial_link_state(self->a, 0);
	struct shm_link_state *state;
	struct fragment_desc desc;
	struct fragment f;

	EXPECT_NE(NULL, s0);
	EXPECT_EQ(s0, link_memory_initial_link_state(self->b, 0));
	EXPECT_NE(NULL, link_memory_initial_link_state(self->a, 11));
	EXPECT_EQ(NULL, link_memory_initial_link_state(self->a, 12));
	EXPECT_EQ(0, shm_link_state_status(s0));

	ASSERT_EQ(0, link_memory_alloc_link_state(self->a, &f));
	ASSERT_EQ(0, link_memory_resolve_link_state(self->b, &f.desc, &state));
	EXPECT_EQ((void *)f.data, (void *)state);
	EXPECT_EQ(0, shm_link_state_status(state));

	desc = f.desc;
	desc.size = 63;
	EXPECT_EQ(-EINVAL,
		  link_memory_resolve_link_state(self->b, &desc, &state));
	desc = f.desc;
	desc.offset += 8;
	EXPECT_EQ(-EINVAL,
		  link_memory_resolve_link_state(self->b, &desc, &state));
	/* A 128-byte block's start is not a link state either. */
	ASSERT_EQ(0, fragment_alloc(self->a, 128, &f));
	desc = f.desc;
	desc.size = 64;
	EXPECT_EQ(-EINVAL,
		  link_memory_resolve_link_state(self->b, &desc, &state));
	desc.buffer_id = 99;
	EXPECT_EQ(-ENOENT,
		  link_memory_resolve_link_state(self->b, &desc, &state));
}

/* Allocates and frees in every primary class; checks stamps survive. */
static int pool_churn(struct link_memory *lm, int rounds, uint32_t stamp)
{
	static const uint32_t sizes[] = { 40,  64,   100,  200,
					  500, 1000, 2000, 4000 };
	struct fragment held[8];
	int r, i, failures = 0;

	for (r = 0; r < rounds; r++) {
		for (i = 0; i < 8; i++) {
			int err = fragment_alloc(lm, sizes[i], &held[i]);

			if (err == -ENOMEM) {
				held[i].data = NULL;
				continue;
			}
			if (err)
				return 1000;
			memcpy(held[i].data + 8, &stamp, 4);
			memcpy(held[i].data + 12, &r, 4);
		}
		for (i = 0; i < 8; i++) {
			uint32_t s;
			int rr;

			if (!held[i].data)
				continue;
			memcpy(&s, held[i].data + 8, 4);
			memcpy(&rr, held[i].data + 12, 4);
			if (s != stamp || rr != r)
				failures++;
			if (fragment_free(lm, &held[i].desc))
				failures++;
		}
	}
	return failures;
}

TEST_F(link, two_processes_allocate_concurrently)
{
	int64_t before[7], after;
	pid_t child;
	int i, failures;

	for (i = 0; i < 7; i++)
		before[i] = buffer_pool_count_free(&self->a->pool, i);
	child = fork();
	ASSERT_GE(child, 0);
	if (child == 0)
		_exit(pool_churn(self->b, 20000, 0xb) ? 1 : 0);
	failures = pool_churn(self->a, 20000, 0xa);
	EXPECT_EQ(0, wait_child(child));
	EXPECT_EQ(0, failures);
	for (i = 0; i < 7; i++) {
		after = buffer_pool_count_free(&self->a->pool, i);
		EXPECT_EQ(before[i], after);
	}
}

struct churn_thread_args {
	struct link_memory *lm;
	uint32_t stamp;
	int failures;
};

static void *churn_thread(void *arg)
{
	struct churn_thread_args *a = arg;

	a->failures = pool_churn(a->lm, 5000, a->stamp);
	return NULL;
}

TEST_F(link, threads_allocate_concurrently)
{
	struct churn_thread_args args[3] = {
		{ self->a, 1, 0 },
		{ self->a, 2, 0 },
		{ self->b, 3, 0 },
	};
	pthread_t threads[3];
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, churn_thread,
					    &args[i]));
	for (i = 0; i < 3; i++) {
		pthread_join(threads[i], NULL);
		EXPECT_EQ(0, args[i].failures);
	}
}

struct grow_args {
	struct link_memory *lm;
	void *mem[4];
	size_t size;
	int added;
};

/* Registers growth buffers while other threads allocate and resolve. */
static void *grow_thread(void *arg)
{
	struct grow_args *g = arg;
	int i;

	for (i = 0; i < 4; i++)
		if (!link_memory_add_block_buffer(
			    g->lm, link_memory_new_buffer_id(g->lm), g->mem[i],
			    g->size, 512, LINK_MEMORY_LOCAL))
			g->added++;
	return NULL;
}

TEST_F(link, growth_while_allocating)
{
	struct grow_args g = { .lm = self->a };
	struct churn_thread_args c = { self->a, 9, 0 };
	pthread_t grower, churner;
	int i;

	for (i = 0; i < 4; i++) {
		g.mem[i] = map_block_buffer(self, 512, &g.size);
		ASSERT_NE(NULL, g.mem[i]);
	}
	ASSERT_EQ(0, pthread_create(&churner, NULL, churn_thread, &c));
	ASSERT_EQ(0, pthread_create(&grower, NULL, grow_thread, &g));
	pthread_join(grower, NULL);
	pthread_join(churner, NULL);
	EXPECT_EQ(4, g.added);
	EXPECT_EQ(0, c.failures);
	EXPECT_EQ(5, link_memory_buffer_count(self->a));
}

TEST_HARNESS_MAIN
