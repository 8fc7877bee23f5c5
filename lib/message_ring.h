/* SPDX-License-Identifier: MIT */
/*
 * Single-producer single-consumer ring of small messages in shared memory,
 * one per direction of a NodeLink, plus the consumer's spin-then-sleep
 * policy.
 *
 * Shared state: a 128-byte control block (one cache line written only by
 * the producer, one written only by the consumer) and a data area of
 * power-of-two size. Records are variable length, 16-byte aligned, never
 * split across the end of the data area:
 *
 *   u32 len     payload bytes
 *   u32 flags   0, or MESSAGE_RING_PAD: filler up to the end of the area
 *   u64 seq     caller's sequence number (strictly increasing per ring)
 *   payload, padded to 16 bytes
 *
 * The positions (tail: bytes published, head: bytes consumed) only grow;
 * each side keeps its own position locally and only publishes it, so a
 * peer that overwrites our position cannot mislead us. The other side's
 * position, the record headers and the payload are untrusted: they are
 * copied once, then validated (ordering of positions, lengths against what
 * was published and against the area, flags, sequence order). A violation
 * returns -EPROTO and breaks the ring for good; the caller drops the link.
 *
 * Sequence numbers: a link direction numbers all its messages, whether
 * they go through the ring or through the driver (messages that carry
 * descriptors); the receiver merges both streams by number. The ring only
 * checks that its own numbers increase; gaps belong to the driver stream.
 * A full ring is not an error for the sender: it may send the message
 * through the driver instead, and the numbers keep the order.
 *
 * Wakeups: the consumer publishes MESSAGE_RING_ASLEEP before it may sleep
 * and re-checks the ring afterwards; the producer checks the flag after
 * publishing. Both sides put a sequentially consistent fence between their
 * store and their load, so at least one of them sees the other's store:
 * either the consumer finds the message, or the producer finds the flag and
 * signals (see Documentation/shared-memory.rst for the proof). The producer
 * claims the wakeup by switching the flag back to AWAKE, so one sleep
 * costs at most one signal however many messages follow.
 */
#ifndef IPCZ_LIB_MESSAGE_RING_H
#define IPCZ_LIB_MESSAGE_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define MESSAGE_RING_HEADER_SIZE 16u
#define MESSAGE_RING_ALIGN 16u
#define MESSAGE_RING_MIN_CAPACITY 256u
#define MESSAGE_RING_MAX_CAPACITY (1u << 30)
#define MESSAGE_RING_PAD 1u

/*
 * ASLEEP: the consumer's thread sleeps in its driver; the producer signals
 * through the driver. ASLEEP_FUTEX: an application thread sleeps on the
 * state word itself (ipcz_wait_portal()); the producer wakes it with a
 * futex call, which costs no driver message and no driver thread. AWAY:
 * an application thread drained last and went back to its work without
 * sleeping (its wait was over); it may wait again soon, and nobody sleeps
 * on the word, so the producer lets it run first and signals through the
 * driver only if the message is still unread after that.
 */
enum message_ring_consumer_state {
	MESSAGE_RING_AWAKE = 0,
	MESSAGE_RING_ASLEEP = 1,
	MESSAGE_RING_ASLEEP_FUTEX = 2,
	MESSAGE_RING_AWAY = 3,
};

/* How the producer must signal after a write, if at all. */
enum message_ring_signal {
	MESSAGE_RING_SIGNAL_NONE,
	MESSAGE_RING_SIGNAL_DRIVER,
	MESSAGE_RING_SIGNAL_FUTEX,
	MESSAGE_RING_SIGNAL_AWAY,
};

/* Shared control block; all zeros is an empty ring with an awake consumer. */
struct message_ring_ctl {
	/* Written by the producer only. */
	_Atomic uint64_t tail;
	_Atomic uint32_t producer_cpu; /* last CPU + 1, 0 if unknown: a hint */
	uint8_t producer_pad[52];
	/* Written by the consumer only. */
	_Atomic uint64_t head;
	_Atomic uint32_t consumer_state; /* enum message_ring_consumer_state */
	uint8_t consumer_pad[52];
};

_Static_assert(sizeof(struct message_ring_ctl) == 128,
	       "two cache lines, one per writer");

/* Process-local view of one end of a ring. */
struct message_ring {
	struct message_ring_ctl *ctl;
	unsigned char *data;
	uint32_t capacity;
	uint32_t max_payload;
	uint64_t pos; /* producer: our tail; consumer: our head */
	uint64_t other; /* last validated position of the other side */
	uint64_t last_seq; /* last sequence number written or consumed */
	bool have_seq;
	bool broken; /* a protocol violation was seen */
	uint32_t peeked; /* consumer: bytes of the record peeked */
	uint64_t peeked_seq;
};

/* A message taken out of the ring: its number and payload length. */
struct message_ring_msg {
	uint64_t seq;
	uint32_t len;
};

/* Zeroes the control block before the ring is shared (creator only). */
void message_ring_format(struct message_ring_ctl *ctl);

/*
 * Opens the producer or the consumer end. @data must be 16-byte aligned,
 * @capacity a power of two in MIN..MAX_CAPACITY. Both ends start at
 * position 0: a ring is used only from its link's creation on.
 * Returns 0 or -EINVAL.
 */
int message_ring_open(struct message_ring *ring, struct message_ring_ctl *ctl,
		      void *data, uint32_t capacity);

/* Largest payload one record can carry in @ring (a quarter of it). */
uint32_t message_ring_max_payload(const struct message_ring *ring);

/*
 * Producer: appends one message and publishes it. Returns 0; -EAGAIN when
 * there is no room now (send it through the driver, or retry later);
 * -EMSGSIZE when @len exceeds the maximum payload; -EINVAL when @seq does
 * not exceed the previous one; -EPROTO when the consumer's head is invalid.
 */
int message_ring_write(struct message_ring *ring, uint64_t seq,
		       const void *payload, uint32_t len);

/*
 * Producer: message_ring_write(), but while the ring is full, waits up to
 * @wait_ns for the consumer to make room: it yields the CPU (on a CPU it
 * shares with the consumer, that is what lets the consumer run), then
 * retries while spinning for MESSAGE_RING_ROOM_SPIN_NS (with the consumer
 * on another CPU the yield returns at once, and the spin catches the room
 * without a system call per attempt), and repeats.
 */
#define MESSAGE_RING_ROOM_SPIN_NS 10000u
int message_ring_write_waiting(struct message_ring *ring, uint64_t seq,
			       const void *payload, uint32_t len,
			       uint64_t wait_ns);

/*
 * Producer, after one or more writes: whether the consumer may be asleep
 * and must be signalled now. Returns true at most once per sleep.
 */
bool message_ring_should_signal(struct message_ring *ring);

/*
 * Producer: message_ring_should_signal(), telling how: FUTEX when the
 * consumer sleeps on the state word (wake it there), AWAY when it is
 * away (see above), DRIVER otherwise.
 */
enum message_ring_signal message_ring_claim_signal(struct message_ring *ring);

/* Producer: the position just after everything written so far. */
static inline uint64_t message_ring_written(const struct message_ring *ring)
{
	return ring->pos;
}

/*
 * Producer: whether the consumer says it has taken everything up to
 * `pos`. Only a hint (the consumer could lie, to its own loss).
 */
bool message_ring_consumed(struct message_ring *ring, uint64_t pos);

/*
 * Consumer: copies the next message's payload into @buf (@size bytes)
 * without consuming it. Returns 0; -EAGAIN when the ring is empty;
 * -ENOBUFS when the payload is larger than @size (msg->len tells how much
 * is needed); -EPROTO when the ring is corrupt. Peeking again without
 * consuming returns the same message.
 */
int message_ring_peek(struct message_ring *ring, struct message_ring_msg *msg,
		      void *buf, uint32_t size);

/* Consumer: releases the peeked message's space. 0 or -EINVAL (none). */
int message_ring_consume(struct message_ring *ring);

/* Consumer: peek and consume in one call. */
int message_ring_read(struct message_ring *ring, struct message_ring_msg *msg,
		      void *buf, uint32_t size);

/* Consumer: whether something (possibly corrupt) has been published. */
bool message_ring_has_data(struct message_ring *ring);

/*
 * Consumer: announces that it is about to sleep. Returns false if data
 * arrived in the meantime (the consumer stays awake and must drain), true
 * if it may sleep: the producer will signal for the next message.
 */
bool message_ring_prepare_sleep(struct message_ring *ring);

/*
 * Consumer: message_ring_prepare_sleep() for a thread that will sleep on
 * the state word with a futex (publishes ASLEEP_FUTEX).
 */
bool message_ring_prepare_futex_sleep(struct message_ring *ring);

/*
 * Consumer: message_ring_prepare_sleep() for an application thread that
 * leaves the ring without sleeping (publishes AWAY).
 */
bool message_ring_prepare_away(struct message_ring *ring);

/* Consumer: marks itself awake after a sleep (on any wakeup). */
void message_ring_wake(struct message_ring *ring);

/* Address of the consumer-state word, for futex-based sleeping in tests. */
_Atomic uint32_t *message_ring_state_word(struct message_ring *ring);

/*
 * Spin-then-sleep policy of one consumer. Spinning only pays when the
 * producer runs on another CPU at the same time; a wakeup costs far more
 * than a cache-line handoff, so a short spin avoids most sleeps under
 * ping-pong traffic, and a spin that never pays shrinks away.
 *
 * The budget (ns) adapts: data arriving during the spin keeps it at least
 * twice the time it took; a sleep that ended within SPIN_POLICY_MAX_NS of
 * the spin's start grows it to cover that wait; a sleep that lasted longer
 * halves it (down to SPIN_POLICY_MIN_NS). The budget is zero, always, when
 * the machine has a single online CPU or the producer last ran on the CPU
 * we are running on: spinning would then only delay the producer.
 */
#define SPIN_POLICY_MIN_NS 500u
#define SPIN_POLICY_MAX_NS 50000u
#define SPIN_POLICY_INITIAL_NS 5000u
#define SPIN_POLICY_CPU_REFRESH 256u

struct spin_policy {
	uint32_t budget_ns;
	uint32_t max_ns;
	uint64_t spins_won; /* data arrived while spinning */
	uint64_t spins_lost; /* spun, then had to sleep anyway */
	uint64_t spins_skipped; /* would have spun, but shared a CPU */
	uint32_t cpus; /* online CPUs, refreshed now and then */
	uint32_t waits;
};

/* @max_ns 0 picks SPIN_POLICY_MAX_NS; a tiny value caps spinning. */
void spin_policy_init(struct spin_policy *policy, uint32_t max_ns);

/*
 * How long to spin now, given the CPU the producer last ran on (+1, or 0
 * if unknown). Zero when sharing a CPU.
 */
uint32_t spin_policy_budget(struct spin_policy *policy,
			    uint32_t producer_cpu_hint);

/*
 * Reports the outcome of one wait: whether data came while spinning, how
 * long was spun, and the whole wait until data (spin plus sleep) in ns.
 */
void spin_policy_update(struct spin_policy *policy, bool won, uint64_t spun_ns,
			uint64_t waited_ns);

/*
 * Consumer: spins on an empty ring according to @policy, after yielding
 * the CPU once (see message_ring.c). Returns true as
 * soon as data is published (the policy is updated), false when the budget
 * ran out or is zero: then call message_ring_prepare_sleep(), sleep, and
 * report the whole wait with spin_policy_update(policy, false, ...).
 * *@spun_ns gets the time spent spinning.
 */
bool message_ring_spin(struct message_ring *ring, struct spin_policy *policy,
		       uint64_t *spun_ns);

#endif /* IPCZ_LIB_MESSAGE_RING_H */
