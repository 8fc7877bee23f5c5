/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the contract tests (tests/contract/): the ipcz table, small
 * networks of nodes over the strict driver, bounded waits, and the end of
 * a test, which requires that the driver contract held throughout and
 * that no driver object outlives the nodes.
 *
 * Include after kselftest_harness.h.
 */
#ifndef IPCZ_TESTS_CONTRACT_CONTRACT_H
#define IPCZ_TESTS_CONTRACT_CONTRACT_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipcz/introspect.h"
#include "ipcz/ipcz.h"
#include "tests/contract/strict_driver.h"

/* Deadline of one wait, and of the driver's final settling. */
#define CT_WAIT_MS 10000

static struct IpczAPI ipcz = { .size = sizeof(ipcz) };

/* Before the harness forks any test. */
__attribute__((constructor)) static void ct_init(void)
{
	/* SD_SYNC=1: the same tests over synchronous delivery. */
	if (getenv("SD_SYNC") && *getenv("SD_SYNC"))
		sd_set_sync_delivery(true);
	ipcz.size = sizeof(ipcz);
	if (IpczGetAPI(&ipcz) != IPCZ_RESULT_OK) {
		fprintf(stderr, "# IpczGetAPI failed\n");
		_exit(1);
	}
}

static inline long long ct_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline struct IpczPortalStatus ct_status(IpczHandle portal)
{
	struct IpczPortalStatus status = { .size = sizeof(status) };

	if (ipcz.QueryPortalStatus(portal, IPCZ_NO_FLAGS, NULL, &status) !=
	    IPCZ_RESULT_OK)
		memset(&status, 0, sizeof(status));
	return status;
}

/* Waits until all of `flags` hold on `portal`; false at the deadline. */
static inline bool ct_wait_flags(IpczHandle portal,
				 IpczPortalStatusFlags flags)
{
	long long end = ct_now_ms() + CT_WAIT_MS;

	while ((ct_status(portal).flags & flags) != flags) {
		if (ct_now_ms() > end)
			return false;
		usleep(500);
	}
	return true;
}

/* Waits until `portal` has at least `n` parcels; false at the deadline. */
static inline bool ct_wait_parcels(IpczHandle portal, size_t n)
{
	long long end = ct_now_ms() + CT_WAIT_MS;

	while (ct_status(portal).num_local_parcels < n) {
		if (ct_now_ms() > end)
			return false;
		usleep(500);
	}
	return true;
}

static inline IpczResult ct_put(IpczHandle portal, const char *text,
				const IpczHandle *handles, size_t n)
{
	return ipcz.Put(portal, text, strlen(text), handles, n,
			IPCZ_NO_FLAGS, NULL);
}

/*
 * Waits for the next parcel and checks it is `text` with `n` handles
 * (stored in `handles`).
 */
static inline bool ct_expect(IpczHandle portal, const char *text,
			     IpczHandle *handles, size_t n)
{
	char buffer[256];
	size_t num_bytes = sizeof(buffer), num_handles = n;
	IpczResult result;

	if (!ct_wait_parcels(portal, 1)) {
		fprintf(stderr, "# no parcel \"%s\" within %d ms\n", text,
			CT_WAIT_MS);
		return false;
	}
	result = ipcz.Get(portal, IPCZ_NO_FLAGS, NULL, buffer, &num_bytes,
			  handles, &num_handles, NULL);
	if (result != IPCZ_RESULT_OK || num_bytes != strlen(text) ||
	    memcmp(buffer, text, num_bytes) != 0 || num_handles != n) {
		fprintf(stderr, "# expected \"%s\" with %zu handles: result "
			"%d, %zu bytes, %zu handles\n", text, n, result,
			num_bytes, num_handles);
		return false;
	}
	return true;
}

/* Route reduction: waits until `portal`'s route is direct to a remote. */
static inline bool ct_wait_direct(IpczHandle portal)
{
	long long end = ct_now_ms() + CT_WAIT_MS;
	struct ipcz_portal_route_info info;

	for (;;) {
		memset(&info, 0, sizeof(info));
		info.size = sizeof(info);
		if (ipcz_introspect_portal(portal, &info) == IPCZ_RESULT_OK &&
		    (info.flags & IPCZ_ROUTE_DIRECT) && !info.known_proxies)
			return true;
		if (ct_now_ms() > end)
			return false;
		usleep(1000);
	}
}

/*
 * A star network: node 0 is the broker; nodes 1..n-1 connect to it, each
 * over its own transport pair with one initial portal. to_client[i] is
 * the broker's portal to node i, to_broker[i] node i's portal to it.
 */
#define CT_MAX_NODES 4
struct ct_net {
	int num_nodes;
	IpczHandle node[CT_MAX_NODES];
	IpczHandle to_client[CT_MAX_NODES];
	IpczHandle to_broker[CT_MAX_NODES];
};

static inline bool ct_net_up(struct ct_net *net, int num_nodes)
{
	int i;

	memset(net, 0, sizeof(*net));
	net->num_nodes = num_nodes;
	for (i = 0; i < num_nodes; i++) {
		if (ipcz.CreateNode(sd_driver(),
				    i == 0 ? IPCZ_CREATE_NODE_AS_BROKER :
					     IPCZ_NO_FLAGS,
				    NULL, &net->node[i]) != IPCZ_RESULT_OK)
			return false;
	}
	for (i = 1; i < num_nodes; i++) {
		IpczDriverHandle a, b;

		if (sd_transport_pair(true, false, &a, &b) != IPCZ_RESULT_OK ||
		    ipcz.ConnectNode(net->node[0], a, 1, IPCZ_NO_FLAGS, NULL,
				     &net->to_client[i]) != IPCZ_RESULT_OK ||
		    ipcz.ConnectNode(net->node[i], b, 1,
				     IPCZ_CONNECT_NODE_TO_BROKER, NULL,
				     &net->to_broker[i]) != IPCZ_RESULT_OK)
			return false;
	}
	return true;
}

/* Unboxes `box` into `*contents`; false unless it held a `type`. */
static inline bool ct_unbox(IpczHandle box, IpczBoxType type,
			    struct IpczBoxContents *contents)
{
	memset(contents, 0, sizeof(*contents));
	contents->size = sizeof(*contents);
	return ipcz.Unbox(box, IPCZ_NO_FLAGS, NULL, contents) ==
		       IPCZ_RESULT_OK &&
	       contents->type == type;
}

static inline void ct_close(IpczHandle *handle)
{
	if (*handle != IPCZ_INVALID_HANDLE)
		ipcz.Close(*handle, IPCZ_NO_FLAGS, NULL);
	*handle = IPCZ_INVALID_HANDLE;
}

/* Closes every portal and node of `net` still open. */
static inline void ct_net_down(struct ct_net *net)
{
	int i;

	for (i = 0; i < CT_MAX_NODES; i++) {
		ct_close(&net->to_client[i]);
		ct_close(&net->to_broker[i]);
	}
	for (i = 0; i < CT_MAX_NODES; i++)
		ct_close(&net->node[i]);
}

/*
 * Known libipcz bugs (in files this suite does not own), by the text of
 * the violation they cause. A test whose only violations are known bugs
 * is skipped with the bug named, so the suite stays green while it shows
 * them; any other violation fails the test.
 */
struct ct_known_bug {
	const char *violation;
	const char *reason;
};

static const struct ct_known_bug ct_known_bugs[] = {
	{
		"Transmit: transport handle",
		"lib bug: lib/node_link.c node_link_transmit() reads "
		"link->transport under the lock but calls Transmit() after "
		"unlocking; on_activity(DEACTIVATED) on the delivery thread "
		"closes the transport in between (Transmit on a closed "
		"driver handle)",
	},
	{
		"DeactivateTransport: transport handle",
		"lib bug: lib/node_link.c node_link_disconnect() reads "
		"link->transport under link->lock but calls "
		"DeactivateTransport() after unlocking, without "
		"node_link_hold_transport(): a DEACTIVATED the driver sends "
		"by itself (after ERROR) closes the transport in between",
	},
	{
		"Serialize (transport): transport handle",
		"lib bug: lib/node_connector.c node_link_build_connect() "
		"(from node_link_send_connect()) reads link->transport "
		"without link->lock and serializes "
		"the link's primary buffer for it while on_activity("
		"DEACTIVATED) on the delivery thread closes it (a data race "
		"and a closed driver handle passed to Serialize)",
	},
};

/* The reason to skip for, if every violation is a known bug. */
static inline const char *ct_known_bug_only(size_t broken)
{
	const char *reason = NULL;
	size_t i, known = 0;

	for (i = 0; i < sizeof(ct_known_bugs) / sizeof(ct_known_bugs[0]);
	     i++) {
		size_t n = sd_violations_matching(ct_known_bugs[i].violation);

		if (n && !reason)
			reason = ct_known_bugs[i].reason;
		known += n;
	}
	return broken && known == broken && broken <= 64 ? reason : NULL;
}

/*
 * The end of every test, after everything was closed: the driver must
 * settle with no live object and no broken rule.
 */
#define CT_EXPECT_CONTRACT_KEPT()					\
	do {								\
		size_t broken_ = sd_finish(CT_WAIT_MS);			\
		struct sd_stats st_ = sd_stats();			\
		const char *known_ = ct_known_bug_only(broken_);	\
		if (broken_)						\
			sd_print_violations();				\
		/* A skip must not hide an earlier failure. */		\
		if (known_ && _metadata->passed)			\
			SKIP(return, "%s", known_);			\
		EXPECT_EQ(0, broken_);					\
		EXPECT_EQ(0, st_.live_objects);				\
		EXPECT_EQ(st_.activations, st_.deactivated_delivered);	\
	} while (0)

#endif /* IPCZ_TESTS_CONTRACT_CONTRACT_H */
