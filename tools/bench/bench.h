/* SPDX-License-Identifier: MIT */
/*
 * ipcz-bench: message latency and throughput between two processes over
 * several transports, side by side.
 *
 * A transport is a message channel between a measuring process (side 0)
 * and an echoing process (side 1). Every transport implements the same
 * small interface, so adding one (libipcz over a given driver, say) means
 * writing one file with a `struct bench_transport` and listing it in
 * bench.c's table; the measurements and the printed table do the rest.
 */
#ifndef IPCZ_TOOLS_BENCH_BENCH_H
#define IPCZ_TOOLS_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct bench_channel;

struct bench_transport {
	const char *name;

	/*
	 * In the parent, before the two processes fork: shared setup. NULL
	 * if the transport cannot run on this machine.
	 */
	struct bench_channel *(*create)(void);

	/* In each process after fork: take up side 0 or side 1. */
	int (*attach)(struct bench_channel *channel, int side);

	/* Sends one message; blocks until it is handed over. */
	int (*send)(struct bench_channel *channel, const void *data,
		    size_t size);

	/*
	 * Receives one message into `buffer` (at least `capacity` bytes);
	 * returns its size, or -1 on failure.
	 */
	ssize_t (*receive)(struct bench_channel *channel, void *buffer,
			   size_t capacity);

	/*
	 * Releases resources: in each process with its side, and in the
	 * parent with side -1 once both processes are gone.
	 */
	void (*detach)(struct bench_channel *channel, int side);

	/*
	 * Optional, for a transport whose exchange runs in callbacks instead
	 * of on the calling thread (NULL: bench.c drives send and receive).
	 *
	 * ping_pong: on side 0, `warmup` + `count` round trips of `size`
	 * bytes from `buffer` (BENCH_BULK_SIZE bytes), storing the last
	 * `count` durations in `samples_ns`; 0, or -1 on failure.
	 */
	int (*ping_pong)(struct bench_channel *channel, void *buffer,
			 size_t size, int warmup, int count,
			 long long *samples_ns);

	/*
	 * serve: on side 1, the whole echo loop, answering as
	 * bench_echo_reply() says; the process's exit status (0 when side 0
	 * sent the empty message that ends the run).
	 */
	int (*serve)(struct bench_channel *channel, void *buffer);
};

/* The size of a bulk message (throughput phase) and of every buffer. */
#define BENCH_BULK_SIZE (1u << 20)

/* Bulk messages per acknowledgement from the echo side. */
#define BENCH_ACK_EVERY 16

enum bench_reply {
	BENCH_REPLY_NONE,	/* a bulk message, not acknowledged yet */
	BENCH_REPLY_ECHO,	/* send the message back */
	BENCH_REPLY_ACK,	/* send a 1-byte acknowledgement */
	BENCH_REPLY_STOP,	/* the empty message: the run is over */
};

/*
 * What the echo side answers to a message of `size` bytes; `bulk_seen`
 * counts bulk messages across calls (start it at 0).
 */
enum bench_reply bench_echo_reply(size_t size, int *bulk_seen);

/* Tunables shared with the transports. */
struct bench_options {
	int spin_us;		/* busy-wait this long before sleeping */
};

extern struct bench_options bench_options;

/*
 * Whether a waiter may spin: only if this process may run on more than one
 * CPU, since spinning on the CPU the peer needs only delays the peer.
 */
bool bench_may_spin(void);

/* Opens `count` portal pairs in one node and across two; prints a table. */
void bench_portal_pairs(int count);

/* Monotonic time in nanoseconds. */
long long bench_now_ns(void);

extern const struct bench_transport bench_unix_stream;
extern const struct bench_transport bench_shm_futex;
extern const struct bench_transport bench_socket_driver;
extern const struct bench_transport bench_ipcz_socket;
extern const struct bench_transport bench_ipcz_kernel;
extern const struct bench_transport bench_ipcz_socket_wait;
extern const struct bench_transport bench_ipcz_kernel_wait;
extern const struct bench_transport bench_ipcz_socket_trap;
extern const struct bench_transport bench_ipcz_kernel_trap;

#endif
