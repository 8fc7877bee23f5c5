// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "drivers/common/io_thread.h"
#include "drivers/kernel/descriptor.h"
#include "drivers/kernel/device.h"
#include "drivers/kernel/io_thread.h"
#include "drivers/kernel/transport.h"
#include "uapi/linux/ipcz.h"

/* Chunks read from one transport before the others get a turn. */
#define READ_BUDGET 64

static void destroy_transport(struct drv_object *object)
{
	struct kdrv_transport *t = (struct kdrv_transport *)object;

	drv_outbox_drop(&t->out);
	kdrv_incoming_release(&t->incoming);
	drv_transport_state_destroy(&t->life);
	free(t);
}

struct drv_transport_state *kdrv_transport_state(struct drv_object *object)
{
	return &((struct kdrv_transport *)object)->life;
}

/* Whether `fd` is a kernel transport: only those answer PEER_CRED. */
static bool is_transport_fd(int fd)
{
	struct ipcz_peer_cred cred = { .size = sizeof(cred) };

	return kdrv_ioctl(fd, IPCZ_IOC_PEER_CRED, &cred) == 0;
}

IpczResult kdrv_transport_adopt(int fd, IpczDriverHandle *handle)
{
	struct kdrv_transport *t;

	if (fd < 0)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (!is_transport_fd(fd) || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		close(fd);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		close(fd);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	drv_object_init(&t->base, DRV_TRANSPORT, destroy_transport);
	drv_transport_state_init(&t->life, &kdrv_io, &t->base, fd);
	t->chunk_limit = KDRV_MAX_CHUNK;
	return drv_handle_add(&kdrv_handles, &t->base, handle);
}

IpczResult kdrv_transport_create_pair(IpczDriverHandle *first,
				      IpczDriverHandle *second)
{
	struct ipcz_transport_pair args = {
		.size = sizeof(args),
		.flags = IPCZ_CLOEXEC,
	};
	struct drv_object *object;
	IpczResult result;
	int node = kdrv_device_fd();
	int err;

	if (node < 0)
		return IPCZ_RESULT_UNAVAILABLE;
	err = kdrv_ioctl(node, IPCZ_IOC_TRANSPORT_PAIR, &args);
	if (err)
		return kdrv_result_from_errno(err);
	result = kdrv_transport_adopt(args.fds[0], first);
	if (result != IPCZ_RESULT_OK) {
		close(args.fds[1]);
		return result;
	}
	result = kdrv_transport_adopt(args.fds[1], second);
	if (result != IPCZ_RESULT_OK) {
		object = drv_handle_take(&kdrv_handles, *first, DRV_TRANSPORT);
		if (object)
			kdrv_transport_close(object);
	}
	return result;
}

static const struct drv_transmit_ops transmit_ops = {
	.max_bytes = KDRV_MAX_MESSAGE_BYTES,
	.max_fds = KDRV_MAX_MESSAGE_FDS,
	.handles = &kdrv_handles,
	.take_fd = kdrv_descriptor_take_fd,
	.send = kdrv_outgoing_send,
};

IpczResult kdrv_transport_transmit(struct drv_object *object, const void *data,
				   size_t num_bytes,
				   const IpczDriverHandle *handles,
				   size_t num_handles)
{
	struct kdrv_transport *t = (struct kdrv_transport *)object;

	return drv_transport_transmit(&t->life, &t->out, &t->chunk_limit,
				      &transmit_ops, data, num_bytes, handles,
				      num_handles);
}

void kdrv_transport_report_bad(struct drv_object *object)
{
	struct kdrv_transport *t = (struct kdrv_transport *)object;

	pthread_mutex_lock(&t->life.lock);
	drv_transport_fail_all(&t->life, &t->out);
	pthread_mutex_unlock(&t->life.lock);
	drv_io_kick(&kdrv_io, &t->life);
}

void kdrv_transport_close(struct drv_object *object)
{
	struct kdrv_transport *t = (struct kdrv_transport *)object;

	pthread_mutex_lock(&t->life.lock);
	drv_transport_mark_closed(&t->life);
	pthread_mutex_unlock(&t->life.lock);
	/* The I/O thread lets go of it once nothing is owed. */
	drv_io_kick(&kdrv_io, &t->life);
	drv_object_unref(&t->base);
}

int kdrv_transport_dup_fd(struct kdrv_transport *t)
{
	int fd = -EBUSY;

	pthread_mutex_lock(&t->life.lock);
	if (t->life.phase == DRV_TRANSPORT_IDLE && !t->out.head &&
	    !t->life.closed && t->life.fd >= 0 && !t->life.write_failed) {
		fd = fcntl(t->life.fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			fd = -errno;
	}
	pthread_mutex_unlock(&t->life.lock);
	return fd;
}

int kdrv_transport_fd(struct kdrv_transport *t)
{
	int fd;

	pthread_mutex_lock(&t->life.lock);
	fd = t->life.fd;
	pthread_mutex_unlock(&t->life.lock);
	return fd;
}

void kdrv_transport_on_events(struct kdrv_transport *t, uint32_t events)
{
	if (!events || (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		t->input_ready = true;
}

static int watch(void *transport, uint32_t old_events, uint32_t new_events)
{
	struct kdrv_transport *t = transport;

	return kdrv_io_watch(t, t->life.fd, old_events, new_events);
}

/* Epoll interest matching the transport's state; lock held. */
static void update_watch(struct kdrv_transport *t)
{
	drv_transport_update_watch(&t->life, &t->out, &t->watched_events,
				   watch, t);
}

static IpczResult wrap_fd(int fd, size_t index, const void *fd_types,
			  IpczDriverHandle *handle)
{
	return kdrv_descriptor_create(fd, ((const uint32_t *)fd_types)[index],
				      handle);
}

/* Hands the message in `in` to the listener; false if it was refused. */
static bool deliver(struct kdrv_incoming *in,
		    IpczTransportActivityHandler handler, IpczHandle listener)
{
	bool taken = drv_transport_deliver(&kdrv_handles, handler, listener,
					   in->data, in->num_bytes, in->fds,
					   in->num_fds, wrap_fd, in->fd_types);

	kdrv_incoming_reset(in);
	return taken;
}

/* Reads and delivers a bounded number of chunks; true if more remain. */
static bool read_input(struct kdrv_transport *t, uint8_t *buffer)
{
	IpczTransportActivityHandler handler;
	IpczHandle listener;

	for (int budget = READ_BUDGET; t->input_ready; budget--) {
		if (!budget)
			return true;
		if (!drv_transport_may_deliver(&t->life, &handler, &listener))
			return false;
		switch (kdrv_incoming_receive(t->life.fd, &t->incoming,
					      buffer)) {
		case KDRV_RECEIVE_AGAIN:
			t->input_ready = false;
			break;
		case KDRV_RECEIVE_PARTIAL:
			break;
		case KDRV_RECEIVE_MESSAGE:
			if (!deliver(&t->incoming, handler, listener)) {
				drv_transport_fail_input(&t->life);
				return false;
			}
			break;
		default:
			/* Closed peer, hostile data or a failed transport. */
			t->input_ready = false;
			kdrv_incoming_reset(&t->incoming);
			drv_transport_fail_input(&t->life);
			return false;
		}
	}
	return false;
}

bool kdrv_transport_service(struct kdrv_transport *t, uint8_t *buffer)
{
	struct drv_owed_calls owed;
	bool more;

	pthread_mutex_lock(&t->life.lock);
	if (t->life.fd >= 0)
		drv_transport_flush(&t->life, &t->out, kdrv_outgoing_send,
				    &t->chunk_limit);
	pthread_mutex_unlock(&t->life.lock);

	more = read_input(t, buffer);

	pthread_mutex_lock(&t->life.lock);
	update_watch(t);
	if (drv_transport_take_owed(&t->life, &owed)) {
		/* DEACTIVATED is its last call: stop watching it. */
		update_watch(t);
		more = false;
	}
	pthread_mutex_unlock(&t->life.lock);
	drv_transport_make_owed_calls(&owed);
	return more;
}
