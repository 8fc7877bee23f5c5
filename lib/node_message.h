/* SPDX-License-Identifier: MIT */
/*
 * The messages two nodes exchange over a driver transport, and the
 * encoding of parcels into them. Every message starts with a header
 * giving its total size and type; all integers are in the sender's byte
 * order (both ends run on one machine). Everything received is checked
 * before use: sizes, counts, offsets, and that each driver handle is
 * claimed exactly once.
 *
 * CONNECT            the handshake: name, broker or not, the sender's
 *                    ConnectNode() flags and number of initial portals.
 * PARCEL             a parcel for a sublink: its number, data and objects.
 * ROUTE_CLOSED       the sender's side of a sublink's route ends at a
 *                    given length.
 * ROUTE_DISCONNECTED the route through a sublink broke.
 * REQUEST_INTRODUCTION, ACCEPT_INTRODUCTION, REJECT_INTRODUCTION
 *                    a non-broker asks its broker for a link to another
 *                    of the broker's nodes; the broker hands each of the
 *                    two one end of a new transport, or refuses.
 * RELAY_MESSAGE, ACCEPT_RELAYED_MESSAGE
 *                    a parcel's driver objects that the link's transport
 *                    refuses, sent to the broker, which passes them on to
 *                    the destination (lib/relay.h).
 * REQUEST_MEMORY, PROVIDE_MEMORY
 *                    a node delegating its allocations asks its delegate
 *                    for shared memory (lib/allocation_delegate.h).
 */
#ifndef IPCZ_LIB_NODE_MESSAGE_H
#define IPCZ_LIB_NODE_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipcz/ipcz.h"

struct node;
struct node_link;
struct parcel;

enum node_message_type {
	MSG_CONNECT = 1,
	MSG_PARCEL = 2,
	MSG_ROUTE_CLOSED = 3,
	MSG_ROUTE_DISCONNECTED = 4,
	/* Introductions, numbered as upstream's node messages. */
	MSG_REQUEST_INTRODUCTION = 10,
	MSG_REJECT_INTRODUCTION = 11,
	MSG_ACCEPT_INTRODUCTION = 12,
	/* Between brokers, for a node of one and a node of the other. */
	MSG_REQUEST_INDIRECT_INTRODUCTION = 13,
	MSG_ACCEPT_INDIRECT_INTRODUCTION = 14,
	/* Route reduction, numbered as upstream's node messages. */
	MSG_BYPASS = 30,
	MSG_STOP_PROXYING = 32,
	/* A new buffer for the link's pool (lib/node_link_memory.h). */
	MSG_ADD_BLOCK_BUFFER = 64,
	/* Driver objects relayed by the broker, numbered as upstream's. */
	MSG_RELAY_MESSAGE = 66,
	MSG_ACCEPT_RELAYED_MESSAGE = 67,
	/*
	 * Allocation delegation (upstream's RequestMemory and ProvideMemory
	 * are 64 and 65; 64 is AddBlockBuffer here).
	 */
	MSG_REQUEST_MEMORY = 70,
	MSG_PROVIDE_MEMORY = 71,
};

struct msg_header {
	uint32_t size;		/* of the whole message */
	uint16_t type;
	uint16_t version;	/* 0 */
	/*
	 * The message's number on its link direction, set when it is sent
	 * (lib/node_link_memory.c): ring and driver messages merge by it.
	 */
	uint64_t seq;
};

struct msg_connect {
	struct msg_header header;
	uint8_t name[16];
	uint32_t flags;		/* the sender's IpczConnectNodeFlags */
	uint8_t is_broker;
	uint8_t introduced;	/* over a transport from an introduction */
	/*
	 * Side A of an introduced link uses the primary buffer the broker
	 * gave both sides (see msg_accept_introduction); none follows.
	 */
	uint8_t introducer_pool;
	uint8_t reserved;
	uint32_t num_initial_portals;
	uint32_t reserved2;
};

/* REQUEST_ and REJECT_INTRODUCTION: the node to be linked with. */
struct msg_introduction_name {
	struct msg_header header;
	uint8_t name[16];
};

/*
 * ACCEPT_INTRODUCTION: the other node's name, this node's side of the new
 * link (enum link_side), then the `transport_bytes` bytes of the new
 * transport as the driver serialized it for the carrying link, then the
 * `memory_bytes` bytes of the new link's primary buffer (as upstream's
 * broker does, it allocates one and gives it to both sides; absent when
 * it cannot). The message's last `memory_handles` driver handles are the
 * buffer's, the others the transport's.
 */
struct msg_accept_introduction {
	struct msg_header header;
	uint8_t name[16];
	uint8_t side;
	uint8_t reserved[3];
	uint32_t transport_bytes;
	uint32_t memory_bytes;
	uint32_t memory_handles;
};

/*
 * REQUEST_INDIRECT_INTRODUCTION: a node of the sending broker (`source`)
 * wants a link to `target`, which the receiving broker may know.
 * ACCEPT_INDIRECT_INTRODUCTION: the answer, with the transport end for
 * `source` after the fixed part, as in ACCEPT_INTRODUCTION.
 */
struct msg_indirect_introduction {
	struct msg_header header;
	uint8_t source[16];
	uint8_t target[16];
	uint32_t transport_bytes;	/* 0 in a request */
	uint32_t reserved;
};

/*
 * RELAY_MESSAGE (to the broker; `node` is the destination) and
 * ACCEPT_RELAYED_MESSAGE (from the broker; `node` is the source): the
 * driver objects of the parcel numbered `seq` on the route that `sublink`
 * of the link between source and destination carries. `num_objects`
 * wire_relayed_object entries follow, then each entry's bytes in order;
 * the message's driver handles are the entries' handles in order.
 */
struct msg_relay {
	struct msg_header header;
	uint8_t node[16];
	uint64_t sublink;
	uint64_t seq;
	uint32_t num_objects;
	uint32_t reserved;
};

struct wire_relayed_object {
	uint32_t num_bytes;
	uint32_t num_handles;
	uint32_t lost;		/* 1: the broker could not pass it on */
	uint32_t reserved;
};

/* Relayed objects per parcel, at most. */
#define RELAY_MAX_OBJECTS 256u

/*
 * REQUEST_MEMORY: `size` bytes of shared memory for the request `id`.
 * PROVIDE_MEMORY: the answer, the memory object serialized after the
 * fixed part (no bytes and no handles: the delegate could not allocate).
 */
struct msg_memory {
	struct msg_header header;
	uint64_t id;
	uint64_t size;
};

/* Bounds on a serialized transport in ACCEPT_INTRODUCTION. */
#define INTRODUCTION_MAX_BYTES 4096
#define INTRODUCTION_MAX_HANDLES 8

struct msg_route_closed {
	struct msg_header header;
	uint64_t sublink;
	uint64_t length;
};

struct msg_route_disconnected {
	struct msg_header header;
	uint64_t sublink;
};

/*
 * To a proxy, over its outward (central) link, from the node of its
 * outward peer, which now links to the proxy's inward peer directly: the
 * peer sent below `inbound_cut` to the proxy, and the proxy must have sent
 * exactly `outbound_cut` parcels to the peer.
 */
/*
 * The proxy bypass protocol of lib/router_bypass.h: `op` is an enum
 * bypass_op, `sublink` the route it is about on this link.
 */
struct msg_bypass {
	struct msg_header header;
	uint64_t sublink;
	uint32_t op;
	uint32_t reserved;
	uint8_t name[16];
	uint64_t new_sublink;
	uint64_t cut;
};

struct msg_stop_proxying {
	struct msg_header header;
	uint64_t sublink;
	uint64_t inbound_cut;
	uint64_t outbound_cut;
};

/*
 * A parcel: the fixed part, then `num_records` object records, then the
 * parcel's data followed by each record's bytes in record order.
 */
struct msg_parcel {
	struct msg_header header;
	uint64_t sublink;
	uint64_t seq;
	uint32_t num_bytes;	/* the parcel's own data */
	uint32_t num_objects;	/* top-level objects */
	uint32_t num_records;	/* all records, subparcel contents included */
	uint32_t num_driver_handles;
	uint32_t flags;		/* PARCEL_DATA_IN_FRAGMENT */
	uint32_t reserved;
	/*
	 * With PARCEL_DATA_IN_FRAGMENT, the parcel's own data is not in the
	 * message but in this data fragment of the link's pool, which the
	 * receiver frees once it has the data.
	 */
	uint64_t data_buffer_id;
	uint32_t data_offset;
	uint32_t data_size;	/* of the fragment */
};

#define PARCEL_DATA_IN_FRAGMENT 1u

enum wire_object_kind {
	WIRE_PORTAL = 1,	/* a router continuing on a new sublink */
	WIRE_DRIVER_OBJECT = 2,	/* a boxed driver object */
	WIRE_SUBPARCEL = 3,	/* a boxed parcel (application objects) */
	WIRE_LOST = 4,		/* a box whose contents could not travel */
	/*
	 * A portal whose peer stayed on the sending node: `sublink` is a
	 * central link to that peer; its bytes are a wire_direct_portal.
	 */
	WIRE_PORTAL_DIRECT = 5,
	/*
	 * A portal sent to the node of its peer: as WIRE_PORTAL, its bytes
	 * a wire_returning_portal naming the peer's route on this link.
	 */
	WIRE_PORTAL_RETURNING = 6,
	/*
	 * A driver object this link's transport refused: it travels in a
	 * RELAY_MESSAGE through the broker (lib/relay.h), in the order of
	 * these records. No bytes, no handles here.
	 */
	WIRE_RELAYED = 7,
};

/*
 * One object. A subparcel's `num_objects` records follow it directly
 * (depth first).
 */
struct wire_object {
	uint32_t kind;
	uint32_t num_bytes;
	uint32_t first_handle;	/* index into the message's driver handles */
	uint32_t num_handles;
	uint32_t num_objects;
	uint32_t reserved;
	uint64_t sublink;
	uint64_t next_outbound;
	uint64_t next_inbound;
};

/*
 * The bytes of a WIRE_PORTAL_DIRECT record: the sublink of the router left
 * behind, which passes on what the peer sent below `peer_cut`.
 */
struct wire_direct_portal {
	uint64_t decaying_sublink;
	uint64_t peer_cut;
};

struct wire_returning_portal {
	uint64_t peer_sublink;
};

/* Subparcels may hold subparcels this deep, no deeper. */
#define WIRE_MAX_DEPTH 4

/* A message being built, with the driver handles it carries. */
struct message_builder {
	uint8_t *bytes;
	size_t size, capacity;
	IpczDriverHandle *handles;
	size_t num_handles, handle_capacity;
	bool failed;		/* out of memory at some point */
};

void message_builder_init(struct message_builder *b);
void message_builder_free(struct message_builder *b);
/* Appends bytes; returns their offset (the builder may move them). */
size_t message_builder_append(struct message_builder *b, const void *data,
			      size_t size);
size_t message_builder_add_handles(struct message_builder *b,
				   const IpczDriverHandle *handles,
				   size_t count);

/*
 * Validates a received message's header: at least `min_size` bytes,
 * `size` matching the bytes received.
 */
bool node_message_check(const void *data, size_t num_bytes, size_t min_size);

#endif
