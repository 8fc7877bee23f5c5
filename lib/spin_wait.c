// SPDX-License-Identifier: MIT
#include "lib/spin_wait.h"

#include <sched.h>
#include <time.h>

uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int spin_wait_retry(int (*attempt)(void *arg), void *arg, int busy,
		    uint64_t wait_ns, uint64_t spin_ns)
{
	uint64_t now = monotonic_ns(), deadline = now + wait_ns, spin_end;
	int result = busy, i;

	do {
		sched_yield();
		spin_end = monotonic_ns() + spin_ns;
		do {
			result = attempt(arg);
			if (result != busy)
				return result;
			for (i = 0; i < 16; i++)
				cpu_relax();
			now = monotonic_ns();
		} while (now < spin_end && now < deadline);
	} while (now < deadline);
	return result;
}
