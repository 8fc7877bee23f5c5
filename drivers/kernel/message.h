/* SPDX-License-Identifier: MIT */
/*
 * Messages on a kernel transport.
 *
 * The module keeps message boundaries and queues a message whole or not at
 * all, but bounds what one transport end may hold (1 MiB by default), so a
 * Transmit() travels as one or more kernel messages ("chunks"), each a
 * header followed by payload bytes, with up to IPCZ_MAX_FDS descriptors
 * attached:
 *
 *   first chunk:  kind FIRST, the message's total bytes and descriptors
 *   later chunks: kind MORE, continuing where the previous one stopped
 *
 * A chunk carries at most KDRV_MAX_CHUNK payload bytes (less if the peer's
 * queue is smaller). The receiver rebuilds each message and refuses
 * anything inconsistent. An empty Transmit() is a FIRST chunk announcing
 * no bytes and no descriptors: a message like any other, so that each one
 * reaches the peer as exactly one call, in its place among the others.
 */
#ifndef IPCZ_DRIVERS_KERNEL_MESSAGE_H
#define IPCZ_DRIVERS_KERNEL_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/common/outbox.h"

#define KDRV_CHUNK_MAGIC 0x4b5a4349u	/* "ICZK" little-endian */
#define KDRV_CHUNK_FIRST 1
#define KDRV_CHUNK_MORE 2

#define KDRV_MAX_CHUNK (128u * 1024)
#define KDRV_MIN_CHUNK 256u
#define KDRV_CHUNK_FDS 64u		/* IPCZ_MAX_FDS */
#define KDRV_MAX_MESSAGE_BYTES (1u << 30)
#define KDRV_MAX_MESSAGE_FDS 4096u

struct kdrv_chunk_header {
	uint32_t magic;
	uint16_t kind;
	uint16_t num_fds;	/* descriptors attached to this chunk */
	uint32_t message_bytes;	/* FIRST: bytes in the whole message */
	uint32_t message_fds;	/* FIRST: descriptors in the whole message */
};

#define KDRV_RECEIVE_BUFFER \
	(sizeof(struct kdrv_chunk_header) + KDRV_MAX_CHUNK)

/*
 * Sends chunks of `m` on transport `fd` until all of it is out (0), the
 * peer's queue is full (-EAGAIN) or sending failed (another negative
 * errno). `*chunk_limit` shrinks if the peer's queue cannot take a chunk.
 */
int kdrv_outgoing_send(int fd, struct drv_outgoing *m, size_t *chunk_limit);

/* A message being rebuilt from chunks. */
struct kdrv_incoming {
	bool in_progress;
	uint8_t *data;
	size_t num_bytes;	/* announced by the FIRST chunk */
	size_t bytes_received;
	size_t capacity;
	int *fds;
	uint32_t *fd_types;
	size_t num_fds;		/* announced by the FIRST chunk */
	size_t fds_received;
};

enum kdrv_receive_result {
	KDRV_RECEIVE_AGAIN,	/* nothing queued */
	KDRV_RECEIVE_PARTIAL,	/* a chunk arrived; message incomplete */
	KDRV_RECEIVE_MESSAGE,	/* a whole message is ready */
	KDRV_RECEIVE_CLOSED,	/* the peer is gone and nothing is left */
	KDRV_RECEIVE_BAD,	/* malformed input */
	KDRV_RECEIVE_FAILED,	/* the transport failed */
};

/*
 * Receives one chunk from transport `fd` into `in`, using `buffer`
 * (KDRV_RECEIVE_BUFFER bytes). On KDRV_RECEIVE_MESSAGE, `in` holds the
 * whole message; the caller takes its descriptors and then calls
 * kdrv_incoming_reset().
 */
enum kdrv_receive_result kdrv_incoming_receive(int fd,
					       struct kdrv_incoming *in,
					       uint8_t *buffer);

/* Forgets the message in `in`, closing descriptors still in it. */
void kdrv_incoming_reset(struct kdrv_incoming *in);

/* Frees `in`'s buffers (after a reset). */
void kdrv_incoming_release(struct kdrv_incoming *in);

#endif
