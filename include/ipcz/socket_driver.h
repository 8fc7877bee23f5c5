/* SPDX-License-Identifier: MIT */
/*
 * The socket driver: an IpczDriver over AF_UNIX sockets and memfd memory,
 * for machines without /dev/ipcz.
 *
 * Transports are SOCK_SEQPACKET socket pairs; descriptors travel with
 * SCM_RIGHTS; shared memory regions are size-sealed memfds. The driver runs
 * one I/O thread per process (started when the first transport is
 * activated) from which it calls every transport activity handler.
 *
 * Connecting a child process:
 *
 *	int fds[2];
 *	ipcz_socket_pair(fds);			// both close-on-exec
 *	pid_t pid = fork();
 *	if (pid == 0) {
 *		close(fds[0]);
 *		// After fork() alone: adopt fds[1] directly (below). Before
 *		// exec(): dup2(fds[1], 3) (dup2 clears close-on-exec) and
 *		// tell the new program which descriptor to adopt.
 *	}
 *	close(fds[1]);
 *	IpczDriverHandle transport;
 *	ipcz_socket_transport_from_fd(fds[0], &transport);
 *	api->ConnectNode(node, transport, 1, flags, NULL, &portal);
 *
 * and in the child, with its own node created on ipcz_socket_driver():
 *
 *	ipcz_socket_transport_from_fd(3, &transport);
 *	api->ConnectNode(node, transport, 1, IPCZ_CONNECT_NODE_TO_BROKER,
 *			 NULL, &portal);
 *
 * Driver objects live in one process: after fork(), the child must not use
 * handles created before the fork (adopt descriptors instead). The driver
 * is safe to use from any number of threads.
 */
#ifndef IPCZ_INCLUDE_IPCZ_SOCKET_DRIVER_H_
#define IPCZ_INCLUDE_IPCZ_SOCKET_DRIVER_H_

#include <ipcz/ipcz.h>

#if defined(__cplusplus)
extern "C" {
#endif

#define IPCZ_SOCKET_EXPORT __attribute__((visibility("default")))

/* The driver table, to pass to CreateNode(). */
IPCZ_SOCKET_EXPORT const struct IpczDriver *ipcz_socket_driver(void);

/*
 * Creates a connected pair of sockets for a transport pair, both
 * close-on-exec. Returns 0, or a negative errno.
 */
IPCZ_SOCKET_EXPORT int ipcz_socket_pair(int fds[2]);

/*
 * Adopts `fd`, one end of a pair from ipcz_socket_pair() (any AF_UNIX
 * SOCK_SEQPACKET socket), as a transport for ConnectNode(). The driver owns
 * `fd` from this call on, also on failure (it is then closed), and sets
 * close-on-exec on it. IPCZ_RESULT_INVALID_ARGUMENT if `fd` is not such a
 * socket.
 */
IPCZ_SOCKET_EXPORT IpczResult
ipcz_socket_transport_from_fd(int fd, IpczDriverHandle *transport);

/*
 * Wraps any descriptor as a driver object, which an application may Box()
 * and send through a portal like any other driver object. The driver owns
 * `fd` from this call on (closed on failure).
 */
IPCZ_SOCKET_EXPORT IpczResult
ipcz_socket_descriptor_wrap(int fd, IpczDriverHandle *object);

/*
 * Takes the descriptor back out of a descriptor object (from Unbox()), which
 * is consumed. The caller owns `*fd`.
 */
IPCZ_SOCKET_EXPORT IpczResult
ipcz_socket_descriptor_unwrap(IpczDriverHandle object, int *fd);

/*
 * Flag for DuplicateSharedMemory(): the duplicate is read-only. This also
 * seals the region against any new writable mapping, through any handle
 * or descriptor and in every process (F_SEAL_FUTURE_WRITE); mappings made
 * before stay writable. So map a region you mean to write before handing
 * out read-only duplicates of it. Read-only regions map read-only.
 */
#define IPCZ_SOCKET_DUPLICATE_READ_ONLY IPCZ_FLAG_BIT(0)

#if defined(__cplusplus)
} /* extern "C" */
#endif

#endif /* IPCZ_INCLUDE_IPCZ_SOCKET_DRIVER_H_ */
