/* SPDX-License-Identifier: MIT */
/*
 * A router is one hop of a route. A portal is a terminal router: it has an
 * outward edge towards its peer and, once merged, a bridge edge to the
 * router it merged with. Routers queue inbound parcels for the application
 * and outbound parcels that cannot go out yet.
 *
 * Locking: each router has its own lock. No lock is held while calling a
 * link, the driver or a trap handler: work is collected under the lock
 * and done after it is released. Several routers are locked in address
 * order.
 */
#ifndef IPCZ_LIB_ROUTER_H
#define IPCZ_LIB_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/api_object.h"
#include "lib/lock.h"
#include "lib/parcel.h"
#include "lib/route_edge.h"
#include "lib/router_link.h"
#include "lib/sequenced_queue.h"
#include "lib/trap_set.h"

struct router_bypass;
struct transaction_set;

struct router {
	struct api_object object;
	struct ipcz_lock lock;
	uint8_t status_flags;	/* IPCZ_PORTAL_STATUS_* */
	uint8_t peer_closed;	/* the peer closed; parcels may be in flight */
	uint8_t disconnected;	/* the route broke */
	uint8_t exclusive_get;	/* a non-overlapped BeginGet is open */
	struct route_edge outward;
	/*
	 * Set only on a proxy: a portal sent to another node stays behind as
	 * a proxy whose inward edge leads to the portal's new router there.
	 */
	struct route_edge *inward;
	struct route_edge *bridge;	/* set only after MergePortals */
	struct sequenced_queue inbound;
	struct sequenced_queue outbound;
	struct trap_set traps;
	struct transaction_set *transactions;	/* NULL until the first */
	struct router_bypass *bypass;	/* NULL until a bypass involves it */
};

struct router *router_create(void);

static inline void router_ref(struct router *router)
{
	api_object_ref(&router->object);
}

static inline void router_unref(struct router *router)
{
	if (router)
		api_object_unref(&router->object);
}

/* Called by api_object_unref() with the last reference. */
void router_destroy(struct router *router);

/* Two new portals, each other's peer, over a stable local central link. */
bool router_create_pair(struct router **first, struct router **second);

/* Closes the portal: its sequence ends and its traps see REMOVED. */
IpczResult router_close(struct router *router);

/* A portal cannot travel through itself nor through its local peer. */
bool router_can_send_from(struct router *router, struct router *sender);

void router_query_status(struct router *router,
			 struct IpczPortalStatus *status);

IpczResult router_put(struct router *router, const void *data,
		      size_t num_bytes, const IpczHandle *handles,
		      size_t num_handles);

IpczResult router_begin_put(struct router *router, IpczBeginPutFlags flags,
			    volatile void **data, size_t *num_bytes,
			    IpczTransaction *transaction);

IpczResult router_end_put(struct router *router, IpczTransaction transaction,
			  size_t num_bytes_produced, const IpczHandle *handles,
			  size_t num_handles, IpczEndPutFlags flags);

IpczResult router_get(struct router *router, IpczGetFlags flags, void *data,
		      size_t *num_bytes, IpczHandle *handles,
		      size_t *num_handles, IpczHandle *parcel);

IpczResult router_begin_get(struct router *router, IpczBeginGetFlags flags,
			    const volatile void **data, size_t *num_bytes,
			    IpczHandle *handles, size_t *num_handles,
			    IpczTransaction *transaction);

IpczResult router_end_get(struct router *router, IpczTransaction transaction,
			  IpczEndGetFlags flags, IpczHandle *parcel);

IpczResult router_trap(struct router *router,
		       const struct IpczTrapConditions *conditions,
		       IpczTrapEventHandler handler, uintptr_t context,
		       IpczTrapConditionFlags *satisfied,
		       struct IpczPortalStatus *status);

/*
 * Takes back a trap installed by router_trap() that has not fired: true
 * if it was still installed (its handler will never run).
 */
bool router_remove_trap(struct router *router, IpczTrapEventHandler handler,
			uintptr_t context);

/* Joins the routes of two unused portals with a bridge link. */
IpczResult router_merge(struct router *router, struct router *other);

/* Link entry points: a parcel or closure arriving from a link. */
void router_accept_inbound_parcel(struct router *router, enum op_context ctx,
				  struct parcel *parcel);
void router_accept_outbound_parcel(struct router *router, enum op_context ctx,
				   struct parcel *parcel);
void router_accept_route_closure(struct router *router, enum op_context ctx,
				 enum link_type from, uint64_t length);
void router_accept_route_disconnected(struct router *router,
				      enum op_context ctx,
				      enum link_type from);
/*
 * `link` (of type `from`, one the router had registered on a node link)
 * went down with its node link or was told the route broke. Breaks the
 * route only if the router still depends on that link; see router.c.
 */
void router_accept_link_disconnected(struct router *router,
				     enum op_context ctx, enum link_type from,
				     const struct router_link *link);

/*
 * Gives a router made for the far end of a new link (an initial portal of
 * ConnectNode, or a portal arriving from another node) its outward link,
 * adopting the reference, and flushes what waited for it.
 */
void router_set_outward_link(struct router *router, enum op_context ctx,
			     struct router_link *link);

/*
 * Turns a portal being sent to another node into a proxy: its traps fire
 * IPCZ_TRAP_REMOVED, open transactions are aborted, and it gets an inward
 * edge with no link yet, so it no longer acts as a portal. The numbers the
 * new router continues from are returned. False without memory.
 */
bool router_begin_transfer(struct router *router, enum op_context ctx,
			   uint64_t *next_outbound, uint64_t *next_inbound);

/*
 * After the message describing the new router was transmitted: adopts the
 * link to it and forwards what the proxy holds.
 */
void router_adopt_inward_link(struct router *router, enum op_context ctx,
			      struct router_link *link);

/* A router arriving from another node, continuing the given sequences. */
struct router *router_create_transferred(uint64_t next_outbound,
					 uint64_t next_inbound);

/*
 * The fast path of a transfer, when the portal's peer is on this node:
 * the peer gets a central link to the portal's new router, and this
 * router stays only to pass on what the peer sent before `peer_cut`.
 *
 * router_peer_for_direct_transfer() returns a new reference to the local
 * peer if `router` may take it (both terminal, stable, open), else NULL.
 * The caller registers the peer's new link, then calls
 * router_begin_direct_transfer(), which does what router_begin_transfer()
 * does and starts both old links decaying at exact cuts, or changes
 * nothing and returns false if the route changed meanwhile. After the
 * message went out, the caller gives the peer its link with
 * router_set_outward_link() and this router its inward link with
 * router_adopt_inward_link().
 */
struct direct_transfer {
	uint64_t next_outbound;	/* this router's outbound length */
	uint64_t next_inbound;	/* what this router consumed */
	uint64_t peer_cut;	/* the peer's outbound length */
};
struct router *router_peer_for_direct_transfer(struct router *router);
bool router_begin_direct_transfer(struct router *router, struct router *peer,
				  enum op_context ctx,
				  struct direct_transfer *cuts);

/*
 * The arriving side of a direct transfer: `central` leads to the peer,
 * `decaying` to the router left behind, which still delivers what the
 * peer sent below `length_from`. Takes both references.
 */
void router_set_outward_links(struct router *router, enum op_context ctx,
			      struct router_link *central,
			      struct router_link *decaying,
			      uint64_t length_from);

/*
 * A portal sent to the node of its remote peer. On the sending side,
 * router_central_link_for_return() gives a new reference to the portal's
 * outward link if it is a stable central link (the portal then leaves by
 * router_begin_transfer() as usual, naming that link's sublink). On the
 * receiving side, router_join_returning() joins `peer` (whose outward
 * link must still be `old_link`) and the arriving `router` with a local
 * link, `decaying` feeding `router` from the proxy until the cut; it
 * returns false, changing nothing, if the peer moved, closed or changed.
 * The proxy then gets router_stop_proxying() with the peer's cut and its
 * own outbound length.
 */
struct router_link *router_central_link_for_return(struct router *router);
bool router_join_returning(struct router *peer, struct router_link *old_link,
			   struct router *router, struct router_link *decaying,
			   uint64_t *peer_cut);

enum stop_proxying_result {
	STOP_PROXYING_DONE,
	STOP_PROXYING_STALE,	/* the route changed: nothing to do */
	STOP_PROXYING_INVALID,	/* cuts that cannot be: refuse the message */
};
enum stop_proxying_result router_stop_proxying(struct router *router,
					       struct router_link *outward,
					       uint64_t inbound_cut,
					       uint64_t outbound_cut);

/*
 * Sends whatever can be sent, drops links that finished decaying, passes
 * closure on and starts bypasses that became possible. `force_bypass`
 * retries a bypass even when no link changed (after a waiting bit).
 */
void router_flush(struct router *router, enum op_context ctx,
		  bool force_bypass);

#endif
