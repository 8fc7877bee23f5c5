// SPDX-License-Identifier: MIT
#include "lib/router_link_state.h"

static uint32_t stable_bit(enum link_side side)
{
	return side == LINK_SIDE_A ? LINK_STATUS_A_STABLE :
				     LINK_STATUS_B_STABLE;
}

static uint32_t waiting_bit(enum link_side side)
{
	return side == LINK_SIDE_A ? LINK_STATUS_A_WAITING :
				     LINK_STATUS_B_WAITING;
}

static uint32_t locked_bit(enum link_side side)
{
	return side == LINK_SIDE_A ? LINK_STATUS_LOCKED_BY_A :
				     LINK_STATUS_LOCKED_BY_B;
}

#define LOCKED_BY_EITHER (LINK_STATUS_LOCKED_BY_A | LINK_STATUS_LOCKED_BY_B)

void link_state_set_side_stable(struct router_link_state *state,
				enum link_side side)
{
	atomic_fetch_or_explicit(&state->status, stable_bit(side),
				 memory_order_acq_rel);
}

bool link_state_try_lock(struct router_link_state *state, enum link_side side)
{
	uint32_t old = atomic_load_explicit(&state->status,
					    memory_order_acquire);
	uint32_t desired;

	for (;;) {
		if ((old & LOCKED_BY_EITHER) || !(old & stable_bit(side)))
			return false;
		if ((old & LINK_STATUS_STABLE) == LINK_STATUS_STABLE)
			desired = (old & ~waiting_bit(side)) | locked_bit(side);
		else if (old & waiting_bit(side))
			return false;
		else
			desired = old | waiting_bit(side);
		if (atomic_compare_exchange_weak_explicit(&state->status, &old,
							  desired,
							  memory_order_acq_rel,
							  memory_order_acquire))
			return (desired & locked_bit(side)) != 0;
	}
}

void link_state_unlock(struct router_link_state *state, enum link_side side)
{
	atomic_fetch_and_explicit(&state->status, ~locked_bit(side),
				  memory_order_acq_rel);
}

bool link_state_reset_waiting(struct router_link_state *state,
			      enum link_side side)
{
	uint32_t old = atomic_load_explicit(&state->status,
					    memory_order_acquire);

	for (;;) {
		if ((old & LINK_STATUS_STABLE) != LINK_STATUS_STABLE ||
		    !(old & waiting_bit(side)) || (old & LOCKED_BY_EITHER))
			return false;
		if (atomic_compare_exchange_weak_explicit(&state->status, &old,
							  old & ~waiting_bit(side),
							  memory_order_acq_rel,
							  memory_order_acquire))
			return true;
	}
}
