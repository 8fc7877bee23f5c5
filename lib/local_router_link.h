/* SPDX-License-Identifier: MIT */
/*
 * A link between two routers of the same node. Both ends live in one
 * allocation with the link state they share; each end holds a reference
 * to the router on its side until that side deactivates it.
 */
#ifndef IPCZ_LIB_LOCAL_ROUTER_LINK_H
#define IPCZ_LIB_LOCAL_ROUTER_LINK_H

#include <stdbool.h>

#include "lib/router_link.h"

struct router;

/*
 * Creates a central or bridge link between `a` (side A) and `b` (side B),
 * returning one reference to each end in `out_a` and `out_b`. A link made
 * by OpenPortals is stable from the start; one made by a bypass becomes
 * stable as each side sheds its decaying links. False without memory.
 */
bool local_router_link_create_pair(enum link_type type, struct router *a,
				   struct router *b, bool stable,
				   struct router_link **out_a,
				   struct router_link **out_b);

#endif
