// SPDX-License-Identifier: MIT
/*
 * wait_across_processes: two processes connected over the socket driver,
 * each waiting for the other's parcels with ipcz_wait_portal()
 * (include/ipcz/wait.h) instead of a trap: the waiting thread delivers the
 * link's messages itself and sleeps on the shared ring, so the peer's
 * parcel wakes it directly. The parent is the broker; the child connects
 * to it, answers a few pings, and the parent waits for it to close.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcz/ipcz.h>
#include <ipcz/socket_driver.h>
#include <ipcz/wait.h>

#define PINGS 5
#define ONE_SECOND 1000000000ull

static struct IpczAPI ipcz = { .size = sizeof(ipcz) };

static const struct IpczTrapConditions parcel_or_closed = {
	.size = sizeof(parcel_or_closed),
	.flags = IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS | IPCZ_TRAP_PEER_CLOSED,
	.min_local_parcels = 0,
};

/* A node on the socket driver, connected over `fd`; its one portal. */
static IpczHandle connect_over(int fd, int broker, IpczHandle *node)
{
	IpczDriverHandle transport;
	IpczHandle portal;

	if (ipcz.CreateNode(ipcz_socket_driver(),
			    broker ? IPCZ_CREATE_NODE_AS_BROKER : IPCZ_NO_FLAGS,
			    NULL, node) != IPCZ_RESULT_OK ||
	    ipcz_socket_transport_from_fd(fd, &transport) != IPCZ_RESULT_OK ||
	    ipcz.ConnectNode(*node, transport, 1,
			     broker ? IPCZ_NO_FLAGS :
				      IPCZ_CONNECT_NODE_TO_BROKER,
			     NULL, &portal) != IPCZ_RESULT_OK)
		return IPCZ_INVALID_HANDLE;
	return portal;
}

/* Waits up to a second for the next parcel and reads it as a string. */
static int receive(IpczHandle portal, char *text, size_t size)
{
	size_t num_bytes = size - 1;

	if (ipcz_wait_portal(portal, &parcel_or_closed, ONE_SECOND, NULL,
			     NULL) != IPCZ_RESULT_OK ||
	    ipcz.Get(portal, IPCZ_NO_FLAGS, NULL, text, &num_bytes, NULL, NULL,
		     NULL) != IPCZ_RESULT_OK)
		return -1;
	text[num_bytes] = '\0';
	return 0;
}

static int child(int fd)
{
	IpczHandle node, broker = connect_over(fd, 0, &node);
	char text[16];
	int i;

	for (i = 0; i < PINGS; i++) {
		if (broker == IPCZ_INVALID_HANDLE ||
		    receive(broker, text, sizeof(text)) ||
		    strcmp(text, "ping") ||
		    ipcz.Put(broker, "pong", 4, NULL, 0, IPCZ_NO_FLAGS, NULL))
			return 1;
	}
	ipcz.Close(broker, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(node, IPCZ_NO_FLAGS, NULL);
	return 0;
}

static int parent(int fd, pid_t pid)
{
	struct IpczPortalStatus status = { .size = sizeof(status) };
	IpczHandle node, client = connect_over(fd, 1, &node);
	char text[16];
	int i, exit_status = 1;

	for (i = 0; i < PINGS; i++) {
		if (client == IPCZ_INVALID_HANDLE ||
		    ipcz.Put(client, "ping", 4, NULL, 0, IPCZ_NO_FLAGS,
			     NULL) ||
		    receive(client, text, sizeof(text)) ||
		    strcmp(text, "pong")) {
			fprintf(stderr, "wait_across_processes: round %d\n", i);
			return 1;
		}
		printf("ping %d: %s\n", i, text);
	}
	/* The child's closure ends a wait for PEER_CLOSED. */
	if (ipcz_wait_portal(client, &parcel_or_closed, ONE_SECOND, NULL,
			     &status) != IPCZ_RESULT_OK ||
	    !(status.flags & IPCZ_PORTAL_STATUS_PEER_CLOSED))
		return 1;
	printf("the child closed its portal\n");
	ipcz.Close(client, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(node, IPCZ_NO_FLAGS, NULL);
	if (waitpid(pid, &exit_status, 0) != pid)
		return 1;
	return WIFEXITED(exit_status) ? WEXITSTATUS(exit_status) : 1;
}

int main(void)
{
	int fds[2];
	pid_t pid;

	if (IpczGetAPI(&ipcz) != IPCZ_RESULT_OK || ipcz_socket_pair(fds))
		return 1;
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		close(fds[0]);
		return child(fds[1]);
	}
	close(fds[1]);
	return parent(fds[0], pid);
}
