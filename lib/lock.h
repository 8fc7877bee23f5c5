/* SPDX-License-Identifier: MIT */
/*
 * A four-byte mutex built on a futex. Routers are numerous (a node may hold
 * a million portals), so their lock must be small; pthread_mutex_t costs 40
 * bytes. Acquire and release use C11 atomics so ThreadSanitizer sees the
 * ordering they establish.
 */
#ifndef IPCZ_LIB_LOCK_H
#define IPCZ_LIB_LOCK_H

#include <stdatomic.h>
#include <stdint.h>

struct ipcz_lock {
	_Atomic uint32_t state;	/* 0 free, 1 held, 2 held with waiters */
};

#define IPCZ_LOCK_INIT { 0 }

void ipcz_lock_slow(struct ipcz_lock *lock);
void ipcz_unlock_wake(struct ipcz_lock *lock);

static inline void ipcz_lock(struct ipcz_lock *lock)
{
	uint32_t expected = 0;

	if (!atomic_compare_exchange_strong_explicit(&lock->state, &expected, 1,
						     memory_order_acquire,
						     memory_order_relaxed))
		ipcz_lock_slow(lock);
}

static inline void ipcz_unlock(struct ipcz_lock *lock)
{
	if (atomic_exchange_explicit(&lock->state, 0, memory_order_release) == 2)
		ipcz_unlock_wake(lock);
}

/* Locks two locks in address order, so that any two threads agree. */
void ipcz_lock_pair(struct ipcz_lock *a, struct ipcz_lock *b);
void ipcz_unlock_pair(struct ipcz_lock *a, struct ipcz_lock *b);

#endif
