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

#define STACK_HANDLES 16
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

static IpczResult take_descriptors(const IpczDriverHandle *handles,
				   size_t count, int *fds)
{
	return drv_handles_take_descriptors(&kdrv_handles, handles, count, fds,
					    kdrv_descriptor_take_fd);
}

/* Sends `m` now if nothing waits before it, else queues it; lock held. */
static IpczResult send_or_queue(struct kdrv_transport *t,
				struct drv_outgoing *m, bool *kick)
{
	int err = -EAGAIN;

	/* Nothing may overtake what is already queued. */
	if (!t->out.head)
		err = kdrv_outgoing_send(t->life.fd, m, &t->chunk_limit);
	if (!err)
		return IPCZ_RESULT_OK;
	*kick = true;
	if (err == -EAGAIN && drv_outbox_queue_rest(&t->out, m))
		return IPCZ_RESULT_OK;
	drv_transport_fail_output(&t->life, &t->out);
	return err == -EAGAIN ? IPCZ_RESULT_RESOURCE_EXHAUSTED :
				IPCZ_RESULT_UNAVAILABLE;
}

static void close_fds(int *fds, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
}

IpczResult kdrv_transport_transmit(struct drv_object *object, const void *data,
				   size_t num_bytes,
				   const IpczDriverHandle *handles,
				   size_t num_handles)
{
	struct kdrv_transport *t = (struct kdrv_transport *)object;
	int stack_fds[STACK_HANDLES], *fds = stack_fds;
	struct drv_outgoing m = { 0 };
	IpczResult result;
	bool kick = false;

	if (num_bytes > KDRV_MAX_MESSAGE_BYTES ||
	    num_handles > KDRV_MAX_MESSAGE_FDS ||
	    (num_bytes && !data) || (num_handles && !handles))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (num_handles > STACK_HANDLES) {
		fds = malloc(num_handles * sizeof(int));
		if (!fds)
			return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}

	pthread_mutex_lock(&t->life.lock);
	if (t->life.write_failed || t->life.closed || t->life.fd < 0) {
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
	/* Whatever neither went out nor into the queue is closed. */
	close_fds(fds + m.fds_sent, m.num_fds - m.fds_sent);
out:
	pthread_mutex_unlock(&t->life.lock);
	if (fds != stack_fds)
		free(fds);
	if (kick && drv_io_start(&kdrv_io) == IPCZ_RESULT_OK)
		drv_io_kick(&kdrv_io, &t->life);
	return result;
}

void kdrv_transport_report_bad(struct drv_object *object)
{
	struct kdrv_transport *t = (struct kdrv_transport *)object;

	pthread_mutex_lock(&t->life.lock);
	t->life.error_pending = true;
	t->life.read_failed = true;
	t->life.write_failed = true;
	drv_outbox_drop(&t->out);
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

/* Epoll interest matching the transport's state; lock held. */
static void update_watch(struct kdrv_transport *t)
{
	uint32_t want = 0;

	if (t->life.fd >= 0 && t->life.phase == DRV_TRANSPORT_ACTIVE &&
	    !t->life.read_failed)
		want |= EPOLLIN | EPOLLRDHUP;
	if (t->life.fd >= 0 && t->out.head && !t->life.write_failed)
		want |= EPOLLOUT;
	if (want == t->watched_events)
		return;
	if (kdrv_io_watch(t, t->life.fd, t->watched_events, want) < 0) {
		/* It cannot be watched: it is unusable. */
		t->life.read_failed = true;
		drv_transport_fail_output(&t->life, &t->out);
		want = 0;
		if (t->watched_events)
			kdrv_io_watch(t, t->life.fd, t->watched_events, 0);
	}
	t->watched_events = want;
}

/* Hands the message in `in` to the listener; false if it was refused. */
static bool deliver(struct kdrv_incoming *in,
		    IpczTransportActivityHandler handler, IpczHandle listener)
{
	IpczDriverHandle stack_handles[STACK_HANDLES];
	IpczDriverHandle *handles = stack_handles;
	IpczResult result = IPCZ_RESULT_OK;
	size_t count = in->num_fds, made = 0;

	if (count > STACK_HANDLES) {
		handles = malloc(count * sizeof(*handles));
		if (!handles)
			return false;
	}
	/* Every descriptor goes into an object (or is closed by create). */
	for (; made < count && result == IPCZ_RESULT_OK; made++) {
		result = kdrv_descriptor_create(in->fds[made],
						in->fd_types[made],
						&handles[made]);
		in->fds[made] = -1;
	}
	if (result == IPCZ_RESULT_OK) {
		result = handler(listener, in->data, in->num_bytes, handles,
				 count, 0, NULL);
		/* What ipcz did not take from a refused message goes. */
		if (result != IPCZ_RESULT_OK)
			drv_handles_release(&kdrv_handles, handles, count);
	} else {
		drv_handles_release(&kdrv_handles, handles, made - 1);
	}
	if (handles != stack_handles)
		free(handles);
	kdrv_incoming_reset(in);
	return result == IPCZ_RESULT_OK;
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
