// SPDX-License-Identifier: MIT
#include "lib/transaction_set.h"

#include <stdlib.h>

#include "lib/parcel.h"

IpczTransaction transaction_set_add(struct transaction_set **setp,
				    struct parcel *parcel,
				    enum transaction_kind kind)
{
	struct transaction_set *set = *setp;

	if (!set) {
		set = calloc(1, sizeof(*set));
		if (!set)
			return 0;
		*setp = set;
	}
	if (set->count == set->capacity) {
		uint32_t capacity = set->capacity ? set->capacity * 2 : 2;
		struct transaction *grown;

		grown = realloc(set->entries, capacity * sizeof(*grown));
		if (!grown)
			return 0;
		set->entries = grown;
		set->capacity = capacity;
	}
	set->entries[set->count].parcel = parcel;
	set->entries[set->count].kind = kind;
	set->count++;
	set->count_of[kind]++;
	return (IpczTransaction)(uintptr_t)parcel;
}

static int index_of(struct transaction_set *set, IpczTransaction transaction,
		    enum transaction_kind kind)
{
	uint32_t i;

	if (!set || !transaction)
		return -1;
	for (i = 0; i < set->count; i++) {
		if ((IpczTransaction)(uintptr_t)set->entries[i].parcel ==
			    transaction &&
		    set->entries[i].kind == kind)
			return (int)i;
	}
	return -1;
}

struct parcel *transaction_set_find(struct transaction_set *set,
				    IpczTransaction transaction,
				    enum transaction_kind kind)
{
	int i = index_of(set, transaction, kind);

	return i < 0 ? NULL : set->entries[i].parcel;
}

struct parcel *transaction_set_remove(struct transaction_set *set,
				      IpczTransaction transaction,
				      enum transaction_kind kind)
{
	int i = index_of(set, transaction, kind);
	struct parcel *parcel;

	if (i < 0)
		return NULL;
	parcel = set->entries[i].parcel;
	set->entries[i] = set->entries[--set->count];
	set->count_of[kind]--;
	return parcel;
}

void transaction_set_destroy(struct transaction_set *set)
{
	uint32_t i;

	if (!set)
		return;
	for (i = 0; i < set->count; i++)
		parcel_destroy(set->entries[i].parcel);
	free(set->entries);
	free(set);
}
