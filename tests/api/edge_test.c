// SPDX-License-Identifier: MIT
/*
 * API tests: the corners the header leaves loose, each pinned to what
 * upstream ipcz does (api.cc, router.cc, parcel_wrapper.cc, box.cc,
 * trap_set.cc): which handles a failed call leaves with the caller, what a
 * portal or parcel in a two-phase operation answers, struct sizes other
 * than ours, trap events' fields, and handles of the wrong kind.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "tests/api/api_test.h"

API_PAIR_FIXTURE(edge)

static void IPCZ_API ignore_event(const struct IpczTrapEvent *event)
{
}

/* Whether `handle` is still a live handle of some object. */
static bool box_is_live(IpczHandle box)
{
	struct IpczBoxContents contents = { .size = sizeof(contents) };

	return ipcz.Unbox(box, IPCZ_UNBOX_PEEK, NULL, &contents) ==
	       IPCZ_RESULT_OK;
}

/* Handles of the wrong kind are refused by every call, and survive. */
TEST_F(edge, wrong_kind_handles_survive)
{
	struct IpczPortalStatus status = { .size = sizeof(status) };
	struct IpczBoxContents contents = { .size = sizeof(contents) };
	const struct IpczTrapConditions conditions =
		trap_conditions(IPCZ_TRAP_PEER_CLOSED, 0, 0);
	IpczHandle box = box_test_object(self->node,
					 test_object_new(7, true));
	IpczHandle parcel, x;
	IpczTransaction txn;

	ASSERT_NE(IPCZ_INVALID_HANDLE, box);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "p"));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(self->b, IPCZ_GET_PARTIAL, NULL,
					   NULL, NULL, NULL, NULL, &parcel));

	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.QueryPortalStatus(parcel, 0, NULL, &status));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.QueryPortalStatus(box, 0, NULL, &status));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Get(box, 0, NULL, NULL, NULL, NULL, NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Get(self->node, 0, NULL, NULL, NULL, NULL, NULL,
			   NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginGet(box, 0, NULL, NULL, NULL, NULL, NULL, &txn));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndGet(box, 1, 0, NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(parcel, "x", 1, NULL, 0, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginPut(parcel, 0, NULL, NULL, NULL, &txn));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Trap(parcel, &conditions, ignore_event, 0, 0, NULL,
			    NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Reject(self->a, 0, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, ipcz.Reject(box, 0, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(self->a, 0, NULL, &contents));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(parcel, 0, NULL, &contents));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Box(self->a, &contents, 0, NULL, &x));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.OpenPortals(self->a, 0, NULL, &x, &x));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.MergePortals(self->a, parcel, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.MergePortals(box, self->b, 0, NULL));

	/* Nothing was consumed. */
	EXPECT_TRUE(box_is_live(box));
	EXPECT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  ipcz.Get(parcel, 0, NULL, NULL, NULL, NULL, NULL, NULL));
	EXPECT_EQ(0, portal_status(self->a).flags);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(box, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(parcel, 0, NULL));
}

/* A Put() refused for one bad handle takes none of the good ones. */
TEST_F(edge, refused_put_keeps_every_handle)
{
	IpczHandle c, d, handles[3];

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.OpenPortals(self->node, 0, NULL, &c,
						   &d));
	handles[0] = box_test_object(self->node, test_object_new(1, true));
	handles[1] = c;
	handles[2] = self->node;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->a, "x", 1, handles, 3, 0, NULL));
	handles[2] = box_test_object(self->node, test_object_new(2, false));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->a, "x", 1, handles, 3, 0, NULL));
	EXPECT_TRUE(box_is_live(handles[0]));
	EXPECT_TRUE(box_is_live(handles[2]));
	EXPECT_EQ(0, portal_status(c).flags);
	EXPECT_EQ(0, portal_status(self->b).num_local_parcels);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(handles[0], 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(handles[2], 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(c, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(d, 0, NULL));
}

/* An EndPut() refused for a bad handle leaves the transaction open. */
TEST_F(edge, refused_end_put_keeps_transaction_and_handles)
{
	IpczHandle box = box_test_object(self->node, test_object_new(3, true));
	IpczHandle bad[2] = { box, IPCZ_INVALID_HANDLE };
	IpczTransaction txn;
	size_t n = 1;
	volatile void *data;
	char text[4];

	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginPut(self->a, 0, NULL, &data, &n, &txn));
	*(volatile char *)data = 'z';
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, txn, 1, bad, 2, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, txn, 1, NULL, 1, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->b, txn, 1, NULL, 0, 0, NULL));
	EXPECT_TRUE(box_is_live(box));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndPut(self->a, txn, 1, NULL, 0, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, txn, 1, NULL, 0, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, txn, 0, NULL, 0, IPCZ_END_PUT_ABORT,
			      NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, text, sizeof(text)));
	EXPECT_STREQ("z", text);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(box, 0, NULL));
}

/* A put may go through while a two-phase put is open, and vice versa. */
TEST_F(edge, put_beside_an_open_put)
{
	IpczTransaction txn;
	size_t n = 2;
	volatile void *data;
	char text[4];

	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginPut(self->a, 0, NULL, &data, &n, &txn));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "1"));
	((volatile char *)data)[0] = '2';
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndPut(self->a, txn, 1, NULL, 0, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, text, sizeof(text)));
	EXPECT_STREQ("1", text);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, text, sizeof(text)));
	EXPECT_STREQ("2", text);
}

/*
 * EndPut() after the peer closed: NOT_FOUND, the transaction is gone and
 * the handles stay the caller's.
 */
TEST_F(edge, end_put_after_peer_closed)
{
	IpczHandle box = box_test_object(self->node, test_object_new(4, true));
	IpczTransaction txn;
	size_t n = 1;

	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginPut(self->a, 0, NULL, NULL, &n, &txn));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(self->b, 0, NULL));
	self->b = IPCZ_INVALID_HANDLE;
	EXPECT_EQ(IPCZ_RESULT_NOT_FOUND,
		  ipcz.EndPut(self->a, txn, 1, &box, 1, 0, NULL));
	EXPECT_TRUE(box_is_live(box));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, txn, 0, NULL, 0, IPCZ_END_PUT_ABORT,
			      NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(box, 0, NULL));
}

/*
 * Get() with IPCZ_GET_PARTIAL and no room at all takes the whole parcel:
 * its handles go with it, so a portal it carried is closed.
 */
TEST_F(edge, partial_get_with_no_room_drops_the_parcel)
{
	IpczHandle c, d;
	size_t num_bytes = 0, num_handles = 0;

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.OpenPortals(self->node, 0, NULL, &c,
						   &d));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, "abc", 3, &d, 1, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, IPCZ_GET_PARTIAL, NULL, NULL, &num_bytes,
			   NULL, &num_handles, NULL));
	EXPECT_EQ(0, num_bytes);
	EXPECT_EQ(0, num_handles);
	EXPECT_EQ(0, portal_status(self->b).num_local_parcels);
	EXPECT_TRUE(portal_status(c).flags & IPCZ_PORTAL_STATUS_DEAD);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(c, 0, NULL));
}

/* RESOURCE_EXHAUSTED reports both sizes when either does not fit. */
TEST_F(edge, exhausted_get_reports_both_sizes)
{
	IpczHandle box = box_test_object(self->node, test_object_new(5, true));
	char data[8];
	size_t num_bytes = sizeof(data), num_handles = 0;

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, "abc", 3, &box, 1, 0,
					   NULL));
	EXPECT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  ipcz.Get(self->b, 0, NULL, data, &num_bytes, NULL,
			   &num_handles, NULL));
	EXPECT_EQ(3, num_bytes);
	EXPECT_EQ(1, num_handles);
	/* No capacity pointers at all: still exhausted, nothing taken. */
	EXPECT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  ipcz.Get(self->b, 0, NULL, NULL, NULL, NULL, NULL, NULL));
	EXPECT_EQ(1, portal_status(self->b).num_local_parcels);
}

/* A parcel's own get-transactions: exclusive, abort has no effect. */
TEST_F(edge, parcel_two_phase_get)
{
	IpczHandle box = box_test_object(self->node, test_object_new(6, true));
	IpczHandle parcel, again = IPCZ_INVALID_HANDLE, got;
	IpczTransaction txn, other;
	const volatile void *data;
	size_t num_bytes, num_handles = 0;

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, "abc", 3, &box, 1, 0,
					   NULL));
	num_handles = 0;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, IPCZ_GET_PARTIAL, NULL, NULL, NULL, NULL,
			   &num_handles, &parcel));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginGet(parcel, IPCZ_BEGIN_GET_OVERLAPPED, NULL, NULL,
				NULL, NULL, NULL, &txn));
	num_handles = 0;
	EXPECT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  ipcz.BeginGet(parcel, 0, NULL, &data, &num_bytes, NULL,
				&num_handles, &txn));
	EXPECT_EQ(1, num_handles);
	num_handles = 0;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(parcel, IPCZ_BEGIN_GET_PARTIAL, NULL, &data,
				&num_bytes, NULL, &num_handles, &txn));
	EXPECT_EQ(3, num_bytes);
	EXPECT_EQ(0, num_handles);
	EXPECT_EQ(IPCZ_RESULT_ALREADY_EXISTS,
		  ipcz.BeginGet(parcel, 0, NULL, NULL, NULL, NULL, NULL,
				&other));
	EXPECT_EQ(IPCZ_RESULT_ALREADY_EXISTS,
		  ipcz.Get(parcel, IPCZ_GET_PARTIAL, NULL, NULL, NULL, NULL,
			   NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndGet(self->b, txn, 0, NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndGet(parcel, txn + 1, 0, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndGet(parcel, txn, IPCZ_END_GET_ABORT, NULL, &again));
	EXPECT_NE(IPCZ_INVALID_HANDLE, again);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndGet(parcel, txn, 0, NULL, NULL));
	/* The handle is still there for the next get. */
	num_handles = 1;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(parcel, IPCZ_GET_PARTIAL, NULL, NULL, NULL, &got,
			   &num_handles, NULL));
	EXPECT_EQ(1, num_handles);
	EXPECT_TRUE(box_is_live(got));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(got, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(again, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(parcel, 0, NULL));
}

/* Struct sizes above ours are accepted; status sizes come back clamped. */
TEST_F(edge, larger_structs)
{
	struct {
		struct IpczTrapConditions conditions;
		char later[16];
	} conditions;
	struct {
		struct IpczPortalStatus status;
		char later[16];
	} status;
	IpczTrapConditionFlags satisfied = 0;

	memset(&conditions, 0, sizeof(conditions));
	conditions.conditions.size = sizeof(conditions);
	conditions.conditions.flags = IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS;
	memset(&status, 0x5a, sizeof(status));
	status.status.size = sizeof(status);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "x"));
	EXPECT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  ipcz.Trap(self->b, &conditions.conditions, ignore_event, 0,
			    0, NULL, &satisfied, &status.status));
	EXPECT_EQ(IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS, satisfied);
	EXPECT_EQ(sizeof(struct IpczPortalStatus), status.status.size);
	EXPECT_EQ(1, status.status.num_local_parcels);
	EXPECT_EQ(1, status.status.num_local_bytes);
	for (size_t i = 0; i < sizeof(status.later); i++)
		EXPECT_EQ(0x5a, status.later[i]);

	/* A trap that installs leaves `satisfied` and `status` alone. */
	conditions.conditions.flags = IPCZ_TRAP_DEAD;
	satisfied = 0x77;
	status.status.size = sizeof(status);
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.Trap(self->b, &conditions.conditions, ignore_event, 0,
			    0, NULL, &satisfied, &status.status));
	EXPECT_EQ(0x77, satisfied);
	EXPECT_EQ(sizeof(status), status.status.size);
}

/* Smaller structs are refused, even where nothing would be written. */
TEST_F(edge, smaller_structs)
{
	struct IpczTrapConditions conditions =
		trap_conditions(IPCZ_TRAP_DEAD, 0, 0);
	struct IpczPortalStatus status = { .size = sizeof(status) - 1 };
	struct IpczBoxContents contents = {
		.size = sizeof(contents) - 1,
		.type = IPCZ_BOX_TYPE_APPLICATION_OBJECT,
	};
	IpczHandle box;

	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Trap(self->a, &conditions, ignore_event, 0, 0, NULL,
			    NULL, &status));
	conditions.size--;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Trap(self->a, &conditions, ignore_event, 0, 0, NULL,
			    NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.QueryPortalStatus(self->a, 0, NULL, &status));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Box(self->node, &contents, 0, NULL, &box));
	box = box_test_object(self->node, test_object_new(8, true));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(box, 0, NULL, &contents));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(box, 0, NULL, NULL));
	EXPECT_TRUE(box_is_live(box));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(box, 0, NULL));
	/* No trap was installed by the refused calls. */
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(self->a, 0, NULL));
	self->a = IPCZ_INVALID_HANDLE;
}

static struct recorded_event removed;

/* IPCZ_TRAP_REMOVED: within the Close() call, the status empty. */
TEST_F(edge, removed_event_fields)
{
	const struct IpczTrapConditions conditions =
		trap_conditions(0, 0, 0);

	memset(&removed, 0, sizeof(removed));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "queued"));
	/* No condition but the implicit one: always installs. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Trap(self->b, &conditions, record_trap_event,
			    (uintptr_t)&removed, 0, NULL, NULL, NULL));
	EXPECT_EQ(0, removed.count);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "more"));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(self->a, 0, NULL));
	self->a = IPCZ_INVALID_HANDLE;
	EXPECT_EQ(0, removed.count);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(self->b, 0, NULL));
	self->b = IPCZ_INVALID_HANDLE;
	EXPECT_EQ(1, removed.count);
	EXPECT_EQ(IPCZ_TRAP_REMOVED | IPCZ_TRAP_WITHIN_API_CALL,
		  removed.flags);
	EXPECT_EQ(sizeof(struct IpczTrapEvent), removed.event_size);
	EXPECT_TRUE(removed.status_present);
	EXPECT_EQ(sizeof(struct IpczPortalStatus), removed.status.size);
	EXPECT_EQ(0, removed.status.flags);
	EXPECT_EQ(0, removed.status.num_local_parcels);
}

/*
 * IPCZ_UNBOX_PEEK describes a driver object and keeps the box, as often
 * as asked; a real Unbox() then takes it and consumes the box.
 */
TEST_F(edge, peek_then_unbox_a_driver_object)
{
	IpczDriverHandle object = test_object_new(9, true);
	IpczHandle box = box_test_object(self->node, object);
	struct IpczBoxContents peeked = { .size = sizeof(peeked) };
	struct IpczBoxContents taken = { .size = sizeof(taken) };

	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(box, IPCZ_UNBOX_PEEK, NULL, &peeked));
	EXPECT_EQ(IPCZ_BOX_TYPE_DRIVER_OBJECT, peeked.type);
	EXPECT_EQ(object, peeked.object.driver_object);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(box, IPCZ_UNBOX_PEEK, NULL, &peeked));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Unbox(box, 0, NULL, &taken));
	EXPECT_EQ(object, taken.object.driver_object);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(box, IPCZ_UNBOX_PEEK, NULL, &peeked));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, ipcz.Close(box, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, test_driver()->Close(object, 0, NULL));
}

/* Box() of a subparcel or an unknown type is not implemented. */
TEST_F(edge, box_types_ipcz_makes_itself)
{
	struct IpczBoxContents contents = {
		.size = sizeof(contents),
		.type = IPCZ_BOX_TYPE_SUBPARCEL,
	};
	IpczHandle parcel, box = IPCZ_INVALID_HANDLE;

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "p"));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(self->b, IPCZ_GET_PARTIAL, NULL,
					   NULL, NULL, NULL, NULL, &parcel));
	contents.object.subparcel = parcel;
	EXPECT_EQ(IPCZ_RESULT_UNIMPLEMENTED,
		  ipcz.Box(self->node, &contents, 0, NULL, &box));
	contents.type = 3;
	EXPECT_EQ(IPCZ_RESULT_UNIMPLEMENTED,
		  ipcz.Box(self->node, &contents, 0, NULL, &box));
	EXPECT_EQ(IPCZ_INVALID_HANDLE, box);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(parcel, 0, NULL));
}

/*
 * Within one node a portal travels as itself, as upstream's does (no
 * serialization between local portals): the transactions left open on it
 * go along and are ended through the handle it arrives with.
 */
TEST_F(edge, transactions_travel_with_a_portal_within_the_node)
{
	IpczHandle c, d, e, f, sent[2], got[2];
	IpczTransaction put_txn, get_txn;
	size_t n = 4, num_handles = 2;
	volatile void *data;
	char text[8];

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.OpenPortals(self->node, 0, NULL, &c,
						   &d));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.OpenPortals(self->node, 0, NULL, &e,
						   &f));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginPut(c, 0, NULL, &data, &n, &put_txn));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(f, "held"));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(e, 0, NULL, NULL, NULL, NULL, NULL,
				&get_txn));
	sent[0] = c;
	sent[1] = e;
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, "", 0, sent, 2, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, 0, NULL, NULL, NULL, got, &num_handles,
			   NULL));
	ASSERT_EQ(2, num_handles);

	/* The exclusive get is still on: it ends through the new handle. */
	EXPECT_EQ(IPCZ_RESULT_ALREADY_EXISTS,
		  get_str(got[1], text, sizeof(text)));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndGet(got[1], get_txn, IPCZ_END_GET_ABORT, NULL,
			      NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(got[1], text, sizeof(text)));
	EXPECT_STREQ("held", text);

	/* So is the put. */
	((volatile char *)data)[0] = 'c';
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndPut(got[0], put_txn, 1, NULL, 0, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(d, text, sizeof(text)));
	EXPECT_STREQ("c", text);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(got[0], 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(got[1], 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(d, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(f, 0, NULL));
}

/* Open transactions do not outlive a portal closed after travelling. */
TEST_F(edge, open_put_on_a_portal_closed_after_travelling)
{
	IpczHandle c, d, got;
	IpczTransaction txn;
	size_t n = 4, num_handles = 1;

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.OpenPortals(self->node, 0, NULL, &c,
						   &d));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginPut(c, 0, NULL, NULL, &n, &txn));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, "", 0, &c, 1, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, 0, NULL, NULL, NULL, &got, &num_handles,
			   NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(got, 0, NULL));
	EXPECT_TRUE(portal_status(d).flags & IPCZ_PORTAL_STATUS_DEAD);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(d, 0, NULL));
}

/* Merging a portal with an open put: allowed, nothing leaks. */
TEST_F(edge, merge_with_an_open_put)
{
	IpczHandle c, d;
	IpczTransaction txn;
	size_t n = 4;
	char text[8];

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.OpenPortals(self->node, 0, NULL, &c,
						   &d));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginPut(self->b, 0, NULL, NULL, &n,
						&txn));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.MergePortals(self->b, c, 0, NULL));
	self->b = IPCZ_INVALID_HANDLE;
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "a->d"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(d, text, sizeof(text)));
	EXPECT_STREQ("a->d", text);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(d, 0, NULL));
}

/* Closing a portal in an exclusive get: the peer sees the closure. */
TEST_F(edge, close_during_exclusive_get)
{
	IpczTransaction txn;

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "x"));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(self->b, 0, NULL, NULL, NULL, NULL, NULL,
				&txn));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(self->b, 0, NULL));
	self->b = IPCZ_INVALID_HANDLE;
	EXPECT_TRUE(portal_status(self->a).flags &
		    IPCZ_PORTAL_STATUS_PEER_CLOSED);
	EXPECT_EQ(IPCZ_RESULT_NOT_FOUND, put_str(self->a, "y"));
}

TEST_HARNESS_MAIN
