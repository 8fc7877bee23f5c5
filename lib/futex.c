// SPDX-License-Identifier: MIT
#include "lib/futex.h"

#include <errno.h>
#include <linux/futex.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000ull

static struct timespec *to_timespec(uint64_t deadline_ns, struct timespec *ts)
{
	if (!deadline_ns)
		return NULL;
	ts->tv_sec = (time_t)(deadline_ns / NS_PER_S);
	ts->tv_nsec = (long)(deadline_ns % NS_PER_S);
	return ts;
}

static int result_of(long r)
{
	return r < 0 ? -errno : 0;
}

void futex_wake_private(_Atomic uint32_t *word, int count)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

int futex_wake_shared(_Atomic uint32_t *word, int count)
{
	long woken = syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL,
			     0);

	return woken < 0 ? -errno : (int)woken;
}

int futex_wait_private(_Atomic uint32_t *word, uint32_t value,
		       uint64_t deadline_ns)
{
	struct timespec ts;

	/* The bitset form is the one that takes an absolute deadline. */
	return result_of(syscall(SYS_futex, word,
				 FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, value,
				 to_timespec(deadline_ns, &ts), NULL,
				 FUTEX_BITSET_MATCH_ANY));
}

int futex_wait_two(_Atomic uint32_t *shared, uint32_t shared_value,
		   _Atomic uint32_t *own, uint32_t own_value,
		   uint64_t deadline_ns)
{
	struct futex_waitv waiters[2] = {
		{ .val = shared_value, .uaddr = (uintptr_t)shared,
		  .flags = FUTEX_32 },
		{ .val = own_value, .uaddr = (uintptr_t)own,
		  .flags = FUTEX_32 | FUTEX_PRIVATE_FLAG },
	};
	struct timespec ts;

	/* On a wakeup the call returns the word's index: not needed here. */
	return result_of(syscall(SYS_futex_waitv, waiters, 2, 0,
				 to_timespec(deadline_ns, &ts),
				 CLOCK_MONOTONIC));
}
