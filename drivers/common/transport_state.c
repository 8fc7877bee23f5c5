// SPDX-License-Identifier: MIT
/* The shared transport life cycle (transport_state.h). */
#include <errno.h>
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
