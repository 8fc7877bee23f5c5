// SPDX-License-Identifier: MIT
/*
 * ipcz_wait_portal() (include/ipcz/wait.h) across nodes: a waiting thread
 * delivers its link's messages itself and sleeps on the shared ring, so
 * these tests check that nothing is lost, reordered or left behind when
 * waits and the driver's thread take turns: numbered streams in both
 * directions with portals (driver messages) among ring messages, two
 * threads waiting on one link, timeouts (the trap taken back), closure
 * seen by a waiter, a portal closed under a waiting thread, and a wait
 * refused inside a trap handler run by a delivery.
 *
 * With coroutines (one thread for every node) a wait must not block: the
 * roles there wait with a zero timeout and let the others run.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "ipcz/wait.h"

#include "tests/multinode/mn_test.h"

#define STREAM_LENGTH 2000
#define PORTAL_EVERY 97		/* every so many parcels also carry a portal */
#define TIMEOUT_MS 20

static const struct IpczTrapConditions parcel_or_closed = {
	.size = sizeof(parcel_or_closed),
	.flags = IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS | IPCZ_TRAP_PEER_CLOSED,
	.min_local_parcels = 0,
};

/* Set while this thread is inside ipcz_wait_portal() (for trap checks). */
static _Thread_local bool inside_wait;

static IpczResult wait_portal(IpczHandle portal,
			      const struct IpczTrapConditions *conditions,
			      uint64_t timeout_ns,
			      IpczTrapConditionFlags *satisfied,
			      struct IpczPortalStatus *status)
{
	IpczResult result;

	inside_wait = true;
	result = ipcz_wait_portal(portal, conditions, timeout_ns, satisfied,
				  status);
	inside_wait = false;
	return result;
}

static bool coroutines(void)
{
	return mn_variant.mode == MN_MODE_COROUTINES;
}

/*
 * ipcz_wait_portal() with the test's deadline; with coroutines, zero
 * timeouts between which the other roles run.
 */
static IpczResult wait_for(struct mn_ctx *ctx, IpczHandle portal,
			   const struct IpczTrapConditions *conditions,
			   IpczTrapConditionFlags *satisfied,
			   struct IpczPortalStatus *status)
{
	int64_t deadline = mn_now_ms() + mn_timeout_ms();
	IpczResult result;

	if (!coroutines())
		return wait_portal(portal, conditions,
				   mn_timeout_ms() * 1000000ull, satisfied,
				   status);
	for (;;) {
		result = wait_portal(portal, conditions, 0, satisfied, status);
		if (result != IPCZ_RESULT_DEADLINE_EXCEEDED ||
		    mn_now_ms() > deadline)
			return result;
		mn_pause(ctx);
	}
}

/* Waits with ipcz_wait_portal(), then reads one parcel. */
static bool take(struct mn_ctx *ctx, IpczHandle portal, void *data,
		 size_t size, IpczHandle *handle, size_t *num_handles)
{
	IpczResult result = wait_for(ctx, portal, &parcel_or_closed, NULL,
				     NULL);
	size_t num_bytes = size;

	if (!MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK, result, "wait"))
		return false;
	result = ipcz.Get(portal, IPCZ_NO_FLAGS, NULL, data, &num_bytes,
			  handle, num_handles, NULL);
	if (!MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK, result, "Get"))
		return false;
	if (num_bytes != size) {
		MN_FAIL(ctx, "a parcel of %zu bytes", num_bytes);
		return false;
	}
	return true;
}

/* Numbered parcels, one way each turn; every PORTAL_EVERY-th a portal. */

static bool send_number(struct mn_ctx *ctx, IpczHandle portal, uint32_t n)
{
	IpczHandle near, far;
	IpczResult result;

	if (n % PORTAL_EVERY) {
		result = ipcz.Put(portal, &n, sizeof(n), NULL, 0, 0, NULL);
		return MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK, result, "Put");
	}
	result = ipcz.OpenPortals(ctx->node, IPCZ_NO_FLAGS, NULL, &near, &far);
	if (!MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK, result, "OpenPortals"))
		return false;
	result = ipcz.Put(portal, &n, sizeof(n), &far, 1, 0, NULL);
	if (!MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK, result, "Put of a portal"))
		return false;
	/* The portal's own first parcel races the parcel that carries it. */
	mn_put_str(near, "through", NULL, 0);
	mn_close(ctx, near);
	return true;
}

static bool receive_number(struct mn_ctx *ctx, IpczHandle portal,
			   uint32_t expected)
{
	IpczHandle handle = IPCZ_INVALID_HANDLE;
	size_t num_handles = 1;
	char text[8] = { 0 };
	uint32_t n;

	if (!take(ctx, portal, &n, sizeof(n), &handle, &num_handles))
		return false;
	if (n != expected) {
		MN_FAIL(ctx, "parcel %u where %u was due", n, expected);
		return false;
	}
	if (num_handles != (expected % PORTAL_EVERY ? 0u : 1u)) {
		MN_FAIL(ctx, "parcel %u with %zu handles", n, num_handles);
		return false;
	}
	if (!num_handles)
		return true;
	num_handles = 0;
	if (!take(ctx, handle, text, strlen("through"), NULL, &num_handles))
		return false;
	MN_EXPECT(ctx, !memcmp(text, "through", 7), "%s", text);
	mn_close(ctx, handle);
	return true;
}

static void ping_pong_broker(struct mn_ctx *ctx)
{
	IpczHandle client;
	uint32_t n;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 1, &client));
	for (n = 0; n < STREAM_LENGTH; n++) {
		if (!send_number(ctx, client, n) ||
		    !receive_number(ctx, client, n))
			break;
	}
	mn_broker_finish(ctx, &client, 1);
}

static void ping_pong_client(struct mn_ctx *ctx)
{
	IpczHandle broker;
	uint32_t n;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	for (n = 0; n < STREAM_LENGTH; n++) {
		if (!receive_number(ctx, broker, n) ||
		    !send_number(ctx, broker, n))
			break;
	}
	mn_client_finish(ctx, broker);
}

MN_TEST(ping_pong_with_portals)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, ping_pong_broker },
			   { "client", false, ping_pong_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/* Both sides stream at once, each waiting between bursts. */

static void stream_both_ways(struct mn_ctx *ctx, IpczHandle portal)
{
	uint32_t sent = 0, received = 0;

	while (received < STREAM_LENGTH) {
		while (sent < STREAM_LENGTH && sent < received + 64) {
			if (!send_number(ctx, portal, sent++))
				return;
		}
		if (!receive_number(ctx, portal, received++))
			return;
	}
}

static void streams_broker(struct mn_ctx *ctx)
{
	IpczHandle client;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 1, &client));
	stream_both_ways(ctx, client);
	mn_broker_finish(ctx, &client, 1);
}

static void streams_client(struct mn_ctx *ctx)
{
	IpczHandle broker;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	stream_both_ways(ctx, broker);
	mn_client_finish(ctx, broker);
}

MN_TEST(streams_both_ways)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, streams_broker },
			   { "client", false, streams_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/*
 * Two threads of one node wait on two portals of the same link at once:
 * only one may drain; the other must still see its parcels.
 */

struct waiter_thread {
	struct mn_ctx *ctx;
	IpczHandle portal;
	pthread_t thread;
};

static void *echo_numbers(void *arg)
{
	struct waiter_thread *w = arg;
	uint32_t i, n;

	for (i = 0; i < STREAM_LENGTH / 2; i++) {
		if (!take(w->ctx, w->portal, &n, sizeof(n), NULL, NULL))
			break;
		if (ipcz.Put(w->portal, &n, sizeof(n), NULL, 0, 0, NULL) !=
		    IPCZ_RESULT_OK)
			break;
	}
	return NULL;
}

static void two_waiters_broker(struct mn_ctx *ctx)
{
	IpczHandle portals[2];
	uint32_t n, got;
	int i;

	MN_REQUIRE(ctx, mn_connect(ctx, 0, 2, IPCZ_NO_FLAGS, portals) ==
				IPCZ_RESULT_OK);
	for (n = 0; n < STREAM_LENGTH / 2; n++) {
		for (i = 0; i < 2; i++)
			mn_put_u32(portals[i], n);
		for (i = 0; i < 2; i++) {
			if (!take(ctx, portals[i], &got, sizeof(got), NULL,
				  NULL))
				goto out;
			MN_EXPECT(ctx, got == n, "%u after %u", got, n);
		}
	}
out:
	for (i = 0; i < 2; i++)
		mn_close(ctx, portals[i]);
}

static void two_waiters_client(struct mn_ctx *ctx)
{
	struct waiter_thread threads[2];
	IpczHandle portals[2];
	int i;

	MN_REQUIRE(ctx, mn_connect(ctx, 0, 2, IPCZ_CONNECT_NODE_TO_BROKER,
				   portals) == IPCZ_RESULT_OK);
	for (i = 0; i < 2; i++) {
		threads[i] = (struct waiter_thread){ .ctx = ctx,
						   .portal = portals[i] };
		MN_REQUIRE(ctx, !pthread_create(&threads[i].thread, NULL,
						echo_numbers, &threads[i]));
	}
	for (i = 0; i < 2; i++)
		pthread_join(threads[i].thread, NULL);
	for (i = 0; i < 2; i++) {
		mn_wait_status(ctx, portals[i], IPCZ_PORTAL_STATUS_PEER_CLOSED,
			       "the broker's portals closed");
		mn_close(ctx, portals[i]);
	}
}

MN_TEST(two_threads_wait_on_one_link)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, two_waiters_broker },
			   { "client", false, two_waiters_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};

	if (coroutines())
		SKIP(return, "threads of their own block the coroutines");
	MN_RUN(test);
}

/*
 * A timeout takes the wait's trap back: no event later, the portal's
 * other traps unaffected, the next parcel still delivered; satisfied
 * conditions and the status are reported; closure wakes a waiter.
 */

static void timeouts_broker(struct mn_ctx *ctx)
{
	struct IpczPortalStatus status = { .size = sizeof(status) };
	IpczTrapConditionFlags satisfied = 0;
	IpczHandle client;
	int64_t start;
	uint32_t n;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 1, &client));
	start = mn_now_ms();
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_DEADLINE_EXCEEDED,
			 ipcz_wait_portal(client, &parcel_or_closed,
					  TIMEOUT_MS * 1000000ull, NULL, NULL),
			 "a wait with nothing to come");
	MN_EXPECT(ctx, mn_now_ms() - start >= TIMEOUT_MS - 1, "%lld ms",
		  (long long)(mn_now_ms() - start));
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_DEADLINE_EXCEEDED,
			 ipcz_wait_portal(client, &parcel_or_closed, 0, NULL,
					  NULL),
			 "a zero timeout");
	mn_put_u32(client, 1);
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  wait_for(ctx, client, &parcel_or_closed, &satisfied,
				   &status),
			  "a wait for the answer");
	MN_EXPECT(ctx, satisfied == IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS,
		  "satisfied %#x", (unsigned int)satisfied);
	MN_EXPECT(ctx, status.num_local_parcels == 1, "%zu parcels",
		  status.num_local_parcels);
	MN_EXPECT(ctx, status.size == sizeof(status), "size %zu",
		  status.size);
	/* Still satisfied: returns at once, without a timeout. */
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 ipcz_wait_portal(client, &parcel_or_closed, 0,
					  &satisfied, NULL),
			 "a wait already satisfied");
	MN_EXPECT(ctx, mn_get_u32(ctx, client, &n, "the answer") && n == 2,
		  "answer %u", n);
	/* The client closes its portal: a waiter sees it. */
	mn_put_u32(client, 3);
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 wait_for(ctx, client,
				  &(struct IpczTrapConditions){
					  .size = sizeof(struct
							 IpczTrapConditions),
					  .flags = IPCZ_TRAP_PEER_CLOSED },
				  &satisfied, &status),
			 "a wait for closure");
	MN_EXPECT(ctx, satisfied == IPCZ_TRAP_PEER_CLOSED, "satisfied %#x",
		  (unsigned int)satisfied);
	MN_EXPECT(ctx, status.flags & IPCZ_PORTAL_STATUS_PEER_CLOSED,
		  "status %#x", (unsigned int)status.flags);
	mn_close(ctx, client);
}

static void IPCZ_API count_event(const struct IpczTrapEvent *event)
{
	(*(int *)event->context)++;
}

static void timeouts_client(struct mn_ctx *ctx)
{
	const struct IpczTrapConditions dead = {
		.size = sizeof(dead),
		.flags = IPCZ_TRAP_DEAD,
	};
	IpczHandle broker;
	int events = 0;
	uint32_t n;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.Trap(broker, &dead, count_event,
				    (uintptr_t)&events, 0, NULL, NULL, NULL),
			  "Trap");
	MN_EXPECT(ctx, mn_get_u32(ctx, broker, &n, "the question") && n == 1,
		  "question %u", n);
	mn_put_u32(broker, 2);
	MN_EXPECT(ctx, mn_get_u32(ctx, broker, &n, "the last") && n == 3,
		  "last %u", n);
	MN_EXPECT(ctx, events == 0, "%d events", events);
	mn_close(ctx, broker);
	/* The trap's only event: its removal by Close(). */
	MN_EXPECT(ctx, events == 1, "%d events", events);
}

MN_TEST(timeouts_and_closure)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, timeouts_broker },
			   { "client", false, timeouts_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/* A portal closed by another thread ends the wait with CANCELLED. */

struct closer {
	struct mn_ctx *ctx;
	IpczHandle portal;
};

static void *close_later(void *arg)
{
	struct closer *c = arg;

	mn_sleep_ms(c->ctx, TIMEOUT_MS);
	mn_close(c->ctx, c->portal);
	return NULL;
}

static void cancelled_broker(struct mn_ctx *ctx)
{
	IpczHandle client, near, far;
	struct closer closer;
	pthread_t thread;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 1, &client));
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.OpenPortals(ctx->node, IPCZ_NO_FLAGS, NULL,
					   &near, &far),
			  "OpenPortals");
	/* `far` lives on the client: `near`'s route crosses the link. */
	mn_put_str(client, "far", &far, 1);
	closer = (struct closer){ ctx, near };
	MN_REQUIRE(ctx, !pthread_create(&thread, NULL, close_later, &closer));
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_CANCELLED,
			 ipcz_wait_portal(near, &parcel_or_closed,
					  IPCZ_WAIT_INFINITE, NULL, NULL),
			 "a wait on a portal closed meanwhile");
	pthread_join(thread, NULL);
	mn_broker_finish(ctx, &client, 1);
}

static void cancelled_client(struct mn_ctx *ctx)
{
	IpczHandle broker, far;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	MN_REQUIRE(ctx, mn_expect_str(ctx, broker, "far", &far, 1));
	mn_wait_status(ctx, far, IPCZ_PORTAL_STATUS_PEER_CLOSED,
		       "the waited-on portal closed");
	mn_close(ctx, far);
	mn_client_finish(ctx, broker);
}

MN_TEST(closed_under_a_waiter)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, cancelled_broker },
			   { "client", false, cancelled_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};

	if (coroutines())
		SKIP(return, "threads of their own block the coroutines");
	MN_RUN(test);
}

/* A trap handler run by a delivery may not wait: it is the deliverer. */

struct handler_wait {
	IpczHandle portal;
	_Atomic int result;	/* -1 until the handler ran */
};

static void IPCZ_API wait_in_handler(const struct IpczTrapEvent *event)
{
	struct handler_wait *h = (struct handler_wait *)event->context;

	if (event->condition_flags & IPCZ_TRAP_REMOVED)
		return;
	atomic_store(&h->result,
		     ipcz_wait_portal(h->portal, &parcel_or_closed,
				      TIMEOUT_MS * 1000000ull, NULL, NULL));
}

static void handler_broker(struct mn_ctx *ctx)
{
	static struct handler_wait h = { .result = -1 };
	int64_t start = mn_now_ms();
	IpczHandle client;
	uint32_t n;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 1, &client));
	h.portal = client;
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.Trap(client, &parcel_or_closed, wait_in_handler,
				    (uintptr_t)&h, 0, NULL, NULL, NULL),
			  "Trap");
	mn_put_u32(client, 1);
	MN_EXPECT(ctx, mn_get_u32(ctx, client, &n, "the answer") && n == 1,
		  "answer %u", n);
	/* The handler runs after the parcel is queued: it may still run. */
	while (atomic_load(&h.result) == -1 &&
	       mn_now_ms() - start < mn_timeout_ms())
		mn_pause(ctx);
	MN_EXPECT(ctx, atomic_load(&h.result) ==
			       IPCZ_RESULT_FAILED_PRECONDITION,
		  "a wait in the handler: %d", atomic_load(&h.result));
	mn_broker_finish(ctx, &client, 1);
}

static void handler_client(struct mn_ctx *ctx)
{
	IpczHandle broker;
	uint32_t n;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	MN_EXPECT(ctx, mn_get_u32(ctx, broker, &n, "the question"),
		  "question");
	mn_put_u32(broker, n);
	mn_client_finish(ctx, broker);
}

MN_TEST(no_wait_inside_a_delivery)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, handler_broker },
			   { "client", false, handler_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/*
 * A trap of another portal that fires while a thread waits, because that
 * thread delivered its parcel, fires within an API call (the wait); one
 * that fires elsewhere (on the driver's thread, or during another role's
 * call with coroutines) does not.
 */


struct flag_check {
	_Atomic int events;
	_Atomic int mismatches;
	_Atomic int within;	/* delivered by the waiting thread */
};

static void IPCZ_API check_within_flag(const struct IpczTrapEvent *event)
{
	struct flag_check *c = (struct flag_check *)event->context;
	bool within = event->condition_flags & IPCZ_TRAP_WITHIN_API_CALL;

	if (event->condition_flags & IPCZ_TRAP_REMOVED)
		return;
	if (within)
		atomic_fetch_add(&c->within, 1);
	if (within != inside_wait)
		atomic_fetch_add(&c->mismatches, 1);
	atomic_fetch_add(&c->events, 1);
}

static void flag_broker(struct mn_ctx *ctx)
{
	static struct flag_check check;
	const struct IpczTrapConditions new_parcel = {
		.size = sizeof(new_parcel),
		.flags = IPCZ_TRAP_NEW_LOCAL_PARCEL,
	};
	IpczHandle portals[2];
	uint32_t n, m;

	MN_REQUIRE(ctx, mn_connect(ctx, 0, 2, IPCZ_NO_FLAGS, portals) ==
				IPCZ_RESULT_OK);
	for (n = 0; n < 200; n++) {
		MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
				  ipcz.Trap(portals[1], &new_parcel,
					    check_within_flag,
					    (uintptr_t)&check, 0, NULL, NULL,
					    NULL),
				  "Trap");
		mn_put_u32(portals[0], n);
		MN_REQUIRE(ctx, take(ctx, portals[0], &m, sizeof(m), NULL,
				     NULL));
		MN_REQUIRE(ctx, mn_get_u32(ctx, portals[1], &m, "the side"));
		/* Its handler may still be on its way on another thread. */
		while (atomic_load(&check.events) <= (int)n &&
		       !mn_other_failed(ctx))
			mn_pause(ctx);
	}
	MN_EXPECT(ctx, atomic_load(&check.mismatches) == 0,
		  "%d of %d events flagged wrongly",
		  atomic_load(&check.mismatches), atomic_load(&check.events));
	/* Threads that wait deliver (nearly always) what they wait for. */
	MN_EXPECT(ctx, coroutines() || atomic_load(&check.within) > 0,
		  "no event fired inside a wait");
	mn_close(ctx, portals[0]);
	mn_close(ctx, portals[1]);
}

static void flag_client(struct mn_ctx *ctx)
{
	IpczHandle portals[2];
	uint32_t n, m;

	MN_REQUIRE(ctx, mn_connect(ctx, 0, 2, IPCZ_CONNECT_NODE_TO_BROKER,
				   portals) == IPCZ_RESULT_OK);
	for (n = 0; n < 200; n++) {
		if (!mn_get_u32(ctx, portals[0], &m, "the question"))
			break;
		/* The side parcel first: the broker's wait delivers both. */
		mn_put_u32(portals[1], m);
		mn_put_u32(portals[0], m);
	}
	mn_wait_status(ctx, portals[0], IPCZ_PORTAL_STATUS_PEER_CLOSED,
		       "the broker closed");
	mn_close(ctx, portals[0]);
	mn_close(ctx, portals[1]);
}

MN_TEST(traps_fired_inside_a_wait_are_within_an_api_call)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, flag_broker },
			   { "client", false, flag_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/* What is not a wait. */

static void bad_arguments_broker(struct mn_ctx *ctx)
{
	struct IpczTrapConditions small = parcel_or_closed;
	struct IpczPortalStatus status = { .size = 8 };
	IpczHandle client;

	small.size = 4;
	MN_REQUIRE(ctx, mn_connect_broker(ctx, 1, &client));
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_INVALID_ARGUMENT,
			 ipcz_wait_portal(IPCZ_INVALID_HANDLE,
					  &parcel_or_closed, 0, NULL, NULL),
			 "an invalid handle");
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_INVALID_ARGUMENT,
			 ipcz_wait_portal(ctx->node, &parcel_or_closed, 0,
					  NULL, NULL),
			 "a node handle");
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_INVALID_ARGUMENT,
			 ipcz_wait_portal(client, NULL, 0, NULL, NULL),
			 "no conditions");
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_INVALID_ARGUMENT,
			 ipcz_wait_portal(client, &small, 0, NULL, NULL),
			 "conditions too small");
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_INVALID_ARGUMENT,
			 ipcz_wait_portal(client, &parcel_or_closed, 0, NULL,
					  &status),
			 "a status too small");
	mn_broker_finish(ctx, &client, 1);
}

static void bad_arguments_client(struct mn_ctx *ctx)
{
	IpczHandle broker;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	mn_client_finish(ctx, broker);
}

MN_TEST(bad_arguments)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, bad_arguments_broker },
			   { "client", false, bad_arguments_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

TEST_HARNESS_MAIN
