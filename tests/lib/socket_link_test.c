// SPDX-License-Identifier: MIT
/*
 * Node links between processes: a broker and a forked child connected
 * with the socket driver (include/ipcz/socket_driver.h), whose I/O thread
 * delivers everything asynchronously. The child echoes parcels back,
 * answers through a portal it is sent, and its exit is seen as closure.
 */
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ipcz/socket_driver.h"
#include "lib_test.h"

/* Waits (politely) until `portal` has a parcel or its peer is gone. */
static IpczResult wait_get(IpczHandle portal, char *buf, size_t size,
			   IpczHandle *handle)
{
	for (;;) {
		size_t n = size - 1, h = handle ? 1 : 0;
		IpczResult r = ipcz.Get(portal, IPCZ_NO_FLAGS, NULL, buf, &n,
					handle, &h, NULL);

		if (r != IPCZ_RESULT_UNAVAILABLE) {
			buf[r == IPCZ_RESULT_OK ? n : 0] = '\0';
			return r;
		}
		usleep(200);
	}
}

static int child(int fd)
{
	IpczHandle node, portal, extra = IPCZ_INVALID_HANDLE;
	IpczDriverHandle transport;
	char buf[64];
	int i;

	test_node_api();
	if (ipcz.CreateNode(ipcz_socket_driver(), IPCZ_NO_FLAGS, NULL,
			    &node) != IPCZ_RESULT_OK ||
	    ipcz_socket_transport_from_fd(fd, &transport) != IPCZ_RESULT_OK ||
	    ipcz.ConnectNode(node, transport, 1, IPCZ_CONNECT_NODE_TO_BROKER,
			     NULL, &portal) != IPCZ_RESULT_OK)
		return 1;
	for (i = 0; i < 100; i++) {
		if (wait_get(portal, buf, sizeof(buf), NULL) != IPCZ_RESULT_OK ||
		    put_str(portal, buf) != IPCZ_RESULT_OK)
			return 2;
	}
	/* A portal arrives; answer through it. */
	if (wait_get(portal, buf, sizeof(buf), &extra) != IPCZ_RESULT_OK ||
	    extra == IPCZ_INVALID_HANDLE ||
	    put_str(extra, "answer") != IPCZ_RESULT_OK)
		return 3;
	/* Wait for the broker to finish, then leave. */
	wait_get(portal, buf, sizeof(buf), NULL);
	ipcz.Close(extra, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(portal, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(node, IPCZ_NO_FLAGS, NULL);
	return 0;
}

TEST(broker_and_child_process)
{
	IpczHandle node, portal, c, d;
	IpczDriverHandle transport;
	char buf[64];
	int fds[2], status, i;
	pid_t pid;

	test_node_api();
	ASSERT_EQ(0, ipcz_socket_pair(fds));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		_exit(child(fds[1]));
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
	for (i = 0; i < 100; i++) {
		char want[24];

		snprintf(want, sizeof(want), "echo %d", i);
		ASSERT_EQ(IPCZ_RESULT_OK, put_str(portal, want));
		ASSERT_EQ(IPCZ_RESULT_OK, wait_get(portal, buf, sizeof(buf),
						   NULL));
		ASSERT_STREQ(want, buf);
	}
	test_portals(node, &c, &d);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(portal, "p", 1, &d, 1, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, wait_get(c, buf, sizeof(buf), NULL));
	ASSERT_STREQ("answer", buf);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(portal, "done"));
	/* The child closes everything and exits: we see closure. */
	ASSERT_EQ(IPCZ_RESULT_NOT_FOUND, wait_get(c, buf, sizeof(buf), NULL));
	ASSERT_EQ(IPCZ_RESULT_NOT_FOUND,
		  wait_get(portal, buf, sizeof(buf), NULL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ipcz.Close(c, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(portal, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(node, IPCZ_NO_FLAGS, NULL);
}

TEST_HARNESS_MAIN
