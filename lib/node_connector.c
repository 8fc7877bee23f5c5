// SPDX-License-Identifier: MIT
/*
 * The handshake of a node link: each side's CONNECT message, the check that
 * the two sides' roles (broker, non-broker, referrer, introduced) fit, and
 * the adoption of the pool's primary buffer and the initial portals.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/box.h"
#include "lib/driver.h"
#include "lib/handle_table.h"
#include "lib/lock.h"
#include "lib/node.h"
#include "lib/node_link_internal.h"
#include "lib/node_link_memory.h"
#include "lib/node_message.h"
#include "lib/parcel.h"
#include "lib/parcel_wrapper.h"
#include "lib/remote_router_link.h"
#include "lib/router.h"
#include "lib/router_bypass.h"
#include "lib/sublink_map.h"

static struct msg_connect connect_message(struct node_link *link)
{
	struct msg_connect message = {
		.header = { .size = sizeof(message), .type = MSG_CONNECT },
		.flags = link->flags,
		.is_broker = link->node->is_broker,
		.introduced = link->introduced,
		.introducer_pool = link->pool_from_introducer,
		.num_initial_portals = link->num_portals,
	};

	/* A non-broker's name changes when it starts over (node.c). */
	ipcz_lock(&link->node->lock);
	memcpy(message.name, link->node->name, sizeof(message.name));
	ipcz_unlock(&link->node->lock);
	return message;
}

void node_link_build_connect(struct node_link *link, IpczDriverHandle shared,
			     struct message_builder *b)
{
	struct msg_connect message = connect_message(link);

	message_builder_append(b, &message, sizeof(message));
	/*
	 * A buffer the transport will not carry (the driver refuses memory
	 * between these two nodes) would leave the peer without the pool
	 * this side writes to: the link goes without one.
	 */
	if (shared != IPCZ_INVALID_DRIVER_HANDLE) {
		IpczDriverHandle transport = node_link_hold_transport(link);

		if (!node_link_memory_serialize(node_link_driver(link), shared,
						transport, b))
			node_link_memory_discard_primary(&link->memory);
		node_link_release_transport(link);
	}
	node_link_set_header(b, MSG_CONNECT);
}

void node_link_send_connect(struct node_link *link, IpczDriverHandle shared,
			    enum op_context ctx)
{
	struct message_builder b;

	message_builder_init(&b);
	node_link_build_connect(link, shared, &b);
	node_link_transmit(link, &b, ctx);
	message_builder_free(&b);
}

/*
 * The pairs this stage connects: a broker (no flags) with a non-broker
 * connecting TO_BROKER; two brokers that both connect TO_BROKER; and a
 * non-broker sharing its broker (SHARE_BROKER) with one inheriting it
 * (INHERIT_BROKER). The side of the link (which half of the sublink
 * numbers each end uses) follows: the broker, the broker with the greater
 * name, or the referrer is side A.
 *
 * A referral joins referrer and referred node directly, and the referred
 * node reaches the rest of the broker's network through the referrer (its
 * routes run through proxies there). Upstream instead hands the transport
 * to the broker, which introduces the two; that, and links from the
 * referred node to the broker and to others, come with introductions.
 */
static bool roles_match(struct node_link *link,
			const struct msg_connect *remote, uint8_t *side)
{
	const bool local_broker = link->node->is_broker;
	const bool local_to_broker = link->flags & IPCZ_CONNECT_NODE_TO_BROKER;
	const bool remote_to_broker = remote->flags &
				      IPCZ_CONNECT_NODE_TO_BROKER;
	int order;

	if (remote->is_broker > 1 || remote->introduced > 1 ||
	    remote->introducer_pool > 1 || remote->reserved)
		return false;
	/* An introduced link joins the two nodes the broker named. */
	if (link->introduced) {
		*side = link->side;
		return remote->introduced &&
		       memcmp(remote->name, link->remote_name,
			      sizeof(remote->name)) == 0;
	}
	if (remote->introduced)
		return false;
	if (link->flags & IPCZ_CONNECT_NODE_SHARE_BROKER) {
		*side = LINK_SIDE_A;
		return !remote->is_broker &&
		       (remote->flags & IPCZ_CONNECT_NODE_INHERIT_BROKER);
	}
	if (link->flags & IPCZ_CONNECT_NODE_INHERIT_BROKER) {
		*side = LINK_SIDE_B;
		return !remote->is_broker &&
		       (remote->flags & IPCZ_CONNECT_NODE_SHARE_BROKER);
	}
	if (local_broker && remote->is_broker) {
		order = memcmp(link->node->name, remote->name,
			       sizeof(remote->name));
		*side = order > 0 ? LINK_SIDE_A : LINK_SIDE_B;
		return local_to_broker && remote_to_broker && order != 0;
	}
	if (local_broker) {
		*side = LINK_SIDE_A;
		return !local_to_broker && remote_to_broker;
	}
	*side = LINK_SIDE_B;
	return local_to_broker && remote->is_broker && !remote_to_broker;
}

/*
 * Whether `other` is an older, live link of the same node to the broker
 * `link` now connected; the caller holds the node's lock.
 */
static bool is_older_broker_link(struct node_link *other,
				 struct node_link *link)
{
	bool same;

	if (other == link)
		return false;
	ipcz_lock(&other->lock);
	same = other->state == LINK_CONNECTED && !other->introduced &&
	       (other->remote_flags & IPCZ_CONNECT_NODE_TO_BROKER) &&
	       (other->flags & IPCZ_CONNECT_NODE_TO_BROKER) &&
	       memcmp(other->remote_name, link->remote_name,
		      sizeof(link->remote_name)) == 0;
	ipcz_unlock(&other->lock);
	return same;
}

/*
 * Two brokers connecting again replace their old connection, as upstream
 * does for any new connection to a node already linked: the old link is
 * dropped and the routes over it see their peer closed. (Non-brokers
 * reconnecting to their broker start over before connecting: node.c.)
 */
static void replace_older_broker_links(struct node_link *link)
{
	struct node *node = link->node;
	struct node_link **older;
	size_t count = 0, i;

	ipcz_lock(&node->lock);
	older = calloc(node->num_links ? node->num_links : 1,
		       sizeof(*older));
	for (i = 0; older && i < node->num_links; i++) {
		if (is_older_broker_link(node->links[i], link)) {
			node_link_ref(node->links[i]);
			older[count++] = node->links[i];
		}
	}
	ipcz_unlock(&node->lock);
	for (i = 0; i < count; i++) {
		node_link_disconnect(older[i], OP_TRANSPORT);
		node_link_unref(older[i]);
	}
	free(older);
}

static IpczResult accept_introducer_pool(struct node_link *link,
					 const struct msg_connect *message,
					 size_t num_bytes, size_t num_handles,
					 uint8_t side, IpczDriverHandle memory);
static IpczResult join_portals(struct node_link *link, struct router **initial,
			       uint32_t count, uint32_t remote_count,
			       uint8_t side);

/*
 * The handshake may carry one driver object: the primary buffer of the
 * link's pool, from a node that may be side A (see node_link_connect()).
 */
IpczResult node_link_accept_connect(struct node_link *link,
				    const uint8_t *bytes, size_t num_bytes,
				    const IpczDriverHandle *handles,
				    size_t num_handles, size_t *claimed)
{
	struct msg_connect message;
	struct router **initial;
	uint32_t count;
	uint8_t side = LINK_SIDE_A;
	IpczDriverHandle memory, introducer_memory;
	IpczResult result;

	if (!node_message_check(bytes, num_bytes, sizeof(message)) ||
	    num_bytes - sizeof(message) > NODE_LINK_MEMORY_MAX_SERIALIZED ||
	    num_handles > NODE_LINK_MEMORY_MAX_HANDLES)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memcpy(&message, bytes, sizeof(message));
	/*
	 * A broker's non-brokers must have names of their own: they are how
	 * introductions find them.
	 */
	if (!node_link_valid_peer_name(link->node, message.name) ||
	    (link->node->is_broker && !message.is_broker &&
	     !link->introduced && node_link_exists(link->node, message.name)))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	ipcz_lock(&link->lock);
	if (link->state != LINK_CONNECTING || !roles_match(link, &message,
							   &side)) {
		ipcz_unlock(&link->lock);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	link->state = LINK_CONNECTED;
	link->side = side;
	memcpy(link->remote_name, message.name, sizeof(link->remote_name));
	link->remote_flags = message.flags;
	initial = link->initial;
	count = link->num_initial;
	link->initial = NULL;
	link->num_initial = 0;
	ipcz_unlock(&link->lock);

	/* The pool is ready before any route can send through it. */
	ipcz_lock(&link->lock);
	introducer_memory = link->introducer_memory;
	link->introducer_memory = IPCZ_INVALID_DRIVER_HANDLE;
	ipcz_unlock(&link->lock);
	if (message.introducer_pool && link->introduced && !count) {
		free(initial);
		return accept_introducer_pool(link, &message, num_bytes,
					      num_handles, side,
					      introducer_memory);
	}
	if (message.introducer_pool) {
		/* Only side A of an introduced link may say that. */
		driver_close_object(node_link_driver(link), introducer_memory);
		ipcz_lock(&link->lock);
		link->initial = initial;
		link->num_initial = count;
		ipcz_unlock(&link->lock);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	driver_close_object(node_link_driver(link), introducer_memory);
	memory = node_link_memory_deserialize(
		node_link_driver(link), bytes + sizeof(message),
		num_bytes - sizeof(message), handles, num_handles,
		link->transport);
	result = IPCZ_RESULT_INVALID_ARGUMENT;
	if (memory != IPCZ_INVALID_DRIVER_HANDLE ||
	    (num_bytes == sizeof(message) && !num_handles)) {
		*claimed = num_handles;
		result = node_link_memory_open(&link->memory,
					       side == LINK_SIDE_A, memory,
					       link->node->memory_flags);
	}
	if (result != IPCZ_RESULT_OK) {
		/* Routes were not joined yet: give the portals back. */
		ipcz_lock(&link->lock);
		link->initial = initial;
		link->num_initial = count;
		ipcz_unlock(&link->lock);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	if (link->node->is_broker && message.is_broker)
		replace_older_broker_links(link);
	return join_portals(link, initial, count, message.num_initial_portals,
			    side);
}

/*
 * Side A of an introduced link uses the buffer the broker gave both
 * sides: side B (this side) opens its copy; side A sends no buffer. A
 * side A claiming that, or a side B that got no copy, is refused. Only
 * introduced links, which have no initial portals, get here.
 */
static IpczResult accept_introducer_pool(struct node_link *link,
					 const struct msg_connect *message,
					 size_t num_bytes, size_t num_handles,
					 uint8_t side, IpczDriverHandle memory)
{
	if (!link->introduced || side != LINK_SIDE_B ||
	    num_bytes != sizeof(*message) || num_handles ||
	    memory == IPCZ_INVALID_DRIVER_HANDLE) {
		driver_close_object(node_link_driver(link), memory);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	if (node_link_memory_open(&link->memory, false, memory,
				  link->node->memory_flags) != IPCZ_RESULT_OK)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	node_link_introduction_complete(link);
	return IPCZ_RESULT_OK;
}

/* Portals both sides asked for are joined; the rest see closure. */
static IpczResult join_portals(struct node_link *link, struct router **initial,
			       uint32_t count, uint32_t remote_count,
			       uint8_t side)
{
	uint32_t linked = count < remote_count ? count : remote_count;
	uint32_t i;

	for (i = 0; i < count; i++) {
		struct router_link *router_link = NULL;

		if (i < linked)
			router_link = remote_router_link_create(
				link, i, LINK_CENTRAL, side);
		if (router_link &&
		    node_link_add_route(link, i, initial[i], router_link))
			router_set_outward_link(initial[i], OP_TRANSPORT,
						router_link);
		else if (router_link)
			router_link_unref(router_link);
		if (i >= linked)
			router_accept_route_closure(initial[i], OP_TRANSPORT,
						    LINK_CENTRAL, 0);
		else if (!router_link)
			router_accept_route_disconnected(initial[i],
							 OP_TRANSPORT,
							 LINK_CENTRAL);
		router_unref(initial[i]);
	}
	free(initial);
	if (link->introduced)
		node_link_introduction_complete(link);
	return IPCZ_RESULT_OK;
}

/*
 * A link that gives this node its broker. Introduced links also carry the
 * broker's flags of the node that asked, so they are left out.
 */
static bool gives_broker(struct node_link *link)
{
	const IpczConnectNodeFlags broker_flags =
		IPCZ_CONNECT_NODE_TO_BROKER | IPCZ_CONNECT_NODE_INHERIT_BROKER;
	bool gives;

	ipcz_lock(&link->lock);
	gives = !link->introduced && (link->flags & broker_flags) &&
		link->state != LINK_DEAD;
	ipcz_unlock(&link->lock);
	return gives;
}

bool node_link_has_broker(struct node *node)
{
	bool found = false;
	size_t i;

	if (node->is_broker)
		return false;
	ipcz_lock(&node->lock);
	for (i = 0; i < node->num_links && !found; i++)
		found = gives_broker(node->links[i]);
	ipcz_unlock(&node->lock);
	return found;
}
