/* SPDX-License-Identifier: MIT */
/*
 * The parcels of a portal's open two-phase transactions (BeginPut without
 * EndPut, or overlapped BeginGet without EndGet). A transaction's value is
 * its parcel's address, but it is only ever used after being found here, so
 * a forged value is refused rather than dereferenced.
 */
#ifndef IPCZ_LIB_TRANSACTION_SET_H
#define IPCZ_LIB_TRANSACTION_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipcz/ipcz.h"

struct parcel;

struct transaction_set {
	struct parcel **parcels;
	uint32_t count;
	uint32_t capacity;
};

/* Adds `parcel`, returning its transaction value (0 without memory). */
IpczTransaction transaction_set_add(struct transaction_set **set,
				    struct parcel *parcel);

/* The parcel of `transaction`, still in the set, or NULL. */
struct parcel *transaction_set_find(struct transaction_set *set,
				    IpczTransaction transaction);

/* Removes and returns the parcel of `transaction`, or NULL. */
struct parcel *transaction_set_remove(struct transaction_set *set,
				      IpczTransaction transaction);

static inline bool transaction_set_empty(const struct transaction_set *set)
{
	return !set || set->count == 0;
}

/* Frees the set and every parcel still in it (aborting them). */
void transaction_set_destroy(struct transaction_set *set);

#endif
