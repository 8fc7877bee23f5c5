// SPDX-License-Identifier: MIT
#include "lib/node.h"

#include <stdlib.h>
#include <string.h>

struct node *node_create(const struct IpczDriver *driver, bool is_broker,
			 const struct IpczCreateNodeOptions *options)
{
	struct IpczCreateNodeOptions copy = { .size = sizeof(copy) };
	struct node *node = calloc(1, sizeof(*node));

	if (!node)
		return NULL;
	if (options) {
		size_t size = options->size < sizeof(copy) ? options->size :
							     sizeof(copy);

		memcpy(&copy, options, size);
	}
	api_object_init(&node->object, API_OBJECT_NODE);
	node->is_broker = is_broker;
	node->memory_flags = copy.memory_flags;
	memcpy(&node->driver, driver, sizeof(node->driver));
	node->driver.size = sizeof(node->driver);
	/* Only a broker names itself; others are named by their broker. */
	if (is_broker &&
	    node->driver.GenerateRandomBytes(sizeof(node->name), IPCZ_NO_FLAGS,
					     NULL, node->name) !=
		    IPCZ_RESULT_OK) {
		free(node);
		return NULL;
	}
	return node;
}

void node_destroy(struct node *node)
{
	free(node);
}

IpczResult node_close(struct node *node)
{
	ipcz_lock(&node->lock);
	node->closed = true;
	ipcz_unlock(&node->lock);
	return IPCZ_RESULT_OK;
}

/*
 * The flag rules of ConnectNode(): SHARE_BROKER excludes every other role
 * flag; a broker, or a node connecting to a broker, neither inherits nor
 * shares one; and a non-broker must say which of the three it does.
 */
static IpczResult check_connect_flags(const struct node *node,
				      IpczConnectNodeFlags flags)
{
	const bool to_broker = flags & IPCZ_CONNECT_NODE_TO_BROKER;
	const bool inherit = flags & IPCZ_CONNECT_NODE_INHERIT_BROKER;
	const bool share = flags & IPCZ_CONNECT_NODE_SHARE_BROKER;

	if (share && (node->is_broker || to_broker || inherit))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if ((to_broker || node->is_broker) && (inherit || share))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (!node->is_broker && !to_broker && !share && !inherit)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	return IPCZ_RESULT_OK;
}

IpczResult node_connect(struct node *node, IpczDriverHandle transport,
			size_t num_initial_portals, IpczConnectNodeFlags flags,
			IpczHandle *initial_portals)
{
	IpczResult result = check_connect_flags(node, flags);

	(void)transport;
	(void)num_initial_portals;
	(void)initial_portals;
	if (result != IPCZ_RESULT_OK)
		return result;
	/*
	 * Links between nodes are the multi-node work (node links, their
	 * shared pools, the connection handshakes). Until then a valid
	 * request is refused as unavailable, before anything is written to
	 * `initial_portals` and with `transport` still the caller's.
	 */
	return IPCZ_RESULT_UNAVAILABLE;
}
