// SPDX-License-Identifier: MIT
/*
 * Broker introductions: a node asks its broker to introduce it to a node it
 * has no link to; the broker (asking the other brokers of its network when
 * the node is not its own) hands both a new transport pair, and each side
 * then connects over it as an introduced link.
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
#include "lib/remote_router_link.h"
#include "lib/router.h"
#include "lib/router_bypass.h"
#include "lib/sublink_map.h"

static bool send_to_other_brokers(struct node *node, const void *message,
				  size_t size);

/*
 * Who introduces whom. A broker introduces its non-brokers to each other;
 * and since a referred node reaches the broker's network through its
 * referrer (see roles_match()), the referrer introduces the nodes it
 * referred to each other, standing in for the broker. A link over which
 * this node is asked for introductions (to it, a non-broker connected to
 * a broker, or a referred node connected to a referrer):
 */
static bool introduces_peer(const struct node_link *link)
{
	if (link->introduced)
		return false;
	if (link->node->is_broker)
		return !(link->flags & IPCZ_CONNECT_NODE_TO_BROKER);
	return link->flags & IPCZ_CONNECT_NODE_SHARE_BROKER;
}

/* A link between two brokers. */
static bool between_brokers(const struct node_link *link)
{
	return link->node->is_broker && !link->introduced &&
	       (link->flags & IPCZ_CONNECT_NODE_TO_BROKER);
}

/*
 * A link to a node that may introduce this one: its broker or referrer;
 * for a broker, another broker (which introduces its own non-brokers to
 * it, as upstream does when a broker is involved).
 */
static bool introduced_by_peer(const struct node_link *link)
{
	if (link->node->is_broker)
		return between_brokers(link);
	return link->flags & (IPCZ_CONNECT_NODE_TO_BROKER |
			      IPCZ_CONNECT_NODE_INHERIT_BROKER);
}

/*
 * This node's link to its introducer: its broker, or for a referred node
 * its referrer (a new reference, or NULL: brokers have none).
 */
static struct node_link *broker_link(struct node *node)
{
	struct node_link *found = NULL;
	size_t i;

	if (node->is_broker)
		return NULL;
	ipcz_lock(&node->lock);
	for (i = 0; i < node->num_links && !found; i++) {
		if (introduced_by_peer(node->links[i])) {
			found = node->links[i];
			node_link_ref(found);
		}
	}
	ipcz_unlock(&node->lock);
	return found;
}

static void send_introduction_name(struct node_link *link, enum op_context ctx,
				   enum node_message_type type,
				   const uint8_t name[16])
{
	struct msg_introduction_name message = {
		.header = { .size = sizeof(message), .type = (uint16_t)type },
	};

	memcpy(message.name, name, sizeof(message.name));
	node_link_transmit_fixed(link, ctx, &message, sizeof(message));
}

/* Releases the bypasses waiting for a link to `name` without retrying. */
static void forget_waiters(struct node *node, const uint8_t name[16])
{
	struct router_link **waiters;
	size_t count = node_take_intro_waiters(node, name, &waiters), i;

	for (i = 0; i < count; i++)
		router_link_unref(waiters[i]);
	free(waiters);
}

void node_link_request_introduction(struct node_link *link,
				    enum op_context ctx,
				    const uint8_t name[16],
				    struct router_link *waiter)
{
	struct node *node = link->node;
	struct node_link *broker;
	bool first = false;

	if (!node_link_valid_peer_name(node, name))
		return;
	if (node->is_broker) {
		/* A broker asks the brokers it knows; one may own `name`. */
		struct msg_introduction_name message = {
			.header = { .size = sizeof(message),
				    .type = MSG_REQUEST_INTRODUCTION },
		};

		memcpy(message.name, name, sizeof(message.name));
		if (node_add_intro_waiter(node, name, waiter, &first) &&
		    first)
			send_to_other_brokers(node, &message,
					      sizeof(message));
		return;
	}
	broker = broker_link(node);
	if (!broker)
		return;
	/* One request per name; every waiter is retried when it is done. */
	if (node_add_intro_waiter(node, name, waiter, &first) && first)
		send_introduction_name(broker, ctx, MSG_REQUEST_INTRODUCTION,
				       name);
	node_link_unref(broker);
}

/*
 * Hands one end of a new transport to `link`'s node, serialized for
 * `link`'s own transport as any driver object is. If the driver cannot,
 * the end is closed (the other node's link then fails) and the node is
 * told the introduction is refused.
 */
/* A transport end serialized for a carrying link, as any driver object. */
struct serialized_transport {
	void *bytes;
	IpczDriverHandle *handles;
	size_t num_bytes, num_handles;
};

/*
 * Serializes `transport` for `link`'s own transport; on failure the end is
 * closed (the node holding the other end then sees its link fail).
 */
static bool serialize_transport_via(struct node_link *link,
				    IpczDriverHandle via,
				    IpczDriverHandle transport,
				    struct serialized_transport *out)
{
	const struct IpczDriver *driver = node_link_driver(link);
	IpczResult result;

	memset(out, 0, sizeof(*out));
	result = driver->Serialize(transport, via, IPCZ_NO_FLAGS,
				   NULL, NULL, &out->num_bytes, NULL,
				   &out->num_handles);
	if (result == IPCZ_RESULT_RESOURCE_EXHAUSTED &&
	    out->num_bytes <= INTRODUCTION_MAX_BYTES &&
	    out->num_handles <= INTRODUCTION_MAX_HANDLES) {
		out->bytes = calloc(1, out->num_bytes ? out->num_bytes : 1);
		out->handles = calloc(out->num_handles ? out->num_handles : 1,
				      sizeof(*out->handles));
		result = IPCZ_RESULT_RESOURCE_EXHAUSTED;
		if (out->bytes && out->handles)
			result = driver->Serialize(
				transport, via, IPCZ_NO_FLAGS,
				NULL, out->bytes, &out->num_bytes,
				out->handles, &out->num_handles);
	} else if (result == IPCZ_RESULT_OK) {
		result = IPCZ_RESULT_INVALID_ARGUMENT;
	}
	if (result == IPCZ_RESULT_OK &&
	    out->num_bytes <= INTRODUCTION_MAX_BYTES &&
	    out->num_handles <= INTRODUCTION_MAX_HANDLES)
		return true;
	if (result != IPCZ_RESULT_OK)
		driver_close_object(driver, transport);
	free(out->bytes);
	free(out->handles);
	return false;
}

static bool serialize_transport(struct node_link *link,
				IpczDriverHandle transport,
				struct serialized_transport *out)
{
	bool done = serialize_transport_via(link,
					    node_link_hold_transport(link),
					    transport, out);

	node_link_release_transport(link);
	return done;
}

/*
 * Sends `fixed` (a message struct) followed by the serialized transport
 * and, if given, a serialized memory object (its handles taken).
 */
static void send_with_transport(struct node_link *link, enum op_context ctx,
				enum node_message_type type,
				const void *fixed, size_t fixed_size,
				struct serialized_transport *t,
				struct message_builder *memory)
{
	struct message_builder b;

	message_builder_init(&b);
	message_builder_append(&b, fixed, fixed_size);
	message_builder_append(&b, t->bytes, t->num_bytes);
	message_builder_add_handles(&b, t->handles, t->num_handles);
	if (memory) {
		message_builder_append(&b, memory->bytes, memory->size);
		message_builder_add_handles(&b, memory->handles,
					    memory->num_handles);
		b.failed |= memory->failed;
		memory->num_handles = 0;
	}
	node_link_set_header(&b, type);
	node_link_transmit(link, &b, ctx);
	message_builder_free(&b);
	free(t->bytes);
	free(t->handles);
}

/*
 * Hands one end of a new transport to `link`'s node. If the driver cannot
 * serialize it, the node is told the introduction is refused.
 */
static void close_memory_handles(struct node_link *link,
				 struct message_builder *memory)
{
	size_t i;

	for (i = 0; memory && i < memory->num_handles; i++)
		driver_close_object(node_link_driver(link), memory->handles[i]);
	if (memory)
		memory->num_handles = 0;
}

/*
 * `memory` (or NULL): the new link's primary buffer, already serialized
 * for `link`; its handles are taken in any case.
 */
static void send_accept_introduction(struct node_link *link,
				     enum op_context ctx,
				     const uint8_t name[16], uint8_t side,
				     IpczDriverHandle transport,
				     struct message_builder *memory)
{
	struct msg_accept_introduction message = {
		.header = { .type = MSG_ACCEPT_INTRODUCTION },
		.side = side,
	};
	struct serialized_transport t;

	if (!serialize_transport(link, transport, &t)) {
		close_memory_handles(link, memory);
		send_introduction_name(link, ctx, MSG_REJECT_INTRODUCTION,
				       name);
		return;
	}
	memcpy(message.name, name, sizeof(message.name));
	message.transport_bytes = (uint32_t)t.num_bytes;
	if (memory) {
		message.memory_bytes = (uint32_t)memory->size;
		message.memory_handles = (uint32_t)memory->num_handles;
	}
	send_with_transport(link, ctx, MSG_ACCEPT_INTRODUCTION, &message,
			    sizeof(message), &t, memory);
}

/*
 * As upstream's broker does, the introducer allocates the new link's
 * primary buffer and gives it to both sides over links that can carry it
 * (the new transport may not: two sandboxed nodes), serialized into
 * `out[0]` for the requester and `out[1]` for the target. False if it
 * cannot (a broker delegating its own allocations, a driver that cannot
 * allocate or serialize): side A then offers one itself.
 */
static bool introduction_memory_via(struct node_link *requester,
				    struct node_link *target,
				    const IpczDriverHandle via[2],
				    struct message_builder out[2])
{
	const struct IpczDriver *driver = node_link_driver(requester);
	IpczDriverHandle memory = IPCZ_INVALID_DRIVER_HANDLE;
	IpczDriverHandle copy = IPCZ_INVALID_DRIVER_HANDLE;

	if (allocation_delegate_in_use(requester->node) ||
	    driver->AllocateSharedMemory(node_link_memory_primary_allocation(),
					 IPCZ_NO_FLAGS, NULL, &memory) !=
		    IPCZ_RESULT_OK)
		return false;
	if (driver->DuplicateSharedMemory(memory, IPCZ_NO_FLAGS, NULL,
					  &copy) != IPCZ_RESULT_OK) {
		driver_close_object(driver, memory);
		return false;
	}
	/* Each serialization takes its copy, whether it succeeds or not. */
	if (!node_link_memory_serialize(driver, memory, via[0], &out[0]))
		driver_close_object(driver, copy);
	else if (node_link_memory_serialize(driver, copy, via[1], &out[1]) &&
		 !out[0].failed && !out[1].failed)
		return true;
	/* Either failed: neither side gets it (the other copy is closed). */
	close_memory_handles(requester, &out[0]);
	close_memory_handles(target, &out[1]);
	message_builder_free(&out[0]);
	message_builder_free(&out[1]);
	return false;
}

static bool introduction_memory(struct node_link *requester,
				struct node_link *target,
				struct message_builder out[2])
{
	IpczDriverHandle via[2] = { node_link_hold_transport(requester),
				    node_link_hold_transport(target) };
	bool made = introduction_memory_via(requester, target, via, out);

	node_link_release_transport(target);
	node_link_release_transport(requester);
	return made;
}

/*
 * The broker joins the requester (side A of the new link) and the target
 * (side B) with a new pair of transports.
 */
static void introduce(struct node_link *requester, struct node_link *target,
		      const uint8_t requester_name[16],
		      const uint8_t target_name[16])
{
	const struct IpczDriver *driver = node_link_driver(requester);
	IpczDriverHandle ends[2] = { IPCZ_INVALID_DRIVER_HANDLE,
				     IPCZ_INVALID_DRIVER_HANDLE };
	struct message_builder memory[2];
	IpczResult result;
	bool shared;

	result = driver->CreateTransports(node_link_hold_transport(requester),
					  node_link_hold_transport(target),
					  IPCZ_NO_FLAGS, NULL, &ends[0],
					  &ends[1]);
	node_link_release_transport(target);
	node_link_release_transport(requester);
	if (result != IPCZ_RESULT_OK) {
		send_introduction_name(requester, OP_TRANSPORT,
				       MSG_REJECT_INTRODUCTION, target_name);
		return;
	}
	message_builder_init(&memory[0]);
	message_builder_init(&memory[1]);
	shared = introduction_memory(requester, target, memory);
	send_accept_introduction(requester, OP_TRANSPORT, target_name,
				 LINK_SIDE_A, ends[0],
				 shared ? &memory[0] : NULL);
	send_accept_introduction(target, OP_TRANSPORT, requester_name,
				 LINK_SIDE_B, ends[1],
				 shared ? &memory[1] : NULL);
	message_builder_free(&memory[0]);
	message_builder_free(&memory[1]);
}

/* Two distinct names, neither ours nor the sending broker's. */
static bool valid_indirect_names(struct node_link *link,
				 const struct msg_indirect_introduction *m)
{
	return node_link_valid_peer_name(link->node, m->source) &&
	       node_link_valid_peer_name(link->node, m->target) &&
	       memcmp(m->source, m->target, 16) != 0 &&
	       memcmp(m->source, link->remote_name, 16) != 0 &&
	       memcmp(m->target, link->remote_name, 16) != 0;
}

/* Sends `message` to every broker this broker is linked with. */
static bool send_to_other_brokers(struct node *node, const void *message,
				  size_t size)
{
	struct node_link **brokers;
	size_t count = 0, i;

	if (!node->is_broker)
		return false;
	ipcz_lock(&node->lock);
	brokers = calloc(node->num_links ? node->num_links : 1,
			 sizeof(*brokers));
	for (i = 0; brokers && i < node->num_links; i++) {
		if (between_brokers(node->links[i])) {
			brokers[count] = node->links[i];
			node_link_ref(brokers[count++]);
		}
	}
	ipcz_unlock(&node->lock);
	for (i = 0; i < count; i++) {
		node_link_transmit_fixed(brokers[i], OP_TRANSPORT, message,
					 size);
		node_link_unref(brokers[i]);
	}
	free(brokers);
	return count > 0;
}

/*
 * A broker asked for a node it has no link to asks every broker it is
 * linked with; false if there is none.
 */
static bool ask_other_brokers(struct node *node, const uint8_t source[16],
			      const uint8_t target[16])
{
	struct msg_indirect_introduction message = {
		.header = { .size = sizeof(message),
			    .type = MSG_REQUEST_INDIRECT_INTRODUCTION },
	};

	memcpy(message.source, source, 16);
	memcpy(message.target, target, 16);
	return send_to_other_brokers(node, &message, sizeof(message));
}

/* A fixed-size message: exactly its size, copied out before it is read. */
static bool read_fixed(const uint8_t *bytes, size_t num_bytes, void *message,
		       size_t size)
{
	if (!node_message_check(bytes, num_bytes, size) || num_bytes != size)
		return false;
	memcpy(message, bytes, size);
	return true;
}

/*
 * On a broker, from one of its non-brokers (or on a referrer, from a node
 * it referred). A node it has no such link to cannot be introduced: the
 * request is refused. A pair already introduced (the two asked at once,
 * or again) is ignored: the link made the first time serves both.
 */
IpczResult node_link_accept_request_introduction(struct node_link *link,
						 const uint8_t *bytes,
						 size_t num_bytes)
{
	struct msg_introduction_name message;
	struct node *node = link->node;
	struct node_link *target;
	uint8_t requester[16];

	if (!(introduces_peer(link) || between_brokers(link)) ||
	    !node_link_remote_name(link, requester) ||
	    !read_fixed(bytes, num_bytes, &message, sizeof(message)))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (!node_link_valid_peer_name(node, message.name) ||
	    memcmp(message.name, requester, 16) == 0)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	target = node_link_find_sibling(link, message.name);
	if (between_brokers(link)) {
		/*
		 * Another broker asked every broker it knows: only the one
		 * owning the target answers, by introducing it.
		 */
		if (target && introduces_peer(target) &&
		    node_note_introduction(node, requester, message.name))
			introduce(link, target, requester, message.name);
		if (target)
			node_link_unref(target);
		return IPCZ_RESULT_OK;
	}
	if (target && (introduces_peer(target) || between_brokers(target))) {
		if (node_note_introduction(node, requester, message.name))
			introduce(link, target, requester, message.name);
	} else if (!ask_other_brokers(node, requester, message.name)) {
		/*
		 * Not ours to introduce (unknown, or linked to us only by an
		 * introduction), and no other broker to ask.
		 */
		send_introduction_name(link, OP_TRANSPORT,
				       MSG_REJECT_INTRODUCTION, message.name);
	}
	if (target)
		node_link_unref(target);
	return IPCZ_RESULT_OK;
}

/* A transport pair between `link`'s node and `target`'s, on a broker. */
static bool create_transports_to(struct node_link *link,
				 struct node_link *target,
				 IpczDriverHandle ends[2])
{
	IpczResult result = node_link_driver(link)->CreateTransports(
		link->transport, node_link_hold_transport(target),
		IPCZ_NO_FLAGS, NULL, &ends[0], &ends[1]);

	node_link_release_transport(target);
	return result == IPCZ_RESULT_OK;
}

/*
 * Side B's end goes to our `target` at once; side A's goes back to the
 * asking broker, in the request itself turned into its answer.
 */
static void introduce_indirectly(struct node_link *link,
				 struct node_link *target,
				 struct msg_indirect_introduction *message)
{
	IpczDriverHandle ends[2] = { IPCZ_INVALID_DRIVER_HANDLE,
				     IPCZ_INVALID_DRIVER_HANDLE };
	struct serialized_transport t;

	if (!introduces_peer(target) ||
	    !node_note_introduction(link->node, message->source,
				    message->target) ||
	    !create_transports_to(link, target, ends))
		return;
	send_accept_introduction(target, OP_TRANSPORT, message->source,
				 LINK_SIDE_B, ends[1], NULL);
	if (!serialize_transport(link, ends[0], &t))
		return;
	message->header.type = MSG_ACCEPT_INDIRECT_INTRODUCTION;
	message->transport_bytes = (uint32_t)t.num_bytes;
	send_with_transport(link, OP_TRANSPORT,
			    MSG_ACCEPT_INDIRECT_INTRODUCTION, message,
			    sizeof(*message), &t, NULL);
}

/*
 * On a broker, from another broker: one of its nodes wants a link to one
 * of ours. Unknown targets and repeated pairs are ignored (the asking
 * node's bypass then keeps its proxy); the sender may have asked several
 * brokers.
 */
IpczResult node_link_accept_request_indirect(struct node_link *link,
					     const uint8_t *bytes,
					     size_t num_bytes)
{
	struct msg_indirect_introduction message;
	struct node_link *target;

	if (!between_brokers(link) ||
	    !read_fixed(bytes, num_bytes, &message, sizeof(message)) ||
	    !valid_indirect_names(link, &message) || message.transport_bytes)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	target = node_link_find_sibling(link, message.target);
	if (!target)
		return IPCZ_RESULT_OK;
	introduce_indirectly(link, target, &message);
	node_link_unref(target);
	return IPCZ_RESULT_OK;
}

/*
 * On a broker, from the broker that introduced one of our nodes to one of
 * its own: the end for our node (side A, the requester) is passed on.
 */
IpczResult node_link_accept_accept_indirect(struct node_link *link,
					    const uint8_t *bytes,
					    size_t num_bytes,
					    const IpczDriverHandle *handles,
					    size_t num_handles, size_t *claimed)
{
	const struct IpczDriver *driver = node_link_driver(link);
	IpczDriverHandle transport = IPCZ_INVALID_DRIVER_HANDLE;
	struct msg_indirect_introduction message;
	struct node_link *requester;
	size_t i;

	if (!node_message_check(bytes, num_bytes, sizeof(message)) ||
	    !between_brokers(link) || num_handles > INTRODUCTION_MAX_HANDLES)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memcpy(&message, bytes, sizeof(message));
	if (!valid_indirect_names(link, &message) ||
	    message.transport_bytes != num_bytes - sizeof(message) ||
	    message.transport_bytes > INTRODUCTION_MAX_BYTES)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	*claimed = num_handles;
	if (driver->Deserialize(bytes + sizeof(message),
				message.transport_bytes, handles, num_handles,
				link->transport, IPCZ_NO_FLAGS, NULL,
				&transport) != IPCZ_RESULT_OK) {
		for (i = 0; i < num_handles; i++)
			driver_close_object(driver, handles[i]);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	requester = node_link_find_sibling(link, message.source);
	if (requester && introduces_peer(requester))
		send_accept_introduction(requester, OP_TRANSPORT,
					 message.target, LINK_SIDE_A,
					 transport, NULL);
	else
		driver_close_object(driver, transport);
	if (requester)
		node_link_unref(requester);
	return IPCZ_RESULT_OK;
}

/* Only a node's introducer introduces it, or refuses to. */
static bool from_own_broker(struct node_link *link)
{
	return introduced_by_peer(link);
}

IpczResult node_link_accept_reject_introduction(struct node_link *link,
						const uint8_t *bytes,
						size_t num_bytes)
{
	struct msg_introduction_name message;

	if (!from_own_broker(link) ||
	    !read_fixed(bytes, num_bytes, &message, sizeof(message)))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	/* The bypasses stay declined: their routes keep the proxy. */
	forget_waiters(link->node, message.name);
	return IPCZ_RESULT_OK;
}

IpczResult node_link_accept_accept_introduction(
	struct node_link *link, const uint8_t *bytes, size_t num_bytes,
	const IpczDriverHandle *handles, size_t num_handles, size_t *claimed)
{
	const struct IpczDriver *driver = node_link_driver(link);
	IpczDriverHandle transport = IPCZ_INVALID_DRIVER_HANDLE;
	IpczDriverHandle memory;
	struct msg_accept_introduction message;
	size_t transport_handles, i;

	if (!node_message_check(bytes, num_bytes, sizeof(message)) ||
	    !from_own_broker(link) ||
	    num_handles > INTRODUCTION_MAX_HANDLES +
				  NODE_LINK_MEMORY_MAX_HANDLES)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memcpy(&message, bytes, sizeof(message));
	if (message.side > LINK_SIDE_B ||
	    message.transport_bytes > INTRODUCTION_MAX_BYTES ||
	    message.memory_bytes > NODE_LINK_MEMORY_MAX_SERIALIZED ||
	    message.memory_handles > NODE_LINK_MEMORY_MAX_HANDLES ||
	    message.memory_handles > num_handles ||
	    num_handles - message.memory_handles > INTRODUCTION_MAX_HANDLES ||
	    (size_t)message.transport_bytes + message.memory_bytes !=
		    num_bytes - sizeof(message) ||
	    !node_link_valid_peer_name(link->node, message.name) ||
	    memcmp(message.name, link->remote_name, 16) == 0)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	*claimed = num_handles;
	transport_handles = num_handles - message.memory_handles;
	if (driver->Deserialize(bytes + sizeof(message),
				message.transport_bytes, handles,
				transport_handles, link->transport,
				IPCZ_NO_FLAGS, NULL,
				&transport) != IPCZ_RESULT_OK) {
		for (i = 0; i < num_handles; i++)
			driver_close_object(driver, handles[i]);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	memory = node_link_memory_deserialize(
		driver, bytes + sizeof(message) + message.transport_bytes,
		message.memory_bytes, handles + transport_handles,
		message.memory_handles, link->transport);
	if (memory == IPCZ_INVALID_DRIVER_HANDLE &&
	    (message.memory_bytes || message.memory_handles)) {
		for (i = transport_handles; i < num_handles; i++)
			driver_close_object(driver, handles[i]);
		driver_close_object(driver, transport);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	if (node_link_exists(link->node, message.name)) {
		/* A duplicate: the link we have serves. */
		driver_close_object(driver, transport);
		driver_close_object(driver, memory);
		return IPCZ_RESULT_OK;
	}
	if (!node_link_introduce(link->node, transport, message.side,
				 message.name, memory))
		forget_waiters(link->node, message.name);
	return IPCZ_RESULT_OK;
}

/*
 * Side B of an introduced link answers side A's handshake only once it is
 * connected itself, so that side A, once connected, knows both ends are
 * ready. The bypasses that waited for the link are then retried: each
 * proxy asks again, and this time finds the link.
 */
void node_link_introduction_complete(struct node_link *link)
{
	struct router_link **waiters;
	size_t count, i;

	if (link->side == LINK_SIDE_B)
		node_link_send_connect(link, IPCZ_INVALID_DRIVER_HANDLE,
				       OP_TRANSPORT);
	count = node_take_intro_waiters(link->node, link->remote_name,
					&waiters);
	for (i = 0; i < count; i++) {
		router_bypass_send_retry(waiters[i], OP_TRANSPORT);
		router_link_unref(waiters[i]);
	}
	free(waiters);
}
