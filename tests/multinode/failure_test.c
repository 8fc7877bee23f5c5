// SPDX-License-Identifier: MIT
/*
 * Endings across nodes: closure propagation (PEER_CLOSED, then DEAD once
 * drained), a node killed while it holds part of routes (exactly those
 * routes break) and traps fired by events on other nodes (never flagged
 * IPCZ_TRAP_WITHIN_API_CALL).
 */
#include <stdatomic.h>
#include <string.h>

#include "tests/multinode/mn_test.h"

/*
 * Closure: the peer's Close() reaches us after its parcels: PEER_CLOSED
 * while parcels remain (Put then fails with NOT_FOUND), DEAD once they are
 * read. Over an initial portal and over a portal that crossed nodes.
 */

static void check_closed_route(struct mn_ctx *ctx, IpczHandle portal,
			       int parcels)
{
	struct IpczPortalStatus status;
	size_t num_bytes = 0, num_handles = 0;
	char text[24];
	int i;

	if (!mn_wait_status(ctx, portal, IPCZ_PORTAL_STATUS_PEER_CLOSED,
			    "peer closure"))
		return;
	status = mn_status(portal);
	MN_EXPECT(ctx, status.num_local_parcels == (size_t)parcels,
		  "%zu parcels queued", status.num_local_parcels);
	MN_EXPECT(ctx, !(status.flags & IPCZ_PORTAL_STATUS_DEAD),
		  "not dead while parcels remain");
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_NOT_FOUND,
			 mn_put_str(portal, "late", NULL, 0),
			 "Put to a closed peer");
	for (i = 0; i < parcels; i++) {
		snprintf(text, sizeof(text), "last %d", i);
		mn_expect_str(ctx, portal, text, NULL, 0);
	}
	status = mn_status(portal);
	MN_EXPECT(ctx, status.flags & IPCZ_PORTAL_STATUS_DEAD,
		  "dead once drained (flags 0x%x)", status.flags);
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_NOT_FOUND,
			 ipcz.Get(portal, 0, NULL, NULL, &num_bytes, NULL,
				  &num_handles, NULL),
			 "Get from a dead portal");
}

static void put_last_and_close(struct mn_ctx *ctx, IpczHandle portal,
			       int parcels)
{
	char text[24];
	int i;

	for (i = 0; i < parcels; i++) {
		snprintf(text, sizeof(text), "last %d", i);
		mn_put_str(portal, text, NULL, 0);
	}
	mn_close(ctx, portal);
}

static void closure_broker(struct mn_ctx *ctx)
{
	IpczHandle client, x, y;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 1, &client));
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.OpenPortals(ctx->node, 0, NULL, &x, &y),
			  "OpenPortals");
	mn_put_str(client, "y", &y, 1);
	check_closed_route(ctx, x, 2);
	mn_close(ctx, x);
	check_closed_route(ctx, client, 3);
	mn_close(ctx, client);
}

static void closure_client(struct mn_ctx *ctx)
{
	IpczHandle broker, y;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	if (mn_expect_str(ctx, broker, "y", &y, 1))
		put_last_and_close(ctx, y, 2);
	/* The broker checks y's route first: wait until it is done. */
	mn_sleep_ms(ctx, 20);
	put_last_and_close(ctx, broker, 3);
}

MN_TEST(closure_propagation)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, closure_broker },
			   { "client", false, closure_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/*
 * A node killed mid-route. Broker A has clients B, C and D. B sends one
 * end of a pair to C and one end of another pair to D, both via A. C
 * streams a few numbers to B, then dies (killed). B's route to C breaks:
 * B reads a prefix of C's numbers in order, then sees PEER_CLOSED and
 * DEAD. A's portal to C breaks the same way. The B-D route and A's
 * portals to B and D keep working.
 */

enum { KILL_A, KILL_B, KILL_C, KILL_D };

static void kill_broker(struct mn_ctx *ctx)
{
	IpczHandle clients[3], moving;
	int i;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 3, clients));
	/* B's two portals: the first for C, the second for D. */
	for (i = 0; i < 2; i++)
		if (mn_expect_str(ctx, clients[0], "forward", &moving, 1))
			mn_put_str(clients[1 + i], "yours", &moving, 1);
	mn_wait_status(ctx, clients[1],
		       IPCZ_PORTAL_STATUS_PEER_CLOSED | IPCZ_PORTAL_STATUS_DEAD,
		       "portal to the killed node");
	mn_put_str(clients[0], "C is gone", NULL, 0);
	mn_ping(ctx, clients[0]);
	mn_ping(ctx, clients[2]);
	mn_expect_str(ctx, clients[0], "done", NULL, 0);
	mn_expect_str(ctx, clients[2], "done", NULL, 0);
	for (i = 0; i < 3; i++)
		mn_close(ctx, clients[i]);
}

static void kill_b(struct mn_ctx *ctx)
{
	IpczHandle broker, to_c, for_c, to_d, for_d;
	uint32_t expected = 0, value;
	size_t num_bytes, num_handles;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	ipcz.OpenPortals(ctx->node, 0, NULL, &to_c, &for_c);
	ipcz.OpenPortals(ctx->node, 0, NULL, &to_d, &for_d);
	mn_put_str(broker, "forward", &for_c, 1);
	mn_put_str(broker, "forward", &for_d, 1);
	/* Whatever C managed to send arrives in order; then the break. */
	for (;;) {
		num_bytes = sizeof(value);
		num_handles = 0;
		if (mn_get(ctx, to_c, &value, &num_bytes, NULL, &num_handles,
			   "the killed node's stream") != IPCZ_RESULT_OK)
			break;
		MN_EXPECT(ctx, num_bytes == sizeof(value) && value == expected,
			  "stream from C: %u at %u", value, expected);
		expected++;
	}
	MN_EXPECT(ctx, mn_status(to_c).flags & IPCZ_PORTAL_STATUS_PEER_CLOSED,
		  "the route to the killed node is closed");
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_NOT_FOUND,
			 mn_put_str(to_c, "anyone?", NULL, 0),
			 "Put toward the killed node");
	mn_close(ctx, to_c);
	mn_expect_str(ctx, broker, "C is gone", NULL, 0);
	mn_pong(ctx, broker);
	mn_ping(ctx, to_d);
	mn_close(ctx, to_d);
	mn_put_str(broker, "done", NULL, 0);
	mn_wait_status(ctx, broker, IPCZ_PORTAL_STATUS_DEAD, "broker closed");
	mn_close(ctx, broker);
}

static void kill_c(struct mn_ctx *ctx)
{
	IpczHandle broker, from_b;
	uint32_t i;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 1, &broker));
	MN_REQUIRE(ctx, mn_expect_str(ctx, broker, "yours", &from_b, 1));
	for (i = 0; i < 5; i++)
		mn_put_u32(from_b, i);
	/* Let a few parcels get on their way; some may be lost with us. */
	mn_sleep_ms(ctx, 10);
	mn_die(ctx);
	/* In-process variants only: the node is closed, drop our handles. */
	ipcz.Close(from_b, 0, NULL);
	ipcz.Close(broker, 0, NULL);
}

static void kill_d(struct mn_ctx *ctx)
{
	IpczHandle broker, from_b;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 2, &broker));
	if (mn_expect_str(ctx, broker, "yours", &from_b, 1)) {
		mn_pong(ctx, from_b);
		mn_wait_status(ctx, from_b, IPCZ_PORTAL_STATUS_DEAD,
			       "B closed its end");
		mn_close(ctx, from_b);
	}
	mn_pong(ctx, broker);
	mn_put_str(broker, "done", NULL, 0);
	mn_wait_status(ctx, broker, IPCZ_PORTAL_STATUS_DEAD, "broker closed");
	mn_close(ctx, broker);
}

MN_TEST(node_killed_mid_route)
{
	static const struct mn_test test = {
		.num_nodes = 4,
		.nodes = { [KILL_A] = { "A", true, kill_broker },
			   [KILL_B] = { "B", false, kill_b },
			   [KILL_C] = { "C", false, kill_c },
			   [KILL_D] = { "D", false, kill_d } },
		.num_links = 3,
		.links = { { KILL_A, KILL_B }, { KILL_A, KILL_C },
			   { KILL_A, KILL_D } },
	};
	MN_RUN(test);
}

/*
 * Traps fired from another node: a parcel arriving from the peer node, and
 * the peer's closure, on an initial portal and on a portal that crossed
 * nodes. Each trap fires once, with its condition, never flagged
 * IPCZ_TRAP_WITHIN_API_CALL (the event came from a transport, not from an
 * API call on this node). A trap on a local pair, fired by our own Put(),
 * is flagged: the contrast shows the flag is not simply never set.
 */

struct trap_record {
	atomic_int count;
	atomic_uint flags;
};

static void IPCZ_API record_trap(const struct IpczTrapEvent *event)
{
	struct trap_record *record = (struct trap_record *)event->context;

	atomic_store(&record->flags, event->condition_flags);
	atomic_fetch_add(&record->count, 1);
}

static bool wait_trap(struct mn_ctx *ctx, struct trap_record *record,
		      const char *what)
{
	int64_t deadline = mn_now_ms() + mn_timeout_ms();

	while (atomic_load(&record->count) == 0) {
		if (mn_other_failed(ctx))
			return false;
		if (mn_now_ms() > deadline) {
			MN_FAIL(ctx, "%s: the trap never fired", what);
			return false;
		}
		mn_pause(ctx);
	}
	return true;
}

static bool install_trap(struct mn_ctx *ctx, IpczHandle portal,
			 IpczTrapConditionFlags flags,
			 struct trap_record *record)
{
	struct IpczTrapConditions conditions = {
		.size = sizeof(conditions),
		.flags = flags,
	};

	atomic_store(&record->count, 0);
	atomic_store(&record->flags, 0);
	return MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
				ipcz.Trap(portal, &conditions, record_trap,
					  (uintptr_t)record, 0, NULL, NULL,
					  NULL),
				"Trap");
}

static void check_remote_event(struct mn_ctx *ctx, struct trap_record *record,
			       IpczTrapConditionFlags expected,
			       const char *what)
{
	unsigned int flags;

	if (!wait_trap(ctx, record, what))
		return;
	/* Any second call would come right after the first. */
	mn_sleep_ms(ctx, 5);
	flags = atomic_load(&record->flags);
	MN_EXPECT(ctx, atomic_load(&record->count) == 1, "%s: fired %d times",
		  what, atomic_load(&record->count));
	MN_EXPECT(ctx, (flags & expected) == expected,
		  "%s: condition flags 0x%x", what, flags);
	MN_EXPECT(ctx, !(flags & IPCZ_TRAP_WITHIN_API_CALL),
		  "%s: a remote event flagged WITHIN_API_CALL (0x%x)", what,
		  flags);
}

static void trap_broker(struct mn_ctx *ctx)
{
	struct trap_record record;
	IpczHandle client, x, y, a, b;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 1, &client));
	/* A local event, for contrast. */
	ipcz.OpenPortals(ctx->node, 0, NULL, &a, &b);
	if (install_trap(ctx, b, IPCZ_TRAP_NEW_LOCAL_PARCEL, &record)) {
		mn_put_str(a, "local", NULL, 0);
		if (wait_trap(ctx, &record, "local parcel"))
			MN_EXPECT(ctx, atomic_load(&record.flags) &
				  IPCZ_TRAP_WITHIN_API_CALL,
				  "a local Put's event is WITHIN_API_CALL");
	}
	mn_close(ctx, a);
	mn_close(ctx, b);

	if (install_trap(ctx, client, IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS,
			 &record)) {
		mn_put_str(client, "armed", NULL, 0);
		check_remote_event(ctx, &record,
				   IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS,
				   "parcel from the client");
	}
	mn_expect_str(ctx, client, "hello", NULL, 0);

	ipcz.OpenPortals(ctx->node, 0, NULL, &x, &y);
	if (install_trap(ctx, x, IPCZ_TRAP_NEW_LOCAL_PARCEL, &record)) {
		mn_put_str(client, "y", &y, 1);
		check_remote_event(ctx, &record, IPCZ_TRAP_NEW_LOCAL_PARCEL,
				   "parcel through a moved portal");
	}
	if (install_trap(ctx, x, IPCZ_TRAP_PEER_CLOSED, &record)) {
		mn_put_str(client, "close y", NULL, 0);
		check_remote_event(ctx, &record, IPCZ_TRAP_PEER_CLOSED,
				   "closure of a moved portal");
	}
	mn_close(ctx, x);

	if (install_trap(ctx, client, IPCZ_TRAP_PEER_CLOSED, &record)) {
		mn_put_str(client, "close", NULL, 0);
		check_remote_event(ctx, &record, IPCZ_TRAP_PEER_CLOSED,
				   "closure of the initial portal");
	}
	mn_close(ctx, client);
}

static void trap_client(struct mn_ctx *ctx)
{
	IpczHandle broker, y;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	MN_REQUIRE(ctx, mn_expect_str(ctx, broker, "armed", NULL, 0));
	mn_put_str(broker, "hello", NULL, 0);
	MN_REQUIRE(ctx, mn_expect_str(ctx, broker, "y", &y, 1));
	mn_put_str(y, "through y", NULL, 0);
	if (mn_expect_str(ctx, broker, "close y", NULL, 0))
		mn_close(ctx, y);
	if (mn_expect_str(ctx, broker, "close", NULL, 0))
		mn_close(ctx, broker);
}

MN_TEST(traps_across_nodes)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, trap_broker },
			   { "client", false, trap_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/*
 * A node killed while a proxy may still stand between it and its peer
 * (upstream's DisconnectThroughProxy): the broker sends q to C1 and p to
 * C2, C2 bounces p back, the broker forwards it to C3, and C3 dies as soon
 * as p arrives. Whether C2 is still proxying then depends on timing; C1
 * must see PEER_CLOSED either way.
 */

enum { DTP_BROKER, DTP_C1, DTP_C2, DTP_C3 };

static void dtp_broker(struct mn_ctx *ctx)
{
	IpczHandle clients[3], q, p;
	int i;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 3, clients));
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.OpenPortals(ctx->node, 0, NULL, &q, &p),
			  "OpenPortals");
	mn_put_str(clients[0], "q", &q, 1);
	mn_put_str(clients[1], "p", &p, 1);
	if (mn_expect_str(ctx, clients[1], "p", &p, 1))
		mn_put_str(clients[2], "p", &p, 1);
	mn_wait_status(ctx, clients[2],
		       IPCZ_PORTAL_STATUS_PEER_CLOSED | IPCZ_PORTAL_STATUS_DEAD,
		       "portal to the killed node");
	mn_expect_str(ctx, clients[0], "done", NULL, 0);
	for (i = 0; i < 3; i++)
		mn_close(ctx, clients[i]);
}

static void dtp_client(struct mn_ctx *ctx)
{
	IpczHandle broker, portal;

	MN_REQUIRE(ctx, mn_connect_client(ctx, ctx->index - 1, &broker));
	MN_REQUIRE(ctx, mn_expect_str(ctx, broker,
				      ctx->index == DTP_C1 ? "q" : "p",
				      &portal, 1));
	switch (ctx->index) {
	case DTP_C1:
		mn_wait_status(ctx, portal, IPCZ_PORTAL_STATUS_PEER_CLOSED,
			       "peer killed behind a proxy");
		mn_close(ctx, portal);
		mn_put_str(broker, "done", NULL, 0);
		break;
	case DTP_C2:
		mn_put_str(broker, "p", &portal, 1);
		break;
	case DTP_C3:
		mn_die(ctx);
		ipcz.Close(portal, 0, NULL);
		break;
	}
	mn_wait_status(ctx, broker, IPCZ_PORTAL_STATUS_PEER_CLOSED,
		       "broker closed");
	ipcz.Close(broker, 0, NULL);
}

MN_TEST(disconnect_through_proxy)
{
	static const struct mn_test test = {
		.num_nodes = 4,
		.nodes = { [DTP_BROKER] = { "broker", true, dtp_broker },
			   [DTP_C1] = { "C1", false, dtp_client },
			   [DTP_C2] = { "C2", false, dtp_client },
			   [DTP_C3] = { "C3", false, dtp_client } },
		.num_links = 3,
		.links = { { DTP_BROKER, DTP_C1 }, { DTP_BROKER, DTP_C2 },
			   { DTP_BROKER, DTP_C3 } },
	};
	MN_RUN(test);
}

TEST_HARNESS_MAIN
