/* SPDX-License-Identifier: MIT */
/*
 * A node link: this node's connection to one other node over a driver
 * transport, made by ConnectNode(). It carries any number of routes, each
 * on its own sublink: sublinks 0 to n-1 join the initial portals, and each
 * portal sent to the other node opens a new one.
 *
 * A node link is a direct connection between a broker and a non-broker,
 * between two brokers, between a non-broker sharing its broker and one
 * inheriting it, or between two non-brokers the broker introduced (for a
 * proxy bypass: Documentation/route-reduction.rst). Messages go through
 * the link's shared pool or the driver's Transmit().
 *
 * The node link is the listener of its transport: its handle in the
 * handle table is what the driver passes back with every notification, so
 * a notification for a link that is gone is refused rather than followed.
 */
#ifndef IPCZ_LIB_NODE_LINK_H
#define IPCZ_LIB_NODE_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/api_object.h"
#include "lib/router_link.h"

struct node;
struct node_link;
struct parcel;
struct router;

/*
 * ConnectNode() once its arguments are checked: creates the link and the
 * initial portals (written to `portals`), activates the transport and
 * starts the handshake. Parcels put into the portals before it completes
 * wait in them.
 */
IpczResult node_link_connect(struct node *node, IpczDriverHandle transport,
			     IpczConnectNodeFlags flags, size_t num_portals,
			     IpczHandle *portals);

/*
 * Whether the non-broker `node` already has a broker: a live link made
 * with IPCZ_CONNECT_NODE_TO_BROKER or IPCZ_CONNECT_NODE_INHERIT_BROKER,
 * connected or still connecting. Always false on a broker.
 */
bool node_link_has_broker(struct node *node);

static inline void node_link_ref(struct node_link *link)
{
	api_object_ref((struct api_object *)link);
}

static inline void node_link_unref(struct node_link *link)
{
	api_object_unref((struct api_object *)link);
}

/* Called by api_object_unref() with the last reference. */
void node_link_destroy(struct node_link *link);

/*
 * Sends a parcel, a closure or a disconnection on `sublink`; a parcel is
 * taken with what it carries. If the driver refuses the message the link
 * is dropped (see node_link.c).
 */
void node_link_send_parcel(struct node_link *link, enum op_context ctx,
			   uint64_t sublink, struct parcel *parcel);
void node_link_send_route_closed(struct node_link *link, enum op_context ctx,
				 uint64_t sublink, uint64_t length);
void node_link_send_route_disconnected(struct node_link *link,
				       enum op_context ctx, uint64_t sublink);
void node_link_send_stop_proxying(struct node_link *link, enum op_context ctx,
				  uint64_t sublink, uint64_t inbound_cut,
				  uint64_t outbound_cut);

/* Forgets the route on `sublink` if `router_link` is still its link. */
void node_link_remove_route(struct node_link *link, uint64_t sublink,
			    struct router_link *router_link);

/*
 * Drops the connection: every route through it is disconnected and the
 * transport deactivated (node closure, transport errors, bad messages).
 */
void node_link_disconnect(struct node_link *link, enum op_context ctx);

/*
 * An application thread waiting on a portal of this link delivers the
 * link's messages and sleeps on its ring (node_link_memory_wait()), until
 * `*word` differs from `seen` or `deadline_ns`. A link that breaks
 * meanwhile is dropped, as on the driver's thread.
 */
void node_link_wait(struct node_link *link, _Atomic uint32_t *word,
		    uint32_t seen, uint64_t deadline_ns);

/* node_link_wait()'s drain alone, without a sleep. */
void node_link_drain_now(struct node_link *link);

/* Reject(): tells the driver that `context` came from a bad transport. */
IpczResult node_link_report_bad_activity(struct node_link *link,
					 uintptr_t context);

/*
 * Introspection: the other node's name (false while unknown), and new
 * references to the routers bound to the link (in a malloc'ed array the
 * caller frees; a router bound twice is listed twice).
 */
bool node_link_remote_name(struct node_link *link, uint8_t name[16]);
size_t node_link_collect_routers(struct node_link *link,
				 struct router ***routers);
size_t node_link_pool_bytes(struct node_link *link);

/*
 * For the bypass protocol (lib/router_bypass.c): a new sublink number of
 * this side, registering a route, this side of the link, whether a
 * sublink number is one the other side may have allocated, another link
 * of the same node to the node named `name` (a new reference, or NULL),
 * and sending a bypass message.
 */
struct bypass_message;
uint64_t node_link_allocate_sublink(struct node_link *link);
bool node_link_add_route(struct node_link *link, uint64_t sublink,
			 struct router *router, struct router_link *router_link);
enum link_side node_link_side(struct node_link *link);
bool node_link_valid_peer_sublink(struct node_link *link, uint64_t sublink);
struct node_link *node_link_find_sibling(struct node_link *link,
					 const uint8_t name[16]);
/* The router bound to `sublink` with a link of `type`, and that link. */
struct router *node_link_route(struct node_link *link, uint64_t sublink,
			       enum link_type type,
			       struct router_link **router_link);
void node_link_send_bypass(struct node_link *link, enum op_context ctx,
			   uint64_t sublink,
			   const struct bypass_message *bypass);

/*
 * A bypass request over `waiter` (a central link to the proxy) was
 * declined because this node has no link to the node named `name`: asks
 * the broker to introduce the two (once per name), and sends the proxy
 * BYPASS_RETRY over `waiter` when the new link is connected. Nothing
 * happens on a node without a broker link, or if the broker refuses: the
 * route keeps its proxy.
 */
void node_link_request_introduction(struct node_link *link,
				    enum op_context ctx,
				    const uint8_t name[16],
				    struct router_link *waiter);

#endif
