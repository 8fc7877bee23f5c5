// SPDX-License-Identifier: MIT
/*
 * Routers: portals, the proxies a transfer to another node leaves behind,
 * and merged portals joined by a bridge; their edges, cuts and flushing,
 * the transfer fast paths and the all-local merge bypass. Bypass across
 * nodes is in router_bypass.c (Documentation/route-reduction.rst).
 */
#include "lib/router.h"

#include <stdlib.h>
#include <string.h>

#include "lib/handle_table.h"
#include "lib/local_router_link.h"
#include "lib/parcel_wrapper.h"
#include "lib/remote_router_link.h"
#include "lib/router_bypass.h"
#include "lib/transaction_set.h"

struct router *router_create(void)
{
	struct router *router = calloc(1, sizeof(*router));

	if (!router)
		return NULL;
	api_object_init(&router->object, API_OBJECT_PORTAL);
	route_edge_init(&router->outward);
	seq_queue_init(&router->inbound, 0);
	seq_queue_init(&router->outbound, 0);
	return router;
}

static void release_edge(struct route_edge *edge)
{
	struct router_link *link;

	link = route_edge_release_primary(edge);
	if (link) {
		link->ops->deactivate(link);
		router_link_unref(link);
	}
	link = route_edge_release_decaying(edge);
	if (link) {
		link->ops->deactivate(link);
		router_link_unref(link);
	}
}

void router_destroy(struct router *router)
{
	router_bypass_free(router);
	release_edge(&router->outward);
	if (router->inward) {
		release_edge(router->inward);
		free(router->inward);
	}
	if (router->bridge) {
		release_edge(router->bridge);
		free(router->bridge);
	}
	seq_queue_destroy(&router->inbound, parcel_drop);
	seq_queue_destroy(&router->outbound, parcel_drop);
	transaction_set_destroy(router->transactions);
	trap_set_destroy(&router->traps);
	free(router);
}

bool router_create_pair(struct router **first, struct router **second)
{
	struct router *a = router_create();
	struct router *b = router_create();
	struct router_link *link_a, *link_b;

	if (!a || !b ||
	    !local_router_link_create_pair(LINK_CENTRAL, a, b, true, &link_a,
					   &link_b)) {
		free(a);
		free(b);
		return false;
	}
	route_edge_set_primary(&a->outward, link_a);
	route_edge_set_primary(&b->outward, link_b);
	*first = a;
	*second = b;
	return true;
}

static struct portal_state state_of(const struct router *router)
{
	struct portal_state state = {
		.flags = router->status_flags,
		.num_local_parcels = seq_queue_available(&router->inbound),
		.num_local_bytes = seq_queue_available_bytes(&router->inbound),
	};

	return state;
}

/* Marks the portal dead once its peer is gone and everything was read. */
static void update_dead_locked(struct router *router)
{
	if (seq_queue_fully_consumed(&router->inbound))
		router->status_flags |= IPCZ_PORTAL_STATUS_PEER_CLOSED |
					IPCZ_PORTAL_STATUS_DEAD;
}

/* Pops the next inbound parcel and tells the traps; lock held. */
static struct parcel *take_next_inbound_locked(struct router *router,
					       struct trap_events *events)
{
	struct parcel *parcel = seq_queue_pop(&router->inbound);
	struct portal_state state;

	update_dead_locked(router);
	state = state_of(router);
	trap_set_update(&router->traps, TRAP_REASON_LOCAL_PARCEL_CONSUMED,
			&state, true, events);
	return parcel;
}

IpczResult router_close(struct router *router)
{
	struct trap_events events;
	struct transaction_set *transactions;

	trap_events_init(&events);
	ipcz_lock(&router->lock);
	seq_queue_set_final_length(&router->outbound,
				   seq_queue_length(&router->outbound));
	trap_set_remove_all(&router->traps, true, &events);
	transactions = router->transactions;
	router->transactions = NULL;
	router->exclusive_get = 0;
	ipcz_unlock(&router->lock);

	/* Open transactions are aborted by closing the portal. */
	transaction_set_destroy(transactions);
	trap_events_dispatch(&events);
	router_flush(router, OP_API_CALL, false);
	return IPCZ_RESULT_OK;
}

bool router_can_send_from(struct router *router, struct router *sender)
{
	struct router *peer;

	if (router == sender)
		return false;
	ipcz_lock(&router->lock);
	peer = route_edge_local_peer(&router->outward);
	ipcz_unlock(&router->lock);
	router_unref(peer);
	return peer != sender;
}

void router_query_status(struct router *router,
			 struct IpczPortalStatus *status)
{
	struct portal_state state;

	ipcz_lock(&router->lock);
	state = state_of(router);
	ipcz_unlock(&router->lock);
	if (status->size > sizeof(*status))
		status->size = sizeof(*status);
	status->flags = state.flags;
	status->num_local_parcels = state.num_local_parcels;
	status->num_local_bytes = state.num_local_bytes;
}

static bool is_peer_closed(struct router *router)
{
	bool closed;

	ipcz_lock(&router->lock);
	closed = (router->status_flags & IPCZ_PORTAL_STATUS_PEER_CLOSED) != 0;
	ipcz_unlock(&router->lock);
	return closed;
}

/*
 * Looks up every handle to be attached to a parcel put into `sender`,
 * taking a reference to each object. Fails (holding nothing) if a handle
 * is invalid, repeated, or names an object that cannot travel this way.
 */
static bool acquire_objects(struct router *sender, const IpczHandle *handles,
			    size_t count, struct api_object ***out)
{
	struct api_object **objects;
	size_t i, j;

	*out = NULL;
	if (count == 0)
		return true;
	if (count > UINT32_MAX)
		return false;
	objects = calloc(count, sizeof(*objects));
	if (!objects)
		return false;
	for (i = 0; i < count; i++) {
		for (j = 0; j < i; j++) {
			if (handles[j] == handles[i])
				goto fail;
		}
		objects[i] = handle_table_get(handles[i], API_OBJECT_ANY);
		if (!objects[i] || !api_object_can_send_from(objects[i], sender))
			goto fail;
	}
	*out = objects;
	return true;
fail:
	for (j = 0; j <= i && j < count; j++) {
		if (objects[j])
			api_object_unref(objects[j]);
	}
	free(objects);
	return false;
}

static void release_objects(struct api_object **objects, size_t count)
{
	size_t i;

	for (i = 0; objects && i < count; i++)
		api_object_unref(objects[i]);
	free(objects);
}

/* After a successful send, the handles no longer belong to the caller. */
static void retire_handles(const IpczHandle *handles, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		struct api_object *object =
			handle_table_take(handles[i], API_OBJECT_ANY);

		if (object)
			api_object_unref(object);
	}
}

/*
 * Numbers the parcel and sends it, directly when nothing is queued ahead
 * of it, or through the outbound queue. Takes the parcel in every case.
 */
static IpczResult send_outbound_parcel(struct router *router,
				       struct parcel *parcel)
{
	struct router_link *link = NULL;
	uint64_t n;

	ipcz_lock(&router->lock);
	if (seq_queue_final_known(&router->inbound) ||
	    seq_queue_final_known(&router->outbound)) {
		ipcz_unlock(&router->lock);
		return IPCZ_RESULT_NOT_FOUND;
	}
	n = seq_queue_length(&router->outbound);
	parcel->seq = n;
	if (router->outward.primary &&
	    !route_edge_use_decaying(&router->outward, n) &&
	    seq_queue_skip(&router->outbound, n)) {
		link = router->outward.primary;
		router_link_ref(link);
	} else if (!seq_queue_push(&router->outbound, n, parcel,
				   parcel->data_size)) {
		ipcz_unlock(&router->lock);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	ipcz_unlock(&router->lock);

	if (link) {
		link->ops->accept_parcel(link, OP_API_CALL, parcel);
		router_link_unref(link);
	} else {
		router_flush(router, OP_API_CALL, false);
	}
	return IPCZ_RESULT_OK;
}

/* Detaches objects from a parcel that could not be sent, then frees it. */
static void discard_unsent(struct parcel *parcel)
{
	parcel_release_objects(parcel);
	parcel_destroy(parcel);
}

static IpczResult commit_and_send(struct router *router, struct parcel *parcel,
				  struct api_object **objects,
				  const IpczHandle *handles, size_t num_handles)
{
	IpczResult result;

	parcel_set_objects(parcel, objects, (uint32_t)num_handles);
	result = send_outbound_parcel(router, parcel);
	if (result != IPCZ_RESULT_OK) {
		discard_unsent(parcel);
		return result;
	}
	retire_handles(handles, num_handles);
	return IPCZ_RESULT_OK;
}

IpczResult router_put(struct router *router, const void *data,
		      size_t num_bytes, const IpczHandle *handles,
		      size_t num_handles)
{
	struct api_object **objects;
	struct parcel *parcel;

	if (!acquire_objects(router, handles, num_handles, &objects))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (is_peer_closed(router)) {
		release_objects(objects, num_handles);
		return IPCZ_RESULT_NOT_FOUND;
	}
	parcel = parcel_create_for_copy(num_bytes);
	if (!parcel) {
		release_objects(objects, num_handles);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	if (num_bytes)
		memcpy(parcel->data, data, num_bytes);
	parcel_commit(parcel, num_bytes);
	return commit_and_send(router, parcel, objects, handles, num_handles);
}

IpczResult router_begin_put(struct router *router, IpczBeginPutFlags flags,
			    volatile void **data, size_t *num_bytes,
			    IpczTransaction *transaction)
{
	size_t capacity = num_bytes ? *num_bytes : 0;
	struct parcel *parcel;
	IpczTransaction added;
	void *buffer;

	if (is_peer_closed(router))
		return IPCZ_RESULT_NOT_FOUND;
	parcel = parcel_create(capacity);
	if (!parcel)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	/*
	 * Read what the caller gets back before unlocking: once the parcel is
	 * in the set, a Close() of this portal on another thread may free it.
	 */
	capacity = parcel->capacity;
	buffer = capacity ? parcel->data : NULL;
	ipcz_lock(&router->lock);
	added = transaction_set_add(&router->transactions, parcel,
				    TRANSACTION_PUT);
	ipcz_unlock(&router->lock);
	if (!added) {
		parcel_destroy(parcel);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	if (num_bytes)
		*num_bytes = capacity;
	if (data)
		*data = buffer;
	*transaction = added;
	return IPCZ_RESULT_OK;
}

IpczResult router_end_put(struct router *router, IpczTransaction transaction,
			  size_t num_bytes_produced, const IpczHandle *handles,
			  size_t num_handles, IpczEndPutFlags flags)
{
	const bool abort_put = (flags & IPCZ_END_PUT_ABORT) != 0;
	struct api_object **objects = NULL;
	struct parcel *parcel;

	if (!abort_put &&
	    !acquire_objects(router, handles, num_handles, &objects))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	ipcz_lock(&router->lock);
	parcel = transaction_set_find(router->transactions, transaction,
				      TRANSACTION_PUT);
	if (parcel && (abort_put || num_bytes_produced <= parcel->capacity))
		transaction_set_remove(router->transactions, transaction,
				       TRANSACTION_PUT);
	else
		parcel = NULL;
	ipcz_unlock(&router->lock);
	if (!parcel) {
		release_objects(objects, num_handles);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	if (abort_put) {
		parcel_destroy(parcel);
		return IPCZ_RESULT_OK;
	}
	parcel_commit(parcel, num_bytes_produced);
	return commit_and_send(router, parcel, objects, handles, num_handles);
}

IpczResult router_get(struct router *router, IpczGetFlags flags, void *data,
		      size_t *num_bytes, IpczHandle *handles,
		      size_t *num_handles, IpczHandle *parcel_out)
{
	const bool partial = (flags & IPCZ_GET_PARTIAL) != 0;
	const size_t data_capacity = num_bytes ? *num_bytes : 0;
	const size_t handle_capacity = num_handles ? *num_handles : 0;
	struct trap_events events;
	struct parcel *parcel;
	size_t data_size, handle_count;

	ipcz_lock(&router->lock);
	if (seq_queue_fully_consumed(&router->inbound)) {
		ipcz_unlock(&router->lock);
		return IPCZ_RESULT_NOT_FOUND;
	}
	parcel = seq_queue_peek(&router->inbound);
	if (!parcel) {
		ipcz_unlock(&router->lock);
		return IPCZ_RESULT_UNAVAILABLE;
	}
	if ((data_capacity && !data) || (handle_capacity && !handles)) {
		ipcz_unlock(&router->lock);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	if (router->exclusive_get) {
		ipcz_unlock(&router->lock);
		return IPCZ_RESULT_ALREADY_EXISTS;
	}
	data_size = parcel->data_size;
	handle_count = parcel->num_objects;
	if (partial) {
		if (data_size > data_capacity)
			data_size = data_capacity;
		if (handle_count > handle_capacity)
			handle_count = handle_capacity;
	}
	if (num_bytes)
		*num_bytes = data_size;
	if (num_handles)
		*num_handles = handle_count;
	if (!partial &&
	    (data_size > data_capacity || handle_count > handle_capacity)) {
		ipcz_unlock(&router->lock);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	if (data_size)
		memcpy(data, parcel->data, data_size);
	trap_events_init(&events);
	take_next_inbound_locked(router, &events);
	ipcz_unlock(&router->lock);

	parcel_consume_handles(parcel, handles, handle_count);
	if (parcel_out)
		*parcel_out = parcel_wrapper_wrap(parcel);
	else
		parcel_destroy(parcel);
	trap_events_dispatch(&events);
	router_flush(router, OP_API_CALL, false);
	return IPCZ_RESULT_OK;
}

IpczResult router_begin_get(struct router *router, IpczBeginGetFlags flags,
			    const volatile void **data, size_t *num_bytes,
			    IpczHandle *handles, size_t *num_handles,
			    IpczTransaction *transaction)
{
	const bool overlapped = (flags & IPCZ_BEGIN_GET_OVERLAPPED) != 0;
	const bool partial = (flags & IPCZ_BEGIN_GET_PARTIAL) != 0;
	const size_t handle_capacity = num_handles ? *num_handles : 0;
	struct trap_events events;
	struct parcel *parcel;
	size_t handle_count;
	IpczResult result = IPCZ_RESULT_OK;

	if (handle_capacity && !handles)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	trap_events_init(&events);
	ipcz_lock(&router->lock);
	if (router->exclusive_get ||
	    (!overlapped &&
	     transaction_set_count(router->transactions, TRANSACTION_GET))) {
		result = IPCZ_RESULT_ALREADY_EXISTS;
		goto out;
	}
	parcel = seq_queue_peek(&router->inbound);
	if (!parcel) {
		result = seq_queue_fully_consumed(&router->inbound) ?
				 IPCZ_RESULT_NOT_FOUND :
				 IPCZ_RESULT_UNAVAILABLE;
		goto out;
	}
	handle_count = parcel->num_objects;
	if (handle_count > handle_capacity) {
		if (!partial) {
			if (num_handles)
				*num_handles = handle_count;
			result = IPCZ_RESULT_RESOURCE_EXHAUSTED;
			goto out;
		}
		handle_count = handle_capacity;
	}
	if (overlapped) {
		*transaction = transaction_set_add(&router->transactions,
						   parcel, TRANSACTION_GET);
		if (!*transaction) {
			result = IPCZ_RESULT_RESOURCE_EXHAUSTED;
			goto out;
		}
		take_next_inbound_locked(router, &events);
	} else {
		router->exclusive_get = 1;
		*transaction = (IpczTransaction)(uintptr_t)parcel;
	}
	/*
	 * The handles now belong to the caller, even if the transaction is
	 * aborted later. The parcel cannot go away meanwhile: only this
	 * transaction can consume it.
	 */
	parcel_consume_handles(parcel, handles, handle_count);
	if (num_handles)
		*num_handles = handle_count;
	if (data)
		*data = parcel->data_size ? parcel->data : NULL;
	if (num_bytes)
		*num_bytes = parcel->data_size;
out:
	ipcz_unlock(&router->lock);
	trap_events_dispatch(&events);
	if (result == IPCZ_RESULT_OK && overlapped)
		router_flush(router, OP_API_CALL, false);
	return result;
}

IpczResult router_end_get(struct router *router, IpczTransaction transaction,
			  IpczEndGetFlags flags, IpczHandle *parcel_out)
{
	const bool abort_get = (flags & IPCZ_END_GET_ABORT) != 0;
	struct trap_events events;
	struct parcel *parcel = NULL;
	struct parcel *head;

	trap_events_init(&events);
	ipcz_lock(&router->lock);
	head = seq_queue_peek(&router->inbound);
	if (router->exclusive_get && head &&
	    transaction == (IpczTransaction)(uintptr_t)head) {
		router->exclusive_get = 0;
		if (abort_get) {
			ipcz_unlock(&router->lock);
			return IPCZ_RESULT_OK;
		}
		parcel = take_next_inbound_locked(router, &events);
	} else {
		parcel = transaction_set_remove(router->transactions,
						transaction, TRANSACTION_GET);
		if (!parcel) {
			ipcz_unlock(&router->lock);
			return IPCZ_RESULT_INVALID_ARGUMENT;
		}
	}
	ipcz_unlock(&router->lock);

	if (!abort_get && parcel_out)
		*parcel_out = parcel_wrapper_wrap(parcel);
	else
		parcel_destroy(parcel);
	trap_events_dispatch(&events);
	router_flush(router, OP_API_CALL, false);
	return IPCZ_RESULT_OK;
}

IpczResult router_trap(struct router *router,
		       const struct IpczTrapConditions *conditions,
		       IpczTrapEventHandler handler, uintptr_t context,
		       IpczTrapConditionFlags *satisfied,
		       struct IpczPortalStatus *status)
{
	struct portal_state state;
	IpczResult result;

	ipcz_lock(&router->lock);
	state = state_of(router);
	result = trap_set_add(&router->traps, conditions, handler, context,
			      &state, satisfied, status);
	ipcz_unlock(&router->lock);
	return result;
}

bool router_remove_trap(struct router *router, IpczTrapEventHandler handler,
			uintptr_t context)
{
	bool removed;

	ipcz_lock(&router->lock);
	removed = trap_set_remove(&router->traps, handler, context);
	ipcz_unlock(&router->lock);
	return removed;
}

static bool has_local_peer(struct router *router, struct router *other)
{
	struct router *peer;

	ipcz_lock(&router->lock);
	peer = route_edge_local_peer(&router->outward);
	ipcz_unlock(&router->lock);
	router_unref(peer);
	return peer == other;
}

static bool is_unused_locked(const struct router *router)
{
	return seq_queue_current(&router->inbound) == 0 &&
	       seq_queue_length(&router->outbound) == 0;
}

IpczResult router_merge(struct router *router, struct router *other)
{
	struct router_link *link_a, *link_b;
	IpczResult result = IPCZ_RESULT_OK;

	if (router == other || has_local_peer(router, other))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	ipcz_lock_pair(&router->lock, &other->lock);
	if (router->bridge || other->bridge || router->inward ||
	    other->inward) {
		result = IPCZ_RESULT_INVALID_ARGUMENT;
	} else if (!is_unused_locked(router) || !is_unused_locked(other)) {
		result = IPCZ_RESULT_FAILED_PRECONDITION;
	} else {
		router->bridge = malloc(sizeof(*router->bridge));
		other->bridge = malloc(sizeof(*other->bridge));
		if (!router->bridge || !other->bridge ||
		    !local_router_link_create_pair(LINK_BRIDGE, router, other,
						   true, &link_a, &link_b)) {
			free(router->bridge);
			free(other->bridge);
			router->bridge = other->bridge = NULL;
			result = IPCZ_RESULT_RESOURCE_EXHAUSTED;
		} else {
			route_edge_init(router->bridge);
			route_edge_init(other->bridge);
			route_edge_set_primary(router->bridge, link_a);
			route_edge_set_primary(other->bridge, link_b);
		}
	}
	ipcz_unlock_pair(&router->lock, &other->lock);
	if (result != IPCZ_RESULT_OK)
		return result;
	router_flush(router, OP_API_CALL, false);
	router_flush(other, OP_API_CALL, false);
	return IPCZ_RESULT_OK;
}

void router_accept_inbound_parcel(struct router *router, enum op_context ctx,
				  struct parcel *parcel)
{
	struct trap_events events;
	uint64_t n = parcel->seq;
	bool accepted;

	trap_events_init(&events);
	ipcz_lock(&router->lock);
	accepted = seq_queue_push(&router->inbound, n, parcel,
				  parcel->data_size);
	/*
	 * Traps hear only of parcels the application can read now: one that
	 * arrived ahead of a gap fires nothing until the gap fills.
	 */
	if (accepted && !router->bridge && !router->inward &&
	    n < seq_queue_length(&router->inbound)) {
		struct portal_state state = state_of(router);

		trap_set_update(&router->traps, TRAP_REASON_NEW_LOCAL_PARCEL,
				&state, ctx == OP_API_CALL, &events);
	}
	ipcz_unlock(&router->lock);
	/* A route cut short by disconnection may still deliver stragglers. */
	if (!accepted)
		parcel_destroy(parcel);
	trap_events_dispatch(&events);
	router_flush(router, ctx, false);
}

void router_accept_outbound_parcel(struct router *router, enum op_context ctx,
				   struct parcel *parcel)
{
	bool accepted;

	ipcz_lock(&router->lock);
	accepted = seq_queue_push(&router->outbound, parcel->seq, parcel,
				  parcel->data_size);
	ipcz_unlock(&router->lock);
	if (!accepted)
		parcel_destroy(parcel);
	router_flush(router, ctx, false);
}

void router_accept_route_closure(struct router *router, enum op_context ctx,
				 enum link_type from, uint64_t length)
{
	struct trap_events events;
	bool changed = false;

	trap_events_init(&events);
	ipcz_lock(&router->lock);
	if (from == LINK_BRIDGE) {
		/* The merged route's far end closed: our outbound ends too. */
		changed = seq_queue_set_final_length(&router->outbound, length);
		if (changed && router->bridge) {
			router_link_unref(route_edge_release_primary(router->bridge));
			router_link_unref(route_edge_release_decaying(router->bridge));
			free(router->bridge);
			router->bridge = NULL;
		}
	} else if (from == LINK_PERIPHERAL_INWARD) {
		changed = seq_queue_set_final_length(&router->outbound, length);
	} else {
		changed = seq_queue_set_final_length(&router->inbound, length);
		if (changed && !router->bridge && !router->inward) {
			struct portal_state state;

			router->peer_closed = 1;
			update_dead_locked(router);
			state = state_of(router);
			trap_set_update(&router->traps,
					TRAP_REASON_PEER_CLOSED, &state,
					ctx == OP_API_CALL, &events);
		}
	}
	ipcz_unlock(&router->lock);
	trap_events_dispatch(&events);
	if (changed)
		router_flush(router, ctx, false);
}

void router_accept_route_disconnected(struct router *router,
				      enum op_context ctx, enum link_type from)
{
	struct router_link *links[5] = { NULL };
	struct trap_events events;
	int i;

	trap_events_init(&events);
	ipcz_lock(&router->lock);
	router->disconnected = 1;
	links[4] = router_bypass_take_pending(router);
	if (from == LINK_PERIPHERAL_INWARD)
		seq_queue_force_terminate(&router->outbound, parcel_drop);
	else
		seq_queue_force_terminate(&router->inbound, parcel_drop);
	links[0] = route_edge_release_primary(&router->outward);
	links[1] = route_edge_release_decaying(&router->outward);
	if (router->inward) {
		links[2] = route_edge_release_primary(router->inward);
		links[3] = route_edge_release_decaying(router->inward);
	} else if (router->bridge) {
		links[2] = route_edge_release_primary(router->bridge);
		links[3] = route_edge_release_decaying(router->bridge);
	} else {
		struct portal_state state;

		router->peer_closed = 1;
		update_dead_locked(router);
		state = state_of(router);
		trap_set_update(&router->traps, TRAP_REASON_PEER_CLOSED, &state,
				ctx == OP_API_CALL, &events);
	}
	ipcz_unlock(&router->lock);
	trap_events_dispatch(&events);
	for (i = 0; i < 5; i++) {
		if (!links[i])
			continue;
		links[i]->ops->accept_route_disconnected(links[i], ctx);
		links[i]->ops->deactivate(links[i]);
		router_link_unref(links[i]);
	}
	router_flush(router, ctx, false);
}

/*
 * Whether the router waits for a link registered for it but not adopted
 * yet (a transfer or bypass announced a sublink whose link is set only
 * after the message went out): losing such a link breaks the route.
 */
static bool awaits_link_locked(const struct router *router)
{
	const struct route_edge *edges[2] = { &router->outward,
					      router->inward };
	int i;

	for (i = 0; i < 2; i++) {
		const struct route_edge *edge = edges[i];

		if (!edge)
			continue;
		if (!edge->primary || (edge->decay && !edge->decay->link))
			return true;
	}
	return router->bridge != NULL;
}

enum lost_link_verdict {
	LOST_BREAKS_ROUTE,	/* the route depended on it */
	LOST_IS_STALE,		/* the router no longer holds it */
	LOST_IS_DONE,		/* a decay that owed nothing more */
	LOST_IS_PENDING,	/* a decay whose incoming cut is unknown */
};

/*
 * What losing `edge`'s decaying link means, given what went over it
 * (`sent`) and came over it (`received`). The decay is marked lost: if its
 * incoming cut is still unknown (a bypass whose far end has not told its
 * cut yet), the verdict waits for that cut (router_flush() checks).
 */
static enum lost_link_verdict judge_lost_decay(struct route_edge *edge,
					       uint64_t sent,
					       uint64_t received)
{
	const struct route_edge_decay *decay = edge->decay;

	if (decay->length_to != SEQ_NONE && decay->length_from != SEQ_NONE &&
	    sent >= decay->length_to && received >= decay->length_from)
		return LOST_IS_DONE;
	edge->decay->lost = true;
	return route_edge_lost_decay_owes(edge, sent, received) ?
		       LOST_BREAKS_ROUTE : LOST_IS_PENDING;
}

/*
 * What losing `link` (not dereferenced: it may be gone) means to the
 * route. Losing a primary link breaks it. A decaying link matters only
 * while parcels are still owed over it, either way. A link the router no
 * longer holds at all (dropped after a decay, its node link going down
 * before it was unregistered) is nothing to the route.
 */
static enum lost_link_verdict judge_lost_link(struct router *router,
					      const struct router_link *link)
{
	struct route_edge *inward = router->inward;
	const struct route_edge *bridge = router->bridge;

	if (link == router->outward.primary ||
	    (inward && link == inward->primary) ||
	    (bridge && (link == bridge->primary ||
			link == route_edge_decaying_link(bridge))))
		return LOST_BREAKS_ROUTE;
	if (link == route_edge_decaying_link(&router->outward))
		return judge_lost_decay(&router->outward,
					seq_queue_current(&router->outbound),
					seq_queue_length(&router->inbound));
	if (inward && link == route_edge_decaying_link(inward))
		return judge_lost_decay(inward,
					seq_queue_current(&router->inbound),
					seq_queue_length(&router->outbound));
	return awaits_link_locked(router) ? LOST_BREAKS_ROUTE : LOST_IS_STALE;
}

void router_accept_link_disconnected(struct router *router,
				     enum op_context ctx, enum link_type from,
				     const struct router_link *link)
{
	struct router_link *pending = NULL;
	enum lost_link_verdict verdict;

	ipcz_lock(&router->lock);
	verdict = router->disconnected ? LOST_BREAKS_ROUTE :
					 judge_lost_link(router, link);
	if (verdict == LOST_IS_PENDING)
		pending = router_bypass_pending_ref_locked(router);
	ipcz_unlock(&router->lock);
	switch (verdict) {
	case LOST_BREAKS_ROUTE:
		router_accept_route_disconnected(router, ctx, from);
		break;
	case LOST_IS_DONE:
		router_flush(router, ctx, false);
		break;
	case LOST_IS_PENDING:
		/*
		 * The proxy is gone: whether the far end took over the new
		 * link (its cut is then on the way) can only be asked there.
		 */
		if (pending) {
			router_bypass_send_probe(pending, ctx);
			router_link_unref(pending);
		}
		break;
	case LOST_IS_STALE:
		break;
	}
}

/*
 * Whether a decay whose link was lost turned out to owe parcels (its cuts
 * became known): the route is broken then. Sets *from to the side.
 */
static bool lost_decay_breaks_locked(struct router *router,
				     enum link_type *from)
{
	if (route_edge_lost_decay_owes(&router->outward,
				       seq_queue_current(&router->outbound),
				       seq_queue_length(&router->inbound))) {
		*from = LINK_CENTRAL;
		return true;
	}
	if (router->inward &&
	    route_edge_lost_decay_owes(router->inward,
				       seq_queue_current(&router->inbound),
				       seq_queue_length(&router->outbound))) {
		*from = LINK_PERIPHERAL_INWARD;
		return true;
	}
	return false;
}

/* Parcels collected under the router's lock, sent after it is released. */
struct flush_list {
	struct flush_item {
		struct router_link *link;
		struct parcel *parcel;
	} *items, inline_items[8];
	size_t count, capacity;
};

static void flush_list_init(struct flush_list *list)
{
	list->items = list->inline_items;
	list->count = 0;
	list->capacity = 8;
}

static bool flush_list_add(struct flush_list *list, struct router_link *link,
			   struct parcel *parcel)
{
	if (list->count == list->capacity) {
		size_t capacity = list->capacity * 2;
		struct flush_item *grown = malloc(capacity * sizeof(*grown));

		if (!grown)
			return false;
		memcpy(grown, list->items, list->count * sizeof(*grown));
		if (list->items != list->inline_items)
			free(list->items);
		list->items = grown;
		list->capacity = capacity;
	}
	list->items[list->count].link = link;
	list->items[list->count].parcel = parcel;
	list->count++;
	return true;
}

/*
 * Pops parcels from `queue` for transmission along `edge`, stopping at the
 * first one whose link is not known yet (a decay whose cut is unknown, or
 * no primary link). The links are borrowed from the edge: the caller holds
 * references to them across the sends.
 */
static void collect_parcels(struct sequenced_queue *queue,
			    const struct route_edge *edge,
			    struct flush_list *list)
{
	while (seq_queue_has_next(queue)) {
		uint64_t n = seq_queue_current(queue);
		struct router_link *link;

		if (route_edge_use_decaying(edge, n))
			link = route_edge_decaying_link(edge);
		else
			link = edge->primary;
		if (!link || !flush_list_add(list, link, seq_queue_peek(queue)))
			return;
		seq_queue_pop(queue);
	}
}

static struct router_link *ref_link(struct router_link *link)
{
	if (link)
		router_link_ref(link);
	return link;
}

static void deactivate_and_unref(struct router_link *link)
{
	if (link) {
		link->ops->deactivate(link);
		router_link_unref(link);
	}
}

static void maybe_start_bridge_bypass(struct router *router,
				      enum op_context ctx);

/*
 * Whether closure may be sent over `link` now that everything before it
 * went out. Over a central link, only while holding it locked (a bypass
 * could be changing it). Routes crossing nodes are not reduced yet, so a
 * peripheral link towards a proxy never becomes central and closure goes
 * over it as it is; the proxy passes it on.
 */
static bool may_send_closure(struct router_link *link)
{
	if (router_link_is_central(link))
		return router_link_try_lock(link);
	return link->type == LINK_PERIPHERAL_OUTWARD;
}

void router_flush(struct router *router, enum op_context ctx,
		  bool force_bypass)
{
	struct router_link *outward_link, *decaying_outward, *bridge_link = NULL;
	struct router_link *inward_link = NULL, *decaying_inward = NULL;
	struct router_link *dropped_outward = NULL, *dropped_bridge = NULL;
	struct router_link *dropped_inward = NULL, *dropped_inward_decay = NULL;
	struct router_link *dropped_outward_rest[3] = { NULL };
	struct router_link *dead_outward = NULL, *dead_bridge = NULL;
	struct router_link *dead_inward = NULL;
	uint64_t final_outward = SEQ_NONE, final_inward = SEQ_NONE;
	bool on_central, outward_decayed, inward_decayed = false;
	bool stable_outward, stable_inward;
	bool dropped_last_decaying = false, retry_bypass = false;
	struct trap_events events;
	struct flush_list list;
	size_t i;

	enum link_type lost_from = LINK_CENTRAL;
	bool lost_breaks;

	ipcz_lock(&router->lock);
	lost_breaks = !router->disconnected &&
		      lost_decay_breaks_locked(router, &lost_from);
	ipcz_unlock(&router->lock);
	if (lost_breaks) {
		router_accept_route_disconnected(router, ctx, lost_from);
		return;
	}

	trap_events_init(&events);
	flush_list_init(&list);
	ipcz_lock(&router->lock);
	outward_link = ref_link(router->outward.primary);
	decaying_outward = ref_link(route_edge_decaying_link(&router->outward));
	on_central = outward_link && router_link_is_central(outward_link);
	if (router->inward) {
		inward_link = ref_link(router->inward->primary);
		decaying_inward =
			ref_link(route_edge_decaying_link(router->inward));
	}
	if (router->bridge)
		bridge_link = ref_link(
			router->bridge->primary ?
				router->bridge->primary :
				route_edge_decaying_link(router->bridge));

	collect_parcels(&router->outbound, &router->outward, &list);
	outward_decayed = route_edge_maybe_finish_decay(
		&router->outward, seq_queue_current(&router->outbound),
		seq_queue_length(&router->inbound), &dropped_outward);

	if (router->inward) {
		/* A proxy forwards what arrives to the portal it stands for. */
		collect_parcels(&router->inbound, router->inward, &list);
		inward_decayed = route_edge_maybe_finish_decay(
			router->inward, seq_queue_current(&router->inbound),
			seq_queue_length(&router->outbound), &dropped_inward);
	} else if (bridge_link) {
		/* What arrives here leaves through the merged route. */
		collect_parcels(&router->inbound, router->bridge, &list);
		if (route_edge_maybe_finish_decay(
			    router->bridge, seq_queue_current(&router->inbound),
			    seq_queue_current(&router->outbound),
			    &dropped_bridge)) {
			free(router->bridge);
			router->bridge = NULL;
		}
	}

	if (router->peer_closed &&
	    !(router->status_flags & IPCZ_PORTAL_STATUS_PEER_CLOSED) &&
	    !seq_queue_expects_more(&router->inbound)) {
		struct portal_state state;

		/* Everything the peer sent has arrived. */
		router->status_flags |= IPCZ_PORTAL_STATUS_PEER_CLOSED;
		state = state_of(router);
		trap_set_update(&router->traps, TRAP_REASON_PEER_CLOSED,
				&state, ctx == OP_API_CALL, &events);
	}

	stable_outward = outward_link && (!decaying_outward || outward_decayed);
	stable_inward = !decaying_inward || inward_decayed;
	if ((outward_decayed || inward_decayed) && stable_outward &&
	    stable_inward) {
		/* A peer declined or refused a bypass while we changed. */
		retry_bypass = router_bypass_take_retry_locked(router);
		if (on_central) {
			router_link_mark_side_stable(outward_link);
			dropped_last_decaying = true;
		}
	}

	if (outward_link && seq_queue_fully_consumed(&router->outbound) &&
	    may_send_closure(outward_link)) {
		final_outward = router->outbound.final_length;
		dead_outward = route_edge_release_primary(&router->outward);
	} else if (!seq_queue_expects_more(&router->inbound)) {
		/* The other end is gone and all its parcels are here. */
		dead_outward = route_edge_release_primary(&router->outward);
	}

	if (seq_queue_fully_consumed(&router->inbound)) {
		/* Everything from the other end was read or passed on. */
		final_inward = router->inbound.final_length;
		if (router->inward) {
			dead_inward = route_edge_release_primary(router->inward);
		} else if (router->bridge) {
			dead_bridge = route_edge_release_primary(router->bridge);
			if (!dead_bridge)
				dead_bridge = route_edge_release_decaying(
					router->bridge);
			free(router->bridge);
			router->bridge = NULL;
		}
	}
	if (!dead_inward && router->inward && !router->outward.primary &&
	    !router->outward.decay &&
	    seq_queue_fully_consumed(&router->outbound)) {
		/*
		 * A proxy whose inward end closed and whose closure went out:
		 * with no outward link left nothing more comes in, and the
		 * closed end wants nothing, so the inward links go too (the
		 * proxies further in do the same).
		 */
		dead_inward = route_edge_release_primary(router->inward);
		dropped_inward_decay =
			route_edge_release_decaying(router->inward);
	} else if (router->inward && !router->inward->primary &&
		   !router->inward->decay &&
		   seq_queue_fully_consumed(&router->inbound)) {
		/*
		 * The same the other way: the outward end's closure went in
		 * and the inward links are gone, so nothing more goes out.
		 * A bypass this proxy took part in as the outward peer (its
		 * prepared link) cannot matter any more either.
		 */
		dropped_outward_rest[0] =
			route_edge_release_primary(&router->outward);
		dropped_outward_rest[1] =
			route_edge_release_decaying(&router->outward);
		dropped_outward_rest[2] = router_bypass_take_pending(router);
	}
	ipcz_unlock(&router->lock);

	trap_events_dispatch(&events);
	for (i = 0; i < list.count; i++)
		list.items[i].link->ops->accept_parcel(list.items[i].link, ctx,
						       list.items[i].parcel);
	if (list.items != list.inline_items)
		free(list.items);

	deactivate_and_unref(dropped_outward);
	deactivate_and_unref(dropped_inward);
	deactivate_and_unref(dropped_inward_decay);
	for (i = 0; i < 3; i++)
		deactivate_and_unref(dropped_outward_rest[i]);
	router_link_unref(dropped_bridge);

	if (bridge_link && !dead_bridge && stable_outward)
		maybe_start_bridge_bypass(router, ctx);

	if (dead_outward) {
		if (final_outward != SEQ_NONE)
			dead_outward->ops->accept_route_closure(dead_outward,
								ctx,
								final_outward);
		deactivate_and_unref(dead_outward);
	}
	if (dead_inward) {
		if (final_inward != SEQ_NONE)
			dead_inward->ops->accept_route_closure(dead_inward, ctx,
							       final_inward);
		deactivate_and_unref(dead_inward);
	}
	if (dead_bridge) {
		if (final_inward != SEQ_NONE)
			dead_bridge->ops->accept_route_closure(dead_bridge, ctx,
							       final_inward);
		router_link_unref(dead_bridge);
	}

	if (on_central && !dead_outward &&
	    (dropped_last_decaying || force_bypass))
		outward_link->ops->flush_other_side_if_waiting(outward_link,
							       ctx);
	if (retry_bypass)
		router_bypass_send_retry(outward_link, ctx);
	/* A proxy with two stable remote links asks to be bypassed. */
	if (inward_link && stable_outward && stable_inward && !dead_inward &&
	    !dead_outward)
		router_bypass_maybe_start(router, ctx);

	router_link_unref(bridge_link);
	router_link_unref(decaying_inward);
	router_link_unref(inward_link);
	router_link_unref(decaying_outward);
	router_link_unref(outward_link);
}

void router_set_outward_link(struct router *router, enum op_context ctx,
			     struct router_link *link)
{
	bool adopted = false, retry = false;

	ipcz_lock(&router->lock);
	if (!router->disconnected && !router->outward.primary) {
		route_edge_set_primary(&router->outward, link);
		router_bypass_links_changed_locked(router);
		/* A bypass asked over the link before we took it. */
		retry = route_edge_is_stable(&router->outward) &&
			router_bypass_take_retry_locked(router);
		if (retry)
			router_link_ref(link);
		adopted = true;
	}
	ipcz_unlock(&router->lock);
	if (!adopted) {
		/* The route broke before the link came: tell the far end. */
		link->ops->accept_route_disconnected(link, ctx);
		deactivate_and_unref(link);
		return;
	}
	router_flush(router, ctx, false);
	if (retry) {
		router_bypass_send_retry(link, ctx);
		router_link_unref(link);
	}
}

bool router_begin_transfer(struct router *router, enum op_context ctx,
			   uint64_t *next_outbound, uint64_t *next_inbound)
{
	struct route_edge *inward = malloc(sizeof(*inward));
	struct transaction_set *transactions;
	struct trap_events events;

	if (!inward)
		return false;
	route_edge_init(inward);
	trap_events_init(&events);
	ipcz_lock(&router->lock);
	trap_set_remove_all(&router->traps, ctx == OP_API_CALL, &events);
	transactions = router->transactions;
	router->transactions = NULL;
	router->exclusive_get = 0;
	/* With an inward edge, even without a link yet, it is no portal. */
	router->inward = inward;
	*next_outbound = seq_queue_length(&router->outbound);
	*next_inbound = seq_queue_current(&router->inbound);
	ipcz_unlock(&router->lock);
	transaction_set_destroy(transactions);
	trap_events_dispatch(&events);
	return true;
}

void router_adopt_inward_link(struct router *router, enum op_context ctx,
			      struct router_link *link)
{
	bool adopted = false;

	ipcz_lock(&router->lock);
	if (router->inward && !router->disconnected) {
		route_edge_set_primary(router->inward, link);
		router_bypass_links_changed_locked(router);
		adopted = true;
	}
	ipcz_unlock(&router->lock);
	if (!adopted) {
		link->ops->accept_route_disconnected(link, ctx);
		deactivate_and_unref(link);
		return;
	}
	router_flush(router, ctx, false);
}

struct router *router_create_transferred(uint64_t next_outbound,
					 uint64_t next_inbound)
{
	struct router *router = router_create();

	if (router) {
		seq_queue_init(&router->outbound, next_outbound);
		seq_queue_init(&router->inbound, next_inbound);
	}
	return router;
}

/* Locks up to four distinct routers in address order. */
static void lock_routers(struct router **routers, int count)
{
	struct router *sorted[4];
	int i, j;

	memcpy(sorted, routers, count * sizeof(*sorted));
	for (i = 1; i < count; i++) {
		for (j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
			struct router *tmp = sorted[j];

			sorted[j] = sorted[j - 1];
			sorted[j - 1] = tmp;
		}
	}
	for (i = 0; i < count; i++) {
		if (i == 0 || sorted[i] != sorted[i - 1])
			ipcz_lock(&sorted[i]->lock);
	}
}

static void unlock_routers(struct router **routers, int count)
{
	int i, j;

	for (i = 0; i < count; i++) {
		for (j = 0; j < i; j++) {
			if (routers[j] == routers[i])
				break;
		}
		if (j == i)
			ipcz_unlock(&routers[i]->lock);
	}
}

static void set_cuts(struct route_edge *edge, struct route_edge_decay *decay,
		     uint64_t to, uint64_t from)
{
	route_edge_begin_decay(edge, decay);
	route_edge_set_cuts(edge, to, from);
}

/*
 * Removes a pair of merged (bridge) routers from their route once both of
 * their outward links are stable: their two peers get a direct link, and
 * every old link decays at exact cuts so each parcel still arrives once,
 * in order. Within one node all four routers are local and the change is
 * made at once under their four locks. Peers on other nodes go through
 * the bypass protocol (router_bypass.c): one peer local and one remote,
 * or both remote (on two different nodes).
 */
static void maybe_start_bridge_bypass(struct router *router,
				      enum op_context ctx)
{
	struct router *first = router, *second = NULL;
	struct router *first_peer = NULL, *second_peer = NULL;
	struct router_link *to_first_peer, *to_second_peer;
	struct router_link *new_first, *new_second;
	struct router *all[4];
	struct route_edge_decay *decays[6] = { NULL };
	uint64_t from_first, from_second;
	bool done = false, one_local = false, both_remote = false;
	int i;

	ipcz_lock(&router->lock);
	if (router->bridge && route_edge_is_stable(router->bridge))
		second = route_edge_local_peer(router->bridge);
	ipcz_unlock(&router->lock);
	if (!second)
		return;

	ipcz_lock_pair(&first->lock, &second->lock);
	to_first_peer = first->outward.primary;
	to_second_peer = second->outward.primary;
	if (first->bridge && second->bridge && to_first_peer &&
	    to_second_peer && route_edge_is_stable(&first->outward) &&
	    route_edge_is_stable(&second->outward)) {
		first_peer = to_first_peer->ops->get_local_peer(to_first_peer);
		second_peer = to_second_peer->ops->get_local_peer(to_second_peer);
		/* One peer on another node: see router_bypass.c. */
		one_local = !first_peer != !second_peer;
		both_remote = remote_router_link_is_remote(to_first_peer) &&
			      remote_router_link_is_remote(to_second_peer);
		if (first_peer && second_peer &&
		    router_link_try_lock(to_first_peer)) {
			if (router_link_try_lock(to_second_peer))
				done = true;
			else
				router_link_unlock(to_first_peer);
		}
	}
	ipcz_unlock_pair(&first->lock, &second->lock);
	for (i = 0; done && i < 6; i++) {
		decays[i] = route_edge_decay_alloc();
		done = decays[i] != NULL;
	}
	if (done && !local_router_link_create_pair(LINK_CENTRAL, first_peer,
						   second_peer, false,
						   &new_first, &new_second))
		done = false;
	if (!done) {
		/*
		 * A bypass needs two local, stable, lockable outward links
		 * (and memory); without them the bridge simply stays.
		 */
		for (i = 0; i < 6; i++)
			free(decays[i]);
		if (one_local)
			router_bypass_start_bridge(first_peer ? first : second,
						   first_peer ? second : first,
						   ctx);
		else if (both_remote)
			router_bypass_start_remote_bridge(first, second, ctx);
		router_unref(first_peer);
		router_unref(second_peer);
		router_unref(second);
		return;
	}

	all[0] = first;
	all[1] = second;
	all[2] = first_peer;
	all[3] = second_peer;
	lock_routers(all, 4);
	if (!first->bridge || !second->bridge) {
		/* Another thread broke the bridge meanwhile. */
		unlock_routers(all, 4);
		router_link_unref(new_first);
		router_link_unref(new_second);
		for (i = 0; i < 6; i++)
			free(decays[i]);
	} else {
		from_first = seq_queue_current(&first_peer->outbound);
		from_second = seq_queue_current(&second_peer->outbound);
		set_cuts(&first_peer->outward, decays[0], from_first,
			 from_second);
		set_cuts(&second_peer->outward, decays[1], from_second,
			 from_first);
		set_cuts(&first->outward, decays[2], from_second, from_first);
		set_cuts(&second->outward, decays[3], from_first, from_second);
		set_cuts(first->bridge, decays[4], from_first, from_second);
		set_cuts(second->bridge, decays[5], from_second, from_first);
		route_edge_set_primary(&first_peer->outward, new_first);
		route_edge_set_primary(&second_peer->outward, new_second);
		unlock_routers(all, 4);
	}

	router_flush(first, ctx, false);
	router_flush(second, ctx, false);
	router_flush(first_peer, ctx, false);
	router_flush(second_peer, ctx, false);
	router_unref(first_peer);
	router_unref(second_peer);
	router_unref(second);
}

/*
 * A transfer's fast path (see Documentation/route-reduction.rst): when the
 * portal leaving this node has a local peer, the peer is linked to the
 * portal's new router directly instead of through a proxy left here.
 */
static bool is_terminal_locked(const struct router *router)
{
	return !router->inward && !router->bridge;
}

/* Whether `router` may leave with its peer linked directly; lock held. */
static bool may_transfer_directly_locked(const struct router *router)
{
	return is_terminal_locked(router) && !router->disconnected &&
	       !router->peer_closed &&
	       route_edge_is_stable(&router->outward) &&
	       !seq_queue_final_known(&router->inbound) &&
	       !seq_queue_final_known(&router->outbound);
}

struct router *router_peer_for_direct_transfer(struct router *router)
{
	struct router *peer = NULL;

	ipcz_lock(&router->lock);
	if (may_transfer_directly_locked(router))
		peer = route_edge_local_peer(&router->outward);
	ipcz_unlock(&router->lock);
	return peer;
}

/* Whether `a`'s outward link leads to `b`; `a`'s lock held. */
static bool links_to_locked(struct router *a, struct router *b)
{
	struct router *peer = route_edge_local_peer(&a->outward);

	router_unref(peer);
	return peer == b;
}

bool router_begin_direct_transfer(struct router *router, struct router *peer,
				  enum op_context ctx,
				  struct direct_transfer *cuts)
{
	struct route_edge_decay *decays[3] = { NULL };
	struct route_edge *inward = malloc(sizeof(*inward));
	struct transaction_set *transactions = NULL;
	struct trap_events events;
	bool done = inward != NULL;
	int i;

	for (i = 0; done && i < 3; i++) {
		decays[i] = route_edge_decay_alloc();
		done = decays[i] != NULL;
	}
	trap_events_init(&events);
	ipcz_lock_pair(&router->lock, &peer->lock);
	done = done && may_transfer_directly_locked(router) &&
	       may_transfer_directly_locked(peer) &&
	       links_to_locked(router, peer) && links_to_locked(peer, router) &&
	       router_link_try_lock(router->outward.primary);
	if (done) {
		/*
		 * The peer sent parcels below `peer_cut` to this router (some
		 * may still be on their way): they leave through the inward
		 * link, the rest go from the peer to the new router directly.
		 * This router sent below `next_outbound` to the peer.
		 */
		cuts->peer_cut = seq_queue_length(&peer->outbound);
		cuts->next_outbound = seq_queue_length(&router->outbound);
		cuts->next_inbound = seq_queue_current(&router->inbound);
		set_cuts(&peer->outward, decays[0], cuts->peer_cut,
			 cuts->next_outbound);
		set_cuts(&router->outward, decays[1], cuts->next_outbound,
			 cuts->peer_cut);
		route_edge_init(inward);
		set_cuts(inward, decays[2], cuts->peer_cut,
			 cuts->next_outbound);
		router->inward = inward;
		trap_set_remove_all(&router->traps, ctx == OP_API_CALL,
				    &events);
		transactions = router->transactions;
		router->transactions = NULL;
		router->exclusive_get = 0;
	}
	ipcz_unlock_pair(&router->lock, &peer->lock);
	if (!done) {
		free(inward);
		for (i = 0; i < 3; i++)
			free(decays[i]);
		return false;
	}
	transaction_set_destroy(transactions);
	trap_events_dispatch(&events);
	return true;
}

void router_set_outward_links(struct router *router, enum op_context ctx,
			      struct router_link *central,
			      struct router_link *decaying,
			      uint64_t length_from)
{
	struct route_edge_decay *decay = route_edge_decay_alloc();
	bool adopted = false;

	ipcz_lock(&router->lock);
	if (decay && !router->disconnected && !router->outward.primary &&
	    route_edge_is_stable(&router->outward)) {
		set_cuts(&router->outward, decay,
			 seq_queue_length(&router->outbound), length_from);
		route_edge_set_primary(&router->outward, decaying);
		route_edge_set_primary(&router->outward, central);
		adopted = true;
	}
	ipcz_unlock(&router->lock);
	if (!adopted) {
		free(decay);
		central->ops->accept_route_disconnected(central, ctx);
		decaying->ops->accept_route_disconnected(decaying, ctx);
		deactivate_and_unref(central);
		deactivate_and_unref(decaying);
		return;
	}
	router_flush(router, ctx, false);
}

/*
 * A portal sent to the node of its remote peer (upstream's bypass with
 * the bypassing router on the proxy's outward peer's node): the peer and
 * the arriving router are joined by a local link, and the proxy left on
 * the sending node stops at exact cuts once told by StopProxying.
 */
struct router_link *router_central_link_for_return(struct router *router)
{
	struct router_link *link = NULL;

	ipcz_lock(&router->lock);
	if (may_transfer_directly_locked(router) && router->outward.primary &&
	    router_link_is_central(router->outward.primary)) {
		link = router->outward.primary;
		router_link_ref(link);
	}
	ipcz_unlock(&router->lock);
	return link;
}

bool router_join_returning(struct router *peer, struct router_link *old_link,
			   struct router *router, struct router_link *decaying,
			   uint64_t *peer_cut)
{
	struct route_edge_decay *peer_decay = route_edge_decay_alloc();
	struct route_edge_decay *decay = route_edge_decay_alloc();
	struct router_link *to_router = NULL, *to_peer = NULL;
	bool done;

	done = peer_decay && decay &&
	       local_router_link_create_pair(LINK_CENTRAL, peer, router, false,
					     &to_router, &to_peer);
	if (done) {
		ipcz_lock_pair(&peer->lock, &router->lock);
		done = may_transfer_directly_locked(peer) &&
		       peer->outward.primary == old_link &&
		       !router->outward.primary &&
		       route_edge_is_stable(&router->outward) &&
		       !router->disconnected &&
		       router_link_try_lock(old_link);
		if (done) {
			uint64_t sent = seq_queue_length(&router->outbound);

			/*
			 * The peer sent below `peer_cut` to the proxy, which
			 * passes it on over `decaying`; the proxy sent below
			 * `sent` to the peer, and so nothing more comes
			 * from the arriving router that way.
			 */
			*peer_cut = seq_queue_length(&peer->outbound);
			set_cuts(&peer->outward, peer_decay, *peer_cut, sent);
			route_edge_set_primary(&peer->outward, to_router);
			set_cuts(&router->outward, decay, sent, *peer_cut);
			route_edge_set_primary(&router->outward, decaying);
			route_edge_set_primary(&router->outward, to_peer);
		}
		ipcz_unlock_pair(&peer->lock, &router->lock);
	}
	if (!done) {
		free(peer_decay);
		free(decay);
		deactivate_and_unref(to_router);
		deactivate_and_unref(to_peer);
		return false;
	}
	router_flush(peer, OP_TRANSPORT, false);
	router_flush(router, OP_TRANSPORT, false);
	return true;
}

enum stop_proxying_result router_stop_proxying(struct router *router,
					       struct router_link *outward,
					       uint64_t inbound_cut,
					       uint64_t outbound_cut)
{
	struct route_edge_decay *out_decay = route_edge_decay_alloc();
	struct route_edge_decay *in_decay = route_edge_decay_alloc();
	enum stop_proxying_result result = STOP_PROXYING_STALE;

	if (!out_decay || !in_decay) {
		free(out_decay);
		free(in_decay);
		return STOP_PROXYING_STALE;
	}
	ipcz_lock(&router->lock);
	if (router->disconnected || router->outward.primary != outward) {
		/* The route broke or closed meanwhile. */
	} else if (!router->inward || router->bridge ||
		   !route_edge_is_stable(&router->outward) ||
		   !route_edge_is_stable(router->inward) ||
		   outbound_cut != seq_queue_length(&router->outbound) ||
		   inbound_cut < seq_queue_length(&router->inbound)) {
		result = STOP_PROXYING_INVALID;
	} else {
		set_cuts(&router->outward, out_decay, outbound_cut,
			 inbound_cut);
		set_cuts(router->inward, in_decay, inbound_cut, outbound_cut);
		out_decay = in_decay = NULL;
		result = STOP_PROXYING_DONE;
	}
	ipcz_unlock(&router->lock);
	free(out_decay);
	free(in_decay);
	if (result == STOP_PROXYING_DONE)
		router_flush(router, OP_TRANSPORT, false);
	return result;
}
