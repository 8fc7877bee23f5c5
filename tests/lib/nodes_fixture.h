/* SPDX-License-Identifier: MIT */
/*
 * FIXTURE(nodes): a broker and one client joined to it, for the tests of
 * two nodes in one process. `a` is the broker's initial portal, `b` the
 * client's. After each test everything is closed, and no driver object
 * or allocation may be left behind.
 *
 * Included once per test file, after kselftest_harness.h: it defines the
 * fixture's setup and teardown.
 */
#ifndef IPCZ_TESTS_LIB_NODES_FIXTURE_H
#define IPCZ_TESTS_LIB_NODES_FIXTURE_H

#include "net_fixture.h"

FIXTURE(nodes) {
	IpczHandle broker, client, a, b;
};

FIXTURE_SETUP(nodes)
{
	self->broker = new_node(IPCZ_CREATE_NODE_AS_BROKER);
	self->client = new_node(IPCZ_NO_FLAGS);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  join_to_broker(self->broker, self->client,
				 IPCZ_CONNECT_NODE_TO_BROKER, &self->a,
				 &self->b));
}

FIXTURE_TEARDOWN(nodes)
{
	close_clients(self->broker, &self->client, &self->a, &self->b, 1);
	EXPECT_EQ(0, ipcz_inprocess_live_objects());
	EXPECT_EQ(0, leaks_found());
}

#endif /* IPCZ_TESTS_LIB_NODES_FIXTURE_H */
