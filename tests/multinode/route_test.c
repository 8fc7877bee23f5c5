// SPDX-License-Identifier: MIT
/*
 * Routes across nodes: data and portals in parcels, portals passed along
 * chains of nodes while numbered streams flow both ways (in order, exactly
 * once), many portals moving at once, boxes (driver objects and
 * application objects) and MergePortals() across nodes.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipcz/inprocess_driver.h"
#include "ipcz/introspect.h"

#include "tests/multinode/mn_test.h"

/* Helpers shared by the roles below. */

static void open_pair(struct mn_ctx *ctx, IpczHandle *a, IpczHandle *b)
{
	IpczResult result = ipcz.OpenPortals(ctx->node, IPCZ_NO_FLAGS, NULL,
					     a, b);

	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK, result, "OpenPortals");
}

/* Data and handles: portals in parcels, portals inside portals. */

static void handles_broker(struct mn_ctx *ctx)
{
	IpczHandle client, near[3], far[3], outer, outer_peer, inner,
		   inner_peer;
	int i;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 1, &client));
	for (i = 0; i < 3; i++)
		open_pair(ctx, &near[i], &far[i]);
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 mn_put_str(client, "three portals", far, 3),
			 "Put of three portals");
	for (i = 0; i < 3; i++) {
		mn_ping(ctx, near[i]);
		mn_close(ctx, near[i]);
	}
	/* A portal sent through a portal that itself just crossed. */
	open_pair(ctx, &outer, &outer_peer);
	open_pair(ctx, &inner, &inner_peer);
	mn_put_str(client, "outer", &outer_peer, 1);
	mn_put_str(outer, "inner", &inner_peer, 1);
	mn_ping(ctx, inner);
	mn_close(ctx, outer);
	mn_close(ctx, inner);
	mn_broker_finish(ctx, &client, 1);
}

static void handles_client(struct mn_ctx *ctx)
{
	IpczHandle broker, got[3], outer, inner;
	int i;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	if (mn_expect_str(ctx, broker, "three portals", got, 3)) {
		for (i = 0; i < 3; i++)
			mn_pong(ctx, got[i]);
		for (i = 0; i < 3; i++) {
			mn_wait_status(ctx, got[i], IPCZ_PORTAL_STATUS_DEAD,
				       "received portal's peer closed");
			mn_close(ctx, got[i]);
		}
	}
	if (mn_expect_str(ctx, broker, "outer", &outer, 1)) {
		if (mn_expect_str(ctx, outer, "inner", &inner, 1)) {
			mn_pong(ctx, inner);
			mn_close(ctx, inner);
		}
		mn_close(ctx, outer);
	}
	mn_client_finish(ctx, broker);
}

MN_TEST(data_and_handles)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, handles_broker },
			   { "client", false, handles_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/*
 * Transfer chains. The origin B opens (x, y), keeps x and sends y on a
 * path of nodes: B->A->C (and longer paths through more nodes). A
 * numbered stream flows each way the whole time: B puts 0..N-1 on x in
 * small batches while y moves; every holder of y reads a few numbers,
 * answers a few of its own, and passes y on with the next number it
 * expects and the next it sends, so that the next holder can check that
 * nothing was lost, repeated or reordered across the move. The last
 * holder reads and sends the rest; B checks its N numbers; both then see
 * the route close.
 */

#define CHAIN_N 120
#define CHAIN_PER_HOP 6
#define CHAIN_MAX_HOPS 12

enum { CH_A, CH_B, CH_C, CH_D };

struct chain_envelope {
	uint32_t hop;
	uint32_t expected;
	uint32_t to_send;
};

/* The holders of y after B, per test; all are A or a client of A. */
static const int chain_bac[] = { CH_A, CH_C };
static const int chain_long[] = { CH_A, CH_C, CH_A, CH_D, CH_A, CH_C, CH_A,
				  CH_D, CH_A, CH_C };

struct chain_state {
	const int *path;
	int length;
	/*
	 * This node's portal to each node (the broker's to each client, a
	 * client's to the broker).
	 */
	IpczHandle to[4];
};

static IpczHandle chain_portal_to(const struct chain_state *s, int node)
{
	return s->to[node];
}

/* Reads `count` numbers from y, checking each against *expected. */
static bool chain_read(struct mn_ctx *ctx, IpczHandle y, uint32_t *expected,
		       uint32_t count)
{
	uint32_t value;

	while (count-- > 0) {
		if (!mn_get_u32(ctx, y, &value, "chain stream"))
			return false;
		if (value != *expected) {
			MN_FAIL(ctx, "chain stream: expected %u, got %u",
				*expected, value);
			return false;
		}
		(*expected)++;
	}
	return true;
}

static void chain_send(struct mn_ctx *ctx, IpczHandle y, uint32_t *to_send,
		       uint32_t count)
{
	while (count-- > 0) {
		MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
				 mn_put_u32(y, 100000 + *to_send),
				 "Put on the moving portal");
		(*to_send)++;
	}
}

/* One hop at this node: take y from `from`, use it, pass it on. */
static bool chain_hop(struct mn_ctx *ctx, struct chain_state *s,
		      IpczHandle from)
{
	struct chain_envelope env;
	size_t num_bytes = sizeof(env), num_handles = 1;
	IpczHandle y;
	uint32_t left;
	IpczResult result = mn_get(ctx, from, &env, &num_bytes, &y,
				   &num_handles, "chain envelope");

	if (!MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK, result, "chain envelope"))
		return false;
	if (num_bytes != sizeof(env) || num_handles != 1 ||
	    env.hop >= (uint32_t)s->length || s->path[env.hop] != ctx->index) {
		MN_FAIL(ctx, "a bad chain envelope (hop %u)", env.hop);
		return false;
	}
	if (env.hop + 1 < (uint32_t)s->length) {
		if (!chain_read(ctx, y, &env.expected, CHAIN_PER_HOP))
			return false;
		chain_send(ctx, y, &env.to_send, CHAIN_PER_HOP);
		env.hop++;
		result = ipcz.Put(chain_portal_to(s, s->path[env.hop]), &env,
				  sizeof(env), &y, 1, IPCZ_NO_FLAGS, NULL);
		return MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK, result,
					"Put of the moving portal");
	}
	/* The last holder: the rest of both streams, then closure. */
	left = CHAIN_N - env.expected;
	chain_send(ctx, y, &env.to_send, CHAIN_N - env.to_send);
	if (chain_read(ctx, y, &env.expected, left) &&
	    mn_wait_status(ctx, y, IPCZ_PORTAL_STATUS_DEAD, "origin closed x"))
		MN_EXPECT(ctx, mn_status(y).num_local_parcels == 0,
			  "no parcel beyond the stream");
	mn_close(ctx, y);
	return true;
}

static int chain_hops_at(const struct chain_state *s, int node)
{
	int i, count = 0;

	for (i = 0; i < s->length; i++)
		count += s->path[i] == node;
	return count;
}

static void chain_origin(struct mn_ctx *ctx, struct chain_state *s)
{
	struct chain_envelope env = { 0, 0, 0 };
	IpczHandle x, y;
	uint32_t sent = 0, received = 0, value;
	int64_t deadline = mn_now_ms() + mn_timeout_ms();
	IpczResult result;

	open_pair(ctx, &x, &y);
	mn_put_u32(x, sent++);
	result = ipcz.Put(s->to[CH_A], &env, sizeof(env), &y, 1,
			  IPCZ_NO_FLAGS, NULL);
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK, result, "Put of y");
	while (received < CHAIN_N && !ctx->failed && !mn_other_failed(ctx)) {
		int batch;

		for (batch = 0; batch < 3 && sent < CHAIN_N; batch++)
			mn_put_u32(x, sent++);
		while (received < CHAIN_N && mn_status(x).num_local_parcels) {
			if (!mn_get_u32(ctx, x, &value, "chain reply"))
				break;
			MN_EXPECT(ctx, value == 100000 + received,
				  "reply %u at %u", value, received);
			received++;
		}
		if (mn_now_ms() > deadline) {
			MN_FAIL(ctx, "chain: %u of %u replies", received,
				CHAIN_N);
			break;
		}
		mn_pause(ctx);
	}
	while (sent < CHAIN_N)
		mn_put_u32(x, sent++);
	mn_close(ctx, x);
}

static void chain_role(struct mn_ctx *ctx, const int *path, int length)
{
	struct chain_state s = { .path = path, .length = length };
	IpczHandle portals[3];
	int hops, i;

	for (i = 0; i < 4; i++)
		s.to[i] = IPCZ_INVALID_HANDLE;
	if (ctx->index == CH_A) {
		int clients = ctx->test->num_nodes - 1;

		MN_REQUIRE(ctx, mn_connect_broker(ctx, clients, portals));
		for (i = 0; i < clients; i++)
			s.to[CH_B + i] = portals[i];
	} else {
		MN_REQUIRE(ctx, mn_connect_client(ctx, ctx->index - 1,
					       &s.to[CH_A]));
	}
	if (ctx->index == CH_B)
		chain_origin(ctx, &s);
	hops = chain_hops_at(&s, ctx->index);
	while (hops-- > 0 && !ctx->failed) {
		int from;

		if (ctx->index != CH_A) {
			chain_hop(ctx, &s, s.to[CH_A]);
			continue;
		}
		from = mn_wait_any(ctx, portals, ctx->test->num_nodes - 1,
				   "chain envelope at the broker");
		if (from < 0)
			break;
		chain_hop(ctx, &s, portals[from]);
	}
	if (ctx->index == CH_A)
		mn_broker_finish(ctx, portals, ctx->test->num_nodes - 1);
	else
		mn_client_finish(ctx, s.to[CH_A]);
}

static void chain_bac_role(struct mn_ctx *ctx)
{
	chain_role(ctx, chain_bac, sizeof(chain_bac) / sizeof(int));
}

static void chain_long_role(struct mn_ctx *ctx)
{
	chain_role(ctx, chain_long, sizeof(chain_long) / sizeof(int));
}

MN_TEST(transfer_chain_b_a_c)
{
	static const struct mn_test test = {
		.num_nodes = 3,
		.nodes = { [CH_A] = { "A", true, chain_bac_role },
			   [CH_B] = { "B", false, chain_bac_role },
			   [CH_C] = { "C", false, chain_bac_role } },
		.num_links = 2,
		.links = { { CH_A, CH_B }, { CH_A, CH_C } },
	};
	MN_RUN(test);
}

MN_TEST(transfer_chain_ten_hops)
{
	static const struct mn_test test = {
		.num_nodes = 4,
		.nodes = { [CH_A] = { "A", true, chain_long_role },
			   [CH_B] = { "B", false, chain_long_role },
			   [CH_C] = { "C", false, chain_long_role },
			   [CH_D] = { "D", false, chain_long_role } },
		.num_links = 3,
		.links = { { CH_A, CH_B }, { CH_A, CH_C }, { CH_A, CH_D } },
	};
	MN_RUN(test);
}

/*
 * Many portals moving at once: B sends the far ends of 24 pairs to C via
 * the broker while it streams numbered parcels into each; C checks every
 * stream, answers on it and closes it.
 */

#define MANY_PORTALS 24
#define MANY_PARCELS 6

static uint32_t many_tag(uint32_t portal, uint32_t seq)
{
	return portal << 16 | seq;
}

static void many_broker(struct mn_ctx *ctx)
{
	IpczHandle portals[2], moving;
	int i;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 2, portals));
	for (i = 0; i < MANY_PORTALS; i++) {
		uint32_t index;
		size_t num_bytes = sizeof(index), num_handles = 1;

		if (mn_get(ctx, portals[0], &index, &num_bytes, &moving,
			   &num_handles, "moving portal") != IPCZ_RESULT_OK ||
		    num_handles != 1) {
			MN_FAIL(ctx, "moving portal %d did not arrive", i);
			break;
		}
		MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
				 ipcz.Put(portals[1], &index, sizeof(index),
					  &moving, 1, IPCZ_NO_FLAGS, NULL),
				 "forwarding a moving portal");
	}
	mn_broker_finish(ctx, portals, 2);
}

static void many_sender(struct mn_ctx *ctx)
{
	IpczHandle broker, near[MANY_PORTALS], far;
	uint32_t i, seq, value;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	for (i = 0; i < MANY_PORTALS; i++) {
		open_pair(ctx, &near[i], &far);
		for (seq = 0; seq < MANY_PARCELS / 2; seq++)
			mn_put_u32(near[i], many_tag(i, seq));
		MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
				 ipcz.Put(broker, &i, sizeof(i), &far, 1,
					  IPCZ_NO_FLAGS, NULL),
				 "Put of a moving portal");
		for (; seq < MANY_PARCELS; seq++)
			mn_put_u32(near[i], many_tag(i, seq));
	}
	for (i = 0; i < MANY_PORTALS; i++) {
		for (seq = 0; seq < MANY_PARCELS; seq++) {
			if (!mn_get_u32(ctx, near[i], &value, "answer"))
				break;
			MN_EXPECT(ctx, value == many_tag(i, 1000 + seq),
				  "portal %u: answer 0x%x at %u", i, value,
				  seq);
		}
		mn_wait_status(ctx, near[i], IPCZ_PORTAL_STATUS_DEAD,
			       "receiver closed its end");
		mn_close(ctx, near[i]);
	}
	mn_client_finish(ctx, broker);
}

static void many_receiver(struct mn_ctx *ctx)
{
	IpczHandle broker, moving;
	uint32_t i, index, seq, value;
	bool seen[MANY_PORTALS] = { false };

	MN_REQUIRE(ctx, mn_connect_client(ctx, 1, &broker));
	for (i = 0; i < MANY_PORTALS; i++) {
		size_t num_bytes = sizeof(index), num_handles = 1;

		if (mn_get(ctx, broker, &index, &num_bytes, &moving,
			   &num_handles, "moving portal") != IPCZ_RESULT_OK ||
		    num_handles != 1 || index >= MANY_PORTALS ||
		    seen[index]) {
			MN_FAIL(ctx, "moving portal %u: bad arrival", i);
			break;
		}
		seen[index] = true;
		for (seq = 0; seq < MANY_PARCELS; seq++) {
			if (!mn_get_u32(ctx, moving, &value, "stream"))
				break;
			MN_EXPECT(ctx, value == many_tag(index, seq),
				  "portal %u: 0x%x at %u", index, value, seq);
			mn_put_u32(moving, many_tag(index, 1000 + seq));
		}
		mn_close(ctx, moving);
	}
	mn_client_finish(ctx, broker);
}

MN_TEST(many_portals_moving)
{
	static const struct mn_test test = {
		.num_nodes = 3,
		.nodes = { { "broker", true, many_broker },
			   { "sender", false, many_sender },
			   { "receiver", false, many_receiver } },
		.num_links = 2,
		.links = { { 0, 1 }, { 0, 2 } },
	};
	MN_RUN(test);
}

/*
 * Boxes across nodes: a driver shared memory object, mapped on both sides
 * (in the processes variants, memory shared between two processes), and
 * an application object, which arrives serialized as a subparcel.
 */

#define BOX_MEMORY_SIZE 8192
static const char box_greeting[] = "written by the broker";
static const char box_reply[] = "written by the client";
static const char app_object_bytes[] = "an application object, serialized";

static IpczResult IPCZ_API serialize_app_object(uintptr_t object,
						uint32_t flags,
						const void *options,
						volatile void *data,
						size_t *num_bytes,
						IpczHandle *handles,
						size_t *num_handles)
{
	size_t capacity = num_bytes ? *num_bytes : 0;
	size_t i;

	if (num_bytes)
		*num_bytes = sizeof(app_object_bytes);
	if (num_handles)
		*num_handles = 0;
	if (capacity < sizeof(app_object_bytes))
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	for (i = 0; i < sizeof(app_object_bytes); i++)
		((volatile char *)data)[i] = app_object_bytes[i];
	return IPCZ_RESULT_OK;
}

static void IPCZ_API destroy_app_object(uintptr_t object, uint32_t flags,
					const void *options)
{
}

static void box_broker(struct mn_ctx *ctx)
{
	const struct IpczDriver *driver = mn_driver();
	IpczDriverHandle memory, mapping;
	volatile void *address;
	IpczHandle client, box;
	struct IpczBoxContents contents = { .size = sizeof(contents) };
	char reply[sizeof(box_reply)];
	size_t i;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 1, &client));
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  driver->AllocateSharedMemory(BOX_MEMORY_SIZE, 0, NULL,
						       &memory),
			  "AllocateSharedMemory");
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  driver->MapSharedMemory(memory, 0, NULL, &address,
						  &mapping),
			  "MapSharedMemory");
	for (i = 0; i < sizeof(box_greeting); i++)
		((volatile char *)address)[i] = box_greeting[i];
	contents.type = IPCZ_BOX_TYPE_DRIVER_OBJECT;
	contents.object.driver_object = memory;
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 ipcz.Box(ctx->node, &contents, 0, NULL, &box),
			 "Box of shared memory");
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 mn_put_str(client, "memory", &box, 1),
			 "Put of a boxed memory object");
	if (mn_expect_str(ctx, client, "replied", NULL, 0)) {
		for (i = 0; i < sizeof(reply); i++)
			reply[i] = ((volatile char *)address)[4096 + i];
		MN_EXPECT(ctx, memcmp(reply, box_reply, sizeof(reply)) == 0,
			  "the client's write is in our mapping");
	}
	driver->Close(mapping, 0, NULL);

	memset(&contents, 0, sizeof(contents));
	contents.size = sizeof(contents);
	contents.type = IPCZ_BOX_TYPE_APPLICATION_OBJECT;
	contents.object.application_object = 42;
	contents.serializer = serialize_app_object;
	contents.destructor = destroy_app_object;
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 ipcz.Box(ctx->node, &contents, 0, NULL, &box),
			 "Box of an application object");
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 mn_put_str(client, "application object", &box, 1),
			 "Put of a boxed application object");
	mn_broker_finish(ctx, &client, 1);
}

static void box_client_memory(struct mn_ctx *ctx, IpczHandle box)
{
	const struct IpczDriver *driver = mn_driver();
	struct IpczBoxContents contents = { .size = sizeof(contents) };
	struct IpczSharedMemoryInfo info = { .size = sizeof(info) };
	IpczDriverHandle mapping;
	volatile void *address;
	char greeting[sizeof(box_greeting)];
	size_t i;

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.Unbox(box, 0, NULL, &contents), "Unbox");
	MN_REQUIRE(ctx, contents.type == IPCZ_BOX_TYPE_DRIVER_OBJECT,
		   "box type %u", (unsigned int)contents.type);
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 driver->GetSharedMemoryInfo(
				 contents.object.driver_object, 0, NULL,
				 &info),
			 "GetSharedMemoryInfo");
	MN_EXPECT(ctx, info.region_num_bytes >= BOX_MEMORY_SIZE,
		  "region of %zu bytes", (size_t)info.region_num_bytes);
	if (MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			     driver->MapSharedMemory(
				     contents.object.driver_object, 0, NULL,
				     &address, &mapping),
			     "MapSharedMemory of the received region")) {
		for (i = 0; i < sizeof(greeting); i++)
			greeting[i] = ((volatile char *)address)[i];
		MN_EXPECT(ctx,
			  memcmp(greeting, box_greeting, sizeof(greeting)) == 0,
			  "the broker's write is in our mapping");
		for (i = 0; i < sizeof(box_reply); i++)
			((volatile char *)address)[4096 + i] = box_reply[i];
		driver->Close(mapping, 0, NULL);
	}
	driver->Close(contents.object.driver_object, 0, NULL);
}

static void box_client_app_object(struct mn_ctx *ctx, IpczHandle box)
{
	struct IpczBoxContents contents = { .size = sizeof(contents) };
	char data[64];
	size_t num_bytes = sizeof(data), num_handles = 0;

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.Unbox(box, 0, NULL, &contents), "Unbox");
	MN_REQUIRE(ctx, contents.type == IPCZ_BOX_TYPE_SUBPARCEL,
		   "an application object from another node arrives as a subparcel (type %u)",
		   (unsigned int)contents.type);
	if (MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			     ipcz.Get(contents.object.subparcel, 0, NULL, data,
				      &num_bytes, NULL, &num_handles, NULL),
			     "Get from the subparcel"))
		MN_EXPECT(ctx, num_bytes == sizeof(app_object_bytes) &&
			  memcmp(data, app_object_bytes, num_bytes) == 0,
			  "the serialized bytes (%zu)", num_bytes);
	mn_close(ctx, contents.object.subparcel);
}

static void box_client(struct mn_ctx *ctx)
{
	IpczHandle broker, box;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	if (mn_expect_str(ctx, broker, "memory", &box, 1)) {
		box_client_memory(ctx, box);
		mn_put_str(broker, "replied", NULL, 0);
	}
	if (mn_expect_str(ctx, broker, "application object", &box, 1))
		box_client_app_object(ctx, box);
	mn_client_finish(ctx, broker);
}

MN_TEST(boxes_across_nodes)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, box_broker },
			   { "client", false, box_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/*
 * MergePortals() across nodes: the broker merges a local pair's end with
 * its initial portal to the client, and the two routes become one.
 */

static void merge_initial_broker(struct mn_ctx *ctx)
{
	IpczHandle client, q, p;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 1, &client));
	open_pair(ctx, &q, &p);
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_INVALID_ARGUMENT,
			 ipcz.MergePortals(client, client, 0, NULL),
			 "MergePortals of a portal with itself");
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_INVALID_ARGUMENT,
			 ipcz.MergePortals(q, p, 0, NULL),
			 "MergePortals of two local peers");
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.MergePortals(client, p, 0, NULL),
			  "MergePortals with an initial portal");
	mn_put_str(q, "through the merge", NULL, 0);
	mn_expect_str(ctx, q, "back through the merge", NULL, 0);
	mn_ping(ctx, q);
	mn_close(ctx, q);
}

static void merge_initial_client(struct mn_ctx *ctx)
{
	IpczHandle broker;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	mn_expect_str(ctx, broker, "through the merge", NULL, 0);
	mn_put_str(broker, "back through the merge", NULL, 0);
	mn_pong(ctx, broker);
	mn_wait_status(ctx, broker,
		       IPCZ_PORTAL_STATUS_PEER_CLOSED | IPCZ_PORTAL_STATUS_DEAD,
		       "merged route's far end closed");
	mn_close(ctx, broker);
}

MN_TEST(merge_with_initial_portal)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, merge_initial_broker },
			   { "client", false, merge_initial_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/*
 * A portal that has already sent or read parcels cannot be merged
 * (FAILED_PRECONDITION); merging with a route whose far end is closed
 * propagates the closure.
 */

static void merge_closed_broker(struct mn_ctx *ctx)
{
	IpczHandle client, r, s, used, used_peer;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 1, &client));
	open_pair(ctx, &used, &used_peer);
	mn_put_str(client, "used", NULL, 0);
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_FAILED_PRECONDITION,
			 ipcz.MergePortals(client, used, 0, NULL),
			 "MergePortals of a portal that sent a parcel");
	mn_close(ctx, used);
	mn_close(ctx, used_peer);
	open_pair(ctx, &r, &s);
	mn_put_str(client, "merge this", &r, 1);
	mn_wait_status(ctx, s,
		       IPCZ_PORTAL_STATUS_PEER_CLOSED | IPCZ_PORTAL_STATUS_DEAD,
		       "closure through the merge");
	mn_close(ctx, s);
	mn_broker_finish(ctx, &client, 1);
}

static void merge_closed_client(struct mn_ctx *ctx)
{
	IpczHandle broker, q, p, r;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	mn_expect_str(ctx, broker, "used", NULL, 0);
	open_pair(ctx, &q, &p);
	mn_close(ctx, q);
	if (mn_expect_str(ctx, broker, "merge this", &r, 1))
		MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
				 ipcz.MergePortals(p, r, 0, NULL),
				 "MergePortals with a closed local peer");
	mn_client_finish(ctx, broker);
}

MN_TEST(merge_with_closed_peer)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, merge_closed_broker },
			   { "client", false, merge_closed_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/*
 * Merging complex routes: two clients bounce two portals between
 * themselves and the broker many times, then the broker merges the two
 * ends it kept; the clients, holding the far ends, talk through it.
 */

#define MERGE_ROUNDS 20

static void merge_complex_broker(struct mn_ctx *ctx)
{
	IpczHandle clients[2], q, p, s, t, u, v, moving;
	int i, c;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 2, clients));
	open_pair(ctx, &q, &p);
	mn_put_str(clients[0], "other", &q, 1);
	mn_put_str(clients[1], "other", &p, 1);
	open_pair(ctx, &s, &t);
	open_pair(ctx, &u, &v);
	mn_put_str(clients[0], "portal", &t, 1);
	mn_put_str(clients[1], "portal", &v, 1);
	for (i = 0; i < MERGE_ROUNDS && !ctx->failed; i++) {
		for (c = 0; c < 2; c++) {
			if (!mn_expect_str(ctx, clients[c], "bounce", &moving,
					   1))
				break;
			mn_put_str(clients[c], "bounce", &moving, 1);
		}
	}
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK, ipcz.MergePortals(s, u, 0, NULL),
			 "MergePortals of two moved routes");
	mn_broker_finish(ctx, clients, 2);
}

static void merge_complex_client(struct mn_ctx *ctx)
{
	IpczHandle broker, other, portal;
	int i;

	MN_REQUIRE(ctx, mn_connect_client(ctx, ctx->index - 1, &broker));
	MN_REQUIRE(ctx, mn_expect_str(ctx, broker, "other", &other, 1));
	MN_REQUIRE(ctx, mn_expect_str(ctx, broker, "portal", &portal, 1));
	for (i = 0; i < MERGE_ROUNDS; i++) {
		mn_put_str(other, "swap", &portal, 1);
		if (!mn_expect_str(ctx, other, "swap", &portal, 1))
			break;
		mn_put_str(broker, "bounce", &portal, 1);
		if (!mn_expect_str(ctx, broker, "bounce", &portal, 1))
			break;
	}
	if (i == MERGE_ROUNDS) {
		mn_put_str(portal, "hello", NULL, 0);
		mn_expect_str(ctx, portal, "hello", NULL, 0);
		mn_close(ctx, portal);
	}
	mn_close(ctx, other);
	mn_client_finish(ctx, broker);
}

MN_TEST(merge_complex_routes)
{
	static const struct mn_test test = {
		.num_nodes = 3,
		.nodes = { { "broker", true, merge_complex_broker },
			   { "client1", false, merge_complex_client },
			   { "client2", false, merge_complex_client } },
		.num_links = 2,
		.links = { { 0, 1 }, { 0, 2 } },
	};
	MN_RUN(test);
}

/*
 * A portal bounced to another node and back, many times, while parcels
 * queue on it: every parcel arrives, and the route ends local again.
 */

#define BOUNCES 40

static void bounce_broker(struct mn_ctx *ctx)
{
	IpczHandle client, q, p;
	char text[32];
	int i;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 1, &client));
	open_pair(ctx, &q, &p);
	for (i = 0; i < BOUNCES && !ctx->failed; i++) {
		snprintf(text, sizeof(text), "bounce %d", i);
		mn_put_str(q, text, NULL, 0);
		mn_put_str(client, "", &p, 1);
		if (!mn_expect_str(ctx, client, "", &p, 1))
			break;
		mn_expect_str(ctx, p, text, NULL, 0);
		mn_put_str(p, text, NULL, 0);
		mn_expect_str(ctx, q, text, NULL, 0);
	}
	mn_close(ctx, q);
	if (i == BOUNCES) {
		mn_wait_status(ctx, p, IPCZ_PORTAL_STATUS_DEAD,
			       "local peer closed");
		mn_close(ctx, p);
	}
	mn_put_str(client, "stop", NULL, 0);
	mn_broker_finish(ctx, &client, 1);
}

static void bounce_client(struct mn_ctx *ctx)
{
	IpczHandle broker, p[1];
	char text[8];
	size_t num_bytes, num_handles;

	MN_REQUIRE(ctx, mn_connect_client(ctx, ctx->index - 1, &broker));
	for (;;) {
		num_bytes = sizeof(text);
		num_handles = 1;
		if (mn_get(ctx, broker, text, &num_bytes, p, &num_handles,
			   "bounced portal") != IPCZ_RESULT_OK)
			break;
		if (num_handles == 0)
			break;	/* "stop" */
		mn_put_str(broker, "", p, 1);
	}
	mn_client_finish(ctx, broker);
}

MN_TEST(transfer_back_and_forth)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, bounce_broker },
			   { "client", false, bounce_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/*
 * Routing stress: three pairs of clients; each round the broker puts a
 * parcel into each end of a pair (a, b) and bounces a through every first
 * client and b through every second one. At the end all parcels are there,
 * in order, on the two ends, now both back at the broker.
 */

#define STRESS_PAIRS 3
#define STRESS_ROUNDS 30

static void stress_broker(struct mn_ctx *ctx)
{
	IpczHandle clients[2 * STRESS_PAIRS], a, b;
	char text[32];
	int round, i;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 2 * STRESS_PAIRS, clients));
	open_pair(ctx, &a, &b);
	for (round = 0; round < STRESS_ROUNDS && !ctx->failed; round++) {
		snprintf(text, sizeof(text), "a%d", round);
		mn_put_str(a, text, NULL, 0);
		snprintf(text, sizeof(text), "b%d", round);
		mn_put_str(b, text, NULL, 0);
		for (i = 0; i < STRESS_PAIRS; i++) {
			mn_put_str(clients[2 * i], "", &a, 1);
			mn_put_str(clients[2 * i + 1], "", &b, 1);
			if (!mn_expect_str(ctx, clients[2 * i], "", &a, 1) ||
			    !mn_expect_str(ctx, clients[2 * i + 1], "", &b, 1))
				break;
		}
	}
	for (round = 0; round < STRESS_ROUNDS && !ctx->failed; round++) {
		snprintf(text, sizeof(text), "b%d", round);
		mn_expect_str(ctx, a, text, NULL, 0);
		snprintf(text, sizeof(text), "a%d", round);
		mn_expect_str(ctx, b, text, NULL, 0);
	}
	mn_close(ctx, a);
	mn_close(ctx, b);
	for (i = 0; i < 2 * STRESS_PAIRS; i++)
		mn_put_str(clients[i], "stop", NULL, 0);
	mn_broker_finish(ctx, clients, 2 * STRESS_PAIRS);
}

MN_TEST(routing_stress)
{
	static const struct mn_test test = {
		.num_nodes = 1 + 2 * STRESS_PAIRS,
		.nodes = { { "broker", true, stress_broker },
			   { "c1", false, bounce_client },
			   { "c2", false, bounce_client },
			   { "c3", false, bounce_client },
			   { "c4", false, bounce_client },
			   { "c5", false, bounce_client },
			   { "c6", false, bounce_client } },
		.num_links = 2 * STRESS_PAIRS,
		.links = { { 0, 1 }, { 0, 2 }, { 0, 3 }, { 0, 4 }, { 0, 5 },
			   { 0, 6 } },
	};
	MN_RUN(test);
}

/*
 * Many routes closing at once: the broker sends the two ends of 1100 pairs
 * to two clients (enough routes that new link state blocks are needed);
 * one client closes all its ends, the other sees every peer closed.
 */

#define CLOSING_ROUTES 1100

static void closing_broker(struct mn_ctx *ctx)
{
	IpczHandle clients[2], q, p;
	int i;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 2, clients));
	for (i = 0; i < CLOSING_ROUTES && !ctx->failed; i++) {
		open_pair(ctx, &q, &p);
		mn_put_str(clients[0], "", &q, 1);
		mn_put_str(clients[1], "", &p, 1);
		if (i % 64 == 0)
			mn_pause(ctx);
	}
	mn_broker_finish(ctx, clients, 2);
}

static void closing_client(struct mn_ctx *ctx)
{
	static IpczHandle portals[2][CLOSING_ROUTES];
	IpczHandle broker, *mine = portals[ctx->index - 1];
	int i, received;

	MN_REQUIRE(ctx, mn_connect_client(ctx, ctx->index - 1, &broker));
	for (received = 0; received < CLOSING_ROUTES; received++)
		if (!mn_expect_str(ctx, broker, "", &mine[received], 1))
			break;
	for (i = 0; i < received; i++) {
		if (ctx->index == 2)
			mn_close(ctx, mine[i]);
		else if (!mn_wait_status(ctx, mine[i],
					 IPCZ_PORTAL_STATUS_PEER_CLOSED,
					 "one of many routes closed"))
			break;
	}
	if (ctx->index == 1)
		for (i = 0; i < received; i++)
			mn_close(ctx, mine[i]);
	mn_client_finish(ctx, broker);
}

MN_TEST(many_routes_closing)
{
	static const struct mn_test test = {
		.num_nodes = 3,
		.nodes = { { "broker", true, closing_broker },
			   { "c1", false, closing_client },
			   { "c2", false, closing_client } },
		.num_links = 2,
		.links = { { 0, 1 }, { 0, 2 } },
	};
	MN_RUN(test);
}

/*
 * Both ends moving: B opens (x, y) and sends both away at once, each on
 * its own path through A, C and D (x comes home to B at the end, y ends
 * at C). Each end streams its own numbers to the other; every holder
 * reads and sends a few and passes the end on with its counts, as above.
 * The two ends move concurrently, so parcels flow while both move.
 */

#define BOTH_N 96

struct both_envelope {
	uint32_t end;		/* 0: x, 1: y */
	uint32_t hop;
	uint32_t expected;
	uint32_t to_send;
};

static const int both_paths[2][6] = {
	{ CH_A, CH_D, CH_A, CH_C, CH_A, CH_B },
	{ CH_A, CH_C, CH_A, CH_D, CH_A, CH_C },
};
#define BOTH_HOPS 6

static uint32_t both_value(uint32_t end, uint32_t seq)
{
	return end << 20 | seq;
}

static bool both_read(struct mn_ctx *ctx, IpczHandle portal,
		      struct both_envelope *env, uint32_t count)
{
	uint32_t value, want;

	while (count-- > 0) {
		if (!mn_get_u32(ctx, portal, &value, "both-ends stream"))
			return false;
		want = both_value(1 - env->end, env->expected);
		if (value != want) {
			MN_FAIL(ctx, "end %u: expected 0x%x, got 0x%x",
				env->end, want, value);
			return false;
		}
		env->expected++;
	}
	return true;
}

static void both_send(struct mn_ctx *ctx, IpczHandle portal,
		      struct both_envelope *env, uint32_t count)
{
	while (count-- > 0) {
		MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
				 mn_put_u32(portal, both_value(env->end,
							       env->to_send)),
				 "Put on a moving end");
		env->to_send++;
	}
}

/* Reads what has arrived so far, without waiting. */
static bool both_read_available(struct mn_ctx *ctx, IpczHandle portal,
				struct both_envelope *env)
{
	while (mn_status(portal).num_local_parcels > 0)
		if (!both_read(ctx, portal, env, 1))
			return false;
	return true;
}

/* An end that reached its last holder, still to be drained. */
struct both_final {
	IpczHandle portal;
	struct both_envelope env;
};

/*
 * One hop of an end at this node. Intermediate holders read only what has
 * already arrived (waiting could deadlock: the other end's next sender may
 * be queued behind us), send a few, and pass the end on. The last holder
 * sends the rest and keeps the end in *final, drained after all hops.
 */
static bool both_hop(struct mn_ctx *ctx, IpczHandle *to, IpczHandle from,
		     struct both_final *final)
{
	struct both_envelope env;
	size_t num_bytes = sizeof(env), num_handles = 1;
	IpczHandle portal;
	IpczResult result = mn_get(ctx, from, &env, &num_bytes, &portal,
				   &num_handles, "both-ends envelope");

	if (!MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK, result, "envelope"))
		return true;
	/* A client that has made all its hops may say so early. */
	if (num_bytes == 4 && num_handles == 0 && !memcmp(&env, "done", 4))
		return false;
	if (num_bytes != sizeof(env) || num_handles != 1 || env.end > 1 ||
	    env.hop >= BOTH_HOPS ||
	    both_paths[env.end][env.hop] != ctx->index) {
		MN_FAIL(ctx, "a bad both-ends envelope");
		return true;
	}
	if (!both_read_available(ctx, portal, &env))
		return true;
	if (env.hop + 1 < BOTH_HOPS) {
		both_send(ctx, portal, &env, 4);
		env.hop++;
		MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
				 ipcz.Put(to[both_paths[env.end][env.hop]],
					  &env, sizeof(env), &portal, 1, 0,
					  NULL),
				 "Put of a moving end");
		return true;
	}
	both_send(ctx, portal, &env, BOTH_N - env.to_send);
	final->portal = portal;
	final->env = env;
	return true;
}

static void both_drain(struct mn_ctx *ctx, struct both_final *final)
{
	if (final->portal == IPCZ_INVALID_HANDLE)
		return;
	if (both_read(ctx, final->portal, &final->env,
		      BOTH_N - final->env.expected))
		MN_EXPECT(ctx, mn_status(final->portal).num_local_parcels == 0,
			  "nothing beyond the stream");
	mn_close(ctx, final->portal);
}

static void both_role(struct mn_ctx *ctx)
{
	IpczHandle to[4], portals[3], x, y;
	struct both_final finals[2] = { { IPCZ_INVALID_HANDLE },
					{ IPCZ_INVALID_HANDLE } };
	bool done[3] = { false, false, false };
	int hops = 0, i, e;

	for (i = 0; i < 4; i++)
		to[i] = IPCZ_INVALID_HANDLE;
	if (ctx->index == CH_A) {
		MN_REQUIRE(ctx, mn_connect_broker(ctx, 3, portals));
		for (i = 0; i < 3; i++)
			to[CH_B + i] = portals[i];
	} else {
		MN_REQUIRE(ctx, mn_connect_client(ctx, ctx->index - 1,
					       &to[CH_A]));
		portals[0] = to[CH_A];
	}
	if (ctx->index == CH_B) {
		struct both_envelope env = { 0, 0, 0, 0 };

		open_pair(ctx, &x, &y);
		mn_put_u32(x, both_value(0, env.to_send++));
		ipcz.Put(to[CH_A], &env, sizeof(env), &x, 1, 0, NULL);
		env.end = 1;
		env.to_send = 0;
		mn_put_u32(y, both_value(1, env.to_send++));
		ipcz.Put(to[CH_A], &env, sizeof(env), &y, 1, 0, NULL);
	}
	for (e = 0; e < 2; e++)
		for (i = 0; i < BOTH_HOPS; i++)
			hops += both_paths[e][i] == ctx->index;
	while (hops-- > 0 && !ctx->failed) {
		int from = mn_wait_any(ctx, portals,
				       ctx->index == CH_A ? 3 : 1,
				       "both-ends envelope");

		if (from < 0)
			break;
		if (!both_hop(ctx, to, portals[from], finals[0].portal ==
			      IPCZ_INVALID_HANDLE ? &finals[0] : &finals[1])) {
			done[from] = true;
			hops++;
		}
	}
	both_drain(ctx, &finals[0]);
	both_drain(ctx, &finals[1]);
	if (ctx->index == CH_A) {
		for (i = 0; i < 3; i++)
			if (!done[i])
				mn_expect_str(ctx, portals[i], "done", NULL, 0);
		for (i = 0; i < 3; i++)
			mn_close(ctx, portals[i]);
	} else
		mn_client_finish(ctx, to[CH_A]);
}

MN_TEST(transfer_both_ends_moving)
{
	static const struct mn_test test = {
		.num_nodes = 4,
		.nodes = { [CH_A] = { "A", true, both_role },
			   [CH_B] = { "B", false, both_role },
			   [CH_C] = { "C", false, both_role },
			   [CH_D] = { "D", false, both_role } },
		.num_links = 3,
		.links = { { CH_A, CH_B }, { CH_A, CH_C }, { CH_A, CH_D } },
	};
	MN_RUN(test);
}

/*
 * Large parcels queued in a portal while it moves A->B->A->C: the proxies
 * on the way must carry them whole; C reads them, then answers with one
 * of its own, which A reads on the end it kept.
 */

static const size_t large_sizes[] = { 300000, 1 << 20, 70000 };
#define NUM_LARGE (sizeof(large_sizes) / sizeof(large_sizes[0]))

static uint8_t large_byte(size_t i, size_t size)
{
	return (uint8_t)(i * 13 + size + (i >> 12));
}

static void put_large(struct mn_ctx *ctx, IpczHandle portal, size_t size)
{
	uint8_t *data = malloc(size);
	size_t i;

	for (i = 0; i < size; i++)
		data[i] = large_byte(i, size);
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 ipcz.Put(portal, data, size, NULL, 0, 0, NULL),
			 "Put of a large parcel");
	free(data);
}

static void get_large(struct mn_ctx *ctx, IpczHandle portal, size_t size)
{
	size_t capacity = size + 64, got = capacity, handles = 0, i;
	uint8_t *data = malloc(capacity);

	if (mn_get(ctx, portal, data, &got, NULL, &handles, "large parcel") ==
	    IPCZ_RESULT_OK) {
		MN_EXPECT(ctx, got == size, "%zu bytes for %zu", got, size);
		for (i = 0; i < got && i < size; i++) {
			if (data[i] != large_byte(i, size)) {
				MN_FAIL(ctx, "large parcel of %zu bytes differs at %zu",
					size, i);
				break;
			}
		}
	}
	free(data);
}

static void large_broker(struct mn_ctx *ctx)
{
	IpczHandle clients[2], x, y;
	size_t i;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 2, clients));
	open_pair(ctx, &x, &y);
	for (i = 0; i < NUM_LARGE; i++)
		put_large(ctx, x, large_sizes[i]);
	mn_put_str(clients[0], "bounce", &y, 1);
	if (mn_expect_str(ctx, clients[0], "", &y, 1))
		mn_put_str(clients[1], "read", &y, 1);
	get_large(ctx, x, 1 << 20);
	mn_close(ctx, x);
	mn_put_str(clients[0], "stop", NULL, 0);
	mn_broker_finish(ctx, clients, 2);
}

static void large_reader(struct mn_ctx *ctx)
{
	IpczHandle broker, y;
	size_t i;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 1, &broker));
	if (mn_expect_str(ctx, broker, "read", &y, 1)) {
		for (i = 0; i < NUM_LARGE; i++)
			get_large(ctx, y, large_sizes[i]);
		put_large(ctx, y, 1 << 20);
		mn_wait_status(ctx, y, IPCZ_PORTAL_STATUS_DEAD,
			       "the kept end closed");
		mn_close(ctx, y);
	}
	mn_client_finish(ctx, broker);
}

MN_TEST(large_parcels_through_moving_portal)
{
	static const struct mn_test test = {
		.num_nodes = 3,
		.nodes = { { "A", true, large_broker },
			   { "B", false, bounce_client },
			   { "C", false, large_reader } },
		.num_links = 2,
		.links = { { 0, 1 }, { 0, 2 } },
	};
	MN_RUN(test);
}

/*
 * Two-phase puts and gets across nodes: a parcel written in place with
 * BeginPut()/EndPut() (with a portal attached), an aborted put that sends
 * nothing, and on the other node BeginGet() reading the data in place, an
 * aborted get leaving its parcel queued.
 */

#define TWO_PHASE_SIZE 65536

static void two_phase_broker(struct mn_ctx *ctx)
{
	IpczHandle client, near, far;
	IpczTransaction txn;
	volatile void *data;
	size_t num_bytes = TWO_PHASE_SIZE, i;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 1, &client));
	open_pair(ctx, &near, &far);
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.BeginPut(client, 0, NULL, &data, &num_bytes,
					&txn),
			  "BeginPut");
	MN_REQUIRE(ctx, num_bytes >= TWO_PHASE_SIZE, "capacity %zu",
		   num_bytes);
	for (i = 0; i < TWO_PHASE_SIZE; i++)
		((volatile uint8_t *)data)[i] = large_byte(i, TWO_PHASE_SIZE);
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 ipcz.EndPut(client, txn, TWO_PHASE_SIZE, &far, 1, 0,
				     NULL),
			 "EndPut");
	num_bytes = 16;
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.BeginPut(client, 0, NULL, &data, &num_bytes,
					&txn),
			  "BeginPut to abort");
	((volatile char *)data)[0] = 'X';
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 ipcz.EndPut(client, txn, 1, NULL, 0,
				     IPCZ_END_PUT_ABORT, NULL),
			 "EndPut(ABORT)");
	mn_put_str(client, "after the abort", NULL, 0);
	mn_ping(ctx, near);
	mn_close(ctx, near);
	mn_broker_finish(ctx, &client, 1);
}

static void two_phase_client(struct mn_ctx *ctx)
{
	IpczHandle broker, portal;
	IpczTransaction txn;
	const volatile void *data;
	size_t num_bytes, num_handles = 1, i;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	MN_REQUIRE(ctx, mn_wait_parcel(ctx, broker, "two-phase parcel") ==
		   IPCZ_RESULT_OK);
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.BeginGet(broker, 0, NULL, &data, &num_bytes,
					&portal, &num_handles, &txn),
			  "BeginGet");
	MN_EXPECT(ctx, num_bytes == TWO_PHASE_SIZE && num_handles == 1,
		  "%zu bytes, %zu handles", num_bytes, num_handles);
	for (i = 0; i < num_bytes; i++) {
		if (((const volatile uint8_t *)data)[i] !=
		    large_byte(i, TWO_PHASE_SIZE)) {
			MN_FAIL(ctx, "two-phase data differs at %zu", i);
			break;
		}
	}
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 ipcz.EndGet(broker, txn, 0, NULL, NULL), "EndGet");
	MN_REQUIRE(ctx, mn_wait_parcel(ctx, broker, "parcel after the abort") ==
		   IPCZ_RESULT_OK);
	num_handles = 0;
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.BeginGet(broker, 0, NULL, &data, &num_bytes,
					NULL, &num_handles, &txn),
			  "BeginGet to abort");
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 ipcz.EndGet(broker, txn, IPCZ_END_GET_ABORT, NULL,
				     NULL),
			 "EndGet(ABORT)");
	mn_expect_str(ctx, broker, "after the abort", NULL, 0);
	mn_pong(ctx, portal);
	mn_close(ctx, portal);
	mn_client_finish(ctx, broker);
}

MN_TEST(two_phase_across_nodes)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, two_phase_broker },
			   { "client", false, two_phase_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/*
 * Other driver objects across nodes: in the processes variants the write
 * end of a pipe, wrapped as a driver object (so the descriptor itself
 * crosses to the other process, which writes into it); in the in-process
 * variants one of the in-process driver's test objects, whose value the
 * other node reads.
 */

static const char pipe_message[] = "through a descriptor sent in a box";
#define TEST_OBJECT_VALUE 0x5eed

static bool read_pipe(struct mn_ctx *ctx, int fd, char *buffer, size_t size)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	while (got < size) {
		if (poll(&pfd, 1, mn_timeout_ms()) != 1) {
			MN_FAIL(ctx, "nothing came through the sent descriptor");
			return false;
		}
		n = read(fd, buffer + got, size - got);
		if (n <= 0) {
			MN_FAIL(ctx, "the sent descriptor was closed unwritten");
			return false;
		}
		got += n;
	}
	return true;
}

static void object_broker(struct mn_ctx *ctx)
{
	struct IpczBoxContents contents = {
		.size = sizeof(contents),
		.type = IPCZ_BOX_TYPE_DRIVER_OBJECT,
	};
	IpczHandle client, box;
	char buffer[sizeof(pipe_message)];
	int fds[2] = { -1, -1 };

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 1, &client));
	if (mn_variant.descriptor_wrap) {
		MN_REQUIRE(ctx, pipe2(fds, O_CLOEXEC) == 0);
		MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
				  mn_variant.descriptor_wrap(
					  fds[1], &contents.object.driver_object),
				  "wrapping a descriptor");
	} else {
		contents.object.driver_object =
			ipcz_inprocess_test_object_create(TEST_OBJECT_VALUE, 1);
	}
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 ipcz.Box(ctx->node, &contents, 0, NULL, &box),
			 "Box of a driver object");
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 mn_put_str(client, "object", &box, 1),
			 "Put of a boxed driver object");
	if (fds[0] >= 0) {
		if (read_pipe(ctx, fds[0], buffer, sizeof(buffer)))
			MN_EXPECT(ctx, !memcmp(buffer, pipe_message,
					       sizeof(buffer)),
				  "the message written by the other process");
		close(fds[0]);
	}
	mn_broker_finish(ctx, &client, 1);
}

static void object_client(struct mn_ctx *ctx)
{
	struct IpczBoxContents contents = { .size = sizeof(contents) };
	IpczHandle broker, box;
	uintptr_t value = 0;
	int fd;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	if (mn_expect_str(ctx, broker, "object", &box, 1) &&
	    MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			     ipcz.Unbox(box, 0, NULL, &contents), "Unbox")) {
		MN_EXPECT(ctx, contents.type == IPCZ_BOX_TYPE_DRIVER_OBJECT,
			  "type %u", (unsigned int)contents.type);
		if (mn_variant.descriptor_unwrap) {
			if (MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
					     mn_variant.descriptor_unwrap(
						     contents.object
							     .driver_object,
						     &fd),
					     "unwrapping the descriptor")) {
				MN_EXPECT(ctx, write(fd, pipe_message,
						     sizeof(pipe_message)) ==
					  (ssize_t)sizeof(pipe_message),
					  "write into the received pipe");
				close(fd);
			}
		} else {
			MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
					 ipcz_inprocess_test_object_value(
						 contents.object.driver_object,
						 &value),
					 "test object value");
			MN_EXPECT(ctx, value == TEST_OBJECT_VALUE,
				  "value 0x%lx", (unsigned long)value);
			mn_driver()->Close(contents.object.driver_object, 0,
					   NULL);
		}
	}
	mn_client_finish(ctx, broker);
}

MN_TEST(driver_objects_across_nodes)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, object_broker },
			   { "client", false, object_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/*
 * Many routes wandering: the broker opens eight pairs and sends both ends
 * of each around the ring of itself and its two clients, one end each way
 * round, two rounds each (the clients reach each other over a pair the
 * broker gave them). Every holder reads what has already arrived from the
 * other end, checks it is the next number, sends a few of its own and
 * passes the end on, so parcels flow both ways on every route while both
 * of its ends move. Back at the broker, each end must read the other's
 * whole stream, in order, once each, with nothing beyond it; and once the
 * routes are closed no node may hold a proxy.
 */

enum { WR_BROKER, WR_LEFT, WR_RIGHT, WR_NODES };

#define WR_ROUTES 8
#define WR_HOPS 6
#define WR_N 64

struct wr_envelope {
	uint32_t route;
	uint32_t end;		/* 0 goes broker, left, right; 1 the other way */
	uint32_t hop;		/* its holder is wr_holder(end, hop) */
	uint32_t expected;	/* next number due from the other end */
	uint32_t to_send;	/* next number this end sends */
};

static int wr_holder(uint32_t end, uint32_t hop)
{
	return (int)((end == 0 ? hop : 2 * hop) % WR_NODES);
}

/* How many ends arrive at `node` (every hop but the first, at the broker). */
static int wr_arrivals(int node)
{
	uint32_t end, hop;
	int count = 0;

	for (end = 0; end < 2; end++)
		for (hop = 1; hop <= WR_HOPS; hop++)
			count += wr_holder(end, hop) == node;
	return count * WR_ROUTES;
}

static uint32_t wr_value(uint32_t route, uint32_t end, uint32_t seq)
{
	return route << 24 | end << 20 | seq;
}

/* Reads the other end's numbers: what has arrived, or (`all`) the rest. */
static bool wr_read(struct mn_ctx *ctx, IpczHandle portal,
		    struct wr_envelope *env, bool all)
{
	uint32_t value, want;

	while (all ? env->expected < WR_N :
		     mn_status(portal).num_local_parcels > 0) {
		if (!mn_get_u32(ctx, portal, &value, "wandering stream"))
			return false;
		want = wr_value(env->route, 1 - env->end, env->expected);
		if (value != want) {
			MN_FAIL(ctx, "route %u end %u: 0x%x where 0x%x was due",
				env->route, env->end, value, want);
			return false;
		}
		env->expected++;
	}
	return true;
}

static void wr_send(struct mn_ctx *ctx, IpczHandle portal,
		    struct wr_envelope *env, uint32_t count)
{
	for (; count > 0 && env->to_send < WR_N; count--, env->to_send++)
		MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
				 mn_put_u32(portal,
					    wr_value(env->route, env->end,
						     env->to_send)),
				 "Put on a wandering end");
}

/* Reads what arrived, sends a few and passes the end to its next holder. */
static void wr_pass(struct mn_ctx *ctx, const IpczHandle *to,
		    IpczHandle portal, struct wr_envelope *env)
{
	if (!wr_read(ctx, portal, env, false))
		return;
	wr_send(ctx, portal, env, 3);
	env->hop++;
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 ipcz.Put(to[wr_holder(env->end, env->hop)], env,
				  sizeof(*env), &portal, 1, IPCZ_NO_FLAGS,
				  NULL),
			 "Put of a wandering end");
}

/* Ends home at the broker, to be drained after every hop. */
struct wr_home {
	IpczHandle portal[WR_ROUTES][2];
	struct wr_envelope env[WR_ROUTES][2];
};

/*
 * An end arriving at this node, or (false) a client's "done": a client
 * that made all its hops may say so while the broker still waits for ends
 * from the other one.
 */
static bool wr_arrive(struct mn_ctx *ctx, const IpczHandle *to,
		      IpczHandle from, struct wr_home *home)
{
	struct wr_envelope env;
	size_t num_bytes = sizeof(env), num_handles = 1;
	IpczHandle portal;

	if (!MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			      mn_get(ctx, from, &env, &num_bytes, &portal,
				     &num_handles, "wandering end"),
			      "a wandering end"))
		return true;
	if (num_bytes == 4 && num_handles == 0 && !memcmp(&env, "done", 4))
		return false;
	if (num_bytes != sizeof(env) || num_handles != 1 ||
	    env.route >= WR_ROUTES || env.end > 1 || env.hop == 0 ||
	    env.hop > WR_HOPS || wr_holder(env.end, env.hop) != ctx->index) {
		MN_FAIL(ctx, "a bad wandering envelope");
		return true;
	}
	if (env.hop < WR_HOPS) {
		wr_pass(ctx, to, portal, &env);
		return true;
	}
	wr_send(ctx, portal, &env, WR_N);
	home->portal[env.route][env.end] = portal;
	home->env[env.route][env.end] = env;
	return true;
}

/* Both ends of a route home: whole streams, once each, nothing more. */
static void wr_drain(struct mn_ctx *ctx, struct wr_home *home, uint32_t r)
{
	uint32_t end;

	for (end = 0; end < 2; end++) {
		if (home->portal[r][end] == IPCZ_INVALID_HANDLE)
			return;
		if (wr_read(ctx, home->portal[r][end], &home->env[r][end],
			    true))
			MN_EXPECT(ctx, mn_status(home->portal[r][end])
						       .num_local_parcels == 0,
				  "route %u end %u: nothing beyond the stream",
				  r, end);
	}
	/* Closure carries end 1's exact length: nothing may follow it. */
	mn_close(ctx, home->portal[r][1]);
	if (mn_wait_status(ctx, home->portal[r][0],
			   IPCZ_PORTAL_STATUS_PEER_CLOSED, "a route home"))
		MN_EXPECT(ctx, mn_status(home->portal[r][0])
					       .num_local_parcels == 0,
			  "route %u: nothing after end 1's stream", r);
	mn_close(ctx, home->portal[r][0]);
}

/* The broker starts every end on its way (its hop 0). */
static void wr_start(struct mn_ctx *ctx, const IpczHandle *to)
{
	struct wr_envelope env = { 0 };
	IpczHandle ends[2];
	uint32_t r;

	for (r = 0; r < WR_ROUTES; r++) {
		open_pair(ctx, &ends[0], &ends[1]);
		for (env.end = 0; env.end < 2; env.end++) {
			env.route = r;
			env.hop = env.expected = env.to_send = 0;
			wr_pass(ctx, to, ends[env.end], &env);
		}
	}
}

static void wr_role(struct mn_ctx *ctx)
{
	static struct wr_home homes[WR_NODES];
	struct wr_home *home = &homes[ctx->index];
	IpczHandle to[WR_NODES], listen[2], left, right;
	int arrivals = wr_arrivals(ctx->index), from, i;
	bool done[2] = { false, false };
	uint32_t r;

	memset(home, 0, sizeof(*home));
	if (ctx->index == WR_BROKER) {
		MN_REQUIRE(ctx, mn_connect_broker(ctx, 2, &to[WR_LEFT]));
		open_pair(ctx, &left, &right);
		mn_put_str(to[WR_LEFT], "side", &left, 1);
		mn_put_str(to[WR_RIGHT], "side", &right, 1);
		listen[0] = to[WR_LEFT];
		listen[1] = to[WR_RIGHT];
		wr_start(ctx, to);
	} else {
		MN_REQUIRE(ctx, mn_connect_client(ctx, ctx->index - 1,
					       &to[WR_BROKER]));
		mn_expect_str(ctx, to[WR_BROKER], "side",
			      &to[WR_LEFT + WR_RIGHT - ctx->index], 1);
		listen[0] = to[WR_BROKER];
		listen[1] = to[WR_LEFT + WR_RIGHT - ctx->index];
	}
	while (arrivals-- > 0 && !ctx->failed) {
		from = mn_wait_any(ctx, listen, 2, "a wandering end");
		if (from < 0)
			break;
		if (!wr_arrive(ctx, to, listen[from], home)) {
			done[from] = true;
			arrivals++;
		}
	}
	for (r = 0; r < WR_ROUTES && ctx->index == WR_BROKER; r++)
		wr_drain(ctx, home, r);
	/*
	 * Every route is closed once the broker drained it (a client waits
	 * for that), so no proxy may stay: not on a route, nor one left
	 * waiting for a bypass step or a closure that cannot come.
	 */
	mn_wait_no_proxies(ctx, "after the wandering");
	if (ctx->index == WR_BROKER) {
		for (i = 0; i < 2; i++)
			if (!done[i])
				mn_expect_str(ctx, listen[i], "done", NULL, 0);
		mn_close(ctx, listen[0]);
		mn_close(ctx, listen[1]);
	} else {
		mn_close(ctx, listen[1]);
		mn_client_finish(ctx, to[WR_BROKER]);
	}
}

MN_TEST(many_routes_wandering)
{
	static const struct mn_test test = {
		.num_nodes = WR_NODES,
		.nodes = { [WR_BROKER] = { "broker", true, wr_role },
			   [WR_LEFT] = { "left", false, wr_role },
			   [WR_RIGHT] = { "right", false, wr_role } },
		.num_links = 2,
		.links = { { WR_BROKER, WR_LEFT }, { WR_BROKER, WR_RIGHT } },
	};
	MN_RUN(test);
}

TEST_HARNESS_MAIN
