// SPDX-License-Identifier: MIT
/*
 * Connecting unrelated processes by name through the module's rendezvous
 * table (include/ipcz/kernel_driver.h): listen, accept and connect, each
 * giving a transport ready for ConnectNode().
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ipcz/kernel_driver.h>

#include "drivers/kernel/device.h"
#include "drivers/kernel/transport.h"
#include "uapi/linux/ipcz.h"

#define LISTEN_BACKLOG 64

/* The length of a usable rendezvous name, or 0. */
static size_t name_length(const char *name)
{
	size_t len;

	if (!name)
		return 0;
	len = strnlen(name, IPCZ_NAME_MAX + 1);
	return len > IPCZ_NAME_MAX ? 0 : len;
}

IpczResult ipcz_kernel_listen(const char *name, unsigned int mode,
			      int *listener_fd)
{
	size_t len = name_length(name);
	struct ipcz_listen args = {
		.size = sizeof(args),
		.flags = IPCZ_CLOEXEC,
		.name = (uintptr_t)name,
		.name_len = (uint32_t)len,
		.mode = mode,
		.uid = IPCZ_OWNER_SELF,
		.gid = IPCZ_OWNER_SELF,
		.backlog = LISTEN_BACKLOG,
	};
	int node, err;

	if (!len || mode > 0777 || !listener_fd)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	node = kdrv_device_fd();
	if (node < 0)
		return IPCZ_RESULT_UNAVAILABLE;
	err = kdrv_ioctl(node, IPCZ_IOC_LISTEN, &args);
	if (err == -ENOSPC)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	if (err)
		return kdrv_result_from_errno(err);
	*listener_fd = args.fd;
	return IPCZ_RESULT_OK;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

IpczResult ipcz_kernel_accept(int listener_fd, int timeout_ms,
			      IpczDriverHandle *transport)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct pollfd pfd = { .fd = listener_fd, .events = POLLIN };

	if (listener_fd < 0 || !transport)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	for (;;) {
		struct ipcz_accept args = {
			.size = sizeof(args),
			.flags = IPCZ_CLOEXEC,
		};
		int err = kdrv_ioctl(listener_fd, IPCZ_IOC_ACCEPT, &args);
		int wait_ms = -1;

		if (!err)
			return kdrv_transport_adopt(args.fd, transport);
		if (err != -EAGAIN)
			return kdrv_result_from_errno(err);
		if (timeout_ms >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return IPCZ_RESULT_DEADLINE_EXCEEDED;
			wait_ms = left > 60000 ? 60000 : (int)left;
		}
		if (poll(&pfd, 1, wait_ms) < 0 && errno != EINTR)
			return IPCZ_RESULT_UNAVAILABLE;
	}
}

IpczResult ipcz_kernel_connect(const char *name, IpczDriverHandle *transport)
{
	size_t len = name_length(name);
	struct ipcz_connect args = {
		.size = sizeof(args),
		.flags = IPCZ_CLOEXEC,
		.name = (uintptr_t)name,
		.name_len = (uint32_t)len,
	};
	int node, err;

	if (!len || !transport)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	node = kdrv_device_fd();
	if (node < 0)
		return IPCZ_RESULT_UNAVAILABLE;
	err = kdrv_ioctl(node, IPCZ_IOC_CONNECT, &args);
	if (err)
		return kdrv_result_from_errno(err);
	return kdrv_transport_adopt(args.fd, transport);
}
