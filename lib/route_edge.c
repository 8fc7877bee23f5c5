// SPDX-License-Identifier: MIT
#include "lib/route_edge.h"

#include <stdlib.h>

void route_edge_init(struct route_edge *edge)
{
	edge->primary = NULL;
	edge->decay = NULL;
}

struct route_edge_decay *route_edge_decay_alloc(void)
{
	struct route_edge_decay *decay = malloc(sizeof(*decay));

	if (decay) {
		decay->link = NULL;
		decay->length_to = SEQ_NONE;
		decay->length_from = SEQ_NONE;
		decay->lost = false;
	}
	return decay;
}

void route_edge_set_primary(struct route_edge *edge, struct router_link *link)
{
	if (edge->decay && !edge->decay->link)
		edge->decay->link = link;
	else
		edge->primary = link;
}

struct router_link *route_edge_release_primary(struct route_edge *edge)
{
	struct router_link *link = edge->primary;

	edge->primary = NULL;
	return link;
}

struct router_link *route_edge_release_decaying(struct route_edge *edge)
{
	struct router_link *link = route_edge_decaying_link(edge);

	free(edge->decay);
	edge->decay = NULL;
	return link;
}

bool route_edge_begin_decay(struct route_edge *edge,
			    struct route_edge_decay *decay)
{
	if (edge->decay) {
		free(decay);
		return false;
	}
	decay->link = edge->primary;
	decay->length_to = SEQ_NONE;
	decay->length_from = SEQ_NONE;
	decay->lost = false;
	edge->decay = decay;
	edge->primary = NULL;
	return true;
}

void route_edge_set_cuts(struct route_edge *edge, uint64_t length_to,
			 uint64_t length_from)
{
	if (edge->decay) {
		edge->decay->length_to = length_to;
		edge->decay->length_from = length_from;
	}
}

bool route_edge_use_decaying(const struct route_edge *edge, uint64_t n)
{
	return edge->decay && (edge->decay->length_to == SEQ_NONE ||
			       n < edge->decay->length_to);
}

bool route_edge_maybe_finish_decay(struct route_edge *edge, uint64_t sent,
				   uint64_t received,
				   struct router_link **dropped)
{
	const struct route_edge_decay *decay = edge->decay;

	if (!decay || !decay->link)
		return false;
	if (decay->length_to == SEQ_NONE || decay->length_from == SEQ_NONE)
		return false;
	if (sent < decay->length_to || received < decay->length_from)
		return false;
	*dropped = route_edge_release_decaying(edge);
	return true;
}

bool route_edge_lost_decay_owes(const struct route_edge *edge, uint64_t sent,
				uint64_t received)
{
	const struct route_edge_decay *decay = edge->decay;

	if (!decay || !decay->lost)
		return false;
	if (decay->length_to == SEQ_NONE || sent < decay->length_to)
		return true;
	return decay->length_from != SEQ_NONE &&
	       received < decay->length_from;
}

struct router *route_edge_local_peer(struct route_edge *edge)
{
	return edge->primary ? edge->primary->ops->get_local_peer(edge->primary) :
			       NULL;
}
