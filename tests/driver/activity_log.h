/* SPDX-License-Identifier: MIT */
/*
 * An activity log: a transport activity handler that keeps every call it
 * gets (bytes, driver handles, flags) for a test to wait on and inspect,
 * and checks the driver's promises as it goes: no call before activation,
 * no two calls at once for one listener, nothing after DEACTIVATED.
 */
#ifndef IPCZ_TESTS_DRIVER_ACTIVITY_LOG_H
#define IPCZ_TESTS_DRIVER_ACTIVITY_LOG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ipcz/ipcz.h>

struct activity {
	uint8_t *data;
	size_t num_bytes;
	IpczDriverHandle *handles;	/* owned by the log until taken */
	size_t num_handles;
	uint32_t flags;
};

struct activity_log;

/*
 * Called outside the log's lock after a message is logged; its result is
 * the handler's. May call into the driver (Transmit, Deactivate).
 */
typedef IpczResult (*activity_hook)(struct activity_log *log,
				    const struct activity *call);

struct activity_log {
	const struct IpczDriver *driver;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct activity *calls;
	size_t count;
	size_t capacity;
	/* Counters, under `lock`. */
	size_t messages;	/* non-empty calls without flags */
	size_t empties;		/* empty calls without flags */
	size_t errors;
	size_t deactivations;
	size_t after_deactivation;
	size_t overlaps;
	atomic_int busy;
	bool armed;		/* set once ActivateTransport was called */
	size_t early_calls;	/* calls before that */
	activity_hook hook;
	void *context;
};

void activity_log_init(struct activity_log *log,
		       const struct IpczDriver *driver);

/* Closes every handle still in the log and frees it all. */
void activity_log_destroy(struct activity_log *log);

IpczResult IPCZ_API activity_log_handler(IpczHandle listener,
					 const void *data, size_t num_bytes,
					 const IpczDriverHandle *handles,
					 size_t num_handles,
					 IpczTransportActivityFlags flags,
					 const void *options);

/* Activates `transport` with this log as its listener. */
IpczResult activity_log_activate(struct activity_log *log,
				 IpczDriverHandle transport);

/* Waits up to `ms` for `*counter` to reach `value`; true if it did. */
bool activity_log_wait(struct activity_log *log, const size_t *counter,
		       size_t value, int ms);

/* A counter's value, read under the lock. */
size_t activity_log_get(struct activity_log *log, const size_t *counter);

/* Call `index` (a copy of its description; handles stay in the log). */
struct activity activity_log_call(struct activity_log *log, size_t index);

/* Takes handle `h` of call `index` out of the log; the caller owns it. */
IpczDriverHandle activity_log_take_handle(struct activity_log *log,
					  size_t index, size_t h);

/* Index of the `n`th (0-based) non-empty message call, or SIZE_MAX. */
size_t activity_log_message_index(struct activity_log *log, size_t n);

#endif
