// SPDX-License-Identifier: MIT
/*
 * The data path between processes (socket driver): a forked client
 * streams parcels to the broker, small ones through the link's shared
 * ring and, mixed in, large ones whose data travels in pool fragments
 * (the pool grows for them) and ones carrying a boxed memory object,
 * which must go through the driver. The
 * broker checks that every parcel arrives once, whole and in order, which
 * holds only if the two streams merge by their link numbers and no
 * wakeup is lost while the receiver sleeps. STREAM_PARCELS (environment)
 * sets the count, STREAM_ONLY_SMALL skips the mixed test; run under
 * `strace -f -c` it shows the system calls per parcel
 * (Documentation/data-path.rst).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ipcz/socket_driver.h"
#include "tests/lib/lib_test.h"

#define SMALL 64
#define LARGE 6000	/* in a data fragment: 8 KiB blocks, by growth */
#define EVERY_BOX 11	/* in the mixed stream, parcels with a box */

static int parcel_count(void)
{
	const char *env = getenv("STREAM_PARCELS");
	int n = env ? atoi(env) : 0;

	return n > 0 ? n : 20000;
}

/* Parcel i: its size, and bytes derived from i. */
static size_t parcel_size(int i, int every_large)
{
	return every_large && i % every_large == every_large - 1 ? LARGE :
								   SMALL;
}

static void fill(unsigned char *buf, size_t size, int i)
{
	size_t k;

	memcpy(buf, &i, sizeof(i));
	for (k = sizeof(i); k < size; k++)
		buf[k] = (unsigned char)(i * 31 + k);
}

/* A boxed driver object: its message needs the driver. */
static bool put_box(IpczHandle node, IpczHandle portal, const void *data,
		    size_t size)
{
	const struct IpczDriver *driver = ipcz_socket_driver();
	struct IpczBoxContents contents = {
		.size = sizeof(contents),
		.type = IPCZ_BOX_TYPE_DRIVER_OBJECT,
	};
	IpczHandle box;

	if (driver->AllocateSharedMemory(4096, 0, NULL,
					 &contents.object.driver_object) !=
		    IPCZ_RESULT_OK ||
	    ipcz.Box(node, &contents, 0, NULL, &box) != IPCZ_RESULT_OK)
		return false;
	return ipcz.Put(portal, data, size, &box, 1, IPCZ_NO_FLAGS, NULL) ==
	       IPCZ_RESULT_OK;
}

static int client(int fd, int count, int every_large)
{
	static unsigned char buf[LARGE];
	IpczHandle node, portal;
	IpczDriverHandle transport;
	char done[8];
	int i;

	test_node_api();
	if (ipcz.CreateNode(ipcz_socket_driver(), IPCZ_NO_FLAGS, NULL,
			    &node) != IPCZ_RESULT_OK ||
	    ipcz_socket_transport_from_fd(fd, &transport) != IPCZ_RESULT_OK ||
	    ipcz.ConnectNode(node, transport, 1, IPCZ_CONNECT_NODE_TO_BROKER,
			     NULL, &portal) != IPCZ_RESULT_OK)
		return 1;
	for (i = 0; i < count; i++) {
		size_t size = parcel_size(i, every_large);

		fill(buf, size, i);
		if (every_large && i % EVERY_BOX == EVERY_BOX - 1) {
			if (!put_box(node, portal, buf, size))
				return 2;
		} else if (ipcz.Put(portal, buf, size, NULL, 0, IPCZ_NO_FLAGS,
				    NULL) != IPCZ_RESULT_OK) {
			return 2;
		}
	}
	/* The broker's word that all arrived, then leave. */
	while (get_str(portal, done, sizeof(done)) == IPCZ_RESULT_UNAVAILABLE)
		usleep(100);
	ipcz.Close(portal, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(node, IPCZ_NO_FLAGS, NULL);
	return 0;
}

/* Receives `count` parcels from a forked client and checks each. */
static void stream(struct __test_metadata *_metadata, int count,
		   int every_large)
{
	static unsigned char buf[LARGE], want[LARGE];
	IpczHandle node, portal;
	IpczDriverHandle transport;
	int fds[2], status, i;
	pid_t pid;

	test_node_api();
	ASSERT_EQ(0, ipcz_socket_pair(fds));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		_exit(client(fds[1], count, every_large));
	}
	close(fds[1]);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.CreateNode(ipcz_socket_driver(),
				  IPCZ_CREATE_NODE_AS_BROKER, NULL, &node));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz_socket_transport_from_fd(fds[0], &transport));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.ConnectNode(node, transport, 1,
						   IPCZ_NO_FLAGS, NULL,
						   &portal));
	for (i = 0; i < count; i++) {
		size_t size = parcel_size(i, every_large), n = sizeof(buf);
		size_t num_handles = 1;
		IpczHandle box = IPCZ_INVALID_HANDLE;
		struct IpczBoxContents contents = { .size = sizeof(contents) };
		IpczResult r;

		while ((r = ipcz.Get(portal, IPCZ_NO_FLAGS, NULL, buf, &n,
				     &box, &num_handles, NULL)) ==
		       IPCZ_RESULT_UNAVAILABLE)
			usleep(50);
		ASSERT_EQ(IPCZ_RESULT_OK, r);
		ASSERT_EQ(size, n);
		if (every_large && i % EVERY_BOX == EVERY_BOX - 1) {
			ASSERT_EQ(1, num_handles);
			ASSERT_EQ(IPCZ_RESULT_OK,
				  ipcz.Unbox(box, 0, NULL, &contents));
			ASSERT_EQ(IPCZ_BOX_TYPE_DRIVER_OBJECT, contents.type);
			ipcz_socket_driver()->Close(
				contents.object.driver_object, 0, NULL);
		} else {
			ASSERT_EQ(0, num_handles);
		}
		fill(want, size, i);
		ASSERT_EQ(0, memcmp(want, buf, size)) {
			TH_LOG("parcel %d differs", i);
		}
	}
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(portal, "done"));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	close_handle(portal);
	close_handle(node);
}

TEST(small_parcels_stream_in_order)
{
	stream(_metadata, parcel_count(), 0);
}

TEST(ring_fragment_and_driver_parcels_merge_in_order)
{
	/* For counting system calls of small parcels alone. */
	if (getenv("STREAM_ONLY_SMALL"))
		SKIP(return, "STREAM_ONLY_SMALL is set");
	/* Every 7th parcel is large, every 11th carries a box. */
	stream(_metadata, parcel_count(), 7);
}

TEST_HARNESS_MAIN
