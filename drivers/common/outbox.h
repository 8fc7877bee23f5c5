/* SPDX-License-Identifier: MIT */
/*
 * Outgoing messages and the per-transport queue of those that had to
 * wait, shared by the socket and the kernel driver.
 *
 * A send never blocks: a message goes straight out when nothing waits
 * before it, and whatever the peer cannot take yet (whole packets or
 * chunks only, so the stream stays intact) is copied into the queue,
 * which the I/O thread flushes as the peer drains. Later messages queue
 * behind it, so order is kept. How bytes and descriptors reach the peer
 * is the driver's own (drv_send_fn).
 */
#ifndef IPCZ_DRIVERS_COMMON_OUTBOX_H
#define IPCZ_DRIVERS_COMMON_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Output waiting in the queue beyond this severs the transport. */
#define DRV_MAX_QUEUED_BYTES (256u << 20)

/*
 * A message on its way out. `data` and `fds` may point at the caller's
 * buffers while the message is sent directly; one that has to wait owns
 * copies (drv_outgoing_keep()). Descriptors are owned, and closed once
 * sent.
 */
struct drv_outgoing {
	struct drv_outgoing *next;
	const uint8_t *data;
	size_t num_bytes;
	size_t bytes_sent;
	int *fds;
	size_t num_fds;
	size_t fds_sent;
	bool started;		/* its first packet or chunk is out */
	bool owns_buffers;	/* a kept copy, freed with its buffers */
};

/*
 * Sends `m` on `fd` until all of it is out (0), the peer cannot take more
 * now (-EAGAIN) or sending failed (another negative errno). `*limit` is
 * the driver's packet or chunk size, which it may shrink.
 */
typedef int (*drv_send_fn)(int fd, struct drv_outgoing *m, size_t *limit);

/*
 * A heap copy of what is left of `m`, owning its buffers, or NULL. The
 * unsent descriptors move to the copy.
 */
struct drv_outgoing *drv_outgoing_keep(struct drv_outgoing *m);

/* Closes unsent descriptors, and frees `m` if it is a kept copy. */
void drv_outgoing_free(struct drv_outgoing *m);

/* The queue of a transport; under the transport's lock. */
struct drv_outbox {
	struct drv_outgoing *head;
	struct drv_outgoing *tail;
	size_t queued_bytes;
};

/* Frees everything queued (output that can no longer go anywhere). */
void drv_outbox_drop(struct drv_outbox *box);

/*
 * Queues a copy of what is left of `m`. False if that would pass
 * DRV_MAX_QUEUED_BYTES or memory ran out; `m` is then unchanged.
 */
bool drv_outbox_queue_rest(struct drv_outbox *box, struct drv_outgoing *m);

/*
 * Sends queued messages in order until the queue is empty (0), the peer
 * is full (-EAGAIN) or sending failed (another negative errno, the queue
 * left as it is for the caller to drop).
 */
int drv_outbox_flush(struct drv_outbox *box, int fd, drv_send_fn send,
		     size_t *limit);

#endif
