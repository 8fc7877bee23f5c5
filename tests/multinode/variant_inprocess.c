// SPDX-License-Identifier: MIT
/*
 * Variant "inprocess": the in-process driver, every node in this process,
 * every role a coroutine of one thread.
 */
#include "ipcz/inprocess_driver.h"
#include "tests/multinode/mn.h"

const struct mn_variant mn_variant = {
	.name = "inprocess",
	.mode = MN_MODE_COROUTINES,
	.driver = ipcz_inprocess_driver,
	.timeout_ms = 10000,
};
