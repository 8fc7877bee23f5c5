/* SPDX-License-Identifier: MIT */
/*
 * A transport activity handler for tests: it records every call (bytes,
 * received descriptor handles, flags) and lets the test wait for them. It
 * also checks the driver's promises: calls never overlap, nothing comes
 * before activation, and nothing after DEACTIVATED.
 */
#ifndef IPCZ_TESTS_SOCKET_RECORDER_H
#define IPCZ_TESTS_SOCKET_RECORDER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ipcz/ipcz.h>
#include <ipcz/socket_driver.h>

struct recorded_call {
	uint8_t *data;
	size_t num_bytes;
	IpczDriverHandle *handles;
	size_t num_handles;
	uint32_t flags;
};

struct recorder;

/* Called for each message; returns what the handler returns. */
typedef IpczResult (*recorder_hook)(struct recorder *r,
				    const struct recorded_call *call);

struct recorder {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct recorded_call *calls;
	size_t count;
	size_t capacity;
	size_t messages;
	size_t errors;
	size_t deactivations;
	size_t calls_after_deactivation;
	int busy;
	size_t overlaps;
	bool keep_data;		/* false: record sizes only */
	recorder_hook hook;
	void *context;
};

void recorder_init(struct recorder *r);
/* Closes recorded handles and frees everything. */
void recorder_destroy(struct recorder *r);

IpczResult IPCZ_API recorder_handler(IpczHandle listener, const void *data,
				     size_t num_bytes,
				     const IpczDriverHandle *handles,
				     size_t num_handles,
				     IpczTransportActivityFlags flags,
				     const void *options);

static inline IpczHandle recorder_listener(struct recorder *r)
{
	return (IpczHandle)(uintptr_t)r;
}

/* Waits up to `ms` for `*counter` to reach `value`; true if it did. */
bool recorder_wait(struct recorder *r, const size_t *counter, size_t value,
		   int ms);

/* Snapshot of a counter, taken under the lock. */
size_t recorder_get(struct recorder *r, const size_t *counter);

const struct IpczDriver *driver(void);

/* Activates `transport` with recorder `r`. */
IpczResult activate(IpczDriverHandle transport, struct recorder *r);

/* A transport pair from the driver. */
void make_pair(IpczDriverHandle *a, IpczDriverHandle *b);

/* Sends a message of bytes only. */
IpczResult send_bytes(IpczDriverHandle transport, const void *data,
		      size_t num_bytes);

/* Sleeps `ms` milliseconds. */
void sleep_ms(int ms);

#endif
