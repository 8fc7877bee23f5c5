/* SPDX-License-Identifier: MIT */
/*
 * A transport: one end of a kernel transport pair (a /dev/ipcz transport
 * descriptor).
 *
 * Any thread may Transmit(). A message goes straight to the kernel when
 * nothing waits before it; when the peer's queue is full, the rest of it
 * (whole chunks only) waits in a userspace queue that the I/O thread
 * flushes as the peer drains, so nothing is lost or reordered and a send
 * never blocks. An empty Transmit() is an empty message, ordered like the
 * rest.
 *
 * Only the I/O thread reads the transport and calls its handler, so calls
 * for one listener never overlap, and nothing comes after the DEACTIVATED
 * call that follows DeactivateTransport() or Close().
 */
#ifndef IPCZ_DRIVERS_KERNEL_TRANSPORT_H
#define IPCZ_DRIVERS_KERNEL_TRANSPORT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "drivers/common/transport_state.h"
#include "drivers/kernel/message.h"
#include "drivers/kernel/object.h"

struct kdrv_transport {
	struct drv_object base;
	/* Its life as ipcz sees it; `life.lock` guards the fields below. */
	struct drv_transport_state life;

	/* Under `life.lock`. */
	struct drv_outbox out;
	size_t chunk_limit;

	/* The I/O thread's own. */
	uint32_t watched_events;	/* epoll interest, 0 if not watched */
	bool input_ready;	/* there may be chunks to receive */
	bool in_service;	/* on the thread's list of work */
	struct kdrv_transport *next_service;
	struct kdrv_incoming incoming;
};

/* Adopts `fd`, a kernel transport descriptor (closed on failure). */
IpczResult kdrv_transport_adopt(int fd, IpczDriverHandle *handle);

IpczResult kdrv_transport_create_pair(IpczDriverHandle *first,
				      IpczDriverHandle *second);

/* The part of the transport that activation and deactivation change. */
struct drv_transport_state *kdrv_transport_state(struct drv_object *object);
IpczResult kdrv_transport_transmit(struct drv_object *object, const void *data,
				   size_t num_bytes,
				   const IpczDriverHandle *handles,
				   size_t num_handles);
void kdrv_transport_report_bad(struct drv_object *object);

/* After its handle was retired: stop it and drop the table's reference. */
void kdrv_transport_close(struct drv_object *object);

/*
 * A close-on-exec duplicate of the transport's descriptor, to move the
 * transport to another process; only before activation and with no output
 * waiting. A negative errno otherwise.
 */
int kdrv_transport_dup_fd(struct kdrv_transport *t);

/* The transport's descriptor for a quick ioctl; -1 if none. */
int kdrv_transport_fd(struct kdrv_transport *t);

/* I/O thread: epoll reported `events`, or (0) the transport was kicked. */
void kdrv_transport_on_events(struct kdrv_transport *t, uint32_t events);

/*
 * I/O thread: does what the transport needs (flush output, read input,
 * update epoll, make owed handler calls). True if input remains to be
 * read, in which case it must be serviced again soon.
 */
bool kdrv_transport_service(struct kdrv_transport *t, uint8_t *buffer);

#endif
