// SPDX-License-Identifier: MIT
/*
 * Portal pairs: the time and memory it takes to open many portal pairs,
 * within one node, and across two nodes in two processes (libipcz over
 * each bundled driver usable here), where one portal of each pair is sent
 * to the other node. Memory is the growth of the malloc heap (mallinfo2) and of the
 * resident set, per pair, on each side.
 */
#include <limits.h>
#include <linux/futex.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcz/default_driver.h>
#include <ipcz/ipcz.h>
#include <ipcz/socket_driver.h>

#include "tools/bench/bench.h"

#define BATCH 500		/* portals per parcel when sending them */
#define TIMEOUT_S 300

struct usage {
	long long heap;
	long long rss;
};

struct portal_results {
	int ok;
	int connected;
	double seconds;
	struct usage growth[2];	/* per side */
};

static struct usage usage_now(void)
{
	struct mallinfo2 m = mallinfo2();
	struct usage u = { (long long)(m.uordblks + m.hblkhd), 0 };
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	u.rss = (long long)resident * sysconf(_SC_PAGESIZE);
	return u;
}

static struct usage usage_since(struct usage before)
{
	struct usage now = usage_now();

	return (struct usage){ now.heap - before.heap, now.rss - before.rss };
}

static bool get_api(struct IpczAPI *api)
{
	api->size = sizeof(*api);
	return IpczGetAPI(api) == IPCZ_RESULT_OK;
}

static struct portal_results open_in_one_node(int count)
{
	struct portal_results r = { 0 };
	IpczHandle node, *portals = calloc(2 * (size_t)count,
					   sizeof(IpczHandle));
	struct IpczAPI api;
	struct usage before;
	long long start;
	int opened = 0;

	if (!portals || !get_api(&api) ||
	    api.CreateNode(ipcz_socket_driver(), IPCZ_CREATE_NODE_AS_BROKER,
			   NULL, &node) != IPCZ_RESULT_OK) {
		free(portals);
		return r;
	}
	r.connected = 1;
	before = usage_now();
	start = bench_now_ns();
	for (; opened < count; opened++) {
		if (api.OpenPortals(node, 0, NULL, &portals[2 * opened],
				    &portals[2 * opened + 1]) != IPCZ_RESULT_OK)
			break;
	}
	r.seconds = (bench_now_ns() - start) / 1e9;
	r.growth[0] = usage_since(before);
	r.ok = opened == count;
	for (int i = 0; i < 2 * opened; i++)
		api.Close(portals[i], 0, NULL);
	api.Close(node, 0, NULL);
	free(portals);
	return r;
}

/* One side of the two-node run, in its own process. */
struct side {
	struct IpczAPI api;
	IpczHandle node;
	IpczHandle portal;
	atomic_uint signal;
};

static void IPCZ_API wake_side(const struct IpczTrapEvent *event)
{
	struct side *s = (struct side *)event->context;

	atomic_fetch_add(&s->signal, 1);
	syscall(SYS_futex, &s->signal, FUTEX_WAKE_PRIVATE, INT_MAX, NULL,
		NULL, 0);
}

/* Gets the next parcel, sleeping until there is one. */
static IpczResult get_parcel(struct side *s, void *data, size_t *num_bytes,
			     IpczHandle *handles, size_t *num_handles)
{
	const struct IpczTrapConditions conditions = {
		.size = sizeof(conditions),
		.flags = IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS |
			 IPCZ_TRAP_PEER_CLOSED,
	};
	size_t byte_capacity = *num_bytes, handle_capacity = *num_handles;

	for (;;) {
		unsigned int seen = atomic_load(&s->signal);
		IpczResult result;

		*num_bytes = byte_capacity;
		*num_handles = handle_capacity;
		result = s->api.Get(s->portal, 0, NULL, data, num_bytes,
				    handles, num_handles, NULL);
		if (result != IPCZ_RESULT_UNAVAILABLE)
			return result;
		if (s->api.Trap(s->portal, &conditions, wake_side,
				(uintptr_t)s, 0, NULL, NULL, NULL) !=
		    IPCZ_RESULT_OK)
			continue;
		while (atomic_load(&s->signal) == seen)
			syscall(SYS_futex, &s->signal, FUTEX_WAIT_PRIVATE,
				seen, NULL, NULL, 0);
	}
}

static bool connect_side(struct side *s, enum ipcz_driver_kind kind, int fd,
			 int side)
{
	IpczDriverHandle transport;

	if (!get_api(&s->api) ||
	    s->api.CreateNode(ipcz_driver_table(kind),
			      side ? IPCZ_NO_FLAGS : IPCZ_CREATE_NODE_AS_BROKER,
			      NULL, &s->node) != IPCZ_RESULT_OK ||
	    ipcz_driver_transport_from_fd(kind, fd, &transport) !=
		    IPCZ_RESULT_OK)
		return false;
	return s->api.ConnectNode(s->node, transport, 1,
				  side ? IPCZ_CONNECT_NODE_TO_BROKER :
					 IPCZ_NO_FLAGS,
				  NULL, &s->portal) == IPCZ_RESULT_OK;
}

/* Side 0: opens the pairs and sends one portal of each across. */
static void sender(struct side *s, int count, struct portal_results *r)
{
	IpczHandle *kept = calloc((size_t)count, sizeof(IpczHandle));
	IpczHandle batch[BATCH];
	struct usage before = usage_now();
	long long start = bench_now_ns();
	size_t num_bytes = sizeof(r->growth[1]), num_handles = 0;

	if (!kept)
		return;
	for (int i = 0; i < count;) {
		int n = count - i < BATCH ? count - i : BATCH;

		for (int k = 0; k < n; k++, i++) {
			if (s->api.OpenPortals(s->node, 0, NULL, &kept[i],
					       &batch[k]) != IPCZ_RESULT_OK)
				return;
		}
		if (s->api.Put(s->portal, NULL, 0, batch, (size_t)n, 0,
			       NULL) != IPCZ_RESULT_OK)
			return;
	}
	/* The receiver answers with its own growth once it has them all. */
	if (get_parcel(s, &r->growth[1], &num_bytes, NULL, &num_handles) !=
		    IPCZ_RESULT_OK ||
	    num_bytes != sizeof(r->growth[1]))
		return;
	r->seconds = (bench_now_ns() - start) / 1e9;
	r->growth[0] = usage_since(before);
	r->ok = 1;
}

/* Side 1: takes every portal, then reports its growth. */
static int receiver(struct side *s, int count)
{
	IpczHandle *portals = calloc((size_t)count, sizeof(IpczHandle));
	struct usage before = usage_now(), growth;
	int received = 0;

	if (!portals)
		return 1;
	while (received < count) {
		size_t num_bytes = 0, num_handles = (size_t)(count - received);

		if (get_parcel(s, NULL, &num_bytes, portals + received,
			       &num_handles) != IPCZ_RESULT_OK)
			return 1;
		received += (int)num_handles;
	}
	growth = usage_since(before);
	return s->api.Put(s->portal, &growth, sizeof(growth), NULL, 0, 0,
			  NULL) != IPCZ_RESULT_OK;
}

static void run_two_node_side(enum ipcz_driver_kind kind, int fd, int side,
			      int count, int result_fd)
{
	struct portal_results r = { 0 };
	struct side s = { 0 };
	int status = 1;

	if (connect_side(&s, kind, fd, side)) {
		r.connected = 1;
		if (side == 0)
			sender(&s, count, &r);
		else
			status = receiver(&s, count);
	}
	if (side == 0)
		status = write(result_fd, &r, sizeof(r)) != sizeof(r) || !r.ok;
	_exit(status);
}

/* r.ok and r.connected stay 0 if the driver cannot run here. */
static struct portal_results open_across_two_nodes(enum ipcz_driver_kind kind,
						   int count)
{
	struct portal_results r = { 0 };
	struct pollfd p;
	int fds[2], pipe_fds[2];
	pid_t pids[2];

	if (ipcz_default_driver_kind(kind) != kind ||
	    ipcz_driver_transport_pair_fds(kind, fds))
		return r;
	if (pipe(pipe_fds)) {
		close(fds[0]);
		close(fds[1]);
		return r;
	}
	for (int side = 0; side < 2; side++) {
		pids[side] = fork();
		if (pids[side] == 0) {
			close(fds[!side]);
			close(pipe_fds[0]);
			run_two_node_side(kind, fds[side], side, count,
					  pipe_fds[1]);
		}
	}
	close(fds[0]);
	close(fds[1]);
	close(pipe_fds[1]);
	p = (struct pollfd){ .fd = pipe_fds[0], .events = POLLIN };
	if (poll(&p, 1, TIMEOUT_S * 1000) != 1 ||
	    read(pipe_fds[0], &r, sizeof(r)) != sizeof(r))
		r.ok = 0;
	close(pipe_fds[0]);
	for (int side = 0; side < 2; side++) {
		if (!r.ok)
			kill(pids[side], SIGKILL);
		waitpid(pids[side], NULL, 0);
	}
	return r;
}

static void print_portal_row(const char *where, int count,
			     const struct portal_results *r, int sides)
{
	if (!r->ok) {
		printf("%-18s %s\n", where,
		       r->connected ? "failed" : "unavailable here");
		return;
	}
	printf("%-18s %10.1f %12.0f %12.0f", where, r->seconds * 1e3,
	       (double)r->growth[0].heap / count,
	       (double)r->growth[0].rss / count);
	if (sides == 2)
		printf(" %12.0f %12.0f", (double)r->growth[1].heap / count,
		       (double)r->growth[1].rss / count);
	printf("\n");
}

void bench_portal_pairs(int count)
{
	struct portal_results r;

	printf("\nportal pairs: %d, bytes per pair on each node\n", count);
	printf("%-18s %10s %12s %12s %12s %12s\n", "where", "time ms",
	       "heap node0", "RSS node0", "heap node1", "RSS node1");
	fflush(stdout);
	r = open_in_one_node(count);
	print_portal_row("1 node", count, &r, 1);
	fflush(stdout);
	r = open_across_two_nodes(IPCZ_DRIVER_SOCKET, count);
	print_portal_row("2 nodes (socket)", count, &r, 2);
	fflush(stdout);
	r = open_across_two_nodes(IPCZ_DRIVER_KERNEL, count);
	print_portal_row("2 nodes (kernel)", count, &r, 2);
	fflush(stdout);
}
