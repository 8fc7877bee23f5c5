// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/common/io_thread.h"
#include "drivers/socket/descriptor.h"
#include "drivers/socket/io_thread.h"
#include "drivers/socket/transport.h"


static void destroy_transport(struct drv_object *object)
{
	struct sockdrv_transport *t = (struct sockdrv_transport *)object;

	drv_outbox_drop(&t->out);
	sockdrv_incoming_reset(&t->incoming);
	drv_transport_state_destroy(&t->life);
	free(t);
}

struct drv_transport_state *sockdrv_transport_state(struct drv_object *object)
{
	return &((struct sockdrv_transport *)object)->life;
}

bool sockdrv_is_transport_socket(int fd)
{
	int domain = 0, type = 0;
	socklen_t len = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
		return false;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return false;
	return domain == AF_UNIX && type == SOCK_SEQPACKET;
}

/* The largest packet payload the socket's send buffer accepts. */
static size_t initial_max_payload(int fd)
{
	int sndbuf = 0;
	socklen_t len = sizeof(sndbuf);
	size_t payload = SOCKDRV_MAX_PAYLOAD;

	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) == 0 &&
	    sndbuf > 0 && (size_t)sndbuf / 2 < payload)
		payload = (size_t)sndbuf / 2;
	return payload < SOCKDRV_MIN_PAYLOAD ? SOCKDRV_MIN_PAYLOAD : payload;
}

IpczResult sockdrv_transport_adopt(int fd, IpczDriverHandle *handle)
{
	struct sockdrv_transport *t;

	if (!sockdrv_is_transport_socket(fd) ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		close(fd);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		close(fd);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	drv_object_init(&t->base, DRV_TRANSPORT, destroy_transport);
	drv_transport_state_init(&t->life, &sockdrv_io, &t->base, fd);
	t->max_payload = initial_max_payload(fd);
	return drv_handle_add(&sockdrv_handles, &t->base, handle);
}

int sockdrv_socket_pair(int fds[2])
{
	int size = SOCKDRV_SOCKET_BUFFER;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return -errno;
	/*
	 * Larger packets and fewer full-buffer stalls. Memory is charged as
	 * it is used, and the kernel caps the size at net.core.wmem_max.
	 */
	for (int i = 0; i < 2; i++)
		setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	return 0;
}

IpczResult sockdrv_transport_create_pair(IpczDriverHandle *first,
					 IpczDriverHandle *second)
{
	struct drv_object *object;
	IpczResult result;
	int fds[2];

	if (sockdrv_socket_pair(fds) < 0)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	result = sockdrv_transport_adopt(fds[0], first);
	if (result != IPCZ_RESULT_OK) {
		close(fds[1]);
		return result;
	}
	result = sockdrv_transport_adopt(fds[1], second);
	if (result != IPCZ_RESULT_OK) {
		object = drv_handle_take(&sockdrv_handles, *first,
					 DRV_TRANSPORT);
		if (object)
			drv_object_unref(object);
	}
	return result;
}

static const struct drv_transmit_ops transmit_ops = {
	.max_bytes = SOCKDRV_MAX_MESSAGE_BYTES,
	.max_fds = SOCKDRV_MAX_MESSAGE_FDS,
	.handles = &sockdrv_handles,
	.take_fd = sockdrv_descriptor_take_fd,
	.send = sockdrv_outgoing_send,
};

IpczResult sockdrv_transport_transmit(struct drv_object *object,
				      const void *data, size_t num_bytes,
				      const IpczDriverHandle *handles,
				      size_t num_handles)
{
	struct sockdrv_transport *t = (struct sockdrv_transport *)object;

	return drv_transport_transmit(&t->life, &t->out, &t->max_payload,
				      &transmit_ops, data, num_bytes, handles,
				      num_handles);
}

void sockdrv_transport_report_bad(struct drv_object *object)
{
	struct sockdrv_transport *t = (struct sockdrv_transport *)object;

	pthread_mutex_lock(&t->life.lock);
	drv_transport_fail_all(&t->life, &t->out);
	/* The peer sees the connection end; so do we. */
	if (t->life.fd >= 0)
		shutdown(t->life.fd, SHUT_RDWR);
	pthread_mutex_unlock(&t->life.lock);
	drv_io_kick(&sockdrv_io, &t->life);
}

void sockdrv_transport_close(struct drv_object *object)
{
	struct sockdrv_transport *t = (struct sockdrv_transport *)object;
	bool kick;

	pthread_mutex_lock(&t->life.lock);
	drv_transport_mark_closed(&t->life);
	kick = t->life.phase == DRV_TRANSPORT_DEACTIVATING || t->out.head ||
	       t->watched_events;
	pthread_mutex_unlock(&t->life.lock);
	if (kick)
		drv_io_kick(&sockdrv_io, &t->life);
	drv_object_unref(&t->base);
}

bool sockdrv_transport_can_release_fd(struct sockdrv_transport *t)
{
	bool ok;

	pthread_mutex_lock(&t->life.lock);
	ok = t->life.phase == DRV_TRANSPORT_IDLE && !t->out.head &&
	     !t->life.closed && t->life.fd >= 0 && !t->life.write_failed;
	pthread_mutex_unlock(&t->life.lock);
	return ok;
}

int sockdrv_transport_release_fd(struct sockdrv_transport *t)
{
	int fd = -1;

	/*
	 * A duplicate leaves: the I/O thread may not have dropped its epoll
	 * watch of a queue that just drained, and the watch must be removed
	 * through the descriptor it was added with, which therefore stays
	 * open here until the transport is destroyed.
	 */
	pthread_mutex_lock(&t->life.lock);
	if (t->life.phase == DRV_TRANSPORT_IDLE && !t->out.head &&
	    t->life.fd >= 0)
		fd = fcntl(t->life.fd, F_DUPFD_CLOEXEC, 0);
	t->life.closed = true;
	pthread_mutex_unlock(&t->life.lock);
	return fd;
}

static int watch(void *transport, uint32_t old_events, uint32_t new_events)
{
	return sockdrv_io_watch(transport, old_events, new_events);
}

/* Epoll interest matching the transport's state; lock held. */
static void update_watch(struct sockdrv_transport *t)
{
	drv_transport_update_watch(&t->life, &t->out, &t->watched_events,
				   watch, t);
}

void sockdrv_transport_service(struct sockdrv_transport *t)
{
	struct drv_owed_calls owed;

	pthread_mutex_lock(&t->life.lock);
	update_watch(t);
	if (drv_transport_take_owed(&t->life, &owed)) {
		/* DEACTIVATED is its last call: stop watching it. */
		update_watch(t);
	}
	pthread_mutex_unlock(&t->life.lock);
	drv_transport_make_owed_calls(&owed);
}

static IpczResult wrap_fd(int fd, size_t index, const void *context,
			  IpczDriverHandle *handle)
{
	return sockdrv_descriptor_create(fd, handle);
}

/* Hands a complete message to the listener; false if it was refused. */
static bool deliver(const struct sockdrv_message_view *view,
		    IpczTransportActivityHandler handler, IpczHandle listener)
{
	return drv_transport_deliver(&sockdrv_handles, handler, listener,
				     view->data, view->num_bytes, view->fds,
				     view->num_fds, wrap_fd, NULL);
}

/*
 * Reads packets until one message is delivered (or a bounded number of
 * packets arrived), then goes back to epoll: level-triggered epoll reports
 * the socket again if more is waiting, and an isolated message costs no
 * extra recvmsg() that could only fail with EAGAIN.
 */
static void read_messages(struct sockdrv_transport *t, uint8_t *buffer)
{
	IpczTransportActivityHandler handler;
	struct sockdrv_message_view view;
	IpczHandle listener;

	for (int budget = 64; budget > 0; budget--) {
		if (!drv_transport_may_deliver(&t->life, &handler, &listener))
			return;
		switch (sockdrv_incoming_receive(t->life.fd, &t->incoming,
						 buffer, &view)) {
		case SOCKDRV_RECEIVE_AGAIN:
			return;
		case SOCKDRV_RECEIVE_PARTIAL:
			break;
		case SOCKDRV_RECEIVE_MESSAGE:
			if (!deliver(&view, handler, listener))
				drv_transport_fail_input(&t->life);
			return;
		default:
			drv_transport_fail_input(&t->life);
			return;
		}
	}
}

void sockdrv_transport_on_events(struct sockdrv_transport *t, uint32_t events,
				 uint8_t *receive_buffer)
{
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
		pthread_mutex_lock(&t->life.lock);
		drv_transport_flush(&t->life, &t->out, sockdrv_outgoing_send,
				    &t->max_payload);
		pthread_mutex_unlock(&t->life.lock);
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		read_messages(t, receive_buffer);
	sockdrv_transport_service(t);
}
