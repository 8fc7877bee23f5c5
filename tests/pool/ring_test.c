// SPDX-License-Identifier: MIT
/*
 * Tests of the SPSC message ring: basic use, wrap-around, a full ring,
 * sequence order, every kind of corrupted shared state refused, the
 * sleep/signal protocol, the spin policy, and stress between threads and
 * between processes (with futex sleeping; a lost wakeup hangs the test,
 * which the harness reports as a failure).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "lib/message_ring.h"
#include "tests/pool/pool_test_util.h"

#define CAP 256u
#define MAP_SIZE (4096 + 65536)

/* ThreadSanitizer runs the stress loops about ten times slower. */
#ifdef __SANITIZE_THREAD__
#define STRESS_MESSAGES 40000u
#else
#define STRESS_MESSAGES 300000u
#endif

FIXTURE(ring)
{
	unsigned char *mem;
	struct message_ring_ctl *ctl;
	struct message_ring prod, cons;
};

static void open_pair(FIXTURE_DATA(ring) * self, uint32_t capacity)
{
	self->ctl = (struct message_ring_ctl *)self->mem;
	message_ring_format(self->ctl);
	message_ring_open(&self->prod, self->ctl, self->mem + 4096, capacity);
	message_ring_open(&self->cons, self->ctl, self->mem + 4096, capacity);
}

FIXTURE_SETUP(ring)
{
	self->mem = shared_map(MAP_SIZE);
	ASSERT_NE(NULL, self->mem);
	open_pair(self, CAP);
}

FIXTURE_TEARDOWN(ring)
{
	shared_unmap(self->mem, MAP_SIZE);
}

/* Deterministic payload of message @seq. */
static uint32_t payload_len(uint64_t seq, uint32_t max)
{
	return (uint32_t)((seq * 2654435761u) >> 7) % (max + 1);
}

static void fill_payload(unsigned char *buf, uint64_t seq, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(seq + i * 7);
}

static bool payload_ok(const unsigned char *buf, uint64_t seq, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != (unsigned char)(seq + i * 7))
			return false;
	return true;
}

TEST(open_refuses_bad_geometry)
{
	_Alignas(64) static unsigned char mem[4096 + 1024];
	struct message_ring r;
	void *ctl = mem, *data = mem + 4096;

	EXPECT_EQ(-EINVAL, message_ring_open(&r, ctl, data, 128));
	EXPECT_EQ(-EINVAL, message_ring_open(&r, ctl, data, 768));
	EXPECT_EQ(-EINVAL, message_ring_open(&r, ctl, mem + 4104, 256));
	EXPECT_EQ(-EINVAL, message_ring_open(&r, (void *)(mem + 8), data, 256));
	EXPECT_EQ(-EINVAL, message_ring_open(&r, ctl, data, 1u << 31));
	EXPECT_EQ(0, message_ring_open(&r, ctl, data, 1024));
	EXPECT_EQ(1024 / 4 - 16, message_ring_max_payload(&r));
}

TEST_F(ring, basic)
{
	struct message_ring_msg msg;
	unsigned char buf[64];

	EXPECT_EQ(-EAGAIN, message_ring_read(&self->cons, &msg, buf, 64));
	EXPECT_FALSE(message_ring_has_data(&self->cons));
	ASSERT_EQ(0, message_ring_write(&self->prod, 5, "hello", 5));
	EXPECT_TRUE(message_ring_has_data(&self->cons));
	ASSERT_EQ(0, message_ring_read(&self->cons, &msg, buf, 64));
	EXPECT_EQ(5, msg.seq);
	EXPECT_EQ(5, msg.len);
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	EXPECT_EQ(-EAGAIN, message_ring_read(&self->cons, &msg, buf, 64));
	/* Zero-length messages are fine; sequence numbers must grow. */
	ASSERT_EQ(0, message_ring_write(&self->prod, 6, NULL, 0));
	EXPECT_EQ(-EINVAL, message_ring_write(&self->prod, 6, "x", 1));
	EXPECT_EQ(-EINVAL, message_ring_write(&self->prod, 2, "x", 1));
	ASSERT_EQ(0, message_ring_write(&self->prod, 100, "x", 1));
	ASSERT_EQ(0, message_ring_read(&self->cons, &msg, buf, 64));
	EXPECT_EQ(6, msg.seq);
	EXPECT_EQ(0, msg.len);
	ASSERT_EQ(0, message_ring_read(&self->cons, &msg, buf, 64));
	EXPECT_EQ(100, msg.seq);
}

TEST_F(ring, too_big_and_small_buffers)
{
	struct message_ring_msg msg;
	unsigned char buf[64] = { 0 };
	uint32_t max = message_ring_max_payload(&self->prod);

	EXPECT_EQ(48, max);
	EXPECT_EQ(-EMSGSIZE, message_ring_write(&self->prod, 1, buf, max + 1));
	ASSERT_EQ(0, message_ring_write(&self->prod, 1, buf, max));
	/* Too small a buffer: told the size, nothing consumed. */
	EXPECT_EQ(-ENOBUFS, message_ring_peek(&self->cons, &msg, buf, 10));
	EXPECT_EQ(max, msg.len);
	EXPECT_EQ(-EINVAL, message_ring_consume(&self->cons));
	/* Peeking twice shows the same message. */
	ASSERT_EQ(0, message_ring_peek(&self->cons, &msg, buf, 64));
	ASSERT_EQ(0, message_ring_peek(&self->cons, &msg, buf, 64));
	EXPECT_EQ(1, msg.seq);
	EXPECT_EQ(0, message_ring_consume(&self->cons));
	EXPECT_EQ(-EINVAL, message_ring_consume(&self->cons));
	EXPECT_EQ(-EAGAIN, message_ring_peek(&self->cons, &msg, buf, 64));
}

TEST_F(ring, full_then_room_again)
{
	struct message_ring_msg msg;
	unsigned char buf[64] = { 0 };
	uint64_t seq = 1;
	int n = 0;

	/* 32-byte payloads take 48-byte records: 5 fit in 256 bytes. */
	while (message_ring_write(&self->prod, seq, buf, 32) == 0) {
		seq++;
		n++;
	}
	EXPECT_EQ(5, n);
	EXPECT_EQ(-EAGAIN, message_ring_write(&self->prod, seq, buf, 32));
	ASSERT_EQ(0, message_ring_read(&self->cons, &msg, buf, 64));
	EXPECT_EQ(1, msg.seq);
	/* The freed 48 bytes plus the 16 left over take one more record. */
	EXPECT_EQ(0, message_ring_write(&self->prod, seq, buf, 32));
	EXPECT_EQ(-EAGAIN, message_ring_write(&self->prod, seq + 1, buf, 0));
}

struct late_consumer {
	struct message_ring *ring;
	atomic_bool started;
	int result;
};

/* Consumes one message right after announcing itself. */
static void *consume_one(void *arg)
{
	struct late_consumer *c = arg;
	struct message_ring_msg msg;
	unsigned char buf[64];

	atomic_store(&c->started, true);
	c->result = message_ring_read(c->ring, &msg, buf, sizeof(buf));
	return NULL;
}

TEST_F(ring, write_waiting_for_room)
{
	struct late_consumer c = { .ring = &self->cons };
	unsigned char buf[64] = { 0 };
	pthread_t thread;
	uint64_t seq = 1, start;

	while (message_ring_write(&self->prod, seq, buf, 32) == 0)
		seq++;
	/* Nobody consumes: the wait runs out, nothing is written. */
	start = test_now_ns();
	EXPECT_EQ(-EAGAIN, message_ring_write_waiting(&self->prod, seq, buf,
						      32, 200000));
	EXPECT_LE(200000, test_now_ns() - start);
	/* A consumer makes room while the producer waits. */
	atomic_init(&c.started, false);
	ASSERT_EQ(0, pthread_create(&thread, NULL, consume_one, &c));
	while (!atomic_load(&c.started))
		sched_yield();
	EXPECT_EQ(0, message_ring_write_waiting(&self->prod, seq, buf, 32,
						1000000000));
	pthread_join(thread, NULL);
	EXPECT_EQ(0, c.result);
	/* Errors other than a full ring come back at once. */
	EXPECT_EQ(-EINVAL, message_ring_write_waiting(&self->prod, seq, buf,
						      32, 1000000000));
}

TEST_F(ring, wraps_in_order)
{
	struct message_ring_msg msg;
	unsigned char in[64], out[64];
	uint64_t next_write = 1, next_read = 1;
	uint32_t max = message_ring_max_payload(&self->prod);

	/* Many laps with odd sizes: records end at every alignment slot. */
	while (next_read < 5000) {
		uint32_t len = payload_len(next_write, max);
		int err;

		fill_payload(in, next_write, len);
		err = message_ring_write(&self->prod, next_write, in, len);
		if (err == 0) {
			next_write++;
			if (next_write % 3)
				continue;
		} else {
			ASSERT_EQ(-EAGAIN, err);
		}
		while (message_ring_read(&self->cons, &msg, out, 64) == 0) {
			ASSERT_EQ(next_read, msg.seq);
			ASSERT_EQ(payload_len(next_read, max), msg.len);
			ASSERT_TRUE(payload_ok(out, next_read, msg.len));
			next_read++;
		}
	}
	EXPECT_GT(self->prod.pos, 20 * CAP);
}

/* Corruption of what the producer published, seen by the consumer. */
TEST_F(ring, consumer_refuses_corrupt_tail)
{
	struct message_ring_msg msg;
	unsigned char buf[64];

	ASSERT_EQ(0, message_ring_write(&self->prod, 1, "ab", 2));
	atomic_store(&self->ctl->tail, CAP + 16);
	EXPECT_EQ(-EPROTO, message_ring_read(&self->cons, &msg, buf, 64));
	/* Broken for good, even once the value looks sane again. */
	atomic_store(&self->ctl->tail, 32);
	EXPECT_EQ(-EPROTO, message_ring_read(&self->cons, &msg, buf, 64));
}

TEST_F(ring, consumer_refuses_tail_going_back)
{
	struct message_ring_msg msg;
	unsigned char buf[64];

	ASSERT_EQ(0, message_ring_write(&self->prod, 1, "ab", 2));
	ASSERT_EQ(0, message_ring_write(&self->prod, 2, "cd", 2));
	ASSERT_EQ(0, message_ring_read(&self->cons, &msg, buf, 64));
	ASSERT_EQ(0, message_ring_read(&self->cons, &msg, buf, 64));
	atomic_store(&self->ctl->tail, 32);
	EXPECT_EQ(-EPROTO, message_ring_read(&self->cons, &msg, buf, 64));
}

/* Overwrites the first record's header fields. */
static void poke_header(FIXTURE_DATA(ring) * self, uint32_t off, uint32_t len,
			uint32_t flags, uint64_t seq)
{
	unsigned char *p = self->mem + 4096 + off;

	memcpy(p, &len, 4);
	memcpy(p + 4, &flags, 4);
	memcpy(p + 8, &seq, 8);
}

TEST_F(ring, consumer_refuses_bad_records)
{
	const struct {
		uint32_t len, flags;
		uint64_t seq;
	} bad[] = {
		{ 49, 0, 1 }, /* above the maximum payload */
		{ 0xffffffffu, 0, 1 },
		{ 40, 0, 1 }, /* longer than published */
		{ 2, 2, 1 }, /* unknown flags */
		{ 2, 0x80000000u, 1 },
		{ CAP - 16, MESSAGE_RING_PAD, 0 }, /* pad at offset 0 */
	};
	struct message_ring_msg msg;
	unsigned char buf[64];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		open_pair(self, CAP);
		ASSERT_EQ(0, message_ring_write(&self->prod, 1, "ab", 2));
		poke_header(self, 0, bad[i].len, bad[i].flags, bad[i].seq);
		EXPECT_EQ(-EPROTO,
			  message_ring_read(&self->cons, &msg, buf, 64))
		{
			TH_LOG("bad record %zu accepted", i);
		}
	}
}

TEST_F(ring, consumer_refuses_bad_pad_and_seq)
{
	struct message_ring_msg msg;
	unsigned char buf[64] = { 0 };

	/* Records of 48 bytes: the sixth needs a pad of 16 at offset 240. */
	for (uint64_t s = 1; s <= 5; s++)
		ASSERT_EQ(0, message_ring_write(&self->prod, s, buf, 32));
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(0, message_ring_read(&self->cons, &msg, buf, 64));
	ASSERT_EQ(0, message_ring_write(&self->prod, 6, buf, 32));
	EXPECT_EQ(6 * 48 + 16, self->prod.pos);
	/* A pad that claims to be longer than the rest of the area. */
	poke_header(self, 240, 32, MESSAGE_RING_PAD, 0);
	EXPECT_EQ(-EPROTO, message_ring_read(&self->cons, &msg, buf, 64));

	open_pair(self, CAP);
	ASSERT_EQ(0, message_ring_write(&self->prod, 10, buf, 0));
	ASSERT_EQ(0, message_ring_write(&self->prod, 11, buf, 0));
	ASSERT_EQ(0, message_ring_read(&self->cons, &msg, buf, 64));
	/* The second record's sequence number rewritten below the first. */
	poke_header(self, 16, 0, 0, 9);
	EXPECT_EQ(-EPROTO, message_ring_read(&self->cons, &msg, buf, 64));
}

/* Corruption of the consumer's head, seen by the producer. */
TEST_F(ring, producer_refuses_corrupt_head)
{
	unsigned char buf[64] = { 0 };
	uint64_t s = 1;

	while (message_ring_write(&self->prod, s, buf, 32) == 0)
		s++;
	/* Head past our tail: the consumer "read" what we never wrote. */
	atomic_store(&self->ctl->head, self->prod.pos + 16);
	EXPECT_EQ(-EPROTO, message_ring_write(&self->prod, s, buf, 32));
	EXPECT_EQ(-EPROTO, message_ring_write(&self->prod, s + 1, buf, 0));

	open_pair(self, CAP);
	s = 1;
	while (message_ring_write(&self->prod, s, buf, 32) == 0)
		s++;
	atomic_store(&self->ctl->head, 96);
	ASSERT_EQ(0, message_ring_write(&self->prod, s++, buf, 32));
	while (message_ring_write(&self->prod, s, buf, 32) == 0)
		s++;
	/* Head going backwards. */
	atomic_store(&self->ctl->head, 48);
	EXPECT_EQ(-EPROTO, message_ring_write(&self->prod, s, buf, 32));
}

TEST_F(ring, sleep_and_signal_protocol)
{
	_Atomic uint32_t *state = message_ring_state_word(&self->cons);
	struct message_ring_msg msg;
	unsigned char buf[64];

	/* Awake consumer: no signal. */
	ASSERT_EQ(0, message_ring_write(&self->prod, 1, "a", 1));
	EXPECT_FALSE(message_ring_should_signal(&self->prod));
	/* Data present: the consumer must not sleep. */
	EXPECT_FALSE(message_ring_prepare_sleep(&self->cons));
	EXPECT_EQ(MESSAGE_RING_AWAKE, atomic_load(state));
	ASSERT_EQ(0, message_ring_read(&self->cons, &msg, buf, 64));
	/* Empty: it may sleep, and says so. */
	EXPECT_TRUE(message_ring_prepare_sleep(&self->cons));
	EXPECT_EQ(MESSAGE_RING_ASLEEP, atomic_load(state));
	/* The first message after that signals, once. */
	ASSERT_EQ(0, message_ring_write(&self->prod, 2, "b", 1));
	EXPECT_TRUE(message_ring_should_signal(&self->prod));
	EXPECT_EQ(MESSAGE_RING_AWAKE, atomic_load(state));
	ASSERT_EQ(0, message_ring_write(&self->prod, 3, "c", 1));
	EXPECT_FALSE(message_ring_should_signal(&self->prod));
	message_ring_wake(&self->cons);
	/* A garbage state counts as asleep: signalling more is harmless. */
	atomic_store(state, 0xdead);
	EXPECT_TRUE(message_ring_should_signal(&self->prod));
	EXPECT_FALSE(message_ring_should_signal(&self->prod));
}

TEST_F(ring, futex_sleep_is_claimed_as_such)
{
	_Atomic uint32_t *state = message_ring_state_word(&self->cons);
	struct message_ring_msg msg;
	unsigned char buf[64];

	/* A futex sleeper is claimed like any sleeper, and named. */
	EXPECT_TRUE(message_ring_prepare_futex_sleep(&self->cons));
	EXPECT_EQ(MESSAGE_RING_ASLEEP_FUTEX, atomic_load(state));
	ASSERT_EQ(0, message_ring_write(&self->prod, 1, "a", 1));
	EXPECT_FALSE(message_ring_consumed(&self->prod,
					   message_ring_written(&self->prod)));
	EXPECT_EQ(MESSAGE_RING_SIGNAL_FUTEX,
		  message_ring_claim_signal(&self->prod));
	EXPECT_EQ(MESSAGE_RING_SIGNAL_NONE,
		  message_ring_claim_signal(&self->prod));
	/* With data there, the consumer stays awake. */
	EXPECT_FALSE(message_ring_prepare_futex_sleep(&self->cons));
	EXPECT_EQ(MESSAGE_RING_AWAKE, atomic_load(state));
	ASSERT_EQ(0, message_ring_read(&self->cons, &msg, buf, 64));
	EXPECT_TRUE(message_ring_consumed(&self->prod,
					  message_ring_written(&self->prod)));
	/* A driver sleep is claimed as one. */
	EXPECT_TRUE(message_ring_prepare_sleep(&self->cons));
	ASSERT_EQ(0, message_ring_write(&self->prod, 2, "b", 1));
	EXPECT_EQ(MESSAGE_RING_SIGNAL_DRIVER,
		  message_ring_claim_signal(&self->prod));
	ASSERT_EQ(0, message_ring_read(&self->cons, &msg, buf, 64));
	/* So is a consumer away, once. */
	EXPECT_TRUE(message_ring_prepare_away(&self->cons));
	EXPECT_EQ(MESSAGE_RING_AWAY, atomic_load(state));
	ASSERT_EQ(0, message_ring_write(&self->prod, 3, "c", 1));
	EXPECT_EQ(MESSAGE_RING_SIGNAL_AWAY,
		  message_ring_claim_signal(&self->prod));
	EXPECT_EQ(MESSAGE_RING_SIGNAL_NONE,
		  message_ring_claim_signal(&self->prod));
}

TEST(spin_policy_rules)
{
	struct spin_policy p;
	cpu_set_t saved;

	spin_policy_init(&p, 0);
	EXPECT_EQ(SPIN_POLICY_INITIAL_NS, p.budget_ns);
	spin_policy_update(&p, true, 4000, 4000);
	EXPECT_EQ(8000, p.budget_ns);
	spin_policy_update(&p, true, 100, 100);
	EXPECT_EQ(8000, p.budget_ns);
	/* A sleep that ended soon: grow to cover it. */
	spin_policy_update(&p, false, 8000, 20000);
	EXPECT_EQ(25000, p.budget_ns);
	spin_policy_update(&p, false, 25000, 40000);
	EXPECT_EQ(SPIN_POLICY_MAX_NS, p.budget_ns);
	/* Long sleeps halve it, down to the floor. */
	for (int i = 0; i < 20; i++)
		spin_policy_update(&p, false, p.budget_ns, 10000000);
	EXPECT_EQ(SPIN_POLICY_MIN_NS, p.budget_ns);
	EXPECT_EQ(22, p.spins_lost);
	EXPECT_EQ(2, p.spins_won);

	/*
	 * Pinned to CPU 0 with the producer last seen on CPU 0 (hint 1):
	 * never spin, whatever the budget. A producer elsewhere: spin.
	 */
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(saved), &saved));
	spin_policy_init(&p, 0);
	ASSERT_EQ(0, pin_to_cpu(0));
	EXPECT_EQ(0, spin_policy_budget(&p, 1));
	EXPECT_EQ(1, p.spins_skipped);
	if (sysconf(_SC_NPROCESSORS_ONLN) >= 2) {
		EXPECT_EQ(SPIN_POLICY_INITIAL_NS, spin_policy_budget(&p, 2));
		EXPECT_EQ(SPIN_POLICY_INITIAL_NS, spin_policy_budget(&p, 0));
	} else {
		EXPECT_EQ(0, spin_policy_budget(&p, 2));
	}
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(saved), &saved));
}

/* Producer side of the stress tests: @n messages, signalling as needed. */
static int produce(struct message_ring *ring, uint64_t n)
{
	unsigned char buf[4096];
	uint32_t max = message_ring_max_payload(ring);
	uint64_t i;

	for (i = 1; i <= n; i++) {
		uint64_t seq = i * 3; /* gaps: room for driver messages */
		uint32_t len = payload_len(seq, max);
		int err;

		fill_payload(buf, seq, len);
		while ((err = message_ring_write(ring, seq, buf, len)) ==
		       -EAGAIN)
			sched_yield();
		if (err)
			return 1;
		if (message_ring_should_signal(ring))
			futex_wake_u32(&ring->ctl->consumer_state);
	}
	return 0;
}

/* Consumer side: spin per policy, then sleep on the futex. */
static int consume(struct message_ring *ring, uint64_t n,
		   struct spin_policy *policy)
{
	unsigned char buf[4096];
	struct message_ring_msg msg;
	uint64_t expect = 1;

	while (expect <= n) {
		uint64_t spun, start;
		int err = message_ring_read(ring, &msg, buf, sizeof(buf));

		if (err == 0) {
			if (msg.seq != expect * 3 ||
			    msg.len !=
				    payload_len(msg.seq, ring->max_payload) ||
			    !payload_ok(buf, msg.seq, msg.len))
				return 1;
			expect++;
			continue;
		}
		if (err != -EAGAIN)
			return 2;
		start = test_now_ns();
		if (message_ring_spin(ring, policy, &spun))
			continue;
		if (!message_ring_prepare_sleep(ring))
			continue;
		futex_wait_u32(message_ring_state_word(ring),
			       MESSAGE_RING_ASLEEP);
		message_ring_wake(ring);
		spin_policy_update(policy, false, spun, test_now_ns() - start);
	}
	return 0;
}

struct producer_args {
	struct message_ring *ring;
	uint64_t n;
	int result;
};

static void *producer_thread(void *arg)
{
	struct producer_args *a = arg;

	a->result = produce(a->ring, a->n);
	return NULL;
}

TEST_F(ring, stress_threads)
{
	struct producer_args args = { &self->prod, STRESS_MESSAGES / 3, 0 };
	struct spin_policy policy;
	pthread_t t;

	open_pair(self, 4096);
	spin_policy_init(&policy, 0);
	ASSERT_EQ(0, pthread_create(&t, NULL, producer_thread, &args));
	EXPECT_EQ(0, consume(&self->cons, args.n, &policy));
	pthread_join(t, NULL);
	EXPECT_EQ(0, args.result);
}

static void stress_processes(struct __test_metadata *_metadata,
			     FIXTURE_DATA(ring) * self, int cpu)
{
	struct spin_policy policy;
	uint64_t n = STRESS_MESSAGES;
	pid_t child;

	open_pair(self, 16384);
	spin_policy_init(&policy, 0);
	child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		if (cpu >= 0 && pin_to_cpu(cpu))
			_exit(3);
		_exit(produce(&self->prod, n));
	}
	if (cpu >= 0)
		ASSERT_EQ(0, pin_to_cpu(cpu));
	EXPECT_EQ(0, consume(&self->cons, n, &policy));
	EXPECT_EQ(0, wait_child(child));
	TH_LOG("spins won %llu, lost %llu, skipped %llu",
	       (unsigned long long)policy.spins_won,
	       (unsigned long long)policy.spins_lost,
	       (unsigned long long)policy.spins_skipped);
	/*
	 * On one CPU the consumer never spins, except possibly once before
	 * the producer's first write tells it where the producer runs.
	 */
	if (cpu >= 0) {
		EXPECT_LE(policy.spins_won + policy.spins_lost, 1);
	}
}

TEST_F(ring, stress_processes)
{
	stress_processes(_metadata, self, -1);
}

TEST_F(ring, stress_processes_one_cpu)
{
	stress_processes(_metadata, self, 0);
}

TEST_HARNESS_MAIN
