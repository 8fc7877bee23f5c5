// SPDX-License-Identifier: MIT
/*
 * The data path inside one process (in-process driver, heap memory):
 * parcels of every size between a broker and a client, the pool growing
 * for large parcel data (seen through ipcz_introspect_node's pool_bytes),
 * IPCZ_MEMORY_FIXED_PARCEL_CAPACITY keeping the pool at its primary
 * buffer, parcels flowing both ways from two threads, and every driver
 * object released at the end.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "ipcz/inprocess_driver.h"
#include "ipcz/introspect.h"
#include "lib/link_memory.h"
#include "tests/lib/lib_test.h"

static IpczHandle node_with(IpczCreateNodeFlags flags, IpczMemoryFlags memory)
{
	struct IpczCreateNodeOptions options = {
		.size = sizeof(options),
		.memory_flags = memory,
	};
	IpczHandle node = IPCZ_INVALID_HANDLE;

	test_node_api();
	ipcz.CreateNode(ipcz_inprocess_driver(), flags, &options, &node);
	return node;
}

static uint64_t pool_bytes(IpczHandle node)
{
	struct ipcz_node_info info = { .size = sizeof(info) };

	if (ipcz_introspect_node(node, &info) != IPCZ_RESULT_OK)
		return UINT64_MAX;
	return info.pool_bytes;
}

FIXTURE(pair) {
	IpczHandle broker, client, a, b;
};

FIXTURE_VARIANT(pair) {
	IpczMemoryFlags memory;
};

FIXTURE_VARIANT_ADD(pair, growing) { .memory = 0 };
FIXTURE_VARIANT_ADD(pair, fixed) {
	.memory = IPCZ_MEMORY_FIXED_PARCEL_CAPACITY,
};

FIXTURE_SETUP(pair)
{
	IpczDriverHandle t0, t1;

	self->broker = node_with(IPCZ_CREATE_NODE_AS_BROKER, variant->memory);
	self->client = node_with(IPCZ_NO_FLAGS, variant->memory);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz_inprocess_driver()->CreateTransports(
			  IPCZ_INVALID_DRIVER_HANDLE,
			  IPCZ_INVALID_DRIVER_HANDLE, 0, NULL, &t0, &t1));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.ConnectNode(self->broker, t0, 1,
						   IPCZ_NO_FLAGS, NULL,
						   &self->a));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.ConnectNode(self->client, t1, 1,
				   IPCZ_CONNECT_NODE_TO_BROKER, NULL,
				   &self->b));
}

FIXTURE_TEARDOWN(pair)
{
	close_handle(self->a);
	close_handle(self->b);
	close_handle(self->client);
	close_handle(self->broker);
	EXPECT_EQ(0, ipcz_inprocess_live_objects());
}

static void fill(unsigned char *buf, size_t size, unsigned int seed)
{
	size_t i;

	for (i = 0; i < size; i++)
		buf[i] = (unsigned char)(seed * 131 + i * 7);
}

/* Puts one parcel of `size` bytes and checks what arrives. */
static int round_trip(IpczHandle from, IpczHandle to, size_t size,
		      unsigned int seed)
{
	unsigned char *out = malloc(size + 1), *in = malloc(size + 1);
	size_t n = size + 1;
	int ok;

	fill(out, size, seed);
	ok = ipcz.Put(from, out, size, NULL, 0, IPCZ_NO_FLAGS, NULL) ==
		     IPCZ_RESULT_OK &&
	     ipcz.Get(to, IPCZ_NO_FLAGS, NULL, in, &n, NULL, NULL, NULL) ==
		     IPCZ_RESULT_OK &&
	     n == size && memcmp(in, out, size) == 0;
	free(out);
	free(in);
	return ok;
}

/* Two 16 MiB parcels take seconds under ThreadSanitizer. */
TEST_F_TIMEOUT(pair, every_size_arrives_whole, 120)
{
	static const size_t sizes[] = { 0, 1, 64, 1000, 1024, 1025, 4096,
					8000, 65536, 300000, 1 << 20,
					(1 << 20) + 1, 3 << 20 };
	unsigned int i, round;

	for (round = 0; round < 3; round++) {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			ASSERT_TRUE(round_trip(self->a, self->b, sizes[i],
					       i + round));
			ASSERT_TRUE(round_trip(self->b, self->a, sizes[i],
					       i * 3 + round));
		}
	}
	/* The largest block (16 MiB with its header), and one byte more. */
	ASSERT_TRUE(round_trip(self->a, self->b, (16 << 20) - 8, 1));
	ASSERT_TRUE(round_trip(self->b, self->a, (16 << 20) + 1, 2));
}

TEST_F(pair, pool_grows_only_without_fixed_capacity)
{
	uint64_t before = pool_bytes(self->broker);
	int i;

	/* The primary buffer is there from the connection on. */
	ASSERT_EQ(LINK_MEMORY_PRIMARY_SIZE, before);
	ASSERT_EQ(LINK_MEMORY_PRIMARY_SIZE, pool_bytes(self->client));
	/* 64 KiB of data needs 128 KiB blocks: none in the primary buffer. */
	for (i = 0; i < 20; i++)
		ASSERT_TRUE(round_trip(self->a, self->b, 65536, i));
	if (variant->memory & IPCZ_MEMORY_FIXED_PARCEL_CAPACITY) {
		EXPECT_EQ(before, pool_bytes(self->broker));
		EXPECT_EQ(before, pool_bytes(self->client));
	} else {
		/* Both sides see the buffer the broker added. */
		EXPECT_LT(before, pool_bytes(self->broker));
		EXPECT_EQ(pool_bytes(self->broker), pool_bytes(self->client));
	}
}

/*
 * A 1 MiB parcel takes a 2 MiB block: the pool grows by one buffer of
 * that class and then carries a stream of them without growing again
 * (blocks come back as the receiver reads them).
 */
TEST_F(pair, megabyte_parcels_travel_in_the_pool)
{
	uint64_t before = pool_bytes(self->broker), after_first;
	size_t buffer = link_memory_block_buffer_size(2u << 20);
	int i;

	ASSERT_NE(0, buffer);
	ASSERT_TRUE(round_trip(self->a, self->b, 1 << 20, 0));
	ASSERT_TRUE(round_trip(self->a, self->b, 1 << 20, 1));
	after_first = pool_bytes(self->broker);
	if (variant->memory & IPCZ_MEMORY_FIXED_PARCEL_CAPACITY) {
		EXPECT_EQ(before, after_first);
	} else {
		EXPECT_EQ(before + buffer, after_first);
	}
	for (i = 2; i < 16; i++)
		ASSERT_TRUE(round_trip(self->a, self->b, 1 << 20, i));
	EXPECT_EQ(after_first, pool_bytes(self->broker));
	EXPECT_EQ(after_first, pool_bytes(self->client));
}

struct talker {
	IpczHandle portal;
	int count;
	int bad;
};

/* Sends `count` numbered parcels of varying size, reads as many back. */
static void *talk(void *arg)
{
	struct talker *t = arg;
	unsigned char buf[9000], want[9000];
	int sent = 0, received = 0;

	while (sent < t->count || received < t->count) {
		size_t n = sizeof(buf);

		if (sent < t->count) {
			size_t size = 8 + (sent % 5) * 2000;

			fill(buf, size, sent);
			memcpy(buf, &sent, sizeof(sent));
			if (ipcz.Put(t->portal, buf, size, NULL, 0,
				     IPCZ_NO_FLAGS, NULL) == IPCZ_RESULT_OK)
				sent++;
		}
		if (ipcz.Get(t->portal, IPCZ_NO_FLAGS, NULL, buf, &n, NULL,
			     NULL, NULL) == IPCZ_RESULT_OK) {
			size_t size = 8 + (received % 5) * 2000;

			fill(want, size, received);
			memcpy(want, &received, sizeof(received));
			t->bad += n != size || memcmp(buf, want, size) != 0;
			received++;
		}
	}
	return NULL;
}

TEST_F(pair, both_ways_from_two_threads)
{
	struct talker x = { .portal = self->a, .count = 3000 };
	struct talker y = { .portal = self->b, .count = 3000 };
	pthread_t tx, ty;

	ASSERT_EQ(0, pthread_create(&tx, NULL, talk, &x));
	ASSERT_EQ(0, pthread_create(&ty, NULL, talk, &y));
	pthread_join(tx, NULL);
	pthread_join(ty, NULL);
	EXPECT_EQ(0, x.bad);
	EXPECT_EQ(0, y.bad);
}

TEST_HARNESS_MAIN
