// SPDX-License-Identifier: MIT
/*
 * Two nodes in one process joined by in-process transports: the
 * handshake (broker and non-broker, two brokers, refused pairings, extra
 * initial portals), parcels both ways (also put before the handshake),
 * portals sent to the other node and back (proxies), driver objects and
 * application objects crossing (as subparcels), closure and node shutdown
 * seen across, traps raised by the other node, and Reject(); and broker
 * introductions as one client sees them from a fake broker (a good one
 * starts the new link's handshake, duplicates and refusals are harmless,
 * malformed or misdirected ones drop the link).
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "lib/handle_table.h"
#include "lib/router_bypass.h"
#include "lib_test.h"
#include "net_fixture.h"
#include "nodes_fixture.h"

TEST_F(nodes, parcels_both_ways)
{
	char buf[32];
	int i;

	for (i = 0; i < 20; i++) {
		snprintf(buf, sizeof(buf), "to client %d", i);
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, buf));
		snprintf(buf, sizeof(buf), "to broker %d", i);
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->b, buf));
	}
	for (i = 0; i < 20; i++) {
		char want[32];

		snprintf(want, sizeof(want), "to client %d", i);
		ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, buf, sizeof(buf)));
		ASSERT_STREQ(want, buf);
		snprintf(want, sizeof(want), "to broker %d", i);
		ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->a, buf, sizeof(buf)));
		ASSERT_STREQ(want, buf);
	}
}

TEST_F(nodes, closure_across_nodes)
{
	char buf[8];

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "last"));
	close_handle(self->a);
	self->a = IPCZ_INVALID_HANDLE;
	ASSERT_EQ(IPCZ_PORTAL_STATUS_PEER_CLOSED, status_flags(self->b));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, buf, sizeof(buf)));
	ASSERT_TRUE(link_dropped(self->b));
	ASSERT_EQ(IPCZ_RESULT_NOT_FOUND, put_str(self->b, "x"));
}

TEST_F(nodes, closing_a_node_breaks_its_routes)
{
	close_handle(self->broker);
	self->broker = IPCZ_INVALID_HANDLE;
	ASSERT_TRUE(link_dropped(self->b));
	ASSERT_TRUE(link_dropped(self->a));
}

TEST_F(nodes, portal_to_the_other_node_and_back)
{
	IpczHandle c, d, got, back;
	char buf[16];
	size_t h = 1;

	test_portals(self->broker, &c, &d);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(c, "queued"));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, "d", 1, &d, 1, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(self->b, 0, NULL, buf,
					   &(size_t){ sizeof(buf) }, &got, &h,
					   NULL));
	ASSERT_EQ(1, h);
	/* What was queued in d came along; traffic flows both ways. */
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(got, buf, sizeof(buf)));
	ASSERT_STREQ("queued", buf);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(got, "from client"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(c, buf, sizeof(buf)));
	ASSERT_STREQ("from client", buf);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(c, "from broker"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(got, buf, sizeof(buf)));
	ASSERT_STREQ("from broker", buf);
	/* Send it back: now two proxies deep. */
	h = 1;
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->b, NULL, 0, &got, 1, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(self->a, 0, NULL, NULL, NULL, &back,
					   &h, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(back, "round trip"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(c, buf, sizeof(buf)));
	ASSERT_STREQ("round trip", buf);
	/* Closure travels through the proxies too. */
	close_handle(c);
	ASSERT_TRUE(link_dropped(back));
	close_handle(back);
}

TEST_F(nodes, both_ends_of_a_pair_to_the_other_node)
{
	IpczHandle pair[2], got[2];
	char buf[8];
	size_t h = 2;

	test_portals(self->broker, &pair[0], &pair[1]);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, pair, 2, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(self->b, 0, NULL, NULL, NULL, got,
					   &h, NULL));
	ASSERT_EQ(2, h);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(got[0], "loop"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(got[1], buf, sizeof(buf)));
	ASSERT_STREQ("loop", buf);
	close_handle(got[0]);
	ASSERT_EQ(IPCZ_PORTAL_STATUS_PEER_CLOSED | IPCZ_PORTAL_STATUS_DEAD,
		  status_flags(got[1]));
	close_handle(got[1]);
}

struct record {
	int count;
	IpczTrapConditionFlags flags;
};

static void record(const struct IpczTrapEvent *event)
{
	struct record *r = (struct record *)event->context;

	r->count++;
	r->flags = event->condition_flags;
}

TEST_F(nodes, remote_events_are_not_within_api_call)
{
	const struct IpczTrapConditions c = {
		.size = sizeof(c),
		.flags = IPCZ_TRAP_NEW_LOCAL_PARCEL,
	};
	struct record r = { 0 };

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Trap(self->b, &c, record, (uintptr_t)&r,
					    0, NULL, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "x"));
	ASSERT_EQ(1, r.count);
	/* Delivered by the transport, even though on this very thread. */
	ASSERT_EQ(IPCZ_TRAP_NEW_LOCAL_PARCEL, r.flags);
}

TEST_F(nodes, traps_removed_when_portal_leaves)
{
	const struct IpczTrapConditions c = {
		.size = sizeof(c),
		.flags = IPCZ_TRAP_NEW_LOCAL_PARCEL,
	};
	struct record r = { 0 };
	IpczHandle x, y;

	test_portals(self->broker, &x, &y);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Trap(y, &c, record, (uintptr_t)&r, 0,
					    NULL, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, &y, 1, 0, NULL));
	ASSERT_EQ(1, r.count);
	ASSERT_EQ(IPCZ_TRAP_REMOVED | IPCZ_TRAP_WITHIN_API_CALL, r.flags);
	close_handle(x);
}

static int reports;
static uintptr_t reported_context;

static void on_bad_activity(IpczDriverHandle transport, uintptr_t context)
{
	reports++;
	reported_context = context;
}

TEST_F(nodes, reject_remote_parcel)
{
	IpczHandle parcel;
	char byte;
	size_t n = 1;

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "!"));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(self->b, 0, NULL, &byte, &n, NULL,
					   NULL, &parcel));
	reports = 0;
	ipcz_inprocess_set_bad_activity_hook(on_bad_activity);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Reject(parcel, 42, 0, NULL));
	ipcz_inprocess_set_bad_activity_hook(NULL);
	ASSERT_EQ(1, reports);
	ASSERT_EQ(42, reported_context);
	/* Once the link is gone, there is nobody left to tell. */
	close_handle(self->broker);
	self->broker = IPCZ_INVALID_HANDLE;
	ASSERT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  ipcz.Reject(parcel, 43, 0, NULL));
	close_handle(parcel);
}

TEST_F(nodes, driver_objects_cross)
{
	IpczDriverHandle object = ipcz_inprocess_test_object_create(99, 1);
	struct IpczBoxContents contents = {
		.size = sizeof(contents),
		.type = IPCZ_BOX_TYPE_DRIVER_OBJECT,
		.object.driver_object = object,
	};
	IpczHandle box, got;
	size_t h = 1;
	uintptr_t value;

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Box(self->broker, &contents, 0, NULL,
					   &box));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, &box, 1, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(self->b, 0, NULL, NULL, NULL, &got,
					   &h, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Unbox(got, 0, NULL, &contents));
	ASSERT_EQ(IPCZ_BOX_TYPE_DRIVER_OBJECT, contents.type);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz_inprocess_test_object_value(
			  contents.object.driver_object, &value));
	ASSERT_EQ(99, value);
	ipcz_inprocess_driver()->Close(contents.object.driver_object, 0, NULL);
}

static int serialized, destroyed;

static IpczResult serialize_pair(uintptr_t object, uint32_t flags,
				 const void *options, volatile void *data,
				 size_t *num_bytes, IpczHandle *handles,
				 size_t *num_handles)
{
	IpczHandle *portal = (IpczHandle *)object;
	size_t room = num_bytes ? *num_bytes : 0;
	size_t handle_room = num_handles ? *num_handles : 0;

	*num_bytes = 5;
	*num_handles = 1;
	if (room < 5 || handle_room < 1)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	memcpy((void *)data, "hello", 5);
	handles[0] = *portal;
	serialized++;
	return IPCZ_RESULT_OK;
}

static void destroy_pair(uintptr_t object, uint32_t flags, const void *options)
{
	destroyed++;
}

TEST_F(nodes, application_object_becomes_a_subparcel)
{
	IpczHandle x, y, box, got, subparcel, portal;
	struct IpczBoxContents contents = {
		.size = sizeof(contents),
		.type = IPCZ_BOX_TYPE_APPLICATION_OBJECT,
		.serializer = serialize_pair,
		.destructor = destroy_pair,
	};
	char buf[16];
	size_t n = sizeof(buf), h = 1;

	test_portals(self->broker, &x, &y);
	contents.object.application_object = (uintptr_t)&y;
	serialized = destroyed = 0;
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Box(self->broker, &contents, 0, NULL,
					   &box));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, &box, 1, 0, NULL));
	ASSERT_EQ(1, serialized);
	ASSERT_EQ(1, destroyed);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(self->b, 0, NULL, NULL, NULL, &got,
					   &h, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Unbox(got, 0, NULL, &contents));
	ASSERT_EQ(IPCZ_BOX_TYPE_SUBPARCEL, contents.type);
	subparcel = contents.object.subparcel;
	h = 1;
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(subparcel, 0, NULL, buf, &n,
					   &portal, &h, NULL));
	ASSERT_EQ(5, n);
	ASSERT_EQ(0, memcmp(buf, "hello", 5));
	ASSERT_EQ(1, h);
	/* The portal inside the object made it across too. */
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(portal, "via subparcel"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(x, buf, sizeof(buf)));
	ASSERT_STREQ("via subparcel", buf);
	close_handle(portal);
	close_handle(subparcel);
	close_handle(x);
}

TEST(parcels_before_the_handshake)
{
	IpczHandle broker = new_node(IPCZ_CREATE_NODE_AS_BROKER);
	IpczHandle client = new_node(IPCZ_NO_FLAGS);
	IpczHandle a[3], b[2];
	IpczDriverHandle t0, t1;
	char buf[16];

	transports(&t0, &t1);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.ConnectNode(broker, t0, 3, IPCZ_NO_FLAGS, NULL, a));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(a[0], "early"));
	ASSERT_EQ(0, status_flags(a[2]));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.ConnectNode(client, t1, 2, IPCZ_CONNECT_NODE_TO_BROKER,
				   NULL, b));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(b[0], buf, sizeof(buf)));
	ASSERT_STREQ("early", buf);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(b[1], "second"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(a[1], buf, sizeof(buf)));
	ASSERT_STREQ("second", buf);
	/* The client asked for fewer portals: the third sees closure. */
	ASSERT_EQ(IPCZ_PORTAL_STATUS_PEER_CLOSED | IPCZ_PORTAL_STATUS_DEAD,
		  status_flags(a[2]));
	close_handle(a[0]);
	close_handle(a[1]);
	close_handle(a[2]);
	close_handle(b[0]);
	close_handle(b[1]);
	close_handle(client);
	close_handle(broker);
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
	ASSERT_EQ(0, leaks_found());
}

TEST(two_brokers)
{
	IpczHandle x = new_node(IPCZ_CREATE_NODE_AS_BROKER);
	IpczHandle y = new_node(IPCZ_CREATE_NODE_AS_BROKER);
	IpczHandle p, q;
	char buf[8];

	ASSERT_EQ(IPCZ_RESULT_OK,
		  join_nodes(x, IPCZ_CONNECT_NODE_TO_BROKER, y,
			     IPCZ_CONNECT_NODE_TO_BROKER, &p, &q));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(p, "hi"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(q, buf, sizeof(buf)));
	ASSERT_STREQ("hi", buf);
	close_handle(p);
	close_handle(q);
	close_handle(x);
	close_handle(y);
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
}

TEST(mismatched_roles_disconnect)
{
	IpczHandle x = new_node(IPCZ_CREATE_NODE_AS_BROKER);
	IpczHandle y = new_node(IPCZ_CREATE_NODE_AS_BROKER);
	IpczHandle p, q;

	/* A broker connecting without TO_BROKER expects a non-broker. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  join_nodes(x, IPCZ_NO_FLAGS, y, IPCZ_NO_FLAGS, &p, &q));
	ASSERT_TRUE(link_dropped(p));
	ASSERT_TRUE(link_dropped(q));
	ASSERT_EQ(IPCZ_RESULT_NOT_FOUND, put_str(p, "x"));
	close_handle(p);
	close_handle(q);
	close_handle(x);
	close_handle(y);
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
}

TEST(garbage_from_the_transport_drops_the_link)
{
	const struct IpczDriver *driver = ipcz_inprocess_driver();
	const char garbage[] = "not an ipcz message at all";
	IpczDriverHandle t1;
	IpczHandle a;
	IpczHandle broker = node_facing_test(driver,
					     IPCZ_CREATE_NODE_AS_BROKER,
					     IPCZ_NO_FLAGS, &a, &t1);

	ASSERT_NE(IPCZ_INVALID_HANDLE, a);
	ASSERT_EQ(IPCZ_RESULT_OK, driver->Transmit(t1, garbage,
						   sizeof(garbage), NULL, 0, 0,
						   NULL));
	ASSERT_TRUE(link_dropped(a));
	close_node_facing_test(broker, a, t1);
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
}

TEST_F(nodes, merge_with_a_remote_route)
{
	IpczHandle c, d;
	char buf[16];

	/* b (client) -- a (broker) merged with c -- d: b and d are peers. */
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->b, "early"));
	test_portals(self->broker, &c, &d);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.MergePortals(self->a, c, 0, NULL));
	self->a = IPCZ_INVALID_HANDLE;
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(d, buf, sizeof(buf)));
	ASSERT_STREQ("early", buf);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(d, "to client"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, buf, sizeof(buf)));
	ASSERT_STREQ("to client", buf);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->b, "to broker"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(d, buf, sizeof(buf)));
	ASSERT_STREQ("to broker", buf);
	close_handle(self->b);
	self->b = IPCZ_INVALID_HANDLE;
	ASSERT_TRUE(link_dropped(d));
	close_handle(d);
}

/* Each node's portal driven by its own thread, parcels both ways. */
struct pump {
	IpczHandle portal;
	int sent, received;
	bool out_of_order;
};

static void *pump(void *arg)
{
	struct pump *p = arg;
	char buf[16];

	while (p->sent < 3000 || p->received < 3000) {
		if (p->sent < 3000) {
			snprintf(buf, sizeof(buf), "%d", p->sent);
			if (put_str(p->portal, buf) == IPCZ_RESULT_OK)
				p->sent++;
		}
		if (get_str(p->portal, buf, sizeof(buf)) == IPCZ_RESULT_OK) {
			if (atoi(buf) != p->received)
				p->out_of_order = true;
			p->received++;
		} else {
			sched_yield();
		}
	}
	return NULL;
}

TEST_F(nodes, threads_on_both_nodes)
{
	struct pump pumps[2] = { { .portal = self->a }, { .portal = self->b } };
	pthread_t threads[2];
	int i;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, pump,
					    &pumps[i]));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(threads[i], NULL));
	ASSERT_FALSE(pumps[0].out_of_order);
	ASSERT_FALSE(pumps[1].out_of_order);
}

/*
 * Portals moving while parcels flow: the broker thread sends fresh portals
 * to the client and talks over them; the client thread answers through
 * each and sends some back.
 */
#define MOVES 300

static void *client_side(void *arg)
{
	IpczHandle b = *(IpczHandle *)arg;
	int answered = 0;

	while (answered < MOVES) {
		IpczHandle portal = IPCZ_INVALID_HANDLE;
		char buf[16];
		size_t n = sizeof(buf), h = 1;
		IpczResult r = ipcz.Get(b, 0, NULL, buf, &n, &portal, &h, NULL);

		if (r == IPCZ_RESULT_UNAVAILABLE) {
			sched_yield();
			continue;
		}
		if (r != IPCZ_RESULT_OK || h != 1)
			return (void *)1;
		if (put_str(portal, "answer") != IPCZ_RESULT_OK)
			return (void *)2;
		/* Every third portal goes back the way it came. */
		if (answered % 3 == 0) {
			if (ipcz.Put(b, NULL, 0, &portal, 1, 0, NULL) !=
			    IPCZ_RESULT_OK)
				return (void *)3;
		} else {
			close_handle(portal);
		}
		answered++;
	}
	return NULL;
}

TEST_F(nodes, portals_move_while_parcels_flow)
{
	IpczHandle kept[MOVES];
	pthread_t thread;
	void *failed;
	char buf[16];
	int i, returned = 0;

	ASSERT_EQ(0, pthread_create(&thread, NULL, client_side, &self->b));
	for (i = 0; i < MOVES; i++) {
		IpczHandle other;

		test_portals(self->broker, &kept[i], &other);
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(kept[i], "question"));
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.Put(self->a, "p", 1, &other, 1, 0, NULL));
	}
	for (i = 0; i < MOVES; i++) {
		IpczResult r;

		while ((r = get_str(kept[i], buf, sizeof(buf))) ==
		       IPCZ_RESULT_UNAVAILABLE)
			sched_yield();
		ASSERT_EQ(IPCZ_RESULT_OK, r);
		ASSERT_STREQ("answer", buf);
	}
	ASSERT_EQ(0, pthread_join(thread, &failed));
	ASSERT_EQ(NULL, failed);
	/* The portals sent back arrive here, still joined to kept[]. */
	for (;;) {
		IpczHandle back;
		size_t h = 1;

		if (ipcz.Get(self->a, 0, NULL, NULL, NULL, &back, &h, NULL) !=
		    IPCZ_RESULT_OK)
			break;
		ASSERT_EQ(IPCZ_RESULT_OK, get_str(back, buf, sizeof(buf)));
		ASSERT_STREQ("question", buf);
		close_handle(back);
		returned++;
	}
	ASSERT_EQ(MOVES / 3, returned);
	for (i = 0; i < MOVES; i++)
		close_handle(kept[i]);
}

TEST_F(nodes, referral_reaches_the_broker_through_the_referrer)
{
	IpczHandle referred = new_node(IPCZ_NO_FLAGS), r, s2, x, y, got;
	char buf[16];

	/* The client (which has the broker) refers a new node. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  join_nodes(self->client, IPCZ_CONNECT_NODE_SHARE_BROKER,
			     referred, IPCZ_CONNECT_NODE_INHERIT_BROKER, &r,
			     &s2));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(r, "welcome"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(s2, buf, sizeof(buf)));
	ASSERT_STREQ("welcome", buf);
	/* A portal from the broker reaches the referred node. */
	test_portals(self->broker, &x, &y);
	got = send_portal_across(self->a, self->b, y);
	ASSERT_NE(IPCZ_INVALID_HANDLE, got);
	got = send_portal_across(r, s2, got);
	ASSERT_NE(IPCZ_INVALID_HANDLE, got);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(got, "hello broker"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(x, buf, sizeof(buf)));
	ASSERT_STREQ("hello broker", buf);
	close_handle(got);
	close_handle(x);
	close_handle(r);
	close_handle(s2);
	close_handle(referred);
}

TEST(referral_needs_an_inheriting_peer)
{
	IpczHandle x = new_node(IPCZ_NO_FLAGS), y = new_node(IPCZ_NO_FLAGS);
	IpczHandle p, q;

	/* Both sides sharing: nobody inherits, the link is refused. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  join_nodes(x, IPCZ_CONNECT_NODE_SHARE_BROKER, y,
			     IPCZ_CONNECT_NODE_SHARE_BROKER, &p, &q));
	ASSERT_TRUE(link_dropped(p));
	ASSERT_TRUE(link_dropped(q));
	close_handle(p);
	close_handle(q);
	close_handle(x);
	close_handle(y);
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
}

/* ---- hostile peers: random and mutated messages ---- */

/* Mirrors node_link.c: the first sublink of a transferred portal. */
#define FIRST_SUBLINK 64

static unsigned int fuzz_seed;

static unsigned int fuzz_next(void)
{
	fuzz_seed = fuzz_seed * 1103515245u + 12345u;
	return (fuzz_seed >> 8) & 0xffffff;
}

/*
 * A parcel message on sublink 0, mostly well formed (records and data that
 * add up, one driver handle per driver object), then random damage.
 */
static size_t hostile_parcel(uint8_t *buf, size_t room, size_t *num_handles)
{
	struct msg_parcel parcel = {
		.header = { .type = MSG_PARCEL },
		.sublink = fuzz_next() % 8 ? 0 : fuzz_next(),
		.seq = fuzz_next() % 8,
		.num_bytes = fuzz_next() % 16,
		.num_objects = fuzz_next() % 3,
	};
	struct wire_object record = { 0 };
	size_t size = sizeof(parcel), data = parcel.num_bytes, i;

	*num_handles = 0;
	parcel.num_records = parcel.num_objects;
	for (i = 0; i < parcel.num_records; i++) {
		memset(&record, 0, sizeof(record));
		record.kind = 1 + fuzz_next() % 4;
		if (record.kind == WIRE_PORTAL) {
			record.sublink =
				((FIRST_SUBLINK + fuzz_next() % 4) << 1) | 0;
			record.next_outbound = fuzz_next() % 3;
			record.next_inbound = fuzz_next() % 3;
		} else if (record.kind == WIRE_DRIVER_OBJECT &&
			   *num_handles < 2) {
			record.first_handle = (uint32_t)(*num_handles)++;
			record.num_handles = 1;
		} else if (record.kind == WIRE_SUBPARCEL) {
			record.num_bytes = fuzz_next() % 4;
			data += record.num_bytes;
		} else {
			record.kind = WIRE_LOST;
		}
		memcpy(buf + size, &record, sizeof(record));
		size += sizeof(record);
	}
	for (i = 0; i < data && size < room; i++)
		buf[size++] = (uint8_t)fuzz_next();
	parcel.num_driver_handles = (uint32_t)*num_handles;
	parcel.header.size = (uint32_t)size;
	/* Mostly the next number, sometimes a replayed or a future one. */
	parcel.header.seq = fuzz_next() % 16 ? wire_seq++ : fuzz_next() % 4;
	memcpy(buf, &parcel, sizeof(parcel));
	/* One message in four is damaged somewhere, the header included. */
	if (fuzz_next() % 4 == 0) {
		for (i = 1 + fuzz_next() % 3; i > 0; i--)
			buf[fuzz_next() % size] ^=
				(uint8_t)(1u << (fuzz_next() % 8));
	}
	if (fuzz_next() % 16 == 0)
		size -= fuzz_next() % size;
	return size;
}

TEST(hostile_messages_never_crash)
{
	const struct IpczDriver *driver = ipcz_inprocess_driver();
	IpczHandle broker = new_node(IPCZ_CREATE_NODE_AS_BROKER);
	IpczHandle a = IPCZ_INVALID_HANDLE;
	IpczDriverHandle t0, t1 = IPCZ_INVALID_DRIVER_HANDLE;
	uint8_t buf[512];
	int i, connections = 0;

	fuzz_seed = 7;
	for (i = 0; i < 3000; i++) {
		IpczDriverHandle handles[2];
		size_t size, num_handles, k;

		if (t1 == IPCZ_INVALID_DRIVER_HANDLE ||
		    (status_flags(a) & IPCZ_PORTAL_STATUS_DEAD)) {
			/* The last one was dropped: start a new link. */
			if (t1 != IPCZ_INVALID_DRIVER_HANDLE) {
				driver->Close(t1, 0, NULL);
				close_handle(a);
			}
			transports(&t0, &t1);
			ASSERT_EQ(IPCZ_RESULT_OK,
				  ipcz.ConnectNode(broker, t0, 1,
						   IPCZ_NO_FLAGS, NULL, &a));
			fake_connect(t1, 1, 0,
				     IPCZ_CONNECT_NODE_TO_BROKER);
			connections++;
		}
		if (fuzz_next() % 8 == 0)
			put_str(a, "traffic");
		size = hostile_parcel(buf, sizeof(buf), &num_handles);
		if (fuzz_next() % 8 == 0 && num_handles < 2)
			num_handles++;
		for (k = 0; k < num_handles; k++)
			handles[k] = ipcz_inprocess_test_object_create(k, 1);
		driver->Transmit(t1, buf, size, handles, num_handles, 0, NULL);
		/* Whatever reached the portal is read and dropped. */
		while (ipcz.Get(a, IPCZ_GET_PARTIAL, NULL, NULL, NULL, NULL,
				NULL, NULL) == IPCZ_RESULT_OK)
			;
	}
	TH_LOG("%d connections for 3000 messages", connections);
	close_node_facing_test(broker, a, t1);
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
	ASSERT_EQ(0, leaks_found());
}

/* ---- introductions ---- */

/* What a test's end of a transport received: message types, in order. */
static uint16_t seen_types[32];
static uint8_t seen_introduced[32];
static int num_seen;
static struct msg_bypass last_bypass;	/* the last MSG_BYPASS seen */

static IpczResult IPCZ_API record_activity(IpczHandle listener,
					   const void *data, size_t num_bytes,
					   const IpczDriverHandle *handles,
					   size_t num_handles,
					   IpczTransportActivityFlags flags,
					   const void *options)
{
	struct msg_connect connect;
	size_t i;

	for (i = 0; i < num_handles; i++)
		ipcz_inprocess_driver()->Close(handles[i], 0, NULL);
	if (num_bytes < sizeof(struct msg_header) || num_seen == 32)
		return IPCZ_RESULT_OK;
	memcpy(&connect, data, num_bytes < sizeof(connect) ? num_bytes :
							      sizeof(connect));
	if (connect.header.type == MSG_BYPASS &&
	    num_bytes == sizeof(last_bypass))
		memcpy(&last_bypass, data, sizeof(last_bypass));
	seen_types[num_seen] = connect.header.type;
	seen_introduced[num_seen++] = num_bytes >= sizeof(connect) &&
				      connect.introduced;
	return IPCZ_RESULT_OK;
}

static void accept_introduction(IpczDriverHandle t, uint8_t name0,
				uint8_t side, uint32_t claimed_bytes,
				const IpczDriverHandle *handles,
				size_t num_handles)
{
	struct msg_accept_introduction message = {
		.header = { .type = MSG_ACCEPT_INTRODUCTION },
		.side = side,
		.transport_bytes = claimed_bytes,
	};

	message.name[0] = name0;
	transmit_raw(t, &message, sizeof(message), handles, num_handles);
}

/*
 * Whether a client, its link to its (fake) broker alive, drops that link
 * when the broker sends it `message` with `num_handles` fresh test objects.
 */
static int introduction_drops_the_link(struct msg_accept_introduction *message,
				       size_t num_handles)
{
	IpczDriverHandle t1, handles[9];
	IpczHandle portal;
	IpczHandle client = client_of_fake_broker(&portal, &t1);
	int was_alive = portal != IPCZ_INVALID_HANDLE &&
			!(status_flags(portal) & IPCZ_PORTAL_STATUS_DEAD);
	int dropped;
	size_t k;

	for (k = 0; k < num_handles && k < 9; k++)
		handles[k] = ipcz_inprocess_test_object_create(k, 1);
	transmit_raw(t1, message, sizeof(*message), handles, k);
	dropped = was_alive && link_dropped(portal);
	close_node_facing_test(client, portal, t1);
	return dropped;
}

/* Each malformed introduction from the broker drops the client's link. */
TEST(bad_introductions_drop_the_link)
{
	static const struct {
		uint8_t name0, side;
		uint32_t bytes;
		size_t handles;
	} cases[] = {
		{ 5, 2, 0, 1 },		/* no such side */
		{ 0, 0, 0, 1 },		/* no name */
		{ 9, 0, 0, 1 },		/* the broker itself */
		{ 5, 0, 4, 1 },		/* bytes that are not there */
		{ 5, 0, 0, 9 },		/* too many handles */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct msg_accept_introduction message = {
			.header = { .type = MSG_ACCEPT_INTRODUCTION },
			.side = cases[i].side,
			.transport_bytes = cases[i].bytes,
		};

		message.name[0] = cases[i].name0;
		EXPECT_TRUE(introduction_drops_the_link(&message,
							cases[i].handles))
			TH_LOG("case %zu", i);
	}
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
	ASSERT_EQ(0, leaks_found());
}

/*
 * Introductions come only from a node's own broker, requests go only to a
 * broker: a broker sent an introduction, or a client sent a request,
 * drops the link.
 */
TEST(introductions_only_from_the_broker)
{
	const struct IpczDriver *driver = ipcz_inprocess_driver();
	struct msg_introduction_name request = {
		.header = { .type = MSG_REQUEST_INTRODUCTION },
	};
	IpczDriverHandle t1, end[2];
	IpczHandle a, portal, client;
	IpczHandle broker = node_facing_test(driver,
					     IPCZ_CREATE_NODE_AS_BROKER,
					     IPCZ_NO_FLAGS, &a, &t1);

	ASSERT_NE(IPCZ_INVALID_HANDLE, a);
	fake_connect(t1, 1, 0, IPCZ_CONNECT_NODE_TO_BROKER);
	transports(&end[0], &end[1]);
	accept_introduction(t1, 5, 0, 0, &end[0], 1);
	EXPECT_TRUE(link_dropped(a));
	driver->Close(end[1], 0, NULL);
	close_node_facing_test(broker, a, t1);

	client = client_of_fake_broker(&portal, &t1);
	request.name[0] = 5;
	transmit_raw(t1, &request, sizeof(request), NULL, 0);
	EXPECT_TRUE(link_dropped(portal));
	close_node_facing_test(client, portal, t1);
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
	ASSERT_EQ(0, leaks_found());
}

/*
 * A request for a node the broker does not know is refused (the refusal
 * travels in the link's pool, so only the handshake shows on the
 * transport), and the link stays; so does a client's link when its broker
 * refuses an introduction.
 */
TEST(refused_introductions_keep_the_link)
{
	const struct IpczDriver *driver = ipcz_inprocess_driver();
	IpczHandle broker = new_node(IPCZ_CREATE_NODE_AS_BROKER), a;
	struct msg_introduction_name request = {
		.header = { .type = MSG_REQUEST_INTRODUCTION },
	};
	IpczDriverHandle t0, t1;

	num_seen = 0;
	transports(&t0, &t1);
	ASSERT_EQ(IPCZ_RESULT_OK, driver->ActivateTransport(t1, 1,
							    record_activity,
							    0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.ConnectNode(broker, t0, 1,
						   IPCZ_NO_FLAGS, NULL, &a));
	fake_connect(t1, 1, 0, IPCZ_CONNECT_NODE_TO_BROKER);
	request.name[0] = 0x55;
	transmit_raw(t1, &request, sizeof(request), NULL, 0);
	ASSERT_EQ(0, status_flags(a) & IPCZ_PORTAL_STATUS_DEAD);
	ASSERT_LE(1, num_seen);
	EXPECT_EQ(MSG_CONNECT, seen_types[0]);
	driver->DeactivateTransport(t1, 0, NULL);
	close_node_facing_test(broker, a, t1);

	broker = client_of_fake_broker(&a, &t1);
	request.header.type = MSG_REJECT_INTRODUCTION;
	transmit_raw(t1, &request, sizeof(request), NULL, 0);
	ASSERT_EQ(0, status_flags(a) & IPCZ_PORTAL_STATUS_DEAD);
	close_node_facing_test(broker, a, t1);
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
	ASSERT_EQ(0, leaks_found());
}

/*
 * A bypass step for a sublink the node does not know (a route it let go
 * of, or a link its peer prepared before this side had it) is answered on
 * that sublink, and the link stays: READY and PROBE with GONE (so the
 * asking router breaks that route rather than wait on a link whose far end
 * is gone), REQUEST with DECLINED, LINK_TO with REFUSED. The client of a
 * fake broker that sent no buffer has no pool: every answer travels
 * through the driver, where the test sees it.
 */
TEST(bypass_steps_on_unknown_sublinks_are_answered)
{
	static const uint32_t steps[][2] = {
		{ BYPASS_READY, BYPASS_GONE },
		{ BYPASS_PROBE, BYPASS_GONE },
		{ BYPASS_REQUEST, BYPASS_DECLINED },
		{ BYPASS_LINK_TO, BYPASS_REFUSED },
	};
	const struct IpczDriver *driver = ipcz_inprocess_driver();
	IpczDriverHandle t1;
	IpczHandle portal;
	IpczHandle client = node_facing_test(driver, IPCZ_NO_FLAGS,
					     IPCZ_CONNECT_NODE_TO_BROKER,
					     &portal, &t1);
	size_t i;

	num_seen = 0;
	ASSERT_EQ(IPCZ_RESULT_OK, driver->ActivateTransport(t1, 1,
							    record_activity,
							    0, NULL));
	fake_connect(t1, 9, 1, IPCZ_NO_FLAGS);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct msg_bypass step = {
			.header = { .type = MSG_BYPASS },
			.sublink = 4242 + i,
			.op = steps[i][0],
		};

		memset(&last_bypass, 0, sizeof(last_bypass));
		transmit_raw(t1, &step, sizeof(step), NULL, 0);
		EXPECT_EQ(MSG_BYPASS, last_bypass.header.type);
		EXPECT_EQ(steps[i][1], last_bypass.op);
		EXPECT_EQ(4242 + i, last_bypass.sublink);
	}
	ASSERT_EQ(0, status_flags(portal) & IPCZ_PORTAL_STATUS_DEAD);
	driver->DeactivateTransport(t1, 0, NULL);
	close_node_facing_test(client, portal, t1);
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
	ASSERT_EQ(0, leaks_found());
}

/*
 * The broker's buffer for an introduced link: counts or sizes that do not
 * add up drop the link; a side A claiming the broker's buffer where there
 * is none, or a peer that was not introduced claiming it, too.
 */
TEST(bad_introduction_memory_drops_the_link)
{
	const struct IpczDriver *driver = ipcz_inprocess_driver();
	static const struct {
		uint32_t memory_bytes, memory_handles;
		size_t handles;
	} cases[] = {
		{ 0, 2, 1 },	/* more memory handles than handles */
		{ 4, 0, 1 },	/* memory bytes that are not there */
		{ 0, 5, 6 },	/* too many memory handles */
	};
	struct msg_connect connect = {
		.header = { .type = MSG_CONNECT },
		.flags = IPCZ_CONNECT_NODE_TO_BROKER,
		.num_initial_portals = 1,
		.introducer_pool = 1,
	};
	IpczDriverHandle t1, mine[2];
	IpczHandle portal, client, broker, a;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct msg_accept_introduction message = {
			.header = { .type = MSG_ACCEPT_INTRODUCTION },
			.memory_bytes = cases[i].memory_bytes,
			.memory_handles = cases[i].memory_handles,
		};

		message.name[0] = 5;
		EXPECT_TRUE(introduction_drops_the_link(&message,
							cases[i].handles))
			TH_LOG("case %zu", i);
	}

	/* Side A of an introduction claims a buffer side B never got. */
	client = client_of_fake_broker(&portal, &t1);
	transports(&mine[0], &mine[1]);
	accept_introduction(t1, 5, 1, 0, &mine[0], 1);
	{
		struct msg_connect intro = {
			.header = { .type = MSG_CONNECT, .seq = 0 },
			.introduced = 1,
			.introducer_pool = 1,
		};
		intro.name[0] = 5;
		intro.header.size = sizeof(intro);
		driver->Transmit(mine[1], &intro, sizeof(intro), NULL, 0, 0,
				 NULL);
	}
	/* That link goes; the broker's stays. */
	{
		struct ipcz_node_info info = { .size = sizeof(info) };

		ipcz_introspect_node(client, &info);
		EXPECT_EQ(1, info.node_links);
	}
	EXPECT_EQ(0, status_flags(portal) & IPCZ_PORTAL_STATUS_DEAD);
	driver->Close(mine[1], 0, NULL);
	close_node_facing_test(client, portal, t1);

	/* A client that was not introduced claims it. */
	broker = node_facing_test(driver, IPCZ_CREATE_NODE_AS_BROKER,
				  IPCZ_NO_FLAGS, &a, &t1);
	ASSERT_NE(IPCZ_INVALID_HANDLE, a);
	connect.name[0] = 1;
	wire_seq = 0;
	transmit_raw(t1, &connect, sizeof(connect), NULL, 0);
	EXPECT_TRUE(link_dropped(a));
	close_node_facing_test(broker, a, t1);
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
	ASSERT_EQ(0, leaks_found());
}

/*
 * A good introduction: the client, side A, starts the new link's
 * handshake (marked as introduced) on the transport it was given; a
 * second introduction to the same node is ignored and its transport
 * closed.
 */
TEST(introduction_starts_a_link)
{
	const struct IpczDriver *driver = ipcz_inprocess_driver();
	IpczDriverHandle t1, mine[2], dup[2];
	IpczHandle portal = IPCZ_INVALID_HANDLE;
	IpczHandle client = client_of_fake_broker(&portal, &t1);

	num_seen = 0;
	transports(&mine[0], &mine[1]);
	ASSERT_EQ(IPCZ_RESULT_OK, driver->ActivateTransport(mine[1], 1,
							    record_activity,
							    0, NULL));
	accept_introduction(t1, 5, 0, 0, &mine[0], 1);
	ASSERT_EQ(0, status_flags(portal) & IPCZ_PORTAL_STATUS_DEAD);
	ASSERT_EQ(1, num_seen);
	EXPECT_EQ(MSG_CONNECT, seen_types[0]);
	EXPECT_EQ(1, seen_introduced[0]);

	transports(&dup[0], &dup[1]);
	accept_introduction(t1, 5, 1, 0, &dup[0], 1);
	ASSERT_EQ(0, status_flags(portal) & IPCZ_PORTAL_STATUS_DEAD);
	EXPECT_EQ(1, num_seen);
	driver->Close(dup[1], 0, NULL);

	driver->DeactivateTransport(mine[1], 0, NULL);
	driver->Close(mine[1], 0, NULL);
	close_node_facing_test(client, portal, t1);
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
	ASSERT_EQ(0, leaks_found());
}

TEST_HARNESS_MAIN
