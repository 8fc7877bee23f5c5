/* SPDX-License-Identifier: MIT */
/*
 * Allocation delegation. A node that connects with
 * IPCZ_CONNECT_NODE_TO_ALLOCATION_DELEGATE (a sandboxed process, say) never
 * calls its driver's AllocateSharedMemory() from then on: the memory its
 * links need (the primary buffer of a link it offers one on, buffers for
 * pool growth) is asked of the node on the other end of that connection,
 * its delegate, with REQUEST_MEMORY, and arrives asynchronously with
 * PROVIDE_MEMORY. Meanwhile nothing waits that need not: parcel data
 * travels inline in messages while growth is pending, and a link waiting
 * for its primary buffer activates its transport only once it has it
 * (its portals queue parcels meanwhile, as before any handshake).
 *
 * If the delegate cannot allocate, or its link goes away, the request
 * fails as a failed allocation would: no growth, or a link without a pool
 * (everything through the driver).
 *
 * The delegate serves only a link whose peer connected to it with the
 * flag, for sizes up to node_link_memory_max_request(); a node accepts
 * PROVIDE_MEMORY only from its delegate and only for a request it made.
 */
#ifndef IPCZ_LIB_ALLOCATION_DELEGATE_H
#define IPCZ_LIB_ALLOCATION_DELEGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipcz/ipcz.h"
#include "lib/router_link.h"

struct node;
struct node_link;

/* Requests waiting for an answer, per node, at most. */
#define ALLOCATION_DELEGATE_MAX_PENDING 1024u

enum memory_purpose {
	MEMORY_FOR_PRIMARY,	/* the primary buffer `target` offers */
	MEMORY_FOR_GROWTH,	/* a block buffer of `block_size` blocks */
};

/*
 * Marks `node` as delegating (for good) and, if it has none yet, makes
 * `link` its delegate (a new reference).
 */
void allocation_delegate_set(struct node *node, struct node_link *link);

/* Whether `node` delegates its allocations. */
bool allocation_delegate_in_use(struct node *node);

/*
 * Asks the delegate for `size` bytes for `target`. False if it cannot be
 * asked (no delegate link, too many requests, no memory): the caller
 * treats it as a failed allocation. The answer comes to
 * node_link_primary_provided() or node_link_growth_provided().
 */
bool allocation_delegate_request(struct node_link *target,
				 enum memory_purpose purpose, size_t size,
				 uint32_t block_size, enum op_context ctx);

/* On the delegate: REQUEST_MEMORY over `link`. */
IpczResult allocation_delegate_accept_request(struct node_link *link,
					      const uint8_t *bytes,
					      size_t num_bytes);

/* On the delegating node: PROVIDE_MEMORY over `link`. */
IpczResult allocation_delegate_accept_provide(struct node_link *link,
					      const uint8_t *bytes,
					      size_t num_bytes,
					      const IpczDriverHandle *handles,
					      size_t num_handles,
					      size_t *claimed);

/*
 * `link` is gone (or, NULL, the node closes): requests for it are
 * dropped; if it was the delegate, every request fails now.
 */
void allocation_delegate_forget(struct node *node, struct node_link *link);

#endif
