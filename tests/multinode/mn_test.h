/* SPDX-License-Identifier: MIT */
/*
 * What every multi-node test program includes: the kselftest harness and
 * MN_TEST(), a harness test with a time limit generous enough for the VM.
 * Each program is one translation unit (the harness keeps its test list
 * in static variables).
 */
#ifndef IPCZ_TESTS_MULTINODE_MN_TEST_H
#define IPCZ_TESTS_MULTINODE_MN_TEST_H

#include "kselftest_harness.h"
#include "tests/multinode/mn.h"

FIXTURE(mn) {
	int unused;
};

FIXTURE_SETUP(mn)
{
}

FIXTURE_TEARDOWN(mn)
{
}

/* The harness's last resort; every wait inside a test is bounded. */
#define MN_TEST_TIME_LIMIT 300

#define MN_TEST(name) TEST_F_TIMEOUT(mn, name, MN_TEST_TIME_LIMIT)

/*
 * Marks a test of upstream behaviour that libipcz does not have yet: it is
 * reported as skipped, with the reason, rather than failing every run.
 * Remove the line in the commit that makes the test pass.
 */
#define MN_PENDING(why) SKIP(return, "pending: %s", why)

/* Runs `test` (a struct mn_test) and fails the harness test if it fails. */
#define MN_RUN(test) ASSERT_TRUE(mn_run(&(test)))

#endif /* IPCZ_TESTS_MULTINODE_MN_TEST_H */
