// SPDX-License-Identifier: MIT
/*
 * Node links: the handshake, the routing of received messages to routers
 * by sublink, and the encoding and decoding of parcels with the objects
 * they carry (portals continue as new routers, boxes as driver objects or
 * subparcels).
 */
#include "lib/node_link.h"

#include <stdlib.h>
#include <string.h>

#include "lib/box.h"
#include "lib/driver.h"
#include "lib/handle_table.h"
#include "lib/lock.h"
#include "lib/node.h"
#include "lib/node_link_memory.h"
#include "lib/node_message.h"
#include "lib/parcel.h"
#include "lib/parcel_wrapper.h"
#include "lib/remote_router_link.h"
#include "lib/router.h"
#include "lib/router_bypass.h"
#include "lib/sublink_map.h"

enum node_link_state { LINK_CONNECTING, LINK_CONNECTED, LINK_DEAD };

/* The first sublink number handed out for a transferred portal. */
#define FIRST_TRANSFER_SUBLINK 64

/*
 * Where a transferred portal's sequences may start: far below the top of
 * the 64-bit range, so that no sequence arithmetic can wrap (and none can
 * reach the "unknown" marker).
 */
#define MAX_SEQUENCE_START (UINT64_C(1) << 62)

struct node_link {
	struct api_object object;
	struct ipcz_lock lock;
	struct node *node;		/* a reference */
	IpczDriverHandle transport;	/* ours until destruction */
	IpczHandle listener;		/* our handle while activated */
	uint8_t state;
	uint8_t side;
	IpczConnectNodeFlags flags;
	struct router **initial;	/* references, until the handshake */
	uint32_t num_initial;
	uint32_t num_portals;		/* initial portals asked for */
	uint64_t next_sublink;
	struct sublink_map routes;
	struct node_link_memory memory;	/* pool, rings, numbering */
	uint8_t remote_name[16];	/* from CONNECT; zero before */
	/*
	 * Made from an introduction by the broker: the peer's name and this
	 * side are known from the start (remote_name is set before CONNECT).
	 */
	bool introduced;
};

static const struct IpczDriver *driver_of(struct node_link *link)
{
	return &link->node->driver;
}

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
	driver_close_object(driver_of(link), link->transport);
	node_unref(link->node);
	free(link);
}

/* ---- sending ---- */

/*
 * Transmits a built message. A message that cannot go (no memory to build
 * it, or the driver refuses it, e.g. over its queue limit) would be a
 * parcel or closure silently lost, so the link is dropped instead: every
 * route through it breaks, visibly, on both sides.
 */
static bool transmit(struct node_link *link, struct message_builder *b,
		     enum op_context ctx)
{
	const struct IpczDriver *driver = driver_of(link);
	IpczResult result = IPCZ_RESULT_UNAVAILABLE;
	IpczDriverHandle transport;
	bool dead;
	size_t i;

	ipcz_lock(&link->lock);
	dead = link->state == LINK_DEAD;
	transport = link->transport;
	ipcz_unlock(&link->lock);
	if (!b->failed && !dead && transport != IPCZ_INVALID_DRIVER_HANDLE) {
		switch (node_link_memory_send(&link->memory, b->bytes, b->size,
					      b->num_handles)) {
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
	}
	if (result == IPCZ_RESULT_OK)
		return true;
	/* Driver objects the driver did not take are ours to close. */
	for (i = 0; i < b->num_handles; i++)
		driver_close_object(driver, b->handles[i]);
	if (!dead)
		node_link_disconnect(link, ctx);
	return false;
}

static void set_header(struct message_builder *b, enum node_message_type type)
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
 * Serves a growth request of the link's pool: the new buffer is announced
 * (numbered before any message that names it) and then registered.
 */
static void grow_pool(struct node_link *link, enum op_context ctx)
{
	struct node_link_growth growth;
	struct message_builder b;
	bool sent;

	message_builder_init(&b);
	if (node_link_memory_prepare_growth(&link->memory, link->transport,
					    &b, &growth)) {
		set_header(&b, MSG_ADD_BLOCK_BUFFER);
		sent = transmit(link, &b, ctx);
		node_link_memory_finish_growth(&link->memory, &growth, sent);
	}
	message_builder_free(&b);
}

/*
 * Larger parcel data goes into a data fragment of the pool (growing it
 * once if it is full), so that the message stays small enough for the
 * ring. False: the data travels in the message.
 */
static bool data_to_fragment(struct node_link *link, enum op_context ctx,
			     const struct parcel *parcel,
			     struct msg_parcel *message)
{
	int attempt;

	if (parcel->data_size <= NODE_LINK_MEMORY_INLINE_MAX)
		return false;
	for (attempt = 0; attempt < 2; attempt++) {
		if (node_link_memory_put_data(&link->memory, parcel->data,
					      parcel->data_size,
					      &message->data_buffer_id,
					      &message->data_offset,
					      &message->data_size)) {
			message->flags |= PARCEL_DATA_IN_FRAGMENT;
			return true;
		}
		if (attempt == 0)
			grow_pool(link, ctx);
	}
	return false;
}

void node_link_send_route_closed(struct node_link *link, enum op_context ctx,
				 uint64_t sublink, uint64_t length)
{
	struct msg_route_closed message = {
		.header = { .size = sizeof(message), .type = MSG_ROUTE_CLOSED },
		.sublink = sublink,
		.length = length,
	};
	struct message_builder b;

	message_builder_init(&b);
	message_builder_append(&b, &message, sizeof(message));
	transmit(link, &b, ctx);
	message_builder_free(&b);
}

void node_link_send_route_disconnected(struct node_link *link,
				       enum op_context ctx, uint64_t sublink)
{
	struct msg_route_disconnected message = {
		.header = { .size = sizeof(message),
			    .type = MSG_ROUTE_DISCONNECTED },
		.sublink = sublink,
	};
	struct message_builder b;

	message_builder_init(&b);
	message_builder_append(&b, &message, sizeof(message));
	transmit(link, &b, ctx);
	message_builder_free(&b);
}

/* A portal on its way: adopts its link once the message is out. */
struct transfer {
	struct router *router;
	struct router_link *link;
	struct router *peer;		/* a direct transfer's local peer */
	struct router_link *peer_link;	/* and its link to the new router */
};

struct encoder {
	struct node_link *link;
	enum op_context ctx;
	struct message_builder records;	/* records, and the driver handles */
	struct message_builder data;	/* parcel data, then record bytes */
	uint32_t num_records;
	struct transfer *transfers;
	size_t num_transfers, transfer_capacity;
};

static uint64_t allocate_sublink(struct node_link *link)
{
	uint64_t sublink;

	ipcz_lock(&link->lock);
	/* Each side numbers from its own half, so the two never collide. */
	sublink = (link->next_sublink++ << 1) | link->side;
	ipcz_unlock(&link->lock);
	return sublink;
}

static bool add_route(struct node_link *link, uint64_t sublink,
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

static size_t add_record(struct encoder *e, const struct wire_object *record)
{
	size_t offset = message_builder_append(&e->records, record,
					       sizeof(*record));

	e->num_records++;
	return offset;
}

static void encode_objects(struct encoder *e, struct api_object **objects,
			   uint32_t count, int depth);

/*
 * A portal whose peer is on this node: the peer is linked to the new
 * router directly, and this router forwards only what the peer sent
 * before the cut (Documentation/route-reduction.rst).
 */
static bool encode_direct_portal(struct encoder *e, struct router *router,
				 uint64_t inward_sublink,
				 struct wire_object *record, struct transfer *t)
{
	struct router *peer = router_peer_for_direct_transfer(router);
	struct wire_direct_portal wire = { .decaying_sublink = inward_sublink };
	struct router_link *central = NULL;
	struct direct_transfer cuts;
	uint64_t sublink;

	if (!peer)
		return false;
	sublink = allocate_sublink(e->link);
	central = remote_router_link_create(e->link, sublink, LINK_CENTRAL,
					    e->link->side);
	if (!central || !add_route(e->link, sublink, peer, central))
		goto fail;
	if (!router_begin_direct_transfer(router, peer, e->ctx, &cuts)) {
		node_link_remove_route(e->link, sublink, central);
		goto fail;
	}
	wire.peer_cut = cuts.peer_cut;
	record->kind = WIRE_PORTAL_DIRECT;
	record->sublink = sublink;
	record->next_outbound = cuts.next_outbound;
	record->next_inbound = cuts.next_inbound;
	record->num_bytes = sizeof(wire);
	message_builder_append(&e->data, &wire, sizeof(wire));
	t->peer = peer;
	t->peer_link = central;
	return true;
fail:
	router_link_unref(central);
	router_unref(peer);
	return false;
}

/*
 * A portal going to the node its peer is on: the record names the peer's
 * route, so that the receiver can join the two there (the proxy left here
 * is told where to stop).
 */
static void encode_returning_portal(struct encoder *e,
				    struct router_link *peer_link,
				    struct wire_object *record)
{
	struct wire_returning_portal wire;

	if (!peer_link || !remote_router_link_sublink_on(peer_link, e->link,
							 &wire.peer_sublink))
		return;
	record->kind = WIRE_PORTAL_RETURNING;
	record->num_bytes = sizeof(wire);
	message_builder_append(&e->data, &wire, sizeof(wire));
}

/* A portal continues on the other node; it stays here as a proxy. */
static void encode_portal(struct encoder *e, struct router *router,
			  struct wire_object *record)
{
	struct router_link *link;
	uint64_t sublink = allocate_sublink(e->link);
	struct router_link *peer_link = NULL;
	struct transfer *grown, *t;

	link = remote_router_link_create(e->link, sublink,
					 LINK_PERIPHERAL_INWARD, e->link->side);
	if (!link)
		goto lost;
	if (e->num_transfers == e->transfer_capacity) {
		size_t capacity = e->transfer_capacity ?
					  e->transfer_capacity * 2 : 4;

		grown = realloc(e->transfers, capacity * sizeof(*grown));
		if (!grown)
			goto lost_link;
		e->transfers = grown;
		e->transfer_capacity = capacity;
	}
	/* Registered before the message goes out, adopted after it. */
	if (!add_route(e->link, sublink, router, link))
		goto lost_link;
	t = &e->transfers[e->num_transfers];
	t->peer = NULL;
	t->peer_link = NULL;
	if (!encode_direct_portal(e, router, sublink, record, t)) {
		peer_link = router_central_link_for_return(router);
		if (!router_begin_transfer(router, e->ctx,
					   &record->next_outbound,
					   &record->next_inbound)) {
			node_link_remove_route(e->link, sublink, link);
			goto lost_link;
		}
		record->kind = WIRE_PORTAL;
		record->sublink = sublink;
		encode_returning_portal(e, peer_link, record);
	}
	router_link_unref(peer_link);
	router_ref(router);
	t->router = router;
	t->link = link;
	e->num_transfers++;
	return;
lost_link:
	router_link_unref(link);
lost:
	router_close(router);
	record->kind = WIRE_LOST;
}

static void encode_driver_object(struct encoder *e, struct node *node,
				 IpczDriverHandle handle,
				 struct wire_object *record)
{
	const struct IpczDriver *driver = &node->driver;
	size_t num_bytes = 0, num_handles = 0;
	IpczDriverHandle *handles = NULL;
	void *bytes = NULL;
	IpczResult result;

	result = driver->Serialize(handle, e->link->transport, IPCZ_NO_FLAGS,
				   NULL, NULL, &num_bytes, NULL, &num_handles);
	if (result == IPCZ_RESULT_RESOURCE_EXHAUSTED) {
		bytes = calloc(1, num_bytes ? num_bytes : 1);
		handles = calloc(num_handles ? num_handles : 1,
				 sizeof(*handles));
		result = IPCZ_RESULT_RESOURCE_EXHAUSTED;
		if (bytes && handles)
			result = driver->Serialize(handle, e->link->transport,
						   IPCZ_NO_FLAGS, NULL, bytes,
						   &num_bytes, handles,
						   &num_handles);
	}
	if (result != IPCZ_RESULT_OK || num_bytes > UINT32_MAX ||
	    num_handles > UINT32_MAX) {
		/*
		 * This transport cannot carry it (relaying through a broker
		 * comes with the multi-node stage): it is lost, and closed.
		 */
		driver_close_object(driver, handle);
		record->kind = WIRE_LOST;
	} else {
		record->kind = WIRE_DRIVER_OBJECT;
		record->num_bytes = (uint32_t)num_bytes;
		record->num_handles = (uint32_t)num_handles;
		record->first_handle = (uint32_t)message_builder_add_handles(
			&e->records, handles, num_handles);
		message_builder_append(&e->data, bytes, num_bytes);
	}
	free(bytes);
	free(handles);
	node_unref(node);
}

/*
 * An application object crosses as the parcel its serializer writes (data
 * and handles); the object itself is destroyed here. Without a serializer,
 * or if it fails, the object is lost.
 */
static void encode_application_object(struct encoder *e,
				      union box_contents *contents,
				      size_t record_offset, int depth)
{
	IpczApplicationObjectSerializer serialize =
		contents->application_object.serializer;
	uintptr_t value = contents->application_object.value;
	size_t num_bytes = 0, num_handles = 0, i;
	IpczHandle *handles = NULL;
	struct api_object **objects = NULL;
	void *bytes = NULL;
	IpczResult result = IPCZ_RESULT_FAILED_PRECONDITION;
	struct wire_object record = { .kind = WIRE_LOST };

	if (serialize && depth < WIRE_MAX_DEPTH) {
		result = serialize(value, IPCZ_NO_FLAGS, NULL, NULL,
				   &num_bytes, NULL, &num_handles);
		if (result == IPCZ_RESULT_RESOURCE_EXHAUSTED) {
			bytes = calloc(1, num_bytes ? num_bytes : 1);
			handles = calloc(num_handles ? num_handles : 1,
					 sizeof(*handles));
			objects = calloc(num_handles ? num_handles : 1,
					 sizeof(*objects));
			result = IPCZ_RESULT_RESOURCE_EXHAUSTED;
			if (bytes && handles && objects)
				result = serialize(value, IPCZ_NO_FLAGS, NULL,
						   bytes, &num_bytes, handles,
						   &num_handles);
		}
	}
	if (contents->application_object.destructor)
		contents->application_object.destructor(value, IPCZ_NO_FLAGS,
							NULL);
	if (result == IPCZ_RESULT_OK && num_bytes <= UINT32_MAX &&
	    num_handles <= UINT32_MAX) {
		uint32_t count = 0;

		/* The handles the serializer wrote now belong to ipcz. */
		for (i = 0; i < num_handles; i++) {
			struct api_object *object =
				handle_table_take(handles[i], API_OBJECT_ANY);

			if (object)
				objects[count++] = object;
		}
		record.kind = WIRE_SUBPARCEL;
		record.num_bytes = (uint32_t)num_bytes;
		record.num_objects = count;
		memcpy(e->records.bytes + record_offset, &record,
		       sizeof(record));
		message_builder_append(&e->data, bytes, num_bytes);
		encode_objects(e, objects, count, depth + 1);
		for (i = 0; i < count; i++)
			api_object_unref(objects[i]);
	} else if (!e->records.failed) {
		memcpy(e->records.bytes + record_offset, &record,
		       sizeof(record));
	}
	free(bytes);
	free(handles);
	free(objects);
}

static void encode_subparcel(struct encoder *e, struct parcel_wrapper *wrapper,
			     size_t record_offset, int depth)
{
	struct parcel *parcel = wrapper->parcel;
	struct wire_object record = { .kind = WIRE_LOST };

	if (depth < WIRE_MAX_DEPTH && parcel->data_size <= UINT32_MAX) {
		record.kind = WIRE_SUBPARCEL;
		record.num_bytes = (uint32_t)parcel->data_size;
		record.num_objects = parcel->num_objects;
		if (!e->records.failed)
			memcpy(e->records.bytes + record_offset, &record,
			       sizeof(record));
		message_builder_append(&e->data, parcel->data,
				       parcel->data_size);
		encode_objects(e, parcel_objects(parcel), parcel->num_objects,
			       depth + 1);
		parcel_release_objects(parcel);
	} else if (!e->records.failed) {
		memcpy(e->records.bytes + record_offset, &record,
		       sizeof(record));
	}
	api_object_unref(&wrapper->object);
}

static void encode_box(struct encoder *e, struct box *box,
		       size_t record_offset, int depth)
{
	struct wire_object record = { .kind = WIRE_LOST };
	union box_contents contents;
	IpczBoxType type;

	if (!box_take_contents(box, &type, &contents)) {
		if (!e->records.failed)
			memcpy(e->records.bytes + record_offset, &record,
			       sizeof(record));
		return;
	}
	switch (type) {
	case IPCZ_BOX_TYPE_DRIVER_OBJECT:
		encode_driver_object(e, contents.driver_object.node,
				     contents.driver_object.handle, &record);
		if (!e->records.failed)
			memcpy(e->records.bytes + record_offset, &record,
			       sizeof(record));
		break;
	case IPCZ_BOX_TYPE_APPLICATION_OBJECT:
		encode_application_object(e, &contents, record_offset, depth);
		break;
	default:
		encode_subparcel(e, contents.subparcel.wrapper, record_offset,
				 depth);
		break;
	}
}

/*
 * Encodes `count` objects, depth first. Each object leaves this node: the
 * encoder consumes what it holds (the caller keeps its references to the
 * objects themselves).
 */
static void encode_objects(struct encoder *e, struct api_object **objects,
			   uint32_t count, int depth)
{
	uint32_t i;

	for (i = 0; i < count; i++) {
		struct wire_object record = { .kind = WIRE_LOST };
		size_t offset = add_record(e, &record);

		switch (objects[i]->type) {
		case API_OBJECT_PORTAL:
			encode_portal(e, (struct router *)objects[i], &record);
			if (!e->records.failed)
				memcpy(e->records.bytes + offset, &record,
				       sizeof(record));
			break;
		case API_OBJECT_BOX:
			encode_box(e, (struct box *)objects[i], offset, depth);
			break;
		default:
			break;
		}
	}
}

void node_link_send_parcel(struct node_link *link, enum op_context ctx,
			   uint64_t sublink, struct parcel *parcel)
{
	struct msg_parcel message = {
		.header = { .type = MSG_PARCEL },
		.sublink = sublink,
		.seq = parcel->seq,
		.num_bytes = (uint32_t)parcel->data_size,
		.num_objects = parcel->num_objects,
	};
	struct message_builder b;
	struct encoder e = { .link = link, .ctx = ctx };
	size_t i;

	message_builder_init(&e.records);
	message_builder_init(&e.data);
	message_builder_init(&b);
	if (parcel->data_size > UINT32_MAX)
		e.data.failed = true;
	else if (!data_to_fragment(link, ctx, parcel, &message))
		message_builder_append(&e.data, parcel->data,
				       parcel->data_size);
	encode_objects(&e, parcel_objects(parcel), parcel->num_objects, 0);
	message.num_records = e.num_records;
	message.num_driver_handles = (uint32_t)e.records.num_handles;

	message_builder_append(&b, &message, sizeof(message));
	message_builder_append(&b, e.records.bytes, e.records.size);
	message_builder_append(&b, e.data.bytes, e.data.size);
	message_builder_add_handles(&b, e.records.handles,
				    e.records.num_handles);
	b.failed |= e.records.failed || e.data.failed;
	set_header(&b, MSG_PARCEL);
	transmit(link, &b, ctx);

	/* The portals' new routers exist on the other side now. */
	for (i = 0; i < e.num_transfers; i++) {
		struct transfer *t = &e.transfers[i];

		if (t->peer) {
			router_set_outward_link(t->peer, ctx, t->peer_link);
			router_unref(t->peer);
		}
		router_adopt_inward_link(t->router, ctx, t->link);
		router_unref(t->router);
	}
	free(e.transfers);
	message_builder_free(&e.records);
	message_builder_free(&e.data);
	message_builder_free(&b);
	parcel_release_objects(parcel);
	parcel_destroy(parcel);
}

/* ---- receiving ---- */

struct decoder {
	struct node_link *link;
	const uint8_t *records;
	uint32_t num_records, next_record;
	const uint8_t *data;
	size_t data_size, next_data;
	const IpczDriverHandle *handles;
	size_t num_handles, next_handle;
	/* The top-level parcel's data is in this message's data fragment. */
	bool data_in_fragment;
	const struct msg_parcel *fragment;
};

static const uint8_t *take_data(struct decoder *d, size_t size);

/*
 * A parcel's data: from the message, or (top level, when the sender put it
 * there) copied out of a data fragment of the link's pool, which is freed.
 */
static bool take_parcel_data(struct decoder *d, struct parcel *parcel,
			     uint32_t num_bytes, int depth)
{
	const uint8_t *bytes;

	if (depth == 0 && d->data_in_fragment)
		return node_link_memory_take_data(
			&d->link->memory, d->fragment->data_buffer_id,
			d->fragment->data_offset, d->fragment->data_size,
			parcel->data, num_bytes);
	bytes = take_data(d, num_bytes);
	if (!bytes)
		return false;
	memcpy(parcel->data, bytes, num_bytes);
	return true;
}

static bool take_record(struct decoder *d, struct wire_object *record)
{
	if (d->next_record >= d->num_records)
		return false;
	memcpy(record, d->records + (size_t)d->next_record * sizeof(*record),
	       sizeof(*record));
	d->next_record++;
	return true;
}

static const uint8_t *take_data(struct decoder *d, size_t size)
{
	const uint8_t *bytes = d->data + d->next_data;

	if (size > d->data_size - d->next_data)
		return NULL;
	d->next_data += size;
	return bytes;
}

static struct api_object *decode_object(struct decoder *d, int depth);

/* Decodes `count` objects into a new array; NULL (and nothing kept) on error. */
static struct api_object **decode_objects(struct decoder *d, uint32_t count,
					  int depth)
{
	struct api_object **objects;
	uint32_t i;

	if (count > d->num_records - d->next_record)
		return NULL;
	objects = calloc(count ? count : 1, sizeof(*objects));
	if (!objects)
		return NULL;
	for (i = 0; i < count; i++) {
		objects[i] = decode_object(d, depth);
		if (!objects[i]) {
			while (i--) {
				api_object_close(objects[i]);
				api_object_unref(objects[i]);
			}
			free(objects);
			return NULL;
		}
	}
	return objects;
}

static struct api_object *decode_portal(struct decoder *d,
					const struct wire_object *record)
{
	struct router *router;
	struct router_link *link;

	/* The sender numbers new sublinks from its own half. */
	if ((record->sublink & 1) == d->link->side ||
	    record->sublink >> 1 < FIRST_TRANSFER_SUBLINK ||
	    record->next_outbound > MAX_SEQUENCE_START ||
	    record->next_inbound > MAX_SEQUENCE_START ||
	    record->num_bytes || record->num_handles || record->num_objects)
		return NULL;
	router = router_create_transferred(record->next_outbound,
					   record->next_inbound);
	if (!router)
		return NULL;
	link = remote_router_link_create(d->link, record->sublink,
					 LINK_PERIPHERAL_OUTWARD,
					 link_side_opposite(d->link->side));
	if (!link || !add_route(d->link, record->sublink, router, link)) {
		router_link_unref(link);
		router_unref(router);
		return NULL;
	}
	router_set_outward_link(router, OP_TRANSPORT, link);
	return &router->object;
}

/* Checks a sublink the sender numbered for a new route. */
static bool valid_new_sublink(struct decoder *d, uint64_t sublink)
{
	return (sublink & 1) != d->link->side &&
	       sublink >> 1 >= FIRST_TRANSFER_SUBLINK;
}

/* Registers `router` for `sublink` with a new link; NULL on failure. */
static struct router_link *bind_route(struct decoder *d, uint64_t sublink,
				      struct router *router,
				      enum link_type type)
{
	struct router_link *link;

	link = remote_router_link_create(d->link, sublink, type,
					 link_side_opposite(d->link->side));
	if (link && !add_route(d->link, sublink, router, link)) {
		router_link_unref(link);
		link = NULL;
	}
	return link;
}

/*
 * The new end of a direct transfer: central to the sender's local peer,
 * and still fed by the router left behind until the peer's cut.
 */
static struct api_object *decode_direct_portal(struct decoder *d,
					       const struct wire_object *record)
{
	const uint8_t *bytes = take_data(d, sizeof(struct wire_direct_portal));
	struct wire_direct_portal wire;
	struct router_link *central, *decaying;
	struct router *router;

	if (!bytes || record->num_bytes != sizeof(wire) ||
	    record->num_handles || record->num_objects)
		return NULL;
	memcpy(&wire, bytes, sizeof(wire));
	if (!valid_new_sublink(d, record->sublink) ||
	    !valid_new_sublink(d, wire.decaying_sublink) ||
	    wire.decaying_sublink == record->sublink ||
	    record->next_outbound > MAX_SEQUENCE_START ||
	    wire.peer_cut > MAX_SEQUENCE_START ||
	    record->next_inbound > wire.peer_cut)
		return NULL;
	router = router_create_transferred(record->next_outbound,
					   record->next_inbound);
	if (!router)
		return NULL;
	central = bind_route(d, record->sublink, router, LINK_CENTRAL);
	decaying = central ? bind_route(d, wire.decaying_sublink, router,
					LINK_PERIPHERAL_OUTWARD) : NULL;
	if (!decaying) {
		if (central) {
			node_link_remove_route(d->link, record->sublink,
					       central);
			router_link_unref(central);
		}
		router_unref(router);
		return NULL;
	}
	router_set_outward_links(router, OP_TRANSPORT, central, decaying,
				 wire.peer_cut);
	return &router->object;
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
	struct message_builder b;

	message_builder_init(&b);
	message_builder_append(&b, &message, sizeof(message));
	transmit(link, &b, ctx);
	message_builder_free(&b);
}

/*
 * A portal sent here while its peer is here: the two are joined directly
 * if the peer's route on this link is still the one the sender named (it
 * may have moved or closed meanwhile: then the new router simply goes
 * through the proxy), and the proxy is told where to stop.
 */
static struct api_object *decode_returning_portal(struct decoder *d,
						  const struct wire_object *record)
{
	const uint8_t *bytes = take_data(d, sizeof(struct wire_returning_portal));
	struct wire_returning_portal wire;
	struct sublink_entry *entry;
	struct router_link *link, *peer_link = NULL;
	struct router *router, *peer = NULL;
	uint64_t peer_cut;

	if (!bytes || record->num_bytes != sizeof(wire) ||
	    record->num_handles || record->num_objects ||
	    !valid_new_sublink(d, record->sublink) ||
	    record->next_outbound > MAX_SEQUENCE_START ||
	    record->next_inbound > MAX_SEQUENCE_START)
		return NULL;
	memcpy(&wire, bytes, sizeof(wire));
	router = router_create_transferred(record->next_outbound,
					   record->next_inbound);
	if (!router)
		return NULL;
	link = bind_route(d, record->sublink, router, LINK_PERIPHERAL_OUTWARD);
	if (!link) {
		router_unref(router);
		return NULL;
	}
	ipcz_lock(&d->link->lock);
	entry = sublink_map_find(&d->link->routes, wire.peer_sublink);
	if (entry && entry->link_type == LINK_CENTRAL) {
		peer = entry->router;
		peer_link = entry->link;
		router_ref(peer);
		router_link_ref(peer_link);
	}
	ipcz_unlock(&d->link->lock);
	if (peer && router_join_returning(peer, peer_link, router, link,
					  &peer_cut)) {
		node_link_send_stop_proxying(d->link, OP_TRANSPORT,
					     wire.peer_sublink, peer_cut,
					     record->next_outbound);
	} else {
		router_set_outward_link(router, OP_TRANSPORT, link);
	}
	router_link_unref(peer_link);
	router_unref(peer);
	return &router->object;
}

static struct api_object *decode_driver_object(struct decoder *d,
					       const struct wire_object *record)
{
	const struct IpczDriver *driver = driver_of(d->link);
	const uint8_t *bytes = take_data(d, record->num_bytes);
	IpczDriverHandle handle = IPCZ_INVALID_DRIVER_HANDLE;
	struct box *box;

	if (!bytes || record->num_objects ||
	    record->first_handle != d->next_handle ||
	    record->num_handles > d->num_handles - d->next_handle)
		return NULL;
	d->next_handle += record->num_handles;
	if (driver->Deserialize(bytes, record->num_bytes,
				d->handles + record->first_handle,
				record->num_handles, d->link->transport,
				IPCZ_NO_FLAGS, NULL, &handle) != IPCZ_RESULT_OK) {
		/* The handles were claimed: close them ourselves. */
		uint32_t i;

		for (i = 0; i < record->num_handles; i++)
			driver_close_object(
				driver, d->handles[record->first_handle + i]);
		return NULL;
	}
	box = box_wrap_driver_object(d->link->node, handle);
	return box ? &box->object : NULL;
}

static struct parcel *decode_parcel_body(struct decoder *d, uint32_t num_bytes,
					 uint32_t num_objects, int depth)
{
	const bool in_fragment = depth == 0 && d->data_in_fragment;
	struct parcel *parcel;
	struct api_object **objects;

	/*
	 * A size the message or its fragment cannot hold is refused before
	 * anything is allocated for it.
	 */
	if (in_fragment ? num_bytes > d->fragment->data_size :
			  num_bytes > d->data_size - d->next_data)
		return NULL;
	parcel = parcel_create(num_bytes);
	if (!parcel)
		return NULL;
	if (!take_parcel_data(d, parcel, num_bytes, depth)) {
		parcel_destroy(parcel);
		return NULL;
	}
	parcel_commit(parcel, num_bytes);
	objects = decode_objects(d, num_objects, depth);
	if (!objects) {
		parcel_destroy(parcel);
		return NULL;
	}
	parcel_set_objects(parcel, objects, num_objects);
	node_link_ref(d->link);
	parcel->source = d->link;
	return parcel;
}

static struct api_object *decode_object(struct decoder *d, int depth)
{
	struct wire_object record;
	struct parcel *parcel;
	struct box *box;
	IpczHandle handle;
	struct api_object *wrapper;

	if (!take_record(d, &record))
		return NULL;
	switch (record.kind) {
	case WIRE_PORTAL:
		return decode_portal(d, &record);
	case WIRE_PORTAL_DIRECT:
		return decode_direct_portal(d, &record);
	case WIRE_PORTAL_RETURNING:
		return decode_returning_portal(d, &record);
	case WIRE_DRIVER_OBJECT:
		return decode_driver_object(d, &record);
	case WIRE_LOST:
		if (record.num_bytes || record.num_handles ||
		    record.num_objects)
			return NULL;
		box = box_create_empty();
		return box ? &box->object : NULL;
	case WIRE_SUBPARCEL:
		if (depth >= WIRE_MAX_DEPTH || record.num_handles)
			return NULL;
		parcel = decode_parcel_body(d, record.num_bytes,
					    record.num_objects, depth + 1);
		if (!parcel)
			return NULL;
		handle = parcel_wrapper_wrap(parcel);
		wrapper = handle_table_take(handle, API_OBJECT_PARCEL);
		box = wrapper ? box_wrap_subparcel(
					(struct parcel_wrapper *)wrapper) :
				NULL;
		return box ? &box->object : NULL;
	default:
		return NULL;
	}
}

static struct router *route_of(struct node_link *link, uint64_t sublink,
			       uint8_t *type)
{
	struct sublink_entry *entry;
	struct router *router = NULL;

	ipcz_lock(&link->lock);
	entry = sublink_map_find(&link->routes, sublink);
	if (entry) {
		router = entry->router;
		router_ref(router);
		*type = entry->link_type;
	}
	ipcz_unlock(&link->lock);
	return router;
}

static IpczResult accept_parcel(struct node_link *link, const uint8_t *bytes,
				size_t num_bytes,
				const IpczDriverHandle *handles,
				size_t num_handles, size_t *claimed)
{
	struct msg_parcel message;
	struct decoder d = { .link = link, .handles = handles,
			     .num_handles = num_handles };
	struct parcel *parcel;
	struct router *router;
	size_t records_size;
	uint8_t type;

	if (!node_message_check(bytes, num_bytes, sizeof(message)))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memcpy(&message, bytes, sizeof(message));
	if (message.flags & ~PARCEL_DATA_IN_FRAGMENT)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	d.data_in_fragment = message.flags & PARCEL_DATA_IN_FRAGMENT;
	d.fragment = &message;
	records_size = (size_t)message.num_records * sizeof(struct wire_object);
	if (message.num_driver_handles != num_handles ||
	    records_size > num_bytes - sizeof(message))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	d.records = bytes + sizeof(message);
	d.num_records = message.num_records;
	d.data = d.records + records_size;
	d.data_size = num_bytes - sizeof(message) - records_size;
	parcel = decode_parcel_body(&d, message.num_bytes, message.num_objects,
				    0);
	*claimed = d.next_handle;
	if (!parcel)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (d.next_record != d.num_records || d.next_data != d.data_size ||
	    d.next_handle != d.num_handles) {
		parcel_destroy(parcel);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	parcel->seq = message.seq;
	router = route_of(link, message.sublink, &type);
	if (!router) {
		/* A route already gone here: what it carried is dropped. */
		parcel_destroy(parcel);
		return IPCZ_RESULT_OK;
	}
	if (type == LINK_PERIPHERAL_INWARD)
		router_accept_outbound_parcel(router, OP_TRANSPORT, parcel);
	else
		router_accept_inbound_parcel(router, OP_TRANSPORT, parcel);
	router_unref(router);
	return IPCZ_RESULT_OK;
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
	router = route_of(link, message.sublink, &type);
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
	struct router *router;
	uint8_t type;

	if (!node_message_check(bytes, num_bytes, sizeof(message)) ||
	    num_bytes != sizeof(message))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memcpy(&message, bytes, sizeof(message));
	router = route_of(link, message.sublink, &type);
	if (router) {
		router_accept_route_disconnected(router, OP_TRANSPORT, type);
		router_unref(router);
	}
	return IPCZ_RESULT_OK;
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

static struct msg_connect connect_message(struct node_link *link);
static void introduction_complete(struct node_link *link);

/* ---- introductions ---- */

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

/*
 * Whether the node has a live link to `name`, connected or still in the
 * handshake of an introduction (whose peer name is known from the start).
 */
static bool has_link_to(struct node *node, const uint8_t name[16])
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
static bool valid_peer_name(struct node *node, const uint8_t name[16])
{
	static const uint8_t zero[16];

	return memcmp(name, zero, 16) != 0 && memcmp(name, node->name, 16);
}

static void send_connect(struct node_link *link, IpczDriverHandle shared,
			 enum op_context ctx)
{
	struct msg_connect message = connect_message(link);
	struct message_builder b;

	message_builder_init(&b);
	message_builder_append(&b, &message, sizeof(message));
	if (shared != IPCZ_INVALID_DRIVER_HANDLE)
		node_link_memory_serialize(driver_of(link), shared,
					   link->transport, &b);
	set_header(&b, MSG_CONNECT);
	transmit(link, &b, ctx);
	message_builder_free(&b);
}

static void send_introduction_name(struct node_link *link, enum op_context ctx,
				   enum node_message_type type,
				   const uint8_t name[16])
{
	struct msg_introduction_name message = {
		.header = { .size = sizeof(message), .type = (uint16_t)type },
	};
	struct message_builder b;

	memcpy(message.name, name, sizeof(message.name));
	message_builder_init(&b);
	message_builder_append(&b, &message, sizeof(message));
	transmit(link, &b, ctx);
	message_builder_free(&b);
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

	if (!valid_peer_name(node, name))
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
static bool serialize_transport(struct node_link *link,
				IpczDriverHandle transport,
				struct serialized_transport *out)
{
	const struct IpczDriver *driver = driver_of(link);
	IpczResult result;

	memset(out, 0, sizeof(*out));
	result = driver->Serialize(transport, link->transport, IPCZ_NO_FLAGS,
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
				transport, link->transport, IPCZ_NO_FLAGS,
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

/* Sends `fixed` (a message struct) followed by the serialized transport. */
static void send_with_transport(struct node_link *link, enum op_context ctx,
				enum node_message_type type,
				const void *fixed, size_t fixed_size,
				struct serialized_transport *t)
{
	struct message_builder b;

	message_builder_init(&b);
	message_builder_append(&b, fixed, fixed_size);
	message_builder_append(&b, t->bytes, t->num_bytes);
	message_builder_add_handles(&b, t->handles, t->num_handles);
	set_header(&b, type);
	transmit(link, &b, ctx);
	message_builder_free(&b);
	free(t->bytes);
	free(t->handles);
}

/*
 * Hands one end of a new transport to `link`'s node. If the driver cannot
 * serialize it, the node is told the introduction is refused.
 */
static void send_accept_introduction(struct node_link *link,
				     enum op_context ctx,
				     const uint8_t name[16], uint8_t side,
				     IpczDriverHandle transport)
{
	struct msg_accept_introduction message = {
		.header = { .type = MSG_ACCEPT_INTRODUCTION },
		.side = side,
	};
	struct serialized_transport t;

	if (!serialize_transport(link, transport, &t)) {
		send_introduction_name(link, ctx, MSG_REJECT_INTRODUCTION,
				       name);
		return;
	}
	memcpy(message.name, name, sizeof(message.name));
	message.transport_bytes = (uint32_t)t.num_bytes;
	send_with_transport(link, ctx, MSG_ACCEPT_INTRODUCTION, &message,
			    sizeof(message), &t);
}

/*
 * The broker joins the requester (side A of the new link) and the target
 * (side B) with a new pair of transports.
 */
static void introduce(struct node_link *requester, struct node_link *target,
		      const uint8_t requester_name[16],
		      const uint8_t target_name[16])
{
	const struct IpczDriver *driver = driver_of(requester);
	IpczDriverHandle ends[2] = { IPCZ_INVALID_DRIVER_HANDLE,
				     IPCZ_INVALID_DRIVER_HANDLE };

	if (driver->CreateTransports(requester->transport, target->transport,
				     IPCZ_NO_FLAGS, NULL, &ends[0],
				     &ends[1]) != IPCZ_RESULT_OK) {
		send_introduction_name(requester, OP_TRANSPORT,
				       MSG_REJECT_INTRODUCTION, target_name);
		return;
	}
	send_accept_introduction(requester, OP_TRANSPORT, target_name,
				 LINK_SIDE_A, ends[0]);
	send_accept_introduction(target, OP_TRANSPORT, requester_name,
				 LINK_SIDE_B, ends[1]);
}

/* Two distinct names, neither ours nor the sending broker's. */
static bool valid_indirect_names(struct node_link *link,
				 const struct msg_indirect_introduction *m)
{
	return valid_peer_name(link->node, m->source) &&
	       valid_peer_name(link->node, m->target) &&
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
		struct message_builder b;

		message_builder_init(&b);
		message_builder_append(&b, message, size);
		transmit(brokers[i], &b, OP_TRANSPORT);
		message_builder_free(&b);
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

/*
 * On a broker, from one of its non-brokers (or on a referrer, from a node
 * it referred). A node it has no such link to cannot be introduced: the
 * request is refused. A pair already introduced (the two asked at once,
 * or again) is ignored: the link made the first time serves both.
 */
static IpczResult accept_request_introduction(struct node_link *link,
					      const uint8_t *bytes,
					      size_t num_bytes)
{
	struct msg_introduction_name message;
	struct node *node = link->node;
	struct node_link *target;
	uint8_t requester[16];

	if (!node_message_check(bytes, num_bytes, sizeof(message)) ||
	    num_bytes != sizeof(message) ||
	    !(introduces_peer(link) || between_brokers(link)) ||
	    !node_link_remote_name(link, requester))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memcpy(&message, bytes, sizeof(message));
	if (!valid_peer_name(node, message.name) ||
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

/*
 * On a broker, from another broker: one of its nodes wants a link to one
 * of ours. Unknown targets and repeated pairs are ignored (the asking
 * node's bypass then keeps its proxy); the sender may have asked several
 * brokers.
 */
static IpczResult accept_request_indirect(struct node_link *link,
					  const uint8_t *bytes,
					  size_t num_bytes)
{
	struct msg_indirect_introduction message;
	struct node *node = link->node;
	struct node_link *target;
	IpczDriverHandle ends[2] = { IPCZ_INVALID_DRIVER_HANDLE,
				     IPCZ_INVALID_DRIVER_HANDLE };
	struct serialized_transport t;

	if (!node_message_check(bytes, num_bytes, sizeof(message)) ||
	    num_bytes != sizeof(message) || !between_brokers(link))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memcpy(&message, bytes, sizeof(message));
	if (!valid_indirect_names(link, &message) || message.transport_bytes)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	target = node_link_find_sibling(link, message.target);
	if (!target)
		return IPCZ_RESULT_OK;
	if (introduces_peer(target) &&
	    node_note_introduction(node, message.source, message.target) &&
	    driver_of(link)->CreateTransports(link->transport,
					      target->transport, IPCZ_NO_FLAGS,
					      NULL, &ends[0],
					      &ends[1]) == IPCZ_RESULT_OK) {
		send_accept_introduction(target, OP_TRANSPORT, message.source,
					 LINK_SIDE_B, ends[1]);
		if (serialize_transport(link, ends[0], &t)) {
			message.header.type = MSG_ACCEPT_INDIRECT_INTRODUCTION;
			message.transport_bytes = (uint32_t)t.num_bytes;
			send_with_transport(link, OP_TRANSPORT,
					    MSG_ACCEPT_INDIRECT_INTRODUCTION,
					    &message, sizeof(message), &t);
		}
	}
	node_link_unref(target);
	return IPCZ_RESULT_OK;
}

/*
 * On a broker, from the broker that introduced one of our nodes to one of
 * its own: the end for our node (side A, the requester) is passed on.
 */
static IpczResult accept_accept_indirect(struct node_link *link,
					 const uint8_t *bytes,
					 size_t num_bytes,
					 const IpczDriverHandle *handles,
					 size_t num_handles, size_t *claimed)
{
	const struct IpczDriver *driver = driver_of(link);
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
					 transport);
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

static IpczResult accept_reject_introduction(struct node_link *link,
					     const uint8_t *bytes,
					     size_t num_bytes)
{
	struct msg_introduction_name message;

	if (!node_message_check(bytes, num_bytes, sizeof(message)) ||
	    num_bytes != sizeof(message) || !from_own_broker(link))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memcpy(&message, bytes, sizeof(message));
	/* The bypasses stay declined: their routes keep the proxy. */
	forget_waiters(link->node, message.name);
	return IPCZ_RESULT_OK;
}

static bool node_link_introduce(struct node *node, IpczDriverHandle transport,
				uint8_t side, const uint8_t name[16]);

static IpczResult accept_accept_introduction(struct node_link *link,
					     const uint8_t *bytes,
					     size_t num_bytes,
					     const IpczDriverHandle *handles,
					     size_t num_handles,
					     size_t *claimed)
{
	const struct IpczDriver *driver = driver_of(link);
	IpczDriverHandle transport = IPCZ_INVALID_DRIVER_HANDLE;
	struct msg_accept_introduction message;
	size_t i;

	if (!node_message_check(bytes, num_bytes, sizeof(message)) ||
	    !from_own_broker(link) || num_handles > INTRODUCTION_MAX_HANDLES)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memcpy(&message, bytes, sizeof(message));
	if (message.side > LINK_SIDE_B ||
	    message.transport_bytes != num_bytes - sizeof(message) ||
	    message.transport_bytes > INTRODUCTION_MAX_BYTES ||
	    !valid_peer_name(link->node, message.name) ||
	    memcmp(message.name, link->remote_name, 16) == 0)
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
	if (has_link_to(link->node, message.name)) {
		/* A duplicate: the link we have serves. */
		driver_close_object(driver, transport);
		return IPCZ_RESULT_OK;
	}
	if (!node_link_introduce(link->node, transport, message.side,
				 message.name))
		forget_waiters(link->node, message.name);
	return IPCZ_RESULT_OK;
}

/*
 * Side B of an introduced link answers side A's handshake only once it is
 * connected itself, so that side A, once connected, knows both ends are
 * ready. The bypasses that waited for the link are then retried: each
 * proxy asks again, and this time finds the link.
 */
static void introduction_complete(struct node_link *link)
{
	struct router_link **waiters;
	size_t count, i;

	if (link->side == LINK_SIDE_B)
		send_connect(link, IPCZ_INVALID_DRIVER_HANDLE, OP_TRANSPORT);
	count = node_take_intro_waiters(link->node, link->remote_name,
					&waiters);
	for (i = 0; i < count; i++) {
		router_bypass_send_retry(waiters[i], OP_TRANSPORT);
		router_link_unref(waiters[i]);
	}
	free(waiters);
}

/* ---- the handshake ---- */


static struct msg_connect connect_message(struct node_link *link)
{
	struct msg_connect message = {
		.header = { .size = sizeof(message), .type = MSG_CONNECT },
		.flags = link->flags,
		.is_broker = link->node->is_broker,
		.introduced = link->introduced,
		.num_initial_portals = link->num_portals,
	};

	memcpy(message.name, link->node->name, sizeof(message.name));
	return message;
}

/*
 * The pairs this stage connects: a broker (no flags) with a non-broker
 * connecting TO_BROKER; two brokers that both connect TO_BROKER; and a
 * non-broker sharing its broker (SHARE_BROKER) with one inheriting it
 * (INHERIT_BROKER). The side of the link (which half of the sublink
 * numbers each end uses) follows: the broker, the broker with the greater
 * name, or the referrer is side A.
 *
 * A referral joins referrer and referred node directly, and the referred
 * node reaches the rest of the broker's network through the referrer (its
 * routes run through proxies there). Upstream instead hands the transport
 * to the broker, which introduces the two; that, and links from the
 * referred node to the broker and to others, come with introductions.
 */
static bool roles_match(struct node_link *link,
			const struct msg_connect *remote, uint8_t *side)
{
	const bool local_broker = link->node->is_broker;
	const bool local_to_broker = link->flags & IPCZ_CONNECT_NODE_TO_BROKER;
	const bool remote_to_broker = remote->flags &
				      IPCZ_CONNECT_NODE_TO_BROKER;
	int order;

	if (remote->is_broker > 1 || remote->introduced > 1)
		return false;
	/* An introduced link joins the two nodes the broker named. */
	if (link->introduced) {
		*side = link->side;
		return remote->introduced &&
		       memcmp(remote->name, link->remote_name,
			      sizeof(remote->name)) == 0;
	}
	if (remote->introduced)
		return false;
	if (link->flags & IPCZ_CONNECT_NODE_SHARE_BROKER) {
		*side = LINK_SIDE_A;
		return !remote->is_broker &&
		       (remote->flags & IPCZ_CONNECT_NODE_INHERIT_BROKER);
	}
	if (link->flags & IPCZ_CONNECT_NODE_INHERIT_BROKER) {
		*side = LINK_SIDE_B;
		return !remote->is_broker &&
		       (remote->flags & IPCZ_CONNECT_NODE_SHARE_BROKER);
	}
	if (local_broker && remote->is_broker) {
		order = memcmp(link->node->name, remote->name,
			       sizeof(remote->name));
		*side = order > 0 ? LINK_SIDE_A : LINK_SIDE_B;
		return local_to_broker && remote_to_broker && order != 0;
	}
	if (local_broker) {
		*side = LINK_SIDE_A;
		return !local_to_broker && remote_to_broker;
	}
	*side = LINK_SIDE_B;
	return local_to_broker && remote->is_broker && !remote_to_broker;
}

/*
 * The handshake may carry one driver object: the primary buffer of the
 * link's pool, from a node that may be side A (see node_link_connect()).
 */
static IpczResult accept_connect(struct node_link *link, const uint8_t *bytes,
				 size_t num_bytes,
				 const IpczDriverHandle *handles,
				 size_t num_handles, size_t *claimed)
{
	struct msg_connect message;
	struct router **initial;
	uint32_t count, linked, i;
	uint8_t side = LINK_SIDE_A;
	IpczDriverHandle memory;
	IpczResult result;

	if (!node_message_check(bytes, num_bytes, sizeof(message)) ||
	    num_bytes - sizeof(message) > NODE_LINK_MEMORY_MAX_SERIALIZED ||
	    num_handles > NODE_LINK_MEMORY_MAX_HANDLES)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memcpy(&message, bytes, sizeof(message));
	/*
	 * A broker's non-brokers must have names of their own: they are how
	 * introductions find them.
	 */
	if (!valid_peer_name(link->node, message.name) ||
	    (link->node->is_broker && !message.is_broker &&
	     !link->introduced && has_link_to(link->node, message.name)))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	ipcz_lock(&link->lock);
	if (link->state != LINK_CONNECTING || !roles_match(link, &message,
							   &side)) {
		ipcz_unlock(&link->lock);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	link->state = LINK_CONNECTED;
	link->side = side;
	memcpy(link->remote_name, message.name, sizeof(link->remote_name));
	initial = link->initial;
	count = link->num_initial;
	link->initial = NULL;
	link->num_initial = 0;
	ipcz_unlock(&link->lock);

	/* The pool is ready before any route can send through it. */
	memory = node_link_memory_deserialize(
		driver_of(link), bytes + sizeof(message),
		num_bytes - sizeof(message), handles, num_handles,
		link->transport);
	result = IPCZ_RESULT_INVALID_ARGUMENT;
	if (memory != IPCZ_INVALID_DRIVER_HANDLE ||
	    (num_bytes == sizeof(message) && !num_handles)) {
		*claimed = num_handles;
		result = node_link_memory_open(&link->memory,
					       side == LINK_SIDE_A, memory,
					       link->node->memory_flags);
	}
	if (result != IPCZ_RESULT_OK) {
		/* Routes were not joined yet: give the portals back. */
		ipcz_lock(&link->lock);
		link->initial = initial;
		link->num_initial = count;
		ipcz_unlock(&link->lock);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}

	/* Portals both sides asked for are joined; the rest see closure. */
	linked = count < message.num_initial_portals ?
			 count : message.num_initial_portals;
	for (i = 0; i < count; i++) {
		struct router_link *router_link = NULL;

		if (i < linked)
			router_link = remote_router_link_create(
				link, i, LINK_CENTRAL, side);
		if (router_link && add_route(link, i, initial[i], router_link))
			router_set_outward_link(initial[i], OP_TRANSPORT,
						router_link);
		else if (router_link)
			router_link_unref(router_link);
		if (i >= linked)
			router_accept_route_closure(initial[i], OP_TRANSPORT,
						    LINK_CENTRAL, 0);
		else if (!router_link)
			router_accept_route_disconnected(initial[i],
							 OP_TRANSPORT,
							 LINK_CENTRAL);
		router_unref(initial[i]);
	}
	free(initial);
	if (link->introduced)
		introduction_complete(link);
	return IPCZ_RESULT_OK;
}

/* ---- transport activity ---- */

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
		router_accept_route_disconnected(entries[i].router, ctx,
						 entries[i].link_type);
		router_unref(entries[i].router);
	}
	free(entries);
	for (i = 0; i < num_initial; i++) {
		router_accept_route_disconnected(initial[i], ctx, LINK_CENTRAL);
		router_unref(initial[i]);
	}
	free(initial);
	if (was_active) {
		IpczDriverHandle transport;

		node_remove_link(link->node, link);
		ipcz_lock(&link->lock);
		transport = link->transport;
		ipcz_unlock(&link->lock);
		if (transport != IPCZ_INVALID_DRIVER_HANDLE)
			driver_of(link)->DeactivateTransport(transport,
							     IPCZ_NO_FLAGS,
							     NULL);
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
		return accept_parcel(link, data, num_bytes, handles,
				     num_handles, claimed);
	if (header.type == MSG_CONNECT)
		return accept_connect(link, data, num_bytes, handles,
				      num_handles, claimed);
	if (header.type == MSG_ACCEPT_INDIRECT_INTRODUCTION)
		return accept_accept_indirect(link, data, num_bytes, handles,
					      num_handles, claimed);
	if (header.type == MSG_ACCEPT_INTRODUCTION)
		return accept_accept_introduction(link, data, num_bytes,
						  handles, num_handles,
						  claimed);
	if (header.type == MSG_ADD_BLOCK_BUFFER)
		return node_link_memory_accept_block_buffer(
			&link->memory, data, num_bytes, handles, num_handles,
			link->transport, claimed);
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
		return accept_request_introduction(link, data, num_bytes);
	case MSG_REJECT_INTRODUCTION:
		return accept_reject_introduction(link, data, num_bytes);
	case MSG_REQUEST_INDIRECT_INTRODUCTION:
		return accept_request_indirect(link, data, num_bytes);
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
		 * sees an error) and retire the listener handle.
		 */
		struct api_object *taken;
		IpczDriverHandle transport;

		ipcz_lock(&link->lock);
		transport = link->transport;
		link->transport = IPCZ_INVALID_DRIVER_HANDLE;
		ipcz_unlock(&link->lock);
		driver_close_object(driver_of(link), transport);
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
				driver_close_object(driver_of(link),
						    handles[i]);
			node_link_disconnect(link, OP_TRANSPORT);
		}
	}
	node_link_unref(link);
	return result;
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
	node_link_memory_init(&link->memory, &node->driver);
	return link;
}

IpczResult node_link_connect(struct node *node, IpczDriverHandle transport,
			     IpczConnectNodeFlags flags, size_t num_portals,
			     IpczHandle *portals)
{
	struct node_link *link = link_alloc(node, flags);
	IpczDriverHandle shared = IPCZ_INVALID_DRIVER_HANDLE;
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
	/*
	 * A node that may be side A offers the pool's primary buffer: a
	 * broker, or a referrer (of two brokers, side A's buffer is used).
	 * Before activation, which may deliver the peer's handshake at once.
	 */
	if (node->is_broker || (flags & IPCZ_CONNECT_NODE_SHARE_BROKER))
		node_link_memory_allocate(&link->memory, &shared);
	/* From here the link owns the transport. */
	link->transport = transport;
	result = node->driver.ActivateTransport(transport, link->listener,
						on_activity, IPCZ_NO_FLAGS,
						NULL);
	if (result != IPCZ_RESULT_OK) {
		driver_close_object(&node->driver, shared);
		link->transport = IPCZ_INVALID_DRIVER_HANDLE;
		node_remove_link(node, link);
		goto fail_portals;
	}
	send_connect(link, shared, OP_API_CALL);
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
 * A link from an introduction, owning `transport` from here: side A
 * offers the pool's primary buffer in its handshake, as a broker does;
 * side B waits for it (see introduction_complete()). No initial portals.
 */
static bool node_link_introduce(struct node *node, IpczDriverHandle transport,
				uint8_t side, const uint8_t name[16])
{
	struct node_link *link = link_alloc(node, IPCZ_NO_FLAGS);
	IpczDriverHandle shared = IPCZ_INVALID_DRIVER_HANDLE;
	struct api_object *taken;

	if (!link) {
		driver_close_object(&node->driver, transport);
		return false;
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
	if (side == LINK_SIDE_A)
		node_link_memory_allocate(&link->memory, &shared);
	if (node->driver.ActivateTransport(transport, link->listener,
					   on_activity, IPCZ_NO_FLAGS,
					   NULL) != IPCZ_RESULT_OK) {
		driver_close_object(&node->driver, shared);
		node_remove_link(node, link);
		goto fail_listener;
	}
	if (side == LINK_SIDE_A)
		send_connect(link, shared, OP_TRANSPORT);
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
	return driver_of(link)->ReportBadTransportActivity(transport, context,
							   IPCZ_NO_FLAGS,
							   NULL);
}

/* ---- for the bypass protocol (lib/router_bypass.c) ---- */

uint64_t node_link_allocate_sublink(struct node_link *link)
{
	return allocate_sublink(link);
}

bool node_link_add_route(struct node_link *link, uint64_t sublink,
			 struct router *router, struct router_link *router_link)
{
	return add_route(link, sublink, router, router_link);
}

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
	struct message_builder b;

	memcpy(message.name, bypass->name, sizeof(message.name));
	message_builder_init(&b);
	message_builder_append(&b, &message, sizeof(message));
	transmit(link, &b, ctx);
	message_builder_free(&b);
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
