// SPDX-License-Identifier: MIT
/*
 * Waiting on portals, always with a deadline, and the demo's small text
 * messages. A waiter polls briefly (a parcel often arrives within
 * microseconds, and sleeping costs more than that), then installs a trap
 * and sleeps on a futex that the trap handler, on the driver's thread,
 * bumps. The handler's context is one word per process, which outlives
 * every trap: an abandoned trap may still fire later, harmlessly.
 */
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tools/demo/demo.h"

/* How long a waiter polls before it sleeps, when it may. */
#define POLL_NS 50000

static atomic_uint trap_signal;

static void IPCZ_API on_trap(const struct IpczTrapEvent *event)
{
	atomic_fetch_add(&trap_signal, 1);
	syscall(SYS_futex, &trap_signal, FUTEX_WAKE_PRIVATE, INT_MAX, NULL,
		NULL, 0);
}

/* Polling only pays when another CPU can run the sender meanwhile. */
static bool may_poll(void)
{
	static int cpus;

	if (!cpus)
		cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	return cpus > 1;
}

/* OK with a parcel, NOT_FOUND if dead, UNAVAILABLE if neither yet. */
static IpczResult portal_state(IpczHandle portal)
{
	struct IpczPortalStatus status = { .size = sizeof(status) };
	IpczResult result = ipcz.QueryPortalStatus(portal, IPCZ_NO_FLAGS,
						   NULL, &status);

	if (result != IPCZ_RESULT_OK)
		return result;
	if (status.num_local_parcels)
		return IPCZ_RESULT_OK;
	if (status.flags & IPCZ_PORTAL_STATUS_DEAD)
		return IPCZ_RESULT_NOT_FOUND;
	return IPCZ_RESULT_UNAVAILABLE;
}

static void sleep_until_signal(unsigned int seen, int64_t deadline_ns)
{
	int64_t left = deadline_ns - demo_now_ns();
	struct timespec timeout;

	if (left <= 0)
		return;
	timeout.tv_sec = left / 1000000000;
	timeout.tv_nsec = left % 1000000000;
	syscall(SYS_futex, &trap_signal, FUTEX_WAIT_PRIVATE, seen, &timeout,
		NULL, 0);
}

IpczResult demo_wait_parcel(IpczHandle portal, int64_t deadline_ns)
{
	const struct IpczTrapConditions conditions = {
		.size = sizeof(conditions),
		.flags = IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS | IPCZ_TRAP_DEAD,
		.min_local_parcels = 0,
	};
	int64_t poll_end = demo_now_ns() + (may_poll() ? POLL_NS : 0);
	IpczResult result;
	unsigned int seen;

	for (;;) {
		result = portal_state(portal);
		if (result != IPCZ_RESULT_UNAVAILABLE)
			return result;
		if (demo_now_ns() < poll_end)
			continue;
		if (demo_now_ns() >= deadline_ns)
			return IPCZ_RESULT_DEADLINE_EXCEEDED;
		seen = atomic_load(&trap_signal);
		result = ipcz.Trap(portal, &conditions, on_trap, 0,
				   IPCZ_NO_FLAGS, NULL, NULL, NULL);
		if (result == IPCZ_RESULT_FAILED_PRECONDITION)
			continue;	/* it came meanwhile */
		if (result != IPCZ_RESULT_OK)
			return result;
		sleep_until_signal(seen, deadline_ns);
	}
}

bool demo_send(IpczHandle portal, const char *text, IpczHandle *handles,
	       size_t num_handles)
{
	IpczResult result = ipcz.Put(portal, text, strlen(text), handles,
				     num_handles, IPCZ_NO_FLAGS, NULL);

	if (result != IPCZ_RESULT_OK)
		return demo_fail("Put(\"%s\"): %s", text,
				 demo_result_name(result));
	return true;
}

bool demo_expect(IpczHandle portal, const char *text, size_t num_handles,
		 IpczHandle *handle)
{
	char data[128];
	size_t size = sizeof(data) - 1, count = num_handles;
	IpczHandle handles[1] = { IPCZ_INVALID_HANDLE };
	IpczResult result = demo_wait_parcel(portal, demo_deadline());

	if (result == IPCZ_RESULT_DEADLINE_EXCEEDED)
		return demo_fail("no \"%s\" within %d ms", text,
				 demo_options.timeout_ms);
	if (result == IPCZ_RESULT_NOT_FOUND)
		return demo_fail("peer closed before sending \"%s\"", text);
	if (result != IPCZ_RESULT_OK)
		return demo_fail("waiting for \"%s\": %s", text,
				 demo_result_name(result));
	result = ipcz.Get(portal, IPCZ_NO_FLAGS, NULL, data, &size,
			  num_handles ? handles : NULL,
			  num_handles ? &count : NULL, NULL);
	if (result != IPCZ_RESULT_OK)
		return demo_fail("Get() of \"%s\" (%zu bytes, %zu handles): %s",
				 text, size, count, demo_result_name(result));
	data[size] = '\0';
	if (strcmp(data, text) || count != num_handles) {
		if (count)
			ipcz.Close(handles[0], IPCZ_NO_FLAGS, NULL);
		return demo_fail("expected \"%s\" with %zu handle(s), got "
				 "\"%s\" with %zu", text, num_handles, data,
				 count);
	}
	if (num_handles)
		*handle = handles[0];
	return true;
}
