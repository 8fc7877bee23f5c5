/* SPDX-License-Identifier: MIT */
/*
 * The traps installed on one portal. Traps are one-shot: a trap whose
 * conditions are met is removed and its event is queued on a trap_events
 * list, which the caller runs once it holds no lock.
 */
#ifndef IPCZ_LIB_TRAP_SET_H
#define IPCZ_LIB_TRAP_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipcz/ipcz.h"

struct trap {
	IpczTrapConditionFlags flags;
	size_t min_local_parcels;
	size_t min_local_bytes;
	IpczTrapEventHandler handler;
	uintptr_t context;
};

/* Most portals have no trap installed: an empty set is one NULL pointer. */
struct trap_list {
	uint32_t count;
	uint32_t capacity;
	struct trap traps[];
};

struct trap_set {
	struct trap_list *list;
};

/* The portal state that trap conditions are tested against. */
struct portal_state {
	IpczPortalStatusFlags flags;
	size_t num_local_parcels;
	size_t num_local_bytes;
};

enum trap_reason {
	TRAP_REASON_INSTALL,
	TRAP_REASON_NEW_LOCAL_PARCEL,
	TRAP_REASON_LOCAL_PARCEL_CONSUMED,
	TRAP_REASON_PEER_CLOSED,
};

struct trap_event {
	IpczTrapEventHandler handler;
	uintptr_t context;
	IpczTrapConditionFlags flags;
	struct portal_state state;
};

#define TRAP_EVENTS_INLINE 4

/* Events collected under a lock, to be dispatched after it is released. */
struct trap_events {
	struct trap_event *events;
	uint32_t count;
	uint32_t capacity;
	struct trap_event inline_events[TRAP_EVENTS_INLINE];
};

void trap_events_init(struct trap_events *events);

/*
 * Brackets a call of the application during which this thread delivers
 * messages from other nodes (a blocking wait): events dispatched meanwhile
 * carry IPCZ_TRAP_WITHIN_API_CALL.
 */
void trap_events_enter_api_delivery(void);
void trap_events_leave_api_delivery(void);

/* Runs every collected handler in order, then frees the list. */
void trap_events_dispatch(struct trap_events *events);

/*
 * Installs a trap, unless a condition already holds: then nothing is
 * installed, the satisfied flags and `state` are reported through
 * `satisfied` and `status` (each may be NULL) and FAILED_PRECONDITION is
 * returned. RESOURCE_EXHAUSTED if memory runs out.
 */
IpczResult trap_set_add(struct trap_set *set,
			const struct IpczTrapConditions *conditions,
			IpczTrapEventHandler handler, uintptr_t context,
			const struct portal_state *state,
			IpczTrapConditionFlags *satisfied,
			struct IpczPortalStatus *status);

/* Fires (and removes) every trap whose conditions `state` now meets. */
void trap_set_update(struct trap_set *set, enum trap_reason reason,
		     const struct portal_state *state, bool within_api_call,
		     struct trap_events *events);

/*
 * Removes, without an event, the first trap installed with `handler` and
 * `context`. False if there is none (it fired, or was never installed).
 */
bool trap_set_remove(struct trap_set *set, IpczTrapEventHandler handler,
		     uintptr_t context);

/* Fires IPCZ_TRAP_REMOVED on every trap and empties the set. */
void trap_set_remove_all(struct trap_set *set, bool within_api_call,
			 struct trap_events *events);

static inline uint32_t trap_set_count(const struct trap_set *set)
{
	return set->list ? set->list->count : 0;
}

static inline bool trap_set_empty(const struct trap_set *set)
{
	return trap_set_count(set) == 0;
}

/* Frees the set's storage; traps still installed are dropped silently. */
void trap_set_destroy(struct trap_set *set);

#endif
