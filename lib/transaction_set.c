// SPDX-License-Identifier: MIT
#include "lib/transaction_set.h"

#include <stdlib.h>

#include "lib/parcel.h"

IpczTransaction transaction_set_add(struct transaction_set **setp,
				    struct parcel *parcel)
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
		struct parcel **grown = realloc(set->parcels,
						capacity * sizeof(*grown));

		if (!grown)
			return 0;
		set->parcels = grown;
		set->capacity = capacity;
	}
	set->parcels[set->count++] = parcel;
	return (IpczTransaction)(uintptr_t)parcel;
}

static int index_of(struct transaction_set *set, IpczTransaction transaction)
{
	uint32_t i;

	if (!set || !transaction)
		return -1;
	for (i = 0; i < set->count; i++) {
		if ((IpczTransaction)(uintptr_t)set->parcels[i] == transaction)
			return (int)i;
	}
	return -1;
}

struct parcel *transaction_set_find(struct transaction_set *set,
				    IpczTransaction transaction)
{
	int i = index_of(set, transaction);

	return i < 0 ? NULL : set->parcels[i];
}

struct parcel *transaction_set_remove(struct transaction_set *set,
				      IpczTransaction transaction)
{
	int i = index_of(set, transaction);
	struct parcel *parcel;

	if (i < 0)
		return NULL;
	parcel = set->parcels[i];
	set->parcels[i] = set->parcels[--set->count];
	return parcel;
}

void transaction_set_destroy(struct transaction_set *set)
{
	uint32_t i;

	if (!set)
		return;
	for (i = 0; i < set->count; i++)
		parcel_destroy(set->parcels[i]);
	free(set->parcels);
	free(set);
}
