// SPDX-License-Identifier: MIT
/*
 * Socket driver shared memory within one process: allocation, info,
 * mapping and unmapping, duplicates, read-only duplicates.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "tests/socket/recorder.h"

static volatile uint8_t *map(IpczDriverHandle memory, IpczDriverHandle *m)
{
	volatile void *address = NULL;

	if (driver()->MapSharedMemory(memory, 0, NULL, &address, m) !=
	    IPCZ_RESULT_OK)
		return NULL;
	return address;
}

static bool is_mapped(volatile void *address)
{
	return msync((void *)address, 1, MS_ASYNC) == 0 || errno != ENOMEM;
}

TEST(allocate_map_and_describe)
{
	struct IpczSharedMemoryInfo info = { .size = sizeof(info) };
	IpczDriverHandle memory, m1, m2;
	volatile uint8_t *p1, *p2;

	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->AllocateSharedMemory(10000, 0, NULL, &memory));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->GetSharedMemoryInfo(memory, 0, NULL, &info));
	ASSERT_EQ(10000, info.region_num_bytes);
	p1 = map(memory, &m1);
	p2 = map(memory, &m2);
	ASSERT_NE(NULL, p1);
	ASSERT_NE(NULL, p2);
	ASSERT_NE(p1, p2);
	ASSERT_EQ(0, p1[9999]);
	p1[9999] = 42;
	ASSERT_EQ(42, p2[9999]);
	ASSERT_EQ(IPCZ_RESULT_OK, driver()->Close(m1, 0, NULL));
	ASSERT_FALSE(is_mapped(p1));
	ASSERT_EQ(IPCZ_RESULT_OK, driver()->Close(m2, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, driver()->Close(memory, 0, NULL));
}

TEST(bad_arguments)
{
	struct IpczSharedMemoryInfo info = { .size = 4 };
	IpczDriverHandle memory, copy;

	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver()->AllocateSharedMemory(0, 0, NULL, &memory));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->AllocateSharedMemory(64, 0, NULL, &memory));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver()->GetSharedMemoryInfo(memory, 0, NULL, &info));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver()->DuplicateSharedMemory(memory, 0x80, NULL, &copy));
	ASSERT_EQ(IPCZ_RESULT_OK, driver()->Close(memory, 0, NULL));
}

TEST(duplicate_shares_and_mapping_outlives_region)
{
	IpczDriverHandle memory, copy, m1, m2;
	volatile uint8_t *p1, *p2;

	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->AllocateSharedMemory(4096, 0, NULL, &memory));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->DuplicateSharedMemory(memory, 0, NULL, &copy));
	p1 = map(memory, &m1);
	ASSERT_EQ(IPCZ_RESULT_OK, driver()->Close(memory, 0, NULL));
	p2 = map(copy, &m2);
	ASSERT_EQ(IPCZ_RESULT_OK, driver()->Close(copy, 0, NULL));
	p2[5] = 5;
	ASSERT_EQ(5, p1[5]);
	driver()->Close(m1, 0, NULL);
	driver()->Close(m2, 0, NULL);
}

/* Whether the mapping at `p` is, or can be made, writable. */
static bool writable(volatile uint8_t *p)
{
	void *page = (void *)p;

	return mprotect(page, 4096, PROT_READ | PROT_WRITE) == 0;
}

TEST(read_only_duplicate)
{
	IpczDriverHandle memory, ro, again, m_rw, m_ro, m_new;
	volatile uint8_t *rw, *r;

	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->AllocateSharedMemory(4096, 0, NULL, &memory));
	rw = map(memory, &m_rw);
	ASSERT_NE(NULL, rw);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->DuplicateSharedMemory(
			  memory, IPCZ_SOCKET_DUPLICATE_READ_ONLY, NULL, &ro));
	r = map(ro, &m_ro);
	ASSERT_NE(NULL, r);
	rw[7] = 7;
	ASSERT_EQ(7, r[7]);
	ASSERT_FALSE(writable(r));
	/* The writable mapping made earlier keeps working... */
	ASSERT_TRUE(writable(rw));
	rw[8] = 8;
	/* ...but no new writable mapping can be made, by anyone. */
	ASSERT_EQ(NULL, map(memory, &m_new));
	/* A duplicate of a read-only region is read-only too. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->DuplicateSharedMemory(ro, 0, NULL, &again));
	driver()->Close(m_ro, 0, NULL);
	r = map(again, &m_ro);
	ASSERT_NE(NULL, r);
	ASSERT_FALSE(writable(r));
	driver()->Close(m_ro, 0, NULL);
	driver()->Close(m_rw, 0, NULL);
	driver()->Close(again, 0, NULL);
	driver()->Close(ro, 0, NULL);
	driver()->Close(memory, 0, NULL);
}

TEST(serialized_region_round_trip)
{
	IpczDriverHandle memory, wire, back, m1, m2;
	size_t num_bytes = 64, num_handles = 1;
	volatile uint8_t *p1, *p2;
	uint8_t data[64];

	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->AllocateSharedMemory(8192, 0, NULL, &memory));
	p1 = map(memory, &m1);
	p1[8191] = 0x77;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->Serialize(memory, IPCZ_INVALID_DRIVER_HANDLE, 0,
				      NULL, data, &num_bytes, &wire,
				      &num_handles));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->Deserialize(data, num_bytes, &wire, 1, 0, 0, NULL,
					&back));
	p2 = map(back, &m2);
	ASSERT_EQ(0x77, p2[8191]);
	driver()->Close(m1, 0, NULL);
	driver()->Close(m2, 0, NULL);
	driver()->Close(back, 0, NULL);
}

TEST_HARNESS_MAIN
