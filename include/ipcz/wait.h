/* SPDX-License-Identifier: MIT */
/*
 * Blocking waits on a portal. Not part of upstream's ABI (upstream offers
 * only traps); exported by libipcz (shared and static) beside IpczGetAPI,
 * for handles of the same libipcz.
 *
 * A thread that waits for a parcel with a trap and a condition variable
 * of its own sleeps where the trap's handler wakes it: the peer's parcel
 * first wakes the driver's thread, which then wakes the waiter (two
 * context switches per message when both share a CPU). ipcz_wait_portal()
 * lends the waiting thread to the portal's node link instead: it delivers
 * the link's messages itself and sleeps on the shared ring, so the peer's
 * next message wakes it directly. See Documentation/data-path.rst.
 *
 *	struct IpczTrapConditions c = {
 *		.size = sizeof(c),
 *		.flags = IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS |
 *			 IPCZ_TRAP_PEER_CLOSED,
 *	};
 *	if (ipcz_wait_portal(portal, &c, IPCZ_WAIT_INFINITE, NULL, NULL) ==
 *	    IPCZ_RESULT_OK)
 *		api.Get(portal, ...);
 */
#ifndef IPCZ_INCLUDE_IPCZ_WAIT_H_
#define IPCZ_INCLUDE_IPCZ_WAIT_H_

#include <stdint.h>

#include <ipcz/ipcz.h>

#if defined(__cplusplus)
extern "C" {
#endif

#define IPCZ_WAIT_EXPORT __attribute__((visibility("default")))

/* A timeout that never expires. */
#define IPCZ_WAIT_INFINITE UINT64_MAX

/*
 * Waits until `conditions` (as for Trap()) hold on `portal`, for at most
 * `timeout_ns` nanoseconds (0: only looks). Traps of other portals whose
 * messages this thread delivers meanwhile run on this thread, with
 * IPCZ_TRAP_WITHIN_API_CALL set.
 *
 * Returns:
 *   IPCZ_RESULT_OK: a condition holds. `satisfied` (optional) gets the
 *     conditions that were met, `status` (optional, `size` set by the
 *     caller) the portal's status at that moment.
 *   IPCZ_RESULT_DEADLINE_EXCEEDED: the timeout passed first.
 *   IPCZ_RESULT_CANCELLED: the portal was closed or sent elsewhere (by
 *     another thread) during the wait.
 *   IPCZ_RESULT_FAILED_PRECONDITION: called from a trap handler that runs
 *     while libipcz delivers messages from another node (on the driver's
 *     thread, or inside another wait): that thread is the one that would
 *     deliver what it waits for.
 *   IPCZ_RESULT_INVALID_ARGUMENT: `portal` is not a portal of this
 *     library, `conditions` is NULL or its size too small, or `status`
 *     is given with a size too small.
 *   IPCZ_RESULT_RESOURCE_EXHAUSTED: out of memory.
 */
IPCZ_WAIT_EXPORT IpczResult
ipcz_wait_portal(IpczHandle portal,
		 const struct IpczTrapConditions *conditions,
		 uint64_t timeout_ns, IpczTrapConditionFlags *satisfied,
		 struct IpczPortalStatus *status);

#if defined(__cplusplus)
}
#endif

#endif
