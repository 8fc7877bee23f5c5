// SPDX-License-Identifier: MIT
/*
 * Allocation delegation (lib/allocation_delegate.c). Delegating nodes run
 * on the in-process driver's sandboxed table, whose AllocateSharedMemory()
 * refuses and counts every call: the count must stay zero while their
 * links still get pools, grow them, and carry parcels above the inline
 * limit (inline while the memory is pending). Requests from a node that
 * did not delegate, answers to requests never made, and answers from
 * anyone but the delegate drop the link.
 */
#include <pthread.h>
#include <sched.h>

#include "kselftest_harness.h"
#include "lib_test.h"
#include "net_fixture.h"

#define DELEGATE_FLAGS \
	(IPCZ_CONNECT_NODE_TO_BROKER | IPCZ_CONNECT_NODE_TO_ALLOCATION_DELEGATE)

/* A broker and sandboxed clients delegating to it. */
FIXTURE(sandbox) {
	IpczHandle broker, client[2];
	IpczHandle to[2], from[2];
};

FIXTURE_SETUP(sandbox)
{
	int i;

	self->broker = new_node_on(ipcz_inprocess_driver(),
				   IPCZ_CREATE_NODE_AS_BROKER);
	for (i = 0; i < 2; i++) {
		self->client[i] = new_node_on(ipcz_inprocess_sandboxed_driver(),
					      IPCZ_NO_FLAGS);
		ASSERT_EQ(IPCZ_RESULT_OK,
			  join_to_broker(self->broker, self->client[i],
					 DELEGATE_FLAGS, &self->to[i],
					 &self->from[i]));
	}
}

FIXTURE_TEARDOWN(sandbox)
{
	close_clients(self->broker, self->client, self->to, self->from, 2);
	EXPECT_EQ(0, ipcz_inprocess_sandboxed_allocations());
	EXPECT_EQ(0, ipcz_inprocess_live_objects());
	EXPECT_EQ(0, leaks_found());
}

static void fill(char *buf, size_t size, int seed)
{
	size_t i;

	for (i = 0; i < size; i++)
		buf[i] = (char)(seed * 31 + i * 7);
}

/* Gets one parcel of `size` bytes filled with `seed`; 1 if it matches. */
static int got_parcel(IpczHandle portal, size_t size, int seed)
{
	static char want[1 << 17], in[1 << 17];
	size_t n = sizeof(in);

	if (ipcz.Get(portal, 0, NULL, in, &n, NULL, NULL, NULL) !=
	    IPCZ_RESULT_OK || n != size)
		return 0;
	fill(want, size, seed);
	return memcmp(in, want, size) == 0;
}

static IpczResult put_parcel(IpczHandle portal, size_t size, int seed)
{
	static char out[1 << 17];

	fill(out, size, seed);
	return ipcz.Put(portal, out, size, NULL, 0, 0, NULL);
}

/*
 * The delegating client gets a pool from its broker (which allocates the
 * primary buffer anyway), and parcels above the inline limit leave it at
 * once, inline while its first growth buffer is being asked for; the pool
 * then grows with memory from the delegate. Its driver never allocates.
 */
TEST_F(sandbox, parcels_flow_and_the_pool_grows_without_allocating)
{
	uint64_t before;
	int i;

	before = pool_bytes(self->client[0]);
	ASSERT_LT(0, before);
	/* 64 KiB parcels need growth: the first go inline. */
	for (i = 0; i < 8; i++)
		ASSERT_EQ(IPCZ_RESULT_OK, put_parcel(self->from[0], 65536, i));
	for (i = 0; i < 8; i++)
		ASSERT_TRUE(got_parcel(self->to[0], 65536, i));
	/* Traffic both ways until the answer has been taken in. */
	for (i = 0; i < 200 && pool_bytes(self->client[0]) == before; i++) {
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->to[0], "tick"));
		ASSERT_EQ(IPCZ_RESULT_OK, put_parcel(self->from[0], 65536, i));
		ASSERT_TRUE(got_parcel(self->to[0], 65536, i));
		while (ipcz.Get(self->from[0], 0, NULL, NULL, NULL, NULL, NULL,
				NULL) == IPCZ_RESULT_OK)
			;
	}
	EXPECT_LT(before, pool_bytes(self->client[0]));
	/* And parcels keep flowing with the grown pool. */
	for (i = 0; i < 16; i++)
		ASSERT_EQ(IPCZ_RESULT_OK,
			  put_parcel(self->from[0], 65536 + i, i));
	for (i = 0; i < 16; i++)
		ASSERT_TRUE(got_parcel(self->to[0], 65536 + i, i));
	EXPECT_EQ(0, ipcz_inprocess_sandboxed_allocations());
}

/* Sends `portal` from the broker to client `i`; returns it there. */
static IpczHandle give(FIXTURE_DATA(sandbox) *self, IpczHandle portal, int i)
{
	return send_portal_across(self->to[i], self->from[i], portal);
}

static int direct(IpczHandle portal)
{
	struct ipcz_portal_route_info info = { .size = sizeof(info) };

	return ipcz_introspect_portal(portal, &info) == IPCZ_RESULT_OK &&
	       (info.flags & IPCZ_ROUTE_DIRECT) &&
	       (info.flags & IPCZ_ROUTE_PEER_REMOTE);
}

/* Traffic on the route `x` - `y` until both ends are direct, or not. */
static int becomes_direct(IpczHandle x, IpczHandle y)
{
	int round;

	for (round = 0; round < 200 && !(direct(x) && direct(y)); round++)
		ping_both_ways(x, y);
	return direct(x) && direct(y);
}

/*
 * Two sandboxed clients introduced to each other: the new link gets its
 * primary buffer from the broker (neither client allocates); the route
 * ends up direct, with a pool, and big parcels cross it.
 */
TEST_F(sandbox, introduced_link_gets_a_pool_without_allocating)
{
	IpczHandle p, q, x, y;
	uint64_t before[2];
	int i;

	before[0] = pool_bytes(self->client[0]);
	before[1] = pool_bytes(self->client[1]);
	test_portals(self->broker, &p, &q);
	x = give(self, p, 0);
	y = give(self, q, 1);
	ASSERT_NE(IPCZ_INVALID_HANDLE, x);
	ASSERT_NE(IPCZ_INVALID_HANDLE, y);
	ASSERT_TRUE(becomes_direct(x, y));
	EXPECT_EQ(2, node_links(self->client[0]));
	EXPECT_EQ(2, node_links(self->client[1]));
	/* Each now maps the new link's primary buffer too. */
	EXPECT_LT(before[0], pool_bytes(self->client[0]));
	EXPECT_LT(before[1], pool_bytes(self->client[1]));
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(IPCZ_RESULT_OK, put_parcel(x, 5000 + i, i));
		ASSERT_EQ(IPCZ_RESULT_OK, put_parcel(y, 70000 + i, i));
	}
	for (i = 0; i < 20; i++) {
		ASSERT_TRUE(got_parcel(y, 5000 + i, i));
		ASSERT_TRUE(got_parcel(x, 70000 + i, i));
	}
	EXPECT_EQ(0, ipcz_inprocess_sandboxed_allocations());
	close_handle(x);
	close_handle(y);
}

/*
 * A delegating node referring another (SHARE_BROKER) offers the referral
 * link's primary buffer: it asks its delegate, and the link starts once
 * it has it. Parcels put before that wait and arrive.
 */
TEST_F(sandbox, referral_link_waits_for_its_primary_buffer)
{
	IpczHandle referred = new_node_on(ipcz_inprocess_sandboxed_driver(),
					  IPCZ_NO_FLAGS);
	IpczDriverHandle t0, t1;
	IpczHandle r, s;
	char buf[16];
	uint64_t before = pool_bytes(self->client[0]);

	transports(&t0, &t1);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.ConnectNode(self->client[0], t0, 1,
				   IPCZ_CONNECT_NODE_SHARE_BROKER, NULL, &r));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(r, "early"));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.ConnectNode(referred, t1, 1,
				   IPCZ_CONNECT_NODE_INHERIT_BROKER, NULL, &s));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(s, buf, sizeof(buf)));
	ASSERT_STREQ("early", buf);
	ASSERT_EQ(IPCZ_RESULT_OK, put_parcel(s, 3000, 3));
	ASSERT_TRUE(got_parcel(r, 3000, 3));
	EXPECT_LT(before, pool_bytes(self->client[0]));
	EXPECT_LT(0, pool_bytes(referred));
	EXPECT_EQ(0, ipcz_inprocess_sandboxed_allocations());
	close_handle(r);
	close_handle(s);
	close_handle(referred);
}

/*
 * A broker that itself delegates (to another broker) serves two sandboxed
 * clients: its links to them wait for their primary buffers from its own
 * delegate; it gives no buffer for their introduction and answers their
 * requests empty (it never allocates), so their introduced link goes
 * without a pool. Everything still flows, and no sandboxed driver
 * allocates.
 */
TEST(chained_delegation)
{
	IpczHandle top = new_node_on(ipcz_inprocess_driver(),
				     IPCZ_CREATE_NODE_AS_BROKER);
	IpczHandle mid = new_node_on(ipcz_inprocess_sandboxed_driver(),
				     IPCZ_CREATE_NODE_AS_BROKER);
	IpczHandle client[2], to[2], from[2], up, down, p, q, x, y;
	IpczDriverHandle t0, t1;
	uint64_t before;
	int i;

	transports(&t0, &t1);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.ConnectNode(top, t0, 1, IPCZ_CONNECT_NODE_TO_BROKER,
				   NULL, &down));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.ConnectNode(mid, t1, 1, DELEGATE_FLAGS, NULL, &up));
	for (i = 0; i < 2; i++) {
		client[i] = new_node_on(ipcz_inprocess_sandboxed_driver(),
					IPCZ_NO_FLAGS);
		ASSERT_EQ(IPCZ_RESULT_OK,
			  join_to_broker(mid, client[i], DELEGATE_FLAGS, &to[i],
					 &from[i]));
	}
	/* The middle broker's links got their buffers from the top one. */
	ASSERT_EQ(IPCZ_RESULT_OK, put_parcel(to[0], 3000, 1));
	ASSERT_TRUE(got_parcel(from[0], 3000, 1));
	EXPECT_LT(0, pool_bytes(client[0]));
	before = pool_bytes(client[0]);
	test_portals(mid, &p, &q);
	x = send_portal_across(to[0], from[0], p);
	y = send_portal_across(to[1], from[1], q);
	ASSERT_NE(IPCZ_INVALID_HANDLE, x);
	ASSERT_NE(IPCZ_INVALID_HANDLE, y);
	ASSERT_TRUE(becomes_direct(x, y));
	EXPECT_EQ(2, node_links(client[0]));
	/* Nobody could give the introduced link a buffer. */
	EXPECT_EQ(before, pool_bytes(client[0]));
	for (i = 0; i < 10; i++)
		ASSERT_EQ(IPCZ_RESULT_OK, put_parcel(x, 70000 + i, i));
	for (i = 0; i < 10; i++)
		ASSERT_TRUE(got_parcel(y, 70000 + i, i));
	EXPECT_EQ(0, ipcz_inprocess_sandboxed_allocations());
	close_handle(x);
	close_handle(y);
	for (i = 0; i < 2; i++) {
		close_handle(to[i]);
		close_handle(from[i]);
		close_handle(client[i]);
	}
	close_handle(up);
	close_handle(down);
	close_handle(mid);
	close_handle(top);
	EXPECT_EQ(0, ipcz_inprocess_sandboxed_allocations());
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
	ASSERT_EQ(0, leaks_found());
}

/* ---- hostile delegation messages ---- */

/* A sandboxed client delegating to a fake broker, named 9, on `*t1`. */
static IpczHandle client_of_fake_delegate(IpczHandle *portal,
					  IpczDriverHandle *t1)
{
	IpczHandle node = node_facing_test(ipcz_inprocess_sandboxed_driver(),
					   IPCZ_NO_FLAGS, DELEGATE_FLAGS,
					   portal, t1);

	fake_connect(*t1, 9, 1, IPCZ_NO_FLAGS);
	return node;
}

/* What the broker's answers look like on the fake client's end. */
static int provided, provided_with_memory;

static IpczResult IPCZ_API count_provides(IpczHandle listener,
					  const void *data, size_t num_bytes,
					  const IpczDriverHandle *handles,
					  size_t num_handles,
					  IpczTransportActivityFlags flags,
					  const void *options)
{
	struct msg_header header;
	size_t i;

	for (i = 0; i < num_handles; i++)
		ipcz_inprocess_driver()->Close(handles[i], 0, NULL);
	if (num_bytes < sizeof(header))
		return IPCZ_RESULT_OK;
	memcpy(&header, data, sizeof(header));
	if (header.type == MSG_PROVIDE_MEMORY) {
		provided++;
		provided_with_memory += num_handles > 0;
	}
	return IPCZ_RESULT_OK;
}

/*
 * The delegate serves only a node that connected to it with the flag,
 * and only sizes a link can need.
 */
TEST(delegate_serves_only_delegating_nodes)
{
	static const struct {
		IpczConnectNodeFlags flags;
		uint64_t size;
		int dropped;
	} cases[] = {
		{ DELEGATE_FLAGS, 4096, 0 },
		{ IPCZ_CONNECT_NODE_TO_BROKER, 4096, 1 },
		{ DELEGATE_FLAGS, 0, 1 },
		{ DELEGATE_FLAGS, UINT64_C(1) << 40, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct IpczDriver *driver = ipcz_inprocess_driver();
		IpczHandle broker = new_node_on(driver,
						IPCZ_CREATE_NODE_AS_BROKER);
		struct msg_memory request = {
			.header = { .type = MSG_REQUEST_MEMORY },
			.id = 77,
			.size = cases[i].size,
		};
		IpczDriverHandle t0, t1;
		IpczHandle portal;

		provided = provided_with_memory = 0;
		transports(&t0, &t1);
		ASSERT_EQ(IPCZ_RESULT_OK,
			  driver->ActivateTransport(t1, 1, count_provides, 0,
						    NULL));
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.ConnectNode(broker, t0, 1, IPCZ_NO_FLAGS, NULL,
					   &portal));
		fake_connect(t1, 5, 0, cases[i].flags);
		transmit_raw(t1, &request, sizeof(request), NULL, 0);
		EXPECT_EQ(cases[i].dropped, link_dropped(portal))
			TH_LOG("case %zu", i);
		EXPECT_EQ(!cases[i].dropped, provided) TH_LOG("case %zu", i);
		EXPECT_EQ(!cases[i].dropped, provided_with_memory);
		driver->DeactivateTransport(t1, 0, NULL);
		close_node_facing_test(broker, portal, t1);
		EXPECT_EQ(0, ipcz_inprocess_live_objects())
			TH_LOG("case %zu", i);
	}
	ASSERT_EQ(0, leaks_found());
}

/*
 * A delegating node takes PROVIDE_MEMORY only from its delegate and only
 * for a request it made: an unsolicited answer drops the link, its memory
 * closed.
 */
TEST(unsolicited_memory_drops_the_link)
{
	const struct IpczDriver *driver = ipcz_inprocess_driver();
	IpczHandle node, portal;
	struct {
		struct msg_memory m;
	} answer = { { .header = { .type = MSG_PROVIDE_MEMORY }, .id = 1,
		       .size = 4096 } };
	IpczDriverHandle t1, memory;

	node = client_of_fake_delegate(&portal, &t1);
	ASSERT_NE(IPCZ_INVALID_HANDLE, portal);
	ASSERT_FALSE(link_dropped(portal));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver->AllocateSharedMemory(4096, 0, NULL, &memory));
	transmit_raw(t1, &answer, sizeof(answer), &memory, 1);
	EXPECT_TRUE(link_dropped(portal));
	close_node_facing_test(node, portal, t1);
	EXPECT_EQ(0, ipcz_inprocess_sandboxed_allocations());
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
	ASSERT_EQ(0, leaks_found());
}

/*
 * A delegate that never answers: the referral link waits for its buffer
 * (its portal holds what is put into it); closing the node then releases
 * everything, the unactivated transport included.
 */
TEST(closing_while_a_buffer_is_pending)
{
	const struct IpczDriver *driver = ipcz_inprocess_driver();
	IpczHandle node, portal;
	IpczDriverHandle t1, u0, u1;
	IpczHandle r;

	node = client_of_fake_delegate(&portal, &t1);
	ASSERT_NE(IPCZ_INVALID_HANDLE, portal);
	transports(&u0, &u1);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.ConnectNode(node, u0, 1, IPCZ_CONNECT_NODE_SHARE_BROKER,
				   NULL, &r));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(r, "waits"));
	EXPECT_FALSE(link_dropped(r));
	close_handle(node);
	EXPECT_TRUE(link_dropped(r));
	close_handle(r);
	close_handle(portal);
	driver->Close(t1, 0, NULL);
	driver->Close(u1, 0, NULL);
	EXPECT_EQ(0, ipcz_inprocess_sandboxed_allocations());
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
	ASSERT_EQ(0, leaks_found());
}

/*
 * The delegate's link dies while a request is open: the waiting link
 * starts without a pool and still carries parcels (through the driver).
 */
TEST(lost_delegate_fails_the_request)
{
	const struct IpczDriver *driver = ipcz_inprocess_driver();
	IpczHandle node, portal;
	IpczHandle referred = new_node_on(driver, IPCZ_NO_FLAGS);
	IpczDriverHandle t1;
	IpczHandle r, s;

	node = client_of_fake_delegate(&portal, &t1);
	ASSERT_NE(IPCZ_INVALID_HANDLE, portal);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  join_nodes(node, IPCZ_CONNECT_NODE_SHARE_BROKER, referred,
			     IPCZ_CONNECT_NODE_INHERIT_BROKER, &r, &s));
	ASSERT_EQ(IPCZ_RESULT_OK, put_parcel(r, 5000, 1));
	/* The delegate goes away without answering. */
	driver->Close(t1, 0, NULL);
	EXPECT_TRUE(link_dropped(portal));
	ASSERT_TRUE(got_parcel(s, 5000, 1));
	ASSERT_EQ(IPCZ_RESULT_OK, put_parcel(s, 6000, 2));
	ASSERT_TRUE(got_parcel(r, 6000, 2));
	EXPECT_EQ(0, pool_bytes(node));
	close_handle(r);
	close_handle(s);
	close_handle(portal);
	close_handle(referred);
	close_handle(node);
	EXPECT_EQ(0, ipcz_inprocess_sandboxed_allocations());
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
	ASSERT_EQ(0, leaks_found());
}

TEST_HARNESS_MAIN
