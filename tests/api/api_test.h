/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the API tests (tests/api/): the ipcz function table, the
 * driver the tests run on, and small conveniences. Every test program talks
 * to libipcz only through include/ipcz/ipcz.h.
 *
 * The driver is the bundled in-process driver; its test objects serve as
 * driver objects to box, and its live-object count shows what was released.
 */
#ifndef IPCZ_TESTS_API_API_TEST_H
#define IPCZ_TESTS_API_API_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipcz/ipcz.h"

/* The table from IpczGetAPI(), filled in by api_test_init(). */
extern struct IpczAPI ipcz;

/* Fills in `ipcz`; returns IPCZ_RESULT_OK or IpczGetAPI()'s failure. */
IpczResult api_test_init(void);

/* The driver the tests run on: the in-process driver. */
const struct IpczDriver *test_driver(void);

/* Creates a node on test_driver() with `flags`; IPCZ_INVALID_HANDLE if not. */
IpczHandle new_node(IpczCreateNodeFlags flags);

/*
 * A driver test object carrying `value`. A serializable one can travel in
 * parcels; an unserializable one is refused by Put() (the driver's
 * sendability query fails).
 */
IpczDriverHandle test_object_new(uintptr_t value, bool serializable);

/* Whether `object` is a live test object; its value goes to `*value`. */
bool test_object_value(IpczDriverHandle object, uintptr_t *value);

/* Driver objects of any kind alive right now. */
size_t driver_objects_alive(void);

/* The last ReportBadTransportActivity() seen, and how many there were. */
struct bad_activity_report {
	int count;
	IpczDriverHandle transport;
	uintptr_t context;
};
struct bad_activity_report bad_activity_reports(void);

/*
 * Under AddressSanitizer: whether LeakSanitizer finds nothing leaked right
 * now (it reports what it finds). The harness ends each test with _exit(),
 * which skips the usual leak check at exit, so fixtures call this after
 * closing everything. Elsewhere (TSan builds) always true.
 */
bool no_leaks(void);

/*
 * A new node (no flags) and one pair of its portals: IPCZ_RESULT_OK, or
 * the first failure, with nothing left open.
 */
IpczResult open_node_and_pair(IpczHandle *node, IpczHandle *a,
			      IpczHandle *b);

/*
 * Closes `a`, `b` and `node` (a test that closed one itself sets it to
 * IPCZ_INVALID_HANDLE) and returns no_leaks().
 */
bool close_node_and_pair(IpczHandle node, IpczHandle a, IpczHandle b);

/*
 * Defines the kselftest fixture `name` most API tests use: `self->node`
 * and a pair of its portals, `self->a` and `self->b`, closed at teardown,
 * which then checks that nothing leaked. Use after kselftest_harness.h.
 */
#define API_PAIR_FIXTURE(name)						\
	FIXTURE(name) {							\
		IpczHandle node;					\
		IpczHandle a;						\
		IpczHandle b;						\
	};								\
	FIXTURE_SETUP(name)						\
	{								\
		ASSERT_EQ(IPCZ_RESULT_OK,				\
			  open_node_and_pair(&self->node, &self->a,	\
					     &self->b));		\
	}								\
	FIXTURE_TEARDOWN(name)						\
	{								\
		EXPECT_TRUE(close_node_and_pair(self->node, self->a,	\
						self->b));		\
	}

/* Boxes a test object; IPCZ_INVALID_HANDLE on failure. */
IpczHandle box_test_object(IpczHandle node, IpczDriverHandle object);

/* Put() of a NUL-terminated string (without the NUL), no handles. */
IpczResult put_str(IpczHandle portal, const char *text);

/*
 * Get() of a parcel of at most `capacity - 1` bytes and no handles into
 * `buffer`, NUL-terminated.
 */
IpczResult get_str(IpczHandle portal, char *buffer, size_t capacity);

/* QueryPortalStatus(); the result is all zero if the call fails. */
struct IpczPortalStatus portal_status(IpczHandle portal);

/* A trap event as seen by a handler, copied out for the test to check. */
struct recorded_event {
	int count;
	uintptr_t context;
	IpczTrapConditionFlags flags;
	struct IpczPortalStatus status;
	bool status_present;
	size_t event_size;
};

/*
 * A trap handler whose context is the address of a struct recorded_event,
 * which it updates (count incremented, the rest overwritten).
 */
void IPCZ_API record_trap_event(const struct IpczTrapEvent *event);

/* Trap conditions with only `flags` set and the given thresholds. */
struct IpczTrapConditions trap_conditions(IpczTrapConditionFlags flags,
					  size_t min_parcels,
					  size_t min_bytes);

#endif /* IPCZ_TESTS_API_API_TEST_H */
