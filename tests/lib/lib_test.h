/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by libipcz's internal unit tests: the API table, a node on
 * the in-process driver, and short forms of the calls tests repeat.
 */
#ifndef IPCZ_TESTS_LIB_LIB_TEST_H
#define IPCZ_TESTS_LIB_LIB_TEST_H

#include <stddef.h>
#include <string.h>

#include "ipcz/inprocess_driver.h"
#include "ipcz/ipcz.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>

/*
 * Whether LeakSanitizer finds unreachable memory now. The harness ends each
 * test with _exit(), which skips the check LSan makes at exit.
 */
static inline int leaks_found(void)
{
	return __lsan_do_recoverable_leak_check();
}
#else
static inline int leaks_found(void)
{
	return 0;
}
#endif

static struct IpczAPI ipcz = { .size = sizeof(ipcz) };

static inline void test_node_api(void)
{
	if (ipcz.size != sizeof(ipcz) || !ipcz.Close)
		IpczGetAPI(&ipcz);
}

static inline IpczHandle test_node(void)
{
	IpczHandle node = IPCZ_INVALID_HANDLE;

	test_node_api();
	ipcz.CreateNode(ipcz_inprocess_driver(), IPCZ_NO_FLAGS, NULL, &node);
	return node;
}

static inline void test_portals(IpczHandle node, IpczHandle *a, IpczHandle *b)
{
	ipcz.OpenPortals(node, IPCZ_NO_FLAGS, NULL, a, b);
}

static inline IpczResult put_str(IpczHandle portal, const char *s)
{
	return ipcz.Put(portal, s, strlen(s), NULL, 0, IPCZ_NO_FLAGS, NULL);
}

/* Gets one parcel's data as a NUL-terminated string into `buf`. */
static inline IpczResult get_str(IpczHandle portal, char *buf, size_t size)
{
	size_t n = size - 1;
	IpczResult r = ipcz.Get(portal, IPCZ_NO_FLAGS, NULL, buf, &n, NULL,
				NULL, NULL);

	buf[r == IPCZ_RESULT_OK ? n : 0] = '\0';
	return r;
}

static inline IpczPortalStatusFlags status_flags(IpczHandle portal)
{
	struct IpczPortalStatus status = { .size = sizeof(status) };

	ipcz.QueryPortalStatus(portal, IPCZ_NO_FLAGS, NULL, &status);
	return status.flags;
}

static inline void close_handle(IpczHandle handle)
{
	ipcz.Close(handle, IPCZ_NO_FLAGS, NULL);
}

#endif
