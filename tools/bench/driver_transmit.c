// SPDX-License-Identifier: MIT
/*
 * The socket driver alone (no libipcz): each message is one Transmit(),
 * delivered by the driver's I/O thread to a handler that queues a copy for
 * the waiting benchmark thread. This is what libipcz over the socket
 * driver pays per driver message, plus the hand-off between threads.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ipcz/socket_driver.h>

#include "tools/bench/bench.h"

struct queued {
	struct queued *next;
	size_t size;
	uint8_t data[];
};

struct bench_channel {
	int fds[2];
	IpczDriverHandle transport;
	pthread_mutex_t lock;
	pthread_cond_t arrived;
	struct queued *head, *tail;
	bool failed;
};

static const struct IpczDriver *driver(void)
{
	return ipcz_socket_driver();
}

static IpczResult IPCZ_API on_activity(IpczHandle listener, const void *data,
				       size_t num_bytes,
				       const IpczDriverHandle *handles,
				       size_t num_handles,
				       IpczTransportActivityFlags flags,
				       const void *options)
{
	struct bench_channel *c = (struct bench_channel *)listener;
	struct queued *q = NULL;

	if (!flags) {
		q = malloc(sizeof(*q) + num_bytes);
		if (!q)
			return IPCZ_RESULT_RESOURCE_EXHAUSTED;
		q->next = NULL;
		q->size = num_bytes;
		memcpy(q->data, data, num_bytes);
	}
	pthread_mutex_lock(&c->lock);
	if (q) {
		if (c->tail)
			c->tail->next = q;
		else
			c->head = q;
		c->tail = q;
	} else if (flags & IPCZ_TRANSPORT_ACTIVITY_ERROR) {
		c->failed = true;
	}
	pthread_cond_signal(&c->arrived);
	pthread_mutex_unlock(&c->lock);
	return IPCZ_RESULT_OK;
}

static struct bench_channel *transmit_create(void)
{
	struct bench_channel *c = calloc(1, sizeof(*c));

	if (!c || ipcz_socket_pair(c->fds)) {
		free(c);
		return NULL;
	}
	return c;
}

static int transmit_attach(struct bench_channel *c, int side)
{
	close(c->fds[!side]);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->arrived, NULL);
	if (ipcz_socket_transport_from_fd(c->fds[side], &c->transport))
		return -1;
	return driver()->ActivateTransport(c->transport, (IpczHandle)c,
					   on_activity, 0, NULL) ? -1 : 0;
}

static int transmit_send(struct bench_channel *c, const void *data,
			 size_t size)
{
	return driver()->Transmit(c->transport, data, size, NULL, 0, 0, NULL) ?
		       -1 : 0;
}

static ssize_t transmit_receive(struct bench_channel *c, void *buffer,
				size_t capacity)
{
	struct queued *q;
	ssize_t size;

	pthread_mutex_lock(&c->lock);
	while (!c->head && !c->failed)
		pthread_cond_wait(&c->arrived, &c->lock);
	q = c->head;
	if (q) {
		c->head = q->next;
		if (!c->head)
			c->tail = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	if (!q || q->size > capacity) {
		free(q);
		return -1;
	}
	memcpy(buffer, q->data, q->size);
	size = (ssize_t)q->size;
	free(q);
	return size;
}

static void transmit_detach(struct bench_channel *c, int side)
{
	if (side < 0) {
		close(c->fds[0]);
		close(c->fds[1]);
	}
	/* The processes exit right after; the driver cleans up with them. */
	free(side < 0 ? c : NULL);
}

const struct bench_transport bench_socket_driver = {
	.name = "socket-driver",
	.create = transmit_create,
	.attach = transmit_attach,
	.send = transmit_send,
	.receive = transmit_receive,
	.detach = transmit_detach,
};
