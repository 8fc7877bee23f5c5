// SPDX-License-Identifier: MIT
/*
 * The library's view of routes and nodes. libipcz does not offer its
 * introspection entry point yet (it comes with multi-node support): until
 * it does, every question here fails with an error that says so, and the
 * demo stops at the first step that needs it.
 */
#include "tools/demo/demo.h"

static bool unsupported(void)
{
	return demo_fail("this libipcz has no introspection call yet "
			 "(route and node counts)");
}

bool demo_route_direct(IpczHandle portal, bool *direct)
{
	return unsupported();
}

bool demo_route_report(const char *when, IpczHandle portal)
{
	return unsupported();
}

long demo_node_proxies(IpczHandle node)
{
	unsupported();
	return -1;
}

bool demo_node_report(const char *when, IpczHandle node)
{
	return unsupported();
}
