// SPDX-License-Identifier: MIT
/*
 * Baseline: an AF_UNIX SOCK_STREAM socketpair with blocking I/O. Each
 * message is a 4-byte length and the bytes; small messages are received
 * with one read into a staging buffer, large ones straight into place.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tools/bench/bench.h"

#define STAGING 65536

struct bench_channel {
	int fds[2];
	int fd;
	uint8_t *staging;
	size_t staged;		/* bytes in staging not yet consumed */
	size_t offset;
};

static struct bench_channel *unix_create(void)
{
	struct bench_channel *c = calloc(1, sizeof(*c));

	if (!c || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c->fds)) {
		free(c);
		return NULL;
	}
	return c;
}

static int unix_attach(struct bench_channel *c, int side)
{
	c->fd = c->fds[side];
	close(c->fds[!side]);
	c->staging = malloc(STAGING);
	return c->staging ? 0 : -1;
}

static int write_all(int fd, struct iovec *iov, int count)
{
	while (count) {
		ssize_t n = writev(fd, iov, count);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (count && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			count--;
		}
		if (count) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static int unix_send(struct bench_channel *c, const void *data, size_t size)
{
	uint32_t header = (uint32_t)size;
	struct iovec iov[2] = {
		{ .iov_base = &header, .iov_len = sizeof(header) },
		{ .iov_base = (void *)data, .iov_len = size },
	};

	return write_all(c->fd, iov, size ? 2 : 1);
}

/* Reads into staging until at least `want` bytes are staged. */
static int stage(struct bench_channel *c, size_t want)
{
	if (c->offset && c->staged)
		memmove(c->staging, c->staging + c->offset, c->staged);
	c->offset = 0;
	while (c->staged < want) {
		ssize_t n = read(c->fd, c->staging + c->staged,
				 STAGING - c->staged);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		c->staged += (size_t)n;
	}
	return 0;
}

static size_t take_staged(struct bench_channel *c, void *to, size_t size)
{
	size_t n = size < c->staged ? size : c->staged;

	memcpy(to, c->staging + c->offset, n);
	c->offset += n;
	c->staged -= n;
	return n;
}

static ssize_t unix_receive(struct bench_channel *c, void *buffer,
			    size_t capacity)
{
	uint32_t size;
	size_t have;

	if (c->staged < sizeof(size) && stage(c, sizeof(size)))
		return -1;
	take_staged(c, &size, sizeof(size));
	if (size > capacity)
		return -1;
	have = take_staged(c, buffer, size);
	if (have < size && size - have < STAGING / 2) {
		/* A small rest: stage it, which may also read ahead. */
		if (stage(c, size - have))
			return -1;
		have += take_staged(c, (uint8_t *)buffer + have, size - have);
	}
	while (have < size) {
		ssize_t n = recv(c->fd, (uint8_t *)buffer + have, size - have,
				 MSG_WAITALL);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		have += (size_t)n;
	}
	return size;
}

static void unix_detach(struct bench_channel *c, int side)
{
	if (side < 0) {
		close(c->fds[0]);
		close(c->fds[1]);
	} else {
		close(c->fd);
		free(c->staging);
	}
	free(c);
}

const struct bench_transport bench_unix_stream = {
	.name = "unix-stream",
	.create = unix_create,
	.attach = unix_attach,
	.send = unix_send,
	.receive = unix_receive,
	.detach = unix_detach,
};
