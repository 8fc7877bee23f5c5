// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of transport queues, doorbells and node accounting.
 */
#include <kunit/test.h>
#include <linux/poll.h>

#include "test_util.h"

static void ipcz_queue_keeps_order_and_counts(struct kunit *test)
{
	long messages = ipcz_kind_count(IPCZ_KIND_MESSAGE);
	struct ipcz_node *node = ipcz_test_node(test);
	struct file *a, *b;
	struct ipcz_transport *tb;

	ipcz_test_pair(test, node, &a, &b);
	tb = ipcz_test_t(b);
	KUNIT_EXPECT_EQ(test, 0, ipcz_test_send(test, a, 1, NULL, 0));
	KUNIT_EXPECT_EQ(test, 0, ipcz_test_send(test, a, 20, NULL, 0));
	KUNIT_EXPECT_EQ(test, 0, ipcz_test_send(test, a, 300, NULL, 0));
	KUNIT_EXPECT_EQ(test, 3U, tb->queue.count);
	KUNIT_EXPECT_EQ(test, 321ULL, tb->queue.bytes);
	KUNIT_EXPECT_EQ(test, 3ULL, ipcz_test_t(a)->sent_messages);
	KUNIT_EXPECT_EQ(test, messages + 3,
			ipcz_kind_count(IPCZ_KIND_MESSAGE));
	KUNIT_EXPECT_TRUE(test, ipcz_transport_readiness(tb) & EPOLLIN);

	KUNIT_EXPECT_EQ(test, 1U, ipcz_test_drop_head(test, b));
	KUNIT_EXPECT_EQ(test, 20U, ipcz_test_drop_head(test, b));
	KUNIT_EXPECT_EQ(test, 1U, tb->queue.count);
	KUNIT_EXPECT_EQ(test, 300ULL, tb->queue.bytes);
	KUNIT_EXPECT_EQ(test, 300U, ipcz_test_drop_head(test, b));
	KUNIT_EXPECT_EQ(test, 0U, tb->queue.count);
	KUNIT_EXPECT_EQ(test, 0ULL, tb->queue.bytes);
	KUNIT_EXPECT_FALSE(test, ipcz_transport_readiness(tb) & EPOLLIN);
	KUNIT_EXPECT_EQ(test, 3ULL, tb->recv_messages);

	/* Whatever is still queued goes with the end. */
	KUNIT_EXPECT_EQ(test, 0, ipcz_test_send(test, a, 5, NULL, 0));
	ipcz_test_fput(a);
	ipcz_test_fput(b);
	ipcz_node_close(node);
	KUNIT_EXPECT_EQ(test, messages, ipcz_kind_count(IPCZ_KIND_MESSAGE));
}

static void ipcz_queue_is_bounded(struct kunit *test)
{
	struct ipcz_node *node = ipcz_test_node(test);
	struct ipcz_node_limits limits;
	struct file *a, *b;
	int err = 0;

	ipcz_node_get_limits(node, &limits);
	limits.queue_messages = 2;
	limits.queue_bytes = 100;
	KUNIT_ASSERT_EQ(test, 0, ipcz_node_set_limits(node, &limits));
	ipcz_test_pair(test, node, &a, &b);

	KUNIT_EXPECT_EQ(test, -EMSGSIZE, ipcz_test_send(test, a, 101, NULL, 0));
	KUNIT_EXPECT_EQ(test, 0, ipcz_test_send(test, a, 60, NULL, 0));
	KUNIT_EXPECT_EQ(test, -EAGAIN, ipcz_test_send(test, a, 41, NULL, 0));
	KUNIT_EXPECT_EQ(test, 0, ipcz_test_send(test, a, 40, NULL, 0));
	KUNIT_EXPECT_FALSE(test, ipcz_transport_readiness(ipcz_test_t(a)) &
				 EPOLLOUT);
	KUNIT_EXPECT_EQ(test, -EAGAIN, ipcz_test_send(test, a, 0, NULL, 0));
	/* A failed send changes nothing. */
	KUNIT_EXPECT_EQ(test, 2U, ipcz_test_t(b)->queue.count);
	KUNIT_EXPECT_EQ(test, 100ULL, ipcz_test_t(b)->queue.bytes);

	KUNIT_EXPECT_EQ(test, 60U, ipcz_test_drop_head(test, b));
	KUNIT_EXPECT_TRUE(test, ipcz_transport_readiness(ipcz_test_t(a)) &
				EPOLLOUT);
	KUNIT_EXPECT_EQ(test, 0, ipcz_test_send(test, a, 0, NULL, 0));
	KUNIT_EXPECT_EQ(test, 40U, ipcz_test_drop_head(test, b));
	KUNIT_EXPECT_EQ(test, 0U, ipcz_test_drop_head(test, b));
	KUNIT_EXPECT_NULL(test, ipcz_transport_head(ipcz_test_t(b), &err));
	KUNIT_EXPECT_EQ(test, -EAGAIN, err);

	ipcz_test_fput(a);
	ipcz_test_fput(b);
	ipcz_node_close(node);
}

static void ipcz_closed_peer_is_seen(struct kunit *test)
{
	struct ipcz_node *node = ipcz_test_node(test);
	struct ipcz_transport *ta;
	struct file *a, *b;
	int err = 0;

	ipcz_test_pair(test, node, &a, &b);
	ta = ipcz_test_t(a);
	KUNIT_EXPECT_EQ(test, 0, ipcz_test_send(test, b, 7, NULL, 0));
	ipcz_test_fput(b);

	KUNIT_EXPECT_TRUE(test, ipcz_transport_readiness(ta) & EPOLLHUP);
	KUNIT_EXPECT_FALSE(test, ipcz_transport_readiness(ta) & EPOLLOUT);
	KUNIT_EXPECT_EQ(test, -EPIPE, ipcz_test_send(test, a, 1, NULL, 0));
	KUNIT_EXPECT_EQ(test, -EPIPE, ipcz_transport_ring(ta));
	/* What the peer sent before closing can still be received. */
	KUNIT_EXPECT_EQ(test, 7U, ipcz_test_drop_head(test, a));
	KUNIT_EXPECT_NULL(test, ipcz_transport_head(ta, &err));
	KUNIT_EXPECT_EQ(test, -EPIPE, err);

	ipcz_test_fput(a);
	ipcz_node_close(node);
}

static void ipcz_doorbell_coalesces(struct kunit *test)
{
	struct ipcz_node *node = ipcz_test_node(test);
	struct ipcz_transport *ta, *tb;
	struct file *a, *b;
	int i;

	ipcz_test_pair(test, node, &a, &b);
	ta = ipcz_test_t(a);
	tb = ipcz_test_t(b);
	KUNIT_EXPECT_FALSE(test, ipcz_transport_readiness(tb) & EPOLLPRI);
	for (i = 0; i < 5; i++)
		KUNIT_EXPECT_EQ(test, 0, ipcz_transport_ring(ta));
	KUNIT_EXPECT_TRUE(test, ipcz_transport_readiness(tb) & EPOLLPRI);
	KUNIT_EXPECT_FALSE(test, ipcz_transport_readiness(tb) & EPOLLIN);
	KUNIT_EXPECT_FALSE(test, ipcz_transport_readiness(ta) & EPOLLPRI);
	KUNIT_EXPECT_EQ(test, 5ULL, ipcz_transport_take_doorbell(tb));
	KUNIT_EXPECT_EQ(test, 0ULL, ipcz_transport_take_doorbell(tb));
	KUNIT_EXPECT_FALSE(test, ipcz_transport_readiness(tb) & EPOLLPRI);
	KUNIT_EXPECT_EQ(test, 5ULL, tb->rings_total);

	ipcz_test_fput(a);
	ipcz_test_fput(b);
	ipcz_node_close(node);
}

static void ipcz_node_counts_transports(struct kunit *test)
{
	long transports = ipcz_kind_count(IPCZ_KIND_TRANSPORT);
	struct ipcz_node *node = ipcz_test_node(test);
	struct ipcz_node_limits limits;
	struct file *a, *b, *c, *d;
	struct ipcz_creds creds;

	ipcz_node_get_limits(node, &limits);
	limits.max_transports = 3;
	KUNIT_ASSERT_EQ(test, 0, ipcz_node_set_limits(node, &limits));
	ipcz_test_pair(test, node, &a, &b);
	KUNIT_EXPECT_EQ(test, 2U, node->transports);
	KUNIT_EXPECT_EQ(test, transports + 2,
			ipcz_kind_count(IPCZ_KIND_TRANSPORT));

	/* One end fits, the second does not: nothing is left behind. */
	ipcz_creds_capture(&creds);
	KUNIT_EXPECT_EQ(test, -ENOSPC,
			ipcz_transport_pair_create(node, node, &creds, &creds,
						   &c, &d));
	KUNIT_EXPECT_EQ(test, 2U, node->transports);
	KUNIT_EXPECT_EQ(test, transports + 2,
			ipcz_kind_count(IPCZ_KIND_TRANSPORT));

	ipcz_test_fput(a);
	KUNIT_EXPECT_EQ(test, 1U, node->transports);
	KUNIT_EXPECT_EQ(test, 0,
			ipcz_transport_pair_create(node, node, &creds, &creds,
						   &c, &d));
	ipcz_creds_release(&creds);
	ipcz_test_fput(b);
	ipcz_test_fput(c);
	ipcz_test_fput(d);
	KUNIT_EXPECT_EQ(test, 0U, node->transports);
	ipcz_node_close(node);
	KUNIT_EXPECT_EQ(test, transports, ipcz_kind_count(IPCZ_KIND_TRANSPORT));
}

static void ipcz_node_counts_regions(struct kunit *test)
{
	long regions = ipcz_kind_count(IPCZ_KIND_REGION);
	struct ipcz_node *node = ipcz_test_node(test);
	struct ipcz_node_limits limits;
	struct file *r1, *r2, *r3;
	u64 length;

	ipcz_node_get_limits(node, &limits);
	limits.region_bytes = 3 * PAGE_SIZE;
	limits.max_regions = 2;
	KUNIT_ASSERT_EQ(test, 0, ipcz_node_set_limits(node, &limits));

	length = 1;
	KUNIT_ASSERT_EQ(test, 0, ipcz_region_create(node, &length, false, &r1));
	KUNIT_EXPECT_EQ(test, (u64)PAGE_SIZE, length);
	length = 3 * PAGE_SIZE;
	KUNIT_EXPECT_EQ(test, -ENOSPC,
			ipcz_region_create(node, &length, false, &r2));
	length = 2 * PAGE_SIZE;
	KUNIT_ASSERT_EQ(test, 0, ipcz_region_create(node, &length, true, &r2));
	KUNIT_EXPECT_FALSE(test, r2->f_mode & FMODE_WRITE);
	KUNIT_EXPECT_EQ(test, 3 * (u64)PAGE_SIZE, node->region_bytes);
	length = 1;
	KUNIT_EXPECT_EQ(test, -ENOSPC,
			ipcz_region_create(node, &length, false, &r3));
	length = 0;
	KUNIT_EXPECT_EQ(test, -EINVAL,
			ipcz_region_create(node, &length, false, &r3));
	length = U64_MAX;
	KUNIT_EXPECT_EQ(test, -EINVAL,
			ipcz_region_create(node, &length, false, &r3));
	KUNIT_EXPECT_EQ(test, regions + 2, ipcz_kind_count(IPCZ_KIND_REGION));

	ipcz_test_fput(r1);
	KUNIT_EXPECT_EQ(test, 1U, node->regions);
	KUNIT_EXPECT_EQ(test, 2 * (u64)PAGE_SIZE, node->region_bytes);
	ipcz_test_fput(r2);
	KUNIT_EXPECT_EQ(test, 0U, node->regions);
	KUNIT_EXPECT_EQ(test, 0ULL, node->region_bytes);
	ipcz_node_close(node);
	KUNIT_EXPECT_EQ(test, regions, ipcz_kind_count(IPCZ_KIND_REGION));
}

static void ipcz_node_limits_are_capped(struct kunit *test)
{
	struct ipcz_node *node = ipcz_test_node(test);
	struct ipcz_node_limits limits, caps, good;

	ipcz_caps(&caps);
	ipcz_node_get_limits(node, &good);
	KUNIT_EXPECT_LE(test, good.queue_bytes, caps.queue_bytes);
	KUNIT_EXPECT_LE(test, good.region_bytes, caps.region_bytes);

	limits = good;
	limits.queue_messages = 0;
	KUNIT_EXPECT_EQ(test, -EINVAL, ipcz_node_set_limits(node, &limits));
	limits = good;
	limits.queue_bytes = caps.queue_bytes + 1;
	KUNIT_EXPECT_EQ(test, -EINVAL, ipcz_node_set_limits(node, &limits));
	limits = good;
	limits.region_bytes = caps.region_bytes + 1;
	KUNIT_EXPECT_EQ(test, -EINVAL, ipcz_node_set_limits(node, &limits));
	limits = caps;
	KUNIT_EXPECT_EQ(test, 0, ipcz_node_set_limits(node, &limits));
	ipcz_node_get_limits(node, &limits);
	KUNIT_EXPECT_EQ(test, caps.max_listeners, limits.max_listeners);
	ipcz_node_close(node);
}

static struct kunit_case ipcz_transport_cases[] = {
	KUNIT_CASE(ipcz_queue_keeps_order_and_counts),
	KUNIT_CASE(ipcz_queue_is_bounded),
	KUNIT_CASE(ipcz_closed_peer_is_seen),
	KUNIT_CASE(ipcz_doorbell_coalesces),
	KUNIT_CASE(ipcz_node_counts_transports),
	KUNIT_CASE(ipcz_node_counts_regions),
	KUNIT_CASE(ipcz_node_limits_are_capped),
	{}
};

static struct kunit_suite ipcz_transport_suite = {
	.name = "ipcz_transport",
	.test_cases = ipcz_transport_cases,
};

kunit_test_suite(ipcz_transport_suite);
