/* SPDX-License-Identifier: MIT */
/*
 * The glue between a node link and its shared pool (lib/link_memory.h):
 * the primary buffer handed over at connection, and the two message
 * streams of each direction, the ring in the pool and the driver's
 * Transmit, merged back into one by a per-link sequence number.
 *
 * Sending: every message is numbered (its header's `seq`). A message
 * without driver handles that fits goes into the outgoing ring; the peer
 * is signalled (an empty Transmit, the kernel driver's doorbell) only when
 * it announced that it sleeps. Anything else goes through the driver.
 *
 * Receiving: driver messages and doorbells are handed to
 * node_link_memory_receive(), which delivers messages strictly in
 * sequence order: a driver message that arrives ahead of its turn is
 * parked (bytes copied, driver handles kept), ring messages are drained
 * as long as they are next. One thread drains at a time; others park
 * their message and leave it to the thread already draining.
 *
 * Without a pool (the driver cannot allocate or map memory, or the peer
 * sent none) everything goes through the driver, still numbered.
 * Everything read from the peer is validated; a violation makes the
 * receive call fail, and the caller drops the link.
 */
#ifndef IPCZ_LIB_NODE_LINK_MEMORY_H
#define IPCZ_LIB_NODE_LINK_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipcz/ipcz.h"
#include "lib/link_memory.h"
#include "lib/lock.h"
#include "lib/node_message.h"

/* Driver messages parked while waiting for their turn, at most. */
#define NODE_LINK_MEMORY_MAX_PARKED 1024u
/*
 * How far ahead of the next one a driver message may be numbered: the
 * ring messages before it (at most one per 16 bytes of ring) and those of
 * concurrent senders. Anything further is a bad peer.
 */
#define NODE_LINK_MEMORY_MAX_AHEAD (1u << 16)
/* How long a sender waits for room in a full ring (see send_locked()). */
#define NODE_LINK_MEMORY_FULL_WAIT_NS 200000u

/* The most an application thread spins before it sleeps on the ring. */
#define NODE_LINK_MEMORY_WAIT_SPIN_MAX_NS 200000u

/* How often a waiting thread lets another drainer finish first. */
#define NODE_LINK_MEMORY_WAIT_TRIES 8

/* A serialized memory object in the handshake, at most. */
#define NODE_LINK_MEMORY_MAX_SERIALIZED 256u
#define NODE_LINK_MEMORY_MAX_HANDLES 4u

/*
 * Parcel data larger than this goes into a data fragment of the pool
 * (when one is free) instead of into the message.
 */
#define NODE_LINK_MEMORY_INLINE_MAX 1024u

struct parked_message;

/* A growth buffer's driver objects, kept until the link goes away. */
struct node_link_buffer_objects {
	IpczDriverHandle memory, mapping;
};

/*
 * AddBlockBuffer: a new buffer of `block_size` blocks for the pool, as a
 * serialized memory object (bytes after this, and the driver handles).
 */
struct msg_add_block_buffer {
	struct msg_header header;
	uint64_t buffer_id;
	uint32_t block_size;
	uint32_t reserved;
};

/* A growth buffer being announced: registered once the peer was told. */
struct node_link_growth {
	uint64_t id;
	uint32_t block_size;
	size_t size;
	unsigned char *base;
	struct node_link_buffer_objects objects;
	bool registered;	/* by node_link_memory_send_growth() */
};

struct node_link_memory {
	const struct IpczDriver *driver;
	/* Our primary buffer (side A), or the peer's (side B). */
	IpczDriverHandle memory;
	IpczDriverHandle mapping;
	unsigned char *base;	/* page-aligned start within the mapping */
	_Atomic bool open;	/* lm is usable: rings and pool */
	struct link_memory lm;

	/* Sending: numbering and the outgoing ring. */
	struct ipcz_lock send_lock;
	uint64_t next_send_seq;

	/* Receiving. */
	struct ipcz_lock receive_lock;
	uint64_t next_receive_seq;
	bool draining;		/* a thread is delivering */
	bool rerun;		/* a doorbell rang while it was */
	/*
	 * The drainer is an application thread in node_link_memory_wait(),
	 * which sleeps on the ring's state word rather than in the driver.
	 */
	bool futex_drainer;
	/* A waiting drainer's trap word; NULL with futex_drainer: a glance. */
	_Atomic uint32_t *wait_word;
	uint32_t wait_seen;
	/*
	 * An application thread waited on this link: every drainer leaves
	 * the ring to be signalled with a futex wake (a producer whose wake
	 * finds nobody tries the driver after that), until two doorbells
	 * come with no wait between them.
	 */
	_Atomic bool app_waits;
	/*
	 * Waits that lent their thread (under receive_lock), and their count
	 * at the last doorbell: a doorbell with none since the one before
	 * ends app_waits (the application went back to traps).
	 */
	uint64_t lends, lends_at_doorbell;
	_Atomic bool no_futex;	/* futex sleeping failed on this pool */
	bool broken;		/* a protocol violation was seen */
	struct parked_message *parked;	/* sorted by seq */
	uint32_t num_parked;
	unsigned char *ring_buffer;	/* one ring payload, for the drainer */
	uint32_t ring_buffer_size;
	struct spin_policy spin;
	/*
	 * Application threads waiting on the link spin by a policy of their
	 * own: unlike the driver's thread they wait because they want the
	 * next message, and both sides of a ping-pong must keep spinning
	 * long enough to cover the other's wakeup, or neither ever does.
	 */
	struct spin_policy wait_spin;
	struct spin_policy *sleeping_policy;	/* of the last sleep */
	uint64_t sleep_started_ns;	/* when the consumer last slept */
	uint64_t last_spin_ns;

	/* Growth buffers (ours and the peer's), guarded by send_lock. */
	struct node_link_buffer_objects *buffers;
	uint32_t num_buffers, buffer_capacity;

	/* Counters (for tests and measurements). */
	_Atomic uint64_t sent_ring, sent_driver, doorbells, futex_wakes;
};

/* Where a numbered message must go. */
enum node_link_memory_path {
	NLM_PATH_RING,		/* written into the ring: done */
	NLM_PATH_RING_SIGNAL,	/* written; send an empty Transmit */
	NLM_PATH_DRIVER,	/* send it through the driver */
	NLM_PATH_BROKEN,	/* the ring is corrupt: drop the link */
	NLM_PATH_REFUSED,	/* not sent, not numbered: the link is fine */
};

/*
 * Delivers one message in order; `claimed` tells how many of `handles`
 * the callee took (the rest are closed by the caller on failure).
 */
typedef IpczResult (*node_link_memory_dispatch_fn)(
	void *context, const void *data, size_t num_bytes,
	const IpczDriverHandle *handles, size_t num_handles, size_t *claimed);

void node_link_memory_init(struct node_link_memory *m,
			   const struct IpczDriver *driver);

/* Unmaps and closes everything, parked messages' handles included. */
void node_link_memory_release(struct node_link_memory *m);

/*
 * Side A (or a node that may turn out to be side A): allocates, maps and
 * formats a primary buffer, and writes to `*shared` a duplicate of its
 * memory object to send with the connect message. A driver that cannot
 * allocate or map leaves the link without a pool (not an error).
 */
void node_link_memory_allocate(struct node_link_memory *m,
			       IpczDriverHandle *shared);

/*
 * The same in two steps, for a node whose allocations are delegated: the
 * size to ask for, and the adoption of `memory` (taken; may be invalid,
 * which leaves the link without a pool) as if it had been allocated here.
 */
size_t node_link_memory_primary_allocation(void);
void node_link_memory_adopt_primary(struct node_link_memory *m,
				    IpczDriverHandle memory,
				    IpczDriverHandle *shared);

/*
 * Side A could not send its primary buffer (the driver will not serialize
 * memory over this transport): it is dropped, and the link has no pool.
 * Before the handshake only.
 */
void node_link_memory_discard_primary(struct node_link_memory *m);

/* The largest allocation a link may need (a delegate's upper bound). */
size_t node_link_memory_max_request(void);

/*
 * Memory objects travel serialized for the link's transport, like any
 * driver object: appends `memory` (taken) to the message being built, or
 * closes it and returns false if the driver cannot.
 */
bool node_link_memory_serialize(const struct IpczDriver *driver,
				IpczDriverHandle memory,
				IpczDriverHandle transport,
				struct message_builder *b);

/*
 * The memory object in a handshake's extra bytes and handles (taken on
 * success), or IPCZ_INVALID_DRIVER_HANDLE when there is none or it is
 * unusable.
 */
IpczDriverHandle node_link_memory_deserialize(const struct IpczDriver *driver,
					      const void *bytes,
					      size_t num_bytes,
					      const IpczDriverHandle *handles,
					      size_t num_handles,
					      IpczDriverHandle transport);

/*
 * At the end of the handshake, once the sides are known. Side A opens
 * its own buffer (if it has one) and closes `peer_memory` if the peer sent
 * one too; side B drops its own and maps `peer_memory` (taken in any
 * case). Returns IPCZ_RESULT_OK, or INVALID_ARGUMENT for a peer buffer
 * that is unusable (too small, unmappable): the link must be dropped.
 */
IpczResult node_link_memory_open(struct node_link_memory *m, bool side_a,
				 IpczDriverHandle peer_memory,
				 IpczMemoryFlags memory_flags);

/*
 * Sender: copies `size` bytes of parcel data into a new data fragment and
 * names it in `desc`. False when the pool has no room (or none): the data
 * travels inline; node_link_memory_prepare_growth() may then add room.
 */
bool node_link_memory_put_data(struct node_link_memory *m, const void *data,
			       size_t size, uint64_t *buffer_id,
			       uint32_t *offset, uint32_t *fragment_size);

/*
 * Receiver: copies exactly `size` bytes of parcel data out of the data
 * fragment the peer named, and frees the fragment. False for anything
 * invalid (unknown buffer, bad span, a committed length other than
 * `size`): a protocol violation.
 */
bool node_link_memory_take_data(struct node_link_memory *m,
				uint64_t buffer_id, uint32_t offset,
				uint32_t fragment_size, void *out, size_t size);

/*
 * Growth, when the pool asked for it: allocates, maps and formats a block
 * buffer and builds the AddBlockBuffer message for it into `b` (to be sent
 * through the driver). False if there is nothing to do or it failed. The
 * message goes out through node_link_memory_send_growth(), then
 * node_link_memory_finish_growth() cleans up a buffer that was not
 * registered.
 */
bool node_link_memory_prepare_growth(struct node_link_memory *m,
				     IpczDriverHandle transport,
				     struct message_builder *b,
				     struct node_link_growth *g);
void node_link_memory_finish_growth(struct node_link_memory *m,
				    struct node_link_growth *g, bool sent);

/*
 * Growth in steps, for a node whose allocations are delegated: takes the
 * pool's growth request (the block size and the bytes to allocate; false
 * if there is none), then either builds the AddBlockBuffer message around
 * `memory` (taken) as node_link_memory_prepare_growth() does, or abandons
 * the request (it may be made again).
 */
bool node_link_memory_take_growth(struct node_link_memory *m,
				  uint32_t *block_size, size_t *allocation);
bool node_link_memory_build_growth(struct node_link_memory *m,
				   IpczDriverHandle transport,
				   struct message_builder *b,
				   struct node_link_growth *g,
				   uint32_t block_size, IpczDriverHandle memory);
void node_link_memory_abandon_growth(struct node_link_memory *m,
				     uint32_t block_size);

/*
 * Receiver of AddBlockBuffer: checks it before mapping anything, maps and
 * registers the buffer. `*claimed` handles were taken. IPCZ_RESULT_OK or
 * INVALID_ARGUMENT (drop the link).
 */
IpczResult node_link_memory_accept_block_buffer(struct node_link_memory *m,
						const void *data,
						size_t num_bytes,
						const IpczDriverHandle *handles,
						size_t num_handles,
						IpczDriverHandle transport,
						size_t *claimed);

/* Bytes of shared memory in the pool, 0 while it is not open. */
size_t node_link_memory_pool_bytes(struct node_link_memory *m);

/*
 * Numbers the message in `bytes` (a node message: its header gets the
 * number) and writes it into the ring if it can go there: no driver
 * handles, small enough, room now.
 */
enum node_link_memory_path node_link_memory_send(struct node_link_memory *m,
						 void *bytes, size_t num_bytes,
						 size_t num_handles);

/*
 * Numbers an AddBlockBuffer message for growth `g` and registers the new
 * buffer in the same step, under the send lock: registered before the
 * peer can learn of it (and so name it in a fragment it sends back), and
 * numbered before any message of ours can name it. NLM_PATH_REFUSED when
 * the buffer cannot be registered (the pool is full): then the message
 * must not be sent.
 */
enum node_link_memory_path
node_link_memory_send_growth(struct node_link_memory *m, void *bytes,
			     size_t num_bytes, size_t num_handles,
			     struct node_link_growth *g);

/*
 * A call from the driver: a message (bytes, handles) or a doorbell (no
 * bytes, no handles). Delivers through `dispatch` whatever is now next,
 * from parked messages and the ring. On failure `*claimed` handles of
 * this call were taken; the caller closes the rest and drops the link.
 */
IpczResult node_link_memory_receive(struct node_link_memory *m,
				    const void *data, size_t num_bytes,
				    const IpczDriverHandle *handles,
				    size_t num_handles, size_t *claimed,
				    node_link_memory_dispatch_fn dispatch,
				    void *context);

/*
 * An application thread waiting for something on this link (a parcel for
 * a portal, say) lends itself as the drainer: it delivers whatever is due,
 * and when nothing is, sleeps on the incoming ring's state word so that
 * the peer's next ring message wakes it directly, without a driver message
 * or the driver's thread; it also wakes when `*word` differs from `seen`
 * (the caller's trap fired) or at `deadline_ns` (CLOCK_MONOTONIC, 0: none).
 * When another thread drains, or the pool cannot be slept on, it only
 * waits on `word`. Returns after one sleep, or at once when something was
 * delivered; the caller checks its condition and calls again. Failure is
 * as for node_link_memory_receive() (drop the link).
 *
 * Nothing is to be undone when the wait is over: the ring may still say
 * that a thread sleeps on it, but a producer whose futex wake finds no
 * sleeper signals the driver instead, whose thread drains from then on.
 */
IpczResult node_link_memory_wait(struct node_link_memory *m,
				 _Atomic uint32_t *word, uint32_t seen,
				 uint64_t deadline_ns,
				 node_link_memory_dispatch_fn dispatch,
				 void *context);

/*
 * Whether the calling thread is delivering a link's messages (a trap
 * handler run by a delivery): such a thread must not wait for more.
 */
bool node_link_memory_delivering_here(void);

/*
 * The drain of node_link_memory_wait() without the sleep: delivers what
 * is due now if no other thread is draining (a waiter's first look, which
 * often finds the awaited message already in the ring).
 */
IpczResult node_link_memory_drain_now(struct node_link_memory *m,
				      node_link_memory_dispatch_fn dispatch,
				      void *context);

#endif
