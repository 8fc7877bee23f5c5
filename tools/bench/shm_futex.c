// SPDX-License-Identifier: MIT
/*
 * The floor: two single-producer single-consumer byte rings in memory
 * shared by both processes, one per direction. A waiting side spins
 * briefly (only if it may run on another CPU than its peer), then sleeps
 * on a futex; the other side makes the wake system call only when the
 * waiter announced that it sleeps. Messages are a 4-byte length and the
 * bytes, copied in and out of the ring.
 */
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tools/bench/bench.h"

#define RING_SIZE (4u << 20)
#define PUBLISH_STEP 65536u

/* One side's waiting state: a flag and a futex word bumped on wakes. */
struct waiter {
	atomic_uint sleeping;
	atomic_uint sequence;
};

struct ring {
	_Alignas(64) atomic_uint_fast64_t head;	/* bytes produced */
	struct waiter consumer;
	_Alignas(64) atomic_uint_fast64_t tail;	/* bytes consumed */
	struct waiter producer;
	_Alignas(64) uint8_t data[RING_SIZE];
};

struct shared {
	struct ring rings[2];	/* [0]: side 0 to side 1, [1]: back */
};

struct bench_channel {
	struct shared *shared;
	struct ring *out;
	struct ring *in;
	bool spin;
};

static void futex(atomic_uint *word, int op, unsigned int value)
{
	syscall(SYS_futex, word, op, value, NULL, NULL, 0);
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Waits until `*value` differs from `seen`; returns the new value. */
static uint64_t wait_change(atomic_uint_fast64_t *value, uint64_t seen,
			    struct waiter *w, bool spin)
{
	uint64_t now;

	if (spin) {
		long long deadline = bench_now_ns() +
				     bench_options.spin_us * 1000LL;

		for (unsigned int i = 1;; i++) {
			now = atomic_load_explicit(value, memory_order_acquire);
			if (now != seen)
				return now;
			cpu_relax();
			if (!(i & 127) && bench_now_ns() > deadline)
				break;
		}
	}
	for (;;) {
		unsigned int sequence = atomic_load(&w->sequence);

		atomic_store(&w->sleeping, 1);
		/* seq_cst: the other side's store and our load cannot pass. */
		now = atomic_load(value);
		if (now == seen)
			futex(&w->sequence, FUTEX_WAIT, sequence);
		atomic_store(&w->sleeping, 0);
		now = atomic_load_explicit(value, memory_order_acquire);
		if (now != seen)
			return now;
	}
}

static void wake(struct waiter *w)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&w->sleeping, memory_order_relaxed)) {
		atomic_fetch_add(&w->sequence, 1);
		futex(&w->sequence, FUTEX_WAKE, INT_MAX);
	}
}

/*
 * Copies the parts in order into the ring, publishing as much as fits at
 * a time: a small message (header and bytes) becomes visible at once.
 */
static void ring_write(struct ring *r, const uint8_t *const parts[2],
		       const size_t sizes[2], bool spin)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	const uint8_t *from = parts[0];
	size_t size = sizes[0];
	int part = 0;

	for (;;) {
		size_t space = RING_SIZE - (size_t)(head - tail);
		size_t at = (size_t)(head % RING_SIZE);
		size_t chunk = size;

		if (!size) {
			if (++part == 2)
				break;
			from = parts[part];
			size = sizes[part];
			continue;
		}
		if (!space) {
			atomic_store_explicit(&r->head, head,
					      memory_order_release);
			wake(&r->consumer);
			tail = wait_change(&r->tail, tail, &r->producer, spin);
			continue;
		}
		if (chunk > space)
			chunk = space;
		if (chunk > RING_SIZE - at)
			chunk = RING_SIZE - at;
		if (chunk > PUBLISH_STEP)
			chunk = PUBLISH_STEP;
		memcpy(r->data + at, from, chunk);
		from += chunk;
		size -= chunk;
		head += chunk;
		/* Large messages: let the reader copy while we do. */
		if (chunk == PUBLISH_STEP) {
			atomic_store_explicit(&r->head, head,
					      memory_order_release);
			wake(&r->consumer);
		}
	}
	atomic_store_explicit(&r->head, head, memory_order_release);
	wake(&r->consumer);
}

static void ring_read(struct ring *r, uint8_t *to, size_t size, bool spin)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);

	while (size) {
		size_t ready = (size_t)(head - tail);
		size_t at = (size_t)(tail % RING_SIZE);
		size_t chunk = size;

		if (!ready) {
			head = wait_change(&r->head, head, &r->consumer, spin);
			continue;
		}
		if (chunk > ready)
			chunk = ready;
		if (chunk > RING_SIZE - at)
			chunk = RING_SIZE - at;
		memcpy(to, r->data + at, chunk);
		to += chunk;
		size -= chunk;
		tail += chunk;
		atomic_store_explicit(&r->tail, tail, memory_order_release);
		wake(&r->producer);
	}
}

static struct bench_channel *shm_create(void)
{
	struct bench_channel *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->shared = mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->shared == MAP_FAILED) {
		free(c);
		return NULL;
	}
	return c;
}

static int shm_attach(struct bench_channel *c, int side)
{
	c->out = &c->shared->rings[side];
	c->in = &c->shared->rings[!side];
	c->spin = bench_may_spin();
	return 0;
}

static int shm_send(struct bench_channel *c, const void *data, size_t size)
{
	uint32_t header = (uint32_t)size;
	const uint8_t *const parts[2] = { (const uint8_t *)&header, data };
	const size_t sizes[2] = { sizeof(header), size };

	ring_write(c->out, parts, sizes, c->spin);
	return 0;
}

static ssize_t shm_receive(struct bench_channel *c, void *buffer,
			   size_t capacity)
{
	uint32_t size;

	ring_read(c->in, (uint8_t *)&size, sizeof(size), c->spin);
	if (size > capacity)
		return -1;
	ring_read(c->in, buffer, size, c->spin);
	return size;
}

static void shm_detach(struct bench_channel *c, int side)
{
	munmap(c->shared, sizeof(struct shared));
	free(c);
}

const struct bench_transport bench_shm_futex = {
	.name = "shm-futex",
	.create = shm_create,
	.attach = shm_attach,
	.send = shm_send,
	.receive = shm_receive,
	.detach = shm_detach,
};
