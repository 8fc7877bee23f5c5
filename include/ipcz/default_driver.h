/* SPDX-License-Identifier: MIT */
/*
 * The default driver: which bundled IpczDriver a program runs on when it
 * does not care, and driver-neutral ways to connect two processes with it.
 *
 * The rule, first match wins:
 *  1. the `kind` argument, unless it is IPCZ_DRIVER_AUTO;
 *  2. the environment variable IPCZ_DRIVER: "kernel", "socket" or "auto"
 *     (unset or empty means auto);
 *  3. the kernel driver if /dev/ipcz can be opened and speaks our ABI,
 *     otherwise the socket driver.
 * Forcing the kernel driver (by argument or IPCZ_DRIVER=kernel) where
 * /dev/ipcz is unusable is an error, not a quiet fall back: the functions
 * below then fail as described. Documentation/drivers.rst has the details.
 *
 *	enum ipcz_driver_kind kind = ipcz_default_driver_kind(IPCZ_DRIVER_AUTO);
 *	const struct IpczDriver *driver = ipcz_driver_table(kind);
 *	api->CreateNode(driver, IPCZ_NO_FLAGS, NULL, &node);
 *	int fds[2];
 *	ipcz_driver_transport_pair_fds(kind, fds);
 *	// hand fds[1] to a child; in each process:
 *	ipcz_driver_transport_from_fd(kind, fds[0], &transport);
 */
#ifndef IPCZ_INCLUDE_IPCZ_DEFAULT_DRIVER_H_
#define IPCZ_INCLUDE_IPCZ_DEFAULT_DRIVER_H_

#include <ipcz/ipcz.h>

#if defined(__cplusplus)
extern "C" {
#endif

#define IPCZ_DEFAULT_EXPORT __attribute__((visibility("default")))

enum ipcz_driver_kind {
	IPCZ_DRIVER_AUTO = 0,	/* follow IPCZ_DRIVER, then availability */
	IPCZ_DRIVER_KERNEL = 1,	/* drivers/kernel, over /dev/ipcz */
	IPCZ_DRIVER_SOCKET = 2,	/* drivers/socket, AF_UNIX and memfd */
	IPCZ_DRIVER_INVALID = -1,
};

/* The environment variable that picks the driver under IPCZ_DRIVER_AUTO. */
#define IPCZ_DRIVER_ENV "IPCZ_DRIVER"

/*
 * Resolves `requested` by the rule above to IPCZ_DRIVER_KERNEL or
 * IPCZ_DRIVER_SOCKET. Returns IPCZ_DRIVER_INVALID if the kernel driver was
 * forced but /dev/ipcz is unusable, if IPCZ_DRIVER holds anything but
 * "kernel", "socket", "auto" or nothing, or if `requested` is not a kind.
 */
IPCZ_DEFAULT_EXPORT enum ipcz_driver_kind
ipcz_default_driver_kind(enum ipcz_driver_kind requested);

/* The driver table of `kind`, resolved as above; NULL when INVALID. */
IPCZ_DEFAULT_EXPORT const struct IpczDriver *
ipcz_driver_table(enum ipcz_driver_kind kind);

/* The default driver: ipcz_driver_table(IPCZ_DRIVER_AUTO). */
IPCZ_DEFAULT_EXPORT const struct IpczDriver *ipcz_default_driver(void);

/* The name of a kind: "kernel", "socket", "auto" or "invalid". */
IPCZ_DEFAULT_EXPORT const char *
ipcz_driver_kind_name(enum ipcz_driver_kind kind);

/*
 * Makes a transport pair of the driver `kind` (resolved as above) as two
 * close-on-exec descriptors, to hand one to another process. 0 or a
 * negative errno (-ENODEV if the kind resolves to INVALID).
 */
IPCZ_DEFAULT_EXPORT int
ipcz_driver_transport_pair_fds(enum ipcz_driver_kind kind, int fds[2]);

/*
 * Adopts `fd`, one end of such a pair, as a transport of driver `kind`.
 * The driver owns `fd` from this call on (closed on failure).
 */
IPCZ_DEFAULT_EXPORT IpczResult
ipcz_driver_transport_from_fd(enum ipcz_driver_kind kind, int fd,
			      IpczDriverHandle *transport);

#if defined(__cplusplus)
} /* extern "C" */
#endif

#endif /* IPCZ_INCLUDE_IPCZ_DEFAULT_DRIVER_H_ */
