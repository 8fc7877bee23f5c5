// SPDX-License-Identifier: MIT
/*
 * The trap set: conditions already met refuse installation and report
 * themselves; traps fire once and are removed; NEW_LOCAL_PARCEL is an edge;
 * removal fires REMOVED; WITHIN_API_CALL marks API-caused events.
 */
#include "kselftest_harness.h"
#include "lib/trap_set.h"

static int fired;
static IpczTrapConditionFlags last_flags;
static uintptr_t last_context;
static struct IpczPortalStatus last_status;

static void handler(const struct IpczTrapEvent *event)
{
	fired++;
	last_flags = event->condition_flags;
	last_context = event->context;
	last_status = *event->status;
}

static struct IpczTrapConditions conditions(IpczTrapConditionFlags flags,
					    size_t parcels, size_t bytes)
{
	struct IpczTrapConditions c = {
		.size = sizeof(c),
		.flags = flags,
		.min_local_parcels = parcels,
		.min_local_bytes = bytes,
	};

	return c;
}

FIXTURE(traps) {
	struct trap_set set;
	struct trap_events events;
};

FIXTURE_SETUP(traps)
{
	memset(&self->set, 0, sizeof(self->set));
	trap_events_init(&self->events);
	fired = 0;
	last_flags = 0;
}

FIXTURE_TEARDOWN(traps)
{
	trap_set_remove_all(&self->set, false, &self->events);
	trap_events_dispatch(&self->events);
}

TEST_F(traps, satisfied_conditions_refuse_installation)
{
	struct portal_state state = {
		.flags = IPCZ_PORTAL_STATUS_PEER_CLOSED,
		.num_local_parcels = 2,
		.num_local_bytes = 10,
	};
	struct IpczTrapConditions c = conditions(
		IPCZ_TRAP_PEER_CLOSED | IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS |
			IPCZ_TRAP_ABOVE_MIN_LOCAL_BYTES | IPCZ_TRAP_DEAD,
		1, 10);
	struct IpczPortalStatus status = { .size = sizeof(status) };
	IpczTrapConditionFlags satisfied = 0;

	ASSERT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  trap_set_add(&self->set, &c, handler, 1, &state, &satisfied,
			       &status));
	/* Bytes are not above 10; DEAD is not set. */
	ASSERT_EQ(IPCZ_TRAP_PEER_CLOSED | IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS,
		  satisfied);
	ASSERT_EQ(IPCZ_PORTAL_STATUS_PEER_CLOSED, status.flags);
	ASSERT_EQ(2, status.num_local_parcels);
	ASSERT_EQ(10, status.num_local_bytes);
	ASSERT_TRUE(trap_set_empty(&self->set));
	/* Either output may be omitted. */
	ASSERT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  trap_set_add(&self->set, &c, handler, 1, &state, NULL, NULL));
}

TEST_F(traps, fires_once)
{
	struct portal_state state = { 0 };
	struct IpczTrapConditions c =
		conditions(IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS, 0, 0);

	ASSERT_EQ(IPCZ_RESULT_OK, trap_set_add(&self->set, &c, handler, 42,
					       &state, NULL, NULL));
	state.num_local_parcels = 1;
	state.num_local_bytes = 3;
	trap_set_update(&self->set, TRAP_REASON_NEW_LOCAL_PARCEL, &state,
			false, &self->events);
	ASSERT_EQ(0, fired);	/* only at dispatch */
	trap_events_dispatch(&self->events);
	ASSERT_EQ(1, fired);
	ASSERT_EQ(42, last_context);
	ASSERT_EQ(IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS, last_flags);
	ASSERT_EQ(1, last_status.num_local_parcels);
	ASSERT_EQ(3, last_status.num_local_bytes);
	ASSERT_TRUE(trap_set_empty(&self->set));
	trap_set_update(&self->set, TRAP_REASON_NEW_LOCAL_PARCEL, &state,
			false, &self->events);
	trap_events_dispatch(&self->events);
	ASSERT_EQ(1, fired);
}

TEST_F(traps, new_local_parcel_is_an_edge)
{
	struct portal_state state = { .num_local_parcels = 5 };
	struct IpczTrapConditions c =
		conditions(IPCZ_TRAP_NEW_LOCAL_PARCEL, 0, 0);

	/* Parcels already queued do not count. */
	ASSERT_EQ(IPCZ_RESULT_OK, trap_set_add(&self->set, &c, handler, 0,
					       &state, NULL, NULL));
	trap_set_update(&self->set, TRAP_REASON_LOCAL_PARCEL_CONSUMED, &state,
			true, &self->events);
	trap_events_dispatch(&self->events);
	ASSERT_EQ(0, fired);
	trap_set_update(&self->set, TRAP_REASON_NEW_LOCAL_PARCEL, &state,
			true, &self->events);
	trap_events_dispatch(&self->events);
	ASSERT_EQ(1, fired);
	ASSERT_EQ(IPCZ_TRAP_NEW_LOCAL_PARCEL | IPCZ_TRAP_WITHIN_API_CALL,
		  last_flags);
}

TEST_F(traps, only_matching_traps_fire)
{
	struct portal_state state = { 0 };
	struct IpczTrapConditions dead = conditions(IPCZ_TRAP_DEAD, 0, 0);
	struct IpczTrapConditions closed =
		conditions(IPCZ_TRAP_PEER_CLOSED, 0, 0);
	struct IpczTrapConditions bytes =
		conditions(IPCZ_TRAP_ABOVE_MIN_LOCAL_BYTES, 0, 100);

	ASSERT_EQ(IPCZ_RESULT_OK, trap_set_add(&self->set, &dead, handler, 1,
					       &state, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, trap_set_add(&self->set, &closed, handler,
					       2, &state, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, trap_set_add(&self->set, &bytes, handler, 3,
					       &state, NULL, NULL));
	state.flags = IPCZ_PORTAL_STATUS_PEER_CLOSED;
	state.num_local_bytes = 100;
	trap_set_update(&self->set, TRAP_REASON_PEER_CLOSED, &state, false,
			&self->events);
	trap_events_dispatch(&self->events);
	ASSERT_EQ(1, fired);
	ASSERT_EQ(2, last_context);
	ASSERT_EQ(IPCZ_TRAP_PEER_CLOSED, last_flags);
	ASSERT_EQ(2, trap_set_count(&self->set));
	state.flags |= IPCZ_PORTAL_STATUS_DEAD;
	state.num_local_bytes = 101;
	trap_set_update(&self->set, TRAP_REASON_LOCAL_PARCEL_CONSUMED, &state,
			false, &self->events);
	trap_events_dispatch(&self->events);
	ASSERT_EQ(3, fired);
	ASSERT_TRUE(trap_set_empty(&self->set));
}

TEST_F(traps, remove_all_fires_removed)
{
	struct portal_state state = { 0 };
	struct IpczTrapConditions c = conditions(IPCZ_TRAP_DEAD, 0, 0);
	int i;

	for (i = 0; i < 5; i++)
		ASSERT_EQ(IPCZ_RESULT_OK, trap_set_add(&self->set, &c, handler,
						       i, &state, NULL, NULL));
	trap_set_remove_all(&self->set, true, &self->events);
	trap_events_dispatch(&self->events);
	ASSERT_EQ(5, fired);
	ASSERT_EQ(IPCZ_TRAP_REMOVED | IPCZ_TRAP_WITHIN_API_CALL, last_flags);
	ASSERT_EQ(0, last_status.flags);
	ASSERT_EQ(0, last_status.num_local_parcels);
	ASSERT_TRUE(trap_set_empty(&self->set));
}

TEST_F(traps, remove_takes_one_trap_back_silently)
{
	struct portal_state state = { 0 };
	struct IpczTrapConditions c = conditions(IPCZ_TRAP_DEAD, 0, 0);
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(IPCZ_RESULT_OK, trap_set_add(&self->set, &c, handler,
						       i, &state, NULL, NULL));
	ASSERT_TRUE(trap_set_remove(&self->set, handler, 1));
	ASSERT_FALSE(trap_set_remove(&self->set, handler, 1));
	ASSERT_EQ(2, trap_set_count(&self->set));
	ASSERT_TRUE(trap_set_remove(&self->set, handler, 0));
	ASSERT_TRUE(trap_set_remove(&self->set, handler, 2));
	ASSERT_TRUE(trap_set_empty(&self->set));
	ASSERT_FALSE(trap_set_remove(&self->set, handler, 2));
	trap_set_remove_all(&self->set, false, &self->events);
	trap_events_dispatch(&self->events);
	ASSERT_EQ(0, fired);
}

TEST_HARNESS_MAIN
