// SPDX-License-Identifier: MIT
/*
 * End-to-end use of the layer by two processes, the way a NodeLink will
 * use it: a socketpair stands in for the driver transport (it carries
 * memfds, messages with descriptors, and a zero-length doorbell), and the
 * link memory lives in memfds mapped by both processes.
 *
 * Side A sends parcels of random sizes: data in pool fragments, a small
 * message naming the fragment through the ring (or through the "driver"
 * when the ring is full), and growth buffers through the driver when the
 * pool runs out. Side B merges both streams by sequence number, resolves
 * and checks every parcel, frees its fragments, and sleeps on the doorbell
 * when the ring is empty; a lost wakeup shows up as a poll timeout.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "lib/link_memory.h"
#include "tests/pool/pool_test_util.h"

#define PARCELS 4000u
#define MAX_PARKED (PARCELS + 64)

enum kind { DOORBELL, ADD_BUFFER, PARCEL, END };

/* What travels through the ring (a parcel) or the driver (anything). */
struct wire {
	uint32_t kind;
	uint32_t index;
	uint64_t seq;
	uint64_t buffer_id;
	uint32_t block_size;
	uint32_t pad;
	struct fragment_desc desc;
};

/* Largest parcel of a run; set before the fork, so both sides agree. */
static uint32_t max_parcel = 65536;

static uint32_t parcel_size(uint32_t index)
{
	uint32_t r = index * 2654435761u;
	uint32_t small = max_parcel < 4096 ? max_parcel : 4096;

	/* Mostly small parcels, some up to max_parcel. */
	return r % 10 < 7 ? 1 + (r >> 8) % small : 1 + (r >> 8) % max_parcel;
}

static unsigned char parcel_byte(uint32_t index, uint32_t i)
{
	return (unsigned char)(index * 31 + i);
}

/* Sends @w with @fd (if >= 0); a NULL @w sends the one-byte doorbell. */
static int send_wire(int sock, const struct wire *w, int fd)
{
	static const char doorbell = 0;
	char control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { w ? (void *)w : (void *)&doorbell,
			     w ? sizeof(*w) : 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	if (fd >= 0) {
		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	return sendmsg(sock, &msg, 0) < 0 ? -errno : 0;
}

/*
 * Receives one message: 1 and *w (kind DOORBELL for the one-byte
 * doorbell), 0 if nothing is pending, or -errno (-EPIPE at the end).
 */
static int recv_wire(int sock, struct wire *w, int *fd, int flags)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { w, sizeof(*w) };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = control,
			      .msg_controllen = sizeof(control) };
	struct cmsghdr *cmsg;
	ssize_t n;

	*fd = -1;
	n = recvmsg(sock, &msg, flags);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (cmsg && cmsg->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(cmsg), sizeof(int));
	if (n == 0)
		return -EPIPE;
	if (n == 1) {
		w->kind = DOORBELL;
		return 1;
	}
	return n == sizeof(*w) ? 1 : -EPROTO;
}

static void *map_fd(int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Side A's state. */
struct sender {
	int sock;
	struct link_memory *lm;
	uint64_t next_seq;
	uint32_t ring_full, grown, waits;
};

/* Sends through the ring, or through the driver if the ring is full. */
static int send_message(struct sender *s, struct wire *w)
{
	struct message_ring *ring = link_memory_outgoing_ring(s->lm);
	int err;

	w->seq = s->next_seq++;
	err = message_ring_write(ring, w->seq, w, sizeof(*w));
	if (err == -EAGAIN) {
		s->ring_full++;
		return send_wire(s->sock, w, -1);
	}
	if (err)
		return err;
	if (message_ring_should_signal(ring))
		return send_wire(s->sock, NULL, -1);
	return 0;
}

/* Creates, announces and registers a growth buffer for @block_size. */
static int grow(struct sender *s, uint32_t block_size)
{
	size_t size = link_memory_block_buffer_size(block_size);
	struct wire w = { .kind = ADD_BUFFER, .block_size = block_size };
	int fd = memfd_create("ipcz-pool", MFD_CLOEXEC);
	void *mem;
	int err;

	if (fd < 0 || ftruncate(fd, (off_t)size) || !(mem = map_fd(fd, size)))
		return -ENOMEM;
	w.buffer_id = link_memory_new_buffer_id(s->lm);
	w.seq = s->next_seq++;
	/* Announce first: the peer must know it before any parcel in it. */
	err = send_wire(s->sock, &w, fd);
	close(fd);
	if (err)
		return err;
	s->grown++;
	return link_memory_add_block_buffer(s->lm, w.buffer_id, mem, size,
					    block_size, LINK_MEMORY_LOCAL);
}

static int alloc_parcel(struct sender *s, uint32_t size, struct fragment *f)
{
	uint32_t block_size;
	int err;

	for (;;) {
		err = data_fragment_alloc(s->lm, size, f);
		if (err != -ENOMEM)
			return err;
		if (link_memory_take_growth_request(s->lm, &block_size)) {
			err = grow(s, block_size);
			if (err) {
				link_memory_growth_failed(s->lm, block_size);
				return err;
			}
			continue;
		}
		/* At the class limit: wait for the receiver to free some. */
		s->waits++;
		usleep(50);
	}
}

static int run_sender(int sock, struct link_memory *lm, uint32_t *stats)
{
	struct sender s = { .sock = sock, .lm = lm, .next_seq = 1 };
	struct wire w;
	uint32_t index, i;
	int err;

	for (index = 0; index < PARCELS; index++) {
		uint32_t size = parcel_size(index);
		struct fragment f;

		err = alloc_parcel(&s, size, &f);
		if (err)
			return err;
		for (i = 0; i < size; i++)
			((unsigned char *)fragment_payload(&f))[i] =
				parcel_byte(index, i);
		data_fragment_commit(&f, size);
		w = (struct wire){ .kind = PARCEL,
				   .index = index,
				   .desc = f.desc };
		err = send_message(&s, &w);
		if (err)
			return err;
	}
	w = (struct wire){ .kind = END };
	err = send_message(&s, &w);
	stats[0] = s.ring_full;
	stats[1] = s.grown;
	stats[2] = s.waits;
	return err;
}

/* Side B's state. */
struct receiver {
	int sock;
	struct link_memory *lm;
	uint64_t next_seq;
	uint32_t next_index;
	struct wire *parked;
	int nr_parked;
	bool done;
	uint32_t doorbells;
	uint32_t pause_every;
};

static int handle(struct receiver *r, const struct wire *w, int fd)
{
	const void *data;
	struct fragment f;
	uint32_t len, i;
	size_t size;
	void *mem;

	switch (w->kind) {
	case ADD_BUFFER:
		size = link_memory_block_buffer_size(w->block_size);
		mem = size ? map_fd(fd, size) : NULL;
		close(fd);
		if (!mem)
			return -EPROTO;
		return link_memory_add_block_buffer(r->lm, w->buffer_id, mem,
						    size, w->block_size,
						    LINK_MEMORY_FROM_PEER);
	case PARCEL:
		if (w->index != r->next_index++)
			return -EPROTO;
		/* A slow receiver lets the ring fill up now and then. */
		if (r->pause_every && w->index % r->pause_every == 0)
			usleep(20000);
		if (fragment_resolve(r->lm, &w->desc, &f) ||
		    data_fragment_adopt(&f, &data, &len) ||
		    len != parcel_size(w->index))
			return -EPROTO;
		for (i = 0; i < len; i++)
			if (((const unsigned char *)data)[i] !=
			    parcel_byte(w->index, i))
				return -EPROTO;
		return fragment_free(r->lm, &w->desc);
	case END:
		r->done = true;
		return 0;
	default:
		return -EPROTO;
	}
}

/* Delivers everything deliverable in sequence order. */
static int drain(struct receiver *r, bool *blocked)
{
	struct message_ring *ring = link_memory_incoming_ring(r->lm);
	struct message_ring_msg msg;
	struct wire w;
	int i, err;

	*blocked = false;
	for (;;) {
		for (i = 0; i < r->nr_parked; i++)
			if (r->parked[i].seq == r->next_seq)
				break;
		if (i < r->nr_parked) {
			w = r->parked[i];
			r->parked[i] = r->parked[--r->nr_parked];
			/* Parked buffers keep their fd in .pad. */
			err = handle(r, &w, (int)w.pad);
			if (err)
				return err;
			r->next_seq++;
			continue;
		}
		err = message_ring_peek(ring, &msg, &w, sizeof(w));
		if (err == -EAGAIN)
			return 0;
		if (err || msg.len != sizeof(w) || msg.seq != w.seq ||
		    msg.seq < r->next_seq)
			return -EPROTO;
		if (msg.seq > r->next_seq) {
			/* A driver message comes first: wait for it. */
			*blocked = true;
			return 0;
		}
		if (w.kind == ADD_BUFFER)
			return -EPROTO; /* memory never comes by ring */
		err = handle(r, &w, -1);
		if (err)
			return err;
		message_ring_consume(ring);
		r->next_seq++;
	}
}

/* Takes all pending driver messages; @wait blocks for the first one. */
static int read_driver(struct receiver *r, int timeout_ms)
{
	struct pollfd pfd = { r->sock, POLLIN, 0 };
	struct wire w;
	int fd, got;

	if (timeout_ms && poll(&pfd, 1, timeout_ms) != 1)
		return -ETIMEDOUT;
	while ((got = recv_wire(r->sock, &w, &fd, MSG_DONTWAIT)) == 1) {
		if (w.kind == DOORBELL) {
			r->doorbells++;
			message_ring_wake(link_memory_incoming_ring(r->lm));
			continue;
		}
		if (w.seq < r->next_seq || r->nr_parked == MAX_PARKED)
			return -EPROTO;
		w.pad = (uint32_t)fd;
		r->parked[r->nr_parked++] = w;
	}
	return got;
}

static int run_receiver(int sock, struct link_memory *lm, uint32_t pause_every)
{
	struct receiver r = { .sock = sock,
			      .parked = calloc(MAX_PARKED, sizeof(struct wire)),
			      .lm = lm,
			      .next_seq = 1,
			      .pause_every = pause_every };
	struct message_ring *ring = link_memory_incoming_ring(lm);
	struct spin_policy policy;
	uint64_t spun, start;
	bool blocked;
	int err = 0;

	if (!r.parked)
		return -ENOMEM;
	spin_policy_init(&policy, 0);
	while (!r.done) {
		/* Driver first: a parked message may unblock the ring. */
		err = read_driver(&r, 0);
		if (!err)
			err = drain(&r, &blocked);
		if (err || r.done)
			break;
		if (blocked) {
			/* The next message comes by driver: wait for it. */
			err = read_driver(&r, 5000);
		} else if (message_ring_has_data(ring)) {
			continue;
		} else if (start = test_now_ns(),
			   message_ring_spin(ring, &policy, &spun)) {
			continue;
		} else if (message_ring_prepare_sleep(ring)) {
			/* Asleep: only the doorbell (or a message) wakes us. */
			err = read_driver(&r, 5000);
			spin_policy_update(&policy, false, spun,
					   test_now_ns() - start);
		}
		if (err)
			break;
	}
	free(r.parked);
	if (err)
		return err;
	return r.next_index == PARCELS && r.nr_parked == 0 ? 0 : -EPROTO;
}

/*
 * Runs side B in a child and side A here; B pauses every @pause_every
 * parcels (0: never). Returns A's statistics in @stats.
 */
static void run_link(struct __test_metadata *_metadata, uint32_t pause_every,
		     uint32_t *stats)
{
	struct buffer_pool_config config = { .class_byte_limit = 512 * 1024 };
	int socks[2], fd, status;
	struct link_memory *lm;
	struct wire w;
	void *primary;
	pid_t child;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET, 0, socks));
	lm = calloc(1, sizeof(*lm));
	ASSERT_NE(NULL, lm);
	child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		close(socks[0]);
		/* The connection message carries the primary buffer. */
		if (recv_wire(socks[1], &w, &fd, 0) != 1 || fd < 0)
			_exit(10);
		primary = map_fd(fd, LINK_MEMORY_PRIMARY_SIZE);
		if (!primary ||
		    link_memory_open(lm, NODE_LINK_SIDE_B, primary,
				     LINK_MEMORY_PRIMARY_SIZE, &config))
			_exit(11);
		status = run_receiver(socks[1], lm, pause_every);
		if (status)
			fprintf(stderr, "# receiver failed: %d\n", status);
		_exit(status ? 12 : 0);
	}
	close(socks[1]);
	fd = memfd_create("ipcz-primary", MFD_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ftruncate(fd, LINK_MEMORY_PRIMARY_SIZE));
	primary = map_fd(fd, LINK_MEMORY_PRIMARY_SIZE);
	ASSERT_NE(NULL, primary);
	ASSERT_EQ(0, link_memory_format_primary(primary,
						LINK_MEMORY_PRIMARY_SIZE));
	ASSERT_EQ(0, link_memory_open(lm, NODE_LINK_SIDE_A, primary,
				      LINK_MEMORY_PRIMARY_SIZE, &config));
	w = (struct wire){ .kind = ADD_BUFFER };
	ASSERT_EQ(0, send_wire(socks[0], &w, fd));
	close(fd);
	EXPECT_EQ(0, run_sender(socks[0], lm, stats));
	EXPECT_EQ(0, wait_child(child));
	TH_LOG("%u parcels; ring full %u times; %u growth buffers; "
	       "%u waits at the class limit",
	       PARCELS, stats[0], stats[1], stats[2]);
	link_memory_close(lm);
	free(lm);
	close(socks[0]);
}

TEST(parcels_across_processes)
{
	uint32_t stats[3] = { 0 };

	run_link(_metadata, 0, stats);
	/* Parcels above 4 KiB need growth buffers. */
	EXPECT_GT(stats[1], 0);
}

TEST(slow_receiver_ring_overflows_to_driver)
{
	uint32_t stats[3] = { 0 };

	/* Small parcels: memory lasts longer than the ring's room. */
	max_parcel = 64;
	run_link(_metadata, 1000, stats);
	/* Messages that found the ring full went by driver, in order. */
	EXPECT_GT(stats[0], 0);
}

TEST_HARNESS_MAIN
