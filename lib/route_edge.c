// SPDX-License-Identifier: MIT
#include "lib/route_edge.h"

#include <stddef.h>

void route_edge_init(struct route_edge *edge)
{
	edge->primary = NULL;
	edge->decaying = NULL;
	edge->length_to_decaying = SEQ_NONE;
	edge->length_from_decaying = SEQ_NONE;
	edge->decaying_active = false;
}

void route_edge_set_primary(struct route_edge *edge, struct router_link *link)
{
	if (edge->decaying_active && !edge->decaying)
		edge->decaying = link;
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
	struct router_link *link = edge->decaying;

	edge->decaying = NULL;
	edge->decaying_active = false;
	edge->length_to_decaying = SEQ_NONE;
	edge->length_from_decaying = SEQ_NONE;
	return link;
}

bool route_edge_begin_decay(struct route_edge *edge)
{
	if (edge->decaying_active)
		return false;
	edge->decaying_active = true;
	edge->decaying = edge->primary;
	edge->primary = NULL;
	edge->length_to_decaying = SEQ_NONE;
	edge->length_from_decaying = SEQ_NONE;
	return true;
}

bool route_edge_use_decaying(const struct route_edge *edge, uint64_t n)
{
	return edge->decaying_active && (edge->length_to_decaying == SEQ_NONE ||
					 n < edge->length_to_decaying);
}

bool route_edge_maybe_finish_decay(struct route_edge *edge, uint64_t sent,
				   uint64_t received,
				   struct router_link **dropped)
{
	if (!edge->decaying_active || !edge->decaying)
		return false;
	if (edge->length_to_decaying == SEQ_NONE ||
	    edge->length_from_decaying == SEQ_NONE)
		return false;
	if (sent < edge->length_to_decaying ||
	    received < edge->length_from_decaying)
		return false;
	*dropped = route_edge_release_decaying(edge);
	return true;
}

struct router *route_edge_local_peer(struct route_edge *edge)
{
	return edge->primary ? edge->primary->ops->get_local_peer(edge->primary) :
			       NULL;
}
