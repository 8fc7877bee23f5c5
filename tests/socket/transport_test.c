// SPDX-License-Identifier: MIT
/*
 * Socket driver transports within one process: ordering, handles, large
 * and many messages, full socket buffers, activation and deactivation,
 * errors, and the driver's handle checks.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "tests/socket/recorder.h"

FIXTURE(pair) {
	IpczDriverHandle a, b;
	struct recorder ra, rb;
};

FIXTURE_SETUP(pair)
{
	make_pair(&self->a, &self->b);
	recorder_init(&self->ra);
	recorder_init(&self->rb);
}

/* Deactivate what is active and wait for the DEACTIVATED calls. */
static void shut(IpczDriverHandle t, struct recorder *r)
{
	if (driver()->DeactivateTransport(t, 0, NULL) == IPCZ_RESULT_OK)
		recorder_wait(r, &r->deactivations, 1, 5000);
	driver()->Close(t, 0, NULL);
}

FIXTURE_TEARDOWN(pair)
{
	shut(self->a, &self->ra);
	shut(self->b, &self->rb);
	EXPECT_EQ(0, self->ra.overlaps + self->rb.overlaps);
	EXPECT_EQ(0, self->ra.calls_after_deactivation +
			     self->rb.calls_after_deactivation);
	recorder_destroy(&self->ra);
	recorder_destroy(&self->rb);
}

TEST_F(pair, bytes_arrive_intact)
{
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->b, &self->rb));
	ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(self->a, "hello", 5));
	ASSERT_TRUE(recorder_wait(&self->rb, &self->rb.messages, 1, 5000));
	ASSERT_EQ(5, self->rb.calls[0].num_bytes);
	ASSERT_EQ(0, memcmp(self->rb.calls[0].data, "hello", 5));
	ASSERT_EQ(0, self->rb.calls[0].num_handles);
}

TEST_F(pair, empty_transmit_is_one_call)
{
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->b, &self->rb));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->Transmit(self->a, NULL, 0, NULL, 0, 0, NULL));
	ASSERT_TRUE(recorder_wait(&self->rb, &self->rb.messages, 1, 5000));
	sleep_ms(50);
	ASSERT_EQ(1, recorder_get(&self->rb, &self->rb.messages));
	ASSERT_EQ(0, self->rb.calls[0].num_bytes);
}

TEST_F(pair, nothing_before_activation_then_all_in_order)
{
	for (uint32_t i = 0; i < 100; i++)
		ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(self->a, &i, sizeof(i)));
	sleep_ms(50);
	ASSERT_EQ(0, recorder_get(&self->rb, &self->rb.count));
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->b, &self->rb));
	ASSERT_TRUE(recorder_wait(&self->rb, &self->rb.messages, 100, 5000));
	for (uint32_t i = 0; i < 100; i++) {
		uint32_t seen;

		memcpy(&seen, self->rb.calls[i].data, sizeof(seen));
		ASSERT_EQ(i, seen);
	}
}

TEST_F(pair, both_directions)
{
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->a, &self->ra));
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->b, &self->rb));
	ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(self->a, "ab", 2));
	ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(self->b, "ba", 2));
	ASSERT_TRUE(recorder_wait(&self->ra, &self->ra.messages, 1, 5000));
	ASSERT_TRUE(recorder_wait(&self->rb, &self->rb.messages, 1, 5000));
	ASSERT_EQ(0, memcmp(self->ra.calls[0].data, "ba", 2));
	ASSERT_EQ(0, memcmp(self->rb.calls[0].data, "ab", 2));
}

/* A pipe whose write end goes as a descriptor object. */
static IpczDriverHandle wrapped_pipe(int *read_end)
{
	IpczDriverHandle h;
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		abort();
	*read_end = p[0];
	if (ipcz_socket_descriptor_wrap(p[1], &h) != IPCZ_RESULT_OK)
		abort();
	return h;
}

/* Writes `byte` through the received descriptor object `h`. */
static int write_through(IpczDriverHandle h, char byte)
{
	int fd, n;

	if (ipcz_socket_descriptor_unwrap(h, &fd) != IPCZ_RESULT_OK)
		return -1;
	n = (int)write(fd, &byte, 1);
	close(fd);
	return n;
}

TEST_F(pair, handles_travel_with_their_bytes_in_order)
{
	enum { ROUNDS = 20 };
	int read_ends[ROUNDS][3];

	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->b, &self->rb));
	for (int i = 0; i < ROUNDS; i++) {
		IpczDriverHandle h[3];
		int count = i % 4;	/* 0..3 handles */

		for (int k = 0; k < count; k++)
			h[k] = wrapped_pipe(&read_ends[i][k]);
		ASSERT_EQ(IPCZ_RESULT_OK,
			  driver()->Transmit(self->a, &i, sizeof(i), h,
					     (size_t)count, 0, NULL));
		/* The handles now belong to the driver. */
		for (int k = 0; k < count; k++)
			ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
				  driver()->Close(h[k], 0, NULL));
	}
	ASSERT_TRUE(recorder_wait(&self->rb, &self->rb.messages, ROUNDS,
				  5000));
	for (int i = 0; i < ROUNDS; i++) {
		struct recorded_call *c = &self->rb.calls[i];
		int seen;

		memcpy(&seen, c->data, sizeof(seen));
		ASSERT_EQ(i, seen);
		ASSERT_EQ((size_t)(i % 4), c->num_handles);
		for (size_t k = 0; k < c->num_handles; k++) {
			char byte = 0;

			ASSERT_EQ(1, write_through(c->handles[k], 'a' + k));
			ASSERT_EQ(1, read(read_ends[i][k], &byte, 1));
			ASSERT_EQ('a' + (int)k, byte);
			close(read_ends[i][k]);
		}
		c->num_handles = 0;
	}
}

TEST_F(pair, more_handles_than_one_packet_carries)
{
	enum { COUNT = 150 };
	IpczDriverHandle h[COUNT];
	int read_ends[COUNT];

	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->b, &self->rb));
	for (int k = 0; k < COUNT; k++)
		h[k] = wrapped_pipe(&read_ends[k]);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->Transmit(self->a, "x", 1, h, COUNT, 0, NULL));
	ASSERT_TRUE(recorder_wait(&self->rb, &self->rb.messages, 1, 5000));
	ASSERT_EQ(COUNT, self->rb.calls[0].num_handles);
	for (int k = 0; k < COUNT; k++) {
		char byte = 0;

		ASSERT_EQ(1, write_through(self->rb.calls[0].handles[k], 'q'));
		ASSERT_EQ(1, read(read_ends[k], &byte, 1));
		close(read_ends[k]);
	}
	self->rb.calls[0].num_handles = 0;
}

TEST_F(pair, bad_handle_in_transmit_is_refused_and_nothing_taken)
{
	IpczDriverHandle h[2];
	int read_end;

	h[0] = wrapped_pipe(&read_end);
	h[1] = 12345;
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver()->Transmit(self->a, "x", 1, h, 2, 0, NULL));
	/* The same handle twice is refused too, and takes nothing. */
	h[1] = h[0];
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver()->Transmit(self->a, "x", 1, h, 2, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, driver()->Close(h[0], 0, NULL));
	close(read_end);
}

static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 2654435761u + seed) >> 13);
}

static bool check_pattern(const uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != (uint8_t)((i * 2654435761u + seed) >> 13))
			return false;
	}
	return true;
}

TEST_F(pair, large_messages)
{
	static const size_t sizes[] = { 65535, 65536, 65537, 1 << 20,
					(8 << 20) + 3 };
	size_t n = sizeof(sizes) / sizeof(sizes[0]);
	uint8_t *buffer = malloc(sizes[n - 1]);

	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->b, &self->rb));
	for (size_t i = 0; i < n; i++) {
		fill_pattern(buffer, sizes[i], (uint32_t)i);
		ASSERT_EQ(IPCZ_RESULT_OK,
			  send_bytes(self->a, buffer, sizes[i]));
	}
	free(buffer);
	ASSERT_TRUE(recorder_wait(&self->rb, &self->rb.messages, n, 20000));
	for (size_t i = 0; i < n; i++) {
		ASSERT_EQ(sizes[i], self->rb.calls[i].num_bytes);
		ASSERT_TRUE(check_pattern(self->rb.calls[i].data, sizes[i],
					  (uint32_t)i));
	}
}

TEST_F(pair, many_messages_in_order)
{
	enum { COUNT = 20000 };

	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->b, &self->rb));
	for (uint32_t i = 0; i < COUNT; i++)
		ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(self->a, &i, sizeof(i)));
	ASSERT_TRUE(recorder_wait(&self->rb, &self->rb.messages, COUNT,
				  30000));
	for (uint32_t i = 0; i < COUNT; i++) {
		uint32_t seen;

		memcpy(&seen, self->rb.calls[i].data, sizeof(seen));
		ASSERT_EQ(i, seen);
	}
}

struct sender {
	IpczDriverHandle transport;
	uint32_t id;
	int failures;
};

static void *send_sequence(void *arg)
{
	struct sender *s = arg;

	for (uint32_t i = 0; i < 3000; i++) {
		uint32_t msg[2] = { s->id, i };

		if (send_bytes(s->transport, msg, sizeof(msg)) != IPCZ_RESULT_OK)
			s->failures++;
	}
	return NULL;
}

TEST_F(pair, each_threads_order_is_kept)
{
	struct sender senders[4];
	pthread_t threads[4];
	uint32_t next[4] = { 0 };

	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->b, &self->rb));
	for (uint32_t i = 0; i < 4; i++) {
		senders[i] = (struct sender){ self->a, i, 0 };
		pthread_create(&threads[i], NULL, send_sequence, &senders[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		ASSERT_EQ(0, senders[i].failures);
	}
	ASSERT_TRUE(recorder_wait(&self->rb, &self->rb.messages, 12000,
				  30000));
	for (size_t i = 0; i < 12000; i++) {
		uint32_t msg[2];

		memcpy(msg, self->rb.calls[i].data, sizeof(msg));
		ASSERT_LT(msg[0], 4);
		ASSERT_EQ(next[msg[0]], msg[1]);
		next[msg[0]]++;
	}
}

/*
 * With tiny socket buffers and nobody reading, Transmit must queue instead
 * of blocking or tearing messages; everything arrives intact once read.
 */
TEST(tiny_socket_buffers_lose_nothing)
{
	IpczDriverHandle a, b;
	struct recorder rb;
	int fds[2], small = 4096;
	uint8_t *buffer = malloc(300000);
	size_t total = 0, count = 0;

	recorder_init(&rb);
	ASSERT_EQ(0, ipcz_socket_pair(fds));
	ASSERT_EQ(0, setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small,
				sizeof(small)));
	ASSERT_EQ(0, setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &small,
				sizeof(small)));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_socket_transport_from_fd(fds[0], &a));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_socket_transport_from_fd(fds[1], &b));
	for (uint32_t i = 0; i < 400; i++) {
		size_t size = (i % 7 == 0) ? 100000 + i : 1 + (i * 37) % 5000;

		fill_pattern(buffer, size, i);
		ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(a, buffer, size));
		total += size;
		count++;
	}
	free(buffer);
	sleep_ms(20);
	ASSERT_EQ(IPCZ_RESULT_OK, activate(b, &rb));
	ASSERT_TRUE(recorder_wait(&rb, &rb.messages, count, 30000));
	for (uint32_t i = 0; i < count; i++) {
		size_t size = (i % 7 == 0) ? 100000 + i : 1 + (i * 37) % 5000;

		ASSERT_EQ(size, rb.calls[i].num_bytes);
		ASSERT_TRUE(check_pattern(rb.calls[i].data, size, i));
	}
	ASSERT_EQ(0, recorder_get(&rb, &rb.errors));
	TH_LOG("%zu messages, %zu bytes through 4 KiB buffers", count, total);
	driver()->Close(a, 0, NULL);
	ASSERT_EQ(IPCZ_RESULT_OK, driver()->DeactivateTransport(b, 0, NULL));
	ASSERT_TRUE(recorder_wait(&rb, &rb.deactivations, 1, 5000));
	driver()->Close(b, 0, NULL);
	recorder_destroy(&rb);
}

/*
 * A send buffer shrunk behind the driver's back makes its packets too
 * big (EMSGSIZE): it must split them smaller, not fail.
 */
TEST(send_buffer_shrunk_after_adoption)
{
	IpczDriverHandle a, b;
	struct recorder rb;
	int fds[2], small = 4096;
	uint8_t *buffer = malloc(200000);

	recorder_init(&rb);
	ASSERT_EQ(0, ipcz_socket_pair(fds));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_socket_transport_from_fd(fds[0], &a));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_socket_transport_from_fd(fds[1], &b));
	ASSERT_EQ(0, setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small,
				sizeof(small)));
	ASSERT_EQ(IPCZ_RESULT_OK, activate(b, &rb));
	fill_pattern(buffer, 200000, 9);
	ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(a, buffer, 200000));
	ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(a, buffer, 70000));
	free(buffer);
	ASSERT_TRUE(recorder_wait(&rb, &rb.messages, 2, 10000));
	ASSERT_EQ(200000, rb.calls[0].num_bytes);
	ASSERT_TRUE(check_pattern(rb.calls[0].data, 200000, 9));
	ASSERT_EQ(70000, rb.calls[1].num_bytes);
	ASSERT_TRUE(check_pattern(rb.calls[1].data, 70000, 9));
	ASSERT_EQ(0, recorder_get(&rb, &rb.errors));
	driver()->Close(a, 0, NULL);
	ASSERT_EQ(IPCZ_RESULT_OK, driver()->DeactivateTransport(b, 0, NULL));
	ASSERT_TRUE(recorder_wait(&rb, &rb.deactivations, 1, 5000));
	driver()->Close(b, 0, NULL);
	recorder_destroy(&rb);
}

/* Output queued at Close() still reaches the peer. */
TEST(queued_output_survives_close)
{
	IpczDriverHandle a, b;
	struct recorder rb;
	int fds[2], small = 4096;
	uint8_t buffer[3000];

	recorder_init(&rb);
	rb.keep_data = false;
	ASSERT_EQ(0, ipcz_socket_pair(fds));
	ASSERT_EQ(0, setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small,
				sizeof(small)));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_socket_transport_from_fd(fds[0], &a));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_socket_transport_from_fd(fds[1], &b));
	memset(buffer, 7, sizeof(buffer));
	for (int i = 0; i < 200; i++)
		ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(a, buffer, sizeof(buffer)));
	ASSERT_EQ(IPCZ_RESULT_OK, driver()->Close(a, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, activate(b, &rb));
	ASSERT_TRUE(recorder_wait(&rb, &rb.messages, 200, 10000));
	/* Then the peer sees the end of the transport. */
	ASSERT_TRUE(recorder_wait(&rb, &rb.errors, 1, 5000));
	ASSERT_EQ(IPCZ_RESULT_OK, driver()->DeactivateTransport(b, 0, NULL));
	ASSERT_TRUE(recorder_wait(&rb, &rb.deactivations, 1, 5000));
	driver()->Close(b, 0, NULL);
	recorder_destroy(&rb);
}

TEST_F(pair, activation_rules)
{
	ASSERT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  driver()->DeactivateTransport(self->b, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->b, &self->rb));
	ASSERT_EQ(IPCZ_RESULT_FAILED_PRECONDITION, activate(self->b,
							    &self->rb));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->DeactivateTransport(self->b, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  driver()->DeactivateTransport(self->b, 0, NULL));
	ASSERT_TRUE(recorder_wait(&self->rb, &self->rb.deactivations, 1,
				  5000));
	/* Nothing after DEACTIVATED, even if the peer keeps sending. */
	ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(self->a, "late", 4));
	sleep_ms(50);
	ASSERT_EQ(1, recorder_get(&self->rb, &self->rb.deactivations));
	ASSERT_EQ(0, recorder_get(&self->rb, &self->rb.messages));
	/* A deactivated transport may still transmit. */
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->a, &self->ra));
	ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(self->b, "still", 5));
	ASSERT_TRUE(recorder_wait(&self->ra, &self->ra.messages, 1, 5000));
}

static IpczResult deactivate_on_first(struct recorder *r,
				      const struct recorded_call *call)
{
	IpczDriverHandle *t = r->context;

	driver()->DeactivateTransport(*t, 0, NULL);
	return IPCZ_RESULT_OK;
}

TEST_F(pair, deactivate_from_inside_the_handler)
{
	self->rb.hook = deactivate_on_first;
	self->rb.context = &self->b;
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->b, &self->rb));
	for (int i = 0; i < 50; i++)
		ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(self->a, "m", 1));
	ASSERT_TRUE(recorder_wait(&self->rb, &self->rb.deactivations, 1,
				  5000));
	sleep_ms(50);
	ASSERT_EQ(1, recorder_get(&self->rb, &self->rb.messages));
	ASSERT_EQ(0, self->rb.calls_after_deactivation);
}

static IpczResult echo(struct recorder *r, const struct recorded_call *call)
{
	IpczDriverHandle *t = r->context;

	return driver()->Transmit(*t, call->data, call->num_bytes, NULL, 0, 0,
				  NULL);
}

TEST_F(pair, transmit_from_inside_the_handler)
{
	self->rb.hook = echo;
	self->rb.context = &self->b;
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->a, &self->ra));
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->b, &self->rb));
	for (uint32_t i = 0; i < 500; i++)
		ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(self->a, &i, sizeof(i)));
	ASSERT_TRUE(recorder_wait(&self->ra, &self->ra.messages, 500, 10000));
	for (uint32_t i = 0; i < 500; i++) {
		uint32_t seen;

		memcpy(&seen, self->ra.calls[i].data, sizeof(seen));
		ASSERT_EQ(i, seen);
	}
}

TEST_F(pair, closed_peer_is_an_error_after_its_last_messages)
{
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->b, &self->rb));
	ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(self->a, "1", 1));
	ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(self->a, "2", 1));
	ASSERT_EQ(IPCZ_RESULT_OK, driver()->Close(self->a, 0, NULL));
	self->a = IPCZ_INVALID_DRIVER_HANDLE;
	ASSERT_TRUE(recorder_wait(&self->rb, &self->rb.errors, 1, 5000));
	ASSERT_EQ(2, recorder_get(&self->rb, &self->rb.messages));
	/* The error is reported once; Transmit to a gone peer fails. */
	ASSERT_NE(IPCZ_RESULT_OK, send_bytes(self->b, "x", 1));
	sleep_ms(20);
	ASSERT_EQ(1, recorder_get(&self->rb, &self->rb.errors));
}

static IpczResult refuse(struct recorder *r, const struct recorded_call *call)
{
	return IPCZ_RESULT_INVALID_ARGUMENT;
}

TEST_F(pair, refused_message_is_an_error)
{
	IpczDriverHandle h;
	int read_end;
	char byte;

	self->rb.hook = refuse;
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->b, &self->rb));
	h = wrapped_pipe(&read_end);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->Transmit(self->a, "bad", 3, &h, 1, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(self->a, "more", 4));
	ASSERT_TRUE(recorder_wait(&self->rb, &self->rb.errors, 1, 5000));
	sleep_ms(20);
	ASSERT_EQ(1, recorder_get(&self->rb, &self->rb.messages));
	/* The refused message's descriptor was closed by the driver. */
	ASSERT_EQ(0, read(read_end, &byte, 1));
	close(read_end);
}

TEST_F(pair, reported_bad_activity_severs_both_ends)
{
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->a, &self->ra));
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->b, &self->rb));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->ReportBadTransportActivity(self->b, 42, 0, NULL));
	ASSERT_TRUE(recorder_wait(&self->rb, &self->rb.errors, 1, 5000));
	ASSERT_TRUE(recorder_wait(&self->ra, &self->ra.errors, 1, 5000));
	ASSERT_NE(IPCZ_RESULT_OK, send_bytes(self->b, "x", 1));
}

TEST_F(pair, close_while_active_still_deactivates)
{
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->b, &self->rb));
	ASSERT_EQ(IPCZ_RESULT_OK, driver()->Close(self->b, 0, NULL));
	self->b = IPCZ_INVALID_DRIVER_HANDLE;
	ASSERT_TRUE(recorder_wait(&self->rb, &self->rb.deactivations, 1,
				  5000));
}

TEST(handles_are_checked)
{
	IpczDriverHandle a, b, memory, mapping;
	volatile void *address;

	make_pair(&a, &b);
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, driver()->Close(0, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver()->Close(a + 1000, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver()->Close(a ^ (1ull << 40), 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  send_bytes(0xdeadbeef, "x", 1));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->AllocateSharedMemory(4096, 0, NULL, &memory));
	/* Wrong types are refused. */
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, send_bytes(memory, "x", 1));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver()->MapSharedMemory(a, 0, NULL, &address, &mapping));
	ASSERT_EQ(IPCZ_RESULT_OK, driver()->Close(a, 0, NULL));
	/* Double close and use after close are refused. */
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, driver()->Close(a, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, send_bytes(a, "x", 1));
	ASSERT_EQ(IPCZ_RESULT_OK, driver()->Close(b, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, driver()->Close(memory, 0, NULL));
}

TEST(serialize_follows_the_contract)
{
	IpczDriverHandle a, b, memory, mapping, out[2];
	size_t num_bytes = 0, num_handles = 0;
	uint8_t data[64];
	volatile void *address;
	struct recorder r;

	recorder_init(&r);
	make_pair(&a, &b);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->AllocateSharedMemory(4096, 0, NULL, &memory));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->MapSharedMemory(memory, 0, NULL, &address,
					    &mapping));
	/* The "can it be sent at all" query, with no capacity. */
	ASSERT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  driver()->Serialize(a, IPCZ_INVALID_DRIVER_HANDLE, 0, NULL,
				      NULL, &num_bytes, NULL, &num_handles));
	ASSERT_GT(num_bytes, 0);
	ASSERT_EQ(1, num_handles);
	ASSERT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  driver()->Serialize(memory, IPCZ_INVALID_DRIVER_HANDLE, 0,
				      NULL, NULL, NULL, NULL, NULL));
	/* Mappings and bogus handles cannot be serialized. */
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver()->Serialize(mapping, IPCZ_INVALID_DRIVER_HANDLE, 0,
				      NULL, NULL, NULL, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver()->Serialize(77, IPCZ_INVALID_DRIVER_HANDLE, 0, NULL,
				      NULL, NULL, NULL, NULL));
	/* An active transport cannot move. */
	ASSERT_EQ(IPCZ_RESULT_OK, activate(b, &r));
	num_bytes = sizeof(data);
	num_handles = 2;
	ASSERT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  driver()->Serialize(b, a, 0, NULL, data, &num_bytes, out,
				      &num_handles));
	/* Success consumes the handle. */
	num_bytes = sizeof(data);
	num_handles = 2;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->Serialize(a, b, 0, NULL, data, &num_bytes, out,
				      &num_handles));
	ASSERT_EQ(1, num_handles);
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, driver()->Close(a, 0, NULL));
	/* And it deserializes back into a working transport. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->Deserialize(data, num_bytes, out, 1, b, 0, NULL,
					&a));
	ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(a, "back", 4));
	ASSERT_TRUE(recorder_wait(&r, &r.messages, 1, 5000));
	ASSERT_EQ(IPCZ_RESULT_OK, driver()->DeactivateTransport(b, 0, NULL));
	ASSERT_TRUE(recorder_wait(&r, &r.deactivations, 1, 5000));
	driver()->Close(a, 0, NULL);
	driver()->Close(b, 0, NULL);
	driver()->Close(mapping, 0, NULL);
	driver()->Close(memory, 0, NULL);
	recorder_destroy(&r);
}

TEST(random_bytes)
{
	uint8_t x[64] = { 0 }, y[64] = { 0 }, zero[64] = { 0 };

	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->GenerateRandomBytes(sizeof(x), 0, NULL, x));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->GenerateRandomBytes(sizeof(y), 0, NULL, y));
	ASSERT_NE(0, memcmp(x, y, sizeof(x)));
	ASSERT_NE(0, memcmp(x, zero, sizeof(x)));
}

TEST_HARNESS_MAIN
