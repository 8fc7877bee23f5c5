/* SPDX-License-Identifier: MIT */
/*
 * RouterLinkState: the 64-byte record in a NodeLink's shared memory that
 * the two routers at the ends of a central link use to agree on bypass and
 * closure without messages.
 *
 * Layout (all fields atomic, offsets fixed, 8-byte aligned):
 *
 *   0   i32  ref_count       for use as a ref-counted fragment (fragment.h)
 *   4   u32  status          LINK_STATE_* bits below
 *   8   u64  allowed_source[2]  node name (128 bits) of the one node that
 *                            may ask the unlocked side to accept a bypass
 *   24  40 bytes reserved (zero)
 *
 * A fresh state is all zeros: nobody stable, nothing locked.
 *
 * Protocol: a side marks itself stable once its router has no decaying
 * link. The lock (shared by bypass and closure) can be taken by one side
 * only while both sides are stable and nobody holds it. If only our side is
 * stable, TryLock leaves our "waiting" bit instead; the other side, when it
 * becomes stable, clears that bit and must then tell us to retry (in
 * upstream terms: send FlushRouter), so no waiter is stranded.
 *
 * The peer can write anything here. Every update is a bounded CAS loop on
 * a value copied once; a peer that keeps changing the word makes us fail
 * with -EPROTO, and contradictory states are refused rather than trusted.
 */
#ifndef IPCZ_LIB_LINK_STATE_H
#define IPCZ_LIB_LINK_STATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define LINK_STATE_SIZE 64u

#define LINK_STATE_STABLE_A (1u << 0)
#define LINK_STATE_STABLE_B (1u << 1)
#define LINK_STATE_WAITING_A (1u << 2)
#define LINK_STATE_WAITING_B (1u << 3)
#define LINK_STATE_LOCKED_A (1u << 4)
#define LINK_STATE_LOCKED_B (1u << 5)

/* Bounded retries of a CAS on the status word. */
#define LINK_STATE_MAX_RETRIES 10000u

enum node_link_side {
	NODE_LINK_SIDE_A = 0,
	NODE_LINK_SIDE_B = 1,
};

struct shm_link_state {
	_Atomic int32_t ref_count;
	_Atomic uint32_t status;
	_Atomic uint64_t allowed_source[2];
	uint8_t reserved[40];
};

_Static_assert(sizeof(struct shm_link_state) == LINK_STATE_SIZE,
	       "RouterLinkState is 64 bytes");

static inline enum node_link_side node_link_side_other(enum node_link_side side)
{
	return side == NODE_LINK_SIDE_A ? NODE_LINK_SIDE_B : NODE_LINK_SIDE_A;
}

/* Zeroes a state before it is shared (or reused for a new link). */
void shm_link_state_init(struct shm_link_state *state);

/*
 * Marks @side stable. If the other side was waiting for that, clears its
 * waiting bit and sets *@flush_other: the caller must then tell the other
 * side to retry its lock (FlushRouter). Returns 0 or -EPROTO.
 */
int shm_link_state_set_stable(struct shm_link_state *state,
			      enum node_link_side side, bool *flush_other);

/*
 * Tries to lock the link for bypass or closure on behalf of @side.
 * Returns 0 when locked; -EBUSY when either side already holds the lock;
 * -EAGAIN when the link is not stable on both sides (if our side is stable,
 * our waiting bit is now set and the other side will ask us to retry);
 * -EPROTO on a corrupt or contended word.
 */
int shm_link_state_try_lock(struct shm_link_state *state,
			    enum node_link_side side);

/*
 * Releases @side's lock. Returns 0, or -EPROTO if @side did not hold it
 * (only a peer writing our bit away can cause that).
 */
int shm_link_state_unlock(struct shm_link_state *state,
			  enum node_link_side side);

/* Whether @side holds the lock (one snapshot of the status). */
bool shm_link_state_is_locked_by(const struct shm_link_state *state,
				 enum node_link_side side);

/* Status snapshot, for tests and introspection. */
uint32_t shm_link_state_status(const struct shm_link_state *state);

/*
 * Records the node allowed to request a bypass of the lock holder's link
 * (written by the lock holder after locking, before telling that node).
 */
void shm_link_state_set_allowed_source(struct shm_link_state *state,
				       const uint64_t name[2]);

/*
 * Whether @name is the recorded allowed source. The name is copied once;
 * a zero name never matches (names are never zero).
 */
bool shm_link_state_is_allowed_source(const struct shm_link_state *state,
				      const uint64_t name[2]);

#endif /* IPCZ_LIB_LINK_STATE_H */
