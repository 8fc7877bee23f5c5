// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of descriptor handling in messages: types, references,
 * in-flight counting and refused kinds of descriptor.
 */
#include <kunit/test.h>
#include <linux/anon_inodes.h>
#include <linux/net.h>
#include <net/net_namespace.h>

#include "test_util.h"

static const struct file_operations ipcz_test_plain_fops = {
	.owner = THIS_MODULE,
};

static struct file *ipcz_test_plain_file(struct kunit *test)
{
	struct file *file;

	file = anon_inode_getfile("[ipcz-test]", &ipcz_test_plain_fops, NULL,
				  O_RDWR);
	KUNIT_ASSERT_FALSE(test, IS_ERR(file));
	return file;
}

static void ipcz_message_types_and_references(struct kunit *test)
{
	long messages = ipcz_kind_count(IPCZ_KIND_MESSAGE);
	struct ipcz_node *node = ipcz_test_node(test);
	struct file *a, *b, *plain, *region, *ro;
	struct ipcz_message *msg;
	u64 length = 1;

	ipcz_test_pair(test, node, &a, &b);
	plain = ipcz_test_plain_file(test);
	KUNIT_ASSERT_EQ(test, 0, ipcz_region_create(node, &length, false,
						    &region));
	KUNIT_ASSERT_EQ(test, 0, ipcz_region_create(node, &length, true, &ro));

	msg = ipcz_message_alloc(0, 4);
	KUNIT_ASSERT_NOT_NULL(test, msg);
	KUNIT_EXPECT_NULL(test, msg->data);
	KUNIT_EXPECT_EQ(test, 0, ipcz_message_attach(msg, 0, plain));
	KUNIT_EXPECT_EQ(test, 0, ipcz_message_attach(msg, 1, region));
	KUNIT_EXPECT_EQ(test, 0, ipcz_message_attach(msg, 2, ro));
	KUNIT_EXPECT_EQ(test, 0, ipcz_message_attach(msg, 3, a));
	KUNIT_EXPECT_EQ(test, 4U, msg->nfds);
	KUNIT_EXPECT_EQ(test, (u32)IPCZ_FD_TYPE_OTHER, msg->descs[0].type);
	KUNIT_EXPECT_EQ(test, (u32)IPCZ_FD_TYPE_REGION, msg->descs[1].type);
	KUNIT_EXPECT_EQ(test, (u32)IPCZ_FD_TYPE_REGION_RO, msg->descs[2].type);
	KUNIT_EXPECT_EQ(test, (u32)IPCZ_FD_TYPE_TRANSPORT, msg->descs[3].type);

	/* Each descriptor holds its own reference; transports are counted. */
	KUNIT_EXPECT_EQ(test, 2L, file_count(plain));
	KUNIT_EXPECT_EQ(test, 2L, file_count(a));
	KUNIT_EXPECT_EQ(test, 1UL, ipcz_test_t(a)->inflight);
	KUNIT_EXPECT_EQ(test, 0UL, ipcz_test_t(b)->inflight);
	KUNIT_EXPECT_EQ(test, messages + 1,
			ipcz_kind_count(IPCZ_KIND_MESSAGE));

	ipcz_message_free(msg);
	KUNIT_EXPECT_EQ(test, 1L, file_count(plain));
	KUNIT_EXPECT_EQ(test, 1L, file_count(a));
	KUNIT_EXPECT_EQ(test, 0UL, ipcz_test_t(a)->inflight);
	KUNIT_EXPECT_EQ(test, messages, ipcz_kind_count(IPCZ_KIND_MESSAGE));

	ipcz_test_fput(plain);
	ipcz_test_fput(region);
	ipcz_test_fput(ro);
	ipcz_test_fput(a);
	ipcz_test_fput(b);
	ipcz_node_close(node);
}

static void ipcz_message_refuses_unix_sockets(struct kunit *test)
{
	struct ipcz_message *msg;
	struct socket *sock;
	struct file *file;

	KUNIT_ASSERT_EQ(test, 0, sock_create_kern(&init_net, AF_UNIX,
						  SOCK_STREAM, 0, &sock));
	file = sock_alloc_file(sock, 0, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(file));

	msg = ipcz_message_alloc(3, 1);
	KUNIT_ASSERT_NOT_NULL(test, msg);
	KUNIT_EXPECT_EQ(test, -EINVAL, ipcz_message_attach(msg, 0, file));
	KUNIT_EXPECT_EQ(test, 0U, msg->nfds);
	KUNIT_EXPECT_EQ(test, 1L, file_count(file));
	ipcz_message_free(msg);
	ipcz_test_fput(file);
}

static void ipcz_message_transport_in_its_own_queue(struct kunit *test)
{
	long transports = ipcz_kind_count(IPCZ_KIND_TRANSPORT);
	struct ipcz_node *node = ipcz_test_node(test);
	struct file *a, *b;

	ipcz_test_pair(test, node, &a, &b);
	/* b travels to itself: it is queued to b. */
	KUNIT_EXPECT_EQ(test, 0, ipcz_test_send(test, a, 1, &b, 1));
	KUNIT_EXPECT_EQ(test, 1UL, ipcz_test_t(b)->inflight);
	KUNIT_EXPECT_EQ(test, 1UL, ipcz_gc_total_inflight());
	/* Taking the message off the queue ends the flight. */
	KUNIT_EXPECT_EQ(test, 1U, ipcz_test_drop_head(test, b));
	KUNIT_EXPECT_EQ(test, 0UL, ipcz_test_t(b)->inflight);
	KUNIT_EXPECT_EQ(test, 0UL, ipcz_gc_total_inflight());
	KUNIT_EXPECT_EQ(test, 1L, file_count(b));

	ipcz_test_fput(a);
	ipcz_test_fput(b);
	ipcz_node_close(node);
	KUNIT_EXPECT_EQ(test, transports, ipcz_kind_count(IPCZ_KIND_TRANSPORT));
}

static struct kunit_case ipcz_message_cases[] = {
	KUNIT_CASE(ipcz_message_types_and_references),
	KUNIT_CASE(ipcz_message_refuses_unix_sockets),
	KUNIT_CASE(ipcz_message_transport_in_its_own_queue),
	{}
};

static struct kunit_suite ipcz_message_suite = {
	.name = "ipcz_message",
	.test_cases = ipcz_message_cases,
};

kunit_test_suite(ipcz_message_suite);
