/* SPDX-License-Identifier: MIT */
/*
 * Fragments: spans of a NodeLink's shared buffers, named in messages by a
 * descriptor {buffer id, offset, size}.
 *
 * A descriptor from a message is untrusted. fragment_resolve() refuses
 * every descriptor that does not name a span inside a registered buffer
 * (unknown buffer, zero size, misaligned offset, span past the end,
 * arithmetic overflow); fragment_free() in addition refuses anything that
 * is not exactly one allocated block of the right size class.
 *
 * Two kinds of fragment carry a small header in their first 8 bytes:
 *
 * - ref-counted fragments (an i32 count at offset 0, payload at 8) are
 *   shared by both sides, e.g. RouterLinkStates beyond the initial ones;
 *   the last release frees the block. A count that is not positive when we
 *   touch it is reported as -EPROTO.
 * - data fragments (a u32 committed length at offset 0, data at 8) hold
 *   parcel data: the writer fills the data, then commits the length with a
 *   release store; the reader loads it with acquire and checks it against
 *   the fragment's size before touching the data.
 */
#ifndef IPCZ_LIB_FRAGMENT_H
#define IPCZ_LIB_FRAGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct link_memory;

#define FRAGMENT_INVALID_BUFFER UINT64_MAX
#define FRAGMENT_HEADER_SIZE 8u
#define FRAGMENT_ALIGN 8u

/* Wire format of a descriptor (16 bytes, host byte order). */
struct fragment_desc {
	uint64_t buffer_id;
	uint32_t offset;
	uint32_t size;
};

_Static_assert(sizeof(struct fragment_desc) == 16, "descriptor is 16 bytes");

/* A resolved fragment: its descriptor and its address in this process. */
struct fragment {
	struct fragment_desc desc;
	unsigned char *data;
};

/* The descriptor that names no fragment (all-ones buffer, zero span). */
static inline struct fragment_desc fragment_desc_null(void)
{
	struct fragment_desc desc = { FRAGMENT_INVALID_BUFFER, 0, 0 };

	return desc;
}

static inline bool fragment_desc_is_null(const struct fragment_desc *desc)
{
	return desc->buffer_id == FRAGMENT_INVALID_BUFFER &&
	       desc->offset == 0 && desc->size == 0;
}

/*
 * Validates @desc against @lm's buffers and resolves it. The descriptor is
 * copied first, so it may live in shared memory. Returns 0; -ENOENT when
 * the buffer is not (yet) registered; -EINVAL for any other defect.
 */
int fragment_resolve(struct link_memory *lm, const struct fragment_desc *desc,
		     struct fragment *out);

/* Allocates a block for @size bytes. 0, -EINVAL, -ENOMEM, -EPROTO, -EBUSY. */
int fragment_alloc(struct link_memory *lm, uint32_t size, struct fragment *out);

/*
 * Frees the block named by @desc (typically received from the peer, which
 * passes ownership). Returns 0 or -EINVAL if @desc is not an allocated
 * block's start with a size of its class.
 */
int fragment_free(struct link_memory *lm, const struct fragment_desc *desc);

/* Ref-counted fragments: @payload bytes after the header, count 1. */
int ref_fragment_alloc(struct link_memory *lm, uint32_t payload,
		       struct fragment *out);
/* Takes one more reference. 0, -EINVAL (too small) or -EPROTO. */
int ref_fragment_acquire(struct fragment *frag);
/*
 * Drops one reference, freeing the block when it was the last one.
 * Returns 1 if freed, 0 if still referenced, or -EINVAL / -EPROTO.
 */
int ref_fragment_release(struct link_memory *lm, struct fragment *frag);
/* Payload address of a ref-counted or data fragment. */
static inline void *fragment_payload(const struct fragment *frag)
{
	return frag->data + FRAGMENT_HEADER_SIZE;
}

/*
 * Data fragments: room for @capacity bytes of parcel data. Returns 0,
 * -EINVAL, -ENOMEM, -EPROTO or -EBUSY, as fragment_alloc().
 *
 * When the block class is exhausted and cannot grow (its limit is reached,
 * or the pool has fixed capacity), the caller is streaming faster than the
 * peer frees blocks: this yields the CPU and retries for up to
 * FRAGMENT_DATA_WAIT_NS before it returns -ENOMEM, since the peer frees
 * each block as soon as it has read it, and the alternative (the data
 * through the driver) costs both sides far more. A wait that ran out
 * disables waiting for that class until an allocation of it succeeds
 * again, so a peer that stopped reading costs one wait, not one per
 * parcel. A class that may still grow, or that has no blocks at all (a
 * fixed-capacity pool's larger classes), returns -ENOMEM at once.
 */
#define FRAGMENT_DATA_WAIT_NS 1000000u
int data_fragment_alloc(struct link_memory *lm, uint32_t capacity,
			struct fragment *out);
/* Publishes @len bytes as written. 0 or -EINVAL if @len does not fit. */
int data_fragment_commit(struct fragment *frag, uint32_t len);
/*
 * Reads the committed length (once), validates it against the fragment's
 * size and returns the data's address and length. 0 or -EPROTO.
 */
int data_fragment_adopt(const struct fragment *frag, const void **data,
			uint32_t *len);

#endif /* IPCZ_LIB_FRAGMENT_H */
