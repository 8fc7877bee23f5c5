// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/socket/packet.h"

#define HEADER_SIZE sizeof(struct sockdrv_packet_header)
#define CONTROL_SIZE CMSG_SPACE(sizeof(int) * SOCKDRV_MAX_PACKET_FDS)

union control_buffer {
	struct cmsghdr align;
	char bytes[CONTROL_SIZE];
};

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static void close_fds(int *fds, size_t count)
{
	for (size_t i = 0; i < count; i++)
		close(fds[i]);
}

static void attach_fds(struct msghdr *msg, union control_buffer *control,
		       const int *fds, size_t count)
{
	struct cmsghdr *cmsg;

	if (!count)
		return;
	memset(control, 0, sizeof(*control));
	msg->msg_control = control->bytes;
	msg->msg_controllen = CMSG_SPACE(sizeof(int) * count);
	cmsg = CMSG_FIRSTHDR(msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int) * count);
	memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * count);
}

/* Sends the next packet of `m`; 0 or a negative errno. */
static int send_next_packet(int socket_fd, struct drv_outgoing *m,
			    size_t max_payload)
{
	size_t payload = min_size(m->num_bytes - m->bytes_sent, max_payload);
	size_t fd_count = min_size(m->num_fds - m->fds_sent,
				   SOCKDRV_MAX_PACKET_FDS);
	struct sockdrv_packet_header header = {
		.magic = SOCKDRV_PACKET_MAGIC,
		.kind = m->started ? SOCKDRV_PACKET_MORE : SOCKDRV_PACKET_FIRST,
		.num_fds = (uint16_t)fd_count,
	};
	struct iovec iov[2] = {
		{ .iov_base = &header, .iov_len = HEADER_SIZE },
		{ .iov_base = (void *)(m->data + m->bytes_sent),
		  .iov_len = payload },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = payload ? 2 : 1 };
	union control_buffer control;

	if (!m->started) {
		header.message_bytes = (uint32_t)m->num_bytes;
		header.message_fds = (uint32_t)m->num_fds;
	}
	attach_fds(&msg, &control, m->fds + m->fds_sent, fd_count);
	if (sendmsg(socket_fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return -errno;

	/* The kernel holds its own references to descriptors in flight. */
	close_fds(m->fds + m->fds_sent, fd_count);
	m->fds_sent += fd_count;
	m->bytes_sent += payload;
	m->started = true;
	return 0;
}

int sockdrv_outgoing_send(int socket_fd, struct drv_outgoing *message,
			  size_t *max_payload)
{
	while (!message->started || message->bytes_sent < message->num_bytes ||
	       message->fds_sent < message->num_fds) {
		int err = send_next_packet(socket_fd, message, *max_payload);

		if (err == -EINTR)
			continue;
		if (err == -EMSGSIZE && *max_payload > SOCKDRV_MIN_PAYLOAD) {
			/* The socket's buffer is smaller than our packets. */
			*max_payload /= 2;
			continue;
		}
		if (err)
			return err;
	}
	return 0;
}

/* Gathers every descriptor the kernel installed; false if not all rights. */
static bool collect_fds(struct msghdr *msg, int *fds, size_t *count)
{
	bool ok = true;

	*count = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c;
	     c = CMSG_NXTHDR(msg, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			ok = false;
			continue;
		}
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (*count < SOCKDRV_MAX_PACKET_FDS) {
				fds[(*count)++] = fd;
			} else {
				close(fd);
				ok = false;
			}
		}
	}
	return ok;
}

void sockdrv_incoming_reset(struct sockdrv_incoming *in)
{
	if (in->in_progress)
		close_fds(in->fds, in->fds_received);
	free(in->data);
	free(in->fds);
	in->data = NULL;
	in->fds = NULL;
	in->capacity = 0;
	in->in_progress = false;
}

static bool reserve_bytes(struct sockdrv_incoming *in, size_t needed)
{
	size_t capacity = in->capacity ? in->capacity : 4096;
	uint8_t *bigger;

	if (needed <= in->capacity)
		return true;
	while (capacity < needed)
		capacity *= 2;
	if (capacity > in->num_bytes)
		capacity = in->num_bytes;
	bigger = realloc(in->data, capacity);
	if (!bigger)
		return false;
	in->data = bigger;
	in->capacity = capacity;
	return true;
}

static bool start_message(struct sockdrv_incoming *in,
			  const struct sockdrv_packet_header *header)
{
	if (header->message_bytes > SOCKDRV_MAX_MESSAGE_BYTES ||
	    header->message_fds > SOCKDRV_MAX_MESSAGE_FDS)
		return false;
	/* Large buffers from an earlier message are not kept around. */
	if (in->capacity > (4u << 20)) {
		free(in->data);
		in->data = NULL;
		in->capacity = 0;
	}
	free(in->fds);
	in->fds = NULL;
	if (header->message_fds) {
		in->fds = malloc(header->message_fds * sizeof(int));
		if (!in->fds)
			return false;
	}
	in->num_bytes = header->message_bytes;
	/*
	 * Reserve the whole message up front unless it is huge: a peer that
	 * announces much and sends little then costs address space only.
	 */
	if (!reserve_bytes(in, in->num_bytes < SOCKDRV_PREALLOCATE_LIMIT ?
				       in->num_bytes :
				       SOCKDRV_PREALLOCATE_LIMIT))
		return false;
	in->bytes_received = 0;
	in->num_fds = header->message_fds;
	in->fds_received = 0;
	in->in_progress = true;
	return true;
}

static bool append_packet(struct sockdrv_incoming *in, const uint8_t *payload,
			  size_t bytes, const int *fds, size_t fd_count)
{
	if (bytes > in->num_bytes - in->bytes_received ||
	    fd_count > in->num_fds - in->fds_received)
		return false;
	if (!reserve_bytes(in, in->bytes_received + bytes))
		return false;
	if (bytes)
		memcpy(in->data + in->bytes_received, payload, bytes);
	if (fd_count)
		memcpy(in->fds + in->fds_received, fds,
		       fd_count * sizeof(int));
	in->bytes_received += bytes;
	in->fds_received += fd_count;
	return true;
}

static bool message_complete(const struct sockdrv_incoming *in)
{
	return in->bytes_received == in->num_bytes &&
	       in->fds_received == in->num_fds;
}

/* Handles a well-formed-looking packet; false if it breaks the rules. */
static bool accept_packet(struct sockdrv_incoming *in,
			  const struct sockdrv_packet_header *header,
			  const uint8_t *payload, size_t bytes, int *fds,
			  size_t fd_count, struct sockdrv_message_view *view,
			  bool *complete)
{
	*complete = false;
	if (header->kind == SOCKDRV_PACKET_FIRST) {
		if (in->in_progress)
			return false;
		if (bytes == header->message_bytes &&
		    fd_count == header->message_fds) {
			/* The common case: the message is this one packet. */
			*view = (struct sockdrv_message_view){
				.data = payload, .num_bytes = bytes,
				.fds = fds, .num_fds = fd_count,
			};
			*complete = true;
			return true;
		}
		if (!start_message(in, header))
			return false;
	} else if (header->kind != SOCKDRV_PACKET_MORE || !in->in_progress) {
		return false;
	}
	if (!append_packet(in, payload, bytes, fds, fd_count))
		return false;
	if (message_complete(in)) {
		in->in_progress = false;
		*view = (struct sockdrv_message_view){
			.data = in->data, .num_bytes = in->num_bytes,
			.fds = in->fds, .num_fds = in->num_fds,
		};
		*complete = true;
	}
	return true;
}

enum sockdrv_receive_result
sockdrv_incoming_receive(int socket_fd, struct sockdrv_incoming *in,
			 uint8_t *buffer, struct sockdrv_message_view *view)
{
	struct sockdrv_packet_header header;
	struct iovec iov = { .iov_base = buffer,
			     .iov_len = SOCKDRV_RECEIVE_BUFFER };
	union control_buffer control;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.bytes, .msg_controllen = CONTROL_SIZE,
	};
	size_t fd_count;
	bool rights_only, complete;
	ssize_t n;

	do {
		n = recvmsg(socket_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return SOCKDRV_RECEIVE_AGAIN;
		return errno == ECONNRESET ? SOCKDRV_RECEIVE_CLOSED :
					     SOCKDRV_RECEIVE_FAILED;
	}
	rights_only = collect_fds(&msg, in->packet_fds, &fd_count);
	if (n == 0 && !fd_count && !msg.msg_flags)
		return SOCKDRV_RECEIVE_CLOSED;
	if (!rights_only || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    (size_t)n < HEADER_SIZE)
		goto bad;
	memcpy(&header, buffer, HEADER_SIZE);
	if (header.magic != SOCKDRV_PACKET_MAGIC || header.num_fds != fd_count)
		goto bad;
	if (!accept_packet(in, &header, buffer + HEADER_SIZE,
			   (size_t)n - HEADER_SIZE, in->packet_fds, fd_count,
			   view, &complete))
		goto bad;
	return complete ? SOCKDRV_RECEIVE_MESSAGE : SOCKDRV_RECEIVE_PARTIAL;

bad:
	close_fds(in->packet_fds, fd_count);
	sockdrv_incoming_reset(in);
	return SOCKDRV_RECEIVE_BAD;
}
