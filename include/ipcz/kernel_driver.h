/* SPDX-License-Identifier: MIT */
/*
 * The kernel driver: an IpczDriver over /dev/ipcz (the ipcz.ko module).
 *
 * Each process opens /dev/ipcz once, on first use, and that open is its
 * node in the module. Transports are the module's entangled transport
 * pairs; Transmit() sends one kernel message of bytes and descriptors (or
 * several for large messages); an empty Transmit() is an empty message, so
 * that every call reaches the peer as exactly one activity call, in order,
 * as the IpczDriver contract requires. Shared memory regions are
 * kernel-allocated regions mapped with mmap(); transports, regions and
 * wrapped descriptors are serialized as descriptors that travel inside
 * kernel messages. One I/O thread per process (started when the first
 * transport is activated or has to wait for room) calls every activity
 * handler. Documentation/kernel-driver.rst describes it all.
 *
 * Connecting two processes, either by name:
 *
 *	// the server
 *	int listener;
 *	ipcz_kernel_listen("my-service", 0600, &listener);
 *	IpczDriverHandle transport;
 *	ipcz_kernel_accept(listener, -1, &transport);
 *	api->ConnectNode(node, transport, 1, IPCZ_NO_FLAGS, NULL, &portal);
 *
 *	// the client, any process the mode lets in
 *	IpczDriverHandle transport;
 *	ipcz_kernel_connect("my-service", &transport);
 *	api->ConnectNode(node, transport, 1, IPCZ_CONNECT_NODE_TO_BROKER,
 *			 NULL, &portal);
 *
 * or by an inherited descriptor:
 *
 *	int fds[2];
 *	ipcz_kernel_transport_pair_fds(fds);	// both close-on-exec
 *	// fork(); the child keeps fds[1] (dup2() it to a known number
 *	// before exec()), the parent keeps fds[0]; each closes the other.
 *	ipcz_kernel_transport_from_fd(fds[0], &transport);
 *
 * Driver handles belong to the process that made them: after fork() the
 * child must not use handles created before the fork; it adopts inherited
 * descriptors instead, and opens its own node on first use. Every function
 * is safe to call from any thread.
 */
#ifndef IPCZ_INCLUDE_IPCZ_KERNEL_DRIVER_H_
#define IPCZ_INCLUDE_IPCZ_KERNEL_DRIVER_H_

#include <sys/types.h>

#include <ipcz/ipcz.h>

#if defined(__cplusplus)
extern "C" {
#endif

#define IPCZ_KERNEL_EXPORT __attribute__((visibility("default")))

/* The driver table, to pass to CreateNode(). */
IPCZ_KERNEL_EXPORT const struct IpczDriver *ipcz_kernel_driver(void);

/*
 * Whether /dev/ipcz can be opened and speaks the ABI this driver knows:
 * 1 if so, 0 if not.
 */
IPCZ_KERNEL_EXPORT int ipcz_kernel_available(void);

/*
 * Flag for DuplicateSharedMemory(): the duplicate is read-only. It maps
 * read-only (mprotect() cannot make it writable) and its own duplicates
 * are read-only too; the original handle and its mappings stay writable.
 */
#define IPCZ_KERNEL_DUPLICATE_READ_ONLY IPCZ_FLAG_BIT(0)

/*
 * Publishes `name` (1 to 255 bytes, no NUL inside) in the module's
 * system-wide rendezvous table until `*listener_fd` is closed. A process
 * may connect if `mode` (0 to 0777, as for a file owned by the caller's
 * uid and gid) grants it write permission. `*listener_fd` is close-on-exec
 * and becomes readable (poll) when a connection waits.
 *
 * IPCZ_RESULT_ALREADY_EXISTS if the name is taken, INVALID_ARGUMENT for a
 * bad name or mode, UNAVAILABLE without /dev/ipcz, RESOURCE_EXHAUSTED at
 * the node's listener limit.
 */
IPCZ_KERNEL_EXPORT IpczResult ipcz_kernel_listen(const char *name,
						 unsigned int mode,
						 int *listener_fd);

/*
 * Takes the next connection waiting on `listener_fd` as a transport,
 * waiting up to `timeout_ms` milliseconds for one (-1: no limit, 0: do
 * not wait). IPCZ_RESULT_DEADLINE_EXCEEDED if none came in time,
 * INVALID_ARGUMENT if `listener_fd` is not a listener.
 */
IPCZ_KERNEL_EXPORT IpczResult ipcz_kernel_accept(int listener_fd,
						 int timeout_ms,
						 IpczDriverHandle *transport);

/*
 * Connects to the listener of `name` and returns this side's transport at
 * once; messages may be transmitted before the listener accepts.
 * IPCZ_RESULT_NOT_FOUND if nobody listens on `name`, PERMISSION_DENIED if
 * its mode refuses the caller, RESOURCE_EXHAUSTED if its backlog is full.
 */
IPCZ_KERNEL_EXPORT IpczResult ipcz_kernel_connect(const char *name,
						  IpczDriverHandle *transport);

/*
 * Makes a kernel transport pair as two close-on-exec descriptors, for
 * handing one to another process. Returns 0 or a negative errno.
 */
IPCZ_KERNEL_EXPORT int ipcz_kernel_transport_pair_fds(int fds[2]);

/*
 * Adopts `fd`, one end of a kernel transport pair (from
 * ipcz_kernel_transport_pair_fds(), inherited or received), as a transport
 * for ConnectNode(). The driver owns `fd` from this call on, also on
 * failure (it is then closed), and sets close-on-exec on it.
 * IPCZ_RESULT_INVALID_ARGUMENT if `fd` is not a kernel transport.
 */
IPCZ_KERNEL_EXPORT IpczResult
ipcz_kernel_transport_from_fd(int fd, IpczDriverHandle *transport);

/* The credentials of a transport's peer, as the module captured them. */
struct ipcz_kernel_peer {
	pid_t pid;	/* 0 if the peer's process is not visible to us */
	uid_t uid;
	gid_t gid;
};

/*
 * Reads the peer credentials of `transport`, which the module captured
 * when the pair was made or the connection accepted.
 */
IPCZ_KERNEL_EXPORT IpczResult
ipcz_kernel_transport_peer(IpczDriverHandle transport,
			   struct ipcz_kernel_peer *peer);

/*
 * Wraps any descriptor as a driver object that an application may Box()
 * and send through a portal. The driver owns `fd` from this call on
 * (closed on failure).
 */
IPCZ_KERNEL_EXPORT IpczResult
ipcz_kernel_descriptor_wrap(int fd, IpczDriverHandle *object);

/*
 * Takes the descriptor back out of a descriptor object (from Unbox()),
 * which is consumed. The caller owns `*fd`.
 */
IPCZ_KERNEL_EXPORT IpczResult
ipcz_kernel_descriptor_unwrap(IpczDriverHandle object, int *fd);

#if defined(__cplusplus)
} /* extern "C" */
#endif

#endif /* IPCZ_INCLUDE_IPCZ_KERNEL_DRIVER_H_ */
