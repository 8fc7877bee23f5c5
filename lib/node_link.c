// SPDX-License-Identifier: MIT
/*
 * Node links: one per connected remote node. A link owns its transport
 * and its shared pool, sends node messages (through the pool's ring, or the
 * driver when they carry driver objects or the peer must be woken), and
 * routes what arrives to the routers bound to its sublinks. The wire form
 * of parcels is in parcel_codec.c, the handshake in node_connector.c and
 * broker introductions in introduction.c.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/allocation_delegate.h"
#include "lib/box.h"
#include "lib/driver.h"
#include "lib/handle_table.h"
#include "lib/lock.h"
#include "lib/node.h"
#include "lib/node_link_internal.h"
#include "lib/node_link_memory.h"
#include "lib/node_message.h"
#include "lib/parcel.h"
#include "lib/parcel_wrapper.h"
#include "lib/relay.h"
#include "lib/remote_router_link.h"
#include "lib/router.h"
#include "lib/router_bypass.h"
#include "lib/sublink_map.h"

void node_link_destroy(struct node_link *link)
{
	uint32_t count, i;
	struct sublink_entry *entries = sublink_map_take_all(&link->routes,
							     &count);

	for (i = 0; i < count; i++)
		router_unref(entries[i].router);
	free(entries);
	for (i = 0; i < link->num_initial; i++)
		router_unref(link->initial[i]);
	free(link->initial);
	node_link_memory_release(&link->memory);
	driver_close_object(node_link_driver(link), link->introducer_memory);
	driver_close_object(node_link_driver(link), link->transport);
	driver_close_object(node_link_driver(link), link->retired_transport);
	node_unref(link->node);
	free(link);
}

/* ---- sending ---- */

/*
 * The end of a send: driver objects the driver did not take are ours to
 * close, and a message that could not go (no memory to build it, or the
 * driver refused it, e.g. over its queue limit) would be a parcel or
 * closure silently lost, so the link is dropped instead (`drop`): every
 * route through it breaks, visibly, on both sides.
 */
static bool finish_send(struct node_link *link, struct message_builder *b,
			IpczResult result, bool drop, enum op_context ctx)
{
	size_t i;

	if (result == IPCZ_RESULT_OK)
		return true;
	for (i = 0; i < b->num_handles; i++)
		driver_close_object(node_link_driver(link), b->handles[i]);
	if (drop)
		node_link_disconnect(link, ctx);
	return false;
}

IpczDriverHandle node_link_hold_transport(struct node_link *link)
{
	IpczDriverHandle transport;

	ipcz_lock(&link->lock);
	transport = link->transport;
	link->transport_holds++;
	ipcz_unlock(&link->lock);
	return transport;
}

void node_link_release_transport(struct node_link *link)
{
	IpczDriverHandle retired = IPCZ_INVALID_DRIVER_HANDLE;

	ipcz_lock(&link->lock);
	if (link->transport_holds && --link->transport_holds == 0) {
		retired = link->retired_transport;
		link->retired_transport = IPCZ_INVALID_DRIVER_HANDLE;
	}
	ipcz_unlock(&link->lock);
	driver_close_object(node_link_driver(link), retired);
}

/*
 * The transport, held (see node_link_hold_transport()), unless the link
 * is dead (*dead) or has none (held all the same: release it).
 */
static IpczDriverHandle live_transport(struct node_link *link, bool *dead)
{
	IpczDriverHandle transport;

	ipcz_lock(&link->lock);
	*dead = link->state == LINK_DEAD;
	transport = *dead ? IPCZ_INVALID_DRIVER_HANDLE : link->transport;
	link->transport_holds++;
	ipcz_unlock(&link->lock);
	return transport;
}

/* Numbers a message (registering growth `g` with it) and sends it. */
static bool send_message(struct node_link *link, struct message_builder *b,
			 struct node_link_growth *g, enum op_context ctx)
{
	const struct IpczDriver *driver = node_link_driver(link);
	enum node_link_memory_path path = NLM_PATH_BROKEN;
	IpczResult result = IPCZ_RESULT_UNAVAILABLE;
	IpczDriverHandle transport;
	bool dead;

	transport = live_transport(link, &dead);
	if (!b->failed && transport != IPCZ_INVALID_DRIVER_HANDLE)
		path = g ? node_link_memory_send_growth(&link->memory,
							b->bytes, b->size,
							b->num_handles, g) :
			   node_link_memory_send(&link->memory, b->bytes,
						 b->size, b->num_handles);
	switch (path) {
	case NLM_PATH_RING:
		return true;
	case NLM_PATH_RING_SIGNAL:
		/* The peer sleeps: ring its doorbell. */
		result = driver->Transmit(transport, NULL, 0, NULL, 0,
					  IPCZ_NO_FLAGS, NULL);
		break;
	case NLM_PATH_DRIVER:
		result = driver->Transmit(transport, b->bytes, b->size,
					  b->handles, b->num_handles,
					  IPCZ_NO_FLAGS, NULL);
		break;
	default:
		break;
	}
	node_link_release_transport(link);
	return finish_send(link, b, result, !dead && path != NLM_PATH_REFUSED,
			   ctx);
}

bool node_link_transmit(struct node_link *link, struct message_builder *b,
			enum op_context ctx)
{
	return send_message(link, b, NULL, ctx);
}

bool node_link_transmit_fixed(struct node_link *link, enum op_context ctx,
			      const void *message, size_t size)
{
	struct message_builder b;
	bool sent;

	message_builder_init(&b);
	message_builder_append(&b, message, size);
	sent = node_link_transmit(link, &b, ctx);
	message_builder_free(&b);
	return sent;
}

bool node_link_transmit_numbered(struct node_link *link,
				 struct message_builder *b,
				 enum op_context ctx)
{
	IpczResult result = IPCZ_RESULT_UNAVAILABLE;
	IpczDriverHandle transport;
	bool dead;

	transport = live_transport(link, &dead);
	if (!b->failed && transport != IPCZ_INVALID_DRIVER_HANDLE)
		result = node_link_driver(link)->Transmit(
			transport, b->bytes, b->size, b->handles,
			b->num_handles, IPCZ_NO_FLAGS, NULL);
	node_link_release_transport(link);
	return finish_send(link, b, result, !dead, ctx);
}

void node_link_set_header(struct message_builder *b,
			  enum node_message_type type)
{
	struct msg_header header = {
		.size = (uint32_t)b->size,
		.type = (uint16_t)type,
	};

	if (!b->failed && b->size <= UINT32_MAX)
		memcpy(b->bytes, &header, sizeof(header));
	else
		b->failed = true;
}

/*
 * Serves a growth request of the link's pool: the new buffer is registered
 * as it is numbered (see node_link_memory_send_growth()) and announced.
 */
void node_link_grow_pool(struct node_link *link, enum op_context ctx)
{
	struct node_link_growth growth;
	IpczDriverHandle transport;
	struct message_builder b;
	uint32_t block_size;
	size_t size;
	bool sent;

	if (allocation_delegate_in_use(link->node)) {
		/* Asked of the delegate; data goes inline meanwhile. */
		if (node_link_memory_take_growth(&link->memory, &block_size,
						 &size) &&
		    !allocation_delegate_request(link, MEMORY_FOR_GROWTH, size,
						 block_size, ctx))
			node_link_memory_abandon_growth(&link->memory,
							block_size);
		return;
	}
	message_builder_init(&b);
	transport = node_link_hold_transport(link);
	if (node_link_memory_prepare_growth(&link->memory, transport, &b,
					    &growth)) {
		node_link_set_header(&b, MSG_ADD_BLOCK_BUFFER);
		sent = send_message(link, &b, &growth, ctx);
		node_link_memory_finish_growth(&link->memory, &growth, sent);
	}
	node_link_release_transport(link);
	message_builder_free(&b);
}

void node_link_growth_provided(struct node_link *link, uint32_t block_size,
			       IpczDriverHandle memory, enum op_context ctx)
{
	struct node_link_growth growth;
	IpczDriverHandle transport;
	struct message_builder b;
	bool live, sent;

	ipcz_lock(&link->lock);
	live = link->state != LINK_DEAD;
	ipcz_unlock(&link->lock);
	if (!live || memory == IPCZ_INVALID_DRIVER_HANDLE) {
		driver_close_object(node_link_driver(link), memory);
		node_link_memory_abandon_growth(&link->memory, block_size);
		return;
	}
	message_builder_init(&b);
	transport = node_link_hold_transport(link);
	if (node_link_memory_build_growth(&link->memory, transport, &b,
					  &growth, block_size, memory)) {
		node_link_set_header(&b, MSG_ADD_BLOCK_BUFFER);
		sent = send_message(link, &b, &growth, ctx);
		node_link_memory_finish_growth(&link->memory, &growth, sent);
	}
	node_link_release_transport(link);
	message_builder_free(&b);
}

void node_link_send_route_closed(struct node_link *link, enum op_context ctx,
				 uint64_t sublink, uint64_t length)
{
	struct msg_route_closed message = {
		.header = { .size = sizeof(message), .type = MSG_ROUTE_CLOSED },
		.sublink = sublink,
		.length = length,
	};

	node_link_transmit_fixed(link, ctx, &message, sizeof(message));
}

void node_link_send_route_disconnected(struct node_link *link,
				       enum op_context ctx, uint64_t sublink)
{
	struct msg_route_disconnected message = {
		.header = { .size = sizeof(message),
			    .type = MSG_ROUTE_DISCONNECTED },
		.sublink = sublink,
	};

	node_link_transmit_fixed(link, ctx, &message, sizeof(message));
}

uint64_t node_link_allocate_sublink(struct node_link *link)
{
	uint64_t sublink;

	ipcz_lock(&link->lock);
	/* Each side numbers from its own half, so the two never collide. */
	sublink = (link->next_sublink++ << 1) | link->side;
	ipcz_unlock(&link->lock);
	return sublink;
}

bool node_link_add_route(struct node_link *link, uint64_t sublink,
			 struct router *router, struct router_link *router_link)
{
	bool added = false;

	ipcz_lock(&link->lock);
	if (link->state != LINK_DEAD)
		added = sublink_map_add(&link->routes, sublink, router,
					router_link, router_link->type);
	ipcz_unlock(&link->lock);
	return added;
}

/* As node_link_route_of(), also naming the link (not a reference). */
static struct router *route_and_link_of(struct node_link *link,
					uint64_t sublink, uint8_t *type,
					const struct router_link **router_link)
{
	struct sublink_entry *entry;
	struct router *router = NULL;

	ipcz_lock(&link->lock);
	entry = sublink_map_find(&link->routes, sublink);
	if (entry) {
		router = entry->router;
		router_ref(router);
		*type = entry->link_type;
		*router_link = entry->link;
	}
	ipcz_unlock(&link->lock);
	return router;
}

struct router *node_link_route_of(struct node_link *link, uint64_t sublink,
				  uint8_t *type)
{
	const struct router_link *unused;

	return route_and_link_of(link, sublink, type, &unused);
}

void node_link_send_stop_proxying(struct node_link *link, enum op_context ctx,
				  uint64_t sublink, uint64_t inbound_cut,
				  uint64_t outbound_cut)
{
	struct msg_stop_proxying message = {
		.header = { .size = sizeof(message),
			    .type = MSG_STOP_PROXYING },
		.sublink = sublink,
		.inbound_cut = inbound_cut,
		.outbound_cut = outbound_cut,
	};

	node_link_transmit_fixed(link, ctx, &message, sizeof(message));
}

static IpczResult accept_route_closed(struct node_link *link,
				      const uint8_t *bytes, size_t num_bytes)
{
	struct msg_route_closed message;
	struct router *router;
	uint8_t type;

	if (!node_message_check(bytes, num_bytes, sizeof(message)) ||
	    num_bytes != sizeof(message))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memcpy(&message, bytes, sizeof(message));
	router = node_link_route_of(link, message.sublink, &type);
	if (router) {
		router_accept_route_closure(router, OP_TRANSPORT, type,
					    message.length);
		router_unref(router);
	}
	return IPCZ_RESULT_OK;
}

static IpczResult accept_route_disconnected(struct node_link *link,
					    const uint8_t *bytes,
					    size_t num_bytes)
{
	struct msg_route_disconnected message;
	const struct router_link *router_link = NULL;
	struct router *router;
	uint8_t type;

	if (!node_message_check(bytes, num_bytes, sizeof(message)) ||
	    num_bytes != sizeof(message))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memcpy(&message, bytes, sizeof(message));
	router = route_and_link_of(link, message.sublink, &type, &router_link);
	if (router) {
		router_accept_link_disconnected(router, OP_TRANSPORT, type,
						router_link);
		router_unref(router);
	}
	return IPCZ_RESULT_OK;
}

/*
 * A bypass step for a sublink with no route here (the router there moved
 * on or ended meanwhile) that the sender waits on: answer it as refused,
 * so the sender's locks and decays are undone, or the route's closure
 * could wait on them forever. A READY finding no route means the router
 * that prepared the link let go of it when its route broke: GONE tells
 * Z, which took the link. Other answers are never answered.
 */
static void answer_bypass_without_route(struct node_link *link,
					const struct msg_bypass *message)
{
	struct bypass_message answer = { 0 };

	switch (message->op) {
	case BYPASS_REQUEST:
	case BYPASS_REQUEST_LOCAL:
		answer.op = BYPASS_DECLINED;
		break;
	case BYPASS_LINK_TO:
	case BYPASS_LINK_LOCAL:
		answer.op = BYPASS_REFUSED;
		break;
	case BYPASS_PROBE:
	case BYPASS_READY:
		answer.op = BYPASS_GONE;
		break;
	default:
		return;
	}
	node_link_send_bypass(link, OP_TRANSPORT, message->sublink, &answer);
}

static IpczResult accept_bypass(struct node_link *link, const uint8_t *bytes,
				size_t num_bytes)
{
	struct msg_bypass message;
	struct bypass_message bypass;
	enum bypass_result result = BYPASS_OK;
	struct sublink_entry *entry;
	struct router_link *router_link = NULL;
	struct router *router = NULL;
	uint8_t type = 0;

	if (!node_message_check(bytes, num_bytes, sizeof(message)) ||
	    num_bytes != sizeof(message))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memcpy(&message, bytes, sizeof(message));
	ipcz_lock(&link->lock);
	entry = sublink_map_find(&link->routes, message.sublink);
	if (entry) {
		router = entry->router;
		router_link = entry->link;
		type = entry->link_type;
		router_ref(router);
		router_link_ref(router_link);
	}
	ipcz_unlock(&link->lock);
	if (router) {
		bypass.op = message.op;
		memcpy(bypass.name, message.name, sizeof(bypass.name));
		bypass.new_sublink = message.new_sublink;
		bypass.cut = message.cut;
		result = router_bypass_accept(link, router, router_link, type,
					      &bypass);
	} else {
		answer_bypass_without_route(link, &message);
	}
	router_link_unref(router_link);
	router_unref(router);
	return result == BYPASS_INVALID ? IPCZ_RESULT_INVALID_ARGUMENT :
					  IPCZ_RESULT_OK;
}

static IpczResult accept_stop_proxying(struct node_link *link,
				       const uint8_t *bytes, size_t num_bytes)
{
	struct msg_stop_proxying message;
	enum stop_proxying_result result = STOP_PROXYING_STALE;
	struct sublink_entry *entry;
	struct router_link *outward = NULL;
	struct router *router = NULL;

	if (!node_message_check(bytes, num_bytes, sizeof(message)) ||
	    num_bytes != sizeof(message))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memcpy(&message, bytes, sizeof(message));
	if (message.inbound_cut > MAX_SEQUENCE_START ||
	    message.outbound_cut > MAX_SEQUENCE_START)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	ipcz_lock(&link->lock);
	entry = sublink_map_find(&link->routes, message.sublink);
	if (entry && entry->link_type == LINK_CENTRAL) {
		router = entry->router;
		outward = entry->link;
		router_ref(router);
		router_link_ref(outward);
	}
	ipcz_unlock(&link->lock);
	if (router)
		result = router_stop_proxying(router, outward,
					      message.inbound_cut,
					      message.outbound_cut);
	router_link_unref(outward);
	router_unref(router);
	return result == STOP_PROXYING_INVALID ? IPCZ_RESULT_INVALID_ARGUMENT :
						 IPCZ_RESULT_OK;
}

/* ---- transport activity ---- */

/*
 * A link that never activated its transport (it waited for a delegated
 * primary buffer) gets no deactivation from the driver: its transport is
 * closed and its listener handle retired here.
 */
static void retire_unactivated(struct node_link *link,
			       IpczDriverHandle transport)
{
	struct api_object *taken;

	driver_close_object(node_link_driver(link), transport);
	taken = handle_table_take(link->listener,
				  API_OBJECT_TRANSPORT_LISTENER);
	if (taken)
		api_object_unref(taken);
}

/*
 * Tells the driver the link is done with its transport; one never
 * activated is closed here instead (or by its last user, if held). The
 * transport is held across DeactivateTransport(): a DEACTIVATED the
 * driver sends by itself (after an error) may arrive meanwhile.
 */
static void deactivate_transport(struct node_link *link)
{
	IpczDriverHandle transport;
	bool activated;

	ipcz_lock(&link->lock);
	transport = link->transport;
	activated = link->activated;
	if (!activated) {
		link->transport = IPCZ_INVALID_DRIVER_HANDLE;
		if (link->transport_holds) {
			link->retired_transport = transport;
			transport = IPCZ_INVALID_DRIVER_HANDLE;
		}
	} else {
		link->transport_holds++;
	}
	ipcz_unlock(&link->lock);
	if (!activated) {
		retire_unactivated(link, transport);
		return;
	}
	if (transport != IPCZ_INVALID_DRIVER_HANDLE)
		node_link_driver(link)->DeactivateTransport(transport,
							    IPCZ_NO_FLAGS,
							    NULL);
	node_link_release_transport(link);
}

void node_link_disconnect(struct node_link *link, enum op_context ctx)
{
	struct sublink_entry *entries;
	struct router **initial;
	uint32_t count = 0, num_initial, i;
	bool was_active;

	ipcz_lock(&link->lock);
	was_active = link->state != LINK_DEAD;
	link->state = LINK_DEAD;
	entries = sublink_map_take_all(&link->routes, &count);
	initial = link->initial;
	num_initial = link->num_initial;
	link->initial = NULL;
	link->num_initial = 0;
	ipcz_unlock(&link->lock);

	for (i = 0; i < count; i++) {
		router_accept_link_disconnected(entries[i].router, ctx,
						entries[i].link_type,
						entries[i].link);
		router_unref(entries[i].router);
	}
	free(entries);
	for (i = 0; i < num_initial; i++) {
		router_accept_route_disconnected(initial[i], ctx, LINK_CENTRAL);
		router_unref(initial[i]);
	}
	free(initial);
	if (was_active) {
		node_remove_link(link->node, link);
		relay_forget(link->node, link);
		allocation_delegate_forget(link->node, link);
		deactivate_transport(link);
	}
}

static IpczResult dispatch(struct node_link *link, const void *data,
			   size_t num_bytes, const IpczDriverHandle *handles,
			   size_t num_handles, size_t *claimed)
{
	struct msg_header header;
	bool connecting;

	*claimed = 0;
	if (!node_message_check(data, num_bytes, sizeof(header)))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memcpy(&header, data, sizeof(header));
	ipcz_lock(&link->lock);
	connecting = link->state == LINK_CONNECTING;
	ipcz_unlock(&link->lock);
	/* Until the handshake, only the handshake. */
	if (connecting && header.type != MSG_CONNECT)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (header.type == MSG_PARCEL)
		return node_link_accept_parcel(link, data, num_bytes, handles,
				     num_handles, claimed);
	if (header.type == MSG_CONNECT)
		return node_link_accept_connect(link, data, num_bytes, handles,
						num_handles, claimed);
	if (header.type == MSG_ACCEPT_INDIRECT_INTRODUCTION)
		return node_link_accept_accept_indirect(
			link, data, num_bytes, handles, num_handles, claimed);
	if (header.type == MSG_ACCEPT_INTRODUCTION)
		return node_link_accept_accept_introduction(
			link, data, num_bytes, handles, num_handles, claimed);
	if (header.type == MSG_ADD_BLOCK_BUFFER)
		return node_link_memory_accept_block_buffer(
			&link->memory, data, num_bytes, handles, num_handles,
			link->transport, claimed);
	if (header.type == MSG_RELAY_MESSAGE)
		return relay_accept_relay_message(link, data, num_bytes,
						  handles, num_handles,
						  claimed);
	if (header.type == MSG_ACCEPT_RELAYED_MESSAGE)
		return relay_accept_relayed_message(link, data, num_bytes,
						    handles, num_handles,
						    claimed);
	if (header.type == MSG_PROVIDE_MEMORY)
		return allocation_delegate_accept_provide(link, data,
							  num_bytes, handles,
							  num_handles,
							  claimed);
	if (num_handles)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	switch (header.type) {
	case MSG_ROUTE_CLOSED:
		return accept_route_closed(link, data, num_bytes);
	case MSG_ROUTE_DISCONNECTED:
		return accept_route_disconnected(link, data, num_bytes);
	case MSG_STOP_PROXYING:
		return accept_stop_proxying(link, data, num_bytes);
	case MSG_BYPASS:
		return accept_bypass(link, data, num_bytes);
	case MSG_REQUEST_INTRODUCTION:
		return node_link_accept_request_introduction(link, data,
							     num_bytes);
	case MSG_REJECT_INTRODUCTION:
		return node_link_accept_reject_introduction(link, data,
							    num_bytes);
	case MSG_REQUEST_INDIRECT_INTRODUCTION:
		return node_link_accept_request_indirect(link, data, num_bytes);
	case MSG_REQUEST_MEMORY:
		return allocation_delegate_accept_request(link, data,
							  num_bytes);
	default:
		/* Unknown messages (from a newer peer) are ignored. */
		return IPCZ_RESULT_OK;
	}
}

static IpczResult dispatch_in_order(void *context, const void *data,
				    size_t num_bytes,
				    const IpczDriverHandle *handles,
				    size_t num_handles, size_t *claimed)
{
	return dispatch(context, data, num_bytes, handles, num_handles,
			claimed);
}

static IpczResult IPCZ_API on_activity(IpczHandle listener, const void *data,
				       size_t num_bytes,
				       const IpczDriverHandle *handles,
				       size_t num_handles,
				       IpczTransportActivityFlags flags,
				       const void *options)
{
	struct api_object *object =
		handle_table_get(listener, API_OBJECT_TRANSPORT_LISTENER);
	struct node_link *link = (struct node_link *)object;
	IpczResult result = IPCZ_RESULT_OK;
	size_t claimed = 0, i;

	if (!link)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (flags & IPCZ_TRANSPORT_ACTIVITY_DEACTIVATED) {
		/*
		 * The driver is done with us: close the transport (the peer
		 * sees an error; a sender still using it closes it when done)
		 * and retire the listener handle.
		 */
		struct api_object *taken;
		IpczDriverHandle transport;

		ipcz_lock(&link->lock);
		transport = link->transport;
		link->transport = IPCZ_INVALID_DRIVER_HANDLE;
		if (link->transport_holds) {
			link->retired_transport = transport;
			transport = IPCZ_INVALID_DRIVER_HANDLE;
		}
		ipcz_unlock(&link->lock);
		driver_close_object(node_link_driver(link), transport);
		taken = handle_table_take(listener,
					  API_OBJECT_TRANSPORT_LISTENER);
		if (taken)
			api_object_unref(taken);
	} else if (flags & IPCZ_TRANSPORT_ACTIVITY_ERROR) {
		node_link_disconnect(link, OP_TRANSPORT);
	} else {
		/* Driver messages and the ring, merged in order. */
		result = node_link_memory_receive(&link->memory, data,
						  num_bytes, handles,
						  num_handles, &claimed,
						  dispatch_in_order, link);
		if (result != IPCZ_RESULT_OK) {
			/* Unclaimed driver objects must not leak. */
			for (i = claimed; i < num_handles; i++)
				driver_close_object(node_link_driver(link),
						    handles[i]);
			node_link_disconnect(link, OP_TRANSPORT);
		}
	}
	node_link_unref(link);
	return result;
}

void node_link_wait(struct node_link *link, _Atomic uint32_t *word,
		    uint32_t seen, uint64_t deadline_ns)
{
	if (node_link_memory_wait(&link->memory, word, seen, deadline_ns,
				  dispatch_in_order, link) != IPCZ_RESULT_OK)
		node_link_disconnect(link, OP_API_CALL);
}

void node_link_drain_now(struct node_link *link)
{
	if (node_link_memory_drain_now(&link->memory, dispatch_in_order,
				       link) != IPCZ_RESULT_OK)
		node_link_disconnect(link, OP_API_CALL);
}

static struct node_link *link_alloc(struct node *node,
				    IpczConnectNodeFlags flags)
{
	struct node_link *link = calloc(1, sizeof(*link));

	if (!link)
		return NULL;
	api_object_init(&link->object, API_OBJECT_TRANSPORT_LISTENER);
	node_ref(node);
	link->node = node;
	link->flags = flags;
	link->next_sublink = FIRST_TRANSFER_SUBLINK;
	link->introducer_memory = IPCZ_INVALID_DRIVER_HANDLE;
	node_link_memory_init(&link->memory, &node->driver);
	return link;
}

/*
 * Activates the link's transport (which may deliver the peer's handshake
 * at once) and, if `greet`, sends CONNECT with the pool's primary buffer
 * `shared` (if any). On failure `shared` is closed and the transport is
 * still the link's, not activated.
 */
static IpczResult activate(struct node_link *link, IpczDriverHandle shared,
			   bool greet, enum op_context ctx)
{
	struct node *node = link->node;
	struct message_builder b;
	IpczResult result;
	size_t i;

	/*
	 * CONNECT takes the link's first number before activation: whatever
	 * activation lets our routes send (their parcels may have waited for
	 * the peer's CONNECT) is numbered after it, and the peer delivers
	 * strictly in order.
	 */
	message_builder_init(&b);
	if (greet) {
		node_link_build_connect(link, shared, &b);
		if (!b.failed)
			node_link_memory_send(&link->memory, b.bytes, b.size,
					      b.num_handles);
	} else {
		driver_close_object(&node->driver, shared);
	}
	ipcz_lock(&link->lock);
	link->activated = true;
	ipcz_unlock(&link->lock);
	result = node->driver.ActivateTransport(link->transport,
						link->listener, on_activity,
						IPCZ_NO_FLAGS, NULL);
	if (result != IPCZ_RESULT_OK) {
		ipcz_lock(&link->lock);
		link->activated = false;
		ipcz_unlock(&link->lock);
		for (i = 0; i < b.num_handles; i++)
			driver_close_object(&node->driver, b.handles[i]);
		message_builder_free(&b);
		/* Whatever the driver said, as upstream's ConnectNode(). */
		return IPCZ_RESULT_UNKNOWN;
	}
	if (greet)
		node_link_transmit_numbered(link, &b, ctx);
	message_builder_free(&b);
	return IPCZ_RESULT_OK;
}

/*
 * A link that offers the pool's primary buffer on a node that delegates
 * its allocations asks the delegate for it, and activates its transport
 * only when the answer comes (node_link_primary_provided()). True if it
 * asked.
 */
static bool ask_for_primary(struct node_link *link, enum op_context ctx)
{
	return allocation_delegate_in_use(link->node) &&
	       allocation_delegate_request(
		       link, MEMORY_FOR_PRIMARY,
		       node_link_memory_primary_allocation(), 0, ctx);
}

void node_link_primary_provided(struct node_link *link,
				IpczDriverHandle memory, enum op_context ctx)
{
	IpczDriverHandle shared = IPCZ_INVALID_DRIVER_HANDLE;
	bool waiting;
	bool greet;

	ipcz_lock(&link->lock);
	waiting = link->state != LINK_DEAD && !link->activated;
	greet = !link->introduced || link->side == LINK_SIDE_A;
	ipcz_unlock(&link->lock);
	if (!waiting) {
		driver_close_object(node_link_driver(link), memory);
		return;
	}
	/* Without memory (the delegate failed) the link has no pool. */
	node_link_memory_adopt_primary(&link->memory, memory, &shared);
	if (activate(link, shared, greet, ctx) != IPCZ_RESULT_OK)
		node_link_disconnect(link, ctx);
}

IpczResult node_link_connect(struct node *node, IpczDriverHandle transport,
			     IpczConnectNodeFlags flags, size_t num_portals,
			     IpczHandle *portals)
{
	struct node_link *link = link_alloc(node, flags);
	IpczDriverHandle shared = IPCZ_INVALID_DRIVER_HANDLE;
	const bool to_delegate =
		flags & IPCZ_CONNECT_NODE_TO_ALLOCATION_DELEGATE;
	size_t i, made = 0;
	IpczResult result = IPCZ_RESULT_RESOURCE_EXHAUSTED;

	if (!link)
		return result;
	link->num_portals = (uint32_t)num_portals;
	link->initial = calloc(num_portals, sizeof(*link->initial));
	if (!link->initial)
		goto fail;
	for (made = 0; made < num_portals; made++) {
		link->initial[made] = router_create();
		if (!link->initial[made])
			goto fail;
		link->num_initial++;
	}
	/* The handle table's reference is the transport's, until deactivation. */
	node_link_ref(link);
	link->listener = handle_table_add(&link->object);
	if (link->listener == IPCZ_INVALID_HANDLE)
		goto fail;
	for (i = 0; i < num_portals; i++) {
		router_ref(link->initial[i]);
		portals[i] = handle_table_add(&link->initial[i]->object);
	}
	if (!node_add_link(node, link))
		goto fail_portals;
	/* From here the link owns the transport. */
	link->transport = transport;
	/*
	 * A node that may be side A offers the pool's primary buffer: a
	 * broker, or a referrer (of two brokers, side A's buffer is used).
	 * Before activation, which may deliver the peer's handshake at once.
	 * The link to a delegate offers none (it cannot ask itself); other
	 * links of a delegating node ask the delegate and activate later.
	 */
	if ((node->is_broker || (flags & IPCZ_CONNECT_NODE_SHARE_BROKER)) &&
	    !to_delegate) {
		if (ask_for_primary(link, OP_API_CALL)) {
			node_link_unref(link);
			return IPCZ_RESULT_OK;
		}
		if (!allocation_delegate_in_use(node))
			node_link_memory_allocate(&link->memory, &shared);
	}
	result = activate(link, shared, true, OP_API_CALL);
	if (result != IPCZ_RESULT_OK) {
		link->transport = IPCZ_INVALID_DRIVER_HANDLE;
		node_remove_link(node, link);
		goto fail_portals;
	}
	/* After CONNECT: nothing may precede it on the link. */
	if (to_delegate)
		allocation_delegate_set(node, link);
	node_link_unref(link);
	return IPCZ_RESULT_OK;

fail_portals:
	for (i = 0; i < num_portals; i++) {
		struct api_object *portal =
			handle_table_take(portals[i], API_OBJECT_PORTAL);

		if (portal)
			api_object_unref(portal);
	}
	{
		struct api_object *taken = handle_table_take(
			link->listener, API_OBJECT_TRANSPORT_LISTENER);

		if (taken)
			api_object_unref(taken);
	}
fail:
	node_link_unref(link);
	return result == IPCZ_RESULT_OK ? IPCZ_RESULT_RESOURCE_EXHAUSTED :
					  result;
}

/*
 * A link from an introduction, owning `transport` and `memory` from here.
 * The pool's primary buffer is the one the broker gave both sides, if it
 * did: side A formats it, side B keeps it until side A's CONNECT. Else
 * side A offers one in its handshake, as a broker does (asking its
 * delegate for it first, if it has one). Side B answers once connected
 * (see node_link_introduction_complete()). No initial portals.
 */
bool node_link_introduce(struct node *node, IpczDriverHandle transport,
			 uint8_t side, const uint8_t name[16],
			 IpczDriverHandle memory)
{
	struct node_link *link = link_alloc(node, IPCZ_NO_FLAGS);
	IpczDriverHandle shared = IPCZ_INVALID_DRIVER_HANDLE;
	struct api_object *taken;

	if (!link) {
		driver_close_object(&node->driver, transport);
		driver_close_object(&node->driver, memory);
		return false;
	}
	if (side == LINK_SIDE_A && memory != IPCZ_INVALID_DRIVER_HANDLE) {
		/* The peer has the buffer already: nothing to send. */
		node_link_memory_adopt_primary(&link->memory, memory, &shared);
		driver_close_object(&node->driver, shared);
		shared = IPCZ_INVALID_DRIVER_HANDLE;
		link->pool_from_introducer = link->memory.base != NULL;
	} else {
		link->introducer_memory = memory;
	}
	link->introduced = true;
	link->side = side;
	memcpy(link->remote_name, name, sizeof(link->remote_name));
	link->transport = transport;
	node_link_ref(link);
	link->listener = handle_table_add(&link->object);
	if (link->listener == IPCZ_INVALID_HANDLE) {
		node_link_unref(link);
		goto fail;
	}
	if (!node_add_link(node, link))
		goto fail_listener;
	if (side == LINK_SIDE_A && !link->pool_from_introducer) {
		if (ask_for_primary(link, OP_TRANSPORT)) {
			node_link_unref(link);
			return true;
		}
		if (!allocation_delegate_in_use(node))
			node_link_memory_allocate(&link->memory, &shared);
	}
	if (activate(link, shared, side == LINK_SIDE_A, OP_TRANSPORT) !=
	    IPCZ_RESULT_OK) {
		node_remove_link(node, link);
		goto fail_listener;
	}
	node_link_unref(link);
	return true;

fail_listener:
	taken = handle_table_take(link->listener,
				  API_OBJECT_TRANSPORT_LISTENER);
	if (taken)
		api_object_unref(taken);
fail:
	node_link_unref(link);
	return false;
}

/* ---- links by role ---- */

bool node_link_is_broker_link(const struct node_link *link)
{
	return !link->node->is_broker && !link->introduced &&
	       (link->flags & IPCZ_CONNECT_NODE_TO_BROKER);
}

bool node_link_is_client_link(const struct node_link *link)
{
	return link->node->is_broker && !link->introduced &&
	       !(link->flags & IPCZ_CONNECT_NODE_TO_BROKER);
}

struct node_link *node_link_broker_of(struct node *node)
{
	struct node_link *found = NULL;
	size_t i;

	ipcz_lock(&node->lock);
	for (i = 0; i < node->num_links && !found; i++) {
		struct node_link *link = node->links[i];

		if (node_link_is_broker_link(link)) {
			ipcz_lock(&link->lock);
			if (link->state == LINK_CONNECTED) {
				found = link;
				node_link_ref(found);
			}
			ipcz_unlock(&link->lock);
		}
	}
	ipcz_unlock(&node->lock);
	return found;
}

/*
 * Whether the node has a live link to `name`, connected or still in the
 * handshake of an introduction (whose peer name is known from the start).
 */
bool node_link_exists(struct node *node, const uint8_t name[16])
{
	bool found = false;
	size_t i;

	ipcz_lock(&node->lock);
	for (i = 0; i < node->num_links && !found; i++) {
		struct node_link *link = node->links[i];

		ipcz_lock(&link->lock);
		found = link->state != LINK_DEAD &&
			memcmp(link->remote_name, name, 16) == 0;
		ipcz_unlock(&link->lock);
	}
	ipcz_unlock(&node->lock);
	return found;
}

/* A name another node may be introduced as: not zero, not ours. */
bool node_link_valid_peer_name(struct node *node, const uint8_t name[16])
{
	static const uint8_t zero[16];

	return memcmp(name, zero, 16) != 0 && memcmp(name, node->name, 16);
}

void node_link_remove_route(struct node_link *link, uint64_t sublink,
			    struct router_link *router_link)
{
	struct router *router;

	ipcz_lock(&link->lock);
	router = sublink_map_remove(&link->routes, sublink, router_link);
	ipcz_unlock(&link->lock);
	router_unref(router);
}

IpczResult node_link_report_bad_activity(struct node_link *link,
					 uintptr_t context)
{
	IpczDriverHandle transport;

	ipcz_lock(&link->lock);
	transport = link->transport;
	ipcz_unlock(&link->lock);
	/* Once the link is gone there is no transport left to blame. */
	if (transport == IPCZ_INVALID_DRIVER_HANDLE)
		return IPCZ_RESULT_FAILED_PRECONDITION;
	return node_link_driver(link)->ReportBadTransportActivity(
		transport, context, IPCZ_NO_FLAGS, NULL);
}

/* ---- for the bypass protocol (lib/router_bypass.c) ---- */

enum link_side node_link_side(struct node_link *link)
{
	enum link_side side;

	ipcz_lock(&link->lock);
	side = (enum link_side)link->side;
	ipcz_unlock(&link->lock);
	return side;
}

bool node_link_valid_peer_sublink(struct node_link *link, uint64_t sublink)
{
	return (sublink & 1) != node_link_side(link) &&
	       sublink >> 1 >= FIRST_TRANSFER_SUBLINK;
}

struct router *node_link_route(struct node_link *link, uint64_t sublink,
			       enum link_type type,
			       struct router_link **router_link)
{
	struct sublink_entry *entry;
	struct router *router = NULL;

	*router_link = NULL;
	ipcz_lock(&link->lock);
	entry = sublink_map_find(&link->routes, sublink);
	if (entry && entry->link_type == type) {
		router = entry->router;
		*router_link = entry->link;
		router_ref(router);
		router_link_ref(entry->link);
	}
	ipcz_unlock(&link->lock);
	return router;
}

/* Whether `link` is connected to the node named `name`. */
static bool leads_to(struct node_link *link, const uint8_t name[16])
{
	bool match;

	ipcz_lock(&link->lock);
	match = link->state == LINK_CONNECTED &&
		memcmp(link->remote_name, name, sizeof(link->remote_name)) == 0;
	ipcz_unlock(&link->lock);
	return match;
}

struct node_link *node_link_find_sibling(struct node_link *link,
					 const uint8_t name[16])
{
	static const uint8_t zero[16];
	struct node *node = link->node;
	struct node_link *found = NULL;
	size_t i;

	if (memcmp(name, zero, sizeof(zero)) == 0)
		return NULL;
	ipcz_lock(&node->lock);
	for (i = 0; i < node->num_links && !found; i++) {
		if (leads_to(node->links[i], name)) {
			found = node->links[i];
			node_link_ref(found);
		}
	}
	ipcz_unlock(&node->lock);
	return found;
}

void node_link_send_bypass(struct node_link *link, enum op_context ctx,
			   uint64_t sublink,
			   const struct bypass_message *bypass)
{
	struct msg_bypass message = {
		.header = { .size = sizeof(message), .type = MSG_BYPASS },
		.sublink = sublink,
		.op = bypass->op,
		.new_sublink = bypass->new_sublink,
		.cut = bypass->cut,
	};

	memcpy(message.name, bypass->name, sizeof(message.name));
	node_link_transmit_fixed(link, ctx, &message, sizeof(message));
}

/* ---- introspection ---- */

bool node_link_remote_name(struct node_link *link, uint8_t name[16])
{
	static const uint8_t zero[16];
	bool known;

	ipcz_lock(&link->lock);
	memcpy(name, link->remote_name, sizeof(link->remote_name));
	ipcz_unlock(&link->lock);
	known = memcmp(name, zero, sizeof(zero)) != 0;
	return known;
}

size_t node_link_collect_routers(struct node_link *link,
				 struct router ***routers)
{
	uint32_t n = 0;

	*routers = NULL;
	ipcz_lock(&link->lock);
	if (link->routes.live)
		*routers = malloc(link->routes.live * sizeof(**routers));
	if (*routers)
		n = sublink_map_collect_routers(&link->routes, *routers,
						link->routes.live);
	ipcz_unlock(&link->lock);
	return n;
}

/* Shared memory mapped for the link's pool (none without a pool). */
size_t node_link_pool_bytes(struct node_link *link)
{
	return node_link_memory_pool_bytes(&link->memory);
}
