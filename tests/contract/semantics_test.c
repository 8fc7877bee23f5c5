// SPDX-License-Identifier: MIT
/*
 * Documented behaviour beyond result codes, across nodes on the strict
 * driver: partial gets, overlapped two-phase gets, the
 * IPCZ_TRAP_WITHIN_API_CALL flag, application objects that cross as
 * subparcels, and traps on closure.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "tests/contract/contract.h"

/* A partial Get() keeps the data in the parcel handle it returns. */
TEST(partial_get_keeps_data_in_parcel)
{
	struct ct_net net;
	IpczHandle parcel = IPCZ_INVALID_HANDLE, again = IPCZ_INVALID_HANDLE;
	char buffer[16];
	size_t num_bytes = 4;

	ASSERT_TRUE(ct_net_up(&net, 2));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ct_put(net.to_broker[1], "0123456789", NULL, 0));
	ASSERT_TRUE(ct_wait_parcels(net.to_client[1], 1));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(net.to_client[1], IPCZ_GET_PARTIAL, NULL, buffer,
			   &num_bytes, NULL, NULL, &parcel));
	EXPECT_EQ(4, num_bytes);
	EXPECT_EQ(0, memcmp(buffer, "0123", 4));
	EXPECT_EQ(0, ct_status(net.to_client[1]).num_local_parcels);
	/* Read again, whole, from the parcel; that gives another handle. */
	num_bytes = sizeof(buffer);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(parcel, IPCZ_NO_FLAGS, NULL, buffer, &num_bytes,
			   NULL, NULL, &again));
	EXPECT_EQ(10, num_bytes);
	EXPECT_EQ(0, memcmp(buffer, "0123456789", 10));
	EXPECT_NE(IPCZ_INVALID_HANDLE, again);
	EXPECT_NE(parcel, again);
	ct_close(&parcel);
	ct_close(&again);
	ct_net_down(&net);
	CT_EXPECT_CONTRACT_KEPT();
}

/* Overlapped get-transactions take parcels off the queue at once. */
TEST(overlapped_begin_get)
{
	struct ct_net net;
	IpczTransaction t1, t2, t3;
	const volatile void *d1, *d2;
	size_t n1 = 0, n2 = 0;
	IpczHandle parcel = IPCZ_INVALID_HANDLE;

	ASSERT_TRUE(ct_net_up(&net, 2));
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(net.to_broker[1], "one", NULL, 0));
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(net.to_broker[1], "two", NULL, 0));
	ASSERT_TRUE(ct_wait_parcels(net.to_client[1], 2));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(net.to_client[1], IPCZ_BEGIN_GET_OVERLAPPED,
				NULL, &d1, &n1, NULL, NULL, &t1));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(net.to_client[1], IPCZ_BEGIN_GET_OVERLAPPED,
				NULL, &d2, &n2, NULL, NULL, &t2));
	EXPECT_EQ(3, n1);
	EXPECT_EQ(0, memcmp((const void *)d1, "one", 3));
	EXPECT_EQ(0, memcmp((const void *)d2, "two", 3));
	EXPECT_EQ(0, ct_status(net.to_client[1]).num_local_parcels);
	/* A non-overlapped one while overlapped ones are open. */
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(net.to_broker[1], "three", NULL, 0));
	ASSERT_TRUE(ct_wait_parcels(net.to_client[1], 1));
	EXPECT_EQ(IPCZ_RESULT_ALREADY_EXISTS,
		  ipcz.BeginGet(net.to_client[1], IPCZ_NO_FLAGS, NULL, &d1,
				&n1, NULL, NULL, &t3));
	/* Ending them in any order; abort changes nothing for these. */
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndGet(net.to_client[1], t2, IPCZ_END_GET_ABORT, NULL,
			      NULL));
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndGet(net.to_client[1], t1, IPCZ_NO_FLAGS, NULL,
			      &parcel));
	EXPECT_NE(IPCZ_INVALID_HANDLE, parcel);
	EXPECT_EQ(1, ct_status(net.to_client[1]).num_local_parcels);
	EXPECT_TRUE(ct_expect(net.to_client[1], "three", NULL, 0));
	/* The parcel from EndGet() came from another node: Reject() it. */
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.Reject(parcel, 99, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(99, sd_stats().last_bad_activity_context);
	ct_close(&parcel);
	ct_net_down(&net);
	CT_EXPECT_CONTRACT_KEPT();
}

struct flag_record {
	atomic_int fired;
	atomic_uint flags;
};

static void IPCZ_API record_flags(const struct IpczTrapEvent *event)
{
	struct flag_record *r = (struct flag_record *)event->context;

	if (event->condition_flags & IPCZ_TRAP_REMOVED)
		return;
	atomic_store(&r->flags, event->condition_flags);
	atomic_store(&r->fired, 1);
}

static bool wait_fired(struct flag_record *r)
{
	long long end = ct_now_ms() + CT_WAIT_MS;

	while (!atomic_load(&r->fired)) {
		if (ct_now_ms() > end)
			return false;
		usleep(500);
	}
	return true;
}

/*
 * IPCZ_TRAP_WITHIN_API_CALL: set when a local Put() fires the trap, clear
 * when a parcel from another node (a driver notification) does.
 */
TEST(trap_within_api_call_flag)
{
	const struct IpczTrapConditions conditions = {
		.size = sizeof(conditions),
		.flags = IPCZ_TRAP_NEW_LOCAL_PARCEL,
	};
	struct flag_record local = { 0 }, remote = { 0 };
	struct ct_net net;
	IpczHandle a, b;

	ASSERT_TRUE(ct_net_up(&net, 2));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.OpenPortals(net.node[1], IPCZ_NO_FLAGS, NULL, &a, &b));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Trap(b, &conditions, record_flags, (uintptr_t)&local,
			    IPCZ_NO_FLAGS, NULL, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(a, "local", NULL, 0));
	ASSERT_TRUE(wait_fired(&local));
	EXPECT_TRUE(atomic_load(&local.flags) & IPCZ_TRAP_WITHIN_API_CALL);
	EXPECT_TRUE(atomic_load(&local.flags) & IPCZ_TRAP_NEW_LOCAL_PARCEL);

	/* After the handshake, so that the parcel comes by transport. */
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(net.to_broker[1], "hi", NULL, 0));
	ASSERT_TRUE(ct_expect(net.to_client[1], "hi", NULL, 0));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Trap(net.to_client[1], &conditions, record_flags,
			    (uintptr_t)&remote, IPCZ_NO_FLAGS, NULL, NULL,
			    NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(net.to_broker[1], "remote", NULL, 0));
	ASSERT_TRUE(wait_fired(&remote));
	EXPECT_FALSE(atomic_load(&remote.flags) & IPCZ_TRAP_WITHIN_API_CALL);
	ct_close(&a);
	ct_close(&b);
	ct_net_down(&net);
	CT_EXPECT_CONTRACT_KEPT();
}

/* Traps on closure: PEER_CLOSED, then DEAD once the queue is read. */
TEST(traps_on_remote_closure)
{
	const struct IpczTrapConditions peer_closed = {
		.size = sizeof(peer_closed),
		.flags = IPCZ_TRAP_PEER_CLOSED,
	};
	const struct IpczTrapConditions dead = {
		.size = sizeof(dead),
		.flags = IPCZ_TRAP_DEAD,
	};
	struct flag_record on_closed = { 0 }, on_dead = { 0 };
	struct ct_net net;
	IpczTrapConditionFlags satisfied = 0;
	char byte[8];
	size_t num_bytes = sizeof(byte);

	ASSERT_TRUE(ct_net_up(&net, 2));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Trap(net.to_client[1], &peer_closed, record_flags,
			    (uintptr_t)&on_closed, IPCZ_NO_FLAGS, NULL, NULL,
			    NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(net.to_broker[1], "last", NULL, 0));
	ct_close(&net.to_broker[1]);
	ASSERT_TRUE(wait_fired(&on_closed));
	EXPECT_TRUE(atomic_load(&on_closed.flags) & IPCZ_TRAP_PEER_CLOSED);
	/* A parcel is still queued: not dead yet, so the trap installs. */
	ASSERT_TRUE(ct_wait_parcels(net.to_client[1], 1));
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.Trap(net.to_client[1], &dead, record_flags,
			    (uintptr_t)&on_dead, IPCZ_NO_FLAGS, NULL, NULL,
			    NULL));
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(net.to_client[1], IPCZ_NO_FLAGS, NULL, byte,
			   &num_bytes, NULL, NULL, NULL));
	ASSERT_TRUE(wait_fired(&on_dead));
	EXPECT_TRUE(atomic_load(&on_dead.flags) & IPCZ_TRAP_DEAD);
	EXPECT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  ipcz.Trap(net.to_client[1], &dead, record_flags, 0,
			    IPCZ_NO_FLAGS, NULL, &satisfied, NULL));
	EXPECT_TRUE(satisfied & IPCZ_TRAP_DEAD);
	ct_net_down(&net);
	CT_EXPECT_CONTRACT_KEPT();
}

/*
 * An application object arrives on another node as a box holding a
 * subparcel (its serialized form); the subparcel, or an invalid handle.
 */
static IpczHandle subparcel_in(IpczHandle box)
{
	struct IpczBoxContents contents;

	if (!ct_unbox(box, IPCZ_BOX_TYPE_SUBPARCEL, &contents))
		return IPCZ_INVALID_HANDLE;
	return contents.object.subparcel;
}

/* An application object's serializer and destructor, counted. */
static atomic_int serialized, destroyed;

static IpczResult IPCZ_API serialize_word(uintptr_t object, uint32_t flags,
					  const void *options,
					  volatile void *data,
					  size_t *num_bytes,
					  IpczHandle *handles,
					  size_t *num_handles)
{
	size_t capacity = num_bytes ? *num_bytes : 0;
	uint64_t value = object;

	if (num_bytes)
		*num_bytes = sizeof(value);
	if (num_handles)
		*num_handles = 0;
	if (capacity < sizeof(value))
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	memcpy((void *)data, &value, sizeof(value));
	atomic_fetch_add(&serialized, 1);
	return IPCZ_RESULT_OK;
}

static void IPCZ_API destroy_word(uintptr_t object, uint32_t flags,
				  const void *options)
{
	atomic_fetch_add(&destroyed, 1);
}

/*
 * An application object boxed on one node arrives on another as a
 * subparcel holding what its serializer wrote; the original is
 * destroyed once.
 */
TEST(application_object_crosses_as_subparcel)
{
	struct IpczBoxContents contents = {
		.size = sizeof(contents),
		.type = IPCZ_BOX_TYPE_APPLICATION_OBJECT,
		.object.application_object = 0x1234,
		.serializer = serialize_word,
		.destructor = destroy_word,
	};
	struct ct_net net;
	IpczHandle box, sub;
	uint64_t value = 0;
	size_t num_bytes = sizeof(value);

	ASSERT_TRUE(ct_net_up(&net, 2));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Box(net.node[1], &contents, IPCZ_NO_FLAGS, NULL,
			   &box));
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(net.to_broker[1], "app", &box, 1));
	ASSERT_TRUE(ct_expect(net.to_client[1], "app", &box, 1));
	EXPECT_EQ(1, atomic_load(&serialized));
	EXPECT_EQ(1, atomic_load(&destroyed));
	sub = subparcel_in(box);
	ASSERT_NE(IPCZ_INVALID_HANDLE, sub);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(sub, IPCZ_NO_FLAGS, NULL, &value, &num_bytes,
			   NULL, NULL, NULL));
	EXPECT_EQ(sizeof(value), num_bytes);
	EXPECT_EQ(0x1234, value);
	ipcz.Close(sub, IPCZ_NO_FLAGS, NULL);
	ct_net_down(&net);
	CT_EXPECT_CONTRACT_KEPT();
}

/*
 * ReportBadTransportActivity is the one optional driver function:
 * Reject() of a remote parcel on a node whose driver has none must not
 * call through a null pointer; it answers UNIMPLEMENTED (the driver
 * could not be told). Run in a child process, so that a crash is
 * reported rather than taking the test down.
 */
static int reject_in_child(void)
{
	struct IpczDriver driver = *sd_driver();
	IpczHandle broker, client, bp, cp, parcel = IPCZ_INVALID_HANDLE;
	IpczDriverHandle a, b;
	IpczResult result;
	char buffer[8];
	size_t num_bytes = sizeof(buffer);

	driver.ReportBadTransportActivity = NULL;
	if (ipcz.CreateNode(&driver, IPCZ_CREATE_NODE_AS_BROKER, NULL,
			    &broker) != IPCZ_RESULT_OK ||
	    ipcz.CreateNode(&driver, IPCZ_NO_FLAGS, NULL, &client) !=
		    IPCZ_RESULT_OK ||
	    sd_transport_pair(true, false, &a, &b) != IPCZ_RESULT_OK ||
	    ipcz.ConnectNode(broker, a, 1, IPCZ_NO_FLAGS, NULL, &bp) !=
		    IPCZ_RESULT_OK ||
	    ipcz.ConnectNode(client, b, 1, IPCZ_CONNECT_NODE_TO_BROKER, NULL,
			     &cp) != IPCZ_RESULT_OK ||
	    ct_put(bp, "bad", NULL, 0) != IPCZ_RESULT_OK ||
	    !ct_wait_parcels(cp, 1) ||
	    ipcz.Get(cp, IPCZ_NO_FLAGS, NULL, buffer, &num_bytes, NULL, NULL,
		     &parcel) != IPCZ_RESULT_OK)
		return 2;
	result = ipcz.Reject(parcel, 5, IPCZ_NO_FLAGS, NULL);
	ct_close(&parcel);
	ct_close(&bp);
	ct_close(&cp);
	ct_close(&broker);
	ct_close(&client);
	if (sd_finish(CT_WAIT_MS))
		return 3;
	/* Not OK, which would claim the driver was told: UNIMPLEMENTED. */
	return result == IPCZ_RESULT_UNIMPLEMENTED ? 0 : 4;
}

TEST(reject_without_report_function)
{
	int status = 0;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(reject_in_child());
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 4)
		TH_LOG("Reject() did not answer UNIMPLEMENTED");
	if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 &&
				   WEXITSTATUS(status) != 4))
		SKIP(return, "lib bug: lib/node_link.c "
		     "node_link_report_bad_activity() calls the driver's "
		     "ReportBadTransportActivity without checking it (the "
		     "one optional driver function; CreateNode() accepts a "
		     "driver without it): Reject() of a remote parcel "
		     "crashes (child status %#x)", status);
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/*
 * Closing a node first: its portals stay valid handles; a local pair
 * still works, portals that led to other nodes see their peer closed,
 * and the other side sees the same. Closing the portals afterwards
 * releases everything.
 */
TEST(node_closed_before_its_portals)
{
	struct ct_net net;
	IpczHandle a, b;

	ASSERT_TRUE(ct_net_up(&net, 2));
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(net.to_broker[1], "hi", NULL, 0));
	ASSERT_TRUE(ct_expect(net.to_client[1], "hi", NULL, 0));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.OpenPortals(net.node[1], IPCZ_NO_FLAGS, NULL, &a, &b));
	ct_close(&net.node[1]);
	EXPECT_EQ(IPCZ_RESULT_OK, ct_put(a, "local", NULL, 0));
	EXPECT_TRUE(ct_expect(b, "local", NULL, 0));
	EXPECT_TRUE(ct_wait_flags(net.to_broker[1],
				  IPCZ_PORTAL_STATUS_PEER_CLOSED));
	EXPECT_EQ(IPCZ_RESULT_NOT_FOUND,
		  ct_put(net.to_broker[1], "x", NULL, 0));
	EXPECT_TRUE(ct_wait_flags(net.to_client[1],
				  IPCZ_PORTAL_STATUS_PEER_CLOSED));
	ct_close(&a);
	ct_close(&b);
	ct_net_down(&net);
	CT_EXPECT_CONTRACT_KEPT();
}

/* An application object holding a portal, which its serializer hands over. */
struct portal_holder {
	IpczHandle portal;
};

static atomic_int holders_destroyed;

static IpczResult IPCZ_API serialize_holder(uintptr_t object, uint32_t flags,
					    const void *options,
					    volatile void *data,
					    size_t *num_bytes,
					    IpczHandle *handles,
					    size_t *num_handles)
{
	struct portal_holder *holder = (struct portal_holder *)object;
	size_t byte_capacity = num_bytes ? *num_bytes : 0;
	size_t handle_capacity = num_handles ? *num_handles : 0;

	if (num_bytes)
		*num_bytes = 4;
	if (num_handles)
		*num_handles = 1;
	if (byte_capacity < 4 || handle_capacity < 1)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	memcpy((void *)data, "name", 4);
	handles[0] = holder->portal;
	holder->portal = IPCZ_INVALID_HANDLE;
	return IPCZ_RESULT_OK;
}

static void IPCZ_API destroy_holder(uintptr_t object, uint32_t flags,
				    const void *options)
{
	struct portal_holder *holder = (struct portal_holder *)object;

	if (holder->portal != IPCZ_INVALID_HANDLE)
		ipcz.Close(holder->portal, IPCZ_NO_FLAGS, NULL);
	free(holder);
	atomic_fetch_add(&holders_destroyed, 1);
}

/*
 * The serializer of an application object hands over a portal: it
 * arrives in the subparcel on the other node and still reaches its peer.
 */
TEST(application_object_with_a_portal)
{
	struct ct_net net;
	struct portal_holder *holder = calloc(1, sizeof(*holder));
	struct IpczBoxContents contents = {
		.size = sizeof(contents),
		.type = IPCZ_BOX_TYPE_APPLICATION_OBJECT,
		.serializer = serialize_holder,
		.destructor = destroy_holder,
	};
	IpczHandle box, sub, q, p;
	char name[8];
	size_t num_bytes = sizeof(name), num_handles = 1;

	ASSERT_NE(NULL, holder);
	ASSERT_TRUE(ct_net_up(&net, 2));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.OpenPortals(net.node[0], IPCZ_NO_FLAGS, NULL, &q,
				   &holder->portal));
	contents.object.application_object = (uintptr_t)holder;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Box(net.node[0], &contents, IPCZ_NO_FLAGS, NULL, &box));
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(net.to_client[1], "hey", &box, 1));
	ASSERT_TRUE(ct_expect(net.to_broker[1], "hey", &box, 1));
	EXPECT_EQ(1, atomic_load(&holders_destroyed));
	sub = subparcel_in(box);
	ASSERT_NE(IPCZ_INVALID_HANDLE, sub);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(sub, IPCZ_NO_FLAGS, NULL, name, &num_bytes, &p,
			   &num_handles, NULL));
	EXPECT_EQ(4, num_bytes);
	EXPECT_EQ(0, memcmp(name, "name", 4));
	ASSERT_EQ(1, num_handles);
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(p, "to q", NULL, 0));
	EXPECT_TRUE(ct_expect(q, "to q", NULL, 0));
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(q, "to p", NULL, 0));
	EXPECT_TRUE(ct_expect(p, "to p", NULL, 0));
	ipcz.Close(sub, IPCZ_NO_FLAGS, NULL);
	ct_close(&p);
	ct_close(&q);
	ct_net_down(&net);
	CT_EXPECT_CONTRACT_KEPT();
}

/*
 * Boxes go back and forth fifty times between two non-brokers over a
 * route the broker set up, which ends direct.
 */
TEST(boxes_back_and_forth_between_non_brokers)
{
	struct ct_net net;
	IpczHandle p, q, box;
	IpczDriverHandle object;
	uint64_t value = 0;
	int i;

	ASSERT_TRUE(ct_net_up(&net, 3));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.OpenPortals(net.node[0], IPCZ_NO_FLAGS, NULL, &p, &q));
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(net.to_client[1], "", &p, 1));
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(net.to_client[2], "", &q, 1));
	ASSERT_TRUE(ct_expect(net.to_broker[1], "", &p, 1));
	ASSERT_TRUE(ct_expect(net.to_broker[2], "", &q, 1));
	for (i = 0; i < 50; i++) {
		struct IpczBoxContents contents = {
			.size = sizeof(contents),
			.type = IPCZ_BOX_TYPE_DRIVER_OBJECT,
			.object.driver_object = sd_object_new(i, true),
		};
		IpczHandle from = i & 1 ? q : p, to = i & 1 ? p : q;
		IpczHandle node = net.node[i & 1 ? 2 : 1];

		ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Box(node, &contents,
						   IPCZ_NO_FLAGS, NULL, &box));
		ASSERT_EQ(IPCZ_RESULT_OK, ct_put(from, "box", &box, 1));
		ASSERT_TRUE(ct_expect(to, "box", &box, 1));
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.Unbox(box, IPCZ_NO_FLAGS, NULL, &contents));
		object = contents.object.driver_object;
		EXPECT_TRUE(sd_object_value(object, &value));
		EXPECT_EQ((uint64_t)i, value);
		sd_driver()->Close(object, IPCZ_NO_FLAGS, NULL);
	}
	EXPECT_TRUE(ct_wait_direct(p));
	EXPECT_TRUE(ct_wait_direct(q));
	ct_close(&p);
	ct_close(&q);
	ct_net_down(&net);
	CT_EXPECT_CONTRACT_KEPT();
}

TEST_HARNESS_MAIN
