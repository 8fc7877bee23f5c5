// SPDX-License-Identifier: MIT
/*
 * The in-process driver (include/ipcz/inprocess_driver.h). Every driver
 * handle is the address of a reference-counted object whose header names
 * its type; the handle owns one reference.
 */
#include "ipcz/inprocess_driver.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

enum object_type {
	OBJECT_TRANSPORT = 0x7e11a001,
	OBJECT_MEMORY,
	OBJECT_MAPPING,
	OBJECT_TEST,
};

struct object {
	uint32_t type;
	_Atomic uint32_t refs;
};

static _Atomic size_t live_objects;
static _Atomic ipcz_inprocess_bad_activity_hook bad_activity_hook;
/* Test modes (see inprocess_driver.h). */
static _Atomic int forced_brokering;
static _Atomic size_t sandboxed_allocations;

static void object_init(struct object *object, enum object_type type)
{
	object->type = type;
	atomic_init(&object->refs, 1);
	atomic_fetch_add(&live_objects, 1);
}

static struct object *object_from(IpczDriverHandle handle)
{
	return (struct object *)(uintptr_t)handle;
}

static IpczDriverHandle handle_of(struct object *object)
{
	return (IpczDriverHandle)(uintptr_t)object;
}

static bool is_object(IpczDriverHandle handle)
{
	struct object *object = object_from(handle);

	return object && object->type >= OBJECT_TRANSPORT &&
	       object->type <= OBJECT_TEST;
}

/* ---- memory and mappings ---- */

struct memory {
	struct object header;
	size_t size;
	uint8_t *bytes;
};

struct mapping {
	struct object header;
	struct memory *memory;
};

static void memory_unref(struct memory *memory)
{
	if (atomic_fetch_sub(&memory->header.refs, 1) != 1)
		return;
	free(memory->bytes);
	free(memory);
	atomic_fetch_sub(&live_objects, 1);
}

/* ---- test objects ---- */

struct test_object {
	struct object header;
	uintptr_t value;
	bool serializable;
};

/* ---- transports ---- */

struct message {
	struct message *next;
	IpczTransportActivityFlags flags;
	size_t num_bytes;
	size_t num_handles;
	IpczDriverHandle *handles;
	uint8_t bytes[];
};

struct transport {
	struct object header;
	pthread_mutex_t lock;
	struct transport *peer;		/* a reference, until closed */
	IpczHandle listener;
	IpczTransportActivityHandler handler;	/* NULL unless active */
	/* Held by a broker (forced brokering). */
	_Atomic bool broker_end;
	bool peer_active;	/* the peer can take deliveries */
	bool peer_closed;
	bool notifying;		/* a handler call is running */
	struct message *saved, *saved_tail;	/* for an inactive peer */
	struct message *deferred, *deferred_tail; /* overlapping deliveries */
};

static void close_handles(const IpczDriverHandle *handles, size_t count);

static struct message *message_create(const void *data, size_t num_bytes,
				      const IpczDriverHandle *handles,
				      size_t num_handles,
				      IpczTransportActivityFlags flags)
{
	struct message *message;

	message = calloc(1, sizeof(*message) + num_bytes);
	if (!message)
		return NULL;
	if (num_handles) {
		message->handles = calloc(num_handles, sizeof(*handles));
		if (!message->handles) {
			free(message);
			return NULL;
		}
		memcpy(message->handles, handles,
		       num_handles * sizeof(*handles));
	}
	if (num_bytes)
		memcpy(message->bytes, data, num_bytes);
	message->num_bytes = num_bytes;
	message->num_handles = num_handles;
	message->flags = flags;
	return message;
}

static void message_free(struct message *message, bool close_its_handles)
{
	if (close_its_handles)
		close_handles(message->handles, message->num_handles);
	free(message->handles);
	free(message);
}

static void append(struct message **head, struct message **tail,
		   struct message *message)
{
	message->next = NULL;
	if (*tail)
		(*tail)->next = message;
	else
		*head = message;
	*tail = message;
}

static void transport_unref(struct transport *transport)
{
	if (atomic_fetch_sub(&transport->header.refs, 1) != 1)
		return;
	while (transport->saved) {
		struct message *next = transport->saved->next;

		message_free(transport->saved, true);
		transport->saved = next;
	}
	pthread_mutex_destroy(&transport->lock);
	free(transport);
	atomic_fetch_sub(&live_objects, 1);
}

/*
 * Delivers one notification to `transport`'s handler, or queues it behind
 * the one being delivered: handlers of one transport never overlap, and
 * the thread already delivering drains the queue in order. Handles of a
 * message nobody can receive are closed.
 */
static void notify(struct transport *transport, struct message *message)
{
	IpczTransportActivityHandler handler;
	IpczHandle listener;

	pthread_mutex_lock(&transport->lock);
	if (transport->notifying) {
		append(&transport->deferred, &transport->deferred_tail,
		       message);
		pthread_mutex_unlock(&transport->lock);
		return;
	}
	/* A handler may close the transport: keep it alive till we are done. */
	atomic_fetch_add(&transport->header.refs, 1);
	transport->notifying = true;
	for (;;) {
		handler = transport->handler;
		listener = transport->listener;
		if (message->flags & IPCZ_TRANSPORT_ACTIVITY_DEACTIVATED)
			transport->handler = NULL;
		pthread_mutex_unlock(&transport->lock);

		if (handler) {
			IpczResult result = handler(
				listener, message->num_bytes ? message->bytes :
							       NULL,
				message->num_bytes,
				message->num_handles ? message->handles : NULL,
				message->num_handles, message->flags, NULL);

			/* A refused message is an error on the transport. */
			if (result != IPCZ_RESULT_OK &&
			    result != IPCZ_RESULT_UNIMPLEMENTED &&
			    !(message->flags &
			      (IPCZ_TRANSPORT_ACTIVITY_ERROR |
			       IPCZ_TRANSPORT_ACTIVITY_DEACTIVATED))) {
				struct message *error = message_create(
					NULL, 0, NULL, 0,
					IPCZ_TRANSPORT_ACTIVITY_ERROR);

				if (error) {
					pthread_mutex_lock(&transport->lock);
					append(&transport->deferred,
					       &transport->deferred_tail,
					       error);
					pthread_mutex_unlock(&transport->lock);
				}
			}
			message_free(message, false);
		} else {
			message_free(message, true);
		}

		pthread_mutex_lock(&transport->lock);
		message = transport->deferred;
		if (!message) {
			transport->deferred_tail = NULL;
			transport->notifying = false;
			pthread_mutex_unlock(&transport->lock);
			transport_unref(transport);
			return;
		}
		transport->deferred = message->next;
		if (!transport->deferred)
			transport->deferred_tail = NULL;
	}
}

static void notify_flags(struct transport *transport,
			 IpczTransportActivityFlags flags)
{
	struct message *message = message_create(NULL, 0, NULL, 0, flags);

	if (message)
		notify(transport, message);
}

/* Gives `peer` the messages saved while it was inactive, then marks it. */
static void deliver_saved(struct transport *sender, struct transport *peer)
{
	for (;;) {
		struct message *batch;

		pthread_mutex_lock(&sender->lock);
		batch = sender->saved;
		sender->saved = sender->saved_tail = NULL;
		if (!batch)
			sender->peer_active = true;
		pthread_mutex_unlock(&sender->lock);
		if (!batch)
			return;
		while (batch) {
			struct message *next = batch->next;

			notify(peer, batch);
			batch = next;
		}
	}
}

static IpczResult transport_activate(struct transport *transport,
				     IpczHandle listener,
				     IpczTransportActivityHandler handler)
{
	struct transport *peer;
	bool peer_closed;

	pthread_mutex_lock(&transport->lock);
	if (transport->handler) {
		pthread_mutex_unlock(&transport->lock);
		return IPCZ_RESULT_FAILED_PRECONDITION;
	}
	transport->listener = listener;
	transport->handler = handler;
	peer = transport->peer;
	peer_closed = transport->peer_closed;
	if (peer)
		atomic_fetch_add(&peer->header.refs, 1);
	pthread_mutex_unlock(&transport->lock);

	if (peer) {
		deliver_saved(peer, transport);
		transport_unref(peer);
	}
	if (peer_closed)
		notify_flags(transport, IPCZ_TRANSPORT_ACTIVITY_ERROR);
	return IPCZ_RESULT_OK;
}

static IpczResult transport_deactivate(struct transport *transport)
{
	pthread_mutex_lock(&transport->lock);
	if (!transport->handler) {
		pthread_mutex_unlock(&transport->lock);
		return IPCZ_RESULT_FAILED_PRECONDITION;
	}
	pthread_mutex_unlock(&transport->lock);
	/* Queued behind any delivery in progress, then the handler is gone. */
	notify_flags(transport, IPCZ_TRANSPORT_ACTIVITY_DEACTIVATED);
	return IPCZ_RESULT_OK;
}

static IpczResult transport_transmit(struct transport *transport,
				     const void *data, size_t num_bytes,
				     const IpczDriverHandle *handles,
				     size_t num_handles)
{
	struct message *message;
	struct transport *peer;

	message = message_create(data, num_bytes, handles, num_handles, 0);
	if (!message)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	pthread_mutex_lock(&transport->lock);
	peer = transport->peer;
	if (!peer) {
		pthread_mutex_unlock(&transport->lock);
		message_free(message, false);
		return IPCZ_RESULT_FAILED_PRECONDITION;
	}
	if (!transport->peer_active) {
		append(&transport->saved, &transport->saved_tail, message);
		pthread_mutex_unlock(&transport->lock);
		return IPCZ_RESULT_OK;
	}
	atomic_fetch_add(&peer->header.refs, 1);
	pthread_mutex_unlock(&transport->lock);
	notify(peer, message);
	transport_unref(peer);
	return IPCZ_RESULT_OK;
}

static void transport_close(struct transport *transport)
{
	struct transport *peer;
	bool active;

	pthread_mutex_lock(&transport->lock);
	peer = transport->peer;
	transport->peer = NULL;
	active = transport->handler != NULL;
	pthread_mutex_unlock(&transport->lock);
	if (active)
		notify_flags(transport, IPCZ_TRANSPORT_ACTIVITY_DEACTIVATED);
	if (peer) {
		pthread_mutex_lock(&peer->lock);
		peer->peer_closed = true;
		if (peer->peer == transport) {
			peer->peer = NULL;
			transport_unref(transport);
		}
		active = peer->handler != NULL;
		pthread_mutex_unlock(&peer->lock);
		if (active)
			notify_flags(peer, IPCZ_TRANSPORT_ACTIVITY_ERROR);
		transport_unref(peer);
	}
	transport_unref(transport);
}

/* ---- the driver table ---- */

static void close_object(struct object *object)
{
	switch (object->type) {
	case OBJECT_TRANSPORT:
		transport_close((struct transport *)object);
		break;
	case OBJECT_MEMORY:
		memory_unref((struct memory *)object);
		break;
	case OBJECT_MAPPING:
		memory_unref(((struct mapping *)object)->memory);
		free(object);
		atomic_fetch_sub(&live_objects, 1);
		break;
	default:
		free(object);
		atomic_fetch_sub(&live_objects, 1);
		break;
	}
}

static void close_handles(const IpczDriverHandle *handles, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		if (is_object(handles[i]))
			close_object(object_from(handles[i]));
	}
}

static IpczResult IPCZ_API driver_close(IpczDriverHandle handle,
					uint32_t flags, const void *options)
{
	if (!is_object(handle))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	close_object(object_from(handle));
	return IPCZ_RESULT_OK;
}

static struct transport *as_transport(IpczDriverHandle handle);

/*
 * Forced brokering: whether test objects may cross `handle`. Without the
 * mode, or without a transport (the question whether an object can be
 * sent at all), always; else only if one end is held by a broker.
 */
static bool brokered_transport(IpczDriverHandle handle)
{
	struct transport *transport = as_transport(handle);
	bool brokered;

	if (!atomic_load(&forced_brokering) || !transport)
		return true;
	pthread_mutex_lock(&transport->lock);
	brokered = atomic_load(&transport->broker_end) ||
		   (transport->peer &&
		    atomic_load(&transport->peer->broker_end));
	pthread_mutex_unlock(&transport->lock);
	return brokered;
}

static IpczResult IPCZ_API
driver_serialize(IpczDriverHandle handle, IpczDriverHandle transport,
		 uint32_t flags, const void *options, volatile void *data,
		 size_t *num_bytes, IpczDriverHandle *handles,
		 size_t *num_handles)
{
	struct object *object = object_from(handle);
	size_t capacity = num_handles ? *num_handles : 0;

	if (!is_object(handle))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (object->type == OBJECT_MAPPING ||
	    (object->type == OBJECT_TEST &&
	     !((struct test_object *)object)->serializable))
		return IPCZ_RESULT_FAILED_PRECONDITION;
	if ((object->type == OBJECT_TEST ||
	     atomic_load(&forced_brokering) == 2) &&
	    !brokered_transport(transport))
		return IPCZ_RESULT_PERMISSION_DENIED;
	/* Within one process an object travels as itself. */
	if (num_bytes)
		*num_bytes = 0;
	if (num_handles)
		*num_handles = 1;
	if (capacity < 1 || !handles)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	handles[0] = handle;
	return IPCZ_RESULT_OK;
}

static IpczResult IPCZ_API
driver_deserialize(const volatile void *data, size_t num_bytes,
		   const IpczDriverHandle *handles, size_t num_handles,
		   IpczDriverHandle transport, uint32_t flags,
		   const void *options, IpczDriverHandle *handle)
{
	if (num_bytes != 0 || num_handles != 1 || !handles || !handle ||
	    !is_object(handles[0]))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	*handle = handles[0];
	return IPCZ_RESULT_OK;
}

static struct transport *transport_create(void)
{
	struct transport *transport = calloc(1, sizeof(*transport));

	if (!transport)
		return NULL;
	object_init(&transport->header, OBJECT_TRANSPORT);
	pthread_mutex_init(&transport->lock, NULL);
	return transport;
}

static IpczResult IPCZ_API
driver_create_transports(IpczDriverHandle transport0,
			 IpczDriverHandle transport1, uint32_t flags,
			 const void *options, IpczDriverHandle *new_transport0,
			 IpczDriverHandle *new_transport1)
{
	struct transport *a, *b;

	if (!new_transport0 || !new_transport1)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	a = transport_create();
	b = transport_create();
	if (!a || !b) {
		if (a)
			transport_unref(a);
		if (b)
			transport_unref(b);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	/* Each end holds a reference to the other until it is closed. */
	atomic_fetch_add(&a->header.refs, 1);
	atomic_fetch_add(&b->header.refs, 1);
	a->peer = b;
	b->peer = a;
	*new_transport0 = handle_of(&a->header);
	*new_transport1 = handle_of(&b->header);
	return IPCZ_RESULT_OK;
}

static struct transport *as_transport(IpczDriverHandle handle)
{
	if (!is_object(handle) || object_from(handle)->type != OBJECT_TRANSPORT)
		return NULL;
	return (struct transport *)object_from(handle);
}

static IpczResult IPCZ_API
driver_activate_transport(IpczDriverHandle handle, IpczHandle listener,
			  IpczTransportActivityHandler handler, uint32_t flags,
			  const void *options)
{
	struct transport *transport = as_transport(handle);

	if (!transport || !handler)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	return transport_activate(transport, listener, handler);
}

static IpczResult IPCZ_API driver_deactivate_transport(IpczDriverHandle handle,
						       uint32_t flags,
						       const void *options)
{
	struct transport *transport = as_transport(handle);

	if (!transport)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	return transport_deactivate(transport);
}

static IpczResult IPCZ_API driver_transmit(IpczDriverHandle handle,
					   const void *data, size_t num_bytes,
					   const IpczDriverHandle *handles,
					   size_t num_handles, uint32_t flags,
					   const void *options)
{
	struct transport *transport = as_transport(handle);

	if (!transport || (num_bytes && !data) || (num_handles && !handles))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	return transport_transmit(transport, data, num_bytes, handles,
				  num_handles);
}

static IpczResult IPCZ_API
driver_report_bad_transport_activity(IpczDriverHandle transport,
				     uintptr_t context, uint32_t flags,
				     const void *options)
{
	ipcz_inprocess_bad_activity_hook hook = atomic_load(&bad_activity_hook);

	if (!as_transport(transport))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (hook)
		hook(transport, context);
	return IPCZ_RESULT_OK;
}

static IpczResult IPCZ_API driver_allocate_shared_memory(
	size_t num_bytes, uint32_t flags, const void *options,
	IpczDriverHandle *driver_memory)
{
	struct memory *memory;

	if (!driver_memory || num_bytes == 0)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memory = calloc(1, sizeof(*memory));
	if (!memory)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	memory->bytes = calloc(1, num_bytes);
	if (!memory->bytes) {
		free(memory);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	memory->size = num_bytes;
	object_init(&memory->header, OBJECT_MEMORY);
	*driver_memory = handle_of(&memory->header);
	return IPCZ_RESULT_OK;
}

static struct memory *as_memory(IpczDriverHandle handle)
{
	if (!is_object(handle) || object_from(handle)->type != OBJECT_MEMORY)
		return NULL;
	return (struct memory *)object_from(handle);
}

static IpczResult IPCZ_API
driver_get_shared_memory_info(IpczDriverHandle handle, uint32_t flags,
			      const void *options,
			      struct IpczSharedMemoryInfo *info)
{
	struct memory *memory = as_memory(handle);

	if (!memory || !info || info->size < sizeof(*info))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	info->region_num_bytes = memory->size;
	return IPCZ_RESULT_OK;
}

static IpczResult IPCZ_API
driver_duplicate_shared_memory(IpczDriverHandle handle, uint32_t flags,
			       const void *options,
			       IpczDriverHandle *new_driver_memory)
{
	struct memory *memory = as_memory(handle);

	if (!memory || !new_driver_memory)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	/* A duplicate is another reference: both name the same bytes. */
	atomic_fetch_add(&memory->header.refs, 1);
	*new_driver_memory = handle;
	return IPCZ_RESULT_OK;
}

static IpczResult IPCZ_API
driver_map_shared_memory(IpczDriverHandle handle, uint32_t flags,
			 const void *options, volatile void **address,
			 IpczDriverHandle *driver_mapping)
{
	struct memory *memory = as_memory(handle);
	struct mapping *mapping;

	if (!memory || !address || !driver_mapping)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	mapping = calloc(1, sizeof(*mapping));
	if (!mapping)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	object_init(&mapping->header, OBJECT_MAPPING);
	atomic_fetch_add(&memory->header.refs, 1);
	mapping->memory = memory;
	*address = memory->bytes;
	*driver_mapping = handle_of(&mapping->header);
	return IPCZ_RESULT_OK;
}

static IpczResult IPCZ_API driver_generate_random_bytes(size_t num_bytes,
							uint32_t flags,
							const void *options,
							void *buffer)
{
	uint8_t *out = buffer;

	if (num_bytes && !buffer)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	while (num_bytes) {
		ssize_t got = getrandom(out, num_bytes, 0);

		if (got < 0)
			return IPCZ_RESULT_UNKNOWN;
		out += got;
		num_bytes -= (size_t)got;
	}
	return IPCZ_RESULT_OK;
}

/* The sandboxed table's allocator: counts the attempt and refuses it. */
static IpczResult IPCZ_API sandboxed_allocate_shared_memory(
	size_t num_bytes, uint32_t flags, const void *options,
	IpczDriverHandle *driver_memory)
{
	atomic_fetch_add(&sandboxed_allocations, 1);
	return IPCZ_RESULT_PERMISSION_DENIED;
}

/*
 * The two drivers differ only in how shared memory is allocated: the
 * sandboxed one refuses, as a sandboxed process's driver would.
 */
#define INPROCESS_DRIVER(allocate)					\
	{								\
		.size = sizeof(struct IpczDriver),			\
		.Close = driver_close,					\
		.Serialize = driver_serialize,				\
		.Deserialize = driver_deserialize,			\
		.CreateTransports = driver_create_transports,		\
		.ActivateTransport = driver_activate_transport,		\
		.DeactivateTransport = driver_deactivate_transport,	\
		.Transmit = driver_transmit,				\
		.ReportBadTransportActivity =				\
			driver_report_bad_transport_activity,		\
		.AllocateSharedMemory = (allocate),			\
		.GetSharedMemoryInfo = driver_get_shared_memory_info,	\
		.DuplicateSharedMemory = driver_duplicate_shared_memory, \
		.MapSharedMemory = driver_map_shared_memory,		\
		.GenerateRandomBytes = driver_generate_random_bytes,	\
	}

static const struct IpczDriver inprocess_driver =
	INPROCESS_DRIVER(driver_allocate_shared_memory);
static const struct IpczDriver sandboxed_driver =
	INPROCESS_DRIVER(sandboxed_allocate_shared_memory);

const struct IpczDriver *ipcz_inprocess_driver(void)
{
	return &inprocess_driver;
}

const struct IpczDriver *ipcz_inprocess_sandboxed_driver(void)
{
	return &sandboxed_driver;
}

size_t ipcz_inprocess_sandboxed_allocations(void)
{
	return atomic_load(&sandboxed_allocations);
}

void ipcz_inprocess_set_forced_brokering(int enabled)
{
	atomic_store(&forced_brokering, enabled == 2 ? 2 : enabled != 0);
}

IpczResult ipcz_inprocess_transport_set_broker(IpczDriverHandle handle)
{
	struct transport *transport = as_transport(handle);

	if (!transport)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	atomic_store(&transport->broker_end, true);
	return IPCZ_RESULT_OK;
}

IpczDriverHandle ipcz_inprocess_test_object_create(uintptr_t value,
						   int serializable)
{
	struct test_object *object = calloc(1, sizeof(*object));

	if (!object)
		return IPCZ_INVALID_DRIVER_HANDLE;
	object_init(&object->header, OBJECT_TEST);
	object->value = value;
	object->serializable = serializable != 0;
	return handle_of(&object->header);
}

IpczResult ipcz_inprocess_test_object_value(IpczDriverHandle handle,
					    uintptr_t *value)
{
	if (!is_object(handle) || object_from(handle)->type != OBJECT_TEST ||
	    !value)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	*value = ((struct test_object *)object_from(handle))->value;
	return IPCZ_RESULT_OK;
}

size_t ipcz_inprocess_live_objects(void)
{
	return atomic_load(&live_objects);
}

void ipcz_inprocess_set_bad_activity_hook(ipcz_inprocess_bad_activity_hook hook)
{
	atomic_store(&bad_activity_hook, hook);
}
