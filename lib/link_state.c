// SPDX-License-Identifier: MIT
/*
 * RouterLinkState status word and bypass/closure lock; see link_state.h.
 */
#include "lib/link_state.h"

#include <errno.h>
#include <string.h>

#define ALL_BITS                                                            \
	(LINK_STATE_STABLE_A | LINK_STATE_STABLE_B | LINK_STATE_WAITING_A | \
	 LINK_STATE_WAITING_B | LINK_STATE_LOCKED_A | LINK_STATE_LOCKED_B)
#define LOCK_BITS (LINK_STATE_LOCKED_A | LINK_STATE_LOCKED_B)

static uint32_t stable_bit(enum node_link_side side)
{
	return side == NODE_LINK_SIDE_A ? LINK_STATE_STABLE_A :
					  LINK_STATE_STABLE_B;
}

static uint32_t waiting_bit(enum node_link_side side)
{
	return side == NODE_LINK_SIDE_A ? LINK_STATE_WAITING_A :
					  LINK_STATE_WAITING_B;
}

static uint32_t locked_bit(enum node_link_side side)
{
	return side == NODE_LINK_SIDE_A ? LINK_STATE_LOCKED_A :
					  LINK_STATE_LOCKED_B;
}

/* A status no honest pair of routers can produce. */
static bool corrupt(uint32_t status)
{
	return (status & ~ALL_BITS) || (status & LOCK_BITS) == LOCK_BITS;
}

void shm_link_state_init(struct shm_link_state *state)
{
	memset(state->reserved, 0, sizeof(state->reserved));
	atomic_store_explicit(&state->allowed_source[0], 0,
			      memory_order_relaxed);
	atomic_store_explicit(&state->allowed_source[1], 0,
			      memory_order_relaxed);
	atomic_store_explicit(&state->ref_count, 0, memory_order_relaxed);
	atomic_store_explicit(&state->status, 0, memory_order_relaxed);
}

/*
 * All status updates are CAS loops with acq_rel ordering: acquire so that
 * a side that observes a bit also observes what the setter wrote before it
 * (e.g. the allowed source before the lock became visible), release for
 * the converse. Failed CASes reload with acquire for the same reason.
 */
static bool cas_status(struct shm_link_state *state, uint32_t *expected,
		       uint32_t desired)
{
	return atomic_compare_exchange_weak_explicit(&state->status, expected,
						     desired,
						     memory_order_acq_rel,
						     memory_order_acquire);
}

int shm_link_state_set_stable(struct shm_link_state *state,
			      enum node_link_side side, bool *flush_other)
{
	uint32_t status, desired, tries;
	uint32_t other_waiting = waiting_bit(node_link_side_other(side));

	*flush_other = false;
	status = atomic_load_explicit(&state->status, memory_order_acquire);
	for (tries = 0; tries < LINK_STATE_MAX_RETRIES; tries++) {
		if (corrupt(status))
			return -EPROTO;
		desired = (status | stable_bit(side)) & ~other_waiting;
		if (cas_status(state, &status, desired)) {
			*flush_other = (status & other_waiting) != 0;
			return 0;
		}
	}
	return -EPROTO;
}

int shm_link_state_try_lock(struct shm_link_state *state,
			    enum node_link_side side)
{
	uint32_t both = LINK_STATE_STABLE_A | LINK_STATE_STABLE_B;
	uint32_t status, desired, tries;

	status = atomic_load_explicit(&state->status, memory_order_acquire);
	for (tries = 0; tries < LINK_STATE_MAX_RETRIES; tries++) {
		if (corrupt(status))
			return -EPROTO;
		if (status & LOCK_BITS)
			return -EBUSY;
		if (!(status & stable_bit(side)))
			return -EAGAIN;
		if ((status & both) != both) {
			/* Ask the other side to flush us once it is stable. */
			if (status & waiting_bit(side))
				return -EAGAIN;
			desired = status | waiting_bit(side);
			if (cas_status(state, &status, desired))
				return -EAGAIN;
			continue;
		}
		desired = (status | locked_bit(side)) & ~waiting_bit(side);
		if (cas_status(state, &status, desired))
			return 0;
	}
	return -EPROTO;
}

int shm_link_state_unlock(struct shm_link_state *state,
			  enum node_link_side side)
{
	uint32_t status, tries;

	status = atomic_load_explicit(&state->status, memory_order_acquire);
	for (tries = 0; tries < LINK_STATE_MAX_RETRIES; tries++) {
		if (corrupt(status) || !(status & locked_bit(side)))
			return -EPROTO;
		if (cas_status(state, &status, status & ~locked_bit(side)))
			return 0;
	}
	return -EPROTO;
}

bool shm_link_state_is_locked_by(const struct shm_link_state *state,
				 enum node_link_side side)
{
	uint32_t status = shm_link_state_status(state);

	return !corrupt(status) && (status & locked_bit(side));
}

uint32_t shm_link_state_status(const struct shm_link_state *state)
{
	return atomic_load_explicit(&state->status, memory_order_acquire);
}

void shm_link_state_set_allowed_source(struct shm_link_state *state,
				       const uint64_t name[2])
{
	/*
	 * Relaxed: the node that checks the name learns about the bypass
	 * from a message sent after this store; a message is a system call
	 * or a release/acquire ring handoff, which orders the two.
	 */
	atomic_store_explicit(&state->allowed_source[0], name[0],
			      memory_order_relaxed);
	atomic_store_explicit(&state->allowed_source[1], name[1],
			      memory_order_relaxed);
}

bool shm_link_state_is_allowed_source(const struct shm_link_state *state,
				      const uint64_t name[2])
{
	uint64_t word0, word1;

	word0 = atomic_load_explicit(&state->allowed_source[0],
				     memory_order_acquire);
	word1 = atomic_load_explicit(&state->allowed_source[1],
				     memory_order_acquire);
	if (!word0 && !word1)
		return false;
	return word0 == name[0] && word1 == name[1];
}
