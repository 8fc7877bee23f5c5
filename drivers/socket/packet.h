/* SPDX-License-Identifier: MIT */
/*
 * The socket driver's wire format.
 *
 * Transports are AF_UNIX SOCK_SEQPACKET sockets, so the kernel keeps packet
 * boundaries and a send either queues a whole packet or nothing: a full
 * socket buffer can delay a message but never tear one. A message (the
 * bytes and descriptors of one Transmit()) travels as one or more packets,
 * each a packet header followed by payload bytes, with descriptors attached
 * by SCM_RIGHTS:
 *
 *   first packet:    kind FIRST, the message's total bytes and descriptors
 *   further packets: kind MORE, carrying what did not fit in the ones before
 *
 * A packet carries at most SOCKDRV_MAX_PAYLOAD bytes and
 * SOCKDRV_MAX_PACKET_FDS descriptors. The receiver rebuilds the message and
 * refuses anything inconsistent.
 */
#ifndef IPCZ_DRIVERS_SOCKET_PACKET_H
#define IPCZ_DRIVERS_SOCKET_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/common/outbox.h"

#define SOCKDRV_PACKET_MAGIC 0x5a435049u	/* "IPCZ" little-endian */
#define SOCKDRV_PACKET_FIRST 1
#define SOCKDRV_PACKET_MORE 2

#define SOCKDRV_MAX_PAYLOAD (256u * 1024)
#define SOCKDRV_MIN_PAYLOAD 256u
#define SOCKDRV_MAX_PACKET_FDS 64u
#define SOCKDRV_MAX_MESSAGE_BYTES (1u << 30)
#define SOCKDRV_MAX_MESSAGE_FDS 4096u

/* Reassembly buffers up to this size are allocated whole at once. */
#define SOCKDRV_PREALLOCATE_LIMIT (64u << 20)

struct sockdrv_packet_header {
	uint32_t magic;
	uint16_t kind;
	uint16_t num_fds;		/* descriptors attached to this packet */
	uint32_t message_bytes;	/* FIRST: bytes in the whole message */
	uint32_t message_fds;	/* FIRST: descriptors in the whole message */
};

/*
 * Sends packets of `message` on `socket_fd` until it is complete (returns
 * 0), the socket is full (-EAGAIN) or fails (another negative errno).
 * `max_payload` shrinks if the socket's buffer cannot hold a packet.
 */
int sockdrv_outgoing_send(int socket_fd, struct drv_outgoing *message,
			  size_t *max_payload);

/* A message being received and rebuilt from its packets. */
struct sockdrv_incoming {
	bool in_progress;
	uint8_t *data;
	size_t num_bytes;	/* as announced by the FIRST packet */
	size_t bytes_received;
	size_t capacity;
	int *fds;
	size_t num_fds;		/* as announced by the FIRST packet */
	size_t fds_received;
	int packet_fds[SOCKDRV_MAX_PACKET_FDS];
};

enum sockdrv_receive_result {
	SOCKDRV_RECEIVE_AGAIN,		/* nothing more to read now */
	SOCKDRV_RECEIVE_PARTIAL,	/* a packet arrived, message incomplete */
	SOCKDRV_RECEIVE_MESSAGE,	/* a whole message is in the view */
	SOCKDRV_RECEIVE_CLOSED,		/* the peer is gone */
	SOCKDRV_RECEIVE_BAD,		/* malformed input; nothing kept */
	SOCKDRV_RECEIVE_FAILED,		/* the socket failed */
};

/*
 * A complete message, valid until the next call on the same incoming
 * state. Its descriptors belong to the caller.
 */
struct sockdrv_message_view {
	const uint8_t *data;
	size_t num_bytes;
	int *fds;
	size_t num_fds;
};

/*
 * Reads one packet from `socket_fd` into `incoming`, using `buffer` (at
 * least SOCKDRV_RECEIVE_BUFFER bytes) for the packet itself.
 */
#define SOCKDRV_RECEIVE_BUFFER \
	(sizeof(struct sockdrv_packet_header) + SOCKDRV_MAX_PAYLOAD)
enum sockdrv_receive_result
sockdrv_incoming_receive(int socket_fd, struct sockdrv_incoming *incoming,
			 uint8_t *buffer, struct sockdrv_message_view *view);

/* Drops a partly received message, closing its descriptors. */
void sockdrv_incoming_reset(struct sockdrv_incoming *incoming);

#endif
