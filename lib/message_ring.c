// SPDX-License-Identifier: MIT
/*
 * SPSC message ring in shared memory and the consumer's spin policy; see
 * message_ring.h and Documentation/shared-memory.rst.
 */
#include "lib/message_ring.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "lib/spin_wait.h"

static uint32_t align_record(uint32_t len)
{
	return (MESSAGE_RING_HEADER_SIZE + len + MESSAGE_RING_ALIGN - 1) &
	       ~(MESSAGE_RING_ALIGN - 1);
}

/*
 * Single reads of shared words that the peer may change at any time: the
 * volatile access makes the compiler fetch exactly once, so the value we
 * validate is the value we use.
 */
static uint32_t read_once_u32(const unsigned char *p)
{
	return *(const volatile uint32_t *)p;
}

static uint64_t read_once_u64(const unsigned char *p)
{
	return *(const volatile uint64_t *)p;
}

static void write_header(unsigned char *p, uint32_t len, uint32_t flags,
			 uint64_t seq)
{
	memcpy(p, &len, sizeof(len));
	memcpy(p + 4, &flags, sizeof(flags));
	memcpy(p + 8, &seq, sizeof(seq));
}

void message_ring_format(struct message_ring_ctl *ctl)
{
	memset(ctl, 0, sizeof(*ctl));
}

int message_ring_open(struct message_ring *ring, struct message_ring_ctl *ctl,
		      void *data, uint32_t capacity)
{
	if (!ring || !ctl || !data)
		return -EINVAL;
	if ((uintptr_t)ctl % 64 || (uintptr_t)data % MESSAGE_RING_ALIGN)
		return -EINVAL;
	if (capacity < MESSAGE_RING_MIN_CAPACITY ||
	    capacity > MESSAGE_RING_MAX_CAPACITY || (capacity & (capacity - 1)))
		return -EINVAL;
	memset(ring, 0, sizeof(*ring));
	ring->ctl = ctl;
	ring->data = data;
	ring->capacity = capacity;
	ring->max_payload = capacity / 4 - MESSAGE_RING_HEADER_SIZE;
	return 0;
}

uint32_t message_ring_max_payload(const struct message_ring *ring)
{
	return ring->max_payload;
}

/* Producer: refreshes the consumer's head, validating it. */
static int load_head(struct message_ring *ring)
{
	uint64_t head;

	/*
	 * Acquire: pairs with the consumer's release store of head, so its
	 * reads of the space it gave back are complete before we overwrite.
	 */
	head = atomic_load_explicit(&ring->ctl->head, memory_order_acquire);
	if (head > ring->pos || ring->pos - head > ring->capacity ||
	    head < ring->other) {
		ring->broken = true;
		return -EPROTO;
	}
	ring->other = head;
	return 0;
}

static uint32_t cpu_hint(void)
{
	int cpu = sched_getcpu();

	return cpu < 0 ? 0 : (uint32_t)cpu + 1;
}

int message_ring_write(struct message_ring *ring, uint64_t seq,
		       const void *payload, uint32_t len)
{
	uint32_t total, off, to_end, need;
	int err;

	if (ring->broken)
		return -EPROTO;
	if (len > ring->max_payload)
		return -EMSGSIZE;
	if (ring->have_seq && seq <= ring->last_seq)
		return -EINVAL;
	total = align_record(len);
	off = (uint32_t)(ring->pos & (ring->capacity - 1));
	to_end = ring->capacity - off;
	need = total + (to_end < total ? to_end : 0);
	/* The cached head is often recent enough: avoid its cache line. */
	if (ring->capacity - (ring->pos - ring->other) < need) {
		err = load_head(ring);
		if (err)
			return err;
		if (ring->capacity - (ring->pos - ring->other) < need)
			return -EAGAIN;
	}
	if (to_end < total) {
		write_header(ring->data + off,
			     to_end - MESSAGE_RING_HEADER_SIZE,
			     MESSAGE_RING_PAD, 0);
		ring->pos += to_end;
		off = 0;
	}
	write_header(ring->data + off, len, 0, seq);
	if (len)
		memcpy(ring->data + off + MESSAGE_RING_HEADER_SIZE, payload,
		       len);
	ring->pos += total;
	ring->last_seq = seq;
	ring->have_seq = true;
	atomic_store_explicit(&ring->ctl->producer_cpu, cpu_hint(),
			      memory_order_relaxed);
	/*
	 * Release: the record's bytes are written before the consumer can
	 * see the new tail (it loads tail with acquire).
	 */
	atomic_store_explicit(&ring->ctl->tail, ring->pos,
			      memory_order_release);
	return 0;
}

/* One message_ring_write() of a waiting write. */
struct pending_write {
	struct message_ring *ring;
	uint64_t seq;
	const void *payload;
	uint32_t len;
};

static int try_write(void *arg)
{
	struct pending_write *w = arg;

	return message_ring_write(w->ring, w->seq, w->payload, w->len);
}

int message_ring_write_waiting(struct message_ring *ring, uint64_t seq,
			       const void *payload, uint32_t len,
			       uint64_t wait_ns)
{
	struct pending_write w = { ring, seq, payload, len };
	int r = try_write(&w);

	if (r != -EAGAIN)
		return r;
	return spin_wait_retry(try_write, &w, -EAGAIN, wait_ns,
			       MESSAGE_RING_ROOM_SPIN_NS);
}

bool message_ring_should_signal(struct message_ring *ring)
{
	return message_ring_claim_signal(ring) != MESSAGE_RING_SIGNAL_NONE;
}

enum message_ring_signal message_ring_claim_signal(struct message_ring *ring)
{
	uint32_t state;

	/*
	 * Orders our tail store before the load of the consumer's state;
	 * pairs with the fence in message_ring_prepare_sleep() (Dekker).
	 */
	atomic_thread_fence(memory_order_seq_cst);
	state = atomic_load_explicit(&ring->ctl->consumer_state,
				     memory_order_relaxed);
	if (state == MESSAGE_RING_AWAKE)
		return MESSAGE_RING_SIGNAL_NONE;
	/*
	 * Asleep (or a garbage value, treated as asleep in its driver: a
	 * peer that writes garbage only costs its own producer extra
	 * signals). Claim the wakeup; if the consumer woke up meanwhile,
	 * nobody needs a signal.
	 */
	if (!atomic_compare_exchange_strong_explicit(
		    &ring->ctl->consumer_state, &state, MESSAGE_RING_AWAKE,
		    memory_order_relaxed, memory_order_relaxed))
		return MESSAGE_RING_SIGNAL_NONE;
	switch (state) {
	case MESSAGE_RING_ASLEEP_FUTEX:
		return MESSAGE_RING_SIGNAL_FUTEX;
	case MESSAGE_RING_AWAY:
		return MESSAGE_RING_SIGNAL_AWAY;
	default:
		return MESSAGE_RING_SIGNAL_DRIVER;
	}
}

bool message_ring_consumed(struct message_ring *ring, uint64_t pos)
{
	return atomic_load_explicit(&ring->ctl->head, memory_order_acquire) >=
	       pos;
}

/* Consumer: refreshes the producer's tail, validating it. */
static int load_tail(struct message_ring *ring)
{
	uint64_t tail;

	/* Acquire: pairs with the producer's release store of tail. */
	tail = atomic_load_explicit(&ring->ctl->tail, memory_order_acquire);
	if (tail < ring->pos || tail - ring->pos > ring->capacity ||
	    tail < ring->other) {
		ring->broken = true;
		return -EPROTO;
	}
	ring->other = tail;
	return 0;
}

static int fail(struct message_ring *ring)
{
	ring->broken = true;
	return -EPROTO;
}

/* Consumer: validates a pad record at the current position and skips it. */
static int skip_pad(struct message_ring *ring, uint32_t off, uint32_t len)
{
	uint32_t to_end = ring->capacity - off;

	/* Pads only ever fill a tail end that a record did not fit in. */
	if (off == 0 || len != to_end - MESSAGE_RING_HEADER_SIZE ||
	    ring->other - ring->pos < to_end)
		return fail(ring);
	ring->pos += to_end;
	return 0;
}

int message_ring_peek(struct message_ring *ring, struct message_ring_msg *msg,
		      void *buf, uint32_t size)
{
	uint32_t off, len, flags, total;
	uint64_t seq;
	int err, round;

	if (ring->broken)
		return -EPROTO;
	for (round = 0; round < 2; round++) {
		if (ring->other == ring->pos) {
			err = load_tail(ring);
			if (err)
				return err;
			if (ring->other == ring->pos)
				return -EAGAIN;
		}
		off = (uint32_t)(ring->pos & (ring->capacity - 1));
		len = read_once_u32(ring->data + off);
		flags = read_once_u32(ring->data + off + 4);
		seq = read_once_u64(ring->data + off + 8);
		if (flags == MESSAGE_RING_PAD) {
			err = skip_pad(ring, off, len);
			if (err)
				return err;
			continue;
		}
		if (flags != 0 || len > ring->max_payload)
			return fail(ring);
		total = align_record(len);
		if (total > ring->other - ring->pos ||
		    total > ring->capacity - off)
			return fail(ring);
		if (ring->have_seq && seq <= ring->last_seq)
			return fail(ring);
		msg->seq = seq;
		msg->len = len;
		if (len > size)
			return -ENOBUFS;
		memcpy(buf, ring->data + off + MESSAGE_RING_HEADER_SIZE, len);
		ring->peeked = total;
		ring->peeked_seq = seq;
		return 0;
	}
	/* A pad right after a pad: the producer never writes that. */
	return fail(ring);
}

int message_ring_consume(struct message_ring *ring)
{
	if (!ring->peeked)
		return -EINVAL;
	ring->pos += ring->peeked;
	ring->last_seq = ring->peeked_seq;
	ring->have_seq = true;
	ring->peeked = 0;
	/*
	 * Release: our copy of the payload is complete before the producer
	 * can reuse the space (it loads head with acquire).
	 */
	atomic_store_explicit(&ring->ctl->head, ring->pos,
			      memory_order_release);
	return 0;
}

int message_ring_read(struct message_ring *ring, struct message_ring_msg *msg,
		      void *buf, uint32_t size)
{
	int err = message_ring_peek(ring, msg, buf, size);

	if (err)
		return err;
	return message_ring_consume(ring);
}

bool message_ring_has_data(struct message_ring *ring)
{
	if (ring->other != ring->pos)
		return true;
	return atomic_load_explicit(&ring->ctl->tail, memory_order_relaxed) !=
	       ring->pos;
}

static bool prepare_sleep_as(struct message_ring *ring, uint32_t state)
{
	atomic_store_explicit(&ring->ctl->consumer_state, state,
			      memory_order_relaxed);
	/*
	 * Orders the state store before the tail load; pairs with the fence
	 * in message_ring_should_signal(). Without it the store could sit in
	 * our store buffer while we read an old tail, and the producer could
	 * read the old AWAKE state: both would miss each other.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	if (message_ring_has_data(ring)) {
		message_ring_wake(ring);
		return false;
	}
	return true;
}

bool message_ring_prepare_sleep(struct message_ring *ring)
{
	return prepare_sleep_as(ring, MESSAGE_RING_ASLEEP);
}

bool message_ring_prepare_futex_sleep(struct message_ring *ring)
{
	return prepare_sleep_as(ring, MESSAGE_RING_ASLEEP_FUTEX);
}

bool message_ring_prepare_away(struct message_ring *ring)
{
	return prepare_sleep_as(ring, MESSAGE_RING_AWAY);
}

void message_ring_wake(struct message_ring *ring)
{
	atomic_store_explicit(&ring->ctl->consumer_state, MESSAGE_RING_AWAKE,
			      memory_order_relaxed);
}

_Atomic uint32_t *message_ring_state_word(struct message_ring *ring)
{
	return &ring->ctl->consumer_state;
}

/* Spin policy. */

static uint32_t online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (uint32_t)n;
}

void spin_policy_init(struct spin_policy *policy, uint32_t max_ns)
{
	memset(policy, 0, sizeof(*policy));
	policy->max_ns = max_ns ? max_ns : SPIN_POLICY_MAX_NS;
	policy->budget_ns = SPIN_POLICY_INITIAL_NS;
	if (policy->budget_ns > policy->max_ns)
		policy->budget_ns = policy->max_ns;
}

uint32_t spin_policy_budget(struct spin_policy *policy,
			    uint32_t producer_cpu_hint)
{
	/*
	 * CPUs can go on and offline, so the count is refreshed every
	 * SPIN_POLICY_CPU_REFRESH waits. The producer's CPU is only a hint
	 * (it may have moved since its last write, and the peer may lie):
	 * a wrong hint costs one badly chosen spin, which the budget's
	 * adaptation then accounts for.
	 */
	if (policy->waits++ % SPIN_POLICY_CPU_REFRESH == 0)
		policy->cpus = online_cpus();
	if (policy->cpus < 2 ||
	    (producer_cpu_hint && producer_cpu_hint == cpu_hint())) {
		policy->spins_skipped++;
		return 0;
	}
	return policy->budget_ns;
}

void spin_policy_update(struct spin_policy *policy, bool won, uint64_t spun_ns,
			uint64_t waited_ns)
{
	uint64_t budget = policy->budget_ns;

	if (won) {
		policy->spins_won++;
		if (budget < 2 * spun_ns)
			budget = 2 * spun_ns;
	} else {
		if (spun_ns)
			policy->spins_lost++;
		if (waited_ns <= policy->max_ns)
			budget = waited_ns + waited_ns / 4;
		else
			budget /= 2;
	}
	if (budget < SPIN_POLICY_MIN_NS)
		budget = SPIN_POLICY_MIN_NS;
	if (budget > policy->max_ns)
		budget = policy->max_ns;
	policy->budget_ns = (uint32_t)budget;
}

bool message_ring_spin(struct message_ring *ring, struct spin_policy *policy,
		       uint64_t *spun_ns)
{
	uint32_t hint = atomic_load_explicit(&ring->ctl->producer_cpu,
					     memory_order_relaxed);
	uint32_t budget = spin_policy_budget(policy, hint);
	uint64_t start, elapsed = 0;
	unsigned int i;

	*spun_ns = 0;
	if (!budget)
		return false;
	/*
	 * A wait usually follows a delivery that woke an application thread
	 * (its trap handler ran here). When that thread shares our CPU (a
	 * process confined to one CPU, or a wake-up placed beside its
	 * waker), spinning first would hold it off until our budget or our
	 * time slice ran out, while the next message cannot come before it
	 * has run and answered: let it run first. This costs one system call
	 * per wait, about 0.2 us here, and took the 99th percentile of the
	 * 2-CPU round trip from around 100 us to around 10-40 us.
	 */
	sched_yield();
	start = monotonic_ns();
	while (elapsed < budget) {
		/* Check often, read the clock rarely. */
		for (i = 0; i < 32; i++) {
			if (message_ring_has_data(ring)) {
				*spun_ns = monotonic_ns() - start;
				spin_policy_update(policy, true, *spun_ns,
						   *spun_ns);
				return true;
			}
			cpu_relax();
		}
		elapsed = monotonic_ns() - start;
	}
	*spun_ns = elapsed;
	return false;
}
