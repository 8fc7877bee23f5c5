// SPDX-License-Identifier: MIT
/*
 * The choice of the default driver (include/ipcz/default_driver.h). The
 * answer is computed on every call: cheap after the first (the kernel
 * driver keeps its open node), and a module loaded later is noticed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ipcz/default_driver.h>
#include <ipcz/kernel_driver.h>
#include <ipcz/socket_driver.h>

static enum ipcz_driver_kind kind_from_environment(void)
{
	const char *value = getenv(IPCZ_DRIVER_ENV);

	if (!value || !*value || !strcmp(value, "auto"))
		return IPCZ_DRIVER_AUTO;
	if (!strcmp(value, "kernel"))
		return IPCZ_DRIVER_KERNEL;
	if (!strcmp(value, "socket"))
		return IPCZ_DRIVER_SOCKET;
	return IPCZ_DRIVER_INVALID;
}

enum ipcz_driver_kind ipcz_default_driver_kind(enum ipcz_driver_kind requested)
{
	enum ipcz_driver_kind kind = requested;

	if (kind == IPCZ_DRIVER_AUTO)
		kind = kind_from_environment();
	switch (kind) {
	case IPCZ_DRIVER_AUTO:
		return ipcz_kernel_available() ? IPCZ_DRIVER_KERNEL :
						 IPCZ_DRIVER_SOCKET;
	case IPCZ_DRIVER_KERNEL:
		return ipcz_kernel_available() ? IPCZ_DRIVER_KERNEL :
						 IPCZ_DRIVER_INVALID;
	case IPCZ_DRIVER_SOCKET:
		return IPCZ_DRIVER_SOCKET;
	default:
		return IPCZ_DRIVER_INVALID;
	}
}

const struct IpczDriver *ipcz_driver_table(enum ipcz_driver_kind kind)
{
	switch (ipcz_default_driver_kind(kind)) {
	case IPCZ_DRIVER_KERNEL:
		return ipcz_kernel_driver();
	case IPCZ_DRIVER_SOCKET:
		return ipcz_socket_driver();
	default:
		return NULL;
	}
}

const struct IpczDriver *ipcz_default_driver(void)
{
	return ipcz_driver_table(IPCZ_DRIVER_AUTO);
}

const char *ipcz_driver_kind_name(enum ipcz_driver_kind kind)
{
	switch (kind) {
	case IPCZ_DRIVER_AUTO:
		return "auto";
	case IPCZ_DRIVER_KERNEL:
		return "kernel";
	case IPCZ_DRIVER_SOCKET:
		return "socket";
	default:
		return "invalid";
	}
}

int ipcz_driver_transport_pair_fds(enum ipcz_driver_kind kind, int fds[2])
{
	if (!fds)
		return -EINVAL;
	switch (ipcz_default_driver_kind(kind)) {
	case IPCZ_DRIVER_KERNEL:
		return ipcz_kernel_transport_pair_fds(fds);
	case IPCZ_DRIVER_SOCKET:
		return ipcz_socket_pair(fds);
	default:
		return -ENODEV;
	}
}

IpczResult ipcz_driver_transport_from_fd(enum ipcz_driver_kind kind, int fd,
					 IpczDriverHandle *transport)
{
	switch (ipcz_default_driver_kind(kind)) {
	case IPCZ_DRIVER_KERNEL:
		return ipcz_kernel_transport_from_fd(fd, transport);
	case IPCZ_DRIVER_SOCKET:
		return ipcz_socket_transport_from_fd(fd, transport);
	default:
		if (fd >= 0)
			close(fd);
		return IPCZ_RESULT_UNAVAILABLE;
	}
}
