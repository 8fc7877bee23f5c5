// SPDX-License-Identifier: MIT
/*
 * Slow paths of the futex lock: sleeping while the lock is contended, and
 * waking one sleeper on release.
 */
#include "lib/lock.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

static void futex_wait(_Atomic uint32_t *word, uint32_t value)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}

static void futex_wake_one(_Atomic uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

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
		futex_wait(&lock->state, 2);
}

void ipcz_unlock_wake(struct ipcz_lock *lock)
{
	futex_wake_one(&lock->state);
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
