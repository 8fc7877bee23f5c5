// SPDX-License-Identifier: MIT
#include "lib/remote_router_link.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include "lib/node_link.h"

struct remote_router_link {
	struct router_link base;
	_Atomic uint32_t refs;
	_Atomic uint32_t deactivated;
	struct router_link_state state;
	struct node_link *node_link;
	uint64_t sublink;
};

static struct remote_router_link *remote_of(struct router_link *link)
{
	return (struct remote_router_link *)((char *)link -
		offsetof(struct remote_router_link, base));
}

static void remote_ref(struct router_link *link)
{
	atomic_fetch_add_explicit(&remote_of(link)->refs, 1,
				  memory_order_relaxed);
}

static void remote_unref(struct router_link *link)
{
	struct remote_router_link *remote = remote_of(link);

	if (atomic_fetch_sub_explicit(&remote->refs, 1,
				      memory_order_acq_rel) != 1)
		return;
	node_link_unref(remote->node_link);
	free(remote);
}

static void remote_accept_parcel(struct router_link *link, enum op_context ctx,
				 struct parcel *parcel)
{
	struct remote_router_link *remote = remote_of(link);

	node_link_send_parcel(remote->node_link, ctx, remote->sublink, parcel);
}

static void remote_accept_route_closure(struct router_link *link,
					enum op_context ctx, uint64_t length)
{
	struct remote_router_link *remote = remote_of(link);

	node_link_send_route_closed(remote->node_link, ctx, remote->sublink,
				    length);
}

static void remote_accept_route_disconnected(struct router_link *link,
					     enum op_context ctx)
{
	struct remote_router_link *remote = remote_of(link);

	node_link_send_route_disconnected(remote->node_link, ctx,
					  remote->sublink);
}

static struct router *remote_get_local_peer(struct router_link *link)
{
	return NULL;
}

static struct router_link_state *remote_link_state(struct router_link *link)
{
	return &remote_of(link)->state;
}

static void remote_flush_other_side_if_waiting(struct router_link *link,
					       enum op_context ctx)
{
	/*
	 * Each side's word is its own and always stable, so the other side
	 * never waits on it (see the header).
	 */
}

static void remote_deactivate(struct router_link *link)
{
	struct remote_router_link *remote = remote_of(link);

	if (atomic_exchange(&remote->deactivated, 1))
		return;
	node_link_remove_route(remote->node_link, remote->sublink, link);
}

static const struct router_link_ops remote_link_ops = {
	.ref = remote_ref,
	.unref = remote_unref,
	.accept_parcel = remote_accept_parcel,
	.accept_route_closure = remote_accept_route_closure,
	.accept_route_disconnected = remote_accept_route_disconnected,
	.get_local_peer = remote_get_local_peer,
	.link_state = remote_link_state,
	.flush_other_side_if_waiting = remote_flush_other_side_if_waiting,
	.deactivate = remote_deactivate,
};

struct router_link *remote_router_link_create(struct node_link *node_link,
					      uint64_t sublink,
					      enum link_type type,
					      enum link_side side)
{
	struct remote_router_link *remote = calloc(1, sizeof(*remote));

	if (!remote)
		return NULL;
	remote->base.ops = &remote_link_ops;
	remote->base.type = (uint8_t)type;
	remote->base.side = (uint8_t)side;
	atomic_init(&remote->refs, 1);
	atomic_init(&remote->deactivated, 0);
	atomic_init(&remote->state.status, LINK_STATUS_STABLE);
	node_link_ref(node_link);
	remote->node_link = node_link;
	remote->sublink = sublink;
	return &remote->base;
}

bool remote_router_link_peer_name(struct router_link *link, uint8_t name[16])
{
	if (link->ops != &remote_link_ops)
		return false;
	return node_link_remote_name(remote_of(link)->node_link, name);
}

bool remote_router_link_is_remote(const struct router_link *link)
{
	return link->ops == &remote_link_ops;
}

bool remote_router_link_sublink_on(struct router_link *link,
				   const struct node_link *node_link,
				   uint64_t *sublink)
{
	if (link->ops != &remote_link_ops ||
	    remote_of(link)->node_link != node_link)
		return false;
	*sublink = remote_of(link)->sublink;
	return true;
}

struct node_link *remote_router_link_node_link(struct router_link *link)
{
	if (link->ops != &remote_link_ops)
		return NULL;
	return remote_of(link)->node_link;
}
