// SPDX-License-Identifier: MIT
/*
 * Fragment descriptors, their validation, ref-counted and data fragments;
 * see fragment.h.
 */
#include "lib/fragment.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "lib/link_memory.h"
#include "lib/spin_wait.h"

/*
 * Copies a descriptor that may sit in memory the peer can write. The
 * volatile reads happen exactly once each: a plain memcpy to a local may
 * legally be turned back into reads of the source at each use, which
 * would let the peer change a field between its check and its use.
 */
static struct fragment_desc read_desc_once(const struct fragment_desc *desc)
{
	const volatile struct fragment_desc *v = desc;
	struct fragment_desc copy;

	copy.buffer_id = v->buffer_id;
	copy.offset = v->offset;
	copy.size = v->size;
	return copy;
}

int fragment_resolve(struct link_memory *lm, const struct fragment_desc *desc,
		     struct fragment *out)
{
	struct link_memory_buffer buffer;
	struct fragment_desc copy;
	int err;

	copy = read_desc_once(desc);
	if (copy.buffer_id == FRAGMENT_INVALID_BUFFER || copy.size == 0 ||
	    copy.offset % FRAGMENT_ALIGN)
		return -EINVAL;
	err = link_memory_find_buffer(lm, copy.buffer_id, &buffer);
	if (err)
		return err;
	/* Written so that nothing can overflow: offset <= size first. */
	if (copy.offset > buffer.size || copy.size > buffer.size - copy.offset)
		return -EINVAL;
	out->desc = copy;
	out->data = buffer.base + copy.offset;
	return 0;
}

int fragment_alloc(struct link_memory *lm, uint32_t size, struct fragment *out)
{
	struct buffer_pool_block block;
	int err;

	if (size == 0)
		return -EINVAL;
	err = buffer_pool_alloc(&lm->pool, size, &block);
	if (err)
		return err;
	out->desc.buffer_id = block.buffer_id;
	out->desc.offset = block.offset;
	out->desc.size = size;
	out->data = block.data;
	return 0;
}

int fragment_free(struct link_memory *lm, const struct fragment_desc *desc)
{
	struct fragment_desc copy;
	struct fragment frag;
	int err;

	copy = read_desc_once(desc);
	err = fragment_resolve(lm, &copy, &frag);
	if (err)
		return -EINVAL;
	return buffer_pool_free(&lm->pool, copy.buffer_id, copy.offset,
				copy.size);
}

static _Atomic int32_t *ref_count_of(const struct fragment *frag)
{
	return (_Atomic int32_t *)frag->data;
}

int ref_fragment_alloc(struct link_memory *lm, uint32_t payload,
		       struct fragment *out)
{
	int err;

	if (payload > UINT32_MAX - FRAGMENT_HEADER_SIZE)
		return -EINVAL;
	err = fragment_alloc(lm, payload + FRAGMENT_HEADER_SIZE, out);
	if (err)
		return err;
	/* Relaxed: the fragment reaches the peer through a message. */
	atomic_store_explicit(ref_count_of(out), 1, memory_order_relaxed);
	return 0;
}

int ref_fragment_acquire(struct fragment *frag)
{
	int32_t old;

	if (frag->desc.size < FRAGMENT_HEADER_SIZE)
		return -EINVAL;
	/*
	 * Relaxed, as for any reference count increment: the caller already
	 * holds a reference, which keeps the block alive.
	 */
	old = atomic_fetch_add_explicit(ref_count_of(frag), 1,
					memory_order_relaxed);
	if (old <= 0 || old == INT32_MAX)
		return -EPROTO;
	return 0;
}

int ref_fragment_release(struct link_memory *lm, struct fragment *frag)
{
	int32_t old;

	if (frag->desc.size < FRAGMENT_HEADER_SIZE)
		return -EINVAL;
	/*
	 * acq_rel: release so that our uses of the payload happen before the
	 * block is freed by whoever drops the last reference; acquire so that
	 * the one who frees sees everyone's uses complete.
	 */
	old = atomic_fetch_sub_explicit(ref_count_of(frag), 1,
					memory_order_acq_rel);
	if (old <= 0)
		return -EPROTO;
	if (old > 1)
		return 0;
	if (fragment_free(lm, &frag->desc))
		return -EINVAL;
	return 1;
}

static _Atomic uint32_t *committed_len_of(const struct fragment *frag)
{
	return (_Atomic uint32_t *)frag->data;
}

static int data_fragment_alloc_now(struct link_memory *lm, uint32_t capacity,
				   struct fragment *out)
{
	int err;

	if (capacity > UINT32_MAX - FRAGMENT_HEADER_SIZE)
		return -EINVAL;
	err = fragment_alloc(lm, capacity + FRAGMENT_HEADER_SIZE, out);
	if (err)
		return err;
	atomic_store_explicit(committed_len_of(out), 0, memory_order_relaxed);
	return 0;
}

/* Between two attempts of a wait for a data block, after a yield. */
#define FRAGMENT_DATA_SPIN_NS 10000u

/* One data_fragment_alloc_now() of a waiting allocation. */
struct pending_alloc {
	struct link_memory *lm;
	uint32_t capacity;
	struct fragment *out;
};

static int try_alloc(void *arg)
{
	struct pending_alloc *a = arg;

	return data_fragment_alloc_now(a->lm, a->capacity, a->out);
}

int data_fragment_alloc(struct link_memory *lm, uint32_t capacity,
			struct fragment *out)
{
	size_t size = (size_t)capacity + FRAGMENT_HEADER_SIZE;
	struct pending_alloc a = { lm, capacity, out };
	int err = try_alloc(&a);

	if (err != -ENOMEM || !buffer_pool_worth_waiting(&lm->pool, size))
		return err;
	/*
	 * On a shared CPU the yield is what lets the peer run and free; with
	 * the peer on another CPU a short spin catches the free.
	 */
	err = spin_wait_retry(try_alloc, &a, -ENOMEM, FRAGMENT_DATA_WAIT_NS,
			      FRAGMENT_DATA_SPIN_NS);
	if (err == -ENOMEM)
		buffer_pool_wait_ran_out(&lm->pool, size);
	return err;
}

int data_fragment_commit(struct fragment *frag, uint32_t len)
{
	if (frag->desc.size < FRAGMENT_HEADER_SIZE ||
	    len > frag->desc.size - FRAGMENT_HEADER_SIZE)
		return -EINVAL;
	/* Release: the data is written before the length says it is there. */
	atomic_store_explicit(committed_len_of(frag), len,
			      memory_order_release);
	return 0;
}

int data_fragment_adopt(const struct fragment *frag, const void **data,
			uint32_t *len)
{
	uint32_t committed;

	if (frag->desc.size < FRAGMENT_HEADER_SIZE)
		return -EPROTO;
	/* Acquire: pairs with the commit; one load, then validation. */
	committed = atomic_load_explicit(committed_len_of(frag),
					 memory_order_acquire);
	if (committed > frag->desc.size - FRAGMENT_HEADER_SIZE)
		return -EPROTO;
	*data = frag->data + FRAGMENT_HEADER_SIZE;
	*len = committed;
	return 0;
}
