// SPDX-License-Identifier: MIT
/*
 * The documented results of every IpczAPI function (include/ipcz/ipcz.h),
 * one by one: each INVALID_ARGUMENT condition the header lists, the
 * other failure codes, `size` fields of older (too small) and newer
 * (larger) callers, and that a refused call leaves the caller's handles
 * and driver objects alone. Over the strict driver, so every call also
 * keeps the driver contract.
 */
#include "kselftest_harness.h"
#include "tests/contract/contract.h"

static IpczHandle new_node(bool broker)
{
	IpczHandle node = IPCZ_INVALID_HANDLE;

	ipcz.CreateNode(sd_driver(),
			broker ? IPCZ_CREATE_NODE_AS_BROKER : IPCZ_NO_FLAGS,
			NULL, &node);
	return node;
}

/* A portal pair on `node`. */
static void pair(IpczHandle node, IpczHandle *a, IpczHandle *b)
{
	*a = *b = IPCZ_INVALID_HANDLE;
	ipcz.OpenPortals(node, IPCZ_NO_FLAGS, NULL, a, b);
}

/* A larger struct, as a newer caller built against a newer header. */
struct bigger_status {
	struct IpczPortalStatus status;
	uint64_t future[4];
};

TEST(get_api_sizes)
{
	struct {
		struct IpczAPI api;
		void *future[4];
	} bigger;
	struct IpczAPI api;

	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, IpczGetAPI(NULL));
	memset(&api, 0, sizeof(api));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, IpczGetAPI(&api));
	api.size = offsetof(struct IpczAPI, Unbox);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, IpczGetAPI(&api));
	EXPECT_EQ(NULL, api.Close);
	api.size = sizeof(api);
	EXPECT_EQ(IPCZ_RESULT_OK, IpczGetAPI(&api));
	EXPECT_EQ(sizeof(api), api.size);
	EXPECT_NE(NULL, api.Unbox);

	/* A newer caller: the size is lowered, the rest left alone. */
	memset(&bigger, 0xab, sizeof(bigger));
	bigger.api.size = sizeof(bigger);
	EXPECT_EQ(IPCZ_RESULT_OK, IpczGetAPI(&bigger.api));
	EXPECT_EQ(sizeof(struct IpczAPI), bigger.api.size);
	EXPECT_EQ(api.Put, bigger.api.Put);
	EXPECT_EQ(api.Unbox, bigger.api.Unbox);
}

TEST(create_node_results)
{
	struct IpczDriver driver = *sd_driver();
	struct {
		struct IpczCreateNodeOptions options;
		uint64_t future[2];
	} bigger = { .options = { .size = sizeof(bigger) } };
	struct IpczCreateNodeOptions options = { .size = sizeof(options) };
	struct {
		struct IpczDriver driver;
		void *future[2];
	} newer_driver = { .driver = *sd_driver() };
	IpczHandle node = IPCZ_INVALID_HANDLE;

	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.CreateNode(NULL, IPCZ_NO_FLAGS, NULL, &node));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.CreateNode(&driver, IPCZ_NO_FLAGS, NULL, NULL));
	driver.size = offsetof(struct IpczDriver, GenerateRandomBytes);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.CreateNode(&driver, IPCZ_NO_FLAGS, NULL, &node));
	driver = *sd_driver();
	driver.Transmit = NULL;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.CreateNode(&driver, IPCZ_NO_FLAGS, NULL, &node));
	driver = *sd_driver();
	driver.GenerateRandomBytes = NULL;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.CreateNode(&driver, IPCZ_NO_FLAGS, NULL, &node));
	options.size = offsetof(struct IpczCreateNodeOptions,
				num_disabled_features);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.CreateNode(sd_driver(), IPCZ_NO_FLAGS, &options,
				  &node));
	EXPECT_EQ(IPCZ_INVALID_HANDLE, node);

	/* ReportBadTransportActivity is optional. */
	driver = *sd_driver();
	driver.ReportBadTransportActivity = NULL;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.CreateNode(&driver, IPCZ_NO_FLAGS, NULL, &node));
	ct_close(&node);
	/* Newer callers: larger options and a larger driver table. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.CreateNode(sd_driver(), IPCZ_NO_FLAGS,
				  &bigger.options, &node));
	ct_close(&node);
	newer_driver.driver.size = sizeof(newer_driver);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.CreateNode(&newer_driver.driver, IPCZ_NO_FLAGS, NULL,
				  &node));
	ct_close(&node);
	options.size = sizeof(options);
	options.memory_flags = IPCZ_MEMORY_FIXED_PARCEL_CAPACITY;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.CreateNode(sd_driver(), IPCZ_CREATE_NODE_AS_BROKER,
				  &options, &node));
	ct_close(&node);
	CT_EXPECT_CONTRACT_KEPT();
}

/*
 * ConnectNode() refusals leave the transport with the caller (closed
 * here, once: the strict driver catches a second Close by ipcz).
 */
TEST(connect_node_results)
{
	IpczHandle broker = new_node(true), node = new_node(false);
	IpczHandle portals[16];
	IpczDriverHandle a, b;

	ASSERT_EQ(IPCZ_RESULT_OK, sd_transport_pair(true, false, &a, &b));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(IPCZ_INVALID_HANDLE, a, 1, IPCZ_NO_FLAGS,
				   NULL, portals));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(broker, IPCZ_INVALID_DRIVER_HANDLE, 1,
				   IPCZ_NO_FLAGS, NULL, portals));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(broker, a, 0, IPCZ_NO_FLAGS, NULL,
				   portals));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(broker, a, 1, IPCZ_NO_FLAGS, NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_OUT_OF_RANGE,
		  ipcz.ConnectNode(broker, a, 1000, IPCZ_NO_FLAGS, NULL,
				   portals));
	/* A portal handle is not a node. */
	pair(broker, &portals[0], &portals[1]);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(portals[0], a, 1, IPCZ_NO_FLAGS, NULL,
				   &portals[2]));
	ct_close(&portals[0]);
	ct_close(&portals[1]);
	/* Flags that contradict each other or the node; no output then. */
	portals[0] = (IpczHandle)0xdead;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(node, b, 1,
				   IPCZ_CONNECT_NODE_TO_BROKER |
					   IPCZ_CONNECT_NODE_INHERIT_BROKER,
				   NULL, portals));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(broker, a, 1,
				   IPCZ_CONNECT_NODE_INHERIT_BROKER, NULL,
				   portals));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(node, b, 1,
				   IPCZ_CONNECT_NODE_SHARE_BROKER |
					   IPCZ_CONNECT_NODE_TO_BROKER,
				   NULL, portals));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(broker, a, 1,
				   IPCZ_CONNECT_NODE_SHARE_BROKER, NULL,
				   portals));
	EXPECT_EQ((IpczHandle)0xdead, portals[0]);
	EXPECT_EQ(0, sd_stats().activations);

	/* At least 8 initial portals are always supported. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.ConnectNode(broker, a, 8, IPCZ_NO_FLAGS, NULL,
				   portals));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.ConnectNode(node, b, 8, IPCZ_CONNECT_NODE_TO_BROKER,
				   NULL, portals + 8));
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(portals[7], "seven", NULL, 0));
	EXPECT_TRUE(ct_expect(portals[15], "seven", NULL, 0));
	for (int i = 0; i < 16; i++)
		ct_close(&portals[i]);
	ct_close(&broker);
	ct_close(&node);
	CT_EXPECT_CONTRACT_KEPT();
}

/* Portals without a counterpart behave as if their peer were closed. */
TEST(connect_node_unmatched_portals)
{
	IpczHandle broker = new_node(true), node = new_node(false);
	IpczHandle ours[3], theirs[1];
	IpczDriverHandle a, b;

	ASSERT_EQ(IPCZ_RESULT_OK, sd_transport_pair(true, false, &a, &b));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.ConnectNode(broker, a, 3, IPCZ_NO_FLAGS, NULL, ours));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.ConnectNode(node, b, 1, IPCZ_CONNECT_NODE_TO_BROKER,
				   NULL, theirs));
	EXPECT_TRUE(ct_wait_flags(ours[1], IPCZ_PORTAL_STATUS_PEER_CLOSED));
	EXPECT_TRUE(ct_wait_flags(ours[2], IPCZ_PORTAL_STATUS_PEER_CLOSED));
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(theirs[0], "zero", NULL, 0));
	EXPECT_TRUE(ct_expect(ours[0], "zero", NULL, 0));
	for (int i = 0; i < 3; i++)
		ct_close(&ours[i]);
	ct_close(&theirs[0]);
	ct_close(&broker);
	ct_close(&node);
	CT_EXPECT_CONTRACT_KEPT();
}

TEST(open_portals_and_close_results)
{
	IpczHandle node = new_node(false), a, b, closed;

	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.OpenPortals(IPCZ_INVALID_HANDLE, IPCZ_NO_FLAGS, NULL,
				   &a, &b));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.OpenPortals(node, IPCZ_NO_FLAGS, NULL, NULL, &b));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.OpenPortals(node, IPCZ_NO_FLAGS, NULL, &a, NULL));
	pair(node, &a, &b);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.OpenPortals(a, IPCZ_NO_FLAGS, NULL, &a, &b));
	closed = a;
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(a, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Close(closed, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Close(IPCZ_INVALID_HANDLE, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Close((IpczHandle)0x12345678, IPCZ_NO_FLAGS, NULL));
	EXPECT_TRUE(ct_status(b).flags & IPCZ_PORTAL_STATUS_PEER_CLOSED);
	ct_close(&b);
	ct_close(&node);
	CT_EXPECT_CONTRACT_KEPT();
}

TEST(query_portal_status_sizes)
{
	IpczHandle node = new_node(false), a, b;
	struct bigger_status big;
	struct IpczPortalStatus small = { .size = sizeof(small) - 1 };

	pair(node, &a, &b);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.QueryPortalStatus(a, IPCZ_NO_FLAGS, NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.QueryPortalStatus(a, IPCZ_NO_FLAGS, NULL, &small));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.QueryPortalStatus(node, IPCZ_NO_FLAGS, NULL, &small));
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(b, "abc", NULL, 0));
	memset(&big, 0xcd, sizeof(big));
	big.status.size = sizeof(big);
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.QueryPortalStatus(a, IPCZ_NO_FLAGS, NULL, &big.status));
	EXPECT_EQ(sizeof(struct IpczPortalStatus), big.status.size);
	EXPECT_EQ(1, big.status.num_local_parcels);
	EXPECT_EQ(3, big.status.num_local_bytes);
	EXPECT_EQ(0xcdcdcdcdcdcdcdcdull, big.future[0]);
	ct_close(&a);
	ct_close(&b);
	ct_close(&node);
	CT_EXPECT_CONTRACT_KEPT();
}

TEST(merge_portals_results)
{
	IpczHandle node = new_node(false), a, b, c, d;

	pair(node, &a, &b);
	pair(node, &c, &d);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.MergePortals(a, a, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.MergePortals(a, b, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.MergePortals(a, node, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.MergePortals(IPCZ_INVALID_HANDLE, c, IPCZ_NO_FLAGS,
				    NULL));
	/* Used portals cannot merge; nothing is consumed. */
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(b, "used", NULL, 0));
	EXPECT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  ipcz.MergePortals(b, c, IPCZ_NO_FLAGS, NULL));
	EXPECT_TRUE(ct_expect(a, "used", NULL, 0));
	EXPECT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  ipcz.MergePortals(c, a, IPCZ_NO_FLAGS, NULL));
	ct_close(&a);
	ct_close(&b);
	/* A fresh merge works: a2-b2 + c-d, merging b2 with c gives a2-d. */
	pair(node, &a, &b);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.MergePortals(b, c, IPCZ_NO_FLAGS,
						    NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Close(b, IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(a, "through", NULL, 0));
	EXPECT_TRUE(ct_expect(d, "through", NULL, 0));
	ct_close(&a);
	EXPECT_TRUE(ct_wait_flags(d, IPCZ_PORTAL_STATUS_PEER_CLOSED));
	ct_close(&d);
	ct_close(&node);
	CT_EXPECT_CONTRACT_KEPT();
}

TEST(put_results)
{
	IpczHandle node = new_node(false), a, b, c, d, box;
	const IpczHandle junk = (IpczHandle)0x7777;
	/* Handle lists Put() refuses, each leaving everything with us. */
	const struct {
		const IpczHandle *handles[2];
		size_t num_handles;
	} refused[] = {
		{ { &a, &a }, 1 },	/* the sending portal */
		{ { &b, &b }, 1 },	/* its own peer */
		{ { &c, &junk }, 2 },	/* not a handle */
		{ { &c, &node }, 2 },	/* a node cannot be sent */
		{ { &c, &c }, 2 },	/* the same handle twice */
	};
	IpczHandle handles[2];
	size_t i;
	IpczDriverHandle object = sd_object_new(5, true);
	struct IpczBoxContents contents = {
		.size = sizeof(contents),
		.type = IPCZ_BOX_TYPE_DRIVER_OBJECT,
		.object.driver_object = object,
	};

	pair(node, &a, &b);
	pair(node, &c, &d);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(IPCZ_INVALID_HANDLE, "x", 1, NULL, 0,
			   IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(node, "x", 1, NULL, 0, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(a, NULL, 1, NULL, 0, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(a, "x", 1, NULL, 1, IPCZ_NO_FLAGS, NULL));
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		handles[0] = *refused[i].handles[0];
		handles[1] = *refused[i].handles[1];
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.Put(a, "x", 1, handles, refused[i].num_handles,
				   IPCZ_NO_FLAGS, NULL))
			TH_LOG("case %zu", i);
	}
	/* A box whose driver object cannot be serialized cannot be sent. */
	contents.object.driver_object = sd_object_new(6, false);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Box(node, &contents, IPCZ_NO_FLAGS, NULL, &box));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(a, "x", 1, &box, 1, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(box, IPCZ_NO_FLAGS, NULL));
	contents.object.driver_object = object;
	/* Every refusal left c with the caller, usable. */
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(c, "still", NULL, 0));
	EXPECT_TRUE(ct_expect(d, "still", NULL, 0));
	EXPECT_EQ(0, ct_status(b).num_local_parcels);
	/* Empty parcels are parcels. */
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.Put(a, NULL, 0, NULL, 0, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(1, ct_status(b).num_local_parcels);
	/* A peer known closed: NOT_FOUND, and the box stays ours. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Box(node, &contents, IPCZ_NO_FLAGS, NULL, &box));
	ct_close(&b);
	EXPECT_EQ(IPCZ_RESULT_NOT_FOUND,
		  ipcz.Put(a, "x", 1, &box, 1, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(box, IPCZ_NO_FLAGS, NULL));
	ct_close(&a);
	ct_close(&c);
	ct_close(&d);
	ct_close(&node);
	CT_EXPECT_CONTRACT_KEPT();
}

TEST(two_phase_put_results)
{
	IpczHandle node = new_node(false), a, b, c, d;
	IpczTransaction txn, txn2;
	volatile void *data;
	size_t num_bytes = 8;

	pair(node, &a, &b);
	pair(node, &c, &d);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginPut(a, IPCZ_NO_FLAGS, NULL, &data, &num_bytes,
				NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginPut(node, IPCZ_NO_FLAGS, NULL, &data, &num_bytes,
				&txn));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginPut(a, IPCZ_NO_FLAGS, NULL, &data, &num_bytes,
				&txn));
	ASSERT_GE(num_bytes, 8);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(a, 0, 0, NULL, 0, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(a, txn + 1000, 0, NULL, 0, IPCZ_NO_FLAGS,
			      NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(a, txn, 1, NULL, 1, IPCZ_NO_FLAGS, NULL));
	/* Too many bytes: refused, the transaction stays open. */
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(a, txn, num_bytes + 1, NULL, 0, IPCZ_NO_FLAGS,
			      NULL));
	/* A bad handle: refused, still open, c still ours. */
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(a, txn, 1, &a, 1, IPCZ_NO_FLAGS, NULL));
	memcpy((void *)data, "12345678", 8);
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndPut(a, txn, 8, &c, 1, IPCZ_NO_FLAGS, NULL));
	EXPECT_TRUE(ct_expect(b, "12345678", &c, 1));
	/* Abort: nothing is sent, handles ignored. */
	num_bytes = 4;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginPut(a, IPCZ_NO_FLAGS, NULL, &data, &num_bytes,
				&txn));
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndPut(a, txn, 4, NULL, 5, IPCZ_END_PUT_ABORT, NULL));
	EXPECT_EQ(0, ct_status(b).num_local_parcels);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(a, txn, 0, NULL, 0, IPCZ_NO_FLAGS, NULL));
	/* No data: a null num_bytes. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginPut(a, IPCZ_NO_FLAGS, NULL, NULL, NULL, &txn));
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndPut(a, txn, 0, NULL, 0, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(1, ct_status(b).num_local_parcels);
	/* Peer closed: BeginPut NOT_FOUND; an open EndPut NOT_FOUND. */
	num_bytes = 1;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginPut(a, IPCZ_NO_FLAGS, NULL, &data, &num_bytes,
				&txn2));
	ct_close(&b);
	num_bytes = 1;
	EXPECT_EQ(IPCZ_RESULT_NOT_FOUND,
		  ipcz.BeginPut(a, IPCZ_NO_FLAGS, NULL, &data, &num_bytes,
				&txn));
	EXPECT_EQ(IPCZ_RESULT_NOT_FOUND,
		  ipcz.EndPut(a, txn2, 1, &d, 1, IPCZ_NO_FLAGS, NULL));
	/* d stayed ours; the transaction was aborted. */
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(a, txn2, 0, NULL, 0, IPCZ_NO_FLAGS, NULL));
	ct_close(&a);
	ct_close(&c);
	ct_close(&d);
	ct_close(&node);
	CT_EXPECT_CONTRACT_KEPT();
}

TEST(get_results)
{
	IpczHandle node = new_node(false), a, b, c, d, parcel, got[2];
	char buffer[16];
	size_t num_bytes, num_handles;
	IpczTransaction txn;
	const volatile void *data;

	pair(node, &a, &b);
	pair(node, &c, &d);
	num_bytes = sizeof(buffer);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Get(node, IPCZ_NO_FLAGS, NULL, buffer, &num_bytes,
			   NULL, NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_UNAVAILABLE,
		  ipcz.Get(b, IPCZ_NO_FLAGS, NULL, buffer, &num_bytes, NULL,
			   NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(a, "hello", &c, 1));
	/* A null buffer with a non-zero capacity. */
	num_bytes = 5;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Get(b, IPCZ_NO_FLAGS, NULL, NULL, &num_bytes, NULL,
			   NULL, NULL));
	num_handles = 1;
	num_bytes = sizeof(buffer);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Get(b, IPCZ_NO_FLAGS, NULL, buffer, &num_bytes, NULL,
			   &num_handles, NULL));
	/* Too small: RESOURCE_EXHAUSTED with the sizes needed. */
	num_bytes = 2;
	num_handles = 0;
	EXPECT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  ipcz.Get(b, IPCZ_NO_FLAGS, NULL, buffer, &num_bytes, got,
			   &num_handles, NULL));
	EXPECT_EQ(5, num_bytes);
	EXPECT_EQ(1, num_handles);
	EXPECT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  ipcz.Get(b, IPCZ_NO_FLAGS, NULL, NULL, NULL, NULL, NULL,
			   NULL));
	/* A two-phase get is open: Get() is ALREADY_EXISTS. */
	num_handles = 1;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(b, IPCZ_NO_FLAGS, NULL, &data, &num_bytes,
				got, &num_handles, &txn));
	num_bytes = sizeof(buffer);
	EXPECT_EQ(IPCZ_RESULT_ALREADY_EXISTS,
		  ipcz.Get(b, IPCZ_NO_FLAGS, NULL, buffer, &num_bytes, NULL,
			   NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_ALREADY_EXISTS,
		  ipcz.BeginGet(b, IPCZ_NO_FLAGS, NULL, &data, &num_bytes,
				NULL, NULL, &txn));
	EXPECT_EQ(IPCZ_RESULT_ALREADY_EXISTS,
		  ipcz.BeginGet(b, IPCZ_BEGIN_GET_OVERLAPPED, NULL, &data,
				&num_bytes, NULL, NULL, &txn));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndGet(b, txn + 99, IPCZ_NO_FLAGS, NULL, NULL));
	/* Abort leaves the parcel; the handle handed out stays ours. */
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndGet(b, txn, IPCZ_END_GET_ABORT, NULL, NULL));
	EXPECT_EQ(1, ct_status(b).num_local_parcels);
	ct_close(&got[0]);
	/* Read it with a parcel handle; then Get() from the parcel. */
	num_bytes = 0;
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(b, IPCZ_GET_PARTIAL, NULL, NULL, &num_bytes, NULL,
			   NULL, &parcel));
	EXPECT_EQ(0, num_bytes);
	num_bytes = sizeof(buffer);
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(parcel, IPCZ_NO_FLAGS, NULL, buffer, &num_bytes,
			   NULL, NULL, NULL));
	EXPECT_EQ(5, num_bytes);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginGet(parcel, IPCZ_BEGIN_GET_OVERLAPPED, NULL,
				&data, &num_bytes, NULL, NULL, &txn));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginGet(b, IPCZ_NO_FLAGS, NULL, &data, &num_bytes,
				NULL, NULL, NULL));
	ct_close(&parcel);
	/* Peer closed and drained: NOT_FOUND for good. */
	ct_close(&a);
	num_bytes = sizeof(buffer);
	EXPECT_EQ(IPCZ_RESULT_NOT_FOUND,
		  ipcz.Get(b, IPCZ_NO_FLAGS, NULL, buffer, &num_bytes, NULL,
			   NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_NOT_FOUND,
		  ipcz.BeginGet(b, IPCZ_NO_FLAGS, NULL, &data, &num_bytes,
				NULL, NULL, &txn));
	ct_close(&b);
	ct_close(&d);
	ct_close(&node);
	CT_EXPECT_CONTRACT_KEPT();
}

TEST(begin_get_handle_capacity)
{
	IpczHandle node = new_node(false), a, b, c, d, got[2];
	size_t num_handles = 0, num_bytes;
	IpczTransaction txn;
	const volatile void *data;

	pair(node, &a, &b);
	pair(node, &c, &d);
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(a, "hh", (IpczHandle[]){ c, d }, 2));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginGet(b, IPCZ_NO_FLAGS, NULL, &data, &num_bytes,
				NULL, (size_t[]){ 1 }, &txn));
	num_handles = 1;
	EXPECT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  ipcz.BeginGet(b, IPCZ_NO_FLAGS, NULL, &data, &num_bytes,
				got, &num_handles, &txn));
	EXPECT_EQ(2, num_handles);
	num_handles = 1;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(b, IPCZ_BEGIN_GET_PARTIAL, NULL, &data,
				&num_bytes, got, &num_handles, &txn));
	EXPECT_EQ(1, num_handles);
	EXPECT_EQ(2, num_bytes);
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndGet(b, txn, IPCZ_NO_FLAGS, NULL, NULL));
	ct_close(&got[0]);
	ct_close(&a);
	ct_close(&b);
	ct_close(&node);
	CT_EXPECT_CONTRACT_KEPT();
}

static void IPCZ_API count_event(const struct IpczTrapEvent *event)
{
	(*(int *)event->context)++;
}

TEST(trap_results)
{
	IpczHandle node = new_node(false), a, b;
	struct IpczTrapConditions conditions = {
		.size = sizeof(conditions),
		.flags = IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS,
	};
	struct {
		struct IpczTrapConditions conditions;
		uint64_t future[2];
	} bigger = { .conditions = {
			     .size = sizeof(bigger),
			     .flags = IPCZ_TRAP_PEER_CLOSED,
		     } };
	struct bigger_status big;
	struct IpczPortalStatus small = { .size = 8 };
	IpczTrapConditionFlags satisfied = 0;
	int events = 0, bigger_events = 0;

	pair(node, &a, &b);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Trap(b, NULL, count_event, 0, IPCZ_NO_FLAGS, NULL,
			    NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Trap(b, &conditions, NULL, 0, IPCZ_NO_FLAGS, NULL,
			    NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Trap(node, &conditions, count_event, 0, IPCZ_NO_FLAGS,
			    NULL, NULL, NULL));
	conditions.size = 8;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Trap(b, &conditions, count_event, 0, IPCZ_NO_FLAGS,
			    NULL, NULL, NULL));
	conditions.size = sizeof(conditions);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Trap(b, &conditions, count_event, 0, IPCZ_NO_FLAGS,
			    NULL, NULL, &small));
	/* A newer caller's larger conditions. */
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.Trap(b, &bigger.conditions, count_event,
			    (uintptr_t)&bigger_events, IPCZ_NO_FLAGS, NULL,
			    NULL, NULL));
	/* A condition that already holds: FAILED_PRECONDITION. */
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(a, "x", NULL, 0));
	memset(&big, 0, sizeof(big));
	big.status.size = sizeof(big);
	EXPECT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  ipcz.Trap(b, &conditions, count_event, (uintptr_t)&events,
			    IPCZ_NO_FLAGS, NULL, &satisfied, &big.status));
	EXPECT_EQ(IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS, satisfied);
	EXPECT_EQ(sizeof(struct IpczPortalStatus), big.status.size);
	EXPECT_EQ(1, big.status.num_local_parcels);
	EXPECT_EQ(0, events);
	ct_close(&a);
	EXPECT_EQ(1, bigger_events);
	ct_close(&b);
	ct_close(&node);
	CT_EXPECT_CONTRACT_KEPT();
}

static IpczResult IPCZ_API app_serialize(uintptr_t object, uint32_t flags,
					 const void *options,
					 volatile void *data,
					 size_t *num_bytes,
					 IpczHandle *handles,
					 size_t *num_handles)
{
	return IPCZ_RESULT_FAILED_PRECONDITION;
}

static int destroyed;

static void app_destroy(uintptr_t object, uint32_t flags,
			const void *options)
{
	destroyed += (int)object;
}

TEST(box_unbox_results)
{
	IpczHandle node = new_node(false), box, a, b;
	IpczDriverHandle object = sd_object_new(3, true);
	struct IpczBoxContents contents = {
		.size = sizeof(contents),
		.type = IPCZ_BOX_TYPE_DRIVER_OBJECT,
		.object.driver_object = object,
	};
	struct {
		struct IpczBoxContents contents;
		uint64_t future[2];
	} bigger;
	struct IpczBoxContents out = { .size = sizeof(out) };

	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Box(IPCZ_INVALID_HANDLE, &contents, IPCZ_NO_FLAGS,
			   NULL, &box));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Box(node, NULL, IPCZ_NO_FLAGS, NULL, &box));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Box(node, &contents, IPCZ_NO_FLAGS, NULL, NULL));
	contents.size = 8;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Box(node, &contents, IPCZ_NO_FLAGS, NULL, &box));
	contents.size = sizeof(contents);
	contents.object.driver_object = IPCZ_INVALID_DRIVER_HANDLE;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Box(node, &contents, IPCZ_NO_FLAGS, NULL, &box));
	contents.type = IPCZ_BOX_TYPE_SUBPARCEL;
	EXPECT_EQ(IPCZ_RESULT_UNIMPLEMENTED,
		  ipcz.Box(node, &contents, IPCZ_NO_FLAGS, NULL, &box));
	contents.type = 77;
	EXPECT_EQ(IPCZ_RESULT_UNIMPLEMENTED,
		  ipcz.Box(node, &contents, IPCZ_NO_FLAGS, NULL, &box));

	/* A newer caller's larger contents, then Unbox() results. */
	memset(&bigger, 0, sizeof(bigger));
	bigger.contents.size = sizeof(bigger);
	bigger.contents.type = IPCZ_BOX_TYPE_DRIVER_OBJECT;
	bigger.contents.object.driver_object = object;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Box(node, &bigger.contents, IPCZ_NO_FLAGS, NULL,
			   &box));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(box, IPCZ_NO_FLAGS, NULL, NULL));
	out.size = 8;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(box, IPCZ_NO_FLAGS, NULL, &out));
	out.size = sizeof(out);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(node, IPCZ_NO_FLAGS, NULL, &out));
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(box, IPCZ_UNBOX_PEEK, NULL, &out));
	EXPECT_EQ(object, out.object.driver_object);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Unbox(box, IPCZ_NO_FLAGS, NULL, &out));
	EXPECT_EQ(IPCZ_BOX_TYPE_DRIVER_OBJECT, out.type);
	EXPECT_EQ(object, out.object.driver_object);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(box, IPCZ_NO_FLAGS, NULL, &out));
	/* Closing a box closes its driver object (once). */
	contents.type = IPCZ_BOX_TYPE_DRIVER_OBJECT;
	contents.object.driver_object = object;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Box(node, &contents, IPCZ_NO_FLAGS, NULL, &box));
	ct_close(&box);
	EXPECT_FALSE(sd_object_value(object, NULL));

	/* Application objects: destroyed once with the box. */
	contents.type = IPCZ_BOX_TYPE_APPLICATION_OBJECT;
	contents.object.application_object = 5;
	contents.serializer = app_serialize;
	contents.destructor = app_destroy;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Box(node, &contents, IPCZ_NO_FLAGS, NULL, &box));
	pair(node, &a, &b);
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(a, "app", &box, 1));
	EXPECT_TRUE(ct_expect(b, "app", &box, 1));
	ct_close(&box);
	EXPECT_EQ(5, destroyed);
	ct_close(&a);
	ct_close(&b);
	ct_close(&node);
	CT_EXPECT_CONTRACT_KEPT();
}

TEST(reject_results)
{
	IpczHandle node = new_node(false), a, b;

	pair(node, &a, &b);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Reject(a, 1, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Reject(IPCZ_INVALID_HANDLE, 1, IPCZ_NO_FLAGS, NULL));
	ct_close(&a);
	ct_close(&b);
	ct_close(&node);
	EXPECT_EQ(0, sd_stats().bad_activity_reports);
	CT_EXPECT_CONTRACT_KEPT();
}

/* Every call on a closed node's handle is INVALID_ARGUMENT. */
TEST(closed_node_handle)
{
	IpczHandle node = new_node(false), stale, a, b;

	stale = node;
	ct_close(&node);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.OpenPortals(stale, IPCZ_NO_FLAGS, NULL, &a, &b));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Close(stale, IPCZ_NO_FLAGS, NULL));
	CT_EXPECT_CONTRACT_KEPT();
}

/*
 * Every function refuses a handle of the wrong kind (a node, portal,
 * parcel or box where another is needed) and leaves it usable.
 */
TEST(wrong_kind_of_handle)
{
	IpczHandle node = new_node(false), a, b, box, parcel, out1, out2;
	IpczDriverHandle object = sd_object_new(1, true);
	struct IpczBoxContents contents = {
		.size = sizeof(contents),
		.type = IPCZ_BOX_TYPE_DRIVER_OBJECT,
		.object.driver_object = object,
	};
	const struct IpczTrapConditions conditions = {
		.size = sizeof(conditions),
		.flags = IPCZ_TRAP_PEER_CLOSED,
	};
	struct IpczPortalStatus status = { .size = sizeof(status) };
	IpczTransaction txn;
	volatile void *wdata;
	const volatile void *rdata;
	char buffer[8];
	size_t num_bytes = sizeof(buffer);
	IpczHandle not_portal[3], not_node[3], not_parcel[3], not_box[3];
	int i;

	pair(node, &a, &b);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Box(node, &contents, IPCZ_NO_FLAGS, NULL, &box));
	ASSERT_EQ(IPCZ_RESULT_OK, ct_put(a, "p", NULL, 0));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(b, IPCZ_NO_FLAGS, NULL, buffer,
					   &num_bytes, NULL, NULL, &parcel));
	not_portal[0] = node, not_portal[1] = parcel, not_portal[2] = box;
	not_node[0] = a, not_node[1] = parcel, not_node[2] = box;
	not_parcel[0] = node, not_parcel[1] = box, not_parcel[2] = a;
	not_box[0] = node, not_box[1] = parcel, not_box[2] = a;
	for (i = 0; i < 3; i++) {
		IpczHandle h = not_portal[i];

		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.Put(h, "x", 1, NULL, 0, IPCZ_NO_FLAGS, NULL));
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.BeginPut(h, IPCZ_NO_FLAGS, NULL, &wdata, NULL,
					&txn));
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.EndPut(h, 1, 0, NULL, 0, IPCZ_NO_FLAGS, NULL));
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.QueryPortalStatus(h, IPCZ_NO_FLAGS, NULL,
						 &status));
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.Trap(h, &conditions, count_event, 0,
				    IPCZ_NO_FLAGS, NULL, NULL, NULL));
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.MergePortals(h, a, IPCZ_NO_FLAGS, NULL));
		h = not_node[i];
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.OpenPortals(h, IPCZ_NO_FLAGS, NULL, &out1,
					   &out2));
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.Box(h, &contents, IPCZ_NO_FLAGS, NULL, &out1));
		h = not_parcel[i];
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.Reject(h, 0, IPCZ_NO_FLAGS, NULL));
		if (h != a) {
			num_bytes = sizeof(buffer);
			EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
				  ipcz.Get(h, IPCZ_NO_FLAGS, NULL, buffer,
					   &num_bytes, NULL, NULL, NULL));
			EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
				  ipcz.BeginGet(h, IPCZ_NO_FLAGS, NULL,
						&rdata, NULL, NULL, NULL,
						&txn));
			EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
				  ipcz.EndGet(h, 1, IPCZ_NO_FLAGS, NULL,
					      NULL));
		}
		h = not_box[i];
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.Unbox(h, IPCZ_NO_FLAGS, NULL, &contents));
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.Unbox(h, IPCZ_UNBOX_PEEK, NULL, &contents));
	}
	/* Everything still works. */
	num_bytes = sizeof(buffer);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Get(parcel, IPCZ_NO_FLAGS, NULL,
					   buffer, &num_bytes, NULL, NULL,
					   NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Unbox(box, IPCZ_NO_FLAGS, NULL,
					     &contents));
	EXPECT_EQ(object, contents.object.driver_object);
	EXPECT_EQ(IPCZ_RESULT_OK, ct_put(a, "ok", NULL, 0));
	EXPECT_TRUE(ct_expect(b, "ok", NULL, 0));
	sd_driver()->Close(object, IPCZ_NO_FLAGS, NULL);
	ct_close(&parcel);
	ct_close(&a);
	ct_close(&b);
	ct_close(&node);
	CT_EXPECT_CONTRACT_KEPT();
}

TEST_HARNESS_MAIN
