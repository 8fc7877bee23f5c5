// SPDX-License-Identifier: MIT
/*
 * API tests: traps. Every condition, IPCZ_TRAP_WITHIN_API_CALL, one-shot
 * behaviour, FAILED_PRECONDITION for conditions that already hold (with the
 * satisfied conditions and status reported), IPCZ_TRAP_REMOVED on close and
 * on transfer, re-entrant handlers, and events raised by another node's
 * traffic. Expected results follow upstream ipcz's header and
 * implementation (trap_set.cc, router.cc, trap_test.cc).
 */
#include <string.h>

#include "kselftest_harness.h"
#include "tests/api/api_test.h"

API_PAIR_FIXTURE(trap)

/*
 * Installs a trap recording into `record`; returns Trap()'s result. Where
 * a condition already holds, the conditions that do and the portal's
 * status go to `*satisfied` and `*status` (either may be null).
 */
static IpczResult watch_or_report(IpczHandle portal,
				  IpczTrapConditionFlags flags,
				  size_t min_parcels, size_t min_bytes,
				  struct recorded_event *record,
				  IpczTrapConditionFlags *satisfied,
				  struct IpczPortalStatus *status)
{
	const struct IpczTrapConditions conditions =
		trap_conditions(flags, min_parcels, min_bytes);

	if (satisfied)
		*satisfied = 0;
	if (status) {
		memset(status, 0, sizeof(*status));
		status->size = sizeof(*status);
	}
	return ipcz.Trap(portal, &conditions, record_trap_event,
			 (uintptr_t)record, IPCZ_NO_FLAGS, NULL, satisfied,
			 status);
}

static IpczResult watch(IpczHandle portal, IpczTrapConditionFlags flags,
			size_t min_parcels, size_t min_bytes,
			struct recorded_event *record)
{
	return watch_or_report(portal, flags, min_parcels, min_bytes, record,
			       NULL, NULL);
}

/* Closes `*portal` and forgets it, so that teardown leaves it alone. */
static IpczResult close_portal(IpczHandle *portal)
{
	IpczResult result = ipcz.Close(*portal, IPCZ_NO_FLAGS, NULL);

	*portal = IPCZ_INVALID_HANDLE;
	return result;
}

TEST_F(trap, invalid_arguments)
{
	struct IpczTrapConditions conditions = trap_conditions(
		IPCZ_TRAP_NEW_LOCAL_PARCEL, 0, 0);
	struct IpczPortalStatus status;
	struct recorded_event record = { 0 };
	const uintptr_t context = (uintptr_t)&record;

	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Trap(self->b, NULL, record_trap_event, context,
			    IPCZ_NO_FLAGS, NULL, NULL, NULL));
	conditions.size = sizeof(conditions) - 1;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Trap(self->b, &conditions, record_trap_event, context,
			    IPCZ_NO_FLAGS, NULL, NULL, NULL));
	conditions.size = sizeof(conditions);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Trap(self->b, &conditions, NULL, context, IPCZ_NO_FLAGS,
			    NULL, NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Trap(IPCZ_INVALID_HANDLE, &conditions,
			    record_trap_event, context, IPCZ_NO_FLAGS, NULL,
			    NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Trap(self->node, &conditions, record_trap_event,
			    context, IPCZ_NO_FLAGS, NULL, NULL, NULL));
	memset(&status, 0, sizeof(status));
	status.size = sizeof(status) - 1;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Trap(self->b, &conditions, record_trap_event, context,
			    IPCZ_NO_FLAGS, NULL, NULL, &status));

	/* None of those installed anything. */
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "x"));
	close_portal(&self->b);
	EXPECT_EQ(0, record.count);
}

TEST_F(trap, new_local_parcel_is_one_shot)
{
	struct recorded_event record = { 0 };

	ASSERT_EQ(IPCZ_RESULT_OK, watch(self->b, IPCZ_TRAP_NEW_LOCAL_PARCEL,
					0, 0, &record));
	/* Puts into b itself, and an unfinished BeginPut, are not news. */
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->b, "outbound"));
	EXPECT_EQ(0, record.count);

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "beep"));
	ASSERT_EQ(1, record.count);
	EXPECT_EQ(IPCZ_TRAP_NEW_LOCAL_PARCEL | IPCZ_TRAP_WITHIN_API_CALL,
		  record.flags);
	EXPECT_EQ((uintptr_t)&record, record.context);
	EXPECT_GE(record.event_size, sizeof(struct IpczTrapEvent));
	ASSERT_TRUE(record.status_present);
	EXPECT_GE(record.status.size, sizeof(struct IpczPortalStatus));
	EXPECT_EQ(1, record.status.num_local_parcels);
	EXPECT_EQ(4, record.status.num_local_bytes);

	/* Fired traps are gone. */
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "beep"));
	EXPECT_EQ(1, record.count);

	/* Edge-triggered: it can be re-armed although parcels are queued. */
	ASSERT_EQ(IPCZ_RESULT_OK, watch(self->b, IPCZ_TRAP_NEW_LOCAL_PARCEL,
					0, 0, &record));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "beep beep"));
	EXPECT_EQ(2, record.count);
	EXPECT_EQ(3, record.status.num_local_parcels);
}

TEST_F(trap, new_local_parcel_on_end_put)
{
	struct recorded_event record = { 0 };
	volatile void *out = NULL;
	size_t num_bytes = 2;
	IpczTransaction put = 0;

	ASSERT_EQ(IPCZ_RESULT_OK, watch(self->b, IPCZ_TRAP_NEW_LOCAL_PARCEL,
					0, 0, &record));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginPut(self->a, IPCZ_NO_FLAGS, NULL,
						&out, &num_bytes, &put));
	EXPECT_EQ(0, record.count);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndPut(self->a, put, 2, NULL, 0,
					      IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(1, record.count);
	EXPECT_TRUE(record.flags & IPCZ_TRAP_NEW_LOCAL_PARCEL);
}

TEST_F(trap, above_min_local_parcels)
{
	struct recorded_event record = { 0 };
	IpczTrapConditionFlags satisfied = 0;
	struct IpczPortalStatus status;
	char text[8];

	ASSERT_EQ(IPCZ_RESULT_OK, watch(self->b,
					IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS, 0,
					0, &record));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "one"));
	ASSERT_EQ(1, record.count);
	EXPECT_EQ(IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS | IPCZ_TRAP_WITHIN_API_CALL,
		  record.flags);

	/* Level-triggered: it already holds, so no new trap. */
	EXPECT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  watch_or_report(self->b, IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS,
				  0, 0, &record, &satisfied, &status));
	EXPECT_EQ(IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS, satisfied);
	EXPECT_EQ(sizeof(status), status.size);
	EXPECT_EQ(1, status.num_local_parcels);
	EXPECT_EQ(3, status.num_local_bytes);

	/* A higher threshold: strictly more than 2 parcels. */
	ASSERT_EQ(IPCZ_RESULT_OK, watch(self->b,
					IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS, 2,
					0, &record));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "two"));
	EXPECT_EQ(1, record.count);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "three"));
	EXPECT_EQ(2, record.count);
	EXPECT_EQ(3, record.status.num_local_parcels);

	/* Drained, the condition no longer holds and can be watched again. */
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, text,
						  sizeof(text)));
	EXPECT_EQ(IPCZ_RESULT_OK, watch(self->b,
					IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS, 0,
					0, &record));
	/* That trap is armed: closing b fires it, while `record` lives. */
	close_portal(&self->b);
	EXPECT_EQ(3, record.count);
	EXPECT_TRUE(record.flags & IPCZ_TRAP_REMOVED);
}

TEST_F(trap, above_min_local_bytes)
{
	struct recorded_event record = { 0 };
	IpczTrapConditionFlags satisfied = 0;
	struct IpczPortalStatus status;

	ASSERT_EQ(IPCZ_RESULT_OK, watch(self->b,
					IPCZ_TRAP_ABOVE_MIN_LOCAL_BYTES, 0, 3,
					&record));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "w"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "x"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "y"));
	EXPECT_EQ(0, record.count);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "z"));
	ASSERT_EQ(1, record.count);
	EXPECT_EQ(IPCZ_TRAP_ABOVE_MIN_LOCAL_BYTES | IPCZ_TRAP_WITHIN_API_CALL,
		  record.flags);
	EXPECT_EQ(4, record.status.num_local_bytes);

	EXPECT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  watch_or_report(self->b, IPCZ_TRAP_ABOVE_MIN_LOCAL_BYTES, 0,
				  3, &record, &satisfied, &status));
	EXPECT_EQ(IPCZ_TRAP_ABOVE_MIN_LOCAL_BYTES, satisfied);
	EXPECT_EQ(4, status.num_local_bytes);
}

TEST_F(trap, peer_closed)
{
	struct recorded_event record = { 0 };
	IpczTrapConditionFlags satisfied = 0;
	struct IpczPortalStatus status;

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "pending"));
	ASSERT_EQ(IPCZ_RESULT_OK, watch(self->b, IPCZ_TRAP_PEER_CLOSED, 0, 0,
					&record));
	ASSERT_EQ(IPCZ_RESULT_OK, close_portal(&self->a));
	ASSERT_EQ(1, record.count);
	EXPECT_EQ(IPCZ_TRAP_PEER_CLOSED | IPCZ_TRAP_WITHIN_API_CALL,
		  record.flags);
	EXPECT_TRUE(record.status.flags & IPCZ_PORTAL_STATUS_PEER_CLOSED);
	EXPECT_FALSE(record.status.flags & IPCZ_PORTAL_STATUS_DEAD);
	EXPECT_EQ(1, record.status.num_local_parcels);

	/* Asking for PEER_CLOSED and DEAD: only the first holds. */
	EXPECT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  watch_or_report(self->b,
				  IPCZ_TRAP_PEER_CLOSED | IPCZ_TRAP_DEAD, 0, 0,
				  &record, &satisfied, &status));
	EXPECT_EQ(IPCZ_TRAP_PEER_CLOSED, satisfied);
	EXPECT_TRUE(status.flags & IPCZ_PORTAL_STATUS_PEER_CLOSED);
	EXPECT_FALSE(status.flags & IPCZ_PORTAL_STATUS_DEAD);
}

TEST_F(trap, dead_needs_closure_and_drain)
{
	struct recorded_event record = { 0 };
	IpczTrapConditionFlags satisfied = 0;
	struct IpczPortalStatus status;
	char text[16];

	ASSERT_EQ(IPCZ_RESULT_OK, watch(self->b, IPCZ_TRAP_DEAD, 0, 0,
					&record));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "goodbye"));
	ASSERT_EQ(IPCZ_RESULT_OK, close_portal(&self->a));
	EXPECT_EQ(0, record.count);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, text, sizeof(text)));
	ASSERT_EQ(1, record.count);
	EXPECT_EQ(IPCZ_TRAP_DEAD | IPCZ_TRAP_WITHIN_API_CALL, record.flags);
	EXPECT_TRUE(record.status.flags & IPCZ_PORTAL_STATUS_DEAD);
	EXPECT_EQ(0, record.status.num_local_parcels);

	EXPECT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  watch_or_report(self->b,
				  IPCZ_TRAP_DEAD | IPCZ_TRAP_NEW_LOCAL_PARCEL,
				  0, 0, &record, &satisfied, &status));
	EXPECT_EQ(IPCZ_TRAP_DEAD, satisfied);
	EXPECT_TRUE(status.flags & IPCZ_PORTAL_STATUS_PEER_CLOSED);
	EXPECT_TRUE(status.flags & IPCZ_PORTAL_STATUS_DEAD);
}

/* b holds a last parcel from a, which is closed; b's DEAD is watched. */
static IpczResult last_parcel_then_watch_dead(FIXTURE_DATA(trap) *self,
					      struct recorded_event *record)
{
	IpczResult result = put_str(self->a, "last");

	if (result == IPCZ_RESULT_OK)
		result = close_portal(&self->a);
	if (result == IPCZ_RESULT_OK)
		result = watch(self->b, IPCZ_TRAP_DEAD, 0, 0, record);
	return result;
}

TEST_F(trap, dead_on_end_get)
{
	struct recorded_event record = { 0 };
	IpczTransaction get = 0;

	ASSERT_EQ(IPCZ_RESULT_OK, last_parcel_then_watch_dead(self, &record));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginGet(self->b, IPCZ_NO_FLAGS, NULL,
						NULL, NULL, NULL, NULL, &get));
	EXPECT_EQ(0, record.count);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndGet(self->b, get, IPCZ_NO_FLAGS,
					      NULL, NULL));
	EXPECT_EQ(1, record.count);
	EXPECT_TRUE(record.flags & IPCZ_TRAP_DEAD);
}

TEST_F(trap, dead_on_overlapped_begin_get)
{
	struct recorded_event record = { 0 };
	IpczTransaction get = 0;

	ASSERT_EQ(IPCZ_RESULT_OK, last_parcel_then_watch_dead(self, &record));
	/* The overlapped get dequeues at once, which drains the portal. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(self->b, IPCZ_BEGIN_GET_OVERLAPPED, NULL, NULL,
				NULL, NULL, NULL, &get));
	EXPECT_EQ(1, record.count);
	EXPECT_TRUE(record.flags & IPCZ_TRAP_DEAD);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndGet(self->b, get, IPCZ_NO_FLAGS,
					      NULL, NULL));
}

TEST_F(trap, several_traps_several_conditions)
{
	struct recorded_event parcel = { 0 }, closure = { 0 }, death = { 0 };
	struct recorded_event both = { 0 };
	char text[8];

	ASSERT_EQ(IPCZ_RESULT_OK, watch(self->b, IPCZ_TRAP_NEW_LOCAL_PARCEL,
					0, 0, &parcel));
	ASSERT_EQ(IPCZ_RESULT_OK, watch(self->b, IPCZ_TRAP_PEER_CLOSED, 0, 0,
					&closure));
	ASSERT_EQ(IPCZ_RESULT_OK, watch(self->b, IPCZ_TRAP_DEAD, 0, 0,
					&death));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "hey"));
	EXPECT_EQ(1, parcel.count);
	EXPECT_EQ(0, closure.count);
	EXPECT_EQ(0, death.count);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, text, sizeof(text)));

	/* One trap may report several conditions at once. */
	ASSERT_EQ(IPCZ_RESULT_OK, watch(self->b,
					IPCZ_TRAP_PEER_CLOSED | IPCZ_TRAP_DEAD,
					0, 0, &both));
	ASSERT_EQ(IPCZ_RESULT_OK, close_portal(&self->a));
	EXPECT_EQ(1, closure.count);
	EXPECT_EQ(1, death.count);
	EXPECT_EQ(IPCZ_TRAP_PEER_CLOSED | IPCZ_TRAP_WITHIN_API_CALL,
		  closure.flags);
	EXPECT_EQ(IPCZ_TRAP_DEAD | IPCZ_TRAP_WITHIN_API_CALL, death.flags);
	EXPECT_EQ(1, both.count);
	EXPECT_EQ(IPCZ_TRAP_PEER_CLOSED | IPCZ_TRAP_DEAD |
			  IPCZ_TRAP_WITHIN_API_CALL,
		  both.flags);
}

TEST_F(trap, removed_on_close)
{
	struct recorded_event parcel = { 0 }, closure = { 0 };

	ASSERT_EQ(IPCZ_RESULT_OK, watch(self->b, IPCZ_TRAP_NEW_LOCAL_PARCEL,
					0, 0, &parcel));
	ASSERT_EQ(IPCZ_RESULT_OK, watch(self->b, IPCZ_TRAP_PEER_CLOSED, 0, 0,
					&closure));
	ASSERT_EQ(IPCZ_RESULT_OK, close_portal(&self->b));
	EXPECT_EQ(1, parcel.count);
	EXPECT_EQ(1, closure.count);
	EXPECT_EQ(IPCZ_TRAP_REMOVED | IPCZ_TRAP_WITHIN_API_CALL, parcel.flags);
	EXPECT_EQ(IPCZ_TRAP_REMOVED | IPCZ_TRAP_WITHIN_API_CALL,
		  closure.flags);
	EXPECT_EQ((uintptr_t)&parcel, parcel.context);
}

TEST_F(trap, trap_stays_with_a_portal_moved_within_the_node)
{
	struct recorded_event record = { 0 };
	IpczHandle c, d, received = IPCZ_INVALID_HANDLE;
	size_t num_handles = 1;

	/*
	 * Within a node a moved portal is the same portal (upstream passes
	 * it by reference), so its traps stay installed.
	 */
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.OpenPortals(self->node, IPCZ_NO_FLAGS,
						   NULL, &c, &d));
	ASSERT_EQ(IPCZ_RESULT_OK, watch(d, IPCZ_TRAP_NEW_LOCAL_PARCEL, 0, 0,
					&record));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, &d, 1,
					   IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(0, record.count);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, NULL, NULL, &received,
			   &num_handles, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(c, "after"));
	EXPECT_EQ(1, record.count);
	EXPECT_EQ(IPCZ_TRAP_NEW_LOCAL_PARCEL | IPCZ_TRAP_WITHIN_API_CALL,
		  record.flags);
	ipcz.Close(received, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(c, IPCZ_NO_FLAGS, NULL);
}

/* Two nodes joined by in-process transports, one initial portal pair. */
FIXTURE(two_nodes) {
	IpczHandle broker;
	IpczHandle client;
	IpczHandle a;	/* the broker's initial portal */
	IpczHandle b;	/* the client's */
};

FIXTURE_SETUP(two_nodes)
{
	IpczDriverHandle t0, t1;

	ASSERT_EQ(IPCZ_RESULT_OK, api_test_init());
	self->broker = new_node(IPCZ_CREATE_NODE_AS_BROKER);
	self->client = new_node(IPCZ_NO_FLAGS);
	ASSERT_NE(IPCZ_INVALID_HANDLE, self->broker);
	ASSERT_NE(IPCZ_INVALID_HANDLE, self->client);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  test_driver()->CreateTransports(IPCZ_INVALID_DRIVER_HANDLE,
						  IPCZ_INVALID_DRIVER_HANDLE,
						  IPCZ_NO_FLAGS, NULL, &t0,
						  &t1));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.ConnectNode(self->broker, t0, 1,
						   IPCZ_NO_FLAGS, NULL,
						   &self->a));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.ConnectNode(self->client, t1, 1,
				   IPCZ_CONNECT_NODE_TO_BROKER, NULL,
				   &self->b));
}

FIXTURE_TEARDOWN(two_nodes)
{
	ipcz.Close(self->a, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(self->b, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(self->client, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(self->broker, IPCZ_NO_FLAGS, NULL);
}

TEST_F(two_nodes, removed_when_sent_to_another_node)
{
	struct recorded_event record = { 0 };
	IpczHandle c, d;

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.OpenPortals(self->broker, IPCZ_NO_FLAGS,
						   NULL, &c, &d));
	ASSERT_EQ(IPCZ_RESULT_OK, watch(d, IPCZ_TRAP_NEW_LOCAL_PARCEL, 0, 0,
					&record));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, &d, 1,
					   IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(1, record.count);
	EXPECT_TRUE(record.flags & IPCZ_TRAP_REMOVED);
	ipcz.Close(c, IPCZ_NO_FLAGS, NULL);
}

TEST_F(trap, traps_across_a_merge)
{
	struct recorded_event parcel = { 0 }, closure = { 0 };
	IpczHandle c, d;

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.OpenPortals(self->node, IPCZ_NO_FLAGS,
						   NULL, &c, &d));
	ASSERT_EQ(IPCZ_RESULT_OK, watch(d, IPCZ_TRAP_NEW_LOCAL_PARCEL, 0, 0,
					&parcel));
	ASSERT_EQ(IPCZ_RESULT_OK, watch(d, IPCZ_TRAP_PEER_CLOSED, 0, 0,
					&closure));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.MergePortals(self->b, c, IPCZ_NO_FLAGS,
						    NULL));
	self->b = IPCZ_INVALID_HANDLE;
	EXPECT_EQ(0, parcel.count);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "through"));
	EXPECT_EQ(1, parcel.count);
	EXPECT_TRUE(parcel.flags & IPCZ_TRAP_NEW_LOCAL_PARCEL);
	EXPECT_EQ(0, closure.count);
	ASSERT_EQ(IPCZ_RESULT_OK, close_portal(&self->a));
	EXPECT_EQ(1, closure.count);
	EXPECT_TRUE(closure.flags & IPCZ_TRAP_PEER_CLOSED);
	ipcz.Close(d, IPCZ_NO_FLAGS, NULL);
}

TEST_F(trap, failed_precondition_installs_nothing)
{
	struct recorded_event record = { 0 };
	struct {
		struct IpczPortalStatus status;
		char later[8];
	} newer;
	struct IpczTrapConditions conditions = trap_conditions(
		IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS, 0, 0);
	IpczTrapConditionFlags satisfied = 0;

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "queued"));
	memset(&newer, 0x44, sizeof(newer));
	newer.status.size = sizeof(newer);
	EXPECT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  ipcz.Trap(self->b, &conditions, record_trap_event,
			    (uintptr_t)&record, IPCZ_NO_FLAGS, NULL,
			    &satisfied, &newer.status));
	/* The status says how much of it was filled in. */
	EXPECT_EQ(sizeof(struct IpczPortalStatus), newer.status.size);
	EXPECT_EQ(1, newer.status.num_local_parcels);
	for (size_t i = 0; i < sizeof(newer.later); i++)
		EXPECT_EQ(0x44, newer.later[i]);
	/* Without output pointers, the answer is the same. */
	EXPECT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  ipcz.Trap(self->b, &conditions, record_trap_event,
			    (uintptr_t)&record, IPCZ_NO_FLAGS, NULL, NULL,
			    NULL));
	/* Had a trap been installed, Close() would fire it. */
	close_portal(&self->b);
	EXPECT_EQ(0, record.count);
}

/* A handler that re-arms itself and drains the portal it watches. */
struct drain_state {
	IpczHandle portal;
	int events;
	int parcels;
	int rearm_failures;
};

static void IPCZ_API drain_and_rearm(const struct IpczTrapEvent *event)
{
	struct drain_state *state = (struct drain_state *)event->context;
	const struct IpczTrapConditions conditions =
		trap_conditions(IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS, 0, 0);
	char text[16];

	if (event->condition_flags & IPCZ_TRAP_REMOVED)
		return;
	state->events++;
	while (get_str(state->portal, text, sizeof(text)) == IPCZ_RESULT_OK)
		state->parcels++;
	if (ipcz.Trap(state->portal, &conditions, drain_and_rearm,
		      event->context, IPCZ_NO_FLAGS, NULL, NULL, NULL) !=
	    IPCZ_RESULT_OK)
		state->rearm_failures++;
}

TEST_F(trap, handler_may_call_back_into_ipcz)
{
	struct drain_state state = { .portal = self->b };
	const struct IpczTrapConditions conditions =
		trap_conditions(IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS, 0, 0);

	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Trap(self->b, &conditions, drain_and_rearm,
			    (uintptr_t)&state, IPCZ_NO_FLAGS, NULL, NULL,
			    NULL));
	for (int i = 0; i < 10; i++)
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "ping"));
	EXPECT_EQ(10, state.events);
	EXPECT_EQ(10, state.parcels);
	EXPECT_EQ(0, state.rearm_failures);
	EXPECT_EQ(0, portal_status(self->b).num_local_parcels);
}

static void IPCZ_API close_when_dead(const struct IpczTrapEvent *event)
{
	IpczHandle *portal = (IpczHandle *)event->context;

	if (event->condition_flags & IPCZ_TRAP_DEAD) {
		ipcz.Close(*portal, IPCZ_NO_FLAGS, NULL);
		*portal = IPCZ_INVALID_HANDLE;
	}
}

TEST_F(trap, handler_may_close_its_portal)
{
	const struct IpczTrapConditions conditions =
		trap_conditions(IPCZ_TRAP_DEAD, 0, 0);

	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Trap(self->b, &conditions, close_when_dead,
			    (uintptr_t)&self->b, IPCZ_NO_FLAGS, NULL, NULL,
			    NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, close_portal(&self->a));
	EXPECT_EQ(IPCZ_INVALID_HANDLE, self->b);
}

TEST_F(two_nodes, events_from_another_node_are_not_within_api_call)
{
	struct recorded_event record = { 0 };

	ASSERT_EQ(IPCZ_RESULT_OK, watch(self->b, IPCZ_TRAP_NEW_LOCAL_PARCEL,
					0, 0, &record));
	/*
	 * The in-process driver delivers on this very thread, yet the event
	 * comes from a transport notification, not from an API call on b's
	 * node.
	 */
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "remote"));
	ASSERT_EQ(1, record.count);
	EXPECT_EQ(IPCZ_TRAP_NEW_LOCAL_PARCEL, record.flags);
}

TEST_HARNESS_MAIN
