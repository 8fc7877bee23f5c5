// SPDX-License-Identifier: MIT
/*
 * Operations common to every kind of link: they act on the link state the
 * two sides share, whatever carries it.
 */
#include "lib/router_link.h"

#include <stddef.h>

void router_link_mark_side_stable(struct router_link *link)
{
	struct router_link_state *state = link->ops->link_state(link);

	if (state)
		link_state_set_side_stable(state, link->side);
}

bool router_link_try_lock(struct router_link *link)
{
	struct router_link_state *state = link->ops->link_state(link);

	return state && link_state_try_lock(state, link->side);
}

void router_link_unlock(struct router_link *link)
{
	struct router_link_state *state = link->ops->link_state(link);

	if (state)
		link_state_unlock(state, link->side);
}
