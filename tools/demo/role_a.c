// SPDX-License-Identifier: MIT
/*
 * A, the broker: connected to B and to C. It receives from B one end of
 * a portal pair and forwards it to C, after which it stands in the route
 * between B and C as a proxy until route reduction takes it out. With
 * --ipczctl it also shows the module's objects, and checks that its own
 * transports stay idle while B and C exchange B's last measurement.
 */
#include <unistd.h>

#include "tools/demo/demo.h"

struct role_a {
	IpczHandle node, to_b, to_c;
	int sync_b;				/* the socket to B, outside ipcz */
	const struct demo_transports *links;	/* A-B and A-C ends */
	struct demo_transports before, after;
};

static bool forward_portal(struct role_a *a)
{
	IpczHandle moving;

	if (!demo_expect(a->to_b, "portal for C", 1, &moving))
		return false;
	demo_say("received a portal from B");
	if (!demo_node_report("holding it", a->node))
		return false;
	if (!demo_send(a->to_c, "portal from B", &moving, 1)) {
		ipcz.Close(moving, IPCZ_NO_FLAGS, NULL);
		return false;
	}
	demo_say("forwarded it to C");
	return demo_node_report("right after forwarding", a->node);
}

/* Waits, bounded, until no router of A's is a proxy any more. */
static bool wait_proxies_gone(struct role_a *a)
{
	int64_t deadline = demo_deadline();
	long proxies;

	while ((proxies = demo_node_proxies(a->node)) != 0) {
		if (proxies < 0)
			return false;
		if (demo_now_ns() > deadline)
			return demo_fail("still %ld prox%s after %d ms",
					 proxies, proxies == 1 ? "y" : "ies",
					 demo_options.timeout_ms);
		usleep(1000);
	}
	return demo_node_report("after route reduction", a->node);
}

static bool show_kernel_objects(struct role_a *a)
{
	if (!demo_options.ipczctl)
		return true;
	demo_say("the module's objects now (ipczctl):");
	return demo_ipczctl_show("node") && demo_ipczctl_show("transport") &&
	       demo_ipczctl_show("region") &&
	       demo_ipczctl_transports(&a->before);
}

static bool check_links_idle(struct role_a *a)
{
	if (!demo_options.ipczctl)
		return true;
	if (!demo_ipczctl_transports(&a->after))
		return false;
	demo_say("transport counters over B and C's measurement:");
	if (!demo_ipczctl_compare(a->links, &a->before, &a->after))
		return demo_fail("a transport of A moved during B-C traffic");
	demo_say("no transport of A's links to B and C moved: "
		 "B-C traffic does not pass through A");
	return true;
}

/* Waits until B and C have closed their ends of A's links. */
static bool wait_peers_closed(struct role_a *a)
{
	IpczResult b = demo_wait_parcel(a->to_b, demo_deadline());
	IpczResult c = demo_wait_parcel(a->to_c, demo_deadline());

	if (b != IPCZ_RESULT_NOT_FOUND || c != IPCZ_RESULT_NOT_FOUND)
		return demo_fail("B, C did not close their links to A "
				 "(%s, %s)", demo_result_name(b),
				 demo_result_name(c));
	demo_say("B and C closed their links; done");
	return true;
}

static bool run(struct role_a *a, int fd_b, int fd_c)
{
	if (!demo_node_connect(a->node, fd_b, IPCZ_NO_FLAGS, "B", &a->to_b) ||
	    !demo_node_connect(a->node, fd_c, IPCZ_NO_FLAGS, "C", &a->to_c))
		return false;
	if (!forward_portal(a) || !wait_proxies_gone(a))
		return false;
	/* B measures, then waits for its route to be direct. */
	if (!demo_sync_expect(a->sync_b, DEMO_SYNC_DIRECT, 3))
		return false;
	demo_say("B reports its route to C is direct");
	if (!show_kernel_objects(a) ||
	    !demo_sync_send(a->sync_b, DEMO_SYNC_GO) ||
	    !demo_sync_expect(a->sync_b, DEMO_SYNC_DONE, 2) ||
	    !check_links_idle(a) ||
	    !demo_sync_send(a->sync_b, DEMO_SYNC_CHECKED))
		return false;
	return wait_peers_closed(a);
}

bool demo_role_a(int fd_b, int fd_c, int sync_b,
		 const struct demo_transports *links)
{
	struct role_a a = { .links = links, .sync_b = sync_b };
	bool ok;

	if (!demo_node_up(true, &a.node))
		return false;
	ok = run(&a, fd_b, fd_c);
	/* Closing the node closes every portal and link it still has. */
	ipcz.Close(a.node, IPCZ_NO_FLAGS, NULL);
	return ok;
}
