/* SPDX-License-Identifier: MIT */
/*
 * Waiting a short while for another thread or process to make room or
 * free something, without a system call per attempt: the clock such waits
 * measure with, a pause for busy loops, and the yield-then-spin retry
 * that the ring (room for a message) and the pool (a free data block)
 * share.
 */
#ifndef IPCZ_LIB_SPIN_WAIT_H
#define IPCZ_LIB_SPIN_WAIT_H

#include <stdint.h>

/* The CLOCK_MONOTONIC time in ns (also the clock of futex deadlines). */
uint64_t monotonic_ns(void);

/* One pause of a busy loop: eases the sibling hyperthread. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/*
 * After `attempt` failed with `busy`: retries it for up to `wait_ns`,
 * yielding the CPU first (on a CPU shared with the thread that will
 * unblock us, that is what lets it run), then retrying while spinning
 * for `spin_ns` (with that thread on another CPU the yield returns at
 * once, and the spin catches it without a system call per attempt), and
 * again. Returns the last result of `attempt`.
 */
int spin_wait_retry(int (*attempt)(void *arg), void *arg, int busy,
		    uint64_t wait_ns, uint64_t spin_ns);

#endif
