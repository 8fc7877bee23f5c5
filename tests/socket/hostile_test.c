// SPDX-License-Identifier: MIT
/*
 * A hostile peer writes raw packets to a socket driver transport: garbage,
 * lies about sizes and descriptor counts, too many descriptors, truncated
 * messages. Each must end in one ERROR call, no message, and every
 * received descriptor closed. Deserialize() must refuse forged objects.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/socket/packet.h"
#include "kselftest_harness.h"
#include "tests/socket/recorder.h"

static int count_open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *entry;
	int count = 0;

	if (!dir)
		return -1;
	while ((entry = readdir(dir)))
		count += entry->d_name[0] != '.';
	closedir(dir);
	return count;
}

/*
 * The open descriptor count once it settles at `expected` (the driver's
 * I/O thread closes a transport's socket a moment after its last use), or
 * whatever it is after two seconds.
 */
static int settled_fd_count(int expected)
{
	int count = count_open_fds();

	for (int i = 0; i < 200 && count != expected; i++) {
		sleep_ms(10);
		count = count_open_fds();
	}
	return count;
}

/* Sends one raw packet: `bytes` plus `fd_count` copies of `fd`. */
static ssize_t raw_send(int sock, const void *bytes, size_t size, int fd,
			size_t fd_count)
{
	struct iovec iov = { .iov_base = (void *)bytes, .iov_len = size };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t space = CMSG_SPACE(sizeof(int) * fd_count);
	char *control = calloc(1, space ? space : 1);
	struct cmsghdr *cmsg;
	ssize_t n;

	if (fd_count) {
		msg.msg_control = control;
		msg.msg_controllen = space;
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fd_count);
		for (size_t i = 0; i < fd_count; i++)
			memcpy(CMSG_DATA(cmsg) + i * sizeof(int), &fd,
			       sizeof(int));
	}
	n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	free(control);
	return n;
}

/* A packet with the given header fields and `payload` bytes of 'p'. */
static ssize_t send_packet(int sock, uint32_t magic, uint16_t kind,
			   uint16_t num_fds, uint32_t message_bytes,
			   uint32_t message_fds, size_t payload, int fd,
			   size_t fd_count)
{
	struct sockdrv_packet_header h = {
		.magic = magic, .kind = kind, .num_fds = num_fds,
		.message_bytes = message_bytes, .message_fds = message_fds,
	};
	uint8_t *buf = malloc(sizeof(h) + payload);
	ssize_t n;

	memcpy(buf, &h, sizeof(h));
	memset(buf + sizeof(h), 'p', payload);
	n = raw_send(sock, buf, sizeof(h) + payload, fd, fd_count);
	free(buf);
	return n;
}

#define MAGIC SOCKDRV_PACKET_MAGIC
#define FIRST SOCKDRV_PACKET_FIRST
#define MORE SOCKDRV_PACKET_MORE

FIXTURE(hostile) {
	int raw;		/* the hostile peer's socket */
	int pipe_read;		/* EOF once every write end is closed */
	int pipe_write;
	int fds_before;
	IpczDriverHandle t;
	struct recorder r;
};

FIXTURE_SETUP(hostile)
{
	int fds[2], p[2];

	ASSERT_EQ(0, ipcz_socket_pair(fds));
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	self->raw = fds[0];
	self->pipe_read = p[0];
	self->pipe_write = p[1];
	recorder_init(&self->r);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz_socket_transport_from_fd(fds[1], &self->t));
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->t, &self->r));
	/* What is open once the test's two sockets and pipe are gone. */
	self->fds_before = count_open_fds() - 4;
}

FIXTURE_TEARDOWN(hostile)
{
	if (driver()->DeactivateTransport(self->t, 0, NULL) == IPCZ_RESULT_OK)
		recorder_wait(&self->r, &self->r.deactivations, 1, 5000);
	driver()->Close(self->t, 0, NULL);
	recorder_destroy(&self->r);
	if (self->raw >= 0)
		close(self->raw);
	if (self->pipe_write >= 0)
		close(self->pipe_write);
	close(self->pipe_read);
	EXPECT_EQ(self->fds_before, settled_fd_count(self->fds_before));
}

/* The transport must report exactly one error and no message. */
static bool refused(struct recorder *r)
{
	bool error = recorder_wait(r, &r->errors, 1, 5000);

	sleep_ms(20);
	return error && recorder_get(r, &r->errors) == 1 &&
	       recorder_get(r, &r->messages) == 0;
}

/* Whether every copy of the pipe's write end sent over is closed. */
static bool descriptors_closed(int pipe_read)
{
	char byte;

	for (int i = 0; i < 300; i++) {
		int flags = fcntl(pipe_read, F_GETFL);
		ssize_t n;

		fcntl(pipe_read, F_SETFL, flags | O_NONBLOCK);
		n = read(pipe_read, &byte, 1);
		fcntl(pipe_read, F_SETFL, flags);
		if (n == 0)
			return true;
		sleep_ms(10);
	}
	return false;
}

static void drop_own_write_end(int *pipe_write)
{
	close(*pipe_write);
	*pipe_write = -1;
}

TEST_F(hostile, a_well_formed_raw_packet_is_delivered)
{
	ASSERT_LT(0, send_packet(self->raw, MAGIC, FIRST, 0, 3, 0, 3, -1, 0));
	ASSERT_TRUE(recorder_wait(&self->r, &self->r.messages, 1, 5000));
	ASSERT_EQ(3, self->r.calls[0].num_bytes);
	ASSERT_EQ(0, recorder_get(&self->r, &self->r.errors));
}

TEST_F(hostile, garbage)
{
	uint8_t junk[100];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 151 + 7);
	ASSERT_LT(0, raw_send(self->raw, junk, sizeof(junk), -1, 0));
	ASSERT_TRUE(refused(&self->r));
}

TEST_F(hostile, packet_shorter_than_a_header)
{
	ASSERT_LT(0, raw_send(self->raw, "abcde", 5, -1, 0));
	ASSERT_TRUE(refused(&self->r));
}

TEST_F(hostile, empty_packet)
{
	ASSERT_EQ(0, raw_send(self->raw, "", 0, -1, 0));
	ASSERT_TRUE(refused(&self->r));
}

TEST_F(hostile, wrong_magic)
{
	ASSERT_LT(0, send_packet(self->raw, 0x12345678, FIRST, 0, 3, 0, 3, -1,
				 0));
	ASSERT_TRUE(refused(&self->r));
}

TEST_F(hostile, unknown_kind)
{
	ASSERT_LT(0, send_packet(self->raw, MAGIC, 9, 0, 3, 0, 3, -1, 0));
	ASSERT_TRUE(refused(&self->r));
}

TEST_F(hostile, undeclared_descriptor_is_closed)
{
	ASSERT_LT(0, send_packet(self->raw, MAGIC, FIRST, 0, 3, 0, 3,
				 self->pipe_write, 1));
	drop_own_write_end(&self->pipe_write);
	ASSERT_TRUE(refused(&self->r));
	ASSERT_TRUE(descriptors_closed(self->pipe_read));
}

TEST_F(hostile, too_many_descriptors_truncate_and_are_closed)
{
	ASSERT_LT(0, send_packet(self->raw, MAGIC, FIRST, 200, 3, 200, 3,
				 self->pipe_write, 200));
	drop_own_write_end(&self->pipe_write);
	ASSERT_TRUE(refused(&self->r));
	ASSERT_TRUE(descriptors_closed(self->pipe_read));
}

TEST_F(hostile, continuation_without_a_start)
{
	ASSERT_LT(0, send_packet(self->raw, MAGIC, MORE, 0, 0, 0, 10, -1, 0));
	ASSERT_TRUE(refused(&self->r));
}

TEST_F(hostile, second_start_inside_a_message)
{
	ASSERT_LT(0, send_packet(self->raw, MAGIC, FIRST, 1, 100, 2, 10,
				 self->pipe_write, 1));
	ASSERT_LT(0, send_packet(self->raw, MAGIC, FIRST, 0, 3, 0, 3, -1, 0));
	drop_own_write_end(&self->pipe_write);
	ASSERT_TRUE(refused(&self->r));
	ASSERT_TRUE(descriptors_closed(self->pipe_read));
}

TEST_F(hostile, more_bytes_than_announced)
{
	ASSERT_LT(0, send_packet(self->raw, MAGIC, FIRST, 0, 20, 0, 10, -1, 0));
	ASSERT_LT(0, send_packet(self->raw, MAGIC, MORE, 0, 0, 0, 11, -1, 0));
	ASSERT_TRUE(refused(&self->r));
}

TEST_F(hostile, more_descriptors_than_announced)
{
	ASSERT_LT(0, send_packet(self->raw, MAGIC, FIRST, 1, 20, 1, 10,
				 self->pipe_write, 1));
	ASSERT_LT(0, send_packet(self->raw, MAGIC, MORE, 1, 0, 0, 10,
				 self->pipe_write, 1));
	drop_own_write_end(&self->pipe_write);
	ASSERT_TRUE(refused(&self->r));
	ASSERT_TRUE(descriptors_closed(self->pipe_read));
}

TEST_F(hostile, announced_size_beyond_the_limit)
{
	ASSERT_LT(0, send_packet(self->raw, MAGIC, FIRST, 0,
				 SOCKDRV_MAX_MESSAGE_BYTES + 1, 0, 10, -1, 0));
	ASSERT_TRUE(refused(&self->r));
}

TEST_F(hostile, announced_descriptors_beyond_the_limit)
{
	ASSERT_LT(0, send_packet(self->raw, MAGIC, FIRST, 0, 20,
				 SOCKDRV_MAX_MESSAGE_FDS + 1, 10, -1, 0));
	ASSERT_TRUE(refused(&self->r));
}

TEST_F(hostile, packet_larger_than_any_valid_one)
{
	size_t too_big = SOCKDRV_MAX_PAYLOAD + 1;

	ASSERT_LT(0, send_packet(self->raw, MAGIC, FIRST, 0, (uint32_t)too_big,
				 0, too_big, -1, 0));
	ASSERT_TRUE(refused(&self->r));
}

TEST_F(hostile, message_cut_short_by_hangup)
{
	ASSERT_LT(0, send_packet(self->raw, MAGIC, FIRST, 1, 1000, 1, 10,
				 self->pipe_write, 1));
	drop_own_write_end(&self->pipe_write);
	close(self->raw);
	self->raw = -1;
	ASSERT_TRUE(refused(&self->r));
	ASSERT_TRUE(descriptors_closed(self->pipe_read));
}

/* A small deterministic generator, so failures can be replayed. */
static uint32_t next_random(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/* A field that is usually plausible and sometimes anything at all. */
static uint32_t pick(uint32_t *state, uint32_t plausible)
{
	uint32_t r = next_random(state);

	if (r % 8 == 0)
		return next_random(state);
	return plausible ? r % (plausible + 1) : 0;
}

/*
 * Many short sequences of random and half-valid packets, each followed
 * by hangup: whatever was delivered, the transport ends with one ERROR and
 * no descriptor or memory is left behind (ASan checks the memory).
 */
TEST(random_packet_storm)
{
	int baseline = -1;

	for (uint32_t seed = 1; seed <= 300; seed++) {
		uint32_t state = seed * 2654435761u;
		IpczDriverHandle t;
		struct recorder r;
		int fds[2], p[2];
		int packets = 1 + (int)(next_random(&state) % 6);

		ASSERT_EQ(0, ipcz_socket_pair(fds));
		ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
		recorder_init(&r);
		r.keep_data = false;
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz_socket_transport_from_fd(fds[1], &t));
		ASSERT_EQ(IPCZ_RESULT_OK, activate(t, &r));
		if (baseline < 0)
			baseline = count_open_fds() - 4;
		for (int i = 0; i < packets; i++) {
			uint16_t nfds = (uint16_t)pick(&state, 3);
			uint16_t kind = (uint16_t)(1 + next_random(&state) % 2);

			send_packet(fds[0],
				    next_random(&state) % 16 ? MAGIC :
							       next_random(&state),
				    kind, nfds, pick(&state, 200000),
				    pick(&state, 8), pick(&state, 5000) % 70000,
				    p[1], pick(&state, 3) % 80);
		}
		close(fds[0]);
		close(p[1]);
		ASSERT_TRUE(recorder_wait(&r, &r.errors, 1, 5000));
		ASSERT_EQ(IPCZ_RESULT_OK,
			  driver()->DeactivateTransport(t, 0, NULL));
		ASSERT_TRUE(recorder_wait(&r, &r.deactivations, 1, 5000));
		ASSERT_EQ(1, recorder_get(&r, &r.errors));
		driver()->Close(t, 0, NULL);
		recorder_destroy(&r);
		/* Every copy of the pipe's write end is gone. */
		ASSERT_TRUE(descriptors_closed(p[0]));
		close(p[0]);
	}
	ASSERT_EQ(baseline, settled_fd_count(baseline));
}

/* Serializes a fresh memory region for the forgery tests. */
static void serialized_memory(uint8_t *data, size_t *num_bytes,
			      IpczDriverHandle *handle)
{
	IpczDriverHandle memory;
	size_t num_handles = 1;

	if (driver()->AllocateSharedMemory(4096, 0, NULL, &memory) ||
	    driver()->Serialize(memory, IPCZ_INVALID_DRIVER_HANDLE, 0, NULL,
				data, num_bytes, handle, &num_handles))
		abort();
}

TEST(deserialize_refuses_forgeries)
{
	IpczDriverHandle h, out = IPCZ_INVALID_DRIVER_HANDLE, other;
	uint8_t data[64], forged[64];
	size_t n = sizeof(data);
	int memfd, p[2];

	serialized_memory(data, &n, &h);
	/* Wrong sizes, counts and handles. */
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver()->Deserialize(data, n - 1, &h, 1, 0, 0, NULL, &out));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver()->Deserialize(data, n, &h, 0, 0, 0, NULL, &out));
	other = 999;
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver()->Deserialize(data, n, &other, 1, 0, 0, NULL, &out));
	/* Corrupted magic, type and size. */
	for (size_t i = 0; i < n; i++) {
		memcpy(forged, data, n);
		forged[i] ^= 0x40;
		ASSERT_NE(IPCZ_RESULT_OK,
			  driver()->Deserialize(forged, n, &h, 1, 0, 0, NULL,
						&out));
	}
	ASSERT_EQ(IPCZ_INVALID_DRIVER_HANDLE, out);
	/* The untouched original still works, and consumes the handle. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->Deserialize(data, n, &h, 1, 0, 0, NULL, &out));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, driver()->Close(h, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, driver()->Close(out, 0, NULL));
	out = IPCZ_INVALID_DRIVER_HANDLE;

	/* A pipe posing as memory or as a transport. */
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	close(p[1]);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_socket_descriptor_wrap(p[0], &h));
	ASSERT_NE(IPCZ_RESULT_OK,
		  driver()->Deserialize(data, n, &h, 1, 0, 0, NULL, &out));
	memcpy(forged, data, n);
	forged[4] = 1;		/* type: transport */
	ASSERT_NE(IPCZ_RESULT_OK,
		  driver()->Deserialize(forged, n, &h, 1, 0, 0, NULL, &out));
	ASSERT_EQ(IPCZ_RESULT_OK, driver()->Close(h, 0, NULL));

	/* A memfd that could shrink under our mapping. */
	memfd = memfd_create("unsealed", MFD_CLOEXEC);
	ASSERT_EQ(0, ftruncate(memfd, 4096));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_socket_descriptor_wrap(memfd, &h));
	ASSERT_NE(IPCZ_RESULT_OK,
		  driver()->Deserialize(data, n, &h, 1, 0, 0, NULL, &out));
	ASSERT_EQ(IPCZ_INVALID_DRIVER_HANDLE, out);
	driver()->Close(h, 0, NULL);

	/* A sealed memfd smaller than it claims. */
	memfd = memfd_create("small", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ASSERT_EQ(0, ftruncate(memfd, 1024));
	ASSERT_EQ(0, fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_socket_descriptor_wrap(memfd, &h));
	ASSERT_NE(IPCZ_RESULT_OK,
		  driver()->Deserialize(data, n, &h, 1, 0, 0, NULL, &out));
	ASSERT_EQ(IPCZ_INVALID_DRIVER_HANDLE, out);
	driver()->Close(h, 0, NULL);
}

TEST_HARNESS_MAIN
