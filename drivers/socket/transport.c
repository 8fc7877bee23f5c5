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

/* Handles for descriptors of one delivery that fit on the stack. */
#define STACK_HANDLES 16

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

static IpczResult take_descriptors(const IpczDriverHandle *handles,
				   size_t count, int *fds)
{
	return drv_handles_take_descriptors(&sockdrv_handles, handles, count, fds,
					    sockdrv_descriptor_take_fd);
}

static IpczResult send_or_queue(struct sockdrv_transport *t,
				struct drv_outgoing *m, bool *kick)
{
	int err = -EAGAIN;

	if (t->life.write_failed) {
		drv_outgoing_free(m);
		return IPCZ_RESULT_UNAVAILABLE;
	}
	/* Nothing may overtake what is already queued. */
	if (!t->out.head)
		err = sockdrv_outgoing_send(t->life.fd, m, &t->max_payload);
	if (!err)
		return IPCZ_RESULT_OK;
	if (err == -EAGAIN) {
		*kick = !t->out.head;
		if (drv_outbox_queue_rest(&t->out, m))
			return IPCZ_RESULT_OK;
		drv_outgoing_free(m);
		drv_transport_fail_output(&t->life, &t->out);
		*kick = true;
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	drv_outgoing_free(m);
	drv_transport_fail_output(&t->life, &t->out);
	*kick = true;
	return IPCZ_RESULT_UNAVAILABLE;
}

IpczResult sockdrv_transport_transmit(struct drv_object *object,
				      const void *data, size_t num_bytes,
				      const IpczDriverHandle *handles,
				      size_t num_handles)
{
	struct sockdrv_transport *t = (struct sockdrv_transport *)object;
	int stack_fds[STACK_HANDLES], *fds = stack_fds;
	struct drv_outgoing m = { 0 };
	IpczResult result;
	bool kick = false;

	if (num_bytes > SOCKDRV_MAX_MESSAGE_BYTES ||
	    num_handles > SOCKDRV_MAX_MESSAGE_FDS ||
	    (num_bytes && !data) || (num_handles && !handles))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (num_handles > STACK_HANDLES) {
		fds = malloc(num_handles * sizeof(int));
		if (!fds)
			return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}

	pthread_mutex_lock(&t->life.lock);
	if (t->life.write_failed || t->life.fd < 0) {
		result = IPCZ_RESULT_UNAVAILABLE;
		goto out;
	}
	result = take_descriptors(handles, num_handles, fds);
	if (result != IPCZ_RESULT_OK)
		goto out;
	m.data = data;
	m.num_bytes = num_bytes;
	m.fds = fds;
	m.num_fds = num_handles;
	result = send_or_queue(t, &m, &kick);
out:
	pthread_mutex_unlock(&t->life.lock);
	if (fds != stack_fds)
		free(fds);
	if (kick)
		drv_io_kick(&sockdrv_io, &t->life);
	return result;
}

void sockdrv_transport_report_bad(struct drv_object *object)
{
	struct sockdrv_transport *t = (struct sockdrv_transport *)object;

	pthread_mutex_lock(&t->life.lock);
	t->life.error_pending = true;
	t->life.read_failed = true;
	t->life.write_failed = true;
	drv_outbox_drop(&t->out);
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

/* Epoll interest matching the transport's state; lock held. */
static void update_watch(struct sockdrv_transport *t)
{
	uint32_t want = 0;

	if (t->life.fd >= 0 && t->life.phase == DRV_TRANSPORT_ACTIVE &&
	    !t->life.read_failed)
		want |= EPOLLIN | EPOLLRDHUP;
	if (t->life.fd >= 0 && t->out.head && !t->life.write_failed)
		want |= EPOLLOUT;
	if (want == t->watched_events)
		return;
	if (sockdrv_io_watch(t, t->watched_events, want) < 0) {
		/* Cannot watch it: the transport is unusable. */
		t->life.read_failed = true;
		drv_transport_fail_output(&t->life, &t->out);
		want = 0;
		if (t->watched_events)
			sockdrv_io_watch(t, t->watched_events, 0);
	}
	t->watched_events = want;
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

/* Hands a complete message to the listener; false if it was refused. */
static bool deliver(const struct sockdrv_message_view *view,
		    IpczTransportActivityHandler handler, IpczHandle listener)
{
	IpczDriverHandle stack_handles[STACK_HANDLES];
	IpczDriverHandle *handles = stack_handles;
	IpczResult result = IPCZ_RESULT_OK;
	size_t made = 0;

	if (view->num_fds > STACK_HANDLES) {
		handles = malloc(view->num_fds * sizeof(*handles));
		if (!handles)
			result = IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	for (; made < view->num_fds && result == IPCZ_RESULT_OK; made++)
		result = sockdrv_descriptor_create(view->fds[made],
						   &handles[made]);
	if (result != IPCZ_RESULT_OK) {
		/* create() closed the fd it failed on; close the rest. */
		for (size_t i = made; i < view->num_fds; i++)
			close(view->fds[i]);
		if (made)
			drv_handles_release(&sockdrv_handles, handles,
					    made - 1);
	} else {
		result = handler(listener, view->data, view->num_bytes, handles,
				 view->num_fds, 0, NULL);
		/* Whatever ipcz did not take from a refused message goes. */
		if (result != IPCZ_RESULT_OK)
			drv_handles_release(&sockdrv_handles, handles,
					    view->num_fds);
	}
	if (handles != stack_handles)
		free(handles);
	return result == IPCZ_RESULT_OK;
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
