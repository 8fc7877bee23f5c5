// SPDX-License-Identifier: MIT
/*
 * Stress: several processes in a ring, each joined to its two neighbours
 * by a transport, exchange messages of random sizes for a bounded time.
 * Some messages carry descriptors: new transport ends (some in cycles),
 * memory regions and pipe ends, which the receiver checks and uses. Every
 * message is checked for content and per-link order. Afterwards every
 * descriptor is closed and the module's live-object count must return to
 * where it started. A second run kills one process half-way.
 *
 * Queues are kept small (8 messages, 32 KiB) and messages are sent in
 * bursts, so that full queues are part of the exercise.
 *
 * IPCZ_STRESS_SECONDS sets the duration, at most 200 (default 3 s: under
 * software emulation a round trip takes 100-300 us, so that is thousands
 * of messages).
 */
#include "kselftest_harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fixture.h"

#define WORKERS		4
#define MAX_PAYLOAD	8192
#define MAGIC		0x69706373u
#define PAGE		4096

struct header {
	uint32_t magic;
	uint32_t seq;		/* per sending link, from 0 */
	uint32_t len;		/* payload bytes after the header */
	uint32_t seed;		/* pattern of the payload */
};

struct worker_stats {
	uint64_t sent;
	uint64_t received;
	uint64_t fds_sent;
	uint64_t fds_received;
	uint64_t full;		/* sends refused by a full queue */
	uint64_t rings;
	atomic_int done;	/* stopped sending, draining */
	int failed;
	char why[120];
};

struct link {
	int fd;
	bool dead;		/* its peer is gone (killed run only) */
	uint32_t send_seq;
	uint32_t recv_seq;
};

struct worker {
	int index;
	struct link links[2];	/* 0: right neighbour, 1: left */
	int node;
	bool tolerate_hangup;
	uint32_t rng;
	struct worker_stats *stats;
	struct worker_stats *all;
};

static uint32_t next_random(uint32_t *state)
{
	/* xorshift32: plenty for choosing sizes and actions. */
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

static void fail(struct worker *w, const char *what, int err)
{
	snprintf(w->stats->why, sizeof(w->stats->why),
		 "worker %d: %s (%s)", w->index, what, strerror(-err));
	w->stats->failed = 1;
	_exit(1);
}

/* One descriptor to attach: a transport end, a region or a pipe end. */
static int make_descriptor(struct worker *w, int *kind)
{
	uint64_t len = PAGE;
	int p[2], fd;
	void *m;

	*kind = (int)(next_random(&w->rng) % 3);
	switch (*kind) {
	case 0:
		if (dev_pair(w->node, p))
			return -1;
		/* Half the time, the other end rides in its own queue. */
		if (next_random(&w->rng) & 1)
			dev_send(p[0], "c", 1, &p[1], 1);
		close(p[1]);
		return p[0];
	case 1:
		fd = dev_region_create(w->node, &len);
		if (fd < 0)
			return -1;
		m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED) {
			close(fd);
			return -1;
		}
		fill_pattern(m, 64, 0x5eed);
		munmap(m, PAGE);
		return fd;
	default:
		if (pipe2(p, O_CLOEXEC | O_NONBLOCK))
			return -1;
		close(p[0]);
		return p[1];
	}
}

static void send_one(struct worker *w, struct link *l)
{
	static unsigned char buf[sizeof(struct header) + MAX_PAYLOAD];
	struct header *h = (struct header *)buf;
	int fds[3], nfds = 0, kind, i, ret;
	uint32_t r = next_random(&w->rng);

	h->magic = MAGIC;
	h->seq = l->send_seq;
	h->len = r % 8 == 0 ? r % MAX_PAYLOAD : r % 256;
	h->seed = next_random(&w->rng);
	fill_pattern(buf + sizeof(*h), h->len, h->seed);
	if (r % 5 == 0) {
		nfds = 1 + (int)(next_random(&w->rng) % 3);
		for (i = 0; i < nfds; i++) {
			fds[i] = make_descriptor(w, &kind);
			if (fds[i] < 0)
				fail(w, "making a descriptor", -errno);
		}
	}
	ret = dev_send(l->fd, buf, sizeof(*h) + h->len, fds,
		       (unsigned int)nfds);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (ret == -EAGAIN) {
		w->stats->full++;
		return;
	}
	if (ret == -EPIPE && w->tolerate_hangup) {
		l->dead = true;
		return;
	}
	if (ret)
		fail(w, "send", ret);
	l->send_seq++;
	w->stats->sent++;
	w->stats->fds_sent += (uint64_t)nfds;
	if (r % 7 == 0 && !dev_ring(l->fd))
		w->stats->rings++;
}

/* Checks and uses a received descriptor, then closes it. */
static void use_descriptor(struct worker *w, int fd, uint32_t type)
{
	unsigned char *m;

	switch (type) {
	case IPCZ_FD_TYPE_TRANSPORT:
		/* Its peer may be in a cycle or closed: both are fine. */
		dev_send_str(fd, "hello");
		break;
	case IPCZ_FD_TYPE_REGION:
		m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			fail(w, "mapping a received region", -errno);
		if (!check_pattern(m, 64, 0x5eed))
			fail(w, "received region content", -EBADMSG);
		munmap(m, PAGE);
		break;
	case IPCZ_FD_TYPE_OTHER:
		if (write(fd, "p", 1) < 0 && errno != EPIPE)
			fail(w, "writing a received pipe", -errno);
		break;
	default:
		fail(w, "unexpected descriptor type", -EBADMSG);
	}
	close(fd);
}

/* Receives everything queued on l; returns false once its peer is gone. */
static bool drain(struct worker *w, struct link *l)
{
	static unsigned char buf[sizeof(struct header) + MAX_PAYLOAD];
	struct header *h = (struct header *)buf;
	uint32_t types[IPCZ_MAX_FDS], len, nfds, i;
	int fds[IPCZ_MAX_FDS], ret;

	for (;;) {
		len = sizeof(buf);
		nfds = IPCZ_MAX_FDS;
		ret = dev_recv(l->fd, buf, &len, fds, &nfds, types);
		if (ret == -EAGAIN)
			return true;
		if (ret == -EPIPE)
			return false;
		if (ret)
			fail(w, "recv", ret);
		if (len < sizeof(*h) || h->magic != MAGIC ||
		    len != sizeof(*h) + h->len)
			fail(w, "message framing", -EBADMSG);
		if (h->seq != l->recv_seq)
			fail(w, "message order", -EBADMSG);
		if (!check_pattern(buf + sizeof(*h), h->len, h->seed))
			fail(w, "message content", -EBADMSG);
		l->recv_seq++;
		w->stats->received++;
		w->stats->fds_received += nfds;
		for (i = 0; i < nfds; i++)
			use_descriptor(w, fds[i], types[i]);
	}
}

static bool all_done(struct worker *w)
{
	int i;

	for (i = 0; i < WORKERS; i++)
		if (!atomic_load(&w->all[i].done))
			return false;
	return true;
}

static void poll_links(struct worker *w, bool sending, int timeout_ms)
{
	struct pollfd p[2];
	uint64_t rings;
	int i;

	for (i = 0; i < 2; i++) {
		p[i].fd = w->links[i].dead ? -1 : w->links[i].fd;
		p[i].events = POLLIN | POLLPRI | (sending ? POLLOUT : 0);
		p[i].revents = 0;
	}
	if (poll(p, 2, timeout_ms) < 0 && errno != EINTR)
		fail(w, "poll", -errno);
	for (i = 0; i < 2; i++) {
		struct link *l = &w->links[i];

		if (l->dead)
			continue;
		if (p[i].revents & POLLPRI)
			dev_take_doorbell(l->fd, &rings);
		if (p[i].revents & (POLLIN | POLLHUP)) {
			if (!drain(w, l)) {
				if (!w->tolerate_hangup &&
				    !atomic_load(&w->all[w->index].done))
					fail(w, "neighbour hung up", -EPIPE);
				l->dead = true;
				continue;
			}
		}
		/* Bursts, so that queues do fill up now and then. */
		if (sending && (p[i].revents & POLLOUT)) {
			int burst = 1 + (int)(next_random(&w->rng) % 4);

			while (burst-- && !l->dead)
				send_one(w, l);
		}
	}
}

static void worker_main(struct worker *w, int64_t deadline)
{
	int64_t give_up;

	while (now_ms() < deadline)
		poll_links(w, true, 10);
	/* Stop sending; keep draining until every worker has stopped. */
	atomic_store(&w->stats->done, 1);
	give_up = now_ms() + 20000;
	while (!all_done(w) && now_ms() < give_up)
		poll_links(w, false, 5);
	if (!all_done(w))
		fail(w, "others never finished", -ETIMEDOUT);
	_exit(0);
}

static int stress_seconds(void)
{
	const char *s = getenv("IPCZ_STRESS_SECONDS");
	int n = s ? atoi(s) : 0;

	/* Bounded well inside the 300 s the harness allows each test. */
	return n > 0 && n <= 200 ? n : 3;
}

static int set_small_queues(int node)
{
	struct ipcz_limits l;
	int ret = dev_get_limits(node, &l, 0);

	if (ret)
		return ret;
	l.queue_messages = 8;
	l.queue_bytes = 32 * 1024;
	return dev_set_limits(node, &l);
}

/* Runs the ring; kills worker @victim (if >= 0) half-way through. */
static void run_ring(struct __test_metadata *_metadata, int node, int victim)
{
	struct worker_stats *stats;
	int pairs[WORKERS][2], i, j, status;
	int seconds = stress_seconds();
	pid_t pids[WORKERS];
	uint64_t sent = 0, received = 0, fds = 0, full = 0;
	int64_t deadline;

	/* Small queues: full-queue refusals are part of the exercise. */
	ASSERT_EQ(0, set_small_queues(node));
	stats = mmap(NULL, sizeof(*stats) * WORKERS, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, stats);
	memset(stats, 0, sizeof(*stats) * WORKERS);
	for (i = 0; i < WORKERS; i++)
		ASSERT_EQ(0, dev_pair(node, pairs[i]));

	deadline = now_ms() + seconds * 1000;
	for (i = 0; i < WORKERS; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			struct worker w = {
				.index = i,
				.node = node,
				.tolerate_hangup = victim >= 0,
				.rng = 0x9e3779b9u * (uint32_t)(i + 1),
				.stats = &stats[i],
				.all = stats,
			};

			alarm((unsigned int)seconds + 60);
			/* Received pipe ends have no reader: EPIPE, not death. */
			signal(SIGPIPE, SIG_IGN);
			/* Pair i joins worker i (end 0) to worker i + 1. */
			w.links[0].fd = pairs[i][0];
			w.links[1].fd = pairs[(i + WORKERS - 1) % WORKERS][1];
			for (j = 0; j < WORKERS; j++) {
				if (pairs[j][0] != w.links[0].fd)
					close(pairs[j][0]);
				if (pairs[j][1] != w.links[1].fd)
					close(pairs[j][1]);
			}
			worker_main(&w, deadline);
		}
	}
	for (i = 0; i < WORKERS; i++) {
		close(pairs[i][0]);
		close(pairs[i][1]);
	}
	if (victim >= 0) {
		sleep_ms(seconds * 500);
		kill(pids[victim], SIGKILL);
		atomic_store(&stats[victim].done, 1);
	}
	for (i = 0; i < WORKERS; i++) {
		status = wait_child_timeout(pids[i], (seconds + 60) * 1000);
		if (i == victim) {
			EXPECT_EQ(128 + SIGKILL, status);
		} else {
			EXPECT_EQ(0, status)
				TH_LOG("%s", stats[i].why[0] ? stats[i].why :
					     "worker died");
			EXPECT_LT(0, stats[i].received);
		}
		sent += stats[i].sent;
		received += stats[i].received;
		fds += stats[i].fds_sent;
		full += stats[i].full;
	}
	TH_LOG("%d s: %llu messages sent, %llu received, %llu descriptors, %llu refused by full queues",
	       seconds, (unsigned long long)sent,
	       (unsigned long long)received, (unsigned long long)fds,
	       (unsigned long long)full);
	munmap(stats, sizeof(*stats) * WORKERS);
}

TEST_F_TIMEOUT(ipcz, ring_exchange, 300)
{
	run_ring(_metadata, self->node, -1);
	close(self->node);
	ASSERT_EQ(self->live_before,
		  ipcz_wait_live_objects(self->live_before, IPCZ_SETTLE_MS));
}

TEST_F_TIMEOUT(ipcz, ring_exchange_with_a_kill, 300)
{
	run_ring(_metadata, self->node, 2);
	close(self->node);
	ASSERT_EQ(self->live_before,
		  ipcz_wait_live_objects(self->live_before, IPCZ_SETTLE_MS));
}

TEST_HARNESS_MAIN
