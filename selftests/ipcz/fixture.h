/* SPDX-License-Identifier: MIT */
/*
 * The fixture every /dev/ipcz selftest uses. Include after
 * kselftest_harness.h, once per program.
 *
 * Setup skips the test when the module is not loaded, records the module's
 * live-object count and opens a node. Teardown closes every descriptor the
 * test left open and then requires the count to return to where it was:
 * every test doubles as a leak check. The harness runs each test in a
 * child process of its own, so closing everything there is safe.
 */
#ifndef IPCZ_SELFTEST_FIXTURE_H
#define IPCZ_SELFTEST_FIXTURE_H

#include "common.h"
#include "ipcz_ops.h"

FIXTURE(ipcz) {
	int node;
	long live_before;
};

FIXTURE_SETUP(ipcz)
{
	if (ipcz_missing())
		/*
		 * The 6.1 harness would run the test body after a SKIP in
		 * setup; exiting with its SKIP status ends the test here.
		 */
		SKIP(_exit(HARNESS_SKIP_STATUS),
		     "%s missing: ipcz module not loaded", IPCZ_DEV_PATH);
	self->live_before = ipcz_live_objects();
	ASSERT_LE(0, self->live_before)
		TH_LOG("cannot read %s", IPCZ_LIVE_OBJECTS_PATH);
	self->node = ipcz_open_node();
	ASSERT_LE(0, self->node);
}

FIXTURE_TEARDOWN(ipcz)
{
	long live;

	close_all_fds();
	live = ipcz_wait_live_objects(self->live_before, IPCZ_SETTLE_MS);
	EXPECT_EQ(self->live_before, live)
		TH_LOG("objects leaked: %ld live before the test, %ld after",
		       self->live_before, live);
}

#endif /* IPCZ_SELFTEST_FIXTURE_H */
