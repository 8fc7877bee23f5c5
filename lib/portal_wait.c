// SPDX-License-Identifier: MIT
/*
 * ipcz_wait_portal() (include/ipcz/wait.h): a trap of our own tells when
 * the conditions hold; meanwhile the thread drains the portal's node link
 * and sleeps on its ring, or, when the route has no remote link (or
 * another thread drains it), sleeps until the trap fires.
 */
#include <ipcz/wait.h>

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "lib/futex.h"
#include "lib/handle_table.h"
#include "lib/node_link.h"
#include "lib/node_link_memory.h"
#include "lib/remote_router_link.h"
#include "lib/router.h"
#include "lib/spin_wait.h"
#include "lib/trap_set.h"

/*
 * One wait's trap. Two references: the waiting thread's and the trap's,
 * which the handler drops (a trap taken back after a timeout never runs).
 */
struct portal_waiter {
	_Atomic uint32_t fired;	/* futex word: 1 once the event came */
	_Atomic uint32_t refs;
	/*
	 * The handler usually runs on the waiting thread itself (which
	 * delivered the parcel): that thread is not asleep, no wake needed.
	 */
	pthread_t waiting_thread;
	IpczTrapConditionFlags flags;
	struct IpczPortalStatus status;
};

static void waiter_unref(struct portal_waiter *w)
{
	if (atomic_fetch_sub(&w->refs, 1) == 1)
		free(w);
}

static void IPCZ_API on_event(const struct IpczTrapEvent *event)
{
	struct portal_waiter *w = (struct portal_waiter *)event->context;

	w->flags = event->condition_flags;
	if (event->status)
		w->status = *event->status;
	atomic_store(&w->fired, 1);
	if (!pthread_equal(pthread_self(), w->waiting_thread))
		futex_wake_private(&w->fired, INT_MAX);
	waiter_unref(w);
}

/* The node link of the portal's outward link (referenced), if remote. */
static struct node_link *outward_node_link(struct router *router)
{
	struct node_link *node_link = NULL;
	struct router_link *link;

	ipcz_lock(&router->lock);
	link = router->outward.primary;
	if (link && remote_router_link_is_remote(link)) {
		node_link = remote_router_link_node_link(link);
		if (node_link)
			node_link_ref(node_link);
	}
	ipcz_unlock(&router->lock);
	return node_link;
}

/*
 * Each sleep of a wait is bounded, starting at 10 ms and doubling up to
 * 1 s, after which the thread looks at the link again. Every wakeup has
 * its signal (Documentation/shared-memory.rst); this is a safety net, so
 * that a missed one (a bug) would cost a delay instead of a hang, for a
 * few system calls per second of waiting.
 */
#define PORTAL_WAIT_FIRST_RECHECK_NS 10000000ull
#define PORTAL_WAIT_LAST_RECHECK_NS 1000000000ull

/* An absolute deadline, 0 for none. */
static uint64_t deadline_of(uint64_t timeout_ns)
{
	uint64_t now = monotonic_ns();

	if (timeout_ns == IPCZ_WAIT_INFINITE || timeout_ns > UINT64_MAX - now)
		return 0;
	return now + timeout_ns;
}

static bool before(uint64_t deadline_ns)
{
	return !deadline_ns || monotonic_ns() < deadline_ns;
}

/*
 * Sleeps until the trap fires or the deadline passes, lending the thread
 * to the node link the portal's parcels come over (which may change as
 * the route is reduced).
 */
static void wait_for_event(struct router *router, struct portal_waiter *w,
			   uint64_t deadline_ns)
{
	uint64_t recheck_ns = PORTAL_WAIT_FIRST_RECHECK_NS, until;
	struct node_link *link;

	while (!atomic_load(&w->fired) && before(deadline_ns)) {
		until = monotonic_ns() + recheck_ns;
		if (deadline_ns && deadline_ns < until)
			until = deadline_ns;
		link = outward_node_link(router);
		if (link) {
			node_link_wait(link, &w->fired, 0, until);
			node_link_unref(link);
		} else {
			futex_wait_private(&w->fired, 0, until);
		}
		if (recheck_ns < PORTAL_WAIT_LAST_RECHECK_NS)
			recheck_ns *= 2;
	}
}

/* The outcome once the trap is gone: fired, or taken back. */
static IpczResult finish(struct router *router, struct portal_waiter *w,
			 IpczTrapConditionFlags *satisfied,
			 struct IpczPortalStatus *status)
{
	if (!atomic_load(&w->fired) &&
	    router_remove_trap(router, on_event, (uintptr_t)w)) {
		waiter_unref(w);
		return IPCZ_RESULT_DEADLINE_EXCEEDED;
	}
	/* Fired: its handler may still be on its way here. */
	while (!atomic_load(&w->fired))
		futex_wait_private(&w->fired, 0, 0);
	if (w->flags & IPCZ_TRAP_REMOVED)
		return IPCZ_RESULT_CANCELLED;
	if (satisfied)
		*satisfied = w->flags & ~IPCZ_TRAP_WITHIN_API_CALL;
	if (status) {
		status->flags = w->status.flags;
		status->num_local_parcels = w->status.num_local_parcels;
		status->num_local_bytes = w->status.num_local_bytes;
	}
	return IPCZ_RESULT_OK;
}

/*
 * Delivers what the portal's link has ready before anything else: the
 * awaited parcel is often there already, and then no trap is needed.
 */
static void drain_first(struct router *router)
{
	struct node_link *link = outward_node_link(router);

	if (link) {
		node_link_drain_now(link);
		node_link_unref(link);
	}
}

static IpczResult wait_on(struct router *router,
			  const struct IpczTrapConditions *conditions,
			  uint64_t timeout_ns,
			  IpczTrapConditionFlags *satisfied,
			  struct IpczPortalStatus *status)
{
	struct portal_waiter *w;
	IpczResult result;

	drain_first(router);
	w = calloc(1, sizeof(*w));
	if (!w)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	w->refs = 2;
	w->waiting_thread = pthread_self();
	result = router_trap(router, conditions, on_event, (uintptr_t)w,
			     satisfied, status);
	if (result != IPCZ_RESULT_OK) {
		free(w);
		/* Already met: router_trap() reported how. */
		return result == IPCZ_RESULT_FAILED_PRECONDITION ?
			       IPCZ_RESULT_OK : result;
	}
	wait_for_event(router, w, deadline_of(timeout_ns));
	result = finish(router, w, satisfied, status);
	waiter_unref(w);
	return result;
}

IPCZ_WAIT_EXPORT IpczResult
ipcz_wait_portal(IpczHandle portal,
		 const struct IpczTrapConditions *conditions,
		 uint64_t timeout_ns, IpczTrapConditionFlags *satisfied,
		 struct IpczPortalStatus *status)
{
	struct router *router;
	IpczResult result;

	if (!conditions || conditions->size < sizeof(*conditions) ||
	    (status && status->size < sizeof(*status)))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	router = (struct router *)handle_table_get(portal, API_OBJECT_PORTAL);
	if (!router)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (node_link_memory_delivering_here()) {
		/* A trap handler run by a delivery: it would wait on itself. */
		router_unref(router);
		return IPCZ_RESULT_FAILED_PRECONDITION;
	}
	trap_events_enter_api_delivery();
	result = wait_on(router, conditions, timeout_ns, satisfied, status);
	trap_events_leave_api_delivery();
	router_unref(router);
	return result;
}
