// SPDX-License-Identifier: MIT
/*
 * Variant "threaded": the in-process driver, every node in this process,
 * each role on its own thread (the driver has no asynchronous mode, so
 * delivery runs on whichever thread transmits).
 */
#include "ipcz/inprocess_driver.h"
#include "tests/multinode/mn.h"

const struct mn_variant mn_variant = {
	.name = "threaded",
	.mode = MN_MODE_THREADS,
	.driver = ipcz_inprocess_driver,
	.timeout_ms = 15000,
};
