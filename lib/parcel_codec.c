// SPDX-License-Identifier: MIT
/*
 * The wire form of a parcel: its data (inline, or in a pool fragment) and
 * the objects it carries, as records. Portals continue as new routers bound
 * to fresh sublinks, boxes as driver objects or subparcels. Everything
 * decoded comes from a peer and is checked before use.
 */
#include <stdlib.h>
#include <string.h>

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
			node_link_grow_pool(link, ctx);
	}
	return false;
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
	IpczDriverHandle transport;	/* held while encoding */
	enum op_context ctx;
	struct message_builder records;	/* records, and the driver handles */
	struct message_builder data;	/* parcel data, then record bytes */
	uint32_t num_records;
	struct transfer *transfers;
	size_t num_transfers, transfer_capacity;
	struct relay_batch relay;	/* objects the transport refused */
};

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
	sublink = node_link_allocate_sublink(e->link);
	central = remote_router_link_create(e->link, sublink, LINK_CENTRAL,
					    e->link->side);
	if (!central || !node_link_add_route(e->link, sublink, peer, central))
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
	uint64_t sublink = node_link_allocate_sublink(e->link);
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
	if (!node_link_add_route(e->link, sublink, router, link))
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

	result = driver->Serialize(handle, e->transport, IPCZ_NO_FLAGS,
				   NULL, NULL, &num_bytes, NULL, &num_handles);
	if (result == IPCZ_RESULT_RESOURCE_EXHAUSTED) {
		bytes = calloc(1, num_bytes ? num_bytes : 1);
		handles = calloc(num_handles ? num_handles : 1,
				 sizeof(*handles));
		result = IPCZ_RESULT_RESOURCE_EXHAUSTED;
		if (bytes && handles)
			result = driver->Serialize(handle, e->transport,
						   IPCZ_NO_FLAGS, NULL, bytes,
						   &num_bytes, handles,
						   &num_handles);
	}
	if (result == IPCZ_RESULT_PERMISSION_DENIED &&
	    relay_batch_add(&e->relay, e->link, handle)) {
		/* Neither end may carry it: it goes through the broker. */
		record->kind = WIRE_RELAYED;
	} else if (result != IPCZ_RESULT_OK || num_bytes > UINT32_MAX ||
		   num_handles > UINT32_MAX) {
		/* No way to carry it (not even a relay): lost, and closed. */
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
	relay_batch_init(&e.relay);
	e.transport = node_link_hold_transport(link);
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
	node_link_set_header(&b, MSG_PARCEL);
	/* The relayed objects and the parcel meet at the destination. */
	relay_batch_send(&e.relay, link, sublink, parcel->seq, ctx);
	node_link_transmit(link, &b, ctx);
	node_link_release_transport(link);

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
	/* Empty boxes standing for relayed objects, in record order. */
	struct box **placeholders;
	uint32_t num_placeholders;
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
	if (!link ||
	    !node_link_add_route(d->link, record->sublink, router, link)) {
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
	if (link && !node_link_add_route(d->link, sublink, router, link)) {
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

/*
 * A portal sent here while its peer is here: the two are joined directly
 * if the peer's route on this link is still the one the sender named (it
 * may have moved or closed meanwhile: then the new router simply goes
 * through the proxy), and the proxy is told where to stop.
 */
static struct api_object *
decode_returning_portal(struct decoder *d, const struct wire_object *record)
{
	const uint8_t *bytes =
		take_data(d, sizeof(struct wire_returning_portal));
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
	const struct IpczDriver *driver = node_link_driver(d->link);
	const uint8_t *bytes = take_data(d, record->num_bytes);
	IpczDriverHandle handle = IPCZ_INVALID_DRIVER_HANDLE;
	struct box *box;

	if (!bytes || record->num_objects ||
	    record->first_handle != d->next_handle ||
	    record->num_handles > d->num_handles - d->next_handle)
		return NULL;
	d->next_handle += record->num_handles;
	if (driver->Deserialize(
		    bytes, record->num_bytes, d->handles + record->first_handle,
		    record->num_handles, d->link->transport, IPCZ_NO_FLAGS,
		    NULL, &handle) != IPCZ_RESULT_OK) {
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

/*
 * A relayed object's place: an empty box, filled when the object arrives
 * from the broker (lib/relay.c), before the parcel is delivered.
 */
static struct api_object *decode_placeholder(struct decoder *d,
					     const struct wire_object *record)
{
	struct box **grown;
	struct box *box;

	if (record->num_bytes || record->num_handles || record->num_objects ||
	    d->num_placeholders >= RELAY_MAX_OBJECTS)
		return NULL;
	grown = realloc(d->placeholders,
			(d->num_placeholders + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	d->placeholders = grown;
	box = box_create_empty();
	if (!box)
		return NULL;
	d->placeholders[d->num_placeholders++] = box;
	return &box->object;
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
	/* Filled whole below, or destroyed unread. */
	parcel = parcel_create_for_copy(num_bytes);
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
	case WIRE_RELAYED:
		return decode_placeholder(d, &record);
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

IpczResult node_link_accept_parcel(struct node_link *link, const uint8_t *bytes,
				   size_t num_bytes,
				   const IpczDriverHandle *handles,
				   size_t num_handles, size_t *claimed)
{
	struct msg_parcel message;
	struct decoder d = { .link = link, .handles = handles,
			     .num_handles = num_handles };
	struct parcel *parcel;
	size_t records_size;

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
	if (!parcel || d.next_record != d.num_records ||
	    d.next_data != d.data_size || d.next_handle != d.num_handles ||
	    (d.num_placeholders && message.seq > MAX_SEQUENCE_START)) {
		free(d.placeholders);
		if (parcel)
			parcel_destroy(parcel);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	parcel->seq = message.seq;
	if (d.num_placeholders)
		return relay_join_parcel(link, message.sublink, message.seq,
					 parcel, d.placeholders,
					 d.num_placeholders);
	node_link_deliver_parcel(link, message.sublink, parcel);
	return IPCZ_RESULT_OK;
}

void node_link_deliver_parcel(struct node_link *link, uint64_t sublink,
			      struct parcel *parcel)
{
	struct router *router;
	uint8_t type;

	router = node_link_route_of(link, sublink, &type);
	if (!router) {
		/* A route already gone here: what it carried is dropped. */
		parcel_destroy(parcel);
		return;
	}
	if (type == LINK_PERIPHERAL_INWARD)
		router_accept_outbound_parcel(router, OP_TRANSPORT, parcel);
	else
		router_accept_inbound_parcel(router, OP_TRANSPORT, parcel);
	router_unref(router);
}
