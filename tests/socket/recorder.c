// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/socket/recorder.h"

void recorder_init(struct recorder *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->changed, NULL);
	r->keep_data = true;
}

void recorder_destroy(struct recorder *r)
{
	for (size_t i = 0; i < r->count; i++) {
		for (size_t h = 0; h < r->calls[i].num_handles; h++)
			driver()->Close(r->calls[i].handles[h], 0, NULL);
		free(r->calls[i].data);
		free(r->calls[i].handles);
	}
	free(r->calls);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->changed);
}

static void record(struct recorder *r, const struct recorded_call *call)
{
	struct recorded_call copy = *call;

	if (r->count == r->capacity) {
		r->capacity = r->capacity ? r->capacity * 2 : 64;
		r->calls = realloc(r->calls, r->capacity * sizeof(*r->calls));
		if (!r->calls)
			abort();
	}
	copy.data = NULL;
	if (r->keep_data && call->num_bytes) {
		copy.data = malloc(call->num_bytes);
		memcpy(copy.data, call->data, call->num_bytes);
	}
	copy.handles = NULL;
	if (call->num_handles) {
		size_t size = call->num_handles * sizeof(IpczDriverHandle);

		copy.handles = malloc(size);
		memcpy(copy.handles, call->handles, size);
	}
	r->calls[r->count++] = copy;
}

IpczResult IPCZ_API recorder_handler(IpczHandle listener, const void *data,
				     size_t num_bytes,
				     const IpczDriverHandle *handles,
				     size_t num_handles,
				     IpczTransportActivityFlags flags,
				     const void *options)
{
	struct recorder *r = (struct recorder *)listener;
	struct recorded_call call = {
		.data = (uint8_t *)data, .num_bytes = num_bytes,
		.handles = (IpczDriverHandle *)handles,
		.num_handles = num_handles, .flags = flags,
	};
	IpczResult result = IPCZ_RESULT_OK;

	pthread_mutex_lock(&r->lock);
	if (r->busy++)
		r->overlaps++;
	if (r->deactivations)
		r->calls_after_deactivation++;
	pthread_mutex_unlock(&r->lock);

	if (r->hook && !flags)
		result = r->hook(r, &call);

	pthread_mutex_lock(&r->lock);
	if (flags & IPCZ_TRANSPORT_ACTIVITY_DEACTIVATED) {
		r->deactivations++;
	} else if (flags & IPCZ_TRANSPORT_ACTIVITY_ERROR) {
		r->errors++;
	} else {
		r->messages++;
		if (result == IPCZ_RESULT_OK)
			record(r, &call);
	}
	r->busy--;
	pthread_cond_broadcast(&r->changed);
	pthread_mutex_unlock(&r->lock);
	return result;
}

bool recorder_wait(struct recorder *r, const size_t *counter, size_t value,
		   int ms)
{
	struct timespec deadline;
	bool reached;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (long)(ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&r->lock);
	while (*counter < value) {
		if (pthread_cond_timedwait(&r->changed, &r->lock, &deadline) ==
		    ETIMEDOUT)
			break;
	}
	reached = *counter >= value;
	pthread_mutex_unlock(&r->lock);
	return reached;
}

size_t recorder_get(struct recorder *r, const size_t *counter)
{
	size_t value;

	pthread_mutex_lock(&r->lock);
	value = *counter;
	pthread_mutex_unlock(&r->lock);
	return value;
}

const struct IpczDriver *driver(void)
{
	return ipcz_socket_driver();
}

IpczResult activate(IpczDriverHandle transport, struct recorder *r)
{
	return driver()->ActivateTransport(transport, recorder_listener(r),
					   recorder_handler, 0, NULL);
}

void make_pair(IpczDriverHandle *a, IpczDriverHandle *b)
{
	if (driver()->CreateTransports(IPCZ_INVALID_DRIVER_HANDLE,
				       IPCZ_INVALID_DRIVER_HANDLE, 0, NULL, a,
				       b) != IPCZ_RESULT_OK)
		abort();
}

IpczResult send_bytes(IpczDriverHandle transport, const void *data,
		      size_t num_bytes)
{
	return driver()->Transmit(transport, data, num_bytes, NULL, 0, 0,
				  NULL);
}

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
