// SPDX-License-Identifier: MIT
/*
 * Measures what an open portal pair costs on the heap: opens many pairs
 * on one node (the release build, so malloc is the real one) and divides
 * the growth of the heap by the number of pairs. Prints one TAP test that
 * fails if a pair costs more than a budget of 512 bytes (both sides,
 * including both handles and the link between them). Also reports, as a
 * comment, the time of a 64-byte Put() and Get() on a local pair.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ipcz/inprocess_driver.h"
#include "ipcz/ipcz.h"

#define PAIRS 100000
#define BUDGET_PER_PAIR 512

/* The mean time of one 64-byte Put() plus Get() between local portals. */
static double time_put_get(struct IpczAPI *ipcz, IpczHandle node)
{
	enum { ROUNDS = 200000 };
	char data[64] = { 0 };
	struct timespec start, end;
	IpczHandle a, b;
	int i;

	ipcz->OpenPortals(node, IPCZ_NO_FLAGS, NULL, &a, &b);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (i = 0; i < ROUNDS; i++) {
		size_t n = sizeof(data);

		ipcz->Put(a, data, sizeof(data), NULL, 0, IPCZ_NO_FLAGS, NULL);
		ipcz->Get(b, IPCZ_NO_FLAGS, NULL, data, &n, NULL, NULL, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	ipcz->Close(a, IPCZ_NO_FLAGS, NULL);
	ipcz->Close(b, IPCZ_NO_FLAGS, NULL);
	return ((end.tv_sec - start.tv_sec) * 1e9 +
		(end.tv_nsec - start.tv_nsec)) / ROUNDS;
}

int main(void)
{
	struct IpczAPI ipcz = { .size = sizeof(ipcz) };
	IpczHandle node, *handles;
	size_t before, after, idle, used;
	double per_pair, per_pair_used, ns_per_put_get;
	int i;

	handles = calloc(2 * PAIRS, sizeof(*handles));
	if (!handles || IpczGetAPI(&ipcz) != IPCZ_RESULT_OK ||
	    ipcz.CreateNode(ipcz_inprocess_driver(), IPCZ_NO_FLAGS, NULL,
			    &node) != IPCZ_RESULT_OK)
		return 1;
	before = mallinfo2().uordblks;
	for (i = 0; i < PAIRS; i++)
		ipcz.OpenPortals(node, IPCZ_NO_FLAGS, NULL, &handles[2 * i],
				 &handles[2 * i + 1]);
	after = mallinfo2().uordblks;
	idle = after - before;
	/* One parcel each way and back: the queues keep small rings. */
	for (i = 0; i < 2 * PAIRS; i++) {
		char byte = 'x';
		size_t n = 1;

		ipcz.Put(handles[i], &byte, 1, NULL, 0, IPCZ_NO_FLAGS, NULL);
		ipcz.Get(handles[i ^ 1], IPCZ_NO_FLAGS, NULL, &byte, &n, NULL,
			 NULL, NULL);
	}
	used = mallinfo2().uordblks - before;
	per_pair = (double)idle / PAIRS;
	per_pair_used = (double)used / PAIRS;
	for (i = 0; i < 2 * PAIRS; i++)
		ipcz.Close(handles[i], IPCZ_NO_FLAGS, NULL);
	ns_per_put_get = time_put_get(&ipcz, node);
	ipcz.Close(node, IPCZ_NO_FLAGS, NULL);
	free(handles);

	printf("TAP version 13\n1..1\n");
	printf("# %d portal pairs: %.0f bytes per pair when opened "
	       "(%.0f per portal), %.0f per pair after traffic\n",
	       PAIRS, per_pair, per_pair / 2, per_pair_used);
	printf("# 64-byte Put() and Get() on a local pair: %.0f ns\n",
	       ns_per_put_get);
	printf("%s 1 portal_pair_fits_in_%d_bytes\n",
	       per_pair <= BUDGET_PER_PAIR ? "ok" : "not ok",
	       BUDGET_PER_PAIR);
	return 0;
}
