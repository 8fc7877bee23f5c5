// SPDX-License-Identifier: MIT
/*
 * The library's own view of routes and nodes, from libipcz's
 * introspection call (include/ipcz/introspect.h). Node names are printed
 * as their first four bytes in hex, enough to tell the demo's three nodes
 * apart.
 *
 * A portal reports DIRECT for its own side of the route: its link is the
 * route's central link. That link may still lead to a proxy in A (the
 * other side is seen only from over there), so B and C call their route
 * direct only when, besides, the link leads to a node other than A's,
 * whose name they learn from their initial portal to A.
 */
#include <stdio.h>
#include <string.h>

#include <ipcz/introspect.h>

#include "tools/demo/demo.h"

static uint8_t broker_name[16];
static bool broker_name_known;

static void short_name(const uint8_t name[16], char out[9])
{
	snprintf(out, 9, "%02x%02x%02x%02x", name[0], name[1], name[2],
		 name[3]);
}

static bool portal_info(IpczHandle portal,
			struct ipcz_portal_route_info *info)
{
	IpczResult result;

	info->size = sizeof(*info);
	result = ipcz_introspect_portal(portal, info);
	if (result != IPCZ_RESULT_OK)
		return demo_fail("ipcz_introspect_portal(): %s",
				 demo_result_name(result));
	return true;
}

static bool node_info(IpczHandle node, struct ipcz_node_info *info)
{
	IpczResult result;

	info->size = sizeof(*info);
	result = ipcz_introspect_node(node, info);
	if (result != IPCZ_RESULT_OK)
		return demo_fail("ipcz_introspect_node(): %s",
				 demo_result_name(result));
	return true;
}

bool demo_route_learn_broker(IpczHandle to_a)
{
	struct ipcz_portal_route_info info;
	char name[9];

	if (!portal_info(to_a, &info))
		return false;
	if (!(info.flags & IPCZ_ROUTE_PEER_REMOTE) ||
	    !(info.flags & IPCZ_ROUTE_PEER_NAME_KNOWN))
		return demo_fail("A's node name is not known here (route "
				 "flags 0x%x)", info.flags);
	memcpy(broker_name, info.peer_node_name, sizeof(broker_name));
	broker_name_known = true;
	short_name(broker_name, name);
	demo_say("A's node, seen from here: %s", name);
	return true;
}

static bool leads_to_broker(const struct ipcz_portal_route_info *info)
{
	return broker_name_known && (info->flags & IPCZ_ROUTE_PEER_REMOTE) &&
	       (info->flags & IPCZ_ROUTE_PEER_NAME_KNOWN) &&
	       !memcmp(info->peer_node_name, broker_name,
		       sizeof(broker_name));
}

bool demo_route_direct(IpczHandle portal, bool *direct)
{
	struct ipcz_portal_route_info info;

	if (!portal_info(portal, &info))
		return false;
	if (!broker_name_known)
		return demo_fail("route check before A's name is known");
	*direct = (info.flags & IPCZ_ROUTE_DIRECT) &&
		  ((info.flags & IPCZ_ROUTE_PEER_LOCAL) ||
		   ((info.flags & IPCZ_ROUTE_PEER_REMOTE) &&
		    (info.flags & IPCZ_ROUTE_PEER_NAME_KNOWN) &&
		    !leads_to_broker(&info)));
	return true;
}

/* Where the portal's outward link leads. */
static void describe_peer(const struct ipcz_portal_route_info *info,
			  char *out, size_t size)
{
	char name[9];

	if (info->flags & IPCZ_ROUTE_PEER_LOCAL) {
		snprintf(out, size, "a router on this node");
	} else if (info->flags & IPCZ_ROUTE_PEER_REMOTE) {
		if (info->flags & IPCZ_ROUTE_PEER_NAME_KNOWN) {
			short_name(info->peer_node_name, name);
			snprintf(out, size, "node %s%s", name,
				 leads_to_broker(info) ? " (A)" : "");
		} else {
			snprintf(out, size, "another node");
		}
	} else {
		snprintf(out, size, "nothing (%s)",
			 info->flags & IPCZ_ROUTE_PEER_CLOSED ? "peer closed" :
			 info->flags & IPCZ_ROUTE_DISCONNECTED ?
				 "disconnected" : "not linked yet");
	}
}

bool demo_route_report(const char *when, IpczHandle portal)
{
	struct ipcz_portal_route_info info;
	char peer[64];

	if (!portal_info(portal, &info))
		return false;
	describe_peer(&info, peer, sizeof(peer));
	demo_say("route %s: this side %s, link to %s, proxies seen: %u%s",
		 when, info.flags & IPCZ_ROUTE_DIRECT ? "DIRECT" : "not direct",
		 peer, info.known_proxies,
		 info.flags & IPCZ_ROUTE_DECAYING ? ", a link decaying" : "");
	return true;
}

long demo_node_proxies(IpczHandle node)
{
	struct ipcz_node_info info;

	if (!node_info(node, &info))
		return -1;
	return (long)info.proxies;
}

bool demo_node_report(const char *when, IpczHandle node)
{
	struct ipcz_node_info info;
	char name[12];

	if (!node_info(node, &info))
		return false;
	short_name(info.name, name);
	if (!memcmp(info.name, (uint8_t[16]){ 0 }, sizeof(info.name)))
		snprintf(name, sizeof(name), "(unnamed)");
	demo_say("node %s %s: %u node links, %llu linked routers, "
		 "%llu proxies, %llu KiB of link pools", name, when,
		 info.node_links, (unsigned long long)info.linked_routers,
		 (unsigned long long)info.proxies,
		 (unsigned long long)(info.pool_bytes / 1024));
	return true;
}
