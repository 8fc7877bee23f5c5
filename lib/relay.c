// SPDX-License-Identifier: MIT
/*
 * Relay of driver objects through the broker: see relay.h. Sender side
 * (a batch per parcel), the broker passing objects on, and the
 * destination joining them with their parcel.
 */
#include "lib/relay.h"

#include <stdlib.h>
#include <string.h>

#include "lib/box.h"
#include "lib/driver.h"
#include "lib/lock.h"
#include "lib/node.h"
#include "lib/node_link_internal.h"
#include "lib/parcel.h"

/*
 * One half waiting for the other: a parcel (with its placeholders and the
 * link it came on) or the relayed objects for it (deserialized; an
 * invalid handle stands for an object the broker could not pass on).
 */
struct relay_pending {
	struct relay_pending *next;
	uint8_t source[16];
	uint64_t sublink, seq;
	struct node_link *link;		/* a reference, with a parcel */
	struct parcel *parcel;
	struct box **placeholders;
	IpczDriverHandle *objects;
	uint32_t count;
};

void relay_batch_init(struct relay_batch *r)
{
	memset(r, 0, sizeof(*r));
	message_builder_init(&r->entries);
	message_builder_init(&r->bytes);
}

IpczResult relay_serialize_object(const struct IpczDriver *driver,
				  IpczDriverHandle object,
				  IpczDriverHandle transport,
				  struct message_builder *bytes,
				  struct message_builder *handles,
				  uint32_t *num_bytes, uint32_t *num_handles)
{
	size_t n_bytes = 0, n_handles = 0, offset;
	IpczDriverHandle *taken;
	IpczResult result;

	result = driver->Serialize(object, transport, IPCZ_NO_FLAGS, NULL,
				   NULL, &n_bytes, NULL, &n_handles);
	if (result != IPCZ_RESULT_RESOURCE_EXHAUSTED)
		return result == IPCZ_RESULT_OK ? IPCZ_RESULT_UNKNOWN : result;
	if (n_bytes > UINT32_MAX || n_handles > RELAY_MAX_HANDLES_PER_OBJECT)
		return IPCZ_RESULT_OUT_OF_RANGE;
	taken = calloc(n_handles ? n_handles : 1, sizeof(*taken));
	offset = message_builder_append(bytes, NULL, n_bytes);
	if (!taken || bytes->failed) {
		free(taken);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	result = driver->Serialize(object, transport, IPCZ_NO_FLAGS, NULL,
				   bytes->bytes + offset, &n_bytes, taken,
				   &n_handles);
	if (result != IPCZ_RESULT_OK) {
		bytes->size = offset;
		free(taken);
		return result;
	}
	message_builder_add_handles(handles, taken, n_handles);
	free(taken);
	*num_bytes = (uint32_t)n_bytes;
	*num_handles = (uint32_t)n_handles;
	return IPCZ_RESULT_OK;
}

bool relay_batch_add(struct relay_batch *r, struct node_link *link,
		     IpczDriverHandle object)
{
	struct wire_relayed_object entry = { 0 };
	IpczDriverHandle transport;

	if (!r->broker)
		r->broker = node_link_broker_of(link->node);
	if (!r->broker || r->broker == link || r->count >= RELAY_MAX_OBJECTS)
		return false;
	transport = node_link_hold_transport(r->broker);
	if (transport == IPCZ_INVALID_DRIVER_HANDLE ||
	    relay_serialize_object(node_link_driver(link), object,
				   transport, &r->bytes,
				   &r->entries, &entry.num_bytes,
				   &entry.num_handles) != IPCZ_RESULT_OK) {
		node_link_release_transport(r->broker);
		return false;
	}
	node_link_release_transport(r->broker);
	message_builder_append(&r->entries, &entry, sizeof(entry));
	r->count++;
	return true;
}

void relay_batch_send(struct relay_batch *r, struct node_link *link,
		      uint64_t sublink, uint64_t seq, enum op_context ctx)
{
	struct msg_relay message = {
		.header = { .type = MSG_RELAY_MESSAGE },
		.sublink = sublink,
		.seq = seq,
		.num_objects = r->count,
	};
	struct message_builder b;

	if (r->count) {
		memcpy(message.node, link->remote_name, sizeof(message.node));
		message_builder_init(&b);
		message_builder_append(&b, &message, sizeof(message));
		message_builder_append(&b, r->entries.bytes, r->entries.size);
		message_builder_append(&b, r->bytes.bytes, r->bytes.size);
		message_builder_add_handles(&b, r->entries.handles,
					    r->entries.num_handles);
		b.failed |= r->entries.failed || r->bytes.failed;
		node_link_set_header(&b, MSG_RELAY_MESSAGE);
		/* On failure the broker link is dropped, the handles closed. */
		node_link_transmit(r->broker, &b, ctx);
		message_builder_free(&b);
	}
	if (r->broker)
		node_link_unref(r->broker);
	message_builder_free(&r->entries);
	message_builder_free(&r->bytes);
	relay_batch_init(r);
}

/* ---- parsing and checking a relay message (both directions) ---- */

struct relayed {
	struct msg_relay message;
	struct wire_relayed_object *entries;	/* copied */
	const uint8_t *data;			/* the entries' bytes */
};

/*
 * Checks the layout: entries within the message, their bytes filling it
 * exactly, their handles adding up to the message's. `lost` entries
 * (allowed only from a broker) carry nothing.
 */
static bool parse_relayed(const uint8_t *bytes, size_t num_bytes,
			  size_t num_handles, bool allow_lost,
			  struct relayed *out)
{
	size_t entries_size, data_size = 0, handles = 0;
	uint32_t i;

	out->entries = NULL;
	if (!node_message_check(bytes, num_bytes, sizeof(out->message)))
		return false;
	memcpy(&out->message, bytes, sizeof(out->message));
	if (!out->message.num_objects ||
	    out->message.num_objects > RELAY_MAX_OBJECTS ||
	    out->message.reserved)
		return false;
	entries_size = (size_t)out->message.num_objects *
		       sizeof(struct wire_relayed_object);
	if (entries_size > num_bytes - sizeof(out->message))
		return false;
	out->entries = malloc(entries_size);
	if (!out->entries)
		return false;
	memcpy(out->entries, bytes + sizeof(out->message), entries_size);
	for (i = 0; i < out->message.num_objects; i++) {
		const struct wire_relayed_object *e = &out->entries[i];

		if (e->lost > 1 || e->reserved || (e->lost && !allow_lost) ||
		    (e->lost && (e->num_bytes || e->num_handles)) ||
		    e->num_handles > RELAY_MAX_HANDLES_PER_OBJECT)
			goto bad;
		data_size += e->num_bytes;
		handles += e->num_handles;
	}
	if (data_size != num_bytes - sizeof(out->message) - entries_size ||
	    handles != num_handles)
		goto bad;
	out->data = bytes + sizeof(out->message) + entries_size;
	return true;
bad:
	free(out->entries);
	out->entries = NULL;
	return false;
}

/*
 * Deserializes every object of a parsed relay message, received over
 * `link`, into `objects` (lost ones as invalid handles). All handles are
 * claimed; on failure everything is closed and false returned.
 */
static bool deserialize_relayed(struct node_link *link,
				const struct relayed *r,
				const IpczDriverHandle *handles,
				size_t num_handles, IpczDriverHandle *objects)
{
	const struct IpczDriver *driver = node_link_driver(link);
	size_t data = 0, first = 0, i;
	uint32_t n;
	bool ok = true;

	for (n = 0; n < r->message.num_objects; n++) {
		const struct wire_relayed_object *e = &r->entries[n];

		objects[n] = IPCZ_INVALID_DRIVER_HANDLE;
		if (ok && !e->lost &&
		    driver->Deserialize(r->data + data, e->num_bytes,
					handles + first, e->num_handles,
					link->transport, IPCZ_NO_FLAGS, NULL,
					&objects[n]) != IPCZ_RESULT_OK) {
			objects[n] = IPCZ_INVALID_DRIVER_HANDLE;
			ok = false;
		}
		if (!ok) {
			/* Claimed, not taken by the driver: ours to close. */
			for (i = 0; i < e->num_handles; i++)
				driver_close_object(driver,
						    handles[first + i]);
		}
		data += e->num_bytes;
		first += e->num_handles;
	}
	if (ok)
		return true;
	for (n = 0; n < r->message.num_objects; n++)
		driver_close_object(driver, objects[n]);
	(void)num_handles;
	return false;
}

static void close_objects(struct node *node, IpczDriverHandle *objects,
			  uint32_t count)
{
	uint32_t i;

	for (i = 0; objects && i < count; i++)
		driver_close_object(&node->driver, objects[i]);
	free(objects);
}

/* ---- the broker ---- */

/*
 * Passes `objects` on to `target`, serialized for its transport, as an
 * ACCEPT_RELAYED_MESSAGE from `source`. An object the driver will not
 * serialize for that transport is closed and marked lost.
 */
static void forward(struct node_link *target, const uint8_t source[16],
		    const struct msg_relay *request,
		    IpczDriverHandle *objects)
{
	const struct IpczDriver *driver = node_link_driver(target);
	IpczDriverHandle transport = node_link_hold_transport(target);
	struct msg_relay message = *request;
	struct message_builder entries, data, b;
	uint32_t i;

	message.header.type = MSG_ACCEPT_RELAYED_MESSAGE;
	memcpy(message.node, source, sizeof(message.node));
	message_builder_init(&entries);
	message_builder_init(&data);
	message_builder_init(&b);
	for (i = 0; i < request->num_objects; i++) {
		struct wire_relayed_object e = { 0 };

		if (objects[i] == IPCZ_INVALID_DRIVER_HANDLE ||
		    transport == IPCZ_INVALID_DRIVER_HANDLE ||
		    relay_serialize_object(driver, objects[i],
					   transport, &data, &entries,
					   &e.num_bytes, &e.num_handles) !=
			    IPCZ_RESULT_OK) {
			driver_close_object(driver, objects[i]);
			e.lost = 1;
		}
		message_builder_append(&entries, &e, sizeof(e));
	}
	message_builder_append(&b, &message, sizeof(message));
	message_builder_append(&b, entries.bytes, entries.size);
	message_builder_append(&b, data.bytes, data.size);
	message_builder_add_handles(&b, entries.handles, entries.num_handles);
	b.failed |= entries.failed || data.failed;
	node_link_set_header(&b, MSG_ACCEPT_RELAYED_MESSAGE);
	node_link_transmit(target, &b, OP_TRANSPORT);
	node_link_release_transport(target);
	message_builder_free(&b);
	message_builder_free(&entries);
	message_builder_free(&data);
}

IpczResult relay_accept_relay_message(struct node_link *link,
				      const uint8_t *bytes, size_t num_bytes,
				      const IpczDriverHandle *handles,
				      size_t num_handles, size_t *claimed)
{
	struct node *node = link->node;
	struct node_link *target;
	IpczDriverHandle *objects;
	struct relayed r;
	uint8_t source[16];
	uint32_t i;

	/* Only a broker relays, and only for its own non-brokers. */
	if (!node_link_is_client_link(link) ||
	    !node_link_remote_name(link, source) ||
	    !parse_relayed(bytes, num_bytes, num_handles, false, &r))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (!node_link_valid_peer_name(node, r.message.node) ||
	    memcmp(r.message.node, source, 16) == 0 ||
	    r.message.seq > MAX_SEQUENCE_START) {
		free(r.entries);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	objects = calloc(r.message.num_objects, sizeof(*objects));
	*claimed = num_handles;
	if (!objects) {
		for (i = 0; i < num_handles; i++)
			driver_close_object(&node->driver, handles[i]);
		free(r.entries);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	if (!deserialize_relayed(link, &r, handles, num_handles, objects)) {
		free(objects);
		free(r.entries);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	target = node_link_find_sibling(link, r.message.node);
	if (target && node_link_is_client_link(target)) {
		forward(target, source, &r.message, objects);
		free(objects);
	} else {
		/* Not one of ours (any more): what it carried is dropped. */
		close_objects(node, objects, r.message.num_objects);
	}
	if (target)
		node_link_unref(target);
	free(r.entries);
	return IPCZ_RESULT_OK;
}

/* ---- the destination ---- */

/* Fills placeholder `box` with a relayed driver object (if not lost). */
static void fill_placeholder(struct node *node, struct box *box,
			     IpczDriverHandle object)
{
	if (object == IPCZ_INVALID_DRIVER_HANDLE)
		return;
	/* Nobody else sees the box before its parcel is delivered. */
	ipcz_lock(&box->lock);
	box->type = IPCZ_BOX_TYPE_DRIVER_OBJECT;
	node_ref(node);
	box->u.driver_object.node = node;
	box->u.driver_object.handle = object;
	box->empty = false;
	ipcz_unlock(&box->lock);
}

/*
 * Joins a parcel and its objects and delivers it on `link`; false (with
 * both dropped) if the counts differ.
 */
static bool join(struct node_link *link, uint64_t sublink,
		 struct parcel *parcel, struct box **placeholders,
		 uint32_t num_placeholders, IpczDriverHandle *objects,
		 uint32_t num_objects)
{
	struct node *node = link->node;
	uint32_t i;

	if (num_placeholders != num_objects) {
		close_objects(node, objects, num_objects);
		free(placeholders);
		parcel_destroy(parcel);
		return false;
	}
	for (i = 0; i < num_objects; i++)
		fill_placeholder(node, placeholders[i], objects[i]);
	free(objects);
	free(placeholders);
	node_link_deliver_parcel(link, sublink, parcel);
	return true;
}

static struct relay_pending **find_pending(struct node *node,
					   const uint8_t source[16],
					   uint64_t sublink, uint64_t seq)
{
	struct relay_pending **p;

	for (p = &node->relay_pending; *p; p = &(*p)->next) {
		if ((*p)->sublink == sublink && (*p)->seq == seq &&
		    memcmp((*p)->source, source, 16) == 0)
			return p;
	}
	return NULL;
}

static void free_pending(struct node *node, struct relay_pending *p)
{
	if (p->parcel) {
		free(p->placeholders);
		parcel_destroy(p->parcel);
		node_link_unref(p->link);
	} else {
		close_objects(node, p->objects, p->count);
	}
	free(p);
}

/*
 * Takes the pending half matching `fresh` into `*found`, or files `fresh`
 * to wait for its other half (`*found` NULL). The same half twice, or too
 * much waiting, is refused: `fresh` is freed and false returned.
 */
static bool take_or_add(struct node *node, struct relay_pending *fresh,
			struct relay_pending **found)
{
	struct relay_pending **p;
	bool refused = false;

	*found = NULL;
	ipcz_lock(&node->lock);
	p = find_pending(node, fresh->source, fresh->sublink, fresh->seq);
	if (p && (!(*p)->parcel) != (!fresh->parcel)) {
		*found = *p;
		*p = (*found)->next;
		node->num_relay_pending--;
	} else if (p || node->closed ||
		   node->num_relay_pending >= RELAY_MAX_PENDING) {
		refused = true;
	} else {
		fresh->next = node->relay_pending;
		node->relay_pending = fresh;
		node->num_relay_pending++;
	}
	ipcz_unlock(&node->lock);
	if (refused)
		free_pending(node, fresh);
	return !refused;
}

IpczResult relay_join_parcel(struct node_link *link, uint64_t sublink,
			     uint64_t seq, struct parcel *parcel,
			     struct box **placeholders, uint32_t count)
{
	struct relay_pending *fresh = calloc(1, sizeof(*fresh)), *found;
	bool joined;

	if (!fresh || !node_link_remote_name(link, fresh->source)) {
		free(fresh);
		free(placeholders);
		parcel_destroy(parcel);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	fresh->sublink = sublink;
	fresh->seq = seq;
	fresh->parcel = parcel;
	fresh->placeholders = placeholders;
	fresh->count = count;
	node_link_ref(link);
	fresh->link = link;
	if (!take_or_add(link->node, fresh, &found))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (!found)
		return IPCZ_RESULT_OK;	/* waits for its objects */
	node_link_unref(link);
	free(fresh);
	joined = join(link, sublink, parcel, placeholders, count,
		      found->objects, found->count);
	free(found);
	return joined ? IPCZ_RESULT_OK : IPCZ_RESULT_INVALID_ARGUMENT;
}

IpczResult relay_accept_relayed_message(struct node_link *link,
					const uint8_t *bytes,
					size_t num_bytes,
					const IpczDriverHandle *handles,
					size_t num_handles, size_t *claimed)
{
	struct relay_pending *fresh, *found;
	struct relayed r;

	/* Only from this node's broker. */
	if (!node_link_is_broker_link(link) ||
	    !parse_relayed(bytes, num_bytes, num_handles, true, &r))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (!node_link_valid_peer_name(link->node, r.message.node) ||
	    memcmp(r.message.node, link->remote_name, 16) == 0 ||
	    r.message.seq > MAX_SEQUENCE_START) {
		free(r.entries);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	fresh = calloc(1, sizeof(*fresh));
	if (fresh)
		fresh->objects = calloc(r.message.num_objects,
					sizeof(*fresh->objects));
	*claimed = num_handles;
	if (!fresh || !fresh->objects ||
	    !deserialize_relayed(link, &r, handles, num_handles,
				 fresh ? fresh->objects : NULL)) {
		if (fresh && !fresh->objects) {
			size_t i;

			for (i = 0; i < num_handles; i++)
				driver_close_object(node_link_driver(link),
						    handles[i]);
		}
		if (fresh)
			free(fresh->objects);
		free(fresh);
		free(r.entries);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	memcpy(fresh->source, r.message.node, 16);
	fresh->sublink = r.message.sublink;
	fresh->seq = r.message.seq;
	fresh->count = r.message.num_objects;
	free(r.entries);
	if (!take_or_add(link->node, fresh, &found))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (!found)
		return IPCZ_RESULT_OK;	/* waits for its parcel */
	/*
	 * The parcel's sender and the broker disagree on the objects: the
	 * parcel's link is dropped (its route breaks visibly).
	 */
	if (!join(found->link, found->sublink, found->parcel,
		  found->placeholders, found->count, fresh->objects,
		  fresh->count))
		node_link_disconnect(found->link, OP_TRANSPORT);
	node_link_unref(found->link);
	free(found);
	free(fresh);
	return IPCZ_RESULT_OK;
}

void relay_forget(struct node *node, struct node_link *link)
{
	struct relay_pending *dropped = NULL, **p, *next;
	uint8_t name[16];
	bool named = link && node_link_remote_name(link, name);

	ipcz_lock(&node->lock);
	p = &node->relay_pending;
	while (*p) {
		struct relay_pending *e = *p;
		bool drop = !link || e->link == link ||
			    (named && !e->parcel &&
			     memcmp(e->source, name, 16) == 0);

		if (drop) {
			*p = e->next;
			e->next = dropped;
			dropped = e;
			node->num_relay_pending--;
		} else {
			p = &e->next;
		}
	}
	ipcz_unlock(&node->lock);
	for (; dropped; dropped = next) {
		next = dropped->next;
		free_pending(node, dropped);
	}
}
