// SPDX-License-Identifier: MIT
/*
 * Relay of driver objects through the broker (lib/relay.c), with the
 * in-process driver in forced-brokering mode: test objects cross only
 * transports with a broker at one end. Two clients of one broker get a
 * direct route (the broker introduces them); driver objects sent over it
 * arrive intact and in order with the parcels around them, both ways, in
 * subparcels too, and from threads; relay messages from anyone but the
 * broker, or to anyone but a broker, and malformed ones, drop the link.
 */
#include <pthread.h>
#include <sched.h>

#include "kselftest_harness.h"
#include "lib_test.h"
#include "net_fixture.h"

FIXTURE(network) {
	IpczHandle broker, client[2];
	/* to[i]: the broker's portal to client i; from[i]: client i's. */
	IpczHandle to[2], from[2];
};

FIXTURE_SETUP(network)
{
	int i;

	ipcz_inprocess_set_forced_brokering(1);
	self->broker = new_node(IPCZ_CREATE_NODE_AS_BROKER);
	for (i = 0; i < 2; i++) {
		self->client[i] = new_node(IPCZ_NO_FLAGS);
		ASSERT_EQ(IPCZ_RESULT_OK,
			  join_to_broker(self->broker, self->client[i],
					 IPCZ_CONNECT_NODE_TO_BROKER,
					 &self->to[i], &self->from[i]));
	}
}

FIXTURE_TEARDOWN(network)
{
	close_clients(self->broker, self->client, self->to, self->from, 2);
	EXPECT_EQ(0, ipcz_inprocess_live_objects());
	EXPECT_EQ(0, leaks_found());
}

/* Sends `portal` from the broker to client `i`; returns it there. */
static IpczHandle give(FIXTURE_DATA(network) *self, IpczHandle portal, int i)
{
	return send_portal_across(self->to[i], self->from[i], portal);
}

/* Whether `portal`'s route is direct to a portal on `node`. */
static int direct_to(IpczHandle portal, IpczHandle node)
{
	struct ipcz_portal_route_info info = { .size = sizeof(info) };
	struct ipcz_node_info peer = node_info_of(node);

	return ipcz_introspect_portal(portal, &info) == IPCZ_RESULT_OK &&
	       info.flags == (IPCZ_ROUTE_DIRECT | IPCZ_ROUTE_PEER_REMOTE |
			      IPCZ_ROUTE_PEER_NAME_KNOWN) &&
	       memcmp(info.peer_node_name, peer.name, 16) == 0;
}

/*
 * A route between the two clients with no proxy left, the two linked
 * directly over a transport the broker made (which refuses test objects).
 */
static int direct_route(FIXTURE_DATA(network) *self, IpczHandle *x,
			IpczHandle *y)
{
	IpczHandle p, q;
	int round;

	test_portals(self->broker, &p, &q);
	*x = give(self, p, 0);
	*y = give(self, q, 1);
	for (round = 0; round < 100; round++) {
		if (direct_to(*x, self->client[1]) &&
		    direct_to(*y, self->client[0]))
			return 1;
		ping_both_ways(*x, *y);
		sched_yield();
	}
	return 0;
}

static IpczHandle boxed_object(IpczHandle node, uintptr_t value)
{
	IpczDriverHandle object = ipcz_inprocess_test_object_create(value, 1);
	struct IpczBoxContents contents = {
		.size = sizeof(contents),
		.type = IPCZ_BOX_TYPE_DRIVER_OBJECT,
		.object.driver_object = object,
	};
	IpczHandle box = IPCZ_INVALID_HANDLE;

	ipcz.Box(node, &contents, 0, NULL, &box);
	return box;
}

/* Unboxes a driver object, returns its value (closing it), or -1. */
static long unboxed_value(IpczHandle box)
{
	struct IpczBoxContents contents = { .size = sizeof(contents) };
	uintptr_t value;

	if (ipcz.Unbox(box, 0, NULL, &contents) != IPCZ_RESULT_OK ||
	    contents.type != IPCZ_BOX_TYPE_DRIVER_OBJECT ||
	    ipcz_inprocess_test_object_value(contents.object.driver_object,
					     &value) != IPCZ_RESULT_OK)
		return -1;
	ipcz_inprocess_driver()->Close(contents.object.driver_object, 0,
				       NULL);
	return (long)value;
}

/* The forced-brokering driver refuses exactly what it should. */
TEST(forced_brokering_refuses_only_between_non_brokers)
{
	const struct IpczDriver *driver = ipcz_inprocess_driver();
	IpczDriverHandle object = ipcz_inprocess_test_object_create(1, 1);
	IpczDriverHandle t0, t1, u0, u1;
	size_t bytes = 0, handles = 0;

	ipcz_inprocess_set_forced_brokering(1);
	transports(&t0, &t1);
	transports(&u0, &u1);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_inprocess_transport_set_broker(u0));
	EXPECT_EQ(IPCZ_RESULT_PERMISSION_DENIED,
		  driver->Serialize(object, t0, 0, NULL, NULL, &bytes, NULL,
				    &handles));
	/* Either end of a broker's pair may carry it. */
	EXPECT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  driver->Serialize(object, u1, 0, NULL, NULL, &bytes, NULL,
				    &handles));
	/* Sendable at all: yes. */
	EXPECT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  driver->Serialize(object, IPCZ_INVALID_DRIVER_HANDLE, 0,
				    NULL, NULL, &bytes, NULL, &handles));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz_inprocess_transport_set_broker(object));
	ipcz_inprocess_set_forced_brokering(0);
	EXPECT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  driver->Serialize(object, t0, 0, NULL, NULL, &bytes, NULL,
				    &handles));
	driver->Close(object, 0, NULL);
	driver->Close(t0, 0, NULL);
	driver->Close(t1, 0, NULL);
	driver->Close(u0, 0, NULL);
	driver->Close(u1, 0, NULL);
	EXPECT_EQ(0, ipcz_inprocess_live_objects());
}

/*
 * Over the direct route, parcels with driver objects (one, several, with
 * data above the inline limit) arrive intact and in order with the plain
 * parcels around them, both ways.
 */
TEST_F(network, relayed_objects_arrive_in_order)
{
	static char big[3000], in[3000];
	IpczHandle end[2], boxes[2], got[2];
	char buf[64];
	size_t n, h;
	int dir;

	ASSERT_TRUE(direct_route(self, &end[0], &end[1]));
	memset(big, 'b', sizeof(big));
	for (dir = 0; dir < 2; dir++) {
		IpczHandle src = end[dir], dst = end[1 - dir];
		IpczHandle node = self->client[dir];

		ASSERT_EQ(IPCZ_RESULT_OK, put_str(src, "before"));
		boxes[0] = boxed_object(node, 42 + dir);
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.Put(src, "one", 3, boxes, 1, 0, NULL));
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(src, "between"));
		boxes[0] = boxed_object(node, 7);
		boxes[1] = boxed_object(node, 8);
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.Put(src, big, sizeof(big), boxes, 2, 0, NULL));
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(src, "after"));

		ASSERT_EQ(IPCZ_RESULT_OK, get_str(dst, buf, sizeof(buf)));
		ASSERT_STREQ("before", buf);
		n = sizeof(buf);
		h = 2;
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.Get(dst, 0, NULL, buf, &n, got, &h, NULL));
		ASSERT_EQ(3, n);
		ASSERT_EQ(1, h);
		EXPECT_EQ(42 + dir, unboxed_value(got[0]));
		close_handle(got[0]);
		ASSERT_EQ(IPCZ_RESULT_OK, get_str(dst, buf, sizeof(buf)));
		ASSERT_STREQ("between", buf);
		n = sizeof(in);
		h = 2;
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.Get(dst, 0, NULL, in, &n, got, &h, NULL));
		ASSERT_EQ(sizeof(big), n);
		ASSERT_EQ(0, memcmp(in, big, sizeof(big)));
		ASSERT_EQ(2, h);
		EXPECT_EQ(7, unboxed_value(got[0]));
		EXPECT_EQ(8, unboxed_value(got[1]));
		close_handle(got[0]);
		close_handle(got[1]);
		ASSERT_EQ(IPCZ_RESULT_OK, get_str(dst, buf, sizeof(buf)));
		ASSERT_STREQ("after", buf);
		EXPECT_EQ(IPCZ_RESULT_UNAVAILABLE,
			  get_str(dst, buf, sizeof(buf)));
	}
	/* The relay changed nothing about the route. */
	EXPECT_TRUE(direct_to(end[0], self->client[1]));
	EXPECT_TRUE(direct_to(end[1], self->client[0]));
	close_handle(end[0]);
	close_handle(end[1]);
}

/*
 * Upstream's stricter mode: memory is refused between non-brokers too.
 * The introduced link still gets a pool, the buffer the broker gave both
 * clients over their own links; large parcels use it and objects are
 * relayed.
 */
TEST_F(network, memory_refused_too_the_broker_gives_the_pool)
{
	static char big[70000], in[70000];
	IpczHandle x, y, box, got;
	uint64_t before[2];
	char buf[16];
	size_t n, h;
	int i;

	ipcz_inprocess_set_forced_brokering(2);
	before[0] = pool_bytes(self->client[0]);
	before[1] = pool_bytes(self->client[1]);
	ASSERT_TRUE(direct_route(self, &x, &y));
	EXPECT_EQ(2 * before[0], pool_bytes(self->client[0]));
	EXPECT_EQ(2 * before[1], pool_bytes(self->client[1]));
	memset(big, 'm', sizeof(big));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(x, "plain"));
		box = boxed_object(self->client[0], 5 + i);
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.Put(x, big, sizeof(big), &box, 1, 0, NULL));
	}
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(IPCZ_RESULT_OK, get_str(y, buf, sizeof(buf)));
		ASSERT_STREQ("plain", buf);
		n = sizeof(in);
		h = 1;
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.Get(y, 0, NULL, in, &n, &got, &h, NULL));
		ASSERT_EQ(sizeof(big), n);
		ASSERT_EQ(0, memcmp(in, big, sizeof(big)));
		EXPECT_EQ(5 + i, unboxed_value(got));
		close_handle(got);
	}
	close_handle(x);
	close_handle(y);
}

/* An application object whose serializer hands over one boxed object. */
static IpczResult serialize_holder(uintptr_t object, uint32_t flags,
				   const void *options, volatile void *data,
				   size_t *num_bytes, IpczHandle *handles,
				   size_t *num_handles)
{
	size_t room = num_bytes ? *num_bytes : 0;
	size_t handle_room = num_handles ? *num_handles : 0;

	*num_bytes = 2;
	*num_handles = 1;
	if (room < 2 || handle_room < 1)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	memcpy((void *)data, "in", 2);
	handles[0] = *(IpczHandle *)object;
	return IPCZ_RESULT_OK;
}

/*
 * A driver object inside an application object (which crosses as a
 * subparcel) is relayed too, and found in the subparcel.
 */
TEST_F(network, relayed_object_in_a_subparcel)
{
	struct IpczBoxContents contents = {
		.size = sizeof(contents),
		.type = IPCZ_BOX_TYPE_APPLICATION_OBJECT,
		.serializer = serialize_holder,
	};
	IpczHandle x, y, inner, box, got, subparcel, object;
	char buf[16];
	size_t n = sizeof(buf), h = 1;

	ASSERT_TRUE(direct_route(self, &x, &y));
	inner = boxed_object(self->client[0], 77);
	contents.object.application_object = (uintptr_t)&inner;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Box(self->client[0], &contents, 0, NULL, &box));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(x, "first"));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(x, NULL, 0, &box, 1, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(x, "last"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(y, buf, sizeof(buf)));
	ASSERT_STREQ("first", buf);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(y, 0, NULL, NULL, NULL, &got, &h, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Unbox(got, 0, NULL, &contents));
	ASSERT_EQ(IPCZ_BOX_TYPE_SUBPARCEL, contents.type);
	subparcel = contents.object.subparcel;
	h = 1;
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(subparcel, 0, NULL, buf, &n,
					   &object, &h, NULL));
	ASSERT_EQ(2, n);
	ASSERT_EQ(1, h);
	EXPECT_EQ(77, unboxed_value(object));
	close_handle(object);
	close_handle(subparcel);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(y, buf, sizeof(buf)));
	ASSERT_STREQ("last", buf);
	close_handle(x);
	close_handle(y);
}

struct streamer {
	IpczHandle portal, node;
	int count;
	int bad;
};

/* Puts `count` parcels, every third with a boxed object of its number. */
static void *stream(void *arg)
{
	struct streamer *s = arg;
	char buf[16];
	int i;

	for (i = 0; i < s->count; i++) {
		IpczHandle box = IPCZ_INVALID_HANDLE;

		snprintf(buf, sizeof(buf), "%d", i);
		if (i % 3 == 0)
			box = boxed_object(s->node, (uintptr_t)i);
		if (ipcz.Put(s->portal, buf, strlen(buf),
			     box == IPCZ_INVALID_HANDLE ? NULL : &box,
			     box == IPCZ_INVALID_HANDLE ? 0 : 1, 0, NULL) !=
		    IPCZ_RESULT_OK)
			s->bad++;
	}
	return NULL;
}

/* Reads `count` parcels as stream() puts them; counts what is wrong. */
static int read_stream(IpczHandle portal, int count)
{
	int received = 0, bad = 0;
	long spins = 0;

	while (received < count && spins < 100000000L) {
		char buf[16], want[16];
		IpczHandle box = IPCZ_INVALID_HANDLE;
		size_t n = sizeof(buf) - 1, h = 1;

		if (ipcz.Get(portal, 0, NULL, buf, &n, &box, &h, NULL) !=
		    IPCZ_RESULT_OK) {
			spins++;
			sched_yield();
			continue;
		}
		buf[n] = '\0';
		snprintf(want, sizeof(want), "%d", received);
		bad += strcmp(buf, want) != 0;
		bad += (received % 3 == 0) != (h == 1);
		if (h == 1) {
			bad += unboxed_value(box) != received;
			close_handle(box);
		}
		received++;
	}
	return bad + (count - received);
}

/* Both clients stream at once from their own threads. */
TEST_F(network, relay_both_ways_from_threads)
{
	struct streamer s[2];
	pthread_t thread[2];
	IpczHandle end[2];
	int i, bad[2];

	ASSERT_TRUE(direct_route(self, &end[0], &end[1]));
	for (i = 0; i < 2; i++) {
		s[i] = (struct streamer){ .portal = end[i],
					  .node = self->client[i],
					  .count = 600 };
		ASSERT_EQ(0, pthread_create(&thread[i], NULL, stream, &s[i]));
	}
	bad[0] = read_stream(end[1], 600);
	bad[1] = read_stream(end[0], 600);
	for (i = 0; i < 2; i++)
		pthread_join(thread[i], NULL);
	EXPECT_EQ(0, bad[0]);
	EXPECT_EQ(0, bad[1]);
	EXPECT_EQ(0, s[0].bad);
	EXPECT_EQ(0, s[1].bad);
	close_handle(end[0]);
	close_handle(end[1]);
}

/* ---- hostile relay messages ---- */

struct relay_wire {
	struct msg_relay m;
	struct wire_relayed_object e[2];
};

/*
 * Sends a relay message of `type` over `t1` naming node `name0`, with
 * `count` entries of one handle each (fresh test objects); `mangle`
 * damages it: 1 more handles than entries claim, 2 bytes claimed that
 * are not there, 3 a lost entry, 4 no entries.
 */
static void send_relay(IpczDriverHandle t1, uint16_t type, uint8_t name0,
		       int mangle)
{
	struct relay_wire w = {
		.m = { .header = { .type = type }, .num_objects = 1 },
		.e = { { .num_handles = 1 } },
	};
	IpczDriverHandle handles[2];
	size_t num_handles = 1;

	w.m.node[0] = name0;
	handles[0] = ipcz_inprocess_test_object_create(1, 1);
	if (mangle == 1)
		handles[num_handles++] = ipcz_inprocess_test_object_create(2,
									   1);
	if (mangle == 2)
		w.e[0].num_bytes = 8;
	if (mangle == 3)
		w.e[0] = (struct wire_relayed_object){ .lost = 1 };
	if (mangle == 4)
		w.m.num_objects = 0;
	transmit_raw(t1, &w,
		     sizeof(w.m) + w.m.num_objects * sizeof(w.e[0]), handles,
		     mangle == 3 || mangle == 4 ? 0 : num_handles);
	if (mangle == 3 || mangle == 4)
		ipcz_inprocess_driver()->Close(handles[0], 0, NULL);
}

/*
 * Relayed objects come only from a node's broker: a non-broker (here a
 * referrer, sharing its broker) sending them drops the link; so does a
 * client sending them to its broker, or a broker asking a client to
 * relay.
 */
TEST(relayed_objects_only_from_the_broker)
{
	static const struct {
		IpczCreateNodeFlags node_flags;
		IpczConnectNodeFlags flags;
		/* The test's side: its name, role and flags, what it sends. */
		uint8_t name0;
		int is_broker;
		IpczConnectNodeFlags peer_flags;
		uint16_t type;
	} cases[] = {
		/* A referrer (non-broker) sends ACCEPT_RELAYED_MESSAGE. */
		{ IPCZ_NO_FLAGS, IPCZ_CONNECT_NODE_INHERIT_BROKER, 5, 0,
		  IPCZ_CONNECT_NODE_SHARE_BROKER, MSG_ACCEPT_RELAYED_MESSAGE },
		/* A client sends ACCEPT_RELAYED_MESSAGE to its broker. */
		{ IPCZ_CREATE_NODE_AS_BROKER, IPCZ_NO_FLAGS, 5, 0,
		  IPCZ_CONNECT_NODE_TO_BROKER, MSG_ACCEPT_RELAYED_MESSAGE },
		/* A broker asks its client to relay. */
		{ IPCZ_NO_FLAGS, IPCZ_CONNECT_NODE_TO_BROKER, 9, 1,
		  IPCZ_NO_FLAGS, MSG_RELAY_MESSAGE },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		IpczDriverHandle t1;
		IpczHandle portal;
		IpczHandle node = node_facing_test(ipcz_inprocess_driver(),
						   cases[i].node_flags,
						   cases[i].flags, &portal,
						   &t1);

		ASSERT_NE(IPCZ_INVALID_HANDLE, portal);
		fake_connect(t1, cases[i].name0, cases[i].is_broker,
			     cases[i].peer_flags);
		ASSERT_FALSE(link_dropped(portal));
		send_relay(t1, cases[i].type, 6, 0);
		EXPECT_TRUE(link_dropped(portal)) TH_LOG("case %zu", i);
		close_node_facing_test(node, portal, t1);
	}
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
	ASSERT_EQ(0, leaks_found());
}

/*
 * Malformed relay messages drop the link, each driver object closed;
 * well-formed ones keep it: objects for a node the broker does not know
 * are dropped, objects from the broker for a parcel not seen yet wait
 * (and go when the node closes).
 */
TEST(malformed_relay_messages_drop_the_link)
{
	static const struct {
		int to_broker;	/* the node under test is the broker */
		uint8_t name0;
		int mangle;
		int dropped;
	} cases[] = {
		{ 1, 6, 0, 0 },		/* unknown destination: dropped */
		{ 1, 5, 0, 1 },		/* the sender itself */
		{ 1, 0, 0, 1 },		/* no destination */
		{ 1, 6, 1, 1 },		/* a handle too many */
		{ 1, 6, 2, 1 },		/* bytes not there */
		{ 1, 6, 3, 1 },		/* "lost" from a client */
		{ 1, 6, 4, 1 },		/* nothing to relay */
		{ 0, 6, 0, 0 },		/* waits for its parcel */
		{ 0, 6, 3, 0 },		/* a lost one waits too */
		{ 0, 9, 0, 1 },		/* from the broker itself */
		{ 0, 6, 1, 1 },		/* a handle too many */
		{ 0, 6, 4, 1 },		/* nothing */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int to_broker = cases[i].to_broker;
		IpczDriverHandle t1;
		IpczHandle portal;
		IpczHandle node = node_facing_test(
			ipcz_inprocess_driver(),
			to_broker ? IPCZ_CREATE_NODE_AS_BROKER : IPCZ_NO_FLAGS,
			to_broker ? IPCZ_NO_FLAGS : IPCZ_CONNECT_NODE_TO_BROKER,
			&portal, &t1);

		ASSERT_NE(IPCZ_INVALID_HANDLE, portal);
		if (to_broker)
			fake_connect(t1, 5, 0, IPCZ_CONNECT_NODE_TO_BROKER);
		else
			fake_connect(t1, 9, 1, IPCZ_NO_FLAGS);
		send_relay(t1,
			   to_broker ? MSG_RELAY_MESSAGE :
				       MSG_ACCEPT_RELAYED_MESSAGE,
			   cases[i].name0, cases[i].mangle);
		EXPECT_EQ(cases[i].dropped, link_dropped(portal))
			TH_LOG("case %zu", i);
		close_node_facing_test(node, portal, t1);
		EXPECT_EQ(0, ipcz_inprocess_live_objects())
			TH_LOG("case %zu", i);
	}
	ASSERT_EQ(0, leaks_found());
}

/* ---- joining, seen from a client whose broker is the test ---- */

/*
 * A client linked to a fake broker (named 9) and, through an introduction
 * that broker made, to a fake peer (named 5): the test speaks for both.
 */
struct joined {
	IpczHandle client, portal;
	struct wire_link broker, peer;
};

static void join_setup(struct joined *j)
{
	struct msg_connect connect = {
		.header = { .type = MSG_CONNECT },
		.is_broker = 1,
		.num_initial_portals = 1,
	};
	struct msg_accept_introduction intro = {
		.header = { .type = MSG_ACCEPT_INTRODUCTION },
		.side = 1,
	};
	IpczDriverHandle t0, mine;

	memset(j, 0, sizeof(*j));
	j->client = new_node(IPCZ_NO_FLAGS);
	transports(&t0, &j->broker.t);
	ipcz.ConnectNode(j->client, t0, 1, IPCZ_CONNECT_NODE_TO_BROKER, NULL,
			 &j->portal);
	connect.name[0] = 9;
	send_on(&j->broker, &connect, sizeof(connect), NULL, 0);
	/* The client is side B of the introduced link; we are node 5. */
	transports(&mine, &j->peer.t);
	intro.name[0] = 5;
	send_on(&j->broker, &intro, sizeof(intro), &mine, 1);
	memset(&connect, 0, sizeof(connect));
	connect.header.type = MSG_CONNECT;
	connect.introduced = 1;
	connect.name[0] = 5;
	send_on(&j->peer, &connect, sizeof(connect), NULL, 0);
}

static void join_teardown(struct joined *j)
{
	ipcz_inprocess_driver()->Close(j->broker.t, 0, NULL);
	ipcz_inprocess_driver()->Close(j->peer.t, 0, NULL);
	close_handle(j->portal);
	close_handle(j->client);
}

/* A parcel on `sublink` numbered `seq` with `count` relayed objects. */
static void send_relayed_parcel(struct wire_link *w, uint64_t sublink,
				uint64_t seq, uint32_t count)
{
	struct {
		struct msg_parcel m;
		struct wire_object o[2];
	} p = { .m = { .header = { .type = MSG_PARCEL }, .sublink = sublink,
		       .seq = seq, .num_objects = count,
		       .num_records = count } };
	uint32_t i;

	for (i = 0; i < count; i++)
		p.o[i].kind = WIRE_RELAYED;
	send_on(w, &p, sizeof(p.m) + count * sizeof(p.o[0]), NULL, 0);
}

/* The broker's half: `count` objects (fresh test objects) from node 5. */
static void send_relayed_objects(struct wire_link *w, uint64_t sublink,
				 uint64_t seq, uint32_t count)
{
	struct relay_wire r = {
		.m = { .header = { .type = MSG_ACCEPT_RELAYED_MESSAGE },
		       .sublink = sublink, .seq = seq, .num_objects = count },
	};
	IpczDriverHandle handles[2];
	uint32_t i;

	r.m.node[0] = 5;
	for (i = 0; i < count; i++) {
		r.e[i].num_handles = 1;
		handles[i] = ipcz_inprocess_test_object_create(i, 1);
	}
	send_on(w, &r, sizeof(r.m) + count * sizeof(r.e[0]), handles, count);
}

/*
 * The two halves join in either order (for a route gone here, so the
 * joined parcel is dropped and its object closed); a half waits, holding
 * its object, until the other comes. A replayed half, or halves that
 * disagree on the count, drop the parcel's link, not the broker's.
 */
TEST(halves_join_in_either_order)
{
	struct joined j;
	size_t live;

	join_setup(&j);
	ASSERT_EQ(2, node_links(j.client));
	live = ipcz_inprocess_live_objects();

	/* Parcel first: it waits; the objects complete it. */
	send_relayed_parcel(&j.peer, 200, 0, 1);
	EXPECT_EQ(live, ipcz_inprocess_live_objects());
	send_relayed_objects(&j.broker, 200, 0, 1);
	EXPECT_EQ(live, ipcz_inprocess_live_objects());
	EXPECT_EQ(2, node_links(j.client));

	/* Objects first: they wait (alive); the parcel completes them. */
	send_relayed_objects(&j.broker, 200, 1, 2);
	EXPECT_EQ(live + 2, ipcz_inprocess_live_objects());
	send_relayed_parcel(&j.peer, 200, 1, 2);
	EXPECT_EQ(live, ipcz_inprocess_live_objects());
	EXPECT_EQ(2, node_links(j.client));

	/* The same objects twice: the broker link goes. */
	send_relayed_objects(&j.broker, 200, 2, 1);
	send_relayed_objects(&j.broker, 200, 2, 1);
	EXPECT_TRUE(link_dropped(j.portal));
	join_teardown(&j);
	ASSERT_EQ(0, ipcz_inprocess_live_objects());

	/* Counts that differ: the peer's link goes, the broker's stays. */
	join_setup(&j);
	send_relayed_objects(&j.broker, 200, 0, 1);
	send_relayed_parcel(&j.peer, 200, 0, 2);
	EXPECT_EQ(1, node_links(j.client));
	EXPECT_FALSE(link_dropped(j.portal));
	join_teardown(&j);
	ASSERT_EQ(0, ipcz_inprocess_live_objects());

	/* The same parcel again (a new message): the peer's link goes. */
	join_setup(&j);
	send_relayed_parcel(&j.peer, 200, 0, 1);
	send_relayed_parcel(&j.peer, 200, 0, 1);
	EXPECT_EQ(1, node_links(j.client));
	EXPECT_FALSE(link_dropped(j.portal));
	join_teardown(&j);
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
	ASSERT_EQ(0, leaks_found());
}

TEST_HARNESS_MAIN
