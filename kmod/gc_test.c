// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the cycle collector: cycles only queues hold are freed,
 * anything reachable from a reference outside the queues is left alone.
 */
#include <kunit/test.h>
#include <linux/poll.h>

#include "test_util.h"

struct ipcz_gc_baseline {
	long transports;
	long messages;
	long regions;
	u64 collected;
};

static void ipcz_gc_baseline(struct ipcz_gc_baseline *base)
{
	base->transports = ipcz_kind_count(IPCZ_KIND_TRANSPORT);
	base->messages = ipcz_kind_count(IPCZ_KIND_MESSAGE);
	base->regions = ipcz_kind_count(IPCZ_KIND_REGION);
	base->collected = ipcz_gc_collected();
}

/* Runs the collector and waits until what it dropped is released. */
static void ipcz_test_collect(struct file *closing)
{
	ipcz_gc_run(closing);
	ipcz_test_settle();
}

static void ipcz_gc_expect_back_to(struct kunit *test,
				   const struct ipcz_gc_baseline *base)
{
	KUNIT_EXPECT_EQ(test, base->transports,
			ipcz_kind_count(IPCZ_KIND_TRANSPORT));
	KUNIT_EXPECT_EQ(test, base->messages,
			ipcz_kind_count(IPCZ_KIND_MESSAGE));
	KUNIT_EXPECT_EQ(test, base->regions,
			ipcz_kind_count(IPCZ_KIND_REGION));
	KUNIT_EXPECT_EQ(test, 0UL, ipcz_gc_total_inflight());
}

static void ipcz_gc_frees_pair_sent_to_itself(struct kunit *test)
{
	struct ipcz_node *node = ipcz_test_node(test);
	struct ipcz_gc_baseline base;
	struct file *a, *b;

	ipcz_gc_baseline(&base);
	ipcz_test_pair(test, node, &a, &b);
	/* Each end sits in its own queue. */
	KUNIT_EXPECT_EQ(test, 0, ipcz_test_send(test, a, 1, &b, 1));
	KUNIT_EXPECT_EQ(test, 0, ipcz_test_send(test, b, 1, &a, 1));
	fput(a);
	fput(b);
	ipcz_test_settle();
	/* Nothing else will ever free them. */
	KUNIT_EXPECT_EQ(test, base.transports + 2,
			ipcz_kind_count(IPCZ_KIND_TRANSPORT));

	ipcz_test_collect(NULL);
	KUNIT_EXPECT_EQ(test, base.collected + 2, ipcz_gc_collected());
	ipcz_gc_expect_back_to(test, &base);
	ipcz_node_close(node);
}

static void ipcz_gc_spares_what_is_held(struct kunit *test)
{
	struct ipcz_node *node = ipcz_test_node(test);
	struct ipcz_gc_baseline base;
	struct file *a, *b, *c, *d;

	ipcz_gc_baseline(&base);
	ipcz_test_pair(test, node, &a, &b);
	ipcz_test_pair(test, node, &c, &d);
	/* c and d are queued to a, which stays held; b is queued to c. */
	KUNIT_EXPECT_EQ(test, 0, ipcz_test_send(test, b, 1, &c, 1));
	KUNIT_EXPECT_EQ(test, 0, ipcz_test_send(test, b, 1, &d, 1));
	KUNIT_EXPECT_EQ(test, 0, ipcz_test_send(test, d, 1, &b, 1));
	fput(b);
	fput(c);
	fput(d);
	ipcz_test_settle();

	/* Only queues hold b, c and d, but a's holder can receive them. */
	ipcz_test_collect(NULL);
	KUNIT_EXPECT_EQ(test, base.collected, ipcz_gc_collected());
	KUNIT_EXPECT_EQ(test, 2U, ipcz_test_t(a)->queue.count);
	KUNIT_EXPECT_EQ(test, base.transports + 4,
			ipcz_kind_count(IPCZ_KIND_TRANSPORT));
	KUNIT_EXPECT_EQ(test, 0, ipcz_test_send(test, a, 1, NULL, 0));

	/* Releasing a frees its queue, and so c, d and then b. */
	ipcz_test_fput(a);
	ipcz_test_settle();
	KUNIT_EXPECT_EQ(test, base.collected, ipcz_gc_collected());
	ipcz_gc_expect_back_to(test, &base);
	ipcz_node_close(node);
}

static void ipcz_gc_follows_chains(struct kunit *test)
{
	struct ipcz_node *node = ipcz_test_node(test);
	struct ipcz_gc_baseline base;
	struct file *end[8];
	int i;

	ipcz_gc_baseline(&base);
	for (i = 0; i < 8; i += 2)
		ipcz_test_pair(test, node, &end[i], &end[i + 1]);
	/*
	 * A chain of second ends: end[3] is queued to end[1], end[5] to
	 * end[3], end[7] to end[5]. Only end[1] is held from outside.
	 */
	for (i = 0; i < 6; i += 2)
		KUNIT_EXPECT_EQ(test, 0, ipcz_test_send(test, end[i], 1,
							&end[i + 3], 1));
	for (i = 3; i < 8; i += 2)
		fput(end[i]);
	ipcz_test_settle();
	ipcz_test_collect(NULL);
	KUNIT_EXPECT_EQ(test, base.collected, ipcz_gc_collected());
	KUNIT_EXPECT_EQ(test, base.transports + 8,
			ipcz_kind_count(IPCZ_KIND_TRANSPORT));

	/* Queue end[1] to end[7]: the chain becomes a ring nobody holds. */
	KUNIT_EXPECT_EQ(test, 0, ipcz_test_send(test, end[6], 1, &end[1], 1));
	fput(end[1]);
	ipcz_test_settle();
	ipcz_test_collect(NULL);
	KUNIT_EXPECT_EQ(test, base.collected + 4, ipcz_gc_collected());
	KUNIT_EXPECT_EQ(test, base.transports + 4,
			ipcz_kind_count(IPCZ_KIND_TRANSPORT));
	for (i = 0; i < 8; i += 2) {
		KUNIT_EXPECT_TRUE(test,
				  ipcz_transport_readiness(ipcz_test_t(end[i]))
				  & EPOLLHUP);
		fput(end[i]);
	}
	ipcz_test_settle();
	ipcz_gc_expect_back_to(test, &base);
	ipcz_node_close(node);
}

static void ipcz_gc_counts_the_closing_fd(struct kunit *test)
{
	struct ipcz_node *node = ipcz_test_node(test);
	struct ipcz_gc_baseline base;
	struct file *a, *b;

	ipcz_gc_baseline(&base);
	ipcz_test_pair(test, node, &a, &b);
	KUNIT_EXPECT_EQ(test, 0, ipcz_test_send(test, a, 1, &b, 1));
	ipcz_test_fput(a);
	/* b is held by its own queue and by one reference being closed. */
	ipcz_test_collect(NULL);
	KUNIT_EXPECT_EQ(test, base.collected, ipcz_gc_collected());
	ipcz_gc_run(b);
	KUNIT_EXPECT_EQ(test, base.collected + 1, ipcz_gc_collected());
	/* The close completes: the last reference goes. */
	ipcz_test_fput(b);
	ipcz_gc_expect_back_to(test, &base);
	ipcz_node_close(node);
}

static void ipcz_gc_releases_other_descriptors(struct kunit *test)
{
	struct ipcz_node *node = ipcz_test_node(test);
	struct ipcz_gc_baseline base;
	struct file *a, *b, *region, *both[2];
	u64 length = 3 * PAGE_SIZE;

	ipcz_gc_baseline(&base);
	ipcz_test_pair(test, node, &a, &b);
	KUNIT_ASSERT_EQ(test, 0, ipcz_region_create(node, &length, false,
						    &region));
	KUNIT_EXPECT_EQ(test, 0, ipcz_test_send(test, a, 10, &region, 1));
	both[0] = a;
	both[1] = b;
	KUNIT_EXPECT_EQ(test, 0, ipcz_test_send(test, a, 0, both, 2));
	fput(region);
	fput(a);
	fput(b);
	ipcz_test_settle();
	KUNIT_EXPECT_EQ(test, base.regions + 1,
			ipcz_kind_count(IPCZ_KIND_REGION));
	ipcz_test_collect(NULL);
	ipcz_gc_expect_back_to(test, &base);
	KUNIT_EXPECT_EQ(test, 0U, node->regions);
	ipcz_node_close(node);
}

static struct kunit_case ipcz_gc_cases[] = {
	KUNIT_CASE(ipcz_gc_frees_pair_sent_to_itself),
	KUNIT_CASE(ipcz_gc_spares_what_is_held),
	KUNIT_CASE(ipcz_gc_follows_chains),
	KUNIT_CASE(ipcz_gc_counts_the_closing_fd),
	KUNIT_CASE(ipcz_gc_releases_other_descriptors),
	{}
};

static struct kunit_suite ipcz_gc_suite = {
	.name = "ipcz_gc",
	.test_cases = ipcz_gc_cases,
};

kunit_test_suite(ipcz_gc_suite);
