/* SPDX-License-Identifier: MIT */
/*
 * The parcels of a portal's open two-phase transactions: BeginPut without
 * EndPut, and overlapped BeginGet without EndGet (one set holds both kinds,
 * so an idle portal pays one pointer). A transaction's value is its
 * parcel's address, but it is only ever used after being found here with
 * the right kind, so a forged or mismatched value is refused rather than
 * dereferenced.
 */
#ifndef IPCZ_LIB_TRANSACTION_SET_H
#define IPCZ_LIB_TRANSACTION_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipcz/ipcz.h"

struct parcel;

enum transaction_kind { TRANSACTION_PUT, TRANSACTION_GET };

struct transaction_set {
	struct transaction {
		struct parcel *parcel;
		enum transaction_kind kind;
	} *entries;
	uint32_t count;
	uint32_t capacity;
	uint32_t count_of[2];	/* by kind */
};

/* Adds `parcel`, returning its transaction value (0 without memory). */
IpczTransaction transaction_set_add(struct transaction_set **set,
				    struct parcel *parcel,
				    enum transaction_kind kind);

/* The parcel of `transaction` of `kind`, still in the set, or NULL. */
struct parcel *transaction_set_find(struct transaction_set *set,
				    IpczTransaction transaction,
				    enum transaction_kind kind);

/* Removes and returns the parcel of `transaction` of `kind`, or NULL. */
struct parcel *transaction_set_remove(struct transaction_set *set,
				      IpczTransaction transaction,
				      enum transaction_kind kind);

static inline uint32_t transaction_set_count(const struct transaction_set *set,
					     enum transaction_kind kind)
{
	return set ? set->count_of[kind] : 0;
}

/* Frees the set and every parcel still in it (aborting them). */
void transaction_set_destroy(struct transaction_set *set);

#endif
