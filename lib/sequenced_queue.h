/* SPDX-License-Identifier: MIT */
/*
 * A queue of elements numbered by sequence number, which may arrive in any
 * order. Only the contiguous run starting at the current sequence number is
 * exposed; its element count and total size are kept in O(1). Once the final
 * length of the sequence is known, elements at or beyond it are refused, as
 * are duplicates, stale numbers and gaps larger than SEQ_MAX_GAP.
 */
#ifndef IPCZ_LIB_SEQUENCED_QUEUE_H
#define IPCZ_LIB_SEQUENCED_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEQ_MAX_GAP 1000000u
#define SEQ_NONE UINT64_MAX

struct seq_entry {
	void *element;
	size_t size;
};

/* Storage of a queue that holds elements; NULL while it holds none. */
struct seq_ring {
	uint32_t capacity;	/* a power of two */
	uint32_t head;		/* index of the queue's current number */
	struct seq_entry entries[];
};

struct sequenced_queue {
	uint64_t base;		/* the next sequence number to pop */
	uint64_t final_length;	/* SEQ_NONE while unknown */
	struct seq_ring *ring;
	uint64_t avail_bytes;	/* total size of the contiguous run */
	uint32_t avail;		/* length of the contiguous run */
	uint32_t extent;	/* 1 + highest occupied offset from base */
};

void seq_queue_init(struct sequenced_queue *q, uint64_t base);

/*
 * Frees the queue's storage; `drop` (if not NULL) is called on each element
 * still queued.
 */
void seq_queue_destroy(struct sequenced_queue *q, void (*drop)(void *));

/* Queues `element` as number `n`; false if refused (nothing is taken). */
bool seq_queue_push(struct sequenced_queue *q, uint64_t n, void *element,
		    size_t size);

/* Pops the next element of the contiguous run, or returns NULL. */
void *seq_queue_pop(struct sequenced_queue *q);

/* The next element, without popping it; NULL if none is available. */
void *seq_queue_peek(const struct sequenced_queue *q);

/*
 * Advances past number `n` without an element, for a sender that transmits
 * directly; false unless `n` is current and nothing is queued for it.
 */
bool seq_queue_skip(struct sequenced_queue *q, uint64_t n);

/* Fixes the final length; false if already known or impossible. */
bool seq_queue_set_final_length(struct sequenced_queue *q, uint64_t length);

/*
 * Ends the sequence after the contiguous run (on disconnection); elements
 * beyond it are passed to `drop`.
 */
void seq_queue_force_terminate(struct sequenced_queue *q, void (*drop)(void *));

static inline uint64_t seq_queue_current(const struct sequenced_queue *q)
{
	return q->base;
}

static inline uint64_t seq_queue_length(const struct sequenced_queue *q)
{
	return q->base + q->avail;
}

static inline size_t seq_queue_available(const struct sequenced_queue *q)
{
	return q->avail;
}

static inline uint64_t seq_queue_available_bytes(const struct sequenced_queue *q)
{
	return q->avail_bytes;
}

static inline bool seq_queue_has_next(const struct sequenced_queue *q)
{
	return q->avail > 0;
}

static inline bool seq_queue_final_known(const struct sequenced_queue *q)
{
	return q->final_length != SEQ_NONE;
}

static inline bool seq_queue_expects_more(const struct sequenced_queue *q)
{
	return q->final_length == SEQ_NONE ||
	       seq_queue_length(q) < q->final_length;
}

static inline bool seq_queue_fully_consumed(const struct sequenced_queue *q)
{
	return !seq_queue_has_next(q) && !seq_queue_expects_more(q);
}

#endif
