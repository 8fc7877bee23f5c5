// SPDX-License-Identifier: MIT
/*
 * This process's node: created on the driver the command line chose, and
 * connected over a transport whose descriptor was made before the fork.
 */
#include <unistd.h>

#include "tools/demo/demo.h"

struct IpczAPI ipcz;

bool demo_node_up(bool broker, IpczHandle *node)
{
	const struct IpczDriver *driver = ipcz_driver_table(demo_options.kind);
	IpczResult result;

	ipcz.size = sizeof(ipcz);
	result = IpczGetAPI(&ipcz);
	if (result != IPCZ_RESULT_OK)
		return demo_fail("IpczGetAPI(): %s", demo_result_name(result));
	if (!driver)
		return demo_fail("no table for the %s driver",
				 ipcz_driver_kind_name(demo_options.kind));
	result = ipcz.CreateNode(driver,
				 broker ? IPCZ_CREATE_NODE_AS_BROKER :
					  IPCZ_NO_FLAGS,
				 NULL, node);
	if (result != IPCZ_RESULT_OK)
		return demo_fail("CreateNode(): %s", demo_result_name(result));
	demo_say("node created (%s driver%s)",
		 ipcz_driver_kind_name(demo_options.kind),
		 broker ? ", broker" : "");
	return true;
}

bool demo_node_connect(IpczHandle node, int fd, IpczConnectNodeFlags flags,
		       const char *peer, IpczHandle *portal)
{
	IpczDriverHandle transport;
	IpczResult result;

	result = ipcz_driver_transport_from_fd(demo_options.kind, fd,
					       &transport);
	if (result != IPCZ_RESULT_OK)
		return demo_fail("adopting the transport to %s: %s", peer,
				 demo_result_name(result));
	result = ipcz.ConnectNode(node, transport, 1, flags, NULL, portal);
	if (result != IPCZ_RESULT_OK) {
		/* On failure the transport is still ours to close. */
		ipcz_driver_table(demo_options.kind)->Close(transport,
							   IPCZ_NO_FLAGS,
							   NULL);
		return demo_fail("ConnectNode(%s) to %s: %s",
				 flags & IPCZ_CONNECT_NODE_TO_BROKER ?
					 "TO_BROKER" : "as broker",
				 peer, demo_result_name(result));
	}
	demo_say("ConnectNode(%s) to %s: OK, initial portal ready",
		 flags & IPCZ_CONNECT_NODE_TO_BROKER ? "TO_BROKER" :
						       "as broker",
		 peer);
	return true;
}
