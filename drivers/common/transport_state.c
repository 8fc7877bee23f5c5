// SPDX-License-Identifier: MIT
/* The shared transport life cycle (transport_state.h). */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "drivers/common/io_thread.h"
#include "drivers/common/transport_state.h"

void drv_transport_state_init(struct drv_transport_state *state,
			      struct drv_io_thread *io,
			      struct drv_object *owner, int fd)
{
	state->io = io;
	state->owner = owner;
	pthread_mutex_init(&state->lock, NULL);
	state->fd = fd;
	state->phase = DRV_TRANSPORT_IDLE;
}

void drv_transport_state_destroy(struct drv_transport_state *state)
{
	if (state->fd >= 0)
		close(state->fd);
	pthread_mutex_destroy(&state->lock);
}

IpczResult drv_transport_activate(struct drv_transport_state *state,
				  IpczHandle listener,
				  IpczTransportActivityHandler handler)
{
	/* Started first, so that an active transport always has a thread. */
	IpczResult result = drv_io_start(state->io);

	if (result != IPCZ_RESULT_OK)
		return result;
	pthread_mutex_lock(&state->lock);
	if (state->phase != DRV_TRANSPORT_IDLE || state->closed ||
	    state->fd < 0) {
		pthread_mutex_unlock(&state->lock);
		return IPCZ_RESULT_FAILED_PRECONDITION;
	}
	state->phase = DRV_TRANSPORT_ACTIVE;
	state->listener = listener;
	state->handler = handler;
	pthread_mutex_unlock(&state->lock);
	drv_io_kick(state->io, state);
	return IPCZ_RESULT_OK;
}

IpczResult drv_transport_deactivate(struct drv_transport_state *state)
{
	pthread_mutex_lock(&state->lock);
	if (state->phase != DRV_TRANSPORT_ACTIVE) {
		pthread_mutex_unlock(&state->lock);
		return IPCZ_RESULT_FAILED_PRECONDITION;
	}
	state->phase = DRV_TRANSPORT_DEACTIVATING;
	pthread_mutex_unlock(&state->lock);
	/* The I/O thread makes the DEACTIVATED call, after any in flight. */
	drv_io_kick(state->io, state);
	return IPCZ_RESULT_OK;
}

void drv_transport_mark_closed(struct drv_transport_state *state)
{
	state->closed = true;
	if (state->phase == DRV_TRANSPORT_ACTIVE)
		state->phase = DRV_TRANSPORT_DEACTIVATING;
}

void drv_transport_fail_output(struct drv_transport_state *state,
			       struct drv_outbox *out)
{
	state->write_failed = true;
	state->error_pending = true;
	drv_outbox_drop(out);
}

void drv_transport_flush(struct drv_transport_state *state,
			 struct drv_outbox *out, drv_send_fn send,
			 size_t *limit)
{
	int err;

	if (state->write_failed)
		return;
	err = drv_outbox_flush(out, state->fd, send, limit);
	if (err && err != -EAGAIN)
		drv_transport_fail_output(state, out);
}

/* Descriptors (or handles) of one message that fit on the stack. */
#define STACK_FDS 16

static bool transmit_arguments_fit(const struct drv_transmit_ops *ops,
				   const void *data, size_t num_bytes,
				   const IpczDriverHandle *handles,
				   size_t num_handles)
{
	return num_bytes <= ops->max_bytes && num_handles <= ops->max_fds &&
	       (!num_bytes || data) && (!num_handles || handles);
}

/* Sends `m` now if nothing waits before it, else queues it; lock held. */
static IpczResult send_or_queue(struct drv_transport_state *state,
				struct drv_outbox *out, size_t *limit,
				drv_send_fn send, struct drv_outgoing *m,
				bool *kick)
{
	int err = -EAGAIN;

	/* Nothing may overtake what is already queued. */
	if (!out->head)
		err = send(state->fd, m, limit);
	if (!err)
		return IPCZ_RESULT_OK;
	*kick = true;
	if (err == -EAGAIN && drv_outbox_queue_rest(out, m))
		return IPCZ_RESULT_OK;
	drv_transport_fail_output(state, out);
	return err == -EAGAIN ? IPCZ_RESULT_RESOURCE_EXHAUSTED :
				IPCZ_RESULT_UNAVAILABLE;
}

IpczResult drv_transport_transmit(struct drv_transport_state *state,
				  struct drv_outbox *out, size_t *limit,
				  const struct drv_transmit_ops *ops,
				  const void *data, size_t num_bytes,
				  const IpczDriverHandle *handles,
				  size_t num_handles)
{
	int stack_fds[STACK_FDS], *fds = stack_fds;
	struct drv_outgoing m = { 0 };
	IpczResult result;
	bool kick = false;

	if (!transmit_arguments_fit(ops, data, num_bytes, handles,
				    num_handles))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (num_handles > STACK_FDS) {
		fds = malloc(num_handles * sizeof(int));
		if (!fds)
			return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	pthread_mutex_lock(&state->lock);
	if (state->write_failed || state->closed || state->fd < 0) {
		result = IPCZ_RESULT_UNAVAILABLE;
		goto out;
	}
	result = drv_handles_take_descriptors(ops->handles, handles,
					      num_handles, fds, ops->take_fd);
	if (result != IPCZ_RESULT_OK)
		goto out;
	m.data = data;
	m.num_bytes = num_bytes;
	m.fds = fds;
	m.num_fds = num_handles;
	result = send_or_queue(state, out, limit, ops->send, &m, &kick);
	/* Descriptors that neither went out nor into the queue are closed. */
	drv_outgoing_free(&m);
out:
	pthread_mutex_unlock(&state->lock);
	if (fds != stack_fds)
		free(fds);
	/* The thread may not run yet if the transport was never activated. */
	if (kick && drv_io_start(state->io) == IPCZ_RESULT_OK)
		drv_io_kick(state->io, state);
	return result;
}

void drv_transport_fail_all(struct drv_transport_state *state,
			    struct drv_outbox *out)
{
	state->error_pending = true;
	state->read_failed = true;
	state->write_failed = true;
	drv_outbox_drop(out);
}

void drv_transport_update_watch(struct drv_transport_state *state,
				struct drv_outbox *out, uint32_t *watched,
				drv_watch_fn watch, void *transport)
{
	uint32_t want = 0;

	if (state->fd >= 0 && state->phase == DRV_TRANSPORT_ACTIVE &&
	    !state->read_failed)
		want |= EPOLLIN | EPOLLRDHUP;
	if (state->fd >= 0 && out->head && !state->write_failed)
		want |= EPOLLOUT;
	if (want == *watched)
		return;
	if (watch(transport, *watched, want) < 0) {
		state->read_failed = true;
		drv_transport_fail_output(state, out);
		want = 0;
		if (*watched)
			watch(transport, *watched, 0);
	}
	*watched = want;
}

static void close_fds(int *fds, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

bool drv_transport_deliver(struct drv_handle_table *table,
			   IpczTransportActivityHandler handler,
			   IpczHandle listener, const void *data,
			   size_t num_bytes, int *fds, size_t num_fds,
			   drv_wrap_fd_fn wrap, const void *context)
{
	IpczDriverHandle stack_handles[STACK_FDS] = { 0 };
	IpczDriverHandle *handles = stack_handles;
	IpczResult result = IPCZ_RESULT_OK;
	size_t made = 0;

	if (num_fds > STACK_FDS) {
		handles = malloc(num_fds * sizeof(*handles));
		if (!handles)
			result = IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	for (; made < num_fds && result == IPCZ_RESULT_OK; made++) {
		result = wrap(fds[made], made, context, &handles[made]);
		fds[made] = -1;
	}
	if (result == IPCZ_RESULT_OK) {
		result = handler(listener, data, num_bytes, handles, num_fds,
				 0, NULL);
		/* What ipcz did not take from a refused message goes. */
		if (result != IPCZ_RESULT_OK)
			drv_handles_release(table, handles, num_fds);
	} else {
		/* wrap() closed the one it failed on; the rest go too. */
		close_fds(fds + made, num_fds - made);
		if (made)
			drv_handles_release(table, handles, made - 1);
	}
	if (handles != stack_handles)
		free(handles);
	return result == IPCZ_RESULT_OK;
}

void drv_transport_fail_input(struct drv_transport_state *state)
{
	pthread_mutex_lock(&state->lock);
	state->read_failed = true;
	state->error_pending = true;
	pthread_mutex_unlock(&state->lock);
}

bool drv_transport_may_deliver(struct drv_transport_state *state,
			       IpczTransportActivityHandler *handler,
			       IpczHandle *listener)
{
	bool ok;

	pthread_mutex_lock(&state->lock);
	ok = state->phase == DRV_TRANSPORT_ACTIVE && !state->read_failed;
	*handler = state->handler;
	*listener = state->listener;
	pthread_mutex_unlock(&state->lock);
	return ok;
}

bool drv_transport_take_owed(struct drv_transport_state *state,
			     struct drv_owed_calls *owed)
{
	owed->error = false;
	owed->deactivated = false;
	if (state->phase == DRV_TRANSPORT_ACTIVE && state->error_pending &&
	    !state->error_reported) {
		state->error_reported = true;
		owed->error = true;
	}
	if (state->phase == DRV_TRANSPORT_DEACTIVATING) {
		state->phase = DRV_TRANSPORT_DEACTIVATED;
		owed->deactivated = true;
		owed->error = false;
	}
	owed->handler = state->handler;
	owed->listener = state->listener;
	return owed->deactivated;
}

static void call_handler(const struct drv_owed_calls *owed, uint32_t flags)
{
	owed->handler(owed->listener, NULL, 0, NULL, 0, flags, NULL);
}

void drv_transport_make_owed_calls(const struct drv_owed_calls *owed)
{
	if (owed->error)
		call_handler(owed, IPCZ_TRANSPORT_ACTIVITY_ERROR);
	if (owed->deactivated)
		call_handler(owed, IPCZ_TRANSPORT_ACTIVITY_DEACTIVATED);
}
