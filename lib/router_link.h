/* SPDX-License-Identifier: MIT */
/*
 * One end of a link between two routers, seen from one of them. Links are
 * an interface: a local link (both routers in this node) and, with the
 * multi-node work, a remote link (over a node link) implement the same ops.
 *
 * A central link joins the two halves of a route; peripheral links extend a
 * half through proxies (inward: towards the portal the proxy stands for;
 * outward: towards the centre); a bridge link joins two merged routes.
 */
#ifndef IPCZ_LIB_ROUTER_LINK_H
#define IPCZ_LIB_ROUTER_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/router_link_state.h"

enum link_type {
	LINK_CENTRAL,
	LINK_PERIPHERAL_INWARD,
	LINK_PERIPHERAL_OUTWARD,
	LINK_BRIDGE,
};

/* Whether work was started by an API call or by a driver notification. */
enum op_context { OP_API_CALL, OP_TRANSPORT };

struct parcel;
struct router;
struct router_link;

struct router_link_ops {
	void (*ref)(struct router_link *link);
	void (*unref)(struct router_link *link);
	/* Carries a parcel to the router on the other side. */
	void (*accept_parcel)(struct router_link *link, enum op_context ctx,
			      struct parcel *parcel);
	/* Tells the other side that this side's sequence ends at `length`. */
	void (*accept_route_closure)(struct router_link *link,
				     enum op_context ctx, uint64_t length);
	/* Tells the other side that the route broke. */
	void (*accept_route_disconnected)(struct router_link *link,
					  enum op_context ctx);
	/* A new reference to the router on the other side if it is local. */
	struct router *(*get_local_peer)(struct router_link *link);
	/* The shared link state, or NULL if not (yet) available. */
	struct router_link_state *(*link_state)(struct router_link *link);
	/* Flushes the other side if it waits for this side to be stable. */
	void (*flush_other_side_if_waiting)(struct router_link *link,
					    enum op_context ctx);
	/* Stops this side from using the link; breaks reference cycles. */
	void (*deactivate)(struct router_link *link);
};

struct router_link {
	const struct router_link_ops *ops;
	uint8_t type;		/* enum link_type */
	uint8_t side;		/* enum link_side */
};

static inline void router_link_ref(struct router_link *link)
{
	link->ops->ref(link);
}

static inline void router_link_unref(struct router_link *link)
{
	if (link)
		link->ops->unref(link);
}

static inline bool router_link_is_central(const struct router_link *link)
{
	return link->type == LINK_CENTRAL;
}

void router_link_mark_side_stable(struct router_link *link);
bool router_link_try_lock(struct router_link *link);
void router_link_unlock(struct router_link *link);

#endif
