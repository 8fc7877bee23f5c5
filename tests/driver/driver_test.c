// SPDX-License-Identifier: MIT
/*
 * Driver conformance: what any IpczDriver must do, tested only through the
 * IpczDriver table of include/ipcz/ipcz.h. Every test runs once per driver
 * (a fixture variant). The few things the contract leaves to each driver,
 * such as how a transport reaches another process, come from the variant.
 *
 * Built twice (tests/driver/build.mk): natively for the socket and
 * in-process drivers, and with DRIVER_TEST_KERNEL for the kernel driver,
 * which runs inside the test VM.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include <ipcz/ipcz.h>

#include "tests/driver/activity_log.h"
#include "tests/driver/driver_variants.h"

/* Generous: the kernel variant runs under software emulation. */
#define WAIT_MS 20000

FIXTURE(drv) {
	const struct IpczDriver *d;
	/* Where most tests receive: set up and destroyed for them. */
	struct activity_log log;
};

FIXTURE_VARIANT(drv) {
	const struct driver_under_test *dut;
};

#if defined(DRIVER_TEST_KERNEL)
FIXTURE_VARIANT_ADD(drv, kernel) {
	.dut = &kernel_under_test,
};
#else
FIXTURE_VARIANT_ADD(drv, socket) {
	.dut = &socket_under_test,
};

FIXTURE_VARIANT_ADD(drv, inprocess) {
	.dut = &inprocess_under_test,
};
#endif

FIXTURE_SETUP(drv)
{
	if (!variant->dut->available || variant->dut->available()) {
		self->d = variant->dut->table();
		activity_log_init(&self->log, self->d);
	}
}

FIXTURE_TEARDOWN(drv)
{
	/* A failed test may leave a transport calling into the log. */
	if (self->d && _metadata->passed)
		activity_log_destroy(&self->log);
}

#define NEED_DRIVER() \
	do { \
		if (!self->d) \
			SKIP(return, "%s driver unavailable", \
			     variant->dut->name); \
	} while (0)

#define NEED(feature) \
	do { \
		NEED_DRIVER(); \
		if (!variant->dut->feature) \
			SKIP(return, "%s driver: no " #feature, \
			     variant->dut->name); \
	} while (0)

/* A transport pair: `*a` to send on, `*b` to activate on the log. */
#define OPEN_PAIR(a, b) \
	ASSERT_EQ(IPCZ_RESULT_OK, \
		  self->d->CreateTransports(0, 0, 0, NULL, (a), (b)))

/*
 * The end of a test of the pair a-b: deactivating `b` must bring the
 * DEACTIVATED call; then both are closed.
 */
static void finish_pair(struct __test_metadata *_metadata,
			FIXTURE_DATA(drv) *self, IpczDriverHandle a,
			IpczDriverHandle b)
{
	ASSERT_EQ(IPCZ_RESULT_OK, self->d->DeactivateTransport(b, 0, NULL));
	ASSERT_TRUE(activity_log_wait(&self->log, &self->log.deactivations, 1,
				      WAIT_MS));
	self->d->Close(a, 0, NULL);
	self->d->Close(b, 0, NULL);
}

#define FINISH_PAIR(a, b) finish_pair(_metadata, self, (a), (b))

/* ---- helpers ---- */

/* Test messages: a header, then bytes that depend on the header. */
struct test_message {
	uint32_t stream;
	uint32_t seq;
	uint32_t len;		/* bytes after the header */
};

static uint8_t pattern_byte(uint32_t stream, uint32_t seq, size_t i)
{
	return (uint8_t)(stream * 31 + seq * 7 + i);
}

static uint8_t *make_message(uint32_t stream, uint32_t seq, size_t len,
			     size_t *total)
{
	struct test_message header = { stream, seq, (uint32_t)len };
	uint8_t *m = malloc(sizeof(header) + len);

	if (!m)
		return NULL;
	memcpy(m, &header, sizeof(header));
	for (size_t i = 0; i < len; i++)
		m[sizeof(header) + i] = pattern_byte(stream, seq, i);
	*total = sizeof(header) + len;
	return m;
}

/* Whether a received call is message `seq` of `stream`, intact. */
static bool is_message(const struct activity *a, uint32_t stream,
		       uint32_t seq)
{
	struct test_message header;

	if (a->flags || a->num_bytes < sizeof(header))
		return false;
	memcpy(&header, a->data, sizeof(header));
	if (header.stream != stream || header.seq != seq ||
	    a->num_bytes != sizeof(header) + header.len)
		return false;
	for (size_t i = 0; i < header.len; i++) {
		if (a->data[sizeof(header) + i] !=
		    pattern_byte(stream, seq, i))
			return false;
	}
	return true;
}

static IpczResult send_message(const struct IpczDriver *d,
			       IpczDriverHandle t, uint32_t stream,
			       uint32_t seq, size_t len)
{
	size_t total;
	uint8_t *m = make_message(stream, seq, len, &total);
	IpczResult result;

	if (!m)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	result = d->Transmit(t, m, total, NULL, 0, 0, NULL);
	free(m);
	return result;
}

/* Checks that the log's messages are 0..count-1 of `stream`, in order. */
static bool messages_in_order(struct activity_log *log, uint32_t stream,
			      size_t count)
{
	for (size_t n = 0; n < count; n++) {
		size_t index = activity_log_message_index(log, n);
		struct activity a;

		if (index == SIZE_MAX)
			return false;
		a = activity_log_call(log, index);
		if (!is_message(&a, stream, (uint32_t)n))
			return false;
	}
	return true;
}

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * A serialized object as it travels in these tests: its sizes, then its
 * bytes; its handles follow the previous object's in the handle array.
 */
struct packed {
	uint8_t bytes[256];
	IpczDriverHandle handles[8];
	size_t num_bytes;
	size_t num_handles;
};

static IpczResult pack(const struct IpczDriver *d, IpczDriverHandle object,
		       IpczDriverHandle transport, struct packed *p)
{
	p->num_bytes = sizeof(p->bytes);
	p->num_handles = 8;
	return d->Serialize(object, transport, 0, NULL, p->bytes,
			    &p->num_bytes, p->handles, &p->num_handles);
}

/*
 * Sends `count` packed objects in one Transmit: bytes are a count, each
 * object's byte and handle counts, then all bytes; handles all in order.
 */
static IpczResult transmit_packed(const struct IpczDriver *d,
				  IpczDriverHandle t, struct packed *p,
				  size_t count)
{
	uint8_t bytes[4096];
	IpczDriverHandle handles[256];
	size_t nb = sizeof(uint32_t), nh = 0;
	uint32_t n = (uint32_t)count;

	memcpy(bytes, &n, sizeof(n));
	for (size_t i = 0; i < count; i++) {
		uint32_t sizes[2] = { (uint32_t)p[i].num_bytes,
				      (uint32_t)p[i].num_handles };

		memcpy(bytes + nb, sizes, sizeof(sizes));
		nb += sizeof(sizes);
	}
	for (size_t i = 0; i < count; i++) {
		memcpy(bytes + nb, p[i].bytes, p[i].num_bytes);
		nb += p[i].num_bytes;
		memcpy(handles + nh, p[i].handles,
		       p[i].num_handles * sizeof(*handles));
		nh += p[i].num_handles;
	}
	return d->Transmit(t, bytes, nb, handles, nh, 0, NULL);
}

/*
 * Rebuilds object `which` of a message made by transmit_packed(), taking
 * its handles out of the log. IPCZ_INVALID_DRIVER_HANDLE on any error.
 */
static IpczDriverHandle unpack(struct activity_log *log, size_t index,
			       size_t which, IpczDriverHandle transport)
{
	struct activity a = activity_log_call(log, index);
	size_t nb, nh = 0, offset;
	IpczDriverHandle handles[8], object = IPCZ_INVALID_DRIVER_HANDLE;
	uint32_t n, sizes[2];

	if (a.num_bytes < sizeof(n))
		return object;
	memcpy(&n, a.data, sizeof(n));
	if (which >= n || a.num_bytes < sizeof(n) + n * sizeof(sizes))
		return object;
	offset = sizeof(n) + n * sizeof(sizes);
	for (size_t i = 0; i <= which; i++) {
		memcpy(sizes, a.data + sizeof(n) + i * sizeof(sizes),
		       sizeof(sizes));
		if (i < which) {
			offset += sizes[0];
			nh += sizes[1];
		}
	}
	nb = sizes[0];
	if (offset + nb > a.num_bytes || nh + sizes[1] > a.num_handles ||
	    sizes[1] > 8)
		return object;
	for (size_t h = 0; h < sizes[1]; h++)
		handles[h] = activity_log_take_handle(log, index, nh + h);
	if (log->driver->Deserialize(a.data + offset, nb, handles, sizes[1],
				     transport, 0, NULL, &object) !=
	    IPCZ_RESULT_OK)
		return IPCZ_INVALID_DRIVER_HANDLE;
	return object;
}

static volatile uint8_t *map(const struct IpczDriver *d,
			     IpczDriverHandle memory,
			     IpczDriverHandle *mapping)
{
	volatile void *address = NULL;

	if (d->MapSharedMemory(memory, 0, NULL, &address, mapping) !=
	    IPCZ_RESULT_OK)
		return NULL;
	return address;
}

static size_t region_size(const struct IpczDriver *d, IpczDriverHandle memory)
{
	struct IpczSharedMemoryInfo info = { .size = sizeof(info) };

	if (d->GetSharedMemoryInfo(memory, 0, NULL, &info) != IPCZ_RESULT_OK)
		return 0;
	return info.region_num_bytes;
}

/* Whether writing to `address` kills a child process with SIGSEGV. */
static bool write_faults(volatile uint8_t *address)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		/* Die of the fault itself, not of a sanitizer's report. */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		address[0] = 0x5a;
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return false;
	return WIFSIGNALED(status) &&
	       (WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGBUS);
}

/* Whether the page at `address` can be made writable. */
static bool can_make_writable(volatile uint8_t *address, size_t size)
{
	return mprotect((void *)address, size, PROT_READ | PROT_WRITE) == 0;
}

/* ---- transports ---- */

TEST_F(drv, pair_create_and_close)
{
	IpczDriverHandle a, b;

	NEED_DRIVER();
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->CreateTransports(0, 0, 0, NULL, &a, &b));
	ASSERT_NE(IPCZ_INVALID_DRIVER_HANDLE, a);
	ASSERT_NE(IPCZ_INVALID_DRIVER_HANDLE, b);
	ASSERT_NE(a, b);
	EXPECT_EQ(IPCZ_RESULT_OK, self->d->Close(a, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, self->d->Close(b, 0, NULL));
}

TEST_F(drv, bad_handles_are_refused)
{
	IpczDriverHandle a, b, memory, mapping;
	volatile void *address;
	char byte = 1;

	NEED(checks_handles);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->CreateTransports(0, 0, 0, NULL, &a, &b));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->AllocateSharedMemory(4096, 0, NULL, &memory));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, self->d->Close(0, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  self->d->Close(0x7777777777, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  self->d->Transmit(0, &byte, 1, NULL, 0, 0, NULL));
	/* The wrong type of object. */
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  self->d->Transmit(memory, &byte, 1, NULL, 0, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  self->d->MapSharedMemory(a, 0, NULL, &address, &mapping));
	/* A closed handle stays dead. */
	EXPECT_EQ(IPCZ_RESULT_OK, self->d->Close(b, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, self->d->Close(b, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  self->d->Transmit(b, &byte, 1, NULL, 0, 0, NULL));
	/* A handle that is not a serialized object's cannot be sent. */
	EXPECT_NE(IPCZ_RESULT_OK,
		  self->d->Transmit(a, &byte, 1, &memory, 1, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, self->d->Close(memory, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, self->d->Close(a, 0, NULL));
}

TEST_F(drv, messages_arrive_whole_and_in_order)
{
	const size_t count = 1000;
	struct activity_log *log = &self->log;
	IpczDriverHandle a, b;

	NEED_DRIVER();
	OPEN_PAIR(&a, &b);
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(log, b));
	for (size_t i = 0; i < count; i++)
		ASSERT_EQ(IPCZ_RESULT_OK,
			  send_message(self->d, a, 1, (uint32_t)i,
				       (i * 37) % 700));
	ASSERT_TRUE(activity_log_wait(log, &log->messages, count, WAIT_MS));
	EXPECT_TRUE(messages_in_order(log, 1, count));
	EXPECT_EQ(0, log->overlaps);
	EXPECT_EQ(0, log->errors);
	FINISH_PAIR(a, b);
}

TEST_F(drv, nothing_before_activation_then_everything)
{
	struct activity_log *log = &self->log;
	IpczDriverHandle a, b;

	NEED_DRIVER();
	OPEN_PAIR(&a, &b);
	/* Both directions may be used before activation. */
	for (uint32_t i = 0; i < 20; i++)
		ASSERT_EQ(IPCZ_RESULT_OK, send_message(self->d, a, 2, i, i));
	ASSERT_EQ(IPCZ_RESULT_OK, send_message(self->d, b, 3, 0, 5));
	pause_ms(50);
	EXPECT_EQ(0, activity_log_get(log, &log->count));
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(log, b));
	ASSERT_TRUE(activity_log_wait(log, &log->messages, 20, WAIT_MS));
	EXPECT_TRUE(messages_in_order(log, 2, 20));
	EXPECT_EQ(0, log->early_calls);
	FINISH_PAIR(a, b);
}

TEST_F(drv, large_message)
{
	const size_t len = 6u << 20;
	struct activity_log *log = &self->log;
	IpczDriverHandle a, b;

	NEED_DRIVER();
	OPEN_PAIR(&a, &b);
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(log, b));
	ASSERT_EQ(IPCZ_RESULT_OK, send_message(self->d, a, 4, 0, len));
	ASSERT_EQ(IPCZ_RESULT_OK, send_message(self->d, a, 4, 1, 3));
	ASSERT_TRUE(activity_log_wait(log, &log->messages, 2, WAIT_MS));
	EXPECT_TRUE(messages_in_order(log, 4, 2));
	FINISH_PAIR(a, b);
}

/*
 * Far more than any kernel or socket queue holds, sent while the receiver
 * does not read: the driver must keep it all, in order.
 */
TEST_F(drv, full_queue_loses_nothing)
{
	const size_t count = 400, len = 48 * 1024;
	struct activity_log *log = &self->log;
	IpczDriverHandle a, b;

	NEED_DRIVER();
	OPEN_PAIR(&a, &b);
	for (size_t i = 0; i < count; i++) {
		ASSERT_EQ(IPCZ_RESULT_OK,
			  send_message(self->d, a, 5, (uint32_t)i,
				       i % 3 ? len : 10));
		if (i % 50 == 0)
			ASSERT_EQ(IPCZ_RESULT_OK,
				  self->d->Transmit(a, NULL, 0, NULL, 0, 0,
						    NULL));
	}
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(log, b));
	ASSERT_TRUE(activity_log_wait(log, &log->messages, count, WAIT_MS));
	EXPECT_TRUE(messages_in_order(log, 5, count));
	EXPECT_EQ(0, log->errors);
	FINISH_PAIR(a, b);
}

/* Call `index` of `log` is an empty one without flags. */
static bool is_empty_call(struct activity_log *log, size_t index)
{
	struct activity a = activity_log_call(log, index);

	return !a.flags && !a.num_bytes && !a.num_handles;
}

/*
 * Every Transmit(), an empty one too, reaches the peer as exactly one
 * call, in the order sent (the IpczDriver contract): empties sent before
 * activation, after it, and in runs between messages, large ones too.
 */
TEST_F(drv, empty_transmits_arrive_one_each_in_order)
{
	enum { ROUNDS = 40, TOTAL = ROUNDS * 3 };
	struct activity_log *log = &self->log;
	IpczDriverHandle a, b;
	size_t index = 0;

	NEED_DRIVER();
	OPEN_PAIR(&a, &b);
	/* Each round: two empties, then a message (every 8th a large one). */
	for (uint32_t r = 0; r < ROUNDS; r++) {
		if (r == ROUNDS / 2)
			ASSERT_EQ(IPCZ_RESULT_OK,
				  activity_log_activate(log, b));
		for (int e = 0; e < 2; e++)
			ASSERT_EQ(IPCZ_RESULT_OK,
				  self->d->Transmit(a, NULL, 0, NULL, 0, 0,
						    NULL));
		ASSERT_EQ(IPCZ_RESULT_OK,
			  send_message(self->d, a, 6, r,
				       r % 8 ? 1 : 300 * 1024));
	}
	ASSERT_TRUE(activity_log_wait(log, &log->messages, ROUNDS, WAIT_MS));
	/* Give a driver that would deliver extra empties the time to. */
	pause_ms(50);
	EXPECT_EQ(2 * ROUNDS, activity_log_get(log, &log->empties));
	ASSERT_EQ(TOTAL, activity_log_get(log, &log->count));
	for (uint32_t r = 0; r < ROUNDS; r++) {
		struct activity m;

		EXPECT_TRUE(is_empty_call(log, index++));
		EXPECT_TRUE(is_empty_call(log, index++));
		m = activity_log_call(log, index++);
		EXPECT_TRUE(is_message(&m, 6, r));
	}
	EXPECT_EQ(0, log->errors);
	FINISH_PAIR(a, b);
}

struct sender {
	const struct IpczDriver *d;
	IpczDriverHandle t;
	uint32_t stream;
	size_t count;
	IpczResult result;
};

static void *send_stream(void *arg)
{
	struct sender *s = arg;

	s->result = IPCZ_RESULT_OK;
	for (size_t i = 0; i < s->count && s->result == IPCZ_RESULT_OK; i++)
		s->result = send_message(s->d, s->t, s->stream, (uint32_t)i,
					 (i * 13) % 200);
	return NULL;
}

/* Per-thread order holds, and the handler never runs twice at once. */
TEST_F(drv, threads_transmit_at_once)
{
	enum { THREADS = 4, EACH = 200 };
	struct sender senders[THREADS];
	pthread_t threads[THREADS];
	uint32_t next[THREADS] = { 0 };
	struct activity_log *log = &self->log;
	IpczDriverHandle a, b;

	NEED_DRIVER();
	OPEN_PAIR(&a, &b);
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(log, b));
	for (int i = 0; i < THREADS; i++) {
		senders[i] = (struct sender){ self->d, a, 10 + i, EACH, 0 };
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, send_stream,
					    &senders[i]));
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(threads[i], NULL);
		EXPECT_EQ(IPCZ_RESULT_OK, senders[i].result);
	}
	ASSERT_TRUE(activity_log_wait(log, &log->messages, THREADS * EACH,
				      WAIT_MS));
	for (size_t n = 0; n < THREADS * EACH; n++) {
		struct activity m = activity_log_call(
			log, activity_log_message_index(log, n));
		struct test_message header;

		memcpy(&header, m.data, sizeof(header));
		ASSERT_LT(header.stream - 10, THREADS);
		ASSERT_TRUE(is_message(&m, header.stream,
				       next[header.stream - 10]));
		next[header.stream - 10]++;
	}
	EXPECT_EQ(0, log->overlaps);
	FINISH_PAIR(a, b);
}

TEST_F(drv, deactivated_is_the_last_call)
{
	struct activity_log *log = &self->log;
	IpczDriverHandle a, b;

	NEED_DRIVER();
	OPEN_PAIR(&a, &b);
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(log, b));
	ASSERT_EQ(IPCZ_RESULT_OK, send_message(self->d, a, 7, 0, 8));
	ASSERT_TRUE(activity_log_wait(log, &log->messages, 1, WAIT_MS));
	ASSERT_EQ(IPCZ_RESULT_OK, self->d->DeactivateTransport(b, 0, NULL));
	ASSERT_TRUE(activity_log_wait(log, &log->deactivations, 1, WAIT_MS));
	/* Activity after deactivation reaches nobody. */
	for (uint32_t i = 1; i < 10; i++)
		self->d->Transmit(a, &i, sizeof(i), NULL, 0, 0, NULL);
	self->d->Transmit(a, NULL, 0, NULL, 0, 0, NULL);
	self->d->Close(a, 0, NULL);
	pause_ms(100);
	EXPECT_EQ(1, activity_log_get(log, &log->deactivations));
	EXPECT_EQ(0, activity_log_get(log, &log->after_deactivation));
	/* The transport is still usable for sending until closed. */
	self->d->Close(b, 0, NULL);
}

static IpczResult deactivate_on_first(struct activity_log *log,
				      const struct activity *call)
{
	IpczDriverHandle *t = log->context;

	if (*t) {
		log->driver->DeactivateTransport(*t, 0, NULL);
		*t = IPCZ_INVALID_DRIVER_HANDLE;
	}
	return IPCZ_RESULT_OK;
}

TEST_F(drv, deactivate_from_the_handler)
{
	struct activity_log *log = &self->log;
	IpczDriverHandle a, b, target;

	NEED_DRIVER();
	OPEN_PAIR(&a, &b);
	target = b;
	log->hook = deactivate_on_first;
	log->context = &target;
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(log, b));
	for (uint32_t i = 0; i < 50; i++)
		self->d->Transmit(a, &i, sizeof(i), NULL, 0, 0, NULL);
	ASSERT_TRUE(activity_log_wait(log, &log->deactivations, 1, WAIT_MS));
	pause_ms(50);
	EXPECT_EQ(0, activity_log_get(log, &log->after_deactivation));
	EXPECT_EQ(0, log->overlaps);
	self->d->Close(a, 0, NULL);
	self->d->Close(b, 0, NULL);
}

TEST_F(drv, closed_peer_is_an_error_after_its_messages)
{
	struct activity_log *log = &self->log;
	IpczDriverHandle a, b;
	struct activity last;

	NEED_DRIVER();
	OPEN_PAIR(&a, &b);
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(log, b));
	for (uint32_t i = 0; i < 3; i++)
		ASSERT_EQ(IPCZ_RESULT_OK, send_message(self->d, a, 8, i, 64));
	ASSERT_EQ(IPCZ_RESULT_OK, self->d->Close(a, 0, NULL));
	ASSERT_TRUE(activity_log_wait(log, &log->errors, 1, WAIT_MS));
	EXPECT_EQ(3, activity_log_get(log, &log->messages));
	EXPECT_TRUE(messages_in_order(log, 8, 3));
	last = activity_log_call(log, activity_log_get(log, &log->count) - 1);
	EXPECT_TRUE(last.flags & IPCZ_TRANSPORT_ACTIVITY_ERROR);
	ASSERT_EQ(IPCZ_RESULT_OK, self->d->DeactivateTransport(b, 0, NULL));
	ASSERT_TRUE(activity_log_wait(log, &log->deactivations, 1, WAIT_MS));
	EXPECT_EQ(1, activity_log_get(log, &log->errors));
	self->d->Close(b, 0, NULL);
}

/* ---- driver objects in messages ---- */

TEST_F(drv, objects_travel_with_bytes)
{
	struct activity_log *log = &self->log;
	struct activity_log log_y;
	IpczDriverHandle a, b, x, y, memory, mapping, memory2, mapping2, x2;
	volatile uint8_t *p, *p2;
	struct packed packed[2];
	size_t index;

	NEED_DRIVER();
	activity_log_init(&log_y, self->d);
	OPEN_PAIR(&a, &b);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->CreateTransports(a, b, 0, NULL, &x, &y));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->AllocateSharedMemory(8192, 0, NULL, &memory));
	p = map(self->d, memory, &mapping);
	ASSERT_NE(NULL, p);
	for (int i = 0; i < 8192; i++)
		p[i] = (uint8_t)(i * 3);
	ASSERT_EQ(IPCZ_RESULT_OK, pack(self->d, memory, a, &packed[0]));
	ASSERT_EQ(IPCZ_RESULT_OK, pack(self->d, x, a, &packed[1]));
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(log, b));
	ASSERT_EQ(IPCZ_RESULT_OK, transmit_packed(self->d, a, packed, 2));
	ASSERT_TRUE(activity_log_wait(log, &log->messages, 1, WAIT_MS));
	index = activity_log_message_index(log, 0);

	memory2 = unpack(log, index, 0, b);
	ASSERT_NE(IPCZ_INVALID_DRIVER_HANDLE, memory2);
	EXPECT_GE(region_size(self->d, memory2), 8192);
	p2 = map(self->d, memory2, &mapping2);
	ASSERT_NE(NULL, p2);
	for (int i = 0; i < 8192; i++)
		ASSERT_EQ((uint8_t)(i * 3), p2[i]);
	p2[5] = 0xee;
	EXPECT_EQ(0xee, p[5]);

	/* The transport that travelled still reaches its peer. */
	x2 = unpack(log, index, 1, b);
	ASSERT_NE(IPCZ_INVALID_DRIVER_HANDLE, x2);
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(&log_y, y));
	ASSERT_EQ(IPCZ_RESULT_OK, send_message(self->d, x2, 9, 0, 100));
	ASSERT_TRUE(activity_log_wait(&log_y, &log_y.messages, 1, WAIT_MS));
	EXPECT_TRUE(messages_in_order(&log_y, 9, 1));

	ASSERT_EQ(IPCZ_RESULT_OK, self->d->DeactivateTransport(b, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, self->d->DeactivateTransport(y, 0, NULL));
	ASSERT_TRUE(activity_log_wait(log, &log->deactivations, 1, WAIT_MS));
	ASSERT_TRUE(activity_log_wait(&log_y, &log_y.deactivations, 1,
				      WAIT_MS));
	self->d->Close(mapping, 0, NULL);
	self->d->Close(mapping2, 0, NULL);
	self->d->Close(memory2, 0, NULL);
	self->d->Close(x2, 0, NULL);
	self->d->Close(y, 0, NULL);
	self->d->Close(a, 0, NULL);
	self->d->Close(b, 0, NULL);
	activity_log_destroy(&log_y);
}

/* More descriptors than one kernel message or socket packet carries. */
TEST_F(drv, many_objects_in_one_message)
{
	enum { COUNT = 100 };
	struct activity_log *log = &self->log;
	IpczDriverHandle a, b;
	struct packed *packed = calloc(COUNT, sizeof(*packed));
	size_t index;

	NEED_DRIVER();
	ASSERT_NE(NULL, packed);
	OPEN_PAIR(&a, &b);
	for (int i = 0; i < COUNT; i++) {
		IpczDriverHandle memory, mapping;
		volatile uint8_t *p;

		ASSERT_EQ(IPCZ_RESULT_OK,
			  self->d->AllocateSharedMemory(64, 0, NULL,
							&memory));
		p = map(self->d, memory, &mapping);
		ASSERT_NE(NULL, p);
		p[0] = (uint8_t)i;
		self->d->Close(mapping, 0, NULL);
		ASSERT_EQ(IPCZ_RESULT_OK, pack(self->d, memory, a,
					       &packed[i]));
	}
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(log, b));
	ASSERT_EQ(IPCZ_RESULT_OK, transmit_packed(self->d, a, packed, COUNT));
	ASSERT_TRUE(activity_log_wait(log, &log->messages, 1, WAIT_MS));
	index = activity_log_message_index(log, 0);
	for (int i = 0; i < COUNT; i++) {
		IpczDriverHandle memory = unpack(log, index, i, b), mapping;
		volatile uint8_t *p;

		ASSERT_NE(IPCZ_INVALID_DRIVER_HANDLE, memory);
		p = map(self->d, memory, &mapping);
		ASSERT_NE(NULL, p);
		EXPECT_EQ((uint8_t)i, p[0]);
		self->d->Close(mapping, 0, NULL);
		self->d->Close(memory, 0, NULL);
	}
	FINISH_PAIR(a, b);
	free(packed);
}

TEST_F(drv, serialize_reports_sizes_and_refuses_garbage)
{
	IpczDriverHandle a, b, memory, object = 0x1234;
	size_t num_bytes = 0, num_handles = 0;
	uint8_t garbage[64];
	struct packed p;

	NEED_DRIVER();
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->CreateTransports(0, 0, 0, NULL, &a, &b));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->AllocateSharedMemory(100, 0, NULL, &memory));
	/* A query: sizes out, nothing consumed. */
	EXPECT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  self->d->Serialize(memory, a, 0, NULL, NULL, &num_bytes,
				     NULL, &num_handles));
	EXPECT_LE(num_bytes, sizeof(p.bytes));
	EXPECT_GE(num_handles, 1);
	EXPECT_LE(num_handles, 8);
	EXPECT_GE(region_size(self->d, memory), 100);
	if (variant->dut->checks_handles) {
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  self->d->Serialize(0x7777777777, a, 0, NULL,
					     p.bytes, &num_bytes, p.handles,
					     &num_handles));
		/* Bytes and handles that no Serialize() made. */
		memset(garbage, 0xa5, sizeof(garbage));
		EXPECT_NE(IPCZ_RESULT_OK,
			  self->d->Deserialize(garbage, sizeof(garbage),
					       &memory, 1, a, 0, NULL,
					       &object));
		EXPECT_EQ(0x1234, object);
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  self->d->Deserialize(garbage, 8, NULL, 0, a, 0,
					       NULL, &object));
		EXPECT_EQ(0x1234, object);
	}
	/* Serialized and rebuilt in place, the region is the same. */
	ASSERT_EQ(IPCZ_RESULT_OK, pack(self->d, memory, a, &p));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->Deserialize(p.bytes, p.num_bytes, p.handles,
				       p.num_handles, a, 0, NULL, &object));
	EXPECT_GE(region_size(self->d, object), 100);
	self->d->Close(object, 0, NULL);
	self->d->Close(a, 0, NULL);
	self->d->Close(b, 0, NULL);
}

/* ---- shared memory ---- */

TEST_F(drv, memory_maps_duplicates_and_outlives_handles)
{
	IpczDriverHandle memory, dup, mapping, mapping2;
	volatile uint8_t *p, *p2;
	size_t size;

	NEED_DRIVER();
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->AllocateSharedMemory(10000, 0, NULL, &memory));
	size = region_size(self->d, memory);
	ASSERT_GE(size, 10000);
	p = map(self->d, memory, &mapping);
	ASSERT_NE(NULL, p);
	for (size_t i = 0; i < size; i++)
		ASSERT_EQ(0, p[i]);
	p[0] = 1;
	p[9999] = 2;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->DuplicateSharedMemory(memory, 0, NULL, &dup));
	EXPECT_EQ(size, region_size(self->d, dup));
	p2 = map(self->d, dup, &mapping2);
	ASSERT_NE(NULL, p2);
	EXPECT_EQ(1, p2[0]);
	EXPECT_EQ(2, p2[9999]);
	p2[100] = 3;
	EXPECT_EQ(3, p[100]);
	/* Mappings stay valid after every region handle is closed. */
	EXPECT_EQ(IPCZ_RESULT_OK, self->d->Close(memory, 0, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, self->d->Close(dup, 0, NULL));
	p[200] = 4;
	EXPECT_EQ(4, p2[200]);
	EXPECT_EQ(IPCZ_RESULT_OK, self->d->Close(mapping, 0, NULL));
	EXPECT_EQ(2, p2[9999]);
	EXPECT_EQ(IPCZ_RESULT_OK, self->d->Close(mapping2, 0, NULL));
}

TEST_F(drv, readonly_duplicate_is_readonly)
{
	IpczDriverHandle memory, ro, ro2, mapping, ro_mapping, ro2_mapping;
	IpczDriverHandle a, b, moved, moved_mapping;
	volatile uint8_t *p, *r, *r2, *m;
	struct packed packed;
	size_t size;

	NEED(readonly);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->AllocateSharedMemory(4096, 0, NULL, &memory));
	size = region_size(self->d, memory);
	p = map(self->d, memory, &mapping);
	ASSERT_NE(NULL, p);
	p[7] = 77;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->DuplicateSharedMemory(memory, DUPLICATE_READ_ONLY,
						 NULL, &ro));
	r = map(self->d, ro, &ro_mapping);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(77, r[7]);
	EXPECT_FALSE(can_make_writable(r, size));
	EXPECT_TRUE(write_faults(r));
	/* Writes through the writable mapping show through it. */
	p[8] = 88;
	EXPECT_EQ(88, r[8]);

	/* A duplicate of a read-only region is read-only too. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->DuplicateSharedMemory(ro, 0, NULL, &ro2));
	r2 = map(self->d, ro2, &ro2_mapping);
	ASSERT_NE(NULL, r2);
	EXPECT_FALSE(can_make_writable(r2, size));

	/* And so is one that travelled. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->CreateTransports(0, 0, 0, NULL, &a, &b));
	ASSERT_EQ(IPCZ_RESULT_OK, pack(self->d, ro2, a, &packed));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->Deserialize(packed.bytes, packed.num_bytes,
				       packed.handles, packed.num_handles, b,
				       0, NULL, &moved));
	m = map(self->d, moved, &moved_mapping);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(88, m[8]);
	EXPECT_FALSE(can_make_writable(m, size));
	EXPECT_TRUE(write_faults(m));

	self->d->Close(moved_mapping, 0, NULL);
	self->d->Close(moved, 0, NULL);
	self->d->Close(ro2_mapping, 0, NULL);
	self->d->Close(ro_mapping, 0, NULL);
	self->d->Close(mapping, 0, NULL);
	self->d->Close(ro, 0, NULL);
	self->d->Close(memory, 0, NULL);
	self->d->Close(a, 0, NULL);
	self->d->Close(b, 0, NULL);
}

TEST_F(drv, random_bytes)
{
	uint8_t one[64] = { 0 }, two[64] = { 0 }, zero[64] = { 0 };

	NEED_DRIVER();
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->GenerateRandomBytes(sizeof(one), 0, NULL, one));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->GenerateRandomBytes(sizeof(two), 0, NULL, two));
	EXPECT_NE(0, memcmp(one, two, sizeof(one)));
	EXPECT_NE(0, memcmp(one, zero, sizeof(one)));
	EXPECT_EQ(IPCZ_RESULT_OK,
		  self->d->GenerateRandomBytes(0, 0, NULL, one));
}

/* ---- across processes ---- */

/*
 * Runs `child` in a new process on one end of a fresh cross-process
 * transport pair, and returns the other end as a transport of this
 * process (or IPCZ_INVALID_DRIVER_HANDLE). *pid gets the child's pid.
 */
static IpczDriverHandle spawn(const struct driver_under_test *dut,
			      int (*child)(const struct driver_under_test *,
					   IpczDriverHandle),
			      pid_t *pid)
{
	IpczDriverHandle transport = IPCZ_INVALID_DRIVER_HANDLE;
	int fds[2];

	if (dut->pair_fds(fds))
		return transport;
	*pid = fork();
	if (*pid == 0) {
		IpczDriverHandle mine;

		close(fds[0]);
		if (dut->from_fd(fds[1], &mine) != IPCZ_RESULT_OK)
			_exit(100);
		_exit(child(dut, mine));
	}
	close(fds[1]);
	if (*pid < 0 || dut->from_fd(fds[0], &transport) != IPCZ_RESULT_OK)
		return IPCZ_INVALID_DRIVER_HANDLE;
	return transport;
}

static int child_status(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 1000 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static IpczResult echo(struct activity_log *log, const struct activity *call)
{
	IpczDriverHandle *t = log->context;

	return log->driver->Transmit(*t, call->data, call->num_bytes, NULL, 0,
				     0, NULL);
}

/* Echoes every message back until the parent goes away. */
static int echo_child(const struct driver_under_test *dut, IpczDriverHandle t)
{
	const struct IpczDriver *d = dut->table();
	struct activity_log log;

	activity_log_init(&log, d);
	log.hook = echo;
	log.context = &t;
	if (activity_log_activate(&log, t) != IPCZ_RESULT_OK)
		return 1;
	if (!activity_log_wait(&log, &log.errors, 1, 60000))
		return 2;
	return log.overlaps ? 3 : 0;
}

TEST_F(drv, ping_pong_across_fork)
{
	const size_t count = 200;
	struct activity_log *log = &self->log;
	IpczDriverHandle t;
	pid_t pid;

	NEED(pair_fds);
	t = spawn(variant->dut, echo_child, &pid);
	ASSERT_NE(IPCZ_INVALID_DRIVER_HANDLE, t);
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(log, t));
	for (size_t i = 0; i < count; i++) {
		ASSERT_EQ(IPCZ_RESULT_OK,
			  send_message(self->d, t, 20, (uint32_t)i,
				       (i * 101) % 3000));
		/* Every tenth one is a full round trip. */
		if (i % 10 == 9)
			ASSERT_TRUE(activity_log_wait(log, &log->messages,
						      i + 1, WAIT_MS));
	}
	ASSERT_TRUE(activity_log_wait(log, &log->messages, count, WAIT_MS));
	EXPECT_TRUE(messages_in_order(log, 20, count));
	ASSERT_EQ(IPCZ_RESULT_OK, self->d->DeactivateTransport(t, 0, NULL));
	ASSERT_TRUE(activity_log_wait(log, &log->deactivations, 1, WAIT_MS));
	self->d->Close(t, 0, NULL);
	EXPECT_EQ(0, child_status(pid));
}

/* Says hello, then dies without closing anything. */
static int dying_child(const struct driver_under_test *dut, IpczDriverHandle t)
{
	const struct IpczDriver *d = dut->table();

	if (send_message(d, t, 21, 0, 10) != IPCZ_RESULT_OK)
		return 1;
	kill(getpid(), SIGKILL);
	return 2;
}

TEST_F(drv, killed_peer_is_an_error)
{
	struct activity_log *log = &self->log;
	IpczDriverHandle t;
	pid_t pid;

	NEED(pair_fds);
	t = spawn(variant->dut, dying_child, &pid);
	ASSERT_NE(IPCZ_INVALID_DRIVER_HANDLE, t);
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(log, t));
	ASSERT_TRUE(activity_log_wait(log, &log->errors, 1, WAIT_MS));
	EXPECT_EQ(1, activity_log_get(log, &log->messages));
	EXPECT_TRUE(messages_in_order(log, 21, 1));
	EXPECT_EQ(1000 + SIGKILL, child_status(pid));
	/* Sending to the dead peer fails or is dropped; never a crash. */
	send_message(self->d, t, 21, 1, 10);
	ASSERT_EQ(IPCZ_RESULT_OK, self->d->DeactivateTransport(t, 0, NULL));
	ASSERT_TRUE(activity_log_wait(log, &log->deactivations, 1, WAIT_MS));
	self->d->Close(t, 0, NULL);
}

/* Streams messages until it is killed. */
static int streaming_child(const struct driver_under_test *dut,
			   IpczDriverHandle t)
{
	const struct IpczDriver *d = dut->table();

	for (uint32_t i = 0;; i++) {
		if (send_message(d, t, 22, i, 100) != IPCZ_RESULT_OK)
			return 1;
		if (i % 64 == 63)
			pause_ms(1);
	}
}

TEST_F(drv, peer_killed_mid_stream_is_an_error)
{
	struct activity_log *log = &self->log;
	size_t received;
	IpczDriverHandle t;
	pid_t pid;

	NEED(pair_fds);
	t = spawn(variant->dut, streaming_child, &pid);
	ASSERT_NE(IPCZ_INVALID_DRIVER_HANDLE, t);
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(log, t));
	ASSERT_TRUE(activity_log_wait(log, &log->messages, 50, WAIT_MS));
	kill(pid, SIGKILL);
	EXPECT_EQ(1000 + SIGKILL, child_status(pid));
	ASSERT_TRUE(activity_log_wait(log, &log->errors, 1, WAIT_MS));
	received = activity_log_get(log, &log->messages);
	/* Whatever arrived, arrived whole and in order. */
	EXPECT_TRUE(messages_in_order(log, 22, received));
	ASSERT_EQ(IPCZ_RESULT_OK, self->d->DeactivateTransport(t, 0, NULL));
	ASSERT_TRUE(activity_log_wait(log, &log->deactivations, 1, WAIT_MS));
	self->d->Close(t, 0, NULL);
}

/*
 * Receives a region and a transport; checks the region, writes an answer
 * into it, says hello over the transport and reports over its own.
 */
static int object_child(const struct driver_under_test *dut,
			IpczDriverHandle t)
{
	const struct IpczDriver *d = dut->table();
	IpczDriverHandle memory, x, mapping;
	struct activity_log log;
	volatile uint8_t *p;
	size_t index;

	activity_log_init(&log, d);
	if (activity_log_activate(&log, t) != IPCZ_RESULT_OK)
		return 1;
	if (!activity_log_wait(&log, &log.messages, 1, 60000))
		return 2;
	index = activity_log_message_index(&log, 0);
	memory = unpack(&log, index, 0, t);
	x = unpack(&log, index, 1, t);
	if (!memory || !x)
		return 3;
	p = map(d, memory, &mapping);
	if (!p || region_size(d, memory) < 65536)
		return 4;
	for (int i = 0; i < 65536; i++) {
		if (p[i] != (uint8_t)(i ^ 0x5a))
			return 5;
	}
	p[0] = 0xc0;
	if (send_message(d, x, 23, 0, 33) != IPCZ_RESULT_OK)
		return 8;
	if (send_message(d, t, 24, 0, 1) != IPCZ_RESULT_OK)
		return 9;
	/* Stay until the parent is done with us. */
	if (!activity_log_wait(&log, &log.errors, 1, 60000))
		return 10;
	return 0;
}

/* Receives a read-only region and checks that it stays read-only. */
static int readonly_child(const struct driver_under_test *dut,
			  IpczDriverHandle t)
{
	const struct IpczDriver *d = dut->table();
	IpczDriverHandle ro, dup, mapping, dup_mapping;
	volatile uint8_t *r, *r2;
	struct activity_log log;

	activity_log_init(&log, d);
	if (activity_log_activate(&log, t) != IPCZ_RESULT_OK)
		return 1;
	if (!activity_log_wait(&log, &log.messages, 1, 60000))
		return 2;
	ro = unpack(&log, activity_log_message_index(&log, 0), 0, t);
	r = ro ? map(d, ro, &mapping) : NULL;
	if (!r || r[1] != 0x11)
		return 3;
	if (can_make_writable(r, 4096) || !write_faults(r))
		return 4;
	/* Even a plain duplicate made here cannot write. */
	if (d->DuplicateSharedMemory(ro, 0, NULL, &dup) != IPCZ_RESULT_OK)
		return 5;
	r2 = map(d, dup, &dup_mapping);
	if (!r2 || can_make_writable(r2, 4096) || !write_faults(r2))
		return 6;
	if (send_message(d, t, 25, 0, 1) != IPCZ_RESULT_OK)
		return 7;
	if (!activity_log_wait(&log, &log.errors, 1, 60000))
		return 8;
	return 0;
}

TEST_F(drv, readonly_region_crosses_processes)
{
	IpczDriverHandle t, memory, mapping, ro;
	struct activity_log *log = &self->log;
	volatile uint8_t *p;
	struct packed packed;
	pid_t pid;

	NEED(pair_fds);
	NEED(readonly);
	t = spawn(variant->dut, readonly_child, &pid);
	ASSERT_NE(IPCZ_INVALID_DRIVER_HANDLE, t);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->AllocateSharedMemory(4096, 0, NULL, &memory));
	p = map(self->d, memory, &mapping);
	ASSERT_NE(NULL, p);
	p[1] = 0x11;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->DuplicateSharedMemory(memory, DUPLICATE_READ_ONLY,
						 NULL, &ro));
	ASSERT_EQ(IPCZ_RESULT_OK, pack(self->d, ro, t, &packed));
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(log, t));
	ASSERT_EQ(IPCZ_RESULT_OK, transmit_packed(self->d, t, &packed, 1));
	ASSERT_TRUE(activity_log_wait(log, &log->messages, 1, WAIT_MS));
	EXPECT_TRUE(messages_in_order(log, 25, 1));
	/* Nothing the child tried reached the region. */
	EXPECT_EQ(0, p[0]);
	ASSERT_EQ(IPCZ_RESULT_OK, self->d->DeactivateTransport(t, 0, NULL));
	ASSERT_TRUE(activity_log_wait(log, &log->deactivations, 1, WAIT_MS));
	self->d->Close(t, 0, NULL);
	EXPECT_EQ(0, child_status(pid));
	self->d->Close(mapping, 0, NULL);
	self->d->Close(memory, 0, NULL);
}

TEST_F(drv, objects_cross_processes)
{
	IpczDriverHandle t, memory, mapping, x, y;
	struct activity_log *log = &self->log;
	struct activity_log log_y;
	volatile uint8_t *p;
	struct packed packed[2];
	pid_t pid;

	NEED(pair_fds);
	activity_log_init(&log_y, self->d);
	t = spawn(variant->dut, object_child, &pid);
	ASSERT_NE(IPCZ_INVALID_DRIVER_HANDLE, t);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->AllocateSharedMemory(65536, 0, NULL, &memory));
	p = map(self->d, memory, &mapping);
	ASSERT_NE(NULL, p);
	for (int i = 0; i < 65536; i++)
		p[i] = (uint8_t)(i ^ 0x5a);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->CreateTransports(t, t, 0, NULL, &x, &y));
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(&log_y, y));
	ASSERT_EQ(IPCZ_RESULT_OK, pack(self->d, memory, t, &packed[0]));
	ASSERT_EQ(IPCZ_RESULT_OK, pack(self->d, x, t, &packed[1]));
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(log, t));
	ASSERT_EQ(IPCZ_RESULT_OK, transmit_packed(self->d, t, packed, 2));

	/* The child's hello over the transport it received. */
	ASSERT_TRUE(activity_log_wait(&log_y, &log_y.messages, 1, WAIT_MS));
	EXPECT_TRUE(messages_in_order(&log_y, 23, 1));
	ASSERT_TRUE(activity_log_wait(log, &log->messages, 1, WAIT_MS));
	EXPECT_TRUE(messages_in_order(log, 24, 1));
	/* Its write into the region it received. */
	EXPECT_EQ(0xc0, p[0]);

	ASSERT_EQ(IPCZ_RESULT_OK, self->d->DeactivateTransport(t, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, self->d->DeactivateTransport(y, 0, NULL));
	ASSERT_TRUE(activity_log_wait(log, &log->deactivations, 1, WAIT_MS));
	ASSERT_TRUE(activity_log_wait(&log_y, &log_y.deactivations, 1,
				      WAIT_MS));
	self->d->Close(t, 0, NULL);
	EXPECT_EQ(0, child_status(pid));
	self->d->Close(y, 0, NULL);
	self->d->Close(mapping, 0, NULL);
	activity_log_destroy(&log_y);
}

TEST_HARNESS_MAIN
