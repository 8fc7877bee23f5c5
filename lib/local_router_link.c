// SPDX-License-Identifier: MIT
#include "lib/local_router_link.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include "lib/lock.h"
#include "lib/router.h"

struct local_link_pair {
	_Atomic uint32_t refs;
	struct router_link_state state;
	struct ipcz_lock lock;	/* guards routers[] */
	struct router *routers[2];
	struct router_link ends[2];
};

static struct local_link_pair *pair_of(struct router_link *link)
{
	return (struct local_link_pair *)((char *)(link - link->side) -
					  offsetof(struct local_link_pair,
						   ends));
}

static void pair_ref(struct router_link *link)
{
	atomic_fetch_add_explicit(&pair_of(link)->refs, 1,
				  memory_order_relaxed);
}

static void pair_unref(struct router_link *link)
{
	struct local_link_pair *pair = pair_of(link);

	if (atomic_fetch_sub_explicit(&pair->refs, 1,
				      memory_order_acq_rel) != 1)
		return;
	router_unref(pair->routers[0]);
	router_unref(pair->routers[1]);
	free(pair);
}

/* A new reference to the router on `side`, or NULL once deactivated. */
static struct router *router_on(struct local_link_pair *pair,
				enum link_side side)
{
	struct router *router;

	ipcz_lock(&pair->lock);
	router = pair->routers[side];
	if (router)
		router_ref(router);
	ipcz_unlock(&pair->lock);
	return router;
}

static struct router *other_router(struct router_link *link)
{
	return router_on(pair_of(link), link_side_opposite(link->side));
}

static void local_accept_parcel(struct router_link *link, enum op_context ctx,
				struct parcel *parcel)
{
	struct router *receiver = other_router(link);

	if (!receiver) {
		parcel_destroy(parcel);
		return;
	}
	if (link->type == LINK_BRIDGE)
		router_accept_outbound_parcel(receiver, ctx, parcel);
	else
		router_accept_inbound_parcel(receiver, ctx, parcel);
	router_unref(receiver);
}

static void local_accept_route_closure(struct router_link *link,
				       enum op_context ctx, uint64_t length)
{
	struct router *receiver = other_router(link);

	if (receiver) {
		router_accept_route_closure(receiver, ctx, link->type, length);
		router_unref(receiver);
	}
}

static void local_accept_route_disconnected(struct router_link *link,
					    enum op_context ctx)
{
	struct router *receiver = other_router(link);

	if (receiver) {
		router_accept_route_disconnected(receiver, ctx, link->type);
		router_unref(receiver);
	}
}

static struct router_link_state *local_link_state(struct router_link *link)
{
	return &pair_of(link)->state;
}

static void local_flush_other_side_if_waiting(struct router_link *link,
					      enum op_context ctx)
{
	enum link_side other = link_side_opposite(link->side);
	struct router *receiver;

	if (!link_state_reset_waiting(&pair_of(link)->state, other))
		return;
	receiver = other_router(link);
	if (receiver) {
		router_flush(receiver, ctx, true);
		router_unref(receiver);
	}
}

static void local_deactivate(struct router_link *link)
{
	struct local_link_pair *pair = pair_of(link);
	struct router *router;

	ipcz_lock(&pair->lock);
	router = pair->routers[link->side];
	pair->routers[link->side] = NULL;
	ipcz_unlock(&pair->lock);
	router_unref(router);
}

static struct router *local_get_local_peer(struct router_link *link)
{
	return other_router(link);
}

static const struct router_link_ops local_link_ops = {
	.ref = pair_ref,
	.unref = pair_unref,
	.accept_parcel = local_accept_parcel,
	.accept_route_closure = local_accept_route_closure,
	.accept_route_disconnected = local_accept_route_disconnected,
	.get_local_peer = local_get_local_peer,
	.link_state = local_link_state,
	.flush_other_side_if_waiting = local_flush_other_side_if_waiting,
	.deactivate = local_deactivate,
};

bool local_router_link_create_pair(enum link_type type, struct router *a,
				   struct router *b, bool stable,
				   struct router_link **out_a,
				   struct router_link **out_b)
{
	struct local_link_pair *pair = calloc(1, sizeof(*pair));
	int side;

	if (!pair)
		return false;
	atomic_init(&pair->refs, 2);
	atomic_init(&pair->state.status, stable ? LINK_STATUS_STABLE : 0);
	router_ref(a);
	router_ref(b);
	pair->routers[LINK_SIDE_A] = a;
	pair->routers[LINK_SIDE_B] = b;
	for (side = 0; side < 2; side++) {
		pair->ends[side].ops = &local_link_ops;
		pair->ends[side].type = (uint8_t)type;
		pair->ends[side].side = (uint8_t)side;
	}
	*out_a = &pair->ends[LINK_SIDE_A];
	*out_b = &pair->ends[LINK_SIDE_B];
	return true;
}
