/* SPDX-License-Identifier: MIT */
/*
 * One side of a router (outward, or bridge after a merge): a primary link
 * plus at most one decaying link being phased out. Parcels numbered below
 * the outgoing cut (`length_to`) still go over the decaying link, and the
 * decaying link may still deliver parcels numbered below the incoming cut
 * (`length_from`). The edge is stable once no link decays.
 *
 * Decay is rare and brief, so its state lives in a separate allocation and
 * a stable edge costs two pointers.
 */
#ifndef IPCZ_LIB_ROUTE_EDGE_H
#define IPCZ_LIB_ROUTE_EDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/router_link.h"
#include "lib/sequenced_queue.h"

struct route_edge_decay {
	/*
	 * NULL while decay is deferred: decay began before the link to decay
	 * was set, and the next link set on the edge becomes this one.
	 */
	struct router_link *link;
	uint64_t length_to;	/* SEQ_NONE while unknown */
	uint64_t length_from;	/* SEQ_NONE while unknown */
	/*
	 * The link went down (its node link died) while the decay was not
	 * over. Nothing more can go or come over it: the decay may still end
	 * well if its cuts, once known, show nothing was owed over it.
	 */
	bool lost;
};

struct route_edge {
	struct router_link *primary;
	struct route_edge_decay *decay;
};

void route_edge_init(struct route_edge *edge);

/* Memory for one decay, allocated before any lock is taken. */
struct route_edge_decay *route_edge_decay_alloc(void);

/* Adopts a reference to `link` as primary (or as decaying, if deferred). */
void route_edge_set_primary(struct route_edge *edge, struct router_link *link);

/* Gives up the primary link's reference to the caller. */
struct router_link *route_edge_release_primary(struct route_edge *edge);

/* Gives up the decaying link's reference and ends the decay. */
struct router_link *route_edge_release_decaying(struct route_edge *edge);

/*
 * Starts decaying the primary link, using `decay` (from
 * route_edge_decay_alloc(), taken in all cases); false if a link already
 * decays.
 */
bool route_edge_begin_decay(struct route_edge *edge,
			    struct route_edge_decay *decay);

/* Sets the cuts of the current decay. */
void route_edge_set_cuts(struct route_edge *edge, uint64_t length_to,
			 uint64_t length_from);

static inline bool route_edge_is_stable(const struct route_edge *edge)
{
	return !edge->decay;
}

static inline struct router_link *
route_edge_decaying_link(const struct route_edge *edge)
{
	return edge->decay ? edge->decay->link : NULL;
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

/*
 * Whether a decay whose link was lost owes parcels it can no longer carry:
 * some below its outgoing cut not sent yet (or that cut unknown), or some
 * below its known incoming cut not received. Such a loss breaks the route.
 */
bool route_edge_lost_decay_owes(const struct route_edge *edge, uint64_t sent,
				uint64_t received);

/* A new reference to the local router on the primary link, if any. */
struct router *route_edge_local_peer(struct route_edge *edge);

#endif
