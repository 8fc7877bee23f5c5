/* SPDX-License-Identifier: MIT */
/*
 * The process-wide table that turns IpczHandles into objects. A handle is
 * a 64-bit value: the slot index plus one in the low half and the slot's
 * generation in the high half. Freeing a slot bumps its generation, so a
 * stale, forged or closed handle never matches; lookups also check the
 * object's type. Handles are never pointers.
 */
#ifndef IPCZ_LIB_HANDLE_TABLE_H
#define IPCZ_LIB_HANDLE_TABLE_H

#include <stddef.h>

#include "lib/api_object.h"

/*
 * Stores `object`, adopting the caller's reference. Returns
 * IPCZ_INVALID_HANDLE (and drops the reference) if memory runs out.
 */
IpczHandle handle_table_add(struct api_object *object);

/*
 * Returns a new reference to the object named by `handle` if it is live and
 * of `type` (API_OBJECT_ANY matches all), else NULL.
 */
struct api_object *handle_table_get(IpczHandle handle, uint32_t type);

/*
 * Removes `handle` from the table if it is live and of `type`, returning
 * the table's reference to its object; NULL otherwise.
 */
struct api_object *handle_table_take(IpczHandle handle, uint32_t type);

/* The number of live handles, for tests and introspection. */
size_t handle_table_count(void);

#endif
