// SPDX-License-Identifier: MIT
/*
 * Proxy bypass across three nodes (lib/router_bypass.c): three brokers
 * joined in a triangle, so that the nodes on both sides of any proxy are
 * linked to each other. Portals move around the triangle with parcels
 * left unread in both directions; every parcel arrives once and in order,
 * and no proxy stays anywhere.
 */
#include <pthread.h>
#include <sched.h>

#include "kselftest_harness.h"
#include "ipcz/introspect.h"
#include "lib_test.h"

#define NODES 3

static IpczHandle new_broker(void)
{
	IpczHandle node = IPCZ_INVALID_HANDLE;

	test_node_api();
	ipcz.CreateNode(ipcz_inprocess_driver(), IPCZ_CREATE_NODE_AS_BROKER,
			NULL, &node);
	return node;
}

FIXTURE(triangle) {
	IpczHandle node[NODES];
	/* to[i][j]: node i's portal of its connection to node j. */
	IpczHandle to[NODES][NODES];
};

FIXTURE_SETUP(triangle)
{
	int i, j;

	for (i = 0; i < NODES; i++)
		self->node[i] = new_broker();
	for (i = 0; i < NODES; i++) {
		for (j = i + 1; j < NODES; j++) {
			IpczDriverHandle t0, t1;

			ipcz_inprocess_driver()->CreateTransports(
				IPCZ_INVALID_DRIVER_HANDLE,
				IPCZ_INVALID_DRIVER_HANDLE, 0, NULL, &t0, &t1);
			ASSERT_EQ(IPCZ_RESULT_OK,
				  ipcz.ConnectNode(self->node[i], t0, 1,
						   IPCZ_CONNECT_NODE_TO_BROKER,
						   NULL, &self->to[i][j]));
			ASSERT_EQ(IPCZ_RESULT_OK,
				  ipcz.ConnectNode(self->node[j], t1, 1,
						   IPCZ_CONNECT_NODE_TO_BROKER,
						   NULL, &self->to[j][i]));
		}
	}
}

FIXTURE_TEARDOWN(triangle)
{
	int i, j;

	for (i = 0; i < NODES; i++) {
		for (j = 0; j < NODES; j++) {
			if (i != j)
				close_handle(self->to[i][j]);
		}
	}
	for (i = 0; i < NODES; i++)
		close_handle(self->node[i]);
	EXPECT_EQ(0, ipcz_inprocess_live_objects());
	EXPECT_EQ(0, leaks_found());
}

/* Sends `portal` from node `from` to node `to`; returns it there. */
static IpczHandle move(FIXTURE_DATA(triangle) *self, IpczHandle portal,
		       int from, int to)
{
	IpczHandle got = IPCZ_INVALID_HANDLE;
	size_t num_bytes = 0, num_handles = 1;
	long tries;

	if (ipcz.Put(self->to[from][to], NULL, 0, &portal, 1, IPCZ_NO_FLAGS,
		     NULL) != IPCZ_RESULT_OK)
		return IPCZ_INVALID_HANDLE;
	/* Another thread may be delivering on this transport: wait. */
	for (tries = 0; tries < 10000000; tries++) {
		num_bytes = 0;
		num_handles = 1;
		if (ipcz.Get(self->to[to][from], IPCZ_NO_FLAGS, NULL, NULL,
			     &num_bytes, &got, &num_handles, NULL) !=
		    IPCZ_RESULT_UNAVAILABLE)
			break;
		sched_yield();
	}
	return got;
}

static uint64_t proxies(FIXTURE_DATA(triangle) *self)
{
	uint64_t total = 0;
	int i;

	for (i = 0; i < NODES; i++) {
		struct ipcz_node_info info = { .size = sizeof(info) };

		if (ipcz_introspect_node(self->node[i], &info) !=
		    IPCZ_RESULT_OK)
			return 1000;
		total += info.proxies;
	}
	return total;
}

static uint32_t route_flags(IpczHandle portal)
{
	struct ipcz_portal_route_info info = { .size = sizeof(info) };

	if (ipcz_introspect_portal(portal, &info) != IPCZ_RESULT_OK)
		return 0xffffffffu;
	return info.flags & (IPCZ_ROUTE_DIRECT | IPCZ_ROUTE_PEER_LOCAL |
			     IPCZ_ROUTE_PEER_REMOTE);
}

TEST_F(triangle, a_proxy_between_two_linked_nodes_is_bypassed)
{
	IpczHandle c, d;
	char buf[16];

	test_portals(self->node[0], &c, &d);
	d = move(self, d, 0, 1);
	ASSERT_NE(IPCZ_INVALID_HANDLE, d);
	/* Its peer is remote now: node 1 keeps a proxy, then drops it. */
	d = move(self, d, 1, 2);
	ASSERT_NE(IPCZ_INVALID_HANDLE, d);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(c, "to d"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(d, "to c"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(d, buf, sizeof(buf)));
	EXPECT_STREQ("to d", buf);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(c, buf, sizeof(buf)));
	EXPECT_STREQ("to c", buf);
	EXPECT_EQ(0, proxies(self));
	EXPECT_EQ(IPCZ_ROUTE_DIRECT | IPCZ_ROUTE_PEER_REMOTE, route_flags(c));
	EXPECT_EQ(IPCZ_ROUTE_DIRECT | IPCZ_ROUTE_PEER_REMOTE, route_flags(d));
	close_handle(c);
	close_handle(d);
}

/*
 * Both ends wander around the triangle, each move with a parcel left
 * unread in each direction; at the end every parcel is read in order.
 */
TEST_F(triangle, both_ends_wander_with_parcels_in_flight)
{
	IpczHandle end[2];
	int where[2] = { 0, 0 }, sent[2] = { 0, 0 };
	char buf[32], want[32];
	int step, e, i;

	test_portals(self->node[0], &end[0], &end[1]);
	for (step = 0; step < 30; step++) {
		e = step % 2;
		for (i = 0; i < 2; i++) {
			snprintf(buf, sizeof(buf), "%d:%d", i, sent[i]++);
			ASSERT_EQ(IPCZ_RESULT_OK, put_str(end[i], buf));
		}
		end[e] = move(self, end[e], where[e],
			      (where[e] + 1 + step % 2) % NODES);
		ASSERT_NE(IPCZ_INVALID_HANDLE, end[e]);
		where[e] = (where[e] + 1 + step % 2) % NODES;
	}
	for (i = 0; i < 2; i++) {
		int n;

		for (n = 0; n < sent[1 - i]; n++) {
			snprintf(want, sizeof(want), "%d:%d", 1 - i, n);
			ASSERT_EQ(IPCZ_RESULT_OK,
				  get_str(end[i], buf, sizeof(buf)));
			ASSERT_STREQ(want, buf);
		}
		EXPECT_EQ(IPCZ_RESULT_UNAVAILABLE,
			  get_str(end[i], buf, sizeof(buf)));
	}
	EXPECT_EQ(0, proxies(self));
	EXPECT_TRUE(route_flags(end[0]) & IPCZ_ROUTE_DIRECT);
	EXPECT_TRUE(route_flags(end[1]) & IPCZ_ROUTE_DIRECT);
	close_handle(end[0]);
	EXPECT_EQ(IPCZ_PORTAL_STATUS_PEER_CLOSED | IPCZ_PORTAL_STATUS_DEAD,
		  status_flags(end[1]));
	close_handle(end[1]);
}

/*
 * MergePortals() of one end of a local pair with a route to another node:
 * the bridge goes away and the pair's other end links to that node
 * directly, parcels in flight both ways arriving once and in order.
 */
TEST_F(triangle, merge_with_a_remote_route_is_bypassed)
{
	IpczHandle q, p, far;
	char buf[16];

	test_portals(self->node[0], &q, &p);
	far = self->to[1][0];
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.MergePortals(self->to[0][1], p, 0, NULL));
	self->to[0][1] = IPCZ_INVALID_HANDLE;
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(q, "one"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(far, "two"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(far, buf, sizeof(buf)));
	EXPECT_STREQ("one", buf);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(q, buf, sizeof(buf)));
	EXPECT_STREQ("two", buf);
	EXPECT_EQ(IPCZ_ROUTE_DIRECT | IPCZ_ROUTE_PEER_REMOTE, route_flags(q));
	EXPECT_EQ(IPCZ_ROUTE_DIRECT | IPCZ_ROUTE_PEER_REMOTE,
		  route_flags(far));
	EXPECT_EQ(0, proxies(self));
	close_handle(q);
	EXPECT_EQ(IPCZ_PORTAL_STATUS_PEER_CLOSED | IPCZ_PORTAL_STATUS_DEAD,
		  status_flags(far));
}

struct sender {
	IpczHandle portal;
	int count;
	int received;	/* parcels read, in order */
	int bad;	/* parcels out of order */
};

/* Puts `count` numbered parcels into a portal and reads what comes back. */
static void *send_and_read(void *arg)
{
	struct sender *s = arg;
	char buf[32], want[32];
	int sent = 0;

	while (sent < s->count || s->received < s->count) {
		if (sent < s->count) {
			snprintf(buf, sizeof(buf), "c%d", sent);
			if (put_str(s->portal, buf) == IPCZ_RESULT_OK)
				sent++;
		}
		if (get_str(s->portal, buf, sizeof(buf)) == IPCZ_RESULT_OK) {
			snprintf(want, sizeof(want), "d%d", s->received);
			s->bad += strcmp(buf, want) != 0;
			s->received++;
		}
	}
	return NULL;
}

/*
 * One end moves around while another thread talks to the other end:
 * every parcel arrives once and in order.
 */
TEST_F(triangle, moves_while_another_thread_talks)
{
	struct sender s = { .count = 400 };
	char buf[32], want[32];
	IpczHandle d;
	pthread_t thread;
	int where = 0, step, received = 0, sent = 0;

	test_portals(self->node[0], &s.portal, &d);
	ASSERT_EQ(0, pthread_create(&thread, NULL, send_and_read, &s));
	for (step = 0; step < 40; step++) {
		int i;

		for (i = 0; i < 10; i++) {
			snprintf(buf, sizeof(buf), "d%d", sent++);
			ASSERT_EQ(IPCZ_RESULT_OK, put_str(d, buf));
		}
		while (get_str(d, buf, sizeof(buf)) == IPCZ_RESULT_OK) {
			snprintf(want, sizeof(want), "c%d", received++);
			ASSERT_STREQ(want, buf);
		}
		d = move(self, d, where, (where + 1) % NODES);
		ASSERT_NE(IPCZ_INVALID_HANDLE, d);
		where = (where + 1) % NODES;
	}
	while (received < s.count) {
		if (get_str(d, buf, sizeof(buf)) == IPCZ_RESULT_OK) {
			snprintf(want, sizeof(want), "c%d", received++);
			ASSERT_STREQ(want, buf);
		}
	}
	pthread_join(thread, NULL);
	EXPECT_EQ(0, s.bad);
	EXPECT_EQ(s.count, s.received);
	/*
	 * Moves racing with bypasses can leave layouts not reduced yet (a
	 * proxy with a neighbour on its own node): report, do not require.
	 */
	TH_LOG("proxies left after 40 racing moves: %llu",
	       (unsigned long long)proxies(self));
	close_handle(s.portal);
	close_handle(d);
}

TEST_HARNESS_MAIN
