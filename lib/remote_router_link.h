/* SPDX-License-Identifier: MIT */
/*
 * A link to a router on another node: one sublink of a node link. Parcels,
 * closure and disconnection become messages on the node link's transport.
 *
 * Routes across nodes are not reduced yet (no proxy is ever bypassed), so
 * nothing but closure locks a remote link, and each side keeps its own
 * link-state word, always stable: a closure lock never contends. Route
 * reduction moves the word into the node link's shared memory, where both
 * sides see it.
 */
#ifndef IPCZ_LIB_REMOTE_ROUTER_LINK_H
#define IPCZ_LIB_REMOTE_ROUTER_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/router_link.h"

struct node_link;

/*
 * A new link end on `sublink` of `node_link` (referenced), with one
 * reference for the caller; NULL without memory.
 */
struct router_link *remote_router_link_create(struct node_link *node_link,
					      uint64_t sublink,
					      enum link_type type,
					      enum link_side side);

/* Whether `link` is a remote_router_link. */
bool remote_router_link_is_remote(const struct router_link *link);

/* The name of the node at the other end, if `link` is remote and known. */
bool remote_router_link_peer_name(struct router_link *link, uint8_t name[16]);

/* The sublink of `link` if it is a remote link over `node_link`. */
bool remote_router_link_sublink_on(struct router_link *link,
				   const struct node_link *node_link,
				   uint64_t *sublink);

/* The node link of a remote link (borrowed), or NULL for a local one. */
struct node_link *remote_router_link_node_link(struct router_link *link);

#endif
