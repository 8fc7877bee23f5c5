// SPDX-License-Identifier: MIT
/*
 * Node connection across nodes: ConnectNode()'s flags and their validation,
 * initial portals, parcels put before the handshake ends, allocation
 * delegation, broker sharing (referrals) and broker-to-broker links.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "tests/multinode/mn_test.h"

/*
 * Flag validation, as upstream: bad combinations are refused, and the
 * transport stays the caller's, usable for a valid connection after.
 */

static void validation_broker(struct mn_ctx *ctx)
{
	static const IpczConnectNodeFlags refused[] = {
		IPCZ_CONNECT_NODE_SHARE_BROKER,
		IPCZ_CONNECT_NODE_INHERIT_BROKER,
		IPCZ_CONNECT_NODE_TO_BROKER | IPCZ_CONNECT_NODE_INHERIT_BROKER,
		IPCZ_CONNECT_NODE_TO_BROKER | IPCZ_CONNECT_NODE_SHARE_BROKER,
		IPCZ_CONNECT_NODE_SHARE_BROKER |
			IPCZ_CONNECT_NODE_TO_ALLOCATION_DELEGATE,
	};
	IpczHandle portals[13];
	IpczDriverHandle transport = mn_transport(ctx, 0);
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		MN_EXPECT_RESULT(ctx, IPCZ_RESULT_INVALID_ARGUMENT,
				 mn_connect(ctx, 0, 1, refused[i], portals),
				 "broker ConnectNode with a refused flag set");
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_INVALID_ARGUMENT,
			 mn_connect(ctx, 0, 0, IPCZ_NO_FLAGS, portals),
			 "ConnectNode with no initial portal");
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_INVALID_ARGUMENT,
			 mn_connect(ctx, 0, 1, IPCZ_NO_FLAGS, NULL),
			 "ConnectNode with no portal array");
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OUT_OF_RANGE,
			 mn_connect(ctx, 0, 13, IPCZ_NO_FLAGS, portals),
			 "ConnectNode with 13 initial portals");
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_INVALID_ARGUMENT,
			 ipcz.ConnectNode(ctx->node, IPCZ_INVALID_DRIVER_HANDLE,
					  1, IPCZ_NO_FLAGS, NULL, portals),
			 "ConnectNode without a transport");
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_INVALID_ARGUMENT,
			 ipcz.ConnectNode(IPCZ_INVALID_HANDLE, transport, 1,
					  IPCZ_NO_FLAGS, NULL, portals),
			 "ConnectNode without a node");
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 0, 1, IPCZ_NO_FLAGS, portals),
			  "broker ConnectNode after refusals");
	mn_ping(ctx, portals[0]);
	mn_close(ctx, portals[0]);
}

static void validation_client(struct mn_ctx *ctx)
{
	static const IpczConnectNodeFlags refused[] = {
		IPCZ_NO_FLAGS,
		IPCZ_CONNECT_NODE_TO_ALLOCATION_DELEGATE,
		IPCZ_CONNECT_NODE_TO_BROKER | IPCZ_CONNECT_NODE_SHARE_BROKER,
		IPCZ_CONNECT_NODE_TO_BROKER | IPCZ_CONNECT_NODE_INHERIT_BROKER,
		IPCZ_CONNECT_NODE_SHARE_BROKER |
			IPCZ_CONNECT_NODE_INHERIT_BROKER,
		IPCZ_CONNECT_NODE_TO_BROKER | IPCZ_CONNECT_NODE_SHARE_BROKER |
			IPCZ_CONNECT_NODE_INHERIT_BROKER,
	};
	IpczHandle portal;
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		MN_EXPECT_RESULT(ctx, IPCZ_RESULT_INVALID_ARGUMENT,
				 mn_connect(ctx, 0, 1, refused[i], &portal),
				 "non-broker ConnectNode with bad flags");
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 0, 1, IPCZ_CONNECT_NODE_TO_BROKER,
				     &portal),
			  "non-broker ConnectNode after refusals");
	mn_pong(ctx, portal);
	mn_close(ctx, portal);
}

MN_TEST(connect_flag_validation)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, validation_broker },
			   { "client", false, validation_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/* Broker to non-broker: parcels of many sizes, both ways. */

static const size_t parcel_sizes[] = { 0, 1, 63, 4096, 65536, 300000,
				       1 << 20 };
#define NUM_PARCEL_SIZES (sizeof(parcel_sizes) / sizeof(parcel_sizes[0]))

static uint8_t pattern_byte(size_t i, size_t size)
{
	return (uint8_t)(i * 31 + size * 7 + (i >> 8));
}

static void put_patterned(struct mn_ctx *ctx, IpczHandle portal, size_t size)
{
	uint8_t *data = malloc(size ? size : 1);
	size_t i;

	for (i = 0; i < size; i++)
		data[i] = pattern_byte(i, size);
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 ipcz.Put(portal, data, size, NULL, 0, IPCZ_NO_FLAGS,
				  NULL),
			 "Put of a patterned parcel");
	free(data);
}

static bool get_patterned(struct mn_ctx *ctx, IpczHandle portal,
			  size_t size)
{
	size_t capacity = size + 16, got = capacity, handles = 0, i;
	uint8_t *data = malloc(capacity);
	IpczResult result = mn_get(ctx, portal, data, &got, NULL, &handles,
				   "patterned parcel");
	bool ok = result == IPCZ_RESULT_OK && got == size;

	if (result == IPCZ_RESULT_OK && got != size)
		MN_FAIL(ctx, "expected a parcel of %zu bytes, got %zu", size,
			got);
	else if (result != IPCZ_RESULT_DEADLINE_EXCEEDED)
		MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK, result, "Get");
	for (i = 0; ok && i < size; i++) {
		if (data[i] != pattern_byte(i, size)) {
			MN_FAIL(ctx, "parcel of %zu bytes differs at %zu",
				size, i);
			ok = false;
		}
	}
	free(data);
	return ok;
}

static void exchange_sizes(struct mn_ctx *ctx, IpczHandle portal)
{
	size_t i;

	for (i = 0; i < NUM_PARCEL_SIZES; i++)
		put_patterned(ctx, portal, parcel_sizes[i]);
	for (i = 0; i < NUM_PARCEL_SIZES; i++)
		if (!get_patterned(ctx, portal, parcel_sizes[i]))
			return;
}

static void sizes_broker(struct mn_ctx *ctx)
{
	IpczHandle portal;

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 0, 1, IPCZ_NO_FLAGS, &portal),
			  "ConnectNode");
	exchange_sizes(ctx, portal);
	mn_ping(ctx, portal);
	mn_close(ctx, portal);
}

static void sizes_client(struct mn_ctx *ctx)
{
	IpczHandle portal;

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 0, 1, IPCZ_CONNECT_NODE_TO_BROKER,
				     &portal),
			  "ConnectNode");
	exchange_sizes(ctx, portal);
	mn_pong(ctx, portal);
	/* The broker closes first: our side then sees its closure. */
	mn_wait_status(ctx, portal, IPCZ_PORTAL_STATUS_DEAD, "broker closed");
	mn_close(ctx, portal);
}

MN_TEST(broker_to_non_broker_parcel_sizes)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, sizes_broker },
			   { "client", false, sizes_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/* TO_ALLOCATION_DELEGATE: the client's pool memory comes via the broker. */

static void delegate_client(struct mn_ctx *ctx)
{
	IpczHandle portal;

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 0, 1,
				     IPCZ_CONNECT_NODE_TO_BROKER |
				     IPCZ_CONNECT_NODE_TO_ALLOCATION_DELEGATE,
				     &portal),
			  "ConnectNode TO_BROKER|TO_ALLOCATION_DELEGATE");
	exchange_sizes(ctx, portal);
	mn_pong(ctx, portal);
	mn_wait_status(ctx, portal, IPCZ_PORTAL_STATUS_DEAD, "broker closed");
	mn_close(ctx, portal);
}

MN_TEST(to_allocation_delegate)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, sizes_broker },
			   { "client", false, delegate_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/*
 * Initial portals: any count both sides agree on works; where the counts
 * differ, the surplus portals of the larger side see their peer closed.
 */

static size_t initial_count(const struct mn_ctx *ctx, int client)
{
	/* Broker and client counts for the clients 1, 2, 3 of the test. */
	static const size_t counts[3][2] = { { 1, 1 }, { 12, 12 }, { 2, 5 } };

	return counts[client - 1][ctx->index == 0 ? 0 : 1];
}

static void check_initial(struct mn_ctx *ctx, IpczHandle *portals,
			  size_t ours, size_t theirs, bool lead)
{
	size_t shared = ours < theirs ? ours : theirs, i;
	char text[32];

	for (i = 0; i < shared; i++) {
		snprintf(text, sizeof(text), "portal %zu", i);
		if (lead)
			MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
					 mn_put_str(portals[i], text, NULL, 0),
					 "Put on an initial portal");
		else
			mn_expect_str(ctx, portals[i], text, NULL, 0);
	}
	for (i = shared; i < ours; i++)
		mn_wait_status(ctx, portals[i],
			       IPCZ_PORTAL_STATUS_PEER_CLOSED |
			       IPCZ_PORTAL_STATUS_DEAD,
			       "surplus initial portal");
	for (i = shared; i < ours; i++)
		MN_EXPECT_RESULT(ctx, IPCZ_RESULT_NOT_FOUND,
				 mn_put_str(portals[i], "x", NULL, 0),
				 "Put on a surplus initial portal");
}

static void initial_broker(struct mn_ctx *ctx)
{
	IpczHandle portals[3][12];
	int c;
	size_t i;

	for (c = 1; c <= 3; c++)
		MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
				  mn_connect(ctx, c - 1, initial_count(ctx, c),
					     IPCZ_NO_FLAGS, portals[c - 1]),
				  "broker ConnectNode");
	for (c = 1; c <= 3; c++) {
		size_t ours = initial_count(ctx, c);
		struct mn_ctx peer = { .index = c };

		check_initial(ctx, portals[c - 1], ours,
			      initial_count(&peer, c), true);
		/* Each client confirms on its portal 0 that all arrived. */
		mn_expect_str(ctx, portals[c - 1][0], "all", NULL, 0);
		for (i = 0; i < ours; i++)
			mn_close(ctx, portals[c - 1][i]);
	}
}

static void initial_client(struct mn_ctx *ctx)
{
	IpczHandle portals[12];
	struct mn_ctx broker = { .index = 0 };
	size_t ours = initial_count(ctx, ctx->index), i;

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, ctx->index - 1, ours,
				     IPCZ_CONNECT_NODE_TO_BROKER, portals),
			  "client ConnectNode");
	check_initial(ctx, portals, ours, initial_count(&broker, ctx->index),
		      false);
	mn_put_str(portals[0], "all", NULL, 0);
	mn_wait_status(ctx, portals[0], IPCZ_PORTAL_STATUS_DEAD,
		       "broker closed");
	for (i = 0; i < ours; i++)
		mn_close(ctx, portals[i]);
}

MN_TEST(initial_portal_counts)
{
	static const struct mn_test test = {
		.num_nodes = 4,
		.nodes = { { "broker", true, initial_broker },
			   { "client-1", false, initial_client },
			   { "client-12", false, initial_client },
			   { "client-5-of-2", false, initial_client } },
		.num_links = 3,
		.links = { { 0, 1 }, { 0, 2 }, { 0, 3 } },
	};
	MN_RUN(test);
}

/* The broker has more initial portals than the client this time. */

static void surplus_broker(struct mn_ctx *ctx)
{
	IpczHandle portals[5];
	size_t i;

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 0, 5, IPCZ_NO_FLAGS, portals),
			  "broker ConnectNode");
	check_initial(ctx, portals, 5, 2, true);
	mn_expect_str(ctx, portals[0], "all", NULL, 0);
	for (i = 0; i < 5; i++)
		mn_close(ctx, portals[i]);
}

static void surplus_client(struct mn_ctx *ctx)
{
	IpczHandle portals[2];

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 0, 2, IPCZ_CONNECT_NODE_TO_BROKER,
				     portals),
			  "client ConnectNode");
	check_initial(ctx, portals, 2, 5, false);
	mn_put_str(portals[0], "all", NULL, 0);
	mn_wait_status(ctx, portals[0], IPCZ_PORTAL_STATUS_DEAD,
		       "broker closed");
	mn_close(ctx, portals[0]);
	mn_close(ctx, portals[1]);
}

MN_TEST(surplus_broker_portals)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, surplus_broker },
			   { "client", false, surplus_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/*
 * Parcels put before the handshake ends (the broker's before the client
 * even calls ConnectNode(), the client's right after it) are delivered
 * once it completes, in order, handles included.
 */

static void early_puts(struct mn_ctx *ctx, IpczHandle portal,
		       const char *who)
{
	IpczHandle near, far;
	char text[32];
	int i;

	for (i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "early %s %d", who, i);
		MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
				 mn_put_str(portal, text, NULL, 0),
				 "Put before the handshake");
	}
	ipcz.OpenPortals(ctx->node, IPCZ_NO_FLAGS, NULL, &near, &far);
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 mn_put_str(portal, "early portal", &far, 1),
			 "Put of a portal before the handshake");
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 mn_put_str(near, "through the early portal", NULL, 0),
			 "Put into the portal in flight");
	mn_close(ctx, near);
}

static void early_gets(struct mn_ctx *ctx, IpczHandle portal,
		       const char *who)
{
	IpczHandle received;
	char text[32];
	int i;

	for (i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "early %s %d", who, i);
		if (!mn_expect_str(ctx, portal, text, NULL, 0))
			return;
	}
	if (!mn_expect_str(ctx, portal, "early portal", &received, 1))
		return;
	mn_expect_str(ctx, received, "through the early portal", NULL, 0);
	mn_wait_status(ctx, received, IPCZ_PORTAL_STATUS_DEAD,
		       "early portal's peer closed");
	mn_close(ctx, received);
}

static void early_broker(struct mn_ctx *ctx)
{
	IpczHandle portal;

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 0, 1, IPCZ_NO_FLAGS, &portal),
			  "ConnectNode");
	early_puts(ctx, portal, "broker");
	early_gets(ctx, portal, "client");
	mn_close(ctx, portal);
}

static void early_client(struct mn_ctx *ctx)
{
	IpczHandle portal;

	/* Let the broker put its parcels before we even connect. */
	mn_sleep_ms(ctx, 50);
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 0, 1, IPCZ_CONNECT_NODE_TO_BROKER,
				     &portal),
			  "ConnectNode");
	early_puts(ctx, portal, "client");
	early_gets(ctx, portal, "broker");
	mn_wait_status(ctx, portal, IPCZ_PORTAL_STATUS_DEAD, "broker closed");
	mn_close(ctx, portal);
}

MN_TEST(parcels_before_handshake)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, early_broker },
			   { "client", false, early_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/*
 * A node whose peer drops the transport without a handshake sees its
 * initial portals' peers closed; both directions.
 */

static void connect_then_expect_closure(struct mn_ctx *ctx,
					IpczConnectNodeFlags flags)
{
	IpczHandle portals[2];

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 0, 2, flags, portals),
			  "ConnectNode");
	mn_wait_status(ctx, portals[0],
		       IPCZ_PORTAL_STATUS_PEER_CLOSED | IPCZ_PORTAL_STATUS_DEAD,
		       "no handshake: portal 0");
	mn_wait_status(ctx, portals[1],
		       IPCZ_PORTAL_STATUS_PEER_CLOSED | IPCZ_PORTAL_STATUS_DEAD,
		       "no handshake: portal 1");
	mn_close(ctx, portals[0]);
	mn_close(ctx, portals[1]);
}

static void lonely_broker(struct mn_ctx *ctx)
{
	connect_then_expect_closure(ctx, IPCZ_NO_FLAGS);
}

static void lonely_client(struct mn_ctx *ctx)
{
	connect_then_expect_closure(ctx, IPCZ_CONNECT_NODE_TO_BROKER);
}

static void dropping_peer(struct mn_ctx *ctx)
{
	mn_sleep_ms(ctx, 20);
	mn_drop_transport(ctx, 0);
}

MN_TEST(broker_sees_closure_without_handshake)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, lonely_broker },
			   { "client", false, dropping_peer } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

MN_TEST(client_sees_closure_without_handshake)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, dropping_peer },
			   { "client", false, lonely_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/*
 * SHARE_BROKER and INHERIT_BROKER: a client refers two new nodes to its
 * broker. Each talks to the referrer over its initial portal, the two talk
 * to each other over a pair the referrer made (an introduction through the
 * broker), and one talks to the broker over a portal the broker sent via
 * the referrer.
 */

enum { REF_BROKER, REF_REFERRER, REF_LEFT, REF_RIGHT };

static void referral_broker(struct mn_ctx *ctx)
{
	IpczHandle portal, mine, theirs;

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 0, 1, IPCZ_NO_FLAGS, &portal),
			  "broker ConnectNode");
	ipcz.OpenPortals(ctx->node, IPCZ_NO_FLAGS, NULL, &mine, &theirs);
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 mn_put_str(portal, "for left", &theirs, 1),
			 "Put of a portal for the referred node");
	mn_ping(ctx, mine);
	mn_expect_str(ctx, portal, "done", NULL, 0);
	mn_close(ctx, mine);
	mn_close(ctx, portal);
}

static void referral_referrer(struct mn_ctx *ctx)
{
	IpczHandle broker, left, right, x, y, from_broker;

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 0, 1, IPCZ_CONNECT_NODE_TO_BROKER,
				     &broker),
			  "ConnectNode TO_BROKER");
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 1, 1, IPCZ_CONNECT_NODE_SHARE_BROKER,
				     &left),
			  "ConnectNode SHARE_BROKER (left)");
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 2, 1, IPCZ_CONNECT_NODE_SHARE_BROKER,
				     &right),
			  "ConnectNode SHARE_BROKER (right)");
	mn_ping(ctx, left);
	mn_ping(ctx, right);
	ipcz.OpenPortals(ctx->node, IPCZ_NO_FLAGS, NULL, &x, &y);
	mn_put_str(left, "x", &x, 1);
	mn_put_str(right, "y", &y, 1);
	if (mn_expect_str(ctx, broker, "for left", &from_broker, 1))
		mn_put_str(left, "from broker", &from_broker, 1);
	mn_expect_str(ctx, left, "done", NULL, 0);
	mn_expect_str(ctx, right, "done", NULL, 0);
	mn_put_str(broker, "done", NULL, 0);
	mn_close(ctx, left);
	mn_close(ctx, right);
	mn_close(ctx, broker);
}

static void referral_left(struct mn_ctx *ctx)
{
	IpczHandle referrer, x, broker;

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 1, 1,
				     IPCZ_CONNECT_NODE_INHERIT_BROKER,
				     &referrer),
			  "ConnectNode INHERIT_BROKER");
	mn_pong(ctx, referrer);
	MN_REQUIRE(ctx, mn_expect_str(ctx, referrer, "x", &x, 1));
	mn_ping(ctx, x);
	if (mn_expect_str(ctx, referrer, "from broker", &broker, 1)) {
		mn_pong(ctx, broker);
		mn_close(ctx, broker);
	}
	mn_close(ctx, x);
	mn_put_str(referrer, "done", NULL, 0);
	mn_wait_status(ctx, referrer, IPCZ_PORTAL_STATUS_DEAD,
		       "referrer closed");
	mn_close(ctx, referrer);
}

static void referral_right(struct mn_ctx *ctx)
{
	IpczHandle referrer, y;

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 2, 1,
				     IPCZ_CONNECT_NODE_INHERIT_BROKER,
				     &referrer),
			  "ConnectNode INHERIT_BROKER");
	mn_pong(ctx, referrer);
	MN_REQUIRE(ctx, mn_expect_str(ctx, referrer, "y", &y, 1));
	mn_pong(ctx, y);
	mn_wait_status(ctx, y, IPCZ_PORTAL_STATUS_DEAD, "left closed x");
	mn_close(ctx, y);
	mn_put_str(referrer, "done", NULL, 0);
	mn_wait_status(ctx, referrer, IPCZ_PORTAL_STATUS_DEAD,
		       "referrer closed");
	mn_close(ctx, referrer);
}

MN_TEST(share_and_inherit_broker)
{
	static const struct mn_test test = {
		.num_nodes = 4,
		.nodes = { [REF_BROKER] = { "broker", true, referral_broker },
			   [REF_REFERRER] = { "referrer", false,
					      referral_referrer },
			   [REF_LEFT] = { "left", false, referral_left },
			   [REF_RIGHT] = { "right", false, referral_right } },
		.num_links = 3,
		.links = { { REF_BROKER, REF_REFERRER },
			   { REF_REFERRER, REF_LEFT },
			   { REF_REFERRER, REF_RIGHT } },
	};
	MN_RUN(test);
}

/*
 * Broker to broker: two networks joined by their brokers (both connect
 * with TO_BROKER). A client of one network then talks to a client of the
 * other over a portal sent across both brokers.
 */

enum { B2B_BROKER1, B2B_BROKER2, B2B_CLIENT1, B2B_CLIENT2 };

static void b2b_broker(struct mn_ctx *ctx)
{
	int client_link = ctx->index == B2B_BROKER1 ? 1 : 2;
	IpczHandle other, client, portal;

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 0, 1, IPCZ_CONNECT_NODE_TO_BROKER,
				     &other),
			  "broker-to-broker ConnectNode");
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, client_link, 1, IPCZ_NO_FLAGS,
				     &client),
			  "broker ConnectNode to its client");
	if (ctx->index == B2B_BROKER1) {
		mn_ping(ctx, other);
		if (mn_expect_str(ctx, client, "to the other network",
				  &portal, 1))
			mn_put_str(other, "for your client", &portal, 1);
	} else {
		mn_pong(ctx, other);
		if (mn_expect_str(ctx, other, "for your client", &portal, 1))
			mn_put_str(client, "from the other network", &portal,
				   1);
	}
	mn_expect_str(ctx, client, "done", NULL, 0);
	mn_put_str(other, "done", NULL, 0);
	mn_expect_str(ctx, other, "done", NULL, 0);
	mn_close(ctx, client);
	mn_close(ctx, other);
}

static void b2b_client(struct mn_ctx *ctx)
{
	IpczHandle broker, x, y;
	uint32_t i, value;

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, ctx->index == B2B_CLIENT1 ? 1 : 2, 1,
				     IPCZ_CONNECT_NODE_TO_BROKER, &broker),
			  "client ConnectNode");
	if (ctx->index == B2B_CLIENT1) {
		ipcz.OpenPortals(ctx->node, IPCZ_NO_FLAGS, NULL, &x, &y);
		mn_put_str(broker, "to the other network", &y, 1);
		for (i = 0; i < 50; i++)
			mn_put_u32(x, i);
		for (i = 0; i < 50; i++) {
			if (!mn_get_u32(ctx, x, &value, "reply"))
				break;
			MN_EXPECT(ctx, value == 1000 + i, "got %u at %u",
				  value, i);
		}
		mn_close(ctx, x);
	} else if (mn_expect_str(ctx, broker, "from the other network", &y,
				 1)) {
		for (i = 0; i < 50; i++) {
			if (!mn_get_u32(ctx, y, &value, "stream"))
				break;
			MN_EXPECT(ctx, value == i, "got %u at %u", value, i);
			mn_put_u32(y, 1000 + i);
		}
		mn_wait_status(ctx, y, IPCZ_PORTAL_STATUS_DEAD,
			       "cross-network peer closed");
		mn_close(ctx, y);
	}
	mn_put_str(broker, "done", NULL, 0);
	mn_wait_status(ctx, broker, IPCZ_PORTAL_STATUS_DEAD, "broker closed");
	mn_close(ctx, broker);
}

MN_TEST(broker_to_broker)
{
	static const struct mn_test test = {
		.num_nodes = 4,
		.nodes = { [B2B_BROKER1] = { "broker1", true, b2b_broker },
			   [B2B_BROKER2] = { "broker2", true, b2b_broker },
			   [B2B_CLIENT1] = { "client1", false, b2b_client },
			   [B2B_CLIENT2] = { "client2", false, b2b_client } },
		.num_links = 3,
		.links = { { B2B_BROKER1, B2B_BROKER2 },
			   { B2B_BROKER1, B2B_CLIENT1 },
			   { B2B_BROKER2, B2B_CLIENT2 } },
	};
	MN_RUN(test);
}

/*
 * A peer that answers the handshake with garbage: the node drops the link
 * (its initial portals see their peer closed) and closes the transport,
 * which the garbage sender sees as a transport error. Both ways: garbage
 * to a broker and to a non-broker.
 */

static atomic_int garbage_error;
static atomic_int garbage_deactivated;

static IpczResult IPCZ_API garbage_activity(IpczHandle listener,
					    const void *data,
					    size_t num_bytes,
					    const IpczDriverHandle *handles,
					    size_t num_handles,
					    IpczTransportActivityFlags flags,
					    const void *options)
{
	size_t i;

	if (flags & IPCZ_TRANSPORT_ACTIVITY_ERROR)
		atomic_store(&garbage_error, 1);
	if (flags & IPCZ_TRANSPORT_ACTIVITY_DEACTIVATED)
		atomic_store(&garbage_deactivated, 1);
	/* The victim's own handshake: we take its handles and drop them. */
	for (i = 0; i < num_handles; i++)
		mn_driver()->Close(handles[i], 0, NULL);
	return IPCZ_RESULT_OK;
}

static bool wait_flag(struct mn_ctx *ctx, atomic_int *flag, const char *what)
{
	int64_t deadline = mn_now_ms() + mn_timeout_ms();

	while (!atomic_load(flag)) {
		if (mn_other_failed(ctx))
			return false;
		if (mn_now_ms() > deadline) {
			MN_FAIL(ctx, "%s: not within %d ms", what,
				mn_timeout_ms());
			return false;
		}
		mn_pause(ctx);
	}
	return true;
}

static void garbage_sender(struct mn_ctx *ctx)
{
	static const char garbage[] = "this will never be a handshake message";
	const struct IpczDriver *driver = mn_driver();
	IpczDriverHandle transport = mn_transport(ctx, 0);

	atomic_store(&garbage_error, 0);
	atomic_store(&garbage_deactivated, 0);
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  driver->ActivateTransport(transport, 1,
						    garbage_activity, 0, NULL),
			  "ActivateTransport");
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 driver->Transmit(transport, garbage, sizeof(garbage),
					  NULL, 0, 0, NULL),
			 "Transmit of garbage");
	wait_flag(ctx, &garbage_error, "the node dropping our transport");
	driver->DeactivateTransport(transport, 0, NULL);
	wait_flag(ctx, &garbage_deactivated, "deactivation");
	mn_drop_transport(ctx, 0);
}

static void garbage_victim(struct mn_ctx *ctx)
{
	IpczHandle portal;

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 0, 1,
				     ctx->test->nodes[ctx->index].broker ?
				     IPCZ_NO_FLAGS :
				     IPCZ_CONNECT_NODE_TO_BROKER,
				     &portal),
			  "ConnectNode");
	mn_wait_status(ctx, portal,
		       IPCZ_PORTAL_STATUS_PEER_CLOSED | IPCZ_PORTAL_STATUS_DEAD,
		       "link dropped after garbage");
	mn_close(ctx, portal);
}

MN_TEST(broker_drops_garbage_handshake)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, garbage_victim },
			   { "garbage", false, garbage_sender } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

MN_TEST(client_drops_garbage_handshake)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "garbage", true, garbage_sender },
			   { "client", false, garbage_victim } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/*
 * Reconnection (upstream's ReconnectTest.BrokerNonBroker and BrokerBroker):
 * node 0, a broker, makes a new transport pair, sends one end boxed to
 * node 1 over their first connection and connects over the other; node 1
 * connects TO_BROKER over the end it received. The new connection
 * replaces the old one: the new portals work, and both old initial
 * portals see their peer closed. Node 1 is a non-broker (which starts
 * over with a new name) or a broker (the brokers drop their older link).
 */

static void reconnect_first_then(struct mn_ctx *ctx, bool sizes)
{
	const struct IpczDriver *driver = mn_driver();
	const IpczConnectNodeFlags flags = ctx->test->nodes[1].broker ?
		IPCZ_CONNECT_NODE_TO_BROKER : IPCZ_NO_FLAGS;
	struct IpczBoxContents contents = {
		.size = sizeof(contents),
		.type = IPCZ_BOX_TYPE_DRIVER_OBJECT,
	};
	IpczDriverHandle ours, theirs;
	IpczHandle old, fresh, box;

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 0, 1, flags, &old), "ConnectNode");
	mn_ping(ctx, old);
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  driver->CreateTransports(IPCZ_INVALID_DRIVER_HANDLE,
						   IPCZ_INVALID_DRIVER_HANDLE,
						   0, NULL, &ours, &theirs),
			  "CreateTransports");
	contents.object.driver_object = theirs;
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.Box(ctx->node, &contents, 0, NULL, &box),
			  "Box of a transport");
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 mn_put_str(old, "transport", &box, 1),
			 "Put of a boxed transport");
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.ConnectNode(ctx->node, ours, 1, flags, NULL,
					   &fresh),
			  "ConnectNode over the new transport");
	mn_ping(ctx, fresh);
	if (sizes)
		exchange_sizes(ctx, fresh);
	mn_wait_status(ctx, old, IPCZ_PORTAL_STATUS_PEER_CLOSED,
		       "the old link dropped");
	mn_expect_str(ctx, fresh, "done", NULL, 0);
	mn_close(ctx, old);
	mn_close(ctx, fresh);
}

static void reconnect_first(struct mn_ctx *ctx)
{
	reconnect_first_then(ctx, false);
}

static void reconnect_first_sizes(struct mn_ctx *ctx)
{
	reconnect_first_then(ctx, true);
}

static void reconnect_second_with(struct mn_ctx *ctx,
				  IpczConnectNodeFlags flags, bool sizes)
{
	struct IpczBoxContents contents = { .size = sizeof(contents) };
	IpczHandle old, fresh, box;

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 0, 1, flags, &old), "ConnectNode");
	mn_pong(ctx, old);
	MN_REQUIRE(ctx, mn_expect_str(ctx, old, "transport", &box, 1));
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.Unbox(box, 0, NULL, &contents), "Unbox");
	MN_REQUIRE(ctx, contents.type == IPCZ_BOX_TYPE_DRIVER_OBJECT,
		   "box type %u", (unsigned int)contents.type);
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.ConnectNode(ctx->node,
					   contents.object.driver_object, 1,
					   flags, NULL, &fresh),
			  "ConnectNode over the received transport");
	mn_pong(ctx, fresh);
	if (sizes)
		exchange_sizes(ctx, fresh);
	mn_wait_status(ctx, old, IPCZ_PORTAL_STATUS_PEER_CLOSED,
		       "the old link dropped");
	mn_put_str(fresh, "done", NULL, 0);
	mn_wait_status(ctx, fresh, IPCZ_PORTAL_STATUS_DEAD, "node 0 closed");
	mn_close(ctx, old);
	mn_close(ctx, fresh);
}

static void reconnect_second(struct mn_ctx *ctx)
{
	reconnect_second_with(ctx, IPCZ_CONNECT_NODE_TO_BROKER, false);
}

/* Both connections delegate the client's allocations to the broker. */
static void reconnect_second_delegating(struct mn_ctx *ctx)
{
	reconnect_second_with(ctx, IPCZ_CONNECT_NODE_TO_BROKER |
			      IPCZ_CONNECT_NODE_TO_ALLOCATION_DELEGATE, true);
}

MN_TEST(reconnect_over_a_sent_transport)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, reconnect_first },
			   { "client", false, reconnect_second } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

MN_TEST(reconnect_to_an_allocation_delegate)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, reconnect_first_sizes },
			   { "client", false, reconnect_second_delegating } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

MN_TEST(brokers_reconnect_over_a_sent_transport)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker0", true, reconnect_first },
			   { "broker1", true, reconnect_second } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/*
 * Reconnection undoes the introductions too (upstream's
 * TransitiveReconnection): clients A and B talk over a direct link the
 * broker introduced; A reconnects to the broker, which drops A's link to B
 * as well (the A-B portals see their peer closed), and a new A-B pair made
 * by A and passed on by the broker is direct again once the broker has
 * introduced A's new name to B.
 */
enum { TR_BROKER, TR_A, TR_B };

static void transitive_broker(struct mn_ctx *ctx)
{
	const struct IpczDriver *driver = mn_driver();
	struct IpczBoxContents contents = {
		.size = sizeof(contents),
		.type = IPCZ_BOX_TYPE_DRIVER_OBJECT,
	};
	IpczHandle clients[2], a, b, fresh, box, a_to_b;
	IpczDriverHandle ours, theirs;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 2, clients));
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.OpenPortals(ctx->node, 0, NULL, &a, &b),
			  "OpenPortals");
	mn_put_str(clients[0], "a", &a, 1);
	mn_put_str(clients[1], "b", &b, 1);
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  driver->CreateTransports(IPCZ_INVALID_DRIVER_HANDLE,
						   IPCZ_INVALID_DRIVER_HANDLE,
						   0, NULL, &ours, &theirs),
			  "CreateTransports");
	contents.object.driver_object = theirs;
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.Box(ctx->node, &contents, 0, NULL, &box),
			  "Box of a transport");
	mn_expect_str(ctx, clients[0], "ready", NULL, 0);
	mn_put_str(clients[0], "transport", &box, 1);
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.ConnectNode(ctx->node, ours, 1, IPCZ_NO_FLAGS,
					   NULL, &fresh),
			  "ConnectNode over the new transport");
	mn_ping(ctx, fresh);
	mn_wait_status(ctx, clients[0], IPCZ_PORTAL_STATUS_PEER_CLOSED,
		       "A's old link dropped");
	MN_REQUIRE(ctx, mn_expect_str(ctx, fresh, "to b", &a_to_b, 1));
	mn_put_str(clients[1], "from a", &a_to_b, 1);
	mn_expect_str(ctx, fresh, "bye", NULL, 0);
	mn_expect_str(ctx, clients[1], "bye", NULL, 0);
	mn_close(ctx, clients[0]);
	mn_close(ctx, clients[1]);
	mn_close(ctx, fresh);
}

static void transitive_a(struct mn_ctx *ctx)
{
	struct IpczBoxContents contents = { .size = sizeof(contents) };
	IpczHandle broker, fresh, to_b, box, mine, theirs;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	MN_REQUIRE(ctx, mn_expect_str(ctx, broker, "a", &to_b, 1));
	mn_wait_direct(ctx, to_b, true, "A-B before");
	mn_ping(ctx, to_b);
	mn_put_str(broker, "ready", NULL, 0);
	MN_REQUIRE(ctx, mn_expect_str(ctx, broker, "transport", &box, 1));
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.Unbox(box, 0, NULL, &contents), "Unbox");
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.ConnectNode(ctx->node,
					   contents.object.driver_object, 1,
					   IPCZ_CONNECT_NODE_TO_BROKER, NULL,
					   &fresh),
			  "ConnectNode over the received transport");
	mn_pong(ctx, fresh);
	mn_wait_status(ctx, broker, IPCZ_PORTAL_STATUS_PEER_CLOSED,
		       "the old broker link dropped");
	mn_wait_status(ctx, to_b, IPCZ_PORTAL_STATUS_PEER_CLOSED,
		       "the old link to B dropped");
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.OpenPortals(ctx->node, 0, NULL, &mine,
					   &theirs),
			  "OpenPortals");
	mn_put_str(fresh, "to b", &theirs, 1);
	mn_wait_direct(ctx, mine, true, "A-B after");
	mn_ping(ctx, mine);
	mn_put_str(fresh, "bye", NULL, 0);
	mn_wait_status(ctx, fresh, IPCZ_PORTAL_STATUS_DEAD, "broker closed");
	mn_close(ctx, broker);
	mn_close(ctx, to_b);
	mn_close(ctx, mine);
	mn_close(ctx, fresh);
}

static void transitive_b(struct mn_ctx *ctx)
{
	IpczHandle broker, to_a, again;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 1, &broker));
	MN_REQUIRE(ctx, mn_expect_str(ctx, broker, "b", &to_a, 1));
	mn_wait_direct(ctx, to_a, true, "B-A before");
	mn_pong(ctx, to_a);
	mn_wait_status(ctx, to_a, IPCZ_PORTAL_STATUS_PEER_CLOSED,
		       "the old link to A dropped");
	MN_REQUIRE(ctx, mn_expect_str(ctx, broker, "from a", &again, 1));
	mn_wait_direct(ctx, again, true, "B-A after");
	mn_pong(ctx, again);
	mn_put_str(broker, "bye", NULL, 0);
	mn_wait_status(ctx, broker, IPCZ_PORTAL_STATUS_DEAD, "broker closed");
	mn_close(ctx, broker);
	mn_close(ctx, to_a);
	mn_close(ctx, again);
}

MN_TEST(reconnect_drops_and_renews_introductions)
{
	static const struct mn_test test = {
		.num_nodes = 3,
		.nodes = { { "broker", true, transitive_broker },
			   { "a", false, transitive_a },
			   { "b", false, transitive_b } },
		.num_links = 2,
		.links = { { TR_BROKER, TR_A }, { TR_BROKER, TR_B } },
	};
	MN_RUN(test);
}

TEST_HARNESS_MAIN
