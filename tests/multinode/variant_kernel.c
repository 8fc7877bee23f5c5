// SPDX-License-Identifier: MIT
/*
 * Variant "kernel": the kernel driver over /dev/ipcz, each role in its own
 * process, transport pairs made with ipcz_kernel_transport_pair_fds()
 * before the fork. Runs inside the test VM, where a round trip costs far
 * more than natively, hence the longer deadline.
 */
#include "ipcz/kernel_driver.h"
#include "tests/multinode/mn.h"

const struct mn_variant mn_variant = {
	.name = "kernel",
	.mode = MN_MODE_PROCESSES,
	.driver = ipcz_kernel_driver,
	.pair_fds = ipcz_kernel_transport_pair_fds,
	.transport_from_fd = ipcz_kernel_transport_from_fd,
	.descriptor_wrap = ipcz_kernel_descriptor_wrap,
	.descriptor_unwrap = ipcz_kernel_descriptor_unwrap,
	.timeout_ms = 30000,
};
