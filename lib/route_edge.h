/* SPDX-License-Identifier: MIT */
/*
 * One side of a router (outward, inward or bridge): a primary link plus at
 * most one decaying link being phased out. Parcels numbered below the
 * outgoing cut (`length_to_decaying`) still go over the decaying link, and
 * the decaying link may still deliver parcels numbered below the incoming
 * cut (`length_from_decaying`). The edge is stable once no link decays.
 */
#ifndef IPCZ_LIB_ROUTE_EDGE_H
#define IPCZ_LIB_ROUTE_EDGE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/router_link.h"
#include "lib/sequenced_queue.h"

struct route_edge {
	struct router_link *primary;
	struct router_link *decaying;
	uint64_t length_to_decaying;	/* SEQ_NONE while unknown */
	uint64_t length_from_decaying;	/* SEQ_NONE while unknown */
	/*
	 * Decay began before the link to decay was set ("deferred decay"):
	 * the next link set on this edge becomes the decaying link.
	 */
	bool decaying_active;
};

void route_edge_init(struct route_edge *edge);

/* Adopts a reference to `link` as primary (or as decaying, if deferred). */
void route_edge_set_primary(struct route_edge *edge, struct router_link *link);

/* Gives up the primary link's reference to the caller. */
struct router_link *route_edge_release_primary(struct route_edge *edge);

/* Gives up the decaying link's reference and ends the decay. */
struct router_link *route_edge_release_decaying(struct route_edge *edge);

/* Starts decaying the primary link; false if a link already decays. */
bool route_edge_begin_decay(struct route_edge *edge);

static inline bool route_edge_is_stable(const struct route_edge *edge)
{
	return !edge->decaying_active;
}

/* Whether parcel `n` must go over the decaying link. */
bool route_edge_use_decaying(const struct route_edge *edge, uint64_t n);

/*
 * Ends the decay if everything up to both cuts was sent and received,
 * returning true; the caller then owns the decaying link's reference in
 * *dropped and should deactivate it.
 */
bool route_edge_maybe_finish_decay(struct route_edge *edge, uint64_t sent,
				   uint64_t received,
				   struct router_link **dropped);

/* A new reference to the local router on the primary link, if any. */
struct router *route_edge_local_peer(struct route_edge *edge);

#endif
