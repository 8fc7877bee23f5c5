// SPDX-License-Identifier: MIT
/*
 * MergePortals: refusals, parcels queued before and sent after a merge,
 * closure across a merge, long merge chains built in any order (checked to
 * reduce to one direct link), and merges racing with traffic on threads.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "lib/handle_table.h"
#include "lib/router.h"
#include "lib_test.h"

/* Whether the portals `x` and `y` are joined by one direct local link. */
static bool directly_linked(IpczHandle x, IpczHandle y)
{
	struct router *rx = (struct router *)handle_table_get(x,
							      API_OBJECT_PORTAL);
	struct router *ry = (struct router *)handle_table_get(y,
							      API_OBJECT_PORTAL);
	struct router *peer = NULL;
	bool direct;

	ipcz_lock(&rx->lock);
	peer = route_edge_local_peer(&rx->outward);
	direct = peer == ry && route_edge_is_stable(&rx->outward);
	ipcz_unlock(&rx->lock);
	router_unref(peer);
	router_unref(rx);
	router_unref(ry);
	return direct;
}

FIXTURE(merge) {
	IpczHandle node, a, b, c, d;
};

FIXTURE_SETUP(merge)
{
	self->node = test_node();
	test_portals(self->node, &self->a, &self->b);
	test_portals(self->node, &self->c, &self->d);
}

FIXTURE_TEARDOWN(merge)
{
	close_handle(self->a);
	close_handle(self->b);
	close_handle(self->c);
	close_handle(self->d);
	close_handle(self->node);
}

TEST_F(merge, refusals)
{
	char buf[4];

	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.MergePortals(self->a, self->a, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.MergePortals(self->a, self->b, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.MergePortals(self->a, IPCZ_INVALID_HANDLE, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.MergePortals(self->node, self->c, 0, NULL));
	/* A portal that sent a parcel... */
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->b, "x"));
	ASSERT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  ipcz.MergePortals(self->b, self->c, 0, NULL));
	/* ...or took one out cannot merge. */
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->d, "y"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->c, buf, sizeof(buf)));
	ASSERT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  ipcz.MergePortals(self->a, self->c, 0, NULL));
	/* Failures leave both handles usable. */
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "z"));
}

TEST_F(merge, parcels_before_and_after)
{
	char buf[8];

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "a1"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->d, "d1"));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.MergePortals(self->b, self->c, 0, NULL));
	/* The merged handles are gone. */
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, put_str(self->b, "x"));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, put_str(self->c, "x"));
	self->b = self->c = IPCZ_INVALID_HANDLE;
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "a2"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->d, "d2"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->d, buf, sizeof(buf)));
	ASSERT_STREQ("a1", buf);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->d, buf, sizeof(buf)));
	ASSERT_STREQ("a2", buf);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->a, buf, sizeof(buf)));
	ASSERT_STREQ("d1", buf);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->a, buf, sizeof(buf)));
	ASSERT_STREQ("d2", buf);
	ASSERT_TRUE(directly_linked(self->a, self->d));
	ASSERT_TRUE(directly_linked(self->d, self->a));
}

TEST_F(merge, closure_crosses_the_merge)
{
	char buf[8];

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "bye"));
	close_handle(self->a);
	self->a = IPCZ_INVALID_HANDLE;
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.MergePortals(self->c, self->b, 0, NULL));
	self->b = self->c = IPCZ_INVALID_HANDLE;
	ASSERT_EQ(IPCZ_PORTAL_STATUS_PEER_CLOSED, status_flags(self->d));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->d, buf, sizeof(buf)));
	ASSERT_STREQ("bye", buf);
	ASSERT_EQ(IPCZ_PORTAL_STATUS_PEER_CLOSED | IPCZ_PORTAL_STATUS_DEAD,
		  status_flags(self->d));
	ASSERT_EQ(IPCZ_RESULT_NOT_FOUND, put_str(self->d, "x"));
}

TEST_F(merge, closing_after_the_merge)
{
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.MergePortals(self->b, self->c, 0, NULL));
	self->b = self->c = IPCZ_INVALID_HANDLE;
	close_handle(self->d);
	self->d = IPCZ_INVALID_HANDLE;
	ASSERT_EQ(IPCZ_PORTAL_STATUS_PEER_CLOSED | IPCZ_PORTAL_STATUS_DEAD,
		  status_flags(self->a));
}

/* Builds a chain of `pairs` portal pairs merged in a shuffled order. */
static void chain(struct __test_metadata *_metadata, int pairs,
		  unsigned int seed, bool traffic_first)
{
	IpczHandle node = test_node();
	IpczHandle *left = calloc(pairs, sizeof(*left));
	IpczHandle *right = calloc(pairs, sizeof(*right));
	int *order = calloc(pairs - 1, sizeof(*order));
	size_t before = handle_table_count();
	char buf[32];
	int i;

	for (i = 0; i < pairs; i++)
		test_portals(node, &left[i], &right[i]);
	if (traffic_first) {
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(left[0], "early L"));
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(right[pairs - 1], "early R"));
	}
	/* Merge right[i] with left[i + 1], in a random order. */
	for (i = 0; i < pairs - 1; i++)
		order[i] = i;
	srand(seed);
	for (i = pairs - 2; i > 0; i--) {
		int j = rand() % (i + 1), tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
	}
	for (i = 0; i < pairs - 1; i++) {
		int k = order[i];

		ASSERT_EQ(IPCZ_RESULT_OK, ipcz.MergePortals(right[k],
							    left[k + 1], 0,
							    NULL));
	}
	for (i = 0; i < 10; i++) {
		snprintf(buf, sizeof(buf), "L%d", i);
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(left[0], buf));
		snprintf(buf, sizeof(buf), "R%d", i);
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(right[pairs - 1], buf));
	}
	if (traffic_first) {
		ASSERT_EQ(IPCZ_RESULT_OK,
			  get_str(right[pairs - 1], buf, sizeof(buf)));
		ASSERT_STREQ("early L", buf);
		ASSERT_EQ(IPCZ_RESULT_OK, get_str(left[0], buf, sizeof(buf)));
		ASSERT_STREQ("early R", buf);
	}
	for (i = 0; i < 10; i++) {
		char want[16];

		snprintf(want, sizeof(want), "L%d", i);
		ASSERT_EQ(IPCZ_RESULT_OK,
			  get_str(right[pairs - 1], buf, sizeof(buf)));
		ASSERT_STREQ(want, buf);
		snprintf(want, sizeof(want), "R%d", i);
		ASSERT_EQ(IPCZ_RESULT_OK, get_str(left[0], buf, sizeof(buf)));
		ASSERT_STREQ(want, buf);
	}
	/* Every bridge is gone: the ends are linked directly. */
	ASSERT_TRUE(directly_linked(left[0], right[pairs - 1]));
	ASSERT_TRUE(directly_linked(right[pairs - 1], left[0]));
	close_handle(left[0]);
	ASSERT_EQ(IPCZ_PORTAL_STATUS_PEER_CLOSED | IPCZ_PORTAL_STATUS_DEAD,
		  status_flags(right[pairs - 1]));
	close_handle(right[pairs - 1]);
	ASSERT_EQ(before, handle_table_count());
	close_handle(node);
	free(left);
	free(right);
	free(order);
	ASSERT_EQ(0, leaks_found());
}

TEST(chain_of_two_in_order)
{
	chain(_metadata, 2, 1, false);
}

TEST(chain_of_ten)
{
	chain(_metadata, 10, 2, true);
}

TEST(long_chains_in_random_orders)
{
	unsigned int seed;

	for (seed = 0; seed < 20; seed++)
		chain(_metadata, 50, seed, seed % 2);
}

/* Traffic on the two ends while the middle of the chain is merged. */
struct end {
	IpczHandle portal;
	int sent, received;
	bool failed;
};

static void *stream(void *arg)
{
	struct end *end = arg;
	char buf[16];
	int expected = 0;

	while (end->sent < 2000 || end->received < 2000) {
		if (end->sent < 2000) {
			snprintf(buf, sizeof(buf), "%d", end->sent);
			if (put_str(end->portal, buf) == IPCZ_RESULT_OK)
				end->sent++;
		}
		if (get_str(end->portal, buf, sizeof(buf)) == IPCZ_RESULT_OK) {
			if (atoi(buf) != expected++)
				end->failed = true;
			end->received++;
		}
	}
	return NULL;
}

TEST(merges_race_with_traffic)
{
	enum { PAIRS = 8 };
	IpczHandle node = test_node(), left[PAIRS], right[PAIRS];
	struct end ends[2] = { 0 };
	pthread_t threads[2];
	int i;

	for (i = 0; i < PAIRS; i++)
		test_portals(node, &left[i], &right[i]);
	ends[0].portal = left[0];
	ends[1].portal = right[PAIRS - 1];
	/* Merge all but one join first, so the ends can start talking. */
	for (i = 1; i < PAIRS - 1; i++)
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.MergePortals(right[i], left[i + 1], 0, NULL));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, stream,
					    &ends[i]));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.MergePortals(right[0], left[1], 0, NULL));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(threads[i], NULL));
	ASSERT_FALSE(ends[0].failed);
	ASSERT_FALSE(ends[1].failed);
	ASSERT_TRUE(directly_linked(left[0], right[PAIRS - 1]));
	close_handle(left[0]);
	close_handle(right[PAIRS - 1]);
	close_handle(node);
	ASSERT_EQ(0, leaks_found());
}

TEST_HARNESS_MAIN
