// SPDX-License-Identifier: MIT
/*
 * libipcz between two processes: side 0 creates a broker node, side 1 a
 * node that connects to it, both on one bundled driver (socket or kernel,
 * through include/ipcz/default_driver.h), over a transport pair made
 * before the fork; messages are parcels on the first initial portal.
 * A receiver waits for a parcel by polling Get() briefly (when it may
 * spin), then installing a trap and sleeping on a futex until the trap
 * handler, on the driver's I/O thread, wakes it.
 *
 * The "-wait" rows wait with ipcz_wait_portal() (include/ipcz/wait.h)
 * instead of a trap and a futex of their own: the waiting thread delivers
 * the link's messages itself and sleeps on the shared ring, so the peer's
 * parcel wakes it directly rather than through the driver's thread.
 *
 * The "-trap" rows answer inside the trap handlers instead, as Chromium
 * uses ipcz: the handler takes the parcel, puts the reply and installs the
 * next trap, all on the I/O thread, and the application thread only waits
 * for the end of the run. That saves the hand-off to the application
 * thread: on one CPU, a context switch per message.
 */
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ipcz/default_driver.h>
#include <ipcz/ipcz.h>
#include <ipcz/wait.h>

#include "tools/bench/bench.h"

/* The state of an exchange run by trap handlers. */
struct trap_run {
	uint8_t *buffer;	/* BENCH_BULK_SIZE bytes */
	size_t size;		/* side 0: the message size */
	int next;		/* side 0: round trip in flight, from -warmup */
	int count;		/* side 0: round trips to time */
	long long *samples_ns;	/* side 0 */
	long long start_ns;	/* side 0: when the message in flight left */
	int bulk_seen;		/* side 1 */
	bool failed;
	atomic_uint done;	/* futex word: 1 once the handlers are done */
};

struct bench_channel {
	enum ipcz_driver_kind kind;
	int fds[2];
	struct IpczAPI api;
	IpczHandle node;
	IpczHandle portal;
	bool spin;
	bool blocking_wait;	/* the "-wait" rows */
	atomic_uint signal;	/* futex word, bumped by the trap handler */
	struct trap_run run;	/* the "-trap" rows only */
};

static void futex(atomic_uint *word, int op, unsigned int value)
{
	syscall(SYS_futex, word, op, value, NULL, NULL, 0);
}

static void IPCZ_API on_trap(const struct IpczTrapEvent *event)
{
	struct bench_channel *c = (struct bench_channel *)event->context;

	atomic_fetch_add(&c->signal, 1);
	futex(&c->signal, FUTEX_WAKE_PRIVATE, INT_MAX);
}

/* NULL if the driver `kind` is not usable here (no /dev/ipcz, say). */
static struct bench_channel *portal_create(enum ipcz_driver_kind kind)
{
	struct bench_channel *c = calloc(1, sizeof(*c));

	if (!c || ipcz_default_driver_kind(kind) != kind ||
	    ipcz_driver_transport_pair_fds(kind, c->fds)) {
		free(c);
		return NULL;
	}
	c->kind = kind;
	return c;
}

static struct bench_channel *portal_create_socket(void)
{
	return portal_create(IPCZ_DRIVER_SOCKET);
}

static struct bench_channel *portal_create_kernel(void)
{
	return portal_create(IPCZ_DRIVER_KERNEL);
}

static struct bench_channel *with_blocking_wait(struct bench_channel *c)
{
	if (c)
		c->blocking_wait = true;
	return c;
}

static struct bench_channel *portal_create_socket_wait(void)
{
	return with_blocking_wait(portal_create(IPCZ_DRIVER_SOCKET));
}

static struct bench_channel *portal_create_kernel_wait(void)
{
	return with_blocking_wait(portal_create(IPCZ_DRIVER_KERNEL));
}

static int portal_attach(struct bench_channel *c, int side)
{
	IpczDriverHandle transport;
	IpczResult result;

	close(c->fds[!side]);
	/* ipcz_wait_portal() spins (adaptively) before it sleeps. */
	c->spin = bench_may_spin() && !c->blocking_wait;
	c->api.size = sizeof(c->api);
	if (IpczGetAPI(&c->api) != IPCZ_RESULT_OK ||
	    c->api.CreateNode(ipcz_driver_table(c->kind),
			      side ? IPCZ_NO_FLAGS : IPCZ_CREATE_NODE_AS_BROKER,
			      NULL, &c->node) != IPCZ_RESULT_OK ||
	    ipcz_driver_transport_from_fd(c->kind, c->fds[side],
					  &transport) != IPCZ_RESULT_OK)
		return -1;
	result = c->api.ConnectNode(c->node, transport, 1,
				    side ? IPCZ_CONNECT_NODE_TO_BROKER :
					   IPCZ_NO_FLAGS,
				    NULL, &c->portal);
	if (result != IPCZ_RESULT_OK) {
		fprintf(stderr, "ipcz-%s: ConnectNode() on side %d: "
			"result %d\n", ipcz_driver_kind_name(c->kind), side,
			result);
		ipcz_driver_table(c->kind)->Close(transport, 0, NULL);
		return -1;
	}
	return 0;
}

static int portal_send(struct bench_channel *c, const void *data, size_t size)
{
	IpczResult result = c->api.Put(c->portal, data, size, NULL, 0, 0,
				       NULL);

	if (result != IPCZ_RESULT_OK)
		fprintf(stderr, "ipcz-%s: Put() of %zu bytes: result %d\n",
			ipcz_driver_kind_name(c->kind), size, result);
	return result == IPCZ_RESULT_OK ? 0 : -1;
}

/* Sleeps until a parcel is there or the peer is gone. */
static void wait_for_parcel(struct bench_channel *c)
{
	const struct IpczTrapConditions conditions = {
		.size = sizeof(conditions),
		.flags = IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS |
			 IPCZ_TRAP_PEER_CLOSED,
		.min_local_parcels = 0,
	};
	unsigned int seen = atomic_load(&c->signal);

	if (c->blocking_wait) {
		ipcz_wait_portal(c->portal, &conditions, IPCZ_WAIT_INFINITE,
				 NULL, NULL);
		return;
	}
	if (c->api.Trap(c->portal, &conditions, on_trap, (uintptr_t)c, 0,
			NULL, NULL, NULL) != IPCZ_RESULT_OK)
		return;		/* already satisfied */
	while (atomic_load(&c->signal) == seen)
		futex(&c->signal, FUTEX_WAIT_PRIVATE, seen);
}

static ssize_t portal_receive(struct bench_channel *c, void *buffer,
			      size_t capacity)
{
	long long deadline = 0;

	/* A blocking wait comes first: it returns at once if one is there. */
	if (c->blocking_wait)
		wait_for_parcel(c);
	for (;;) {
		size_t size = capacity;
		IpczResult result = c->api.Get(c->portal, 0, NULL, buffer,
					       &size, NULL, NULL, NULL);

		if (result == IPCZ_RESULT_OK)
			return (ssize_t)size;
		if (result != IPCZ_RESULT_UNAVAILABLE) {
			fprintf(stderr, "ipcz-%s: Get(): result %d\n",
				ipcz_driver_kind_name(c->kind), result);
			return -1;
		}
		if (c->spin && !deadline)
			deadline = bench_now_ns() +
				   bench_options.spin_us * 1000LL;
		if (c->spin && bench_now_ns() < deadline)
			continue;
		wait_for_parcel(c);
		deadline = 0;
	}
}

static void portal_detach(struct bench_channel *c, int side)
{
	if (side < 0) {
		close(c->fds[0]);
		close(c->fds[1]);
	} else if (c->node) {
		if (c->portal)
			c->api.Close(c->portal, 0, NULL);
		c->api.Close(c->node, 0, NULL);
	}
	free(c);
}

/* What every ipcz row shares: a portal pair over the chosen driver. */
#define PORTAL_OPS                                             \
	.attach = portal_attach, .send = portal_send,          \
	.receive = portal_receive, .detach = portal_detach

const struct bench_transport bench_ipcz_socket = {
	.name = "ipcz-socket",
	.create = portal_create_socket,
	PORTAL_OPS,
};

const struct bench_transport bench_ipcz_kernel = {
	.name = "ipcz-kernel",
	.create = portal_create_kernel,
	PORTAL_OPS,
};

const struct bench_transport bench_ipcz_socket_wait = {
	.name = "ipcz-socket-wait",
	.create = portal_create_socket_wait,
	PORTAL_OPS,
};

const struct bench_transport bench_ipcz_kernel_wait = {
	.name = "ipcz-kernel-wait",
	.create = portal_create_kernel_wait,
	PORTAL_OPS,
};

/* A parcel already queued, or -1 (none yet, peer gone, or an error). */
static ssize_t take_parcel(struct bench_channel *c, void *buffer)
{
	size_t size = BENCH_BULK_SIZE;
	IpczResult result = c->api.Get(c->portal, 0, NULL, buffer, &size,
				       NULL, NULL, NULL);

	if (result == IPCZ_RESULT_OK)
		return (ssize_t)size;
	if (result != IPCZ_RESULT_UNAVAILABLE)
		fprintf(stderr, "ipcz-%s-trap: Get(): result %d\n",
			ipcz_driver_kind_name(c->kind), result);
	return -1;
}

/*
 * Installs `handler` for the next parcel (or the peer's closure); fails
 * with IPCZ_RESULT_FAILED_PRECONDITION if that is already there.
 */
static IpczResult arm(struct bench_channel *c, IpczTrapEventHandler handler)
{
	const struct IpczTrapConditions conditions = {
		.size = sizeof(conditions),
		.flags = IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS |
			 IPCZ_TRAP_PEER_CLOSED,
		.min_local_parcels = 0,
	};

	return c->api.Trap(c->portal, &conditions, handler, (uintptr_t)c, 0,
			   NULL, NULL, NULL);
}

/* Ends the run; the handlers touch nothing of `run` afterwards. */
static void finish(struct trap_run *run, bool failed)
{
	run->failed = failed;
	atomic_store(&run->done, 1);
	futex(&run->done, FUTEX_WAKE_PRIVATE, INT_MAX);
}

static void wait_until_done(struct trap_run *run)
{
	while (!atomic_load(&run->done))
		futex(&run->done, FUTEX_WAIT_PRIVATE, 0);
}

static void IPCZ_API on_reply(const struct IpczTrapEvent *event);

/*
 * Side 0: times every reply queued, sends the next message and installs
 * the trap again. The trap goes in after Put(), so that no handler can
 * run inside Put(); a reply already there is taken by the next turn.
 */
static void ping_replies(struct bench_channel *c)
{
	struct trap_run *run = &c->run;

	do {
		ssize_t n = take_parcel(c, run->buffer);
		long long now = bench_now_ns();

		if (n != (ssize_t)run->size) {
			finish(run, true);
			return;
		}
		if (run->next >= 0)
			run->samples_ns[run->next] = now - run->start_ns;
		if (++run->next == run->count) {
			finish(run, false);
			return;
		}
		run->start_ns = bench_now_ns();
		if (portal_send(c, run->buffer, run->size)) {
			finish(run, true);
			return;
		}
	} while (arm(c, on_reply) != IPCZ_RESULT_OK);
}

static void IPCZ_API on_reply(const struct IpczTrapEvent *event)
{
	/* REMOVED: the portal is being closed, after the run. */
	if (!(event->condition_flags & IPCZ_TRAP_REMOVED))
		ping_replies((struct bench_channel *)event->context);
}

static int trap_ping_pong(struct bench_channel *c, void *buffer, size_t size,
			  int warmup, int count, long long *samples_ns)
{
	struct trap_run *run = &c->run;

	*run = (struct trap_run){
		.buffer = buffer,
		.size = size,
		.next = -warmup,
		.count = count,
		.samples_ns = samples_ns,
	};
	/* Set before Trap(), whose lock orders it before the handler. */
	run->start_ns = bench_now_ns();
	if (arm(c, on_reply) != IPCZ_RESULT_OK)
		return -1;	/* nothing may be queued between runs */
	if (portal_send(c, buffer, size))
		return -1;
	wait_until_done(run);
	return run->failed ? -1 : 0;
}

static void IPCZ_API on_request(const struct IpczTrapEvent *event);

/* Side 1: answers every parcel queued, then installs the trap again. */
static void echo_requests(struct bench_channel *c)
{
	struct trap_run *run = &c->run;

	do {
		ssize_t n = take_parcel(c, run->buffer);
		int failed = 0;

		if (n < 0) {
			finish(run, true);
			return;
		}
		switch (bench_echo_reply((size_t)n, &run->bulk_seen)) {
		case BENCH_REPLY_STOP:
			finish(run, false);
			return;
		case BENCH_REPLY_ECHO:
			failed = portal_send(c, run->buffer, (size_t)n);
			break;
		case BENCH_REPLY_ACK:
			failed = portal_send(c, "k", 1);
			break;
		case BENCH_REPLY_NONE:
			break;
		}
		if (failed) {
			finish(run, true);
			return;
		}
	} while (arm(c, on_request) != IPCZ_RESULT_OK);
}

static void IPCZ_API on_request(const struct IpczTrapEvent *event)
{
	if (!(event->condition_flags & IPCZ_TRAP_REMOVED))
		echo_requests((struct bench_channel *)event->context);
}

static int trap_serve(struct bench_channel *c, void *buffer)
{
	struct trap_run *run = &c->run;

	*run = (struct trap_run){ .buffer = buffer };
	/* Parcels that came before the first trap are answered from here. */
	if (arm(c, on_request) != IPCZ_RESULT_OK)
		echo_requests(c);
	wait_until_done(run);
	return run->failed ? 1 : 0;
}

/*
 * The 1 MiB phase of these rows streams from side 0's own thread, as in
 * ipcz-socket; only the echo side's acknowledgements come from handlers.
 */
const struct bench_transport bench_ipcz_socket_trap = {
	.name = "ipcz-socket-trap",
	.create = portal_create_socket,
	PORTAL_OPS,
	.ping_pong = trap_ping_pong,
	.serve = trap_serve,
};

const struct bench_transport bench_ipcz_kernel_trap = {
	.name = "ipcz-kernel-trap",
	.create = portal_create_kernel,
	PORTAL_OPS,
	.ping_pong = trap_ping_pong,
	.serve = trap_serve,
};
