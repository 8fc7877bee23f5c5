// SPDX-License-Identifier: MIT
/*
 * hello_portals: the smallest complete ipcz program. It creates a node on
 * the in-process driver, opens a pair of portals, sends a greeting with a
 * second portal attached, waits for it with a trap, reads it, and answers
 * over the portal that travelled.
 */
#include <stdio.h>
#include <string.h>

#include <ipcz/inprocess_driver.h>
#include <ipcz/ipcz.h>

static struct IpczAPI ipcz = { .size = sizeof(ipcz) };

/* Trap handler: runs once, when the watched portal has a parcel. */
static void on_parcel(const struct IpczTrapEvent *event)
{
	int *arrived = (int *)event->context;

	*arrived = (event->condition_flags & IPCZ_TRAP_REMOVED) ? -1 : 1;
}

static int check(IpczResult result, const char *what)
{
	if (result != IPCZ_RESULT_OK)
		fprintf(stderr, "hello_portals: %s failed: %d\n", what, result);
	return result != IPCZ_RESULT_OK;
}

int main(void)
{
	IpczHandle node, a, b, reply_here, reply_there, received;
	const struct IpczTrapConditions conditions = {
		.size = sizeof(conditions),
		.flags = IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS,
		.min_local_parcels = 0,
	};
	const char greeting[] = "hello, portals";
	char buffer[64];
	size_t num_bytes = sizeof(buffer), num_handles = 1;
	int arrived = 0;

	if (check(IpczGetAPI(&ipcz), "IpczGetAPI") ||
	    check(ipcz.CreateNode(ipcz_inprocess_driver(), IPCZ_NO_FLAGS, NULL,
				  &node), "CreateNode") ||
	    check(ipcz.OpenPortals(node, IPCZ_NO_FLAGS, NULL, &a, &b),
		  "OpenPortals") ||
	    check(ipcz.OpenPortals(node, IPCZ_NO_FLAGS, NULL, &reply_here,
				   &reply_there), "OpenPortals"))
		return 1;

	/* Watch b for its first parcel; the handler runs inside Put(). */
	if (check(ipcz.Trap(b, &conditions, on_parcel, (uintptr_t)&arrived,
			    IPCZ_NO_FLAGS, NULL, NULL, NULL), "Trap") ||
	    check(ipcz.Put(a, greeting, sizeof(greeting), &reply_there, 1,
			   IPCZ_NO_FLAGS, NULL), "Put"))
		return 1;
	if (arrived != 1) {
		fprintf(stderr, "hello_portals: the trap did not fire\n");
		return 1;
	}

	if (check(ipcz.Get(b, IPCZ_NO_FLAGS, NULL, buffer, &num_bytes,
			   &received, &num_handles, NULL), "Get"))
		return 1;
	printf("b received \"%s\" and %zu portal\n", buffer, num_handles);

	/* Answer through the portal that came with the greeting. */
	if (check(ipcz.Put(received, "thanks", 7, NULL, 0, IPCZ_NO_FLAGS,
			   NULL), "Put"))
		return 1;
	num_bytes = sizeof(buffer);
	if (check(ipcz.Get(reply_here, IPCZ_NO_FLAGS, NULL, buffer, &num_bytes,
			   NULL, NULL, NULL), "Get"))
		return 1;
	printf("reply_here received \"%s\"\n", buffer);

	ipcz.Close(received, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(reply_here, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(a, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(b, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(node, IPCZ_NO_FLAGS, NULL);
	return 0;
}
