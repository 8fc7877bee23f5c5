/* SPDX-License-Identifier: MIT */
/*
 * What the parts of a node link share (node_link.c, parcel_codec.c,
 * node_connector.c, introduction.c): the link's state and the helpers that
 * send and receive on it. Nothing outside those files includes this.
 */
#ifndef IPCZ_LIB_NODE_LINK_INTERNAL_H
#define IPCZ_LIB_NODE_LINK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/api_object.h"
#include "lib/lock.h"
#include "lib/node.h"
#include "lib/node_link.h"
#include "lib/node_link_memory.h"
#include "lib/node_message.h"
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
	IpczConnectNodeFlags remote_flags;	/* from the peer's CONNECT */
	/*
	 * The transport was activated. A link of a node delegating its
	 * allocations may wait for its primary buffer before activation.
	 */
	bool activated;
	/*
	 * Introduced links: side A uses the primary buffer the broker gave
	 * (and says so in CONNECT); side B keeps its copy of it until side
	 * A's CONNECT tells whether it is used.
	 */
	bool pool_from_introducer;
	IpczDriverHandle introducer_memory;
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
	/*
	 * Senders using the transport outside the lock (Transmit, Serialize,
	 * CreateTransports): a transport deactivated meanwhile is closed by
	 * the last of them (retired_transport), never under their feet.
	 */
	uint32_t transport_holds;
	IpczDriverHandle retired_transport;
};

static inline const struct IpczDriver *node_link_driver(struct node_link *link)
{
	return &link->node->driver;
}

/* node_link.c */

/*
 * The link's transport, read under its lock and kept open until
 * node_link_release_transport() (which must follow, whatever the result):
 * IPCZ_INVALID_DRIVER_HANDLE once the driver has deactivated it. For
 * senders, and for links other than the one being dispatched.
 */
IpczDriverHandle node_link_hold_transport(struct node_link *link);
void node_link_release_transport(struct node_link *link);

/*
 * Sends a built message (ring, doorbell or driver). False: it could not
 * go, the link is dropped and the message's driver objects are closed.
 */
bool node_link_transmit(struct node_link *link, struct message_builder *b,
			enum op_context ctx);
/* node_link_transmit() of one fixed-size message without driver objects. */
bool node_link_transmit_fixed(struct node_link *link, enum op_context ctx,
			      const void *message, size_t size);
/*
 * Sends a message node_link_memory_send() already numbered for the
 * driver; as node_link_transmit() otherwise.
 */
bool node_link_transmit_numbered(struct node_link *link,
				 struct message_builder *b,
				 enum op_context ctx);
/* Writes the header of a message built into `b` (size, `type`). */
void node_link_set_header(struct message_builder *b,
			  enum node_message_type type);
/* Adds a buffer to the link's pool and announces it to the peer. */
void node_link_grow_pool(struct node_link *link, enum op_context ctx);
/* The router bound to `sublink` (a reference) and its link type. */
struct router *node_link_route_of(struct node_link *link, uint64_t sublink,
				  uint8_t *type);
/*
 * A link made by an introduction; owns `transport` and `memory` (the
 * primary buffer from the broker, or invalid) from the call on.
 */
bool node_link_introduce(struct node *node, IpczDriverHandle transport,
			 uint8_t side, const uint8_t name[16],
			 IpczDriverHandle memory);

/*
 * Links by role: this non-broker's link to its broker (a new reference,
 * or NULL); whether `link` is a non-broker's link to its broker; whether
 * it is a broker's link to one of its non-brokers.
 */
struct node_link *node_link_broker_of(struct node *node);
bool node_link_is_broker_link(const struct node_link *link);
bool node_link_is_client_link(const struct node_link *link);

/*
 * Answers to allocation_delegate_request() (`memory` may be invalid: the
 * request failed; otherwise it is taken).
 */
void node_link_primary_provided(struct node_link *link,
				IpczDriverHandle memory, enum op_context ctx);
void node_link_growth_provided(struct node_link *link, uint32_t block_size,
			       IpczDriverHandle memory, enum op_context ctx);

/* Whether `node` has a live link to `name` (connected or connecting). */
bool node_link_exists(struct node *node, const uint8_t name[16]);
/* A name another node may have: not zero, not `node`'s own. */
bool node_link_valid_peer_name(struct node *node, const uint8_t name[16]);

/* parcel_codec.c */
/* Hands a decoded parcel to the router bound to `sublink` (or drops it). */
void node_link_deliver_parcel(struct node_link *link, uint64_t sublink,
			      struct parcel *parcel);
IpczResult node_link_accept_parcel(struct node_link *link,
				   const uint8_t *bytes, size_t num_bytes,
				   const IpczDriverHandle *handles,
				   size_t num_handles, size_t *claimed);

/* node_connector.c */
void node_link_send_connect(struct node_link *link, IpczDriverHandle shared,
			    enum op_context ctx);
/* CONNECT with the pool's primary buffer `shared` (taken), built into `b`. */
void node_link_build_connect(struct node_link *link, IpczDriverHandle shared,
			     struct message_builder *b);
IpczResult node_link_accept_connect(struct node_link *link,
				    const uint8_t *bytes, size_t num_bytes,
				    const IpczDriverHandle *handles,
				    size_t num_handles, size_t *claimed);

/* introduction.c */
void node_link_introduction_complete(struct node_link *link);
IpczResult node_link_accept_request_introduction(struct node_link *link,
						 const uint8_t *bytes,
						 size_t num_bytes);
IpczResult node_link_accept_reject_introduction(struct node_link *link,
						const uint8_t *bytes,
						size_t num_bytes);
IpczResult node_link_accept_request_indirect(struct node_link *link,
					     const uint8_t *bytes,
					     size_t num_bytes);
IpczResult node_link_accept_accept_indirect(struct node_link *link,
					    const uint8_t *bytes,
					    size_t num_bytes,
					    const IpczDriverHandle *handles,
					    size_t num_handles,
					    size_t *claimed);
IpczResult node_link_accept_accept_introduction(struct node_link *link,
						const uint8_t *bytes,
						size_t num_bytes,
						const IpczDriverHandle *handles,
						size_t num_handles,
						size_t *claimed);

#endif
