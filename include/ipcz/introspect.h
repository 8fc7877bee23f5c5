/* SPDX-License-Identifier: MIT */
/*
 * Introspection of libipcz: what a portal's route looks like and what a
 * node holds. Not part of upstream's ABI; exported by libipcz (shared and
 * static) beside IpczGetAPI. Handles are those of the same libipcz, so a
 * program must call these from the library whose IpczGetAPI it uses.
 *
 * Both structs are size-versioned: set `size` to sizeof() the struct as
 * the caller knows it. libipcz fills what fits and sets `size` to the
 * number of bytes it wrote, so fields added later are never written past
 * the caller's struct. Documentation/route-reduction.rst has the details.
 *
 *	struct ipcz_portal_route_info info = { .size = sizeof(info) };
 *	if (ipcz_introspect_portal(portal, &info) == IPCZ_RESULT_OK &&
 *	    (info.flags & IPCZ_ROUTE_DIRECT))
 *		... no proxy between this portal and its peer on this side
 */
#ifndef IPCZ_INCLUDE_IPCZ_INTROSPECT_H_
#define IPCZ_INCLUDE_IPCZ_INTROSPECT_H_

#include <stdint.h>

#include <ipcz/ipcz.h>

#if defined(__cplusplus)
extern "C" {
#endif

#define IPCZ_INTROSPECT_EXPORT __attribute__((visibility("default")))

/*
 * Route flags. DIRECT: the portal's outward link is the route's central
 * link, no link of it is decaying, and a local peer is itself a portal (no
 * proxy, no bridge). A remote peer's own side is seen from that peer's
 * portal (or from its node's `proxies`): a route is direct when both
 * portals say DIRECT. PEER_LOCAL / PEER_REMOTE: the router at the other
 * end of the outward link is on this node / on another node; neither is
 * set while the portal has no link yet (a ConnectNode portal before the
 * handshake) or after its route broke or its peer closed.
 */
#define IPCZ_ROUTE_DIRECT		(1u << 0)
#define IPCZ_ROUTE_PEER_LOCAL		(1u << 1)
#define IPCZ_ROUTE_PEER_REMOTE		(1u << 2)
#define IPCZ_ROUTE_PEER_NAME_KNOWN	(1u << 3)
#define IPCZ_ROUTE_PEER_CLOSED		(1u << 4)
#define IPCZ_ROUTE_DISCONNECTED		(1u << 5)
#define IPCZ_ROUTE_DECAYING		(1u << 6)

struct ipcz_portal_route_info {
	uint32_t size;		/* in: sizeof as the caller knows it */
	uint32_t flags;		/* IPCZ_ROUTE_* */
	/*
	 * Proxies this portal can see: one if its local peer is a proxy or
	 * a bridge, plus one if its outward link is a peripheral link to
	 * another node (the router there is a proxy). Zero for DIRECT.
	 */
	uint32_t known_proxies;
	uint32_t reserved;
	/* The node at the other end of the outward link, if remote. */
	uint8_t peer_node_name[16];
};

struct ipcz_node_info {
	uint32_t size;		/* in: sizeof as the caller knows it */
	uint32_t node_links;	/* connections to other nodes */
	/* Distinct routers of this node bound to a link to another node. */
	uint64_t linked_routers;
	/* Of those, proxies: routers left behind by a transfer, or bridges. */
	uint64_t proxies;
	/* Shared memory mapped for this node's links, in bytes. */
	uint64_t pool_bytes;
	uint8_t name[16];	/* this node's name */
};

/*
 * Fills `info` for `portal`. IPCZ_RESULT_INVALID_ARGUMENT if `portal` is
 * not a portal handle of this library, `info` is NULL or info->size is
 * below 8 (size and flags).
 */
IPCZ_INTROSPECT_EXPORT IpczResult
ipcz_introspect_portal(IpczHandle portal,
		       struct ipcz_portal_route_info *info);

/*
 * Fills `info` for `node`. IPCZ_RESULT_INVALID_ARGUMENT if `node` is not
 * a node handle of this library, `info` is NULL or info->size is below 8.
 */
IPCZ_INTROSPECT_EXPORT IpczResult
ipcz_introspect_node(IpczHandle node, struct ipcz_node_info *info);

#if defined(__cplusplus)
}
#endif

#endif
