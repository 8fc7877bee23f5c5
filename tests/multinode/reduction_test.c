// SPDX-License-Identifier: MIT
/*
 * Route reduction, seen through libipcz's introspection call
 * (include/ipcz/introspect.h): after portals move, every proxy they left
 * behind is bypassed and freed, and the route ends as one direct link
 * between the nodes holding its two ends (a local link when both ends
 * share a node). Each check is made while the route is still open: both
 * ends confirm to each other that they see a direct route before either
 * closes, and the nodes the portals passed through report no proxies
 * before the ends let go.
 */
#include <string.h>

#include "tests/multinode/mn_test.h"

/*
 * One end of a route: sees it direct, tells the other end, hears the
 * same from it. Neither end closes before both have looked.
 */
static bool confirm_direct(struct mn_ctx *ctx, IpczHandle portal,
			   bool remote, const char *what)
{
	bool direct = mn_wait_direct(ctx, portal, remote, what);

	mn_put_str(portal, direct ? "direct" : "not direct", NULL, 0);
	return mn_expect_str(ctx, portal, "direct", NULL, 0) && direct;
}

/*
 * Once a client's end sees the route direct: its broker checks that it
 * holds no proxy ("check"/"checked"), and the two ends tell each other,
 * so that neither closes before both brokers have looked.
 */
static void broker_looks_first(struct mn_ctx *ctx, IpczHandle broker,
			       IpczHandle end)
{
	mn_put_str(broker, "check", NULL, 0);
	mn_expect_str(ctx, broker, "checked", NULL, 0);
	mn_put_str(end, "checked", NULL, 0);
	mn_expect_str(ctx, end, "checked", NULL, 0);
}

/*
 * One hop: the broker opens (q, p) and sends p to its client. The route
 * must end as a direct link between the broker's q and the client's p,
 * with no proxy left on the broker.
 */

static void one_hop_broker(struct mn_ctx *ctx)
{
	IpczHandle client, q, p;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 1, &client));
	ipcz.OpenPortals(ctx->node, 0, NULL, &q, &p);
	mn_put_str(client, "yours", &p, 1);
	if (mn_ping(ctx, q) && confirm_direct(ctx, q, true, "q after one hop"))
		mn_wait_no_proxies(ctx, "broker after one hop");
	mn_put_str(q, "bye", NULL, 0);
	mn_expect_str(ctx, q, "bye", NULL, 0);
	mn_close(ctx, q);
	mn_broker_finish(ctx, &client, 1);
}

static void one_hop_client(struct mn_ctx *ctx)
{
	IpczHandle broker, p;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	if (mn_expect_str(ctx, broker, "yours", &p, 1)) {
		if (mn_pong(ctx, p))
			confirm_direct(ctx, p, true, "p after one hop");
		mn_expect_str(ctx, p, "bye", NULL, 0);
		mn_put_str(p, "bye", NULL, 0);
		mn_close(ctx, p);
	}
	mn_client_finish(ctx, broker);
}

MN_TEST(reduction_one_hop)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, one_hop_broker },
			   { "client", false, one_hop_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/*
 * B -> A -> C: B opens (x, y) and sends y to its broker A, which forwards
 * it to C. B and C must end up linked directly (through an introduction by
 * A), and A must hold no proxy for the route while it is still open.
 */

enum { RC_A, RC_B, RC_C, RC_D };

static void bac_broker(struct mn_ctx *ctx)
{
	IpczHandle clients[2], y;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 2, clients));
	if (mn_expect_str(ctx, clients[0], "forward", &y, 1))
		mn_put_str(clients[1], "yours", &y, 1);
	mn_expect_str(ctx, clients[0], "check", NULL, 0);
	mn_put_str(clients[0], mn_wait_no_proxies(ctx, "A after forwarding y") ?
			       "checked" : "proxies left", NULL, 0);
	mn_broker_finish(ctx, clients, 2);
}

static void bac_b(struct mn_ctx *ctx)
{
	IpczHandle broker, x, y;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	ipcz.OpenPortals(ctx->node, 0, NULL, &x, &y);
	mn_put_str(broker, "forward", &y, 1);
	if (mn_ping(ctx, x) &&
	    confirm_direct(ctx, x, true, "B's end after B->A->C")) {
		mn_put_str(broker, "check", NULL, 0);
		mn_expect_str(ctx, broker, "checked", NULL, 0);
	}
	mn_close(ctx, x);
	mn_client_finish(ctx, broker);
}

static void bac_c(struct mn_ctx *ctx)
{
	IpczHandle broker, y;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 1, &broker));
	if (mn_expect_str(ctx, broker, "yours", &y, 1)) {
		if (mn_pong(ctx, y))
			confirm_direct(ctx, y, true, "C's end after B->A->C");
		mn_wait_status(ctx, y, IPCZ_PORTAL_STATUS_DEAD, "B closed x");
		mn_close(ctx, y);
	}
	mn_client_finish(ctx, broker);
}

MN_TEST(reduction_chain_b_a_c)
{
	static const struct mn_test test = {
		.num_nodes = 3,
		.nodes = { [RC_A] = { "A", true, bac_broker },
			   [RC_B] = { "B", false, bac_b },
			   [RC_C] = { "C", false, bac_c } },
		.num_links = 2,
		.links = { { RC_A, RC_B }, { RC_A, RC_C } },
	};
	MN_RUN(test);
}

/*
 * A longer chain: y goes B -> A -> C -> A -> D while B streams into x.
 * B and D end directly linked; neither A nor C keeps a proxy.
 */

static void long_broker(struct mn_ctx *ctx)
{
	IpczHandle clients[3], y;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 3, clients));
	if (mn_expect_str(ctx, clients[0], "forward", &y, 1))
		mn_put_str(clients[1], "yours", &y, 1);
	if (mn_expect_str(ctx, clients[1], "forward", &y, 1))
		mn_put_str(clients[2], "yours", &y, 1);
	/* C checks itself first; then us; then B may close. */
	mn_expect_str(ctx, clients[1], "checked", NULL, 0);
	mn_expect_str(ctx, clients[0], "check", NULL, 0);
	mn_put_str(clients[0], mn_wait_no_proxies(ctx, "A after two hops") ?
			       "checked" : "proxies left", NULL, 0);
	mn_broker_finish(ctx, clients, 3);
}

static void long_b(struct mn_ctx *ctx)
{
	IpczHandle broker, x, y;
	uint32_t i;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	ipcz.OpenPortals(ctx->node, 0, NULL, &x, &y);
	mn_put_str(broker, "forward", &y, 1);
	for (i = 0; i < 20; i++)
		mn_put_u32(x, i);
	if (mn_expect_str(ctx, x, "all read", NULL, 0) &&
	    confirm_direct(ctx, x, true, "B's end after four hops")) {
		mn_put_str(broker, "check", NULL, 0);
		mn_expect_str(ctx, broker, "checked", NULL, 0);
	}
	mn_close(ctx, x);
	mn_client_finish(ctx, broker);
}

static void long_c(struct mn_ctx *ctx)
{
	IpczHandle broker, y;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 1, &broker));
	if (mn_expect_str(ctx, broker, "yours", &y, 1))
		mn_put_str(broker, "forward", &y, 1);
	mn_put_str(broker, mn_wait_no_proxies(ctx, "C after passing y on") ?
			   "checked" : "proxies left", NULL, 0);
	mn_client_finish(ctx, broker);
}

static void long_d(struct mn_ctx *ctx)
{
	IpczHandle broker, y;
	uint32_t i, value;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 2, &broker));
	if (mn_expect_str(ctx, broker, "yours", &y, 1)) {
		for (i = 0; i < 20; i++) {
			if (!mn_get_u32(ctx, y, &value, "stream"))
				break;
			MN_EXPECT(ctx, value == i, "%u at %u", value, i);
		}
		mn_put_str(y, "all read", NULL, 0);
		confirm_direct(ctx, y, true, "D's end after four hops");
		mn_wait_status(ctx, y, IPCZ_PORTAL_STATUS_DEAD, "B closed x");
		mn_close(ctx, y);
	}
	mn_client_finish(ctx, broker);
}

MN_TEST(reduction_chain_four_hops)
{
	static const struct mn_test test = {
		.num_nodes = 4,
		.nodes = { [RC_A] = { "A", true, long_broker },
			   [RC_B] = { "B", false, long_b },
			   [RC_C] = { "C", false, long_c },
			   [RC_D] = { "D", false, long_d } },
		.num_links = 3,
		.links = { { RC_A, RC_B }, { RC_A, RC_C }, { RC_A, RC_D } },
	};
	MN_RUN(test);
}

/*
 * Both ends leave their node: the broker opens (x, y) and sends x to B and
 * y to C. B and C must link directly; the broker keeps no proxy.
 */

static void split_broker(struct mn_ctx *ctx)
{
	IpczHandle clients[2], x, y;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 2, clients));
	ipcz.OpenPortals(ctx->node, 0, NULL, &x, &y);
	mn_put_str(clients[0], "yours", &x, 1);
	mn_put_str(clients[1], "yours", &y, 1);
	mn_expect_str(ctx, clients[0], "check", NULL, 0);
	mn_put_str(clients[0], mn_wait_no_proxies(ctx, "broker after the split") ?
			       "checked" : "proxies left", NULL, 0);
	mn_broker_finish(ctx, clients, 2);
}

static void split_client(struct mn_ctx *ctx)
{
	IpczHandle broker, end;
	bool first = ctx->index == 1;

	MN_REQUIRE(ctx, mn_connect_client(ctx, ctx->index - 1, &broker));
	if (mn_expect_str(ctx, broker, "yours", &end, 1)) {
		if ((first ? mn_ping(ctx, end) : mn_pong(ctx, end)) &&
		    confirm_direct(ctx, end, true, "an end sent away") &&
		    first) {
			mn_put_str(broker, "check", NULL, 0);
			mn_expect_str(ctx, broker, "checked", NULL, 0);
		}
		if (!first)
			mn_wait_status(ctx, end, IPCZ_PORTAL_STATUS_DEAD,
				       "the other end closed");
		mn_close(ctx, end);
	}
	mn_client_finish(ctx, broker);
}

MN_TEST(reduction_both_ends_sent_away)
{
	static const struct mn_test test = {
		.num_nodes = 3,
		.nodes = { { "broker", true, split_broker },
			   { "B", false, split_client },
			   { "C", false, split_client } },
		.num_links = 2,
		.links = { { 0, 1 }, { 0, 2 } },
	};
	MN_RUN(test);
}

/*
 * A portal bounced to another node and back ten times ends as a local
 * pair again: both ends direct with a local peer, no proxy on either node.
 */

static void home_broker(struct mn_ctx *ctx)
{
	IpczHandle client, q, p;
	int i;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 1, &client));
	ipcz.OpenPortals(ctx->node, 0, NULL, &q, &p);
	for (i = 0; i < 10; i++) {
		mn_put_str(q, "to p", NULL, 0);
		mn_put_str(client, "bounce", &p, 1);
		if (!mn_expect_str(ctx, client, "bounce", &p, 1))
			break;
		mn_expect_str(ctx, p, "to p", NULL, 0);
	}
	if (i == 10) {
		mn_wait_direct(ctx, q, false, "q after ten round trips");
		mn_wait_direct(ctx, p, false, "p after ten round trips");
		mn_wait_no_proxies(ctx, "home node after ten round trips");
		mn_close(ctx, p);
	}
	mn_close(ctx, q);
	mn_put_str(client, "check", NULL, 0);
	mn_expect_str(ctx, client, "checked", NULL, 0);
	mn_broker_finish(ctx, &client, 1);
}

static void home_client(struct mn_ctx *ctx)
{
	IpczHandle broker, p;
	char text[16];
	size_t num_bytes, num_handles;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	for (;;) {
		num_bytes = sizeof(text) - 1;
		num_handles = 1;
		if (mn_get(ctx, broker, text, &num_bytes, &p, &num_handles,
			   "bounced portal") != IPCZ_RESULT_OK)
			break;
		if (num_handles == 0)
			break;	/* "check" */
		mn_put_str(broker, "bounce", &p, 1);
	}
	mn_put_str(broker, mn_wait_no_proxies(ctx, "the bouncing node") ?
			   "checked" : "proxies left", NULL, 0);
	mn_client_finish(ctx, broker);
}

MN_TEST(reduction_back_home)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, home_broker },
			   { "client", false, home_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/*
 * MergePortals() across nodes: the broker merges one end of a local pair
 * with its initial portal to the client; the bridge must go away, leaving
 * the pair's other end directly linked to the client's portal.
 */

static void merge_broker(struct mn_ctx *ctx)
{
	IpczHandle client, q, p;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 1, &client));
	ipcz.OpenPortals(ctx->node, 0, NULL, &q, &p);
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  ipcz.MergePortals(client, p, 0, NULL),
			  "MergePortals");
	if (mn_ping(ctx, q) && confirm_direct(ctx, q, true, "merged route")) {
		mn_wait_no_proxies(ctx, "broker after the merge");
		mn_put_str(q, "bye", NULL, 0);
	}
	mn_expect_str(ctx, q, "bye", NULL, 0);
	mn_close(ctx, q);
}

static void merge_client(struct mn_ctx *ctx)
{
	IpczHandle broker;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	if (mn_pong(ctx, broker) &&
	    confirm_direct(ctx, broker, true, "merged route (client)"))
		mn_expect_str(ctx, broker, "bye", NULL, 0);
	mn_put_str(broker, "bye", NULL, 0);
	mn_wait_status(ctx, broker, IPCZ_PORTAL_STATUS_DEAD, "broker closed");
	mn_close(ctx, broker);
}

MN_TEST(reduction_merge)
{
	static const struct mn_test test = {
		.num_nodes = 2,
		.nodes = { { "broker", true, merge_broker },
			   { "client", false, merge_client } },
		.num_links = 1,
		.links = { { 0, 1 } },
	};
	MN_RUN(test);
}

/*
 * MergePortals() with both peers remote: the broker opens two pairs, sends
 * one end of each to a client and, once both clients have theirs (so the
 * ends it kept are linked to them, not local pairs any more), merges the
 * two ends it kept. The clients stream numbered parcels at each other,
 * half before saying they have their end and half after, so parcels wait
 * in the kept ends, then cross the bridge in both directions while it is
 * being bypassed. Each must read the other's numbers in order, each once;
 * the route must end direct between the two clients, with no bridge left
 * on the broker.
 */

enum { RM_BROKER, RM_LEFT, RM_RIGHT };

#define MERGE_STREAM 300

static void merge_remote_broker(struct mn_ctx *ctx)
{
	IpczHandle clients[2], kept[2], sent;
	bool clean;
	int i;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 2, clients));
	for (i = 0; i < 2; i++) {
		ipcz.OpenPortals(ctx->node, 0, NULL, &kept[i], &sent);
		mn_put_str(clients[i], "yours", &sent, 1);
	}
	for (i = 0; i < 2; i++)
		mn_expect_str(ctx, clients[i], "got it", NULL, 0);
	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
			 ipcz.MergePortals(kept[0], kept[1], 0, NULL),
			 "MergePortals of two remote routes");
	for (i = 0; i < 2; i++)
		mn_expect_str(ctx, clients[i], "check", NULL, 0);
	clean = mn_wait_no_proxies(ctx, "broker after merging two routes");
	for (i = 0; i < 2; i++)
		mn_put_str(clients[i], clean ? "checked" : "bridge left",
			   NULL, 0);
	mn_broker_finish(ctx, clients, 2);
}

/*
 * Sends 0..MERGE_STREAM-1 (telling the broker it has its end halfway) and
 * reads the other end's, in order, once each.
 */
static bool stream_both_ways(struct mn_ctx *ctx, IpczHandle broker,
			     IpczHandle end)
{
	uint32_t i, value;

	for (i = 0; i < MERGE_STREAM; i++) {
		if (i == MERGE_STREAM / 2)
			mn_put_str(broker, "got it", NULL, 0);
		mn_put_u32(end, i);
		if (i % 16 == 15)
			mn_pause(ctx);
	}
	for (i = 0; i < MERGE_STREAM; i++) {
		if (!mn_get_u32(ctx, end, &value, "merged stream"))
			return false;
		if (value != i) {
			MN_FAIL(ctx, "merged stream: %u where %u was due",
				value, i);
			return false;
		}
	}
	return true;
}

static void merge_remote_client(struct mn_ctx *ctx)
{
	IpczHandle broker, end;

	MN_REQUIRE(ctx, mn_connect_client(ctx, ctx->index - 1, &broker));
	if (mn_expect_str(ctx, broker, "yours", &end, 1)) {
		if (stream_both_ways(ctx, broker, end) &&
		    confirm_direct(ctx, end, true, "two merged routes"))
			broker_looks_first(ctx, broker, end);
		mn_close(ctx, end);
	}
	mn_client_finish(ctx, broker);
}

MN_TEST(reduction_merge_both_remote)
{
	static const struct mn_test test = {
		.num_nodes = 3,
		.nodes = { [RM_BROKER] = { "broker", true,
					   merge_remote_broker },
			   [RM_LEFT] = { "left", false, merge_remote_client },
			   [RM_RIGHT] = { "right", false,
					  merge_remote_client } },
		.num_links = 2,
		.links = { { RM_BROKER, RM_LEFT }, { RM_BROKER, RM_RIGHT } },
	};
	MN_RUN(test);
}

/*
 * Introductions beyond one broker's clients. Referred nodes: a client
 * refers two nodes to its broker (SHARE_BROKER / INHERIT_BROKER) and hands
 * them the two ends of a pair, which must end directly linked. Two
 * networks: clients of two joined brokers get the two ends of a pair made
 * by one broker, and must end directly linked across the networks
 * (upstream's MultiBrokerIntroductions).
 */

enum { RR_BROKER, RR_REFERRER, RR_LEFT, RR_RIGHT };

static void referred_broker(struct mn_ctx *ctx)
{
	IpczHandle referrer;

	MN_REQUIRE(ctx, mn_connect_broker(ctx, 1, &referrer));
	mn_expect_str(ctx, referrer, "done", NULL, 0);
	mn_close(ctx, referrer);
}

static void referred_referrer(struct mn_ctx *ctx)
{
	IpczHandle broker, left, right, x, y;

	MN_REQUIRE(ctx, mn_connect_client(ctx, 0, &broker));
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 1, 1, IPCZ_CONNECT_NODE_SHARE_BROKER,
				     &left),
			  "ConnectNode SHARE_BROKER");
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 2, 1, IPCZ_CONNECT_NODE_SHARE_BROKER,
				     &right),
			  "ConnectNode SHARE_BROKER");
	ipcz.OpenPortals(ctx->node, 0, NULL, &x, &y);
	mn_put_str(left, "x", &x, 1);
	mn_put_str(right, "y", &y, 1);
	mn_expect_str(ctx, left, "check", NULL, 0);
	mn_put_str(left, mn_wait_no_proxies(ctx, "the referrer") ?
			 "checked" : "proxies left", NULL, 0);
	mn_expect_str(ctx, left, "done", NULL, 0);
	mn_expect_str(ctx, right, "done", NULL, 0);
	mn_close(ctx, left);
	mn_close(ctx, right);
	mn_client_finish(ctx, broker);
}

static void referred_node(struct mn_ctx *ctx)
{
	bool left = ctx->index == RR_LEFT;
	IpczHandle referrer, end;

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, left ? 1 : 2, 1,
				     IPCZ_CONNECT_NODE_INHERIT_BROKER,
				     &referrer),
			  "ConnectNode INHERIT_BROKER");
	if (mn_expect_str(ctx, referrer, left ? "x" : "y", &end, 1)) {
		if ((left ? mn_ping(ctx, end) : mn_pong(ctx, end)) &&
		    confirm_direct(ctx, end, true,
				   "a pair between referred nodes") &&
		    left) {
			mn_put_str(referrer, "check", NULL, 0);
			mn_expect_str(ctx, referrer, "checked", NULL, 0);
		}
		if (!left)
			mn_wait_status(ctx, end, IPCZ_PORTAL_STATUS_DEAD,
				       "the other end closed");
		mn_close(ctx, end);
	}
	mn_put_str(referrer, "done", NULL, 0);
	mn_wait_status(ctx, referrer, IPCZ_PORTAL_STATUS_DEAD,
		       "referrer closed");
	mn_close(ctx, referrer);
}

MN_TEST(reduction_referred_nodes)
{
	static const struct mn_test test = {
		.num_nodes = 4,
		.nodes = { [RR_BROKER] = { "broker", true, referred_broker },
			   [RR_REFERRER] = { "referrer", false,
					     referred_referrer },
			   [RR_LEFT] = { "left", false, referred_node },
			   [RR_RIGHT] = { "right", false, referred_node } },
		.num_links = 3,
		.links = { { RR_BROKER, RR_REFERRER },
			   { RR_REFERRER, RR_LEFT },
			   { RR_REFERRER, RR_RIGHT } },
	};
	MN_RUN(test);
}

enum { MB_BROKER1, MB_BROKER2, MB_CLIENT1, MB_CLIENT2 };

static void networks_broker(struct mn_ctx *ctx)
{
	bool first = ctx->index == MB_BROKER1;
	IpczHandle other, client, x, y;

	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, 0, 1, IPCZ_CONNECT_NODE_TO_BROKER,
				     &other),
			  "broker-to-broker ConnectNode");
	MN_REQUIRE_RESULT(ctx, IPCZ_RESULT_OK,
			  mn_connect(ctx, first ? 1 : 2, 1, IPCZ_NO_FLAGS,
				     &client),
			  "broker ConnectNode");
	if (first) {
		ipcz.OpenPortals(ctx->node, 0, NULL, &x, &y);
		mn_put_str(client, "yours", &x, 1);
		mn_put_str(other, "for your client", &y, 1);
	} else if (mn_expect_str(ctx, other, "for your client", &y, 1)) {
		mn_put_str(client, "yours", &y, 1);
	}
	mn_expect_str(ctx, client, "check", NULL, 0);
	mn_put_str(client, mn_wait_no_proxies(ctx, "a broker") ?
			   "checked" : "proxies left", NULL, 0);
	mn_expect_str(ctx, client, "done", NULL, 0);
	mn_put_str(other, "done", NULL, 0);
	mn_expect_str(ctx, other, "done", NULL, 0);
	mn_close(ctx, client);
	mn_close(ctx, other);
}

static void networks_client(struct mn_ctx *ctx)
{
	bool first = ctx->index == MB_CLIENT1;
	IpczHandle broker, end;

	MN_REQUIRE(ctx, mn_connect_client(ctx, first ? 1 : 2, &broker));
	if (mn_expect_str(ctx, broker, "yours", &end, 1)) {
		if ((first ? mn_ping(ctx, end) : mn_pong(ctx, end)) &&
		    confirm_direct(ctx, end, true, "a pair across networks"))
			broker_looks_first(ctx, broker, end);
		mn_close(ctx, end);
	}
	mn_client_finish(ctx, broker);
}

MN_TEST(reduction_across_networks)
{
	static const struct mn_test test = {
		.num_nodes = 4,
		.nodes = { [MB_BROKER1] = { "broker1", true, networks_broker },
			   [MB_BROKER2] = { "broker2", true, networks_broker },
			   [MB_CLIENT1] = { "client1", false, networks_client },
			   [MB_CLIENT2] = { "client2", false,
					    networks_client } },
		.num_links = 3,
		.links = { { MB_BROKER1, MB_BROKER2 },
			   { MB_BROKER1, MB_CLIENT1 },
			   { MB_BROKER2, MB_CLIENT2 } },
	};
	MN_RUN(test);
}

TEST_HARNESS_MAIN
