/* SPDX-License-Identifier: MIT */
/*
 * The strict driver: an asynchronous, in-process IpczDriver that checks
 * every rule of the IpczDriver contract libipcz must keep (the list is in
 * Documentation/contract-tests.rst).
 *
 * - Transports come in pairs. Transmit() copies the message into the
 *   peer's queue; a worker thread per activated transport delivers the
 *   queue to the activity handler, one call at a time, in order. Closing
 *   a transport queues an ERROR for its peer.
 * - DeactivateTransport() from another thread waits until that worker
 *   has made its last (DEACTIVATED) call; from the worker itself (inside
 *   the handler) it returns at once and the DEACTIVATED call follows the
 *   handler's return. A handler that refuses a message gets ERROR and
 *   then DEACTIVATED without being asked, as upstream's async driver does.
 * - Every handle value is issued once and never reused, so any use of a
 *   closed, relinquished or transmitted handle is caught. Serialize()
 *   relinquishes the object and issues a new "wire" handle for the
 *   message; Deserialize() consumes it and issues a new handle again.
 * - Shared memory is memfd memory; closing a mapping unmaps it, so a
 *   stale pointer faults instead of reading freed memory silently.
 *
 * A broken rule is a "violation": recorded with a message (printed as a
 * TAP comment) or, after sd_set_abort_on_violation(), fatal at once.
 */
#ifndef IPCZ_TESTS_CONTRACT_STRICT_DRIVER_H
#define IPCZ_TESTS_CONTRACT_STRICT_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipcz/ipcz.h"

/* The driver table, for CreateNode(). */
const struct IpczDriver *sd_driver(void);

/* Behaviour switches; all off by default. */
struct sd_options {
	/*
	 * Like upstream's forced-brokering driver: objects cannot cross a
	 * transport joining two non-brokers (PERMISSION_DENIED), and a
	 * query without a transport answers ABORTED.
	 */
	bool forced_brokering;
	/* The next this many ActivateTransport() calls fail. */
	int fail_activations;
	/* Workers yield at random points, to shake out orderings. */
	bool jitter;
};
void sd_set_options(const struct sd_options *options);

/*
 * Synchronous delivery, like upstream's synchronous reference driver:
 * no worker threads; Transmit() (and Close(), ActivateTransport(),
 * DeactivateTransport()) deliver on the calling thread, re-entrantly into
 * ipcz, unless a delivery to that transport is already in progress, which
 * then delivers the message after the current call. Set before any node.
 */
void sd_set_sync_delivery(bool sync);

/* Makes every violation print and abort() at once... */
void sd_set_abort_on_violation(bool abort_now);

/*
 * ...except those whose text contains `text` (a known bug reported
 * elsewhere), which are only recorded. Up to 8 texts.
 */
void sd_tolerate(const char *text);

/*
 * A transport pair for ConnectNode(), for a node of each kind (the kinds
 * matter only with forced_brokering).
 */
IpczResult sd_transport_pair(bool a_is_broker, bool b_is_broker,
			     IpczDriverHandle *a, IpczDriverHandle *b);

/* A plain driver object carrying `value` (refused by Serialize() if not
 * `serializable`), for Box(). */
IpczDriverHandle sd_object_new(uint64_t value, bool serializable);
bool sd_object_value(IpczDriverHandle object, uint64_t *value);

/*
 * Puts a message into `end`'s queue as if its peer had sent it: `data`
 * and, if `with_object`, one wire handle carrying a fresh object, as
 * garbage from a hostile peer would.
 */
void sd_inject(IpczDriverHandle end, const void *data, size_t num_bytes,
	       bool with_object);

/* Counts, for assertions. */
struct sd_stats {
	size_t live_objects;		/* every kind, wire handles too */
	size_t live_transports;
	size_t live_memory;
	size_t live_mappings;
	size_t activations;
	size_t deactivations_requested;
	size_t deactivated_delivered;
	size_t running_workers;
	size_t transmits;
	size_t serialize_exhausted;	/* RESOURCE_EXHAUSTED answers */
	size_t serialized;		/* successful Serialize() calls */
	size_t permission_denied;	/* forced brokering refusals */
	size_t bad_activity_reports;
	uintptr_t last_bad_activity_context;
	size_t violations;
};
struct sd_stats sd_stats(void);

/*
 * The end of a test, after the application closed every handle and node:
 * waits up to `timeout_ms` until every worker has delivered DEACTIVATED
 * and nothing is alive, then records a violation for each activated
 * transport never deactivated and each object left alive. Returns the
 * total number of violations of the test (0: the contract was kept).
 */
size_t sd_finish(int timeout_ms);

/*
 * How many of the recorded violations contain `text` (the first 64 are
 * kept), to tell a known libipcz bug from a new one.
 */
size_t sd_violations_matching(const char *text);

/* Prints the recorded violations as TAP comments. */
void sd_print_violations(void);

#endif /* IPCZ_TESTS_CONTRACT_STRICT_DRIVER_H */
