// SPDX-License-Identifier: MIT
/*
 * Transports: IPCZ_IOC_TRANSPORT_PAIR, IPCZ_IOC_SEND, IPCZ_IOC_RECV,
 * IPCZ_IOC_RING, IPCZ_IOC_TAKE_DOORBELL and IPCZ_IOC_PEER_CRED; message
 * order and integrity, descriptor passing, receive into buffers that are
 * too small, bounded queues, peer closure, poll and epoll readiness, the
 * doorbell, and bad input of every kind.
 */
#include "kselftest_harness.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

#define PAGE 4096

/* Creates a pair into fds or fails the test. */
#define PAIR(fds) ASSERT_EQ(0, dev_pair(self->node, fds))

/* Asserts that the transport's receive queue is empty. */
#define ASSERT_QUEUE_EMPTY(t) \
	ASSERT_EQ(-EAGAIN, dev_recv_any((t)))

TEST_F(ipcz, pair_flags)
{
	struct ipcz_transport_pair arg = { .size = sizeof(arg) };

	/* Without IPCZ_CLOEXEC the ends survive exec. */
	ASSERT_EQ(0, ioctl_err(self->node, IPCZ_IOC_TRANSPORT_PAIR, &arg));
	EXPECT_EQ(0, fcntl(arg.fds[0], F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, fcntl(arg.fds[1], F_GETFD) & FD_CLOEXEC);
	close(arg.fds[0]);
	close(arg.fds[1]);

	arg.flags = IPCZ_CLOEXEC;
	ASSERT_EQ(0, ioctl_err(self->node, IPCZ_IOC_TRANSPORT_PAIR, &arg));
	EXPECT_NE(0, fcntl(arg.fds[0], F_GETFD) & FD_CLOEXEC);
	EXPECT_NE(0, fcntl(arg.fds[1], F_GETFD) & FD_CLOEXEC);
	close(arg.fds[0]);
	close(arg.fds[1]);

	arg.flags = 1U << 5;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_TRANSPORT_PAIR,
				     &arg));
	arg.flags = 0;
	arg.size = IPCZ_TRANSPORT_PAIR_SIZE_VER0 - 1;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_TRANSPORT_PAIR,
				     &arg));
}

TEST_F(ipcz, send_recv_both_ways)
{
	char buf[64];
	int t[2];

	PAIR(t);
	ASSERT_EQ(0, dev_send_str(t[0], "ping"));
	ASSERT_EQ(4, dev_recv_bytes(t[1], buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "ping", 4));
	ASSERT_EQ(0, dev_send_str(t[1], "pong!"));
	ASSERT_EQ(5, dev_recv_bytes(t[0], buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "pong!", 5));
	/* A message goes to the peer only, never back to the sender. */
	ASSERT_QUEUE_EMPTY(t[0]);
	ASSERT_QUEUE_EMPTY(t[1]);
}

TEST_F(ipcz, empty_message)
{
	uint32_t len = 16, nfds = 4;
	char buf[16];
	int t[2], fds[4];

	PAIR(t);
	ASSERT_EQ(0, dev_send(t[0], NULL, 0, NULL, 0));
	ASSERT_EQ(0, dev_recv(t[1], buf, &len, fds, &nfds, NULL));
	EXPECT_EQ(0, len);
	EXPECT_EQ(0, nfds);
}

TEST_F(ipcz, order_and_integrity)
{
	static unsigned char buf[PAGE * 4];
	int t[2], i;

	PAIR(t);
	for (i = 0; i < 32; i++) {
		size_t len = (size_t)(i * 397) % sizeof(buf);

		fill_pattern(buf, len, (unsigned int)i);
		ASSERT_EQ(0, dev_send(t[0], buf, len, NULL, 0));
	}
	for (i = 0; i < 32; i++) {
		size_t len = (size_t)(i * 397) % sizeof(buf);

		memset(buf, 0, sizeof(buf));
		ASSERT_EQ((int)len, dev_recv_bytes(t[1], buf, sizeof(buf)));
		EXPECT_TRUE(check_pattern(buf, len, (unsigned int)i))
			TH_LOG("message %d corrupted", i);
	}
	ASSERT_QUEUE_EMPTY(t[1]);
}

TEST_F(ipcz, recv_empty_queue)
{
	int t[2];

	PAIR(t);
	EXPECT_EQ(-EAGAIN, dev_recv_any(t[0]));
	EXPECT_EQ(-EAGAIN, dev_recv_any(t[1]));
}

TEST_F(ipcz, recv_too_small_loses_nothing)
{
	unsigned char data[300], buf[300];
	int t[2], p[2], sent[2], got[2];
	uint32_t types[2], len, nfds;
	int open_before;

	PAIR(t);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	fill_pattern(data, sizeof(data), 42);
	sent[0] = p[0];
	sent[1] = p[1];
	ASSERT_EQ(0, dev_send(t[0], data, sizeof(data), sent, 2));
	open_before = count_open_fds();

	/* Data buffer too small: both needed sizes come back. */
	len = 10;
	nfds = 2;
	EXPECT_EQ(-EMSGSIZE, dev_recv(t[1], buf, &len, got, &nfds, types));
	EXPECT_EQ(sizeof(data), len);
	EXPECT_EQ(2, nfds);

	/* Descriptor array too small. */
	len = sizeof(buf);
	nfds = 1;
	EXPECT_EQ(-EMSGSIZE, dev_recv(t[1], buf, &len, got, &nfds, types));
	EXPECT_EQ(sizeof(data), len);
	EXPECT_EQ(2, nfds);

	/* No descriptor array at all. */
	len = sizeof(buf);
	nfds = 0;
	EXPECT_EQ(-EMSGSIZE, dev_recv(t[1], buf, &len, NULL, &nfds, NULL));
	EXPECT_EQ(2, nfds);

	/* Failed receives installed nothing. */
	EXPECT_EQ(open_before, count_open_fds());

	/* The message is still there, whole. */
	len = sizeof(buf);
	nfds = 2;
	ASSERT_EQ(0, dev_recv(t[1], buf, &len, got, &nfds, types));
	EXPECT_EQ(sizeof(data), len);
	EXPECT_TRUE(check_pattern(buf, len, 42));
	ASSERT_EQ(2, nfds);
	EXPECT_EQ(IPCZ_FD_TYPE_OTHER, types[0]);
	EXPECT_EQ(IPCZ_FD_TYPE_OTHER, types[1]);
	EXPECT_EQ(open_before + 2, count_open_fds());
	/* The received pipe ends are the pipe. */
	ASSERT_EQ(3, write(got[1], "abc", 3));
	ASSERT_EQ(3, read(p[0], buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "abc", 3));
	ASSERT_QUEUE_EMPTY(t[1]);
}

TEST_F(ipcz, recv_bad_pointers_lose_nothing)
{
	void *hole = unmapped_page();
	uint32_t len, nfds;
	int t[2], p[2], got[2], open_before;
	char buf[16];

	ASSERT_NE(NULL, hole);
	PAIR(t);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_EQ(0, dev_send(t[0], "hello", 5, p, 2));
	open_before = count_open_fds();

	len = sizeof(buf);
	nfds = 2;
	EXPECT_EQ(-EFAULT, dev_recv(t[1], hole, &len, got, &nfds, NULL));
	len = sizeof(buf);
	nfds = 2;
	EXPECT_EQ(-EFAULT, dev_recv(t[1], buf, &len, hole, &nfds, NULL));
	len = sizeof(buf);
	nfds = 2;
	EXPECT_EQ(-EFAULT, dev_recv(t[1], buf, &len, got, &nfds, hole));
	/* Bad pointers left no descriptor installed behind. */
	EXPECT_EQ(open_before, count_open_fds());

	len = sizeof(buf);
	nfds = 2;
	ASSERT_EQ(0, dev_recv(t[1], buf, &len, got, &nfds, NULL));
	EXPECT_EQ(5, len);
	EXPECT_EQ(2, nfds);
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	munmap(hole, PAGE);
}

TEST_F(ipcz, send_bad_pointers_queue_nothing)
{
	void *hole = unmapped_page();
	int t[2], p[2];

	ASSERT_NE(NULL, hole);
	PAIR(t);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	EXPECT_EQ(-EFAULT, dev_send(t[0], hole, 8, NULL, 0));
	EXPECT_EQ(-EFAULT, dev_send(t[0], NULL, 8, NULL, 0));
	EXPECT_EQ(-EFAULT, dev_send(t[0], "x", 1, hole, 1));
	EXPECT_EQ(-EFAULT, dev_send(t[0], "x", 1, NULL, 1));
	/* Part of the data readable, the rest not. */
	EXPECT_EQ(-EFAULT, dev_send(t[0], (char *)hole - 8, 16, NULL, 0));
	EXPECT_EQ(-EFAULT, ioctl_err(t[0], IPCZ_IOC_SEND, hole));
	EXPECT_EQ(-EFAULT, ioctl_err(t[0], IPCZ_IOC_RECV, hole));
	EXPECT_EQ(-EFAULT, ioctl_err(t[0], IPCZ_IOC_RING, NULL));
	EXPECT_EQ(-EFAULT, ioctl_err(t[0], IPCZ_IOC_TAKE_DOORBELL, hole));
	EXPECT_EQ(-EFAULT, ioctl_err(t[0], IPCZ_IOC_PEER_CRED, hole));
	ASSERT_QUEUE_EMPTY(t[1]);
	/* The sender kept its descriptors. */
	EXPECT_TRUE(fd_is_open(p[0]));
	EXPECT_TRUE(fd_is_open(p[1]));
	munmap(hole, PAGE);
}

TEST_F(ipcz, send_bad_args)
{
	struct ipcz_send arg;
	int t[2], many[IPCZ_MAX_FDS + 1], i;

	PAIR(t);
	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.data = (uintptr_t)"x";
	arg.data_len = 1;

	arg.flags = 1;
	EXPECT_EQ(-EINVAL, ioctl_err(t[0], IPCZ_IOC_SEND, &arg));
	arg.flags = 0;
	arg.size = IPCZ_SEND_SIZE_VER0 - 8;
	EXPECT_EQ(-EINVAL, ioctl_err(t[0], IPCZ_IOC_SEND, &arg));
	arg.size = 0;
	EXPECT_EQ(-EINVAL, ioctl_err(t[0], IPCZ_IOC_SEND, &arg));
	arg.size = PAGE * 2;
	EXPECT_EQ(-EINVAL, ioctl_err(t[0], IPCZ_IOC_SEND, &arg));

	/* Too many descriptors. */
	for (i = 0; i <= IPCZ_MAX_FDS; i++)
		many[i] = 0;
	EXPECT_EQ(-EINVAL, dev_send(t[0], "x", 1, many, IPCZ_MAX_FDS + 1));
	EXPECT_EQ(-EINVAL, dev_send(t[0], "x", 1, many, 0xffffffff));

	/* Huge messages are refused, not allocated. */
	EXPECT_EQ(-EMSGSIZE, dev_send(t[0], "x", 0xffffffffu, NULL, 0));
	EXPECT_EQ(-EMSGSIZE, dev_send(t[0], "x", 0x80000000u, NULL, 0));
	ASSERT_QUEUE_EMPTY(t[1]);
}

TEST_F(ipcz, recv_bad_args)
{
	struct ipcz_recv arg;
	char buf[8];
	int t[2];

	PAIR(t);
	ASSERT_EQ(0, dev_send_str(t[0], "kept"));
	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.data = (uintptr_t)buf;
	arg.data_len = sizeof(buf);
	arg.flags = 1U << 4;
	EXPECT_EQ(-EINVAL, ioctl_err(t[1], IPCZ_IOC_RECV, &arg));
	arg.flags = 0;
	arg.size = IPCZ_RECV_SIZE_VER0 - 4;
	EXPECT_EQ(-EINVAL, ioctl_err(t[1], IPCZ_IOC_RECV, &arg));
	arg.size = 0;
	EXPECT_EQ(-EINVAL, ioctl_err(t[1], IPCZ_IOC_RECV, &arg));
	/* The failed calls left the message queued. */
	ASSERT_EQ(4, dev_recv_bytes(t[1], buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "kept", 4));
}

TEST_F(ipcz, send_bad_descriptors)
{
	int t[2], p[2], fds[3];

	PAIR(t);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	fds[0] = p[0];
	fds[1] = -1;
	fds[2] = p[1];
	EXPECT_EQ(-EBADF, dev_send(t[0], "x", 1, fds, 3));
	fds[1] = 1 << 20;
	EXPECT_EQ(-EBADF, dev_send(t[0], "x", 1, fds, 3));
	close(p[1]);
	fds[1] = p[0];
	/* A closed descriptor anywhere in the list fails the whole send. */
	EXPECT_EQ(-EBADF, dev_send(t[0], "x", 1, fds, 3));
	ASSERT_QUEUE_EMPTY(t[1]);
	EXPECT_TRUE(fd_is_open(p[0]));
}

TEST_F(ipcz, pass_every_descriptor_type)
{
	int t[2], other[2], p[2], sent[6], got[6], node2;
	uint32_t types[6], len, nfds;
	uint64_t rlen = PAGE;
	int region, region_ro;
	char buf[16];

	PAIR(t);
	PAIR(other);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	region = dev_region_create(self->node, &rlen);
	ASSERT_LE(0, region);
	region_ro = dev_region_dup(region, true);
	ASSERT_LE(0, region_ro);
	node2 = ipcz_open_node();
	ASSERT_LE(0, node2);

	sent[0] = other[1];
	sent[1] = region;
	sent[2] = region_ro;
	sent[3] = p[1];
	sent[4] = node2;
	sent[5] = 1;	/* stdout: any descriptor at all */
	ASSERT_EQ(0, dev_send(t[0], "fds", 3, sent, 6));
	/* The sender still holds what it sent. */
	EXPECT_TRUE(fd_is_open(other[1]));
	EXPECT_TRUE(fd_is_open(region));

	len = sizeof(buf);
	nfds = 6;
	ASSERT_EQ(0, dev_recv(t[1], buf, &len, got, &nfds, types));
	ASSERT_EQ(6, nfds);
	EXPECT_EQ(IPCZ_FD_TYPE_TRANSPORT, types[0]);
	EXPECT_EQ(IPCZ_FD_TYPE_REGION, types[1]);
	EXPECT_EQ(IPCZ_FD_TYPE_REGION_RO, types[2]);
	EXPECT_EQ(IPCZ_FD_TYPE_OTHER, types[3]);
	EXPECT_EQ(IPCZ_FD_TYPE_NODE, types[4]);
	EXPECT_EQ(IPCZ_FD_TYPE_OTHER, types[5]);
	/* New descriptors in this process, close-on-exec as asked. */
	for (nfds = 0; nfds < 6; nfds++) {
		EXPECT_NE(sent[nfds], got[nfds]);
		EXPECT_NE(0, fcntl(got[nfds], F_GETFD) & FD_CLOEXEC);
	}

	/* The received transport end is the same end. */
	ASSERT_EQ(0, dev_send_str(got[0], "via copy"));
	ASSERT_EQ(8, dev_recv_bytes(other[0], buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "via copy", 8));
	/* The pipe too. */
	ASSERT_EQ(2, write(got[3], "ok", 2));
	ASSERT_EQ(2, read(p[0], buf, sizeof(buf)));
	/* And the node: the same node, still able to make objects. */
	{
		struct ipcz_node_info a, b;
		int more[2];

		ASSERT_EQ(0, dev_node_info(node2, &a));
		ASSERT_EQ(0, dev_node_info(got[4], &b));
		EXPECT_EQ(a.node_id, b.node_id);
		EXPECT_EQ(0, dev_pair(got[4], more));
	}
	/* A read-only region stays read-only on the way. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				   MAP_SHARED, got[2], 0));
}

TEST_F(ipcz, unsendable_descriptors)
{
	int t[2], listener, sv[2];

	/*
	 * Descriptors that can hold descriptors themselves could close a
	 * cycle no collector sees whole: listeners and AF_UNIX sockets.
	 */
	PAIR(t);
	listener = dev_listen(self->node, "selftest-unsendable", 0600,
			      IPCZ_OWNER_SELF, IPCZ_OWNER_SELF, 1);
	ASSERT_LE(0, listener);
	EXPECT_EQ(-EINVAL, dev_send(t[0], "l", 1, &listener, 1));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	EXPECT_EQ(-EINVAL, dev_send(t[0], "s", 1, &sv[0], 1));
	ASSERT_QUEUE_EMPTY(t[1]);
}

TEST_F(ipcz, max_descriptors)
{
	int t[2], p[2], fds[IPCZ_MAX_FDS], got[IPCZ_MAX_FDS], i;
	uint32_t len = 0, nfds = IPCZ_MAX_FDS;

	PAIR(t);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	for (i = 0; i < IPCZ_MAX_FDS; i++)
		fds[i] = p[i % 2];
	ASSERT_EQ(0, dev_send(t[0], NULL, 0, fds, IPCZ_MAX_FDS));
	ASSERT_EQ(0, dev_recv(t[1], NULL, &len, got, &nfds, NULL));
	ASSERT_EQ(IPCZ_MAX_FDS, nfds);
	for (i = 0; i < IPCZ_MAX_FDS; i++)
		EXPECT_TRUE(fd_is_open(got[i]));
}

TEST_F(ipcz, large_message)
{
	size_t len = 256 * 1024;
	unsigned char *buf = malloc(len);
	int t[2];

	ASSERT_NE(NULL, buf);
	PAIR(t);
	fill_pattern(buf, len, 7);
	ASSERT_EQ(0, dev_send(t[0], buf, len, NULL, 0));
	memset(buf, 0, len);
	ASSERT_EQ((int)len, dev_recv_bytes(t[1], buf, (uint32_t)len));
	EXPECT_TRUE(check_pattern(buf, len, 7));
	free(buf);
}

/* Sets this node's queue limits for transports created from now on. */
static int set_queue_limits(int node, uint32_t messages, uint64_t bytes)
{
	struct ipcz_limits l;
	int ret = dev_get_limits(node, &l, 0);

	if (ret)
		return ret;
	l.queue_messages = messages;
	l.queue_bytes = bytes;
	return dev_set_limits(node, &l);
}

TEST_F(ipcz, full_queue_messages)
{
	char buf[8];
	int t[2], i;

	ASSERT_EQ(0, set_queue_limits(self->node, 4, 1 << 20));
	PAIR(t);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, dev_send_str(t[0], "m"));
	EXPECT_EQ(-EAGAIN, dev_send_str(t[0], "m"));
	/* The full queue is the peer's; the other direction still works. */
	EXPECT_EQ(0, dev_send_str(t[1], "back"));
	/* Not writable while full, writable again after one receive. */
	EXPECT_EQ(0, poll_events(t[0], POLLOUT, 0) & POLLOUT);
	ASSERT_EQ(1, dev_recv_bytes(t[1], buf, sizeof(buf)));
	EXPECT_NE(0, poll_events(t[0], POLLOUT, 0) & POLLOUT);
	EXPECT_EQ(0, dev_send_str(t[0], "m"));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(1, dev_recv_bytes(t[1], buf, sizeof(buf)));
	ASSERT_QUEUE_EMPTY(t[1]);
}

TEST_F(ipcz, full_queue_bytes)
{
	static char data[8192];
	char buf[3000];
	int t[2];

	ASSERT_EQ(0, set_queue_limits(self->node, 100, 4096));
	PAIR(t);
	ASSERT_EQ(0, dev_send(t[0], data, 3000, NULL, 0));
	EXPECT_EQ(-EAGAIN, dev_send(t[0], data, 3000, NULL, 0));
	/* What still fits is accepted. */
	EXPECT_EQ(0, dev_send(t[0], data, 1096, NULL, 0));
	EXPECT_EQ(-EAGAIN, dev_send(t[0], data, 1, NULL, 0));
	/* A message larger than the whole queue can never fit. */
	EXPECT_EQ(-EMSGSIZE, dev_send(t[1], data, 3000 + 2000, NULL, 0));
	ASSERT_EQ(3000, dev_recv_bytes(t[1], buf, sizeof(buf)));
	ASSERT_EQ(1096, dev_recv_bytes(t[1], buf, sizeof(buf)));
}

TEST_F(ipcz, peer_closed)
{
	char buf[8];
	int t[2], revents;

	PAIR(t);
	ASSERT_EQ(0, dev_send_str(t[1], "last"));
	EXPECT_EQ(0, poll_events(t[0], POLLHUP, 0) & POLLHUP);
	close(t[1]);
	revents = poll_events(t[0], POLLIN, 1000);
	EXPECT_NE(0, revents & POLLHUP);
	EXPECT_NE(0, revents & POLLIN);
	/* Sending to a closed peer fails; what it sent is still here. */
	EXPECT_EQ(-EPIPE, dev_send_str(t[0], "lost"));
	EXPECT_EQ(-EPIPE, dev_ring(t[0]));
	ASSERT_EQ(4, dev_recv_bytes(t[0], buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "last", 4));
	/* Then the end of the stream. */
	EXPECT_EQ(-EPIPE, dev_recv_bytes(t[0], buf, sizeof(buf)));
	/* The peer's credentials outlive the peer. */
	{
		struct ipcz_peer_cred cred;

		ASSERT_EQ(0, dev_peer_cred(t[0], &cred));
		EXPECT_EQ(getpid(), cred.pid);
	}
}

TEST_F(ipcz, peer_closed_with_descriptors_queued)
{
	int t[2], p[2];
	char c;

	PAIR(t);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	/* The write end waits in t[1]'s queue; t[1] closes unread. */
	ASSERT_EQ(0, dev_send(t[0], "w", 1, &p[1], 1));
	close(p[1]);
	close(t[1]);
	/* Its queued descriptors were released: the pipe sees EOF. */
	ASSERT_NE(0, poll_events(p[0], POLLIN, 5000) & (POLLIN | POLLHUP));
	EXPECT_EQ(0, read(p[0], &c, 1));
}

TEST_F(ipcz, poll_readiness)
{
	int t[2];

	PAIR(t);
	EXPECT_EQ(POLLOUT, poll_events(t[0], POLLIN | POLLOUT, 0));
	ASSERT_EQ(0, dev_send_str(t[0], "x"));
	EXPECT_EQ(POLLIN | POLLOUT, poll_events(t[1], POLLIN | POLLOUT, 0));
	EXPECT_EQ(POLLOUT, poll_events(t[0], POLLIN | POLLOUT, 0));
	ASSERT_EQ(1, dev_recv_any(t[1]));
	EXPECT_EQ(POLLOUT, poll_events(t[1], POLLIN | POLLOUT, 0));
}

/* A child's part: waits in poll() on t[1], then answers. */
static int answer_after_poll(void *arg)
{
	int *t = arg;

	alarm(20);
	if (!(poll_events(t[1], POLLIN, 10000) & POLLIN))
		return 1;
	if (dev_recv_any(t[1]) != 3)
		return 2;
	return dev_send_str(t[1], "ack") ? 3 : 0;
}

TEST_F(ipcz, poll_wakes_sleeper)
{
	int t[2];
	pid_t pid;

	PAIR(t);
	pid = fork_child(answer_after_poll, t);
	ASSERT_LE(0, pid);
	sleep_ms(100);
	ASSERT_EQ(0, dev_send_str(t[0], "hey"));
	EXPECT_EQ(0, wait_child_timeout(pid, 15000));
	EXPECT_EQ(3, dev_recv_any(t[0]));
}

TEST_F(ipcz, epoll_readiness)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET }, out[2];
	int t[2], ep;

	PAIR(t);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ev.data.u32 = 7;
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, t[1], &ev));
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 0));
	ASSERT_EQ(0, dev_send_str(t[0], "a"));
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 1000));
	EXPECT_EQ(7, out[0].data.u32);
	EXPECT_NE(0, out[0].events & EPOLLIN);
	/* Edge-triggered: no new event until something new arrives. */
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 0));
	ASSERT_EQ(0, dev_send_str(t[0], "b"));
	EXPECT_EQ(1, epoll_wait(ep, out, 2, 1000));
	/* Peer closure is reported too. */
	close(t[0]);
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 1000));
	EXPECT_NE(0, out[0].events & EPOLLHUP);
	close(ep);
}

TEST_F(ipcz, doorbell_coalesces)
{
	uint64_t rings = 99;
	int t[2], i;

	PAIR(t);
	ASSERT_EQ(0, dev_take_doorbell(t[1], &rings));
	EXPECT_EQ(0, rings);
	EXPECT_EQ(0, poll_events(t[1], POLLPRI | POLLIN, 0));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, dev_ring(t[0]));
	/* Five rings are one readiness event (POLLPRI), taken at once. */
	EXPECT_EQ(POLLPRI, poll_events(t[1], POLLPRI | POLLIN, 1000));
	ASSERT_EQ(0, dev_take_doorbell(t[1], &rings));
	EXPECT_EQ(5, rings);
	ASSERT_EQ(0, dev_take_doorbell(t[1], &rings));
	EXPECT_EQ(0, rings);
	EXPECT_EQ(0, poll_events(t[1], POLLPRI | POLLIN, 0));
	/* A ring carries no message, and rings the peer only. */
	ASSERT_QUEUE_EMPTY(t[1]);
	ASSERT_EQ(0, dev_take_doorbell(t[0], &rings));
	EXPECT_EQ(0, rings);
}

/* A child's part: sleeps until t[1]'s doorbell rings, rings back. */
static int ring_back(void *arg)
{
	uint64_t rings = 0;
	int *t = arg;

	alarm(20);
	if (!(poll_events(t[1], POLLPRI, 10000) & POLLPRI))
		return 1;
	if (dev_take_doorbell(t[1], &rings) || rings == 0)
		return 2;
	return dev_ring(t[1]) ? 3 : 0;
}

TEST_F(ipcz, doorbell_wakes_sleeper)
{
	int t[2];
	pid_t pid;

	PAIR(t);
	pid = fork_child(ring_back, t);
	ASSERT_LE(0, pid);
	sleep_ms(100);
	ASSERT_EQ(0, dev_ring(t[0]));
	EXPECT_EQ(0, wait_child_timeout(pid, 15000));
	EXPECT_NE(0, poll_events(t[0], POLLPRI, 1000) & POLLPRI);
}

TEST_F(ipcz, doorbell_and_messages_are_separate)
{
	uint64_t rings;
	int t[2];

	PAIR(t);
	ASSERT_EQ(0, dev_send_str(t[0], "msg"));
	ASSERT_EQ(0, dev_ring(t[0]));
	EXPECT_EQ(POLLIN | POLLPRI, poll_events(t[1], POLLIN | POLLPRI, 0));
	ASSERT_EQ(0, dev_take_doorbell(t[1], &rings));
	EXPECT_EQ(1, rings);
	/* Taking the doorbell leaves the message readable... */
	EXPECT_EQ(POLLIN, poll_events(t[1], POLLIN | POLLPRI, 0));
	ASSERT_EQ(3, dev_recv_any(t[1]));
	EXPECT_EQ(0, poll_events(t[1], POLLIN | POLLPRI, 0));
	/* ...and receiving a message leaves the doorbell rung. */
	ASSERT_EQ(0, dev_ring(t[0]));
	ASSERT_EQ(0, dev_send_str(t[0], "msg"));
	ASSERT_EQ(3, dev_recv_any(t[1]));
	EXPECT_EQ(POLLPRI, poll_events(t[1], POLLIN | POLLPRI, 0));
}

TEST_F(ipcz, doorbell_bad_args)
{
	struct ipcz_doorbell arg = { .size = sizeof(arg), .flags = 1 };
	int t[2];

	PAIR(t);
	EXPECT_EQ(-EINVAL, ioctl_err(t[0], IPCZ_IOC_RING, &arg));
	EXPECT_EQ(-EINVAL, ioctl_err(t[0], IPCZ_IOC_TAKE_DOORBELL, &arg));
	arg.flags = 0;
	arg.size = 4;
	EXPECT_EQ(-EINVAL, ioctl_err(t[0], IPCZ_IOC_RING, &arg));
	EXPECT_EQ(0, poll_events(t[1], POLLPRI, 0));
}

TEST_F(ipcz, peer_cred_same_process)
{
	struct ipcz_peer_cred cred;
	int t[2];

	PAIR(t);
	ASSERT_EQ(0, dev_peer_cred(t[0], &cred));
	EXPECT_EQ(getpid(), cred.pid);
	EXPECT_EQ(getuid(), cred.uid);
	EXPECT_EQ(getgid(), cred.gid);
	cred.flags = 1;
	EXPECT_EQ(-EINVAL, ioctl_err(t[0], IPCZ_IOC_PEER_CRED, &cred));
	cred.flags = 0;
	cred.reserved = 1;
	EXPECT_EQ(-EINVAL, ioctl_err(t[0], IPCZ_IOC_PEER_CRED, &cred));
}

/* A child's part: an inherited end still names the pair's creator. */
static int peer_is_parent(void *arg)
{
	struct ipcz_peer_cred cred;
	int *t = arg;

	if (dev_peer_cred(t[1], &cred))
		return 1;
	return cred.pid == getppid() ? 0 : 2;
}

TEST_F(ipcz, peer_cred_is_the_creator)
{
	int t[2];
	pid_t pid;

	PAIR(t);
	pid = fork_child(peer_is_parent, t);
	ASSERT_LE(0, pid);
	EXPECT_EQ(0, wait_child(pid));
}

/* A child's part: echoes ten messages back on t[1]. */
static int echo_ten(void *arg)
{
	char buf[64];
	int *t = arg;

	alarm(20);
	close(t[0]);
	for (int i = 0; i < 10; i++) {
		int n;

		if (!(poll_events(t[1], POLLIN, 10000) & POLLIN))
			return 1;
		n = dev_recv_bytes(t[1], buf, sizeof(buf));
		if (n < 0 || dev_send(t[1], buf, (size_t)n, NULL, 0))
			return 2;
	}
	return 0;
}

TEST_F(ipcz, across_processes)
{
	char buf[64];
	int t[2], status, i;
	pid_t pid;

	PAIR(t);
	pid = fork_child(echo_ten, t);
	ASSERT_LE(0, pid);
	close(t[1]);
	for (i = 0; i < 10; i++) {
		char want[16];
		int n = snprintf(want, sizeof(want), "round %d", i);

		ASSERT_EQ(0, dev_send(t[0], want, (size_t)n, NULL, 0));
		ASSERT_NE(0, poll_events(t[0], POLLIN, 10000) & POLLIN);
		ASSERT_EQ(n, dev_recv_bytes(t[0], buf, sizeof(buf)));
		EXPECT_EQ(0, memcmp(buf, want, (size_t)n));
	}
	status = wait_child_timeout(pid, 15000);
	EXPECT_EQ(0, status);
	/* The child exited: its end closed. */
	EXPECT_NE(0, poll_events(t[0], POLLHUP, 1000) & POLLHUP);
}

TEST_F(ipcz, wrong_descriptor_types)
{
	struct ipcz_send send = { .size = sizeof(send) };
	struct ipcz_doorbell bell = { .size = sizeof(bell) };
	uint64_t len = PAGE;
	int p[2], region, node2;

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	region = dev_region_create(self->node, &len);
	ASSERT_LE(0, region);
	node2 = ipcz_open_node();
	ASSERT_LE(0, node2);
	/* Transport ioctls on a pipe, a region, a node. */
	EXPECT_EQ(-ENOTTY, ioctl_err(p[0], IPCZ_IOC_SEND, &send));
	EXPECT_EQ(-ENOTTY, ioctl_err(region, IPCZ_IOC_SEND, &send));
	EXPECT_EQ(-ENOTTY, ioctl_err(region, IPCZ_IOC_RING, &bell));
	EXPECT_EQ(-ENOTTY, ioctl_err(node2, IPCZ_IOC_RECV, &send));
	EXPECT_EQ(-ENOTTY, ioctl_err(node2, IPCZ_IOC_PEER_CRED, &send));
	EXPECT_EQ(-EBADF, dev_send_str(-1, "x"));
}

TEST_F(ipcz, unknown_transport_ioctls)
{
	struct ipcz_node_info info = { .size = sizeof(info) };
	int t[2];

	PAIR(t);
	EXPECT_EQ(-ENOTTY, ioctl_err(t[0], _IOWR(IPCZ_IOC_MAGIC, 0x1f,
						 struct ipcz_send), &info));
	EXPECT_EQ(-ENOTTY, ioctl_err(t[0], IPCZ_IOC_NODE_INFO, &info));
	EXPECT_EQ(-ENOTTY, ioctl_err(t[0], IPCZ_IOC_TRANSPORT_PAIR, &info));
	EXPECT_EQ(-ENOTTY, ioctl_err(t[0], IPCZ_IOC_REGION_INFO, &info));
}

TEST_F(ipcz, closed_transport_fd)
{
	int t[2], fd;

	PAIR(t);
	fd = t[0];
	close(fd);
	EXPECT_EQ(-EBADF, dev_send_str(fd, "x"));
	EXPECT_EQ(-EBADF, dev_recv_any(fd));
	EXPECT_EQ(-EBADF, dev_ring(fd));
}

/* Fills every free descriptor slot below the current limit. */
static int fill_descriptor_table(void)
{
	int fd, n = 0;

	while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		n++;
	return errno == EMFILE ? n : -errno;
}

TEST_F(ipcz, descriptor_table_full_loses_nothing)
{
	struct rlimit old, lim;
	int t[2], p[2], listener, c, got[2], region, fillers, first;
	uint32_t len, nfds;
	uint64_t rlen = PAGE;
	char buf[8];

	PAIR(t);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	region = dev_region_create(self->node, &rlen);
	ASSERT_LE(0, region);
	listener = dev_listen(self->node, "st-fdfull", 0600, IPCZ_OWNER_SELF,
			      IPCZ_OWNER_SELF, 2);
	ASSERT_LE(0, listener);
	c = dev_connect(self->node, "st-fdfull");
	ASSERT_LE(0, c);
	ASSERT_EQ(0, dev_send(t[0], "fd", 2, p, 2));

	/* No free descriptor below a limit just above what is open. */
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	first = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, first);
	lim = old;
	lim.rlim_cur = (rlim_t)first + 8;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &lim));
	fillers = fill_descriptor_table();
	ASSERT_LE(0, fillers);

	len = sizeof(buf);
	nfds = 2;
	EXPECT_EQ(-EMFILE, dev_recv(t[1], buf, &len, got, &nfds, NULL));
	EXPECT_EQ(-EMFILE, dev_pair(self->node, got));
	rlen = PAGE;
	EXPECT_EQ(-EMFILE, dev_region_create(self->node, &rlen));
	EXPECT_EQ(-EMFILE, dev_region_dup(region, true));
	EXPECT_EQ(-EMFILE, dev_accept(listener));
	EXPECT_EQ(-EMFILE, dev_connect(self->node, "st-fdfull"));

	/* One free slot is still one too few for a two-descriptor message. */
	close(first);
	len = sizeof(buf);
	nfds = 2;
	EXPECT_EQ(-EMFILE, dev_recv(t[1], buf, &len, got, &nfds, NULL));
	EXPECT_EQ(-1, fcntl(first, F_GETFD));

	/* With room again, everything is still there. */
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
	len = sizeof(buf);
	nfds = 2;
	ASSERT_EQ(0, dev_recv(t[1], buf, &len, got, &nfds, NULL));
	EXPECT_EQ(2, len);
	EXPECT_EQ(2, nfds);
	EXPECT_EQ(POLLIN, poll_events(listener, POLLIN, 0));
	EXPECT_LE(0, dev_accept(listener));
	/* The failed connect left nothing pending behind. */
	EXPECT_EQ(-EAGAIN, dev_accept(listener));
}

TEST_F(ipcz, passed_over_unix_socket)
{
	char cmsgbuf[CMSG_SPACE(sizeof(int))], data = 'x', buf[8];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cmsgbuf,
		.msg_controllen = sizeof(cmsgbuf),
	};
	struct cmsghdr *cmsg;
	int t[2], sv[2], got;

	/* A transport end is an ordinary file: SCM_RIGHTS carries it. */
	PAIR(t);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
	memset(cmsgbuf, 0, sizeof(cmsgbuf));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &t[0], sizeof(int));
	ASSERT_EQ(1, sendmsg(sv[0], &msg, 0));
	close(t[0]);
	msg.msg_controllen = sizeof(cmsgbuf);
	ASSERT_EQ(1, recvmsg(sv[1], &msg, MSG_CMSG_CLOEXEC));
	cmsg = CMSG_FIRSTHDR(&msg);
	ASSERT_NE(NULL, cmsg);
	memcpy(&got, CMSG_DATA(cmsg), sizeof(int));
	ASSERT_EQ(0, dev_send_str(got, "via unix"));
	ASSERT_EQ(8, dev_recv_bytes(t[1], buf, sizeof(buf)));
	/* And one left inside a socket is freed with the socket. */
	memcpy(CMSG_DATA(cmsg), &got, sizeof(int));
	msg.msg_controllen = CMSG_SPACE(sizeof(int));
	ASSERT_EQ(1, sendmsg(sv[0], &msg, 0));
}

TEST_F(ipcz, peer_cred_translated_into_namespaces)
{
	int t[2], status;
	pid_t pid;

	PAIR(t);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		pid_t inner;

		/*
		 * In a new user namespace without id maps and a new pid
		 * namespace, the creator's ids are unmapped and its pid is
		 * not visible.
		 */
		alarm(20);
		if (unshare(CLONE_NEWUSER | CLONE_NEWPID))
			_exit(errno == EINVAL || errno == EPERM ? 100 : 1);
		inner = fork();
		if (inner < 0)
			_exit(2);
		if (inner == 0) {
			struct ipcz_peer_cred cred;

			if (dev_peer_cred(t[1], &cred))
				_exit(3);
			if (cred.pid != 0)
				_exit(4);
			if (cred.uid != 65534 || cred.gid != 65534)
				_exit(5);
			_exit(0);
		}
		_exit(wait_child(inner));
	}
	status = wait_child_timeout(pid, 20000);
	if (status == 100)
		SKIP(return, "namespaces not available");
	EXPECT_EQ(0, status);
}

TEST_HARNESS_MAIN
