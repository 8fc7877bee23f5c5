// SPDX-License-Identifier: MIT
/* Outgoing messages and the queue of those that wait (outbox.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/common/outbox.h"

struct drv_outgoing *drv_outgoing_keep(struct drv_outgoing *m)
{
	size_t bytes = m->num_bytes - m->bytes_sent;
	size_t fd_count = m->num_fds - m->fds_sent;
	struct drv_outgoing *kept;
	uint8_t *buffers;

	/* One allocation: the header, then the bytes, then the fds. */
	kept = malloc(sizeof(*kept) + bytes + fd_count * sizeof(int));
	if (!kept)
		return NULL;
	buffers = (uint8_t *)(kept + 1);
	*kept = (struct drv_outgoing){
		.data = buffers,
		.num_bytes = bytes,
		.fds = (int *)(buffers + bytes),
		.num_fds = fd_count,
		.started = m->started,
		.owns_buffers = true,
	};
	if (bytes)
		memcpy(buffers, m->data + m->bytes_sent, bytes);
	if (fd_count)
		memcpy(kept->fds, m->fds + m->fds_sent,
		       fd_count * sizeof(int));
	/* The descriptors moved to the kept copy. */
	m->num_fds = m->fds_sent;
	return kept;
}

void drv_outgoing_free(struct drv_outgoing *m)
{
	for (size_t i = m->fds_sent; i < m->num_fds; i++) {
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	}
	if (m->owns_buffers)
		free(m);
}

void drv_outbox_drop(struct drv_outbox *box)
{
	while (box->head) {
		struct drv_outgoing *m = box->head;

		box->head = m->next;
		drv_outgoing_free(m);
	}
	box->tail = NULL;
	box->queued_bytes = 0;
}

/*
 * What a waiting message counts against DRV_MAX_QUEUED_BYTES: its bytes
 * and its bookkeeping, so that a flood of empty messages is bounded too.
 */
static size_t queued_cost(size_t rest)
{
	return rest + sizeof(struct drv_outgoing);
}

bool drv_outbox_queue_rest(struct drv_outbox *box, struct drv_outgoing *m)
{
	size_t rest = m->num_bytes - m->bytes_sent;
	struct drv_outgoing *kept;

	if (queued_cost(rest) > DRV_MAX_QUEUED_BYTES - box->queued_bytes)
		return false;
	kept = drv_outgoing_keep(m);
	if (!kept)
		return false;
	if (box->tail)
		box->tail->next = kept;
	else
		box->head = kept;
	box->tail = kept;
	box->queued_bytes += queued_cost(rest);
	return true;
}

int drv_outbox_flush(struct drv_outbox *box, int fd, drv_send_fn send,
		     size_t *limit)
{
	while (box->head) {
		struct drv_outgoing *m = box->head;
		size_t before = m->bytes_sent;
		int err = send(fd, m, limit);

		/* Partial progress counts even when the peer filled up. */
		box->queued_bytes -= m->bytes_sent - before;
		if (err)
			return err;
		box->head = m->next;
		if (!box->head)
			box->tail = NULL;
		box->queued_bytes -= queued_cost(0);
		drv_outgoing_free(m);
	}
	return 0;
}
