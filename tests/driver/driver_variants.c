// SPDX-License-Identifier: MIT
#include <ipcz/inprocess_driver.h>
#include <ipcz/kernel_driver.h>
#include <ipcz/socket_driver.h>

#include "tests/driver/driver_variants.h"

_Static_assert(IPCZ_KERNEL_DUPLICATE_READ_ONLY == DUPLICATE_READ_ONLY,
	       "kernel read-only flag");
_Static_assert(IPCZ_SOCKET_DUPLICATE_READ_ONLY == DUPLICATE_READ_ONLY,
	       "socket read-only flag");

const struct driver_under_test kernel_under_test = {
	.name = "kernel",
	.table = ipcz_kernel_driver,
	.available = ipcz_kernel_available,
	.pair_fds = ipcz_kernel_transport_pair_fds,
	.from_fd = ipcz_kernel_transport_from_fd,
	.readonly = true,
	.checks_handles = true,
};

const struct driver_under_test socket_under_test = {
	.name = "socket",
	.table = ipcz_socket_driver,
	.pair_fds = ipcz_socket_pair,
	.from_fd = ipcz_socket_transport_from_fd,
	.readonly = true,
	.checks_handles = true,
};

/* Everything lives in one process: no transport can leave it. */
const struct driver_under_test inprocess_under_test = {
	.name = "inprocess",
	.table = ipcz_inprocess_driver,
};
