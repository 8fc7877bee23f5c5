// SPDX-License-Identifier: MIT
/*
 * Slow paths of the futex lock: sleeping while the lock is contended, and
 * waking one sleeper on release.
 */
#include "lib/lock.h"

#include "lib/futex.h"

void ipcz_lock_slow(struct ipcz_lock *lock)
{
	int spins;

	/* Brief spinning pays off when the holder is about to release. */
	for (spins = 0; spins < 100; spins++) {
		uint32_t expected = 0;

		if (atomic_compare_exchange_weak_explicit(&lock->state,
							  &expected, 1,
							  memory_order_acquire,
							  memory_order_relaxed))
			return;
	}
	while (atomic_exchange_explicit(&lock->state, 2,
					memory_order_acquire) != 0)
		futex_wait_private(&lock->state, 2, 0);
}

void ipcz_unlock_wake(struct ipcz_lock *lock)
{
	futex_wake_private(&lock->state, 1);
}

void ipcz_lock_pair(struct ipcz_lock *a, struct ipcz_lock *b)
{
	if (a == b) {
		ipcz_lock(a);
	} else if (a < b) {
		ipcz_lock(a);
		ipcz_lock(b);
	} else {
		ipcz_lock(b);
		ipcz_lock(a);
	}
}

void ipcz_unlock_pair(struct ipcz_lock *a, struct ipcz_lock *b)
{
	ipcz_unlock(a);
	if (a != b)
		ipcz_unlock(b);
}
