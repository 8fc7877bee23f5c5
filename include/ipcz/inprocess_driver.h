/* SPDX-License-Identifier: MIT */
/*
 * The in-process driver: an IpczDriver whose transports, memory and
 * objects all live inside the calling process. It is deterministic, which
 * makes it the driver of choice for tests, and it lets several nodes in one
 * process talk to each other.
 *
 * - Transports come in entangled pairs (CreateTransports). Transmit()
 *   delivers synchronously, calling the peer's activity handler on the
 *   sender's thread, possibly re-entrantly. Messages sent before the peer is
 *   activated wait in a queue and are delivered, in order, on activation.
 *   Notifications that overlap (from several threads, or re-entered from a
 *   handler) are serialized: a transport's handler never runs twice at once.
 * - Shared memory is ordinary heap memory; a mapping keeps its region alive.
 * - Serialize() passes any of its objects as one driver handle and no bytes;
 *   Deserialize() takes it back.
 * - Test objects are plain driver objects carrying a value, which tests can
 *   Box() and send; they may be made unserializable to test refusals.
 *
 * All driver handles are the driver's own; every function is thread-safe.
 */
#ifndef IPCZ_INCLUDE_IPCZ_INPROCESS_DRIVER_H_
#define IPCZ_INCLUDE_IPCZ_INPROCESS_DRIVER_H_

#include <stddef.h>
#include <stdint.h>

#include <ipcz/ipcz.h>

#if defined(__cplusplus)
extern "C" {
#endif

#define IPCZ_INPROCESS_EXPORT __attribute__((visibility("default")))

/* The driver table, to pass to CreateNode(). */
IPCZ_INPROCESS_EXPORT const struct IpczDriver *ipcz_inprocess_driver(void);

/*
 * Creates a test object holding `value`. Unless `serializable` is nonzero,
 * Serialize() refuses it (IPCZ_RESULT_FAILED_PRECONDITION), so it cannot be
 * sent in a parcel. Returns IPCZ_INVALID_DRIVER_HANDLE without memory.
 */
IPCZ_INPROCESS_EXPORT IpczDriverHandle
ipcz_inprocess_test_object_create(uintptr_t value, int serializable);

/*
 * Reads a test object's value. IPCZ_RESULT_INVALID_ARGUMENT if `object` is
 * not a test object or `value` is NULL.
 */
IPCZ_INPROCESS_EXPORT IpczResult
ipcz_inprocess_test_object_value(IpczDriverHandle object, uintptr_t *value);

/*
 * The number of driver objects (transports, memory regions, mappings, test
 * objects) currently alive, to check that nothing leaks.
 */
IPCZ_INPROCESS_EXPORT size_t ipcz_inprocess_live_objects(void);

/*
 * Called by ReportBadTransportActivity() with the transport and the
 * application's context; NULL (the default) ignores reports.
 */
typedef void (*ipcz_inprocess_bad_activity_hook)(IpczDriverHandle transport,
						 uintptr_t context);
IPCZ_INPROCESS_EXPORT void
ipcz_inprocess_set_bad_activity_hook(ipcz_inprocess_bad_activity_hook hook);

/*
 * Forced brokering, a test mode for relaying (as upstream's async
 * reference driver has one): while enabled, Serialize() refuses a test
 * object over a transport neither of whose ends was marked as a broker's
 * with IPCZ_RESULT_PERMISSION_DENIED, so ipcz must relay it through a
 * broker. Serialize() without a transport still accepts it (the object can
 * be sent). With `enabled` 1 transports and memory objects are never
 * refused; with 2 every object is, as upstream's driver does (introduced
 * links then get no shared pool). Process-wide; off (0) by default.
 */
IPCZ_INPROCESS_EXPORT void ipcz_inprocess_set_forced_brokering(int enabled);

/*
 * Marks `transport` (one end of a pair) as held by a broker, for forced
 * brokering. Transports made later by CreateTransports() (introductions)
 * are unmarked. IPCZ_RESULT_INVALID_ARGUMENT if it is not a transport.
 */
IPCZ_INPROCESS_EXPORT IpczResult
ipcz_inprocess_transport_set_broker(IpczDriverHandle transport);

/*
 * A sandboxed node's driver table: the same driver (its objects mix freely
 * with the ordinary table's), except that AllocateSharedMemory() refuses
 * with IPCZ_RESULT_PERMISSION_DENIED and counts the attempt, so that tests
 * can prove that a node delegating its allocations never allocates.
 */
IPCZ_INPROCESS_EXPORT const struct IpczDriver *
ipcz_inprocess_sandboxed_driver(void);

/* How many times the sandboxed table's AllocateSharedMemory() was called. */
IPCZ_INPROCESS_EXPORT size_t ipcz_inprocess_sandboxed_allocations(void);

#if defined(__cplusplus)
} /* extern "C" */
#endif

#endif /* IPCZ_INCLUDE_IPCZ_INPROCESS_DRIVER_H_ */
