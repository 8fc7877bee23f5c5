/* SPDX-License-Identifier: MIT */
/*
 * A node: the scope of portals, boxes and (with the multi-node work) links
 * to other nodes. It keeps its own copy of the driver table and options.
 */
#ifndef IPCZ_LIB_NODE_H
#define IPCZ_LIB_NODE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/api_object.h"
#include "lib/lock.h"

struct node {
	struct api_object object;
	struct ipcz_lock lock;
	bool is_broker;
	bool closed;
	IpczMemoryFlags memory_flags;
	struct IpczDriver driver;
	uint8_t name[16];	/* random; brokers name themselves */
	struct node_link **links;	/* references, guarded by `lock` */
	size_t num_links, links_capacity;
	/*
	 * Introductions (guarded by `lock`): the central links of bypass
	 * requests declined for want of a link to a node, each waiting for
	 * an introduction to it (references); and, on a broker, the pairs
	 * of node names it has introduced (each sorted).
	 */
	struct node_intro_waiter *waiters;
	size_t num_waiters;
	uint8_t (*introduced)[32];
	size_t num_introduced;
	/*
	 * Relay (lib/relay.h, guarded by `lock`): parcels waiting for their
	 * relayed driver objects, and relayed objects waiting for their
	 * parcel.
	 */
	struct relay_pending *relay_pending;
	size_t num_relay_pending;
	/*
	 * Allocation delegation (lib/allocation_delegate.h, guarded by
	 * `lock`): whether the node ever connected to a delegate (it then
	 * never allocates), the delegate's link (a reference, while it
	 * lives) and the requests it has not answered yet.
	 */
	bool delegating;
	struct node_link *delegate;
	struct memory_request *memory_requests;
	size_t num_memory_requests;
	uint64_t next_memory_request;
};

struct node_link;
struct router_link;
struct relay_pending;
struct memory_request;

struct node_intro_waiter {
	uint8_t name[16];
	struct router_link *link;
};

/*
 * Creates a node. `options` (may be NULL) is read up to its size field;
 * fields beyond it take their defaults.
 */
struct node *node_create(const struct IpczDriver *driver, bool is_broker,
			 const struct IpczCreateNodeOptions *options);

void node_destroy(struct node *node);

/* Close(): every connection of the node is dropped. */
IpczResult node_close(struct node *node);

/*
 * A non-broker connecting to a new broker starts over, as upstream's node
 * does once its new broker connection is up: every connection is dropped
 * (the portals on them see their peer closed) and the node takes a new
 * name. RESOURCE_EXHAUSTED, with nothing dropped, if no name can be made.
 */
IpczResult node_start_over(struct node *node);

/*
 * ConnectNode() after the API-level checks: validates the flags for this
 * node as upstream does, then connects (node_link.c).
 */
IpczResult node_connect(struct node *node, IpczDriverHandle transport,
			size_t num_initial_portals, IpczConnectNodeFlags flags,
			IpczHandle *initial_portals);

/* Keeps a reference to a new node link; false if closed or no memory. */
bool node_add_link(struct node *node, struct node_link *link);

/* Drops the node's reference to `link`, if it has one. */
void node_remove_link(struct node *node, struct node_link *link);

/*
 * Keeps `link` (a new reference) waiting for an introduction to the node
 * named `name`; `*first` tells whether none waited for it before (the
 * introduction must be asked for). False if closed or no memory.
 */
bool node_add_intro_waiter(struct node *node, const uint8_t name[16],
			   struct router_link *link, bool *first);

/*
 * Takes the links waiting for an introduction to `name`, in a malloc'ed
 * array the caller frees (with the references); returns their number.
 */
size_t node_take_intro_waiters(struct node *node, const uint8_t name[16],
			       struct router_link ***links);

/*
 * A broker records that it introduces `a` and `b` to each other; false if
 * it already did (a crossed or repeated request), or on no memory.
 */
bool node_note_introduction(struct node *node, const uint8_t a[16],
			    const uint8_t b[16]);

static inline void node_ref(struct node *node)
{
	api_object_ref(&node->object);
}

static inline void node_unref(struct node *node)
{
	api_object_unref(&node->object);
}

#endif
