// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the shared-memory layer of a NodeLink.
 *
 * The input is a program for a hostile peer and for the local side,
 * interleaved: the peer pokes arbitrary bytes anywhere in the primary
 * buffer or in a growth buffer (ring positions and records, free-list
 * heads and links, link states, ref counts, data lengths) and sends
 * arbitrary descriptors and AddBlockBuffer parameters; the local side
 * allocates, frees, resolves, reads the ring, writes the ring and takes
 * link-state locks, as the routing layer will. An honest peer (a second
 * link_memory, side B, over the same memory) also writes and reads ring
 * messages and allocates and frees fragments, so that inputs reach valid
 * deep states before the hostile peer corrupts them. Any out-of-bounds
 * access is caught by AddressSanitizer; a hang by libFuzzer's timeout. On
 * top, every fragment handed out must lie inside a registered buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/link_memory.h"

#define GROWTH_SIZE (128u * 1024)
#define MAX_HELD 64

struct input {
	const uint8_t *data;
	size_t size;
};

static uint8_t take_u8(struct input *in)
{
	uint8_t v = 0;

	if (in->size) {
		v = *in->data++;
		in->size--;
	}
	return v;
}

static uint32_t take_u32(struct input *in)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v = v << 8 | take_u8(in);
	return v;
}

static uint64_t take_u64(struct input *in)
{
	return (uint64_t)take_u32(in) << 32 | take_u32(in);
}

static struct fragment_desc take_desc(struct input *in)
{
	struct fragment_desc d;
	uint8_t shape = take_u8(in);

	/* Mostly plausible ids and sizes, so that deeper checks run too. */
	d.buffer_id = shape & 1 ? take_u64(in) : take_u8(in) % 3;
	if (d.buffer_id == 1)
		d.buffer_id = LINK_MEMORY_SIDE_B_ID_BIT | 1;
	d.offset = shape & 2 ? take_u32(in) : take_u32(in) % (256u << 10);
	d.size = shape & 4 ? take_u32(in) : take_u32(in) % 8192;
	return d;
}

struct world {
	unsigned char *primary;
	unsigned char *growth;
	struct link_memory *lm;
	/* An honest peer over the same memory, to reach deep states. */
	struct link_memory *peer;
	struct fragment held[MAX_HELD];
	int nr_held;
	uint64_t seq, peer_seq;
};

/* Every byte of a fragment we were given must be ours to touch. */
static void check_inside(struct world *w, const struct fragment *f)
{
	struct link_memory_buffer b;

	if (link_memory_find_buffer(w->lm, f->desc.buffer_id, &b))
		abort();
	if (f->data < b.base || f->data + f->desc.size > b.base + b.size)
		abort();
	memset(f->data, 0xee, f->desc.size);
}

static void poke(struct input *in, unsigned char *base, size_t size)
{
	uint32_t off = take_u32(in) % size;
	uint8_t len = take_u8(in) % 17;

	while (len-- && off < size)
		base[off++] = take_u8(in);
}

/* Ring operations by us or, with bit 2 of @op, by the honest peer. */
static void ring_ops(struct world *w, struct input *in, uint8_t op)
{
	bool by_peer = op & 4;
	struct link_memory *lm = by_peer ? w->peer : w->lm;
	struct message_ring *incoming = link_memory_incoming_ring(lm);
	struct message_ring *outgoing = link_memory_outgoing_ring(lm);
	uint64_t *seq = by_peer ? &w->peer_seq : &w->seq;
	static unsigned char buf[8192];
	struct message_ring_msg msg;
	uint32_t len, room;

	switch (op % 4) {
	case 0:
		room = take_u8(in) * 32u;
		if (message_ring_read(incoming, &msg, buf, room) == 0 &&
		    msg.len > room)
			abort();
		break;
	case 1:
		len = take_u32(in) % 5000;
		if (len > 64 && (take_u8(in) & 1))
			len %= 64;
		memset(buf, 0x33, len);
		*seq += 1 + take_u8(in) % 4;
		message_ring_write(outgoing, *seq, buf, len);
		break;
	case 2:
		if (message_ring_prepare_sleep(incoming) && (take_u8(in) & 1))
			message_ring_wake(incoming);
		break;
	default:
		message_ring_should_signal(outgoing);
		break;
	}
}

/* The peer allocates and fills a data fragment; we adopt and free it. */
static void receive_parcel(struct world *w, struct input *in)
{
	struct fragment mine, theirs;
	uint32_t size = take_u32(in) % 70000, len;
	const void *data;

	if (data_fragment_alloc(w->peer, size, &theirs))
		return;
	data_fragment_commit(&theirs, size ? take_u32(in) % size : 0);
	if (take_u8(in) & 1)
		poke(in, w->primary, LINK_MEMORY_PRIMARY_SIZE);
	if (fragment_resolve(w->lm, &theirs.desc, &mine))
		return;
	if (data_fragment_adopt(&mine, &data, &len) == 0) {
		if ((const unsigned char *)data + len >
		    mine.data + mine.desc.size)
			abort();
		memset((void *)data, 0x11, len);
	}
	fragment_free(w->lm, &mine.desc);
}

static void fragment_ops(struct world *w, struct input *in, uint8_t op)
{
	struct fragment_desc d;
	struct fragment f;
	const void *data;
	uint32_t len;
	int i;

	switch (op % 8) {
	case 0:
		d = take_desc(in);
		if (fragment_resolve(w->lm, &d, &f) == 0)
			check_inside(w, &f);
		break;
	case 6:
		receive_parcel(w, in);
		break;
	case 7:
		/* Ours, freed by the peer. */
		if (fragment_alloc(w->lm, 1 + take_u32(in) % 5000, &f) == 0)
			fragment_free(w->peer, &f.desc);
		break;
	case 1:
		d = take_desc(in);
		fragment_free(w->lm, &d);
		break;
	case 2:
		if (w->nr_held == MAX_HELD)
			break;
		if (fragment_alloc(w->lm, take_u32(in) % (1u << 21), &f) == 0) {
			check_inside(w, &f);
			w->held[w->nr_held++] = f;
		}
		break;
	case 3:
		if (!w->nr_held)
			break;
		i = take_u8(in) % w->nr_held;
		fragment_free(w->lm, &w->held[i].desc);
		w->held[i] = w->held[--w->nr_held];
		break;
	case 4:
		d = take_desc(in);
		if (fragment_resolve(w->lm, &d, &f))
			break;
		if (take_u8(in) & 1) {
			if (data_fragment_adopt(&f, &data, &len) == 0 &&
			    (const unsigned char *)data + len >
				    f.data + f.desc.size)
				abort();
		} else if (take_u8(in) & 1) {
			ref_fragment_acquire(&f);
		} else {
			ref_fragment_release(w->lm, &f);
		}
		break;
	default:
		if (ref_fragment_alloc(w->lm, take_u8(in), &f) == 0)
			ref_fragment_release(w->lm, &f);
		break;
	}
}

static void link_state_ops(struct world *w, struct input *in, uint8_t op)
{
	enum node_link_side side = take_u8(in) & 1 ? NODE_LINK_SIDE_B :
						     NODE_LINK_SIDE_A;
	struct shm_link_state *s = NULL;
	struct fragment_desc d;
	uint64_t name[2];
	bool flush;

	if (op & 1) {
		s = link_memory_initial_link_state(w->lm, take_u8(in) % 16);
	} else {
		d = take_desc(in);
		if (link_memory_resolve_link_state(w->lm, &d, &s))
			s = NULL;
	}
	if (!s)
		return;
	switch (take_u8(in) % 5) {
	case 0:
		shm_link_state_set_stable(s, side, &flush);
		break;
	case 1:
		shm_link_state_try_lock(s, side);
		break;
	case 2:
		shm_link_state_unlock(s, side);
		break;
	case 3:
		name[0] = take_u64(in);
		name[1] = take_u64(in);
		shm_link_state_set_allowed_source(s, name);
		break;
	default:
		name[0] = take_u64(in);
		name[1] = take_u64(in);
		shm_link_state_is_allowed_source(s, name);
		break;
	}
}

static void memory_ops(struct world *w, struct input *in, uint8_t op)
{
	uint32_t block_size;
	uint64_t first;

	switch (op % 3) {
	case 0: {
		/* AddBlockBuffer from the peer with its parameters. */
		uint64_t id = take_u8(in) & 1 ?
				      take_u64(in) :
				      (LINK_MEMORY_SIDE_B_ID_BIT | take_u8(in));
		size_t size = take_u32(in) % (GROWTH_SIZE + 1);

		block_size = take_u8(in) & 1 ? take_u32(in) :
					       64u << (take_u8(in) % 16);
		link_memory_add_block_buffer(w->lm, id, w->growth, size,
					     block_size, LINK_MEMORY_FROM_PEER);
		break;
	}
	case 1:
		link_memory_alloc_sublinks(w->lm, take_u8(in), &first);
		break;
	default:
		if (link_memory_take_growth_request(w->lm, &block_size))
			link_memory_growth_failed(w->lm, block_size);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Allocated once: fresh mappings per input would dominate the run time. */
static unsigned char primary_mem[LINK_MEMORY_PRIMARY_SIZE]
	__attribute__((aligned(4096)));
static unsigned char growth_mem[GROWTH_SIZE] __attribute__((aligned(4096)));
static struct link_memory link_mem, peer_mem;
static struct world world;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct world *w = &world;
	int steps = 0;

	memset(w, 0, sizeof(*w));
	w->primary = primary_mem;
	w->growth = growth_mem;
	w->lm = &link_mem;
	w->peer = &peer_mem;
	memset(w->growth, 0, GROWTH_SIZE);
	if (link_memory_format_primary(w->primary, LINK_MEMORY_PRIMARY_SIZE) ||
	    link_memory_open(w->lm, NODE_LINK_SIDE_A, w->primary,
			     LINK_MEMORY_PRIMARY_SIZE, NULL) ||
	    link_memory_open(w->peer, NODE_LINK_SIDE_B, w->primary,
			     LINK_MEMORY_PRIMARY_SIZE, NULL))
		abort();
	while (in.size && steps++ < 4096) {
		uint8_t op = take_u8(&in);

		switch (op >> 5) {
		case 0:
		case 1:
			poke(&in, w->primary, LINK_MEMORY_PRIMARY_SIZE);
			break;
		case 2:
			poke(&in, w->growth, GROWTH_SIZE);
			break;
		case 3:
		case 4:
			ring_ops(w, &in, op);
			break;
		case 5:
			fragment_ops(w, &in, op);
			break;
		case 6:
			link_state_ops(w, &in, op);
			break;
		default:
			memory_ops(w, &in, op);
			break;
		}
	}
	link_memory_close(w->peer);
	link_memory_close(w->lm);
	return 0;
}
