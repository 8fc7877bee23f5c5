// SPDX-License-Identifier: MIT
/*
 * libipcz between two processes: side 0 creates a broker node, side 1 a
 * node that connects to it, both on one bundled driver (socket or kernel,
 * through include/ipcz/default_driver.h), over a transport pair made
 * before the fork; messages are parcels on the first initial portal.
 * A receiver waits for a parcel by polling Get() briefly (when it may
 * spin), then installing a trap and sleeping on a futex until the trap
 * handler, on the driver's I/O thread, wakes it.
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

#include "tools/bench/bench.h"

struct bench_channel {
	enum ipcz_driver_kind kind;
	int fds[2];
	struct IpczAPI api;
	IpczHandle node;
	IpczHandle portal;
	bool spin;
	atomic_uint signal;	/* futex word, bumped by the trap handler */
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

static int portal_attach(struct bench_channel *c, int side)
{
	IpczDriverHandle transport;
	IpczResult result;

	close(c->fds[!side]);
	c->spin = bench_may_spin();
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

const struct bench_transport bench_ipcz_socket = {
	.name = "ipcz-socket",
	.create = portal_create_socket,
	.attach = portal_attach,
	.send = portal_send,
	.receive = portal_receive,
	.detach = portal_detach,
};

const struct bench_transport bench_ipcz_kernel = {
	.name = "ipcz-kernel",
	.create = portal_create_kernel,
	.attach = portal_attach,
	.send = portal_send,
	.receive = portal_receive,
	.detach = portal_detach,
};
