// SPDX-License-Identifier: MIT
/*
 * ring_latency: round-trip time of a 64-byte message over two message
 * rings (ping and pong) in memory shared by two processes, in three
 * regimes: the processes pinned to separate CPUs, both pinned to one CPU,
 * and left to the scheduler. Each regime runs three wait policies:
 *
 *   adaptive  message_ring_spin() with the adaptive spin_policy, then futex
 *   sleep     no spinning: futex sleep whenever the ring is empty
 *   fixed     a fixed 50 us spin that ignores CPU sharing, then futex
 *
 * and prints the median and 99th percentile round trip, the spin outcomes
 * and the number of futex wakes (signals) per round trip.
 *
 * Usage: ring_latency [round-trips]   (default 20000)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/message_ring.h"
#include "tests/pool/pool_test_util.h"

#define RING_CAP 16384u
#define PAYLOAD 64u
#define WARMUP 1000u
#define FIXED_SPIN_NS 50000u

enum mode { ADAPTIVE, SLEEP, FIXED };

static const char *const mode_names[] = { "adaptive", "sleep", "fixed" };

/* Shared between the two processes: two rings and some counters. */
struct shared {
	struct message_ring_ctl ping_ctl;
	struct message_ring_ctl pong_ctl;
	_Atomic uint64_t signals;
	_Atomic uint64_t won, lost, skipped;
	unsigned char ping_data[RING_CAP] __attribute__((aligned(64)));
	unsigned char pong_data[RING_CAP] __attribute__((aligned(64)));
};

struct end {
	struct message_ring out, in;
	struct spin_policy policy;
	enum mode mode;
	_Atomic uint64_t *signals;
	uint64_t seq;
};

static void send_msg(struct end *e, const void *buf)
{
	e->seq++;
	while (message_ring_write(&e->out, e->seq, buf, PAYLOAD) == -EAGAIN)
		sched_yield();
	if (message_ring_should_signal(&e->out)) {
		atomic_fetch_add(e->signals, 1);
		futex_wake_u32(message_ring_state_word(&e->out));
	}
}

static bool fixed_spin(struct message_ring *ring)
{
	uint64_t start = test_now_ns();

	while (test_now_ns() - start < FIXED_SPIN_NS)
		if (message_ring_has_data(ring))
			return true;
	return false;
}

static void recv_msg(struct end *e, void *buf)
{
	struct message_ring_msg msg;

	for (;;) {
		uint64_t spun = 0, start;
		int err = message_ring_read(&e->in, &msg, buf, PAYLOAD);

		if (err == 0)
			return;
		if (err != -EAGAIN) {
			fprintf(stderr, "ring_latency: ring error %d\n", err);
			exit(1);
		}
		start = test_now_ns();
		if (e->mode == ADAPTIVE &&
		    message_ring_spin(&e->in, &e->policy, &spun))
			continue;
		if (e->mode == FIXED && fixed_spin(&e->in))
			continue;
		if (!message_ring_prepare_sleep(&e->in))
			continue;
		futex_wait_u32(message_ring_state_word(&e->in),
			       MESSAGE_RING_ASLEEP);
		message_ring_wake(&e->in);
		if (e->mode == ADAPTIVE)
			spin_policy_update(&e->policy, false, spun,
					   test_now_ns() - start);
	}
}

static void open_end(struct end *e, struct shared *sh, bool parent,
		     enum mode mode)
{
	struct message_ring_ctl *out_ctl = parent ? &sh->ping_ctl :
						    &sh->pong_ctl;
	struct message_ring_ctl *in_ctl = parent ? &sh->pong_ctl :
						   &sh->ping_ctl;

	message_ring_open(&e->out, out_ctl,
			  parent ? sh->ping_data : sh->pong_data, RING_CAP);
	message_ring_open(&e->in, in_ctl,
			  parent ? sh->pong_data : sh->ping_data, RING_CAP);
	spin_policy_init(&e->policy, 0);
	e->mode = mode;
	e->signals = &sh->signals;
	e->seq = 0;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void add_policy_stats(struct shared *sh, const struct spin_policy *p)
{
	atomic_fetch_add(&sh->won, p->spins_won);
	atomic_fetch_add(&sh->lost, p->spins_lost);
	atomic_fetch_add(&sh->skipped, p->spins_skipped);
}

static int run(struct shared *sh, enum mode mode, int parent_cpu, int child_cpu,
	       uint32_t rounds, uint64_t *rtt)
{
	unsigned char buf[PAYLOAD];
	struct end e;
	pid_t child;
	uint32_t i;

	memset(sh, 0, sizeof(*sh));
	child = fork();
	if (child < 0)
		return -1;
	if (child == 0) {
		if (child_cpu >= 0 && pin_to_cpu(child_cpu))
			_exit(2);
		open_end(&e, sh, false, mode);
		for (i = 0; i < rounds + WARMUP; i++) {
			recv_msg(&e, buf);
			send_msg(&e, buf);
		}
		add_policy_stats(sh, &e.policy);
		_exit(0);
	}
	if (parent_cpu >= 0 && pin_to_cpu(parent_cpu))
		return -1;
	open_end(&e, sh, true, mode);
	memset(buf, 0x42, sizeof(buf));
	for (i = 0; i < rounds + WARMUP; i++) {
		uint64_t t0 = test_now_ns();

		send_msg(&e, buf);
		recv_msg(&e, buf);
		if (i >= WARMUP)
			rtt[i - WARMUP] = test_now_ns() - t0;
	}
	add_policy_stats(sh, &e.policy);
	return wait_child(child);
}

int main(int argc, char **argv)
{
	uint32_t rounds = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) :
				     20000;
	struct shared *sh = shared_map(sizeof(struct shared));
	uint64_t *rtt = calloc(rounds ? rounds : 1, sizeof(*rtt));
	int ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	int regime, mode;

	if (!sh || !rtt || rounds == 0) {
		fprintf(stderr, "usage: ring_latency [round-trips > 0]\n");
		return 1;
	}
	printf("ring_latency: %u round trips of %u B, %d CPUs online\n", rounds,
	       PAYLOAD, ncpus);
	printf("%-14s %-9s %10s %10s %9s %9s %9s %8s\n", "regime", "policy",
	       "median_us", "p99_us", "spin_won", "spin_lost", "skipped",
	       "wakes/rt");
	for (regime = 0; regime < 3; regime++) {
		static const char *const regimes[] = { "separate-cpus",
						       "same-cpu", "unpinned" };
		int child_cpu = regime == 0 ? 1 : regime == 1 ? 0 : -1;
		int parent_cpu = regime == 2 ? -1 : 0;

		if (regime == 0 && ncpus < 2) {
			printf("%-14s (skipped: one CPU)\n", "separate-cpus");
			continue;
		}
		for (mode = ADAPTIVE; mode <= FIXED; mode++) {
			if (run(sh, mode, parent_cpu, child_cpu, rounds, rtt)) {
				fprintf(stderr, "ring_latency: run failed\n");
				return 1;
			}
			qsort(rtt, rounds, sizeof(*rtt), compare_u64);
			printf("%-14s %-9s %10.2f %10.2f %9llu %9llu %9llu"
			       " %8.2f\n",
			       regimes[regime], mode_names[mode],
			       rtt[rounds / 2] / 1000.0,
			       rtt[(uint64_t)rounds * 99 / 100] / 1000.0,
			       (unsigned long long)atomic_load(&sh->won),
			       (unsigned long long)atomic_load(&sh->lost),
			       (unsigned long long)atomic_load(&sh->skipped),
			       (double)atomic_load(&sh->signals) /
				       (rounds + WARMUP));
		}
	}
	return 0;
}
