/* SPDX-License-Identifier: MIT */
/*
 * The life of a transport as ipcz sees it, shared by the socket and the
 * kernel driver: idle until ActivateTransport(), active, deactivating
 * (one DEACTIVATED call still owed) and deactivated; plus the failure
 * flags that decide when the single ERROR call is owed.
 *
 * The rules it keeps: no handler call before activation, exactly one
 * ERROR at most, and nothing after DEACTIVATED. A driver embeds the state
 * in its transport next to its queue of waiting output (outbox.h), keeps
 * its descriptor I/O and epoll interest to itself, and names its I/O
 * thread.
 */
#ifndef IPCZ_DRIVERS_COMMON_TRANSPORT_STATE_H
#define IPCZ_DRIVERS_COMMON_TRANSPORT_STATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ipcz/ipcz.h>

#include "drivers/common/object.h"
#include "drivers/common/outbox.h"

enum drv_transport_phase {
	DRV_TRANSPORT_IDLE,		/* not yet activated */
	DRV_TRANSPORT_ACTIVE,
	DRV_TRANSPORT_DEACTIVATING,	/* the DEACTIVATED call is owed */
	DRV_TRANSPORT_DEACTIVATED,
};

/* The structure of type `type` whose member `member` is at `ptr`. */
#define DRV_CONTAINER_OF(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

struct drv_io_thread;

struct drv_transport_state {
	/* The driver's I/O thread (drivers/common/io_thread.h). */
	struct drv_io_thread *io;
	/* Guards the whole transport, the driver's own fields included. */
	pthread_mutex_t lock;

	/* Under `lock`. */
	int fd;		/* the driver's descriptor, -1 once gone */
	enum drv_transport_phase phase;
	IpczHandle listener;
	IpczTransportActivityHandler handler;
	bool closed;		/* its handle was closed */
	bool read_failed;	/* no more input will be read */
	bool write_failed;	/* no more output can be sent */
	bool error_pending;	/* the listener is owed an ERROR call */
	bool error_reported;

	/* The transport's object, for references taken by the I/O thread. */
	struct drv_object *owner;
	/* Under the I/O thread's lock (drivers/common/io_thread.h). */
	bool kicked;
	struct drv_transport_state *next_kicked;
};

/* An idle transport owning `fd`, part of the object `owner`. */
void drv_transport_state_init(struct drv_transport_state *state,
			      struct drv_io_thread *io,
			      struct drv_object *owner, int fd);

/* When the transport is destroyed: closes the descriptor, frees the lock. */
void drv_transport_state_destroy(struct drv_transport_state *state);

/* ActivateTransport() and DeactivateTransport(): take the lock, kick. */
IpczResult drv_transport_activate(struct drv_transport_state *state,
				  IpczHandle listener,
				  IpczTransportActivityHandler handler);
IpczResult drv_transport_deactivate(struct drv_transport_state *state);

/* Its handle was closed: an active transport owes DEACTIVATED. Lock held. */
void drv_transport_mark_closed(struct drv_transport_state *state);

/*
 * Sending failed for good: drops the queued output (it can go nowhere)
 * and owes the listener ERROR. Lock held.
 */
void drv_transport_fail_output(struct drv_transport_state *state,
			       struct drv_outbox *out);

/*
 * Sends queued output until the peer is full; a failure fails output.
 * Lock held.
 */
void drv_transport_flush(struct drv_transport_state *state,
			 struct drv_outbox *out, drv_send_fn send,
			 size_t *limit);

/*
 * How a driver sends a Transmit(): its limits, where its descriptor objects
 * live and how one gives up its descriptor, and how a message goes out on
 * the transport's descriptor (outbox.h).
 */
struct drv_transmit_ops {
	size_t max_bytes;
	size_t max_fds;
	struct drv_handle_table *handles;
	int (*take_fd)(IpczDriverHandle handle);
	drv_send_fn send;
};

/*
 * Transmit(), the same for both drivers: checks the arguments against the
 * driver's limits, takes the descriptors out of `handles` (all or none),
 * sends the message at once if nothing waits before it, queues in `out`
 * what the peer cannot take yet, and wakes the I/O thread when output
 * waits or failed. `*limit` is the driver's chunk or packet size. Takes
 * the lock.
 */
IpczResult drv_transport_transmit(struct drv_transport_state *state,
				  struct drv_outbox *out, size_t *limit,
				  const struct drv_transmit_ops *ops,
				  const void *data, size_t num_bytes,
				  const IpczDriverHandle *handles,
				  size_t num_handles);

/*
 * ReportBadTransportActivity(): nothing more is read or sent, the output
 * waiting is dropped and the listener is owed ERROR. Lock held.
 */
void drv_transport_fail_all(struct drv_transport_state *state,
			    struct drv_outbox *out);

/* Changes a transport's epoll interest; a negative errno if it cannot. */
typedef int (*drv_watch_fn)(void *transport, uint32_t old_events,
			    uint32_t new_events);

/*
 * Makes the epoll interest `*watched` of `transport` match its state, with
 * `watch`: input while active and still readable, EPOLLOUT while output
 * waits. A transport that cannot be watched is unusable and fails both
 * ways. Lock held.
 */
void drv_transport_update_watch(struct drv_transport_state *state,
				struct drv_outbox *out, uint32_t *watched,
				drv_watch_fn watch, void *transport);

/*
 * Turns received descriptor `fd`, the `index`th of its message, into a
 * driver object; closes it on failure.
 */
typedef IpczResult (*drv_wrap_fd_fn)(int fd, size_t index,
				     const void *context,
				     IpczDriverHandle *handle);

/*
 * Hands a received message to the listener, its descriptors first made
 * driver objects of `table` with `wrap`. Consumes every descriptor in
 * `fds` (each is set to -1): those of a message that cannot be delivered
 * whole, or that the listener refuses, are closed. True if the listener
 * took the message. Called by the I/O thread, lock not held.
 */
bool drv_transport_deliver(struct drv_handle_table *table,
			   IpczTransportActivityHandler handler,
			   IpczHandle listener, const void *data,
			   size_t num_bytes, int *fds, size_t num_fds,
			   drv_wrap_fd_fn wrap, const void *context);

/* Reading stopped for good; the listener is owed ERROR. Takes the lock. */
void drv_transport_fail_input(struct drv_transport_state *state);

/*
 * Whether input may be delivered now, and to which listener. Taken under
 * the lock, and called by the I/O thread, the only one that delivers.
 */
bool drv_transport_may_deliver(struct drv_transport_state *state,
			       IpczTransportActivityHandler *handler,
			       IpczHandle *listener);

/* Handler calls owed by a transport, made outside its lock. */
struct drv_owed_calls {
	IpczTransportActivityHandler handler;
	IpczHandle listener;
	bool error;
	bool deactivated;
};

/*
 * I/O thread, lock held: works out which calls are owed and moves a
 * deactivating transport to DEACTIVATED (no ERROR then: DEACTIVATED is
 * the last call). True if it just became DEACTIVATED, so that the driver
 * stops watching it.
 */
bool drv_transport_take_owed(struct drv_transport_state *state,
			     struct drv_owed_calls *owed);

/* I/O thread, lock not held: makes the calls found by take_owed(). */
void drv_transport_make_owed_calls(const struct drv_owed_calls *owed);

#endif
