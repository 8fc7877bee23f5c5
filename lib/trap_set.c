// SPDX-License-Identifier: MIT
#include "lib/trap_set.h"

#include <stdlib.h>
#include <string.h>

void trap_events_init(struct trap_events *events)
{
	events->events = events->inline_events;
	events->count = 0;
	events->capacity = TRAP_EVENTS_INLINE;
}

/*
 * Queues one event. Losing an event would break the promise that every
 * installed trap sees exactly one handler call, so running out of memory
 * here is fatal.
 */
static void defer_event(struct trap_events *events,
			const struct trap_event *event)
{
	if (events->count == events->capacity) {
		uint32_t capacity = events->capacity * 2;
		struct trap_event *grown = malloc(capacity * sizeof(*grown));

		if (!grown)
			abort();
		memcpy(grown, events->events,
		       events->count * sizeof(*grown));
		if (events->events != events->inline_events)
			free(events->events);
		events->events = grown;
		events->capacity = capacity;
	}
	events->events[events->count++] = *event;
}

void trap_events_dispatch(struct trap_events *events)
{
	uint32_t i;

	for (i = 0; i < events->count; i++) {
		const struct trap_event *event = &events->events[i];
		const struct IpczPortalStatus status = {
			.size = sizeof(status),
			.flags = event->state.flags,
			.num_local_parcels = event->state.num_local_parcels,
			.num_local_bytes = event->state.num_local_bytes,
		};
		const struct IpczTrapEvent trap_event = {
			.size = sizeof(trap_event),
			.context = event->context,
			.condition_flags = event->flags,
			.status = &status,
		};

		event->handler(&trap_event);
	}
	if (events->events != events->inline_events)
		free(events->events);
	trap_events_init(events);
}

static IpczTrapConditionFlags satisfied_flags(IpczTrapConditionFlags wanted,
					      size_t min_parcels,
					      size_t min_bytes,
					      const struct portal_state *state,
					      enum trap_reason reason)
{
	IpczTrapConditionFlags flags = 0;

	if ((wanted & IPCZ_TRAP_PEER_CLOSED) &&
	    (state->flags & IPCZ_PORTAL_STATUS_PEER_CLOSED))
		flags |= IPCZ_TRAP_PEER_CLOSED;
	if ((wanted & IPCZ_TRAP_DEAD) &&
	    (state->flags & IPCZ_PORTAL_STATUS_DEAD))
		flags |= IPCZ_TRAP_DEAD;
	if ((wanted & IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS) &&
	    state->num_local_parcels > min_parcels)
		flags |= IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS;
	if ((wanted & IPCZ_TRAP_ABOVE_MIN_LOCAL_BYTES) &&
	    state->num_local_bytes > min_bytes)
		flags |= IPCZ_TRAP_ABOVE_MIN_LOCAL_BYTES;
	/* A new parcel is an edge, never a standing condition. */
	if ((wanted & IPCZ_TRAP_NEW_LOCAL_PARCEL) &&
	    reason == TRAP_REASON_NEW_LOCAL_PARCEL)
		flags |= IPCZ_TRAP_NEW_LOCAL_PARCEL;
	return flags;
}

IpczResult trap_set_add(struct trap_set *set,
			const struct IpczTrapConditions *conditions,
			IpczTrapEventHandler handler, uintptr_t context,
			const struct portal_state *state,
			IpczTrapConditionFlags *satisfied,
			struct IpczPortalStatus *status)
{
	IpczTrapConditionFlags flags;
	struct trap *trap;

	flags = satisfied_flags(conditions->flags,
				conditions->min_local_parcels,
				conditions->min_local_bytes, state,
				TRAP_REASON_INSTALL);
	if (flags) {
		if (satisfied)
			*satisfied = flags;
		if (status) {
			if (status->size > sizeof(*status))
				status->size = sizeof(*status);
			status->flags = state->flags;
			status->num_local_parcels = state->num_local_parcels;
			status->num_local_bytes = state->num_local_bytes;
		}
		return IPCZ_RESULT_FAILED_PRECONDITION;
	}
	if (set->count == set->capacity) {
		uint32_t capacity = set->capacity ? set->capacity * 2 : 1;
		struct trap *grown = realloc(set->traps,
					     capacity * sizeof(*grown));

		if (!grown)
			return IPCZ_RESULT_RESOURCE_EXHAUSTED;
		set->traps = grown;
		set->capacity = capacity;
	}
	trap = &set->traps[set->count++];
	trap->flags = conditions->flags;
	trap->min_local_parcels = conditions->min_local_parcels;
	trap->min_local_bytes = conditions->min_local_bytes;
	trap->handler = handler;
	trap->context = context;
	return IPCZ_RESULT_OK;
}

static void release_storage(struct trap_set *set)
{
	free(set->traps);
	set->traps = NULL;
	set->capacity = 0;
}

void trap_set_update(struct trap_set *set, enum trap_reason reason,
		     const struct portal_state *state, bool within_api_call,
		     struct trap_events *events)
{
	uint32_t i = 0;

	while (i < set->count) {
		struct trap *trap = &set->traps[i];
		struct trap_event event;

		event.flags = satisfied_flags(trap->flags,
					      trap->min_local_parcels,
					      trap->min_local_bytes, state,
					      reason);
		if (!event.flags) {
			i++;
			continue;
		}
		if (within_api_call)
			event.flags |= IPCZ_TRAP_WITHIN_API_CALL;
		event.handler = trap->handler;
		event.context = trap->context;
		event.state = *state;
		defer_event(events, &event);
		/* Keep installation order for the traps that remain. */
		memmove(trap, trap + 1, (set->count - i - 1) * sizeof(*trap));
		set->count--;
	}
	if (set->count == 0)
		release_storage(set);
}

void trap_set_remove_all(struct trap_set *set, bool within_api_call,
			 struct trap_events *events)
{
	uint32_t i;

	for (i = 0; i < set->count; i++) {
		struct trap_event event = {
			.handler = set->traps[i].handler,
			.context = set->traps[i].context,
			.flags = IPCZ_TRAP_REMOVED,
		};

		if (within_api_call)
			event.flags |= IPCZ_TRAP_WITHIN_API_CALL;
		defer_event(events, &event);
	}
	set->count = 0;
	release_storage(set);
}
