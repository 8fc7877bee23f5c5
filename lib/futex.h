/* SPDX-License-Identifier: MIT */
/*
 * Thin wrappers over futex(2) and futex_waitv(2). "Private" words are
 * only ever touched by this process (the lock, a waiter's word); "shared"
 * words live in memory another process may map (a ring's state word), so
 * they are keyed by the memory object, not by this address space.
 *
 * Deadlines are absolute CLOCK_MONOTONIC times in ns (monotonic_ns() of
 * lib/spin_wait.h); 0 means none. The
 * waits return 0 when woken, -EAGAIN when a word did not hold its value,
 * -ETIMEDOUT, -EINTR, or another -errno when the kernel refused the word
 * (futex_wait_two(): -EFAULT for memory a futex cannot live in, -ENOSYS
 * before Linux 5.16).
 */
#ifndef IPCZ_LIB_FUTEX_H
#define IPCZ_LIB_FUTEX_H

#include <stdatomic.h>
#include <stdint.h>

void futex_wake_private(_Atomic uint32_t *word, int count);
/* How many threads were woken, or -errno. */
int futex_wake_shared(_Atomic uint32_t *word, int count);
int futex_wait_private(_Atomic uint32_t *word, uint32_t value,
		       uint64_t deadline_ns);

/* Sleeps until either word changes or is woken (or the deadline). */
int futex_wait_two(_Atomic uint32_t *shared, uint32_t shared_value,
		   _Atomic uint32_t *own, uint32_t own_value,
		   uint64_t deadline_ns);

#endif
