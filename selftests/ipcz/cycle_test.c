// SPDX-License-Identifier: MIT
/*
 * Descriptor cycles: transports sent over themselves, over their peers,
 * and around rings of other transports. Once userspace closes every
 * descriptor, the module must free them all (the fixture's teardown checks
 * that the live-object count returns to where it started), and must never
 * free a transport that userspace can still reach. Also: processes killed
 * with descriptors in flight.
 */
#include "kselftest_harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fixture.h"

#define PAIR(fds) ASSERT_EQ(0, dev_pair(self->node, fds))

/* Sends descriptor fd over transport t, with one byte of data. */
static int send_fd(int t, int fd)
{
	return dev_send(t, "d", 1, &fd, 1);
}

/* Receives one message carrying one descriptor; returns it or -errno. */
static int recv_fd(int t)
{
	uint32_t len = 8, nfds = 1;
	char buf[8];
	int fd, ret;

	ret = dev_recv(t, buf, &len, &fd, &nfds, NULL);
	if (ret)
		return ret;
	return nfds == 1 ? fd : -EPROTO;
}

/* Waits for the live-object count to settle back to the baseline. */
#define ASSERT_SETTLED() \
	ASSERT_EQ(self->live_before, \
		  ipcz_wait_live_objects(self->live_before, IPCZ_SETTLE_MS))

/* Closes everything and expects the module back where it started. */
#define CLOSE_ALL_AND_SETTLE() \
	do { \
		close_all_fds(); \
		ASSERT_SETTLED(); \
	} while (0)

/*
 * Makes a pair t and sends its own ends over it, each send {over, end}
 * naming two ends of t by index; then closes everything. The ends wait
 * only in each other's queues, so all of it must be freed.
 */
static void send_pair_over_itself(struct __test_metadata *_metadata,
				  FIXTURE_DATA(ipcz) *self,
				  const int (*sends)[2], size_t count)
{
	int t[2];

	PAIR(t);
	for (size_t i = 0; i < count; i++)
		ASSERT_EQ(0, send_fd(t[sends[i][0]], t[sends[i][1]]));
	CLOSE_ALL_AND_SETTLE();
}

/* Sent over its peer, t[0] lands in its own queue. */
TEST_F(ipcz, end_in_its_own_queue)
{
	static const int sends[][2] = { { 1, 0 } };

	send_pair_over_itself(_metadata, self, sends, ARRAY_SIZE(sends));
}

/* Each end waits in the other's queue. */
TEST_F(ipcz, both_ends_over_themselves)
{
	static const int sends[][2] = { { 0, 0 }, { 1, 1 } };

	send_pair_over_itself(_metadata, self, sends, ARRAY_SIZE(sends));
}

/* Each end in its own queue, twice over. */
TEST_F(ipcz, both_ends_over_their_peers)
{
	static const int sends[][2] = { { 0, 1 }, { 1, 0 }, { 0, 1 }, { 1, 0 } };

	send_pair_over_itself(_metadata, self, sends, ARRAY_SIZE(sends));
}

TEST_F(ipcz, two_pairs_cross)
{
	int a[2], b[2];

	PAIR(a);
	PAIR(b);
	/* b[1] waits in a[1]'s queue, a[1] in b[1]'s. */
	ASSERT_EQ(0, send_fd(a[0], b[1]));
	ASSERT_EQ(0, send_fd(b[0], a[1]));
	close(a[1]);
	close(b[1]);
	/*
	 * a[0] and b[0] stay open, but only a[1] and b[1] could read the
	 * queues that hold them: the pair is garbage, and the open ends
	 * see their peers go.
	 */
	EXPECT_NE(0, poll_events(a[0], POLLHUP, IPCZ_SETTLE_MS) & POLLHUP);
	EXPECT_NE(0, poll_events(b[0], POLLHUP, IPCZ_SETTLE_MS) & POLLHUP);
	CLOSE_ALL_AND_SETTLE();
}

TEST_F(ipcz, ring_of_transports)
{
	enum { N = 16 };
	int p[N][2], i;

	for (i = 0; i < N; i++)
		PAIR(p[i]);
	/* p[i][1]'s queue holds p[i + 1][1], and the last holds the first. */
	for (i = 0; i < N; i++)
		ASSERT_EQ(0, send_fd(p[i][0], p[(i + 1) % N][1]));
	CLOSE_ALL_AND_SETTLE();
}

TEST_F(ipcz, cycle_carrying_other_descriptors)
{
	uint64_t len = 4096;
	int t[2], pipefd[2], region, fds[3];
	char c;

	PAIR(t);
	ASSERT_EQ(0, pipe2(pipefd, O_CLOEXEC));
	region = dev_region_create(self->node, &len);
	ASSERT_LE(0, region);
	fds[0] = t[0];
	fds[1] = pipefd[1];
	fds[2] = region;
	ASSERT_EQ(0, dev_send(t[1], "x", 1, fds, 3));
	close(pipefd[1]);
	close(region);
	close(t[0]);
	close(t[1]);
	/* Collecting the cycle drops the pipe's write end: EOF. */
	ASSERT_NE(0, poll_events(pipefd[0], POLLIN, IPCZ_SETTLE_MS) &
		  (POLLIN | POLLHUP));
	EXPECT_EQ(0, read(pipefd[0], &c, 1));
	CLOSE_ALL_AND_SETTLE();
}

TEST_F(ipcz, unreachable_end_is_collected)
{
	int t[2];

	/*
	 * t[0] sits only in its own queue, which nobody but t[0] can read:
	 * once its fd is closed it is garbage, though t[1] stays open, and
	 * t[1] then sees its peer gone.
	 */
	PAIR(t);
	ASSERT_EQ(0, send_fd(t[1], t[0]));
	close(t[0]);
	EXPECT_NE(0, poll_events(t[1], POLLHUP, IPCZ_SETTLE_MS) & POLLHUP);
	EXPECT_EQ(-EPIPE, dev_send_str(t[1], "x"));
}

TEST_F(ipcz, reachable_is_never_collected)
{
	int a[2], b[2], got;
	char buf[8];

	PAIR(a);
	PAIR(b);
	/* a[0] waits in b[1]'s queue; b[1] is still open. */
	ASSERT_EQ(0, send_fd(b[0], a[0]));
	close(a[0]);
	close(b[0]);
	/* Closing other transports runs the collector; a[0] must survive. */
	{
		int junk[2];

		PAIR(junk);
		ASSERT_EQ(0, send_fd(junk[1], junk[0]));
		close(junk[0]);
		close(junk[1]);
	}
	sleep_ms(100);
	got = recv_fd(b[1]);
	ASSERT_LE(0, got);
	ASSERT_EQ(0, dev_send_str(got, "alive"));
	ASSERT_EQ(5, dev_recv_bytes(a[1], buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "alive", 5));
	EXPECT_EQ(0, poll_events(a[1], POLLHUP, 0) & POLLHUP);
}

TEST_F(ipcz, received_self_is_usable)
{
	int t[2], again;
	char buf[8];

	/* Receiving an end from its own queue gives a usable copy. */
	PAIR(t);
	ASSERT_EQ(0, send_fd(t[1], t[0]));
	again = recv_fd(t[0]);
	ASSERT_LE(0, again);
	close(t[0]);
	ASSERT_EQ(0, dev_send_str(again, "self"));
	ASSERT_EQ(4, dev_recv_bytes(t[1], buf, sizeof(buf)));
	EXPECT_EQ(0, poll_events(t[1], POLLHUP, 0) & POLLHUP);
}

TEST_F(ipcz, cycle_inside_cycle)
{
	int a[2], b[2], c[2];

	/* a's queue holds b, whose queue holds c, whose queue holds a and b. */
	PAIR(a);
	PAIR(b);
	PAIR(c);
	ASSERT_EQ(0, send_fd(a[1], b[0]));
	ASSERT_EQ(0, send_fd(a[1], b[1]));
	ASSERT_EQ(0, send_fd(b[1], c[0]));
	ASSERT_EQ(0, send_fd(b[0], c[1]));
	ASSERT_EQ(0, send_fd(c[1], a[0]));
	ASSERT_EQ(0, send_fd(c[0], a[1]));
	ASSERT_EQ(0, send_fd(c[0], b[1]));
	CLOSE_ALL_AND_SETTLE();
}

TEST_F(ipcz, many_cycles)
{
	int t[2], i;

	for (i = 0; i < 300; i++) {
		PAIR(t);
		ASSERT_EQ(0, send_fd(t[0], t[0]));
		ASSERT_EQ(0, send_fd(t[1], t[1]));
		close(t[0]);
		close(t[1]);
	}
	CLOSE_ALL_AND_SETTLE();
}

/* What a child of the tests below works with. */
struct child_ends {
	int node;	/* the test's node */
	int t[2];	/* a pair: the child uses t[1] */
};

/*
 * A child's part: builds cycles and queues descriptors to the parent on
 * t[1], rings the parent's doorbell, then waits to be killed.
 */
static int queue_cycles_then_wait(void *arg)
{
	struct child_ends *c = arg;
	int t[2], pipefd[2];
	uint64_t len = 8192;
	int region;

	for (int i = 0; i < 20; i++) {
		if (dev_pair(c->node, t))
			return 1;
		send_fd(t[0], t[0]);
		send_fd(t[1], t[1]);
		/* The parent gets one end; the other stays here. */
		send_fd(c->t[1], t[0]);
	}
	region = dev_region_create(c->node, &len);
	if (region < 0 || pipe2(pipefd, 0))
		return 2;
	send_fd(c->t[1], region);
	send_fd(c->t[1], pipefd[1]);
	send_fd(c->t[1], c->t[1]);
	dev_ring(c->t[1]);
	for (;;)
		pause();
}

/*
 * A child builds cycles and queues descriptors to the parent, then is
 * killed while they are all in flight.
 */
TEST_F(ipcz, killed_with_descriptors_in_flight)
{
	struct child_ends c = { .node = self->node };
	int status, i;
	pid_t pid;

	PAIR(c.t);
	pid = fork_child(queue_cycles_then_wait, &c);
	ASSERT_LE(0, pid);
	close(c.t[1]);
	ASSERT_NE(0, poll_events(c.t[0], POLLPRI, 20000) & POLLPRI);
	kill(pid, SIGKILL);
	status = wait_child(pid);
	EXPECT_EQ(128 + SIGKILL, status);
	/* Receive a few of the child's descriptors, leave the rest queued. */
	for (i = 0; i < 5; i++)
		ASSERT_LE(0, recv_fd(c.t[0]));
	close(c.t[0]);
	close_all_fds();
	ASSERT_SETTLED();
}

/* A child's part: receives (and so installs) descriptors until killed. */
static int receive_until_killed(void *arg)
{
	int *t = arg;

	for (;;) {
		poll_events(t[1], POLLIN, 1000);
		if (recv_fd(t[1]) == -EPIPE)
			return 0;
	}
}

TEST_F(ipcz, killed_while_receiving)
{
	int t[2], status, i;
	pid_t pid;

	PAIR(t);
	pid = fork_child(receive_until_killed, t);
	ASSERT_LE(0, pid);
	close(t[1]);
	for (i = 0; i < 200; i++) {
		int p[2];

		ASSERT_EQ(0, dev_pair(self->node, p));
		if (send_fd(t[0], p[0]) == -EAGAIN)
			sleep_ms(1);
		send_fd(p[1], p[1]);
		close(p[0]);
		close(p[1]);
		if (i == 100)
			kill(pid, SIGKILL);
	}
	status = wait_child(pid);
	EXPECT_EQ(128 + SIGKILL, status);
	CLOSE_ALL_AND_SETTLE();
}

TEST_HARNESS_MAIN
