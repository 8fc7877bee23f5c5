// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/driver/activity_log.h"

void activity_log_init(struct activity_log *log,
		       const struct IpczDriver *driver)
{
	memset(log, 0, sizeof(*log));
	log->driver = driver;
	pthread_mutex_init(&log->lock, NULL);
	pthread_cond_init(&log->changed, NULL);
}

void activity_log_destroy(struct activity_log *log)
{
	for (size_t i = 0; i < log->count; i++) {
		struct activity *a = &log->calls[i];

		for (size_t h = 0; h < a->num_handles; h++) {
			if (a->handles[h])
				log->driver->Close(a->handles[h], 0, NULL);
		}
		free(a->data);
		free(a->handles);
	}
	free(log->calls);
	pthread_cond_destroy(&log->changed);
	pthread_mutex_destroy(&log->lock);
}

/* Appends a copy of one call; lock held. False without memory. */
static bool append(struct activity_log *log, const void *data,
		   size_t num_bytes, const IpczDriverHandle *handles,
		   size_t num_handles, uint32_t flags)
{
	struct activity *a;

	if (log->count == log->capacity) {
		size_t capacity = log->capacity ? log->capacity * 2 : 64;
		struct activity *grown;

		grown = realloc(log->calls, capacity * sizeof(*grown));
		if (!grown)
			return false;
		log->calls = grown;
		log->capacity = capacity;
	}
	a = &log->calls[log->count];
	memset(a, 0, sizeof(*a));
	if (num_bytes) {
		a->data = malloc(num_bytes);
		if (!a->data)
			return false;
		memcpy(a->data, data, num_bytes);
	}
	if (num_handles) {
		a->handles = malloc(num_handles * sizeof(*handles));
		if (!a->handles) {
			free(a->data);
			return false;
		}
		memcpy(a->handles, handles, num_handles * sizeof(*handles));
	}
	a->num_bytes = num_bytes;
	a->num_handles = num_handles;
	a->flags = flags;
	log->count++;
	return true;
}

static void count_call(struct activity_log *log, size_t num_bytes,
		       size_t num_handles, uint32_t flags)
{
	if (!log->armed)
		log->early_calls++;
	if (log->deactivations)
		log->after_deactivation++;
	if (flags & IPCZ_TRANSPORT_ACTIVITY_ERROR)
		log->errors++;
	if (flags & IPCZ_TRANSPORT_ACTIVITY_DEACTIVATED)
		log->deactivations++;
	if (!flags && (num_bytes || num_handles))
		log->messages++;
	if (!flags && !num_bytes && !num_handles)
		log->empties++;
}

IpczResult IPCZ_API activity_log_handler(IpczHandle listener,
					 const void *data, size_t num_bytes,
					 const IpczDriverHandle *handles,
					 size_t num_handles,
					 IpczTransportActivityFlags flags,
					 const void *options)
{
	struct activity_log *log = (struct activity_log *)(uintptr_t)listener;
	IpczResult result = IPCZ_RESULT_OK;
	struct activity call;
	bool overlap;

	overlap = atomic_fetch_add(&log->busy, 1) != 0;
	pthread_mutex_lock(&log->lock);
	if (overlap)
		log->overlaps++;
	if (!append(log, data, num_bytes, handles, num_handles, flags))
		result = IPCZ_RESULT_RESOURCE_EXHAUSTED;
	else
		call = log->calls[log->count - 1];
	pthread_mutex_unlock(&log->lock);

	if (result == IPCZ_RESULT_OK && log->hook && !flags)
		result = log->hook(log, &call);

	/* Counted last, so that a waiter sees the hook's work done. */
	pthread_mutex_lock(&log->lock);
	count_call(log, num_bytes, num_handles, flags);
	pthread_cond_broadcast(&log->changed);
	pthread_mutex_unlock(&log->lock);
	atomic_fetch_sub(&log->busy, 1);
	return result;
}

IpczResult activity_log_activate(struct activity_log *log,
				 IpczDriverHandle transport)
{
	pthread_mutex_lock(&log->lock);
	log->armed = true;
	pthread_mutex_unlock(&log->lock);
	return log->driver->ActivateTransport(transport,
					      (IpczHandle)(uintptr_t)log,
					      activity_log_handler, 0, NULL);
}

bool activity_log_wait(struct activity_log *log, const size_t *counter,
		       size_t value, int ms)
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
	pthread_mutex_lock(&log->lock);
	while (*counter < value) {
		if (pthread_cond_timedwait(&log->changed, &log->lock,
					   &deadline) == ETIMEDOUT)
			break;
	}
	reached = *counter >= value;
	pthread_mutex_unlock(&log->lock);
	return reached;
}

size_t activity_log_get(struct activity_log *log, const size_t *counter)
{
	size_t value;

	pthread_mutex_lock(&log->lock);
	value = *counter;
	pthread_mutex_unlock(&log->lock);
	return value;
}

struct activity activity_log_call(struct activity_log *log, size_t index)
{
	struct activity a = { 0 };

	pthread_mutex_lock(&log->lock);
	if (index < log->count)
		a = log->calls[index];
	pthread_mutex_unlock(&log->lock);
	return a;
}

IpczDriverHandle activity_log_take_handle(struct activity_log *log,
					  size_t index, size_t h)
{
	IpczDriverHandle handle = IPCZ_INVALID_DRIVER_HANDLE;

	pthread_mutex_lock(&log->lock);
	if (index < log->count && h < log->calls[index].num_handles) {
		handle = log->calls[index].handles[h];
		log->calls[index].handles[h] = IPCZ_INVALID_DRIVER_HANDLE;
	}
	pthread_mutex_unlock(&log->lock);
	return handle;
}

size_t activity_log_message_index(struct activity_log *log, size_t n)
{
	size_t found = SIZE_MAX;

	pthread_mutex_lock(&log->lock);
	for (size_t i = 0; i < log->count; i++) {
		const struct activity *a = &log->calls[i];

		if (a->flags || (!a->num_bytes && !a->num_handles))
			continue;
		if (!n--) {
			found = i;
			break;
		}
	}
	pthread_mutex_unlock(&log->lock);
	return found;
}
