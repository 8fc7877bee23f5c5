// SPDX-License-Identifier: MIT
/*
 * Routes under the asynchronous driver: portals that keep moving while
 * parcels flow, both ends of a route moving at once, a portal coming
 * home, closure racing transfer, and nodes joining and leaving in a
 * loop. Every test ends with the driver contract kept and nothing alive.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "tests/contract/contract.h"

/* Sends `portal` over `via` and takes it out at `from`. */
static bool hop(IpczHandle via, IpczHandle from, IpczHandle *portal)
{
	if (ct_put(via, "hop", portal, 1) != IPCZ_RESULT_OK)
		return false;
	return ct_expect(from, "hop", portal, 1);
}

/* Reads `n` numbered parcels in order from `portal`. */
static bool expect_sequence(IpczHandle portal, uint32_t first, uint32_t n)
{
	uint32_t i, value;

	for (i = 0; i < n; i++) {
		size_t num_bytes = sizeof(value);

		if (!ct_wait_parcels(portal, 1) ||
		    ipcz.Get(portal, IPCZ_NO_FLAGS, NULL, &value, &num_bytes,
			     NULL, NULL, NULL) != IPCZ_RESULT_OK ||
		    value != first + i) {
			fprintf(stderr, "# parcel %u of the sequence: wrong or "
				"missing\n", first + i);
			return false;
		}
	}
	return true;
}

static void put_sequence(IpczHandle portal, uint32_t first, uint32_t n)
{
	uint32_t i;

	for (i = first; i < first + n; i++)
		ipcz.Put(portal, &i, sizeof(i), NULL, 0, IPCZ_NO_FLAGS, NULL);
}

/*
 * q travels B -> A -> C -> A -> D while p keeps sending: every parcel
 * arrives, in order, and the route ends direct.
 */
TEST(portal_keeps_moving_while_parcels_flow)
{
	struct ct_net net;
	IpczHandle p, q;

	ASSERT_TRUE(ct_net_up(&net, 4));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.OpenPortals(net.node[1], IPCZ_NO_FLAGS, NULL, &p, &q));
	put_sequence(p, 0, 50);
	ASSERT_TRUE(hop(net.to_broker[1], net.to_client[1], &q));
	put_sequence(p, 50, 50);
	ASSERT_TRUE(hop(net.to_client[2], net.to_broker[2], &q));
	put_sequence(p, 100, 50);
	ASSERT_TRUE(hop(net.to_broker[2], net.to_client[2], &q));
	put_sequence(p, 150, 50);
	ASSERT_TRUE(hop(net.to_client[3], net.to_broker[3], &q));
	put_sequence(p, 200, 50);
	EXPECT_TRUE(expect_sequence(q, 0, 250));
	EXPECT_TRUE(ct_wait_direct(p));
	EXPECT_TRUE(ct_wait_direct(q));
	ct_close(&q);
	EXPECT_TRUE(ct_wait_flags(p, IPCZ_PORTAL_STATUS_DEAD));
	ct_close(&p);
	ct_net_down(&net);
	CT_EXPECT_CONTRACT_KEPT();
}

/* Both ends of a route move at once, in opposite directions. */
TEST(both_ends_move_at_once)
{
	struct ct_net net;
	IpczHandle p, q, got_p, got_q;

	ASSERT_TRUE(ct_net_up(&net, 3));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.OpenPortals(net.node[0], IPCZ_NO_FLAGS, NULL, &p, &q));
	put_sequence(p, 0, 20);
	put_sequence(q, 1000, 20);
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(net.to_client[1], "p", &p, 1));
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(net.to_client[2], "q", &q, 1));
	ASSERT_TRUE(ct_expect(net.to_broker[1], "p", &got_p, 1));
	ASSERT_TRUE(ct_expect(net.to_broker[2], "q", &got_q, 1));
	put_sequence(got_p, 20, 20);
	put_sequence(got_q, 1020, 20);
	EXPECT_TRUE(expect_sequence(got_q, 0, 40));
	EXPECT_TRUE(expect_sequence(got_p, 1000, 40));
	EXPECT_TRUE(ct_wait_direct(got_p));
	ct_close(&got_p);
	EXPECT_TRUE(ct_wait_flags(got_q, IPCZ_PORTAL_STATUS_DEAD));
	ct_close(&got_q);
	ct_net_down(&net);
	CT_EXPECT_CONTRACT_KEPT();
}

/* q leaves B for C and comes back to B, next to its peer. */
TEST(portal_comes_home)
{
	struct ct_net net;
	IpczHandle p, q;
	struct ipcz_portal_route_info info;

	ASSERT_TRUE(ct_net_up(&net, 3));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.OpenPortals(net.node[1], IPCZ_NO_FLAGS, NULL, &p, &q));
	put_sequence(p, 0, 10);
	ASSERT_TRUE(hop(net.to_broker[1], net.to_client[1], &q));
	ASSERT_TRUE(hop(net.to_client[2], net.to_broker[2], &q));
	put_sequence(p, 10, 10);
	ASSERT_TRUE(hop(net.to_broker[2], net.to_client[2], &q));
	ASSERT_TRUE(hop(net.to_client[1], net.to_broker[1], &q));
	put_sequence(p, 20, 10);
	EXPECT_TRUE(expect_sequence(q, 0, 30));
	put_sequence(q, 500, 5);
	EXPECT_TRUE(expect_sequence(p, 500, 5));
	/* Home again: the route should end local, with no proxy. */
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	{
		long long end = ct_now_ms() + CT_WAIT_MS;

		do {
			ipcz_introspect_portal(p, &info);
			if ((info.flags & IPCZ_ROUTE_PEER_LOCAL) &&
			    !info.known_proxies)
				break;
			usleep(1000);
		} while (ct_now_ms() < end);
	}
	EXPECT_TRUE(info.flags & IPCZ_ROUTE_PEER_LOCAL);
	EXPECT_EQ(0, info.known_proxies);
	ct_close(&p);
	ct_close(&q);
	ct_net_down(&net);
	CT_EXPECT_CONTRACT_KEPT();
}

/* A portal's peer closes while the portal is in flight to another node. */
TEST(closure_races_transfer)
{
	int round;

	for (round = 0; round < 10; round++) {
		struct ct_net net;
		IpczHandle p, q;

		ASSERT_TRUE(ct_net_up(&net, 3));
		ASSERT_EQ(IPCZ_RESULT_OK, ipcz.OpenPortals(net.node[1],
			  IPCZ_NO_FLAGS, NULL, &p, &q));
		put_sequence(p, 0, 5);
		ASSERT_EQ(IPCZ_RESULT_OK, ct_put(net.to_broker[1], "q", &q, 1));
		ct_close(&p);
		ASSERT_TRUE(ct_expect(net.to_client[1], "q", &q, 1));
		ASSERT_TRUE(hop(net.to_client[2], net.to_broker[2], &q));
		EXPECT_TRUE(expect_sequence(q, 0, 5));
		EXPECT_TRUE(ct_wait_flags(q, IPCZ_PORTAL_STATUS_DEAD));
		ct_close(&q);
		ct_net_down(&net);
	}
	CT_EXPECT_CONTRACT_KEPT();
}

/* Clients join, talk and leave, again and again, on one broker. */
TEST(connect_churn)
{
	IpczHandle broker;
	int round;

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.CreateNode(sd_driver(),
		  IPCZ_CREATE_NODE_AS_BROKER, NULL, &broker));
	for (round = 0; round < 20; round++) {
		IpczHandle client, bp, cp;
		IpczDriverHandle a, b;

		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.CreateNode(sd_driver(), IPCZ_NO_FLAGS, NULL,
					  &client));
		ASSERT_EQ(IPCZ_RESULT_OK,
			  sd_transport_pair(true, false, &a, &b));
		ASSERT_EQ(IPCZ_RESULT_OK, ipcz.ConnectNode(broker, a, 1,
			  IPCZ_NO_FLAGS, NULL, &bp));
		ASSERT_EQ(IPCZ_RESULT_OK, ipcz.ConnectNode(client, b, 1,
			  IPCZ_CONNECT_NODE_TO_BROKER, NULL, &cp));
		ASSERT_EQ(IPCZ_RESULT_OK, ct_put(cp, "hi", NULL, 0));
		ASSERT_TRUE(ct_expect(bp, "hi", NULL, 0));
		/* Half the time the client dies with its portal open. */
		if (round & 1)
			ct_close(&cp);
		ct_close(&client);
		EXPECT_TRUE(ct_wait_flags(bp, IPCZ_PORTAL_STATUS_PEER_CLOSED));
		ct_close(&bp);
		ct_close(&cp);
	}
	ct_close(&broker);
	CT_EXPECT_CONTRACT_KEPT();
	EXPECT_EQ(40, sd_stats().activations);
}

/*
 * A node refers a new node to its broker (SHARE_BROKER), but what comes
 * from the referred side is garbage: the referral fails and the
 * referrer's portal to it sees its peer closed (after upstream's
 * BadNonBrokerReferral).
 */
TEST(bad_referral)
{
	static const char junk[] = "i am a terrible node, refuse me";
	struct ct_net net;
	IpczDriverHandle ours, theirs;
	IpczHandle p;

	ASSERT_TRUE(ct_net_up(&net, 2));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  sd_transport_pair(false, false, &ours, &theirs));
	/* As if the referred node had sent it on its end. */
	sd_inject(ours, junk, sizeof(junk), false);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.ConnectNode(net.node[1], ours, 1,
		  IPCZ_CONNECT_NODE_SHARE_BROKER, NULL, &p));
	EXPECT_TRUE(ct_wait_flags(p, IPCZ_PORTAL_STATUS_PEER_CLOSED));
	ct_close(&p);
	EXPECT_EQ(IPCZ_RESULT_OK,
		  sd_driver()->Close(theirs, IPCZ_NO_FLAGS, NULL));
	/* The referrer's own link to the broker is unharmed. */
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(net.to_broker[1], "ok", NULL, 0));
	EXPECT_TRUE(ct_expect(net.to_client[1], "ok", NULL, 0));
	ct_net_down(&net);
	CT_EXPECT_CONTRACT_KEPT();
}

/*
 * The referred node connects (INHERIT_BROKER) but its referrer drops the
 * transport instead of connecting it: the referred node's portal sees
 * its peer closed (after upstream's FailedNonBrokerReferral).
 */
TEST(failed_referral)
{
	IpczHandle node, p;
	IpczDriverHandle ours, theirs;

	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.CreateNode(sd_driver(), IPCZ_NO_FLAGS, NULL, &node));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  sd_transport_pair(false, false, &ours, &theirs));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.ConnectNode(node, theirs, 1,
		  IPCZ_CONNECT_NODE_INHERIT_BROKER, NULL, &p));
	EXPECT_EQ(IPCZ_RESULT_OK,
		  sd_driver()->Close(ours, IPCZ_NO_FLAGS, NULL));
	EXPECT_TRUE(ct_wait_flags(p, IPCZ_PORTAL_STATUS_PEER_CLOSED));
	ct_close(&p);
	ct_close(&node);
	CT_EXPECT_CONTRACT_KEPT();
}

/*
 * B and C talk over a route reduced to their direct link; then the
 * broker dies. The header says only later cross-node transfers may fail:
 * the direct B-C route keeps working. p can look direct before its
 * bypass even began (the proxy behind a remote central link shows only
 * on its own side), so the broker may die while p still waits for C's
 * cut: losing the decaying link must not break the route then.
 * (CT_SETTLE_MS=n waits n ms between seeing the route direct and killing
 * the broker.)
 */
TEST(direct_route_survives_broker)
{
	struct ct_net net;
	struct ipcz_node_info broker_info = { 0 }, b_info = { 0 };
	struct ipcz_node_info c_info = { 0 };
	IpczHandle p, q;
	bool delivered;

	ASSERT_TRUE(ct_net_up(&net, 3));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.OpenPortals(net.node[1], IPCZ_NO_FLAGS, NULL, &p, &q));
	ASSERT_TRUE(hop(net.to_broker[1], net.to_client[1], &q));
	ASSERT_TRUE(hop(net.to_client[2], net.to_broker[2], &q));
	put_sequence(p, 0, 5);
	ASSERT_TRUE(expect_sequence(q, 0, 5));
	ASSERT_TRUE(ct_wait_direct(p));
	ASSERT_TRUE(ct_wait_direct(q));
	if (getenv("CT_SETTLE_MS"))
		usleep(atoi(getenv("CT_SETTLE_MS")) * 1000);
	broker_info.size = sizeof(broker_info);
	ipcz_introspect_node(net.node[0], &broker_info);
	b_info.size = sizeof(b_info);
	ipcz_introspect_node(net.node[1], &b_info);
	c_info.size = sizeof(c_info);
	ipcz_introspect_node(net.node[2], &c_info);
	ct_close(&net.to_client[1]);
	ct_close(&net.to_client[2]);
	ct_close(&net.node[0]);
	EXPECT_TRUE(ct_wait_flags(net.to_broker[1],
				  IPCZ_PORTAL_STATUS_PEER_CLOSED));
	EXPECT_TRUE(ct_wait_flags(net.to_broker[2],
				  IPCZ_PORTAL_STATUS_PEER_CLOSED));
	put_sequence(p, 5, 5);
	put_sequence(q, 100, 5);
	delivered = expect_sequence(q, 5, 5) && expect_sequence(p, 100, 5);
	if (delivered) {
		EXPECT_FALSE(ct_status(p).flags &
			     IPCZ_PORTAL_STATUS_PEER_CLOSED);
		ct_close(&p);
		EXPECT_TRUE(ct_wait_flags(q, IPCZ_PORTAL_STATUS_DEAD));
	} else {
		TH_LOG("the route died with the broker, which had %llu "
		       "proxies and %llu linked routers; B %llu/%llu, C "
		       "%llu/%llu",
		       (unsigned long long)broker_info.proxies,
		       (unsigned long long)broker_info.linked_routers,
		       (unsigned long long)b_info.proxies,
		       (unsigned long long)b_info.linked_routers,
		       (unsigned long long)c_info.proxies,
		       (unsigned long long)c_info.linked_routers);
	}
	EXPECT_TRUE(delivered);
	ct_close(&p);
	ct_close(&q);
	ct_net_down(&net);
	CT_EXPECT_CONTRACT_KEPT();
}

/*
 * Random operations on a pool of portals spread over a broker and three
 * clients: open pairs, put, drain, close, and move portals between nodes
 * through the broker, while the driver delivers on its own threads. The
 * seed is printed; CT_SEED=n repeats a run.
 */
#define POOL 24

struct pooled {
	IpczHandle portal;
	int node;
};

static int pool_add(struct pooled *pool, IpczHandle portal, int node)
{
	int i;

	for (i = 0; i < POOL; i++) {
		if (pool[i].portal == IPCZ_INVALID_HANDLE) {
			pool[i].portal = portal;
			pool[i].node = node;
			return i;
		}
	}
	return -1;
}

static void drain(IpczHandle portal)
{
	char buffer[64];
	size_t num_bytes = sizeof(buffer);

	while (ipcz.Get(portal, IPCZ_GET_PARTIAL, NULL, buffer, &num_bytes,
			NULL, NULL, NULL) == IPCZ_RESULT_OK)
		num_bytes = sizeof(buffer);
}

/* Moves a portal from node `from` to node `to` (one of them the broker). */
static bool carry(struct ct_net *net, IpczHandle *portal, int from, int to)
{
	if (from == 0)
		return hop(net->to_client[to], net->to_broker[to], portal);
	return hop(net->to_broker[from], net->to_client[from], portal);
}

/* The body of the random tests; with `deaths`, clients die on the way. */
static void random_run(struct __test_metadata *_metadata, bool deaths)
{
	struct pooled pool[POOL];
	struct ct_net net;
	bool dead[4] = { false };
	unsigned int seed = getenv("CT_SEED") ? (unsigned int)atoi(
		getenv("CT_SEED")) : (unsigned int)ct_now_ms();
	int op, i;

	TH_LOG("seed %u", seed);
	srand(seed);
	memset(pool, 0, sizeof(pool));
	ASSERT_TRUE(ct_net_up(&net, 4));
	for (op = 0; op < 1500; op++) {
		int pick = rand() % POOL, node = rand() % 4;
		struct pooled *e = &pool[pick];
		IpczHandle a, b;

		if (deaths && op % 500 == 499) {
			/* A client dies; its portals stay valid handles. */
			node = 1 + op / 500;
			ct_close(&net.node[node]);
			dead[node] = true;
			continue;
		}
		switch (rand() % 6) {
		case 0:
			if (dead[node] ||
			    ipcz.OpenPortals(net.node[node], IPCZ_NO_FLAGS,
					     NULL, &a, &b) != IPCZ_RESULT_OK)
				break;
			if (pool_add(pool, a, node) < 0)
				ct_close(&a);
			if (pool_add(pool, b, node) < 0)
				ct_close(&b);
			break;
		case 1:
		case 2:
			if (e->portal)
				ipcz.Put(e->portal, &op, sizeof(op), NULL, 0,
					 IPCZ_NO_FLAGS, NULL);
			break;
		case 3:
			if (e->portal)
				drain(e->portal);
			break;
		case 4:
			if (e->portal && rand() % 3 == 0)
				ct_close(&e->portal);
			break;
		default:
			/* Move it one hop: to the broker, or out from it. */
			if (!e->portal || dead[e->node])
				break;
			node = e->node == 0 ? 1 + rand() % 3 : 0;
			if (dead[node])
				break;
			ASSERT_TRUE(carry(&net, &e->portal, e->node, node));
			e->node = node;
			break;
		}
	}
	for (i = 0; i < POOL; i++) {
		if (pool[i].portal)
			drain(pool[i].portal);
		ct_close(&pool[i].portal);
	}
	ct_net_down(&net);
	CT_EXPECT_CONTRACT_KEPT();
}

TEST(random_operations)
{
	random_run(_metadata, false);
}

/* The same with the three clients dying one by one along the way. */
TEST(random_operations_with_deaths)
{
	random_run(_metadata, true);
}

TEST_HARNESS_MAIN
