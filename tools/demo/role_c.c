// SPDX-License-Identifier: MIT
/*
 * C: receives from A the portal that B opened, greets B through it and
 * echoes B's pings until B says "bye".
 */
#include "tools/demo/demo.h"

static bool run(IpczHandle node, int fd)
{
	IpczHandle to_a, from_b;
	bool ok;

	if (!demo_node_connect(node, fd, IPCZ_CONNECT_NODE_TO_BROKER, "A",
			       &to_a) ||
	    !demo_expect(to_a, "portal from B", 1, &from_b))
		return false;
	demo_say("received B's portal from A");
	ok = demo_route_learn_broker(to_a) &&
	     demo_route_report("on arrival", from_b) &&
	     demo_send(from_b, "hello from C", NULL, 0) &&
	     demo_echo(from_b);
	if (ok) {
		demo_say("B said bye after its measurements");
		ok = demo_route_report("at the end", from_b) &&
		     demo_node_report("at the end", node);
	}
	ipcz.Close(from_b, IPCZ_NO_FLAGS, NULL);
	return ok;
}

bool demo_role_c(int fd)
{
	IpczHandle node;
	bool ok;

	if (!demo_node_up(false, &node))
		return false;
	ok = run(node, fd);
	ipcz.Close(node, IPCZ_NO_FLAGS, NULL);
	return ok;
}
