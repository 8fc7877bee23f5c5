// SPDX-License-Identifier: MIT
/*
 * B: opens a portal pair, keeps one end and sends the other to A, which
 * forwards it to C. Then B times round trips with C twice: at once, while
 * the route may still pass through A, and again once the library says the
 * route is direct. A watches its own links during the second measurement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tools/demo/demo.h"

struct role_b {
	IpczHandle node, to_a, mine;
	int sync_a;		/* the socket to A, outside ipcz */
};

static bool send_one_end(struct role_b *b)
{
	IpczHandle theirs;
	IpczResult result = ipcz.OpenPortals(b->node, IPCZ_NO_FLAGS, NULL,
					     &b->mine, &theirs);

	if (result != IPCZ_RESULT_OK)
		return demo_fail("OpenPortals(): %s",
				 demo_result_name(result));
	demo_say("opened a portal pair; sending one end to A");
	if (!demo_send(b->to_a, "portal for C", &theirs, 1)) {
		ipcz.Close(theirs, IPCZ_NO_FLAGS, NULL);
		return false;
	}
	return true;
}

/* Times round trips and reports those through A apart from direct ones. */
static bool measure(struct role_b *b, const char *when)
{
	struct demo_latency l;
	char title[128];
	int via_a;
	bool ok = demo_ping(b->mine, demo_options.round_trips, &l);

	via_a = l.count - l.direct_before;
	if (ok && via_a && l.direct_before) {
		demo_latency_report("  those begun before the route was direct",
				    l.ns, via_a);
		demo_latency_report("  those begun on the direct route",
				    l.ns + via_a, l.direct_before);
	}
	if (ok) {
		snprintf(title, sizeof(title), "%s, route %s", when,
			 !via_a ? "direct throughout" :
			 !l.direct_before ? "not direct throughout" :
					    "direct part of the time");
		demo_latency_report(title, l.ns, l.count);
	}
	free(l.ns);
	return ok;
}

/* Waits, bounded, until the library calls the route direct. */
static bool wait_direct(struct role_b *b)
{
	int64_t deadline = demo_deadline();
	bool direct = false;

	while (demo_route_direct(b->mine, &direct) && !direct) {
		if (demo_now_ns() > deadline)
			return demo_fail("route to C not direct after %d ms",
					 demo_options.timeout_ms);
		usleep(1000);
	}
	return direct && demo_route_report("after reduction", b->mine) &&
	       demo_node_report("after reduction", b->node);
}

/* C closes its end after the "bye": then nothing of ours is in flight. */
static bool wait_c_closed(struct role_b *b)
{
	IpczResult result = demo_wait_parcel(b->mine, demo_deadline());

	if (result != IPCZ_RESULT_NOT_FOUND)
		return demo_fail("C did not close its end after \"bye\": %s",
				 demo_result_name(result));
	demo_say("C closed its end; done");
	return true;
}

static bool run(struct role_b *b, int fd)
{
	if (!demo_node_connect(b->node, fd, IPCZ_CONNECT_NODE_TO_BROKER, "A",
			       &b->to_a) ||
	    !send_one_end(b))
		return false;
	if (!demo_expect(b->mine, "hello from C", 0, NULL))
		return false;
	demo_say("C answered over the portal pair");
	if (!demo_route_learn_broker(b->to_a) ||
	    !demo_route_report("when C's hello arrived", b->mine) ||
	    !demo_node_report("then", b->node) ||
	    !measure(b, "latency right after the transfer") ||
	    !demo_route_report("after that measurement", b->mine))
		return false;
	if (!wait_direct(b) || !demo_sync_send(b->sync_a, DEMO_SYNC_DIRECT))
		return false;
	/* A runs ipczctl a few times meanwhile. */
	if (!demo_sync_expect(b->sync_a, DEMO_SYNC_GO, 2) ||
	    !measure(b, "latency on the reduced route") ||
	    !demo_sync_send(b->sync_a, DEMO_SYNC_DONE) ||
	    !demo_sync_expect(b->sync_a, DEMO_SYNC_CHECKED, 2))
		return false;
	return demo_send(b->mine, "bye", NULL, 0) && wait_c_closed(b);
}

bool demo_role_b(int fd, int sync_a)
{
	struct role_b b = { .sync_a = sync_a };
	bool ok;

	if (!demo_node_up(false, &b.node))
		return false;
	ok = run(&b, fd);
	ipcz.Close(b.node, IPCZ_NO_FLAGS, NULL);
	return ok;
}
