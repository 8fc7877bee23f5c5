/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the shared-memory tests: anonymous shared mappings
 * (visible across fork()), futex sleeping on a ring's consumer state, CPU
 * pinning, a clock, and waiting for a child process.
 */
#ifndef IPCZ_TESTS_POOL_UTIL_H
#define IPCZ_TESTS_POOL_UTIL_H

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A zero-filled, page-aligned mapping shared with children. */
static inline void *shared_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static inline void shared_unmap(void *p, size_t size)
{
	munmap(p, size);
}

/* Sleeps while *word == value (shared futex: works across processes). */
static inline void futex_wait_u32(_Atomic uint32_t *word, uint32_t value)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, value, NULL, NULL, 0);
}

static inline void futex_wake_u32(_Atomic uint32_t *word)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static inline int pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static inline uint64_t test_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Exit status of child @pid, or -1 if it did not exit normally. */
static inline int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#endif /* IPCZ_TESTS_POOL_UTIL_H */
