/* SPDX-License-Identifier: MIT */
/*
 * Relay of driver objects through the broker. When the driver refuses to
 * serialize a parcel's driver object for a link's transport
 * (IPCZ_RESULT_PERMISSION_DENIED: neither end may carry it, typically two
 * sandboxed non-brokers), the parcel still travels on its link, with a
 * WIRE_RELAYED record in the object's place, and the object travels to
 * the broker in a RELAY_MESSAGE, serialized for the broker link. The
 * broker checks the message, takes the objects over and passes them on
 * to the destination, serialized for its own link there, in an
 * ACCEPT_RELAYED_MESSAGE naming the source. The destination joins the two
 * halves by (source node, sublink, parcel number), whichever arrives
 * first, and only then hands the parcel to its router: the router's queue
 * orders parcels by number, so the parcels around it keep their order.
 *
 * A non-broker accepts relayed objects only from its broker, a broker
 * relay requests only from its own non-brokers; everything is checked, and
 * a violation drops the link it came over. Halves waiting for each other
 * are bounded per node (RELAY_MAX_PENDING) and dropped with the link of
 * the node that sent the parcel.
 */
#ifndef IPCZ_LIB_RELAY_H
#define IPCZ_LIB_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipcz/ipcz.h"
#include "lib/node_message.h"
#include "lib/router_link.h"

struct box;
struct node;
struct node_link;
struct parcel;

/* Halves (parcels or relayed objects) a node keeps waiting, at most. */
#define RELAY_MAX_PENDING 4096u
/* Driver handles of one relayed object, at most. */
#define RELAY_MAX_HANDLES_PER_OBJECT 64u

/* The driver objects of one parcel being relayed (sender side). */
struct relay_batch {
	struct node_link *broker;	/* a reference, once found */
	struct message_builder entries;	/* entries and their handles */
	struct message_builder bytes;
	uint32_t count;
};

void relay_batch_init(struct relay_batch *r);

/*
 * `object` was refused for `link`'s transport: serializes it for the
 * node's broker link into the batch (the driver now owns it). False if
 * there is no broker to relay through (this node is a broker, `link` is
 * the broker link) or the driver refuses that too: `object` is still the
 * caller's.
 */
bool relay_batch_add(struct relay_batch *r, struct node_link *link,
		     IpczDriverHandle object);

/*
 * Sends the batch (if it holds anything) to the broker for the parcel
 * numbered `seq` on `sublink` of `link`, and frees it.
 */
void relay_batch_send(struct relay_batch *r, struct node_link *link,
		      uint64_t sublink, uint64_t seq, enum op_context ctx);

/*
 * Serializes `object` for `transport`, appending its bytes to `bytes` and
 * its driver handles to `handles`; the counts go to `*num_bytes` and
 * `*num_handles`. Returns the driver's answer; on anything but
 * IPCZ_RESULT_OK `object` is still the caller's and nothing was appended.
 */
IpczResult relay_serialize_object(const struct IpczDriver *driver,
				  IpczDriverHandle object,
				  IpczDriverHandle transport,
				  struct message_builder *bytes,
				  struct message_builder *handles,
				  uint32_t *num_bytes, uint32_t *num_handles);

/* On a broker: RELAY_MESSAGE from one of its non-brokers. */
IpczResult relay_accept_relay_message(struct node_link *link,
				      const uint8_t *bytes, size_t num_bytes,
				      const IpczDriverHandle *handles,
				      size_t num_handles, size_t *claimed);

/* On a non-broker: ACCEPT_RELAYED_MESSAGE from its broker. */
IpczResult relay_accept_relayed_message(struct node_link *link,
					const uint8_t *bytes,
					size_t num_bytes,
					const IpczDriverHandle *handles,
					size_t num_handles, size_t *claimed);

/*
 * A parcel that arrived on `link` with `count` placeholders (empty boxes,
 * in record order) for relayed objects: taken, and delivered once its
 * objects are there (perhaps now). INVALID_ARGUMENT for a parcel number
 * already waiting, a count its objects do not match, or too many halves
 * waiting: the link is dropped.
 */
IpczResult relay_join_parcel(struct node_link *link, uint64_t sublink,
			     uint64_t seq, struct parcel *parcel,
			     struct box **placeholders, uint32_t count);

/*
 * Drops what waits for or from `link` (it is disconnected), or everything
 * when `link` is NULL (the node closes).
 */
void relay_forget(struct node *node, struct node_link *link);

#endif
