// SPDX-License-Identifier: MIT
/*
 * Variant "socket": the socket driver, each role in its own process,
 * transport pairs made with ipcz_socket_pair() before the fork.
 */
#include "ipcz/socket_driver.h"
#include "tests/multinode/mn.h"

const struct mn_variant mn_variant = {
	.name = "socket",
	.mode = MN_MODE_PROCESSES,
	.driver = ipcz_socket_driver,
	.pair_fds = ipcz_socket_pair,
	.transport_from_fd = ipcz_socket_transport_from_fd,
	.descriptor_wrap = ipcz_socket_descriptor_wrap,
	.descriptor_unwrap = ipcz_socket_descriptor_unwrap,
	.timeout_ms = 10000,
};
