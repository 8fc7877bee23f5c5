/* SPDX-License-Identifier: MIT */
/*
 * Bypass of a proxy whose outward peer X and inward peer Z are on two
 * other nodes that are linked to each other (Documentation/
 * route-reduction.rst has the protocol and why it is safe). The proxy Y
 * asks X; X prepares a central link to Z's node and tells Y its cut n; Y
 * hands the link to Z; Z switches to it, telling X and Y its cut m; Y then
 * drains both directions at the exact cuts and disappears.
 */
#ifndef IPCZ_LIB_ROUTER_BYPASS_H
#define IPCZ_LIB_ROUTER_BYPASS_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/router_link.h"

struct node_link;
struct router;

enum bypass_op {
	BYPASS_REQUEST = 1,	/* Y -> X: link to node `name` for me */
	BYPASS_ACCEPTED = 2,	/* X -> Y: new_sublink, cut */
	BYPASS_DECLINED = 3,	/* X -> Y */
	BYPASS_LINK_TO = 4,	/* Y -> Z: node `name`, new_sublink, cut */
	BYPASS_READY = 5,	/* Z -> X, on the new sublink: Z's cut */
	BYPASS_CUT = 6,		/* Z -> Y: Z's cut */
	BYPASS_REFUSED = 7,	/* Z -> Y */
	BYPASS_CANCEL = 8,	/* Y -> X: Z refused; keep the old link */
	BYPASS_RETRY = 9,	/* X -> Y: declined earlier, stable now */
	/* Y -> X, when Z shares X's node: Z's route is `new_sublink`. */
	BYPASS_REQUEST_LOCAL = 10,
	/* X -> Y: X and Z are joined; X's cut `cut`, Z's `new_sublink`. */
	BYPASS_JOINED = 11,
	/* Y -> Z, X being on Y's node: route `new_sublink` here, X's cut. */
	BYPASS_LINK_LOCAL = 12,
	/*
	 * X -> Z, on the new sublink, once the proxy's node link died before
	 * Z's READY came: is the route there? A node with no route on that
	 * sublink answers GONE (node_link.c); Z itself stays silent, its
	 * READY being already on the way.
	 */
	BYPASS_PROBE = 13,
	/*
	 * The answer to a PROBE, or to a READY reaching X's node after X's
	 * route broke (no route there, or X disconnected): Z then breaks the
	 * route, whose disconnection from X may have come before Z had it.
	 */
	BYPASS_GONE = 14,
};

/* A bypass message as the routing code sees it (see node_message.h). */
struct bypass_message {
	uint32_t op;
	uint8_t name[16];
	uint64_t new_sublink;
	uint64_t cut;
};

enum bypass_result {
	BYPASS_OK,		/* handled, or stale and ignored */
	BYPASS_INVALID,		/* cannot be: the link is dropped */
};

/* Starts a bypass of `router` if it is a proxy that could be bypassed. */
void router_bypass_maybe_start(struct router *router, enum op_context ctx);

/*
 * A bypass message for `router`, which `link` (of `type`) binds to the
 * route the message came on, over `node_link`.
 */
enum bypass_result router_bypass_accept(struct node_link *node_link,
					struct router *router,
					struct router_link *link,
					uint8_t type,
					const struct bypass_message *message);

/*
 * A new reference to the link prepared for the inward peer that has not
 * answered yet, if any (under the router's lock).
 */
struct router_link *router_bypass_pending_ref_locked(struct router *router);

/* Asks over `link`, a prepared link, whether its far end took it. */
void router_bypass_send_probe(struct router_link *link, enum op_context ctx);

/*
 * With the router's lock held: whether a declined proxy is owed a retry
 * (cleared), and forgetting a failed bypass when a link changed (the new
 * neighbours may allow one). router_bypass_send_retry() is called
 * without the lock, over the router's outward link.
 */
bool router_bypass_take_retry_locked(struct router *router);
void router_bypass_send_retry(struct router_link *link, enum op_context ctx);
void router_bypass_links_changed_locked(struct router *router);

/*
 * Merged portals (a bridge) whose outward peers are one on this node (of
 * `near`) and one on another node (of `far`): the local peer gets a
 * central link to the remote one, handed over as BYPASS_LINK_LOCAL.
 */
void router_bypass_start_bridge(struct router *near, struct router *far,
				enum op_context ctx);

/*
 * Merged portals whose outward peers are both on other nodes (two
 * different ones): `near`'s peer gets a central link to `far`'s peer,
 * with `near` asking as a proxy would (BYPASS_REQUEST) and `far` handing
 * the link over (BYPASS_LINK_TO).
 */
void router_bypass_start_remote_bridge(struct router *near, struct router *far,
				       enum op_context ctx);

/* Releases a link prepared for a bypass that never completed. */
struct router_link *router_bypass_take_pending(struct router *router);

/* Frees a router's bypass state. */
void router_bypass_free(struct router *router);

#endif
