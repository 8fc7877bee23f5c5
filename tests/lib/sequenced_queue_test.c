// SPDX-License-Identifier: MIT
/*
 * The sequenced queue: out-of-order insertion with only the contiguous
 * prefix exposed, O(1) counts, refusal of duplicates, stale and too-distant
 * numbers, final lengths, skipping and forced termination.
 */
#include "kselftest_harness.h"
#include "lib/sequenced_queue.h"

static int elements[64];
static int dropped;

static void *el(int i)
{
	return &elements[i];
}

static void count_drop(void *element)
{
	(void)element;
	dropped++;
}

TEST(in_order)
{
	struct sequenced_queue q;
	int i;

	seq_queue_init(&q, 0);
	for (i = 0; i < 10; i++)
		ASSERT_TRUE(seq_queue_push(&q, i, el(i), 10 + i));
	ASSERT_EQ(10, seq_queue_available(&q));
	ASSERT_EQ(145, seq_queue_available_bytes(&q));
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(el(i), seq_queue_peek(&q));
		ASSERT_EQ(el(i), seq_queue_pop(&q));
	}
	ASSERT_EQ(NULL, seq_queue_pop(&q));
	ASSERT_EQ(10, seq_queue_current(&q));
	ASSERT_EQ(0, seq_queue_available_bytes(&q));
	seq_queue_destroy(&q, NULL);
}

TEST(out_of_order_exposes_only_the_prefix)
{
	struct sequenced_queue q;

	seq_queue_init(&q, 0);
	ASSERT_TRUE(seq_queue_push(&q, 2, el(2), 1));
	ASSERT_TRUE(seq_queue_push(&q, 4, el(4), 1));
	ASSERT_FALSE(seq_queue_has_next(&q));
	ASSERT_EQ(0, seq_queue_length(&q));
	ASSERT_TRUE(seq_queue_push(&q, 0, el(0), 5));
	ASSERT_EQ(1, seq_queue_available(&q));
	ASSERT_TRUE(seq_queue_push(&q, 1, el(1), 7));
	/* 0, 1 and 2 are now contiguous; 4 waits for 3. */
	ASSERT_EQ(3, seq_queue_available(&q));
	ASSERT_EQ(13, seq_queue_available_bytes(&q));
	ASSERT_EQ(3, seq_queue_length(&q));
	ASSERT_TRUE(seq_queue_push(&q, 3, el(3), 1));
	ASSERT_EQ(5, seq_queue_available(&q));
	ASSERT_EQ(el(0), seq_queue_pop(&q));
	ASSERT_EQ(4, seq_queue_available(&q));
	ASSERT_EQ(10, seq_queue_available_bytes(&q));
	seq_queue_destroy(&q, NULL);
}

TEST(refuses_duplicates_stale_and_far)
{
	struct sequenced_queue q;

	seq_queue_init(&q, 5);
	ASSERT_FALSE(seq_queue_push(&q, 4, el(4), 1));
	ASSERT_TRUE(seq_queue_push(&q, 6, el(6), 1));
	ASSERT_FALSE(seq_queue_push(&q, 6, el(7), 1));
	ASSERT_TRUE(seq_queue_push(&q, 5, el(5), 1));
	ASSERT_EQ(el(5), seq_queue_pop(&q));
	ASSERT_FALSE(seq_queue_push(&q, 5, el(5), 1));
	ASSERT_FALSE(seq_queue_push(&q, 6 + SEQ_MAX_GAP + 1, el(1), 1));
	ASSERT_FALSE(seq_queue_push(&q, 8, NULL, 1));
	seq_queue_destroy(&q, NULL);
}

TEST(final_length)
{
	struct sequenced_queue q;

	seq_queue_init(&q, 0);
	ASSERT_TRUE(seq_queue_push(&q, 0, el(0), 1));
	ASSERT_TRUE(seq_queue_push(&q, 2, el(2), 1));
	/* Shorter than what was already pushed: impossible. */
	ASSERT_FALSE(seq_queue_set_final_length(&q, 2));
	ASSERT_TRUE(seq_queue_set_final_length(&q, 3));
	ASSERT_FALSE(seq_queue_set_final_length(&q, 4));
	ASSERT_FALSE(seq_queue_push(&q, 3, el(3), 1));
	ASSERT_TRUE(seq_queue_expects_more(&q));
	ASSERT_TRUE(seq_queue_push(&q, 1, el(1), 1));
	ASSERT_FALSE(seq_queue_expects_more(&q));
	ASSERT_FALSE(seq_queue_fully_consumed(&q));
	seq_queue_pop(&q);
	seq_queue_pop(&q);
	seq_queue_pop(&q);
	ASSERT_TRUE(seq_queue_fully_consumed(&q));
	seq_queue_destroy(&q, NULL);
}

TEST(skip_for_direct_sends)
{
	struct sequenced_queue q;

	seq_queue_init(&q, 0);
	ASSERT_TRUE(seq_queue_skip(&q, 0));
	ASSERT_FALSE(seq_queue_skip(&q, 0));
	ASSERT_FALSE(seq_queue_skip(&q, 2));
	ASSERT_TRUE(seq_queue_push(&q, 2, el(2), 1));
	ASSERT_TRUE(seq_queue_skip(&q, 1));
	/* Skipping 1 made 2 the head. */
	ASSERT_EQ(el(2), seq_queue_peek(&q));
	ASSERT_FALSE(seq_queue_skip(&q, 2));
	ASSERT_TRUE(seq_queue_set_final_length(&q, 3));
	ASSERT_EQ(el(2), seq_queue_pop(&q));
	ASSERT_FALSE(seq_queue_skip(&q, 3));
	seq_queue_destroy(&q, NULL);
}

TEST(force_terminate_drops_the_unreachable)
{
	struct sequenced_queue q;

	dropped = 0;
	seq_queue_init(&q, 0);
	ASSERT_TRUE(seq_queue_push(&q, 0, el(0), 1));
	ASSERT_TRUE(seq_queue_push(&q, 3, el(3), 1));
	ASSERT_TRUE(seq_queue_push(&q, 5, el(5), 1));
	seq_queue_force_terminate(&q, count_drop);
	ASSERT_EQ(2, dropped);
	ASSERT_EQ(1, q.final_length);
	ASSERT_FALSE(seq_queue_expects_more(&q));
	ASSERT_EQ(el(0), seq_queue_pop(&q));
	ASSERT_TRUE(seq_queue_fully_consumed(&q));
	seq_queue_destroy(&q, count_drop);
	ASSERT_EQ(2, dropped);
}

TEST(destroy_drops_everything_queued)
{
	struct sequenced_queue q;
	int i;

	dropped = 0;
	seq_queue_init(&q, 0);
	for (i = 1; i < 40; i += 2)
		ASSERT_TRUE(seq_queue_push(&q, i, el(i), 1));
	seq_queue_destroy(&q, count_drop);
	ASSERT_EQ(20, dropped);
}

TEST(ring_wraps_and_grows)
{
	struct sequenced_queue q;
	uint64_t n = 0, popped = 0;
	int round;

	seq_queue_init(&q, 0);
	for (round = 0; round < 100; round++) {
		int k;

		/* Push a few in reverse, pop fewer: the ring wraps. */
		for (k = 2; k >= 0; k--)
			ASSERT_TRUE(seq_queue_push(&q, n + k, el(k), 1));
		n += 3;
		for (k = 0; k < 2; k++)
			ASSERT_NE(NULL, seq_queue_pop(&q));
		popped += 2;
		ASSERT_EQ(n - popped, seq_queue_available(&q));
	}
	ASSERT_EQ(popped, seq_queue_current(&q));
	seq_queue_destroy(&q, NULL);
}

TEST_HARNESS_MAIN
