// SPDX-License-Identifier: MIT
/*
 * The introspection calls of include/ipcz/introspect.h: bad arguments,
 * size versioning, a local pair, the initial portals of two connected
 * nodes, and a portal sent to the other node (who sees a proxy where).
 */
#include "kselftest_harness.h"
#include "lib_test.h"
#include "net_fixture.h"
#include "nodes_fixture.h"

static struct ipcz_portal_route_info route_of(IpczHandle portal)
{
	struct ipcz_portal_route_info info = { .size = sizeof(info) };

	if (ipcz_introspect_portal(portal, &info) != IPCZ_RESULT_OK)
		info.flags = 0xffffffffu;
	return info;
}

static struct ipcz_node_info node_info(IpczHandle node)
{
	struct ipcz_node_info info = { .size = sizeof(info) };

	if (ipcz_introspect_node(node, &info) != IPCZ_RESULT_OK)
		info.node_links = 0xffffffffu;
	return info;
}

TEST(bad_arguments)
{
	IpczHandle node = test_node(), a, b;
	struct ipcz_portal_route_info route = { .size = 4 };
	struct ipcz_node_info info = { .size = sizeof(info) };

	test_portals(node, &a, &b);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz_introspect_portal(a, &route));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz_introspect_portal(a, NULL));
	route.size = sizeof(route);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz_introspect_portal(node, &route));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz_introspect_node(a, &info));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz_introspect_node(node, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz_introspect_portal(12345, &route));
	close_handle(a);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz_introspect_portal(a, &route));
	close_handle(b);
	close_handle(node);
}

TEST(older_callers_get_what_fits)
{
	IpczHandle node = test_node(), a, b;
	struct ipcz_portal_route_info route;

	test_portals(node, &a, &b);
	memset(&route, 0xab, sizeof(route));
	route.size = 8;
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_introspect_portal(a, &route));
	EXPECT_EQ(8, route.size);
	EXPECT_EQ(IPCZ_ROUTE_DIRECT | IPCZ_ROUTE_PEER_LOCAL, route.flags);
	EXPECT_EQ(0xabababab, route.known_proxies);
	route.size = sizeof(route) + 64;
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_introspect_portal(a, &route));
	EXPECT_EQ(sizeof(route), route.size);
	EXPECT_EQ(0, route.known_proxies);
	close_handle(a);
	close_handle(b);
	close_handle(node);
}

TEST(local_pair_is_direct_until_closed)
{
	IpczHandle node = test_node(), a, b;
	struct ipcz_node_info info;

	test_portals(node, &a, &b);
	EXPECT_EQ(IPCZ_ROUTE_DIRECT | IPCZ_ROUTE_PEER_LOCAL, route_of(a).flags);
	info = node_info(node);
	EXPECT_EQ(0, info.node_links);
	EXPECT_EQ(0, info.linked_routers);
	EXPECT_EQ(0, info.proxies);
	EXPECT_EQ(0, info.pool_bytes);
	close_handle(a);
	EXPECT_TRUE(route_of(b).flags & IPCZ_ROUTE_PEER_CLOSED);
	EXPECT_FALSE(route_of(b).flags & IPCZ_ROUTE_DIRECT);
	close_handle(b);
	close_handle(node);
}

TEST_F(nodes, initial_portals_are_direct_and_remote)
{
	struct ipcz_portal_route_info route = route_of(self->b);
	struct ipcz_node_info broker = node_info(self->broker);

	EXPECT_EQ(IPCZ_ROUTE_DIRECT | IPCZ_ROUTE_PEER_REMOTE |
		  IPCZ_ROUTE_PEER_NAME_KNOWN, route.flags);
	EXPECT_EQ(0, memcmp(broker.name, route.peer_node_name, 16));
	EXPECT_EQ(IPCZ_ROUTE_DIRECT | IPCZ_ROUTE_PEER_REMOTE,
		  route_of(self->a).flags & ~IPCZ_ROUTE_PEER_NAME_KNOWN);
	EXPECT_EQ(1, broker.node_links);
	EXPECT_EQ(1, broker.linked_routers);
	EXPECT_EQ(0, broker.proxies);
	EXPECT_EQ(1, node_info(self->client).node_links);
}

TEST_F(nodes, closing_the_node_disconnects)
{
	close_handle(self->broker);
	self->broker = IPCZ_INVALID_HANDLE;
	EXPECT_TRUE(route_of(self->b).flags & IPCZ_ROUTE_PEER_CLOSED);
	EXPECT_EQ(0, route_of(self->b).flags &
		     (IPCZ_ROUTE_DIRECT | IPCZ_ROUTE_PEER_REMOTE));
	EXPECT_EQ(0, node_info(self->client).linked_routers);
}

/* Sends `portal` over `via`; returns the portal received at `at`. */
static IpczHandle send_portal(IpczHandle via, IpczHandle portal, IpczHandle at)
{
	IpczHandle got = IPCZ_INVALID_HANDLE;
	size_t num_bytes = 0, num_handles = 1;

	if (ipcz.Put(via, NULL, 0, &portal, 1, IPCZ_NO_FLAGS, NULL) !=
	    IPCZ_RESULT_OK)
		return IPCZ_INVALID_HANDLE;
	ipcz.Get(at, IPCZ_NO_FLAGS, NULL, NULL, &num_bytes, &got,
		 &num_handles, NULL);
	return got;
}

TEST_F(nodes, a_transfer_is_seen_from_both_ends)
{
	IpczHandle c, d, moved;
	struct ipcz_portal_route_info route;
	char buf[8];

	test_portals(self->broker, &c, &d);
	moved = send_portal(self->a, d, self->b);
	ASSERT_NE(IPCZ_INVALID_HANDLE, moved);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(c, "hi"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(moved, buf, sizeof(buf)));
	EXPECT_STREQ("hi", buf);

	/* The peer stayed behind: it is linked to the moved portal. */
	route = route_of(moved);
	EXPECT_EQ(IPCZ_ROUTE_DIRECT | IPCZ_ROUTE_PEER_REMOTE |
		  IPCZ_ROUTE_PEER_NAME_KNOWN, route.flags);
	EXPECT_EQ(0, route.known_proxies);
	route = route_of(c);
	EXPECT_EQ(IPCZ_ROUTE_DIRECT | IPCZ_ROUTE_PEER_REMOTE,
		  route.flags & ~IPCZ_ROUTE_PEER_NAME_KNOWN);
	EXPECT_EQ(0, node_info(self->broker).proxies);
	EXPECT_EQ(2, node_info(self->broker).linked_routers);
	close_handle(c);
	close_handle(moved);
}

/* Moving a portal back and forth leaves no proxy anywhere. */
TEST_F(nodes, portal_moved_back_and_forth_stays_direct)
{
	IpczHandle c, d;
	char buf[16];
	int i;

	test_portals(self->broker, &c, &d);
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(c, "ping"));
		d = send_portal(self->a, d, self->b);
		ASSERT_NE(IPCZ_INVALID_HANDLE, d);
		/* Its peer is remote now: it travels through a proxy. */
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(d, "pong"));
		ASSERT_EQ(IPCZ_RESULT_OK, get_str(c, buf, sizeof(buf)));
		EXPECT_STREQ("pong", buf);
		ASSERT_EQ(IPCZ_RESULT_OK, get_str(d, buf, sizeof(buf)));
		EXPECT_STREQ("ping", buf);
		d = send_portal(self->b, d, self->a);
		ASSERT_NE(IPCZ_INVALID_HANDLE, d);
	}
	/* Both ends on the broker again, joined by a local link. */
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(c, "end"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(d, buf, sizeof(buf)));
	EXPECT_STREQ("end", buf);
	EXPECT_EQ(IPCZ_ROUTE_DIRECT | IPCZ_ROUTE_PEER_LOCAL, route_of(c).flags);
	EXPECT_EQ(IPCZ_ROUTE_DIRECT | IPCZ_ROUTE_PEER_LOCAL, route_of(d).flags);
	EXPECT_EQ(0, node_info(self->broker).proxies);
	EXPECT_EQ(0, node_info(self->client).proxies);
	EXPECT_EQ(1, node_info(self->broker).linked_routers);
	close_handle(c);
	EXPECT_TRUE(route_of(d).flags & IPCZ_ROUTE_PEER_CLOSED);
	close_handle(d);
}

/*
 * Parcels left unread in both directions while one end moves back and
 * forth: each arrives once, in order, and no proxy stays behind.
 */
TEST_F(nodes, unread_parcels_survive_every_move)
{
	IpczHandle c, d;
	char buf[32], want[32];
	int i, sent = 0;

	test_portals(self->broker, &c, &d);
	for (i = 0; i < 8; i++) {
		snprintf(buf, sizeof(buf), "c%d", i);
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(c, buf));
		snprintf(buf, sizeof(buf), "d%d", i);
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(d, buf));
		d = send_portal(i % 2 ? self->b : self->a, d,
				i % 2 ? self->a : self->b);
		ASSERT_NE(IPCZ_INVALID_HANDLE, d);
		sent++;
	}
	for (i = 0; i < sent; i++) {
		snprintf(want, sizeof(want), "c%d", i);
		ASSERT_EQ(IPCZ_RESULT_OK, get_str(d, buf, sizeof(buf)));
		EXPECT_STREQ(want, buf);
		snprintf(want, sizeof(want), "d%d", i);
		ASSERT_EQ(IPCZ_RESULT_OK, get_str(c, buf, sizeof(buf)));
		EXPECT_STREQ(want, buf);
	}
	EXPECT_EQ(IPCZ_ROUTE_DIRECT | IPCZ_ROUTE_PEER_LOCAL, route_of(c).flags);
	EXPECT_EQ(0, node_info(self->broker).proxies);
	EXPECT_EQ(0, node_info(self->client).proxies);
	close_handle(d);
	EXPECT_TRUE(route_of(c).flags & IPCZ_ROUTE_PEER_CLOSED);
	close_handle(c);
}

TEST_HARNESS_MAIN
