/* SPDX-License-Identifier: MIT */
/*
 * The drivers the conformance suite runs on, and what each offers beyond
 * the IpczDriver table: how a transport reaches another process, whether
 * read-only duplicates exist, whether bad handles are detected.
 */
#ifndef IPCZ_TESTS_DRIVER_DRIVER_VARIANTS_H
#define IPCZ_TESTS_DRIVER_DRIVER_VARIANTS_H

#include <stdbool.h>

#include <ipcz/ipcz.h>

/*
 * DuplicateSharedMemory() flag for a read-only duplicate; the kernel and
 * socket drivers give it the same value (checked in driver_variants.c).
 */
#define DUPLICATE_READ_ONLY IPCZ_FLAG_BIT(0)

struct driver_under_test {
	const char *name;
	const struct IpczDriver *(*table)(void);
	/* NULL if always available; else nonzero when usable here. */
	int (*available)(void);
	/* A transport pair as descriptors, and adoption of one; or NULL. */
	int (*pair_fds)(int fds[2]);
	IpczResult (*from_fd)(int fd, IpczDriverHandle *transport);
	/* DUPLICATE_READ_ONLY is supported and enforced. */
	bool readonly;
	/* Stale, forged and wrong-type handles are refused, not followed. */
	bool checks_handles;
};

extern const struct driver_under_test kernel_under_test;
extern const struct driver_under_test socket_under_test;
extern const struct driver_under_test inprocess_under_test;

#endif
