// SPDX-License-Identifier: MIT
/*
 * A node link's pool and its two message streams: see node_link_memory.h.
 * The merge rule (Documentation/shared-memory.rst, "Ordering"): deliver a
 * parked driver message if it is next, else a ring message if it is next,
 * else stop until the missing driver message arrives.
 */
#include "lib/node_link_memory.h"

#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/driver.h"
#include "lib/futex.h"
#include "lib/node_message.h"
#include "lib/spin_wait.h"

/*
 * The primary buffer is allocated with this much slack, so that a driver
 * whose mappings are not page-aligned (heap memory) still yields a
 * page-aligned primary buffer. Both sides use the first page boundary of
 * their mapping; mappings of one memory object agree on it (in-process
 * heap memory has one address; real mappings start on a page).
 */
#define PRIMARY_SLACK 4096u
#define PRIMARY_ALLOCATION (LINK_MEMORY_PRIMARY_SIZE + PRIMARY_SLACK)

struct parked_message {
	struct parked_message *next;
	uint64_t seq;
	size_t num_bytes;
	size_t num_handles;
	IpczDriverHandle *handles;
	unsigned char bytes[];
};

void node_link_memory_init(struct node_link_memory *m,
			   const struct IpczDriver *driver)
{
	memset(m, 0, sizeof(*m));
	m->driver = driver;
	m->memory = IPCZ_INVALID_DRIVER_HANDLE;
	m->mapping = IPCZ_INVALID_DRIVER_HANDLE;
	spin_policy_init(&m->spin, 0);
	spin_policy_init(&m->wait_spin, NODE_LINK_MEMORY_WAIT_SPIN_MAX_NS);
}

static void close_handles(const struct IpczDriver *driver,
			  const IpczDriverHandle *handles, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		driver_close_object(driver, handles[i]);
}

static void free_parked(const struct IpczDriver *driver,
			struct parked_message *p, size_t first_unclaimed)
{
	if (first_unclaimed < p->num_handles)
		close_handles(driver, p->handles + first_unclaimed,
			      p->num_handles - first_unclaimed);
	free(p->handles);
	free(p);
}

static void close_buffer_objects(struct node_link_memory *m,
				 struct node_link_buffer_objects *objects)
{
	driver_close_object(m->driver, objects->mapping);
	driver_close_object(m->driver, objects->memory);
}

static void unmap(struct node_link_memory *m)
{
	if (m->mapping != IPCZ_INVALID_DRIVER_HANDLE)
		driver_close_object(m->driver, m->mapping);
	if (m->memory != IPCZ_INVALID_DRIVER_HANDLE)
		driver_close_object(m->driver, m->memory);
	m->mapping = IPCZ_INVALID_DRIVER_HANDLE;
	m->memory = IPCZ_INVALID_DRIVER_HANDLE;
	m->base = NULL;
}

void node_link_memory_release(struct node_link_memory *m)
{
	while (m->parked) {
		struct parked_message *next = m->parked->next;

		free_parked(m->driver, m->parked, 0);
		m->parked = next;
	}
	if (atomic_load(&m->open))
		link_memory_close(&m->lm);
	atomic_store(&m->open, false);
	while (m->num_buffers)
		close_buffer_objects(m, &m->buffers[--m->num_buffers]);
	free(m->buffers);
	m->buffers = NULL;
	unmap(m);
	free(m->ring_buffer);
	m->ring_buffer = NULL;
}

/*
 * Maps `memory` (taken) and finds the page-aligned primary buffer in it.
 * Returns false, with nothing kept, if it is too small or unmappable.
 */
static bool map_primary(struct node_link_memory *m, IpczDriverHandle memory)
{
	struct IpczSharedMemoryInfo info = { .size = sizeof(info) };
	volatile void *address = NULL;
	uintptr_t start, aligned;

	m->memory = memory;
	if (m->driver->GetSharedMemoryInfo(memory, IPCZ_NO_FLAGS, NULL,
					   &info) != IPCZ_RESULT_OK ||
	    info.region_num_bytes < PRIMARY_ALLOCATION ||
	    m->driver->MapSharedMemory(memory, IPCZ_NO_FLAGS, NULL, &address,
				       &m->mapping) != IPCZ_RESULT_OK ||
	    !address) {
		m->mapping = IPCZ_INVALID_DRIVER_HANDLE;
		unmap(m);
		return false;
	}
	start = (uintptr_t)address;
	aligned = (start + PRIMARY_SLACK - 1) & ~(uintptr_t)(PRIMARY_SLACK - 1);
	m->base = (unsigned char *)aligned;
	return true;
}

void node_link_memory_allocate(struct node_link_memory *m,
			       IpczDriverHandle *shared)
{
	IpczDriverHandle memory = IPCZ_INVALID_DRIVER_HANDLE;

	*shared = IPCZ_INVALID_DRIVER_HANDLE;
	if (m->driver->AllocateSharedMemory(PRIMARY_ALLOCATION, IPCZ_NO_FLAGS,
					    NULL, &memory) != IPCZ_RESULT_OK)
		return;
	node_link_memory_adopt_primary(m, memory, shared);
}

size_t node_link_memory_primary_allocation(void)
{
	return PRIMARY_ALLOCATION;
}

size_t node_link_memory_max_request(void)
{
	return LINK_MEMORY_MAX_BUFFER_SIZE + PRIMARY_SLACK;
}

void node_link_memory_adopt_primary(struct node_link_memory *m,
				    IpczDriverHandle memory,
				    IpczDriverHandle *shared)
{
	*shared = IPCZ_INVALID_DRIVER_HANDLE;
	if (memory == IPCZ_INVALID_DRIVER_HANDLE || !map_primary(m, memory))
		return;
	if (link_memory_format_primary(m->base, LINK_MEMORY_PRIMARY_SIZE) ||
	    m->driver->DuplicateSharedMemory(m->memory, IPCZ_NO_FLAGS, NULL,
					     shared) != IPCZ_RESULT_OK) {
		*shared = IPCZ_INVALID_DRIVER_HANDLE;
		unmap(m);
	}
}

void node_link_memory_discard_primary(struct node_link_memory *m)
{
	unmap(m);
}

IpczResult node_link_memory_open(struct node_link_memory *m, bool side_a,
				 IpczDriverHandle peer_memory,
				 IpczMemoryFlags memory_flags)
{
	struct buffer_pool_config config = {
		.fixed_capacity = memory_flags &
				  IPCZ_MEMORY_FIXED_PARCEL_CAPACITY,
	};
	uint32_t size;

	if (side_a) {
		/* Two brokers may both offer one: side A's wins. */
		if (peer_memory != IPCZ_INVALID_DRIVER_HANDLE)
			driver_close_object(m->driver, peer_memory);
		if (!m->base)
			return IPCZ_RESULT_OK;	/* no pool on this link */
	} else {
		unmap(m);
		if (peer_memory == IPCZ_INVALID_DRIVER_HANDLE)
			return IPCZ_RESULT_OK;
		if (!map_primary(m, peer_memory))
			return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	if (link_memory_open(&m->lm,
			     side_a ? NODE_LINK_SIDE_A : NODE_LINK_SIDE_B,
			     m->base, LINK_MEMORY_PRIMARY_SIZE, &config))
		goto fail;
	size = message_ring_max_payload(link_memory_incoming_ring(&m->lm));
	m->ring_buffer = malloc(size);
	if (!m->ring_buffer) {
		link_memory_close(&m->lm);
		goto fail;
	}
	m->ring_buffer_size = size;
	ipcz_lock(&m->send_lock);
	atomic_store(&m->open, true);
	ipcz_unlock(&m->send_lock);
	return IPCZ_RESULT_OK;
fail:
	unmap(m);
	/* Side A can run without a pool; side B must match side A. */
	return side_a ? IPCZ_RESULT_OK : IPCZ_RESULT_RESOURCE_EXHAUSTED;
}

bool node_link_memory_serialize(const struct IpczDriver *driver,
				IpczDriverHandle memory,
				IpczDriverHandle transport,
				struct message_builder *b)
{
	size_t num_bytes = 0, num_handles = 0, offset;
	IpczDriverHandle handles[NODE_LINK_MEMORY_MAX_HANDLES];
	IpczResult result;

	result = driver->Serialize(memory, transport, IPCZ_NO_FLAGS, NULL,
				   NULL, &num_bytes, NULL, &num_handles);
	if (result != IPCZ_RESULT_RESOURCE_EXHAUSTED ||
	    num_bytes > NODE_LINK_MEMORY_MAX_SERIALIZED ||
	    num_handles > NODE_LINK_MEMORY_MAX_HANDLES)
		goto fail;
	offset = message_builder_append(b, NULL, num_bytes);
	if (b->failed)
		goto fail;
	result = driver->Serialize(memory, transport, IPCZ_NO_FLAGS, NULL,
				   b->bytes + offset, &num_bytes, handles,
				   &num_handles);
	if (result != IPCZ_RESULT_OK) {
		b->size = offset;
		goto fail;
	}
	message_builder_add_handles(b, handles, num_handles);
	return true;
fail:
	driver_close_object(driver, memory);
	return false;
}

IpczDriverHandle node_link_memory_deserialize(const struct IpczDriver *driver,
					      const void *bytes,
					      size_t num_bytes,
					      const IpczDriverHandle *handles,
					      size_t num_handles,
					      IpczDriverHandle transport)
{
	IpczDriverHandle memory = IPCZ_INVALID_DRIVER_HANDLE;

	if (!num_bytes && !num_handles)
		return memory;
	if (driver->Deserialize(bytes, num_bytes, handles, num_handles,
				transport, IPCZ_NO_FLAGS, NULL,
				&memory) != IPCZ_RESULT_OK)
		return IPCZ_INVALID_DRIVER_HANDLE;
	return memory;
}

/* ---- parcel data in fragments ---- */

bool node_link_memory_put_data(struct node_link_memory *m, const void *data,
			       size_t size, uint64_t *buffer_id,
			       uint32_t *offset, uint32_t *fragment_size)
{
	struct fragment frag;

	if (!atomic_load(&m->open) || size > UINT32_MAX ||
	    data_fragment_alloc(&m->lm, (uint32_t)size, &frag))
		return false;
	memcpy(fragment_payload(&frag), data, size);
	if (data_fragment_commit(&frag, (uint32_t)size)) {
		fragment_free(&m->lm, &frag.desc);
		return false;
	}
	*buffer_id = frag.desc.buffer_id;
	*offset = frag.desc.offset;
	*fragment_size = frag.desc.size;
	return true;
}

bool node_link_memory_take_data(struct node_link_memory *m,
				uint64_t buffer_id, uint32_t offset,
				uint32_t fragment_size, void *out, size_t size)
{
	struct fragment_desc desc = {
		.buffer_id = buffer_id,
		.offset = offset,
		.size = fragment_size,
	};
	struct fragment frag;
	const void *data;
	uint32_t len;

	if (!atomic_load(&m->open) || fragment_resolve(&m->lm, &desc, &frag) ||
	    data_fragment_adopt(&frag, &data, &len) || len != size)
		return false;
	memcpy(out, data, size);
	/* The block is ours now; one that is no block is a bad peer. */
	return fragment_free(&m->lm, &desc) == 0;
}

/* ---- growth ---- */

/* Keeps a buffer's driver objects for release. Under send_lock. */
static bool keep_buffer_objects(struct node_link_memory *m,
				struct node_link_buffer_objects objects)
{
	if (m->num_buffers == m->buffer_capacity) {
		uint32_t capacity = m->buffer_capacity ?
					    m->buffer_capacity * 2 : 8;
		struct node_link_buffer_objects *grown = realloc(
			m->buffers, capacity * sizeof(*grown));

		if (!grown)
			return false;
		m->buffers = grown;
		m->buffer_capacity = capacity;
	}
	m->buffers[m->num_buffers++] = objects;
	return true;
}

/*
 * Maps a growth buffer: its first page boundary, as for the primary
 * buffer, must leave `size` bytes. Returns the base or NULL.
 */
static unsigned char *map_block_buffer(struct node_link_memory *m,
				       struct node_link_buffer_objects *o,
				       size_t size)
{
	struct IpczSharedMemoryInfo info = { .size = sizeof(info) };
	volatile void *address = NULL;
	uintptr_t start, aligned;

	if (m->driver->GetSharedMemoryInfo(o->memory, IPCZ_NO_FLAGS, NULL,
					   &info) != IPCZ_RESULT_OK ||
	    info.region_num_bytes < size + PRIMARY_SLACK ||
	    m->driver->MapSharedMemory(o->memory, IPCZ_NO_FLAGS, NULL,
				       &address, &o->mapping) !=
		    IPCZ_RESULT_OK ||
	    !address)
		return NULL;
	start = (uintptr_t)address;
	aligned = (start + PRIMARY_SLACK - 1) & ~(uintptr_t)(PRIMARY_SLACK - 1);
	return (unsigned char *)aligned;
}

bool node_link_memory_prepare_growth(struct node_link_memory *m,
				     IpczDriverHandle transport,
				     struct message_builder *b,
				     struct node_link_growth *g)
{
	IpczDriverHandle memory = IPCZ_INVALID_DRIVER_HANDLE;
	uint32_t block_size;
	size_t size;

	if (!node_link_memory_take_growth(m, &block_size, &size))
		return false;
	if (m->driver->AllocateSharedMemory(size, IPCZ_NO_FLAGS, NULL,
					    &memory) != IPCZ_RESULT_OK) {
		link_memory_growth_failed(&m->lm, block_size);
		return false;
	}
	return node_link_memory_build_growth(m, transport, b, g, block_size,
					     memory);
}

bool node_link_memory_take_growth(struct node_link_memory *m,
				  uint32_t *block_size, size_t *allocation)
{
	size_t size;

	if (!atomic_load(&m->open) ||
	    !link_memory_take_growth_request(&m->lm, block_size))
		return false;
	size = link_memory_block_buffer_size(*block_size);
	if (!size) {
		link_memory_growth_failed(&m->lm, *block_size);
		return false;
	}
	*allocation = size + PRIMARY_SLACK;
	return true;
}

void node_link_memory_abandon_growth(struct node_link_memory *m,
				     uint32_t block_size)
{
	link_memory_growth_failed(&m->lm, block_size);
}

bool node_link_memory_build_growth(struct node_link_memory *m,
				   IpczDriverHandle transport,
				   struct message_builder *b,
				   struct node_link_growth *g,
				   uint32_t block_size, IpczDriverHandle memory)
{
	struct msg_add_block_buffer message = {
		.header = { .type = MSG_ADD_BLOCK_BUFFER },
	};
	IpczDriverHandle shared = IPCZ_INVALID_DRIVER_HANDLE;

	memset(g, 0, sizeof(*g));
	g->objects.memory = memory;
	g->objects.mapping = IPCZ_INVALID_DRIVER_HANDLE;
	g->block_size = block_size;
	g->size = link_memory_block_buffer_size(block_size);
	g->base = map_block_buffer(m, &g->objects, g->size);
	if (!g->base ||
	    link_memory_format_block_buffer(g->base, g->size,
					    g->block_size) ||
	    m->driver->DuplicateSharedMemory(g->objects.memory,
					     IPCZ_NO_FLAGS, NULL,
					     &shared) != IPCZ_RESULT_OK)
		goto fail;
	g->id = link_memory_new_buffer_id(&m->lm);
	message.buffer_id = g->id;
	message.block_size = g->block_size;
	message_builder_append(b, &message, sizeof(message));
	if (!node_link_memory_serialize(m->driver, shared, transport, b) ||
	    b->failed)
		goto fail;
	return true;
fail:
	close_buffer_objects(m, &g->objects);
	link_memory_growth_failed(&m->lm, g->block_size);
	return false;
}

void node_link_memory_finish_growth(struct node_link_memory *m,
				    struct node_link_growth *g, bool sent)
{
	/*
	 * A registered buffer stays, sent or not: a failed send drops the
	 * link anyway. Otherwise its objects are closed (unless kept for
	 * release) and its class may ask for growth again.
	 */
	if (g->registered)
		return;
	close_buffer_objects(m, &g->objects);
	link_memory_growth_failed(&m->lm, g->block_size);
}

/*
 * Registers growth `g` as our own buffer. Under send_lock. Its driver
 * objects, once kept, are released with the link's memory, registered
 * or not.
 */
static bool register_growth(struct node_link_memory *m,
			    struct node_link_growth *g)
{
	if (!keep_buffer_objects(m, g->objects))
		return false;
	g->objects.memory = IPCZ_INVALID_DRIVER_HANDLE;
	g->objects.mapping = IPCZ_INVALID_DRIVER_HANDLE;
	g->registered = !link_memory_add_block_buffer(&m->lm, g->id, g->base,
						      g->size, g->block_size,
						      LINK_MEMORY_LOCAL);
	return g->registered;
}

IpczResult node_link_memory_accept_block_buffer(struct node_link_memory *m,
						const void *data,
						size_t num_bytes,
						const IpczDriverHandle *handles,
						size_t num_handles,
						IpczDriverHandle transport,
						size_t *claimed)
{
	struct msg_add_block_buffer message;
	struct node_link_buffer_objects objects = {
		.memory = IPCZ_INVALID_DRIVER_HANDLE,
		.mapping = IPCZ_INVALID_DRIVER_HANDLE,
	};
	struct IpczSharedMemoryInfo info = { .size = sizeof(info) };
	unsigned char *base;
	size_t size;
	bool kept;

	*claimed = 0;
	if (!atomic_load(&m->open) ||
	    !node_message_check(data, num_bytes, sizeof(message)) ||
	    num_bytes - sizeof(message) > NODE_LINK_MEMORY_MAX_SERIALIZED ||
	    num_handles > NODE_LINK_MEMORY_MAX_HANDLES)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memcpy(&message, data, sizeof(message));
	size = link_memory_block_buffer_size(message.block_size);
	/* Everything that can be checked before mapping is checked. */
	if (!size || link_memory_check_block_buffer(&m->lm, message.buffer_id,
						    size, message.block_size,
						    LINK_MEMORY_FROM_PEER))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	objects.memory = node_link_memory_deserialize(
		m->driver, (const unsigned char *)data + sizeof(message),
		num_bytes - sizeof(message), handles, num_handles, transport);
	if (objects.memory == IPCZ_INVALID_DRIVER_HANDLE)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	*claimed = num_handles;
	if (m->driver->GetSharedMemoryInfo(objects.memory, IPCZ_NO_FLAGS,
					   NULL, &info) != IPCZ_RESULT_OK ||
	    info.region_num_bytes > LINK_MEMORY_MAX_BUFFER_SIZE + PRIMARY_SLACK)
		goto fail;
	base = map_block_buffer(m, &objects, size);
	if (!base)
		goto fail;
	ipcz_lock(&m->send_lock);
	kept = keep_buffer_objects(m, objects);
	ipcz_unlock(&m->send_lock);
	if (!kept)
		goto fail;
	if (link_memory_add_block_buffer(&m->lm, message.buffer_id, base, size,
					 message.block_size,
					 LINK_MEMORY_FROM_PEER))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	return IPCZ_RESULT_OK;
fail:
	close_buffer_objects(m, &objects);
	return IPCZ_RESULT_INVALID_ARGUMENT;
}

size_t node_link_memory_pool_bytes(struct node_link_memory *m)
{
	size_t bytes = 0;
	uint32_t i, count;

	if (!atomic_load(&m->open))
		return 0;
	count = link_memory_buffer_count(&m->lm);
	for (i = 0; i < count; i++)
		bytes += link_memory_buffer_at(&m->lm, i)->size;
	return bytes;
}

/* ---- sending ---- */

static void set_seq(void *bytes, uint64_t seq)
{
	memcpy((unsigned char *)bytes + offsetof(struct msg_header, seq), &seq,
	       sizeof(seq));
}

/* What sending one message did, for the steps after send_lock. */
struct sent {
	enum node_link_memory_path path;
	enum message_ring_signal signal;	/* claimed by a ring write */
	uint64_t written;	/* the ring's end after the write */
};

/* Numbers and places one message. Under send_lock. */
static struct sent send_locked(struct node_link_memory *m, void *bytes,
			       size_t num_bytes, size_t num_handles)
{
	struct message_ring *ring = link_memory_outgoing_ring(&m->lm);
	struct sent s = { .path = NLM_PATH_DRIVER };
	struct msg_header header;
	uint64_t seq;
	int r;

	/*
	 * The handshake always takes the driver: the peer opens its end of
	 * the pool only when it receives ours.
	 */
	memcpy(&header, bytes, sizeof(header));
	seq = m->next_send_seq++;
	set_seq(bytes, seq);
	if (!atomic_load_explicit(&m->open, memory_order_relaxed) ||
	    header.type == MSG_CONNECT || num_handles ||
	    num_bytes > message_ring_max_payload(ring))
		return s;
	/*
	 * A full ring while streaming: the consumer is draining it (or was
	 * signalled and is waking up). Waiting a little for room costs far
	 * less than sending through the driver, which the receiver must
	 * also read with system calls; after NODE_LINK_MEMORY_FULL_WAIT_NS
	 * the message takes the driver after all.
	 */
	r = message_ring_write_waiting(ring, seq, bytes, (uint32_t)num_bytes,
				       NODE_LINK_MEMORY_FULL_WAIT_NS);
	if (r == -EAGAIN)
		return s;
	if (r) {
		s.path = NLM_PATH_BROKEN;
		return s;
	}
	s.path = NLM_PATH_RING;
	s.signal = message_ring_claim_signal(ring);
	s.written = message_ring_written(ring);
	return s;
}

static void count_path(struct node_link_memory *m,
		       enum node_link_memory_path path)
{
	if (path == NLM_PATH_DRIVER)
		atomic_fetch_add_explicit(&m->sent_driver, 1,
					  memory_order_relaxed);
	else if (path == NLM_PATH_RING || path == NLM_PATH_RING_SIGNAL)
		atomic_fetch_add_explicit(&m->sent_ring, 1,
					  memory_order_relaxed);
	if (path == NLM_PATH_RING_SIGNAL)
		atomic_fetch_add_explicit(&m->doorbells, 1,
					  memory_order_relaxed);
}

/*
 * The peer's application thread went back to its work after its wait
 * (AWAY), or said it sleeps on the ring but the futex wake found nobody
 * (it is about to sleep, or left): most likely it was preempted by our
 * own wakeup of it. Let it run first (on a shared CPU it then finds the
 * message itself on its way to its next wait, with no driver message and
 * no driver thread woken); ring the driver's doorbell only if the message
 * is still there afterwards.
 */
static bool consumer_took_it(struct message_ring *ring, uint64_t written)
{
	sched_yield();
	return message_ring_consumed(ring, written);
}

/* Whether the peer must still be signalled through the driver. */
static bool needs_doorbell(struct node_link_memory *m, const struct sent *s)
{
	struct message_ring *ring = link_memory_outgoing_ring(&m->lm);

	switch (s->signal) {
	case MESSAGE_RING_SIGNAL_DRIVER:
		return true;
	case MESSAGE_RING_SIGNAL_FUTEX:
		if (futex_wake_shared(message_ring_state_word(ring), 1) > 0) {
			atomic_fetch_add_explicit(&m->futex_wakes, 1,
						  memory_order_relaxed);
			return false;
		}
		return !consumer_took_it(ring, s->written);
	case MESSAGE_RING_SIGNAL_AWAY:
		return !consumer_took_it(ring, s->written);
	default:
		return false;
	}
}

/*
 * After send_lock: wakes the peer's application thread if it sleeps on
 * the ring (node_link_memory_wait() over there), the system call being
 * the slow part, and counts the send. The ring lives as long as `m`.
 */
static enum node_link_memory_path finish_send(struct node_link_memory *m,
					      const struct sent *s)
{
	enum node_link_memory_path path = s->path;

	if (path == NLM_PATH_RING && needs_doorbell(m, s))
		path = NLM_PATH_RING_SIGNAL;
	count_path(m, path);
	return path;
}

enum node_link_memory_path node_link_memory_send(struct node_link_memory *m,
						 void *bytes, size_t num_bytes,
						 size_t num_handles)
{
	struct sent s;

	ipcz_lock(&m->send_lock);
	s = send_locked(m, bytes, num_bytes, num_handles);
	ipcz_unlock(&m->send_lock);
	return finish_send(m, &s);
}

enum node_link_memory_path
node_link_memory_send_growth(struct node_link_memory *m, void *bytes,
			     size_t num_bytes, size_t num_handles,
			     struct node_link_growth *g)
{
	struct sent s = { .path = NLM_PATH_REFUSED };

	ipcz_lock(&m->send_lock);
	if (register_growth(m, g))
		s = send_locked(m, bytes, num_bytes, num_handles);
	ipcz_unlock(&m->send_lock);
	return finish_send(m, &s);
}

/* ---- receiving ---- */

/*
 * Messages this thread is delivering (nested when a trap handler it runs
 * delivers more). A thread that is delivering must not wait for more:
 * it is the one that would deliver them.
 */
static _Thread_local unsigned int delivering;

bool node_link_memory_delivering_here(void)
{
	return delivering != 0;
}

static IpczResult deliver(node_link_memory_dispatch_fn dispatch,
			  void *context, const void *data, size_t num_bytes,
			  const IpczDriverHandle *handles, size_t num_handles,
			  size_t *claimed)
{
	IpczResult result;

	delivering++;
	result = dispatch(context, data, num_bytes, handles, num_handles,
			  claimed);
	delivering--;
	return result;
}

/* Parks a driver message ahead of its turn. Under receive_lock. */
static bool park(struct node_link_memory *m, uint64_t seq, const void *data,
		 size_t num_bytes, const IpczDriverHandle *handles,
		 size_t num_handles)
{
	struct parked_message **at = &m->parked, *p;

	if (m->num_parked >= NODE_LINK_MEMORY_MAX_PARKED)
		return false;
	while (*at && (*at)->seq < seq)
		at = &(*at)->next;
	if (*at && (*at)->seq == seq)
		return false;	/* a number used twice */
	p = malloc(sizeof(*p) + num_bytes);
	if (!p)
		return false;
	p->handles = NULL;
	if (num_handles) {
		p->handles = malloc(num_handles * sizeof(*handles));
		if (!p->handles) {
			free(p);
			return false;
		}
		memcpy(p->handles, handles, num_handles * sizeof(*handles));
	}
	memcpy(p->bytes, data, num_bytes);
	p->seq = seq;
	p->num_bytes = num_bytes;
	p->num_handles = num_handles;
	p->next = *at;
	*at = p;
	m->num_parked++;
	return true;
}

/*
 * Whether the drainer, out of messages, leaves the ring to be signalled
 * with a futex wake: when it sleeps on the ring itself, and on the
 * driver's thread too once an application thread has waited on this link
 * (that thread may be asleep on the ring, or about to wait again: the
 * driver's thread, draining a doorbell meanwhile, must not take the next
 * wakeup away from it; if nobody sleeps there, the producer's wake finds
 * nobody and it rings the doorbell after all).
 */
static bool sleep_on_ring_word(struct node_link_memory *m)
{
	return (m->futex_drainer ||
		atomic_load_explicit(&m->app_waits, memory_order_relaxed)) &&
	       !atomic_load_explicit(&m->no_futex, memory_order_relaxed);
}

/*
 * Whether the drainer spins on an empty ring before it gives up: not for
 * a glance, nor for a waiting application thread whose wait is over (its
 * message was just delivered: spinning for the next would only delay
 * the answer it is about to send).
 */
static bool may_spin(struct node_link_memory *m)
{
	if (m->futex_drainer && !m->wait_word)
		return false;	/* a glance */
	return !m->wait_word || atomic_load(m->wait_word) == m->wait_seen;
}

/*
 * Announces how the drainer leaves an empty ring: asleep in the driver,
 * asleep on the ring, or (a waiting application thread whose wait is over,
 * or a glance) away. False if data came meanwhile.
 */
static bool prepare_sleep(struct node_link_memory *m,
			  struct message_ring *ring)
{
	if (m->futex_drainer && !may_spin(m))
		return message_ring_prepare_away(ring);
	if (sleep_on_ring_word(m))
		return message_ring_prepare_futex_sleep(ring);
	return message_ring_prepare_sleep(ring);
}

/*
 * Takes the next ring message if it is the next one due. Returns 1 (one
 * delivered through the buffer: *len set), 0 (nothing due now: the ring
 * is empty and the consumer may sleep, or a driver message is missing)
 * or -EPROTO. Drainer only.
 */
static int take_ring_message(struct node_link_memory *m, uint32_t *len)
{
	struct message_ring *ring = link_memory_incoming_ring(&m->lm);
	struct spin_policy *policy =
		m->futex_drainer ? &m->wait_spin : &m->spin;
	struct message_ring_msg msg;
	struct msg_header header;
	uint64_t spun = 0;
	int r;

	for (;;) {
		r = message_ring_peek(ring, &msg, m->ring_buffer,
				      m->ring_buffer_size);
		if (r == 0)
			break;
		if (r != -EAGAIN)
			return -EPROTO;
		if (may_spin(m) && message_ring_spin(ring, policy, &spun))
			continue;
		if (!prepare_sleep(m, ring))
			continue;
		if (m->futex_drainer && !m->wait_word)
			return 0;	/* a glance: no sleep to time */
		m->last_spin_ns = spun;
		m->sleeping_policy = policy;
		m->sleep_started_ns = monotonic_ns();
		return 0;
	}
	if (msg.seq > m->next_receive_seq)
		return 0;	/* a driver message comes first */
	if (msg.seq < m->next_receive_seq || msg.len < sizeof(header))
		return -EPROTO;
	memcpy(&header, m->ring_buffer, sizeof(header));
	if (header.seq != msg.seq || message_ring_consume(ring))
		return -EPROTO;
	*len = msg.len;
	return 1;
}

/*
 * Delivers everything that is due. Called and returns with receive_lock
 * held, as the drainer; gives the role up before returning.
 */
static IpczResult drain(struct node_link_memory *m,
			node_link_memory_dispatch_fn dispatch, void *context)
{
	IpczResult result = IPCZ_RESULT_OK;
	size_t claimed;
	uint32_t len;
	int r = 0;

	while (!m->broken) {
		struct parked_message *p = m->parked;

		if (p && p->seq == m->next_receive_seq) {
			m->parked = p->next;
			m->num_parked--;
			ipcz_unlock(&m->receive_lock);
			claimed = 0;
			result = deliver(dispatch, context, p->bytes,
					 p->num_bytes,
					  p->handles, p->num_handles,
					  &claimed);
			free_parked(m->driver, p,
				    result == IPCZ_RESULT_OK ? p->num_handles :
							       claimed);
			ipcz_lock(&m->receive_lock);
			if (result != IPCZ_RESULT_OK)
				break;
			m->next_receive_seq++;
			continue;
		}
		if (!atomic_load(&m->open))
			break;
		ipcz_unlock(&m->receive_lock);
		r = take_ring_message(m, &len);
		if (r == 1)
			result = deliver(dispatch, context, m->ring_buffer,
					 len, NULL, 0,
					  &claimed);
		else if (r < 0)
			result = IPCZ_RESULT_INVALID_ARGUMENT;
		ipcz_lock(&m->receive_lock);
		if (result != IPCZ_RESULT_OK)
			break;
		if (r == 1) {
			m->next_receive_seq++;
			continue;
		}
		/*
		 * Nothing due. A message parked or a doorbell that came while
		 * we looked: look again, after waking up.
		 */
		if (m->parked && m->parked->seq == m->next_receive_seq)
			continue;
		if (m->rerun) {
			m->rerun = false;
			message_ring_wake(link_memory_incoming_ring(&m->lm));
			continue;
		}
		break;
	}
	if (result != IPCZ_RESULT_OK || m->broken) {
		m->broken = true;
		result = IPCZ_RESULT_INVALID_ARGUMENT;
	}
	m->draining = false;
	m->futex_drainer = false;
	m->wait_word = NULL;
	return result;
}

/*
 * Takes the drainer role after a sleep (under receive_lock): marks the
 * consumer awake and tells the spin policy how long the sleep lasted.
 * `futex_drainer`: an application thread that will sleep on the ring.
 * `glance`: a look without spinning, which no sleep follows (it must not
 * count as one, or the quick look would shrink the spin budget).
 */
static void begin_drain(struct node_link_memory *m, bool futex_drainer,
			bool glance)
{
	m->draining = true;
	m->futex_drainer = futex_drainer;
	message_ring_wake(link_memory_incoming_ring(&m->lm));
	if (m->sleep_started_ns && !glance) {
		spin_policy_update(m->sleeping_policy, false, m->last_spin_ns,
				   monotonic_ns() - m->sleep_started_ns);
		m->sleep_started_ns = 0;
	}
}

static IpczResult receive_doorbell(struct node_link_memory *m,
				   node_link_memory_dispatch_fn dispatch,
				   void *context)
{
	IpczResult result;

	ipcz_lock(&m->receive_lock);
	if (m->broken || !atomic_load(&m->open)) {
		/* A doorbell on a link without a ring is a bad peer. */
		m->broken = true;
		ipcz_unlock(&m->receive_lock);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	if (m->draining) {
		/* The drainer looks again before it gives up its role. */
		m->rerun = true;
		ipcz_unlock(&m->receive_lock);
		return IPCZ_RESULT_OK;
	}
	if (m->lends == m->lends_at_doorbell)
		atomic_store_explicit(&m->app_waits, false,
				      memory_order_relaxed);
	m->lends_at_doorbell = m->lends;
	begin_drain(m, false, false);
	result = drain(m, dispatch, context);
	ipcz_unlock(&m->receive_lock);
	return result;
}

IpczResult node_link_memory_receive(struct node_link_memory *m,
				    const void *data, size_t num_bytes,
				    const IpczDriverHandle *handles,
				    size_t num_handles, size_t *claimed,
				    node_link_memory_dispatch_fn dispatch,
				    void *context)
{
	struct msg_header header;
	IpczResult result;

	*claimed = 0;
	if (!num_bytes && !num_handles)
		return receive_doorbell(m, dispatch, context);
	if (!node_message_check(data, num_bytes, sizeof(header)))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memcpy(&header, data, sizeof(header));
	ipcz_lock(&m->receive_lock);
	if (m->broken || header.seq < m->next_receive_seq ||
	    header.seq - m->next_receive_seq > NODE_LINK_MEMORY_MAX_AHEAD) {
		m->broken = true;
		ipcz_unlock(&m->receive_lock);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	if (!m->draining && header.seq == m->next_receive_seq) {
		/* Its turn: delivered without a copy. */
		m->draining = true;
		ipcz_unlock(&m->receive_lock);
		result = deliver(dispatch, context, data, num_bytes, handles,
				  num_handles, claimed);
		ipcz_lock(&m->receive_lock);
		if (result != IPCZ_RESULT_OK) {
			m->broken = true;
			m->draining = false;
			ipcz_unlock(&m->receive_lock);
			return result;
		}
		*claimed = num_handles;
		m->next_receive_seq++;
	} else {
		if (!park(m, header.seq, data, num_bytes, handles,
			  num_handles)) {
			m->broken = true;
			ipcz_unlock(&m->receive_lock);
			return IPCZ_RESULT_INVALID_ARGUMENT;
		}
		*claimed = num_handles;
		if (m->draining) {
			ipcz_unlock(&m->receive_lock);
			return IPCZ_RESULT_OK;
		}
		m->draining = true;
	}
	result = drain(m, dispatch, context);
	ipcz_unlock(&m->receive_lock);
	return result;
}

/* ---- an application thread as the drainer ---- */

/*
 * Takes receive_lock if an application thread may drain now, trying up to
 * `tries` times. Another drainer (the driver's thread, on a doorbell) is
 * usually done soon: a waiter lets it run a few times, since one that
 * gives up here sleeps only on its trap, and every message then goes
 * through the driver's thread. A glance tries once: whoever drains will
 * see what it would have.
 */
static bool take_drainer_role(struct node_link_memory *m, int tries)
{
	while (tries-- > 0) {
		bool usable, busy;

		ipcz_lock(&m->receive_lock);
		usable = !m->broken && atomic_load(&m->open) &&
			 !atomic_load_explicit(&m->no_futex,
					       memory_order_relaxed);
		busy = m->draining;
		if (usable && !busy)
			return true;
		ipcz_unlock(&m->receive_lock);
		if (!usable || !tries)
			return false;
		sched_yield();
	}
	return false;
}

static void sleep_on_ring(struct node_link_memory *m, _Atomic uint32_t *word,
			  uint32_t seen, uint64_t deadline_ns)
{
	_Atomic uint32_t *state =
		message_ring_state_word(link_memory_incoming_ring(&m->lm));
	int r;

	r = futex_wait_two(state, MESSAGE_RING_ASLEEP_FUTEX, word, seen,
			   deadline_ns);
	if (r == -EFAULT || r == -ENOSYS || r == -EINVAL || r == -EPERM) {
		/*
		 * The kernel cannot key a futex on this pool's memory (or is
		 * too old): this link's waits go through the driver's thread
		 * from now on. The ring may still say we sleep on it: the
		 * producer's futex wake fails, and it signals the driver.
		 */
		atomic_store(&m->no_futex, true);
	}
}

/*
 * Drains as a lent application thread, waiting for `*word` to differ from
 * `seen` (NULL: a glance). Returns whether this thread was the drainer
 * (then *result is the drain's, *state the ring's state at its end).
 */
static bool lend_thread(struct node_link_memory *m,
			node_link_memory_dispatch_fn dispatch, void *context,
			_Atomic uint32_t *word, uint32_t seen,
			IpczResult *result, uint32_t *state)
{
	if (!take_drainer_role(m, word ? NODE_LINK_MEMORY_WAIT_TRIES : 1))
		return false;
	atomic_store_explicit(&m->app_waits, true, memory_order_relaxed);
	m->lends++;
	begin_drain(m, true, !word);
	m->wait_word = word;
	m->wait_seen = seen;
	*result = drain(m, dispatch, context);
	*state = atomic_load(message_ring_state_word(
		link_memory_incoming_ring(&m->lm)));
	ipcz_unlock(&m->receive_lock);
	return true;
}

IpczResult node_link_memory_drain_now(struct node_link_memory *m,
				      node_link_memory_dispatch_fn dispatch,
				      void *context)
{
	IpczResult result = IPCZ_RESULT_OK;
	uint32_t state;

	lend_thread(m, dispatch, context, NULL, 0, &result, &state);
	return result;
}

IpczResult node_link_memory_wait(struct node_link_memory *m,
				 _Atomic uint32_t *word, uint32_t seen,
				 uint64_t deadline_ns,
				 node_link_memory_dispatch_fn dispatch,
				 void *context)
{
	IpczResult result;
	uint32_t state;

	if (!lend_thread(m, dispatch, context, word, seen, &result, &state)) {
		futex_wait_private(word, seen, deadline_ns);
		return IPCZ_RESULT_OK;
	}
	if (result != IPCZ_RESULT_OK || atomic_load(word) != seen)
		return result;
	/*
	 * Not asleep on the ring: the drain stopped for a driver message
	 * still on its way, which the driver's thread will deliver (and
	 * drain after). Our trap tells us when it concerns us.
	 */
	if (state != MESSAGE_RING_ASLEEP_FUTEX) {
		futex_wait_private(word, seen, deadline_ns);
		return IPCZ_RESULT_OK;
	}
	sleep_on_ring(m, word, seen, deadline_ns);
	/*
	 * A producer's wake of the ring may have woken this thread (it
	 * counted as the one signal of that sleep) just as the trap fired
	 * or the deadline passed, and the caller is about to leave: deliver
	 * what is there now, or that message would wait for the next one.
	 */
	return node_link_memory_drain_now(m, dispatch, context);
}
