// SPDX-License-Identifier: MIT
/*
 * ipcz-bench main program: runs every transport in every CPU regime and
 * prints one table.
 *
 * For each (regime, transport) the parent forks a measuring process
 * (side 0) and an echoing process (side 1), pins them, and collects the
 * measuring side's results through a pipe:
 *   - round-trip latency of 64 B and 4 KiB messages (the echo side sends
 *     each message back), median and 99th percentile;
 *   - throughput of 1 MiB messages streamed one way, until the echo side
 *     acknowledges the last one.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/bench/bench.h"

#define BULK_SIZE BENCH_BULK_SIZE
#define WARMUP 500
#define ACK_EVERY BENCH_ACK_EVERY
#define WINDOW 64		/* bulk messages in flight at most */
#define RUN_TIMEOUT_S 300

struct bench_options bench_options = { .spin_us = 50 };

static const struct bench_transport *const transports[] = {
	&bench_unix_stream,
	&bench_shm_futex,
	&bench_socket_driver,
	&bench_ipcz_socket,
	&bench_ipcz_kernel,
	&bench_ipcz_socket_wait,
	&bench_ipcz_kernel_wait,
	&bench_ipcz_socket_trap,
	&bench_ipcz_kernel_trap,
};
#define TRANSPORT_COUNT (sizeof(transports) / sizeof(transports[0]))

enum regime { SPLIT_CPUS, SAME_CPU };
static const char *const regime_names[] = { "2 CPUs", "1 CPU" };

static const size_t latency_sizes[] = { 64, 4096 };
#define SIZE_COUNT (sizeof(latency_sizes) / sizeof(latency_sizes[0]))

struct results {
	int ok;
	int reported;		/* side 0 sent these results */
	int attached;		/* side 0 could take up its end */
	double median_us[SIZE_COUNT];
	double switches_per_trip;	/* context switches, 64 B run */
	double p99_us[SIZE_COUNT];
	double mib_per_s;
};

static int round_trips = 20000;
static int portal_pairs = 100000;
static int bulk_messages = 512;

long long bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

bool bench_may_spin(void)
{
	cpu_set_t set;

	if (bench_options.spin_us <= 0 ||
	    sched_getaffinity(0, sizeof(set), &set) < 0)
		return false;
	return CPU_COUNT(&set) > 1;
}

static int pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static int compare_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/*
 * Echo side: returns each small message; acknowledges every ACK_EVERY
 * bulk messages, which keeps the sender at most WINDOW messages ahead
 * (a transport without flow control of its own, like a bare driver,
 * would otherwise queue without bound).
 */
enum bench_reply bench_echo_reply(size_t size, int *bulk_seen)
{
	if (size == 0)
		return BENCH_REPLY_STOP;
	if (size < BULK_SIZE)
		return BENCH_REPLY_ECHO;
	return ++*bulk_seen % ACK_EVERY == 0 ? BENCH_REPLY_ACK :
					       BENCH_REPLY_NONE;
}

static int serve(const struct bench_transport *t, struct bench_channel *c,
		 uint8_t *buffer)
{
	int bulk = 0;

	for (;;) {
		ssize_t n = t->receive(c, buffer, BULK_SIZE);

		if (n < 0)
			return 1;
		switch (bench_echo_reply((size_t)n, &bulk)) {
		case BENCH_REPLY_STOP:
			return 0;
		case BENCH_REPLY_ECHO:
			if (t->send(c, buffer, (size_t)n))
				return 1;
			break;
		case BENCH_REPLY_ACK:
			if (t->send(c, "k", 1))
				return 1;
			break;
		case BENCH_REPLY_NONE:
			break;
		}
	}
}

/* Round trips driven from this thread: send, then wait for the echo. */
static int ping_pong(const struct bench_transport *t, struct bench_channel *c,
		     uint8_t *buffer, size_t size, long long *samples)
{
	for (int i = -WARMUP; i < round_trips; i++) {
		long long start = bench_now_ns();

		if (t->send(c, buffer, size) ||
		    t->receive(c, buffer, BULK_SIZE) != (ssize_t)size)
			return -1;
		if (i >= 0)
			samples[i] = bench_now_ns() - start;
	}
	return 0;
}

static int measure_latency(const struct bench_transport *t,
			   struct bench_channel *c, uint8_t *buffer,
			   size_t size, double *median_us, double *p99_us)
{
	long long *samples = malloc(sizeof(long long) * (size_t)round_trips);
	int failed;

	if (!samples)
		return -1;
	memset(buffer, 0xab, size);
	failed = t->ping_pong ? t->ping_pong(c, buffer, size, WARMUP,
					     round_trips, samples) :
				ping_pong(t, c, buffer, size, samples);
	if (failed) {
		free(samples);
		return -1;
	}
	qsort(samples, (size_t)round_trips, sizeof(long long), compare_ll);
	*median_us = samples[round_trips / 2] / 1000.0;
	*p99_us = samples[(size_t)round_trips * 99 / 100] / 1000.0;
	free(samples);
	return 0;
}

static int measure_throughput(const struct bench_transport *t,
			      struct bench_channel *c, uint8_t *buffer,
			      double *mib_per_s)
{
	int acks = 0, total_acks = bulk_messages / ACK_EVERY;
	long long start;

	memset(buffer, 0x5c, BULK_SIZE);
	start = bench_now_ns();
	for (int i = 0; i < total_acks * ACK_EVERY; i++) {
		while (i - acks * ACK_EVERY >= WINDOW) {
			if (t->receive(c, buffer, BULK_SIZE) != 1)
				return -1;
			acks++;
		}
		if (t->send(c, buffer, BULK_SIZE))
			return -1;
	}
	for (; acks < total_acks; acks++) {
		if (t->receive(c, buffer, BULK_SIZE) != 1)
			return -1;
	}
	*mib_per_s = total_acks * ACK_EVERY /
		     ((bench_now_ns() - start) / 1e9);
	return 0;
}

/* Context switches of every thread of this process so far. */
static long context_switches(void)
{
	struct rusage usage;

	if (getrusage(RUSAGE_SELF, &usage) < 0)
		return 0;
	return usage.ru_nvcsw + usage.ru_nivcsw;
}

static struct results measure(const struct bench_transport *t,
			      struct bench_channel *c)
{
	struct results r = { 0 };
	uint8_t *buffer = malloc(BULK_SIZE);

	if (!buffer)
		return r;
	for (size_t s = 0; s < SIZE_COUNT; s++) {
		long before = context_switches();

		if (measure_latency(t, c, buffer, latency_sizes[s],
				    &r.median_us[s], &r.p99_us[s]))
			goto out;
		if (s == 0)
			r.switches_per_trip = (double)(context_switches() -
						       before) /
					      (round_trips + WARMUP);
	}
	if (measure_throughput(t, c, buffer, &r.mib_per_s))
		goto out;
	t->send(c, buffer, 0);
	r.ok = 1;
out:
	free(buffer);
	return r;
}

/* Runs one side in a child process; never returns. */
static void run_side(const struct bench_transport *t, struct bench_channel *c,
		     int side, int cpu, int result_fd)
{
	struct results r = { 0 };
	uint8_t *buffer;
	int status = 1;

	r.reported = 1;
	if (side == 1)
		close(result_fd);
	if (pin_to(cpu) == 0 && t->attach(c, side) == 0) {
		if (side == 0) {
			r = measure(t, c);
			r.attached = 1;
			r.reported = 1;
			status = !r.ok;
			if (write(result_fd, &r, sizeof(r)) != sizeof(r))
				status = 1;
		} else {
			buffer = malloc(BULK_SIZE);
			status = !buffer ? 1 :
				 t->serve ? t->serve(c, buffer) :
					    serve(t, c, buffer);
			free(buffer);
		}
		t->detach(c, side);
	} else if (side == 0 &&
		   write(result_fd, &r, sizeof(r)) != sizeof(r)) {
		status = 2;
	}
	_exit(status);
}

/*
 * Waits for side 0's results, for RUN_TIMEOUT_S at most, and for only a
 * few seconds more once the echo side has exited: if that was a failure,
 * side 0 may wait for it forever. Sets `*echo_side` to -1 once reaped.
 */
static bool read_results(int fd, pid_t *echo_side, struct results *r)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int limit = RUN_TIMEOUT_S;

	for (int waited = 0; waited < limit; waited++) {
		int n = poll(&p, 1, 1000);

		if (n == 1)
			return read(fd, r, sizeof(*r)) == sizeof(*r);
		if (n < 0 && errno != EINTR)
			return false;
		if (*echo_side > 0 &&
		    waitpid(*echo_side, NULL, WNOHANG) == *echo_side) {
			*echo_side = -1;
			limit = waited + 5;
		}
	}
	return false;
}

static struct results run_pair(const struct bench_transport *t,
			       enum regime regime)
{
	struct results r = { 0 };
	struct bench_channel *c;
	pid_t pids[2];
	int pipe_fds[2];

	c = t->create();
	r.reported = 1;		/* "unavailable" unless side 0 reports */
	if (!c)
		return r;
	r.reported = 0;
	if (pipe(pipe_fds) < 0) {
		t->detach(c, -1);
		return r;
	}
	for (int side = 0; side < 2; side++) {
		int cpu = regime == SPLIT_CPUS ? side : 0;

		pids[side] = fork();
		if (pids[side] == 0) {
			close(pipe_fds[0]);
			run_side(t, c, side, cpu, pipe_fds[1]);
		}
	}
	close(pipe_fds[1]);
	if (!read_results(pipe_fds[0], &pids[1], &r))
		r.ok = 0;
	close(pipe_fds[0]);
	for (int side = 0; side < 2; side++) {
		int status;

		if (pids[side] <= 0)
			continue;
		if (!r.ok)
			kill(pids[side], SIGKILL);
		waitpid(pids[side], &status, 0);
	}
	t->detach(c, -1);
	return r;
}

/* The machine's load average: other work skews every number here. */
static void print_load(const char *when)
{
	char line[128] = "";
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
	}
	printf("load average %s: %s", when, line[0] ? line : "unknown\n");
}

static void print_header(void)
{
	printf("%-8s %-16s %10s %10s %8s %10s %10s %10s\n", "regime",
	       "transport", "64B med us", "64B p99 us", "64B csw", "4K med us",
	       "4K p99 us", "1MiB MiB/s");
}

static void print_row(const char *regime, const char *name,
		      const struct results *r)
{
	if (!r->ok) {
		printf("%-8s %-16s %s\n", regime, name,
		       !r->reported ? "failed (no result; a side died or hung)" :
		       r->attached  ? "failed" :
				      "unavailable here");
		return;
	}
	printf("%-8s %-16s %10.2f %10.2f %8.2f %10.2f %10.2f %10.0f\n",
	       regime, name, r->median_us[0], r->p99_us[0],
	       r->switches_per_trip, r->median_us[1], r->p99_us[1],
	       r->mib_per_s);
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [-n round-trips] [-m 1MiB-messages] [-s spin-us]\n"
		"          [-t transport]... [-r split|same] [-p portal-pairs]\n"
		"transports:", argv0);
	for (size_t i = 0; i < TRANSPORT_COUNT; i++)
		fprintf(stderr, " %s", transports[i]->name);
	fprintf(stderr, "\n");
	exit(2);
}

int main(int argc, char **argv)
{
	bool chosen[TRANSPORT_COUNT] = { false }, any_chosen = false;
	bool regimes[2] = { true, true };
	cpu_set_t set;
	int opt;

	while ((opt = getopt(argc, argv, "n:m:s:t:r:p:h")) != -1) {
		size_t i;

		switch (opt) {
		case 'n':
			round_trips = atoi(optarg);
			break;
		case 'm':
			bulk_messages = atoi(optarg);
			break;
		case 's':
			bench_options.spin_us = atoi(optarg);
			break;
		case 't':
			for (i = 0; i < TRANSPORT_COUNT; i++) {
				if (!strcmp(optarg, transports[i]->name))
					break;
			}
			if (i == TRANSPORT_COUNT)
				usage(argv[0]);
			chosen[i] = any_chosen = true;
			break;
		case 'p':
			portal_pairs = atoi(optarg);
			break;
		case 'r':
			regimes[SPLIT_CPUS] = !strcmp(optarg, "split");
			regimes[SAME_CPU] = !strcmp(optarg, "same");
			break;
		default:
			usage(argv[0]);
		}
	}
	if (round_trips < 100 || bulk_messages < ACK_EVERY)
		usage(argv[0]);
	if (sched_getaffinity(0, sizeof(set), &set) == 0 &&
	    (!CPU_ISSET(0, &set) || !CPU_ISSET(1, &set))) {
		fprintf(stderr, "CPUs 0 and 1 are needed; one-CPU only\n");
		regimes[SPLIT_CPUS] = false;
	}

	printf("ipcz-bench: %d round trips per size, %d x 1 MiB, "
	       "spin %d us\n", round_trips, bulk_messages,
	       bench_options.spin_us);
	print_load("before");
	print_header();
	fflush(stdout);
	for (int g = 0; g < 2; g++) {
		if (!regimes[g])
			continue;
		for (size_t i = 0; i < TRANSPORT_COUNT; i++) {
			struct results r;

			if (any_chosen && !chosen[i])
				continue;
			r = run_pair(transports[i], (enum regime)g);
			print_row(regime_names[g], transports[i]->name, &r);
			fflush(stdout);
		}
	}
	if (portal_pairs > 0)
		bench_portal_pairs(portal_pairs);
	print_load("after");
	return 0;
}
