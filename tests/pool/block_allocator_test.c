// SPDX-License-Identifier: MIT
/*
 * Tests of the lock-free block allocator: geometry checks, exhaustion,
 * reuse, corruption detection, and concurrent use from threads and from
 * two processes sharing one mapping.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "lib/block_allocator.h"
#include "tests/pool/pool_test_util.h"

#define BLOCK 64u
#define COUNT 128u

FIXTURE(region)
{
	void *mem;
	struct block_allocator ba;
};

FIXTURE_SETUP(region)
{
	self->mem = shared_map(4096 + BLOCK * COUNT);
	ASSERT_NE(NULL, self->mem);
	ASSERT_EQ(0, block_allocator_init_view(&self->ba, self->mem,
					       (char *)self->mem + 4096, BLOCK,
					       COUNT));
}

FIXTURE_TEARDOWN(region)
{
	shared_unmap(self->mem, 4096 + BLOCK * COUNT);
}

TEST(bad_geometry_refused)
{
	struct block_allocator ba;
	_Alignas(8) unsigned char mem[256];

	EXPECT_EQ(-EINVAL, block_allocator_init_view(&ba, mem, mem + 8, 4, 8));
	EXPECT_EQ(-EINVAL, block_allocator_init_view(&ba, mem, mem + 8, 12, 8));
	EXPECT_EQ(-EINVAL, block_allocator_init_view(&ba, mem, mem + 8, 0, 8));
	EXPECT_EQ(-EINVAL, block_allocator_init_view(&ba, mem, mem + 8, 8, 0));
	EXPECT_EQ(-EINVAL,
		  block_allocator_init_view(&ba, mem + 1, mem + 8, 8, 8));
	EXPECT_EQ(-EINVAL, block_allocator_init_view(&ba, mem, mem + 4, 8, 8));
	EXPECT_EQ(-EINVAL,
		  block_allocator_init_view(&ba, mem, mem + 8, 8,
					    BLOCK_ALLOCATOR_MAX_BLOCKS + 1));
	EXPECT_EQ(0, block_allocator_init_view(&ba, mem, mem + 8, 8, 8));
}

TEST_F(region, zeroed_memory_is_a_full_free_list)
{
	EXPECT_EQ(COUNT, block_allocator_count_free(&self->ba));
	for (uint32_t i = 0; i < COUNT; i++)
		ASSERT_EQ(i, block_allocator_alloc(&self->ba));
}

TEST_F(region, exhaustion_then_reuse)
{
	int64_t got[COUNT];
	uint32_t i;

	block_allocator_format(&self->ba);
	for (i = 0; i < COUNT; i++) {
		got[i] = block_allocator_alloc(&self->ba);
		ASSERT_GE(got[i], 0);
		ASSERT_LT(got[i], COUNT);
		memset(block_allocator_block(&self->ba, (uint32_t)got[i]), 0xa5,
		       BLOCK);
	}
	EXPECT_EQ(-ENOMEM, block_allocator_alloc(&self->ba));
	EXPECT_EQ(0, block_allocator_count_free(&self->ba));
	/* Free in a scrambled order; everything comes back, LIFO. */
	for (i = 0; i < COUNT; i++)
		ASSERT_EQ(0,
			  block_allocator_free(
				  &self->ba, (uint32_t)got[(i * 37) % COUNT]));
	EXPECT_EQ(COUNT, block_allocator_count_free(&self->ba));
	EXPECT_EQ(got[((COUNT - 1) * 37) % COUNT],
		  block_allocator_alloc(&self->ba));
	for (i = 1; i < COUNT; i++)
		ASSERT_GE(block_allocator_alloc(&self->ba), 0);
	EXPECT_EQ(-ENOMEM, block_allocator_alloc(&self->ba));
}

TEST_F(region, free_out_of_range_refused)
{
	EXPECT_EQ(-EINVAL, block_allocator_free(&self->ba, COUNT));
	EXPECT_EQ(-EINVAL, block_allocator_free(&self->ba, UINT32_MAX));
	EXPECT_EQ(NULL, block_allocator_block(&self->ba, COUNT));
}

TEST_F(region, index_of_checks_block_starts)
{
	char *blocks = (char *)self->mem + 4096;

	EXPECT_EQ(3, block_allocator_index_of(&self->ba, blocks + 3 * BLOCK));
	EXPECT_EQ(-EINVAL, block_allocator_index_of(&self->ba, blocks + 1));
	EXPECT_EQ(-EINVAL, block_allocator_index_of(&self->ba, blocks - BLOCK));
	EXPECT_EQ(-EINVAL,
		  block_allocator_index_of(&self->ba, blocks + COUNT * BLOCK));
}

TEST_F(region, corrupt_head_detected)
{
	_Atomic uint64_t *head = self->mem;

	atomic_store(head, (uint64_t)7 << 32 | (COUNT + 5));
	EXPECT_EQ(-EPROTO, block_allocator_alloc(&self->ba));
	EXPECT_EQ(-EPROTO, block_allocator_count_free(&self->ba));
	atomic_store(head, (uint64_t)7 << 32 | 0xffffffffu);
	EXPECT_EQ(-EPROTO, block_allocator_alloc(&self->ba));
	/*
	 * Free never follows links, so it succeeds, but the freed block now
	 * links to the garbage: the next allocation sees it and refuses.
	 */
	EXPECT_EQ(0, block_allocator_free(&self->ba, 3));
	EXPECT_EQ(-EPROTO, block_allocator_alloc(&self->ba));
	/* A repaired head makes the region usable again. */
	atomic_store(head, 0);
	EXPECT_EQ(0, block_allocator_alloc(&self->ba));
}

TEST_F(region, corrupt_next_detected)
{
	_Atomic uint32_t *link = (void *)((char *)self->mem + 4096);

	/* Block 0's link now points far past the region. */
	atomic_store(link, 1000000);
	EXPECT_EQ(-EPROTO, block_allocator_alloc(&self->ba));
	EXPECT_EQ(-EPROTO, block_allocator_count_free(&self->ba));
}

TEST_F(region, cycle_detected_by_bounded_walk)
{
	_Atomic uint32_t *link0 = (void *)((char *)self->mem + 4096);
	_Atomic uint32_t *link1 = (void *)((char *)self->mem + 4096 + BLOCK);

	/* 0 -> 1 -> 0: deltas are next - (index + 1). */
	atomic_store(link0, 0);
	atomic_store(link1, (uint32_t)(0 - 2));
	EXPECT_EQ(-EPROTO, block_allocator_count_free(&self->ba));
	/* Allocation never walks, so a cycle costs nothing there. */
	EXPECT_EQ(0, block_allocator_alloc(&self->ba));
	EXPECT_EQ(1, block_allocator_alloc(&self->ba));
	EXPECT_EQ(0, block_allocator_alloc(&self->ba));
}

struct churn_args {
	struct block_allocator *ba;
	uint32_t rounds;
	uint32_t stamp;
	int failures;
};

/*
 * Allocates a handful of blocks, stamps them past the link word, checks
 * the stamps are intact, frees them. Two owners of one block would show up
 * as a foreign stamp.
 */
static int churn(struct block_allocator *ba, uint32_t rounds, uint32_t stamp)
{
	int64_t held[8];
	uint32_t r, i;
	int failures = 0;

	for (r = 0; r < rounds; r++) {
		for (i = 0; i < 8; i++) {
			held[i] = block_allocator_alloc(ba);
			if (held[i] == -ENOMEM) {
				held[i] = -1;
				continue;
			}
			if (held[i] < 0)
				return 1000;
			uint32_t *p =
				block_allocator_block(ba, (uint32_t)held[i]);

			p[2] = stamp;
			p[3] = r;
		}
		for (i = 0; i < 8; i++) {
			uint32_t *p;

			if (held[i] < 0)
				continue;
			p = block_allocator_block(ba, (uint32_t)held[i]);
			if (p[2] != stamp || p[3] != r)
				failures++;
			if (block_allocator_free(ba, (uint32_t)held[i]))
				failures++;
		}
	}
	return failures;
}

static void *churn_thread(void *arg)
{
	struct churn_args *a = arg;

	a->failures = churn(a->ba, a->rounds, a->stamp);
	return NULL;
}

TEST_F(region, concurrent_threads)
{
	struct churn_args args[4];
	pthread_t threads[4];
	int i;

	for (i = 0; i < 4; i++) {
		args[i] =
			(struct churn_args){ &self->ba, 20000, 0x1000u + i, 0 };
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, churn_thread,
					    &args[i]));
	}
	for (i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		EXPECT_EQ(0, args[i].failures);
	}
	EXPECT_EQ(COUNT, block_allocator_count_free(&self->ba));
}

TEST_F(region, concurrent_processes)
{
	pid_t child;
	int parent_failures;

	child = fork();
	ASSERT_GE(child, 0);
	if (child == 0)
		_exit(churn(&self->ba, 50000, 0xc0ffee) ? 1 : 0);
	parent_failures = churn(&self->ba, 50000, 0xbeef);
	EXPECT_EQ(0, wait_child(child));
	EXPECT_EQ(0, parent_failures);
	EXPECT_EQ(COUNT, block_allocator_count_free(&self->ba));
}

TEST_F(region, contention_small_region)
{
	struct block_allocator tiny;
	struct churn_args args[3];
	pthread_t threads[3];
	int i;

	/* Four blocks, three threads wanting eight each: constant -ENOMEM. */
	ASSERT_EQ(0, block_allocator_init_view(&tiny, self->mem,
					       (char *)self->mem + 4096, BLOCK,
					       4));
	block_allocator_format(&tiny);
	for (i = 0; i < 3; i++) {
		args[i] = (struct churn_args){ &tiny, 20000, 0x2000u + i, 0 };
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, churn_thread,
					    &args[i]));
	}
	for (i = 0; i < 3; i++) {
		pthread_join(threads[i], NULL);
		EXPECT_EQ(0, args[i].failures);
	}
	EXPECT_EQ(4, block_allocator_count_free(&tiny));
}

TEST_HARNESS_MAIN
