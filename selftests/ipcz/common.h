/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the /dev/ipcz selftests. Nothing here includes the
 * kselftest harness (it may be included once per program only); the
 * functions return values or errors and the tests assert on them.
 */
#ifndef IPCZ_SELFTEST_COMMON_H
#define IPCZ_SELFTEST_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IPCZ_DEV_PATH		"/dev/ipcz"
#define IPCZ_LIVE_OBJECTS_PATH	"/sys/module/ipcz/parameters/live_objects"

/*
 * How long a test waits for the module to release objects after their last
 * descriptor is closed. Cycle collection may run from a work item, and the
 * VM runs under software emulation, so this is generous.
 */
#define IPCZ_SETTLE_MS		10000

/* Exit status that the harness reports as SKIP. */
#define HARNESS_SKIP_STATUS	255

/* The module's live-object count, or -1 if it cannot be read. */
long ipcz_live_objects(void);

/*
 * Polls the live-object count until it equals @want or @timeout_ms pass;
 * returns the last value read.
 */
long ipcz_wait_live_objects(long want, int timeout_ms);

/* Opens /dev/ipcz; -1 with errno set on failure. */
int ipcz_open_node(void);

/* True when /dev/ipcz is absent (module not loaded): tests skip. */
bool ipcz_missing(void);

/*
 * Forks a child that runs @fn(@arg) and exits with what it returns; the
 * parent gets the child's pid, or -1 if fork() failed.
 */
pid_t fork_child(int (*fn)(void *arg), void *arg);

/* Waits for @pid; returns its exit status, 128 + signal, or -1. */
int wait_child(pid_t pid);

/* Like wait_child but gives up (kills the child) after @timeout_ms. */
int wait_child_timeout(pid_t pid, int timeout_ms);

/* True if @fd is an open descriptor of this process. */
bool fd_is_open(int fd);

/* Number of descriptors open in this process. */
int count_open_fds(void);

/* Closes every descriptor above stderr. */
void close_all_fds(void);

/* Monotonic clock in milliseconds. */
int64_t now_ms(void);

/* Sleeps @ms milliseconds. */
void sleep_ms(int ms);

/*
 * A page mapped with no access: a user pointer that the kernel must
 * reject with EFAULT. Returns NULL on failure.
 */
void *unmapped_page(void);

/*
 * Fills @buf with a pattern derived from @seed, and checks it; used to
 * prove that bytes arrive unchanged.
 */
void fill_pattern(void *buf, size_t len, unsigned int seed);
bool check_pattern(const void *buf, size_t len, unsigned int seed);

#endif /* IPCZ_SELFTEST_COMMON_H */
