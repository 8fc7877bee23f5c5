// SPDX-License-Identifier: MIT
/*
 * /dev/ipcz node ioctls: IPCZ_IOC_NODE_INFO, IPCZ_IOC_GET_LIMITS and
 * IPCZ_IOC_SET_LIMITS, the argument conventions every ioctl shares (size,
 * flags, reserved fields, user pointers), unknown ioctls, and the per-node
 * limits on transports, regions and listeners.
 */
#include "kselftest_harness.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fixture.h"

/* An argument buffer larger than any struct, to test the size rules. */
struct big_arg {
	union {
		struct ipcz_node_info info;
		struct ipcz_limits limits;
	};
	unsigned char tail[64];
};

TEST_F(ipcz, node_info)
{
	struct ipcz_node_info info, other_info;
	int other;

	ASSERT_EQ(0, dev_node_info(self->node, &info));
	EXPECT_EQ(IPCZ_ABI_VERSION, info.abi_version);
	EXPECT_NE(0, info.node_id);

	/* Every open is a node of its own. */
	other = ipcz_open_node();
	ASSERT_LE(0, other);
	ASSERT_EQ(0, dev_node_info(other, &other_info));
	EXPECT_NE(info.node_id, other_info.node_id);
	close(other);
}

TEST_F(ipcz, node_info_bad_size)
{
	struct big_arg arg;

	memset(&arg, 0, sizeof(arg));
	arg.info.size = 0;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_NODE_INFO, &arg));
	arg.info.size = IPCZ_NODE_INFO_SIZE_VER0 - 1;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_NODE_INFO, &arg));
	arg.info.size = 8;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_NODE_INFO, &arg));
	/* More than one page is refused outright. */
	arg.info.size = 4096 + 1;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_NODE_INFO, &arg));
	arg.info.size = 0xffffffff;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_NODE_INFO, &arg));
}

TEST_F(ipcz, node_info_larger_struct)
{
	struct big_arg arg;

	/* A newer caller's larger struct is fine while its tail is zero... */
	memset(&arg, 0, sizeof(arg));
	arg.info.size = sizeof(arg);
	ASSERT_EQ(0, ioctl_err(self->node, IPCZ_IOC_NODE_INFO, &arg));
	EXPECT_EQ(IPCZ_ABI_VERSION, arg.info.abi_version);
	/* size comes back as the number of bytes the kernel wrote. */
	EXPECT_EQ(IPCZ_NODE_INFO_SIZE_VER0, arg.info.size);

	/* ...and refused when the tail asks for something unknown. */
	memset(&arg, 0, sizeof(arg));
	arg.info.size = sizeof(arg);
	arg.tail[sizeof(arg.tail) - 1] = 1;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_NODE_INFO, &arg));
}

TEST_F(ipcz, node_info_flags_and_reserved)
{
	struct ipcz_node_info info = { .size = sizeof(info) };

	info.flags = 1;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_NODE_INFO, &info));
	info.flags = 0x80000000;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_NODE_INFO, &info));
	info.flags = 0;
	info.reserved = 7;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_NODE_INFO, &info));
}

TEST_F(ipcz, bad_user_pointers)
{
	void *hole = unmapped_page();

	ASSERT_NE(NULL, hole);
	EXPECT_EQ(-EFAULT, ioctl_err(self->node, IPCZ_IOC_NODE_INFO, NULL));
	EXPECT_EQ(-EFAULT, ioctl_err(self->node, IPCZ_IOC_NODE_INFO, hole));
	EXPECT_EQ(-EFAULT, ioctl_err(self->node, IPCZ_IOC_GET_LIMITS, hole));
	EXPECT_EQ(-EFAULT, ioctl_err(self->node, IPCZ_IOC_SET_LIMITS, hole));
	EXPECT_EQ(-EFAULT,
		  ioctl_err(self->node, IPCZ_IOC_TRANSPORT_PAIR, hole));
	EXPECT_EQ(-EFAULT, ioctl_err(self->node, IPCZ_IOC_REGION_CREATE, hole));
	EXPECT_EQ(-EFAULT, ioctl_err(self->node, IPCZ_IOC_LISTEN, hole));
	EXPECT_EQ(-EFAULT, ioctl_err(self->node, IPCZ_IOC_CONNECT, hole));
	/* A kernel address is no better than an unmapped one. */
	EXPECT_EQ(-EFAULT, ioctl_err(self->node, IPCZ_IOC_NODE_INFO,
				     (void *)0xffffffff81000000UL));
	munmap(hole, 4096);
}

TEST_F(ipcz, unknown_ioctls)
{
	struct ipcz_node_info info = { .size = sizeof(info) };
	struct ipcz_send send = { .size = sizeof(send) };
	struct ipcz_region_info region = { .size = sizeof(region) };
	struct ipcz_accept accept = { .size = sizeof(accept) };

	/* Unused numbers of our magic, and someone else's magic. */
	EXPECT_EQ(-ENOTTY, ioctl_err(self->node,
				     _IOWR(IPCZ_IOC_MAGIC, 0x7f,
					   struct ipcz_node_info), &info));
	EXPECT_EQ(-ENOTTY, ioctl_err(self->node,
				     _IOWR(IPCZ_IOC_MAGIC, 0x09,
					   struct ipcz_node_info), &info));
	EXPECT_EQ(-ENOTTY, ioctl_err(self->node,
				     _IOWR('T', 0x00,
					   struct ipcz_node_info), &info));
	EXPECT_EQ(-ENOTTY, ioctl_err(self->node, FIONREAD, &info));
	/* A known number with the wrong encoded size is not that ioctl. */
	EXPECT_EQ(-ENOTTY, ioctl_err(self->node,
				     _IOWR(IPCZ_IOC_MAGIC, 0x00, __u64),
				     &info));
	/* Ioctls of other descriptor types are unknown to a node. */
	EXPECT_EQ(-ENOTTY, ioctl_err(self->node, IPCZ_IOC_SEND, &send));
	EXPECT_EQ(-ENOTTY,
		  ioctl_err(self->node, IPCZ_IOC_REGION_INFO, &region));
	EXPECT_EQ(-ENOTTY, ioctl_err(self->node, IPCZ_IOC_ACCEPT, &accept));
}

TEST_F(ipcz, not_a_node)
{
	struct ipcz_node_info info;
	int pipefd[2], fd;

	/* Node ioctls on descriptors that are not nodes. */
	ASSERT_EQ(0, pipe2(pipefd, O_CLOEXEC));
	EXPECT_EQ(-ENOTTY, dev_node_info(pipefd[0], &info));
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTTY, dev_node_info(fd, &info));
	/* Closed and impossible descriptors. */
	close(fd);
	EXPECT_EQ(-EBADF, dev_node_info(fd, &info));
	EXPECT_EQ(-EBADF, dev_node_info(-1, &info));
	EXPECT_EQ(-EBADF, dev_node_info(1 << 20, &info));
}

TEST_F(ipcz, limits_defaults_within_caps)
{
	struct ipcz_limits limits, caps;

	ASSERT_EQ(0, dev_get_limits(self->node, &limits, 0));
	ASSERT_EQ(0, dev_get_limits(self->node, &caps, IPCZ_LIMITS_CAPS));
	EXPECT_NE(0, limits.queue_bytes);
	EXPECT_NE(0, limits.queue_messages);
	EXPECT_NE(0, limits.max_transports);
	EXPECT_NE(0, limits.max_regions);
	EXPECT_NE(0, limits.max_listeners);
	EXPECT_NE(0, limits.region_bytes);
	EXPECT_LE(limits.queue_bytes, caps.queue_bytes);
	EXPECT_LE(limits.queue_messages, caps.queue_messages);
	EXPECT_LE(limits.max_transports, caps.max_transports);
	EXPECT_LE(limits.max_regions, caps.max_regions);
	EXPECT_LE(limits.max_listeners, caps.max_listeners);
	EXPECT_LE(limits.region_bytes, caps.region_bytes);
}

TEST_F(ipcz, limits_set_and_get)
{
	struct ipcz_limits limits, seen, other;
	int node2;

	ASSERT_EQ(0, dev_get_limits(self->node, &limits, 0));
	limits.queue_bytes = 12345;
	limits.queue_messages = 7;
	limits.max_transports = 5;
	limits.max_regions = 3;
	limits.max_listeners = 2;
	limits.region_bytes = 1 << 20;
	ASSERT_EQ(0, dev_set_limits(self->node, &limits));
	ASSERT_EQ(0, dev_get_limits(self->node, &seen, 0));
	EXPECT_EQ(12345, seen.queue_bytes);
	EXPECT_EQ(7, seen.queue_messages);
	EXPECT_EQ(5, seen.max_transports);
	EXPECT_EQ(3, seen.max_regions);
	EXPECT_EQ(2, seen.max_listeners);
	EXPECT_EQ(1 << 20, seen.region_bytes);

	/* Limits belong to one node. */
	node2 = ipcz_open_node();
	ASSERT_LE(0, node2);
	ASSERT_EQ(0, dev_get_limits(node2, &other, 0));
	EXPECT_NE(7, other.queue_messages);
	close(node2);
}

TEST_F(ipcz, limits_bad_values)
{
	struct ipcz_limits good, caps, l;

	ASSERT_EQ(0, dev_get_limits(self->node, &good, 0));
	ASSERT_EQ(0, dev_get_limits(self->node, &caps, IPCZ_LIMITS_CAPS));

	l = good;
	l.queue_bytes = 0;
	EXPECT_EQ(-EINVAL, dev_set_limits(self->node, &l));
	l = good;
	l.max_regions = 0;
	EXPECT_EQ(-EINVAL, dev_set_limits(self->node, &l));
	l = good;
	l.queue_messages = caps.queue_messages + 1;
	EXPECT_EQ(-EINVAL, dev_set_limits(self->node, &l));
	l = good;
	l.region_bytes = caps.region_bytes + 1;
	EXPECT_EQ(-EINVAL, dev_set_limits(self->node, &l));
	l = good;
	l.queue_bytes = ~0ULL;
	EXPECT_EQ(-EINVAL, dev_set_limits(self->node, &l));

	/* SET takes no flags, CAPS included; GET takes no unknown flags. */
	l = good;
	l.size = sizeof(l);
	l.flags = IPCZ_LIMITS_CAPS;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_SET_LIMITS, &l));
	EXPECT_EQ(-EINVAL, dev_get_limits(self->node, &l, 1U << 7));
	l = good;
	l.size = IPCZ_LIMITS_SIZE_VER0 - 4;
	l.flags = 0;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_SET_LIMITS, &l));

	/* Nothing changed. */
	ASSERT_EQ(0, dev_get_limits(self->node, &l, 0));
	EXPECT_EQ(good.queue_bytes, l.queue_bytes);
	EXPECT_EQ(good.queue_messages, l.queue_messages);
	EXPECT_EQ(good.max_regions, l.max_regions);
	EXPECT_EQ(good.region_bytes, l.region_bytes);
}

/* A node with tight limits: 2 transport ends, 2 regions, 1 listener. */
static int set_tight_limits(int node)
{
	struct ipcz_limits l;
	int ret = dev_get_limits(node, &l, 0);

	if (ret)
		return ret;
	l.max_transports = 2;
	l.max_regions = 2;
	l.max_listeners = 1;
	l.region_bytes = 3 * 4096;
	return dev_set_limits(node, &l);
}

TEST_F(ipcz, limit_transports)
{
	int fds[2], more[2];

	ASSERT_EQ(0, set_tight_limits(self->node));
	ASSERT_EQ(0, dev_pair(self->node, fds));
	EXPECT_EQ(-ENOSPC, dev_pair(self->node, more));
	/* Closing ends gives their places back. */
	close(fds[0]);
	close(fds[1]);
	ASSERT_EQ(0, dev_pair(self->node, fds));
}

TEST_F(ipcz, limit_regions)
{
	uint64_t len = 4096;
	int r1, r2, r3;

	ASSERT_EQ(0, set_tight_limits(self->node));
	r1 = dev_region_create(self->node, &len);
	ASSERT_LE(0, r1);
	len = 4096;
	r2 = dev_region_create(self->node, &len);
	ASSERT_LE(0, r2);
	len = 4096;
	EXPECT_EQ(-ENOSPC, dev_region_create(self->node, &len));
	close(r2);
	/* Two regions are allowed again, but not more than 3 pages. */
	len = 3 * 4096;
	EXPECT_EQ(-ENOSPC, dev_region_create(self->node, &len));
	len = 2 * 4096;
	r3 = dev_region_create(self->node, &len);
	ASSERT_LE(0, r3);
	close(r1);
	close(r3);
}

TEST_F(ipcz, limit_listeners)
{
	int l1;

	ASSERT_EQ(0, set_tight_limits(self->node));
	l1 = dev_listen(self->node, "selftest-limit-1", 0600,
			 IPCZ_OWNER_SELF, IPCZ_OWNER_SELF, 4);
	ASSERT_LE(0, l1);
	EXPECT_EQ(-ENOSPC, dev_listen(self->node, "selftest-limit-2", 0600,
				       IPCZ_OWNER_SELF, IPCZ_OWNER_SELF, 4));
	close(l1);
}

TEST_F(ipcz, node_fd_survives_its_objects)
{
	struct ipcz_node_info info;
	int fds[2];

	/* Objects outlive the node fd that made them, and vice versa. */
	ASSERT_EQ(0, dev_pair(self->node, fds));
	close(self->node);
	EXPECT_EQ(0, dev_send_str(fds[0], "after node close"));
	EXPECT_EQ(16, dev_recv_any(fds[1]));
	self->node = ipcz_open_node();
	ASSERT_LE(0, self->node);
	ASSERT_EQ(0, dev_node_info(self->node, &info));
}

TEST_F(ipcz, many_nodes)
{
	int fds[64], i;

	for (i = 0; i < 64; i++) {
		fds[i] = ipcz_open_node();
		ASSERT_LE(0, fds[i]);
	}
	for (i = 0; i < 64; i++)
		close(fds[i]);
}

TEST_HARNESS_MAIN
