// SPDX-License-Identifier: MIT
/*
 * Round-trip latency between B and C: B puts a DEMO_PING_BYTES parcel, C
 * reads it and puts it back, B reads the answer. Only that is timed. Before
 * each round trip B asks the library whether the route is direct, so the
 * report can tell round trips through A from direct ones.
 */
#include <stdlib.h>
#include <string.h>

#include "tools/demo/demo.h"

/* Waits for one parcel of exactly DEMO_PING_BYTES and reads it. */
static bool read_ping(IpczHandle portal, char *buffer)
{
	size_t size = DEMO_PING_BYTES;
	IpczResult result = ipcz.Get(portal, IPCZ_NO_FLAGS, NULL, buffer,
				     &size, NULL, NULL, NULL);

	if (result == IPCZ_RESULT_UNAVAILABLE) {
		result = demo_wait_parcel(portal, demo_deadline());
		if (result != IPCZ_RESULT_OK)
			return demo_fail("waiting for a %d-byte parcel: %s",
					 DEMO_PING_BYTES,
					 demo_result_name(result));
		size = DEMO_PING_BYTES;
		result = ipcz.Get(portal, IPCZ_NO_FLAGS, NULL, buffer, &size,
				  NULL, NULL, NULL);
	}
	if (result != IPCZ_RESULT_OK)
		return demo_fail("Get() of a ping: %s",
				 demo_result_name(result));
	if (size != DEMO_PING_BYTES)
		return demo_fail("a ping of %zu bytes, not %d", size,
				 DEMO_PING_BYTES);
	return true;
}

static bool put_ping(IpczHandle portal, const char *buffer)
{
	IpczResult result = ipcz.Put(portal, buffer, DEMO_PING_BYTES, NULL, 0,
				     IPCZ_NO_FLAGS, NULL);

	if (result != IPCZ_RESULT_OK)
		return demo_fail("Put() of a ping: %s",
				 demo_result_name(result));
	return true;
}

bool demo_ping(IpczHandle portal, int n, struct demo_latency *latency)
{
	char out[DEMO_PING_BYTES], in[DEMO_PING_BYTES];
	bool direct;
	int64_t start;
	int i;

	latency->ns = calloc(n, sizeof(*latency->ns));
	latency->count = 0;
	latency->direct_before = 0;
	if (!latency->ns)
		return demo_fail("no memory for %d timings", n);
	for (i = 0; i < n; i++) {
		if (!demo_route_direct(portal, &direct))
			return false;
		latency->direct_before += direct;
		memset(out, (char)i, sizeof(out));
		start = demo_now_ns();
		if (!put_ping(portal, out) || !read_ping(portal, in))
			return false;
		latency->ns[i] = demo_now_ns() - start;
		latency->count++;
		if (memcmp(in, out, sizeof(in)))
			return demo_fail("round trip %d came back altered", i);
	}
	return true;
}

static int compare_ns(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

void demo_latency_report(const char *what, const int64_t *ns, int count)
{
	int64_t *sorted;

	if (count == 0) {
		demo_say("%s: no round trips", what);
		return;
	}
	sorted = malloc(count * sizeof(*sorted));
	if (!sorted) {
		demo_fail("no memory to sort %d timings", count);
		return;
	}
	memcpy(sorted, ns, count * sizeof(*sorted));
	qsort(sorted, count, sizeof(*sorted), compare_ns);
	demo_say("%s: %d round trips of %d B: median %.1f us, p99 %.1f us",
		 what, count, DEMO_PING_BYTES, sorted[count / 2] / 1000.0,
		 sorted[(count * 99) / 100] / 1000.0);
	free(sorted);
}

bool demo_echo(IpczHandle portal)
{
	char buffer[DEMO_PING_BYTES];
	size_t size;
	IpczResult result;

	for (;;) {
		/* B may pause between measurements for a few of its waits. */
		result = demo_wait_parcel(portal, demo_now_ns() +
					  4LL * demo_options.timeout_ms *
						  1000000);
		if (result != IPCZ_RESULT_OK)
			return demo_fail("echo: waiting for a ping: %s",
					 demo_result_name(result));
		size = sizeof(buffer);
		result = ipcz.Get(portal, IPCZ_NO_FLAGS, NULL, buffer, &size,
				  NULL, NULL, NULL);
		if (result != IPCZ_RESULT_OK)
			return demo_fail("echo: Get(): %s",
					 demo_result_name(result));
		if (size == 3 && !memcmp(buffer, "bye", 3))
			return true;
		if (size != DEMO_PING_BYTES)
			return demo_fail("echo: a parcel of %zu bytes", size);
		if (!put_ping(portal, buffer))
			return false;
	}
}
