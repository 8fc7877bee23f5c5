/* SPDX-License-Identifier: MIT */
/*
 * A transport: one end of an AF_UNIX SOCK_SEQPACKET socket pair.
 *
 * Any thread may Transmit(). A message goes straight to the socket when
 * nothing is waiting before it; otherwise, or when the socket is full, the
 * rest of it is queued (whole packets only, so the stream stays intact)
 * and the I/O thread sends it when the socket drains. Sends never block.
 *
 * Only the I/O thread reads the socket and calls the activity handler, so
 * calls for one transport never overlap, and the DEACTIVATED call it makes
 * after DeactivateTransport() is the last one.
 */
#ifndef IPCZ_DRIVERS_SOCKET_TRANSPORT_H
#define IPCZ_DRIVERS_SOCKET_TRANSPORT_H

#include <pthread.h>
#include <stdint.h>

#include "drivers/common/transport_state.h"
#include "drivers/socket/object.h"
#include "drivers/socket/packet.h"

struct sockdrv_transport {
	struct drv_object base;
	/* Its life as ipcz sees it; `life.lock` guards the fields below. */
	struct drv_transport_state life;

	/* Under `life.lock`. */
	struct drv_outbox out;
	size_t max_payload;
	uint32_t watched_events;	/* epoll interest, 0 if not watched */

	/* Used by the I/O thread only. */
	struct sockdrv_incoming incoming;
	struct sockdrv_transport *next_serviced;
};

/* Adopts `fd`, an AF_UNIX SOCK_SEQPACKET socket (closed on failure). */
IpczResult sockdrv_transport_adopt(int fd, IpczDriverHandle *handle);

/* Send buffer size asked for on the sockets the driver creates. */
#define SOCKDRV_SOCKET_BUFFER (1 << 20)

/* A new SEQPACKET pair, close-on-exec; 0 or a negative errno. */
int sockdrv_socket_pair(int fds[2]);

IpczResult sockdrv_transport_create_pair(IpczDriverHandle *first,
					 IpczDriverHandle *second);

/* Whether `fd` is a socket the driver can use as a transport. */
bool sockdrv_is_transport_socket(int fd);

/* The part of the transport that activation and deactivation change. */
struct drv_transport_state *sockdrv_transport_state(struct drv_object *object);
IpczResult sockdrv_transport_transmit(struct drv_object *object,
				      const void *data, size_t num_bytes,
				      const IpczDriverHandle *handles,
				      size_t num_handles);
void sockdrv_transport_report_bad(struct drv_object *object);

/* After its handle was retired: stop it and drop the table's reference. */
void sockdrv_transport_close(struct drv_object *object);

/*
 * Checks that the transport can move to another process as a bare socket:
 * never activated and nothing queued.
 */
bool sockdrv_transport_can_release_fd(struct sockdrv_transport *t);

/*
 * A descriptor of the socket of a transport whose handle was retired, for
 * the transport to move to another process; -1 on failure.
 */
int sockdrv_transport_release_fd(struct sockdrv_transport *t);

/* I/O thread: epoll reported `events` for the transport. */
void sockdrv_transport_on_events(struct sockdrv_transport *t, uint32_t events,
				 uint8_t *receive_buffer);

/* I/O thread: act on a state change (kick). */
void sockdrv_transport_service(struct sockdrv_transport *t);

#endif
