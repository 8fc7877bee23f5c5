// SPDX-License-Identifier: MIT
/*
 * Tests of fragment descriptors: resolution of good ones, refusal of every
 * kind of bad one, freeing only whole allocated blocks, ref-counted and
 * data fragments (also with corrupted headers).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "lib/link_memory.h"
#include "tests/pool/pool_test_util.h"

FIXTURE(frag)
{
	void *primary;
	void *growth;
	size_t growth_size;
	uint64_t growth_id;
	struct link_memory *lm;
};

FIXTURE_SETUP(frag)
{
	self->primary = shared_map(LINK_MEMORY_PRIMARY_SIZE);
	self->lm = calloc(1, sizeof(*self->lm));
	ASSERT_NE(NULL, self->primary);
	ASSERT_NE(NULL, self->lm);
	ASSERT_EQ(0, link_memory_format_primary(self->primary,
						LINK_MEMORY_PRIMARY_SIZE));
	ASSERT_EQ(0, link_memory_open(self->lm, NODE_LINK_SIDE_A, self->primary,
				      LINK_MEMORY_PRIMARY_SIZE, NULL));
	self->growth_size = link_memory_block_buffer_size(64);
	self->growth = shared_map(self->growth_size);
	ASSERT_NE(NULL, self->growth);
	self->growth_id = link_memory_new_buffer_id(self->lm);
	ASSERT_EQ(0, link_memory_add_block_buffer(
			     self->lm, self->growth_id, self->growth,
			     self->growth_size, 64, LINK_MEMORY_LOCAL));
}

FIXTURE_TEARDOWN(frag)
{
	link_memory_close(self->lm);
	free(self->lm);
	shared_unmap(self->growth, self->growth_size);
	shared_unmap(self->primary, LINK_MEMORY_PRIMARY_SIZE);
}

static struct fragment_desc desc(uint64_t id, uint32_t offset, uint32_t size)
{
	struct fragment_desc d = { id, offset, size };

	return d;
}

TEST_F(frag, good_descriptors_resolve)
{
	struct fragment f;
	struct fragment_desc d;

	d = desc(0, 0, LINK_MEMORY_PRIMARY_SIZE);
	ASSERT_EQ(0, fragment_resolve(self->lm, &d, &f));
	EXPECT_EQ((unsigned char *)self->primary, f.data);
	d = desc(0, LINK_MEMORY_PRIMARY_SIZE - 8, 8);
	ASSERT_EQ(0, fragment_resolve(self->lm, &d, &f));
	EXPECT_EQ((unsigned char *)self->primary + LINK_MEMORY_PRIMARY_SIZE - 8,
		  f.data);
	d = desc(self->growth_id, 128, 64);
	ASSERT_EQ(0, fragment_resolve(self->lm, &d, &f));
	EXPECT_EQ((unsigned char *)self->growth + 128, f.data);
}

TEST_F(frag, every_bad_descriptor_refused)
{
	const uint32_t size = LINK_MEMORY_PRIMARY_SIZE;
	const struct {
		struct fragment_desc d;
		int err;
	} bad[] = {
		{ { FRAGMENT_INVALID_BUFFER, 0, 0 }, -EINVAL }, /* null */
		{ { FRAGMENT_INVALID_BUFFER, 0, 8 }, -EINVAL },
		{ { 0, 0, 0 }, -EINVAL }, /* empty */
		{ { 0, 1, 8 }, -EINVAL }, /* misaligned */
		{ { 0, 4, 8 }, -EINVAL },
		{ { 0, size, 8 }, -EINVAL }, /* past end */
		{ { 0, size + 8, 8 }, -EINVAL },
		{ { 0, size - 8, 16 }, -EINVAL }, /* straddles */
		{ { 0, 0, size + 1 }, -EINVAL }, /* too big */
		{ { 0, 8, UINT32_MAX }, -EINVAL }, /* overflow */
		{ { 0, UINT32_MAX - 7, UINT32_MAX }, -EINVAL },
		{ { 0, 0xfffffff8u, 16 }, -EINVAL },
		{ { 12345, 0, 8 }, -ENOENT }, /* unknown */
		{ { LINK_MEMORY_SIDE_B_ID_BIT | 1, 0, 8 }, -ENOENT },
		{ { self->growth_id, 65536, 8 }, -EINVAL },
	};
	struct fragment f = { { 0 }, NULL };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(bad[i].err, fragment_resolve(self->lm, &bad[i].d, &f))
		{
			TH_LOG("descriptor %zu accepted or misreported", i);
		}
		EXPECT_EQ(NULL, f.data);
	}
	EXPECT_TRUE(fragment_desc_is_null(&bad[0].d));
	struct fragment_desc null = fragment_desc_null();

	EXPECT_TRUE(fragment_desc_is_null(&null));
	EXPECT_FALSE(fragment_desc_is_null(&bad[1].d));
}

TEST_F(frag, free_accepts_only_whole_blocks)
{
	struct fragment f, g;
	struct fragment_desc d;
	int64_t free_before = buffer_pool_count_free(&self->lm->pool, 1);

	ASSERT_EQ(0, fragment_alloc(self->lm, 100, &f));
	EXPECT_EQ(free_before - 1, buffer_pool_count_free(&self->lm->pool, 1));
	/* Inside the block, not its start. */
	d = f.desc;
	d.offset += 8;
	EXPECT_EQ(-EINVAL, fragment_free(self->lm, &d));
	/* Size of another class: no such block of that class there. */
	d = f.desc;
	d.size = 1000;
	EXPECT_EQ(-EINVAL, fragment_free(self->lm, &d));
	d.size = 64;
	EXPECT_EQ(-EINVAL, fragment_free(self->lm, &d));
	/* The header page, the rings, unknown buffers, garbage sizes. */
	d = desc(0, 0, 64);
	EXPECT_EQ(-EINVAL, fragment_free(self->lm, &d));
	d = desc(0, 4096, 64);
	EXPECT_EQ(-EINVAL, fragment_free(self->lm, &d));
	d = desc(77, f.desc.offset, 100);
	EXPECT_EQ(-EINVAL, fragment_free(self->lm, &d));
	d = desc(0, f.desc.offset, 0);
	EXPECT_EQ(-EINVAL, fragment_free(self->lm, &d));
	d = desc(0, f.desc.offset, 2u << 20);
	EXPECT_EQ(-EINVAL, fragment_free(self->lm, &d));
	/* A growth buffer's header is not a block. */
	d = desc(self->growth_id, 0, 64);
	EXPECT_EQ(-EINVAL, fragment_free(self->lm, &d));
	EXPECT_EQ(free_before - 1, buffer_pool_count_free(&self->lm->pool, 1));
	/* The real one, once. */
	EXPECT_EQ(0, fragment_free(self->lm, &f.desc));
	EXPECT_EQ(free_before, buffer_pool_count_free(&self->lm->pool, 1));
	EXPECT_EQ(-EINVAL, fragment_alloc(self->lm, 0, &g));
}

TEST_F(frag, ref_counted)
{
	int64_t free_before = buffer_pool_count_free(&self->lm->pool, 0);
	struct fragment f, peer;
	_Atomic int32_t *count;

	ASSERT_EQ(0, ref_fragment_alloc(self->lm, 40, &f));
	EXPECT_EQ(48, f.desc.size);
	count = (_Atomic int32_t *)f.data;
	EXPECT_EQ(1, atomic_load(count));
	memset(fragment_payload(&f), 1, 40);
	/* Hand a reference to the peer: +1 here, the peer releases it. */
	ASSERT_EQ(0, ref_fragment_acquire(&f));
	ASSERT_EQ(0, fragment_resolve(self->lm, &f.desc, &peer));
	EXPECT_EQ(0, ref_fragment_release(self->lm, &peer));
	EXPECT_EQ(1, atomic_load(count));
	EXPECT_EQ(1, ref_fragment_release(self->lm, &f));
	EXPECT_EQ(free_before, buffer_pool_count_free(&self->lm->pool, 0));
}

TEST_F(frag, ref_count_corruption_refused)
{
	struct fragment f, small;
	_Atomic int32_t *count;

	ASSERT_EQ(0, ref_fragment_alloc(self->lm, 8, &f));
	count = (_Atomic int32_t *)f.data;
	atomic_store(count, 0);
	EXPECT_EQ(-EPROTO, ref_fragment_acquire(&f));
	atomic_store(count, -5);
	EXPECT_EQ(-EPROTO, ref_fragment_release(self->lm, &f));
	atomic_store(count, INT32_MAX);
	EXPECT_EQ(-EPROTO, ref_fragment_acquire(&f));
	small = f;
	small.desc.size = 4;
	EXPECT_EQ(-EINVAL, ref_fragment_acquire(&small));
	EXPECT_EQ(-EINVAL, ref_fragment_release(self->lm, &small));
}

TEST_F(frag, data_fragments)
{
	struct fragment f, seen;
	const void *data;
	uint32_t len;

	ASSERT_EQ(0, data_fragment_alloc(self->lm, 1000, &f));
	EXPECT_EQ(1008, f.desc.size);
	ASSERT_EQ(0, data_fragment_adopt(&f, &data, &len));
	EXPECT_EQ(0, len);
	memcpy(fragment_payload(&f), "parcel", 6);
	EXPECT_EQ(-EINVAL, data_fragment_commit(&f, 1001));
	ASSERT_EQ(0, data_fragment_commit(&f, 6));
	ASSERT_EQ(0, fragment_resolve(self->lm, &f.desc, &seen));
	ASSERT_EQ(0, data_fragment_adopt(&seen, &data, &len));
	EXPECT_EQ(6, len);
	EXPECT_EQ(0, memcmp(data, "parcel", 6));
	/* A peer claiming more data than the fragment holds. */
	atomic_store((_Atomic uint32_t *)f.data, 1001);
	EXPECT_EQ(-EPROTO, data_fragment_adopt(&seen, &data, &len));
	atomic_store((_Atomic uint32_t *)f.data, UINT32_MAX);
	EXPECT_EQ(-EPROTO, data_fragment_adopt(&seen, &data, &len));
	EXPECT_EQ(-EINVAL, data_fragment_alloc(self->lm, UINT32_MAX, &f));
	EXPECT_EQ(-EINVAL,
		  data_fragment_alloc(self->lm, BUFFER_POOL_MAX_BLOCK, &f));
}

struct late_free {
	struct link_memory *lm;
	struct fragment_desc desc;
	atomic_bool started;
};

/*
 * Frees the block right after announcing itself: the main thread is then
 * about to wait or already waiting (or, rarely, finds the block free at
 * once, which the test accepts too).
 */
static void *free_later(void *arg)
{
	struct late_free *l = arg;

	atomic_store(&l->started, true);
	fragment_free(l->lm, &l->desc);
	return NULL;
}

/*
 * 2000 bytes of data take a 2 KiB block; the primary buffer has 16, and a
 * fixed-capacity pool never grows: the 17th allocation has to wait. 6000
 * bytes take an 8 KiB block, of which the primary buffer has none.
 */
TEST(data_fragment_waits_for_a_freed_block)
{
	struct buffer_pool_config fixed = { .fixed_capacity = true };
	void *primary = shared_map(LINK_MEMORY_PRIMARY_SIZE);
	struct link_memory *lm = calloc(1, sizeof(*lm));
	struct fragment held[16], f;
	struct late_free late;
	pthread_t thread;
	uint64_t start;
	int i;

	ASSERT_NE(NULL, primary);
	ASSERT_NE(NULL, lm);
	ASSERT_EQ(0, link_memory_format_primary(primary,
						LINK_MEMORY_PRIMARY_SIZE));
	ASSERT_EQ(0, link_memory_open(lm, NODE_LINK_SIDE_A, primary,
				      LINK_MEMORY_PRIMARY_SIZE, &fixed));
	for (i = 0; i < 16; i++)
		ASSERT_EQ(0, data_fragment_alloc(lm, 2000, &held[i]));
	/* Nobody frees: the wait runs out... */
	start = test_now_ns();
	EXPECT_EQ(-ENOMEM, data_fragment_alloc(lm, 2000, &f));
	EXPECT_LE(FRAGMENT_DATA_WAIT_NS, test_now_ns() - start);
	/* ...and the next attempt does not wait at all. */
	start = test_now_ns();
	EXPECT_EQ(-ENOMEM, data_fragment_alloc(lm, 2000, &f));
	EXPECT_GT(FRAGMENT_DATA_WAIT_NS, test_now_ns() - start);
	/* Other classes still succeed; one without blocks never waits. */
	ASSERT_EQ(0, data_fragment_alloc(lm, 100, &f));
	ASSERT_EQ(0, fragment_free(lm, &f.desc));
	start = test_now_ns();
	EXPECT_EQ(-ENOMEM, data_fragment_alloc(lm, 6000, &f));
	EXPECT_GT(FRAGMENT_DATA_WAIT_NS, test_now_ns() - start);
	/* Success in another class does not make the exhausted one wait. */
	start = test_now_ns();
	EXPECT_EQ(-ENOMEM, data_fragment_alloc(lm, 2000, &f));
	EXPECT_GT(FRAGMENT_DATA_WAIT_NS, test_now_ns() - start);
	/* A block that comes back re-enables waiting. */
	ASSERT_EQ(0, fragment_free(lm, &held[15].desc));
	ASSERT_EQ(0, data_fragment_alloc(lm, 2000, &held[15]));
	/* A block freed by another thread during the wait is taken. */
	late.lm = lm;
	late.desc = held[0].desc;
	atomic_init(&late.started, false);
	ASSERT_EQ(0, pthread_create(&thread, NULL, free_later, &late));
	while (!atomic_load(&late.started))
		sched_yield();
	EXPECT_EQ(0, data_fragment_alloc(lm, 2000, &f));
	pthread_join(thread, NULL);
	EXPECT_EQ(held[0].desc.offset, f.desc.offset);
	link_memory_close(lm);
	free(lm);
	shared_unmap(primary, LINK_MEMORY_PRIMARY_SIZE);
}

/* A class that may still grow does not wait: the caller grows it. */
TEST_F(frag, growable_class_does_not_wait)
{
	struct fragment f;
	uint64_t start;
	uint32_t block_size;
	int i, err = 0;

	for (i = 0; i < 64 && !err; i++)
		err = data_fragment_alloc(self->lm, 8000, &f);
	ASSERT_EQ(-ENOMEM, err);
	start = test_now_ns();
	EXPECT_EQ(-ENOMEM, data_fragment_alloc(self->lm, 8000, &f));
	EXPECT_GT(FRAGMENT_DATA_WAIT_NS, test_now_ns() - start);
	ASSERT_TRUE(link_memory_take_growth_request(self->lm, &block_size));
	EXPECT_EQ(8192, block_size);
}

TEST_HARNESS_MAIN
