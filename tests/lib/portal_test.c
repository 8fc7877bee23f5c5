// SPDX-License-Identifier: MIT
/*
 * Portals through the API: IpczGetAPI, nodes, Put/Get with data and
 * handles, partial and too-small gets, closure and its statuses, traps
 * with every condition, and misuse of each call.
 */
#include "kselftest_harness.h"
#include "lib/handle_table.h"
#include "lib_test.h"

FIXTURE(portal) {
	IpczHandle node, a, b;
};

FIXTURE_SETUP(portal)
{
	self->node = test_node();
	ASSERT_NE(IPCZ_INVALID_HANDLE, self->node);
	test_portals(self->node, &self->a, &self->b);
}

FIXTURE_TEARDOWN(portal)
{
	close_handle(self->a);
	close_handle(self->b);
	close_handle(self->node);
	EXPECT_EQ(0, ipcz_inprocess_live_objects());
	EXPECT_EQ(0, leaks_found());
}

TEST(get_api_honours_size)
{
	struct IpczAPI api = { .size = sizeof(api) };
	struct IpczAPI small = { .size = offsetof(struct IpczAPI, Unbox) };

	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, IpczGetAPI(NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, IpczGetAPI(&small));
	ASSERT_EQ(NULL, small.Close);
	ASSERT_EQ(IPCZ_RESULT_OK, IpczGetAPI(&api));
	ASSERT_EQ(sizeof(api), api.size);
	ASSERT_NE(NULL, api.Unbox);
}

TEST(create_node_checks_arguments)
{
	struct IpczDriver driver = *ipcz_inprocess_driver();
	struct IpczCreateNodeOptions options = { .size = sizeof(options) };
	IpczHandle node;

	IpczGetAPI(&ipcz);
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.CreateNode(NULL, IPCZ_NO_FLAGS, NULL, &node));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.CreateNode(&driver, IPCZ_NO_FLAGS, NULL, NULL));
	driver.size = sizeof(driver) - 1;
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.CreateNode(&driver, IPCZ_NO_FLAGS, NULL, &node));
	driver.size = sizeof(driver);
	driver.Transmit = NULL;
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.CreateNode(&driver, IPCZ_NO_FLAGS, NULL, &node));
	options.size = sizeof(options) - 1;
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.CreateNode(ipcz_inprocess_driver(), IPCZ_NO_FLAGS,
				  &options, &node));
	options.size = sizeof(options);
	options.memory_flags = IPCZ_MEMORY_FIXED_PARCEL_CAPACITY;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.CreateNode(ipcz_inprocess_driver(),
				  IPCZ_CREATE_NODE_AS_BROKER, &options, &node));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(node, IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Close(node, IPCZ_NO_FLAGS, NULL));
}

TEST(connect_node_validates_like_upstream)
{
	IpczHandle node = test_node(), broker, portals[13];
	IpczDriverHandle t0, t1;
	const struct IpczDriver *driver = ipcz_inprocess_driver();

	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.CreateNode(driver, IPCZ_CREATE_NODE_AS_BROKER, NULL,
				  &broker));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver->CreateTransports(IPCZ_INVALID_DRIVER_HANDLE,
					   IPCZ_INVALID_DRIVER_HANDLE, 0, NULL,
					   &t0, &t1));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(IPCZ_INVALID_HANDLE, t0, 1,
				   IPCZ_CONNECT_NODE_TO_BROKER, NULL, portals));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(node, IPCZ_INVALID_DRIVER_HANDLE, 1,
				   IPCZ_CONNECT_NODE_TO_BROKER, NULL, portals));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(node, t0, 0, IPCZ_CONNECT_NODE_TO_BROKER,
				   NULL, portals));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(node, t0, 1, IPCZ_CONNECT_NODE_TO_BROKER,
				   NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_OUT_OF_RANGE,
		  ipcz.ConnectNode(node, t0, 13, IPCZ_CONNECT_NODE_TO_BROKER,
				   NULL, portals));
	/* Flag rules. */
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(node, t0, 1,
				   IPCZ_CONNECT_NODE_SHARE_BROKER |
					   IPCZ_CONNECT_NODE_INHERIT_BROKER,
				   NULL, portals));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(node, t0, 1,
				   IPCZ_CONNECT_NODE_TO_BROKER |
					   IPCZ_CONNECT_NODE_INHERIT_BROKER,
				   NULL, portals));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(broker, t0, 1,
				   IPCZ_CONNECT_NODE_INHERIT_BROKER, NULL,
				   portals));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(node, t0, 1, IPCZ_NO_FLAGS, NULL, portals));
	/* A node handle of the wrong type. */
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(t0, t0, 1, IPCZ_CONNECT_NODE_TO_BROKER,
				   NULL, portals));
	driver->Close(t0, 0, NULL);
	driver->Close(t1, 0, NULL);
	close_handle(broker);
	close_handle(node);
}

TEST_F(portal, put_get_in_order)
{
	char buf[32];
	int i;

	for (i = 0; i < 10; i++) {
		snprintf(buf, sizeof(buf), "parcel %d", i);
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, buf));
	}
	for (i = 0; i < 10; i++) {
		char want[32];

		snprintf(want, sizeof(want), "parcel %d", i);
		ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, buf, sizeof(buf)));
		ASSERT_STREQ(want, buf);
	}
	ASSERT_EQ(IPCZ_RESULT_UNAVAILABLE, get_str(self->b, buf, sizeof(buf)));
	/* And the other way. */
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->b, "back"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->a, buf, sizeof(buf)));
	ASSERT_STREQ("back", buf);
}

TEST_F(portal, empty_parcels)
{
	size_t n = 0, h = 0;

	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Put(self->a, NULL, 0, NULL, 0, IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, NULL,
					   &n, NULL, &h, NULL));
	ASSERT_EQ(0, n);
	ASSERT_EQ(0, h);
}

TEST_F(portal, query_status)
{
	struct IpczPortalStatus status = { .size = sizeof(status) };

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "12345"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "678"));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.QueryPortalStatus(self->b, IPCZ_NO_FLAGS,
							 NULL, &status));
	ASSERT_EQ(0, status.flags);
	ASSERT_EQ(2, status.num_local_parcels);
	ASSERT_EQ(8, status.num_local_bytes);
	status.size = sizeof(status) - 1;
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.QueryPortalStatus(self->b, IPCZ_NO_FLAGS, NULL,
					 &status));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.QueryPortalStatus(self->b, IPCZ_NO_FLAGS, NULL, NULL));
	status.size = sizeof(status);
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.QueryPortalStatus(self->node, IPCZ_NO_FLAGS, NULL,
					 &status));
}

TEST_F(portal, too_small_buffers_report_sizes)
{
	IpczHandle c, d, got[2];
	char buf[4];
	size_t n = 2, h = 0;

	test_portals(self->node, &c, &d);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Put(self->a, "hello", 5, &c, 1, IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, buf, &n, NULL, &h,
			   NULL));
	ASSERT_EQ(5, n);
	ASSERT_EQ(1, h);
	/* Nothing was consumed. */
	ASSERT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, NULL, NULL, NULL,
			   NULL, NULL));
	/* Partial: as much as fits, and the parcel is consumed. */
	n = 3;
	h = 0;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, IPCZ_GET_PARTIAL, NULL, buf, &n, got, &h,
			   NULL));
	ASSERT_EQ(3, n);
	ASSERT_EQ(0, h);
	ASSERT_EQ(0, memcmp(buf, "hel", 3));
	ASSERT_EQ(IPCZ_RESULT_UNAVAILABLE,
		  ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, NULL, NULL, NULL,
			   NULL, NULL));
	/* The unread portal went with the parcel: c is closed, d sees it. */
	ASSERT_EQ(IPCZ_PORTAL_STATUS_PEER_CLOSED | IPCZ_PORTAL_STATUS_DEAD,
		  status_flags(d));
	close_handle(d);
}

TEST_F(portal, get_with_parcel_handle)
{
	IpczHandle parcel, c, d, got;
	char buf[8];
	size_t n = sizeof(buf), h = 0;

	test_portals(self->node, &c, &d);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Put(self->a, "abc", 3, &d, 1, IPCZ_NO_FLAGS, NULL));
	/* Partial get with no handle room keeps the handle on the parcel. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, IPCZ_GET_PARTIAL, NULL, buf, &n, NULL, &h,
			   &parcel));
	ASSERT_EQ(3, n);
	ASSERT_EQ(0, h);
	/* The parcel can be read again; its data stays, handles go. */
	n = sizeof(buf);
	h = 1;
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(parcel, IPCZ_NO_FLAGS, NULL, buf,
					   &n, &got, &h, NULL));
	ASSERT_EQ(3, n);
	ASSERT_EQ(1, h);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(got, "via d"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(c, buf, sizeof(buf)));
	ASSERT_STREQ("via d", buf);
	n = sizeof(buf);
	h = 1;
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(parcel, IPCZ_NO_FLAGS, NULL, buf,
					   &n, &got, &h, NULL));
	ASSERT_EQ(0, h);
	/* A local parcel cannot be rejected. */
	ASSERT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  ipcz.Reject(parcel, 7, IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Reject(self->a, 7, IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Reject(IPCZ_INVALID_HANDLE, 7, IPCZ_NO_FLAGS, NULL));
	close_handle(parcel);
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Get(parcel, IPCZ_NO_FLAGS, NULL, NULL, NULL, NULL, NULL,
			   NULL));
	close_handle(got);
	close_handle(c);
}

TEST_F(portal, put_and_get_misuse)
{
	IpczHandle handle = self->b;
	char buf[4];
	size_t n = 4;

	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(IPCZ_INVALID_HANDLE, "x", 1, NULL, 0, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->node, "x", 1, NULL, 0, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->a, NULL, 1, NULL, 0, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->a, "x", 1, NULL, 1, 0, NULL));
	/* A portal cannot travel through itself or its peer. */
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->a, "x", 1, &self->a, 1, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->a, "x", 1, &handle, 1, 0, NULL));
	/* Nodes cannot travel; forged handles are refused. */
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->a, "x", 1, &self->node, 1, 0, NULL));
	handle = self->b ^ (1ull << 40);
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->a, "x", 1, &handle, 1, 0, NULL));
	/* None of that put anything. */
	ASSERT_EQ(IPCZ_RESULT_UNAVAILABLE,
		  ipcz.Get(self->b, 0, NULL, buf, &n, NULL, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "x"));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Get(self->b, 0, NULL, NULL, &n, NULL, NULL, NULL));
	n = 1;
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Get(self->b, 0, NULL, buf, NULL, NULL, &n, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Get(self->node, 0, NULL, NULL, NULL, NULL, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Get(IPCZ_INVALID_HANDLE, 0, NULL, NULL, NULL, NULL,
			   NULL, NULL));
}

TEST_F(portal, handles_travel_and_are_retired)
{
	IpczHandle c, d, got[2];
	char buf[16];
	size_t n = sizeof(buf), h = 2;

	test_portals(self->node, &c, &d);
	/* The same handle twice is refused. */
	got[0] = got[1] = c;
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->a, "x", 1, got, 2, 0, NULL));
	got[0] = c;
	got[1] = d;
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, "two", 3, got, 2, 0, NULL));
	/* The sender's handles are gone. */
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, put_str(c, "x"));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, put_str(d, "x"));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(self->b, 0, NULL, buf, &n, got, &h,
					   NULL));
	ASSERT_EQ(2, h);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(got[0], "over c"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(got[1], buf, sizeof(buf)));
	ASSERT_STREQ("over c", buf);
	close_handle(got[0]);
	close_handle(got[1]);
}

TEST_F(portal, closure_statuses)
{
	char buf[8];

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "last"));
	close_handle(self->a);
	ASSERT_EQ(IPCZ_PORTAL_STATUS_PEER_CLOSED, status_flags(self->b));
	ASSERT_EQ(IPCZ_RESULT_NOT_FOUND, put_str(self->b, "x"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, buf, sizeof(buf)));
	ASSERT_STREQ("last", buf);
	ASSERT_EQ(IPCZ_PORTAL_STATUS_PEER_CLOSED | IPCZ_PORTAL_STATUS_DEAD,
		  status_flags(self->b));
	ASSERT_EQ(IPCZ_RESULT_NOT_FOUND, get_str(self->b, buf, sizeof(buf)));
	self->a = IPCZ_INVALID_HANDLE;
}

TEST_F(portal, closing_twice_and_stale_handles)
{
	IpczHandle a = self->a;

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(a, IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Close(a, IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, put_str(a, "x"));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Close(IPCZ_INVALID_HANDLE, IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Close(0x1234567812345678ull, IPCZ_NO_FLAGS, NULL));
	self->a = IPCZ_INVALID_HANDLE;
}

/* ---- traps ---- */

struct trap_record {
	int count;
	IpczTrapConditionFlags flags;
	struct IpczPortalStatus status;
};

static void record(const struct IpczTrapEvent *event)
{
	struct trap_record *r = (struct trap_record *)event->context;

	r->count++;
	r->flags = event->condition_flags;
	r->status = *event->status;
}

static IpczResult trap(IpczHandle portal, IpczTrapConditionFlags flags,
		       size_t min, struct trap_record *r)
{
	const struct IpczTrapConditions c = {
		.size = sizeof(c),
		.flags = flags,
		.min_local_parcels = min,
		.min_local_bytes = min,
	};

	return ipcz.Trap(portal, &c, record, (uintptr_t)r, IPCZ_NO_FLAGS,
			 NULL, NULL, NULL);
}

TEST_F(portal, trap_misuse)
{
	struct IpczTrapConditions c = { .size = sizeof(c) };
	struct IpczPortalStatus status = { .size = sizeof(status) - 1 };

	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Trap(self->a, NULL, record, 0, 0, NULL, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Trap(self->a, &c, NULL, 0, 0, NULL, NULL, NULL));
	c.size = sizeof(c) - 1;
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Trap(self->a, &c, record, 0, 0, NULL, NULL, NULL));
	c.size = sizeof(c);
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Trap(self->node, &c, record, 0, 0, NULL, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Trap(self->a, &c, record, 0, 0, NULL, NULL, &status));
}

TEST_F(portal, trap_already_satisfied)
{
	struct IpczTrapConditions c = {
		.size = sizeof(c),
		.flags = IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS |
			 IPCZ_TRAP_ABOVE_MIN_LOCAL_BYTES | IPCZ_TRAP_PEER_CLOSED,
		.min_local_parcels = 0,
		.min_local_bytes = 10,
	};
	struct IpczPortalStatus status = { .size = sizeof(status) };
	IpczTrapConditionFlags satisfied = 0;
	struct trap_record r = { 0 };

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "abc"));
	ASSERT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  ipcz.Trap(self->b, &c, record, (uintptr_t)&r, 0, NULL,
			    &satisfied, &status));
	ASSERT_EQ(IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS, satisfied);
	ASSERT_EQ(1, status.num_local_parcels);
	ASSERT_EQ(3, status.num_local_bytes);
	ASSERT_EQ(0, r.count);
}

TEST_F(portal, trap_new_local_parcel_within_api_call)
{
	struct trap_record r = { 0 };

	ASSERT_EQ(IPCZ_RESULT_OK, trap(self->b, IPCZ_TRAP_NEW_LOCAL_PARCEL, 0,
				       &r));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "x"));
	ASSERT_EQ(1, r.count);
	ASSERT_EQ(IPCZ_TRAP_NEW_LOCAL_PARCEL | IPCZ_TRAP_WITHIN_API_CALL,
		  r.flags);
	ASSERT_EQ(1, r.status.num_local_parcels);
	/* One-shot. */
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "y"));
	ASSERT_EQ(1, r.count);
	/* NEW_LOCAL_PARCEL installs even with parcels queued. */
	ASSERT_EQ(IPCZ_RESULT_OK, trap(self->b, IPCZ_TRAP_NEW_LOCAL_PARCEL, 0,
				       &r));
	/* Closing removes it while `r` is still in scope. */
	close_handle(self->b);
	self->b = IPCZ_INVALID_HANDLE;
	ASSERT_EQ(2, r.count);
	ASSERT_EQ(IPCZ_TRAP_REMOVED | IPCZ_TRAP_WITHIN_API_CALL, r.flags);
}

TEST_F(portal, trap_min_parcels_and_bytes)
{
	struct trap_record parcels = { 0 }, bytes = { 0 };

	ASSERT_EQ(IPCZ_RESULT_OK,
		  trap(self->b, IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS, 2, &parcels));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  trap(self->b, IPCZ_TRAP_ABOVE_MIN_LOCAL_BYTES, 5, &bytes));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "abc"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "de"));
	ASSERT_EQ(0, parcels.count);
	ASSERT_EQ(0, bytes.count);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "f"));
	ASSERT_EQ(1, parcels.count);
	ASSERT_EQ(1, bytes.count);
	ASSERT_EQ(3, parcels.status.num_local_parcels);
	ASSERT_EQ(6, bytes.status.num_local_bytes);
}

TEST_F(portal, trap_peer_closed_and_dead)
{
	struct trap_record closed = { 0 }, dead = { 0 };
	char buf[4];

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "x"));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  trap(self->b, IPCZ_TRAP_PEER_CLOSED, 0, &closed));
	ASSERT_EQ(IPCZ_RESULT_OK, trap(self->b, IPCZ_TRAP_DEAD, 0, &dead));
	close_handle(self->a);
	self->a = IPCZ_INVALID_HANDLE;
	ASSERT_EQ(1, closed.count);
	ASSERT_EQ(IPCZ_TRAP_PEER_CLOSED | IPCZ_TRAP_WITHIN_API_CALL,
		  closed.flags);
	ASSERT_EQ(0, dead.count);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, buf, sizeof(buf)));
	ASSERT_EQ(1, dead.count);
	ASSERT_EQ(IPCZ_TRAP_DEAD | IPCZ_TRAP_WITHIN_API_CALL, dead.flags);
	ASSERT_EQ(IPCZ_PORTAL_STATUS_PEER_CLOSED | IPCZ_PORTAL_STATUS_DEAD,
		  dead.status.flags);
}

TEST_F(portal, trap_removed_on_close)
{
	struct trap_record r1 = { 0 }, r2 = { 0 };

	ASSERT_EQ(IPCZ_RESULT_OK, trap(self->b, IPCZ_TRAP_DEAD, 0, &r1));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  trap(self->b, IPCZ_TRAP_NEW_LOCAL_PARCEL, 0, &r2));
	close_handle(self->b);
	self->b = IPCZ_INVALID_HANDLE;
	ASSERT_EQ(1, r1.count);
	ASSERT_EQ(1, r2.count);
	ASSERT_EQ(IPCZ_TRAP_REMOVED | IPCZ_TRAP_WITHIN_API_CALL, r1.flags);
	ASSERT_EQ(0, r1.status.flags);
}

/* A handler may call back into ipcz: no lock is held around it. */
static IpczHandle reentrant_portal;
static int reentrant_got;

static void reenter(const struct IpczTrapEvent *event)
{
	char buf[8];
	size_t n = sizeof(buf);

	if (ipcz.Get(reentrant_portal, 0, NULL, buf, &n, NULL, NULL, NULL) ==
	    IPCZ_RESULT_OK)
		reentrant_got++;
}

TEST_F(portal, trap_handler_may_reenter)
{
	const struct IpczTrapConditions c = {
		.size = sizeof(c),
		.flags = IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS,
	};

	reentrant_portal = self->b;
	reentrant_got = 0;
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Trap(self->b, &c, reenter, 0, 0, NULL,
					    NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "x"));
	ASSERT_EQ(1, reentrant_got);
}

TEST(no_handles_leak)
{
	size_t before, after;
	IpczHandle node, a, b;

	node = test_node();
	before = handle_table_count();
	test_portals(node, &a, &b);
	put_str(a, "x");
	close_handle(a);
	close_handle(b);
	after = handle_table_count();
	close_handle(node);
	ASSERT_EQ(before, after);
}

TEST_HARNESS_MAIN
