// SPDX-License-Identifier: MIT
/*
 * API tests: IpczGetAPI, Close, CreateNode, OpenPortals and ConnectNode's
 * argument checks. Expected results follow upstream ipcz's header and
 * implementation (api.cc, node_connector.cc).
 */
#include <string.h>

#include "kselftest_harness.h"
#include "tests/api/api_test.h"

FIXTURE(node) {
	IpczHandle node;
};

FIXTURE_SETUP(node)
{
	ASSERT_EQ(IPCZ_RESULT_OK, api_test_init());
	self->node = new_node(IPCZ_NO_FLAGS);
	ASSERT_NE(IPCZ_INVALID_HANDLE, self->node);
}

FIXTURE_TEARDOWN(node)
{
	ipcz.Close(self->node, IPCZ_NO_FLAGS, NULL);
	EXPECT_TRUE(no_leaks());
}

TEST(get_api_sizes)
{
	struct {
		struct IpczAPI table;
		char later[32];
	} newer;
	struct IpczAPI table;

	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, IpczGetAPI(NULL));

	memset(&table, 0, sizeof(table));
	table.size = offsetof(struct IpczAPI, Unbox);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, IpczGetAPI(&table));
	EXPECT_TRUE(table.Close == NULL);

	memset(&newer, 0x5a, sizeof(newer));
	newer.table.size = sizeof(newer);
	ASSERT_EQ(IPCZ_RESULT_OK, IpczGetAPI(&newer.table));
	EXPECT_EQ(sizeof(struct IpczAPI), newer.table.size);
	EXPECT_TRUE(newer.table.Unbox != NULL);
	for (size_t i = 0; i < sizeof(newer.later); i++)
		EXPECT_EQ(0x5a, newer.later[i]);
}

TEST(close_invalid)
{
	ASSERT_EQ(IPCZ_RESULT_OK, api_test_init());
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Close(IPCZ_INVALID_HANDLE, IPCZ_NO_FLAGS, NULL));
}

TEST(create_node_and_close)
{
	IpczHandle node = IPCZ_INVALID_HANDLE, broker = IPCZ_INVALID_HANDLE;

	ASSERT_EQ(IPCZ_RESULT_OK, api_test_init());
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.CreateNode(test_driver(), IPCZ_NO_FLAGS,
						  NULL, &node));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.CreateNode(test_driver(), IPCZ_CREATE_NODE_AS_BROKER,
				  NULL, &broker));
	EXPECT_NE(IPCZ_INVALID_HANDLE, node);
	EXPECT_NE(node, broker);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(node, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(broker, IPCZ_NO_FLAGS, NULL));

	/* A closed handle is gone: a second Close() is refused. */
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Close(node, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Close(broker, IPCZ_NO_FLAGS, NULL));
	EXPECT_TRUE(no_leaks());
}

TEST(create_node_null_arguments)
{
	IpczHandle node = IPCZ_INVALID_HANDLE;

	ASSERT_EQ(IPCZ_RESULT_OK, api_test_init());
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.CreateNode(NULL, IPCZ_NO_FLAGS, NULL, &node));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.CreateNode(test_driver(), IPCZ_NO_FLAGS, NULL, NULL));
	EXPECT_EQ(IPCZ_INVALID_HANDLE, node);
}

TEST(create_node_honours_driver_size)
{
	struct {
		struct IpczDriver driver;
		void *later_functions[4];
	} newer;
	struct IpczDriver older = *test_driver();
	IpczHandle node = IPCZ_INVALID_HANDLE;

	ASSERT_EQ(IPCZ_RESULT_OK, api_test_init());

	/* A table smaller than the one this header defines is refused. */
	older.size = sizeof(older) - 1;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.CreateNode(&older, IPCZ_NO_FLAGS, NULL, &node));
	older.size = 0;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.CreateNode(&older, IPCZ_NO_FLAGS, NULL, &node));

	/* A larger one (a newer driver) is fine. */
	memset(&newer, 0, sizeof(newer));
	newer.driver = *test_driver();
	newer.driver.size = sizeof(newer);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.CreateNode(&newer.driver, IPCZ_NO_FLAGS, NULL, &node));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(node, IPCZ_NO_FLAGS, NULL));
	EXPECT_TRUE(no_leaks());
}

TEST(create_node_needs_every_required_driver_function)
{
	/*
	 * Offsets of the entries upstream requires: all but the bad-activity
	 * report.
	 */
	static const size_t required[] = {
		offsetof(struct IpczDriver, Close),
		offsetof(struct IpczDriver, Serialize),
		offsetof(struct IpczDriver, Deserialize),
		offsetof(struct IpczDriver, CreateTransports),
		offsetof(struct IpczDriver, ActivateTransport),
		offsetof(struct IpczDriver, DeactivateTransport),
		offsetof(struct IpczDriver, Transmit),
		offsetof(struct IpczDriver, AllocateSharedMemory),
		offsetof(struct IpczDriver, GetSharedMemoryInfo),
		offsetof(struct IpczDriver, DuplicateSharedMemory),
		offsetof(struct IpczDriver, MapSharedMemory),
		offsetof(struct IpczDriver, GenerateRandomBytes),
	};
	IpczHandle node;

	ASSERT_EQ(IPCZ_RESULT_OK, api_test_init());
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		struct IpczDriver driver = *test_driver();

		memset((char *)&driver + required[i], 0,
		       sizeof(void (*)(void)));
		node = IPCZ_INVALID_HANDLE;
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.CreateNode(&driver, IPCZ_NO_FLAGS, NULL,
					  &node)) {
			TH_LOG("driver entry at offset %zu missing",
			       required[i]);
		}
		EXPECT_EQ(IPCZ_INVALID_HANDLE, node);
	}

	/* ReportBadTransportActivity is optional. */
	{
		struct IpczDriver driver = *test_driver();

		driver.ReportBadTransportActivity = NULL;
		ASSERT_EQ(IPCZ_RESULT_OK, ipcz.CreateNode(&driver,
							  IPCZ_NO_FLAGS, NULL,
							  &node));
		EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(node, IPCZ_NO_FLAGS,
						     NULL));
	}
	EXPECT_TRUE(no_leaks());
}

TEST(create_node_honours_options_size)
{
	const IpczFeature features[] = { IPCZ_FEATURE_MEM_V2 };
	struct {
		struct IpczCreateNodeOptions options;
		char later[16];
	} newer;
	struct IpczCreateNodeOptions options;
	IpczHandle node = IPCZ_INVALID_HANDLE;

	ASSERT_EQ(IPCZ_RESULT_OK, api_test_init());
	memset(&options, 0, sizeof(options));
	options.size = sizeof(options) - 1;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.CreateNode(test_driver(), IPCZ_NO_FLAGS, &options,
				  &node));
	EXPECT_EQ(IPCZ_INVALID_HANDLE, node);

	options.size = sizeof(options);
	options.memory_flags = IPCZ_MEMORY_FIXED_PARCEL_CAPACITY;
	options.enabled_features = features;
	options.num_enabled_features = 1;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.CreateNode(test_driver(), IPCZ_CREATE_NODE_AS_BROKER,
				  &options, &node));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(node, IPCZ_NO_FLAGS, NULL));

	memset(&newer, 0x7f, sizeof(newer));
	newer.options = options;
	newer.options.size = sizeof(newer);
	newer.options.enabled_features = NULL;
	newer.options.num_enabled_features = 0;
	newer.options.disabled_features = features;
	newer.options.num_disabled_features = 1;
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.CreateNode(test_driver(), IPCZ_NO_FLAGS,
						  &newer.options, &node));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(node, IPCZ_NO_FLAGS, NULL));
	EXPECT_TRUE(no_leaks());
}

TEST_F(node, open_portals)
{
	IpczHandle a = IPCZ_INVALID_HANDLE, b = IPCZ_INVALID_HANDLE;

	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.OpenPortals(self->node, IPCZ_NO_FLAGS, NULL, &a, &b));
	EXPECT_NE(IPCZ_INVALID_HANDLE, a);
	EXPECT_NE(IPCZ_INVALID_HANDLE, b);
	EXPECT_NE(a, b);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(a, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(b, IPCZ_NO_FLAGS, NULL));
}

TEST_F(node, open_portals_invalid)
{
	IpczHandle a = IPCZ_INVALID_HANDLE, b = IPCZ_INVALID_HANDLE;
	IpczHandle c, d;

	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.OpenPortals(IPCZ_INVALID_HANDLE, IPCZ_NO_FLAGS, NULL,
				   &a, &b));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.OpenPortals(self->node, IPCZ_NO_FLAGS, NULL, NULL, &b));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.OpenPortals(self->node, IPCZ_NO_FLAGS, NULL, &a, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.OpenPortals(self->node, IPCZ_NO_FLAGS, NULL, NULL,
				   NULL));
	EXPECT_EQ(IPCZ_INVALID_HANDLE, a);
	EXPECT_EQ(IPCZ_INVALID_HANDLE, b);

	/* A portal is not a node. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.OpenPortals(self->node, IPCZ_NO_FLAGS, NULL, &a, &b));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.OpenPortals(a, IPCZ_NO_FLAGS, NULL, &c, &d));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(a, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(b, IPCZ_NO_FLAGS, NULL));
}

TEST_F(node, many_portal_pairs)
{
	/* Many portal pairs on one node, closed in a different order. */
	enum { pairs = 64 };
	IpczHandle portals[2 * pairs];

	for (int i = 0; i < pairs; i++)
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.OpenPortals(self->node, IPCZ_NO_FLAGS, NULL,
					   &portals[2 * i],
					   &portals[2 * i + 1]));
	for (int i = 0; i < 2 * pairs; i += 2)
		EXPECT_EQ(IPCZ_RESULT_OK,
			  ipcz.Close(portals[i], IPCZ_NO_FLAGS, NULL));
	for (int i = 1; i < 2 * pairs; i += 2) {
		struct IpczPortalStatus status = portal_status(portals[i]);

		EXPECT_TRUE(status.flags & IPCZ_PORTAL_STATUS_DEAD);
		EXPECT_EQ(IPCZ_RESULT_OK,
			  ipcz.Close(portals[i], IPCZ_NO_FLAGS, NULL));
	}
}

static void make_transports(struct __test_metadata *_metadata,
			    IpczDriverHandle *t0, IpczDriverHandle *t1)
{
	ASSERT_EQ(IPCZ_RESULT_OK,
		  test_driver()->CreateTransports(IPCZ_INVALID_DRIVER_HANDLE,
						  IPCZ_INVALID_DRIVER_HANDLE,
						  IPCZ_NO_FLAGS, NULL, t0, t1));
}

TEST_F(node, connect_node_invalid)
{
	IpczDriverHandle t0, t1;
	IpczHandle portals[4] = { 0 };
	IpczHandle a, b, broker;

	make_transports(_metadata, &t0, &t1);

	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(IPCZ_INVALID_HANDLE, t0, 1, IPCZ_NO_FLAGS,
				   NULL, portals));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.OpenPortals(self->node, IPCZ_NO_FLAGS, NULL, &a, &b));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(a, t0, 1, IPCZ_CONNECT_NODE_TO_BROKER, NULL,
				   portals));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(self->node, IPCZ_INVALID_DRIVER_HANDLE, 1,
				   IPCZ_CONNECT_NODE_TO_BROKER, NULL, portals));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(self->node, t0, 0,
				   IPCZ_CONNECT_NODE_TO_BROKER, NULL, portals));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(self->node, t0, 1,
				   IPCZ_CONNECT_NODE_TO_BROKER, NULL, NULL));

	/*
	 * Far more initial portals than any implementation supports: refused
	 * before anything is written to the (small) array.
	 */
	EXPECT_EQ(IPCZ_RESULT_OUT_OF_RANGE,
		  ipcz.ConnectNode(self->node, t0, 1u << 20,
				   IPCZ_CONNECT_NODE_TO_BROKER, NULL, portals));

	/* Contradictory flags. */
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(self->node, t0, 1,
				   IPCZ_CONNECT_NODE_SHARE_BROKER |
					   IPCZ_CONNECT_NODE_TO_BROKER,
				   NULL, portals));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(self->node, t0, 1,
				   IPCZ_CONNECT_NODE_SHARE_BROKER |
					   IPCZ_CONNECT_NODE_INHERIT_BROKER,
				   NULL, portals));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(self->node, t0, 1,
				   IPCZ_CONNECT_NODE_TO_BROKER |
					   IPCZ_CONNECT_NODE_INHERIT_BROKER,
				   NULL, portals));
	broker = new_node(IPCZ_CREATE_NODE_AS_BROKER);
	ASSERT_NE(IPCZ_INVALID_HANDLE, broker);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(broker, t0, 1,
				   IPCZ_CONNECT_NODE_INHERIT_BROKER, NULL,
				   portals));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(broker, t0, 1,
				   IPCZ_CONNECT_NODE_SHARE_BROKER, NULL,
				   portals));

	/* Every failure left the transports with the caller. */
	EXPECT_EQ(IPCZ_RESULT_OK, test_driver()->Close(t0, IPCZ_NO_FLAGS,
						       NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, test_driver()->Close(t1, IPCZ_NO_FLAGS,
						       NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(a, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(b, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(broker, IPCZ_NO_FLAGS, NULL));
}

/*
 * A node that has a broker, linked or still connecting, cannot inherit
 * another (the header: it must not have one already): INVALID_ARGUMENT,
 * nothing written or taken, the first connection untouched.
 */
static void expect_inherit_refused(struct __test_metadata *_metadata,
				   IpczHandle node)
{
	IpczHandle portal = IPCZ_INVALID_HANDLE;
	IpczDriverHandle t0, t1;

	make_transports(_metadata, &t0, &t1);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.ConnectNode(node, t0, 1,
				   IPCZ_CONNECT_NODE_INHERIT_BROKER, NULL,
				   &portal));
	EXPECT_EQ(IPCZ_INVALID_HANDLE, portal);
	EXPECT_EQ(IPCZ_RESULT_OK, test_driver()->Close(t0, IPCZ_NO_FLAGS,
						       NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, test_driver()->Close(t1, IPCZ_NO_FLAGS,
						       NULL));
}

TEST_F(node, no_inheriting_a_second_broker)
{
	IpczHandle broker, to_broker, to_client;
	IpczDriverHandle t0, t1;
	char text[16];

	broker = new_node(IPCZ_CREATE_NODE_AS_BROKER);
	ASSERT_NE(IPCZ_INVALID_HANDLE, broker);
	make_transports(_metadata, &t0, &t1);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.ConnectNode(self->node, t1, 1,
				   IPCZ_CONNECT_NODE_TO_BROKER, NULL,
				   &to_broker));
	/* Still connecting: the broker has not answered yet. */
	expect_inherit_refused(_metadata, self->node);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.ConnectNode(broker, t0, 1, IPCZ_NO_FLAGS, NULL,
				   &to_client));
	expect_inherit_refused(_metadata, self->node);

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(to_client, "still linked"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(to_broker, text, sizeof(text)));
	EXPECT_STREQ("still linked", text);
	EXPECT_EQ(0, portal_status(to_broker).flags);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(to_broker, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(to_client, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(broker, IPCZ_NO_FLAGS, NULL));
}

/*
 * Connecting TO_BROKER again replaces the first connection, as upstream's
 * reconnection does, whether to the same broker or another: the old
 * portals on both sides see their peer closed, the new ones work.
 */
TEST_F(node, a_second_broker_replaces_the_first)
{
	IpczHandle brokers[2], to_broker[3], to_client[3];
	IpczDriverHandle t0, t1;
	char text[16];
	int i;

	for (i = 0; i < 2; i++) {
		brokers[i] = new_node(IPCZ_CREATE_NODE_AS_BROKER);
		ASSERT_NE(IPCZ_INVALID_HANDLE, brokers[i]);
	}
	/* Broker 0, broker 0 again, then broker 1. */
	for (i = 0; i < 3; i++) {
		make_transports(_metadata, &t0, &t1);
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.ConnectNode(brokers[i / 2], t0, 1,
					   IPCZ_NO_FLAGS, NULL,
					   &to_client[i]));
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.ConnectNode(self->node, t1, 1,
					   IPCZ_CONNECT_NODE_TO_BROKER, NULL,
					   &to_broker[i]));
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(to_client[i], "hello"));
		ASSERT_EQ(IPCZ_RESULT_OK,
			  get_str(to_broker[i], text, sizeof(text)));
		EXPECT_STREQ("hello", text);
		if (i == 0)
			continue;
		EXPECT_TRUE(portal_status(to_broker[i - 1]).flags &
			    IPCZ_PORTAL_STATUS_DEAD);
		EXPECT_TRUE(portal_status(to_client[i - 1]).flags &
			    IPCZ_PORTAL_STATUS_DEAD);
		EXPECT_EQ(0, portal_status(to_broker[i]).flags);
	}
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(IPCZ_RESULT_OK,
			  ipcz.Close(to_broker[i], IPCZ_NO_FLAGS, NULL));
		EXPECT_EQ(IPCZ_RESULT_OK,
			  ipcz.Close(to_client[i], IPCZ_NO_FLAGS, NULL));
	}
	for (i = 0; i < 2; i++)
		EXPECT_EQ(IPCZ_RESULT_OK,
			  ipcz.Close(brokers[i], IPCZ_NO_FLAGS, NULL));
}

/* Once its broker is gone, a node may connect to another. */
TEST_F(node, a_broker_after_the_first_is_gone)
{
	IpczHandle brokers[2], to_broker[2], to_client[2];
	char text[16];
	int i;

	for (i = 0; i < 2; i++) {
		IpczDriverHandle t0, t1;

		brokers[i] = new_node(IPCZ_CREATE_NODE_AS_BROKER);
		ASSERT_NE(IPCZ_INVALID_HANDLE, brokers[i]);
		make_transports(_metadata, &t0, &t1);
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.ConnectNode(brokers[i], t0, 1, IPCZ_NO_FLAGS,
					   NULL, &to_client[i]));
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.ConnectNode(self->node, t1, 1,
					   IPCZ_CONNECT_NODE_TO_BROKER, NULL,
					   &to_broker[i]));
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(to_client[i], "hello"));
		ASSERT_EQ(IPCZ_RESULT_OK,
			  get_str(to_broker[i], text, sizeof(text)));
		EXPECT_STREQ("hello", text);
		if (i > 0)
			break;
		EXPECT_EQ(IPCZ_RESULT_OK,
			  ipcz.Close(brokers[0], IPCZ_NO_FLAGS, NULL));
		EXPECT_TRUE(portal_status(to_broker[0]).flags &
			    IPCZ_PORTAL_STATUS_DEAD);
	}
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(IPCZ_RESULT_OK,
			  ipcz.Close(to_broker[i], IPCZ_NO_FLAGS, NULL));
		EXPECT_EQ(IPCZ_RESULT_OK,
			  ipcz.Close(to_client[i], IPCZ_NO_FLAGS, NULL));
	}
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(brokers[1], IPCZ_NO_FLAGS, NULL));
}

TEST(close_node_with_open_portals)
{
	IpczHandle node, a, b;

	ASSERT_EQ(IPCZ_RESULT_OK, api_test_init());
	node = new_node(IPCZ_NO_FLAGS);
	ASSERT_NE(IPCZ_INVALID_HANDLE, node);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.OpenPortals(node, IPCZ_NO_FLAGS, NULL, &a, &b));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(a, "left behind"));
	/* The node may go first; its portals stay usable handles. */
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(node, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(a, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(b, IPCZ_NO_FLAGS, NULL));
	EXPECT_TRUE(no_leaks());
}

TEST_HARNESS_MAIN
