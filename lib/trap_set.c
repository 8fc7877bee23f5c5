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

/*
 * Whether this thread is inside a call of the application that delivers
 * other nodes' messages (ipcz_wait_portal()): what fires there fires
 * within an API call, whichever way the message came.
 */
static _Thread_local unsigned int delivering_in_api_call;

void trap_events_enter_api_delivery(void)
{
	delivering_in_api_call++;
}

void trap_events_leave_api_delivery(void)
{
	delivering_in_api_call--;
}

void trap_events_dispatch(struct trap_events *events)
{
	IpczTrapConditionFlags extra =
		delivering_in_api_call ? IPCZ_TRAP_WITHIN_API_CALL : 0;
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
			.condition_flags = event->flags | extra,
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
	if (trap_set_count(set) == (set->list ? set->list->capacity : 0)) {
		uint32_t capacity = set->list ? set->list->capacity * 2 : 1;
		struct trap_list *grown;

		grown = realloc(set->list, sizeof(*grown) +
						   capacity * sizeof(*trap));
		if (!grown)
			return IPCZ_RESULT_RESOURCE_EXHAUSTED;
		if (!set->list)
			grown->count = 0;
		grown->capacity = capacity;
		set->list = grown;
	}
	trap = &set->list->traps[set->list->count++];
	trap->flags = conditions->flags;
	trap->min_local_parcels = conditions->min_local_parcels;
	trap->min_local_bytes = conditions->min_local_bytes;
	trap->handler = handler;
	trap->context = context;
	return IPCZ_RESULT_OK;
}

void trap_set_destroy(struct trap_set *set)
{
	free(set->list);
	set->list = NULL;
}

void trap_set_update(struct trap_set *set, enum trap_reason reason,
		     const struct portal_state *state, bool within_api_call,
		     struct trap_events *events)
{
	uint32_t i = 0;

	while (i < trap_set_count(set)) {
		struct trap *trap = &set->list->traps[i];
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
		memmove(trap, trap + 1,
			(set->list->count - i - 1) * sizeof(*trap));
		set->list->count--;
	}
	if (set->list && set->list->count == 0)
		trap_set_destroy(set);
}

bool trap_set_remove(struct trap_set *set, IpczTrapEventHandler handler,
		     uintptr_t context)
{
	uint32_t i;

	for (i = 0; i < trap_set_count(set); i++) {
		struct trap *trap = &set->list->traps[i];

		if (trap->handler != handler || trap->context != context)
			continue;
		memmove(trap, trap + 1,
			(set->list->count - i - 1) * sizeof(*trap));
		if (--set->list->count == 0)
			trap_set_destroy(set);
		return true;
	}
	return false;
}

void trap_set_remove_all(struct trap_set *set, bool within_api_call,
			 struct trap_events *events)
{
	uint32_t i;

	for (i = 0; i < trap_set_count(set); i++) {
		struct trap_event event = {
			.handler = set->list->traps[i].handler,
			.context = set->list->traps[i].context,
			.flags = IPCZ_TRAP_REMOVED,
		};

		if (within_api_call)
			event.flags |= IPCZ_TRAP_WITHIN_API_CALL;
		defer_event(events, &event);
	}
	trap_set_destroy(set);
}
