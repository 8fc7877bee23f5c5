// SPDX-License-Identifier: MIT
/*
 * Allocation delegation: see allocation_delegate.h. The delegating node
 * keeps its open requests (id, the link the memory is for, what for); the
 * delegate allocates with its own driver and answers at once.
 */
#include "lib/allocation_delegate.h"

#include <stdlib.h>
#include <string.h>

#include "lib/driver.h"
#include "lib/lock.h"
#include "lib/node.h"
#include "lib/node_link_internal.h"
#include "lib/node_link_memory.h"
#include "lib/node_message.h"

struct memory_request {
	struct memory_request *next;
	uint64_t id;
	struct node_link *target;	/* a reference */
	enum memory_purpose purpose;
	uint64_t size;
	uint32_t block_size;
};

void allocation_delegate_set(struct node *node, struct node_link *link)
{
	ipcz_lock(&node->lock);
	node->delegating = true;
	if (!node->delegate && !node->closed) {
		node_link_ref(link);
		node->delegate = link;
	}
	ipcz_unlock(&node->lock);
}

bool allocation_delegate_in_use(struct node *node)
{
	bool delegating;

	ipcz_lock(&node->lock);
	delegating = node->delegating;
	ipcz_unlock(&node->lock);
	return delegating;
}

static void send_memory_message(struct node_link *link, enum op_context ctx,
				enum node_message_type type, uint64_t id,
				uint64_t size, IpczDriverHandle memory)
{
	struct msg_memory message = {
		.header = { .type = (uint16_t)type },
		.id = id,
		.size = size,
	};
	struct message_builder b;

	message_builder_init(&b);
	message_builder_append(&b, &message, sizeof(message));
	if (memory != IPCZ_INVALID_DRIVER_HANDLE) {
		node_link_memory_serialize(node_link_driver(link), memory,
					   node_link_hold_transport(link), &b);
		node_link_release_transport(link);
	}
	node_link_set_header(&b, type);
	node_link_transmit(link, &b, ctx);
	message_builder_free(&b);
}

bool allocation_delegate_request(struct node_link *target,
				 enum memory_purpose purpose, size_t size,
				 uint32_t block_size, enum op_context ctx)
{
	struct node *node = target->node;
	struct memory_request *request = calloc(1, sizeof(*request));
	struct node_link *delegate = NULL;
	uint64_t id = 0;

	if (!request)
		return false;
	ipcz_lock(&node->lock);
	if (node->delegate && !node->closed &&
	    node->num_memory_requests < ALLOCATION_DELEGATE_MAX_PENDING) {
		delegate = node->delegate;
		node_link_ref(delegate);
		id = ++node->next_memory_request;
		request->id = id;
		node_link_ref(target);
		request->target = target;
		request->purpose = purpose;
		request->size = size;
		request->block_size = block_size;
		request->next = node->memory_requests;
		node->memory_requests = request;
		node->num_memory_requests++;
		request = NULL;
	}
	ipcz_unlock(&node->lock);
	free(request);
	if (!delegate)
		return false;
	/* If this fails the delegate link is dropped, failing the request. */
	send_memory_message(delegate, ctx, MSG_REQUEST_MEMORY, id, size,
			    IPCZ_INVALID_DRIVER_HANDLE);
	node_link_unref(delegate);
	return true;
}

IpczResult allocation_delegate_accept_request(struct node_link *link,
					      const uint8_t *bytes,
					      size_t num_bytes)
{
	const struct IpczDriver *driver = node_link_driver(link);
	IpczDriverHandle memory = IPCZ_INVALID_DRIVER_HANDLE;
	struct msg_memory message;

	if (!node_message_check(bytes, num_bytes, sizeof(message)) ||
	    num_bytes != sizeof(message) ||
	    !(link->remote_flags & IPCZ_CONNECT_NODE_TO_ALLOCATION_DELEGATE))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memcpy(&message, bytes, sizeof(message));
	if (!message.size || message.size > node_link_memory_max_request())
		return IPCZ_RESULT_INVALID_ARGUMENT;
	/*
	 * A delegate that cannot allocate says so with an empty answer; so
	 * does one that delegates its own allocations (it never allocates).
	 */
	if (allocation_delegate_in_use(link->node) ||
	    driver->AllocateSharedMemory((size_t)message.size, IPCZ_NO_FLAGS,
					 NULL, &memory) != IPCZ_RESULT_OK)
		memory = IPCZ_INVALID_DRIVER_HANDLE;
	send_memory_message(link, OP_TRANSPORT, MSG_PROVIDE_MEMORY, message.id,
			    message.size, memory);
	return IPCZ_RESULT_OK;
}

/* Hands `memory` (may be invalid: failed) to what the request was for. */
static void complete(struct memory_request *request, IpczDriverHandle memory,
		     enum op_context ctx)
{
	if (request->purpose == MEMORY_FOR_PRIMARY)
		node_link_primary_provided(request->target, memory, ctx);
	else
		node_link_growth_provided(request->target, request->block_size,
					  memory, ctx);
	node_link_unref(request->target);
	free(request);
}

static struct memory_request *take_request(struct node *node,
					   struct node_link *from, uint64_t id)
{
	struct memory_request **p, *found = NULL;

	ipcz_lock(&node->lock);
	if (node->delegate == from) {
		for (p = &node->memory_requests; *p; p = &(*p)->next) {
			if ((*p)->id == id) {
				found = *p;
				*p = found->next;
				node->num_memory_requests--;
				break;
			}
		}
	}
	ipcz_unlock(&node->lock);
	return found;
}

/* The region a delegate provides; on failure its handles are closed. */
static IpczDriverHandle provided_memory(struct node_link *link,
					const uint8_t *bytes, size_t num_bytes,
					const IpczDriverHandle *handles,
					size_t num_handles)
{
	const struct IpczDriver *driver = node_link_driver(link);
	IpczDriverHandle memory;
	size_t i;

	memory = node_link_memory_deserialize(driver, bytes, num_bytes,
					      handles, num_handles,
					      link->transport);
	if (memory == IPCZ_INVALID_DRIVER_HANDLE)
		for (i = 0; i < num_handles; i++)
			driver_close_object(driver, handles[i]);
	return memory;
}

static bool memory_covers(const struct IpczDriver *driver,
			  IpczDriverHandle memory, size_t size)
{
	struct IpczSharedMemoryInfo info = { .size = sizeof(info) };

	return driver->GetSharedMemoryInfo(memory, IPCZ_NO_FLAGS, NULL,
					   &info) == IPCZ_RESULT_OK &&
	       info.region_num_bytes >= size;
}

IpczResult allocation_delegate_accept_provide(struct node_link *link,
					      const uint8_t *bytes,
					      size_t num_bytes,
					      const IpczDriverHandle *handles,
					      size_t num_handles,
					      size_t *claimed)
{
	IpczDriverHandle memory = IPCZ_INVALID_DRIVER_HANDLE;
	struct memory_request *request;
	struct msg_memory message;
	size_t extra;
	bool good = true;

	if (!node_message_check(bytes, num_bytes, sizeof(message)) ||
	    num_handles > NODE_LINK_MEMORY_MAX_HANDLES ||
	    num_bytes - sizeof(message) > NODE_LINK_MEMORY_MAX_SERIALIZED)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memcpy(&message, bytes, sizeof(message));
	/* Only our delegate answers, and only what we asked. */
	request = take_request(link->node, link, message.id);
	if (!request)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	extra = num_bytes - sizeof(message);
	if (extra || num_handles) {
		*claimed = num_handles;
		memory = provided_memory(link, bytes + sizeof(message), extra,
					 handles, num_handles);
		good = memory != IPCZ_INVALID_DRIVER_HANDLE &&
		       memory_covers(node_link_driver(link), memory,
				     request->size);
	}
	if (message.size != request->size || !good) {
		/* A bad answer fails the request and drops the delegate. */
		driver_close_object(node_link_driver(link), memory);
		complete(request, IPCZ_INVALID_DRIVER_HANDLE, OP_TRANSPORT);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	complete(request, memory, OP_TRANSPORT);
	return IPCZ_RESULT_OK;
}

void allocation_delegate_forget(struct node *node, struct node_link *link)
{
	struct memory_request *failed = NULL, *dropped = NULL, **p, *next;
	struct node_link *delegate = NULL;
	bool was_delegate;

	ipcz_lock(&node->lock);
	was_delegate = !link || node->delegate == link;
	if (was_delegate) {
		delegate = node->delegate;
		node->delegate = NULL;
	}
	p = &node->memory_requests;
	while (*p) {
		struct memory_request *r = *p;

		if (was_delegate || r->target == link) {
			*p = r->next;
			node->num_memory_requests--;
			/* Requests for a link still alive fail visibly. */
			if (link && r->target != link) {
				r->next = failed;
				failed = r;
			} else {
				r->next = dropped;
				dropped = r;
			}
		} else {
			p = &r->next;
		}
	}
	ipcz_unlock(&node->lock);
	for (; dropped; dropped = next) {
		next = dropped->next;
		node_link_unref(dropped->target);
		free(dropped);
	}
	for (; failed; failed = next) {
		next = failed->next;
		complete(failed, IPCZ_INVALID_DRIVER_HANDLE, OP_TRANSPORT);
	}
	if (delegate)
		node_link_unref(delegate);
}
