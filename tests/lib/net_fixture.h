/* SPDX-License-Identifier: MIT */
/*
 * Networks of nodes in one process for the tests that need more than a
 * portal pair (node links, relay, delegation, introspection): making
 * nodes and in-process transport pairs, joining clients to a broker,
 * asking introspection simple questions, and speaking the node-link wire
 * protocol by hand as a fake peer on the test's end of a transport.
 *
 * Included by a test file after kselftest_harness.h and lib_test.h. All
 * functions are static inline so that each test uses only what it needs.
 */
#ifndef IPCZ_TESTS_LIB_NET_FIXTURE_H
#define IPCZ_TESTS_LIB_NET_FIXTURE_H

#include <stdint.h>
#include <string.h>

#include "ipcz/introspect.h"
#include "lib/node_message.h"
#include "lib_test.h"

static inline IpczHandle new_node_on(const struct IpczDriver *driver,
				     IpczCreateNodeFlags flags)
{
	IpczHandle node = IPCZ_INVALID_HANDLE;

	test_node_api();
	ipcz.CreateNode(driver, flags, NULL, &node);
	return node;
}

static inline IpczHandle new_node(IpczCreateNodeFlags flags)
{
	return new_node_on(ipcz_inprocess_driver(), flags);
}

static inline void transports(IpczDriverHandle *t0, IpczDriverHandle *t1)
{
	ipcz_inprocess_driver()->CreateTransports(IPCZ_INVALID_DRIVER_HANDLE,
						  IPCZ_INVALID_DRIVER_HANDLE,
						  0, NULL, t0, t1);
}

/*
 * Connects `x` and `y` over a new transport pair, each with its own flags;
 * `*p` and `*q` are their initial portals. The first failing result is
 * returned.
 */
static inline IpczResult join_nodes(IpczHandle x, IpczConnectNodeFlags x_flags,
				    IpczHandle y, IpczConnectNodeFlags y_flags,
				    IpczHandle *p, IpczHandle *q)
{
	IpczDriverHandle t0, t1;
	IpczResult result;

	transports(&t0, &t1);
	result = ipcz.ConnectNode(x, t0, 1, x_flags, NULL, p);
	if (result != IPCZ_RESULT_OK)
		return result;
	return ipcz.ConnectNode(y, t1, 1, y_flags, NULL, q);
}

/*
 * Joins `client` to `broker` over a new transport pair, with `flags` on
 * the client's side (to a broker, and maybe delegating allocation). The
 * initial portals are `*at_broker` and `*at_client`; the first failing
 * result is returned. The broker's end is marked as a broker's, which
 * only forced brokering looks at.
 */
static inline IpczResult join_to_broker(IpczHandle broker, IpczHandle client,
					IpczConnectNodeFlags flags,
					IpczHandle *at_broker,
					IpczHandle *at_client)
{
	IpczDriverHandle t0, t1;
	IpczResult result;

	transports(&t0, &t1);
	result = ipcz_inprocess_transport_set_broker(t0);
	if (result == IPCZ_RESULT_OK)
		result = ipcz.ConnectNode(broker, t0, 1, IPCZ_NO_FLAGS, NULL,
					  at_broker);
	if (result != IPCZ_RESULT_OK)
		return result;
	return ipcz.ConnectNode(client, t1, 1, flags, NULL, at_client);
}

/*
 * Closes what a fixture joined: for each of `n` clients its portal at the
 * broker (`to`), its own (`from`) and the client node; then the broker.
 */
static inline void close_clients(IpczHandle broker, const IpczHandle *client,
				 const IpczHandle *to, const IpczHandle *from,
				 int n)
{
	int i;

	for (i = 0; i < n; i++) {
		close_handle(to[i]);
		close_handle(from[i]);
		close_handle(client[i]);
	}
	close_handle(broker);
}

/*
 * Sends `portal` over the route `from` -> `to` (two ends of a route across
 * nodes) and returns it as it arrives, or IPCZ_INVALID_HANDLE.
 */
static inline IpczHandle send_portal_across(IpczHandle from, IpczHandle to,
					    IpczHandle portal)
{
	IpczHandle got = IPCZ_INVALID_HANDLE;
	size_t h = 1;

	if (ipcz.Put(from, NULL, 0, &portal, 1, 0, NULL) != IPCZ_RESULT_OK ||
	    ipcz.Get(to, 0, NULL, NULL, NULL, &got, &h, NULL) !=
		    IPCZ_RESULT_OK)
		return IPCZ_INVALID_HANDLE;
	return got;
}

/*
 * A round of traffic both ways on the route `x` - `y`, read and dropped:
 * what gives the route's proxies the chance to step aside.
 */
static inline void ping_both_ways(IpczHandle x, IpczHandle y)
{
	char buf[16];

	put_str(x, "ping");
	put_str(y, "pong");
	while (get_str(x, buf, sizeof(buf)) == IPCZ_RESULT_OK)
		;
	while (get_str(y, buf, sizeof(buf)) == IPCZ_RESULT_OK)
		;
}

/* The node's introspection; zeroes if it has none to give. */
static inline struct ipcz_node_info node_info_of(IpczHandle node)
{
	struct ipcz_node_info info = { .size = sizeof(info) };

	ipcz_introspect_node(node, &info);
	return info;
}

static inline uint32_t node_links(IpczHandle node)
{
	return node_info_of(node).node_links;
}

static inline uint64_t pool_bytes(IpczHandle node)
{
	return node_info_of(node).pool_bytes;
}

/* A portal whose link died with its node link: peer closed, and dead. */
static inline int link_dropped(IpczHandle portal)
{
	return status_flags(portal) ==
	       (IPCZ_PORTAL_STATUS_PEER_CLOSED | IPCZ_PORTAL_STATUS_DEAD);
}

/*
 * The wire, spoken by hand. Each direction of a node link numbers its
 * messages from zero (as node_link_memory.c expects): a fake peer keeps
 * the next number for the messages it sends.
 */
struct wire_link {
	IpczDriverHandle t;	/* the test's end */
	uint64_t seq;		/* the next message number it sends */
};

/* Stamps `message`'s header with its size and number, and sends it. */
static inline void send_on(struct wire_link *w, void *message, size_t size,
			   const IpczDriverHandle *handles,
			   size_t num_handles)
{
	struct msg_header header;

	memcpy(&header, message, sizeof(header));
	header.size = (uint32_t)size;
	header.seq = w->seq++;
	memcpy(message, &header, sizeof(header));
	ipcz_inprocess_driver()->Transmit(w->t, message, size, handles,
					  num_handles, 0, NULL);
}

/* Most tests speak on one transport at a time: its next number. */
static uint64_t wire_seq;

static inline void transmit_raw(IpczDriverHandle t, void *message,
				size_t size, const IpczDriverHandle *handles,
				size_t num_handles)
{
	struct wire_link w = { .t = t, .seq = wire_seq };

	send_on(&w, message, size, handles, num_handles);
	wire_seq = w.seq;
}

/*
 * Answers a node's handshake on the test's end `t1` as node `name0`
 * (a broker or not, with `flags`), starting the numbering anew.
 */
static inline void fake_connect(IpczDriverHandle t1, uint8_t name0,
				int is_broker, IpczConnectNodeFlags flags)
{
	struct msg_connect connect = {
		.header = { .type = MSG_CONNECT },
		.is_broker = (uint8_t)is_broker,
		.flags = flags,
		.num_initial_portals = 1,
	};

	connect.name[0] = name0;
	wire_seq = 0;
	transmit_raw(t1, &connect, sizeof(connect), NULL, 0);
}

/*
 * A node on `driver` made with `node_flags`, connected with `flags` over a
 * transport whose other end, `*t1`, the test speaks for. `*portal` is its
 * initial portal, or IPCZ_INVALID_HANDLE if ConnectNode() refused.
 */
static inline IpczHandle node_facing_test(const struct IpczDriver *driver,
					  IpczCreateNodeFlags node_flags,
					  IpczConnectNodeFlags flags,
					  IpczHandle *portal,
					  IpczDriverHandle *t1)
{
	IpczHandle node = new_node_on(driver, node_flags);
	IpczDriverHandle t0;

	*portal = IPCZ_INVALID_HANDLE;
	transports(&t0, t1);
	if (ipcz.ConnectNode(node, t0, 1, flags, NULL, portal) !=
	    IPCZ_RESULT_OK)
		*portal = IPCZ_INVALID_HANDLE;
	return node;
}

/*
 * A client node whose broker is the test's end `*t1` of the transport:
 * the test has answered the handshake as broker named 9.
 */
static inline IpczHandle client_of_fake_broker(IpczHandle *portal,
					       IpczDriverHandle *t1)
{
	IpczHandle client = node_facing_test(ipcz_inprocess_driver(),
					     IPCZ_NO_FLAGS,
					     IPCZ_CONNECT_NODE_TO_BROKER,
					     portal, t1);

	fake_connect(*t1, 9, 1, IPCZ_NO_FLAGS);
	return client;
}

/* Undoes node_facing_test(): the test's end first, as a peer leaving. */
static inline void close_node_facing_test(IpczHandle node, IpczHandle portal,
					  IpczDriverHandle t1)
{
	ipcz_inprocess_driver()->Close(t1, 0, NULL);
	close_handle(portal);
	close_handle(node);
}

#endif /* IPCZ_TESTS_LIB_NET_FIXTURE_H */
