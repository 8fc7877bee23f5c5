/* SPDX-License-Identifier: MIT */
/*
 * The state two routers share about the link between them: which sides are
 * stable (no decaying links), which side waits for the other to become
 * stable, and which side holds the link locked for a bypass or closure.
 * A local link keeps it on the heap; a remote link (multi-node) keeps the
 * same word in the link's shared memory.
 */
#ifndef IPCZ_LIB_ROUTER_LINK_STATE_H
#define IPCZ_LIB_ROUTER_LINK_STATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum link_side { LINK_SIDE_A = 0, LINK_SIDE_B = 1 };

#define LINK_STATUS_A_STABLE 1u
#define LINK_STATUS_B_STABLE 2u
#define LINK_STATUS_STABLE (LINK_STATUS_A_STABLE | LINK_STATUS_B_STABLE)
#define LINK_STATUS_A_WAITING 4u
#define LINK_STATUS_B_WAITING 8u
#define LINK_STATUS_LOCKED_BY_A 16u
#define LINK_STATUS_LOCKED_BY_B 32u

struct router_link_state {
	_Atomic uint32_t status;
};

static inline enum link_side link_side_opposite(enum link_side side)
{
	return side == LINK_SIDE_A ? LINK_SIDE_B : LINK_SIDE_A;
}

void link_state_set_side_stable(struct router_link_state *state,
				enum link_side side);

/*
 * Locks the link for `side`: needs both sides stable and no lock held. If
 * only `side` is stable, sets its waiting bit instead (the other side will
 * flush it once stable) and fails.
 */
bool link_state_try_lock(struct router_link_state *state, enum link_side side);

void link_state_unlock(struct router_link_state *state, enum link_side side);

/* Clears `side`'s waiting bit if set on a stable, unlocked link. */
bool link_state_reset_waiting(struct router_link_state *state,
			      enum link_side side);

#endif
