// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/kernel/device.h"
#include "drivers/kernel/message.h"
#include "uapi/linux/ipcz.h"

#define STACK_CHUNK 4096u

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static void close_fds(int *fds, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* Sends the next chunk of `m`, of at most `limit` payload bytes. */
static int send_chunk(int fd, struct drv_outgoing *m, size_t limit)
{
	size_t payload = min_size(m->num_bytes - m->bytes_sent, limit);
	size_t nfds = min_size(m->num_fds - m->fds_sent, KDRV_CHUNK_FDS);
	struct kdrv_chunk_header header = {
		.magic = KDRV_CHUNK_MAGIC,
		.kind = m->started ? KDRV_CHUNK_MORE : KDRV_CHUNK_FIRST,
		.num_fds = (uint16_t)nfds,
		.message_bytes = m->started ? 0 : (uint32_t)m->num_bytes,
		.message_fds = m->started ? 0 : (uint32_t)m->num_fds,
	};
	size_t total = sizeof(header) + payload;
	uint8_t stack_buffer[STACK_CHUNK];
	uint8_t *buffer = stack_buffer;
	struct ipcz_send args = { .size = sizeof(args) };
	int err;

	if (total > sizeof(stack_buffer)) {
		buffer = malloc(total);
		if (!buffer)
			return -ENOMEM;
	}
	memcpy(buffer, &header, sizeof(header));
	if (payload)
		memcpy(buffer + sizeof(header), m->data + m->bytes_sent,
		       payload);
	args.data = (uintptr_t)buffer;
	args.data_len = (uint32_t)total;
	args.fds = (uintptr_t)(m->fds + m->fds_sent);
	args.num_fds = (uint32_t)nfds;
	err = kdrv_ioctl(fd, IPCZ_IOC_SEND, &args);
	if (buffer != stack_buffer)
		free(buffer);
	if (err)
		return err;
	/* The kernel holds its own references now; ours go. */
	close_fds(m->fds + m->fds_sent, nfds);
	m->fds_sent += nfds;
	m->bytes_sent += payload;
	m->started = true;
	return 0;
}

static bool outgoing_done(const struct drv_outgoing *m)
{
	return m->started && m->bytes_sent == m->num_bytes &&
	       m->fds_sent == m->num_fds;
}

int kdrv_outgoing_send(int fd, struct drv_outgoing *m, size_t *chunk_limit)
{
	while (!outgoing_done(m)) {
		int err = send_chunk(fd, m, *chunk_limit);

		/* The peer's queue is smaller than a chunk: use smaller. */
		if (err == -EMSGSIZE && *chunk_limit > KDRV_MIN_CHUNK) {
			*chunk_limit /= 2;
			continue;
		}
		if (err)
			return err;
	}
	return 0;
}

void kdrv_incoming_reset(struct kdrv_incoming *in)
{
	if (in->fds)
		close_fds(in->fds, in->fds_received);
	free(in->fds);
	free(in->fd_types);
	in->fds = NULL;
	in->fd_types = NULL;
	in->in_progress = false;
	in->num_bytes = 0;
	in->bytes_received = 0;
	in->num_fds = 0;
	in->fds_received = 0;
	/* Keep a small buffer for the next message, not a huge one. */
	if (in->capacity > KDRV_RECEIVE_BUFFER) {
		free(in->data);
		in->data = NULL;
		in->capacity = 0;
	}
}

void kdrv_incoming_release(struct kdrv_incoming *in)
{
	kdrv_incoming_reset(in);
	free(in->data);
	in->data = NULL;
	in->capacity = 0;
}

/* Room for `more` bytes after those received, within the announced size. */
static bool reserve(struct kdrv_incoming *in, size_t more)
{
	size_t need = in->bytes_received + more;
	size_t capacity = in->capacity ? in->capacity : 256;
	uint8_t *grown;

	if (need <= in->capacity)
		return true;
	while (capacity < need)
		capacity *= 2;
	capacity = min_size(capacity, in->num_bytes);
	grown = realloc(in->data, capacity);
	if (!grown)
		return false;
	in->data = grown;
	in->capacity = capacity;
	return true;
}

static bool start_message(struct kdrv_incoming *in,
			  const struct kdrv_chunk_header *header)
{
	if (in->in_progress || header->message_bytes > KDRV_MAX_MESSAGE_BYTES ||
	    header->message_fds > KDRV_MAX_MESSAGE_FDS)
		return false;
	in->in_progress = true;
	in->num_bytes = header->message_bytes;
	in->num_fds = header->message_fds;
	if (in->num_fds) {
		in->fds = malloc(in->num_fds * sizeof(*in->fds));
		in->fd_types = malloc(in->num_fds * sizeof(*in->fd_types));
		if (!in->fds || !in->fd_types)
			return false;
	}
	return true;
}

/* Checks one chunk against the message it belongs to and keeps it. */
static bool take_chunk(struct kdrv_incoming *in,
		       const struct kdrv_chunk_header *header,
		       const uint8_t *payload, size_t payload_len,
		       int *fds, const uint32_t *types, size_t nfds)
{
	if (header->magic != KDRV_CHUNK_MAGIC || header->num_fds != nfds)
		return false;
	if (header->kind == KDRV_CHUNK_FIRST) {
		if (!start_message(in, header))
			return false;
	} else if (header->kind != KDRV_CHUNK_MORE || !in->in_progress ||
		   header->message_bytes || header->message_fds ||
		   (!payload_len && !nfds)) {
		return false;
	}
	if (payload_len > in->num_bytes - in->bytes_received ||
	    nfds > in->num_fds - in->fds_received)
		return false;
	if (payload_len && !reserve(in, payload_len))
		return false;
	if (payload_len)
		memcpy(in->data + in->bytes_received, payload, payload_len);
	in->bytes_received += payload_len;
	for (size_t i = 0; i < nfds; i++) {
		in->fds[in->fds_received] = fds[i];
		in->fd_types[in->fds_received] = types[i];
		in->fds_received++;
		fds[i] = -1;
	}
	return true;
}

enum kdrv_receive_result kdrv_incoming_receive(int fd,
					       struct kdrv_incoming *in,
					       uint8_t *buffer)
{
	int fds[KDRV_CHUNK_FDS];
	uint32_t types[KDRV_CHUNK_FDS];
	struct kdrv_chunk_header header;
	struct ipcz_recv args = {
		.size = sizeof(args),
		.flags = IPCZ_CLOEXEC,
		.data = (uintptr_t)buffer,
		.fds = (uintptr_t)fds,
		.fd_types = (uintptr_t)types,
		.data_len = KDRV_RECEIVE_BUFFER,
		.num_fds = KDRV_CHUNK_FDS,
	};
	int err = kdrv_ioctl(fd, IPCZ_IOC_RECV, &args);

	if (err == -EAGAIN)
		return KDRV_RECEIVE_AGAIN;
	if (err == -EPIPE)
		return KDRV_RECEIVE_CLOSED;
	/* Larger than any chunk we would send: not one of ours. */
	if (err == -EMSGSIZE)
		return KDRV_RECEIVE_BAD;
	if (err)
		return KDRV_RECEIVE_FAILED;
	if (args.data_len < sizeof(header) || args.num_fds > KDRV_CHUNK_FDS) {
		close_fds(fds, args.num_fds);
		return KDRV_RECEIVE_BAD;
	}
	memcpy(&header, buffer, sizeof(header));
	if (!take_chunk(in, &header, buffer + sizeof(header),
			args.data_len - sizeof(header), fds, types,
			args.num_fds)) {
		close_fds(fds, args.num_fds);
		kdrv_incoming_reset(in);
		return KDRV_RECEIVE_BAD;
	}
	if (in->bytes_received == in->num_bytes &&
	    in->fds_received == in->num_fds)
		return KDRV_RECEIVE_MESSAGE;
	return KDRV_RECEIVE_PARTIAL;
}
